#!/usr/bin/env bats
# PREMIS 3 provenance: metadata/premis.xml written by kist bag create, and
# kist premis show / events / validate. Every document kist writes is
# checked with xmllint against the PREMIS 3.0 schema as well.

load helpers

XSD=/work/shared/data/premis/premis-v3-0.xsd

setup() {
	kist_setup
	[ -f "$XSD" ] || XSD=$KIST_SRCDIR/data/premis/premis-v3-0.xsd
	export KIST_DATADIR=$KIST_SRCDIR/data
	mkdir -p src/sub
	printf 'hello\n' >src/a.txt
	printf 'second file\n' >src/sub/b.bin
}

schema_ok() {
	xmllint --nonet --noout --schema "$XSD" "$1" 2>xmllint.err || {
		cat xmllint.err >&2
		return 1
	}
}

@test "bag create writes metadata/premis.xml, valid against the PREMIS 3.0 schema" {
	krun 0 bag create -a sha256,md5 --agent 'Ada Lovelace' \
		--info 'Source-Organization: Example Archive' src bag
	[ -f bag/metadata/premis.xml ]
	schema_ok bag/metadata/premis.xml
	x=$(cat bag/metadata/premis.xml)
	[[ $x == *'xmlns:premis="http://www.loc.gov/premis/v3"'* ]]
	# one file object per payload file, with its manifest path and SOURCE path
	[ "$(grep -c 'xsi:type="premis:file"' bag/metadata/premis.xml)" -eq 2 ]
	[[ $x == *'<premis:objectIdentifierValue>data/sub/b.bin</premis:objectIdentifierValue>'* ]]
	[[ $x == *'<premis:originalName>sub/b.bin</premis:originalName>'* ]]
	[[ $x == *'<premis:size>12</premis:size>'* ]]
	# fixity for every manifest algorithm, the digests the manifests hold
	sha=$(printf 'hello\n' | sha256sum | cut -d' ' -f1)
	md5=$(printf 'hello\n' | md5sum | cut -d' ' -f1)
	[[ $x == *"<premis:messageDigest>$sha</premis:messageDigest>"* ]]
	[[ $x == *"<premis:messageDigest>$md5</premis:messageDigest>"* ]]
	[[ $x == *'cryptographicHashFunctions/sha256">SHA-256<'* ]]
	[[ $x == *'cryptographicHashFunctions/md5">MD5<'* ]]
	# events and agents, with LoC vocabulary URIs
	[[ $x == *'eventType/ipc">information package creation<'* ]]
	[[ $x == *'eventType/mes">message digest calculation<'* ]]
	[[ $x == *'<premis:agentName>Ada Lovelace</premis:agentName>'* ]]
	[[ $x == *'<premis:agentName>Example Archive</premis:agentName>'* ]]
	[[ $x == *'agentType/org">organization<'* ]]
}

@test "bag create identifies each payload file (PRONOM) in the same read, into premis.xml" {
	cp "$KIST_SRCDIR/examples/collection/images/gradient-64x64.png" src/picture.png
	cp "$KIST_SRCDIR/examples/collection/documents/harbour-report.pdf" src/sub/report.pdf
	printf '\x01\x02 no signature knows this' >src/sub/mystery
	for to in bag ""; do
		if [ -n "$to" ]; then
			krun 0 bag create src "$to"
			doc=$to/metadata/premis.xml
		else
			cp -r src inplace
			krun 0 bag create inplace
			doc=inplace/metadata/premis.xml
		fi
		schema_ok "$doc"
		# the PNG's object carries PNG's PUID and PRONOM's MIME type
		obj=$(awk '/<premis:object /{o=""} {o=o $0 "\n"} /<\/premis:object>/{print o}' "$doc" |
			grep -A0 'data/picture.png' || true)
		[ -n "$obj" ]
		python3 - "$doc" <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"p": "http://www.loc.gov/premis/v3"}
