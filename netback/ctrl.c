/*
 * netback/ctrl.c: the control ring (netif.h "Control ring"): the worker
 * maps the frontend's ctrl-ring-ref, binds event-channel-ctrl, and
 * answers each request in the slot it came in, one at a time.  What it
 * sets is the vif's hash (nd->hash), read by rx.c for each frame.
 *
 *   SET_HASH_ALGORITHM    NONE or TOEPLITZ, else INVALID_PARAMETER
 *   GET_HASH_FLAGS        the four types; NOT_SUPPORTED without TOEPLITZ
 *   SET_HASH_FLAGS        a subset of them, else INVALID_PARAMETER; NOT_
 *                         SUPPORTED without TOEPLITZ (netif.h's order)
 *   SET_HASH_KEY          up to NB_HASH_KEY_MAX octets (BUFFER_OVERFLOW
 *                         past it), grant-copied; a grant that does not
 *                         copy: INVALID_PARAMETER, the old key kept
 *   GET/SET_HASH_MAPPING_SIZE  0..NB_HASH_MAP_MAX entries (INVALID_
 *                         PARAMETER past it), the table zeroed
 *   SET_HASH_MAPPING      a sub-table of one grant at an offset: past the
 *                         table BUFFER_OVERFLOW; a grant that does not
 *                         copy, an entry not below the number of queues:
 *                         INVALID_PARAMETER, the table unchanged
 *   anything else         NOT_SUPPORTED (the static-grant types too)
 *
 * A frontend whose req_prod runs more than a ring ahead breaks the ring:
 * the vif is closed, as for the data rings.
 */
#include <errno.h>
#include <string.h>
#include <sys/epoll.h>

#include "netback/private.h"

#define PAGE XENBUS_PAGE_SIZE
#define HASH_TYPES                                                        \
	(XEN_NETIF_CTRL_HASH_TYPE_IPV4 | XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP |  \
	 XEN_NETIF_CTRL_HASH_TYPE_IPV6 | XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP)

typedef uint32_t ctrl_fn(struct nb_dev *nd, const uint32_t *data,
			 uint32_t *out);

static int grant_read(struct nb_dev *nd, uint32_t ref, void *to, size_t len)
{
	struct xenbus_copy c = { .ref = ref, .len = (uint16_t)len, .local = to };

	if (len == 0)
		return 0;
	return xenbus_copy(xenbus_dev_transport(nd->dev),
			   xenbus_dev_domid(nd->dev), &c, 1);
}

