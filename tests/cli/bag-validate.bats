load helpers

# mkbag DIR [VERSION]: a BagIt bag of two payload files with sha256 and sha512
# manifests, Payload-Oxum and a tag manifest, written with coreutils.
mkbag() {
	local dir=$1 version=${2:-1.0}
	mkdir -p "$dir/data/sub"
	printf 'hello, world\n' >"$dir/data/hello.txt"
	printf '0123456789' >"$dir/data/sub/b.bin"
	(
		cd "$dir" || exit 1
		printf 'BagIt-Version: %s\nTag-File-Character-Encoding: UTF-8\n' "$version" >bagit.txt
		printf 'Payload-Oxum: 23.2\nSource-Organization: kist tests\n' >bag-info.txt
		sha256sum data/hello.txt data/sub/b.bin >manifest-sha256.txt
		sha512sum data/hello.txt data/sub/b.bin >manifest-sha512.txt
		sha256sum bagit.txt bag-info.txt manifest-sha256.txt manifest-sha512.txt >tagmanifest-sha256.txt
	)
}

# retag DIR: rewrite the tag manifest after a tag file changed.
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

# jq-like: python3 expression over the JSON document `d`.
json_get() {
	printf '%s\n' "$output" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(eval(sys.argv[1]))' "$1"
}

@test "kist bag validate -h answers on stdout" {
	krun 0 bag validate -h
	expect_stdout_has "usage: kist bag validate"
	expect_stdout_has "--completeness-only"
	expect_no_stderr
}

@test "a valid bag: one verdict line, nothing on stderr, exit 0" {
	mkbag bag
	krun 0 bag validate bag
	expect_output "bag: valid"
	expect_no_stderr
}

@test "-j 1 and -j 8 agree" {
	mkbag bag
	krun 0 bag validate -j 1 bag
	expect_output "bag: valid"
	krun 0 bag validate -j 8 bag
	expect_output "bag: valid"
}

@test "a changed payload file: invalid, exit 1, the mismatch named on stderr" {
	mkbag bag
	printf '0123456780' >bag/data/sub/b.bin
	krun 1 bag validate bag
	expect_output "bag: invalid (2 errors)"
	expect_vfinding error bag/data/sub/b.bin payload.checksum-mismatch
}

@test "a changed tag file: invalid" {
	mkbag bag
	printf 'Payload-Oxum: 23.2\nSource-Organization: kist test5\n' >bag/bag-info.txt
	krun 1 bag validate bag
	expect_output "bag: invalid (1 error)"
	expect_vfinding error bag/bag-info.txt tag.checksum-mismatch
}

@test "--completeness-only reads no payload: a changed file still complete" {
	mkbag bag
	printf '0123456780' >bag/data/sub/b.bin
	krun 0 bag validate --completeness-only bag
	expect_output "bag: complete"
	refute_stdout_has "valid"
}

@test "--completeness-only: a missing file is incomplete" {
	mkbag bag
	rm bag/data/hello.txt
	krun 1 bag validate --completeness-only bag
	expect_vfinding error bag/data/hello.txt payload.missing
	expect_code payload.oxum-mismatch
	expect_output "bag: incomplete (1 missing)"
}

@test "an unlisted payload file: invalid" {
	mkbag bag
	: >bag/data/extra
	krun 1 bag validate bag
	expect_vfinding error bag/data/extra payload.unlisted
}

@test "--fast says oxum ok, never valid, and reads no payload" {
	mkbag bag
	printf '0123456780' >bag/data/sub/b.bin
	krun 0 bag validate --fast bag
	expect_output "bag: oxum ok"
	refute_stdout_has "valid"
}

@test "--fast: a Payload-Oxum mismatch" {
	mkbag bag
	printf 'more' >>bag/data/hello.txt
	krun 1 bag validate --fast bag
	expect_vfinding error bag/bag-info.txt payload.oxum-mismatch
}

@test "--fast and --completeness-only together: usage error" {
	mkbag bag
	krun 2 bag validate --fast --completeness-only bag
	expect_no_stdout
}

@test "no BAG, an unknown flag, a bad format: usage errors" {
	krun 2 bag validate
	krun 2 bag validate --bogus bag
	krun 2 bag validate --format csv bag
}

