#!/usr/bin/env bats
# Faults (issue 9): a full disk, a read-only destination, a file that cannot
# be read, and system calls made to fail by a preload shim. Each must give a
# clear message and exit 3 (cli.md: could not run), leave no half-written
# manifest, and let the same command finish once the fault is gone.
load helpers

CHECK=$KIST_SRCDIR/tests/faults/check.py

# make_collection DIR: a few folders of small files.
make_collection() {
	local d i
	for d in a a/b c "d e"; do
		mkdir -p "$1/$d"
		for i in 1 2 3; do
			printf '%s %s\n' "$d" "$i" >"$1/$d/file$i.txt"
		done
	done
	head -c 100000 /dev/urandom >"$1/c/big.bin"
}

# a bag to update: made with md5, then a file added, one changed, one removed
make_update_bag() {
	make_collection "$1"
	"$KIST" bag create -q -a md5 "$1" || return 1
	printf 'new\n' >"$1/data/a/new.txt"
	printf 'changed\n' >>"$1/data/c/file1.txt"
	rm "$1/data/d e/file2.txt"
}

# expect_validates BAG: kist bag validate calls it valid.
expect_validates() {
	run --separate-stderr "$KIST" bag validate "$1"
	[ "$status" -eq 0 ] || flunk "kist bag validate $1: exit $status"
}

# require_root_mount: a tmpfs can be mounted here (root), or skip.
require_root_mount() {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
	mkdir -p mnt
	mount -t tmpfs -o "$1" tmpfs mnt 2>/dev/null || skip "cannot mount a tmpfs here"
}

teardown() {
	mountpoint -q mnt 2>/dev/null && umount mnt
	kist_teardown
}

# --- a full disk ---------------------------------------------------------------

@test "full disk: bag update cannot write its manifests: exit 3, ENOSPC named, manifests whole; rerun finishes" {
	require_root_mount size=2m
	make_update_bag mnt/bag
	cp -a mnt/bag old
	cp -a mnt/bag new && "$KIST" bag update -q -a sha256 new
	# fill the disk to the last block
	head -c 3000000 /dev/zero >mnt/filler 2>/dev/null || true
	run --separate-stderr "$KIST" bag update -a sha256 mnt/bag
	expect_status 3
	expect_stderr_has "No space left on device"
	python3 "$CHECK" whole mnt/bag old new || flunk "a tag file is half-written"
	rm mnt/filler
	krun 0 bag update -a sha256 mnt/bag
	expect_validates mnt/bag
}

@test "full disk: bag validate --record cannot append its event: exit 3, premis.xml whole" {
	require_root_mount size=2m
	make_collection mnt/bag
	"$KIST" bag create -q mnt/bag
	cp -a mnt/bag old
	head -c 3000000 /dev/zero >mnt/filler 2>/dev/null || true
	run --separate-stderr "$KIST" bag validate --record mnt/bag
	[ "$status" -eq 3 ] || [ "$status" -eq 0 ] || flunk "expected exit 3 (or 0 with a warning)"
	[ "$status" -eq 0 ] || expect_stderr_has "No space left on device"
	python3 "$CHECK" whole mnt/bag old old || flunk "a tag file is half-written"
	rm mnt/filler
	expect_validates mnt/bag
}

# catalog_on_small_disk: a catalog on an 8 MiB tmpfs at mnt, and on it the
# volume vol with 2,000 files of 100 random bytes registered.
catalog_on_small_disk() {
	command -v sqlite3 >/dev/null || skip "sqlite3 (the command) is not installed"
	require_root_mount size=8m
	mkdir -p vol/t
	python3 -c '
import os
for i in range(2000):
    open("vol/t/f%04d" % i, "wb").write(os.urandom(100))'
	export KIST_CATALOG=sqlite:$PWD/mnt/catalog.sqlite
	krun 0 fixity volume add v vol
	krun 0 fixity add vol/t
}

@test "full disk: fixity audit cannot record its checks: exit 3 naming the disk, the catalog whole; the next run carries on" {
	catalog_on_small_disk
	head -c 30000000 /dev/zero >mnt/filler 2>/dev/null || true
	run --separate-stderr "$KIST" fixity audit --all
	expect_status 3
	expect_stderr_has "disk"
	rm mnt/filler
	[ "$(sqlite3 mnt/catalog.sqlite 'PRAGMA integrity_check')" = ok ]
	krun 0 fixity audit --all
	expect_stdout_has "checked 2000 files"
	expect_stdout_has "2000 ok"
	krun 0 fixity report
	expect_stdout_has "0 problems, 0 due"
}

