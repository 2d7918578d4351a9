#!/usr/bin/env bats
# kist fixity: volumes, registering, audits, reports, histories.
#
# The same tests run on both catalog backends: this file on SQLite, and
# through the symlink fixity-pg.bats on PostgreSQL (a private server started
# for the file by tests/fixity/pg-server; the PostgreSQL run is skipped, with
# the reason, when the server binaries are not installed).

load helpers

BACKEND=sqlite
[[ $BATS_TEST_FILENAME == *-pg.bats ]] && BACKEND=pg

setup_file() {
	[ "$BACKEND" = pg ] || return 0
	local out rc=0
	out=$("$KIST_SRCDIR/tests/fixity/pg-server" start 2>"$BATS_FILE_TMPDIR/pg.err") || rc=$?
	if [ $rc -eq 77 ]; then
		echo "skip" >"$BATS_FILE_TMPDIR/pg.skip"
		return 0
	fi
	[ $rc -eq 0 ] || { cat "$BATS_FILE_TMPDIR/pg.err" >&2; return 1; }
	printf '%s\n' "${out%%$'\t'*}" >"$BATS_FILE_TMPDIR/pg.dir"
	printf '%s\n' "${out#*$'\t'}" >"$BATS_FILE_TMPDIR/pg.url"
}

teardown_file() {
	[ -f "$BATS_FILE_TMPDIR/pg.dir" ] || return 0
	"$KIST_SRCDIR/tests/fixity/pg-server" stop "$(cat "$BATS_FILE_TMPDIR/pg.dir")"
}

