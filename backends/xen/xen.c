/*
 * The Xen backend: domains built through libxenctrl and libxenguest (PV so
 * far; build.c), driven by hypercalls, with the guest-facing requests
 * (shutdown, vCPU hotplug, balloon target) written where the guest's PV
 * drivers watch them in xenstore.
 *
 * The context keeps one xc_interface, opened on first use and closed with
 * the context (xen_close).  The host's monitor (libxl/monitor.c) learns
 * of shutdowns and deaths through @releaseDomain, which it watches itself;
 * a Xen watch here only asks the hypervisor when told to.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include "backends/xen/xen.h"

/* ---- handles and messages ---- */

static void logger_vmessage(struct xentoollog_logger *logger,
			    xentoollog_level level, int errnoval,
			    const char *context, const char *format,
			    va_list al)
{
	struct xen_logger *l = (struct xen_logger *)logger;
	char msg[sizeof(l->last)];
	va_list copy;

	va_copy(copy, al);
	vsnprintf(msg, sizeof(msg), format, copy);
	va_end(copy);
	msg[strcspn(msg, "\n")] = '\0';
	if (l->debug)
		fprintf(stderr, "xen: %s%s%s%s%s\n", context ? context : "",
			context ? ": " : "", msg, errnoval >= 0 ? ": " : "",
			errnoval >= 0 ? strerror(errnoval) : "");
	if (level >= XTL_ERROR) {
		/* The builder's panics read "panic: FILE:LINE: what". */
		const char *m = msg;

		if (!strncmp(m, "panic: ", 7) && strchr(m + 7, ':') &&
		    strstr(m + 7, ": "))
			m = strstr(m + 7, ": ") + 2;
		snprintf(l->last, sizeof(l->last), "%s", m);
		if (!l->first[0])
			snprintf(l->first, sizeof(l->first), "%s", m);
	}
}

static void logger_progress(struct xentoollog_logger *logger,
			    const char *context, const char *doing_what,
			    int percent, unsigned long done,
			    unsigned long total)
{
	(void)logger;
	(void)context;
	(void)doing_what;
	(void)percent;
	(void)done;
	(void)total;
}

static void logger_destroy(struct xentoollog_logger *logger)
{
	(void)logger;	/* part of struct xen_backend */
}

void xen_logger_init(struct xen_logger *l)
{
	const char *debug = getenv("ENSO_XEN_DEBUG");

	memset(l, 0, sizeof(*l));
	l->vtable.vmessage = logger_vmessage;
	l->vtable.progress = logger_progress;
	l->vtable.destroy = logger_destroy;
	l->debug = debug && *debug && strcmp(debug, "0");
}

struct xen_backend *xen_backend(struct enso_ctx *ctx, struct enso_error *err)
{
	struct xen_backend *xb = rt_backend_data(ctx);

	if (!xb) {
		xb = calloc(1, sizeof(*xb));
		if (!xb) {
			exl_fail(err, -ENOMEM, "out of memory");
			return NULL;
		}
		xen_logger_init(&xb->log);
		rt_set_backend_data(ctx, xb);
	}
	if (!xb->xch) {
		xb->xch = xc_interface_open(&xb->log.vtable, &xb->log.vtable, 0);
		if (!xb->xch) {
			exl_fail(err, -ENODEV,
				 "cannot open Xen's control interface (/dev/xen/privcmd): %s; is this Xen's dom0, with xen-privcmd loaded?",
				 strerror(errno));
			return NULL;
		}
	}
	return xb;
}

void xen_log_clear(struct xen_backend *xb)
{
	xb->log.last[0] = '\0';
}

int xen_fail(struct xen_backend *xb, struct enso_error *err, int e,
	     const char *fmt, ...)
{
	char what[384];
	bool no_errno = e <= 0;
	va_list ap;

	if (no_errno)
		e = EIO;
	if (!err)
		return -e;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (no_errno)
		exl_fail(err, -e, "%s: %s", what,
			 xb && xb->log.last[0] ? xb->log.last : "failed");
	else if (xb && xb->log.last[0])
		exl_fail(err, -e, "%s: %s (Xen: %s)", what, strerror(e),
			 xb->log.last);
	else
		exl_fail(err, -e, "%s: %s", what, strerror(e));
	return -e;
}

int xen_getinfo(struct xen_backend *xb, uint32_t domid,
		   xc_domaininfo_t *di, struct enso_error *err)
{
	int n;

	xen_log_clear(xb);
	n = xc_domain_getinfolist(xb->xch, domid, 1, di);
	if (n < 0)
		return xen_fail(xb, err, errno, "domain %u: reading its state",
				domid);
	if (n != 1 || di->domain != domid)
		return exl_fail(err, -ENOENT, "domain %u: Xen has no such domain",
				domid);
	return 0;
}

