/*
 * enso-netback: Enso's network backend daemon.  The xenbus core with the
 * "vif" engine (netback/) over the Xen transport or the shared-memory
 * stand-in (xenbus_daemon_run).  Each connected vif is served by a worker
 * process of its own, which runs as --user (nobody) when this is root;
 * the taps are the toolstack's, made before it writes a vif's nodes.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enso-util.h"
#include "netback/netback.h"

static void usage(FILE *to, unsigned queues)
{
	fprintf(to,
"Usage: enso-netback [options]\n"
"\n"
"Serves the PV network devices (backend/%s/) of every guest, each on the\n"
"tap the toolstack made for it (vifname, else vif<domid>.<handle>).\n"
"\n"
"  -T, --transport=xen|shm   guest memory through Xen (default) or the\n"
"                            shared-memory stand-in (tests: probe only)\n"
"  -i, --interactive         stay in the foreground, log to stderr\n"
"  -d, --backend-dir=NAME    serve backend/NAME/ (default %s; vif is\n"
"                            what Linux's xen-netback serves)\n"
"  -q, --max-queues=N        multi-queue-max-queues (1..%u, default %u:\n"
"                            the online CPUs, at most %u)\n"
"      --pid-file=FILE       write the daemon's pid to FILE, locked: one\n"
"                            daemon per pid file\n"
"      --log-file=FILE       log to FILE (appended), not syslog\n"
"  -u, --user=NAME           each vif's worker process runs as NAME\n"
"                            (when started as root; default nobody)\n"
"  -v, --verbose             log debug messages\n"
"  -h, --help                print this help and exit\n",
		NETBACK_DIR, NETBACK_DIR, NETBACK_MAX_QUEUES, queues,
		NETBACK_MAX_QUEUES);
}

/* Says what is wrong with one option's argument; -EINVAL. */
static int bad(const char *opt, const char *takes, const char *arg)
{
	fprintf(stderr, "enso-netback: %s takes %s, not '%s'\n", opt, takes, arg);
	return -EINVAL;
}

static int parse_options(int argc, char **argv, struct xenbus_daemon *d,
			 struct netback *nb)
{
	static const struct option longopts[] = {
		XENBUS_DAEMON_LONGOPTS,
		{ "max-queues", required_argument, NULL, 'q' },
		{ "user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long long v;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, XENBUS_DAEMON_SHORTOPTS "q:u:h",
				  longopts, NULL)) != -1) {
		rc = xenbus_daemon_option(d, opt, optarg);
		if (rc < 0)
			return rc;
		if (rc)
			continue;
		if (opt == 'q' && (parse_uint(optarg, NETBACK_MAX_QUEUES, &v) < 0 || !v))
			return bad("--max-queues", "1..8", optarg);
		switch (opt) {
		case 'q': nb->max_queues = (unsigned)v; break;
		case 'u': nb->user = optarg; break;
		case 'h': usage(stdout, nb->max_queues); exit(0);
		default: usage(stderr, nb->max_queues); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "enso-netback: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	struct netback nb = { .max_queues = cpus < 1 ? 1
					    : cpus > NETBACK_MAX_QUEUES
						    ? NETBACK_MAX_QUEUES
						    : (unsigned)cpus };
	struct xenbus_daemon d = { .name = "enso-netback",
				   .engine = &netback_engine,
				   .engine_data = &nb,
				   .dir = NETBACK_DIR };

	elog_open("enso-netback", ELOG_INFO);
	if (parse_options(argc, argv, &d, &nb) < 0)
		return 2;
	return xenbus_daemon_run(&d);
}
