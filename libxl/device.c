/*
 * libxl/device.c: a domain's disks, at create and while it runs
 * (xl block-attach, block-list, block-detach).
 *
 * What both hypervisors share is here: the disk is found by its vdev
 * number, the stored config follows every change (so that a reboot or a
 * restore gets the disks the domain has now), and the backend's
 * device_attach / device_detach do the hypervisor's part.  What the
 * guest sees of a disk in xenstore (block-list's columns) is read here
 * too: a KVM disk has none of it and shows -1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libxl/runtime.h"

#define DISK_DETACH_TIMEOUT_MS 10000

static int need_devices(struct enso_ctx *ctx, const void *op, const char *what,
			struct enso_error *err)
{
	if (op)
		return 0;
	return exl_fail(err, -ENOSYS, "%s: not supported on %s yet", what,
			rt_hypervisor_words(ctx));
}

static struct backend_device disk_device(const struct enso_disk *d)
{
	return (struct backend_device){ .kind = BACKEND_DEVICE_DISK,
					.devid = d->vdev_number,
					.u.disk = d };
}

/* Create: the config's disks, in order; the caller destroys the domain
 * on failure, which takes whatever was attached with it. */
int rt_devices_attach(struct enso_ctx *ctx, uint32_t domid,
		      const struct enso_domain_config *c,
		      struct enso_error *err)
{
	int rc;

	if (!c->ndisks || !ctx->ops->devices_after_build)
		return 0;
	rc = need_devices(ctx, (const void *)ctx->ops->device_attach,
			  "disk=", err);
	for (size_t i = 0; !rc && i < c->ndisks; i++) {
		struct backend_device dev = disk_device(&c->disks[i]);

		rc = ctx->ops->device_attach(ctx, domid, &dev, err);
		if (rc)
			exl_err_prefix(err, "%s: ", c->name);
	}
	return rc;
}

static int dup_str(const char *s, char **out)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -ENOMEM : 0;
}

static int disk_copy(const struct enso_disk *src, struct enso_disk *dst)
{
	*dst = *src;
	dst->target = dst->vdev = dst->backend = dst->script = NULL;
	if (dup_str(src->target, &dst->target) ||
	    dup_str(src->vdev, &dst->vdev) ||
	    dup_str(src->backend, &dst->backend) ||
	    dup_str(src->script, &dst->script)) {
		enso_disk_dispose(dst);
		return -ENOMEM;
	}
	return 0;
}

/* The stored config of a domain that may have disks. */
static int load(struct enso_ctx *ctx, uint32_t domid,
		struct enso_domain_config *c, struct enso_error *err)
{
	if (domid == 0)
		return exl_fail(err, -EINVAL, "Domain-0 has no disks of Enso's");
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	return rt_config_load(ctx, domid, c, err);
}

/* The index of the disk numbered devid in c; -1: none. */
static long disk_index(const struct enso_domain_config *c, uint32_t devid)
{
	for (size_t i = 0; i < c->ndisks; i++)
		if (c->disks[i].vdev_number == devid)
			return (long)i;
	return -1;
}

int enso_disk_attach(struct enso_ctx *ctx, uint32_t domid,
		     const struct enso_disk *disk, struct enso_error *err)
{
	struct enso_domain_config c;
	struct enso_disk *grown;
	struct backend_device dev = disk_device(disk);
	long at;
	int rc;

	rc = need_devices(ctx, (const void *)ctx->ops->device_attach,
			  "block-attach", err);
	if (rc)
		return rc;
	if (!disk->vdev || !*disk->vdev)
		return exl_fail(err, -EINVAL, "the disk has no vdev");
	rc = load(ctx, domid, &c, err);
	if (rc)
		return rc;
	at = disk_index(&c, disk->vdev_number);
	if (at >= 0) {
		rc = exl_fail(err, -EEXIST, "domain %u already has a disk %s",
			      domid, c.disks[at].vdev);
		goto out;
	}
	grown = realloc(c.disks, (c.ndisks + 1) * sizeof(*grown));
	if (!grown) {
		rc = -ENOMEM;
		goto out;
	}
	c.disks = grown;
	rc = disk_copy(disk, &c.disks[c.ndisks]);
	if (rc)
		goto out;
	c.ndisks++;
	rc = ctx->ops->device_attach(ctx, domid, &dev, err);
	if (rc)
		goto out;
	rc = rt_config_store(ctx, domid, &c, err);
	if (rc) {
		struct enso_error ignored;

		ctx->ops->device_detach(ctx, domid, &dev, true, 0, &ignored);
	}
out:
	enso_config_dispose(&c);
	return rc;
}

