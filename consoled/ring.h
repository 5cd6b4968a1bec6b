/*
 * The console rings' index arithmetic, with no Xen in it (so the unit test
 * runs anywhere).
 *
 * A ring is `size` bytes (a power of two) with free-running 32-bit indexes:
 * the producer writes at prod, the consumer reads at cons, and prod - cons
 * (mod 2^32) is what is waiting.  The guest owns one index of each ring and
 * may write anything into it; every function here takes the indexes as
 * plain values read once by the caller, checks them, and touches only
 * ring[0 .. size).  RING_BAD means the indexes say more than size bytes are
 * waiting: the guest scribbled on its ring.
 */
#ifndef CONSOLED_RING_H
#define CONSOLED_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_BAD ((size_t)-1)

/* Bytes waiting between cons and prod, or RING_BAD. */
size_t ring_avail(uint32_t cons, uint32_t prod, uint32_t size);

/* Room for the producer, or RING_BAD. */
size_t ring_space(uint32_t cons, uint32_t prod, uint32_t size);

/* Copies min(waiting, max) bytes from the ring at cons into dst; returns
 * the count (the caller then moves cons by it), or RING_BAD. */
size_t ring_take(const char *ring, uint32_t size, uint32_t cons,
		 uint32_t prod, char *dst, size_t max);

/* Copies min(room, len) bytes of src into the ring at prod; returns the
 * count (the caller then moves prod by it), or RING_BAD. */
size_t ring_put(char *ring, uint32_t size, uint32_t cons, uint32_t prod,
		const char *src, size_t len);

#endif
