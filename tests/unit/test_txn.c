/* txn.c: isolation, conflicts, recursive removal, quotas and permissions. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

/* Runs one write as the handlers do outside a transaction. */
static int implicit_write(struct conn *c, const char *path, const char *v)
{
	struct txn *t = txn_new(c, 0);
	int rc;

	assert_non_null(t);
	rc = txn_write(t, path, v, (uint32_t)strlen(v), false);
	if (!rc)
		rc = txn_commit(t, false);
	txn_free(t);
	return rc;
}

static int implicit_rm(struct conn *c, const char *path)
{
	struct txn *t = txn_new(c, 0);
	int rc;

	assert_non_null(t);
	rc = txn_rm(t, path);
	if (!rc)
		rc = txn_commit(t, false);
	txn_free(t);
	return rc;
}

static void assert_value(const char *path, const char *v)
{
	struct node *n = store_lookup(path);

	if (!n)
		fail_msg("%s does not exist", path);
	if (n->vlen != strlen(v) || (n->vlen && memcmp(node_value(n), v, n->vlen)))
		fail_msg("%s is '%.*s', not '%s'", path, (int)n->vlen,
			 node_value(n) ? node_value(n) : "", v);
}

/* /local/domain/<domid>, owned by owner with the given default and, if
 * listed_mode is not PERM_NONE, a second entry for domid. */
static void mkhome(uint32_t domid, uint32_t owner, uint32_t listed_mode)
{
	char path[64];
	struct node *n;

	if (!store_lookup("/local"))
		mknode("/local", "", 0, PERM_NONE);
	if (!store_lookup("/local/domain"))
		mknode("/local/domain", "", 0, PERM_NONE);
	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	n = mknode(path, "", owner, PERM_NONE);
	if (listed_mode != PERM_NONE) {
		struct perm p[2] = { { owner, PERM_NONE }, { domid, listed_mode } };
		struct perms ps = { .p = p, .n = 2 };

		assert_int_equal(store_set_perms(n, &ps), 0);
	}
}

static void test_read_your_writes(void **state)
{
	struct tconn *tc = tc_new(0, true);
	struct txn *t;
	struct tnode *tn;
	uint32_t i;
	bool seen = false;

	(void)state;
	mknode("/a", "v1", 0, PERM_NONE);
	t = txn_new(tc->c, 1);
	assert_int_equal(txn_write(t, "/a", "v2", 2, false), 0);
	assert_int_equal(txn_write(t, "/a/new", "n", 1, false), 0);

	assert_int_equal(txn_get(t, "/a", &tn), 0);
	assert_true(tn->exists);
	assert_int_equal(tn->vlen, 2);
	assert_memory_equal(tn->value, "v2", 2);
	assert_int_equal(txn_load_kids(t, tn), 0);
	for (i = 0; i < tn->nkids; i++)
		seen |= !strcmp(tn->kids[i], "new");
	assert_true(seen);
	assert_int_equal(txn_get(t, "/a/new", &tn), 0);
	assert_true(tn->exists);
	assert_memory_equal(tn->value, "n", 1);

	/* Nothing visible outside yet. */
	assert_value("/a", "v1");
	assert_null(store_lookup("/a/new"));

	assert_int_equal(txn_commit(t, true), 0);
	txn_free(t);
	assert_value("/a", "v2");
	assert_value("/a/new", "n");
	unit_assert_tree_ok();
}

static void test_abort_leaves_store(void **state)
{
	struct tconn *tc = tc_new(0, true);
	struct txn *t;
	struct node *a;
	uint64_t counter, gen_a, gen_root, nnodes;

	(void)state;
	a = mknode("/a", "v1", 0, PERM_NONE);
	mknode("/a/b", "kid", 0, PERM_NONE);
	counter = store.gen_counter;
	gen_a = a->gen;
	gen_root = store.root->gen;
	nnodes = store.nnodes;

	t = txn_new(tc->c, 1);
	assert_int_equal(txn_write(t, "/a", "x", 1, false), 0);
	assert_int_equal(txn_rm(t, "/a/b"), 0);
	assert_int_equal(txn_write(t, "/c/d", "y", 1, false), 0);
	txn_free(t);	/* TRANSACTION_END F */

	assert_value("/a", "v1");
	assert_value("/a/b", "kid");
	assert_null(store_lookup("/c"));
	assert_int_equal(store.gen_counter, counter);
	assert_int_equal(a->gen, gen_a);
	assert_int_equal(store.root->gen, gen_root);
	assert_int_equal(store.nnodes, nnodes);
	unit_assert_tree_ok();
}

