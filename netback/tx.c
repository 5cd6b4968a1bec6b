/*
 * netback/tx.c: guest -> tap (private.h).
 *
 * A packet on the tx ring is a first slot (its size: the whole packet),
 * extra-info slots when it says NETTXF_extra_info (GSO, multicast, hash;
 * chained by XEN_NETIF_EXTRA_FLAG_MORE), then a slot for each more
 * fragment while NETTXF_more_data.  Each slot is copied out of the shared
 * page once and judged on that copy; the data is copied out of the grants
 * (xenbus_copy) for a batch of packets at a time, then each packet is
 * written to the tap behind its virtio_net_hdr, and every slot answered:
 * OKAY or ERROR for data slots, NULL for extra ones.  A packet with
 * MCAST_ADD or MCAST_DEL extras carries no frame (netif.h's "dummy
 * transmit requests"): its addresses go to the vif's filter (mcast.c).
 *
 *   a packet of more than 18 slots, longer than its first slot says
 *   (so over 64 KiB), shorter than an Ethernet header, a slot past its
 *   page, an extra of unknown type, GSO of another type or without
 *   csum_blank, csum_blank on a frame that is not TCP/UDP over IP,
 *   a grant that does not copy                               -> ERROR
 *   more than 20 slots, more than 4 extras, req_prod a ring ahead
 *                                                  -> the vif is closed
 *
 * Rate: the guest gets conf.rate_bytes of credit every rate_usecs; a
 * packet that does not fit waits (the ring with it) for the next
 * replenish, on the queue's timerfd; one bigger than the whole credit
 * passes when the credit is full, and spends it.
 */
#include <errno.h>
#include <stddef.h>
#include <linux/virtio_net.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "netback/private.h"

#define TX_BATCH 32u
#define PAGE XENBUS_PAGE_SIZE

struct tx_seg {
	uint32_t gref;
	uint16_t offset, size;
};

struct tx_pkt {
	netif_tx_request_t first;
	struct netif_extra_info gso;
	bool has_gso, mcast;
	struct netif_extra_info mc[NB_MAX_EXTRAS];	/* MCAST_ADD/DEL, in order */
	unsigned nmc;
	int16_t status;
	unsigned nslots, ndata;
	struct {
		uint16_t id;
		bool extra;
	} slot[NB_FATAL_SLOTS + NB_MAX_EXTRAS];
	struct tx_seg seg[NB_FATAL_SLOTS];
	unsigned char *buf;	/* vnet header, then the frame */
	unsigned seg0;		/* its first xenbus_copy segment */
};

static long long now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Whether a packet of size may go now; if not, the timer is armed for
 * the next replenish. */
