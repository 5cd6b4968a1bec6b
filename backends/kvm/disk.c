/*
 * Disks of a running KVM domain: the backend ops device_attach and
 * device_detach (xl block-attach, block-detach; libxl/device.c keeps the
 * stored config in step); NICs go on to nic.c, which shares the spare
 * root ports, the JSON builders and the unplug wait below.  Ids come from the disk's vdev number N: the
 * device KVM_DISK_DEV<N> ("vbd51728"), the block node block-attach adds
 * KVM_DISK_NODE<N>, so that detach finds both again.
 *
 * Attach: blockdev-add makes the file a node of QEMU's (the format's
 * driver over a "file" node, with the cache= and aio= the command line
 * would give it: kvm_disk_io; read-only for access=ro and cdroms), and
 * device_add plugs a virtio-blk-pci on it, serial=<vdev>, into a free one
 * of the KVM_HOTPLUG_PORTS PCIe root ports the command line leaves (q35
 * plugs nothing into pcie.0).  The guest finds it through ACPI/PCIe
 * hotplug; a running guest is waited for (ATTACH_SEEN_MS) until its driver
 * has enabled the device (QEMU then reports its BARs mapped).  A failure
 * takes away what was added.
 *
 * Detach: device_del asks the guest to eject the device, and QEMU says
 * DEVICE_DELETED once it has; then blockdev-del drops the node, and with
 * it QEMU's hold on the file.  (A disk of the config came from -drive, and
 * QEMU deletes that drive with its device.)
 *
 * Force, or no eject within timeout_ms: QEMU cannot take a PCI device from
 * a guest, and refuses blockdev-del while a device uses the node.  So the
 * unplug request is left pending in QEMU and detach returns 0 saying so:
 * the guest keeps the disk (and QEMU the file open) until it ejects it or
 * the domain ends; libxl drops the disk from the stored config, so the
 * domain's next boot has none.  The node a late eject leaves behind is
 * deleted by the next block-attach of that vdev (or a detach that finds
 * the device gone), or goes with the domain.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <yajl/yajl_gen.h>

#include "enso-util.h"
#include "backends/kvm/kvm.h"
#include "libxl/services.h"
#include "backends/backend.h"

/* How long attach waits for a running guest to take up the device. */
#define ATTACH_SEEN_MS 10000

struct disk_ids {
	char dev[32], node[32], qdev_path[80];
};

static void disk_ids(uint32_t devid, struct disk_ids *ids)
{
	snprintf(ids->dev, sizeof(ids->dev), KVM_DISK_DEV "%u", devid);
	snprintf(ids->node, sizeof(ids->node), KVM_DISK_NODE "%u", devid);
	/* What query-block names the device by: the virtio-blk-pci's
	 * inner device, which has no id of its own. */
	snprintf(ids->qdev_path, sizeof(ids->qdev_path),
		 "/machine/peripheral/%s/virtio-backend", ids->dev);
}

/* ---- JSON arguments, built with yajl_gen (it escapes file names) ---- */

static void jkey(yajl_gen g, const char *k)
{
	yajl_gen_string(g, (const unsigned char *)k, strlen(k));
}

void kvm_jput_str(yajl_gen g, const char *k, const char *v)
{
	jkey(g, k);
	yajl_gen_string(g, (const unsigned char *)v, strlen(v));
}

static void jbool(yajl_gen g, const char *k, bool v)
{
	jkey(g, k);
	yajl_gen_bool(g, v);
}

/* Closes the top map; the text malloc'd, or NULL. */
char *kvm_jdone(yajl_gen g)
{
	const unsigned char *buf;
	size_t len;
	char *s = NULL;

	if (yajl_gen_map_close(g) == yajl_gen_status_ok &&
	    yajl_gen_get_buf(g, &buf, &len) == yajl_gen_status_ok)
		s = strndup((const char *)buf, len);
	yajl_gen_free(g);
	return s;
}

yajl_gen kvm_jopen(void)
{
	yajl_gen g = yajl_gen_alloc(NULL);

	if (g)
		yajl_gen_map_open(g);
	return g;
}

char *kvm_id_args(const char *id)
{
	yajl_gen g = kvm_jopen();

	if (!g)
		return NULL;
	kvm_jput_str(g, "id", id);
	return kvm_jdone(g);
}

/* {"node-name": node}, for blockdev-del. */
static char *node_args(const char *node)
{
	yajl_gen g = kvm_jopen();

	if (!g)
		return NULL;
	kvm_jput_str(g, "node-name", node);
	return kvm_jdone(g);
}

