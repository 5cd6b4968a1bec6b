/* conn.c and handlers.c: framing and requests, fed to conn_process_input()
 * byte for byte as a client would send them. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "unit.h"

#define HDR ((uint32_t)sizeof(struct xsd_sockmsg))

/* Appends a whole message to buf at *len. */
static void put_msg(char *buf, size_t *len, uint32_t type, uint32_t req_id,
		    uint32_t tx_id, const void *payload, uint32_t plen)
{
	struct xsd_sockmsg h = {
		.type = type, .req_id = req_id, .tx_id = tx_id, .len = plen,
	};

	memcpy(buf + *len, &h, HDR);
	memcpy(buf + *len + HDR, payload, plen);
	*len += HDR + plen;
}

static void expect_error(struct tconn *t, uint32_t req_id, uint32_t tx_id,
			 const char *name)
{
	struct tmsg m;

	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_ERROR);
	assert_int_equal(m.hdr.req_id, req_id);
	assert_int_equal(m.hdr.tx_id, tx_id);
	assert_int_equal(m.hdr.len, strlen(name) + 1);
	assert_string_equal(m.body, name);
}

static void test_split_message(void **state)
{
	struct tconn *t = tc_new(0, true);
	char buf[64];
	size_t len = 0;
	struct tmsg m;

	(void)state;
	mknode("/s", "hello", 0, PERM_NONE);
	put_msg(buf, &len, XS_READ, 42, 0, "/s", 3);

	tc_feed(t, buf, 5);	/* part of the header */
	assert_false(tc_recv(t, &m));
	assert_int_equal(t->c->in_len, 5);
	tc_feed(t, buf + 5, HDR - 5 + 1);	/* header and a byte */
	assert_false(tc_recv(t, &m));
	assert_int_equal(t->c->in_len, HDR + 1);
	tc_feed(t, buf + HDR + 1, len - HDR - 1);
	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_READ);
	assert_int_equal(m.hdr.req_id, 42);
	assert_int_equal(m.hdr.tx_id, 0);
	assert_int_equal(m.hdr.len, 5);
	assert_memory_equal(m.body, "hello", 5);
	assert_false(tc_recv(t, &m));	/* once */
	assert_int_equal(t->c->in_len, 0);
	assert_false(t->c->dead);
}

static void test_two_in_one_feed(void **state)
{
	struct tconn *t = tc_new(0, true);
	char buf[128];
	size_t len = 0;
	struct tmsg m;
	uint32_t tx;

	(void)state;
	mknode("/s", "hello", 0, PERM_NONE);
	assert_int_equal(tc_txn_start(t, &tx), 0);
	assert_true(tx != 0);
	put_msg(buf, &len, XS_WRITE, 7, tx, "/s\0new", 6);
	put_msg(buf, &len, XS_READ, 8, tx, "/s", 3);
	put_msg(buf, &len, XS_READ, 9, 0, "/s", 3);
	tc_feed(t, buf, len);

	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_WRITE);
	assert_int_equal(m.hdr.req_id, 7);
	assert_int_equal(m.hdr.tx_id, tx);
	assert_int_equal(m.hdr.len, 3);
	assert_string_equal(m.body, "OK");

	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_READ);
	assert_int_equal(m.hdr.req_id, 8);
	assert_int_equal(m.hdr.tx_id, tx);
	assert_int_equal(m.hdr.len, 3);
	assert_memory_equal(m.body, "new", 3);

	/* Outside the transaction the old value still shows. */
	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_READ);
	assert_int_equal(m.hdr.req_id, 9);
	assert_int_equal(m.hdr.tx_id, 0);
	assert_int_equal(m.hdr.len, 5);
	assert_memory_equal(m.body, "hello", 5);
	assert_false(tc_recv(t, &m));
}

/* Unknown and server-only types: ENOSYS, as upstream's xenstored answers
 * (the connection lives on). */