setup() {
	kist_setup
	unset KIST_HOST
	if [ "$BACKEND" = pg ]; then
		[ ! -f "$BATS_FILE_TMPDIR/pg.skip" ] ||
			skip "PostgreSQL server binaries not found (apt-get install postgresql)"
		PGDIR=$(cat "$BATS_FILE_TMPDIR/pg.dir")
		local base db=t$BATS_TEST_NUMBER
		base=$(cat "$BATS_FILE_TMPDIR/pg.url")
		psql -q "$base" -c "CREATE DATABASE $db" >/dev/null
		export KIST_CATALOG=${base/\/postgres\?//$db?}
	else
		export KIST_CATALOG=sqlite:$BATS_TEST_TMPDIR/catalog/fixity.sqlite
	fi
	mkdir -p vol/coll/sub
	printf 'hello\n' >vol/coll/a.txt
	printf 'world\n' >vol/coll/sub/b.txt
	printf 'third\n' >vol/coll/sub/c.txt
}

teardown() { kist_teardown; }

# SQL on the catalog, one value a line.
sql() {
	if [ "$BACKEND" = pg ]; then
		psql -qAt "$KIST_CATALOG" -c "$1"
	else
		sqlite3 "${KIST_CATALOG#sqlite:}" "$1"
	fi
}

# A volume VOL at vol with a 1 s period (so files fall due in tests), and coll registered.
registered() {
	krun 0 fixity volume add arch vol --period 1s
	krun 0 fixity add vol/coll
}

# Waits for the period to pass.
due() { sleep 1.1; }

sha() { sha256sum "$1" | cut -d' ' -f1; }

@test "volume add writes a sentinel with a UUID at the root; list shows it online with files and bytes" {
	krun 0 fixity volume add arch vol --period 30d
	[ -f vol/.kist-volume ]
	grep -Eq '^uuid: [0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$' vol/.kist-volume
	krun 0 fixity add vol/coll
	expect_output "vol/coll: 3 files registered (18 B) on volume arch"
	krun 0 fixity volume list
	[[ $output == "arch: online, 3 files, 18 B, oldest check "*", 0 due, 0 problems ($PWD/vol)" ]] ||
		flunk "unexpected list line"
	krun 0 fixity volume list --format json
	python3 -c 'import json,sys; v=json.load(sys.stdin)["volumes"][0]; assert v["name"]=="arch" and v["online"] and v["files"]==3 and v["bytes"]==18 and v["period_seconds"]==30*86400, v' <<<"$output"
	krun 0 fixity volume remove arch
	krun 0 fixity volume list
	expect_no_stdout
	[ "$(sql 'SELECT count(*) FROM item')" = 0 ]
	[ "$(sql 'SELECT count(*) FROM check_log')" = 0 ]
}

@test "a second volume add of a known name elsewhere is refused; the same sentinel records this host's mount" {
	krun 0 fixity volume add arch vol
	mkdir other
	krun 1 fixity volume add arch other
	expect_stderr_has "volume 'arch' exists"
	[ ! -e other/.kist-volume ]
	# the same volume seen at another path (another host's mount, or moved)
	mv vol vol2
	krun 0 fixity volume add arch vol2
	krun 0 fixity volume list
	expect_stdout_has "arch: online"
	expect_stdout_has "($PWD/vol2)"
	# another name for a registered volume is refused
	krun 1 fixity volume add again vol2
}

@test "add hashes a tree with sha256 by default and -a adds more; each digest matches the reference tool" {
	krun 0 fixity volume add arch vol
	krun 0 fixity add vol/coll/a.txt
	krun 0 fixity history vol/coll/a.txt --format json
	python3 -c '
import json, sys
c = json.load(sys.stdin)["checks"]
assert len(c) == 1 and c[0]["verdict"] == "registered", c
assert c[0]["expected"] == "sha256:" + sys.argv[1], c' "$(sha vol/coll/a.txt)" <<<"$output"
	krun 0 fixity add -a md5,sha512 vol/coll/sub
	want="md5:$(md5sum <vol/coll/sub/b.txt | cut -d' ' -f1) sha512:$(sha512sum <vol/coll/sub/b.txt | cut -d' ' -f1)"
	[ "$(sql "SELECT expected FROM item WHERE path = 'coll/sub/b.txt'")" = "$want" ]
	# registering again changes nothing
	krun 0 fixity add vol/coll
	expect_output "vol/coll: 0 files registered (0 B) on volume arch, 3 already known"
}

@test "add refuses a path on no volume, and an offline volume" {
	mkdir elsewhere
	krun 1 fixity add elsewhere
	expect_stderr_has "on no registered volume"
	krun 0 fixity volume add arch vol
	rm vol/.kist-volume
	krun 3 fixity add vol/coll
	expect_stderr_has "offline"
}

@test "add of a bag validates it and takes its manifests as the expected digests; an invalid bag is not registered" {
	krun 0 fixity volume add arch vol
	mkdir src && printf 'payload\n' >src/p.txt
	krun 0 bag create -a sha256,md5 src vol/bag1
	krun 0 fixity add vol/bag1
	expect_output "vol/bag1: bag valid, 1 files registered (8 B) on volume arch"
	m=$(cut -d' ' -f1 vol/bag1/manifest-md5.txt)
	s=$(cut -d' ' -f1 vol/bag1/manifest-sha256.txt)
	[ "$(sql "SELECT expected FROM item WHERE path = 'bag1/data/p.txt'")" = "md5:$m sha256:$s" ]
	krun 0 bag create src vol/bag2
	printf 'tampered\n' >vol/bag2/data/p.txt
	krun 1 fixity add vol/bag2
	expect_stderr_has "not valid: not registered"
	[ "$(sql "SELECT count(*) FROM item WHERE path LIKE 'bag2/%'")" = 0 ]
}

@test "audit checks only what is due, oldest first; --all checks everything once" {
	krun 0 fixity volume add arch vol --period 1h
	krun 0 fixity add vol/coll
	krun 0 fixity audit
	[[ $output == "checked 0 files (0 bytes) in "*" s: 0 ok, 1 volume audited" ]] || flunk "something was checked"
	krun 0 fixity audit --all
	[[ $output == "checked 3 files (18 bytes) in "*" 3 ok, 1 volume audited" ]] || flunk "not 3 ok"
	# two hours later, all three are due; a run limited to one file takes one
	sql "UPDATE item SET last_check = last_check - 7200000" >/dev/null
	krun 0 fixity audit --max-bytes 1
	[[ $output == "checked 1 files "* ]] || flunk "not one file"
	# the next run takes the others (the oldest checks), not the one just done
	krun 0 fixity audit
	[[ $output == "checked 2 files "* ]] || flunk "not the two others"
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = 6 ]
	[ "$(sql "SELECT count(DISTINCT item_id) FROM check_log WHERE verdict = 'ok'")" = 3 ]
}

