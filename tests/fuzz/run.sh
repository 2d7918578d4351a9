#!/bin/sh
# Runs every built fuzz target for SECONDS seconds each on a copy of its seed
# corpus (the seeds in the source tree are left as they are). A crash, a leak,
# a timeout (one input over 10 s) or running out of memory (2 GB) fails it.
# Writes one TAP line per target to stdout; crash inputs are kept in
# OUT/crashes/TARGET/. Usage: run.sh SRCDIR OUT SECONDS TARGET...
set -u
srcdir=$1 out=$2 secs=$3
shift 3
export KIST_DATADIR=${KIST_DATADIR:-$srcdir/data}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
echo "1..$#"
n=0 failed=0
for t in "$@"; do
	n=$((n + 1))
	work=$out/run/$t crashes=$out/crashes/$t
	rm -rf "$work"
	mkdir -p "$work" "$crashes"
	[ -d "$srcdir/tests/fuzz/corpus/$t" ] && cp "$srcdir/tests/fuzz/corpus/$t"/* "$work"/ 2>/dev/null
	dict=
	[ -f "$srcdir/tests/fuzz/$t.dict" ] && dict=-dict=$srcdir/tests/fuzz/$t.dict
	if "$out/fuzz-$t" $dict -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len=65536 -artifact_prefix="$crashes/" -print_final_stats=1 \
		"$work" >"$out/fuzz-$t.log" 2>&1; then
		echo "ok $n - fuzz-$t: $(grep -o 'stat::number_of_executed_units: *[0-9]*' "$out/fuzz-$t.log" | grep -o '[0-9]*$') runs in ${secs}s"
	else
		failed=$((failed + 1))
		echo "not ok $n - fuzz-$t: see $out/fuzz-$t.log, inputs in $crashes/"
		grep -A30 'ERROR:\|SUMMARY\|Test unit written' "$out/fuzz-$t.log" | head -60 | sed 's/^/# /'
	fi
done
[ $failed = 0 ]
