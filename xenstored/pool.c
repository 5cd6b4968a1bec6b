/*
 * The store's small-block allocator: child arrays, long values and
 * interned strings, named by 32-bit handles.
 *
 * Blocks of up to POOL_MAX_SMALL bytes come in size classes, carved from
 * chunks mapped straight from the kernel: no per-block header, and none
 * of it shares pages with the malloc heap, where requests come and go and
 * would leave holes between long-lived blocks.  A class keeps a free list
 * threaded through its free blocks.  Bigger blocks are malloc'd one by one
 * with their size in front, and freed when released.
 *
 * A handle is ((class + 1) << POOL_IDX_BITS) | index; 0 is no block.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "core.h"

#define POOL_IDX_BITS 27
#define POOL_IDX_MASK ((1u << POOL_IDX_BITS) - 1)
#define CHUNK_BYTES (64u * 1024)
#define BIG_CLASS POOL_CLASSES

static const uint32_t class_size[POOL_CLASSES] = {
	8, 16, 24, 32, 48, 64, 96, 128, 192, 256, 384, 512, 768, 1024,
	1536, 2048, 3072, 4096,
};

_Static_assert(POOL_CLASSES == 18, "class_size has POOL_CLASSES entries");
_Static_assert(BIG_CLASS + 1 < 32, "classes fit the handle's top bits");

struct big {
	size_t size;
	max_align_t data[];
};

/* Blocks per chunk: a power of two, the most that fit CHUNK_BYTES. */
static uint32_t chunk_shift(uint32_t c)
{
	uint32_t s = 0;

	while ((class_size[c] << (s + 1)) <= CHUNK_BYTES)
		s++;
	return s;
}

static uint32_t h_class(uint32_t h)
{
	return (h >> POOL_IDX_BITS) - 1;
}

void *pool_ptr(const struct pool *p, uint32_t h)
{
	uint32_t c, idx;

	if (!h)
		return NULL;
	c = h_class(h);
	idx = h & POOL_IDX_MASK;
	if (c == BIG_CLASS)
		return p->big[idx]->data;
	return p->cls[c].chunks[idx >> p->cls[c].shift] +
	       (size_t)(idx & ((1u << p->cls[c].shift) - 1)) * class_size[c];
}

size_t pool_size(const struct pool *p, uint32_t h)
{
	if (!h)
		return 0;
	if (h_class(h) == BIG_CLASS)
		return p->big[h & POOL_IDX_MASK]->size;
	return class_size[h_class(h)];
}

void pool_init(struct pool *p)
{
	uint32_t c;

	memset(p, 0, sizeof(*p));
	for (c = 0; c < POOL_CLASSES; c++)
		p->cls[c].shift = chunk_shift(c);
}

static int alloc_small(struct pool *p, uint32_t c, uint32_t *idx)
{
	struct pool_class *k = &p->cls[c];
	uint32_t per = 1u << k->shift;

	if (k->free) {
		*idx = k->free - 1;
		memcpy(&k->free,
		       pool_ptr(p, ((c + 1) << POOL_IDX_BITS) | *idx),
		       sizeof(k->free));
		return 0;
	}
	if (k->nblocks == k->nchunks * per) {
		size_t bytes = (size_t)class_size[c] << k->shift;
		char **nc;
		void *m;

		if (k->nblocks + per > POOL_IDX_MASK)
			return -ENOMEM;
		nc = realloc(k->chunks, (k->nchunks + 1) * sizeof(*nc));
		if (!nc)
			return -ENOMEM;
		k->chunks = nc;
		m = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (m == MAP_FAILED)
			return -ENOMEM;
		nc[k->nchunks++] = m;
		p->mapped += bytes;
	}
	*idx = k->nblocks++;
	p->used += class_size[c];
	return 0;
}

static int alloc_big(struct pool *p, size_t size, uint32_t *idx)
{
	struct big *b;

	if (size > SIZE_MAX - sizeof(*b) || !(b = malloc(sizeof(*b) + size)))
		return -ENOMEM;
	b->size = size;
	if (p->nbigfree) {
		*idx = p->bigfree[--p->nbigfree];
	} else {
		if (p->nbig == p->capbig) {
			uint32_t ncap = p->capbig ? p->capbig * 2 : 16;
			struct big **nb;
			uint32_t *nf;

			if (ncap > POOL_IDX_MASK)
				goto nomem;
			nb = realloc(p->big, ncap * sizeof(*nb));
			if (!nb)
				goto nomem;
			p->big = nb;
			/* Room to free every block, so pool_free never fails. */
			nf = realloc(p->bigfree, ncap * sizeof(*nf));
			if (!nf)
				goto nomem;
			p->bigfree = nf;
			p->capbig = ncap;
		}
		*idx = p->nbig++;
	}
	p->big[*idx] = b;
	p->used += size;
	return 0;
nomem:
	free(b);
	return -ENOMEM;
}

int pool_alloc(struct pool *p, size_t size, uint32_t *h)
{
	uint32_t c = 0, idx;
	int rc;

	while (c < POOL_CLASSES && class_size[c] < size)
		c++;
	rc = c < POOL_CLASSES ? alloc_small(p, c, &idx)
			      : alloc_big(p, size, &idx);
	if (rc)
		return rc;
	*h = ((c + 1) << POOL_IDX_BITS) | idx;
	return 0;
}

void pool_free(struct pool *p, uint32_t h)
{
	uint32_t c, idx;

	if (!h)
		return;
	c = h_class(h);
	idx = h & POOL_IDX_MASK;
	if (c == BIG_CLASS) {
		p->used -= p->big[idx]->size;
		free(p->big[idx]);
		p->big[idx] = NULL;
		p->bigfree[p->nbigfree++] = idx;
		return;
	}
	memcpy(pool_ptr(p, h), &p->cls[c].free, sizeof(p->cls[c].free));
	p->cls[c].free = idx + 1;
	p->used -= class_size[c];
}

void pool_fini(struct pool *p)
{
	uint32_t c, i;

	for (c = 0; c < POOL_CLASSES; c++) {
		for (i = 0; i < p->cls[c].nchunks; i++)
			munmap(p->cls[c].chunks[i],
			       (size_t)class_size[c] << p->cls[c].shift);
		free(p->cls[c].chunks);
	}
	for (i = 0; i < p->nbig; i++)
		free(p->big[i]);
	free(p->big);
	free(p->bigfree);
	pool_init(p);
}

size_t pool_bytes(const struct pool *p)
{
	return p->used;
}
