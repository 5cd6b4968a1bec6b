/*
 * xenbus/xenbus.h: the device-backend core that blkback, netback and
 * consoled share.  The one public header of xenbus/; the rest is internal.
 *
 * Two halves:
 *
 *  - The core follows the xenbus handshake (xen/io/xenbus.h) for every
 *    device of one type under <root>/backend/<type>/<domid>/<devid> and
 *    calls an engine (struct xenbus_engine) at the four moments a backend
 *    must act: probe, connect, disconnect, remove.  The engine does the
 *    device's work (rings, disks, taps); the core writes the backend's
 *    state node and nothing else of the handshake.
 *  - A transport (struct xenbus_transport) gives the engine guest memory
 *    and notifications: Xen's grant tables and event channels, or a
 *    shared-memory stand-in (memfd pages, eventfds) that runs on any host.
 *    An engine written against these calls runs on both unchanged.
 *
 * Threads: none are started here; the caller's event loop (util/evloop)
 * drives everything from the xenstore handle's fd and the event-channel
 * fds the engine adds.  (Debian's libxenstore runs a reader thread of its
 * own behind xs_watch; nothing of ours runs on it.)  Not thread-safe.
 *
 * Errors: every call returns 0 or a negative errno.  The detail is logged
 * once (elog) where it is known: by the engine through xenbus_dev_error(),
 * which also leaves it in the device's backend `error` node for the
 * toolstack, or by the core when an engine operation failed without one.
 * A failing device goes Closed; the core goes on serving the others.
 *
 * Trust: the frontend's nodes (its state, ring-ref, event-channel, ...)
 * are written by the guest and are hostile until checked; the backend's
 * nodes are the toolstack's.  The core checks the frontend's state and
 * that the backend's `frontend` path lies in the domain the backend
 * directory names; the engine checks what it reads itself (the readers
 * below parse strictly).
 *
 * The calls go one way: xenbus/ includes nothing of libxl/.  See
 * docs/design/xenbus.md for the states, the tables and the isolation plan.
 */
#ifndef ENSO_XENBUS_H
#define ENSO_XENBUS_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* xen/io/ring.h, for the engines' rings and their test frontends: it
 * leaves its barriers to the includer (under the default interface
 * version it calls them mb, rmb and wmb).  Included here once, so that no
 * engine spells them again. */
#ifndef mb
#define mb() __atomic_thread_fence(__ATOMIC_SEQ_CST)
#endif
#ifndef rmb
#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#endif
#ifndef wmb
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)
#endif
#include <xen/io/ring.h>

struct xs_handle;
struct evloop;
struct xenbus;			/* the core: one device type */
struct xenbus_dev;		/* one device, owned by the core */
struct xenbus_transport;	/* guest memory and notifications */
struct xenbus_evtchn;		/* one bound event channel */

/* The protocol's states, as written in the `state` nodes. */
enum xenbus_state {
	XENBUS_UNKNOWN = 0,
	XENBUS_INITIALISING = 1,
	XENBUS_INITWAIT = 2,
	XENBUS_INITIALISED = 3,
	XENBUS_CONNECTED = 4,
	XENBUS_CLOSING = 5,
	XENBUS_CLOSED = 6,
	XENBUS_RECONFIGURING = 7,
	XENBUS_RECONFIGURED = 8,
};

/* "InitWait" and so on; "invalid" outside the enum. */
const char *xenbus_state_name(int state);

/* ---- the engine: one device type's work --------------------------------
 *
 * A static table filled with designated initializers.  The core calls,
 * for one device, in this order (the middle pair repeats for each time
 * the frontend connects):
 *
 *   probe       the backend directory appeared.  Write the features the
 *               frontend reads before it connects (xenbus_dev_write);
 *               keep per-device state with xenbus_dev_set_priv.  0: the
 *               backend goes InitWait.  Failure: Closed.
 *   connect     the frontend is Initialised (or Connected).  Read its
 *               ring-ref / event-channel, map, bind, add fds to the loop,
 *               write what the frontend reads once connected.  0: the
 *               backend goes Connected.  Failure: the engine has undone
 *               whatever it did in this call; the backend goes Closed.
 *   disconnect  the frontend is Closing or Closed, gone, restarted, or
 *               hostile: unmap and unbind everything connect made.
 *               Called only after a connect that succeeded.  Cannot fail.
 *   remove      the backend directory is gone (or the core closes):
 *               free what probe made.  Called only after a probe that
 *               succeeded, and after disconnect when connected.
 *
 * The core writes the backend's `state` node; engines never do.
 */
