/*
 * Persistent taps through /dev/net/tun.  A persistent tap outlives the
 * descriptor that made it, so it can be plumbed (bridge, rate limit)
 * before anything serves it, and whoever serves it later (QEMU's
 * -netdev tap,ifname=, Enso's netback) attaches by name with the same
 * flags: the kernel refuses a mismatch (EINVAL), which is what we want
 * said at plumbing time rather than at the guest's first packet.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "hotplug/hotplug.h"
#include "hotplug/private.h"

int hp_tap_create(const char *name, unsigned flags, char *msg, size_t msglen)
{
	struct ifreq ifr;
	int fd, rc = hp_check_name(name, msg, msglen);

	if (rc)
		return rc;
	if (flags & ~(HP_TAP_VNET_HDR | HP_TAP_MULTI_QUEUE))
		return hp_fail(msg, msglen, -EINVAL, "tap %s: flags %#x", name,
			       flags);
	fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return hp_fail(msg, msglen, -errno, "tap %s: /dev/net/tun",
			       name);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
	if (flags & HP_TAP_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (flags & HP_TAP_MULTI_QUEUE)
		ifr.ifr_flags |= IFF_MULTI_QUEUE;
	/* TUNSETIFF on an existing name attaches to it instead: that is
	 * an existing tap of these flags, taken as made (idempotent).  Any
	 * other link of the name is EINVAL or EBUSY: said as EEXIST. */
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		rc = errno == EINVAL || errno == EBUSY ? -EEXIST : -errno;
		hp_fail(msg, msglen, rc,
			"tap %s: a link of that name exists and is no tap with these flags",
			name);
		if (rc != -EEXIST)
			hp_fail(msg, msglen, rc, "tap %s: TUNSETIFF", name);
	} else if (ioctl(fd, TUNSETPERSIST, 1) < 0) {
		rc = hp_fail(msg, msglen, -errno, "tap %s: TUNSETPERSIST", name);
	}
	close(fd);
	return rc;
}
