#!/usr/bin/env bash
# bench/kvm.sh: Enso's xl against libvirt (Debian's libvirtd + virsh) on the
# same guest, side by side in one run, both on QEMU's TCG:
#
#   - create to the guest's first console line: from starting `xl create` /
#     `virsh create` until ENSO-GUEST-BOOTED is in the console log;
#   - destroy: from starting `xl destroy` / `virsh destroy` until the command
#     has returned and the domain's QEMU is gone;
#   - the toolstack's own memory per running domain (everything the toolstack
#     keeps resident besides QEMU), with 0 and with K domains running.
#
#   sudo bench/kvm.sh [BUILD_DIR]
#   sudo bench/kvm.sh --blk [BUILD_DIR]
#   sudo bench/kvm.sh --net [BUILD_DIR]
#
# --blk (bench/blk.sh's KVM half): instead, the disk I/O the same guest gets
# from one raw file through each toolstack's default disk path (Enso's xl.cfg
# disk; libvirt's <disk> with no cache or io attribute), measured by fio in
# the guest (bench/blk/guest; fio and its libraries are appended to the
# guest's initramfs as a second cpio archive), BENCH_BLK_ORDER rounds
# (enso,libvirt,libvirt,enso), one domain per round.  Prints one
# bench-blk-run line per job on stdout (bench/blk.sh reads them) and the
# disk options each side gave QEMU as bench-blk-info lines.
#   BENCH_BLK_RUNTIME=8 BENCH_BLK_MB=256   seconds per job, the file's size
#
# --net (bench/net.sh's KVM half): instead, the network the same guest gets
# on a host bridge the script makes (and removes) through each toolstack's
# default bridged NIC (Enso's vif = [ 'bridge=BR' ]; libvirt's <interface
# type='bridge'> with a virtio model), measured by iperf3 both ways and
# bench/net/rr's request rate, clients on the host (method in
# bench/net/kvm-part.sh), BENCH_NET_ORDER rounds (enso,libvirt,libvirt,
# enso).  Prints bench-net-run and bench-net-info lines on stdout
# (bench/net.sh reads them).  Needs BUILD_DIR/bench-net/rr (bench/net.sh
# builds it).
#   BENCH_NET_SECONDS=10   seconds per test
#
# BUILD_DIR holds the built tree (xl/xl, xenstored/xenstored); default build/
# when it holds a build, else the top of the repository (an in-tree build).
#
#   BENCH_RUNS=5           timed create/destroy rounds (each: Enso and libvirt,
#                          the order alternating from round to round)
#   BENCH_DOMAINS=4        K, domains running at once for the memory figures
#   BENCH_BOOT_TIMEOUT=120 seconds to wait for a first console line
#   BENCH_IDLE_WAIT=0      seconds to wait, before starting, until no QEMU
#                          other than this run's is running (0: don't wait)
#   BENCH_OUT=/tmp/enso-bench-kvm   logs, the guest image and results.txt
#
# libvirt is the anchor only: it is installed from Debian's packages when
# missing (libvirt-daemon-system, libvirt-daemon-driver-qemu, libvirt-clients)
# and, when no libvirtd runs, virtlogd and libvirtd are started here and
# stopped at the end.  Enso runs its own xenstored on a private socket with
# private ENSO_RUNDIR/ENSO_LIBDIR/ENSO_LOGDIR, as tests/kvm/run.sh does.
# The method is described in bench/kvm/README.md.
set -uo pipefail
export LC_ALL=C

root=$(cd "$(dirname "$0")/.." && pwd)
. "$root/bench/lib.sh"
BLK="" NET=""
if [ "${1:-}" = --blk ]; then
	BLK=1
	shift
elif [ "${1:-}" = --net ]; then
	NET=1
	shift
