/*
 * blkback/worker.c: a connected device's own process
 * (docs/design/xenbus.md, "Isolation").
 *
 * At connect the daemon forks a worker for the device.  The daemon keeps
 * xenstore and the handshake and never maps a ring; the worker keeps only
 * what the device needs -- its socket to the daemon, the disk's fd, and,
 * opened after the fork, its rings, its event channels and its io_uring
 * -- closes every other fd (the xenstore connection too: libxenstore's
 * handle, its lock and its reader thread are the parent's, so the child
 * never calls into it), drops to an unprivileged user and
 * PR_SET_NO_NEW_PRIVS, and serves.  Nothing of the store is reachable
 * from it; a frontend that owns it owns one device's disk and rings.
 *
 *   daemon                               worker
 *   fork, CONNECT {abi, queues, refs} ->  transport for this domain only,
 *                                         map, bind, io_uring, drop
 *                                    <-   CONNECTED | FAILED {err, text}
 *   publish sectors/info; Connected       serve the rings
 *                                    <-   BROKEN {err, text}: a frontend
 *                                         that broke its ring (stops)
 *   DISCONNECT                       ->   finish the I/O in flight, exit
 *   reap (pidfd)
 *
 * A worker that dies (a signal, an exit the daemon did not ask for) is a
 * device that failed: its error node names the death, it goes Closed,
 * and the daemon and the other devices go on.  A packet of the wrong size
 * or type ends the worker (either side).
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

#include "blkback/private.h"

/* Who the worker becomes. */
struct cred {
	bool root;		/* the daemon runs as root: change ids */
	uid_t uid;
	gid_t gid;
	pid_t parent;
};

/* ---- the worker (the child) --------------------------------------------- */

static bool worker_stop;	/* the worker serves one device: its flag */

int blk_say(struct blk_dev *bd, int rc, const char *fmt, ...)
{
	va_list ap;

	if (!bd->why[0]) {
		va_start(ap, fmt);
		vsnprintf(bd->why, sizeof(bd->why), fmt, ap);
		va_end(ap);
	}
	return rc;
}

static void stop_all(struct blk_dev *bd)
{
	unsigned i;

	if (bd->io.open) {
		evloop_del(bd->loop, bd->io.efd);
		blk_io_close(&bd->io, blk_req_io_done);
	}
	for (i = 0; i < bd->nq; i++)
		blk_queue_stop(&bd->q[i]);
	free(bd->q);
	bd->q = NULL;
	bd->nq = 0;
	bd->broken = NULL;
}

/* The frontend broke its ring: tell the daemon, which closes the device
 * and says DISCONNECT; serve nothing more meanwhile. */
bool blk_dev_check_broken(struct blk_dev *bd)
{
	if (!bd->broken)
		return false;
	blk_msg_send_error(bd->sock, BLK_MSG_BROKEN, -EPROTO, bd->broken);
	stop_all(bd);
	return true;
}

static int start(struct blk_dev *bd, const struct blk_msg_connect *c)
{
	unsigned i, slots, pages = 1u << c->order;
	int rc;

	bd->abi = (enum blk_abi)c->abi;
	bd->persistent = c->persistent != 0;
	bd->q = calloc(c->nq, sizeof(*bd->q));
	if (!bd->q)
		return blk_say(bd, -ENOMEM, "out of memory");
	slots = c->nq * blk_abi_ring_size(bd->abi, pages);
	rc = blk_io_open(&bd->io, slots < 64 ? 64 : slots > 1024 ? 1024 : slots);
	if (rc == 0)
		rc = evloop_add(bd->loop, bd->io.efd, EPOLLIN, blk_dev_on_io, bd);
	if (rc < 0)
		return blk_say(bd, rc, "io_uring: %s", strerror(-rc));
	for (i = 0; i < c->nq; i++) {
		rc = blk_queue_start(bd, &bd->q[i], c->refs[i], pages,
				     c->ports[i]);
		if (rc < 0)
			return rc;
		bd->nq = i + 1;
	}
	return 0;
}

static int drop_privileges(struct blk_dev *bd, const struct cred *c)
{
	if (c->root && (setgroups(0, NULL) < 0 ||
			setresgid(c->gid, c->gid, c->gid) < 0 ||
			setresuid(c->uid, c->uid, c->uid) < 0))
		return blk_say(bd, -errno, "dropping to uid %u gid %u: %s",
			       (unsigned)c->uid, (unsigned)c->gid,
			       strerror(errno));
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return blk_say(bd, -errno, "PR_SET_NO_NEW_PRIVS: %s",
			       strerror(errno));
	/* After the ids change (which clears it): a daemon that dies takes
	 * its workers with it; one that died already is seen here. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0 ||
	    getppid() != c->parent)
		return blk_say(bd, -ESRCH, "the daemon is gone");
	return 0;
}

static void on_daemon(void *arg, uint32_t events)
{
	struct blk_dev *bd = arg;
	struct blk_msg_connect body;
	int rc = blk_msg_recv(bd->sock, &body, sizeof(body), true);

	(void)events;
	if (rc == -EAGAIN)
		return;
	if (rc == 0 || rc == BLK_MSG_DISCONNECT) {
		worker_stop = true;	/* asked, or the daemon is gone */
		return;
	}
	elog(ELOG_ERR, "vbd %u/%s: worker: a message it does not take (%d): exiting",
	     xenbus_dev_domid(bd->dev), xenbus_dev_id(bd->dev), rc);
	_exit(2);
}

