/*
 * Transactions' quotas: what a transaction may add for a domain (-E, -S,
 * -Q memory), checked as it goes against the store it started from and
 * again at commit against the store as it is then, and the memory its
 * copies hold, charged to its domain.  Unprivileged clients only.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static struct domusage *txn_usage(const struct txn *t)
{
	return &store.usage[t->domid];
}

/* Ten open transactions hold no more than one domain may own.  Only
 * explicit transactions of unprivileged clients: the single-request ones
 * are gone before the request returns. */
int txn_charge(struct txn *t, struct tnode *tn, size_t bytes)
{
	struct domusage *u = txn_usage(t);

	if (!t->charged || !bytes)
		return 0;
	if (u->bytes + u->txn_bytes + bytes > quotas[Q_MEMORY].val) {
		quota_hit(t->conn, Q_MEMORY, tn->path);
		return -ENOMEM;
	}
	u->txn_bytes += bytes;
	tn->charged += (uint32_t)bytes;
	return 0;
}

static int32_t *delta_slot(struct txn *t, uint32_t domid)
{
	struct owner_delta *nd;
	uint32_t i;

	for (i = 0; i < t->ndeltas; i++)
		if (t->deltas[i].domid == domid)
			return &t->deltas[i].delta;
	nd = realloc(t->deltas, (t->ndeltas + 1) * sizeof(*nd));
	if (!nd)
		return NULL;
	t->deltas = nd;
	nd[t->ndeltas].domid = domid;
	nd[t->ndeltas].delta = 0;
	return &nd[t->ndeltas++].delta;
}

/* Counts one more (or fewer) node for owner; enforces -E on domains. */
int txn_count_owner(struct txn *t, uint32_t owner, int change,
		    const char *path)
{
	int32_t *d = delta_slot(t, owner);

	if (!d)
		return -ENOMEM;
	if (change > 0 && !t->conn->privileged &&
	    (int64_t)store.usage[owner % NR_DOMIDS].nodes + *d + 1 >
		    (int64_t)quotas[Q_NODES].val) {
		quota_hit(t->conn, Q_NODES, path);
		return -ENOSPC;
	}
	*d += change;
	return 0;
}

/* The -S quota counts a permission entry as cxenstored does (the 8 bytes
 * of struct xs_permissions), whatever our own layout. */
#define QUOTA_PERM_BYTES 8

size_t tnode_quota_size(const struct tnode *tn)
{
	size_t sz = tn->vlen + tn->perms.n * QUOTA_PERM_BYTES;
	uint32_t i;

	for (i = 0; i < tn->nkids; i++)
		sz += strlen(tn->kids[i]) + 1;
	return sz;
}

/* Node size (-S) and the bytes a domain owns (-Q memory, -q memory). */
int txn_check_size(struct txn *t, const char *path, size_t size)
{
	uint64_t owned;

	if (t->conn->privileged)
		return 0;
	if (size > quotas[Q_NODE_SIZE].val) {
		quota_hit(t->conn, Q_NODE_SIZE, path);
		return -ENOSPC;
	}
	owned = store.usage[t->conn->domid % NR_DOMIDS].bytes;
	if (owned + size > quotas[Q_MEMORY].val) {
		quota_hit(t->conn, Q_MEMORY, path);
		return -ENOMEM;
	}
	if (owned + size > quotas[Q_MEMORY_SOFT].val)
		quota_hit(t->conn, Q_MEMORY_SOFT, path);
	return 0;
}

int txn_check_tnode(struct txn *t, const struct tnode *tn, size_t extra)
{
	return txn_check_size(t, tn->path, tnode_quota_size(tn) + extra);
}

/* Value and permission bytes a node grows by; a hidden value is
 * unchanged. */
static int64_t growth(const struct tnode *tn, const struct node *n)
{
	int64_t now = 0, before = 0;

	if (tn->exists)
		now = (int64_t)tn->perms.n * QUOTA_PERM_BYTES +
		      (tn->value_hidden ? 0 : tn->vlen);
	if (n)
		before = (int64_t)node_perms(n).n * QUOTA_PERM_BYTES +
			 (tn->value_hidden ? 0 : n->vlen);
	return now - before;
}

/* The quotas again, against the store as it is now: each transaction was
 * checked against the store it started from, and others may have
 * committed since, so without this ten transactions could each add a
 * quota's worth. */
int txn_check_commit(struct txn *t)
{
	const struct domusage *u = &store.usage[t->domid];
	struct tnode *tn;
	int64_t bytes = 0;
	uint32_t i;

	if (t->conn->privileged)
		return 0;
	for (i = 0; i < t->ndeltas; i++) {
		const struct owner_delta *d = &t->deltas[i];

		if (d->delta > 0 &&
		    (uint64_t)store.usage[d->domid % NR_DOMIDS].nodes +
				    (uint64_t)d->delta >
			    quotas[Q_NODES].val) {
			quota_hit(t->conn, Q_NODES, "transaction commit");
			return -ENOSPC;
		}
	}
	for (tn = t->mods; tn; tn = tn->next_mod)
		if (tn->exists && tn->perms.p[0].domid == t->domid)
			bytes += growth(tn, store_lookup(tn->path));
	if (bytes > 0 && u->bytes + (uint64_t)bytes > quotas[Q_MEMORY].val) {
		quota_hit(t->conn, Q_MEMORY, "transaction commit");
		return -ENOMEM;
	}
	return 0;
}
