/*
 * A raw xenstore client for the host tests: xsd_sockmsg frames over the
 * unix socket, without libxenstore, so that tests can send what no library
 * would.  See rawxs.h.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "core.h"		/* xs_msg_name(): the daemon's own list */
#include "rawxs.h"

unsigned int n_pass, n_fail;
const char *sock_path;
uint32_t next_req = 0x10000;


/* ------------------------------------------------------------------ */
/* Reporting                                                          */

static void vreport(bool good, const char *name, const char *fmt, va_list ap)
{
	if (good) {
		printf("ok - %s\n", name);
		n_pass++;
	} else {
		printf("not ok - %s: ", name);
		vprintf(fmt, ap);
		printf("\n");
		n_fail++;
	}
	fflush(stdout);
}

bool check_result(bool cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(cond, name, fmt, ap);
	va_end(ap);
	return cond;
}


long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A printable rendering of a payload for diagnostics. */
const char *show(const char *p, size_t len)
{
	static char out[4][200];
	static int which;
	char *o = out[which++ & 3];
	size_t i, j = 0;

	for (i = 0; i < len && j < sizeof(out[0]) - 6; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == 0) {
			o[j++] = '\\';
			o[j++] = '0';
		} else if (c < 0x20 || c >= 0x7f) {
			j += (size_t)snprintf(o + j, 5, "\\x%02x", c);
		} else {
			o[j++] = (char)c;
		}
	}
	if (i < len) {
		o[j++] = '.';
		o[j++] = '.';
	}
	o[j] = 0;
	return o;
}

const char *type_name(uint32_t t)
{
	const char *name = xs_msg_name(t);

	return name ? name : "type?";
}

/* ------------------------------------------------------------------ */
/* Raw socket I/O                                                     */

int sock_open(void)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -1;
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock_path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		fprintf(stderr, "# connect %s: %s\n", sock_path,
			strerror(errno));
		close(fd);
		return -1;
	}
	return fd;
}

bool send_raw(int fd, const void *p, size_t len)
{
	const char *c = p;

	while (len) {
		ssize_t n = send(fd, c, len, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		c += n;
		len -= (size_t)n;
	}
	return true;
}

bool send_msg(int fd, uint32_t type, uint32_t req, uint32_t tx,
		     const void *body, size_t len)
{
	struct xsd_sockmsg h = {
		.type = type, .req_id = req, .tx_id = tx, .len = (uint32_t)len,
	};
	char buf[sizeof(h) + XENSTORE_PAYLOAD_MAX + 16];

	if (len > XENSTORE_PAYLOAD_MAX + 16)
		return false;
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), body, len);
	return send_raw(fd, buf, sizeof(h) + len);
}

/* Reads exactly len bytes by the deadline.  1 done, 0 EOF, -1 timeout,
 * -2 error. */
int read_exact(int fd, void *p, size_t len, long deadline)
{
	char *c = p;

	while (len) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return -1;
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		n = recv(fd, c, len, 0);
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return errno == ECONNRESET ? 0 : -2;
		}
		c += n;
		len -= (size_t)n;
	}
	return 1;
}

/* Next message from the daemon.  1 got one, 0 EOF, -1 timeout, -2 bad. */
int recv_msg(int fd, struct msg *m, int ms)
{
	long deadline = now_ms() + ms;
	int r = read_exact(fd, &m->h, sizeof(m->h), deadline);

	if (r != 1)
		return r;
	if (m->h.len > XENSTORE_PAYLOAD_MAX) {
		fprintf(stderr, "# daemon sent a payload of %u bytes\n",
			m->h.len);
		return -2;
	}
	r = read_exact(fd, m->body, m->h.len, deadline);
	if (r != 1)
		return r;
	m->body[m->h.len] = 0;
	return 1;
}

/* Next reply that is not a watch event. */
int recv_reply(int fd, struct msg *m, int ms)
{
	long deadline = now_ms() + ms;

	for (;;) {
		long left = deadline - now_ms();
		int r = recv_msg(fd, m, left > 0 ? (int)left : 0);

		if (r != 1 || m->h.type != XS_WATCH_EVENT)
			return r;
	}
}

const char *rstr(int r)
{
	return r == 0 ? "connection closed" : r == -1 ? "no reply (timeout)" :
	       "read error / oversized reply";
}

/* Sends one request and waits for its reply. */
int roundtrip(int fd, uint32_t type, uint32_t tx, const void *body,
		     size_t len, struct msg *m, uint32_t *req_out)
{
	uint32_t req = next_req++;

	if (req_out)
		*req_out = req;
	if (!send_msg(fd, type, req, tx, body, len))
		return -2;
	return recv_reply(fd, m, REPLY_MS);
}

/* Builds "s1\0s2\0..." and returns its length. */
size_t strs(char *buf, size_t cap, ...)
{
	va_list ap;
	const char *s;
	size_t used = 0;

	va_start(ap, cap);
	while ((s = va_arg(ap, const char *)) != NULL) {
		size_t n = strlen(s) + 1;

		if (used + n > cap)
			break;
		memcpy(buf + used, s, n);
		used += n;
	}
	va_end(ap);
	return used;
}

