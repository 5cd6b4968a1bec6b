# Sourced by tests/kvm/run.sh (its helpers, $xl, $TMP, $img, write_cfg,
# create, booted...).
#
# net_tests: KVM guests' vifs on a bridge of the test's own, in a network
# namespace the test makes (xl runs inside it, so QEMU, its taps and the
# IFBs live there): the guest pings an address on the bridge through the
# built-in plumbing (vif-bridge's equivalent); a second NIC with a user's
# script= has it run with upstream's arguments and environment; xl
# network-attach/-list/-detach plug NICs in and out of the running guest.
# A second guest has rate=: a police filter on the tap's ingress, or on a
# kernel without act_police a redirect to an IFB with a TBF; it pings the
# bridge too.  Destroy, inside the namespace, leaves no tap and no IFB.
# Two guest boots.

net_ns=""
net_cleanup() {
	[ -n "$net_ns" ] && ip netns del "$net_ns" 2>/dev/null
	net_ns=""
}

# nsx CMD...: CMD inside the test's namespace.
nsx() { ip netns exec "$net_ns" "$@"; }

# Can this host's kernel police a tap's ingress?  (A probe tap in the
# namespace, tc's own words.)
kernel_polices() {
	nsx ip tuntap add enso-probe mode tap 2>/dev/null &&
		nsx tc qdisc add dev enso-probe ingress 2>/dev/null &&
		nsx tc filter add dev enso-probe parent ffff: protocol all u32 \
			match u32 0 0 police rate 1mbit burst 128k drop 2>/dev/null
	local rc=$?
	nsx ip link del enso-probe 2>/dev/null
	return $rc
}

# config_nics NAME: the stored config's vifs (xl list -l) as "devid=mac"
# words, by devid.
config_nics() {
	"$xl" list -l "$1" 2>/dev/null | python3 -c '
import json, sys
def nics(o):
    if isinstance(o, dict):
        if isinstance(o.get("nics"), list): return o["nics"]
        for v in o.values():
            r = nics(v)
            if r is not None: return r
    if isinstance(o, list):
        for v in o:
            r = nics(v)
            if r is not None: return r
    return None
n = nics(json.load(sys.stdin)) or []
print(" ".join("%s=%s" % (v.get("devid"), v.get("mac", "")) for v in sorted(n, key=lambda v: v.get("devid", 0))))' 2>/dev/null
}

# nic_row ID DEVID MAC: xl network-list has the row of that vif (KVM: no
# rings, no backend path).
nic_row() {
	nsx "$xl" network-list "$1" 2>/dev/null |
		awk -v d="$2" -v m="$3" '$1 == d && $3 == m && $5 == -1 && $NF == "-" { f = 1 } END { exit !f }'
}

# nic_hotplug NAME DOMID: xl network-attach / -list / -detach inside the
# namespace (where QEMU's taps are): a NIC with rate= plugged into the
# running guest and out again by devid (its IFB with it, on a kernel
# without act_police), the config's own NIC unplugged by MAC (the guest
# lets go of both: detach says nothing of a timeout), a missing one
# refused in upstream's words; the stored config follows each.
nic_hotplug() {
	local name=$1 id=$2 out rc
	out=$(nsx timeout 60 "$xl" network-attach "$id" bridge=brk mac=00:16:3e:00:21:02 rate=10Mb/s 2>&1)
	rc=$?
	check "net: network-attach: xl picks devid 2 (one past the highest); vif$id.2 on the bridge, up" \
		"rc=$rc: $out; $(nsx ip -o link show "vif$id.2" 2>&1)" \
		eval '[ $rc -eq 0 ] && nsx ip -o link show "vif$id.2" | grep -q "master brk" &&
			nsx ip -o link show "vif$id.2" | grep -q "[<,]UP[,>]"'
	if ! kernel_polices; then
		check "net: network-attach with rate= on a kernel without act_police: ifb$id.2 has the TBF" \
			"tc: $(nsx tc qdisc show dev "ifb$id.2" 2>&1 | tr '\n' ' ')" \
			eval 'nsx tc qdisc show dev "ifb$id.2" | grep -q "qdisc tbf .*root.*rate 10Mbit"'
	fi
	check "net: network-list has the new row (Idx 2, its MAC, state -1, BE-path -)" \
		"$(nsx "$xl" network-list "$id" 2>&1 | tr '\n' '|')" \
		nic_row "$id" 2 00:16:3e:00:21:02
	check "net: the stored config (xl list -l) has the attached NIC" \
		"$(config_nics "$name")" \
		eval 'config_nics "$name" | grep -q "2=00:16:3e:00:21:02"'
	out=$(nsx timeout 60 "$xl" network-detach "$id" 2 2>&1)
	rc=$?
	check "net: network-detach by devid: the guest lets go, the tap (and an IFB) is gone" \
		"rc=$rc: $out; $(nsx ip -o link 2>&1 | grep -E "(vif|ifb)$id\.2")" \
		eval '[ $rc -eq 0 ] && [ -z "$out" ] && ! nsx ip -o link | grep -qE "(vif|ifb)$id\.2"'
	check "net: network-list and the stored config have it no more" \
		"list: $(nsx "$xl" network-list "$id" 2>&1 | tr '\n' '|'); config: $(config_nics "$name")" \
		eval '! nic_row "$id" 2 00:16:3e:00:21:02 && ! config_nics "$name" | grep -q "00:16:3e:00:21:02"'
	out=$(nsx timeout 60 "$xl" network-detach "$id" 00:16:3e:00:21:01 2>&1)
	rc=$?
	check "net: network-detach by MAC: the config's own NIC goes too (its own root port)" \
		"rc=$rc: $out; $(nsx ip -o link show "vif$id.0" 2>&1); config: $(config_nics "$name")" \
		eval '[ $rc -eq 0 ] && [ -z "$out" ] && ! nsx ip -o link show "vif$id.0" >/dev/null 2>&1 &&
			! config_nics "$name" | grep -q "00:16:3e:00:21:01"'
	out=$(nsx "$xl" network-detach "$id" 7 2>&1)
	rc=$?
	check "net: network-detach of a vif the domain lacks: 'Unknown device 7.'" \
		"rc=$rc: $out" eval '[ $rc -ne 0 ] && [ "$out" = "Unknown device 7." ]'
}

