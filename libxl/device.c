/*
 * libxl/device.c: a domain's disks and vifs, at create and while it runs
 * (xl block-attach / network-attach, -list, -detach).
 *
 * What both hypervisors share is here: a device is found by its number
 * (a disk's vdev number, a vif's devid), the stored config follows every
 * change (so that a reboot or a restore gets the devices the domain has
 * now), and the backend's device_attach / device_detach do the
 * hypervisor's part.  The two kinds differ only in where the config keeps
 * them and how one is copied: a table (struct kind) says so, and attach
 * and detach are written once.  What the guest sees of a device in
 * xenstore (the -list columns) is read here too: a KVM device has none of
 * it and shows -1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libxl/runtime.h"

#define DEVICE_DETACH_TIMEOUT_MS 10000

static int need_devices(struct enso_ctx *ctx, const void *op, const char *what,
			struct enso_error *err)
{
	if (op)
		return 0;
	return exl_fail(err, -ENOSYS, "%s: not supported on %s yet", what,
			rt_hypervisor_words(ctx));
}

static int dup_str(const char *s, char **out)
{
	*out = s ? strdup(s) : NULL;
	return s && !*out ? -ENOMEM : 0;
}

static int disk_copy(const void *from, void *to)
{
	const struct enso_disk *src = from;
	struct enso_disk *dst = to;

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

static int nic_copy(const void *from, void *to)
{
	const struct enso_nic *src = from;
	struct enso_nic *dst = to;

	*dst = *src;
	dst->bridge = dst->gatewaydev = dst->model = dst->vifname = NULL;
	dst->script = dst->ip = dst->backend = NULL;
	if (dup_str(src->bridge, &dst->bridge) ||
	    dup_str(src->gatewaydev, &dst->gatewaydev) ||
	    dup_str(src->model, &dst->model) ||
	    dup_str(src->vifname, &dst->vifname) ||
	    dup_str(src->script, &dst->script) ||
	    dup_str(src->ip, &dst->ip) ||
	    dup_str(src->backend, &dst->backend)) {
		enso_nic_dispose(dst);
		return -ENOMEM;
	}
	return 0;
}

static void disk_dispose(void *d) { enso_disk_dispose(d); }
static void nic_dispose(void *n) { enso_nic_dispose(n); }
static uint32_t disk_number(const void *d)
{
	return ((const struct enso_disk *)d)->vdev_number;
}
static uint32_t nic_number(const void *n)
{
	return (uint32_t)((const struct enso_nic *)n)->devid;
}
static void **disk_array(struct enso_domain_config *c, size_t **n)
{
	*n = &c->ndisks;
	return (void **)&c->disks;
}
static void **nic_array(struct enso_domain_config *c, size_t **n)
{
	*n = &c->nnics;
	return (void **)&c->nics;
}

/* One kind of device of the stored config. */
struct kind {
	enum backend_device_kind kind;
	const char *what;		/* "disk", "vif": for messages */
	size_t size;			/* of one element */
	void **(*array)(struct enso_domain_config *c, size_t **n);
	uint32_t (*number)(const void *elem);
	int (*copy)(const void *from, void *to);
	void (*dispose)(void *elem);
};

static const struct kind disks = {
	BACKEND_DEVICE_DISK, "disk", sizeof(struct enso_disk), disk_array,
	disk_number, disk_copy, disk_dispose,
};
static const struct kind nics = {
	BACKEND_DEVICE_NIC, "vif", sizeof(struct enso_nic), nic_array,
	nic_number, nic_copy, nic_dispose,
};

static struct backend_device device_of(const struct kind *k, const void *e)
{
	struct backend_device dev = { .kind = k->kind,
				      .devid = k->number(e) };

	if (k->kind == BACKEND_DEVICE_DISK)
		dev.u.disk = e;
	else
		dev.u.nic = e;
	return dev;
}

static void *elem(const struct kind *k, struct enso_domain_config *c,
		  size_t i)
{
	size_t *n;

	return (char *)*k->array(c, &n) + i * k->size;
}

