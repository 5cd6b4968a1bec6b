/* watch.c (with handlers.c and txn.c): which watches fire, with what,
 * read back from the wire as WATCH_EVENT messages. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "unit.h"

static char ev[8192];

/* Adds a watch and checks the event every new watch fires at once. */
static void watch_ok(struct tconn *t, const char *path, const char *token)
{
	char want[512];

	assert_int_equal(tc_watch(t, path, token), 0);
	snprintf(want, sizeof(want), "%s|%s", path, token);
	assert_int_equal(tc_events(t, ev, sizeof(ev)), 1);
	assert_string_equal(ev, want);
}

static void expect_events(struct tconn *t, int n, const char *want)
{
	int got = tc_events(t, ev, sizeof(ev));

	if (got != n || strcmp(ev, want))
		fail_msg("events: got %d '%s', expected %d '%s'", got, ev, n,
			 want);
}

static void test_fires_on_node(void **state)
{
	struct tconn *a = tc_new(0, true), *b = tc_new(0, true);

	(void)state;
	watch_ok(a, "/w", "tok");
	assert_int_equal(tc_write(b, 0, "/w", "1"), 0);
	expect_events(a, 1, "/w|tok");
	assert_int_equal(tc_write(b, 0, "/w", "2"), 0);
	expect_events(a, 1, "/w|tok");
	assert_int_equal(tc_rm(b, 0, "/w"), 0);
	expect_events(a, 1, "/w|tok");
	expect_events(b, 0, "");	/* the writer does not watch */
}

static void test_fires_on_descendant(void **state)
{
	struct tconn *a = tc_new(0, true), *b = tc_new(0, true);

	(void)state;
	assert_int_equal(tc_write(b, 0, "/w", ""), 0);
	watch_ok(a, "/w", "tok");
	/* Missing levels are created silently: one event, for the leaf. */
	assert_int_equal(tc_write(b, 0, "/w/x/y", "1"), 0);
	expect_events(a, 1, "/w/x/y|tok");
	assert_int_equal(tc_write(b, 0, "/w/x", "2"), 0);
	expect_events(a, 1, "/w/x|tok");
}

static void test_not_on_sibling(void **state)
{
	struct tconn *a = tc_new(0, true), *b = tc_new(0, true);

	(void)state;
	assert_int_equal(tc_write(b, 0, "/w/x", ""), 0);
	watch_ok(a, "/w/x", "tok");
	assert_int_equal(tc_write(b, 0, "/w/xy", "1"), 0);
	assert_int_equal(tc_write(b, 0, "/w/y", "1"), 0);
	assert_int_equal(tc_write(b, 0, "/w", "parent"), 0);
	assert_int_equal(tc_write(b, 0, "/v", "1"), 0);
	expect_events(a, 0, "");
}

static void test_recursive_rm(void **state)
{
	struct tconn *b = tc_new(0, true);
	struct tconn *wab = tc_new(0, true), *wr = tc_new(0, true),
		     *wroot = tc_new(0, true), *wc = tc_new(0, true),
		     *wa = tc_new(0, true), *wother = tc_new(0, true),
		     *wdeeper = tc_new(0, true);

	(void)state;
	assert_int_equal(tc_write(b, 0, "/r/a/b", "1"), 0);
	assert_int_equal(tc_write(b, 0, "/r/c", "2"), 0);
	assert_int_equal(tc_write(b, 0, "/other", "3"), 0);
	watch_ok(wab, "/r/a/b", "ab");
	watch_ok(wr, "/r", "r");
	watch_ok(wroot, "/", "root");
	watch_ok(wc, "/r/c", "c");
	watch_ok(wa, "/r/a", "a");
	watch_ok(wother, "/other", "o");
	watch_ok(wdeeper, "/r/a/b/none", "n");

	assert_int_equal(tc_rm(b, 0, "/r"), 0);
	/* Each removed node fires its own watchers with its own path... */
	expect_events(wab, 1, "/r/a/b|ab");
	expect_events(wc, 1, "/r/c|c");
	expect_events(wa, 1, "/r/a|a");
	/* ...the top one and its ancestors fire once, with the top. */
	expect_events(wr, 1, "/r|r");
	expect_events(wroot, 1, "/r|root");
	expect_events(wother, 0, "");
	expect_events(wdeeper, 0, "");
}

