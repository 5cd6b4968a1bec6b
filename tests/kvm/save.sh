# Sourced by tests/kvm/run.sh (its helpers, $xl, $TMP, $img, write_cfg,
# create, booted...).  KVM_TEST_ONLY=save runs these alone.
#
# save_tests: xl save and xl restore of a real guest (a disk, 256 MB), one
# boot: save -c leaves it running; save puts it in a file and it is gone
# (domain, QEMU, nodes); restore brings it back under its name with a new
# domid, its tick counter going on from where it was, never booting again.
# Files that are not what they should be are refused with nothing left
# behind: a wrong magic (before anything runs), a payload that is not
# QEMU's stream (before QEMU starts), a payload cut short (QEMU starts,
# cannot load it, and everything it was given is taken away), a device
# layout naming what Enso never makes; a disk plugged in while the guest
# ran comes back behind its port (the file's device layout), and one
# vcpu-set plugged comes back plugged.

# ticks_after NAME OFFSET: the tick numbers the console log holds past
# byte OFFSET, one a line.
ticks_after() {
	tail -c +"$(($2 + 1))" "$(conlog "$1")" 2>/dev/null |
		grep -aoE 'ENSO-TICK n=[0-9]+' | sed 's/.*n=//'
}
log_size() { stat -c %s "$(conlog "$1")" 2>/dev/null || echo 0; }
# cpus_are NAME N: the guest's last tick counts N CPUs; cpus_since NAME
# OFFSET N: a tick past byte OFFSET of its console log does.
cpus_are() { [ "$(tick_cpus "$1")" = "$2" ]; }
cpus_since() {
	tail -c +"$(($2 + 1))" "$(conlog "$1")" 2>/dev/null |
		grep -aqE "ENSO-TICK n=[0-9]+ memtotal=[0-9]+ cpus=$3"
}
# nothing_of NAME IDS-BEFORE: no domain of that name, no new id, no QEMU.
nothing_of() {
	not_listed "$1" && [ "$(domain_ids)" = "$2" ] && [ -z "$(qemus_with "$1,")" ]
}
left_of() {
	echo "ids before [$2] after [$(domain_ids)]; listed: $(listed "$1" && echo yes || echo no); qemu: $(qemus_with "$1," | tr '\n' ' ')"
}

# run_restore FILE OUT WHAT: xl restore FILE, its output in $TMP/out/OUT;
# sets rc, out (on one line) and before (the domain ids before).
run_restore() {
	before=$(domain_ids)
	"$xl" restore "$1" >"$TMP/out/$2" 2>&1
	rc=$?
	out=$(tr '\n' '|' <"$TMP/out/$2")
	diag "xl restore ($3): rc=$rc: $out"
}

# restore_refused WHAT FILE WANT: xl restore FILE fails, saying WANT.
restore_refused() {
	local what=$1 file=$2 want=$3 before rc out
	run_restore "$file" restore-bad.out "$what"
	check "save: restore of $what is refused: $want" "rc=$rc: $out" \
		eval '[ $rc -ne 0 ] && grep -qF -- "$want" "$TMP/out/restore-bad.out"'
	check "save: restore of $what leaves nothing behind" "$(left_of $S "$before")" \
		eval 'wait_for 10 nothing_of $S "$before"'
}

