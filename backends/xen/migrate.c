/*
 * Live migration's sending half on Xen: the stream save writes (save.c:
 * libxl's header, libxc's stream, END) with libxenguest's live mode, in
 * the same helper process.  The receiving half is restore, reading the
 * stream from a pipe.
 *
 * libxenguest copies all memory while the guest runs, then, round after
 * round, what the guest dirtied meanwhile (Xen's log-dirty: HAP for a PVH
 * guest; a PV guest's needs shadow paging, which Debian's Xen is built
 * without), and asks a precopy policy before and after each round.  The
 * policy decides the downtime: the pages still dirty when it says stop
 * are sent with the guest suspended.  Upstream's stops after 5 rounds or
 * below 50 dirty pages, whatever the link's speed.  Ours, answered in the
 * parent from the helper's figures (precopy.c), stops as soon as the
 * dirty pages can go in 30 ms at the rate the last round measured, or
 * when another round would not pay (the dirty set no longer shrinks),
 * with a ceiling on the rounds.  Each question is also a progress report, and
 * the caller's answer can cancel: the guest then runs on, unsuspended.
 */
#include <errno.h>
#include <stdint.h>
#include <time.h>

#include <xenctrl.h>
#include <xenguest.h>

#include "backends/xen/xen.h"

#define ASK_SUSPEND 1u
#define ASK_PRECOPY 2u	/* iteration, total written, dirty or UINT64_MAX */

struct migrate_job {
	uint32_t domid;
	int fd;
	bool (*progress)(void *opaque, const struct enso_migrate_progress *p);
	void *opaque;
	struct enso_migrate_progress p;
	long long start_ms, round_ms, stop_ms;
	uint64_t round_written;	/* pages written when the round began */
	struct xen_precopy pc;
	/* The first round counts every frame of the guest's physical
	 * address space, holes too: what it counted beyond its memory. */
	uint64_t holes;
	bool cancelled;		/* by the caller's progress */
};

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000ll + ts.tv_nsec / 1000000;
}

/* ---- in the helper ---- */

static int migrate_suspend_cb(void *data)
{
	return xen_helper_ask(data, ASK_SUSPEND, NULL) == 0 ? 1 : 0;
}

static int migrate_policy_cb(struct precopy_stats st, void *data)
{
	uint64_t q[XEN_HELPER_ARGS] = {
		st.iteration, st.total_written,
		st.dirty_count < 0 ? UINT64_MAX : (uint64_t)st.dirty_count, 0
	};
	int r = xen_helper_ask(data, ASK_PRECOPY, q);

	if (r < 0)
		return XGS_POLICY_ABORT;
	return r ? XGS_POLICY_STOP_AND_COPY : XGS_POLICY_CONTINUE_PRECOPY;
}

static int migrate_run(xc_interface *xch, struct xen_helper *h, void *arg)
{
	const struct migrate_job *j = arg;
	struct save_callbacks cb = { .suspend = migrate_suspend_cb,
				     .precopy_policy = migrate_policy_cb,
				     .switch_qemu_logdirty = xen_save_dm_logdirty,
				     .data = h };

	if (xc_domain_save(xch, j->fd, j->domid, XCFLAGS_LIVE, &cb,
			   XC_STREAM_PLAIN, -1))
		return -(errno ? errno : EIO);
	return 0;
}

/* ---- in the parent ---- */

/* The caller's progress callback; false (cancel) is said once, here. */
static int report(struct migrate_job *j, struct enso_error *err)
{
	if (!j->progress || j->progress(j->opaque, &j->p))
		return 0;
	j->cancelled = true;
	return exl_fail(err, -ECANCELED, "domain %u: migration cancelled",
			j->domid);
}

/* libxenguest's question before a round (dirty known) and after it (not):
 * the figures for the caller, then the policy's answer. */
static int precopy_answer(struct migrate_job *j, const uint64_t *q,
			  struct enso_error *err)
{
	uint64_t iteration = q[0], written = q[1], dirty = q[2];
	struct enso_migrate_progress *p = &j->p;
	long long now = now_ms();
	int rc;

