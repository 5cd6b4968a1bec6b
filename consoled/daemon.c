/*
 * consoled's daemon: the xenstore connection, domains coming and going
 * (rescan), watch dispatch, the retry timer, and xenstored going away and
 * coming back.  The loop and the transport are the caller's (main.c, or a
 * host test over the shm transport); the consoles are console.c's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <xenstore.h>

#include "consoled.h"

/* Domain ids at and above this are reserved (DOMID_FIRST_RESERVED). */
#define DOMID_LIMIT 0x7FF0U

/* ---- domains come and go ------------------------------------------------- */

/* Brings the console set in line with /local/domain and with what xenstored
 * says is introduced: new domains get a console, vanished ones are
 * released. */
void daemon_rescan(struct daemon *dm)
{
	unsigned int n = 0, i;
	unsigned long long id;
	struct console *c;
	char **ents;
	size_t pos = 0;

	ents = xs_directory(dm->xs, XBT_NULL, "/local/domain", &n);
	if (!ents && errno != ENOENT) {
		elog(ELOG_WARN, "cannot list /local/domain: %s",
		     strerror(errno));
		return;
	}
	while ((c = hmap_next(&dm->consoles, &pos)))
		c->seen = false;
	for (i = 0; i < n; i++) {
		char key[24];

		if (parse_uint(ents[i], DOMID_LIMIT - 1, &id) || id == 0)
			continue;
		snprintf(key, sizeof(key), "%llu", id);
		c = hmap_get(&dm->consoles, key);
		if (!c)
			c = console_new(dm, (unsigned)id);
		if (c)
			c->seen = true;
		else
			elog(ELOG_ERR, "domain %llu: out of memory", id);
	}
	free(ents);
	pos = 0;
	while ((c = hmap_next(&dm->consoles, &pos))) {
		if (!c->seen) {
			console_release(c);	/* its slot only tombstoned */
			continue;
		}
		if (xs_is_domain_introduced(dm->xs, c->domid))
			c->introduced = true;
		else if (c->introduced)
			console_release(c);	/* dead, nodes or not */
	}
}

static void on_xenstore(void *arg, uint32_t events);

/* xenstored by its socket; the xenbus device only where there is no
 * socket at all (a store in a stub domain): with dom0's xenstored down, a
 * request through the device waits in the kernel for good. */
static struct xs_handle *open_store(void)
{
	const char *path = getenv("XENSTORED_PATH");
	const char *dir = getenv("XENSTORED_RUNDIR");
	struct xs_handle *h = xs_open(XS_OPEN_SOCKETONLY);
	char sock[512];
	int e = errno;

	/* libxenstore's own rule for where the socket is */
	snprintf(sock, sizeof(sock), "%s", path ? path : "");
	if (!path)
		snprintf(sock, sizeof(sock), "%s/socket",
			 dir ? dir : "/var/run/xenstored");
	if (!h && access(sock, F_OK) < 0 && errno == ENOENT)
		return xs_open(0);
	if (!h)
		errno = e;
	return h;
}

#define STORE_CHECK_MS 2000
#define STORE_BACKOFF_MIN_MS 100
#define STORE_BACKOFF_MAX_MS 5000

static void store_timer(struct daemon *dm, int ms)
{
	struct itimerspec its = { { 0, 0 },
				  { ms / 1000, (long)(ms % 1000) * 1000000L } };

	timerfd_settime(dm->store_fd, 0, &its, NULL);
}

static bool set_domain_watches(struct daemon *dm)
{
	/* Both fire once at once: that scan serves what is there. */
	return xs_watch(dm->xs, "@introduceDomain", "domains") &&
	       xs_watch(dm->xs, "@releaseDomain", "domains") &&
	       (!dm->watch_domain_dir ||
		xs_watch(dm->xs, "/local/domain", "domains"));
}

/* libxenstore has closed a connection xenstored dropped: the consoles
 * stay connected (rings and ptys do not need the store); the store's
 * events are lost until it is back, and a new connection is tried with
 * backoff.  Said once. */
static void store_gone(struct daemon *dm)
{
	if (dm->store_lost)
		return;
	elog(ELOG_ERR, "xenstored is gone (its connection closed): consoles stay connected; reconnecting");
	evloop_del(dm->loop, xs_fileno(dm->xs));
	dm->store_lost = true;
	dm->backoff_ms = STORE_BACKOFF_MIN_MS;
	store_timer(dm, dm->backoff_ms);
}

/* A new connection: watches set again (a restarted xenstored has lost
 * every socket client's), then a scan of whatever store came back, with
 * its state or empty. */
