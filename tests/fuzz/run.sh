#!/usr/bin/env bash
# libFuzzer harnesses for every parser of outside input:
#
#   tests/fuzz/run.sh BUILD_DIR [SECONDS] [NAME...]
#
# Builds the harnesses with clang (-fsanitize=fuzzer,address,undefined)
# into BUILD_DIR/fuzz/, compiling the sources they need directly (the
# autotools build stays gcc's), then runs each, one at a time, for SECONDS
# (default 20) from its seeds in tests/fuzz/corpus/NAME plus what earlier
# runs found (BUILD_DIR/fuzz/corpus/NAME).  One line per harness:
#
#   ok - fuzz: NAME: N execs, 0 crashes (R exec/s, C inputs in the corpus)
#   not ok - fuzz: NAME: crashed after N execs: <sanitizer's summary>; input: PATH
#
# A crash's input is kept in BUILD_DIR/fuzz/crashes/; replay it with
# BUILD_DIR/fuzz/bin/fuzz_NAME PATH.  See tests/fuzz/README.md.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: tests/fuzz/run.sh BUILD_DIR [SECONDS] [NAME...]}
secs=${2:-20}
shift $(( $# >= 2 ? 2 : 1 ))
all=(xs_wire xs_drop cfg xlconf json qmp bzimage)
names=("$@")
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")

mkdir -p "$build"
out=$(cd "$build" && pwd)/fuzz
mkdir -p "$out/obj" "$out/bin" "$out/crashes" "$out/logs"

CC=${FUZZ_CC:-clang}
if ! command -v "$CC" >/dev/null; then
	echo "not ok - fuzz: $CC is not installed (scripts/deps.sh test installs clang and libclang-rt-14-dev)"
	exit 1
fi
pkgs="xencontrol xenguest xenstore xenevtchn xengnttab xenforeignmemory xentoollog yajl liblzma zlib"
if ! pkgcflags=$(pkg-config --cflags $pkgs) || ! pkglibs=$(pkg-config --libs $pkgs); then
	echo "not ok - fuzz: pkg-config cannot find $pkgs (scripts/deps.sh build)"
	exit 1
fi
# The tree's own warnings (configure.ac's WARN_CFLAGS), as errors.
# clang's -Wformat=2 also flags vsnprintf in a va_list wrapper, which gcc
# does not: that one is left to gcc.
warn="-Wall -Wextra -Wshadow -Wformat=2 -Wno-format-nonliteral -Wmissing-prototypes -Wstrict-prototypes -Werror"
san="-fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer"
cflags="-std=gnu11 -D_GNU_SOURCE -g -O1 $warn $san -I$root -I$root/util -I$root/libxl -I$root/xenstored -I$here $pkgcflags"

# The .c files a local.mk lists (so a file added there is fuzzed too).
sources_of() {
	sed 's/#.*//' "$@" | grep -oE '[A-Za-z0-9_/.-]+\.c\b' | sort -u
}
util_src=$(sources_of "$root/util/local.mk")
xs_src=$(sources_of "$root/xenstored/local.mk" | grep -vE '^xenstored/(main|trace)\.c$')
xl_src=$(sources_of "$root/libxl/local.mk" "$root/libxl/runtime.mk")

# Compiles one source unless its object is newer than it and every header.
newest_header=$(find "$root/util" "$root/xenstored" "$root/libxl" "$root/backends" \
	"$here" \( -name '*.h' -o -name run.sh -o -name nocov.txt \) \
	-newer "$out/obj/.stamp" 2>/dev/null | head -1)
[ -f "$out/obj/.stamp" ] || newest_header=all
compile() {	# SRC MODE(lib|main)
	local src=$1 obj="$out/obj/$(echo "$1" | tr / _).o" extra="-fsanitize=fuzzer-no-link -fsanitize-coverage-ignorelist=$here/nocov.txt"
	[ "$2" = main ] && extra=-fsanitize=fuzzer
	if [ -z "$newest_header" ] && [ -f "$obj" ] && [ "$obj" -nt "$root/$src" ]; then
		echo "$obj"
		return 0
	fi
	$CC $cflags $extra -c "$root/$src" -o "$obj" >>"$out/logs/build.log" 2>&1 || return 1
	echo "$obj"
}

: >"$out/logs/build.log"
build_failed=""
objs_of() {	# LIST -> objects on stdout, or fails
	local s o
	for s in $1; do
		o=$(compile "$s" lib) || { build_failed="$build_failed $s"; return 1; }
		echo "$o"
	done
}
util_o=$(objs_of "$util_src") && xs_o=$(objs_of "$xs_src") &&
	xl_o=$(objs_of "$xl_src") &&
	common_o=$(compile tests/fuzz/xs_common.c lib) || build_failed="${build_failed:- objects}"
if [ -z "$build_failed" ]; then
	for n in "${all[@]}"; do
		case $n in
		xs_*) deps="$common_o $xs_o $util_o" ;;
		*) deps="$xl_o $util_o" ;;
		esac
		main=$(compile "tests/fuzz/fuzz_$n.c" main) &&
			$CC $san -fsanitize=fuzzer -o "$out/bin/fuzz_$n" "$main" $deps $pkglibs \
				>>"$out/logs/build.log" 2>&1 || build_failed="$build_failed fuzz_$n"
	done
fi
if [ -n "$build_failed" ]; then
	echo "not ok - fuzz: build with $CC failed ($build_failed); $(grep -m1 -E 'error|undefined' "$out/logs/build.log")"
	exit 1
fi
touch "$out/obj/.stamp"

# Per harness: the longest input worth trying.
max_len() {
	case $1 in
	xs_*) echo 20000 ;;	# a few whole messages of up to 4 KiB each
	bzimage) echo 65536 ;;
	*) echo 16384 ;;
	esac
}

failed=0
for n in "${names[@]}"; do
	bin="$out/bin/fuzz_$n"
	log="$out/logs/$n.log"
	work="$out/corpus/$n"
	mkdir -p "$work"
	if [ ! -x "$bin" ]; then
		echo "not ok - fuzz: $n: no such harness (have: ${all[*]})"
		failed=1
		continue
	fi
	dict=()
	[ -f "$here/$n.dict" ] && dict=(-dict="$here/$n.dict")
	rm -f "$out/crashes/$n-"*
	seeds=()
	[ -d "$here/corpus/$n" ] && seeds=("$here/corpus/$n")
	"$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
		-max_len="$(max_len "$n")" -print_final_stats=1 "${dict[@]}" \
		-artifact_prefix="$out/crashes/$n-" "$work" "${seeds[@]}" >"$log" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	rate=$(grep -oE 'exec/s: [0-9]+' "$log" | tail -1 | grep -oE '[0-9]+')
	crash=$(ls "$out/crashes/$n-"* 2>/dev/null | head -1)
	if [ $rc -eq 0 ] && [ -z "$crash" ] && [ -n "$execs" ]; then
		echo "ok - fuzz: $n: $execs execs, 0 crashes (${rate:-?} exec/s, $(ls "$work" | wc -l) inputs in the corpus)"
	else
		why=$(grep -m1 -E '^SUMMARY|ERROR: (AddressSanitizer|libFuzzer|LeakSanitizer)|runtime error|store check failed|round trip differs|does not read back' "$log")
		echo "not ok - fuzz: $n: crashed after ${execs:-?} execs (exit $rc): ${why:-see $log}; input: ${crash:-none}"
		failed=1
	fi
done
exit $failed
