# Sourced by tests/kvm/run.sh (its helpers, $xl, $TMP, $img, write_cfg,
# create, booted...).  KVM_TEST_ONLY=migrate runs these alone.
#
# migrate_tests: xl migrate between two Enso hosts on this machine, one
# guest boot (256 MB, a disk).  Host A is the suite's own (its xenstored,
# ENSO_RUNDIR...); host B has a xenstored, run, lib and log directories of
# its own under $TMP/hostB.  Each host's end of the conversation runs in a
# network namespace of its own, the two joined by a veth pair, so the
# stream crosses a real TCP connection:
#
#   A -> B  over -s "socat - TCP:<B>:<port> #" (what cluster engines
#           pass), a socat listening on B running xl migrate-receive;
#   B -> A  xl migrate's default, "ssh <A> xl migrate-receive": a real
#           sshd in A's namespace (its own config and keys under $TMP; the
#           sender's ssh finds them through a wrapper that adds -F).
#
# Each way: the guest ticks on at the other end without booting again,
# under its name; nothing of it is left where it was.  Then what must
# fail leaves the guest running at the source and nothing at the
# destination: a receiver killed mid-stream, a stream cut short, a
# config the destination cannot satisfy (-C), a destination that has
# the whole guest but cannot start it (its name taken there: the guest
# comes back from QEMU's postmigrate state), garbage fed to
# migrate-receive.

MIG_NSA=enso-miga-$$ MIG_NSB=enso-migb-$$
MIG_IPA=10.231.0.1 MIG_IPB=10.231.0.2 MIG_PORT=7101
BT=$TMP/hostB
mig_pids=()

# Host B's environment, for commands run there.
onB() {
	env XENSTORED_PATH="$BT/xs.sock" ENSO_RUNDIR="$BT/run" \
		ENSO_LIBDIR="$BT/lib" ENSO_LOGDIR="$BT/log" "$@"
}
in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
conlogB() { echo "$BT/log/console/$1.log"; }
listedB() { onB "$xl" list 2>/dev/null | awk -v n="$1" 'NR > 1 && $1 == n { f = 1 } END { exit !f }'; }
rowB() { onB "$xl" list 2>/dev/null | awk -v n="$1" 'NR > 1 && $1 == n'; }
domidB() { onB "$xl" domid "$1" 2>/dev/null; }
idsB() { XENSTORED_PATH="$BT/xs.sock" xenstore-list /local/domain 2>/dev/null | grep -vx 0 | sort -n | tr '\n' ' '; }
# Ticks in a console log (FILE), one number a line.
ticks_in() { grep -aoE 'ENSO-TICK n=[0-9]+' "$1" 2>/dev/null | sed 's/.*n=//'; }
last_in() { ticks_in "$1" | tail -n 1; }
ticks_past() { local n; n=$(last_in "$1"); [ -n "$n" ] && [ "$n" -gt "$2" ]; }
# QEMUs of host B (their command lines name its run directory).
qemusB() { pgrep -f -- "$BT/run/" 2>/dev/null | while read -r p; do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo "$p"
done; }
qemusA() { pgrep -f -- "$TMP/run/" 2>/dev/null | while read -r p; do
	[ "$(cat /proc/$p/comm 2>/dev/null)" = qemu-system-x86 ] && echo "$p"
done; }
nothing_on_B() { [ -z "$(idsB)" ] && [ -z "$(qemusB)" ]; }
left_on_B() { echo "B's domains [$(idsB)], B's QEMUs [$(qemusB | tr '\n' ' ')], B's list: $(onB "$xl" list 2>/dev/null | awk 'NR > 1 {print $1}' | tr '\n' ' ')"; }

migrate_cleanup() {
	local p d
	for d in $(idsB); do onB timeout 30 "$xl" destroy "$d" >/dev/null 2>&1; done
	for p in "${mig_pids[@]}"; do kill "$p" 2>/dev/null; done
	# Host B's monitor carries B's run directory in its environment.
	for p in $(pgrep -x xl 2>/dev/null); do
		tr '\0' '\n' <"/proc/$p/environ" 2>/dev/null | grep -qxF "ENSO_RUNDIR=$BT/run" &&
			kill "$p" 2>/dev/null
	done
	ip netns del "$MIG_NSA" 2>/dev/null
	ip netns del "$MIG_NSB" 2>/dev/null
	mkdir -p "$logs_out" 2>/dev/null && cp -r "$BT/log" "$logs_out/hostB-log" 2>/dev/null
}

