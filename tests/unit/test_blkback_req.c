/* blkback/abi.c and check.c: a request laid out by hand in each ABI (the
 * offsets of i386's and x86_64's alignment rules, not blkback's tables),
 * decoded, and judged against a disk. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "blkback/private.h"

static unsigned char page[4096];

/* Slot 0 of a one-page ring: entries start 64 bytes in. */
static unsigned char *slot0(void)
{
	return page + 64;
}

static void put64(unsigned char *p, uint64_t v)
{
	memcpy(p, &v, 8);
}

static void test_abi(void **state)
{
	enum blk_abi abi;

	(void)state;
	assert_int_equal(blk_abi_ring_size(BLK_ABI_64, 1), 32);
	assert_int_equal(blk_abi_ring_size(BLK_ABI_32, 1), 32);
	assert_int_equal(blk_abi_ring_size(BLK_ABI_64, 2), 64);
	assert_int_equal(blk_abi_ring_size(BLK_ABI_32, 16), 512);
	assert_int_equal(blk_abi_parse(NULL, &abi), 0);
	assert_int_equal(abi, BLK_ABI_64);
	assert_int_equal(blk_abi_parse("x86_32-abi", &abi), 0);
	assert_int_equal(abi, BLK_ABI_32);
	assert_int_equal(blk_abi_parse("x86_32-abi ", &abi), -EINVAL);
	assert_int_equal(blk_abi_parse("", &abi), -EINVAL);
}

/* A READ of 2 segments, id and sector where each ABI puts them. */
static void test_decode_rw(void **state)
{
	static const struct { enum blk_abi abi; size_t id, sector, seg; } l[] = {
		{ BLK_ABI_64, 8, 16, 24 },
		{ BLK_ABI_32, 4, 12, 20 },
	};
	struct blk_req r;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(l); i++) {
		unsigned char *s = slot0();
		uint32_t gref = 77;

		memset(page, 0, sizeof(page));
		s[0] = BLKIF_OP_READ;
		s[1] = 2;
		put64(s + l[i].id, 0x1122334455667788ull);
		put64(s + l[i].sector, 4096);
		memcpy(s + l[i].seg + 8, &gref, 4);
		s[l[i].seg + 8 + 4] = 1;
		s[l[i].seg + 8 + 5] = 6;
		blk_abi_get_req(l[i].abi, page, 32, 0, &r);
		assert_int_equal(r.op, BLKIF_OP_READ);
		assert_int_equal(r.nr_segments, 2);
		assert_true(r.id == 0x1122334455667788ull);
		assert_true(r.sector == 4096);
		assert_int_equal(r.seg[1].gref, 77);
		assert_int_equal(r.seg[1].first_sect, 1);
		assert_int_equal(r.seg[1].last_sect, 6);
	}
}

static void test_decode_indirect_discard(void **state)
{
	static const struct { enum blk_abi abi; size_t id, nr, grefs, d_nr; } l[] = {
		{ BLK_ABI_64, 8, 2, 28, 24 },
		{ BLK_ABI_32, 4, 2, 24, 20 },
	};
	struct blk_req r;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(l); i++) {
		unsigned char *s = slot0();
		uint16_t n = 300;
		uint32_t g = 12345;

		memset(page, 0, sizeof(page));
		s[0] = BLKIF_OP_INDIRECT;
		s[1] = BLKIF_OP_WRITE;
		memcpy(s + l[i].nr, &n, 2);
		memcpy(s + l[i].grefs + 4, &g, 4);
		blk_abi_get_req(l[i].abi, page, 32, 0, &r);
		assert_int_equal(r.indirect_op, BLKIF_OP_WRITE);
		assert_int_equal(r.nr_segments, 300);
		assert_int_equal(r.indirect_grefs[1], 12345);

		memset(page, 0, sizeof(page));
		s[0] = BLKIF_OP_DISCARD;
		put64(s + l[i].d_nr, 999);
		blk_abi_get_req(l[i].abi, page, 32, 0, &r);
		assert_true(r.nr_sectors == 999);
	}
}

