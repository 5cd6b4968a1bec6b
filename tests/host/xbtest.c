/*
 * tests/host/xbtest.c: the scaffolding of the xenbus engines' host tests
 * (xbtest.h).
 */
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <xenstore.h>

#include "xbtest.h"

struct xs_handle *xbt_xs;
struct evloop *xbt_loop;
struct xenbus_transport *xbt_tp;
struct xenbus *xbt_core;
int xbt_failed;

static const char *suite = "xbtest";
static struct xs_handle *backend_xs;

void xbt_check(bool ok, const char *name, const char *fmt, ...)
{
	char why[512] = "";
	va_list ap;

	if (ok) {
		printf("ok - %s: %s\n", suite, name);
	} else {
		va_start(ap, fmt);
		vsnprintf(why, sizeof(why), fmt, ap);
		va_end(ap);
		printf("not ok - %s: %s: %s\n", suite, name, why);
		xbt_failed = 1;
	}
	fflush(stdout);
}

int xbt_open(const char *name, const struct xenbus_engine *engine,
	     void *engine_data)
{
	int rc;

	suite = name;
	elog_open(name, getenv("XBT_DEBUG") ? ELOG_DEBUG : ELOG_INFO);
	if (!getenv("XENSTORED_PATH")) {
		printf("not ok - %s: XENSTORED_PATH is not set\n", suite);
		return -1;
	}
	xbt_xs = xs_open(XS_OPEN_SOCKETONLY);
	backend_xs = xs_open(XS_OPEN_SOCKETONLY);
	xbt_loop = evloop_new();
	rc = xenbus_transport_shm_open(0, &xbt_tp);
	if (!xbt_xs || !backend_xs || !xbt_loop || rc < 0) {
		printf("not ok - %s: set up: store, loop or transport\n", suite);
		return -1;
	}
	rc = xenbus_open(&(struct xenbus_args){ .xs = backend_xs,
						.loop = xbt_loop,
						.transport = xbt_tp,
						.engine = engine,
						.engine_data = engine_data },
			 0, &xbt_core);
	xbt_check(rc == 0, "the core opens over the shm transport", "%s",
		  strerror(-rc));
	return rc < 0 ? -1 : 0;
}

void xbt_close(void)
{
	xenbus_close(xbt_core);
	xbt_check_live(0, 0, "close: the core leaves nothing behind");
	xenbus_transport_close(xbt_tp);
	evloop_free(xbt_loop);
	xs_close(backend_xs);
	xs_close(xbt_xs);
}

bool xbt_write(const char *dir, const char *key, const char *fmt, ...)
{
	char path[256], val[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	if (xs_write(xbt_xs, XBT_NULL, path, val, strlen(val)))
		return true;
	fprintf(stderr, "# write %s: %s\n", path, strerror(errno));
	return false;
}

const char *xbt_read(const char *dir, const char *key)
{
	static char out[256];
	char path[256], *v;
	unsigned int len;

	snprintf(path, sizeof(path), "%s/%s", dir, key);
	v = xs_read(xbt_xs, XBT_NULL, path, &len);
	snprintf(out, sizeof(out), "%s", v ? v : "");
	free(v);
	return out;
}

bool xbt_pump(bool (*cond)(const void *), const void *arg)
{
	struct timespec t0, now;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		if (cond(arg))
			return true;
		evloop_run_once(xbt_loop, 20);
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - t0.tv_sec > 5)
			return cond(arg);
	}
}

int xbt_state(const char *be)
{
	return atoi(xbt_read(be, "state"));
}

struct want {
	const char *be;
	int state;
};

static bool state_is(const void *arg)
{
	const struct want *w = arg;

	return xbt_state(w->be) == w->state;
}

bool xbt_wait_state(const char *be, int state)
{
	struct want w = { be, state };

	return xbt_pump(state_is, &w);
}

void xbt_check_state(const char *be, int state, const char *name)
{
	bool ok = xbt_wait_state(be, state);

	xbt_check(ok, name, "backend state %s (%s), not %s",
		  xenbus_state_name(xbt_state(be)), xbt_read(be, "state"),
		  xenbus_state_name(state));
}

void xbt_check_refused(const char *be, const char *what, const char *name)
{
	char err[256];

	xbt_wait_state(be, XENBUS_CLOSED);
	snprintf(err, sizeof(err), "%s", xbt_read(be, "error"));
	xbt_check(xbt_state(be) == XENBUS_CLOSED && strstr(err, what), name,
		  "state %s, error node \"%s\" (wanted Closed and \"%s\")",
		  xenbus_state_name(xbt_state(be)), err, what);
}

