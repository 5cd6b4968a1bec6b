/*
 * The Xen backend: domains built through libxenctrl and libxenguest.
 * Not written yet (issue 4); until then every operation says so, so that
 * nothing on a Xen host half-works.
 */
#include <errno.h>

#include "libxl/runtime.h"

static int not_yet(struct enso_error *err)
{
	return rt_fail(err, -ENOSYS,
		       "Enso's Xen backend is not built yet: on a Xen host use Enso's xenstored with upstream's xl for now");
}

static int xen_create(struct enso_ctx *ctx, const struct enso_domain_config *c,
		      uint32_t *domid, bool paused, struct enso_error *err)
{
	(void)ctx;
	(void)c;
	(void)domid;
	(void)paused;
	return not_yet(err);
}

static int xen_domain_op(struct enso_ctx *ctx, uint32_t domid,
			 struct enso_error *err)
{
	(void)ctx;
	(void)domid;
	return not_yet(err);
}

static int xen_info(struct enso_ctx *ctx, uint32_t domid,
		    struct backend_dominfo *out, struct enso_error *err)
{
	(void)ctx;
	(void)domid;
	(void)out;
	return not_yet(err);
}

const struct backend_ops backend_xen = {
	.name = "xen",
	.create = xen_create,
	.destroy = xen_domain_op,
	.info = xen_info,
};
