# shellcheck shell=bash
# bench/lib.sh: sourced by the benchmark drivers (bench/blk.sh,
# bench/net.sh, bench/create.sh): what each checks before it runs.
# SCRIPT is the driver's name, for its messages; both exit 2 on failure.

# bench_built SCRIPT BUILD FILE...: each FILE (relative to BUILD) built.
bench_built() {
	local script=$1 build=$2 f
	shift 2
	for f in "$@"; do
		if [ ! -x "$build/$f" ]; then
			echo "$script: build first: no $build/$f (tests/run, or configure and make in $build)" >&2
			exit 2
		fi
	done
}

# bench_need SCRIPT PACKAGE FILE: FILE there, installing Debian's PACKAGE
# for it when it is not (apt-get update only when the install fails).
bench_need() {
	local script=$1 pkg=$2 file=$3
	[ -e "$file" ] && return 0
	echo "$script: installing $pkg (for $file)" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$pkg" >&2; }
	[ -e "$file" ] || { echo "$script: $file still missing after installing $pkg" >&2; exit 2; }
}
