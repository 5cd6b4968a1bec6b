/*
 * The monitor: what outlives xl create.  It waits for guests to power off,
 * reboot or crash and carries out each config's on_poweroff / on_reboot /
 * on_crash; when a domain's emulator dies under it, it removes what is
 * left so no half domain stays listed.
 *
 * One process serves the whole host (upstream keeps one xl child per
 * domain; a process costs some hundreds of KiB, a watched domain here a
 * few).  Domains are handed to it through the store: xl create writes
 * /libxl/<id>/monitor, and the monitor watches /libxl, so it also adopts,
 * when it starts, every domain handed over before.  Its pid file in the run
 * directory, locked while it runs, keeps it to one per host.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "enso-util.h"
#include "libxl/runtime.h"

/* How often every domain is asked anyway, should an event be missed, and
 * the store swept for creates and destroys whose process died. */
#define MONITOR_RECHECK_MS 2000
/* Reconnecting to xenstored: from the first to the longest wait. */
#define MONITOR_BACKOFF_MIN_MS 100
#define MONITOR_BACKOFF_MAX_MS 5000

struct watched {
	uint32_t domid;
	int fd;				/* -1: announced by @releaseDomain */
	bool ready;			/* its fd was readable */
	struct backend_watch *w;
};

struct monitor {
	struct enso_ctx *ctx;
	enso_monitor_log_fn *log;
	void *opaque;
	struct watched *doms;
	size_t n, cap;
	bool store_lost;		/* xenstored went away; not back yet */
	int backoff_ms;			/* before the next reconnect try */
};

static void say(struct monitor *m, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void say(struct monitor *m, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (!m->log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	m->log(msg, m->opaque);
}

static enum enso_action action_for(const struct enso_domain_config *c,
				   int reason)
{
	switch (reason) {
	case ENSO_SHUTDOWN_REBOOT: return c->on_reboot;
	case ENSO_SHUTDOWN_CRASH: return c->on_crash;
	case ENSO_SHUTDOWN_WATCHDOG: return c->on_watchdog;
	case ENSO_SHUTDOWN_SOFT_RESET: return c->on_soft_reset;
	default: return c->on_poweroff;
	}
}

static const char *reason_name(int reason)
{
	static const char *const names[] = { "poweroff", "reboot", "suspend",
					     "crash", "watchdog", "soft_reset" };

	return reason >= 0 && reason < 6 ? names[reason] : "unknown";
}

static struct watched *find(struct monitor *m, uint32_t domid)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->doms[i].domid == domid)
			return &m->doms[i];
	return NULL;
}

/* Lets go of doms[i]; the last entry takes its place. */
static void drop(struct monitor *m, size_t i)
{
	m->ctx->ops->watch_close(m->doms[i].w);
	m->doms[i] = m->doms[--m->n];
}

/* The domain is gone (or its emulator is).  Wanted (xl destroy) or not
 * (the emulator died, was killed): either way leave nothing.  An xl
 * destroy still at work finishes itself; one that died is finished here. */
static void gone(struct monitor *m, uint32_t domid, const char *why)
{
	char *destroying = rt_xs_read(m->ctx, "/libxl/%u/destroying", domid);
	struct enso_error e;

	if (destroying && rt_owner_alive(destroying)) {
		free(destroying);
		return;
	}
	if (rt_records_any(m->ctx, domid)) {
		/* why names the domain already (the backend's words) */
		if (destroying)
			say(m, "%s; the xl destroy that began it is gone: finishing it",
			    why);
		else
			say(m, "%s; it was not destroyed by xl: removing what is left",
			    why);
		if (enso_domain_destroy(m->ctx, domid, &e))
			say(m, "domain %u: %s", domid, e.msg);
	}
	free(destroying);
}

static void adopt(struct monitor *m, uint32_t domid)
{
	struct backend_watch *w;
	struct enso_error e;
	char *handed;
	int fd, rc;

	if (find(m, domid))
		return;
	handed = rt_xs_read(m->ctx, "/libxl/%u/monitor", domid);
	if (!handed)
		return;		/* not created yet, or already gone */
	free(handed);
	if (m->n == m->cap) {
		size_t cap = m->cap ? m->cap * 2 : 16;
		struct watched *d = realloc(m->doms, cap * sizeof(*d));

		if (!d) {
			say(m, "domain %u: out of memory: not monitored", domid);
			return;
		}
		m->doms = d;
		m->cap = cap;
	}
	rc = m->ctx->ops->watch_open(m->ctx, domid, &w, &fd, &e);
	if (rc) {
		/* Handed over, so fully created: its emulator is gone. */
		gone(m, domid, e.msg);
		return;
	}
	m->doms[m->n++] = (struct watched){ .domid = domid, .fd = fd, .w = w };
	say(m, "domain %u: monitored", domid);
}

