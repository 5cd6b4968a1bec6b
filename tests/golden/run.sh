#!/usr/bin/env bash
# Golden tests of Enso's config core (libxl/): tests/golden/run.sh BUILD_DIR
#
#   good/NAME.cfg  -> cfgcheck prints exactly good/NAME.json (exit 0), and
#                     the JSON survives from_json -> to_json unchanged
#   bad/NAME.cfg   -> cfgcheck prints exactly bad/NAME.err (exit 1)
#   NAME.args      (optional) KEY=VALUE overrides, one a line
#   golden-xl      xl block-/network-attach/-list/-detach, save, restore: what
#                  they refuse before reaching xenstored (usage, a bad disk
#                  spec or DevId, every malformed save file header)
#   robustness     garbage (NUL-free, so that the parser reads it: the error
#                  must name a line), truncated files, deep nesting, a 10 MB
#                  line, malformed JSON: a clear error, never a crash
#
# One "ok - ..." / "not ok - ...: why" line per check (tests/README.md).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: tests/golden/run.sh BUILD_DIR}
check="$build/tests/golden/cfgcheck"
if [ ! -x "$check" ]; then
	echo "not ok - golden: $check is not built (make check TESTS=)"
	exit 1
fi
# libtool wrapper scripts work from any directory; keep an absolute path
check=$(cd "$(dirname "$check")" && pwd)/$(basename "$check")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failed=0

say_ok() { echo "ok - $1"; }
say_fail() { echo "not ok - $1"; failed=1; }

# The first few lines of a diff, on one line.
short_diff() {
	diff -u "$1" "$2" | sed -n '4,$p' | grep '^[-+]' | head -4 |
		tr '\n' '|' | sed 's/|$//; s/|/ | /g'
}

read_args() {
	args=()
	if [ -f "$1" ]; then
		while IFS= read -r line || [ -n "$line" ]; do
			[ -n "$line" ] && args+=("$line")
		done <"$1"
	fi
}

