/*
 * xenstored internals, shared by the daemon's files.  Not installed.
 *
 * Ownership: the store owns nodes; a connection owns its watches,
 * transactions and queued output; a domain owns its connection.  Everything
 * runs on the one event-loop thread.
 *
 * Errors: functions return 0 or a negative errno that maps onto a wire
 * error name (EINVAL, EACCES, ENOENT, ...).
 */
#ifndef XENSTORED_CORE_H
#define XENSTORED_CORE_H

#include <stdbool.h>
#include <stdint.h>
#include <xen/io/xs_wire.h>

#include "enso-util.h"

#define DOMID_NONE 0xffffffffu
#define NR_DOMIDS 0x10000u

/* ---- permissions (perms.c) ---- */
enum {
	PERM_NONE = 0,
	PERM_READ = 1,
	PERM_WRITE = 2,
	PERM_BOTH = 3,
};

/* Domain ids fit 16 bits (NR_DOMIDS); compact, as every node has some. */
struct perm {
	uint16_t domid;
	uint16_t mode;
};

/* Entry 0 names the owner; its mode is the default for everyone else. */
struct perms {
	struct perm *p;
	uint16_t n;
};

int perms_parse(const char *strings, size_t len, struct perms *out);
int perms_format(const struct perms *perms, struct buf *out);
int perms_dup(const struct perms *src, struct perms *dst);
/* dst = src without domid: entries naming it go, an owner that is domid
 * becomes dom0 (keeping its letter).  1 if anything changed (dst set),
 * 0 if not (dst untouched), or -ENOMEM. */
int perms_without(const struct perms *src, uint32_t domid, struct perms *dst);
void perms_free(struct perms *perms);
struct conn;
/* What conn may do to a node with these perms. */
uint32_t perms_allowed(const struct conn *conn, const struct perms *perms);

/* ---- paths (path.c) ---- */
/* Turns a request path into an absolute one (relative paths resolve under
 * the connection's domain); *out is malloc'd.  Special @names are allowed
 * only when allow_special. */
int path_canonical(const struct conn *conn, const char *path,
		   bool allow_special, char **out);
bool path_is_child(const char *child, const char *parent);
/* Dirname into buf of at least strlen(path)+1; false for "/". */
bool path_parent(const char *path, char *parent);
const char *path_basename(const char *path);

/* ---- the store's blocks (pool.c) ---- */
/* Blocks named by a 32-bit handle (0: none): size classes up to 4096
 * bytes carved from mapped chunks, bigger ones malloc'd. */
#define POOL_CLASSES 18

struct pool_class {
	char **chunks;
	uint32_t nchunks;
	uint32_t shift;		/* log2 of blocks per chunk */
	uint32_t nblocks;	/* handed out of the chunks so far */
	uint32_t free;		/* free list head: index + 1, or 0 */
};

struct big;

struct pool {
	struct pool_class cls[POOL_CLASSES];
	struct big **big;
	uint32_t nbig, capbig;
	uint32_t *bigfree;	/* indexes of big[] to reuse */
	uint32_t nbigfree;
	size_t used, mapped;
};

void pool_init(struct pool *p);
void pool_fini(struct pool *p);
/* A block of at least size bytes (size >= 1); -ENOMEM. */
int pool_alloc(struct pool *p, size_t size, uint32_t *h);
void pool_free(struct pool *p, uint32_t h);
/* The block (aligned for uint32_t), or NULL for handle 0. */
void *pool_ptr(const struct pool *p, uint32_t h);
/* Its usable size: at least what was asked. */
size_t pool_size(const struct pool *p, uint32_t h);
size_t pool_bytes(const struct pool *p);

/* ---- interned strings (intern.c) ---- */
/* Byte strings kept once (in a pool) and shared by reference count, named
 * by a 32-bit id: the store's path components and permission lists. */
#define ITAB_NONE UINT32_MAX

struct ient;

struct itab {
	struct pool *pool;	/* where entries live */
	struct ient **ents;	/* by id; NULL: a free id */
	uint32_t nents, capents;
	uint32_t *freeids;	/* ids to reuse (room for capents) */
	uint32_t nfree;
	uint32_t *slots;	/* hash table of id + 1; 0 is empty */
	uint32_t mask;		/* slots - 1 */
	uint32_t count;		/* live entries */
};

void itab_init(struct itab *t, struct pool *pool);
void itab_fini(struct itab *t);
/* key's id with one more reference (a new entry if need be), or ITAB_NONE
 * when out of memory. */
