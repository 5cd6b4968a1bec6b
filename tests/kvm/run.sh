#!/bin/bash
# Host tests of Enso's KVM path: real QEMU (KVM, or TCG where KVM is not
# usable) booting Debian's real kernel with the guest of
# scripts/guest-image.sh, driven by Enso's xl.
#
#   tests/kvm/run.sh [BUILD_DIR]
#
# BUILD_DIR holds the built tree (xl/xl, xenstored/xenstored); default: the
# top of the repository (an in-tree build). The suite starts its own
# xenstored on a private socket and points Enso at private directories
# (ENSO_RUNDIR, ENSO_LIBDIR, ENSO_LOGDIR under a temporary directory), so
# nothing under /var is touched. Needs root (QEMU, taps), qemu-system-x86_64,
# xenstore-utils, python3, busybox-static and cpio.
#
# Prints one "ok - kvm: ..." / "not ok - kvm: ...: why" line per check on
# stdout; diagnostics and timing figures go to stderr as "# ..." lines. Exits
# non-zero if any check failed. Enso's logs (console logs, xl and QEMU logs)
# are copied to $KVM_TEST_LOGS at the end (default: BUILD_DIR/test-logs/kvm,
# or /tmp/enso-kvm-logs for an in-tree build). KVM_TEST_BOOT_TIMEOUT (150 s)
# bounds each wait for a boot.
#
# Seven guest boots in all (one reboots once), several checks per guest
# (KVM_TEST_ONLY=net: the network one only; KVM_TEST_ONLY=save: the save
# one only):
#   S  xl save -c, save, restore (ticks go on), bad files refused
#      (tests/kvm/save.sh)
#   M  xl migrate to a second Enso host and back, over socat and ssh,
#      and what must fail (tests/kvm/migrate.sh; KVM_TEST_ONLY=migrate)
#   N  vifs on a bridge in a network namespace of the test's own, a user's
#      script=, rate= (tests/kvm/net.sh)
#   P  tests/host/hotplug inside a guest of Debian's kernel, which has the
#      police action this host may lack (QEMU alone, tests/kvm/police.sh)
#   A  memory=maxmem=512, vcpus=1, maxvcpus=2, a disk: console, list,
#      list -l, disk, block-attach/-list/-detach (hotplug), mem-set, vcpu-set (CPU hotplug), mem-max,
#      pause/unpause, shutdown -w
#   B  cpus="nodes:0,^0" (its vCPU thread on node 0's CPUs but 0), killed from
#      outside (kill -9 of its QEMU)
#   C  enso.crash=1, on_crash=destroy
#   R  enso.reboot=1, on_reboot=restart, then rename and destroy
set -u

here=$(cd "$(dirname "$0")" && pwd)
KVM_SUITE=kvm KVM_TMP_TAG=enso-kvm KVM_ROOT_WHY="the KVM backend runs QEMU and makes taps"
# shellcheck source=tests/kvm/common.sh
. "$here/common.sh"

BOOT_TIMEOUT=${KVM_TEST_BOOT_TIMEOUT:-150}
now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
t_suite=$(now)

# Background readers (xl console) the suite started.
bg_pids=()
suite_cleanup() {
	local p
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
	declare -F net_cleanup >/dev/null && net_cleanup
	declare -F migrate_cleanup >/dev/null && migrate_cleanup
}

# ---- the guest image -------------------------------------------------------
t0=$(now)
guest_image || exit 1
ok "guest image built ($(elapsed "$t0") s)"

# ---- xenstored ---------------------------------------------------------------
if ! start_xenstored; then
	notok "xenstored" "did not start on $TMP/xs.sock: $(tail -n 3 "$TMP/xenstored.log" | tr '\n' ' ')"
	exit 1
fi

# ---- helpers -------------------------------------------------------------------
# write_cfg NAME MEM MAXMEM EXTRA DISK POWEROFF REBOOT CRASH [LINES...]
write_cfg() {
	local name=$1 mem=$2 maxmem=$3 extra=$4 disk=$5 po=$6 rb=$7 cr=$8 f
	shift 8
	f=$TMP/$name.cfg
	{
		echo "name = \"$name\""
		echo "memory = $mem"
		echo "maxmem = $maxmem"
		echo "vcpus = 1"
		echo "kernel = \"$img/vmlinuz\""
		echo "ramdisk = \"$img/initrd.gz\""
		echo "extra = \"console=hvc0 quiet$extra\""
		[ -n "$disk" ] && echo "disk = [ 'format=raw, vdev=xvda, access=rw, target=$disk' ]"
		echo "on_poweroff = \"$po\""
		echo "on_reboot = \"$rb\""
		echo "on_crash = \"$cr\""
		local l
		for l in "$@"; do echo "$l"; done
	} >"$f"
	echo "$f"
}

new_disk() { rm -f "$1"; truncate -s 16M "$1"; }

conlog() { echo "$ENSO_LOGDIR/console/$1.log"; }
# count_in_log NAME STRING: occurrences of STRING in the guest's console log.
count_in_log() { grep -aoF -- "$2" "$(conlog "$1")" 2>/dev/null | wc -l; }
in_log() { [ "$(count_in_log "$1" "$2")" -gt 0 ]; }
last_tick() { # last_tick NAME -> "n memtotal" of the last ENSO-TICK line
	grep -aoE 'ENSO-TICK n=[0-9]+ memtotal=[0-9]+' "$(conlog "$1")" 2>/dev/null | tail -n 1 |
		sed -E 's/ENSO-TICK n=([0-9]+) memtotal=([0-9]+)/\1 \2/'
}
tick_n() { local t; t=$(last_tick "$1"); echo "${t% *}"; }
# tick_cpus NAME -> the online CPUs the guest counted in its last tick
tick_cpus() {
	grep -aoE 'ENSO-TICK n=[0-9]+ memtotal=[0-9]+ cpus=[0-9]+' "$(conlog "$1")" 2>/dev/null |
		tail -n 1 | sed -E 's/.* cpus=//'
}
cpus_are() { [ "$(tick_cpus "$1")" = "$2" ]; }
tick_mem() { local t; t=$(last_tick "$1"); echo "${t#* }"; }
tick_above() { local n; n=$(tick_n "$1"); [ -n "$n" ] && [ "$n" -gt "$2" ]; }
mem_at_most() { local m; m=$(tick_mem "$1"); [ -n "$m" ] && [ "$m" -le "$2" ]; }
mem_at_least() { local m; m=$(tick_mem "$1"); [ -n "$m" ] && [ "$m" -ge "$2" ]; }

domid_of() { "$xl" domid "$1" 2>/dev/null; }
listed() { "$xl" list 2>/dev/null | awk -v n="$1" 'NR > 1 && $1 == n { f = 1 } END { exit !f }'; }
not_listed() { ! listed "$1"; }
list_row() { "$xl" list 2>/dev/null | awk -v n="$1" 'NR > 1 && $1 == n'; }
pid_alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null; }
pid_dead() { ! pid_alive "$1"; }
# The store's nodes of domain ID (and of /vm/UUID when given), one per line.
xs_nodes_of() {
	local id=$1 uuid=${2:-}
	xenstore-ls -f 2>/dev/null | sed 's/ = .*//' |
		grep -E "^/local/domain/$id(/|\$)|^/libxl/$id(/|\$)${uuid:+|^/vm/$uuid(/|\$)}"
}
no_nodes_of() { [ -z "$(xs_nodes_of "$@")" ]; }
# The guest domains in the store (dom0's own entry, which Enso writes on
# first use, is not one).
domain_ids() { xenstore-list /local/domain 2>/dev/null | grep -vx 0 | sort -n | tr '\n' ' '; }
# gone_from_store NAME ID: no node of domain ID is left, or ID has been
# handed to another domain already (then its nodes are that domain's).
gone_from_store() {
	no_nodes_of "$2" && return 0
	local now_name
	now_name=$(xenstore-read "/local/domain/$2/name" 2>/dev/null)
	if [ -n "$now_name" ] && [ "$now_name" != "$1" ]; then
		diag "domid $2 of $1 already reused by $now_name"
		return 0
	fi
	return 1
}
uuid_of() { # from /local/domain/ID/vm (= /vm/UUID), else from xl list -l
	local id=$1 vm
	vm=$(xenstore-read "/local/domain/$id/vm" 2>/dev/null)
	if [ -n "$vm" ]; then
		echo "${vm#/vm/}"
		return
	fi
	"$xl" list -l "$id" 2>/dev/null | python3 -c '
import json, sys
def find(o):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "uuid" and isinstance(v, str): return v
            r = find(v)
            if r: return r
    if isinstance(o, list):
        for v in o:
            r = find(v)
            if r: return r
for d in json.load(sys.stdin): print(find(d) or ""); break' 2>/dev/null
}
qemus_with() { pgrep -f -- "$1" 2>/dev/null | while read -r p; do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo "$p"
done; }

