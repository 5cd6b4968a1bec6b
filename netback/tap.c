/*
 * netback/tap.c: one queue fd on the tap the toolstack made (private.h).
 *
 * The toolstack creates the tap persistent and multi-queue, plumbs it
 * onto its bridge, and deletes it at destroy; netback only attaches: each
 * TUNSETIFF with IFF_MULTI_QUEUE on a new /dev/net/tun fd is one more
 * queue of the same device.  The flags must be the ones the tap was made
 * with, else the kernel refuses.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "netback/private.h"

int nb_tap_open(const char *name, const struct nb_conf *conf, int *out)
{
	struct ifreq ifr;
	int hdr = NB_VNET_HDR, fd, rc;
	unsigned off = 0;

	*out = -1;
	if (if_nametoindex(name) == 0)
		return -ENODEV;
	/* Offloads are what the tap may hand us (rx), so what the frontend
	 * takes: checksums left blank only when it takes them for IPv4 and
	 * IPv6 alike (tun has one flag for both), TSO only with them and
	 * with SG, as a 64 KiB packet spans many buffers. */
	if (conf->csum) {
		off |= TUN_F_CSUM;
		if (conf->sg && conf->gso4)
			off |= TUN_F_TSO4;
		if (conf->sg && conf->gso6)
			off |= TUN_F_TSO6;
	}
	fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0 ||
	    ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0 ||
	    ioctl(fd, TUNSETOFFLOAD, off) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	*out = fd;
	return 0;
}