struct xenbus_engine {
	const char *type;	/* "vbd", "vif", "console": backend/<type>/ */
	int (*probe)(struct xenbus_dev *dev);
	int (*connect)(struct xenbus_dev *dev);
	void (*disconnect)(struct xenbus_dev *dev);
	void (*remove)(struct xenbus_dev *dev);
	/* Optional: a node of the frontend's the engine follows while
	 * connected (netback's request-multicast-control): the core watches
	 * <frontend>/<fe_watch> from probe to remove and calls fe_changed,
	 * between a connect that succeeded and its disconnect, for each
	 * event on it (the value may be unchanged: read it). */
	const char *fe_watch;
	void (*fe_changed)(struct xenbus_dev *dev);
};

/* ---- the core ----------------------------------------------------------- */

struct xenbus_args {
	/* Borrowed, and the core's while it is open: it watches on it and
	 * reads every watch event that arrives there. */
	struct xs_handle *xs;
	/* Borrowed: the core adds xs_fileno(xs); engines add their fds. */
	struct evloop *loop;
	struct xenbus_transport *transport;	/* borrowed */
	const struct xenbus_engine *engine;
	void *engine_data;	/* for the engine: xenbus_engine_data() */
	/* The backend domain's home; NULL: "/local/domain/0". */
	const char *root;
	/* The directory under <root>/backend/ served; NULL: the engine's
	 * type.  Another name lets a user-space backend serve devices that
	 * the kernel's backend of the same protocol (xen-blkback, which
	 * claims every backend/vbd/ device) leaves alone, as QEMU's qdisk
	 * does. */
	const char *dir;
};

/* Watches <root>/backend/<type>/ and takes up every device already there
 * on the first turn of the loop.  flags: 0 (others: -EINVAL). */
int xenbus_open(const struct xenbus_args *args, unsigned flags,
		struct xenbus **out);
/* Disconnects and removes every device (their backend nodes stay as they
 * are), unwatches and leaves the loop.  NULL is fine. */
void xenbus_close(struct xenbus *xb);
/* Reads the watch events pending on the handle and acts on them; the
 * loop calls it on xs_fileno(xs).  For a caller that drives the fd
 * itself.  0, or the first error of a watch that could not be read. */
int xenbus_dispatch(struct xenbus *xb);
/* Devices the core holds now (any state). */
unsigned xenbus_device_count(const struct xenbus *xb);

/* ---- a device, for the engine ------------------------------------------ */

enum xenbus_side { XENBUS_BACKEND, XENBUS_FRONTEND };

uint32_t xenbus_dev_domid(const struct xenbus_dev *dev);	/* frontend's */
const char *xenbus_dev_id(const struct xenbus_dev *dev);	/* "51712" */
const char *xenbus_dev_path(const struct xenbus_dev *dev,
			    enum xenbus_side side);
enum xenbus_state xenbus_dev_state(const struct xenbus_dev *dev);
struct xenbus_transport *xenbus_dev_transport(const struct xenbus_dev *dev);
struct evloop *xenbus_dev_loop(const struct xenbus_dev *dev);
void *xenbus_engine_data(const struct xenbus_dev *dev);
void *xenbus_dev_priv(const struct xenbus_dev *dev);
void xenbus_dev_set_priv(struct xenbus_dev *dev, void *priv);

/* <side path>/<key> into *value (malloc'd, the caller frees).  -ENOENT
 * when absent; other -errno when the store fails. */
int xenbus_dev_read(const struct xenbus_dev *dev, enum xenbus_side side,
		    const char *key, char **value);
/* A whole decimal number no greater than max: -ENOENT when absent,
 * -EINVAL when not a number, -ERANGE above max. */
int xenbus_dev_read_uint(const struct xenbus_dev *dev, enum xenbus_side side,
			 const char *key, unsigned long long max,
			 unsigned long long *out);
/* A number of the frontend's, 0..max, for an engine's connect: absent
 * gives def, or (def ~0u) is an error too.  A failure is said
 * (xenbus_dev_error: "KEY: missing", "too large", "not a number"). */
int xenbus_dev_read_fe(struct xenbus_dev *dev, const char *key, unsigned max,
		       unsigned def, unsigned *out);
/* Writes <backend path>/<key>. */
int xenbus_dev_write(const struct xenbus_dev *dev, const char *key,
		     const char *value);
/* Says why the device fails: logs "<type> <domid>/<devid>: WHAT" once,
 * writes WHAT to the backend's `error` node, and returns rc, for
 *   return xenbus_dev_error(dev, -EINVAL, "ring-ref: %s", why); */