static bool credit_ok(struct nb_queue *q, uint32_t size)
{
	const struct nb_conf *c = &q->nd->conf;
	struct itimerspec its = { 0 };
	long long now;

	if (!c->rate_bytes)
		return true;
	now = now_us();
	if (now >= q->window_end) {
		q->credit = c->rate_bytes;
		q->window_end = now + (long long)c->rate_usecs;
	}
	if (size <= q->credit || q->credit == c->rate_bytes) {
		q->credit -= size < q->credit ? size : q->credit;
		return true;
	}
	if (!q->waiting_credit) {
		its.it_value.tv_sec = q->window_end / 1000000;
		its.it_value.tv_nsec = q->window_end % 1000000 * 1000;
		timerfd_settime(q->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
		q->waiting_credit = true;
	}
	return false;
}

void nb_tx_on_timer(void *arg, uint32_t events)
{
	struct nb_queue *q = arg;
	uint64_t n;

	(void)events;
	if (read(q->timerfd, &n, sizeof(n)) < 0 && errno == EAGAIN)
		return;
	q->waiting_credit = false;
	nb_tx_run(q);
}

/* One copy of the slot: the frontend may change it meanwhile. */
static void get_req(struct nb_queue *q, RING_IDX i, netif_tx_request_t *out)
{
	memcpy(out, RING_GET_REQUEST(&q->tx, i), sizeof(*out));
}

static void add_slot(struct tx_pkt *p, uint16_t id, bool extra)
{
	p->slot[p->nslots].id = id;
	p->slot[p->nslots++].extra = extra;
}

/* The slots' verdict, once the whole packet is in hand. */
static int16_t judge(const struct tx_pkt *p)
{
	uint32_t rest = 0, i;

	if (p->status != NETIF_RSP_OKAY || p->ndata > NB_MAX_SLOTS)
		return NETIF_RSP_ERROR;
	for (i = 1; i < p->ndata; i++)
		rest += p->seg[i].size;
	if (rest > p->first.size)
		return NETIF_RSP_ERROR;
	if (p->mcast)
		return NETIF_RSP_OKAY;
	if (p->first.size < 14 ||
	    (uint32_t)p->first.offset + p->first.size - rest > PAGE)
		return NETIF_RSP_ERROR;
	for (i = 1; i < p->ndata; i++)
		if ((uint32_t)p->seg[i].offset + p->seg[i].size > PAGE)
			return NETIF_RSP_ERROR;
	if (p->has_gso && ((p->gso.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV4 &&
			    p->gso.u.gso.type != XEN_NETIF_GSO_TYPE_TCPV6) ||
			   p->gso.u.gso.size == 0 ||
			   !(p->first.flags & NETTXF_csum_blank)))
		return NETIF_RSP_ERROR;
	return NETIF_RSP_OKAY;
}

/* Takes the packet at req_cons if all of it is posted (and the rate lets
 * it go): 1; 0: not now; -1: the frontend broke the ring (nd->broken). */
static int take(struct nb_queue *q, RING_IDX prod, struct tx_pkt *p)
{
	RING_IDX i = q->tx.req_cons;
	netif_tx_request_t r;
	struct netif_extra_info e;
	unsigned nextra = 0, k;

	if (i == prod)
		return 0;
	memset(p, 0, offsetof(struct tx_pkt, slot));
	p->nslots = 0;
	get_req(q, i++, &p->first);
	add_slot(p, p->first.id, false);
	p->seg[0] = (struct tx_seg){ p->first.gref, p->first.offset, 0 };
	p->ndata = 1;
	e.flags = p->first.flags & NETTXF_extra_info ? XEN_NETIF_EXTRA_FLAG_MORE : 0;
	while (e.flags & XEN_NETIF_EXTRA_FLAG_MORE) {
		if (i == prod)
			return 0;
		if (++nextra > NB_MAX_EXTRAS) {
			q->nd->broken = "a packet with more than 4 extra-info slots";
			return -1;
		}
		memcpy(&e, RING_GET_REQUEST(&q->tx, i++), sizeof(e));
		add_slot(p, 0, true);
		if (e.type == XEN_NETIF_EXTRA_TYPE_GSO && !p->has_gso) {
			p->gso = e;
			p->has_gso = true;
		} else if (e.type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD ||
			   e.type == XEN_NETIF_EXTRA_TYPE_MCAST_DEL) {
			p->mcast = true;	/* applied once the packet is taken */
			p->mc[p->nmc++] = e;
		} else if (e.type != XEN_NETIF_EXTRA_TYPE_HASH) {
			p->status = NETIF_RSP_ERROR;
		}
	}
	r = p->first;
	while (r.flags & NETTXF_more_data) {
		if (i == prod)
			return 0;
		if (p->ndata == NB_FATAL_SLOTS) {
			q->nd->broken = "a packet of more than 20 slots";
			return -1;
		}
		get_req(q, i++, &r);
		add_slot(p, r.id, false);
		p->seg[p->ndata++] = (struct tx_seg){ r.gref, r.offset, r.size };
	}
	if (!credit_ok(q, p->first.size))
		return 0;
	q->tx.req_cons = i;
	p->status = judge(p);
	for (k = 0; p->status == NETIF_RSP_OKAY && k < p->nmc; k++) {
		if (p->mc[k].type == XEN_NETIF_EXTRA_TYPE_MCAST_ADD)
			nb_mcast_add(&q->nd->mcast, p->mc[k].u.mcast.addr);
		else
			nb_mcast_del(&q->nd->mcast, p->mc[k].u.mcast.addr);
	}
	if (p->status == NETIF_RSP_OKAY && !p->mcast) {
		uint32_t rest = 0;

		for (k = 1; k < p->ndata; k++)
			rest += p->seg[k].size;
		p->seg[0].size = (uint16_t)(p->first.size - rest);
	}
	return 1;
}

/* The vnet header for the frame at p->buf, from the flags and the GSO
 * extra; false: csum_blank on a frame we cannot place the checksum in. */
static bool vnet_hdr(struct tx_pkt *p)
{
	struct virtio_net_hdr vh = { 0 };
	uint16_t start, off, hl;

	if (p->first.flags & NETTXF_csum_blank) {
		if (nb_csum_offsets(p->buf + NB_VNET_HDR, p->first.size, &start,
				    &off, &hl) < 0)
			return false;
		vh.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		vh.csum_start = start;
		vh.csum_offset = off;
		vh.hdr_len = hl;
	} else if (p->first.flags & NETTXF_data_validated) {
		vh.flags = VIRTIO_NET_HDR_F_DATA_VALID;
	}
	if (p->has_gso) {
		vh.gso_type = p->gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4
				      ? VIRTIO_NET_HDR_GSO_TCPV4
				      : VIRTIO_NET_HDR_GSO_TCPV6;
		vh.gso_size = p->gso.u.gso.size;
	}
	memcpy(p->buf, &vh, sizeof(vh));
	return true;
}

static void segs_of(struct tx_pkt *p, struct xenbus_copy *segs, unsigned *n)
{
	unsigned char *to = p->buf + NB_VNET_HDR;
	unsigned i;

	p->seg0 = *n;
	for (i = 0; i < p->ndata; i++) {
		if (!p->seg[i].size)
			continue;
		segs[(*n)++] = (struct xenbus_copy){ .ref = p->seg[i].gref,
						     .offset = p->seg[i].offset,
						     .len = p->seg[i].size,
						     .local = to };
		to += p->seg[i].size;
	}
}

/* Copies, writes to the tap and answers n packets. */
static void flush(struct nb_queue *q, struct tx_pkt *pk, unsigned n,
		  struct xenbus_copy *segs, unsigned nsegs)
{
	struct xenbus_transport *t = xenbus_dev_transport(q->nd->dev);
	uint32_t domid = xenbus_dev_domid(q->nd->dev);
	bool copied = xenbus_copy(t, domid, segs, nsegs) == 0;
	unsigned i, k;
	int notify;

	for (i = 0; i < n; i++) {
		struct tx_pkt *p = &pk[i];
		size_t len = NB_VNET_HDR + p->first.size;

		if (p->status != NETIF_RSP_OKAY || p->mcast)
			goto answer;
		/* A batch that failed: find the packets that did. */
		if (!copied) {
			unsigned end = i + 1 < n ? pk[i + 1].seg0 : nsegs;

			if (xenbus_copy(t, domid, segs + p->seg0, end - p->seg0) < 0) {
				p->status = NETIF_RSP_ERROR;
				goto answer;
			}
		}
		if (!vnet_hdr(p)) {
			p->status = NETIF_RSP_ERROR;
			goto answer;
		}
		/* A full tap queue or a tap that is down drops it, as a wire
		 * would; a frame the kernel refuses is the guest's error. */
		if (write(q->tapfd, p->buf, len) < 0 && errno == EINVAL)
			p->status = NETIF_RSP_ERROR;
answer:
		for (k = 0; k < p->nslots; k++) {
			netif_tx_response_t *r =
				RING_GET_RESPONSE(&q->tx, q->tx.rsp_prod_pvt++);

			r->id = p->slot[k].id;
			r->status = p->slot[k].extra ? NETIF_RSP_NULL : p->status;
		}
	}
	RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&q->tx, notify);
	if (notify)
		xenbus_notify(q->txch);
}

