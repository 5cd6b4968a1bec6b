#!/bin/bash
# The rig's host side: build the images, boot Xen + dom0 under QEMU (TCG),
# log the serial console, and turn the scenarios' markers into test lines:
#
#   === NAME OK          ->  ok - rig: NAME
#   === NAME FAIL: why   ->  not ok - rig: NAME: why
#
# A marker a scenario declared ("# rig-markers: ...") but never printed is a
# failure too. Exit 0 when every marker is ok, 1 otherwise.
#
# Environment:
#   RIG_XENSTORED   enso (default) or upstream: which xenstore daemon runs
#   RIG_SCENARIOS   comma-separated scenario names (default: all of them),
#                   e.g. "dom0-ready,xenstored-interop" or "20-xenstored-interop"
#   ENSO_DESTDIR    the project's `make install DESTDIR=` tree to put in dom0;
#                   without it, for RIG_XENSTORED=enso, boot.sh runs
#                   `make install DESTDIR=tests/rig/out/destdir` in RIG_BUILDDIR
#                   (default: the top of the source tree)
#   RIG_SCENARIO_DIR  where scenarios come from (default tests/rig/scenarios;
#                   benchmarks keep theirs under bench/)
#   RIG_TIMEOUT     wall-clock limit for QEMU in seconds (default 1200)
#   RIG_NO_BUILD=1  boot the images already in tests/rig/out/ as they are
#   RIG_VERBOSE=1   also copy the serial console to stderr while it runs
#   RIG_XEN_ARGS / RIG_DOM0_ARGS   extra words for Xen's / dom0's command line
#   RIG_MEM         the emulated host's memory in MiB (default 2048)
#   RIG_CPU         QEMU's -cpu (default qemu64,+svm,+npt: TCG emulates
#                   AMD-V with nested paging, so Xen runs HVM and PVH
#                   guests with HAP; plain qemu64 gives a PV-only Xen)
#   RIG_ACCEL       QEMU's -accel (default: QEMU's own, multi-threaded TCG).
#                   Not tcg,thread=single: under it PVH guests panic
#                   ("Fatal exception in interrupt"), migrated or not.
#   RIG_CACHE / RIG_OUT            cache and output dirs (tests/rig/{cache,out})
#
# Two hosts: when a chosen scenario has a "# rig-peer: yes" line, a second
# QEMU boots the same images as host B (dom0 runs tests/rig/peer, not the
# scenarios; its serial log is RIG_OUT/serial-peer.log).  The two are
# joined by links of their own (QEMU's socket netdev, TCP on the loopback,
# virtio NICs): one bridged for the guests (10.99.0.1 here, 10.99.0.2
# there), one with 64 KiB frames for the hosts' own traffic (10.98.0.1,
# 10.98.0.2); and share one disk (RIG_OUT/shared-disk.img, 64 MiB, a
# virtio disk in both: /dev/vda).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

RIG_XENSTORED=${RIG_XENSTORED:-enso}
RIG_TIMEOUT=${RIG_TIMEOUT:-1200}
RIG_SCENARIOS=${RIG_SCENARIOS:-}
RIG_BUILDDIR=${RIG_BUILDDIR:-$RIG_TOP}

