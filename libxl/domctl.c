/*
 * Operations on a running domain (pause, shutdown, memory, vCPUs,
 * rename): each checks that the backend has the op and the domain exists,
 * does what both hypervisors share (the nodes the guest and xl list
 * read, the stored config), and calls the op.
 */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enso-util.h"
#include "libxl/runtime.h"

static int need_op(struct enso_ctx *ctx, const void *op, const char *what,
		   struct enso_error *err)
{
	if (op)
		return 0;
	return exl_fail(err, -ENOSYS, "%s is not supported by the %s backend",
			what, ctx->ops->name);
}

typedef int backend_domain_fn(struct enso_ctx *ctx, uint32_t domid,
			      struct enso_error *err);

/* The backend has op, and the domain exists: what every operation on one
 * domain checks first. */
static int can_do(struct enso_ctx *ctx, uint32_t domid, const void *op,
		  const char *what, struct enso_error *err)
{
	int rc = need_op(ctx, op, what, err);

	if (rc)
		return rc;
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	return 0;
}

/* An operation on one existing domain that the backend may not have. */
static int backend_op(struct enso_ctx *ctx, uint32_t domid,
		      backend_domain_fn *op, const char *what,
		      struct enso_error *err)
{
	int rc = can_do(ctx, domid, (const void *)op, what, err);

	return rc ? rc : op(ctx, domid, err);
}

/* memory/<node> in KiB, where the guest's balloon driver and xl list read. */
static void write_memory_node(struct enso_ctx *ctx, uint32_t domid,
			      const char *node, uint64_t kib)
{
	char path[64], val[32];

	snprintf(path, sizeof(path), "/local/domain/%u/memory/%s", domid, node);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)kib);
	rt_xs_write(ctx, XBT_NULL, path, val);
}

int enso_domain_pause(struct enso_ctx *ctx, uint32_t domid,
		      struct enso_error *err)
{
	return backend_op(ctx, domid, ctx->ops->pause, "pause", err);
}

int enso_domain_unpause(struct enso_ctx *ctx, uint32_t domid,
			struct enso_error *err)
{
	return backend_op(ctx, domid, ctx->ops->unpause, "unpause", err);
}

int enso_domain_shutdown(struct enso_ctx *ctx, uint32_t domid, bool reboot,
			 struct enso_error *err)
{
	int rc = can_do(ctx, domid, (const void *)ctx->ops->shutdown,
			"shutdown", err);

	return rc ? rc : ctx->ops->shutdown(ctx, domid, reboot, err);
}

int enso_domain_wait_gone(struct enso_ctx *ctx, uint32_t domid,
			  int timeout_ms, struct enso_error *err)
{
	char path[64], token[32];
	long long start;
	int rc = 0;

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	snprintf(token, sizeof(token), "gone-%u", domid);
	if (!xs_watch(ctx->xsh, path, token))
		return exl_fail(err, -errno, "watching %s: %s", path,
				strerror(errno));
	start = monotonic_ms();
	for (;;) {
		char *name = rt_xs_read(ctx, "/local/domain/%u/name", domid);
		struct pollfd pfd = { .fd = xs_fileno(ctx->xsh), .events = POLLIN };
		bool there = name != NULL;
		int e = errno;
		long waited;
		char **ev;

		free(name);
		if (!there && e != ENOENT) {
			/* Not gone: the store is (xenstored went away). */
			rc = exl_fail(err, -e,
				      "waiting for domain %u: cannot reach xenstored at %s: %s",
				      domid, rt_xenstored_socket(), strerror(e));
			break;
		}
		if (!there)
			break;
		waited = (long)(monotonic_ms() - start);
		if (timeout_ms >= 0 && waited >= timeout_ms) {
			rc = exl_fail(err, -ETIMEDOUT,
				      "domain %u still exists after %d s", domid,
				      timeout_ms / 1000);
			break;
		}
		/* Wake at least once a second: a record removed by a
		 * process that died is seen too. */
		poll(&pfd, 1, 1000);
		while ((ev = xs_check_watch(ctx->xsh)))
			free(ev);
	}
	xs_unwatch(ctx->xsh, path, token);
	return rc;
}