@test "the period: a file checked falls due again once the volume's period has passed" {
	registered
	krun 0 fixity audit --all
	due
	krun 0 fixity audit
	[[ $output == "checked 3 files "* ]] || flunk "not due again after the period"
}

@test "verdicts: changed, missing, new, renamed and moved are found, recorded and reported; exit 1" {
	registered
	mkdir vol/coll/moved
	printf 'HELLO\n' >vol/coll/a.txt
	mv vol/coll/sub/b.txt vol/coll/sub/b2.txt
	mv vol/coll/sub/c.txt vol/coll/moved/c.txt
	printf 'new\n' >vol/coll/n.txt
	due
	krun 1 fixity audit
	expect_stderr_has "error: arch:coll/a.txt: digest differs (fixity.changed)"
	expect_stderr_has "warning: arch:coll/sub/b2.txt: was coll/sub/b.txt (fixity.renamed)"
	expect_stderr_has "warning: arch:coll/moved/c.txt: was coll/sub/c.txt (fixity.moved)"
	expect_stderr_has "error: arch:coll/n.txt: not registered"
	rm vol/coll/sub/b2.txt
	due
	krun 1 fixity audit
	expect_stderr_has "error: arch:coll/sub/b2.txt: no longer there (fixity.missing)"
	krun 1 fixity report --format json
	python3 -c '
import json, sys
r = json.load(sys.stdin)
p = {x["path"]: x for x in r["problems"]}
assert set(p) == {"coll/a.txt", "coll/n.txt", "coll/sub/b2.txt"}, p
assert p["coll/a.txt"]["verdict"] == "changed" and p["coll/a.txt"]["found"] == "sha256:" + sys.argv[1]
assert p["coll/sub/b2.txt"]["verdict"] == "missing" and p["coll/n.txt"]["verdict"] == "new"
assert r["volumes"][0]["problems"] == 3
for x in p.values():
    assert x["first_seen"] <= x["last_seen"]' "$(sha vol/coll/a.txt)" <<<"$output"
	krun 1 fixity report --format csv --problems-only
	[ "${lines[0]}" = "volume,path,verdict,expected,found,size,first_seen,last_seen,detail" ]
	[ "${#lines[@]}" -eq 4 ]
	krun 0 fixity report --since 2100-01-01
	[[ ${lines[0]} == "volume arch: online, 4 files, 22 B, 3 problems, "*" due, oldest check "* ]] ||
		flunk "no volume line"
	expect_line "no problems"
}

@test "--adopt registers new files; the next audit finds them ok" {
	registered
	printf 'new\n' >vol/coll/n.txt
	due
	krun 0 fixity audit --adopt
	[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/n.txt'")" = registered ]
	[ "$(sql "SELECT expected FROM item WHERE path = 'coll/n.txt'")" = "sha256:$(sha vol/coll/n.txt)" ]
	due
	krun 0 fixity audit
	[[ $output == "checked 4 files "*" 4 ok,"* ]] || flunk "not 4 ok"
}

@test "an unmounted volume is offline: a warning, exit 0, and none of its files called missing" {
	registered
	mv vol vol.away && mkdir vol   # the empty mount point
	due
	krun 0 fixity audit
	expect_stderr_has "warning: arch: offline"
	expect_stderr_has "(volume.offline)"
	refute_code fixity.missing
	[ "$(sql "SELECT count(*) FROM item WHERE verdict = 'missing'")" = 0 ]
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict <> 'registered'")" = 0 ]
	krun 3 fixity audit --fail-offline
	krun 0 fixity volume list
	expect_stdout_has "arch: offline"
	# other content mounted there (another volume's sentinel): offline as well
	rmdir vol && mkdir vol && krun 0 fixity volume add other vol
	krun 0 fixity audit --volume arch
	expect_stderr_has "warning: arch: offline"
	# mounted again: the audit carries on
	rm -rf vol && mv vol.away vol
	krun 0 fixity audit --volume arch
	[[ $output == "checked 3 files "*" 3 ok,"* ]] || flunk "not 3 ok"
}

@test "--quiet prints nothing when all is well, and the problems when not" {
	registered
	due
	krun 0 fixity audit --quiet
	expect_no_stdout
	expect_no_stderr
	printf 'x' >>vol/coll/a.txt
	due
	krun 1 fixity audit --quiet
	expect_stderr_has "fixity.changed"
	expect_stdout_has "1 changed"
}

