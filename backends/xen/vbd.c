/*
 * backends/xen/vbd.c: a guest's PV disks on Xen, served by enso-blkback.
 *
 * The toolstack's half of the xenbus handshake for a vbd (xen/io/xenbus.h,
 * xen/io/blkif.h): the backend and frontend directories, written in one
 * transaction with the permissions the two ends need; enso-blkback
 * (blkback/, one daemon for the host, started here when none runs) does
 * the rest.  Attach waits, bounded, for the backend to take the disk and
 * for a running guest to connect; detach asks the guest through the
 * backend's state (Closing, online 0) and removes the directories once it
 * let go or the time is up.
 *
 * The waits read the state nodes every 20 ms rather than watch them: the
 * context's store handle is shared with its other users, and a poll
 * bounded by a deadline cannot miss an event or leave a watch behind.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/xen/xen.h"
#include "enso-util.h"

#ifndef ENSO_SBINDIR
#define ENSO_SBINDIR "/usr/local/sbin"
#endif

#define VBD_WAIT_MS 10000
/* enso-blkback's directory (blkback/blkback.h BLKBACK_DIR): not
 * backend/vbd/, which Linux's xen-blkback would take. */
#define VBD_DIR "enso-vbd"

struct vbd_paths {
	char be[96], fe[96];
};

static void vbd_paths(uint32_t domid, uint32_t devid, struct vbd_paths *p)
{
	snprintf(p->be, sizeof(p->be), "/local/domain/0/backend/" VBD_DIR "/%u/%u",
		 domid, devid);
	snprintf(p->fe, sizeof(p->fe), "/local/domain/%u/device/vbd/%u", domid,
		 devid);
}

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

/* ---- the daemon ---- */

static int blkback_ensure(struct enso_ctx *ctx, struct enso_error *err)
{
	char pid_file[512], log_file[512], pid_arg[600], log_arg[600];
	const char *bin = getenv("ENSO_BLKBACK");
	int status = -1;
	pid_t pid;

	snprintf(pid_file, sizeof(pid_file), "%s/blkback.pid", rt_run_dir(ctx));
	if (pid_file_locked(pid_file))
		return 0;
	snprintf(log_file, sizeof(log_file), "%s/blkback.log", rt_log_dir(ctx));
	snprintf(pid_arg, sizeof(pid_arg), "--pid-file=%s", pid_file);
	snprintf(log_arg, sizeof(log_arg), "--log-file=%s", log_file);
	if (!bin || !*bin)
		bin = ENSO_SBINDIR "/enso-blkback";
	pid = fork();
	if (pid < 0)
		return exl_fail(err, -errno, "starting %s: %s", bin,
				strerror(errno));
	if (pid == 0) {
		execl(bin, "enso-blkback", pid_arg, log_arg, (char *)NULL);
		_exit(127);
	}
	/* It forks and its parent exits once the daemon serves (or died). */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid_file_locked(pid_file))
		return 0;	/* ours, or another create's that won the race */
	return exl_fail(err, -ESRCH,
			"the disk backend %s did not start (%s %d); see %s", bin,
			WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			log_file);
}

/* ---- the nodes ---- */

struct vbd_nodes {
	uint32_t domid, devid;
	const struct enso_disk *d;
	const struct vbd_paths *p;
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
		     const struct enso_disk *d, const struct vbd_paths *p,
		     struct enso_error *err)
{
	struct vbd_nodes n = { domid, devid, d, p };
	char who[96];

	snprintf(who, sizeof(who), "domain %u: disk %s", domid, d->vdev);
	return xen_store_txn(ctx, put_vbd_nodes, &n, who, p->be, err);
}

static void vbd_remove(struct enso_ctx *ctx, const struct vbd_paths *p)
{
	xs_rm(rt_xsh(ctx), XBT_NULL, p->be);
	xs_rm(rt_xsh(ctx), XBT_NULL, p->fe);
}

static bool exists(struct enso_ctx *ctx, const char *path)
{
	char *v = rt_xs_read(ctx, "%s", path);

	free(v);
	return v != NULL;
}

/* The backend's state; -1 when it has none (or not a number). */
static int be_state(struct enso_ctx *ctx, const struct vbd_paths *p)
{
	char *s = rt_xs_read(ctx, "%s/state", p->be);
	int v = -1;

	if (s && *s)
		v = atoi(s);
	free(s);
	return v;
}

/* Until the backend's state is one of want (a bitmask of states) or the
 * deadline: 0, -ETIMEDOUT, or -EIO with err saying what the backend's
 * error node says (it went Closed on its own). */
static int vbd_wait(struct enso_ctx *ctx, const struct vbd_paths *p,
		    unsigned want, bool closed_is_error, int timeout_ms,
		    int *last)
{
	long long deadline = monotonic_ms() + timeout_ms;

	for (;;) {
		int s = be_state(ctx, p);

		*last = s;
		if (s >= 0 && s < 32 && (want & (1u << s)))
			return 0;
		if (closed_is_error && s == 6)
			return -EIO;
		if (monotonic_ms() >= deadline)
			return -ETIMEDOUT;
		usleep(20 * 1000);
	}
}