uint32_t itab_ref(struct itab *t, const void *key, uint32_t len);
void itab_hold(struct itab *t, uint32_t id);
/* Drops a reference; the last one frees the entry and its id. */
void itab_unref(struct itab *t, uint32_t id);
/* key's id, or ITAB_NONE; takes no reference. */
uint32_t itab_find(const struct itab *t, const void *key, uint32_t len);
/* The bytes, NUL-terminated; valid while the id is referenced. */
const char *itab_key(const struct itab *t, uint32_t id);
uint32_t itab_len(const struct itab *t, uint32_t id);
uint32_t itab_refs(const struct itab *t, uint32_t id);
/* The tables' own bytes (the entries are in the pool). */
size_t itab_bytes(const struct itab *t);

/* ---- the tree (store.c) ---- */
/* A node is a fixed 32-byte record in the store's slab, named by a 32-bit
 * id (the root is 0).  Its name and permissions are interned, its children
 * a pool block (their count, then their ids, sorted by name), and a value
 * of up to NODE_VAL_INLINE bytes lives in the record, a longer one in a
 * pool block.  A node never moves: a pointer stays valid until the node
 * is deleted.  Read it through the node_* accessors. */
#define NODE_NONE UINT32_MAX
#define NODE_VAL_INLINE 6

struct node {
	uint64_t gen;		/* changes on any change to the node */
	uint32_t parent;	/* NODE_NONE: the root; free list when free */
	uint32_t name;		/* id in store.names */
	uint32_t perms;		/* id in store.permtab */
	uint32_t kids;		/* pool handle of the children, or 0 */
	uint16_t vlen;
	char val[NODE_VAL_INLINE];	/* the value, or its pool handle */
};

struct domusage {
	uint32_t nodes;
	uint64_t bytes;
	uint64_t txn_bytes;	/* held by its open transactions' copies */
	uint64_t events_dropped;	/* watch events over its output limit */
};

struct store {
	struct node *root;
	uint64_t gen_counter;
	uint64_t nnodes;
	struct domusage *usage;	/* indexed by owner domid */
	struct perms intro_perms, release_perms;	/* @ special nodes */

	/* Storage, store.c's alone. */
	struct node **chunks;	/* slab: NODE_CHUNK nodes each */
	uint32_t nchunks;
	uint32_t nused;		/* ids handed out so far */
	uint32_t free_head;	/* freed ids, linked by parent */
	struct pool pool;	/* child arrays, long values, interned strings */
	struct itab names, permtab;
};

extern struct store store;

int store_init(void);
void store_fini(void);
struct node *store_lookup(const char *path);
struct node *store_kid(const struct node *parent, const char *name);
/* Creates a node under parent; takes ownership of nothing (copies).
 * -EEXIST if it is there, -E2BIG for a value over UINT16_MAX bytes. */
int store_create(struct node *parent, const char *name, const char *value,
		 uint32_t vlen, const struct perms *perms, struct node **out);
/* Both change the node in place and give it a new generation, even on
 * the same value. */
int store_set_value(struct node *n, const char *value, uint32_t vlen);
int store_set_perms(struct node *n, const struct perms *perms);
void store_delete(struct node *n);
char *store_path_of(const struct node *n);
/* Bytes accounted to the node's owner (quotas, memreport). */
size_t node_size(const struct node *n);
/* Bytes the store really holds: slab, child blocks, interned tables. */
size_t store_bytes(void);
/* Consistency check for CONTROL check; appends findings to out. */
int store_check(struct buf *out);

const char *node_name(const struct node *n);
/* NULL when vlen is 0; valid until the node's value changes. */
const char *node_value(const struct node *n);
/* Points into the store: valid until the node's permissions change. */
struct perms node_perms(const struct node *n);
uint32_t node_owner(const struct node *n);
struct node *node_parent(const struct node *n);	/* NULL for the root */
uint32_t node_nkids(const struct node *n);
struct node *node_kid(const struct node *n, uint32_t i);

/* ---- transactions (txn.c) ---- */
/* A node as a transaction sees it: a private copy, loaded on first access.
 * base_gen is the store's generation when loaded (0: did not exist), and is
 * what commit compares to detect a conflict. */
struct tnode {
	char *path;
	bool exists;
	bool modified;
	bool kids_loaded;
	bool value_hidden;	/* not copied: the client may not read it */
	uint8_t fire;		/* FIRE_* */
	uint64_t base_gen;
	char *value;
	uint32_t vlen;
	struct perms perms;
	char **kids;
	uint32_t nkids, capkids;
	struct tnode *next_mod;
	uint32_t charged;	/* bytes counted in its domain's txn_bytes */
};