@test "--volume chooses volumes; an unknown one is an error (exit 3)" {
	registered
	mkdir v2 && krun 0 fixity volume add second v2
	due
	krun 0 fixity audit --volume second
	[[ $output == "checked 0 files "* ]] || flunk "checked arch"
	krun 3 fixity audit --volume nope
	expect_stderr_has "no volume named 'nope'"
}

@test "--budget: the audit stops when the time is spent (within 5% or one file), and the next run carries on" {
	skip_under_valgrind "the test times the audit; valgrind slows it tenfold"
	krun 0 fixity volume add arch vol --period 1m
	mkdir vol/big
	for i in $(seq 1 40); do head -c 6000000 /dev/zero >vol/big/f$i; printf '%s' $i >>vol/big/f$i; done
	krun 0 fixity add vol/big
	sql "UPDATE item SET last_check = 0" >/dev/null   # registered long ago: all due
	krun 0 fixity audit --budget 100ms -j 1 --batch 4 --format json
	python3 -c '
import json, sys
r = json.load(sys.stdin)
assert r["budget_spent"] and 0 < r["checked"] < 40, r
per_file = r["elapsed_ms"] / r["checked"]
# 5% or one file, plus 100 ms for a machine shared with other work
assert r["elapsed_ms"] <= max(100 * 1.05, 100 + per_file) + 100, r' <<<"$output"
	n=$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")
	# what was claimed and not checked (the batch claimed ahead) is free again
	[ "$(sql "SELECT count(*) FROM item WHERE lease_owner IS NOT NULL")" = 0 ]
	# the next run takes only the rest: nothing is checked twice
	krun 0 fixity audit -j 1
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = 40 ]
	[ "$(sql "SELECT count(DISTINCT item_id) FROM check_log WHERE verdict = 'ok'")" = 40 ]
	[[ $output == "checked $((40 - n)) files "* ]] || flunk "the second run did not take the rest"
}

@test "an interrupted audit records what it checked and the next run resumes; nothing checked twice" {
	skip_under_valgrind "the test times the audit; valgrind slows it tenfold"
	krun 0 fixity volume add arch vol --period 1h
	mkdir vol/big
	for i in $(seq 1 60); do head -c 8000000 /dev/zero >vol/big/f$i; printf '%s' $i >>vol/big/f$i; done
	# SHA3-512 too, so that one worker takes about a second for all
	krun 0 fixity add -a sha256,sha3-512 vol/big
	sql "UPDATE item SET last_check = 0" >/dev/null
	"$KIST" fixity audit -j 1 --batch 2 >out 2>err &
	pid=$!
	# stopped once its first verdicts are written: mid-way, whatever the speed
	for i in $(seq 1 500); do
		[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" -gt 0 ] && break
		sleep 0.01
	done
	kill -TERM $pid || skip "the audit finished before it could be interrupted"
	st=0
	wait $pid || st=$?
	[ $st -eq 3 ] || { cat err; flunk "interrupted audit exit $st"; }
	grep -q "interrupted" err
	n=$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")
	[ "$n" -lt 60 ] || skip "the audit finished before it could be interrupted"
	[ "$(sql "SELECT count(*) FROM item WHERE lease_owner IS NOT NULL")" = 0 ]
	krun 0 fixity audit
	[[ $output == "checked $((60 - n)) files "* ]] || flunk "did not resume with the rest"
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = 60 ]
	[ "$(sql "SELECT count(DISTINCT item_id) FROM check_log WHERE verdict = 'ok'")" = 60 ]
}

@test "--record-in-bag appends a PREMIS fixity check event; the bag stays valid" {
	krun 0 fixity volume add arch vol --period 1s
	mkdir src && printf 'payload\n' >src/p.txt
	krun 0 bag create src vol/bag1
	krun 0 fixity add vol/bag1
	before=$(grep -c '<premis:event>' vol/bag1/metadata/premis.xml)
	due
	krun 0 fixity audit --record-in-bag
	[ "$(grep -c '<premis:event>' vol/bag1/metadata/premis.xml)" -eq $((before + 1)) ]
	grep -q 'eventType/fix' vol/bag1/metadata/premis.xml
	grep -q 'kist fixity audit: bag complete; 1 payload files' vol/bag1/metadata/premis.xml
	krun 0 bag validate vol/bag1
	krun 0 premis validate vol/bag1
	# a damaged bag: the payload file changed, and the event says failure
	printf 'changed\n' >vol/bag1/data/p.txt
	due
	krun 1 fixity audit --record-in-bag
	expect_stderr_has "arch:bag1/data/p.txt: digest differs (fixity.changed)"
}

