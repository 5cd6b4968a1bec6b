/*
 * netback/rx.c: tap -> guest (private.h).
 *
 * The guest posts rx requests, each a page of its own to be filled.  A
 * packet is read from the tap (with its virtio_net_hdr) only when at least
 * one request is posted; if it needs more than are posted, it is held
 * (one a queue) and the tap is not polled until the guest posts enough:
 * nothing is read that has nowhere to go, and nothing read is lost.
 * Packets are copied into the guest's pages (xenbus_copy) a batch at a
 * time, from offset 0 of each page:
 *
 *   slot 0      the first 4096 bytes; NETRXF_csum_blank|data_validated
 *               or data_validated as the vnet header says; more_data if
 *               more follow; extra_info if extras follow
 *   [extras]    a netif_extra_info GSO (type, size), for a GSO packet
 *               and a frontend that took that GSO type; then a HASH one
 *               (type, algorithm, value) when the frontend hashes
 *               (ctrl.c) and its flags cover the frame
 *   then        the rest of the data, a page each (only with feature-sg)
 *
 * and each response's status is its slot's byte count (ERROR when the
 * guest's page does not copy).  A packet the frontend cannot take (over
 * one page without SG, a GSO type it did not take) is dropped.
 *
 * With request-multicast-control, a multicast frame whose address the
 * frontend did not add is dropped (mcast.c).  With a hash set on the
 * control ring, the frame's hash picks its queue (hash.c): a frame read
 * from one tap queue and steered to another is delivered there at once,
 * alone, if that queue has the buffers posted and holds no frame of its
 * own; else it is dropped, as a NIC's full rx queue drops.  A tap queue is
 * still read only while its own ring has buffers: a frontend that hashes
 * posts on every queue, as it must receive on any (netif.h).
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <unistd.h>

#include "netback/private.h"

#define RX_BATCH 32u
#define PAGE XENBUS_PAGE_SIZE
#define RX_MAX_SLOTS ((NB_MAX_PKT + PAGE - 1) / PAGE + 2)

struct rx_pkt {
	struct virtio_net_hdr vh;
	unsigned char *buf;	/* vnet header, then the frame */
	size_t len;		/* the frame's */
	unsigned nreq;
	unsigned nextra;	/* slots 1..nextra: GSO, then HASH */
	bool gso, hashed;
	uint8_t htype;		/* _XEN_NETIF_CTRL_HASH_TYPE_* */
	uint32_t hash;
	bool ok;
	uint16_t id[RX_MAX_SLOTS];
	unsigned seg0, nseg;
};

/* The slots the packet takes, or 0 when the frontend cannot take it;
 * p->gso and p->nextra set. */
static unsigned slots_for(const struct nb_conf *c, struct rx_pkt *p)
{
	unsigned data = (unsigned)((p->len + PAGE - 1) / PAGE);
	unsigned gso = p->vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	p->gso = gso != VIRTIO_NET_HDR_GSO_NONE;
	p->nextra = p->gso + p->hashed;
	if (p->len < 14 || p->len > NB_MAX_PKT || (data > 1 && !c->sg))
		return 0;
	if (p->gso && !((gso == VIRTIO_NET_HDR_GSO_TCPV4 && c->gso4) ||
			(gso == VIRTIO_NET_HDR_GSO_TCPV6 && c->gso6)))
		return 0;
	return data + p->nextra;
}

/* Takes the requests for p (its data pages: request 0, then 1 + nextra
 * ..) and lays out its copy segments. */
static void take(struct nb_queue *q, struct rx_pkt *p,
		 struct xenbus_copy *segs, unsigned *nsegs)
{
	size_t off = 0;
	unsigned k;

