#!/usr/bin/env bash
# Enso's main job, on a fresh Debian 12 machine, as root:
#   sudo ./demo.sh          install what is needed, build, install to
#                           /usr/local, start xenstored, show the store
#   sudo ./demo.sh --stop   stop the demo's xenstored
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
rundir=/var/run/enso-demo
sock=$rundir/socket

say() { printf '\n== %s\n' "$*"; }

if [ "${1:-}" = "--stop" ]; then
	if [ -f "$rundir/xenstored.pid" ]; then
		kill "$(cat "$rundir/xenstored.pid")" 2>/dev/null || true
		echo "stopped xenstored"
	fi
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it installs packages and daemons)" >&2; exit 1; }

say "installing Debian packages (scripts/deps.sh demo)"
"$root/scripts/deps.sh" demo

say "building Enso (build/) and installing it to /usr/local"
cd "$root"
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build && cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc)" >/dev/null
make -s install >/dev/null
cd "$root"

say "starting xenstored on $sock"
mkdir -p "$rundir"
if [ -f "$rundir/xenstored.pid" ] && kill -0 "$(cat "$rundir/xenstored.pid")" 2>/dev/null; then
	echo "already running (pid $(cat "$rundir/xenstored.pid"))"
else
	/usr/local/sbin/xenstored --socket "$sock" --pid-file "$rundir/xenstored.pid"
	echo "xenstored is serving (pid $(cat "$rundir/xenstored.pid"))"
fi
export XENSTORED_PATH=$sock

say "writing a domain's worth of entries with Debian's xenstore-utils"
xenstore-write /local/domain/1/name demo /local/domain/1/memory/target 131072 \
	/local/domain/1/control/shutdown "" /vm/demo/name demo
xenstore-chmod /local/domain/1 n0 r1

say "xenstore-ls -fp"
xenstore-ls -fp

cat <<EOM

The store is Enso's xenstored.  Try:
  XENSTORED_PATH=$sock xenstore-watch /local/domain   (then write from another shell)
  XENSTORED_PATH=$sock /usr/lib/xen-4.17/bin/xenstore-control memreport   (if xen-utils is installed)
Stop it with: sudo ./demo.sh --stop
EOM
