/*
 * tests/host/xbtest.h: what the host tests of xenbus engines share (xb_echo,
 * blk_front): one process that plays the toolstack and the frontends on
 * their own xenstore connection, and runs the backend (the xenbus core and
 * an engine over the shm transport) on its loop, against a real xenstored
 * (XENSTORED_PATH).
 *
 * XBT_DEBUG=1 in the environment logs the backend's debug lines (why each
 * request was refused) to stderr.
 *
 * Output: "ok - SUITE: name" / "not ok - SUITE: name: why" (tests/README.md).
 */
#ifndef ENSO_TESTS_XBTEST_H
#define ENSO_TESTS_XBTEST_H

#include <stdbool.h>
#include <stdint.h>

#include "enso-util.h"
#include "xenbus/xenbus.h"

extern struct xs_handle *xbt_xs;	/* the toolstack's and frontends' */
extern struct evloop *xbt_loop;		/* the backend's */
extern struct xenbus_transport *xbt_tp;
extern struct xenbus *xbt_core;
extern int xbt_failed;

/* Opens both store connections, the loop, the shm transport and the core
 * with this engine; prints a failure and returns -1 when it cannot. */
int xbt_open(const char *suite, const struct xenbus_engine *engine,
	     void *engine_data);
/* Closes the core (checking it leaves nothing mapped) and the rest. */
void xbt_close(void);

void xbt_check(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* dir/key = printf(fmt, ...); false (and a note) when the store fails. */
bool xbt_write(const char *dir, const char *key, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* dir/key's text, "" when absent (static: one at a time). */
const char *xbt_read(const char *dir, const char *key);

/* Runs the backend's loop until cond(arg) holds, up to 5 s. */
bool xbt_pump(bool (*cond)(const void *), const void *arg);
int xbt_state(const char *be);
bool xbt_wait_state(const char *be, int state);
void xbt_check_state(const char *be, int state, const char *name);
/* The device went Closed with its `error` node saying `what`. */
void xbt_check_refused(const char *be, const char *what, const char *name);
/* The frontend closes (Closing, Closed) and starts again (Initialising):
 * the backend back in InitWait, as a module reload or kexec does. */
void xbt_reopen(const char *fe, const char *be);
/* Waits until the core holds no device. */
bool xbt_no_devices(void);
/* The transport holds exactly maps mappings and chans channels. */
void xbt_check_live(unsigned maps, unsigned chans, const char *name);

/* A guest: memory (a memfd of npages, mapped here) granted to the shm
 * transport as domid's refs 0..npages-1. */
struct xbt_guest {
	uint32_t domid;
	uint32_t npages;
	int memfd;
	char *mem;
};
int xbt_guest_init(struct xbt_guest *g, uint32_t domid, uint32_t npages);
void xbt_guest_fini(struct xbt_guest *g);
void *xbt_page(const struct xbt_guest *g, uint32_t ref);

/* An event channel of the guest's: kicks to the backend on *kick,
 * notifications from it on *note (eventfds, nonblocking). */
int xbt_channel(const struct xbt_guest *g, uint32_t port, int *kick,
		int *note);

/* What the toolstack writes for a new device of type at devid: the frontend's state/backend/backend-id, the backend's
 * frontend-id/online/state/frontend (fe_at: a frontend path of its own,
 * NULL: the right one) and the extra backend nodes (key, value pairs,
 * NULL-ended); `frontend` last.  Fills fe and be (128 bytes each). */
int xbt_device_add(const char *type, const struct xbt_guest *g,
		   unsigned devid, const char *fe_at, const char *const *extra,
		   char *fe, char *be);

/* A line of /proc/<pid>/status ("Uid", ...), its value; "" if none
 * (static: one at a time). */
const char *xbt_proc_status(int pid, const char *key);
/* A child of this process whose comm is name (a device's worker), or 0. */
int xbt_child_named(const char *name);
/* The fds of pid whose target (readlink of /proc/<pid>/fd/N) is target,
 * or starts with it. */
unsigned xbt_count_fds(int pid, const char *target, bool prefix);

#endif