# create NAME CFG: xl -v create; sets CREATE_RC, CREATE_OUT (stdout+stderr)
create() {
	local name=$1 cfg=$2
	"$xl" -v create "$cfg" >"$TMP/out/create-$name.out" 2>"$TMP/out/create-$name.err"
	CREATE_RC=$?
	CREATE_OUT=$(cat "$TMP/out/create-$name.out" "$TMP/out/create-$name.err")
	kvm_domains+=("$name")
	T_CREATED[$name]=$(now)
}
declare -A T_CREATED=() T_BOOTED=() DOMID=() QPID=()

# booted NAME: wait for the boot marker in the console log; records the time.
booted() {
	local name=$1
	if wait_for "$BOOT_TIMEOUT" in_log "$name" ENSO-GUEST-BOOTED; then
		T_BOOTED[$name]=$(elapsed "${T_CREATED[$name]}")
		diag "$name: boot marker $(printf '%s' "${T_BOOTED[$name]}") s after xl create"
		return 0
	fi
	return 1
}

# ---- bad configs and dry runs (no boot) ----------------------------------------
"$xl" list >/dev/null 2>&1
ids_before=$(domain_ids)

cfg=$(write_cfg enso-kvm-pygrub 256 256 "" "" destroy destroy destroy 'bootloader = "pygrub"')
"$xl" create "$cfg" >"$TMP/out/create-pygrub.out" 2>&1
rc=$?
out=$(cat "$TMP/out/create-pygrub.out")
diag "xl create (bootloader=pygrub): rc=$rc: $(echo "$out" | tr '\n' '|')"
check "bad config: bootloader=\"pygrub\" is refused, naming the key" \
	"rc=$rc, output: $(echo "$out" | tr '\n' '|')" \
	eval '[ $rc -ne 0 ] && echo "$out" | grep -qi bootloader'
leftover="ids before: [$ids_before] after: [$(domain_ids)]; qemu: $(qemus_with enso-kvm-pygrub | tr '\n' ' '); listed: $(listed enso-kvm-pygrub && echo yes || echo no)"
check "bad config: bootloader=\"pygrub\" leaves nothing behind" "$leftover" \
	eval '[ "$(domain_ids)" = "$ids_before" ] && [ -z "$(qemus_with enso-kvm-pygrub)" ] && not_listed enso-kvm-pygrub'

cfg=$(write_cfg enso-kvm-nokernel 256 256 "" "" destroy destroy destroy)
sed -i "s|^kernel = .*|kernel = \"$TMP/no-such-dir/vmlinuz\"|" "$cfg"
"$xl" create "$cfg" >"$TMP/out/create-nokernel.out" 2>&1
rc=$?
out=$(cat "$TMP/out/create-nokernel.out")
diag "xl create (missing kernel): rc=$rc: $(echo "$out" | tr '\n' '|')"
check "bad config: a missing kernel file is refused, naming the file" \
	"rc=$rc, output: $(echo "$out" | tr '\n' '|')" \
	eval '[ $rc -ne 0 ] && echo "$out" | grep -qF "$TMP/no-such-dir/vmlinuz"'
leftover="ids before: [$ids_before] after: [$(domain_ids)]; qemu: $(qemus_with enso-kvm-nokernel | tr '\n' ' '); listed: $(listed enso-kvm-nokernel && echo yes || echo no)"
check "bad config: a missing kernel leaves nothing behind" "$leftover" \
	eval '[ "$(domain_ids)" = "$ids_before" ] && [ -z "$(qemus_with enso-kvm-nokernel)" ] && not_listed enso-kvm-nokernel'

cfg=$(write_cfg enso-kvm-soft 256 256 "" "" destroy destroy destroy 'cpus_soft = "0"')
"$xl" create "$cfg" >"$TMP/out/create-soft.out" 2>&1
rc=$?
out=$(cat "$TMP/out/create-soft.out")
diag "xl create (cpus_soft): rc=$rc: $(echo "$out" | tr '\n' '|')"
check "bad config for KVM: cpus_soft= is refused, naming the key" \
	"rc=$rc, output: $(echo "$out" | tr '\n' '|')" \
	eval '[ $rc -ne 0 ] && echo "$out" | grep -q "cpus_soft="'
check "bad config for KVM: cpus_soft= leaves nothing behind" \
	"ids before: [$ids_before] after: [$(domain_ids)]; qemu: $(qemus_with enso-kvm-soft | tr '\n' ' ')" \
	eval '[ "$(domain_ids)" = "$ids_before" ] && [ -z "$(qemus_with enso-kvm-soft)" ] && not_listed enso-kvm-soft'

# ---- save and restore (tests/kvm/save.sh) -----------------------------------
# shellcheck source=tests/kvm/save.sh
. "$here/save.sh"
# shellcheck source=tests/kvm/migrate.sh
. "$here/migrate.sh"
if [ "${KVM_TEST_ONLY:-}" = migrate ]; then
	migrate_tests
	diag "KVM_TEST_ONLY=migrate: the other guests are not booted"
	diag "suite: $(elapsed "$t_suite") s, $passed passed, $failed failed; logs in $logs_out"
	[ $failed -eq 0 ]
	exit
fi
if [ "${KVM_TEST_ONLY:-}" = save ]; then
	save_tests
	diag "KVM_TEST_ONLY=save: the other guests are not booted"
	diag "suite: $(elapsed "$t_suite") s, $passed passed, $failed failed; logs in $logs_out"
	[ $failed -eq 0 ]
	exit
fi

# ---- networks: vifs on a bridge in a namespace of the test's own ----------
# shellcheck source=tests/kvm/net.sh
. "$here/net.sh"
net_tests
# shellcheck source=tests/kvm/police.sh
. "$here/police.sh"
police_in_guest
if [ "${KVM_TEST_ONLY:-}" = net ]; then
	diag "KVM_TEST_ONLY=net: the other guests are not booted"
	diag "suite: $(elapsed "$t_suite") s, $passed passed, $failed failed; logs in $logs_out"
	[ $failed -eq 0 ]
	exit
fi

save_tests
migrate_tests

# ---- the guests -------------------------------------------------------------------
A=enso-kvm-a B=enso-kvm-b C=enso-kvm-c R=enso-kvm-r
new_disk "$TMP/disk.img"
new_disk "$TMP/disk-r.img"
cfg_a=$(write_cfg $A 512 512 "" "$TMP/disk.img" destroy destroy destroy 'maxvcpus = 2' 'cpus = "1"')
# B's vCPU on node 0's CPUs; without CPU 0 where node 0 is all of 0-N, so
# that the check tells a resolved node term from no affinity at all.
node0=$(cat /sys/devices/system/node/node0/cpulist 2>/dev/null)
nall=$(nproc --all)
b_cpus="nodes:0" b_want=$node0
if [ "$nall" -ge 2 ] && [ "$node0" = "0-$((nall - 1))" ]; then
	b_cpus="nodes:0,^0" b_want=1
	[ "$nall" -gt 2 ] && b_want="1-$((nall - 1))"
fi
cfg_b=$(write_cfg $B 256 256 "" "" destroy destroy destroy "cpus = \"$b_cpus\"")
cfg_c=$(write_cfg $C 256 256 " enso.crash=1" "" destroy destroy destroy)
cfg_r=$(write_cfg $R 256 256 " enso.reboot=1" "$TMP/disk-r.img" destroy restart destroy)

# xl create -N: the resolved config as JSON, nothing created.
"$xl" create -N "$cfg_a" >"$TMP/out/create-N.json" 2>"$TMP/out/create-N.err"
rc=$?
check "xl create -N prints the config as JSON with the name" \
	"rc=$rc, stdout: $(head -c 300 "$TMP/out/create-N.json" | tr '\n' ' '), stderr: $(tr '\n' '|' <"$TMP/out/create-N.err")" \
	eval '[ $rc -eq 0 ] && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(0 if sys.argv[2] in json.dumps(d) else 1)" "$TMP/out/create-N.json" $A'
