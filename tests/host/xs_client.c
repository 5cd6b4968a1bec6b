/*
 * Host test of Enso's xenstored through the real libxenstore client library.
 *
 * The daemon's socket is taken from XENSTORED_PATH (libxenstore reads it).
 * Every check prints one line: "ok - NAME" or "not ok - NAME: WHY".
 *
 *   xs_client                      the full suite (quotas at the defaults)
 *   xs_client --limits K=V ...     only the quota checks, for a daemon started
 *                                  with non-default limits; keys: E W t S A
 *                                  (as the daemon's options) and Qtn (the
 *                                  transaction-nodes quota)
 *
 * Unprivileged behaviour is reached through Enso's CONTROL "restrict DOMID",
 * after which the connection acts as that domain.  Each quota check uses its
 * own domid, because quotas are counted per domain, not per connection.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <xenstore.h>

#define BASE "/xt"
#define EVENT_WAIT_MS 3000      /* an expected watch event must come by then */
#define QUIET_WAIT_MS 300       /* how long "no event" is watched for */

static unsigned int n_pass, n_fail;

struct limits {
	unsigned int entries;           /* -E */
	unsigned int watches;           /* -W */
	unsigned int transactions;      /* -t */
	unsigned int node_size;         /* -S */
	unsigned int perms;             /* -A */
	unsigned int trans_nodes;       /* -Q transaction-nodes= */
};

/* ------------------------------------------------------------------ */
/* Reporting                                                          */

static void pass(const char *name)
{
	printf("ok - %s\n", name);
	fflush(stdout);
	n_pass++;
}

static void vfail(const char *name, const char *fmt, va_list ap)
{
	printf("not ok - %s: ", name);
	vprintf(fmt, ap);
	printf("\n");
	fflush(stdout);
	n_fail++;
}

