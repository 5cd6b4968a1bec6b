/*
 * xl migrate: upstream's options, messages and conversation
 * (tools/xl/xl_migrate.c's behaviour, docs/design/migration.md).  The
 * other end is `xl migrate-receive` run by a shell command: by default
 * "ssh <host> xl migrate-receive", or the -s command with the host and
 * the receiver's command line appended (a cluster engine's
 * "socat - TCP:host:port #" comments those out), or with -s "" the host
 * argument itself.  Its stdin and stdout are our stream and its answers.
 *
 * The rule: exactly one copy of the guest runs.  Until the receiver says
 * it has the guest, a failure resumes it here.  After we have given the
 * go-ahead, only the receiver's report tells where it runs: without one,
 * the guest stays paused here under <name>--migratedaway and the user
 * is told to look at both ends.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "enso-util.h"
#include "xl/xl.h"

struct child {
	pid_t pid;
	int send_fd, recv_fd;
};

/* sh -c rune, its stdin from send_fd, its stdout to recv_fd. */
static int child_start(const char *rune, struct child *c)
{
	int to[2], from[2];

	if (pipe2(to, O_CLOEXEC) < 0)
		goto fail;
	if (pipe2(from, O_CLOEXEC) < 0) {
		close(to[0]);
		close(to[1]);
		goto fail;
	}
	c->pid = fork();
	if (c->pid < 0) {
		close(to[0]); close(to[1]); close(from[0]); close(from[1]);
		goto fail;
	}
	if (c->pid == 0) {
		signal(SIGPIPE, SIG_DFL);
		if (dup2(to[0], 0) < 0 || dup2(from[1], 1) < 0)
			_exit(127);
		execl("/bin/sh", "sh", "-c", rune, (char *)NULL);
		fprintf(stderr, "xl: cannot run /bin/sh: %s\n", strerror(errno));
		_exit(127);
	}
	close(to[0]);
	close(from[1]);
	c->send_fd = to[1];
	c->recv_fd = from[0];
	return 0;
fail:
	fprintf(stderr, "xl: cannot start the migration command: %s\n",
		strerror(errno));
	return -1;
}

/* Our side closed; what the other end still sends is read to its end
 * (bounded), then how the command ended: at once when it has gone, as it
 * usually has by then, else within a second, else it is killed. */
static void child_report(struct child *c)
{
	int status = 0, i;
	pid_t r = 0;

	if (c->send_fd >= 0)
		close(c->send_fd);
	c->send_fd = -1;
	xl_drain(c->recv_fd, 10000);
	close(c->recv_fd);
	c->recv_fd = -1;
	for (i = 0; i < 200 && (r = waitpid(c->pid, &status, WNOHANG)) == 0; i++)
		poll(NULL, 0, 5);
	if (r == 0) {
		kill(c->pid, SIGKILL);
		waitpid(c->pid, &status, 0);
		fprintf(stderr, "xl: migration child [%ld] did not end; killed\n",
			(long)c->pid);
		return;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status))
		fprintf(stderr, "xl: migration child [%ld] exited with error status %d\n",
			(long)c->pid, WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		fprintf(stderr, "xl: migration child [%ld] died due to fatal signal %s\n",
			(long)c->pid, strsignal(WTERMSIG(status)));
}

static double now_s(void)
{
	return (double)monotonic_ms() / 1000.0;
}

struct show {
	bool on;
	double t0;
};

/* The line a user watches, overwritten in place. */
static bool show_progress(void *opaque, const struct enso_migrate_progress *p)
{
	struct show *s = opaque;

	if (s->on)
		fprintf(stderr,
			"\rmigration sender: round %u: %.1f MiB sent, %.1f MiB/s, %llu pages dirty, %.1f MiB left%s   ",
			p->round, p->bytes_sent / 1048576.0,
			p->rate_bps / 1048576.0,
			(unsigned long long)p->dirty_pages,
			p->remaining_bytes / 1048576.0,
			p->stopped ? " (guest stopped)" : "");
	return true;
}