@test "not a directory, or nothing there: exit 3" {
	echo x >plain
	krun 3 bag validate plain
	expect_output "plain: unreadable"
	expect_code bag.unreadable
	krun 3 bag validate nothing-here
}

@test "a directory that is not a bag: invalid" {
	mkdir empty
	krun 1 bag validate empty
	expect_code bagit.missing
	expect_output "empty: invalid (1 error)"
}

@test "several bags: one line each; exit 1 if any failed, else 3 if any could not be read" {
	mkbag good
	mkbag bad
	printf 'x' >>bad/data/hello.txt
	krun 1 bag validate good bad
	expect_line "good: valid"
	expect_line "bad: invalid (3 errors)"
	krun 1 bag validate good bad missing
	expect_line "missing: unreadable"
	krun 3 bag validate good missing
	expect_line "good: valid"
	expect_line "missing: unreadable"
}

@test "fetch.txt with a file not fetched yet: incomplete, the file named" {
	mkbag bag
	printf 'https://example.org/b.bin 10 data/sub/b.bin\n' >bag/fetch.txt
	rm bag/data/sub/b.bin
	krun 1 bag validate bag
	expect_output "bag: incomplete (1 to fetch)"
	expect_vfinding error bag/data/sub/b.bin fetch.pending
	refute_code payload.missing
	refute_code payload.oxum-mismatch
	krun 1 bag validate --fast bag
	expect_output "bag: incomplete (1 to fetch)"
	krun 1 bag validate --completeness-only bag
	expect_output "bag: incomplete (1 to fetch)"
}

@test "a missing file alone: incomplete" {
	mkbag bag
	rm bag/data/hello.txt
	printf 'Payload-Oxum: 10.1\nSource-Organization: kist tests\n' >bag/bag-info.txt
	retag bag
	krun 1 bag validate bag
	expect_output "bag: incomplete (1 missing)"
}

@test "--format json: one document, verdicts and findings per bag" {
	mkbag good
	mkbag bad
	printf '0123456780' >bad/data/sub/b.bin
	krun 1 bag validate --format json good bad
	json_ok
	[ "$(json_get 'len(d["bags"])')" = 2 ] || flunk "expected two bags"
	[ "$(json_get 'd["bags"][0]["verdict"]')" = valid ] || flunk "good is not valid"
	[ "$(json_get 'd["bags"][0]["version"]')" = 1.0 ] || flunk "version"
	[ "$(json_get 'd["bags"][0]["payload_files"]')" = 2 ] || flunk "payload_files"
	[ "$(json_get 'd["bags"][0]["payload_bytes"]')" = 23 ] || flunk "payload_bytes"
	[ "$(json_get 'd["bags"][1]["verdict"]')" = invalid ] || flunk "bad is not invalid"
	[ "$(json_get 'sorted({f["code"] for f in d["bags"][1]["findings"]})')" = "['payload.checksum-mismatch']" ] ||
		flunk "bad's findings"
	# findings go into the document, not to stderr
	expect_no_stderr
}

@test "--format json: fast and completeness verdicts, an unreadable bag" {
	mkbag bag
	krun 0 bag validate --format json --fast bag
	json_ok
	[ "$(json_get 'd["bags"][0]["verdict"]')" = "oxum ok" ] || flunk "fast verdict"
	[ "$(json_get 'd["bags"][0]["valid"]')" = False ] || flunk "fast said valid"
	krun 0 bag validate --format json --completeness-only bag
	[ "$(json_get 'd["bags"][0]["verdict"]')" = complete ] || flunk "completeness verdict"
	krun 3 bag validate --format json nothing
	json_ok
	[ "$(json_get 'd["bags"][0]["verdict"]')" = unreadable ] || flunk "unreadable verdict"
	[ "$(json_get 'd["bags"][0]["version"]')" = None ] || flunk "version of nothing"
}

