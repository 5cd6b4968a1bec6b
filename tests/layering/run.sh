#!/usr/bin/env bash
# The seam between libxl and its hypervisor backends, checked on the source
# tree (docs/design/layering.md).  One line per rule, in the form of
# tests/README.md:
#
#   tests/layering/run.sh [SOURCE_DIR]     (default: this tree)
#
#   - a backend includes of libxl only libxl/services.h (and the public
#     enso/libxl.h), so the calls go one way: libxl -> backend;
#   - one backend includes nothing of another;
#   - libxl never asks which hypervisor it runs on: ENSO_HV_* appears only
#     in ctx.c, which chooses the backend and names it;
#   - no file of backends/ is over 650 lines (one concern per file);
#   - xenbus/ (the device-backend core), blkback/ and netback/ (engines on
#     it), consoled/ (on its transport) and hotplug/ (host plumbing) include
#     nothing of libxl/ or backends/,
#     and none of their files is over 600 lines; blkback/, netback/ and consoled/
#     reach the core only through xenbus.h.
set -u
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
cd "$root" || exit 1
failed=0

check() {	# NAME WHAT-WAS-FOUND
	if [ -z "$2" ]; then
		echo "ok - layering: $1"
	else
		echo "not ok - layering: $1: $(echo "$2" | head -5 | tr '\n' ';' | sed 's/;$//')"
		failed=1
	fi
}

found=$(grep -nE '#include[[:space:]]+"libxl/' backends/*.h backends/*/*.[ch] |
	grep -v '"libxl/services.h"')
check "backends include of libxl only libxl/services.h" "$found"

found=$(for b in backends/*/; do
	b=${b%/}; b=${b#backends/}
	grep -nE '#include[[:space:]]+"backends/' backends/"$b"/*.[ch] |
		grep -vE "\"backends/($b/|backend\.h)"
done)
check "no backend includes another backend's files" "$found"

found=$(grep -nE '\bENSO_HV_(XEN|KVM|TCG)\b' libxl/*.c | grep -v '^libxl/ctx\.c:')
check "libxl has no branch on the hypervisor outside ctx.c (ops flags say what differs)" "$found"

found=$(for f in backends/*.h backends/*/*.[ch]; do
	n=$(wc -l <"$f")
	[ "$n" -le 650 ] || echo "$f: $n lines"
done)
check "no file of backends/ is over 650 lines" "$found"

# The device-backend core and the engines on it: below libxl, small files.
for d in xenbus blkback netback consoled hotplug; do
	found=$(grep -nE '#include[[:space:]]+[<"](enso/|libxl|backends/)' $d/*.[ch])
	check "$d/ includes nothing of libxl/ or backends/ (calls go one way)" "$found"
	found=$(for f in $d/*.[ch]; do
		n=$(wc -l <"$f")
		[ "$n" -le 600 ] || echo "$f: $n lines"
	done)
	check "no file of $d/ is over 600 lines" "$found"
done

for d in blkback netback consoled; do
	found=$(grep -nE '#include[[:space:]]+"xenbus/' $d/*.[ch] | grep -v '"xenbus/xenbus.h"')
	check "$d/ sees the xenbus core only through xenbus/xenbus.h" "$found"
done

exit $failed
