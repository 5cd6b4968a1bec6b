/*
 * One libxenguest call (xc_domain_save, xc_domain_restore) in a child
 * process, as upstream runs its save helper: a stream libxenguest chokes
 * on, or a bug of its own, costs the child, never xl or the library's
 * caller.  The child opens its own control interface (a handle inherited
 * across fork must not be used: xenctrl.h) and does nothing but the call;
 * what the call needs of the toolstack meanwhile (suspending the guest)
 * it asks the parent, which does it with the context's own handles.
 *
 * Parent and child talk over a SOCK_SEQPACKET pair in fixed-size typed
 * messages, each checked for size and type: the child asks (ASK, a
 * question number and its figures), the parent answers (ANSWER, a value
 * or -errno), and the
 * child ends with DONE (its result, libxenguest's last words, the frames
 * a restore found).  A child that dies without DONE is said as such, with
 * its signal or exit status; the parent's death kills the child
 * (PR_SET_PDEATHSIG), so no helper outlives the xl that started it.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/xen/xen.h"

enum helper_msg_type { MSG_ASK = 1, MSG_ANSWER, MSG_DONE };

struct helper_msg {
	uint32_t type;		/* enum helper_msg_type */
	uint32_t question;	/* MSG_ASK: what the child asks */
	int32_t rc;		/* MSG_ANSWER: >= 0 or -errno; MSG_DONE: 0
				 * or -errno */
	uint32_t pad;
	uint64_t arg[XEN_HELPER_ARGS];	/* MSG_ASK: the question's figures */
	uint64_t store_mfn, console_mfn;	/* MSG_DONE */
	char text[656];		/* MSG_DONE: libxenguest's first and last errors */
};

struct xen_helper {
	int sock;
	uint64_t store_mfn, console_mfn;
};

/* 0, or -errno when the peer is gone or spoke out of turn. */
static int msg_send(int sock, const struct helper_msg *m)
{
	ssize_t n;

	do
		n = send(sock, m, sizeof(*m), MSG_NOSIGNAL);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == sizeof(*m) ? 0 : -EPROTO;
}

/* 1 with *m, 0 when the peer has closed, -errno; a message of another
 * size than ours is -EPROTO. */
