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
 *               more follow; extra_info if a GSO slot follows
 *   [slot 1]    a netif_extra_info GSO (type, size), for a GSO packet
 *               and a frontend that took that GSO type
 *   slots 2..   the rest of the data, a page each (only with feature-sg)
 *
 * and each response's status is its slot's byte count (ERROR when the
 * guest's page does not copy).  A packet the frontend cannot take (over
 * one page without SG, a GSO type it did not take) is dropped.
 */
#include <errno.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <unistd.h>

#include "netback/private.h"

#define RX_BATCH 32u
#define PAGE XENBUS_PAGE_SIZE
#define RX_MAX_SLOTS ((NB_MAX_PKT + PAGE - 1) / PAGE + 1)

struct rx_pkt {
	struct virtio_net_hdr vh;
	unsigned char *buf;	/* vnet header, then the frame */
	size_t len;		/* the frame's */
	unsigned nreq;
	bool ext;
	bool ok;
	uint16_t id[RX_MAX_SLOTS];
	unsigned seg0, nseg;
};

/* The slots the packet takes, or 0 when the frontend cannot take it. */
static unsigned slots_for(const struct nb_conf *c, const struct rx_pkt *p,
			  bool *ext)
{
	unsigned data = (unsigned)((p->len + PAGE - 1) / PAGE);
	unsigned gso = p->vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN;

	*ext = gso != VIRTIO_NET_HDR_GSO_NONE;
	if (p->len < 14 || (data > 1 && !c->sg))
		return 0;
	if (*ext && !((gso == VIRTIO_NET_HDR_GSO_TCPV4 && c->gso4) ||
		      (gso == VIRTIO_NET_HDR_GSO_TCPV6 && c->gso6)))
		return 0;
	return data + *ext;
}

/* Takes the requests for p (its data pages: request 0, then 1 + ext ..)
 * and lays out its copy segments. */
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
		if (k == 1 && p->ext)
			continue;	/* its page is given back unused */
		segs[(*nsegs)++] = (struct xenbus_copy){
			.ref = r.gref, .offset = 0,
			.len = (uint16_t)(p->len - off < PAGE ? p->len - off : PAGE),
			.local = p->buf + NB_VNET_HDR + off, .to_guest = true };
		off += PAGE;
	}
	p->nseg = *nsegs - p->seg0;
}

static void respond(struct nb_queue *q, const struct rx_pkt *p)
{
	unsigned ndata = p->nreq - p->ext, k, d = 0;
	size_t left = p->len;

	for (k = 0; k < p->nreq; k++) {
		void *slot = RING_GET_RESPONSE(&q->rx, q->rx.rsp_prod_pvt++);
		netif_rx_response_t r = { .id = p->id[k] };
		size_t n = left < PAGE ? left : PAGE;

		if (k == 1 && p->ext) {
			struct netif_extra_info e = { .type = XEN_NETIF_EXTRA_TYPE_GSO };

			e.u.gso.size = p->vh.gso_size;
			e.u.gso.type = (p->vh.gso_type & ~VIRTIO_NET_HDR_GSO_ECN) ==
						       VIRTIO_NET_HDR_GSO_TCPV4
					       ? XEN_NETIF_GSO_TYPE_TCPV4
					       : XEN_NETIF_GSO_TYPE_TCPV6;
			memcpy(slot, &e, sizeof(e));
			continue;
		}
		if (k == 0) {
			if (p->vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
				r.flags |= NETRXF_csum_blank | NETRXF_data_validated;
			else if (p->vh.flags & VIRTIO_NET_HDR_F_DATA_VALID)
				r.flags |= NETRXF_data_validated;
			if (p->ext)
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

void nb_rx_run(struct nb_queue *q)
{
	struct rx_pkt pk[RX_BATCH];
	struct xenbus_copy segs[RX_BATCH * RX_MAX_SLOTS];
	unsigned n, nsegs, need = 1;
	size_t used;
	RING_IDX prod;
	bool starved, more;

	do {
		prod = q->rx.sring->req_prod;
		xen_rmb();	/* the requests before their index */
		if (RING_REQUEST_PROD_OVERFLOW(&q->rx, prod)) {
			q->nd->broken = "rx: req_prod overruns the ring";
			return;
		}
		n = nsegs = 0;
		used = 0;
		starved = false;
		while (n < RX_BATCH && NB_BUF - used >= NB_VNET_HDR + NB_MAX_PKT + 1) {
			struct rx_pkt *p = &pk[n];
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
			if (got < (ssize_t)NB_VNET_HDR)
				continue;
			memcpy(&p->vh, p->buf, sizeof(p->vh));
			p->len = (size_t)got - NB_VNET_HDR;
			need = slots_for(&q->nd->conf, p, &p->ext);
			if (need == 0 || p->len > NB_MAX_PKT)
				continue;	/* dropped: the frontend cannot take it */
			if (prod - q->rx.req_cons < need) {
				/* Held until the guest posts enough. */
				q->pending = (size_t)got;
				starved = true;
				break;
			}
			p->nreq = need;
			take(q, p, segs, &nsegs);
			used += (size_t)got;
			n++;
		}
		if (n)
			flush(q, pk, n, segs, nsegs);
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
