/*
 * Persistence: the store survives the daemon (kill -9 included) in a state
 * directory holding a snapshot and a journal of what was committed since.
 *
 * Both files are sequences of records:
 *
 *   u32 len   bytes of the payload (its type byte and data), little-endian
 *   u32 crc   CRC-32C of the len field and the payload
 *   u8  type  then len - 1 bytes of data
 *
 * A file starts with a HEADER record (its kind and generation).  The
 * journal groups its records by COMMIT markers: replay applies a group
 * whole or not at all, and a torn or corrupt tail (a crash in the middle of
 * a write, a bad CRC) is cut off with one log line.  A snapshot ends with
 * an END record; one without it, or with a bad record, is corrupt and the
 * daemon refuses to start on it (unless --discard-state).
 *
 * The journal holds the resulting state of what each commit applied (a
 * node's path, value and permissions; a removed path), not the requests,
 * and the domains' part of the state: INTRODUCE and RELEASE, SET_TARGET,
 * the watches of domain connections (not socket clients: their connection
 * dies with the daemon), a high-water mark of their transaction ids, and
 * for each domain ring every message queued for it (with the place it
 * takes in the response stream) and how far its requests are handled, so
 * a restart neither loses a reply nor does a request twice (see
 * restore_ring()).
 *
 * Records are appended to an in-memory batch as changes commit and written
 * with one write(2) by persist_flush(), which runs before any reply or
 * watch event leaves the daemon: what a client saw acknowledged is in the
 * kernel's hands first.  With --fsync the batch is also fdatasync'd
 * (group commit, once per batch).
 *
 * Compaction: past max(1 MiB, twice the last snapshot) the store is written
 * as a new snapshot of generation G+1 and a fresh journal of G+1 replaces
 * the old one, each through a temporary file and rename(2); replay ignores
 * a journal older than the snapshot, so a crash at any step leaves a
 * readable state.
 *
 * The code: persist.c keeps persistence's table of domains, the hooks the
 * rest of the daemon calls, and opening and closing the state directory;
 * persist_rec.c the record format and encoders; persist_write.c writing
 * and compaction; persist_load.c reading, replay and the domains after a
 * restart.  persist.h is what they share.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core.h"
#include "persist.h"

#define TXID_BATCH 1024u		/* transaction ids reserved at once */
/* A domain's unsent output is bounded (conn.c: its memory quota, or 16 MiB
 * for a privileged one; reading pauses at 256 KiB): what ended a quarter of
 * the 32-bit stream behind the newest message was delivered long ago. */
#define OUT_KEEP (1u << 30)

struct pstate ps = { .lockfd = -1, .jfd = -1 };

/* Out of memory while recording: the change is in the store but would not
 * survive a restart.  Said loudly; the next compaction writes it anyway. */
static void record_failed(int rc)
{
	elog(ELOG_ERR, "persistence: cannot record a change: %s; a restart before the next snapshot would lose it",
	     strerror(-rc));
}

static void group_end(void)
{
	int rc;

	if (ps.in_ring_batch)
		return;		/* persist_ring_done() ends it */
	rc = persist_rec_add(&ps.pending, PREC_COMMIT, NULL, 0);

	if (rc)
		record_failed(rc);
}

static bool recording(void)
{
	return ps.on && !ps.replaying;
}

/* ---- the domain table ---- */

struct pdom *pdom_find(uint32_t domid, bool create)
{
	struct pdom *d;

	for (d = ps.doms; d; d = d->next)
		if (d->domid == domid)
			return d;
	if (!create)
		return NULL;
	d = calloc(1, sizeof(*d));
	if (!d)
		return NULL;
	d->domid = domid;
	d->target = DOMID_NONE;
	d->txid_upto = 1;
	d->next = ps.doms;
	ps.doms = d;
	return d;
}

