/*
 * consoled: Enso's PV console backend for Xen.  Serves the primary console
 * of every guest: ring <-> pty, and a log file per guest if asked.
 *
 * Options follow upstream xenconsoled's names.  The daemon forks and the
 * parent returns only once the child is serving; the transport (Xen's
 * grant and event-channel handles) and the xenstore connection are opened
 * in the child, which uses them.  The daemon itself is daemon.c's.
 *
 * With --transport=shm nothing grants it guest memory from outside this
 * process (as enso-blkback's): it finds domains, fails to map their pages
 * and retries, which is what a smoke test on a host without Xen sees; the
 * host test runs the daemon in its own process (tests/host/console_front.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "consoled.h"

#define DEFAULT_LOG_DIR "/var/log/enso/console"

static void usage(FILE *to)
{
	fprintf(to,
"Usage: consoled [options]\n"
"\n"
"Enso's PV console backend for Xen: every guest's primary console on a\n"
"pty (written to /local/domain/<id>/console/tty), and to a log file.\n"
"\n"
"  -i, --interactive          stay in the foreground, log to stderr\n"
"      --log=none|guest|all   log guest consoles to files (default none;\n"
"                             'all' adds nothing: no hypervisor log here)\n"
"      --log-dir=DIR          where guest-NAME.log files go\n"
"                             (default " DEFAULT_LOG_DIR ")\n"
"  -t, --timestamp=none|guest prefix each guest log line with the time\n"
"      --pid-file=FILE        write the daemon's pid to FILE\n"
"  -T, --transport=xen|shm    guest memory through Xen (default) or the\n"
"                             shared-memory stand-in (tests: no Xen needed)\n"
"  -v, --verbose              log debug messages\n"
"  -h, --help                 print this help and exit\n"
"\n"
"SIGHUP reopens the guest logs (after rotation).\n");
}

static int parse_options(int argc, char **argv, struct options *o,
			 bool *shm)
{
	enum { OPT_LOG = 256, OPT_LOG_DIR, OPT_PID_FILE };
	static const struct option longopts[] = {
		{ "interactive", no_argument, NULL, 'i' },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
		{ "timestamp", required_argument, NULL, 't' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "transport", required_argument, NULL, 'T' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "it:T:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'i':
			o->interactive = true;
			break;
		case OPT_LOG:
			if (!strcmp(optarg, "none") || !strcmp(optarg, "hv")) {
				o->log = LOG_NONE;
			} else if (!strcmp(optarg, "guest")) {
				o->log = LOG_GUEST;
			} else if (!strcmp(optarg, "all")) {
				o->log = LOG_ALL;
			} else {
				fprintf(stderr, "consoled: --log takes none, guest or all, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			if (!strcmp(optarg, "hv") || !strcmp(optarg, "all"))
				fprintf(stderr, "consoled: no hypervisor log: --log=%s logs %s\n",
					optarg, o->log == LOG_ALL ? "guests only" : "nothing");
			break;
		case OPT_LOG_DIR:
			if (!*optarg) {
				fprintf(stderr, "consoled: --log-dir is empty\n");
				return -EINVAL;
			}
			o->log_dir = optarg;
			break;
		case 't':
			if (!strcmp(optarg, "none") || !strcmp(optarg, "hv")) {
				o->stamp = STAMP_NONE;
			} else if (!strcmp(optarg, "guest") ||
				   !strcmp(optarg, "all")) {
				o->stamp = STAMP_GUEST;
			} else {
				fprintf(stderr, "consoled: --timestamp takes none or guest, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			break;
		case OPT_PID_FILE:
			o->pid_file = optarg;
			break;
		case 'T':
			if (strcmp(optarg, "xen") && strcmp(optarg, "shm")) {
				fprintf(stderr, "consoled: --transport takes xen or shm, not '%s'\n",
					optarg);
				return -EINVAL;
			}
			*shm = !strcmp(optarg, "shm");
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
		fprintf(stderr, "consoled: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	return 0;
}

static void on_signal(void *arg, uint32_t events)
{
	struct daemon *dm = arg;
	struct signalfd_siginfo si;
	struct console *c;
	size_t pos = 0;

	(void)events;
	while (read(dm->signal_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGHUP) {
			elog(ELOG_INFO, "SIGHUP: reopening guest logs");
			while ((c = hmap_next(&dm->consoles, &pos)))
				glog_reopen(&c->log);
		} else {
			elog(ELOG_INFO, "stopping on signal %u", si.ssi_signo);
			dm->stop = true;
		}
	}
}

/* Guest memory and event channels: Xen's, or the stand-in's.  Frames
 * (a console page without its reserved grant) are Xen's alone. */