mkdir -p "$RIG_OUT"
serial=$RIG_OUT/serial.log
case $serial in
"$RIG_TOP"/*) serial_shown=${serial#"$RIG_TOP"/} ;;
*) serial_shown=$serial ;;
esac

# A suite that cannot run says so as a test line (tests/README.md).
setup_fail() {
	echo "not ok - rig: setup: $*"
	exit 1
}

case $RIG_XENSTORED in
enso | upstream) ;;
*) setup_fail "RIG_XENSTORED=$RIG_XENSTORED (want enso or upstream)" ;;
esac
case $RIG_TIMEOUT in
'' | *[!0-9]*) setup_fail "RIG_TIMEOUT=$RIG_TIMEOUT is not a number of seconds" ;;
esac

# One QEMU at a time, and one user of tests/rig/out/.
exec 9>"$RIG_OUT/.lock"
if ! flock -n 9; then
	rig_log "another boot.sh holds $RIG_OUT/.lock; waiting"
	flock 9
fi

(rig_need_pkgs qemu-system-x86) >&2 || setup_fail "qemu-system-x86 is missing and could not be installed"
command -v qemu-system-x86_64 >/dev/null || setup_fail "qemu-system-x86_64 not found (package qemu-system-x86)"

# --- which scenarios, which markers -------------------------------------------
declare -a scen_files=() expected=()
declare -A marker_scen=()
for f in "$RIG_SCENARIO_DIR"/*; do
	[ -f "$f" ] && scen_files+=("$(basename "$f")")
done
[ ${#scen_files[@]} -gt 0 ] || setup_fail "no scenarios in $RIG_SCENARIO_DIR"

declare -a chosen=()
if [ -z "$RIG_SCENARIOS" ] || [ "$RIG_SCENARIOS" = all ]; then
	chosen=("${scen_files[@]}")
else
	IFS=',+ ' read -r -a wanted <<<"$RIG_SCENARIOS"
	for w in "${wanted[@]}"; do
		found=
		for f in "${scen_files[@]}"; do
			if [ "$w" = "$f" ] || [ "$w" = "${f#[0-9][0-9]-}" ]; then found=$f; fi
		done
		[ -n "$found" ] || setup_fail "RIG_SCENARIOS names '$w', which is not in $RIG_SCENARIO_DIR (have: ${scen_files[*]})"
		chosen+=("$found")
	done
fi

# A scenario with a "# rig-peer: yes" line needs a second host (host B:
# tests/rig/peer), booted beside this one for the whole run.
peer=0
for f in "${chosen[@]}"; do
	grep -q '^# rig-peer: *yes' "$RIG_SCENARIO_DIR/$f" && peer=1
done

expected=(boot)
marker_scen[boot]=
for f in "${chosen[@]}"; do
	m=$(sed -n 's/^# rig-markers: *//p' "$RIG_SCENARIO_DIR/$f" | head -n1)
	[ -n "$m" ] || m=${f#[0-9][0-9]-}
	for x in $m; do
		expected+=("$x")
		marker_scen[$x]=$f
	done
done

# --- build ----------------------------------------------------------------------
build_log=$RIG_OUT/build.log
if [ "${RIG_NO_BUILD:-0}" != 1 ]; then
	destdir=${ENSO_DESTDIR:-}
	if [ -z "$destdir" ] && [ "$RIG_XENSTORED" = enso ]; then
		[ -f "$RIG_BUILDDIR/Makefile" ] ||
			setup_fail "RIG_XENSTORED=enso needs a built tree: no Makefile in $RIG_BUILDDIR (run ./configure && make, or set ENSO_DESTDIR)"
		destdir=$RIG_OUT/destdir
		rm -rf "$destdir"
		rig_log "make install DESTDIR=$destdir (in $RIG_BUILDDIR)"
		if ! make -C "$RIG_BUILDDIR" install DESTDIR="$destdir" >"$build_log" 2>&1; then
			tail -n 20 "$build_log" >&2
			setup_fail "make install DESTDIR=$destdir failed in $RIG_BUILDDIR (see $build_log)"
		fi
	fi
	if [ "$RIG_XENSTORED" = enso ] && [ ! -x "$destdir/usr/local/sbin/xenstored" ]; then
		setup_fail "no usr/local/sbin/xenstored in the install tree $destdir"
	fi
	t=$SECONDS
	if ! "$RIG_DIR/fetch.sh" >>"$build_log" 2>&1; then
		tail -n 5 "$build_log" >&2
		setup_fail "fetch.sh failed: $(grep 'rig: error' "$build_log" | tail -n1)"
	fi
	if ! "$RIG_DIR/mkinitrd.sh" ${destdir:+"$destdir"} >>"$build_log" 2>&1; then
		tail -n 5 "$build_log" >&2
		setup_fail "mkinitrd.sh failed: $(grep 'rig: error' "$build_log" | tail -n1)"
	fi
	rig_log "images built in $((SECONDS - t)) s"
fi
for f in "$RIG_CACHE/xen" "$RIG_CACHE/vmlinuz" "$RIG_OUT/dom0-initrd.gz"; do
	[ -s "$f" ] || setup_fail "$f missing (run tests/rig/fetch.sh and tests/rig/mkinitrd.sh)"
done

# QEMU splits -initrd on ',' (a literal comma is ',,'), and the module's
# command line on spaces.
for f in "$RIG_CACHE/vmlinuz" "$RIG_OUT/dom0-initrd.gz"; do
	case $f in *[,\ ]*) setup_fail "path '$f' contains a comma or a space; QEMU's -initrd cannot take it" ;; esac
done

