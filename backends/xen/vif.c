/*
 * backends/xen/vif.c: a guest's PV network interfaces on Xen, served by
 * enso-netback on a tap that libxl plumbs.
 *
 * The order is upstream's, with Enso's tap in the place of the kernel's
 * vif: the tap (vif<domid>.<devid>, or vifname=) is made first, persistent
 * and multi-queue, so that netback finds it whenever the guest connects;
 * then the backend and frontend directories (xen/io/netif.h's nodes, in
 * one transaction); then, once netback took the device (InitWait), the
 * host side is plumbed (the bridge, or the user's script=, which reads
 * the backend's nodes as a vif-bridge script does) and hotplug-status
 * says so; then a running guest connects.  Detach and destroy undo it in
 * the reverse order, so a script's "offline" still finds its nodes.
 *
 * netback serves backend/enso-vif/, not backend/vif/: Linux's
 * xen-netback, which udev loads on any dom0, claims every backend/vif/
 * device (as xen-blkback does backend/vbd/; see vbd.c).
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/xen/xen.h"

/* enso-netback's directory (netback/netback.h NETBACK_DIR). */
#define VIF_DIR "enso-vif"

static const struct xen_pvdev_class vif_class = {
	.kind = "vif",
	.daemon = "netback",
	.daemon_env = "ENSO_NETBACK",
	.be_dir = VIF_DIR,
	.fe_class = "vif",
	.frontend = "netfront",
};

/* What Enso cannot serve, said before anything is built. */
int xen_vif_check(const char *name, const struct enso_nic *n,
		  struct enso_error *err)
{
	if (n->backend && strcmp(n->backend, "0") &&
	    strcmp(n->backend, "Domain-0"))
		return exl_fail(err, -ENOSYS,
				"%s: vif %d: backend=%s: driver domains are not supported yet",
				name, n->devid, n->backend);
	if (n->vifname && strlen(n->vifname) >= IFNAMSIZ)
		return exl_fail(err, -ENAMETOOLONG,
				"%s: vif %d: vifname=%s: longer than %d characters",
				name, n->devid, n->vifname, IFNAMSIZ - 1);
	return 0;
}

struct vif_nodes {
	uint32_t domid, devid;
	const struct enso_nic *n;
	const struct xen_pvdev *p;
	const char *ifname;
};

static bool put_vif_nodes(struct enso_ctx *ctx, xs_transaction_t t, void *arg)
{
	const struct vif_nodes *v = arg;
	const struct enso_nic *n = v->n;
	const char *be = v->p->be, *fe = v->p->fe;
	unsigned mtu = n->mtu ? n->mtu : 1500;
	char mac[18];

	exl_mac_format(n->mac, mac);
	if (!(xen_store_mkdir(ctx, t, be, 0, v->domid) &&
	      xen_store_put(ctx, t, be, "frontend", "%s", fe) &&
	      xen_store_put(ctx, t, be, "frontend-id", "%u", v->domid) &&
	      xen_store_put(ctx, t, be, "online", "1") &&
	      xen_store_put(ctx, t, be, "mac", "%s", mac) &&
	      xen_store_put(ctx, t, be, "handle", "%u", v->devid) &&
	      xen_store_put(ctx, t, be, "type", "vif") &&
	      xen_store_put(ctx, t, be, "mtu", "%u", mtu) &&
	      xen_store_put(ctx, t, be, "vifname", "%s", v->ifname)))
		return false;
	if (n->bridge && !xen_store_put(ctx, t, be, "bridge", "%s", n->bridge))
		return false;
	if (n->script && !xen_store_put(ctx, t, be, "script", "%s", n->script))
		return false;
	if (n->ip && !xen_store_put(ctx, t, be, "ip", "%s", n->ip))
		return false;
	/* upstream's form: bytes per interval, the interval in us */
	if (n->rate_bytes_per_interval &&
	    !xen_store_put(ctx, t, be, "rate", "%llu,%u",
			   (unsigned long long)n->rate_bytes_per_interval,
			   n->rate_interval_usecs))
		return false;
	return xen_store_put(ctx, t, be, "state", "%d", 1) &&
	       xen_store_mkdir(ctx, t, fe, v->domid, 0) &&
	       xen_store_put(ctx, t, fe, "backend", "%s", be) &&
	       xen_store_put(ctx, t, fe, "backend-id", "0") &&
	       xen_store_put(ctx, t, fe, "handle", "%u", v->devid) &&
	       xen_store_put(ctx, t, fe, "mac", "%s", mac) &&
	       xen_store_put(ctx, t, fe, "mtu", "%u", mtu) &&
	       xen_store_put(ctx, t, fe, "trusted", "%d", n->trusted != 0) &&
	       xen_store_put(ctx, t, fe, "state", "%d", 1);
}

