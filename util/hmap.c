#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "enso-util.h"

/* Open addressing with linear probing; a NULL key is empty, TOMBSTONE a
 * deleted slot that probes must walk past. */
struct hmap_slot {
	const char *key;
	void *val;
	uint64_t hash;
};

static const char tombstone_mark;
#define TOMBSTONE (&tombstone_mark)

uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;	/* FNV-1a */

	while (*s) {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

void hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void hmap_fini(struct hmap *m)
{
	free(m->slots);
	hmap_init(m);
}

static struct hmap_slot *lookup(const struct hmap *m, const char *key,
				uint64_t h)
{
	size_t mask = m->cap - 1, i;

	if (!m->cap)
		return NULL;
	for (i = h & mask;; i = (i + 1) & mask) {
		struct hmap_slot *s = &m->slots[i];

		if (!s->key)
			return NULL;
		if (s->key != TOMBSTONE && s->hash == h && !strcmp(s->key, key))
			return s;
	}
}

void *hmap_get(const struct hmap *m, const char *key)
{
	struct hmap_slot *s = lookup(m, key, hash_str(key));

	return s ? s->val : NULL;
}

static int grow(struct hmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16, i;
	struct hmap_slot *old = m->slots, *ns;

	/* Mostly tombstones: rehash at the same size. */
	if (m->cap && m->count * 4 < m->cap)
		ncap = m->cap;
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return -ENOMEM;
	for (i = 0; i < m->cap; i++) {
		size_t j;

		if (!old[i].key || old[i].key == TOMBSTONE)
			continue;
		for (j = old[i].hash & (ncap - 1); ns[j].key; j = (j + 1) & (ncap - 1))
			;
		ns[j] = old[i];
	}
	free(old);
	m->slots = ns;
	m->cap = ncap;
	m->used = m->count;
	return 0;
}

int hmap_put(struct hmap *m, const char *key, void *val)
{
	uint64_t h = hash_str(key);
	struct hmap_slot *s = lookup(m, key, h);
	size_t i, mask;

	if (s) {
		s->key = key;
		s->val = val;
		return 0;
	}
	if ((m->used + 1) * 4 > m->cap * 3) {
		int rc = grow(m);

		if (rc)
			return rc;
	}
	mask = m->cap - 1;
	for (i = h & mask; m->slots[i].key && m->slots[i].key != TOMBSTONE;
	     i = (i + 1) & mask)
		;
	if (!m->slots[i].key)
		m->used++;
	m->slots[i].key = key;
	m->slots[i].val = val;
	m->slots[i].hash = h;
	m->count++;
	return 0;
}

void *hmap_del(struct hmap *m, const char *key)
{
	struct hmap_slot *s = lookup(m, key, hash_str(key));
	void *val;

	if (!s)
		return NULL;
	val = s->val;
	s->key = TOMBSTONE;
	s->val = NULL;
	m->count--;
	return val;
}

void *hmap_next(const struct hmap *m, size_t *pos)
{
	while (*pos < m->cap) {
		struct hmap_slot *s = &m->slots[(*pos)++];

		if (s->key && s->key != TOMBSTONE)
			return s->val;
	}
	return NULL;
}
