/*
 * libxl/devlist.c: what block-list and network-list print of a domain's
 * devices: the stored config's devices, with what the guest and the
 * backend wrote of each in xenstore (state, event channel, ring refs).
 * A device without xenstore nodes (KVM's) shows -1 there.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libxl/runtime.h"

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

/* The first of keys that the frontend wrote a number to; -1: none. */
static int read_first(struct enso_ctx *ctx, const char *fe,
		      const char *const *keys)
{
	int v = -1;

	for (; *keys && v < 0; keys++)
		v = read_int(ctx, fe, *keys);
	return v;
}

/* The frontend's backend node, and the backend's state. */
static char *backend_of(struct enso_ctx *ctx, const char *fe, int *state)
{
	char *be = rt_xs_read(ctx, "%s/backend", fe);

	if (be && !*be) {
		free(be);
		be = NULL;
	}
	*state = be ? read_int(ctx, be, "state") : -1;
	return be;
}

/* ---- disks ---- */

static int diskinfo_fill(struct enso_ctx *ctx, uint32_t domid,
			 struct enso_disk *d, struct enso_diskinfo *o)
{
	static const char *const evtchn[] = { "event-channel",
					      "queue-0/event-channel", NULL };
	static const char *const ring[] = { "ring-ref", "ring-ref0",
					    "queue-0/ring-ref",
					    "queue-0/ring-ref0", NULL };
	char fe[96];

	/* the config's disk moves into the listing */
	o->disk = *d;
	memset(d, 0, sizeof(*d));
	o->devid = o->disk.vdev_number;
	o->vdev = o->disk.vdev;
	o->frontend_id = domid;
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vbd/%u", domid,
		 o->devid);
	o->backend_path = backend_of(ctx, fe, &o->state);
	o->evtchn = read_first(ctx, fe, evtchn);	/* multi-queue: queue 0's */
	o->ring_ref = read_first(ctx, fe, ring);
	return 0;
}

static int cmp_disk(const void *a, const void *b)
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
	rc = rt_device_config_load(ctx, domid, &c, err);
	if (rc)
		return rc;
	if (c.ndisks && !(list = calloc(c.ndisks, sizeof(*list))))
		rc = -ENOMEM;
	for (; !rc && i < c.ndisks; i++)
		rc = diskinfo_fill(ctx, domid, &c.disks[i], &list[i]);
	enso_config_dispose(&c);
	if (rc) {
		enso_diskinfo_list_free(list, i);
		return exl_fail(err, rc, "domain %u: listing its disks: %s",
				domid, strerror(-rc));
	}
	qsort(list, i, sizeof(*list), cmp_disk);
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

/* ---- vifs ---- */

static int nicinfo_fill(struct enso_ctx *ctx, uint32_t domid,
			struct enso_nic *nic, struct enso_nicinfo *o)
{
	static const char *const evtchn[] = { "event-channel",
					      "event-channel-tx",
					      "queue-0/event-channel",
					      "queue-0/event-channel-tx", NULL };
	static const char *const tx[] = { "tx-ring-ref", "queue-0/tx-ring-ref",
					  NULL };
	static const char *const rx[] = { "rx-ring-ref", "queue-0/rx-ring-ref",
					  NULL };
	char fe[96];

	o->nic = *nic;
	memset(nic, 0, sizeof(*nic));
	o->devid = (uint32_t)o->nic.devid;
	o->frontend_id = domid;
	snprintf(fe, sizeof(fe), "/local/domain/%u/device/vif/%u", domid,
		 o->devid);
	o->backend_path = backend_of(ctx, fe, &o->state);
	o->evtchn = read_first(ctx, fe, evtchn);
	o->rref_tx = read_first(ctx, fe, tx);
	o->rref_rx = read_first(ctx, fe, rx);
	return 0;
}

static int cmp_nic(const void *a, const void *b)
{
	const struct enso_nicinfo *x = a, *y = b;

	return (x->devid > y->devid) - (x->devid < y->devid);
}

int enso_nic_list(struct enso_ctx *ctx, uint32_t domid,
		  struct enso_nicinfo **out, size_t *n,
		  struct enso_error *err)
{
	struct enso_domain_config c;
	struct enso_nicinfo *list = NULL;
	size_t i = 0;
	int rc;

	*out = NULL;
	*n = 0;
	rc = rt_device_config_load(ctx, domid, &c, err);
	if (rc)
		return rc;
	if (c.nnics && !(list = calloc(c.nnics, sizeof(*list))))
		rc = -ENOMEM;
	for (; !rc && i < c.nnics; i++)
		rc = nicinfo_fill(ctx, domid, &c.nics[i], &list[i]);
	enso_config_dispose(&c);
	if (rc) {
		enso_nicinfo_list_free(list, i);
		return exl_fail(err, rc, "domain %u: listing its vifs: %s",
				domid, strerror(-rc));
	}
	qsort(list, i, sizeof(*list), cmp_nic);
	*out = list;
	*n = i;
	return 0;
}

void enso_nicinfo_list_free(struct enso_nicinfo *list, size_t n)
{
	for (size_t i = 0; list && i < n; i++) {
		enso_nic_dispose(&list[i].nic);
		free(list[i].backend_path);
	}
	free(list);
}
