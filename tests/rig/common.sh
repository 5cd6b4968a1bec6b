# shellcheck shell=bash
# Shared helpers for the host-side rig scripts (fetch.sh, mkinitrd.sh,
# boot.sh). Sourced, not run.

RIG_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Where scenarios come from: the tests' own, or a benchmark's (bench/).
RIG_SCENARIO_DIR=${RIG_SCENARIO_DIR:-$RIG_DIR/scenarios}
export RIG_SCENARIO_DIR
RIG_TOP=$(cd "$RIG_DIR/../.." && pwd)
RIG_CACHE=${RIG_CACHE:-$RIG_DIR/cache}
RIG_OUT=${RIG_OUT:-$RIG_DIR/out}

# The Xen release whose hypervisor and tools the rig uses.
RIG_XEN_VER=4.17

rig_die() {
	echo "rig: error: $*" >&2
	exit 2
}

rig_log() {
	echo "rig: $*" >&2
}

rig_pkg_installed() {
	local st
	st=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[ "$st" = "install ok installed" ]
}

# rig_need_pkgs PKG...: install the packages that are missing, with apt-get.
# Runs `apt-get update` only when something is missing.
rig_need_pkgs() {
	local missing=() p
	for p in "$@"; do
		rig_pkg_installed "$p" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	if [ "$(id -u)" -ne 0 ]; then
		rig_die "missing Debian packages: ${missing[*]} (run as root, or: apt-get install ${missing[*]})"
	fi
	rig_log "installing missing packages: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >&2 || rig_die "apt-get update failed (needed to install: ${missing[*]})"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2 ||
		rig_die "apt-get install failed for: ${missing[*]}"
	for p in "${missing[@]}"; do
		rig_pkg_installed "$p" || rig_die "package $p still not installed after apt-get install"
	done
}

# True if the file is an ELF object (checks the magic bytes; needs no `file`).
rig_is_elf() {
	[ -f "$1" ] && [ "$(head -c 4 "$1" 2>/dev/null | od -An -tx1 | tr -d ' \n')" = 7f454c46 ]
}

# The kernel version found in the cache (set by fetch.sh), or empty.
rig_cached_kver() {
	[ -f "$RIG_CACHE/kernel-version" ] && cat "$RIG_CACHE/kernel-version"
}
