/*
 * enso-util: the few helpers every Enso daemon uses.
 *
 * Logging, a single-threaded epoll loop, a string-keyed hash map and a
 * growable byte buffer.  None of these start threads.  Allocation failures
 * are reported to the caller (NULL or -ENOMEM), never by exiting.
 */
#ifndef ENSO_UTIL_H
#define ENSO_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- logging ----------------------------------------------------------
 * One process-wide sink: stderr (the default), a file, or syslog.
 * Messages above the threshold are dropped.  Not thread-safe by design:
 * daemons log from their one event-loop thread.
 */
enum elog_level { ELOG_ERR, ELOG_WARN, ELOG_INFO, ELOG_DEBUG };

void elog_open(const char *ident, enum elog_level threshold);
/* Send messages to syslog from now on (after a daemon detaches). */
void elog_to_syslog(void);
void elog_set_level(enum elog_level threshold);
enum elog_level elog_level(void);
void elog(enum elog_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- event loop --------------------------------------------------------
 * Callbacks run from evloop_run_once().  A callback may remove any fd,
 * including other fds with events pending in the same batch: removed
 * registrations are freed only after the batch.
 */
struct evloop;
typedef void evloop_fn(void *arg, uint32_t events);

struct evloop *evloop_new(void);
void evloop_free(struct evloop *loop);
int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn *fn,
	       void *arg);
int evloop_mod(struct evloop *loop, int fd, uint32_t events);
int evloop_del(struct evloop *loop, int fd);
/* Waits up to timeout_ms (-1: forever); returns events handled or -errno. */
int evloop_run_once(struct evloop *loop, int timeout_ms);
/* CLOCK_MONOTONIC in milliseconds: for deadlines of bounded waits. */
long long monotonic_ms(void);

/* ---- string hash map ---------------------------------------------------
 * Keys are borrowed: the caller keeps each key alive while it is in the
 * map (typically the key lives inside the value).
 */
struct hmap {
	struct hmap_slot *slots;
	size_t cap;	/* power of two, or 0 */
	size_t count;
	size_t used;	/* live + tombstones */
};

void hmap_init(struct hmap *m);
void hmap_fini(struct hmap *m);
void *hmap_get(const struct hmap *m, const char *key);
/* Inserts or replaces; returns 0 or -ENOMEM. */
int hmap_put(struct hmap *m, const char *key, void *val);
void *hmap_del(struct hmap *m, const char *key);
/* Iteration: *pos starts at 0; returns NULL at the end. */
void *hmap_next(const struct hmap *m, size_t *pos);
uint64_t hash_str(const char *s);

/* ---- growable buffer --------------------------------------------------- */
struct buf {
	char *p;
	size_t len, cap;
};

void buf_init(struct buf *b);
void buf_fini(struct buf *b);
int buf_reserve(struct buf *b, size_t extra);
int buf_add(struct buf *b, const void *data, size_t len);
/* Appends a string including its terminating NUL. */
int buf_add_str0(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* ---- starting a daemon ------------------------------------------------ */
/* Xen's control domain (/proc/xen/capabilities says control_d)?  When
 * not, why (may be NULL) says what was found. */
bool xen_control_domain(char *why, size_t len);
/* mkdir -p with mode 0755; 0 or -errno. */
int mkdir_p(const char *dir);

/* json.c: text (NUL-terminated JSON) nests arrays and objects deeper
 * than max_depth; strings are skipped.  For yajl's recursive tree. */
bool json_too_deep(const char *text, int max_depth);
/* Forks.  The parent waits until the child calls daemon_ready() and exits
 * 0 (1 if the child died first); the child, in a new session, returns 0
 * with the fd to pass to daemon_ready() once it is serving. */
int daemon_fork(int *ready_fd);
int daemon_ready(int ready_fd);
void daemon_detach_stdio(void);
/* Standard output and error appended to path (made with mode), where a
 * process with no terminal or syslog writes its log.  0 or -errno; on
 * failure both are as they were. */
int log_to_file(const char *path, unsigned mode);
/* Writes getpid() to path; logs and returns -errno on failure. */
int daemon_write_pid(const char *path);
/* One process per pid file: takes an exclusive flock on path (created
 * 0644), which a fork inherits and which goes with the last holder, and
 * writes pid into it.  The fd (close-on-exec) to keep open, -EALREADY if
 * another process holds it, or -errno. */
int pid_file_lock(const char *path, long pid);
/* Whether a live process holds path's lock (pid_file_lock). */
bool pid_file_locked(const char *path);
/* Closes every fd of the process but 0, 1, 2 and the n in keep (any
 * order; negative ones are ignored): what a forked child that must hold
 * only what it was given does first.  0 or -errno. */
int close_fds_except(const int *keep, unsigned n);

/* ---- whole reads and writes (fdio.c) ---------------------------------- */
/* read: 1 when all len bytes were read, 0 at end of file first (some may
 * have been), -errno.  write: 0 or -errno.  Both retry EINTR, and wait
 * out EAGAIN on a descriptor left non-blocking. */
int fd_read_full(int fd, void *buf, size_t len);
int fd_write_full(int fd, const void *buf, size_t len);

/* ---- small parsers ----------------------------------------------------- */
/* Parses a whole decimal unsigned number with no sign, spaces or junk;
 * returns 0, or -EINVAL / -ERANGE (above max). */
int parse_uint(const char *s, unsigned long long max, unsigned long long *out);

#endif
