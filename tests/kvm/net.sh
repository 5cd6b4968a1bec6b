# Sourced by tests/kvm/run.sh (its helpers, $xl, $TMP, $img, write_cfg,
# create, booted...).
#
# net_tests: KVM guests' vifs on a bridge of the test's own, in a network
# namespace the test makes (xl create runs inside it, so QEMU and its taps
# live there): the guest pings an address on the bridge through the
# built-in plumbing (vif-bridge's equivalent); a second NIC with a user's
# script= has it run with upstream's arguments and environment; rate= puts
# a police filter on the tap's ingress (on a kernel without act_police:
# create is refused naming it, and nothing is left).  One guest boot.
#
# network-attach/-detach: xl's side of them is written elsewhere, so the
# backend's ops are driven by tests/kvm/nic_plug (nic_hotplug below).

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

# nic_hotplug DOMID: a NIC plugged into the running guest and out again,
# and the config's own NIC unplugged (the guest lets go of both: detach
# says nothing of a timeout).
nic_hotplug() {
	local id=$1 plug=$build/tests/kvm/nic_plug out
	if [ ! -x "$plug" ]; then
		notok "net: hot-plug" "$plug not built (make check TESTS=)"
		return
	fi
	out=$(nsx timeout 60 "$plug" attach "$id" 2 brk 00:16:3e:00:21:02 2>&1)
	check "net: hot-plug: attach puts vif$id.2 on the bridge, up" \
		"$out; $(nsx ip -o link show "vif$id.2" 2>&1)" \
		eval 'nsx ip -o link show "vif$id.2" | grep -q "master brk" &&
			nsx ip -o link show "vif$id.2" | grep -q "[<,]UP[,>]"'
	out=$(nsx timeout 60 "$plug" detach "$id" 2 brk - 2>&1)
	check "net: hot-plug: detach, the guest lets go, the tap is gone" \
		"$out; $(nsx ip -o link show "vif$id.2" 2>&1)" \
		eval '[ "$out" = "rc=0: " ] && ! nsx ip -o link show "vif$id.2" >/dev/null 2>&1'
	out=$(nsx timeout 60 "$plug" detach "$id" 0 brk - 2>&1)
	check "net: hot-plug: the config's own NIC detaches too (its own root port)" \
		"$out; $(nsx ip -o link show "vif$id.0" 2>&1)" \
		eval '[ "$out" = "rc=0: " ] && ! nsx ip -o link show "vif$id.0" >/dev/null 2>&1'
}

net_tests() {
	local N=enso-kvm-net Q=enso-kvm-rate cfg id hook=$TMP/vif-hook.sh rc out

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
		nic_hotplug "$id"
	else
		notok "net: the guest boots" "no boot marker in $BOOT_TIMEOUT s"
	fi
	timeout 60 "$xl" destroy $N >/dev/null 2>&1
	check "net: destroy leaves no tap in the namespace" "$(nsx ip -o link 2>&1 | grep -E "vif$id|enso-hook0")" \
		wait_for 10 eval '! nsx ip -o link | grep -qE "vif$id\.|enso-hook0"'

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

	# rate=: policed on the tap's ingress where the kernel can.
	cfg=$(write_cfg $Q 256 256 "" "" destroy destroy destroy "vif = [ 'bridge=brk, rate=10Mb/s' ]")
	nsx "$xl" create -p "$cfg" >"$TMP/out/create-$Q.out" 2>&1
	rc=$?
	out=$(cat "$TMP/out/create-$Q.out")
	kvm_domains+=("$Q")
	if kernel_polices; then
		id=$(domid_of $Q)
		check "net: rate=10Mb/s is a police filter at 10Mbit on the tap's ingress" \
			"rc=$rc: $out; tc: $(nsx tc filter show dev "vif$id.0" ingress 2>&1 | tr '\n' ' ')" \
			eval '[ $rc -eq 0 ] && nsx tc filter show dev "vif$id.0" ingress | grep -q "police.*rate 10Mbit"'
		timeout 60 "$xl" destroy $Q >/dev/null 2>&1
	else
		diag "this kernel has no police action: rate= is expected to be refused"
		check "net: rate= on a kernel without act_police is refused, naming it" \
			"rc=$rc, output: $(echo "$out" | tr '\n' '|')" \
			eval '[ $rc -ne 0 ] && echo "$out" | grep -q "act_police"'
	fi
	check "net: rate= leaves nothing behind" \
		"qemu: $(qemus_with $Q | tr '\n' ' '); links: $(nsx ip -o link | grep -c vif)" \
		eval '[ -z "$(qemus_with $Q)" ] && not_listed $Q && ! nsx ip -o link | grep -q "vif[0-9]"'
	net_cleanup
}
