/*
 * vCPUs, the scheduler and the hypervisor's console: the
 * hypervisor-independent half of xl vcpu-list, vcpu-pin, sched-credit,
 * sched-credit2, dmesg and debug-keys.  The checks every backend
 * would repeat are made here; a backend without the operation gets an
 * -ENOSYS that names the hypervisor this host runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libxl/private.h"
#include "libxl/runtime.h"

/* The backend has op and the domain exists. */
static int vcpu_op_ready(struct enso_ctx *ctx, uint32_t domid, const void *op,
			 const char *what, struct enso_error *err)
{
	if (!op)
		return exl_fail(err, -ENOSYS,
				"%s is not supported on this hypervisor (%s) yet",
				what, rt_hypervisor_words(ctx));
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	return 0;
}

int enso_domain_vcpu_list(struct enso_ctx *ctx, uint32_t domid,
			  struct enso_vcpuinfo **out, size_t *n,
			  uint32_t *host_cpus, struct enso_error *err)
{
	int rc;

	*out = NULL;
	*n = 0;
	*host_cpus = 0;
	rc = vcpu_op_ready(ctx, domid, (const void *)ctx->ops->vcpu_list,
			   "listing vCPUs", err);
	if (rc)
		return rc;
	rc = ctx->ops->vcpu_list(ctx, domid, out, n, host_cpus, err);
	if (rc) {
		enso_vcpuinfo_list_free(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void enso_vcpuinfo_list_free(struct enso_vcpuinfo *list, size_t n)
{
	size_t i;

	for (i = 0; list && i < n; i++) {
		enso_cpumap_dispose(&list[i].hard);
		enso_cpumap_dispose(&list[i].soft);
	}
	free(list);
}

static int ctx_node_cpus(unsigned node, uint8_t *cpus, void *opaque)
{
	struct enso_ctx *ctx = opaque;

	return ctx->ops->node_cpus ? ctx->ops->node_cpus(ctx, node, cpus) :
				     -ENOENT;
}

/* One map again from its text, node terms resolved; err: "KEY: why". */
static int resolve_map(struct enso_ctx *ctx, const char *key,
		       const struct enso_cpumap *in, struct enso_cpumap *out,
		       struct enso_error *err)
{
	struct enso_error why = { "" };
	int rc = enso_cpumap_parse(in->spec, ctx_node_cpus, ctx, out, &why);

	if (rc)
		exl_fail(err, rc, "%s: %s", key,
			 why.msg[0] ? why.msg : strerror(-rc));
	return rc;
}

int enso_domain_vcpu_pin(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
			 const struct enso_cpumap *hard,
			 const struct enso_cpumap *soft, unsigned flags,
			 struct enso_error *err)
{
	bool force = flags & ENSO_VCPU_PIN_FORCE;
	struct enso_cpumap rhard = { 0 }, rsoft = { 0 };
	struct backend_dominfo bi;
	uint32_t v;
	int rc;

	if (flags & ~(unsigned)ENSO_VCPU_PIN_FORCE)
		return exl_fail(err, -EINVAL, "unknown vcpu-pin flags %#x", flags);
	if (!hard && !soft)
		return exl_fail(err, -EINVAL,
				"neither a hard nor a soft affinity to set");
	if (force && vcpu == ENSO_VCPU_ALL)
		return exl_fail(err, -EINVAL,
				"forcing an affinity takes one vCPU, not all");
	rc = vcpu_op_ready(ctx, domid, (const void *)ctx->ops->vcpu_pin,
			   "setting vCPU affinity", err);
	if (rc)
		return rc;
	/* Node terms become the host's CPUs in those nodes, now. */
	if (hard && hard->has_nodes) {
		rc = resolve_map(ctx, "hard affinity", hard, &rhard, err);
		hard = &rhard;
	}
	if (!rc && soft && soft->has_nodes) {
		rc = resolve_map(ctx, "soft affinity", soft, &rsoft, err);
		soft = &rsoft;
	}
	if (rc)
		goto out;
	if (vcpu != ENSO_VCPU_ALL) {
		rc = ctx->ops->vcpu_pin(ctx, domid, vcpu, hard, soft, force, err);
		goto out;
	}
	/* Every vCPU the domain can have, online or not: one brought online
	 * later keeps what was set. */
	memset(&bi, 0, sizeof(bi));
	rc = ctx->ops->info(ctx, domid, &bi, err);
	for (v = 0; !rc && v < bi.max_vcpus; v++)
		rc = ctx->ops->vcpu_pin(ctx, domid, v, hard, soft, false, err);
out:
	enso_cpumap_dispose(&rhard);
	enso_cpumap_dispose(&rsoft);
	return rc;
}

int enso_host_console_read(struct enso_ctx *ctx, unsigned flags, char **text,
			   size_t *len, struct enso_error *err)
{
	*text = NULL;
	*len = 0;
	if (flags & ~(unsigned)ENSO_CONSOLE_CLEAR)
		return exl_fail(err, -EINVAL, "unknown console read flags %#x",
				flags);
	if (!ctx->ops->console_read)
		return exl_fail(err, -ENOSYS,
				"the hypervisor console ring is Xen's; this host runs %s, which has none (the host kernel's own log: dmesg(1))",
				rt_hypervisor_words(ctx));
	return ctx->ops->console_read(ctx, flags & ENSO_CONSOLE_CLEAR, text,
				      len, err);
}

int enso_host_debug_keys(struct enso_ctx *ctx, const char *keys,
			 struct enso_error *err)
{
	if (!keys || !*keys)
		return exl_fail(err, -EINVAL, "no debug keys given");
	if (!ctx->ops->debug_keys)
		return exl_fail(err, -ENOSYS,
				"debug keys go to the Xen hypervisor; this host runs %s, which takes none",
				rt_hypervisor_words(ctx));
	return ctx->ops->debug_keys(ctx, keys, err);
}

int rt_affinity_resolve(struct enso_ctx *ctx, const char *key,
			const struct enso_affinity *in,
			struct enso_affinity *out, struct enso_error *err)
{
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->maps = calloc(in->nmaps ? in->nmaps : 1, sizeof(*out->maps));
	if (!out->maps)
		return exl_fail(err, -ENOMEM, "out of memory");
	out->per_vcpu = in->per_vcpu;
	for (i = 0; i < in->nmaps; i++) {
		rc = resolve_map(ctx, key, &in->maps[i], &out->maps[i], err);
		if (rc) {
			exl_affinity_dispose(out);
			return rc;
		}
		out->nmaps++;
	}
	return 0;
}

void rt_affinity_dispose(struct enso_affinity *a)
{
	exl_affinity_dispose(a);
}

/* ---- the scheduler ---- */

static int sched_op_ready(struct enso_ctx *ctx, const void *op,
			  struct enso_error *err)
{
	if (!op)
		return exl_fail(err, -ENOSYS,
				"scheduler parameters are Xen's; this host runs %s",
				rt_hypervisor_words(ctx));
	return 0;
}

int enso_sched_pool_get(struct enso_ctx *ctx, struct enso_sched_pool *out,
			struct enso_error *err)
{
	int rc = sched_op_ready(ctx, (const void *)ctx->ops->sched_pool_get,
				err);

	memset(out, 0, sizeof(*out));
	if (rc)
		return rc;
	rc = ctx->ops->sched_pool_get(ctx, out, err);
	if (rc)
		enso_sched_pool_dispose(out);
	return rc;
}

int enso_sched_pool_set(struct enso_ctx *ctx, const struct enso_sched_pool *in,
			struct enso_error *err)
{
	int rc = sched_op_ready(ctx, (const void *)ctx->ops->sched_pool_set,
				err);

	if (rc)
		return rc;
	return ctx->ops->sched_pool_set(ctx, in, err);
}

void enso_sched_pool_dispose(struct enso_sched_pool *p)
{
	if (!p)
		return;
	free(p->scheduler);
	p->scheduler = NULL;
}

int enso_domain_sched_get(struct enso_ctx *ctx, uint32_t domid,
			  struct enso_sched_params *out, struct enso_error *err)
{
	int rc;

	out->weight = out->cap = -1;
	rc = vcpu_op_ready(ctx, domid, (const void *)ctx->ops->sched_get,
			   "reading scheduler parameters", err);
	return rc ? rc : ctx->ops->sched_get(ctx, domid, out, err);
}

int enso_domain_sched_set(struct enso_ctx *ctx, uint32_t domid,
			  const struct enso_sched_params *in,
			  struct enso_error *err)
{
	int rc;

	if ((in->weight != -1 && (in->weight < 1 || in->weight > 65535)) ||
	    (in->cap != -1 && (in->cap < 0 || in->cap > 65535)))
		return exl_fail(err, -EINVAL,
				"weight %d, cap %d: a weight is 1-65535, a cap 0-65535",
				in->weight, in->cap);
	rc = vcpu_op_ready(ctx, domid, (const void *)ctx->ops->sched_set,
			   "setting scheduler parameters", err);
	return rc ? rc : ctx->ops->sched_set(ctx, domid, in, err);
}
