/*
 * tests/host/blk_ring.c: the tests' blkif frontend (blk_ring.h).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <xen/io/blkif.h>

#include "blk_ring.h"

/* Where the fields sit, by the ABI's alignment rules. */
struct bf_layout {
	size_t slot, id, sector, seg, d_nr, in_nr, in_handle, in_grefs;
	size_t r_op, r_status;
};

static const struct bf_layout layouts[] = {
	[BF_ABI_64] = { .slot = 112, .id = 8, .sector = 16, .seg = 24,
			.d_nr = 24, .in_nr = 2, .in_handle = 24,
			.in_grefs = 28, .r_op = 8, .r_status = 10 },
	[BF_ABI_32] = { .slot = 108, .id = 4, .sector = 12, .seg = 20,
			.d_nr = 20, .in_nr = 2, .in_handle = 20,
			.in_grefs = 24, .r_op = 8, .r_status = 10 },
};

#ifdef __x86_64__
_Static_assert(offsetof(struct blkif_request, id) == 8 &&
		       offsetof(struct blkif_request, seg) == 24 &&
		       sizeof(union blkif_sring_entry) == 112 &&
		       offsetof(struct blkif_request_discard, nr_sectors) == 24 &&
		       offsetof(struct blkif_request_indirect, handle) == 24 &&
		       offsetof(struct blkif_request_indirect, indirect_grefs) ==
			       28 &&
		       offsetof(struct blkif_response, status) == 10,
	       "the 64-bit table is blkif.h's");
#endif

#define HDR 64u		/* req_prod, req_event, rsp_prod, rsp_event, pad */

static uint32_t *idx(struct bf_queue *q, unsigned which)
{
	return (uint32_t *)(q->sring + 4 * which);	/* 0 req_prod .. 3 rsp_event */
}

static char *slot(struct bf_dev *d, struct bf_queue *q, uint32_t i)
{
	return q->sring + HDR + (size_t)(i & (q->nr_ents - 1)) *
					layouts[d->abi].slot;
}

int bf_add(struct bf_dev *d, struct xbt_guest *g, unsigned devid,
	   uint32_t lo, uint32_t span, uint32_t port0,
	   const char *const *extra)
{
	unsigned i;
	int rc;

	memset(d, 0, sizeof(*d));
	d->g = g;
	d->lo = lo;
	d->span = span;
	d->next_id = 1;
	for (i = 0; i < BF_MAX_QUEUES; i++) {
		d->q[i].port = port0 + i;
		d->q[i].ring_ref = lo + i * BF_RING_PAGES;
		rc = xbt_channel(g, d->q[i].port, &d->q[i].kick,
				 &d->q[i].note);
		if (rc < 0)
			return rc;
	}
	return xbt_device_add("vbd", g, devid, NULL, extra, d->fe, d->be);
}

void bf_connect(struct bf_dev *d, enum bf_abi abi, unsigned order,
		unsigned nq)
{
	unsigned pages = 1u << order, i, p;
	char pre[24] = "", key[64];

	d->abi = abi;
	d->order = order;
	d->nq = nq;
	for (i = 0; i < nq; i++) {
		struct bf_queue *q = &d->q[i];
		unsigned n = (pages * 4096 - HDR) / layouts[abi].slot;

		q->sring = xbt_page(d->g, q->ring_ref);
		memset(q->sring, 0, (size_t)pages * 4096);
		for (q->nr_ents = 1; q->nr_ents * 2 <= n; q->nr_ents *= 2)
			;
		*idx(q, 1) = 1;	/* req_event */
		*idx(q, 3) = 1;	/* rsp_event */
		q->req_prod_pvt = q->rsp_cons = 0;
		if (nq > 1)
			snprintf(pre, sizeof(pre), "queue-%u/", i);
		for (p = 0; p < pages; p++) {
			if (order)
				snprintf(key, sizeof(key), "%sring-ref%u", pre, p);
			else
				snprintf(key, sizeof(key), "%sring-ref", pre);
			xbt_write(d->fe, key, "%u", q->ring_ref + p);
		}
		snprintf(key, sizeof(key), "%sevent-channel", pre);
		xbt_write(d->fe, key, "%u", q->port);
	}
	xbt_write(d->fe, "protocol", "%s",
		  abi == BF_ABI_32 ? "x86_32-abi" : "x86_64-abi");
	xbt_write(d->fe, "ring-page-order", "%u", order);
	xbt_write(d->fe, "multi-queue-num-queues", "%u", nq);
	xbt_write(d->fe, "feature-persistent", "%d", d->persistent);
	xbt_write(d->fe, "state", "%d", XENBUS_INITIALISED);
}

