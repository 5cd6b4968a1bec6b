/*
 * Connections: unix-socket clients and domain rings share the framing,
 * the output queue and the limits here; domain.c moves the ring bytes.
 * The queue is this file's alone: others queue, walk and drain it through
 * the conn_queue_bytes() and conn_out_*() functions.  Whole requests go up
 * through dispatch() (handlers.c), the one call into the layer above.
 *
 * A client that sends a malformed frame (payload over 4096 bytes) loses its
 * connection; one that does not read its replies is first paused (we stop
 * reading its requests) and, past a hard limit, dropped, so no client can
 * make the daemon hang or grow without bound.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "core.h"

#define HDR_LEN ((uint32_t)sizeof(struct xsd_sockmsg))
#define IN_CAP (4 * (HDR_LEN + XENSTORE_PAYLOAD_MAX))
#define PAUSE_BYTES (256u * 1024)	/* stop reading requests */
#define DROP_BYTES (16u * 1024 * 1024)	/* socket client is gone */

/* A queued message, on c->out. */
struct outmsg {
	struct outmsg *next;
	uint32_t len;		/* header + payload */
	uint32_t off;		/* bytes already sent */
	char data[];
};

struct evloop *loop;

struct conn daemon_conn = {
	.privileged = true, .domid = 0, .target = DOMID_NONE,
};

static struct conn *conns;
static size_t nconns;
static uint32_t next_conn_id = 1;
static struct conn *dirty;	/* linked by next_dirty */

struct conn *conn_first(void)
{
	return conns;
}

size_t conn_count(void)
{
	return nconns;
}

struct conn *conn_new(enum conn_kind kind, int fd, uint32_t domid,
		      bool privileged)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->in = malloc(IN_CAP);
	if (!c->in) {
		free(c);
		return NULL;
	}
	c->kind = kind;
	c->fd = fd;
	c->domid = domid;
	c->target = DOMID_NONE;
	c->privileged = privileged;
	c->id = next_conn_id++;
	c->out_tail = &c->out;
	c->next_txid = 1;
	c->next = conns;
	if (conns)
		conns->prev = c;
	conns = c;
	nconns++;
	return c;
}

static void drop_output(struct conn *c)
{
	while (c->out) {
		struct outmsg *m = c->out;

		c->out = m->next;
		free(m);
	}
	c->out_tail = &c->out;
	c->out_bytes = 0;
	c->out_count = 0;
}

static void drop_txns(struct conn *c)
{
	while (c->txns) {
		struct txn *t = c->txns;

		c->txns = t->next;
		txn_free(t);
	}
	c->ntxns = 0;
}

void conn_reset(struct conn *c)
{
	watch_remove_all(c);
	drop_txns(c);
}

static void unmark_dirty(struct conn *c)
{
	struct conn **pp;

	if (!c->dirty)
		return;
	for (pp = &dirty; *pp; pp = &(*pp)->next_dirty) {
		if (*pp == c) {
			*pp = c->next_dirty;
			break;
		}
	}
	c->dirty = false;
	c->next_dirty = NULL;
}

void conn_restart(struct conn *c)
{
	conn_reset(c);
	drop_output(c);
	c->in_len = 0;
	c->dead = false;
	c->dropping_events = false;
}

void conn_free(struct conn *c)
{
	if (!c)
		return;
	conn_reset(c);
	drop_output(c);
	unmark_dirty(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	nconns--;
	if (c->kind == CONN_SOCKET && c->fd >= 0) {
		evloop_del(loop, c->fd);
		close(c->fd);
	}
	free(c->in);
	free(c);
}

void conn_kill(struct conn *c, const char *why)
{
	if (c->dead)
		return;
	/* A client closing is routine; anything else is worth a look. */
	elog(strcmp(why, "closed by client") ? ELOG_INFO : ELOG_DEBUG,
	     "conn %u (domain %u): dropped: %s", c->id, c->domid, why);
	c->dead = true;
	/* Its watches stay until the reaper: a fan-out may be walking them
	 * right now.  watch_fire() skips dead connections. */
	if (c->kind == CONN_SOCKET && c->fd >= 0)
		evloop_del(loop, c->fd);
	if (c->kind == CONN_DOMAIN && c->dom)
		domain_bad(c->dom, XENSTORE_ERROR_COMM, why);
}

void conn_reap(void)
{
	struct conn *c = conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->dead && (c->kind == CONN_SOCKET || !c->dom))
			conn_free(c);
	}
}

void conn_free_all(void)
{
	struct conn *c = conns, *next;

	for (; c; c = next) {
		next = c->next;
		if (c->kind == CONN_SOCKET || !c->dom)
			conn_free(c);
	}
}

/* No allocation: queueing a flush can never fail, so it never has to
 * flush (and so read, and dispatch) from inside a request. */
void conn_mark_dirty(struct conn *c)
{
	if (c->dirty)
		return;
	c->dirty = true;
	c->next_dirty = dirty;
	dirty = c;
}

