load helpers

# require_strace: skips when strace is missing or cannot trace here.
require_strace() {
	command -v strace >/dev/null || skip "no strace (install strace)"
	strace -f -qq -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
}

# Bags are made here by hand with printf and coreutils.

# hand_bag DIR VERSION ENCODING: bagit.txt for VERSION and ENCODING, data/
# with two files (a.txt "hello\n", sub/b.txt "world!\n": 13 bytes), an md5
# and a sha256 payload manifest and a sha256 tag manifest. The caller writes
# the bag-info file.
hand_bag() {
	mkdir -p "$1/data/sub"
	printf 'hello\n' >"$1/data/a.txt"
	printf 'world!\n' >"$1/data/sub/b.txt"
	printf 'BagIt-Version: %s\nTag-File-Character-Encoding: %s\n' "$2" "$3" >"$1/bagit.txt"
	(cd "$1" && md5sum data/a.txt data/sub/b.txt >manifest-md5.txt &&
		sha256sum data/a.txt data/sub/b.txt >manifest-sha256.txt)
}

tag_manifest() {
	(cd "$1" && sha256sum bagit.txt manifest-*.txt "${@:2}" >tagmanifest-sha256.txt)
}

# json_check JSON PYTHON: runs PYTHON with the parsed document as d.
json_check() {
	python3 -c "import json, sys
d = json.loads(sys.argv[1])
$2" "$1" || flunk "JSON check failed: $2"
}

@test "bag info -h describes the command" {
	krun 0 bag info -h
	expect_stdout_has "usage: kist bag info"
	expect_stdout_has "--format text|json"
}

@test "bag info: usage errors exit 2" {
	krun 2 bag info
	expect_stderr_has "no bag given"
	krun 2 bag info a b
	krun 2 bag info --format csv a
	krun 2 bag info --no-such-flag a
}

@test "bag info: not a bag exits 1" {
	mkdir plain
	krun 1 bag info plain
	expect_stderr_has "bagit.txt"
	krun 1 bag info --format json plain
	json_check "$output" 'assert d["bag"] == "plain" and d["findings"], d'
}

@test "bag info: a BagIt 1.0 bag as aligned text" {
	hand_bag bag 1.0 UTF-8
	printf '%s\n' 'Source-Organization: Example Org' 'Contact-Name: First' \
		'Payload-Oxum: 13.2' 'Contact-Name: Second' 'Bag-Count: 1 of 1' >bag/bag-info.txt
	tag_manifest bag bag-info.txt
	krun 0 bag info bag
	expect_no_stderr
	expect_output "Bag:                 bag
BagIt-Version:       1.0
Tag file encoding:   UTF-8
Payload algorithms:  md5, sha256
Tag algorithms:      sha256
Payload (manifests): 2 files, 13 bytes
Payload (data/):     2 files, 13 bytes
Payload-Oxum:        13.2 (matches data/)
fetch.txt:           none
bag-info.txt:        5 elements
  Source-Organization: Example Org
  Contact-Name:        First
  Payload-Oxum:        13.2
  Contact-Name:        Second
  Bag-Count:           1 of 1"
}

@test "bag info --format json: one document with every field" {
	hand_bag bag 1.0 UTF-8
	printf '%s\n' 'Source-Organization: Example Org' 'Contact-Name: First' \
		'Payload-Oxum: 13.2' 'Contact-Name: Second' >bag/bag-info.txt
	tag_manifest bag bag-info.txt
	krun 0 bag info --format json bag
	json_check "$output" '
assert d["bag"] == "bag"
assert d["version"] == "1.0"
assert d["tag_file_encoding"] == "UTF-8"
assert d["payload_algorithms"] == ["md5", "sha256"]
assert d["tag_algorithms"] == ["sha256"]
names = sorted(m["name"] for m in d["manifests"])
assert names == ["manifest-md5.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt"], names
assert all(m["entries"] == (4 if m["tag"] else 2) for m in d["manifests"]), d["manifests"]
assert d["payload"] == {"manifest_files": 2, "manifest_bytes": 13, "missing": 0, "data_dir": True, "files": 2,
                        "bytes": 13, "unlisted": 0}, d["payload"]
assert d["payload_oxum"]["declared"] == "13.2" and d["payload_oxum"]["matches"] is True
assert d["fetch"] == {"present": False, "entries": 0}
assert d["info_file"] == "bag-info.txt"
assert [(e["label"], e["value"]) for e in d["info"]] == [
    ("Source-Organization", "Example Org"), ("Contact-Name", "First"),
    ("Payload-Oxum", "13.2"), ("Contact-Name", "Second")], d["info"]
assert d["findings"] == []'
}

