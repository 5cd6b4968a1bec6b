/*
 * netback/pkt.c: where a frame's L4 checksum goes (private.h).
 *
 * A frontend that says NETTXF_csum_blank left the checksum to be filled;
 * the tap takes that as VIRTIO_NET_HDR_F_NEEDS_CSUM with csum_start and
 * csum_offset, which netif's flag does not carry: they are read from the
 * frame's own headers here.  The frame is the guest's (or, for the rx
 * side's hash, whoever sent to the tap): every length in it is checked
 * against what was copied.
 */
#include <errno.h>
#include <stdint.h>

#include "netback/private.h"

enum { ETH_HLEN_ = 14 };

static unsigned be16(const unsigned char *p)
{
	return (unsigned)p[0] << 8 | p[1];
}

/* The IPv6 extension headers a sender may put before TCP or UDP (the
 * fragment header is not one: a fragment has no L4 checksum to fill). */
static bool ipv6_ext(unsigned nh)
{
	return nh == 0 || nh == 43 || nh == 60;
}

int nb_frame_l4(const unsigned char *f, size_t len, struct nb_l4 *out)
{
	size_t l3 = ETH_HLEN_, l4;
	unsigned type, proto;
	bool frag = false;

	if (len < ETH_HLEN_)
		return -EINVAL;
	type = be16(f + 12);
	if (type == 0x8100) {	/* one VLAN tag */
		if (len < ETH_HLEN_ + 4)
			return -EINVAL;
		type = be16(f + 16);
		l3 += 4;
	}
	if (type == 0x0800) {
		if (len < l3 + 20 || (f[l3] >> 4) != 4 || (f[l3] & 15) < 5)
			return -EINVAL;
		/* More fragments, or not the first: no L4 header. */
		frag = (be16(f + l3 + 6) & 0x3fff) != 0;
		l4 = l3 + (size_t)(f[l3] & 15) * 4;
		proto = f[l3 + 9];
	} else if (type == 0x86dd) {
		if (len < l3 + 40 || (f[l3] >> 4) != 6)
			return -EINVAL;
		proto = f[l3 + 6];
		l4 = l3 + 40;
		while (ipv6_ext(proto)) {
			if (len < l4 + 8)
				return -EINVAL;
			proto = f[l4];
			l4 += ((size_t)f[l4 + 1] + 1) * 8;
		}
	} else {
		return -EINVAL;
	}
	*out = (struct nb_l4){ .l3 = l3, .l4 = l4, .proto = frag ? 0 : proto,
			       .v6 = type == 0x86dd };
	return 0;
}

int nb_csum_offsets(const unsigned char *f, size_t len, uint16_t *start,
		    uint16_t *offset, uint16_t *hdr_len)
{
	struct nb_l4 h;
	size_t l4;

	if (nb_frame_l4(f, len, &h) < 0)
		return -EINVAL;
	l4 = h.l4;
	if (h.proto == NB_IPPROTO_TCP) {
		if (len < l4 + 20 || (f[l4 + 12] >> 4) < 5 ||
		    len < l4 + (size_t)(f[l4 + 12] >> 4) * 4)
			return -EINVAL;
		*offset = 16;
		*hdr_len = (uint16_t)(l4 + (size_t)(f[l4 + 12] >> 4) * 4);
	} else if (h.proto == NB_IPPROTO_UDP) {
		if (len < l4 + 8)
			return -EINVAL;
		*offset = 6;
		*hdr_len = (uint16_t)(l4 + 8);
	} else {
		return -EINVAL;
	}
	*start = (uint16_t)l4;
	return 0;
}
