/*
 * blkback/private.h: what the files of blkback/ share.  Not public: the
 * daemon and the tests see blkback/blkback.h (the unit test of the
 * request checks reads this too).
 *
 *   abi.c     the ring's two layouts -> struct blk_req, responses back
 *   check.c   is a request one this disk may serve (pure)
 *   disk.c    params/mode -> an open file or block device, its size
 *   io.c      io_uring, its eventfd in the daemon's loop
 *   ring.c    a queue: its shared ring, event channel, slots, responses
 *   req.c     one request: segments, grant maps, I/O submitted and done
 *   pgrant.c  a queue's persistent grants: pages mapped once, kept
 *   engine.c  probe, connect, disconnect, remove (xenbus/xenbus.h): the
 *             daemon's side, xenstore and the handshake
 *   worker.c  the device's process (xenbus_worker_start): forked at
 *             connect, holds the rings
 *
 * io.c, ring.c and req.c run only in the worker.
 */
#ifndef ENSO_BLKBACK_PRIVATE_H
#define ENSO_BLKBACK_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include <liburing.h>

#include "enso-util.h"
#include "blkback/abi.h"
#include "blkback/blkback.h"

/* What a request is judged against. */
struct blk_limits {
	uint64_t sectors;	/* the disk, in 512-byte sectors */
	bool readonly;
	bool discard;		/* offered: feature-discard */
	unsigned max_segments;	/* indirect: feature-max-indirect-segments */
};

/* ---- check.c ------------------------------------------------------------
 * Each returns BLKIF_RSP_OKAY, or the status to answer with and in *why a
 * constant string saying what was wrong. */
int blk_check_req(const struct blk_req *r, const struct blk_limits *lim,
		  const char **why);
/* The segments of a READ/WRITE (direct or from the indirect pages): each
 * inside its page, first <= last, and the whole inside the disk; *sectors
 * is their sum. */
int blk_check_segs(uint64_t sector, const struct blkif_request_segment *seg,
		   unsigned n, const struct blk_limits *lim, uint64_t *sectors,
		   const char **why);
/* Indirect pages that hold nr_segments segments. */
unsigned blk_indirect_pages(unsigned nr_segments);

/* What the daemon read of the frontend, for the worker to map and bind
 * (it reaches the worker through the fork: xenbus_worker_start). */
struct blk_conn {
	uint32_t abi;		/* enum blk_abi */
	uint32_t nq, order;
	uint32_t refs[BLKBACK_MAX_QUEUES][1u << BLKBACK_MAX_RING_PAGE_ORDER];
	uint32_t ports[BLKBACK_MAX_QUEUES];
	uint32_t persistent;	/* the frontend said feature-persistent */
};

/* ---- disk.c ------------------------------------------------------------- */
struct blk_disk {
	int fd;
	struct blk_limits lim;
	bool direct;		/* opened O_DIRECT */
	bool cdrom, removable;
	unsigned physical_sector_size;
	unsigned discard_granularity;
};

/* Reads the backend's params, mode, device-type, removable and
 * discard-enable, opens the file or block device and sizes it.  Says why
 * it fails (xenbus_dev_error). */
int blk_disk_open(struct xenbus_dev *dev, struct blk_disk *d);
void blk_disk_close(struct blk_disk *d);

/* ---- io.c ---------------------------------------------------------------- */
struct blk_io {
	struct io_uring ring;
	int efd;		/* io_uring's eventfd: readable on completions */
	bool open;
	unsigned outstanding;	/* submitted, not yet completed */
	unsigned queued;	/* prepared, not yet submitted */
};

typedef void blk_io_done_fn(void *data, int res);

int blk_io_open(struct blk_io *io, unsigned entries);
/* Waits for what is outstanding (grants stay mapped until the kernel is
 * done with them), then closes.  Safe on a closed one. */
void blk_io_close(struct blk_io *io, blk_io_done_fn *done);
/* n free submission entries (for a linked chain, all in one
 * submission); submits what is queued to make room.  -EBUSY if none. */
int blk_io_get(struct blk_io *io, struct io_uring_sqe **sqe, unsigned n);
int blk_io_submit(struct blk_io *io);
/* Takes the eventfd's count and calls done(user_data, res) for every
 * completion there is. */
void blk_io_reap(struct blk_io *io, blk_io_done_fn *done);
/* The completions there are now, without the eventfd (its count is
 * taken at the loop's next turn, which then finds none): what the kernel
 * finished during the submission itself (data in the page cache) is
 * answered at once, not a loop turn later.  The number taken. */
