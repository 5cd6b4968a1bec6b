/*
 * Hostile-client test of Enso's xenstored over its unix socket, without
 * libxenstore: raw xsd_sockmsg headers, malformed payloads, floods, and
 * clients that stall.  After every abuse a separate, well-behaved connection
 * must still read the canary node with its original value.
 *
 * The socket path comes from XENSTORED_PATH.  Every check prints one line:
 * "ok - NAME" or "not ok - NAME: WHY".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <xen/io/xs_wire.h>

#include "rawxs.h"

#define CANARY_PATH "/hostile/canary"
#define CANARY_VALUE "canary-value-0123456789"

/* ------------------------------------------------------------------ */
/* Canary                                                             */

static void canary(const char *after)
{
	char name[200], why[600] = "", body[64];
	struct msg m;
	size_t len;
	int fd = sock_open();
	bool good = false;

	snprintf(name, sizeof(name), "hostile: canary intact after %s", after);
	if (fd < 0) {
		check(false, name, "cannot connect (daemon dead?)");
		return;
	}
	len = strs(body, sizeof(body), CANARY_PATH, (char *)NULL);
	if (expect_reply(fd, XS_READ, 0, body, len, &m, why, sizeof(why))) {
		good = m.h.len == strlen(CANARY_VALUE) &&
		       memcmp(m.body, CANARY_VALUE, m.h.len) == 0;
		if (!good)
			snprintf(why, sizeof(why), "read \"%s\"",
				 show(m.body, m.h.len));
	}
	check(good, name, "%s", why);
	close(fd);
}

/* ------------------------------------------------------------------ */
/* Protocol conformance on good requests                              */

