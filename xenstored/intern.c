/*
 * Interned byte strings, shared by reference count.  The store keeps each
 * distinct path component ("state", "device", "51712") and each distinct
 * permission list once, and a node names them by a 32-bit id.
 *
 * Ids index ents[]; a hash table of ids (open addressing, linear probing,
 * backward-shift deletion, so no tombstones) finds an id by its bytes.
 * Entries live in the store's pool, so "state" costs 24 bytes, not a
 * malloc chunk.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct ient {
	uint32_t refs;
	uint32_t hash;
	uint32_t len;
	uint32_t handle;	/* of this entry in the pool */
	char key[];		/* len bytes and a NUL */
};

static uint32_t hash_bytes(const void *key, uint32_t len)
{
	const unsigned char *p = key;
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (len--) {
		h ^= *p++;
		h *= 16777619u;
	}
	return h;
}

void itab_init(struct itab *t, struct pool *pool)
{
	memset(t, 0, sizeof(*t));
	t->pool = pool;
}

void itab_fini(struct itab *t)
{
	uint32_t i;

	for (i = 0; i < t->nents; i++)
		if (t->ents[i])
			pool_free(t->pool, t->ents[i]->handle);
	free(t->ents);
	free(t->freeids);
	free(t->slots);
	itab_init(t, t->pool);
}

const char *itab_key(const struct itab *t, uint32_t id)
{
	return t->ents[id]->key;
}

uint32_t itab_len(const struct itab *t, uint32_t id)
{
	return t->ents[id]->len;
}

uint32_t itab_refs(const struct itab *t, uint32_t id)
{
	return id < t->nents && t->ents[id] ? t->ents[id]->refs : 0;
}

/* Slot holding key's id, or the empty slot where it would go. */
static uint32_t probe(const struct itab *t, const void *key, uint32_t len,
		      uint32_t h)
{
	uint32_t i;

	for (i = h & t->mask; t->slots[i]; i = (i + 1) & t->mask) {
		const struct ient *e = t->ents[t->slots[i] - 1];

		if (e->hash == h && e->len == len && !memcmp(e->key, key, len))
			break;
	}
	return i;
}

uint32_t itab_find(const struct itab *t, const void *key, uint32_t len)
{
	uint32_t i;

	if (!t->slots)
		return ITAB_NONE;
	i = probe(t, key, len, hash_bytes(key, len));
	return t->slots[i] ? t->slots[i] - 1 : ITAB_NONE;
}

static int grow_slots(struct itab *t)
{
	uint32_t ncap = t->slots ? (t->mask + 1) * 2 : 64, i;
	uint32_t *ns;

	if (ncap == 0)
		return -ENOMEM;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (i = 0; t->slots && i <= t->mask; i++) {
		uint32_t j, id = t->slots[i];

		if (!id)
			continue;
		for (j = t->ents[id - 1]->hash & (ncap - 1); ns[j];
		     j = (j + 1) & (ncap - 1))
			;
		ns[j] = id;
	}
	free(t->slots);
	t->slots = ns;
	t->mask = ncap - 1;
	return 0;
}

/* A free id: a recycled one, else a new one at the end of ents[]. */
static int new_id(struct itab *t, uint32_t *id)
{
	if (t->nfree) {
		*id = t->freeids[--t->nfree];
		return 0;
	}
	if (t->nents == t->capents) {
		uint32_t ncap = t->capents ? t->capents * 2 : 64;
		struct ient **ne;
		uint32_t *nf;

		if (ncap <= t->capents || ncap >= ITAB_NONE)
			return -ENOMEM;
		ne = realloc(t->ents, ncap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		t->ents = ne;
		/* Room to free every id, so unref never allocates. */
		nf = realloc(t->freeids, ncap * sizeof(*nf));
		if (!nf)
			return -ENOMEM;
		t->freeids = nf;
		t->capents = ncap;
	}
	*id = t->nents++;
	t->ents[*id] = NULL;
	return 0;
}

uint32_t itab_ref(struct itab *t, const void *key, uint32_t len)
{
	struct ient *e;
	uint32_t h = hash_bytes(key, len), i, id, handle;

	if (t->slots) {
		i = probe(t, key, len, h);
		if (t->slots[i]) {
			id = t->slots[i] - 1;
			t->ents[id]->refs++;
			return id;
		}
	}
	if ((!t->slots || (uint64_t)(t->count + 1) * 4 > (uint64_t)(t->mask + 1) * 3) &&
	    grow_slots(t))
		return ITAB_NONE;
	if (pool_alloc(t->pool, sizeof(*e) + (size_t)len + 1, &handle))
		return ITAB_NONE;
	if (new_id(t, &id)) {
		pool_free(t->pool, handle);
		return ITAB_NONE;
	}
	e = pool_ptr(t->pool, handle);
	e->handle = handle;
	e->refs = 1;
	e->hash = h;
	e->len = len;
	if (len)
		memcpy(e->key, key, len);
	e->key[len] = '\0';
	t->ents[id] = e;
	t->slots[probe(t, key, len, h)] = id + 1;
	t->count++;
	return id;
}

void itab_hold(struct itab *t, uint32_t id)
{
	t->ents[id]->refs++;
}

void itab_unref(struct itab *t, uint32_t id)
{
	struct ient *e = t->ents[id];
	uint32_t i, j;

	if (--e->refs)
		return;
	i = probe(t, e->key, e->len, e->hash);
	/* Backward shift: pull later entries of the run into the hole unless
	 * their home slot lies after it. */
	for (j = i;;) {
		uint32_t home;

		j = (j + 1) & t->mask;
		if (!t->slots[j])
			break;
		home = t->ents[t->slots[j] - 1]->hash & t->mask;
		if (i <= j ? (i < home && home <= j) : (i < home || home <= j))
			continue;
		t->slots[i] = t->slots[j];
		i = j;
	}
	t->slots[i] = 0;
	pool_free(t->pool, e->handle);
	t->ents[id] = NULL;
	t->freeids[t->nfree++] = id;
	t->count--;
}

size_t itab_bytes(const struct itab *t)
{
	size_t sz = (size_t)t->capents * (sizeof(*t->ents) + sizeof(*t->freeids));

	if (t->slots)
		sz += ((size_t)t->mask + 1) * sizeof(*t->slots);
	return sz;
}
