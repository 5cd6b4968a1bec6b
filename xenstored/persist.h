/*
 * Persistence's private header: what persist.c, persist_rec.c,
 * persist_write.c and persist_load.c share.  Nothing else in the daemon
 * includes it; the daemon's side of persistence is in core.h.
 */
#ifndef XENSTORED_PERSIST_H
#define XENSTORED_PERSIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core.h"

#define PERSIST_MAGIC "ENSOXS01"
#define MAGIC_LEN 8
#define REC_MAX (1u << 20)		/* no record is bigger */

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

/* Persistence's whole state; defined in persist.c, one per daemon. */
struct pstate {
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
};
extern struct pstate ps;

/* ---- little-endian integers (the format's) ---- */

/* Stores v at p, least significant byte first. */
static inline void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* The u32 stored at p by put32(). */
static inline uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

/* Stores v at p as two put32()s, low half first. */
static inline void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The u64 stored at p by put64(). */
static inline uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

/* The domain conn's ring, if it has one (unit tests' connections do not). */
static inline struct xenstore_domain_interface *ring_of(const struct conn *c)
{
	return c->kind == CONN_DOMAIN && c->dom ? c->dom->intf : NULL;
}

/* ---- building records (persist_rec.c); 0 or -errno, b unchanged on error ---- */

/* Starts a record of type at b's end (*start: where); may fail -ENOMEM. */
int rec_begin(struct buf *b, uint8_t type, size_t *start);
/* Ends the record begun at start: fills in its length and CRC. */
void rec_end(struct buf *b, size_t start);
/* Appends perms as u16 n, n x {u16 domid, u8 mode} (no record of its own). */
int add_perms(struct buf *b, const struct perms *p);
/* A NODE record for path with this value and perms. */
int add_node_as(struct buf *b, const char *path, const char *value,
		uint32_t vlen, const struct perms *p);
/* A NODE record for store node n, at path. */
int add_node(struct buf *b, const char *path, const struct node *n);
/* A record of domid, and v if with_v (RELEASE, TARGET, TXID, ...). */
int add_domid_rec(struct buf *b, uint8_t type, uint32_t domid, uint32_t v,
		  bool with_v);
/* A WATCH (with w->relative) or UNWATCH record of w for domid. */
int add_watch(struct buf *b, uint8_t type, uint32_t domid,
	      const struct pwatch *w);
/* An INTRODUCE record of d (domid, gfn, port). */
int add_introduce(struct buf *b, const struct pdom *d);
/* A file's HEADER record: magic, kind (PREC_KIND_*), generation. */
int add_header(struct buf *b, uint8_t kind, uint64_t gen);
/* An OUT record: a message to domid starting at start in its ring. */
int add_out(struct buf *b, uint32_t domid, uint32_t start, const void *data,
	    uint32_t len);

/* ---- the domain table (persist.c) ---- */

/* The table's entry for domid; created (fresh) if create, NULL on ENOMEM. */
struct pdom *pdom_find(uint32_t domid, bool create);
/* Frees d's watches. */
void pwatches_free(struct pdom *d);
/* Frees d's kept messages and forgets how far its requests were handled. */
void pouts_free(struct pdom *d);
/* Keeps a message to d (dropping those long delivered); -ENOMEM. */
int pout_add(struct pdom *d, uint32_t start, const void *data, uint32_t len);
/* Clears d for a fresh introduction: no watches, messages, target. */
void pdom_forget(struct pdom *d);
/* Removes domid from the table, if there. */
void pdom_drop(uint32_t domid);
/* Adds a watch to d, after the others (the order they were set); -ENOMEM. */
int pwatch_add(struct pdom *d, const char *path, const char *token,
	       bool relative);
/* Removes d's watch of path and token, if there. */
void pwatch_del(struct pdom *d, const char *path, const char *token);
/* How many domains of the table are introduced. */
size_t pdom_introduced(void);

/* ---- files (persist_write.c) ---- */

/* DIR/name, malloc'd; NULL on ENOMEM. */
char *state_path(const char *name);
/* Writes a fresh journal of generation ps.gen and keeps it open in ps.jfd. */
int journal_start(void);

/* ---- reading (persist_load.c) ---- */

/* Loads the state in ps.dir into the store and the domain table and opens
 * the journal for appending; -EILSEQ with why for a state that cannot be
 * read (ps.replaying must be set). */
int persist_load(char *why, size_t whylen);

#endif
