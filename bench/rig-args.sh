# shellcheck shell=bash
# bench/rig-args.sh: sourced by the rig benchmarks (bench/create.sh,
# bench/blk.sh).
#
# rig_bench_args SCRIPT PREFIX NAME...: for each NAME whose variable
# PREFIX+NAME is set (e.g. RIG_BENCH_RUNS), a word for dom0's command line
# in $args (rig.bench_runs=VALUE: the scenario sees RIG_BENCH_RUNS again)
# and PREFIX+NAME=VALUE in $env_shown, for the command the report shows.
# Values are letters, digits and commas only; anything else stops SCRIPT.
rig_bench_args() {
	local script=$1 prefix=$2 v val k
	shift 2
	args="" env_shown=""
	for v in "$@"; do
		eval "val=\${$prefix$v:-}"
		[ -n "$val" ] || continue
		case $val in *[!A-Za-z0-9,+]*) echo "$script: $prefix$v='$val': letters, digits and commas only" >&2; exit 2 ;; esac
		k=$(echo "$prefix$v" | tr '[:upper:]' '[:lower:]')
		args="$args rig.${k#rig_}=$val"
		env_shown="$env_shown $prefix$v=$val"
	done
}