@test "history --format premis exports the checks as PREMIS events, valid against the schema" {
	registered
	due
	krun 0 fixity audit
	krun 0 fixity history vol/coll/a.txt --format json
	python3 -c '
import json, sys
checks = json.load(sys.stdin)["checks"]
assert [c["verdict"] for c in checks] == ["registered", "ok"], checks
for c in checks:
    assert c["path"] == "coll/a.txt" and c["expected"] == c["found"] == "sha256:" + sys.argv[1], c' \
		"$(sha vol/coll/a.txt)" <<<"$output"
	krun 0 fixity history vol/coll/a.txt --format premis
	printf '%s\n' "$output" >h.xml
	[ "$(grep -c '<premis:event>' h.xml)" -eq 2 ]
	grep -q 'eventType/mes' h.xml
	grep -q 'eventType/fix' h.xml
	KIST_DATADIR=$KIST_SRCDIR/data krun 0 premis validate h.xml
	krun 1 fixity history vol/coll/nope.txt
	expect_stderr_has "not in the catalog"
}

@test "a file that cannot be read is unreadable or denied, recorded as such" {
	registered
	as_nobody_prepare
	chmod -R o+rwX "$BATS_TEST_TMPDIR/catalog" 2>/dev/null || true
	chmod 000 vol/coll/a.txt
	due
	nrun 1 fixity audit
	expect_stderr_has "arch:coll/a.txt"
	expect_stderr_has "(fixity.denied)"
	[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/a.txt'")" = denied ]
}

@test "two audits of one volume on one host do not run at once (SQLite)" {
	[ "$BACKEND" = sqlite ] || skip "PostgreSQL shares the work between audits instead"
	registered
	uuid=$(sed -n 's/^uuid: //p' vol/.kist-volume)
	flock -n "${KIST_CATALOG#sqlite:}.audit-$uuid.lock" sleep 3 &
	sleep 0.3
	due
	krun 0 fixity audit
	expect_stderr_has "warning: arch: another audit of this volume is running on this host; skipped (volume.busy)"
	[[ $output == "checked 0 files "* ]] || flunk "checked while locked"
	wait
	krun 0 fixity audit
	[[ $output == "checked 3 files "* ]] || flunk "not checked after the lock"
}

@test "catalog faults: read-only, locked, corrupted, newer: a clear error, exit 3, nothing written" {
	[ "$BACKEND" = sqlite ] || skip "SQLite file faults"
	registered
	cat=${KIST_CATALOG#sqlite:}
	# corrupted
	cp "$cat" good.sqlite
	head -c 4096 /dev/urandom >"$cat"
	rm -f "$cat-wal" "$cat-shm"
	cp "$cat" bad.copy
	krun 3 fixity volume list
	expect_stderr_has "is damaged"
	cmp "$cat" bad.copy
	# newer schema
	cp good.sqlite "$cat"
	version=$(sqlite3 "$cat" "SELECT value FROM meta WHERE key = 'schema_version'")
	sqlite3 "$cat" "UPDATE meta SET value = '99' WHERE key = 'schema_version'"
	krun 3 fixity audit
	expect_stderr_has "newer than this kist"
	sqlite3 "$cat" "UPDATE meta SET value = '$version' WHERE key = 'schema_version'"
	# locked by another process for longer than the wait
	python3 -c '
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1], isolation_level=None)
c.execute("BEGIN EXCLUSIVE")
open("locked", "w").close()
time.sleep(14)' "$cat" &
	while [ ! -f locked ]; do sleep 0.1; done
	due
	krun 3 fixity audit
	expect_stderr_has "is locked by another process"
	wait
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = 0 ]
	# read-only (as nobody, since root writes anywhere)
	as_nobody_prepare
	chmod -R a+rX,a-w catalog
	nrun 3 fixity audit
	expect_stderr_has "catalog"
	chmod -R u+w catalog
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = 0 ]
}

