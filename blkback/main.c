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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <xenstore.h>

#include "blkback/blkback.h"
#include "enso-util.h"

struct options {
	bool shm, foreground;
	const char *pid_file, *log_file, *user, *dir;
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

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_PID_FILE = 256, OPT_LOG_FILE };
	static const struct option longopts[] = {
		{ "transport", required_argument, NULL, 'T' },
		{ "interactive", no_argument, NULL, 'i' },
		{ "backend-dir", required_argument, NULL, 'd' },
		{ "max-queues", required_argument, NULL, 'q' },
		{ "max-ring-order", required_argument, NULL, 'o' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "log-file", required_argument, NULL, OPT_LOG_FILE },
		{ "user", required_argument, NULL, 'u' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "T:id:q:o:u:vh", longopts, NULL)) !=
	       -1) {
		switch (opt) {
		case 'T':
			if (strcmp(optarg, "xen") && strcmp(optarg, "shm")) {
				fprintf(stderr, "enso-blkback: --transport takes xen or shm, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->shm = !strcmp(optarg, "shm");
			break;
		case 'i':
			o->foreground = true;
			break;
		case 'd':
			if (!*optarg || strchr(optarg, '/')) {
				fprintf(stderr, "enso-blkback: --backend-dir takes a name without '/', not '%s'\n",
					optarg);
				return -EINVAL;
			}
			o->dir = optarg;
			break;
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
		case OPT_PID_FILE:
			o->pid_file = optarg;
			break;
		case OPT_LOG_FILE:
			o->log_file = optarg;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'v':
			elog_set_level(ELOG_DEBUG);
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

struct daemon {
	struct evloop *loop;
	struct xs_handle *xs;
	struct xenbus_transport *tp;
	struct xenbus *xb;
	int sigfd, pid_fd;
	bool stop;
	struct blkback bb;
};

static void on_signal(void *arg, uint32_t events)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	(void)events;
	if (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		elog(ELOG_INFO, "signal %u: stopping", si.ssi_signo);
		d->stop = true;
	}
}

static int serve(struct daemon *d, const struct options *o, int ready_fd)
{
	sigset_t set;
	int rc;

	/* First: a second daemon must not touch the devices. */
	if (o->pid_file) {
		d->pid_fd = pid_file_lock(o->pid_file, (long)getpid());
		if (d->pid_fd < 0) {
			elog(ELOG_ERR, "%s: %s", o->pid_file,
			     d->pid_fd == -EALREADY ? "another enso-blkback holds it"
						    : strerror(-d->pid_fd));
			return d->pid_fd;
		}
	}
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigprocmask(SIG_BLOCK, &set, NULL);
	d->sigfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	d->loop = evloop_new();
	d->xs = xs_open(XS_OPEN_SOCKETONLY);
	if (d->sigfd < 0 || !d->loop || !d->xs) {
		elog(ELOG_ERR, "cannot open %s", !d->xs ? "xenstored's socket"
						 : "the event loop");
		return -EIO;
	}
	rc = o->shm ? xenbus_transport_shm_open(0, &d->tp)
		    : xenbus_transport_xen_open(0, &d->tp);
	if (rc < 0) {
		elog(ELOG_ERR, "transport %s: %s", o->shm ? "shm" : "xen",
		     strerror(-rc));
		return rc;
	}
	d->bb.max_queues = o->queues;
	d->bb.max_ring_page_order = o->order;
	d->bb.user = o->user;
	rc = evloop_add(d->loop, d->sigfd, EPOLLIN, on_signal, d);
	if (rc == 0)
		rc = xenbus_open(&(struct xenbus_args){ .xs = d->xs,
							.loop = d->loop,
							.transport = d->tp,
							.engine = &blkback_engine,
							.dir = o->dir,
							.engine_data = &d->bb },
				 0, &d->xb);
	if (rc < 0) {
		elog(ELOG_ERR, "cannot watch backend/%s: %s", o->dir, strerror(-rc));
		return rc;
	}
	if (ready_fd >= 0)
		daemon_ready(ready_fd);
	elog(ELOG_INFO, "serving backend/%s over %s", o->dir,
	     xenbus_transport_name(d->tp));
	while (!d->stop) {
		rc = evloop_run_once(d->loop, -1);
		if (rc < 0 && rc != -EINTR) {
			elog(ELOG_ERR, "event loop: %s", strerror(-rc));
			return rc;
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = { .dir = BLKBACK_DIR,
			     .queues = BLKBACK_MAX_QUEUES,
			     .order = BLKBACK_MAX_RING_PAGE_ORDER };
	struct daemon d = { .sigfd = -1, .pid_fd = -1 };
	int ready_fd = -1, rc;

	elog_open("enso-blkback", ELOG_INFO);
	if (parse_options(argc, argv, &o) < 0)
		return 2;
	if (!o.foreground) {
		if (daemon_fork(&ready_fd) < 0)
			return 1;
		daemon_detach_stdio();
		if (!o.log_file || log_to_file(o.log_file, 0640) < 0)
			elog_to_syslog();
	}
	rc = serve(&d, &o, ready_fd);
	xenbus_close(d.xb);
	xenbus_transport_close(d.tp);
	if (d.xs)
		xs_close(d.xs);
	evloop_free(d.loop);
	if (d.sigfd >= 0)
		close(d.sigfd);
	if (d.pid_fd >= 0)
		close(d.pid_fd);
	return rc < 0 ? 1 : 0;
}
