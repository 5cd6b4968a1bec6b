/*
 * The domain's QEMU as a process and the QMP sockets that drive it: where
 * its files live (<run_dir>/qemu/<domid>/: qmp.sock, events.sock,
 * qemu.pid), starting it, finding it (by pid file, or by its command line
 * when that is missing), ending it, and one QMP command at a time.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"
#include "libxl/services.h"
#include "backends/backend.h"

#define QMP_TIMEOUT_MS 5000

char *kvm_domain_dir(struct enso_ctx *ctx, uint32_t domid)
{
	char *p = NULL;

	if (asprintf(&p, "%s/qemu/%u", rt_run_dir(ctx), domid) < 0)
		return NULL;
	return p;
}

static char *dom_file(struct enso_ctx *ctx, uint32_t domid, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/qemu/%u/%s", rt_run_dir(ctx), domid, name) < 0)
		return NULL;
	return p;
}

pid_t kvm_qemu_pid(struct enso_ctx *ctx, uint32_t domid)
{
	char *path = dom_file(ctx, domid, "qemu.pid");
	FILE *f = path ? fopen(path, "r") : NULL;
	long pid = 0;

	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	free(path);
	if (pid > 0 && kill((pid_t)pid, 0) == 0)
		return (pid_t)pid;
	return 0;
}

int kvm_qmp_open(struct enso_ctx *ctx, uint32_t domid, const char *sock,
		    struct qmp **q, struct enso_error *err)
{
	char *path = dom_file(ctx, domid, sock);
	char msg[256];
	int rc;

	if (!path)
		return -ENOMEM;
	if (!kvm_qemu_pid(ctx, domid)) {
		free(path);
		return exl_fail(err, -ENOENT,
				"domain %u: its QEMU is not running", domid);
	}
	rc = qmp_connect(path, QMP_TIMEOUT_MS, q, msg, sizeof(msg));
	free(path);
	if (rc)
		return exl_fail(err, rc, "domain %u: %s", domid, msg);
	return 0;
}

/* One QMP command on an open connection; *ret optional. */
int kvm_qmp_call(struct qmp *q, uint32_t domid, const char *cmd,
		    const char *args, yajl_val *ret, struct enso_error *err)
{
	char msg[256];
	int rc = qmp_command(q, cmd, args, QMP_TIMEOUT_MS, ret, msg, sizeof(msg));

	if (rc)
		return exl_fail(err, rc, "domain %u: %s", domid, msg);
	return 0;
}

/* One QMP command on the command socket; *ret optional. */
int kvm_qmp_run(struct enso_ctx *ctx, uint32_t domid, const char *cmd,
		const char *args, yajl_val *ret, struct enso_error *err)
{
	struct qmp *q;
	int rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);

	if (rc)
		return rc;
	rc = kvm_qmp_call(q, domid, cmd, args, ret, err);
	qmp_close(q);
	return rc;
}

/* The last lines QEMU wrote to its log, for an error message. */
static void log_tail(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[256];

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line)
			snprintf(out, len, "%s", line);
	}
	fclose(f);
}

int kvm_spawn_qemu(struct argv *a, const char *log_path, const char *note,
		   struct enso_error *err)
{
	int status, logfd;
	pid_t pid;
	char tail[300];

	logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return exl_fail(err, -errno, "opening %s: %s", log_path,
				strerror(errno));
	if (note && *note) {
		/* Best effort: the log is for reading, QEMU runs without it. */
		ssize_t w = write(logfd, note, strlen(note));

		(void)w;
	}
	pid = fork();
	if (pid < 0) {
		close(logfd);
		return exl_fail(err, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execvp(a->v[0], a->v);
		fprintf(stderr, "cannot run %s: %s\n", a->v[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	/* With -daemonize this returns once QEMU is set up (or failed). */
	if (waitpid(pid, &status, 0) < 0)
		return exl_fail(err, -errno, "waiting for QEMU: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_tail(log_path, tail, sizeof(tail));
		return exl_fail(err, -EIO, "QEMU failed to start: %s (log: %s)",
				*tail ? tail : "no message", log_path);
	}
	return 0;
}

/* The QEMU of domid by its command line (-pidfile <dir>/qemu.pid), for
 * when its pid file is not there: a create killed while QEMU was starting
 * leaves a QEMU that writes it late, or never. */
pid_t kvm_find_qemu_by_cmdline(struct enso_ctx *ctx, uint32_t domid)
{
	char *want = dom_file(ctx, domid, "qemu.pid");
	pid_t found = 0;
	DIR *d = opendir("/proc");
	struct dirent *e;

	while (want && d && !found && (e = readdir(d))) {
		char path[300], buf[8192];
		ssize_t n, off;
		int fd;

		if (!isdigit((unsigned char)e->d_name[0]))
			continue;
		snprintf(path, sizeof(path), "/proc/%s/cmdline", e->d_name);
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n <= 0)
			continue;
		buf[n] = '\0';
		for (off = 0; off < n; off += (ssize_t)strlen(buf + off) + 1) {
			if (!strcmp(buf + off, want)) {
				found = (pid_t)atol(e->d_name);
				break;
			}
		}
	}
	if (d)
		closedir(d);
	free(want);
	return found == getpid() ? 0 : found;
}

void kvm_kill_qemu(struct enso_ctx *ctx, uint32_t domid, bool gently)
{
	pid_t pid = kvm_qemu_pid(ctx, domid);
	int i;

	if (!pid)
		pid = kvm_find_qemu_by_cmdline(ctx, domid);
	if (!pid)
		return;
	if (!gently) {
		kill(pid, SIGKILL);
		for (i = 0; i < 100 && kill(pid, 0) == 0; i++)
			usleep(5000);
		return;
	}
	kill(pid, SIGTERM);
	for (i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(20000);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
}

void kvm_remove_domain_dir(struct enso_ctx *ctx, uint32_t domid)
{
	static const char *const files[] = { "qmp.sock", "events.sock",
					     "qemu.pid" };
	char *dir = kvm_domain_dir(ctx, domid);
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *f = dom_file(ctx, domid, files[i]);

		if (f)
			unlink(f);
		free(f);
	}
	if (dir)
		rmdir(dir);
	free(dir);
}
