#!/usr/bin/env bash
# bench/create.sh: `xl create` to the guest's first console line, and
# `xl destroy`, for Enso (its xenstored, consoled and xl) and for upstream
# (xl, cxenstored and xenconsoled of Xen 4.17), side by side in one boot of
# the Xen rig, with 0, 1, 5 and 10 other domains running.  Prints each
# time (medians), the CPU the toolstack's processes spent on a create
# (toolstack_cpu: xl create and its children, the xenstore daemon, the
# console backend, xl monitors), the ratio Enso/upstream, and how each
# stack's figures grow with the number of other domains.  The method is in
# the header of bench/rig/60-bench-create and in bench/README.md.
#
#   bench/create.sh [BUILD_DIR]      (default build/; run as root)
#   bench/create.sh --report RAW     the tables again from a run's raw lines
#                                    (BUILD_DIR/bench-create.txt; lines from
#                                    before toolstack_cpu show "-" for it)
#
#   RIG_BENCH_RUNS=2                 rounds per stack, level and phase
#   RIG_BENCH_PHASES=enso,upstream,upstream,enso   the order of the phases
#   RIG_BENCH_OTHERS=0,1,5,10        numbers of other domains, ascending
#   RIG_BENCH_MEMORY=128 RIG_BENCH_BG_MEMORY=96   MB, measured guest / others
#   RIG_BENCH_BG_LOAD=idle           the other domains: idle (boot, then sleep:
#                                    running but idle, as most domains on a
#                                    host are) or tick (a console line a
#                                    second from a forked awk; under TCG a
#                                    fork costs ~50-100x what it does on
#                                    hardware, so that measures CPU
#                                    contention, not the toolstack).  The
#                                    measured guest ticks either way.
#   RIG_TIMEOUT=6000                 wall-clock limit for the boot (s)
#   RIG_MEM=2048                     the emulated host's memory (MiB)
#   RIG_CPU                          QEMU's -cpu (tests/rig/boot.sh: qemu64,+svm,+npt)
#   RIG_XEN_ARGS                     more words for Xen (bootscrub=1 is always
#                                    given: no background scrub after boot)
#   RIG_OUT                          the rig's output dir (tests/rig/out)
set -euo pipefail
export LC_ALL=C
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac
rig_out=${RIG_OUT:-$root/tests/rig/out}
serial=$rig_out/serial.log

env_shown=""
if [ "${1:-}" = --report ]; then
	raw=${2:?bench/create.sh --report RAW}
	rc=0
else
	. "$root/bench/lib.sh"
	bench_built bench/create.sh "$build" xl/xl xenstored/xenstored consoled/consoled
	. "$root/bench/rig-args.sh"
	rig_bench_args bench/create.sh RIG_BENCH_ RUNS PHASES OTHERS MEMORY BG_MEMORY BG_LOAD

	set +e
	# bootscrub=1: Xen scrubs free memory at boot, not in the background
	# afterwards, where it would land on whichever round comes first.
	RIG_XEN_ARGS="bootscrub=1${RIG_XEN_ARGS:+ $RIG_XEN_ARGS}" \
		bench_rig "$build" "$rig_out" 60-bench-create 6000
	rc=$?
	set -e

	raw="$build/bench-create.txt"
	tr -d '\r' <"$serial" | sed -n 's/.*\(bench-create-run .*\)/\1/p' >"$raw" || true
	if [ ! -s "$raw" ]; then
		echo "bench/create.sh: no results (see $serial)" >&2
		exit 1
	fi

fi

