/*
 * blkback/worker.c: a connected device's own process, on the core's
 * worker (xenbus.h, "a device's worker process"; docs/design/xenbus.md,
 * "Isolation").
 *
 * The daemon keeps xenstore and the handshake and never maps a ring; the
 * worker keeps its socket to the daemon and the disk's fd, and opens after
 * the fork, for its one domain, its rings, its event channels and its
 * io_uring; then it drops its privileges, enters its seccomp filter (the
 * core's base and io_uring_enter) and serves until the daemon says stop.
 * A frontend that breaks its ring stops the serving; the worker says so,
 * and the daemon closes the device.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/syscall.h>

#include "blkback/private.h"

/* ---- the worker (the child) --------------------------------------------- */

static bool worker_stop;	/* the worker serves one device: its flag */

int blk_say(struct blk_dev *bd, int rc, const char *fmt, ...)
{
	char text[200];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	return xenbus_worker_say(bd->self, rc, "%s", text);
}

static void stop_all(struct blk_dev *bd)
{
	unsigned i;

	if (bd->io.open) {
		evloop_del(bd->loop, bd->io.efd);
		blk_io_close(&bd->io, blk_req_io_done);
	}
	for (i = 0; i < bd->nq; i++)
		blk_queue_stop(&bd->q[i]);
	free(bd->q);
	bd->q = NULL;
	bd->nq = 0;
	bd->broken = NULL;
}

/* The frontend broke its ring: tell the daemon, which closes the device
 * and says stop; serve nothing more meanwhile. */
bool blk_dev_check_broken(struct blk_dev *bd)
{
	if (!bd->broken)
		return false;
	xenbus_worker_broken(bd->self, -EPROTO, bd->broken);
	stop_all(bd);
	return true;
}

static int start(struct blk_dev *bd, const struct blk_conn *c)
{
	unsigned i, slots, pages = 1u << c->order;
	int rc;

	bd->abi = (enum blk_abi)c->abi;
	bd->persistent = c->persistent != 0;
	bd->q = calloc(c->nq, sizeof(*bd->q));
	if (!bd->q)
		return blk_say(bd, -ENOMEM, "out of memory");
	slots = c->nq * blk_abi_ring_size(bd->abi, pages);
	rc = blk_io_open(&bd->io, slots < 64 ? 64 : slots > 1024 ? 1024 : slots);
	if (rc == 0)
		rc = evloop_add(bd->loop, bd->io.efd, EPOLLIN, blk_dev_on_io, bd);
	if (rc < 0)
		return blk_say(bd, rc, "io_uring: %s", strerror(-rc));
	for (i = 0; i < c->nq; i++) {
		rc = blk_queue_start(bd, &bd->q[i], c->refs[i], pages,
				     c->ports[i]);
		if (rc < 0)
			return rc;
		bd->nq = i + 1;
	}
	return 0;
}

static void on_daemon(void *arg, uint32_t events)
{
	struct blk_dev *bd = arg;

	(void)events;
	worker_stop = xenbus_worker_stopping(bd->self);
}

/* xenbus_worker_args.serve: bd->conn is what the daemon read. */
static int serve(struct xenbus_worker *w, void *arg)
{
	/* Beyond the core's base: the I/O. */
	static const int calls[] = { SYS_io_uring_enter };
	struct blk_dev *bd = arg;
	const struct blk_conn *c = &bd->conn;
	unsigned i;
	int rc;

	bd->self = w;
	if (c->nq == 0 || c->nq > BLKBACK_MAX_QUEUES ||
	    c->order > BLKBACK_MAX_RING_PAGE_ORDER || c->abi > BLK_ABI_32)
		return blk_say(bd, -EINVAL, "worker: a connect it cannot serve");
	bd->loop = evloop_new();
	rc = bd->loop ? start(bd, c) : blk_say(bd, -ENOMEM, "event loop");
	if (rc == 0)
		rc = evloop_add(bd->loop, xenbus_worker_fd(w), EPOLLIN, on_daemon, bd);
	if (rc == 0)
		rc = xenbus_worker_ready(w, calls, ARRAY_SIZE(calls));
	if (rc < 0) {
		stop_all(bd);
		return rc;
	}
	/* Requests the frontend queued before we listened. */
	for (i = 0; i < bd->nq && !bd->broken; i++)
		blk_queue_run(&bd->q[i]);
	blk_dev_check_broken(bd);
	while (!worker_stop) {
		rc = evloop_run_once(bd->loop, -1);
		if (rc < 0 && rc != -EINTR)
			break;
	}
	stop_all(bd);
	return 0;
}

/* ---- the daemon's side --------------------------------------------------- */

static void count_broken(void *arg)
{
	struct blk_dev *bd = arg;

	bd->bb->stats.broken++;
}

int blk_worker_start(struct blk_dev *bd)
{
	snprintf(bd->name, sizeof(bd->name), "vbd.%u.%s",
		 xenbus_dev_domid(bd->dev), xenbus_dev_id(bd->dev));
	bd->wargs = (struct xenbus_worker_args){ .user = bd->bb->user,
						 .name = bd->name,
						 .keep = &bd->disk.fd,
						 .nkeep = 1,
						 .serve = serve,
						 .broken = count_broken,
						 .arg = bd };
	return xenbus_worker_start(bd->dev, &bd->wargs, &bd->w);
}

void blk_worker_stop(struct blk_dev *bd)
{
	xenbus_worker_stop(bd->w);
	bd->w = NULL;
}
