/*
 * One guest's primary console: /local/domain/<id>/console in xenstore, a
 * page holding struct xencons_interface, an event channel, a pty.
 *
 * Life of a console: console_new() when the domain appears under
 * /local/domain, with a watch on its console directory; console_refresh()
 * on every event of that watch connects once ring-ref and port are there
 * (grant map, else frame map; bind; pty; log; console/tty: guest memory
 * and the channel through the xenbus transport), and
 * reconnects if they change; console_release() when the domain is gone.
 *
 * The guest writes the out ring and its in_cons, and may write garbage in
 * any of them: indexes are read once, checked (ring.c), and a guest whose
 * indexes are inconsistent loses its console (logged) until it writes new
 * ring details.  Output is always taken from the ring, so the guest never
 * stalls on us: what the pty cannot take is kept up to PTY_BACKLOG, then
 * the oldest is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/grant_table.h>
#include <xen/io/console.h>

#include "consoled.h"
#include "ring.h"

#define PAGE_SIZE_4K 4096

_Static_assert(sizeof(struct xencons_interface) <= PAGE_SIZE_4K,
	       "the console interface fits its page");
_Static_assert((sizeof(((struct xencons_interface *)0)->in) &
		(sizeof(((struct xencons_interface *)0)->in) - 1)) == 0,
	       "in ring is a power of two");
_Static_assert((sizeof(((struct xencons_interface *)0)->out) &
		(sizeof(((struct xencons_interface *)0)->out) - 1)) == 0,
	       "out ring is a power of two");

#define IN_SIZE ((uint32_t)sizeof(((struct xencons_interface *)0)->in))
#define OUT_SIZE ((uint32_t)sizeof(((struct xencons_interface *)0)->out))

/* The guest writes these concurrently: read each exactly once. */
static uint32_t load_idx(const XENCONS_RING_IDX *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static void store_idx(XENCONS_RING_IDX *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static void full_barrier(void)
{
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

static void notify(struct console *c)
{
	if (c->ch)
		xenbus_notify(c->ch);
}

/* Reads a node under the console's directory (NULL if absent). */
static char *read_node(struct console *c, const char *name)
{
	char path[96];
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", c->path, name);
	return xs_read(c->dm->xs, XBT_NULL, path, &len);
}

/* ---- the pty ------------------------------------------------------------ */

static void update_events(struct console *c, uint32_t want)
{
	if (c->master < 0 || want == c->ev)
		return;
	if (evloop_mod(c->dm->loop, c->master, want) == 0)
		c->ev = want;
}

static uint32_t wanted_events(struct console *c)
{
	struct xencons_interface *intf = c->intf;
	uint32_t ev = 0;
	size_t room;

	room = ring_space(load_idx(&intf->in_cons), load_idx(&intf->in_prod),
			  IN_SIZE);
	if (room && room != RING_BAD)
		ev |= EPOLLIN;
	if (c->pending.len)
		ev |= EPOLLOUT;
	return ev;
}

/* Keeps at most PTY_BACKLOG bytes, dropping the oldest. */
static void backlog_add(struct console *c, const char *data, size_t len)
{
	struct buf *b = &c->pending;
	size_t drop;

	if (len >= PTY_BACKLOG) {
		c->dropped += b->len + len - PTY_BACKLOG;
		data += len - PTY_BACKLOG;
		len = PTY_BACKLOG;
		b->len = 0;
	} else if (b->len + len > PTY_BACKLOG) {
		drop = b->len + len - PTY_BACKLOG;
		memmove(b->p, b->p + drop, b->len - drop);
		b->len -= drop;
		c->dropped += drop;
	}
	if (buf_add(b, data, len))
		c->dropped += len;
}

static void pty_flush(struct console *c)
{
	struct buf *b = &c->pending;
	ssize_t n;

	while (b->len) {
		n = write(c->master, b->p, b->len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;	/* EAGAIN: nobody reads the pty; EIO alike */
		memmove(b->p, b->p + n, b->len - (size_t)n);
		b->len -= (size_t)n;
	}
	if (!b->len && c->dropped) {
		elog(ELOG_DEBUG, "domain %u: dropped %zu bytes nobody read from %s",
		     c->domid, c->dropped, c->tty);
		c->dropped = 0;
	}
}

static void pty_write(struct console *c, const char *data, size_t len)
{
	ssize_t n = 0;

	if (!c->pending.len) {
		do
			n = write(c->master, data, len);
		while (n < 0 && errno == EINTR);
		if (n < 0)
			n = 0;
	}
	if ((size_t)n < len)
		backlog_add(c, data + n, len - (size_t)n);
}

/* Bytes typed into the pty go to the guest's in ring. */
static void pty_read(struct console *c)
{
	struct xencons_interface *intf = c->intf;
	char tmp[sizeof(intf->in)];
	uint32_t cons, prod;
	size_t room, put;
	ssize_t n;

	cons = load_idx(&intf->in_cons);
	prod = load_idx(&intf->in_prod);
	full_barrier();
	room = ring_space(cons, prod, IN_SIZE);
	if (room == RING_BAD) {
		elog(ELOG_WARN, "domain %u: console in ring indexes inconsistent (cons %u, prod %u): console dropped",
		     c->domid, cons, prod);
		c->failed_for_good = true;
		console_disconnect(c, true);
		return;
	}
	if (!room)
		return;
	do
		n = read(c->master, tmp, room);
	while (n < 0 && errno == EINTR);
	if (n <= 0)
		return;
	put = ring_put(intf->in, IN_SIZE, cons, prod, tmp, (size_t)n);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	store_idx(&intf->in_prod, prod + (uint32_t)put);
	notify(c);
}

static void on_pty(void *arg, uint32_t events)
{
	struct console *c = arg;

	if (events & EPOLLOUT)
		pty_flush(c);
	if (events & (EPOLLIN | EPOLLHUP | EPOLLERR))
		pty_read(c);
	if (c->intf)
		update_events(c, wanted_events(c));
}

static int open_pty(struct console *c)
{
	struct termios t;
	int master, slave = -1, err;

	master = posix_openpt(O_RDWR | O_NOCTTY);
	if (master < 0)
		goto fail;
	if (fcntl(master, F_SETFD, FD_CLOEXEC) < 0 ||
	    fcntl(master, F_SETFL, O_NONBLOCK) < 0 || grantpt(master) < 0 ||
	    unlockpt(master) < 0 ||
	    ptsname_r(master, c->tty, sizeof(c->tty)) != 0)
		goto fail;
	slave = open(c->tty, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (slave < 0)
		goto fail;
	if (tcgetattr(slave, &t) < 0)
		goto fail;
	cfmakeraw(&t);
	if (tcsetattr(slave, TCSANOW, &t) < 0)
		goto fail;
	c->master = master;
	c->slave = slave;
	return 0;

fail:
	err = errno ? errno : EIO;
	elog(ELOG_ERR, "domain %u: cannot open a pty: %s", c->domid,
	     strerror(err));
	if (slave >= 0)
		close(slave);
	if (master >= 0)
		close(master);
	c->tty[0] = '\0';
	return -err;
}

/* ---- the ring ----------------------------------------------------------- */

void console_ring_io(struct console *c)
{
	struct xencons_interface *intf = c->intf;
	char tmp[sizeof(intf->out)];
	uint32_t cons, prod;
	size_t n;
	int rounds;

	if (!intf)
		return;
	/* Two rounds catch what the guest added while we copied. */
	for (rounds = 0; rounds < 2; rounds++) {
		cons = load_idx(&intf->out_cons);
		prod = load_idx(&intf->out_prod);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		n = ring_take(intf->out, OUT_SIZE, cons, prod, tmp,
			      sizeof(tmp));
		if (n == RING_BAD) {
			elog(ELOG_WARN, "domain %u: console out ring indexes inconsistent (cons %u, prod %u): console dropped",
			     c->domid, cons, prod);
			c->failed_for_good = true;
			console_disconnect(c, true);
			return;
		}
		if (!n)
			break;
		full_barrier();
		store_idx(&intf->out_cons, cons + (uint32_t)n);
		notify(c);
		glog_write(&c->log, tmp, n, c->dm->opt.stamp, time(NULL));
		pty_write(c, tmp, n);
	}
	/* The guest may have made room in its in ring. */
	cons = load_idx(&intf->in_cons);
	prod = load_idx(&intf->in_prod);
	if (ring_space(cons, prod, IN_SIZE) == RING_BAD) {
		elog(ELOG_WARN, "domain %u: console in ring indexes inconsistent (cons %u, prod %u): console dropped",
		     c->domid, cons, prod);
		c->failed_for_good = true;
		console_disconnect(c, true);
		return;
	}
	update_events(c, wanted_events(c));
}

/* ---- connect and disconnect --------------------------------------------- */

static void unmap_ring(struct console *c)
{
	if (!c->intf)
		return;
	if (c->grant_mapped)
		xenbus_unmap(c->dm->tp, c->intf, 1);
	else
		xenbus_unmap_frame(c->dm->tp, c->intf);
	c->intf = NULL;
}

/* The reserved grant first, as upstream; the frame in ring-ref when the
 * guest has not set that grant up (and frames can be mapped here). */
static int map_ring(struct console *c, unsigned long long ref)
{
	struct daemon *dm = c->dm;
	const uint32_t gref = GNTTAB_RESERVED_CONSOLE;
	void *addr;
	int rc;

	rc = xenbus_map(dm->tp, c->domid, &gref, 1, true, &addr);
	if (rc == 0) {
		c->intf = addr;
		c->grant_mapped = true;
		return 0;
	}
	if (dm->frames) {
		rc = xenbus_map_frame(dm->tp, c->domid, ref, true, &addr);
		if (rc == 0) {
			c->intf = addr;
			c->grant_mapped = false;
			return 0;
		}
	}
	elog(ELOG_ERR, "domain %u: cannot map its console page (grant %d, frame %llu): %s",
	     c->domid, GNTTAB_RESERVED_CONSOLE, ref, strerror(-rc));
	return rc;
}

/* The channel's fd is readable when the guest kicked: take the kick
 * first (so that none is lost), then the ring. */
static void on_evtchn(void *arg, uint32_t events)
{
	struct console *c = arg;
	int rc;

	(void)events;
	rc = xenbus_evtchn_ack(c->ch);
	if (rc < 0)
		elog(ELOG_DEBUG, "domain %u: event channel: %s", c->domid,
		     strerror(-rc));
	console_ring_io(c);
}

static int bind_port(struct console *c, uint32_t remote)
{
	int rc;

	rc = xenbus_bind(c->dm->tp, c->domid, remote, &c->ch);
	if (rc < 0) {
		elog(ELOG_ERR, "domain %u: cannot bind its console event channel %u: %s",
		     c->domid, remote, strerror(-rc));
		return rc;
	}
	rc = evloop_add(c->dm->loop, xenbus_evtchn_fd(c->ch), EPOLLIN,
			on_evtchn, c);
	if (rc) {
		xenbus_unbind(c->ch);
		c->ch = NULL;
		return rc < 0 ? rc : -ENOMEM;
	}
	return 0;
}

void console_disconnect(struct console *c, bool remove_tty)
{
	char path[96];

	if (c->master >= 0) {
		evloop_del(c->dm->loop, c->master);
		close(c->master);
		c->master = -1;
	}
	if (c->slave >= 0) {
		close(c->slave);
		c->slave = -1;
	}
	c->ev = 0;
	if (c->ch) {
		evloop_del(c->dm->loop, xenbus_evtchn_fd(c->ch));
		xenbus_unbind(c->ch);
		c->ch = NULL;
	}
	unmap_ring(c);
	glog_close(&c->log);
	buf_fini(&c->pending);
	c->dropped = 0;
	if (remove_tty && c->tty[0]) {
		snprintf(path, sizeof(path), "%s/tty", c->path);
		xs_rm(c->dm->xs, XBT_NULL, path);
	}
	if (c->tty[0])
		elog(ELOG_INFO, "domain %u: console disconnected (%s)",
		     c->domid, c->tty);
	c->tty[0] = '\0';
	if (c->failed_for_good) {
		c->failed = true;
		c->failed_ref = c->ring_ref;
		c->failed_port = c->remote_port;
	}
}

static void schedule_retry(struct console *c)
{
	struct timespec now;

	c->failed = true;
	c->failed_ref = c->ring_ref;
	c->failed_port = c->remote_port;
	if (++c->retries > MAX_RETRIES) {
		elog(ELOG_WARN, "domain %u: console not connected after %u tries; waiting for its console nodes to change",
		     c->domid, MAX_RETRIES);
		c->failed_for_good = true;
		return;
	}
	clock_gettime(CLOCK_MONOTONIC, &now);
	c->retry_at = now;
	c->retry_at.tv_sec += 1;
	daemon_schedule_retry(c->dm);
}

static int connect_console(struct console *c, unsigned long long ref,
			   uint32_t port)
{
	struct daemon *dm = c->dm;
	char path[96], *name;
	unsigned int len;
	int rc;

	c->ring_ref = ref;
	c->remote_port = port;
	rc = map_ring(c, ref);
	if (rc)
		goto fail;
	rc = bind_port(c, port);
	if (rc)
		goto fail;
	rc = open_pty(c);
	if (rc)
		goto fail;
	rc = evloop_add(dm->loop, c->master, 0, on_pty, c);
	if (rc) {
		close(c->master);
		close(c->slave);
		c->master = c->slave = -1;
		goto fail;
	}
	if (dm->opt.log != LOG_NONE) {
		snprintf(path, sizeof(path), "/local/domain/%u/name", c->domid);
		name = xs_read(dm->xs, XBT_NULL, path, &len);
		glog_open(&c->log, dm->opt.log_dir, name, c->domid);
		free(name);	/* a log that cannot open is no reason to fail */
	}
	snprintf(path, sizeof(path), "%s/tty", c->path);
	if (!xs_write(dm->xs, XBT_NULL, path, c->tty, strlen(c->tty))) {
		rc = -(errno ? errno : EIO);
		elog(ELOG_ERR, "domain %u: cannot write %s: %s", c->domid,
		     path, strerror(-rc));
		goto fail;
	}
	c->failed = c->failed_for_good = false;
	c->retries = 0;
	elog(ELOG_INFO, "domain %u: console on %s (%s, port %u)", c->domid,
	     c->tty, c->grant_mapped ? "grant" : "foreign map", port);
	/* Whatever the guest wrote before we came, and a kick so that it
	 * looks at its in ring. */
	console_ring_io(c);
	notify(c);
	return 0;

fail:
	console_disconnect(c, false);
	schedule_retry(c);
	return rc;
}

/* Reads a whole decimal number node; false if absent or malformed. */
static bool read_number(struct console *c, const char *name,
			unsigned long long max, unsigned long long *out)
{
	char *s = read_node(c, name);
	bool ok = s && parse_uint(s, max, out) == 0;

	if (s && !ok)
		elog(ELOG_DEBUG, "domain %u: console/%s is '%.32s', not a number",
		     c->domid, name, s);
	free(s);
	return ok;
}

void console_refresh(struct console *c)
{
	unsigned long long ref, port;
	char *type;
	bool ours;

	type = read_node(c, "type");
	ours = !type || !strcmp(type, "xenconsoled");
	free(type);
	if (!ours || !read_number(c, "ring-ref", UINT64_MAX, &ref) ||
	    !read_number(c, "port", UINT32_MAX, &port)) {
		/* Not written yet, gone, or another backend's: the watch
		 * brings us back when that changes. */
		if (c->intf)
			console_disconnect(c, false);
		c->failed = c->failed_for_good = false;
		c->retries = 0;
		return;
	}
	if (c->intf) {
		if (c->ring_ref == ref && c->remote_port == port)
			return;
		elog(ELOG_INFO, "domain %u: console moved to frame %llu, port %llu",
		     c->domid, ref, port);
		console_disconnect(c, false);
	}
	/* The same details that failed: the guest broke this ring, or the
	 * timer retries a transient failure. */
	if (c->failed && c->failed_ref == ref && c->failed_port == port)
		return;
	c->retries = 0;
	connect_console(c, ref, (uint32_t)port);
}

void console_retry_due(struct daemon *dm)
{
	struct timespec now;
	struct console *c;
	size_t pos = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	while ((c = hmap_next(&dm->consoles, &pos))) {
		if (!c->failed || c->failed_for_good || c->intf)
			continue;
		if (c->retry_at.tv_sec > now.tv_sec ||
		    (c->retry_at.tv_sec == now.tv_sec &&
		     c->retry_at.tv_nsec > now.tv_nsec))
			continue;
		elog(ELOG_DEBUG, "domain %u: retrying its console (try %u)",
		     c->domid, c->retries + 1);
		connect_console(c, c->failed_ref, c->failed_port);
	}
	daemon_schedule_retry(dm);
}

/* ---- new and release ---------------------------------------------------- */

struct console *console_new(struct daemon *dm, unsigned domid)
{
	struct console *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->dm = dm;
	c->domid = domid;
	c->master = c->slave = -1;
	glog_init(&c->log);
	buf_init(&c->pending);
	snprintf(c->key, sizeof(c->key), "%u", domid);
	snprintf(c->token, sizeof(c->token), "c%u", domid);
	if (asprintf(&c->path, "/local/domain/%u/console", domid) < 0) {
		free(c);
		return NULL;
	}
	if (hmap_put(&dm->consoles, c->key, c)) {
		free(c->path);
		free(c);
		return NULL;
	}
	/* The watch fires once at once: that first event connects. */
	if (xs_watch(dm->xs, c->path, c->token))
		c->watching = true;
	else
		elog(ELOG_ERR, "domain %u: cannot watch %s: %s", domid,
		     c->path, strerror(errno));
	elog(ELOG_DEBUG, "domain %u: watching %s", domid, c->path);
	return c;
}

void console_release(struct console *c)
{
	struct daemon *dm = c->dm;

	console_disconnect(c, false);
	if (c->watching)
		xs_unwatch(dm->xs, c->path, c->token);
	hmap_del(&dm->consoles, c->key);
	elog(ELOG_INFO, "domain %u: released", c->domid);
	free(c->path);
	free(c);
}
