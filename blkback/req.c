/*
 * blkback/req.c: one request, from the backend's copy of it to its
 * response.  Checked first (check.c); then its segments (from the request,
 * or from indirect pages copied out and unmapped again), its data pages
 * mapped as one range, and one io_uring operation (a write barrier: a
 * write linked to an fsync).  The pages stay mapped until the kernel is
 * done with them; then the slot is answered.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blkback/private.h"

/* A completion that moves no bytes (fsync, fallocate) carries this bit in
 * its user data; slots are at least 8-byte aligned. */
#define NO_BYTES ((uintptr_t)1)

static int answer(struct blk_slot *s, int status, const char *why)
{
	if (why)
		elog(ELOG_DEBUG, "vbd %u/%s: request %llu op %u: %s",
		     xenbus_dev_domid(s->q->bd->dev),
		     xenbus_dev_id(s->q->bd->dev), (unsigned long long)s->id,
		     s->op, why);
	s->status = (int16_t)status;
	blk_queue_respond(s);
	return status;
}

static void release(struct blk_slot *s)
{
	struct xenbus_dev *dev = s->q->bd->dev;

	if (s->map)
		xenbus_unmap(xenbus_dev_transport(dev), s->map, s->nmap);
	s->map = NULL;
	free(s->iov);
	s->iov = NULL;
}

/* The pages of refs through the queue's persistent grants, into pages[].
 * -ENOSPC when one is not there and the table is full. */
static int pages_persistent(struct blk_queue *q, const uint32_t *refs,
			    unsigned n, void **pages, const char **why)
{
	for (unsigned i = 0; i < n; i++) {
		int rc = blk_pgrant_get(q, refs[i], &pages[i]);

		if (rc == -ENOSPC)
			return rc;
		if (rc < 0) {
			*why = rc == -EFAULT ? "a persistent grant does not map writable"
					     : "out of memory";
			return rc;
		}
	}
	return 0;
}

/* The segment list of an indirect request, copied out of its pages.  The
 * pages are the frontend's to change: nothing is read from them twice. */
static int fetch_indirect(struct blk_queue *q, const struct blk_req *r,
			  struct blkif_request_segment *seg, const char **why)
{
	struct xenbus_dev *dev = q->bd->dev;
	struct xenbus_transport *t = xenbus_dev_transport(dev);
	unsigned pages = blk_indirect_pages(r->nr_segments);
	const size_t per_page = XENBUS_PAGE_SIZE / sizeof(*seg);
	void *p, *kept[ARRAY_SIZE(r->indirect_grefs)];

	/* A frontend with persistent grants keeps its indirect pages too
	 * (Linux's does): taken from the table, no map per request; one
	 * not there with the table full is mapped for this request below. */
	if (q->bd->persistent) {
		int rc = pages_persistent(q, r->indirect_grefs, pages, kept, why);
		unsigned i, left = r->nr_segments;

		if (rc == 0) {
			for (i = 0; i < pages; i++, left -= (unsigned)per_page)
				memcpy(seg + i * per_page, kept[i],
				       (left < per_page ? left : per_page) *
					       sizeof(*seg));
			return BLKIF_RSP_OKAY;
		}
		if (rc != -ENOSPC)
			return BLKIF_RSP_ERROR;
	}
	if (xenbus_map(t, xenbus_dev_domid(dev), r->indirect_grefs, pages,
		       false, &p) < 0) {
		*why = "an indirect page does not map";
		return BLKIF_RSP_ERROR;
	}
	memcpy(seg, p, r->nr_segments * sizeof(*seg));
	xenbus_unmap(t, p, pages);
	return BLKIF_RSP_OKAY;
}

/* READ, WRITE, WRITE_BARRIER with data, INDIRECT. */
static int start_rw(struct blk_queue *q, const struct blk_req *r,
		    struct blk_slot *s, bool write, const char **why)
{
	struct blk_dev *bd = q->bd;
	struct xenbus_dev *dev = bd->dev;
	struct blkif_request_segment segbuf[BLKBACK_MAX_INDIRECT_SEGMENTS];
	const struct blkif_request_segment *seg = r->seg;
	uint32_t refs[BLKBACK_MAX_INDIRECT_SEGMENTS];
	void *pages[BLKBACK_MAX_INDIRECT_SEGMENTS];
	struct io_uring_sqe *sqe[2];
	bool barrier = r->op == BLKIF_OP_WRITE_BARRIER;
	unsigned i, n = r->nr_segments;
	uint64_t sectors;
	int status;