static void test_unknown_type(void **state)
{
	struct tconn *t = tc_new(0, true);

	(void)state;
	tc_send(t, 999, 3, 0, "/", 2);
	expect_error(t, 3, 0, "ENOSYS");
	tc_send(t, XS_TYPE_COUNT, 4, 0, "/", 2);
	expect_error(t, 4, 0, "ENOSYS");
	tc_send(t, XS_INVALID, 5, 0, "", 0);
	expect_error(t, 5, 0, "ENOSYS");
	/* Server-to-client types are not requests. */
	tc_send(t, XS_WATCH_EVENT, 6, 0, "/\0t", 4);
	expect_error(t, 6, 0, "ENOSYS");
	tc_send(t, XS_ERROR, 7, 0, "EIO", 4);
	expect_error(t, 7, 0, "ENOSYS");
	/* The retired XS_RESTRICT slot. */
	tc_send(t, XS_SET_TARGET + 1, 8, 0, "5", 2);
	expect_error(t, 8, 0, "ENOSYS");
	assert_false(t->c->dead);
}

static void test_oversized_payload_kills(void **state)
{
	struct tconn *t = tc_new(0, true), *ok = tc_new(0, true);
	struct xsd_sockmsg h = { .type = XS_READ, .req_id = 1, .len = 4097 };
	char *big = malloc(XENSTORE_PAYLOAD_MAX);
	struct tmsg m;

	(void)state;
	tc_feed(t, &h, HDR);	/* the header alone condemns it */
	assert_true(t->c->dead);
	assert_false(tc_recv(t, &m));

	/* 4096 exactly is fine. */
	assert_non_null(big);
	memset(big, 'v', XENSTORE_PAYLOAD_MAX);
	memcpy(big, "/big", 5);
	tc_send(ok, XS_WRITE, 2, 0, big, XENSTORE_PAYLOAD_MAX);
	assert_true(tc_recv(ok, &m));
	assert_int_equal(m.hdr.type, XS_WRITE);
	assert_string_equal(m.body, "OK");
	assert_false(ok->c->dead);
	assert_int_equal(store_lookup("/big")->vlen, XENSTORE_PAYLOAD_MAX - 5);
	free(big);
}

static void test_unterminated_path(void **state)
{
	struct tconn *t = tc_new(0, true);

	(void)state;
	mknode("/s", "hello", 0, PERM_NONE);
	tc_send(t, XS_READ, 1, 0, "/s", 2);
	expect_error(t, 1, 0, "EINVAL");
	tc_send(t, XS_DIRECTORY, 2, 0, "/", 1);
	expect_error(t, 2, 0, "EINVAL");
	tc_send(t, XS_RM, 3, 0, "/s", 2);
	expect_error(t, 3, 0, "EINVAL");
	tc_send(t, XS_WRITE, 4, 0, "/s", 2);	/* no NUL: no value either */
	expect_error(t, 4, 0, "EINVAL");
	tc_send(t, XS_READ, 5, 0, "", 0);
	expect_error(t, 5, 0, "EINVAL");
	/* One argument means exactly one string. */
	tc_send(t, XS_READ, 6, 0, "/s\0extra", 9);
	expect_error(t, 6, 0, "EINVAL");
	tc_send(t, XS_RM, 7, 0, "/s\0\0", 4);
	expect_error(t, 7, 0, "EINVAL");
	assert_non_null(store_lookup("/s"));
}

static void test_read_errors(void **state)
{
	struct tconn *dom0 = tc_new(0, true), *d5 = tc_new(5, false);

	(void)state;
	mknode("/secret", "x", 0, PERM_NONE);
	mknode("/pub", "y", 0, PERM_READ);
	assert_int_equal(tc_read(dom0, 0, "/nothere", NULL, 0), -ENOENT);
	assert_int_equal(tc_read(d5, 0, "/secret", NULL, 0), -EACCES);
	assert_int_equal(tc_read(d5, 0, "/pub/nothere", NULL, 0), -ENOENT);
	/* Absent under an unreadable node: no telling what exists there. */
	assert_int_equal(tc_read(d5, 0, "/secret/nothere", NULL, 0), -EACCES);
	assert_int_equal(tc_read(d5, 0, "/a b", NULL, 0), -EINVAL);
}

