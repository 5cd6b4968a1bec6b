#!/bin/bash
# Host tests of issue 10 on KVM (QEMU, TCG where KVM is not usable):
#
#   tests/kvm/lifecycle.sh [BUILD_DIR]
#
# 1. No invisible domains: xl create is stopped at named points by the test
#    hook (ENSO_TEST_STOP_AT=<point>: libxl leaves <run dir>/test-stop-<point>
#    and waits there), then killed with SIGKILL, SIGINT or SIGTERM; xl
#    destroy likewise.  After each: xl list shows the domain (marked as
#    being created or destroyed) or it is gone; xl destroy removes it; after
#    the monitor's cleanup no QEMU, socket, pid file, stored config or
#    xenstore node of it is left.  While xl destroy is checked the monitor
#    is stopped (SIGSTOP), so that it is xl, not the monitor, that is shown
#    to remove the domain; the SIGINT/SIGTERM cases likewise prove that xl
#    cleans up by itself.
# 2. xenstored killed with -9 while a guest runs: xl fails at once with a
#    clear message, the guest keeps running, the monitor logs the loss once,
#    survives, reconnects when xenstored is restarted (same socket and
#    options) and logs that once; then, with a store that kept its state
#    (xenstored's persistence) or without it (then the monitor writes the
#    records of the domains it watches again, from their stored configs),
#    xl list, xl console and xl shutdown work and the monitor carries out
#    on_poweroff.  The checks that need the store to come back with its
#    state say "[persistent store]" in their names.
# 3. The store loses its state while no monitor runs: the next monitor
#    adopts a completed domain and destroys a half-built one.
#
# Same conventions as tests/kvm/run.sh: "ok - kvm-lifecycle: ..." lines on
# stdout, "# ..." diagnostics on stderr, logs copied to
# BUILD_DIR/test-logs/kvm-lifecycle.  Needs root, qemu-system-x86_64,
# xenstore-utils, python3.
set -u

here=$(cd "$(dirname "$0")" && pwd)
KVM_SUITE=kvm-lifecycle KVM_TMP_TAG=enso-kvmlc KVM_ROOT_WHY="the KVM backend runs QEMU"
# shellcheck source=tests/kvm/common.sh
. "$here/common.sh"

BOOT_TIMEOUT=${KVM_TEST_BOOT_TIMEOUT:-150}
# How long the monitor may take to clean up (it sweeps every 2 s).
CLEAN_TIMEOUT=20

monitor_pid() { cat "$ENSO_RUNDIR/monitor.pid" 2>/dev/null; }
# A stopped monitor must not outlive the suite.
suite_cleanup() {
	local p
	p=$(monitor_pid)
	[ -n "$p" ] && kill -CONT "$p" 2>/dev/null
}

# ---- the guest image and xenstored -------------------------------------------
guest_image || exit 1

if ! start_xenstored; then
	notok "xenstored" "did not start on $TMP/xs.sock: $(tail -n 3 "$TMP/xenstored.log" | tr '\n' ' ')"
	exit 1
fi

# ---- helpers ---------------------------------------------------------------------
write_cfg() { # write_cfg NAME [LINES...] -> path
	local name=$1 f=$TMP/$1.cfg l
	shift
	{
		echo "name = \"$name\""
		echo "memory = 128"
		echo "vcpus = 1"
		echo "kernel = \"$img/vmlinuz\""
		echo "ramdisk = \"$img/initrd.gz\""
		echo "extra = \"console=hvc0 quiet\""
		echo "on_poweroff = \"destroy\""
		echo "on_reboot = \"destroy\""
		echo "on_crash = \"destroy\""
		for l in "$@"; do echo "$l"; done
	} >"$f"
	echo "$f"
}

