/*
 * tests/host/net_ring.c: the tests' netif frontend and tap (net_ring.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <xenstore.h>

#include "net_ring.h"

#define PAGE 4096u

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		perror("# kick");
}

int nf_add(struct nf_dev *d, struct xbt_guest *g, unsigned devid,
	   uint32_t lo, uint32_t port0, const char *tap,
	   const char *const *extra)
{
	unsigned i;
	int rc;

	memset(d, 0, sizeof(*d));
	d->g = g;
	d->lo = lo;
	d->sock = -1;
	snprintf(d->tap, sizeof(d->tap), "%s", tap);
	for (i = 0; i < NF_MAX_QUEUES; i++) {
		struct nf_queue *q = &d->q[i];

		q->tx_ref = lo + 2 * i;
		q->rx_ref = lo + 2 * i + 1;
		q->port_tx = port0 + 2 * i;
		q->port_rx = port0 + 2 * i + 1;
		rc = xbt_channel(g, q->port_tx, &q->kick_tx, &q->note_tx);
		if (rc == 0)
			rc = xbt_channel(g, q->port_rx, &q->kick_rx, &q->note_rx);
		if (rc < 0)
			return rc;
	}
	d->ctrl_port = port0 + 2 * NF_MAX_QUEUES;
	rc = xbt_channel(g, d->ctrl_port, &d->kick_ctrl, &d->note_ctrl);
	if (rc < 0)
		return rc;
	d->ifindex = (int)if_nametoindex(tap);
	if (d->ifindex > 0) {
		struct sockaddr_ll sll = { .sll_family = AF_PACKET,
					   .sll_protocol = htons(ETH_P_ALL),
					   .sll_ifindex = d->ifindex };
		int one = 1;

		d->sock = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(ETH_P_ALL));
		if (d->sock < 0 ||
		    setsockopt(d->sock, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) < 0 ||
		    bind(d->sock, (struct sockaddr *)&sll, sizeof(sll)) < 0)
			return -errno;
	}
	return xbt_device_add("vif", g, devid, NULL, extra, d->fe, d->be);
}

void nf_connect(struct nf_dev *d, unsigned nq, bool split, unsigned feats)
{
	static const char *const chans[] = { "event-channel", "event-channel-tx",
					     "event-channel-rx" };
	char pre[24] = "", key[200];
	unsigned i, k;

	d->nq = nq;
	d->split = split;
	for (i = 0; i < nq; i++) {
		struct nf_queue *q = &d->q[i];
		netif_tx_sring_t *txs = xbt_page(d->g, q->tx_ref);
		netif_rx_sring_t *rxs = xbt_page(d->g, q->rx_ref);

		memset(txs, 0, PAGE);
		memset(rxs, 0, PAGE);
		SHARED_RING_INIT(txs);
		SHARED_RING_INIT(rxs);
		FRONT_RING_INIT(&q->tx, txs, PAGE);
		FRONT_RING_INIT(&q->rx, rxs, PAGE);
		if (nq > 1)
			snprintf(pre, sizeof(pre), "queue-%u/", i);
		/* What an earlier connect said of its channels goes. */
		for (k = 0; k < 3; k++) {
			snprintf(key, sizeof(key), "%s/%s%s", d->fe, pre, chans[k]);
			xs_rm(xbt_xs, XBT_NULL, key);
		}
		snprintf(key, sizeof(key), "%stx-ring-ref", pre);
		xbt_write(d->fe, key, "%u", q->tx_ref);
		snprintf(key, sizeof(key), "%srx-ring-ref", pre);
		xbt_write(d->fe, key, "%u", q->rx_ref);
		if (split) {
			snprintf(key, sizeof(key), "%sevent-channel-tx", pre);
			xbt_write(d->fe, key, "%u", q->port_tx);
			snprintf(key, sizeof(key), "%sevent-channel-rx", pre);
			xbt_write(d->fe, key, "%u", q->port_rx);
		} else {
			snprintf(key, sizeof(key), "%sevent-channel", pre);
			xbt_write(d->fe, key, "%u", q->port_tx);
		}
	}
	if (feats & NF_CTRL) {
		xen_netif_ctrl_sring_t *cs = xbt_page(d->g, NF_CTRLPAGE(d));

		memset(cs, 0, PAGE);
		SHARED_RING_INIT(cs);
		FRONT_RING_INIT(&d->ctrl, cs, PAGE);
		xbt_write(d->fe, "ctrl-ring-ref", "%u", NF_CTRLPAGE(d));
		xbt_write(d->fe, "event-channel-ctrl", "%u", d->ctrl_port);
	} else {
		for (k = 0; k < 2; k++) {
			snprintf(key, sizeof(key), "%s/%s", d->fe,
				 k ? "event-channel-ctrl" : "ctrl-ring-ref");
			xs_rm(xbt_xs, XBT_NULL, key);
		}
	}
	xbt_write(d->fe, "request-multicast-control", "%d", !!(feats & NF_MCAST));
	xbt_write(d->fe, "multi-queue-num-queues", "%u", nq);
	xbt_write(d->fe, "request-rx-copy", "%d", !(feats & NF_NO_RX_COPY));
	xbt_write(d->fe, "feature-rx-notify", "1");
	xbt_write(d->fe, "feature-sg", "%d", !!(feats & NF_SG));
	xbt_write(d->fe, "feature-gso-tcpv4", "%d", !!(feats & NF_GSO4));
	xbt_write(d->fe, "feature-gso-tcpv6", "%d", !!(feats & NF_GSO6));
	xbt_write(d->fe, "feature-no-csum-offload", "%d", !!(feats & NF_NO_CSUM));
	xbt_write(d->fe, "feature-ipv6-csum-offload", "1");
	xbt_write(d->fe, "state", "%d", XENBUS_INITIALISED);
}

