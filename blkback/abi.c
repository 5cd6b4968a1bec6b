/*
 * blkback/abi.c: the blkif ring in the two ABIs a frontend may speak.
 *
 * The fields and their order are blkif.h's; what differs is only where a
 * uint64_t may sit: on an 8-byte boundary for a 64-bit guest, on a 4-byte
 * one for a 32-bit x86 guest.  One description with that alignment as a
 * parameter gives both layouts; the asserts below pin the 64-bit one to
 * blkif.h's own structs on this host, and the 32-bit one to the offsets
 * i386's rules give (id at 4, a 108-byte slot, a 12-byte response).
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include <xen/io/protocols.h>

#include "blkback/abi.h"

typedef uint64_t blk_u64_8 __attribute__((aligned(8)));
typedef uint64_t blk_u64_4 __attribute__((aligned(4)));

/* blkif.h's request, discard, indirect and response, with u64 aligned as
 * the ABI says; then the ring types of xen/io/ring.h over them. */
#define BLK_ABI_TYPES(name, u64)                                         \
	struct name##_request {                                          \
		uint8_t operation, nr_segments;                          \
		uint16_t handle;                                         \
		u64 id, sector_number;                                   \
		struct blkif_request_segment                             \
			seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];             \
	};                                                               \
	struct name##_discard {                                          \
		uint8_t operation, flag;                                 \
		uint16_t handle;                                         \
		u64 id, sector_number, nr_sectors;                       \
	};                                                               \
	struct name##_indirect {                                         \
		uint8_t operation, indirect_op;                          \
		uint16_t nr_segments;                                    \
		u64 id, sector_number;                                   \
		uint16_t handle;                                         \
		grant_ref_t                                              \
			indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST]; \
	};                                                               \
	struct name##_response {                                         \
		u64 id;                                                  \
		uint8_t operation;                                       \
		int16_t status;                                          \
	};                                                               \
	DEFINE_RING_TYPES(name, struct name##_request,                   \
			  struct name##_response)

BLK_ABI_TYPES(blk64, blk_u64_8);
BLK_ABI_TYPES(blk32, blk_u64_4);

/* The 64-bit layout is blkif.h's own on a 64-bit host. */
#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(struct blk64_request) == sizeof(struct blkif_request) &&
	       offsetof(struct blk64_request, seg) ==
		       offsetof(struct blkif_request, seg),
	       "64-bit request is blkif.h's");
_Static_assert(offsetof(struct blk64_indirect, indirect_grefs) ==
			offsetof(struct blkif_request_indirect, indirect_grefs) &&
		       offsetof(struct blk64_discard, nr_sectors) ==
			       offsetof(struct blkif_request_discard, nr_sectors),
	       "64-bit indirect and discard are blkif.h's");
_Static_assert(sizeof(struct blk64_response) ==
			sizeof(struct blkif_response),
	       "64-bit response is blkif.h's");
#endif
_Static_assert(sizeof(struct blk64_request) == 112 &&
		       offsetof(struct blk64_request, id) == 8 &&
		       sizeof(struct blk64_response) == 16,
	       "x86_64 layout");
_Static_assert(sizeof(struct blk32_request) == 108 &&
		       offsetof(struct blk32_request, id) == 4 &&
		       offsetof(struct blk32_request, sector_number) == 12 &&
		       offsetof(struct blk32_request, seg) == 20,
	       "x86_32 request");
_Static_assert(offsetof(struct blk32_indirect, handle) == 20 &&
		       offsetof(struct blk32_indirect, indirect_grefs) == 24 &&
		       offsetof(struct blk32_discard, nr_sectors) == 20,
	       "x86_32 indirect and discard");
_Static_assert(sizeof(struct blk32_response) == 12 &&
		       offsetof(struct blk32_response, status) == 10,
	       "x86_32 response");
_Static_assert(sizeof(struct blk64_indirect) <= sizeof(struct blk64_request) &&
		       sizeof(struct blk32_indirect) <=
			       sizeof(struct blk32_request),
	       "an indirect request fits a slot");

int blk_abi_parse(const char *protocol, enum blk_abi *abi)
{
	if (!protocol)
		protocol = XEN_IO_PROTO_ABI_NATIVE;
	if (!strcmp(protocol, XEN_IO_PROTO_ABI_X86_32))
		*abi = BLK_ABI_32;
	else if (!strcmp(protocol, XEN_IO_PROTO_ABI_X86_64) ||
		 !strcmp(protocol, XEN_IO_PROTO_ABI_ARM))
		*abi = BLK_ABI_64;	/* arm's EABI aligns u64 to 8 too */
	else
		return -EINVAL;
	return 0;
}

