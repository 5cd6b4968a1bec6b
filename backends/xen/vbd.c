/*
 * backends/xen/vbd.c: a guest's PV disks on Xen, served by enso-blkback.
 *
 * The toolstack's half of the xenbus handshake for a vbd (xen/io/xenbus.h,
 * xen/io/blkif.h): the backend and frontend directories, written in one
 * transaction with the permissions the two ends need; enso-blkback
 * (blkback/, one daemon for the host, started here when none runs) does
 * the rest.  The daemon, the bounded waits and the detach handshake are
 * every PV device's: pvdev.c.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "backends/xen/xen.h"
/* enso-blkback's directory (blkback/blkback.h BLKBACK_DIR): not
 * backend/vbd/, which Linux's xen-blkback would take. */
#define VBD_DIR "enso-vbd"

static const struct xen_pvdev_class vbd_class = {
	.kind = "disk",
	.daemon = "blkback",
	.daemon_env = "ENSO_BLKBACK",
	.be_dir = VBD_DIR,
	.fe_class = "vbd",
	.frontend = "blkfront",
};

/* What Enso's blkback cannot serve, said before anything is built. */
int xen_vbd_check(const char *name, const struct enso_disk *d,
		  struct enso_error *err)
{
	const char *vdev = d->vdev ? d->vdev : "?";

	if (!d->target || !*d->target)
		return exl_fail(err, -ENOSYS,
				"%s: disk %s: an empty cdrom drive is not served on Xen yet",
				name, vdev);
	if (d->format != ENSO_DISK_FORMAT_RAW)
		return exl_fail(err, -ENOSYS,
				"%s: disk %s: format %s: Enso's blkback serves raw images and block devices; convert it (qemu-img convert -O raw)",
				name, vdev, enso_disk_format_name(d->format));
	if (d->script)
		return exl_fail(err, -ENOSYS,
				"%s: disk %s: script=%s: block hotplug scripts are not run by Enso yet",
				name, vdev, d->script);
	if (d->backend && strcmp(d->backend, "0") &&
	    strcmp(d->backend, "Domain-0"))
		return exl_fail(err, -ENOSYS,
				"%s: disk %s: backend=%s: driver domains are not supported yet",
				name, vdev, d->backend);
	if (access(d->target, d->readwrite ? R_OK | W_OK : R_OK))
		return exl_fail(err, -errno, "%s: disk %s: %s: %s", name, vdev,
				d->target, strerror(errno));
	return 0;
}

/* ---- the nodes ---- */

struct vbd_nodes {
	uint32_t domid, devid;
	const struct enso_disk *d;
	const struct xen_pvdev *p;
};

static bool put_vbd_nodes(struct enso_ctx *ctx, xs_transaction_t t, void *arg)
{
	const struct vbd_nodes *n = arg;
	const struct enso_disk *d = n->d;
	const char *be = n->p->be, *fe = n->p->fe;
	const char *type = d->is_cdrom ? "cdrom" : "disk";

	return xen_store_mkdir(ctx, t, be, 0, n->domid) &&
	       xen_store_put(ctx, t, be, "frontend", "%s", fe) &&
	       xen_store_put(ctx, t, be, "frontend-id", "%u", n->domid) &&
	       xen_store_put(ctx, t, be, "online", "1") &&
	       xen_store_put(ctx, t, be, "removable", "%d", d->is_cdrom) &&
	       xen_store_put(ctx, t, be, "bootable", "1") &&
	       xen_store_put(ctx, t, be, "type", "phy") &&
	       xen_store_put(ctx, t, be, "dev", "%s", d->vdev) &&
	       xen_store_put(ctx, t, be, "params", "%s", d->target) &&
	       xen_store_put(ctx, t, be, "mode", "%s", d->readwrite ? "w" : "r") &&
	       xen_store_put(ctx, t, be, "device-type", "%s", type) &&
	       xen_store_put(ctx, t, be, "discard-enable", "%d", d->discard != 0) &&
	       xen_store_put(ctx, t, be, "state", "%d", 1) &&
	       xen_store_mkdir(ctx, t, fe, n->domid, 0) &&
	       xen_store_put(ctx, t, fe, "backend", "%s", be) &&
	       xen_store_put(ctx, t, fe, "backend-id", "0") &&
	       xen_store_put(ctx, t, fe, "virtual-device", "%u", n->devid) &&
	       xen_store_put(ctx, t, fe, "device-type", "%s", type) &&
	       xen_store_put(ctx, t, fe, "trusted", "%d", d->trusted != 0) &&
	       xen_store_put(ctx, t, fe, "state", "%d", 1);
}

/* The backend and frontend directories, in one transaction. */
static int vbd_write(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		     const struct enso_disk *d, const struct xen_pvdev *p,
		     struct enso_error *err)
{
	struct vbd_nodes n = { domid, devid, d, p };
	char who[96];

	snprintf(who, sizeof(who), "domain %u: disk %s", domid, d->vdev);
	return xen_store_txn(ctx, put_vbd_nodes, &n, who, p->be, err);
}

int xen_vbd_attach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		   const struct enso_disk *d, struct enso_error *err)
{
	struct xen_pvdev p;
	char name[32];
	int rc;

	snprintf(name, sizeof(name), "domain %u", domid);
	rc = xen_vbd_check(name, d, err);
	if (rc)
		return rc;
	xen_pvdev_init(&p, &vbd_class, domid, devid, d->vdev);
	if (xen_pvdev_exists(ctx, &p))
		return exl_fail(err, -EEXIST, "domain %u: disk %s (%u) exists",
				domid, d->vdev, devid);
	rc = xen_pvdev_daemon(ctx, &vbd_class, err);
	if (rc)
		return rc;
	rc = vbd_write(ctx, domid, devid, d, &p, err);
	if (rc)
		return rc;
	/* InitWait: the backend opened the disk and wrote its features. */
	rc = xen_pvdev_wait_taken(ctx, &p, err);
	if (!rc)
		rc = xen_pvdev_wait_connected(ctx, &p, err);
	if (rc)
		xen_pvdev_remove(ctx, &p);
	return rc;
}

int xen_vbd_detach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		   const struct enso_disk *d, bool force, int timeout_ms,
		   struct enso_error *err)
{
	struct xen_pvdev p;

	xen_pvdev_init(&p, &vbd_class, domid, devid, d->vdev);
	xen_pvdev_close(ctx, &p, force, timeout_ms, err);
	xen_pvdev_remove(ctx, &p);
	return 0;
}

/* A destroyed domain's disks: the backend lets go of its grants and
 * channels when it sees the directories gone. */
void xen_vbd_remove_all(struct enso_ctx *ctx, uint32_t domid)
{
	xen_pvdev_remove_all(ctx, &vbd_class, domid);
}
