# Persistence of Enso's xenstored (issue 10): sourced by run-xenstored.sh,
# whose helpers (start_daemon, ok, notok, diag, alive, find_prog) it uses.
#
# A writer over libxenstore (xs_persist) runs while the daemon is killed
# with SIGKILL; the daemon restarts on the same socket and state directory
# and every write the writer saw acknowledged must be there, with its
# permissions.  Then: a torn and a garbage journal tail, compaction (and a
# journal left behind by a crash during it), a second daemon on the same
# state, a corrupt snapshot (refused; --discard-state starts empty), and a
# clean stop.

P_STATE=$TMP/persist.state

# p_start: the daemon "persist" on $TMP/persist.sock with $P_STATE.
p_start() {
	[ -f "$TMP/persist.log" ] && cat "$TMP/persist.log" >>"$TMP/persist-all.log"
	rm -f "$TMP/persist.sock"	# the killed daemon's: wait for the new one
	start_daemon persist --state-dir "$P_STATE" "$@" && P_PID=$DPID
}

p_kill9() {
	kill -KILL "$P_PID" 2>/dev/null
	wait "$P_PID" 2>/dev/null
}

p_xs() { XENSTORED_PATH=$TMP/persist.sock timeout 20 "$@"; }

# p_check LABEL CMD...: the command's own ok / not ok lines, prefixed.
p_check() {
	local label=$1 line
	shift
	p_xs "$@" >"$TMP/p-check.out" 2>>"$TMP/p-check.err"
	if ! grep -qE '^(not )?ok - ' "$TMP/p-check.out"; then
		notok "persist: $label" "no result from $* (exit $?)"
		return
	fi
	while IFS= read -r line; do
		case $line in
		"ok - "*) ok "persist: $label: ${line#ok - }" ;;
		"not ok - "*) notok "persist: $label" "${line#not ok - }" ;;
		esac
	done <"$TMP/p-check.out"
}

# p_write_kill PREFIX START SECS: the writer runs, the daemon dies under it;
# sets P_ACKED to the number of ops acknowledged (START + count).
p_write_kill() {
	local prefix=$1 start=$2 secs=$3 last
	p_xs "$xs_persist" write "$prefix" "$start" >"$TMP/p-writer.out" 2>"$TMP/p-writer.err" &
	local wpid=$!
	sleep "$secs"
	p_kill9
	wait "$wpid" 2>/dev/null
	last=$(awk '$1 == "acked" { n = $2 } END { print n }' "$TMP/p-writer.out")
	if [ -z "$last" ]; then
		P_ACKED=$start
	else
		P_ACKED=$((last + 1))
	fi
	diag "persist: writer acknowledged ops $start..$((P_ACKED - 1)) before SIGKILL"
}

p_logged() { grep -q "$1" "$TMP/persist.log"; }

