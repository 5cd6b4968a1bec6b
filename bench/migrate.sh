#!/usr/bin/env bash
# bench/migrate.sh: live migration's downtime and total time, Enso's
# `xl migrate` against libvirt's `virsh migrate --live`, on KVM (QEMU's
# TCG here), between two hosts on this machine.
#
#   bench/migrate.sh [BUILD_DIR]       (default build/; run as root)
#   bench/migrate.sh --report RAW      the table again from a run's raw
#                                      lines (BUILD_DIR/bench-migrate.txt)
#
# The two hosts of each toolstack:
#   Enso     two sets of xenstored, monitor, run/lib/log directories;
#            `xl -v migrate -s "socat - TCP:127.0.0.1:PORT #" NAME 127.0.0.1`
#            on the source, a socat listening on the loopback running the
#            destination's `xl migrate-receive` (a cluster engine's way);
#   libvirt  two libvirtd daemons, each with its own /etc, /run, /var/lib
#            libvirt in a private mount namespace and its own host UUID
#            (bench/migrate/lv-host.sh); `virsh migrate --live NAME
#            DEST-URI --migrateuri tcp://127.0.0.1:PORT --xml X` (X: the
#            domain's --migratable XML, its console file renamed for the
#            destination), libvirt's defaults otherwise.
# Both move their QEMU's stream over TCP on the loopback.
#
# The guest: scripts/guest-image.sh's, 256 MB, 1 vCPU, no disk or NIC,
# the same kernel, initramfs and QEMU machine for both (bench/kvm's
# domain XML and the xl.cfg bench/kvm.sh writes), with bench/migrate/guest
# as /rig-bench: a line on the serial console every 10 ms.  Loads: idle,
# and dirty (bench/migrate/dirty rewriting BENCH_MIG_DIRTY, 64 MiB at
# 16 MiB/s, a rate libvirt's defaults still converge with).
#
# Per toolstack and load, one boot, then BENCH_MIG_ROUNDS (2) round trips
# (A -> B, B -> A: 4 migrations), each measured:
#   total_s      the migrate command's wall time (it returns once the
#                source copy is gone);
#   downtime_ms  the toolstack's own figure for the source's pause to the
#                destination's unpause: xl's "downtime" line; libvirt's
#                "Total downtime" (virsh domjobinfo --completed);
#   gap_ms       the longest pause in the guest's console lines as they
#                reach the console files on the host (bench/migrate/gap,
#                inotify): the downtime the guest's users see, to within
#                the 10 ms the guest waits between lines; baseline_ms is
#                the same over 3 s before the migration (TCG's own jitter).
# Prints medians, the ratio enso/libvirt of each, and the issue's targets
# (downtime at most half the anchor's, total time no worse).
#
# Xen's half (BENCH_MIG_XEN=1, the default; BENCH_MIG_KVM=0 runs it alone):
# Enso's xl against upstream's (Debian's 4.17) in one boot of the Xen rig,
# a PVH guest of the same size and loads migrated to the same rig host by
# each, the same console path and gap stamps (scenario
# bench/rig/90-bench-migrate, whose header says the method, and why one
# host).  Upstream's xl reports no pause-to-unpause figure, so on Xen the
# downtime compared is the guest's (gap_ms).  RIG_BENCH_MIG_ROUNDS (3),
# _LOADS, _ORDER, _DIRTY (64,4), _MEMORY (256) are passed to it; RIG_OUT
# and RIG_TIMEOUT as for tests/rig/boot.sh.
set -uo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)