/* Stronger wins: a node both changed and removed as a descendant fires
 * as a tree change. */
enum { FIRE_NONE, FIRE_EXACT, FIRE_TREE };

struct txn {
	uint32_t id;
	struct conn *conn;
	/* An unprivileged client's explicit transaction: what it copies
	 * counts against domid's memory quota (-Q memory). */
	bool charged;
	uint32_t domid;
	struct hmap nodes;	/* path -> tnode */
	struct tnode *mods, **mods_tail;
	uint32_t naccessed;
	/* Node-count change per owner, for the -E quota within the txn. */
	struct owner_delta {
		uint32_t domid;
		int32_t delta;
	} *deltas;
	uint32_t ndeltas;
	/* Lost in a restart (persist.c): reads work, commit says EAGAIN. */
	bool doomed;
	struct txn *next;
};

struct txn *txn_new(struct conn *conn, uint32_t id);
void txn_free(struct txn *t);
int txn_get(struct txn *t, const char *path, struct tnode **out);
int txn_load_kids(struct txn *t, struct tnode *tn);
int txn_write(struct txn *t, const char *path, const char *value,
	      uint32_t vlen, bool only_create);
int txn_rm(struct txn *t, const char *path);
int txn_set_perms(struct txn *t, const char *path, const struct perms *perms);
/* Validates (unless implicit) and applies; fires watches.  -EAGAIN on a
 * conflict.  Frees nothing: the caller frees t. */
int txn_commit(struct txn *t, bool validate);

/* Quotas of transactions (txn_quota.c), for unprivileged clients.
 * txn_charge counts bytes tn's copy holds against t's domain's memory
 * quota, with the nodes it owns (-ENOMEM past it); txn_count_owner one
 * node more or fewer for owner (-ENOSPC past -E); txn_check_size a node
 * of size bytes (-S: -ENOSPC; -Q memory: -ENOMEM), txn_check_tnode tn's
 * size plus extra; txn_check_commit both again against the store as it
 * is at commit.  tnode_quota_size: a node's bytes as the -S quota counts
 * them. */
int txn_charge(struct txn *t, struct tnode *tn, size_t bytes);
int txn_count_owner(struct txn *t, uint32_t owner, int change,
		    const char *path);
int txn_check_size(struct txn *t, const char *path, size_t size);
int txn_check_tnode(struct txn *t, const struct tnode *tn, size_t extra);
int txn_check_commit(struct txn *t);
size_t tnode_quota_size(const struct tnode *tn);

/* ---- watches (watch.c) ---- */
struct watch {
	char *path;		/* absolute, or @special */
	char *token;
	bool relative;
	struct conn *conn;
	struct watch *next_conn;	/* conn->watches */
	struct watch *next_path;	/* same path in the index */
};

int watch_add(struct conn *conn, const char *path, const char *token,
	      bool relative);
int watch_remove(struct conn *conn, const char *path, const char *token);
void watch_remove_all(struct conn *conn);
/* Fires every watch on path or an ancestor (exact: on path only).  perms
 * are the node's, for the read check of unprivileged watchers; NULL means
 * deliver to privileged watchers and those allowed by the special perms. */
void watch_fire(const char *path, bool exact, const struct perms *perms);
void watch_init(void);
void watch_fini(void);
size_t watch_count(void);

/* ---- quotas (quota.c) ---- */
struct quota_def {
	const char *name;
	const char *what;
	unsigned long long val;
};

enum quota_id {
	Q_NODES,		/* -E nodes owned by a domain */
	Q_NODE_SIZE,		/* -S bytes in one node */
	Q_WATCHES,		/* -W watches of a domain */
	Q_TRANSACTIONS,		/* -t open transactions of a domain */
	Q_PERMS,		/* -A entries in a node's permission list */
	Q_PATH,			/* -M path length for domains */
	Q_TXN_NODES,		/* nodes one transaction may touch */
	Q_OUTSTANDING,		/* queued replies before we stop reading */
	Q_MEMORY,		/* bytes of node data a domain may own */
	Q_MEMORY_SOFT,		/* above this, warn */
	Q_COUNT
};