static uint32_t set_algorithm(struct nb_dev *nd, const uint32_t *data,
			      uint32_t *out)
{
	(void)out;
	if (data[0] != XEN_NETIF_CTRL_HASH_ALGORITHM_NONE &&
	    data[0] != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	nd->hash.alg = data[0];
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_flags(struct nb_dev *nd, const uint32_t *data,
			  uint32_t *out)
{
	(void)out;
	if (data[0] & ~(uint32_t)HASH_TYPES)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	nd->hash.flags = data[0];
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_key(struct nb_dev *nd, const uint32_t *data, uint32_t *out)
{
	uint8_t key[NB_HASH_KEY_MAX] = { 0 };

	(void)out;
	if (data[1] > NB_HASH_KEY_MAX)
		return XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
	if (grant_read(nd, data[0], key, data[1]) < 0)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	memcpy(nd->hash.key, key, sizeof(key));
	nd->hash.keylen = data[1];
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_map_size(struct nb_dev *nd, const uint32_t *data,
			     uint32_t *out)
{
	(void)out;
	if (data[0] > NB_HASH_MAP_MAX)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	memset(nd->hash.map, 0, sizeof(nd->hash.map));
	nd->hash.size = data[0];
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

static uint32_t set_map(struct nb_dev *nd, const uint32_t *data, uint32_t *out)
{
	uint32_t map[PAGE / sizeof(uint32_t)], len = data[1], off = data[2], i;

	(void)out;
	if (off > nd->hash.size || len > nd->hash.size - off)
		return XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW;
	if (grant_read(nd, data[0], map, len * sizeof(*map)) < 0)
		return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	for (i = 0; i < len; i++)
		if (map[i] >= nd->conf.nq)
			return XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER;
	memcpy(nd->hash.map + off, map, len * sizeof(*map));
	return XEN_NETIF_CTRL_STATUS_SUCCESS;
}

/* By type: a setter, or (fn NULL) a query answered with value;
 * toeplitz: NOT_SUPPORTED until the algorithm is set (netif.h says so of
 * the flags). */
static const struct {
	bool known, toeplitz;
	ctrl_fn *fn;
	uint32_t value;
} handlers[] = {
	[XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS] = { true, true, NULL, HASH_TYPES },
	[XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS] = { true, true, set_flags, 0 },
	[XEN_NETIF_CTRL_TYPE_SET_HASH_KEY] = { true, false, set_key, 0 },
	[XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE] = { true, false, NULL, NB_HASH_MAP_MAX },
	[XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE] = { true, false, set_map_size, 0 },
	[XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING] = { true, false, set_map, 0 },
	[XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM] = { true, false, set_algorithm, 0 },
};

static uint32_t serve(struct nb_dev *nd, const struct xen_netif_ctrl_request *q,
		      uint32_t *out)
{
	if (q->type >= ARRAY_SIZE(handlers) || !handlers[q->type].known ||
	    (handlers[q->type].toeplitz &&
	     nd->hash.alg == XEN_NETIF_CTRL_HASH_ALGORITHM_NONE))
		return XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED;
	if (!handlers[q->type].fn) {
		*out = handlers[q->type].value;
		return XEN_NETIF_CTRL_STATUS_SUCCESS;
	}
	return handlers[q->type].fn(nd, q->data, out);
}

static void ctrl_run(struct nb_dev *nd)
{
	xen_netif_ctrl_back_ring_t *r = &nd->ctrl;
	RING_IDX prod;
	int more, notify;

	do {
		prod = r->sring->req_prod;
		xen_rmb();	/* the requests before their index */
		if (RING_REQUEST_PROD_OVERFLOW(r, prod)) {
			nd->broken = "ctrl: req_prod overruns the ring";
			return;
		}
		while (r->req_cons != prod) {
			struct xen_netif_ctrl_request q;
			struct xen_netif_ctrl_response a = { 0 };

			/* One copy: the frontend may change the slot. */
			memcpy(&q, RING_GET_REQUEST(r, r->req_cons++), sizeof(q));
			a.id = q.id;
			a.type = q.type;
			a.status = serve(nd, &q, &a.data);
			memcpy(RING_GET_RESPONSE(r, r->rsp_prod_pvt++), &a, sizeof(a));
		}
		RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(r, notify);
		if (notify)
			xenbus_notify(nd->ctrlch);
		RING_FINAL_CHECK_FOR_REQUESTS(r, more);
	} while (more);
}

static void on_ctrl_kick(void *arg, uint32_t events)
{
	struct nb_dev *nd = arg;

	(void)events;
	xenbus_evtchn_ack(nd->ctrlch);
	ctrl_run(nd);
	nb_check_broken(nd);
}

int nb_ctrl_start(struct nb_dev *nd)
{
	struct xenbus_transport *t = xenbus_dev_transport(nd->dev);
	uint32_t domid = xenbus_dev_domid(nd->dev);
	struct xenbus_worker *w = nd->self;
	int rc;

	if (!nd->conf.ctrl)
		return 0;
	rc = xenbus_map(t, domid, &nd->conf.ctrl_ref, 1, true, &nd->ctrls);
	if (rc < 0)
		return xenbus_worker_say(w, rc, "ctrl-ring-ref %u: cannot map: %s",
					 nd->conf.ctrl_ref, strerror(-rc));
	BACK_RING_INIT(&nd->ctrl, (xen_netif_ctrl_sring_t *)nd->ctrls, PAGE);
	rc = xenbus_bind(t, domid, nd->conf.ctrl_port, &nd->ctrlch);
	if (rc < 0)
		return xenbus_worker_say(w, rc, "event-channel-ctrl %u: cannot bind: %s",
					 nd->conf.ctrl_port, strerror(-rc));
	rc = evloop_add(nd->loop, xenbus_evtchn_fd(nd->ctrlch), EPOLLIN,
			on_ctrl_kick, nd);
	if (rc < 0)
		return xenbus_worker_say(w, rc, "event loop: %s", strerror(-rc));
	return 0;
}

/* What the frontend queued before we listened. */
void nb_ctrl_first(struct nb_dev *nd)
{
	if (nd->ctrlch)
		ctrl_run(nd);
}

void nb_ctrl_stop(struct nb_dev *nd)
{
	if (nd->ctrlch) {
		evloop_del(nd->loop, xenbus_evtchn_fd(nd->ctrlch));
		xenbus_unbind(nd->ctrlch);
	}
	if (nd->ctrls)
		xenbus_unmap(xenbus_dev_transport(nd->dev), nd->ctrls, 1);
	nd->ctrlch = NULL;
	nd->ctrls = NULL;
}
