/* perms.c: parsing, formatting and the access rule. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define PARSE(lit, out) perms_parse(lit, sizeof(lit) - 1, out)

static void test_parse_list(void **state)
{
	struct perms p;

	(void)state;
	assert_int_equal(PARSE("r5\0n0\0", &p), 0);
	assert_int_equal(p.n, 2);
	assert_int_equal(p.p[0].domid, 5);
	assert_int_equal(p.p[0].mode, PERM_READ);
	assert_int_equal(p.p[1].domid, 0);
	assert_int_equal(p.p[1].mode, PERM_NONE);
	perms_free(&p);
	assert_null(p.p);
	assert_int_equal(p.n, 0);

	assert_int_equal(PARSE("b0\0w12\0r65535\0n7\0", &p), 0);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.p[0].mode, PERM_BOTH);
	assert_int_equal(p.p[0].domid, 0);
	assert_int_equal(p.p[1].mode, PERM_WRITE);
	assert_int_equal(p.p[1].domid, 12);
	assert_int_equal(p.p[2].mode, PERM_READ);
	assert_int_equal(p.p[2].domid, 65535);
	assert_int_equal(p.p[3].mode, PERM_NONE);
	assert_int_equal(p.p[3].domid, 7);
	perms_free(&p);
}

static void test_parse_bad(void **state)
{
	static const struct {
		const char *s;
		size_t len;
		const char *why;
	} bad[] = {
#define B(lit, why) { lit, sizeof(lit) - 1, why }
		B("x5\0", "unknown letter"),
		B("R5\0", "upper-case letter"),
		B("r5\0q1\0", "bad letter in a later entry"),
		B("r\0", "no domid"),
		B("r5x\0", "junk after the domid"),
		B("r-1\0", "negative domid"),
		B("r 5\0", "space"),
		B("r65536\0", "domid over 65535"),
		B("r4294967296\0", "domid over 32 bits"),
		B("r99999999999999999999999\0", "domid overflowing 64 bits"),
		B("r5\0\0", "empty entry"),
		B("\0", "only an empty entry"),
		B("", "empty list"),
#undef B
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		struct perms p = { .p = NULL, .n = 0 };
		int rc = perms_parse(bad[i].s, bad[i].len, &p);

		if (rc != -EINVAL)
			fail_msg("%s: perms_parse gave %d, not -EINVAL", bad[i].why,
				 rc);
		assert_null(p.p);
	}
}

static void test_format_round_trip(void **state)
{
	static const char lit[] = "b0\0w12\0r65535\0n7\0";
	struct perms p, q;
	struct buf out;

	(void)state;
	assert_int_equal(PARSE(lit, &p), 0);
	buf_init(&out);
	assert_int_equal(perms_format(&p, &out), 0);
	assert_int_equal(out.len, sizeof(lit) - 1);
	assert_memory_equal(out.p, lit, sizeof(lit) - 1);

	assert_int_equal(perms_parse(out.p, out.len, &q), 0);
	assert_int_equal(q.n, p.n);
	assert_memory_equal(q.p, p.p, p.n * sizeof(*p.p));

	perms_free(&q);
	perms_free(&p);
	buf_fini(&out);
}

static void test_dup(void **state)
{
	struct perm src[2] = { { 3, PERM_READ }, { 4, PERM_WRITE } };
	struct perms p = { .p = src, .n = 2 }, d;

	(void)state;
	assert_int_equal(perms_dup(&p, &d), 0);
	assert_int_equal(d.n, 2);
	assert_ptr_not_equal(d.p, src);
	assert_memory_equal(d.p, src, sizeof(src));
	perms_free(&d);
}

/* A connection struct is all perms_allowed looks at. */
static struct conn mkconn(uint32_t domid, bool privileged)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.domid = domid;
	c.target = DOMID_NONE;
	c.privileged = privileged;
	return c;
}

static void test_allowed_owner_listed_default(void **state)
{
	/* Owner 5, everyone else may read, 6 may write only, 7 nothing. */
	struct perm pl[3] = { { 5, PERM_READ }, { 6, PERM_WRITE },
			      { 7, PERM_NONE } };
	struct perms p = { .p = pl, .n = 3 };
	struct conn c5 = mkconn(5, false), c6 = mkconn(6, false),
		    c7 = mkconn(7, false), c9 = mkconn(9, false);

	(void)state;
	assert_int_equal(perms_allowed(&c5, &p), PERM_BOTH);
	assert_int_equal(perms_allowed(&c6, &p), PERM_WRITE);
	assert_int_equal(perms_allowed(&c7, &p), PERM_NONE);
	assert_int_equal(perms_allowed(&c9, &p), PERM_READ);

	/* The owner's entry mode is the default only: owner keeps both. */
	pl[0].mode = PERM_NONE;
	assert_int_equal(perms_allowed(&c5, &p), PERM_BOTH);
	assert_int_equal(perms_allowed(&c9, &p), PERM_NONE);
	pl[0].mode = PERM_BOTH;
	assert_int_equal(perms_allowed(&c9, &p), PERM_BOTH);
	assert_int_equal(perms_allowed(&c7, &p), PERM_NONE);
}

static void test_allowed_privileged(void **state)
{
	struct perm pl[2] = { { 5, PERM_NONE }, { 0, PERM_NONE } };
	struct perms p = { .p = pl, .n = 2 };
	struct conn dom0 = mkconn(0, true), unpriv0 = mkconn(0, false);

	(void)state;
	/* dom0 listed with "n0" still gets everything when privileged. */
	assert_int_equal(perms_allowed(&dom0, &p), PERM_BOTH);
	/* The same domid without the privilege is held to the list. */
	assert_int_equal(perms_allowed(&unpriv0, &p), PERM_NONE);
}

static void test_allowed_target(void **state)
{
	/* Node of domain 8; 5 is not listed, default none. */
	struct perm pl[2] = { { 8, PERM_NONE }, { 9, PERM_READ } };
	struct perms p = { .p = pl, .n = 2 };
	struct conn c5 = mkconn(5, false);

	(void)state;
	assert_int_equal(perms_allowed(&c5, &p), PERM_NONE);
	/* A device model for 8 (SET_TARGET 5 8) acts with 8's rights. */
	c5.target = 8;
	assert_int_equal(perms_allowed(&c5, &p), PERM_BOTH);
	/* Target 9 lends its listed read. */
	c5.target = 9;
	assert_int_equal(perms_allowed(&c5, &p), PERM_READ);
	/* A target with no rights lends none. */
	c5.target = 10;
	assert_int_equal(perms_allowed(&c5, &p), PERM_NONE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(test_parse_list),
		UNIT_TEST(test_parse_bad),
		UNIT_TEST(test_format_round_trip),
		UNIT_TEST(test_dup),
		UNIT_TEST(test_allowed_owner_listed_default),
		UNIT_TEST(test_allowed_privileged),
		UNIT_TEST(test_allowed_target),
	};

	return cmocka_run_group_tests_name("perms", tests, NULL, NULL);
}