list_row() { "$xl" list 2>/dev/null | awk -v n="$1" 'NR > 1 && $1 == n'; }
listed() { [ -n "$(list_row "$1")" ]; }
not_listed() { ! listed "$1"; }
pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
pid_dead() { ! pid_alive "$1"; }
qemus_of() { # the QEMUs whose command line names domain ID's run dir
	local id=$1 p
	for p in $(pgrep -f -- "$ENSO_RUNDIR/qemu/$id/" 2>/dev/null); do
		[ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo "$p"
	done
}
xs_nodes_of() { # the store's nodes of domain ID and of /vm/UUID
	local id=$1 uuid=${2:-}
	xenstore-ls -f 2>/dev/null | sed 's/ = .*//' |
		grep -E "^/local/domain/$id(/|\$)|^/libxl/$id(/|\$)${uuid:+|^/vm/$uuid(/|\$)}"
}
# What is left of domain ID (UUID): QEMUs, its run dir (pid file, QMP
# sockets), its stored config, its nodes.  Empty when nothing is.
leftovers() {
	local id=$1 uuid=${2:-} out=""
	[ -n "$(qemus_of "$id")" ] && out+="qemu pid(s) $(qemus_of "$id" | tr '\n' ' '); "
	[ -e "$ENSO_RUNDIR/qemu/$id" ] && out+="$ENSO_RUNDIR/qemu/$id: $(ls "$ENSO_RUNDIR/qemu/$id" 2>/dev/null | tr '\n' ' '); "
	[ -e "$ENSO_LIBDIR/config-d$id.json" ] && out+="config-d$id.json; "
	[ -n "$(xs_nodes_of "$id" "$uuid")" ] && out+="nodes: $(xs_nodes_of "$id" "$uuid" | head -n 4 | tr '\n' ' ')"
	echo "$out"
}
nothing_left() { [ -z "$(leftovers "$@")" ]; }

# The domain ID and UUID a name has in the store (xl domid, /libxl/ID/uuid).
ID="" UUID=""
ids_of() {
	ID=$("$xl" domid "$1" 2>/dev/null)
	UUID=""
	[ -n "$ID" ] && UUID=$(xenstore-read "/libxl/$ID/uuid" 2>/dev/null)
}

monitor_stop() { local p; p=$(monitor_pid); [ -n "$p" ] && kill -STOP "$p"; }
monitor_cont() { local p; p=$(monitor_pid); [ -n "$p" ] && kill -CONT "$p"; }

# Starts xl with ENSO_TEST_STOP_AT=POINT in the background (XL_PID), and
# waits until it stops there.  start_stopped POINT OUT CMD...
XL_PID=""
start_stopped() {
	local point=$1 out=$2
	shift 2
	rm -f "$ENSO_RUNDIR/test-stop-$point"
	ENSO_TEST_STOP_AT=$point "$xl" "$@" >"$out" 2>&1 &
	XL_PID=$!
	wait_for 60 test -e "$ENSO_RUNDIR/test-stop-$point"
}
kill_xl() { # kill_xl SIGNAL: sends it, waits for xl, sets XL_RC
	kill -"$1" "$XL_PID" 2>/dev/null
	wait "$XL_PID" 2>/dev/null
	XL_RC=$?
}

# One create of a domain, to have the monitor running before the first
# stopped create (xl create starts it, and a paused create costs no boot).
warm=$(write_cfg enso-lc-warm)
kvm_domains+=(enso-lc-warm)
"$xl" create -p "$warm" >"$TMP/out/create-warm.out" 2>&1 ||
	diag "warm-up create failed: $(tr '\n' '|' <"$TMP/out/create-warm.out")"
"$xl" destroy enso-lc-warm >/dev/null 2>&1
check "xl create starts the host's monitor" "no live pid in $ENSO_RUNDIR/monitor.pid" \
	eval 'pid_alive "$(monitor_pid)"'

# ---- 1a. create killed with SIGKILL: xl list shows it, xl destroy removes it ----
# The monitor is stopped meanwhile: xl's own view and xl destroy are tested.
points="records-written after-qemu-start domain-built before-unpause"
for point in $points; do
	dn=enso-lc-k-$point
	kvm_domains+=("$dn")
	cfg=$(write_cfg "$dn")
	monitor_stop
	if ! start_stopped "$point" "$TMP/out/create-$dn.out" create "$cfg"; then
		notok "create stopped at $point" "xl did not reach it: $(tr '\n' '|' <"$TMP/out/create-$dn.out")"
		kill -KILL "$XL_PID" 2>/dev/null
		monitor_cont
		continue
	fi
	kill_xl KILL
	ids_of "$dn"
	row=$(list_row "$dn")
	diag "SIGKILL at $point: domid ${ID:-?}, row '$row'"
	check "create SIGKILLed at $point: xl list shows it, marked (being created)" \
		"row '$row'; xl list: $("$xl" list 2>&1 | tr '\n' '|')" \
		eval '[[ $row == *"(being created)"* ]]'
	"$xl" destroy "$dn" >"$TMP/out/destroy-$dn.out" 2>&1
	rc=$?
	check "create SIGKILLed at $point: xl destroy removes it, leaving nothing" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/destroy-$dn.out"); left: $(leftovers "${ID:-x}" "$UUID")" \
		eval '[ $rc -eq 0 ] && [ -n "$ID" ] && not_listed "$dn" && wait_for 5 nothing_left "$ID" "$UUID"'
	monitor_cont
done

# ---- 1b. create killed with SIGKILL: the monitor cleans up -------------------------
for point in $points; do
	dn=enso-lc-m-$point
	kvm_domains+=("$dn")
	cfg=$(write_cfg "$dn")
	if ! start_stopped "$point" "$TMP/out/create-$dn.out" create "$cfg"; then
		notok "create stopped at $point" "xl did not reach it: $(tr '\n' '|' <"$TMP/out/create-$dn.out")"
		kill -KILL "$XL_PID" 2>/dev/null
		continue
	fi
	ids_of "$dn"
	[ "$point" = records-written ] || qemu_seen=$(qemus_of "${ID:-x}" | tr '\n' ' ')
	kill_xl KILL
	if wait_for "$CLEAN_TIMEOUT" nothing_left "${ID:-x}" "$UUID" && not_listed "$dn"; then
		ok "create SIGKILLed at $point: the monitor removes everything (QEMU, pid file, sockets, config, nodes)"
	else
		notok "create SIGKILLed at $point: the monitor removes everything" \
			"domid ${ID:-?} (qemu then: ${qemu_seen:-none}); after ${CLEAN_TIMEOUT}s left: $(leftovers "${ID:-x}" "$UUID"); row '$(list_row "$dn")'"
	fi
	qemu_seen=""
done
check "the monitor says what it cleaned up" \
	"no 'did not finish' line in xl-monitor.log: $(tail -n 5 "$ENSO_LOGDIR/xl-monitor.log" 2>/dev/null | tr '\n' '|')" \
	grep -q "create by process .* did not finish" "$ENSO_LOGDIR/xl-monitor.log"

# ---- 1c. a create that completed stays -----------------------------------------------
dn=enso-lc-created
kvm_domains+=("$dn")
cfg=$(write_cfg "$dn")
if start_stopped created "$TMP/out/create-$dn.out" create -p "$cfg"; then
	kill_xl KILL
	ids_of "$dn"
	sleep 5 # two of the monitor's sweeps
	row=$(list_row "$dn")
	check "create SIGKILLed after it completed: the domain stays, not marked" \
		"row '$row'; left: $(leftovers "${ID:-x}")" \
		eval '[ -n "$row" ] && [[ $row != *"(being"* ]] && [ -n "$(qemus_of "${ID:-x}")" ]'
	check "create SIGKILLed after it completed: it is the monitor's" \
		"/libxl/${ID:-?}/monitor='$(xenstore-read "/libxl/${ID:-x}/monitor" 2>/dev/null)', creating='$(xenstore-read "/libxl/${ID:-x}/creating" 2>/dev/null)'" \
		eval '[ "$(xenstore-read "/libxl/${ID:-x}/monitor" 2>/dev/null)" = 1 ] && ! xenstore-read "/libxl/${ID:-x}/creating" >/dev/null 2>&1'
	"$xl" destroy "$dn" >/dev/null 2>&1
	check "that domain: xl destroy leaves nothing" "left: $(leftovers "${ID:-x}" "$UUID")" \
		eval 'wait_for 5 nothing_left "${ID:-x}" "$UUID"'
else
	notok "create stopped after completing" "xl did not reach it: $(tr '\n' '|' <"$TMP/out/create-$dn.out")"
	kill -KILL "$XL_PID" 2>/dev/null
fi

dn=enso-lc-created-int
kvm_domains+=("$dn")
cfg=$(write_cfg "$dn")
if start_stopped created "$TMP/out/create-$dn.out" create -p "$cfg"; then
	kill_xl INT
	ids_of "$dn"
	check "create SIGINTed after it completed: xl exits 0 saying the domain stays, and it does" \
		"rc=$XL_RC: $(tr '\n' '|' <"$TMP/out/create-$dn.out"); row '$(list_row "$dn")'" \
		eval '[ $XL_RC -eq 0 ] && grep -q "it stays" "$TMP/out/create-$dn.out" && listed "$dn" && [ -n "$(qemus_of "${ID:-x}")" ]'
	"$xl" destroy "$dn" >/dev/null 2>&1
else
	notok "create stopped after completing (SIGINT)" "xl did not reach it: $(tr '\n' '|' <"$TMP/out/create-$dn.out")"
	kill -KILL "$XL_PID" 2>/dev/null
fi

# ---- 1d. SIGINT / SIGTERM: xl cleans up itself ----------------------------------------
for sig in INT TERM; do
	for point in records-written after-qemu-start before-unpause; do
		dn=enso-lc-$sig-$point
		kvm_domains+=("$dn")
		cfg=$(write_cfg "$dn")
		monitor_stop # what is removed, xl removes
		if ! start_stopped "$point" "$TMP/out/create-$dn.out" create "$cfg"; then
			notok "create stopped at $point" "xl did not reach it: $(tr '\n' '|' <"$TMP/out/create-$dn.out")"
			kill -KILL "$XL_PID" 2>/dev/null
			monitor_cont
			continue
		fi
		ids_of "$dn"
		kill_xl "$sig"
		out=$(tr '\n' '|' <"$TMP/out/create-$dn.out")
		check "create SIG$sig at $point: xl exits non-zero saying it was interrupted" \
			"rc=$XL_RC: $out" \
			eval '[ $XL_RC -ne 0 ] && grep -q "interrupted" "$TMP/out/create-$dn.out"'
		check "create SIG$sig at $point: xl itself leaves nothing" \
			"domid ${ID:-?}; left: $(leftovers "${ID:-x}" "$UUID"); row '$(list_row "$dn")'" \
			eval '[ -n "$ID" ] && nothing_left "$ID" "$UUID" && not_listed "$dn"'
		monitor_cont
	done
done

# ---- 1e. xl destroy killed midway ---------------------------------------------------------
for point in destroy-marked destroy-backend-done; do
	for who in xl monitor; do
		dn=enso-lc-d-$who-$point
		kvm_domains+=("$dn")
		cfg=$(write_cfg "$dn")
		if ! "$xl" create -p "$cfg" >"$TMP/out/create-$dn.out" 2>&1; then
			notok "destroy killed at $point ($who)" "xl create -p failed: $(tr '\n' '|' <"$TMP/out/create-$dn.out")"
			continue
		fi
		ids_of "$dn"
		[ $who = xl ] && monitor_stop
		if ! start_stopped "$point" "$TMP/out/destroy-$dn.out" destroy "$dn"; then
			notok "destroy stopped at $point" "xl did not reach it: $(tr '\n' '|' <"$TMP/out/destroy-$dn.out")"
			kill -KILL "$XL_PID" 2>/dev/null
			monitor_cont
			continue
		fi
		kill_xl KILL
		if [ $who = xl ]; then
			row=$(list_row "$dn")
			check "destroy SIGKILLed at $point: xl list shows it, marked (being destroyed)" \
				"row '$row'" eval '[[ $row == *"(being destroyed)"* ]]'
			"$xl" destroy "$dn" >"$TMP/out/destroy2-$dn.out" 2>&1
			rc=$?
			check "destroy SIGKILLed at $point: xl destroy again removes it, leaving nothing" \
				"rc=$rc: $(tr '\n' '|' <"$TMP/out/destroy2-$dn.out"); left: $(leftovers "${ID:-x}" "$UUID")" \
				eval '[ $rc -eq 0 ] && not_listed "$dn" && wait_for 5 nothing_left "${ID:-x}" "$UUID"'
			monitor_cont
		else
			check "destroy SIGKILLed at $point: the monitor finishes it, leaving nothing" \
				"after ${CLEAN_TIMEOUT}s left: $(leftovers "${ID:-x}" "$UUID"); row '$(list_row "$dn")'" \
				eval 'wait_for "$CLEAN_TIMEOUT" nothing_left "${ID:-x}" "$UUID" && not_listed "$dn"'
		fi
	done
done

# ---- 2. xenstored killed with -9 while a guest runs -------------------------------------
G=enso-lc-store
kvm_domains+=("$G")
cfg=$(write_cfg "$G")
conlog=$ENSO_LOGDIR/console/$G.log
ticks() { grep -aoE 'ENSO-TICK n=[0-9]+' "$conlog" 2>/dev/null | tail -n 1 | sed 's/.*n=//'; }
ticks_above() { local n; n=$(ticks); [ -n "$n" ] && [ "$n" -gt "$1" ]; }
gone_once() { [ "$(grep -c "xenstored is gone" "$ENSO_LOGDIR/xl-monitor.log" 2>/dev/null)" -eq 1 ]; }
back_once() { [ "$(grep -c "xenstored is back" "$ENSO_LOGDIR/xl-monitor.log" 2>/dev/null)" -eq 1 ]; }
"$xl" create "$cfg" >"$TMP/out/create-$G.out" 2>&1
rc=$?
ids_of "$G"
gid=$ID guuid=$UUID
qpid=$(xenstore-read "/libxl/${gid:-x}/qemu-pid" 2>/dev/null)
mpid=$(monitor_pid)
if [ $rc -ne 0 ] || ! wait_for "$BOOT_TIMEOUT" ticks_above 1; then
	notok "xenstored killed: a guest to run meanwhile" "create rc=$rc: $(tr '\n' '|' <"$TMP/out/create-$G.out"); console: $(tail -c 200 "$conlog" 2>/dev/null | tr -d '\r' | tr '\n' '|')"
else
	# A node only the store itself can bring back (nobody writes it again).
	xenstore-write "/local/domain/$gid/data/enso-lc-marker" kept 2>/dev/null ||
		diag "cannot write the marker node"
	kill -KILL "$xsd_pid"
	wait "$xsd_pid" 2>/dev/null
	xsd_pid=""
	t0=$(date +%s)
	timeout 10 "$xl" list >"$TMP/out/list-nostore.out" 2>&1
	rc=$?
	check "xenstored killed: xl list fails at once, saying it cannot reach xenstored at its socket" \
		"rc=$rc after $(($(date +%s) - t0)) s (124: hung): $(tr '\n' '|' <"$TMP/out/list-nostore.out")" \
		eval '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -qF "cannot reach xenstored at $TMP/xs.sock:" "$TMP/out/list-nostore.out"'
	timeout 10 "$xl" destroy "$G" >"$TMP/out/destroy-nostore.out" 2>&1
	rc=$?
	check "xenstored killed: xl destroy fails as clearly and destroys nothing" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/destroy-nostore.out"); qemu $qpid alive: $(pid_alive "$qpid" && echo yes || echo no)" \
		eval '[ $rc -ne 0 ] && [ $rc -ne 124 ] && grep -q "cannot reach xenstored" "$TMP/out/destroy-nostore.out" && pid_alive "$qpid"'
	n0=$(ticks)
	check "xenstored killed: the guest keeps running (its QEMU, its ticks)" \
		"qemu $qpid alive: $(pid_alive "$qpid" && echo yes || echo no); tick $n0 -> $(ticks)" \
		eval 'pid_alive "$qpid" && wait_for 15 ticks_above "${n0:-0}"'
	check "xenstored killed: the monitor survives and says once that the store is gone" \
		"monitor $mpid alive: $(pid_alive "$mpid" && echo yes || echo no); log: $(tail -n 4 "$ENSO_LOGDIR/xl-monitor.log" | tr '\n' '|')" \
		eval 'wait_for 10 gone_once && sleep 3 && gone_once && pid_alive "$mpid"'

	start_xenstored || notok "xenstored restarted" "did not start again: $(tail -n 3 "$TMP/xenstored.log" | tr '\n' ' ')"
	check "xenstored restarted: the monitor reconnects and says so once" \
		"monitor $mpid alive: $(pid_alive "$mpid" && echo yes || echo no); log: $(tail -n 4 "$ENSO_LOGDIR/xl-monitor.log" | tr '\n' '|')" \
		eval 'wait_for 15 back_once && pid_alive "$mpid"'
	"$xl" list >"$TMP/out/list-back.out" 2>&1
	rc=$?
	check "xenstored restarted: xl list works again" "rc=$rc: $(tr '\n' '|' <"$TMP/out/list-back.out")" eval '[ $rc -eq 0 ]'
	# What needs the store to have come back with its state.
	check "[persistent store] xenstored restarted: a node written before the kill is there again" \
		"/local/domain/$gid/data/enso-lc-marker: '$(xenstore-read "/local/domain/$gid/data/enso-lc-marker" 2>&1)'" \
		eval '[ "$(xenstore-read "/local/domain/$gid/data/enso-lc-marker" 2>/dev/null)" = kept ]'
	check "[persistent store] xenstored restarted: the guest's records came back with the store (the monitor wrote none again)" \
		"monitor log: $(grep "written again" "$ENSO_LOGDIR/xl-monitor.log" | tr '\n' '|')" \
		eval '! grep -q "written again" "$ENSO_LOGDIR/xl-monitor.log"'
	# From here on the store's state or, without it, the monitor's
	# rewriting of the records of the domains it watches.
	check "xenstored restarted: xl list shows the guest with its id" \
		"want $G as ${gid:-?}: $(tr '\n' '|' <"$TMP/out/list-back.out")" \
		eval 'awk -v n="$G" -v id="$gid" "NR > 1 && \$1 == n && \$2 == id { f = 1 } END { exit !f }" "$TMP/out/list-back.out"'
	n1=$(ticks)
	timeout 8 "$xl" console "$G" </dev/null >"$TMP/out/console-back.out" 2>&1
	check "xenstored restarted: xl console shows the running guest" \
		"no ENSO-TICK in $(wc -c <"$TMP/out/console-back.out") bytes: $(tail -c 200 "$TMP/out/console-back.out" | tr -d '\r' | tr '\n' '|')" \
		grep -qaF ENSO-TICK "$TMP/out/console-back.out"
	timeout 120 "$xl" shutdown -w "$G" >"$TMP/out/shutdown-back.out" 2>&1
	rc=$?
	check "xenstored restarted: xl shutdown -w returns once the guest is gone" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/shutdown-back.out")" eval '[ $rc -eq 0 ]'
	if [ $rc -ne 0 ] && pid_alive "$qpid"; then
		# Without the store's state xl cannot name the guest: press its
		# power button over QMP, so that the monitor's part is still
		# tested: it holds the guest's QEMU event socket across the loss.
		diag "pressing the power button of domain ${gid:-?} over QMP"
		python3 - "$ENSO_RUNDIR/qemu/$gid/qmp.sock" <<'EOF' >&2
import json, socket, sys
s = socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); f = s.makefile("rw")
f.readline()
for c in ("qmp_capabilities", "system_powerdown"):
    f.write(json.dumps({"execute": c}) + "\n"); f.flush(); print("#", f.readline().strip())
