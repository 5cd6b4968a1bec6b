/*
 * blkback/check.c: is a request one this disk may serve?  Pure functions
 * over the backend's own copy of the request (abi.c), so that a hostile
 * frontend's every field is judged before anything is mapped, read or
 * written, and a unit test can walk them all.
 */
#include "blkback/private.h"

static int refuse(const char **why, const char *what, int status)
{
	*why = what;
	return status;
}

/* sector + count stays inside the disk, without overflow. */
static bool inside(const struct blk_limits *lim, uint64_t sector,
		   uint64_t count)
{
	return sector <= lim->sectors && count <= lim->sectors - sector;
}

int blk_check_req(const struct blk_req *r, const struct blk_limits *lim,
		  const char **why)
{
	*why = NULL;
	switch (r->op) {
	case BLKIF_OP_READ:
	case BLKIF_OP_WRITE:
		if (r->nr_segments == 0)
			return refuse(why, "no segments", BLKIF_RSP_ERROR);
		/* fall through */
	case BLKIF_OP_WRITE_BARRIER:	/* 0 segments: a drain and a flush */
		if (r->nr_segments > BLKIF_MAX_SEGMENTS_PER_REQUEST)
			return refuse(why, "more than 11 direct segments",
				      BLKIF_RSP_ERROR);
		if (r->op != BLKIF_OP_READ && lim->readonly)
			return refuse(why, "write to a read-only disk",
				      BLKIF_RSP_ERROR);
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_FLUSH_DISKCACHE:
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_DISCARD:
		if (lim->readonly)
			return refuse(why, "discard on a read-only disk",
				      BLKIF_RSP_ERROR);
		if (!lim->discard)
			return refuse(why, "discard not offered",
				      BLKIF_RSP_EOPNOTSUPP);
		if (!inside(lim, r->sector, r->nr_sectors))
			return refuse(why, "discard past the end of the disk",
				      BLKIF_RSP_ERROR);
		return BLKIF_RSP_OKAY;
	case BLKIF_OP_INDIRECT:
		if (r->indirect_op != BLKIF_OP_READ &&
		    r->indirect_op != BLKIF_OP_WRITE)
			return refuse(why, "indirect operation not READ or WRITE",
				      BLKIF_RSP_ERROR);
		if (r->nr_segments == 0 || r->nr_segments > lim->max_segments)
			return refuse(why, "indirect segments 0 or over the limit",
				      BLKIF_RSP_ERROR);
		if (r->indirect_op == BLKIF_OP_WRITE && lim->readonly)
			return refuse(why, "write to a read-only disk",
				      BLKIF_RSP_ERROR);
		return BLKIF_RSP_OKAY;
	default:
		return refuse(why, "unknown operation", BLKIF_RSP_EOPNOTSUPP);
	}
}

unsigned blk_indirect_pages(unsigned nr_segments)
{
	return (nr_segments + BLK_SEGS_PER_INDIRECT_PAGE - 1) /
	       BLK_SEGS_PER_INDIRECT_PAGE;
}

int blk_check_segs(uint64_t sector, const struct blkif_request_segment *seg,
		   unsigned n, const struct blk_limits *lim, uint64_t *sectors,
		   const char **why)
{
	uint64_t total = 0;
	unsigned i;

	*why = NULL;
	for (i = 0; i < n; i++) {
		if (seg[i].first_sect > seg[i].last_sect)
			return refuse(why, "a segment's first sector is after its last",
				      BLKIF_RSP_ERROR);
		if (seg[i].last_sect >= BLK_SECTORS_PER_PAGE)
			return refuse(why, "a segment runs past its page",
				      BLKIF_RSP_ERROR);
		total += seg[i].last_sect - seg[i].first_sect + 1u;
	}
	if (!inside(lim, sector, total))
		return refuse(why, "past the end of the disk", BLKIF_RSP_ERROR);
	*sectors = total;
	return BLKIF_RSP_OKAY;
}