	if (iteration == 0 && dirty != UINT64_MAX)
		j->holes = dirty * XC_PAGE_SIZE > p->memory_bytes ?
				   dirty - p->memory_bytes / XC_PAGE_SIZE : 0;
	p->elapsed_ms = (uint64_t)(now - j->start_ms);
	p->bytes_sent = (written > j->holes ? written - j->holes : 0) *
			XC_PAGE_SIZE;
	if (dirty == UINT64_MAX) {
		/* A round sent: its rate, and what it left to send. */
		long long took = now - j->round_ms;
		uint64_t sent = written - j->round_written,
			 holes = iteration == 1 ? j->holes : 0;

		if (took > 0 && sent > holes)
			p->rate_bps = (sent - holes) * XC_PAGE_SIZE * 1000 /
				      (uint64_t)took;
		p->remaining_bytes = 0;
		j->pc.rate_bps = p->rate_bps;
		rc = report(j, err);
		return rc ? rc : iteration >= XEN_PRECOPY_MAX_ROUNDS;
	}
	p->round = (uint32_t)iteration + 1;
	/* The first round sends everything: its "dirty" is the size of the
	 * guest's physical address space, holes included. */
	p->dirty_pages = iteration ? dirty : 0;
	p->remaining_bytes = iteration ? dirty * XC_PAGE_SIZE : p->memory_bytes;
	j->round_ms = now;
	j->round_written = written;
	rc = report(j, err);
	return rc ? rc : xen_precopy_stop(&j->pc, p->round, dirty);
}

static int migrate_answer(struct enso_ctx *ctx, uint32_t question,
			  const uint64_t q[XEN_HELPER_ARGS], void *arg,
			  struct enso_error *err)
{
	struct migrate_job *j = arg;

	switch (question) {
	case ASK_PRECOPY:
		return precopy_answer(j, q, err);
	case ASK_SUSPEND: {
		int rc;

		j->p.stopped = true;
		j->p.round++;
		rc = report(j, err);
		if (rc)
			return rc;
		j->stop_ms = now_ms();
		return xen_suspend_guest(ctx, j->domid, err);
	}
	default:
		return exl_fail(err, -EPROTO, "the migration helper asked %u",
				question);
	}
}

int xen_migrate_send(struct enso_ctx *ctx, uint32_t domid, int fd,
		     bool (*progress)(void *opaque,
				      const struct enso_migrate_progress *p),
		     void *opaque, struct enso_migrate_progress *out,
		     struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	struct migrate_job j = { .domid = domid, .fd = fd,
				 .progress = progress, .opaque = opaque };
	struct xen_helper_job job = { .run = migrate_run,
				      .answer = migrate_answer, .arg = &j };
	xc_domaininfo_t di;
	char what[64];
	int rc;

	if (!xb)
		return -ENODEV;
	/* The guest suspends itself at the end. */
	rc = xen_suspendable(xb, domid, "migration", &di, err);
	if (rc)
		return rc;
	j.p.memory_bytes = di.tot_pages * XC_PAGE_SIZE;
	j.start_ms = j.round_ms = now_ms();
	snprintf(what, sizeof(what), "domain %u: migrating it", domid);
	job.what = what;
	rc = xen_stream_out(ctx, fd, "the migration stream", &job, err);
	if (rc) {
		/* Suspended or not, it runs on here. */
		if (j.stop_ms)
			xen_resume_suspended(ctx, xb, domid, NULL);
		if (j.cancelled)
			return exl_fail(err, -ECANCELED,
					"domain %u: migration cancelled; it runs on here",
					domid);
		if (rc == -EOPNOTSUPP && !(di.flags & XEN_DOMINF_hvm_guest))
			/* libxenguest's words are "Failed to enable
			 * logdirty: 95". */
			return exl_fail(err, rc,
					"domain %u is a PV guest, whose live migration needs Xen's shadow paging, which this Xen is built without (Debian's is); a PVH guest migrates with the CPU's nested paging",
					domid);
		return rc;
	}
	j.p.elapsed_ms = (uint64_t)(now_ms() - j.start_ms);
	j.p.downtime_ms = (uint64_t)(now_ms() - j.stop_ms);
	j.p.remaining_bytes = 0;
	if (out)
		*out = j.p;
	/* Stopped is paused, as after a save: a resume here (the receiver
	 * failed) is libxl's unpause, which resumes the suspended guest. */
	xen_log_clear(xb);
	if (xc_domain_pause(xb->xch, domid)) {
		rc = xen_fail(xb, err, errno, "domain %u: pausing it after its migration",
			      domid);
		xen_resume_suspended(ctx, xb, domid, NULL);
	}
	return rc;
}
