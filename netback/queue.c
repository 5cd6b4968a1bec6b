/*
 * netback/queue.c: a vif's worker (xenbus_worker_args.serve): one event
 * loop over every queue's channels, tap fd and rate timer.
 *
 * One process serves all the queues of a vif: they share one frontend,
 * one tap and one fate (a ring broken on any queue closes the whole vif),
 * so a process per queue would isolate nothing more and cost a process
 * and a loop for each.  Per queue: the tx and rx rings (one page each),
 * the event channel (or the tx and rx pair when split), the tap's queue
 * fd (polled only while the guest has posted rx buffers) and, with a
 * rate, a timerfd for the next replenish.  Per vif: the control ring and
 * its channel when the frontend gave one (ctrl.c).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "netback/private.h"

static bool stop;	/* the worker serves one vif: its flag */

/* A callback found a ring broken: tell the daemon (which closes the vif
 * and says stop) and serve nothing more of any queue, nor the control
 * ring, meanwhile. */
bool nb_check_broken(struct nb_dev *nd)
{
	unsigned i;

	if (!nd->broken)
		return false;
	xenbus_worker_broken(nd->self, -EPROTO, nd->broken);
	if (nd->ctrlch)
		evloop_del(nd->loop, xenbus_evtchn_fd(nd->ctrlch));
	for (i = 0; i < nd->conf.nq; i++) {
		struct nb_queue *q = &nd->q[i];

		evloop_del(nd->loop, xenbus_evtchn_fd(q->txch));
		if (q->rxch)
			evloop_del(nd->loop, xenbus_evtchn_fd(q->rxch));
		evloop_del(nd->loop, q->tapfd);
		if (q->timerfd >= 0)
			evloop_del(nd->loop, q->timerfd);
	}
	nd->broken = NULL;
	return true;
}

static void on_tx_kick(void *arg, uint32_t events)
{
	struct nb_queue *q = arg;

	(void)events;
	xenbus_evtchn_ack(q->txch);
	nb_tx_run(q);
	if (!q->rxch)	/* one channel for both directions */
		nb_rx_run(q);
	nb_check_broken(q->nd);
}

static void on_rx_kick(void *arg, uint32_t events)
{
	struct nb_queue *q = arg;

	(void)events;
	xenbus_evtchn_ack(q->rxch);
	nb_rx_run(q);
	nb_check_broken(q->nd);
}

static void on_tap(void *arg, uint32_t events)
{
	struct nb_queue *q = arg;

	(void)events;
	nb_rx_run(q);
	nb_check_broken(q->nd);
}

static void on_timer(void *arg, uint32_t events)
{
	struct nb_queue *q = arg;

	nb_tx_on_timer(q, events);
	nb_check_broken(q->nd);
}

/* The daemon says stop, or sends request-multicast-control's new value
 * (engine.c nb_fe_changed). */
static void on_daemon(void *arg, uint32_t events)
{
	struct nb_dev *nd = arg;
	int32_t v;

	(void)events;
	while (xenbus_worker_recv(nd->self, &v) > 0)
		nd->conf.mcast_ctrl = v != 0;
	stop = xenbus_worker_stopping(nd->self);
}

void nb_tap_poll(struct nb_queue *q, bool on)
{
	if (q->tap_polled == on)
		return;
	if (evloop_mod(q->nd->loop, q->tapfd, on ? EPOLLIN : 0) == 0)
		q->tap_polled = on;
}

static void queue_stop(struct nb_queue *q)
{
	struct nb_dev *nd = q->nd;
	struct xenbus_transport *t;

	if (!nd)
		return;
	t = xenbus_dev_transport(nd->dev);
	if (q->txch)
		evloop_del(nd->loop, xenbus_evtchn_fd(q->txch));
	if (q->rxch)
		evloop_del(nd->loop, xenbus_evtchn_fd(q->rxch));
	evloop_del(nd->loop, q->tapfd);
	close(q->tapfd);
	if (q->timerfd >= 0) {
		evloop_del(nd->loop, q->timerfd);
		close(q->timerfd);
	}
	xenbus_unbind(q->rxch);
	xenbus_unbind(q->txch);
	if (q->rxs)
		xenbus_unmap(t, q->rxs, 1);
	if (q->txs)
		xenbus_unmap(t, q->txs, 1);
	free(q->txbuf);
	free(q->rxbuf);
	memset(q, 0, sizeof(*q));
}