static void test_relative_watch(void **state)
{
	struct tconn *d5 = tc_new(5, false), *dom0 = tc_new(0, true);

	(void)state;
	mknode("/local", "", 0, PERM_NONE);
	mknode("/local/domain", "", 0, PERM_NONE);
	mknode("/local/domain/5", "", 5, PERM_NONE);
	watch_ok(d5, "foo", "rel");
	assert_int_equal(tc_write(dom0, 0, "/local/domain/5/foo", "1"), 0);
	expect_events(d5, 1, "foo|rel");
	assert_int_equal(tc_write(dom0, 0, "/local/domain/5/foo/bar", "1"), 0);
	expect_events(d5, 1, "foo/bar|rel");

	/* The same node watched by its absolute path gets absolute paths. */
	watch_ok(d5, "/local/domain/5/foo", "abs");
	assert_int_equal(tc_write(dom0, 0, "/local/domain/5/foo", "2"), 0);
	{
		int n = tc_events(d5, ev, sizeof(ev));

		assert_int_equal(n, 2);
		/* Either order: one each. */
		if (strcmp(ev, "foo|rel;/local/domain/5/foo|abs") &&
		    strcmp(ev, "/local/domain/5/foo|abs;foo|rel"))
			fail_msg("events '%s'", ev);
	}
}

static void test_unreadable_not_delivered(void **state)
{
	struct tconn *d5 = tc_new(5, false), *dom0 = tc_new(0, true);

	(void)state;
	mknode("/pub", "", 0, PERM_READ);
	watch_ok(d5, "/secret", "s");
	watch_ok(d5, "/pub", "p");
	/* /secret inherits the root's "n0": domain 5 may not read it. */
	assert_int_equal(tc_write(dom0, 0, "/secret", "x"), 0);
	expect_events(d5, 0, "");
	assert_int_equal(tc_write(dom0, 0, "/secret/kid", "x"), 0);
	expect_events(d5, 0, "");
	assert_int_equal(tc_write(dom0, 0, "/pub", "y"), 0);
	expect_events(d5, 1, "/pub|p");
	assert_int_equal(tc_rm(dom0, 0, "/secret"), 0);
	expect_events(d5, 0, "");
}

static void test_txn_events_at_commit(void **state)
{
	struct tconn *a = tc_new(0, true), *b = tc_new(0, true);
	uint32_t tx;

	(void)state;
	assert_int_equal(tc_write(b, 0, "/t", ""), 0);
	watch_ok(a, "/t", "tok");

	assert_int_equal(tc_txn_start(b, &tx), 0);
	assert_int_equal(tc_write(b, tx, "/t/x", "1"), 0);
	assert_int_equal(tc_write(b, tx, "/t", "v"), 0);
	expect_events(a, 0, "");
	assert_int_equal(tc_txn_end(b, tx, true), 0);
	{
		int n = tc_events(a, ev, sizeof(ev));

		assert_int_equal(n, 2);
		if (strcmp(ev, "/t/x|tok;/t|tok") && strcmp(ev, "/t|tok;/t/x|tok"))
			fail_msg("events '%s'", ev);
	}

	/* An aborted transaction fires nothing. */
	assert_int_equal(tc_txn_start(b, &tx), 0);
	assert_int_equal(tc_write(b, tx, "/t/y", "1"), 0);
	assert_int_equal(tc_txn_end(b, tx, false), 0);
	expect_events(a, 0, "");
	assert_null(store_lookup("/t/y"));
}

static void test_watch_quota(void **state)
{
	struct tconn *d5 = tc_new(5, false), *dom0 = tc_new(0, true);
	char p[64];
	int i;

	(void)state;
	quotas[Q_WATCHES].val = 2;
	watch_ok(d5, "/a", "1");
	watch_ok(d5, "/b", "2");
	assert_int_equal(tc_watch(d5, "/c", "3"), -E2BIG);
	expect_events(d5, 0, "");
	assert_int_equal(d5->c->nwatches, 2);
	/* The same watch twice is EEXIST, not a new one. */
	assert_int_equal(tc_watch(d5, "/a", "1"), -EEXIST);
	/* Removing one makes room. */
	assert_int_equal(tc_call(d5, XS_UNWATCH, 0, "/a\0" "1", 5, NULL), 0);
	watch_ok(d5, "/c", "3");
	/* dom0 has no limit. */
	for (i = 0; i < 5; i++) {
		snprintf(p, sizeof(p), "/x%d", i);
		watch_ok(dom0, p, "t");
	}
	assert_int_equal(dom0->c->nwatches, 5);
}