# The second host, the namespaces, sshd in A's; 1 after a "not ok".
migrate_setup() {
	local need=() k
	command -v socat >/dev/null || need+=("socat (apt-get install socat)")
	[ -x /usr/sbin/sshd ] || need+=("sshd (apt-get install openssh-server)")
	command -v ssh-keygen >/dev/null || need+=("ssh-keygen (apt-get install openssh-client)")
	command -v ip >/dev/null || need+=("ip (apt-get install iproute2)")
	if [ ${#need[@]} -gt 0 ]; then
		notok "migrate: prerequisites" "missing ${need[*]}"
		return 1
	fi
	mkdir -p "$BT/run" "$BT/lib" "$BT/log" "$TMP/ssh" "$TMP/bin"
	onB "$xsd" -N -D --socket "$BT/xs.sock" >>"$TMP/xenstored-B.log" 2>&1 &
	mig_pids+=($!)
	ip netns add "$MIG_NSA" && ip netns add "$MIG_NSB" &&
		ip link add "emA$$" netns "$MIG_NSA" type veth peer name "emB$$" netns "$MIG_NSB" &&
		in_ns "$MIG_NSA" ip addr add "$MIG_IPA/24" dev "emA$$" &&
		in_ns "$MIG_NSB" ip addr add "$MIG_IPB/24" dev "emB$$" &&
		in_ns "$MIG_NSA" ip link set "emA$$" up && in_ns "$MIG_NSA" ip link set lo up &&
		in_ns "$MIG_NSB" ip link set "emB$$" up && in_ns "$MIG_NSB" ip link set lo up ||
		{ notok "migrate: two hosts" "the namespaces and their veth pair could not be made"; return 1; }
	if ! wait_for 10 test -S "$BT/xs.sock"; then
		notok "migrate: two hosts" "host B's xenstored did not start: $(tail -n 3 "$TMP/xenstored-B.log" | tr '\n' ' ')"
		return 1
	fi
	# sshd in A's namespace: B's default migrate reaches A's xl by it.
	# SetEnv gives the session host A's store and directories, and a
	# PATH where "xl" is the one under test.
	ln -sf "$xl" "$TMP/bin/xl"
	ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh/host" &&
		ssh-keygen -q -t ed25519 -N '' -f "$TMP/ssh/id" &&
		cp "$TMP/ssh/id.pub" "$TMP/ssh/authorized_keys" ||
		{ notok "migrate: sshd" "ssh-keygen failed"; return 1; }
	cat >"$TMP/ssh/sshd_config" <<-EOF
		ListenAddress $MIG_IPA
		Port 22
		HostKey $TMP/ssh/host
		AuthorizedKeysFile $TMP/ssh/authorized_keys
		PermitRootLogin prohibit-password
		PasswordAuthentication no
		KbdInteractiveAuthentication no
		UsePAM no
		StrictModes no
		PidFile $TMP/ssh/sshd.pid
		SetEnv PATH=$TMP/bin:/usr/sbin:/usr/bin:/sbin:/bin XENSTORED_PATH=$TMP/xs.sock ENSO_RUNDIR=$TMP/run ENSO_LIBDIR=$TMP/lib ENSO_LOGDIR=$TMP/log
	EOF
	cat >"$TMP/ssh/ssh_config" <<-EOF
		Host *
		  User root
		  IdentityFile $TMP/ssh/id
		  UserKnownHostsFile /dev/null
		  StrictHostKeyChecking no
		  BatchMode yes
		  LogLevel ERROR
	EOF
	# The sender runs "ssh": the real one, with the config above.
	printf '#!/bin/sh\nexec /usr/bin/ssh -F %s "$@"\n' "$TMP/ssh/ssh_config" >"$TMP/bin/ssh"
	chmod +x "$TMP/bin/ssh"
	mkdir -p /run/sshd
	in_ns "$MIG_NSA" /usr/sbin/sshd -D -e -f "$TMP/ssh/sshd_config" >"$TMP/out/sshd.log" 2>&1 &
	mig_pids+=($!)
	if ! wait_for 10 in_ns "$MIG_NSB" env PATH="$TMP/bin:$PATH" ssh "$MIG_IPA" true; then
		notok "migrate: sshd" "ssh from B's namespace to $MIG_IPA fails: $(tail -n 3 "$TMP/out/sshd.log" | tr '\n' ' ')"
		return 1
	fi
	ok "migrate: two hosts (own xenstored and directories each, namespaces joined by a veth, sshd on A)"
}

# listen_B [ARGS...]: a socat on B's address running B's xl migrate-receive
# for one connection, through "$RECV_FILTER |" when set (what a cut
# connection does to the stream); its output in $TMP/out/recv-B.out.
RECV_FILTER=
listen_B() {
	in_ns "$MIG_NSB" socat "TCP-LISTEN:$MIG_PORT,bind=$MIG_IPB,reuseaddr" \
		SYSTEM:"${RECV_FILTER:+$RECV_FILTER | }env XENSTORED_PATH=$BT/xs.sock ENSO_RUNDIR=$BT/run ENSO_LIBDIR=$BT/lib ENSO_LOGDIR=$BT/log $xl migrate-receive${*:+ $*}" \
		2>"$TMP/out/recv-B.out" &
	recv_pid=$!
	mig_pids+=("$recv_pid")
	wait_for 10 eval "in_ns $MIG_NSB ss -ltn 2>/dev/null | grep -qF '$MIG_IPB:$MIG_PORT'"
}
SOCAT_RUNE="socat - TCP:$MIG_IPB:$MIG_PORT #"

# migrate_A_to_B NAME OUT [XL-MIGRATE-OPTIONS...]: sets rc.  With
# MIG_TTY=1, xl runs on a terminal (script(1)'s pty), as a user sees it;
# its carriage returns are kept in OUT.raw.
MIG_TTY=
migrate_A_to_B() {
	local name=$1 out=$2 q
	shift 2
	listen_B || { rc=99; echo "socat did not listen" >"$TMP/out/$out"; return; }
	if [ -n "$MIG_TTY" ]; then
		q=$(printf '%q ' ip netns exec "$MIG_NSA" "$xl" migrate "$@" -s "$SOCAT_RUNE" "$name" "$MIG_IPB")
		script -qfec "$q" /dev/null >"$TMP/out/$out.raw" 2>&1 </dev/null
		rc=$?
		tr -d '\r' <"$TMP/out/$out.raw" >"$TMP/out/$out"
	else
		in_ns "$MIG_NSA" "$xl" -v migrate "$@" -s "$SOCAT_RUNE" "$name" "$MIG_IPB" >"$TMP/out/$out" 2>&1
		rc=$?
	fi
	wait "$recv_pid" 2>/dev/null
	diag "xl migrate $* $name (A -> B): rc=$rc: $(tr '\n' '|' <"$TMP/out/$out") receiver: $(tr '\n' '|' <"$TMP/out/recv-B.out")"
}

migrate_tests() {
	M=enso-kvm-mig
	local cfg n1 nB q_old inlog
	migrate_setup || return
	new_disk "$TMP/disk-mig.img"
	cfg=$(write_cfg $M 256 256 "" "$TMP/disk-mig.img" destroy destroy destroy)
	create $M "$cfg"
	if [ "$CREATE_RC" -ne 0 ] || ! booted $M || ! wait_for 60 tick_above $M 2; then
		notok "migrate: the guest to migrate boots and ticks" \
			"rc=$CREATE_RC: $(echo "$CREATE_OUT" | tr '\n' '|')"
		return
	fi

	# A disk plugged in while the guest runs goes with it: the stream's
	# device layout (backends/kvm/layout.c) puts it behind the same PCIe
	# port at B, or QEMU there would refuse the stream.
	hot_attach "migrate: at A" A "$(conlog $M)"

	# ---- A -> B over a cluster engine's socat pipe ----
	q_old=$(xenstore-read "/libxl/$(domid_of $M)/qemu-pid" 2>/dev/null)
	n1=$(tick_n $M)
	MIG_TTY=1 migrate_A_to_B $M mig-ab.out
	check "migrate: A -> B over -s \"socat ... #\" succeeds with upstream's messages" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/mig-ab.out")" \
		eval '[ $rc -eq 0 ] && grep -qx "migration sender: Target has acknowledged transfer." "$TMP/out/mig-ab.out" &&
			grep -qx "migration sender: Giving target permission to start." "$TMP/out/mig-ab.out" &&
			grep -qx "Migration successful." "$TMP/out/mig-ab.out" &&
			grep -qx "migration target: Domain started successsfully." "$TMP/out/recv-B.out"'
	check "migrate: on a terminal, a progress line overwritten in place, then the downtime and the total time" \
		"$(grep -a -e downtime -e round "$TMP/out/mig-ab.out" | head -c 300)" \
		eval 'grep -qaF "$(printf "\rmigration sender: round ")" "$TMP/out/mig-ab.out.raw" &&
			grep -qaE "migration sender: round [0-9]+: [0-9.]+ MiB sent, [0-9.]+ MiB/s, [0-9]+ pages dirty, [0-9.]+ MiB left" "$TMP/out/mig-ab.out" &&
			grep -qE "^migration sender: .* MiB in [0-9.]+ s over [0-9]+ rounds; downtime [0-9]+ ms" "$TMP/out/mig-ab.out"'
	check "migrate: nothing of the guest is left on A (not listed, its QEMU gone)" \
		"listed: $(listed $M && echo yes || echo no); qemu $q_old alive: $(pid_alive "$q_old" && echo yes || echo no)" \
		eval 'not_listed $M && wait_for 10 pid_dead "$q_old"'
	inlog=$(conlogB "$M--incoming")
	check "migrate: on B the guest runs under its own name" "B's row: '$(rowB $M)'; $(left_on_B)" \
		eval 'listedB $M && ! listedB "$M--incoming" && [[ $(rowB $M | awk "{print \$5}") == *[rb]* ]]'
	if wait_for 60 ticks_past "$inlog" "${n1:-0}"; then
		ok "migrate: on B the guest's ticks go on past $n1 (now $(last_in "$inlog"))"
	else
		notok "migrate: on B the guest's ticks go on past $n1" \
			"B's console log $inlog: $(tail -c 300 "$inlog" 2>/dev/null | tr -d '\r' | tr '\n' '|')"
	fi
	nB=$(ticks_in "$inlog" | head -n 1)
	check "migrate: it did not boot again on B (first tick there $nB follows $n1)" \
		"boot markers on B: $(grep -c ENSO-GUEST-BOOTED "$inlog" 2>/dev/null); first tick '$nB'" \
		eval '! grep -q ENSO-GUEST-BOOTED "$inlog" && [ -n "$nB" ] && [ "$nB" -ge "${n1:-0}" ] && [ "$nB" -le $(( ${n1:-0} + 30 )) ]'

	# The disk plugged in at A is a hot-pluggable one at B: it goes, and
	# comes again into the port it left (layout and spare ports intact).
	hot_detach "migrate: at B" B "$inlog"
	hot_attach "migrate: at B" B "$inlog"

	# ---- B -> A: xl migrate's default, through ssh ----
	n1=$(last_in "$inlog")
	in_ns "$MIG_NSB" env PATH="$TMP/bin:$PATH" XENSTORED_PATH="$BT/xs.sock" ENSO_RUNDIR="$BT/run" \
		ENSO_LIBDIR="$BT/lib" ENSO_LOGDIR="$BT/log" "$xl" migrate $M "$MIG_IPA" >"$TMP/out/mig-ba.out" 2>&1
	rc=$?
	diag "xl migrate $M $MIG_IPA (B -> A, ssh): rc=$rc: $(tr '\n' '|' <"$TMP/out/mig-ba.out")"
	check "migrate: B -> A over xl's default (ssh <host> xl migrate-receive) succeeds" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/mig-ba.out")" \
		eval '[ $rc -eq 0 ] && grep -qx "Migration successful." "$TMP/out/mig-ba.out" &&
			grep -qx "migration target: Domain started successsfully." "$TMP/out/mig-ba.out"'
	check "migrate: nothing of the guest is left on B" "$(left_on_B)" \
		eval 'wait_for 10 nothing_on_B'
	inlog=$(conlog "$M--incoming")
	check "migrate: back on A under its name, ticks going on past $n1, no boot" \
		"A's row '$(list_row $M)'; A's console log: $(tail -c 300 "$inlog" 2>/dev/null | tr -d '\r' | tr '\n' '|')" \
		eval 'listed $M && wait_for 60 ticks_past "$inlog" "${n1:-0}" && ! grep -q ENSO-GUEST-BOOTED "$inlog"'
	hot_detach "migrate: back at A" A "$inlog"

	migrate_failures
}

# hot_attach WHAT HOST LOG / hot_detach WHAT HOST LOG: xl block-attach of
# xvdb (1 MiB of random data) to domain $M at HOST (A or B), seen by the
# guest (its console LOG says so, with the data's md5); block-detach of
# it, the guest letting it go.  WHAT begins the check's name.
HOT_MIG=""
hot_xl() { if [ "$1" = B ]; then shift; onB "$xl" "$@"; else shift; "$xl" "$@"; fi; }
# more_in LOG REGEX N: LOG has more than N lines matching REGEX.
more_in() { [ "$(grep -acE "$2" "$1" 2>/dev/null)" -gt "$3" ]; }
hot_attach() {
	local what=$1 host=$2 log=$3 re n
	HOT_MIG=$TMP/hot-$M.img
	new_disk "$HOT_MIG"
	dd if=/dev/urandom of="$HOT_MIG" bs=1M count=1 conv=notrunc 2>/dev/null
	re="ENSO-DISK-ADDED vd[a-z]+ serial=xvdb md5=$(dd if="$HOT_MIG" bs=1M count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
	n=$(grep -acE "$re" "$log" 2>/dev/null)
	# After a detach, the guest may let the disk go (and say so) a while
	# before QEMU hears its eject: the device is QEMU's until then.
	local t0=$SECONDS
	while :; do
		hot_xl "$host" block-attach $M "format=raw,vdev=xvdb,access=rw,target=$HOT_MIG" \
			>"$TMP/out/hot-attach.out" 2>&1
		rc=$?
		[ $rc -ne 0 ] && grep -q "Duplicate device ID" "$TMP/out/hot-attach.out" &&
			[ $((SECONDS - t0)) -lt 60 ] || break
		sleep 1
	done
	diag "$what: block-attach rc=$rc after $((SECONDS - t0)) s: $(tr '\n' '|' <"$TMP/out/hot-attach.out")"
	check "$what, block-attach of xvdb to the running guest; the guest sees its data" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/hot-attach.out"); console: $(grep -aoE 'ENSO-DISK-[A-Z]+[^\r]*' "$log" 2>/dev/null | tr '\n' '|')" \
		eval '[ $rc -eq 0 ] && wait_for 60 more_in "$log" "$re" "${n:-0}"'
}
hot_detach() {
	local what=$1 host=$2 log=$3 re="ENSO-DISK-REMOVED vd[a-z]+" n
	n=$(grep -acE "$re" "$log" 2>/dev/null)
	hot_xl "$host" block-detach $M xvdb >"$TMP/out/hot-detach.out" 2>&1
	rc=$?
	diag "$what: block-detach rc=$rc: $(tr '\n' '|' <"$TMP/out/hot-detach.out")"
	check "$what, block-detach of the disk plugged in before the move; the guest lets it go" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/hot-detach.out"); console: $(grep -aoE 'ENSO-DISK-[A-Z]+[^\r]*' "$log" 2>/dev/null | tr '\n' '|')" \
		eval '[ $rc -eq 0 ] && wait_for 60 more_in "$log" "$re" "${n:-0}"'
}

# What must fail: the guest runs on at A, nothing is left at B.
still_on_A() { # still_on_A WHAT
	local n
	n=$(last_in "$LOGA")
	check "migrate: $1: the guest runs on at A under its name" \
		"A's row '$(list_row $M)'; last tick $n; sender said: $(tail -n 4 "$TMP/out/$OUTF" | tr '\n' '|')" \
		eval 'listed $M && [[ $(list_row $M | awk "{print \$5}") == *[rb]* ]] && wait_for 60 ticks_past "$LOGA" "${n:-0}"'
	check "migrate: $1: nothing is left on B" "$(left_on_B)" \
		eval 'wait_for 45 nothing_on_B'
}

migrate_failures() {
	LOGA=$(conlog "$M--incoming")
	# A receiver killed as the stream starts: B's monitor removes what it
	# had built; A's QEMU sees the connection go and runs the guest on.
	OUTF=mig-kill.out
	listen_B
	in_ns "$MIG_NSA" "$xl" migrate -s "$SOCAT_RUNE" $M "$MIG_IPB" >"$TMP/out/$OUTF" 2>&1 &
	local sender=$! rpid=""
	if wait_for 60 eval '[ -n "$(qemusB)" ]'; then
		rpid=$(pgrep -f "$xl migrate-receive" | tr '\n' ' ')
		# shellcheck disable=SC2086 # pids
		kill -KILL $rpid 2>/dev/null
	fi
	wait $sender
	rc=$?
	diag "xl migrate, receiver $rpid killed: rc=$rc: $(tr '\n' '|' <"$TMP/out/$OUTF")"
	check "migrate: a receiver killed mid-stream: xl migrate fails and says it resumes" \
		"rc=$rc, receiver pid '$rpid': $(tr '\n' '|' <"$TMP/out/$OUTF")" \
		eval '[ -n "$rpid" ] && [ $rc -ne 0 ] && grep -q "resuming at sender" "$TMP/out/$OUTF"'
	still_on_A "a receiver killed mid-stream"

	# A stream cut short: the receiver sees 8 MiB of it and its end.
	OUTF=mig-cut.out
	RECV_FILTER="head -c 8388608"
	migrate_A_to_B $M "$OUTF"
	RECV_FILTER=
	check "migrate: a stream cut short: both ends fail, the receiver naming the stream" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/$OUTF"); receiver: $(tr '\n' '|' <"$TMP/out/recv-B.out")" \
		eval '[ $rc -ne 0 ] && grep -q "Migration failed, resuming at sender." "$TMP/out/$OUTF" &&
			grep -q "cut short or corrupt" "$TMP/out/recv-B.out"'
	still_on_A "a stream cut short"

	# A config the destination cannot satisfy: its disk is not there.
	OUTF=mig-cfg.out
	sed "s|$TMP/disk-mig.img|$TMP/no-such-disk.img|" "$TMP/$M.cfg" >"$TMP/mig-nodisk.cfg"
	migrate_A_to_B $M "$OUTF" -C "$TMP/mig-nodisk.cfg"
	check "migrate: a config B cannot satisfy (-C, disk missing): refused, naming the disk" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/$OUTF"); receiver: $(tr '\n' '|' <"$TMP/out/recv-B.out")" \
		eval '[ $rc -ne 0 ] && grep -q "no-such-disk.img" "$TMP/out/recv-B.out" &&
			grep -q "Domain creation failed" "$TMP/out/recv-B.out"'
	still_on_A "a config B cannot satisfy"

	# The whole guest received, but B cannot start it (a domain of its
	# name is there already, so the rename back fails): B reports the
	# failure, destroys its copy and gives the guest back; A renames its
	# copy back and resumes it from QEMU's postmigrate state.
	OUTF=mig-taken.out
	sed -e "/^disk/d" -e "s/^memory = .*/memory = 64/" -e "s/^maxmem = .*/maxmem = 64/" \
		"$TMP/$M.cfg" >"$TMP/mig-squat.cfg"
	onB "$xl" create -p "$TMP/mig-squat.cfg" >"$TMP/out/create-squat.out" 2>&1
	local squat
	squat=$(domidB $M)
	migrate_A_to_B $M "$OUTF"
	check "migrate: B cannot start it (its name taken there): the target reports it, A takes the guest back" \
		"squatter on B: '$squat' ($(tr '\n' '|' <"$TMP/out/create-squat.out")); rc=$rc: $(tr '\n' '|' <"$TMP/out/$OUTF"); receiver: $(tr '\n' '|' <"$TMP/out/recv-B.out")" \
		eval '[ -n "$squat" ] && [ $rc -ne 0 ] &&
			grep -q "^migration sender: Target reports startup failure" "$TMP/out/$OUTF" &&
			grep -qx "migration sender: Resumed OK." "$TMP/out/$OUTF" &&
			grep -qx "Migration failed due to problems at target." "$TMP/out/$OUTF" &&
			grep -qx "migration target: Cleanup OK, granting sender permission to resume." "$TMP/out/recv-B.out"'
	check "migrate: after a failed start at B, A's copy runs again under its name" \
		"A's row '$(list_row $M)'; A's list: $("$xl" list 2>/dev/null | awk 'NR > 1 {print $1}' | tr '\n' ' ')" \
		eval 'listed $M && ! listed "$M--migratedaway" && n=$(last_in "$LOGA") && wait_for 60 ticks_past "$LOGA" "${n:-0}"'
	check "migrate: after a failed start at B, B keeps only its own domain" \
		"B's list: $(onB "$xl" list 2>/dev/null | awk 'NR > 1 {print $1}' | tr '\n' ' '); $(left_on_B)" \
		eval 'wait_for 20 eval "[ \"\$(idsB)\" = \"$squat \" ]" && ! listedB "$M--incoming"'
	onB "$xl" destroy "$squat" >/dev/null 2>&1

	# Garbage to migrate-receive: refused before anything is built.
	head -c 4096 /dev/urandom | onB "$xl" migrate-receive >/dev/null 2>"$TMP/out/recv-garbage.out"
	rc=$?
	check "migrate: migrate-receive of garbage: refused (wrong magic), nothing built" \
		"rc=$rc: $(tr '\n' '|' <"$TMP/out/recv-garbage.out"); $(left_on_B)" \
		eval '[ $rc -ne 0 ] && grep -q "wrong magic" "$TMP/out/recv-garbage.out" && nothing_on_B'

	# -s "": the host argument is the whole command (here B's receiver
	# over a pipe, asked for -p: the guest arrives paused).
	local n rowp
	n=$(last_in "$LOGA")
	"$xl" migrate -s "" $M "ip netns exec $MIG_NSB env XENSTORED_PATH=$BT/xs.sock ENSO_RUNDIR=$BT/run ENSO_LIBDIR=$BT/lib ENSO_LOGDIR=$BT/log $xl migrate-receive -p" \
		>"$TMP/out/mig-pipe.out" 2>&1
	rc=$?
	diag "xl migrate -s '' (a pipe to B, -p): rc=$rc: $(tr '\n' '|' <"$TMP/out/mig-pipe.out")"
	rowp=$(rowB $M)
	check "migrate: -s \"\" runs the host argument as the command; with the receiver's -p the guest arrives paused" \
		"rc=$rc; B's row '$rowp': $(tr '\n' '|' <"$TMP/out/mig-pipe.out")" \
		eval '[ $rc -eq 0 ] && not_listed $M && [[ $(echo "$rowp" | awk "{print \$5}") == *p* ]]'
	onB "$xl" unpause $M >/dev/null 2>&1
	check "migrate: unpaused on B, its ticks go on past $n" \
		"B's console: $(tail -c 200 "$(conlogB "$M--incoming")" 2>/dev/null | tr -d '\r' | tr '\n' '|')" \
		eval 'wait_for 60 ticks_past "$(conlogB "$M--incoming")" "${n:-0}"'
	onB "$xl" destroy $M >/dev/null 2>&1
	"$xl" destroy $M >/dev/null 2>&1
}
