/*
 * xenbus/core.c: the devices of one type, followed through xenstore.
 *
 * One watch on <root>/backend/<type> finds devices as they come and go;
 * one watch per device on its frontend's state moves it.  Every event is
 * taken as "look again": the core reads the nodes it needs and asks
 * xenbus_next() (state.c) what to do, so a missed or merged event costs
 * nothing.  Tokens: "be" for the backend tree, the device's key
 * ("<domid>/<devid>") for its frontend.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include <xenstore.h>

#include "xenbus/private.h"

#define BE_TOKEN "be"
#define DOMID_MAX 0x7fefu	/* DOMID_FIRST_RESERVED - 1 */

static void on_store(void *arg, uint32_t events);

int xenbus_open(const struct xenbus_args *a, unsigned flags,
		struct xenbus **out)
{
	const struct xenbus_engine *e = a->engine;
	const char *dir = a->dir ? a->dir : e ? e->type : NULL;
	struct xenbus *xb;
	int rc;

	*out = NULL;
	if (flags || !a->xs || !a->loop || !a->transport || !e || !dir ||
	    !e->probe || !e->connect || !e->disconnect || !e->remove ||
	    !*dir || strchr(dir, '/'))
		return -EINVAL;
	xb = calloc(1, sizeof(*xb));
	if (!xb)
		return -ENOMEM;
	xb->xs = a->xs;
	xb->loop = a->loop;
	xb->transport = a->transport;
	xb->engine = e;
	xb->engine_data = a->engine_data;
	hmap_init(&xb->devs);
	if (asprintf(&xb->base, "%s/backend/%s",
		     a->root ? a->root : "/local/domain/0", dir) < 0) {
		xb->base = NULL;
		rc = -ENOMEM;
		goto out;
	}
	/* The first event, for the watched path itself, takes up the
	 * devices already there. */
	if (!xs_watch(xb->xs, xb->base, BE_TOKEN)) {
		rc = errno ? -errno : -EIO;
		elog(ELOG_ERR, "xenbus: watching %s: %s", xb->base,
		     strerror(-rc));
		goto out;
	}
	xb->watching = true;
	rc = evloop_add(xb->loop, xs_fileno(xb->xs), EPOLLIN, on_store, xb);
	if (rc < 0) {
		elog(ELOG_ERR, "xenbus: adding the store's fd to the loop: %s",
		     strerror(-rc));
		goto out;
	}
	elog(ELOG_INFO, "xenbus: serving %s over %s", xb->base,
	     xenbus_transport_name(xb->transport));
	*out = xb;
	return 0;
out:
	if (xb->watching)
		xs_unwatch(xb->xs, xb->base, BE_TOKEN);
	free(xb->base);
	hmap_fini(&xb->devs);
	free(xb);
	return rc;
}

unsigned xenbus_device_count(const struct xenbus *xb)
{
	return (unsigned)xb->devs.count;
}

/* ---- one device ---------------------------------------------------------- */

static bool dev_gone(struct xenbus_dev *dev)
{
	unsigned int n;
	char **ents = xs_directory(dev->xb->xs, XBT_NULL, dev->be_path, &n);

	if (ents) {
		free(ents);
		return false;
	}
	return errno == ENOENT;
}

/* Lets go of the device.  Its nodes are the toolstack's: no write. */
static void dev_free(struct xenbus_dev *dev)
{
	struct xenbus *xb = dev->xb;

	if (dev->connected)
		xb->engine->disconnect(dev);
	if (dev->probed)
		xb->engine->remove(dev);
	if (dev->fe_watched) {
		char path[512];

		snprintf(path, sizeof(path), "%s/state", dev->fe_path);
		xs_unwatch(xb->xs, path, dev->key);
	}
	if (dev->fe_key_watched) {
		char path[512];

		snprintf(path, sizeof(path), "%s/%s", dev->fe_path, xb->engine->fe_watch);
		xs_unwatch(xb->xs, path, dev->key);
	}
	hmap_del(&xb->devs, dev->key);
	elog(ELOG_INFO, "%s %s: removed", xb->engine->type, dev->key);
	free(dev->key);
	free(dev->id);
	free(dev->be_path);
	free(dev->fe_path);
	free(dev);
}

/* An operation failed: make sure it was said once, then close. */
static void dev_fail(struct xenbus_dev *dev, int rc, const char *what,
		     bool via_closing)
{
	if (!dev->error_said)
		xenbus_dev_error(dev, rc, "%s failed: %s", what, strerror(-rc));
	if (via_closing)
		xenbus_dev_set_state(dev, XENBUS_CLOSING);
	xenbus_dev_set_state(dev, XENBUS_CLOSED);
}