static void test_shared_path_and_unwatch(void **state)
{
	struct tconn *a = tc_new(0, true), *b = tc_new(0, true),
		     *c = tc_new(0, true), *w = tc_new(0, true);

	(void)state;
	watch_ok(a, "/x", "a");
	watch_ok(b, "/x", "b");
	watch_ok(c, "/x", "c");
	watch_ok(a, "/x", "a2");	/* second token, same conn */
	assert_int_equal(tc_write(w, 0, "/x", "1"), 0);
	expect_events(b, 1, "/x|b");
	expect_events(c, 1, "/x|c");
	assert_int_equal(tc_events(a, ev, sizeof(ev)), 2);

	/* Remove the middle one, then the newest, then a token of a. */
	assert_int_equal(tc_call(b, XS_UNWATCH, 0, "/x\0b", 5, NULL), 0);
	assert_int_equal(tc_call(b, XS_UNWATCH, 0, "/x\0b", 5, NULL), -ENOENT);
	assert_int_equal(tc_call(a, XS_UNWATCH, 0, "/x\0a2", 6, NULL), 0);
	assert_int_equal(tc_write(w, 0, "/x", "2"), 0);
	expect_events(a, 1, "/x|a");
	expect_events(b, 0, "");
	expect_events(c, 1, "/x|c");

	/* RESET_WATCHES drops all of a connection's watches. */
	assert_int_equal(tc_call(a, XS_RESET_WATCHES, 0, "", 1, NULL), 0);
	assert_int_equal(a->c->nwatches, 0);
	assert_int_equal(tc_write(w, 0, "/x", "3"), 0);
	expect_events(a, 0, "");
	expect_events(c, 1, "/x|c");
	assert_int_equal(watch_count(), 1);
}

static void test_dead_conn_not_fired(void **state)
{
	struct tconn *a = tc_new(0, true), *b = tc_new(0, true);

	(void)state;
	watch_ok(a, "/x", "a");
	conn_kill(a->c, "test");
	/* Kept until the reaper (a fan-out may be walking them), but never
	 * fired. */
	assert_int_equal(a->c->nwatches, 1);
	assert_int_equal(tc_write(b, 0, "/x", "1"), 0);
	expect_events(a, 0, "");
}

static void test_unrelated_sibling_in_txn(void **state)
{
	struct tconn *a = tc_new(0, true), *b = tc_new(0, true);
	uint32_t tx;
	char v[8];

	(void)state;
	assert_int_equal(tc_write(b, 0, "/p/x", "0"), 0);
	assert_int_equal(tc_write(b, 0, "/p/z", "0"), 0);
	assert_int_equal(tc_txn_start(a, &tx), 0);
	assert_int_equal(tc_write(a, tx, "/p/x", "1"), 0);
	/* Another adds and removes siblings of the node we changed. */
	assert_int_equal(tc_write(b, 0, "/p/y", "0"), 0);
	assert_int_equal(tc_rm(b, 0, "/p/z"), 0);
	assert_int_equal(tc_txn_end(a, tx, true), 0);
	assert_int_equal(tc_read(b, 0, "/p/x", v, sizeof(v)), 0);
	assert_string_equal(v, "1");
	/* But a changed node is a conflict: EAGAIN, nothing applied. */
	assert_int_equal(tc_txn_start(a, &tx), 0);
	assert_int_equal(tc_write(a, tx, "/p/x", "2"), 0);
	assert_int_equal(tc_write(b, 0, "/p/x", "3"), 0);
	assert_int_equal(tc_txn_end(a, tx, true), -EAGAIN);
	assert_int_equal(tc_read(b, 0, "/p/x", v, sizeof(v)), 0);
	assert_string_equal(v, "3");
	assert_int_equal(a->c->ntxns, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(test_fires_on_node),
		UNIT_TEST(test_fires_on_descendant),
		UNIT_TEST(test_not_on_sibling),
		UNIT_TEST(test_recursive_rm),
		UNIT_TEST(test_relative_watch),
		UNIT_TEST(test_unreadable_not_delivered),
		UNIT_TEST(test_txn_events_at_commit),
		UNIT_TEST(test_watch_quota),
		UNIT_TEST(test_shared_path_and_unwatch),
		UNIT_TEST(test_dead_conn_not_fired),
		UNIT_TEST(test_unrelated_sibling_in_txn),
	};

	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
