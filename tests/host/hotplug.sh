# Sourced by run-xenstored.sh (its notok, tally, $TMP, $XENSTORED).
#
# hotplug_tests: hotplug/ (bridges, taps, vif plumbing, rate limits, loop
# devices, script hooks) by tests/host/hotplug, which makes its own network
# namespace; no daemon needed.

hotplug_tests() {
	local prog
	prog=$(cd "$(dirname "$XENSTORED")/.." && pwd)/tests/host/hotplug
	if [ ! -x "$prog" ]; then
		notok "hotplug builds" "$prog missing (make check TESTS=)"
		return
	fi
	mkdir -p "$TMP/hotplug"
	timeout 120 "$prog" "$TMP/hotplug" >"$TMP/hotplug.out" 2>"$TMP/hotplug.err"
	tally hotplug $? 120
}