static void dev_update(struct xenbus_dev *dev)
{
	const struct xenbus_engine *e = dev->xb->engine;
	struct xenbus_step s;
	char *v = NULL;
	int fe, rc;

	if (dev->dead || !dev->probed)
		return;
	/* The toolstack asks for a close (detach: online=0, state=5) by
	 * writing the backend's state: take it as ours, and close when
	 * the frontend does. */
	if (xenbus_dev_read(dev, XENBUS_BACKEND, "state", &v) == 0 &&
	    xenbus_parse_state(v) == XENBUS_CLOSING &&
	    dev->state != XENBUS_CLOSED)
		dev->state = XENBUS_CLOSING;
	free(v);

	rc = xenbus_dev_read(dev, XENBUS_FRONTEND, "state", &v);
	fe = rc == -ENOENT ? XB_FE_ABSENT : xenbus_parse_state(v);
	if (rc < 0 && rc != -ENOENT) {
		elog(ELOG_WARN, "%s %s: reading the frontend's state: %s",
		     e->type, dev->key, strerror(-rc));
		return;		/* the store will give another event */
	}
	s = xenbus_next(dev->state, dev->connected, fe);
	dev->error_said = false;
	switch (s.act) {
	case XB_ACT_NONE:
		break;
	case XB_ACT_CONNECT:
		rc = e->connect(dev);
		if (rc < 0) {
			dev_fail(dev, rc, "connect", true);
			goto out;
		}
		dev->connected = true;
		break;
	case XB_ACT_DISCONNECT:
		e->disconnect(dev);
		dev->connected = false;
		break;
	case XB_ACT_REJECT:
		xenbus_dev_error(dev, -EPROTO, "frontend state %.16s%s is not one this backend serves",
				 v ? v : "", fe == XB_FE_GARBAGE ? " (garbage)" : "");
		if (dev->connected)
			e->disconnect(dev);
		dev->connected = false;
		break;
	}
	if (s.via_closing)
		xenbus_dev_set_state(dev, XENBUS_CLOSING);
	xenbus_dev_set_state(dev, s.next);
out:
	free(v);
}

/* A backend directory with a `frontend` node: take it up, check where it
 * points, watch that, probe.  Not there yet: wait for its next event. */
static void dev_add(struct xenbus *xb, uint32_t domid, const char *id)
{
	const struct xenbus_engine *e = xb->engine;
	struct xenbus_dev *dev = calloc(1, sizeof(*dev));
	char *fe = NULL, path[512];
	int rc;

	if (!dev || asprintf(&dev->key, "%u/%s", domid, id) < 0 ||
	    asprintf(&dev->be_path, "%s/%s", xb->base, dev->key) < 0 ||
	    !(dev->id = strdup(id))) {
		elog(ELOG_ERR, "%s %u/%s: out of memory", e->type, domid, id);
		goto nomem;
	}
	dev->xb = xb;
	dev->domid = domid;
	dev->state = XENBUS_INITIALISING;	/* the toolstack's */
	if (xenbus_dev_read(dev, XENBUS_BACKEND, "frontend", &fe) < 0)
		goto nomem;	/* not written yet (or gone again) */
	if (hmap_put(&xb->devs, dev->key, dev) < 0) {
		elog(ELOG_ERR, "%s %s: out of memory", e->type, dev->key);
		goto nomem;
	}
	elog(ELOG_INFO, "%s %s: new device, frontend %s", e->type, dev->key,
	     fe);
	if (xenbus_dev_check_frontend(dev, fe) < 0) {
		dev->dead = true;
		xenbus_dev_set_state(dev, XENBUS_CLOSED);
		free(fe);
		return;
	}
	dev->fe_path = fe;
	snprintf(path, sizeof(path), "%s/state", fe);
	if (!xs_watch(xb->xs, path, dev->key)) {
		rc = errno ? -errno : -EIO;
		dev->dead = true;
		dev_fail(dev, rc, "watching the frontend", false);
		return;
	}
	dev->fe_watched = true;
	snprintf(path, sizeof(path), "%s/%s", fe, e->fe_watch ? e->fe_watch : "");
	if (e->fe_watch && !xs_watch(xb->xs, path, dev->key)) {
		rc = errno ? -errno : -EIO;
		dev->dead = true;
		dev_fail(dev, rc, "watching the frontend", false);
		return;
	}
	dev->fe_key_watched = e->fe_watch != NULL;
	rc = e->probe(dev);
	if (rc < 0) {
		dev->dead = true;
		dev_fail(dev, rc, "probe", false);
		return;
	}
	dev->probed = true;
	xenbus_dev_set_state(dev, XENBUS_INITWAIT);
	dev_update(dev);
	return;
nomem:
	if (dev) {
		free(dev->key);
		free(dev->be_path);
		free(dev->id);
	}
	free(dev);
	free(fe);
}

/* ---- the backend tree ---------------------------------------------------- */

static bool parse_id(const char *s, unsigned long long max,
		     unsigned long long *v)
{
	return parse_uint(s, max, v) == 0;
}

/* Looks at one device directory: new, still there, or gone. */
static void look_at(struct xenbus *xb, uint32_t domid, const char *id)
{
	char key[64];
	struct xenbus_dev *dev;

	snprintf(key, sizeof(key), "%u/%s", domid, id);
	dev = hmap_get(&xb->devs, key);
	if (!dev)
		dev_add(xb, domid, id);
	else if (dev_gone(dev))
		dev_free(dev);
	else
		dev_update(dev);
}