@test "bag info: ISO-8859-1 tag files are shown in UTF-8" {
	hand_bag bag 1.0 ISO-8859-1
	printf 'Source-Organization: Biblioth\xe8que nationale\nContact-Name: Ren\xe9e\nPayload-Oxum: 13.2\n' \
		>bag/bag-info.txt
	krun 0 bag info bag
	expect_line "Tag file encoding:   ISO-8859-1"
	expect_line "  Source-Organization: Bibliothèque nationale"
	expect_line "  Contact-Name:        Renée"
	krun 0 bag info --format json bag
	json_check "$output" '
assert d["tag_file_encoding"] == "ISO-8859-1"
assert d["info"][0]["value"] == "Biblioth\u00e8que nationale", d["info"]
assert d["info"][1]["value"] == "Ren\u00e9e"'
}

@test "bag info: a UTF-16 bag-info" {
	hand_bag bag 1.0 UTF-16
	printf 'Source-Organization: \xc3\x89cole\nPayload-Oxum: 13.2\n' | iconv -f UTF-8 -t UTF-16 >bag/bag-info.txt
	# every tag file is in the declared encoding, manifests too
	for m in bag/manifest-*.txt; do
		iconv -f UTF-8 -t UTF-16 "$m" >m.tmp && mv m.tmp "$m"
	done
	krun 0 bag info --format json bag
	json_check "$output" '
assert d["info"][0] == {"label": "Source-Organization", "value": "\u00c9cole"}, d["info"]
assert d["payload"]["manifest_files"] == 2 and d["payload"]["missing"] == 0, d["payload"]
assert d["payload_oxum"]["matches"] is True'
}

@test "bag info: a BagIt 0.95 bag with package-info.txt" {
	hand_bag bag 0.95 UTF-8
	rm bag/manifest-sha256.txt
	printf 'Source-Organization: Old Org\nPackage-Size: 1 KB\nPayload-Oxum: 13.2\n' >bag/package-info.txt
	krun 0 bag info bag
	expect_line "BagIt-Version:       0.95"
	expect_line "Payload algorithms:  md5"
	expect_line "Tag algorithms:      none"
	expect_line "package-info.txt:    3 elements"
	expect_line "  Package-Size:        1 KB"
	expect_line "Payload-Oxum:        13.2 (matches data/)"
	krun 0 bag info --format json bag
	json_check "$output" '
assert d["version"] == "0.95" and d["info_file"] == "package-info.txt"
assert d["tag_algorithms"] == []
assert [e["label"] for e in d["info"]] == ["Source-Organization", "Package-Size", "Payload-Oxum"]'
}

@test "bag info: bags of versions 0.93 to 1.0" {
	for v in 0.93 0.94 0.95 0.96 0.97 1.0; do
		rm -rf bag
		hand_bag bag "$v" UTF-8
		case $v in
		0.9[345]) info=package-info.txt ;;
		*) info=bag-info.txt ;;
		esac
		printf 'External-Identifier: bag-%s\n' "$v" >"bag/$info"
		krun 0 bag info bag
		expect_line "BagIt-Version:       $v"
		expect_line "$(printf '%-21s%s' "$info:" '1 element')"
		expect_line "  External-Identifier: bag-$v"
		expect_line "Payload-Oxum:        none declared"
		krun 0 bag info --format json bag
		json_check "$output" "
assert d['version'] == '$v' and d['info_file'] == '$info'
assert d['payload_oxum'] == {'declared': None, 'state': 'absent', 'matches': None, 'found': '13.2'}"
	done
}

