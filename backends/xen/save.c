/*
 * Save and restore on Xen: libxc's stream (libxenguest's xc_domain_save
 * and xc_domain_restore, each in a helper process: helper.c) inside
 * libxl's stream v2 (stream.c), after the header libxl wrote.
 *
 *   save:     LibxlFmt header, LIBXC_CONTEXT, libxc's stream, END.  The
 *             guest is suspended when libxenguest asks (the suspend
 *             callback, answered here in the parent): through its
 *             device/suspend/event-channel if it has one, else
 *             control/shutdown = "suspend"; either way, done when the
 *             hypervisor says the domain has shut down for suspend.  The
 *             domain is left paused and suspended: libxl destroys it, or
 *             unpauses it, which resumes it first (xen_resume_suspended).
 *   restore:  the stream's header and first record are checked before
 *             anything is built; then create's own build (build.c) with
 *             xc_domain_restore in place of the kernel, the store and
 *             console frames it found written where create writes them,
 *             so that xenstored's INTRODUCE and the console backend take
 *             the restored guest as they take a new one.
 *
 * PV and PVH alike: libxc tells them apart by the domain itself, and
 * carries a PVH guest's HVM context and params in its stream.  What a PVH
 * guest lacks is a device model, so the log-dirty switch libxc asks of
 * one is answered here with nothing to do.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenguest.h>
#include <xenstore.h>

#include "backends/xen/stream.h"
#include "backends/xen/xen.h"

/* How long a guest may take to suspend once asked (upstream: 60 s too);
 * under emulation a guest takes seconds. */
#define SUSPEND_TIMEOUT_MS 60000
#define SUSPEND_POLL_MS 10
/* What the save helper asks its parent. */
#define ASK_SUSPEND 1u

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* 1 when the hypervisor says the domain has shut down for suspend, 0 while
 * it runs, -errno (err said) when it is gone or shut down for another
 * reason. */
static int suspended(struct xen_backend *xb, uint32_t domid,
		     struct enso_error *err)
{
	xc_domaininfo_t di;
	int rc = xen_getinfo(xb, domid, &di, err), why;

	if (rc)
		return rc;
	if (!(di.flags & XEN_DOMINF_shutdown))
		return 0;
	why = (int)((di.flags >> XEN_DOMINF_shutdownshift) &
		    XEN_DOMINF_shutdownmask);
	if (why == SHUTDOWN_suspend)
		return 1;
	return exl_fail(err, -ECANCELED,
			"domain %u shut down (reason %d) instead of suspending",
			domid, why);
}

/* The guest's own suspend channel (device/suspend/event-channel), where
 * it has one: a kick on it is the request.  false when it has none or
 * the kick cannot be sent: then control/shutdown asks. */
static bool kick_suspend_channel(struct enso_ctx *ctx, uint32_t domid)
{
	char *v = rt_xs_read(ctx, "/local/domain/%u/device/suspend/event-channel",
			     domid);
	char *end = NULL;
	unsigned long port = v ? strtoul(v, &end, 10) : 0;
	bool ok = false;

	if (v && *v && end && !*end && port > 0 && port < (1ul << 17)) {
		xenevtchn_handle *xce = xenevtchn_open(NULL, 0);
		xenevtchn_port_or_error_t local = xce ?
			xenevtchn_bind_interdomain(xce, domid,
						   (evtchn_port_t)port) : -1;

		ok = local >= 0 && xenevtchn_notify(xce, (evtchn_port_t)local) == 0;
		if (local >= 0)
			xenevtchn_unbind(xce, (evtchn_port_t)local);
		xenevtchn_close(xce);
	}
	free(v);
	return ok;
}

/* The suspend callback's work: ask, then wait (bounded) for the
 * hypervisor's word.  A guest that never answers has its request taken
 * back, so that it does not suspend later, unsaved. */
int xen_suspend_guest(struct enso_ctx *ctx, uint32_t domid,
		      struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	char path[64], *left;
	long long deadline;
	bool by_channel;
	int rc;

	if (!xb)
		return -ENODEV;
	snprintf(path, sizeof(path), "/local/domain/%u/control/shutdown", domid);
	by_channel = kick_suspend_channel(ctx, domid);
	if (!by_channel && !rt_xs_write(ctx, XBT_NULL, path, "suspend"))
		return exl_fail(err, -errno, "domain %u: writing %s: %s", domid,
				path, strerror(errno));
	deadline = now_ms() + SUSPEND_TIMEOUT_MS;
	while ((rc = suspended(xb, domid, err)) == 0 && now_ms() < deadline) {
		struct timespec ts = { 0, SUSPEND_POLL_MS * 1000000l };

		nanosleep(&ts, NULL);
	}
	if (rc)
		return rc < 0 ? rc : 0;
	left = by_channel ? NULL : rt_xs_read(ctx, "%s", path);
	if (left && !strcmp(left, "suspend"))
		xs_rm(rt_xsh(ctx), XBT_NULL, path);
	rc = exl_fail(err, -ETIMEDOUT,
		      "domain %u did not suspend within %d s (%s)", domid,
		      SUSPEND_TIMEOUT_MS / 1000,
		      by_channel ? "asked on its suspend event channel" :
		      left && !strcmp(left, "suspend") ?
			      "its PV drivers never took control/shutdown=suspend: no suspend support in the guest?" :
			      "it took control/shutdown=suspend but did not get there");
	free(left);
	return rc;
}

