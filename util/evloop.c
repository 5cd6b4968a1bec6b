#include <errno.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include "enso-util.h"

struct evreg {
	int fd;
	bool dead;
	evloop_fn *fn;
	void *arg;
	struct evreg *next;	/* in loop->regs, or loop->graveyard once dead */
};

struct evloop {
	int epfd;
	struct evreg *regs;
	struct evreg *graveyard;
};

struct evloop *evloop_new(void)
{
	struct evloop *loop = calloc(1, sizeof(*loop));

	if (!loop)
		return NULL;
	loop->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (loop->epfd < 0) {
		free(loop);
		return NULL;
	}
	return loop;
}

static void free_list(struct evreg *r)
{
	while (r) {
		struct evreg *next = r->next;

		free(r);
		r = next;
	}
}

void evloop_free(struct evloop *loop)
{
	if (!loop)
		return;
	close(loop->epfd);
	free_list(loop->regs);
	free_list(loop->graveyard);
	free(loop);
}

static struct evreg **find(struct evloop *loop, int fd)
{
	struct evreg **pp;

	for (pp = &loop->regs; *pp; pp = &(*pp)->next)
		if ((*pp)->fd == fd)
			return pp;
	return NULL;
}

int evloop_add(struct evloop *loop, int fd, uint32_t events, evloop_fn *fn,
	       void *arg)
{
	struct epoll_event ev = { .events = events };
	struct evreg *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->fd = fd;
	r->fn = fn;
	r->arg = arg;
	ev.data.ptr = r;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		int err = errno;

		free(r);
		return -err;
	}
	r->next = loop->regs;
	loop->regs = r;
	return 0;
}

int evloop_mod(struct evloop *loop, int fd, uint32_t events)
{
	struct evreg **pp = find(loop, fd);
	struct epoll_event ev = { .events = events };

	if (!pp)
		return -ENOENT;
	ev.data.ptr = *pp;
	if (epoll_ctl(loop->epfd, EPOLL_CTL_MOD, fd, &ev) < 0)
		return -errno;
	return 0;
}

int evloop_del(struct evloop *loop, int fd)
{
	struct evreg **pp = find(loop, fd);
	struct evreg *r;

	if (!pp)
		return -ENOENT;
	r = *pp;
	*pp = r->next;
	epoll_ctl(loop->epfd, EPOLL_CTL_DEL, fd, NULL);
	r->dead = true;
	r->next = loop->graveyard;
	loop->graveyard = r;
	return 0;
}

int evloop_run_once(struct evloop *loop, int timeout_ms)
{
	struct epoll_event evs[64];
	int n, i;

	n = epoll_wait(loop->epfd, evs, ARRAY_SIZE(evs), timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < n; i++) {
		struct evreg *r = evs[i].data.ptr;

		if (!r->dead)
			r->fn(r->arg, evs[i].events);
	}
	free_list(loop->graveyard);
	loop->graveyard = NULL;
	return n;
}

long long monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