# rate_guest: rate= on a booted guest.  Policed on the tap's ingress where
# the kernel can, else redirected to ifb<domid>.0 with a TBF at the rate;
# either way the guest reaches the bridge, and destroy (inside the
# namespace) leaves no tap and no IFB.
rate_guest() {
	local Q=enso-kvm-rate cfg id rc out tap ifb
	cfg=$(write_cfg $Q 256 256 " enso.net=10.213.0.3/24,10.213.0.1" "" destroy destroy destroy \
		"vif = [ 'bridge=brk, mac=00:16:3e:00:21:03, rate=10Mb/s' ]")
	nsx "$xl" -v create "$cfg" >"$TMP/out/create-$Q.out" 2>&1
	rc=$?
	out=$(cat "$TMP/out/create-$Q.out")
	kvm_domains+=("$Q")
	T_CREATED[$Q]=$(now)
	check "net: xl create with rate=10Mb/s" \
		"rc=$rc: $(tail -n 3 "$TMP/out/create-$Q.out" | tr '\n' '|')" eval '[ $rc -eq 0 ]'
	id=$(domid_of $Q)
	tap=vif$id.0 ifb=ifb$id.0
	if kernel_polices; then
		check "net: rate=10Mb/s is a police filter at 10Mbit on the tap's ingress" \
			"tc: $(nsx tc filter show dev "$tap" ingress 2>&1 | tr '\n' ' ')" \
			eval 'nsx tc filter show dev "$tap" ingress | grep -q "police.*rate 10Mbit"'
	else
		diag "this kernel has no police action: rate= goes through $ifb"
		check "net: rate= without act_police: $ifb exists, up" \
			"$(nsx ip -o link show "$ifb" 2>&1)" \
			eval 'nsx ip -o link show "$ifb" | grep -q "[<,]UP[,>]"'
		check "net: rate= without act_police: the tap's ingress redirects to $ifb" \
			"tc: $(nsx tc filter show dev "$tap" ingress 2>&1 | tr '\n' ' ')" \
			eval 'nsx tc filter show dev "$tap" ingress | grep -q "mirred (Egress Redirect to device $ifb)"'
		check "net: rate= without act_police: a TBF at 10Mbit is $ifb's root qdisc" \
			"tc: $(nsx tc qdisc show dev "$ifb" 2>&1 | tr '\n' ' ')" \
			eval 'nsx tc qdisc show dev "$ifb" | grep -q "qdisc tbf .*root.*rate 10Mbit"'
	fi
	if booted $Q; then
		check "net: the rate= guest pings an address on the bridge" \
			"$(grep -a ENSO-NET-PING "$(conlog $Q)" | tail -n 1)" \
			wait_for 60 in_log $Q "ENSO-NET-PING ok"
	else
		notok "net: the rate= guest boots" "no boot marker in $BOOT_TIMEOUT s"
	fi
	nsx timeout 60 "$xl" destroy $Q >/dev/null 2>&1
	check "net: destroy (in the namespace) leaves no tap and no IFB of the rate= guest" \
		"$(nsx ip -o link 2>&1 | grep -E "vif$id\.|ifb$id\.")" \
		wait_for 10 eval '! nsx ip -o link | grep -qE "vif$id\.|ifb$id\."'
	check "net: rate= leaves nothing behind" \
		"qemu: $(qemus_with $Q | tr '\n' ' '); links: $(nsx ip -o link | grep -cE 'vif|ifb')" \
		eval '[ -z "$(qemus_with $Q)" ] && not_listed $Q && ! nsx ip -o link | grep -qE "(vif|ifb)[0-9]"'
}

