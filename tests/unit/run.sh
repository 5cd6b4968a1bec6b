#!/usr/bin/env bash
# Runs every built tests/unit/test_* program (cmocka, TAP output) and prints
# one line per test in the form of tests/README.md:
#
#   ok - unit/<module>: <test>
#   not ok - unit/<module>: <test>: <cmocka's reason>
#
#   tests/unit/run.sh [BUILD_DIR]     (default: the source tree itself)
#
# A program that dies, hangs or stops early is a failure of its own:
#   not ok - unit: test_x crashed (signal N)
# Everything else the programs print (daemon log lines) goes to stderr.
# Exits 0 only if every test passed.
set -u

here=$(cd "$(dirname "$0")" && pwd)
build=${1:-$(cd "$here/../.." && pwd)}
dir="$build/tests/unit"
limit=${UNIT_TIMEOUT:-300}

bins=()
for f in "$dir"/test_*; do
	case "${f##*/}" in *.*) continue ;; esac	# sources, objects
	[ -f "$f" ] && [ -x "$f" ] && bins+=("$f")
done
if [ ${#bins[@]} = 0 ]; then
	echo "not ok - unit: no test programs in $dir (build them: make check TESTS=)"
	exit 1
fi

have_timeout=0
command -v timeout >/dev/null && have_timeout=1
have_stdbuf=0
command -v stdbuf >/dev/null && have_stdbuf=1

# cmocka TAP -> README lines; "# ..." lines after a "not ok" (and stray
# lines before it) become its reason.
read -r -d '' tap2lines <<'AWK'
function flush() {
	if (pend != "") {
		print pend (why != "" ? ": " why : "")
		fflush()
	}
	pend = ""; why = ""
}
function add(s, t) { return s == "" ? t : s "; " t }
/^1\.\.[0-9]+/ { next }
/^(ok|not ok) [0-9]+ - / {
	flush()
	name = $0
	sub(/^(ok|not ok) [0-9]+ - /, "", name)
	if ($1 == "ok") {
		print "ok - unit/" suite ": " name
		fflush()
	} else {
		pend = "not ok - unit/" suite ": " name
		why = pre
	}
	pre = ""
	next
}
/^# (not )?ok - / { next }
/^# / {
	if (pend != "")
		why = add(why, substr($0, 3))
	next
}
{
	print > "/dev/stderr"
	if ($0 != "")
		pre = add(pre, $0)
}
END { flush() }
AWK

status=0
for b in "${bins[@]}"; do
	name=$(basename "$b")
	suite=${name#test_}
	out=$(mktemp)
	wrap=()
	[ $have_timeout = 1 ] && wrap+=(timeout "$limit")
	# Line-buffered, so cmocka's messages on stderr stay next to their
	# test; not under ASan, which must come first (stdbuf preloads).
	if [ $have_stdbuf = 1 ] && ! ldd "$b" 2>/dev/null | grep -q 'lib[a-z]*san'; then
		wrap+=(stdbuf -oL -eL)
	fi
	CMOCKA_MESSAGE_OUTPUT=TAP "${wrap[@]}" "$b" >"$out" 2>&1
	rc=$?
	# A sanitizer's verdict, if it gave one.
	san=$(grep -m 1 -E 'ERROR: [A-Za-z]+Sanitizer|runtime error:' "$out")
	san=${san:+: $san}
	awk -v suite="$suite" "$tap2lines" "$out"
	plan=$(sed -n 's/^1\.\.\([0-9][0-9]*\).*/\1/p' "$out" | head -n 1)
	ran=$(grep -cE '^(ok|not ok) [0-9]+ - ' "$out")
	failed=0
	grep -qE '^not ok [0-9]+ - ' "$out" && failed=1 status=1
	if [ "$rc" = 124 ] && [ $have_timeout = 1 ]; then
		echo "not ok - unit: $name timed out after ${limit}s"
		status=1
	elif [ "$rc" -ge 128 ]; then
		echo "not ok - unit: $name crashed (signal $((rc - 128)))$san"
		status=1
	elif [ -z "$plan" ] || [ "$ran" -lt "$plan" ]; then
		echo "not ok - unit: $name stopped after $ran of ${plan:-?} tests (exit $rc)$san"
		status=1
	elif [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
		echo "not ok - unit: $name exited $rc with every test passing$san"
		status=1
	fi
	rm -f "$out"
done
exit $status
