/*
 * xb_echo: the xenbus core (xenbus/) driven through the whole handshake by
 * a frontend of this program's own, over a real xenstored and the shm
 * transport.  No Xen needed.
 *
 *   XENSTORED_PATH=/path/to/socket xb_echo
 *
 * One process plays three parts, each with what it would have for real:
 * the toolstack and the frontend write the store through their own
 * connection; the backend is the core with an echo engine on the loop,
 * its own connection, and the transport.  The echo engine answers each
 * request on a ring of xen/io/ring.h's layout with value + 1.
 *
 * Prints "ok - xenbus: ..." / "not ok - xenbus: ...: why" (tests/README.md).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include "enso-util.h"
#include "xenbus/xenbus.h"

struct echo_req {
	uint32_t id, value;
};
struct echo_rsp {
	uint32_t id, value;
};
DEFINE_RING_TYPES(echo, struct echo_req, struct echo_rsp);

#define TYPE "echo"
#define BE "/local/domain/0/backend/" TYPE
#define PAGES 4u

static int failed;

static void check(bool ok, const char *name, const char *fmt, ...)
{
	char why[512] = "";
	va_list ap;

	if (ok) {
		printf("ok - xenbus: %s\n", name);
	} else {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		printf("not ok - xenbus: %s: %s\n", name, why);
		failed = 1;
	}
	fflush(stdout);
}

/* ---- the echo engine ------------------------------------------------------ */

struct echo_stats {
	unsigned probes, connects, disconnects, removes, echoed;
};

struct echo_dev {
	void *page;
	echo_back_ring_t back;
	struct xenbus_evtchn *ch;
	struct xenbus_dev *dev;
};

static int echo_probe(struct xenbus_dev *dev)
{
	struct echo_stats *st = xenbus_engine_data(dev);
	struct echo_dev *e = calloc(1, sizeof(*e));
	int rc;

	if (!e)
		return -ENOMEM;
	rc = xenbus_dev_write(dev, "feature-echo", "1");
	if (rc < 0) {
		free(e);
		return rc;
	}
	e->dev = dev;
	xenbus_dev_set_priv(dev, e);
	st->probes++;
	return 0;
}

static void echo_kick(void *arg, uint32_t events)
{
	struct echo_dev *e = arg;
	struct echo_stats *st = xenbus_engine_data(e->dev);
	int more, notify;

	(void)events;
	xenbus_evtchn_ack(e->ch);
	do {
		RING_IDX rp = e->back.sring->req_prod, rc;

		xen_rmb();
		if (RING_REQUEST_PROD_OVERFLOW(&e->back, rp)) {
			xenbus_dev_error(e->dev, -EPROTO,
					 "req_prod %u overruns the ring", rp);
			return;
		}
		for (rc = e->back.req_cons; rc != rp; rc++) {
			struct echo_req req = *RING_GET_REQUEST(&e->back, rc);
			struct echo_rsp *rsp = RING_GET_RESPONSE(
				&e->back, e->back.rsp_prod_pvt);

			rsp->id = req.id;
			rsp->value = req.value + 1;
			e->back.rsp_prod_pvt++;
			st->echoed++;
		}
		e->back.req_cons = rp;
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&e->back, notify);
		if (notify)
			xenbus_notify(e->ch);
		RING_FINAL_CHECK_FOR_REQUESTS(&e->back, more);
	} while (more);
}