void nf_reopen(struct nf_dev *d)
{
	xbt_reopen(d->fe, d->be);
}

/* ---- the control ring ---------------------------------------------------- */

struct count {
	RING_IDX *prod, cons;
	unsigned n;
};

static bool has(const void *arg)
{
	const struct count *c = arg;

	return __atomic_load_n(c->prod, __ATOMIC_ACQUIRE) - c->cons >= c->n;
}


uint32_t nf_ctrl(struct nf_dev *d, uint16_t type, uint32_t d0, uint32_t d1,
		 uint32_t d2, uint32_t *out)
{
	struct xen_netif_ctrl_request *r =
		RING_GET_REQUEST(&d->ctrl, d->ctrl.req_prod_pvt++);
	struct xen_netif_ctrl_response a;
	struct count c;
	uint16_t id = d->ctrl_id++;
	int notify;

	*r = (struct xen_netif_ctrl_request){ .id = id, .type = type,
					      .data = { d0, d1, d2 } };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&d->ctrl, notify);
	if (notify)
		kick(d->kick_ctrl);
	c = (struct count){ &d->ctrl.sring->rsp_prod, d->ctrl.rsp_cons, 1 };
	if (!xbt_pump(has, &c))
		return 99;
	a = *RING_GET_RESPONSE(&d->ctrl, d->ctrl.rsp_cons++);
	if (out)
		*out = a.data;
	/* An answer to another request, or of another type: not ours. */
	return a.id == id && a.type == type ? a.status : 98;
}

/* ---- tx ------------------------------------------------------------------ */

uint16_t nf_tx_slot(struct nf_dev *d, unsigned qi, uint32_t gref,
		    uint16_t offset, uint16_t flags, uint16_t size)
{
	struct nf_queue *q = &d->q[qi];
	netif_tx_request_t *r = RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++);
	uint16_t id = (uint16_t)(d->tx_id++ & 0xff);

	*r = (netif_tx_request_t){ .gref = gref, .offset = offset,
				   .flags = flags, .id = id, .size = size };
	return id;
}

void nf_tx_extra(struct nf_dev *d, unsigned qi, const struct netif_extra_info *e)
{
	struct nf_queue *q = &d->q[qi];

	memcpy(RING_GET_REQUEST(&q->tx, q->tx.req_prod_pvt++), e, sizeof(*e));
}