int enso_disk_detach(struct enso_ctx *ctx, uint32_t domid, const char *vdev,
		     bool force, struct enso_error *err)
{
	struct enso_domain_config c;
	struct backend_device dev;
	uint32_t devid;
	long at;
	int rc;

	rc = need_devices(ctx, (const void *)ctx->ops->device_detach,
			  "block-detach", err);
	if (rc)
		return rc;
	if (enso_vdev_to_number(vdev, &devid))
		return exl_fail(err, -EINVAL, "'%s' is not a vdev", vdev);
	rc = load(ctx, domid, &c, err);
	if (rc)
		return rc;
	at = disk_index(&c, devid);
	if (at < 0) {
		rc = exl_fail(err, -ENOENT, "domain %u has no disk %s", domid,
			      vdev);
		goto out;
	}
	if (err)
		err->msg[0] = '\0';
	dev = disk_device(&c.disks[at]);
	rc = ctx->ops->device_detach(ctx, domid, &dev, force,
				     DISK_DETACH_TIMEOUT_MS, err);
	if (rc)
		goto out;
	enso_disk_dispose(&c.disks[at]);
	memmove(&c.disks[at], &c.disks[at + 1],
		(c.ndisks - (size_t)at - 1) * sizeof(c.disks[0]));
	c.ndisks--;
	rc = rt_config_store(ctx, domid, &c, err);
out:
	enso_config_dispose(&c);
	return rc;
}

/* A number the guest or backend wrote; -1 when absent or not one. */
static int read_int(struct enso_ctx *ctx, const char *dir, const char *key)
{
	char *s = rt_xs_read(ctx, "%s/%s", dir, key), *end;
	long v = -1;

	if (s && *s) {
		v = strtol(s, &end, 10);
		if (*end || v < 0 || v > 0x7fffffff)
			v = -1;
	}
	free(s);
	return (int)v;
}

static int diskinfo_fill(struct enso_ctx *ctx, uint32_t domid,
			 const struct enso_disk *d, struct enso_diskinfo *o)
{
	char fe[96];
	int rc = disk_copy(d, &o->disk);

	if (rc)
		return rc;
	o->devid = d->vdev_number;
	o->vdev = o->disk.vdev;
	o->frontend_id = domid;
	o->state = o->evtchn = o->ring_ref = -1;
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", domid,
		 o->devid);
	o->backend_path = rt_xs_read(ctx, "%s/backend", fe);
	if (o->backend_path && !*o->backend_path) {
		free(o->backend_path);
		o->backend_path = NULL;
	}
	if (o->backend_path)
		o->state = read_int(ctx, o->backend_path, "state");
	o->evtchn = read_int(ctx, fe, "event-channel");
	if (o->evtchn < 0)	/* multi-queue: the first queue's */
		o->evtchn = read_int(ctx, fe, "queue-0/event-channel");
	o->ring_ref = read_int(ctx, fe, "ring-ref");
	if (o->ring_ref < 0)
		o->ring_ref = read_int(ctx, fe, "ring-ref0");
	if (o->ring_ref < 0)
		o->ring_ref = read_int(ctx, fe, "queue-0/ring-ref");
	if (o->ring_ref < 0)
		o->ring_ref = read_int(ctx, fe, "queue-0/ring-ref0");
	return 0;
}

static int cmp_devid(const void *a, const void *b)
{
	const struct enso_diskinfo *x = a, *y = b;

	return (x->devid > y->devid) - (x->devid < y->devid);
}

int enso_disk_list(struct enso_ctx *ctx, uint32_t domid,
		   struct enso_diskinfo **out, size_t *n,
		   struct enso_error *err)
{
	struct enso_domain_config c;
	struct enso_diskinfo *list = NULL;
	size_t i = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = load(ctx, domid, &c, err);
	if (rc)
		return rc;
	if (c.ndisks) {
		list = calloc(c.ndisks, sizeof(*list));
		if (!list)
			rc = -ENOMEM;
	}
	for (; !rc && i < c.ndisks; i++)
		rc = diskinfo_fill(ctx, domid, &c.disks[i], &list[i]);
	enso_config_dispose(&c);
	if (rc) {
		enso_diskinfo_list_free(list, i);
		return exl_fail(err, rc, "domain %u: listing its disks: %s",
				domid, strerror(-rc));
	}
	qsort(list, i, sizeof(*list), cmp_devid);
	*out = list;
	*n = i;
	return 0;
}

void enso_diskinfo_list_free(struct enso_diskinfo *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		enso_disk_dispose(&list[i].disk);
		free(list[i].backend_path);
	}
	free(list);
}
