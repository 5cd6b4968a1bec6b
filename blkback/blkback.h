/*
 * blkback/blkback.h: Enso's block backend, the engine of device type "vbd"
 * on the xenbus core (xenbus/xenbus.h).  The one public header of
 * blkback/.
 *
 * A device's backend node names a file or block device (`params`, `mode`
 * r or w); the engine opens it at probe and serves the frontend's blkif
 * rings (xen/io/blkif.h, both the 32- and 64-bit x86 layouts) with
 * io_uring once connected.  Every request is checked before anything is
 * mapped or touched: a bad one is answered BLKIF_RSP_ERROR (or
 * EOPNOTSUPP), and a frontend that breaks the ring itself is closed.
 * See docs/design/blkback.md.
 *
 * Processes: each connected device is served by a worker process of its
 * own, forked at connect, holding only that device's rings, channels,
 * disk and io_uring, with the privileges dropped; the daemon keeps
 * xenstore and the handshake and never maps a ring.  Threads: none.  The
 * daemon's loop holds each worker's socket and pidfd.  Not thread-safe.
 * Errors: negative errno; what failed is said once, by xenbus_dev_error.
 */
#ifndef ENSO_BLKBACK_H
#define ENSO_BLKBACK_H

#include <stdint.h>

#include "xenbus/xenbus.h"

#define BLKBACK_MAX_QUEUES 4u
#define BLKBACK_MAX_RING_PAGE_ORDER 4u	/* 16 pages a ring */
#define BLKBACK_MAX_INDIRECT_SEGMENTS 256u
/* The directory the daemon serves by default, <dom0>/backend/enso-vbd/:
 * not backend/vbd/, which Linux's xen-blkback claims whenever it is
 * loaded (udev loads it on a Debian dom0), binding the frontend's event
 * channel before we could.  Frontends follow their `backend` node and do
 * not mind the name.  libxl writes the same (backends/xen/vbd.c). */
#define BLKBACK_DIR "enso-vbd"

struct blkback_stats {
	uint64_t requests;	/* answered, whatever the status */
	uint64_t errors;	/* answered BLKIF_RSP_ERROR */
	uint64_t unsupported;	/* answered BLKIF_RSP_EOPNOTSUPP */
	uint64_t broken;	/* frontends closed for breaking the ring */
};

/* The engine's data (xenbus_args.engine_data), the caller's to keep. */
struct blkback {
	/* What the engine offers, clamped to the maximums above (queues:
	 * at least 1). */
	unsigned max_queues;
	unsigned max_ring_page_order;
	/* Who a device's worker process runs as when the daemon is root
	 * (docs/design/blkback.md); NULL: "nobody".  Not root: the worker
	 * keeps the daemon's ids and takes PR_SET_NO_NEW_PRIVS only. */
	const char *user;
	/* Counted by the engine.  requests, errors and unsupported are
	 * counted in each device's worker and are not seen here; broken is
	 * the daemon's (a worker says so). */
	struct blkback_stats stats;
};

/* The "vbd" engine; pass a struct blkback as its engine_data. */
extern const struct xenbus_engine blkback_engine;

#endif
