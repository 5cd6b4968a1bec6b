#!/bin/bash
# Build Enso's KVM test/demo guest from Debian's packages:
#
#   scripts/guest-image.sh OUTDIR
#
#   OUTDIR/vmlinuz    Debian's generic linux-image-6.1.0-*-amd64 kernel
#   OUTDIR/initrd.gz  busybox (static), the virtio/ACPI/pvpanic modules with
#                     their dependencies, and an /init (below)
#
# The kernel comes from the rig's cache (tests/rig/cache/, filled by
# tests/rig/fetch.sh, which is called when the cache is empty). Idempotent:
# when OUTDIR is up to date (same kernel, busybox and this script) it does
# nothing.
#
# What the guest's /init does, on the console (ttyS0):
#   - mounts proc, sys, devtmpfs; loads the modules in dependency order;
#   - prints  ENSO-GUEST-BOOTED
#   - with enso.net=ADDR/LEN,PEER: eth0 gets ADDR and pings PEER, printing
#       ENSO-NET-PING ok   (or ENSO-NET-PING fail: <ping's last lines>)
#   - starts busybox acpid: the ACPI power button (PWRF) runs `poweroff -f`,
#     so QMP system_powerdown (xl shutdown) powers the guest off;
#   - kernel command line words:
#       enso.bench=1   run /rig-bench, which a benchmark appended to the
#                      image (bench/kvm.sh --blk), instead of what follows
#       enso.crash=1   panic right after the boot marker (echo c > sysrq-trigger)
#       enso.reboot=1  `reboot -f` 2 s after the boot marker. With a disk it
#                      reboots once only: a marker written at 8 MiB into
#                      /dev/vda says it already did. Without a disk it
#                      reboots on every boot.
#   - if /dev/vda exists: writes 4 MiB of random data to its start (dd
#     conv=fsync), drops the caches, reads it back and prints
#       ENSO-DISK-WRITE md5=<written> readback=<read back>
#   - then prints every second forever
#       ENSO-TICK n=<n> memtotal=<MemTotal in kB> cpus=<online CPUs>
#     first saying each virtio disk plugged in or out since the last tick
#     (xl block-attach / block-detach):
#       ENSO-DISK-ADDED vd<X> serial=<serial> md5=<md5 of its first MiB>
#       ENSO-DISK-REMOVED vd<X>
#     first onlining any hot-added vCPU the kernel left offline (what a
#     udev rule does on a distribution; busybox has none), printing
#       ENSO-CPU-ONLINE cpu<N>
#     for each; cpus= counts the processors in /proc/cpuinfo (online ones).
set -euo pipefail

usage() { echo "usage: $0 OUTDIR" >&2; exit 2; }
die() { echo "guest-image: error: $*" >&2; exit 1; }
log() { echo "guest-image: $*" >&2; }

