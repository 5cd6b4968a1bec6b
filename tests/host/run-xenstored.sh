#!/bin/bash
# Host tests of Enso's xenstored against real clients.
#
#   tests/host/run-xenstored.sh [path/to/xenstored]
#
# The daemon is taken from the first argument, else $XENSTORED, else
# xenstored/xenstored at the top of the repository.  The test programs
# (xs_client, xs_hostile) are taken from $HOST_TEST_BIN, else from
# tests/host/ beside the daemon's build directory; when they are not built
# they are compiled here with cc.
#
# Prints only "ok - ..." / "not ok - ..." lines on stdout (diagnostics go to
# stderr) and exits non-zero if any check failed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
top=$(git -C "$here" rev-parse --show-toplevel 2>/dev/null) ||
	top=$(cd "$here/../.." && pwd)
XENSTORED=${1:-${XENSTORED:-$top/xenstored/xenstored}}
case $XENSTORED in /*) ;; *) XENSTORED=$PWD/$XENSTORED ;; esac

failed=0
passed=0
ok() { echo "ok - host: $1"; passed=$((passed + 1)); }
notok() { echo "not ok - host: $1: $2"; failed=$((failed + 1)); }
diag() { echo "# $*" >&2; }

if [ ! -x "$XENSTORED" ]; then
	echo "not ok - host: xenstored binary missing ($XENSTORED)"
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/enso-host.XXXXXX")
pids=()
cleanup() {
	local p
	for p in "${pids[@]}"; do
		kill -KILL "$p" 2>/dev/null
	done
	rm -rf "$TMP"
}
trap cleanup EXIT

# ---- test programs -------------------------------------------------
bindir=${HOST_TEST_BIN:-$(cd "$(dirname "$XENSTORED")/.." && pwd)/tests/host}
find_prog() {
	local name=$1 cflags libs extra=""
	if [ -x "$bindir/$name" ]; then
		echo "$bindir/$name"
		return 0
	fi
	diag "$bindir/$name not built; compiling it with cc"
	cflags=$(pkg-config --cflags xenstore 2>/dev/null)
	libs=$(pkg-config --libs xenstore 2>/dev/null || echo -lxenstore)
	grep -q '"rawxs.h"' "$here/$name.c" &&
		extra="$here/rawxs.c $top/xenstored/msgname.c -I$top/util -I$top/xenstored"
	# shellcheck disable=SC2086
	if ${CC:-cc} -std=gnu11 -D_GNU_SOURCE -O1 -g $cflags \
		-o "$TMP/$name" "$here/$name.c" $extra $libs >&2; then
		echo "$TMP/$name"
		return 0
	fi
	return 1
}

# ---- daemon control ------------------------------------------------
# start_daemon NAME ARGS...: sets DPID and DSOCK
start_daemon() {
	local name=$1 i
	shift
	DSOCK=$TMP/$name.sock
	"$XENSTORED" -N -D --socket "$DSOCK" --state-dir "$TMP/$name.state" "$@" >"$TMP/$name.log" 2>&1 &
	DPID=$!
	pids+=("$DPID")
	for ((i = 0; i < 200; i++)); do
		[ -S "$DSOCK" ] && return 0
		alive "$DPID" || break
		sleep 0.05
	done
	diag "daemon $name log:"
	sed 's/^/#   /' "$TMP/$name.log" >&2
	return 1
}

alive() {
	local st
	kill -0 "$1" 2>/dev/null || return 1
	st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[ "$st" != Z ]
}

# stop_daemon NAME PID: TERM, then checks how it ended
stop_daemon() {
	local name=$1 pid=$2 i rc
	if alive "$pid"; then
		kill -TERM "$pid" 2>/dev/null
		for ((i = 0; i < 100; i++)); do
			alive "$pid" || break
			sleep 0.05
		done
		if alive "$pid"; then
			diag "$name did not exit on SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null
		fi
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	# 0: clean exit; 143: killed by the TERM we sent
	if [ $rc -eq 0 ] || [ $rc -eq 143 ]; then
		ok "$name exits on SIGTERM without crashing"
	else
		notok "$name exits on SIGTERM without crashing" "exit status $rc"
	fi
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation' \
		"$TMP/$name.log"; then
		notok "$name log has no sanitizer or crash report" \
			"$(grep -Em1 'AddressSanitizer|LeakSanitizer|runtime error:|Segmentation' "$TMP/$name.log")"
		sed 's/^/#   /' "$TMP/$name.log" | tail -n 40 >&2
	else
		ok "$name log has no sanitizer or crash report"
	fi
}

# run_suite LABEL DAEMON_NAME PID SOCK CMD...: runs CMD against SOCK,
# passes its ok / not ok lines through, then checks the daemon lives.
# tally LABEL RC TIMEOUT: a test program's lines ($TMP/LABEL.out, its
# stderr in $TMP/LABEL.err) counted and passed on; a crash, a timeout or
# silence is a failure of its own.
tally() {
	local label=$1 rc=$2 limit=$3 out=$TMP/$1.out lines
	sed 's/^/# /' "$TMP/$label.err" >&2
	grep -E '^(not )?ok - ' "$out"
	grep -vE '^(not )?ok - ' "$out" | sed 's/^/# /' >&2
	passed=$((passed + $(grep -c '^ok - ' "$out")))
	failed=$((failed + $(grep -c '^not ok - ' "$out")))
	lines=$(grep -cE '^(not )?ok - ' "$out")
	if [ "$rc" -eq 124 ]; then
		notok "$label finished" "timed out after $limit s"
	elif [ "$rc" -gt 128 ]; then
		notok "$label finished" "killed by signal $((rc - 128))"
	elif [ "$lines" -eq 0 ]; then
		notok "$label finished" "printed no checks (exit $rc)"
	elif [ "$rc" -ne 0 ] && ! grep -q '^not ok - ' "$out"; then
		notok "$label finished" "exit $rc without a failing check"
	fi
}

run_suite() {
	local label=$1 name=$2 pid=$3 sock=$4 out
	shift 4
	out=$TMP/$label.out
	XENSTORED_PATH=$sock timeout 600 "$@" >"$out" 2>"$TMP/$label.err"
	tally "$label" $? 600
	if alive "$pid"; then
		ok "$name alive after $label"
	else
		wait "$pid" 2>/dev/null
		notok "$name alive after $label" "daemon died (status $?)"
		sed 's/^/#   /' "$TMP/$name.log" | tail -n 40 >&2
	fi
}

# engine_daemon SOCK NAME DIR TYPE KEY VALUE WHAT [OPTION...] -- [NODE VALUE...]:
# enso-NAME -T shm (and the options) probes a TYPE device the toolstack
# writes under its own directory, backend/DIR/3/0 (the NODEs besides the
# handshake's): InitWait, and the feature KEY reads VALUE; it refuses a
# second daemon on its pid file, and exits cleanly on SIGTERM.
engine_daemon() {
	local sock=$1 name=$2 dir=$3 type=$4 key=$5 value=$6 what=$7 bin pid i st out
	local be=/local/domain/0/backend/$dir/3/0 fe=/local/domain/3/device/$type/0
	local opts=() nodes=()
	shift 7
	while [ $# -gt 0 ] && [ "$1" != -- ]; do opts+=("$1"); shift; done
	shift
	while [ $# -gt 1 ]; do nodes+=("$be/$1" "$2"); shift 2; done
	bin=$(cd "$(dirname "$XENSTORED")/.." && pwd)/$name/enso-$name
	if [ ! -x "$bin" ] || ! command -v xenstore-write >/dev/null; then
		notok "enso-$name: probes a $type" "$bin or xenstore-write missing"
		return
	fi
	XENSTORED_PATH=$sock "$bin" -i -T shm "${opts[@]}" --pid-file="$TMP/$name.pid" >"$TMP/$name.log" 2>&1 &
	pid=$!
	pids+=("$pid")
	XENSTORED_PATH=$sock xenstore-write $fe/state 1 "${nodes[@]}" \
		$be/frontend-id 3 $be/online 1 $be/state 1 $be/frontend $fe
	for ((i = 0; i < 100; i++)); do
		st=$(XENSTORED_PATH=$sock xenstore-read $be/state 2>/dev/null)
		[ "$st" = 2 ] && break
		sleep 0.05
	done
	if [ "$st" = 2 ] && [ "$(XENSTORED_PATH=$sock xenstore-read $be/$key)" = "$value" ]; then
		ok "enso-$name -T shm: $what"
	else
		notok "enso-$name -T shm: $what" "state '$st'"
		sed 's/^/#   /' "$TMP/$name.log" >&2
	fi
	out=$(XENSTORED_PATH=$sock timeout 10 "$bin" -i -T shm --pid-file="$TMP/$name.pid" 2>&1)
	if [ $? = 1 ] && echo "$out" | grep -q "another enso-$name holds it"; then
		ok "enso-$name: a second daemon on the same pid file refuses to start"
	else
		notok "enso-$name: a second daemon on the same pid file refuses to start" "$(echo "$out" | tail -n 1)"
	fi
	XENSTORED_PATH=$sock xenstore-rm /local/domain/0/backend/$dir /local/domain/3 2>/dev/null
	stop_daemon "$name" "$pid"
}

# ---- run -----------------------------------------------------------
xs_client=$(find_prog xs_client) ||
	notok "xs_client builds" "compilation failed"
xs_hostile=$(find_prog xs_hostile) ||
	notok "xs_hostile builds" "compilation failed"

if start_daemon xenstored -T "$TMP/trace"; then
	main_pid=$DPID
	main_sock=$DSOCK
	ok "xenstored starts and creates its socket"
	[ -n "$xs_client" ] &&
		run_suite xs_client xenstored "$main_pid" "$main_sock" "$xs_client"
	[ -n "$xs_hostile" ] &&
		run_suite xs_hostile xenstored "$main_pid" "$main_sock" "$xs_hostile"
	if command -v xenstore-write >/dev/null 2>&1; then
		run_suite xenstore_utils xenstored "$main_pid" "$main_sock" \
			bash "$here/xenstore_utils.sh"
	else
		echo "not ok - host: xenstore-utils missing (apt-get install xenstore-utils)"
		failed=$((failed + 1))
	fi
	run_suite test-xenstore xenstored "$main_pid" "$main_sock" \
		bash "$here/upstream_test_xenstore.sh"
	stop_daemon xenstored "$main_pid"
	if [ -s "$TMP/trace" ]; then
		ok "xenstored -T writes a trace file"
	else
		notok "xenstored -T writes a trace file" "$TMP/trace empty or missing"
	fi
else
	notok "xenstored starts and creates its socket" \
		"no socket $DSOCK within 10 s"
fi

# A second instance with small limits, to prove the quota options.
if start_daemon xenstored-limits -E 30 -W 7 -t 3 -S 600 -A 3 \
	-Q transaction-nodes=20; then
	ok "xenstored with -E 30 -W 7 -t 3 -S 600 -A 3 -Q transaction-nodes=20 starts"
	[ -n "$xs_client" ] &&
		run_suite xs_client-limits xenstored-limits "$DPID" "$DSOCK" \
			"$xs_client" --limits E=30 W=7 t=3 S=600 A=3 Qtn=20
	stop_daemon xenstored-limits "$DPID"
else
	notok "xenstored with -E 30 -W 7 -t 3 -S 600 -A 3 -Q transaction-nodes=20 starts" \
		"no socket within 10 s"
fi

# A third, for the limits a hostile client must not get past (xs_limits).
xs_limits=$(find_prog xs_limits) ||
	notok "xs_limits builds" "compilation failed"
if [ -n "$xs_limits" ] &&
	start_daemon xenstored-xslimits -E 50 -Q memory=300000 -q memory=300000; then
	run_suite xs_limits xenstored-xslimits "$DPID" "$DSOCK" "$xs_limits"
	if grep -q 'dropping watch events until it reads' "$TMP/xenstored-xslimits.log"; then
		ok "xenstored logs the watch events it drops"
	else
		notok "xenstored logs the watch events it drops" \
			"no 'dropping watch events' line in its log"
	fi
	stop_daemon xenstored-xslimits "$DPID"
elif [ -n "$xs_limits" ]; then
	notok "xenstored with -E 50 -Q memory=300000 starts" "no socket within 10 s"
fi

# The xenbus core (xenbus/) through the whole handshake over shm, on a
# daemon of its own: no other client's nodes in backend/.
xb_echo=$(find_prog xb_echo) ||
	notok "xb_echo builds" "compilation failed"
if [ -n "$xb_echo" ] && start_daemon xenstored-xenbus; then
	run_suite xb_echo xenstored-xenbus "$DPID" "$DSOCK" "$xb_echo"
	stop_daemon xenstored-xenbus "$DPID"
elif [ -n "$xb_echo" ]; then
	notok "xenstored for xb_echo starts" "no socket within 10 s"
fi

# blkback (the vbd engine) to a blkif frontend of the test's own over shm,
# temporary files as disks; then the daemon itself, probing a device.
blk_front=$(find_prog blk_front) ||
	notok "blk_front builds" "compilation failed"
if [ -n "$blk_front" ] && start_daemon xenstored-blkback; then
	run_suite blk_front xenstored-blkback "$DPID" "$DSOCK" "$blk_front"
	truncate -s 8M "$TMP/blkd.img"
	engine_daemon "$DSOCK" blkback enso-vbd vbd feature-max-indirect-segments 256 \
		"probes a vbd (InitWait, features)" -- params "$TMP/blkd.img" mode w
	stop_daemon xenstored-blkback "$DPID"
elif [ -n "$blk_front" ]; then
	notok "xenstored for blk_front starts" "no socket within 10 s"
fi

# netback (the vif engine) to a netif frontend of the test's own over shm,
# real taps in a network namespace of its own (root); then the daemon.
net_front=$(find_prog net_front) ||
	notok "net_front builds" "compilation failed"
if [ -n "$net_front" ] && start_daemon xenstored-netback; then
	run_suite net_front xenstored-netback "$DPID" "$DSOCK" "$net_front"
	engine_daemon "$DSOCK" netback enso-vif vif multi-queue-max-queues 2 \
		"probes a vif in backend/enso-vif (InitWait, features, -q 2)" -q 2 -- \
		mac 00:16:3e:00:00:03 handle 0
	stop_daemon xenstored-netback "$DPID"
elif [ -n "$net_front" ]; then
	notok "xenstored for net_front starts" "no socket within 10 s"
fi

# consoled over shm: tests/host/consoled.sh.
# shellcheck source=tests/host/consoled.sh
. "$here/consoled.sh"
consoled_tests

# hotplug/ in a network namespace of its own: tests/host/hotplug.sh.
# shellcheck source=tests/host/hotplug.sh
. "$here/hotplug.sh"
hotplug_tests

# Persistence: SIGKILL under a writer, torn tails, compaction, the lock.
# shellcheck source=tests/host/persist.sh
. "$here/persist.sh"
persist_tests

# Live update: the daemon replaced in place under upstream's xenstore-control.
xs_liveupdate=$(find_prog xs_liveupdate) ||
	notok "xs_liveupdate builds" "compilation failed"
lu_control=/usr/lib/xen-4.17/bin/xenstore-control
if [ ! -x "$lu_control" ]; then
	notok "liveupdate: upstream's xenstore-control" "$lu_control missing (package xen-utils-4.17)"
elif [ -n "$xs_liveupdate" ] && start_daemon xenstored-lu; then
	# A copy, so that the update is seen to run another file.
	cp "$XENSTORED" "$TMP/xenstored-new"
	run_suite xs_liveupdate xenstored-lu "$DPID" "$DSOCK" "$xs_liveupdate" \
		"$lu_control" "$TMP/xenstored-new" "$DPID"
	stop_daemon xenstored-lu "$DPID"
elif [ -n "$xs_liveupdate" ]; then
	notok "xenstored for the live update starts" "no socket within 10 s"
fi

diag "host: $passed passed, $failed failed"
[ $failed -eq 0 ]
