# Sourced by tests/kvm/run.sh (its ok/notok/diag, $top, $TMP, $img).
#
# police_in_guest: tests/host/hotplug, built static, run inside a guest of
# Debian's kernel under QEMU, where act_police, cls_u32 and sch_ingress
# exist as modules: the police filter hotplug/ builds through libnl's
# message API is checked against a kernel that takes it (this host's has no
# act_police, so tests/host only sees it refused); with ifb, act_mirred and
# sch_tbf loaded too, its forced IFB fallback runs there as well.  The
# guest's lines come
# back as "ok - kvm: in a Debian guest: hotplug: ...".  One short boot of
# QEMU itself (no xl).

police_in_guest() {
	local kver kmods root=$TMP/police-root bin log=$TMP/out/police-guest.log
	local m f lines
	kver=$(cat "$top/tests/rig/cache/kernel-version" 2>/dev/null)
	kmods=$top/tests/rig/cache/linux/lib/modules/$kver
	if [ -z "$kver" ] || [ ! -f "$kmods/kernel/net/sched/act_police.ko" ]; then
		notok "in a Debian guest: hotplug" "no act_police.ko in $kmods (tests/rig/fetch.sh)"
		return
	fi
	mkdir -p "$root/hp" "$root/lib/x86_64-linux-gnu" "$root/lib64" "$root/sbin"
	bin=$root/hp/hotplug
	# Whole archives: libnl registers its qdisc kinds in constructors,
	# which a static link would otherwise leave out.
	# shellcheck disable=SC2046
	if ! ${CC:-cc} -static -std=gnu11 -D_GNU_SOURCE -O1 -I"$top" -I"$top/util" \
		$(pkg-config --cflags libnl-route-3.0) -o "$bin" \
		"$top/tests/host/hotplug.c" "$top/tests/host/hotplug_rate.c" \
		"$top"/hotplug/*.c \
		-Wl,--whole-archive -lnl-route-3 -lnl-3 -Wl,--no-whole-archive \
		-lpthread -lm >"$TMP/out/police-cc.log" 2>&1; then
		notok "in a Debian guest: hotplug builds static" "$(tail -n 3 "$TMP/out/police-cc.log" | tr '\n' ' ')"
		return
	fi
	# The checks read the kernel's own dump through iproute2's tc
	# (named: busybox's shell runs its own tc whatever PATH says).
	cp /sbin/tc "$root/hp/tc"
	for f in $(ldd /sbin/tc | grep -oE '/[^ ]+'); do cp -L "$f" "$root$f"; done
	for m in net/llc/llc net/802/stp net/bridge/bridge drivers/net/tun \
		drivers/block/loop net/sched/sch_ingress net/sched/cls_u32 \
		net/sched/act_police drivers/net/ifb net/sched/act_mirred \
		net/sched/sch_tbf; do
		cp "$kmods/kernel/$m.ko" "$root/hp/" || { notok "in a Debian guest: hotplug" "no $m.ko"; return; }
		basename "$m.ko" >>"$root/hp/load-order"
	done
	cat >"$root/rig-bench" <<'EOF'
while read -r m; do insmod "/hp/$m" 2>/dev/null; done </hp/load-order
mkdir -p /tmp/hpw
echo "ENSO-HP-BEGIN"
HOTPLUG_TEST_TC=/hp/tc /hp/hotplug /tmp/hpw 2>&1
echo "ENSO-HP-END rc=$?"
poweroff -f
EOF
	(cd "$root" && find . | cpio -o -H newc 2>/dev/null | gzip) >"$TMP/police-extra.gz"
	cat "$img/initrd.gz" "$TMP/police-extra.gz" >"$TMP/police-initrd.gz"
	timeout 300 qemu-system-x86_64 -machine q35,accel=tcg -cpu max -m 512 \
		-nodefaults -no-user-config -display none -no-reboot \
		-kernel "$img/vmlinuz" -initrd "$TMP/police-initrd.gz" \
		-append "console=ttyS0 quiet enso.bench=1" \
		-serial "file:$log" </dev/null >"$TMP/out/police-qemu.log" 2>&1
	lines=$(sed -n '/ENSO-HP-BEGIN/,/ENSO-HP-END/p' "$log" | tr -d '\r' |
		grep -E '^(not )?ok - host: hotplug: ' | sed 's/ - host: / - kvm: in a Debian guest: /')
	if ! grep -q "ENSO-HP-END" "$log"; then
		notok "in a Debian guest: hotplug" "no end marker; last console lines: $(tail -n 3 "$log" | tr '\r\n' '  ')"
		return
	fi
	echo "$lines"
	passed=$((passed + $(echo "$lines" | grep -c '^ok ')))
	failed=$((failed + $(echo "$lines" | grep -c '^not ok ')))
	check "in a Debian guest: hotplug's rate check is the police filter itself, not the refusal" \
		"$(echo "$lines" | grep rate: | tr '\n' '|')" \
		eval 'echo "$lines" | grep -q "^ok - .*police filter at 10Mbit"'
}