save_tests() {
	S=enso-kvm-save
	local cfg rc n0 n1 old new q_old off boots before out size
	new_disk "$TMP/disk-save.img"
	cfg=$(write_cfg $S 256 256 "" "$TMP/disk-save.img" destroy destroy destroy "maxvcpus = 2")
	create $S "$cfg"
	if [ "$CREATE_RC" -ne 0 ] || ! booted $S || ! wait_for 60 tick_above $S 2; then
		notok "save: the guest to save boots and ticks" \
			"rc=$CREATE_RC: $(echo "$CREATE_OUT" | tr '\n' '|'); console: $(tail -c 300 "$(conlog $S)" 2>/dev/null | tr -d '\r' | tr '\n' '|')"
		return
	fi
	old=$(domid_of $S)
	q_old=$(xenstore-read "/libxl/$old/qemu-pid" 2>/dev/null)

	# ---- save -c: a checkpoint; the guest runs on ----
	"$xl" save -c $S "$TMP/check.save" >"$TMP/out/save-c.out" 2>&1
	rc=$?
	n0=$(tick_n $S)
	check "save: save -c succeeds and says upstream's banner" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/save-c.out")" \
		eval '[ $rc -eq 0 ] && grep -qE "^Saving to $TMP/check.save new xl format \(info 0x1/0x0/[0-9]+\)\$" "$TMP/out/save-c.out"'
	check "save: save -c leaves the domain running under its id" \
		"domid '$(domid_of $S)' (was $old), tick stays at $(tick_n $S) (was $n0)" \
		eval '[ "$(domid_of $S)" = "$old" ] && pid_alive "$q_old" && wait_for 60 tick_above $S "${n0:-0}"'
	before=$(domain_ids)
	"$xl" restore "$TMP/check.save" >"$TMP/out/restore-dup.out" 2>&1
	rc=$?
	check "save: restoring while the saved domain runs is refused (its name is taken), nothing added" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/restore-dup.out"); ids before [$before] after [$(domain_ids)]" \
		eval '[ $rc -ne 0 ] && grep -q "already exists" "$TMP/out/restore-dup.out" && [ "$(domain_ids)" = "$before" ]'

	# ---- save: to the file, and the domain is gone ----
	boots=$(count_in_log $S ENSO-GUEST-BOOTED)
	n1=$(tick_n $S)
	"$xl" save $S "$TMP/s.save" >"$TMP/out/save.out" 2>&1
	rc=$?
	diag "xl save $S: rc=$rc at tick $n1: $(tr '\n' '|' <"$TMP/out/save.out"); file $(stat -c %s "$TMP/s.save" 2>/dev/null) bytes"
	check "save: xl save succeeds" "rc=$rc: $(tr '\n' '|' <"$TMP/out/save.out")" \
		eval '[ $rc -eq 0 ] && grep -q "^Saving to $TMP/s.save new xl format" "$TMP/out/save.out"'
	check "save: the file starts with xl's magic" \
		"first bytes: $(head -c 32 "$TMP/s.save" 2>/dev/null | od -c | head -n 2 | tr '\n' ' ')" \
		eval '[ "$(head -c 27 "$TMP/s.save")" = "Xen saved domain, xl format" ]'
	check "save: after xl save the domain, its QEMU and its nodes are gone" \
		"listed: $(listed $S && echo yes || echo no); qemu $q_old alive: $(pid_alive "$q_old" && echo yes || echo no); nodes: $(xs_nodes_of "$old" | head -n 3 | tr '\n' ' ')" \
		eval 'not_listed $S && wait_for 10 pid_dead "$q_old" && no_nodes_of "$old"'

	# ---- files that are not good save files: refused, nothing left ----
	size=$(stat -c %s "$TMP/s.save")
	cp "$TMP/s.save" "$TMP/magic.save"
	printf 'Y' | dd of="$TMP/magic.save" bs=1 seek=0 conv=notrunc 2>/dev/null
	restore_refused "a file with a wrong magic" "$TMP/magic.save" \
		"$TMP/magic.save: File has wrong magic number - corrupt or for a different tool?"
	# The payload's own magic ("QEVM") just after the header.
	off=$((48 + $(od -An -tu4 -j44 -N4 "$TMP/s.save" | tr -d ' ')))
	cp "$TMP/s.save" "$TMP/payload.save"
	printf 'XXXX' | dd of="$TMP/payload.save" bs=1 seek="$off" conv=notrunc 2>/dev/null
	restore_refused "a file whose payload is not QEMU's stream" "$TMP/payload.save" \
		"is not QEMU's migration stream"
	head -c $((size / 2)) "$TMP/s.save" >"$TMP/short.save"
	restore_refused "a file cut in the middle of QEMU's stream" "$TMP/short.save" \
		"while loading the guest's state"

	# ---- restore: the same guest, going on ----
	off=$(log_size $S)
	run_restore "$TMP/s.save" restore.out "the saved guest"
	check "save: xl restore succeeds with upstream's banners" "rc=$rc: $out" \
		eval '[ $rc -eq 0 ] &&
			grep -qE "^Loading new save file $TMP/s.save \(new xl fmt info 0x1/0x0/[0-9]+\)\$" "$TMP/out/restore.out" &&
			grep -qx " Savefile contains xl domain config in JSON format" "$TMP/out/restore.out" &&
			grep -qx "Parsing config from <saved>" "$TMP/out/restore.out"'
	new=$(domid_of $S)
	kvm_domains+=("$S")
	check "save: the restored domain has its name and a new domid" \
		"domid '$new' (saved: $old); ids before [$before] after [$(domain_ids)]" \
		eval '[ -n "$new" ] && [ "$new" != "$old" ]'
	if wait_for "$BOOT_TIMEOUT" tick_above $S "${n1:-0}"; then
		ok "save: the restored guest's tick counter goes on past $n1 (now $(tick_n $S))"
	else
		notok "save: the restored guest's tick counter goes on past $n1" \
			"last tick $(tick_n $S); console since restore: $(tail -c +"$((off + 1))" "$(conlog $S)" | tr -d '\r' | tail -c 300 | tr '\n' '|')"
	fi
	n0=$(ticks_after $S "$off" | sort -n | head -n 1)
	check "save: it did not start again (no boot since, first tick after restore $n0 > $n1)" \
		"boot markers: $(count_in_log $S ENSO-GUEST-BOOTED) (were $boots); first tick after restore '$n0'" \
		eval '[ "$(count_in_log $S ENSO-GUEST-BOOTED)" = "$boots" ] && [ -n "$n0" ] && [ "$n0" -gt "${n1:-0}" ]'
	row=$(list_row $S)
	check "save: xl list shows the restored domain running" "row '$row'" \
		eval '[[ $(echo "$row" | awk "{print \$5}") == *[rb]* ]]'
	hot_save_tests

	# A vCPU vcpu-set plugged goes too: the restoring QEMU starts with it
	# (the file's device layout says how many are plugged).
	"$xl" vcpu-set $S 2 >"$TMP/out/vcpu-set.out" 2>&1
	rc=$?
	check "save: vcpu-set 2 plugs a vCPU; the guest counts 2" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/vcpu-set.out"); last tick's cpus=$(tick_cpus $S)" \
		eval '[ $rc -eq 0 ] && wait_for 60 cpus_are $S 2'
	"$xl" save $S "$TMP/vcpus.save" >"$TMP/out/save-vcpus.out" 2>&1
	rc=$?
	check "save: a domain with a vCPU plugged by vcpu-set is saved (vcpus=2 in its layout)" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/save-vcpus.out")" \
		eval '[ $rc -eq 0 ] && not_listed $S && grep -aq "\"enso_device_layout\": \"kvm1;vcpus=2;" "$TMP/vcpus.save"'
	off=$(log_size $S)
	run_restore "$TMP/vcpus.save" restore-vcpus.out "with a vCPU plugged"
	check "save: restored with both vCPUs: the guest counts 2 and goes on, xl list shows 2" \
		"rc=$rc: $out; row '$(list_row $S)'; ticks since: $(tail -c +"$((off + 1))" "$(conlog $S)" | grep -aoE 'ENSO-TICK[^\r]*' | tail -n 2 | tr '\n' '|')" \
		eval '[ $rc -eq 0 ] && wait_for 60 cpus_since $S "$off" 2 &&
			[ "$(list_row $S | awk "{print \$4}")" = 2 ]'
	"$xl" vcpu-set $S 1 >"$TMP/out/vcpu-set-back.out" 2>&1
	rc=$?
	check "save: after the restore that vCPU is still vcpu-set's: vcpu-set 1 unplugs it, the guest counts 1" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/vcpu-set-back.out"); last tick's cpus=$(tick_cpus $S)" \
		eval '[ $rc -eq 0 ] && wait_for 60 cpus_are $S 1'
	"$xl" destroy $S >/dev/null 2>&1
	check "save: the restored domain is destroyed like any other" \
		"listed: $(listed $S && echo yes || echo no); qemu: $(qemus_with "$S," | tr '\n' ' ')" \
		eval 'not_listed $S && wait_for 10 eval "[ -z \"\$(qemus_with $S,)\" ]"'
}