#define NKIDS 100
#define NAMELEN 49

static void kid_name(char *out, int i)
{
	/* "node-NNN-" and 40 x: 49 characters. */
	memcpy(out, "node-", 5);
	out[5] = (char)('0' + i / 100 % 10);
	out[6] = (char)('0' + i / 10 % 10);
	out[7] = (char)('0' + i % 10);
	out[8] = '-';
	memset(out + 9, 'x', 40);
	out[NAMELEN] = '\0';
	assert_int_equal(strlen(out), NAMELEN);
}

static void test_directory_parts(void **state)
{
	struct tconn *t = tc_new(0, true);
	struct tmsg m;
	char name[NAMELEN + 1], req[64], gen_want[32];
	const char *gen0 = NULL;
	char gen_seen[32] = "";
	uint32_t off = 0;
	int i, parts = 0, got = 0;
	bool final = false;
	struct node *big;

	(void)state;
	big = mknode("/big", "", 0, PERM_NONE);
	/* Created out of order; they come back sorted. */
	for (i = NKIDS - 1; i >= 0; i--) {
		char path[80];

		kid_name(name, i);
		snprintf(path, sizeof(path), "/big/%s", name);
		mknode(path, "", 0, PERM_NONE);
	}
	snprintf(gen_want, sizeof(gen_want), "%llu",
		 (unsigned long long)big->gen);

	tc_send(t, XS_DIRECTORY, 1, 0, "/big", 5);
	expect_error(t, 1, 0, "E2BIG");

	while (!final) {
		uint32_t rl, pos;

		assert_true(parts < 20);
		rl = (uint32_t)snprintf(req, sizeof(req), "/big%c%u", '\0', off);
		tc_send(t, XS_DIRECTORY_PART, 10 + parts, 0, req, rl + 1);
		assert_true(tc_recv(t, &m));
		assert_int_equal(m.hdr.type, XS_DIRECTORY_PART);
		assert_int_equal(m.hdr.req_id, 10 + parts);
		assert_true(m.hdr.len <= XENSTORE_PAYLOAD_MAX);
		assert_int_equal(m.body[m.hdr.len - 1], '\0');
		parts++;
		/* The generation first, the same in every part. */
		if (!gen0) {
			strcpy(gen_seen, m.body);
			gen0 = gen_seen;
		}
		assert_string_equal(m.body, gen0);
		pos = (uint32_t)strlen(m.body) + 1;
		final = m.hdr.len >= 2 && m.body[m.hdr.len - 2] == '\0';
		while (pos < m.hdr.len - (final ? 1 : 0)) {
			size_t nl = strlen(m.body + pos);

			assert_true(nl > 0);
			kid_name(name, got);
			assert_string_equal(m.body + pos, name);
			got++;
			pos += (uint32_t)nl + 1;
			off += (uint32_t)nl + 1;
		}
		assert_int_equal(pos + (final ? 1 : 0), m.hdr.len);
	}
	assert_int_equal(got, NKIDS);
	assert_true(parts >= 2);
	assert_string_equal(gen0, gen_want);

	/* Past the end: only the generation and the final NUL. */
	{
		uint32_t rl = (uint32_t)snprintf(req, sizeof(req), "/big%c%u",
						 '\0', off);

		tc_send(t, XS_DIRECTORY_PART, 99, 0, req, rl + 1);
		assert_true(tc_recv(t, &m));
		assert_int_equal(m.hdr.type, XS_DIRECTORY_PART);
		assert_int_equal(m.hdr.len, strlen(gen_want) + 2);
		assert_string_equal(m.body, gen_want);
		assert_int_equal(m.body[m.hdr.len - 1], '\0');
	}
}

