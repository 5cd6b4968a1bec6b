/* Shared scaffolding for the xenstored unit tests; see unit.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "unit.h"

#define MAX_TCONNS 64

static struct tconn *tconns[MAX_TCONNS];
static int ntconns;
static struct quota_def saved_quotas[Q_COUNT];
static bool once_done;

int unit_setup(void **state)
{
	(void)state;
	if (!once_done) {
		elog_set_level(ELOG_ERR);	/* quota hits are expected here */
		loop = evloop_new();
		if (!loop)
			return -1;
		watch_init();
		memcpy(saved_quotas, quotas, sizeof(quotas));
		once_done = true;
	}
	memcpy(quotas, saved_quotas, sizeof(quotas));
	return store_init() ? -1 : 0;
}

int unit_teardown(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < ntconns; i++) {
		conn_free(tconns[i]->c);	/* closes the daemon's end */
		close(tconns[i]->peer);
		free(tconns[i]);
		tconns[i] = NULL;
	}
	ntconns = 0;
	conn_reap();
	store_fini();
	memcpy(quotas, saved_quotas, sizeof(quotas));
	return 0;
}

struct tconn *tc_new(uint32_t domid, bool privileged)
{
	struct tconn *t;
	int fds[2];

	assert_true(ntconns < MAX_TCONNS);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, fds), 0);
	assert_int_equal(fcntl(fds[0], F_SETFL, O_NONBLOCK), 0);
	assert_int_equal(fcntl(fds[1], F_SETFL, O_NONBLOCK), 0);
	t = calloc(1, sizeof(*t));
	assert_non_null(t);
	t->c = conn_new(CONN_SOCKET, fds[0], domid, privileged);
	assert_non_null(t->c);
	t->peer = fds[1];
	t->next_req = 1;
	tconns[ntconns++] = t;
	return t;
}

void tc_feed(struct tconn *t, const void *data, size_t len)
{
	assert_true(len <= conn_in_room(t->c));
	memcpy(t->c->in + t->c->in_len, data, len);
	t->c->in_len += (uint32_t)len;
	conn_process_input(t->c);
	conn_flush_dirty();
}

void tc_send(struct tconn *t, uint32_t type, uint32_t req_id, uint32_t tx_id,
	     const void *payload, uint32_t len)
{
	struct xsd_sockmsg hdr = {
		.type = type, .req_id = req_id, .tx_id = tx_id, .len = len,
	};
	char *msg = malloc(sizeof(hdr) + len);

	assert_non_null(msg);
	memcpy(msg, &hdr, sizeof(hdr));
	if (len)
		memcpy(msg + sizeof(hdr), payload, len);
	tc_feed(t, msg, sizeof(hdr) + len);
	free(msg);
}

static bool read_full(int fd, void *p, size_t len, bool may_be_empty)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = recv(fd, (char *)p + got, len - got, MSG_DONTWAIT);

		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (got == 0 && may_be_empty)
				return false;
			fail_msg("reply cut short: %zu of %zu bytes", got, len);
		}
		if (n <= 0)
			fail_msg("reading the reply: %s",
				 n ? strerror(errno) : "EOF");
		got += (size_t)n;
	}
	return true;
}

bool tc_recv(struct tconn *t, struct tmsg *m)
{
	memset(&m->hdr, 0, sizeof(m->hdr));
	if (!read_full(t->peer, &m->hdr, sizeof(m->hdr), true))
		return false;
	assert_true(m->hdr.len <= XENSTORE_PAYLOAD_MAX);
	if (m->hdr.len)
		read_full(t->peer, m->body, m->hdr.len, false);
	m->body[m->hdr.len] = '\0';
	return true;
}

int tc_drain(struct tconn *t)
{
	struct tmsg m;
	int n = 0;

	while (tc_recv(t, &m))
		n++;
	return n;
}

int unit_errno_of(const char *name)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(xsd_errors); i++)
		if (!strcmp(xsd_errors[i].errstring, name))
			return xsd_errors[i].errnum;
	return 0;
}

int tc_call(struct tconn *t, uint32_t type, uint32_t tx_id,
	    const void *payload, uint32_t len, struct tmsg *reply)
{
	uint32_t req = t->next_req++;
	struct tmsg local, *m = reply ? reply : &local;

	tc_send(t, type, req, tx_id, payload, len);
	for (;;) {
		if (!tc_recv(t, m))
			fail_msg("no reply to request type %u", type);
		if (m->hdr.type != XS_WATCH_EVENT)
			break;
	}
	assert_int_equal(m->hdr.req_id, req);
	if (m->hdr.type == XS_ERROR) {
		int e = unit_errno_of(m->body);

		if (!e)
			fail_msg("unknown error reply '%s'", m->body);
		return -e;
	}
	assert_int_equal(m->hdr.type, type);
	return 0;
}

