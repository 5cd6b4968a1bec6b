/*
 * xsbench: a load generator for any xenstore daemon, over libxenstore.
 *
 *   xsbench [-c CLIENTS] [-s SECONDS] [-l LABEL] OP...
 *   xsbench -p DOMAINS [-P PID] [-l LABEL]
 *
 * OPs: read, write, directory, transaction, watch, and pread / pwrite:
 * the same over a raw socket with PIPELINE requests in flight, so that the
 * daemon, not the round trip, is what is measured.  Each client is its own
 * process with its own connection, working on its own nodes (no conflicts),
 * started together; the line printed per OP is
 *
 *   xsbench LABEL OP clients=N ops=TOTAL seconds=S ops_per_s=R
 *
 * -p fills the store with DOMAINS domains' worth of nodes (what a toolstack
 * writes for a guest with a disk and a nic) and, given the daemon's pid,
 * prints its resident memory before and after and the bytes per node.
 */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <xenstore.h>
#include <xen/io/xs_wire.h>

#define PIPELINE 32

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct xs_handle *xs_connect(void)
{
	struct xs_handle *h = xs_open(0);

	if (!h) {
		fprintf(stderr, "xsbench: cannot reach xenstored: %s\n",
			strerror(errno));
		exit(1);
	}
	return h;
}

static bool put(struct xs_handle *h, xs_transaction_t t, const char *path,
		const char *val)
{
	return xs_write(h, t, path, val, (unsigned)strlen(val));
}