static void test_directory_small(void **state)
{
	struct tconn *t = tc_new(0, true);
	struct tmsg m;
	char want[64];
	int wl;

	(void)state;
	mknode("/d", "", 0, PERM_NONE);
	mknode("/d/b", "", 0, PERM_NONE);
	mknode("/d/c", "", 0, PERM_NONE);
	mknode("/d/a", "", 0, PERM_NONE);
	mknode("/e", "", 0, PERM_NONE);

	tc_send(t, XS_DIRECTORY, 1, 0, "/d", 3);
	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_DIRECTORY);
	assert_int_equal(m.hdr.len, 6);
	assert_memory_equal(m.body, "a\0b\0c\0", 6);

	tc_send(t, XS_DIRECTORY, 2, 0, "/e", 3);
	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_DIRECTORY);
	assert_int_equal(m.hdr.len, 0);

	tc_send(t, XS_DIRECTORY_PART, 3, 0, "/d\0" "0", 5);
	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_DIRECTORY_PART);
	wl = snprintf(want, sizeof(want), "%llu%ca%cb%cc%c%c",
		      (unsigned long long)store_lookup("/d")->gen, 0, 0, 0, 0, 0);
	assert_int_equal(m.hdr.len, wl);
	assert_memory_equal(m.body, want, (size_t)wl);
}

/* TRANSACTION_START inside a live transaction is EBUSY; naming one that
 * does not exist is ENOENT like any other request. */
static void test_txn_start_with_txid(void **state)
{
	struct tconn *t = tc_new(0, true);
	uint32_t tx;

	(void)state;
	assert_int_equal(tc_txn_start(t, &tx), 0);
	tc_send(t, XS_TRANSACTION_START, 1, tx, "", 1);
	expect_error(t, 1, tx, "EBUSY");
	assert_int_equal(t->c->ntxns, 1);
	tc_send(t, XS_TRANSACTION_START, 2, tx + 100, "", 1);
	expect_error(t, 2, tx + 100, "ENOENT");
	assert_int_equal(t->c->ntxns, 1);
}

static void test_unknown_txid(void **state)
{
	struct tconn *t = tc_new(0, true);
	uint32_t tx;

	(void)state;
	mknode("/s", "hello", 0, PERM_NONE);
	tc_send(t, XS_READ, 1, 77, "/s", 3);
	expect_error(t, 1, 77, "ENOENT");
	tc_send(t, XS_WRITE, 2, 77, "/s\0x", 4);
	expect_error(t, 2, 77, "ENOENT");
	tc_send(t, XS_TRANSACTION_END, 3, 77, "T", 2);
	expect_error(t, 3, 77, "ENOENT");
	/* An ended transaction is unknown too. */
	assert_int_equal(tc_txn_start(t, &tx), 0);
	assert_int_equal(tc_txn_end(t, tx, true), 0);
	tc_send(t, XS_READ, 4, tx, "/s", 3);
	expect_error(t, 4, tx, "ENOENT");
	assert_int_equal(store_lookup("/s")->vlen, 5);
	assert_memory_equal(node_value(store_lookup("/s")), "hello", 5);
}

static void test_control_unprivileged(void **state)
{
	struct tconn *d5 = tc_new(5, false);

	(void)state;
	tc_send(d5, XS_CONTROL, 1, 0, "check", 6);
	expect_error(d5, 1, 0, "EACCES");
	tc_send(d5, XS_CONTROL, 2, 0, "restrict\0" "0", 11);
	expect_error(d5, 2, 0, "EACCES");
}