	p->seg0 = *nsegs;
	for (k = 0; k < p->nreq; k++) {
		netif_rx_request_t r;

		/* One copy of the slot: the frontend may change it. */
		memcpy(&r, RING_GET_REQUEST(&q->rx, q->rx.req_cons++), sizeof(r));
		p->id[k] = r.id;
		if (k >= 1 && k <= p->nextra)
			continue;	/* its page is given back unused */
		segs[(*nsegs)++] = (struct xenbus_copy){
			.ref = r.gref, .offset = 0,
			.len = (uint16_t)(p->len - off < PAGE ? p->len - off : PAGE),
			.local = p->buf + NB_VNET_HDR + off, .to_guest = true };
		off += PAGE;
	}
	p->nseg = *nsegs - p->seg0;
}

/* The extra of slot k (1..nextra). */
static struct netif_extra_info extra(const struct rx_pkt *p, unsigned k)
{
	struct netif_extra_info e = { .type = XEN_NETIF_EXTRA_TYPE_GSO };

	if (k == 1 && p->gso) {
		e.u.gso.size = p->vh.gso_size;
		e.u.gso.type = (p->vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) ==
					       VIRTIO_NET_HDR_GSO_TCPV4
				       ? XEN_NETIF_GSO_TYPE_TCPV4
				       : XEN_NETIF_GSO_TYPE_TCPV6;
	} else {
		e.type = XEN_NETIF_EXTRA_TYPE_HASH;
		e.u.hash.type = p->htype;
		e.u.hash.algorithm = XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ;
		e.u.hash.value[0] = (uint8_t)p->hash;	/* LSB first */
		e.u.hash.value[1] = (uint8_t)(p->hash >> 8);
		e.u.hash.value[2] = (uint8_t)(p->hash >> 16);
		e.u.hash.value[3] = (uint8_t)(p->hash >> 24);
	}
	if (k < p->nextra)
		e.flags = XEN_NETIF_EXTRA_FLAG_MORE;
	return e;
}