@test "a file changed while it is read is not judged: a warning, nothing recorded, checked next run" {
	krun 0 fixity volume add arch vol --period 1s
	head -c 200000000 /dev/zero >vol/grow
	krun 0 fixity add vol/grow
	due
	( for i in $(seq 1 300); do printf 'x' >>vol/grow; sleep 0.01; done ) &
	sleep 0.05
	krun 0 fixity audit -j 1
	wait
	expect_stderr_has "arch:grow: changed while it was read; nothing recorded, checked again next run (fixity.busy)"
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict <> 'registered'")" = 0 ]
	due
	krun 1 fixity audit
	expect_stderr_has "fixity.changed"
}

@test "a volume unmounted mid-audit: reported offline, nothing of the batch recorded, the next run carries on" {
	krun 0 fixity volume add arch vol --period 1s
	mkdir vol/big
	for i in $(seq 1 30); do head -c 8000000 /dev/zero >vol/big/f$i; done
	krun 0 fixity add vol/big
	due
	"$KIST" fixity audit -j 1 --batch 1 >out 2>err &
	pid=$!
	# once the first file is recorded, the volume goes away
	for _ in $(seq 1 500); do
		[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" -gt 0 ] && break
		sleep 0.01
	done
	mv vol vol.away && mkdir vol
	st=0
	wait $pid || st=$?
	grep -q "went offline during the audit" err || skip "the audit finished before the volume went away"
	[ $st -eq 0 ]
	! grep -q fixity.missing err
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict NOT IN ('registered', 'ok')")" = 0 ]
	rm -rf vol && mv vol.away vol
	krun 0 fixity audit
	[ "$(sql "SELECT count(DISTINCT item_id) FROM check_log WHERE verdict = 'ok'")" = 30 ]
}

@test "three concurrent audits of one catalog of 10,000 files: each file checked exactly once, no deadlock, no lost check" {
	krun 0 fixity volume add arch vol --period 1h
	mkdir vol/many
	python3 -c '
import os
for d in range(100):
    os.mkdir(f"vol/many/d{d}")
    for f in range(100):
        with open(f"vol/many/d{d}/f{f}", "w") as fh:
            fh.write(f"{d}-{f}\n")'
	krun 0 fixity add vol/many
	[[ $output == "vol/many: 10000 files registered ("*") on volume arch" ]] || flunk "not 10000 files"
	sql "UPDATE item SET last_check = 0" >/dev/null
	for w in 1 2 3; do
		timeout 120 "$KIST" fixity audit --batch 50 -j 1 >out$w 2>err$w &
		eval "pid$w=\$!"
	done
	for w in 1 2 3; do
		st=0
		eval "wait \$pid$w" || st=$?
		[ $st -eq 0 ] || { cat err$w; flunk "audit $w exited $st"; }
	done
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = 10000 ]
	[ "$(sql "SELECT count(DISTINCT item_id) FROM check_log WHERE verdict = 'ok'")" = 10000 ]
	[ "$(sql "SELECT count(*) FROM item WHERE verdict <> 'ok' OR lease_owner IS NOT NULL")" = 0 ]
	if [ "$BACKEND" = pg ]; then
		# the work was shared: more than one audit checked files
		busy=0
		for w in 1 2 3; do
			n=$(sed -n 's/^checked \([0-9]*\) files.*/\1/p' out$w)
			[ "${n:-0}" -gt 0 ] && busy=$((busy + 1))
		done
		[ $busy -ge 2 ] || flunk "only $busy audit(s) did any work"
	fi
}

