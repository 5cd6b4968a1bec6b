/*
 * tests/host/blk_ring.h: a blkif frontend of the tests' own, over the shm
 * transport (xbtest.h).  It lays its rings out from the ABI rules, byte by
 * byte, not from blkback's code: the 64-bit offsets are checked against
 * xen/io/blkif.h, the 32-bit ones are i386's (u64 aligned to 4).
 */
#ifndef ENSO_TESTS_BLK_RING_H
#define ENSO_TESTS_BLK_RING_H

#include <stdbool.h>
#include <stdint.h>

#include "xbtest.h"

enum bf_abi { BF_ABI_64, BF_ABI_32 };

#define BF_MAX_QUEUES 2
#define BF_RING_PAGES 16	/* a queue's ring: up to order 4 */

struct bf_queue {
	char *sring;
	unsigned nr_ents;
	uint32_t ring_ref;	/* its first page */
	uint32_t port;
	int kick, note;
	uint32_t req_prod_pvt, rsp_cons;
};

/* One device: pages [lo, lo + span) of its guest are its own. */
struct bf_dev {
	struct xbt_guest *g;
	char fe[128], be[128];
	uint32_t lo, span;
	enum bf_abi abi;
	unsigned nq, order;
	bool persistent;	/* bf_connect says feature-persistent */
	struct bf_queue q[BF_MAX_QUEUES];
	uint64_t next_id;
};

/* A request as the test means it; bf_put lays it out in the ABI. */
struct bf_seg {
	uint32_t gref;
	uint8_t first, last;
};
struct bf_req {
	uint8_t op, indirect_op;
	uint16_t nr_segments;
	uint64_t id, sector, nr_sectors;
	struct bf_seg seg[11];		/* direct */
	uint32_t igrefs[8];		/* indirect */
};
struct bf_rsp {
	uint64_t id;
	uint8_t op;
	int16_t status;
};

/* Pages of the device: the rings first, then indirect pages, then data. */
#define BF_PAGE_INDIRECT(d, i) ((d)->lo + BF_MAX_QUEUES * BF_RING_PAGES + (i))
#define BF_PAGE_DATA(d, i) ((d)->lo + BF_MAX_QUEUES * BF_RING_PAGES + 8 + (i))

/* The toolstack's nodes (extra: backend key/value pairs) and the
 * device's channels (ports port0, port0 + 1, ...). */
int bf_add(struct bf_dev *d, struct xbt_guest *g, unsigned devid,
	   uint32_t lo, uint32_t span, uint32_t port0,
	   const char *const *extra);
/* Rings of 2^order pages in the ABI, nq queues; writes the frontend's
 * nodes and says Initialised. */
void bf_connect(struct bf_dev *d, enum bf_abi abi, unsigned order,
		unsigned nq);
/* Lays r out in the next slot of queue qi (not yet published). */
void bf_put(struct bf_dev *d, unsigned qi, const struct bf_req *r);
/* Publishes the requests and kicks the backend. */
void bf_push(struct bf_dev *d, unsigned qi);
/* Kicks the backend, publishing nothing. */
void bf_kick(struct bf_dev *d, unsigned qi);
/* Waits (running the backend) for the next response; false after 5 s. */
bool bf_wait(struct bf_dev *d, unsigned qi, struct bf_rsp *rsp);
/* One request, start to end: its status, or 99 when no answer came, 98
 * when the answer's id or op was not the request's. */
int bf_do(struct bf_dev *d, unsigned qi, struct bf_req *r);
/* READ or WRITE of n whole pages (data pages 0..n-1 of the device) at
 * sector, direct (n <= 11) or indirect; buf holds n * 4096 bytes, read
 * into or written from.  The status as bf_do. */
int bf_rw(struct bf_dev *d, unsigned qi, bool write, uint64_t sector,
	  unsigned n, bool indirect, void *buf);
/* The shared ring's producer index, set as a broken frontend would. */
void bf_set_req_prod(struct bf_dev *d, unsigned qi, uint32_t prod);

#endif