const char *blk_abi_name(enum blk_abi abi)
{
	return abi == BLK_ABI_32 ? XEN_IO_PROTO_ABI_X86_32
				 : XEN_IO_PROTO_ABI_X86_64;
}

unsigned blk_abi_ring_size(enum blk_abi abi, unsigned pages)
{
	size_t bytes = (size_t)pages * XENBUS_PAGE_SIZE;

	if (abi == BLK_ABI_32)
		return __CONST_RING_SIZE(blk32, bytes);
	return __CONST_RING_SIZE(blk64, bytes);
}

/* Where each field sits in one ABI: read from the structs above, so that
 * one decoder serves both. */
struct blk_layout {
	size_t slot, rsp;	/* a ring entry; a response */
	size_t id, sector, seg;
	size_t d_nr_sectors;
	size_t in_nr, in_handle, in_grefs;
	size_t r_op, r_status;
};

#define BLK_LAYOUT(name)                                                     \
	{                                                                    \
		.slot = sizeof(union name##_sring_entry),                    \
		.rsp = sizeof(struct name##_response),                       \
		.id = offsetof(struct name##_request, id),                   \
		.sector = offsetof(struct name##_request, sector_number),    \
		.seg = offsetof(struct name##_request, seg),                 \
		.d_nr_sectors = offsetof(struct name##_discard, nr_sectors), \
		.in_nr = offsetof(struct name##_indirect, nr_segments),      \
		.in_handle = offsetof(struct name##_indirect, handle),       \
		.in_grefs = offsetof(struct name##_indirect, indirect_grefs), \
		.r_op = offsetof(struct name##_response, operation),         \
		.r_status = offsetof(struct name##_response, status),        \
	}

static const struct blk_layout layouts[] = {
	[BLK_ABI_64] = BLK_LAYOUT(blk64),
	[BLK_ABI_32] = BLK_LAYOUT(blk32),
};

/* Both srings start their entries at the same place: only the entries'
 * size differs. */
_Static_assert(offsetof(struct blk32_sring, ring) ==
		       offsetof(struct blk64_sring, ring),
	       "one ring header");

static size_t slot_offset(const struct blk_layout *l, unsigned nr_ents,
			  RING_IDX idx)
{
	return offsetof(struct blk64_sring, ring) +
	       (size_t)(idx & (nr_ents - 1)) * l->slot;
}

void blk_abi_get_req(enum blk_abi abi, const void *sring, unsigned nr_ents,
		     RING_IDX idx, struct blk_req *req)
{
	const struct blk_layout *l = &layouts[abi];
	unsigned char b[sizeof(union blk64_sring_entry)];

	/* One read of the guest's page; everything after is our copy. */
	memcpy(b, (const char *)sring + slot_offset(l, nr_ents, idx), l->slot);
	memset(req, 0, sizeof(*req));
	req->op = b[0];
	memcpy(&req->id, b + l->id, sizeof(req->id));
	memcpy(&req->sector, b + l->sector, sizeof(req->sector));
	switch (req->op) {
	case BLKIF_OP_DISCARD:
		req->flag = b[1];
		memcpy(&req->handle, b + 2, sizeof(req->handle));
		memcpy(&req->nr_sectors, b + l->d_nr_sectors,
		       sizeof(req->nr_sectors));
		break;
	case BLKIF_OP_INDIRECT:
		req->indirect_op = b[1];
		memcpy(&req->nr_segments, b + l->in_nr,
		       sizeof(req->nr_segments));
		memcpy(&req->handle, b + l->in_handle, sizeof(req->handle));
		memcpy(req->indirect_grefs, b + l->in_grefs,
		       sizeof(req->indirect_grefs));
		break;
	default:
		req->nr_segments = b[1];
		memcpy(&req->handle, b + 2, sizeof(req->handle));
		memcpy(req->seg, b + l->seg, sizeof(req->seg));
		break;
	}
}

void blk_abi_put_rsp(enum blk_abi abi, void *sring, unsigned nr_ents,
		     RING_IDX idx, uint64_t id, uint8_t op, int16_t status)
{
	const struct blk_layout *l = &layouts[abi];
	unsigned char b[sizeof(struct blk64_response)] = { 0 };

	memcpy(b, &id, sizeof(id));
	b[l->r_op] = op;
	memcpy(b + l->r_status, &status, sizeof(status));
	memcpy((char *)sring + slot_offset(l, nr_ents, idx), b, l->rsp);
}