/* Expects an ERROR reply with exactly "<err>\0", echoing req_id and tx_id.
 * Fills why on a mismatch. */
bool expect_error(int fd, uint32_t type, uint32_t tx, const void *body,
			 size_t len, const char *err, char *why, size_t wl)
{
	struct msg m;
	uint32_t req;
	int r = roundtrip(fd, type, tx, body, len, &m, &req);

	if (r != 1) {
		snprintf(why, wl, "%s %s: %s", type_name(type),
			 show(body, len > 60 ? 60 : len), rstr(r));
		return false;
	}
	if (m.h.type != XS_ERROR || m.h.req_id != req || m.h.tx_id != tx ||
	    m.h.len != strlen(err) + 1 || strcmp(m.body, err) != 0) {
		snprintf(why, wl,
			 "%s %s (req %#x tx %u): wanted ERROR \"%s\\0\", got "
			 "%s \"%s\" (req %#x tx %u len %u)", type_name(type),
			 show(body, len > 60 ? 60 : len), req, tx, err,
			 type_name(m.h.type), show(m.body, m.h.len), m.h.req_id,
			 m.h.tx_id, m.h.len);
		return false;
	}
	return true;
}

/* Expects a reply of the request's own type; fills m. */
bool expect_reply(int fd, uint32_t type, uint32_t tx, const void *body,
			 size_t len, struct msg *m, char *why, size_t wl)
{
	uint32_t req;
	int r = roundtrip(fd, type, tx, body, len, m, &req);

	if (r != 1) {
		snprintf(why, wl, "%s %s: %s", type_name(type),
			 show(body, len > 60 ? 60 : len), rstr(r));
		return false;
	}
	if (m->h.type != type || m->h.req_id != req || m->h.tx_id != tx) {
		snprintf(why, wl,
			 "%s %s (req %#x tx %u): got %s \"%s\" (req %#x tx %u)",
			 type_name(type), show(body, len > 60 ? 60 : len), req,
			 tx, type_name(m->h.type), show(m->body, m->h.len),
			 m->h.req_id, m->h.tx_id);
		return false;
	}
	return true;
}

bool expect_ok(int fd, uint32_t type, uint32_t tx, const void *body,
		      size_t len, char *why, size_t wl)
{
	struct msg m;

	if (!expect_reply(fd, type, tx, body, len, &m, why, wl))
		return false;
	if (m.h.len != 3 || memcmp(m.body, "OK", 3) != 0) {
		snprintf(why, wl, "%s: wanted \"OK\\0\", got \"%s\"",
			 type_name(type), show(m.body, m.h.len));
		return false;
	}
	return true;
}

/* WRITE path value (value without NUL). */
size_t write_body(char *buf, size_t cap, const char *path,
			 const char *val)
{
	size_t pl = strlen(path) + 1, vl = strlen(val);

	if (pl + vl > cap)
		return 0;
	memcpy(buf, path, pl);
	memcpy(buf + pl, val, vl);
	return pl + vl;
}

/* A connection restricted to domid via Enso's CONTROL "restrict". */
int sock_restricted(unsigned int domid)
{
	char body[64], arg[16], why[400];
	int fd = sock_open();
	size_t len;

	if (fd < 0)
		return -1;
	snprintf(arg, sizeof(arg), "%u", domid);
	len = strs(body, sizeof(body), "restrict", arg, (char *)NULL);
	if (!expect_ok(fd, XS_CONTROL, 0, body, len, why, sizeof(why))) {
		fprintf(stderr, "# restrict %u: %s\n", domid, why);
		close(fd);
		return -1;
	}
	return fd;
}


bool wait_eof(int fd, int ms)
{
	long deadline = now_ms() + ms;
	char buf[256];

	for (;;) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		long left = deadline - now_ms();
		ssize_t n;

		if (left <= 0)
			return false;
		if (poll(&pf, 1, (int)left) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), 0);
		if (n == 0 || (n < 0 && errno == ECONNRESET))
			return true;
		if (n < 0 && errno != EINTR && errno != EAGAIN)
			return true;
	}
}

/* Starts a transaction: its id, or 0. */
uint32_t txn_start(int fd)
{
	struct msg m;
	int r = roundtrip(fd, XS_TRANSACTION_START, 0, "", 1, &m, NULL);

	if (r != 1 || m.h.type != XS_TRANSACTION_START)
		return 0;
	return (uint32_t)strtoul(m.body, NULL, 10);
}

/* Ends a transaction: "OK", or the error's name, or why not answered. */
const char *txn_end(int fd, uint32_t tx, bool commit)
{
	static char res[64];
	struct msg m;
	int r = roundtrip(fd, XS_TRANSACTION_END, tx, commit ? "T" : "F", 2,
			  &m, NULL);

	if (r != 1)
		return rstr(r);
	snprintf(res, sizeof(res), "%.60s", m.h.type == XS_ERROR ? m.body : "OK");
	return res;
}
