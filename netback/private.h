/*
 * netback/private.h: what the files of netback/ share.  Not public: the
 * daemon and the tests see netback/netback.h.
 *
 *   engine.c  probe, connect, disconnect, remove: the daemon's side,
 *             xenstore, the handshake and the tap's fds
 *   tap.c     one queue fd on the existing tap, its offloads
 *   queue.c   the worker: its loop, each queue's rings and channels
 *   tx.c      guest -> tap: slots to packets, grant copy, rate credit
 *   rx.c      tap -> guest: packets into the posted buffers
 *   ctrl.c    the control ring: the frontend's hash settings
 *   hash.c    Toeplitz, and the queue a hash picks (pure)
 *   mcast.c   the frontend's multicast filter (pure)
 *   pkt.c     where a frame's headers and checksum are (pure)
 *
 * queue.c, ctrl.c, tx.c and rx.c run only in the worker.
 */
#ifndef ENSO_NETBACK_PRIVATE_H
#define ENSO_NETBACK_PRIVATE_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <xen/io/netif.h>

#include "enso-util.h"
#include "netback/netback.h"

/* A packet's slots: more than this is answered ERROR; more than
 * NB_FATAL_SLOTS closes the vif (no frontend builds such a chain). */
#define NB_MAX_SLOTS XEN_NETIF_NR_SLOTS_MIN
#define NB_FATAL_SLOTS (NB_MAX_SLOTS + 2)
#define NB_MAX_EXTRAS (XEN_NETIF_EXTRA_TYPE_MAX - 1)
#define NB_VNET_HDR 10u		/* struct virtio_net_hdr */
#define NB_MAX_PKT 65535u	/* XEN_NETIF_MAX_TX_SIZE; a tap read too */
#define NB_BUF (4u * (NB_VNET_HDR + NB_MAX_PKT + 1))	/* a batch's bytes */

/* What the daemon read at connect; the worker gets it through the fork. */
struct nb_conf {
	unsigned nq;
	bool split;		/* event-channel-tx / -rx */
	bool sg, gso4, gso6, csum;	/* what the frontend takes on rx */
	uint64_t rate_bytes, rate_usecs;	/* 0: no limit */
	bool ctrl;		/* a control ring: ctrl-ring-ref, event-channel-ctrl */
	uint32_t ctrl_ref, ctrl_port;
	bool mcast_ctrl;	/* request-multicast-control: at connect, then
				 * as the daemon says (the worker's copy) */
	struct nb_conf_queue {
		uint32_t tx_ref, rx_ref, tx_port, rx_port;
	} q[NETBACK_MAX_QUEUES];
};

struct nb_dev;

/* The frontend's hash, set on the control ring (ctrl.c).  The key's
 * limit is the RSS key's 40 octets, which netif.h leaves to the backend:
 * enough for the longest input (IPv6 with TCP ports, 36 octets, needs
 * 36 + 4).  The table's, as Linux's netback: 128 entries. */
#define NB_HASH_KEY_MAX 40u
#define NB_HASH_MAP_MAX 128u
struct nb_hash {
	uint32_t alg;		/* XEN_NETIF_CTRL_HASH_ALGORITHM_* */
	uint32_t flags;		/* XEN_NETIF_CTRL_HASH_TYPE_* */
	uint32_t keylen, size;	/* size: the table's; 0: hash % queues */
	uint8_t key[NB_HASH_KEY_MAX];
	uint32_t map[NB_HASH_MAP_MAX];	/* each below the number of queues */
};

/* The frontend's multicast filter (mcast.c). */
#define NB_MCAST_MAX 64u
struct nb_mcast {
	uint8_t addr[NB_MCAST_MAX][6];
	unsigned n;
	bool overflow;		/* one more than fits was added: pass all */
};

/* One slot of a packet taken off the tx ring: whom to answer. */
struct nb_txslot {
	uint16_t id;
	int16_t status;
};

struct nb_queue {
	struct nb_dev *nd;
	unsigned idx;
	int tapfd;
	void *txs, *rxs;	/* the shared rings, mapped */
	netif_tx_back_ring_t tx;
	netif_rx_back_ring_t rx;
	struct xenbus_evtchn *txch, *rxch;	/* rxch: split channels only */
	/* tx */
	int timerfd;
	uint64_t credit;	/* bytes left in this window */
	long long window_end;	/* ms, monotonic: the next replenish */
	bool waiting_credit;
	unsigned char *txbuf;
	/* rx */
	unsigned char *rxbuf;
	size_t pending;		/* a packet read, waiting for buffers: its
				 * length with the vnet header, at rxbuf */
	bool tap_polled;
};