static int echo_connect(struct xenbus_dev *dev)
{
	struct echo_dev *e = xenbus_dev_priv(dev);
	struct xenbus_transport *t = xenbus_dev_transport(dev);
	unsigned long long ref, port;
	uint32_t r;
	int rc;

	rc = xenbus_dev_read_uint(dev, XENBUS_FRONTEND, "ring-ref", UINT32_MAX,
				  &ref);
	if (rc < 0)
		return xenbus_dev_error(dev, rc, "ring-ref: %s",
					rc == -ENOENT ? "missing"
						      : "not a number");
	rc = xenbus_dev_read_uint(dev, XENBUS_FRONTEND, "event-channel",
				  UINT32_MAX, &port);
	if (rc < 0)
		return xenbus_dev_error(dev, rc, "event-channel: %s",
					rc == -ENOENT ? "missing"
						      : "not a number");
	r = (uint32_t)ref;
	rc = xenbus_map(t, xenbus_dev_domid(dev), &r, 1, true, &e->page);
	if (rc < 0)
		return xenbus_dev_error(dev, rc, "ring-ref %u: cannot map: %s",
					r, strerror(-rc));
	BACK_RING_INIT(&e->back, (echo_sring_t *)e->page, XENBUS_PAGE_SIZE);
	rc = xenbus_bind(t, xenbus_dev_domid(dev), (uint32_t)port, &e->ch);
	if (rc < 0) {
		xenbus_dev_error(dev, rc, "event-channel %llu: cannot bind: %s",
				 port, strerror(-rc));
		goto unmap;
	}
	rc = evloop_add(xenbus_dev_loop(dev), xenbus_evtchn_fd(e->ch), EPOLLIN,
			echo_kick, e);
	if (rc < 0) {
		xenbus_dev_error(dev, rc, "event loop: %s", strerror(-rc));
		goto unbind;
	}
	((struct echo_stats *)xenbus_engine_data(dev))->connects++;
	return 0;
unbind:
	xenbus_unbind(e->ch);
	e->ch = NULL;
unmap:
	xenbus_unmap(t, e->page, 1);
	e->page = NULL;
	return rc;
}

static void echo_disconnect(struct xenbus_dev *dev)
{
	struct echo_dev *e = xenbus_dev_priv(dev);

	evloop_del(xenbus_dev_loop(dev), xenbus_evtchn_fd(e->ch));
	xenbus_unbind(e->ch);
	xenbus_unmap(xenbus_dev_transport(dev), e->page, 1);
	e->ch = NULL;
	e->page = NULL;
	((struct echo_stats *)xenbus_engine_data(dev))->disconnects++;
}

static void echo_remove(struct xenbus_dev *dev)
{
	free(xenbus_dev_priv(dev));
	xenbus_dev_set_priv(dev, NULL);
	((struct echo_stats *)xenbus_engine_data(dev))->removes++;
}

static const struct xenbus_engine echo_engine = {
	.type = TYPE,
	.probe = echo_probe,
	.connect = echo_connect,
	.disconnect = echo_disconnect,
	.remove = echo_remove,
};

/* ---- the toolstack and the frontends ------------------------------------- */

static struct xs_handle *fx;	/* theirs */
static struct evloop *loop;
static struct xenbus *xb;
static struct xenbus_transport *tp;
static struct echo_stats stats;

/* One guest's memory and event channels, as its frontend sees them. */
struct guest {
	uint32_t domid;
	int memfd;
	char *mem;
};

struct front {
	struct guest *g;
	char id[16], fe[128], be[128];
	uint32_t ref, port;
	int kick, note;		/* eventfds: to the backend, from it */
	echo_front_ring_t ring;
};

static bool xsw(const char *path, const char *val)
{
	return xs_write(fx, XBT_NULL, path, val, strlen(val));
}

static void xswf(const char *dir, const char *key, const char *fmt, ...)
{
	char path[256], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (!xsw(path, val))
		fprintf(stderr, "# write %s: %s\n", path, strerror(errno));
}

/* The node's text, "" when absent (static: one at a time). */
static const char *xsr(const char *dir, const char *key)
{
	static char out[256];
	char path[256], *v;
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	v = xs_read(fx, XBT_NULL, path, &len);
	snprintf(out, sizeof(out), "%s", v ? v : "");
	free(v);
	return out;
}

static int be_state(const struct front *f)
{
	return atoi(xsr(f->be, "state"));
}

static int guest_init(struct guest *g, uint32_t domid)
{
	g->domid = domid;
	g->memfd = memfd_create("xb-guest", MFD_CLOEXEC);
	if (g->memfd < 0 || ftruncate(g->memfd, PAGES * XENBUS_PAGE_SIZE) < 0)
		return -errno;
	g->mem = mmap(NULL, PAGES * XENBUS_PAGE_SIZE, PROT_READ | PROT_WRITE,
		      MAP_SHARED, g->memfd, 0);
	if (g->mem == MAP_FAILED)
		return -errno;
	return xenbus_shm_grant(tp, domid, g->memfd, PAGES);
}

/* What the toolstack writes for a new device; frontend at `fe` (NULL:
 * the right place). */
