#!/bin/bash
# Build the rig's two initramfs images (cpio newc, gzip) into tests/rig/out/
# (or $RIG_OUT):
#
#   domu-initrd.gz  busybox, tests/rig/domu-init as /init, the upstream
#                   xenstore-* clients and their libraries.
#   dom0-initrd.gz  busybox, tests/rig/dom0-init as /init, the Xen kernel
#                   modules, upstream's Xen tools (xen-utils-4.17,
#                   xenstore-utils), the project's install tree (if given),
#                   every library ldd lists for any of those, and under /rig/
#                   the domU kernel, domu-initrd.gz, domu.cfg, lib.sh,
#                   triple-fault (a PVH image, from triple-fault.S) and
#                   the scenarios.
#
# Usage: mkinitrd.sh [DESTDIR]     (or ENSO_DESTDIR=DESTDIR mkinitrd.sh)
#
# Benchmarks add what only they need, so that the test images stay lean:
#   RIG_DOMU_ADD / RIG_DOM0_ADD   host files, space-separated, each SRC or
#                   SRC:DEST (default DEST: the same path), copied into the
#                   image with the libraries they need (bench/blk.sh: fio)
#   RIG_DOM0_MODULES  more optional kernel modules for dom0 (e.g. loop)
# DESTDIR is a `make install DESTDIR=...` tree (usr/local/{bin,sbin,lib});
# it is copied in as-is. Without one the image has upstream's tools only.
# Needs fetch.sh to have run (it is called if the cache is empty).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

destdir=${1:-${ENSO_DESTDIR:-}}
if [ -n "$destdir" ]; then
	[ -d "$destdir" ] || rig_die "install tree $destdir (ENSO_DESTDIR) does not exist"
	destdir=$(cd "$destdir" && pwd)
fi

rig_need_pkgs busybox-static cpio gzip kmod "xen-utils-$RIG_XEN_VER" xenstore-utils libc-bin socat

kver=$(rig_cached_kver || true)
if [ -z "$kver" ] || [ ! -s "$RIG_CACHE/vmlinuz" ]; then
	"$RIG_DIR/fetch.sh"
	kver=$(rig_cached_kver)
fi
kmods=$RIG_CACHE/linux/lib/modules/$kver
[ -f "$kmods/modules.dep" ] || rig_die "$kmods/modules.dep missing (rerun fetch.sh with RIG_REFETCH=1)"

busybox=/bin/busybox
[ -x "$busybox" ] || rig_die "$busybox missing (package busybox-static)"
rig_is_elf "$busybox" && ldd "$busybox" >/dev/null 2>&1 &&
	rig_die "$busybox is dynamically linked; the rig needs busybox-static's"

xenlib=/usr/lib/xen-$RIG_XEN_VER
[ -x "$xenlib/bin/xl" ] || rig_die "$xenlib/bin/xl missing (package xen-utils-$RIG_XEN_VER)"
[ -x /usr/bin/xenstore-read ] || rig_die "/usr/bin/xenstore-read missing (package xenstore-utils)"

mkdir -p "$RIG_OUT"

# --- helpers ------------------------------------------------------------------

