/*
 * xenbus/private.h: what the files of xenbus/ share.  Not for engines:
 * they see xenbus.h only.
 */
#ifndef ENSO_XENBUS_PRIVATE_H
#define ENSO_XENBUS_PRIVATE_H

#include <stdbool.h>
#include <stdint.h>

#include "enso-util.h"
#include "xenbus/xenbus.h"

/* ---- the state machine (state.c), pure ---------------------------------- */

enum xenbus_act {
	XB_ACT_NONE,		/* nothing to do but maybe a new state */
	XB_ACT_CONNECT,		/* engine connect; Connected, or Closed */
	XB_ACT_DISCONNECT,	/* engine disconnect, then the new state */
	XB_ACT_REJECT,		/* the frontend's state is not one we serve */
};

struct xenbus_step {
	enum xenbus_act act;
	int next;		/* the backend's state after the act */
	bool via_closing;	/* write Closing before next (Closed) */
};

/* Frontend state as read: a protocol value, or XB_FE_ABSENT (no node),
 * or XB_FE_GARBAGE (not a number of the protocol). */
#define XB_FE_ABSENT (-1)
#define XB_FE_GARBAGE (-2)

/* Parses a state node's text; XB_FE_GARBAGE unless a whole number 0..8. */
int xenbus_parse_state(const char *text);
/* What the backend in state be (connected: the engine holds the
 * frontend's rings) does when the frontend is in fe. */
struct xenbus_step xenbus_next(int be, bool connected, int fe);

/* ---- the core's records (core.c, dev.c) ---------------------------------- */

struct xenbus {
	struct xs_handle *xs;
	struct evloop *loop;
	struct xenbus_transport *transport;
	const struct xenbus_engine *engine;
	void *engine_data;
	char *base;		/* <root>/backend/<type> */
	struct hmap devs;	/* by "<domid>/<devid>" */
	bool watching;
};

struct xenbus_dev {
	struct xenbus *xb;
	char *key;		/* "<domid>/<devid>": the hmap key, the token */
	char *id;		/* "<devid>" */
	char *be_path, *fe_path;
	uint32_t domid;
	int state;		/* what we last wrote to be_path/state */
	bool probed, connected;
	bool dead;		/* refused for good: wait for removal */
	bool fe_watched;
	bool fe_key_watched;	/* the engine's fe_watch */
	bool error_said;	/* xenbus_dev_error ran in this operation */
	void *priv;
};

/* dev.c */
int xenbus_dev_set_state(struct xenbus_dev *dev, int state);
/* Checks the backend's `frontend` and `frontend-id` against its domid;
 * says what is wrong (xenbus_dev_error) and returns -EINVAL. */
int xenbus_dev_check_frontend(struct xenbus_dev *dev, const char *fe);

/* ---- transports (transport.c, shm.c, xen.c) ------------------------------ */

struct xenbus_transport_ops {
	const char *name;
	int (*map)(struct xenbus_transport *t, uint32_t domid,
		   const uint32_t *refs, uint32_t count, bool writable,
		   void **addr);
	int (*unmap)(struct xenbus_transport *t, void *addr, uint32_t count);
	int (*copy)(struct xenbus_transport *t, uint32_t domid,
		    const struct xenbus_copy *segs, uint32_t count);
	int (*bind)(struct xenbus_transport *t, uint32_t domid,
		    uint32_t remote_port, struct xenbus_evtchn **out);
	void (*unbind)(struct xenbus_evtchn *ch);
	int (*fd)(const struct xenbus_evtchn *ch);
	int (*ack)(struct xenbus_evtchn *ch);
	int (*notify)(struct xenbus_evtchn *ch);
	/* Frames (xenbus_map_frame): NULL where there are none (shm). */
	int (*frames_open)(struct xenbus_transport *t);
	int (*map_frame)(struct xenbus_transport *t, uint32_t domid,
			 uint64_t frame, bool writable, void **addr);
	int (*unmap_frame)(struct xenbus_transport *t, void *addr);
	void (*close)(struct xenbus_transport *t);
	/* In a forked worker: keep only domid's, close the rest (keep's
	 * fds stay), reopen what is not usable across fork. */
	int (*worker)(struct xenbus_transport *t, uint32_t domid,
		      const int *keep, unsigned nkeep);
};

/* Each implementation embeds these first. */
struct xenbus_transport {
	const struct xenbus_transport_ops *ops;
};
struct xenbus_evtchn {
	struct xenbus_transport *t;
};

extern const struct xenbus_transport_ops xenbus_shm_ops;

/* transport.c: allocates an implementation's struct of size bytes (its
 * struct xenbus_transport first), zeroed, with ops set; rejects flags. */
int xenbus_transport_new(size_t size, const struct xenbus_transport_ops *ops,
			 unsigned flags, struct xenbus_transport **out);

/* seccomp.c: from now on the worker may only serve: the base calls
 * (its loop, its fds, memory, time, exit) and the engine's extra ones.
 * name is for the line a refused call writes.  0 or -errno (-ENOSYS: no
 * filter for this architecture, -EINVAL: over 16 extra). */
int xenbus_seccomp_install(const char *name, const int *extra,
			   unsigned nextra);

#endif
