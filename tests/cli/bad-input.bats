#!/usr/bin/env bats
# kist checksum against hostile and broken input: unreadable files and
# directories, FIFOs, sockets, devices, symlink loops, odd names, hostile
# manifests and lists, files that change while read. Anything that could hang
# runs under timeout.

load helpers

# t/ with two plain files, a and z.
make_tree() {
	mkdir -p t
	printf 'a\n' >t/a
	printf 'z\n' >t/z
}

# krun with a time limit: a hang is a failure (exit 124), not a stuck suite.
trun() {
	local want=$1
	shift
	run --separate-stderr timeout 20 "$KIST" "$@"
	[ "$status" -ne 124 ] || flunk "kist hung (killed after 20 s)"
	expect_status "$want"
}

# --- permissions ---------------------------------------------------------------------

@test "an unreadable file among others: the others are hashed, file.unreadable, exit 3" {
	make_tree
	printf 'secret\n' >t/m
	as_nobody_prepare
	chmod 000 t/m
	nrun 3 checksum t
	expect_output "$(sha256sum t/a t/z)"
	expect_finding failure t/m file.unreadable
}

@test "an unreadable file as the only argument: exit 3, nothing on stdout" {
	printf 'secret\n' >f
	as_nobody_prepare
	chmod 000 f
	nrun 3 checksum f
	expect_no_stdout
	expect_finding failure f file.unreadable
	nrun 3 checksum --format json f
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["files"] == [] and [x["code"] for x in d["findings"]] == ["file.unreadable"], d' "$output"
}

@test "a directory without permission inside the tree: walk.unreadable, exit 3, the rest hashed" {
	make_tree
	mkdir t/locked
	printf 'hidden\n' >t/locked/h
	as_nobody_prepare
	chmod 000 t/locked
	nrun 3 checksum t
	expect_output "$(sha256sum t/a t/z)"
	expect_finding failure t/locked walk.unreadable
}

@test "a directory that can be listed but not entered: its files are unreadable, exit 3" {
	make_tree
	mkdir t/noexec
	printf 'hidden\n' >t/noexec/h
	as_nobody_prepare
	chmod 444 t/noexec
	nrun 3 checksum t
	expect_output "$(sha256sum t/a t/z)"
	refute_stdout_has t/noexec
}

@test "an unreadable directory given as the argument: exit 3" {
	make_tree
	as_nobody_prepare
	chmod 000 t
	nrun 3 checksum t
	expect_no_stdout
	[[ "$stderr" == *"kist checksum: failure: t: "* ]] || flunk "no failure finding for t"
}

# --- special files ------------------------------------------------------------------------

@test "a FIFO in a tree is skipped with walk.special-file, never read (no hang), exit 0" {
	make_tree
	mkfifo t/fifo
	trun 0 checksum t
	expect_output "$(sha256sum t/a t/z)"
	expect_finding warning t/fifo walk.special-file
}

@test "a FIFO given as the argument, or reached with -L, is skipped without hanging" {
	make_tree
	mkfifo fifo
	ln -s ../fifo t/link
	trun 0 checksum fifo
	expect_no_stdout
	expect_finding warning fifo walk.special-file
	trun 0 checksum -L t
	expect_output "$(sha256sum t/a t/z)"
	expect_finding warning t/link walk.special-file
}

@test "a FIFO in a manifest or list is not read (no hang)" {
	make_tree
	mkfifo t/fifo
	printf '%064d  t/fifo\n' 0 >list
	sha256sum t/a >>list
	trun 3 checksum -c list
	expect_line "t/fifo: FAILED open or read"
	expect_line "t/a: OK"
}

@test "a socket is skipped with walk.special-file, exit 0" {
	make_tree
	python3 -c 'import socket; socket.socket(socket.AF_UNIX).bind("t/sock")'
	[ -S t/sock ]
	trun 0 checksum t
	expect_output "$(sha256sum t/a t/z)"
	expect_finding warning t/sock walk.special-file
	trun 0 checksum t/sock
	expect_no_stdout
	expect_finding warning t/sock walk.special-file
}

@test "a device given as the argument (/dev/null, /dev/zero) is skipped, never read" {
	trun 0 checksum /dev/null
	expect_no_stdout
	expect_finding warning /dev/null walk.special-file
	# /dev/zero never ends: reading it would hang
	trun 0 checksum /dev/zero
	expect_no_stdout
	expect_finding warning /dev/zero walk.special-file
}

# --- symlinks -------------------------------------------------------------------------------