# ---- good configs --------------------------------------------------------
for cfg in "$here"/good/*.cfg; do
	name=$(basename "$cfg" .cfg)
	read_args "$here/good/$name.args"
	(cd "$here/good" && "$check" "$name.cfg" "${args[@]}") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ ! -f "$here/good/$name.json" ]; then
		say_fail "golden: $name: no good/$name.json"
	elif [ $rc -ne 0 ]; then
		say_fail "golden: $name: exit $rc: $(head -c 300 "$tmp/out" "$tmp/err" | tr '\n' ' ')"
	elif ! cmp -s "$tmp/out" "$here/good/$name.json"; then
		say_fail "golden: $name: diff: $(short_diff "$here/good/$name.json" "$tmp/out")"
	else
		say_ok "golden: $name"
	fi
	(cd "$here/good" && "$check" --roundtrip "$name.cfg" "${args[@]}") >"$tmp/out" 2>&1
	rc=$?
	if [ $rc -eq 0 ]; then
		say_ok "golden-roundtrip: $name"
	else
		say_fail "golden-roundtrip: $name: exit $rc: $(head -3 "$tmp/out" | tr '\n' ' ')"
	fi
	# JSON in, JSON out: the printed JSON reads back to itself
	if [ -f "$here/good/$name.json" ]; then
		"$check" --json "$here/good/$name.json" >"$tmp/out" 2>&1
		if cmp -s "$tmp/out" "$here/good/$name.json"; then
			say_ok "golden-json: $name"
		else
			say_fail "golden-json: $name: diff: $(short_diff "$here/good/$name.json" "$tmp/out")"
		fi
	fi
done

# ---- bad configs ---------------------------------------------------------
for cfg in "$here"/bad/*.cfg; do
	name=$(basename "$cfg" .cfg)
	read_args "$here/bad/$name.args"
	(cd "$here/bad" && "$check" "$name.cfg" "${args[@]}") >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ ! -f "$here/bad/$name.err" ]; then
		say_fail "golden-bad: $name: no bad/$name.err"
	elif [ $rc -ne 1 ]; then
		say_fail "golden-bad: $name: exit $rc, wanted 1: $(head -c 300 "$tmp/out" | tr '\n' ' ')"
	elif ! cmp -s "$tmp/out" "$here/bad/$name.err"; then
		say_fail "golden-bad: $name: diff: $(short_diff "$here/bad/$name.err" "$tmp/out")"
	else
		say_ok "golden-bad: $name"
	fi
done

# ---- xl.conf --------------------------------------------------------------
for conf in "$here"/xlconf/*.conf; do
	[ -e "$conf" ] || continue
	name=$(basename "$conf" .conf)
	(cd "$here/xlconf" && "$check" --xl-conf "$name.conf") >"$tmp/out" 2>&1
	if cmp -s "$tmp/out" "$here/xlconf/$name.out"; then
		say_ok "golden-xlconf: $name"
	else
		say_fail "golden-xlconf: $name: diff: $(short_diff "$here/xlconf/$name.out" "$tmp/out")"
	fi
done

# ---- vdev numbers (xen-vbd-interface(7)) ----------------------------------
while read -r vdev want; do
	got=$("$check" --vdev "$vdev" 2>&1)
	if [ "$got" = "$want" ]; then
		say_ok "golden-vdev: $vdev = $want"
	else
		say_fail "golden-vdev: $vdev: got '$got', wanted '$want'"
	fi
done <<'EOT'
xvda 51712
xvda1 51713
xvdb 51728
xvdp15 51967
xvdq 268439552
xvdaa 268442112
xvdtq37 268572709
d0 51712
d1p2 51730
d536p37 268572709
hda 768
hdb1 833
hdc 5632
hdd63 5759
sda 2048
sdb3 2067
sdp15 2303
51920 51920
0xcaf0 51952
xvd xvd: not a vdev
hde hde: not a vdev
hda64 hda64: not a vdev
sdq sdq: not a vdev
xvda256 xvda256: not a vdev
xvdA xvdA: not a vdev
foo foo: not a vdev
0 0: not a vdev
d1048576 d1048576: not a vdev
EOT

# ---- xl block-attach, block-list, block-detach: argument checks ---------
# What they refuse before reaching xenstored: usage, the disk spec, the
# DevId.  XENSTORED_PATH names no socket, so a command that tried the
# store would say "cannot reach xenstored" instead and fail the check.
# What needs the store (the table, attach, detach) is not tested here.
xl="$build/xl/xl"
if [ ! -x "$xl" ]; then
	say_fail "golden-xl: $xl is not built"
else
	# xl_run ARGS...: $rc, $tmp/out, $tmp/err
	xl_run() {
		XENSTORED_PATH="$tmp/no-xenstored.sock" "$xl" "$@" \
			>"$tmp/out" 2>"$tmp/err"
		rc=$?
	}
	# xl_usage CMD ARGS...: the command's usage on stderr, exit 1
	xl_usage() {
		local cmd=$1
		shift
		xl_run "$cmd" "$@"
		if [ $rc -ne 1 ]; then
			say_fail "golden-xl: $cmd${*:+ $*}: usage: exit $rc, wanted 1"
		elif ! grep -q "^Usage: xl \[-v\] $cmd " "$tmp/err"; then
			say_fail "golden-xl: $cmd${*:+ $*}: usage: stderr: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
		else
			say_ok "golden-xl: $cmd${*:+ $*}: usage, exit 1"
		fi
	}
	# xl_says WANT-RC WANT-STDERR ARGS...: exactly that on stderr, nothing on stdout
	xl_says() {
		local want_rc=$1 want=$2
		shift 2
		xl_run "$@"
		if [ $rc -ne "$want_rc" ]; then
			say_fail "golden-xl: $*: exit $rc, wanted $want_rc: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
		elif [ "$(cat "$tmp/err")" != "$want" ] || [ -s "$tmp/out" ]; then
			say_fail "golden-xl: $*: stderr '$(head -c 200 "$tmp/err" | tr '\n' ' ')', wanted '$want'"
		else
			say_ok "golden-xl: $*: exit $want_rc${want:+, \"$want\"}"
		fi
	}
	xl_usage block-attach
	xl_usage block-attach 0
	xl_usage block-attach -x 0 /srv/d.img,raw,xvdb
	xl_usage block-list
	xl_usage block-list -x 0
	xl_usage block-detach
	xl_usage block-detach 0
	xl_usage block-detach 0 xvdb xvdc
	xl_usage block-detach -x 0 xvdb
	xl_says 1 "xl: block-attach: vdev 'notavdev' is not a virtual device name (xvda, hda, sda, d0p1 or a number)" \
		block-attach 0 vdev=notavdev,target=/srv/d.img
	xl_says 1 "xl: block-attach: unknown parameter 'colour'" \
		block-attach 0 vdev=xvdb colour=blue target=/srv/d.img
	xl_says 1 "xl: block-attach: vdev missing (the guest's name for the disk, e.g. xvda)" \
		block-attach 0 target=/srv/d.img,vdev=xvdb
	# the components of one spec, joined: -N checks it and attaches nothing
	xl_says 0 "" -N block-attach 0 /srv/d.img raw xvdb rw
	xl_says 1 "Error: Device notavdev not connected." block-detach 0 notavdev
	xl_says 1 "Error: Device xvd not connected." block-detach -f 0 xvd
	# network-attach, -list, -detach: the same before the store
	xl_usage network-attach
	xl_usage network-attach -x 0 bridge=xenbr0
	xl_usage network-list
	xl_usage network-list -x 0
	xl_usage network-detach
	xl_usage network-detach 0
	xl_usage network-detach 0 1 2
	xl_says 1 "xl: network-attach: unknown parameter 'colour'" \
		network-attach 0 bridge=xenbr0 colour=blue
	xl_says 1 "xl: network-attach: rate given twice" \
		network-attach 0 rate=1Mb/s rate=2Mb/s
	xl_says 0 "" -N network-attach 0 bridge=xenbr0 mac=00:16:3e:01:02:03 rate=10Mb/s

	# save and restore: the arguments, and every save file restore refuses
	# before it needs the host (it reads the whole header first).
	# xl_usage2 WANT-FIRST-LINE CMD ARGS...: upstream's "requires at least"
	# line, then the usage; exit 2.
	xl_usage2() {
		local first=$1 cmd=$2
		shift 2
		xl_run "$cmd" "$@"
		if [ $rc -ne 2 ]; then
			say_fail "golden-xl: $cmd${*:+ $*}: exit $rc, wanted 2"
		elif [ "$(head -n 1 "$tmp/err")" != "$first" ] ||
			! grep -q "^Usage: xl \[-v\] $cmd " "$tmp/err"; then
			say_fail "golden-xl: $cmd${*:+ $*}: stderr: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
		else
			say_ok "golden-xl: $cmd${*:+ $*}: \"$first\" and the usage, exit 2"
		fi
	}
	xl_usage2 "'xl save' requires at least 2 arguments." save
	xl_usage2 "'xl save' requires at least 2 arguments." save -c d1
	xl_usage save d1 f.save f.cfg extra
	xl_usage2 "'xl restore' requires at least 1 argument." restore
	xl_usage2 "'xl restore' requires at least 1 argument." restore -p
	xl_usage restore f.cfg f.save extra
	xl_run save -h
	if [ $rc -eq 0 ] && grep -qx "  -c  Leave domain running after creating the snapshot." "$tmp/err"; then
		say_ok "golden-xl: save -h: upstream's options, exit 0"
	else
		say_fail "golden-xl: save -h: exit $rc: $(head -c 300 "$tmp/err" | tr '\n' ' ')"
	fi
	xl_run restore -h
	if [ $rc -eq 0 ] && grep -qx "  -p  Do not unpause domain after restoring it." "$tmp/err"; then
		say_ok "golden-xl: restore -h: upstream's options, exit 0"
	else
		say_fail "golden-xl: restore -h: exit $rc: $(head -c 300 "$tmp/err" | tr '\n' ' ')"
	fi
	xl_says 1 "Can't open restore file: $tmp/none.save: No such file or directory" \
		restore "$tmp/none.save"
	# savefile NAME MAGIC BYTEORDER MANDATORY OPTLEN [OPTDATA]: a header
	# as printf writes it (u32s little-endian, as on this x86 host; MAGIC
	# and OPTDATA are printf formats, for their NULs).
	le32() { printf "\\x%02x\\x%02x\\x%02x\\x%02x" $(($1 & 255)) $(($1 >> 8 & 255)) $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
	savefile() {
		local f=$tmp/$1.save
		# shellcheck disable=SC2059
		{ printf "$2"; printf "$(le32 "$3")$(le32 "$4")$(le32 0)$(le32 "$5")"; printf "${6:-}"; } >"$f"
		echo "$f"
	}
	good_magic='Xen saved domain, xl format\n \0 \r'
	f=$(savefile magic 'Xen saved domain, xm format\n \0 \r' 0x01020304 1 0)
	xl_says 1 "$f: File has wrong magic number - corrupt or for a different tool?" restore "$f"
	f=$(savefile order "$good_magic" 0x04030201 1 0)
	xl_says 1 "$f: File has wrong byte order" restore "$f"
	head -c 40 "$f" >"$tmp/short.save"
	xl_says 1 "$tmp/short.save: file/stream truncated reading header" restore "$tmp/short.save"
	f=$(savefile flags "$good_magic" 0x01020304 5 0)
	xl_says 1 "Loading new save file $f (new xl fmt info 0x5/0x0/0)
$f: Savefile has mandatory flag(s) 0x4 which are not supported; need newer xl" restore "$f"
	f=$(savefile optdata "$good_magic" 0x01020304 1 64 'abc')
	xl_says 1 "Loading new save file $f (new xl fmt info 0x1/0x0/64)
$f: file/stream truncated reading optdata (64 bytes of optional data announced)" restore "$f"
	f=$(savefile cfglen "$good_magic" 0x01020304 1 6 '\x09\x00\x00\x00{}')
	xl_says 1 "Loading new save file $f (new xl fmt info 0x1/0x0/6)
$f: Savefile truncated." restore "$f"
	f=$(savefile nocfg "$good_magic" 0x01020304 0 0)
	xl_says 1 "Loading new save file $f (new xl fmt info 0x0/0x0/0)
Config file not specified and none in save file" restore "$f"
	f=$(savefile badjson "$good_magic" 0x01020304 1 9 '\x05\x00\x00\x00{"a":')
	xl_says 1 "Loading new save file $f (new xl fmt info 0x1/0x0/9)
 Savefile contains xl domain config in JSON format
Parsing config from <saved>
$f: the saved config: JSON: malformed: parse error: premature EOF" restore "$f"

	# migrate and migrate-receive: the arguments; the receiver says its
	# banner on stdout, then refuses a bad stream before it needs the
	# host, naming the stream.
	xl_usage2 "'xl migrate' requires at least 2 arguments." migrate
	xl_usage2 "'xl migrate' requires at least 2 arguments." migrate -s cat d1
	xl_usage migrate -x d1 host
	xl_usage migrate-receive extra
	xl_says 1 "xl migrate: -D (keep the domain id) is not supported: ids are each host's own" \
		migrate -D d1 host
	# recv_says NAME FILE WANT: xl migrate-receive <FILE, exit 1.
	recv_says() {
		"$xl" migrate-receive <"$2" >"$tmp/out" 2>"$tmp/err"
		rc=$?
		if [ $rc -ne 1 ]; then
			say_fail "golden-xl: migrate-receive of $1: exit $rc, wanted 1: $(head -c 200 "$tmp/err" | tr '\n' ' ')"
		elif [ "$(cat "$tmp/out")" != "xl migration receiver ready, send binary domain data." ]; then
			say_fail "golden-xl: migrate-receive of $1: stdout '$(head -c 100 "$tmp/out" | od -c | head -n 2 | tr '\n' ' ')', wanted upstream's banner"
		elif [ "$(cat "$tmp/err")" != "migration target: Ready to receive domain.
$3" ]; then
			say_fail "golden-xl: migrate-receive of $1: stderr '$(head -c 300 "$tmp/err" | tr '\n' '|')', wanted '$3'"
		else
			say_ok "golden-xl: migrate-receive of $1: the banner, then \"$(echo "$3" | tail -n 1)\""
		fi
	}
	recv_says "a wrong magic" "$tmp/magic.save" \
		"migration stream: File has wrong magic number - corrupt or for a different tool?"
	recv_says "a stream cut in its header" "$tmp/short.save" \
		"migration stream: file/stream truncated reading header"
	recv_says "an unknown mandatory flag" "$tmp/flags.save" \
		"Loading new save file migration stream (new xl fmt info 0x5/0x0/0)
migration stream: Savefile has mandatory flag(s) 0x4 which are not supported; need newer xl"
	recv_says "an empty stream" /dev/null \
		"migration stream: file/stream truncated reading header"
fi

# ---- robustness: a one-line error naming the file, or success; no crash --
# expect_error FILE NAME [cfgcheck options]: must exit 1 with one line
# that starts with the file's name (or "JSON:" for --json).
expect_error() {
	local file=$1 name=$2
	shift 2
	"$check" "$@" "$file" >"$tmp/out" 2>"$tmp/err"
	local rc=$? lines
	lines=$(wc -l <"$tmp/out")
	if [ $rc -ne 1 ]; then
		say_fail "golden-robust: $name: exit $rc (a crash is >= 128), wanted 1"
	elif [ "$lines" -ne 1 ]; then
		say_fail "golden-robust: $name: the error is $lines lines, wanted 1"
	elif ! grep -qE "^($(printf '%s' "$file" | sed 's/[.[\*^$/]/\\&/g')|JSON)" "$tmp/out"; then
		say_fail "golden-robust: $name: error does not name the input: $(head -c 200 "$tmp/out")"
	else
		say_ok "golden-robust: $name"
	fi
}

# expect_no_crash FILE NAME: exit 0 (valid) or 1 (a one-line error).
expect_no_crash() {
	"$check" "$1" >"$tmp/out" 2>"$tmp/err"
	local rc=$?
	if [ $rc -eq 0 ]; then
		return 0
	elif [ $rc -eq 1 ] && [ "$(wc -l <"$tmp/out")" -eq 1 ]; then
		return 0
	fi
	echo "$2: exit $rc: $(head -c 200 "$tmp/out")"
	return 1
}

cd "$tmp" || exit 1
for cfg in "$here"/bad/*.cfg; do
	name=$(basename "$cfg" .cfg)
	cp "$cfg" "bad-$name.cfg"
	[ -f "$here/bad/$name.args" ] && continue
	expect_error "bad-$name.cfg" "bad config $name"
done

# expect_parsed FILE NAME MINLINE: a one-line error "FILE:N: ..." with N at
# least MINLINE and not the NUL-byte refusal: the parser itself objected,
# after reading the lines before N.
expect_parsed() {
	local file=$1 name=$2 min=$3 rc line
	"$check" "$file" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	line=$(sed -n "1s/^$file:\([0-9][0-9]*\):.*/\1/p" "$tmp/out")
	if [ $rc -ne 1 ]; then
		say_fail "golden-robust: $name: exit $rc (a crash is >= 128), wanted 1"
	elif [ "$(wc -l <"$tmp/out")" -ne 1 ] || [ -z "$line" ]; then
		say_fail "golden-robust: $name: not one '$file:LINE:' error: $(head -c 200 "$tmp/out")"
	elif grep -q 'NUL byte' "$tmp/out"; then
		say_fail "golden-robust: $name: stopped at a NUL byte, never parsed"
	elif [ "$line" -lt "$min" ]; then
		say_fail "golden-robust: $name: error on line $line, wanted $min or later: $(head -c 200 "$tmp/out")"
	else
		say_ok "golden-robust: $name"
	fi
}