/* What the format node and its file node both say: -drive's readonly=
 * and cache= give them the same. */
static void node_access(yajl_gen g, bool ro, bool direct)
{
	jbool(g, "read-only", ro);
	jkey(g, "cache");
	yajl_gen_map_open(g);
	jbool(g, "direct", direct);
	yajl_gen_map_close(g);
}

static char *blockdev_args(const struct enso_disk *d, const char *node,
			   const char *cache, const char *aio)
{
	bool ro = !d->readwrite || d->is_cdrom;
	bool direct = !strcmp(cache, "none");
	yajl_gen g = kvm_jopen();

	if (!g)
		return NULL;
	kvm_jput_str(g, "driver", kvm_disk_format(d));
	kvm_jput_str(g, "node-name", node);
	node_access(g, ro, direct);
	jkey(g, "file");
	yajl_gen_map_open(g);
	kvm_jput_str(g, "driver", "file");
	kvm_jput_str(g, "filename", d->target);
	kvm_jput_str(g, "aio", aio);
	node_access(g, ro, direct);
	yajl_gen_map_close(g);
	return kvm_jdone(g);
}

static char *device_args(const struct enso_disk *d, const struct disk_ids *ids,
			 const char *port)
{
	yajl_gen g = kvm_jopen();

	if (!g)
		return NULL;
	kvm_jput_str(g, "driver", "virtio-blk-pci");
	kvm_jput_str(g, "id", ids->dev);
	kvm_jput_str(g, "bus", port);
	kvm_jput_str(g, "drive", ids->node);
	kvm_jput_str(g, "serial", d->vdev);
	return kvm_jdone(g);
}

int kvm_qmp_take(struct qmp *q, uint32_t domid, const char *cmd, char *args,
		 struct enso_error *err)
{
	int rc;

	if (!args)
		return exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	rc = kvm_qmp_call(q, domid, cmd, args, NULL, err);
	free(args);
	return rc;
}

/* blockdev-del of node; err may be NULL (a leftover that may not be). */
static int node_del(struct qmp *q, uint32_t domid, const char *node,
		    struct enso_error *err)
{
	return kvm_qmp_take(q, domid, "blockdev-del", node_args(node), err);
}

/* ---- QEMU's PCI tree (query-pci) ---- */

yajl_val kvm_pci_bridge_devices(yajl_val pdev)
{
	yajl_val v = kvm_jget(pdev, "pci_bridge", "devices");

	return v && YAJL_IS_ARRAY(v) ? v : NULL;
}

/* The device whose id is qdev_id in a list of query-pci's, bridges
 * searched too; NULL when absent. */
static yajl_val pci_find(yajl_val devices, const char *qdev_id)
{
	for (size_t i = 0; devices && i < devices->u.array.len; i++) {
		yajl_val pd = devices->u.array.values[i], in;
		const char *id = kvm_jstr(kvm_jget(pd, "qdev_id", NULL));

		if (id && !strcmp(id, qdev_id))
			return pd;
		in = pci_find(kvm_pci_bridge_devices(pd), qdev_id);
		if (in)
			return in;
	}
	return NULL;
}

yajl_val kvm_pci_root_devices(yajl_val reply)
{
	yajl_val buses = kvm_jget(reply, "return", NULL), devs;

	if (!buses || !YAJL_IS_ARRAY(buses) || !buses->u.array.len)
		return NULL;
	devs = kvm_jget(buses->u.array.values[0], "devices", NULL);
	return devs && YAJL_IS_ARRAY(devs) ? devs : NULL;
}

/* A hotplug root port with nothing plugged in it, into port. */
static int free_port(struct qmp *q, uint32_t domid, char *port, size_t len,
		     struct enso_error *err)
{
	yajl_val ret = NULL, devs;
	int rc = kvm_qmp_call(q, domid, "query-pci", NULL, &ret, err);

	if (rc)
		return rc;
	devs = kvm_pci_root_devices(ret);
	rc = exl_fail(err, -ENOSPC,
		      "domain %u: all %d spare PCIe root ports are taken; detach a disk or a NIC first",
		      domid, KVM_HOTPLUG_PORTS);
	for (int i = 0; i < KVM_HOTPLUG_PORTS; i++) {
		yajl_val pd, in;

		snprintf(port, len, KVM_HOTPLUG_PORT "%d", i);
		pd = pci_find(devs, port);
		in = kvm_pci_bridge_devices(pd);
		if (pd && (!in || !in->u.array.len)) {
			rc = 0;
			break;
		}
	}
	yajl_tree_free(ret);
	return rc;
}

