#!/bin/bash
# The README's first command, tested as a user runs it: `./demo.sh` (the
# demo domain on this host's best hypervisor, installed to /usr/local and
# served by the system's xenstored socket), `./demo.sh --stop`, and
# `./demo.sh --xen` (the same demo on the rig's real Xen).
#
#   tests/demo/run.sh          (as root, from a tree that is not configured
#                               in place; demo.sh builds into build/)
#
# Prints "ok - demo: ..." / "not ok - demo: ...: why" per check; exits
# non-zero if any failed.  DEMO_XEN=0 leaves out the rig form.
set -u
top=$(cd "$(dirname "$0")/../.." && pwd)
xl=/usr/local/sbin/xl
name=enso-demo
export XENSTORED_PATH=/var/run/xenstored/socket

failed=0
passed=0
ok() { echo "ok - demo: $1"; passed=$((passed + 1)); }
notok() { echo "not ok - demo: $1: $2"; failed=$((failed + 1)); }
check() { # check NAME WHY-IF-FALSE CMD...
	local what=$1 why=$2
	shift 2
	if "$@"; then ok "$what"; else notok "$what" "$why"; fi
}

out=$(mktemp -d /tmp/enso-demo-test.XXXXXX)
cleanup() {
	"$top/demo.sh" --stop >/dev/null 2>&1
	rm -rf "$out"
}
trap cleanup EXIT

# --- ./demo.sh ---------------------------------------------------------------------------------
"$top/demo.sh" >"$out/demo.out" 2>&1
rc=$?
sed 's/^/# demo.sh: /' "$out/demo.out" | tail -n 40 >&2
check "demo.sh exits 0" "exit status $rc; see the lines above" [ $rc = 0 ]
check "demo.sh shows the guest's console" "no ENSO-GUEST-BOOTED line in its output" \
	grep -q 'ENSO-GUEST-BOOTED' "$out/demo.out"
check "demo.sh shows xl list with the demo domain" "no xl list header and $name row in its output" \
	bash -c "grep -q '^Name  *ID  *Mem VCPUs' '$out/demo.out' && grep -q '^$name  *[0-9]' '$out/demo.out'"
check "demo.sh says how to attach and stop" "no 'xl console' / 'demo.sh --stop' hint" \
	bash -c "grep -q 'xl console $name' '$out/demo.out' && grep -q 'demo.sh --stop' '$out/demo.out'"

# The domain really runs, on the installed stack, after demo.sh returned.
state=$(timeout 20 "$xl" list "$name" 2>&1 | awk -v n="$name" '$1 == n { print $5 }')
case $state in
*r* | *b*) ok "the demo domain runs after demo.sh returned (state $state)" ;;
*) notok "the demo domain runs after demo.sh returned" "xl list $name gives state '$state'" ;;
esac
log=/var/log/enso/console/$name.log
ticks() { grep -c 'ENSO-TICK' "$log" 2>/dev/null; }
t1=$(ticks)
ticked() { [ "$(ticks)" -gt "${t1:-0}" ]; }
i=0
while ! ticked && [ $i -lt 120 ]; do sleep 0.5; i=$((i + 1)); done
check "the demo guest keeps ticking on its console" "ticks in $log: $t1, still $(ticks) a minute later" ticked
mon=$(cat /var/run/enso/monitor.pid 2>/dev/null)
xsd=$(cat /var/run/enso-xenstored.pid 2>/dev/null)
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
demo_qemu() { pgrep -f "^qemu-system.*-name $name" >/dev/null || pgrep -f "^qemu-system.*guest=$name" >/dev/null; }
check "the host's monitor runs for it" "no live pid in /var/run/enso/monitor.pid ('$mon')" \
	alive "$mon"

# --- ./demo.sh --stop ---------------------------------------------------------------------------
"$top/demo.sh" --stop >"$out/stop.out" 2>&1
rc=$?
sleep 1
check "demo.sh --stop exits 0" "exit status $rc: $(tr '\n' ' ' <"$out/stop.out")" [ $rc = 0 ]
check "demo.sh --stop leaves no QEMU of the demo" "a QEMU for $name still runs: $(pgrep -af "^qemu-system.*$name" | cut -c1-200)" \
	eval '! demo_qemu'
i=0
while { alive "$xsd" || alive "$mon"; } && [ $i -lt 40 ]; do sleep 0.25; i=$((i + 1)); done
check "demo.sh --stop stops xenstored and the monitor" "still running: $(alive "$xsd" && echo "xenstored $xsd") $(alive "$mon" && echo "monitor $mon")" \
	eval '! alive "$xsd" && ! alive "$mon"'
check "demo.sh --stop: xenstored's socket no longer answers" "xenstore-read of /local/domain/0/name still answers" \
	eval '! timeout 5 xenstore-read /local/domain/0/name >/dev/null 2>&1'


# --- ./demo.sh --xen ----------------------------------------------------------------------------
if [ "${DEMO_XEN:-1}" = 1 ]; then
	"$top/demo.sh" --xen >"$out/xen.out" 2>&1
	rc=$?
	sed 's/^/# demo.sh --xen: /' "$out/xen.out" | tail -n 30 >&2
	check "demo.sh --xen exits 0" "exit status $rc; see the lines above" [ $rc = 0 ]
	n_ok=$(grep -c '^ok - rig: demo/' "$out/xen.out")
	n_bad=$(grep -c '^not ok - rig: demo/' "$out/xen.out")
	check "demo.sh --xen: Enso's stack, create, console and xl list on real Xen" \
		"$n_ok of 4 rig markers ok, $n_bad not ok" [ "$n_ok:$n_bad" = 4:0 ]
	check "demo.sh --xen shows the guest's console and xl list" "no console line or list row in its output" \
		bash -c "grep -q 'ENSO-DOMU' '$out/xen.out' && grep -q '|.*Domain-0' '$out/xen.out'"
fi

echo "# demo: $passed passed, $failed failed" >&2
[ $failed = 0 ]
