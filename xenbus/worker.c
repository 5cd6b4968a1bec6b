/*
 * xenbus/worker.c: a connected device's own process, for any engine
 * (xenbus.h, "a device's worker"; docs/design/xenbus.md, "Isolation").
 *
 *   daemon                               worker (forked)
 *   fork                            ->   transport for this domain only,
 *                                        engine's serve(): map, bind, open
 *                                        xenbus_worker_ready(): drop, filter
 *                                   <-   READY | FAILED {err, text}
 *   Connected                            serve
 *                                   <-   BROKEN {err, text}: it stops
 *   STOP                            ->   serve() returns, _exit
 *   reap (pidfd)
 *
 * The child gets what the daemon read of the frontend through the fork
 * itself (its copy of the daemon's memory), so only short, fixed-size
 * messages cross the socket; each is checked whole (size, type, text
 * terminated) before it is used.  A worker that dies unasked is a device
 * that failed: xenbus_dev_fail with how it died.
 */
#include <errno.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/pidfd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include "xenbus/private.h"

enum { MSG_READY = 1, MSG_FAILED, MSG_BROKEN, MSG_STOP, MSG_ENGINE };

struct msg {
	uint32_t type;
	int32_t err;
	char text[200];
};

struct xenbus_worker {
	struct xenbus_dev *dev;
	const struct xenbus_worker_args *args;	/* the start call's */
	/* daemon's side */
	int pid, pidfd, sock;
	bool dead;		/* reaped already */
	/* worker's side */
	bool root, stop;
	uid_t uid;
	gid_t gid;
	pid_t parent;
	char why[sizeof(((struct msg *)0)->text)];
};

static int send_msg(int sock, uint32_t type, int err, const char *text)
{
	struct msg m = { .type = type, .err = err };

	snprintf(m.text, sizeof(m.text), "%s", text ? text : "");
	/* MSG_NOSIGNAL: a peer that died is an error, not a SIGPIPE. */
	if (send(sock, &m, sizeof(m), MSG_NOSIGNAL) != (ssize_t)sizeof(m))
		return errno ? -errno : -EIO;
	return 0;
}

/* One message: its type, 0 at EOF, -EAGAIN, -EBADMSG for a packet that is
 * not one of ours, -errno. */
static int recv_msg(int sock, struct msg *m, bool nonblock)
{
	ssize_t n = recv(sock, m, sizeof(*m),
			 MSG_TRUNC | (nonblock ? MSG_DONTWAIT : 0));

	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(*m) || m->type < MSG_READY ||
	    m->type > MSG_ENGINE || !memchr(m->text, '\0', sizeof(m->text)))
		return -EBADMSG;
	return (int)m->type;
}

/* ---- the worker (the child) --------------------------------------------- */

int xenbus_worker_say(struct xenbus_worker *w, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!w->why[0]) {
		va_start(ap, fmt);
		vsnprintf(w->why, sizeof(w->why), fmt, ap);
		va_end(ap);
	}
	return rc;
}

int xenbus_worker_fd(const struct xenbus_worker *w)
{
	return w->sock;
}

int xenbus_worker_recv(struct xenbus_worker *w, int32_t *value)
{
	struct msg m;
	int rc = recv_msg(w->sock, &m, true);

	if (rc == MSG_ENGINE) {
		*value = m.err;
		return 1;
	}
	/* Asked, the daemon gone, or a packet it never sends: stop. */
	if (rc != -EAGAIN)
		w->stop = true;
	return 0;
}

bool xenbus_worker_stopping(struct xenbus_worker *w)
{
	int32_t ignored;

	while (!w->stop && xenbus_worker_recv(w, &ignored) > 0)
		;	/* a value for an engine that does not read them */
	return w->stop;
}

void xenbus_worker_broken(struct xenbus_worker *w, int err, const char *text)
{
	send_msg(w->sock, MSG_BROKEN, err < 0 ? err : -EPROTO, text);
}

