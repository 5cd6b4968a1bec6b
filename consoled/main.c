/*
 * consoled: Enso's PV console backend for Xen.  Serves the primary console
 * of every guest: ring <-> pty, and a log file per guest if asked.
 *
 * Options follow upstream xenconsoled's names.  The daemon forks and the
 * parent returns only once the child is serving; Xen's handles and the
 * xenstore connection are opened in the child, which uses them.
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
#include <sys/timerfd.h>
#include <unistd.h>

#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xenstore.h>

#include "consoled.h"

#define DEFAULT_LOG_DIR "/var/log/enso/console"
/* Domain ids at and above this are reserved (DOMID_FIRST_RESERVED). */
#define DOMID_LIMIT 0x7FF0U

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
"  -v, --verbose              log debug messages\n"
"  -h, --help                 print this help and exit\n"
"\n"
"SIGHUP reopens the guest logs (after rotation).\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_LOG = 256, OPT_LOG_DIR, OPT_PID_FILE };
	static const struct option longopts[] = {
		{ "interactive", no_argument, NULL, 'i' },
		{ "log", required_argument, NULL, OPT_LOG },
		{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
		{ "timestamp", required_argument, NULL, 't' },
		{ "pid-file", required_argument, NULL, OPT_PID_FILE },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int opt;

	while ((opt = getopt_long(argc, argv, "it:vh", longopts, NULL)) != -1) {
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

/* Is this a Xen control domain?  Says why not in `why`. */
/* ---- domains come and go ------------------------------------------------- */

/* Brings the console set in line with /local/domain and with what xenstored
 * says is introduced: new domains get a console, vanished ones are
 * released. */
static void rescan(struct daemon *dm)
{
	unsigned int n = 0, i;
	unsigned long long id;
	struct console *c;
	char **ents;
	size_t pos = 0;

	ents = xs_directory(dm->xs, XBT_NULL, "/local/domain", &n);
	if (!ents && errno != ENOENT) {
		elog(ELOG_WARN, "cannot list /local/domain: %s",
		     strerror(errno));
		return;
	}
	while ((c = hmap_next(&dm->consoles, &pos)))
		c->seen = false;
	for (i = 0; i < n; i++) {
		char key[24];

		if (parse_uint(ents[i], DOMID_LIMIT - 1, &id) || id == 0)
			continue;
		snprintf(key, sizeof(key), "%llu", id);
		c = hmap_get(&dm->consoles, key);
		if (!c)
			c = console_new(dm, (unsigned)id);
		if (c)
			c->seen = true;
		else
			elog(ELOG_ERR, "domain %llu: out of memory", id);
	}
	free(ents);
	pos = 0;
	while ((c = hmap_next(&dm->consoles, &pos))) {
		if (!c->seen) {
			console_release(c);	/* its slot only tombstoned */
			continue;
		}
		if (xs_is_domain_introduced(dm->xs, c->domid))
			c->introduced = true;
		else if (c->introduced)
			console_release(c);	/* dead, nodes or not */
	}
}

static void on_xenstore(void *arg, uint32_t events);

/* xenstored by its socket; the xenbus device only where there is no
 * socket at all (a store in a stub domain): with dom0's xenstored down, a
 * request through the device waits in the kernel for good. */
static struct xs_handle *open_store(void)
{
	const char *path = getenv("XENSTORED_PATH");
	const char *dir = getenv("XENSTORED_RUNDIR");
	struct xs_handle *h = xs_open(XS_OPEN_SOCKETONLY);
	char sock[512];
	int e = errno;

	/* libxenstore's own rule for where the socket is */
	snprintf(sock, sizeof(sock), "%s", path ? path : "");
	if (!path)
		snprintf(sock, sizeof(sock), "%s/socket",
			 dir ? dir : "/var/run/xenstored");
	if (!h && access(sock, F_OK) < 0 && errno == ENOENT)
		return xs_open(0);
	if (!h)
		errno = e;
	return h;
}

#define STORE_CHECK_MS 2000
#define STORE_BACKOFF_MIN_MS 100
#define STORE_BACKOFF_MAX_MS 5000

static void store_timer(struct daemon *dm, int ms)
{
	struct itimerspec its = { { 0, 0 },
				  { ms / 1000, (long)(ms % 1000) * 1000000L } };

	timerfd_settime(dm->store_fd, 0, &its, NULL);
}

static bool set_domain_watches(struct daemon *dm)
{
	/* Both fire once at once: that scan serves what is there. */
	return xs_watch(dm->xs, "@introduceDomain", "domains") &&
	       xs_watch(dm->xs, "@releaseDomain", "domains");
}

/* libxenstore has closed a connection xenstored dropped: the consoles
 * stay connected (rings and ptys do not need the store); the store's
 * events are lost until it is back, and a new connection is tried with
 * backoff.  Said once. */
static void store_gone(struct daemon *dm)
{
	if (dm->store_lost)
		return;
	elog(ELOG_ERR, "xenstored is gone (its connection closed): consoles stay connected; reconnecting");
	evloop_del(dm->loop, xs_fileno(dm->xs));
	dm->store_lost = true;
	dm->backoff_ms = STORE_BACKOFF_MIN_MS;
	store_timer(dm, dm->backoff_ms);
}

/* A new connection: watches set again (a restarted xenstored has lost
 * every socket client's), then a scan of whatever store came back, with
 * its state or empty. */
static void store_reconnect(struct daemon *dm)
{
	struct xs_handle *h = open_store(), *old = dm->xs;
	struct console *c;
	size_t pos = 0;

	if (!h) {
		dm->backoff_ms = dm->backoff_ms * 2 > STORE_BACKOFF_MAX_MS ?
			STORE_BACKOFF_MAX_MS : dm->backoff_ms * 2;
		store_timer(dm, dm->backoff_ms);
		return;
	}
	dm->xs = h;
	xs_close(old);
	if (evloop_add(dm->loop, xs_fileno(h), EPOLLIN, on_xenstore, dm) ||
	    !set_domain_watches(dm)) {
		elog(ELOG_WARN, "xenstored answered but its watches cannot be set (%s): trying again",
		     strerror(errno));
		evloop_del(dm->loop, xs_fileno(h));
		store_timer(dm, dm->backoff_ms);
		return;
	}
	while ((c = hmap_next(&dm->consoles, &pos)))
		c->watching = xs_watch(dm->xs, c->path, c->token);
	dm->store_lost = false;
	elog(ELOG_INFO, "xenstored is back: watches set again, re-scanning");
	rescan(dm);
	store_timer(dm, STORE_CHECK_MS);
}

static void on_store_timer(void *arg, uint32_t events)
{
	struct daemon *dm = arg;
	uint64_t ticks;

	(void)events;
	if (read(dm->store_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	if (dm->store_lost) {
		store_reconnect(dm);
		return;
	}
	/* A dead connection makes no fd readable: ask, the way the event
	 * handler does (it handles whatever is queued, and notices the
	 * connection gone). */
	on_xenstore(dm, 0);
	if (!dm->store_lost)
		store_timer(dm, STORE_CHECK_MS);
}

static void on_xenstore(void *arg, uint32_t events)
{
	struct daemon *dm = arg;
	bool scan = false;
	char **w;

	(void)events;
	while ((w = xs_check_watch(dm->xs))) {
		const char *token = w[XS_WATCH_TOKEN];

		if (!strcmp(token, "domains")) {
			scan = true;
		} else if (token[0] == 'c') {
			struct console *c = hmap_get(&dm->consoles, token + 1);

			/* A stale event of a released domain finds nothing. */
			if (c)
				console_refresh(c);
		}
		free(w);
	}
	if (errno != EAGAIN) {
		store_gone(dm);
		return;
	}
	if (scan)
		rescan(dm);
}

static void on_evtchn(void *arg, uint32_t events)
{
	struct daemon *dm = arg;
	xenevtchn_port_or_error_t port;
	struct console *c;

	(void)events;
	while ((port = xenevtchn_pending(dm->xce)) >= 0) {
		c = console_by_port(dm, port);
		if (c) {
			console_ring_io(c);
			/* A console dropped on the way has unbound it. */
			if (c->local_port == port)
				xenevtchn_unmask(dm->xce, (evtchn_port_t)port);
		}
	}
}

void daemon_schedule_retry(struct daemon *dm)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	struct console *c;
	size_t pos = 0;
	bool any = false;

	while ((c = hmap_next(&dm->consoles, &pos))) {
		if (!c->failed || c->failed_for_good || c->intf)
			continue;
		if (!any || c->retry_at.tv_sec < its.it_value.tv_sec ||
		    (c->retry_at.tv_sec == its.it_value.tv_sec &&
		     c->retry_at.tv_nsec < its.it_value.tv_nsec))
			its.it_value = c->retry_at;
		any = true;
	}
	/* Zero disarms; a due time in the past fires at once. */
	if (any && !its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	timerfd_settime(dm->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_timer(void *arg, uint32_t events)
{
	struct daemon *dm = arg;
	uint64_t ticks;

	(void)events;
	if (read(dm->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		elog(ELOG_WARN, "retry timer: %s", strerror(errno));
	/* Without a store there is nothing to read: the watches set again
	 * on reconnection bring every console's nodes back. */
	if (!dm->store_lost)
		console_retry_due(dm);
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

/* ---- start and stop -------------------------------------------------------- */

static int open_handles(struct daemon *dm)
{
	sigset_t mask;
	int fd;

	dm->xs = open_store();
	if (!dm->xs) {
		elog(ELOG_ERR, "cannot connect to xenstored: %s",
		     strerror(errno));
		return -1;
	}
	dm->xce = xenevtchn_open(NULL, 0);
	if (!dm->xce) {
		elog(ELOG_ERR, "cannot open the event channel device (/dev/xen/evtchn): %s",
		     strerror(errno));
		return -1;
	}
	dm->xgt = xengnttab_open(NULL, 0);
	if (!dm->xgt) {
		elog(ELOG_ERR, "cannot open the grant table device (/dev/xen/gntdev): %s",
		     strerror(errno));
		return -1;
	}
	dm->xfm = xenforeignmemory_open(NULL, 0);
	if (!dm->xfm)
		elog(ELOG_WARN, "no foreign mapping (%s): consoles need their reserved grant",
		     strerror(errno));

	fd = xenevtchn_fd(dm->xce);
	if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0 ||
	    evloop_add(dm->loop, fd, EPOLLIN, on_evtchn, dm)) {
		elog(ELOG_ERR, "cannot watch the event channel device");
		return -1;
	}
	if (evloop_add(dm->loop, xs_fileno(dm->xs), EPOLLIN, on_xenstore, dm)) {
		elog(ELOG_ERR, "cannot watch the xenstore connection");
		return -1;
	}
	dm->timer_fd = timerfd_create(CLOCK_MONOTONIC,
				      TFD_NONBLOCK | TFD_CLOEXEC);
	if (dm->timer_fd < 0 ||
	    evloop_add(dm->loop, dm->timer_fd, EPOLLIN, on_timer, dm)) {
		elog(ELOG_ERR, "cannot make a timer: %s", strerror(errno));
		return -1;
	}
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
	/* Both fire once at once: the first scan serves the domains that
	 * were there before us. */
	if (!set_domain_watches(dm)) {
		elog(ELOG_ERR, "cannot watch @introduceDomain/@releaseDomain: %s",
		     strerror(errno));
		return -1;
	}
	dm->store_fd = timerfd_create(CLOCK_MONOTONIC,
				      TFD_NONBLOCK | TFD_CLOEXEC);
	if (dm->store_fd < 0 ||
	    evloop_add(dm->loop, dm->store_fd, EPOLLIN, on_store_timer, dm)) {
		elog(ELOG_ERR, "cannot make a timer: %s", strerror(errno));
		return -1;
	}
	store_timer(dm, STORE_CHECK_MS);
	return 0;
}

static void close_handles(struct daemon *dm)
{
	struct console *c;
	size_t pos = 0;

	while ((c = hmap_next(&dm->consoles, &pos)))
		console_release(c);
	hmap_fini(&dm->consoles);
	hmap_fini(&dm->ports);
	if (dm->signal_fd >= 0)
		close(dm->signal_fd);
	if (dm->timer_fd >= 0)
		close(dm->timer_fd);
	if (dm->store_fd >= 0)
		close(dm->store_fd);
	xenforeignmemory_close(dm->xfm);
	xengnttab_close(dm->xgt);
	xenevtchn_close(dm->xce);
	if (dm->xs)
		xs_close(dm->xs);
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

	elog_open("consoled", ELOG_INFO);
	if (parse_options(argc, argv, &dm.opt))
		return 2;
	if (!xen_control_domain(why, sizeof(why))) {
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
	hmap_init(&dm.consoles);
	hmap_init(&dm.ports);
	dm.loop = evloop_new();
	if (!dm.loop) {
		elog(ELOG_ERR, "out of memory at start");
		return 1;
	}
	if (open_handles(&dm)) {
		close_handles(&dm);
		return 1;
	}
	if (dm.opt.pid_file && daemon_write_pid(dm.opt.pid_file)) {
		close_handles(&dm);
		return 1;
	}
	/* Serve what is there before telling anyone we are up. */
	rescan(&dm);
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
	close_handles(&dm);
	return 0;
}
