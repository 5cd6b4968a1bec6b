/*
 * The limits of Enso's xenstored as a hostile client meets them over the
 * wire (issue 10's findings): a watcher that never reads killed inside a
 * watch fan-out, the node quota under concurrent transactions, the memory
 * that open transactions hold, and watch events over a domain's output
 * limit.  Unprivileged clients are sockets turned into a domain with
 * CONTROL "restrict".
 *
 * The daemon must run with -E 50 -Q memory=300000 -q memory=300000
 * (run-xenstored.sh starts it so); the socket path comes from
 * XENSTORED_PATH.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "rawxs.h"

#define NODE_QUOTA 50
#define MEM_QUOTA 300000

/* CONTROL "quota <domid>": the number on the line starting with what. */
static long long domain_figure(unsigned int domid, const char *what)
{
	char body[64], arg[16], why[400];
	struct msg m;
	const char *line;
	int fd = sock_open();
	long long v = -1;
	size_t len;

	if (fd < 0)
		return -1;
	snprintf(arg, sizeof(arg), "%u", domid);
	len = strs(body, sizeof(body), "quota", arg, (char *)NULL);
	if (expect_reply(fd, XS_CONTROL, 0, body, len, &m, why, sizeof(why))) {
		for (line = m.body; line && *line;
		     line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
			if (!strncmp(line, what, strlen(what))) {
				v = strtoll(line + strlen(what), NULL, 10);
				break;
			}
	} else {
		fprintf(stderr, "# quota %u: %s\n", domid, why);
	}
	close(fd);
	return v;
}

static bool priv_write(int fd, const char *path, const char *val, char *why,
		       size_t wl)
{
	char body[4200];
	size_t len = write_body(body, sizeof(body), path, val);

	return expect_ok(fd, XS_WRITE, 0, body, len, why, wl);
}

/* SET_PERMS path to the perms given as a NUL-separated list. */
static bool priv_perms(int fd, const char *path, const char *perms,
		       size_t plen, char *why, size_t wl)
{
	char body[512];
	size_t pl = strlen(path) + 1;

	memcpy(body, path, pl);
	memcpy(body + pl, perms, plen);
	return expect_ok(fd, XS_SET_PERMS, 0, body, pl + plen, why, wl);
}

/* A watcher that never reads, 64 watches with long tokens on one path:
 * a write's fan-out passes the daemon's 16 MiB output limit half way, and
 * the watcher is dropped right there.  The daemon must go on (under ASan,
 * with no report) and the writer be answered throughout. */
static void test_kill_inside_fanout(void)
{
	int watcher = sock_open(), writer = sock_open(), i, r = 1;
	char why[600] = "", token[1600], body[1700];
	const char *name = "limits: watcher dropped inside a watch fan-out";
	struct msg m;
	bool dropped = false;

	if (watcher < 0 || writer < 0) {
		check(false, name, "cannot connect");
		return;
	}
	if (!priv_write(writer, "/limits/fan", "", why, sizeof(why))) {
		check(false, name, "%s", why);
		return;
	}
	memset(token, 't', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	for (i = 0; i < 64; i++) {
		size_t len;

		memcpy(token, "000", 3);
		token[0] = (char)('0' + i / 10);
		token[1] = (char)('0' + i % 10);
		len = strs(body, sizeof(body), "/limits/fan", token,
			   (char *)NULL);
		if (!expect_ok(watcher, XS_WATCH, 0, body, len, why,
			       sizeof(why))) {
			check(false, name, "watch %d: %s", i, why);
			return;
		}
	}
	for (i = 0; i < 400; i++) {
		r = roundtrip(writer, XS_WRITE, 0, "/limits/fan\0x", 13, &m,
			      NULL);
		if (r != 1 || m.h.type != XS_WRITE)
			break;
	}
	check(r == 1 && i == 400, name, "write %d: %s", i,
	      r == 1 ? show(m.body, m.h.len) : rstr(r));
	dropped = wait_eof(watcher, 20000);
	check(dropped, "limits: the watcher that never read is dropped",
	      "no EOF after it queued 400 writes' events");
	close(watcher);
	close(writer);
}

/* Ten transactions of one domain, each adding under -E against the store
 * it started from: at commit, only what fits goes in. */
static void test_node_quota_at_commit(void)
{
	const char *name = "limits: -E holds when ten transactions commit";
	int priv = sock_open(), d[10], i, j, ok_commits = 0, nospc = 0;
	char why[600] = "", path[64], body[128];
	uint32_t tx[10];
	long long nodes;

	if (priv < 0) {
		check(false, name, "cannot connect");
		return;
	}
	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/local/domain/31/t%d", i);
		if (!priv_write(priv, path, "", why, sizeof(why)) ||
		    !priv_perms(priv, path, "n31", 4, why, sizeof(why))) {
			check(false, name, "%s", why);
			return;
		}
	}
	if (!priv_perms(priv, "/local/domain/31", "n31", 4, why, sizeof(why))) {
		check(false, name, "%s", why);
		return;
	}
	for (i = 0; i < 10; i++) {
		d[i] = sock_restricted(31);
		tx[i] = d[i] >= 0 ? txn_start(d[i]) : 0;
		if (!tx[i]) {
			check(false, name, "transaction %d did not start", i);
			return;
		}
		for (j = 0; j < 100; j++) {
			struct msg m;
			size_t len;

			snprintf(path, sizeof(path),
				 "/local/domain/31/t%d/n%d", i, j);
			len = write_body(body, sizeof(body), path, "v");
			if (roundtrip(d[i], XS_WRITE, tx[i], body, len, &m,
				      NULL) != 1 || m.h.type != XS_WRITE)
				break;
		}
	}
	for (i = 0; i < 10; i++) {
		const char *res = txn_end(d[i], tx[i], true);

		if (!strcmp(res, "OK"))
			ok_commits++;
		else if (!strcmp(res, "ENOSPC"))
			nospc++;
		else
			fprintf(stderr, "# commit %d: %s\n", i, res);
		close(d[i]);
	}
	nodes = domain_figure(31, "nodes");
	check(nodes >= 0 && nodes <= NODE_QUOTA && ok_commits >= 1 &&
		      nospc >= 1 && ok_commits + nospc == 10,
	      name, "domain 31 owns %lld nodes against -E %d (%d commits, %d ENOSPC)",
	      nodes, NODE_QUOTA, ok_commits, nospc);
	close(priv);
}

/* Ten open transactions reading 1900-byte nodes: together they hold no
 * more than the domain's memory quota; unreadable nodes are not copied. */
static void test_txn_memory(void)
{
	const char *name = "limits: open transactions hold at most -Q memory";
	int priv = sock_open(), d[10], i, j, read_ok = 0, nomem = 0, other = 0;
	char why[600] = "", path[64], val[1901];
	uint32_t tx[10];
	long long held;

	if (priv < 0) {
		check(false, name, "cannot connect");
		return;
	}
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	for (i = 0; i < 100; i++) {
		snprintf(path, sizeof(path), "/limits/big/k%d", i);
		if (!priv_write(priv, path, val, why, sizeof(why)) ||
		    !priv_perms(priv, path, "n0\0r32", 7, why, sizeof(why))) {
			check(false, name, "%s", why);
			return;
		}
		snprintf(path, sizeof(path), "/limits/secret/k%d", i);
		if (!priv_write(priv, path, val, why, sizeof(why))) {
			check(false, name, "%s", why);
			return;
		}
	}
	d[0] = sock_restricted(32);
	tx[0] = d[0] >= 0 ? txn_start(d[0]) : 0;
	for (j = 0; tx[0] && j < 100; j++) {
		struct msg m;

		snprintf(path, sizeof(path), "/limits/secret/k%d", j);
		roundtrip(d[0], XS_READ, tx[0], path, strlen(path) + 1, &m,
			  NULL);
	}
	held = domain_figure(32, "transaction memory");
	check(tx[0] && held >= 0 && held < 100 * 1900 / 4,
	      "limits: a transaction copies no node it may not read",
	      "100 unreadable 1900-byte nodes: %lld bytes held", held);
	txn_end(d[0], tx[0], false);

	for (i = 0; i < 10; i++) {
		d[i] = i ? sock_restricted(32) : d[0];
		tx[i] = d[i] >= 0 ? txn_start(d[i]) : 0;
		if (!tx[i]) {
			check(false, name, "transaction %d did not start", i);
			return;
		}
		for (j = 0; j < 100; j++) {
			struct msg m;

			snprintf(path, sizeof(path), "/limits/big/k%d", j);
			if (roundtrip(d[i], XS_READ, tx[i], path,
				      strlen(path) + 1, &m, NULL) != 1)
				other++;
			else if (m.h.type == XS_READ)
				read_ok++;
			else if (!strcmp(m.body, "ENOMEM"))
				nomem++;
			else
				other++;
		}
	}
	held = domain_figure(32, "transaction memory");
	check(other == 0 && nomem > 0 &&
		      (long long)read_ok * 1900 <= MEM_QUOTA &&
		      held >= 0 && held <= MEM_QUOTA,
	      name, "%d reads of 1900 bytes, %d ENOMEM, %d other; %lld bytes held against %d",
	      read_ok, nomem, other, held, MEM_QUOTA);
	for (i = 0; i < 10; i++) {
		txn_end(d[i], tx[i], false);
		close(d[i]);
	}
	held = domain_figure(32, "transaction memory");
	check(held == 0, "limits: ended transactions hold nothing",
	      "%lld bytes still held", held);
	close(priv);
}

/* A domain that stops reading: its watch events past its quota are
 * dropped and counted (never silently), the connection lives on, and
 * every event fired is either delivered or counted. */
static void test_events_over_limit(void)
{
	const char *name = "limits: every watch event is delivered or counted";
	int priv = sock_open(), d = sock_restricted(33), i, got = 0, r;
	char why[600] = "", token[1001], body[1100];
	long long dropped;
	struct msg m;
	size_t len;

	if (priv < 0 || d < 0) {
		check(false, name, "cannot connect");
		return;
	}
	if (!priv_write(priv, "/limits/ev", "", why, sizeof(why)) ||
	    !priv_perms(priv, "/limits/ev", "n0\0r33", 7, why, sizeof(why))) {
		check(false, name, "%s", why);
		return;
	}
	memset(token, 'k', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	len = strs(body, sizeof(body), "/limits/ev", token, (char *)NULL);
	if (!expect_ok(d, XS_WATCH, 0, body, len, why, sizeof(why))) {
		check(false, name, "%s", why);
		return;
	}
	for (i = 0; i < 2000; i++)
		if (!priv_write(priv, "/limits/ev", "x", why, sizeof(why))) {
			check(false, name, "write %d: %s", i, why);
			return;
		}
	dropped = domain_figure(33, "watch events dropped");
	while ((r = recv_msg(d, &m, 1000)) == 1)
		if (m.h.type == XS_WATCH_EVENT)
			got++;
	check(dropped > 0 && got + dropped == 2001, name,
	      "2001 events fired: %d delivered, %lld counted as dropped",
	      got, dropped);
	check(expect_reply(d, XS_READ, 0, "/limits/ev", 11, &m, why,
			   sizeof(why)),
	      "limits: the domain that fell behind is still served", "%s", why);
	close(d);
	close(priv);
}

static const struct {
	const char *name;
	void (*fn)(void);
} tests[] = {
	{ "fanout", test_kill_inside_fanout },
	{ "commit", test_node_quota_at_commit },
	{ "txn-memory", test_txn_memory },
	{ "events", test_events_over_limit },
};

/* xs_limits [NAME...]: all tests, or the ones named. */
int main(int argc, char **argv)
{
	size_t i;
	int a;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sock_path = getenv("XENSTORED_PATH");
	if (!sock_path) {
		printf("not ok - xs_limits: XENSTORED_PATH is not set\n");
		return 1;
	}
	for (i = 0; i < sizeof(tests) / sizeof(tests[0]); i++) {
		bool run = argc < 2;

		for (a = 1; a < argc; a++)
			run = run || !strcmp(argv[a], tests[i].name);
		if (run)
			tests[i].fn();
	}
	fprintf(stderr, "# xs_limits: %u passed, %u failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