net_tests() {
	local N=enso-kvm-net cfg id hook=$TMP/vif-hook.sh rc out

	net_ns=enso-kvm-$$
	if ! ip netns add "$net_ns" ||
		! nsx ip link add brk type bridge ||
		! nsx ip addr add 10.213.0.1/24 dev brk ||
		! nsx ip link set brk up || ! nsx ip link set lo up; then
		notok "net: a bridge in a namespace of the test's own" "ip netns/ip link failed"
		net_cleanup
		return
	fi
	# Upstream's xl.conf of this host, if any, is not the test's.
	export ENSO_XL_CONF=$TMP/no-xl.conf
	cat >"$hook" <<EOF
#!/bin/sh
{ echo "args: \$*"; env | grep -E '^(script|XENBUS_TYPE|XENBUS_PATH|XENBUS_BASE_PATH|netdev|vif|INTERFACE|bridge)=' | sort; } >>$TMP/vif-hook.out
EOF
	chmod 755 "$hook"

	cfg=$(write_cfg $N 256 256 " enso.net=10.213.0.2/24,10.213.0.1" "" destroy destroy destroy \
		"vif = [ 'bridge=brk, mac=00:16:3e:00:21:01', 'script=$hook, vifname=enso-hook0' ]")
	nsx "$xl" -v create "$cfg" >"$TMP/out/create-$N.out" 2>&1
	rc=$?
	kvm_domains+=("$N")
	T_CREATED[$N]=$(now)
	check "net: xl create with vif=['bridge=BR'] in the test's namespace" \
		"rc=$rc: $(tail -n 3 "$TMP/out/create-$N.out" | tr '\n' '|')" eval '[ $rc -eq 0 ]'
	id=$(domid_of $N)
	local tap=vif$id.0
	check "net: the tap $tap is on the bridge, up, MAC fe:ff:ff:ff:ff:ff, bridge's MTU" \
		"$(nsx ip -o link show "$tap" 2>&1)" \
		eval 'nsx ip -o link show "$tap" | grep -q "master brk" &&
			nsx ip -o link show "$tap" | grep -q "link/ether fe:ff:ff:ff:ff:ff" &&
			nsx ip -o link show "$tap" | grep -q "[<,]UP[,>]" &&
			nsx ip -o link show "$tap" | grep -q "mtu 1500"'
	check "net: a vif with script= runs it as upstream does (add type_if=tap, its environment)" \
		"$(tr '\n' '|' <"$TMP/vif-hook.out" 2>/dev/null)" \
		eval 'grep -qx "args: add type_if=tap" "$TMP/vif-hook.out" &&
			grep -qx "XENBUS_TYPE=vif" "$TMP/vif-hook.out" &&
			grep -qx "XENBUS_PATH=backend/vif/$id/1" "$TMP/vif-hook.out" &&
			grep -qx "XENBUS_BASE_PATH=backend" "$TMP/vif-hook.out" &&
			grep -qx "vif=enso-hook0" "$TMP/vif-hook.out" &&
			grep -qx "INTERFACE=enso-hook0" "$TMP/vif-hook.out" &&
			grep -qx "script=$hook" "$TMP/vif-hook.out" &&
			grep -qx "netdev=" "$TMP/vif-hook.out"'
	check "net: the script's NIC is left to the script (not enslaved)" \
		"$(nsx ip -o link show enso-hook0 2>&1)" \
		eval 'nsx ip -o link show enso-hook0 >/dev/null 2>&1 && ! nsx ip -o link show enso-hook0 | grep -q master'
	if booted $N; then
		check "net: the guest pings an address on the bridge" \
			"$(grep -a ENSO-NET-PING "$(conlog $N)" | tail -n 1)" \
			wait_for 60 in_log $N "ENSO-NET-PING ok"
		nic_hotplug $N "$id"
	else
		notok "net: the guest boots" "no boot marker in $BOOT_TIMEOUT s"
	fi
	local removes
	removes=$(grep -cx "args: remove type_if=tap" "$TMP/vif-hook.out" 2>/dev/null)
	nsx timeout 60 "$xl" destroy $N >/dev/null 2>&1
	check "net: destroy (in the namespace) leaves no tap" "$(nsx ip -o link 2>&1 | grep -E "vif$id|enso-hook0")" \
		wait_for 10 eval '! nsx ip -o link | grep -qE "vif$id\.|enso-hook0"'
	check "net: destroy runs the vif's script with remove type_if=tap" \
		"hook's calls: $(grep '^args' "$TMP/vif-hook.out" | tr '\n' '|')" \
		eval '[ "$(grep -cx "args: remove type_if=tap" "$TMP/vif-hook.out")" -eq $((removes + 1)) ] &&
			[ "$(grep "^args" "$TMP/vif-hook.out" | tail -n 1)" = "args: remove type_if=tap" ]'

	# Failures reach the user: a missing bridge named; a script's exit
	# status and output (a relative name, from ENSO_SCRIPT_DIR).
	printf '#!/bin/sh\necho "vif-fail: no network for $vif"\nexit 4\n' >"$TMP/vif-fail.sh"
	chmod 755 "$TMP/vif-fail.sh"
	local F=enso-kvm-netfail spec why
	for spec in "bridge=nobr9:bridge nobr9 does not exist" \
		"script=vif-fail.sh:exit status 4.*vif-fail: no network for vif"; do
		why=${spec#*:}
		cfg=$(write_cfg $F 256 256 "" "" destroy destroy destroy "vif = [ '${spec%%:*}' ]")
		ENSO_SCRIPT_DIR=$TMP nsx "$xl" create -p "$cfg" >"$TMP/out/create-$F.out" 2>&1
		rc=$?
		out=$(cat "$TMP/out/create-$F.out")
		check "net: vif ${spec%%:*} fails create, saying why" \
			"rc=$rc, output: $(echo "$out" | tr '\n' '|')" \
			eval '[ $rc -ne 0 ] && echo "$out" | grep -q "$why"'
		check "net: vif ${spec%%:*} leaves nothing behind" \
			"qemu: $(qemus_with $F | tr '\n' ' ')" \
			eval '[ -z "$(qemus_with $F)" ] && not_listed $F && ! nsx ip -o link | grep -q "vif[0-9]"'
	done

	rate_guest
	nic_save_restore
	net_cleanup
}

# nic_save_restore: a NIC plugged into a running guest (network-attach)
# goes through a save and a restore (inside the namespace): the file's
# device layout puts it behind its spare root port again, the restored
# domain's tap for it is on the bridge, and it unplugs from there.
nic_save_restore() {
	local P=enso-kvm-nicsave cfg id rc out n file=$TMP/nic.save
	cfg=$(write_cfg $P 256 256 "" "" destroy destroy destroy)
	nsx "$xl" create "$cfg" >"$TMP/out/create-$P.out" 2>&1
	kvm_domains+=("$P")
	T_CREATED[$P]=$(now)
	if ! booted $P || ! wait_for 60 tick_above $P 2; then
		notok "net: a guest to save with a plugged-in NIC boots" \
			"$(tail -n 3 "$TMP/out/create-$P.out" | tr '\n' '|')"
		return
	fi
	id=$(domid_of $P)
	out=$(nsx timeout 60 "$xl" network-attach "$id" bridge=brk mac=00:16:3e:00:21:05 2>&1)
	rc=$?
	n=$(tick_n $P)
	nsx "$xl" save $P "$file" >"$TMP/out/save-$P.out" 2>&1
	check "net: a guest with a NIC plugged in (network-attach) is saved" \
		"attach rc=$rc: $out; save: $(tr '\n' '|' <"$TMP/out/save-$P.out")" \
		eval '[ $rc -eq 0 ] && not_listed $P && grep -aq "kvm1;.*,vif0" "$file"'
	nsx "$xl" restore "$file" >"$TMP/out/restore-$P.out" 2>&1
	rc=$?
	id=$(domid_of $P)
	check "net: restored, its NIC's tap vif$id.0 on the bridge, the guest going on past tick $n" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/restore-$P.out"); $(nsx ip -o link show "vif$id.0" 2>&1)" \
		eval '[ $rc -eq 0 ] && nsx ip -o link show "vif$id.0" | grep -q "master brk" &&
			wait_for 60 tick_above $P "${n:-0}"'
	out=$(nsx timeout 60 "$xl" network-detach "$id" 0 2>&1)
	rc=$?
	check "net: after the restore the NIC unplugs: the guest lets go, its tap is gone" \
		"rc=$rc: $out; $(nsx ip -o link 2>&1 | grep "vif$id\.")" \
		eval '[ $rc -eq 0 ] && [ -z "$out" ] && ! nsx ip -o link | grep -q "vif$id\."'
	nsx timeout 60 "$xl" destroy $P >/dev/null 2>&1
}