	if (r->op == BLKIF_OP_INDIRECT) {
		status = fetch_indirect(q, r, segbuf, why);
		if (status != BLKIF_RSP_OKAY)
			return status;
		seg = segbuf;
	}
	status = blk_check_segs(r->sector, seg, n, &bd->disk.lim, &sectors,
				why);
	if (status != BLKIF_RSP_OKAY)
		return status;
	for (i = 0; i < n; i++)
		refs[i] = seg[i].gref;
	status = bd->persistent ? pages_persistent(q, refs, n, pages, why)
				: -ENOSPC;
	if (status != 0 && status != -ENOSPC)
		return BLKIF_RSP_ERROR;
	if (status == -ENOSPC) {
		/* This request's pages for this request: a read writes the
		 * guest's pages, a write only reads them. */
		if (xenbus_map(xenbus_dev_transport(dev), xenbus_dev_domid(dev),
			       refs, n, !write, &s->map) < 0) {
			s->map = NULL;
			*why = "a grant ref does not map";
			return BLKIF_RSP_ERROR;
		}
		s->nmap = n;
		for (i = 0; i < n; i++)
			pages[i] = (char *)s->map + (size_t)i * XENBUS_PAGE_SIZE;
	}
	s->iov = calloc(n, sizeof(*s->iov));
	if (!s->iov || blk_io_get(&bd->io, sqe, barrier ? 2 : 1) < 0) {
		*why = "out of memory or io_uring entries";
		return BLKIF_RSP_ERROR;
	}
	for (i = 0; i < n; i++) {
		s->iov[i].iov_base = (char *)pages[i] +
				     (size_t)seg[i].first_sect * BLK_SECTOR;
		s->iov[i].iov_len = (size_t)(seg[i].last_sect -
					     seg[i].first_sect + 1) *
				    BLK_SECTOR;
	}
	s->bytes = sectors * BLK_SECTOR;
	if (write)
		io_uring_prep_writev(sqe[0], bd->disk.fd, s->iov, n,
				     r->sector * BLK_SECTOR);
	else
		io_uring_prep_readv(sqe[0], bd->disk.fd, s->iov, n,
				    r->sector * BLK_SECTOR);
	io_uring_sqe_set_data(sqe[0], s);
	s->pending = 1;
	if (barrier) {
		/* Durable before anything after it starts (ring.c holds the
		 * ring until the slot is answered). */
		sqe[0]->flags |= IOSQE_IO_LINK;
		io_uring_prep_fsync(sqe[1], bd->disk.fd, 0);
		io_uring_sqe_set_data(sqe[1], (void *)((uintptr_t)s | NO_BYTES));
		s->pending = 2;
	}
	return BLKIF_RSP_OKAY;
}

/* FLUSH_DISKCACHE, an empty WRITE_BARRIER, DISCARD of some sectors. */
static int start_other(struct blk_queue *q, const struct blk_req *r,
		       struct blk_slot *s, const char **why)
{
	struct blk_dev *bd = q->bd;
	struct io_uring_sqe *sqe;

	if (blk_io_get(&bd->io, &sqe, 1) < 0) {
		*why = "no io_uring entry";
		return BLKIF_RSP_ERROR;
	}
	if (r->op == BLKIF_OP_DISCARD)
		io_uring_prep_fallocate(sqe, bd->disk.fd,
					FALLOC_FL_PUNCH_HOLE |
						FALLOC_FL_KEEP_SIZE,
					r->sector * BLK_SECTOR,
					r->nr_sectors * BLK_SECTOR);
	else
		io_uring_prep_fsync(sqe, bd->disk.fd, 0);
	io_uring_sqe_set_data(sqe, (void *)((uintptr_t)s | NO_BYTES));
	s->pending = 1;
	return BLKIF_RSP_OKAY;
}

void blk_req_start(struct blk_queue *q, const struct blk_req *r,
		   struct blk_slot *s)
{
	const char *why = NULL;
	bool indirect_rw = r->op == BLKIF_OP_INDIRECT &&
			   (r->indirect_op == BLKIF_OP_READ ||
			    r->indirect_op == BLKIF_OP_WRITE);
	bool write;
	int status;

	s->id = r->id;
	/* A frontend matches an indirect request's answer by the
	 * operation it carried. */
	s->op = indirect_rw ? r->indirect_op : r->op;
	s->status = BLKIF_RSP_OKAY;
	s->pending = 0;
	s->bytes = 0;
	s->map = NULL;
	s->iov = NULL;
	status = blk_check_req(r, &q->bd->disk.lim, &why);
	if (status != BLKIF_RSP_OKAY)
		goto refuse;	/* answered now, status and why */
	if (r->op == BLKIF_OP_DISCARD && r->nr_sectors == 0)
		goto refuse;	/* nothing to do: OKAY */
	write = r->op == BLKIF_OP_WRITE || r->op == BLKIF_OP_WRITE_BARRIER ||
		(indirect_rw && r->indirect_op == BLKIF_OP_WRITE);
	if (r->op == BLKIF_OP_FLUSH_DISKCACHE || r->op == BLKIF_OP_DISCARD ||
	    (r->op == BLKIF_OP_WRITE_BARRIER && r->nr_segments == 0))
		status = start_other(q, r, s, &why);
	else
		status = start_rw(q, r, s, write, &why);
	if (status == BLKIF_RSP_OKAY)
		return;
refuse:		/* or done at once */
	release(s);
	answer(s, status, why);
}

void blk_req_io_done(void *data, int res)
{
	uintptr_t u = (uintptr_t)data;
	struct blk_slot *s = (struct blk_slot *)(u & ~NO_BYTES);

	if (res < 0 || (!(u & NO_BYTES) && (size_t)res != s->bytes)) {
		if (s->status == BLKIF_RSP_OKAY)
			elog(ELOG_WARN, "vbd %u/%s: request %llu op %u: %s",
			     xenbus_dev_domid(s->q->bd->dev),
			     xenbus_dev_id(s->q->bd->dev),
			     (unsigned long long)s->id, s->op,
			     res < 0 ? strerror(-res) : "short transfer");
		s->status = BLKIF_RSP_ERROR;
	}
	if (--s->pending)
		return;
	release(s);
	blk_queue_respond(s);
}