/* Takes up the devices of one domain directory. */
static void scan_domain(struct xenbus *xb, uint32_t domid)
{
	unsigned long long id;
	unsigned int n, i;
	char path[512], **ids;

	snprintf(path, sizeof(path), "%s/%u", xb->base, domid);
	ids = xs_directory(xb->xs, XBT_NULL, path, &n);
	for (i = 0; ids && i < n; i++)
		if (parse_id(ids[i], UINT32_MAX, &id))
			look_at(xb, domid, ids[i]);
	free(ids);
}

/* Devices of one domain (only >= 0) or of all: drop those gone, take up
 * those new. */
static void sweep(struct xenbus *xb, long long only)
{
	struct xenbus_dev *dev, **gone;
	unsigned long long domid;
	size_t pos = 0, ngone = 0;
	unsigned int n, i;
	char **doms;

	gone = calloc(xb->devs.count + 1, sizeof(*gone));
	while (gone && (dev = hmap_next(&xb->devs, &pos)))
		if ((only < 0 || dev->domid == only) && dev_gone(dev))
			gone[ngone++] = dev;
	for (pos = 0; pos < ngone; pos++)
		dev_free(gone[pos]);
	free(gone);

	if (only >= 0) {
		scan_domain(xb, (uint32_t)only);
		return;
	}
	doms = xs_directory(xb->xs, XBT_NULL, xb->base, &n);
	for (i = 0; doms && i < n; i++)
		if (parse_id(doms[i], DOMID_MAX, &domid))
			scan_domain(xb, (uint32_t)domid);
	free(doms);
}

/* An event under base: <base>[/<domid>[/<devid>[/...]]]. */
static void on_backend_event(struct xenbus *xb, const char *path)
{
	size_t n = strlen(xb->base);
	unsigned long long domid, id;
	char dom[16], dev[16];
	const char *p = path + n, *q;

	if (strncmp(path, xb->base, n) != 0 || (*p && *p != '/'))
		return;
	if (!*p || !p[1]) {
		sweep(xb, -1);
		return;
	}
	p++;
	q = strchr(p, '/');
	if (!q || (size_t)(q - p) >= sizeof(dom)) {
		if (!q && strlen(p) < sizeof(dom) &&
		    parse_id(p, DOMID_MAX, &domid))
			sweep(xb, (long long)domid);
		return;
	}
	memcpy(dom, p, (size_t)(q - p));
	dom[q - p] = '\0';
	p = q + 1;
	q = strchrnul(p, '/');
	if ((size_t)(q - p) >= sizeof(dev))
		return;
	memcpy(dev, p, (size_t)(q - p));
	dev[q - p] = '\0';
	if (parse_id(dom, DOMID_MAX, &domid) && parse_id(dev, UINT32_MAX, &id))
		look_at(xb, (uint32_t)domid, dev);
}

/* An event on the frontend's state, or on the node the engine follows. */
static void dev_event(struct xenbus_dev *dev, const char *path)
{
	const struct xenbus_engine *e = dev->xb->engine;
	size_t n = dev->fe_path ? strlen(dev->fe_path) : 0;

	if (e->fe_watch && dev->fe_path && !strncmp(path, dev->fe_path, n) && path[n] == '/' &&
	    !strcmp(path + n + 1, e->fe_watch)) {
		if (dev->connected && e->fe_changed)
			e->fe_changed(dev);
		return;
	}
	dev_update(dev);
}

int xenbus_dispatch(struct xenbus *xb)
{
	struct xenbus_dev *dev;
	char **w;

	while ((w = xs_check_watch(xb->xs))) {
		if (strcmp(w[XS_WATCH_TOKEN], BE_TOKEN) == 0)
			on_backend_event(xb, w[XS_WATCH_PATH]);
		else if ((dev = hmap_get(&xb->devs, w[XS_WATCH_TOKEN])))
			dev_event(dev, w[XS_WATCH_PATH]);
		free(w);
	}
	if (errno != EAGAIN) {
		int rc = errno ? -errno : -EIO;

		elog(ELOG_ERR, "xenbus: reading watch events: %s",
		     strerror(-rc));
		return rc;
	}
	return 0;
}

static void on_store(void *arg, uint32_t events)
{
	(void)events;
	xenbus_dispatch(arg);
}

void xenbus_close(struct xenbus *xb)
{
	struct xenbus_dev *dev;
	size_t pos = 0;

	if (!xb)
		return;
	evloop_del(xb->loop, xs_fileno(xb->xs));
	while ((pos = 0, dev = hmap_next(&xb->devs, &pos)))
		dev_free(dev);
	if (xb->watching)
		xs_unwatch(xb->xs, xb->base, BE_TOKEN);
	hmap_fini(&xb->devs);
	free(xb->base);
	free(xb);
}
