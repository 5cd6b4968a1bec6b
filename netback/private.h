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
 *   pkt.c     where a frame's checksum goes (pure)
 *
 * queue.c, tx.c and rx.c run only in the worker.
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
	struct nb_conf_queue {
		uint32_t tx_ref, rx_ref, tx_port, rx_port;
	} q[NETBACK_MAX_QUEUES];
};

struct nb_dev;

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
	const char *broken;	/* a frontend broke a ring: why */
};

/* tap.c: a queue fd of the existing tap named name, with the vnet header
 * and the offloads the frontend takes (conf).  -ENODEV: no such tap. */
int nb_tap_open(const char *name, const struct nb_conf *conf, int *fd);

/* queue.c: the worker's main (xenbus_worker_args.serve). */
int nb_serve(struct xenbus_worker *w, void *arg);
/* Re-polls the tap (or stops) as rx can take packets now or not. */
void nb_tap_poll(struct nb_queue *q, bool on);

/* tx.c */
void nb_tx_run(struct nb_queue *q);
void nb_tx_on_timer(void *arg, uint32_t events);
/* rx.c */
void nb_rx_run(struct nb_queue *q);

/* pkt.c: for a frame whose L4 checksum is to be filled (the tx side's
 * csum_blank): csum_start (from the frame's start), csum_offset (within
 * L4) and the length of the headers up to the L4 payload.  IPv4 or IPv6
 * (its common extension headers), TCP or UDP, behind at most one VLAN
 * tag.  -EINVAL for anything else or a frame too short for its headers. */
int nb_csum_offsets(const unsigned char *f, size_t len, uint16_t *start,
		    uint16_t *offset, uint16_t *hdr_len);

#endif
