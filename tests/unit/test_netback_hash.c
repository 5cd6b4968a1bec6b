/* netback/hash.c: Toeplitz against Microsoft's published RSS verification
 * suite (its 40-octet key, five IPv4 and three IPv6 flows, each with and
 * without the TCP ports), the same hashes read from whole frames by the
 * flags netif.h defines, and the queue a hash picks; netback/mcast.c's
 * filter. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "netback/private.h"
#include "tests/unit/rss_vectors.h"

/* The hash input of one row: addresses, then ports when tcp. */
static size_t input(int af, const char *src, const char *dst, uint16_t sport,
		    uint16_t dport, bool tcp, uint8_t *in)
{
	size_t alen = af == AF_INET ? 4 : 16;
	uint16_t sp = htons(sport), dp = htons(dport);

	assert_int_equal(inet_pton(af, src, in), 1);
	assert_int_equal(inet_pton(af, dst, in + alen), 1);
	if (!tcp)
		return 2 * alen;
	memcpy(in + 2 * alen, &sp, 2);
	memcpy(in + 2 * alen + 2, &dp, 2);
	return 2 * alen + 4;
}

/* Each row of a table, over the addresses and with the ports. */
static void check_rows(int af, const struct rss_row *rows, size_t nrows)
{
	uint8_t in[36];
	unsigned i, tcp;

	for (i = 0; i < nrows; i++)
		for (tcp = 0; tcp < 2; tcp++) {
			size_t n = input(af, rows[i].src, rows[i].dst, rows[i].sport,
					 rows[i].dport, tcp, in);

			assert_int_equal(nb_toeplitz(rss_key, 40, in, n),
					 tcp ? rows[i].tcp : rows[i].ip);
		}
}

static void test_vectors(void **state)
{
	uint8_t in[36] = { 0 };

	(void)state;
	check_rows(AF_INET, v4, ARRAY_SIZE(v4));
	check_rows(AF_INET6, v6, ARRAY_SIZE(v6));
	/* No key: every hash 0; a short key is zero past its end. */
	assert_int_equal(nb_toeplitz(rss_key, 0, in, 36), 0);
	assert_int_equal(nb_toeplitz(rss_key, 4, (const uint8_t[]){ 0x80 }, 1),
			 0x6d5a56da);
	assert_int_equal(nb_toeplitz(rss_key, 4, (const uint8_t[]){ 0, 0, 0, 0, 1 }, 5),
			 0);
}

/* A frame of row i: Ethernet, IPv4 or IPv6, then TCP (proto 6) or UDP. */
static size_t frame(unsigned char *f, bool six, unsigned i, uint8_t proto)
{
	const struct rss_row *r = six ? &v6[i] : &v4[i];
	size_t alen = six ? 32 : 8, addr = 14 + (six ? 8 : 12);
	size_t l4 = 14 + (six ? 40 : 20);
	uint8_t in[36];

	memset(f, 0, 128);
	f[12] = six ? 0x86 : 0x08;
	f[13] = six ? 0xdd : 0x00;
	f[14] = six ? 0x60 : 0x45;
	f[14 + (six ? 6 : 9)] = proto;
	input(six ? AF_INET6 : AF_INET, r->src, r->dst, r->sport, r->dport, true, in);
	memcpy(f + addr, in, alen);
	memcpy(f + l4, in + alen, 4);
	return l4 + 20;
}

static void test_frames(void **state)
{
	struct nb_hash h = { .alg = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ,
			     .keylen = 40 };
	unsigned char f[128];
	uint32_t v;
	uint8_t t;
	size_t len;

	(void)state;
	memcpy(h.key, rss_key, 40);
	h.flags = XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |
		  XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP;
	len = frame(f, false, 0, 6);
	assert_int_equal(nb_hash_frame(&h, f, len, &v, &t), 0);
	assert_int_equal(v, v4[0].tcp);
	assert_int_equal(t, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP);
	len = frame(f, false, 1, 17);	/* UDP: addresses only */
	assert_int_equal(nb_hash_frame(&h, f, len, &v, &t), 0);
	assert_int_equal(v, v4[1].ip);
	assert_int_equal(t, _XEN_NETIF_CTRL_HASH_TYPE_IPV4);
	len = frame(f, true, 2, 6);
	assert_int_equal(nb_hash_frame(&h, f, len, &v, &t), 0);
	assert_int_equal(v, v6[2].tcp);
	assert_int_equal(t, _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP);
	/* TCP, but the flags take addresses only. */
	h.flags = XEN_NETIF_CTRL_HASH_TYPE_IPV6;
	assert_int_equal(nb_hash_frame(&h, f, len, &v, &t), 0);
	assert_int_equal(v, v6[2].ip);
	assert_int_equal(t, _XEN_NETIF_CTRL_HASH_TYPE_IPV6);
	/* Not a type asked for, not IP, too short, no algorithm. */
	len = frame(f, false, 0, 6);
	assert_int_equal(nb_hash_frame(&h, f, len, &v, &t), -ENOENT);
	h.flags = XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP;
	assert_int_equal(nb_hash_frame(&h, f, 30, &v, &t), -ENOENT);
	f[12] = 0x12;
	assert_int_equal(nb_hash_frame(&h, f, len, &v, &t), -ENOENT);
	f[12] = 0x08;
	h.alg = XEN_NETIF_CTRL_HASH_ALGORITHM_NONE;
	assert_int_equal(nb_hash_frame(&h, f, len, &v, &t), -ENOENT);
}

static void test_queue(void **state)
{
	struct nb_hash h = { .size = 4, .map = { 1, 0, 3, 2 } };

	(void)state;
	assert_int_equal(nb_hash_queue(&h, 0x51ccc178, 4), h.map[0x51ccc178 % 4]);
	assert_int_equal(nb_hash_queue(&h, 6, 4), 3);
	h.size = 0;	/* modulo the queues */
	assert_int_equal(nb_hash_queue(&h, 7, 3), 1);
}

static void test_mcast(void **state)
{
	static struct nb_mcast m;
	unsigned char f[14] = { 0x01, 0x00, 0x5e, 0, 0, 1 };
	uint8_t a[6];
	unsigned i;

	(void)state;
	assert_false(nb_mcast_pass(&m, f));
	nb_mcast_add(&m, f);
	nb_mcast_add(&m, f);	/* once */
	assert_int_equal(m.n, 1);
	assert_true(nb_mcast_pass(&m, f));
	nb_mcast_del(&m, f);
	assert_false(nb_mcast_pass(&m, f));
	memset(f, 0xff, 6);	/* broadcast */
	assert_true(nb_mcast_pass(&m, f));
	f[0] = 0x00;		/* unicast */
	assert_true(nb_mcast_pass(&m, f));
	for (i = 0; i < NB_MCAST_MAX; i++) {
		memcpy(a, (uint8_t[]){ 0x33, 0x33, 0, 0, (uint8_t)(i >> 8), (uint8_t)i }, 6);
		nb_mcast_add(&m, a);
	}
	memcpy(f, (uint8_t[]){ 0x33, 0x33, 1, 0, 0, 0 }, 6);
	assert_false(m.overflow);
	assert_false(nb_mcast_pass(&m, f));
	nb_mcast_add(&m, f);	/* one past the list: pass all */
	assert_true(m.overflow);
	assert_int_equal(m.n, NB_MCAST_MAX);
	f[5] = 9;
	assert_true(nb_mcast_pass(&m, f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_queue),
		cmocka_unit_test(test_mcast),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