fi
if [ $# -ge 1 ]; then
	build=$1
elif [ -x "$root/build/xl/xl" ]; then
	build=$root/build
else
	build=$root
fi
case $build in /*) ;; *) build=$PWD/$build ;; esac

RUNS=${BENCH_RUNS:-5}
K=${BENCH_DOMAINS:-4}
BOOT_TIMEOUT=${BENCH_BOOT_TIMEOUT:-120}
IDLE_WAIT=${BENCH_IDLE_WAIT:-0}
OUT=${BENCH_OUT:-${TMPDIR:-/tmp}/enso-bench-kvm}
DESTROY_TIMEOUT=60
POLL=0.015
URI=qemu:///system
xl=$build/xl/xl
xsd=$build/xenstored/xenstored
template=$root/bench/kvm/domain.xml.in
cmdline="$0${BLK:+ --blk}${NET:+ --net}${1:+ $1}"

say() { echo "bench/kvm.sh: $*" >&2; }
die() {
	echo "bench/kvm.sh: error: $*" >&2
	exit 1
}
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b - a }'; }
isnum() { [[ $1 =~ ^[1-9][0-9]*$ ]]; }

# ---- what the run needs ---------------------------------------------------------
isnum "$RUNS" || die "BENCH_RUNS=$RUNS: want a positive integer"
isnum "$K" || die "BENCH_DOMAINS=$K: want a positive integer"
isnum "$BOOT_TIMEOUT" || die "BENCH_BOOT_TIMEOUT=$BOOT_TIMEOUT: want a positive integer"
[[ $IDLE_WAIT =~ ^[0-9]+$ ]] || die "BENCH_IDLE_WAIT=$IDLE_WAIT: want a number of seconds"
[ "$(id -u)" -eq 0 ] || die "run as root (QEMU, libvirtd)"
[ -n "${EPOCHREALTIME:-}" ] || die "bash 5 or later is needed (EPOCHREALTIME)"
[ -x "$xl" ] || die "no Enso xl at $xl: build Enso first (tests/run, or configure and make), or pass BUILD_DIR"
[ -x "$xsd" ] || die "no Enso xenstored at $xsd: build Enso first, or pass BUILD_DIR"
[ -f "$template" ] || die "$template missing"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (apt-get install qemu-system-x86)"
for c in awk pgrep timeout sed; do
	command -v $c >/dev/null || die "$c missing"
done

mkdir -p "$OUT" || die "cannot create $OUT"
chmod 755 "$OUT"
TMP=$(mktemp -d "${TMPDIR:-/tmp}/enso-bench-kvm.XXXXXX") || die "mktemp failed"
# libvirt's QEMU runs as libvirt-qemu: it must reach the kernel and initrd.
chmod 755 "$TMP"
E=$TMP/enso L=$TMP/libvirt
mkdir -p "$E/run" "$E/lib" "$E/log" "$L"
tag=kb$$ # in every domain name of this run
rm -f "$OUT"/*.log "$OUT"/*.txt "$OUT/footprint.err"

# ---- cleanup: everything this run started --------------------------------------------
xsd_pid=""
started_libvirtd="" started_virtlogd=""
enso_names=() lv_names=()
net_br_made="" # bench/net/kvm-part.sh's bridge

enso_env=(ENSO_ACCEL=tcg XENSTORED_PATH="$E/xs.sock" ENSO_RUNDIR="$E/run"
	ENSO_LIBDIR="$E/lib" ENSO_LOGDIR="$E/log")
export "${enso_env[@]}"

# QEMUs of this run (their command line names a domain of ours) and Enso's
# monitor (an xl process carrying our ENSO_RUNDIR).
our_strays() {
	local d pid comm
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		case $comm in
		qemu-system*)
			tr '\0' ' ' 2>/dev/null <"$d/cmdline" | grep -qF "$tag-" && echo "$pid" ;;
		xl)
			tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -qxF "ENSO_RUNDIR=$E/run" && echo "$pid" ;;
		esac
	done
}

stop_pid() { # stop_pid PID NAME: TERM, up to 15 s, then KILL
	local i
	kill "$1" 2>/dev/null || return 0
	for ((i = 0; i < 150; i++)); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	say "cleanup: $2 (pid $1) ignored TERM; killing it"
	kill -KILL "$1" 2>/dev/null
}

cleanup() {
	local n p
	trap - EXIT INT TERM
	for n in "${enso_names[@]}"; do
		if timeout 10 "$xl" domid "$n" >/dev/null 2>&1; then
			say "cleanup: xl destroy $n"
			timeout 30 "$xl" destroy "$n" >/dev/null 2>&1
		fi
	done
	for n in "${lv_names[@]}"; do
		if timeout 10 virsh -q -c "$URI" domid "$n" >/dev/null 2>&1; then
			say "cleanup: virsh destroy $n"
			timeout 30 virsh -q -c "$URI" destroy "$n" >/dev/null 2>&1
		fi
	done
	sleep 0.3
	for p in $(our_strays); do
		say "cleanup: killing leftover $(cat /proc/$p/comm 2>/dev/null) (pid $p)"
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "$xsd_pid" ] && kill "$xsd_pid" 2>/dev/null && wait "$xsd_pid" 2>/dev/null
	if [ -n "$started_libvirtd" ]; then
		say "stopping the libvirtd this run started (pid $started_libvirtd)"
		stop_pid "$started_libvirtd" libvirtd
	fi
	if [ -n "$started_virtlogd" ]; then
		say "stopping the virtlogd this run started (pid $started_virtlogd)"
		stop_pid "$started_virtlogd" virtlogd
	fi
	[ -n "$net_br_made" ] && ip link del "$net_br_made" 2>/dev/null
	cp "$E"/log/*.log "$OUT/" 2>/dev/null
	mkdir -p "$OUT/console" && cp "$E"/log/console/*.log "$L"/*.console "$OUT/console/" 2>/dev/null
	cp "$E/xenstored.log" "$OUT/" 2>/dev/null
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT TERM

# ---- helpers --------------------------------------------------------------------------------
# The QEMU of domain NAME: both Enso (-name NAME,debug-threads=on) and
# libvirt (-name guest=NAME,debug-threads=on) name it so.
qemu_of() {
	local p
	for p in $(pgrep -f -- "[=[:space:]]$1,debug-threads" 2>/dev/null); do
		case $(cat /proc/$p/comm 2>/dev/null) in qemu-system*) echo "$p" ;; esac
	done
}
foreign_qemus() { # QEMUs on this machine that are not this run's
	local p n=0
	for p in $(pgrep '^qemu-system' 2>/dev/null); do
		tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline" | grep -qF "$tag-" || n=$((n + 1))
	done
	echo $n
}
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
# alive PID: the process exists and is not a zombie.
alive() {
	local a b st
	read -r a b st _ 2>/dev/null <"/proc/$1/stat" || return 1
	[ "$st" != Z ]
}
# wait_marker FILE: poll every $POLL s for the boot marker; sets MARK_T to
# the time it was seen (no subshell: a signal's trap runs at once). Fails
# after BOOT_TIMEOUT s.
wait_marker() {
	local f=$1 deadline=$((${EPOCHREALTIME%.*} + BOOT_TIMEOUT))
	while :; do
		if grep -qaF ENSO-GUEST-BOOTED "$f" 2>/dev/null; then
			MARK_T=$EPOCHREALTIME
			return 0
		fi
		[ "${EPOCHREALTIME%.*}" -ge "$deadline" ] && return 1
		sleep $POLL
	done
}
# wait_gone PID...: poll every 10 ms until none is alive; fails after
# DESTROY_TIMEOUT s.
wait_gone() {
	local deadline=$((${EPOCHREALTIME%.*} + DESTROY_TIMEOUT)) p any
	while :; do
		any=""
		for p in "$@"; do alive "$p" && any=1 && break; done
		[ -z "$any" ] && return 0
		[ "${EPOCHREALTIME%.*}" -ge "$deadline" ] && return 1
		sleep 0.01
	done
}
# mem PID: "RSS PSS USS" in KiB from smaps_rollup (USS: its private pages,
# what its exit would free); without smaps_rollup, VmRSS for all three.
mem() {
	local r
	r=$(awk '/^Rss:/ { r = $2 } /^Pss:/ { p = $2 } /^Private_(Clean|Dirty):/ { u += $2 }
		END { if (r != "") print r, p, u + 0 }' "/proc/$1/smaps_rollup" 2>/dev/null)
	if [ -z "$r" ]; then
		r=$(awk '/^VmRSS:/ { print $2, $2, $2 }' "/proc/$1/status" 2>/dev/null)
	fi
	echo "${r:-0 0 0}"
}
# mem_sum LABEL PID...: sums RSS and PSS; writes one detail line per process.
MEM_RSS=0 MEM_PSS=0 MEM_USS=0
mem_sum() {
	local p r ps u
	MEM_RSS=0 MEM_PSS=0 MEM_USS=0
	for p in "$@"; do
		read -r r ps u <<<"$(mem "$p")"
		MEM_RSS=$((MEM_RSS + r)) MEM_PSS=$((MEM_PSS + ps)) MEM_USS=$((MEM_USS + u))
		printf '  pid %-7s %-10s RSS %7s KiB  PSS %7s KiB  USS %7s KiB\n' "$p" \
			"$(cat /proc/$p/comm 2>/dev/null)" "$r" "$ps" "$u" >>"$OUT/memory-detail.txt"
	done
}
# footprint PID...: their resident pages, each counted once (KiB), or "".
footprint() {
	command -v python3 >/dev/null || return 0
	python3 "$root/bench/kvm/footprint.py" "$@" 2>>"$OUT/footprint.err"
}
qemu_rss_sum() { # VmRSS of the given QEMUs, KiB
	local p s=0 r
	for p in "$@"; do
		r=$(awk '/^VmRSS:/ { print $2 }' "/proc/$p/status" 2>/dev/null)
		s=$((s + ${r:-0}))
	done
	echo $s
}

# Enso's toolstack processes: its xenstored and every xl left running with
# this run's ENSO_RUNDIR (the host's one monitor, xl monitord).
enso_monitors() {
	local d
	for d in /proc/[0-9]*; do
		[ "$(cat "$d/comm" 2>/dev/null)" = xl ] || continue
		tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -qxF "ENSO_RUNDIR=$E/run" && echo "${d#/proc/}"
	done
}
# libvirt's toolstack processes: whichever of its daemons run.
libvirt_daemons() {
	local n
	for n in libvirtd virtqemud virtlogd virtlockd; do pgrep -x $n; done
}

fail_log() { tail -n 5 "$1" 2>/dev/null | tr '\n' '|'; }

# ---- libvirt: installed and running ---------------------------------------------------------
qemu_driver_present() {
	ls /usr/lib/*/libvirt/connection-driver/libvirt_driver_qemu.so >/dev/null 2>&1 ||
		ls /usr/lib*/libvirt/connection-driver/libvirt_driver_qemu.so >/dev/null 2>&1
}
ensure_libvirt() {
	local pkgs=(libvirt-daemon-system libvirt-daemon-driver-qemu libvirt-clients)
	if command -v libvirtd >/dev/null && command -v virsh >/dev/null &&
		qemu_driver_present && [ -f /etc/libvirt/qemu.conf ] && getent passwd libvirt-qemu >/dev/null; then
		return 0
	fi
	command -v apt-get >/dev/null || die "libvirt is missing (libvirtd, virsh, its QEMU driver) and there is no apt-get to install ${pkgs[*]}"
	say "installing libvirt from Debian's packages: ${pkgs[*]}"
	if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" \
		>"$OUT/apt.log" 2>&1; then
		say "apt-get install failed; apt-get update, then again"
		apt-get update >>"$OUT/apt.log" 2>&1
		DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${pkgs[@]}" \
			>>"$OUT/apt.log" 2>&1 ||
			die "could not install ${pkgs[*]}: $(fail_log "$OUT/apt.log") (full log: $OUT/apt.log)"
	fi
	command -v libvirtd >/dev/null && command -v virsh >/dev/null && qemu_driver_present ||
		die "libvirtd, virsh or libvirt's QEMU driver still missing after installing ${pkgs[*]}"
}