extern struct quota_def quotas[Q_COUNT];
int quota_set_by_name(const char *name, const char *val, bool soft);
/* Logs the hit with the domain, the quota and the path. */
void quota_hit(const struct conn *conn, enum quota_id q, const char *path);

/* ---- connections (conn.c) ---- */
struct outmsg;

enum conn_kind { CONN_SOCKET, CONN_DOMAIN };

struct domain;

struct conn {
	enum conn_kind kind;
	int fd;
	struct domain *dom;
	uint32_t domid;
	uint32_t target;	/* SET_TARGET, or DOMID_NONE */
	bool privileged;
	bool dead;		/* killed: reaped by the event loop, never
				 * freed under a caller that walks it */
	bool reading_paused;
	bool dirty;		/* on the flush list (next_dirty) */
	bool dropping_events;	/* over its output limit, since the last
				 * event that went out */
	uint32_t id;		/* for logs and traces */
	uint64_t events_dropped;	/* watch events lost to its limit */

	char *in;		/* partial input */
	uint32_t in_len;

	struct outmsg *out, **out_tail;	/* the queue: conn.c's alone */
	size_t out_bytes;
	uint32_t out_count;

	struct watch *watches;
	uint32_t nwatches;
	struct txn *txns;
	uint32_t ntxns;
	uint32_t next_txid;
	/* Domains, across a restart (persist*.c): ids up to txid_reserved are
	 * on record; an unknown id below doom_below was the old daemon's. */
	uint32_t txid_reserved;
	uint32_t doom_below;

	struct conn *next, *prev;
	struct conn *next_dirty;
};

extern struct evloop *loop;
/* The daemon's own hand, for the changes it makes by itself (dom0's
 * entries, a dead domain's nodes): privileged, on no socket or ring. */
extern struct conn daemon_conn;

struct conn *conn_new(enum conn_kind kind, int fd, uint32_t domid,
		      bool privileged);
void conn_free(struct conn *c);
/* Marks c dead: it stops reading, sending and receiving events, and keeps
 * everything it owns (watches, transactions, queue) until conn_reap()
 * frees it from the event loop, so that no caller up the stack (a watch
 * fan-out, a request's handler) is left walking freed memory. */
void conn_kill(struct conn *c, const char *why);
/* Frees the dead connections nobody owns: sockets, and domain
 * connections their domain has let go of (c->dom == NULL).  Only from the
 * event loop, between requests. */
void conn_reap(void);
/* Queues c for conn_flush_dirty(): its output, and for a domain its ring,
 * are served from the event loop rather than from inside a request. */
void conn_mark_dirty(struct conn *c);
/* Frees every socket connection (at exit). */
void conn_free_all(void);
/* Hands each whole message in c->in to dispatch(), the connection layer's
 * one call up; keeps a partial one, and stops early while the client's
 * output is backed up. */
void conn_process_input(struct conn *c);
int conn_send(struct conn *c, uint32_t type, uint32_t req_id,
	      uint32_t tx_id, const void *payload, uint32_t len,
	      bool is_event);
void conn_flush(struct conn *c);
/* Drops c's watches and transactions (RESET_WATCHES). */
void conn_reset(struct conn *c);
/* A fresh session on the same connection (a domain's ring reconnection):
 * reset, queued output and partial input dropped, alive again. */
void conn_restart(struct conn *c);
struct conn *conn_first(void);
size_t conn_count(void);
int socket_listen(const char *path);
/* A socket client (accepted, or handed over by a live update): its
 * connection, registered with the loop; NULL on failure (fd not closed). */
struct conn *socket_adopt(int fd, uint32_t domid, bool privileged);
/* Serves a listening socket that is already bound (a live update's). */
int socket_adopt_listener(int fd);
/* Queues a message already framed, of which the first done bytes reached
 * the client before (a live update's or a restart's unsent output). */
int conn_queue_bytes(struct conn *c, const void *bytes, uint32_t len,
		     uint32_t done);
/* The queue's unsent bytes: the head message's (NULL when empty); n of
 * them went out (a ring's writer); fn on each message, oldest first, with
 * how much of it was sent, until fn returns non-zero; all of them. */
const void *conn_out_head(const struct conn *c, uint32_t *len);
void conn_out_sent(struct conn *c, size_t n);
int conn_out_walk(const struct conn *c,
		  int (*fn)(void *arg, const char *msg, uint32_t len,
			    uint32_t sent),
		  void *arg);