/* The index of the device numbered number in c; -1: none. */
static long find(const struct kind *k, struct enso_domain_config *c,
		 uint32_t number)
{
	size_t *n;

	k->array(c, &n);
	for (size_t i = 0; i < *n; i++)
		if (k->number(elem(k, c, i)) == number)
			return (long)i;
	return -1;
}

/* Create: the config's disks, then its vifs, in order; the caller
 * destroys the domain on failure, which takes whatever was attached with
 * it. */
int rt_devices_attach(struct enso_ctx *ctx, uint32_t domid,
		      const struct enso_domain_config *c,
		      struct enso_error *err)
{
	struct enso_domain_config *cc = (struct enso_domain_config *)c;
	const struct kind *kinds[] = { &disks, &nics };
	int rc = 0;

	if ((!c->ndisks && !c->nnics) || !ctx->ops->devices_after_build)
		return 0;
	rc = need_devices(ctx, (const void *)ctx->ops->device_attach,
			  c->ndisks ? "disk=" : "vif=", err);
	for (size_t k = 0; !rc && k < 2; k++) {
		size_t *n;

		kinds[k]->array(cc, &n);
		for (size_t i = 0; !rc && i < *n; i++) {
			struct backend_device dev =
				device_of(kinds[k], elem(kinds[k], cc, i));

			rc = ctx->ops->device_attach(ctx, domid, &dev, err);
			if (rc)
				exl_err_prefix(err, "%s: ", c->name);
		}
	}
	return rc;
}

int rt_device_config_load(struct enso_ctx *ctx, uint32_t domid,
		struct enso_domain_config *c, struct enso_error *err)
{
	if (domid == 0)
		return exl_fail(err, -EINVAL, "Domain-0 has no devices of Enso's");
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	return rt_config_load(ctx, domid, c, err);
}

/* Adds e to c's devices of kind k and attaches it; the config is stored
 * once the backend serves it.  e is the caller's: a copy goes in. */
static int attach(struct enso_ctx *ctx, uint32_t domid, const struct kind *k,
		  const void *e, struct enso_domain_config *c,
		  struct enso_error *err)
{
	struct backend_device dev;
	void **array, *grown;
	size_t *n;
	int rc;

	if (find(k, c, k->number(e)) >= 0)
		return exl_fail(err, -EEXIST, "domain %u already has a %s %u",
				domid, k->what, k->number(e));
	array = k->array(c, &n);
	grown = realloc(*array, (*n + 1) * k->size);
	if (!grown)
		return -ENOMEM;
	*array = grown;
	rc = k->copy(e, elem(k, c, *n));
	if (rc)
		return rc;
	(*n)++;
	dev = device_of(k, elem(k, c, *n - 1));
	rc = ctx->ops->device_attach(ctx, domid, &dev, err);
	if (rc)
		return rc;
	rc = rt_config_store(ctx, domid, c, err);
	if (rc) {
		struct enso_error ignored;

		ctx->ops->device_detach(ctx, domid, &dev, true, 0, &ignored);
	}
	return rc;
}

/* Detaches c's device of kind k at index at and stores c without it. */
static int detach(struct enso_ctx *ctx, uint32_t domid, const struct kind *k,
		  struct enso_domain_config *c, long at, bool force,
		  struct enso_error *err)
{
	struct backend_device dev = device_of(k, elem(k, c, (size_t)at));
	void **array;
	size_t *n;
	int rc;

	if (err)
		err->msg[0] = '\0';
	rc = ctx->ops->device_detach(ctx, domid, &dev, force,
				     DEVICE_DETACH_TIMEOUT_MS, err);
	if (rc)
		return rc;
	array = k->array(c, &n);
	k->dispose(elem(k, c, (size_t)at));
	memmove(elem(k, c, (size_t)at), elem(k, c, (size_t)at + 1),
		(*n - (size_t)at - 1) * k->size);
	(*n)--;
	if (!*n) {
		free(*array);
		*array = NULL;
	}
	/* A failed store is said; the device is gone all the same. */
	return rt_config_store(ctx, domid, c, err);
}

