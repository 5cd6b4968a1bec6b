#!/usr/bin/env bash
# bench/net.sh: the network a guest gets from Enso's backends against the
# anchors: iperf3 TCP streams both ways, a TCP request/response rate
# (bench/net/rr, netperf's TCP_RR in small), and the CPU each gigabit
# costs.
#
#   Xen   Enso's enso-netback against Linux's xen-netback (dom0's module,
#         the nodes written by the scenario), side by side in one boot of
#         the Xen rig (scenario bench/rig/80-bench-net, whose header says
#         the method): one PV guest on a dom0 bridge, clients in dom0, and
#         dom0's CPU per gigabit;
#   KVM   Enso's bridged NIC against libvirt's <interface type='bridge'>
#         (virtio) for the same guest on a host bridge, both on QEMU's TCG
#         (bench/kvm.sh --net, as --blk is; method in
#         bench/net/kvm-part.sh).
#
# Prints each figure (medians over the rounds), the ratios enso/kernel and
# enso/libvirt, the targets, and the command.
#
#   bench/net.sh [BUILD_DIR]         (default build/; run as root)
#   bench/net.sh --report RAW        the tables again from a run's raw lines
#                                    (BUILD_DIR/bench-net.txt)
#
#   RIG_BENCH_NET_ORDER=enso,kernel,kernel,enso   the Xen rounds
#   RIG_BENCH_NET_SECONDS=10         seconds per test (Xen)
#   RIG_BENCH_NET_MEMORY=512         the guest's MB (Xen)
#   BENCH_NET_ORDER=enso,libvirt,libvirt,enso     the KVM rounds
#   BENCH_NET_SECONDS=10             seconds per test (KVM)
#   BENCH_NET_XEN=1 BENCH_NET_KVM=1  0 skips that half
#   RIG_TIMEOUT=3600 RIG_OUT         as for tests/rig/boot.sh
#
# iperf3 (Debian's, with libiperf0) and bench/net/rr (built here, static)
# go into the rig's images only for this benchmark (tests/rig/mkinitrd.sh's
# RIG_DOMU_ADD, RIG_DOM0_ADD; xen-netback is among the modules dom0-init
# loads): the test images stay as they are.  Missing packages are
# installed with apt-get; nothing fetched is committed.
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)

report() {
	awk -f "$root/bench/net/report.awk" "$1"
}

if [ "${1:-}" = --report ]; then
	report "${2:?bench/net.sh --report RAW}"
	exit 0
fi

build=${1:-$root/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
rig_out=${RIG_OUT:-$root/tests/rig/out}
raw=$build/bench-net.txt
. "$root/bench/lib.sh"
bench_built bench/net.sh "$build" xl/xl xenstored/xenstored netback/enso-netback
[ "$(id -u)" -eq 0 ] || { echo "bench/net.sh: run as root" >&2; exit 2; }

bench_need bench/net.sh iperf3 /usr/bin/iperf3
# rr, static: the rig's images and the KVM guest have no C library of
# their own for it.
mkdir -p "$build/bench-net"
rr=$build/bench-net/rr
if [ ! -x "$rr" ] || [ "$root/bench/net/rr.c" -nt "$rr" ]; then
	${CC:-gcc} -static -O2 -Wall -o "$rr" "$root/bench/net/rr.c" ||
		{ echo "bench/net.sh: building $rr failed (static: libc6-dev's libc.a)" >&2; exit 2; }
fi

: >"$raw"
rc=0
env_shown=""
if [ "${BENCH_NET_XEN:-1}" != 0 ]; then
	. "$root/bench/rig-args.sh"
	rig_bench_args bench/net.sh RIG_BENCH_NET_ ORDER SECONDS MEMORY
	set +e
	RIG_DOMU_ADD="/usr/bin/iperf3 $rr:/usr/local/bin/rr $root/bench/net/guest:/rig-bench" \
		RIG_DOM0_ADD="/usr/bin/iperf3 $rr:/usr/local/bin/rr" \
		bench_rig "$build" "$rig_out" 80-bench-net 3600
	rc=$?
	set -e
	tr -d '\r' <"$rig_out/serial.log" | sed -n 's/.*\(bench-net-run .*\)/\1/p' >>"$raw" || true
fi
if [ "${BENCH_NET_KVM:-1}" != 0 ]; then
	for v in BENCH_NET_ORDER BENCH_NET_SECONDS; do
		[ -n "${!v:-}" ] && env_shown="$env_shown $v=${!v}"
	done
	set +e
	"$root/bench/kvm.sh" --net "$build" >>"$raw"
	[ $? = 0 ] || rc=1
	set -e
fi
if [ ! -s "$raw" ]; then
	echo "bench/net.sh: no results (see $rig_out/serial.log)" >&2
	exit 1
fi
report "$raw"
echo "raw lines: $raw"
echo "command:${env_shown} bench/net.sh${1:+ $1}"
exit $rc