report() {
	awk '
	# "mig" lines: KVM (stacks enso, libvirt); "mig-xen" lines: Xen (enso, upstream).
	$1 == "mig" || $1 == "mig-xen" {
		side = $1 == "mig" ? "kvm" : "xen"
		k = side " " $2 " " $3
		for (i = 5; i < NF; i += 2) { v[k, $i, ++n[k, $i]] = $(i + 1) }
		keys[k] = 1
	}
	function median(k, f,   m, i, j, t, a) {
		m = n[k, f]
		if (!m) return -1
		for (i = 1; i <= m; i++) a[i] = v[k, f, i]
		for (i = 1; i <= m; i++) for (j = i + 1; j <= m; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
		return m % 2 ? a[(m + 1) / 2] : (a[m / 2] + a[m / 2 + 1]) / 2
	}
	function cell(x, fmt) { return x < 0 ? "-" : sprintf(fmt, x) }
	END {
		printf "%-4s %-8s %-6s %5s %10s %13s %10s %13s\n", "side", "stack", "load", "runs", "total_s", "downtime_ms", "gap_ms", "baseline_ms"
		split("idle dirty", L, " ")
		split("kvm xen", SD, " ")
		anchor["kvm"] = "libvirt"; anchor["xen"] = "upstream"
		for (d = 1; d <= 2; d++) for (l = 1; l <= 2; l++) for (s = 1; s <= 2; s++) {
			st = s == 1 ? "enso" : anchor[SD[d]]
			k = SD[d] " " st " " L[l]
			if (!(k in keys)) continue
			printf "%-4s %-8s %-6s %5d %10s %13s %10s %13s\n", SD[d], st, L[l], n[k, "total_s"],
				cell(median(k, "total_s"), "%.2f"), cell(median(k, "downtime_ms"), "%.0f"),
				cell(median(k, "gap_ms"), "%.0f"), cell(median(k, "baseline_ms"), "%.0f")
		}
		for (d = 1; d <= 2; d++) for (l = 1; l <= 2; l++) {
			a = anchor[SD[d]]
			e = SD[d] " enso " L[l]; b = SD[d] " " a " " L[l]
			if (!(e in keys) || !(b in keys)) continue
			split("downtime_ms gap_ms total_s", F, " ")
			for (fi = 1; fi <= 3; fi++) {
				f = F[fi]
				x = median(e, f); y = median(b, f)
				if (x < 0 || y < 0) continue
				limit = 0.5
				if (f == "total_s") limit = 1.0
				r = 0
				if (y > 0) r = x / y
				verdict = "not met"
				if (y > 0 && r <= limit) verdict = "met"
				printf "bench migrate-%s %s %s: enso %.2f %s %.2f enso/%s %.2f (target <= %.2f: %s)\n",
					SD[d], L[l], f, x, a, y, a, r, limit, verdict
			}
		}
	}' "$1"
}

if [ "${1:-}" = --report ]; then
	report "${2:?bench/migrate.sh --report RAW}"
	exit 0
fi

build=${1:-$root/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
. "$root/bench/lib.sh"
bench_built bench/migrate.sh "$build" xl/xl xenstored/xenstored
[ "$(id -u)" -eq 0 ] || { echo "bench/migrate.sh: run as root" >&2; exit 2; }
bench_need bench/migrate.sh cpio /usr/bin/cpio
KVM=${BENCH_MIG_KVM:-1}
XEN=${BENCH_MIG_XEN:-1}
if [ "$KVM" != 0 ]; then
	bench_need bench/migrate.sh socat /usr/bin/socat
	bench_need bench/migrate.sh qemu-system-x86 /usr/bin/qemu-system-x86_64
	bench_need bench/migrate.sh libvirt-daemon-system /usr/sbin/libvirtd
	bench_need bench/migrate.sh libvirt-daemon-driver-qemu /usr/lib/x86_64-linux-gnu/libvirt/connection-driver/libvirt_driver_qemu.so
	bench_need bench/migrate.sh libvirt-clients /usr/bin/virsh
fi

ROUNDS=${BENCH_MIG_ROUNDS:-2}
ORDER=${BENCH_MIG_ORDER:-enso,libvirt}
LOADS=${BENCH_MIG_LOADS:-idle,dirty}
DIRTY=${BENCH_MIG_DIRTY:-64,16}
BOOT_TIMEOUT=${BENCH_BOOT_TIMEOUT:-180}
raw=$build/bench-migrate.txt
# Each migration's output (xl's --debug steps, the gap's line) for a look.
logs=$build/bench-migrate-logs
xl=$build/xl/xl
env_shown=""
xsd=$build/xenstored/xenstored
say() { echo "bench/migrate.sh: $*" >&2; }
die() { say "error: $*"; exit 1; }
[[ $ROUNDS =~ ^[1-9][0-9]*$ ]] || die "BENCH_MIG_ROUNDS=$ROUNDS: want a positive integer"
[[ $DIRTY =~ ^[1-9][0-9]*,[1-9][0-9]*$ ]] || die "BENCH_MIG_DIRTY=$DIRTY: want MB,MBS"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/enso-bench-mig.XXXXXX") || die "mktemp failed"
chmod 755 "$TMP"
tag=bm$$
pids=()
cleanup() {
	local p
	trap - EXIT INT TERM
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
	for p in $(pgrep -f "$tag-" 2>/dev/null); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && kill -KILL "$p" 2>/dev/null
	done
	# Enso's monitors carry their host's run directory in the environment.
	for p in $(pgrep -x xl 2>/dev/null); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -q "^ENSO_RUNDIR=$TMP/" && kill "$p" 2>/dev/null
	done
	sleep 0.5
	rm -rf "$TMP"
}
trap cleanup EXIT
trap 'die "interrupted"' INT TERM

# ---- the helpers and the guest ------------------------------------------
gap=$TMP/gap dirty=$TMP/dirty
# Static: the Xen half puts them into the rig's dom0 and guest images.
${CC:-gcc} -static -O2 -Wall -o "$gap" "$root/bench/migrate/gap.c" ||
	die "building gap failed (static: libc6-dev's libc.a)"
${CC:-gcc} -static -O2 -Wall -o "$dirty" "$root/bench/migrate/dirty.c" ||
	die "building dirty failed (static: libc6-dev's libc.a)"
: >"$raw"
rm -rf "$logs" && mkdir -p "$logs"

# ---- Xen: Enso's xl and upstream's in one rig boot (bench/rig/90-bench-migrate)
if [ "$XEN" != 0 ]; then
	rig_out=${RIG_OUT:-$root/tests/rig/out}
	. "$root/bench/rig-args.sh"
	rig_bench_args bench/migrate.sh RIG_BENCH_MIG_ ORDER ROUNDS LOADS DIRTY MEMORY
	echo "# bench/migrate.sh Xen half $(date -u +%FT%TZ):${env_shown:- defaults} (bench/rig/90-bench-migrate); $(nproc) CPUs" | tee -a "$raw"
	say "Xen: one rig boot (tests/rig/boot.sh, log in $rig_out/serial.log)"
	RIG_DOMU_ADD="$dirty:/usr/local/bin/dirty $root/bench/migrate/guest:/rig-bench" \
		RIG_DOM0_ADD="$gap:/usr/local/bin/gap" \
		bench_rig "$build" "$rig_out" 90-bench-migrate 3600
	xrc=$?
	tr -d '\r' <"$rig_out/serial.log" | sed -n 's/.*bench-mig-run \(.*\)/\1/p' | tee -a "$raw"
	tr -d '\r' <"$rig_out/serial.log" | grep -a -e '=== bench-mig/' -e 'FAIL' | head -n 20 >&2
	[ $xrc -eq 0 ] || say "Xen half: the rig run failed (rc=$xrc): its figures above are what it measured"
	if [ "$KVM" = 0 ]; then
		echo
		report "$raw"
		echo "raw lines: $raw"
		echo "command: BENCH_MIG_KVM=0${env_shown} bench/migrate.sh $build"
		exit $xrc
	fi
fi
img=$TMP/img
"$root/scripts/guest-image.sh" "$img" >"$TMP/guest-image.log" 2>&1 ||
	die "scripts/guest-image.sh failed: $(tail -n 3 "$TMP/guest-image.log")"
ov=$TMP/overlay
mkdir -p "$ov/usr/local/bin"
cp "$dirty" "$ov/usr/local/bin/dirty"
install -m 0755 "$root/bench/migrate/guest" "$ov/rig-bench"
bench_initrd_with "$img" "$ov" initrd-mig.gz || die "packing the overlay failed"
chmod -R a+rX "$img"

# ---- Enso's two hosts --------------------------------------------------------
# onE X CMD...: CMD as host X (A or B) of Enso.
onE() {
	local h=$1
	shift
	env ENSO_ACCEL=tcg XENSTORED_PATH="$TMP/enso$h/xs.sock" ENSO_RUNDIR="$TMP/enso$h/run" \
		ENSO_LIBDIR="$TMP/enso$h/lib" ENSO_LOGDIR="$TMP/enso$h/log" "$@"
}
for h in A B; do
	# The console directory before any domain: bench/migrate/gap watches
	# it for the first incoming one.
	mkdir -p "$TMP/enso$h/run" "$TMP/enso$h/lib" "$TMP/enso$h/log/console"
	# Not through onE: a function in the background is a subshell, and
	# its pid would not be xenstored's.
	env XENSTORED_PATH="$TMP/enso$h/xs.sock" "$xsd" -N -D --socket "$TMP/enso$h/xs.sock" \
		>"$TMP/enso$h/xenstored.log" 2>&1 &
	pids+=($!)
	for _ in $(seq 100); do [ -S "$TMP/enso$h/xs.sock" ] && break; sleep 0.1; done
	onE $h timeout 20 "$xl" monitord 2>"$TMP/enso$h/monitord.err" ||
		die "Enso host $h: xl monitord did not start: $(cat "$TMP/enso$h/monitord.err")"
done

# ---- libvirt's two hosts -----------------------------------------------------
uri() { echo "qemu+unix:///system?socket=$TMP/lv$1/run/libvirt-sock"; }
for h in A B; do
	"$root/bench/migrate/lv-host.sh" "$TMP/lv$h" "$(printf '6d696772-6174-6500-0000-0000000000%02x' "'$h")" \
		>"$TMP/lv$h.out" 2>&1 &
	pids+=($!)
done
for h in A B; do
	for _ in $(seq 300); do timeout 5 virsh -q -c "$(uri $h)" version >/dev/null 2>&1 && break; sleep 0.1; done
	timeout 10 virsh -q -c "$(uri $h)" version >/dev/null 2>&1 ||
		die "libvirt host $h does not answer: $(tail -n 3 "$TMP/lv$h.out") $(tail -n 3 "$TMP/lv$h/log/libvirtd.log" 2>/dev/null)"
done

# ---- one boot, its migrations ----------------------------------------------
port=7200
# console STACK HOST NAME INCOMING: the console file of the domain there.
console() {
	if [ "$1" = enso ]; then
		echo "$TMP/enso$2/log/console/$3${4:+--incoming}.log"
	else
		echo "$TMP/lv$2/$3.console"
	fi
}
ready() { grep -aq "ENSO-MIG ready" "$1" 2>/dev/null && { [ -z "$2" ] || grep -aq "ENSO-DIRTY ready" "$1"; }; }

boot() { # boot STACK NAME EXTRA: on host A
	local stack=$1 name=$2 extra=$3 f
	if [ "$stack" = enso ]; then
		f=$TMP/$name.cfg
		cat >"$f" <<-EOF
			name = "$name"
			memory = 256
			vcpus = 1
			kernel = "$img/vmlinuz"
			ramdisk = "$img/initrd-mig.gz"
			extra = "console=hvc0 quiet enso.bench=1$extra"
		EOF
		onE A "$xl" create "$f" >"$TMP/create-$name.out" 2>&1 || die "xl create $name: $(cat "$TMP/create-$name.out")"
	else
		f=$TMP/$name.xml
		sed -e "s|@NAME@|$name|" -e "s|@KERNEL@|$img/vmlinuz|" -e "s|@INITRD@|$img/initrd-mig.gz|" \
			-e "s|@SERIAL@|$(console libvirt A "$name")|" -e "s|@EXTRA@| enso.bench=1$extra|" \
			-e "s|@DISK@||" -e "s|@MEM@|256|" "$root/bench/kvm/domain.xml.in" >"$f"
		virsh -q -c "$(uri A)" create "$f" >"$TMP/create-$name.out" 2>&1 || die "virsh create $name: $(cat "$TMP/create-$name.out")"
	fi
}

# migrate1 STACK LOAD NAME FROM TO INCOMING-AT-FROM: one migration, one raw line.
migrate1() {
	local stack=$1 load=$2 name=$3 from=$4 to=$5 inc=$6 src dst gp t0 t1 rc out down base
	src=$(console "$stack" "$from" "$name" "$inc")
	dst=$(console "$stack" "$to" "$name" 1)
	[ "$stack" = libvirt ] && dst=$(console libvirt "$to" "$name")
	rm -f "$dst"
	# TCG's own jitter in the console lines, for scale.
	"$gap" "$src" >"$TMP/base.out" &
	gp=$!
	sleep 3
	kill -INT $gp; wait $gp
	base=$(awk '{ print $3 }' "$TMP/base.out")
	"$gap" "$src" "$dst" >"$TMP/gap.out" &
	gp=$!
	sleep 0.3
	port=$((port + 1))
	out=$TMP/mig-$stack-$load-$from$to-$port.out
	t0=$EPOCHREALTIME
	if [ "$stack" = enso ]; then
		socat "TCP-LISTEN:$port,bind=127.0.0.1,reuseaddr" \
			SYSTEM:"env ENSO_ACCEL=tcg XENSTORED_PATH=$TMP/enso$to/xs.sock ENSO_RUNDIR=$TMP/enso$to/run ENSO_LIBDIR=$TMP/enso$to/lib ENSO_LOGDIR=$TMP/enso$to/log $xl migrate-receive" \
			2>"$out.recv" &
		pids+=($!)
		for _ in $(seq 50); do ss -ltn | grep -q "127.0.0.1:$port " && break; sleep 0.1; done
		t0=$EPOCHREALTIME
		onE "$from" "$xl" -v migrate --debug -s "socat - TCP:127.0.0.1:$port #" "$name" 127.0.0.1 >"$out" 2>&1
		rc=$?
		t1=$EPOCHREALTIME
		down=$(sed -n 's/.*; downtime \([0-9]*\) ms.*/\1/p' "$out")
	else
		virsh -q -c "$(uri "$from")" dumpxml --migratable "$name" |
			sed "s|$(console libvirt "$from" "$name")|$dst|" >"$TMP/$name-to$to.xml"
		t0=$EPOCHREALTIME
		virsh -q -c "$(uri "$from")" migrate --live "$name" "$(uri "$to")" \
			--migrateuri "tcp://127.0.0.1:$port" --xml "$TMP/$name-to$to.xml" >"$out" 2>&1
		rc=$?
		t1=$EPOCHREALTIME
		virsh -c "$(uri "$to")" domjobinfo --completed "$name" >"$out.job" 2>&1
		down=$(awk -F: '$1 == "Total downtime" { print $2 + 0 }' "$out.job")
	fi
	# Lines arriving at the destination: the guest runs there.
	for _ in $(seq 100); do [ -s "$dst" ] && [ "$(wc -l <"$dst")" -gt 20 ] && break; sleep 0.1; done
	sleep 0.5
	kill -INT $gp; wait $gp
	[ $rc -eq 0 ] || die "$stack migrate $name $from -> $to failed (rc=$rc): $(tail -n 5 "$out" | tr '\n' '|') $(tail -n 5 "$out.recv" 2>/dev/null | tr '\n' '|')"
	[ -n "$down" ] || die "$stack migrate $name: no downtime figure in $(tail -n 5 "$out" "$out.job" 2>/dev/null | tr '\n' '|')"
	cat "$TMP/gap.out" >>"$out"
	cp "$out"* "$logs/" 2>/dev/null
	echo "mig $stack $load $from$to total_s $(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", b - a }') downtime_ms $down gap_ms $(awk '{ print $3 }' "$TMP/gap.out") baseline_ms $base" | tee -a "$raw"
}

echo "# bench/migrate.sh $(date -u +%FT%TZ) rounds=$ROUNDS order=$ORDER loads=$LOADS dirty=$DIRTY MiB,MiB/s; $(nproc) CPUs; $(qemu-system-x86_64 --version | head -n 1); $(libvirtd --version)" | tee -a "$raw"
IFS=, read -ra order <<<"$ORDER"
IFS=, read -ra loads <<<"$LOADS"
for load in "${loads[@]}"; do
	extra=""
	[ "$load" = dirty ] && extra=" enso.dirty=$DIRTY"
	for stack in "${order[@]}"; do
		name=$tag-$stack-$load
		say "$stack, $load: booting $name on host A"
		boot "$stack" "$name" "$extra"
		log=$(console "$stack" A "$name")
		for _ in $(seq "$BOOT_TIMEOUT"); do ready "$log" "$extra" && break; sleep 1; done
		ready "$log" "$extra" || die "$name did not get ready: $(tail -c 300 "$log" 2>/dev/null | tr '\n' '|')"
		sleep 2
		inc=""
		for _ in $(seq "$ROUNDS"); do
			migrate1 "$stack" "$load" "$name" A B "$inc"
			inc=1
			migrate1 "$stack" "$load" "$name" B A 1
		done
		if [ "$stack" = enso ]; then
			onE A "$xl" destroy "$name" >/dev/null 2>&1
		else
			virsh -q -c "$(uri A)" destroy "$name" >/dev/null 2>&1
		fi
	done
done
echo
report "$raw"
echo "raw lines: $raw"
echo "command:${env_shown:-} bench/migrate.sh $build"
exit "${xrc:-0}"