dom0_cmd="console=hvc0 rig.xenstored=$RIG_XENSTORED"
[ -n "$RIG_SCENARIOS" ] && dom0_cmd="$dom0_cmd rig.scenarios=$(
	IFS=,
	echo "${chosen[*]}"
)"
dom0_cmd="$dom0_cmd ${RIG_DOM0_ARGS:-}"
dom0_cmd=${dom0_cmd//,/,,}
xen_cmd="console=com1 conring_size=1M dom0_mem=768M loglvl=all guest_loglvl=all ${RIG_XEN_ARGS:-}"

# --- boot -----------------------------------------------------------------------
machine=(qemu-system-x86_64 -machine q35 -cpu "${RIG_CPU:-qemu64,+svm,+npt}" -m "${RIG_MEM:-2048}" -smp 2
	-nographic -no-reboot -kernel "$RIG_CACHE/xen" -append "$xen_cmd")
[ -z "${RIG_ACCEL:-}" ] || machine+=(-accel "$RIG_ACCEL")
# host_link listen|connect PORT N: host N's half of the two hosts' links
# (TCP connections on the loopback: a UDP one drops frames whenever the
# other QEMU is slow to read, which an emulated host often is), and the
# shared disk.  Two links: the bridged one the guests share (MTU 1500),
# and one for the hosts' own traffic (migration streams) with 64 KiB
# frames, since an emulated NIC's cost is per frame.
host_link() {
	echo -netdev "socket,id=link,$1=127.0.0.1:$2"
	echo -device "virtio-net-pci,netdev=link,mac=52:54:00:99:00:0$3"
	echo -netdev "socket,id=hosts,$1=127.0.0.1:$(($2 + 1))"
	echo -device "virtio-net-pci,netdev=hosts,mac=52:54:00:98:00:0$3,host_mtu=65520"
	echo -drive "file=$RIG_OUT/shared-disk.img,if=none,id=shared,format=raw,file.locking=off"
	echo -device "virtio-blk-pci,drive=shared"
}
peer_pid=
stop_peer() {
	[ -n "$peer_pid" ] || return 0
	kill "$peer_pid" 2>/dev/null
	wait "$peer_pid" 2>/dev/null
	peer_pid=
}
trap stop_peer EXIT
declare -a link_a=()
if [ $peer = 1 ]; then
	# Ports of this run's own (two boots may share the machine).
	port=$((20000 + $$ % 20000 * 2))
	rm -f "$RIG_OUT/shared-disk.img"
	truncate -s 64M "$RIG_OUT/shared-disk.img"
	mapfile -t link_a < <(host_link connect $port 1 | tr ' ' '\n')
	mapfile -t link_b < <(host_link listen $port 2 | tr ' ' '\n')
	peer_cmd="$dom0_cmd rig.role=peer rig.ip=10.99.0.2 rig.hostip=10.98.0.2"
	dom0_cmd="$dom0_cmd rig.ip=10.99.0.1 rig.hostip=10.98.0.1 rig.peer=10.98.0.2"
	qemu_b=("${machine[@]}" -initrd "$RIG_CACHE/vmlinuz $peer_cmd,$RIG_OUT/dom0-initrd.gz" "${link_b[@]}")
	printf '%q ' "${qemu_b[@]}" >"$RIG_OUT/qemu-cmdline-peer"
	echo >>"$RIG_OUT/qemu-cmdline-peer"
	rig_log "booting host B (the peer); serial log: ${serial_shown%/*}/serial-peer.log"
	timeout -k 10 "$RIG_TIMEOUT" "${qemu_b[@]}" </dev/null >"$RIG_OUT/serial-peer.log" 2>&1 &
	peer_pid=$!
	# A connects at start: B must be listening first (looked up, not
	# probed: B's QEMU takes the first connection as host A).
	hexport=$(printf '%04X' $((port + 1)))
	for _ in $(seq 100); do
		awk -v p=":$hexport" '$4 == "0A" && substr($2, length($2) - 4) == p { f = 1 } END { exit !f }' /proc/net/tcp && break
		kill -0 "$peer_pid" 2>/dev/null || break
		sleep 0.1
	done
fi
qemu=("${machine[@]}" -initrd "$RIG_CACHE/vmlinuz $dom0_cmd,$RIG_OUT/dom0-initrd.gz" "${link_a[@]}")
rig_log "booting (xenstored=$RIG_XENSTORED, scenarios: ${chosen[*]}, timeout ${RIG_TIMEOUT}s); serial log: $serial_shown"
printf '%q ' "${qemu[@]}" >"$RIG_OUT/qemu-cmdline"
echo >>"$RIG_OUT/qemu-cmdline"
t=$SECONDS
set +e
if [ "${RIG_VERBOSE:-0}" = 1 ]; then
	timeout -k 10 "$RIG_TIMEOUT" "${qemu[@]}" </dev/null 2>&1 | tee "$serial" >&2
	qrc=${PIPESTATUS[0]}
else
	timeout -k 10 "$RIG_TIMEOUT" "${qemu[@]}" </dev/null >"$serial" 2>&1
	qrc=$?
fi
set -e
stop_peer
wall=$((SECONDS - t))
if [ "$qrc" -eq 124 ] || [ "$qrc" -eq 137 ]; then
	rig_log "QEMU killed after the ${RIG_TIMEOUT} s limit (RIG_TIMEOUT)"
else
	rig_log "QEMU exited ($qrc) after $wall s wall"
fi

# --- markers -> test lines ----------------------------------------------------
# The parser emits, in log order:
#   M <name> OK | M <name> FAIL <why>      a marker
#   E <scenario> <rc>                      a scenario ended
#   T <scenario> <secs>                    a scenario was killed by its timeout
#   R <scenario> <why>                     a scenario runs again (dom0-init:
#                                          an emulator fault); its first
#                                          run's markers no longer count
parsed=$(tr -d '\r' <"$serial" | awk '
	match($0, /=== [^ ]+ (OK$|FAIL: )/) {
		s = substr($0, RSTART + 4)
		name = s; sub(/ .*/, "", name)
		rest = substr(s, length(name) + 2)
		if (rest == "OK") print "M", name, "OK"
		else { sub(/^FAIL: */, "", rest); print "M", name, "FAIL", rest }
		next
	}
	/--- rig-scenario-end / {
		s = $0; sub(/.*--- rig-scenario-end /, "", s)
		split(s, a, " "); rc = a[2]; sub(/^rc=/, "", rc); print "E", a[1], rc; next
	}
	/--- rig-scenario-timeout / {
		s = $0; sub(/.*--- rig-scenario-timeout /, "", s)
		split(s, a, " "); print "T", a[1], a[3]; next
	}
	/--- rig-scenario-rerun / {
		s = $0; sub(/.*--- rig-scenario-rerun /, "", s)
		print "R", s; next
	}')

declare -A result=() why=() ended=() timedout=()
declare -a order=() reruns=()
while read -r kind a b c; do
	case $kind in
	R)
		for m in "${!result[@]}"; do
			[ "${marker_scen[$m]:-}" = "$a" ] && unset "result[$m]" "why[$m]"
		done
		unset "ended[$a]" "timedout[$a]"
		reruns+=("$a: $b $c")
		;;
	M)
		if [ -z "${result[$a]:-}" ]; then order+=("$a"); fi
		# The first failure of a marker sticks.
		if [ "${result[$a]:-}" != FAIL ]; then
			result[$a]=$b
			why[$a]=$c
		fi
		;;
	E) ended[$a]=$b ;;
	T) timedout[$a]=$b ;;
	esac