static void test_response(void **state)
{
	int16_t st;

	(void)state;
	memset(page, 0, sizeof(page));
	/* Slot 1: 64 + 108 in the 32-bit layout, status at 10. */
	blk_abi_put_rsp(BLK_ABI_32, page, 32, 33, 7, BLKIF_OP_WRITE,
			BLKIF_RSP_EOPNOTSUPP);
	memcpy(&st, page + 64 + 108 + 10, 2);
	assert_int_equal(st, BLKIF_RSP_EOPNOTSUPP);
	assert_int_equal(page[64 + 108 + 8], BLKIF_OP_WRITE);
	blk_abi_put_rsp(BLK_ABI_64, page, 32, 1, 7, BLKIF_OP_READ,
			BLKIF_RSP_ERROR);
	memcpy(&st, page + 64 + 112 + 10, 2);
	assert_int_equal(st, BLKIF_RSP_ERROR);
}

static const struct blk_limits disk = { .sectors = 1000, .discard = true,
					.max_segments = 256 };

static int check(uint8_t op, uint16_t nseg, uint64_t sector,
		 const struct blk_limits *lim)
{
	struct blk_req r = { .op = op, .nr_segments = nseg, .sector = sector,
			     .indirect_op = BLKIF_OP_READ, .nr_sectors = 8 };
	const char *why;

	return blk_check_req(&r, lim, &why);
}

static void test_check_req(void **state)
{
	struct blk_limits ro = disk;

	(void)state;
	ro.readonly = true;
	assert_int_equal(check(BLKIF_OP_READ, 1, 0, &disk), BLKIF_RSP_OKAY);
	assert_int_equal(check(BLKIF_OP_READ, 0, 0, &disk), BLKIF_RSP_ERROR);
	assert_int_equal(check(BLKIF_OP_WRITE, 12, 0, &disk), BLKIF_RSP_ERROR);
	assert_int_equal(check(BLKIF_OP_WRITE_BARRIER, 0, 0, &disk), BLKIF_RSP_OKAY);
	assert_int_equal(check(BLKIF_OP_RESERVED_1, 1, 0, &disk), BLKIF_RSP_EOPNOTSUPP);
	assert_int_equal(check(7, 1, 0, &disk), BLKIF_RSP_EOPNOTSUPP);
	assert_int_equal(check(BLKIF_OP_INDIRECT, 256, 0, &disk), BLKIF_RSP_OKAY);
	assert_int_equal(check(BLKIF_OP_INDIRECT, 257, 0, &disk), BLKIF_RSP_ERROR);
	assert_int_equal(check(BLKIF_OP_DISCARD, 0, 992, &disk), BLKIF_RSP_OKAY);
	assert_int_equal(check(BLKIF_OP_DISCARD, 0, 993, &disk), BLKIF_RSP_ERROR);
	assert_int_equal(check(BLKIF_OP_DISCARD, 0, UINT64_MAX, &disk), BLKIF_RSP_ERROR);
	assert_int_equal(check(BLKIF_OP_READ, 1, 0, &ro), BLKIF_RSP_OKAY);
	assert_int_equal(check(BLKIF_OP_WRITE, 1, 0, &ro), BLKIF_RSP_ERROR);
	assert_int_equal(check(BLKIF_OP_DISCARD, 0, 0, &ro), BLKIF_RSP_ERROR);
	assert_int_equal(check(BLKIF_OP_FLUSH_DISKCACHE, 0, 0, &ro), BLKIF_RSP_OKAY);
}

static void test_check_segs(void **state)
{
	struct blkif_request_segment s[2] = { { 1, 0, 7 }, { 2, 0, 7 } };
	const char *why;
	uint64_t n = 0;

	(void)state;
	assert_int_equal(blk_check_segs(984, s, 2, &disk, &n, &why), BLKIF_RSP_OKAY);
	assert_true(n == 16);
	assert_int_equal(blk_check_segs(985, s, 2, &disk, &n, &why), BLKIF_RSP_ERROR);
	assert_int_equal(blk_check_segs(UINT64_MAX - 3, s, 2, &disk, &n, &why),
			 BLKIF_RSP_ERROR);
	s[1].first_sect = 3;
	s[1].last_sect = 2;
	assert_int_equal(blk_check_segs(0, s, 2, &disk, &n, &why), BLKIF_RSP_ERROR);
	s[1].first_sect = 0;
	s[1].last_sect = 8;
	assert_int_equal(blk_check_segs(0, s, 2, &disk, &n, &why), BLKIF_RSP_ERROR);
	assert_int_equal(blk_indirect_pages(256), 1);
	assert_int_equal(blk_indirect_pages(513), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_abi),
		cmocka_unit_test(test_decode_rw),
		cmocka_unit_test(test_decode_indirect_discard),
		cmocka_unit_test(test_response),
		cmocka_unit_test(test_check_req),
		cmocka_unit_test(test_check_segs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