/* The receiver's command, upstream's way: through ssh unless -s. */
static char *make_rune(const char *ssh, const char *host, bool tty,
		       bool no_daemon, bool debug, bool paused)
{
	char v[16] = "", *rune = NULL;
	int i;

	if (!*ssh)
		return strdup(host);
	if (xl_verbose) {
		strcpy(v, " -");
		for (i = 0; i < xl_verbose && i < 8; i++)
			strcat(v, "v");
	}
	if (asprintf(&rune, "exec %s %s xl%s%s migrate-receive%s%s%s", ssh,
		     host, tty ? " -t" : "", v, no_daemon ? " -e" : "",
		     debug ? " -d" : "", paused ? " -p" : "") < 0)
		return NULL;
	return rune;
}

struct mig {
	struct enso_ctx *ctx;
	uint32_t domid;
	const char *name;
	char *away;
	bool was_paused, debug;
	struct child child;
};

/* --debug: when each step happened (the host's monotonic clock, ms), to
 * line up with what the guest and the other end saw. */
static void step(const struct mig *m, const char *what)
{
	if (m->debug)
		fprintf(stderr, "migration sender: [%lld ms] %s\n", monotonic_ms(), what);
}

/* Before the receiver had the go-ahead: the guest runs here again. */
static int resume_here(struct mig *m, const char *why)
{
	struct enso_error err = { "" };

	child_report(&m->child);
	fprintf(stderr, "migration sender: Trying to resume at our end.\n");
	if (m->away)
		enso_domain_rename(m->ctx, m->domid, m->name, &err);
	if (enso_domain_migrate_resume(m->ctx, m->domid, m->was_paused, &err) == 0)
		fprintf(stderr, "migration sender: Resumed OK.\n");
	else
		fprintf(stderr, "xl: migration sender: %s\n", err.msg);
	fprintf(stderr, "%s\n", why);
	return 1;
}

static int failed_badly(struct mig *m)
{
	child_report(&m->child);
	fprintf(stderr,
		"** Migration failed during final handshake **\n"
		"Domain state is now undefined !\n"
		"Please CHECK AT BOTH ENDS for running instances, before renaming and\n"
		" resuming at most one instance.  Two simultaneous instances of the domain\n"
		" would probably result in SEVERE DISK CORRUPTION.\n");
	return 1;
}

static int converse(struct mig *m, const char *rune,
		    const struct enso_domain_config *override, bool tty)
{
	struct enso_migrate_progress last;
	struct enso_save_header hdr = { 0 };
	struct enso_error err = { "" };
	struct show show = { tty, now_s() };
	double t_done;
	unsigned char status;
	int sfd = m->child.send_fd, rfd = m->child.recv_fd, rc;

	if (xl_read_message(rfd, XL_MIG_BANNER, strlen(XL_MIG_BANNER),
			    "banner", rune)) {
		child_report(&m->child);
		return 1;
	}
	rc = enso_domain_migrate_begin(m->ctx, m->domid, sfd, override, &hdr,
				       &err);
	enso_save_header_dispose(&hdr);
	if (rc) {
		fprintf(stderr, "xl: cannot migrate domain %u: %s\n", m->domid,
			err.msg);
		child_report(&m->child);
		return 1;
	}
	step(m, "sending the guest's memory");
	xl_cancel_arm(m->ctx);
	rc = enso_domain_migrate_send(m->ctx, m->domid, sfd, show_progress,
				      &show, &last, &err);
	xl_cancel_disarm(m->ctx);
	t_done = now_s();
	step(m, "the guest's state is sent");
	if (tty)
		fputc('\n', stderr);
	if (rc) {
		fprintf(stderr, "migration sender: libxl_domain_suspend failed (rc=%d)\n",
			rc);
		fprintf(stderr, "xl: %s\n", err.msg);
		return resume_here(m, "Migration failed, resuming at sender.");
	}
	/* Renamed while the receiver still loads the last pages, not after
	 * it says so: the rename is then off the downtime.  Every failure
	 * from here to the go-ahead renames it back (resume_here). */
	if (asprintf(&m->away, "%s--migratedaway", m->name) < 0)
		m->away = NULL;
	if (!m->away || enso_domain_rename(m->ctx, m->domid, m->away, &err)) {
		fprintf(stderr, "xl: renaming the domain: %s\n",
			m->away ? err.msg : strerror(ENOMEM));
		free(m->away);
		m->away = NULL;
		return resume_here(m, "Migration failed, resuming at sender.");
	}
	if (xl_read_message(rfd, XL_MIG_READY, sizeof(XL_MIG_READY),
			    "ready message", rune))
		return resume_here(m, "Migration failed, resuming at sender.");
	step(m, "the receiver has it");
	fprintf(stderr, "migration sender: Target has acknowledged transfer.\n");
	fprintf(stderr, "migration sender: Giving target permission to start.\n");
	/* A go-ahead that could not be written never reached the
	 * receiver: the guest is still ours to resume. */
	if (xl_write_exact(sfd, XL_MIG_GO, sizeof(XL_MIG_GO),
			   "migration stream", "GO message"))
		return resume_here(m, "Migration failed, resuming at sender.");
	step(m, "go-ahead sent");
	if (xl_read_message(rfd, XL_MIG_REPORT, sizeof(XL_MIG_REPORT),
			    "success/failure report message", rune) ||
	    xl_read_exact(rfd, &status, 1, "migration ack stream",
			  "success/failure status"))
		return failed_badly(m);
	if (status) {
		fprintf(stderr, "migration sender: Target reports startup failure (rc=%d).\n",
			-(int)status);
		if (xl_read_message(rfd, XL_MIG_GO, sizeof(XL_MIG_GO),
				    "permission for sender to resume", rune))
			return failed_badly(m);
		return resume_here(m, "Migration failed due to problems at target.");
	}
	step(m, "the receiver runs it");
	fprintf(stderr, "migration sender: Target reports successful startup.\n");
	if (tty || xl_verbose)
		fprintf(stderr,
			"migration sender: %.1f MiB in %.2f s over %u rounds; downtime %.0f ms (guest stopped here until running there)\n",
			last.bytes_sent / 1048576.0, now_s() - show.t0, last.round,
			(double)last.downtime_ms + (now_s() - t_done) * 1000.0);
	if (enso_domain_destroy(m->ctx, m->domid, &err))
		fprintf(stderr, "xl: destroying the migrated-away domain %u: %s\n",
			m->domid, err.msg);
	step(m, "our copy destroyed");
	child_report(&m->child);
	fprintf(stderr, "Migration successful.\n");
	return 0;
}