static int drop_privileges(struct xenbus_worker *w)
{
	if (w->root && (setgroups(0, NULL) < 0 ||
			setresgid(w->gid, w->gid, w->gid) < 0 ||
			setresuid(w->uid, w->uid, w->uid) < 0))
		return xenbus_worker_say(w, -errno, "dropping to uid %u gid %u: %s",
					 (unsigned)w->uid, (unsigned)w->gid,
					 strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return xenbus_worker_say(w, -errno, "PR_SET_NO_NEW_PRIVS: %s",
					 strerror(errno));
	/* After the ids change (which clears it): a daemon that dies takes
	 * its workers with it; one that died already is seen here. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != w->parent)
		return xenbus_worker_say(w, -ESRCH, "the daemon is gone");
	return 0;
}

int xenbus_worker_ready(struct xenbus_worker *w, const int *syscalls,
			unsigned nsyscalls)
{
	int rc = drop_privileges(w);

	if (rc == 0) {
		rc = xenbus_seccomp_install(w->args->name, syscalls, nsyscalls);
		if (rc == -ENOSYS) {
			elog(ELOG_WARN, "%s: no seccomp filter on this architecture",
			     w->args->name);
			rc = 0;
		} else if (rc < 0) {
			xenbus_worker_say(w, rc, "seccomp filter: %s", strerror(-rc));
		}
	}
	if (rc == 0)
		rc = send_msg(w->sock, MSG_READY, 0, NULL);
	return rc;
}

/* _exit throughout: the parent's atexit handlers, stdio buffers and leak
 * checks are not the worker's. */
static void __attribute__((noreturn)) child(struct xenbus_worker *w, int sock)
{
	const struct xenbus_worker_args *a = w->args;
	int keep[XENBUS_WORKER_KEEP_MAX + 1];
	sigset_t none;
	int rc;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* No '/': the kernel names each event channel's irq handler after
	 * the process, and warns at a slash. */
	prctl(PR_SET_NAME, a->name, 0, 0, 0);
	w->sock = sock;
	w->pid = 0;
	w->pidfd = -1;
	keep[0] = sock;
	memcpy(keep + 1, a->keep, a->nkeep * sizeof(*keep));
	rc = xenbus_transport_worker(xenbus_dev_transport(w->dev),
				     xenbus_dev_domid(w->dev), keep, a->nkeep + 1);
	if (rc < 0)
		xenbus_worker_say(w, rc, "worker: transport: %s", strerror(-rc));
	else
		rc = a->serve(w, a->arg);
	if (rc < 0) {
		/* Before READY the daemon reads this; after, it sees the exit. */
		send_msg(sock, MSG_FAILED, rc, w->why[0] ? w->why : strerror(-rc));
		_exit(1);
	}
	_exit(0);
}

/* ---- the daemon's side --------------------------------------------------- */

static void death(const siginfo_t *si, char *out, size_t len)
{
	if (si->si_code == CLD_EXITED)
		snprintf(out, len, "exited with status %d", si->si_status);
	else
		snprintf(out, len, "killed by signal %d (%s)", si->si_status,
			 strsignal(si->si_status));
}

/* Waits up to ms for the worker to exit (then SIGKILL), reaps it, closes
 * its fds; how it ended in out. */
static void reap(struct xenbus_worker *w, int ms, char *out, size_t len)
{
	struct pollfd p = { .fd = w->pidfd, .events = POLLIN };
	siginfo_t si;

	if (poll(&p, 1, ms) == 0) {
		pidfd_send_signal(w->pidfd, SIGKILL, NULL, 0);
		poll(&p, 1, -1);
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)w->pidfd, &si, WEXITED) < 0)
		snprintf(out, len, "gone (%s)", strerror(errno));
	else
		death(&si, out, len);
	close(w->pidfd);
	close(w->sock);
	w->pidfd = w->sock = -1;
	w->dead = true;
}

static void unwatch(struct xenbus_worker *w)
{
	struct evloop *loop = xenbus_dev_loop(w->dev);

	evloop_del(loop, w->sock);
	evloop_del(loop, w->pidfd);
}

/* A readable socket, or (on_exit) a hangup: the worker's last message
 * first, so that one that said why it stopped is closed for that.  After
 * xenbus_dev_fail, w may be gone (the engine's disconnect stops it). */
static void on_worker(void *arg, uint32_t events)
{
	struct xenbus_worker *w = arg;
	struct xenbus_dev *dev = w->dev;
	int pid = w->pid, rc;
	struct msg m;
	char how[96];

	rc = recv_msg(w->sock, &m, true);
	if (rc == -EAGAIN && !(events & (EPOLLHUP | EPOLLERR)))
		return;
	if (rc == -EAGAIN && w->pidfd >= 0) {
		struct pollfd p = { .fd = w->pidfd, .events = POLLIN };

		if (poll(&p, 1, 0) == 0)
			return;	/* a hangup before the exit: wait for it */
	}
	if (rc == MSG_BROKEN) {
		if (w->args->broken)
			w->args->broken(w->args->arg);
		xenbus_dev_fail(dev, m.err, "%s: closing a broken frontend", m.text);
	} else if (rc == -EBADMSG || rc > 0) {
		pidfd_send_signal(w->pidfd, SIGKILL, NULL, 0);
		xenbus_dev_fail(dev, -EPROTO,
				"worker %d: a message it may not send (%d): killed",
				pid, rc);
	} else {	/* EOF, the socket failed, or it exited */
		unwatch(w);
		reap(w, 1000, how, sizeof(how));
		xenbus_dev_fail(dev, -EPIPE, "worker %d %s", pid, how);
	}
}