int enso_disk_attach(struct enso_ctx *ctx, uint32_t domid,
		     const struct enso_disk *disk, struct enso_error *err)
{
	struct enso_domain_config c;
	int rc;

	rc = need_devices(ctx, (const void *)ctx->ops->device_attach,
			  "block-attach", err);
	if (rc)
		return rc;
	if (!disk->vdev || !*disk->vdev)
		return exl_fail(err, -EINVAL, "the disk has no vdev");
	rc = rt_device_config_load(ctx, domid, &c, err);
	if (rc)
		return rc;
	rc = attach(ctx, domid, &disks, disk, &c, err);
	enso_config_dispose(&c);
	return rc;
}

int enso_disk_detach(struct enso_ctx *ctx, uint32_t domid, const char *vdev,
		     bool force, struct enso_error *err)
{
	struct enso_domain_config c;
	uint32_t devid;
	long at;
	int rc;

	rc = need_devices(ctx, (const void *)ctx->ops->device_detach,
			  "block-detach", err);
	if (rc)
		return rc;
	if (enso_vdev_to_number(vdev, &devid))
		return exl_fail(err, -EINVAL, "'%s' is not a vdev", vdev);
	rc = rt_device_config_load(ctx, domid, &c, err);
	if (rc)
		return rc;
	at = find(&disks, &c, devid);
	if (at < 0)
		rc = exl_fail(err, -ENOENT, "domain %u has no disk %s", domid,
			      vdev);
	else
		rc = detach(ctx, domid, &disks, &c, at, force, err);
	enso_config_dispose(&c);
	return rc;
}

int enso_nic_attach(struct enso_ctx *ctx, uint32_t domid,
		    const struct enso_nic *nic, struct enso_error *err)
{
	struct enso_domain_config c;
	struct enso_nic n = *nic;
	int rc;

	rc = need_devices(ctx, (const void *)ctx->ops->device_attach,
			  "network-attach", err);
	if (rc)
		return rc;
	rc = rt_device_config_load(ctx, domid, &c, err);
	if (rc)
		return rc;
	if (n.devid < 0) {	/* upstream's: one past the highest */
		n.devid = 0;
		for (size_t i = 0; i < c.nnics; i++)
			if (c.nics[i].devid >= n.devid)
				n.devid = c.nics[i].devid + 1;
	}
	rt_nic_fill_mac(&n);
	rc = attach(ctx, domid, &nics, &n, &c, err);
	enso_config_dispose(&c);
	return rc;
}

/* The vif that id names: its devid, or its MAC (upstream tells them
 * apart by a ':'); -1: none. */
static long nic_by_id(const struct enso_domain_config *c, const char *id)
{
	uint8_t mac[6];
	char *end;
	long devid;

	if (strchr(id, ':')) {
		if (exl_mac_parse(id, mac))
			return -1;
		for (size_t i = 0; i < c->nnics; i++)
			if (!memcmp(c->nics[i].mac, mac, 6))
				return (long)i;
		return -1;
	}
	devid = strtol(id, &end, 10);
	if (!*id || *end || devid < 0 || devid > 65535)
		return -1;
	for (size_t i = 0; i < c->nnics; i++)
		if (c->nics[i].devid == devid)
			return (long)i;
	return -1;
}

int enso_nic_detach(struct enso_ctx *ctx, uint32_t domid, const char *id,
		    bool force, struct enso_error *err)
{
	struct enso_domain_config c;
	long at;
	int rc;

	rc = need_devices(ctx, (const void *)ctx->ops->device_detach,
			  "network-detach", err);
	if (rc)
		return rc;
	rc = rt_device_config_load(ctx, domid, &c, err);
	if (rc)
		return rc;
	at = nic_by_id(&c, id);
	if (at < 0)
		rc = exl_fail(err, -ENOENT, "domain %u has no vif %s", domid, id);
	else
		rc = detach(ctx, domid, &nics, &c, at, force, err);
	enso_config_dispose(&c);
	return rc;
}
