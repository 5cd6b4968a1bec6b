/*
 * xl monitord: the host's one monitor process (libxl/monitor.c), and how
 * xl create makes sure it runs.  Enso's own command: upstream keeps one xl
 * child per domain instead.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "util/enso-util.h"
#include "xl/xl.h"

static volatile sig_atomic_t stop_requested;

static void on_stop(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void monitor_log(const char *msg, void *opaque)
{
	char when[32];
	time_t now = time(NULL);

	(void)opaque;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
	fprintf(stderr, "%s %s\n", when, msg);
}

static void monitor_ready(void *opaque)
{
	int *ready_fd = opaque;

	if (*ready_fd >= 0)
		daemon_ready(*ready_fd);
	*ready_fd = -1;
}

/* stdout and stderr to the monitor's log, stdin from /dev/null. */
static int redirect_to_log(void)
{
	const char *dir = getenv("ENSO_LOGDIR");
	char path[512];
	int fd;

	if (!dir || !*dir)
		dir = "/var/log/enso";
	mkdir_p(dir);
	snprintf(path, sizeof(path), "%s/xl-monitor.log", dir);
	fd = log_to_file(path, 0644);
	if (fd < 0) {
		fprintf(stderr, "xl monitord: %s: %s\n", path, strerror(-fd));
		return -1;
	}
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		dup2(fd, 0);
		close(fd);
	}
	return 0;
}

int main_monitord(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct sigaction sa = { .sa_handler = on_stop };
	bool foreground = false;
	struct enso_ctx *ctx;
	int ready_fd = -1, opt, rc;

	while ((opt = xl_getopt(argc, argv, "+hF", "monitord")) != -1) {
		switch (opt) {
		case 'F': foreground = true; break;
		case 'h': return 0;
		default: return 1;
		}
	}
	if (!foreground) {
		if (redirect_to_log())
			return 1;
		rc = daemon_fork(&ready_fd);
		if (rc) {
			fprintf(stderr, "xl monitord: fork: %s\n", strerror(-rc));
			return 1;
		}
		if (chdir("/"))
			return 1;
	}
	/* A test's stop point is for the xl that started us, never for the
	 * monitor's own creates and destroys. */
	unsetenv("ENSO_TEST_STOP_AT");
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGHUP, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);

	if (enso_ctx_open(&ctx, 0, &err)) {
		monitor_log(err.msg, NULL);
		return 1;
	}
	rc = enso_monitor_run(ctx, &stop_requested, monitor_log, &ready_fd,
			      monitor_ready, &err);
	if (rc == -EALREADY) {
		/* What the caller wanted: a monitor runs. */
		monitor_ready(&ready_fd);
		rc = 0;
	} else if (rc) {
		monitor_log(err.msg, NULL);
	} else {
		monitor_log("monitor stopped", NULL);
	}
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}

int xl_monitor_ensure(struct enso_ctx *ctx)
{
	int status;
	pid_t pid;

	if (enso_monitor_running(ctx))
		return 0;
	pid = fork();
	if (pid < 0) {
		perror("xl: fork");
		return -1;
	}
	if (pid == 0) {
		char self[4096];
		ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

		/* A fresh image, not a copy of this command's memory; by its
		 * real path, so that ps shows it as xl. */
		if (n > 0)
			self[n] = '\0';
		else
			snprintf(self, sizeof(self), "/proc/self/exe");
		execl(self, "xl", "monitord", (char *)NULL);
		fprintf(stderr, "xl: starting the monitor: %s\n", strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
	    WEXITSTATUS(status)) {
		fprintf(stderr, "xl: the domain monitor did not start; see xl-monitor.log in the log directory\n");
		return -1;
	}
	return 0;
}
