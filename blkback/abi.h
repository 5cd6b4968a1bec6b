/*
 * blkback/abi.h: the two layouts of the blkif ring (xen/io/blkif.h), and
 * a request as the backend reads it.  Internal to blkback/.
 *
 * blkif.h declares its structs once, with the compiler's alignment: a
 * 64-bit guest (x86_64, and arm) aligns uint64_t to 8 bytes, a 32-bit x86
 * guest to 4.  The same fields therefore sit at other offsets, and the
 * ring's slots are 108 bytes instead of 112.  Both are spelt out here with
 * the alignment as a type, and their offsets asserted in abi.c.
 */
#ifndef ENSO_BLKBACK_ABI_H
#define ENSO_BLKBACK_ABI_H

#include <stdint.h>

#include "blkback/blkback.h"	/* and xen/io/ring.h, its barriers */

#include <xen/io/blkif.h>

enum blk_abi { BLK_ABI_64, BLK_ABI_32 };

/* Segments of one request: what blkif.h allows indirectly, capped by what
 * this backend advertises (feature-max-indirect-segments). */
_Static_assert(BLKBACK_MAX_INDIRECT_SEGMENTS <= XENBUS_MAP_MAX,
	       "one request's data pages map as one range");
#define BLK_SECTOR 512u
#define BLK_SECTORS_PER_PAGE (XENBUS_PAGE_SIZE / BLK_SECTOR)
/* blkif_request_segment is 8 bytes in both ABIs: 512 to a page. */
#define BLK_SEGS_PER_INDIRECT_PAGE \
	(XENBUS_PAGE_SIZE / sizeof(struct blkif_request_segment))

/* A request copied out of the shared ring, in either ABI: one read of the
 * guest's memory, after which it cannot change under the checks. */
struct blk_req {
	uint8_t op;		/* BLKIF_OP_* */
	uint8_t indirect_op;	/* INDIRECT: READ or WRITE */
	uint8_t flag;		/* DISCARD: BLKIF_DISCARD_SECURE */
	uint16_t nr_segments;	/* direct: 0..255 as sent; indirect: 16 bits */
	uint16_t handle;
	uint64_t id;
	uint64_t sector;
	uint64_t nr_sectors;	/* DISCARD */
	struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
	grant_ref_t indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
};

/* "x86_32-abi", "x86_64-abi", "arm-abi"; NULL (absent): this host's own.
 * -EINVAL for anything else. */
int blk_abi_parse(const char *protocol, enum blk_abi *abi);
const char *blk_abi_name(enum blk_abi abi);
/* Slots in a ring of `pages` pages of this ABI (a power of two). */
unsigned blk_abi_ring_size(enum blk_abi abi, unsigned pages);
/* Copies slot idx (taken modulo the ring's size) of the shared ring. */
void blk_abi_get_req(enum blk_abi abi, const void *sring, unsigned nr_ents,
		     RING_IDX idx, struct blk_req *req);
/* Writes a response into slot idx. */
void blk_abi_put_rsp(enum blk_abi abi, void *sring, unsigned nr_ents,
		     RING_IDX idx, uint64_t id, uint8_t op, int16_t status);

#endif