void nb_tx_run(struct nb_queue *q)
{
	struct tx_pkt pk[TX_BATCH];
	struct xenbus_copy segs[TX_BATCH * NB_MAX_SLOTS];
	unsigned n, nsegs;
	size_t used;
	RING_IDX prod;
	int rc, more;

	do {
		prod = q->tx.sring->req_prod;
		xen_rmb();	/* the requests before their index */
		if (RING_REQUEST_PROD_OVERFLOW(&q->tx, prod)) {
			q->nd->broken = "tx: req_prod overruns the ring";
			return;
		}
		n = nsegs = 0;
		used = 0;
		rc = 1;
		while (n < TX_BATCH && NB_BUF - used >= NB_VNET_HDR + NB_MAX_PKT) {
			rc = take(q, prod, &pk[n]);
			if (rc <= 0)
				break;
			pk[n].buf = q->txbuf + used;
			if (pk[n].status == NETIF_RSP_OKAY && !pk[n].mcast) {
				segs_of(&pk[n], segs, &nsegs);
				used += NB_VNET_HDR + pk[n].first.size;
			}
			n++;
		}
		if (n)
			flush(q, pk, n, segs, nsegs);
		if (rc < 0 || q->waiting_credit)
			return;	/* broken, or the timer runs us again */
		if (rc > 0) {
			more = 1;	/* the batch was full */
		} else if (q->tx.req_cons != prod) {
			/* A packet not all posted yet: wake at the next push. */
			q->tx.sring->req_event = prod + 1;
			xen_mb();
			more = q->tx.sring->req_prod != prod;
		} else {
			RING_FINAL_CHECK_FOR_REQUESTS(&q->tx, more);
		}
	} while (more);
}