size_t conn_out_bytes(const struct conn *c);
/* Flushes every connection that queued output during this loop turn. */
void conn_flush_dirty(void);
/* True while c's unread output holds back its requests. */
bool conn_paused(const struct conn *c);
uint32_t conn_in_room(const struct conn *c);

/* ---- requests (handlers.c, control.c) ---- */
struct req {
	struct conn *conn;
	struct xsd_sockmsg hdr;
	char *body;		/* hdr.len bytes, plus a NUL we add */
	struct txn *txn;	/* the request's transaction, or NULL */
	struct buf reply;
	bool replied;
};

/* One request, from conn_process_input(): its handler, then its reply. */
void dispatch(struct conn *c, const struct xsd_sockmsg *hdr, char *body);
int do_control(struct req *r);
/* Splits the body into n NUL-terminated strings; -EINVAL if it is not. */
int req_strings(struct req *r, const char **out, int max);
const char *errno_name(int err);
/* A message type's name ("READ"), NULL if unknown (msgname.c: the list). */
const char *xs_msg_name(uint32_t type);

/* ---- live update (liveupdate.c) ---- */
/* What the exec needs: our argv, the listening socket, where logs go. */
void liveupdate_init(char **argv, int listen_fd, bool to_syslog);
/* CONTROL "live-update" with upstream's arguments (-f -c -s -t -F -a). */
int liveupdate_control(struct req *r, const char **argv, int argc);
/* An update was started: the loop calls liveupdate_run() between turns,
 * which returns only if the exec failed (logged; the daemon goes on). */
bool liveupdate_pending(void);
void liveupdate_run(void);
/* In the new process: the handover's fd, or -1 when this start is not a
 * live update; then liveupdate_adopt() takes over the listening socket
 * (its fd returned, or -errno) and every socket client. */
int liveupdate_handover_fd(void);
int liveupdate_adopt(int fd, bool *to_syslog);

/* ---- tracing (main.c) ---- */
void trace_msg(const struct conn *c, const char *dir,
	       const struct xsd_sockmsg *hdr, const char *body);
int trace_open(const char *path);
void trace_enable(bool on);

/* ---- domains (domain.c) ---- */
struct domain {
	uint32_t domid;
	struct conn *conn;
	struct xenstore_domain_interface *intf;
	uint32_t local_port, remote_port;
	bool is_dom0_kva;
	bool shutdown_seen;
	bool bad;
	struct domain *next;
};

int domain_init(bool dom0);
void domain_fini(void);
int domain_introduce(uint32_t domid, uint64_t mfn, uint32_t port);
int domain_release(uint32_t domid, bool fire);
int domain_resume(uint32_t domid);
bool domain_is_introduced(uint32_t domid);
struct domain *domain_find(uint32_t domid);
void domain_ring_io(struct domain *d);
void domain_notify(struct domain *d);
void domain_bad(struct domain *d, uint32_t err, const char *why);
size_t domain_count(void);
/* A domain is gone (forget.c): deletes the nodes it owned (unless -K) and
 * every mention of it in permission lists, so that a later domain given
 * the same id inherits nothing.  Fires the watches of what changed. */
void domain_forget(uint32_t domid);
/* Serves again a domain the saved state names (after a restart): -ESRCH
 * if it is gone or dying, else as domain_introduce(). */
int domain_restore(uint32_t domid, uint64_t gfn, uint32_t port);
void dom0_write_entries(void);
/* -K: keep the nodes of dead domains (upstream's --keep-orphans). */
extern bool keep_orphans;

/* ---- persistence (persist.c; the rest in persist_*.c) ---- */
/* The record format of the journal and the snapshot: u32 payload length,
 * u32 CRC-32C of that length field and the payload, then the payload (a
 * type byte and its data); integers little-endian.  See persist.c. */
#define PREC_HDR 8

enum {
	PREC_HEADER = 'H',	/* magic, kind, u64 generation */
	PREC_NODE = 'N',	/* a node as it is now: path, perms, value */
	PREC_RM = 'R',		/* path: removed with its subtree */
	PREC_SPECIAL = 'P',	/* @introduceDomain/@releaseDomain perms */
	PREC_INTRODUCE = 'I',	/* domid, gfn, event channel */
	PREC_RELEASE = 'X',	/* domid: released or dead */
	PREC_TARGET = 'T',	/* domid, target */
	PREC_WATCH = 'W',	/* domid, relative, path, token */
	PREC_UNWATCH = 'U',	/* domid, path, token */
	PREC_RESET = 'Z',	/* domid: its watches dropped */
	PREC_TXID = 'Q',	/* domid: transaction ids used up to */
	PREC_OUT = 'O',		/* domid, stream offset: a reply or event */
	PREC_OUTRESET = 'Y',	/* domid: its ring was reset (reconnection) */
	PREC_REQCONS = 'K',	/* domid: its requests handled up to here */
	PREC_COMMIT = 'C',	/* the journal's group ends: apply it */
	PREC_END = 'E',		/* a snapshot's last record: node count */
};