done <<<"$parsed"

# Declared markers first (in declaration order), then any extra ones.
declare -A listed=()
all=0 bad=0
report() {
	local m=$1 sf
	listed[$m]=1
	all=$((all + 1))
	case ${result[$m]:-} in
	OK) echo "ok - rig: $m" ;;
	FAIL)
		echo "not ok - rig: $m: ${why[$m]}"
		bad=$((bad + 1))
		;;
	*)
		sf=${marker_scen[$m]:-}
		bad=$((bad + 1))
		if [ -n "$sf" ] && [ -n "${timedout[$sf]:-}" ]; then
			echo "not ok - rig: $m: no marker (scenario $sf killed by its ${timedout[$sf]} s timeout; see $serial_shown)"
		elif [ -n "$sf" ] && [ -n "${ended[$sf]:-}" ]; then
			echo "not ok - rig: $m: no marker (scenario $sf exited rc=${ended[$sf]} without printing it; see $serial_shown)"
		else
			echo "not ok - rig: $m: no marker (boot died or timed out; see $serial_shown)"
		fi
		;;
	esac
}
for r in "${reruns[@]}"; do echo "# rig: ran again: $r"; done
for m in "${expected[@]}"; do report "$m"; done
for m in "${order[@]}"; do
	[ -n "${listed[$m]:-}" ] || report "$m"
done

if [ $bad -gt 0 ]; then
	{
		echo "rig: $bad of $all checks failed; last 30 lines of $serial_shown:"
		tail -n 30 "$serial" | tr -d '\r' | sed 's/^/  | /'
		if [ $peer = 1 ]; then
			echo "rig: last 15 lines of host B's serial-peer.log:"
			tail -n 15 "$RIG_OUT/serial-peer.log" | tr -d '\r' | sed 's/^/  | /'
		fi
	} >&2
	exit 1
fi
exit 0
