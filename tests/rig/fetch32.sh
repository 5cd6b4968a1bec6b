#!/bin/bash
# Fetch the rig's 32-bit guest into the cache (tests/rig/cache/, or
# $RIG_CACHE), for the x86_32-abi disks of scenarios/50-xl-xen-disk:
#   linux32/         Debian's linux-image-6.1.0-*-686-pae (i386), extracted
#                    (apt-get download, never installed), modules.dep made
#   vmlinuz32        its kernel;  kernel32-version  its version
#   busybox32        busybox-static:i386's busybox
# Linux dropped 32-bit PV guests in 5.9, so this guest boots PVH (its
# kernel has CONFIG_XEN_PVH).  Needs dpkg's i386 architecture: added (and
# apt-get update run) when missing, as root.  Idempotent.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p "$RIG_CACHE"
kver=$(cat "$RIG_CACHE/kernel32-version" 2>/dev/null || true)
if [ -n "$kver" ] && [ -s "$RIG_CACHE/vmlinuz32" ] && [ -s "$RIG_CACHE/busybox32" ] &&
	[ -f "$RIG_CACHE/linux32/lib/modules/$kver/modules.dep" ]; then
	exit 0
fi
rig_need_pkgs kmod
if ! dpkg --print-foreign-architectures | grep -qx i386; then
	[ "$(id -u)" -eq 0 ] || rig_die "dpkg has no i386 architecture (as root: dpkg --add-architecture i386 && apt-get update)"
	rig_log "adding dpkg's i386 architecture for the 32-bit guest's packages"
	dpkg --add-architecture i386
	apt-get update -qq >&2 || rig_die "apt-get update failed"
fi
resolve() {
	apt-cache depends linux-image-686-pae:i386 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ :]*-686-pae\)\(:i386\)\{0,1\}$/\1/p' | head -n1
}
kpkg=$(resolve)
if [ -z "$kpkg" ]; then
	[ "$(id -u)" -eq 0 ] || rig_die "apt-cache does not know linux-image-686-pae:i386"
	apt-get update -qq >&2 || rig_die "apt-get update failed"
	kpkg=$(resolve)
fi
[ -n "$kpkg" ] || rig_die "cannot resolve the package linux-image-686-pae:i386 depends on"
kver=${kpkg#linux-image-}

dl=$(mktemp -d "$RIG_CACHE/dl32.XXXXXX")
trap 'rm -rf "$dl"' EXIT
rig_log "downloading $kpkg:i386 and busybox-static:i386 (apt-get download, not installed)"
(cd "$dl" && apt-get download -o APT::Sandbox::User=root "$kpkg:i386" busybox-static:i386 >&2) ||
	rig_die "apt-get download $kpkg:i386 busybox-static:i386 failed"
rm -rf "$RIG_CACHE/linux32" "$dl/bb"
mkdir -p "$RIG_CACHE/linux32" "$dl/bb"
dpkg-deb -x "$(find "$dl" -maxdepth 1 -name 'linux-image-*.deb' | head -n1)" "$RIG_CACHE/linux32"
dpkg-deb -x "$(find "$dl" -maxdepth 1 -name 'busybox-static_*.deb' | head -n1)" "$dl/bb"
[ -f "$RIG_CACHE/linux32/boot/vmlinuz-$kver" ] || rig_die "$kpkg has no boot/vmlinuz-$kver"
grep -q '^CONFIG_XEN_PVH=y' "$RIG_CACHE/linux32/boot/config-$kver" ||
	rig_die "$kpkg is not built with CONFIG_XEN_PVH=y: no 32-bit Xen guest can boot it"
depmod -b "$RIG_CACHE/linux32" "$kver" || rig_die "depmod -b $RIG_CACHE/linux32 $kver failed"
cp "$dl/bb/bin/busybox" "$RIG_CACHE/busybox32.tmp"
mv "$RIG_CACHE/busybox32.tmp" "$RIG_CACHE/busybox32"
cp "$RIG_CACHE/linux32/boot/vmlinuz-$kver" "$RIG_CACHE/vmlinuz32"
echo "$kver" >"$RIG_CACHE/kernel32-version"
rig_log "32-bit guest: $RIG_CACHE/vmlinuz32 ($kver), $RIG_CACHE/busybox32"