void xbt_reopen(const char *fe, const char *be)
{
	xbt_write(fe, "state", "%d", XENBUS_CLOSING);
	xbt_wait_state(be, XENBUS_CLOSING);
	xbt_write(fe, "state", "%d", XENBUS_CLOSED);
	xbt_wait_state(be, XENBUS_CLOSED);
	xbt_write(fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(be, XENBUS_INITWAIT);
}

static bool none_left(const void *arg)
{
	(void)arg;
	return xenbus_device_count(xbt_core) == 0;
}

bool xbt_no_devices(void)
{
	return xbt_pump(none_left, NULL);
}

void xbt_check_live(unsigned maps, unsigned chans, const char *name)
{
	unsigned m = 99, c = 99;

	xenbus_shm_live(xbt_tp, &m, &c);
	xbt_check(m == maps && c == chans, name,
		  "%u mappings, %u channels alive (wanted %u, %u)", m, c, maps,
		  chans);
}

int xbt_guest_init(struct xbt_guest *g, uint32_t domid, uint32_t npages)
{
	size_t len = (size_t)npages * XENBUS_PAGE_SIZE;

	g->domid = domid;
	g->npages = npages;
	g->mem = MAP_FAILED;
	g->memfd = memfd_create("xbt-guest", MFD_CLOEXEC);
	if (g->memfd < 0 || ftruncate(g->memfd, (off_t)len) < 0)
		return -errno;
	g->mem = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, g->memfd,
		      0);
	if (g->mem == MAP_FAILED)
		return -errno;
	return xenbus_shm_grant(xbt_tp, domid, g->memfd, npages);
}

void xbt_guest_fini(struct xbt_guest *g)
{
	if (g->mem != MAP_FAILED)
		munmap(g->mem, (size_t)g->npages * XENBUS_PAGE_SIZE);
	if (g->memfd >= 0)
		close(g->memfd);
}

void *xbt_page(const struct xbt_guest *g, uint32_t ref)
{
	return g->mem + (size_t)(ref % g->npages) * XENBUS_PAGE_SIZE;
}

int xbt_channel(const struct xbt_guest *g, uint32_t port, int *kick,
		int *note)
{
	*kick = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	*note = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (*kick < 0 || *note < 0)
		return -errno;
	return xenbus_shm_port(xbt_tp, g->domid, port, *kick, *note);
}

int xbt_device_add(const char *type, const struct xbt_guest *g,
		   unsigned devid, const char *fe_at, const char *const *extra,
		   char *fe, char *be)
{
	bool ok;

	snprintf(fe, 128, "/local/domain/%u/device/%s/%u", g->domid, type,
		 devid);
	snprintf(be, 128, "/local/domain/0/backend/%s/%u/%u", type, g->domid,
		 devid);
	ok = xbt_write(fe, "state", "1") && xbt_write(fe, "backend", "%s", be) &&
	     xbt_write(fe, "backend-id", "0");
	for (; ok && extra && extra[0]; extra += 2)
		ok = xbt_write(be, extra[0], "%s", extra[1]);
	/* `frontend` last: the core takes the device up when it appears. */
	ok = ok && xbt_write(be, "frontend-id", "%u", g->domid) &&
	     xbt_write(be, "online", "1") && xbt_write(be, "state", "1") &&
	     xbt_write(be, "frontend", "%s", fe_at ? fe_at : fe);
	return ok ? 0 : -EIO;
}

const char *xbt_proc_status(int pid, const char *key)
{
	static char val[256];
	char path[64], line[256];
	size_t n = strlen(key);
	FILE *f;

	val[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, n) && line[n] == ':') {
			snprintf(val, sizeof(val), "%s", line + n + 1 + strspn(line + n + 1, "\t "));
			val[strcspn(val, "\n")] = '\0';
			break;
		}
	if (f)
		fclose(f);
	return val;
}

int xbt_child_named(const char *comm)
{
	char path[64], name[32];
	struct dirent *e;
	DIR *dir = opendir("/proc");
	int found = 0;

	while (dir && !found && (e = readdir(dir))) {
		int pid = atoi(e->d_name);
		FILE *f;

		if (pid <= 0 || atoi(xbt_proc_status(pid, "PPid")) != getpid())
			continue;
		snprintf(path, sizeof(path), "/proc/%d/comm", pid);
		f = fopen(path, "re");
		if (f && fgets(name, sizeof(name), f)) {
			name[strcspn(name, "\n")] = '\0';
			found = strcmp(name, comm) ? 0 : pid;
		}
		if (f)
			fclose(f);
	}
	if (dir)
		closedir(dir);
	return found;
}

unsigned xbt_count_fds(int pid, const char *target, bool prefix)
{
	char dirpath[64], link[320], to[512];
	struct dirent *e;
	unsigned n = 0;
	DIR *dir;

	snprintf(dirpath, sizeof(dirpath), "/proc/%d/fd", pid);
	dir = opendir(dirpath);
	while (dir && (e = readdir(dir))) {
		ssize_t len;

		snprintf(link, sizeof(link), "%s/%s", dirpath, e->d_name);
		len = readlink(link, to, sizeof(to) - 1);
		if (len < 0)
			continue;
		to[len] = '\0';
		n += prefix ? !strncmp(to, target, strlen(target)) : !strcmp(to, target);
	}
	if (dir)
		closedir(dir);
	return n;
}
