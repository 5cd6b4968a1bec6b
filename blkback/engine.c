/*
 * blkback/engine.c: the "vbd" engine's four moments (xenbus/xenbus.h).
 *
 *   probe       open params (disk.c); write the features -> InitWait
 *   connect     read the frontend's protocol, queues, ring order, ring
 *               refs and event channels; start the device's worker
 *               (worker.c), which maps and binds every queue and serves
 *               them; once it says so, write sectors, info, sector-size,
 *               physical-sector-size in one transaction
 *   disconnect  the worker finishes the I/O in flight and exits; reaped
 *   remove      close the disk
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "blkback/private.h"

static unsigned max_order(const struct blkback *bb)
{
	return bb->max_ring_page_order < BLKBACK_MAX_RING_PAGE_ORDER
		       ? bb->max_ring_page_order
		       : BLKBACK_MAX_RING_PAGE_ORDER;
}

static unsigned max_queues(const struct blkback *bb)
{
	if (bb->max_queues == 0)
		return 1;
	return bb->max_queues < BLKBACK_MAX_QUEUES ? bb->max_queues
						   : BLKBACK_MAX_QUEUES;
}

static int blk_probe(struct xenbus_dev *dev)
{
	struct blk_dev *bd = calloc(1, sizeof(*bd));
	char segs[16], order[16], queues[16], gran[16];
	int rc;

	if (!bd)
		return -ENOMEM;
	bd->dev = dev;
	bd->bb = xenbus_engine_data(dev);
	bd->io.efd = -1;
	rc = blk_disk_open(dev, &bd->disk);
	if (rc < 0) {
		free(bd);
		return rc;
	}
	snprintf(segs, sizeof(segs), "%u", bd->disk.lim.max_segments);
	snprintf(order, sizeof(order), "%u", max_order(bd->bb));
	snprintf(queues, sizeof(queues), "%u", max_queues(bd->bb));
	snprintf(gran, sizeof(gran), "%u", bd->disk.discard_granularity);
	/* Not offered: discard-secure. */
	const struct xenbus_node features[] = {
		{ "feature-max-indirect-segments", segs },
		{ "max-ring-page-order", order },
		{ "multi-queue-max-queues", queues },
		{ "feature-flush-cache", "1" },
		{ "feature-barrier", "1" },
		{ "feature-persistent", "1" },
		{ "feature-discard", bd->disk.lim.discard ? "1" : "0" },
		{ "discard-granularity", gran },
		{ "discard-alignment", "0" },
	};
	rc = xenbus_dev_write_nodes(dev, features, ARRAY_SIZE(features));
	if (rc < 0) {
		blk_disk_close(&bd->disk);
		free(bd);
		return xenbus_dev_error(dev, rc, "writing the features: %s",
					strerror(-rc));
	}
	xenbus_dev_set_priv(dev, bd);
	return 0;
}

struct queue_keys {
	uint32_t refs[1u << BLKBACK_MAX_RING_PAGE_ORDER];
	unsigned port;
};

/* queue-N/ring-ref(s) and event-channel, or the top level's when there
 * is one queue. */
static int read_queue(struct xenbus_dev *dev, unsigned nq, unsigned qi,
		      unsigned order, struct queue_keys *k)
{
	char pre[24] = "", key[48];
	unsigned i, ref;
	int rc;

	if (nq > 1)
		snprintf(pre, sizeof(pre), "queue-%u/", qi);
	for (i = 0; i < 1u << order; i++) {
		if (order == 0)
			snprintf(key, sizeof(key), "%sring-ref", pre);
		else
			snprintf(key, sizeof(key), "%sring-ref%u", pre, i);
		rc = xenbus_dev_read_fe(dev, key, UINT32_MAX, ~0u, &ref);
		if (rc < 0)
			return rc;
		k->refs[i] = ref;
	}
	snprintf(key, sizeof(key), "%sevent-channel", pre);
	return xenbus_dev_read_fe(dev, key, UINT32_MAX, ~0u, &k->port);
}

