/*
 * Live update: the daemon replaces its own binary in place, nothing lost.
 *
 * Upstream's conversation (xenstore-control live-update [-c CMDLINE] [-F]
 * [-t SECS] FILE): CONTROL "live-update" "-f" FILE names the new binary,
 * "-c" CMDLINE its command line (else ours), "-s" [-t SECS] [-F] starts it
 * and is answered "BUSY" while transactions are open (the client asks again
 * each second until its timeout; -F goes ahead and they fail with EAGAIN),
 * "-a" aborts.
 *
 * How: the store is already on disk (persist.c), so the update is a restart
 * that nobody sees.  Once "-s" is answered, the event loop (never a request)
 * writes a snapshot, then hands the new process, through a memfd that
 * survives execve(), what is not in the store: the listening socket and
 * every socket client's connection (fd, domain, privilege, watches, unread
 * input, unsent output, transaction ids).  Domain rings come back as after
 * a crash: persist_load.c re-binds them, resends their unsent replies and
 * keeps their watches.  The pid stays (execve), so systemd and pid files
 * follow.
 *
 * The handover uses the journal's record format (persist_rec_add/parse):
 * each record CRC-checked, a bad one ends the adoption with a log line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "persist.h"	/* put32, get32 */

#define HANDOVER_ENV "ENSO_XENSTORED_HANDOVER_FD"
#define MAX_ARGS 64

enum {
	LU_LISTEN = 'L',	/* u32 fd, u8 logs to syslog */
	LU_CONN = 'S',		/* u32 fd, domid, target, next_txid, u8 priv,
				 * then the unread input */
	LU_WATCH = 'W',		/* of the last conn: u8 relative, path\0token\0 */
	LU_OUT = 'O',		/* of the last conn: unsent bytes of a message */
	LU_END = 'E',
};

static struct {
	char *binary;
	char *cmdline;
	bool pending;		/* "-s" answered OK: exec at the loop's end */
	char **argv;		/* ours, for a new binary without -c */
	int listen_fd;
	bool to_syslog;
} lu = { .listen_fd = -1 };

void liveupdate_init(char **argv, int listen_fd, bool to_syslog)
{
	lu.argv = argv;
	lu.listen_fd = listen_fd;
	lu.to_syslog = to_syslog;
}

bool liveupdate_pending(void)
{
	return lu.pending;
}

static bool txns_open(void)
{
	struct conn *c;

	for (c = conn_first(); c; c = c->next)
		if (!c->dead && c->ntxns)
			return true;
	return false;
}

static int set_string(char **where, const char *s)
{
	char *d = strdup(s);

	if (!d)
		return -ENOMEM;
	free(*where);
	*where = d;
	return 0;
}

int liveupdate_control(struct req *r, const char **argv, int argc)
{
	bool force = false, start = false;
	int i, rc;

	if (argc == 0)
		return buf_add_str0(&r->reply, lu.pending ? "BUSY" : lu.binary ? "OK" : "none");
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-f") && i + 1 < argc) {
			if (access(argv[++i], X_OK))
				return buf_add_str0(&r->reply, "the new binary is not an executable file");
			rc = set_string(&lu.binary, argv[i]);
			if (rc)
				return rc;
		} else if (!strcmp(argv[i], "-c") && i + 1 < argc) {
			rc = set_string(&lu.cmdline, argv[++i]);
			if (rc)
				return rc;
		} else if (!strcmp(argv[i], "-t") && i + 1 < argc) {
			i++;	/* the client keeps the time */
		} else if (!strcmp(argv[i], "-F")) {
			force = true;
		} else if (!strcmp(argv[i], "-s")) {
			start = true;
		} else if (!strcmp(argv[i], "-a")) {
			free(lu.binary);
			free(lu.cmdline);
			lu.binary = lu.cmdline = NULL;
			lu.pending = false;
			return buf_add_str0(&r->reply, "OK");
		} else if (!strcmp(argv[i], "-b") || !strcmp(argv[i], "-d")) {
			return buf_add_str0(&r->reply, "a binary sent in pieces is for a xenstore stub domain; give this daemon a file (-f)");
		} else {
			return -EINVAL;
		}
	}
	if (!start)
		return buf_add_str0(&r->reply, "OK");
	if (!lu.binary)
		return buf_add_str0(&r->reply, "no new binary named yet (live-update -f FILE)");
	if (!persist_on())
		return buf_add_str0(&r->reply, "live update needs the store on disk; this daemon runs with --no-persist");
	if (access(lu.binary, X_OK))
		return buf_add_str0(&r->reply, "the new binary is not an executable file");
	if (txns_open() && !force)
		return buf_add_str0(&r->reply, "BUSY");
	lu.pending = true;
	elog(ELOG_INFO, "live update to %s requested by conn %u", lu.binary,
	     r->conn->id);
	return buf_add_str0(&r->reply, "OK");
}

