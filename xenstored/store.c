/*
 * The tree.  Each node holds its own name (one path component), value,
 * permissions and a sorted array of children, so a lookup costs one binary
 * search per component.  A node is ONE allocation: the struct, then its
 * name, permissions and value; changing the value or the permissions builds
 * the node anew and re-points its parent and children at it (callers get
 * the new pointer).  Usage per owner domain is kept up to date for quotas.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct store store;

size_t node_size(const struct node *n)
{
	return sizeof(*n) + strlen(n->name) + 1 + n->vlen +
	       n->perms.n * sizeof(struct perm) +
	       n->capkids * sizeof(struct node *);
}

static void account(const struct node *n, int sign)
{
	struct domusage *u = &store.usage[n->perms.p[0].domid % NR_DOMIDS];
	uint64_t sz = node_size(n);

	if (sign > 0) {
		u->nodes++;
		u->bytes += sz;
		store.nnodes++;
	} else {
		u->nodes--;
		u->bytes -= sz;
		store.nnodes--;
	}
}

static struct node *node_build(const char *name, const char *value,
			       uint32_t vlen, const struct perms *perms)
{
	size_t nl = strlen(name);
	size_t po = sizeof(struct node) + nl + 1;
	size_t vo;
	struct node *n;

	po = (po + _Alignof(struct perm) - 1) & ~(_Alignof(struct perm) - 1);
	vo = po + perms->n * sizeof(struct perm);
	n = malloc(vo + vlen);
	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	memcpy(n->name, name, nl + 1);
	n->perms.n = perms->n;
	n->perms.p = (struct perm *)((char *)n + po);
	if (perms->n)
		memcpy(n->perms.p, perms->p, perms->n * sizeof(struct perm));
	n->vlen = vlen;
	n->value = vlen ? (char *)n + vo : NULL;
	if (vlen)
		memcpy(n->value, value, vlen);
	return n;
}

static void node_free(struct node *n)
{
	free(n->kids);
	free(n);
}

int store_init(void)
{
	static struct perm root_perm = { .domid = 0, .mode = PERM_NONE };
	struct perms p = { .p = &root_perm, .n = 1 };
	int rc;

	memset(&store, 0, sizeof(store));
	store.usage = calloc(NR_DOMIDS, sizeof(*store.usage));
	store.root = node_build("", NULL, 0, &p);
	if (!store.usage || !store.root)
		return -ENOMEM;
	if ((rc = perms_dup(&p, &store.intro_perms)) ||
	    (rc = perms_dup(&p, &store.release_perms)))
		return rc;
	store.root->gen = ++store.gen_counter;
	account(store.root, 1);
	return 0;
}

static void free_subtree(struct node *n)
{
	uint32_t i;

	for (i = 0; i < n->nkids; i++)
		free_subtree(n->kids[i]);
	node_free(n);
}

void store_fini(void)
{
	if (store.root)
		free_subtree(store.root);
	perms_free(&store.intro_perms);
	perms_free(&store.release_perms);
	free(store.usage);
	memset(&store, 0, sizeof(store));
}

/* Index of name in parent's kids, or of where it would go (found=false). */
static uint32_t kid_index(const struct node *parent, const char *name,
			  size_t nl, bool *found)
{
	uint32_t lo = 0, hi = parent->nkids;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const char *kn = parent->kids[mid]->name;
		int c = strncmp(kn, name, nl);

		if (c == 0)
			c = kn[nl] ? 1 : 0;
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

static struct node *kid_n(const struct node *parent, const char *name,
			  size_t nl)
{
	bool found;
	uint32_t i = kid_index(parent, name, nl, &found);

	return found ? parent->kids[i] : NULL;
}

struct node *store_kid(const struct node *parent, const char *name)
{
	return kid_n(parent, name, strlen(name));
}

struct node *store_lookup(const char *path)
{
	struct node *n = store.root;
	const char *p = path;

	if (*p != '/')
		return NULL;
	while (n && *p) {
		const char *start, *end;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		start = p;
		end = strchr(start, '/');
		if (!end)
			end = start + strlen(start);
		n = kid_n(n, start, (size_t)(end - start));
		p = end;
	}
	return n;
}

static void touch(struct node *n)
{
	n->gen = ++store.gen_counter;
}

int store_create(struct node *parent, const char *name, const char *value,
		 uint32_t vlen, const struct perms *perms, struct node **out)
{
	bool found;
	uint32_t i = kid_index(parent, name, strlen(name), &found);
	struct node *n;

	if (found)
		return -EEXIST;
	if (parent->nkids == parent->capkids) {
		/* Most directories hold a few children: start small. */
		uint32_t ncap = parent->capkids ? parent->capkids * 2 : 2;
		struct node **nk = realloc(parent->kids, ncap * sizeof(*nk));

		if (!nk)
			return -ENOMEM;
		account(parent, -1);
		parent->kids = nk;
		parent->capkids = ncap;
		account(parent, 1);
	}
	n = node_build(name, value, vlen, perms);
	if (!n)
		return -ENOMEM;
	n->parent = parent;
	memmove(&parent->kids[i + 1], &parent->kids[i],
		(parent->nkids - i) * sizeof(*parent->kids));
	parent->kids[i] = n;
	parent->nkids++;
	touch(parent);
	touch(n);
	account(n, 1);
	if (out)
		*out = n;
	return 0;
}

/* Builds *np anew with this value and these perms, in place of the old. */
static int node_rebuild(struct node **np, const char *value, uint32_t vlen,
			const struct perms *perms)
{
	struct node *old = *np, *n;
	uint32_t i;

	n = node_build(old->name, value, vlen, perms);
	if (!n)
		return -ENOMEM;
	account(old, -1);
	n->parent = old->parent;
	n->kids = old->kids;
	n->nkids = old->nkids;
	n->capkids = old->capkids;
	for (i = 0; i < n->nkids; i++)
		n->kids[i]->parent = n;
	if (n->parent) {
		bool found;

		i = kid_index(n->parent, n->name, strlen(n->name), &found);
		n->parent->kids[i] = n;
	} else {
		store.root = n;
	}
	free(old);
	account(n, 1);
	touch(n);
	*np = n;
	return 0;
}

int store_set_value(struct node **np, const char *value, uint32_t vlen)
{
	return node_rebuild(np, value, vlen, &(*np)->perms);
}

int store_set_perms(struct node **np, const struct perms *perms)
{
	return node_rebuild(np, (*np)->value, (*np)->vlen, perms);
}

static void unaccount_subtree(struct node *n)
{
	uint32_t i;

	for (i = 0; i < n->nkids; i++)
		unaccount_subtree(n->kids[i]);
	account(n, -1);
}

void store_delete(struct node *n)
{
	struct node *parent = n->parent;
	bool found;
	uint32_t i;

	if (!parent)
		return;		/* the root stays */
	i = kid_index(parent, n->name, strlen(n->name), &found);
	if (found) {
		memmove(&parent->kids[i], &parent->kids[i + 1],
			(parent->nkids - i - 1) * sizeof(*parent->kids));
		parent->nkids--;
		touch(parent);
	}
	unaccount_subtree(n);
	free_subtree(n);
}

char *store_path_of(const struct node *n)
{
	size_t len = 0, pos;
	const struct node *m;
	char *p;

	if (!n->parent)
		return strdup("/");
	for (m = n; m->parent; m = m->parent)
		len += strlen(m->name) + 1;
	p = malloc(len + 1);
	if (!p)
		return NULL;
	pos = len;
	p[pos] = '\0';
	for (m = n; m->parent; m = m->parent) {
		size_t nl = strlen(m->name);

		pos -= nl;
		memcpy(p + pos, m->name, nl);
		p[--pos] = '/';
	}
	return p;
}

static void check_node(const struct node *n, struct buf *out,
		       uint64_t *count, uint32_t *owned)
{
	uint32_t i;

	(*count)++;
	if (!n->perms.n) {
		buf_printf(out, "node '%s' has no permissions\n", n->name);
		return;
	}
	owned[n->perms.p[0].domid % NR_DOMIDS]++;
	for (i = 0; i < n->nkids; i++) {
		if (n->kids[i]->parent != n)
			buf_printf(out, "node '%s': child '%s' has wrong parent\n",
				   n->name, n->kids[i]->name);
		if (i && strcmp(n->kids[i - 1]->name, n->kids[i]->name) >= 0)
			buf_printf(out, "node '%s': children out of order\n",
				   n->name);
		check_node(n->kids[i], out, count, owned);
	}
}

int store_check(struct buf *out)
{
	uint32_t *owned = calloc(NR_DOMIDS, sizeof(*owned));
	uint64_t count = 0;
	size_t before = out->len;
	uint32_t d;

	if (!owned)
		return -ENOMEM;
	check_node(store.root, out, &count, owned);
	if (count != store.nnodes)
		buf_printf(out, "node count %llu, but %llu accounted\n",
			   (unsigned long long)count,
			   (unsigned long long)store.nnodes);
	for (d = 0; d < NR_DOMIDS; d++)
		if (owned[d] != store.usage[d].nodes)
			buf_printf(out, "domain %u owns %u nodes, %u accounted\n",
				   d, owned[d], store.usage[d].nodes);
	free(owned);
	return out->len == before ? 0 : -EIO;
}
