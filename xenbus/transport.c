/*
 * xenbus/transport.c: the calls engines make, each one dispatched to the
 * transport's table (shm.c, xen.c), with the checks both share.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>

#include "xenbus/private.h"

int xenbus_transport_new(size_t size, const struct xenbus_transport_ops *ops,
			 unsigned flags, struct xenbus_transport **out)
{
	*out = NULL;
	if (flags)
		return -EINVAL;
	*out = calloc(1, size);
	if (!*out)
		return -ENOMEM;
	(*out)->ops = ops;
	return 0;
}

void xenbus_transport_close(struct xenbus_transport *t)
{
	if (t)
		t->ops->close(t);
}

const char *xenbus_transport_name(const struct xenbus_transport *t)
{
	return t->ops->name;
}

int xenbus_transport_worker(struct xenbus_transport *t, uint32_t domid,
			    const int *keep, unsigned nkeep)
{
	return t->ops->worker(t, domid, keep, nkeep);
}

int xenbus_map(struct xenbus_transport *t, uint32_t domid,
	       const uint32_t *refs, uint32_t count, bool writable,
	       void **addr)
{
	*addr = NULL;
	if (count == 0 || count > XENBUS_MAP_MAX)
		return -EINVAL;
	return t->ops->map(t, domid, refs, count, writable, addr);
}

int xenbus_unmap(struct xenbus_transport *t, void *addr, uint32_t count)
{
	if (!addr)
		return 0;
	return t->ops->unmap(t, addr, count);
}

int xenbus_copy(struct xenbus_transport *t, uint32_t domid,
		const struct xenbus_copy *segs, uint32_t count)
{
	uint32_t i;

	for (i = 0; i < count; i++)
		if ((uint32_t)segs[i].offset + segs[i].len > XENBUS_PAGE_SIZE ||
		    !segs[i].local)
			return -EINVAL;
	return count ? t->ops->copy(t, domid, segs, count) : 0;
}

int xenbus_bind(struct xenbus_transport *t, uint32_t domid,
		uint32_t remote_port, struct xenbus_evtchn **out)
{
	*out = NULL;
	return t->ops->bind(t, domid, remote_port, out);
}

void xenbus_unbind(struct xenbus_evtchn *ch)
{
	if (ch)
		ch->t->ops->unbind(ch);
}

int xenbus_evtchn_fd(const struct xenbus_evtchn *ch)
{
	return ch->t->ops->fd(ch);
}

int xenbus_evtchn_ack(struct xenbus_evtchn *ch)
{
	return ch->t->ops->ack(ch);
}

int xenbus_notify(struct xenbus_evtchn *ch)
{
	return ch->t->ops->notify(ch);
}

int xenbus_frames_open(struct xenbus_transport *t)
{
	return t->ops->frames_open ? t->ops->frames_open(t) : -EOPNOTSUPP;
}

int xenbus_map_frame(struct xenbus_transport *t, uint32_t domid,
		     uint64_t frame, bool writable, void **addr)
{
	*addr = NULL;
	if (!t->ops->map_frame)
		return -EOPNOTSUPP;
	return t->ops->map_frame(t, domid, frame, writable, addr);
}

int xenbus_unmap_frame(struct xenbus_transport *t, void *addr)
{
	if (!addr)
		return 0;
	return t->ops->unmap_frame ? t->ops->unmap_frame(t, addr)
				   : -EOPNOTSUPP;
}
