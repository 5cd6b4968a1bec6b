#!/usr/bin/env bash
# Upstream's own libxenstore test client (xen-utils-4.17's test-xenstore)
# against Enso's daemon: an interoperability peer, never linked.  One check
# per upstream test case.  XENSTORED_PATH names the daemon's socket.
set -uo pipefail
tx=/usr/lib/xen-4.17/bin/test-xenstore
if [ ! -x "$tx" ]; then
	echo "not ok - upstream test-xenstore: $tx missing (apt-get install xen-utils-4.17)"
	exit 1
fi
rc=0
# "read 2000 : Read node with 2000 bytes data" -> "read 2000"
while IFS= read -r t; do
	if out=$(timeout 60 "$tx" -t "$t" 2>&1); then
		echo "ok - upstream test-xenstore: $t"
	else
		echo "not ok - upstream test-xenstore: $t: $(echo "$out" | tail -1)"
		rc=1
	fi
done < <("$tx" -l 2>/dev/null | sed -n 's/^\(.*[^ ]\) *:.*/\1/p')
exit $rc