/* _exit throughout: the parent's atexit handlers, stdio buffers and leak
 * checks are not the worker's. */
static void __attribute__((noreturn))
worker_main(struct blk_dev *bd, int sock, const struct cred *cred)
{
	struct xenbus_transport *t = xenbus_dev_transport(bd->dev);
	const int keep[] = { sock, bd->disk.fd };
	struct blk_msg_connect conn;
	char name[16];
	sigset_t none;
	unsigned i;
	int rc;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* No '/': the kernel names each event channel's irq handler
	 * "evtchn:<comm>" in /proc, and warns (a WARN, fatal under
	 * panic_on_warn) at a name with a slash. */
	snprintf(name, sizeof(name), "vbd.%u.%s", xenbus_dev_domid(bd->dev),
		 xenbus_dev_id(bd->dev));
	prctl(PR_SET_NAME, name, 0, 0, 0);
	bd->sock = sock;
	bd->pid = 0;
	bd->pidfd = -1;
	bd->why[0] = '\0';
	rc = xenbus_transport_worker(t, xenbus_dev_domid(bd->dev), keep,
				     ARRAY_SIZE(keep));
	if (rc < 0) {
		blk_msg_send_error(sock, BLK_MSG_FAILED, rc, "worker: transport");
		_exit(1);
	}
	if (blk_msg_recv(sock, &conn, sizeof(conn), false) != BLK_MSG_CONNECT)
		_exit(2);
	if (conn.nq == 0 || conn.nq > BLKBACK_MAX_QUEUES ||
	    conn.order > BLKBACK_MAX_RING_PAGE_ORDER || conn.abi > BLK_ABI_32)
		_exit(2);
	bd->loop = evloop_new();
	rc = bd->loop ? start(bd, &conn) : blk_say(bd, -ENOMEM, "event loop");
	if (rc == 0)
		rc = drop_privileges(bd, cred);
	if (rc == 0)
		rc = evloop_add(bd->loop, sock, EPOLLIN, on_daemon, bd);
	if (rc == 0) {
		rc = blk_seccomp_install();
		if (rc == -ENOSYS) {
			elog(ELOG_WARN, "vbd %u/%s: worker: no seccomp filter on this architecture",
			     xenbus_dev_domid(bd->dev), xenbus_dev_id(bd->dev));
			rc = 0;
		} else if (rc < 0) {
			blk_say(bd, rc, "seccomp filter: %s", strerror(-rc));
		}
	}
	if (rc < 0) {
		blk_msg_send_error(sock, BLK_MSG_FAILED, rc,
				   bd->why[0] ? bd->why : strerror(-rc));
		stop_all(bd);
		_exit(1);
	}
	if (blk_msg_send(sock, BLK_MSG_CONNECTED, NULL) < 0)
		_exit(1);
	/* Requests the frontend queued before we listened. */
	for (i = 0; i < bd->nq && !bd->broken; i++)
		blk_queue_run(&bd->q[i]);
	blk_dev_check_broken(bd);
	while (!worker_stop) {
		rc = evloop_run_once(bd->loop, -1);
		if (rc < 0 && rc != -EINTR)
			break;
	}
	stop_all(bd);
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
static void reap(struct blk_dev *bd, int ms, char *out, size_t len)
{
	struct pollfd p = { .fd = bd->pidfd, .events = POLLIN };
	siginfo_t si;

	if (poll(&p, 1, ms) == 0) {
		pidfd_send_signal(bd->pidfd, SIGKILL, NULL, 0);
		poll(&p, 1, -1);
	}
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)bd->pidfd, &si, WEXITED) < 0)
		snprintf(out, len, "gone (%s)", strerror(errno));
	else
		death(&si, out, len);
	close(bd->pidfd);
	close(bd->sock);
	bd->pidfd = bd->sock = -1;
	bd->pid = 0;
}

static void unwatch(struct blk_dev *bd)
{
	struct evloop *loop = xenbus_dev_loop(bd->dev);

	evloop_del(loop, bd->sock);
	evloop_del(loop, bd->pidfd);
}

/* The worker ended without being asked: the device fails with why. */
static void died(struct blk_dev *bd)
{
	char how[96];
	int pid = bd->pid;

	unwatch(bd);
	reap(bd, 1000, how, sizeof(how));
	xenbus_dev_fail(bd->dev, -EPIPE, "worker %d %s", pid, how);
}