int xen_resume_suspended(struct enso_ctx *ctx, struct xen_backend *xb,
			 uint32_t domid, struct enso_error *err)
{
	int rc = suspended(xb, domid, NULL);

	if (rc <= 0)
		return 0;	/* running, or not ours to resume */
	/* Cooperative ("fast"): the guest's suspend hypercall returns as
	 * cancelled and it goes on in the same domain, its devices as they
	 * were; every PV Linux supports it. */
	xen_log_clear(xb);
	if (xc_domain_resume(xb->xch, domid, 1))
		return xen_fail(xb, err, errno, "domain %u: resuming it after its suspend",
				domid);
	/* xenstored fires @releaseDomain for the domain's next shutdown
	 * only once told it runs again. */
	xs_resume_domain(rt_xsh(ctx), domid);
	return 0;
}

/* ---- save ---- */

struct save_job {
	uint32_t domid;
	int fd;
};

static int save_suspend_cb(void *data)
{
	return xen_helper_ask(data, ASK_SUSPEND, NULL) == 0 ? 1 : 0;
}

int xen_save_dm_logdirty(uint32_t domid, unsigned enable, void *data)
{
	(void)domid;
	(void)enable;
	(void)data;
	return 0;
}

/* In the helper. */
static int save_run(xc_interface *xch, struct xen_helper *h, void *arg)
{
	const struct save_job *j = arg;
	struct save_callbacks cb = { .suspend = save_suspend_cb,
				     .switch_qemu_logdirty = xen_save_dm_logdirty,
				     .data = h };

	/* Not XCFLAGS_LIVE: a file wants the guest stopped and its memory
	 * once, not precopy rounds. */
	if (xc_domain_save(xch, j->fd, j->domid, 0, &cb, XC_STREAM_PLAIN, -1))
		return -(errno ? errno : EIO);
	return 0;
}

/* In the parent. */
static int save_answer(struct enso_ctx *ctx, uint32_t question,
		       const uint64_t q[XEN_HELPER_ARGS], void *arg,
		       struct enso_error *err)
{
	const struct save_job *j = arg;

	(void)q;
	if (question != ASK_SUSPEND)
		return exl_fail(err, -EPROTO, "the save helper asked %u", question);
	return xen_suspend_guest(ctx, j->domid, err);
}

int xen_suspendable(struct xen_backend *xb, uint32_t domid, const char *what,
		    xc_domaininfo_t *di, struct enso_error *err)
{
	int rc = xen_getinfo(xb, domid, di, err);

	if (rc)
		return rc;
	/* Only a running guest can act on the suspend request: said at
	 * once, not after the wait runs out. */
	if (di->flags & XEN_DOMINF_paused)
		return exl_fail(err, -EBUSY,
				"domain %u is paused: its guest cannot suspend itself for the %s; unpause it first",
				domid, what);
	return 0;
}

int xen_stream_out(struct enso_ctx *ctx, int fd, const char *name,
		   struct xen_helper_job *job, struct enso_error *err)
{
	struct xen_stream s;
	int rc;

	xen_stream_init(&s, name);
	rc = xen_stream_write_header(fd, &s, err);
	if (!rc)
		rc = xen_stream_write_record(fd, &s, XEN_REC_LIBXC_CONTEXT, NULL,
					     0, err);
	if (!rc)
		rc = xen_helper_run(ctx, job, err);
	if (!rc)
		rc = xen_stream_write_record(fd, &s, XEN_REC_END, NULL, 0, err);
	return rc;
}

int xen_save(struct enso_ctx *ctx, uint32_t domid, int fd,
	     struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	struct save_job j = { domid, fd };
	struct xen_helper_job job = { .run = save_run, .answer = save_answer,
				      .arg = &j };
	xc_domaininfo_t di;
	char what[64];
	int rc, r;

	if (!xb)
		return -ENODEV;
	rc = xen_suspendable(xb, domid, "save", &di, err);
	if (rc)
		return rc;
	snprintf(what, sizeof(what), "domain %u: saving its state", domid);
	job.what = what;
	rc = xen_stream_out(ctx, fd, "the save file", &job, err);
	/* Paused, whatever happened (it ran: one pause, which libxl's
	 * unpause undoes): libxl destroys it, or unpauses it, which resumes
	 * a suspended guest. */
	xen_log_clear(xb);
	r = xc_domain_pause(xb->xch, domid);
	if (r && !rc)
		rc = xen_fail(xb, err, errno, "domain %u: pausing it after its save",
			      domid);
	return rc;
}

