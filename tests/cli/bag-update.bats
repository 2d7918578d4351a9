load helpers

# require_strace: skips when strace is missing or cannot trace here.
require_strace() {
	command -v strace >/dev/null || skip "no strace (install strace)"
	strace -f -qq -o /dev/null true 2>/dev/null || skip "strace cannot trace here (ptrace not permitted)"
}

# Bags are made here by hand (printf and coreutils' sha*sum), so that what
# update rewrites is checked against tools that are not kist.

# hand_bag DIR ALG...: makes DIR (whose data/ already holds the payload) a
# BagIt 1.0 bag with a payload and a tag manifest for each ALG (md5, sha1,
# sha256, sha512) and a bag-info.txt.
hand_bag() {
	local dir=$1
	shift
	(
		cd "$dir" || exit 1
		printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' >bagit.txt
		printf 'Source-Organization: Example Org\nPayload-Oxum: %s\nContact-Name: A. Person\n' \
			"$(oxum_of data)" >bag-info.txt
		for alg in "$@"; do
			find data -type f -print0 | LC_ALL=C sort -z | xargs -0r "${alg}sum" >"manifest-$alg.txt"
		done
		for alg in "$@"; do
			"${alg}sum" bagit.txt bag-info.txt manifest-*.txt >"tagmanifest-$alg.txt"
		done
	)
}

# oxum_of DIR: "BYTES.FILES" of the regular files under DIR.
oxum_of() {
	find "$1" -type f -printf '%s\n' | awk '{ b += $1; n++ } END { printf "%d.%d\n", b, n }'
}

# payload_bag DIR: a bag with a few files, sha256 and md5.
payload_bag() {
	mkdir -p "$1/data/sub"
	printf 'one\n' >"$1/data/one.txt"
	printf 'two\n' >"$1/data/sub/two.txt"
	printf 'three\n' >"$1/data/sub/three.txt"
	hand_bag "$1" "${@:2}"
}