void nf_tx_push(struct nf_dev *d, unsigned qi)
{
	struct nf_queue *q = &d->q[qi];
	int notify;

	/* As a frontend does: a kick only when the backend asked for one. */
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->tx, notify);
	if (notify)
		kick(q->kick_tx);
}

unsigned nf_tx_ready(struct nf_dev *d, unsigned qi)
{
	struct nf_queue *q = &d->q[qi];

	return __atomic_load_n(&q->tx.sring->rsp_prod, __ATOMIC_ACQUIRE) -
	       q->tx.rsp_cons;
}

unsigned nf_tx_wait(struct nf_dev *d, unsigned qi, unsigned n, int16_t *st)
{
	struct nf_queue *q = &d->q[qi];
	struct count c = { &q->tx.sring->rsp_prod, q->tx.rsp_cons, n };
	unsigned got, i;
	int more;

	xbt_pump(has, &c);
	got = nf_tx_ready(d, qi);
	got = got < n ? got : n;
	for (i = 0; i < got; i++) {
		netif_tx_response_t *r = RING_GET_RESPONSE(&q->tx, q->tx.rsp_cons++);

		if (st)
			st[i] = r->status;
	}
	RING_FINAL_CHECK_FOR_RESPONSES(&q->tx, more);
	(void)more;
	return got;
}

static unsigned tx_page;	/* rotates: frames in flight use their own */

int nf_tx_frame(struct nf_dev *d, unsigned qi, const void *frame, size_t len,
		unsigned nslots, uint16_t flags, uint16_t gso_size)
{
	size_t piece = (len + nslots - 1) / nslots, off = 0;
	int16_t st[NF_TX_PAGES];
	unsigned i, want = nslots + (gso_size != 0), got;

	for (i = 0; i < nslots; i++) {
		uint32_t ref = NF_TXPAGE(d, tx_page++);
		size_t n = len - off < piece ? len - off : piece;
		uint16_t f = i + 1 < nslots ? NETTXF_more_data : 0;

		memcpy(xbt_page(d->g, ref), (const char *)frame + off, n);
		if (i == 0)
			f |= flags | (gso_size ? NETTXF_extra_info : 0);
		nf_tx_slot(d, qi, ref, 0, f, (uint16_t)(i == 0 ? len : n));
		if (i == 0 && gso_size) {
			struct netif_extra_info e = { .type = XEN_NETIF_EXTRA_TYPE_GSO };

			e.u.gso.size = gso_size;
			e.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
			nf_tx_extra(d, qi, &e);
		}
		off += n;
	}
	nf_tx_push(d, qi);
	got = nf_tx_wait(d, qi, want, st);
	if (got < want)
		return 99;
	for (i = 1; i < want; i++)
		if (st[i] != (i == 1 && gso_size ? NETIF_RSP_NULL : st[0]))
			return 98;
	return st[0];
}

/* ---- rx ------------------------------------------------------------------ */

static void rx_push(struct nf_dev *d, struct nf_queue *q)
{
	int notify;

	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&q->rx, notify);
	if (notify)
		kick(d->split ? q->kick_rx : q->kick_tx);
}

void nf_rx_post_ref(struct nf_dev *d, unsigned qi, uint32_t gref)
{
	struct nf_queue *q = &d->q[qi];
	RING_IDX i = q->rx.req_prod_pvt++;
	netif_rx_request_t *r = RING_GET_REQUEST(&q->rx, i);

	r->id = (uint16_t)(i & (RING_SIZE(&q->rx) - 1));
	r->gref = gref;
	rx_push(d, q);
}

void nf_rx_post(struct nf_dev *d, unsigned qi, unsigned n)
{
	struct nf_queue *q = &d->q[qi];

	while (n--) {
		RING_IDX i = q->rx.req_prod_pvt++;
		netif_rx_request_t *r = RING_GET_REQUEST(&q->rx, i);

		r->id = (uint16_t)(i & (RING_SIZE(&q->rx) - 1));
		r->gref = NF_RXPAGE(d, r->id);
	}
	rx_push(d, q);
}

unsigned nf_rx_ready(struct nf_dev *d, unsigned qi)
{
	struct nf_queue *q = &d->q[qi];

	return __atomic_load_n(&q->rx.sring->rsp_prod, __ATOMIC_ACQUIRE) -
	       q->rx.rsp_cons;
}