int enso_domain_set_memory(struct enso_ctx *ctx, uint32_t domid,
			   uint64_t target_kb, struct enso_error *err)
{
	char *max;
	int rc = can_do(ctx, domid, (const void *)ctx->ops->set_memory,
			"mem-set", err);

	if (rc)
		return rc;
	max = rt_xs_read(ctx, "/local/domain/%u/memory/static-max", domid);
	if (max && target_kb > strtoull(max, NULL, 10)) {
		rc = exl_fail(err, -EINVAL,
			      "memory_dynamic_max must be less than or equal to memory_static_max: target %llu KiB is above the domain's maximum %s KiB (raise it with mem-max)",
			      (unsigned long long)target_kb, max);
		free(max);
		return rc;
	}
	free(max);
	rc = ctx->ops->set_memory(ctx, domid, target_kb, err);
	if (!rc)
		write_memory_node(ctx, domid, "target", target_kb);
	return rc;
}

int enso_domain_set_maxmem(struct enso_ctx *ctx, uint32_t domid,
			   uint64_t max_kb, struct enso_error *err)
{
	int rc = can_do(ctx, domid, (const void *)ctx->ops->set_maxmem,
			"mem-max", err);
	char *target;

	if (rc)
		return rc;
	/* Upstream's rule and words, whatever the hypervisor. */
	target = rt_xs_read(ctx, "/local/domain/%u/memory/target", domid);
	if (target && max_kb < strtoull(target, NULL, 10))
		rc = exl_fail(err, -EINVAL,
			      "domain %u: memory_static_max must be greater than or equal to memory_dynamic_max: maximum %llu KiB is below the current target %s KiB (lower it with mem-set first)",
			      domid, (unsigned long long)max_kb, target);
	free(target);
	if (!rc)
		rc = ctx->ops->set_maxmem(ctx, domid, max_kb, err);
	if (!rc)
		write_memory_node(ctx, domid, "static-max", max_kb);
	return rc;
}

int enso_domain_set_vcpus(struct enso_ctx *ctx, uint32_t domid,
			  uint32_t count, struct enso_error *err)
{
	int rc = can_do(ctx, domid, (const void *)ctx->ops->set_vcpus,
			"vcpu-set", err);

	if (rc)
		return rc;
	if (count == 0)
		return exl_fail(err, -EINVAL,
				"domain %u: requested 0 vCPUs; at least one stays online",
				domid);
	return ctx->ops->set_vcpus(ctx, domid, count, err);
}

/* The stored config carries the name too: a save or migration sends it,
 * and a renamed domain must not come back under its old name.  A domain
 * with no stored config (Domain-0) has nothing to follow. */
static int rename_stored(struct enso_ctx *ctx, uint32_t domid,
			 const char *new_name, struct enso_error *err)
{
	struct enso_domain_config c;
	struct enso_error e;
	char *dup;
	int rc;

	enso_config_init(&c);
	if (rt_config_load(ctx, domid, &c, &e)) {
		enso_config_dispose(&c);
		return 0;
	}
	dup = strdup(new_name);
	if (!dup) {
		rc = -ENOMEM;
		goto out;
	}
	free(c.name);
	c.name = dup;
	rc = rt_config_store(ctx, domid, &c, err);
out:
	enso_config_dispose(&c);
	return rc;
}

int enso_domain_rename(struct enso_ctx *ctx, uint32_t domid,
		       const char *new_name, struct enso_error *err)
{
	char node[64], *uuid;
	uint32_t other;

	if (!rt_domain_name_valid(new_name))
		return exl_fail(err, -EINVAL, "invalid domain name '%s'", new_name);
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	if (enso_domain_lookup(ctx, new_name, &other, NULL) == 0 && other != domid)
		return exl_fail(err, -EEXIST, "a domain named '%s' already exists",
				new_name);
	snprintf(node, sizeof(node), "/local/domain/%u/name", domid);
	rt_xs_write(ctx, XBT_NULL, node, new_name);
	snprintf(node, sizeof(node), "/libxl/%u/name", domid);
	rt_xs_write(ctx, XBT_NULL, node, new_name);
	uuid = rt_xs_read(ctx, "/libxl/%u/uuid", domid);
	if (uuid) {
		char vm[96];

		snprintf(vm, sizeof(vm), "/vm/%s/name", uuid);
		rt_xs_write(ctx, XBT_NULL, vm, new_name);
	}
	free(uuid);
	return rename_stored(ctx, domid, new_name, err);
}
