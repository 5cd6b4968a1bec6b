/* The xenstored harnesses' shared half: see xs_common.h. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core.h"
#include "xs_common.h"

#define NCONN 4

static const struct {
	uint32_t domid;
	bool privileged;
} who[NCONN] = {
	{ 0, true }, { 1, false }, { 7, false }, { 0, true },
};

struct fconn {
	struct conn *c;
	int peer;		/* the client's end, -1 once gone */
};

static struct fconn fc[NCONN];
static struct quota_def saved_quotas[Q_COUNT];

/*
 * Tracing (trace.c) is left out: CONTROL logfile would let the input
 * append to any file this process may write.  Stand-ins that refuse.
 */
void trace_msg(const struct conn *c, const char *dir,
	       const struct xsd_sockmsg *hdr, const char *body)
{
	(void)c;
	(void)dir;
	(void)hdr;
	(void)body;
}

int trace_open(const char *path)
{
	(void)path;
	return -EPERM;
}

void trace_enable(bool on)
{
	(void)on;
}

int xs_fuzz_init(void)
{
	signal(SIGPIPE, SIG_IGN);	/* as the daemon: a gone client is EPIPE */
	elog_set_level(ELOG_ERR);	/* quota hits and kills are expected */
	loop = evloop_new();
	if (!loop)
		return -1;
	watch_init();
	memcpy(saved_quotas, quotas, sizeof(quotas));
	return 0;
}

static void open_conn(int i, bool drop)
{
	int fds[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, fds))
		abort();
	fcntl(fds[0], F_SETFL, O_NONBLOCK);
	fcntl(fds[1], F_SETFL, O_NONBLOCK);
	if (drop) {
		int small = 4096;	/* the kernel's minimum wins */

		setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
		setsockopt(fds[1], SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	}
	fc[i].c = conn_new(CONN_SOCKET, fds[0], who[i].domid, who[i].privileged);
	if (!fc[i].c)
		abort();
	fc[i].peer = fds[1];
}

static void drain(int i)
{
	char buf[65536];

	if (fc[i].peer < 0)
		return;
	while (recv(fc[i].peer, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
}

static void reap(void)
{
	int i;

	/* conn_reap frees the dead: forget them first. */
	for (i = 0; i < NCONN; i++) {
		if (fc[i].c && fc[i].c->dead) {
			fc[i].c = NULL;
			if (fc[i].peer >= 0)
				close(fc[i].peer);
			fc[i].peer = -1;
		}
	}
	conn_reap();
}

static void check_store(const char *when)
{
	struct buf problems;
	int rc;

	buf_init(&problems);
	rc = store_check(&problems);
	if (rc == -EIO) {
		fprintf(stderr, "store check failed %s:\n%.*s", when,
			(int)problems.len, problems.p);
		abort();
	}
	buf_fini(&problems);
}

/* A connection's counts match its lists; a connection that was always a
 * domain's stays within the domain quotas (unless the input changed
 * them: CONTROL quota set). */
static void check_conn(int i)
{
	const struct conn *c = fc[i].c;
	const struct watch *w;
	const struct txn *t;
	uint32_t nw = 0, nt = 0;

	if (!c || c->dead)
		return;
	for (w = c->watches; w; w = w->next_conn)
		nw++;
	for (t = c->txns; t; t = t->next)
		nt++;
	if (nw != c->nwatches || nt != c->ntxns) {
		fprintf(stderr, "conn %d: %u watches and %u transactions listed, "
			"%u and %u counted\n", i, nw, nt, c->nwatches, c->ntxns);
		abort();
	}
	if (who[i].privileged || memcmp(quotas, saved_quotas, sizeof(quotas)))
		return;
	if (nw > quotas[Q_WATCHES].val || nt > quotas[Q_TRANSACTIONS].val) {
		fprintf(stderr, "domain %u holds %u watches and %u transactions, "
			"over its quotas (%llu, %llu)\n", c->domid, nw, nt,
			quotas[Q_WATCHES].val, quotas[Q_TRANSACTIONS].val);
		abort();
	}
}

void xs_fuzz_one(const uint8_t *data, size_t size, bool drop)
{
	size_t pos = 0;
	int i;

	memcpy(quotas, saved_quotas, sizeof(quotas));
	if (store_init())
		abort();
	for (i = 0; i < NCONN; i++)
		open_conn(i, drop);

	while (pos < size) {
		uint8_t op = data[pos++];
		unsigned kind = (op >> 2) & 7;
		size_t len;

		i = op & 3;
		if (kind == 7) {
			conn_flush_dirty();
			reap();
			continue;
		}
		if (kind == 6) {
			if (drop && fc[i].peer >= 0) {
				close(fc[i].peer);
				fc[i].peer = -1;
			} else {
				drain(i);
			}
			continue;
		}
		len = 0;
		if (pos < size)
			len = data[pos++];
		if (pos < size)
			len |= (size_t)data[pos++] << 8;
		if (len > size - pos)
			len = size - pos;
		if (!fc[i].c)
			open_conn(i, drop);
		if (!fc[i].c->dead) {
			uint32_t room = conn_in_room(fc[i].c);
			size_t n = len < room ? len : room;

			memcpy(fc[i].c->in + fc[i].c->in_len, data + pos, n);
			fc[i].c->in_len += (uint32_t)n;
			conn_process_input(fc[i].c);
		}
		pos += len;
		if (!drop) {
			conn_flush_dirty();
			for (i = 0; i < NCONN; i++)
				drain(i);
		}
	}
	conn_flush_dirty();
	check_store("after the input");
	for (i = 0; i < NCONN; i++)
		check_conn(i);

	for (i = 0; i < NCONN; i++) {
		if (fc[i].c)
			conn_free(fc[i].c);	/* closes the daemon's end */
		if (fc[i].peer >= 0)
			close(fc[i].peer);
		fc[i].c = NULL;
		fc[i].peer = -1;
	}
	conn_reap();
	if (watch_count() != 0) {
		fprintf(stderr, "%zu watches outlive every connection\n",
			watch_count());
		abort();
	}
	store_fini();
}