static void test_conflict_same_node(void **state)
{
	struct tconn *tc = tc_new(0, true), *other = tc_new(0, true);
	struct txn *t;

	(void)state;
	mknode("/a", "v1", 0, PERM_NONE);
	t = txn_new(tc->c, 1);
	assert_int_equal(txn_write(t, "/a", "mine", 4, false), 0);
	assert_int_equal(implicit_write(other->c, "/a", "theirs"), 0);
	assert_int_equal(txn_commit(t, true), -EAGAIN);
	txn_free(t);
	assert_value("/a", "theirs");
}

static void test_conflict_on_read(void **state)
{
	struct tconn *tc = tc_new(0, true), *other = tc_new(0, true);
	struct txn *t;
	struct tnode *tn;

	(void)state;
	mknode("/a", "v1", 0, PERM_NONE);
	mknode("/b", "b1", 0, PERM_NONE);
	t = txn_new(tc->c, 1);
	assert_int_equal(txn_get(t, "/a", &tn), 0);	/* read only */
	assert_int_equal(txn_write(t, "/b", "b2", 2, false), 0);
	assert_int_equal(implicit_write(other->c, "/a", "v2"), 0);
	assert_int_equal(txn_commit(t, true), -EAGAIN);
	txn_free(t);
	assert_value("/b", "b1");	/* nothing of it applied */
}

static void test_conflict_on_removed(void **state)
{
	struct tconn *tc = tc_new(0, true), *other = tc_new(0, true);
	struct txn *t;

	(void)state;
	mknode("/a", "v1", 0, PERM_NONE);
	mknode("/b", "b1", 0, PERM_NONE);
	t = txn_new(tc->c, 1);
	assert_int_equal(txn_write(t, "/a", "v2", 2, false), 0);
	assert_int_equal(implicit_rm(other->c, "/a"), 0);
	assert_int_equal(txn_commit(t, true), -EAGAIN);
	txn_free(t);
	assert_null(store_lookup("/a"));
}

static void test_unrelated_change_no_conflict(void **state)
{
	struct tconn *tc = tc_new(0, true), *other = tc_new(0, true);
	struct txn *t;
	struct tnode *tn;

	(void)state;
	mknode("/a", "v1", 0, PERM_NONE);
	mknode("/b", "b1", 0, PERM_NONE);
	mknode("/a/k", "", 0, PERM_NONE);
	t = txn_new(tc->c, 1);
	assert_int_equal(txn_get(t, "/a", &tn), 0);
	assert_int_equal(txn_write(t, "/a", "mine", 4, false), 0);
	/* Another writes a sibling, and a child of a node we touched. */
	assert_int_equal(implicit_write(other->c, "/b", "theirs"), 0);
	assert_int_equal(implicit_write(other->c, "/a/k", "kv"), 0);
	assert_int_equal(txn_commit(t, true), 0);
	txn_free(t);
	assert_value("/a", "mine");
	assert_value("/b", "theirs");
	assert_value("/a/k", "kv");
	unit_assert_tree_ok();
}

static void test_conflict_created_absent(void **state)
{
	struct tconn *tc = tc_new(0, true), *other = tc_new(0, true);
	struct txn *t;
	struct tnode *tn;

	(void)state;
	mknode("/a", "v1", 0, PERM_NONE);
	t = txn_new(tc->c, 1);
	assert_int_equal(txn_get(t, "/a/new", &tn), 0);
	assert_false(tn->exists);
	assert_int_equal(tn->base_gen, 0);
	assert_int_equal(txn_write(t, "/a", "v2", 2, false), 0);
	assert_int_equal(implicit_write(other->c, "/a/new", "x"), 0);
	assert_int_equal(txn_commit(t, true), -EAGAIN);
	txn_free(t);
	assert_value("/a", "v1");
}