static int raw_connect(void)
{
	const char *path = getenv("XENSTORED_PATH");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s",
		 path && *path ? path : "/var/run/xenstored/socket");
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int io_all(int fd, void *buf, size_t len, bool writing)
{
	char *p = buf;

	while (len) {
		ssize_t n = writing ? write(fd, p, len) : read(fd, p, len);

		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* PIPELINE requests out, then their PIPELINE replies in, until the end. */
static long run_pipelined(bool writes, int id, double seconds, int go_fd)
{
	char req[PIPELINE][128], reply[XENSTORE_PAYLOAD_MAX + 1];
	size_t reqlen[PIPELINE];
	int fd = raw_connect(), i;
	char c;
	double end;
	long n = 0;

	if (fd < 0)
		return -1;
	for (i = 0; i < PIPELINE; i++) {
		struct xsd_sockmsg h = { .type = writes ? XS_WRITE : XS_READ,
					 .req_id = (uint32_t)i };
		char body[96];
		int bl = snprintf(body, sizeof(body), "/bench/c%d/value", id) + 1;

		if (writes) {
			memcpy(body + bl, "pipelined", 9);
			bl += 9;
		}
		h.len = (uint32_t)bl;
		memcpy(req[i], &h, sizeof(h));
		memcpy(req[i] + sizeof(h), body, (size_t)bl);
		reqlen[i] = sizeof(h) + (size_t)bl;
	}
	/* The node must exist for reads: the first write makes it. */
	if (io_all(fd, req[0], reqlen[0], true) == 0) {
		struct xsd_sockmsg h;

		if (io_all(fd, &h, sizeof(h), false) || h.len > XENSTORE_PAYLOAD_MAX ||
		    io_all(fd, reply, h.len, false))
			return -1;
	}
	{
		struct xsd_sockmsg h = { .type = XS_WRITE };
		char body[96];
		int bl = snprintf(body, sizeof(body), "/bench/c%d/value", id) + 1;

		memcpy(body + bl, "x", 1);
		h.len = (uint32_t)bl + 1;
		if (io_all(fd, &h, sizeof(h), true) || io_all(fd, body, h.len, true) ||
		    io_all(fd, &h, sizeof(h), false) || h.len > XENSTORE_PAYLOAD_MAX ||
		    io_all(fd, reply, h.len, false))
			return -1;
	}
	if (read(go_fd, &c, 1) != 1)
		return -1;
	end = now() + seconds;
	while (now() < end) {
		char batch[PIPELINE * 128];
		size_t bl = 0;

		for (i = 0; i < PIPELINE; i++) {
			memcpy(batch + bl, req[i], reqlen[i]);
			bl += reqlen[i];
		}
		if (io_all(fd, batch, bl, true))
			return -1;
		for (i = 0; i < PIPELINE; i++) {
			struct xsd_sockmsg h;

			if (io_all(fd, &h, sizeof(h), false) ||
			    h.len > XENSTORE_PAYLOAD_MAX ||
			    io_all(fd, reply, h.len, false) || h.type == XS_ERROR)
				return -1;
		}
		n += PIPELINE;
	}
	close(fd);
	return n;
}

/* One client's loop; returns operations done, or -1 on an error. */
static long run_client(const char *op, int id, double seconds, int go_fd)
{
	struct xs_handle *h;
	char base[64], path[96], tok[32], c;
	double end;
	long n = 0;
	int i;

	if (!strcmp(op, "pread") || !strcmp(op, "pwrite"))
		return run_pipelined(op[1] == 'w', id, seconds, go_fd);
	h = xs_connect();

	snprintf(base, sizeof(base), "/bench/c%d", id);
	snprintf(path, sizeof(path), "%s/value", base);
	if (!put(h, XBT_NULL, path, "initial"))
		return -1;
	for (i = 0; i < 20; i++) {
		char kid[96];

		snprintf(kid, sizeof(kid), "%s/dir/entry-%02d", base, i);
		if (!put(h, XBT_NULL, kid, "x"))
			return -1;
	}
	snprintf(tok, sizeof(tok), "t%d", id);
	if (!strcmp(op, "watch")) {
		unsigned int num;
		char **ev;

		if (!xs_watch(h, path, tok))
			return -1;
		ev = xs_read_watch(h, &num);	/* the initial event */
		free(ev);
	}
	/* Wait for the start signal so all clients run together. */
	if (read(go_fd, &c, 1) != 1)
		return -1;
	end = now() + seconds;
	while (now() < end) {
		for (i = 0; i < 64; i++) {
			unsigned int len;
			void *v = NULL;

			if (!strcmp(op, "read")) {
				v = xs_read(h, XBT_NULL, path, &len);
				if (!v)
					return -1;
			} else if (!strcmp(op, "write")) {
				if (!put(h, XBT_NULL, path, "some value"))
					return -1;
			} else if (!strcmp(op, "directory")) {
				char dir[96];

				snprintf(dir, sizeof(dir), "%s/dir", base);
				v = xs_directory(h, XBT_NULL, dir, &len);
				if (!v)
					return -1;
			} else if (!strcmp(op, "transaction")) {
				xs_transaction_t t;

				do {
					t = xs_transaction_start(h);
					if (!t)
						return -1;
					v = xs_read(h, t, path, &len);
					free(v);
					v = NULL;
					if (!put(h, t, path, "txn value"))
						return -1;
				} while (!xs_transaction_end(h, t, false) &&
					 errno == EAGAIN);
			} else if (!strcmp(op, "watch")) {
				unsigned int num;
				char **ev;

				if (!put(h, XBT_NULL, path, "fire"))
					return -1;
				ev = xs_read_watch(h, &num);
				if (!ev)
					return -1;
				free(ev);
			} else {
				fprintf(stderr, "xsbench: unknown op %s\n", op);
				return -1;
			}
			free(v);
			n++;
		}
	}
	xs_close(h);
	return n;
}

static int run_op(const char *label, const char *op, int clients,
		  double seconds)
{
	int go[2], res[2], i, failed = 0;
	long total = 0;
	double t0;

	if (pipe(go) || pipe(res))
		return -1;
	for (i = 0; i < clients; i++) {
		pid_t pid = fork();

		if (pid < 0)
			return -1;
		if (pid == 0) {
			long n;

			close(go[1]);
			close(res[0]);
			n = run_client(op, i, seconds, go[0]);
			if (write(res[1], &n, sizeof(n)) != sizeof(n))
				_exit(1);
			_exit(n < 0);
		}
	}
	close(go[0]);
	close(res[1]);
	usleep(200000 + 2000 * clients);	/* let every client set up */
	t0 = now();
	for (i = 0; i < clients; i++)
		if (write(go[1], "g", 1) != 1)
			return -1;
	for (i = 0; i < clients; i++) {
		long n;

		if (read(res[0], &n, sizeof(n)) != sizeof(n) || n < 0)
			failed++;
		else
			total += n;
	}
	seconds = now() - t0;
	while (wait(NULL) > 0)
		;
	close(go[1]);
	close(res[0]);
	if (failed) {
		fprintf(stderr, "xsbench: %s: %d of %d clients failed\n", op,
			failed, clients);
		return -1;
	}
	printf("xsbench %s %s clients=%d ops=%ld seconds=%.2f ops_per_s=%.0f\n",
	       label, op, clients, total, seconds, (double)total / seconds);
	fflush(stdout);
	return 0;
}

static long rss_kib(long pid)
{
	char path[64], line[256];
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/status", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
			break;
	fclose(f);
	return kib;
}

/* What a toolstack keeps for one PV guest with a disk and a nic. */
static int populate(struct xs_handle *h, int domid)
{
	static const char *const fe[][2] = {
		{ "name", "guest" }, { "domid", "" }, { "vm", "/vm/x" },
		{ "memory/static-max", "262144" }, { "memory/target", "262144" },
		{ "cpu/0/availability", "online" }, { "control/shutdown", "" },
		{ "control/feature-poweroff", "1" }, { "store/port", "1" },
		{ "store/ring-ref", "1234" }, { "console/port", "2" },
		{ "console/ring-ref", "1235" }, { "console/tty", "/dev/pts/3" },
		{ "device/vbd/51712/backend", "/local/domain/0/backend/vbd" },
		{ "device/vbd/51712/state", "4" },
		{ "device/vbd/51712/ring-ref", "8" },
		{ "device/vbd/51712/event-channel", "5" },
		{ "device/vif/0/mac", "00:16:3e:00:00:01" },
		{ "device/vif/0/state", "4" }, { "device/vif/0/tx-ring-ref", "9" },
		{ "device/vif/0/rx-ring-ref", "10" },
	};
	char path[128];
	size_t i;
	xs_transaction_t t;

again:
	t = xs_transaction_start(h);
	if (!t)
		return -1;
	for (i = 0; i < sizeof(fe) / sizeof(fe[0]); i++) {
		snprintf(path, sizeof(path), "/local/domain/%d/%s", domid,
			 fe[i][0]);
		if (!put(h, t, path, fe[i][1]))
			return -1;
	}
	snprintf(path, sizeof(path),
		 "/local/domain/0/backend/vbd/%d/51712/params", domid);
	if (!put(h, t, path, "/srv/disk.img"))
		return -1;
	snprintf(path, sizeof(path),
		 "/local/domain/0/backend/vif/%d/0/bridge", domid);
	if (!put(h, t, path, "xenbr0"))
		return -1;
	if (!xs_transaction_end(h, t, false)) {
		if (errno == EAGAIN)
			goto again;
		return -1;
	}
	return 0;
}

static int count_nodes(struct xs_handle *h, const char *path)
{
	unsigned int n, i;
	char **kids = xs_directory(h, XBT_NULL, path, &n);
	int total = 1;

	if (!kids)
		return 1;
	for (i = 0; i < n; i++) {
		char child[512];

		snprintf(child, sizeof(child), "%s/%s",
			 strcmp(path, "/") ? path : "", kids[i]);
		total += count_nodes(h, child);
	}
	free(kids);
	return total;
}

int main(int argc, char **argv)
{
	const char *label = "xenstored";
	int clients = 1, domains = 0, opt, i, rc = 0;
	double seconds = 3;
	long pid = 0;

	while ((opt = getopt(argc, argv, "c:s:l:p:P:")) != -1) {
		switch (opt) {
		case 'c': clients = atoi(optarg); break;
		case 's': seconds = atof(optarg); break;
		case 'l': label = optarg; break;
		case 'p': domains = atoi(optarg); break;
		case 'P': pid = atol(optarg); break;
		default:
			fprintf(stderr, "usage: xsbench [-c clients] [-s seconds] [-l label] op...\n"
					"       xsbench -p domains [-P daemon-pid] [-l label]\n");
			return 2;
		}
	}
	if (clients < 1 || clients > 1024 || seconds <= 0) {
		fprintf(stderr, "xsbench: clients 1..1024, seconds > 0\n");
		return 2;
	}
	if (domains > 0) {
		struct xs_handle *h = xs_connect();
		long before = pid ? rss_kib(pid) : -1, after;
		int nodes_before = count_nodes(h, "/"), nodes_after;
		double t0 = now();

		for (i = 1; i <= domains; i++)
			if (populate(h, i)) {
				fprintf(stderr, "xsbench: populating domain %d: %s\n",
					i, strerror(errno));
				return 1;
			}
		nodes_after = count_nodes(h, "/");
		after = pid ? rss_kib(pid) : -1;
		printf("xsbench %s populate domains=%d nodes=%d seconds=%.2f",
		       label, domains, nodes_after - nodes_before, now() - t0);
		if (pid && before > 0 && after > 0)
			printf(" rss_kib_before=%ld rss_kib_after=%ld bytes_per_node=%.0f",
			       before, after,
			       (double)(after - before) * 1024 /
				       (nodes_after - nodes_before));
		printf("\n");
		xs_close(h);
		return 0;
	}
	for (i = optind; i < argc; i++)
		if (run_op(label, argv[i], clients, seconds))
			rc = 1;
	return rc;
}
