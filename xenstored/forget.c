/*
 * A domain is gone: what it owned goes with it (unless -K), and no
 * permission may name it any more, or the next domain given its id would
 * inherit its rights (the class of XSA-322).  Both happen through the
 * daemon's own transactions, so watches fire and the journal records them
 * like any change.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct owned {
	char **paths;
	size_t n, cap;
};

static int owned_add(struct owned *o, const struct node *n)
{
	char *p = store_path_of(n);

	if (!p)
		return -ENOMEM;
	if (o->n == o->cap) {
		size_t ncap = o->cap ? o->cap * 2 : 16;
		char **np = realloc(o->paths, ncap * sizeof(*np));

		if (!np) {
			free(p);
			return -ENOMEM;
		}
		o->paths = np;
		o->cap = ncap;
	}
	o->paths[o->n++] = p;
	return 0;
}

static void owned_fini(struct owned *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		free(o->paths[i]);
	free(o->paths);
}

static int collect_owned(const struct node *n, uint32_t domid,
			 struct owned *o)
{
	uint32_t i;

	if (node_parent(n) && node_owner(n) == domid)
		return owned_add(o, n);	/* the subtree goes with it */
	for (i = 0; i < node_nkids(n); i++) {
		int rc = collect_owned(node_kid(n, i), domid, o);

		if (rc)
			return rc;
	}
	return 0;
}

/* Paths of the nodes whose permissions name domid anywhere but as the
 * owner of a node that goes with its subtree (collect_owned). */
static int collect_naming(const struct node *n, uint32_t domid,
			  struct owned *o)
{
	struct perms ps = node_perms(n), np;
	uint32_t i;
	int rc = perms_without(&ps, domid, &np);

	if (rc < 0)
		return rc;
	if (rc > 0) {
		perms_free(&np);
		rc = owned_add(o, n);
		if (rc)
			return rc;
	}
	for (i = 0; i < node_nkids(n); i++) {
		rc = collect_naming(node_kid(n, i), domid, o);
		if (rc)
			return rc;
	}
	return 0;
}

static void forget_special(struct perms *sp, uint32_t domid)
{
	struct perms np;

	if (perms_without(sp, domid, &np) > 0) {
		perms_free(sp);
		*sp = np;
	}
}

void domain_forget(uint32_t domid)
{
	struct owned gone = { 0 }, naming = { 0 };
	struct txn *t;
	size_t i;
	int rc = 0;

	if (domid == 0)
		return;
	/* What it owned goes with it (unless -K); then no permission may
	 * name it any more, or the next domain given its id would inherit
	 * its rights (XSA-322): those entries go, and a kept orphan's owner
	 * becomes dom0. */
	if (!keep_orphans && store.usage[domid].nodes)
		rc = collect_owned(store.root, domid, &gone);
	t = txn_new(&daemon_conn, 0);
	for (i = 0; !rc && t && i < gone.n; i++)
		txn_rm(t, gone.paths[i]);
	if (!rc && t)
		rc = txn_commit(t, false);
	txn_free(t);
	if (!rc)
		rc = collect_naming(store.root, domid, &naming);
	t = rc ? NULL : txn_new(&daemon_conn, 0);
	for (i = 0; t && i < naming.n; i++) {
		struct node *n = store_lookup(naming.paths[i]);
		struct perms ps, np;

		if (!n)
			continue;
		ps = node_perms(n);
		if (perms_without(&ps, domid, &np) > 0) {
			txn_set_perms(t, naming.paths[i], &np);
			perms_free(&np);
		}
	}
	if (t)
		txn_commit(t, false);
	txn_free(t);
	forget_special(&store.intro_perms, domid);
	forget_special(&store.release_perms, domid);
	persist_special_perms("@introduceDomain", &store.intro_perms);
	persist_special_perms("@releaseDomain", &store.release_perms);
	if (rc)
		elog(ELOG_ERR, "domain %u: forgetting it: %s", domid,
		     strerror(-rc));
	if (gone.n || naming.n)
		elog(ELOG_INFO, "domain %u: removed %zu subtrees it owned, its name from %zu permission lists",
		     domid, gone.n, naming.n);
	owned_fini(&gone);
	owned_fini(&naming);
}