struct nb_dev {
	struct xenbus_dev *dev;
	struct netback *nb;
	char tap[IFNAMSIZ];
	char name[16];		/* the worker's comm: vif.<domid>.<devid> */
	struct nb_conf conf;
	int tapfd[NETBACK_MAX_QUEUES];
	struct xenbus_worker *w;	/* the daemon's handle */
	struct xenbus_worker_args wargs;
	/* The worker's side. */
	struct xenbus_worker *self;
	struct evloop *loop;
	struct nb_queue q[NETBACK_MAX_QUEUES];
	void *ctrls;		/* the control ring, mapped (conf.ctrl) */
	xen_netif_ctrl_back_ring_t ctrl;
	struct xenbus_evtchn *ctrlch;
	struct nb_hash hash;
	struct nb_mcast mcast;
	const char *broken;	/* a frontend broke a ring: why */
};

/* tap.c: a queue fd of the existing tap named name, with the vnet header
 * and the offloads the frontend takes (conf).  -ENODEV: no such tap. */
int nb_tap_open(const char *name, const struct nb_conf *conf, int *fd);

/* queue.c: the worker's main (xenbus_worker_args.serve). */
int nb_serve(struct xenbus_worker *w, void *arg);
/* A callback found a ring broken (nd->broken): tells the daemon, stops
 * serving; true if so. */
bool nb_check_broken(struct nb_dev *nd);
/* Re-polls the tap (or stops) as rx can take packets now or not. */
void nb_tap_poll(struct nb_queue *q, bool on);

/* ctrl.c: maps and binds the control ring when conf.ctrl (else 0), in
 * the worker; first serves what was queued before; stop undoes start
 * (after a failed one too). */
int nb_ctrl_start(struct nb_dev *nd);
void nb_ctrl_first(struct nb_dev *nd);
void nb_ctrl_stop(struct nb_dev *nd);

/* hash.c: Toeplitz over buf (netif.h "Hash algorithms"), the key zero
 * past keylen. */
uint32_t nb_toeplitz(const uint8_t *key, size_t keylen, const uint8_t *buf,
		     size_t len);
/* The hash of frame f as h says (netif.h "Hash types", the maximal type
 * its flags allow): 0, the value, and its type (_XEN_NETIF_CTRL_HASH_TYPE_*,
 * the bit number, as the rx extra carries it); -ENOENT when h hashes
 * nothing of f (no algorithm, not IP, a type not asked for). */
int nb_hash_frame(const struct nb_hash *h, const unsigned char *f, size_t len,
		  uint32_t *value, uint8_t *type);
/* The queue a hash picks: through the table, else modulo nq. */
unsigned nb_hash_queue(const struct nb_hash *h, uint32_t value, unsigned nq);

/* mcast.c: add and delete are idempotent; pass: whether a frame (at
 * least 14 bytes) toward the guest gets through the filter. */
void nb_mcast_add(struct nb_mcast *m, const uint8_t *addr);
void nb_mcast_del(struct nb_mcast *m, const uint8_t *addr);
bool nb_mcast_pass(const struct nb_mcast *m, const unsigned char *frame);

/* tx.c */
void nb_tx_run(struct nb_queue *q);
void nb_tx_on_timer(void *arg, uint32_t events);
/* rx.c */
void nb_rx_run(struct nb_queue *q);

/* pkt.c: where a frame's IP header (l3) and what follows it (l4) start,
 * behind at most one VLAN tag, past IPv6's common extension headers;
 * proto 0 for a fragment (no L4 header of its own).  -EINVAL: not IPv4
 * or IPv6, or too short for its headers (l4's own length unchecked). */
#define NB_IPPROTO_TCP 6u
#define NB_IPPROTO_UDP 17u
struct nb_l4 {
	size_t l3, l4;
	unsigned proto;
	bool v6;
};
int nb_frame_l4(const unsigned char *f, size_t len, struct nb_l4 *out);
/* pkt.c: for a frame whose L4 checksum is to be filled (the tx side's
 * csum_blank): csum_start (from the frame's start), csum_offset (within
 * L4) and the length of the headers up to the L4 payload.  IPv4 or IPv6
 * (its common extension headers), TCP or UDP, behind at most one VLAN
 * tag.  -EINVAL for anything else or a frame too short for its headers. */
int nb_csum_offsets(const unsigned char *f, size_t len, uint16_t *start,
		    uint16_t *offset, uint16_t *hdr_len);

#endif