# Starts virtlogd and libvirtd (as a service would: a clean environment) when
# none runs. QEMU's stdio goes through virtlogd by default (qemu.conf's
# stdio_handler), which systemd would socket-activate.
start_libvirt() {
	local i p
	if [ -n "$(pgrep -x virtqemud)" ]; then
		say "using the virtqemud already running (pid $(pgrep -x virtqemud | tr '\n' ' '))"
	elif [ -n "$(pgrep -x libvirtd)" ]; then
		say "using the libvirtd already running (pid $(pgrep -x libvirtd | tr '\n' ' '))"
	fi
	mkdir -p /run/libvirt /var/log/libvirt /var/lib/libvirt
	if [ -z "$(pgrep -x virtlogd)" ]; then
		rm -f /run/virtlogd.pid
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin virtlogd -d ||
			die "virtlogd -d failed"
		for ((i = 0; i < 100; i++)); do
			p=$(pgrep -x -n virtlogd) && break
			sleep 0.1
		done
		[ -n "$p" ] || die "virtlogd did not start"
		started_virtlogd=$p
		say "started virtlogd (pid $p)"
	fi
	if [ -z "$(pgrep -x libvirtd)" ] && [ -z "$(pgrep -x virtqemud)" ]; then
		env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin libvirtd -d ||
			die "libvirtd -d failed (see /var/log/libvirt/libvirtd.log)"
		for ((i = 0; i < 100; i++)); do
			p=$(pgrep -x -n libvirtd) && break
			sleep 0.1
		done
		[ -n "$p" ] || die "libvirtd did not start (see /var/log/libvirt/libvirtd.log)"
		started_libvirtd=$p
		say "started libvirtd (pid $p)"
	fi
	for ((i = 0; i < 300; i++)); do
		timeout 10 virsh -q -c "$URI" version >/dev/null 2>&1 && break
		sleep 0.1
	done
	timeout 10 virsh -c "$URI" version --daemon >"$OUT/virsh-version.log" 2>&1 ||
		die "virsh -c $URI does not answer: $(fail_log "$OUT/virsh-version.log") (see /var/log/libvirt/libvirtd.log)"
	timeout 30 virsh -q -c "$URI" domcapabilities --virttype qemu --arch x86_64 --machine q35 \
		>"$OUT/libvirt-domcaps.log" 2>&1 ||
		die "libvirt cannot run QEMU TCG q35 guests: $(fail_log "$OUT/libvirt-domcaps.log")"
}

