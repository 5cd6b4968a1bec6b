/*
 * TEMPORARY STUB, for the xlblock branch only: lets xl's block-attach,
 * block-list and block-detach link before the real calls exist.  The
 * libxl/device.c being written on main replaces this file wholesale at
 * merge; do not build on it.
 */
#include <errno.h>
#include <stdlib.h>

#include "libxl/services.h"

int enso_disk_attach(struct enso_ctx *ctx, uint32_t domid,
		     const struct enso_disk *disk, struct enso_error *err)
{
	(void)ctx; (void)domid; (void)disk;
	return exl_fail(err, -ENOSYS, "not yet");
}

int enso_disk_detach(struct enso_ctx *ctx, uint32_t domid, const char *vdev,
		     bool force, struct enso_error *err)
{
	(void)ctx; (void)domid; (void)vdev; (void)force;
	return exl_fail(err, -ENOSYS, "not yet");
}

int enso_disk_list(struct enso_ctx *ctx, uint32_t domid,
		   struct enso_diskinfo **out, size_t *n,
		   struct enso_error *err)
{
	(void)ctx; (void)domid;
	*out = NULL;
	*n = 0;
	return exl_fail(err, -ENOSYS, "not yet");
}

void enso_diskinfo_list_free(struct enso_diskinfo *list, size_t n)
{
	(void)n;
	free(list);
}
