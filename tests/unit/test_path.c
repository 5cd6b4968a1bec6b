/* path.c: canonical paths, the -M limit, and the path helpers. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

static struct conn mkconn(uint32_t domid, bool privileged)
{
	struct conn c;

	memset(&c, 0, sizeof(c));
	c.domid = domid;
	c.target = DOMID_NONE;
	c.privileged = privileged;
	return c;
}

/* path_canonical's answer: the path, or "E<errno>". */
static char *canon(const struct conn *c, const char *path, bool special)
{
	static char res[XENSTORE_ABS_PATH_MAX + 64];
	char *out = NULL;
	int rc = path_canonical(c, path, special, &out);

	if (rc) {
		assert_null(out);
		snprintf(res, sizeof(res), "E%d", -rc);
	} else {
		assert_non_null(out);
		assert_true(strlen(out) < sizeof(res));
		strcpy(res, out);
		free(out);
	}
	return res;
}

#define EINVAL_S "E22"

static char *repeat(char ch, size_t n, const char *prefix)
{
	size_t pl = strlen(prefix);
	char *s = malloc(pl + n + 1);

	assert_non_null(s);
	memcpy(s, prefix, pl);
	memset(s + pl, ch, n);
	s[pl + n] = '\0';
	return s;
}

static void test_relative(void **state)
{
	struct conn d7 = mkconn(7, false), dom0 = mkconn(0, true);

	(void)state;
	assert_string_equal(canon(&d7, "foo", false), "/local/domain/7/foo");
	assert_string_equal(canon(&d7, "device/vif/0/state", false),
			    "/local/domain/7/device/vif/0/state");
	assert_string_equal(canon(&dom0, "name", false), "/local/domain/0/name");
	assert_string_equal(canon(&d7, "", false), EINVAL_S);
	assert_string_equal(canon(&d7, "foo/", false), EINVAL_S);
	assert_string_equal(canon(&d7, "foo//bar", false), EINVAL_S);
}

static void test_absolute_ok(void **state)
{
	struct conn dom0 = mkconn(0, true);

	(void)state;
	assert_string_equal(canon(&dom0, "/", false), "/");
	assert_string_equal(canon(&dom0, "/a", false), "/a");
	assert_string_equal(canon(&dom0, "/A-Z_0-9/x@y", false), "/A-Z_0-9/x@y");
	assert_string_equal(canon(&dom0, "/local/domain/3/device", false),
			    "/local/domain/3/device");
}

static void test_invalid(void **state)
{
	static const char *const bad[] = {
		"/a b", "/a.b", "/a\tb", "/a:b", "/a\\b", "/a,b", "/a*",
		"/\xc3\xa9", "/a//b", "//", "//a", "/a/", "/a/b/", "a b",
	};
	struct conn dom0 = mkconn(0, true);
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(bad); i++) {
		const char *r = canon(&dom0, bad[i], true);

		if (strcmp(r, EINVAL_S))
			fail_msg("'%s' gave '%s', not EINVAL", bad[i], r);
	}
}

static void test_length_limits(void **state)
{
	struct conn dom0 = mkconn(0, true);
	char *s;

	(void)state;
	/* 3072 characters in all is the longest absolute path. */
	s = repeat('a', XENSTORE_ABS_PATH_MAX - 1, "/");
	assert_int_equal(strlen(canon(&dom0, s, false)), XENSTORE_ABS_PATH_MAX);
	free(s);
	s = repeat('a', XENSTORE_ABS_PATH_MAX, "/");
	assert_string_equal(canon(&dom0, s, false), EINVAL_S);
	free(s);
	/* 2048 is the longest relative one. */
	s = repeat('r', XENSTORE_REL_PATH_MAX, "");
	assert_int_equal(strlen(canon(&dom0, s, false)),
			 strlen("/local/domain/0/") + XENSTORE_REL_PATH_MAX);
	free(s);
	s = repeat('r', XENSTORE_REL_PATH_MAX + 1, "");
	assert_string_equal(canon(&dom0, s, false), EINVAL_S);
	free(s);
}