enum { PREC_KIND_SNAPSHOT = 'S', PREC_KIND_JOURNAL = 'J' };

struct prec {
	uint8_t type;
	const uint8_t *data;	/* points into the parsed buffer */
	uint32_t len;		/* bytes of data */
	uint32_t size;		/* the whole record, header included */
};

/* CRC-32C (Castagnoli); crc: 0, or the result over what came before. */
uint32_t persist_crc32(uint32_t crc, const void *data, size_t len);
/* The same in software only (unit tests compare the two). */
uint32_t persist_crc32_sw(uint32_t crc, const void *data, size_t len);
/* Appends one record; -E2BIG past the 1 MiB record limit. */
int persist_rec_add(struct buf *b, uint8_t type, const void *data,
		    uint32_t len);
/* The record at buf: 0, -EAGAIN when cut short (a torn tail), -EILSEQ
 * when its length or CRC is wrong. */
int persist_rec_parse(const void *buf, size_t avail, struct prec *out);

struct persist_opts {
	const char *dir;	/* the state directory */
	bool fsync;		/* fdatasync each batch (--fsync) */
	bool discard;		/* unreadable state: start empty (--discard-state) */
};

/* Locks dir (-EBUSY when another daemon holds it), loads its snapshot and
 * journal into the fresh store, keeps the domains' records for
 * persist_restore_domains(), then records every change.  -EIO: the state
 * cannot be read and o->discard is not set; logged. */
int persist_open(const struct persist_opts *o);
/* Writes what is pending and stops recording (before domain_fini(), so a
 * clean stop keeps the domains' watches on record, as a crash does). */
void persist_close(void);
bool persist_on(void);
/* Writes the pending records: called before any reply or watch event
 * leaves the daemon, and at the end of each loop turn. */
void persist_flush(void);
/* A snapshot now (CONTROL, tests). */
int persist_compact(void);
/* Compacts if the journal has grown past max(1 MiB, 2x the snapshot); from
 * the main loop, where every domain's req_cons is up to date. */
void persist_maybe_compact(void);
/* Xen: reconnects the introduced domains the state names, restores their
 * watches (each fired once) and removes those that died meanwhile. */
void persist_restore_domains(bool xen);
/* A domain's connection made while restoring (domain.c, before its ring is
 * read): its watches (each fired once), target and transaction ids. */
void persist_restore_conn(struct conn *c);

/* Hooks, no-ops when persistence is off.  gen_before: store.gen_counter
 * when the commit started (what it changed has a later generation);
 * applied_all: every change applied, so the store holds the tnodes'. */
void persist_commit(const struct txn *t, uint64_t gen_before,
		    bool applied_all);
void persist_special_perms(const char *which, const struct perms *p);
void persist_introduce(uint32_t domid, uint64_t gfn, uint32_t port);
void persist_release(uint32_t domid);
void persist_target(uint32_t domid, uint32_t target);
/* Domain connections only; socket clients' watches die with them. */
void persist_watch(const struct conn *c, const char *path, const char *token,
		   bool relative, bool add);
void persist_watch_reset(const struct conn *c);
void persist_txid(struct conn *c, uint32_t id);
/* Domain rings: every message queued for a domain, with its place in the
 * response stream; how far its requests are handled (before req_cons
 * moves); a ring reset.  So a restart resends exactly what was not got. */
void persist_outmsg(const struct conn *c, const void *msg, uint32_t len);
/* Around the dispatch of a batch of a ring's requests: what they change
 * and reply forms one journal group with the ring's new req_cons (moved:
 * some were handled), so a torn write loses the batch whole. */
void persist_ring_begin(void);
void persist_ring_done(const struct conn *c, uint32_t req_cons, bool moved);
void persist_ring_reset(const struct conn *c);
/* For an unknown tx_id on a domain's connection that the previous daemon
 * may have handed out: a transaction whose commit fails with EAGAIN (it
 * reads current state meanwhile).  NULL otherwise. */
struct txn *persist_doomed_txn(struct conn *c, uint32_t id);

#endif