static void test_rm_recursive_commit(void **state)
{
	struct tconn *tc = tc_new(0, true);
	struct txn *t;
	struct tnode *tn;
	uint32_t i;

	(void)state;
	mknode("/keep", "", 0, PERM_NONE);
	mknode("/r", "top", 3, PERM_NONE);
	mknode("/r/a", "1", 3, PERM_NONE);
	mknode("/r/b", "2", 3, PERM_NONE);
	mknode("/r/b/c", "3", 4, PERM_NONE);
	assert_int_equal(store.usage[3].nodes, 3);
	assert_int_equal(store.usage[4].nodes, 1);

	t = txn_new(tc->c, 1);
	assert_int_equal(txn_rm(t, "/r"), 0);
	assert_int_equal(txn_get(t, "/r", &tn), 0);
	assert_false(tn->exists);
	assert_int_equal(txn_get(t, "/r/b/c", &tn), 0);
	assert_false(tn->exists);
	assert_int_equal(txn_get(t, "/", &tn), 0);
	assert_int_equal(txn_load_kids(t, tn), 0);
	assert_int_equal(tn->nkids, 1);
	assert_string_equal(tn->kids[0], "keep");
	/* Removing what is already gone (its parent is there) is fine; a
	 * node under a missing parent is not. */
	assert_int_equal(txn_rm(t, "/r"), 0);
	assert_int_equal(txn_rm(t, "/keep/none"), 0);
	assert_int_equal(txn_rm(t, "/none/none"), -ENOENT);
	assert_int_equal(txn_rm(t, "/"), -EINVAL);
	assert_non_null(store_lookup("/r/b/c"));	/* not yet */

	assert_int_equal(txn_commit(t, true), 0);
	txn_free(t);
	assert_null(store_lookup("/r"));
	assert_null(store_lookup("/r/b/c"));
	assert_non_null(store_lookup("/keep"));
	assert_int_equal(node_nkids(store.root), 1);
	assert_int_equal(store.usage[3].nodes, 0);
	assert_int_equal(store.usage[4].nodes, 0);
	assert_int_equal(store.nnodes, 2);
	for (i = 0; i < node_nkids(store.root); i++)
		assert_string_equal(node_name(node_kid(store.root, i)), "keep");
	unit_assert_tree_ok();
}

static void test_rm_then_recreate(void **state)
{
	struct tconn *tc = tc_new(0, true);
	struct txn *t;

	(void)state;
	mknode("/r", "top", 0, PERM_NONE);
	mknode("/r/a", "1", 0, PERM_NONE);
	mknode("/r/b", "2", 0, PERM_NONE);
	t = txn_new(tc->c, 1);
	assert_int_equal(txn_rm(t, "/r"), 0);
	assert_int_equal(txn_write(t, "/r/a", "new", 3, false), 0);
	assert_int_equal(txn_commit(t, true), 0);
	txn_free(t);
	assert_value("/r", "");
	assert_value("/r/a", "new");
	assert_null(store_lookup("/r/b"));
	assert_int_equal(node_nkids(store.root), 1);
	assert_int_equal(node_nkids(store_lookup("/r")), 1);
	unit_assert_tree_ok();
}

static void test_node_quota(void **state)
{
	struct tconn *d5 = tc_new(5, false), *dom0 = tc_new(0, true);
	struct txn *t;

	(void)state;
	mkhome(5, 5, PERM_NONE);
	assert_int_equal(store.usage[5].nodes, 1);
	quotas[Q_NODES].val = 3;
	assert_int_equal(implicit_write(d5->c, "/local/domain/5/a", "1"), 0);
	assert_int_equal(implicit_write(d5->c, "/local/domain/5/b", "2"), 0);
	assert_int_equal(store.usage[5].nodes, 3);
	assert_int_equal(implicit_write(d5->c, "/local/domain/5/c", "3"),
			 -ENOSPC);
	assert_null(store_lookup("/local/domain/5/c"));
	/* Overwriting an existing node needs no new one. */
	assert_int_equal(implicit_write(d5->c, "/local/domain/5/a", "x"), 0);
	assert_int_equal(store.usage[5].nodes, 3);

	/* Freed room can be used again, counted within a transaction. */
	quotas[Q_NODES].val = 4;
	t = txn_new(d5->c, 1);
	assert_int_equal(txn_rm(t, "/local/domain/5/b"), 0);
	assert_int_equal(txn_write(t, "/local/domain/5/x/y", "", 0, false), 0);
	assert_int_equal(txn_write(t, "/local/domain/5/z", "", 0, false),
			 -ENOSPC);
	txn_free(t);

	/* dom0 is not held to it, even for nodes domain 5 ends up owning. */
	assert_int_equal(implicit_write(dom0->c, "/local/domain/5/d", "4"), 0);
	assert_int_equal(implicit_write(dom0->c, "/local/domain/5/e", "5"), 0);
	assert_int_equal(node_perms(store_lookup("/local/domain/5/e")).p[0].domid, 5);
	assert_int_equal(store.usage[5].nodes, 5);
	unit_assert_tree_ok();
}