void pwatches_free(struct pdom *d)
{
	while (d->watches) {
		struct pwatch *w = d->watches;

		d->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
}

void pouts_free(struct pdom *d)
{
	while (d->out) {
		struct pout *o = d->out;

		d->out = o->next;
		free(o);
	}
	d->out_last = NULL;
	d->req_cons_known = false;
}

/* Keeps the messages that may not have reached the ring yet. */
int pout_add(struct pdom *d, uint32_t start, const void *data,
	     uint32_t len)
{
	struct pout *o = malloc(sizeof(*o) + len);

	if (!o)
		return -ENOMEM;
	o->start = start;
	o->len = len;
	o->next = NULL;
	memcpy(o->data, data, len);
	if (d->out_last)
		d->out_last->next = o;
	else
		d->out = o;
	d->out_last = o;
	while (d->out != o &&
	       (int32_t)(start - (d->out->start + d->out->len)) > (int32_t)OUT_KEEP) {
		struct pout *old = d->out;

		d->out = old->next;
		free(old);
	}
	return 0;
}

/* A domain introduced afresh, or gone: nothing of its former life. */
void pdom_forget(struct pdom *d)
{
	pwatches_free(d);
	pouts_free(d);
	d->target = DOMID_NONE;
	d->txid_upto = 1;
}

void pdom_drop(uint32_t domid)
{
	struct pdom **pp, *d;

	for (pp = &ps.doms; (d = *pp); pp = &d->next) {
		if (d->domid == domid) {
			*pp = d->next;
			pdom_forget(d);
			free(d);
			return;
		}
	}
}

int pwatch_add(struct pdom *d, const char *path, const char *token,
	       bool relative)
{
	struct pwatch *w = calloc(1, sizeof(*w)), **tail;

	if (!w)
		return -ENOMEM;
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token) {
		free(w->path);
		free(w->token);
		free(w);
		return -ENOMEM;
	}
	w->relative = relative;
	/* In the order they were set, so a restore sets them alike. */
	for (tail = &d->watches; *tail; tail = &(*tail)->next)
		;
	*tail = w;
	return 0;
}

void pwatch_del(struct pdom *d, const char *path, const char *token)
{
	struct pwatch **pp, *w;

	for (pp = &d->watches; (w = *pp); pp = &w->next) {
		if (!strcmp(w->path, path) && !strcmp(w->token, token)) {
			*pp = w->next;
			free(w->path);
			free(w->token);
			free(w);
			return;
		}
	}
}

size_t pdom_introduced(void)
{
	const struct pdom *d;
	size_t n = 0;

	for (d = ps.doms; d; d = d->next)
		n += d->introduced;
	return n;
}

/* ---- hooks ---- */

void persist_commit(const struct txn *t, uint64_t gen_before,
		    bool applied_all)
{
	const struct tnode *tn;
	bool any = false;
	int rc = 0;

	if (!recording())
		return;
	for (tn = t->mods; tn && !rc; tn = tn->next_mod) {
		const struct node *n;

		/* A parent whose children changed: they say it. */
		if (tn->exists && tn->base_gen && tn->fire == FIRE_NONE)
			continue;
		/* Born and gone inside the transaction. */
		if (!tn->exists && !tn->base_gen)
			continue;
		any = true;
		if (applied_all) {
			/* The store holds what the transaction says. */
			rc = tn->exists ? add_node_as(&ps.pending, tn->path,
						      tn->value, tn->vlen,
						      &tn->perms)
					: persist_rec_add(&ps.pending, PREC_RM,
							  tn->path,
							  (uint32_t)strlen(tn->path) + 1);
			continue;
		}
		/* What the store holds now, whatever apply() managed. */
		n = store_lookup(tn->path);
		if (n && n->gen <= gen_before)
			continue;	/* unchanged */
		rc = n ? add_node(&ps.pending, tn->path, n)
		       : persist_rec_add(&ps.pending, PREC_RM, tn->path,
					 (uint32_t)strlen(tn->path) + 1);
	}
	if (rc)
		record_failed(rc);
	if (any)
		group_end();
}

void persist_special_perms(const char *which, const struct perms *p)
{
	size_t start;
	int rc;

	if (!recording())
		return;
	rc = rec_begin(&ps.pending, PREC_SPECIAL, &start);
	if (!rc)
		rc = buf_add_str0(&ps.pending, which);
	if (!rc)
		rc = add_perms(&ps.pending, p);
	if (rc) {
		ps.pending.len = start;
		record_failed(rc);
		return;
	}
	rec_end(&ps.pending, start);
	group_end();
}

