# bench/blk/report.awk: bench/blk.sh's tables from its raw lines
# (bench-blk-run side= backend= round= job= iops= kib_s=, and
# bench-blk-info).  The figure of a 4 KiB job is IOPS, of a 1 MiB one
# MiB/s; medians over a backend's rounds.
function val(k,   i) {
	for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2)
	return ""
}
function median(key,   n, i, j, t, a) {
	n = cnt[key]
	for (i = 1; i <= n; i++) a[i] = v[key, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	if (n == 0) return ""
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fig(x) { return x == "" ? "-" : sprintf(x >= 100 ? "%.0f" : "%.1f", x) }
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
function unit(job) { return job ~ /-1m-/ ? "MiB/s" : "IOPS" }
$1 == "bench-blk-info" { info[++ninfo] = $0; next }
$1 == "bench-blk-run" {
	s = val("side"); b = val("backend"); j = val("job")
	x = j ~ /-1m-/ ? val("kib_s") / 1024 : val("iops") + 0
	k = s SUBSEP b SUBSEP j
	v[k, ++cnt[k]] = x
	rounds[s, b, val("round")] = 1
	if (!((s, j) in seenj)) { seenj[s, j] = 1; jobs[s, ++nj[s]] = j }
}
END {
	for (r in rounds) { split(r, p, SUBSEP); nr[p[1], p[2]]++ }
	met_k = met_q = met_l = 1; any_x = any_k = 0
	if (nj["xen"]) {
		any_x = 1
		printf "bench blk: Xen, one rig boot (Xen 4.17 under QEMU TCG, 2 vCPUs): enso-blkback vs Linux's xen-blkback (kernel) vs QEMU's qdisk; fio in one PV guest\n"
		printf "rounds: enso %d, kernel %d, qdisk %d; medians\n\n", nr["xen", "enso"], nr["xen", "kernel"], nr["xen", "qdisk"]
		printf "%-18s %-6s %9s %9s %9s %12s %11s\n", "job", "unit", "enso", "kernel", "qdisk", "enso/kernel", "enso/qdisk"
		for (i = 1; i <= nj["xen"]; i++) {
			j = jobs["xen", i]
			e = median("xen" SUBSEP "enso" SUBSEP j); kk = median("xen" SUBSEP "kernel" SUBSEP j); q = median("xen" SUBSEP "qdisk" SUBSEP j)
			printf "%-18s %-6s %9s %9s %9s %12s %11s\n", j, unit(j), fig(e), fig(kk), fig(q), ratio(e, kk), ratio(e, q)
			line[++nl] = sprintf("bench blk: xen %s %s enso=%s kernel=%s qdisk=%s enso/kernel=%s enso/qdisk=%s", j, unit(j), fig(e), fig(kk), fig(q), ratio(e, kk), ratio(e, q))
			if (!(e != "" && kk != "" && e >= kk)) met_k = 0
			if (!(e != "" && q != "" && e >= 2 * q)) met_q = 0
		}
		print ""
	}
	if (nj["kvm"]) {
		any_k = 1
		printf "bench blk: KVM path on QEMU TCG: Enso's xl vs libvirt's default disk, same guest and raw file; fio in the guest\n"
		printf "rounds: enso %d, libvirt %d; medians\n", nr["kvm", "enso"], nr["kvm", "libvirt"]
		for (i = 1; i <= ninfo; i++) { split(info[i], p, " "); if (!(p[3] in shown)) { shown[p[3]] = 1; printf "  %s\n", substr(info[i], 16) } }
		print ""
		printf "%-18s %-6s %9s %9s %13s\n", "job", "unit", "enso", "libvirt", "enso/libvirt"
		for (i = 1; i <= nj["kvm"]; i++) {
			j = jobs["kvm", i]
			e = median("kvm" SUBSEP "enso" SUBSEP j); l = median("kvm" SUBSEP "libvirt" SUBSEP j)
			printf "%-18s %-6s %9s %9s %13s\n", j, unit(j), fig(e), fig(l), ratio(e, l)
			line[++nl] = sprintf("bench blk: kvm %s %s enso=%s libvirt=%s enso/libvirt=%s", j, unit(j), fig(e), fig(l), ratio(e, l))
			if (!(e != "" && l != "" && e >= l)) met_l = 0
		}
		print ""
	}
	for (i = 1; i <= nl; i++) print line[i]
	t = "bench blk: targets:"
	if (any_x) t = t sprintf(" at least the kernel's xen-blkback on every row: %s; at least twice qdisk on every row: %s;", met_k ? "met" : "NOT met", met_q ? "met" : "NOT met")
	if (any_k) t = t sprintf(" ahead of libvirt's default on every row: %s", met_l ? "met" : "NOT met")
	print t
}