@test "bag info: Payload-Oxum that differs from data/, and a malformed one" {
	hand_bag bag 1.0 UTF-8
	printf 'Payload-Oxum: 99.2\n' >bag/bag-info.txt
	krun 0 bag info bag
	expect_line "Payload-Oxum:        99.2 (differs: data/ holds 13.2)"
	printf 'Payload-Oxum: 13,2\n' >bag/bag-info.txt
	krun 0 bag info bag
	expect_line "Payload-Oxum:        13,2 (malformed)"
	krun 0 bag info --format json bag
	json_check "$output" 'assert d["payload_oxum"]["state"] == "malformed" and d["payload_oxum"]["matches"] is False'
}

@test "bag info: files missing from data/ and files in no manifest are counted" {
	hand_bag bag 1.0 UTF-8
	rm bag/data/a.txt
	printf 'extra' >bag/data/extra.bin
	printf 'more' >bag/data/more.bin
	krun 0 bag info bag
	expect_line "Payload (manifests): 2 files, 7 bytes, 1 not in data/"
	expect_line "Payload (data/):     3 files, 16 bytes, 2 in no manifest"
	expect_line "bag-info.txt:        none"
}

@test "bag info: fetch.txt entries are counted" {
	hand_bag bag 1.0 UTF-8
	printf '%s\n' 'https://example.org/c 10 data/c.bin' 'https://example.org/d - data/d.bin' >bag/fetch.txt
	krun 0 bag info bag
	expect_line "fetch.txt:           2 entries"
	krun 0 bag info --format json bag
	json_check "$output" 'assert d["fetch"] == {"present": True, "entries": 2}'
}

@test "bag info: quotes, backslashes and line breaks stay valid JSON" {
	hand_bag bag 1.0 UTF-8
	printf '%s\n' 'External-Description: a "quoted" \ value' '  folded onto a second line' >bag/bag-info.txt
	krun 0 bag info --format json bag
	json_check "$output" '
v = d["info"][0]["value"]
assert v.startswith("a \"quoted\" \\ value") and v.endswith("folded onto a second line"), v'
}

@test "bag info reads no payload bytes" {
	require_strace
	hand_bag bag 1.0 UTF-8
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -o trace.txt -e trace=open,openat,openat2 "$KIST" bag info bag >/dev/null
	! grep -E '"(a|b)\.txt"|data/(a|sub/b)\.txt' trace.txt || flunk "a payload file was opened"
	grep -q 'manifest-sha256.txt' trace.txt
}

@test "bag info on a bag made by kist bag create" {
	"$KIST" bag create -h 2>&1 | grep -q 'not available yet' && skip "kist bag create is not in this build yet"
	mkdir -p src
	printf 'x\n' >src/x.txt
	krun 0 bag create src bag
	krun 0 bag info --format json bag
	json_check "$output" '
assert d["version"] == "1.0" and d["payload"]["files"] == 1
assert d["payload_oxum"]["matches"] is True'
}

@test "bag info agrees with kist bag update" {
	hand_bag bag 1.0 UTF-8
	printf 'Payload-Oxum: 13.2\n' >bag/bag-info.txt
	printf 'later\n' >bag/data/later.txt
	krun 0 bag info bag
	expect_line "Payload-Oxum:        13.2 (differs: data/ holds 19.3)"
	expect_line "Payload (data/):     3 files, 19 bytes, 1 in no manifest"
	krun 0 bag update bag
	krun 0 bag info bag
	expect_line "Payload-Oxum:        19.3 (matches data/)"
	expect_line "Payload (manifests): 3 files, 19 bytes"
	expect_line "Payload (data/):     3 files, 19 bytes"
}

@test "bag info: symlinks in data/ are reported, not followed" {
	hand_bag bag 1.0 UTF-8
	ln -s a.txt bag/data/link
	krun 0 bag info bag
	expect_line "Payload (data/):     2 files, 13 bytes"
	expect_stderr_has "bag/data/link"
}
