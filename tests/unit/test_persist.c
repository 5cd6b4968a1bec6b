/* persist.c: the record format, replay of whole groups only, torn tails,
 * and a restart inside one process (close, fresh store, open). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "unit.h"

static char dir[64];
static char jpath[128];

static int dir_setup(void **state)
{
	int rc = unit_setup(state);

	strcpy(dir, "/tmp/enso-persist-unit.XXXXXX");
	if (rc || !mkdtemp(dir))
		return -1;
	snprintf(jpath, sizeof(jpath), "%s/xenstored.journal", dir);
	return 0;
}

static int dir_teardown(void **state)
{
	char cmd[128];

	persist_close();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		return -1;
	return unit_teardown(state);
}

#define DIR_TEST(f) cmocka_unit_test_setup_teardown(f, dir_setup, dir_teardown)

static void test_crc32(void **state)
{
	(void)state;
	/* The check value of CRC-32C (Castagnoli), hardware or not. */
	assert_int_equal(persist_crc32(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(persist_crc32_sw(0, "123456789", 9), 0xe3069283u);
	assert_int_equal(persist_crc32(0, "", 0), 0);
	/* Incremental equals whole. */
	assert_int_equal(persist_crc32(persist_crc32(0, "1234", 4), "56789", 5),
			 0xe3069283u);
	/* The instruction and eight bytes a step agree with the
	 * bit-at-a-time definition, for every length and alignment. */
	{
		unsigned char buf[80];
		size_t off, len, i;

		for (i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)(i * 37 + 11);
		for (off = 0; off < 8; off++)
			for (len = 0; len + off <= sizeof(buf); len++) {
				uint32_t c = 0xffffffffu;
				int k;

				for (i = 0; i < len; i++) {
					c ^= buf[off + i];
					for (k = 0; k < 8; k++)
						c = c & 1 ? 0x82f63b78u ^ (c >> 1)
							  : c >> 1;
				}
				assert_int_equal(persist_crc32(0, buf + off, len),
						 ~c);
				assert_int_equal(persist_crc32_sw(0, buf + off, len),
						 ~c);
			}
	}
}

static void test_record_round_trip(void **state)
{
	struct buf b;
	struct prec r;

	(void)state;
	buf_init(&b);
	assert_int_equal(persist_rec_add(&b, PREC_RM, "/a/b", 5), 0);
	assert_int_equal(persist_rec_add(&b, PREC_COMMIT, NULL, 0), 0);
	assert_int_equal(b.len, PREC_HDR + 1 + 5 + PREC_HDR + 1);
	assert_int_equal(persist_rec_parse(b.p, b.len, &r), 0);
	assert_int_equal(r.type, PREC_RM);
	assert_int_equal(r.len, 5);
	assert_memory_equal(r.data, "/a/b", 5);
	assert_int_equal(r.size, PREC_HDR + 6);
	assert_int_equal(persist_rec_parse(b.p + r.size, b.len - r.size, &r), 0);
	assert_int_equal(r.type, PREC_COMMIT);
	assert_int_equal(r.len, 0);
	/* Little-endian length first: 6 bytes of payload. */
	assert_int_equal((unsigned char)b.p[0], 6);
	assert_int_equal(b.p[1] | b.p[2] | b.p[3], 0);
	buf_fini(&b);
}

static void test_record_torn_and_corrupt(void **state)
{
	struct buf b;
	struct prec r;
	size_t i;

	(void)state;
	buf_init(&b);
	assert_int_equal(persist_rec_add(&b, PREC_RM, "/some/path", 11), 0);
	/* Every strict prefix is a torn record, never a valid one. */
	for (i = 0; i < b.len; i++)
		assert_int_equal(persist_rec_parse(b.p, i, &r), -EAGAIN);
	/* Any flipped byte is caught: in the length, the CRC or the data. */
	for (i = 0; i < b.len; i++) {
		int rc;

		b.p[i] ^= 0x10;
		rc = persist_rec_parse(b.p, b.len, &r);
		assert_true(rc == -EILSEQ || rc == -EAGAIN);
		b.p[i] ^= 0x10;
	}
	assert_int_equal(persist_rec_parse(b.p, b.len, &r), 0);
	/* A zero or huge length is corrupt outright. */
	memset(b.p, 0, 4);
	assert_int_equal(persist_rec_parse(b.p, b.len, &r), -EILSEQ);
	memset(b.p, 0xff, 4);
	assert_int_equal(persist_rec_parse(b.p, b.len, &r), -EILSEQ);
	buf_fini(&b);
	/* Records over the limit are refused when built. */
	buf_init(&b);
	assert_int_equal(persist_rec_add(&b, PREC_RM, NULL, 1u << 20), -E2BIG);
	assert_int_equal(b.len, 0);
	buf_fini(&b);
}

static void reopen(void)
{
	struct persist_opts o = { .dir = dir };

	persist_close();
	store_fini();
	assert_int_equal(store_init(), 0);
	assert_int_equal(persist_open(&o), 0);
}

static void test_restart_keeps_changes(void **state)
{
	struct persist_opts o = { .dir = dir };
	struct tconn *t;
	char v[64];
	uint32_t tx;
	struct node *n;

	(void)state;
	assert_int_equal(persist_open(&o), 0);
	t = tc_new(0, true);
	assert_int_equal(tc_write(t, 0, "/a/b", "one"), 0);
	assert_int_equal(tc_write(t, 0, "/a/c", "two"), 0);
	assert_int_equal(tc_write(t, 0, "/gone/x", "y"), 0);
	assert_int_equal(tc_rm(t, 0, "/gone"), 0);
	assert_int_equal(tc_set_perms(t, 0, "/a/b", "r3\0w7", 6), 0);
	assert_int_equal(tc_txn_start(t, &tx), 0);
	assert_int_equal(tc_write(t, tx, "/a/t", "in-txn"), 0);
	assert_int_equal(tc_txn_end(t, tx, true), 0);
	assert_int_equal(tc_txn_start(t, &tx), 0);
	assert_int_equal(tc_write(t, tx, "/a/aborted", "no"), 0);
	assert_int_equal(tc_txn_end(t, tx, false), 0);
	persist_flush();

	reopen();
	assert_non_null(n = store_lookup("/a/b"));
	assert_int_equal(n->vlen, 3);
	assert_memory_equal(node_value(n), "one", 3);
	assert_int_equal(node_perms(n).n, 2);
	assert_int_equal(node_perms(n).p[0].domid, 3);
	assert_int_equal(node_perms(n).p[0].mode, PERM_READ);
	assert_int_equal(node_perms(n).p[1].domid, 7);
	assert_int_equal(node_perms(n).p[1].mode, PERM_WRITE);
	assert_non_null(store_lookup("/a/c"));
	assert_non_null(store_lookup("/a/t"));
	assert_null(store_lookup("/a/aborted"));
	assert_null(store_lookup("/gone"));
	/* Usage is recomputed: the check finds nothing amiss. */
	{
		struct buf out;

		buf_init(&out);
		assert_int_equal(store_check(&out), 0);
		buf_fini(&out);
	}

	/* A snapshot, then more journal: both replayed. */
	assert_int_equal(persist_compact(), 0);
	t = tc_new(0, true);
	assert_int_equal(tc_write(t, 0, "/after", "snap"), 0);
	assert_int_equal(tc_rm(t, 0, "/a/c"), 0);
	persist_flush();
	reopen();
	assert_non_null(store_lookup("/a/b"));
	assert_null(store_lookup("/a/c"));
	assert_non_null(n = store_lookup("/after"));
	assert_memory_equal(node_value(n), "snap", 4);
	(void)v;
}

/* A NODE record by hand: u32 vlen, path, u16 n, {u16 domid, u8 mode}... */
static void add_node_rec(struct buf *b, const char *path, const char *val)
{
	struct buf d;
	uint32_t vlen = (uint32_t)strlen(val);
	unsigned char hdr[4] = { (unsigned char)vlen, 0, 0, 0 };
	unsigned char perms[5] = { 1, 0, 0, 0, PERM_NONE };

	buf_init(&d);
	assert_int_equal(buf_add(&d, hdr, 4), 0);
	assert_int_equal(buf_add_str0(&d, path), 0);
	assert_int_equal(buf_add(&d, perms, 5), 0);
	assert_int_equal(buf_add(&d, val, vlen), 0);
	assert_int_equal(persist_rec_add(b, PREC_NODE, d.p, (uint32_t)d.len), 0);
	buf_fini(&d);
}

static void write_journal(const struct buf *b)
{
	int fd = open(jpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, b->p, b->len), (ssize_t)b->len);
	close(fd);
}