EOF
	fi
	check "xenstored restarted: the monitor carries out on_poweroff=destroy (the guest's QEMU is gone)" \
		"qemu $qpid alive after 60 s; monitor log: $(tail -n 4 "$ENSO_LOGDIR/xl-monitor.log" | tr '\n' '|')" \
		eval 'wait_for 60 pid_dead "$qpid"'
	check "xenstored restarted: after on_poweroff nothing of the guest is left" \
		"left: $(leftovers "${gid:-x}" "$guuid"); row '$(list_row "$G")'" \
		eval 'wait_for 10 nothing_left "${gid:-x}" "$guuid" && not_listed "$G"'
	check "xenstored restarted: the monitor still runs" "monitor $mpid gone" pid_alive "$mpid"
fi

# ---- 3. the store loses its state while no monitor runs -------------------------------------
# A completed domain (paused: no boot needed) and a create killed half-way;
# then the monitor is killed, and xenstored killed and restarted.  The next
# monitor adopts the first and destroys the second, with the store's state
# (records) or without it (a scan of what the backend runs).
D1=enso-lc-done H1=enso-lc-half
kvm_domains+=("$D1" "$H1")
cfg=$(write_cfg $D1)
"$xl" create -p "$cfg" >"$TMP/out/create-$D1.out" 2>&1 ||
	diag "create -p $D1 failed: $(tr '\n' '|' <"$TMP/out/create-$D1.out")"