@test "symlink loops with -L: walk.symlink-loop warnings, no hang, every real file once, exit 0" {
	make_tree
	mkdir -p t/sub/deeper
	printf 'd\n' >t/sub/deeper/d
	ln -s . t/self
	ln -s .. t/sub/up
	ln -s ../.. t/sub/deeper/top
	trun 0 checksum -L t
	expect_output "$(sha256sum t/a t/sub/deeper/d t/z)"
	expect_finding warning t/self walk.symlink-loop
	expect_finding warning t/sub/up walk.symlink-loop
	expect_finding warning t/sub/deeper/top walk.symlink-loop
}

@test "symlinks that point at each other's directories with -L terminate" {
	mkdir -p t/x t/y
	printf 1 >t/x/f
	printf 2 >t/y/g
	ln -s ../y t/x/to-y
	ln -s ../x t/y/to-x
	trun 0 checksum -L t
	expect_code walk.symlink-loop
	expect_line "$(sha256sum t/x/f)"
	expect_line "$(sha256sum t/y/g)"
	# the same run again gives the same output
	local first=$output
	trun 0 checksum -L t
	expect_output "$first"
}

@test "a symlink that resolves to itself (ELOOP) with -L is a symlink loop, a warning: exit 0" {
	make_tree
	ln -s self t/self
	ln -s pong t/ping
	ln -s ping t/pong
	trun 0 checksum -L t
	expect_output "$(sha256sum t/a t/z)"
	expect_finding warning t/self walk.symlink-loop
	expect_finding warning t/ping walk.symlink-loop
	refute_code walk.dangling-symlink
}

@test "a dangling symlink: a walk.symlink warning without -L; walk.dangling-symlink and exit 1 with -L" {
	make_tree
	ln -s nowhere t/dangling
	trun 0 checksum t
	expect_output "$(sha256sum t/a t/z)"
	expect_finding warning t/dangling walk.symlink
	trun 1 checksum -L t
	expect_output "$(sha256sum t/a t/z)"
	expect_finding error t/dangling walk.dangling-symlink
}

@test "a dangling symlink given as the argument is a missing file: exit 1" {
	ln -s nowhere link
	trun 1 checksum link
	expect_no_stdout
	expect_finding error link file.missing
}

# --- names ----------------------------------------------------------------------------------

@test "names with a newline or invalid UTF-8 are hashed, with path.line-break and path.invalid-utf8" {
	mkdir t
	printf 1 >"t/new"$'\n'"line"
	printf 2 >"t/lat1-"$'\xe9'".txt"
	printf 3 >"t/trunc"$'\xe2\x82'
	printf 4 >"t/over"$'\xc0\xaf'
	printf 5 >"t/cr"$'\r'"x"
	trun 0 checksum t
	[ "${#lines[@]}" -eq 5 ] || flunk "expected 5 lines"
	local f
	for f in t/new$'\n'line t/lat1-$'\xe9'.txt t/trunc$'\xe2\x82' t/over$'\xc0\xaf'; do
		expect_stdout_has "$(sha256sum "$f")"
	done
	# (how a CR in a name is written is checked in checksum.bats)
	expect_stdout_has "$(printf 5 | sha256sum | cut -c1-64)"
	expect_finding warning 't/new\nline' path.line-break
	expect_finding warning 't/cr\rx' path.line-break
	expect_finding warning 't/lat1-\xe9.txt' path.invalid-utf8
	expect_finding warning 't/trunc\xe2\x82' path.invalid-utf8
	expect_finding warning 't/over\xc0\xaf' path.invalid-utf8
}

@test "a 255-byte name and a deep path are hashed" {
	mkdir -p t
	local long
	long=$(printf 'n%.0s' $(seq 255))
	printf 1 >"t/$long"
	local deep=t/$(printf 'd/%.0s' $(seq 100))
	mkdir -p "$deep"
	printf 2 >"$deep/f"
	trun 0 checksum t
	expect_output "$(sha256sum "${deep}f" "t/$long")"
}

@test "directories nested deeper than the walk allows: walk.too-deep, exit 3, no crash" {
	mkdir t
	printf 1 >t/top
	python3 -c 'import os; p = "t/" + "/".join(["d"] * 600); os.makedirs(p); open(p + "/f", "w").write("x")'
	trun 3 checksum t
	expect_output "$(sha256sum t/top)"
	expect_code walk.too-deep
}

# --- hostile lists and manifests ---------------------------------------------------------------