static void add_jheader(struct buf *b)
{
	unsigned char h[17] = "ENSOXS01J";

	memset(h + 9, 0, 8);	/* generation 0 */
	assert_int_equal(persist_rec_add(b, PREC_HEADER, h, sizeof(h)), 0);
}

static void test_group_applies_whole_or_not(void **state)
{
	struct persist_opts o = { .dir = dir };
	struct buf b;
	struct stat st;
	size_t good;

	(void)state;
	buf_init(&b);
	add_jheader(&b);
	add_node_rec(&b, "/x", "1");
	add_node_rec(&b, "/x/y", "2");
	assert_int_equal(persist_rec_add(&b, PREC_COMMIT, NULL, 0), 0);
	good = b.len;
	/* A group whose commit marker never made it: */
	add_node_rec(&b, "/z", "3");
	add_node_rec(&b, "/z/w", "4");
	write_journal(&b);
	assert_int_equal(persist_open(&o), 0);
	assert_non_null(store_lookup("/x/y"));
	assert_null(store_lookup("/z"));
	assert_null(store_lookup("/z/w"));
	/* The tail is cut, so what comes next follows the good part. */
	assert_int_equal(stat(jpath, &st), 0);
	assert_int_equal((size_t)st.st_size, good);
	buf_fini(&b);
}