awk '
function val(k,   i) {
	for (i = 2; i <= NF; i++) if (index($i, k "=") == 1) return substr($i, length(k) + 2)
	return ""
}
function median(stack, o, m,   n, i, j, t, a) {
	n = cnt[stack, o, m]
	for (i = 1; i <= n; i++) a[i] = v[stack, o, m, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j - 1] > a[j]; j--) { t = a[j]; a[j] = a[j - 1]; a[j - 1] = t }
	if (n == 0) return ""
	return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
}
function fmt(x) { return x == "" ? "-" : sprintf("%.2fs", x) }
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2f", a / b) : "-" }
function times(r) { return r == "-" ? r : "x" r }
BEGIN {
	nm = split("create_returns first_line boot_marker destroy_returns destroy toolstack_cpu", M, " ")
	label["create_returns"] = "xl_create_returns"
	label["first_line"] = "create_to_console"
	label["boot_marker"] = "create_to_boot_marker"
	label["destroy_returns"] = "xl_destroy_returns"
	label["destroy"] = "destroy"
	label["toolstack_cpu"] = "toolstack_cpu"
	# Raw lines from before toolstack_cpu lack it: their rows say "-".
	optional["toolstack_cpu"] = 1
}
{
	s = val("stack"); o = val("others")
	ok = (s != "" && o != "")
	for (k = 1; k <= nm; k++) if (val(M[k]) == "" && !(M[k] in optional)) ok = 0
	if (!ok) { bad++; next }
	if (!((o) in seen)) { seen[o] = 1; lv[++nl] = o + 0 }
	for (k = 1; k <= nm; k++) {
		x = val(M[k])
		if (x == "") continue
		c = ++cnt[s, o, M[k]]
		v[s, o, M[k], c] = x + 0	# numbers, not strings, for the sort
	}
	ph[s] = ph[s] (index(" " ph[s] " ", " " val("phase") " ") ? "" : " " val("phase"))
	b = val("bg_load"); if (b == "") b = "tick"	# lines from before the knob: ticking
	bgl = bgl (index(" " bgl " ", " " b " ") ? "" : " " b)
}
END {
	for (i = 2; i <= nl; i++) for (j = i; j > 1 && lv[j - 1] > lv[j]; j--) { t = lv[j]; lv[j] = lv[j - 1]; lv[j - 1] = t }
	printf "bench create: Enso (xenstored, consoled, xl) vs upstream Xen 4.17 (cxenstored, xenconsoled, xl), one rig boot (Xen 4.17 under QEMU TCG)\n"
	printf "phases: enso in%s, upstream in%s; medians of the rounds of all of a stack'"'"'s phases\n", ph["enso"], ph["upstream"]
	printf "other domains:%s (rig.bench_bg_load)\n\n", bgl
	printf "%-6s %-22s %9s %9s %7s %s\n", "others", "figure", "enso", "upstream", "ratio", "rounds"
	for (i = 1; i <= nl; i++) {
		o = lv[i]
		for (k = 1; k <= nm; k++) {
			e = median("enso", o, M[k]); u = median("upstream", o, M[k])
			printf "%-6s %-22s %9s %9s %7s %d/%d\n", o, label[M[k]], fmt(e), fmt(u), ratio(e, u), cnt["enso", o, M[k]], cnt["upstream", o, M[k]]
			med[o, M[k], "e"] = e; med[o, M[k], "u"] = u
		}
	}
	if (bad) printf "(%d result lines were garbled in the serial log and left out)\n", bad
	print ""
	for (i = 1; i <= nl; i++) {
		o = lv[i]
		for (k = 1; k <= nm; k++) {
			if (M[k] == "boot_marker" || M[k] == "destroy_returns") continue
			e = med[o, M[k], "e"]; u = med[o, M[k], "u"]
			printf "bench create: others=%s %s enso=%s upstream=%s ratio=%s\n", o, label[M[k]], fmt(e), fmt(u), ratio(e, u)
		}
	}
	lo = lv[1]; hi = lv[nl]
	if (nl > 1) {
		for (k = 1; k <= nm; k++) {
			if (M[k] == "boot_marker" || M[k] == "destroy_returns") continue
			printf "bench create: growth others=%s->%s %s enso=%s upstream=%s\n", lo, hi, label[M[k]],
				times(ratio(med[hi, M[k], "e"], med[lo, M[k], "e"])), times(ratio(med[hi, M[k], "u"], med[lo, M[k], "u"]))
		}
	}
	# Target: Enso at most half of upstream to the first console line, at
	# every level; flat: Enso within 10% of its own time with no others.
	half = "met"; flat = "met"
	for (i = 1; i <= nl; i++) {
		o = lv[i]; e = med[o, "first_line", "e"]; u = med[o, "first_line", "u"]
		if (e == "" || u == "" || e > u / 2) half = "NOT met"
		if (e == "" || med[lo, "first_line", "e"] == "" || e > 1.10 * med[lo, "first_line", "e"]) flat = "NOT met"
	}
	printf "bench create: target: enso create_to_console at most half of upstream'"'"'s: %s; flat (within 10%% from %s to %s others): %s\n", half, lo, hi, flat
	# The toolstack'"'"'s own CPU per round, from the fewest to the most other
	# domains: flat when within 10%, or, for small figures, within 0.05 s
	# (the figure is counted in 10 ms ticks, over several processes).
	printf "bench create: target: toolstack_cpu from %s to %s others: enso %s; upstream %s\n", lo, hi,
		cpu_growth(med[lo, "toolstack_cpu", "e"], med[hi, "toolstack_cpu", "e"]),
		cpu_growth(med[lo, "toolstack_cpu", "u"], med[hi, "toolstack_cpu", "u"])
}
function cpu_growth(a, b,   d, pct) {
	if (a == "" || b == "") return "- (no toolstack_cpu in the raw lines)"
	d = b - a
	pct = a > 0 ? sprintf("%+.0f%%, ", 100 * d / a) : ""
	s = sprintf("%s->%s (%s%+.2fs): ", fmt(a), fmt(b), pct, d)
	if (b <= 1.10 * a + 1e-9) return s "flat (within 10%)"
	if (d <= 0.05 + 1e-9) return s "flat (within 0.05 s, not 10%)"
	return s "NOT flat"
}' "$raw"
echo "(raw lines: $raw; serial log: $serial; rig status $rc)"
[ -n "${RIG_OUT:-}" ] && env_shown="$env_shown RIG_OUT=$RIG_OUT"
if [ "${1:-}" = --report ]; then
	echo "command: bench/create.sh --report $raw"
else
	[ -n "${RIG_MEM:-}" ] && env_shown="$env_shown RIG_MEM=$RIG_MEM"
	[ -n "${RIG_CPU:-}" ] && env_shown="$env_shown RIG_CPU=$RIG_CPU"
	echo "command: ${env_shown# }${env_shown:+ }bench/create.sh ${build#"$root"/}"
fi
exit $rc