void persist_introduce(uint32_t domid, uint64_t gfn, uint32_t port)
{
	struct pdom *d;
	int rc;

	if (!recording())
		return;
	d = pdom_find(domid, true);
	if (!d) {
		record_failed(-ENOMEM);
		return;
	}
	if (!d->introduced)
		pdom_forget(d);	/* a fresh introduction */
	d->introduced = true;
	d->gfn = gfn;
	d->port = port;
	rc = add_introduce(&ps.pending, d);
	if (rc)
		record_failed(rc);
	else
		group_end();
}

void persist_release(uint32_t domid)
{
	if (!recording())
		return;
	pdom_drop(domid);
	if (add_domid_rec(&ps.pending, PREC_RELEASE, domid, 0, false))
		record_failed(-ENOMEM);
	else
		group_end();
}

void persist_target(uint32_t domid, uint32_t target)
{
	struct pdom *d;

	if (!recording())
		return;
	d = pdom_find(domid, true);
	if (!d || add_domid_rec(&ps.pending, PREC_TARGET, domid, target, true)) {
		record_failed(-ENOMEM);
		return;
	}
	d->target = target;
	group_end();
}

void persist_watch(const struct conn *c, const char *path, const char *token,
		   bool relative, bool add)
{
	struct pwatch w = { .path = (char *)path, .token = (char *)token,
			    .relative = relative };
	struct pdom *d;

	if (!recording() || c->kind != CONN_DOMAIN)
		return;
	d = pdom_find(c->domid, true);
	if (!d) {
		record_failed(-ENOMEM);
		return;
	}
	if (add ? pwatch_add(d, path, token, relative) : 0) {
		record_failed(-ENOMEM);
		return;
	}
	if (!add)
		pwatch_del(d, path, token);
	if (add_watch(&ps.pending, add ? PREC_WATCH : PREC_UNWATCH, c->domid,
		      &w))
		record_failed(-ENOMEM);
	else
		group_end();
}

void persist_watch_reset(const struct conn *c)
{
	struct pdom *d;

	if (!recording() || c->kind != CONN_DOMAIN)
		return;
	d = pdom_find(c->domid, false);
	if (!d || !d->watches)
		return;
	pwatches_free(d);
	if (add_domid_rec(&ps.pending, PREC_RESET, c->domid, 0, false))
		record_failed(-ENOMEM);
	else
		group_end();
}

void persist_txid(struct conn *c, uint32_t id)
{
	struct pdom *d;
	uint32_t upto;

	if (!recording() || c->kind != CONN_DOMAIN || id < c->txid_reserved)
		return;
	/* Ids are reserved in batches, so this costs a record per 1024
	 * transactions; a restarted daemon hands out ids above them. */
	upto = id < UINT32_MAX - TXID_BATCH ? id + TXID_BATCH : UINT32_MAX;
	d = pdom_find(c->domid, true);
	if (!d || add_domid_rec(&ps.pending, PREC_TXID, c->domid, upto, true)) {
		record_failed(-ENOMEM);
		return;
	}
	d->txid_upto = upto;
	c->txid_reserved = upto;
	group_end();
}


void persist_outmsg(const struct conn *c, const void *msg, uint32_t len)
{
	struct xenstore_domain_interface *intf = ring_of(c);
	uint32_t start;

	if (!recording() || !intf)
		return;
	/* Where it will start in the response stream: after what the ring
	 * got so far and what is queued before it. */
	start = intf->rsp_prod + (uint32_t)(conn_out_bytes(c) - len);
	if (add_out(&ps.pending, c->domid, start, msg, len))
		record_failed(-ENOMEM);
	else
		group_end();
}

void persist_ring_begin(void)
{
	if (!recording())
		return;
	ps.in_ring_batch = true;
	ps.batch_start = ps.pending.len;
}

void persist_ring_done(const struct conn *c, uint32_t req_cons, bool moved)
{
	if (!ps.in_ring_batch)
		return;
	ps.in_ring_batch = false;
	if (moved && ring_of(c) &&
	    add_domid_rec(&ps.pending, PREC_REQCONS, c->domid, req_cons, true))
		record_failed(-ENOMEM);
	if (ps.pending.len > ps.batch_start)
		group_end();
}