# Random bytes without NUL (a NUL is refused before any parsing).
nonul() { head -c $(($1 * 2)) /dev/urandom | tr -d '\0' | head -c "$1"; }
nonul 65536 >garbage.cfg
expect_parsed garbage.cfg "64 KiB of random bytes (no NUL)" 1
printf 'name = "x"\nmemory = 64\n# random bytes follow\n' | cat - garbage.cfg >garbage-late.cfg
expect_parsed garbage-late.cfg "random bytes after three good lines" 4
# random bytes inside strings, values and lists, line after line
for ((i = 0; i < 200; i++)); do
	printf 'extra_%d = "%s"\n' $i "$(nonul 64 | tr -d '"\\\n')"
	printf 'cmdline_%d = [ "%s", %s ]\n' $i "$(nonul 16 | tr -d '"\\\n')" \
		"$(nonul 8 | tr -d '\n')"
done >garbage-values.cfg
expect_no_crash garbage-values.cfg "random bytes in values" >"$tmp/why" &&
	say_ok "golden-robust: random bytes in values" ||
	say_fail "golden-robust: random bytes in values: $(head -1 "$tmp/why")"
# the NUL refusal itself, on random bytes that keep theirs
head -c 65536 /dev/urandom >garbage-nul.cfg
printf 'x\0' >>garbage-nul.cfg
expect_error garbage-nul.cfg "64 KiB of random bytes with NULs"
# printable garbage: no NUL bytes, so the scanner itself must object
head -c 65536 /dev/urandom | tr -dc 'a-z0-9=+[],;"#\n\t ' | head -c 20000 >garbage2.cfg
printf 'name="x"\n' | cat - garbage2.cfg >garbage3.cfg
expect_no_crash garbage2.cfg "printable garbage" >"$tmp/why" &&
	expect_no_crash garbage3.cfg "printable garbage after a name" >>"$tmp/why" &&
	say_ok "golden-robust: printable garbage" ||
	say_fail "golden-robust: printable garbage: $(head -1 "$tmp/why")"