static int front_init(struct front *f, struct guest *g, unsigned devid,
		      uint32_t ref, uint32_t port, const char *fe)
{
	xs_transaction_t t;

	memset(f, 0, sizeof(*f));
	f->g = g;
	f->ref = ref;
	f->port = port;
	snprintf(f->id, sizeof(f->id), "%u", devid);
	snprintf(f->fe, sizeof(f->fe), "/local/domain/%u/device/%s/%u",
		 g->domid, TYPE, devid);
	snprintf(f->be, sizeof(f->be), "%s/%u/%u", BE, g->domid, devid);
	f->kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	f->note = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (f->kick < 0 || f->note < 0)
		return -errno;
	if (xenbus_shm_port(tp, g->domid, port, f->kick, f->note) < 0)
		return -EINVAL;
	t = xs_transaction_start(fx);
	xswf(f->fe, "state", "1");
	xswf(f->fe, "backend", "%s", f->be);
	xswf(f->fe, "backend-id", "0");
	xswf(f->be, "frontend-id", "%u", g->domid);
	xswf(f->be, "online", "1");
	xswf(f->be, "state", "1");
	xswf(f->be, "frontend", "%s", fe ? fe : f->fe);
	return xs_transaction_end(fx, t, false) ? 0 : -errno;
}

/* The frontend sets its ring up and says Initialised. */
static void front_connect(struct front *f, bool with_ring_ref)
{
	echo_sring_t *s = (echo_sring_t *)(f->g->mem +
					   (size_t)(f->ref % PAGES) *
						   XENBUS_PAGE_SIZE);

	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&f->ring, s, XENBUS_PAGE_SIZE);
	if (with_ring_ref)
		xswf(f->fe, "ring-ref", "%u", f->ref);
	xswf(f->fe, "event-channel", "%u", f->port);
	xswf(f->fe, "state", "%d", XENBUS_INITIALISED);
}

/* Runs the backend's loop until cond holds, up to 5 s. */
static bool pump(bool (*cond)(const void *), const void *arg)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (cond(arg))
			return true;
		evloop_run_once(loop, 20);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 5)
			return cond(arg);
	}
}

struct want {
	const struct front *f;
	int state;
};

static bool state_is(const void *arg)
{
	const struct want *w = arg;

	return be_state(w->f) == w->state;
}

static bool wait_state(const struct front *f, int state)
{
	struct want w = { f, state };

	return pump(state_is, &w);
}

static bool no_devices(const void *arg)
{
	(void)arg;
	return xenbus_device_count(xb) == 0;
}

static bool got_response(const void *arg)
{
	const struct front *f = arg;

	return RING_HAS_UNCONSUMED_RESPONSES(&f->ring);
}

/* One request through the ring and both event channels: value in,
 * value + 1 back, and the backend's notification seen.  0 or why. */
static const char *echo_once(struct front *f, uint32_t value)
{
	static char why[128];
	struct echo_req *req;
	struct echo_rsp rsp;
	uint64_t n = 1;
	int notify;

	req = RING_GET_REQUEST(&f->ring, f->ring.req_prod_pvt);
	req->id = value;
	req->value = value;
	f->ring.req_prod_pvt++;
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&f->ring, notify);
	if (notify && write(f->kick, &n, sizeof(n)) != sizeof(n))
		return "kicking the backend failed";
	if (!pump(got_response, f))
		return "no response within 5 s";
	rsp = *RING_GET_RESPONSE(&f->ring, f->ring.rsp_cons);
	f->ring.rsp_cons++;
	RING_FINAL_CHECK_FOR_RESPONSES(&f->ring, notify);	/* re-arms */
	if (rsp.id != value || rsp.value != value + 1) {
		snprintf(why, sizeof(why), "response id %u value %u, not %u %u",
			 rsp.id, rsp.value, value, value + 1);
		return why;
	}
	if (read(f->note, &n, sizeof(n)) != sizeof(n))
		return "the backend did not notify the frontend";
	return NULL;
}

static void check_state(const struct front *f, int state, const char *name)
{
	bool ok = wait_state(f, state);

	check(ok, name, "backend state %s (%s), not %s",
	      xenbus_state_name(be_state(f)), xsr(f->be, "state"),
	      xenbus_state_name(state));
}

static void check_echo(struct front *f, uint32_t value, const char *name)
{
	const char *why = echo_once(f, value);

	check(!why, name, "%s", why ? why : "");
}

static void check_nothing_mapped(const char *name)
{
	unsigned maps = 99, chans = 99;

	xenbus_shm_live(tp, &maps, &chans);
	check(maps == 0 && chans == 0, name, "%u mappings, %u channels alive",
	      maps, chans);
}