/* Upstream's rule since XSA-326: what an unprivileged domain leaves unread
 * counts against its memory quota, with the nodes it owns, and a watch
 * event that would take it past the quota is dropped, so no one can grow
 * the daemon by making another guest's queue long.  A privileged domain
 * (dom0's ring) has no quota: its events stop at a fixed bound instead.
 * A privileged socket client is dropped whole at DROP_BYTES (conn_send). */
static bool event_over_limit(const struct conn *c, uint32_t len)
{
	if (!c->privileged)
		return store.usage[c->domid % NR_DOMIDS].bytes + c->out_bytes +
			       len >
		       quotas[Q_MEMORY].val;
	return c->kind == CONN_DOMAIN && c->out_bytes + len > DROP_BYTES;
}

/* Counted always, logged once as the queue goes over and once as it comes
 * back: a guest that misses events may hang a handshake, and the operator
 * must be able to see why. */
static void drop_event(struct conn *c)
{
	c->events_dropped++;
	store.usage[c->domid % NR_DOMIDS].events_dropped++;
	if (c->dropping_events)
		return;
	c->dropping_events = true;
	elog(ELOG_WARN, "conn %u (domain %u): %zu bytes of output unread, over its limit: dropping watch events until it reads",
	     c->id, c->domid, c->out_bytes);
}

static struct outmsg *outmsg_new(uint32_t len)
{
	struct outmsg *m = malloc(sizeof(*m) + len);

	if (m) {
		m->next = NULL;
		m->len = len;
		m->off = 0;
	}
	return m;
}

/* Appends m, of which m->off bytes count as sent already. */
static void enqueue(struct conn *c, struct outmsg *m)
{
	*c->out_tail = m;
	c->out_tail = &m->next;
	c->out_bytes += m->len - m->off;
	c->out_count++;
}

int conn_send(struct conn *c, uint32_t type, uint32_t req_id,
	      uint32_t tx_id, const void *payload, uint32_t len,
	      bool is_event)
{
	struct xsd_sockmsg hdr = {
		.type = type, .req_id = req_id, .tx_id = tx_id, .len = len,
	};
	struct outmsg *m;

	if (c->dead)
		return -ECONNRESET;
	if (is_event && event_over_limit(c, HDR_LEN + len)) {
		drop_event(c);
		return -ENOSPC;
	}
	if (is_event && c->dropping_events) {
		elog(ELOG_INFO, "conn %u (domain %u): reads its output again; %llu watch events dropped so far",
		     c->id, c->domid, (unsigned long long)c->events_dropped);
		c->dropping_events = false;
	}
	m = outmsg_new(HDR_LEN + len);
	if (!m)
		return -ENOMEM;
	memcpy(m->data, &hdr, HDR_LEN);
	if (len)
		memcpy(m->data + HDR_LEN, payload, len);
	enqueue(c, m);
	persist_outmsg(c, m->data, m->len);
	trace_msg(c, "OUT", &hdr, m->data + HDR_LEN);
	if (c->kind == CONN_SOCKET && c->out_bytes > DROP_BYTES) {
		conn_kill(c, "does not read its replies");
		return -ECONNRESET;
	}
	conn_mark_dirty(c);
	return 0;
}

const void *conn_out_head(const struct conn *c, uint32_t *len)
{
	if (!c->out)
		return NULL;
	*len = c->out->len - c->out->off;
	return c->out->data + c->out->off;
}

void conn_out_sent(struct conn *c, size_t n)
{
	while (n && c->out) {
		struct outmsg *m = c->out;
		size_t left = m->len - m->off;

		if (n < left) {
			m->off += (uint32_t)n;
			c->out_bytes -= n;
			return;
		}
		n -= left;
		c->out_bytes -= left;
		c->out_count--;
		c->out = m->next;
		if (!c->out)
			c->out_tail = &c->out;
		free(m);
	}
}

int conn_queue_bytes(struct conn *c, const void *bytes, uint32_t len,
		     uint32_t done)
{
	struct outmsg *m = outmsg_new(len);

	if (!m)
		return -ENOMEM;
	memcpy(m->data, bytes, len);
	m->off = done;
	enqueue(c, m);
	conn_mark_dirty(c);
	return 0;
}

int conn_out_walk(const struct conn *c,
		  int (*fn)(void *arg, const char *msg, uint32_t len,
			    uint32_t sent),
		  void *arg)
{
	const struct outmsg *m;
	int rc = 0;

	for (m = c->out; m && !rc; m = m->next)
		rc = fn(arg, m->data, m->len, m->off);
	return rc;
}

size_t conn_out_bytes(const struct conn *c)
{
	return c->out_bytes;
}

bool conn_paused(const struct conn *c)
{
	if (c->out_bytes > PAUSE_BYTES)
		return true;
	return !c->privileged && c->out_count >= quotas[Q_OUTSTANDING].val;
}

static void socket_update_interest(struct conn *c)
{
	uint32_t ev = 0;

	c->reading_paused = conn_paused(c);
	if (!c->reading_paused)
		ev |= EPOLLIN;
	if (c->out)
		ev |= EPOLLOUT;
	evloop_mod(loop, c->fd, ev);
}