ids_of $D1
d1id=$ID d1uuid=$UUID
monitor_stop
cfg=$(write_cfg $H1)
if [ -n "$d1id" ] && start_stopped before-unpause "$TMP/out/create-$H1.out" create "$cfg"; then
	ids_of $H1
	h1id=$ID h1uuid=$UUID
	kill_xl KILL
	mpid=$(monitor_pid)
	kill -KILL "$mpid"
	wait_for 5 pid_dead "$mpid"
	kill -KILL "$xsd_pid"
	wait "$xsd_pid" 2>/dev/null
	start_xenstored || notok "xenstored restarted (2)" "did not start again"
	"$xl" monitord >"$TMP/out/monitord.out" 2>&1
	rc=$?
	row=$(list_row $D1)
	check "store lost while no monitor ran: the next monitor adopts the completed domain (listed, same id, its QEMU alive)" \
		"monitord rc=$rc; row '$row' (want id $d1id); qemu: $(qemus_of "$d1id" | tr '\n' ' '); monitor log: $(tail -n 4 "$ENSO_LOGDIR/xl-monitor.log" | tr '\n' '|')" \
		eval '[ $rc -eq 0 ] && [ "$(echo "$row" | awk "{print \$2}")" = "$d1id" ] && [[ $row != *"(being"* ]] && [ -n "$(qemus_of "$d1id")" ]'
	check "store lost while no monitor ran: the next monitor destroys the create that never completed" \
		"domid ${h1id:-?}; left: $(leftovers "${h1id:-x}" "$h1uuid"); row '$(list_row $H1)'" \
		eval '[ -n "$h1id" ] && wait_for "$CLEAN_TIMEOUT" nothing_left "$h1id" "$h1uuid" && not_listed $H1'
	"$xl" destroy $D1 >"$TMP/out/destroy-$D1.out" 2>&1
	rc=$?
	check "the adopted domain: xl destroy leaves nothing" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/destroy-$D1.out"); left: $(leftovers "$d1id" "$d1uuid")" \
		eval '[ $rc -eq 0 ] && wait_for 5 nothing_left "$d1id" "$d1uuid"'
else
	notok "store lost while no monitor ran" "setting up failed: $D1 id '${d1id:-}'; $(tr '\n' '|' <"$TMP/out/create-$H1.out" 2>/dev/null)"
	kill -KILL "$XL_PID" 2>/dev/null
	monitor_cont
fi

# ---- nothing left -------------------------------------------------------------------------
left=$(pgrep -f -- "$TMP/" | while read -r p; do [ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo "$p"; done)
check "no QEMU of this suite is left running" "pids: $(echo "$left" | tr '\n' ' ')" eval '[ -z "$left" ]'
diag "$passed passed, $failed failed; logs in $logs_out"
[ $failed -eq 0 ]
