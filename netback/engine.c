/*
 * netback/engine.c: the "vif" engine's four moments (xenbus/xenbus.h).
 *
 *   probe       write the features -> InitWait
 *   connect     read the frontend (rx-copy, queues, rings, channels,
 *               what it takes on rx, its control ring, whether it wants
 *               multicast filtered) and the backend's rate and tap name;
 *               open one tap fd per queue (root is needed: here, not in
 *               the worker); start the vif's worker, which maps, binds
 *               and serves; the daemon's copies of the tap fds are closed
 *   fe_changed  request-multicast-control, sent on to the worker
 *   disconnect  the worker stops and is reaped
 *   remove      free what probe made
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "netback/private.h"

static unsigned max_queues(const struct netback *nb)
{
	if (nb->max_queues == 0)
		return 1;
	return nb->max_queues < NETBACK_MAX_QUEUES ? nb->max_queues
						   : NETBACK_MAX_QUEUES;
}

static void count_broken(void *arg)
{
	struct nb_dev *nd = arg;

	nd->nb->stats.broken++;
}

static int nb_probe(struct xenbus_dev *dev)
{
	struct nb_dev *nd = calloc(1, sizeof(*nd));
	char queues[16];
	unsigned i;
	int rc;

	if (!nd)
		return -ENOMEM;
	nd->dev = dev;
	nd->nb = xenbus_engine_data(dev);
	for (i = 0; i < NETBACK_MAX_QUEUES; i++)
		nd->tapfd[i] = -1;
	snprintf(queues, sizeof(queues), "%u", max_queues(nd->nb));
	/* request-multicast-control is read at connect and followed after
	 * (nb_fe_changed): the worker filters, the daemon tells it. */
	const struct xenbus_node features[] = {
		{ "feature-sg", "1" },
		{ "feature-gso-tcpv4", "1" },
		{ "feature-gso-tcpv6", "1" },
		{ "feature-ipv6-csum-offload", "1" },
		{ "feature-rx-copy", "1" },
		{ "feature-rx-flip", "0" },
		{ "feature-multicast-control", "1" },
		{ "feature-dynamic-multicast-control", "1" },
		{ "feature-split-event-channels", "1" },
		{ "feature-ctrl-ring", "1" },
		{ "multi-queue-max-queues", queues },
	};
	rc = xenbus_dev_write_nodes(dev, features, ARRAY_SIZE(features));
	if (rc < 0) {
		free(nd);
		return xenbus_dev_error(dev, rc, "writing the features: %s",
					strerror(-rc));
	}
	snprintf(nd->name, sizeof(nd->name), "vif.%u.%s", xenbus_dev_domid(dev),
		 xenbus_dev_id(dev));
	nd->wargs = (struct xenbus_worker_args){ .user = nd->nb->user,
						 .name = nd->name,
						 .keep = nd->tapfd,
						 .serve = nb_serve,
						 .broken = count_broken,
						 .arg = nd };
	xenbus_dev_set_priv(dev, nd);
	return 0;
}

/* A queue's rings and channels: queue-N/ when there are several. */
static int read_queue(struct xenbus_dev *dev, struct nb_conf *c, unsigned qi)
{
	struct nb_conf_queue *q = &c->q[qi];
	char pre[24] = "", key[64];
	unsigned long long any;
	bool split;
	int rc;

	if (c->nq > 1)
		snprintf(pre, sizeof(pre), "queue-%u/", qi);
	snprintf(key, sizeof(key), "%stx-ring-ref", pre);
	rc = xenbus_dev_read_fe(dev, key, UINT32_MAX, ~0u, &q->tx_ref);
	snprintf(key, sizeof(key), "%srx-ring-ref", pre);
	rc = rc ? rc : xenbus_dev_read_fe(dev, key, UINT32_MAX, ~0u, &q->rx_ref);
	if (rc < 0)
		return rc;
	/* Split channels (event-channel-tx and -rx), or one for both. */
	snprintf(key, sizeof(key), "%sevent-channel-tx", pre);
	split = xenbus_dev_read_uint(dev, XENBUS_FRONTEND, key, UINT32_MAX,
				     &any) != -ENOENT;
	if (split) {
		rc = xenbus_dev_read_fe(dev, key, UINT32_MAX, ~0u, &q->tx_port);
		snprintf(key, sizeof(key), "%sevent-channel-rx", pre);
		rc = rc ? rc : xenbus_dev_read_fe(dev, key, UINT32_MAX, ~0u, &q->rx_port);
	} else {
		snprintf(key, sizeof(key), "%sevent-channel", pre);
		rc = xenbus_dev_read_fe(dev, key, UINT32_MAX, ~0u, &q->tx_port);
		q->rx_port = q->tx_port;
	}
	if (rc == 0 && qi > 0 && split != c->split)
		rc = xenbus_dev_error(dev, -EINVAL, "queue %u: channels split unlike queue 0's",
				      qi);
	c->split = split;
	return rc;
}