static void test_control_restrict(void **state)
{
	struct tconn *t = tc_new(0, true);
	struct tmsg m;

	(void)state;
	mknode("/secret", "x", 0, PERM_NONE);
	assert_int_equal(tc_read(t, 0, "/secret", NULL, 0), 0);

	tc_send(t, XS_CONTROL, 1, 0, "restrict\0" "0", 11);
	expect_error(t, 1, 0, "EINVAL");
	tc_send(t, XS_CONTROL, 2, 0, "restrict\0" "x", 11);
	expect_error(t, 2, 0, "EINVAL");
	tc_send(t, XS_CONTROL, 3, 0, "restrict", 9);
	expect_error(t, 3, 0, "EINVAL");
	assert_true(t->c->privileged);

	tc_send(t, XS_CONTROL, 4, 0, "restrict\0" "5", 11);
	assert_true(tc_recv(t, &m));
	assert_int_equal(m.hdr.type, XS_CONTROL);
	assert_int_equal(m.hdr.req_id, 4);
	assert_int_equal(m.hdr.len, 3);
	assert_string_equal(m.body, "OK");
	assert_false(t->c->privileged);
	assert_int_equal(t->c->domid, 5);

	/* From now on it is domain 5. */
	assert_int_equal(tc_read(t, 0, "/secret", NULL, 0), -EACCES);
	tc_send(t, XS_CONTROL, 5, 0, "check", 6);
	expect_error(t, 5, 0, "EACCES");
	{
		char v[16];

		mknode("/local", "", 0, PERM_NONE);
		mknode("/local/domain", "", 0, PERM_NONE);
		mknode("/local/domain/5", "", 5, PERM_NONE);
		assert_int_equal(tc_write(t, 0, "rel", "r"), 0);
		assert_int_equal(tc_read(t, 0, "/local/domain/5/rel", v,
					 sizeof(v)), 0);
		assert_string_equal(v, "r");
		assert_int_equal(
			node_perms(store_lookup("/local/domain/5/rel")).p[0].domid, 5);
	}
}

static void test_outstanding_pause_resumes(void **state)
{
	struct tconn *d5 = tc_new(5, false);
	char buf[40 * (HDR + 8)];
	size_t len = 0;
	struct tmsg m;
	uint32_t i;

	(void)state;
	mknode("/pub", "v", 0, PERM_READ);
	quotas[Q_OUTSTANDING].val = 20;
	for (i = 0; i < 30; i++)
		put_msg(buf, &len, XS_READ, 100 + i, 0, "/pub", 5);
	tc_feed(d5, buf, len);
	/* Past 20 unread replies it stops reading; once they drain to the
	 * socket it goes on with the rest, in order. */
	for (i = 0; i < 30; i++) {
		if (!tc_recv(d5, &m))
			fail_msg("only %u of 30 replies", i);
		assert_int_equal(m.hdr.type, XS_READ);
		assert_int_equal(m.hdr.req_id, 100 + i);
		assert_string_equal(m.body, "v");
	}
	assert_false(tc_recv(d5, &m));
	assert_int_equal(d5->c->in_len, 0);
	assert_false(d5->c->reading_paused);
}

static void test_transaction_quota(void **state)
{
	struct tconn *d5 = tc_new(5, false), *dom0 = tc_new(0, true);
	uint32_t tx[4];
	int i;

	(void)state;
	quotas[Q_TRANSACTIONS].val = 3;
	for (i = 0; i < 3; i++)
		assert_int_equal(tc_txn_start(d5, &tx[i]), 0);
	assert_true(tx[0] != tx[1] && tx[1] != tx[2] && tx[0] != tx[2]);
	assert_int_equal(tc_txn_start(d5, &tx[3]), -ENOSPC);
	assert_int_equal(tc_txn_end(d5, tx[1], false), 0);
	assert_int_equal(tc_txn_start(d5, &tx[3]), 0);
	assert_int_equal(d5->c->ntxns, 3);
	for (i = 0; i < 5; i++)
		assert_int_equal(tc_txn_start(dom0, &tx[0]), 0);
}

