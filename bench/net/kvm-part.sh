# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # variables of bench/kvm.sh, which sources this
# bench/net/kvm-part.sh: `bench/kvm.sh --net` (bench/net.sh's KVM half),
# sourced by bench/kvm.sh once its setup is done (libvirt and Enso's
# xenstored running, the guest image built); it uses that script's
# functions (create, destroy, qemu_of, the console paths, say, die).
#
# The guest: scripts/guest-image.sh's kernel and initramfs with a second
# cpio archive appended (the kernel unpacks both, the later over the
# earlier): iperf3 with its libraries, bench/net/rr (static) and
# bench/net/guest as /rig-bench, which the image's /init runs on
# enso.bench=1: iperf3's and rr's servers, eth0 given rig.ip.  256 MiB,
# 1 vCPU, as bench/kvm.sh's guest.
#
# The network: a bridge this script makes on the host, NET_BR (ensonb0),
# 10.77.0.1/24 (the guest 10.77.0.2), removed by bench/kvm.sh's cleanup.
# Both toolstacks' QEMUs and their taps live in the host's namespace
# (libvirtd's, which a private namespace would not reach).  Each side's
# default bridged NIC: Enso's xl.cfg `vif = [ 'bridge=ensonb0,mac=MAC' ]`
# (QEMU's tap vifD.0, virtio-net-pci); libvirt's `<interface
# type='bridge'>` with `<model type='virtio'/>` and no <driver> (libvirt's
# tap; vhost-net is not used for a TCG domain).  The netdev and NIC options
# each side gave QEMU are printed as bench-net-info lines.
#
# The host runs the clients (iperf3 -c, -R; rr), each BENCH_NET_SECONDS
# (10) s, after a 2 s iperf3 warm-up that is not measured, rounds BENCH_NET_ORDER (enso,libvirt,libvirt,enso), one domain
# per round.  CPU: the host's /proc/stat busy time over each run (QEMU's
# emulation of the guest included) and the QEMU process's own
# (be_cpu_s).
NET_T=${BENCH_NET_SECONDS:-10}
NET_ORDER=${BENCH_NET_ORDER:-enso,libvirt,libvirt,enso}
NET_BR=${BENCH_NET_BRIDGE:-ensonb0}
NET_HOST_IP=10.77.0.1 NET_GUEST_IP=10.77.0.2 NET_MAC=00:16:3e:00:0b:01
[[ $NET_T =~ ^[1-9][0-9]*$ ]] || die "BENCH_NET_SECONDS=$NET_T: want a positive integer"
iperf3_bin=$(command -v iperf3) || die "iperf3 missing (apt-get install iperf3)"
rr_bin=$build/bench-net/rr
[ -x "$rr_bin" ] || die "no $rr_bin (bench/net.sh builds it)"
command -v cpio >/dev/null || die "cpio missing"
clk=$(getconf CLK_TCK 2>/dev/null || echo 100)
ping_cmd=(ping)
command -v ping >/dev/null || ping_cmd=(busybox ping)

# The bridge.
if ip -o -4 addr show | grep -q " 10\.77\.0\."; then
	die "10.77.0.0/24 is in use on this host: $(ip -o -4 addr show | grep ' 10\.77\.0\.' | awk '{ print $2 }')"
fi
ip link add name "$NET_BR" type bridge || die "cannot make the bridge $NET_BR"
net_br_made=$NET_BR
ip addr add "$NET_HOST_IP/24" dev "$NET_BR" && ip link set "$NET_BR" up ||
	die "cannot give $NET_BR its address"

# The guest's initramfs with iperf3 and rr.
ov=$TMP/net-overlay
mkdir -p "$ov/usr/bin" "$ov/usr/local/bin"
cp -L "$iperf3_bin" "$ov/usr/bin/iperf3"
cp -L "$rr_bin" "$ov/usr/local/bin/rr"
install -m 0755 "$root/bench/net/guest" "$ov/rig-bench"
bench_overlay_libs "$ov" "$iperf3_bin"
bench_initrd_with "$img" "$ov" initrd-net.gz || die "packing the iperf3 overlay failed"
INITRD=initrd-net.gz GUEST_MB=256
say "net: guest initramfs with iperf3 and rr: $(du -h "$img/initrd-net.gz" | cut -f1); bridge $NET_BR $NET_HOST_IP/24"

