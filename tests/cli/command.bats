#!/usr/bin/env bats
# The kist command itself: version, help, the command table, usage errors and
# the global flags every command shares.

load helpers

commands() {
	"$KIST" help --commands
}

@test "--version prints 'kist VERSION' with the version configure.ac gives" {
	krun 0 --version
	expect_output "kist 0.1.0"
	expect_no_stderr
	local v
	v=$(sed -n 's/^AC_INIT(\[kist\], *\[\([^]]*\)\].*/\1/p' "$KIST_SRCDIR/configure.ac")
	[ -n "$v" ] || skip "no AC_INIT version in $KIST_SRCDIR/configure.ac"
	expect_output "kist $v"
}

@test "kist help, -h and --help print the same usage on stdout and exit 0" {
	krun 0 help
	expect_no_stderr
	[[ "${lines[0]}" == "usage: kist "* ]] || flunk "first line is not a usage line"
	expect_line "Commands:"
	local help=$output
	krun 0 -h
	expect_no_stderr
	expect_output "$help"
	krun 0 --help
	expect_output "$help"
}

@test "help --commands prints every command and subcommand, one a line; kist help lists the commands" {
	krun 0 help --commands
	expect_no_stderr
	[ "${#lines[@]}" -ge 1 ] || flunk "no commands listed"
	expect_line checksum
	expect_line "bag create"
	local name
	for name in "${lines[@]}"; do
		[[ "$name" =~ ^[a-z][a-z0-9-]*( [a-z][a-z0-9-]*)?$ ]] || flunk "not a command name: '$name'"
	done
	# no duplicates
	[ "$(printf '%s\n' "${lines[@]}" | sort | uniq -d)" = "" ] || flunk "duplicate names"
	local names=("${lines[@]}")
	krun 0 help
	for name in "${names[@]}"; do
		[[ "$name" == *" "* ]] && continue   # subcommands are listed by kist CMD -h
		[[ "$output" =~ $'\n  '"$name"' ' ]] || flunk "kist help does not list $name"
	done
}

@test "every command answers 'kist help CMD', 'kist CMD -h' and 'kist CMD --help' with its usage" {
	local cmd help
	[ -n "$(commands)" ] || flunk "kist help --commands lists nothing"
	local IFS=$'\n'
	for cmd in $(commands); do
		IFS=$' \t\n'
		# shellcheck disable=SC2086
		krun 0 help $cmd
		expect_no_stderr
		[[ "${lines[0]}" == "usage: kist $cmd"* ]] || flunk "help $cmd: no usage line"
		help=$output
		# shellcheck disable=SC2086
		krun 0 $cmd -h
		expect_no_stderr
		[[ "$output" == usage:* ]] || flunk "$cmd -h: output does not start with 'usage:'"
		expect_output "$help"
		# shellcheck disable=SC2086
		krun 0 $cmd --help
		expect_no_stderr
		expect_output "$help"
	done
}

@test "every command listed under 'Commands:' in kist help is accepted by kist help NAME" {
	# Includes 'help' itself, which kist help lists as a command.
	local name
	krun 0 help
	local listed
	listed=$(printf '%s\n' "$output" | sed -n '/^Commands:/,/^$/{s/^  \([a-z][a-z0-9-]*\) .*/\1/p}')
	[ -n "$listed" ] || flunk "no commands under 'Commands:'"
	for name in $listed; do
		krun 0 help "$name"
		[[ "$output" == usage:* ]] || flunk "kist help $name: output does not start with 'usage:'"
	done
}

@test "kist with no command: usage on stderr, exit 2" {
	krun 2
	expect_no_stdout
	expect_stderr_has "usage: kist"
}

@test "unknown command: exit 2, a message naming it on stderr, nothing on stdout" {
	krun 2 frobnicate
	expect_no_stdout
	expect_stderr_has "frobnicate"
	krun 2 help frobnicate
	expect_no_stdout
	expect_stderr_has "frobnicate"
	# a command's name is matched exactly
	krun 2 CHECKSUM
	krun 2 checksu
}

@test "unknown flags: exit 2 with a message on stderr, nothing on stdout" {
	echo x >f
	krun 2 --frobnicate
	expect_no_stdout
	[ -n "$stderr" ] || flunk "no message"
	krun 2 checksum --frobnicate f
	expect_no_stdout
	expect_stderr_has "frobnicate"
	krun 2 checksum -Z f
	expect_no_stdout
	[ -n "$stderr" ] || flunk "no message"
	for cmd in $(commands); do
		krun 2 "$cmd" --no-such-flag
		expect_no_stdout
		[ -n "$stderr" ] || flunk "$cmd: no message"
	done
}

@test "-j takes a whole number of threads from 1 to 1024; anything else is a usage error" {
	echo x >f
	local bad
	for bad in 0 -1 -0 abc 1x 2.5 "" 1025 4294967297 99999999999999999999999; do
		krun 2 checksum -j "$bad" f
		expect_no_stdout
		expect_stderr_has "-j"
		krun 2 -j "$bad" checksum f
		expect_no_stdout
	done
	krun 2 checksum f -j
	expect_no_stdout
}

@test "-j accepts 1 and 1024, as --jobs N, --jobs=N and before the command" {
	printf 'hello\n' >f
	local want
	want=$(sha256sum f)
	local form
	for form in "-j 1" "-j1" "-j 1024" "--jobs 3" "--jobs=2"; do
		# shellcheck disable=SC2086
		krun 0 checksum $form f
		expect_output "$want"
		expect_no_stderr
	done
	krun 0 -j 2 checksum f
	expect_output "$want"
	krun 0 --jobs=1 checksum f
	expect_output "$want"
}

@test "checksum usage errors exit 2 and print nothing on stdout" {
	echo x >f
	sha256sum f >f.sha256
	krun 2 checksum                          # no paths
	expect_no_stdout
	krun 2 checksum -a sha999 f              # unknown algorithm
	expect_no_stdout
	expect_stderr_has "sha999"
	krun 2 checksum -a "" f
	expect_no_stdout
	krun 2 checksum -a , f
	expect_no_stdout
	krun 2 checksum -a md5,nope f
	expect_no_stdout
	krun 2 checksum --format xml f           # unknown format
	expect_no_stdout
	expect_stderr_has "xml"
	krun 2 checksum --format bagit -a md5,sha1 f   # a manifest has one algorithm
	expect_no_stdout
	krun 2 checksum -c f.sha256 f            # -c takes only the list
	expect_no_stdout
	krun 2 checksum -c f.sha256 -a md5,sha1  # -c: one algorithm at most
	expect_no_stdout
	krun 2 checksum -c f.sha256 --format csv # -c writes text or json
	expect_no_stdout
	krun 2 checksum -c f.sha256 --format bagit
	expect_no_stdout
	krun 2 checksum -c                       # -c needs a list
	expect_no_stdout
}

@test "a usage error is reported before any file is read" {
	mkfifo fifo
	# If kist opened the FIFO for reading it would block; it must not get that far.
	run --separate-stderr timeout 20 "$KIST" checksum -a nope fifo
	expect_status 2
}

@test "output that cannot be written is an I/O error: exit 3 with a message" {
	[ -w /dev/full ] || skip "no /dev/full"
	echo x >f
	run --separate-stderr bash -c '"$KIST" --version >/dev/full'
	expect_status 3
	[ -n "$stderr" ] || flunk "no message"
	run --separate-stderr bash -c '"$KIST" checksum f >/dev/full'
	expect_status 3
	[ -n "$stderr" ] || flunk "no message"
	run --separate-stderr bash -c '"$KIST" help >/dev/full'
	expect_status 3
}
