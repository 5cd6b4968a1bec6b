#!/usr/bin/env bash
# Installs, from Debian 12's packages, what Enso needs to build, test and run
# its demo.  Idempotent: installs only what is missing.  Run as root.
#   scripts/deps.sh build   compilers and -dev libraries
#   scripts/deps.sh test    build + the real peers the tests use
#   scripts/deps.sh demo    build + what the demo needs
set -euo pipefail

build_pkgs=(build-essential autoconf automake libtool pkg-config
	libxen-dev libyajl-dev liblzma-dev zlib1g-dev libnl-3-dev libnl-route-3-dev liburing-dev
	libcmocka-dev)
# Real peers: Debian's libxenstore clients (xenstore-utils), upstream's
# own tools as interoperability peers and benchmark anchors (never linked),
# and the Xen rig: hypervisor, QEMU, busybox and cpio for the initramfs;
# clang and its libFuzzer runtime for the fuzz suite (tests/fuzz); sshd
# and ssh for xl migrate's default transport (tests/kvm/migrate.sh), and
# python3 for the tests' QMP and JSON probes.
test_pkgs=(xenstore-utils xen-utils-4.17 xen-hypervisor-4.17-amd64
	qemu-system-x86 qemu-utils busybox-static cpio kmod iproute2
	procps psmisc clang libclang-rt-14-dev socat
	openssh-server openssh-client python3)
demo_pkgs=(xenstore-utils qemu-system-x86 busybox-static cpio kmod)

want=("${build_pkgs[@]}")
case "${1:-build}" in
build) ;;
test) want+=("${test_pkgs[@]}") ;;
demo) want+=("${demo_pkgs[@]}") ;;
*) echo "usage: $0 build|test|demo" >&2; exit 2 ;;
esac

if [ "$(id -u)" != 0 ]; then
	echo "scripts/deps.sh: run as root (it installs Debian packages)" >&2
	exit 1
fi

missing=()
for p in "${want[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" ||
		missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -q >/dev/null
apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
