#!/usr/bin/env bats
# Hostile inputs (issue 9): crafted bags, XML and signature files. Each case
# must be refused with a clear finding, read or write nothing outside the bag
# (checked with strace when it can run here, and with a canary folder next to
# the bag), and stay within a bounded memory (peak RSS; not under ASan or
# valgrind). The bags are made at test time by tests/hostile/make-case.py.
load ../cli/helpers

MAKE=$KIST_SRCDIR/tests/hostile/make-case.py

setup() {
	kist_setup
	mkdir outside
	printf 'canary: must never be read or written\n' >outside/canary.txt
	# the outside folder's listing and digests, to compare after each run
	outside_before=$(outside_state)
}

outside_state() {
	(cd outside && find . -print0 | LC_ALL=C sort -z | xargs -0 ls -ld --time-style=+%s.%N | awk '{print $1, $5, $6, $7}'
	 find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum)
}

can_strace() {
	command -v strace >/dev/null && strace -f -qq -o /dev/null true 2>/dev/null
}

# hrun STATUS ARGS...: krun under strace (when it can run here), then checks
# that no system call on a path through "outside" succeeded, that nothing
# outside the test's folder appeared, and that the outside folder is as it was.
hrun() {
	local want=$1
	shift
	if can_strace; then
		rm -f trace.*
		run --separate-stderr env ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0" \
			strace -ff -qq -o trace -e trace=%file -e signal=none "$KIST" "$@"
		expect_status "$want"
		# a refused attempt (-1 EXDEV, ELOOP, ENOENT) is fine; a success is not
		# one file per thread (-ff): no call is split over two lines; a
		# symlink's value (readlink) naming outside is not a visit there
		cat trace.[0-9]* >trace.txt && rm -f trace.[0-9]*
		if grep -E '"[^"]*outside[^"]*"' trace.txt | grep -vE '= -1 [A-Z]+|^readlink' | grep -q .; then
			grep -E '"[^"]*outside[^"]*"' trace.txt | grep -vE '= -1 [A-Z]+|^readlink' | head -5 >&2
			flunk "kist reached outside the bag (strace above)"
		fi
	else
		krun "$want" "$@"
	fi
	[ "$(outside_state)" = "$outside_before" ] || flunk "the outside folder changed"
}

# peak_rss_kb ARGS...: kist's peak resident set, in KiB (GNU time).
peak_rss_kb() {
	/usr/bin/time -f '%M' -o rss.txt "${KIST_REAL:-$KIST}" "$@" >/dev/null 2>&1 || true
	tail -1 rss.txt
}

# expect_rss_below MIB ARGS...: peak RSS under MIB MiB (skipped under ASan,
# whose quarantine keeps freed memory, and valgrind).
expect_rss_below() {
	local mib=$1 kb
	shift
	[ -x /usr/bin/time ] || return 0
	[ -z "${KIST_VALGRIND:-}" ] || return 0
	ldd "${KIST_REAL:-$KIST}" 2>/dev/null | grep -q libasan && return 0
	kb=$(peak_rss_kb "$@")
	[ "$kb" -lt $((mib * 1024)) ] || flunk "peak RSS ${kb} KiB, over ${mib} MiB: kist $*"
	echo "# peak RSS ${kb} KiB: kist $*" >&3
}

# --- path traversal --------------------------------------------------------------

@test "manifest paths that leave the bag (../, absolute, percent-encoded ..): each refused, nothing outside read" {
	python3 "$MAKE" manifest-traversal bag
	hrun 1 bag validate bag
	[ "$(grep -c 'manifest.unsafe-path' <<<"$stderr")" -ge 5 ] || flunk "want a manifest.unsafe-path finding per bad line"
	hrun 1 bag validate --completeness-only bag
	expect_code manifest.unsafe-path
	hrun 1 bag info bag
	expect_code manifest.unsafe-path
}

@test "bag update of a bag whose manifest leaves the bag: nothing outside read or written" {
	python3 "$MAKE" manifest-traversal bag
	run --separate-stderr "$KIST" bag update bag
	[ "$status" -eq 0 ] || [ "$status" -eq 1 ] || flunk "exit $status"
	python3 "$MAKE" manifest-traversal bag2
	hrun "$status" bag update bag2
	# the new manifest lists only what is in data/
	! grep -q outside bag2/manifest-sha256.txt || flunk "the unsafe lines were kept"
}

@test "fetch.txt paths that leave the bag: fetch.unsafe-path, nothing outside touched" {
	python3 "$MAKE" fetch-traversal bag
	hrun 1 bag validate bag
	[ "$(grep -c 'fetch.unsafe-path\|fetch.outside-payload' <<<"$stderr")" -ge 4 ] ||
		flunk "want a finding per bad fetch line"
	hrun 1 bag validate --completeness-only bag
}

