#!/usr/bin/env bash
# bench/xenstored.sh: Enso's xenstored against upstream's cxenstored and
# oxenstored, side by side in one boot of the Xen rig (upstream's daemons do
# not run on a host without Xen).  Prints operations per second for each,
# at 1 and 64 clients, on an empty store and on one holding 1,000 domains'
# nodes, the memory per node, and the ratios Enso/upstream.
#
#   bench/xenstored.sh [BUILD_DIR]      (default build/; run as root)
#   RIG_BENCH_SECONDS=2 RIG_BENCH_DOMAINS=1000   per-run seconds, domains
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac

if [ ! -x "$build/bench/xsbench" ] || [ ! -x "$build/xenstored/xenstored" ]; then
	echo "bench/xenstored.sh: build first (tests/run, or configure and make in $build)" >&2
	exit 2
fi
destdir="$build/bench-destdir"
rm -rf "$destdir"
make -s -C "$build" install DESTDIR="$destdir" >/dev/null

args=""
[ -n "${RIG_BENCH_SECONDS:-}" ] && args="$args rig.bench_seconds=$RIG_BENCH_SECONDS"
[ -n "${RIG_BENCH_DOMAINS:-}" ] && args="$args rig.bench_domains=$RIG_BENCH_DOMAINS"
set +e
RIG_SCENARIO_DIR="$root/bench/rig" RIG_SCENARIOS=50-bench-xenstored RIG_TIMEOUT=${RIG_TIMEOUT:-1500} \
	RIG_DOM0_ARGS="$args" ENSO_DESTDIR="$destdir" \
	"$root/tests/rig/boot.sh" >&2
rc=$?
set -e

tr -d '\r' <"$root/tests/rig/out/serial.log" | grep '^xsbench ' >"$build/bench-xenstored.txt" || true
if [ ! -s "$build/bench-xenstored.txt" ]; then
	echo "bench/xenstored.sh: no results (see tests/rig/out/serial.log)" >&2
	exit 1
fi

awk '
function val(s, k,   i, n, a) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2)
	return ""
}
{
	label = $2; op = $3
	store = "empty"
	if (index(label, "+")) { store = substr(label, index(label, "+") + 1); label = substr(label, 1, index(label, "+") - 1) }
	if (op == "populate") { bpn[label] = val($0, "bytes_per_node"); nodes = val($0, "nodes"); next }
	key = op " " val($0, "clients") " " store
	if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
	ops[label, key] = val($0, "ops_per_s")
}
function ratio(a, b) { return (a != "" && b != "" && b > 0) ? sprintf("%.2fx", a / b) : "-" }
END {
	printf "%-12s %7s %-9s %10s %11s %11s %9s %9s\n", "operation", "clients", "store", "enso/s", "cxenstored/s", "oxenstored/s", "vs cxen", "vs oxen"
	for (i = 1; i <= nk; i++) {
		split(keys[i], k, " ")
		e = ops["enso", keys[i]]; c = ops["cxenstored", keys[i]]; o = ops["oxenstored", keys[i]]
		printf "%-12s %7s %-9s %10s %11s %11s %9s %9s\n", k[1], k[2], k[3], e, c, o, ratio(e, c), ratio(e, o)
	}
	printf "\nmemory per node (RSS growth / nodes added, %s nodes):\n", nodes
	printf "  enso %s B, cxenstored %s B, oxenstored %s B; enso/cxenstored = %s\n", bpn["enso"], bpn["cxenstored"], bpn["oxenstored"], ratio(bpn["enso"], bpn["cxenstored"])
}' "$build/bench-xenstored.txt"
echo "(raw lines: $build/bench-xenstored.txt; rig status $rc)"
exit $rc
