# Helpers for rig scenarios (busybox sh, inside dom0). Packed as /rig/lib.sh;
# a scenario starts with `. /rig/lib.sh`.
#
# Markers, read by the host side (boot.sh):
#   rig_ok NAME            prints "=== NAME OK"
#   rig_fail NAME WHY...   prints "=== NAME FAIL: WHY" (WHY made one line)
# A scenario declares the markers it will print on a header line
#   # rig-markers: a/b a/c
# so that the host can report the ones that never came.

# shellcheck disable=SC2034 # RIG_WHY and these paths are for the scenarios
RIG_XENBIN=/usr/lib/xen-4.17/bin
RIG_LOGDIR=/var/log/xen
XS_TRACE=$RIG_LOGDIR/xenstored-trace.log
XS_LOG=$RIG_LOGDIR/xenstored.log
XC_LOG=$RIG_LOGDIR/xenconsoled.log

rig_now() { cut -d' ' -f1 /proc/uptime; }

# rig_since START: seconds (one decimal) since START (a rig_now value).
rig_since() { awk -v a="$1" -v b="$(rig_now)" 'BEGIN { printf "%.1f", b - a }'; }

rig_say() { echo "--- rig: $*"; }

rig_oneline() { tr '\n\r\t' '   ' | sed 's/  */ /g; s/^ //; s/ $//' | cut -c1-400; }

rig_ok() { echo "=== $1 OK"; }

# A failure is also noted in $RIG_FAILED, which dom0-init reads to tell
# whether a scenario failed (some go on after a failure and exit 0).
RIG_FAILED=/run/rig-failed
rig_fail() {
	local name="$1"
	shift
	echo "$name" >>"$RIG_FAILED"
	echo "=== $name FAIL: $(echo "$*" | rig_oneline)"
}

# rig_wait SECS CMD...: run CMD every 0.25 s until it succeeds; 1 on timeout.
rig_wait() {
	local limit="$1" start
	shift
	start=$(rig_now)
	while :; do
		"$@" && return 0
		awk -v a="$start" -v b="$(rig_now)" -v l="$limit" 'BEGIN { exit !(b - a >= l) }' && return 1
		sleep 0.25
	done
}

# rig_triple_faults: the domains ("d43", one a line, sorted) that Xen has
# reported triple-faulted, as far back as its console ring goes. Under
# QEMU's emulated SVM a PVH domain is now and then triple-faulted by the
# emulator itself (docs/design/migration.md); dom0-init runs a failed
# scenario again when that happened during it.
rig_triple_faults() {
	{ timeout 10 /usr/local/sbin/xl dmesg 2>/dev/null || timeout 10 "$RIG_XENBIN/xl" dmesg 2>/dev/null; } |
		sed -n 's/.*[ )]\(d[0-9][0-9]*\)v[0-9][0-9]* Triple fault.*/\1/p' | sort -u
}

# xenstore clients, bounded: a client talking to a dead or wedged daemon
# would otherwise hang the scenario until its timeout.
xs_read() { timeout 10 xenstore-read "$@" 2>&1; }
xs_exists() { timeout 10 xenstore-exists "$@" >/dev/null 2>&1; }

# rig_dump TITLE FILE [LINES]: the tail of a log, framed, on the console.
rig_dump() {
	local lines="${3:-40}"
	echo "----- $1: $2 (last $lines lines) -----"
	if [ -f "$2" ]; then tail -n "$lines" "$2"; else echo "(no such file)"; fi
	echo "----- end $1 -----"
}

# rig_dump_state: everything useful after a failure.
rig_dump_state() {
	# Without a daemon, clients fall back to /dev/xen/xenbus and block.
	if rig_xenstored_running; then
		echo "----- xl list -----"
		timeout 20 /usr/lib/xen-4.17/bin/xl list 2>&1
		echo "----- xenstore-ls -f -----"
		timeout 20 xenstore-ls -f 2>&1 | head -n 200
		echo "----- end xenstore-ls -----"
	else
		echo "----- (no xenstored running: no xl list, no xenstore-ls) -----"
	fi
	rig_dump "xenstored output" "$XS_LOG" 40
	rig_dump "xenstored trace" "$XS_TRACE" 60
	rig_dump "xenconsoled output" "$XC_LOG" 20
	for f in "$RIG_LOGDIR"/xl-*.log; do
		[ -f "$f" ] && rig_dump "xl log" "$f" 30
	done
	echo "----- processes -----"
	ps w 2>&1 | grep -E 'xen|xl' | grep -v grep
	echo "----- dmesg tail -----"
	dmesg | tail -n 20
	echo "----- end dump -----"
}

rig_xenstored_running() {
	[ -S /run/xenstored/socket ] && [ -s /run/rig-xenstored.pid ] && kill -0 "$(cat /run/rig-xenstored.pid)" 2>/dev/null
}

