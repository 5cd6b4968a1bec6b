/*
 * Xen's credit and credit2 schedulers: a domain's weight and cap, and
 * the parameters of Pool-0 (the only pool Enso runs domains in).  Both
 * schedulers keep the same two per-domain numbers under different
 * hypercalls; the others (RTDS, null, ARINC 653) have neither.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/xen/xen.h"

const char *xen_sched_name(int id)
{
	switch (id) {
	case XEN_SCHEDULER_CREDIT: return "credit";
	case XEN_SCHEDULER_CREDIT2: return "credit2";
	case XEN_SCHEDULER_RTDS: return "rtds";
	case XEN_SCHEDULER_NULL: return "null";
	case XEN_SCHEDULER_ARINC653: return "arinc653";
	default: return "unknown";
	}
}

static int pool_sched(struct xen_backend *xb, int *id, struct enso_error *err)
{
	xen_log_clear(xb);
	if (xc_sched_id(xb->xch, id))
		return xen_fail(xb, err, errno, "reading Xen's scheduler");
	return 0;
}

/* Pool-0's scheduler and parameters into *out; with set, first those of
 * *set that are not -1 into Xen. */
static int pool_params(struct xen_backend *xb, const struct enso_sched_pool *set,
		       struct enso_sched_pool *out, struct enso_error *err)
{
	const char *verb = set ? "setting" : "reading";
	int id = 0, rc;

	memset(out, 0, sizeof(*out));
	out->tslice_ms = out->ratelimit_us = out->migration_delay_us = -1;
	rc = pool_sched(xb, &id, err);
	if (rc)
		return rc;
	out->scheduler = strdup(xen_sched_name(id));
	if (!out->scheduler)
		return exl_fail(err, -ENOMEM, "out of memory");
	xen_log_clear(xb);
	if (id == XEN_SCHEDULER_CREDIT) {
		struct xen_sysctl_credit_schedule p;

		rc = xc_sched_credit_params_get(xb->xch, 0, &p);
		if (!rc && set) {
			if (set->tslice_ms >= 0)
				p.tslice_ms = (unsigned)set->tslice_ms;
			if (set->ratelimit_us >= 0)
				p.ratelimit_us = (unsigned)set->ratelimit_us;
			if (set->migration_delay_us >= 0)
				p.vcpu_migr_delay_us = (unsigned)set->migration_delay_us;
			rc = xc_sched_credit_params_set(xb->xch, 0, &p);
		}
		out->tslice_ms = (int)p.tslice_ms;
		out->ratelimit_us = (int)p.ratelimit_us;
		out->migration_delay_us = (int)p.vcpu_migr_delay_us;
	} else if (id == XEN_SCHEDULER_CREDIT2) {
		struct xen_sysctl_credit2_schedule p;

		if (set && (set->tslice_ms >= 0 || set->migration_delay_us >= 0))
			return exl_fail(err, -EINVAL,
					"credit2 has no time slice or migration delay to set, only a rate limit");
		rc = xc_sched_credit2_params_get(xb->xch, 0, &p);
		if (!rc && set) {
			if (set->ratelimit_us >= 0)
				p.ratelimit_us = (unsigned)set->ratelimit_us;
			rc = xc_sched_credit2_params_set(xb->xch, 0, &p);
		}
		out->ratelimit_us = (int)p.ratelimit_us;
	} else if (set) {
		return exl_fail(err, -EINVAL,
				"Pool-0 runs the %s scheduler, which has no such parameters",
				out->scheduler);
	}
	if (rc)
		return xen_fail(xb, err, errno, "%s Pool-0's %s parameters",
				verb, out->scheduler);
	return 0;
}

int xen_sched_pool_get(struct enso_ctx *ctx, struct enso_sched_pool *out,
		       struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);

	memset(out, 0, sizeof(*out));
	return xb ? pool_params(xb, NULL, out, err) : -ENODEV;
}

int xen_sched_pool_set(struct enso_ctx *ctx, const struct enso_sched_pool *in,
		       struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	struct enso_sched_pool now;
	int rc;

	if (!xb)
		return -ENODEV;
	rc = pool_params(xb, in, &now, err);
	free(now.scheduler);
	return rc;
}

/* weight/cap: -1 leaves it; out, what Xen holds.  A scheduler without
 * them is an error. */
static int domain_sched(struct xen_backend *xb, uint32_t domid, bool set,
			int *weight, int *cap, struct enso_error *err)
{
	int id = 0, rc;

	rc = pool_sched(xb, &id, err);
	if (rc)
		return rc;
	xen_log_clear(xb);
	if (id == XEN_SCHEDULER_CREDIT2) {
		struct xen_domctl_sched_credit2 p = { 0 };

		rc = xc_sched_credit2_domain_get(xb->xch, domid, &p);
		if (!rc && set) {
			p.weight = *weight < 0 ? p.weight : (uint16_t)*weight;
			p.cap = *cap < 0 ? p.cap : (uint16_t)*cap;
			rc = xc_sched_credit2_domain_set(xb->xch, domid, &p);
		}
		*weight = p.weight;
		*cap = p.cap;
	} else if (id == XEN_SCHEDULER_CREDIT) {
		struct xen_domctl_sched_credit p = { 0 };

		rc = xc_sched_credit_domain_get(xb->xch, domid, &p);
		if (!rc && set) {
			p.weight = *weight < 0 ? p.weight : (uint16_t)*weight;
			p.cap = *cap < 0 ? p.cap : (uint16_t)*cap;
			rc = xc_sched_credit_domain_set(xb->xch, domid, &p);
		}
		*weight = p.weight;
		*cap = p.cap;
	} else {
		return exl_fail(err, -EINVAL,
				"weight and cap are the credit and credit2 schedulers'; Pool-0 runs %s",
				xen_sched_name(id));
	}
	if (rc)
		return xen_fail(xb, err, errno, "domain %u: %s its weight and cap",
				domid, set ? "setting" : "reading");
	return 0;
}

int xen_sched_set_domid(struct xen_backend *xb, uint32_t domid, int weight,
			int cap, struct enso_error *err)
{
	return domain_sched(xb, domid, true, &weight, &cap, err);
}

int xen_sched_get(struct enso_ctx *ctx, uint32_t domid,
		  struct enso_sched_params *out, struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);

	out->weight = out->cap = -1;
	if (!xb)
		return -ENODEV;
	return domain_sched(xb, domid, false, &out->weight, &out->cap, err);
}

int xen_sched_set(struct enso_ctx *ctx, uint32_t domid,
		  const struct enso_sched_params *in, struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);

	if (!xb)
		return -ENODEV;
	return xen_sched_set_domid(xb, domid, in->weight, in->cap, err);
}