int kvm_plug_open(struct enso_ctx *ctx, uint32_t domid, struct qmp **q,
		  char *port, size_t len, struct enso_error *err)
{
	int rc = kvm_qmp_open(ctx, domid, "qmp.sock", q, err);

	if (rc) {
		*q = NULL;
		return rc;
	}
	rc = free_port(*q, domid, port, len, err);
	if (rc) {
		qmp_close(*q);
		*q = NULL;
	}
	return rc;
}

/* The guest's driver has enabled the device: QEMU maps a BAR only once
 * the guest turns on its memory (or I/O) decoding. */
static bool guest_took_it(struct qmp *q, uint32_t domid, const char *dev)
{
	yajl_val ret = NULL, regions;
	bool seen = false;

	if (kvm_qmp_call(q, domid, "query-pci", NULL, &ret, NULL))
		return false;
	regions = kvm_jget(pci_find(kvm_pci_root_devices(ret), dev), "regions", NULL);
	for (size_t i = 0; regions && YAJL_IS_ARRAY(regions) &&
			   i < regions->u.array.len; i++) {
		yajl_val a = kvm_jget(regions->u.array.values[i], "address", NULL);

		if (a && YAJL_IS_INTEGER(a) && YAJL_GET_INTEGER(a) != -1)
			seen = true;
	}
	yajl_tree_free(ret);
	return seen;
}

static bool guest_running(struct qmp *q, uint32_t domid)
{
	yajl_val ret = NULL;
	const char *s;
	bool running;

	if (kvm_qmp_call(q, domid, "query-status", NULL, &ret, NULL))
		return false;
	s = kvm_jstr(kvm_jget(ret, "return", "status"));
	running = s && !strcmp(s, "running");
	yajl_tree_free(ret);
	return running;
}

void kvm_wait_guest_sees(struct qmp *q, uint32_t domid, const char *dev)
{
	long long deadline = monotonic_ms() + ATTACH_SEEN_MS;

	if (!guest_running(q, domid))
		return;
	/* A guest without hotplug support never takes it: attach still
	 * succeeded, QEMU serves the device. */
	while (!guest_took_it(q, domid, dev) && monotonic_ms() < deadline)
		usleep(100000);
}

/* The domain's QEMU log gets the disk's I/O fallbacks, as at create. */
static void log_note(struct enso_ctx *ctx, uint32_t domid, const char *note)
{
	char *name = rt_xs_read(ctx, "/local/domain/%u/name", domid);
	char *path = NULL;
	FILE *f;

	if (*note && name &&
	    asprintf(&path, "%s/qemu-%s.log", rt_log_dir(ctx), name) >= 0 &&
	    (f = fopen(path, "a"))) {
		fputs(note, f);
		fclose(f);
	}
	free(path);
	free(name);
}

int kvm_device_attach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, struct enso_error *err)
{
	const struct enso_disk *d = dev->u.disk;
	struct disk_ids ids;
	const char *cache, *aio;
	char who[32], port[32], note[512] = "", *args = NULL;
	struct qmp *q = NULL;
	int rc;

	if (dev->kind == BACKEND_DEVICE_NIC)
		return kvm_nic_attach(ctx, domid, dev, err);
	if (!d->target)
		return exl_fail(err, -EINVAL,
				"domain %u: disk %s: an empty cdrom cannot be plugged in on kvm",
				domid, d->vdev);
	snprintf(who, sizeof(who), "domain %u", domid);
	rc = kvm_check_disk(who, d, err);
	if (rc)
		return rc;
	disk_ids(dev->devid, &ids);
	kvm_disk_io(d, &cache, &aio, note, sizeof(note));
	rc = kvm_plug_open(ctx, domid, &q, port, sizeof(port), err);
	if (rc)
		goto out;
	/* A node an earlier detach left (the guest ejected late): gone now,
	 * or not ours to delete (its device is still there), which the
	 * device_add below then says. */
	node_del(q, domid, ids.node, NULL);
	args = blockdev_args(d, ids.node, cache, aio);
	rc = args ? kvm_qmp_call(q, domid, "blockdev-add", args, NULL, err) :
		    -ENOMEM;
	free(args);
	if (rc)
		goto out;
	args = device_args(d, &ids, port);
	rc = args ? kvm_qmp_call(q, domid, "device_add", args, NULL, err) :
		    -ENOMEM;
	free(args);
	if (rc) {
		node_del(q, domid, ids.node, NULL);
		goto out;
	}
	log_note(ctx, domid, note);
	kvm_wait_guest_sees(q, domid, ids.dev);
out:
	if (rc == -ENOMEM)
		exl_fail(err, rc, "domain %u: out of memory", domid);
	if (rc)
		exl_err_prefix(err, "disk %s: ", d->vdev);
	qmp_close(q);
	return rc;
}

