#!/bin/bash
# Drives Debian's xenstore-utils against a running xenstored whose socket is
# in XENSTORED_PATH.  Prints one line per check: "ok - NAME" or
# "not ok - NAME: WHY"; exits non-zero if any check failed.
# The sh -c snippets below are single-quoted on purpose.
# shellcheck disable=SC2016
set -u

failed=0
ok() { echo "ok - utils: $1"; }
notok() { echo "not ok - utils: $1: $2"; failed=$((failed + 1)); }
# check NAME WHY CMD...: runs CMD, ok when it succeeds
check() {
	local name=$1 why=$2
	shift 2
	if "$@"; then ok "$name"; else notok "$name" "$why"; fi
}
one_line() { printf '%s' "$1" | tr '\n' '|' | cut -c1-300; }

if [ -z "${XENSTORED_PATH:-}" ]; then
	echo "not ok - utils: XENSTORED_PATH is not set"
	exit 1
fi
if ! command -v xenstore-write >/dev/null 2>&1; then
	echo "not ok - host: xenstore-utils missing (apt-get install xenstore-utils)"
	exit 1
fi
export XENSTORED_PATH
T=${TMPDIR:-/tmp}/xsutils.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
B=/utils

xenstore-rm "$B" >/dev/null 2>&1

# write / read
if out=$(xenstore-write $B/a one $B/b "two words" 2>&1); then
	ok "xenstore-write of two keys"
else
	notok "xenstore-write of two keys" "exit $?: $(one_line "$out")"
fi
out=$(xenstore-read $B/a 2>&1)
check "xenstore-read returns the value" "got '$(one_line "$out")'" \
	test "$out" = one
out=$(xenstore-read $B/a $B/b 2>&1)
check "xenstore-read of two keys" "got '$(one_line "$out")'" \
	test "$out" = "one
two words"
out=$(xenstore-read -p $B/b 2>&1)
check "xenstore-read -p prefixes the path" "got '$(one_line "$out")'" \
	test "$out" = "$B/b: two words"
out=$(xenstore-read $B/missing 2>&1)
rc=$?
check "xenstore-read of a missing key fails" "exit $rc: $(one_line "$out")" \
	test $rc -ne 0
xenstore-write $B/deep/er/node v >/dev/null 2>&1
out=$(xenstore-read $B/deep/er 2>&1)
check "xenstore-write creates parents (empty value)" \
	"got '$(one_line "$out")' exit $?" test "$out" = ""

# exists
check "xenstore-exists of a key succeeds" "exit non-zero" \
	xenstore-exists $B/a
xenstore-exists $B/missing >/dev/null 2>&1
rc=$?
check "xenstore-exists of a missing key fails" "exit $rc" test $rc -ne 0

# list / ls
out=$(xenstore-list $B 2>&1 | sort)
check "xenstore-list lists the children" "got '$(one_line "$out")'" \
	test "$out" = "a
b
deep"
out=$(xenstore-list $B/a 2>&1)
check "xenstore-list of a leaf is empty" "got '$(one_line "$out")'" \
	test -z "$out"
out=$(xenstore-ls -f $B 2>&1 | sort)
want="$B/a = \"one\"
$B/b = \"two words\"
$B/deep = \"\"
$B/deep/er = \"\"
$B/deep/er/node = \"v\""
check "xenstore-ls -f shows the tree with values" \
	"got '$(one_line "$out")'" test "$out" = "$want"
out=$(xenstore-ls $B/deep 2>&1)
want="er = \"\"
 node = \"v\""
check "xenstore-ls indents children" "got '$(one_line "$out")'" \
	test "$out" = "$want"

# chmod
xenstore-write $B/p/x 1 $B/p/y 2 >/dev/null 2>&1
if out=$(xenstore-chmod $B/p/x n0 r3 2>&1); then
	out=$(xenstore-ls -p $B/p 2>&1)
	check "xenstore-chmod sets permissions (seen by ls -p)" \
		"got '$(one_line "$out")'" \
		sh -c 'printf "%s\n" "$1" | grep "^x = " | grep -q "n0,r3"' \
		_ "$out"
else
	notok "xenstore-chmod sets permissions (seen by ls -p)" \
		"chmod failed: $(one_line "$out")"
fi
if out=$(xenstore-chmod -r $B/p b0 r7 2>&1); then
	out=$(xenstore-ls -p $B/p 2>&1)
	check "xenstore-chmod -r applies to the children" \
		"got '$(one_line "$out")'" \
		sh -c 'test "$(printf "%s\n" "$1" | grep -c "b0,r7")" -eq 2' \
		_ "$out"
else
	notok "xenstore-chmod -r applies to the children" \
		"chmod failed: $(one_line "$out")"
fi
out=$(xenstore-chmod $B/missing n0 2>&1)
rc=$?
check "xenstore-chmod of a missing key fails" "exit $rc" test $rc -ne 0

# rm
check "xenstore-rm succeeds" "exit non-zero" xenstore-rm $B/a
xenstore-exists $B/a >/dev/null 2>&1
rc=$?
check "xenstore-rm removes the key" "still exists" test $rc -ne 0
xenstore-rm $B/deep >/dev/null 2>&1
xenstore-exists $B/deep/er/node >/dev/null 2>&1
rc=$?
check "xenstore-rm is recursive" "child still exists" test $rc -ne 0
out=$(xenstore-rm $B/not-there 2>&1)
rc=$?
check "xenstore-rm of a missing key (parent exists) succeeds" \
	"exit $rc: $(one_line "$out")" test $rc -eq 0

# invalid path
out=$(xenstore-write "$B/bad path" x 2>&1)
rc=$?
check "xenstore-write of an invalid path fails" "exit $rc" test $rc -ne 0

# watch: initial event, then one for a child write, then exit (-n 2)
xenstore-write $B/w "" >/dev/null 2>&1
timeout 10 xenstore-watch -n 2 $B/w >"$T/watch.out" 2>"$T/watch.err" &
wpid=$!
i=0
while [ $i -lt 100 ] && ! grep -q . "$T/watch.out" 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
first=$(head -n1 "$T/watch.out")
check "xenstore-watch prints the initial event" \
	"got '$(one_line "$(cat "$T/watch.out" "$T/watch.err")")'" \
	sh -c 'test "${1%% *}" = "$2"' _ "$first" "$B/w"
xenstore-write $B/w/child c >/dev/null 2>&1
wait $wpid
rc=$?
second=$(sed -n 2p "$T/watch.out")
check "xenstore-watch -n 2 sees the child write and exits" \
	"exit $rc, output '$(one_line "$(cat "$T/watch.out")")'" \
	sh -c 'test "$3" -eq 0 && test "${1%% *}" = "$2"' _ "$second" \
	"$B/w/child" "$rc"

timeout 10 xenstore-watch -n 2 $B/w2 >"$T/watch2.out" 2>&1 &
wpid=$!
i=0
while [ $i -lt 100 ] && ! grep -q . "$T/watch2.out" 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
xenstore-write $B/w2x sibling >/dev/null 2>&1
xenstore-write $B/w2/real r >/dev/null 2>&1
wait $wpid
second=$(sed -n 2p "$T/watch2.out")
check "xenstore-watch ignores a sibling with a common prefix" \
	"output '$(one_line "$(cat "$T/watch2.out")")'" \
	sh -c 'test "${1%% *}" = "$2"' _ "$second" "$B/w2/real"

xenstore-rm $B >/dev/null 2>&1
xenstore-exists $B >/dev/null 2>&1
rc=$?
check "cleanup: xenstore-rm of the test tree" "still exists" test $rc -ne 0

[ $failed -eq 0 ]