root = ET.parse(sys.argv[1]).getroot()
fmt = {}
for o in root.findall("p:object", ns):
    ident = o.find("p:objectIdentifier/p:objectIdentifierValue", ns)
    key = o.find(".//p:formatRegistry/p:formatRegistryKey", ns)
    name = o.find(".//p:formatDesignation/p:formatName", ns)
    if ident is not None and name is not None:
        fmt[ident.text] = (key.text if key is not None else None, name.text)
assert fmt["data/picture.png"][0] in ("fmt/11", "fmt/12", "fmt/13"), fmt
assert "Portable Network Graphics" in fmt["data/picture.png"][1], fmt
assert fmt["data/sub/report.pdf"][0].startswith("fmt/"), fmt
assert "PDF" in fmt["data/sub/report.pdf"][1] or "Portable Document" in fmt["data/sub/report.pdf"][1], fmt
assert fmt["data/a.txt"][0] == "x-fmt/111", fmt
# a file no signature knows is "unknown", not guessed
assert fmt["data/sub/mystery"] == (None, "unknown"), fmt
# an extension-only match says so
notes = {}
for o in root.findall("p:object", ns):
    ident = o.find("p:objectIdentifier/p:objectIdentifierValue", ns)
    notes[ident.text] = [n.text for n in o.findall(".//p:formatNote", ns)]
assert fmt["data/sub/b.bin"] == ("fmt/208", "Binary File"), fmt
assert any("extension only" in n for n in notes["data/sub/b.bin"]), notes
assert "MIME type: image/png" in notes["data/picture.png"], notes
assert any("byte signature" in n for n in notes["data/picture.png"]), notes
ev = [e for e in root.findall("p:event", ns)
      if e.find("p:eventType", ns).text == "format identification"]
assert len(ev) == 1, ev
assert ev[0].find("p:eventType", ns).get("valueURI").endswith("/eventType/for")
assert "V118" in ev[0].find(".//p:eventDetail", ns).text
assert ev[0].find(".//p:eventOutcomeDetailNote", ns).text == "4 files identified, 1 not identified"
PY
	done
}

@test "--no-identify: formats unknown, no format identification event" {
	cp "$KIST_SRCDIR/examples/collection/images/gradient-64x64.png" src/picture.png
	krun 0 bag create --no-identify src bag
	schema_ok bag/metadata/premis.xml
	! grep -q formatRegistryKey bag/metadata/premis.xml
	! grep -q 'format identification' bag/metadata/premis.xml
	[ "$(grep -c '<premis:formatName>unknown</premis:formatName>' bag/metadata/premis.xml)" -eq 3 ]
	krun 0 premis events bag
	[ "${#lines[@]}" -eq 2 ]
}

@test "bag create: --signatures takes another signature file; a bad one stops before anything moves" {
	cp "$KIST_SRCDIR/examples/collection/images/gradient-64x64.png" src/picture.png
	printf '<not-a-signature-file' >bad.xml
	cp -r src keep
	krun 3 bag create --signatures bad.xml src
	expect_stderr_has bad.xml
	diff -r keep src
	krun 2 bag create --scan-window 12 src bag
	expect_stderr_has --scan-window
	krun 0 bag create --scan-window 512 --signatures "$KIST_DATADIR/pronom/DROID_SignatureFile_V118.xml" src bag
	grep -q '<premis:formatRegistryKey>fmt/1[123]</premis:formatRegistryKey>' bag/metadata/premis.xml
}

@test "premis.xml is a tag file: in every tag manifest, and the bag validates" {
	krun 0 bag create -a sha512,sha1 src bag
	for alg in sha512 sha1; do
		grep -q ' metadata/premis.xml$' bag/tagmanifest-$alg.txt
	done
	want=$(sha1sum bag/metadata/premis.xml | cut -d' ' -f1)
	grep -q "^$want  metadata/premis.xml$" bag/tagmanifest-sha1.txt
	krun 0 bag validate bag
}

@test "in place too, and the person defaults to the login name" {
	krun 0 bag create src
	[ -f src/metadata/premis.xml ]
	schema_ok src/metadata/premis.xml
	[ -f src/data/a.txt ]
	grep -q "<premis:agentName>$(id -un)</premis:agentName>" src/metadata/premis.xml
	grep -q '<premis:originalName>a.txt</premis:originalName>' src/metadata/premis.xml
	krun 0 bag validate src
}