/* ---- handing over ---- */

/* A queued message's unsent bytes: the new process queues them whole. */
static int add_unsent(void *arg, const char *msg, uint32_t len, uint32_t sent)
{
	return persist_rec_add(arg, LU_OUT, msg + sent, len - sent);
}

static int add_conn(struct buf *b, const struct conn *c)
{
	struct buf rec;
	const struct watch *w;
	uint8_t h[17];
	int rc;

	put32(h, (uint32_t)c->fd);
	put32(h + 4, c->domid);
	put32(h + 8, c->target);
	put32(h + 12, c->next_txid);
	h[16] = c->privileged;
	buf_init(&rec);
	rc = buf_add(&rec, h, sizeof(h));
	if (!rc && c->in_len)
		rc = buf_add(&rec, c->in, c->in_len);
	if (!rc)
		rc = persist_rec_add(b, LU_CONN, rec.p, (uint32_t)rec.len);
	for (w = c->watches; !rc && w; w = w->next_conn) {
		rec.len = 0;
		rc = buf_add(&rec, &(uint8_t){ w->relative }, 1);
		if (!rc)
			rc = buf_add_str0(&rec, w->path);
		if (!rc)
			rc = buf_add_str0(&rec, w->token);
		if (!rc)
			rc = persist_rec_add(b, LU_WATCH, rec.p,
					     (uint32_t)rec.len);
	}
	if (!rc)
		rc = conn_out_walk(c, add_unsent, b);
	buf_fini(&rec);
	return rc;
}

/* The handover in a memfd the new process inherits: its fd, or -errno. */
static int write_handover(void)
{
	struct buf b;
	struct conn *c;
	uint8_t h[5];
	int fd = -1, rc;

	buf_init(&b);
	put32(h, (uint32_t)lu.listen_fd);
	h[4] = lu.to_syslog;
	rc = persist_rec_add(&b, LU_LISTEN, h, sizeof(h));
	for (c = conn_first(); !rc && c; c = c->next)
		if (c->kind == CONN_SOCKET && !c->dead && c->fd >= 0)
			rc = add_conn(&b, c);
	if (!rc)
		rc = persist_rec_add(&b, LU_END, NULL, 0);
	if (!rc) {
		fd = memfd_create("xenstored-handover", 0);
		if (fd < 0)
			rc = -errno;
	}
	if (!rc && (write(fd, b.p, b.len) != (ssize_t)b.len ||
		    lseek(fd, 0, SEEK_SET) < 0))
		rc = errno ? -errno : -EIO;
	buf_fini(&b);
	if (rc) {
		if (fd >= 0)
			close(fd);
		return rc;
	}
	return fd;
}

static void set_cloexec(int fd, bool on)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl >= 0)
		fcntl(fd, F_SETFD, on ? fl | FD_CLOEXEC : fl & ~FD_CLOEXEC);
}

/* The sockets the new process keeps (on), or our own again (off). */
static void keep_sockets(bool on)
{
	struct conn *c;

	set_cloexec(lu.listen_fd, !on);
	for (c = conn_first(); c; c = c->next)
		if (c->kind == CONN_SOCKET && !c->dead && c->fd >= 0)
			set_cloexec(c->fd, !on);
}

/* argv for the new binary: -c's words, or ours after the new name. */
static int build_argv(char **out, char *words)
{
	int n = 0, i;

	out[n++] = lu.binary;
	if (lu.cmdline) {
		char *save = NULL, *w;

		for (w = strtok_r(words, " \t", &save); w && n < MAX_ARGS - 1;
		     w = strtok_r(NULL, " \t", &save))
			out[n++] = w;
	} else {
		for (i = 1; lu.argv[i] && n < MAX_ARGS - 1; i++)
			out[n++] = lu.argv[i];
	}
	out[n] = NULL;
	return n;
}