/* The guest shut down: what its config says to do. */
static void act(struct monitor *m, uint32_t domid, int reason)
{
	struct enso_domain_config cfg;
	struct enso_error e;
	enum enso_action a;
	char node[64], *name;
	uint32_t newid;
	int rc;

	rc = rt_config_load(m->ctx, domid, &cfg, &e);
	if (rc) {
		say(m, "domain %u: guest %s, but its config is unreadable: %s; left as it is",
		    domid, reason_name(reason), e.msg);
		return;
	}
	a = action_for(&cfg, reason);
	say(m, "domain %u (%s): guest %s, action %s", domid, cfg.name,
	    reason_name(reason), enso_action_name(a));
	snprintf(node, sizeof(node), "/libxl/%u/shutdown-reason", domid);
	rt_xs_write(m->ctx, XBT_NULL, node, reason_name(reason));

	switch (a) {
	case ENSO_ACTION_PRESERVE:
		goto out;
	case ENSO_ACTION_DESTROY:
	case ENSO_ACTION_COREDUMP_DESTROY:
		if (enso_domain_destroy(m->ctx, domid, &e))
			say(m, "domain %u: %s", domid, e.msg);
		goto out;
	case ENSO_ACTION_RENAME_RESTART:
		/* The old one stays, preserved, under a new name. */
		if (asprintf(&name, "%s-%u", cfg.name, domid) < 0) {
			say(m, "domain %u: out of memory", domid);
			goto out;
		}
		rc = enso_domain_rename(m->ctx, domid, name, &e);
		free(name);
		break;
	default:	/* restart, coredump-restart, soft-reset */
		rc = enso_domain_destroy(m->ctx, domid, &e);
		break;
	}
	if (!rc)
		rc = enso_domain_create(m->ctx, &cfg, 0, &newid, &e);
	/* create has handed it over already (rt_records_handover). */
	if (rc) {
		say(m, "domain %s: not restarted: %s", cfg.name, e.msg);
		goto out;
	}
	say(m, "domain %s restarted as %u", cfg.name, newid);
	adopt(m, newid);
out:
	enso_config_dispose(&cfg);
}

/* Asks the backend about doms[i], and acts on what it says. */
static void check(struct monitor *m, size_t i)
{
	uint32_t domid = m->doms[i].domid;
	struct enso_error e;
	int reason = -1;
	int rc = m->ctx->ops->watch_check(m->ctx, m->doms[i].w, &reason, &e);

	if (rc == 0)
		return;
	drop(m, i);
	if (rc < 0)
		gone(m, domid, e.msg);
	else
		act(m, domid, reason);
}

/* Every domain handed over, whether the monitor knows it or not. */
static void adopt_all(struct monitor *m)
{
	unsigned int n = 0;
	char **ids = xs_directory(m->ctx->xsh, XBT_NULL, "/libxl", &n);

	for (unsigned int i = 0; ids && i < n; i++) {
		uint32_t domid;
		char *end;

		errno = 0;
		domid = (uint32_t)strtoul(ids[i], &end, 10);
		if (!errno && end != ids[i] && !*end)
			adopt(m, domid);
	}
	free(ids);
}

/* A watch event: /libxl/<id>/monitor written, /libxl/<id> removed, or
 * @releaseDomain (some Xen domain shut down or died). */
static void on_watch(struct monitor *m, const char *path)
{
	unsigned long id;
	char *end;

	if (!strcmp(path, "@releaseDomain")) {
		for (size_t i = 0; i < m->n; i++)
			if (m->doms[i].fd < 0)
				m->doms[i].ready = true;
		return;
	}
	if (strncmp(path, "/libxl/", 7))
		return;
	errno = 0;
	id = strtoul(path + 7, &end, 10);
	if (errno || end == path + 7 || id > UINT32_MAX)
		return;
	if (!strcmp(end, "/monitor")) {
		adopt(m, (uint32_t)id);
	} else if (!*end) {
		struct watched *d = find(m, (uint32_t)id);

		if (d)
			d->ready = true;
	}
}

/* Checks the domains marked ready (all of them when `all`).  From the last
 * down, so that drop()'s moves and adopt()'s appends skip nothing twice. */