static void test_perms_over_wire(void **state)
{
	struct tconn *t = tc_new(0, true), *d5 = tc_new(5, false);
	struct tmsg m;

	(void)state;
	mknode("/p", "x", 0, PERM_NONE);
	assert_int_equal(tc_read(d5, 0, "/p", NULL, 0), -EACCES);
	assert_int_equal(tc_set_perms(t, 0, "/p", "n0\0r5", 6), 0);
	assert_int_equal(tc_call(t, XS_GET_PERMS, 0, "/p", 3, &m), 0);
	assert_int_equal(m.hdr.len, 6);
	assert_memory_equal(m.body, "n0\0r5\0", 6);
	assert_int_equal(tc_read(d5, 0, "/p", NULL, 0), 0);
	assert_int_equal(tc_write(d5, 0, "/p", "y"), -EACCES);
	/* Bad lists are refused and change nothing. */
	assert_int_equal(tc_set_perms(t, 0, "/p", "q0", 3), -EINVAL);
	assert_int_equal(tc_set_perms(t, 0, "/p", "r70000", 7), -EINVAL);
	assert_int_equal(tc_set_perms(t, 0, "/p", "n0\0r5", 5), -EINVAL);
	assert_int_equal(tc_call(t, XS_GET_PERMS, 0, "/p", 3, &m), 0);
	assert_memory_equal(m.body, "n0\0r5\0", 6);
	assert_int_equal(tc_set_perms(t, 0, "/nothere", "n0", 3), -ENOENT);
}

static void test_directory_in_txn(void **state)
{
	struct tconn *t = tc_new(0, true);
	struct tmsg m;
	uint32_t tx;
	bool a = false, c = false, d = false;
	uint32_t pos = 0;

	(void)state;
	mknode("/d", "", 0, PERM_NONE);
	mknode("/d/a", "", 0, PERM_NONE);
	mknode("/d/b", "", 0, PERM_NONE);
	assert_int_equal(tc_txn_start(t, &tx), 0);
	assert_int_equal(tc_write(t, tx, "/d/d", ""), 0);
	assert_int_equal(tc_write(t, tx, "/d/c", ""), 0);
	assert_int_equal(tc_rm(t, tx, "/d/b"), 0);
	assert_int_equal(tc_call(t, XS_DIRECTORY, tx, "/d", 3, &m), 0);
	assert_int_equal(m.hdr.len, 6);
	while (pos < m.hdr.len) {
		const char *n = m.body + pos;

		a |= !strcmp(n, "a");
		c |= !strcmp(n, "c");
		d |= !strcmp(n, "d");
		pos += (uint32_t)strlen(n) + 1;
	}
	assert_true(a && c && d);
	/* Outside: unchanged until commit. */
	assert_int_equal(tc_call(t, XS_DIRECTORY, 0, "/d", 3, &m), 0);
	assert_int_equal(m.hdr.len, 4);
	assert_memory_equal(m.body, "a\0b\0", 4);
	assert_int_equal(tc_txn_end(t, tx, true), 0);
	assert_int_equal(tc_call(t, XS_DIRECTORY, 0, "/d", 3, &m), 0);
	assert_int_equal(m.hdr.len, 6);
	assert_memory_equal(m.body, "a\0c\0d\0", 6);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(test_split_message),
		UNIT_TEST(test_two_in_one_feed),
		UNIT_TEST(test_unknown_type),
		UNIT_TEST(test_oversized_payload_kills),
		UNIT_TEST(test_unterminated_path),
		UNIT_TEST(test_read_errors),
		UNIT_TEST(test_directory_parts),
		UNIT_TEST(test_directory_small),
		UNIT_TEST(test_txn_start_with_txid),
		UNIT_TEST(test_unknown_txid),
		UNIT_TEST(test_control_unprivileged),
		UNIT_TEST(test_control_restrict),
		UNIT_TEST(test_outstanding_pause_resumes),
		UNIT_TEST(test_transaction_quota),
		UNIT_TEST(test_perms_over_wire),
		UNIT_TEST(test_directory_in_txn),
	};

	return cmocka_run_group_tests_name("wire", tests, NULL, NULL);
}