void bf_put(struct bf_dev *d, unsigned qi, const struct bf_req *r)
{
	const struct bf_layout *l = &layouts[d->abi];
	struct bf_queue *q = &d->q[qi];
	unsigned char b[112] = { 0 };
	uint16_t handle = 0;
	unsigned i;

	b[0] = r->op;
	memcpy(b + l->id, &r->id, 8);
	memcpy(b + l->sector, &r->sector, 8);
	if (r->op == BLKIF_OP_DISCARD) {
		memcpy(b + l->d_nr, &r->nr_sectors, 8);
	} else if (r->op == BLKIF_OP_INDIRECT) {
		b[1] = r->indirect_op;
		memcpy(b + l->in_nr, &r->nr_segments, 2);
		memcpy(b + l->in_handle, &handle, 2);
		memcpy(b + l->in_grefs, r->igrefs, sizeof(r->igrefs));
	} else {
		b[1] = (uint8_t)r->nr_segments;
		for (i = 0; i < 11; i++) {
			memcpy(b + l->seg + 8 * i, &r->seg[i].gref, 4);
			b[l->seg + 8 * i + 4] = r->seg[i].first;
			b[l->seg + 8 * i + 5] = r->seg[i].last;
		}
	}
	memcpy(slot(d, q, q->req_prod_pvt++), b, l->slot);
}

void bf_set_req_prod(struct bf_dev *d, unsigned qi, uint32_t prod)
{
	__atomic_store_n(idx(&d->q[qi], 0), prod, __ATOMIC_RELEASE);
}

void bf_kick(struct bf_dev *d, unsigned qi)
{
	uint64_t one = 1;

	if (write(d->q[qi].kick, &one, sizeof(one)) != sizeof(one))
		perror("# kick");
}

void bf_push(struct bf_dev *d, unsigned qi)
{
	bf_set_req_prod(d, qi, d->q[qi].req_prod_pvt);
	bf_kick(d, qi);
}

static bool has_response(const void *arg)
{
	struct bf_queue *q = (struct bf_queue *)arg;

	return __atomic_load_n(idx(q, 2), __ATOMIC_ACQUIRE) != q->rsp_cons;
}

bool bf_wait(struct bf_dev *d, unsigned qi, struct bf_rsp *rsp)
{
	const struct bf_layout *l = &layouts[d->abi];
	struct bf_queue *q = &d->q[qi];
	uint64_t n;
	char *s;

	if (!xbt_pump(has_response, q))
		return false;
	s = slot(d, q, q->rsp_cons++);
	memcpy(&rsp->id, s, 8);
	rsp->op = (uint8_t)s[l->r_op];
	memcpy(&rsp->status, s + l->r_status, 2);
	*idx(q, 3) = q->rsp_cons + 1;	/* rsp_event: tell me of the next */
	if (read(q->note, &n, sizeof(n)) < 0)
		n = 0;	/* a batch may come with one notification */
	return true;
}

int bf_do(struct bf_dev *d, unsigned qi, struct bf_req *r)
{
	uint8_t want_op = r->op == BLKIF_OP_INDIRECT &&
					  (r->indirect_op == BLKIF_OP_READ ||
					   r->indirect_op == BLKIF_OP_WRITE)
				  ? r->indirect_op
				  : r->op;
	struct bf_rsp rsp;

	r->id = d->next_id++ * 0x10001;
	bf_put(d, qi, r);
	bf_push(d, qi);
	if (!bf_wait(d, qi, &rsp))
		return 99;
	if (rsp.id != r->id || rsp.op != want_op)
		return 98;
	return rsp.status;
}

int bf_rw(struct bf_dev *d, unsigned qi, bool write, uint64_t sector,
	  unsigned n, bool indirect, void *buf)
{
	struct bf_req r = { .op = write ? BLKIF_OP_WRITE : BLKIF_OP_READ,
			    .sector = sector, .nr_segments = (uint16_t)n };
	struct bf_seg *list = r.seg;
	unsigned i;
	int st;

	if (indirect) {
		r.indirect_op = r.op;
		r.op = BLKIF_OP_INDIRECT;
		r.igrefs[0] = BF_PAGE_INDIRECT(d, 0);
		list = NULL;
	}
	for (i = 0; i < n; i++) {
		uint32_t ref = BF_PAGE_DATA(d, i);
		struct bf_seg s = { ref, 0, 7 };

		if (write)
			memcpy(xbt_page(d->g, ref), (char *)buf + i * 4096, 4096);
		else
			memset(xbt_page(d->g, ref), 0xee, 4096);
		if (list) {
			list[i] = s;
		} else {	/* 8 bytes an entry: gref, first, last, pad */
			char *e = (char *)xbt_page(d->g, r.igrefs[0]) + 8 * i;

			memcpy(e, &s.gref, 4);
			e[4] = (char)s.first;
			e[5] = (char)s.last;
		}
	}
	st = bf_do(d, qi, &r);
	if (!write)
		for (i = 0; i < n; i++)
			memcpy((char *)buf + i * 4096,
			       xbt_page(d->g, BF_PAGE_DATA(d, i)), 4096);
	return st;
}
