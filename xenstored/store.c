/*
 * The tree.  Each node holds its own name (one path component), value,
 * permissions and a sorted array of children, so a lookup costs one binary
 * search per component.
 *
 * Memory is what this file is about: a xenstore holds tens of thousands of
 * small nodes, most of them leaves with a short value.  So a node is a
 * fixed 32-byte record in a slab of 1024-record chunks mapped from the
 * kernel (no malloc header, no rounding, no heap holes), named by a 32-bit
 * id; its name and permission list are interned (intern.c: "state" or "n0"
 * is stored once however many nodes use it); its children are a sorted
 * block of ids and a value of more than NODE_VAL_INLINE bytes a block, both
 * from the store's pool (pool.c); a shorter value sits in the record.
 * Records never move, so a node pointer stays valid until the node is
 * deleted, and freed ids are reused.
 *
 * Usage per owner domain is kept up to date for quotas (node_size).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"

#define NODE_CHUNK_SHIFT 10
#define NODE_CHUNK (1u << NODE_CHUNK_SHIFT)

_Static_assert(sizeof(struct node) == 32, "a node record is 32 bytes");

struct store store;

static struct node *node_at(uint32_t id)
{
	return &store.chunks[id >> NODE_CHUNK_SHIFT][id & (NODE_CHUNK - 1)];
}

/* A child block holds the count, then the sorted ids: leaves, most of
 * the store, pay for neither. */
static uint32_t *kid_block(const struct node *n)
{
	return pool_ptr(&store.pool, n->kids);
}

uint32_t node_nkids(const struct node *n)
{
	return n->kids ? kid_block(n)[0] : 0;
}

/* The ids; only for a node with a block. */
static uint32_t *kids_of(const struct node *n)
{
	return kid_block(n) + 1;
}

static uint32_t kids_cap(const struct node *n)
{
	return n->kids ? (uint32_t)(pool_size(&store.pool, n->kids) /
				    sizeof(uint32_t)) - 1
		       : 0;
}

/* The pool handle of a value kept outside the record. */
static uint32_t value_handle(const struct node *n)
{
	uint32_t h;

	memcpy(&h, n->val, sizeof(h));
	return h;
}

const char *node_name(const struct node *n)
{
	return itab_key(&store.names, n->name);
}

static uint32_t name_len(const struct node *n)
{
	return itab_len(&store.names, n->name);
}

const char *node_value(const struct node *n)
{
	if (!n->vlen)
		return NULL;
	if (n->vlen <= NODE_VAL_INLINE)
		return n->val;
	return pool_ptr(&store.pool, value_handle(n));
}

struct perms node_perms(const struct node *n)
{
	struct perms ps = {
		.p = (struct perm *)itab_key(&store.permtab, n->perms),
		.n = (uint16_t)(itab_len(&store.permtab, n->perms) /
				sizeof(struct perm)),
	};

	return ps;
}

uint32_t node_owner(const struct node *n)
{
	return node_perms(n).p[0].domid;
}

struct node *node_parent(const struct node *n)
{
	return n->parent == NODE_NONE ? NULL : node_at(n->parent);
}

struct node *node_kid(const struct node *n, uint32_t i)
{
	return node_at(kids_of(n)[i]);
}

size_t node_size(const struct node *n)
{
	return sizeof(*n) + name_len(n) + 1 + n->vlen +
	       itab_len(&store.permtab, n->perms) +
	       kids_cap(n) * sizeof(uint32_t);
}

size_t store_bytes(void)
{
	return (size_t)store.nchunks *
		       (NODE_CHUNK * sizeof(struct node) + sizeof(*store.chunks)) +
	       pool_bytes(&store.pool) + itab_bytes(&store.names) +
	       itab_bytes(&store.permtab);
}

