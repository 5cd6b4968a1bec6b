#include <string.h>

#include "ring.h"

size_t ring_avail(uint32_t cons, uint32_t prod, uint32_t size)
{
	uint32_t used = prod - cons;	/* unsigned: wraps as the indexes do */

	return used > size ? RING_BAD : used;
}

size_t ring_space(uint32_t cons, uint32_t prod, uint32_t size)
{
	size_t used = ring_avail(cons, prod, size);

	return used == RING_BAD ? RING_BAD : size - used;
}

size_t ring_take(const char *ring, uint32_t size, uint32_t cons,
		 uint32_t prod, char *dst, size_t max)
{
	size_t n = ring_avail(cons, prod, size), off, first;

	if (n == RING_BAD)
		return RING_BAD;
	if (n > max)
		n = max;
	off = cons & (size - 1);
	first = size - off;
	if (first > n)
		first = n;
	memcpy(dst, ring + off, first);
	memcpy(dst + first, ring, n - first);
	return n;
}

size_t ring_put(char *ring, uint32_t size, uint32_t cons, uint32_t prod,
		const char *src, size_t len)
{
	size_t n = ring_space(cons, prod, size), off, first;

	if (n == RING_BAD)
		return RING_BAD;
	if (n > len)
		n = len;
	off = prod & (size - 1);
	first = size - off;
	if (first > n)
		first = n;
	memcpy(ring + off, src, first);
	memcpy(ring, src + first, n - first);
	return n;
}
