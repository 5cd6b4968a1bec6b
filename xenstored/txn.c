/*
 * Transactions.
 *
 * A transaction copies each node it touches on first access (a tnode) and
 * remembers the node's generation then.  Reads and writes inside the
 * transaction see the copies, so a transaction reads its own writes and
 * nothing of it is visible to others before commit.  Commit fails with
 * EAGAIN only if a node it touched (read, written, or found absent) has a
 * different generation in the store now: a real conflict, never a spurious
 * one.  Changes outside any transaction run through the same code as an
 * implicit transaction that commits at once without validation.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct txn *txn_new(struct conn *conn, uint32_t id)
{
	struct txn *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = id;
	t->conn = conn;
	t->domid = conn->domid % NR_DOMIDS;
	t->charged = id != 0 && !conn->privileged;
	hmap_init(&t->nodes);
	t->mods_tail = &t->mods;
	return t;
}

static void tnode_free(struct txn *t, struct tnode *tn)
{
	uint32_t i;

	if (tn->charged)
		store.usage[t->domid].txn_bytes -= tn->charged;

	for (i = 0; i < tn->nkids; i++)
		free(tn->kids[i]);
	free(tn->kids);
	free(tn->value);
	perms_free(&tn->perms);
	free(tn->path);
	free(tn);
}

void txn_free(struct txn *t)
{
	struct tnode *tn;
	size_t pos = 0;

	if (!t)
		return;
	while ((tn = hmap_next(&t->nodes, &pos)))
		tnode_free(t, tn);
	hmap_fini(&t->nodes);
	free(t->deltas);
	free(t);
}

static bool explicit_txn(const struct txn *t)
{
	return t->id != 0;
}

int txn_get(struct txn *t, const char *path, struct tnode **out)
{
	struct tnode *tn = hmap_get(&t->nodes, path);
	struct node *n;
	int rc;

	if (tn) {
		*out = tn;
		return 0;
	}
	if (explicit_txn(t) && !t->conn->privileged &&
	    t->naccessed >= quotas[Q_TXN_NODES].val) {
		quota_hit(t->conn, Q_TXN_NODES, path);
		return -ENOSPC;
	}
	tn = calloc(1, sizeof(*tn));
	if (!tn || !(tn->path = strdup(path)))
		goto nomem;
	n = store_lookup(path);
	if (n) {
		struct perms ps = node_perms(n);

		/* What the client may not read is not copied: it would hold
		 * memory for nothing, and nothing reads it back. */
		tn->value_hidden = !t->conn->privileged &&
				   !(perms_allowed(t->conn, &ps) & PERM_READ);
		rc = txn_charge(t, tn, sizeof(*tn) + strlen(path) + 1 +
					   sizeof(struct perm) * ps.n +
					   (tn->value_hidden ? 0 : n->vlen));
		if (rc)
			goto fail;
		tn->exists = true;
		tn->base_gen = n->gen;
		if (!tn->value_hidden && n->vlen) {
			tn->value = malloc(n->vlen);
			if (!tn->value)
				goto nomem;
			memcpy(tn->value, node_value(n), n->vlen);
			tn->vlen = n->vlen;
		}
		if (perms_dup(&ps, &tn->perms))
			goto nomem;
	} else {
		rc = txn_charge(t, tn, sizeof(*tn) + strlen(path) + 1);
		if (rc)
			goto fail;
		tn->kids_loaded = true;
	}
	rc = hmap_put(&t->nodes, tn->path, tn);
	if (rc)
		goto nomem;
	t->naccessed++;
	*out = tn;
	return 0;
nomem:
	rc = -ENOMEM;
fail:
	if (tn)
		tnode_free(t, tn);
	return rc;
}

/* Children stay sorted, as in the store, so DIRECTORY answers the same
 * order inside a transaction as outside. */