@test "--no-premis leaves it out" {
	krun 0 bag create --no-premis src bag
	[ ! -e bag/metadata ]
	! grep -q premis bag/tagmanifest-*.txt
	krun 0 bag validate bag
}

@test "an empty payload still gives a valid document (the bag's representation object)" {
	mkdir empty
	krun 0 bag create empty bag
	schema_ok bag/metadata/premis.xml
	krun 0 premis validate bag
}

@test "premis show summarises objects, events and agents" {
	krun 0 bag create --agent Ada src bag
	krun 0 premis show bag
	expect_stdout_has "objects: 3 (files 2, representations 1, other 0)"
	expect_stdout_has "events: 3"
	expect_stdout_has "information package creation  success"
	expect_stdout_has "format identification  success"
	expect_stdout_has "agents: 2"
	expect_stdout_has "kist (software)"
	expect_stdout_has "Ada (person)"
}

@test "premis events: text, json and csv, in time order" {
	krun 0 bag create src bag
	krun 0 premis events bag
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[0]} == *"information package creation  success"* ]]
	krun 0 premis events --format json bag
	printf '%s\n' "$output" | python3 -c '
import json, sys
ev = json.load(sys.stdin)
assert [e["type"] for e in ev] == ["information package creation", "message digest calculation",
                                   "format identification"], ev
assert all(e["outcome"] == "success" for e in ev)
assert ev[1]["outcome_detail"].startswith("2 files, 18 bytes")
'
	krun 0 premis events --format csv bag
	[ "${lines[0]}" = "datetime,type,outcome,detail,outcome_detail,id" ]
	[ "${#lines[@]}" -eq 4 ]
	krun 2 premis events --format gnu bag
}

@test "premis events sorts by instant, whatever the zone" {
	cat >t.xml <<'EOF'
<premis xmlns="http://www.loc.gov/premis/v3" version="3.0">
<event><eventIdentifier><eventIdentifierType>l</eventIdentifierType><eventIdentifierValue>b</eventIdentifierValue></eventIdentifier><eventType>second</eventType><eventDateTime>2020-01-01T10:30:00+01:00</eventDateTime></event>
<event><eventIdentifier><eventIdentifierType>l</eventIdentifierType><eventIdentifierValue>a</eventIdentifierValue></eventIdentifier><eventType>first</eventType><eventDateTime>2020-01-01T09:00:00Z</eventDateTime></event>
</premis>
EOF
	krun 0 premis events t.xml
	[[ ${lines[0]} == *first* ]]
	[[ ${lines[1]} == *second* ]]
}

@test "premis validate: a schema violation is an error naming the line" {
	krun 0 bag create src bag
	krun 0 premis validate bag/metadata/premis.xml
	expect_stdout_has "valid PREMIS 3"
	# events before any object: out of the schema's order
	printf '<premis xmlns="http://www.loc.gov/premis/v3" version="3.0">\n<event/>\n</premis>\n' >bad.xml
	krun 1 premis validate bad.xml
	expect_stdout_has "bad.xml: INVALID"
	expect_code premis.invalid
	[[ $stderr == *"line 2"* ]]
}

@test "an entity bomb is refused quickly, with a clear error" {
	{
		echo '<?xml version="1.0"?>'
		echo '<!DOCTYPE premis ['
		echo ' <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">'
		echo ' <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">'
		echo ' <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
		echo ' <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">'
		echo ' <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">'
		echo ' <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">'
		echo ']>'
		echo '<premis xmlns="http://www.loc.gov/premis/v3" version="3.0"><agent><agentName>&f;</agentName></agent></premis>'
	} >bomb.xml
	SECONDS=0
	krun 1 premis show bomb.xml
	[[ $stderr == *"document type declaration"* ]]
	krun 1 premis events bomb.xml
	krun 1 premis validate bomb.xml
	expect_code premis.invalid
	[ "$SECONDS" -lt 10 ]
}

