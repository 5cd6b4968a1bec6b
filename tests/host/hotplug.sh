# Sourced by run-xenstored.sh (its ok/notok/find_prog, $TMP, $passed, $failed).
#
# hotplug_tests: hotplug/ (bridges, taps, vif plumbing, rate limits, loop
# devices, script hooks) by tests/host/hotplug, which makes its own network
# namespace; no daemon needed.

hotplug_tests() {
	local prog out=$TMP/hotplug.out rc lines
	prog=$(cd "$(dirname "$XENSTORED")/.." && pwd)/tests/host/hotplug
	if [ ! -x "$prog" ]; then
		notok "hotplug builds" "$prog missing (make check TESTS=)"
		return
	fi
	mkdir -p "$TMP/hotplug"
	timeout 120 "$prog" "$TMP/hotplug" >"$out" 2>"$TMP/hotplug.err"
	rc=$?
	sed 's/^/# /' "$TMP/hotplug.err" >&2
	grep -E '^(not )?ok - ' "$out"
	passed=$((passed + $(grep -c '^ok - ' "$out")))
	failed=$((failed + $(grep -c '^not ok - ' "$out")))
	lines=$(grep -cE '^(not )?ok - ' "$out")
	if [ $rc -eq 124 ]; then
		notok "hotplug finished" "timed out after 120 s"
	elif [ $rc -gt 128 ]; then
		notok "hotplug finished" "killed by signal $((rc - 128))"
	elif [ "$lines" -eq 0 ]; then
		notok "hotplug finished" "printed no checks (exit $rc)"
	elif [ $rc -ne 0 ] && ! grep -q '^not ok - ' "$out"; then
		notok "hotplug finished" "exit $rc without a failing check"
	fi
}