static void test_headers(int fd)
{
	char why[600] = "", body[256];
	struct msg m;
	size_t len;
	uint32_t tx = 0;

	len = strs(body, sizeof(body), CANARY_PATH, (char *)NULL);
	check(expect_reply(fd, XS_READ, 0, body, len, &m, why, sizeof(why)),
	      "proto: READ reply echoes type, req_id and tx_id 0", "%s", why);

	why[0] = 0;
	len = strs(body, sizeof(body), "", (char *)NULL);
	if (expect_reply(fd, XS_TRANSACTION_START, 0, body, len, &m, why,
			 sizeof(why))) {
		char *end;
		unsigned long v = strtoul(m.body, &end, 10);

		check(m.h.len >= 2 && *end == 0 && end == m.body + m.h.len - 1
		      && v != 0,
		      "proto: TRANSACTION_START replies a decimal id with NUL",
		      "got \"%s\"", show(m.body, m.h.len));
		tx = (uint32_t)v;
	} else {
		check(false, "proto: TRANSACTION_START replies a decimal id "
		      "with NUL", "%s", why);
	}
	if (tx) {
		why[0] = 0;
		len = strs(body, sizeof(body), CANARY_PATH, (char *)NULL);
		check(expect_reply(fd, XS_READ, tx, body, len, &m, why,
				   sizeof(why)),
		      "proto: READ in a transaction echoes its tx_id", "%s",
		      why);
		len = strs(body, sizeof(body), "/hostile/nope", (char *)NULL);
		check(expect_error(fd, XS_READ, tx, body, len, "ENOENT", why,
				   sizeof(why)),
		      "proto: ERROR reply in a transaction echoes req_id and "
		      "tx_id", "%s", why);
		len = strs(body, sizeof(body), "", (char *)NULL);
		check(expect_error(fd, XS_TRANSACTION_START, tx, body, len,
				   "EBUSY", why, sizeof(why)),
		      "proto: TRANSACTION_START inside a transaction fails "
		      "EBUSY", "%s", why);
		len = strs(body, sizeof(body), "X", (char *)NULL);
		check(expect_error(fd, XS_TRANSACTION_END, tx, body, len,
				   "EINVAL", why, sizeof(why)),
		      "proto: TRANSACTION_END with neither T nor F fails "
		      "EINVAL", "%s", why);
		len = strs(body, sizeof(body), "F", (char *)NULL);
		check(expect_ok(fd, XS_TRANSACTION_END, tx, body, len, why,
				sizeof(why)),
		      "proto: TRANSACTION_END F replies OK", "%s", why);
	}
	len = strs(body, sizeof(body), "", (char *)NULL);
	check(expect_error(fd, XS_TRANSACTION_START, 0x5eed, body, len,
			   "ENOENT", why, sizeof(why)),
	      "proto: TRANSACTION_START with an unknown non-zero tx_id fails "
	      "ENOENT", "%s", why);
	len = strs(body, sizeof(body), CANARY_PATH, (char *)NULL);
	check(expect_error(fd, XS_READ, 0x7777, body, len, "ENOENT", why,
			   sizeof(why)),
	      "proto: READ with an unknown tx_id fails ENOENT", "%s", why);
	len = strs(body, sizeof(body), "T", (char *)NULL);
	check(expect_error(fd, XS_TRANSACTION_END, 0, body, len, "EINVAL",
			   why, sizeof(why)) ||
	      expect_error(fd, XS_TRANSACTION_END, 0, body, len, "ENOENT",
			   why, sizeof(why)),
	      "proto: TRANSACTION_END outside a transaction fails", "%s", why);

	why[0] = 0;
	len = strs(body, sizeof(body), "7", (char *)NULL);
	check(expect_reply(fd, XS_GET_DOMAIN_PATH, 0, body, len, &m, why,
			   sizeof(why)) &&
	      m.h.len == sizeof("/local/domain/7") &&
	      memcmp(m.body, "/local/domain/7", m.h.len) == 0,
	      "proto: GET_DOMAIN_PATH 7 replies \"/local/domain/7\\0\"", "%s%s",
	      why, why[0] ? "" : show(m.body, m.h.len));
	why[0] = 0;
	check(expect_reply(fd, XS_IS_DOMAIN_INTRODUCED, 0, body, len, &m, why,
			   sizeof(why)) &&
	      m.h.len == 2 && memcmp(m.body, "F", 2) == 0,
	      "proto: IS_DOMAIN_INTRODUCED 7 replies \"F\\0\"", "%s%s", why,
	      why[0] ? "" : show(m.body, m.h.len));

	why[0] = 0;
	len = strs(body, sizeof(body), CANARY_PATH, (char *)NULL);
	check(expect_reply(fd, XS_GET_PERMS, 0, body, len, &m, why,
			   sizeof(why)) &&
	      m.h.len == 3 && memcmp(m.body, "n0", 3) == 0,
	      "proto: GET_PERMS of a dom0 node replies \"n0\\0\"", "%s%s", why,
	      why[0] ? "" : show(m.body, m.h.len));

	/* a watch: the reply OK and the initial event, both well formed */
	{
		struct msg ev;
		uint32_t req = next_req++;
		bool got_ok = false, got_ev = false;
		int i, r;

		len = strs(body, sizeof(body), "/hostile/wt", "tk", (char *)NULL);
		send_msg(fd, XS_WATCH, req, 0, body, len);
		for (i = 0; i < 2; i++) {
			r = recv_msg(fd, &ev, REPLY_MS);
			if (r != 1)
				break;
			if (ev.h.type == XS_WATCH && ev.h.req_id == req &&
			    ev.h.len == 3 && memcmp(ev.body, "OK", 3) == 0)
				got_ok = true;
			else if (ev.h.type == XS_WATCH_EVENT &&
				 ev.h.req_id == 0 && ev.h.tx_id == 0 &&
				 ev.h.len == sizeof("/hostile/wt\0tk") &&
				 memcmp(ev.body, "/hostile/wt\0tk",
					ev.h.len) == 0)
				got_ev = true;
			else
				fprintf(stderr, "# watch: got %s \"%s\"\n",
					type_name(ev.h.type),
					show(ev.body, ev.h.len));
		}
		check(got_ok, "proto: WATCH replies OK with the req_id", "%s",
		      "no such reply");
		check(got_ev, "proto: WATCH_EVENT is \"wpath\\0token\\0\" with "
		      "req_id 0 and tx_id 0", "%s", "no such event");
		check(expect_ok(fd, XS_UNWATCH, 0, body, len, why, sizeof(why)),
		      "proto: UNWATCH replies OK", "%s", why);
	}

	/* DIRECTORY over 4 KiB: E2BIG, then DIRECTORY_PART in pieces */
	{
		enum { N = 300 };
		char wb[128], path[96];
		int i;
		bool setup = true;

		for (i = 0; i < N && setup; i++) {
			snprintf(path, sizeof(path),
				 "/hostile/bigdir/entry-name-%09d", i);
			len = write_body(wb, sizeof(wb), path, "");
			setup = expect_ok(fd, XS_WRITE, 0, wb, len, why,
					  sizeof(why));
		}
		len = strs(body, sizeof(body), "/hostile/bigdir", (char *)NULL);
		check(setup && expect_error(fd, XS_DIRECTORY, 0, body, len,
					    "E2BIG", why, sizeof(why)),
		      "proto: DIRECTORY over 4096 bytes fails E2BIG", "%s",
		      why);
		{
			unsigned int off = 0, names = 0, rounds = 0;
			char gen[32] = "";
			bool good = setup, done = false;

			while (good && !done && rounds++ < 40) {
				char ob[16], pb[128];
				size_t plen, glen;
				const char *p, *end;

				snprintf(ob, sizeof(ob), "%u", off);
				plen = strs(pb, sizeof(pb), "/hostile/bigdir", ob,
					    (char *)NULL);
				if (!expect_reply(fd, XS_DIRECTORY_PART, 0, pb,
						  plen, &m, why, sizeof(why))) {
					good = false;
					break;
				}
				glen = strnlen(m.body, m.h.len);
				if (glen == 0 || glen >= m.h.len ||
				    glen >= sizeof(gen)) {
					snprintf(why, sizeof(why),
						 "bad gencnt in \"%s\"",
						 show(m.body, m.h.len));
					good = false;
					break;
				}
				if (gen[0] && strcmp(gen, m.body) != 0) {
					snprintf(why, sizeof(why),
						 "gencnt changed %s -> %.30s", gen,
						 m.body);
					good = false;
					break;
				}
				memcpy(gen, m.body, glen + 1);
				p = m.body + glen + 1;
				end = m.body + m.h.len;
				if (p == end) {
					snprintf(why, sizeof(why),
						 "empty part at offset %u", off);
					good = false;
					break;
				}
				while (p < end) {
					size_t nl = strnlen(p, (size_t)(end - p));

					if (nl == 0) {
						done = true;
						break;
					}
					names++;
					off += (unsigned int)nl + 1;
					p += nl + 1;
				}
			}
			check(good && done && names == N,
			      "proto: DIRECTORY_PART returns all 300 names in "
			      "parts with one gencnt", "%s (names %u, rounds %u)",
			      why, names, rounds);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Abuse                                                              */

static void test_unknown_types(void)
{
	static const uint32_t types[] = { 9999, XS_WATCH_EVENT, XS_ERROR,
					  XS_TYPE_COUNT, 0xffff, 20 };
	char why[600] = "", name[160], body[64];
	size_t i, len;
	int fd = sock_open();

	if (fd < 0) {
		check(false, "hostile: unknown types", "cannot connect");
		return;
	}
	len = strs(body, sizeof(body), CANARY_PATH, (char *)NULL);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		snprintf(name, sizeof(name),
			 "hostile: request type %u fails ENOSYS", types[i]);
		why[0] = 0;
		check(expect_error(fd, types[i], 0, body, len, "ENOSYS", why,
				   sizeof(why)),
		      name, "%s", why);
	}
	{
		struct msg m;

		why[0] = 0;
		check(expect_reply(fd, XS_READ, 0, body, len, &m, why,
				   sizeof(why)),
		      "hostile: connection still served after unknown types",
		      "%s", why);
	}
	close(fd);
	canary("unknown request types");
}

static void test_oversize(void)
{
	static const uint32_t lens[] = { XENSTORE_PAYLOAD_MAX + 1, 65536,
					 0xffffffffu };
	size_t i;

	for (i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct xsd_sockmsg h = {
			.type = XS_WRITE, .req_id = next_req++, .len = lens[i],
		};
		char name[160], pad[512];
		int fd = sock_open();
		bool dropped;

		memset(pad, 'A', sizeof(pad));
		snprintf(name, sizeof(name),
			 "hostile: header len %u drops the connection", lens[i]);
		if (fd < 0) {
			check(false, name, "cannot connect");
			continue;
		}
		send_raw(fd, &h, sizeof(h));
		send_raw(fd, pad, sizeof(pad));
		dropped = wait_eof(fd, REPLY_MS);
		check(dropped, name, "no EOF within %d ms", REPLY_MS);
		close(fd);
	}
	{
		/* exactly the maximum is legal */
		char big[XENSTORE_PAYLOAD_MAX], why[600] = "";
		const char *path = "/hostile/max-payload";
		size_t pl = strlen(path) + 1;
		int fd = sock_open();

		memcpy(big, path, pl);
		memset(big + pl, 'm', sizeof(big) - pl);
		check(fd >= 0 && expect_ok(fd, XS_WRITE, 0, big, sizeof(big),
					   why, sizeof(why)),
		      "hostile: a 4096-byte payload (the maximum) is accepted",
		      "%s", why);
		if (fd >= 0)
			close(fd);
	}
	canary("oversized headers");
}

static void test_bad_strings(void)
{
	char why[600] = "", body[64];
	size_t len;
	int fd = sock_open();

	if (fd < 0) {
		check(false, "hostile: unterminated strings", "cannot connect");
		return;
	}
	/* no NUL at all */
	check(expect_error(fd, XS_READ, 0, CANARY_PATH, strlen(CANARY_PATH),
			   "EINVAL", why, sizeof(why)),
	      "hostile: READ with an unterminated path fails EINVAL", "%s", why);
	check(expect_error(fd, XS_WRITE, 0, "/hostile/x", 10, "EINVAL", why,
			   sizeof(why)),
	      "hostile: WRITE without a NUL after the path fails EINVAL", "%s",
	      why);
	check(expect_error(fd, XS_MKDIR, 0, "/hostile/x", 10, "EINVAL", why,
			   sizeof(why)),
	      "hostile: MKDIR with an unterminated path fails EINVAL", "%s",
	      why);
	check(expect_error(fd, XS_READ, 0, "", 0, "EINVAL", why, sizeof(why)),
	      "hostile: READ with an empty payload fails EINVAL", "%s", why);
	check(expect_error(fd, XS_READ, 0, "", 1, "EINVAL", why, sizeof(why)),
	      "hostile: READ of the empty path fails EINVAL", "%s", why);
	/* a second string after the path, where one is expected */
	len = strs(body, sizeof(body), CANARY_PATH, "extra", (char *)NULL);
	check(expect_error(fd, XS_READ, 0, body, len, "EINVAL", why,
			   sizeof(why)),
	      "hostile: READ with a trailing extra string fails EINVAL", "%s",
	      why);
	len = strs(body, sizeof(body), "/hostile/wt", (char *)NULL);
	check(expect_error(fd, XS_WATCH, 0, body, len, "EINVAL", why,
			   sizeof(why)),
	      "hostile: WATCH without a token fails EINVAL", "%s", why);
	len = strs(body, sizeof(body), CANARY_PATH, "x0", (char *)NULL);
	check(expect_error(fd, XS_SET_PERMS, 0, body, len, "EINVAL", why,
			   sizeof(why)),
	      "hostile: SET_PERMS with a bad permission letter fails EINVAL",
	      "%s", why);
	len = strs(body, sizeof(body), CANARY_PATH, (char *)NULL);
	check(expect_error(fd, XS_SET_PERMS, 0, body, len, "EINVAL", why,
			   sizeof(why)),
	      "hostile: SET_PERMS without permissions fails EINVAL", "%s", why);
	{
		struct msg m;

		check(expect_reply(fd, XS_READ, 0, CANARY_PATH,
				   sizeof(CANARY_PATH), &m, why, sizeof(why)),
		      "hostile: connection still served after bad strings",
		      "%s", why);
	}
	close(fd);
	canary("unterminated and malformed strings");
}

static void test_bad_paths(void)
{
	static const uint32_t ops[] = { XS_READ, XS_WRITE, XS_MKDIR, XS_RM,
					XS_DIRECTORY, XS_GET_PERMS,
					XS_SET_PERMS, XS_WATCH };
	static char longp[3200];
	struct {
		const char *what;
		const char *path;
	} bad[] = {
		{ "a space", "/hostile/a b" },
		{ "a '*'", "/hostile/a*" },
		{ "a '.'", "/hostile/a.b" },
		{ "a non-ASCII byte", "/hostile/caf\xc3\xa9" },
		{ "a control character", "/hostile/a\tb" },
		{ "a double slash", "/hostile//a" },
		{ "a trailing slash", "/hostile/a/" },
		{ "a leading double slash", "//hostile" },
		{ "over 3072 bytes", longp },
	};
	size_t i, j;
	int fd = sock_open();

	if (fd < 0) {
		check(false, "hostile: invalid paths", "cannot connect");
		return;
	}
	memcpy(longp, "/hostile/", 9);
	memset(longp + 9, 'L', 3100 - 9);
	longp[3100] = 0;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char name[200], why[600] = "";
		bool good = true;

		snprintf(name, sizeof(name),
			 "hostile: path with %s fails EINVAL for every request "
			 "type", bad[i].what);
		for (j = 0; j < sizeof(ops) / sizeof(ops[0]) && good; j++) {
			char body[3300];
			size_t pl = strlen(bad[i].path) + 1, len = pl;

			memcpy(body, bad[i].path, pl);
			if (ops[j] == XS_WRITE) {
				memcpy(body + pl, "v", 1);
				len++;
			} else if (ops[j] == XS_SET_PERMS) {
				memcpy(body + pl, "n0", 3);
				len += 3;
			} else if (ops[j] == XS_WATCH) {
				memcpy(body + pl, "t", 2);
				len += 2;
			}
			good = expect_error(fd, ops[j], 0, body, len, "EINVAL",
					    why, sizeof(why));
		}
		check(good, name, "%s", why);
	}
	{
		char why[600] = "", wb[64];
		size_t len = write_body(wb, sizeof(wb), "/hostile/ok-_@9Z", "v");

		check(expect_ok(fd, XS_WRITE, 0, wb, len, why, sizeof(why)),
		      "hostile: a path with - _ @ and digits is accepted", "%s",
		      why);
	}
	close(fd);
	canary("invalid paths");
}

static void test_truncated(void)
{
	struct xsd_sockmsg h = {
		.type = XS_WRITE, .req_id = next_req++, .len = 100,
	};
	int fd;

	fd = sock_open();
	if (fd >= 0) {
		send_raw(fd, &h, 8);    /* half a header */
		close(fd);
	}
	canary("a truncated header and close");

	fd = sock_open();
	if (fd >= 0) {
		send_raw(fd, &h, sizeof(h));
		send_raw(fd, "/hostile/trunc\0abc", 18);        /* of 100 */
		close(fd);
	}
	canary("a truncated payload and close");

	/* one byte at a time, others served in between */
	{
		char body[64], buf[sizeof(struct xsd_sockmsg) + 64];
		struct xsd_sockmsg rh = { .type = XS_READ, .req_id = 0xb17e };
		size_t len = strs(body, sizeof(body), CANARY_PATH, (char *)NULL);
		size_t i;
		struct msg m;
		int r;

		rh.len = (uint32_t)len;
		memcpy(buf, &rh, sizeof(rh));
		memcpy(buf + sizeof(rh), body, len);
		fd = sock_open();
		if (fd < 0) {
			check(false, "hostile: byte-by-byte request",
			      "cannot connect");
			return;
		}
		for (i = 0; i < sizeof(rh) + len; i++) {
			send_raw(fd, buf + i, 1);
			if (i == 3 || i == 17)
				canary("a partial request (still open)");
			else
				(void)poll(NULL, 0, 5);
		}
		r = recv_reply(fd, &m, REPLY_MS);
		check(r == 1 && m.h.type == XS_READ && m.h.req_id == 0xb17e &&
		      strcmp(m.body, CANARY_VALUE) == 0,
		      "hostile: a request sent byte by byte is answered",
		      "%s", r == 1 ? show(m.body, m.h.len) : rstr(r));
		close(fd);
	}
}

static void test_deep_path(void)
{
	char path[2100], why[600] = "", body[2200];
	size_t i, len;
	int fd = sock_open();
	struct msg m;
	bool wrote;

	if (fd < 0) {
		check(false, "hostile: deep path", "cannot connect");
		return;
	}
	strcpy(path, "/hostile/deep");
	len = strlen(path);
	for (i = 0; i < 1000; i++) {    /* 1000 components, 2013 bytes */
		path[len++] = '/';
		path[len++] = 'a';
	}
	path[len] = 0;
	len = write_body(body, sizeof(body), path, "bottom");
	wrote = expect_ok(fd, XS_WRITE, 0, body, len, why, sizeof(why));
	if (!wrote) {
		/* a refusal is allowed, but it must be an ERROR reply */
		check(strstr(why, "got ERROR") != NULL,
		      "hostile: WRITE of a 1000-component path is answered",
		      "%s", why);
	} else {
		check(true, "hostile: WRITE of a 1000-component path is "
		      "answered", "%s", "");
		len = strs(body, sizeof(body), path, (char *)NULL);
		check(expect_reply(fd, XS_READ, 0, body, len, &m, why,
				   sizeof(why)) &&
		      strcmp(m.body, "bottom") == 0,
		      "hostile: the 1000-component node reads back", "%s", why);
	}
	canary("a 1000-component WRITE");
	len = strs(body, sizeof(body), "/hostile/deep", (char *)NULL);
	check(expect_ok(fd, XS_RM, 0, body, len, why, sizeof(why)),
	      "hostile: RM of the deep tree replies OK", "%s", why);
	close(fd);
	canary("RM of a 1000-deep tree");
}

static void test_floods(void)
{
	char why[600] = "", body[128], path[64];
	unsigned int i, okw = 0, okt = 0, bad = 0;
	int fd = sock_restricted(21);
	struct msg m;

	if (fd < 0) {
		check(false, "hostile: watch flood", "restrict failed");
		return;
	}
	for (i = 0; i < 200; i++) {
		uint32_t req;
		size_t len;
		int r;

		snprintf(path, sizeof(path), "flood/w%u", i);
		len = strs(body, sizeof(body), path, "tok", (char *)NULL);
		r = roundtrip(fd, XS_WATCH, 0, body, len, &m, &req);
		if (r != 1) {
			snprintf(why, sizeof(why), "watch %u: %s", i, rstr(r));
			break;
		}
		if (m.h.type == XS_WATCH && strcmp(m.body, "OK") == 0)
			okw++;
		else if (!(m.h.type == XS_ERROR && strcmp(m.body, "E2BIG") == 0
			   && i >= 128))
			bad++;
	}
	check(okw == 128 && bad == 0 && !why[0],
	      "hostile: 200 watches from domain 21: 128 OK, the rest E2BIG",
	      "%u OK, %u other replies %s", okw, bad, why);

	why[0] = 0;
	bad = 0;
	for (i = 0; i < 100; i++) {
		uint32_t req;
		int r = roundtrip(fd, XS_TRANSACTION_START, 0, "", 1, &m, &req);

		if (r != 1) {
			snprintf(why, sizeof(why), "transaction %u: %s", i,
				 rstr(r));
			break;
		}
		if (m.h.type == XS_TRANSACTION_START)
			okt++;
		else if (!(m.h.type == XS_ERROR &&
			   strcmp(m.body, "ENOSPC") == 0 && i >= 10))
			bad++;
	}
	check(okt == 10 && bad == 0 && !why[0],
	      "hostile: 100 transactions from domain 21: 10 OK, the rest "
	      "ENOSPC", "%u OK, %u other replies %s", okt, bad, why);
	why[0] = 0;
	check(expect_reply(fd, XS_GET_DOMAIN_PATH, 0, "21", 3, &m, why,
			   sizeof(why)) &&
	      strcmp(m.body, "/local/domain/21") == 0,
	      "hostile: domain 21 still served after the floods", "%s", why);

	/* privileged requests from an unprivileged connection */
	{
		static const struct {
			uint32_t type;
			const char *body;
			size_t len;
		} priv[] = {
			{ XS_INTRODUCE, "21\0" "12345\0" "3", 11 },
			{ XS_RELEASE, "21", 3 },
			{ XS_SET_TARGET, "21\0" "0", 5 },
			{ XS_RESUME, "21", 3 },
			{ XS_CONTROL, "check", 6 },
			{ XS_CONTROL, "restrict\0" "0", 11 },
		};
		size_t k;

		for (k = 0; k < sizeof(priv) / sizeof(priv[0]); k++) {
			char name[160];

			snprintf(name, sizeof(name),
				 "hostile: %s %s from domain 21 fails EACCES",
				 type_name(priv[k].type),
				 show(priv[k].body, priv[k].len));
			why[0] = 0;
			check(expect_error(fd, priv[k].type, 0, priv[k].body,
					   priv[k].len, "EACCES", why,
					   sizeof(why)),
			      name, "%s", why);
		}
		check(expect_error(fd, XS_READ, 0, CANARY_PATH,
				   sizeof(CANARY_PATH), "EACCES", why,
				   sizeof(why)),
		      "hostile: domain 21 cannot read the n0 canary (EACCES)",
		      "%s", why);
	}
	close(fd);
	canary("watch and transaction floods");

	/* pipelined requests from a domain: throttled but all answered */
	fd = sock_restricted(22);
	if (fd >= 0) {
		enum { P = 100 };
		bool seen[P];
		unsigned int got = 0, wrong = 0;
		int r = 1;

		memset(seen, 0, sizeof(seen));
		for (i = 0; i < P; i++)
			send_msg(fd, XS_GET_DOMAIN_PATH, 0x40000 + i, 0, "22",
				 3);
		while (got < P) {
			r = recv_reply(fd, &m, REPLY_MS);
			if (r != 1)
				break;
			if (m.h.type == XS_GET_DOMAIN_PATH &&
			    m.h.req_id >= 0x40000 && m.h.req_id < 0x40000 + P &&
			    !seen[m.h.req_id - 0x40000] &&
			    strcmp(m.body, "/local/domain/22") == 0)
				seen[m.h.req_id - 0x40000] = true;
			else
				wrong++;
			got++;
		}
		check(got == P && wrong == 0,
		      "hostile: 100 pipelined requests from domain 22 are all "
		      "answered", "%u replies (%u wrong), then %s", got, wrong,
		      r == 1 ? "done" : rstr(r));
		close(fd);
	} else {
		check(false, "hostile: 100 pipelined requests from domain 22 "
		      "are all answered", "restrict failed");
	}
	canary("a pipelined burst");
}

/* A client that sends many requests and never reads the replies. */
static void test_slow_reader(void)
{
	char wb[4096];
	const char *path = "/hostile/fat";
	size_t pl = strlen(path) + 1, len;
	char why[600] = "";
	struct msg m;
	int fd = sock_open(), fd2 = sock_open();
	unsigned int sent = 0;
	long deadline;

	if (fd < 0 || fd2 < 0) {
		check(false, "hostile: slow reader", "cannot connect");
		return;
	}
	memcpy(wb, path, pl);
	memset(wb + pl, 'f', 4000);
	len = pl + 4000;
	if (!expect_ok(fd2, XS_WRITE, 0, wb, len, why, sizeof(why))) {
		check(false, "hostile: slow reader", "setup: %s", why);
		close(fd);
		close(fd2);
		return;
	}
	fcntl(fd, F_SETFL, O_NONBLOCK);
	deadline = now_ms() + 2000;
	/* up to 3000 READs of a 4000-byte value: 12 MB of replies unread */
	while (sent < 3000 && now_ms() < deadline) {
		struct xsd_sockmsg h = {
			.type = XS_READ, .req_id = sent, .len = (uint32_t)pl,
		};
		char buf[sizeof(h) + 32];
		ssize_t n;

		memcpy(buf, &h, sizeof(h));
		memcpy(buf + sizeof(h), path, pl);
		n = send(fd, buf, sizeof(h) + pl, MSG_NOSIGNAL);
		if (n == (ssize_t)(sizeof(h) + pl)) {
			sent++;
			continue;
		}
		if (n > 0) {
			/* finish this message blocking-free by spinning */
			size_t done = (size_t)n;

			while (done < sizeof(h) + pl && now_ms() < deadline) {
				n = send(fd, buf + done, sizeof(h) + pl - done,
					 MSG_NOSIGNAL);
				if (n > 0)
					done += (size_t)n;
				else
					(void)poll(NULL, 0, 5);
			}
			sent++;
			continue;
		}
		if (n < 0 && errno == EAGAIN) {
			(void)poll(NULL, 0, 20);
			continue;
		}
		break;
	}
	fprintf(stderr, "# slow reader: %u requests sent\n", sent);
	why[0] = 0;
	check(expect_reply(fd2, XS_READ, 0, CANARY_PATH, sizeof(CANARY_PATH),
			   &m, why, sizeof(why)) &&
	      strcmp(m.body, CANARY_VALUE) == 0,
	      "hostile: others are served while a client does not read its "
	      "replies", "%s", why);
	canary("a client that does not read (still open)");
	close(fd);
	close(fd2);
	canary("a non-reading client closing");
}

/* Many connections at once, then all closed. */
static void test_many_connections(void)
{
	enum { C = 200 };
	int fds[C];
	unsigned int i, opened = 0;

	for (i = 0; i < C; i++) {
		fds[i] = sock_open();
		if (fds[i] >= 0)
			opened++;
	}
	check(opened == C, "hostile: 200 simultaneous connections accepted",
	      "%u opened", opened);
	canary("200 open connections");
	for (i = 0; i < C; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	canary("200 connections closing");
}

/* INTRODUCE from dom0 on a host without Xen must be answered, not crash. */
static void test_introduce(void)
{
	char why[600] = "";
	struct msg m;
	uint32_t req;
	int fd = sock_open();
	int r;

	if (fd < 0)
		return;
	r = roundtrip(fd, XS_INTRODUCE, 0, "7\0" "4321\0" "9", 9, &m, &req);
	check(r == 1 && m.h.req_id == req &&
	      (m.h.type == XS_ERROR || m.h.type == XS_INTRODUCE),
	      "hostile: INTRODUCE without Xen is answered", "%s",
	      r == 1 ? type_name(m.h.type) : rstr(r));
	r = roundtrip(fd, XS_RELEASE, 0, "7", 2, &m, &req);
	check(r == 1 && m.h.req_id == req &&
	      (m.h.type == XS_ERROR || m.h.type == XS_RELEASE),
	      "hostile: RELEASE of an unknown domain is answered", "%s",
	      r == 1 ? type_name(m.h.type) : rstr(r));
	(void)why;
	close(fd);
	canary("INTRODUCE and RELEASE without Xen");
}

int main(void)
{
	char why[600] = "", wb[128], pb[64];
	size_t len;
	int fd;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sock_path = getenv("XENSTORED_PATH");
	if (!sock_path) {
		printf("not ok - xs_hostile: XENSTORED_PATH is not set\n");
		return 1;
	}
	fd = sock_open();
	if (!check(fd >= 0, "hostile: connect to the daemon", "%s",
		   strerror(errno)))
		return 1;
	len = write_body(wb, sizeof(wb), CANARY_PATH, CANARY_VALUE);
	check(expect_ok(fd, XS_WRITE, 0, wb, len, why, sizeof(why)),
	      "hostile: write the canary", "%s", why);
	len = strs(pb, sizeof(pb), CANARY_PATH, "n0", (char *)NULL);
	check(expect_ok(fd, XS_SET_PERMS, 0, pb, len, why, sizeof(why)),
	      "hostile: make the canary n0", "%s", why);

	test_headers(fd);
	close(fd);
	canary("protocol checks");
	test_unknown_types();
	test_oversize();
	test_bad_strings();
	test_bad_paths();
	test_truncated();
	test_deep_path();
	test_floods();
	test_slow_reader();
	test_many_connections();
	test_introduce();

	fprintf(stderr, "# xs_hostile: %u passed, %u failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
