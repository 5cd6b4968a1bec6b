/*
 * NICs of a KVM domain: their taps' plumbing at create, and the backend
 * ops device_attach / device_detach for BACKEND_DEVICE_NIC (xl
 * network-attach, network-detach; libxl keeps the stored config).
 *
 * QEMU makes each tap itself (-netdev tap,ifname=, or netdev_add), named
 * like Xen's vif, vif<domid>.<devid>, and holds it: the tap, its bridge
 * port and its policer go with QEMU, so a domain destroyed or a QEMU
 * killed leaves no tap behind.  libxl's rt_vif_plumb does the rest, with
 * rate= limited on the tap's ingress (what the guest sends), which on Xen
 * netback enforces: policed, or on a kernel without act_police through an
 * IFB ifb<domid>.<devid>, which does not go with QEMU (detach's undo and
 * kvm.c's destroy delete it).
 *
 * Attach: netdev_add (QEMU opens the tap), plumb, then device_add of a
 * virtio-net-pci with the MAC into a spare root port (disk.c's), the guest
 * given time to take it up.  Detach: device_del, DEVICE_DELETED awaited
 * (timeout_ms; force: not at all), then netdev_del (QEMU closes, and the
 * kernel deletes, the tap) and the undo, which runs a user's script's
 * "remove".  A guest that does not let go keeps the NIC until it ejects it
 * or the domain ends, as with disks.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kvm/kvm.h"
#include "libxl/services.h"
#include "backends/backend.h"

int kvm_check_nic(const char *who, const struct enso_nic *n,
		  struct enso_error *err)
{
	char tap[IFNAMSIZ];

	if (n->backend)
		return exl_fail(err, -EINVAL,
				"%s: vif %d: backend=%s names a driver domain, which is Xen-only",
				who, n->devid, n->backend);
	/* Any domid: the longest, so a name that fits here fits always. */
	if (rt_vif_name(0x7fef, n, tap, sizeof(tap)))
		return exl_fail(err, -ENAMETOOLONG,
				"%s: vif %d: vifname=%s is longer than %d characters (a Linux interface name)",
				who, n->devid, n->vifname, IFNAMSIZ - 1);
	return 0;
}

int kvm_nics_plumb(struct enso_ctx *ctx, uint32_t domid,
		   const struct enso_domain_config *c, struct enso_error *err)
{
	int rc = 0;
	size_t i;

	for (i = 0; i < c->nnics && !rc; i++)
		rc = rt_vif_plumb(ctx, domid, &c->nics[i], NULL, true, err);
	/* Those plumbed before: their bridge ports and limits go with
	 * QEMU's taps, but a user's script hears "remove". */
	while (rc && i-- > 1) {
		struct enso_error undo;

		rt_vif_unplumb(ctx, domid, &c->nics[i - 1], NULL, false, &undo);
	}
	return rc;
}

void kvm_nics_gone(struct enso_ctx *ctx, uint32_t domid)
{
	struct enso_domain_config c;
	struct enso_error e;
	size_t i;

	if (rt_config_load(ctx, domid, &c, &e) == 0)
		for (i = 0; i < c.nnics; i++)
			rt_vif_unplumb(ctx, domid, &c.nics[i], NULL, false, &e);
	enso_config_dispose(&c);
}

static char *netdev_args(const char *id, const char *tap)
{
	yajl_gen g = kvm_jopen();

	if (!g)
		return NULL;
	kvm_jput_str(g, "type", "tap");
	kvm_jput_str(g, "id", id);
	kvm_jput_str(g, "ifname", tap);
	kvm_jput_str(g, "script", "no");
	kvm_jput_str(g, "downscript", "no");
	return kvm_jdone(g);
}

static char *device_args(const char *id, const char *net, const char *port,
			 const uint8_t m[6])
{
	yajl_gen g = kvm_jopen();
	char mac[18];

	if (!g)
		return NULL;
	snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1],
		 m[2], m[3], m[4], m[5]);
	kvm_jput_str(g, "driver", "virtio-net-pci");
	kvm_jput_str(g, "id", id);
	kvm_jput_str(g, "netdev", net);
	kvm_jput_str(g, "bus", port);
	kvm_jput_str(g, "mac", mac);
	return kvm_jdone(g);
}