/* ---- restore ---- */

struct restore_job {
	const struct backend_create *in;
	uint32_t domid;
	unsigned store_port, console_port;
	int fd;
	xc_interface *xch;	/* the helper's */
};

/* In the helper: a stream from a Xen too old to carry the CPUID policy
 * gets the one create gives. */
static int restore_static_done(unsigned int missing, void *data)
{
	struct restore_job *j = data;

	if (!(missing & XGR_SDD_MISSING_CPUID))
		return 0;
	return xc_cpuid_apply_policy(j->xch, j->domid, true, NULL, 0, true,
				     j->in->cfg->nomigrate, false, NULL, NULL);
}

static int restore_run(xc_interface *xch, struct xen_helper *h, void *arg)
{
	struct restore_job *j = arg;
	struct restore_callbacks cb = { .static_data_done = restore_static_done,
					.data = j };
	unsigned long store_mfn = 0, console_mfn = 0;

	j->xch = xch;
	if (xc_domain_restore(xch, j->fd, j->domid, j->store_port, &store_mfn,
			      0, j->console_port, &console_mfn, 0,
			      XC_STREAM_PLAIN, &cb, -1))
		return -(errno ? errno : EIO);
	xen_helper_results(h, store_mfn, console_mfn);
	return 0;
}

/* In the parent, the helper loading the stream: libxl's records and
 * devices meanwhile (backend.h's restore_started). */
static int restore_started(struct enso_ctx *ctx, void *arg,
			   struct enso_error *err)
{
	struct restore_job *j = arg;

	if (!j->in->restore_started)
		return 0;
	return j->in->restore_started(ctx, j->domid, j->in->restore_arg, err);
}

/* What may follow libxc's stream: END.  An emulator's state has nowhere
 * to go (Enso's Xen backend runs none), a checkpoint stream is Remus's or
 * COLO's. */
static int restore_tail(int fd, struct xen_stream *s, struct enso_error *err)
{
	for (;;) {
		struct xen_stream_rec r;
		int rc = xen_stream_read_record(fd, s, &r, err);
		uint32_t type = r.type, len = r.len;

		xen_stream_rec_dispose(&r);
		if (rc)
			return rc;
		if (type == XEN_REC_END)
			return 0;
		/* An emulator's header and no keys: nothing to carry. */
		if (type == XEN_REC_EMULATOR_XENSTORE_DATA && len <= 8)
			continue;
		return exl_fail(err, -EOPNOTSUPP,
				"%s: record %u (%s) after libxc's stream: %s",
				s->source, s->records, xen_stream_rec_name(type),
				type == XEN_REC_EMULATOR_XENSTORE_DATA ||
						type == XEN_REC_EMULATOR_CONTEXT ?
					"the guest was saved with a device model's state, which Enso's Xen backend has nowhere to load" :
					"a checkpointed stream (Remus, COLO), which Enso does not restore");
	}
}

struct restore_image {
	int fd;
	struct xen_stream *s;
};

/* build.c's image step: the domain built, its event channels made. */
static int restore_image(struct enso_ctx *ctx, struct xen_backend *xb,
			 uint32_t domid, const struct backend_create *in,
			 struct xen_built *b, void *arg, struct enso_error *err)
{
	struct restore_image *ri = arg;
	struct restore_job j = { in, domid, b->store_port, b->console_port,
				 ri->fd, NULL };
	struct xen_helper_job job = { .run = restore_run,
				      .started = restore_started, .arg = &j };
	char what[80];
	int rc;

	(void)xb;
	snprintf(what, sizeof(what), "%s (domain %u): loading the saved state",
		 in->cfg->name, domid);
	job.what = what;
	rc = xen_helper_run(ctx, &job, err);
	if (rc)
		return rc;
	if (!job.store_mfn || !job.console_mfn)
		return exl_fail(err, -EIO,
				"%s: the saved state left no xenstore or console page",
				what);
	b->store_mfn = job.store_mfn;
	b->console_mfn = job.console_mfn;
	return restore_tail(ri->fd, ri->s, err);
}

int xen_restore(struct enso_ctx *ctx, const struct backend_create *in, int fd,
		uint32_t *domid, struct enso_error *err)
{
	struct xen_stream s;
	struct xen_stream_rec r;
	struct restore_image ri = { fd, &s };
	uint32_t type;
	int rc;

	/* Plainly not a Xen stream: refused before a domain is built. */
	xen_stream_init(&s, "the saved state");
	rc = xen_stream_read_header(fd, &s, err);
	if (!rc)
		rc = xen_stream_read_record(fd, &s, &r, err);
	if (rc)
		return rc;
	type = r.type;
	xen_stream_rec_dispose(&r);
	if (type != XEN_REC_LIBXC_CONTEXT)
		return exl_fail(err, -EINVAL,
				"the saved state: its first record is %s, not libxc's context: no guest to restore",
				xen_stream_rec_name(type));
	return xen_build(ctx, in, restore_image, &ri, domid, err);
}
