/*
 * tests/host/net_ring.h: a netif frontend of the tests' own over the shm
 * transport (xbtest.h), and the host side of its tap: the test makes the
 * tap itself (as the toolstack would: persistent, multi-queue, vnet
 * header) in a network namespace of its own, and watches and feeds it
 * through an AF_PACKET socket with PACKET_VNET_HDR.
 */
#ifndef ENSO_TESTS_NET_RING_H
#define ENSO_TESTS_NET_RING_H

#include <linux/virtio_net.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "xbtest.h"
#include <xen/io/netif.h>

#define NF_MAX_QUEUES 2
#define NF_TX_PAGES 64
#define NF_RX_PAGES 64
#define NF_SPAN (8 + NF_TX_PAGES + NF_RX_PAGES)	/* guest pages a vif */
/* The control ring's page, and two for what its requests grant. */
#define NF_CTRLPAGE(d) ((d)->lo + 4)
#define NF_KEYPAGE(d) ((d)->lo + 5)
#define NF_MAPPAGE(d) ((d)->lo + 6)

/* A queue: its rings (pages lo + 2qi, + 1), its channel or the pair. */
struct nf_queue {
	netif_tx_front_ring_t tx;
	netif_rx_front_ring_t rx;
	uint32_t tx_ref, rx_ref;
	uint32_t port_tx, port_rx;	/* the same unless split */
	int kick_tx, note_tx, kick_rx, note_rx;
};

struct nf_dev {
	struct xbt_guest *g;
	char fe[128], be[128];
	uint32_t lo;
	unsigned nq;
	bool split;
	struct nf_queue q[NF_MAX_QUEUES];
	unsigned tx_id;
	/* The control ring (NF_CTRL): its channel is port0 + 2 * NF_MAX_QUEUES. */
	xen_netif_ctrl_front_ring_t ctrl;
	uint32_t ctrl_port;
	int kick_ctrl, note_ctrl;
	uint16_t ctrl_id;
	/* The tap's side. */
	char tap[16];
	int ifindex, sock;
};

#define NF_TXPAGE(d, i) ((d)->lo + 8 + (i) % NF_TX_PAGES)
#define NF_RXPAGE(d, i) ((d)->lo + 8 + NF_TX_PAGES + (i) % NF_RX_PAGES)

/* What the frontend says at connect. */
enum {
	NF_SG = 1, NF_GSO4 = 2, NF_GSO6 = 4, NF_NO_CSUM = 8, NF_NO_RX_COPY = 16,
	NF_CTRL = 32,		/* a control ring */
	NF_MCAST = 64,		/* request-multicast-control */
	NF_ALL = NF_SG | NF_GSO4 | NF_GSO6,
};

/* The tap (made first, as the toolstack does), the toolstack's nodes
 * (extra: key, value pairs of the backend) and the channels: port0 + 2qi
 * (tx, or both), port0 + 2qi + 1 (rx when split). */
int nf_add(struct nf_dev *d, struct xbt_guest *g, unsigned devid,
	   uint32_t lo, uint32_t port0, const char *tap,
	   const char *const *extra);
/* Fresh rings, the frontend's nodes, Initialised. */
void nf_connect(struct nf_dev *d, unsigned nq, bool split, unsigned feats);
/* Frontend Closing, Closed, Initialising: the backend back in InitWait. */
void nf_reopen(struct nf_dev *d);

/* ---- the control ring ---- */
/* One request (type, data[0..2]) published, kicked and answered: the
 * status (99 without an answer in 5 s), the answer's data in *out (may
 * be NULL). */
uint32_t nf_ctrl(struct nf_dev *d, uint16_t type, uint32_t d0, uint32_t d1,
		 uint32_t d2, uint32_t *out);

/* ---- tx ---- */
/* One slot, not yet published; its id. */
uint16_t nf_tx_slot(struct nf_dev *d, unsigned qi, uint32_t gref,
		    uint16_t offset, uint16_t flags, uint16_t size);
void nf_tx_extra(struct nf_dev *d, unsigned qi, const struct netif_extra_info *e);
void nf_tx_push(struct nf_dev *d, unsigned qi);
/* Waits for n responses (running the backend); their statuses in st
 * (may be NULL).  The number that came. */
unsigned nf_tx_wait(struct nf_dev *d, unsigned qi, unsigned n, int16_t *st);
/* Responses there are now, without waiting. */
unsigned nf_tx_ready(struct nf_dev *d, unsigned qi);
/* A frame laid out over nslots slots (tx pages), with flags on the first
 * slot and a GSO extra when gso_size; published and answered: the first
 * slot's status, 99 without an answer, 98 if the slots disagree. */
int nf_tx_frame(struct nf_dev *d, unsigned qi, const void *frame, size_t len,
		unsigned nslots, uint16_t flags, uint16_t gso_size);

/* ---- rx ---- */
/* Posts n buffers (rx pages), or one of gref; publishes and kicks. */
void nf_rx_post(struct nf_dev *d, unsigned qi, unsigned n);
void nf_rx_post_ref(struct nf_dev *d, unsigned qi, uint32_t gref);
struct nf_rx {
	unsigned char data[65536];
	size_t len;
	unsigned slots;
	uint16_t flags;		/* the first slot's */
	int16_t status;		/* the first slot's */
	bool error;		/* a slot said ERROR */
	struct netif_extra_info gso;	/* type 0: none */
	struct netif_extra_info hash;	/* type 0: none */
};
/* Waits for one whole packet on any queue: false after 5 s; its queue. */
bool nf_rx_get_any(struct nf_dev *d, unsigned *qi, struct nf_rx *out);
/* Waits for one whole packet; false after 5 s. */
bool nf_rx_get(struct nf_dev *d, unsigned qi, struct nf_rx *out);
/* Responses there are now, without waiting. */
unsigned nf_rx_ready(struct nf_dev *d, unsigned qi);

/* ---- the host side ---- */
/* A persistent multi-queue vnet-header tap, up, with this MTU. */
int nf_tap_make(const char *name, unsigned mtu);
int nf_tap_delete(const char *name);
/* The next frame the tap took in (not one we sent), up to ms. */
ssize_t nf_tap_recv(struct nf_dev *d, struct virtio_net_hdr *vh, void *buf,
		    size_t room, int ms);
/* Sends a frame out of the tap, toward the guest. */
int nf_tap_send(struct nf_dev *d, const struct virtio_net_hdr *vh,
		const void *frame, size_t len);

/* Frames: Ethernet + IPv4 + UDP (or TCP), payload from seq. */
size_t nf_udp4(unsigned char *f, size_t payload, uint32_t seq);
size_t nf_tcp4(unsigned char *f, size_t payload, uint32_t seq);

/* net_front.c: a small frame through d, seen on its tap (a check). */
void nf_check_passes(struct nf_dev *d, const char *name);
/* net_ctrl.c: the control ring, hashing and multicast on a (two queues),
 * the hostile control rings; b the other vif that must pass after each. */
void nf_ctrl_tests(struct nf_dev *a, struct nf_dev *b);
/* net_hostile.c: every hostile frontend on a, each followed by traffic
 * on b; c names a tap that does not exist. */
void nf_hostile(struct nf_dev *a, struct nf_dev *b, struct nf_dev *c);

#endif
