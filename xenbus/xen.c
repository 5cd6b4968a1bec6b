/*
 * xenbus/xen.c: the transport on Xen: grant tables (libxengnttab) and
 * event channels (libxenevtchn).
 *
 * Compiled and reviewed only on hosts without Xen: its proof is the rig.
 * Each bound channel has its own xenevtchn handle, hence its own fd: the
 * engine polls one fd per device, and a per-device worker can keep only
 * its own (docs/design/xenbus.md).  Handles are not usable across fork:
 * a worker opens its own (xen_worker), and each channel's handle is
 * restricted to its frontend's domain.  Frames (libxenforeignmemory) only
 * for a caller that asks: consoled's primary console page.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>

#include "xenbus/private.h"

struct xen {
	struct xenbus_transport t;
	xengnttab_handle *xgt;
	/* xenbus_frames_open's, else NULL: only consoled asks for it */
	xenforeignmemory_handle *xfm;
};

struct xen_evtchn {
	struct xenbus_evtchn ch;
	xenevtchn_handle *xce;
	evtchn_port_t port;	/* ours */
};

static const struct xenbus_transport_ops xen_ops;

static int neg_errno(void)
{
	return errno ? -errno : -EIO;
}

int xenbus_transport_xen_open(unsigned flags, struct xenbus_transport **out)
{
	struct xenbus_transport *t;
	struct xen *x;
	int rc;

	*out = NULL;
	rc = xenbus_transport_new(sizeof(*x), &xen_ops, flags, &t);
	if (rc < 0)
		return rc;
	x = (struct xen *)t;
	x->xgt = xengnttab_open(NULL, 0);
	if (!x->xgt) {
		rc = neg_errno();
		elog(ELOG_ERR, "xenbus: opening the grant table device: %s",
		     strerror(-rc));
		free(x);
		return rc;
	}
	*out = t;
	return 0;
}

static int xen_map(struct xenbus_transport *t, uint32_t domid,
		   const uint32_t *refs, uint32_t count, bool writable,
		   void **addr)
{
	struct xen *x = (struct xen *)t;
	uint32_t r[XENBUS_MAP_MAX];	/* xenbus_map checked count */
	uint32_t i;

	if (count > ARRAY_SIZE(r))
		return -EINVAL;
	for (i = 0; i < count; i++)	/* the library's refs are not const */
		r[i] = refs[i];
	*addr = xengnttab_map_domain_grant_refs(
		x->xgt, count, domid, r,
		PROT_READ | (writable ? PROT_WRITE : 0));
	return *addr ? 0 : neg_errno();
}

static int xen_unmap(struct xenbus_transport *t, void *addr, uint32_t count)
{
	struct xen *x = (struct xen *)t;

	return xengnttab_unmap(x->xgt, addr, count) < 0 ? neg_errno() : 0;
}

static int xen_copy(struct xenbus_transport *t, uint32_t domid,
		    const struct xenbus_copy *segs, uint32_t count)
{
	struct xen *x = (struct xen *)t;
	xengnttab_grant_copy_segment_t *g = calloc(count, sizeof(*g));
	uint32_t i;
	int rc = 0;

	if (!g)
		return -ENOMEM;
	for (i = 0; i < count; i++) {
		union xengnttab_copy_ptr guest = {
			.foreign = { .ref = segs[i].ref,
				     .offset = segs[i].offset,
				     .domid = (uint16_t)domid },
		};

		g[i].len = segs[i].len;
		if (segs[i].to_guest) {
			g[i].source.virt = segs[i].local;
			g[i].dest = guest;
			g[i].flags = GNTCOPY_dest_gref;
		} else {
			g[i].source = guest;
			g[i].dest.virt = segs[i].local;
			g[i].flags = GNTCOPY_source_gref;
		}
	}
	if (xengnttab_grant_copy(x->xgt, count, g) < 0)
		rc = neg_errno();
	for (i = 0; rc == 0 && i < count; i++)
		if (g[i].status != GNTST_okay)
			rc = -EIO;	/* the guest's grant: its fault */
	free(g);
	return rc;
}