static void test_node_size_quota(void **state)
{
	struct tconn *d5 = tc_new(5, false), *dom0 = tc_new(0, true);
	char big[200];

	(void)state;
	mkhome(5, 5, PERM_NONE);
	quotas[Q_NODE_SIZE].val = 100;
	memset(big, 'v', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	/* Value plus one permission entry (8 bytes) counts. */
	big[92] = '\0';
	assert_int_equal(implicit_write(d5->c, "/local/domain/5/s", big), 0);
	big[92] = 'v';
	big[93] = '\0';
	assert_int_equal(implicit_write(d5->c, "/local/domain/5/t", big),
			 -ENOSPC);
	assert_null(store_lookup("/local/domain/5/t"));
	assert_int_equal(implicit_write(d5->c, "/local/domain/5/s", big),
			 -ENOSPC);
	assert_int_equal(store_lookup("/local/domain/5/s")->vlen, 92);
	/* dom0 may write any size. */
	big[93] = 'v';
	assert_int_equal(implicit_write(dom0->c, "/local/domain/5/s", big), 0);
	assert_int_equal(store_lookup("/local/domain/5/s")->vlen,
			 sizeof(big) - 1);
}

static void test_txn_nodes_quota(void **state)
{
	struct tconn *d5 = tc_new(5, false), *dom0 = tc_new(0, true);
	struct txn *t;
	struct tnode *tn;

	(void)state;
	mkhome(5, 5, PERM_NONE);
	quotas[Q_TXN_NODES].val = 3;
	t = txn_new(d5->c, 1);
	assert_int_equal(txn_get(t, "/local/domain/5/a", &tn), 0);
	assert_int_equal(txn_get(t, "/local/domain/5/b", &tn), 0);
	assert_int_equal(txn_get(t, "/local/domain/5/c", &tn), 0);
	assert_int_equal(txn_get(t, "/local/domain/5/d", &tn), -ENOSPC);
	assert_int_equal(txn_get(t, "/local/domain/5/a", &tn), 0);
	assert_int_equal(txn_write(t, "/local/domain/5/e", "", 0, false),
			 -ENOSPC);
	txn_free(t);

	/* Implicit transactions and dom0 have no such limit. */
	t = txn_new(d5->c, 0);
	assert_int_equal(txn_get(t, "/local/domain/5/a", &tn), 0);
	assert_int_equal(txn_get(t, "/local/domain/5/b", &tn), 0);
	assert_int_equal(txn_get(t, "/local/domain/5/c", &tn), 0);
	assert_int_equal(txn_get(t, "/local/domain/5/d", &tn), 0);
	txn_free(t);
	t = txn_new(dom0->c, 1);
	assert_int_equal(txn_get(t, "/a", &tn), 0);
	assert_int_equal(txn_get(t, "/b", &tn), 0);
	assert_int_equal(txn_get(t, "/c", &tn), 0);
	assert_int_equal(txn_get(t, "/d", &tn), 0);
	txn_free(t);
}

static void test_write_needs_permission(void **state)
{
	struct tconn *d5 = tc_new(5, false);

	(void)state;
	mknode("/ro", "r", 0, PERM_READ);
	mknode("/none", "n", 0, PERM_NONE);
	mknode("/rw", "w", 0, PERM_WRITE);
	assert_int_equal(implicit_write(d5->c, "/ro", "x"), -EACCES);
	assert_int_equal(implicit_write(d5->c, "/none", "x"), -EACCES);
	assert_int_equal(implicit_rm(d5->c, "/ro"), -EACCES);
	assert_value("/ro", "r");
	assert_value("/none", "n");
	assert_int_equal(implicit_write(d5->c, "/rw", "x"), 0);
	assert_value("/rw", "x");
}

static void test_create_needs_parent_permission(void **state)
{
	struct tconn *d5 = tc_new(5, false);

	(void)state;
	mknode("/ro", "", 0, PERM_READ);
	mknode("/rw", "", 0, PERM_WRITE);
	assert_int_equal(implicit_write(d5->c, "/ro/k", "x"), -EACCES);
	/* Several missing levels: the nearest existing ancestor decides. */
	assert_int_equal(implicit_write(d5->c, "/ro/k/l/m", "x"), -EACCES);
	assert_int_equal(implicit_write(d5->c, "/nothere/k", "x"), -EACCES);
	assert_int_equal(store.usage[5].nodes, 0);
	assert_null(store_lookup("/ro/k"));
	assert_null(store_lookup("/nothere"));
	assert_int_equal(implicit_write(d5->c, "/rw/k/l", "x"), 0);
	assert_value("/rw/k/l", "x");
	assert_value("/rw/k", "");
}

static void test_created_node_owned_by_domain(void **state)
{
	struct tconn *d5 = tc_new(5, false), *dom0 = tc_new(0, true);
	const struct node *n;

	(void)state;
	/* The usual home: dom0 owns it and lists domain 5 with both. */
	mkhome(5, 0, PERM_BOTH);
	assert_int_equal(implicit_write(d5->c, "/local/domain/5/dev/x", "1"), 0);
	n = store_lookup("/local/domain/5/dev/x");
	assert_non_null(n);
	assert_int_equal(node_perms(n).p[0].domid, 5);
	n = store_lookup("/local/domain/5/dev");
	assert_int_equal(node_perms(n).p[0].domid, 5);
	assert_int_equal(node_perms(n).p[0].mode, PERM_NONE);
	assert_int_equal(store.usage[5].nodes, 2);
	assert_int_equal(store.usage[0].nodes, 4);

	/* dom0's new nodes keep the parent's owner. */
	assert_int_equal(implicit_write(dom0->c, "/local/domain/5/y", "2"), 0);
	assert_int_equal(node_perms(store_lookup("/local/domain/5/y")).p[0].domid, 0);
	unit_assert_tree_ok();
}

static void test_set_perms_rules(void **state)
{
	struct tconn *d5 = tc_new(5, false);
	struct txn *t;
	struct perm mine[2] = { { 5, PERM_READ }, { 6, PERM_BOTH } };
	struct perm away[1] = { { 6, PERM_NONE } };
	struct perm many[7] = { { 5, PERM_NONE }, { 1, 1 }, { 2, 1 }, { 3, 1 },
				{ 4, 1 }, { 6, 1 }, { 7, 1 } };
	struct perms p_mine = { mine, 2 }, p_away = { away, 1 },
		     p_many = { many, 7 };

	(void)state;
	mknode("/d5", "", 5, PERM_NONE);
	mknode("/d0", "", 0, PERM_WRITE);
	t = txn_new(d5->c, 0);
	assert_int_equal(txn_set_perms(t, "/d0", &p_mine), -EACCES);
	assert_int_equal(txn_set_perms(t, "/d5", &p_away), -EPERM);
	assert_int_equal(txn_set_perms(t, "/d5", &p_many), -ENOSPC);
	assert_int_equal(txn_set_perms(t, "/gone", &p_mine), -ENOENT);
	assert_int_equal(txn_set_perms(t, "/d5", &p_mine), 0);
	assert_int_equal(txn_commit(t, false), 0);
	txn_free(t);
	assert_int_equal(node_perms(store_lookup("/d5")).n, 2);
	assert_memory_equal(node_perms(store_lookup("/d5")).p, mine, sizeof(mine));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(test_read_your_writes),
		UNIT_TEST(test_abort_leaves_store),
		UNIT_TEST(test_conflict_same_node),
		UNIT_TEST(test_conflict_on_read),
		UNIT_TEST(test_conflict_on_removed),
		UNIT_TEST(test_unrelated_change_no_conflict),
		UNIT_TEST(test_conflict_created_absent),
		UNIT_TEST(test_rm_recursive_commit),
		UNIT_TEST(test_rm_then_recreate),
		UNIT_TEST(test_node_quota),
		UNIT_TEST(test_node_size_quota),
		UNIT_TEST(test_txn_nodes_quota),
		UNIT_TEST(test_write_needs_permission),
		UNIT_TEST(test_create_needs_parent_permission),
		UNIT_TEST(test_created_node_owned_by_domain),
		UNIT_TEST(test_set_perms_rules),
	};

	return cmocka_run_group_tests_name("txn", tests, NULL, NULL);
}
