/*
 * xenbus/shm.c: the stand-in transport for hosts without Xen.
 *
 * A "domain" is a memfd its test frontend registered (refs are its page
 * indexes) and a set of "ports", each a pair of eventfds: the frontend
 * kicks to_backend, the backend notifies to_frontend.  A backend that
 * maps or binds gets its own mapping or its own dup of the fds, so it
 * survives the frontend closing its copies (as a grant mapping outlives
 * the grant until unmapped) and a forked worker can keep just its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include "xenbus/private.h"

struct shm_port {
	uint32_t port;
	int to_backend, to_frontend;
};

struct shm_domain {
	uint32_t domid;
	int memfd;
	uint32_t npages;
	struct shm_port *ports;
	size_t nports;
};

struct shm {
	struct xenbus_transport t;
	struct shm_domain *doms;
	size_t ndoms;
	unsigned maps, channels;	/* alive */
};

struct shm_evtchn {
	struct xenbus_evtchn ch;
	int in, out;	/* dups: kicks from the frontend, notifications to it */
};

static struct shm *shm_of(struct xenbus_transport *t)
{
	return (struct shm *)t;
}

static int dup_fd(int fd)
{
	int r = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	return r < 0 ? -errno : r;
}

static struct shm_domain *find_domain(struct shm *s, uint32_t domid)
{
	size_t i;

	for (i = 0; i < s->ndoms; i++)
		if (s->doms[i].domid == domid)
			return &s->doms[i];
	return NULL;
}

int xenbus_transport_shm_open(unsigned flags, struct xenbus_transport **out)
{
	return xenbus_transport_new(sizeof(struct shm), &xenbus_shm_ops, flags,
				    out);
}

int xenbus_shm_grant(struct xenbus_transport *t, uint32_t domid, int memfd,
		     uint32_t npages)
{
	struct shm *s = shm_of(t);
	struct shm_domain *d, *n;
	int fd;

	if (t->ops != &xenbus_shm_ops || find_domain(s, domid))
		return -EINVAL;
	fd = dup_fd(memfd);
	if (fd < 0)
		return fd;
	n = realloc(s->doms, (s->ndoms + 1) * sizeof(*n));
	if (!n) {
		close(fd);
		return -ENOMEM;
	}
	s->doms = n;
	d = &s->doms[s->ndoms++];
	*d = (struct shm_domain){ .domid = domid, .memfd = fd,
				  .npages = npages };
	return 0;
}

int xenbus_shm_port(struct xenbus_transport *t, uint32_t domid, uint32_t port,
		    int to_backend, int to_frontend)
{
	struct shm *s = shm_of(t);
	struct shm_domain *d;
	struct shm_port *n;
	int in, out;
	size_t i;

	if (t->ops != &xenbus_shm_ops || !(d = find_domain(s, domid)))
		return -EINVAL;
	for (i = 0; i < d->nports; i++)
		if (d->ports[i].port == port)
			return -EEXIST;
	in = dup_fd(to_backend);
	if (in < 0)
		return in;
	out = dup_fd(to_frontend);
	if (out < 0) {
		close(in);
		return out;
	}
	n = realloc(d->ports, (d->nports + 1) * sizeof(*n));
	if (!n) {
		close(in);
		close(out);
		return -ENOMEM;
	}
	d->ports = n;
	d->ports[d->nports++] = (struct shm_port){ port, in, out };
	return 0;
}

int xenbus_shm_live(const struct xenbus_transport *t, unsigned *maps,
		    unsigned *channels)
{
	const struct shm *s = (const struct shm *)t;

	if (t->ops != &xenbus_shm_ops)
		return -EINVAL;
	*maps = s->maps;
	*channels = s->channels;
	return 0;
}

/* Reserves the whole range first, then puts each page in its place, so
 * that the ring is contiguous as a grant mapping of several refs is. */
static int shm_map(struct xenbus_transport *t, uint32_t domid,
		   const uint32_t *refs, uint32_t count, bool writable,
		   void **addr)
{
	struct shm *s = shm_of(t);
	struct shm_domain *d = find_domain(s, domid);
	int prot = PROT_READ | (writable ? PROT_WRITE : 0);
	size_t len = (size_t)count * XENBUS_PAGE_SIZE;
	uint32_t i;
	char *base;

	if (!d)
		return -EINVAL;	/* a domain that granted nothing */
	for (i = 0; i < count; i++)
		if (refs[i] >= d->npages)
			return -EINVAL;
	base = mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	for (i = 0; i < count; i++) {
		void *p = mmap(base + (size_t)i * XENBUS_PAGE_SIZE,
			       XENBUS_PAGE_SIZE, prot, MAP_SHARED | MAP_FIXED,
			       d->memfd, (off_t)refs[i] * XENBUS_PAGE_SIZE);

		if (p == MAP_FAILED) {
			int rc = -errno;

			munmap(base, len);
			return rc;
		}
	}
	/* As a gntdev mapping: not copied into a child this process forks
	 * (another device's worker must not hold this ring). */
	if (madvise(base, len, MADV_DONTFORK) < 0) {
		int rc = -errno;

		munmap(base, len);
		return rc;
	}
	s->maps++;
	*addr = base;
	return 0;
}