static void test_special(void **state)
{
	struct conn dom0 = mkconn(0, true), d3 = mkconn(3, false);

	(void)state;
	assert_string_equal(canon(&dom0, "@releaseDomain", true),
			    "@releaseDomain");
	assert_string_equal(canon(&d3, "@introduceDomain", true),
			    "@introduceDomain");
	assert_string_equal(canon(&dom0, "@releaseDomain", false), EINVAL_S);
	assert_string_equal(canon(&dom0, "@foo/bar", true), EINVAL_S);
	assert_string_equal(canon(&dom0, "@a b", true), EINVAL_S);
	assert_string_equal(canon(&dom0, "@a.b", true), EINVAL_S);
}

static void test_domain_path_quota(void **state)
{
	struct conn d5 = mkconn(5, false), dom0 = mkconn(0, true);
	char *s;

	(void)state;
	quotas[Q_PATH].val = 10;
	/* Measured relative to the domain's home. */
	assert_string_equal(canon(&d5, "abcdefghij", false),
			    "/local/domain/5/abcdefghij");
	assert_string_equal(canon(&d5, "abcdefghijk", false), EINVAL_S);
	assert_string_equal(canon(&d5, "/local/domain/5/abcdefghij", false),
			    "/local/domain/5/abcdefghij");
	assert_string_equal(canon(&d5, "/local/domain/5/abcdefghijk", false),
			    EINVAL_S);
	/* Outside its home the whole path counts. */
	assert_string_equal(canon(&d5, "/abcdefghi", false), "/abcdefghi");
	assert_string_equal(canon(&d5, "/abcdefghij", false), EINVAL_S);
	assert_string_equal(canon(&d5, "/local/domain/6/x", false), EINVAL_S);
	/* dom0 is not held to it. */
	assert_string_equal(canon(&dom0, "/local/domain/6/abcdefghijklmnop",
				  false),
			    "/local/domain/6/abcdefghijklmnop");

	/* The default, 2048. */
	quotas[Q_PATH].val = 2048;
	s = repeat('a', 2047, "/");
	assert_int_equal(strlen(canon(&d5, s, false)), 2048);
	free(s);
	s = repeat('a', 2048, "/");
	assert_string_equal(canon(&d5, s, false), EINVAL_S);
	assert_int_equal(strlen(canon(&dom0, s, false)), 2049);
	free(s);
}

static void test_parent(void **state)
{
	char buf[64];

	(void)state;
	assert_true(path_parent("/a/b/c", buf));
	assert_string_equal(buf, "/a/b");
	assert_true(path_parent("/a/b", buf));
	assert_string_equal(buf, "/a");
	assert_true(path_parent("/a", buf));
	assert_string_equal(buf, "/");
	assert_false(path_parent("/", buf));
	/* In place, as absent_error uses it. */
	strcpy(buf, "/x/yy/z");
	assert_true(path_parent(buf, buf));
	assert_string_equal(buf, "/x/yy");
}

static void test_basename(void **state)
{
	(void)state;
	assert_string_equal(path_basename("/a/b/c"), "c");
	assert_string_equal(path_basename("/a"), "a");
	assert_string_equal(path_basename("/"), "");
	assert_string_equal(path_basename("@releaseDomain"), "@releaseDomain");
}

static void test_is_child(void **state)
{
	(void)state;
	assert_true(path_is_child("/a/b", "/a"));
	assert_true(path_is_child("/a/b/c", "/a"));
	assert_true(path_is_child("/a", "/a"));
	assert_false(path_is_child("/ab", "/a"));
	assert_false(path_is_child("/a", "/a/b"));
	assert_false(path_is_child("/b/a", "/a"));
	assert_true(path_is_child("/x", "/"));
	assert_true(path_is_child("/", "/"));
	assert_false(path_is_child("@releaseDomain", "/"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(test_relative),
		UNIT_TEST(test_absolute_ok),
		UNIT_TEST(test_invalid),
		UNIT_TEST(test_length_limits),
		UNIT_TEST(test_special),
		UNIT_TEST(test_domain_path_quota),
		UNIT_TEST(test_parent),
		UNIT_TEST(test_basename),
		UNIT_TEST(test_is_child),
	};

	return cmocka_run_group_tests_name("path", tests, NULL, NULL);
}