int xenbus_worker_send(struct xenbus_worker *w, int32_t value)
{
	return send_msg(w->sock, MSG_ENGINE, value, NULL);
}

/* The pidfd: the worker exited. */
static void on_exit_fd(void *arg, uint32_t events)
{
	(void)events;
	on_worker(arg, EPOLLHUP);
}

int xenbus_worker_start(struct xenbus_dev *dev,
			const struct xenbus_worker_args *a,
			struct xenbus_worker **out)
{
	const char *user = a->user ? a->user : "nobody";
	struct xenbus_worker *w;
	struct pollfd p;
	struct msg m;
	char how[96];
	int sv[2], rc;

	*out = NULL;
	if (a->nkeep > XENBUS_WORKER_KEEP_MAX || !a->serve || !a->name)
		return xenbus_dev_error(dev, -EINVAL, "worker: bad arguments");
	w = calloc(1, sizeof(*w));
	if (!w)
		return xenbus_dev_error(dev, -ENOMEM, "worker: out of memory");
	w->dev = dev;
	w->args = a;
	w->root = geteuid() == 0;
	w->parent = getpid();
	if (w->root) {
		struct passwd *pw = getpwnam(user);

		if (!pw) {
			free(w);
			return xenbus_dev_error(dev, -ENOENT, "worker user %s: not found",
						user);
		}
		w->uid = pw->pw_uid;
		w->gid = pw->pw_gid;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		rc = -errno;
		free(w);
		return xenbus_dev_error(dev, rc, "worker socketpair: %s", strerror(-rc));
	}
	w->pid = fork();
	if (w->pid == 0) {
		close(sv[0]);
		child(w, sv[1]);
	}
	rc = -errno;
	close(sv[1]);
	w->sock = sv[0];
	w->pidfd = w->pid > 0 ? pidfd_open(w->pid, 0) : -1;
	if (w->pidfd < 0) {
		rc = w->pid > 0 ? -errno : rc;
		if (w->pid > 0) {
			kill(w->pid, SIGKILL);
			waitpid(w->pid, NULL, 0);
		}
		close(w->sock);
		free(w);
		return xenbus_dev_error(dev, rc, "starting the worker: %s",
					strerror(-rc));
	}
	p = (struct pollfd){ .fd = w->sock, .events = POLLIN };
	rc = poll(&p, 1, XENBUS_WORKER_WAIT_MS) == 1
		     ? recv_msg(w->sock, &m, true)
		     : -ETIMEDOUT;
	if (rc == MSG_READY) {
		rc = evloop_add(xenbus_dev_loop(dev), w->sock, EPOLLIN, on_worker, w);
		if (rc == 0)
			rc = evloop_add(xenbus_dev_loop(dev), w->pidfd, EPOLLIN,
					on_exit_fd, w);
		if (rc == 0) {
			*out = w;
			return 0;
		}
		xenbus_worker_stop(w);
		return xenbus_dev_error(dev, rc, "event loop: %s", strerror(-rc));
	}
	/* It said why and exits; or it is gone, or it hangs. */
	reap(w, rc == MSG_FAILED ? XENBUS_WORKER_WAIT_MS
				 : rc == -ETIMEDOUT ? 0 : 1000,
	     how, sizeof(how));
	if (rc == MSG_FAILED)
		rc = xenbus_dev_error(dev, m.err < 0 ? m.err : -EIO, "%s", m.text);
	else if (rc == -ETIMEDOUT)
		rc = xenbus_dev_error(dev, rc, "worker %d: no answer in %d ms: killed",
				      w->pid, XENBUS_WORKER_WAIT_MS);
	else
		rc = xenbus_dev_error(dev, -EPIPE, "worker %d %s before it was ready",
				      w->pid, how);
	free(w);
	return rc;
}

int xenbus_worker_pid(const struct xenbus_worker *w)
{
	return w && !w->dead ? w->pid : 0;
}

void xenbus_worker_stop(struct xenbus_worker *w)
{
	char how[96];

	if (!w)
		return;
	if (!w->dead) {
		unwatch(w);
		send_msg(w->sock, MSG_STOP, 0, NULL);
		reap(w, XENBUS_WORKER_WAIT_MS, how, sizeof(how));
		elog(ELOG_DEBUG, "%s: worker %d %s", w->args->name, w->pid, how);
	}
	free(w);
}