[ $# -eq 1 ] || usage
outdir=$1

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${RIG_CACHE:-$top/tests/rig/cache}
busybox=/bin/busybox

# Modules the guest loads (file names without .ko); dependencies are added
# from modules.dep. evdev gives the power button a /dev/input/event* that
# busybox acpid reads.
modules=(virtio_pci virtio_blk virtio_net virtio_balloon button evdev
	pvpanic-mmio pvpanic-pci)

# --- inputs -----------------------------------------------------------------
kver_of_cache() {
	[ -f "$cache/kernel-version" ] && cat "$cache/kernel-version"
}
kver=$(kver_of_cache || true)
if [ -z "$kver" ] || [ ! -s "$cache/linux/boot/vmlinuz-$kver" ] ||
	[ ! -f "$cache/linux/lib/modules/$kver/modules.dep" ]; then
	log "no kernel in $cache; fetching it (tests/rig/fetch.sh)"
	RIG_CACHE=$cache "$top/tests/rig/fetch.sh" || die "tests/rig/fetch.sh failed"
	kver=$(kver_of_cache || true)
fi
[ -n "$kver" ] || die "no kernel version in $cache/kernel-version after tests/rig/fetch.sh"
vmlinuz=$cache/linux/boot/vmlinuz-$kver
kmods=$cache/linux/lib/modules/$kver
[ -s "$vmlinuz" ] || die "$vmlinuz missing"
[ -f "$kmods/modules.dep" ] || die "$kmods/modules.dep missing (RIG_REFETCH=1 tests/rig/fetch.sh)"

[ -x "$busybox" ] || die "$busybox missing (apt-get install busybox-static)"
if ldd "$busybox" >/dev/null 2>&1; then
	die "$busybox is dynamically linked (apt-get install busybox-static)"
fi
command -v cpio >/dev/null || die "cpio missing (apt-get install cpio)"
command -v gzip >/dev/null || die "gzip missing"

# --- up to date? ------------------------------------------------------------
mkdir -p "$outdir"
stamp=$(
	{
		echo "$kver"
		stat -c '%s %Y' "$vmlinuz" "$kmods/modules.dep" "$busybox"
		cat "${BASH_SOURCE[0]}"
	} | sha256sum | cut -d' ' -f1
)
if [ -s "$outdir/vmlinuz" ] && [ -s "$outdir/initrd.gz" ] &&
	[ "$(cat "$outdir/.guest-image.stamp" 2>/dev/null)" = "$stamp" ]; then
	exit 0
fi

# --- module list in load order ------------------------------------------------
declare -A seen=()
order=()
# visit NAME: NAME's dependencies (from modules.dep), then NAME itself.
visit() {
	local name=$1 rel deps d i
	rel=$(grep -E "(^|/)$name\.ko:" "$kmods/modules.dep" | head -n1 | cut -d: -f1) || true
	[ -n "$rel" ] || die "kernel $kver has no module $name (or it is compressed)"
	[ -n "${seen[$rel]:-}" ] && return 0
	seen[$rel]=1
	deps=$(grep -E "^$rel:" "$kmods/modules.dep" | cut -d: -f2-)
	read -r -a d <<<"$deps"
	# modules.dep puts the module loaded first last.
	for ((i = ${#d[@]} - 1; i >= 0; i--)); do
		visit "$(basename "${d[$i]%.ko}")"
	done
	order+=("$rel")
}
for m in "${modules[@]}"; do visit "$m"; done

# --- the tree -----------------------------------------------------------------
work=$(mktemp -d "${TMPDIR:-/tmp}/enso-guest.XXXXXX")
trap 'rm -rf "$work"' EXIT
root=$work/root
mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,run,etc/acpi,lib/modules,root}
chmod 1777 "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list-full); do
	[ -e "$root/$applet" ] || ln -s /bin/busybox "$root/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
printf 'root:x:0:\n' >"$root/etc/group"

: >"$root/lib/modules/load-order"
for rel in "${order[@]}"; do
	cp "$kmods/$rel" "$root/lib/modules/$(basename "$rel")"
	basename "$rel" >>"$root/lib/modules/load-order"
done

# busybox acpid: the action file maps the event name to a program under the
# config directory (run from there).
printf 'PWRF power-button\n' >"$root/etc/acpid.conf"
cat >"$root/etc/acpi/power-button" <<'EOF'
#!/bin/sh
echo "ENSO-POWER-BUTTON" >/dev/console
sync
poweroff -f
EOF
chmod 755 "$root/etc/acpi/power-button"

cat >"$root/init" <<'EOF'
#!/bin/sh
# Enso's KVM test guest (scripts/guest-image.sh).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
exec </dev/console >/dev/console 2>&1

while read -r m; do
	insmod "/lib/modules/$m" || echo "enso-guest: insmod $m failed"
done </lib/modules/load-order

cmdline=$(cat /proc/cmdline)
has() { case " $cmdline " in *" $1 "*) return 0 ;; esac; return 1; }

echo "ENSO-GUEST-BOOTED"

# A benchmark's guest side, appended to this image as /rig-bench
# (bench/kvm.sh --blk).
if has enso.bench=1 && [ -f /rig-bench ]; then
	exec /bin/sh /rig-bench
fi

if has enso.crash=1; then
	echo "ENSO-CRASHING"
	echo c >/proc/sysrq-trigger
fi

# acpid opens the /dev/input/event* that exist when it starts: wait for them.
i=0
while [ ! -e /dev/input/event0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
acpid -c /etc/acpi -a /etc/acpid.conf -l /tmp/acpid.log -p /run/acpid.pid ||
	echo "enso-guest: acpid failed to start"

# A NIC's reach to the host (tests/kvm/net.sh): enso.net=ADDR/LEN,PEER
# sets ADDR on eth0 and pings PEER (an address on the host's bridge).
net=""
for a in $cmdline; do
	case $a in enso.net=*) net=${a#enso.net=} ;; esac
done
if [ -n "$net" ]; then
	i=0
	while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
	ip link set lo up
	ip link set eth0 up
	ip addr add "${net%,*}" dev eth0
	if ping -c 5 -w 20 "${net#*,}" >/tmp/ping.out 2>&1; then
		echo "ENSO-NET-PING ok"
	else
		echo "ENSO-NET-PING fail: $(tail -n 2 /tmp/ping.out | tr '\n' ' ')"
	fi
fi

# A virtio block device (virtio id 2) should show up as /dev/vda: give
# devtmpfs a moment.
if grep -qsx 0x0002 /sys/bus/virtio/devices/*/device; then
	i=0
	while [ ! -b /dev/vda ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
fi

reboot_marker="ENSO-REBOOT-DONE"
if has enso.reboot=1; then
	done_before=""
	if [ -b /dev/vda ]; then
		done_before=$(dd if=/dev/vda bs=512 skip=16384 count=1 2>/dev/null | head -c ${#reboot_marker})
	fi
	if [ "$done_before" != "$reboot_marker" ]; then
		if [ -b /dev/vda ]; then
			printf '%s' "$reboot_marker" | dd of=/dev/vda bs=512 seek=16384 conv=fsync 2>/dev/null
		fi
		sleep 2
		echo "ENSO-REBOOTING"
		sync
		reboot -f
	fi
	echo "ENSO-ALREADY-REBOOTED"
fi

if [ -b /dev/vda ]; then
	dd if=/dev/urandom of=/tmp/disk-data bs=1048576 count=4 2>/dev/null
	w=$(md5sum </tmp/disk-data | cut -d' ' -f1)
	dd if=/tmp/disk-data of=/dev/vda bs=1048576 conv=fsync 2>/dev/null ||
		echo "enso-guest: writing /dev/vda failed"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	r=$(dd if=/dev/vda bs=1048576 count=4 2>/dev/null | md5sum | cut -d' ' -f1)
	rm -f /tmp/disk-data
	echo "ENSO-DISK-WRITE md5=$w readback=$r"
fi

# A vCPU hot-added through ACPI (QEMU device_add) appears offline; cpu0
# has no online file.
online_new_cpus() {
	local c
	for c in /sys/devices/system/cpu/cpu[0-9]*; do
		[ "$(cat "$c/online" 2>/dev/null)" = 0 ] || continue
		echo 1 >"$c/online" 2>/dev/null && echo "ENSO-CPU-ONLINE ${c##*/}"
	done
}

# Virtio disks plugged in or out while the guest runs.
vdisks() { echo $(cd /sys/block && ls -d vd* 2>/dev/null); }
known_disks=" $(vdisks) "
watch_disks() {
	local now d i
	now=" $(vdisks) "
	for d in $now; do
		case $known_disks in *" $d "*) continue ;; esac
		i=0
		while [ ! -b "/dev/$d" ] && [ $i -lt 50 ]; do sleep 0.1; i=$((i + 1)); done
		echo "ENSO-DISK-ADDED $d serial=$(cat "/sys/block/$d/serial" 2>/dev/null) md5=$(dd if="/dev/$d" bs=1048576 count=1 2>/dev/null | md5sum | cut -d' ' -f1)"
	done
	for d in $known_disks; do
		case $now in *" $d "*) continue ;; esac
		echo "ENSO-DISK-REMOVED $d"
	done
	known_disks=$now
}

n=0
while :; do
	n=$((n + 1))
	online_new_cpus
	watch_disks
	mt=$(sed -n 's/^MemTotal: *\([0-9]*\) kB/\1/p' /proc/meminfo)
	cpus=$(grep -c ^processor /proc/cpuinfo)
	echo "ENSO-TICK n=$n memtotal=$mt cpus=$cpus"
	sleep 1
done
EOF
chmod 755 "$root/init"

(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$work/initrd.gz"
cp "$vmlinuz" "$work/vmlinuz"
mv "$work/initrd.gz" "$outdir/initrd.gz"
mv "$work/vmlinuz" "$outdir/vmlinuz"
echo "$stamp" >"$outdir/.guest-image.stamp"
log "built $outdir/vmlinuz and $outdir/initrd.gz (kernel $kver, ${#order[@]} modules)"
