/*
 * A user's hotplug script (xl.cfg script=): run with the arguments and
 * environment upstream's libxl gives it, in a process group of its own so
 * that a timeout takes whatever it started too, its output kept so that a
 * failure can be quoted to the user.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "hotplug/hotplug.h"
#include "hotplug/private.h"

extern char **environ;

/* The output kept: its last OUT_KEEP bytes (the end says what failed). */
#define OUT_KEEP 4096
/* Lines of it quoted in msg. */
#define OUT_LINES 5

struct output {
	char buf[OUT_KEEP];
	size_t len;
};

static void keep(struct output *o, const char *p, size_t n)
{
	if (n >= OUT_KEEP) {
		p += n - OUT_KEEP;
		n = OUT_KEEP;
	}
	if (o->len + n > OUT_KEEP) {
		size_t drop = o->len + n - OUT_KEEP;

		memmove(o->buf, o->buf + drop, o->len - drop);
		o->len -= drop;
	}
	memcpy(o->buf + o->len, p, n);
	o->len += n;
}

/* The last OUT_LINES lines of o, joined by " | ". */
static void tail(const struct output *o, char *out, size_t outlen)
{
	size_t end = o->len, start, lines = 0, used = 0;

	while (end && (o->buf[end - 1] == '\n' || o->buf[end - 1] == ' '))
		end--;
	start = end;
	while (start && lines < OUT_LINES)
		if (o->buf[--start] == '\n' && ++lines == OUT_LINES)
			start++;
	out[0] = '\0';
	for (size_t i = start; i < end && used + 4 < outlen; i++) {
		char c = o->buf[i];

		if (c == '\n') {
			used += (size_t)snprintf(out + used, outlen - used, " | ");
		} else {
			out[used++] = c >= ' ' && c != 0x7f ? c : '?';
			out[used] = '\0';
		}
	}
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* environ with env's settings replacing or added; NULL: out of memory. */
static char **make_env(const char *const *env)
{
	size_t n = 0, m = 0, k = 0;
	char **v;

	while (environ[n])
		n++;
	while (env && env[m])
		m++;
	v = calloc(n + m + 1, sizeof(*v));
	if (!v)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		size_t kl = strcspn(environ[i], "=");
		bool replaced = false;

		for (size_t j = 0; j < m && !replaced; j++)
			replaced = !strncmp(env[j], environ[i], kl) &&
				   env[j][kl] == '=';
		if (!replaced)
			v[k++] = environ[i];
	}
	for (size_t j = 0; j < m; j++)
		v[k++] = (char *)env[j];
	return v;
}

/* Reads what the script wrote and waits for it, until deadline. */
static int collect(pid_t pid, int fd, long long deadline, struct output *o,
		   int *status)
{
	bool eof = false;
	char buf[1024];

	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		long long left = deadline - now_ms();
		pid_t w = waitpid(pid, status, WNOHANG);
		ssize_t n;

		if (w == pid) {
			/* What it left in the pipe; anything it started
			 * and left holding the pipe is not waited for. */
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				keep(o, buf, (size_t)n);
			return 0;
		}
		if (w < 0 && errno != EINTR)
			return -errno;
		if (left <= 0)
			return -ETIMEDOUT;
		if (eof) {
			usleep(10000);
			continue;
		}
		if (poll(&p, 1, left > 50 ? 50 : (int)left) > 0) {
			n = read(fd, buf, sizeof(buf));
			if (n > 0)
				keep(o, buf, (size_t)n);
			else if (n == 0 || errno != EAGAIN)
				eof = true;
		}
	}
}

int hp_script_run(const char *const *argv, const char *const *env,
		  int timeout_ms, int *status, char *msg, size_t msglen)
{
	struct output *o = NULL;
	char last[768];
	char **envp = NULL;
	int pipefd[2] = { -1, -1 }, null = -1, st = 0, rc;
	pid_t pid;

	if (status)
		*status = 0;
	if (!argv || !argv[0] || argv[0][0] != '/')
		return hp_fail(msg, msglen, -EINVAL,
			       "script %s: not an absolute path",
			       argv && argv[0] ? argv[0] : "(none)");
	o = calloc(1, sizeof(*o));
	envp = o ? make_env(env) : NULL;
	null = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (!envp || null < 0 || pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
		rc = hp_fail(msg, msglen, envp ? -errno : -ENOMEM,
			     "script %s: setting up", argv[0]);
		goto out;
	}
	pid = fork();
	if (pid < 0) {
		rc = hp_fail(msg, msglen, -errno, "script %s: fork", argv[0]);
		goto out;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here. */
		setpgid(0, 0);
		dup2(null, 0);
		dup2(pipefd[1], 1);
		dup2(pipefd[1], 2);
		signal(SIGPIPE, SIG_DFL);
		execve(argv[0], (char *const *)argv, envp);
		_exit(127);
	}
	/* Both sides, so a kill below never races the child's own call. */
	setpgid(pid, pid);
	close(pipefd[1]);
	pipefd[1] = -1;
	rc = collect(pid, pipefd[0], now_ms() + timeout_ms, o, &st);
	if (rc == -ETIMEDOUT) {
		/* Before the wait: the group's id is still the child's. */
		kill(-pid, SIGKILL);
		waitpid(pid, &st, 0);
	}
	if (!rc && !(WIFEXITED(st) && WEXITSTATUS(st) == 0))
		rc = -EIO;
	tail(o, last, sizeof(last));
	if (rc == -ETIMEDOUT)
		hp_fail(msg, msglen, 0, "script %s: killed after %d ms; its output: %s",
			argv[0], timeout_ms, *last ? last : "(none)");
	else if (rc == -EIO && WIFEXITED(st))
		hp_fail(msg, msglen, 0, "script %s: exit status %d%s; its output: %s",
			argv[0], WEXITSTATUS(st),
			WEXITSTATUS(st) == 127 ? " (not run: missing or not executable?)" : "",
			*last ? last : "(none)");
	else if (rc == -EIO)
		hp_fail(msg, msglen, 0, "script %s: killed by signal %d; its output: %s",
			argv[0], WTERMSIG(st), *last ? last : "(none)");
	else if (rc)
		hp_fail(msg, msglen, rc, "script %s: waiting for it", argv[0]);
	if (status)
		*status = st;
out:
	free(o);
	free(envp);
	if (null >= 0)
		close(null);
	if (pipefd[0] >= 0)
		close(pipefd[0]);
	if (pipefd[1] >= 0)
		close(pipefd[1]);
	return rc;
}