static int xen_bind(struct xenbus_transport *t, uint32_t domid,
		    uint32_t remote_port, struct xenbus_evtchn **out)
{
	struct xen_evtchn *c = calloc(1, sizeof(*c));
	xenevtchn_port_or_error_t p;
	int rc;

	if (!c)
		return -ENOMEM;
	c->ch.t = t;
	c->xce = xenevtchn_open(NULL, 0);
	if (!c->xce) {
		rc = neg_errno();
		free(c);
		return rc;
	}
	p = xenevtchn_bind_interdomain(c->xce, domid, remote_port);
	if (p < 0) {
		rc = neg_errno();
		xenevtchn_close(c->xce);
		free(c);
		return rc;
	}
	c->port = (evtchn_port_t)p;
	/* The handle is this one channel's: it serves domid alone, so that
	 * a worker holding it can bind nothing of another domain. */
	if (xenevtchn_restrict(c->xce, (domid_t)domid) < 0) {
		rc = neg_errno();
		xenevtchn_unbind(c->xce, c->port);
		xenevtchn_close(c->xce);
		free(c);
		return rc;
	}
	*out = &c->ch;
	return 0;
}

static void xen_unbind(struct xenbus_evtchn *ch)
{
	struct xen_evtchn *c = (struct xen_evtchn *)ch;

	xenevtchn_unbind(c->xce, c->port);
	xenevtchn_close(c->xce);
	free(c);
}

static int xen_fd(const struct xenbus_evtchn *ch)
{
	return xenevtchn_fd(((const struct xen_evtchn *)ch)->xce);
}

/* The kernel masked the port when it became pending: take it and unmask
 * (xenevtchn.h).  Only when the fd is readable: the read blocks. */
static int xen_ack(struct xenbus_evtchn *ch)
{
	struct xen_evtchn *c = (struct xen_evtchn *)ch;
	xenevtchn_port_or_error_t p = xenevtchn_pending(c->xce);

	if (p < 0)
		return neg_errno();
	return xenevtchn_unmask(c->xce, (evtchn_port_t)p) < 0 ? neg_errno()
							       : 0;
}

static int xen_notify(struct xenbus_evtchn *ch)
{
	struct xen_evtchn *c = (struct xen_evtchn *)ch;

	return xenevtchn_notify(c->xce, c->port) < 0 ? neg_errno() : 0;
}

static int xen_frames_open(struct xenbus_transport *t)
{
	struct xen *x = (struct xen *)t;

	if (!x->xfm)
		x->xfm = xenforeignmemory_open(NULL, 0);
	return x->xfm ? 0 : neg_errno();
}

static int xen_map_frame(struct xenbus_transport *t, uint32_t domid,
			 uint64_t frame, bool writable, void **addr)
{
	struct xen *x = (struct xen *)t;
	xen_pfn_t pfn = (xen_pfn_t)frame;

	if (!x->xfm)
		return -EOPNOTSUPP;
	if ((uint64_t)pfn != frame)
		return -EINVAL;
	*addr = xenforeignmemory_map(x->xfm, domid,
				     PROT_READ | (writable ? PROT_WRITE : 0),
				     1, &pfn, NULL);
	return *addr ? 0 : neg_errno();
}

static int xen_unmap_frame(struct xenbus_transport *t, void *addr)
{
	struct xen *x = (struct xen *)t;

	if (!x->xfm)
		return -EOPNOTSUPP;
	return xenforeignmemory_unmap(x->xfm, addr, 1) < 0 ? neg_errno() : 0;
}

static void xen_close(struct xenbus_transport *t)
{
	struct xen *x = (struct xen *)t;

	xenforeignmemory_close(x->xfm);
	xengnttab_close(x->xgt);
	free(x);
}

/* The parent's grant handle is not usable across fork, and closing it
 * through the library would run the parent's teardown: its fd goes with
 * the others, its memory is left (the worker _exits), and a new handle is
 * opened for the worker alone.  Channels are bound after this, each with
 * a handle of its own (xen_bind). */
static int xen_worker(struct xenbus_transport *t, uint32_t domid,
		      const int *keep, unsigned nkeep)
{
	struct xen *x = (struct xen *)t;
	int rc;

	(void)domid;
	x->xgt = NULL;
	x->xfm = NULL;	/* let go of as the grant handle is; not reopened */
	rc = close_fds_except(keep, nkeep);
	if (rc < 0)
		return rc;
	x->xgt = xengnttab_open(NULL, 0);
	return x->xgt ? 0 : neg_errno();
}

static const struct xenbus_transport_ops xen_ops = {
	.name = "xen",
	.map = xen_map,
	.unmap = xen_unmap,
	.copy = xen_copy,
	.bind = xen_bind,
	.unbind = xen_unbind,
	.fd = xen_fd,
	.ack = xen_ack,
	.notify = xen_notify,
	.frames_open = xen_frames_open,
	.map_frame = xen_map_frame,
	.unmap_frame = xen_unmap_frame,
	.close = xen_close,
	.worker = xen_worker,
};