@test "a crashed worker's batch is taken over once its lease has expired, not before" {
	registered
	sql "UPDATE item SET last_check = 0" >/dev/null
	now=$(($(date +%s) * 1000))
	sql "UPDATE item SET lease_owner = 'elsewhere:1:dead', lease_until = $((now - 1000)) WHERE path = 'coll/a.txt'" >/dev/null
	sql "UPDATE item SET lease_owner = 'elsewhere:2:busy', lease_until = $((now + 3600000)) WHERE path = 'coll/sub/b.txt'" >/dev/null
	krun 0 fixity audit
	[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/a.txt'")" = ok ]
	[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/sub/c.txt'")" = ok ]
	if [ "$BACKEND" = pg ]; then
		# still leased by a live worker elsewhere: left to it
		[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/sub/b.txt'")" = registered ]
		[ "$(sql "SELECT lease_owner FROM item WHERE path = 'coll/sub/b.txt'")" = elsewhere:2:busy ]
	else
		# SQLite: one host, and this audit holds its lock: any lease is a dead run's
		[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/sub/b.txt'")" = ok ]
	fi
}

@test "a killed run's lease on a tree does not keep the next run from scanning it; a new file's size is what was read" {
	registered
	printf 'new!\n' >vol/coll/n.txt
	now=$(($(date +%s) * 1000))
	# a run of this host that is gone (no such process) held the tree
	sql "UPDATE tree SET lease_owner = '$(hostname):999999999:dead', lease_until = $((now + 3600000))" >/dev/null
	krun 1 fixity audit --all
	expect_stderr_has "error: arch:coll/n.txt: not registered"
	[ "$(sql "SELECT size FROM item WHERE path = 'coll/n.txt'")" = 5 ]
	[ -z "$(sql "SELECT lease_owner FROM tree WHERE lease_owner IS NOT NULL")" ]
}

@test "audits --all of 3,000 files, one after another: each checks every file once, each check recorded once" {
	krun 0 fixity volume add arch vol --period 1h
	mkdir vol/many
	python3 -c '
for f in range(3000):
    open(f"vol/many/f{f}", "w").write(f"{f}\n")'
	krun 0 fixity add vol/many
	for round in 1 2 3; do
		# claims answered late, as by a busy server: the last batch's
		# first verdicts are written before the run learns it is the last
		KIST_TEST_CLAIM_DELAY_MS=$((round * 20)) krun 0 fixity audit --all
		[[ $output == "checked 3000 files "*" 3000 ok, 1 volume audited" ]] || flunk "round $round: $output"
		[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = $((round * 3000)) ]
		[ "$(sql "SELECT count(*) FROM (SELECT item_id FROM check_log WHERE verdict = 'ok'
			GROUP BY item_id HAVING count(*) <> $round) AS x")" = 0 ]
	done
}

@test "an audit in many small batches checks every due file exactly once and leaves no lease" {
	krun 0 fixity volume add arch vol --period 1h
	mkdir vol/many
	for i in $(seq 1 25); do printf 'file %s\n' "$i" >vol/many/f$i; done
	krun 0 fixity add vol/many
	sql "UPDATE item SET last_check = 0" >/dev/null
	printf 'changed\n' >vol/many/f7
	printf 'changed too\n' >vol/many/f19
	rm vol/many/f12
	# batches of 2: the next batch is claimed while one is hashed, the
	# verdicts written while the next is hashed
	krun 1 fixity audit --batch 2 -j 2
	[[ $output == "checked 25 files "* ]] || flunk "not 25 files checked"
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict <> 'registered'")" = 25 ]
	[ "$(sql "SELECT count(DISTINCT item_id) FROM check_log WHERE verdict <> 'registered'")" = 25 ]
	[ "$(sql "SELECT path FROM item WHERE verdict = 'changed' ORDER BY path")" = "$(printf 'many/f19\nmany/f7')" ]
	[ "$(sql "SELECT path FROM item WHERE verdict = 'missing'")" = many/f12 ]
	[ "$(sql "SELECT count(*) FROM item WHERE verdict = 'ok'")" = 22 ]
	[ "$(sql "SELECT count(*) FROM item WHERE lease_owner IS NOT NULL")" = 0 ]
	# nothing is due any more
	krun 0 fixity audit --batch 2
	[[ $output == "checked 0 files"* ]] || flunk "something was checked twice"
}

@test "SQLite without the host's lock file: the audit shares the work by leases, as on PostgreSQL" {
	[ "$BACKEND" = sqlite ] || skip "SQLite only"
	registered
	# the lock file cannot be made (a folder has its name): the audit then
	# claims items with leases instead of relying on the host lock
	mkdir "${KIST_CATALOG#sqlite:}.audit-$(sql "SELECT uuid FROM volume").lock"
	sql "UPDATE item SET last_check = 0" >/dev/null
	now=$(($(date +%s) * 1000))
	sql "UPDATE item SET lease_owner = 'elsewhere:1:dead', lease_until = $((now - 1000)) WHERE path = 'coll/a.txt'" >/dev/null
	sql "UPDATE item SET lease_owner = 'elsewhere:2:busy', lease_until = $((now + 3600000)) WHERE path = 'coll/sub/b.txt'" >/dev/null
	printf 'changed\n' >vol/coll/sub/c.txt
	krun 1 fixity audit --batch 1
	[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/a.txt'")" = ok ]
	[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/sub/c.txt'")" = changed ]
	# still leased by a live worker: left to it, and no check recorded for it
	[ "$(sql "SELECT verdict FROM item WHERE path = 'coll/sub/b.txt'")" = registered ]
	[ "$(sql "SELECT lease_owner FROM item WHERE path = 'coll/sub/b.txt'")" = elsewhere:2:busy ]
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict <> 'registered'")" = 2 ]
	[ "$(sql "SELECT count(*) FROM item WHERE lease_owner IS NOT NULL")" = 1 ]
}

@test "the PostgreSQL server restarted mid-audit: reported, nothing recorded wrongly, the next run carries on" {
	[ "$BACKEND" = pg ] || skip "PostgreSQL only"
	krun 0 fixity volume add arch vol --period 1h
	mkdir vol/big
	for i in $(seq 1 150); do head -c 3000000 /dev/zero >vol/big/f$i; printf '%s' $i >>vol/big/f$i; done
	krun 0 fixity add vol/big
	sql "UPDATE item SET last_check = 0" >/dev/null
	"$KIST" fixity audit -j 1 --batch 5 >out 2>err &
	pid=$!
	sleep 0.3
	"$KIST_SRCDIR/tests/fixity/pg-server" restart "$PGDIR"
	st=0
	wait $pid || st=$?
	# either it connected again and finished, or it said why it stopped
	if [ $st -ne 0 ]; then
		[ $st -eq 3 ] || { cat err; flunk "exit $st"; }
		grep -q "catalog" err
	fi
	krun 0 fixity audit -j 1
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict = 'ok'")" = 150 ]
	[ "$(sql "SELECT count(DISTINCT item_id) FROM check_log WHERE verdict = 'ok'")" = 150 ]
	[ "$(sql "SELECT count(*) FROM check_log WHERE verdict NOT IN ('ok', 'registered')")" = 0 ]
}

@test "audit killed at random moments: the catalog stays sound, the next audit carries on where it stopped" {
	skip_under_valgrind "kills the process; memory is not what this checks"
	python3 -c '
import os, random
r = random.Random(9)
os.makedirs("vol/big", exist_ok=True)
for i in range(1500):
    open("vol/big/f%04d" % i, "wb").write(r.randbytes(65536))'
	krun 0 fixity volume add v vol
	krun 0 fixity add -a sha512,sha3-512 vol/big
	local round pid pending killed=0
	for round in 1 2 3 4 5 6 7 8 9 10; do
		sql "UPDATE item SET last_check = 0" >/dev/null
		"$KIST" fixity audit -j 1 -q >/dev/null 2>&1 &
		pid=$!
		sleep "0.$((RANDOM % 400 + 10))"
		kill -9 "$pid" 2>/dev/null && killed=$((killed + 1))
		wait "$pid" || true
		if [ "$BACKEND" = sqlite ]; then
			[ "$(sql 'PRAGMA integrity_check')" = ok ]
		fi
		pending=$(sql "SELECT count(*) FROM item WHERE last_check = 0")
		krun 0 fixity audit
		# only what the killed run had not recorded is checked again
		expect_stdout_has "checked $pending files"
		[ "$(sql "SELECT count(*) FROM item WHERE last_check = 0")" -eq 0 ]
		[ "$(sql "SELECT count(*) FROM item WHERE verdict <> 'ok'")" -eq 0 ]
		[ "$(sql "SELECT count(*) FROM item WHERE lease_owner IS NOT NULL")" -eq 0 ]
	done
	echo "# $killed of 10 audits killed mid-run" >&3
	[ "$killed" -ge 5 ]
}