@test "an external entity is never fetched or read" {
	cat >xxe.xml <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE premis [ <!ENTITY x SYSTEM "file:///etc/passwd"> <!ENTITY y SYSTEM "http://192.0.2.1/x"> ]>
<premis xmlns="http://www.loc.gov/premis/v3" version="3.0"><agent><agentName>&x;&y;</agentName></agent></premis>
EOF
	SECONDS=0
	krun 1 premis show xxe.xml
	[[ $stderr == *"document type declaration"* ]]
	refute_stdout_has "root:"
	[ "$SECONDS" -lt 10 ]
}

@test "deep nesting and malformed XML end with a clear error" {
	{
		printf '<premis xmlns="http://www.loc.gov/premis/v3" version="3.0">'
		for i in $(seq 300); do printf '<x>'; done
		for i in $(seq 300); do printf '</x>'; done
		printf '</premis>\n'
	} >deep.xml
	krun 1 premis show deep.xml
	[[ $stderr == *"deeper than"* ]]
	printf '<premis xmlns="http://www.loc.gov/premis/v3" version="3.0"><object>' >cut.xml
	krun 1 premis show cut.xml
	[[ $stderr == *"not well-formed"* ]]
	krun 3 premis show nothing-here.xml
}

@test "premis: usage errors" {
	krun 2 premis
	krun 2 premis frobnicate bag
	krun 2 premis show
	krun 0 premis --help
	expect_stdout_has "kist premis validate"
}

@test "bag validate --record and bag update append events; still valid after several" {
	krun 0 bag create -a sha256,md5 src bag
	cp bag/metadata/premis.xml before.xml
	krun 0 bag validate --record --agent Eve bag
	printf 'new\n' >bag/data/n.txt
	krun 0 bag update bag
	krun 0 bag validate --record bag
	schema_ok bag/metadata/premis.xml
	krun 0 premis validate bag
	krun 0 bag validate bag
	krun 0 premis events --format csv bag
	[ "${#lines[@]}" -eq 7 ]
	[[ ${lines[4]} == *"fixity check,success"* ]]
	[[ ${lines[5]} == *"message digest calculation,success"*"1 added, 0 removed, 0 changed, 2 unchanged; 3 files"* ]]
	# the objects and first events are kept as they were
	sed -n '/<premis:object /,/<\/premis:event>/p' before.xml >objs.xml
	grep -qF -f objs.xml bag/metadata/premis.xml
	[ "$(grep -c '<premis:event>' bag/metadata/premis.xml)" -eq 6 ]
	# one agent per identity: kist once, Eve added
	[ "$(grep -c '<premis:agentName>kist</premis:agentName>' bag/metadata/premis.xml)" -eq 1 ]
	[ "$(grep -c '<premis:agentName>Eve</premis:agentName>' bag/metadata/premis.xml)" -eq 1 ]
	# the tag manifests cover the new premis.xml
	want=$(md5sum bag/metadata/premis.xml | cut -d' ' -f1)
	grep -q "^$want  metadata/premis.xml$" bag/tagmanifest-md5.txt
}

@test "bag update --agent names the person in the event it appends" {
	krun 0 bag create --agent Ada src bag
	printf 'new\n' >bag/data/n.txt
	krun 0 bag update --agent 'Grace Hopper' bag
	schema_ok bag/metadata/premis.xml
	[ "$(grep -c '<premis:agentName>Grace Hopper</premis:agentName>' bag/metadata/premis.xml)" -eq 1 ]
	python3 - bag/metadata/premis.xml <<'PY'
import sys, xml.etree.ElementTree as ET
ns = {"p": "http://www.loc.gov/premis/v3"}
root = ET.parse(sys.argv[1]).getroot()
last = root.findall("p:event", ns)[-1]
assert last.find("p:eventType", ns).text == "message digest calculation"
linked = [v.text for v in last.findall("p:linkingAgentIdentifier/p:linkingAgentIdentifierValue", ns)]
assert any("Grace Hopper" in v for v in linked), linked
assert not any("Ada" in v for v in linked), linked
PY
}

