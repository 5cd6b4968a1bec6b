#!/bin/bash
# bench/migrate/lv-host.sh DIR UUID: a libvirtd of its own, as a second
# host on this machine would run one, for bench/migrate.sh.  Its
# /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/cache/libvirt and
# /var/log/libvirt are DIR's (bind mounts in a private mount namespace),
# its host UUID is UUID (libvirt refuses a migration to a host of its
# own UUID), and it runs QEMU as root with no cgroups, no security
# driver and no virtlogd: two such daemons on one machine must not meet
# in any of those.  Its socket: DIR/run/libvirt-sock.  Runs in the
# foreground; the caller kills it.
set -eu
D=$1 U=$2
mkdir -p "$D/etc/qemu" "$D/run" "$D/lib" "$D/cache" "$D/log" \
	/etc/libvirt /run/libvirt /var/lib/libvirt /var/cache/libvirt /var/log/libvirt
cat >"$D/etc/libvirtd.conf" <<EOC
host_uuid = "$U"
unix_sock_rw_perms = "0700"
auth_unix_rw = "none"
auth_unix_ro = "none"
log_outputs = "3:file:$D/log/libvirtd.log"
EOC
cat >"$D/etc/qemu.conf" <<EOC
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
stdio_handler = "file"
namespaces = [ ]
EOC
exec unshare -m --propagation private sh -c "
mount --bind '$D/etc' /etc/libvirt && mount --bind '$D/run' /run/libvirt &&
mount --bind '$D/lib' /var/lib/libvirt && mount --bind '$D/cache' /var/cache/libvirt &&
mount --bind '$D/log' /var/log/libvirt &&
exec env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin libvirtd -p '$D/libvirtd.pid'"
