/*
 * vCPUs and the hypervisor's console: the hypervisor-independent half of
 * xl vcpu-list, vcpu-pin, dmesg and debug-keys.  The checks every backend
 * would repeat are made here; a backend without the operation gets an
 * -ENOSYS that names the hypervisor this host runs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libxl/runtime.h"

static const char *hv_words(const struct enso_ctx *ctx)
{
	switch (ctx->hv) {
	case ENSO_HV_XEN: return "Xen";
	case ENSO_HV_KVM: return "KVM";
	case ENSO_HV_TCG: return "KVM on QEMU's TCG emulation";
	}
	return ctx->ops->name;
}

/* The backend has op and the domain exists. */
static int vcpu_op_ready(struct enso_ctx *ctx, uint32_t domid, const void *op,
			 const char *what, struct enso_error *err)
{
	if (!op)
		return rt_fail(err, -ENOSYS,
			       "%s is not supported on this hypervisor (%s) yet",
			       what, hv_words(ctx));
	if (!rt_domain_exists(ctx, domid))
		return rt_fail(err, -ENOENT, "domain %u does not exist", domid);
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

int enso_domain_vcpu_pin(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
			 const struct enso_cpumap *hard,
			 const struct enso_cpumap *soft, unsigned flags,
			 struct enso_error *err)
{
	bool force = flags & ENSO_VCPU_PIN_FORCE;
	struct backend_dominfo bi;
	uint32_t v;
	int rc;

	if (flags & ~(unsigned)ENSO_VCPU_PIN_FORCE)
		return rt_fail(err, -EINVAL, "unknown vcpu-pin flags %#x", flags);
	if (!hard && !soft)
		return rt_fail(err, -EINVAL,
			       "neither a hard nor a soft affinity to set");
	if (force && vcpu == ENSO_VCPU_ALL)
		return rt_fail(err, -EINVAL,
			       "forcing an affinity takes one vCPU, not all");
	if ((hard && hard->has_nodes) || (soft && soft->has_nodes))
		return rt_fail(err, -ENOSYS,
			       "NUMA node terms (node:N, nodes:N-M) in an affinity are not supported yet");
	rc = vcpu_op_ready(ctx, domid, (const void *)ctx->ops->vcpu_pin,
			   "setting vCPU affinity", err);
	if (rc)
		return rc;
	if (vcpu != ENSO_VCPU_ALL)
		return ctx->ops->vcpu_pin(ctx, domid, vcpu, hard, soft, force, err);
	/* Every vCPU the domain can have, online or not: one brought online
	 * later keeps what was set. */
	memset(&bi, 0, sizeof(bi));
	rc = ctx->ops->info(ctx, domid, &bi, err);
	for (v = 0; !rc && v < bi.max_vcpus; v++)
		rc = ctx->ops->vcpu_pin(ctx, domid, v, hard, soft, false, err);
	return rc;
}

int enso_host_console_read(struct enso_ctx *ctx, unsigned flags, char **text,
			   size_t *len, struct enso_error *err)
{
	*text = NULL;
	*len = 0;
	if (flags & ~(unsigned)ENSO_CONSOLE_CLEAR)
		return rt_fail(err, -EINVAL, "unknown console read flags %#x",
			       flags);
	if (!ctx->ops->console_read)
		return rt_fail(err, -ENOSYS,
			       "the hypervisor console ring is Xen's; this host runs %s, which has none (the host kernel's own log: dmesg(1))",
			       hv_words(ctx));
	return ctx->ops->console_read(ctx, flags & ENSO_CONSOLE_CLEAR, text,
				      len, err);
}

int enso_host_debug_keys(struct enso_ctx *ctx, const char *keys,
			 struct enso_error *err)
{
	if (!keys || !*keys)
		return rt_fail(err, -EINVAL, "no debug keys given");
	if (!ctx->ops->debug_keys)
		return rt_fail(err, -ENOSYS,
			       "debug keys go to the Xen hypervisor; this host runs %s, which takes none",
			       hv_words(ctx));
	return ctx->ops->debug_keys(ctx, keys, err);
}