static void on_worker(void *arg, uint32_t events)
{
	struct blk_dev *bd = arg;
	struct blk_msg_connect body;	/* the largest */
	const struct blk_msg_error *e = (const void *)&body;
	int rc = blk_msg_recv(bd->sock, &body, sizeof(body), true);

	if (rc == -EAGAIN && !(events & (EPOLLHUP | EPOLLERR)))
		return;
	if (rc == BLK_MSG_BROKEN) {
		bd->bb->stats.broken++;
		xenbus_dev_fail(bd->dev, e->err, "%s: closing a broken frontend",
				e->text);
	} else if (rc <= 0 && rc != -EBADMSG) {
		died(bd);	/* EOF, or the socket failed */
	} else {
		int pid = bd->pid;

		pidfd_send_signal(bd->pidfd, SIGKILL, NULL, 0);
		xenbus_dev_fail(bd->dev, -EPROTO,
				"worker %d: a message it may not send (%d): killed",
				pid, rc);
	}
}

/* Readable once the worker has exited.  A last message first: a worker
 * that said why it stopped is closed for that reason. */
static void on_exit_fd(void *arg, uint32_t events)
{
	struct blk_dev *bd = arg;

	(void)events;
	on_worker(bd, EPOLLHUP);
}

int blk_worker_start(struct blk_dev *bd, const struct blk_msg_connect *conn)
{
	struct xenbus_dev *dev = bd->dev;
	const char *user = bd->bb->user ? bd->bb->user : "nobody";
	struct cred cred = { .root = geteuid() == 0, .parent = getpid() };
	struct blk_msg_connect body;
	const struct blk_msg_error *e = (const void *)&body;
	struct pollfd p;
	char how[96];
	int sv[2], rc, pid;

	if (cred.root) {
		struct passwd *pw = getpwnam(user);

		if (!pw)
			return xenbus_dev_error(dev, -ENOENT, "worker user %s: not found",
						user);
		cred.uid = pw->pw_uid;
		cred.gid = pw->pw_gid;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return xenbus_dev_error(dev, -errno, "worker socketpair: %s",
					strerror(errno));
	pid = fork();
	if (pid < 0) {
		rc = -errno;
		close(sv[0]);
		close(sv[1]);
		return xenbus_dev_error(dev, rc, "fork: %s", strerror(-rc));
	}
	if (pid == 0) {
		close(sv[0]);
		worker_main(bd, sv[1], &cred);
	}
	close(sv[1]);
	bd->sock = sv[0];
	bd->pid = pid;
	bd->pidfd = pidfd_open(pid, 0);
	if (bd->pidfd < 0) {
		rc = -errno;
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		close(bd->sock);
		bd->sock = -1;
		bd->pid = 0;
		return xenbus_dev_error(dev, rc, "pidfd_open: %s", strerror(-rc));
	}
	rc = blk_msg_send(bd->sock, BLK_MSG_CONNECT, conn);
	p = (struct pollfd){ .fd = bd->sock, .events = POLLIN };
	if (rc == 0)
		rc = poll(&p, 1, BLK_WORKER_WAIT_MS) == 1
			     ? blk_msg_recv(bd->sock, &body, sizeof(body), true)
			     : -ETIMEDOUT;
	if (rc == BLK_MSG_CONNECTED) {
		rc = evloop_add(xenbus_dev_loop(dev), bd->sock, EPOLLIN,
				on_worker, bd);
		if (rc == 0)
			rc = evloop_add(xenbus_dev_loop(dev), bd->pidfd, EPOLLIN,
					on_exit_fd, bd);
		if (rc == 0)
			return 0;
		evloop_del(xenbus_dev_loop(dev), bd->sock);
		blk_worker_stop(bd);
		return xenbus_dev_error(dev, rc, "event loop: %s", strerror(-rc));
	}
	/* It said why and exits; or it is gone, or it hangs. */
	reap(bd, rc == BLK_MSG_FAILED ? BLK_WORKER_WAIT_MS
				      : rc == -ETIMEDOUT ? 0 : 1000,
	     how, sizeof(how));
	if (rc == BLK_MSG_FAILED)
		return xenbus_dev_error(dev, e->err, "%s", e->text);
	if (rc == -ETIMEDOUT)
		return xenbus_dev_error(dev, rc, "worker %d: no answer in %d ms: killed",
					pid, BLK_WORKER_WAIT_MS);
	return xenbus_dev_error(dev, -EPIPE, "worker %d %s before it connected",
				pid, how);
}

void blk_worker_stop(struct blk_dev *bd)
{
	char how[96];
	int pid = bd->pid;

	if (!pid)
		return;
	unwatch(bd);
	blk_msg_send(bd->sock, BLK_MSG_DISCONNECT, NULL);
	reap(bd, BLK_WORKER_WAIT_MS, how, sizeof(how));
	elog(ELOG_DEBUG, "vbd %u/%s: worker %d %s", xenbus_dev_domid(bd->dev),
	     xenbus_dev_id(bd->dev), pid, how);
}