int xenbus_dev_error(struct xenbus_dev *dev, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Writes several <backend path>/<key> nodes in one store transaction
 * (retried while the store says EAGAIN), so that the frontend sees all of
 * them or none: what a backend publishes when it connects. */
struct xenbus_node {
	const char *key, *value;
};
int xenbus_dev_write_nodes(const struct xenbus_dev *dev,
			   const struct xenbus_node *nodes, unsigned count);
/* The frontend broke the protocol while connected (a ring index that
 * overruns the ring, ...): says WHAT as xenbus_dev_error does, calls the
 * engine's disconnect, and moves the backend through Closing to Closed.
 * The frontend may come back through Initialising.  For the engine's own
 * callbacks (ring kicks, I/O completions) of a connected device; after it,
 * the engine touches nothing that connect made. */
void xenbus_dev_fail(struct xenbus_dev *dev, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- an engine's daemon ------------------------------------------------
 *
 * What enso-blkback and enso-netback are once their options are read: one
 * process, the core with one engine over one transport.  Unless
 * foreground, forks (the parent exits once the child serves), lets go of
 * the terminal and logs to log_file (else syslog).  pid_file, if given,
 * is locked first (util's pid_file_lock): a second daemon on it exits 1
 * before it touches a device.  Runs until SIGTERM or SIGINT; returns the
 * exit status (0, or 1 after a failure it logged).
 */
struct xenbus_daemon {
	const char *name;	/* "enso-netback", for the log */
	const struct xenbus_engine *engine;
	void *engine_data;
	const char *dir;	/* backend/<dir>/ */
	bool shm;		/* the shm transport (tests: probe only) */
	bool foreground;
	const char *pid_file, *log_file;	/* NULL: none, syslog */
};
int xenbus_daemon_run(const struct xenbus_daemon *d);

/* The options every engine's daemon takes (enso-blkback(8),
 * enso-netback(8)), for its getopt_long: XENBUS_DAEMON_SHORTOPTS begins
 * its short options, XENBUS_DAEMON_LONGOPTS its table (a file that
 * includes <getopt.h>): -T/--transport=xen|shm, -i/--interactive,
 * -d/--backend-dir=NAME, --pid-file=FILE, --log-file=FILE, -v/--verbose.
 * xenbus_daemon_option takes what getopt_long returned: 1 when it was one
 * of these (d set from arg), 0 when it is the daemon's own, -EINVAL with
 * "NAME: --OPTION takes ..., not 'ARG'" on stderr when arg is wrong. */
#define XENBUS_DAEMON_SHORTOPTS "T:id:v"
enum { XENBUS_OPT_PID_FILE = 256, XENBUS_OPT_LOG_FILE };
#define XENBUS_DAEMON_LONGOPTS                                         \
	{ "transport", required_argument, NULL, 'T' },                 \
	{ "interactive", no_argument, NULL, 'i' },                     \
	{ "backend-dir", required_argument, NULL, 'd' },               \
	{ "pid-file", required_argument, NULL, XENBUS_OPT_PID_FILE },  \
	{ "log-file", required_argument, NULL, XENBUS_OPT_LOG_FILE },  \
	{ "verbose", no_argument, NULL, 'v' }
int xenbus_daemon_option(struct xenbus_daemon *d, int opt, const char *arg);

/* ---- a device's worker process -----------------------------------------
 *
 * docs/design/xenbus.md, "Isolation": an engine serves each connected
 * device from a process of its own.  From its connect, the engine calls
 * xenbus_worker_start, which forks; in the child the transport is left
 * serving the device's domain alone (xenbus_transport_worker: every fd
 * but keep[] and the worker's socket closed, the xenstore connection
 * too) and args->serve runs.  serve maps, binds and opens what the device
 * needs (it has the daemon's memory as it was at the fork: what connect
 * read of the frontend), calls xenbus_worker_ready, and serves from a
 * loop of its own until xenbus_worker_stopping says so; then it undoes
 * what it made and returns 0.  A failure before ready: serve says why
 * (xenbus_worker_say) and returns -errno, and the start call fails with
 * that text in the device's `error` node.
 *
 * The daemon's side: the worker's socket and pidfd in the device's loop.
 * A worker that says broken (a frontend that broke its ring), dies (any
 * signal, an exit not asked for) or sends what it may not is a device
 * that failed: xenbus_dev_fail with the reason, which calls the engine's
 * disconnect, which must call xenbus_worker_stop.
 *
 * The worker: no groups, the ids of args->user (NULL: "nobody") when the
 * daemon is root (else the daemon's), PR_SET_NO_NEW_PRIVS, PR_SET_PDEATHSIG
 * (a daemon that dies takes its workers along), named args->name (its
 * comm: no '/'), a seccomp filter once ready, and _exit at the end.
 */
struct xenbus_worker;
#define XENBUS_WORKER_KEEP_MAX 16u
#define XENBUS_WORKER_WAIT_MS 10000	/* for ready, and for the exit */

struct xenbus_worker_args {
	const char *user;
	const char *name;
	const int *keep;	/* fds the worker keeps (its disk, its taps) */
	unsigned nkeep;		/* up to XENBUS_WORKER_KEEP_MAX */
	/* In the worker: 0 after it served, or -errno. */
	int (*serve)(struct xenbus_worker *w, void *arg);
	/* In the daemon, optional: the worker said broken (for counters). */
	void (*broken)(void *arg);
	void *arg;
};

/* The daemon's side.  args is borrowed until xenbus_worker_stop.  Waits
 * up to XENBUS_WORKER_WAIT_MS for the worker to be ready; says why it
 * fails (xenbus_dev_error) and leaves no process behind. */
int xenbus_worker_start(struct xenbus_dev *dev,
			const struct xenbus_worker_args *args,
			struct xenbus_worker **out);
/* Sends the worker a value of the engine's own meaning (a setting the
 * frontend changed while connected), in order; 0 or -errno. */
int xenbus_worker_send(struct xenbus_worker *w, int32_t value);
/* Tells the worker to stop, waits for its exit (SIGKILL after
 * XENBUS_WORKER_WAIT_MS), reaps it and frees w.  NULL is fine. */
void xenbus_worker_stop(struct xenbus_worker *w);
/* Its pid, 0 once it is gone (or for NULL). */
int xenbus_worker_pid(const struct xenbus_worker *w);

/* The worker's side.  Drops the privileges, installs the seccomp filter
 * (the base calls of xenbus/seccomp.c and up to 16 more of the engine's:
 * SYS_* numbers) and tells the daemon it serves.  0 or -errno. */
int xenbus_worker_ready(struct xenbus_worker *w, const int *syscalls,
			unsigned nsyscalls);
/* The socket to the daemon, for the worker's loop: when it is readable,
 * ask xenbus_worker_stopping. */
int xenbus_worker_fd(const struct xenbus_worker *w);
/* True once the daemon said stop (or is gone); drops the values of
 * xenbus_worker_send meanwhile. */
bool xenbus_worker_stopping(struct xenbus_worker *w);
/* For an engine whose daemon sends values: 1 and the next one in *value,
 * else 0 (nothing more now, or stop: ask xenbus_worker_stopping). */
int xenbus_worker_recv(struct xenbus_worker *w, int32_t *value);
/* The frontend broke its ring: the daemon closes the device and says
 * stop; serve nothing more meanwhile. */
void xenbus_worker_broken(struct xenbus_worker *w, int err, const char *text);
/* The first failure's text, for the daemon's `error` node; rc back. */
int xenbus_worker_say(struct xenbus_worker *w, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* ---- the transport -------------------------------------------------------
 *
 * Guest memory by grant reference, and event channels.  One transport
 * serves every device of a core.  On Xen, refs are grant references and
 * ports event-channel ports of the frontend domain; on shm, refs are page
 * indexes into the memfd the test frontend registered for its domid, and
 * ports name eventfd pairs it registered.  What the frontend wrote is
 * checked here too: a ref or port the domain never granted gives -EINVAL
 * (shm) or whatever the hypervisor says (Xen), never a crash.
 */
#define XENBUS_PAGE_SIZE 4096u

/* Opens libxengnttab and libxenevtchn.  Needs Xen (/dev/xen/...). */
int xenbus_transport_xen_open(unsigned flags, struct xenbus_transport **out);
/* The stand-in: no domain is granted anything until the test frontend
 * registers it below. */
int xenbus_transport_shm_open(unsigned flags, struct xenbus_transport **out);
/* Frees the transport; every mapping and channel must be gone first
 * (xenbus_close sees to the engines').  NULL is fine. */
void xenbus_transport_close(struct xenbus_transport *t);
const char *xenbus_transport_name(const struct xenbus_transport *t);
/* In a child forked to serve one device of domid, before it maps or binds
 * anything: closes every fd of the process but 0-2, the nkeep in keep and
 * what the transport needs for domid, and leaves the transport serving
 * domid alone.  Xen's handles are not usable across fork: the parent's
 * grant handle is let go of (not closed through the library, whose
 * state is the parent's) and a new one opened; each channel bound after
 * this opens its own event-channel handle, restricted to domid.  shm:
 * every other domain's memfd and ports are closed.  Nothing the parent
 * mapped is in the child (mappings are MADV_DONTFORK on shm, as Xen's
 * gntdev mappings are not copied on fork).  0 or -errno; on failure the
 * child must exit. */
int xenbus_transport_worker(struct xenbus_transport *t, uint32_t domid,
			    const int *keep, unsigned nkeep);

/* Maps count refs of domid as one contiguous range at *addr; count is
 * 1..XENBUS_MAP_MAX (a ring is at most 16 pages, one block request's data
 * at most 256: blkback's feature-max-indirect-segments), else -EINVAL. */
#define XENBUS_MAP_MAX 256u
int xenbus_map(struct xenbus_transport *t, uint32_t domid,
	       const uint32_t *refs, uint32_t count, bool writable,
	       void **addr);
/* Unmaps a range xenbus_map gave. */
int xenbus_unmap(struct xenbus_transport *t, void *addr, uint32_t count);

/* Guest memory by frame number instead of grant reference: the one page
 * a domain's builder set up before the guest had a grant table of its own
 * (its console ring; upstream's xenconsoled reaches it through the
 * reserved grant GNTTAB_RESERVED_CONSOLE and falls back to the frame the
 * toolstack wrote in console/ring-ref).  consoled's primary console is
 * the only user; added for it, nothing else of the transport changed.
 *
 * xenbus_frames_open makes the two calls below usable: on Xen it opens
 * libxenforeignmemory (privcmd) once, and a transport that never calls it
 * holds no such handle (blkback does not; a forked worker loses it as it
 * loses the grant handle).  shm has no frames: -EOPNOTSUPP from all three.
 * xenbus_map_frame maps one page, read-write or read-only; unmap it with
 * xenbus_unmap_frame (not xenbus_unmap: they are different mappings on
 * Xen).  0 or -errno; without xenbus_frames_open, -EOPNOTSUPP. */
int xenbus_frames_open(struct xenbus_transport *t);
int xenbus_map_frame(struct xenbus_transport *t, uint32_t domid,
		     uint64_t frame, bool writable, void **addr);
int xenbus_unmap_frame(struct xenbus_transport *t, void *addr);

/* One grant copy: len bytes between local and the granted page ref at
 * offset (offset + len <= XENBUS_PAGE_SIZE). */
struct xenbus_copy {
	uint32_t ref;
	uint16_t offset, len;
	void *local;
	bool to_guest;		/* local -> guest; else guest -> local */
};
/* Copies every segment; -EINVAL before any copy when one is out of its
 * page, else the first failure. */
int xenbus_copy(struct xenbus_transport *t, uint32_t domid,
		const struct xenbus_copy *segs, uint32_t count);

/* Binds the frontend's port; each channel has its own fd, readable when
 * the frontend kicked. */
int xenbus_bind(struct xenbus_transport *t, uint32_t domid,
		uint32_t remote_port, struct xenbus_evtchn **out);
void xenbus_unbind(struct xenbus_evtchn *ch);	/* NULL is fine */
int xenbus_evtchn_fd(const struct xenbus_evtchn *ch);
/* Takes the kicks that made the fd readable and re-arms the channel;
 * call it when the fd is readable (on Xen the read blocks otherwise),
 * before looking at the ring, so that no kick is lost. */
int xenbus_evtchn_ack(struct xenbus_evtchn *ch);
int xenbus_notify(struct xenbus_evtchn *ch);

/* The shm stand-in's "hypervisor", for the test frontend.  Both take
 * copies of the fds (the caller keeps its own).  grant: the pages of
 * memfd are domid's refs 0..npages-1.  port: a channel of domid whose
 * kicks to the backend arrive on to_backend and whose notifications go
 * to to_frontend (eventfds).  -EINVAL on a transport that is not shm. */
int xenbus_shm_grant(struct xenbus_transport *t, uint32_t domid, int memfd,
		     uint32_t npages);
int xenbus_shm_port(struct xenbus_transport *t, uint32_t domid, uint32_t port,
		    int to_backend, int to_frontend);
/* Mappings and channels alive now: a test's proof that nothing leaked. */
int xenbus_shm_live(const struct xenbus_transport *t, unsigned *maps,
		    unsigned *channels);

#endif