/* The block node of the device ids->dev in query-block (*node malloc'd;
 * NULL: a drive with no medium); 0 found, -ENOENT not there. */
static int device_node(struct qmp *q, uint32_t domid,
		       const struct disk_ids *ids, char **node,
		       struct enso_error *err)
{
	yajl_val ret = NULL, list;
	int rc = kvm_qmp_call(q, domid, "query-block", NULL, &ret, err);

	*node = NULL;
	if (rc)
		return rc;
	rc = -ENOENT;
	list = kvm_jget(ret, "return", NULL);
	for (size_t i = 0; list && YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
		yajl_val b = list->u.array.values[i];
		const char *qdev = kvm_jstr(kvm_jget(b, "qdev", NULL));
		const char *nn = kvm_jstr(kvm_jget(kvm_jget(b, "inserted", NULL),
						   "node-name", NULL));

		if (!qdev || (strcmp(qdev, ids->qdev_path) && strcmp(qdev, ids->dev)))
			continue;
		rc = 0;
		if (nn && !(*node = strdup(nn)))
			rc = -ENOMEM;
		break;
	}
	yajl_tree_free(ret);
	return rc;
}

/* DEVICE_DELETED for dev within timeout_ms: 1, 0 not (yet), <0 QEMU gone. */
static int wait_deleted(struct qmp *q, const char *dev, int timeout_ms)
{
	long long deadline = monotonic_ms() + timeout_ms;

	for (;;) {
		long long left = deadline - monotonic_ms();
		int rc;
		yajl_val ev = qmp_next_event(q, left > 0 ? (int)left : 0, &rc);
		const char *id;
		bool ours;

		if (!ev)
			return rc;
		id = kvm_jstr(kvm_jget(ev, "data", "device"));
		ours = !strcmp(qmp_event_name(ev), "DEVICE_DELETED") && id &&
		       !strcmp(id, dev);
		yajl_tree_free(ev);
		if (ours)
			return 1;
	}
}

int kvm_unplug(struct qmp *q, uint32_t domid, const char *id, bool force,
	       int timeout_ms, const char *who, const char *keeps,
	       struct enso_error *err)
{
	int rc = kvm_qmp_take(q, domid, "device_del", kvm_id_args(id), err);

	if (rc)
		return rc;
	/* -f does not wait at all, not even for an event already read. */
	rc = force ? 0 : wait_deleted(q, id, timeout_ms);
	if (rc < 0)
		return exl_fail(err, rc, "domain %u: QEMU went away during the unplug",
				domid);
	if (rc == 0)
		exl_fail(err, 0,
			 "domain %u: %s: %s; QEMU cannot take a PCI device from the guest, so the unplug request stays pending and the guest keeps %s until it ejects it or the domain ends. It is gone from the domain's config.",
			 domid, who,
			 force ? "forced: not waiting for the guest" :
				 "the guest did not eject it in time",
			 keeps);
	return rc;
}

int kvm_device_detach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, bool force,
		      int timeout_ms, struct enso_error *err)
{
	const char *vdev;
	struct disk_ids ids;
	struct qmp *q = NULL;
	char *node = NULL, who[48];
	int rc;

	if (dev->kind == BACKEND_DEVICE_NIC)
		return kvm_nic_detach(ctx, domid, dev, force, timeout_ms, err);
	vdev = dev->u.disk->vdev;
	disk_ids(dev->devid, &ids);
	rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);
	if (rc)
		return rc;
	rc = device_node(q, domid, &ids, &node, err);
	if (rc == -ENOENT) {
		/* QEMU has no such device: the guest ejected it after a
		 * detach that timed out.  Its node goes now. */
		node_del(q, domid, ids.node, NULL);
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	snprintf(who, sizeof(who), "disk %s", vdev);
	rc = kvm_unplug(q, domid, ids.dev, force, timeout_ms, who,
			"the disk (QEMU the file)", err);
	if (rc == 1) {
		rc = 0;
		/* A node of block-attach's goes; a drive of the config's
		 * command line went with its device. */
		if (node && !strcmp(node, ids.node))
			rc = node_del(q, domid, ids.node, err);
	}
out:
	if (rc)
		exl_err_prefix(err, "disk %s: ", vdev);
	free(node);
	qmp_close(q);
	return rc;
}
