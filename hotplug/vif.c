/*
 * A vif (or tap) onto a bridge: what upstream's vif-bridge script does,
 * through netlink.  The host side takes MAC fe:ff:ff:ff:ff:ff so that the
 * bridge, whose own address is its lowest port MAC, never takes a guest's
 * port's; its MTU follows the bridge unless the config gives one (a port
 * smaller than its bridge drops what the bridge forwards); then it is
 * enslaved and brought up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>

#include "hotplug/hotplug.h"
#include "hotplug/private.h"

int hp_vif_plumb(const char *dev, const char *bridge, unsigned mtu, char *msg,
		 size_t msglen)
{
	static const uint8_t host_mac[6] = HP_VIF_HOST_MAC;
	unsigned bmtu = 0;
	bool enslaved = false;
	int rc = hp_check_name(dev, msg, msglen);

	if (!rc)
		rc = hp_check_name(bridge, msg, msglen);
	if (rc)
		return rc;
	/* The bridge first: nothing of dev is touched for a missing one. */
	rc = hp_link_get_mtu(bridge, &bmtu, msg, msglen);
	if (rc) {
		if (rc == -ENODEV)
			hp_fail(msg, msglen, rc, "bridge %s does not exist",
				bridge);
		return rc;
	}
	rc = hp_link_set_mac(dev, host_mac, msg, msglen);
	if (!rc)
		rc = hp_link_set_mtu(dev, mtu ? mtu : bmtu, msg, msglen);
	if (!rc) {
		rc = hp_link_set_master(dev, bridge, msg, msglen);
		enslaved = !rc;
	}
	if (!rc)
		rc = hp_link_set_up(dev, true, msg, msglen);
	if (rc) {
		/* Undone quietly: msg keeps the first failure. */
		if (enslaved)
			hp_link_set_master(dev, NULL, NULL, 0);
		hp_link_set_up(dev, false, NULL, 0);
	}
	return rc;
}

int hp_vif_unplumb(const char *dev, char *msg, size_t msglen)
{
	int rc = hp_rate_clear(dev, NULL, msg, msglen);

	if (!rc)
		rc = hp_link_set_master(dev, NULL, msg, msglen);
	if (!rc)
		rc = hp_link_set_up(dev, false, msg, msglen);
	/* A tap that went with its QEMU: nothing left to undo. */
	if (rc == -ENODEV) {
		rc = 0;
		if (msg && msglen)
			*msg = '\0';
	}
	return rc;
}