# A merged-/usr skeleton with busybox and its applet links.
make_skeleton() {
	local root=$1 applet
	rm -rf "$root"
	mkdir -p "$root"/usr/{bin,sbin,lib,lib64} "$root"/{dev,proc,sys,run,tmp,root,etc,mnt}
	ln -s usr/bin "$root/bin"
	ln -s usr/sbin "$root/sbin"
	ln -s usr/lib "$root/lib"
	ln -s usr/lib64 "$root/lib64"
	chmod 1777 "$root/tmp"
	cp "$busybox" "$root/usr/bin/busybox"
	for applet in $("$busybox" --list-full); do
		[ -e "$root/$applet" ] || ln -s /usr/bin/busybox "$root/$applet"
	done
	# nobody: what enso-blkback's per-device workers run as.
	printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
	printf 'root:x:0:\ntty:x:5:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# copy_host_file ROOT PATH: copy a host file (dereferenced) to the same path.
copy_host_file() {
	local root=$1 path=$2
	[ -e "$root$path" ] && return 0
	mkdir -p "$(dirname "$root$path")"
	cp -L "$path" "$root$path"
}

# Every ELF file in ROOT, outside the kernel modules and /rig payload.
list_elves() {
	local root=$1 f
	find "$root" \( -path "$root/lib/modules" -o -path "$root/usr/lib/modules" -o -path "$root/rig" \) -prune \
		-o -type f -print | while read -r f; do
		if rig_is_elf "$f"; then printf '%s\n' "$f"; fi
	done
}

# copy_libs ROOT: copy in every shared library ldd lists for any ELF file in
# ROOT (transitively), plus libgcc_s.so.1 (pthread_cancel dlopens it).
# Libraries shipped inside ROOT itself (the install tree, xen's private lib
# dir) are found through LD_LIBRARY_PATH and not copied again.
copy_libs() {
	local root=$1 f line lib missing=() n_before n_after
	local inroot_path="$root/usr/local/lib:$root/usr/local/lib64:$root$xenlib/lib/x86_64-linux-gnu:$root/usr/lib/x86_64-linux-gnu"
	copy_host_file "$root" /lib/x86_64-linux-gnu/libgcc_s.so.1
	declare -A done_elf=()
	while :; do
		n_before=${#done_elf[@]}
		while read -r f; do
			[ -n "${done_elf[$f]:-}" ] && continue
			done_elf[$f]=1
			# ldd says "not a dynamic executable" (exit 1) for static ones.
			out=$(LD_LIBRARY_PATH=$inroot_path ldd "$f" 2>&1) || continue
			while read -r line; do
				case $line in
				*"=> not found"*)
					missing+=("${f#"$root"}: ${line%% *}")
					;;
				*"=> /"*)
					lib=${line#*=> }
					lib=${lib%% (*}
					case $lib in "$root"/*) continue ;; esac
					copy_host_file "$root" "$lib"
					;;
				/*)
					lib=${line%% (*}
					copy_host_file "$root" "$lib"
					;;
				esac
			done <<<"$out"
		done < <(list_elves "$root")
		n_after=${#done_elf[@]}
		[ "$n_after" -eq "$n_before" ] && break
	done
	if [ ${#missing[@]} -gt 0 ]; then
		printf 'rig: error: unresolved shared library: %s\n' "${missing[@]}" >&2
		exit 2
	fi
	# A loader cache, so that libraries outside the loader's default dirs
	# (/usr/local/lib, xen's private dir) are found without LD_LIBRARY_PATH.
	printf '%s\n' /usr/local/lib /usr/local/lib64 /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu \
		"$xenlib/lib/x86_64-linux-gnu" >"$root/etc/ld.so.conf"
	if [ "$(id -u)" -eq 0 ]; then
		ldconfig -r "$root" 2>/dev/null || rig_log "warning: ldconfig -r $root failed; relying on the loader's default paths"
	fi
}

# Resolve kernel modules (by file name without .ko) to paths relative to
# $kmods, dependencies first, using modules.dep. Prints nothing for a module
# that this kernel does not have.
declare -A mod_seen=()
mod_order=()
mod_visit() {
	local name=$1 rel deps d i
	rel=$(grep -E "(^|/)$name\.ko(\.[a-z]+)?:" "$kmods/modules.dep" | head -n1 | cut -d: -f1) || true
	[ -n "$rel" ] || return 1
	[ -n "${mod_seen[$rel]:-}" ] && return 0
	mod_seen[$rel]=1
	deps=$(grep -E "^$rel:" "$kmods/modules.dep" | cut -d: -f2-)
	# modules.dep lists dependencies so that the last one loads first.
	read -r -a d <<<"$deps"
	for ((i = ${#d[@]} - 1; i >= 0; i--)); do
		mod_visit "$(basename "${d[$i]%%.ko*}")"
	done
	mod_order+=("$rel")
}

# copy_modules ROOT REQUIRED... -- OPTIONAL...
# Writes ROOT/lib/modules/rig-load: one "req|opt RELPATH" line per module,
# in load order; dom0-init insmods them.
copy_modules() {
	local root=$1 kind=req name rel
	shift
	mkdir -p "$root/lib/modules/$kver"
	: >"$root/lib/modules/rig-load"
	for name in "$@"; do
		if [ "$name" = -- ]; then kind=opt; continue; fi
		mod_seen=()
		mod_order=()
		if ! mod_visit "$name"; then
			[ $kind = req ] && rig_die "kernel $kver has no module $name"
			rig_log "note: kernel $kver has no module $name (optional; skipped)"
			continue
		fi
		for rel in "${mod_order[@]}"; do
			grep -q " $rel\$" "$root/lib/modules/rig-load" && continue
			mkdir -p "$(dirname "$root/lib/modules/$kver/$rel")"
			cp "$kmods/$rel" "$root/lib/modules/$kver/$rel"
			echo "$kind $rel" >>"$root/lib/modules/rig-load"
		done
	done
	echo "$kver" >"$root/lib/modules/rig-kver"
}

# pack ROOT OUT: cpio newc, gzip, owned by root.
pack() {
	local root=$1 out=$2
	(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -6 >"$out.tmp"
	mv "$out.tmp" "$out"
}

copy_xenstore_clients() {
	local root=$1 f
	for f in /usr/bin/xenstore /usr/bin/xenstore-*; do
		if [ -L "$f" ] && ! rig_is_elf "$f"; then
			# xenstore-control is a link to Debian's version wrapper script;
			# point it straight at the real binary instead.
			ln -sf "$xenlib/bin/$(basename "$f")" "$root$f"
		else
			cp -L "$f" "$root$f"
		fi
	done
}

# add_files ROOT SPECS: RIG_DOMU_ADD / RIG_DOM0_ADD (above).
add_files() {
	local root=$1 spec src dst
	# shellcheck disable=SC2086 # a list
	for spec in $2; do
		src=${spec%%:*}
		dst=${spec#*:}
		[ -e "$src" ] || rig_die "$src (in RIG_DOMU_ADD or RIG_DOM0_ADD) does not exist"
		mkdir -p "$(dirname "$root$dst")"
		cp -L "$src" "$root$dst"
	done
}

# --- the domU image -------------------------------------------------------------
domu=$RIG_OUT/domu-root
make_skeleton "$domu"
install -m 0755 "$RIG_DIR/domu-init" "$domu/init"
install -m 0755 "$RIG_DIR/domu-disk" "$domu/rig-disk"
install -m 0755 "$RIG_DIR/domu-net" "$domu/rig-net"
copy_xenstore_clients "$domu"
# ext4 (which mounts ext2) loads the crc32c hash at every mount.
copy_modules "$domu" -- xen-blkfront xen-netfront crc32c_generic ext4
# socat: the network scenario's TCP transfers (busybox's nc stops short)
add_files "$domu" "/usr/bin/socat ${RIG_DOMU_ADD:-}"
copy_libs "$domu"
pack "$domu" "$RIG_OUT/domu-initrd.gz"
rig_log "domU initrd: $RIG_OUT/domu-initrd.gz ($(du -h "$RIG_OUT/domu-initrd.gz" | cut -f1))"

# --- the dom0 image -------------------------------------------------------------
dom0=$RIG_OUT/dom0-root
make_skeleton "$dom0"
install -m 0755 "$RIG_DIR/dom0-init" "$dom0/init"
mkdir -p "$dom0"/var/lib/xen "$dom0"/var/log/xen/console "$dom0"/etc/xen "$dom0"/usr/local/{bin,sbin,lib}
ln -s ../run "$dom0/var/run" # /run is a tmpfs at boot; dom0-init makes /run/xen
: >"$dom0/etc/xen/xl.conf"

# shellcheck disable=SC2086 # a list
copy_modules "$dom0" xen-evtchn xen-gntdev xen-gntalloc xen-privcmd xenfs tun bridge \
	-- xen-blkback xen-netback xen-blkfront xen-netfront \
	virtio_pci virtio_net virtio_blk ${RIG_DOM0_MODULES:-}

# e2fsck: checks what a guest made on a disk Enso served
copy_host_file "$dom0" /usr/sbin/e2fsck

# upstream's tools: interoperability peers and benchmark anchors
mkdir -p "$dom0$xenlib"
cp -a "$xenlib/bin" "$xenlib/lib" "$dom0$xenlib/"
copy_xenstore_clients "$dom0"

add_files "$dom0" "/usr/bin/socat ${RIG_DOM0_ADD:-}"

# the project's install tree, as-is
if [ -n "$destdir" ]; then
	tar -C "$destdir" -cf - . | tar -C "$dom0" -xf - --keep-directory-symlink --no-same-owner
fi

copy_libs "$dom0"

# the payload under /rig
mkdir -p "$dom0/rig/scenarios"
cp "$RIG_CACHE/vmlinuz" "$dom0/rig/vmlinuz"
cp "$RIG_OUT/domu-initrd.gz" "$dom0/rig/domu-initrd.gz"
cp "$RIG_DIR/domu.cfg" "$dom0/rig/domu.cfg"
cp "$RIG_DIR/lib.sh" "$dom0/rig/lib.sh"
install -m 0755 "$RIG_DIR/peer" "$dom0/rig/peer"
# A PVH image that triple-faults at once (scenarios/12-rig-rerun).
gcc -c -o "$RIG_OUT/triple-fault.o" "$RIG_DIR/triple-fault.S" ||
	rig_die "cannot assemble $RIG_DIR/triple-fault.S (gcc)"
ld -N -Ttext=0x100000 --section-start=.note.Xen=0x100100 -e start --no-warn-rwx-segments \
	-o "$dom0/rig/triple-fault" "$RIG_OUT/triple-fault.o" ||
	rig_die "cannot link /rig/triple-fault (ld)"
for f in "$RIG_SCENARIO_DIR"/*; do
	[ -f "$f" ] || continue
	install -m 0755 "$f" "$dom0/rig/scenarios/"
done
{
	echo "kernel $kver"
	echo "built $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	if [ -n "$destdir" ]; then
		echo "enso-destdir $destdir"
		(cd "$destdir" && find . -type f | LC_ALL=C sort | sed 's/^\./enso-file /')
	else
		echo "enso-destdir none"
	fi
} >"$dom0/rig/manifest"

pack "$dom0" "$RIG_OUT/dom0-initrd.gz"
rig_log "dom0 initrd: $RIG_OUT/dom0-initrd.gz ($(du -h "$RIG_OUT/dom0-initrd.gz" | cut -f1))${destdir:+, with $destdir}"