/* A hostile frontend's device goes Closed with `error` naming what. */
static void check_refused(const struct front *f, const char *what,
			  const char *name)
{
	char err[256];

	wait_state(f, XENBUS_CLOSED);
	snprintf(err, sizeof(err), "%s", xsr(f->be, "error"));
	check(be_state(f) == XENBUS_CLOSED && strstr(err, what), name,
	      "state %s, error node \"%s\" (wanted Closed and \"%s\")",
	      xenbus_state_name(be_state(f)), err, what);
}

/* The frontend, offered the device, connects with what it has wrong. */
static void check_refused_at_connect(struct front *f, bool with_ring_ref,
				     const char *what, const char *name)
{
	wait_state(f, XENBUS_INITWAIT);
	front_connect(f, with_ring_ref);
	check_refused(f, what, name);
}

/* ---- the scenarios ------------------------------------------------------- */

static void handshake(struct guest *g)
{
	struct front f;

	if (front_init(&f, g, 51712, 0, 7, NULL) < 0) {
		check(false, "handshake: set up", "%s", strerror(errno));
		return;
	}
	check_state(&f, XENBUS_INITWAIT, "probe: backend goes InitWait");
	check(strcmp(xsr(f.be, "feature-echo"), "1") == 0 && stats.probes == 1,
	      "probe: the engine's features are written before InitWait",
	      "feature-echo \"%s\", %u probes", xsr(f.be, "feature-echo"),
	      stats.probes);

	front_connect(&f, true);
	check_state(&f, XENBUS_CONNECTED, "connect: frontend Initialised -> backend Connected");
	check_echo(&f, 41, "connect: a request echoed over the mapped ring, kicks both ways");
	xswf(f.fe, "state", "%d", XENBUS_CONNECTED);
	check_echo(&f, 1000, "connect: frontend Connected changes nothing");

	xswf(f.fe, "state", "%d", XENBUS_CLOSING);
	check_state(&f, XENBUS_CLOSING, "close: frontend Closing -> backend Closing");
	check(stats.disconnects == 1, "close: the engine disconnected once",
	      "%u disconnects", stats.disconnects);
	check_nothing_mapped("close: the ring is unmapped and the channel unbound");
	xswf(f.fe, "state", "%d", XENBUS_CLOSED);
	check_state(&f, XENBUS_CLOSED, "close: frontend Closed -> backend Closed");

	xswf(f.fe, "state", "%d", XENBUS_INITIALISING);
	check_state(&f, XENBUS_INITWAIT, "reconnect: frontend Initialising again -> InitWait");
	front_connect(&f, true);
	check_state(&f, XENBUS_CONNECTED, "reconnect: Connected again");
	check_echo(&f, 7, "reconnect: the new ring echoes");
	check(stats.probes == 1 && stats.connects == 2,
	      "reconnect: no second probe, a second connect",
	      "%u probes, %u connects", stats.probes, stats.connects);

	/* A frontend that restarts without closing (kexec) */
	xswf(f.fe, "state", "%d", XENBUS_INITIALISING);
	check_state(&f, XENBUS_INITWAIT, "restart: Connected frontend back to Initialising -> InitWait");
	check_nothing_mapped("restart: its old ring is let go");
	front_connect(&f, true);
	check_state(&f, XENBUS_CONNECTED, "restart: Connected once more");

	xs_rm(fx, XBT_NULL, f.be);
	xs_rm(fx, XBT_NULL, f.fe);
	check(pump(no_devices, NULL), "remove: backend node gone -> device dropped",
	      "%u devices left", xenbus_device_count(xb));
	check(stats.removes == 1 && stats.disconnects == stats.connects,
	      "remove: disconnect then remove called",
	      "%u removes, %u connects, %u disconnects", stats.removes,
	      stats.connects, stats.disconnects);
	check_nothing_mapped("remove: nothing left mapped or bound");
	close(f.kick);
	close(f.note);
}

