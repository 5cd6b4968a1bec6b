/*
 * Who is creating or destroying a domain, and whether it still runs.
 *
 * A create records its intent before the hypervisor object exists
 * (/libxl/<id>/creating on KVM, /libxl/creating-<uuid> on Xen, where the
 * id comes later), a destroy before it starts (/libxl/<id>/destroying).
 * The value names the process that does it: "<pid> <start time>", the
 * start time being field 22 of /proc/<pid>/stat, so that a pid reused by
 * another process does not pass for the one that wrote it.  The monitor
 * finishes what a process that died left (libxl/monitor.c).
 *
 * Also here: the caller's cancel flag, and the test hook that stops a
 * create or destroy at a named point (ENSO_TEST_STOP_AT).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "libxl/runtime.h"

/* Field 22 of /proc/<pid>/stat, or 0 when the process is not there. */
static unsigned long long start_time(long pid)
{
	char path[64], buf[1024], *p;
	unsigned long long t = 0;
	ssize_t n;
	int fd, field;

	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = '\0';
	/* The command name (field 2) may hold spaces and ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return 0;
	for (field = 2; *p && field < 22; p++)
		if (*p == ' ')
			field++;
	if (field == 22 && sscanf(p, "%llu", &t) != 1)
		t = 0;
	/* A zombie has finished: it does nothing more. */
	if (strstr(buf, ") Z ") || strstr(buf, ") X "))
		return 0;
	return t;
}

void rt_owner_self(char *out, size_t len)
{
	long pid = (long)getpid();

	snprintf(out, len, "%ld %llu", pid, start_time(pid));
}

bool rt_owner_alive(const char *owner)
{
	unsigned long long t;
	long pid;

	if (!owner || sscanf(owner, "%ld %llu", &pid, &t) != 2 || pid <= 0)
		return false;	/* an old "1", or junk: nobody to wait for */
	return start_time(pid) == t && t != 0;
}

void enso_ctx_set_cancel(struct enso_ctx *ctx, volatile sig_atomic_t *flag)
{
	ctx->cancel = flag;
}

bool rt_cancelled(struct enso_ctx *ctx)
{
	return ctx->cancel && *ctx->cancel;
}

/* ENSO_TEST_STOP_AT=point[,point...]: at a point named there, leave a file
 * <run dir>/test-stop-<point> holding our pid, then wait for the cancel
 * flag (or a SIGKILL).  Nothing at all unless the variable is set. */
int rt_test_stop(struct enso_ctx *ctx, const char *point,
		 struct enso_error *err)
{
	const char *want = getenv("ENSO_TEST_STOP_AT"), *p;
	size_t n = strlen(point);
	char path[512];
	FILE *f;

	if (!want || !*want)
		return 0;
	for (p = want; (p = strstr(p, point)); p += n)
		if ((p == want || p[-1] == ',') && (!p[n] || p[n] == ','))
			break;
	if (!p)
		return 0;
	snprintf(path, sizeof(path), "%s/test-stop-%s", ctx->run_dir, point);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "%ld\n", (long)getpid());
		fclose(f);
	}
	while (!rt_cancelled(ctx)) {
		struct timespec ts = { 0, 20 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	unlink(path);
	return exl_fail(err, -ECANCELED, "interrupted (stopped at %s)", point);
}