static int kids_add(struct txn *t, struct tnode *tn, const char *name)
{
	uint32_t i;
	char *dup;
	int rc = txn_charge(t, tn, strlen(name) + 1 + sizeof(char *));

	if (rc)
		return rc;

	if (tn->nkids == tn->capkids) {
		uint32_t ncap = tn->capkids ? tn->capkids * 2 : 4;
		char **nk = realloc(tn->kids, ncap * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		tn->kids = nk;
		tn->capkids = ncap;
	}
	dup = strdup(name);
	if (!dup)
		return -ENOMEM;
	for (i = tn->nkids; i > 0 && strcmp(tn->kids[i - 1], name) > 0; i--)
		tn->kids[i] = tn->kids[i - 1];
	tn->kids[i] = dup;
	tn->nkids++;
	return 0;
}

static void kids_remove(struct tnode *tn, const char *name)
{
	uint32_t i;

	for (i = 0; i < tn->nkids; i++) {
		if (!strcmp(tn->kids[i], name)) {
			free(tn->kids[i]);
			memmove(&tn->kids[i], &tn->kids[i + 1],
				(tn->nkids - i - 1) * sizeof(*tn->kids));
			tn->nkids--;
			return;
		}
	}
}

int txn_load_kids(struct txn *t, struct tnode *tn)
{
	struct node *n;
	uint32_t i;
	int rc;

	if (tn->kids_loaded)
		return 0;
	n = store_lookup(tn->path);
	/* Children of a node that changed since it was loaded: commit will
	 * see the generation change and fail, so any answer is fine now. */
	for (i = 0; n && i < node_nkids(n); i++) {
		rc = kids_add(t, tn, node_name(node_kid(n, i)));
		if (rc)
			return rc;
	}
	tn->kids_loaded = true;
	return 0;
}

static void mark(struct txn *t, struct tnode *tn, uint8_t fire)
{
	if (!tn->modified) {
		tn->modified = true;
		*t->mods_tail = tn;
		t->mods_tail = &tn->next_mod;
	}
	if (fire > tn->fire)
		tn->fire = fire;
}

static int set_value(struct txn *t, struct tnode *tn, const char *value,
		     uint32_t vlen)
{
	char *nv = NULL;
	int rc = txn_charge(t, tn, vlen > tn->vlen ? vlen - tn->vlen : 0);

	if (rc)
		return rc;
	if (vlen) {
		nv = malloc(vlen);
		if (!nv)
			return -ENOMEM;
		memcpy(nv, value, vlen);
	}
	free(tn->value);
	tn->value = nv;
	tn->vlen = vlen;
	tn->value_hidden = false;
	return 0;
}

static int create_child(struct txn *t, struct tnode *parent, const char *path,
			const char *value, uint32_t vlen, bool leaf)
{
	const char *name = path_basename(path);
	struct tnode *tn;
	int rc;

	rc = txn_get(t, path, &tn);
	if (rc)
		return rc;
	rc = txn_load_kids(t, parent);
	if (rc)
		return rc;
	rc = txn_check_tnode(t, parent, strlen(name) + 1);
	if (rc)
		return rc;
	perms_free(&tn->perms);
	rc = perms_dup(&parent->perms, &tn->perms);
	if (rc)
		return rc;
	/* What a domain creates, it owns. */
	if (!t->conn->privileged)
		tn->perms.p[0].domid = t->conn->domid;
	rc = txn_count_owner(t, tn->perms.p[0].domid, 1, path);
	if (rc)
		return rc;
	rc = set_value(t, tn, value, vlen);
	if (rc)
		return rc;
	rc = txn_check_tnode(t, tn, 0);
	if (rc)
		return rc;
	rc = kids_add(t, parent, name);
	if (rc)
		return rc;
	tn->exists = true;
	tn->kids_loaded = true;
	mark(t, parent, FIRE_NONE);
	mark(t, tn, leaf ? FIRE_TREE : FIRE_NONE);
	return 0;
}

int txn_write(struct txn *t, const char *path, const char *value,
	      uint32_t vlen, bool only_create)
{
	struct tnode *tn, *anc = NULL;
	char *missing[XENSTORE_ABS_PATH_MAX / 2 + 1];
	char *cur = NULL;
	int nmissing = 0, i, rc;

	rc = txn_get(t, path, &tn);
	if (rc)
		return rc;
	if (tn->exists) {
		if (!(perms_allowed(t->conn, &tn->perms) & PERM_WRITE))
			return -EACCES;
		if (only_create)
			return 0;
		rc = txn_check_size(t, path, tnode_quota_size(tn) - tn->vlen + vlen);
		if (rc)
			return rc;
		rc = set_value(t, tn, value, vlen);
		if (rc)
			return rc;
		mark(t, tn, FIRE_TREE);
		return 0;
	}

	/* Find the nearest ancestor that exists; every level below it is
	 * created, and writing there needs write access to it. */
	cur = strdup(path);
	if (!cur)
		return -ENOMEM;
	missing[nmissing++] = strdup(path);
	for (;;) {
		char *parent = malloc(strlen(cur) + 1);

		if (!parent || !path_parent(cur, parent)) {
			free(parent);
			rc = -ENOMEM;
			goto out;
		}
		free(cur);
		cur = parent;
		rc = txn_get(t, cur, &anc);
		if (rc)
			goto out;
		if (anc->exists)
			break;
		missing[nmissing++] = strdup(cur);
	}
	for (i = 0; i < nmissing; i++)
		if (!missing[i]) {
			rc = -ENOMEM;
			goto out;
		}
	if (!(perms_allowed(t->conn, &anc->perms) & PERM_WRITE)) {
		rc = -EACCES;
		goto out;
	}
	for (i = nmissing - 1; i >= 0; i--) {
		struct tnode *child;

		rc = create_child(t, anc, missing[i], i ? "" : value,
				  i ? 0 : vlen, i == 0);
		if (rc)
			goto out;
		rc = txn_get(t, missing[i], &child);
		if (rc)
			goto out;
		anc = child;
	}
	rc = 0;
out:
	for (i = 0; i < nmissing; i++)
		free(missing[i]);
	free(cur);
	return rc;
}

static char *child_path(const char *parent, const char *name)
{
	size_t pl = strlen(parent), nl = strlen(name);
	bool root = !strcmp(parent, "/");
	char *p = malloc(pl + nl + 2);

	if (!p)
		return NULL;
	memcpy(p, parent, pl);
	if (root)
		pl = 0;
	p[pl] = '/';
	memcpy(p + pl + 1, name, nl + 1);
	if (root)
		p[0] = '/';
	return p;
}

static int delete_rec(struct txn *t, struct tnode *tn, bool top)
{
	uint32_t i;
	int rc;

	rc = txn_load_kids(t, tn);
	if (rc)
		return rc;
	for (i = 0; i < tn->nkids; i++) {
		struct tnode *kid;
		char *kp = child_path(tn->path, tn->kids[i]);

		if (!kp)
			return -ENOMEM;
		rc = txn_get(t, kp, &kid);
		free(kp);
		if (rc)
			return rc;
		if (kid->exists) {
			rc = delete_rec(t, kid, false);
			if (rc)
				return rc;
		}
	}
	rc = txn_count_owner(t, tn->perms.p[0].domid, -1, tn->path);
	if (rc)
		return rc;
	for (i = 0; i < tn->nkids; i++)
		free(tn->kids[i]);
	tn->nkids = 0;
	set_value(t, tn, NULL, 0);
	tn->exists = false;
	mark(t, tn, top ? FIRE_TREE : FIRE_EXACT);
	return 0;
}

int txn_rm(struct txn *t, const char *path)
{
	char *parent_path = malloc(strlen(path) + 1);
	struct tnode *tn, *parent;
	int rc;

	if (!parent_path)
		return -ENOMEM;
	if (!path_parent(path, parent_path)) {
		rc = -EINVAL;	/* the root cannot go */
		goto out;
	}
	rc = txn_get(t, path, &tn);
	if (rc)
		goto out;
	rc = txn_get(t, parent_path, &parent);
	if (rc)
		goto out;
	if (!tn->exists) {
		/* Absent is fine, but only if the parent is there. */
		rc = parent->exists ? 0 : -ENOENT;
		goto out;
	}
	if (!(perms_allowed(t->conn, &tn->perms) & PERM_WRITE)) {
		rc = -EACCES;
		goto out;
	}
	rc = delete_rec(t, tn, true);
	if (rc)
		goto out;
	rc = txn_load_kids(t, parent);
	if (rc)
		goto out;
	kids_remove(parent, path_basename(path));
	mark(t, parent, FIRE_NONE);
out:
	free(parent_path);
	return rc;
}

int txn_set_perms(struct txn *t, const char *path, const struct perms *perms)
{
	struct tnode *tn;
	struct perms np;
	int rc;

	rc = txn_get(t, path, &tn);
	if (rc)
		return rc;
	if (!tn->exists)
		return -ENOENT;
	if (!t->conn->privileged) {
		uint32_t owner = tn->perms.p[0].domid;

		/* Only the owner changes permissions, and it cannot give the
		 * node away. */
		if (owner != t->conn->domid && owner != t->conn->target)
			return -EACCES;
		if (perms->p[0].domid != owner)
			return -EPERM;
		if (perms->n > quotas[Q_PERMS].val) {
			quota_hit(t->conn, Q_PERMS, path);
			return -ENOSPC;
		}
	}
	if (perms->p[0].domid != tn->perms.p[0].domid) {
		rc = txn_count_owner(t, perms->p[0].domid, 1, path);
		if (rc)
			return rc;
		rc = txn_count_owner(t, tn->perms.p[0].domid, -1, path);
		if (rc)
			return rc;
	}
	rc = perms_dup(perms, &np);
	if (rc)
		return rc;
	perms_free(&tn->perms);
	tn->perms = np;
	mark(t, tn, FIRE_TREE);
	return 0;
}

static bool perms_equal(const struct perms *a, const struct perms *b)
{
	return a->n == b->n && !memcmp(a->p, b->p, a->n * sizeof(*a->p));
}

static int apply(struct tnode *tn)
{
	struct node *n = store_lookup(tn->path);
	char *parent_path;
	struct node *parent;
	int rc = 0;

	if (!tn->exists) {
		if (n)
			store_delete(n);
		else
			tn->fire = FIRE_NONE;	/* born and gone in here */
		return 0;
	}
	if (n) {
		struct perms ps = node_perms(n);

		/* A hidden value was never copied, so never changed. */
		if (!tn->value_hidden &&
		    (n->vlen != tn->vlen ||
		     (tn->vlen && memcmp(node_value(n), tn->value, tn->vlen))))
			rc = store_set_value(n, tn->value, tn->vlen);
		if (!rc && !perms_equal(&ps, &tn->perms))
			rc = store_set_perms(n, &tn->perms);
		return rc;
	}
	parent_path = malloc(strlen(tn->path) + 1);
	if (!parent_path)
		return -ENOMEM;
	path_parent(tn->path, parent_path);
	parent = store_lookup(parent_path);
	free(parent_path);
	/* Parents are applied before children (mods keeps creation order),
	 * so a missing parent here is a bug; refuse rather than guess. */
	if (!parent)
		return -EIO;
	return store_create(parent, path_basename(tn->path), tn->value,
			    tn->vlen, &tn->perms, NULL);
}

int txn_commit(struct txn *t, bool validate)
{
	uint64_t gen_before = store.gen_counter;
	struct tnode *tn;
	size_t pos = 0;
	int rc = 0;

	if (t->doomed)
		return -EAGAIN;
	if (validate) {
		while ((tn = hmap_next(&t->nodes, &pos))) {
			struct node *n = store_lookup(tn->path);

			if ((n ? n->gen : 0) != tn->base_gen)
				return -EAGAIN;
		}
		rc = txn_check_commit(t);
		if (rc)
			return rc;
	}
	for (tn = t->mods; tn; tn = tn->next_mod) {
		int r = apply(tn);

		if (r) {
			elog(ELOG_ERR, "applying %s failed: %s", tn->path,
			     strerror(-r));
			rc = r;
		}
	}
	persist_commit(t, gen_before, rc == 0);
	for (tn = t->mods; tn; tn = tn->next_mod)
		if (tn->fire != FIRE_NONE)
			watch_fire(tn->path, tn->fire == FIRE_EXACT,
				   &tn->perms);
	return rc;
}