static void check_ready(struct monitor *m, bool all)
{
	for (size_t i = m->n; i-- > 0;) {
		if (i >= m->n || !(all || m->doms[i].ready))
			continue;
		m->doms[i].ready = false;
		check(m, i);
	}
}

static int lock_path(struct enso_ctx *ctx, char *out, size_t len)
{
	if ((size_t)snprintf(out, len, "%s/monitor.pid", ctx->run_dir) >= len)
		return -ENAMETOOLONG;
	return 0;
}

bool enso_monitor_running(struct enso_ctx *ctx)
{
	char path[512];

	return lock_path(ctx, path, sizeof(path)) == 0 && pid_file_locked(path);
}

int enso_domain_monitor_add(struct enso_ctx *ctx, uint32_t domid,
			    struct enso_error *err)
{
	char node[64];

	snprintf(node, sizeof(node), "/libxl/%u/monitor", domid);
	if (!rt_xs_write(ctx, XBT_NULL, node, "1"))
		return exl_fail(err, -errno ? -errno : -EIO,
				"domain %u: handing it to the monitor: %s", domid,
				strerror(errno ? errno : EIO));
	return 0;
}

static void say_line(void *opaque, const char *msg)
{
	say(opaque, "%s", msg);
}

/* What a create or destroy whose process died left behind. */
static void sweep(struct monitor *m)
{
	rt_orphans_cleanup(m->ctx, say_line, m);
}

static bool set_watches(struct enso_ctx *ctx)
{
	return xs_watch(ctx->xsh, "/libxl", "libxl") &&
	       xs_watch(ctx->xsh, "@releaseDomain", "release");
}

/* Handles the store's events; false when the connection is dead (then
 * libxenstore has closed it: xs_check_watch says EINVAL, not EAGAIN). */
static bool drain_watches(struct monitor *m)
{
	char **ev;

	while ((ev = xs_check_watch(m->ctx->xsh))) {
		on_watch(m, ev[XS_WATCH_PATH]);
		free(ev);
	}
	return errno == EAGAIN;
}

/* A running domain the store came back without (xenstored restarted
 * without its state): its records again, from its stored config, so that
 * xl sees it and no other domain takes its id.  What changed since the
 * create (mem-set, vcpu-set, rename) is the config's again. */
static void restore(struct monitor *m, uint32_t domid)
{
	struct enso_domain_config cfg;
	struct enso_error e;
	uint32_t id = domid;
	int rc = rt_config_load(m->ctx, domid, &cfg, &e);

	if (!rc)
		rc = rt_records_create(m->ctx, &cfg, false, NULL, &id, &e);
	if (!rc)
		rc = rt_config_store(m->ctx, domid, &cfg, &e);
	if (!rc && m->ctx->ops->records_restore)
		rc = m->ctx->ops->records_restore(m->ctx, domid, &e);
	if (!rc)
		rc = enso_domain_monitor_add(m->ctx, domid, &e);
	if (rc)
		say(m, "domain %u: not in the store that came back, and not written again: %s; still watched",
		    domid, e.msg);
	else
		say(m, "domain %u (%s): not in the store that came back: its records written again from its stored config",
		    domid, cfg.name);
	enso_config_dispose(&cfg);
}

/* The domains the backend runs that the store does not know (it lost
 * its state while no monitor watched them): a create that completed is
 * adopted, its records written again; one that never completed is
 * destroyed, as if its process had died (it has, or it failed on the
 * store).  Only at start and after a reconnection: otherwise every
 * domain's records exist before its emulator and go after it. */
static void scan_unknown(struct monitor *m)
{
	struct enso_error e;
	uint32_t *ids = NULL;
	size_t n = 0, i;

	if (!m->ctx->ops->running_ids ||
	    m->ctx->ops->running_ids(m->ctx, &ids, &n))
		return;
	for (i = 0; i < n; i++) {
		if (find(m, ids[i]) || rt_records_any(m->ctx, ids[i]))
			continue;
		if (rt_config_complete(m->ctx, ids[i])) {
			say(m, "domain %u: runs, its create completed, but the store does not know it: adopting it",
			    ids[i]);
			restore(m, ids[i]);
			adopt(m, ids[i]);
		} else {
			say(m, "domain %u: an emulator the store does not know, of a create that never completed: destroying it",
			    ids[i]);
			/* -ENOENT: no emulator ran, its files are gone now */
			int rc = enso_domain_destroy(m->ctx, ids[i], &e);

			if (rc && rc != -ENOENT)
				say(m, "domain %u: %s", ids[i], e.msg);
		}
	}
	free(ids);
}