/* The next response, waiting for it; NULL after 5 s. */
static void *rx_next(struct nf_queue *q)
{
	struct count c = { &q->rx.sring->rsp_prod, q->rx.rsp_cons, 1 };

	if (!xbt_pump(has, &c))
		return NULL;
	return RING_GET_RESPONSE(&q->rx, q->rx.rsp_cons++);
}

bool nf_rx_get(struct nf_dev *d, unsigned qi, struct nf_rx *out)
{
	struct nf_queue *q = &d->q[qi];
	netif_rx_response_t r, *p;
	bool first = true, extra = false;
	int more;

	out->len = 0;
	out->slots = 0;
	out->error = false;
	memset(&out->gso, 0, sizeof(out->gso));
	memset(&out->hash, 0, sizeof(out->hash));
	do {
		if (extra) {
			struct netif_extra_info *e = rx_next(q);

			if (!e)
				return false;
			if (e->type == XEN_NETIF_EXTRA_TYPE_HASH)
				out->hash = *e;
			else
				out->gso = *e;
			out->slots++;
			extra = e->flags & XEN_NETIF_EXTRA_FLAG_MORE;
			/* After the extras, data follows as the first slot
			 * said. */
			r.flags = out->flags & NETRXF_more_data;
			continue;
		}
		p = rx_next(q);
		if (!p)
			return false;
		r = *p;
		out->slots++;
		if (first) {
			out->flags = r.flags;
			out->status = r.status;
			extra = r.flags & NETRXF_extra_info;
			first = false;
		}
		if (r.status < 0) {
			out->error = true;
		} else if ((unsigned)r.offset + (unsigned)r.status <= PAGE &&
			   out->len + (size_t)r.status <= sizeof(out->data)) {
			memcpy(out->data + out->len,
			       (char *)xbt_page(d->g, NF_RXPAGE(d, r.id)) + r.offset,
			       (size_t)r.status);
			out->len += (size_t)r.status;
		}
	} while (extra || (r.flags & NETRXF_more_data));
	RING_FINAL_CHECK_FOR_RESPONSES(&q->rx, more);
	(void)more;
	return true;
}

struct any {
	struct nf_dev *d;
};

static bool any_ready(const void *arg)
{
	const struct any *a = arg;
	unsigned i;

	for (i = 0; i < a->d->nq; i++)
		if (nf_rx_ready(a->d, i))
			return true;
	return false;
}

bool nf_rx_get_any(struct nf_dev *d, unsigned *qi, struct nf_rx *out)
{
	struct any a = { d };
	unsigned i;

	if (!xbt_pump(any_ready, &a))
		return false;
	for (i = 0; i < d->nq; i++)
		if (nf_rx_ready(d, i)) {
			*qi = i;
			return nf_rx_get(d, i, out);
		}
	return false;
}

/* ---- the host side ------------------------------------------------------- */

static int tap_fd(const char *name)
{
	struct ifreq ifr = { 0 };
	int fd = open("/dev/net/tun", O_RDWR | O_CLOEXEC);

	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR | IFF_MULTI_QUEUE;
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		int rc = -errno;

		close(fd);
		return rc;
	}
	return fd;
}

