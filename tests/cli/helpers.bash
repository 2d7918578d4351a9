# Shared setup and assertions for the kist CLI tests (bats 1.8.2, TAP).
#
# Every .bats file starts with `load helpers`. Nothing external is loaded.
#
# Under `make check`, KIST is the built binary and KIST_SRCDIR the source
# tree. Run by hand (`bats tests/cli/checksum.bats`), both default to the
# tree this file is in.

bats_require_minimum_version 1.5.0

if [ -z "${KIST_SRCDIR:-}" ]; then
	KIST_SRCDIR=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
fi
: "${KIST:=$KIST_SRCDIR/kist}"
# tests cd into their own directory
case $KIST in /*) ;; *) KIST=$PWD/$KIST ;; esac
export KIST KIST_SRCDIR

# KIST_VALGRIND=1: every kist run goes through valgrind memcheck; a memory
# error or a definite leak exits 99, which no test expects. The process is
# valgrind itself (exec: a kill reaches it); its report goes to
# $KIST_VALGRIND_LOGS/kist.PID.log (.ci/run shows those with errors).
if [ -n "${KIST_VALGRIND:-}" ] && [ -z "${KIST_REAL:-}" ]; then
	KIST_REAL=$KIST
	: "${KIST_VALGRIND_LOGS:=${TMPDIR:-/tmp}/kist-valgrind-logs}"
	mkdir -p "$KIST_VALGRIND_LOGS" && chmod 1777 "$KIST_VALGRIND_LOGS"   # tests run kist as nobody too
	KIST=$BATS_RUN_TMPDIR/kist-valgrind
	printf '#!/bin/sh\nexec valgrind -q --max-threads=1100 --log-file="%s/kist.%%p.log" --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite "%s" "$@"\n' \
		"$KIST_VALGRIND_LOGS" "$KIST_REAL" >"$KIST.new" && chmod 755 "$KIST.new" && mv "$KIST.new" "$KIST"
	export KIST_REAL KIST KIST_VALGRIND_LOGS
fi

# skip_under_valgrind REASON: for tests of timing or memory figures that
# valgrind's slowdown and its own allocator make meaningless.
skip_under_valgrind() {
	[ -z "${KIST_VALGRIND:-}" ] || skip "under valgrind: $1"
}

# Deterministic messages and byte-order sorting; no progress forcing from the
# caller's environment.
export LC_ALL=C.UTF-8
unset KIST_PROGRESS_DELAY_MS

# The reference digest tools, by kist algorithm name.
declare -gA REF_TOOL=(
	[md5]=md5sum [sha1]=sha1sum [sha224]=sha224sum [sha256]=sha256sum
	[sha384]=sha384sum [sha512]=sha512sum [blake2b-512]=b2sum
)
ALL_ALGS=(md5 sha1 sha224 sha256 sha384 sha512 sha3-256 sha3-512 blake2b-512)

# --- setup -------------------------------------------------------------------

kist_setup() {
	if [ ! -x "$KIST" ]; then
		echo "kist not found or not executable: $KIST (run make, or set KIST)" >&2
		return 1
	fi
	# BATS_TEST_TMPDIR is a fresh directory for every test.
	cd "$BATS_TEST_TMPDIR" || return 1
}

kist_teardown() {
	# chmod 000 leftovers must not stop bats from cleaning up.
	chmod -R u+rwX "$BATS_TEST_TMPDIR" 2>/dev/null || true
}

setup() { kist_setup; }
teardown() { kist_teardown; }

kist() { "$KIST" "$@"; }

# --- running -----------------------------------------------------------------

# krun STATUS ARGS...: runs kist with stdout in $output/$lines and stderr in
# $stderr/$stderr_lines, and checks the exit status.
krun() {
	local want=$1
	shift
	run --separate-stderr "$KIST" "$@"
	expect_status "$want"
}

# kin STATUS INPUT ARGS...: like krun, with INPUT (a file) on stdin.
kin() {
	local want=$1 input=$2
	shift 2
	run --separate-stderr bash -c '"$KIST" "$@" <"$0"' "$input" "$@"
	expect_status "$want"
}

show_run() {
	echo "-- exit status: $status"
	echo "-- stdout:"
	printf '%s\n' "$output"
	echo "-- stderr:"
	printf '%s\n' "${stderr-}"
	echo "--"
}

flunk() {
	# a raw CR would garble the report: shown as <CR>
	{
		printf '%s\n' "$@"
		show_run
	} | sed 's/\r/<CR>/g' >&2
	return 1
}

expect_status() {
	[ "$status" -eq "$1" ] || flunk "expected exit status $1, got $status"
}

# Exact stdout (without the trailing newlines command substitution drops).
expect_output() {
	[ "$output" = "$1" ] || flunk "stdout differs; expected:" "$1"
}

expect_output_file() {
	local want
	want=$(cat "$1")
	[ "$output" = "$want" ] || flunk "stdout differs from $1, which holds:" "$want"
}

expect_no_stderr() {
	[ -z "${stderr-}" ] || flunk "expected nothing on stderr"
}

expect_no_stdout() {
	[ -z "$output" ] || flunk "expected nothing on stdout"
}

# expect_line TEXT: some stdout line is exactly TEXT.
expect_line() {
	local l
	for l in "${lines[@]}"; do
		[ "$l" = "$1" ] && return 0
	done
	flunk "no stdout line is exactly: $1"
}

refute_line() {
	local l
	for l in "${lines[@]}"; do
		[ "$l" = "$1" ] && flunk "unexpected stdout line: $1"
	done
	return 0
}

expect_stdout_has() {
	[[ "$output" == *"$1"* ]] || flunk "stdout does not contain: $1"
}

refute_stdout_has() {
	[[ "$output" != *"$1"* ]] || flunk "stdout unexpectedly contains: $1"
}

expect_stderr_has() {
	[[ "${stderr-}" == *"$1"* ]] || flunk "stderr does not contain: $1"
}

refute_stderr_has() {
	[[ "${stderr-}" != *"$1"* ]] || flunk "stderr unexpectedly contains: $1"
}

# expect_finding SEVERITY PATH CODE: a finding line on stderr, as
# "kist checksum: SEVERITY: PATH: message (CODE)". PATH as printed (escaped).
expect_finding() {
	local sev=$1 path=$2 code=$3 l
	for l in "${stderr_lines[@]}"; do
		if [[ "$l" == "kist checksum: $sev: $path: "*" ($code)" ]]; then
			return 0
		fi
	done
	flunk "no finding '$sev: $path: ... ($code)' on stderr"
}

# expect_code CODE: some finding on stderr has this code, whatever its path.
expect_code() {
	local l
	for l in "${stderr_lines[@]}"; do
		[[ "$l" == *" ($1)" ]] && return 0
	done
	flunk "no finding with code $1 on stderr"
}

refute_code() {
	local l
	for l in "${stderr_lines[@]}"; do
		[[ "$l" == *" ($1)" ]] && flunk "unexpected finding with code $1"
	done
	return 0
}

# --- reference digests ---------------------------------------------------------

# py_hex ALG FILE...: one hex digest per file, from python3's hashlib.
py_hex() {
	python3 - "$@" <<'EOF'
import hashlib, sys
names = {"sha3-256": "sha3_256", "sha3-512": "sha3_512", "blake2b-512": "blake2b"}
alg = names.get(sys.argv[1], sys.argv[1])
for f in sys.argv[2:]:
    h = hashlib.new(alg)
    with open(f, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    print(h.hexdigest())
EOF
}

# py_all_hex FILE: "ALG HEX" for each of the nine algorithms.
py_all_hex() {
	python3 - "$1" <<'EOF'
import hashlib, sys
data = open(sys.argv[1], "rb").read()
for name, py in [("md5", "md5"), ("sha1", "sha1"), ("sha224", "sha224"), ("sha256", "sha256"),
                 ("sha384", "sha384"), ("sha512", "sha512"), ("sha3-256", "sha3_256"),
                 ("sha3-512", "sha3_512"), ("blake2b-512", "blake2b")]:
    print(name, hashlib.new(py, data).hexdigest())
EOF
}

# py_tagged ALG,... FILE...: the tagged lines kist should print, from hashlib:
# for each file, one "TAG (name) = hex" line per algorithm, in kist's fixed
# algorithm order whatever the order given. Plain names only (no escaping).
py_tagged() {
	python3 - "$@" <<'EOF'
import hashlib, sys
order = [("md5", "MD5", "md5"), ("sha1", "SHA1", "sha1"), ("sha224", "SHA224", "sha224"),
         ("sha256", "SHA256", "sha256"), ("sha384", "SHA384", "sha384"),
         ("sha512", "SHA512", "sha512"), ("sha3-256", "SHA3-256", "sha3_256"),
         ("sha3-512", "SHA3-512", "sha3_512"), ("blake2b-512", "BLAKE2b", "blake2b")]
want = set(sys.argv[1].split(","))
for f in sys.argv[2:]:
    data = open(f, "rb").read()
    for name, tag, py in order:
        if name in want:
            print(f"{tag} ({f}) = {hashlib.new(py, data).hexdigest()}")
EOF
}

# random_file NAME BYTES: BYTES random bytes.
random_file() {
	head -c "$2" /dev/urandom >"$1"
}

# --- privileges and terminals ----------------------------------------------------

# Tests of unreadable files and directories: root reads everything, so when
# root, run kist as nobody (65534) with setpriv; otherwise chmod 000 works as is.
# as_nobody_prepare: makes the test directory readable by nobody, or skips.
# Call it after creating the files and before taking permissions away.
as_nobody_prepare() {
	[ "$(id -u)" -eq 0 ] || return 0
	command -v setpriv >/dev/null || skip "running as root and setpriv (util-linux) is missing"
	chmod -R o+rX "$PWD"
	# Only directories bats made for this run are opened up.
	local d=$PWD
	while [ -n "$d" ] && [ "$d" != / ]; do
		case "$d/" in
		"$BATS_RUN_TMPDIR"/*) chmod o+rx "$d" ;;
		esac
		d=${d%/*}
	done
	# A build tree under a private folder (mktemp -d) is out of nobody's
	# reach: run a copy of kist, and of its data files, from this run's folder.
	if [ -n "${KIST_REAL:-}" ] &&
		! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$KIST_REAL"; then
		# under valgrind: the wrapper must run a copy nobody can reach
		cp "$KIST_REAL" "$BATS_RUN_TMPDIR/kist-real-as-nobody" &&
			chmod 755 "$BATS_RUN_TMPDIR/kist-real-as-nobody" &&
			sed "s|\"$KIST_REAL\"|\"$BATS_RUN_TMPDIR/kist-real-as-nobody\"|" "$KIST" \
				>"$BATS_RUN_TMPDIR/kist-valgrind-as-nobody" &&
			chmod 755 "$BATS_RUN_TMPDIR/kist-valgrind-as-nobody" &&
			KIST=$BATS_RUN_TMPDIR/kist-valgrind-as-nobody
	elif ! setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$KIST"; then
		cp "$KIST" "$BATS_RUN_TMPDIR/kist-as-nobody" && chmod 755 "$BATS_RUN_TMPDIR/kist-as-nobody" &&
			KIST=$BATS_RUN_TMPDIR/kist-as-nobody
	fi
	if [ -n "${KIST_DATADIR:-}" ] &&
		! setpriv --reuid=65534 --regid=65534 --clear-groups test -r "$KIST_DATADIR/pronom/README.md"; then
		rm -rf "$BATS_RUN_TMPDIR/kist-data-as-nobody"
		cp -r "$KIST_DATADIR" "$BATS_RUN_TMPDIR/kist-data-as-nobody" &&
			chmod -R o+rX "$BATS_RUN_TMPDIR/kist-data-as-nobody" &&
			export KIST_DATADIR=$BATS_RUN_TMPDIR/kist-data-as-nobody
	fi
	setpriv --reuid=65534 --regid=65534 --clear-groups test -x "$KIST" -a -r . ||
		skip "kist or the test directory is out of reach of uid 65534"
}

# as_nobody CMD...: CMD as nobody when root, else as is.
as_nobody() {
	if [ "$(id -u)" -eq 0 ]; then
		setpriv --reuid=65534 --regid=65534 --clear-groups "$@"
	else
		"$@"
	fi
}

# nrun STATUS ARGS...: krun as nobody.
nrun() {
	local want=$1
	shift
	run --separate-stderr as_nobody "$KIST" "$@"
	expect_status "$want"
}

# tty_sh 'SHELL COMMAND': runs it with a terminal on stdin, stdout and stderr
# (util-linux script) and prints what the terminal received. Redirect stdout
# inside the command to see only stderr.
tty_sh() {
	SHELL=/bin/bash script -qec "$1" /dev/null </dev/null
}

# require_pty: skips the test when no pseudo-terminal can be had.
require_pty() {
	command -v script >/dev/null || skip "no script (util-linux)"
	[ "$(tty_sh 'tty >/dev/null && echo yes' 2>/dev/null | tr -d '\r')" = yes ] ||
		skip "no pseudo-terminal available"
}

# q WORD: WORD quoted for a shell command line.
q() { printf '%q' "$1"; }
