/* What every daemon does to start: directories, forking once it serves,
 * letting go of the terminal, the pid file; and whether this is Xen's
 * control domain. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enso-util.h"

int mkdir_p(const char *dir)
{
	char *p = strdup(dir), *s;
	int rc = 0;

	if (!p)
		return -ENOMEM;
	/* Each ancestor in turn, then the directory itself. */
	for (s = strchr(p + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		if (mkdir(p, 0755) < 0 && errno != EEXIST) {
			rc = -errno;
			break;
		}
		if (!s)
			break;
		*s = '/';
	}
	free(p);
	return rc;
}

bool xen_control_domain(char *why, size_t len)
{
	char caps[128] = "";
	int fd = open("/proc/xen/capabilities", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0) {
		if (why)
			snprintf(why, len, "no /proc/xen/capabilities (%s): not running on Xen, or xenfs is not mounted",
				 strerror(errno));
		return false;
	}
	n = read(fd, caps, sizeof(caps) - 1);
	close(fd);
	if (n < 0)
		n = 0;
	caps[n] = '\0';
	if (strstr(caps, "control_d"))
		return true;
	caps[strcspn(caps, "\n")] = '\0';
	if (why)
		snprintf(why, len, "/proc/xen/capabilities reads '%s', not control_d: not Xen's control domain",
			 caps);
	return false;
}

int daemon_fork(int *ready_fd)
{
	int fds[2];
	pid_t pid;
	char ok;

	if (pipe2(fds, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(fds[1]);
		_exit(read(fds[0], &ok, 1) == 1 ? 0 : 1);
	}
	close(fds[0]);
	setsid();
	*ready_fd = fds[1];
	return 0;
}

int daemon_ready(int ready_fd)
{
	int rc = write(ready_fd, "1", 1) == 1 ? 0 : -EPIPE;

	close(ready_fd);
	return rc;
}

void daemon_detach_stdio(void)
{
	int fd = open("/dev/null", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

int log_to_file(const char *path, unsigned mode)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC,
		      (mode_t)mode);

	if (fd < 0)
		return -errno;
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	return 0;
}

int daemon_write_pid(const char *path)
{
	FILE *f = fopen(path, "we");
	int err;

	if (!f) {
		err = errno;
		elog(ELOG_ERR, "cannot write pid file %s: %s", path,
		     strerror(err));
		return -err;
	}
	fprintf(f, "%ld\n", (long)getpid());
	fclose(f);
	return 0;
}

int pid_file_lock(const char *path, long pid)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno == EWOULDBLOCK ? EALREADY : errno;

		close(fd);
		return -e;
	}
	if (ftruncate(fd, 0) == 0)
		dprintf(fd, "%ld\n", pid);
	return fd;
}

bool pid_file_locked(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool held;

	if (fd < 0)
		return false;
	held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
	close(fd);
	return held;
}

static int cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

int close_fds_except(const int *keep, unsigned n)
{
	int *k = malloc((n + 1) * sizeof(*k));
	unsigned i, m = 0;
	int from = 3;

	if (!k)
		return -ENOMEM;
	for (i = 0; i < n; i++)
		if (keep[i] >= 3)
			k[m++] = keep[i];
	qsort(k, m, sizeof(*k), cmp_int);
	/* The gaps between the kept ones, then everything above them. */
	for (i = 0; i < m; i++) {
		if (k[i] > from && close_range((unsigned)from,
					       (unsigned)k[i] - 1, 0) < 0)
			goto fail;
		from = k[i] + 1;
	}
	if (close_range((unsigned)from, ~0u, 0) < 0)
		goto fail;
	free(k);
	return 0;
fail:
	free(k);
	return -errno;
}
