#!/bin/bash
# Fetch what the rig boots into the cache (tests/rig/cache/, or $RIG_CACHE):
#   xen            the Xen 4.17 hypervisor, gunzipped (qemu -kernel takes it)
#   linux/         Debian's generic linux-image-6.1.0-*-amd64, extracted
#                  (downloaded with apt-get download, never installed)
#   vmlinuz        copy of linux/boot/vmlinuz-<kver>
#   kernel-version <kver>
# Idempotent: does nothing when everything is already there.
# RIG_REFETCH=1 throws the cached kernel away and fetches it again.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

mkdir -p "$RIG_CACHE"

# --- the hypervisor ---------------------------------------------------------
xen_gz=/boot/xen-$RIG_XEN_VER-amd64.gz
if [ ! -s "$RIG_CACHE/xen" ]; then
	if [ ! -f "$xen_gz" ]; then
		rig_need_pkgs "xen-hypervisor-$RIG_XEN_VER-amd64"
	fi
	[ -f "$xen_gz" ] || rig_die "$xen_gz missing even with xen-hypervisor-$RIG_XEN_VER-amd64 installed"
	gunzip -c "$xen_gz" >"$RIG_CACHE/xen.tmp"
	mv "$RIG_CACHE/xen.tmp" "$RIG_CACHE/xen"
	rig_log "hypervisor: $RIG_CACHE/xen (from $xen_gz)"
fi

# --- the kernel -------------------------------------------------------------
if [ "${RIG_REFETCH:-0}" = 1 ]; then
	rm -rf "$RIG_CACHE/linux" "$RIG_CACHE/vmlinuz" "$RIG_CACHE/kernel-version"
fi

kver=$(rig_cached_kver || true)
if [ -n "$kver" ] && [ -s "$RIG_CACHE/vmlinuz" ] && [ -f "$RIG_CACHE/linux/lib/modules/$kver/modules.dep" ]; then
	exit 0
fi

# depmod (kmod) builds modules.dep, which the .deb does not carry.
rig_need_pkgs kmod

# Which linux-image-6.1.0-N-amd64 does the meta package point at?
resolve_kpkg() {
	apt-cache depends linux-image-amd64 2>/dev/null |
		sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -n1
}
kpkg=$(resolve_kpkg)
if [ -z "$kpkg" ]; then
	[ "$(id -u)" -eq 0 ] || rig_die "apt-cache does not know linux-image-amd64 (run apt-get update as root)"
	rig_log "apt-cache does not know linux-image-amd64; running apt-get update"
	apt-get update -qq >&2 || rig_die "apt-get update failed"
	kpkg=$(resolve_kpkg)
fi
[ -n "$kpkg" ] || rig_die "cannot resolve the kernel package linux-image-amd64 depends on (apt-cache depends linux-image-amd64)"
case $kpkg in
*-cloud-amd64) rig_die "$kpkg is the -cloud flavour (no CONFIG_XEN_DOM0); the rig needs the generic one" ;;
esac
kver=${kpkg#linux-image-}

dl=$(mktemp -d "$RIG_CACHE/dl.XXXXXX")
trap 'rm -rf "$dl"' EXIT
rig_log "downloading $kpkg (apt-get download, not installed)"
(cd "$dl" && apt-get download -o APT::Sandbox::User=root "$kpkg" >&2) ||
	rig_die "apt-get download $kpkg failed"
deb=$(find "$dl" -maxdepth 1 -name "*.deb" | head -n1)
[ -n "$deb" ] || rig_die "apt-get download $kpkg produced no .deb"

rm -rf "$RIG_CACHE/linux"
mkdir -p "$RIG_CACHE/linux"
dpkg-deb -x "$deb" "$RIG_CACHE/linux"

[ -f "$RIG_CACHE/linux/boot/vmlinuz-$kver" ] || rig_die "$deb has no boot/vmlinuz-$kver"
[ -d "$RIG_CACHE/linux/lib/modules/$kver" ] || rig_die "$deb has no lib/modules/$kver"
if ! grep -q '^CONFIG_XEN_DOM0=y' "$RIG_CACHE/linux/boot/config-$kver"; then
	rig_die "$kpkg is not built with CONFIG_XEN_DOM0=y; it cannot be dom0"
fi
depmod -b "$RIG_CACHE/linux" "$kver" || rig_die "depmod -b $RIG_CACHE/linux $kver failed"

cp "$RIG_CACHE/linux/boot/vmlinuz-$kver" "$RIG_CACHE/vmlinuz"
echo "$kver" >"$RIG_CACHE/kernel-version"
rig_log "kernel: $RIG_CACHE/vmlinuz ($kver)"