static bool domain_paused(struct enso_ctx *ctx, uint32_t domid)
{
	struct xen_backend *xb = xen_backend(ctx, NULL);	/* opened if not yet */
	xc_domaininfo_t di;

	return xb && xc_domain_getinfolist(xb->xch, domid, 1, &di) == 1 &&
	       di.domain == domid && (di.flags & XEN_DOMINF_paused);
}

static int vbd_attach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		      const struct enso_disk *d, struct enso_error *err)
{
	struct vbd_paths p;
	char name[32], *why = NULL;
	int rc, last;

	snprintf(name, sizeof(name), "domain %u", domid);
	rc = xen_vbd_check(name, d, err);
	if (rc)
		return rc;
	vbd_paths(domid, devid, &p);
	if (exists(ctx, p.be) || exists(ctx, p.fe))
		return exl_fail(err, -EEXIST, "domain %u: disk %s (%u) exists",
				domid, d->vdev, devid);
	rc = blkback_ensure(ctx, err);
	if (rc)
		return rc;
	rc = vbd_write(ctx, domid, devid, d, &p, err);
	if (rc)
		return rc;
	/* InitWait: the backend opened the disk and wrote its features. */
	rc = vbd_wait(ctx, &p, 1u << 2 | 1u << 4, true, VBD_WAIT_MS, &last);
	if (rc == 0 && !domain_paused(ctx, domid))
		rc = vbd_wait(ctx, &p, 1u << 4, true, VBD_WAIT_MS, &last);
	if (rc == 0)
		return 0;
	why = rt_xs_read(ctx, "%s/error", p.be);
	if (why && *why)
		rc = exl_fail(err, -EIO, "domain %u: disk %s: %s", domid,
			      d->vdev, why);
	else if (last == 6)
		rc = exl_fail(err, -EIO,
			      "domain %u: disk %s: the backend closed it; see %s/blkback.log",
			      domid, d->vdev, rt_log_dir(ctx));
	else if (last < 2)
		rc = exl_fail(err, rc,
			      "domain %u: disk %s: the backend did not take it within %d s; see %s/blkback.log",
			      domid, d->vdev, VBD_WAIT_MS / 1000, rt_log_dir(ctx));
	else
		rc = exl_fail(err, rc,
			      "domain %u: disk %s: the guest did not connect it within %d s (state %d; has it a blkfront driver?)",
			      domid, d->vdev, VBD_WAIT_MS / 1000, last);
	free(why);
	vbd_remove(ctx, &p);
	return rc;
}

static int vbd_detach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		      const struct enso_disk *d, bool force, int timeout_ms,
		      struct enso_error *err)
{
	struct xs_handle *xs = rt_xsh(ctx);
	struct vbd_paths p;
	int last = -1, rc = -ETIMEDOUT;

	vbd_paths(domid, devid, &p);
	if (!exists(ctx, p.be)) {
		vbd_remove(ctx, &p);	/* a frontend half, if any */
		return 0;
	}
	if (!force) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t != XBT_NULL) {
			bool ok = xen_store_put(ctx, t, p.be, "online", "0") &&
				  xen_store_put(ctx, t, p.be, "state", "%d", 5);

			xs_transaction_end(xs, t, !ok);
		}
		rc = vbd_wait(ctx, &p, 1u << 6, false, timeout_ms, &last);
	}
	vbd_remove(ctx, &p);
	/* Said, not failed: the disk is gone either way. */
	if (!force && rc)
		exl_fail(err, 0,
			 "domain %u: disk %s: the guest did not let go within %d s (state %d); removed it anyway",
			 domid, d->vdev, timeout_ms / 1000, last);
	return 0;
}

int xen_device_attach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, struct enso_error *err)
{
	if (dev->kind != BACKEND_DEVICE_DISK)
		return exl_fail(err, -ENOSYS,
				"domain %u: PV network on Xen needs Enso's netback, not written yet",
				domid);
	return vbd_attach(ctx, domid, dev->devid, dev->u.disk, err);
}

int xen_device_detach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, bool force,
		      int timeout_ms, struct enso_error *err)
{
	if (dev->kind != BACKEND_DEVICE_DISK)
		return exl_fail(err, -ENOSYS,
				"domain %u: PV network on Xen needs Enso's netback, not written yet",
				domid);
	return vbd_detach(ctx, domid, dev->devid, dev->u.disk, force,
			  timeout_ms, err);
}

/* A destroyed domain's disks: the backend lets go of its grants and
 * channels when it sees the directories gone. */
void xen_vbd_remove_all(struct enso_ctx *ctx, uint32_t domid)
{
	char path[64];

	snprintf(path, sizeof(path), "/local/domain/0/backend/" VBD_DIR "/%u",
		 domid);
	xs_rm(rt_xsh(ctx), XBT_NULL, path);
}
