# tests/kvm/common.sh: what the KVM suites (run.sh, lifecycle.sh) share.
# Sourced, after setting:
#
#   KVM_SUITE     the suite's name in its lines ("ok - $KVM_SUITE: ...")
#   KVM_TMP_TAG   mktemp's prefix under $TMPDIR (enso-kvm, enso-kvmlc)
#   KVM_ROOT_WHY  why the suite needs root, for the prerequisite line
#
# with the suite's arguments ("$@": BUILD_DIR).  It sets up: ok, notok,
# check, diag, wait_for; $top $build $xl $xsd; the prerequisites (a missing
# one prints a "not ok" line and exits); $TMP with its own xenstored
# socket and Enso's run/lib/log dirs exported there; $logs_out; a private
# xenstored started by start_xenstored (its options in XSD_ARGS, the same
# ones each time, so a restart finds its store); the guest image in $img
# (guest_image); and the EXIT trap, which calls suite_cleanup (the suite's
# own, if defined), destroys the domains named in kvm_domains, kills what
# the suite left running, stops xenstored and copies the logs to $logs_out.

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$top}
case $build in /*) ;; *) build=$PWD/$build ;; esac

failed=0
passed=0
ok() { echo "ok - $KVM_SUITE: $1"; passed=$((passed + 1)); }
notok() { echo "not ok - $KVM_SUITE: $1: $2"; failed=$((failed + 1)); }
# Its locals start with _: CONDITION is eval'd text that names the
# caller's variables ($dn...), which a local would hide.
check() { # check NAME WHY-IF-FAILED CONDITION...
	local _title=$1 _why=$2
	shift 2
	if "$@"; then ok "$_title"; else notok "$_title" "$_why"; fi
}
diag() { echo "# $*" >&2; }
wait_for() { # wait_for TIMEOUT CMD...: every 0.2 s until CMD succeeds
	local limit=$1 t0
	shift
	t0=$(date +%s)
	while :; do
		"$@" && return 0
		[ $(($(date +%s) - t0)) -ge "$limit" ] && return 1
		sleep 0.2
	done
}

# ---- what the suite needs ------------------------------------------------
xl=$build/xl/xl
xsd=$build/xenstored/xenstored
missing=()
[ -x "$xl" ] || missing+=("xl ($xl; build Enso first)")
[ -x "$xsd" ] || missing+=("xenstored ($xsd; build Enso first)")
command -v qemu-system-x86_64 >/dev/null || missing+=("qemu-system-x86_64 (apt-get install qemu-system-x86)")
for p in xenstore-read xenstore-write xenstore-ls xenstore-list; do
	command -v $p >/dev/null || missing+=("$p (apt-get install xenstore-utils)")
done
command -v python3 >/dev/null || missing+=("python3")
[ "$(id -u)" -eq 0 ] || missing+=("root ($KVM_ROOT_WHY)")
if [ ${#missing[@]} -gt 0 ]; then
	for m in "${missing[@]}"; do
		echo "not ok - $KVM_SUITE: prerequisites: missing $m"
	done
	exit 1
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/$KVM_TMP_TAG.XXXXXX")
# In-tree builds keep the logs out of the source tree.
if [ "$build" = "$top" ]; then
	logs_out=${KVM_TEST_LOGS:-${TMPDIR:-/tmp}/enso-$KVM_SUITE-logs}
else
	logs_out=${KVM_TEST_LOGS:-$build/test-logs/$KVM_SUITE}
fi
export XENSTORED_PATH=$TMP/xs.sock
export ENSO_RUNDIR=$TMP/run ENSO_LIBDIR=$TMP/lib ENSO_LOGDIR=$TMP/log
mkdir -p "$ENSO_RUNDIR" "$ENSO_LIBDIR" "$ENSO_LOGDIR" "$TMP/out"
xsd_pid=""
kvm_domains=()

# Processes of this suite that may outlive their parent: QEMUs (their
# command line names files under $TMP) and Enso's detached monitor (it
# carries our ENSO_RUNDIR in its environment).
our_stray_pids() {
	local d pid comm
	for d in /proc/[0-9]*; do
		pid=${d#/proc/}
		[ "$pid" = $$ ] && continue
		[ "$pid" = "$BASHPID" ] && continue
		comm=$(cat "$d/comm" 2>/dev/null) || continue
		case $comm in bash | sh | sleep | timeout | cat | grep | tr) continue ;; esac
		[ "$pid" = "$xsd_pid" ] && continue
		if { tr '\0' '\n' <"$d/cmdline"; } 2>/dev/null | grep -qF "$TMP/"; then
			echo "$pid"
		elif { tr '\0' '\n' <"$d/environ"; } 2>/dev/null | grep -qxF "ENSO_RUNDIR=$TMP/run"; then
			echo "$pid"
		fi
	done
}

kvm_cleanup() {
	local n p
	trap - EXIT INT TERM
	declare -F suite_cleanup >/dev/null && suite_cleanup
	for n in "${kvm_domains[@]}"; do
		if "$xl" domid "$n" >/dev/null 2>&1; then
			timeout 30 "$xl" destroy "$n" >/dev/null 2>&1
		fi
	done
	sleep 0.5
	for p in $(our_stray_pids); do
		diag "cleanup: killing leftover $(cat /proc/$p/comm 2>/dev/null) (pid $p)"
		kill -KILL "$p" 2>/dev/null
	done
	[ -n "$xsd_pid" ] && kill "$xsd_pid" 2>/dev/null && wait "$xsd_pid" 2>/dev/null
	mkdir -p "$logs_out" 2>/dev/null &&
		rm -rf "${logs_out:?}"/* &&
		cp -r "$ENSO_LOGDIR" "$logs_out/enso-log" 2>/dev/null &&
		cp -r "$TMP/out" "$logs_out/xl-output" 2>/dev/null &&
		cp "$TMP"/*.cfg "$TMP"/xenstored*.log "$logs_out/" 2>/dev/null
	rm -rf "$TMP"
}
trap kvm_cleanup EXIT
trap 'notok "suite" "interrupted by a signal"; exit 130' INT TERM

# The guest image (scripts/guest-image.sh) in $img; 1 after a "not ok".
img=$TMP/img
guest_image() {
	if ! "$top/scripts/guest-image.sh" "$img" >"$TMP/out/guest-image.log" 2>&1; then
		notok "guest image" "scripts/guest-image.sh failed: $(tail -n 3 "$TMP/out/guest-image.log" | tr '\n' ' ')"
		return 1
	fi
	[ -s "$img/vmlinuz" ] && [ -s "$img/initrd.gz" ] ||
		{ notok "guest image" "no vmlinuz/initrd.gz in $img"; return 1; }
}

# The same command line each time: a restart is on the same socket with the
# same options (xenstored's persistence keeps the store across it).
XSD_ARGS=(-N -D --socket "$TMP/xs.sock")
start_xenstored() {
	"$xsd" "${XSD_ARGS[@]}" >>"$TMP/xenstored.log" 2>&1 &
	xsd_pid=$!
	wait_for 10 test -S "$TMP/xs.sock" && wait_for 5 xenstore-read / >/dev/null 2>&1
}
