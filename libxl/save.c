/*
 * Save and restore: the half both hypervisors share.  libxl writes and
 * reads the file's header and config (savefile.c), decides what becomes
 * of the domain after a save, and builds the restored one through
 * create's own path; the backend's save and restore ops move the guest's
 * state (backends/backend.h).
 *
 * The rule throughout: one copy of the guest at all times.  The saved
 * domain is destroyed only once its file is on disk (fsync'd); a save
 * that fails resumes it; a restore that fails leaves nothing behind.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libxl/runtime.h"

static int can_save(struct enso_ctx *ctx, uint32_t domid, const void *op,
		    const char *what, struct enso_error *err)
{
	if (!op)
		return exl_fail(err, -ENOSYS,
				"%s is not supported by the %s backend yet (%s)",
				what, ctx->ops->name, rt_hypervisor_words(ctx));
	if (domid == 0)
		return exl_fail(err, -EINVAL, "Domain-0 cannot be saved");
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	return 0;
}

/* The header and config of a save or a migration: op is the backend's
 * op that will follow (checked first), what its name in errors. */
int rt_stream_begin(struct enso_ctx *ctx, uint32_t domid, int fd,
		    const char *source, const void *op, const char *what,
		    const struct enso_domain_config *override,
		    struct enso_save_header *out, struct enso_error *err)
{
	struct enso_domain_config c;
	char *json = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	enso_config_init(&c);
	rc = can_save(ctx, domid, op, what, err);
	if (rc)
		goto out;
	/* What the domain runs with, devices attached since included (the
	 * stored config follows them), MACs and uuid as they are now. */
	rc = override ? rt_config_copy(override, &c, err) :
			rt_config_load(ctx, domid, &c, err);
	if (rc)
		goto out;
	free(c.device_layout);
	c.device_layout = NULL;
	if (ctx->ops->stream_layout) {
		rc = ctx->ops->stream_layout(ctx, domid, &c.device_layout, err);
		if (rc)
			goto out;
	}
	rc = enso_config_to_json(&c, true, &json);
	if (rc) {
		exl_fail(err, rc, "domain %u: its config as JSON: %s", domid,
			 strerror(-rc));
		goto out;
	}
	/* STREAMv2 only where the backend writes libxl's stream v2 (Xen);
	 * KVM's payload is QEMU's own stream. */
	rc = enso_save_header_write(fd, source, json,
				    ctx->ops->save_streamv2 ?
					    ENSO_SAVE_MANDATORY_STREAMV2 : 0,
				    out, err);
out:
	free(json);
	enso_config_dispose(&c);
	return rc;
}

int enso_domain_save_begin(struct enso_ctx *ctx, uint32_t domid, int fd,
			   const char *source,
			   const struct enso_domain_config *override,
			   struct enso_save_header *out,
			   struct enso_error *err)
{
	return rt_stream_begin(ctx, domid, fd, source,
			       (const void *)ctx->ops->save, "save", override,
			       out, err);
}

bool rt_domain_paused(struct enso_ctx *ctx, uint32_t domid)
{
	struct backend_dominfo bi;

	memset(&bi, 0, sizeof(bi));
	return ctx->ops->info(ctx, domid, &bi, NULL) == 0 && bi.paused;
}

int enso_domain_save(struct enso_ctx *ctx, uint32_t domid, int fd,
		     unsigned flags, struct enso_error *err)
{
	bool was_paused;
	int rc;

	if (flags & ~(unsigned)(ENSO_SAVE_CHECKPOINT | ENSO_SAVE_LEAVE_PAUSED))
		return exl_fail(err, -EINVAL, "unknown save flags %#x", flags);
	rc = can_save(ctx, domid, (const void *)ctx->ops->save, "save", err);
	if (rc)
		return rc;
	was_paused = rt_domain_paused(ctx, domid);
	rc = ctx->ops->save(ctx, domid, fd, err);
	/* The file is the guest's only copy once the domain goes: on disk
	 * first. */
	if (!rc && fsync(fd) < 0 && errno != EINVAL && errno != EROFS)
		rc = exl_fail(err, -errno, "domain %u: saved, but the file cannot be synced: %s",
			      domid, strerror(errno));
	if (rc || (flags & ENSO_SAVE_CHECKPOINT &&
		   !(flags & ENSO_SAVE_LEAVE_PAUSED))) {
		struct enso_error e;
		int r = was_paused ? 0 : ctx->ops->unpause(ctx, domid, &e);

		if (r && !rc)
			rc = exl_fail(err, r, "domain %u: saved, but it does not run again: %s",
				      domid, e.msg);
		return rc;
	}
	if (flags & ENSO_SAVE_LEAVE_PAUSED)
		return 0;
	return enso_domain_destroy(ctx, domid, err);
}

int enso_domain_restore(struct enso_ctx *ctx,
			const struct enso_domain_config *cfg, int fd,
			unsigned flags, uint32_t *domid,
			struct enso_error *err)
{
	if (!ctx->ops->restore)
		return exl_fail(err, -ENOSYS,
				"restore is not supported by the %s backend yet (%s)",
				ctx->ops->name, rt_hypervisor_words(ctx));
	return rt_domain_build(ctx, cfg, flags, fd, domid, err);
}