static void fail(const char *name, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void fail(const char *name, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(name, fmt, ap);
	va_end(ap);
}

/* One check: passes when cond holds, otherwise prints the reason. */
static bool check_result(bool cond, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static bool check_result(bool cond, const char *name, const char *fmt, ...)
{
	va_list ap;

	if (cond) {
		pass(name);
		return true;
	}
	va_start(ap, fmt);
	vfail(name, fmt, ap);
	va_end(ap);
	return false;
}

/* The condition is evaluated before the message arguments, so that a message
 * may show the errno left by a call made in the condition. */
#define check(cond, ...)                                                \
	({                                                              \
		bool check_cond_ = (cond);                              \
		check_result(check_cond_, __VA_ARGS__);                 \
	})

static const char *ename(int e)
{
	const char *s = strerrorname_np(e);

	return s ? s : "E?";
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                      */

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* xenstore.txt: child is under parent if equal, parent is "/", or
 * "parent/" starts child. */
static bool is_child(const char *child, const char *parent)
{
	size_t n = strlen(parent);

	if (strcmp(parent, "/") == 0)
		return child[0] == '/';
	return strncmp(child, parent, n) == 0 &&
	       (child[n] == '\0' || child[n] == '/');
}

static struct xs_handle *conn_open(void)
{
	struct xs_handle *h = xs_open(0);

	if (!h)
		fprintf(stderr, "# xs_open failed: %s\n", strerror(errno));
	return h;
}

/* A connection that acts as unprivileged domain domid. */
static struct xs_handle *conn_restricted(unsigned int domid)
{
	struct xs_handle *h = conn_open();
	char arg[16];
	char *r;
	int n;

	if (!h)
		return NULL;
	n = snprintf(arg, sizeof(arg), "%u", domid);
	r = xs_control_command(h, "restrict", arg, (unsigned int)n + 1);
	if (!r || strcmp(r, "OK") != 0) {
		fprintf(stderr, "# CONTROL restrict %u: %s\n", domid,
			r ? r : ename(errno));
		free(r);
		xs_close(h);
		return NULL;
	}
	free(r);
	return h;
}

static bool wr(struct xs_handle *h, xs_transaction_t t, const char *path,
	       const char *val)
{
	bool r = xs_write(h, t, path, val, (unsigned int)strlen(val));

	if (!r)
		fprintf(stderr, "# write %s: %s\n", path, ename(errno));
	return r;
}

/* Reads path; returns true when it exists and equals want. */
static bool read_is(struct xs_handle *h, xs_transaction_t t, const char *path,
		    const char *want, char *why, size_t whylen)
{
	unsigned int len = 0;
	char *v = xs_read(h, t, path, &len);
	bool r;

	if (!v) {
		snprintf(why, whylen, "read %s failed: %s", path, ename(errno));
		return false;
	}
	r = len == strlen(want) && memcmp(v, want, len) == 0;
	if (!r)
		snprintf(why, whylen, "read %s gave \"%.*s\" (len %u), wanted \"%s\"",
			 path, (int)(len > 200 ? 200 : len), v, len, want);
	free(v);
	return r;
}

/* Reads path expecting failure with errno want. */
static bool read_fails(struct xs_handle *h, xs_transaction_t t,
		       const char *path, int want, char *why, size_t whylen)
{
	unsigned int len = 0;
	char *v = xs_read(h, t, path, &len);

	if (v) {
		snprintf(why, whylen, "read %s succeeded (\"%.*s\"), wanted %s",
			 path, (int)(len > 200 ? 200 : len), v, ename(want));
		free(v);
		return false;
	}
	if (errno != want) {
		snprintf(why, whylen, "read %s failed with %s, wanted %s", path,
			 ename(errno), ename(want));
		return false;
	}
	return true;
}

static bool set_perms_str(struct xs_handle *h, const char *path,
			  const char *const *strs, unsigned int n)
{
	struct xs_permissions p[16];
	unsigned int i;

	for (i = 0; i < n && i < 16; i++) {
		char kind = strs[i][0];

		p[i].id = (unsigned int)strtoul(strs[i] + 1, NULL, 10);
		p[i].perms = kind == 'r' ? XS_PERM_READ :
			     kind == 'w' ? XS_PERM_WRITE :
			     kind == 'b' ? (XS_PERM_READ | XS_PERM_WRITE) :
			     XS_PERM_NONE;
	}
	return xs_set_permissions(h, XBT_NULL, path, p, n);
}

/* Makes /local/domain/<domid> (or path) owned by domid, others no access. */
static bool give_to(struct xs_handle *h0, const char *path, unsigned int domid)
{
	struct xs_permissions p = { .id = domid, .perms = XS_PERM_NONE };

	if (!xs_mkdir(h0, XBT_NULL, path)) {
		fprintf(stderr, "# mkdir %s: %s\n", path, ename(errno));
		return false;
	}
	if (!xs_set_permissions(h0, XBT_NULL, path, &p, 1)) {
		fprintf(stderr, "# set_perms %s n%u: %s\n", path, domid,
			ename(errno));
		return false;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Watch events without ever blocking                                 */

/* Returns the next event (free() it) within ms, or NULL. */
static char **next_event(struct xs_handle *h, int ms)
{
	long deadline = now_ms() + ms;
	struct pollfd p = { .fd = xs_fileno(h), .events = POLLIN };

	for (;;) {
		char **v = xs_check_watch(h);
		long left;

		if (v)
			return v;
		if (errno != EAGAIN) {
			fprintf(stderr, "# xs_check_watch: %s\n", ename(errno));
			return NULL;
		}
		left = deadline - now_ms();
		if (left <= 0)
			return NULL;
		if (p.fd >= 0)
			(void)poll(&p, 1, (int)left);
		else
			(void)poll(NULL, 0, 10);
	}
}

/* Waits for an event with exactly path and token; other events are only
 * reported on stderr (spurious events are allowed by xenstore.txt). */
static bool wait_event(struct xs_handle *h, const char *path, const char *token,
		       int ms, char *why, size_t whylen)
{
	long deadline = now_ms() + ms;
	char seen[512] = "";
	size_t used = 0;

	for (;;) {
		long left = deadline - now_ms();
		char **v = next_event(h, left > 0 ? (int)left : 0);

		if (!v) {
			snprintf(why, whylen,
				 "no event (%s, %s) within %d ms%s%s", path,
				 token, ms, used ? "; got instead:" : "", seen);
			return false;
		}
		if (strcmp(v[XS_WATCH_PATH], path) == 0 &&
		    strcmp(v[XS_WATCH_TOKEN], token) == 0) {
			free(v);
			return true;
		}
		fprintf(stderr, "# (other event %s %s)\n", v[XS_WATCH_PATH],
			v[XS_WATCH_TOKEN]);
		if (used < sizeof(seen) - 1) {
			int n = snprintf(seen + used, sizeof(seen) - used,
					 " (%s, %s)", v[XS_WATCH_PATH],
					 v[XS_WATCH_TOKEN]);
			if (n > 0)
				used += (size_t)n;
			if (used >= sizeof(seen))
				used = sizeof(seen) - 1;
		}
		free(v);
	}
}

/* Watches for ms; fails when an event arrives whose path equals bad_path (if
 * given) or whose token equals bad_token (if given), or, with outside set,
 * whose path is not under outside. */
static bool no_event(struct xs_handle *h, int ms, const char *bad_path,
		     const char *bad_token, const char *outside, char *why,
		     size_t whylen)
{
	long deadline = now_ms() + ms;

	for (;;) {
		long left = deadline - now_ms();
		char **v;
		bool bad;

		if (left <= 0)
			return true;
		v = next_event(h, (int)left);
		if (!v)
			return true;
		bad = (bad_path && strcmp(v[XS_WATCH_PATH], bad_path) == 0) ||
		      (bad_token && strcmp(v[XS_WATCH_TOKEN], bad_token) == 0) ||
		      (outside && !is_child(v[XS_WATCH_PATH], outside));
		if (bad) {
			snprintf(why, whylen, "unexpected event (%s, %s)",
				 v[XS_WATCH_PATH], v[XS_WATCH_TOKEN]);
			free(v);
			return false;
		}
		fprintf(stderr, "# (tolerated event %s %s)\n",
			v[XS_WATCH_PATH], v[XS_WATCH_TOKEN]);
		free(v);
	}
}

static void drain(struct xs_handle *h, int ms)
{
	char **v;

	while ((v = next_event(h, ms)) != NULL)
		free(v);
}

/* ------------------------------------------------------------------ */
/* Basic operations                                                   */

static void test_basic(struct xs_handle *h)
{
	char why[600];
	static const char bin[] = { 'a', 0, 'b', 0, (char)0xff, 0, 'z' };
	unsigned int len = 0;
	char *v;

	xs_rm(h, XBT_NULL, BASE);
	check(xs_mkdir(h, XBT_NULL, BASE), "basic: mkdir " BASE, "%s",
	      ename(errno));

	check(wr(h, XBT_NULL, BASE "/rt", "hello world") &&
	      read_is(h, XBT_NULL, BASE "/rt", "hello world", why, sizeof(why)),
	      "basic: write/read round trip", "%s", why);

	check(xs_write(h, XBT_NULL, BASE "/bin", bin, sizeof(bin)),
	      "basic: write binary value with NULs", "%s", ename(errno));
	v = xs_read(h, XBT_NULL, BASE "/bin", &len);
	check(v && len == sizeof(bin) && memcmp(v, bin, sizeof(bin)) == 0,
	      "basic: read binary value with NULs", "got %s len %u",
	      v ? "data" : ename(errno), len);
	free(v);

	check(xs_write(h, XBT_NULL, BASE "/empty", "", 0) &&
	      read_is(h, XBT_NULL, BASE "/empty", "", why, sizeof(why)),
	      "basic: empty value round trip", "%s", why);

	{
		/* dom0 has no node-size quota: a value near the payload cap */
		char *big = malloc(4000);
		char *got;

		memset(big, 'v', 4000);
		big[0] = 'B';
		big[3999] = 'E';
		check(xs_write(h, XBT_NULL, BASE "/big4000", big, 4000),
		      "basic: dom0 writes a 4000-byte value", "%s",
		      ename(errno));
		got = xs_read(h, XBT_NULL, BASE "/big4000", &len);
		check(got && len == 4000 && memcmp(got, big, 4000) == 0,
		      "basic: dom0 reads back the 4000-byte value",
		      "got %s len %u", got ? "data" : ename(errno), len);
		free(got);
		free(big);
	}

	check(wr(h, XBT_NULL, BASE "/rt", "second") &&
	      read_is(h, XBT_NULL, BASE "/rt", "second", why, sizeof(why)),
	      "basic: overwrite replaces value", "%s", why);

	/* parents */
	check(wr(h, XBT_NULL, BASE "/p/q/r", "leaf") &&
	      read_is(h, XBT_NULL, BASE "/p/q", "", why, sizeof(why)) &&
	      read_is(h, XBT_NULL, BASE "/p", "", why, sizeof(why)) &&
	      read_is(h, XBT_NULL, BASE "/p/q/r", "leaf", why, sizeof(why)),
	      "basic: write creates missing parents with empty values", "%s",
	      why);

	/* mkdir */
	wr(h, XBT_NULL, BASE "/mk", "keep-me");
	check(xs_mkdir(h, XBT_NULL, BASE "/mk") &&
	      read_is(h, XBT_NULL, BASE "/mk", "keep-me", why, sizeof(why)),
	      "basic: mkdir on an existing node keeps its value", "%s",
	      why[0] ? why : ename(errno));
	why[0] = 0;
	check(xs_mkdir(h, XBT_NULL, BASE "/mk2/a/b") &&
	      read_is(h, XBT_NULL, BASE "/mk2/a/b", "", why, sizeof(why)) &&
	      read_is(h, XBT_NULL, BASE "/mk2/a", "", why, sizeof(why)),
	      "basic: mkdir creates the node and its parents", "%s",
	      why[0] ? why : ename(errno));

	/* reads of missing nodes */
	check(read_fails(h, XBT_NULL, BASE "/missing", ENOENT, why, sizeof(why)),
	      "basic: read of a missing node fails ENOENT", "%s", why);
	check(read_fails(h, XBT_NULL, BASE "/nope/deeper", ENOENT, why,
			 sizeof(why)),
	      "basic: read under a missing parent fails ENOENT", "%s", why);

	/* rm */
	wr(h, XBT_NULL, BASE "/rm/a/b/c", "x");
	wr(h, XBT_NULL, BASE "/rm/a/d", "y");
	why[0] = 0;
	check(xs_rm(h, XBT_NULL, BASE "/rm") &&
	      read_fails(h, XBT_NULL, BASE "/rm/a/b/c", ENOENT, why, sizeof(why)) &&
	      read_fails(h, XBT_NULL, BASE "/rm/a/d", ENOENT, why, sizeof(why)) &&
	      read_fails(h, XBT_NULL, BASE "/rm", ENOENT, why, sizeof(why)),
	      "basic: rm removes the node and all children", "%s",
	      why[0] ? why : ename(errno));
	{
		unsigned int n = 99;
		char **d = xs_directory(h, XBT_NULL, BASE, &n);
		bool found = false;
		unsigned int i;

		for (i = 0; d && i < n; i++)
			if (strcmp(d[i], "rm") == 0)
				found = true;
		check(d && !found, "basic: rm removes the name from the parent",
		      "%s", d ? "rm still listed" : ename(errno));
		free(d);
	}
	check(xs_rm(h, XBT_NULL, BASE "/not-there"),
	      "basic: rm of a missing node (parent exists) succeeds", "%s",
	      ename(errno));
	{
		bool r = xs_rm(h, XBT_NULL, BASE "/no-parent/child");
		int e = errno;

		check(!r && e == ENOENT,
		      "basic: rm when the parent is missing fails ENOENT", "%s",
		      r ? "succeeded" : ename(e));
	}

	/* directory */
	xs_mkdir(h, XBT_NULL, BASE "/dir");
	wr(h, XBT_NULL, BASE "/dir/alpha", "1");
	wr(h, XBT_NULL, BASE "/dir/beta", "2");
	wr(h, XBT_NULL, BASE "/dir/gamma/sub", "3");
	{
		unsigned int n = 0, i, mask = 0;
		char **d = xs_directory(h, XBT_NULL, BASE "/dir", &n);

		for (i = 0; d && i < n; i++) {
			if (strcmp(d[i], "alpha") == 0)
				mask |= 1;
			else if (strcmp(d[i], "beta") == 0)
				mask |= 2;
			else if (strcmp(d[i], "gamma") == 0)
				mask |= 4;
			else
				mask |= 8;
		}
		check(d && n == 3 && mask == 7,
		      "basic: directory lists exactly the immediate children",
		      "%s, n=%u mask=%#x", d ? "listed" : ename(errno), n, mask);
		free(d);
	}
	{
		unsigned int n = 99;
		char **d = xs_directory(h, XBT_NULL, BASE "/dir/alpha", &n);

		check(d && n == 0, "basic: directory of a leaf is empty",
		      "%s, n=%u", d ? "listed" : ename(errno), n);
		free(d);
	}
	{
		unsigned int n = 0;
		char **d = xs_directory(h, XBT_NULL, BASE "/dir/none", &n);
		int e = errno;

		check(!d && e == ENOENT,
		      "basic: directory of a missing node fails ENOENT",
		      "%s", d ? "succeeded" : ename(e));
		free(d);
	}
	{
		unsigned int n = 0;
		char **d = xs_directory(h, XBT_NULL, "/", &n);
		unsigned int i;
		bool found = false;

		for (i = 0; d && i < n; i++)
			if (strcmp(d[i], BASE + 1) == 0)
				found = true;
		check(d && found, "basic: directory of / lists " BASE, "%s",
		      d ? "missing" : ename(errno));
		free(d);
	}
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_big_directory(struct xs_handle *h)
{
	enum { N = 600 };
	char path[128];
	unsigned int i, n = 0;
	bool setup = true;
	char **d;

	xs_transaction_t t;

	/* 600 names of 20 characters: 12600 bytes, over the 4096 payload */
	for (;;) {
		t = xs_transaction_start(h);
		for (i = 0; i < N && t; i++) {
			snprintf(path, sizeof(path), BASE "/bigdir/child-%014u", i);
			if (!xs_write(h, t, path, "", 0)) {
				setup = false;
				break;
			}
		}
		if (!t || !setup) {
			if (t)
				xs_transaction_end(h, t, true);
			break;
		}
		if (xs_transaction_end(h, t, false))
			break;
		if (errno != EAGAIN) {
			setup = false;
			break;
		}
	}
	if (!check(t && setup, "directory: setup of 600 children with 20-char "
		   "names", "%s", ename(errno)))
		return;

	d = xs_directory(h, XBT_NULL, BASE "/bigdir", &n);
	if (!d) {
		fail("directory: 600 children (12600 bytes) listed in full",
		     "xs_directory failed: %s", ename(errno));
		return;
	}
	{
		bool good = n == N;

		qsort(d, n, sizeof(*d), cmp_str);
		for (i = 0; good && i < N; i++) {
			snprintf(path, sizeof(path), "child-%014u", i);
			if (strcmp(d[i], path) != 0)
				good = false;
		}
		check(good, "directory: 600 children (12600 bytes) listed in "
		      "full", "got %u names%s%s", n, n ? ", first " : "",
		      n ? d[0] : "");
	}
	free(d);
	check(xs_rm(h, XBT_NULL, BASE "/bigdir"),
	      "directory: rm of a 600-child node", "%s", ename(errno));
}

/* ------------------------------------------------------------------ */
/* Transactions                                                       */

static void test_transactions(struct xs_handle *h, struct xs_handle *h2)
{
	char why[600] = "";
	xs_transaction_t t, t2;
	bool r;
	int e;

	/* commit visible */
	t = xs_transaction_start(h);
	r = t && wr(h, t, BASE "/tx/commit", "c1");
	check(r && xs_transaction_end(h, t, false) &&
	      read_is(h2, XBT_NULL, BASE "/tx/commit", "c1", why, sizeof(why)),
	      "transaction: committed write is visible", "%s",
	      why[0] ? why : ename(errno));

	/* abort invisible */
	why[0] = 0;
	t = xs_transaction_start(h);
	r = t && wr(h, t, BASE "/tx/abort", "a1");
	check(r && xs_transaction_end(h, t, true) &&
	      read_fails(h2, XBT_NULL, BASE "/tx/abort", ENOENT, why,
			 sizeof(why)),
	      "transaction: aborted write is invisible", "%s",
	      why[0] ? why : ename(errno));

	/* read your own writes; invisible to others until commit */
	wr(h, XBT_NULL, BASE "/tx/vis", "old");
	why[0] = 0;
	t = xs_transaction_start(h);
	r = t && wr(h, t, BASE "/tx/vis", "new") &&
	    wr(h, t, BASE "/tx/vis-created", "born");
	check(r && read_is(h, t, BASE "/tx/vis", "new", why, sizeof(why)) &&
	      read_is(h, t, BASE "/tx/vis-created", "born", why, sizeof(why)),
	      "transaction: reads see the transaction's own writes", "%s",
	      why[0] ? why : ename(errno));
	why[0] = 0;
	check(read_is(h2, XBT_NULL, BASE "/tx/vis", "old", why, sizeof(why)) &&
	      read_fails(h2, XBT_NULL, BASE "/tx/vis-created", ENOENT, why,
			 sizeof(why)) &&
	      read_is(h, XBT_NULL, BASE "/tx/vis", "old", why, sizeof(why)),
	      "transaction: uncommitted changes are invisible outside it",
	      "%s", why);
	why[0] = 0;
	check(t && xs_transaction_end(h, t, false) &&
	      read_is(h2, XBT_NULL, BASE "/tx/vis", "new", why, sizeof(why)) &&
	      read_is(h2, XBT_NULL, BASE "/tx/vis-created", "born", why,
		      sizeof(why)),
	      "transaction: changes visible to others after commit", "%s",
	      why[0] ? why : ename(errno));

	/* a transaction does not see later changes by others */
	wr(h, XBT_NULL, BASE "/tx/iso", "before");
	why[0] = 0;
	t = xs_transaction_start(h);
	r = t && read_is(h, t, BASE "/tx/iso", "before", why, sizeof(why));
	wr(h2, XBT_NULL, BASE "/tx/iso", "after");
	check(r && read_is(h, t, BASE "/tx/iso", "before", why, sizeof(why)),
	      "transaction: isolated from a later outside write", "%s",
	      why[0] ? why : ename(errno));
	if (t) {
		r = xs_transaction_end(h, t, false);
		e = errno;
		check(!r && e == EAGAIN,
		      "transaction: commit after an outside write to a read "
		      "node fails EAGAIN", "%s", r ? "committed" : ename(e));
	}

	/* conflict between two connections */
	wr(h, XBT_NULL, BASE "/tx/conf", "0");
	t = xs_transaction_start(h);
	t2 = xs_transaction_start(h2);
	r = t && t2;
	if (r) {
		char *a = xs_read(h, t, BASE "/tx/conf", NULL);
		char *b = xs_read(h2, t2, BASE "/tx/conf", NULL);

		r = a && b && wr(h, t, BASE "/tx/conf", "from-1") &&
		    wr(h2, t2, BASE "/tx/conf", "from-2");
		free(a);
		free(b);
	}
	if (!check(r, "transaction: two concurrent transactions start",
		   "%s", ename(errno))) {
		if (t)
			xs_transaction_end(h, t, true);
		if (t2)
			xs_transaction_end(h2, t2, true);
	} else {
		bool c1 = xs_transaction_end(h, t, false);
		bool c2;

		e = errno;
		check(c1, "transaction: first of two conflicting commits "
		      "succeeds", "%s", ename(e));
		c2 = xs_transaction_end(h2, t2, false);
		e = errno;
		check(!c2 && e == EAGAIN, "transaction: second conflicting "
		      "commit fails EAGAIN", "%s", c2 ? "committed" : ename(e));
		why[0] = 0;
		check(read_is(h2, XBT_NULL, BASE "/tx/conf", "from-1", why,
			      sizeof(why)),
		      "transaction: the failed commit changed nothing", "%s",
		      why);
	}

	/* disjoint nodes (pre-created, so the parent's child list is
	 * untouched) */
	wr(h, XBT_NULL, BASE "/tx/dis/a", "0");
	wr(h, XBT_NULL, BASE "/tx/dis/b", "0");
	t = xs_transaction_start(h);
	t2 = xs_transaction_start(h2);
	r = t && t2 && wr(h, t, BASE "/tx/dis/a", "A") &&
	    wr(h2, t2, BASE "/tx/dis/b", "B");
	{
		bool c1 = t && xs_transaction_end(h, t, !r);
		int e1 = errno;
		bool c2 = t2 && xs_transaction_end(h2, t2, !r);
		int e2 = errno;

		why[0] = 0;
		check(r && c1 && c2 &&
		      read_is(h, XBT_NULL, BASE "/tx/dis/a", "A", why,
			      sizeof(why)) &&
		      read_is(h, XBT_NULL, BASE "/tx/dis/b", "B", why,
			      sizeof(why)),
		      "transaction: concurrent transactions on disjoint nodes "
		      "both commit", "setup %d, commit1 %s, commit2 %s %s", r,
		      c1 ? "OK" : ename(e1), c2 ? "OK" : ename(e2), why);
	}

	/* rm inside a transaction */
	wr(h, XBT_NULL, BASE "/tx/rmme/x", "1");
	why[0] = 0;
	t = xs_transaction_start(h);
	r = t && xs_rm(h, t, BASE "/tx/rmme");
	check(r && read_fails(h, t, BASE "/tx/rmme/x", ENOENT, why, sizeof(why))
	      && read_is(h2, XBT_NULL, BASE "/tx/rmme/x", "1", why, sizeof(why))
	      && xs_transaction_end(h, t, false) &&
	      read_fails(h2, XBT_NULL, BASE "/tx/rmme/x", ENOENT, why,
			 sizeof(why)),
	      "transaction: rm inside a transaction applies at commit", "%s",
	      why[0] ? why : ename(errno));

	/* ended transaction id is no longer usable */
	{
		unsigned int len;
		char *v;

		t = xs_transaction_start(h);
		if (t)
			xs_transaction_end(h, t, false);
		v = t ? xs_read(h, t, BASE "/tx/commit", &len) : NULL;
		e = errno;
		check(t && !v && e == ENOENT,
		      "transaction: an ended transaction id gives ENOENT",
		      "%s", v ? "read succeeded" : ename(e));
		free(v);
	}
}

/* ------------------------------------------------------------------ */
/* Watches                                                            */

static void test_watches(struct xs_handle *h0, struct xs_handle *hw)
{
	char why[700] = "";
	const char *wp = BASE "/w";

	wr(h0, XBT_NULL, BASE "/w/existing", "e");

	check(xs_watch(hw, wp, "tok-w") &&
	      wait_event(hw, wp, "tok-w", EVENT_WAIT_MS, why, sizeof(why)),
	      "watch: initial event with path == wpath and the token", "%s",
	      why[0] ? why : ename(errno));
	drain(hw, 100);

	why[0] = 0;
	check(wr(h0, XBT_NULL, BASE "/w/new", "1") &&
	      wait_event(hw, BASE "/w/new", "tok-w", EVENT_WAIT_MS, why,
			 sizeof(why)),
	      "watch: event on child creation", "%s", why);
	drain(hw, 50);
	why[0] = 0;
	check(wr(h0, XBT_NULL, BASE "/w/new", "2") &&
	      wait_event(hw, BASE "/w/new", "tok-w", EVENT_WAIT_MS, why,
			 sizeof(why)),
	      "watch: event on modification", "%s", why);
	drain(hw, 50);
	why[0] = 0;
	check(wr(h0, XBT_NULL, BASE "/w", "self") &&
	      wait_event(hw, BASE "/w", "tok-w", EVENT_WAIT_MS, why,
			 sizeof(why)),
	      "watch: event on the watched node itself", "%s", why);
	drain(hw, 50);
	why[0] = 0;
	check(wr(h0, XBT_NULL, BASE "/w/new/deep/er", "3") &&
	      wait_event(hw, BASE "/w/new/deep/er", "tok-w", EVENT_WAIT_MS,
			 why, sizeof(why)),
	      "watch: event on a grandchild change", "%s", why);
	drain(hw, 50);
	why[0] = 0;
	check(xs_rm(h0, XBT_NULL, BASE "/w/new") &&
	      wait_event(hw, BASE "/w/new", "tok-w", EVENT_WAIT_MS, why,
			 sizeof(why)),
	      "watch: event on deletion", "%s", why);
	drain(hw, 50);
	why[0] = 0;
	{
		struct xs_permissions p[2] = {
			{ .id = 0, .perms = XS_PERM_NONE },
			{ .id = 3, .perms = XS_PERM_READ },
		};

		check(xs_set_permissions(h0, XBT_NULL, BASE "/w/existing", p,
					 2) &&
		      wait_event(hw, BASE "/w/existing", "tok-w",
				 EVENT_WAIT_MS, why, sizeof(why)),
		      "watch: event on a permission change", "%s",
		      why[0] ? why : ename(errno));
	}
	drain(hw, 50);

	/* sibling with the watch path as a string prefix, and a real sibling */
	why[0] = 0;
	check(wr(h0, XBT_NULL, BASE "/wx", "no") &&
	      wr(h0, XBT_NULL, BASE "/other/w", "no") &&
	      no_event(hw, QUIET_WAIT_MS, NULL, NULL, wp, why, sizeof(why)),
	      "watch: no event for a sibling (" BASE "/wx, " BASE "/other/w)",
	      "%s", why[0] ? why : "setup write failed");

	/* two tokens on one path */
	why[0] = 0;
	if (xs_watch(hw, wp, "tok-second")) {
		char why2[700] = "";
		bool a, b;

		drain(hw, 200);
		wr(h0, XBT_NULL, BASE "/w/both", "1");
		/* order of the two events is not specified */
		a = wait_event(hw, BASE "/w/both", "tok-w", EVENT_WAIT_MS, why,
			       sizeof(why));
		wr(h0, XBT_NULL, BASE "/w/both", "2");
		b = wait_event(hw, BASE "/w/both", "tok-second", EVENT_WAIT_MS,
			       why2, sizeof(why2));
		check(a && b, "watch: two tokens on one path both fire",
		      "%s %s", why, why2);
		check(xs_unwatch(hw, wp, "tok-second"),
		      "watch: unwatch of the second token", "%s",
		      ename(errno));
	} else {
		fail("watch: two tokens on one path both fire", "watch: %s",
		     ename(errno));
	}
	drain(hw, 100);

	/* transactional changes fire only at commit */
	{
		xs_transaction_t t = xs_transaction_start(h0);
		bool r = t && wr(h0, t, BASE "/w/intx", "t");

		why[0] = 0;
		check(r && no_event(hw, QUIET_WAIT_MS, BASE "/w/intx", NULL,
				    NULL, why, sizeof(why)),
		      "watch: no event for an uncommitted transactional write",
		      "%s", why[0] ? why : ename(errno));
		why[0] = 0;
		check(t && xs_transaction_end(h0, t, false) &&
		      wait_event(hw, BASE "/w/intx", "tok-w", EVENT_WAIT_MS,
				 why, sizeof(why)),
		      "watch: transactional write fires at commit", "%s",
		      why[0] ? why : ename(errno));
		drain(hw, 50);

		t = xs_transaction_start(h0);
		r = t && wr(h0, t, BASE "/w/aborted", "t");
		why[0] = 0;
		check(r && xs_transaction_end(h0, t, true) &&
		      no_event(hw, QUIET_WAIT_MS, BASE "/w/aborted", NULL,
			       NULL, why, sizeof(why)),
		      "watch: aborted transaction fires nothing", "%s",
		      why[0] ? why : ename(errno));
	}

	/* deletion of a parent fires a watch set on a child path, with
	 * epath == wpath (xenstore.txt, WATCH_EVENT) */
	{
		const char *cw = BASE "/pd/a/b";

		wr(h0, XBT_NULL, BASE "/pd/a/b/c", "x");
		why[0] = 0;
		if (xs_watch(hw, cw, "tok-child") &&
		    wait_event(hw, cw, "tok-child", EVENT_WAIT_MS, why,
			       sizeof(why))) {
			drain(hw, 100);
			check(xs_rm(h0, XBT_NULL, BASE "/pd") &&
			      wait_event(hw, cw, "tok-child", EVENT_WAIT_MS,
					 why, sizeof(why)),
			      "watch: rm of a parent fires a child-path watch "
			      "with epath == wpath", "%s",
			      why[0] ? why : ename(errno));
			xs_unwatch(hw, cw, "tok-child");
		} else {
			fail("watch: rm of a parent fires a child-path watch "
			     "with epath == wpath", "watch setup: %s",
			     why[0] ? why : ename(errno));
		}
		drain(hw, 100);
	}

	/* watch on a node that does not exist yet */
	{
		const char *nw = BASE "/later/node";

		why[0] = 0;
		if (xs_watch(hw, nw, "tok-later") &&
		    wait_event(hw, nw, "tok-later", EVENT_WAIT_MS, why,
			       sizeof(why))) {
			drain(hw, 50);
			check(wr(h0, XBT_NULL, nw, "now") &&
			      wait_event(hw, nw, "tok-later", EVENT_WAIT_MS,
					 why, sizeof(why)),
			      "watch: a watch on a missing node fires when it "
			      "is created", "%s", why);
			xs_unwatch(hw, nw, "tok-later");
		} else {
			fail("watch: a watch on a missing node fires when it "
			     "is created", "setup: %s",
			     why[0] ? why : ename(errno));
		}
		drain(hw, 100);
	}

	/* special watch path */
	why[0] = 0;
	check(xs_watch(hw, "@introduceDomain", "tok-intro") &&
	      wait_event(hw, "@introduceDomain", "tok-intro", EVENT_WAIT_MS,
			 why, sizeof(why)),
	      "watch: @introduceDomain accepted with its initial event", "%s",
	      why[0] ? why : ename(errno));
	xs_unwatch(hw, "@introduceDomain", "tok-intro");
	drain(hw, 100);

	/* unwatch */
	check(xs_unwatch(hw, wp, "tok-w"), "watch: unwatch succeeds", "%s",
	      ename(errno));
	drain(hw, 200);
	why[0] = 0;
	check(wr(h0, XBT_NULL, BASE "/w/afterunwatch", "1") &&
	      no_event(hw, QUIET_WAIT_MS, NULL, "tok-w", NULL, why,
		       sizeof(why)),
	      "watch: no events after unwatch", "%s", why);
	{
		bool r = xs_unwatch(hw, wp, "tok-w");
		int e = errno;

		check(!r && e == ENOENT,
		      "watch: unwatch of an unknown watch fails ENOENT", "%s",
		      r ? "succeeded" : ename(e));
	}
}

static void test_relative_watch(struct xs_handle *h0)
{
	char why[700] = "";
	struct xs_handle *h5;

	if (!give_to(h0, "/local/domain/5", 5)) {
		fail("watch: relative watch gets relative paths",
		     "setup of /local/domain/5 failed");
		return;
	}
	h5 = conn_restricted(5);
	if (!h5) {
		fail("watch: relative watch gets relative paths",
		     "CONTROL restrict 5 failed");
		return;
	}
	check(xs_watch(h5, "data/rw", "tok-rel") &&
	      wait_event(h5, "data/rw", "tok-rel", EVENT_WAIT_MS, why,
			 sizeof(why)),
	      "watch: relative watch's initial event has the relative wpath",
	      "%s", why[0] ? why : ename(errno));
	drain(h5, 100);
	why[0] = 0;
	check(wr(h0, XBT_NULL, "/local/domain/5/data/rw/x", "1") &&
	      wait_event(h5, "data/rw/x", "tok-rel", EVENT_WAIT_MS, why,
			 sizeof(why)),
	      "watch: relative watch gets a relative epath", "%s", why);
	drain(h5, 100);
	why[0] = 0;
	check(xs_watch(h5, "/local/domain/5/data/abs", "tok-abs") &&
	      wait_event(h5, "/local/domain/5/data/abs", "tok-abs",
			 EVENT_WAIT_MS, why, sizeof(why)) &&
	      wr(h0, XBT_NULL, "/local/domain/5/data/abs/y", "1") &&
	      wait_event(h5, "/local/domain/5/data/abs/y", "tok-abs",
			 EVENT_WAIT_MS, why, sizeof(why)),
	      "watch: absolute watch from a domain gets absolute epaths",
	      "%s", why[0] ? why : ename(errno));
	xs_close(h5);
}

/* ------------------------------------------------------------------ */
/* Permissions                                                        */

static void test_permissions(struct xs_handle *h0)
{
	char why[600] = "";
	struct xs_handle *h5;
	static const char *const n0[] = { "n0" };
	static const char *const n0r5[] = { "n0", "r5" };
	static const char *const n0b5[] = { "n0", "b5" };
	unsigned int n;
	struct xs_permissions *p;

	wr(h0, XBT_NULL, BASE "/perm/secret", "s3cret");
	wr(h0, XBT_NULL, BASE "/perm/shared", "sh");
	set_perms_str(h0, BASE "/perm", n0r5, 2);
	check(set_perms_str(h0, BASE "/perm/secret", n0, 1),
	      "perms: dom0 sets n0", "%s", ename(errno));
	p = xs_get_permissions(h0, XBT_NULL, BASE "/perm/secret", &n);
	check(p && n == 1 && p[0].id == 0 && p[0].perms == XS_PERM_NONE,
	      "perms: get_permissions returns n0", "%s n=%u",
	      p ? "got" : ename(errno), p ? n : 0);
	free(p);

	if (!give_to(h0, "/local/domain/5", 5)) {
		fail("perms: restricted connection", "setup failed");
		return;
	}
	h5 = conn_restricted(5);
	if (!check(h5 != NULL, "perms: CONTROL restrict 5 returns OK",
		   "failed (see stderr)"))
		return;

	check(read_fails(h5, XBT_NULL, BASE "/perm/secret", EACCES, why,
			 sizeof(why)),
	      "perms: domain 5 cannot read an n0 node (EACCES)", "%s", why);
	{
		bool r = wr(h5, XBT_NULL, BASE "/perm/secret", "mine");
		int e = errno;

		check(!r && e == EACCES,
		      "perms: domain 5 cannot write an n0 node (EACCES)",
		      "%s", r ? "succeeded" : ename(e));
	}
	why[0] = 0;
	check(set_perms_str(h0, BASE "/perm/secret", n0r5, 2) &&
	      read_is(h5, XBT_NULL, BASE "/perm/secret", "s3cret", why,
		      sizeof(why)),
	      "perms: domain 5 reads after r5 is granted", "%s",
	      why[0] ? why : ename(errno));
	{
		bool r = wr(h5, XBT_NULL, BASE "/perm/secret", "mine");
		int e = errno;

		check(!r && e == EACCES,
		      "perms: r5 does not allow domain 5 to write (EACCES)",
		      "%s", r ? "succeeded" : ename(e));
	}
	{
		unsigned int nd = 0;
		char **d;

		set_perms_str(h0, BASE "/perm/secret", n0, 1);
		d = xs_directory(h5, XBT_NULL, BASE "/perm/secret", &nd);
		check(!d && errno == EACCES,
		      "perms: domain 5 cannot list an n0 node (EACCES)", "%s",
		      d ? "listed" : ename(errno));
		free(d);
	}

	/* own area */
	why[0] = 0;
	check(wr(h5, XBT_NULL, "data/x", "by-5") &&
	      read_is(h0, XBT_NULL, "/local/domain/5/data/x", "by-5", why,
		      sizeof(why)) &&
	      read_is(h5, XBT_NULL, "/local/domain/5/data/x", "by-5", why,
		      sizeof(why)),
	      "perms: domain 5 writes its own area (relative path)", "%s",
	      why[0] ? why : ename(errno));
	p = xs_get_permissions(h0, XBT_NULL, "/local/domain/5/data/x", &n);
	check(p && n >= 1 && p[0].id == 5,
	      "perms: a node created by domain 5 is owned by 5", "%s owner %u",
	      p ? "got" : ename(errno), p && n ? p[0].id : 9999);
	free(p);

	/* create under a dom0-owned node where 5 has write access */
	why[0] = 0;
	check(set_perms_str(h0, BASE "/perm/shared", n0b5, 2) &&
	      wr(h5, XBT_NULL, BASE "/perm/shared/child", "c"),
	      "perms: domain 5 creates a child of a b5 node", "%s",
	      ename(errno));
	p = xs_get_permissions(h0, XBT_NULL, BASE "/perm/shared/child", &n);
	check(p && n >= 1 && p[0].id == 5,
	      "perms: the child created by domain 5 is owned by 5",
	      "%s owner %u", p ? "got" : ename(errno), p && n ? p[0].id : 9999);
	free(p);

	/* only the owner may change permissions */
	{
		static const char *const b5[] = { "b5" };
		static const char *const n5r0[] = { "n5", "r0" };
		static const char *const n0only[] = { "n0" };
		bool r = set_perms_str(h5, BASE "/perm/shared", b5, 1);
		int e = errno;

		check(!r && e == EACCES,
		      "perms: domain 5 cannot set perms of a node it does not "
		      "own (EACCES)", "%s", r ? "succeeded" : ename(e));
		check(set_perms_str(h5, BASE "/perm/shared/child", n5r0, 2),
		      "perms: domain 5 sets perms of its own node", "%s",
		      ename(errno));
		r = set_perms_str(h5, BASE "/perm/shared/child", n0only, 1);
		e = errno;
		check(!r && e == EPERM,
		      "perms: domain 5 cannot give its node to dom0 (EPERM)",
		      "%s", r ? "succeeded" : ename(e));
		p = xs_get_permissions(h0, XBT_NULL, BASE "/perm/shared/child",
				       &n);
		check(p && n == 2 && p[0].id == 5 && p[1].id == 0 &&
		      p[1].perms == XS_PERM_READ,
		      "perms: permissions after the owner's change are n5 r0",
		      "%s n=%u", p ? "got" : ename(errno), p ? n : 0);
		free(p);
	}
	{
		unsigned int len;
		char *v = xs_get_domain_path(h5, 5);

		check(v && strcmp(v, "/local/domain/5") == 0,
		      "perms: domain 5 gets its own domain path", "%s",
		      v ? v : ename(errno));
		free(v);
		/* a restricted connection may not regain privilege */
		v = xs_control_command(h5, "restrict", "0", 2);
		check(v == NULL, "perms: CONTROL from a restricted connection "
		      "is refused", "got \"%s\"", v ? v : "");
		free(v);
		v = xs_read(h5, XBT_NULL, BASE "/perm/secret", &len);
		check(v == NULL && errno == EACCES,
		      "perms: still unprivileged after a refused CONTROL",
		      "%s", v ? "read succeeded" : ename(errno));
		free(v);
	}
	xs_close(h5);
}

/* ------------------------------------------------------------------ */
/* Quotas (restricted connections)                                    */

static void test_quota_watches(struct xs_handle *h0, unsigned int max,
			       unsigned int domid)
{
	char name[128], path[64];
	struct xs_handle *hd;
	unsigned int i, okc = 0;
	int e = 0;

	snprintf(name, sizeof(name), "quota: watch %u fails E2BIG (-W %u)",
		 max + 1, max);
	(void)h0;
	hd = conn_restricted(domid);
	if (!hd) {
		fail(name, "CONTROL restrict %u failed", domid);
		return;
	}
	for (i = 0; i < max + 1; i++) {
		snprintf(path, sizeof(path), "qw/%u", i);
		if (!xs_watch(hd, path, "q")) {
			e = errno;
			break;
		}
		okc++;
	}
	check(okc == max && e == E2BIG, name, "%u watches succeeded, then %s",
	      okc, e ? ename(e) : "no failure");
	{
		char *v;

		drain(hd, 100);
		v = xs_get_domain_path(hd, domid);
		check(v != NULL, "quota: connection still served after the watch "
		      "quota", "%s", ename(errno));
		free(v);
	}
	xs_close(hd);
}

static void test_quota_transactions(unsigned int max, unsigned int domid)
{
	char name[128];
	struct xs_handle *hd = conn_restricted(domid);
	xs_transaction_t t[64];
	unsigned int i, okc = 0;
	int e = 0;

	snprintf(name, sizeof(name),
		 "quota: transaction %u fails ENOSPC (-t %u)", max + 1, max);
	if (!hd) {
		fail(name, "CONTROL restrict %u failed", domid);
		return;
	}
	for (i = 0; i < max + 1 && i < 64; i++) {
		t[i] = xs_transaction_start(hd);
		if (!t[i]) {
			e = errno;
			break;
		}
		okc++;
	}
	check(okc == max && e == ENOSPC, name,
	      "%u transactions started, then %s", okc,
	      e ? ename(e) : "no failure");
	for (i = 0; i < okc; i++)
		xs_transaction_end(hd, t[i], true);
	t[0] = xs_transaction_start(hd);
	check(t[0] != 0, "quota: a transaction starts again after ending "
	      "the others", "%s", ename(errno));
	if (t[0])
		xs_transaction_end(hd, t[0], true);
	xs_close(hd);
}

static void test_quota_node_size(struct xs_handle *h0, unsigned int max,
				 unsigned int domid)
{
	char name[128], area[64];
	struct xs_handle *hd;
	char *buf;
	bool r;
	int e;

	snprintf(area, sizeof(area), "/local/domain/%u", domid);
	snprintf(name, sizeof(name),
		 "quota: a %u-byte value fails ENOSPC (-S %u)", max + 1, max);
	if (!give_to(h0, area, domid) || !(hd = conn_restricted(domid))) {
		fail(name, "setup failed");
		return;
	}
	buf = malloc(max + 1);
	memset(buf, 'z', max + 1);
	r = xs_write(hd, XBT_NULL, "big", buf, max + 1);
	e = errno;
	check(!r && e == ENOSPC, name, "%s", r ? "succeeded" : ename(e));
	r = xs_write(hd, XBT_NULL, "half", buf, max / 2);
	check(r, "quota: a value of half the node-size quota is accepted",
	      "%u bytes: %s", max / 2, ename(errno));
	r = xs_write(h0, XBT_NULL, BASE "/dom0-big", buf, max + 1);
	check(r, "quota: dom0 is not bound by the node-size quota", "%s",
	      ename(errno));
	free(buf);
	xs_close(hd);
}

static void test_quota_entries(struct xs_handle *h0, unsigned int max,
			       unsigned int domid)
{
	char name[128], area[64], path[128];
	struct xs_handle *hd;
	unsigned int i, created = 0;
	int e = 0;

	snprintf(area, sizeof(area), "/local/domain/%u", domid);
	snprintf(name, sizeof(name),
		 "quota: node creation beyond %u entries fails ENOSPC (-E %u)",
		 max, max);
	if (!give_to(h0, area, domid) || !(hd = conn_restricted(domid))) {
		fail(name, "setup failed");
		return;
	}
	/* Nodes go 50 to a directory, so that no single node's child list
	 * comes near the node-size quota (child names count toward a node's
	 * size).  created counts every node made, directories included. */
	for (i = 0; created < max + 10; i++) {
		snprintf(path, sizeof(path), "d%u/e%u", i / 50, i);
		if (!xs_write(hd, XBT_NULL, path, "", 0)) {
			e = errno;
			break;
		}
		created += i % 50 == 0 ? 2 : 1;
	}
	/* the domain already owns its home node: at most max - 1 more; allow
	 * a little slack for what the daemon counts */
	check(e == ENOSPC && created + 5 >= max && created < max, name,
	      "%u nodes created, then %s", created,
	      e ? ename(e) : "no failure");
	if (created) {
		check(xs_write(hd, XBT_NULL, "d0/e0", "changed", 7),
		      "quota: at the entry quota an existing node can still "
		      "be changed", "%s", ename(errno));
		check(xs_rm(hd, XBT_NULL, "d0/e1") &&
		      xs_write(hd, XBT_NULL, "d0/e-new", "", 0),
		      "quota: after rm a new node can be created again", "%s",
		      ename(errno));
	}
	snprintf(path, sizeof(path), "%s/by-dom0", area);
	check(xs_write(h0, XBT_NULL, path, "x", 1),
	      "quota: dom0 still creates nodes in the full domain's area",
	      "%s", ename(errno));
	xs_close(hd);
	xs_rm(h0, XBT_NULL, area);
}

static void test_quota_perms(struct xs_handle *h0, unsigned int max,
			     unsigned int domid)
{
	char name[128], area[64];
	struct xs_handle *hd;
	struct xs_permissions p[32];
	unsigned int i;
	bool r;
	int e;

	snprintf(area, sizeof(area), "/local/domain/%u", domid);
	snprintf(name, sizeof(name),
		 "quota: %u permission entries fail ENOSPC (-A %u)", max + 1,
		 max);
	if (max + 1 > 32 || !give_to(h0, area, domid) ||
	    !(hd = conn_restricted(domid))) {
		fail(name, "setup failed");
		return;
	}
	if (!xs_write(hd, XBT_NULL, "pn", "", 0)) {
		fail(name, "write pn: %s", ename(errno));
		xs_close(hd);
		return;
	}
	for (i = 0; i < max + 1; i++) {
		p[i].id = i == 0 ? domid : 100 + i;
		p[i].perms = XS_PERM_READ;
	}
	r = xs_set_permissions(hd, XBT_NULL, "pn", p, max);
	check(r, "quota: permission entries up to the quota are accepted",
	      "%u entries: %s", max, ename(errno));
	r = xs_set_permissions(hd, XBT_NULL, "pn", p, max + 1);
	e = errno;
	check(!r && e == ENOSPC, name, "%s", r ? "succeeded" : ename(e));
	xs_close(hd);
}

static void test_quota_trans_nodes(struct xs_handle *h0, unsigned int max,
				   unsigned int domid)
{
	char name[128], area[64], path[128];
	struct xs_handle *hd;
	xs_transaction_t t;
	unsigned int i;
	bool r = true, c;
	int e = 0;

	snprintf(area, sizeof(area), "/local/domain/%u", domid);
	snprintf(name, sizeof(name),
		 "quota: a transaction touching over %u nodes fails ENOSPC "
		 "(-Q transaction-nodes=%u)", max, max);
	if (!give_to(h0, area, domid) || !(hd = conn_restricted(domid))) {
		fail(name, "setup failed");
		return;
	}
	t = xs_transaction_start(hd);
	if (!t) {
		fail(name, "transaction start: %s", ename(errno));
		xs_close(hd);
		return;
	}
	for (i = 0; i < max + 5 && r; i++) {
		snprintf(path, sizeof(path), "tn%u", i);
		r = xs_write(hd, t, path, "", 0);
		e = errno;
	}
	if (r) {
		c = xs_transaction_end(hd, t, false);
		e = errno;
		check(!c && e == ENOSPC, name, "all %u writes %s", max + 5,
		      c ? "committed" : ename(e));
	} else {
		check(e == ENOSPC, name, "write %u failed with %s", i,
		      ename(e));
		xs_transaction_end(hd, t, true);
	}
	xs_close(hd);
}

static void run_quotas(struct xs_handle *h0, const struct limits *l)
{
	if (l->watches)
		test_quota_watches(h0, l->watches, 11);
	if (l->transactions)
		test_quota_transactions(l->transactions, 12);
	if (l->node_size)
		test_quota_node_size(h0, l->node_size, 13);
	if (l->entries)
		test_quota_entries(h0, l->entries, 14);
	if (l->perms)
		test_quota_perms(h0, l->perms, 15);
	if (l->trans_nodes)
		test_quota_trans_nodes(h0, l->trans_nodes, 16);
}

/* ------------------------------------------------------------------ */
/* Domains and CONTROL                                                */

static void test_misc(struct xs_handle *h)
{
	char *v = xs_get_domain_path(h, 7);
	bool b;

	check(v && strcmp(v, "/local/domain/7") == 0,
	      "domain: get_domain_path(7) == /local/domain/7", "got %s",
	      v ? v : ename(errno));
	free(v);
	v = xs_get_domain_path(h, 0);
	check(v && strcmp(v, "/local/domain/0") == 0,
	      "domain: get_domain_path(0) == /local/domain/0", "got %s",
	      v ? v : ename(errno));
	free(v);

	errno = 0;
	b = xs_is_domain_introduced(h, 7);
	check(!b, "domain: domain 7 is not introduced on a host without Xen",
	      "reported introduced");

	v = xs_control_command(h, "help", NULL, 0);
	check(v && strstr(v, "check") && strstr(v, "log") &&
	      strstr(v, "quota") && strstr(v, "memreport"),
	      "control: help lists check, log, memreport and quota", "got %s",
	      v ? v : ename(errno));
	if (v && !strstr(v, "restrict"))
		fprintf(stderr, "# note: CONTROL help does not list restrict\n");
	free(v);
	v = xs_control_command(h, "check", NULL, 0);
	check(v && strcmp(v, "OK") == 0, "control: check returns OK",
	      "got %s", v ? v : ename(errno));
	free(v);
	v = xs_control_command(h, "quota", NULL, 0);
	check(v && strlen(v) > 0, "control: quota prints the quotas",
	      "got %s", v ? "empty" : ename(errno));
	free(v);
	v = xs_control_command(h, "no-such-command", NULL, 0);
	check(!v && errno == EINVAL,
	      "control: an unknown command fails EINVAL", "got %s",
	      v ? v : ename(errno));
	free(v);
}

/* ------------------------------------------------------------------ */

static bool parse_limits(int argc, char **argv, struct limits *l)
{
	int i;

	memset(l, 0, sizeof(*l));
	for (i = 2; i < argc; i++) {
		char *eq = strchr(argv[i], '=');
		unsigned int v;

		if (!eq)
			return false;
		*eq = 0;
		v = (unsigned int)strtoul(eq + 1, NULL, 10);
		if (strcmp(argv[i], "E") == 0)
			l->entries = v;
		else if (strcmp(argv[i], "W") == 0)
			l->watches = v;
		else if (strcmp(argv[i], "t") == 0)
			l->transactions = v;
		else if (strcmp(argv[i], "S") == 0)
			l->node_size = v;
		else if (strcmp(argv[i], "A") == 0)
			l->perms = v;
		else if (strcmp(argv[i], "Qtn") == 0)
			l->trans_nodes = v;
		else
			return false;
	}
	return true;
}

int main(int argc, char **argv)
{
	struct xs_handle *h0, *h2, *hw;
	bool limits_only = argc > 1 && strcmp(argv[1], "--limits") == 0;
	struct limits l = {
		.entries = 1000, .watches = 128, .transactions = 10,
		.node_size = 2048, .perms = 5,
		/* transaction-nodes (1024) is beyond the entry quota: only
		 * checked with --limits */
		.trans_nodes = 0,
	};

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!getenv("XENSTORED_PATH")) {
		printf("not ok - xs_client: XENSTORED_PATH is not set\n");
		return 1;
	}
	if (limits_only && !parse_limits(argc, argv, &l)) {
		printf("not ok - xs_client: bad --limits arguments\n");
		return 2;
	}
	h0 = conn_open();
	h2 = conn_open();
	hw = conn_open();
	if (!check(h0 && h2 && hw, "connect: xs_open over XENSTORED_PATH",
		   "%s", ename(errno)))
		return 1;

	if (limits_only) {
		xs_mkdir(h0, XBT_NULL, BASE);
		run_quotas(h0, &l);
	} else {
		test_basic(h0);
		test_big_directory(h0);
		test_transactions(h0, h2);
		test_watches(h0, hw);
		test_relative_watch(h0);
		test_permissions(h0);
		run_quotas(h0, &l);
		test_misc(h0);
	}
	xs_close(hw);
	xs_close(h2);
	xs_close(h0);
	fprintf(stderr, "# xs_client: %u passed, %u failed\n", n_pass, n_fail);
	return n_fail ? 1 : 0;
}