# rig_xenstored_start: start the xenstore daemon chosen by rig.xenstored
# (enso or upstream), unless one already runs. Both run in the foreground
# (-N) in the background of this shell so their output lands in $XS_LOG.
# On failure sets RIG_WHY (one line) and returns 1.
rig_xenstored_start() {
	local bin pid
	if rig_xenstored_running; then
		return 0
	fi
	case ${RIG_XENSTORED:-enso} in
	enso)
		bin=/usr/local/sbin/xenstored
		[ -x "$bin" ] || { RIG_WHY="$bin is not in this image (mkinitrd.sh was given no ENSO_DESTDIR?)"; return 1; }
		"$bin" -N -V -T "$XS_TRACE" --pid-file /run/xenstored.pid >"$XS_LOG" 2>&1 &
		pid=$!
		;;
	upstream)
		bin=$RIG_XENBIN/xenstored
		"$bin" -N -T "$XS_TRACE" --pid-file /run/xenstored.pid >"$XS_LOG" 2>&1 &
		pid=$!
		;;
	*)
		RIG_WHY="unknown rig.xenstored=$RIG_XENSTORED (enso or upstream)"
		return 1
		;;
	esac
	echo "$pid" >/run/rig-xenstored.pid
	rig_say "started $bin (pid $pid)"
	# Wait for the socket, or for the daemon to die.
	rig_wait 30 eval '[ -S /run/xenstored/socket ] || ! kill -0 '"$pid"' 2>/dev/null'
	if [ ! -S /run/xenstored/socket ]; then
		kill -0 "$pid" 2>/dev/null || { RIG_WHY="$bin exited before making its socket: $(tail -n 3 "$XS_LOG" | rig_oneline)"; return 1; }
		RIG_WHY="$bin made no /run/xenstored/socket in 30 s"
		return 1
	fi
	if ! out=$(timeout 10 xenstore-ls / 2>&1); then
		RIG_WHY="$bin does not answer xenstore-ls /: $out"
		return 1
	fi
	if [ "$RIG_XENSTORED" = upstream ]; then
		# Upstream's daemon leaves dom0's own entries to xen-init-dom0.
		if ! out=$(timeout 30 "$RIG_XENBIN/xen-init-dom0" 2>&1); then
			RIG_WHY="xen-init-dom0 failed: $out"
			return 1
		fi
	fi
	return 0
}

# rig_xenconsoled_start: upstream's console backend, logging guest consoles
# to /var/log/xen/console/guest-NAME.log.
rig_xenconsoled_start() {
	local pid
	pidof xenconsoled >/dev/null 2>&1 && return 0
	"$RIG_XENBIN/xenconsoled" -i --log=guest --log-dir="$RIG_LOGDIR/console" >"$XC_LOG" 2>&1 &
	pid=$!
	sleep 1
	if ! kill -0 "$pid" 2>/dev/null; then
		RIG_WHY="xenconsoled exited: $(tail -n 3 "$XC_LOG" | rig_oneline)"
		return 1
	fi
	rig_say "started xenconsoled (pid $pid)"
	return 0
}

# --- the second host (tests/rig/peer; a scenario with "# rig-peer: yes") ---
# Each host has two NICs on the hosts' links (boot.sh): the bridged one
# (MAC 52:54:00:99:00:0N, in xenbr0, which has rig.ip) and the hosts' own
# (MAC 52:54:00:98:00:0N, MTU 65520, rig.hostip).  rig.peer is the
# peer's hosts' address.
RIG_PEER_ADDR=${RIG_PEER:-10.98.0.2}

# rig_nic MAC: the name of the interface with that MAC, once it is there
# (bounded); empty if it never comes.
rig_nic() {
	local i=0 f
	while [ $i -lt 100 ]; do
		for f in /sys/class/net/*/address; do
			[ "$(cat "$f" 2>/dev/null)" = "$1" ] && { f=${f%/address}; echo "${f##*/}"; return 0; }
		done
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# rig_links_up N: host N's side of the links: the bridged NIC in xenbr0
# (rig.ip on the bridge), the hosts' NIC with rig.hostip.  On failure sets
# RIG_WHY and returns 1.
rig_links_up() {
	local br hs
	br=$(rig_nic "52:54:00:99:00:0$1")
	hs=$(rig_nic "52:54:00:98:00:0$1")
	[ -n "$br" ] && [ -n "$hs" ] || { RIG_WHY="the hosts' links are not all there: $(cat /sys/class/net/*/address | tr '\n' ' ')"; return 1; }
	ip link set lo up
	ip link add name xenbr0 type bridge 2>/dev/null
	ip link set "$br" master xenbr0
	ip link set "$br" up
	ip addr add "$RIG_IP/24" dev xenbr0 2>/dev/null
	ip link set xenbr0 up
	ip link set "$hs" mtu 65520
	ip addr add "$RIG_HOSTIP/24" dev "$hs" 2>/dev/null
	ip link set "$hs" up
	return 0
}

# rig_peer COMMAND...: runs COMMAND (one sh command line) in the peer's
# dom0 and prints its output (stderr too); its exit status is not
# carried, so a command that must say so echoes it.  A command must not
# leave a job behind: it would hold the connection open.
rig_peer() {
	echo "$*" | timeout 500 socat -t 500 - "TCP:$RIG_PEER_ADDR:8001,connect-timeout=10" 2>/dev/null
}

# rig_link_up: host A's side of the links (rig_links_up), then waits
# (bounded) for the peer to answer.  On failure sets RIG_WHY and
# returns 1.
rig_link_up() {
	rig_links_up 1 || return 1
	if ! rig_wait 180 eval '[ "$(rig_peer echo peer-up)" = peer-up ]'; then
		RIG_WHY="the peer at $RIG_PEER_ADDR does not answer on port 8001 after 180 s ($(ping -c 1 -w 5 "$RIG_PEER_ADDR" 2>&1 | tail -n 1))"
		return 1
	fi
	return 0
}
