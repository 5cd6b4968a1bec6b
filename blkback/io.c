/*
 * blkback/io.c: one io_uring per device.  Requests are prepared as they
 * are taken off the rings and submitted together, once per turn of the
 * loop; completions are signalled on an eventfd (io_uring_register_eventfd)
 * that sits in the daemon's loop beside the event channels.  No thread.
 */
#include <errno.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "blkback/private.h"

int blk_io_open(struct blk_io *io, unsigned entries)
{
	int rc;

	io->outstanding = io->queued = 0;
	io->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (io->efd < 0)
		return -errno;
	rc = io_uring_queue_init(entries, &io->ring, 0);
	if (rc < 0)
		goto fail;
	rc = io_uring_register_eventfd(&io->ring, io->efd);
	if (rc < 0) {
		io_uring_queue_exit(&io->ring);
		goto fail;
	}
	io->open = true;
	return 0;
fail:
	close(io->efd);
	io->efd = -1;
	return rc;
}

void blk_io_close(struct blk_io *io, blk_io_done_fn *done)
{
	if (!io->open)
		return;
	blk_io_drain(io, done);
	io_uring_queue_exit(&io->ring);
	close(io->efd);
	io->efd = -1;
	io->open = false;
}

int blk_io_submit(struct blk_io *io)
{
	int r;

	if (!io->queued)
		return 0;
	r = io_uring_submit(&io->ring);
	if (r < 0)
		return r;
	io->outstanding += (unsigned)r;
	io->queued -= (unsigned)r < io->queued ? (unsigned)r : io->queued;
	return 0;
}

int blk_io_get(struct blk_io *io, struct io_uring_sqe **sqe, unsigned n)
{
	unsigned i;

	/* A linked chain goes in one submission: make room for all of it. */
	if (io_uring_sq_space_left(&io->ring) < n)
		blk_io_submit(io);
	if (io_uring_sq_space_left(&io->ring) < n)
		return -EBUSY;
	for (i = 0; i < n; i++)
		sqe[i] = io_uring_get_sqe(&io->ring);
	io->queued += n;
	return 0;
}

static unsigned take(struct blk_io *io, blk_io_done_fn *done)
{
	struct io_uring_cqe *cqe;
	unsigned n = 0;

	while (io_uring_peek_cqe(&io->ring, &cqe) == 0) {
		void *data = io_uring_cqe_get_data(cqe);
		int res = cqe->res;

		io_uring_cqe_seen(&io->ring, cqe);
		io->outstanding--;
		n++;
		done(data, res);
	}
	return n;
}

void blk_io_reap(struct blk_io *io, blk_io_done_fn *done)
{
	uint64_t count;

	if (read(io->efd, &count, sizeof(count)) < 0 && errno != EAGAIN)
		elog(ELOG_WARN, "blkback: io_uring eventfd: %m");
	take(io, done);
}

unsigned blk_io_reap_now(struct blk_io *io, blk_io_done_fn *done)
{
	return take(io, done);
}

void blk_io_drain(struct blk_io *io, blk_io_done_fn *done)
{
	struct io_uring_cqe *cqe;

	blk_io_submit(io);
	while (io->outstanding) {
		if (io_uring_wait_cqe(&io->ring, &cqe) < 0)
			break;
		take(io, done);
	}
}
