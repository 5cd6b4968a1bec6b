/*
 * blkback/ring.c: one queue of a device: its shared ring (one page or
 * 2^order), its event channel, and a slot for each request in flight.
 *
 * The indexes are the frontend's to move and are checked as xen/io/ring.h
 * would have them: a producer more than a ring ahead of the responses is a
 * broken frontend, and the device is closed; requests are taken only while
 * their responses have room, so at most a ring's worth is in flight and
 * the slots never run out.  Responses are written as requests complete,
 * in any order, and published once a batch.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "blkback/private.h"

static void on_kick(void *arg, uint32_t events);

int blk_queue_start(struct blk_dev *bd, struct blk_queue *q,
		    const uint32_t *refs, unsigned pages, uint32_t port)
{
	struct xenbus_dev *dev = bd->dev;
	struct xenbus_transport *t = xenbus_dev_transport(dev);
	unsigned i, n = blk_abi_ring_size(bd->abi, pages);
	int rc;

	memset(q, 0, sizeof(*q));
	q->bd = bd;
	q->idx = (unsigned)(q - bd->q);
	q->pages = pages;
	q->slots = calloc(n, sizeof(*q->slots));
	if (!q->slots)
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		q->slots[i].q = q;
		q->slots[i].next_free = i + 1 < n ? &q->slots[i + 1] : NULL;
	}
	q->free = q->slots;
	rc = xenbus_map(t, xenbus_dev_domid(dev), refs, pages, true, &q->sring);
	if (rc < 0) {
		blk_say(bd, rc, "queue %u: ring-ref %u: cannot map: %s",
				 q->idx, refs[0], strerror(-rc));
		goto free;
	}
	BACK_RING_ATTACH(&q->ring, (blkif_sring_t *)q->sring, 0,
			 (size_t)pages * XENBUS_PAGE_SIZE);
	q->ring.nr_ents = n;	/* the ABI's slots, not this host's */
	rc = xenbus_bind(t, xenbus_dev_domid(dev), port, &q->ch);
	if (rc < 0) {
		blk_say(bd, rc, "queue %u: event-channel %u: cannot bind: %s",
				 q->idx, port, strerror(-rc));
		goto unmap;
	}
	rc = evloop_add(bd->loop, xenbus_evtchn_fd(q->ch), EPOLLIN,
			on_kick, q);
	if (rc < 0) {
		blk_say(bd, rc, "queue %u: event loop: %s", q->idx,
				 strerror(-rc));
		goto unbind;
	}
	return 0;
unbind:
	xenbus_unbind(q->ch);
	q->ch = NULL;
unmap:
	xenbus_unmap(t, q->sring, pages);
	q->sring = NULL;
free:
	free(q->slots);
	q->slots = NULL;
	return rc;
}

void blk_queue_stop(struct blk_queue *q)
{
	struct xenbus_dev *dev = q->bd->dev;

	if (!q->slots)
		return;
	evloop_del(q->bd->loop, xenbus_evtchn_fd(q->ch));
	blk_pgrant_clear(q);
	xenbus_unbind(q->ch);
	xenbus_unmap(xenbus_dev_transport(dev), q->sring, q->pages);
	free(q->slots);
	memset(q, 0, sizeof(*q));
}

void blk_queue_respond(struct blk_slot *s)
{
	struct blk_queue *q = s->q;
	struct blkback_stats *st = &q->bd->bb->stats;

	blk_abi_put_rsp(q->bd->abi, q->sring, q->ring.nr_ents,
			q->ring.rsp_prod_pvt, s->id, s->op, s->status);
	q->ring.rsp_prod_pvt++;
	q->dirty = true;
	st->requests++;
	st->errors += s->status == BLKIF_RSP_ERROR;
	st->unsupported += s->status == BLKIF_RSP_EOPNOTSUPP;
	s->next_free = q->free;
	q->free = s;
	q->inflight--;
	if (s->op == BLKIF_OP_WRITE_BARRIER)
		q->barrier = false;
}

void blk_queue_push(struct blk_queue *q)
{
	int notify;

	if (!q->dirty)
		return;
	q->dirty = false;
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->ring, notify);
	if (notify)
		xenbus_notify(q->ch);
}

/* Takes the requests there are; false when the frontend broke the ring. */
static bool take_requests(struct blk_queue *q)
{
	struct blk_dev *bd = q->bd;
	RING_IDX rp, rc;
	struct blk_req req;

	rp = q->ring.sring->req_prod;
	xen_rmb();	/* the requests before their index */
	if (RING_REQUEST_PROD_OVERFLOW(&q->ring, rp)) {
		bd->broken = "req_prod overruns the ring";
		return false;
	}
	for (rc = q->ring.req_cons; rc != rp; rc++) {
		struct blk_slot *s;

		if (q->barrier || RING_REQUEST_CONS_OVERFLOW(&q->ring, rc) ||
		    !q->free)
			break;
		blk_abi_get_req(bd->abi, q->sring, q->ring.nr_ents, rc, &req);
		/* A barrier waits, not taken, for what is in flight, and
		 * holds back what comes after it until it is done. */
		q->waiting = req.op == BLKIF_OP_WRITE_BARRIER && q->inflight;
		if (q->waiting)
			break;
		q->barrier = req.op == BLKIF_OP_WRITE_BARRIER;
		s = q->free;
		q->free = s->next_free;
		q->inflight++;
		q->ring.req_cons = rc + 1;
		blk_req_start(q, &req, s);
	}
	return true;
}

void blk_queue_run(struct blk_queue *q)
{
	int more;

	do {
		if (!take_requests(q))
			return;
		blk_io_submit(&q->bd->io);
		/* Answered in this turn if done already: a frontend waiting on
		 * one request (queue depth 1) saves a loop turn. */
		blk_io_reap_now(&q->bd->io, blk_req_io_done);
		blk_queue_push(q);
		if (q->barrier || q->waiting || !q->free)
			return;	/* the completions run the ring again */
		RING_FINAL_CHECK_FOR_REQUESTS(&q->ring, more);
	} while (more);
}

static void on_kick(void *arg, uint32_t events)
{
	struct blk_queue *q = arg;
	struct blk_dev *bd = q->bd;	/* q is gone if bd closes */

	(void)events;
	xenbus_evtchn_ack(q->ch);
	blk_queue_run(q);
	blk_dev_check_broken(bd);
}

void blk_dev_on_io(void *arg, uint32_t events)
{
	struct blk_dev *bd = arg;
	unsigned i;

	(void)events;
	blk_io_reap(&bd->io, blk_req_io_done);
	for (i = 0; i < bd->nq && !bd->broken; i++) {
		blk_queue_push(&bd->q[i]);
		blk_queue_run(&bd->q[i]);
	}
	blk_dev_check_broken(bd);
}
