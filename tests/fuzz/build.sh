#!/bin/sh
# Builds the libFuzzer targets with clang (ASan + UBSan + libFuzzer), apart
# from the configured build: the library's sources are compiled again into
# OUT/obj, so `make fuzz` never touches the gcc objects.
# Usage (from `make fuzz`): build.sh SRCDIR OUT TARGET... -- SOURCE...
# Environment: FUZZ_CC, FUZZ_CPPFLAGS (include paths, dependency flags),
# FUZZ_LIBS.
set -eu
srcdir=$1 out=$2
shift 2
targets=
while [ $# -gt 0 ] && [ "$1" != -- ]; do targets="$targets $1"; shift; done
[ $# -gt 0 ] && shift
cc=${FUZZ_CC:-clang}
san='-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer'
cflags="-g -O1 -std=gnu11 -pthread $san"
mkdir -p "$out/obj"
datadir=$(cd "$srcdir" && pwd)/data
objs=
for src in "$@"; do
	case $src in *.c) ;; *) continue ;; esac
	obj=$out/obj/$(echo "$src" | tr / _ | sed 's/\.c$/.o/')
	if [ ! -f "$obj" ] || [ "$srcdir/$src" -nt "$obj" ] || [ -n "$(find "$srcdir/include" "$srcdir/src" -name '*.h' -newer "$obj" | head -1)" ]; then
		echo "  FUZZCC   $src"
		$cc $cflags -fsanitize=fuzzer-no-link $FUZZ_CPPFLAGS "-DKIST_SRCDATADIR=\"$datadir\"" \
			-c "$srcdir/$src" -o "$obj"
	fi
	objs="$objs $obj"
done
for common in fuzz-common; do
	$cc $cflags -fsanitize=fuzzer-no-link $FUZZ_CPPFLAGS -c "$srcdir/tests/fuzz/$common.c" -o "$out/obj/$common.o"
done
for t in $targets; do
	echo "  FUZZLD   $out/fuzz-$t"
	$cc $cflags -fsanitize=fuzzer $FUZZ_CPPFLAGS "$srcdir/tests/fuzz/fuzz-$t.c" \
		"$out/obj/fuzz-common.o" $objs $FUZZ_LIBS -o "$out/fuzz-$t"
done