@test "validate --record on an invalid bag records a failure with the findings counted" {
	krun 0 bag create src bag
	printf 'changed\n' >bag/data/a.txt
	krun 1 bag validate --record bag
	krun 0 premis events bag
	[[ ${lines[3]} == *"fixity check  failure"*"invalid (2 errors); 2 errors, 0 failures"* ]]
	schema_ok bag/metadata/premis.xml
	krun 2 bag validate --record --fast bag
}

@test "a premis.xml written by another tool is kept and appended to" {
	krun 0 bag create --no-premis src bag
	mkdir bag/metadata
	cat >bag/metadata/premis.xml <<'XML'
<?xml version="1.0" encoding="UTF-8"?>
<!-- written by OtherTool 2.1 -->
<premis xmlns="http://www.loc.gov/premis/v3" version="3.0">
  <object xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="file">
    <objectIdentifier><objectIdentifierType>ark</objectIdentifierType><objectIdentifierValue>ark:/1/x</objectIdentifierValue></objectIdentifier>
    <objectCharacteristics><compositionLevel>0</compositionLevel><format><formatDesignation><formatName>TIFF</formatName></formatDesignation></format></objectCharacteristics>
  </object>
  <event><eventIdentifier><eventIdentifierType>local</eventIdentifierType><eventIdentifierValue>e1</eventIdentifierValue></eventIdentifier><eventType>capture</eventType><eventDateTime>2019-05-01T10:00:00Z</eventDateTime></event>
  <agent><agentIdentifier><agentIdentifierType>local</agentIdentifierType><agentIdentifierValue>scanner-7</agentIdentifierValue></agentIdentifier><agentName>Scanner 7</agentName></agent>
</premis>
XML
	schema_ok bag/metadata/premis.xml
	krun 0 bag validate --record bag
	krun 0 bag validate --record bag
	schema_ok bag/metadata/premis.xml
	grep -q '<!-- written by OtherTool 2.1 -->' bag/metadata/premis.xml
	grep -q '<eventType>capture</eventType>' bag/metadata/premis.xml
	grep -q '<agentName>Scanner 7</agentName>' bag/metadata/premis.xml
	krun 0 premis events bag
	[ "${#lines[@]}" -eq 3 ]
	[[ ${lines[0]} == *capture* ]]
	krun 0 bag validate bag
}

@test "validate --record on a bag without premis.xml starts one" {
	krun 0 bag create --no-premis src bag
	krun 0 bag validate --record bag
	schema_ok bag/metadata/premis.xml
	grep -q ' metadata/premis.xml$' bag/tagmanifest-sha512.txt
	krun 0 bag validate bag
}

@test "a received premis.xml with an entity bomb is refused by --record and left alone" {
	krun 0 bag create src bag
	printf '<?xml version="1.0"?>\n<!DOCTYPE premis [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>\n<premis xmlns="http://www.loc.gov/premis/v3" version="3.0"><agent><agentName>&b;</agentName></agent></premis>\n' >bag/metadata/premis.xml
	cp bag/metadata/premis.xml copy.xml
	krun 3 bag validate --record bag
	[[ $stderr == *"document type declaration"* ]]
	cmp copy.xml bag/metadata/premis.xml
	# an update still updates, and says the event is not recorded
	printf 'new\n' >bag/data/n.txt
	krun 0 bag update bag
	expect_code premis.not-recorded
	cmp copy.xml bag/metadata/premis.xml
}

@test "validate --record on a folder that is not a bag: exit 1, nothing written" {
	mkdir notabag
	krun 1 bag validate --record notabag
	[[ $stderr == *"nothing recorded: not a bag"* ]]
	[ ! -e notabag/metadata ]
}

@test "the schema kist carries is the PREMIS 3.0 schema of the shared data" {
	[ -f /work/shared/data/premis/premis-v3-0.xsd ] || skip "no shared copy here"
	cmp "$KIST_SRCDIR/data/premis/premis-v3-0.xsd" /work/shared/data/premis/premis-v3-0.xsd
}