@test "-q: no warnings, no line for a valid bag; failures still said" {
	mkbag weak
	rm weak/tagmanifest-sha256.txt
	krun 0 bag validate weak
	expect_code lint.no-tag-manifest
	krun 0 bag validate -q weak
	expect_no_stdout
	expect_no_stderr
	printf 'x' >>weak/data/hello.txt
	krun 1 bag validate -q weak
	expect_stdout_has "weak: invalid"
	expect_code payload.checksum-mismatch
}

@test "duplicate manifest lines: an error in 1.0, a warning in 0.97" {
	mkbag new 1.0
	tail -n 1 new/manifest-sha256.txt >>new/manifest-sha256.txt
	retag new
	krun 1 bag validate new
	expect_vfinding error new/data/sub/b.bin manifest.duplicate
	mkbag old 0.97
	tail -n 1 old/manifest-sha256.txt >>old/manifest-sha256.txt
	retag old
	krun 0 bag validate old
	expect_output "old: valid"
	expect_vfinding warning old/data/sub/b.bin manifest.duplicate
}

@test "a file missing from one manifest: error in 1.0, lint in 0.97" {
	mkbag new 1.0
	head -n 1 new/manifest-sha512.txt >m && mv m new/manifest-sha512.txt
	retag new
	krun 1 bag validate new
	expect_vfinding error new/data/sub/b.bin manifest.not-in-every
	mkbag old 0.97
	head -n 1 old/manifest-sha512.txt >m && mv m old/manifest-sha512.txt
	retag old
	krun 0 bag validate old
	expect_code lint.manifests-differ
}

@test "manifest paths leaving the bag are refused, nothing outside opened" {
	mkbag bag
	mkfifo outside.fifo
	hex=$(sha256sum <bag/data/hello.txt | cut -d' ' -f1)
	printf '%s  ../outside.fifo\n%s  %s/outside.fifo\n' "$hex" "$hex" "$PWD" >>bag/manifest-sha256.txt
	retag bag
	run --separate-stderr timeout 20 "$KIST" bag validate bag
	[ "$status" -eq 1 ] || flunk "expected exit 1 (124 is a hang on the FIFO)"
	expect_code manifest.unsafe-path
}

@test "a symlink in data/: invalid, not followed" {
	mkbag bag
	echo secret >outside
	ln -s ../../outside bag/data/link
	krun 1 bag validate bag
	expect_vfinding error bag/data/link payload.symlink
}

@test "a byte order mark in bagit.txt: invalid" {
	mkbag bag
	printf '\xef\xbb\xbfBagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' >bag/bagit.txt
	retag bag
	krun 1 bag validate bag
	expect_code bagit.bom
}

@test "an NFD file name listed in NFC: valid with a warning" {
	mkdir -p bag/data
	printf 'coffee' >"bag/data/cafe$(printf '\xcc\x81').txt"
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' >bag/bagit.txt
	printf 'Payload-Oxum: 6.1\n' >bag/bag-info.txt
	hex=$(printf coffee | sha256sum | cut -d' ' -f1)
	printf '%s  data/caf\xc3\xa9.txt\n' "$hex" >bag/manifest-sha256.txt
	(cd bag && sha256sum bagit.txt bag-info.txt manifest-sha256.txt >tagmanifest-sha256.txt)
	krun 0 bag validate bag
	expect_output "bag: valid"
	expect_code manifest.normalization
}

@test "a 0.95 bag with package-info.txt and md5 manifests" {
	mkdir -p bag/data
	printf 'hello\n' >bag/data/a.txt
	printf 'BagIt-Version: 0.95\nTag-File-Character-Encoding: UTF-8\n' >bag/bagit.txt
	printf 'Payload-Oxum: 6.1\n' >bag/package-info.txt
	(cd bag && md5sum data/a.txt >manifest-md5.txt && md5sum bagit.txt package-info.txt manifest-md5.txt >tagmanifest-md5.txt)
	krun 0 bag validate bag
	expect_output "bag: valid"
	expect_code lint.weak-algorithm
}