static int queue_start(struct nb_dev *nd, unsigned i)
{
	struct nb_queue *q = &nd->q[i];
	const struct nb_conf_queue *c = &nd->conf.q[i];
	struct xenbus_transport *t = xenbus_dev_transport(nd->dev);
	uint32_t domid = xenbus_dev_domid(nd->dev);
	struct xenbus_worker *w = nd->self;
	int rc;

	q->nd = nd;
	q->idx = i;
	q->tapfd = nd->tapfd[i];
	q->timerfd = -1;
	q->txbuf = malloc(NB_BUF);
	q->rxbuf = malloc(NB_BUF);
	if (!q->txbuf || !q->rxbuf)
		return xenbus_worker_say(w, -ENOMEM, "out of memory");
	rc = xenbus_map(t, domid, &c->tx_ref, 1, true, &q->txs);
	if (rc < 0)
		return xenbus_worker_say(w, rc, "queue %u: tx-ring-ref %u: cannot map: %s",
					 i, c->tx_ref, strerror(-rc));
	BACK_RING_INIT(&q->tx, (netif_tx_sring_t *)q->txs, XENBUS_PAGE_SIZE);
	rc = xenbus_map(t, domid, &c->rx_ref, 1, true, &q->rxs);
	if (rc < 0)
		return xenbus_worker_say(w, rc, "queue %u: rx-ring-ref %u: cannot map: %s",
					 i, c->rx_ref, strerror(-rc));
	BACK_RING_INIT(&q->rx, (netif_rx_sring_t *)q->rxs, XENBUS_PAGE_SIZE);
	rc = xenbus_bind(t, domid, c->tx_port, &q->txch);
	if (rc == 0 && nd->conf.split)
		rc = xenbus_bind(t, domid, c->rx_port, &q->rxch);
	if (rc < 0)
		return xenbus_worker_say(w, rc, "queue %u: event channel %u: cannot bind: %s",
					 i, q->txch ? c->rx_port : c->tx_port,
					 strerror(-rc));
	if (nd->conf.rate_bytes) {
		q->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
		if (q->timerfd < 0)
			return xenbus_worker_say(w, -errno, "timerfd: %s", strerror(errno));
		q->credit = nd->conf.rate_bytes;
	}
	rc = evloop_add(nd->loop, xenbus_evtchn_fd(q->txch), EPOLLIN, on_tx_kick, q);
	if (rc == 0 && q->rxch)
		rc = evloop_add(nd->loop, xenbus_evtchn_fd(q->rxch), EPOLLIN, on_rx_kick, q);
	if (rc == 0)
		rc = evloop_add(nd->loop, q->tapfd, EPOLLIN, on_tap, q);
	if (rc == 0 && q->timerfd >= 0)
		rc = evloop_add(nd->loop, q->timerfd, EPOLLIN, on_timer, q);
	q->tap_polled = true;
	if (rc < 0)
		return xenbus_worker_say(w, rc, "event loop: %s", strerror(-rc));
	return 0;
}

int nb_serve(struct xenbus_worker *w, void *arg)
{
	/* Beyond the base of xenbus/seccomp.c: the rate's timer. */
	static const int calls[] = { SYS_timerfd_settime, SYS_timerfd_gettime };
	struct nb_dev *nd = arg;
	unsigned i;
	int rc = 0;

	nd->self = w;
	nd->broken = NULL;
	nd->loop = evloop_new();
	if (!nd->loop)
		return xenbus_worker_say(w, -ENOMEM, "event loop");
	memset(nd->q, 0, sizeof(nd->q));
	memset(&nd->hash, 0, sizeof(nd->hash));
	memset(&nd->mcast, 0, sizeof(nd->mcast));
	nd->ctrls = NULL;
	nd->ctrlch = NULL;
	for (i = 0; rc == 0 && i < nd->conf.nq; i++)
		rc = queue_start(nd, i);
	if (rc == 0)
		rc = nb_ctrl_start(nd);
	if (rc == 0)
		rc = evloop_add(nd->loop, xenbus_worker_fd(w), EPOLLIN, on_daemon, nd);
	if (rc == 0)
		rc = xenbus_worker_ready(w, calls, ARRAY_SIZE(calls));
	/* What the frontend queued before we listened. */
	if (rc == 0)
		nb_ctrl_first(nd);
	for (i = 0; rc == 0 && i < nd->conf.nq && !nd->broken; i++) {
		nb_tx_run(&nd->q[i]);
		nb_rx_run(&nd->q[i]);
	}
	if (rc == 0)
		nb_check_broken(nd);
	while (rc == 0 && !stop) {
		int r = evloop_run_once(nd->loop, -1);

		if (r < 0 && r != -EINTR)
			rc = xenbus_worker_say(w, r, "event loop: %s", strerror(-r));
	}
	nb_ctrl_stop(nd);
	for (i = 0; i < nd->conf.nq; i++)
		queue_stop(&nd->q[i]);
	evloop_free(nd->loop);
	return rc;
}