void conn_flush(struct conn *c)
{
	bool was_paused = c->reading_paused;

	if (c->dead)
		return;
	persist_flush();	/* what a reply acknowledges is written first */
	if (c->kind == CONN_DOMAIN) {
		domain_ring_io(c->dom);
		return;
	}
	while (c->out) {
		struct iovec iov[64];
		struct outmsg *m;
		int n = 0;
		ssize_t w;

		for (m = c->out; m && n < 64; m = m->next, n++) {
			iov[n].iov_base = m->data + m->off;
			iov[n].iov_len = m->len - m->off;
		}
		w = writev(c->fd, iov, n);
		if (w < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			conn_kill(c, "write failed");
			return;
		}
		conn_out_sent(c, (size_t)w);
	}
	socket_update_interest(c);
	/* Reading had stopped for output to drain; resume what is buffered. */
	if (was_paused && !c->reading_paused && c->in_len)
		conn_process_input(c);
}

void conn_flush_dirty(void)
{
	while (dirty) {
		struct conn *c = dirty;

		dirty = c->next_dirty;
		c->dirty = false;
		c->next_dirty = NULL;
		conn_flush(c);
	}
}

void conn_process_input(struct conn *c)
{
	uint32_t off = 0;

	while (!c->dead && c->in_len - off >= HDR_LEN) {
		struct xsd_sockmsg hdr;
		char body[XENSTORE_PAYLOAD_MAX + 1];

		if (conn_paused(c)) {
			c->reading_paused = true;
			break;
		}
		memcpy(&hdr, c->in + off, HDR_LEN);
		if (hdr.len > XENSTORE_PAYLOAD_MAX) {
			elog(ELOG_WARN,
			     "conn %u (domain %u): message of %u bytes exceeds %u",
			     c->id, c->domid, hdr.len, XENSTORE_PAYLOAD_MAX);
			if (c->kind == CONN_DOMAIN && c->dom)
				domain_bad(c->dom, XENSTORE_ERROR_PROTO,
					   "payload over 4096 bytes");
			conn_kill(c, "payload over 4096 bytes");
			return;
		}
		if (c->in_len - off < HDR_LEN + hdr.len)
			break;
		memcpy(body, c->in + off + HDR_LEN, hdr.len);
		body[hdr.len] = '\0';
		off += HDR_LEN + hdr.len;
		dispatch(c, &hdr, body);
	}
	if (c->dead)
		return;
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
	conn_mark_dirty(c);
}

uint32_t conn_in_room(const struct conn *c)
{
	return IN_CAP - c->in_len;
}

static void socket_event(void *arg, uint32_t events)
{
	struct conn *c = arg;

	if ((events & EPOLLIN) && c->in_len < IN_CAP) {
		ssize_t n = read(c->fd, c->in + c->in_len, IN_CAP - c->in_len);

		if (n == 0) {
			conn_kill(c, "closed by client");
			return;
		}
		if (n < 0) {
			if (errno != EAGAIN && errno != EINTR)
				conn_kill(c, "read failed");
			return;
		}
		c->in_len += (uint32_t)n;
		conn_process_input(c);
	} else if (events & (EPOLLHUP | EPOLLERR)) {
		conn_kill(c, "hung up");
		return;
	}
	if (events & EPOLLOUT)
		conn_flush(c);
}

static void listen_event(void *arg, uint32_t events)
{
	int lfd = (int)(intptr_t)arg;

	(void)events;
	for (;;) {
		int fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR &&
			    errno != ECONNABORTED)
				elog(ELOG_WARN, "accept: %s", strerror(errno));
			return;
		}
		/* The socket is root-only (mode 0600): its clients are dom0. */
		c = socket_adopt(fd, 0, true);
		if (!c) {
			elog(ELOG_ERR, "out of memory accepting a client");
			close(fd);
		}
	}
}

struct conn *socket_adopt(int fd, uint32_t domid, bool privileged)
{
	struct conn *c = conn_new(CONN_SOCKET, fd, domid, privileged);

	if (!c)
		return NULL;
	if (evloop_add(loop, fd, EPOLLIN, socket_event, c)) {
		c->fd = -1;
		conn_free(c);
		return NULL;
	}
	return c;
}

int socket_adopt_listener(int fd)
{
	return evloop_add(loop, fd, EPOLLIN, listen_event, (void *)(intptr_t)fd);
}

int socket_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[sizeof(sa.sun_path)];
	int fd, rc;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		elog(ELOG_ERR, "socket path too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	strcpy(dir, path);
	if (path_parent(path, dir) && strcmp(dir, "/")) {
		rc = mkdir_p(dir);
		if (rc) {
			elog(ELOG_ERR, "cannot create %s: %s", dir, strerror(-rc));
			return rc;
		}
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(path, 0600) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		elog(ELOG_ERR, "cannot listen on %s: %s", path, strerror(-rc));
		close(fd);
		return rc;
	}
	rc = socket_adopt_listener(fd);
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}
