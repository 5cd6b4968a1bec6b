#!/usr/bin/env bash
# bench/xenstored.sh: Enso's xenstored against upstream's cxenstored and
# oxenstored, side by side in one boot of the Xen rig (upstream's daemons do
# not run on a host without Xen).  Prints operations per second for each,
# at 1 and 64 clients, on an empty store and on one holding 1,000 domains'
# nodes, the memory per node, and the ratios Enso/upstream.
#
#   bench/xenstored.sh [BUILD_DIR]      (default build/; run as root)
#   RIG_BENCH_SECONDS=2 RIG_BENCH_DOMAINS=1000   per-run seconds, domains
#
#   bench/xenstored.sh --persist [BUILD_DIR]
#     on this host, no rig: what persistence costs Enso's own write
#     throughput.  The daemon runs three ways, one after the other, each
#     fresh: --no-persist; the default (journal in a tmpfs state directory,
#     /dev/shm); --fsync with the state on disk (BUILD_DIR).  Each is driven
#     by xsbench write and pwrite at 1 and 64 clients (BENCH_SECONDS, 3),
#     BENCH_ROUNDS times (3) in turn; the best round of each is kept.
#     Prints ops/s and the ratio to --no-persist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
persist=0
if [ "${1:-}" = --persist ]; then
	persist=1
	shift
fi
build=${1:-$root/build}
case $build in /*) ;; *) build=$PWD/$build ;; esac

if [ ! -x "$build/bench/xsbench" ] || [ ! -x "$build/xenstored/xenstored" ]; then
	echo "bench/xenstored.sh: build first (tests/run, or configure and make in $build)" >&2
	exit 2
fi

# cpu_ticks PID: the process's user + system time, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

if [ $persist = 1 ]; then
	secs=${BENCH_SECONDS:-3}
	rounds=${BENCH_ROUNDS:-3}
	raw=$build/bench-xenstored-persist.txt
	shm=$(mktemp -d /dev/shm/enso-bench.XXXXXX)
	disk=$(mktemp -d "$build/bench-state.XXXXXX")
	dpid=
	trap 'if [ -n "$dpid" ]; then kill -KILL "$dpid" 2>/dev/null || true; fi; rm -rf "$shm" "$disk"' EXIT
	: >"$raw"
	for ((r = 1; r <= rounds; r++)); do
		for mode in off on fsync; do
			case $mode in
			off) sock=$shm/off/socket; args=(--no-persist) ;;
			on) sock=$shm/on/socket; args=() ;;
			fsync) sock=$shm/fsync/socket; args=(--fsync --state-dir "$disk/fsync") ;;
			esac
			rm -rf "$(dirname "$sock")" "$disk/fsync"
			"$build/xenstored/xenstored" -N -D --socket "$sock" "${args[@]}" \
				>"$build/bench-xenstored-$mode.log" 2>&1 &
			dpid=$!
			for ((i = 0; i < 100; i++)); do
				[ -S "$sock" ] && break
				sleep 0.05
			done
			for c in 1 64; do
				for op in write pwrite; do
					t0=$(cpu_ticks "$dpid")
					line=$(XENSTORED_PATH=$sock "$build/bench/xsbench" \
						-l "$mode" -c $c -s "$secs" $op)
					t1=$(cpu_ticks "$dpid")
					echo "$line daemon_cpu_ticks=$((t1 - t0))" >>"$raw"
				done
			done
			kill -TERM "$dpid"
			wait "$dpid" || true
			dpid=
		done
	done
	awk '
function val(s, k,   i, n, a) {
	n = split(s, a, " ")
	for (i = 1; i <= n; i++) if (index(a[i], k "=") == 1) return substr(a[i], length(k) + 2)
	return ""
}
$1 == "xsbench" {
	key = $3 " " val($0, "clients"); v = val($0, "ops_per_s") + 0
	if (!(key in seen)) { seen[key] = 1; keys[++nk] = key }
	if (v > best[$2, key]) best[$2, key] = v
	ticks[$2, key] += val($0, "daemon_cpu_ticks"); ops[$2, key] += val($0, "ops")
}
function ratio(a, b) { return b > 0 ? sprintf("%.3f", a / b) : "-" }
# microseconds of the daemon'"'"'s CPU per operation (clock ticks of 10 ms)
function cpu(m, key) { return ops[m, key] > 0 ? ticks[m, key] * 10000 / ops[m, key] : 0 }
END {
	printf "%-8s %7s %10s %10s %10s %7s %9s   %s\n", "op", "clients", "off/s", "on/s", "fsync/s", "on/off", "fsync/off", "daemon CPU us/op: off on fsync (on/off)"
	for (i = 1; i <= nk; i++) {
		split(keys[i], k, " ")
		o = best["off", keys[i]]; n = best["on", keys[i]]; f = best["fsync", keys[i]]
		co = cpu("off", keys[i]); cn = cpu("on", keys[i]); cf = cpu("fsync", keys[i])
		printf "%-8s %7s %10.0f %10.0f %10.0f %7s %9s   %.2f %.2f %.2f (%s)\n", k[1], k[2], o, n, f, ratio(n, o), ratio(f, o), co, cn, cf, ratio(cn, co)
		printf "bench xenstored-persist: %s clients=%s off=%.0f on=%.0f fsync=%.0f on/off=%s fsync/off=%s cpu_us_per_op off=%.2f on=%.2f fsync=%.2f\n", k[1], k[2], o, n, f, ratio(n, o), ratio(f, o), co, cn, cf >"/dev/stderr"
	}
}' "$raw"
	echo "(ops/s: best of $rounds rounds of ${secs} s; CPU: all rounds; raw lines: $raw)"
	echo "command: bench/xenstored.sh --persist $build"
	exit 0
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