# py_check_bag BAG: an independent check with python's hashlib: each payload
# manifest (percent-decoded, RFC 8493 2.1.3) lists exactly the files in data/
# with their digests; each tag manifest's lines are right.
py_check_bag() {
	python3 - "$1" <<'EOF'
import hashlib, os, sys
bag = sys.argv[1]
names = {"sha3256": "sha3_256", "sha3512": "sha3_512", "blake2b512": "blake2b"}
def dec(p):
    return p.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
payload = set()
for root, dirs, files in os.walk(os.path.join(bag, "data")):
    for f in files:
        payload.add(os.path.relpath(os.path.join(root, f), bag))
bad = []
for m in sorted(os.listdir(bag)):
    tag = m.startswith("tagmanifest-")
    if not (m.startswith("manifest-") or tag) or not m.endswith(".txt"):
        continue
    alg = m[len("tagmanifest-") if tag else len("manifest-"):-4]
    listed = set()
    for line in open(os.path.join(bag, m), encoding="utf-8", newline="\n"):
        hexd, path = line.rstrip("\n").split("  ", 1)
        path = dec(path)
        listed.add(path)
        h = hashlib.new(names.get(alg, alg), open(os.path.join(bag, path), "rb").read()).hexdigest()
        if h != hexd:
            bad.append(f"{m}: {path}: {hexd} but the file's is {h}")
    if not tag and listed != payload:
        bad.append(f"{m} lists {sorted(listed)}, data/ holds {sorted(payload)}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
EOF
}

# expect_bag_correct BAG: every payload manifest lists exactly the files in
# data/ with correct digests (checked by kist checksum -c and by python),
# every tag manifest is correct, and Payload-Oxum matches data/.
expect_bag_correct() {
	local bag=$1 m
	for m in "$bag"/manifest-*.txt "$bag"/tagmanifest-*.txt; do
		[ -e "$m" ] || continue
		run --separate-stderr "$KIST" checksum -c "$m"
		[ "$status" -eq 0 ] || flunk "kist checksum -c $m failed"
	done
	py_check_bag "$bag" || flunk "the bag's manifests are wrong (python check)"
	grep -qx "Payload-Oxum: $(oxum_of "$bag/data")" "$bag/bag-info.txt" ||
		flunk "Payload-Oxum in $bag/bag-info.txt is not $(oxum_of "$bag/data")"
	if bag_validate_available; then
		run --separate-stderr "$VALIDATOR" bag validate "$bag"
		[ "$status" -eq 0 ] || flunk "kist bag validate $bag failed"
	fi
}

# snapshot BAG: a digest of every file's name and contents (to prove that
# nothing was written).
snapshot() {
	(cd "$1" && find . -type f ! -name '*.kist-tmp.*' -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

# bag_validate_available: does this build have kist bag validate?
# (KIST_TEST_VALIDATOR may name another kist to validate with.)
VALIDATOR=${KIST_TEST_VALIDATOR:-$KIST}
bag_validate_available() {
	! "$VALIDATOR" bag validate bag-that-does-not-exist 2>&1 | grep -q 'not available yet'
}

@test "bag update -h describes the command" {
	krun 0 bag update -h
	expect_stdout_has "usage: kist bag update"
	expect_stdout_has "--remove-algorithm"
}

@test "bag update: usage errors exit 2" {
	krun 2 bag update
	expect_stderr_has "no bag given"
	krun 2 bag update a b
	krun 2 bag update -a nosuchalg bag
	krun 2 bag update -a sha256 --remove-algorithm sha256 bag
	expect_stderr_has "both added"
	krun 2 bag update --format csv bag
}

@test "bag update: a directory that is not a bag exits 1, nothing written" {
	mkdir -p notbag/data
	krun 1 bag update notbag
	[ ! -e notbag/manifest-sha512.txt ]
	[ ! -e notbag/bag-info.txt ]
}

@test "bag update: added, removed, changed and renamed files; counts against the old manifest" {
	payload_bag bag sha256
	printf 'new file\n' >bag/data/added.txt               # added
	rm bag/data/one.txt                                   # removed
	printf 'three, changed\n' >bag/data/sub/three.txt     # changed
	mv bag/data/sub/two.txt bag/data/two-renamed.txt      # renamed: removed + added
	krun 0 bag update bag
	expect_output "bag: updated: 2 added, 2 removed, 1 changed, oxum $(oxum_of bag/data)"
	expect_no_stderr
	expect_bag_correct bag
	grep -q '  data/added.txt$' bag/manifest-sha256.txt
	! grep -q 'one.txt' bag/manifest-sha256.txt
}

@test "bag update: every payload manifest is rewritten, tag manifests cover the new files" {
	payload_bag bag md5 sha1 sha256 sha512
	printf 'x' >bag/data/x.bin
	krun 0 bag update bag
	expect_bag_correct bag
	for alg in md5 sha1 sha256 sha512; do
		grep -q '  data/x.bin$' "bag/manifest-$alg.txt"
		# tag manifest lists every tag file and every payload manifest
		for f in bagit.txt bag-info.txt manifest-md5.txt manifest-sha512.txt; do
			grep -q "  $f\$" "bag/tagmanifest-$alg.txt"
		done
	done
}

@test "bag update: an unchanged bag reports no change and keeps its manifests' bytes" {
	payload_bag bag sha256
	cp bag/manifest-sha256.txt before.txt
	cp bag/bag-info.txt info-before.txt
	krun 0 bag update bag
	expect_output "bag: updated: 0 added, 0 removed, 0 changed, oxum $(oxum_of bag/data)"
	cmp before.txt bag/manifest-sha256.txt
	cmp info-before.txt bag/bag-info.txt
	expect_bag_correct bag
}

@test "bag update: bag-info keeps every other element byte for byte, in order" {
	payload_bag bag sha256
	# folded value, a repeated label, odd spacing, a long line update must not refold
	long=$(printf 'word%.0s ' $(seq 40))
	printf '%s\n' 'Source-Organization: Example Org' \
		'Bag-Size: 1 KB' \
		'External-Description: a value folded' \
		'   onto a continuation line' \
		'Contact-Name: First Person' \
		'Payload-Oxum: 999.9' \
		'Contact-Name: Second Person' \
		"Internal-Sender-Description: $long" \
		'X-Local:no-space-after-colon' >bag/bag-info.txt
	printf 'more payload\n' >bag/data/more.txt
	krun 0 bag update bag
	oxum=$(oxum_of bag/data)
	bytes=${oxum%.*}
	printf '%s\n' 'Source-Organization: Example Org' \
		"Bag-Size: $bytes bytes" \
		'External-Description: a value folded' \
		'   onto a continuation line' \
		'Contact-Name: First Person' \
		"Payload-Oxum: $oxum" \
		'Contact-Name: Second Person' \
		"Internal-Sender-Description: $long" \
		'X-Local:no-space-after-colon' >want.txt
	diff want.txt bag/bag-info.txt
	expect_bag_correct bag
}

@test "bag update: CRLF line endings in bag-info are kept" {
	payload_bag bag sha256
	printf 'Source-Organization: Example\r\nPayload-Oxum: 1.1\r\nContact-Name: A\r\n' >bag/bag-info.txt
	krun 0 bag update bag
	printf 'Source-Organization: Example\r\nPayload-Oxum: %s\r\nContact-Name: A\r\n' \
		"$(oxum_of bag/data)" >want.txt
	cmp want.txt bag/bag-info.txt
}

@test "bag update: a bag-info without Payload-Oxum gains one at the end" {
	payload_bag bag sha256
	printf 'Source-Organization: Example\nContact-Name: A\n' >bag/bag-info.txt
	krun 0 bag update bag
	printf 'Source-Organization: Example\nContact-Name: A\nPayload-Oxum: %s\n' \
		"$(oxum_of bag/data)" >want.txt
	cmp want.txt bag/bag-info.txt
	expect_bag_correct bag
}

@test "bag update: a bag without bag-info.txt gets one with the Payload-Oxum" {
	payload_bag bag sha256
	rm bag/bag-info.txt
	(cd bag && sha256sum bagit.txt manifest-sha256.txt >tagmanifest-sha256.txt)
	krun 0 bag update bag
	[ "$(cat bag/bag-info.txt)" = "Payload-Oxum: $(oxum_of bag/data)" ]
	expect_bag_correct bag
}

@test "bag update: an ISO-8859-1 bag-info keeps its Latin-1 bytes" {
	payload_bag bag sha256
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n' >bag/bagit.txt
	printf 'Source-Organization: Biblioth\xe8que nationale\nPayload-Oxum: 0.0\nContact-Name: Ren\xe9\n' \
		>bag/bag-info.txt
	printf 'new\n' >bag/data/new.txt
	krun 0 bag update bag
	printf 'Source-Organization: Biblioth\xe8que nationale\nPayload-Oxum: %s\nContact-Name: Ren\xe9\n' \
		"$(oxum_of bag/data)" >want.txt
	cmp want.txt bag/bag-info.txt
	expect_bag_correct bag
}

@test "bag update -a adds a manifest and a tag manifest" {
	payload_bag bag sha256
	krun 0 bag update -a sha512 bag
	expect_line "bag: updated: 0 added, 0 removed, 0 changed, oxum $(oxum_of bag/data)"
	expect_line "bag: algorithms: added sha512"
	[ -f bag/manifest-sha512.txt ]
	[ -f bag/tagmanifest-sha512.txt ]
	grep -q '  manifest-sha512.txt$' bag/tagmanifest-sha256.txt
	expect_bag_correct bag
}

@test "bag update --remove-algorithm drops the manifest and the tag manifest" {
	payload_bag bag md5 sha256
	krun 0 bag update --remove-algorithm md5 bag
	expect_line "bag: algorithms: removed md5"
	[ ! -e bag/manifest-md5.txt ]
	[ ! -e bag/tagmanifest-md5.txt ]
	! grep -q 'manifest-md5.txt' bag/tagmanifest-sha256.txt
	expect_bag_correct bag
}

@test "bag update: adding and removing in one run reads each payload file once" {
	require_strace
	payload_bag bag md5 sha1
	random_file bag/data/big.bin 3000000
	ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -o trace.txt -e trace=open,openat,openat2 "$KIST" bag update -j 4 \
		-a sha256,sha512 --remove-algorithm md5 bag
	grep -q 'big.bin' trace.txt || flunk "the trace shows no open of big.bin"
	for f in one.txt two.txt three.txt big.bin; do
		# openat(fd, "NAME", O_RDONLY...) or openat2(fd, "data/.../NAME", {flags=O_RDONLY...
		n=$(grep -E "open(at2?)?\(.*\"(data/(sub/)?)?$f\"" trace.txt | grep -vc 'O_WRONLY' || true)
		[ "$n" -eq 1 ] || flunk "$f was opened $n times for reading"
	done
	[ ! -e bag/manifest-md5.txt ]
	[ ! -e bag/tagmanifest-md5.txt ]
	for alg in sha1 sha256 sha512; do
		[ -f "bag/manifest-$alg.txt" ]
		[ -f "bag/tagmanifest-$alg.txt" ]
	done
	expect_bag_correct bag
}

@test "bag update --format json: counts and the single read" {
	payload_bag bag sha256
	printf 'a\n' >bag/data/a.txt
	rm bag/data/one.txt
	krun 0 bag update --format json -a sha1 bag
	python3 - "$output" <<'EOF'
import json, sys
d = json.loads(sys.argv[1])
assert d["updated"] is True, d
assert (d["added"], d["removed"], d["changed"], d["unchanged"]) == (1, 1, 0, 2), d
assert d["payload_algorithms"] == ["sha1", "sha256"], d
assert d["algorithms_added"] == ["sha1"], d
assert d["files_read"] == 3, d
assert d["findings"] == [], d
EOF
}

@test "bag update -q prints nothing when it works" {
	payload_bag bag sha256
	printf 'a\n' >bag/data/a.txt
	krun 0 bag update -q bag
	expect_no_stdout
	expect_bag_correct bag
}

@test "bag update refuses to remove the last payload algorithm; nothing written" {
	payload_bag bag sha256
	printf 'a\n' >bag/data/a.txt
	before=$(snapshot bag)
	krun 1 bag update --remove-algorithm sha256 bag
	expect_code update.last-algorithm
	[ "$(snapshot bag)" = "$before" ]
	# replacing it in the same run is fine
	krun 0 bag update --remove-algorithm sha256 -a sha512 bag
	[ ! -e bag/manifest-sha256.txt ]
	expect_bag_correct bag
}

@test "bag update: removing an algorithm the bag lacks is a warning" {
	payload_bag bag sha256
	krun 0 bag update --remove-algorithm md5 bag
	expect_code update.algorithm-absent
	expect_bag_correct bag
}

@test "bag update refuses a symlink in data/; nothing written" {
	payload_bag bag sha256
	ln -s one.txt bag/data/link.txt
	before=$(snapshot bag)
	krun 1 bag update bag
	expect_code payload.symlink
	[ "$(snapshot bag)" = "$before" ]
}

@test "bag update refuses a symlinked directory and a dangling symlink" {
	payload_bag bag sha256
	mkdir elsewhere && printf 'x' >elsewhere/x
	ln -s ../../elsewhere bag/data/sub/dir
	krun 1 bag update bag
	expect_code payload.symlink
	rm bag/data/sub/dir
	ln -s nowhere bag/data/dangling
	krun 1 bag update bag
	expect_code payload.symlink
}

@test "bag update refuses a FIFO in data/ and does not hang on it" {
	payload_bag bag sha256
	mkfifo bag/data/pipe
	before=$(snapshot bag)
	run --separate-stderr timeout 20 "$KIST" bag update bag
	expect_status 1
	expect_code payload.special-file
	[ "$(snapshot bag)" = "$before" ]
}

@test "bag update refuses a data/ that is a symlink" {
	payload_bag bag sha256
	mv bag/data realdata
	ln -s ../realdata bag/data
	krun 1 bag update bag
	expect_code payload.no-data-dir
}

@test "bag update refuses names equal once normalized (NFC); nothing written" {
	payload_bag bag sha256
	printf 'composed' >"bag/data/caf$(printf '\xc3\xa9').txt"
	printf 'decomposed' >"bag/data/cafe$(printf '\xcc\x81').txt"
	before=$(snapshot bag)
	krun 1 bag update bag
	expect_code payload.name-clash
	[ "$(snapshot bag)" = "$before" ]
}

@test "bag update refuses names that differ only in case" {
	payload_bag bag sha256
	printf 'a' >bag/data/Report.txt
	printf 'b' >bag/data/report.TXT
	krun 1 bag update bag
	expect_code payload.case-clash
}

@test "bag update: names needing percent-encoding (RFC 8493 2.1.3)" {
	payload_bag bag sha256
	printf 'p' >'bag/data/100% done.txt'
	printf 'n' >"bag/data/line
break.txt"
	krun 0 bag update bag
	grep -q '  data/100%25 done.txt$' bag/manifest-sha256.txt
	grep -q '  data/line%0Abreak.txt$' bag/manifest-sha256.txt
	run --separate-stderr "$KIST" checksum -c bag/manifest-sha256.txt
	expect_status 0
}

@test "bag update refuses, in a pre-1.0 bag, a name only 1.0 can encode" {
	payload_bag bag sha256
	printf 'BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n' >bag/bagit.txt
	printf 'p' >'bag/data/100% done.txt'
	krun 1 bag update bag
	expect_code update.unrepresentable
}

@test "bag update refuses while fetch.txt names files not yet fetched" {
	payload_bag bag sha256
	printf 'https://example.org/f 5 data/remote.bin\n' >bag/fetch.txt
	before=$(snapshot bag)
	krun 1 bag update bag
	expect_code update.fetch-pending
	[ "$(snapshot bag)" = "$before" ]
	# once the file is there, update goes ahead and fetch.txt stays
	printf '12345' >bag/data/remote.bin
	krun 0 bag update bag
	expect_bag_correct bag
	grep -q '  fetch.txt$' bag/tagmanifest-sha256.txt
}

@test "bag update: an empty payload is Payload-Oxum 0.0 and an empty manifest" {
	payload_bag bag sha256
	rm -r bag/data/*
	krun 0 bag update bag
	expect_output "bag: updated: 0 added, 3 removed, 0 changed, oxum 0.0"
	[ ! -s bag/manifest-sha256.txt ]
	grep -qx 'Payload-Oxum: 0.0' bag/bag-info.txt
}

@test "bag update keeps the version of a 0.97 bag" {
	payload_bag bag sha256
	printf 'BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n' >bag/bagit.txt
	cp bag/bagit.txt bagit-before.txt
	printf 'new\n' >bag/data/new.txt
	krun 0 bag update bag
	cmp bagit-before.txt bag/bagit.txt
	expect_bag_correct bag
}

@test "bag update of a 0.95 bag writes Payload-Oxum to package-info.txt" {
	mkdir -p bag/data
	printf 'a\n' >bag/data/a.txt
	(
		cd bag
		printf 'BagIt-Version: 0.95\nTag-File-Character-Encoding: UTF-8\n' >bagit.txt
		printf 'Source-Organization: Old Org\nPayload-Oxum: 2.1\n' >package-info.txt
		md5sum data/a.txt >manifest-md5.txt
	)
	printf 'bb\n' >bag/data/b.txt
	krun 0 bag update bag
	expect_output "bag: updated: 1 added, 0 removed, 0 changed, oxum 5.2"
	[ ! -e bag/bag-info.txt ]
	printf 'Source-Organization: Old Org\nPayload-Oxum: 5.2\n' >want.txt
	cmp want.txt bag/package-info.txt
	(cd bag && md5sum --quiet -c manifest-md5.txt)
	[ "$(wc -l <bag/manifest-md5.txt)" -eq 2 ]
	# the bag had no tag manifest: none is added
	[ ! -e bag/tagmanifest-md5.txt ]
}

# The writes: payload manifests, bag-info, removals, tag manifests last.
# Killing update at each of them must leave a bag whose tag manifests never
# vouch for stale files, and running update again must finish the job.

# tags_vouch_for_stale BAG: every tag manifest verifies, and yet a payload
# manifest or the Payload-Oxum does not describe data/.
tags_vouch_for_stale() {
	local bag=$1 m
	for m in "$bag"/tagmanifest-*.txt; do
		[ -e "$m" ] || return 1
		"$KIST" checksum -q -c "$m" >/dev/null 2>&1 || return 1
	done
	(expect_bag_correct "$bag") >/dev/null 2>&1 && return 1
	return 0
}

@test "bag update killed (SIGKILL) at each write, then rerun, yields a correct bag" {
	require_strace
	payload_bag orig md5 sha256
	printf 'added\n' >orig/data/added.txt
	rm orig/data/one.txt
	printf 'changed\n' >orig/data/sub/two.txt
	for call in renameat unlinkat; do
		for k in 1 2 3 4 5 6; do
			rm -rf bag
			cp -a orig bag
			run env ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -o /dev/null -e trace=$call \
				-e inject=$call:signal=KILL:when=$k \
				"$KIST" bag update -a sha512 --remove-algorithm md5 bag
			if [ "$status" -eq 0 ]; then
				# fewer writes than k: the run finished
				expect_bag_correct bag
				continue
			fi
			[ "$status" -eq 137 ] || flunk "$call #$k: expected SIGKILL (137), got $status"
			# killed before its first write, the bag is as the user left it
			[ "$(snapshot bag)" = "$(snapshot orig)" ] ||
				! tags_vouch_for_stale bag || flunk "$call #$k: tag manifests vouch for stale files"
			krun 0 bag update -a sha512 --remove-algorithm md5 bag
			expect_bag_correct bag
			[ ! -e bag/manifest-md5.txt ] && [ ! -e bag/tagmanifest-md5.txt ]
			[ -e bag/manifest-sha512.txt ] && [ -e bag/tagmanifest-sha512.txt ]
			# no temporary file left behind
			[ -z "$(find bag -maxdepth 1 -name '*.kist-tmp.*')" ] || flunk "temporary files left"
		done
	done
}

@test "bag update killed while hashing writes nothing" {
	payload_bag bag sha256
	random_file bag/data/big.bin 50000000
	before=$(snapshot bag)
	"$KIST" bag update -j 1 -a sha512,sha384,sha3-512 bag &
	pid=$!
	sleep 0.05
	kill -KILL "$pid"
	wait "$pid" || true
	# either killed before any write or it finished; never half
	if [ "$(snapshot bag)" != "$before" ]; then
		tags_vouch_for_stale bag && flunk "tag manifests vouch for stale files"
	fi
	krun 0 bag update -a sha512,sha384,sha3-512 bag
	expect_bag_correct bag
}

@test "bag update: the result passes kist bag validate" {
	bag_validate_available || skip "kist bag validate is not in this build yet"
	payload_bag bag sha256
	printf 'added\n' >bag/data/added.txt
	rm bag/data/one.txt
	run --separate-stderr "$VALIDATOR" bag validate bag
	expect_status 1
	krun 0 bag update -a sha512 bag
	run --separate-stderr "$VALIDATOR" bag validate bag
	expect_status 0
}

@test "bag update refuses to edit UTF-16 tag files; nothing written" {
	payload_bag bag sha256
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-16\n' >bag/bagit.txt
	printf 'Source-Organization: X\nPayload-Oxum: 1.1\n' | iconv -f UTF-8 -t UTF-16 >bag/bag-info.txt
	iconv -f UTF-8 -t UTF-16 bag/manifest-sha256.txt >m.tmp && mv m.tmp bag/manifest-sha256.txt
	rm bag/tagmanifest-sha256.txt
	before=$(snapshot bag)
	krun 3 bag update bag
	expect_code update.encoding
	[ "$(snapshot bag)" = "$before" ]
}

@test "bag update refuses a symlink among the tag files before writing anything" {
	payload_bag bag sha256
	printf 'new\n' >bag/data/new.txt
	mkdir bag/extra-tags
	ln -s ../bagit.txt bag/extra-tags/link.txt
	before=$(snapshot bag)
	krun 1 bag update bag
	expect_code tagfile.not-regular
	[ "$(snapshot bag)" = "$before" ]
}

@test "bag update: tag files in subdirectories are covered by the tag manifests" {
	payload_bag bag sha256
	mkdir bag/extra-tags
	printf 'notes\n' >bag/extra-tags/notes.txt
	krun 0 bag update bag
	grep -q '  extra-tags/notes.txt$' bag/tagmanifest-sha256.txt
	expect_bag_correct bag
}

@test "bag update keeps a UTF-8 byte order mark at the start of bag-info" {
	payload_bag bag sha256
	printf '\xef\xbb\xbfPayload-Oxum: 1.1\nContact-Name: A\n' >bag/bag-info.txt
	krun 0 bag update bag
	printf '\xef\xbb\xbfPayload-Oxum: %s\nContact-Name: A\n' "$(oxum_of bag/data)" >want.txt
	cmp want.txt bag/bag-info.txt
}

@test "bag update --upgrade makes a 0.97 bag a 1.0 bag" {
	payload_bag bag sha256
	printf 'BagIt-Version: 0.97\nTag-File-Character-Encoding: UTF-8\n' >bag/bagit.txt
	# 0.97 tolerated whitespace before the colon; 1.0 does not (RFC 8493 2.2.2)
	printf 'Source-Organization : Old Org\nPayload-Oxum: 1.1\nContact-Name:\tA\n' >bag/bag-info.txt
	(cd bag && sha256sum bagit.txt bag-info.txt manifest-sha256.txt >tagmanifest-sha256.txt)
	printf 'p' >'bag/data/100% done.txt'
	krun 0 bag update --upgrade bag
	expect_line "bag: upgraded from BagIt 0.97 to 1.0"
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n' >want-bagit.txt
	cmp want-bagit.txt bag/bagit.txt
	printf 'Source-Organization: Old Org\nPayload-Oxum: %s\nContact-Name:\tA\n' "$(oxum_of bag/data)" >want.txt
	cmp want.txt bag/bag-info.txt
	grep -q '  data/100%25 done.txt$' bag/manifest-sha256.txt
	expect_bag_correct bag
	# a 1.0 bag is left as it is
	krun 0 bag update --upgrade bag
	refute_stdout_has "upgraded"
}

@test "bag update --upgrade of a 0.95 bag renames package-info.txt to bag-info.txt" {
	mkdir -p bag/data
	printf 'a\n' >bag/data/a.txt
	(
		cd bag
		printf 'BagIt-Version: 0.95\nTag-File-Character-Encoding: UTF-8\n' >bagit.txt
		printf 'Source-Organization: Old Org\nPayload-Oxum: 2.1\n' >package-info.txt
		md5sum data/a.txt >manifest-md5.txt
	)
	krun 0 bag update --upgrade --format json bag
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); assert d["upgraded_from"] == "0.95", d' "$output"
	[ ! -e bag/package-info.txt ]
	printf 'Source-Organization: Old Org\nPayload-Oxum: 2.1\n' >want.txt
	cmp want.txt bag/bag-info.txt
	grep -qx 'BagIt-Version: 1.0' bag/bagit.txt
	expect_bag_correct bag
}

@test "bag update --upgrade refuses a bag whose tag files are not UTF-8" {
	payload_bag bag sha256
	printf 'BagIt-Version: 0.97\nTag-File-Character-Encoding: ISO-8859-1\n' >bag/bagit.txt
	before=$(snapshot bag)
	krun 1 bag update --upgrade bag
	expect_code update.upgrade-encoding
	[ "$(snapshot bag)" = "$before" ]
}

@test "bag update --upgrade killed at each write, then rerun, yields a correct 1.0 bag" {
	require_strace
	mkdir -p orig/data
	printf 'a\n' >orig/data/a.txt
	(
		cd orig
		printf 'BagIt-Version: 0.95\nTag-File-Character-Encoding: UTF-8\n' >bagit.txt
		printf 'Source-Organization: Old Org\nPayload-Oxum: 2.1\n' >package-info.txt
		md5sum data/a.txt >manifest-md5.txt
	)
	printf 'bb\n' >orig/data/b.txt
	for call in renameat unlinkat; do
		for k in 1 2 3 4; do
			rm -rf bag
			cp -a orig bag
			run env ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" strace -f -qq -o /dev/null -e trace=$call -e inject=$call:signal=KILL:when=$k \
				"$KIST" bag update --upgrade -a sha256 bag
			[ "$status" -eq 0 ] || [ "$status" -eq 137 ] || flunk "$call #$k: status $status"
			krun 0 bag update --upgrade -a sha256 bag
			[ ! -e bag/package-info.txt ]
			grep -qx 'BagIt-Version: 1.0' bag/bagit.txt
			expect_bag_correct bag
		done
	done
}

@test "bag update writes the manifests of an ISO-8859-1 bag in ISO-8859-1" {
	payload_bag bag sha256
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n' >bag/bagit.txt
	printf 'x' >"bag/data/caf$(printf '\xc3\xa9').txt"
	krun 0 bag update bag
	# the name in the manifest is the one Latin-1 byte E9
	grep -q "  data/caf$(printf '\xe9').txt\$" bag/manifest-sha256.txt
	! grep -q "$(printf '\xc3\xa9')" bag/manifest-sha256.txt
	sum=$(sha256sum <"bag/data/caf$(printf '\xc3\xa9').txt" | cut -d' ' -f1)
	grep -q "^$sum  " bag/manifest-sha256.txt
	# kist reads it back through the declared encoding
	krun 0 bag info --format json bag
	python3 -c 'import json, sys; d = json.loads(sys.argv[1]); p = d["payload"]
assert p["missing"] == 0 and p["unlisted"] == 0, p' "$output"
	krun 0 bag update bag
	expect_output "bag: updated: 0 added, 0 removed, 0 changed, oxum $(oxum_of bag/data)"
	if bag_validate_available; then
		run --separate-stderr "$VALIDATOR" bag validate bag
		expect_status 0
	fi
}

@test "bag update refuses a name that ISO-8859-1 cannot hold in an ISO-8859-1 bag" {
	payload_bag bag sha256
	printf 'BagIt-Version: 1.0\nTag-File-Character-Encoding: ISO-8859-1\n' >bag/bagit.txt
	printf 'x' >"bag/data/euro-$(printf '\xe2\x82\xac').txt"
	before=$(snapshot bag)
	krun 1 bag update bag
	expect_code update.encoding
	[ "$(snapshot bag)" = "$before" ]
}

@test "bag update refuses a name that is not UTF-8 in a UTF-8 bag" {
	payload_bag bag sha256
	printf 'x' >"bag/data/latin1-$(printf '\xe9').txt"
	krun 1 bag update bag
	expect_code payload.invalid-utf8
}

@test "bag update refuses a malformed bag-info.txt and says nothing was written" {
	payload_bag bag sha256
	printf 'Source-Organization: X\nthis line has no colon\n' >bag/bag-info.txt
	printf 'new\n' >bag/data/new.txt
	before=$(snapshot bag)
	krun 1 bag update bag
	expect_code taginfo.malformed
	expect_stderr_has "not updated"
	[ "$(snapshot bag)" = "$before" ]
}

@test "bag update writes the same bytes whatever the number of threads" {
	payload_bag bag sha256
	for i in $(seq 1 60); do printf 'file %d\n' "$i" >"bag/data/sub/f$i.txt"; done
	random_file bag/data/big.bin 20000000
	cp -a bag bag2
	krun 0 bag update -j 1 -a sha512,md5 bag
	krun 0 bag update -j 8 -a sha512,md5 bag2
	for f in manifest-sha256.txt manifest-sha512.txt manifest-md5.txt bag-info.txt \
		tagmanifest-sha256.txt tagmanifest-sha512.txt tagmanifest-md5.txt; do
		cmp "bag/$f" "bag2/$f"
	done
	expect_bag_correct bag
}

@test "bag update of a bag made by kist bag create" {
	"$KIST" bag create -h 2>&1 | grep -q 'not available yet' && skip "kist bag create is not in this build yet"
	mkdir -p src/sub
	printf 'a\n' >src/a.txt
	printf 'b\n' >src/sub/b.txt
	krun 0 bag create -a sha256,sha512 src bag
	cp bag/bag-info.txt info-before.txt
	printf 'c\n' >bag/data/c.txt
	rm bag/data/a.txt
	printf 'B\n' >bag/data/sub/b.txt
	krun 0 bag update --remove-algorithm sha256 -a md5 bag
	expect_line "bag: updated: 1 added, 1 removed, 1 changed, oxum $(oxum_of bag/data)"
	[ ! -e bag/manifest-sha256.txt ] && [ ! -e bag/tagmanifest-sha256.txt ]
	# only the Payload-Oxum and Bag-Size lines may differ
	diff <(grep -v '^Payload-Oxum:\|^Bag-Size:' info-before.txt) \
		<(grep -v '^Payload-Oxum:\|^Bag-Size:' bag/bag-info.txt)
	expect_bag_correct bag
}
