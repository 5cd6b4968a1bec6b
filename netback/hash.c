/*
 * netback/hash.c: the Toeplitz hash of netif.h's "Hash types", and which
 * queue a hash picks (private.h).  Pure: no state but what it is given.
 *
 * Toeplitz: for each bit of the input, left to right, that is set, the
 * result takes an exclusive or with the 32 bits of the key starting at
 * that bit's position; key octets past the key's length are zero.  The
 * input is the frame's addresses (and, for TCP when the flags take it,
 * its ports) in the order netif.h lays out, the packet's own bytes.
 */
#include <errno.h>
#include <string.h>

#include "netback/private.h"

/* The 32 key bits from bit `bit` on (zeros past the key). */
static uint32_t key_window(const uint8_t *key, size_t keylen, size_t bit)
{
	size_t at = bit / 8, k;
	uint64_t w = 0;

	for (k = 0; k < 5; k++)
		w = w << 8 | (at + k < keylen ? key[at + k] : 0u);
	return (uint32_t)(w >> (8 - bit % 8));
}

uint32_t nb_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *buf,
		     size_t len)
{
	uint32_t v = 0;
	size_t i;

	for (i = 0; i < len * 8; i++)
		if (buf[i / 8] & (0x80u >> (i % 8)))
			v ^= key_window(key, keylen, i);
	return v;
}

int nb_hash_frame(const struct nb_hash *h, const unsigned char *f, size_t len,
		  uint32_t *value, uint8_t *type)
{
	/* Per family: where the addresses are in the IP header, their
	 * length, and the flags and types for addresses alone or with the
	 * TCP ports. */
	static const struct {
		size_t addr, alen;
		uint32_t ip, tcp;
		uint8_t ip_type, tcp_type;
	} fam[2] = {
		{ 12, 8, XEN_NETIF_CTRL_HASH_TYPE_IPV4, XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP,
		  _XEN_NETIF_CTRL_HASH_TYPE_IPV4, _XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP },
		{ 8, 32, XEN_NETIF_CTRL_HASH_TYPE_IPV6, XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP,
		  _XEN_NETIF_CTRL_HASH_TYPE_IPV6, _XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP },
	};
	unsigned char in[36];
	struct nb_l4 l;
	size_t n;
	unsigned v6;

	if (h->alg != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ ||
	    nb_frame_l4(f, len, &l) < 0)
		return -ENOENT;
	v6 = l.v6;
	memcpy(in, f + l.l3 + fam[v6].addr, fam[v6].alen);
	n = fam[v6].alen;
	/* The maximal type the flags allow (netif.h): TCP with its ports. */
	if ((h->flags & fam[v6].tcp) && l.proto == NB_IPPROTO_TCP &&
	    len >= l.l4 + 4) {
		memcpy(in + n, f + l.l4, 4);
		n += 4;
		*type = fam[v6].tcp_type;
	} else if (h->flags & fam[v6].ip) {
		*type = fam[v6].ip_type;
	} else {
		return -ENOENT;
	}
	*value = nb_toeplitz(h->key, h->keylen, in, n);
	return 0;
}

unsigned nb_hash_queue(const struct nb_hash *h, uint32_t value, unsigned nq)
{
	if (h->size)
		return h->map[value % h->size];
	return value % nq;
}