/* ---- create, destroy ---- */

/* Built paused: libxl unpauses it once the records are written (see
 * build.c). */
static int xen_create(struct enso_ctx *ctx, const struct backend_create *in,
		      uint32_t *domid, struct enso_error *err)
{
	return xen_build(ctx, in, NULL, NULL, domid, err);
}

int xen_destroy_domid(struct enso_ctx *ctx, struct xen_backend *xb,
		      uint32_t domid, struct enso_error *err)
{
	int tries, rc = -EBUSY;

	/* The disk backend lets go of the guest's grants as soon as it
	 * sees this; a domain whose pages are still mapped lingers. */
	xen_vbd_remove_all(ctx, domid);
	xen_vif_remove_all(ctx, domid);
	/* Xen answers EBUSY while it tears a domain down in steps (it
	 * preempts itself); upstream retries too. */
	for (tries = 0; tries < 200; tries++) {
		xen_log_clear(xb);
		if (xc_domain_destroy(xb->xch, domid) == 0) {
			rc = 0;
			break;
		}
		if (errno == ESRCH) {
			rc = exl_fail(err, -ENOENT,
				      "domain %u: Xen has no such domain", domid);
			break;
		}
		if (errno != EBUSY && errno != EAGAIN)
			return xen_fail(xb, err, errno, "destroying domain %u",
					domid);
		usleep(50 * 1000);
	}
	if (rc == -EBUSY)
		return xen_fail(xb, err, EBUSY,
				"destroying domain %u (still busy after 10 s)",
				domid);
	/* No records (libxl never got to write them): what create wrote
	 * would otherwise stay. */
	if (!rt_domain_exists(ctx, domid)) {
		char path[48];

		snprintf(path, sizeof(path), "/local/domain/%u", domid);
		xs_rm(rt_xsh(ctx), XBT_NULL, path);
	}
	return rc;
}

static int xen_destroy(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);

	if (!xb)
		return -ENODEV;
	if (domid == 0)
		return exl_fail(err, -EINVAL, "Domain-0 cannot be destroyed");
	/* xenstored sees the domain die (VIRQ_DOM_EXC), unmaps its ring and
	 * drops what the domain owned; xenconsoled unmaps its console. */
	return xen_destroy_domid(ctx, xb, domid, err);
}

/* Every domain Xen holds, a batch at a time, for the one whose handle is
 * uuid: a create that died between xc_domain_create and libxl's records
 * left it there, known by nothing else. */
static int xen_find_uuid(struct enso_ctx *ctx, const uint8_t uuid[16],
			 uint32_t *domid)
{
	struct xen_backend *xb = xen_backend(ctx, NULL);
	xc_domaininfo_t di[64];
	uint32_t next = 1;
	int n, i;

	if (!xb)
		return -ENODEV;
	for (;;) {
		n = xc_domain_getinfolist(xb->xch, next, 64, di);
		if (n < 0)
			return -errno;
		for (i = 0; i < n; i++) {
			if (!memcmp(di[i].handle, uuid, 16)) {
				*domid = di[i].domain;
				return 0;
			}
		}
		if (n < 64)
			return -ENOENT;
		next = di[n - 1].domain + 1;
	}
}

/* ---- pause, unpause, shutdown ---- */

static int xen_pause(struct enso_ctx *ctx, uint32_t domid,
		     struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);

	if (!xb)
		return -ENODEV;
	xen_log_clear(xb);
	if (xc_domain_pause(xb->xch, domid))
		return xen_fail(xb, err, errno, "pausing domain %u", domid);
	return 0;
}

static int xen_unpause(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	int rc;

	if (!xb)
		return -ENODEV;
	rc = xen_introduce(ctx, domid, err);
	/* A save that failed, save -c, or save -p and a later unpause: the
	 * guest runs again from its suspend. */
	if (!rc)
		rc = xen_resume_suspended(ctx, xb, domid, err);
	if (rc)
		return rc;
	xen_log_clear(xb);
	if (xc_domain_unpause(xb->xch, domid))
		return xen_fail(xb, err, errno, "unpausing domain %u", domid);
	return 0;
}

/* The guest's PV shutdown watch (Linux: drivers/xen/manage.c) acts on
 * control/shutdown; Xen then reports the domain shut down with the
 * guest's reason, and the monitor carries out on_poweroff / on_reboot. */
static int xen_shutdown(struct enso_ctx *ctx, uint32_t domid, bool reboot,
			struct enso_error *err)
{
	char path[64];

	if (domid == 0)
		return exl_fail(err, -EINVAL,
				"Domain-0 is shut down from inside, not by xl");
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	if (!rt_xs_write(ctx, XBT_NULL, path, reboot ? "reboot" : "poweroff"))
		return exl_fail(err, -errno, "writing %s: %s", path,
				strerror(errno));
	return 0;
}

