/*
 * Live migration, the sending half that both hypervisors share: the
 * stream opens as a save file does (save.c's header and config), then
 * the backend's migrate_send copies the guest while it runs.  What the
 * two ends say to each other around it, and the renames, are xl's
 * (xl/cmd_migrate.c): libxl keeps one rule, that a failed send leaves
 * the guest running where it ran.
 */
#include <errno.h>
#include <string.h>

#include "libxl/runtime.h"

int enso_domain_migrate_begin(struct enso_ctx *ctx, uint32_t domid, int fd,
			      const struct enso_domain_config *override,
			      struct enso_save_header *out,
			      struct enso_error *err)
{
	return rt_stream_begin(ctx, domid, fd, "migration stream",
			       (const void *)ctx->ops->migrate_send, "migrate",
			       override, out, err);
}

struct relay {
	struct enso_ctx *ctx;
	enso_migrate_progress_fn *progress;
	void *opaque;
};

/* The caller's progress, and xl's Ctrl-C through the context's flag. */
static bool relay_progress(void *opaque, const struct enso_migrate_progress *p)
{
	struct relay *r = opaque;

	if (rt_cancelled(r->ctx))
		return false;
	return r->progress ? r->progress(r->opaque, p) : true;
}

int enso_domain_migrate_send(struct enso_ctx *ctx, uint32_t domid, int fd,
			     enso_migrate_progress_fn *progress, void *opaque,
			     struct enso_migrate_progress *out,
			     struct enso_error *err)
{
	struct relay r = { ctx, progress, opaque };
	struct enso_migrate_progress last;
	int rc;

	memset(&last, 0, sizeof(last));
	if (!ctx->ops->migrate_send)
		return exl_fail(err, -ENOSYS,
				"migrate is not supported by the %s backend yet (%s)",
				ctx->ops->name, rt_hypervisor_words(ctx));
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	rc = ctx->ops->migrate_send(ctx, domid, fd, relay_progress, &r, &last,
				    err);
	if (rc == -ECANCELED && rt_cancelled(ctx))
		exl_fail(err, rc, "domain %u: migration interrupted; it runs on here",
			 domid);
	if (out)
		*out = last;
	return rc;
}

int enso_domain_migrate_resume(struct enso_ctx *ctx, uint32_t domid,
			       bool was_paused, struct enso_error *err)
{
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	/* A send that failed left it running already (backend.h); one that
	 * succeeded left it stopped, as paused. */
	if (was_paused || !rt_domain_paused(ctx, domid))
		return 0;
	return ctx->ops->unpause(ctx, domid, err);
}