static int shm_unmap(struct xenbus_transport *t, void *addr, uint32_t count)
{
	struct shm *s = shm_of(t);

	if (munmap(addr, (size_t)count * XENBUS_PAGE_SIZE) < 0)
		return -errno;
	s->maps--;
	return 0;
}

static int shm_copy(struct xenbus_transport *t, uint32_t domid,
		    const struct xenbus_copy *segs, uint32_t count)
{
	struct shm_domain *d = find_domain(shm_of(t), domid);
	uint32_t i;

	if (!d)
		return -EINVAL;
	for (i = 0; i < count; i++)
		if (segs[i].ref >= d->npages)
			return -EINVAL;
	for (i = 0; i < count; i++) {
		off_t off = (off_t)segs[i].ref * XENBUS_PAGE_SIZE +
			    segs[i].offset;
		ssize_t r = segs[i].to_guest
				    ? pwrite(d->memfd, segs[i].local,
					     segs[i].len, off)
				    : pread(d->memfd, segs[i].local,
					    segs[i].len, off);

		if (r < 0)
			return -errno;
		if (r != segs[i].len)
			return -EIO;
	}
	return 0;
}

static int shm_bind(struct xenbus_transport *t, uint32_t domid,
		    uint32_t remote_port, struct xenbus_evtchn **out)
{
	struct shm *s = shm_of(t);
	struct shm_domain *d = find_domain(s, domid);
	struct shm_evtchn *c;
	size_t i;

	for (i = 0; d && i < d->nports; i++)
		if (d->ports[i].port == remote_port)
			break;
	if (!d || i == d->nports)
		return -EINVAL;	/* a port the domain never opened */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ch.t = t;
	c->in = dup_fd(d->ports[i].to_backend);
	c->out = c->in < 0 ? -1 : dup_fd(d->ports[i].to_frontend);
	if (c->in < 0 || c->out < 0) {
		int rc = c->in < 0 ? c->in : c->out;

		if (c->in >= 0)
			close(c->in);
		free(c);
		return rc;
	}
	s->channels++;
	*out = &c->ch;
	return 0;
}

static void shm_unbind(struct xenbus_evtchn *ch)
{
	struct shm_evtchn *c = (struct shm_evtchn *)ch;

	close(c->in);
	close(c->out);
	shm_of(ch->t)->channels--;
	free(c);
}

static int shm_fd(const struct xenbus_evtchn *ch)
{
	return ((const struct shm_evtchn *)ch)->in;
}

/* An eventfd counts kicks; reading takes them all, and the fd is at once
 * armed again (nothing to unmask). */
static int shm_ack(struct xenbus_evtchn *ch)
{
	uint64_t n;

	if (read(((struct shm_evtchn *)ch)->in, &n, sizeof(n)) < 0 &&
	    errno != EAGAIN)
		return -errno;
	return 0;
}

static int shm_notify(struct xenbus_evtchn *ch)
{
	uint64_t one = 1;

	if (write(((struct shm_evtchn *)ch)->out, &one, sizeof(one)) < 0)
		return -errno;
	return 0;
}

static void drop_domain(struct shm_domain *d)
{
	size_t j;

	for (j = 0; j < d->nports; j++) {
		close(d->ports[j].to_backend);
		close(d->ports[j].to_frontend);
	}
	free(d->ports);
	close(d->memfd);
}

static void shm_close(struct xenbus_transport *t)
{
	struct shm *s = shm_of(t);
	size_t i;

	for (i = 0; i < s->ndoms; i++)
		drop_domain(&s->doms[i]);
	free(s->doms);
	free(s);
}

/* The domain's memfd and ports stay (they are the worker's "hypervisor");
 * every other domain's go, and every fd not kept. */
static int shm_worker(struct xenbus_transport *t, uint32_t domid,
		      const int *keep, unsigned nkeep)
{
	struct shm *s = shm_of(t);
	struct shm_domain *d;
	size_t i, j = 0;
	int *fds, rc;

	for (i = 0; i < s->ndoms; i++)
		if (s->doms[i].domid == domid)
			s->doms[j++] = s->doms[i];
		else
			drop_domain(&s->doms[i]);
	s->ndoms = j;
	s->maps = s->channels = 0;	/* the parent's, not ours */
	d = find_domain(s, domid);
	fds = calloc(nkeep + 1 + 2 * (d ? d->nports : 0), sizeof(*fds));
	if (!fds)
		return -ENOMEM;
	for (i = 0; i < nkeep; i++)
		fds[i] = keep[i];
	j = nkeep;
	if (d) {
		fds[j++] = d->memfd;
		for (i = 0; i < d->nports; i++) {
			fds[j++] = d->ports[i].to_backend;
			fds[j++] = d->ports[i].to_frontend;
		}
	}
	rc = close_fds_except(fds, (unsigned)j);
	free(fds);
	return rc;
}

const struct xenbus_transport_ops xenbus_shm_ops = {
	.name = "shm",
	.map = shm_map,
	.unmap = shm_unmap,
	.copy = shm_copy,
	.bind = shm_bind,
	.unbind = shm_unbind,
	.fd = shm_fd,
	.ack = shm_ack,
	.notify = shm_notify,
	.close = shm_close,
	.worker = shm_worker,
};