@test "a disk that fills mid-audit: exit 3 saying the disk is full, what was recorded stays, the next run checks each file once" {
	catalog_on_small_disk
	# room for a few batches of verdicts, not for all of them
	avail=$(df -k --output=avail mnt | tail -1)
	head -c $(((avail - 300) * 1024)) /dev/zero >mnt/filler
	run --separate-stderr "$KIST" fixity audit --all
	expect_status 3
	expect_stderr_has "the disk is full; what was checked before is recorded"
	rm mnt/filler
	[ "$(sqlite3 mnt/catalog.sqlite 'PRAGMA integrity_check')" = ok ]
	before=$(sqlite3 mnt/catalog.sqlite "SELECT count(*) FROM check_log WHERE verdict = 'ok'")
	[ "$before" -lt 2000 ] || flunk "every verdict was written: the disk did not fill"
	krun 0 fixity audit --all
	expect_stdout_has "checked 2000 files"
	[ "$(sqlite3 mnt/catalog.sqlite "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = $((before + 2000)) ]
}

# --- a read-only destination -------------------------------------------------------

@test "read-only file system: bag create to DEST on it is exit 3 naming EROFS; SOURCE untouched" {
	require_root_mount size=1m,ro
	make_collection src
	python3 "$CHECK" inventory src >before
	krun 3 bag create src mnt/bag
	expect_stderr_has "Read-only file system"
	python3 "$CHECK" inventory src | diff before -
	[ -z "$(ls -A mnt)" ]
}

@test "read-only file system: bag update and bag create in place are exit 3; nothing changes" {
	require_root_mount size=2m
	make_update_bag mnt/bag
	make_collection mnt/coll
	(cd mnt && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) >before
	mount -o remount,ro mnt
	krun 3 bag update -a sha256 mnt/bag
	expect_stderr_has "Read-only file system"
	krun 3 bag create mnt/coll
	expect_stderr_has "Read-only file system"
	(cd mnt && find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) | diff before -
}

@test "a destination folder without write permission: exit 3, Permission denied" {
	make_collection src
	mkdir locked
	chmod 555 locked
	as_nobody_prepare
	nrun 3 bag create src locked/bag
	expect_stderr_has "Permission denied"
	[ -z "$(ls -A locked)" ]
}

# --- a file that cannot be read ----------------------------------------------------------

