#!/usr/bin/env bats
# kist checksum -c LIST: verifying lists written by kist, coreutils
# (sha256sum, md5sum, md5sum -b, cksum --tag, b2sum) and BagIt manifests.

load helpers

# Three small files, a, b and "c d".
make_abc() {
	printf 'one\n' >a
	printf 'two\n' >b
	printf 'three\n' >"c d"
	ABC=(a b "c d")
}

expect_all_ok() {
	local f
	for f in "$@"; do
		expect_line "$f: OK"
	done
	[ "${#lines[@]}" -eq "$#" ] || flunk "expected $# lines"
}

# --- lists of every origin ----------------------------------------------------------

@test "kist's own lists verify: each algorithm alone, and all nine tagged in one list" {
	make_abc
	local alg
	for alg in "${ALL_ALGS[@]}"; do
		kist checksum -a "$alg" "${ABC[@]}" >"list.$alg"
		krun 0 checksum -c "list.$alg"
		expect_no_stderr
		expect_all_ok "${ABC[@]}"
	done
	kist checksum -a "$(IFS=,; echo "${ALL_ALGS[*]}")" "${ABC[@]}" >all.txt
	krun 0 checksum -c all.txt
	expect_no_stderr
	# one line per file, not per algorithm, in the list's order
	expect_output "$(printf '%s: OK\n' "${ABC[@]}")"
}

@test "a tree listed by kist verifies, in the list's order" {
	mkdir -p t/s
	printf 1 >t/z
	printf 2 >t/s/y
	printf 3 >t/a
	kist checksum t >list
	krun 0 checksum -c list
	expect_output "$(printf '%s\n' 't/a: OK' 't/s/y: OK' 't/z: OK')"
}

@test "coreutils lists verify: sha256sum, md5sum, sha1sum, sha224sum, sha384sum, sha512sum, b2sum" {
	make_abc
	local tool
	for tool in sha256sum md5sum sha1sum sha224sum sha384sum sha512sum b2sum; do
		"$tool" "${ABC[@]}" >"$tool.out"
	done
	# names that say the algorithm, and names that do not (digest length decides)
	cp sha256sum.out SHA256SUMS
	cp md5sum.out MD5SUMS
	cp b2sum.out B2SUMS
	cp sha512sum.out x.sha512
	cp sha1sum.out sha1.txt
	cp sha384sum.out sha384sum.txt
	local list
	for list in SHA256SUMS MD5SUMS B2SUMS x.sha512 sha1.txt sha384sum.txt \
		sha256sum.out md5sum.out sha1sum.out sha224sum.out sha384sum.out sha512sum.out; do
		krun 0 checksum -c "$list"
		expect_no_stderr
		expect_all_ok "${ABC[@]}"
	done
}

@test "binary-mode lines (md5sum -b, sha256sum -b: 'hex *name') verify" {
	make_abc
	md5sum -b "${ABC[@]}" >MD5SUMS
	grep -q ' \*a$' MD5SUMS
	krun 0 checksum -c MD5SUMS
	expect_all_ok "${ABC[@]}"
	sha256sum -b "${ABC[@]}" >list
	krun 0 checksum -c list
	expect_all_ok "${ABC[@]}"
}

@test "cksum --tag lists verify, one algorithm or several mixed in a list" {
	make_abc
	local alg
	for alg in md5 sha1 sha224 sha256 sha384 sha512 blake2b; do
		cksum --tag -a "$alg" "${ABC[@]}" >"$alg.tag"
		krun 0 checksum -c "$alg.tag"
		expect_no_stderr
		expect_all_ok "${ABC[@]}"
	done
	cat md5.tag sha512.tag blake2b.tag >mixed.tag
	krun 0 checksum -c mixed.tag
	expect_all_ok "${ABC[@]}"
}