# ---- Enso: its own xenstored -----------------------------------------------------------------
start_xenstored() {
	local i
	"$xsd" -N -D --socket "$E/xs.sock" >"$E/xenstored.log" 2>&1 &
	xsd_pid=$!
	for ((i = 0; i < 100; i++)); do
		[ -S "$E/xs.sock" ] && break
		sleep 0.1
	done
	[ -S "$E/xs.sock" ] && timeout 10 "$xl" list >/dev/null 2>"$E/first-list.err" ||
		die "Enso's xenstored did not start on $E/xs.sock: $(fail_log "$E/xenstored.log") $(fail_log "$E/first-list.err")"
	# The host's monitor is part of Enso's stack at rest, as libvirtd is
	# of libvirt's (xl create would start it with the first domain).
	timeout 20 "$xl" monitord 2>"$E/monitord.err" ||
		die "xl monitord did not start: $(fail_log "$E/monitord.err") $(fail_log "$E/log/xl-monitor.log")"
}

# ---- the guest -------------------------------------------------------------------------------
img=$OUT/img
INITRD=initrd.gz EXTRA="" DISK="" GUEST_MB=256
build_image() {
	"$root/scripts/guest-image.sh" "$img" >"$OUT/guest-image.log" 2>&1 ||
		die "scripts/guest-image.sh failed: $(fail_log "$OUT/guest-image.log")"
	[ -s "$img/vmlinuz" ] && [ -s "$img/initrd.gz" ] || die "no vmlinuz/initrd.gz in $img"
	chmod 755 "$img"
	chmod 644 "$img/vmlinuz" "$img/initrd.gz"
}
enso_cfg() { # enso_cfg NAME -> path of its xl.cfg
	local f=$E/$1.cfg
	cat >"$f" <<-EOF
		name = "$1"
		memory = $GUEST_MB
		vcpus = 1
		kernel = "$img/vmlinuz"
		ramdisk = "$img/$INITRD"
		extra = "console=hvc0 quiet${EXTRA:+ $EXTRA}"
	EOF
	[ -z "$BLK" ] || echo "disk = [ 'format=raw, vdev=xvda, access=rw, target=$DISK' ]" >>"$f"
	[ -z "$NET" ] || echo "vif = [ 'bridge=$NET_BR,mac=$NET_MAC' ]" >>"$f"
	echo "$f"
}
lv_xml() { # lv_xml NAME -> path of its domain XML
	local f=$L/$1.xml
	local disk=""
	[ -z "$BLK" ] || disk="<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='$DISK'/><target dev='vda' bus='virtio'/></disk>"
	[ -z "$NET" ] || disk="<interface type='bridge'><source bridge='$NET_BR'/><mac address='$NET_MAC'/><model type='virtio'/></interface>"
	sed -e "s|@NAME@|$1|" -e "s|@KERNEL@|$img/vmlinuz|" -e "s|@INITRD@|$img/$INITRD|" \
		-e "s|@SERIAL@|$L/$1.console|" -e "s|@EXTRA@|${EXTRA:+ $EXTRA}|" -e "s|@DISK@|$disk|" -e "s|@MEM@|$GUEST_MB|" "$template" >"$f"
	echo "$f"
}
enso_console() { echo "$E/log/console/$1.log"; }
lv_console() { echo "$L/$1.console"; }

