/* store.c: the tree, its generations and its per-owner accounting. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static void test_init_root(void **state)
{
	(void)state;
	assert_non_null(store.root);
	assert_ptr_equal(store_lookup("/"), store.root);
	assert_int_equal(store.nnodes, 1);
	assert_int_equal(store.usage[0].nodes, 1);
	assert_int_equal(node_perms(store.root).n, 1);
	assert_int_equal(node_perms(store.root).p[0].domid, 0);
	assert_int_equal(node_perms(store.root).p[0].mode, PERM_NONE);
	assert_int_equal(node_nkids(store.root), 0);
	assert_true(store.root->gen > 0);
}

static void test_create_lookup_delete(void **state)
{
	struct perm p = { .domid = 0, .mode = PERM_READ };
	struct perms ps = { .p = &p, .n = 1 };
	struct node *a, *b, *dup = NULL;

	(void)state;
	assert_int_equal(store_create(store.root, "a", "va", 2, &ps, &a), 0);
	assert_int_equal(store_create(a, "b", "", 0, &ps, &b), 0);
	assert_ptr_equal(store_lookup("/a"), a);
	assert_ptr_equal(store_lookup("/a/b"), b);
	assert_ptr_equal(store_kid(store.root, "a"), a);
	assert_ptr_equal(store_kid(a, "b"), b);
	assert_null(store_kid(a, "c"));
	assert_null(store_lookup("/a/c"));
	assert_null(store_lookup("/ab"));
	assert_null(store_lookup("/a/b/c"));
	assert_null(store_lookup("a"));	/* relative: not a store path */
	assert_ptr_equal(node_parent(b), a);
	assert_ptr_equal(node_parent(a), store.root);
	assert_int_equal(a->vlen, 2);
	assert_memory_equal(node_value(a), "va", 2);
	assert_int_equal(b->vlen, 0);
	assert_int_equal(node_perms(a).n, 1);
	assert_int_equal(node_perms(a).p[0].mode, PERM_READ);
	assert_int_equal(store.nnodes, 3);

	assert_int_equal(store_create(store.root, "a", "x", 1, &ps, &dup),
			 -EEXIST);
	assert_null(dup);
	assert_int_equal(store.nnodes, 3);

	store_delete(a);	/* takes /a/b with it */
	assert_null(store_lookup("/a"));
	assert_null(store_lookup("/a/b"));
	assert_int_equal(node_nkids(store.root), 0);
	assert_int_equal(store.nnodes, 1);

	store_delete(store.root);	/* the root stays */
	assert_ptr_equal(store_lookup("/"), store.root);
}

static void test_set_value(void **state)
{
	struct node *a = mknode("/a", "one", 0, PERM_NONE);

	(void)state;
	assert_int_equal(store_set_value(a, "three", 5), 0);
	assert_int_equal(a->vlen, 5);
	assert_memory_equal(node_value(a), "three", 5);
	assert_int_equal(store_set_value(a, NULL, 0), 0);
	assert_int_equal(a->vlen, 0);
	assert_null(node_value(a));
}

static void test_sorted_children(void **state)
{
	static const char *const order[] = {
		"B", "a", "aa", "ab", "b", "c", "d1", "d10", "d2", "z",
	};
	static const char *const insert[] = {
		"d2", "c", "z", "a", "B", "ab", "d10", "aa", "b", "d1",
	};
	struct node *root = store.root;
	uint32_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(insert); i++) {
		char path[16] = "/";

		strcat(path, insert[i]);
		mknode(path, "", 0, PERM_NONE);
	}
	assert_int_equal(node_nkids(root), ARRAY_SIZE(order));
	for (i = 0; i < node_nkids(root); i++)
		assert_string_equal(node_name(node_kid(root, i)), order[i]);
	for (i = 0; i < ARRAY_SIZE(order); i++)
		assert_string_equal(node_name(store_kid(root, order[i])), order[i]);

	/* Deleting from the middle keeps the order. */
	store_delete(store_lookup("/ab"));
	store_delete(store_lookup("/B"));
	assert_int_equal(node_nkids(root), ARRAY_SIZE(order) - 2);
	assert_string_equal(node_name(node_kid(root, 0)), "a");
	assert_string_equal(node_name(node_kid(root, 1)), "aa");
	assert_string_equal(node_name(node_kid(root, 2)), "b");
	assert_null(store_kid(root, "ab"));
	assert_null(store_kid(root, "B"));
	assert_non_null(store_kid(root, "d10"));
}