void persist_ring_reset(const struct conn *c)
{
	if (!recording() || !ring_of(c))
		return;
	if (add_domid_rec(&ps.pending, PREC_OUTRESET, c->domid, 0, false))
		record_failed(-ENOMEM);
	else
		group_end();
}

struct txn *persist_doomed_txn(struct conn *c, uint32_t id)
{
	struct txn *t;

	/* Only ids the old daemon may have handed this connection (a
	 * domain's after a restart, a socket client's after a live update). */
	if (id == 0 || id >= c->doom_below)
		return NULL;
	t = txn_new(c, id);
	if (!t)
		return NULL;
	t->doomed = true;
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	elog(ELOG_DEBUG, "domain %u: transaction %u of the previous daemon will fail with EAGAIN",
	     c->domid, id);
	return t;
}

static int take_lock(void)
{
	char *path = state_path(STATE_LOCK);

	if (!path)
		return -ENOMEM;
	ps.lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (ps.lockfd < 0) {
		int rc = -errno;

		elog(ELOG_ERR, "cannot open %s: %s", path, strerror(-rc));
		free(path);
		return rc;
	}
	if (flock(ps.lockfd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;

		if (rc == -EBUSY)
			elog(ELOG_ERR, "another xenstored holds %s: two daemons must never share one state directory (give this one --state-dir, or --no-persist)",
			     path);
		else
			elog(ELOG_ERR, "locking %s: %s", path, strerror(-rc));
		free(path);
		return rc;
	}
	free(path);
	return 0;
}

/* Moves the unreadable files aside (name.bad) for a look later. */
static void set_aside(const char *name)
{
	char *path = state_path(name), *bad = NULL;

	if (path && asprintf(&bad, "%s.bad", path) >= 0 && rename(path, bad) == 0)
		elog(ELOG_WARN, "persistence: %s moved to %s", path, bad);
	free(path);
	free(bad);
}

static void pdoms_free(void)
{
	while (ps.doms) {
		struct pdom *d = ps.doms;

		ps.doms = d->next;
		pdom_forget(d);
		free(d);
	}
}

int persist_open(const struct persist_opts *o)
{
	char why[512] = "";
	int rc;

	ps.dir = strdup(o->dir);
	if (!ps.dir)
		return -ENOMEM;
	ps.fsync = o->fsync;
	buf_init(&ps.pending);
	rc = mkdir_p(ps.dir);
	if (rc) {
		elog(ELOG_ERR, "cannot create the state directory %s: %s",
		     ps.dir, strerror(-rc));
		return rc;
	}
	rc = take_lock();
	if (rc)
		return rc;
	ps.replaying = true;
	rc = persist_load(why, sizeof(why));
	if (rc && o->discard) {
		elog(ELOG_WARN, "persistence: %s; --discard-state: starting empty",
		     why);
		if (ps.jfd >= 0)
			close(ps.jfd);
		ps.jfd = -1;
		pdoms_free();
		store_fini();
		rc = store_init();
		if (!rc) {
			set_aside(STATE_SNAPSHOT);
			set_aside(STATE_JOURNAL);
			ps.gen = ps.snap_size = 0;
			rc = journal_start();
		}
	} else if (rc) {
		elog(ELOG_ERR, "persistence: %s; refusing to start rather than lose the saved state (--discard-state starts empty)",
		     why);
	}
	ps.replaying = false;
	if (rc) {
		persist_close();
		return rc == -EILSEQ ? -EIO : rc;
	}
	ps.on = true;
	ps.restoring = true;
	if (ps.fsync)
		elog(ELOG_INFO, "persistence in %s, fdatasync on every batch",
		     ps.dir);
	return 0;
}

void persist_close(void)
{
	persist_flush();
	ps.on = false;
	if (ps.jfd >= 0)
		close(ps.jfd);
	if (ps.lockfd >= 0)
		close(ps.lockfd);
	ps.jfd = ps.lockfd = -1;
	buf_fini(&ps.pending);
	pdoms_free();
	free(ps.dir);
	ps.dir = NULL;
}

bool persist_on(void)
{
	return ps.on;
}