/* The backend's rate, "BYTES,USECS" as upstream's toolstack writes it:
 * read at each connect (not watched: a new rate takes effect when the
 * frontend reconnects). */
static int read_rate(struct xenbus_dev *dev, struct nb_conf *c)
{
	unsigned long long bytes, usecs;
	char *s = NULL, *comma;
	int rc = xenbus_dev_read(dev, XENBUS_BACKEND, "rate", &s);

	if (rc == -ENOENT)
		return 0;
	if (rc < 0)
		return xenbus_dev_error(dev, rc, "rate: %s", strerror(-rc));
	comma = strchr(s, ',');
	if (comma)
		*comma = '\0';
	if (!comma || parse_uint(s, UINT64_MAX / 2, &bytes) < 0 ||
	    parse_uint(comma + 1, UINT32_MAX, &usecs) < 0 || bytes == 0 ||
	    usecs == 0)
		rc = xenbus_dev_error(dev, -EINVAL, "rate: not BYTES,USECS");
	else {
		c->rate_bytes = bytes;
		c->rate_usecs = usecs;
	}
	free(s);
	return rc;
}

/* vifname, else vif<domid>.<handle> (handle: the backend's, else the
 * device id). */
static int tap_name(struct nb_dev *nd)
{
	struct xenbus_dev *dev = nd->dev;
	unsigned long long handle;
	char *s = NULL;
	int rc = xenbus_dev_read(dev, XENBUS_BACKEND, "vifname", &s);

	if (rc == 0) {
		if (!*s || strlen(s) >= sizeof(nd->tap) || strpbrk(s, "/: \t\n"))
			rc = xenbus_dev_error(dev, -EINVAL, "vifname: not an interface name");
		else
			snprintf(nd->tap, sizeof(nd->tap), "%s", s);
		free(s);
		return rc;
	}
	if (rc != -ENOENT)
		return xenbus_dev_error(dev, rc, "vifname: %s", strerror(-rc));
	rc = xenbus_dev_read_uint(dev, XENBUS_BACKEND, "handle", UINT32_MAX, &handle);
	if (rc == -ENOENT)
		rc = parse_uint(xenbus_dev_id(dev), UINT32_MAX, &handle);
	if (rc < 0)
		return xenbus_dev_error(dev, rc, "handle: not a number");
	snprintf(nd->tap, sizeof(nd->tap), "vif%u.%llu", xenbus_dev_domid(dev),
		 handle);
	return 0;
}

/* request-multicast-control: any number but 0 asks (as Linux's netback
 * reads it); absent or not a number, no filter.  Never fails a connect:
 * a frontend that cares not for it connects as before. */
static bool mcast_requested(const struct xenbus_dev *dev)
{
	unsigned long long v;

	return xenbus_dev_read_uint(dev, XENBUS_FRONTEND, "request-multicast-control",
				    UINT32_MAX, &v) == 0 && v != 0;
}

/* The control ring, when the frontend gives one: both keys or neither. */
static int read_ctrl(struct xenbus_dev *dev, struct nb_conf *c)
{
	unsigned long long any;
	int rc;

	if (xenbus_dev_read_uint(dev, XENBUS_FRONTEND, "ctrl-ring-ref", UINT32_MAX,
				 &any) == -ENOENT)
		return 0;
	rc = xenbus_dev_read_fe(dev, "ctrl-ring-ref", UINT32_MAX, ~0u, &c->ctrl_ref);
	rc = rc ? rc : xenbus_dev_read_fe(dev, "event-channel-ctrl", UINT32_MAX, ~0u,
					  &c->ctrl_port);
	c->ctrl = rc == 0;
	return rc;
}