@test "kist bag fetch on a fetch.txt whose paths leave the bag: refused line by line, nothing fetched or written" {
	python3 "$MAKE" fetch-traversal bag
	# a closed port: a download attempt would fail, not hang
	sed -i 's|http://example.invalid|http://127.0.0.1:9|' bag/fetch.txt
	hrun 1 bag fetch bag
	[ "$(grep -c 'fetch.unsafe-path' <<<"$stderr")" -eq 4 ] || flunk "want a fetch.unsafe-path per line"
	[ ! -e outside/new.txt ] || flunk "written outside"
}

# --- symlinks ------------------------------------------------------------------------

@test "a payload symlink to a file outside, listed with its digest: refused, not followed" {
	python3 "$MAKE" symlink-file bag
	hrun 1 bag validate bag
	expect_code payload.symlink
	hrun 1 bag update bag
}

@test "data/ itself a symlink to a folder outside: refused, nothing read there" {
	python3 "$MAKE" symlink-data bag
	hrun 1 bag validate bag
	hrun 1 bag validate --completeness-only bag
}

@test "tag files that are symlinks to files outside: not read" {
	python3 "$MAKE" symlink-tags bag
	# each is refused as unreadable (O_NOFOLLOW: ELOOP), named; validate's
	# exit is 1 (data/a.txt is then unlisted: an error outranks a failure)
	hrun 1 bag validate bag
	expect_code manifest.unreadable
	expect_code taginfo.unreadable
	expect_code fetch.unreadable
	hrun 3 bag info bag
	hrun 3 bag update bag
}

@test "a symlink to outside in a folder being bagged: not followed, not copied" {
	mkdir src
	printf 'inside\n' >src/in.txt
	ln -s ../outside/canary.txt src/link.txt
	ln -s ../outside src/dirlink
	# refused (exit 1, create.symlink per link) unless --follow-symlinks is given
	hrun 1 bag create src dest
	[ "$(grep -c create.symlink <<<"$stderr")" -eq 2 ] || flunk "want a create.symlink per link"
	[ ! -e dest ] || flunk "a DEST was made"
	hrun 1 bag create src
	[ ! -e src/data ] && [ -L src/link.txt ] && [ -f src/in.txt ] || flunk "SOURCE was changed"
}

# --- names ------------------------------------------------------------------------------

@test "NUL bytes and invalid UTF-8 in manifest names: clear findings, no crash" {
	python3 "$MAKE" bad-names bag
	hrun 1 bag validate bag
	expect_code list.malformed
	[[ "$stderr" == *"NUL byte"* ]] || flunk "the NUL byte is not named"
	# the invalid bytes are shown escaped, never raw on the terminal
	[[ "$stderr" == *'\xff\xfe'* ]] || flunk "the bad name is not shown escaped"
	! grep -q $'\xff' <<<"$stderr" || flunk "raw invalid bytes on stderr"
}

@test "a payload file whose name is not UTF-8: validate and update say so" {
	python3 "$MAKE" bad-file-name bag
	hrun 1 bag validate bag
	hrun 1 bag update bag
	[[ "$stderr" == *UTF-8* ]] || flunk "the message does not say UTF-8"
}

@test "data/ nested 3000 folders deep: no stack overflow, a clear answer" {
	python3 "$MAKE" deep-folders bag
	run --separate-stderr "$KIST" bag validate bag
	[ "$status" -le 3 ] || flunk "exit $status (a crash?)"
	hrun "$status" bag validate bag
	run --separate-stderr "$KIST" bag update bag
	[ "$status" -le 3 ] || flunk "update: exit $status (a crash?)"
}

# --- huge lines ---------------------------------------------------------------------------

@test "a manifest line of 300 MB: skipped with list.line-too-long, memory bounded" {
	python3 "$MAKE" huge-manifest-line bag
	hrun 1 bag validate bag
	expect_code list.line-too-long
	expect_rss_below 64 bag validate bag
}

@test "a fetch.txt line and a bag-info.txt of 300 MB: refused, memory bounded" {
	python3 "$MAKE" huge-tag-files bag
	# tag files are read whole up to 16 MiB: larger ones cannot be read (exit 3)
	hrun 3 bag validate bag
	expect_code fetch.unreadable
	expect_code taginfo.unreadable
	[[ "$stderr" == *fetch.txt* ]] || flunk "nothing about fetch.txt"
	[[ "$stderr" == *bag-info.txt* ]] || flunk "nothing about bag-info.txt"
	expect_rss_below 64 bag validate bag
	expect_rss_below 64 bag info bag
}

# --- XML ------------------------------------------------------------------------------------