# create SIDE NAME: starts the domain; sets T_CMD (command's seconds) and
# T0 (when it was started).
create() {
	local side=$1 name=$2 rc t1
	if [ "$side" = enso ]; then
		local cfg
		cfg=$(enso_cfg "$name")
		enso_names+=("$name")
		T0=$EPOCHREALTIME
		timeout 120 "$xl" create "$cfg" >"$OUT/create-$name.log" 2>&1
		rc=$?
	else
		local xml
		xml=$(lv_xml "$name")
		rm -f "$(lv_console "$name")"
		lv_names+=("$name")
		T0=$EPOCHREALTIME
		timeout 120 virsh -q -c "$URI" create "$xml" >"$OUT/create-$name.log" 2>&1
		rc=$?
	fi
	t1=$EPOCHREALTIME
	T_CMD=$(secs "$T0" "$t1")
	[ $rc -eq 0 ] || die "$side: creating $name failed (rc $rc): $(fail_log "$OUT/create-$name.log")"
}
# booted SIDE NAME: waits for the first console line; sets T_BOOT (seconds
# since T0).
booted() {
	local side=$1 name=$2 f
	[ "$side" = enso ] && f=$(enso_console "$name") || f=$(lv_console "$name")
	wait_marker "$f" ||
		die "$side: no ENSO-GUEST-BOOTED from $name after ${BOOT_TIMEOUT}s (console: $(tail -c 300 "$f" 2>/dev/null | tr -d '\r' | tr '\n' '|'))"
	T_BOOT=$(secs "$T0" "$MARK_T")
}
# destroy SIDE NAME QEMUPID: sets T_DESTROY (command returned and QEMU gone).
destroy() {
	local side=$1 name=$2 q=$3 t0 rc
	t0=$EPOCHREALTIME
	if [ "$side" = enso ]; then
		timeout $DESTROY_TIMEOUT "$xl" destroy "$name" >"$OUT/destroy-$name.log" 2>&1
	else
		timeout $DESTROY_TIMEOUT virsh -q -c "$URI" destroy "$name" >"$OUT/destroy-$name.log" 2>&1
	fi
	rc=$?
	[ $rc -eq 0 ] || die "$side: destroying $name failed (rc $rc): $(fail_log "$OUT/destroy-$name.log")"
	wait_gone $q || die "$side: the QEMU of $name (pid $q) still runs ${DESTROY_TIMEOUT}s after destroy"
	T_DESTROY=$(secs "$t0" "$EPOCHREALTIME")
}

