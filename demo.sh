#!/usr/bin/env bash
# Enso's main job, on a fresh Debian 12 machine, as root:
#
#   sudo ./demo.sh          install what is needed, build, install Enso to
#                           /usr/local, start xenstored, build a small guest
#                           (Debian's kernel + busybox), boot it with this
#                           host's best hypervisor, show its console and
#                           `xl list`
#   sudo ./demo.sh --stop   destroy the demo domain and stop xenstored
#   sudo ./demo.sh --xen    the same demo on real Xen: boots the Xen rig
#                           (Xen 4.17 + a Linux dom0 under QEMU) where
#                           Enso's xenstored, consoled and xl run a PV guest
#
# The hypervisor: KVM where /dev/kvm runs guests, else QEMU's TCG (said).
set -euo pipefail
root=$(cd "$(dirname "$0")" && pwd)
name=enso-demo
export XENSTORED_PATH=/var/run/xenstored/socket
xl=/usr/local/sbin/xl

say() { printf '\n== %s\n' "$*"; }

if [ "${1:-}" = "--stop" ]; then
	"$xl" destroy "$name" 2>/dev/null && echo "destroyed $name" || true
	if [ -s /var/run/enso/monitor.pid ]; then
		kill "$(cat /var/run/enso/monitor.pid)" 2>/dev/null && echo "stopped the domain monitor" || true
	fi
	if [ -f /var/run/enso-xenstored.pid ]; then
		kill "$(cat /var/run/enso-xenstored.pid)" 2>/dev/null || true
		rm -f /var/run/enso-xenstored.pid
		echo "stopped xenstored"
	fi
	exit 0
fi
[ "$(id -u)" = 0 ] || { echo "demo.sh: run as root (it installs packages and runs VMs)" >&2; exit 1; }

xen=0
[ "${1:-}" = "--xen" ] && xen=1
say "installing Debian packages (scripts/deps.sh $([ $xen = 1 ] && echo test || echo demo))"
"$root/scripts/deps.sh" "$([ $xen = 1 ] && echo test || echo demo)"

say "building Enso (build/) and installing it to /usr/local"
cd "$root"
if [ -f config.status ]; then
	echo "demo.sh: the source tree is configured in place; run 'make distclean' first" >&2
	exit 1
fi
[ -x configure ] || autoreconf -fi >/dev/null
mkdir -p build && cd build
[ -f Makefile ] || ../configure -q
make -s -j"$(nproc)" >/dev/null
make -s install >/dev/null
ldconfig
cd "$root"

if [ $xen = 1 ]; then
	say "booting the Xen rig with Enso's stack in dom0 (about a minute)"
	rm -rf build/demo-destdir
	make -s -C build install DESTDIR="$root/build/demo-destdir" >/dev/null
	rc=0
	RIG_SCENARIO_DIR="$root/scripts/demo-rig" ENSO_DESTDIR="$root/build/demo-destdir" \
		"$root/tests/rig/boot.sh" || rc=$?
	tr -d '\r' <"$root/tests/rig/out/serial.log" | grep -E '^(--- demo|  \|)'
	echo
	echo "The whole serial console (Xen, dom0, the demo): tests/rig/out/serial.log"
	exit $rc
fi
if grep -qs control_d /proc/xen/capabilities; then
	echo "demo.sh: this is a Xen dom0: the demo below runs on KVM/TCG only;" >&2
	echo "start Enso's xenstored and consoled, then 'xl create' your PV guest." >&2
	exit 1
fi

say "starting xenstored ($XENSTORED_PATH)"
if xenstore-read /local/domain/0/name >/dev/null 2>&1; then
	echo "already running"
else
	/usr/local/sbin/xenstored --pid-file /var/run/enso-xenstored.pid
	echo "xenstored is serving (pid $(cat /var/run/enso-xenstored.pid))"
fi

say "building the guest: Debian's kernel (downloaded, not installed) + busybox"
"$root/scripts/guest-image.sh" /var/lib/enso/demo-guest >/dev/null
truncate -s 16M /var/lib/enso/demo-guest/disk.img
cat >/var/lib/enso/demo-guest/demo.cfg <<EOF
name = "$name"
memory = 256
vcpus = 1
kernel = "/var/lib/enso/demo-guest/vmlinuz"
ramdisk = "/var/lib/enso/demo-guest/initrd.gz"
extra = "console=hvc0 quiet"
disk = [ 'format=raw, vdev=xvda, access=rw, target=/var/lib/enso/demo-guest/disk.img' ]
on_crash = "destroy"
EOF

if "$xl" domid "$name" >/dev/null 2>&1; then
	say "an earlier demo domain is still there: destroying it"
	"$xl" destroy "$name"
fi
log=/var/log/enso/console/$name.log
# Console logs are appended to, as upstream's are: show only this boot's.
rm -f "$log"
say "xl create /var/lib/enso/demo-guest/demo.cfg"
"$xl" create /var/lib/enso/demo-guest/demo.cfg

say "the guest's console ($log), until it has booted"
for _ in $(seq 1 120); do
	grep -qs 'ENSO-TICK n=2' "$log" && break
	sleep 1
done
tr -d '\r' <"$log" | grep -E 'ENSO|Linux version' | tail -n 8

say "xl list"
"$xl" list

cat <<EOM

The demo domain '$name' runs under Enso ($( "$xl" info | sed -n 's/^hypervisor *: //p')).
  attach to its console:   $xl console $name      (Ctrl-] detaches)
  balloon it:              $xl mem-set $name 128m
  stop it gently:          $xl shutdown -w $name
  stop everything:         sudo ./demo.sh --stop
EOM