check "xl create -N creates nothing" "ids before: [$ids_before] after: [$(domain_ids)]" \
	eval '[ "$(domain_ids)" = "$ids_before" ] && not_listed $A && [ -z "$(qemus_with "$TMP/disk.img")" ]'

# A: the main guest. xl console is attached at once so it sees the boot.
create $A "$cfg_a"
diag "xl -v create $A: rc=$CREATE_RC: $(echo "$CREATE_OUT" | tr '\n' '|')"
DOMID[$A]=$(domid_of $A)
timeout "$BOOT_TIMEOUT" "$xl" console $A </dev/null >"$TMP/out/console-$A.out" 2>"$TMP/out/console-$A.err" &
console_pid=$!
bg_pids+=("$console_pid")
check "xl create $A succeeds and prints the domid" \
	"rc=$CREATE_RC, xl domid=${DOMID[$A]:-none}, output: $(echo "$CREATE_OUT" | tr '\n' '|')" \
	eval '[ $CREATE_RC -eq 0 ] && [ -n "${DOMID[$A]}" ] && echo "$CREATE_OUT" | grep -qE "(^|[^0-9])${DOMID[$A]}([^0-9]|\$)"'
on_kvm=false
grep -qwE 'vmx|svm' /proc/cpuinfo && [ -w /dev/kvm ] && on_kvm=true
if $on_kvm; then
	check "xl create on KVM says nothing about TCG" "stderr: $(tr '\n' '|' <"$TMP/out/create-$A.err")" \
		eval '! grep -qi tcg "$TMP/out/create-$A.err"'
else
	n=$(grep -ci tcg "$TMP/out/create-$A.err")
	check "xl create without usable KVM says once on stderr that it uses TCG" \
		"$n lines mention TCG in: $(tr '\n' '|' <"$TMP/out/create-$A.err")" \
		eval '[ "$n" -eq 1 ]'
fi

# The other guests boot meanwhile.
create $B "$cfg_b"
DOMID[$B]=$(domid_of $B)
[ $CREATE_RC -eq 0 ] || notok "xl create $B" "rc=$CREATE_RC: $(echo "$CREATE_OUT" | tr '\n' '|')"
create $C "$cfg_c"
DOMID[$C]=$(domid_of $C)
[ $CREATE_RC -eq 0 ] || notok "xl create $C" "rc=$CREATE_RC: $(echo "$CREATE_OUT" | tr '\n' '|')"
create $R "$cfg_r"
DOMID[$R]=$(domid_of $R)
[ $CREATE_RC -eq 0 ] || notok "xl create $R" "rc=$CREATE_RC: $(echo "$CREATE_OUT" | tr '\n' '|')"
diag "domids: $A=${DOMID[$A]:-?} $B=${DOMID[$B]:-?} $C=${DOMID[$C]:-?} $R=${DOMID[$R]:-?}"
for g in $A $B $C $R; do
	[ -n "${DOMID[$g]:-}" ] && QPID[$g]=$(xenstore-read "/libxl/${DOMID[$g]}/qemu-pid" 2>/dev/null)
done
diag "qemu pids: $A=${QPID[$A]:-?} $B=${QPID[$B]:-?} $C=${QPID[$C]:-?} $R=${QPID[$R]:-?}"
tty=$(xenstore-read "/local/domain/${DOMID[$A]:-x}/console/tty" 2>/dev/null)
check "console/tty of $A names a pty" "console/tty='$tty'" eval '[ -c "$tty" ]'

# ---- A: console, list --------------------------------------------------------------
if booted $A; then
	ok "boot marker in the console log ($(conlog $A))"
else
	notok "boot marker in the console log" "no ENSO-GUEST-BOOTED in $(conlog $A) after ${BOOT_TIMEOUT}s; last lines: $(tail -c 300 "$(conlog $A)" 2>/dev/null | tr -d '\r' | tr '\n' '|')"
fi
if wait_for 30 grep -qaF ENSO-GUEST-BOOTED "$TMP/out/console-$A.out"; then
	ok "boot marker in xl console output"
else
	notok "boot marker in xl console output" "not in xl console's stdout; it has $(wc -c <"$TMP/out/console-$A.out") bytes: $(tail -c 200 "$TMP/out/console-$A.out" | tr -d '\r' | tr '\n' '|'); stderr: $(tr '\n' '|' <"$TMP/out/console-$A.err")"
fi
wait_for 20 tick_above $A 1 >/dev/null
check "xl console keeps copying the console (ticks)" \
	"no ENSO-TICK in xl console's output" \
	grep -qaF ENSO-TICK "$TMP/out/console-$A.out"
kill "$console_pid" 2>/dev/null