int xen_vif_attach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		   const struct enso_nic *n, struct enso_error *err)
{
	struct vif_nodes v = { domid, devid, n, NULL, NULL };
	struct enso_error ignored;
	struct xen_pvdev p;
	char name[32], label[16], ifname[IF_NAMESIZE], who[64];
	int rc;

	snprintf(name, sizeof(name), "domain %u", domid);
	rc = xen_vif_check(name, n, err);
	if (rc)
		return rc;
	rc = rt_vif_name(domid, n, ifname, sizeof(ifname));
	if (rc)
		return exl_fail(err, rc, "domain %u: vif %u: no name for its tap: %s",
				domid, devid, strerror(-rc));
	snprintf(label, sizeof(label), "%u", devid);
	xen_pvdev_init(&p, &vif_class, domid, devid, label);
	if (xen_pvdev_exists(ctx, &p))
		return exl_fail(err, -EEXIST, "domain %u: vif %u exists", domid,
				devid);
	if (if_nametoindex(ifname))
		return exl_fail(err, -EEXIST,
				"domain %u: vif %u: the host has an interface %s already",
				domid, devid, ifname);
	rc = xen_pvdev_daemon(ctx, &vif_class, err);
	if (rc)
		return rc;
	rc = rt_vif_tap_create(ctx, domid, n, true, err);
	if (rc)
		return rc;
	v.p = &p;
	v.ifname = ifname;
	snprintf(who, sizeof(who), "domain %u: vif %u", domid, devid);
	rc = xen_store_txn(ctx, put_vif_nodes, &v, who, p.be, err);
	if (rc)
		goto fail;
	rc = xen_pvdev_wait_taken(ctx, &p, err);
	if (rc)
		goto fail;
	/* netback enforces rate= itself: no police on the tap. */
	rc = rt_vif_plumb(ctx, domid, n, p.be, false, err);
	if (rc)
		goto fail;
	if (!xen_store_put(ctx, XBT_NULL, p.be, "hotplug-status", "connected")) {
		rc = exl_fail(err, -(errno ? errno : EIO),
			      "%s: writing hotplug-status: %s", who,
			      strerror(errno ? errno : EIO));
		goto fail;
	}
	rc = xen_pvdev_wait_connected(ctx, &p, err);
	if (!rc)
		return 0;
fail:
	rt_vif_unplumb(ctx, domid, n, p.be, true, &ignored);
	xen_pvdev_remove(ctx, &p);
	return rc;
}

int xen_vif_detach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		   const struct enso_nic *n, bool force, int timeout_ms,
		   struct enso_error *err)
{
	struct enso_error unplumb = { "" };
	struct xen_pvdev p;
	char label[16];

	snprintf(label, sizeof(label), "%u", devid);
	xen_pvdev_init(&p, &vif_class, domid, devid, label);
	xen_pvdev_close(ctx, &p, force, timeout_ms, err);
	/* The tap goes whatever its plumbing says: the device is gone. */
	if (rt_vif_unplumb(ctx, domid, n, p.be, true, &unplumb) &&
	    err && !err->msg[0])
		exl_fail(err, 0, "%s", unplumb.msg);
	xen_pvdev_remove(ctx, &p);
	return 0;
}

/* One vif of a domain being destroyed, as its backend nodes describe it:
 * enough to unplumb it (its tap's name, its script). */
static void vif_remove(struct enso_ctx *ctx, uint32_t domid, const char *dir,
		       const char *id)
{
	struct enso_error ignored;
	struct enso_nic n = { .devid = atoi(id), .trusted = -1 };
	char be[160];

	snprintf(be, sizeof(be), "%s/%s", dir, id);
	n.vifname = rt_xs_read(ctx, "%s/vifname", be);
	n.script = rt_xs_read(ctx, "%s/script", be);
	n.bridge = rt_xs_read(ctx, "%s/bridge", be);
	rt_vif_unplumb(ctx, domid, &n, be, true, &ignored);
	free(n.vifname);
	free(n.script);
	free(n.bridge);
}

/* A destroyed domain's vifs: their taps, then the directories (netback
 * then lets go of the grants, channels and tap queues it held). */
void xen_vif_remove_all(struct enso_ctx *ctx, uint32_t domid)
{
	char dir[96], **ids;
	unsigned i, n = 0;

	snprintf(dir, sizeof(dir), "/local/domain/0/backend/" VIF_DIR "/%u",
		 domid);
	ids = xs_directory(rt_xsh(ctx), XBT_NULL, dir, &n);
	for (i = 0; ids && i < n; i++)
		vif_remove(ctx, domid, dir, ids[i]);
	free(ids);
	xen_pvdev_remove_all(ctx, &vif_class, domid);
}