/* After a reconnection: whatever store came back, with its state or
 * empty, is brought in line with the domains that run. */
static void after_reconnect(struct monitor *m)
{
	size_t i;

	for (i = 0; i < m->n; i++)
		if (!rt_records_any(m->ctx, m->doms[i].domid))
			restore(m, m->doms[i].domid);
	scan_unknown(m);
	adopt_all(m);
	sweep(m);
	check_ready(m, true);
	say(m, "re-scanned: %zu domain(s) watched", m->n);
}

int enso_monitor_run(struct enso_ctx *ctx, volatile sig_atomic_t *stop,
		     enso_monitor_log_fn *log, void *opaque,
		     void (*ready)(void *opaque), struct enso_error *err)
{
	struct monitor m = { .ctx = ctx, .log = log, .opaque = opaque };
	struct pollfd *pfds = NULL;
	long long last_sweep;
	char path[512];
	int lock, rc = 0;

	if (!ctx->ops->watch_open)
		return exl_fail(err, -ENOSYS, "the %s backend has no monitor",
				ctx->ops->name);
	rc = lock_path(ctx, path, sizeof(path));
	if (rc)
		return exl_fail(err, rc, "%s/monitor.pid: path too long",
				ctx->run_dir);
	lock = pid_file_lock(path, (long)getpid());
	if (lock < 0)
		return exl_fail(err, lock, "%s: %s", path, lock == -EALREADY ?
				"another monitor runs on this host" :
				strerror(-lock));
	if (!set_watches(ctx)) {
		rc = exl_fail(err, -errno, "watching /libxl and @releaseDomain: %s",
			      strerror(errno));
		goto out;
	}
	scan_unknown(&m);
	adopt_all(&m);
	sweep(&m);
	last_sweep = monotonic_ms();
	if (ready)
		ready(opaque);

	while (!*stop) {
		size_t nfds = 1, cap = m.n + 1;
		struct pollfd *p = realloc(pfds, cap * sizeof(*p));
		int r;

		if (!p) {
			rc = exl_fail(err, -ENOMEM, "out of memory");
			break;
		}
		pfds = p;
		if (m.store_lost) {
			/* The guests run on; their events wait in their
			 * sockets until there is a store to act in. */
			poll(NULL, 0, m.backoff_ms);
			if (*stop)
				break;
			r = rt_xs_reconnect(ctx);
			if (r == 0 && set_watches(ctx)) {
				m.store_lost = false;
				say(&m, "xenstored is back at %s: watches set again",
				    rt_xenstored_socket());
				after_reconnect(&m);
				last_sweep = monotonic_ms();
			} else {
				m.backoff_ms = m.backoff_ms * 2 > MONITOR_BACKOFF_MAX_MS ?
					MONITOR_BACKOFF_MAX_MS : m.backoff_ms * 2;
			}
			continue;
		}
		pfds[0] = (struct pollfd){ .fd = xs_fileno(ctx->xsh), .events = POLLIN };
		for (size_t i = 0; i < m.n; i++)
			if (m.doms[i].fd >= 0)
				pfds[nfds++] = (struct pollfd){ .fd = m.doms[i].fd,
								.events = POLLIN };
		r = poll(pfds, nfds, MONITOR_RECHECK_MS);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = exl_fail(err, -errno, "poll: %s", strerror(errno));
			break;
		}
		if (!drain_watches(&m)) {
			say(&m, "xenstored is gone (%s: the connection closed): the guests keep running; reconnecting",
			    rt_xenstored_socket());
			m.store_lost = true;
			m.backoff_ms = MONITOR_BACKOFF_MIN_MS;
			continue;
		}
		/* Mark first: checking may add and drop domains. */
		for (size_t k = 1; r > 0 && k < nfds; k++) {
			if (!pfds[k].revents)
				continue;
			for (size_t i = 0; i < m.n; i++)
				if (m.doms[i].fd == pfds[k].fd)
					m.doms[i].ready = true;
		}
		if (monotonic_ms() - last_sweep >= MONITOR_RECHECK_MS) {
			check_ready(&m, true);
			sweep(&m);
			last_sweep = monotonic_ms();
		} else {
			check_ready(&m, false);
		}
	}
out:
	while (m.n)
		drop(&m, m.n - 1);
	free(m.doms);
	free(pfds);
	close(lock);
	return rc;
}
