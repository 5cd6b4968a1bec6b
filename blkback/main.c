/*
 * enso-blkback: Enso's block backend daemon.  One process: the xenbus core
 * (xenbus/) with the "vbd" engine (blkback/) over the Xen transport
 * (grant tables, event channels) or the shared-memory stand-in.
 *
 * With --transport=shm nothing grants it guest memory from outside this
 * process: it probes devices (features, InitWait) and stops there, which
 * is what a smoke test of the daemon on a host without Xen can see.  Each
 * connected device is served by a worker process of its own
 * (blkback/worker.c), which runs as --user (nobody) when this is root.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blkback/blkback.h"
#include "enso-util.h"

/* The engine's own options; the daemon's are xenbus_daemon's. */
struct options {
	const char *user;
	unsigned queues, order;
};

static void usage(FILE *to)
{
	fprintf(to,
"Usage: enso-blkback [options]\n"
"\n"
"Serves the PV block devices (backend/vbd/) of every guest from files or\n"
"block devices named by their `params`, through io_uring.\n"
"\n"
"  -T, --transport=xen|shm   guest memory through Xen (default) or the\n"
"                            shared-memory stand-in (tests: probe only)\n"
"  -i, --interactive         stay in the foreground, log to stderr\n"
"  -d, --backend-dir=NAME    serve backend/NAME/ (default %s; vbd is\n"
"                            what Linux's xen-blkback serves)\n"
"  -q, --max-queues=N        multi-queue-max-queues (1..%u, default %u)\n"
"  -o, --max-ring-order=N    max-ring-page-order (0..%u, default %u)\n"
"      --pid-file=FILE       write the daemon's pid to FILE, locked: one\n"
"                            daemon per pid file\n"
"      --log-file=FILE       log to FILE (appended), not syslog\n"
"  -u, --user=NAME           each device's worker process runs as NAME\n"
"                            (when started as root; default nobody)\n"
"  -v, --verbose             log debug messages\n"
"  -h, --help                print this help and exit\n",
		BLKBACK_DIR, BLKBACK_MAX_QUEUES, BLKBACK_MAX_QUEUES,
		BLKBACK_MAX_RING_PAGE_ORDER, BLKBACK_MAX_RING_PAGE_ORDER);
}

static int number(const char *opt, const char *arg, unsigned min,
		  unsigned max, unsigned *out)
{
	unsigned long long v;

	if (parse_uint(arg, max, &v) < 0 || v < min) {
		fprintf(stderr, "enso-blkback: %s takes %u..%u, not '%s'\n",
			opt, min, max, arg);
		return -EINVAL;
	}
	*out = (unsigned)v;
	return 0;
}

static int parse_options(int argc, char **argv, struct xenbus_daemon *d,
			 struct options *o)
{
	static const struct option longopts[] = {
		XENBUS_DAEMON_LONGOPTS,
		{ "max-queues", required_argument, NULL, 'q' },
		{ "max-ring-order", required_argument, NULL, 'o' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc;

	while ((opt = getopt_long(argc, argv, XENBUS_DAEMON_SHORTOPTS "q:o:u:h",
				  longopts, NULL)) != -1) {
		rc = xenbus_daemon_option(d, opt, optarg);
		if (rc < 0)
			return rc;
		if (rc)
			continue;
		switch (opt) {
		case 'q':
			if (number("--max-queues", optarg, 1,
				   BLKBACK_MAX_QUEUES, &o->queues) < 0)
				return -EINVAL;
			break;
		case 'o':
			if (number("--max-ring-order", optarg, 0,
				   BLKBACK_MAX_RING_PAGE_ORDER, &o->order) < 0)
				return -EINVAL;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "enso-blkback: unexpected argument '%s'\n",
			argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .queues = BLKBACK_MAX_QUEUES,
			     .order = BLKBACK_MAX_RING_PAGE_ORDER };
	struct blkback bb = { 0 };
	struct xenbus_daemon d = { .name = "enso-blkback",
				   .engine = &blkback_engine,
				   .engine_data = &bb,
				   .dir = BLKBACK_DIR };

	elog_open("enso-blkback", ELOG_INFO);
	if (parse_options(argc, argv, &d, &o) < 0)
		return 2;
	bb.max_queues = o.queues;
	bb.max_ring_page_order = o.order;
	bb.user = o.user;
	return xenbus_daemon_run(&d);
}
