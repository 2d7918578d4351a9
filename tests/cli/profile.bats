load helpers

# The specification's two examples and the Beyond the Repository profile.
PROFILES=$KIST_SRCDIR/tests/data/profiles
FOO=$PROFILES/bagProfileFoo.json
BAR=$PROFILES/bagProfileBar.json
BTR=$PROFILES/btr_standard_profile.json
BTR_ID=https://github.com/dpscollaborative/btr_bagit_profile/releases/download/1.0/btr-bagit-profile.json

teardown() {
	if [ -n "${SERVER_PID:-}" ]; then
		kill "$SERVER_PID" 2>/dev/null || true
		wait "$SERVER_PID" 2>/dev/null || true
	fi
	kist_teardown
}

# mkprofile FILE [EXTRA]: a BagIt Profile 1.4.0 identified as
# http://example.org/p.json accepting BagIt 1.0, with EXTRA top-level fields.
mkprofile() {
	printf '{"BagIt-Profile-Info":{"BagIt-Profile-Identifier":"%s","BagIt-Profile-Version":"1.4.0",
"Source-Organization":"kist tests","External-Description":"for the tests","Version":"1"},
"Accept-BagIt-Version":["1.0"]%s%s}\n' "${ID:-http://example.org/p.json}" "${2:+,}" "${2:-}" >"$1"
}

# mkbag97 DIR: a BagIt 0.97 bag (coreutils), md5 manifest, the bag-info the
# specification's Foo example asks for.
mkbag97() {
	mkdir -p "$1/data"
	printf 'disk image\n' >"$1/data/disk.img"
	(
		cd "$1" || exit 1
		printf 'BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n' >bagit.txt
		printf 'Bagging-Date: 2024-01-02\nSource-Organization: York University\nContact-Phone: +1 555 0100\nBagIt-Profile-Identifier: http://www.library.yale.edu/mssa/bagitprofiles/disk_images.json\nPayload-Oxum: 11.1\n' >bag-info.txt
		md5sum data/disk.img >manifest-md5.txt
	)
}

# mkbag DIR: a BagIt 1.0 bag of two payload files, sha256 and sha512
# manifests, a tag manifest (coreutils; as in bag-validate.bats).
mkbag() {
	local dir=$1
	mkdir -p "$dir/data/sub"
	printf 'hello, world\n' >"$dir/data/hello.txt"
	printf '0123456789' >"$dir/data/sub/b.bin"
	(
		cd "$dir" || exit 1
		printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' >bagit.txt
		printf 'Payload-Oxum: 23.2\nSource-Organization: kist tests\n' >bag-info.txt
		sha256sum data/hello.txt data/sub/b.bin >manifest-sha256.txt
		sha512sum data/hello.txt data/sub/b.bin >manifest-sha512.txt
		sha256sum bagit.txt bag-info.txt manifest-sha256.txt manifest-sha512.txt >tagmanifest-sha256.txt
	)
}

retag() {
	(cd "$1" && sha256sum bagit.txt bag-info.txt manifest-sha256.txt manifest-sha512.txt >tagmanifest-sha256.txt)
}

# expect_vfinding SEVERITY PATH CODE: "kist bag validate: SEV: PATH: ... (CODE)" on stderr.
expect_vfinding() {
	local l
	for l in "${stderr_lines[@]}"; do
		[[ "$l" == "kist bag validate: $1: $2: "*" ($3)" ]] && return 0
	done
	flunk "no finding '$1: $2: ... ($3)' on stderr"
}

json_ok() {
	printf '%s\n' "$output" | python3 -m json.tool >/dev/null || flunk "stdout is not JSON"
}

