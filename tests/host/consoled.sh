# Sourced by run-xenstored.sh (its ok/notok/stop_daemon, $TMP, $XENSTORED).
#
# consoled_tests: consoled's daemon served to PV console guests of the
# test's own over shm (console_front, on a private xenstored); then the
# program itself, `consoled -i -T shm`: it finds a domain by its nodes
# (nothing introduces domains without a hypervisor), cannot map a page
# nothing granted it and says so, and stops on SIGTERM.

consoled_program() {
	local sock=$1 bin pid i log=$TMP/consoled.log
	bin=$(cd "$(dirname "$XENSTORED")/.." && pwd)/consoled/consoled
	if [ ! -x "$bin" ] || ! command -v xenstore-write >/dev/null; then
		notok "consoled -T shm: serves without Xen" "$bin or xenstore-write missing"
		return
	fi
	XENSTORED_PATH=$sock "$bin" -i -T shm >"$log" 2>&1 &
	pid=$!
	pids+=("$pid")
	XENSTORED_PATH=$sock xenstore-write /local/domain/4/name cs-4 \
		/local/domain/4/console/ring-ref 1 /local/domain/4/console/port 1
	for ((i = 0; i < 100; i++)); do
		grep -q "domain 4: cannot map its console page" "$log" && break
		sleep 0.05
	done
	if grep -q "serving consoles" "$log" &&
		grep -q "domain 4: cannot map its console page (grant 0, frame 1)" "$log"; then
		ok "consoled -T shm: serves, finds a domain by its nodes, maps nothing it was not granted"
	else
		notok "consoled -T shm: serves, finds a domain by its nodes, maps nothing it was not granted" \
			"$(tail -n 1 "$log")"
		sed 's/^/#   /' "$log" >&2
	fi
	XENSTORED_PATH=$sock xenstore-rm /local/domain/4 2>/dev/null
	stop_daemon consoled "$pid"
}

consoled_tests() {
	local console_front
	console_front=$(find_prog console_front) ||
		notok "console_front builds" "compilation failed"
	if [ -n "$console_front" ] && start_daemon xenstored-consoled; then
		run_suite console_front xenstored-consoled "$DPID" "$DSOCK" "$console_front"
		consoled_program "$DSOCK"
		stop_daemon xenstored-consoled "$DPID"
	elif [ -n "$console_front" ]; then
		notok "xenstored for console_front starts" "no socket within 10 s"
	fi
}
