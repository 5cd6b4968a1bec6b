/*
 * Persistence, writing (see persist.c for the design): the batch of
 * records goes to the journal with one write(2) (persist_flush), and
 * compaction writes the whole state as a new snapshot and starts a fresh
 * journal, each through a temporary file and rename(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "persist.h"

#define COMPACT_MIN (1u << 20)		/* journal bytes before compaction */

/* ---- writing ---- */

char *state_path(const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", ps.dir, name) < 0)
		return NULL;
	return p;
}

static int write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

static int sync_dir(void)
{
	int fd = open(ps.dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		rc = -errno;
	close(fd);
	return rc;
}

/* Writes data to DIR/name through name.tmp and rename(2); *fd_out keeps
 * the file open (for the journal) when given. */
static int write_file(const char *name, const struct buf *data, int *fd_out)
{
	char *path = state_path(name), *tmp = NULL;
	int fd = -1, rc;

	if (!path || asprintf(&tmp, "%s.tmp", path) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rc = -errno;
		goto out;
	}
	rc = write_all(fd, data->p, data->len);
	if (!rc && ps.fsync && fdatasync(fd) < 0)
		rc = -errno;
	if (!rc && rename(tmp, path) < 0)
		rc = -errno;
	if (!rc && ps.fsync)
		rc = sync_dir();
	if (rc)
		unlink(tmp);
out:
	if (fd >= 0 && (rc || !fd_out))
		close(fd);
	else if (fd_out)
		*fd_out = fd;
	free(path);
	free(tmp);
	return rc;
}

static int snap_nodes(struct buf *b, const struct node *n, uint64_t *count)
{
	char *path = store_path_of(n);
	uint32_t i;
	int rc;

	if (!path)
		return -ENOMEM;
	rc = add_node(b, path, n);
	free(path);
	(*count)++;
	for (i = 0; !rc && i < node_nkids(n); i++)
		rc = snap_nodes(b, node_kid(n, i), count);
	return rc;
}

struct snap_queue {
	struct buf *b;
	uint32_t domid;
	uint32_t start;		/* the next message's place in the stream */
	bool first;
};

static int snap_queued(void *arg, const char *msg, uint32_t len,
		       uint32_t sent)
{
	struct snap_queue *q = arg;
	int rc;

	if (q->first)
		q->start -= sent;	/* the head may be partly in the ring */
	q->first = false;
	rc = add_out(q->b, q->domid, q->start, msg, len);
	q->start += len;
	return rc;
}

/* What a domain has not yet got: its connection's queue (the head maybe
 * partly in the ring), or what replay kept for a domain not served here. */
static int snap_output(struct buf *b, const struct pdom *d)
{
	const struct domain *dom = domain_find(d->domid);
	const struct pout *o;
	int rc = 0;

	if (dom && dom->conn && dom->intf) {
		struct snap_queue q = {
			.b = b, .domid = d->domid,
			.start = dom->intf->rsp_prod, .first = true,
		};

		return conn_out_walk(dom->conn, snap_queued, &q);
	}
	for (o = d->out; o && !rc; o = o->next)
		rc = add_out(b, d->domid, o->start, o->data, o->len);
	return rc;
}

static int snapshot_build(struct buf *b, uint64_t gen)
{
	const struct pdom *d;
	uint64_t count = 0;
	uint8_t end[8];
	size_t start;
	int rc = add_header(b, PREC_KIND_SNAPSHOT, gen);

	if (!rc)
		rc = snap_nodes(b, store.root, &count);
	for (int i = 0; !rc && i < 2; i++) {
		rc = rec_begin(b, PREC_SPECIAL, &start);
		if (!rc)
			rc = buf_add_str0(b, i ? "@releaseDomain"
					       : "@introduceDomain");
		if (!rc)
			rc = add_perms(b, i ? &store.release_perms
					    : &store.intro_perms);
		if (!rc)
			rec_end(b, start);
	}
	for (d = ps.doms; d && !rc; d = d->next) {
		const struct pwatch *w;

		if (d->introduced)
			rc = add_introduce(b, d);
		if (!rc && d->target != DOMID_NONE)
			rc = add_domid_rec(b, PREC_TARGET, d->domid, d->target,
					   true);
		if (!rc && d->txid_upto > 1)
			rc = add_domid_rec(b, PREC_TXID, d->domid,
					   d->txid_upto, true);
		for (w = d->watches; w && !rc; w = w->next)
			rc = add_watch(b, PREC_WATCH, d->domid, w);
		if (!rc)
			rc = snap_output(b, d);
	}
	put64(end, count);
	if (!rc)
		rc = persist_rec_add(b, PREC_END, end, sizeof(end));
	return rc;
}

/* A new snapshot of generation gen+1, then a fresh journal of gen+1. */
static int compact(void)
{
	struct buf snap, jr;
	uint64_t gen = ps.gen + 1;
	int fd = -1, rc;

	buf_init(&snap);
	buf_init(&jr);
	rc = snapshot_build(&snap, gen);
	if (!rc)
		rc = add_header(&jr, PREC_KIND_JOURNAL, gen);
	if (rc)
		goto out;
	rc = write_file(STATE_SNAPSHOT, &snap, NULL);
	if (rc) {
		elog(ELOG_ERR, "persistence: writing a snapshot in %s: %s; keeping the journal",
		     ps.dir, strerror(-rc));
		goto out;
	}
	/* From here the old journal is behind the snapshot: replay ignores
	 * it, and appending to it would be lost. */
	rc = write_file(STATE_JOURNAL, &jr, &fd);
	if (rc) {
		elog(ELOG_ERR, "persistence: starting a journal in %s: %s; persistence is off (the snapshot holds the state until now)",
		     ps.dir, strerror(-rc));
		close(ps.jfd);
		ps.jfd = -1;
		ps.on = false;
		goto out;
	}
	close(ps.jfd);
	ps.jfd = fd;
	ps.gen = gen;
	ps.jsize = jr.len;
	ps.snap_size = snap.len;
	elog(ELOG_DEBUG, "persistence: snapshot %llu of %zu bytes",
	     (unsigned long long)gen, snap.len);
out:
	buf_fini(&snap);
	buf_fini(&jr);
	return rc;
}

void persist_flush(void)
{
	int rc;

	if (!ps.on || !ps.pending.len)
		return;
	rc = write_all(ps.jfd, ps.pending.p, ps.pending.len);
	if (!rc && ps.fsync && fdatasync(ps.jfd) < 0)
		rc = -errno;
	if (rc) {
		/* Keep the batch and write it whole next time, after what
		 * the journal held good. */
		if (!ps.write_failed)
			elog(ELOG_ERR, "persistence: writing %s/%s: %s; changes are kept in memory and retried",
			     ps.dir, STATE_JOURNAL, strerror(-rc));
		ps.write_failed = true;
		if (ftruncate(ps.jfd, (off_t)ps.jsize) < 0 ||
		    lseek(ps.jfd, (off_t)ps.jsize, SEEK_SET) < 0)
			elog(ELOG_ERR, "persistence: cutting %s back: %s",
			     STATE_JOURNAL, strerror(errno));
		return;
	}
	if (ps.write_failed)
		elog(ELOG_INFO, "persistence: writing the journal works again");
	ps.write_failed = false;
	ps.jsize += ps.pending.len;
	ps.pending.len = 0;
}

void persist_maybe_compact(void)
{
	if (ps.on && (ps.compact_wanted ||
		      (ps.jsize > COMPACT_MIN && ps.jsize > 2 * ps.snap_size))) {
		ps.compact_wanted = false;
		persist_flush();
		if (ps.on)
			compact();
	}
}

int journal_start(void)
{
	struct buf jr;
	int rc;

	buf_init(&jr);
	rc = add_header(&jr, PREC_KIND_JOURNAL, ps.gen);
	if (!rc)
		rc = write_file(STATE_JOURNAL, &jr, &ps.jfd);
	ps.jsize = jr.len;
	buf_fini(&jr);
	return rc;
}

int persist_compact(void)
{
	if (!ps.on)
		return -EINVAL;
	if (ps.in_ring_batch) {
		/* Not in the middle of a ring's batch: at the loop's end. */
		ps.compact_wanted = true;
		return 0;
	}
	persist_flush();
	return ps.on ? compact() : -EIO;
}