static void account(const struct node *n, int sign)
{
	struct domusage *u = &store.usage[node_owner(n) % NR_DOMIDS];
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

/* A zeroed record: a freed one, else the next of the slab. */
static int node_alloc(uint32_t *id)
{
	if (store.free_head != NODE_NONE) {
		*id = store.free_head;
		store.free_head = node_at(*id)->parent;
	} else {
		if (store.nused == store.nchunks * NODE_CHUNK) {
			struct node **nc;
			void *m;

			if (store.nchunks >= (NODE_NONE >> NODE_CHUNK_SHIFT))
				return -ENOMEM;
			nc = realloc(store.chunks,
				     (store.nchunks + 1) * sizeof(*nc));
			if (!nc)
				return -ENOMEM;
			store.chunks = nc;
			m = mmap(NULL, NODE_CHUNK * sizeof(**nc),
				 PROT_READ | PROT_WRITE,
				 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (m == MAP_FAILED)
				return -ENOMEM;
			nc[store.nchunks] = m;
			store.nchunks++;
		}
		*id = store.nused++;
	}
	memset(node_at(*id), 0, sizeof(struct node));
	return 0;
}

static void value_free(struct node *n)
{
	if (n->vlen > NODE_VAL_INLINE)
		pool_free(&store.pool, value_handle(n));
	n->vlen = 0;
}

/* A long value goes to the pool first (*ext, 0 for a short one), before
 * anything changes, so a failure leaves the node as it was. */
static int value_prepare(const char *value, uint32_t vlen, uint32_t *ext)
{
	*ext = 0;
	if (vlen > UINT16_MAX)
		return -E2BIG;
	if (vlen <= NODE_VAL_INLINE)
		return 0;
	if (pool_alloc(&store.pool, vlen, ext))
		return -ENOMEM;
	memcpy(pool_ptr(&store.pool, *ext), value, vlen);
	return 0;
}

static void value_set(struct node *n, const char *value, uint32_t vlen,
		      uint32_t ext)
{
	if (ext)
		memcpy(n->val, &ext, sizeof(ext));
	else if (vlen)
		memmove(n->val, value, vlen);
	n->vlen = (uint16_t)vlen;
}

static void node_release(uint32_t id)
{
	struct node *n = node_at(id);

	value_free(n);
	pool_free(&store.pool, n->kids);
	itab_unref(&store.names, n->name);
	itab_unref(&store.permtab, n->perms);
	memset(n, 0, sizeof(*n));
	n->name = ITAB_NONE;
	n->parent = store.free_head;
	store.free_head = id;
}

int store_init(void)
{
	static struct perm root_perm = { .domid = 0, .mode = PERM_NONE };
	struct perms p = { .p = &root_perm, .n = 1 };
	struct node *root;
	uint32_t id;
	int rc;

	memset(&store, 0, sizeof(store));
	store.free_head = NODE_NONE;
	pool_init(&store.pool);
	itab_init(&store.names, &store.pool);
	itab_init(&store.permtab, &store.pool);
	store.usage = calloc(NR_DOMIDS, sizeof(*store.usage));
	if (!store.usage || node_alloc(&id))
		return -ENOMEM;
	root = node_at(id);
	root->parent = NODE_NONE;
	root->name = itab_ref(&store.names, "", 0);
	root->perms = itab_ref(&store.permtab, p.p, sizeof(*p.p));
	if (root->name == ITAB_NONE || root->perms == ITAB_NONE)
		return -ENOMEM;
	store.root = root;
	if ((rc = perms_dup(&p, &store.intro_perms)) ||
	    (rc = perms_dup(&p, &store.release_perms)))
		return rc;
	store.root->gen = ++store.gen_counter;
	account(store.root, 1);
	return 0;
}

void store_fini(void)
{
	uint32_t i;

	/* The pool goes whole, with every value and child array. */
	for (i = 0; i < store.nchunks; i++)
		munmap(store.chunks[i], NODE_CHUNK * sizeof(struct node));
	free(store.chunks);
	itab_fini(&store.names);
	itab_fini(&store.permtab);
	pool_fini(&store.pool);
	perms_free(&store.intro_perms);
	perms_free(&store.release_perms);
	free(store.usage);
	memset(&store, 0, sizeof(store));
}

/* Index of name in parent's kids, or of where it would go (found=false). */
static uint32_t kid_index(const struct node *parent, const char *name,
			  size_t nl, bool *found)
{
	const uint32_t *kids;
	uint32_t lo = 0, hi = node_nkids(parent);

	*found = false;
	if (!hi)
		return 0;
	kids = kids_of(parent);
	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		const struct node *k = node_at(kids[mid]);
		size_t kl = name_len(k);
		int c = memcmp(node_name(k), name, kl < nl ? kl : nl);

		if (c == 0)
			c = kl < nl ? -1 : kl > nl;
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

	return found ? node_at(kids_of(parent)[i]) : NULL;
}

struct node *store_kid(const struct node *parent, const char *name)
{
	return kid_n(parent, name, strlen(name));
}

/* A node's id, found in its parent's children. */
static uint32_t node_id(const struct node *n)
{
	const struct node *parent = node_parent(n);
	bool found;
	uint32_t i;

	if (!parent)
		return 0;
	i = kid_index(parent, node_name(n), name_len(n), &found);
	return kids_of(parent)[i];
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

/* Moves parent's children to a block with room for room ids (accounted). */
static int kids_resize(struct node *parent, uint32_t room)
{
	uint32_t h, *nb;
	int rc = pool_alloc(&store.pool,
			    ((size_t)room + 1) * sizeof(uint32_t), &h);

	if (rc)
		return rc;
	nb = pool_ptr(&store.pool, h);
	nb[0] = 0;
	if (parent->kids)
		memcpy(nb, kid_block(parent),
		       (node_nkids(parent) + 1) * sizeof(uint32_t));
	account(parent, -1);
	pool_free(&store.pool, parent->kids);
	parent->kids = h;
	account(parent, 1);
	return 0;
}

int store_create(struct node *parent, const char *name, const char *value,
		 uint32_t vlen, const struct perms *perms, struct node **out)
{
	size_t nl = strlen(name);
	bool found;
	uint32_t i = kid_index(parent, name, nl, &found), id, pid, *kids;
	uint32_t nk = node_nkids(parent), name_id, perms_id;
	struct node *n;
	uint32_t ext;
	int rc;

	if (found)
		return -EEXIST;
	rc = value_prepare(value, vlen, &ext);
	if (rc)
		return rc;
	pid = node_id(parent);
	name_id = itab_ref(&store.names, name, (uint32_t)nl);
	if (name_id == ITAB_NONE)
		goto nomem_value;
	perms_id = itab_ref(&store.permtab, perms->p,
			    perms->n * (uint32_t)sizeof(struct perm));
	if (perms_id == ITAB_NONE)
		goto nomem_name;
	/* Most directories hold a few children: grow by one size class
	 * (about a third), by half once past the classes. */
	if (nk == kids_cap(parent) &&
	    (nk >= UINT32_MAX / 2 ||
	     kids_resize(parent, nk < 1024 ? nk + 1 : nk + nk / 2)))
		goto nomem_perms;
	if (node_alloc(&id))
		goto nomem_perms;
	n = node_at(id);
	n->parent = pid;
	n->name = name_id;
	n->perms = perms_id;
	value_set(n, value, vlen, ext);
	kids = kids_of(parent);
	memmove(&kids[i + 1], &kids[i], (nk - i) * sizeof(*kids));
	kids[i] = id;
	kid_block(parent)[0] = nk + 1;
	touch(parent);
	touch(n);
	account(n, 1);
	if (out)
		*out = n;
	return 0;

nomem_perms:
	itab_unref(&store.permtab, perms_id);
nomem_name:
	itab_unref(&store.names, name_id);
nomem_value:
	pool_free(&store.pool, ext);
	return -ENOMEM;
}

int store_set_value(struct node *n, const char *value, uint32_t vlen)
{
	uint32_t ext;
	int rc = value_prepare(value, vlen, &ext);

	if (rc)
		return rc;
	account(n, -1);
	if (n->vlen <= NODE_VAL_INLINE || vlen > NODE_VAL_INLINE) {
		value_free(n);
		value_set(n, value, vlen, ext);
	} else {
		/* The new value may be the old one's tail: copy, then free. */
		uint32_t old = value_handle(n);

		value_set(n, value, vlen, 0);
		pool_free(&store.pool, old);
	}
	account(n, 1);
	touch(n);
	return 0;
}

int store_set_perms(struct node *n, const struct perms *perms)
{
	uint32_t id = itab_ref(&store.permtab, perms->p,
			       perms->n * (uint32_t)sizeof(struct perm));

	if (id == ITAB_NONE)
		return -ENOMEM;
	account(n, -1);
	itab_unref(&store.permtab, n->perms);
	n->perms = id;
	account(n, 1);
	touch(n);
	return 0;
}

static void delete_subtree(uint32_t id)
{
	struct node *n = node_at(id);
	uint32_t i;

	for (i = 0; i < node_nkids(n); i++)
		delete_subtree(kids_of(n)[i]);
	account(n, -1);
	node_release(id);
}

void store_delete(struct node *n)
{
	struct node *parent = node_parent(n);
	uint32_t i, id, *kids, cap, nk;
	bool found;

	if (!parent)
		return;		/* the root stays */
	i = kid_index(parent, node_name(n), name_len(n), &found);
	if (!found)
		return;		/* not in the tree: nothing we own */
	kids = kids_of(parent);
	id = kids[i];
	nk = node_nkids(parent) - 1;
	memmove(&kids[i], &kids[i + 1], (nk - i) * sizeof(*kids));
	kid_block(parent)[0] = nk;
	cap = kids_cap(parent);
	if (!nk) {
		account(parent, -1);
		pool_free(&store.pool, parent->kids);
		parent->kids = 0;
		account(parent, 1);
	} else if (cap >= 4 && nk <= cap / 4) {
		(void)kids_resize(parent, cap / 2);	/* or keep the room */
	}
	touch(parent);
	delete_subtree(id);
}

char *store_path_of(const struct node *n)
{
	size_t len = 0, pos;
	const struct node *m;
	char *p;

	if (!node_parent(n))
		return strdup("/");
	for (m = n; node_parent(m); m = node_parent(m))
		len += name_len(m) + 1;
	p = malloc(len + 1);
	if (!p)
		return NULL;
	pos = len;
	p[pos] = '\0';
	for (m = n; node_parent(m); m = node_parent(m)) {
		size_t nl = name_len(m);

		pos -= nl;
		memcpy(p + pos, node_name(m), nl);
		p[--pos] = '/';
	}
	return p;
}

struct check {
	struct buf *out;
	uint64_t count;
	uint32_t *owned;
	uint64_t *name_refs, *perm_refs;
};

static void check_node(uint32_t id, struct check *ck)
{
	const struct node *n = node_at(id);
	struct perms ps;
	uint32_t i;

	ck->count++;
	if (n->name >= store.names.nents || !store.names.ents[n->name] ||
	    n->perms >= store.permtab.nents || !store.permtab.ents[n->perms]) {
		buf_printf(ck->out, "node %u has a freed name or permissions\n",
			   id);
		return;
	}
	ck->name_refs[n->name]++;
	ck->perm_refs[n->perms]++;
	ps = node_perms(n);
	if (!ps.n) {
		buf_printf(ck->out, "node '%s' has no permissions\n",
			   node_name(n));
		return;
	}
	ck->owned[ps.p[0].domid % NR_DOMIDS]++;
	if (node_nkids(n) > kids_cap(n))
		buf_printf(ck->out, "node '%s': %u children in room for %u\n",
			   node_name(n), node_nkids(n), kids_cap(n));
	for (i = 0; i < node_nkids(n) && i < kids_cap(n); i++) {
		const struct node *k = node_kid(n, i);

		if (k->parent != id)
			buf_printf(ck->out,
				   "node '%s': child '%s' has wrong parent\n",
				   node_name(n), node_name(k));
		if (i && strcmp(node_name(node_kid(n, i - 1)),
				node_name(k)) >= 0)
			buf_printf(ck->out, "node '%s': children out of order\n",
				   node_name(n));
		check_node(kids_of(n)[i], ck);
	}
}

/* Each interned entry has as many references as nodes using it. */
static void check_refs(const struct itab *t, const uint64_t *refs,
		       const char *what, struct buf *out)
{
	uint32_t i;

	for (i = 0; i < t->nents; i++)
		if (itab_refs(t, i) != refs[i])
			buf_printf(out, "%s %u: %u references, %llu users\n",
				   what, i, itab_refs(t, i),
				   (unsigned long long)refs[i]);
}

int store_check(struct buf *out)
{
	struct check ck = {
		.out = out,
		.owned = calloc(NR_DOMIDS, sizeof(*ck.owned)),
		.name_refs = calloc(store.names.nents + 1, sizeof(uint64_t)),
		.perm_refs = calloc(store.permtab.nents + 1, sizeof(uint64_t)),
	};
	size_t before = out->len;
	uint32_t d;
	int rc = 0;

	if (!ck.owned || !ck.name_refs || !ck.perm_refs) {
		rc = -ENOMEM;
		goto out;
	}
	check_node(0, &ck);
	if (ck.count != store.nnodes)
		buf_printf(out, "node count %llu, but %llu accounted\n",
			   (unsigned long long)ck.count,
			   (unsigned long long)store.nnodes);
	for (d = 0; d < NR_DOMIDS; d++)
		if (ck.owned[d] != store.usage[d].nodes)
			buf_printf(out, "domain %u owns %u nodes, %u accounted\n",
				   d, ck.owned[d], store.usage[d].nodes);
	check_refs(&store.names, ck.name_refs, "name", out);
	check_refs(&store.permtab, ck.perm_refs, "permission list", out);
	rc = out->len == before ? 0 : -EIO;
out:
	free(ck.owned);
	free(ck.name_refs);
	free(ck.perm_refs);
	return rc;
}
