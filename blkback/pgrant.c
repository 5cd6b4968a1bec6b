/*
 * blkback/pgrant.c: a queue's persistent grants (feature-persistent).
 *
 * A frontend that says feature-persistent grants a fixed set of pages and
 * copies each request's data through them, so the backend maps each page
 * once, at its first use, and keeps it until the queue stops: no map and
 * unmap per request (each a hypercall and a TLB flush on Xen).  A page is
 * mapped writable, as the frontend grants them; one it granted read-only
 * fails to map and its request gets BLKIF_RSP_ERROR.  The table is bounded
 * (BLK_PGRANT_MAX a queue, Linux's figure); past it the caller maps a
 * request's pages for that request only.
 *
 * Open addressing on the grant ref, no removal: entries go only all at
 * once, when the queue stops.
 */
#include <errno.h>
#include <stdlib.h>

#include "blkback/private.h"

static unsigned slot_of(uint32_t gref, unsigned cap)
{
	return (gref * 2654435761u) & (cap - 1);
}

int blk_pgrant_get(struct blk_queue *q, uint32_t gref, void **page)
{
	struct blk_pgrants *c = &q->pgrants;
	struct xenbus_dev *dev = q->bd->dev;
	unsigned i;

	if (!c->cap) {
		/* Twice the bound, a power of two: probes stay short. */
		c->cap = 2048;
		c->e = calloc(c->cap, sizeof(*c->e));
		if (!c->e) {
			c->cap = 0;
			return -ENOMEM;
		}
	}
	for (i = slot_of(gref, c->cap); c->e[i].page;
	     i = (i + 1) & (c->cap - 1))
		if (c->e[i].gref == gref) {
			*page = c->e[i].page;
			return 0;
		}
	if (c->n >= BLK_PGRANT_MAX)
		return -ENOSPC;
	if (xenbus_map(xenbus_dev_transport(dev), xenbus_dev_domid(dev), &gref,
		       1, true, page) < 0)
		return -EFAULT;
	c->e[i].gref = gref;
	c->e[i].page = *page;
	c->n++;
	return 0;
}

void blk_pgrant_clear(struct blk_queue *q)
{
	struct blk_pgrants *c = &q->pgrants;
	struct xenbus_transport *t = xenbus_dev_transport(q->bd->dev);

	for (unsigned i = 0; i < c->cap; i++)
		if (c->e[i].page)
			xenbus_unmap(t, c->e[i].page, 1);
	free(c->e);
	*c = (struct blk_pgrants){ 0 };
}