@test "hostile manifest paths are manifest.unsafe-path: '..', absolute, '~', '.', empty components, drive letters" {
	mkdir -p bag/data
	printf 'ok' >bag/data/ok
	mkfifo fifo
	cd bag
	local z
	z=$(printf '%064d' 0)
	{
		printf '%s  ../fifo\n' "$z"
		printf '%s  data/../../fifo\n' "$z"
		printf '%s  data/..\n' "$z"
		printf '%s  ..\n' "$z"
		printf '%s  %s\n' "$z" "$BATS_TEST_TMPDIR/fifo"
		printf '%s  /dev/zero\n' "$z"
		printf '%s  ~/x\n' "$z"
		printf '%s  data/./ok\n' "$z"
		printf '%s  data//ok\n' "$z"
		printf '%s  C:/x\n' "$z"
		printf '%s  \\\\server\\x\n' "$z"
		printf '%s  data%%2F..%%2F..%%2Ffifo\n' "$z"
		printf '%s  data/ok\n' "$(sha256sum <data/ok | cut -c1-64)"
	} >manifest-sha256.txt
	trun 1 checksum -c manifest-sha256.txt
	expect_line "data/ok: OK"
	local n
	for n in $(seq 11); do
		[[ "$stderr" =~ "manifest-sha256.txt: line $n: "[^$'\n']*" (manifest.unsafe-path)" ]] ||
			flunk "line $n is not refused as manifest.unsafe-path"
	done
	# percent-decoding does not make '/' or '..': that one is just a missing name
	expect_line "data%2F..%2F..%2Ffifo: FAILED open or read"
	refute_stderr_has file.not-regular
	refute_stderr_has /dev/zero:
}

@test "an over-long list line (2 MiB) is list.line-too-long; the next lines are still checked" {
	make_tree
	python3 -c '
import sys
sys.stdout.write("0" * 64 + "  " + "x" * (2 << 20) + "\n")' >list.sha256
	sha256sum t/a >>list.sha256
	trun 1 checksum -c list.sha256
	expect_output "t/a: OK"
	expect_code list.line-too-long
	# the same in a BagIt manifest
	mkdir -p bag/data
	printf 'x' >bag/data/f
	{
		python3 -c 'import sys; sys.stdout.write("a" * (2 << 20) + "\n")'
		printf '%s  data/f\n' "$(printf x | sha256sum | cut -c1-64)"
	} >bag/manifest-sha256.txt
	trun 1 checksum -c bag/manifest-sha256.txt
	expect_output "data/f: OK"
	expect_code list.line-too-long
}

@test "a list of one endless line (3 MiB, no newline) ends as list.line-too-long and list.empty" {
	head -c $((3 << 20)) /dev/zero | tr '\0' 'a' >huge
	trun 1 checksum -c huge
	expect_no_stdout
	expect_code list.line-too-long
	expect_code list.empty
}

@test "an empty list, from a file or stdin, is list.empty: exit 1" {
	: >SHA256SUMS
	trun 1 checksum -c SHA256SUMS
	expect_no_stdout
	expect_code list.empty
	run --separate-stderr timeout 20 "$KIST" checksum -c - </dev/null
	expect_status 1
	expect_code list.empty
}

@test "a list of random bytes or with NUL bytes is rejected line by line, without a crash" {
	make_tree
	head -c 200000 /dev/urandom >garbage
	trun 1 checksum -c garbage
	expect_code list.malformed
	{
		sha256sum t/a
		printf '%064d  t/z\0tail\n' 0
		sha256sum t/z
	} >withnul
	trun 1 checksum -c withnul
	expect_output "$(printf '%s\n' 't/a: OK' 't/z: OK')"
	expect_code list.malformed
}

@test "a list naming a directory fails that entry and goes on" {
	make_tree
	{
		printf '%064d  t\n' 0
		sha256sum t/a
	} >list
	trun 3 checksum -c list
	expect_line "t: FAILED open or read"
	expect_line "t/a: OK"
}

@test "a list line with a bad backslash escape is list.malformed" {
	make_tree
	{
		printf '\\%064d  t/\\q\n' 0
		sha256sum t/a
	} >list
	trun 1 checksum -c list
	expect_output "t/a: OK"
	expect_code list.malformed
}

# --- files that change ----------------------------------------------------------------------

@test "a file that grows while it is read is file.changed, exit 3, and gets no digest line" {
	skip_under_valgrind "the writer must outrun the reader; valgrind slows kist fiftyfold"
	make_tree
	truncate -s 200M t/growing
	# a writer appending to the file the whole time kist reads it
	python3 -c '
import sys, time
with open("t/growing", "ab", buffering=0) as f:
    end = time.monotonic() + 30
    while time.monotonic() < end:
        f.write(b"x")' >/dev/null 2>&1 3>&- &
	local writer=$!
	# wait until the writer has started
	local n=0
	while [ "$(stat -c %s t/growing)" -eq $((200 << 20)) ] && [ $n -lt 200 ]; do
		sleep 0.05
		n=$((n + 1))
	done
	run --separate-stderr timeout 20 "$KIST" checksum -j 1 t
	kill "$writer" 2>/dev/null || true
	wait "$writer" 2>/dev/null || true
	[ "$n" -lt 200 ] || flunk "the writer did not start"
	expect_status 3
	expect_output "$(sha256sum t/a t/z)"
	expect_finding failure t/growing file.changed
}