@test "a bag as bagit-python writes it: valid, no warnings" {
	mkdir -p bag/data/images
	printf 'about\n' >bag/data/README
	printf 'not a jpeg' >"bag/data/images/photo 1.jpg"
	(
		cd bag
		printf 'BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n' >bagit.txt
		printf '%s\n' 'Bag-Software-Agent: bagit.py v1.8.1 <https://github.com/LibraryOfCongress/bagit-python>' \
			'Bagging-Date: 2024-03-01' 'Payload-Oxum: 16.2' >bag-info.txt
		sha256sum data/README "data/images/photo 1.jpg" >manifest-sha256.txt
		sha512sum data/README "data/images/photo 1.jpg" >manifest-sha512.txt
		sha256sum bag-info.txt bagit.txt manifest-sha256.txt manifest-sha512.txt >tagmanifest-sha256.txt
		sha512sum bag-info.txt bagit.txt manifest-sha256.txt manifest-sha512.txt >tagmanifest-sha512.txt
	)
	krun 0 bag validate bag
	expect_output "bag: valid"
	expect_no_stderr
}

@test "an unreadable directory in data/: exit 3, its files not called missing" {
	mkbag bag
	mkdir bag/data/locked
	echo inside >bag/data/locked/f
	(cd bag && sha256sum data/hello.txt data/sub/b.bin data/locked/f >manifest-sha256.txt &&
		sha512sum data/hello.txt data/sub/b.bin data/locked/f >manifest-sha512.txt)
	printf 'Payload-Oxum: 30.3\nSource-Organization: kist tests\n' >bag/bag-info.txt
	retag bag
	krun 0 bag validate bag
	as_nobody_prepare
	chmod 000 bag/data/locked
	nrun 3 bag validate bag
	expect_output "bag: unreadable (1 failure)"
	expect_vfinding failure bag/data/locked payload.unreadable
	refute_code payload.missing
	refute_code payload.oxum-mismatch
}

@test "BAG given with a trailing slash: findings name BAG/data/..." {
	mkbag bag
	ln -s ../bagit.txt bag/data/link
	krun 1 bag validate bag/
	expect_vfinding error bag/data/link payload.symlink
	expect_output "bag/: invalid (1 error)"
}

@test "50,000 files: under 300 bytes resident per file above a small bag" {
	skip_under_valgrind "valgrind's allocator changes the resident figures"
	[ -x /usr/bin/time ] || skip "no /usr/bin/time"
	! ldd "$KIST" 2>/dev/null | grep -q 'libasan\|libtsan\|libmsan' ||
		skip "built with a sanitizer: memory is not what users get"
	python3 - big 50000 <<'PY'
import hashlib, os, sys
root, n = sys.argv[1], int(sys.argv[2])
lines, total = [], 0
for i in range(n):
    d = "data/d%03d" % (i // 1000)
    if i % 1000 == 0:
        os.makedirs(os.path.join(root, d))
    p = "%s/file-%07d.txt" % (d, i)
    b = b"file %d\n" % i
    with open(os.path.join(root, p), "wb") as f:
        f.write(b)
    total += len(b)
    lines.append("%s  %s\n" % (hashlib.sha256(b).hexdigest(), p))
open(os.path.join(root, "manifest-sha256.txt"), "w").write("".join(lines))
open(os.path.join(root, "bagit.txt"), "w").write("BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n")
open(os.path.join(root, "bag-info.txt"), "w").write("Payload-Oxum: %d.%d\n" % (total, n))
PY
	mkbag small
	/usr/bin/time -f %M -o small.rss "$KIST" bag validate -q small
	/usr/bin/time -f %M -o big.rss "$KIST" bag validate -q big
	/usr/bin/time -f %M -o big-c.rss "$KIST" bag validate -q --completeness-only big
	local base big bigc
	base=$(tail -n 1 small.rss) big=$(tail -n 1 big.rss) bigc=$(tail -n 1 big-c.rss)
	# KB above base, per file, in bytes
	(((big - base) * 1024 / 50000 < 300)) || flunk "full: $(((big - base) * 1024 / 50000)) bytes per file"
	(((bigc - base) * 1024 / 50000 < 300)) || flunk "completeness: $(((bigc - base) * 1024 / 50000)) bytes per file"
}

@test "a bag name with a line break: one verdict line, escaped" {
	mkbag "$(printf 'two\nlines')"
	krun 0 bag validate "$(printf 'two\nlines')"
	expect_output 'two\nlines: valid'
}
