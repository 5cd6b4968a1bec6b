# bench/net/report.awk: bench/net.sh's tables from its raw lines
# (bench-net-run side= backend= round= test= and mbps= secs= cpu_s=
# be_cpu_s=, or tps= latency_us= cpu_s=; bench-net-info).  Medians over a
# backend's rounds.  CPU per gigabit: a run's cpu_s over the gigabits it
# moved (mbps * secs / 1000), then the median of those.
function val(k,   i) {
	for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2)
	return ""
}
function add(key, x) { v[key, ++cnt[key]] = x }
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = v[key, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	if (n == 0) return ""
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fig(x) { return x == "" ? "-" : sprintf(x >= 100 ? "%.0f" : x >= 10 ? "%.1f" : x >= 1 ? "%.2f" : "%.3f", x) }
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
$1 == "bench-net-info" { info[++ninfo] = $0; next }
$1 == "bench-net-run" {
	s = val("side"); b = val("backend"); t = val("test")
	rounds[s, b, val("round")] = 1
	k = s SUBSEP b
	if (t == "rr") {
		add(k SUBSEP "rr", val("tps") + 0)
		add(k SUBSEP "rr-lat", val("latency_us") + 0)
	} else {
		gbit = val("mbps") * val("secs") / 1000
		add(k SUBSEP t, val("mbps") + 0)
		if (gbit > 0) {
			add(k SUBSEP t "-cpu", val("cpu_s") / gbit)
			if (val("be_cpu_s") != "") add(k SUBSEP t "-becpu", val("be_cpu_s") / gbit)
		}
	}
	side[s] = 1
}
# row SIDE LABEL UNIT KEY A B: one line of a table, and its bench net: line
function row(s, label, unit, key, a, b,   x, y) {
	x = median(s SUBSEP a SUBSEP key); y = median(s SUBSEP b SUBSEP key)
	printf "%-28s %-10s %9s %9s %12s\n", label, unit, fig(x), fig(y), ratio(x, y)
	line[++nl] = sprintf("bench net: %s %s %s %s=%s %s=%s %s/%s=%s", s, key, unit, a, fig(x), b, fig(y), a, b, ratio(x, y))
	R[s, key] = (x != "" && y != "") ? x / y : ""
}
function met(s, key, hi,   r) {
	r = R[s, key]
	if (r == "") return 0
	return hi ? r >= 1 : r <= 1
}
END {
	for (r in rounds) { split(r, p, SUBSEP); nr[p[1], p[2]]++ }
	if (side["xen"]) {
		printf "bench net: Xen, one rig boot (Xen 4.17 under QEMU TCG, 2 vCPUs): enso-netback vs Linux's xen-netback (kernel); one PV guest (2 vCPUs) on a dom0 bridge, clients in dom0\n"
		printf "rounds: enso %d, kernel %d; medians\n\n", nr["xen", "enso"], nr["xen", "kernel"]
		printf "%-28s %-10s %9s %9s %12s\n", "test", "unit", "enso", "kernel", "enso/kernel"
		row("xen", "tx dom0->guest (iperf3)", "Mbit/s", "tx", "enso", "kernel")
		row("xen", "rx guest->dom0 (iperf3 -R)", "Mbit/s", "rx", "enso", "kernel")
		row("xen", "request/response (rr)", "trans/s", "rr", "enso", "kernel")
		row("xen", "rr latency", "us", "rr-lat", "enso", "kernel")
		row("xen", "dom0 CPU, tx", "s/Gbit", "tx-cpu", "enso", "kernel")
		row("xen", "dom0 CPU, rx", "s/Gbit", "rx-cpu", "enso", "kernel")
		row("xen", "backend threads' CPU, tx", "s/Gbit", "tx-becpu", "enso", "kernel")
		row("xen", "backend threads' CPU, rx", "s/Gbit", "rx-becpu", "enso", "kernel")
		printf "(dom0 CPU: /proc/stat's busy time over the run, the iperf3 client included; backend threads': enso-netback's and the vif* threads' run time, which includes time Xen stole from dom0 and leaves out the kernel's softirq work: a hint, not a comparison)\n\n"
	}
	if (side["kvm"]) {
		printf "bench net: KVM path on QEMU TCG: Enso's xl vs libvirt's <interface type='bridge'> (virtio), same guest on a host bridge; clients on the host\n"
		printf "rounds: enso %d, libvirt %d; medians\n", nr["kvm", "enso"], nr["kvm", "libvirt"]
		for (i = 1; i <= ninfo; i++) { split(info[i], p, " "); if (!(p[3] in shown)) { shown[p[3]] = 1; printf "  %s\n", substr(info[i], 16) } }
		print ""
		printf "%-28s %-10s %9s %9s %12s\n", "test", "unit", "enso", "libvirt", "enso/libvirt"
		row("kvm", "tx host->guest (iperf3)", "Mbit/s", "tx", "enso", "libvirt")
		row("kvm", "rx guest->host (iperf3 -R)", "Mbit/s", "rx", "enso", "libvirt")
		row("kvm", "request/response (rr)", "trans/s", "rr", "enso", "libvirt")
		row("kvm", "rr latency", "us", "rr-lat", "enso", "libvirt")
		row("kvm", "host CPU, tx", "s/Gbit", "tx-cpu", "enso", "libvirt")
		row("kvm", "host CPU, rx", "s/Gbit", "rx-cpu", "enso", "libvirt")
		row("kvm", "QEMU's own CPU, tx", "s/Gbit", "tx-becpu", "enso", "libvirt")
		row("kvm", "QEMU's own CPU, rx", "s/Gbit", "rx-becpu", "enso", "libvirt")
		printf "(host CPU: /proc/stat's busy time over the run, QEMU's emulation of the guest included; QEMU's own: the guest's QEMU process's time)\n\n"
	}
	for (i = 1; i <= nl; i++) print line[i]
	t = "bench net: targets:"
	if (side["xen"]) {
		mk = met("xen", "tx", 1) && met("xen", "rx", 1) && met("xen", "rr", 1)
		mc = met("xen", "tx-cpu", 0) && met("xen", "rx-cpu", 0)
		t = t sprintf(" Xen: at least the kernel's throughput (tx, rx) and request rate: %s; at no more dom0 CPU per gigabit (tx, rx): %s;", mk ? "met" : "NOT met", mc ? "met" : "NOT met")
	}
	if (side["kvm"]) {
		ml = met("kvm", "tx", 1) && met("kvm", "rx", 1) && met("kvm", "rr", 1)
		t = t sprintf(" KVM: ahead of libvirt (tx, rx, request rate): %s", ml ? "met" : "NOT met")
	}
	print t
}