int nf_tap_make(const char *name, unsigned mtu)
{
	struct ifreq ifr = { 0 };
	int fd = tap_fd(name), s, rc = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, TUNSETPERSIST, 1) < 0)
		rc = -errno;
	close(fd);
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	ifr.ifr_mtu = (int)mtu;
	if (rc == 0 && ioctl(s, SIOCSIFMTU, &ifr) < 0)
		rc = -errno;
	if (rc == 0 && ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		rc = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (rc == 0 && ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		rc = -errno;
	close(s);
	return rc;
}

int nf_tap_delete(const char *name)
{
	int fd = tap_fd(name), rc = 0;

	if (fd < 0)
		return fd;
	if (ioctl(fd, TUNSETPERSIST, 0) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

ssize_t nf_tap_recv(struct nf_dev *d, struct virtio_net_hdr *vh, void *buf,
		    size_t room, int ms)
{
	struct pollfd p = { .fd = d->sock, .events = POLLIN };

	for (;;) {
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct iovec iov[2] = { { vh, sizeof(*vh) }, { buf, room } };
		struct msghdr m = { .msg_name = &from, .msg_namelen = fl,
				    .msg_iov = iov, .msg_iovlen = 2 };
		ssize_t n;

		/* The worker writes from its own process: run the daemon's
		 * loop meanwhile, as a frontend waiting would. */
		evloop_run_once(xbt_loop, 0);
		if (poll(&p, 1, ms) != 1)
			return -ETIMEDOUT;
		n = recvmsg(d->sock, &m, MSG_DONTWAIT);
		if (n < 0)
			return -errno;
		if (from.sll_pkttype == PACKET_OUTGOING)
			continue;	/* ours, toward the guest */
		return n - (ssize_t)sizeof(*vh);
	}
}

int nf_tap_send(struct nf_dev *d, const struct virtio_net_hdr *vh,
		const void *frame, size_t len)
{
	struct sockaddr_ll to = { .sll_family = AF_PACKET,
				  .sll_protocol = htons(ETH_P_ALL),
				  .sll_ifindex = d->ifindex };
	struct iovec iov[2] = { { (void *)vh, sizeof(*vh) },
				{ (void *)frame, len } };
	struct msghdr m = { .msg_name = &to, .msg_namelen = sizeof(to),
			    .msg_iov = iov, .msg_iovlen = 2 };

	return sendmsg(d->sock, &m, 0) < 0 ? -errno : 0;
}

/* ---- frames -------------------------------------------------------------- */

static size_t l2l3(unsigned char *f, size_t l4len, uint8_t proto)
{
	static const unsigned char eth[14] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					       0x00, 0x16, 0x3e, 0, 0, 1, 0x08, 0 };
	uint16_t tot = htons((uint16_t)(20 + l4len));
	uint32_t sum = 0;
	unsigned i;

	memcpy(f, eth, 14);
	memset(f + 14, 0, 20);
	f[14] = 0x45;
	memcpy(f + 16, &tot, 2);
	f[20] = 0x40;	/* DF */
	f[22] = 64;
	f[23] = proto;
	memcpy(f + 26, (unsigned char[]){ 10, 0, 0, 1, 10, 0, 0, 2 }, 8);
	for (i = 0; i < 20; i += 2)
		sum += (uint32_t)f[14 + i] << 8 | f[15 + i];
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	f[24] = (uint8_t)(~sum >> 8);
	f[25] = (uint8_t)~sum;
	return 34;
}

static void payload(unsigned char *p, size_t n, uint32_t seq)
{
	size_t i;

	for (i = 0; i < n; i++)
		p[i] = (unsigned char)(seq * 7 + i * 13 + (i >> 8));
}

size_t nf_udp4(unsigned char *f, size_t n, uint32_t seq)
{
	size_t l4 = l2l3(f, 8 + n, 17);
	uint16_t v;

	v = htons((uint16_t)(1024 + (seq & 0x3ff)));
	memcpy(f + l4, &v, 2);
	v = htons(9);
	memcpy(f + l4 + 2, &v, 2);
	v = htons((uint16_t)(8 + n));
	memcpy(f + l4 + 4, &v, 2);
	memset(f + l4 + 6, 0, 2);
	payload(f + l4 + 8, n, seq);
	return l4 + 8 + n;
}

size_t nf_tcp4(unsigned char *f, size_t n, uint32_t seq)
{
	size_t l4 = l2l3(f, 20 + n, 6);
	uint16_t v;

	memset(f + l4, 0, 20);
	v = htons((uint16_t)(1024 + (seq & 0x3ff)));
	memcpy(f + l4, &v, 2);
	v = htons(80);
	memcpy(f + l4 + 2, &v, 2);
	f[l4 + 12] = 5 << 4;
	f[l4 + 13] = 0x18;	/* ACK, PSH */
	f[l4 + 14] = 0xff;
	payload(f + l4 + 20, n, seq);
	return l4 + 20 + n;
}