# hot_save_tests: a disk plugged in (block-attach) goes through a save and
# a restore, the file's device layout (backends/kvm/layout.c) putting it
# behind the port it had; a file whose layout names a port Enso never
# makes is refused, nothing left.  Leaves $S restored, running.
hot_save_tests() {
	local M=$S n file=$TMP/hot.save
	hot_attach "save: before the save" A "$(conlog $S)"
	n=$(tick_n $S)
	"$xl" save $S "$file" >"$TMP/out/save-hot.out" 2>&1
	rc=$?
	check "save: a domain with a disk plugged in is saved" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/save-hot.out")" \
		eval '[ $rc -eq 0 ] && not_listed $S && grep -aq "\"enso_device_layout\": \"kvm1;" "$file"'
	# The layout's first port (after vcpus=) renamed, the same length, to
	# one Enso never makes.
	python3 - "$file" "$TMP/badlayout.save" <<'PY'
import sys
d = open(sys.argv[1], "rb").read()
i = d.index(b'"enso_device_layout": "kvm1;')
i = d.index(b";", d.index(b"vcpus=", i)) + 1
open(sys.argv[2], "wb").write(d[:i] + b"Q" + d[i + 1:])
PY
	restore_refused "a file whose device layout names a port Enso never makes" \
		"$TMP/badlayout.save" "not a root port Enso makes"
	run_restore "$file" restore-hot.out "with a disk plugged in"
	check "save: restored with the plugged-in disk, the guest goes on past tick $n" \
		"rc=$rc: $out; last tick $(tick_n $S)" \
		eval '[ $rc -eq 0 ] && wait_for 60 tick_above $S "${n:-0}"'
	hot_detach "save: after the restore" A "$(conlog $S)"
}