void liveupdate_run(void)
{
	char *args[MAX_ARGS], *words = NULL, env[32];
	int fd, rc;

	lu.pending = false;
	/* Everything committed is in the journal; a snapshot makes the new
	 * process's start a read of one file. */
	persist_flush();
	rc = persist_compact();
	if (rc) {
		elog(ELOG_ERR, "live update: writing the snapshot: %s; staying",
		     strerror(-rc));
		return;
	}
	fd = write_handover();
	if (fd < 0) {
		elog(ELOG_ERR, "live update: writing the handover: %s; staying",
		     strerror(-fd));
		return;
	}
	if (lu.cmdline && !(words = strdup(lu.cmdline))) {
		close(fd);
		return;
	}
	build_argv(args, words);
	snprintf(env, sizeof(env), "%d", fd);
	setenv(HANDOVER_ENV, env, 1);
	keep_sockets(true);
	elog(ELOG_INFO, "live update: executing %s", lu.binary);
	/* The journal's and the lock's fds close on exec: the new process
	 * takes the lock as it starts. */
	execv(lu.binary, args);
	rc = -errno;
	/* Still us: take everything back and go on serving. */
	keep_sockets(false);
	unsetenv(HANDOVER_ENV);
	close(fd);
	free(words);
	elog(ELOG_ERR, "live update: executing %s: %s; this daemon goes on",
	     lu.binary, strerror(-rc));
}

/* ---- taking over ---- */

int liveupdate_handover_fd(void)
{
	const char *s = getenv(HANDOVER_ENV);
	unsigned long long v;
	int fd;

	if (!s)
		return -1;
	fd = parse_uint(s, INT32_MAX, &v) ? -1 : (int)v;
	unsetenv(HANDOVER_ENV);
	if (fd >= 0)
		set_cloexec(fd, true);
	return fd;
}

static int read_all(int fd, struct buf *b)
{
	char chunk[65536];
	ssize_t n;
	int rc;

	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		rc = buf_add(b, chunk, (size_t)n);
		if (rc)
			return rc;
	}
	return n < 0 ? -errno : 0;
}

static int adopt_conn(const struct prec *p, struct conn **out)
{
	struct conn *c;
	uint32_t inlen;

	if (p->len < 17)
		return -EILSEQ;
	inlen = p->len - 17;
	c = socket_adopt((int)get32(p->data), get32(p->data + 4),
			 p->data[16] != 0);
	if (!c)
		return -ENOMEM;
	if (inlen > conn_in_room(c)) {
		conn_kill(c, "live update: more input than a connection holds");
		return -EILSEQ;
	}
	c->target = get32(p->data + 8);
	c->next_txid = get32(p->data + 12);
	/* Transactions it had open (a forced update) fail with EAGAIN. */
	c->doom_below = c->next_txid;
	memcpy(c->in, p->data + 17, inlen);
	c->in_len = inlen;
	*out = c;
	return 0;
}

static int adopt_watch(const struct prec *p, struct conn *c)
{
	const char *path, *token;
	size_t pl;

	if (!c || p->len < 3 || p->data[p->len - 1] != '\0')
		return -EILSEQ;
	path = (const char *)p->data + 1;
	pl = strnlen(path, p->len - 1);
	if (pl + 2 > p->len - 1)
		return -EILSEQ;
	token = path + pl + 1;
	return watch_add(c, path, token, p->data[0] != 0);
}

int liveupdate_adopt(int fd, bool *to_syslog)
{
	struct buf b;
	struct conn *c = NULL;
	size_t off = 0;
	unsigned nconns = 0;
	bool ended = false;
	int rc;

	buf_init(&b);
	rc = read_all(fd, &b);
	close(fd);
	while (!rc && !ended && off < b.len) {
		struct prec p;

		rc = persist_rec_parse(b.p + off, b.len - off, &p);
		if (rc)
			break;
		off += p.size;
		switch (p.type) {
		case LU_LISTEN:
			if (p.len != 5) {
				rc = -EILSEQ;
				break;
			}
			lu.listen_fd = (int)get32(p.data);
			*to_syslog = p.data[4] != 0;
			rc = socket_adopt_listener(lu.listen_fd);
			break;
		case LU_CONN:
			rc = adopt_conn(&p, &c);
			nconns += !rc;
			break;
		case LU_WATCH:
			rc = adopt_watch(&p, c);
			break;
		case LU_OUT:
			rc = c ? conn_queue_bytes(c, p.data, p.len, 0) : -EILSEQ;
			break;
		case LU_END:
			ended = true;
			break;
		default:
			rc = -EILSEQ;
		}
	}
	buf_fini(&b);
	if (!rc && (!ended || lu.listen_fd < 0))
		rc = -EILSEQ;
	if (rc)
		elog(ELOG_ERR, "live update: the handover is unreadable at byte %zu: %s",
		     off, strerror(-rc));
	else
		elog(ELOG_INFO, "live update: took over the socket and %u clients",
		     nconns);
	return rc ? rc : lu.listen_fd;
}
