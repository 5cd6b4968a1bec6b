/*
 * Live update of Enso's xenstored, driven by upstream's xenstore-control
 * (the real client, never linked): the daemon replaces its binary in place
 * and its clients notice nothing.  Checked across the update: the pid, the
 * binary it runs, every node with its permissions, a watch on a connection
 * that stays open, a request whose first half was sent before and second
 * half after, and upstream's BUSY answer while a transaction is open (and
 * -F, after which that transaction fails with EAGAIN).
 *
 *   xs_liveupdate XENSTORE_CONTROL NEW_BINARY DAEMON_PID
 *
 * The socket path comes from XENSTORED_PATH (xenstore-control reads it too).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "rawxs.h"

static const char *control, *new_binary;
static long daemon_pid;

/* Runs xenstore-control live-update ARGS; its exit status, output in out. */
static int run_update(const char *args, char *out, size_t outsz)
{
	char cmd[PATH_MAX * 2 + 64];
	FILE *p;
	size_t n;
	int st;

	snprintf(cmd, sizeof(cmd), "%s live-update %s 2>&1", control, args);
	p = popen(cmd, "r");
	if (!p)
		return -1;
	n = fread(out, 1, outsz - 1, p);
	out[n] = '\0';
	st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static bool runs(const char *binary)
{
	char link[64], exe[PATH_MAX], want[PATH_MAX];
	ssize_t n;

	snprintf(link, sizeof(link), "/proc/%ld/exe", daemon_pid);
	n = readlink(link, exe, sizeof(exe) - 1);
	if (n < 0 || !realpath(binary, want))
		return false;
	exe[n] = '\0';
	return !strcmp(exe, want);
}

/* Every node under /lu with its permissions, as one string. */
static bool dump_tree(int fd, const char *path, char *out, size_t cap,
		      size_t *used)
{
	char why[600], kids[XENSTORE_PAYLOAD_MAX + 1], child[512];
	struct msg m;
	size_t len, off;

	len = strlen(path) + 1;
	if (!expect_reply(fd, XS_GET_PERMS, 0, path, len, &m, why, sizeof(why)))
		return false;
	*used += (size_t)snprintf(out + *used, cap - *used, "%s(%s)=", path,
				  show(m.body, m.h.len));
	if (!expect_reply(fd, XS_READ, 0, path, len, &m, why, sizeof(why)))
		return false;
	*used += (size_t)snprintf(out + *used, cap - *used, "%s;",
				  show(m.body, m.h.len));
	if (*used >= cap)
		return false;
	if (!expect_reply(fd, XS_DIRECTORY, 0, path, len, &m, why, sizeof(why)))
		return false;
	memcpy(kids, m.body, m.h.len);
	for (off = 0; off < m.h.len; off += strlen(kids + off) + 1) {
		snprintf(child, sizeof(child), "%s/%s", path, kids + off);
		if (!dump_tree(fd, child, out, cap, used))
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	static char before[1 << 20], after[1 << 20];
	char why[600], out[4096], body[256], arg[PATH_MAX + 16];
	int fd, watcher, half, txc, i, rc;
	size_t used = 0, len;
	const char *res;
	uint32_t tx;
	struct msg m;

	setvbuf(stdout, NULL, _IOLBF, 0);
	sock_path = getenv("XENSTORED_PATH");
	if (argc != 4 || !sock_path) {
		printf("not ok - xs_liveupdate: usage: XENSTORED_PATH=... xs_liveupdate CONTROL NEW_BINARY PID\n");
		return 1;
	}
	control = argv[1];
	new_binary = argv[2];
	daemon_pid = strtol(argv[3], NULL, 10);
	fd = sock_open();
	watcher = sock_open();
	half = sock_open();
	txc = sock_open();
	if (fd < 0 || watcher < 0 || half < 0 || txc < 0) {
		printf("not ok - liveupdate: cannot connect\n");
		return 1;
	}

	/* A tree with a mix of permissions, and a restricted writer's node. */
	for (i = 0; i < 100; i++) {
		char path[64], val[32];

		snprintf(path, sizeof(path), "/lu/n%d", i);
		snprintf(val, sizeof(val), "value-%d", i);
		len = write_body(body, sizeof(body), path, val);
		if (!expect_ok(fd, XS_WRITE, 0, body, len, why, sizeof(why)))
			break;
		len = (size_t)snprintf(body, sizeof(body), "%s%c%s%c%s%c", path,
				       0, i % 3 ? "n0" : "r5", 0,
				       i % 2 ? "w7" : "b9", 0);
		if (!expect_ok(fd, XS_SET_PERMS, 0, body, len, why, sizeof(why)))
			break;
	}
	check(i == 100, "liveupdate: a tree of 100 nodes written", "%s", why);
	check(dump_tree(fd, "/lu", before, sizeof(before), &used),
	      "liveupdate: the tree read back before", "too big or unread");

	/* A watch on a connection that stays open throughout. */
	len = strs(body, sizeof(body), "/lu/w", "lu-token", (char *)NULL);
	check(expect_ok(watcher, XS_WATCH, 0, body, len, why, sizeof(why)) &&
		      recv_msg(watcher, &m, REPLY_MS) == 1 &&
		      m.h.type == XS_WATCH_EVENT,
	      "liveupdate: a watch set before", "%s", why);

	/* An open transaction: upstream's client is told BUSY. */
	tx = txn_start(txc);
	snprintf(arg, sizeof(arg), "-t 2 %s", new_binary);
	rc = run_update(arg, out, sizeof(out));
	check(tx && rc != 0 && strstr(out, "BUSY") && !runs(new_binary),
	      "liveupdate: BUSY while a transaction is open",
	      "exit %d: %s", rc, out);

	/* Half a request now, the rest after the update. */
	len = write_body(body + sizeof(struct xsd_sockmsg),
			 sizeof(body) - sizeof(struct xsd_sockmsg), "/lu-half",
			 "across");
	{
		struct xsd_sockmsg h = { .type = XS_WRITE, .req_id = 77,
					 .len = (uint32_t)len };

		memcpy(body, &h, sizeof(h));
		len += sizeof(h);
	}
	check(send_raw(half, body, 10), "liveupdate: half a request sent before",
	      "send failed");

	snprintf(arg, sizeof(arg), "-F -t 10 %s", new_binary);
	rc = run_update(arg, out, sizeof(out));
	check(rc == 0, "liveupdate: xenstore-control live-update -F succeeds",
	      "exit %d: %s", rc, out);
	for (i = 0; i < 100 && !runs(new_binary); i++)
		usleep(50000);
	check(runs(new_binary), "liveupdate: the same process runs the new binary",
	      "pid %ld does not run %s", daemon_pid, new_binary);

	check(send_raw(half, body + 10, len - 10) &&
		      recv_reply(half, &m, REPLY_MS) == 1 &&
		      m.h.type == XS_WRITE && m.h.req_id == 77,
	      "liveupdate: a request split across the update is answered",
	      "type %u req %u", m.h.type, m.h.req_id);

	used = 0;
	check(dump_tree(fd, "/lu", after, sizeof(after), &used) &&
		      !strncmp(before, after, strlen(before)),
	      "liveupdate: every node and its permissions kept, on a connection opened before",
	      "before %.200s / after %.200s", before, after);

	len = write_body(body, sizeof(body), "/lu/w", "after");
	check(expect_ok(fd, XS_WRITE, 0, body, len, why, sizeof(why)) &&
		      recv_msg(watcher, &m, REPLY_MS) == 1 &&
		      m.h.type == XS_WATCH_EVENT && strstr(m.body + strlen(m.body) + 1, "lu-token"),
	      "liveupdate: the watch set before fires after", "%s", why);

	res = txn_end(txc, tx, true);
	check(!strcmp(res, "EAGAIN"),
	      "liveupdate: a transaction open across -F fails with EAGAIN",
	      "got %s", res);

	len = strs(body, sizeof(body), "live-update", "-a", (char *)NULL);
	check(expect_reply(fd, XS_CONTROL, 0, body, len, &m, why, sizeof(why)) &&
		      !strcmp(m.body, "OK"),
	      "liveupdate: -a (abort) is answered OK", "%s %s", why, m.body);
	len = strs(body, sizeof(body), "live-update", "-s", (char *)NULL);
	check(expect_reply(fd, XS_CONTROL, 0, body, len, &m, why, sizeof(why)) &&
		      strstr(m.body, "no new binary"),
	      "liveupdate: -s with no binary named says so", "%s %s", why,
	      m.body);

	fprintf(stderr, "# xs_liveupdate: %u passed, %u failed\n", n_pass,
		n_fail);
	return n_fail ? 1 : 0;
}
