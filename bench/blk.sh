#!/usr/bin/env bash
# bench/blk.sh: the disk I/O a guest gets from Enso's backends against the
# anchors, with fio inside the guest: 4 KiB random read and write IOPS at
# queue depth 1 and 32, and 1 MiB sequential read and write throughput.
#
#   Xen   Enso's enso-blkback against Linux's xen-blkback (dom0's module,
#         the nodes written by the scenario) and QEMU's qdisk (Debian's
#         qemu-system-xen), side by side in one boot of the Xen rig
#         (scenario bench/rig/70-bench-blk, whose header says the method);
#   KVM   Enso's disk path against libvirt's default for the same guest and
#         raw file, both on QEMU's TCG (bench/kvm.sh --blk; method in
#         bench/blk/kvm-part.sh).
#
# Prints each figure (medians over the rounds), the ratios enso/kernel,
# enso/qdisk and enso/libvirt, the targets, and the command.
#
#   bench/blk.sh [BUILD_DIR]         (default build/; run as root)
#   bench/blk.sh --report RAW        the tables again from a run's raw lines
#                                    (BUILD_DIR/bench-blk.txt)
#
#   RIG_BENCH_BLK_ORDER=enso,kernel,qdisk,qdisk,kernel,enso   the rounds
#   RIG_BENCH_BLK_RUNTIME=8          seconds per fio job (after 1 s ramp)
#   RIG_BENCH_BLK_MB=256             the disk file, in dom0's tmpfs
#   BENCH_BLK_ORDER=enso,libvirt,libvirt,enso   the KVM rounds
#   BENCH_BLK_RUNTIME=8 BENCH_BLK_MB=256        the same, for KVM
#   BENCH_BLK_XEN=1 BENCH_BLK_KVM=1  0 skips that half
#   RIG_TIMEOUT=3600 RIG_OUT         as for tests/rig/boot.sh
#
# fio (Debian's) goes into the rig's guest image, and qemu-system-xen's
# QEMU and the loop module into dom0's, only for this benchmark
# (tests/rig/mkinitrd.sh's RIG_DOMU_ADD, RIG_DOM0_ADD, RIG_DOM0_MODULES):
# the test images stay as they are.  Missing packages are installed with
# apt-get; nothing fetched is committed.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)

report() {
	awk -f "$root/bench/blk/report.awk" "$1"
}

if [ "${1:-}" = --report ]; then
	report "${2:?bench/blk.sh --report RAW}"
	exit 0
fi

build=${1:-$root/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
rig_out=${RIG_OUT:-$root/tests/rig/out}
raw=$build/bench-blk.txt
. "$root/bench/lib.sh"
bench_built bench/blk.sh "$build" xl/xl xenstored/xenstored blkback/enso-blkback
[ "$(id -u)" -eq 0 ] || { echo "bench/blk.sh: run as root" >&2; exit 2; }

: >"$raw"
rc=0
env_shown=""
if [ "${BENCH_BLK_XEN:-1}" != 0 ]; then
	bench_need bench/blk.sh fio /usr/bin/fio
	bench_need bench/blk.sh qemu-system-xen /usr/libexec/xen-qemu-system-i386
	. "$root/bench/rig-args.sh"
	rig_bench_args bench/blk.sh RIG_BENCH_BLK_ ORDER RUNTIME MB
	set +e
	# dom0_mem=1024M (the later word wins over boot.sh's 768M): the file,
	# QEMU and the guest's bigger image live in dom0's memory.
	RIG_XEN_ARGS="bootscrub=1 dom0_mem=1024M${RIG_XEN_ARGS:+ $RIG_XEN_ARGS}" \
		RIG_DOMU_ADD="/usr/bin/fio $root/bench/blk/guest:/rig-bench" \
		RIG_DOM0_ADD="/usr/libexec/xen-qemu-system-i386" RIG_DOM0_MODULES=loop \
		bench_rig "$build" "$rig_out" 70-bench-blk 3600
	rc=$?
	set -e
	tr -d '\r' <"$rig_out/serial.log" | sed -n 's/.*\(bench-blk-run .*\)/\1/p' >>"$raw" || true
fi
if [ "${BENCH_BLK_KVM:-1}" != 0 ]; then
	set +e
	"$root/bench/kvm.sh" --blk "$build" >>"$raw"
	[ $? = 0 ] || rc=1
	set -e
fi
if [ ! -s "$raw" ]; then
	echo "bench/blk.sh: no results (see $rig_out/serial.log)" >&2
	exit 1
fi
report "$raw"
echo "raw lines: $raw"
echo "command:${env_shown} bench/blk.sh${1:+ $1}"
exit $rc