static int open_transport(struct daemon *dm, bool shm)
{
	int rc;

	if (shm) {
		rc = xenbus_transport_shm_open(0, &dm->tp);
		if (rc < 0)
			elog(ELOG_ERR, "cannot open the shm transport: %s",
			     strerror(-rc));
		return rc;
	}
	rc = xenbus_transport_xen_open(0, &dm->tp);
	if (rc < 0) {
		elog(ELOG_ERR, "cannot open the grant table device (/dev/xen/gntdev): %s",
		     strerror(-rc));
		return rc;
	}
	rc = xenbus_frames_open(dm->tp);
	dm->frames = rc == 0;
	if (rc < 0)
		elog(ELOG_WARN, "no foreign mapping (%s): consoles need their reserved grant",
		     strerror(-rc));
	return 0;
}

static int open_signals(struct daemon *dm)
{
	sigset_t mask;

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	dm->signal_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (dm->signal_fd < 0 ||
	    evloop_add(dm->loop, dm->signal_fd, EPOLLIN, on_signal, dm)) {
		elog(ELOG_ERR, "cannot take signals: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void close_all(struct daemon *dm)
{
	daemon_close(dm);	/* every console: before the transport */
	xenbus_transport_close(dm->tp);
	if (dm->signal_fd >= 0)
		close(dm->signal_fd);
	evloop_free(dm->loop);
}

int main(int argc, char **argv)
{
	struct daemon dm = {
		.opt = { .log = LOG_NONE, .stamp = STAMP_NONE,
			 .log_dir = DEFAULT_LOG_DIR },
		.timer_fd = -1,
		.signal_fd = -1,
		.store_fd = -1,
	};
	char why[256];
	int ready_fd = -1, rc;
	bool shm = false;

	elog_open("consoled", ELOG_INFO);
	if (parse_options(argc, argv, &dm.opt, &shm))
		return 2;
	if (!shm && !xen_control_domain(why, sizeof(why))) {
		fprintf(stderr, "consoled: %s; nothing to serve\n", why);
		return 1;
	}
	if (dm.opt.log != LOG_NONE) {
		rc = mkdir_p(dm.opt.log_dir);
		if (rc) {
			fprintf(stderr, "consoled: cannot make log directory %s: %s\n",
				dm.opt.log_dir, strerror(-rc));
			return 1;
		}
	}
	signal(SIGPIPE, SIG_IGN);
	if (!dm.opt.interactive) {
		rc = daemon_fork(&ready_fd);
		if (rc) {
			elog(ELOG_ERR, "cannot fork: %s", strerror(-rc));
			return 1;
		}
	}
	dm.loop = evloop_new();
	if (!dm.loop) {
		elog(ELOG_ERR, "out of memory at start");
		return 1;
	}
	dm.watch_domain_dir = shm;
	if (daemon_open(&dm) || open_transport(&dm, shm) || open_signals(&dm)) {
		close_all(&dm);
		return 1;
	}
	if (dm.opt.pid_file && daemon_write_pid(dm.opt.pid_file)) {
		close_all(&dm);
		return 1;
	}
	/* Serve what is there before telling anyone we are up. */
	daemon_rescan(&dm);
	elog(ELOG_INFO, "serving consoles%s%s", dm.opt.log != LOG_NONE ?
	     ", logging to " : "", dm.opt.log != LOG_NONE ? dm.opt.log_dir : "");
	if (!dm.opt.interactive) {
		elog_to_syslog();
		daemon_detach_stdio();
		if (daemon_ready(ready_fd))
			return 1;
	}

	while (!dm.stop) {
		rc = evloop_run_once(dm.loop, -1);
		if (rc < 0) {
			elog(ELOG_ERR, "event loop: %s", strerror(-rc));
			break;
		}
	}
	if (dm.opt.pid_file)
		unlink(dm.opt.pid_file);
	close_all(&dm);
	return 0;
}