static int read_frontend(struct nb_dev *nd, struct nb_conf *c)
{
	struct xenbus_dev *dev = nd->dev;
	unsigned copy, notify, sg, gso4, gso6, nocsum, v6csum, i;
	int rc;

	memset(c, 0, sizeof(*c));
	rc = xenbus_dev_read_fe(dev, "request-rx-copy", 1, 0, &copy);
	if (rc == 0 && !copy)
		rc = xenbus_dev_error(dev, -EOPNOTSUPP,
				      "request-rx-copy: not 1 (page flipping is not served)");
	/* Without it the frontend never asks to be told of new packets. */
	rc = rc ? rc : xenbus_dev_read_fe(dev, "feature-rx-notify", 1, 0, &notify);
	if (rc == 0 && !notify)
		rc = xenbus_dev_error(dev, -EOPNOTSUPP, "feature-rx-notify: not 1");
	rc = rc ? rc : xenbus_dev_read_fe(dev, "multi-queue-num-queues", max_queues(nd->nb), 1, &c->nq);
	if (rc == 0 && c->nq == 0)
		rc = xenbus_dev_error(dev, -EINVAL, "multi-queue-num-queues: 0");
	rc = rc ? rc : xenbus_dev_read_fe(dev, "feature-sg", 1, 0, &sg);
	rc = rc ? rc : xenbus_dev_read_fe(dev, "feature-gso-tcpv4", 1, 0, &gso4);
	rc = rc ? rc : xenbus_dev_read_fe(dev, "feature-gso-tcpv6", 1, 0, &gso6);
	rc = rc ? rc : xenbus_dev_read_fe(dev, "feature-no-csum-offload", 1, 0, &nocsum);
	rc = rc ? rc : xenbus_dev_read_fe(dev, "feature-ipv6-csum-offload", 1, 0, &v6csum);
	for (i = 0; rc == 0 && i < c->nq; i++)
		rc = read_queue(dev, c, i);
	if (rc == 0)
		rc = read_ctrl(dev, c);
	if (rc == 0)
		rc = read_rate(dev, c);
	c->sg = sg;
	c->gso4 = gso4;
	c->gso6 = gso6;
	c->csum = !nocsum && v6csum;
	c->mcast_ctrl = mcast_requested(dev);
	return rc;
}

static void close_taps(struct nb_dev *nd)
{
	unsigned i;

	for (i = 0; i < NETBACK_MAX_QUEUES; i++)
		if (nd->tapfd[i] >= 0) {
			close(nd->tapfd[i]);
			nd->tapfd[i] = -1;
		}
}

static int nb_connect(struct xenbus_dev *dev)
{
	struct nb_dev *nd = xenbus_dev_priv(dev);
	unsigned i;
	int rc;

	rc = read_frontend(nd, &nd->conf);
	if (rc == 0)
		rc = tap_name(nd);
	for (i = 0; rc == 0 && i < nd->conf.nq; i++) {
		rc = nb_tap_open(nd->tap, &nd->conf, &nd->tapfd[i]);
		if (rc == -ENODEV)
			rc = xenbus_dev_error(dev, rc, "tap %s does not exist", nd->tap);
		else if (rc < 0)
			rc = xenbus_dev_error(dev, rc, "tap %s: queue %u: %s", nd->tap,
					      i, strerror(-rc));
	}
	nd->wargs.nkeep = nd->conf.nq;
	if (rc == 0)
		rc = xenbus_worker_start(dev, &nd->wargs, &nd->w);
	/* The worker holds them now (or nobody needs them). */
	close_taps(nd);
	if (rc < 0)
		return rc;
	elog(ELOG_INFO, "vif %u/%s: connected to %s, %u queue%s%s%s%s%s, worker pid %d",
	     xenbus_dev_domid(dev), xenbus_dev_id(dev), nd->tap, nd->conf.nq,
	     nd->conf.nq > 1 ? "s" : "", nd->conf.split ? ", split channels" : "",
	     nd->conf.rate_bytes ? ", rate limited" : "",
	     nd->conf.ctrl ? ", control ring" : "",
	     nd->conf.mcast_ctrl ? ", multicast filtered" : "", xenbus_worker_pid(nd->w));
	return 0;
}

static void nb_disconnect(struct xenbus_dev *dev)
{
	struct nb_dev *nd = xenbus_dev_priv(dev);

	xenbus_worker_stop(nd->w);
	nd->w = NULL;
}

/* request-multicast-control changed while connected: the worker is told
 * (queue.c on_daemon). */
static void nb_fe_changed(struct xenbus_dev *dev)
{
	struct nb_dev *nd = xenbus_dev_priv(dev);
	int rc;

	if (!nd->w)
		return;
	rc = xenbus_worker_send(nd->w, mcast_requested(dev));
	if (rc < 0)
		elog(ELOG_WARN, "vif %u/%s: telling the worker of request-multicast-control: %s",
		     xenbus_dev_domid(dev), xenbus_dev_id(dev), strerror(-rc));
}

static void nb_remove(struct xenbus_dev *dev)
{
	free(xenbus_dev_priv(dev));
	xenbus_dev_set_priv(dev, NULL);
}

const struct xenbus_engine netback_engine = {
	.type = "vif",
	.probe = nb_probe,
	.connect = nb_connect,
	.disconnect = nb_disconnect,
	.remove = nb_remove,
	.fe_watch = "request-multicast-control",
	.fe_changed = nb_fe_changed,
};