static int msg_recv(int sock, struct helper_msg *m)
{
	ssize_t n;

	do
		n = recv(sock, m, sizeof(*m), MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	if (n == 0)
		return 0;
	if (n != sizeof(*m))
		return -EPROTO;
	m->text[sizeof(m->text) - 1] = '\0';
	return 1;
}

int xen_helper_ask(struct xen_helper *h, uint32_t question,
		   const uint64_t arg[XEN_HELPER_ARGS])
{
	struct helper_msg m = { .type = MSG_ASK, .question = question };
	int r;

	if (arg)
		memcpy(m.arg, arg, sizeof(m.arg));
	r = msg_send(h->sock, &m);

	if (r)
		return r;
	r = msg_recv(h->sock, &m);
	if (r <= 0)
		return r ? r : -EPIPE;
	return m.type == MSG_ANSWER ? m.rc : -EPROTO;
}

void xen_helper_results(struct xen_helper *h, uint64_t store_mfn,
			uint64_t console_mfn)
{
	h->store_mfn = store_mfn;
	h->console_mfn = console_mfn;
}

static void __attribute__((noreturn))
child(int sock, pid_t parent, const struct xen_helper_job *job)
{
	struct xen_helper h = { .sock = sock };
	struct helper_msg m = { .type = MSG_DONE };
	struct xen_logger log;
	xc_interface *xch;

	/* xl's interrupt handler only sets its flag: a Ctrl-C must end the
	 * helper, whose parent then removes what was built. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);	/* the parent died before the line above */
	xen_logger_init(&log);
	xch = xc_interface_open(&log.vtable, &log.vtable, 0);
	if (!xch) {
		m.rc = -(errno ? errno : ENODEV);
		snprintf(m.text, sizeof(m.text),
			 "the helper cannot open Xen's control interface: %s",
			 strerror(-m.rc));
	} else {
		m.rc = job->run(xch, &h, job->arg);
		if (m.rc > 0)
			m.rc = -EIO;
		snprintf(m.text, sizeof(m.text), "%s%s%s", log.first,
			 strcmp(log.first, log.last) ? "; " : "",
			 strcmp(log.first, log.last) ? log.last : "");
		m.store_mfn = h.store_mfn;
		m.console_mfn = h.console_mfn;
		xc_interface_close(xch);
	}
	msg_send(sock, &m);
	_exit(0);
}

/* How a child that sent no DONE ended, for the message. */
static void how_it_died(int status, char *out, size_t len)
{
	if (WIFSIGNALED(status))
		snprintf(out, len, "killed by signal %d (%s)", WTERMSIG(status),
			 strsignal(WTERMSIG(status)));
	else if (WIFEXITED(status))
		snprintf(out, len, "exited with status %d", WEXITSTATUS(status));
	else
		snprintf(out, len, "ended");
}

int xen_helper_run(struct enso_ctx *ctx, struct xen_helper_job *job,
		   struct enso_error *err)
{
	struct enso_error asked = { "" };
	struct helper_msg m;
	bool done = false;
	int sv[2], status = 0, rc = 0, r;
	pid_t pid, self = getpid();

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return exl_fail(err, -errno, "%s: a socket for the helper: %s",
				job->what, strerror(errno));
	pid = fork();
	if (pid < 0) {
		rc = exl_fail(err, -errno, "%s: starting the helper: %s",
			      job->what, strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return rc;
	}
	if (pid == 0) {
		close(sv[0]);
		child(sv[1], self, job);
	}
	close(sv[1]);
	if (job->started)
		rc = job->started(ctx, job->arg, err);
	while (!done && !rc) {
		r = msg_recv(sv[0], &m);
		if (r == 0)
			break;	/* died: said below, from its status */
		if (r < 0) {
			rc = exl_fail(err, r, "%s: talking to the helper: %s",
				      job->what, strerror(-r));
			break;
		}
		switch (m.type) {
		case MSG_ASK: {
			struct helper_msg a = { .type = MSG_ANSWER };

			/* The first failure is what the user needs; the
			 * child's own words come after it. */
			a.rc = job->answer ? job->answer(ctx, m.question,
							 m.arg, job->arg,
							 asked.msg[0] ? NULL : &asked) :
					     -ENOSYS;
			r = msg_send(sv[0], &a);
			if (r)
				rc = exl_fail(err, r, "%s: answering the helper: %s",
					      job->what, strerror(-r));
			break;
		}
		case MSG_DONE:
			done = true;
			break;
		default:
			rc = exl_fail(err, -EPROTO,
				      "%s: the helper sent a message of unknown type %u",
				      job->what, m.type);
		}
	}
	close(sv[0]);
	if (rc)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc)
		return rc;
	if (!done && WIFSIGNALED(status) &&
	    (WTERMSIG(status) == SIGINT || WTERMSIG(status) == SIGTERM))
		/* The user's interrupt (a Ctrl-C reaches the whole process
		 * group): the caller undoes what it built, as for its own. */
		return exl_fail(err, -ECANCELED, "%s: interrupted by %s", job->what,
				strsignal(WTERMSIG(status)));
	if (!done) {
		char how[96];

		how_it_died(status, how, sizeof(how));
		return exl_fail(err, -EIO, "%s: the helper process %s before it finished%s%s",
				job->what, how, asked.msg[0] ? "; " : "",
				asked.msg);
	}
	job->store_mfn = m.store_mfn;
	job->console_mfn = m.console_mfn;
	if (!m.rc)
		return 0;
	if (asked.msg[0])
		return exl_fail(err, m.rc, "%s: %s (libxenguest: %s)", job->what,
				asked.msg, m.text[0] ? m.text : strerror(-m.rc));
	return exl_fail(err, m.rc, "%s: %s", job->what,
			m.text[0] ? m.text : strerror(-m.rc));
}
