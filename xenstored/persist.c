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
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

#define PERSIST_MAGIC "ENSOXS01"
#define MAGIC_LEN 8
#define REC_MAX (1u << 20)		/* no record is bigger */
#define COMPACT_MIN (1u << 20)		/* journal bytes before compaction */
#define TXID_BATCH 1024u		/* transaction ids reserved at once */
/* A domain's unsent output is bounded (conn.c: its memory quota, or 16 MiB
 * for a privileged one; reading pauses at 256 KiB): what ended a quarter of
 * the 32-bit stream behind the newest message was delivered long ago. */
#define OUT_KEEP (1u << 30)

/* The journal's and the snapshot's file names in the state directory. */
#define STATE_LOCK "xenstored.lock"
#define STATE_JOURNAL "xenstored.journal"
#define STATE_SNAPSHOT "xenstored.snapshot"

struct pwatch {
	char *path;	/* absolute, or @special */
	char *token;
	bool relative;
	struct pwatch *next;
};

/* A message to a domain as the journal has it: its place in the stream
 * of the response ring (the rsp_prod it starts at), and its bytes.  Kept
 * while replaying, until the domain's ring is back. */
struct pout {
	uint32_t start, len;
	struct pout *next;
	uint8_t data[];
};

/* What the state says of a domain: introduced (Xen) and its connection's
 * lasting part.  dom0's ring is never introduced but has watches. */
struct pdom {
	uint32_t domid;
	bool introduced;
	uint64_t gfn;
	uint32_t port;
	uint32_t target;
	uint32_t txid_upto;
	struct pwatch *watches;
	struct pout *out, *out_last;	/* replayed, not known delivered */
	bool req_cons_known;
	uint32_t req_cons;		/* requests handled up to here */
	struct pdom *next;
};

static struct {
	bool on;
	bool replaying;		/* applying state: hooks record nothing */
	bool restoring;		/* from open until the domains are back */
	bool in_ring_batch;	/* one group for a ring's batch of requests */
	bool compact_wanted;	/* CONTROL snapshot inside a ring batch */
	size_t batch_start;	/* pending.len when the batch began */
	bool fsync;
	bool write_failed;	/* logged once until a write succeeds */
	char *dir;
	int lockfd, jfd;
	uint64_t gen;
	uint64_t jsize;		/* good bytes in the journal file */
	uint64_t snap_size;
	struct buf pending;	/* records not yet written */
	struct pdom *doms;
} ps = { .lockfd = -1, .jfd = -1 };

/* ---- the record format ---- */

/*
 * CRC-32C (Castagnoli, reflected, polynomial 0x82f63b78): the CRC-32 that
 * x86's SSE4.2 computes in one instruction per 8 bytes.  The checksum was
 * most of what journaling a write cost; with the instruction it is next to
 * nothing.  Without it, eight bytes a step in software: t[k][b] is the CRC
 * of byte b followed by k zero bytes, so a step's eight lookups are
 * independent.
 */
#define CRC32C_POLY 0x82f63b78u

static uint32_t crc_t[8][256];
static int crc_hw = -1;		/* unknown yet */

static void crc_init(void)
{
	uint32_t n, k, c;

	for (n = 0; n < 256; n++) {
		for (c = n, k = 0; k < 8; k++)
			c = c & 1 ? CRC32C_POLY ^ (c >> 1) : c >> 1;
		crc_t[0][n] = c;
	}
	for (n = 0; n < 256; n++)
		for (c = crc_t[0][n], k = 1; k < 8; k++) {
			c = crc_t[0][c & 0xff] ^ (c >> 8);
			crc_t[k][n] = c;
		}
}

static uint32_t get32(const uint8_t *p);

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; len; p++, len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p);
	return (uint32_t)c;
}
#endif

uint32_t persist_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (crc_hw < 0) {
		crc_init();
#if defined(__x86_64__) && defined(__GNUC__)
		__builtin_cpu_init();
		crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
		crc_hw = 0;
#endif
	}
#if defined(__x86_64__) && defined(__GNUC__)
	if (crc_hw)
		return ~crc_sse42(~crc, p, len);
#endif
	return persist_crc32_sw(crc, p, len);
}