/* Builds "a\0b\0..." from NULL-terminated strings; the last is followed by
 * a NUL unless raw_last. */
static uint32_t build(char *out, size_t outsz, bool raw_last, ...)
{
	va_list ap;
	const char *s, *next;
	size_t len = 0;

	va_start(ap, raw_last);
	s = va_arg(ap, const char *);
	while (s) {
		size_t sl = strlen(s);

		next = va_arg(ap, const char *);
		assert_true(len + sl + 1 <= outsz);
		memcpy(out + len, s, sl);
		len += sl;
		if (next || !raw_last)
			out[len++] = '\0';
		s = next;
	}
	va_end(ap);
	return (uint32_t)len;
}

int tc_write(struct tconn *t, uint32_t tx_id, const char *path,
	     const char *value)
{
	char p[XENSTORE_PAYLOAD_MAX + 1];
	uint32_t len = build(p, sizeof(p), true, path, value, (char *)NULL);

	return tc_call(t, XS_WRITE, tx_id, p, len, NULL);
}

int tc_read(struct tconn *t, uint32_t tx_id, const char *path, char *out,
	    size_t outsz)
{
	struct tmsg m;
	int rc = tc_call(t, XS_READ, tx_id, path, (uint32_t)strlen(path) + 1,
			 &m);

	if (!rc && out) {
		assert_true(m.hdr.len < outsz);
		memcpy(out, m.body, m.hdr.len + 1);
	}
	return rc;
}

int tc_rm(struct tconn *t, uint32_t tx_id, const char *path)
{
	return tc_call(t, XS_RM, tx_id, path, (uint32_t)strlen(path) + 1, NULL);
}

int tc_watch(struct tconn *t, const char *path, const char *token)
{
	char p[XENSTORE_PAYLOAD_MAX + 1];
	uint32_t len = build(p, sizeof(p), false, path, token, (char *)NULL);

	return tc_call(t, XS_WATCH, 0, p, len, NULL);
}

int tc_txn_start(struct tconn *t, uint32_t *tx_id)
{
	struct tmsg m;
	int rc = tc_call(t, XS_TRANSACTION_START, 0, "", 1, &m);

	if (!rc)
		*tx_id = (uint32_t)strtoul(m.body, NULL, 10);
	return rc;
}

int tc_txn_end(struct tconn *t, uint32_t tx_id, bool commit)
{
	return tc_call(t, XS_TRANSACTION_END, tx_id, commit ? "T" : "F", 2,
		       NULL);
}

int tc_set_perms(struct tconn *t, uint32_t tx_id, const char *path,
		 const char *perms, size_t perms_len)
{
	char p[XENSTORE_PAYLOAD_MAX + 1];
	size_t pl = strlen(path) + 1;

	assert_true(pl + perms_len <= sizeof(p));
	memcpy(p, path, pl);
	memcpy(p + pl, perms, perms_len);
	return tc_call(t, XS_SET_PERMS, tx_id, p, (uint32_t)(pl + perms_len),
		       NULL);
}

int tc_events(struct tconn *t, char *out, size_t outsz)
{
	struct tmsg m;
	size_t len = 0;
	int n = 0;

	out[0] = '\0';
	while (tc_recv(t, &m)) {
		const char *path = m.body, *token;
		int w;

		if (m.hdr.type != XS_WATCH_EVENT)
			fail_msg("expected a watch event, got type %u",
				 m.hdr.type);
		assert_int_equal(m.hdr.req_id, 0);
		assert_int_equal(m.hdr.tx_id, 0);
		token = path + strlen(path) + 1;
		assert_true((size_t)(token - m.body) < m.hdr.len);
		/* path\0token\0 exactly */
		assert_int_equal(m.hdr.len,
				 (token - m.body) + strlen(token) + 1);
		w = snprintf(out + len, outsz - len, "%s%s|%s", n ? ";" : "",
			     path, token);
		assert_true(w > 0 && (size_t)w < outsz - len);
		len += (size_t)w;
		n++;
	}
	return n;
}

struct node *mknode(const char *path, const char *value, uint32_t owner,
		    uint32_t other_mode)
{
	struct perm p = { .domid = owner, .mode = other_mode };
	struct perms ps = { .p = &p, .n = 1 };
	char *parent_path = malloc(strlen(path) + 1);
	struct node *parent, *n = NULL;

	assert_non_null(parent_path);
	assert_true(path_parent(path, parent_path));
	parent = store_lookup(parent_path);
	free(parent_path);
	assert_non_null(parent);
	assert_int_equal(store_create(parent, path_basename(path), value,
				      (uint32_t)strlen(value), &ps, &n), 0);
	return n;
}

void unit_assert_tree_ok(void)
{
	struct buf out;
	int rc;

	buf_init(&out);
	rc = store_check(&out);
	if (rc)
		fail_msg("store_check: %.*s", (int)out.len, out.p);
	buf_fini(&out);
}