static void test_bad_journal_refused(void **state)
{
	struct persist_opts o = { .dir = dir };
	struct buf b;

	(void)state;
	/* A record that parses but cannot apply (a node without its parent)
	 * is corruption, not a tail: refused. */
	buf_init(&b);
	add_jheader(&b);
	add_node_rec(&b, "/no/parent", "1");
	assert_int_equal(persist_rec_add(&b, PREC_COMMIT, NULL, 0), 0);
	write_journal(&b);
	assert_int_equal(persist_open(&o), -EIO);
	/* --discard-state: starts empty and says so. */
	o.discard = true;
	assert_int_equal(persist_open(&o), 0);
	assert_null(store_lookup("/no"));
	assert_int_equal(store.nnodes, 1);
	buf_fini(&b);
}

static void test_lock_is_exclusive(void **state)
{
	struct persist_opts o = { .dir = dir };
	char lock[128];
	int fd;

	(void)state;
	assert_int_equal(persist_open(&o), 0);
	snprintf(lock, sizeof(lock), "%s/xenstored.lock", dir);
	fd = open(lock, O_RDWR);
	assert_true(fd >= 0);
	/* Another open file description: the flock conflicts. */
	assert_int_equal(flock(fd, LOCK_EX | LOCK_NB), -1);
	close(fd);
}

static void test_doomed_transaction(void **state)
{
	struct tconn *t;
	struct txn *tx;

	(void)state;
	t = tc_new(5, false);
	/* A socket client has no transactions from a previous daemon. */
	assert_null(persist_doomed_txn(t->c, 3));
	t->c->kind = CONN_DOMAIN;
	t->c->doom_below = 10;
	assert_null(persist_doomed_txn(t->c, 10));
	assert_null(persist_doomed_txn(t->c, 0));
	tx = persist_doomed_txn(t->c, 3);
	assert_non_null(tx);
	assert_int_equal(t->c->ntxns, 1);
	assert_int_equal(txn_commit(tx, true), -EAGAIN);
	t->c->kind = CONN_SOCKET;	/* freed as it was made */
}

/* A domain's ring in plain memory: domain.c's ring code runs on it (no
 * Xen: notifications are no-ops without an event channel handle). */
struct fakedom {
	struct domain d;
	struct xenstore_domain_interface *intf;
};

static struct conn *fake_domain(struct fakedom *f,
				struct xenstore_domain_interface *intf)
{
	memset(f, 0, sizeof(*f));
	f->d.domid = 5;
	f->d.intf = intf;
	f->d.conn = conn_new(CONN_DOMAIN, -1, 5, false);
	assert_non_null(f->d.conn);
	f->d.conn->dom = &f->d;
	return f->d.conn;
}

