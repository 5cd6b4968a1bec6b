/*
 * netback/mcast.c: the frontend's multicast filter (private.h).
 *
 * The frontend adds and removes addresses with MCAST_ADD and MCAST_DEL
 * extras on tx, whether it asked for filtering or not (netif.h); the
 * filter applies toward the guest only while request-multicast-control
 * is 1.  The list is bounded (NB_MCAST_MAX, as Linux's netback keeps 64):
 * an address past it is not refused but turns filtering off (every
 * multicast frame passes) until the frontend reconnects, as a NIC whose
 * filter is full falls back to all-multicast: the guest gets more than it
 * asked for, never less.  Broadcast always passes.
 */
#include <string.h>

#include "netback/private.h"

static int find(const struct nb_mcast *m, const uint8_t *addr)
{
	unsigned i;

	for (i = 0; i < m->n; i++)
		if (!memcmp(m->addr[i], addr, 6))
			return (int)i;
	return -1;
}

void nb_mcast_add(struct nb_mcast *m, const uint8_t *addr)
{
	if (find(m, addr) >= 0)
		return;
	if (m->n == NB_MCAST_MAX) {
		m->overflow = true;
		return;
	}
	memcpy(m->addr[m->n++], addr, 6);
}

void nb_mcast_del(struct nb_mcast *m, const uint8_t *addr)
{
	int i = find(m, addr);

	if (i >= 0)
		memmove(m->addr[i], m->addr[i + 1], (m->n-- - (unsigned)i - 1) * 6);
}

bool nb_mcast_pass(const struct nb_mcast *m, const unsigned char *frame)
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

	if (!(frame[0] & 1) || !memcmp(frame, bcast, 6) || m->overflow)
		return true;
	return find(m, frame) >= 0;
}
