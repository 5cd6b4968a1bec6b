/*
 * xenbus/daemon.c: the one process an engine's daemon is (xenbus.h,
 * xenbus_daemon_run): the pid file, the fork, the log, the signals, the
 * store, the transport and the core, then the loop until SIGTERM.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <xenstore.h>

#include "xenbus/private.h"

struct daemon {
	struct evloop *loop;
	struct xs_handle *xs;
	struct xenbus_transport *tp;
	struct xenbus *xb;
	int sigfd, pid_fd;
	bool stop;
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

static int serve(struct daemon *d, const struct xenbus_daemon *o, int ready_fd)
{
	sigset_t set;
	int rc;

	/* First: a second daemon must not touch the devices. */
	if (o->pid_file) {
		d->pid_fd = pid_file_lock(o->pid_file, (long)getpid());
		if (d->pid_fd < 0) {
			if (d->pid_fd == -EALREADY)
				elog(ELOG_ERR, "%s: another %s holds it",
				     o->pid_file, o->name);
			else
				elog(ELOG_ERR, "%s: %s", o->pid_file,
				     strerror(-d->pid_fd));
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
	rc = evloop_add(d->loop, d->sigfd, EPOLLIN, on_signal, d);
	if (rc == 0)
		rc = xenbus_open(&(struct xenbus_args){ .xs = d->xs,
							.loop = d->loop,
							.transport = d->tp,
							.engine = o->engine,
							.dir = o->dir,
							.engine_data = o->engine_data },
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

int xenbus_daemon_option(struct xenbus_daemon *d, int opt, const char *arg)
{
	const char *takes = NULL, *name = NULL;

	switch (opt) {
	case 'T':
		if (strcmp(arg, "xen") && strcmp(arg, "shm")) {
			name = "--transport";
			takes = "xen or shm";
			break;
		}
		d->shm = !strcmp(arg, "shm");
		return 1;
	case 'i':
		d->foreground = true;
		return 1;
	case 'd':
		if (!*arg || strchr(arg, '/')) {
			name = "--backend-dir";
			takes = "a name without '/'";
			break;
		}
		d->dir = arg;
		return 1;
	case XENBUS_OPT_PID_FILE:
		d->pid_file = arg;
		return 1;
	case XENBUS_OPT_LOG_FILE:
		d->log_file = arg;
		return 1;
	case 'v':
		elog_set_level(ELOG_DEBUG);
		return 1;
	default:
		return 0;
	}
	fprintf(stderr, "%s: %s takes %s, not '%s'\n", d->name, name, takes, arg);
	return -EINVAL;
}

int xenbus_daemon_run(const struct xenbus_daemon *o)
{
	struct daemon d = { .sigfd = -1, .pid_fd = -1 };
	int ready_fd = -1, rc;

	if (!o->foreground) {
		if (daemon_fork(&ready_fd) < 0)
			return 1;
		daemon_detach_stdio();
		if (!o->log_file || log_to_file(o->log_file, 0640) < 0)
			elog_to_syslog();
	}
	rc = serve(&d, o, ready_fd);
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
