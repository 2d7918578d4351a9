#!/usr/bin/env bats
# kist bag fetch against a real HTTP server on 127.0.0.1 (tests/http-server.py,
# started for each test): good files, and servers that send too many bytes,
# wrong bytes, too few, 404s, dropped connections, 503s that pass on a retry,
# redirects to schemes kist must not follow, and transfers that stall.

load helpers

setup() {
	kist_setup || return 1
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY
	mkdir -p src/sub srv outside
	printf 'alpha\n' >src/a.txt
	# 300 kB that no server could guess
	python3 -c 'import os, sys; sys.stdout.buffer.write(os.urandom(300000))' >src/sub/big.bin
	"$KIST" bag create -a sha256,md5 src bag >/dev/null 2>&1 || return 1
	cp -R bag/data/. srv/
	rm -rf bag/data/a.txt bag/data/sub
	python3 "$KIST_SRCDIR/tests/http-server.py" "$PWD/srv" >port 2>server.err 3>&- &
	SERVER_PID=$!
	for _ in $(seq 200); do
		[ -s port ] && break
		sleep 0.05
	done
	[ -s port ] || { cat server.err >&2; return 1; }
	BASE=http://127.0.0.1:$(cat port)
}

teardown() {
	local pid
	for pid in ${SERVER_PID-} ${TLS_PID-}; do
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	kist_teardown
}

# line URL NAME [LENGTH]: a fetch.txt line for data/NAME (length: srv/NAME's size)
line() {
	printf '%s %s data/%s\n' "$1" "${3:-$(stat -c %s "srv/$2")}" "$2" >>bag/fetch.txt
}

# both payload files from the server's KIND/ endpoint
both_from() {
	: >bag/fetch.txt
	line "$BASE/$1/a.txt" a.txt
	line "$BASE/$1/sub/big.bin" sub/big.bin
}

requests() {
	python3 -c 'import sys, urllib.request
print(urllib.request.urlopen(sys.argv[1]).read().decode().strip())' "$BASE/count/$1"
}

expect_no_temp_files() {
	local left
	left=$(find . -name '.kist-fetch*')
	[ -z "$left" ] || flunk "temporary files left behind:" "$left"
}

expect_absent() {
	[ ! -e "bag/data/$1" ] || flunk "bag/data/$1 should not be there"
}

@test "fetch: a holey bag is completed over HTTP and then validates" {
	both_from ok
	krun 1 bag validate bag
	expect_output "bag: incomplete (2 to fetch)"
	[[ $stderr == *"bag/data/a.txt: still to be fetched from $BASE/ok/a.txt (fetch.pending)"* ]] ||
		flunk "validate does not name the file still to fetch"
	[[ $stderr == *"bag/data/sub/big.bin: still to be fetched"* ]] || flunk "big.bin not named"
	krun 0 bag fetch bag
	expect_output "bag: complete (2 fetched, 0 already present)"
	cmp bag/data/a.txt srv/a.txt
	cmp bag/data/sub/big.bin srv/sub/big.bin
	expect_no_temp_files
	krun 0 bag validate bag
	expect_output "bag: valid"
}

@test "fetch: files already present and valid are skipped (resume)" {
	both_from ok
	krun 0 bag fetch bag
	krun 0 bag fetch bag
	expect_output "bag: complete (0 fetched, 2 already present)"
	[ "$(requests ok/a.txt)" -eq 1 ] || flunk "a.txt was downloaded again"
	# half done: one file removed, only that one is fetched again
	rm bag/data/sub/big.bin
	krun 0 bag fetch bag
	expect_output "bag: complete (1 fetched, 1 already present)"
	[ "$(requests ok/a.txt)" -eq 1 ] || flunk "a.txt was downloaded again"
	[ "$(requests ok/sub/big.bin)" -eq 2 ] || flunk "big.bin was not downloaded again"
}