static int publish(struct blk_dev *bd)
{
	const struct blk_disk *d = &bd->disk;
	char sectors[24], info[8], pss[16];

	snprintf(sectors, sizeof(sectors), "%llu",
		 (unsigned long long)d->lim.sectors);
	snprintf(info, sizeof(info), "%u",
		 (d->lim.readonly ? VDISK_READONLY : 0) |
			 (d->cdrom ? VDISK_CDROM : 0) |
			 (d->removable ? VDISK_REMOVABLE : 0));
	snprintf(pss, sizeof(pss), "%u", d->physical_sector_size);
	/* sector-size stays 512: every sector field of blkif counts 512
	 * bytes, and frontends without feature-large-sector-size need it. */
	const struct xenbus_node nodes[] = {
		{ "sectors", sectors },
		{ "info", info },
		{ "sector-size", "512" },
		{ "physical-sector-size", pss },
	};
	return xenbus_dev_write_nodes(bd->dev, nodes, ARRAY_SIZE(nodes));
}

/* Reads what the worker needs of the frontend (the store is the
 * daemon's), starts the worker, and publishes once it serves. */
static int blk_connect(struct xenbus_dev *dev)
{
	struct blk_dev *bd = xenbus_dev_priv(dev);
	struct blk_conn conn = { 0 };
	struct queue_keys k;
	char *proto = NULL;
	unsigned nq, order = 0, persistent = 0, i;
	int rc;

	rc = xenbus_dev_read(dev, XENBUS_FRONTEND, "protocol", &proto);
	if (rc < 0 && rc != -ENOENT)
		return xenbus_dev_error(dev, rc, "protocol: %s", strerror(-rc));
	if (blk_abi_parse(proto, &bd->abi) < 0) {
		rc = xenbus_dev_error(dev, -EINVAL, "protocol %.32s: not x86_32-abi or x86_64-abi",
				      proto);
		free(proto);
		return rc;
	}
	free(proto);
	rc = xenbus_dev_read_fe(dev, "multi-queue-num-queues", max_queues(bd->bb), 1, &nq);
	if (rc == 0 && nq == 0)
		rc = xenbus_dev_error(dev, -EINVAL, "multi-queue-num-queues: 0");
	if (rc == 0)
		rc = xenbus_dev_read_fe(dev, "ring-page-order", max_order(bd->bb), 0, &order);
	if (rc == 0)
		rc = xenbus_dev_read_fe(dev, "feature-persistent", 1, 0, &persistent);
	if (rc < 0)
		return rc;
	conn.abi = bd->abi;
	conn.nq = nq;
	conn.order = order;
	conn.persistent = persistent;
	for (i = 0; i < nq; i++) {
		rc = read_queue(dev, nq, i, order, &k);
		if (rc < 0)
			return rc;
		memcpy(conn.refs[i], k.refs, sizeof(conn.refs[i]));
		conn.ports[i] = k.port;
	}
	bd->conn = conn;
	rc = blk_worker_start(bd);
	if (rc < 0)
		return rc;
	rc = publish(bd);
	if (rc < 0) {
		blk_worker_stop(bd);
		return xenbus_dev_error(dev, rc, "writing sectors and info: %s",
					strerror(-rc));
	}
	elog(ELOG_INFO, "vbd %u/%s: connected, %s, %u queue%s of %u page%s%s, worker pid %d",
	     xenbus_dev_domid(dev), xenbus_dev_id(dev), blk_abi_name(bd->abi),
	     nq, nq > 1 ? "s" : "", 1u << order, order ? "s" : "",
	     persistent ? ", persistent grants" : "",
	     xenbus_worker_pid(bd->w));
	return 0;
}

static void blk_disconnect(struct xenbus_dev *dev)
{
	blk_worker_stop(xenbus_dev_priv(dev));
}

static void blk_remove(struct xenbus_dev *dev)
{
	struct blk_dev *bd = xenbus_dev_priv(dev);

	blk_disk_close(&bd->disk);
	free(bd);
	xenbus_dev_set_priv(dev, NULL);
}

const struct xenbus_engine blkback_engine = {
	.type = "vbd",
	.probe = blk_probe,
	.connect = blk_connect,
	.disconnect = blk_disconnect,
	.remove = blk_remove,
};