/* Puts a WRITE of path=value into the request ring; returns its size. */
static uint32_t ring_write_req(struct xenstore_domain_interface *intf,
			       uint32_t req_id, const char *path,
			       const char *value)
{
	struct xsd_sockmsg h = { .type = XS_WRITE, .req_id = req_id };
	char msg[256];
	uint32_t pl = (uint32_t)strlen(path) + 1, vl = (uint32_t)strlen(value);

	h.len = pl + vl;
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), path, pl);
	memcpy(msg + sizeof(h) + pl, value, vl);
	memcpy(intf->req + MASK_XENSTORE_IDX(intf->req_prod), msg,
	       sizeof(h) + h.len);
	intf->req_prod += (uint32_t)sizeof(h) + h.len;
	return (uint32_t)sizeof(h) + h.len;
}

static void test_ring_replies_resent_once(void **state)
{
	struct persist_opts o = { .dir = dir };
	struct xenstore_domain_interface *intf = calloc(1, 4096);
	struct fakedom f;
	struct tconn *t;
	struct conn *c;
	struct xsd_sockmsg rh;
	uint32_t reqlen, rsplen;
	struct node *n;

	(void)state;
	assert_non_null(intf);
	assert_int_equal(persist_open(&o), 0);
	t = tc_new(0, true);
	assert_int_equal(tc_write(t, 0, "/local/domain/5", ""), 0);
	assert_int_equal(tc_set_perms(t, 0, "/local/domain/5", "n5", 3), 0);

	/* The guest's write is handled and answered... */
	c = fake_domain(&f, intf);
	reqlen = ring_write_req(intf, 7, "data", "one");
	domain_ring_io(&f.d);
	assert_int_equal(intf->req_cons, reqlen);
	rsplen = intf->rsp_prod;
	assert_int_equal(rsplen, sizeof(rh) + 3);	/* "OK\0" */
	/* ...but say the daemon died before the reply reached the ring, and
	 * before req_cons moved: the ring as the guest still has it. */
	intf->req_cons = 0;
	intf->rsp_prod = 0;
	memset(intf->rsp, 0, sizeof(intf->rsp));
	persist_close();
	conn_free(c);

	reopen();
	assert_non_null(n = store_lookup("/local/domain/5/data"));
	c = fake_domain(&f, intf);
	persist_restore_conn(c);
	/* The request is not done twice: it is taken off the ring... */
	assert_int_equal(intf->req_cons, reqlen);
	/* ...and its reply goes out, once. */
	domain_ring_io(&f.d);
	assert_int_equal(intf->rsp_prod, rsplen);
	memcpy(&rh, intf->rsp, sizeof(rh));
	assert_int_equal(rh.type, XS_WRITE);
	assert_int_equal(rh.req_id, 7);
	assert_string_equal(intf->rsp + sizeof(rh), "OK");
	domain_ring_io(&f.d);
	assert_int_equal(intf->rsp_prod, rsplen);

	/* Died with the reply half in the ring: the rest follows. */
	intf->rsp_prod = 5;
	memset(intf->rsp + 5, 0, rsplen - 5);
	persist_close();
	conn_free(c);
	reopen();
	c = fake_domain(&f, intf);
	persist_restore_conn(c);
	domain_ring_io(&f.d);
	assert_int_equal(intf->rsp_prod, rsplen);
	memcpy(&rh, intf->rsp, sizeof(rh));
	assert_int_equal(rh.req_id, 7);
	assert_string_equal(intf->rsp + sizeof(rh), "OK");
	persist_close();
	conn_free(c);
	free(intf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		UNIT_TEST(test_crc32),
		UNIT_TEST(test_record_round_trip),
		UNIT_TEST(test_record_torn_and_corrupt),
		DIR_TEST(test_restart_keeps_changes),
		DIR_TEST(test_group_applies_whole_or_not),
		DIR_TEST(test_bad_journal_refused),
		DIR_TEST(test_lock_is_exclusive),
		DIR_TEST(test_ring_replies_resent_once),
		UNIT_TEST(test_doomed_transaction),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
