/*
 * consoled: Enso's PV console backend for Xen.  Internal header.
 *
 * One process, one thread, one epoll loop (util/evloop).  The daemon holds
 * one xenstore connection and reaches guest memory and event channels
 * through a xenbus transport (xenbus/xenbus.h: Xen's grant tables and
 * event channels, or the shared-memory stand-in of the host tests); each
 * guest's primary console is a `struct console`: its ring page, its bound
 * event channel (an fd of its own in the loop), a pty pair and, if asked,
 * a log file.
 *
 * main.c is the program (options, fork, signals); daemon.c, console.c,
 * glog.c and ring.c are the daemon, which a host test runs in its own
 * process over the shm transport (tests/host/console_front.c).
 *
 * Ownership: the daemon owns every console; a console owns its mapping,
 * port, pty fds and log fd, and gives them all back in console_disconnect().
 * Errors: functions return 0 or a negative errno and log the detail once,
 * naming the domain.
 */
#ifndef CONSOLED_H
#define CONSOLED_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "enso-util.h"
#include "xenbus/xenbus.h"

struct xs_handle;
struct xencons_interface;

enum log_what { LOG_NONE, LOG_GUEST, LOG_ALL };
enum stamp_what { STAMP_NONE, STAMP_GUEST };

struct options {
	enum log_what log;
	enum stamp_what stamp;
	const char *log_dir;
	const char *pid_file;
	bool interactive;
};

/* ---- guest log files (glog.c) ----------------------------------------- */
struct glog {
	int fd;			/* -1: not logging */
	bool at_line_start;	/* the next byte begins a line */
	bool failed;		/* a write failed; said once */
	char *path;
};

void glog_init(struct glog *g);
/* Opens DIR/guest-NAME.log for appending (NAME made safe for a file name;
 * an unusable one becomes the domid).  Returns 0 or -errno. */
int glog_open(struct glog *g, const char *dir, const char *name,
	      unsigned domid);
/* Appends guest output; with a stamp, each line starts with one.  Errors
 * are logged once per file and otherwise ignored: the console goes on. */
void glog_write(struct glog *g, const char *data, size_t len,
		enum stamp_what stamp, time_t now);
/* Reopens the file (after rotation, on SIGHUP). */
void glog_reopen(struct glog *g);
void glog_close(struct glog *g);
/* Pure: appends data to out, with `stamp` (may be NULL) at each line start;
 * *at_line_start carries the state across calls.  0 or -ENOMEM. */
int glog_format(struct buf *out, bool *at_line_start, const char *data,
		size_t len, const char *stamp);
/* "[YYYY-MM-DD HH:MM:SS] " in local time; buf holds at least 32 bytes. */
void glog_stamp(char *buf, size_t size, time_t now);
/* Pure: DIR/guest-NAME.log with NAME made safe; NULL on ENOMEM. */
char *glog_path(const char *dir, const char *name, unsigned domid);

/* ---- the daemon (daemon.c) -------------------------------------------- */
struct daemon {
	struct options opt;
	struct evloop *loop;		/* the caller's */
	struct xenbus_transport *tp;	/* the caller's */
	/* Frames can be mapped (xenbus_frames_open succeeded). */
	bool frames;
	/* Also rescan on any change under /local/domain: where nothing
	 * introduces domains (no hypervisor: the shm transport), the
	 * toolstack's nodes are the only sign of one. */
	bool watch_domain_dir;
	struct xs_handle *xs;
	struct hmap consoles;	/* by decimal domid */
	int timer_fd;		/* retries of failed connections */
	int signal_fd;		/* main.c's: SIGTERM, SIGINT: stop; SIGHUP:
				 * reopen logs */
	/* xenstored: checked every few seconds while connected (a dead
	 * connection wakes nobody); retried with backoff while it is gone,
	 * the consoles staying connected meanwhile */
	int store_fd;
	bool store_lost;
	int backoff_ms;
	bool stop;
};

/* dm->opt, dm->loop and dm->tp set, every fd -1: connects to xenstored,
 * adds its fd and the timers to the loop, watches for domains.  0, or -1
 * (said; daemon_close undoes what was done). */
int daemon_open(struct daemon *dm);
/* Serves what is there: a console for every domain under /local/domain,
 * released when gone.  The domain watches call it too. */
void daemon_rescan(struct daemon *dm);
/* Releases every console, closes the store and the timers (not the loop,
 * the transport or signal_fd, which are the caller's). */
void daemon_close(struct daemon *dm);

/* ---- one guest's console (console.c) ---------------------------------- */
struct console {
	struct daemon *dm;
	unsigned domid;
	char key[12];		/* decimal domid: the key in dm->consoles */
	char token[16];		/* the xenstore watch token, "c<domid>" */
	char *path;		/* /local/domain/<domid>/console */
	bool watching;		/* the watch on path is set */
	bool introduced;	/* xenstored has said so at least once */
	bool seen;		/* listed in the latest scan of /local/domain */

	/* the connection, when intf != NULL */
	struct xencons_interface *intf;
	bool grant_mapped;	/* else foreign-mapped */
	unsigned long long ring_ref;
	uint32_t remote_port;
	struct xenbus_evtchn *ch;	/* NULL: unbound */
	int master, slave;	/* the pty; we hold the slave so that the
				 * master never sees a hangup */
	char tty[64];
	uint32_t ev;		/* events registered for master */
	struct buf pending;	/* output the pty could not take yet */
	size_t dropped;		/* bytes dropped since the last notice */
	struct glog log;

	/* a connection that failed: not retried until the nodes change,
	 * except for a few timed retries of a transient failure */
	bool failed;
	bool failed_for_good;	/* the guest broke its ring */
	unsigned long long failed_ref;
	uint32_t failed_port;
	unsigned retries;
	struct timespec retry_at;
};

/* Pending pty output kept per console; older bytes are dropped beyond it. */
#define PTY_BACKLOG (16 * 1024)
#define MAX_RETRIES 10

struct console *console_new(struct daemon *dm, unsigned domid);
/* Reads the console nodes and connects, reconnects or disconnects to match
 * them.  Safe to call any number of times. */
void console_refresh(struct console *c);
/* Moves bytes both ways: called on the console's event channel. */
void console_ring_io(struct console *c);
void console_disconnect(struct console *c, bool remove_tty);
/* The domain is gone: disconnect, unwatch, free. */
void console_release(struct console *c);
/* The timer fired: retry the connections that are due. */
void console_retry_due(struct daemon *dm);
/* Arms dm->timer_fd for the earliest retry, or disarms it. */
void daemon_schedule_retry(struct daemon *dm);

#endif