json_get() {
	printf '%s\n' "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

# serve DIR: an HTTP server on 127.0.0.1 for DIR; sets PORT.
serve() {
	python3 -c '
import functools, http.server, os, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.ThreadingHTTPServer(("127.0.0.1", 0), h)
with open(sys.argv[2] + ".tmp", "w") as f:
    f.write(str(s.server_address[1]))
os.rename(sys.argv[2] + ".tmp", sys.argv[2])
s.serve_forever()' "$1" "$BATS_TEST_TMPDIR/port" 2>/dev/null &
	SERVER_PID=$!
	for _ in $(seq 100); do
		[ -f "$BATS_TEST_TMPDIR/port" ] && break
		sleep 0.05
	done
	PORT=$(cat "$BATS_TEST_TMPDIR/port")
}

# expect_pfinding SEVERITY PATH CODE for kist bag validate / bag create / profile check
expect_finding_code() {
	[[ "$stderr" == *"($1)"* ]] || flunk "no ($1) finding on stderr"
}
expect_no_finding_code() {
	[[ "$stderr" != *"($1)"* ]] || flunk "a ($1) finding on stderr"
}

# --- kist profile check ---------------------------------------------------------

@test "kist profile -h and kist profile check -h answer on stdout" {
	krun 0 profile -h
	expect_stdout_has "usage: kist profile check"
	krun 0 profile check -h
	expect_stdout_has "--fetch-profile"
	expect_no_stderr
	krun 2 profile
	krun 2 profile frob
}

@test "the specification's two examples and the Beyond the Repository profile are usable" {
	krun 0 profile check "$FOO" "$BAR"
	expect_line "$FOO: ok (BagIt Profiles 1.1.0 rules)"
	expect_line "$BAR: ok (BagIt Profiles 1.2.0 rules)"
	expect_no_stderr
	# "recommended" is no field of the specification: ignored, with a note
	krun 0 profile check "$BTR"
	expect_output "$BTR: ok, 1 warning (BagIt Profiles 1.3.0 rules)"
	expect_finding_code profile.field-unknown
	[[ "$stderr" == *recommended* ]] || flunk "the note does not name the field"
}

@test "profile check --format json" {
	mkprofile p.json '"Serialization":"sometimes"'
	krun 1 profile check --format json "$FOO" p.json
	json_ok
	[ "$(json_get 'd["profiles"][0]["verdict"]')" = ok ]
	[ "$(json_get 'd["profiles"][0]["rules"]')" = 1.1.0 ]
	[ "$(json_get 'd["profiles"][1]["verdict"]')" = malformed ]
	[ "$(json_get 'd["profiles"][1]["findings"][0]["code"]')" = profile.value ]
}

@test "a malformed profile: each problem named, exit 1" {
	mkprofile p.json '"Manifests-Required":["md5"],"Manifests-Allowed":["sha256"],"Serialization":"required","Tag-Files-Required":["DPN/x"],"Tag-Files-Allowed":["meta/*"],"Fetch.txt-Required":true,"Allow-Fetch.txt":false,"Payload-Files-Allowed":["data/dir/"]'
	krun 1 profile check p.json
	expect_output "p.json: malformed (5 errors)"
	[[ "$stderr" == *"Manifests-Required lists md5, which Manifests-Allowed does not allow (profile.contradiction)"* ]] || flunk
	[[ "$stderr" == *"Serialization is required but Accept-Serialization names no format"* ]] || flunk
	[[ "$stderr" == *"Tag-Files-Required lists DPN/x"* ]] || flunk
	[[ "$stderr" == *"Fetch.txt-Required is true but Allow-Fetch.txt is false"* ]] || flunk
	[[ "$stderr" == *"data/dir/ ends in '/'"* ]] || flunk
}

@test "bad JSON, wrong types, absurd nesting, empty file: a finding each, never a crash" {
	printf '{"BagIt-Profile-Info": {\n  "Version": "1",\n  oops\n}}' >syntax.json
	krun 1 profile check syntax.json
	[[ "$stderr" == *"not JSON"*"line 3"*"(profile.malformed)"* ]] || flunk
	mkprofile types.json '"Allow-Fetch.txt":"no","Bag-Info":{"Contact-Name":{"required":1}},"Accept-Serialization":"application/zip"'
	krun 1 profile check types.json
	expect_output "types.json: malformed (3 errors)"
	python3 -c 'print("[" * 100000 + "]" * 100000)' >deep.json
	krun 1 profile check deep.json
	[[ "$stderr" == *"nested more than 16 deep"* ]] || flunk
	: >empty.json
	krun 1 profile check empty.json
	printf '\x00\x01' >binary.json
	krun 1 profile check binary.json
	expect_finding_code profile.malformed
}

@test "unknown fields are ignored with a note; newer fields than the profile's version too" {
	mkprofile p.json '"Colour":"blue","Bag-Info":{"Contact-Name":{"required":true,"hint":"x"}}'
	krun 0 profile check p.json
	expect_output "p.json: ok, 2 warnings (BagIt Profiles 1.4.0 rules)"
	expect_finding_code profile.field-unknown
	# no BagIt-Profile-Version: the 1.1.0 rules, where Data-Empty does not exist
	printf '{"BagIt-Profile-Info":{"BagIt-Profile-Identifier":"x","Source-Organization":"o","External-Description":"d","Version":"1"},"Accept-BagIt-Version":["1.0"],"Data-Empty":true}' >old.json
	krun 0 profile check old.json
	expect_output "old.json: ok, 1 warning (BagIt Profiles 1.1.0 rules)"
	[[ "$stderr" == *"Data-Empty belongs to BagIt Profiles 1.4.0; this profile is read as 1.1.0 (it has no BagIt-Profile-Version): ignored (profile.field-newer)"* ]] || flunk
}

@test "a missing or unreadable profile: exit 3" {
	krun 3 profile check nothere.json
	expect_finding_code profile.unreadable
	mkdir adir
	krun 3 profile check adir
	expect_output "adir: unreadable"
}

@test "a URL is fetched only with --fetch-profile" {
	krun 2 profile check http://127.0.0.1:9/p.json
	[[ "$stderr" == *"--fetch-profile"* ]] || flunk
}

@test "--fetch-profile: a profile from a server on 127.0.0.1; 404 and a closed port are exit 3" {
	mkdir site
	cp "$BAR" site/bar.json
	serve site
	krun 0 profile check --fetch-profile "http://127.0.0.1:$PORT/bar.json"
	expect_output "http://127.0.0.1:$PORT/bar.json: ok (BagIt Profiles 1.2.0 rules)"
	krun 3 profile check --fetch-profile "http://127.0.0.1:$PORT/missing.json"
	[[ "$stderr" == *"HTTP 404"*"(profile.unreachable)"* ]] || flunk
	kill "$SERVER_PID"
	wait "$SERVER_PID" 2>/dev/null || true
	SERVER_PID=
	krun 3 profile check --fetch-profile "http://127.0.0.1:$PORT/bar.json"
	expect_output "http://127.0.0.1:$PORT/bar.json: unreachable"
	expect_finding_code profile.unreachable
}

# --- kist bag validate --profile ---------------------------------------------------

@test "bag validate --profile: a bag made for Beyond the Repository passes it" {
	mkdir src
	printf 'a\n' >src/a.txt
	krun 0 bag create -q --profile "$BTR" --info 'Source-Organization: York University' src bag
	krun 0 bag validate --profile "$BTR" bag
	expect_output "bag: valid"
	grep -qx "BagIt-Profile-Identifier: $BTR_ID" bag/bag-info.txt
}

@test "bag validate --profile: violations are profile.* errors after the BagIt checks, exit 1" {
	mkbag bag
	printf 'x' >bag/data/extra.txt   # also a BagIt error: not in a manifest
	mkprofile p.json '"Bag-Info":{"Contact-Name":{"required":true},"Source-Organization":{"values":["SFU"]}},"Manifests-Required":["md5"],"Payload-Files-Allowed":["data/*.txt"]'
	krun 1 bag validate --profile p.json bag
	expect_output "bag: invalid (7 errors)"
	expect_vfinding error bag/bag-info.txt profile.identifier-missing
	expect_vfinding error bag/bag-info.txt profile.info-missing
	expect_vfinding error bag/bag-info.txt profile.info-value
	expect_vfinding error bag/manifest-md5.txt profile.manifest-missing
	expect_vfinding error bag/data/sub/b.bin profile.payload-not-allowed
	# the BagIt finding comes first, the profile's after it
	[[ "${stderr_lines[0]}" != *"(profile."* ]] || flunk "the profile's findings came first"
	# and without the profile, only the BagIt problems
	krun 1 bag validate bag
	expect_output "bag: invalid (2 errors)"
	expect_no_finding_code profile.info-missing
}

@test "bag validate --profile with the Foo example: BagIt 1.0 is not accepted, nothing else is checked" {
	mkbag bag
	printf 'changed' >bag/data/hello.txt   # would be a checksum mismatch
	krun 1 bag validate --profile "$FOO" bag
	expect_output "bag: invalid (1 error)"
	expect_vfinding error bag/bagit.txt profile.bagit-version
	expect_no_finding_code manifest.checksum-mismatch
	expect_no_finding_code payload.checksum-mismatch
	expect_no_finding_code profile.info-missing
}

@test "bag validate --profile with the Foo example: a BagIt 0.97 bag meets it but for serialization" {
	mkbag97 bag
	krun 1 bag validate --profile "$FOO" bag
	expect_output "bag: invalid (1 error)"
	expect_vfinding error bag profile.serialization-required
	# a fetch.txt is not allowed, Contact-Phone is required
	printf 'http://example.org/x 1 data/x\n' >bag/fetch.txt
	sed -i '/Contact-Phone/d' bag/bag-info.txt
	krun 1 bag validate --profile "$FOO" bag
	expect_vfinding error bag/fetch.txt profile.fetch-not-allowed
	expect_vfinding error bag/bag-info.txt profile.info-missing
}

@test "serialized bags: Accept-Serialization is fatal, Serialization forbidden is an error" {
	mkbag97 bag
	tar cf bag.tar bag
	tar czf bag.tgz bag
	(cd "$BATS_TEST_TMPDIR" && python3 -c 'import shutil; shutil.make_archive("bag", "zip", ".", "bag")')
	# the Foo example accepts zip and tar: the 0.97 bag meets it, serialized
	krun 0 bag validate --profile "$FOO" bag.tar bag.zip
	expect_line "bag.tar: valid"
	expect_line "bag.zip: valid"
	expect_no_finding_code profile.serialization-required
	# and the archive's payload is checked too: a changed byte
	cp -r bag badbag
	printf 'disk imagE\n' >badbag/data/disk.img
	tar cf bad.tar badbag
	krun 1 bag validate --profile "$FOO" bad.tar
	expect_no_finding_code profile.serialization-not-accepted
	# ... but not tar.gz: rejected before anything else
	run --separate-stderr "$KIST" bag validate --profile "$FOO" bag.tgz
	[ "$status" -eq 1 ] || flunk "expected exit 1"
	expect_finding_code profile.serialization-not-accepted
	[[ "$stderr" == *"application/gzip"* ]] || flunk "the format is not named"
	# bagit.txt and bag-info.txt are read from inside the archive
	mkbag bag10
	tar cf bag10.tar bag10
	run --separate-stderr "$KIST" bag validate --profile "$FOO" bag10.tar
	[[ "$stderr" == *"bag10.tar/bagit.txt: BagIt-Version 1.0 is not accepted"* ]] || flunk
	mkprofile p.json '"Bag-Info":{"Source-Organization":{"values":["SFU"]}}'
	run --separate-stderr "$KIST" bag validate --profile p.json bag10.tar
	[[ "$stderr" == *"Source-Organization: 'kist tests' is not a value the profile allows"* ]] || flunk
	# Serialization forbidden
	ID=http://www.library.yale.edu/mssa/bagitprofiles/disk_images.json mkprofile nozip.json '"Serialization":"forbidden"'
	sed -i 's/"1.0"/"0.97"/' nozip.json
	run --separate-stderr "$KIST" bag validate --profile nozip.json bag.zip
	[ "$status" -eq 1 ] || flunk "expected exit 1"
	expect_finding_code profile.serialization-forbidden
	krun 0 bag validate --profile nozip.json bag
}

@test "a bag naming its profile is checked against the one fetched (--fetch-profile)" {
	mkdir site
	serve site
	ID="http://127.0.0.1:$PORT/p.json" mkprofile site/p.json '"Bag-Info":{"Contact-Name":{"required":true}}'
	mkbag bag
	printf 'BagIt-Profile-Identifier: http://127.0.0.1:%s/p.json\n' "$PORT" >>bag/bag-info.txt
	retag bag
	krun 1 bag validate --fetch-profile bag
	expect_vfinding error bag/bag-info.txt profile.info-missing
	# named twice: fetched and checked once
	printf 'BagIt-Profile-Identifier: http://127.0.0.1:%s/p.json\n' "$PORT" >>bag/bag-info.txt
	retag bag
	krun 1 bag validate --fetch-profile bag
	expect_output "bag: invalid (1 error)"
	printf 'Contact-Name: Ann\n' >>bag/bag-info.txt
	retag bag
	krun 0 bag validate --fetch-profile bag
	expect_output "bag: valid"
	# without --fetch-profile nothing is fetched and nothing checked
	sed -i '/Contact-Name/d' bag/bag-info.txt
	retag bag
	krun 0 bag validate bag
	# a profile that cannot be had: could not check, exit 3
	sed -i "s|:$PORT/p.json|:$PORT/gone.json|" bag/bag-info.txt
	retag bag
	krun 3 bag validate --fetch-profile bag
	expect_vfinding failure bag/bag-info.txt profile.unreachable
	[[ "$stderr" == *"gone.json: the server answered HTTP 404"* ]] || flunk
	# a bag that names a local file: never read
	cp site/p.json local.json
	sed -i "s|http://127.0.0.1:$PORT/gone.json|$BATS_TEST_TMPDIR/local.json|" bag/bag-info.txt
	retag bag
	krun 3 bag validate --fetch-profile bag
	[[ "$stderr" == *"is not an http:// or https:// URL: not fetched (profile.unreachable)"* ]] || flunk
	sed -i "s|$BATS_TEST_TMPDIR/local.json|file://$BATS_TEST_TMPDIR/local.json|" bag/bag-info.txt
	retag bag
	krun 3 bag validate --fetch-profile bag
	expect_finding_code profile.unreachable
	# a bag that names none
	mkbag plain
	krun 1 bag validate --fetch-profile plain
	expect_vfinding error plain/bag-info.txt profile.identifier-missing
}

@test "bag validate with a malformed or unreachable profile checks nothing: exit 3 or 2" {
	mkbag bag
	printf '{' >bad.json
	krun 3 bag validate --profile bad.json bag
	expect_no_stdout
	[[ "$stderr" == *"bad.json: not a usable BagIt profile"* ]] || flunk
	krun 3 bag validate --profile --fetch-profile bag
	krun 2 bag validate --profile http://127.0.0.1:9/p.json bag
	krun 3 bag validate --fetch-profile --profile http://127.0.0.1:9/p.json bag
	expect_finding_code profile.unreachable
}

# --- kist bag create --profile ---------------------------------------------------------

@test "bag create --profile refuses with the list of what is missing; nothing is moved" {
	mkdir src
	printf 'a\n' >src/a.txt
	mkprofile p.json '"Bag-Info":{"Source-Organization":{"required":true,"values":["York University","SFU"]},"Contact-Name":{"required":true},"Bag-Count":{"required":true},"Payload-Oxum":{"required":true},"Bagging-Date":{"required":true}}'
	krun 1 bag create --profile p.json --info 'Source-Organization: Yale' src
	[[ "$stderr" == *"Contact-Name is required by the profile (profile.info-missing)"* ]] || flunk
	[[ "$stderr" == *"Bag-Count is required by the profile (profile.info-missing)"* ]] || flunk
	[[ "$stderr" == *"Source-Organization: 'Yale' is not a value the profile allows (York University, SFU) (profile.info-value)"* ]] || flunk
	[[ "$stderr" != *Payload-Oxum* ]] || flunk "Payload-Oxum is computed by create"
	[[ "$stderr" == *"src: refused"*"3 problems"*"nothing was moved or written"* ]] || flunk
	[ -f src/a.txt ] && [ ! -e src/data ] && [ ! -e src/bagit.txt ] || flunk "the source was touched"
	krun 0 bag create -q --profile p.json --info 'Source-Organization: SFU' --info 'Contact-Name: Ann' --info 'Bag-Count: 1 of 1' src
	krun 0 bag validate --profile p.json src
}

@test "bag create --profile: the profile's algorithms, tag manifests, identifier" {
	mkdir src
	printf 'a\n' >src/a.txt
	mkprofile p.json '"Manifests-Required":["md5"],"Manifests-Allowed":["md5","sha256"],"Tag-Manifests-Required":["sha1"],"Tag-Manifests-Allowed":["sha1","md5"]'
	krun 0 bag create --profile p.json src bag
	expect_output "bag: bagged 1 file, 2 bytes (md5)"
	[ -f bag/manifest-md5.txt ] && [ ! -e bag/manifest-sha512.txt ] || flunk "manifests: $(ls bag)"
	[ -f bag/tagmanifest-sha1.txt ] && [ -f bag/tagmanifest-md5.txt ] || flunk "tag manifests: $(ls bag)"
	grep -qx 'BagIt-Profile-Identifier: http://example.org/p.json' bag/bag-info.txt
	krun 0 bag validate --profile p.json bag
	expect_output "bag: valid"
	# -a with an algorithm the profile does not allow: refused
	krun 1 bag create -a sha1 --profile p.json src bag2
	expect_finding_code profile.manifest-not-allowed
	[ ! -e bag2 ] || flunk "bag2 was made"
	# -a with an allowed one: both
	krun 0 bag create -q -a sha256 --profile p.json src bag3
	[ -f bag3/manifest-md5.txt ] && [ -f bag3/manifest-sha256.txt ] || flunk
}

@test "bag create --profile: no PREMIS where the profile's tag files leave it out" {
	mkdir src
	printf 'a\n' >src/a.txt
	mkprofile p.json '"Tag-Files-Allowed":["DPN/*"]'
	krun 0 bag create --profile p.json src bag
	[[ "$stderr" == *"does not cover metadata/premis.xml"* ]] || flunk
	[ ! -e bag/metadata ] || flunk "metadata/ written"
	krun 0 bag validate --profile p.json bag
	mkprofile q.json '"Tag-Files-Allowed":["metadata/*"]'
	krun 0 bag create -q --profile q.json src bag2
	[ -f bag2/metadata/premis.xml ] || flunk "no PREMIS"
}

@test "bag create --profile: versions kist cannot make, and rules only the bag made can show" {
	mkdir src
	printf 'a\n' >src/a.txt
	# the Bar example accepts BagIt 0.96 only
	krun 1 bag create --profile "$BAR" --info 'Source-Organization: SFU' src
	expect_finding_code profile.bagit-version
	[ ! -e src/bagit.txt ] || flunk
	# Payload-Files-Required: the bag is made, and reported
	mkprofile p.json '"Payload-Files-Required":["data/LICENSE.txt"]'
	krun 1 bag create --profile p.json src bag
	expect_finding_code profile.payload-missing
	[[ "$stderr" == *"the bag was made, but does not satisfy the profile"* ]] || flunk
	[ -f bag/bagit.txt ] || flunk
	# Serialization required: packed (tests below)
}

@test "bag create --profile: a malformed profile refuses before anything is touched" {
	mkdir src
	printf 'a\n' >src/a.txt
	printf '[]' >bad.json
	krun 3 bag create --profile bad.json src
	[ ! -e src/bagit.txt ] || flunk
	krun 2 bag create --fetch-profile src
	krun 2 bag create --profile http://127.0.0.1:9/p.json src
}

@test "a bag naming a malformed profile cannot be checked against it: profile.unusable, exit 3" {
	mkdir site
	serve site
	printf '{"BagIt-Profile-Info":' >site/p.json
	mkbag bag
	printf 'BagIt-Profile-Identifier: http://127.0.0.1:%s/p.json\n' "$PORT" >>bag/bag-info.txt
	retag bag
	krun 3 bag validate --fetch-profile bag
	expect_vfinding failure bag/bag-info.txt profile.unusable
	[[ "$stderr" == *"is malformed: not JSON"* ]] || flunk
	expect_output "bag: unreadable (1 failure)"
}

@test "bag validate --profile --format json: the profile's findings are the bag's" {
	mkbag bag
	mkprofile p.json '"Manifests-Required":["md5"]'
	krun 1 bag validate --format json --profile p.json bag
	json_ok
	[ "$(json_get 'd["bags"][0]["verdict"]')" = invalid ]
	[ "$(json_get '[f["code"] for f in d["bags"][0]["findings"]]')" = "['profile.identifier-missing', 'profile.manifest-missing']" ]
}

@test "Data-Empty through the command: one empty file passes, more fails" {
	mkdir -p e/data
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' >e/bagit.txt
	printf 'BagIt-Profile-Identifier: http://example.org/p.json\nPayload-Oxum: 0.1\n' >e/bag-info.txt
	: >e/data/.keep
	(cd e && sha256sum data/.keep >manifest-sha256.txt)
	mkprofile p.json '"Data-Empty":true'
	krun 0 bag validate --profile p.json e
	expect_output "e: valid"
	printf 'x' >e/data/more.txt
	(cd e && sha256sum data/.keep data/more.txt >manifest-sha256.txt)
	sed -i 's/Payload-Oxum: 0.1/Payload-Oxum: 1.2/' e/bag-info.txt
	krun 1 bag validate --profile p.json e
	expect_output "e: invalid (1 error)"
	expect_vfinding error e/data profile.data-not-empty
}

@test "bag create --profile --format json: refusals and the check of the bag made are in the document" {
	mkdir src
	printf 'a\n' >src/a.txt
	mkprofile p.json '"Bag-Info":{"Contact-Name":{"required":true}},"Payload-Files-Required":["data/LICENSE.txt"]'
	krun 1 bag create --format json --profile p.json src bag
	json_ok
	[ "$(json_get 'd["bag"]')" = None ]
	[ "$(json_get '[f["code"] for f in d["findings"]]')" = "['profile.info-missing']" ]
	[ ! -e bag ] || flunk "bag made"
	krun 1 bag create --format json --profile p.json --info 'Contact-Name: Ann' src bag
	json_ok
	[ "$(json_get 'd["bag"]')" = bag ]
	[ "$(json_get '[f["code"] for f in d["findings"]]')" = "['profile.payload-missing']" ]
}

@test "bag create --profile with Serialization required packs the bag in an accepted format" {
	mkdir src
	printf 'a\n' >src/a.txt
	mkprofile s.json '"Serialization":"required","Accept-Serialization":["application/x-7z-compressed","application/tar","application/zip"]'
	krun 0 bag create --profile s.json src bag
	expect_line "bag.tar: packed bag"
	krun 0 bag validate --profile s.json bag.tar
	expect_output "bag.tar: valid"
	# the directory itself is not what the profile accepts
	krun 1 bag validate --profile s.json bag
	expect_vfinding error bag profile.serialization-required
	# --pack names the archive: one the profile accepts
	krun 0 bag create -q --profile s.json --pack out.zip src bag2
	krun 0 bag validate --profile s.json out.zip
	krun 1 bag create --profile s.json --pack out.tgz src bag3
	expect_finding_code profile.serialization-not-accepted
	[ ! -e bag3 ] && [ ! -e out.tgz ] || flunk "made anyway"
	# a profile accepting only what kist cannot write
	mkprofile s7.json '"Serialization":"required","Accept-Serialization":["application/x-7z-compressed"]'
	krun 1 bag create --profile s7.json src bag4
	[[ "$stderr" == *"a format kist cannot write"* ]] || flunk
	[ ! -e bag4 ] || flunk
	# Serialization forbidden: --pack refused
	mkprofile nos.json '"Serialization":"forbidden"'
	krun 1 bag create --profile nos.json --pack out2.zip src bag5
	expect_finding_code profile.serialization-forbidden
	[ ! -e bag5 ] || flunk
}

@test "profile check -v lists the rules the profile sets" {
	krun 0 profile check -v "$BAR"
	expect_line "  identifier: http://canadiana.org/standards/bagit/tdr_ingest.json"
	expect_line "  bag-info Contact-Name: required, one of: Mark Jordan | Nick Ruest"
	expect_line "  bag-info Contact-Phone: optional"
	expect_line "  Tag-Files-Allowed: DPN/*"
	expect_line "  fetch.txt: not allowed"
	expect_line "  Accept-BagIt-Version: 0.96"
	mkprofile p.json '"Bag-Info":{"Keyword":{"repeatable":false}},"Data-Empty":true,"Fetch.txt-Required":true,"Manifests-Required":[]'
	krun 0 profile check -v p.json
	expect_line "  bag-info Keyword: optional, once"
	expect_line "  Data-Empty: true"
	expect_line "  fetch.txt: required"
	expect_line "  Manifests-Required: (none)"
	# without -v, the verdict alone
	krun 0 profile check p.json
	expect_output "p.json: ok (BagIt Profiles 1.4.0 rules)"
}