unsigned blk_io_reap_now(struct blk_io *io, blk_io_done_fn *done);
/* Waits until nothing is outstanding, calling done for each. */
void blk_io_drain(struct blk_io *io, blk_io_done_fn *done);

/* ---- the device and its queues ------------------------------------------ */
struct blk_dev;
struct blk_queue;

/* One request in flight: a ring slot's worth of state. */
struct blk_slot {
	struct blk_queue *q;
	struct blk_slot *next_free;
	uint64_t id;
	uint8_t op;
	int16_t status;
	unsigned pending;	/* completions still to come */
	size_t bytes;		/* what the read or write must move */
	void *map;		/* the data pages, mapped */
	uint32_t nmap;
	struct iovec *iov;	/* per request, freed when done */
};

/* pgrant.c: the persistent grants of a queue. */
#define BLK_PGRANT_MAX 1056u
struct blk_pgrants {
	struct blk_pgrant {
		uint32_t gref;
		void *page;	/* NULL: a free entry */
	} *e;
	unsigned n, cap;
};

struct blk_queue {
	struct blk_dev *bd;
	unsigned idx;
	void *sring;		/* the shared ring, mapped */
	unsigned pages;
	blkif_back_ring_t ring;	/* indexes only: nr_ents is the ABI's */
	struct xenbus_evtchn *ch;
	struct blk_slot *slots, *free;
	unsigned inflight;
	bool barrier;		/* a barrier runs: take no more */
	bool waiting;		/* a barrier waits for those in flight */
	bool dirty;		/* responses written, not yet pushed */
	struct blk_pgrants pgrants;	/* used when bd->persistent */
};

struct blk_dev {
	struct xenbus_dev *dev;	/* the worker reads it, never the store */
	struct blkback *bb;
	struct blk_disk disk;
	/* The daemon's handle on the worker (NULL: none), and what it
	 * starts it with. */
	struct xenbus_worker *w;
	struct xenbus_worker_args wargs;
	struct blk_conn conn;
	char name[16];		/* the worker's: vbd.<domid>.<devid> */
	/* The worker's side: its own loop and its handle. */
	struct evloop *loop;
	struct xenbus_worker *self;
	enum blk_abi abi;
	bool persistent;	/* data pages through the queues' pgrants */
	struct blk_io io;
	struct blk_queue *q;
	unsigned nq;
	/* A frontend broke the ring protocol: close once the callback that
	 * found it unwinds (what: why). */
	const char *broken;
};

/* worker.c, the daemon's side: starts the device's worker
 * (xenbus_worker_start) with bd->conn; it maps, binds, opens its io_uring
 * and serves.  Says why it fails (xenbus_dev_error). */
int blk_worker_start(struct blk_dev *bd);
/* Stops and reaps the worker (xenbus_worker_stop).  Safe with none. */
void blk_worker_stop(struct blk_dev *bd);
/* The worker's side: the first failure's text for the daemon; rc back. */
int blk_say(struct blk_dev *bd, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ring.c */
int blk_queue_start(struct blk_dev *bd, struct blk_queue *q,
		    const uint32_t *refs, unsigned pages, uint32_t port);
/* After blk_io_drain: nothing of the queue is in flight. */
void blk_queue_stop(struct blk_queue *q);
/* Takes what requests there are, until the ring is empty or full. */
void blk_queue_run(struct blk_queue *q);
/* Answers one request (slot's id and op) and frees the slot. */
void blk_queue_respond(struct blk_slot *s);
/* Publishes the responses written and notifies the frontend. */
void blk_queue_push(struct blk_queue *q);
/* Completions of the device's io_uring (the loop's callback). */
void blk_dev_on_io(void *arg, uint32_t events);
/* Closes the device if a callback found its frontend broken. */
bool blk_dev_check_broken(struct blk_dev *bd);

/* req.c: starts one request in slot s (the slot is the request's until
 * blk_queue_respond); answers at once one that fails its checks. */
void blk_req_start(struct blk_queue *q, const struct blk_req *r,
		   struct blk_slot *s);
/* One completion of the io_uring (data: the slot). */
void blk_req_io_done(void *data, int res);

/* pgrant.c: the page of gref, mapped now or at an earlier request.
 * -ENOSPC: the table is full (map it for this request only); -EFAULT: it
 * does not map writable; -ENOMEM. */
int blk_pgrant_get(struct blk_queue *q, uint32_t gref, void **page);
/* Unmaps every page; the table is empty again. */
void blk_pgrant_clear(struct blk_queue *q);

#endif