@test "an unreadable payload file: bag update is exit 3 naming it; manifests unchanged" {
	make_update_bag bag
	cp -a bag old
	as_nobody_prepare
	chmod -R o+w bag    # nobody may write: the read is what fails
	chmod 000 bag/data/a/file1.txt
	nrun 3 bag update -a sha256 bag
	expect_stderr_has "data/a/file1.txt"
	expect_stderr_has "Permission denied"
	for f in bag/*.txt; do cmp "$f" "old/${f#bag/}"; done
}

@test "an unreadable payload file: bag validate is exit 3 naming it" {
	make_collection bag
	"$KIST" bag create -q bag
	as_nobody_prepare
	chmod 000 bag/data/c/big.bin
	nrun 3 bag validate bag
	expect_stderr_has "data/c/big.bin"
}

@test "an unreadable file: bag create in place is exit 3, loses nothing; the same command then finishes" {
	make_collection src
	python3 "$CHECK" inventory src >before
	as_nobody_prepare
	chmod -R o+w src
	chmod 000 "src/d e/file3.txt"
	nrun 3 bag create src
	expect_stderr_has "d e/file3.txt"
	expect_stderr_has "Permission denied"
	find src -name file3.txt -exec chmod 644 {} +
	python3 "$CHECK" once src before || flunk "payload lost or duplicated"
	nrun 0 bag create src
	expect_validates src
	python3 "$CHECK" once src before || flunk "payload lost or duplicated after the rerun"
}

@test "an unreadable tag file: bag update is exit 3 naming it and the reason; manifests unchanged" {
	make_update_bag bag
	printf 'notes\n' >bag/metadata/notes.txt
	"$KIST" bag update -q bag
	cp -a bag old
	as_nobody_prepare
	chmod -R o+w bag
	chmod 000 bag/metadata/notes.txt
	nrun 3 bag update bag
	# regression: this was "stopped after 1 of 5 files", naming nothing
	expect_stderr_has "metadata/notes.txt"
	expect_stderr_has "Permission denied"
	for f in bag/manifest-*.txt bag/tagmanifest-*.txt; do cmp "$f" "old/${f#bag/}"; done
}

# --- failing system calls (preload shim) ------------------------------------------------

require_shim() {
	[ -n "${KIST_INJECT_LIB:-}" ] && [ -f "$KIST_INJECT_LIB" ] ||
		skip "the fault shim is not built (./configure --enable-error-injection)"
	[ -z "${KIST_VALGRIND:-}" ] || skip "under valgrind: the shim is not loaded into valgrind"
	# an ASan build wants its runtime first among the loaded libraries
	if ldd "${KIST_REAL:-$KIST}" 2>/dev/null | grep -q libasan; then
		skip "kist is built with ASan"
	fi
}

# inject_sweep WHAT CALL ERRNO MAX: for N = 1, 2, ... runs WHAT (update or
# create) with the Nth CALL failing with ERRNO, until a run no longer reaches
# the Nth call (or MAX). Each failed run must exit 3 with the error's text
# and leave no half-written tag file; the same command then finishes.
inject_sweep() {
	local what=$1 call=$2 errno=$3 max=$4 n text faulted=0
	text=$(python3 -c 'import errno, os, sys; print(os.strerror(getattr(errno, sys.argv[1])))' "$errno")
	rm -rf orig new
	if [ "$what" = update ]; then
		make_update_bag orig
		cp -a orig new && "$KIST" bag update -q -a sha256 new
	else
		make_collection orig
		python3 "$CHECK" inventory orig >inventory
	fi
	for ((n = 1; n <= max; n++)); do
		rm -rf bag log
		cp -a orig bag
		local cmd=(bag update -a sha256 bag)
		[ "$what" = update ] || cmd=(bag create -a sha256 bag)
		run --separate-stderr env LD_PRELOAD="$KIST_INJECT_LIB" KIST_INJECT="$call:$n:$errno" \
			KIST_INJECT_LOG="$PWD/log" "$KIST" "${cmd[@]}"
		if [ ! -s log ]; then
			# the run made fewer than n such calls: it must have finished
			expect_status 0
			break
		fi
		faulted=$((faulted + 1))
		if [ "$status" -ne 0 ]; then
			[ "$status" -eq 3 ] || flunk "$call #$n ($errno): expected exit 3, got $status"
			[[ "$stderr" == *"$text"* ]] || flunk "$call #$n ($errno): the message does not say '$text'"
		fi
		if [ "$what" = update ]; then
			python3 "$CHECK" whole bag orig new || flunk "$call #$n ($errno): half-written tag file"
		else
			python3 "$CHECK" once bag inventory || flunk "$call #$n ($errno): payload lost or duplicated"
		fi
		# the same command again, without the fault, finishes the job
		if [ "$status" -ne 0 ]; then
			run --separate-stderr "$KIST" "${cmd[@]}"
			[ "$status" -eq 0 ] || flunk "$call #$n ($errno): the rerun failed"
		fi
		expect_validates bag
		[ "$what" = update ] || python3 "$CHECK" once bag inventory || flunk "$call #$n: rerun lost payload"
	done
	[ "$faulted" -gt 0 ] || flunk "the shim never fired: $call is not used?"
	echo "# $what $call $errno: $faulted faulted runs" >&3
}

@test "shim: bag update with the Nth write failing (ENOSPC), for every N" {
	require_shim
	inject_sweep update write ENOSPC 60
}

@test "shim: bag update with the Nth fsync failing (EIO), for every N" {
	require_shim
	inject_sweep update fsync EIO 60
}

@test "shim: bag update with the Nth rename failing (EIO), for every N" {
	require_shim
	inject_sweep update rename EIO 60
}

@test "shim: bag update with the Nth open for writing failing (EROFS), for every N" {
	require_shim
	inject_sweep update openat-w EROFS 60
}

@test "shim: bag update with the Nth open failing (EIO), for every N" {
	require_shim
	inject_sweep update openat EIO 120
}

@test "shim: bag create in place with the Nth write failing (ENOSPC), for every N" {
	require_shim
	inject_sweep create write ENOSPC 80
}

@test "shim: bag create in place with the Nth rename failing (EIO), for every N" {
	require_shim
	inject_sweep create rename EIO 120
}

@test "shim: bag create in place with the Nth fsync failing (EIO), for every N" {
	require_shim
	inject_sweep create fsync EIO 80
}

@test "shim: bag create in place with the Nth mkdir failing (ENOSPC), for every N" {
	require_shim
	inject_sweep create mkdir ENOSPC 60
}