/* ---- what a domain is doing ---- */

static int xen_info(struct enso_ctx *ctx, uint32_t domid,
		    struct backend_dominfo *out, struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	xc_domaininfo_t di;
	int rc;

	if (!xb)
		return -ENODEV;
	rc = xen_getinfo(xb, domid, &di, err);
	if (rc)
		return rc;
	out->running = di.flags & XEN_DOMINF_running;
	out->blocked = di.flags & XEN_DOMINF_blocked;
	out->paused = di.flags & XEN_DOMINF_paused;
	out->shutdown = di.flags & XEN_DOMINF_shutdown;
	out->dying = di.flags & XEN_DOMINF_dying;
	out->shutdown_reason = out->shutdown ?
		(int)((di.flags >> XEN_DOMINF_shutdownshift) &
		      XEN_DOMINF_shutdownmask) : -1;
	out->current_kb = (uint64_t)di.tot_pages * (XC_PAGE_SIZE / 1024);
	out->max_kb = (uint64_t)di.max_pages * (XC_PAGE_SIZE / 1024);
	out->vcpus_online = di.nr_online_vcpus;
	out->max_vcpus = di.max_vcpu_id + 1;
	out->cpu_seconds = (double)di.cpu_time / 1e9;
	return 0;
}

/* ---- memory and vCPUs ---- */

/* mem-set: Xen's limit follows the target (plus the slack), so that a
 * guest cannot balloon back up past what it was given; libxl then writes
 * memory/target, which the guest's balloon driver follows. */
static int xen_set_memory(struct enso_ctx *ctx, uint32_t domid,
			  uint64_t target_kb, struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	xc_domaininfo_t di;
	int rc;

	if (!xb)
		return -ENODEV;
	if (domid == 0)
		return exl_fail(err, -ENOSYS,
				"ballooning Domain-0 is not supported by Enso yet");
	rc = xen_getinfo(xb, domid, &di, err);
	if (rc)
		return rc;
	xen_log_clear(xb);
	if (xc_domain_setmaxmem(xb->xch, domid, target_kb + XEN_MAXMEM_SLACK_KB))
		return xen_fail(xb, err, errno,
				"domain %u: setting Xen's memory limit to %llu KiB",
				domid, (unsigned long long)target_kb);
	/* A PVH guest may still run on populate-on-demand memory: its
	 * cache follows the target, as upstream's does. */
	if ((di.flags & XEN_DOMINF_hvm_guest) &&
	    xc_domain_set_pod_target(xb->xch, domid,
				     (target_kb + XEN_MAXMEM_SLACK_KB) / 4,
				     NULL, NULL, NULL))
		return xen_fail(xb, err, errno,
				"domain %u: setting its populate-on-demand target to %llu KiB",
				domid, (unsigned long long)target_kb);
	return 0;
}

static int xen_set_maxmem(struct enso_ctx *ctx, uint32_t domid,
			  uint64_t max_kb, struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);

	if (!xb)
		return -ENODEV;
	xen_log_clear(xb);
	if (xc_domain_setmaxmem(xb->xch, domid, max_kb + XEN_MAXMEM_SLACK_KB))
		return xen_fail(xb, err, errno,
				"domain %u: setting Xen's memory limit to %llu KiB",
				domid, (unsigned long long)max_kb);
	return 0;
}

/* vcpu-set: cpu/<i>/availability for every vCPU the domain has; the
 * guest's vCPU hotplug watch (Linux: drivers/xen/cpu_hotplug.c) brings
 * them up or down. */
static int xen_set_vcpus(struct enso_ctx *ctx, uint32_t domid, uint32_t count,
			 struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	xc_domaininfo_t di;
	uint32_t max, i;
	bool *online;
	int rc;

	if (!xb)
		return -ENODEV;
	if (domid == 0)
		return exl_fail(err, -ENOSYS,
				"vcpu-set on Domain-0 is not supported by Enso yet");
	rc = xen_getinfo(xb, domid, &di, err);
	if (rc)
		return rc;
	max = di.max_vcpu_id + 1;
	if (count == 0 || count > max)
		return exl_fail(err, -EINVAL,
				"domain %u has %u vCPUs at most (maxvcpus); %u asked",
				domid, max, count);
	online = calloc(max, sizeof(*online));
	if (!online)
		return exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	for (i = 0; i < max; i++)
		online[i] = i < count;
	rc = rt_write_availability(ctx, domid, online, max, err);
	free(online);
	return rc;
}

/* ---- the monitor's watch ---- */

struct backend_watch {
	uint32_t domid;
};

static int xen_watch_open(struct enso_ctx *ctx, uint32_t domid,
			  struct backend_watch **out, int *fd,
			  struct enso_error *err)
{
	struct backend_watch *w;