@test "untagged lines: the algorithm comes from -a, else the list's name, else the digest's length" {
	make_abc
	# sha3-256 and sha256 digests have the same length
	kist checksum -a sha3-256 "${ABC[@]}" >list.sha3-256
	cp list.sha3-256 plain
	krun 0 checksum -c list.sha3-256
	expect_all_ok "${ABC[@]}"
	krun 0 checksum -c plain -a sha3-256
	expect_all_ok "${ABC[@]}"
	krun 0 checksum -c plain -a SHA3_256
	expect_all_ok "${ABC[@]}"
	# by length, 64 digits is sha256: every file fails
	krun 1 checksum -c plain
	expect_line "a: FAILED"
	expect_code checksum.mismatch
	# blake2b-512 and sha512 too
	b2sum "${ABC[@]}" >b2list
	krun 1 checksum -c b2list
	krun 0 checksum -c b2list -a blake2b
	expect_all_ok "${ABC[@]}"
	cp b2list B2SUMS
	krun 0 checksum -c B2SUMS
	cp b2list blake2b512.txt
	krun 0 checksum -c blake2b512.txt
	# and -a wins over the name
	cp b2list SHA512SUMS
	krun 0 checksum -c SHA512SUMS -a blake2b-512
	expect_all_ok "${ABC[@]}"
}

@test "a list on stdin: -c -" {
	make_abc
	sha256sum "${ABC[@]}" >list
	kin 0 list checksum -c -
	expect_all_ok "${ABC[@]}"
	md5sum "${ABC[@]}" >list
	kin 0 list checksum -c - -a md5
	expect_all_ok "${ABC[@]}"
	# a mismatch through stdin
	printf '%064d  a\n' 0 >bad
	kin 1 bad checksum -c -
	expect_output "a: FAILED"
}

@test "lines: upper-case hex, CRLF endings and a last line without a newline are accepted" {
	make_abc
	sha256sum a | tr a-f A-F | sed 's/  A$/  a/' >upper
	krun 0 checksum -c upper
	expect_output "a: OK"
	sha256sum a b | sed 's/$/\r/' >crlf
	krun 0 checksum -c crlf
	expect_all_ok a b
	sha256sum a b | head -c -1 >nonl
	krun 0 checksum -c nonl
	expect_all_ok a b
}

@test "GNU lists name files relative to the current directory, like sha256sum" {
	mkdir -p sub other
	printf 1 >sub/f
	(cd sub && sha256sum f ../sub/f >../other/list)
	cd sub
	krun 0 checksum -c ../other/list
	expect_all_ok f ../sub/f
}