/* QEMU still has a device of that id (qom-list of its peripherals). */
static bool device_exists(struct qmp *q, uint32_t domid, const char *id)
{
	yajl_val ret = NULL, list;
	bool found = true;	/* when QEMU cannot say: as if it were */

	if (kvm_qmp_call(q, domid, "qom-list",
			 "{\"path\":\"/machine/peripheral\"}", &ret, NULL))
		return found;
	list = kvm_jget(ret, "return", NULL);
	if (list && YAJL_IS_ARRAY(list)) {
		found = false;
		for (size_t i = 0; i < list->u.array.len && !found; i++) {
			const char *name = kvm_jstr(kvm_jget(list->u.array.values[i],
							     "name", NULL));

			found = name && !strcmp(name, id);
		}
	}
	yajl_tree_free(ret);
	return found;
}

int kvm_nic_attach(struct enso_ctx *ctx, uint32_t domid,
		   const struct backend_device *dev, struct enso_error *err)
{
	const struct enso_nic *n = dev->u.nic;
	char who[32], net[32], id[32], port[32], tap[IFNAMSIZ];
	struct enso_error undo;
	struct qmp *q = NULL;
	int rc;

	snprintf(who, sizeof(who), "domain %u", domid);
	rc = kvm_check_nic(who, n, err);
	if (rc)
		return rc;
	rt_vif_name(domid, n, tap, sizeof(tap));
	snprintf(net, sizeof(net), KVM_NIC_NET "%d", n->devid);
	snprintf(id, sizeof(id), KVM_NIC_DEV "%d", n->devid);
	rc = kvm_plug_open(ctx, domid, &q, port, sizeof(port), err);
	if (rc)
		goto out;
	rc = kvm_qmp_take(q, domid, "netdev_add", netdev_args(net, tap), err);
	if (rc)
		goto out;
	rc = rt_vif_plumb(ctx, domid, n, NULL, true, err);
	if (rc) {
		kvm_qmp_take(q, domid, "netdev_del", kvm_id_args(net), NULL);
		goto out;
	}
	rc = kvm_qmp_take(q, domid, "device_add",
			  device_args(id, net, port, n->mac), err);
	if (rc) {
		rt_vif_unplumb(ctx, domid, n, NULL, false, &undo);
		kvm_qmp_take(q, domid, "netdev_del", kvm_id_args(net), NULL);
		goto out;
	}
	kvm_wait_guest_sees(q, domid, id);
out:
	if (rc)
		exl_err_prefix(err, "vif %d: ", n->devid);
	qmp_close(q);
	return rc;
}

int kvm_nic_detach(struct enso_ctx *ctx, uint32_t domid,
		   const struct backend_device *dev, bool force,
		   int timeout_ms, struct enso_error *err)
{
	const struct enso_nic *n = dev->u.nic;
	char net[32], id[32], who[32];
	struct enso_error unplug = { "" };
	struct qmp *q = NULL;
	int rc;

	snprintf(net, sizeof(net), KVM_NIC_NET "%d", n->devid);
	snprintf(id, sizeof(id), KVM_NIC_DEV "%d", n->devid);
	rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);
	if (rc)
		return rc;
	/* A device already gone (a late eject after a detach that timed
	 * out) is refused by device_del: its netdev and tap still go. */
	snprintf(who, sizeof(who), "vif %d", n->devid);
	rc = kvm_unplug(q, domid, id, force, timeout_ms, who,
			"the NIC (its tap stays plumbed)", &unplug);
	if (rc < 0 && !device_exists(q, domid, id))
		rc = 1;
	if (rc <= 0) {
		if (err)
			*err = unplug;
		goto out;
	}
	/* The tap goes with QEMU's netdev (one already gone refuses: no
	 * matter, the undo deletes a tap that is left); the undo runs a
	 * user's script and finds the built-in plumbing gone already. */
	kvm_qmp_take(q, domid, "netdev_del", kvm_id_args(net), NULL);
	rc = rt_vif_unplumb(ctx, domid, n, NULL, true, err);
out:
	if (rc)
		exl_err_prefix(err, "vif %d: ", n->devid);
	qmp_close(q);
	return rc;
}
