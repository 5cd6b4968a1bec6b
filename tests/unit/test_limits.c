/*
 * The limits a hostile client must not get past (issue 10's findings), at
 * the level of the daemon's own code: a connection killed inside a watch
 * fan-out, quotas under concurrent transactions, what transactions hold,
 * permissions naming a dead domain, and watch events over a domain's
 * output limit.  Each of these failed (under ASan for the first) before
 * its fix.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static struct node *mkpath(const char *path, uint32_t owner, uint32_t mode)
{
	char parent[256];

	if (store_lookup(path))
		return store_lookup(path);
	assert_true(strlen(path) < sizeof(parent));
	if (path_parent(path, parent) && strcmp(parent, "/"))
		mkpath(parent, 0, PERM_NONE);
	return mknode(path, "", owner, mode);
}

static void set_perms2(const char *path, uint32_t owner, uint32_t other,
		       uint16_t other_mode)
{
	struct perm p[2] = { { (uint16_t)owner, PERM_NONE },
			     { (uint16_t)other, other_mode } };
	struct perms ps = { .p = p, .n = 2 };

	assert_int_equal(store_set_perms(store_lookup(path), &ps), 0);
}

/* Finding 1: a watcher that never reads passes its output limit inside
 * the fan-out of one write, with many watches on the path.  Killing it
 * used to free its watches while watch_fire() was walking them. */
static void test_kill_inside_fanout(void **state)
{
	struct tconn *watcher = tc_new(0, true), *writer = tc_new(0, true);
	char token[1600];
	int i, rc = 0;

	(void)state;
	assert_int_equal(tc_write(writer, 0, "/fan", ""), 0);
	memset(token, 't', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	for (i = 0; i < 64; i++) {
		snprintf(token, 8, "%03d", i);
		token[3] = 't';
		assert_int_equal(tc_watch(watcher, "/fan", token), 0);
	}
	/* ~100 KiB of events a write: 16 MiB comes in under 200 writes. */
	for (i = 0; i < 400 && !watcher->c->dead; i++) {
		rc = tc_write(writer, 0, "/fan", "x");
		if (rc)
			break;
	}
	assert_int_equal(rc, 0);
	assert_true(watcher->c->dead);
	/* It keeps its watches until the reaper, and stops receiving. */
	assert_int_equal(watcher->c->nwatches, 64);
	assert_int_equal(tc_write(writer, 0, "/fan", "y"), 0);
	assert_int_equal(watch_count(), 64);
	unit_assert_tree_ok();
}

/* Finding 2: ten transactions, each under -E against the store it
 * started from, must not together own more than -E at commit. */
static void test_node_quota_at_commit(void **state)
{
	struct tconn *d7[10];
	uint32_t tx[10];
	char path[64];
	int i, j, committed = 0, nospc = 0;

	(void)state;
	mkpath("/local/domain/7", 7, PERM_NONE);
	for (i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "/local/domain/7/t%d", i);
		mkpath(path, 7, PERM_NONE);
	}
	quotas[Q_NODES].val = 50;
	assert_int_equal(store.usage[7].nodes, 11);
	for (i = 0; i < 10; i++) {
		d7[i] = tc_new(7, false);
		assert_int_equal(tc_txn_start(d7[i], &tx[i]), 0);
		for (j = 0; j < 100; j++) {
			snprintf(path, sizeof(path), "/local/domain/7/t%d/n%d",
				 i, j);
			if (tc_write(d7[i], tx[i], path, "v"))
				break;
		}
		assert_int_equal(j, 39);	/* 11 + 39 = 50 in each */
	}
	for (i = 0; i < 10; i++) {
		int rc = tc_txn_end(d7[i], tx[i], true);

		if (!rc)
			committed++;
		else if (rc == -ENOSPC)
			nospc++;
		else
			fail_msg("commit %d: %s", i, strerror(-rc));
	}
	assert_int_equal(committed, 1);
	assert_int_equal(nospc, 9);
	assert_true(store.usage[7].nodes <= 50);
	unit_assert_tree_ok();
}