static void test_generation(void **state)
{
	struct node *a, *b, *x;
	uint64_t g_root, g_a, g_b, g_x;

	(void)state;
	a = mknode("/a", "", 0, PERM_NONE);
	b = mknode("/b", "", 0, PERM_NONE);
	g_root = store.root->gen;
	g_a = a->gen;
	g_b = b->gen;
	assert_true(g_a > 0);
	assert_true(g_b > g_a);	/* a fresh counter value per change */

	/* Modifying a node changes its generation, and only its. */
	assert_int_equal(store_set_value(a, "v", 1), 0);
	assert_true(a->gen > g_a);
	assert_int_equal(a->gen, store.gen_counter);
	assert_int_equal(b->gen, g_b);
	assert_int_equal(store.root->gen, g_root);
	g_a = a->gen;

	/* Same for its permissions. */
	{
		struct perm p[2] = { { 0, PERM_NONE }, { 3, PERM_READ } };
		struct perms ps = { .p = p, .n = 2 };

		assert_int_equal(store_set_perms(a, &ps), 0);
	}
	assert_true(a->gen > g_a);
	assert_int_equal(store.root->gen, g_root);
	g_a = a->gen;

	/* Adding a child changes the parent, not the grandparent. */
	x = mknode("/a/x", "", 0, PERM_NONE);
	g_x = x->gen;
	assert_true(a->gen > g_a);
	assert_int_equal(store.root->gen, g_root);
	assert_int_equal(b->gen, g_b);
	g_a = a->gen;

	/* Changing the child leaves the parent alone. */
	assert_int_equal(store_set_value(x, "1", 1), 0);
	assert_true(x->gen > g_x);
	assert_int_equal(a->gen, g_a);

	/* Removing a child changes the parent. */
	store_delete(x);
	assert_true(a->gen > g_a);
	assert_int_equal(store.root->gen, g_root);
	assert_int_equal(b->gen, g_b);
}

static void test_usage_counts(void **state)
{
	struct perm p7 = { .domid = 7, .mode = PERM_NONE };
	struct perm p8 = { .domid = 8, .mode = PERM_READ };
	struct perms ps7 = { .p = &p7, .n = 1 }, ps8 = { .p = &p8, .n = 1 };
	struct node *a, *k;

	(void)state;
	assert_int_equal(store.usage[7].nodes, 0);
	assert_int_equal(store.usage[7].bytes, 0);
	assert_int_equal(store_create(store.root, "a", "hello", 5, &ps7, &a),
			 0);
	assert_int_equal(store.usage[7].nodes, 1);
	assert_int_equal(store.usage[7].bytes, node_size(a));
	assert_int_equal(store.usage[0].nodes, 1);	/* the root */

	assert_int_equal(store_create(a, "k1", "", 0, &ps8, &k), 0);
	assert_int_equal(store_create(a, "k2", "", 0, &ps8, NULL), 0);
	assert_int_equal(store_create(a, "k3", "x", 1, &ps7, NULL), 0);
	assert_int_equal(store.usage[7].nodes, 2);
	assert_int_equal(store.usage[8].nodes, 2);
	assert_int_equal(store.nnodes, 5);

	/* A bigger value is accounted to the owner. */
	{
		uint64_t before = store.usage[8].bytes;

		assert_int_equal(store_set_value(k, "0123456789", 10), 0);
		assert_int_equal(store.usage[8].bytes, before + 10);
	}

	/* Giving a node away moves it between owners. */
	assert_int_equal(store_set_perms(k, &ps7), 0);
	assert_int_equal(store.usage[7].nodes, 3);
	assert_int_equal(store.usage[8].nodes, 1);

	/* Deleting a subtree gives back every node and byte. */
	store_delete(a);
	assert_int_equal(store.usage[7].nodes, 0);
	assert_int_equal(store.usage[8].nodes, 0);
	assert_int_equal(store.usage[7].bytes, 0);
	assert_int_equal(store.usage[8].bytes, 0);
	assert_int_equal(store.nnodes, 1);
}

static void test_check_good_and_bad(void **state)
{
	struct buf out;

	(void)state;
	mknode("/a", "1", 0, PERM_NONE);
	mknode("/a/b", "2", 5, PERM_READ);
	mknode("/a/c", "", 6, PERM_NONE);
	mknode("/d", "", 0, PERM_BOTH);
	store_delete(store_lookup("/a/c"));

	buf_init(&out);
	assert_int_equal(store_check(&out), 0);
	assert_int_equal(out.len, 0);

	/* An accounting error is found and named. */
	store.usage[5].nodes++;
	assert_int_equal(store_check(&out), -EIO);
	assert_true(out.len > 0);
	assert_non_null(memmem(out.p, out.len, "domain 5 owns 1 nodes, 2 accounted",
			       strlen("domain 5 owns 1 nodes, 2 accounted")));
	store.usage[5].nodes--;
	buf_fini(&out);
}

static void test_path_of(void **state)
{
	char *p;

	(void)state;
	mknode("/local", "", 0, PERM_NONE);
	mknode("/local/domain", "", 0, PERM_NONE);
	mknode("/local/domain/12", "", 0, PERM_NONE);
	mknode("/local/domain/12/name", "g", 12, PERM_NONE);

	p = store_path_of(store.root);
	assert_string_equal(p, "/");
	free(p);
	p = store_path_of(store_lookup("/local"));
	assert_string_equal(p, "/local");
	free(p);
	p = store_path_of(store_lookup("/local/domain/12/name"));
	assert_string_equal(p, "/local/domain/12/name");
	free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(test_init_root),
		UNIT_TEST(test_create_lookup_delete),
		UNIT_TEST(test_set_value),
		UNIT_TEST(test_sorted_children),
		UNIT_TEST(test_generation),
		UNIT_TEST(test_usage_counts),
		UNIT_TEST(test_check_good_and_bad),
		UNIT_TEST(test_path_of),
	};

	return cmocka_run_group_tests_name("store", tests, NULL, NULL);
}