persist_tests() {
	local n1 n2 jr size

	xs_persist=$(find_prog xs_persist) || {
		notok "persist: xs_persist builds" "compilation failed"
		return
	}
	rm -rf "$P_STATE"

	# --- SIGKILL under a writer, twice, then restart
	if ! p_start; then
		notok "persist: daemon starts with --state-dir" "see the log above"
		return
	fi
	ok "persist: daemon starts with --state-dir"
	p_write_kill /p 0 2
	n1=$P_ACKED
	if [ "$n1" -lt 50 ]; then
		notok "persist: writer ran" "only $n1 ops acknowledged in 2 s"
	fi
	if p_start; then
		if p_logged "restored [0-9]* nodes, 0 domains from $P_STATE"; then
			ok "persist: restart logs what it restored"
		else
			notok "persist: restart logs what it restored" \
				"no 'restored N nodes, M domains from $P_STATE' line"
		fi
		p_check "after SIGKILL" "$xs_persist" verify /p "$n1"
		# Again: a journal replayed once goes on growing.
		p_write_kill /p "$n1" 1
		n2=$P_ACKED
		p_start
		p_check "after a second SIGKILL" "$xs_persist" verify /p "$n2"
	else
		notok "persist: restart after SIGKILL" "daemon did not start"
		return
	fi

	# --- a torn tail: the last record cut short
	p_xs xenstore-write /t/last torn >/dev/null
	p_kill9
	jr=$P_STATE/xenstored.journal
	size=$(stat -c %s "$jr")
	truncate -s $((size - 3)) "$jr"
	if p_start && p_logged "discarded [0-9]* bytes of torn or corrupt journal tail"; then
		if p_xs xenstore-read /t/last >/dev/null 2>&1; then
			notok "persist: torn journal tail" "/t/last, whose record was cut, is there"
		else
			ok "persist: a torn journal tail is discarded whole, with a log line"
		fi
		p_check "after a torn tail" "$xs_persist" verify /p "$n2"
	else
		notok "persist: torn journal tail" "daemon did not start or logged no discard: $(tail -n 3 "$TMP/persist.log" | tr '\n' ' ')"
	fi

	# --- garbage after the last record; what follows the cut must survive
	p_kill9
	head -c 77 /dev/urandom >>"$jr"
	if p_start && p_logged "discarded 77 bytes"; then
		ok "persist: garbage after the journal's last record is cut (77 bytes logged)"
		p_xs xenstore-write /t/after-cut yes >/dev/null
		p_kill9
		p_start
		if [ "$(p_xs xenstore-read /t/after-cut 2>&1)" = yes ]; then
			ok "persist: writes after a cut tail survive the next restart"
		else
			notok "persist: writes after a cut tail survive the next restart" \
				"/t/after-cut reads '$(p_xs xenstore-read /t/after-cut 2>&1)'"
		fi
	else
		notok "persist: garbage journal tail" "no 'discarded 77 bytes' line: $(tail -n 3 "$TMP/persist.log" | tr '\n' ' ')"
	fi

	# --- compaction: over 1 MiB of journal makes a snapshot
	cp "$jr" "$TMP/old-journal"
	if p_xs "$xs_persist" fill /big 700 2000 >/dev/null 2>"$TMP/p-fill.err"; then
		# The rule: compact past max(1 MiB, twice the last snapshot);
		# 64 KiB of slack for the batch that crossed it.
		local snap limit
		snap=$(stat -c %s "$P_STATE/xenstored.snapshot" 2>/dev/null || echo 0)
		limit=$((2 * snap > 1048576 ? 2 * snap : 1048576))
		if [ "$snap" -gt 0 ] &&
			[ "$(stat -c %s "$jr")" -lt $((limit + 65536)) ]; then
			ok "persist: past max(1 MiB, 2x the snapshot) the journal is compacted into a snapshot"
		else
			notok "persist: compaction" "snapshot $(stat -c %s "$P_STATE/xenstored.snapshot" 2>&1), journal $(stat -c %s "$jr") bytes"
		fi
	else
		notok "persist: compaction" "fill failed: $(head -n 2 "$TMP/p-fill.err")"
	fi
	p_xs xenstore-write /t/post-compact yes >/dev/null
	p_kill9
	if p_start; then
		p_check "snapshot + journal" "$xs_persist" fillcheck /big 700 2000
		p_check "snapshot + journal" "$xs_persist" verify /p "$n2"
		if [ "$(p_xs xenstore-read /t/post-compact 2>&1)" = yes ]; then
			ok "persist: a write after compaction survives SIGKILL"
		else
			notok "persist: a write after compaction survives SIGKILL" "/t/post-compact lost"
		fi
	fi
	# A crash between writing the snapshot and starting the new journal
	# leaves the old journal: it must be ignored, not replayed on top.
	# (CONTROL snapshot: everything is in the snapshot, then the crash.)
	if p_xs "$xs_persist" control snapshot 2>"$TMP/p-ctl.err"; then
		ok "persist: CONTROL snapshot"
	else
		notok "persist: CONTROL snapshot" "$(cat "$TMP/p-ctl.err")"
	fi
	p_kill9
	cp "$TMP/old-journal" "$jr"
	if p_start && p_logged "older than the snapshot"; then
		ok "persist: a journal older than the snapshot is ignored"
		p_check "old journal ignored" "$xs_persist" fillcheck /big 700 2000
	else
		notok "persist: a journal older than the snapshot is ignored" "$(tail -n 3 "$TMP/persist.log" | tr '\n' ' ')"
	fi

	# --- a second daemon on the same state directory refuses
	"$XENSTORED" -N -D --socket "$TMP/persist2.sock" --state-dir "$P_STATE" \
		>"$TMP/persist2.log" 2>&1 &
	local p2=$!
	sleep 1
	if alive "$p2"; then
		kill -KILL "$p2"
		notok "persist: a second daemon on the same state refuses" "it runs"
	elif grep -q "another xenstored holds" "$TMP/persist2.log"; then
		ok "persist: a second daemon on the same state refuses, saying why"
	else
		notok "persist: a second daemon on the same state refuses" "$(cat "$TMP/persist2.log")"
	fi
	wait "$p2" 2>/dev/null
	if [ "$(p_xs xenstore-read /t/post-compact 2>&1)" = yes ]; then
		ok "persist: the first daemon still serves after the refusal"
	else
		notok "persist: the first daemon still serves after the refusal" "read failed"
	fi

	# --- a clean stop keeps everything too
	kill -TERM "$P_PID"
	wait "$P_PID" 2>/dev/null
	if p_start; then
		p_check "after SIGTERM" "$xs_persist" verify /p "$n2"
	fi

	# --- a corrupt snapshot: refused, never an empty store
	p_kill9
	printf 'X' | dd of="$P_STATE/xenstored.snapshot" bs=1 seek=300 conv=notrunc 2>/dev/null
	"$XENSTORED" -N -D --socket "$TMP/persist.sock" --state-dir "$P_STATE" \
		>"$TMP/persist3.log" 2>&1 &
	p2=$!
	sleep 1
	if alive "$p2"; then
		kill -KILL "$p2"
		notok "persist: a corrupt snapshot is refused" "the daemon started"
	elif grep -q "is corrupt at byte" "$TMP/persist3.log"; then
		ok "persist: a corrupt snapshot is refused, saying where"
	else
		notok "persist: a corrupt snapshot is refused" "$(cat "$TMP/persist3.log")"
	fi
	wait "$p2" 2>/dev/null
	if p_start --discard-state; then
		if [ -e "$P_STATE/xenstored.snapshot.bad" ] &&
			! p_xs xenstore-read /t/post-compact >/dev/null 2>&1; then
			ok "persist: --discard-state starts empty, the bad snapshot kept aside"
		else
			notok "persist: --discard-state" "no snapshot.bad, or old nodes still there"
		fi
		p_kill9
	else
		notok "persist: --discard-state starts" "daemon did not start"
	fi
	if grep -Eq 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP"/persist*.log; then
		notok "persist: no sanitizer report" "$(grep -Ehm1 'AddressSanitizer|LeakSanitizer|runtime error:' "$TMP"/persist*.log)"
	else
		ok "persist: no sanitizer report"
	fi
}