/* Finding 3: what open transactions copy counts against the domain's
 * memory quota, and an unreadable node is not copied at all. */
static void test_txn_memory_quota(void **state)
{
	struct tconn *d8[10];
	char path[64], val[1901];
	uint32_t tx[10];
	int i, j, read_ok = 0, nomem = 0;
	uint64_t held;

	(void)state;
	memset(val, 'v', sizeof(val) - 1);
	val[sizeof(val) - 1] = '\0';
	mkpath("/big", 0, PERM_NONE);
	mkpath("/secret", 0, PERM_NONE);
	for (i = 0; i < 100; i++) {
		struct node *n;

		snprintf(path, sizeof(path), "/big/k%d", i);
		n = mknode(path, "", 0, PERM_NONE);
		assert_int_equal(store_set_value(n, val, 1900), 0);
		set_perms2(path, 0, 8, PERM_READ);
		snprintf(path, sizeof(path), "/secret/k%d", i);
		n = mknode(path, "", 0, PERM_NONE);
		assert_int_equal(store_set_value(n, val, 1900), 0);
	}
	quotas[Q_MEMORY].val = 300000;
	quotas[Q_MEMORY_SOFT].val = 300000;

	/* Unreadable: EACCES, and next to nothing held for it. */
	d8[0] = tc_new(8, false);
	assert_int_equal(tc_txn_start(d8[0], &tx[0]), 0);
	for (j = 0; j < 100; j++) {
		snprintf(path, sizeof(path), "/secret/k%d", j);
		assert_int_equal(tc_read(d8[0], tx[0], path, val, sizeof(val)),
				 -EACCES);
	}
	held = store.usage[8].txn_bytes;
	assert_true(held > 0);
	assert_true(held < 100 * 1900 / 4);
	assert_int_equal(tc_txn_end(d8[0], tx[0], false), 0);
	assert_int_equal(store.usage[8].txn_bytes, 0);

	/* Readable: ten transactions together hold at most the quota. */
	for (i = 0; i < 10; i++) {
		d8[i] = i ? tc_new(8, false) : d8[0];
		assert_int_equal(tc_txn_start(d8[i], &tx[i]), 0);
		for (j = 0; j < 100; j++) {
			int rc;

			snprintf(path, sizeof(path), "/big/k%d", j);
			rc = tc_read(d8[i], tx[i], path, val, sizeof(val));
			if (!rc)
				read_ok++;
			else if (rc == -ENOMEM)
				nomem++;
			else
				fail_msg("read %s: %s", path, strerror(-rc));
		}
		assert_true(store.usage[8].txn_bytes <= quotas[Q_MEMORY].val);
	}
	assert_true(nomem > 0);
	assert_true((uint64_t)read_ok * 1900 <= quotas[Q_MEMORY].val);
	for (i = 0; i < 10; i++)
		assert_int_equal(tc_txn_end(d8[i], tx[i], false), 0);
	assert_int_equal(store.usage[8].txn_bytes, 0);
	unit_assert_tree_ok();
}

/* Finding 4: once a domain is gone no permission names it, so a later
 * domain given the same id inherits nothing (XSA-322's class). */
