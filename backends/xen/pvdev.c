/*
 * backends/xen/pvdev.c: what every PV device of a Xen guest needs from
 * the toolstack, whatever its class: the backend daemon running, the
 * bounded waits on the backend's xenbus state, the detach handshake and
 * the removal of the nodes.  vbd.c (disks, enso-blkback) and vif.c
 * (networks, enso-netback) write their own nodes and call these.
 *
 * The waits read the state nodes every 20 ms rather than watch them: the
 * context's store handle is shared with its other users, and a poll
 * bounded by a deadline cannot miss an event or leave a watch behind.
 */
#include <errno.h>
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

void xen_pvdev_init(struct xen_pvdev *p, const struct xen_pvdev_class *cls,
		    uint32_t domid, uint32_t devid, const char *label)
{
	p->cls = cls;
	p->domid = domid;
	p->devid = devid;
	snprintf(p->label, sizeof(p->label), "%s", label);
	snprintf(p->be, sizeof(p->be), "/local/domain/0/backend/%s/%u/%u",
		 cls->be_dir, domid, devid);
	snprintf(p->fe, sizeof(p->fe), "/local/domain/%u/device/%s/%u", domid,
		 cls->fe_class, devid);
}

/* ---- the daemon: one for the host, started when none holds its pid
 * file's lock ---- */

int xen_pvdev_daemon(struct enso_ctx *ctx, const struct xen_pvdev_class *cls,
		     struct enso_error *err)
{
	char pid_file[512], log_file[512], pid_arg[600], log_arg[600];
	char prog[32], dflt[128];
	const char *bin = getenv(cls->daemon_env);
	int status = -1;
	pid_t pid;

	snprintf(pid_file, sizeof(pid_file), "%s/%s.pid", rt_run_dir(ctx),
		 cls->daemon);
	if (pid_file_locked(pid_file))
		return 0;
	snprintf(log_file, sizeof(log_file), "%s/%s.log", rt_log_dir(ctx),
		 cls->daemon);
	snprintf(pid_arg, sizeof(pid_arg), "--pid-file=%s", pid_file);
	snprintf(log_arg, sizeof(log_arg), "--log-file=%s", log_file);
	snprintf(prog, sizeof(prog), "enso-%s", cls->daemon);
	snprintf(dflt, sizeof(dflt), ENSO_SBINDIR "/%s", prog);
	if (!bin || !*bin)
		bin = dflt;
	pid = fork();
	if (pid < 0)
		return exl_fail(err, -errno, "starting %s: %s", bin,
				strerror(errno));
	if (pid == 0) {
		execl(bin, prog, pid_arg, log_arg, (char *)NULL);
		_exit(127);
	}
	/* It forks and its parent exits once the daemon serves (or died). */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (pid_file_locked(pid_file))
		return 0;	/* ours, or another create's that won the race */
	return exl_fail(err, -ESRCH,
			"the %s backend %s did not start (%s %d); see %s",
			cls->kind, bin, WIFEXITED(status) ? "exit" : "signal",
			WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
			log_file);
}

/* ---- the nodes ---- */

static bool exists(struct enso_ctx *ctx, const char *path)
{
	char *v = rt_xs_read(ctx, "%s", path);

	free(v);
	return v != NULL;
}

bool xen_pvdev_exists(struct enso_ctx *ctx, const struct xen_pvdev *p)
{
	return exists(ctx, p->be) || exists(ctx, p->fe);
}

void xen_pvdev_remove(struct enso_ctx *ctx, const struct xen_pvdev *p)
{
	xs_rm(rt_xsh(ctx), XBT_NULL, p->be);
	xs_rm(rt_xsh(ctx), XBT_NULL, p->fe);
}

void xen_pvdev_remove_all(struct enso_ctx *ctx,
			  const struct xen_pvdev_class *cls, uint32_t domid)
{
	char path[96];

	snprintf(path, sizeof(path), "/local/domain/0/backend/%s/%u",
		 cls->be_dir, domid);
	xs_rm(rt_xsh(ctx), XBT_NULL, path);
}

/* The backend's state; -1 when it has none (or not a number). */
static int be_state(struct enso_ctx *ctx, const struct xen_pvdev *p)
{
	char *s = rt_xs_read(ctx, "%s/state", p->be);
	int v = -1;

	if (s && *s)
		v = atoi(s);
	free(s);
	return v;
}

