/*
 * netback/netback.h: Enso's network backend, the engine of device type
 * "vif" on the xenbus core (xenbus/xenbus.h).  The one public header of
 * netback/.
 *
 * A vif's frontend (xen-netfront) gives a transmit and a receive ring per
 * queue (xen/io/netif.h); the engine moves its packets to and from a tap
 * the toolstack made before it wrote the vif's nodes (persistent,
 * IFF_TAP|IFF_NO_PI|IFF_VNET_HDR|IFF_MULTI_QUEUE, named by the backend's
 * `vifname`, else vif<domid>.<handle>).  netback never creates, plumbs or
 * deletes a tap: it attaches one queue fd per ring pair at connect.
 *
 * Processes: each connected vif is served by a worker process of its own
 * (xenbus_worker_start), holding that vif's rings, channels and tap fds,
 * unprivileged and under a seccomp filter; the daemon keeps xenstore and
 * the handshake.  Threads: none.  Not thread-safe.  Errors: negative
 * errno; what failed is said once, by xenbus_dev_error.
 * See docs/design/netback.md.
 */
#ifndef ENSO_NETBACK_H
#define ENSO_NETBACK_H

#include <stdint.h>

#include "xenbus/xenbus.h"

#define NETBACK_MAX_QUEUES 8u
/* The directory the daemon serves by default, <dom0>/backend/enso-vif/:
 * Linux's xen-netback, udev-loaded on a Debian dom0, claims every
 * backend/vif/ device.  Frontends follow their `backend` node. */
#define NETBACK_DIR "enso-vif"

struct netback_stats {
	uint64_t broken;	/* frontends closed for breaking a ring */
};

/* The engine's data (xenbus_args.engine_data), the caller's to keep. */
struct netback {
	/* multi-queue-max-queues, 1..NETBACK_MAX_QUEUES (0: 1). */
	unsigned max_queues;
	/* Who a vif's worker runs as when the daemon is root; NULL:
	 * "nobody". */
	const char *user;
	struct netback_stats stats;
};

/* The "vif" engine; pass a struct netback as its engine_data. */
extern const struct xenbus_engine netback_engine;

#endif