@test "fetch: a present file with other contents is left alone" {
	both_from ok
	mkdir -p bag/data
	printf 'ALPHA\n' >bag/data/a.txt
	krun 1 bag fetch bag
	expect_output "bag: incomplete (1 of 2 still to fetch)"
	[[ $stderr == *"(fetch.present-differs)"* ]] || flunk "no fetch.present-differs"
	[ "$(cat bag/data/a.txt)" = ALPHA ] || flunk "the file was replaced"
	[ "$(requests ok/a.txt)" -eq 0 ] || flunk "a.txt was downloaded"
}

@test "fetch: -j downloads many files in parallel, each verified" {
	for i in $(seq 1 30); do printf 'file %d\n' "$i" >"src/f$i.txt"; done
	rm -rf bag srv/*
	"$KIST" bag create src bag >/dev/null 2>&1
	cp -R bag/data/. srv/
	: >bag/fetch.txt
	for f in $(cd srv && find . -type f | sed 's|^\./||'); do
		line "$BASE/ok/$f" "$f"
		rm "bag/data/$f"
	done
	krun 0 bag fetch -j 8 bag
	expect_output "bag: complete (32 fetched, 0 already present)"
	krun 0 bag validate bag
	expect_output "bag: valid"
}

@test "fetch: -j 4 runs four downloads at once" {
	for i in 1 2 3 4; do printf 'slow %d\n' "$i" >"src/s$i.txt"; done
	rm -rf bag srv/*
	"$KIST" bag create src bag >/dev/null 2>&1
	cp -R bag/data/. srv/
	: >bag/fetch.txt
	for i in 1 2 3 4; do
		line "$BASE/slow/s$i.txt" "s$i.txt"
		rm "bag/data/s$i.txt"
	done
	start=$(date +%s%N)
	krun 0 bag fetch -j 4 bag
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	expect_output "bag: complete (4 fetched, 0 already present)"
	# each takes a second: one after the other would be 4 s
	[ "$elapsed_ms" -lt 3000 ] || flunk "four 1 s downloads took $elapsed_ms ms with -j 4"
}

@test "fetch: a server sending more bytes than declared is cut off" {
	both_from ok
	line "$BASE/long/a.txt" a.txt
	sed -i 1d bag/fetch.txt
	krun 1 bag fetch bag
	expect_output "bag: incomplete (1 of 2 still to fetch)"
	[[ $stderr == *"bag/data/a.txt: $BASE/long/a.txt sent more than the 6 bytes fetch.txt gives; cut off (fetch.download-failed)"* ]] ||
		flunk "no cut-off message"
	expect_absent a.txt
	[ -f bag/data/sub/big.bin ] || flunk "the good file was not fetched"
	expect_no_temp_files
}

@test "fetch: a body without end and without Content-Length is stopped at the declared length" {
	: >bag/fetch.txt
	line "$BASE/endless/sub/big.bin" sub/big.bin
	# were the download not cut off, it would never end
	run --separate-stderr timeout 60 "$KIST" bag fetch bag
	expect_status 1
	[[ $stderr == *"sent more than the 300000 bytes"* ]] || flunk "no cut-off message"
	expect_absent sub/big.bin
	expect_no_temp_files
}

@test "fetch: wrong bytes of the right length are not kept" {
	both_from wrong
	krun 1 bag fetch bag
	expect_output "bag: incomplete (2 of 2 still to fetch)"
	[[ $stderr == *"checksum of what came differs from the manifest; not kept (fetch.download-failed)"* ]] ||
		flunk "no checksum message"
	expect_absent a.txt
	expect_absent sub/big.bin
	expect_no_temp_files
}

@test "fetch: a short body is an error" {
	both_from short
	krun 1 bag fetch --retries 0 bag
	[[ $stderr == *"ended after 5 of the 6 bytes fetch.txt gives"* ]] || flunk "no short-body message"
	expect_absent a.txt
	expect_no_temp_files
}

@test "fetch: a 404 is an error and is not retried" {
	: >bag/fetch.txt
	line "$BASE/ok/nothere.txt" a.txt 6
	krun 1 bag fetch --retries 3 --retry-wait 0.01 bag
	[[ $stderr == *"HTTP status 404 (fetch.download-failed)"* ]] || flunk "no 404 message"
	[ "$(requests ok/nothere.txt)" -eq 1 ] || flunk "a 404 was retried"
	expect_absent a.txt
}

@test "fetch: a 503 is retried with back-off until it succeeds" {
	: >bag/fetch.txt
	line "$BASE/flaky/2/a.txt" a.txt
	start=$(date +%s%N)
	krun 0 bag fetch --retries 3 --retry-wait 0.3 bag
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	[ "$(requests flaky/2/a.txt)" -eq 3 ] || flunk "expected 3 requests, saw $(requests flaky/2/a.txt)"
	# back-off: 0.3 s, then twice that
	[ "$elapsed_ms" -ge 900 ] || flunk "the retries came after only $elapsed_ms ms"
	cmp bag/data/a.txt srv/a.txt
}

@test "fetch: a 503 with Retry-After is retried no sooner than the server asks" {
	: >bag/fetch.txt
	line "$BASE/busy/a.txt" a.txt
	start=$(date +%s%N)
	krun 0 bag fetch --retries 1 --retry-wait 0.01 bag
	elapsed_ms=$((($(date +%s%N) - start) / 1000000))
	[ "$(requests busy/a.txt)" -eq 2 ] || flunk "expected 2 requests"
	[ "$elapsed_ms" -ge 1000 ] || flunk "retried after $elapsed_ms ms; the server asked for 1 s"
	cmp bag/data/a.txt srv/a.txt
}

@test "fetch: retries are bounded: a 503 that persists is given up" {
	: >bag/fetch.txt
	line "$BASE/flaky/9/a.txt" a.txt
	krun 1 bag fetch --retries 2 --retry-wait 0.01 bag
	[[ $stderr == *"HTTP status 503 (gave up after 3 attempts) (fetch.download-failed)"* ]] ||
		flunk "no give-up message"
	[ "$(requests flaky/9/a.txt)" -eq 3 ] || flunk "expected 3 requests"
	expect_absent a.txt
}

@test "fetch: a connection dropped mid-body is retried; the partial file never appears" {
	: >bag/fetch.txt
	line "$BASE/drop/sub/big.bin" sub/big.bin
	line "$BASE/drop-once/a.txt" a.txt
	krun 1 bag fetch --retries 1 --retry-wait 0.01 bag
	expect_output "bag: incomplete (1 of 2 still to fetch)"
	[[ $stderr == *"bag/data/sub/big.bin: "*"(gave up after 2 attempts) (fetch.download-failed)"* ]] ||
		flunk "no give-up message for the dropped download"
	[ "$(requests drop/sub/big.bin)" -eq 2 ] || flunk "the drop was not retried"
	expect_absent sub/big.bin
	cmp bag/data/a.txt srv/a.txt   # dropped once, then whole
	expect_no_temp_files
}

@test "fetch: a connection reset mid-body is retried" {
	: >bag/fetch.txt
	line "$BASE/reset-once/sub/big.bin" sub/big.bin
	krun 0 bag fetch --retries 1 --retry-wait 0.01 bag
	[ "$(requests reset-once/sub/big.bin)" -eq 2 ] || flunk "the reset was not retried"
	cmp bag/data/sub/big.bin srv/sub/big.bin
	krun 1 bag validate bag   # a.txt is still missing, and only that
	expect_output "bag: incomplete (1 missing)"
}

@test "fetch: a stalled transfer times out" {
	: >bag/fetch.txt
	line "$BASE/stall/sub/big.bin" sub/big.bin
	start=$SECONDS
	run --separate-stderr timeout 30 "$KIST" bag fetch --timeout 1 --retries 0 bag
	expect_status 1
	[[ $stderr == *"stall/sub/big.bin: no data for 1 s (gave up after 1 attempt) (fetch.download-failed)"* ]] ||
		flunk "no stall message"
	# the server holds the connection for 30 s
	[ $((SECONDS - start)) -lt 10 ] || flunk "took $((SECONDS - start)) s to notice the stall"
	expect_absent sub/big.bin
	expect_no_temp_files
}

@test "fetch: redirects are followed to http, never to file: or ftp:" {
	: >bag/fetch.txt
	line "$BASE/redirect?to=$BASE/ok/a.txt" a.txt
	line "$BASE/redirect?to=file://$PWD/srv/sub/big.bin" sub/big.bin
	krun 1 bag fetch bag
	cmp bag/data/a.txt srv/a.txt
	expect_absent sub/big.bin
	[[ $stderr == *"redirects only to http and https) (fetch.download-failed)"* ]] ||
		flunk "no refusal of the file: redirect"
	rm bag/fetch.txt
	line "$BASE/redirect?to=ftp://127.0.0.1:1/big.bin" sub/big.bin
	krun 1 bag fetch bag
	[[ $stderr == *"redirects only to http and https) (fetch.download-failed)"* ]] ||
		flunk "no refusal of the ftp: redirect"
	expect_absent sub/big.bin
}

@test "fetch: file: URLs work; other schemes are refused" {
	: >bag/fetch.txt
	line "file://$PWD/srv/a.txt" a.txt
	line "ftp://127.0.0.1/sub/big.bin" sub/big.bin
	krun 1 bag fetch bag
	cmp bag/data/a.txt srv/a.txt
	[[ $stderr == *"bag/data/sub/big.bin: ftp://127.0.0.1/sub/big.bin: scheme 'ftp' refused (only http, https and file) (fetch.url-refused)"* ]] ||
		flunk "ftp not refused"
	expect_absent sub/big.bin
}

@test "fetch: paths that would leave data/ are refused and nothing is written outside" {
	printf '%s 6 ../outside/x.txt\n%s 6 bag-info.txt\n%s 6 %s\n' \
		"$BASE/ok/a.txt" "$BASE/ok/a.txt" "$BASE/ok/a.txt" "$PWD/outside/y.txt" >bag/fetch.txt
	cp bag/bag-info.txt info.before
	krun 1 bag fetch bag
	[ -z "$(ls -A outside)" ] || flunk "something was written outside the bag"
	cmp bag/bag-info.txt info.before
	[ "$(requests ok/a.txt)" -eq 0 ] || flunk "a refused line was downloaded"
}

@test "fetch: a symlink on the way is refused and nothing is written through it" {
	both_from ok
	mkdir -p bag/data
	ln -s "$PWD/outside" bag/data/sub
	krun 1 bag fetch bag
	[[ $stderr == *"bag/data/sub/big.bin: "*"symbolic link"*"(fetch.symlink)"* ]] || flunk "no symlink refusal"
	[ -z "$(ls -A outside)" ] || flunk "something was written through the symlink"
	cmp bag/data/a.txt srv/a.txt
}

# interrupt SIGNAL STATUS: a fetch stuck on a stalled server is sent SIGNAL
# once its temporary file exists; it must end with STATUS and leave nothing.
interrupt() {
	: >bag/fetch.txt
	line "$BASE/stall/sub/big.bin" sub/big.bin
	# a background job starts with SIGINT ignored: give it the default back
	python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.execv(sys.argv[1], sys.argv[1:])' "$KIST" bag fetch bag >out 2>err 3>&- &
	pid=$!
	for _ in $(seq 200); do
		[ -n "$(find bag -name '.kist-fetch*')" ] && break
		sleep 0.05
	done
	[ -n "$(find bag -name '.kist-fetch*')" ] || flunk "no temporary file appeared"
	kill "-$1" "$pid"
	status=0
	wait "$pid" || status=$?
	[ "$status" -eq "$2" ] || flunk "expected the $1 status $2, got $status"
	grep -q 'interrupted' err || flunk "no interruption message: $(cat err)"
	expect_absent sub/big.bin
	expect_no_temp_files
}

@test "fetch: SIGTERM stops the downloads and removes the temporary files" {
	interrupt TERM 143
}

@test "fetch: SIGINT (Ctrl-C) stops the downloads and removes the temporary files" {
	interrupt INT 130
}

@test "fetch: after a SIGKILL, the next run removes the stale temporary file and finishes" {
	: >bag/fetch.txt
	line "$BASE/stall/sub/big.bin" sub/big.bin
	"$KIST" bag fetch bag >out 2>err 3>&- &
	pid=$!
	for _ in $(seq 200); do
		[ -n "$(find bag -name '.kist-fetch*')" ] && break
		sleep 0.05
	done
	kill -KILL "$pid"
	wait "$pid" || true
	[ -n "$(find bag -name '.kist-fetch*')" ] || flunk "no temporary file was left to clean up"
	: >bag/fetch.txt
	line "$BASE/ok/sub/big.bin" sub/big.bin
	line "$BASE/ok/a.txt" a.txt
	krun 0 bag fetch -v bag
	[[ $stderr == *"removed, left by a fetch that was killed (fetch.stale-removed)"* ]] ||
		flunk "the stale file was not reported"
	expect_no_temp_files
	krun 0 bag validate bag
	expect_output "bag: valid"
}

@test "fetch: --format json reports the counts and findings" {
	both_from ok
	line "$BASE/ok/nothere" nothere 3
	krun 1 bag fetch --format json bag
	python3 -c '
import json, sys
d = json.loads(sys.argv[1])
assert d["complete"] is False, d
assert (d["listed"], d["fetched"], d["present"], d["remaining"]) == (3, 2, 0, 1), d
assert d["bytes"] == 300006, d
codes = [f["code"] for f in d["findings"]]
assert "fetch.not-in-manifest" in codes, codes
' "$output" || flunk "unexpected JSON"
}

@test "fetch: a bag without fetch.txt is complete already" {
	rm -rf bag
	"$KIST" bag create src bag >/dev/null 2>&1
	krun 0 bag fetch bag
	expect_output "bag: complete (0 fetched, 0 already present)"
}

@test "fetch: usage errors" {
	krun 2 bag fetch
	[[ $stderr == *"which bag?"* ]] || flunk "no usage message"
	krun 2 bag fetch --retries many bag
	krun 2 bag fetch --retry-wait -1 bag
	krun 2 bag fetch --timeout 0 bag
	krun 2 bag fetch bag bag
	krun 0 bag fetch -h
	[[ $output == *"usage: kist bag fetch"* ]] || flunk "no help"
	krun 1 bag fetch outside
	krun 3 bag fetch nowhere
	[[ $stderr == *"failure: nowhere: No such file or directory (bag.unreadable)"* ]] || flunk "no message for a missing bag"
}

@test "fetch: files brought in are recorded as a PREMIS capture event; --no-premis records nothing" {
	both_from ok
	cp bag/metadata/premis.xml premis.before
	krun 0 bag fetch --no-premis bag
	cmp bag/metadata/premis.xml premis.before
	rm -rf bag/data/a.txt bag/data/sub
	krun 0 bag fetch --agent 'Ada Archivist' bag
	krun 0 premis events bag
	[[ $output == *"capture  success"*"kist bag fetch: 2 file(s), 300006 bytes fetched"* ]] ||
		flunk "no capture event"
	grep -q 'eventType/cap' bag/metadata/premis.xml || flunk "capture not from the LoC vocabulary"
	grep -q 'Ada Archivist' bag/metadata/premis.xml || flunk "the agent is not recorded"
	krun 0 premis validate bag
	krun 0 bag validate bag
	expect_output "bag: valid"
	# nothing fetched, nothing recorded
	cp bag/metadata/premis.xml premis.after
	krun 0 bag fetch bag
	cmp bag/metadata/premis.xml premis.after
}

@test "fetch: a full disk is exit 3 and leaves no partial file" {
	[ "$(id -u)" -eq 0 ] || skip "needs root to mount a small tmpfs"
	mkdir mnt src2
	mount -t tmpfs -o size=1m tmpfs mnt 2>/dev/null || skip "cannot mount a tmpfs here"
	head -c 3000000 /dev/urandom >src2/huge.bin
	"$KIST" bag create -a sha256 src2 big >/dev/null 2>&1
	cp big/data/huge.bin srv/huge.bin
	rm big/data/huge.bin
	cp -R big mnt/bag
	printf '%s 3000000 data/huge.bin\n' "$BASE/ok/huge.bin" >mnt/bag/fetch.txt
	run --separate-stderr "$KIST" bag fetch mnt/bag
	st=$status
	left=$(find mnt -name '.kist-fetch*' -o -name huge.bin)
	umount mnt
	[ "$st" -eq 3 ] || flunk "expected exit 3, got $st"
	[[ "$stderr" == *"No space left on device (fetch.write-failed)"* ]] || flunk "no ENOSPC message"
	[ -z "$left" ] || flunk "left behind: $left"
}

@test "fetch: a progress line on a terminal, counting the bytes as they arrive" {
	require_pty
	: >bag/fetch.txt
	line "$BASE/stall/sub/big.bin" sub/big.bin
	run tty_sh "KIST_PROGRESS_DELAY_MS=0 $(q "$KIST") bag fetch --timeout 1 --retries 0 bag >out"
	[[ "$output" == *"/1 files"* ]] || flunk "no progress line on the terminal"
	# half of the file came before the server stalled
	[[ "$output" == *"146.5 KiB/293.0 KiB"* ]] || flunk "the downloaded bytes are not counted"
}

@test "fetch: https with a CA given by --cacert; an untrusted certificate is refused" {
	command -v openssl >/dev/null || skip "no openssl to make a certificate"
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
		-addext subjectAltName=IP:127.0.0.1 -keyout key.pem -out cert.pem 2>/dev/null ||
		flunk "openssl could not make a certificate"
	python3 "$KIST_SRCDIR/tests/http-server.py" "$PWD/srv" cert.pem key.pem >tls-port 2>tls.err 3>&- &
	TLS_PID=$!
	for _ in $(seq 200); do
		[ -s tls-port ] && break
		sleep 0.05
	done
	[ -s tls-port ] || flunk "no https server: $(cat tls.err)"
	: >bag/fetch.txt
	line "https://127.0.0.1:$(cat tls-port)/ok/a.txt" a.txt
	krun 1 bag fetch --retries 3 --retry-wait 0.01 bag
	[[ $stderr == *"certificate"*"(fetch.download-failed)"* ]] || flunk "an untrusted certificate was not refused"
	[[ $stderr != *"gave up after"* ]] || flunk "a certificate failure was retried"
	expect_absent a.txt
	krun 0 bag fetch --cacert cert.pem bag
	cmp bag/data/a.txt srv/a.txt
}

@test "fetch: a malformed fetch.txt line: the others are fetched, the bag is not complete" {
	both_from ok
	printf 'garbage\n' >>bag/fetch.txt
	krun 1 bag fetch bag
	expect_output "bag: not complete (2 fetched, 0 already present; 1 error, 0 failures)"
	[[ $stderr == *"bag/fetch.txt: line 3: expected 'URL LENGTH PATH' (fetch.malformed)"* ]] ||
		flunk "the malformed line is not named"
	cmp bag/data/sub/big.bin srv/sub/big.bin
}