/* Until the backend's state is one of want (a bitmask of states) or the
 * deadline: 0, -ETIMEDOUT, or -EIO when it went Closed on its own. */
static int wait_state(struct enso_ctx *ctx, const struct xen_pvdev *p,
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

/* Why the device is not served, in err; its nodes stay (the caller
 * removes them with what else it made). */
static int not_served(struct enso_ctx *ctx, const struct xen_pvdev *p,
		      int rc, int last, struct enso_error *err)
{
	const struct xen_pvdev_class *c = p->cls;
	char *why = rt_xs_read(ctx, "%s/error", p->be);

	if (why && *why)
		rc = exl_fail(err, -EIO, "domain %u: %s %s: %s", p->domid,
			      c->kind, p->label, why);
	else if (last == 6)
		rc = exl_fail(err, -EIO,
			      "domain %u: %s %s: the backend closed it; see %s/%s.log",
			      p->domid, c->kind, p->label, rt_log_dir(ctx),
			      c->daemon);
	else if (last < 2)
		rc = exl_fail(err, rc,
			      "domain %u: %s %s: the backend did not take it within %d s; see %s/%s.log",
			      p->domid, c->kind, p->label,
			      XEN_PVDEV_WAIT_MS / 1000, rt_log_dir(ctx),
			      c->daemon);
	else
		rc = exl_fail(err, rc,
			      "domain %u: %s %s: the guest did not connect it within %d s (state %d; has it a %s driver?)",
			      p->domid, c->kind, p->label,
			      XEN_PVDEV_WAIT_MS / 1000, last, c->frontend);
	free(why);
	return rc;
}

int xen_pvdev_wait_taken(struct enso_ctx *ctx, const struct xen_pvdev *p,
			 struct enso_error *err)
{
	int last, rc = wait_state(ctx, p, 1u << 2 | 1u << 4, true,
				  XEN_PVDEV_WAIT_MS, &last);

	return rc ? not_served(ctx, p, rc, last, err) : 0;
}

int xen_pvdev_wait_connected(struct enso_ctx *ctx, const struct xen_pvdev *p,
			     struct enso_error *err)
{
	int last, rc;

	if (domain_paused(ctx, p->domid))
		return 0;	/* it connects when it runs */
	rc = wait_state(ctx, p, 1u << 4, true, XEN_PVDEV_WAIT_MS, &last);
	return rc ? not_served(ctx, p, rc, last, err) : 0;
}

int xen_pvdev_close(struct enso_ctx *ctx, const struct xen_pvdev *p,
		    bool force, int timeout_ms, struct enso_error *err)
{
	struct xs_handle *xs = rt_xsh(ctx);
	int last = -1, rc = -ETIMEDOUT;

	if (force || !exists(ctx, p->be))
		return 0;
	xs_transaction_t t = xs_transaction_start(xs);

	if (t != XBT_NULL) {
		bool ok = xen_store_put(ctx, t, p->be, "online", "0") &&
			  xen_store_put(ctx, t, p->be, "state", "%d", 5);

		xs_transaction_end(xs, t, !ok);
	}
	rc = wait_state(ctx, p, 1u << 6, false, timeout_ms, &last);
	/* Said, not failed: the device goes either way. */
	if (rc)
		exl_fail(err, 0,
			 "domain %u: %s %s: the guest did not let go within %d s (state %d); removed it anyway",
			 p->domid, p->cls->kind, p->label, timeout_ms / 1000,
			 last);
	return 0;
}

/* ---- the ops: one per device kind ---- */

int xen_device_attach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, struct enso_error *err)
{
	if (dev->kind == BACKEND_DEVICE_NIC)
		return xen_vif_attach(ctx, domid, dev->devid, dev->u.nic, err);
	return xen_vbd_attach(ctx, domid, dev->devid, dev->u.disk, err);
}

int xen_device_detach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, bool force,
		      int timeout_ms, struct enso_error *err)
{
	if (dev->kind == BACKEND_DEVICE_NIC)
		return xen_vif_detach(ctx, domid, dev->devid, dev->u.nic,
				      force, timeout_ms, err);
	return xen_vbd_detach(ctx, domid, dev->devid, dev->u.disk, force,
			      timeout_ms, err);
}
