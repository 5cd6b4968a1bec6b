/* netback/pkt.c: where a frame's checksum goes, read from frames laid out
 * by hand (IPv4 and IPv6, TCP and UDP, a VLAN tag, extension headers), and
 * the frames that must be refused (fragments, other protocols, headers that
 * run past what was copied). */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "netback/private.h"

static unsigned char f[256];

/* Ethernet (+ VLAN) then IPv4 (ihl words) with proto; the L3 offset. */
static size_t eth(uint16_t type, bool vlan)
{
	size_t l3 = vlan ? 18 : 14;

	memset(f, 0, sizeof(f));
	if (vlan) {
		f[12] = 0x81;
		f[16] = (uint8_t)(type >> 8);
		f[17] = (uint8_t)type;
	} else {
		f[12] = (uint8_t)(type >> 8);
		f[13] = (uint8_t)type;
	}
	return l3;
}

static size_t ipv4(bool vlan, unsigned ihl, uint8_t proto)
{
	size_t l3 = eth(0x0800, vlan);

	f[l3] = (uint8_t)(0x40 | ihl);
	f[l3 + 9] = proto;
	return l3 + ihl * 4;
}

static void test_ipv4(void **state)
{
	uint16_t start, off, hl;
	size_t l4;

	(void)state;
	l4 = ipv4(false, 5, 17);
	assert_int_equal(nb_csum_offsets(f, l4 + 8, &start, &off, &hl), 0);
	assert_int_equal(start, 34);
	assert_int_equal(off, 6);
	assert_int_equal(hl, 42);
	l4 = ipv4(false, 6, 6);	/* options */
	f[l4 + 12] = 8 << 4;	/* TCP with 12 bytes of options */
	assert_int_equal(nb_csum_offsets(f, l4 + 32, &start, &off, &hl), 0);
	assert_int_equal(start, 38);
	assert_int_equal(off, 16);
	assert_int_equal(hl, 38 + 32);
	/* The TCP header longer than what was copied. */
	assert_int_equal(nb_csum_offsets(f, l4 + 31, &start, &off, &hl), -EINVAL);
	l4 = ipv4(true, 5, 6);
	f[l4 + 12] = 5 << 4;
	assert_int_equal(nb_csum_offsets(f, l4 + 20, &start, &off, &hl), 0);
	assert_int_equal(start, 38);
	/* A fragment, ICMP, ihl 4, not IPv4 at all. */
	l4 = ipv4(false, 5, 17);
	f[20] = 0x20;	/* more fragments */
	assert_int_equal(nb_csum_offsets(f, l4 + 8, &start, &off, &hl), -EINVAL);
	l4 = ipv4(false, 5, 1);
	assert_int_equal(nb_csum_offsets(f, l4 + 8, &start, &off, &hl), -EINVAL);
	l4 = ipv4(false, 4, 17);
	assert_int_equal(nb_csum_offsets(f, 60, &start, &off, &hl), -EINVAL);
	eth(0x0806, false);
	assert_int_equal(nb_csum_offsets(f, 60, &start, &off, &hl), -EINVAL);
	assert_int_equal(nb_csum_offsets(f, 13, &start, &off, &hl), -EINVAL);
}

static void test_ipv6(void **state)
{
	uint16_t start, off, hl;
	size_t l3;

	(void)state;
	l3 = eth(0x86dd, false);
	f[l3] = 0x60;
	f[l3 + 6] = 6;
	f[l3 + 40 + 12] = 5 << 4;
	assert_int_equal(nb_csum_offsets(f, l3 + 60, &start, &off, &hl), 0);
	assert_int_equal(start, 54);
	assert_int_equal(off, 16);
	/* A hop-by-hop header (8 bytes) before UDP. */
	f[l3 + 6] = 0;
	f[l3 + 40] = 17;
	f[l3 + 41] = 0;
	assert_int_equal(nb_csum_offsets(f, l3 + 56, &start, &off, &hl), 0);
	assert_int_equal(start, 62);
	assert_int_equal(off, 6);
	/* A fragment header: no L4 header to fill. */
	f[l3 + 6] = 44;
	assert_int_equal(nb_csum_offsets(f, l3 + 56, &start, &off, &hl), -EINVAL);
	/* An extension header that runs past the frame. */
	f[l3 + 6] = 60;
	f[l3 + 41] = 20;
	assert_int_equal(nb_csum_offsets(f, l3 + 56, &start, &off, &hl), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ipv4),
		cmocka_unit_test(test_ipv6),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