# ---- start -----------------------------------------------------------------------------------
say "build: $build; results and logs: $OUT"
ensure_libvirt
build_image
if [ "$IDLE_WAIT" -gt 0 ] && [ "$(foreign_qemus)" -gt 0 ]; then
	say "other QEMUs run on this machine ($(foreign_qemus)); waiting up to ${IDLE_WAIT}s for them to end"
	t=$((${EPOCHREALTIME%.*} + IDLE_WAIT))
	while [ "$(foreign_qemus)" -gt 0 ] && [ "${EPOCHREALTIME%.*}" -lt $t ]; do sleep 5; done
fi
load_start=$(loadavg)
foreign_start=$(foreign_qemus)
[ "$foreign_start" -gt 0 ] &&
	say "note: $foreign_start other QEMU process(es) run on this machine: the figures share the CPUs with them"
start_xenstored
start_libvirt
if [ -n "$BLK" ]; then
	. "$root/bench/blk/kvm-part.sh"
	exit 0
fi
if [ -n "$NET" ]; then
	. "$root/bench/net/kvm-part.sh"
	exit 0
fi
: >"$OUT/memory-detail.txt"
foreign_max=$foreign_start

# ---- memory: K domains under one toolstack at a time -------------------------------------------
# with 0 domains: fresh daemons (libvirt's only if this run started them).
mem_phase() { # mem_phase SIDE: sets M0_RSS M0_PSS MK_RSS MK_PSS NPROC0 NPROCK QRSS
	local side=$1 j name names=() qpids=() pids
	sleep 1
	if [ "$side" = enso ]; then
		pids=("$xsd_pid" $(enso_monitors))
	else
		pids=($(libvirt_daemons))
	fi
	echo "$side, 0 domains ($(date +%T)):" >>"$OUT/memory-detail.txt"
	mem_sum "${pids[@]}"
	M0_RSS=$MEM_RSS M0_PSS=$MEM_PSS M0_USS=$MEM_USS NPROC0=${#pids[@]}
	M0_FP=$(footprint "${pids[@]}")
	for ((j = 1; j <= K; j++)); do
		name=$tag-${side:0:1}m$j
		names+=("$name")
		create "$side" "$name"
		say "$side: memory phase: created $name (${T_CMD}s)"
	done
	for name in "${names[@]}"; do
		T0=$EPOCHREALTIME
		booted "$side" "$name"
	done
	sleep 2
	for name in "${names[@]}"; do
		q=$(qemu_of "$name")
		[ -n "$q" ] || die "$side: no QEMU found for $name"
		qpids+=($q)
	done
	if [ "$side" = enso ]; then
		local mons
		mons=($(enso_monitors))
		[ ${#mons[@]} -eq 1 ] ||
			say "warning: $K Enso domains run but ${#mons[@]} monitor processes were found (want the one xl monitord)"
		pids=("$xsd_pid" "${mons[@]}")
	else
		pids=($(libvirt_daemons))
	fi
	echo "$side, $K domains ($(date +%T)):" >>"$OUT/memory-detail.txt"
	mem_sum "${pids[@]}"
	MK_RSS=$MEM_RSS MK_PSS=$MEM_PSS MK_USS=$MEM_USS NPROCK=${#pids[@]}
	MK_FP=$(footprint "${pids[@]}")
	QRSS=$(qemu_rss_sum "${qpids[@]}")
	f=$(foreign_qemus)
	[ "$f" -gt "$foreign_max" ] && foreign_max=$f
	for name in "${names[@]}"; do
		if [ "$side" = enso ]; then
			timeout $DESTROY_TIMEOUT "$xl" destroy "$name" >"$OUT/destroy-$name.log" 2>&1
		else
			timeout $DESTROY_TIMEOUT virsh -q -c "$URI" destroy "$name" >"$OUT/destroy-$name.log" 2>&1
		fi || die "$side: destroying $name failed: $(fail_log "$OUT/destroy-$name.log")"
	done
	wait_gone "${qpids[@]}" || die "$side: QEMUs still running ${DESTROY_TIMEOUT}s after destroy"
}
say "memory: $K Enso domains"
mem_phase enso
e_m0r=$M0_RSS e_m0p=$M0_PSS e_m0u=$M0_USS e_mkr=$MK_RSS e_mkp=$MK_PSS e_mku=$MK_USS e_f0=$M0_FP e_fk=$MK_FP e_n0=$NPROC0 e_nk=$NPROCK e_q=$QRSS
say "memory: $K libvirt domains"
mem_phase libvirt
l_m0r=$M0_RSS l_m0p=$M0_PSS l_m0u=$M0_USS l_mkr=$MK_RSS l_mkp=$MK_PSS l_mku=$MK_USS l_f0=$M0_FP l_fk=$MK_FP l_n0=$NPROC0 l_nk=$NPROCK l_q=$QRSS

# ---- create to first console, destroy ---------------------------------------------------------
: >"$OUT/runs.txt"
trial() { # trial SIDE ROUND
	local side=$1 i=$2 name q f
	name=$tag-${side:0:1}$i
	create "$side" "$name"
	booted "$side" "$name"
	q=$(qemu_of "$name")
	[ -n "$q" ] || die "$side: no QEMU found for $name"
	sleep 1
	destroy "$side" "$name" "$q"
	f=$(foreign_qemus)
	[ "$f" -gt "$foreign_max" ] && foreign_max=$f
	echo "$i $side $T_CMD $T_BOOT $T_DESTROY $f" >>"$OUT/runs.txt"
	say "round $i $side: command ${T_CMD}s, first console ${T_BOOT}s, destroy ${T_DESTROY}s (other QEMUs: $f)"
	sleep 1
}
for ((i = 1; i <= RUNS; i++)); do
	if ((i % 2)); then
		trial enso $i
		trial libvirt $i
	else
		trial libvirt $i
		trial enso $i
	fi
done
load_end=$(loadavg)

# ---- report ----------------------------------------------------------------------------------
lv_version=$(awk -F': *' '/Running against daemon|Using library/ { v = $2 } END { print v }' "$OUT/virsh-version.log")
qemu_version=$(qemu-system-x86_64 --version | head -n 1 | sed 's/^QEMU emulator version //')
{
	echo "bench kvm: Enso ($build) vs libvirt $lv_version, both on QEMU $qemu_version with TCG"
	echo "guest: Debian kernel + busybox initramfs (scripts/guest-image.sh), 256 MiB, 1 vCPU, q35, console on ttyS0"
	echo "host: $(nproc) CPUs, load average $load_start at start, $load_end at end; other QEMU processes: $foreign_start at start, at most $foreign_max during the run"
	echo
	echo "round side     command(s) first-console(s) destroy(s) other-qemus"
	awk '{ printf "%5s %-8s %10s %16s %10s %11s\n", $1, $2, $3, $4, $5, $6 }' "$OUT/runs.txt"
	echo
	awk -v runs="$RUNS" '
	function median(side, col,   n, i, j, t, a) {
		n = 0
		for (i = 1; i <= nr; i++) if (s[i] == side) a[++n] = v[i, col]
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
		if (n == 0) return ""
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	{ nr++; s[nr] = $2; v[nr, 3] = $3; v[nr, 4] = $4; v[nr, 5] = $5 }
	END {
		printf "median of %d runs          %10s %10s %13s\n", runs, "enso", "libvirt", "enso/libvirt"
		split("3 4 5", cols, " ")
		lab[3] = "create command returns"; lab[4] = "create to first console"; lab[5] = "destroy (QEMU gone)"
		key[4] = "create-to-first-console"; key[5] = "destroy"
		for (c = 1; c <= 3; c++) {
			k = cols[c]; e = median("enso", k); l = median("libvirt", k)
			printf "%-26s %9.3fs %9.3fs %13.2f\n", lab[k], e, l, e / l
			if (k in key) line[k] = sprintf("bench kvm: %s enso=%.3fs libvirt=%.3fs ratio=%.2f (median of %d)", key[k], e, l, e / l, runs)
		}
		print ""
		print line[4] > "/dev/stderr"
		print line[5] > "/dev/stderr"
	}' "$OUT/runs.txt" 2>"$OUT/summary-times.txt"
	echo
	awk -v k="$K" -v e0r="$e_m0r" -v e0p="$e_m0p" -v ekr="$e_mkr" -v ekp="$e_mkp" \
		-v l0r="$l_m0r" -v l0p="$l_m0p" -v lkr="$l_mkr" -v lkp="$l_mkp" \
		-v e0f="$e_f0" -v ekf="$e_fk" -v l0f="$l_f0" -v lkf="$l_fk" -v e0u="$e_m0u" -v eku="$e_mku" -v l0u="$l_m0u" -v lku="$l_mku" -v en0="$e_n0" -v enk="$e_nk" -v ln0="$l_n0" -v lnk="$l_nk" -v eq="$e_q" -v lq="$l_q" '
	function r(a, b) { return b > 0 ? sprintf("%.3f", a / b) : "n/a" }
	BEGIN {
		printf "toolstack memory (KiB)      %12s %12s %13s\n", "enso", "libvirt", "enso/libvirt"
		printf "processes, 0 / %d domains    %12s %12s\n", k, en0 " / " enk, ln0 " / " lnk
		printf "PSS with 0 domains          %12d %12d %13s\n", e0p, l0p, r(e0p, l0p)
		printf "PSS with %d domains          %12d %12d %13s\n", k, ekp, lkp, r(ekp, lkp)
		ep = (ekp - e0p) / k; lp = (lkp - l0p) / k
		printf "PSS per domain (K-0)/K      %12.0f %12.0f %13s\n", ep, lp, r(ep, lp)
		printf "RSS with 0 domains          %12d %12d %13s\n", e0r, l0r, r(e0r, l0r)
		printf "RSS with %d domains          %12d %12d %13s\n", k, ekr, lkr, r(ekr, lkr)
		er = (ekr - e0r) / k; lr = (lkr - l0r) / k
		printf "RSS per domain (K-0)/K      %12.0f %12.0f %13s\n", er, lr, r(er, lr)
		printf "USS with 0 domains          %12d %12d %13s\n", e0u, l0u, r(e0u, l0u)
		printf "USS with %d domains          %12d %12d %13s\n", k, eku, lku, r(eku, lku)
		eu = (eku - e0u) / k; lu = (lku - l0u) / k
		printf "USS per domain (K-0)/K      %12.0f %12.0f %13s\n", eu, lu, r(eu, lu)
		if (e0f != "" && ekf != "" && l0f != "" && lkf != "") {
			printf "pages once, 0 domains       %12d %12d %13s\n", e0f, l0f, r(e0f, l0f)
			printf "pages once, %d domains       %12d %12d %13s\n", k, ekf, lkf, r(ekf, lkf)
			ef = (ekf - e0f) / k; lf = (lkf - l0f) / k
			printf "pages once per domain       %12.0f %12.0f %13s\n", ef, lf, r(ef, lf)
			fp = sprintf("; pages once: enso=%.0fKiB libvirt=%.0fKiB ratio=%s", ef, lf, r(ef, lf))
		} else
			print "pages once: not measured (see footprint.err)"
		printf "(not counted) QEMU RSS/dom  %12.0f %12.0f %13s\n", eq / k, lq / k, r(eq, lq)
		print ""
		printf "bench kvm: toolstack memory per domain enso=%.0fKiB libvirt=%.0fKiB ratio=%s (PSS, (with %d - with 0)/%d; RSS: enso=%.0fKiB libvirt=%.0fKiB ratio=%s; USS: enso=%.0fKiB libvirt=%.0fKiB ratio=%s%s)\n", ep, lp, r(ep, lp), k, k, er, lr, r(er, lr), eu, lu, r(eu, lu), fp > "/dev/stderr"
		printf "bench kvm: toolstack memory total enso=%dKiB->%dKiB libvirt=%dKiB->%dKiB ratio=%s (PSS, 0 -> %d domains)\n", e0p, ekp, l0p, lkp, r(ekp, lkp), k > "/dev/stderr"
	}' 2>"$OUT/summary-mem.txt"
	echo "counted: Enso = its xenstored + its one monitor (xl monitord, started with xenstored, found by"
	echo "  its ENSO_RUNDIR); libvirt = every libvirtd/virtqemud/virtlogd/virtlockd running. QEMU is never"
	echo "  counted. PSS: each page divided among all its users (QEMU too); USS: pages of one process"
	echo "  only; pages once: the set's resident pages each counted once (bench/kvm/footprint.py)."
	echo "  Per process: $OUT/memory-detail.txt"
	echo
	cat "$OUT/summary-times.txt" "$OUT/summary-mem.txt"
	awk '
	FNR == 1 { f++ }
	f == 1 && /create-to-first-console/ { for (i = 1; i <= NF; i++) if ($i ~ /^ratio=/) c = substr($i, 7) }
	f == 2 && /memory per domain/ { for (i = 1; i <= NF; i++) if ($i ~ /^ratio=/) { m = substr($i, 7); break } }
	END {
		printf "bench kvm: target: enso faster than libvirt: %s; enso toolstack memory per domain at most 1/10 of libvirt'"'"'s: %s\n",
			(c != "" && c + 0 < 1) ? "met" : "NOT met", (m != "n/a" && m != "" && m + 0 <= 0.1) ? "met" : "NOT met"
	}' "$OUT/summary-times.txt" "$OUT/summary-mem.txt"
	echo "command: BENCH_RUNS=$RUNS BENCH_DOMAINS=$K $cmdline"
} | tee "$OUT/results.txt"
