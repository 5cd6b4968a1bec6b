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

#include "xbtest.h"

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

static struct echo_stats stats;

struct front {
	struct xbt_guest *g;
	char fe[128], be[128];
	uint32_t ref, port;
	int kick, note;		/* eventfds: to the backend, from it */
	echo_front_ring_t ring;
};

/* A new device of the guest's, its frontend at `fe` (NULL: the right
 * place), its ring in page ref, its channel port. */
static int front_init(struct front *f, struct xbt_guest *g, unsigned devid,
		      uint32_t ref, uint32_t port, const char *fe)
{
	int rc;

	memset(f, 0, sizeof(*f));
	f->g = g;
	f->ref = ref;
	f->port = port;
	rc = xbt_channel(g, port, &f->kick, &f->note);
	if (rc < 0)
		return rc;
	return xbt_device_add(TYPE, g, devid, fe, NULL, f->fe, f->be);
}

/* The frontend sets its ring up and says Initialised. */
static void front_connect(struct front *f, bool with_ring_ref)
{
	echo_sring_t *s = xbt_page(f->g, f->ref);

	SHARED_RING_INIT(s);
	FRONT_RING_INIT(&f->ring, s, XENBUS_PAGE_SIZE);
	if (with_ring_ref)
		xbt_write(f->fe, "ring-ref", "%u", f->ref);
	xbt_write(f->fe, "event-channel", "%u", f->port);
	xbt_write(f->fe, "state", "%d", XENBUS_INITIALISED);
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
	if (!xbt_pump(got_response, f))
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

static void check_echo(struct front *f, uint32_t value, const char *name)
{
	const char *why = echo_once(f, value);

	xbt_check(!why, name, "%s", why ? why : "");
}

/* The frontend, offered the device, connects with what it has wrong. */
static void check_refused_at_connect(struct front *f, bool with_ring_ref,
				     const char *what, const char *name)
{
	xbt_wait_state(f->be, XENBUS_INITWAIT);
	front_connect(f, with_ring_ref);
	xbt_check_refused(f->be, what, name);
}

/* ---- the scenarios ------------------------------------------------------- */

static void handshake(struct xbt_guest *g)
{
	struct front f;

	if (front_init(&f, g, 51712, 0, 7, NULL) < 0) {
		xbt_check(false, "handshake: set up", "%s", strerror(errno));
		return;
	}
	xbt_check_state(f.be, XENBUS_INITWAIT, "probe: backend goes InitWait");
	xbt_check(strcmp(xbt_read(f.be, "feature-echo"), "1") == 0 && stats.probes == 1,
	      "probe: the engine's features are written before InitWait",
	      "feature-echo \"%s\", %u probes", xbt_read(f.be, "feature-echo"),
	      stats.probes);

	front_connect(&f, true);
	xbt_check_state(f.be, XENBUS_CONNECTED, "connect: frontend Initialised -> backend Connected");
	check_echo(&f, 41, "connect: a request echoed over the mapped ring, kicks both ways");
	xbt_write(f.fe, "state", "%d", XENBUS_CONNECTED);
	check_echo(&f, 1000, "connect: frontend Connected changes nothing");

	xbt_write(f.fe, "state", "%d", XENBUS_CLOSING);
	xbt_check_state(f.be, XENBUS_CLOSING, "close: frontend Closing -> backend Closing");
	xbt_check(stats.disconnects == 1, "close: the engine disconnected once",
	      "%u disconnects", stats.disconnects);
	xbt_check_live(0, 0, "close: the ring is unmapped and the channel unbound");
	xbt_write(f.fe, "state", "%d", XENBUS_CLOSED);
	xbt_check_state(f.be, XENBUS_CLOSED, "close: frontend Closed -> backend Closed");

	xbt_write(f.fe, "state", "%d", XENBUS_INITIALISING);
	xbt_check_state(f.be, XENBUS_INITWAIT, "reconnect: frontend Initialising again -> InitWait");
	front_connect(&f, true);
	xbt_check_state(f.be, XENBUS_CONNECTED, "reconnect: Connected again");
	check_echo(&f, 7, "reconnect: the new ring echoes");
	xbt_check(stats.probes == 1 && stats.connects == 2,
	      "reconnect: no second probe, a second connect",
	      "%u probes, %u connects", stats.probes, stats.connects);

	/* A frontend that restarts without closing (kexec) */
	xbt_write(f.fe, "state", "%d", XENBUS_INITIALISING);
	xbt_check_state(f.be, XENBUS_INITWAIT, "restart: Connected frontend back to Initialising -> InitWait");
	xbt_check_live(0, 0, "restart: its old ring is let go");
	front_connect(&f, true);
	xbt_check_state(f.be, XENBUS_CONNECTED, "restart: Connected once more");

	xs_rm(xbt_xs, XBT_NULL, f.be);
	xs_rm(xbt_xs, XBT_NULL, f.fe);
	xbt_check(xbt_no_devices(), "remove: backend node gone -> device dropped",
	      "%u devices left", xenbus_device_count(xbt_core));
	xbt_check(stats.removes == 1 && stats.disconnects == stats.connects,
	      "remove: disconnect then remove called",
	      "%u removes, %u connects, %u disconnects", stats.removes,
	      stats.connects, stats.disconnects);
	xbt_check_live(0, 0, "remove: nothing left mapped or bound");
	close(f.kick);
	close(f.note);
}

static void hostile(struct xbt_guest *good, struct xbt_guest *bad)
{
	struct front ok, garbage, noref, badref, badport, elsewhere;

	if (front_init(&ok, good, 1, 1, 11, NULL) < 0 ||
	    front_init(&garbage, bad, 2, 0, 21, NULL) < 0 ||
	    front_init(&noref, bad, 3, 1, 22, NULL) < 0 ||
	    front_init(&badref, bad, 4, 99, 23, NULL) < 0 ||
	    front_init(&badport, bad, 5, 2, 24, NULL) < 0 ||
	    front_init(&elsewhere, bad, 6, 3, 25,
		       "/local/domain/1/device/" TYPE "/6") < 0) {
		xbt_check(false, "hostile: set up", "%s", strerror(errno));
		return;
	}
	badport.port = 99;	/* a port the guest never opened */
	xbt_wait_state(ok.be, XENBUS_INITWAIT);
	front_connect(&ok, true);
	xbt_check_state(ok.be, XENBUS_CONNECTED, "hostile: a good device connects beside them");

	xbt_write(garbage.fe, "state", "banana");
	xbt_check_refused(garbage.be, "frontend state banana",
		      "hostile: garbage frontend state -> Closed, error says so");
	check_refused_at_connect(&noref, false, "ring-ref: missing",
				 "hostile: missing ring-ref -> Closed, error says so");
	check_refused_at_connect(&badref, true, "ring-ref 99: cannot map",
				 "hostile: ring-ref the guest never granted -> Closed");
	xbt_write(badref.fe, "ring-ref", "-1");
	xbt_write(badref.fe, "state", "%d", XENBUS_INITIALISING);
	xbt_check_state(badref.be, XENBUS_INITWAIT, "hostile: a refused frontend may start again");
	xbt_write(badref.fe, "state", "%d", XENBUS_INITIALISED);
	xbt_check_refused(badref.be, "ring-ref: not a number",
		      "hostile: ring-ref -1 -> Closed, error says so");
	check_refused_at_connect(&badport, true, "event-channel 99: cannot bind",
				 "hostile: event channel never opened -> Closed");
	xbt_check_refused(elsewhere.be, "frontend /local/domain/1/",
		      "hostile: frontend path in another domain -> Closed");
	xbt_check(stats.probes == 5 + 1,
	      "hostile: the device pointed elsewhere is never probed",
	      "%u probes (wanted 6)", stats.probes);
	xbt_write(garbage.fe, "state", "%d", XENBUS_RECONFIGURING);
	xbt_write(garbage.fe, "state", "%d", XENBUS_INITIALISING);
	xbt_check_state(garbage.be, XENBUS_INITWAIT, "hostile: garbage frontend recovers through Initialising");

	check_echo(&ok, 5, "hostile: the good device still echoes");
	xbt_check_live(1, 1, "hostile: only the good device holds a mapping");
	xs_rm(xbt_xs, XBT_NULL, BE);
	xbt_check(xbt_no_devices(), "hostile: removing backend/" TYPE " drops every device",
	      "%u devices left", xenbus_device_count(xbt_core));
	xbt_check_live(0, 0, "hostile: nothing left mapped or bound");
}

int main(void)
{
	struct xbt_guest g1, g2;

	if (xbt_open("xenbus", &echo_engine, &stats) < 0)
		return 1;
	if (xbt_guest_init(&g1, 1, PAGES) < 0 ||
	    xbt_guest_init(&g2, 2, PAGES) < 0) {
		printf("not ok - xenbus: set up: guest memory\n");
		return 1;
	}
	handshake(&g1);
	hostile(&g1, &g2);
	xbt_close();
	xbt_guest_fini(&g1);
	xbt_guest_fini(&g2);
	return xbt_failed;
}