@test "premis.xml with an entity bomb: refused, not expanded, memory bounded" {
	python3 "$MAKE" premis-bomb bag
	hrun 1 premis show bag
	[[ "$stderr" == *DOCTYPE* || "$stderr" == *entit* || "$stderr" == *DTD* ]] || flunk "the refusal does not say why"
	hrun 1 premis validate bag
	expect_rss_below 64 premis show bag
	expect_rss_below 64 premis validate bag
	run --separate-stderr "$KIST" bag validate --record bag
	[ "$status" -le 3 ] || flunk "exit $status"
	expect_rss_below 64 bag validate --record bag
	! grep -q "lol9" bag/metadata/premis.xml || grep -q '<!ENTITY' bag/metadata/premis.xml || flunk "expanded"
}

@test "premis.xml with an external entity naming a file outside: the file is never read" {
	python3 "$MAKE" premis-xxe bag
	hrun 1 premis show bag
	hrun 1 premis validate bag
	hrun 1 premis events bag
	run --separate-stderr "$KIST" bag validate --record bag
	hrun "$status" bag validate --record bag
	! grep -q "must never be read" bag/metadata/premis.xml || flunk "the canary's text is in premis.xml"
}

@test "premis.xml nested 100,000 elements deep: refused, no stack overflow" {
	python3 "$MAKE" premis-deep bag
	hrun 1 premis show bag
	run --separate-stderr "$KIST" premis validate bag
	[ "$status" -eq 1 ] || [ "$status" -eq 3 ] || flunk "exit $status"
	expect_rss_below 64 premis show bag
}

@test "a DROID signature file with an entity bomb or an external entity: refused (exit 3), outside never read" {
	python3 "$MAKE" signature-xml sigs
	printf 'x' >file.bin
	hrun 3 identify --signatures sigs/bomb.xml --no-containers file.bin
	[[ "$stderr" == *DOCTYPE* || "$stderr" == *entity* ]] || flunk "the refusal does not say why"
	hrun 3 identify --signatures sigs/xxe.xml --no-containers file.bin
	hrun 3 identify --container-signatures sigs/container-xxe.xml file.bin
	expect_rss_below 64 identify --signatures sigs/bomb.xml --no-containers file.bin
}

# --- archives (serialized bags) ---------------------------------------------------------------

# nothing named escape.txt or through.txt anywhere but inside the archive
expect_nothing_escaped() {
	local found
	found=$(find . \( -name escape.txt -o -name through.txt \) ! -path './cases/*' | head -3)
	[ -z "$found" ] || flunk "written outside: $found"
}

@test "a tar whose entries leave the bag (../, absolute, through a symlink, a hard link out): unpack refuses, writes nothing outside" {
	python3 "$MAKE" tar-traversal cases
	mkdir dest
	hrun 1 bag unpack cases/evil.tar dest
	[[ "$stderr" == *escape.txt* ]] || flunk "the bad entry is not named"
	[ -z "$(ls -A dest)" ] || flunk "left in DEST: $(ls -A dest)"
	expect_nothing_escaped
	hrun 1 bag validate cases/evil.tar
	expect_nothing_escaped
}

@test "a zip whose entries leave the bag: unpack refuses, writes nothing outside" {
	python3 "$MAKE" zip-traversal cases
	mkdir dest
	hrun 1 bag unpack cases/evil.zip dest
	[[ "$stderr" == *escape.txt* ]] || flunk "the bad entry is not named"
	[ -z "$(ls -A dest)" ] || flunk "left in DEST: $(ls -A dest)"
	expect_nothing_escaped
	hrun 1 bag validate cases/evil.zip
}

@test "a zip bomb (1 GiB of zeros in 1 MiB): unpack stops at the ratio limit, memory bounded" {
	python3 "$MAKE" zip-bomb cases
	mkdir dest
	run --separate-stderr "$KIST" bag unpack cases/bomb.zip dest
	expect_status 1
	expect_code archive.bomb
	[ -z "$(ls -A dest)" ] || flunk "left in DEST: $(ls -A dest)"
	expect_rss_below 64 bag unpack cases/bomb.zip dest
	expect_rss_below 64 bag validate cases/bomb.zip
}

# --- JSON (BagIt profiles) ----------------------------------------------------------------------

@test "a profile nested 100,000 deep, or of 300 MB: refused with a finding, no stack overflow, memory bounded" {
	python3 "$MAKE" profile-deep cases
	hrun 1 profile check cases/deep.json
	expect_code profile.malformed
	[[ "$stderr" == *nested* ]] || flunk "the refusal does not say nested"
	hrun 1 profile check cases/deep-object.json
	run --separate-stderr "$KIST" profile check cases/huge.json
	[ "$status" -eq 1 ] || [ "$status" -eq 3 ] || flunk "exit $status"
	expect_rss_below 64 profile check cases/deep.json
	expect_rss_below 64 profile check cases/huge.json
	python3 "$MAKE" manifest-traversal bag
	run --separate-stderr "$KIST" bag validate --profile cases/deep.json bag
	[ "$status" -ge 1 ] && [ "$status" -le 3 ] || flunk "exit $status"
}