printf 'name = "deep"\ndisk = ' >nest.cfg
head -c 100000 /dev/zero | tr '\0' '[' >>nest.cfg
expect_error nest.cfg "100000 nested ["

{ printf 'name = "'; head -c $((10 * 1024 * 1024)) /dev/zero | tr '\0' 'a'; printf '"\n'; } >long.cfg
expect_error long.cfg "a 10 MB line"

{ printf 'name = "a"\nextra = "'; head -c 900000 /dev/zero | tr '\0' 'b'; printf '"\n'; } >bigok.cfg
"$check" bigok.cfg >"$tmp/out" 2>&1
if [ $? -eq 0 ]; then
	say_ok "golden-robust: a 900 KB string is accepted"
else
	say_fail "golden-robust: a 900 KB string is accepted: $(head -c 200 "$tmp/out")"
fi

printf 'name = "x"\0memory = 1\n' >nul.cfg
expect_error nul.cfg "a NUL byte"

printf 'name = "\\xff\\xfe"\n' >utf8.cfg
expect_error utf8.cfg "a string that is not UTF-8"

printf 'name = "x"\n' >empty-dir.cfg
expect_error "$tmp" "a directory"
expect_error "$tmp/does-not-exist.cfg" "a missing file"

# every prefix of every good config: valid or a clear error, never a crash
why=""
for cfg in "$here"/good/*.cfg; do
	size=$(wc -c <"$cfg")
	for ((cut = 0; cut < size; cut += 11)); do
		head -c "$cut" "$cfg" >trunc.cfg
		if ! w=$(expect_no_crash trunc.cfg "$(basename "$cfg") cut at $cut"); then
			why=$w
			break 2
		fi
	done
done
if [ -z "$why" ]; then
	say_ok "golden-robust: truncated good configs"
else
	say_fail "golden-robust: truncated good configs: $why"
fi

# malformed JSON
first=$(ls "$here"/good/*.json | head -1)
head -c 200 "$first" >trunc.json
expect_error trunc.json "truncated JSON" --json
head -c 100000 /dev/zero | tr '\0' '[' >deep.json
expect_error deep.json "100000 nested JSON arrays" --json
printf '{"c_info": {"name": 5}}' >type.json
expect_error type.json "JSON with a wrong type" --json
printf '{"c_info": {"name": "a"}, "disks": [{"vdev": "nonsense", "pdev_path": "/x"}]}' >vdev.json
expect_error vdev.json "JSON with a bad vdev" --json
printf '[1, 2, 3]' >array.json
expect_error array.json "JSON that is not an object" --json
nonul 4096 >rand.json
expect_error rand.json "random bytes as JSON" --json

exit $failed