@test "escaped names from sha256sum (newline, backslash, carriage return) verify" {
	mkdir h
	printf 1 >"h/new"$'\n'"line"
	printf 2 >"h/back\\slash"
	printf 3 >"h/cr"$'\r'
	printf 4 >"h/both\\"$'\n'
	sha256sum h/* >list
	krun 0 checksum -c list
	[ "${#lines[@]}" -eq 4 ] && [ "$(grep -c ': OK$' <<<"$output")" -eq 4 ] || flunk "not 4 OK lines"
	cksum --tag -a sha512 h/* >tags
	krun 0 checksum -c tags
	[ "$(grep -c ': OK$' <<<"$output")" -eq 4 ] || flunk "not 4 OK lines"
}

@test "hostile names round-trip: kist's output verifies with kist -c, whatever the name" {
	mkdir h
	printf 1 >"h/new"$'\n'"line"
	printf 2 >"h/back\\slash"
	printf 3 >"h/both\\"$'\n'"x"
	printf 4 >"h/tab"$'\t'
	printf 5 >"h/ lead"
	printf 6 >"h/trail "
	printf 7 >"h/*star"
	printf 8 >"h/bad"$'\xff'
	printf 9 >"h/paren) = x"
	printf a >"h/cr"$'\r'
	printf b >"h/mid"$'\r'"dle"
	kist checksum h >list 2>/dev/null
	krun 0 checksum -c list
	[ "${#lines[@]}" -eq 11 ] || flunk "expected 11 lines"
	refute_stdout_has FAILED
	kist checksum -a md5,sha256 h >tags 2>/dev/null
	krun 0 checksum -c tags
	refute_stdout_has FAILED
}

# --- failures ---------------------------------------------------------------------------

@test "a mismatch: 'NAME: FAILED', checksum.mismatch on stderr, exit 1; other files still OK" {
	make_abc
	sha256sum "${ABC[@]}" >list
	printf 'changed\n' >b
	krun 1 checksum -c list
	expect_output "$(printf '%s\n' 'a: OK' 'b: FAILED' 'c d: OK')"
	expect_finding error b checksum.mismatch
}

@test "a missing file: 'NAME: FAILED open or read', file.missing on stderr, exit 1" {
	make_abc
	sha256sum "${ABC[@]}" >list
	rm b
	krun 1 checksum -c list
	expect_output "$(printf '%s\n' 'a: OK' 'b: FAILED open or read' 'c d: OK')"
	expect_finding error b file.missing
}

@test "one algorithm of several failing fails the file" {
	make_abc
	{
		cksum --tag -a md5 a b
		cksum --tag -a sha256 a
		printf 'SHA256 (b) = %064d\n' 0
	} >tags
	krun 1 checksum -c tags
	expect_output "$(printf '%s\n' 'a: OK' 'b: FAILED')"
	expect_finding error b checksum.mismatch
}

@test "-q prints only failures; the exit status is unchanged" {
	make_abc
	sha256sum "${ABC[@]}" >list
	krun 0 checksum -q -c list
	expect_no_stdout
	printf 'changed\n' >a
	rm b
	krun 1 checksum -q -c list
	expect_output "$(printf '%s\n' 'a: FAILED' 'b: FAILED open or read')"
	krun 1 checksum --quiet -c list
	expect_output "$(printf '%s\n' 'a: FAILED' 'b: FAILED open or read')"
}

@test "--format json: files with path and status, findings and a summary" {
	make_abc
	sha256sum "${ABC[@]}" >list
	printf 'changed\n' >b
	rm "c d"
	krun 1 checksum -c list --format json
	printf '%s\n' "$output" >out.json
	python3 - <<'EOF' || flunk "JSON content is wrong"
import json
doc = json.load(open("out.json"))
assert [(f["path"], f["status"]) for f in doc["files"]] == [("a", "ok"), ("b", "mismatch"), ("c d", "missing")], doc["files"]
codes = sorted((x["code"], x["severity"], x["path"]) for x in doc["findings"])
assert codes == [("checksum.mismatch", "error", "b"), ("file.missing", "error", "c d")], codes
s = doc["summary"]
assert (s["ok"], s["mismatch"], s["missing"]) == (1, 1, 1), s
EOF
	printf 'two\n' >b
	printf 'three\n' >"c d"
	krun 0 checksum -c list --format json
	python3 -c 'import json,sys; d=json.loads(sys.argv[1]); assert all(f["status"]=="ok" for f in d["files"]) and d["findings"]==[] and d["summary"]["ok"]==3, d' "$output"
}

@test "--format json keeps hostile names exact" {
	mkdir h
	printf 1 >"h/new"$'\n'"line"
	printf 2 >'h/q"uote\'
	sha256sum h/* >list
	krun 0 checksum -c list --format json
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert sorted(f["path"] for f in d["files"]) == sorted(["h/new\nline", "h/q\"uote\\"]), d
assert all(f["status"] == "ok" for f in d["files"]), d' "$output"
}

@test "--format json: a name that is not UTF-8 carries path_bytes, as in checksum --format json" {
	mkdir h
	printf 1 >"h/bad"$'\xff'
	printf 2 >"h/good"
	sha256sum h/* >list
	krun 0 checksum -c list --format json
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
bad, good = d["files"]
assert bad["status"] == "ok" and "\ufffd" in bad["path"], bad
assert bytes.fromhex(bad.get("path_bytes", "")) == b"h/bad\xff", bad
assert good == {"path": "h/good", "status": "ok"}, good' "$output"
}

@test "an empty list is list.empty, exit 1" {
	: >empty.sha256
	krun 1 checksum -c empty.sha256
	expect_no_stdout
	expect_finding error empty.sha256 list.empty
	kin 1 empty.sha256 checksum -c -
	expect_code list.empty
}

@test "a list without one valid line: list.malformed for each bad line, list.empty, exit 1" {
	printf 'garbage\n%s\nzz  name\n' "$(printf '%063d' 0)  short" >junk.sha256
	krun 1 checksum -c junk.sha256
	expect_no_stdout
	expect_finding error junk.sha256 list.malformed
	[ "$(grep -c '(list.malformed)$' <<<"$stderr")" -eq 3 ] || flunk "expected 3 list.malformed findings"
	expect_code list.empty
}

@test "malformed lines among good ones: the good ones are verified, exit 1 with list.malformed" {
	make_abc
	{
		sha256sum a
		echo "this is not a checksum line"
		sha256sum b
		printf '%s\n' "$(sha256sum "c d" | cut -c1-60)  c d"      # digest too short
	} >list.sha256
	krun 1 checksum -c list.sha256
	expect_output "$(printf '%s\n' 'a: OK' 'b: OK')"
	expect_code list.malformed
	[[ "$stderr" == *"line 2"* && "$stderr" == *"line 4"* ]] || flunk "line numbers not given"
}

@test "an unknown algorithm in a tagged line, or a digest the wrong length for its tag, is a finding" {
	make_abc
	{
		printf 'SHA999 (a) = %064d\n' 0
		printf 'SHA256 (b) = %0128d\n' 0
		cksum --tag -a sha256 "c d"
	} >tags
	krun 1 checksum -c tags
	expect_output "c d: OK"
	expect_code list.unknown-algorithm
	expect_code list.malformed
}

@test "a list that does not exist: exit 3, a message on stderr" {
	krun 3 checksum -c nosuch.sha256
	expect_no_stdout
	expect_stderr_has nosuch.sha256
}

@test "an unreadable listed file: 'FAILED open or read', file.unreadable, exit 3" {
	make_abc
	sha256sum "${ABC[@]}" >list
	as_nobody_prepare
	chmod 000 b
	nrun 3 checksum -c list
	expect_output "$(printf '%s\n' 'a: OK' 'b: FAILED open or read' 'c d: OK')"
	expect_finding failure b file.unreadable
	nrun 3 checksum -c list --format json
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert [(f["path"], f["status"]) for f in d["files"]] == [("a", "ok"), ("b", "unreadable"), ("c d", "ok")], d
assert d["summary"]["unreadable"] == 1, d' "$output"
}

@test "a problem in the data outranks a failure to read: missing plus unreadable is exit 1" {
	make_abc
	sha256sum "${ABC[@]}" >list
	rm a
	as_nobody_prepare
	chmod 000 b
	nrun 1 checksum -c list
	expect_output "$(printf '%s\n' 'a: FAILED open or read' 'b: FAILED open or read' 'c d: OK')"
	expect_finding error a file.missing
	expect_finding failure b file.unreadable
}

# --- BagIt manifests ----------------------------------------------------------------------

# make_bag DIR: a small bag with payload names that need care.
make_bag() {
	local d=$1
	mkdir -p "$d/data/sub"
	printf 'x\n' >"$d/data/a b"
	printf 'y' >"$d/data/sub/n"$'\n'"l"
	printf 'z' >"$d/data/p%"
	printf 'w' >"$d/data/c"$'\r'"r"
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' >"$d/bagit.txt"
}

hex256() { sha256sum <"$1" | cut -c1-64; }

@test "a BagIt manifest from --format bagit verifies, paths relative to the manifest, from any directory" {
	make_bag bag
	(cd bag && "$KIST" checksum --format bagit -a sha512 data >manifest-sha512.txt 2>/dev/null)
	(cd bag && "$KIST" checksum --format bagit bagit.txt manifest-sha512.txt >tagmanifest-sha256.txt)
	mkdir elsewhere
	cd elsewhere
	krun 0 checksum -c ../bag/manifest-sha512.txt
	[ "${#lines[@]}" -eq 4 ] || flunk "expected 4 lines"
	refute_stdout_has FAILED
	expect_line "data/a b: OK"
	krun 0 checksum -c "$BATS_TEST_TMPDIR/bag/tagmanifest-sha256.txt"
	expect_all_ok bagit.txt manifest-sha512.txt
	cd ../bag
	krun 0 checksum -c manifest-sha512.txt --format json
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert sorted(f["path"] for f in d["files"]) == sorted(["data/a b", "data/sub/n\nl", "data/p%", "data/c\rr"]), d
assert all(f["status"] == "ok" for f in d["files"]), d' "$output"
}

@test "BagIt manifests: percent-decoding (%0A %0D %25, either case), spaces and tabs between digest and path" {
	make_bag bag
	cd bag
	{
		printf '%s \t data/a b\n' "$(hex256 'data/a b')"
		printf '%s\tdata/sub/n%%0al\n' "$(hex256 data/sub/n$'\n'l)"
		printf '%s    data/p%%25\n' "$(hex256 data/p%)"
		printf '%s  data/c%%0Dr\n' "$(hex256 data/c$'\r'r)"
	} >manifest-sha256.txt
	krun 0 checksum -c manifest-sha256.txt
	[ "${#lines[@]}" -eq 4 ] || flunk "expected 4 lines"
	refute_stdout_has FAILED
	# other percent sequences are not decoded: '%41' names a file called '%41'
	printf q >data/%41
	printf '%s  data/%%41\n' "$(hex256 data/%41)" >manifest-sha256.txt
	krun 0 checksum -c manifest-sha256.txt
	expect_output "data/%41: OK"
}

@test "BagIt manifests: CRLF and lone CR line endings; upper-case hex; md5 and sha1 manifests" {
	make_bag bag
	cd bag
	printf '%s  data/a b\r\n%s  bagit.txt\r' "$(hex256 'data/a b')" "$(hex256 bagit.txt | tr a-f A-F)" >manifest-sha256.txt
	krun 0 checksum -c manifest-sha256.txt
	expect_all_ok "data/a b" bagit.txt
	printf '%s  data/a b\n' "$(md5sum <'data/a b' | cut -c1-32)" >manifest-md5.txt
	krun 0 checksum -c manifest-md5.txt
	expect_output "data/a b: OK"
	printf '%s  data/a b\n' "$(sha1sum <'data/a b' | cut -c1-40)" >tagmanifest-sha1.txt
	krun 0 checksum -c tagmanifest-sha1.txt
	expect_output "data/a b: OK"
	# the manifest's name gives the algorithm: a sha256 digest in a sha3-256 manifest fails
	printf '%s  data/a b\n' "$(hex256 'data/a b')" >manifest-sha3256.txt
	krun 1 checksum -c manifest-sha3256.txt
	expect_output "data/a b: FAILED"
}

@test "BagIt manifests: a mismatch and a missing payload file fail with exit 1" {
	make_bag bag
	cd bag
	kist checksum --format bagit data >manifest-sha256.txt 2>/dev/null
	printf 'changed' >"data/a b"
	rm data/p%
	krun 1 checksum -c manifest-sha256.txt
	expect_line "data/a b: FAILED"
	expect_line "data/p%: FAILED open or read"
	expect_finding error "data/a b" checksum.mismatch
	expect_finding error "data/p%" file.missing
}

@test "BagIt manifests: '..' and absolute paths are manifest.unsafe-path and never opened" {
	make_bag bag
	# Targets outside the bag are FIFOs: opening one would show up as a
	# not-regular-file finding instead of manifest.unsafe-path.
	mkfifo outside
	printf 's' >secret
	cd bag
	local h
	h=$(hex256 ../secret)
	{
		printf '%s  data/../../secret\n' "$h"
		printf '%s  ../outside\n' "$h"
		printf '%s  %s\n' "$h" "$BATS_TEST_TMPDIR/outside"
		printf '%s  %s\n' "$h" "$BATS_TEST_TMPDIR/secret"
		printf '%s  data/a b\n' "$(hex256 'data/a b')"
	} >manifest-sha256.txt
	run --separate-stderr timeout 20 "$KIST" checksum -c manifest-sha256.txt
	expect_status 1
	expect_output "data/a b: OK"
	[ "$(grep -c '(manifest.unsafe-path)$' <<<"$stderr")" -eq 4 ] || flunk "expected 4 manifest.unsafe-path findings"
	refute_stderr_has file.not-regular
	refute_stdout_has secret
}

@test "BagIt manifests: a symlink in the bag pointing out is refused (file.symlink), exit 1" {
	make_bag bag
	printf 's' >secret
	ln -s ../../secret bag/data/link
	cd bag
	printf '%s  data/link\n%s  data/a b\n' "$(hex256 ../secret)" "$(hex256 'data/a b')" >manifest-sha256.txt
	krun 1 checksum -c manifest-sha256.txt
	expect_line "data/link: FAILED open or read"
	expect_line "data/a b: OK"
	refute_line "data/link: OK"
	expect_finding error data/link file.symlink
}

@test "BagIt manifests: a symlinked directory in the bag pointing out is refused (file.symlink), exit 1" {
	make_bag bag
	mkdir outdir
	printf 's' >outdir/secret
	ln -s ../../outdir bag/data/dirlink
	cd bag
	printf '%s  data/dirlink/secret\n' "$(hex256 ../outdir/secret)" >manifest-sha256.txt
	krun 1 checksum -c manifest-sha256.txt
	expect_output "data/dirlink/secret: FAILED open or read"
	expect_finding error data/dirlink/secret file.symlink
}

@test "BagIt manifests: an md5sum-style '*' before the path is a warning, the file is still checked" {
	make_bag bag
	cd bag
	printf '%s *data/a b\n' "$(hex256 'data/a b')" >manifest-sha256.txt
	krun 0 checksum -c manifest-sha256.txt
	expect_output "data/a b: OK"
	expect_code manifest.binary-marker
}