int main_migrate(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "debug", no_argument, NULL, 'd' },
		{ "live", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct enso_domain_config override;
	struct enso_dominfo info;
	struct enso_error err = { "" };
	struct mig m = { .child = { -1, -1, -1 } };
	const char *ssh = "ssh", *config_file = NULL;
	bool debug = false, no_daemon = false, paused = false, tty;
	char *rune = NULL;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "+hC:s:epD", longopts, NULL)) != -1) {
		switch (opt) {
		case 'C': config_file = optarg; break;
		case 's': ssh = optarg; break;
		case 'e': no_daemon = true; break;
		case 'p': paused = true; break;
		case 'd': debug = true; break;
		case 'l': break;	/* every migration is live */
		case 'D':
			fprintf(stderr, "xl migrate: -D (keep the domain id) is not supported: ids are each host's own\n");
			return 1;
		case 'h': xl_usage_of("migrate"); return 0;
		default: xl_usage_of("migrate"); return 1;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "'xl migrate' requires at least 2 arguments.\n\n");
		xl_usage_of("migrate");
		return 2;
	}
	enso_config_init(&override);
	memset(&info, 0, sizeof(info));
	if (config_file &&
	    enso_config_parse_file(config_file, NULL, &override, &err)) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	m.ctx = xl_open();
	if (!m.ctx || xl_domid(m.ctx, argv[optind], &m.domid))
		goto out;
	if (enso_domain_info(m.ctx, m.domid, &info, &err)) {
		fprintf(stderr, "xl: %s\n", err.msg);
		goto out;
	}
	m.name = info.name;
	m.debug = debug;
	m.was_paused = info.paused;
	tty = xl_progress_cr || isatty(2) > 0;
	rune = make_rune(ssh, argv[optind + 1], tty, no_daemon, debug,
			 paused);
	if (!rune || child_start(rune, &m.child))
		goto out;
	rc = converse(&m, rune, config_file ? &override : NULL, tty);
out:
	free(rune);
	free(m.away);
	enso_dominfo_dispose(&info);
	enso_config_dispose(&override);
	enso_ctx_close(m.ctx);
	return rc;
}