uint32_t persist_crc32_sw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!crc_t[0][1])
		crc_init();
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t lo = get32(p) ^ crc, hi = get32(p + 4);

		crc = crc_t[7][lo & 0xff] ^ crc_t[6][(lo >> 8) & 0xff] ^
		      crc_t[5][(lo >> 16) & 0xff] ^ crc_t[4][lo >> 24] ^
		      crc_t[3][hi & 0xff] ^ crc_t[2][(hi >> 8) & 0xff] ^
		      crc_t[1][(hi >> 16) & 0xff] ^ crc_t[0][hi >> 24];
	}
	for (; len; p++, len--)
		crc = crc_t[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* A record being built in a buffer: begin, add data, end. */
static int rec_begin(struct buf *b, uint8_t type, size_t *start)
{
	uint8_t hdr[PREC_HDR + 1] = { 0 };

	*start = b->len;
	hdr[PREC_HDR] = type;
	return buf_add(b, hdr, sizeof(hdr));
}

static void rec_end(struct buf *b, size_t start)
{
	uint8_t *p = (uint8_t *)b->p + start;
	uint32_t len = (uint32_t)(b->len - start - PREC_HDR);

	put32(p, len);
	put32(p + 4, persist_crc32(persist_crc32(0, p, 4), p + PREC_HDR, len));
}

int persist_rec_add(struct buf *b, uint8_t type, const void *data,
		    uint32_t len)
{
	size_t start;
	int rc;

	if (len >= REC_MAX)
		return -E2BIG;
	rc = rec_begin(b, type, &start);
	if (!rc)
		rc = buf_add(b, data, len);
	if (rc) {
		b->len = start;
		return rc;
	}
	rec_end(b, start);
	return 0;
}

int persist_rec_parse(const void *buf, size_t avail, struct prec *out)
{
	const uint8_t *p = buf;
	uint32_t len;

	if (avail < PREC_HDR)
		return -EAGAIN;
	len = get32(p);
	if (len == 0 || len >= REC_MAX)
		return -EILSEQ;
	if (avail - PREC_HDR < len)
		return -EAGAIN;
	if (get32(p + 4) !=
	    persist_crc32(persist_crc32(0, p, 4), p + PREC_HDR, len))
		return -EILSEQ;
	out->type = p[PREC_HDR];
	out->data = p + PREC_HDR + 1;
	out->len = len - 1;
	out->size = PREC_HDR + len;
	return 0;
}

/* ---- encoding what changed ---- */

static int add_perms(struct buf *b, const struct perms *p)
{
	uint8_t n[2] = { (uint8_t)p->n, (uint8_t)(p->n >> 8) };
	uint16_t i;
	int rc = buf_add(b, n, 2);

	for (i = 0; !rc && i < p->n; i++) {
		uint8_t e[3] = { (uint8_t)p->p[i].domid,
				 (uint8_t)(p->p[i].domid >> 8),
				 (uint8_t)p->p[i].mode };

		rc = buf_add(b, e, sizeof(e));
	}
	return rc;
}

/* NODE: u32 vlen, path\0, perms (u16 n, n x {u16 domid, u8 mode}), value.
 * Built in place: this runs for every node every commit changes. */
static int add_node_as(struct buf *b, const char *path, const char *value,
		       uint32_t vlen, const struct perms *p)
{
	size_t pl = strlen(path) + 1;
	size_t len = 1 + 4 + pl + 2 + 3 * (size_t)p->n + vlen;
	uint8_t *d;
	uint16_t i;

	if (len >= REC_MAX)
		return -E2BIG;
	if (buf_reserve(b, PREC_HDR + len))
		return -ENOMEM;
	d = (uint8_t *)b->p + b->len + PREC_HDR;
	*d++ = PREC_NODE;
	put32(d, vlen);
	d += 4;
	memcpy(d, path, pl);
	d += pl;
	*d++ = (uint8_t)p->n;
	*d++ = (uint8_t)(p->n >> 8);
	for (i = 0; i < p->n; i++) {
		*d++ = (uint8_t)p->p[i].domid;
		*d++ = (uint8_t)(p->p[i].domid >> 8);
		*d++ = (uint8_t)p->p[i].mode;
	}
	if (vlen)
		memcpy(d, value, vlen);
	b->len += PREC_HDR + len;
	rec_end(b, b->len - PREC_HDR - len);
	return 0;
}

static int add_node(struct buf *b, const char *path, const struct node *n)
{
	struct perms p = node_perms(n);

	return add_node_as(b, path, node_value(n), n->vlen, &p);
}

static int add_domid_rec(struct buf *b, uint8_t type, uint32_t domid,
			 uint32_t v, bool with_v)
{
	uint8_t d[8];

	put32(d, domid);
	put32(d + 4, v);
	return persist_rec_add(b, type, d, with_v ? 8 : 4);
}

static int add_watch(struct buf *b, uint8_t type, uint32_t domid,
		     const struct pwatch *w)
{
	uint8_t d[5];
	size_t start;
	int rc;

	put32(d, domid);
	d[4] = w->relative;
	rc = rec_begin(b, type, &start);
	if (!rc)
		rc = buf_add(b, d, type == PREC_WATCH ? 5 : 4);
	if (!rc)
		rc = buf_add_str0(b, w->path);
	if (!rc)
		rc = buf_add_str0(b, w->token);
	if (rc) {
		b->len = start;
		return rc;
	}
	rec_end(b, start);
	return 0;
}

static int add_introduce(struct buf *b, const struct pdom *d)
{
	uint8_t r[16];

	put32(r, d->domid);
	put64(r + 4, d->gfn);
	put32(r + 12, d->port);
	return persist_rec_add(b, PREC_INTRODUCE, r, sizeof(r));
}

static int add_header(struct buf *b, uint8_t kind, uint64_t gen)
{
	uint8_t h[MAGIC_LEN + 1 + 8];

	memcpy(h, PERSIST_MAGIC, MAGIC_LEN);
	h[MAGIC_LEN] = kind;
	put64(h + MAGIC_LEN + 1, gen);
	return persist_rec_add(b, PREC_HEADER, h, sizeof(h));
}

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

static struct pdom *pdom_find(uint32_t domid, bool create)
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

static void pwatches_free(struct pdom *d)
{
	while (d->watches) {
		struct pwatch *w = d->watches;

		d->watches = w->next;
		free(w->path);
		free(w->token);
		free(w);
	}
}

static void pouts_free(struct pdom *d)
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
static int pout_add(struct pdom *d, uint32_t start, const void *data,
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
static void pdom_forget(struct pdom *d)
{
	pwatches_free(d);
	pouts_free(d);
	d->target = DOMID_NONE;
	d->txid_upto = 1;
}

static void pdom_drop(uint32_t domid)
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

static int pwatch_add(struct pdom *d, const char *path, const char *token,
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

static void pwatch_del(struct pdom *d, const char *path, const char *token)
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

static size_t pdom_introduced(void)
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

/* The domain conn's ring, if it has one (unit tests' connections do not). */
static struct xenstore_domain_interface *ring_of(const struct conn *c)
{
	return c->kind == CONN_DOMAIN && c->dom ? c->dom->intf : NULL;
}

static int add_out(struct buf *b, uint32_t domid, uint32_t start,
		   const void *data, uint32_t len)
{
	uint8_t h[8];
	size_t at;
	int rc;

	put32(h, domid);
	put32(h + 4, start);
	rc = rec_begin(b, PREC_OUT, &at);
	if (!rc)
		rc = buf_add(b, h, 8);
	if (!rc)
		rc = buf_add(b, data, len);
	if (rc) {
		b->len = at;
		return rc;
	}
	rec_end(b, at);
	return 0;
}

void persist_outmsg(const struct conn *c, const struct outmsg *m)
{
	struct xenstore_domain_interface *intf = ring_of(c);
	uint32_t start;

	if (!recording() || !intf)
		return;
	/* Where it will start in the response stream: after what the ring
	 * got so far and what is queued before it. */
	start = intf->rsp_prod + (uint32_t)(c->out_bytes - m->len);
	if (add_out(&ps.pending, c->domid, start, m->data, m->len))
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

/* ---- writing ---- */

static char *state_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", ps.dir, name) < 0)
		return NULL;
	return p;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int sync_dir(void)
{
	int fd = open(ps.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Writes data to DIR/name through name.tmp and rename(2); *fd_out keeps
 * the file open (for the journal) when given. */
static int write_file(const char *name, const struct buf *data, int *fd_out)
{
	char *path = state_path(name), *tmp = NULL;
	int fd = -1, rc;

	if (!path || asprintf(&tmp, "%s.tmp", path) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, data->p, data->len);
	if (!rc && ps.fsync && fdatasync(fd) < 0)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc && ps.fsync)
		rc = sync_dir();
	if (rc)
		unlink(tmp);
out:
	if (fd >= 0 && (rc || !fd_out))
		close(fd);
	else if (fd_out)
		*fd_out = fd;
	free(path);
	free(tmp);
	return rc;
}

static int snap_nodes(struct buf *b, const struct node *n, uint64_t *count)
{
	char *path = store_path_of(n);
	uint32_t i;
	int rc;

	if (!path)
		return -ENOMEM;
	rc = add_node(b, path, n);
	free(path);
	(*count)++;
	for (i = 0; !rc && i < node_nkids(n); i++)
		rc = snap_nodes(b, node_kid(n, i), count);
	return rc;
}

/* What a domain has not yet got: its connection's queue (the head maybe
 * partly in the ring), or what replay kept for a domain not served here. */
static int snap_output(struct buf *b, const struct pdom *d)
{
	const struct domain *dom = domain_find(d->domid);
	const struct pout *o;
	int rc = 0;

	if (dom && dom->conn && dom->intf) {
		const struct outmsg *m = dom->conn->out;
		uint32_t start = m ? dom->intf->rsp_prod - m->off : 0;

		for (; m && !rc; m = m->next) {
			rc = add_out(b, d->domid, start, m->data, m->len);
			start += m->len;
		}
		return rc;
	}
	for (o = d->out; o && !rc; o = o->next)
		rc = add_out(b, d->domid, o->start, o->data, o->len);
	return rc;
}

static int snapshot_build(struct buf *b, uint64_t gen)
{
	const struct pdom *d;
	uint64_t count = 0;
	uint8_t end[8];
	size_t start;
	int rc = add_header(b, PREC_KIND_SNAPSHOT, gen);

	if (!rc)
		rc = snap_nodes(b, store.root, &count);
	for (int i = 0; !rc && i < 2; i++) {
		rc = rec_begin(b, PREC_SPECIAL, &start);
		if (!rc)
			rc = buf_add_str0(b, i ? "@releaseDomain"
					       : "@introduceDomain");
		if (!rc)
			rc = add_perms(b, i ? &store.release_perms
					    : &store.intro_perms);
		if (!rc)
			rec_end(b, start);
	}
	for (d = ps.doms; d && !rc; d = d->next) {
		const struct pwatch *w;

		if (d->introduced)
			rc = add_introduce(b, d);
		if (!rc && d->target != DOMID_NONE)
			rc = add_domid_rec(b, PREC_TARGET, d->domid, d->target,
					   true);
		if (!rc && d->txid_upto > 1)
			rc = add_domid_rec(b, PREC_TXID, d->domid,
					   d->txid_upto, true);
		for (w = d->watches; w && !rc; w = w->next)
			rc = add_watch(b, PREC_WATCH, d->domid, w);
		if (!rc)
			rc = snap_output(b, d);
	}
	put64(end, count);
	if (!rc)
		rc = persist_rec_add(b, PREC_END, end, sizeof(end));
	return rc;
}

/* A new snapshot of generation gen+1, then a fresh journal of gen+1. */
static int compact(void)
{
	struct buf snap, jr;
	uint64_t gen = ps.gen + 1;
	int fd = -1, rc;

	buf_init(&snap);
	buf_init(&jr);
	rc = snapshot_build(&snap, gen);
	if (!rc)
		rc = add_header(&jr, PREC_KIND_JOURNAL, gen);
	if (rc)
		goto out;
	rc = write_file(STATE_SNAPSHOT, &snap, NULL);
	if (rc) {
		elog(ELOG_ERR, "persistence: writing a snapshot in %s: %s; keeping the journal",
		     ps.dir, strerror(-rc));
		goto out;
	}
	/* From here the old journal is behind the snapshot: replay ignores
	 * it, and appending to it would be lost. */
	rc = write_file(STATE_JOURNAL, &jr, &fd);
	if (rc) {
		elog(ELOG_ERR, "persistence: starting a journal in %s: %s; persistence is off (the snapshot holds the state until now)",
		     ps.dir, strerror(-rc));
		close(ps.jfd);
		ps.jfd = -1;
		ps.on = false;
		goto out;
	}
	close(ps.jfd);
	ps.jfd = fd;
	ps.gen = gen;
	ps.jsize = jr.len;
	ps.snap_size = snap.len;
	elog(ELOG_DEBUG, "persistence: snapshot %llu of %zu bytes",
	     (unsigned long long)gen, snap.len);
out:
	buf_fini(&snap);
	buf_fini(&jr);
	return rc;
}

void persist_flush(void)
{
	int rc;

	if (!ps.on || !ps.pending.len)
		return;
	rc = write_all(ps.jfd, ps.pending.p, ps.pending.len);
	if (!rc && ps.fsync && fdatasync(ps.jfd) < 0)
		rc = -errno;
	if (rc) {
		/* Keep the batch and write it whole next time, after what
		 * the journal held good. */
		if (!ps.write_failed)
			elog(ELOG_ERR, "persistence: writing %s/%s: %s; changes are kept in memory and retried",
			     ps.dir, STATE_JOURNAL, strerror(-rc));
		ps.write_failed = true;
		if (ftruncate(ps.jfd, (off_t)ps.jsize) < 0 ||
		    lseek(ps.jfd, (off_t)ps.jsize, SEEK_SET) < 0)
			elog(ELOG_ERR, "persistence: cutting %s back: %s",
			     STATE_JOURNAL, strerror(errno));
		return;
	}
	if (ps.write_failed)
		elog(ELOG_INFO, "persistence: writing the journal works again");
	ps.write_failed = false;
	ps.jsize += ps.pending.len;
	ps.pending.len = 0;
}

void persist_maybe_compact(void)
{
	if (ps.on && (ps.compact_wanted ||
		      (ps.jsize > COMPACT_MIN && ps.jsize > 2 * ps.snap_size))) {
		ps.compact_wanted = false;
		persist_flush();
		if (ps.on)
			compact();
	}
}

/* ---- reading ---- */

static int read_file(const char *name, struct buf *b, bool *exists)
{
	char *path = state_path(name);
	struct stat st;
	int fd, rc = 0;

	*exists = false;
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	*exists = true;
	rc = buf_reserve(b, (size_t)st.st_size + 1);
	while (!rc) {
		ssize_t n = read(fd, b->p + b->len, b->cap - b->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		if (n <= 0)
			break;
		b->len += (size_t)n;
		if (b->len == b->cap)
			rc = buf_reserve(b, 65536);
	}
out:
	close(fd);
	return rc;
}

/* Cursor over a record's data. */
struct rd {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const void *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint32_t rd32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p ? get32(p) : 0;
}

static const char *rd_str(struct rd *r)
{
	const uint8_t *nul;
	const char *s;

	if (r->bad)
		return NULL;
	nul = memchr(r->p, '\0', r->left);
	if (!nul) {
		r->bad = true;
		return NULL;
	}
	s = (const char *)r->p;
	rd_take(r, (size_t)(nul - r->p) + 1);
	return s;
}

static int rd_perms(struct rd *r, struct perms *out)
{
	const uint8_t *n = rd_take(r, 2);
	uint16_t i, cnt;

	if (!n)
		return -EILSEQ;
	cnt = (uint16_t)(n[0] | n[1] << 8);
	if (!cnt)
		return -EILSEQ;
	out->p = calloc(cnt, sizeof(*out->p));
	if (!out->p)
		return -ENOMEM;
	out->n = cnt;
	for (i = 0; i < cnt; i++) {
		const uint8_t *e = rd_take(r, 3);

		if (!e || e[2] > PERM_BOTH) {
			perms_free(out);
			return -EILSEQ;
		}
		out->p[i].domid = (uint16_t)(e[0] | e[1] << 8);
		out->p[i].mode = e[2];
	}
	return 0;
}

static bool perms_same(const struct perms *a, const struct perms *b)
{
	return a->n == b->n && !memcmp(a->p, b->p, a->n * sizeof(*a->p));
}

static int apply_node(struct rd *r)
{
	uint32_t vlen = rd32(r);
	const char *path = rd_str(r), *value;
	struct perms p = { 0 };
	struct node *n, *parent;
	char *pp;
	int rc;

	if (!path || path[0] != '/' || strlen(path) > XENSTORE_ABS_PATH_MAX)
		return -EILSEQ;
	rc = rd_perms(r, &p);
	if (rc)
		return rc;
	value = rd_take(r, vlen);
	if (!value || r->left) {
		perms_free(&p);
		return -EILSEQ;
	}
	n = store_lookup(path);
	if (n) {
		struct perms cur = node_perms(n);

		if (n->vlen != vlen || (vlen && memcmp(node_value(n), value, vlen)))
			rc = store_set_value(n, value, vlen);
		if (!rc && !perms_same(&cur, &p))
			rc = store_set_perms(n, &p);
		perms_free(&p);
		return rc;
	}
	pp = malloc(strlen(path) + 1);
	if (!pp) {
		perms_free(&p);
		return -ENOMEM;
	}
	/* Parents come first, in the journal as in a snapshot. */
	parent = path_parent(path, pp) ? store_lookup(pp) : NULL;
	free(pp);
	rc = parent ? store_create(parent, path_basename(path), value, vlen,
				   &p, NULL)
		    : -EILSEQ;
	perms_free(&p);
	return rc;
}

static int apply_rm(struct rd *r)
{
	const char *path = rd_str(r);
	struct node *n;

	if (!path || path[0] != '/' || r->left)
		return -EILSEQ;
	n = store_lookup(path);
	if (n)
		store_delete(n);
	return 0;
}

static int apply_special(struct rd *r)
{
	const char *which = rd_str(r);
	struct perms p, *dst;
	int rc;

	if (!which)
		return -EILSEQ;
	if (!strcmp(which, "@introduceDomain"))
		dst = &store.intro_perms;
	else if (!strcmp(which, "@releaseDomain"))
		dst = &store.release_perms;
	else
		return -EILSEQ;
	rc = rd_perms(r, &p);
	if (rc)
		return rc;
	perms_free(dst);
	*dst = p;
	return 0;
}

static int apply_domain(uint8_t type, struct rd *r)
{
	uint32_t domid = rd32(r), v;
	struct pdom *d;
	const uint8_t *rel;
	const char *path, *token;

	if (r->bad || domid >= NR_DOMIDS)
		return -EILSEQ;
	switch (type) {
	case PREC_RELEASE:
		pdom_drop(domid);
		return r->left ? -EILSEQ : 0;
	case PREC_RESET:
		d = pdom_find(domid, false);
		if (d)
			pwatches_free(d);
		return r->left ? -EILSEQ : 0;
	case PREC_OUTRESET:
		d = pdom_find(domid, false);
		if (d)
			pouts_free(d);
		return r->left ? -EILSEQ : 0;
	}
	d = pdom_find(domid, true);
	if (!d)
		return -ENOMEM;
	switch (type) {
	case PREC_INTRODUCE: {
		const uint8_t *g = rd_take(r, 8);

		v = rd32(r);
		if (!g || r->bad || r->left)
			return -EILSEQ;
		if (!d->introduced)
			pdom_forget(d);
		d->introduced = true;
		d->gfn = get64(g);
		d->port = v;
		return 0;
	}
	case PREC_OUT:
		v = rd32(r);
		if (r->bad || !r->left)
			return -EILSEQ;
		return pout_add(d, v, r->p, (uint32_t)r->left);
	case PREC_REQCONS:
		v = rd32(r);
		if (r->bad || r->left)
			return -EILSEQ;
		d->req_cons = v;
		d->req_cons_known = true;
		return 0;
	case PREC_TARGET:
	case PREC_TXID:
		v = rd32(r);
		if (r->bad || r->left)
			return -EILSEQ;
		if (type == PREC_TARGET)
			d->target = v;
		else
			d->txid_upto = v;
		return 0;
	case PREC_WATCH:
	case PREC_UNWATCH:
		rel = type == PREC_WATCH ? rd_take(r, 1) : NULL;
		path = rd_str(r);
		token = rd_str(r);
		if (r->bad || r->left)
			return -EILSEQ;
		if (type == PREC_UNWATCH) {
			pwatch_del(d, path, token);
			return 0;
		}
		pwatch_del(d, path, token);
		return pwatch_add(d, path, token, rel && *rel);
	}
	return -EILSEQ;
}

static int apply_rec(const struct prec *rec)
{
	struct rd r = { .p = rec->data, .left = rec->len };

	switch (rec->type) {
	case PREC_NODE: return apply_node(&r);
	case PREC_RM: return apply_rm(&r);
	case PREC_SPECIAL: return apply_special(&r);
	case PREC_INTRODUCE:
	case PREC_RELEASE:
	case PREC_TARGET:
	case PREC_WATCH:
	case PREC_UNWATCH:
	case PREC_RESET:
	case PREC_TXID:
	case PREC_OUT:
	case PREC_OUTRESET:
	case PREC_REQCONS:
		return apply_domain(rec->type, &r);
	}
	return -EILSEQ;
}

static int parse_header(const struct buf *b, uint8_t kind, uint64_t *gen,
			size_t *off)
{
	struct prec rec;

	if (persist_rec_parse(b->p, b->len, &rec) || rec.type != PREC_HEADER ||
	    rec.len != MAGIC_LEN + 1 + 8 ||
	    memcmp(rec.data, PERSIST_MAGIC, MAGIC_LEN) ||
	    rec.data[MAGIC_LEN] != kind)
		return -EILSEQ;
	*gen = get64(rec.data + MAGIC_LEN + 1);
	*off = rec.size;
	return 0;
}

/* Applies a whole snapshot; the offset of a failure in *bad_at. */
static int load_snapshot(const struct buf *b, uint64_t *gen, size_t *bad_at,
			 const char **why)
{
	size_t off;
	struct prec rec;
	int rc;

	*bad_at = 0;
	*why = "no valid header";
	if (parse_header(b, PREC_KIND_SNAPSHOT, gen, &off))
		return -EILSEQ;
	for (;;) {
		*bad_at = off;
		rc = persist_rec_parse(b->p + off, b->len - off, &rec);
		if (rc) {
			*why = rc == -EAGAIN ? "truncated (no end record)"
					     : "bad record (length or CRC)";
			return -EILSEQ;
		}
		if (rec.type == PREC_END) {
			if (rec.len != 8 || get64(rec.data) != store.nnodes) {
				*why = "end record does not match the nodes read";
				return -EILSEQ;
			}
			return 0;
		}
		rc = apply_rec(&rec);
		if (rc) {
			*why = rc == -ENOMEM ? "out of memory"
					     : "record does not apply";
			return rc;
		}
		off += rec.size;
	}
}

/* Applies the journal's whole groups; *good is where the valid part ends.
 * A record that parses but does not apply is corruption, not a tail. */
static int load_journal(const struct buf *b, size_t off, size_t *good,
			const char **why)
{
	size_t group = off;
	struct prec rec;
	int rc;

	*good = off;
	while (off < b->len) {
		if (persist_rec_parse(b->p + off, b->len - off, &rec))
			return 0;	/* the tail */
		if (rec.type == PREC_COMMIT) {
			size_t at = group;

			while (at < off) {
				struct prec r;

				persist_rec_parse(b->p + at, b->len - at, &r);
				rc = apply_rec(&r);
				if (rc) {
					*good = at;
					*why = rc == -ENOMEM ? "out of memory"
							     : "record does not apply";
					return rc;
				}
				at += r.size;
			}
			off += rec.size;
			group = *good = off;
			continue;
		}
		if (rec.type == PREC_HEADER || rec.type == PREC_END)
			return 0;	/* does not belong: treat as the tail */
		off += rec.size;
	}
	return 0;
}

static int journal_start(void)
{
	struct buf jr;
	int rc;

	buf_init(&jr);
	rc = add_header(&jr, PREC_KIND_JOURNAL, ps.gen);
	if (!rc)
		rc = write_file(STATE_JOURNAL, &jr, &ps.jfd);
	ps.jsize = jr.len;
	buf_fini(&jr);
	return rc;
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

/* Loads the state; -EILSEQ with *why for a state that cannot be read. */
static int load(char *why, size_t whylen)
{
	struct buf snap, jr;
	bool have_snap, have_jr;
	uint64_t jgen = 0;
	size_t off, good, bad_at;
	const char *what = "";
	int rc;

	buf_init(&snap);
	buf_init(&jr);
	ps.gen = 0;
	ps.snap_size = 0;
	rc = read_file(STATE_SNAPSHOT, &snap, &have_snap);
	if (!rc)
		rc = read_file(STATE_JOURNAL, &jr, &have_jr);
	if (rc) {
		snprintf(why, whylen, "reading the state: %s", strerror(-rc));
		goto out;
	}
	if (have_snap) {
		rc = load_snapshot(&snap, &ps.gen, &bad_at, &what);
		if (rc) {
			snprintf(why, whylen, "%s/%s is corrupt at byte %zu of %zu: %s",
				 ps.dir, STATE_SNAPSHOT, bad_at, snap.len, what);
			goto out;
		}
		ps.snap_size = snap.len;
	}
	if (have_jr && jr.len) {
		if (parse_header(&jr, PREC_KIND_JOURNAL, &jgen, &off)) {
			rc = -EILSEQ;
			snprintf(why, whylen, "%s/%s has no valid header",
				 ps.dir, STATE_JOURNAL);
			goto out;
		}
		if (jgen > ps.gen) {
			rc = -EILSEQ;
			snprintf(why, whylen, "%s/%s is of generation %llu, after the snapshot's %llu (the snapshot is missing or old)",
				 ps.dir, STATE_JOURNAL, (unsigned long long)jgen,
				 (unsigned long long)ps.gen);
			goto out;
		}
	}
	if (have_jr && jr.len && jgen == ps.gen) {
		rc = load_journal(&jr, off, &good, &what);
		if (rc) {
			snprintf(why, whylen, "%s/%s: %s at byte %zu",
				 ps.dir, STATE_JOURNAL, what, good);
			goto out;
		}
		if (good < jr.len)
			elog(ELOG_WARN, "persistence: discarded %zu bytes of torn or corrupt journal tail (%s/%s from byte %zu)",
			     jr.len - good, ps.dir, STATE_JOURNAL, good);
		/* Append after the good part: reopen it as it is. */
		{
			char *path = state_path(STATE_JOURNAL);

			ps.jfd = path ? open(path, O_WRONLY | O_CLOEXEC) : -1;
			free(path);
			if (ps.jfd < 0 || ftruncate(ps.jfd, (off_t)good) < 0 ||
			    lseek(ps.jfd, (off_t)good, SEEK_SET) < 0) {
				rc = -errno;
				snprintf(why, whylen, "reopening %s: %s",
					 STATE_JOURNAL, strerror(errno));
				goto out;
			}
		}
		ps.jsize = good;
	} else {
		if (have_jr && jr.len)
			elog(ELOG_INFO, "persistence: journal of generation %llu is older than the snapshot's %llu: ignored",
			     (unsigned long long)jgen, (unsigned long long)ps.gen);
		rc = journal_start();
		if (rc) {
			snprintf(why, whylen, "starting %s/%s: %s", ps.dir,
				 STATE_JOURNAL, strerror(-rc));
			goto out;
		}
	}
	if (have_snap || (have_jr && jr.len))
		elog(ELOG_INFO, "restored %llu nodes, %zu domains from %s",
		     (unsigned long long)store.nnodes, pdom_introduced(),
		     ps.dir);
out:
	buf_fini(&snap);
	buf_fini(&jr);
	return rc;
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
	rc = load(why, sizeof(why));
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

int persist_compact(void)
{
	if (!ps.on)
		return -EINVAL;
	if (ps.in_ring_batch) {
		/* Not in the middle of a ring's batch: at the loop's end. */
		ps.compact_wanted = true;
		return 0;
	}
	persist_flush();
	return ps.on ? compact() : -EIO;
}

/* ---- domains after a restart ---- */

static void fire_once(struct conn *c, const struct pwatch *w)
{
	const char *epath = w->path;
	char home[32];
	size_t hl;
	struct buf b;

	/* As the watch was set: a relative one names a relative path. */
	hl = (size_t)snprintf(home, sizeof(home), "/local/domain/%u/",
			      c->domid);
	if (w->relative && !strncmp(epath, home, hl))
		epath += hl;
	buf_init(&b);
	if (!buf_add_str0(&b, epath) && !buf_add_str0(&b, w->token))
		conn_send(c, XS_WATCH_EVENT, 0, 0, b.p, (uint32_t)b.len, true);
	buf_fini(&b);
}

/*
 * The ring as the old daemon left it: requests it handled (journaled) but
 * had not yet taken off the ring are taken off now, and the replies and
 * events the domain had not got are queued again, the first one from where
 * the ring stopped, so the domain sees each byte exactly once.
 */
static void restore_ring(struct conn *c, struct pdom *d)
{
	struct xenstore_domain_interface *intf = ring_of(c);
	uint32_t prod, resent = 0, skipped = 0;
	struct pout *o;

	if (!intf)
		return;
	if (d->req_cons_known) {
		uint32_t ahead = d->req_cons - intf->req_cons;

		if (ahead && ahead <= XENSTORE_RING_SIZE &&
		    intf->req_prod - d->req_cons <= XENSTORE_RING_SIZE) {
			intf->req_cons = d->req_cons;
			skipped = ahead;
		}
	}
	prod = intf->rsp_prod;
	for (o = d->out; o; o = o->next) {
		uint32_t done = prod - o->start;
		struct outmsg *m;

		if ((int32_t)done < 0)
			done = 0;	/* not begun */
		if (done >= o->len)
			continue;	/* delivered */
		m = malloc(sizeof(*m) + o->len);
		if (!m) {
			elog(ELOG_ERR, "domain %u: out of memory resending its replies",
			     d->domid);
			break;
		}
		m->next = NULL;
		m->len = o->len;
		m->off = done;
		m->is_event = false;
		memcpy(m->data, o->data, o->len);
		*c->out_tail = m;
		c->out_tail = &m->next;
		c->out_bytes += o->len - done;
		c->out_count++;
		resent++;
	}
	pouts_free(d);
	if (skipped || resent)
		elog(ELOG_INFO, "domain %u: %u request bytes were handled before the restart; %u replies or events resent",
		     d->domid, skipped, resent);
}

void persist_restore_conn(struct conn *c)
{
	const struct pwatch *w;
	struct pdom *d;
	size_t n = 0;

	if (!ps.on || !ps.restoring || c->kind != CONN_DOMAIN)
		return;
	d = pdom_find(c->domid, false);
	if (!d)
		return;
	restore_ring(c, d);
	ps.replaying = true;
	c->target = d->target;
	c->next_txid = d->txid_upto;
	c->txid_reserved = d->txid_upto;
	c->doom_below = d->txid_upto;
	for (w = d->watches; w; w = w->next) {
		int rc = watch_add(c, w->path, w->token, w->relative);

		if (rc)
			elog(ELOG_WARN, "domain %u: restoring watch %s %s: %s",
			     d->domid, w->path, w->token, strerror(-rc));
		else
			n++;
	}
	ps.replaying = false;
	/* Each fires once: the guest re-reads what may have changed. */
	for (w = d->watches; w; w = w->next)
		fire_once(c, w);
	if (n)
		elog(ELOG_INFO, "domain %u: %zu watches restored", d->domid, n);
}

void persist_restore_domains(bool xen)
{
	struct pdom *d, *next;
	size_t alive = 0, gone = 0;

	if (!ps.on)
		return;
	if (!xen) {
		ps.restoring = false;
		if (pdom_introduced())
			elog(ELOG_WARN, "persistence: %zu introduced domains in %s, but no Xen here: kept, not served",
			     pdom_introduced(), ps.dir);
		return;
	}
	for (d = ps.doms; d; d = next) {
		uint32_t domid = d->domid;
		struct domain *dom;
		int rc = 0;

		next = d->next;
		if (!d->introduced)
			continue;	/* dom0: restored as its ring connected */
		/* Its connection gets its watches and transaction ids (through
		 * persist_restore_conn()) before its ring is read. */
		rc = domain_restore(domid, d->gfn, d->port);
		dom = domain_find(domid);
		if (!rc && dom && dom->conn) {
			alive++;
			continue;
		}
		if (rc != -ESRCH) {
			/* Alive but not served: kept, for a later try. */
			elog(ELOG_ERR, "domain %u: cannot reconnect its ring: %s",
			     domid, strerror(rc ? -rc : EIO));
			continue;
		}
		elog(ELOG_INFO, "domain %u died while xenstored was down", domid);
		gone++;
		persist_release(domid);		/* frees d */
		domain_forget(domid);
	}
	ps.restoring = false;
	if (gone)
		watch_fire("@releaseDomain", false, NULL);
	if (alive || gone)
		elog(ELOG_INFO, "persistence: %zu domains reconnected, %zu gone",
		     alive, gone);
}