	if (!xen_backend(ctx, err))
		return -ENODEV;
	w = calloc(1, sizeof(*w));
	if (!w)
		return exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	w->domid = domid;
	*fd = -1;	/* @releaseDomain, watched by the monitor */
	*out = w;
	return 0;
}

/*
 * The hypervisor's own record decides.  A suspend is not an end: whoever
 * suspended the domain (a save) deals with it.
 */
static int xen_watch_check(struct enso_ctx *ctx, struct backend_watch *w,
			   int *reason, struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	xc_domaininfo_t di;
	int rc, why;

	if (!xb)
		return -ENODEV;
	rc = xen_getinfo(xb, w->domid, &di, err);
	if (rc)
		return rc;
	if (di.flags & XEN_DOMINF_dying)
		return exl_fail(err, -ENOENT, "domain %u is dying", w->domid);
	if (!(di.flags & XEN_DOMINF_shutdown))
		return 0;
	why = (int)((di.flags >> XEN_DOMINF_shutdownshift) &
		    XEN_DOMINF_shutdownmask);
	if (why == SHUTDOWN_suspend)
		return 0;
	*reason = why;
	return 1;
}

static void xen_watch_close(struct backend_watch *w)
{
	free(w);
}

/* ---- the host ---- */

static int xen_host_info(struct enso_ctx *ctx, struct enso_host_info *out,
			 struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	xen_extraversion_t extra;
	xc_physinfo_t pi;
	const char *why;
	int ver;
	char buf[96];

	if (!xb)
		return -ENODEV;
	memset(&pi, 0, sizeof(pi));
	xen_log_clear(xb);
	if (xc_physinfo(xb->xch, &pi))
		return xen_fail(xb, err, errno, "reading Xen's physinfo");
	ver = xc_version(xb->xch, XENVER_version, NULL);
	memset(extra, 0, sizeof(extra));
	if (ver < 0 || xc_version(xb->xch, XENVER_extraversion, &extra) < 0)
		return xen_fail(xb, err, errno, "reading Xen's version");
	extra[sizeof(extra) - 1] = '\0';
	snprintf(buf, sizeof(buf), "xen %d.%d", ver >> 16, ver & 0xffff);
	out->hypervisor = strdup(buf);
	snprintf(buf, sizeof(buf), "%d.%d%s", ver >> 16, ver & 0xffff, extra);
	out->version = strdup(buf);
	rt_hypervisor(ctx, &why);
	out->why = strdup(why);
	out->nr_cpus = pi.nr_cpus;
	out->total_kb = pi.total_pages * (XC_PAGE_SIZE / 1024);
	out->free_kb = pi.free_pages * (XC_PAGE_SIZE / 1024);
	if (!out->hypervisor || !out->version || !out->why ||
	    xen_host_fields(xb, &pi, ver, extra, out)) {
		enso_host_info_dispose(out);
		return -ENOMEM;
	}
	return 0;
}

static void xen_close(struct enso_ctx *ctx)
{
	struct xen_backend *xb = rt_backend_data(ctx);

	if (!xb)
		return;
	if (xb->xch)
		xc_interface_close(xb->xch);
	free(xb);
	rt_set_backend_data(ctx, NULL);
}

const struct backend_ops backend_xen = {
	.name = "xen",
	.hv_allocates_domid = true,	/* xc_domain_create picks it */
	.devices_after_build = true,	/* PV devices: xenstore nodes */
	.create = xen_create,
	.records_ready = xen_introduce,
	.destroy = xen_destroy,
	.pause = xen_pause,
	.unpause = xen_unpause,
	.shutdown = xen_shutdown,
	.info = xen_info,
	.set_memory = xen_set_memory,
	.set_maxmem = xen_set_maxmem,
	.set_vcpus = xen_set_vcpus,
	.find_uuid = xen_find_uuid,
	.watch_open = xen_watch_open,
	.watch_check = xen_watch_check,
	.watch_close = xen_watch_close,
	.host_info = xen_host_info,
	.close = xen_close,
	.vcpu_list = xen_vcpu_list,
	.vcpu_pin = xen_vcpu_pin,
	.node_cpus = xen_node_cpus,
	.sched_pool_get = xen_sched_pool_get,
	.sched_pool_set = xen_sched_pool_set,
	.sched_get = xen_sched_get,
	.sched_set = xen_sched_set,
	.console_read = xen_console_read,
	.debug_keys = xen_debug_keys,
	.device_attach = xen_device_attach,
	.device_detach = xen_device_detach,
	.save = xen_save,
	.restore = xen_restore,
	.save_streamv2 = true,	/* libxc's stream in libxl's v2 (stream.h) */
	.migrate_send = xen_migrate_send,
};