static void test_dead_domain_perms(void **state)
{
	struct tconn *d9;
	char out[64];
	struct perms ps;

	(void)state;
	mkpath("/local/domain/9", 9, PERM_NONE);
	mkpath("/shared", 0, PERM_NONE);
	set_perms2("/shared", 0, 9, PERM_BOTH);
	mkpath("/shared/data", 0, PERM_NONE);
	assert_int_equal(store_set_value(store_lookup("/shared/data"), "s3cr3t",
					 6), 0);
	set_perms2("/shared/data", 0, 9, PERM_READ);
	mkpath("/other", 4, PERM_NONE);
	set_perms2("/other", 4, 9, PERM_WRITE);

	domain_forget(9);

	/* What it owned is gone; where it was named, it is not any more. */
	assert_null(store_lookup("/local/domain/9"));
	ps = node_perms(store_lookup("/shared"));
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.p[0].domid, 0);
	ps = node_perms(store_lookup("/shared/data"));
	assert_int_equal(ps.n, 1);
	ps = node_perms(store_lookup("/other"));
	assert_int_equal(ps.n, 1);
	assert_int_equal(ps.p[0].domid, 4);

	/* The next domain 9 reads and writes nothing of its predecessor's. */
	d9 = tc_new(9, false);
	assert_int_equal(tc_read(d9, 0, "/shared/data", out, sizeof(out)),
			 -EACCES);
	assert_int_equal(tc_write(d9, 0, "/shared/new", "x"), -EACCES);
	assert_int_equal(tc_write(d9, 0, "/other", "x"), -EACCES);
	unit_assert_tree_ok();
}

/* With -K its orphans stay, owned by dom0 from then on. */
static void test_dead_domain_orphans_kept(void **state)
{
	struct perms ps;

	(void)state;
	mkpath("/local/domain/9", 9, PERM_READ);
	keep_orphans = true;
	domain_forget(9);
	keep_orphans = false;
	assert_non_null(store_lookup("/local/domain/9"));
	ps = node_perms(store_lookup("/local/domain/9"));
	assert_int_equal(ps.p[0].domid, 0);
	assert_int_equal(ps.p[0].mode, PERM_READ);
	assert_int_equal(store.usage[9].nodes, 0);
	unit_assert_tree_ok();
}

/* Finding 5: a domain that does not read gets its watch events dropped
 * once its unread output reaches its memory quota: counted, logged, and
 * everything else still works; no event is lost silently. */
static void test_events_over_limit_counted(void **state)
{
	struct tconn *d6 = tc_new(6, false), *dom0 = tc_new(0, true);
	char token[1001];
	int i, got;
	uint64_t dropped;

	(void)state;
	mkpath("/ev", 0, PERM_NONE);
	set_perms2("/ev", 0, 6, PERM_READ);
	quotas[Q_MEMORY].val = 200000;
	quotas[Q_OUTSTANDING].val = 1000000;	/* not what is tested */
	memset(token, 'k', sizeof(token) - 1);
	token[sizeof(token) - 1] = '\0';
	assert_int_equal(tc_watch(d6, "/ev", token), 0);
	/* 2000 events of a KiB: ten times what the quota lets queue, on top
	 * of what the socket itself buffers. */
	for (i = 0; i < 2000; i++)
		assert_int_equal(tc_write(dom0, 0, "/ev", "x"), 0);
	dropped = d6->c->events_dropped;
	assert_true(dropped > 0);
	assert_int_equal(store.usage[6].events_dropped, dropped);
	assert_true(conn_out_bytes(d6->c) <= quotas[Q_MEMORY].val);
	assert_false(d6->c->dead);

	/* Every event fired is either delivered or counted. */
	got = 0;
	for (;;) {
		int n = tc_drain(d6);

		if (!n)
			break;
		got += n;
		conn_flush(d6->c);
	}
	assert_int_equal((uint64_t)got + dropped, 2000 + 1);
	assert_int_equal(tc_write(dom0, 0, "/ev", "y"), 0);
	assert_int_equal(tc_drain(d6), 1);
	assert_false(d6->c->dropping_events);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(test_kill_inside_fanout),
		UNIT_TEST(test_node_quota_at_commit),
		UNIT_TEST(test_txn_memory_quota),
		UNIT_TEST(test_dead_domain_perms),
		UNIT_TEST(test_dead_domain_orphans_kept),
		UNIT_TEST(test_events_over_limit_counted),
	};

	return cmocka_run_group_tests_name("limits", tests, NULL, NULL);
}
