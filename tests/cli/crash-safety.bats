#!/usr/bin/env bats
# Crash safety (issue 9): SIGKILL at random moments during `kist bag create`
# in place and `kist bag update`, on a collection of 3000 files. The work is
# done by tests/crash/kill-test.py (see there for what is checked); set
# KIST_CRASH_ROUNDS for a longer run and KIST_CRASH_SEED to replay one.
load helpers

crash_run() {
	local mode=$1
	skip_under_valgrind "kills the process; memory is not what this checks"
	run --separate-stderr python3 "$KIST_SRCDIR/tests/crash/kill-test.py" "${KIST_REAL:-$KIST}" "$mode" \
		"${KIST_CRASH_ROUNDS:-15}" 3000
	[ "$status" -eq 0 ] || flunk "kill test ($mode) failed"
	echo "# $output" >&3
}

@test "bag create in place killed at random moments: every file once, a rerun makes a valid bag" {
	crash_run create
}

@test "bag update killed at random moments: data/ untouched, a rerun makes a valid bag" {
	crash_run update
}
