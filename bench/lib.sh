# shellcheck shell=bash
# bench/lib.sh: sourced by the benchmark drivers (bench/blk.sh,
# bench/net.sh, bench/create.sh, bench/migrate.sh): what each checks
# before it runs, and the rig boot of their Xen halves.
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

# bench_overlay_libs DIR BINARY...: the shared libraries each BINARY needs
# (ldd), copied into DIR at their paths, with the loader's search path, so
# that the binaries run from a guest initramfs unpacked from DIR.
bench_overlay_libs() {
	local ov=$1 l
	shift
	mkdir -p "$ov/etc"
	ldd "$@" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
		while read -r l; do
			mkdir -p "$ov$(dirname "$l")"
			cp -L "$l" "$ov$l"
		done
	printf '%s\n' /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu >"$ov/etc/ld.so.conf"
	ldconfig -r "$ov" 2>/dev/null || echo "bench: warning: ldconfig -r $ov failed" >&2
}

# bench_initrd_with IMG OVERLAY NAME: IMG/NAME is the guest image's
# IMG/initrd.gz with the OVERLAY directory packed after it (cpio newc,
# gzip: the kernel unpacks both, the later over the earlier).  1 when
# packing fails.
bench_initrd_with() {
	local img=$1 ov=$2 name=$3
	(cd "$ov" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -1 >"$ov.gz" ||
		return 1
	cat "$img/initrd.gz" "$ov.gz" >"$img/$name" && chmod 644 "$img/$name"
}

# bench_rig BUILD RIG_OUT SCENARIO TIMEOUT: one boot of the Xen rig (its
# log on stderr) running bench/rig/SCENARIO, with Enso installed from
# BUILD into BUILD/bench-destdir and the caller's $args (bench/rig-args.sh)
# on dom0's command line.  RIG_DOMU_ADD, RIG_DOM0_ADD, RIG_XEN_ARGS and
# the like go with it from the environment (RIG_X=... bench_rig ...);
# RIG_TIMEOUT, when set, wins over TIMEOUT.  Returns boot.sh's status.
bench_rig() {
	local build=$1 out=$2 scenario=$3 timeout=$4 destdir=$1/bench-destdir
	rm -rf "$destdir"
	make -s -C "$build" install DESTDIR="$destdir" >/dev/null || return 1
	RIG_SCENARIO_DIR="$root/bench/rig" RIG_SCENARIOS=$scenario \
		RIG_TIMEOUT=${RIG_TIMEOUT:-$timeout} RIG_OUT="$out" \
		RIG_DOM0_ARGS="${args:-}" ENSO_DESTDIR="$destdir" \
		"$root/tests/rig/boot.sh" >&2
}