static void hostile(struct guest *good, struct guest *bad)
{
	struct front ok, garbage, noref, badref, badport, elsewhere;

	if (front_init(&ok, good, 1, 1, 11, NULL) < 0 ||
	    front_init(&garbage, bad, 2, 0, 21, NULL) < 0 ||
	    front_init(&noref, bad, 3, 1, 22, NULL) < 0 ||
	    front_init(&badref, bad, 4, 99, 23, NULL) < 0 ||
	    front_init(&badport, bad, 5, 2, 24, NULL) < 0 ||
	    front_init(&elsewhere, bad, 6, 3, 25,
		       "/local/domain/1/device/" TYPE "/6") < 0) {
		check(false, "hostile: set up", "%s", strerror(errno));
		return;
	}
	badport.port = 99;	/* a port the guest never opened */
	wait_state(&ok, XENBUS_INITWAIT);
	front_connect(&ok, true);
	check_state(&ok, XENBUS_CONNECTED, "hostile: a good device connects beside them");

	xswf(garbage.fe, "state", "banana");
	check_refused(&garbage, "frontend state banana",
		      "hostile: garbage frontend state -> Closed, error says so");
	check_refused_at_connect(&noref, false, "ring-ref: missing",
				 "hostile: missing ring-ref -> Closed, error says so");
	check_refused_at_connect(&badref, true, "ring-ref 99: cannot map",
				 "hostile: ring-ref the guest never granted -> Closed");
	xswf(badref.fe, "ring-ref", "-1");
	xswf(badref.fe, "state", "%d", XENBUS_INITIALISING);
	check_state(&badref, XENBUS_INITWAIT, "hostile: a refused frontend may start again");
	xswf(badref.fe, "state", "%d", XENBUS_INITIALISED);
	check_refused(&badref, "ring-ref: not a number",
		      "hostile: ring-ref -1 -> Closed, error says so");
	check_refused_at_connect(&badport, true, "event-channel 99: cannot bind",
				 "hostile: event channel never opened -> Closed");
	check_refused(&elsewhere, "frontend /local/domain/1/",
		      "hostile: frontend path in another domain -> Closed");
	check(stats.probes == 5 + 1,
	      "hostile: the device pointed elsewhere is never probed",
	      "%u probes (wanted 6)", stats.probes);
	xswf(garbage.fe, "state", "%d", XENBUS_RECONFIGURING);
	xswf(garbage.fe, "state", "%d", XENBUS_INITIALISING);
	check_state(&garbage, XENBUS_INITWAIT, "hostile: garbage frontend recovers through Initialising");

	check_echo(&ok, 5, "hostile: the good device still echoes");
	{
		unsigned maps = 0, chans = 0;

		xenbus_shm_live(tp, &maps, &chans);
		check(maps == 1 && chans == 1,
		      "hostile: only the good device holds a mapping",
		      "%u mappings, %u channels", maps, chans);
	}
	xs_rm(fx, XBT_NULL, BE);
	check(pump(no_devices, NULL), "hostile: removing backend/" TYPE " drops every device",
	      "%u devices left", xenbus_device_count(xb));
	check_nothing_mapped("hostile: nothing left mapped or bound");
}

int main(void)
{
	struct xs_handle *bx;
	struct guest g1, g2;
	int rc;

	elog_open("xb_echo", ELOG_INFO);
	if (!getenv("XENSTORED_PATH")) {
		printf("not ok - xenbus: XENSTORED_PATH is not set\n");
		return 1;
	}
	fx = xs_open(XS_OPEN_SOCKETONLY);
	bx = xs_open(XS_OPEN_SOCKETONLY);
	loop = evloop_new();
	rc = xenbus_transport_shm_open(0, &tp);
	if (!fx || !bx || !loop || rc < 0) {
		printf("not ok - xenbus: set up: store, loop or transport\n");
		return 1;
	}
	rc = xenbus_open(&(struct xenbus_args){ .xs = bx, .loop = loop,
						.transport = tp,
						.engine = &echo_engine,
						.engine_data = &stats },
			 0, &xb);
	check(rc == 0, "the core opens over the shm transport", "%s",
	      strerror(-rc));
	if (rc < 0)
		return 1;
	if (guest_init(&g1, 1) < 0 || guest_init(&g2, 2) < 0) {
		printf("not ok - xenbus: set up: guest memory\n");
		return 1;
	}
	handshake(&g1);
	hostile(&g1, &g2);

	xenbus_close(xb);
	check_nothing_mapped("close: the core leaves nothing behind");
	xenbus_transport_close(tp);
	evloop_free(loop);
	munmap(g1.mem, PAGES * XENBUS_PAGE_SIZE);
	munmap(g2.mem, PAGES * XENBUS_PAGE_SIZE);
	close(g1.memfd);
	close(g2.memfd);
	xs_close(bx);
	xs_close(fx);
	return failed;
}