"$xl" list >"$TMP/out/list.out" 2>&1
rc=$?
hdr=$(head -n 1 "$TMP/out/list.out")
want_hdr=$(printf 'Name                                        ID   Mem VCPUs\tState\tTime(s)')
check "xl list header is upstream's" "rc=$rc, header '$hdr'" eval '[ $rc -eq 0 ] && [ "$hdr" = "$want_hdr" ]'
row=$(awk -v n=$A 'NR > 1 && $1 == n' "$TMP/out/list.out")
row_ok() {
	local re='^(.{40}) ( *[0-9]+) ( *[0-9]+) ( *[0-9]+)     ([-rbpscd]{6})  ( *[0-9]+\.[0-9])$'
	[[ $row =~ $re ]] || return 1
	[ "${BASH_REMATCH[1]}" = "$(printf '%-40s' $A)" ] || return 1
	[ ${#BASH_REMATCH[2]} -eq 5 ] && [ ${#BASH_REMATCH[3]} -eq 5 ] && [ ${#BASH_REMATCH[4]} -eq 5 ] || return 1
	[ "$((BASH_REMATCH[2]))" = "${DOMID[$A]}" ] || return 1
	[ "$((BASH_REMATCH[3]))" -gt 400 ] && [ "$((BASH_REMATCH[3]))" -le 512 ] || return 1
	[ "$((BASH_REMATCH[4]))" -eq 1 ] || return 1
	[[ ${BASH_REMATCH[5]} == *[rb]* ]]
}
check "xl list row of $A in upstream's format (name, id, mem, vcpus, state r/b, time)" \
	"row '$row' (want: %-40s %5d %5lu %5d     %c%c%c%c%c%c  %8.1f, id ${DOMID[$A]}, mem ~512, 1 vcpu)" row_ok

"$xl" list -l >"$TMP/out/list-l.json" 2>"$TMP/out/list-l.err"
rc=$?
check "xl list -l is a JSON array with {domid, config} naming $A" \
	"rc=$rc, $(head -c 300 "$TMP/out/list-l.json" | tr '\n' ' ')" \
	eval '[ $rc -eq 0 ] && python3 -m json.tool "$TMP/out/list-l.json" >/dev/null 2>&1 &&
		python3 -c "
import json, sys
d = json.load(open(sys.argv[1]))
assert isinstance(d, list)
sys.exit(0 if any(e.get(\"domid\") == int(sys.argv[3]) and sys.argv[2] in json.dumps(e.get(\"config\")) for e in d) else 1)
" "$TMP/out/list-l.json" $A "${DOMID[$A]:-0}"'

check "xl domid / domname round trip" "domid=$(domid_of $A) domname=$("$xl" domname "${DOMID[$A]:-0}" 2>&1)" \
	eval '[ "$("$xl" domname "${DOMID[$A]:-0}" 2>/dev/null)" = $A ]'
"$xl" uptime >"$TMP/out/uptime.out" 2>&1
check "xl uptime lists $A" "$(tr '\n' '|' <"$TMP/out/uptime.out")" grep -q "^$A " "$TMP/out/uptime.out"
"$xl" info >"$TMP/out/info.out" 2>&1
rc=$?
check "xl info runs" "rc=$rc: $(head -c 300 "$TMP/out/info.out" | tr '\n' '|')" eval '[ $rc -eq 0 ] && [ -s "$TMP/out/info.out" ]'

# ---- A: the disk ------------------------------------------------------------------------
if wait_for 60 in_log $A ENSO-DISK-WRITE; then
	line=$(grep -aoE 'ENSO-DISK-WRITE md5=[0-9a-f]+ readback=[0-9a-f]+' "$(conlog $A)" | tail -n 1)
	w=${line#*md5=}; w=${w%% *}
	r=${line#*readback=}
	h=$(dd if="$TMP/disk.img" bs=1M count=4 2>/dev/null | md5sum | cut -d' ' -f1)
	diag "disk: guest wrote $w, read back $r; host reads $h"
	check "virtio-blk: the guest reads back what it wrote" "written $w, read back $r" eval '[ -n "$w" ] && [ "$w" = "$r" ]'
	check "virtio-blk: the image file holds what the guest wrote" "guest md5 $w, host md5 of the image's first 4 MiB $h" eval '[ "$w" = "$h" ]'
else
	notok "virtio-blk: disk check" "no ENSO-DISK-WRITE line in $(conlog $A) (no /dev/vda in the guest?)"
fi
# How QEMU does the disk's I/O: io_uring with O_DIRECT where the file system
# takes O_DIRECT (dd oflag=direct says) and the kernel has io_uring, else
# the fallback, said in QEMU's log.
drive=$(for p in $(qemus_with "$TMP/disk.img"); do tr '\0' '\n' <"/proc/$p/cmdline"; done | grep -m1 "^file=$TMP/disk.img,")
qlog=$ENSO_LOGDIR/qemu-$A.log
if dd if=/dev/zero of="$TMP/direct-probe" bs=4096 count=1 oflag=direct 2>/dev/null; then
	check "virtio-blk: O_DIRECT where the file system takes it (cache=none)" "drive '$drive'" \
		eval '[[ $drive == *,cache=none,* ]]'
else
	check "virtio-blk: the page cache where the file system refuses O_DIRECT, said in QEMU's log" "drive '$drive'; log: $(head -n 3 "$qlog" | tr '\n' '|')" \
		eval '[[ $drive == *,cache=writeback,* ]] && grep -q "takes no O_DIRECT here" "$qlog"'
fi
check "virtio-blk: io_uring, or QEMU's threads with the reason in its log" "drive '$drive'; log: $(head -n 3 "$qlog" | tr '\n' '|')" \
	eval '[[ $drive == *,aio=io_uring ]] || { [[ $drive == *,aio=threads ]] && grep -q "offers no io_uring" "$qlog"; }'
rm -f "$TMP/direct-probe"

# ---- A: block-attach, block-list, block-detach (disk hotplug) ---------------------------
# qmp DOMID CMD: QEMU's reply to CMD on the domain's QMP socket, as JSON.
qmp() {
	python3 - "$ENSO_RUNDIR/qemu/$1/qmp.sock" "$2" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(10)
s.connect(sys.argv[1])
f = s.makefile("rw")
f.readline()
for cmd in ("qmp_capabilities", sys.argv[2]):
    f.write(json.dumps({"execute": cmd, "id": cmd}) + "\n")
    f.flush()
    while True:
        r = json.loads(f.readline())
        if r.get("id") == cmd:
            break
print(json.dumps(r))
PY
}
idA=${DOMID[$A]:-x}
hot=$TMP/hot.img
hot_devid=51728	# xvdb
new_disk "$hot"
dd if=/dev/urandom of="$hot" bs=1M count=1 conv=notrunc 2>/dev/null
hot_md5=$(dd if="$hot" bs=1M count=1 2>/dev/null | md5sum | cut -d' ' -f1)
# QEMU holds $hot open / its query-block names the hot-plugged disk.
qemu_has_file() { ls -l "/proc/${QPID[$A]:-x}/fd" 2>/dev/null | grep -qF -- "$hot"; }
qemu_block_has() { qmp "$idA" query-block | grep -qE "/vbd$hot_devid/|\"enso-vbd$hot_devid\""; }
nodes_have() { qmp "$idA" query-named-block-nodes | grep -qF "\"enso-vbd$hot_devid\""; }
in_config() { "$xl" list -l 2>/dev/null | grep -qF -- "$hot"; }
block_row() { "$xl" block-list $A 2>/dev/null | awk -v d=$hot_devid 'NR > 1 && $1 == d'; }

"$xl" block-attach $A "format=raw,vdev=xvdb,access=rw,target=$TMP/no-such.img" >"$TMP/out/block-attach-missing.out" 2>&1
rc=$?
check "block-attach of a missing file fails and leaves QEMU no node" \
	"rc=$rc: $(tr '\n' '|' <"$TMP/out/block-attach-missing.out")" \
	eval '[ $rc -ne 0 ] && grep -q "no-such.img" "$TMP/out/block-attach-missing.out" && ! nodes_have && ! in_config'

t0=$(now)
"$xl" block-attach $A "format=raw,vdev=xvdb,access=rw,target=$hot" >"$TMP/out/block-attach.out" 2>&1
rc=$?
diag "block-attach: rc=$rc after $(elapsed "$t0") s"
check "block-attach $A xvdb on KVM succeeds" "rc=$rc: $(tr '\n' '|' <"$TMP/out/block-attach.out")" eval '[ $rc -eq 0 ]'
if [ $rc -eq 0 ] && wait_for 60 grep -qaE "ENSO-DISK-ADDED vd[a-z]+ serial=xvdb " "$(conlog $A)"; then
	line=$(grep -aoE "ENSO-DISK-ADDED vd[a-z]+ serial=xvdb md5=[0-9a-f]*" "$(conlog $A)" | tail -n 1)
	hot_vd=${line#ENSO-DISK-ADDED }; hot_vd=${hot_vd%% *}
	guest_md5=${line##*md5=}
	diag "block-attach: the guest sees $hot_vd, md5 $guest_md5 (file: $hot_md5)"
	check "block-attach: the running guest sees a new virtio disk (serial xvdb) holding the file's data" \
		"guest's $hot_vd first MiB md5 '$guest_md5', the file's $hot_md5" eval '[ "$guest_md5" = "$hot_md5" ]'
else
	hot_vd=""
	notok "block-attach: the running guest sees a new virtio disk (serial xvdb) holding the file's data" \
		"no ENSO-DISK-ADDED ... serial=xvdb line in $(conlog $A): $(grep -aoE 'ENSO-DISK-[A-Z]+[^\r]*' "$(conlog $A)" | tr '\n' '|')"
fi
cache_want='"direct": false'
dd if=/dev/zero of="$TMP/direct-probe" bs=4096 count=1 oflag=direct 2>/dev/null && cache_want='"direct": true'
rm -f "$TMP/direct-probe"
blk=$(qmp "$idA" query-block)
check "block-attach: QEMU serves it from the file, with the command line's cache choice ($cache_want)" \
	"query-block: $(echo "$blk" | head -c 600)" \
	eval 'qemu_has_file && echo "$blk" | python3 -c "
import json, sys
want = sys.argv[1].endswith(\"true\")
for b in json.load(sys.stdin)[\"return\"]:
    i = b.get(\"inserted\", {})
    if i.get(\"node-name\") == \"enso-vbd$hot_devid\" and i.get(\"file\") == sys.argv[2]:
        sys.exit(0 if i[\"cache\"][\"direct\"] == want and not i[\"ro\"] else 1)
sys.exit(1)
" "$cache_want" "$hot"'
check "block-list $A shows xvdb ($hot_devid)" "block-list: $("$xl" block-list $A 2>&1 | tr '\n' '|')" \
	eval '[ -n "$(block_row)" ]'
check "xl list -l: the stored config has the attached disk" "no $hot in xl list -l" in_config
"$xl" block-attach $A "format=raw,vdev=xvdb,access=rw,target=$hot" >"$TMP/out/block-attach-again.out" 2>&1
rc=$?
check "block-attach of a vdev the domain has is refused" "rc=$rc: $(tr '\n' '|' <"$TMP/out/block-attach-again.out")" \
	eval '[ $rc -ne 0 ]'

t0=$(now)
"$xl" block-detach $A xvdb >"$TMP/out/block-detach.out" 2>&1
rc=$?
t_detach=$(elapsed "$t0")
diag "block-detach: rc=$rc after $t_detach s: $(tr '\n' '|' <"$TMP/out/block-detach.out")"
check "block-detach $A xvdb: the guest ejects it within the timeout (not forced)" \
	"rc=$rc after $t_detach s: $(tr '\n' '|' <"$TMP/out/block-detach.out")" \
	eval '[ $rc -eq 0 ] && [ ! -s "$TMP/out/block-detach.out" ]'
check "block-detach: the guest reports the disk gone" \
	"no ENSO-DISK-REMOVED ${hot_vd:-?} in $(conlog $A): $(grep -aoE 'ENSO-DISK-[A-Z]+[^\r]*' "$(conlog $A)" | tr '\n' '|')" \
	eval '[ -n "$hot_vd" ] && wait_for 30 in_log $A "ENSO-DISK-REMOVED $hot_vd"'
check "block-detach: QEMU lists it no more (query-block, named nodes) and has closed the file" \
	"query-block: $(qmp "$idA" query-block | head -c 400); fds: $(ls -l "/proc/${QPID[$A]:-x}/fd" 2>/dev/null | grep -F -- "$hot")" \
	eval '! qemu_block_has && ! nodes_have && ! qemu_has_file'
check "block-detach: block-list and the stored config (xl list -l) have it no more" \
	"block-list row '$(block_row)'; in list -l: $(in_config && echo yes || echo no)" \
	eval '[ -z "$(block_row)" ] && ! in_config'

# -f: QEMU cannot take a device from the guest, so nothing is waited for and
# the request stays pending: xl says so, the config loses the disk at once.
# This guest ejects it anyway; the node that leaves behind goes with the
# next block-attach of xvdb.
added() { [ "$(count_in_log $A "ENSO-DISK-ADDED ${hot_vd:-?} serial=xvdb")" -ge "$1" ]; }
removed() { [ "$(count_in_log $A "ENSO-DISK-REMOVED ${hot_vd:-?}")" -ge "$1" ]; }
"$xl" block-attach $A "format=raw,vdev=xvdb,access=rw,target=$hot" >"$TMP/out/block-attach-2.out" 2>&1
rc=$?
check "block-attach $A xvdb again after the detach: the guest sees it again" \
	"rc=$rc: $(tr '\n' '|' <"$TMP/out/block-attach-2.out"); console: $(grep -aoE 'ENSO-DISK-[A-Z]+[^\r]*' "$(conlog $A)" | tr '\n' '|')" \
	eval '[ $rc -eq 0 ] && wait_for 60 added 2'
"$xl" block-detach -f $A xvdb >"$TMP/out/block-detach-f.out" 2>&1
rc=$?
check "block-detach -f: 0 at once, saying on stderr that the guest keeps the disk until it ejects it; the config loses it" \
	"rc=$rc: $(tr '\n' '|' <"$TMP/out/block-detach-f.out"); in list -l: $(in_config && echo yes || echo no)" \
	eval '[ $rc -eq 0 ] && grep -q "unplug request stays pending" "$TMP/out/block-detach-f.out" && ! in_config && [ -z "$(block_row)" ]'
check "block-detach -f: the guest ejects it later all the same (QEMU kept the request)" \
	"console: $(grep -aoE 'ENSO-DISK-[A-Z]+[^\r]*' "$(conlog $A)" | tr '\n' '|')" \
	eval 'wait_for 30 removed 2 && wait_for 10 eval "! qemu_block_has"'
"$xl" block-attach $A "format=raw,vdev=xvdb,access=rw,target=$hot" >"$TMP/out/block-attach-3.out" 2>&1
rc=$?
check "block-attach of xvdb after a forced detach replaces the node left behind" \
	"rc=$rc: $(tr '\n' '|' <"$TMP/out/block-attach-3.out")" \
	eval '[ $rc -eq 0 ] && wait_for 60 added 3 && qemu_block_has'
"$xl" block-detach $A xvdb >"$TMP/out/block-detach-3.out" 2>&1
rc=$?
check "block-detach after it leaves QEMU nothing of the disk" \
	"rc=$rc: $(tr '\n' '|' <"$TMP/out/block-detach-3.out"); nodes: $(qmp "$idA" query-named-block-nodes | grep -o '"node-name": "[^"]*"' | tr '\n' ' ')" \
	eval '[ $rc -eq 0 ] && wait_for 30 removed 3 && ! nodes_have && ! qemu_has_file'

# ---- A: mem-set -------------------------------------------------------------------------
wait_for 20 tick_above $A 2 >/dev/null
mt0=$(tick_mem $A)
quarter=262144 # kB: 256 MiB
if [ -z "$mt0" ]; then
	notok "mem-set" "no ENSO-TICK with memtotal from $A"
else
	"$xl" mem-set $A 256m >"$TMP/out/mem-set-down.out" 2>&1
	rc=$?
	t0=$(now)
	if [ $rc -ne 0 ]; then
		notok "mem-set $A 256m lowers MemTotal by ~256 MiB" "xl mem-set rc=$rc: $(tr '\n' '|' <"$TMP/out/mem-set-down.out")"
	elif wait_for 60 mem_at_most $A $((mt0 - quarter * 9 / 10)); then
		sleep 2
		mt1=$(tick_mem $A)
		diag "mem-set 256m: MemTotal $mt0 -> $mt1 kB ($(elapsed "$t0") s)"
		check "mem-set $A 256m lowers MemTotal by ~256 MiB" "MemTotal $mt0 -> $mt1 kB" \
			eval '[ $((mt0 - mt1)) -le $((quarter * 11 / 10)) ]'
		row=$(list_row $A)
		check "xl list shows 256 MB after mem-set" "row '$row'" eval '[ "$(echo "$row" | awk "{print \$3}")" = 256 ]'
	else
		notok "mem-set $A 256m lowers MemTotal by ~256 MiB" "MemTotal $mt0 -> $(tick_mem $A) kB after 60 s"
	fi
	"$xl" mem-set $A 512 >"$TMP/out/mem-set-up.out" 2>&1
	rc=$?
	t0=$(now)
	if [ $rc -ne 0 ]; then
		notok "mem-set $A 512 (default unit MB) raises MemTotal again" "xl mem-set rc=$rc: $(tr '\n' '|' <"$TMP/out/mem-set-up.out")"
	elif wait_for 60 mem_at_least $A $((mt0 - quarter / 20)); then
		diag "mem-set 512: MemTotal back to $(tick_mem $A) kB ($(elapsed "$t0") s)"
		ok "mem-set $A 512 (default unit MB) raises MemTotal again"
	else
		notok "mem-set $A 512 (default unit MB) raises MemTotal again" "MemTotal $(tick_mem $A) kB after 60 s, was $mt0 before mem-set"
	fi
fi

# ---- A: vcpu-set (QEMU CPU hotplug; vcpus=1, maxvcpus=2) -----------------------------------
# The guest onlines a hot-added vCPU itself and counts its online CPUs in
# each tick (cpus=), so the checks see what the guest sees.
idA=${DOMID[$A]:-x}
avail() { xenstore-read "/local/domain/$idA/cpu/$1/availability" 2>/dev/null; }
list_vcpus() { list_row $A | awk '{print $4}'; }
wait_for 20 tick_above $A "$(tick_n $A)" >/dev/null
diag "vcpus before vcpu-set: guest cpus=$(tick_cpus $A), xl list $(list_vcpus), cpu/1/availability=$(avail 1)"
"$xl" vcpu-set $A 2 >"$TMP/out/vcpu-set-2.out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	notok "vcpu-set $A 2: the guest reports 2 online CPUs" "xl vcpu-set rc=$rc: $(tr '\n' '|' <"$TMP/out/vcpu-set-2.out")"
elif wait_for 60 cpus_are $A 2; then
	diag "vcpu-set 2: $(grep -aoE 'ENSO-CPU-ONLINE cpu[0-9]+' "$(conlog $A)" | tail -n 1) in the guest"
	ok "vcpu-set $A 2: the guest reports 2 online CPUs"
else
	notok "vcpu-set $A 2: the guest reports 2 online CPUs" "guest's last tick says cpus=$(tick_cpus $A) after 60 s"
fi
check "xl list shows 2 vCPUs after vcpu-set 2" "row '$(list_row $A)'" eval '[ "$(list_vcpus)" = 2 ]'
check "vcpu-set 2: cpu/0 and cpu/1 availability are online" "cpu/0: '$(avail 0)', cpu/1: '$(avail 1)'" \
	eval '[ "$(avail 0)" = online ] && [ "$(avail 1)" = online ]'

# ---- A: booted through its PVH entry, from the kernel cache --------------------------------
# QEMU boots the ELF unpacked from the bzImage (libxl/bzimage.c), kept in
# the kernel cache, so the guest does not decompress itself.
qemu_kernel=$(tr '\0' '\n' <"/proc/${QPID[$A]:-x}/cmdline" 2>/dev/null | awk 'p { print; exit } $0 == "-kernel" { p = 1 }')
check "QEMU boots $A's kernel as the cached ELF with a PVH entry" \
	"QEMU's -kernel is '$qemu_kernel'" \
	eval 'case "$qemu_kernel" in "$ENSO_LIBDIR"/kernel-cache/*.elf) [ "$(head -c 4 "$qemu_kernel" | tail -c 3)" = ELF ] ;; *) false ;; esac'

# ---- A: vCPU affinity (cpus="1" in its config; vcpu-list, vcpu-pin) --------------------------
# The witness is the kernel's own record of each vCPU thread's mask (QEMU
# names them "CPU <n>/TCG" or "CPU <n>/KVM" with debug-threads=on).
thread_cpus() { # thread_cpus N [NAME] -> Cpus_allowed_list of vCPU N's thread (of A)
	local t
	for t in /proc/"${QPID[${2:-$A}]:-x}"/task/*; do
		case "$(cat "$t/comm" 2>/dev/null)" in
		"CPU $1/"*) sed -n 's/^Cpus_allowed_list:[[:space:]]*//p' "$t/status"; return ;;
		esac
	done
}
ncpu=$(nproc --all)
all_cpus="0-$((ncpu - 1))"
[ "$ncpu" = 1 ] && all_cpus=0
vrow() { "$xl" vcpu-list $A 2>/dev/null | awk -v v="$1" 'NR > 1 && $3 == v { print $(NF-2), $(NF-1), $NF }'; }
out=$("$xl" vcpu-list $A 2>&1)
diag "xl vcpu-list $A: $(echo "$out" | tr '\n' '|')"
check "vcpu-list $A: upstream's header and one row per vCPU" "output: $(echo "$out" | tr '\n' '|')" \
	eval 'echo "$out" | head -n 1 | grep -qE "^Name +ID +VCPU +CPU +State +Time\(s\) Affinity \(Hard / Soft\)$" &&
		echo "$out" | grep -qE "^$A +$idA +0 +[0-9]+ +[-r][-b]- +[0-9]+\.[0-9] " &&
		echo "$out" | grep -qE "^$A +$idA +1 +[0-9]+ +[-r][-b]- +[0-9]+\.[0-9] "'
check "cpus=\"1\": both vCPUs' threads may run on CPU 1 only, the hot-plugged one too" \
	"threads: CPU 0 '$(thread_cpus 0)', CPU 1 '$(thread_cpus 1)'; vcpu-list: '$(vrow 0)' '$(vrow 1)'" \
	eval '[ "$(thread_cpus 0)" = 1 ] && [ "$(thread_cpus 1)" = 1 ] && [ "$(vrow 0)" = "1 / all" ] && [ "$(vrow 1)" = "1 / all" ]'
# The CPU column is where the thread last ran: with cpus="1", CPU 1.
vcpu_cpu() { "$xl" vcpu-list $A 2>/dev/null | awk -v v="$1" 'NR > 1 && $3 == v { print $4 }'; }
on_cpu1() { [ "$(vcpu_cpu 0)" = 1 ]; }
check "vcpu-list: vCPU 0 last ran on CPU 1, the only one cpus=\"1\" allows" "CPU column: '$(vcpu_cpu 0)'" \
	wait_for 10 on_cpu1
out=$("$xl" vcpu-pin $A 1 0 2>&1)
rc=$?
check "vcpu-pin $A 1 0: vCPU 1's thread may run on CPU 0 only; vCPU 0 keeps CPU 1" \
	"rc=$rc: $out; threads: CPU 0 '$(thread_cpus 0)', CPU 1 '$(thread_cpus 1)'; vcpu-list '$(vrow 1)'" \
	eval '[ $rc -eq 0 ] && [ "$(thread_cpus 1)" = 0 ] && [ "$(thread_cpus 0)" = 1 ] && [ "$(vrow 1)" = "0 / all" ]'
out=$("$xl" vcpu-pin $A all all 2>&1)
rc=$?
check "vcpu-pin $A all all: every vCPU thread may run anywhere" \
	"rc=$rc: $out; threads: CPU 0 '$(thread_cpus 0)', CPU 1 '$(thread_cpus 1)' (want $all_cpus)" \
	eval '[ $rc -eq 0 ] && [ "$(thread_cpus 0)" = "$all_cpus" ] && [ "$(thread_cpus 1)" = "$all_cpus" ] && [ "$(vrow 0)" = "all / all" ]'
out=$("$xl" vcpu-pin $A 0 - 0 2>&1)
rc=$?
check "vcpu-pin with a soft affinity is refused on KVM, changing nothing" \
	"rc=$rc: $out; thread CPU 0 '$(thread_cpus 0)'" \
	eval '[ $rc -ne 0 ] && echo "$out" | grep -q "soft affinity" && [ "$(thread_cpus 0)" = "$all_cpus" ]'
out=$("$xl" vcpu-pin $A 5 0 2>&1)
rc=$?
check "vcpu-pin of a vCPU the domain cannot have fails, naming it" "rc=$rc: $out" \
	eval '[ $rc -ne 0 ] && echo "$out" | grep -q "no vCPU 5"'
out=$("$xl" vcpu-pin $A 0 1 2>&1) || diag "vcpu-pin $A 0 1: $out"

"$xl" vcpu-set $A 3 >"$TMP/out/vcpu-set-3.out" 2>&1
rc=$?
out=$(tr '\n' '|' <"$TMP/out/vcpu-set-3.out")
diag "xl vcpu-set $A 3: rc=$rc: $out"
check "vcpu-set $A 3 (above maxvcpus=2) fails, saying maxcpus is 2" "rc=$rc: $out" \
	eval '[ $rc -ne 0 ] && grep -q "maxcpus is 2" "$TMP/out/vcpu-set-3.out"'
check "vcpu-set $A 3 changes nothing (xl list, availability)" \
	"row '$(list_row $A)', cpu/1: '$(avail 1)', cpu/2: '$(avail 2)'" \
	eval '[ "$(list_vcpus)" = 2 ] && [ "$(avail 1)" = online ] && [ -z "$(avail 2)" ]'
"$xl" vcpu-set $A 0 >"$TMP/out/vcpu-set-0.out" 2>&1
rc=$?
out=$(tr '\n' '|' <"$TMP/out/vcpu-set-0.out")
check "vcpu-set $A 0 fails and changes nothing" "rc=$rc: $out; row '$(list_row $A)'" \
	eval '[ $rc -ne 0 ] && grep -q "requested 0 vCPUs" "$TMP/out/vcpu-set-0.out" && [ "$(list_vcpus)" = 2 ]'

"$xl" vcpu-set $A 1 >"$TMP/out/vcpu-set-1.out" 2>&1
rc=$?
row=$(list_row $A)
if [ $rc -ne 0 ]; then
	notok "vcpu-set $A 1: the guest reports 1 online CPU again" "xl vcpu-set rc=$rc: $(tr '\n' '|' <"$TMP/out/vcpu-set-1.out")"
elif wait_for 60 cpus_are $A 1; then
	ok "vcpu-set $A 1: the guest reports 1 online CPU again"
else
	notok "vcpu-set $A 1: the guest reports 1 online CPU again" "guest's last tick says cpus=$(tick_cpus $A) after 60 s"
fi
check "xl list shows 1 vCPU as soon as vcpu-set 1 returns (it waits for the unplug)" "row '$row'" \
	eval '[ "$(echo "$row" | awk "{print \$4}")" = 1 ]'
check "vcpu-set 1: cpu/1/availability is offline" "cpu/1: '$(avail 1)'" eval '[ "$(avail 1)" = offline ]'

# Plugging a vCPU again after an unplug: QEMU's TCG (7.2) would abort, so
# Enso refuses there; KVM plugs it.
"$xl" vcpu-set $A 2 >"$TMP/out/vcpu-set-again.out" 2>&1
rc=$?
out=$(tr '\n' '|' <"$TMP/out/vcpu-set-again.out")
diag "xl vcpu-set $A 2 after the unplug: rc=$rc: $out"
if $on_kvm; then
	check "vcpu-set $A 2 again (KVM): the guest reports 2 online CPUs" "rc=$rc: $out; guest cpus=$(tick_cpus $A)" \
		eval '[ $rc -eq 0 ] && wait_for 60 cpus_are $A 2'
else
	n0=$(tick_n $A)
	check "vcpu-set $A 2 again on TCG is refused, naming TCG" "rc=$rc: $out" \
		eval '[ $rc -ne 0 ] && grep -q TCG "$TMP/out/vcpu-set-again.out"'
	check "the refused vcpu-set leaves the guest running on 1 vCPU" \
		"qemu pid ${QPID[$A]:-?} alive: $(pid_alive "${QPID[$A]:-}" && echo yes || echo no); row '$(list_row $A)'; tick $n0 -> $(tick_n $A); guest cpus=$(tick_cpus $A)" \
		eval 'pid_alive "${QPID[$A]:-}" && [ "$(list_vcpus)" = 1 ] && wait_for 30 tick_above $A "${n0:-0}" && cpus_are $A 1'
fi

# ---- A: mem-max -------------------------------------------------------------------------------
# QEMU's RAM is fixed at start (512 MiB here): mem-max can lower the ceiling
# mem-set uses, and raise it back, but not past the start size.
static_max() { xenstore-read "/local/domain/$idA/memory/static-max" 2>/dev/null; }
target() { xenstore-read "/local/domain/$idA/memory/target" 2>/dev/null; }
diag "before mem-max: static-max=$(static_max) target=$(target)"
"$xl" mem-max $A 1g >"$TMP/out/mem-max-1g.out" 2>&1
rc=$?
out=$(tr '\n' '|' <"$TMP/out/mem-max-1g.out")
diag "xl mem-max $A 1g: rc=$rc: $out"
check "mem-max $A 1g (above the 512 MiB QEMU started with) fails and changes nothing" \
	"rc=$rc: $out; static-max $(static_max)" \
	eval '[ $rc -ne 0 ] && grep -q "started with" "$TMP/out/mem-max-1g.out" && [ "$(static_max)" = 524288 ]'
"$xl" mem-max $A 256m >"$TMP/out/mem-max-below.out" 2>&1
rc=$?
out=$(tr '\n' '|' <"$TMP/out/mem-max-below.out")
check "mem-max $A 256m (below the target of 512 MiB) fails with upstream's message, changing nothing" \
	"rc=$rc: $out; static-max $(static_max)" \
	eval '[ $rc -ne 0 ] && grep -q "memory_static_max must be greater than or equal to memory_dynamic_max" "$TMP/out/mem-max-below.out" && [ "$(static_max)" = 524288 ]'
"$xl" mem-set $A 384m >"$TMP/out/mem-set-384.out" 2>&1 &&
	"$xl" mem-max $A 384m >"$TMP/out/mem-max-384.out" 2>&1
rc=$?
out=$(cat "$TMP/out/mem-set-384.out" "$TMP/out/mem-max-384.out" 2>/dev/null | tr '\n' '|')
check "mem-set $A 384m then mem-max $A 384m: memory/static-max is 393216" "rc=$rc: $out; static-max $(static_max)" \
	eval '[ $rc -eq 0 ] && [ "$(static_max)" = 393216 ]'
"$xl" mem-set $A 448m >"$TMP/out/mem-set-above.out" 2>&1
rc=$?
out=$(tr '\n' '|' <"$TMP/out/mem-set-above.out")
diag "xl mem-set $A 448m above mem-max: rc=$rc: $out"
check "mem-set $A 448m above mem-max fails with upstream's message and keeps the target" \
	"rc=$rc: $out; target $(target)" \
	eval '[ $rc -ne 0 ] && grep -q "memory_dynamic_max must be less than or equal to memory_static_max" "$TMP/out/mem-set-above.out" && [ "$(target)" = 393216 ]'
"$xl" mem-max $A 512m >"$TMP/out/mem-max-back.out" 2>&1
rc=$?
check "mem-max $A 512m (back to the start size) is allowed" \
	"rc=$rc: $(tr '\n' '|' <"$TMP/out/mem-max-back.out"); static-max $(static_max)" \
	eval '[ $rc -eq 0 ] && [ "$(static_max)" = 524288 ]'
"$xl" mem-set $A 512m >/dev/null 2>&1

# ---- A: pause / unpause ---------------------------------------------------------------------
"$xl" pause $A >"$TMP/out/pause.out" 2>&1
rc=$?
if [ $rc -ne 0 ]; then
	notok "xl pause stops the guest" "xl pause rc=$rc: $(tr '\n' '|' <"$TMP/out/pause.out")"
else
	sleep 1
	n1=$(tick_n $A)
	row=$(list_row $A)
	state=$(echo "$row" | awk '{print $5}')
	check "xl list shows $A paused ('p')" "row '$row'" eval '[[ $state == *p* ]]'
	sleep 4
	n2=$(tick_n $A)
	check "xl pause stops the guest (tick counter still)" "tick $n1 -> $n2 in 4 s while paused" eval '[ -n "$n1" ] && [ "$n1" = "$n2" ]'
	"$xl" unpause $A >"$TMP/out/unpause.out" 2>&1
	rc=$?
	if [ $rc -eq 0 ] && wait_for 30 tick_above $A "${n2:-0}"; then
		ok "xl unpause resumes the guest (tick counter moves)"
	else
		notok "xl unpause resumes the guest (tick counter moves)" "rc=$rc, tick stayed at $(tick_n $A): $(tr '\n' '|' <"$TMP/out/unpause.out")"
	fi
	row=$(list_row $A)
	state=$(echo "$row" | awk '{print $5}')
	check "xl list shows $A running again" "row '$row'" eval '[[ $state != *p* ]] && [[ $state == *[rb]* ]]'
fi

# ---- C: on_crash=destroy ---------------------------------------------------------------
if wait_for "$BOOT_TIMEOUT" not_listed $C; then
	diag "$C: gone $(elapsed "${T_CREATED[$C]}") s after xl create"
	check "on_crash=destroy: the crashed guest disappears" \
		"it disappeared, but its console log shows no panic ($(tail -c 200 "$(conlog $C)" 2>/dev/null | tr -d '\r' | tr '\n' '|'))" \
		eval 'in_log $C ENSO-CRASHING'
	if wait_for 10 gone_from_store $C "${DOMID[$C]:-x}"; then
		ok "on_crash=destroy: no node of the crashed domain is left"
	else
		notok "on_crash=destroy: no node of the crashed domain is left" "left: $(xs_nodes_of "${DOMID[$C]:-x}" | head -n 5 | tr '\n' ' ')"
	fi
	check "on_crash=destroy: its QEMU is gone" "qemu pid ${QPID[$C]:-?} still alive" eval 'wait_for 10 pid_dead "${QPID[$C]:-}"'
else
	notok "on_crash=destroy: the crashed guest disappears" \
		"still listed after ${BOOT_TIMEOUT}s: '$(list_row $C)'; console: $(grep -aoE 'ENSO-[A-Z-]+|Kernel panic[^\r]*' "$(conlog $C)" 2>/dev/null | tr '\n' '|')"
fi

# ---- B: cpus="nodes:0...", then its QEMU killed from outside --------------------------------
check "cpus=\"$b_cpus\": vCPU 0's thread may run on CPUs $b_want (node 0: ${node0:-none})" \
	"Cpus_allowed_list '$(thread_cpus 0 $B)'" \
	eval '[ -n "$b_want" ] && [ "$(thread_cpus 0 $B)" = "$b_want" ]'
if booted $B && [ -n "${QPID[$B]:-}" ] && pid_alive "${QPID[$B]}"; then
	kill -KILL "${QPID[$B]}"
	t0=$(now)
	if wait_for 15 not_listed $B; then
		diag "$B: gone from xl list $(elapsed "$t0") s after kill -9 of its QEMU"
		ok "a QEMU killed from outside: the domain leaves xl list"
		if wait_for 10 gone_from_store $B "${DOMID[$B]}"; then
			ok "a QEMU killed from outside: its nodes are removed"
		else
			notok "a QEMU killed from outside: its nodes are removed" "left: $(xs_nodes_of "${DOMID[$B]}" | head -n 5 | tr '\n' ' ')"
		fi
	else
		notok "a QEMU killed from outside: the domain leaves xl list" "still listed 15 s after kill -9 of qemu pid ${QPID[$B]}: '$(list_row $B)'"
	fi
else
	notok "a QEMU killed from outside" "$B did not boot or has no live qemu-pid (/libxl/${DOMID[$B]:-?}/qemu-pid='${QPID[$B]:-}')"
fi

# ---- A: shutdown -w -------------------------------------------------------------------------
t0=$(now)
timeout 120 "$xl" shutdown -w $A >"$TMP/out/shutdown.out" 2>&1
rc=$?
diag "xl shutdown -w $A: rc=$rc after $(elapsed "$t0") s"
if [ $rc -eq 0 ]; then
	ok "xl shutdown -w returns"
	check "after xl shutdown -w the domain is gone from xl list" "'$(list_row $A)'" not_listed $A
	if pid_dead "${QPID[$A]:-}"; then
		ok "after xl shutdown -w its QEMU is gone"
	else
		wait_for 10 pid_dead "${QPID[$A]:-}" && late="it exits within 10 s" || late="still alive 10 s later"
		notok "after xl shutdown -w its QEMU is gone" "qemu pid ${QPID[$A]:-?} alive when shutdown -w returned; $late"
	fi
	check "after xl shutdown -w no node of the domain is left" \
		"left: $(xs_nodes_of "${DOMID[$A]}" | head -n 5 | tr '\n' ' ')" no_nodes_of "${DOMID[$A]}"
	check "the guest powered off through the ACPI button" "no ENSO-POWER-BUTTON in the console log" in_log $A ENSO-POWER-BUTTON
else
	notok "xl shutdown -w returns" "rc=$rc (124 = still waiting after 120 s): $(tr '\n' '|' <"$TMP/out/shutdown.out"); listed: '$(list_row $A)'"
fi

# ---- R: on_reboot=restart ------------------------------------------------------------------
# The guest reboots once (it marks its disk), so it boots twice.
rebooted() { [ "$(count_in_log $R ENSO-GUEST-BOOTED)" -ge 2 ] || in_log $R ENSO-ALREADY-REBOOTED; }
if wait_for "$BOOT_TIMEOUT" rebooted; then
	diag "$R: second boot seen $(elapsed "${T_CREATED[$R]}") s after xl create"
	n=$(count_in_log $R ENSO-GUEST-BOOTED)
	check "on_reboot=restart: the boot marker appears twice in the console log" \
		"$n boot marker(s) in $(conlog $R), but the guest says ENSO-ALREADY-REBOOTED: the log lost the first boot" \
		eval '[ "$n" -ge 2 ]'
	wait_for 10 listed $R
	check "on_reboot=restart: the domain is still listed under its name" "xl list: $("$xl" list 2>&1 | tr '\n' '|')" listed $R
	newid=$(domid_of $R)
	check "on_reboot=restart: the domain comes back with a new domid (as upstream)" \
		"domid ${DOMID[$R]:-?} before, '$newid' after" eval '[ -n "$newid" ] && [ "$newid" != "${DOMID[$R]:-}" ]'
	oldid=${DOMID[$R]:-}
	if [ -n "$newid" ] && [ -n "$oldid" ] && [ "$newid" != "$oldid" ]; then
		if wait_for 10 gone_from_store $R "$oldid"; then
			ok "on_reboot=restart: the old domain's nodes are gone"
		else
			notok "on_reboot=restart: the old domain's nodes are gone" "left: $(xs_nodes_of "$oldid" | head -n 5 | tr '\n' ' ')"
		fi
	fi
	[ -n "$newid" ] && DOMID[$R]=$newid
else
	notok "on_reboot=restart: the guest comes back" \
		"after ${BOOT_TIMEOUT}s: $(count_in_log $R ENSO-GUEST-BOOTED) boot marker(s), listed: '$(list_row $R)', console: $(grep -aoE 'ENSO-[A-Z-]+' "$(conlog $R)" 2>/dev/null | tr '\n' '|')"
fi

# ---- R: rename, then destroy --------------------------------------------------------------------
if listed $R; then
	id=$(domid_of $R)
	"$xl" rename $R $R-renamed >"$TMP/out/rename.out" 2>&1
	rc=$?
	check "xl rename" "rc=$rc: $(tr '\n' '|' <"$TMP/out/rename.out"); domid of the new name '$(domid_of $R-renamed)', old name listed: $(listed $R && echo yes || echo no)" \
		eval '[ $rc -eq 0 ] && [ "$(domid_of $R-renamed)" = "$id" ] && not_listed $R'
	listed $R-renamed && R=$R-renamed && kvm_domains+=("$R")
	uuid=$(uuid_of "$id")
	qpid=$(xenstore-read "/libxl/$id/qemu-pid" 2>/dev/null)
	diag "$R: domid $id uuid ${uuid:-?} qemu ${qpid:-?}; nodes before destroy: $(xs_nodes_of "$id" "$uuid" | wc -l)"
	"$xl" destroy $R >"$TMP/out/destroy.out" 2>&1
	rc=$?
	check "xl destroy succeeds and the domain leaves xl list" "rc=$rc: $(tr '\n' '|' <"$TMP/out/destroy.out"); '$(list_row $R)'" \
		eval '[ $rc -eq 0 ] && not_listed $R'
	check "xl destroy leaves no /local/domain/$id, /libxl/$id or /vm/<uuid> node" \
		"uuid '${uuid:-unknown}'; left: $(xs_nodes_of "$id" "$uuid" | head -n 8 | tr '\n' ' ')" \
		eval '[ -n "$uuid" ] && no_nodes_of "$id" "$uuid"'
	check "xl destroy ends its QEMU" "qemu pid ${qpid:-?} alive" eval 'wait_for 5 pid_dead "$qpid"'
else
	notok "xl destroy" "$R is not running to destroy"
fi

# ---- Xen's scheduler knobs are refused on KVM, not dropped ---------------------------------------
cfg_w=$(write_cfg enso-kvm-weight 256 256 "" "" destroy destroy destroy 'cpu_weight = 512')
"$xl" create "$cfg_w" >"$TMP/out/create-weight.out" 2>&1
rc=$?
check "cpu_weight= is refused on KVM, naming the key, and nothing is created" \
	"rc=$rc: $(tr '\n' '|' <"$TMP/out/create-weight.out"); listed: $(listed enso-kvm-weight && echo yes || echo no)" \
	eval '[ $rc -ne 0 ] && grep -q "cpu_weight=" "$TMP/out/create-weight.out" && not_listed enso-kvm-weight'
"$xl" sched-credit2 >"$TMP/out/sched.out" 2>&1
rc=$?
check "xl sched-credit2 on KVM fails, saying the scheduler is Xen's" "rc=$rc: $(tr '\n' '|' <"$TMP/out/sched.out")" \
	eval '[ $rc -eq 1 ] && grep -q "Xen" "$TMP/out/sched.out"'
"$xl" sched-credit -w 5 >"$TMP/out/sched.out" 2>&1
rc=$?
check "xl sched-credit -w without -d: upstream's 'Must specify a domain.', exit 1" "rc=$rc: $(tr '\n' '|' <"$TMP/out/sched.out")" \
	eval '[ $rc -eq 1 ] && grep -qx "Must specify a domain." "$TMP/out/sched.out"'
"$xl" sched-credit2 -t 5 >"$TMP/out/sched.out" 2>&1
rc=$?
check "xl sched-credit2 -t (credit's option): usage, exit 2" "rc=$rc: $(head -n 2 "$TMP/out/sched.out" | tr '\n' '|')" \
	eval '[ $rc -eq 2 ] && grep -q "^Usage: xl .*sched-credit2" "$TMP/out/sched.out"'

# ---- nothing left -------------------------------------------------------------------------------
left=$(qemus_with "$TMP/")
check "no QEMU of this suite is left running" "pids: $(echo "$left" | tr '\n' ' ')" eval '[ -z "$left" ]'

diag "boot marker seconds after create: $(for g in "${!T_BOOTED[@]}"; do printf '%s=%s ' "$g" "${T_BOOTED[$g]}"; done)"
diag "suite: $(elapsed "$t_suite") s, $passed passed, $failed failed; logs in $logs_out"
[ $failed -eq 0 ]
