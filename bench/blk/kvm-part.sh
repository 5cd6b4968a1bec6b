# shellcheck shell=bash
# shellcheck disable=SC2034,SC2154 # variables of bench/kvm.sh, which sources this
# bench/blk/kvm-part.sh: `bench/kvm.sh --blk` (bench/blk.sh's KVM half),
# sourced by bench/kvm.sh once its setup is done (libvirt and Enso's
# xenstored running, the guest image built); it uses that script's
# functions (create, destroy, qemu_of, the console paths, say, die).
#
# The guest: scripts/guest-image.sh's kernel and initramfs with a second
# cpio archive appended (the kernel unpacks both, the later over the
# earlier): fio with its libraries and bench/blk/guest as /rig-bench, which
# the image's /init runs on enso.bench=1, on /dev/vda.  512 MiB (fio's
# libraries unpack to some 85 MB).
#
# The disk: one raw file of BENCH_BLK_MB (256) MiB, zero-filled, in
# BENCH_OUT, attached as each toolstack does by default: Enso's xl.cfg
# `disk = [ 'format=raw, vdev=xvda, access=rw, target=FILE' ]`, libvirt's
# `<disk type='file' device='disk'><driver name='qemu' type='raw'/>` with
# no cache or io attribute, both virtio-blk.  The host's page cache is
# dropped before each round (sync; drop_caches), so that no round starts
# with the file cached by the one before.
BLK_RT=${BENCH_BLK_RUNTIME:-8}
BLK_MB=${BENCH_BLK_MB:-256}
BLK_ORDER=${BENCH_BLK_ORDER:-enso,libvirt,libvirt,enso}
[[ $BLK_RT =~ ^[1-9][0-9]*$ ]] || die "BENCH_BLK_RUNTIME=$BLK_RT: want a positive integer"
[[ $BLK_MB =~ ^[1-9][0-9]*$ ]] || die "BENCH_BLK_MB=$BLK_MB: want a positive integer"
fio_bin=$(command -v fio) || die "fio missing (apt-get install fio)"
command -v cpio >/dev/null || die "cpio missing"

# The guest's initramfs with fio.
ov=$TMP/blk-overlay
mkdir -p "$ov/usr/bin"
cp -L "$fio_bin" "$ov/usr/bin/fio"
install -m 0755 "$root/bench/blk/guest" "$ov/rig-bench"
bench_overlay_libs "$ov" "$fio_bin"
bench_initrd_with "$img" "$ov" initrd-blk.gz || die "packing the fio overlay failed"
INITRD=initrd-blk.gz GUEST_MB=512
DISK=$OUT/blk-disk.img
dd if=/dev/zero of="$DISK" bs=1M count="$BLK_MB" status=none conv=fsync || die "cannot write $DISK"
chmod 666 "$DISK"
say "blk: guest initramfs with fio: $(du -h "$img/initrd-blk.gz" | cut -f1); disk $DISK ($BLK_MB MiB, $(df -T "$OUT" | awk 'NR == 2 { print $2 }'))"

# disk_opts PID: the disk options QEMU was given (its -drive, or libvirt's
# -blockdev for the file), one line.
disk_opts() {
	tr '\0' '\n' <"/proc/$1/cmdline" | grep -F -e "$DISK" -e '"driver":"raw"' | tr '\n' ' '
}

limit=$((6 * (BLK_RT + 1) + BOOT_TIMEOUT + 180))
n=0
for side in ${BLK_ORDER//,/ }; do
	case $side in enso | libvirt) ;; *) die "BENCH_BLK_ORDER names '$side': enso or libvirt" ;; esac
	n=$((n + 1))
	btag=$side-$n
	name=$tag-blk$n
	EXTRA="enso.bench=1 rig.blk_dev=vda rig.blk_tag=$btag rig.blk_runtime=$BLK_RT"
	sync
	echo 3 >/proc/sys/vm/drop_caches
	create "$side" "$name"
	[ "$side" = enso ] && f=$(enso_console "$name") || f=$(lv_console "$name")
	deadline=$((${EPOCHREALTIME%.*} + limit))
	while ! tr -d '\r' <"$f" 2>/dev/null | grep -qx -e "ENSO-BLK done $btag" -e "ENSO-BLK fio-failed $btag:.*"; do
		[ "${EPOCHREALTIME%.*}" -lt $deadline ] ||
			die "$side: no fio result from $name within ${limit}s (console: $(tail -c 400 "$f" 2>/dev/null | tr -d '\r' | tr '\n' '|'))"
		sleep 0.5
	done
	tr -d '\r' <"$f" | grep -q -x "ENSO-BLK done $btag" ||
		die "$side: $(tr -d '\r' <"$f" | grep "ENSO-BLK fio-failed")"
	q=$(qemu_of "$name")
	[ -n "$q" ] || die "$side: no QEMU found for $name"
	echo "bench-blk-info side=kvm backend=$side round=$n qemu_disk=$(disk_opts "$q" | tr ' ' ';')"
	tr -d '\r' <"$f" | sed -n "s/.*ENSO-BLK job $btag //p" | awk -v b="$side" -v r="$n" '{
		job = $1
		if (job ~ /read/) { kib = $3; iops = $5 } else { kib = $7; iops = $9 }
		printf "bench-blk-run side=kvm backend=%s round=%s job=%s iops=%s kib_s=%s\n", b, r, job, iops, kib
	}'
	say "blk round $n ($side): $(tr -d '\r' <"$f" | grep -c "ENSO-BLK job $btag ") jobs"
	destroy "$side" "$name" "$q"
	sleep 1
done
rm -f "$DISK"