static void respond(struct nb_queue *q, const struct rx_pkt *p)
{
	unsigned ndata = p->nreq - p->nextra, k, d = 0;
	size_t left = p->len;

	for (k = 0; k < p->nreq; k++) {
		void *slot = RING_GET_RESPONSE(&q->rx, q->rx.rsp_prod_pvt++);
		netif_rx_response_t r = { .id = p->id[k] };
		size_t n = left < PAGE ? left : PAGE;

		if (k >= 1 && k <= p->nextra) {
			struct netif_extra_info e = extra(p, k);

			memcpy(slot, &e, sizeof(e));
			continue;
		}
		if (k == 0) {
			if (p->vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
				r.flags |= NETRXF_csum_blank | NETRXF_data_validated;
			else if (p->vh.flags & VIRTIO_NET_HDR_F_DATA_VALID)
				r.flags |= NETRXF_data_validated;
			if (p->nextra)
				r.flags |= NETRXF_extra_info;
		}
		if (++d < ndata)
			r.flags |= NETRXF_more_data;
		r.status = p->ok ? (int16_t)n : NETIF_RSP_ERROR;
		left -= n;
		memcpy(slot, &r, sizeof(r));
	}
}

static void flush(struct nb_queue *q, struct rx_pkt *pk, unsigned n,
		  struct xenbus_copy *segs, unsigned nsegs)
{
	struct xenbus_transport *t = xenbus_dev_transport(q->nd->dev);
	uint32_t domid = xenbus_dev_domid(q->nd->dev);
	bool copied = xenbus_copy(t, domid, segs, nsegs) == 0;
	unsigned i;
	int notify;

	for (i = 0; i < n; i++) {
		pk[i].ok = copied ||
			   xenbus_copy(t, domid, segs + pk[i].seg0, pk[i].nseg) == 0;
		respond(q, &pk[i]);
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->rx, notify);
	if (notify)
		xenbus_notify(q->rxch ? q->rxch : q->txch);
}

/* The guest's rx index, checked: false (and the vif broken) when it runs
 * more than a ring ahead. */
static bool req_prod(struct nb_queue *q, RING_IDX *prod)
{
	*prod = q->rx.sring->req_prod;
	xen_rmb();	/* the requests before their index */
	if (RING_REQUEST_PROD_OVERFLOW(&q->rx, *prod)) {
		q->nd->broken = "rx: req_prod overruns the ring";
		return false;
	}
	return true;
}

/* The queue p goes to: its hash's when the frontend hashes, else q. */
static struct nb_queue *classify(struct nb_queue *q, struct rx_pkt *p)
{
	struct nb_dev *nd = q->nd;

	p->hashed = nb_hash_frame(&nd->hash, p->buf + NB_VNET_HDR, p->len,
				  &p->hash, &p->htype) == 0;
	if (!p->hashed || nd->conf.nq == 1)
		return q;
	return &nd->q[nb_hash_queue(&nd->hash, p->hash, nd->conf.nq) % nd->conf.nq];
}

/* A packet steered to another queue d: there alone, now, or dropped. */
static void steer(struct nb_queue *d, struct rx_pkt *p)
{
	struct xenbus_copy segs[RX_MAX_SLOTS];
	unsigned nsegs = 0;
	RING_IDX prod;

	if (d->pending || !req_prod(d, &prod) || prod - d->rx.req_cons < p->nreq)
		return;
	take(d, p, segs, &nsegs);
	flush(d, p, 1, segs, nsegs);
}

void nb_rx_run(struct nb_queue *q)
{
	struct rx_pkt pk[RX_BATCH];
	struct xenbus_copy segs[RX_BATCH * RX_MAX_SLOTS];
	const struct nb_conf *c = &q->nd->conf;
	unsigned n, nsegs, need = 1;
	size_t used;
	RING_IDX prod;
	bool starved, more;

	do {
		if (!req_prod(q, &prod))
			return;
		n = nsegs = 0;
		used = 0;
		starved = false;
		while (n < RX_BATCH && NB_BUF - used >= NB_VNET_HDR + NB_MAX_PKT + 1) {
			struct rx_pkt *p = &pk[n];
			struct nb_queue *d;
			ssize_t got;

			p->buf = q->rxbuf + used;
			if (q->pending) {	/* held at rxbuf, and used is 0 */
				got = (ssize_t)q->pending;
				q->pending = 0;
			} else if (prod == q->rx.req_cons) {
				starved = true;
				break;
			} else {
				got = read(q->tapfd, p->buf, NB_VNET_HDR + NB_MAX_PKT + 1);
				if (got < 0)
					break;	/* EAGAIN: the tap is empty */
			}
			if (got < (ssize_t)NB_VNET_HDR + 14)
				continue;
			memcpy(&p->vh, p->buf, sizeof(p->vh));
			p->len = (size_t)got - NB_VNET_HDR;
			if (c->mcast_ctrl && !nb_mcast_pass(&q->nd->mcast, p->buf + NB_VNET_HDR))
				continue;	/* dropped: a group not joined */
			d = classify(q, p);
			need = slots_for(c, p);
			if (need == 0)
				continue;	/* dropped: the frontend cannot take it */
			p->nreq = need;
			if (d != q) {
				steer(d, p);
				if (q->nd->broken)
					break;
				continue;
			}
			if (prod - q->rx.req_cons < need) {
				/* Held until the guest posts enough. */
				q->pending = (size_t)got;
				starved = true;
				break;
			}
			take(q, p, segs, &nsegs);
			used += (size_t)got;
			n++;
		}
		if (n)
			flush(q, pk, n, segs, nsegs);
		if (q->nd->broken)
			return;
		if (q->pending && pk[n].buf != q->rxbuf)
			memmove(q->rxbuf, pk[n].buf, q->pending);
		nb_tap_poll(q, !starved);
		if (starved) {
			/* Wake when the guest has posted what is missing. */
			q->rx.sring->req_event = q->rx.req_cons + (q->pending ? need : 1);
			xen_mb();
			more = q->rx.sring->req_prod != prod;
		} else {
			more = n == RX_BATCH ||
			       NB_BUF - used < NB_VNET_HDR + NB_MAX_PKT + 1;
		}
	} while (more);
}