static void store_reconnect(struct daemon *dm)
{
	struct xs_handle *h = open_store(), *old = dm->xs;
	struct console *c;
	size_t pos = 0;

	if (!h) {
		dm->backoff_ms = dm->backoff_ms * 2 > STORE_BACKOFF_MAX_MS ?
			STORE_BACKOFF_MAX_MS : dm->backoff_ms * 2;
		store_timer(dm, dm->backoff_ms);
		return;
	}
	dm->xs = h;
	xs_close(old);
	if (evloop_add(dm->loop, xs_fileno(h), EPOLLIN, on_xenstore, dm) ||
	    !set_domain_watches(dm)) {
		elog(ELOG_WARN, "xenstored answered but its watches cannot be set (%s): trying again",
		     strerror(errno));
		evloop_del(dm->loop, xs_fileno(h));
		store_timer(dm, dm->backoff_ms);
		return;
	}
	while ((c = hmap_next(&dm->consoles, &pos)))
		c->watching = xs_watch(dm->xs, c->path, c->token);
	dm->store_lost = false;
	elog(ELOG_INFO, "xenstored is back: watches set again, re-scanning");
	daemon_rescan(dm);
	store_timer(dm, STORE_CHECK_MS);
}

static void on_store_timer(void *arg, uint32_t events)
{
	struct daemon *dm = arg;
	uint64_t ticks;

	(void)events;
	if (read(dm->store_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	if (dm->store_lost) {
		store_reconnect(dm);
		return;
	}
	/* A dead connection makes no fd readable: ask, the way the event
	 * handler does (it handles whatever is queued, and notices the
	 * connection gone). */
	on_xenstore(dm, 0);
	if (!dm->store_lost)
		store_timer(dm, STORE_CHECK_MS);
}

static void on_xenstore(void *arg, uint32_t events)
{
	struct daemon *dm = arg;
	bool scan = false;
	char **w;

	(void)events;
	while ((w = xs_check_watch(dm->xs))) {
		const char *token = w[XS_WATCH_TOKEN];

		if (!strcmp(token, "domains")) {
			scan = true;
		} else if (token[0] == 'c') {
			struct console *c = hmap_get(&dm->consoles, token + 1);

			/* A stale event of a released domain finds nothing. */
			if (c)
				console_refresh(c);
		}
		free(w);
	}
	if (errno != EAGAIN) {
		store_gone(dm);
		return;
	}
	if (scan)
		daemon_rescan(dm);
}

void daemon_schedule_retry(struct daemon *dm)
{
	struct itimerspec its = { { 0, 0 }, { 0, 0 } };
	struct console *c;
	size_t pos = 0;
	bool any = false;

	while ((c = hmap_next(&dm->consoles, &pos))) {
		if (!c->failed || c->failed_for_good || c->intf)
			continue;
		if (!any || c->retry_at.tv_sec < its.it_value.tv_sec ||
		    (c->retry_at.tv_sec == its.it_value.tv_sec &&
		     c->retry_at.tv_nsec < its.it_value.tv_nsec))
			its.it_value = c->retry_at;
		any = true;
	}
	/* Zero disarms; a due time in the past fires at once. */
	if (any && !its.it_value.tv_sec && !its.it_value.tv_nsec)
		its.it_value.tv_nsec = 1;
	timerfd_settime(dm->timer_fd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void on_timer(void *arg, uint32_t events)
{
	struct daemon *dm = arg;
	uint64_t ticks;

	(void)events;
	if (read(dm->timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		elog(ELOG_WARN, "retry timer: %s", strerror(errno));
	/* Without a store there is nothing to read: the watches set again
	 * on reconnection bring every console's nodes back. */
	if (!dm->store_lost)
		console_retry_due(dm);
}

/* ---- start and stop -------------------------------------------------------- */

static int add_timer(struct daemon *dm, int *fd, evloop_fn *fn)
{
	*fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (*fd < 0 || evloop_add(dm->loop, *fd, EPOLLIN, fn, dm)) {
		elog(ELOG_ERR, "cannot make a timer: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int daemon_open(struct daemon *dm)
{
	hmap_init(&dm->consoles);
	dm->xs = open_store();
	if (!dm->xs) {
		elog(ELOG_ERR, "cannot connect to xenstored: %s",
		     strerror(errno));
		return -1;
	}
	if (evloop_add(dm->loop, xs_fileno(dm->xs), EPOLLIN, on_xenstore, dm)) {
		elog(ELOG_ERR, "cannot watch the xenstore connection");
		return -1;
	}
	if (add_timer(dm, &dm->timer_fd, on_timer))
		return -1;
	/* Both fire once at once: the first scan serves the domains that
	 * were there before us. */
	if (!set_domain_watches(dm)) {
		elog(ELOG_ERR, "cannot watch @introduceDomain/@releaseDomain: %s",
		     strerror(errno));
		return -1;
	}
	if (add_timer(dm, &dm->store_fd, on_store_timer))
		return -1;
	store_timer(dm, STORE_CHECK_MS);
	return 0;
}

void daemon_close(struct daemon *dm)
{
	struct console *c;
	size_t pos = 0;

	while ((c = hmap_next(&dm->consoles, &pos)))
		console_release(c);
	hmap_fini(&dm->consoles);
	if (dm->timer_fd >= 0) {
		evloop_del(dm->loop, dm->timer_fd);
		close(dm->timer_fd);
		dm->timer_fd = -1;
	}
	if (dm->store_fd >= 0) {
		evloop_del(dm->loop, dm->store_fd);
		close(dm->store_fd);
		dm->store_fd = -1;
	}
	if (dm->xs) {
		if (!dm->store_lost)
			evloop_del(dm->loop, xs_fileno(dm->xs));
		xs_close(dm->xs);
		dm->xs = NULL;
	}
}