# nic_opts PID: the network options QEMU was given, one line.
nic_opts() {
	tr '\0' '\n' <"/proc/$1/cmdline" | grep -i -e 'tap' -e 'virtio-net' -e 'netdev' | grep -v '^-' | tr '\n' ' '
}
host_busy() { awk '$1 == "cpu" { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
proc_cpu() { # utime + stime of PID, ticks
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || { echo 0; return; }
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $((${12} + ${13}))
}
# net_measure NAME QEMUPID CMD...: CMD's output in $OUT/NAME.out; sets
# CPU_S BE_S.
net_measure() {
	local n=$1 q=$2 c0 c1 q0 q1 rc
	shift 2
	q0=$(proc_cpu "$q")
	c0=$(host_busy)
	"$@" >"$OUT/$n.out" 2>&1
	rc=$?
	c1=$(host_busy)
	q1=$(proc_cpu "$q")
	CPU_S=$(awk -v a="$c0" -v b="$c1" -v h="$clk" 'BEGIN { printf "%.2f", (b - a) / h }')
	BE_S=$(awk -v a="$q0" -v b="$q1" -v h="$clk" 'BEGIN { printf "%.2f", (b - a) / h }')
	return $rc
}

limit=$((BOOT_TIMEOUT + 60))
n=0
for side in ${NET_ORDER//,/ }; do
	case $side in enso | libvirt) ;; *) die "BENCH_NET_ORDER names '$side': enso or libvirt" ;; esac
	n=$((n + 1))
	btag=$side-$n
	name=$tag-net$n
	EXTRA="enso.bench=1 rig.ip=$NET_GUEST_IP rig.net_tag=$btag"
	ip neigh flush dev "$NET_BR" >/dev/null 2>&1
	create "$side" "$name"
	[ "$side" = enso ] && f=$(enso_console "$name") || f=$(lv_console "$name")
	deadline=$((${EPOCHREALTIME%.*} + limit))
	while ! tr -d '\r' <"$f" 2>/dev/null | grep -q "ENSO-NET up $btag "; do
		[ "${EPOCHREALTIME%.*}" -lt $deadline ] ||
			die "$side: the guest $name brought up no NIC within ${limit}s (console: $(tail -c 400 "$f" 2>/dev/null | tr -d '\r' | tr '\n' '|'))"
		sleep 0.5
	done
	q=$(qemu_of "$name")
	[ -n "$q" ] || die "$side: no QEMU found for $name"
	"${ping_cmd[@]}" -c 3 -w 60 "$NET_GUEST_IP" >"$OUT/ping-$btag.out" 2>&1 ||
		die "$side: the host cannot ping the guest: $(tail -n 2 "$OUT/ping-$btag.out" | tr '\n' '|'); bridge: $(ip -o link show master "$NET_BR" 2>&1 | tr '\n' '|')"
	echo "bench-net-info side=kvm backend=$side round=$n qemu_nic=$(nic_opts "$q" | tr ' ' ';')"
	# warm-up, not measured: ARP, the first connection, the guest's pages
	timeout 60 iperf3 -c "$NET_GUEST_IP" -p 5201 -t 2 >"$OUT/net-$btag-warm.out" 2>&1 ||
		die "$side: iperf3 warm-up: $(tail -n 3 "$OUT/net-$btag-warm.out" | tr '\n' '|')"
	for t in tx rx; do
		rev=""
		[ $t = rx ] && rev=-R
		# iperf3's server refuses connections while it ends the test
		# before (slow under TCG): up to 3 tries, 2 s apart.
		for try in 1 2 3; do
			sleep 2
			net_measure "net-$btag-$t" "$q" timeout $((NET_T + 60)) iperf3 -c "$NET_GUEST_IP" -p 5201 -t "$NET_T" -f m $rev && break
			grep -q 'unable to connect' "$OUT/net-$btag-$t.out" && [ $try -lt 3 ] ||
				die "$side: iperf3 $t: $(tail -n 3 "$OUT/net-$btag-$t.out" | tr '\n' '|')"
			say "net round $n ($side): iperf3 $t: $(tail -n 1 "$OUT/net-$btag-$t.out"); again"
		done
		read -r a b _ _ _ mbps unit _ < <(grep 'receiver$' "$OUT/net-$btag-$t.out" | tail -n 1 | sed 's/.*\] *//; s/-/ /')
		[ "$unit" = Mbits/sec ] || die "$side: iperf3 $t: no receiver line: $(tail -n 4 "$OUT/net-$btag-$t.out" | tr '\n' '|')"
		echo "bench-net-run side=kvm backend=$side round=$n test=$t mbps=$mbps secs=$(awk -v a="$a" -v b="$b" 'BEGIN { printf "%.2f", b - a }') cpu_s=$CPU_S be_cpu_s=$BE_S"
	done
	net_measure "net-$btag-rr" "$q" timeout $((NET_T + 30)) "$rr_bin" -c "$NET_GUEST_IP" 5210 "$NET_T" ||
		die "$side: rr: $(tail -n 3 "$OUT/net-$btag-rr.out" | tr '\n' '|')"
	read -r _ _ _ _ secs _ tps _ lat < "$OUT/net-$btag-rr.out"
	echo "bench-net-run side=kvm backend=$side round=$n test=rr tps=$tps latency_us=$lat secs=$secs cpu_s=$CPU_S be_cpu_s=$BE_S"
	say "net round $n ($side): $(grep -h 'receiver$' "$OUT/net-$btag-tx.out" "$OUT/net-$btag-rx.out" | awk '{ print $7, $8 }' | tr '\n' ' ')rr $tps/s"
	destroy "$side" "$name" "$q"
	sleep 1
done
