/*
 * Domains on Xen: each domain talks to us over one shared page (its
 * xenstore ring) and one event channel.  dom0's page is exposed by its
 * kernel at /proc/xen/xsd_kva; a guest's page is grant-mapped through the
 * reserved grant entry the domain builder seeds (falling back to a foreign
 * map of the frame INTRODUCE names).  Domain death arrives as VIRQ_DOM_EXC.
 *
 * On a host without Xen none of this is opened and the daemon serves its
 * unix socket alone.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xengnttab.h>
#include <xen/grant_table.h>

#include "core.h"

#define RING XENSTORE_RING_SIZE

static xenevtchn_handle *xce;
static xengnttab_handle *xgt;
static xenforeignmemory_handle *xfm;
static xc_interface *xch;
static int virq_port = -1;
static struct domain *domains;
static size_t ndomains;
static struct domain **by_port;
static size_t nports;

bool keep_orphans;

size_t domain_count(void)
{
	return ndomains;
}

struct domain *domain_find(uint32_t domid)
{
	struct domain *d;

	for (d = domains; d; d = d->next)
		if (d->domid == domid)
			return d;
	return NULL;
}

bool domain_is_introduced(uint32_t domid)
{
	struct domain *d = domain_find(domid);

	return d && !d->bad;
}

void domain_notify(struct domain *d)
{
	if (xce && d->local_port)
		xenevtchn_notify(xce, d->local_port);
}

void domain_bad(struct domain *d, uint32_t err, const char *why)
{
	if (d->bad)
		return;
	elog(ELOG_WARN, "domain %u: ring disabled: %s", d->domid, why);
	d->bad = true;
	if (d->intf) {
		d->intf->error = err;
		xen_mb();
		domain_notify(d);
	}
	if (d->conn && !d->conn->dead)
		conn_kill(d->conn, why);
}

/* The guest asked for a fresh start: drop everything of the old session. */
static void reconnect(struct domain *d)
{
	struct xenstore_domain_interface *intf = d->intf;
	struct conn *c = d->conn;

	elog(ELOG_INFO, "domain %u: ring reconnection", d->domid);
	conn_restart(c);
	persist_ring_reset(c);
	d->bad = false;
	intf->req_cons = intf->req_prod = 0;
	intf->rsp_cons = intf->rsp_prod = 0;
	intf->error = XENSTORE_ERROR_NONE;
	xen_mb();
	intf->connection = XENSTORE_CONNECTED;
	xen_mb();
	domain_notify(d);
}

/*
 * Requests are copied out of the ring (c->in holds the bytes past
 * req_cons), but req_cons moves past a request only once it has been
 * dispatched and what it changed is journaled: a request still waiting
 * (output backed up, outstanding quota) stays in the ring, where a
 * restarted daemon finds it.
 */
static bool ring_read(struct domain *d)
{
	struct xenstore_domain_interface *intf = d->intf;
	struct conn *c = d->conn;
	bool moved = false;

	for (;;) {
		XENSTORE_RING_IDX cons, prod;
		uint32_t avail, chunk, room, before = c->in_len;

		/* Requests already buffered go first; they may be waiting
		 * for the output that was just written out. */
		if (c->in_len) {
			persist_ring_begin();
			conn_process_input(c);
			persist_ring_done(c, intf->req_cons + before - c->in_len,
					  !c->dead && c->in_len < before);
		}
		if (c->dead || d->bad)
			return moved;
		if (c->in_len < before) {
			persist_flush();
			xen_mb();
			intf->req_cons += before - c->in_len;
			moved = true;
		}
		if (conn_paused(c))
			return moved;
		cons = intf->req_cons + c->in_len;
		prod = intf->req_prod;
		xen_rmb();
		if (prod - intf->req_cons > RING ||
		    prod - intf->req_cons < c->in_len) {
			domain_bad(d, XENSTORE_ERROR_RINGIDX,
				   "request ring indexes inconsistent");
			return moved;
		}
		avail = prod - cons;
		room = conn_in_room(c);
		chunk = RING - MASK_XENSTORE_IDX(cons);
		if (chunk > avail)
			chunk = avail;
		if (chunk > room)
			chunk = room;
		if (!chunk)
			return moved;
		memcpy(c->in + c->in_len, intf->req + MASK_XENSTORE_IDX(cons),
		       chunk);
		c->in_len += chunk;
	}
}

static bool ring_write(struct domain *d)
{
	struct xenstore_domain_interface *intf = d->intf;
	struct conn *c = d->conn;
	bool moved = false;
	const void *unsent;
	uint32_t left;

	persist_flush();	/* what a reply acknowledges is written first */
	while ((unsent = conn_out_head(c, &left))) {
		XENSTORE_RING_IDX cons = intf->rsp_cons, prod = intf->rsp_prod;
		uint32_t space, chunk;

		xen_mb();
		if (prod - cons > RING) {
			domain_bad(d, XENSTORE_ERROR_RINGIDX,
				   "response ring indexes inconsistent");
			return moved;
		}
		space = RING - (prod - cons);
		chunk = RING - MASK_XENSTORE_IDX(prod);
		if (chunk > space)
			chunk = space;
		if (chunk > left)
			chunk = left;
		if (!chunk)
			break;
		memcpy(intf->rsp + MASK_XENSTORE_IDX(prod), unsent, chunk);
		xen_wmb();
		intf->rsp_prod = prod + chunk;
		moved = true;
		conn_out_sent(c, chunk);
	}
	return moved;
}

void domain_ring_io(struct domain *d)
{
	bool moved;

	if (!d->intf || !d->conn)
		return;
	if (d->intf->connection == XENSTORE_RECONNECT) {
		reconnect(d);
		return;
	}
	if (d->bad)
		return;
	moved = ring_write(d);
	if (ring_read(d))
		moved = true;
	if (!d->bad && ring_write(d))
		moved = true;
	if (moved)
		domain_notify(d);
}

static int track_port(struct domain *d)
{
	if (d->local_port >= nports) {
		size_t n = d->local_port + 64;
		struct domain **np = realloc(by_port, n * sizeof(*np));

		if (!np)
			return -ENOMEM;
		memset(np + nports, 0, (n - nports) * sizeof(*np));
		by_port = np;
		nports = n;
	}
	by_port[d->local_port] = d;
	return 0;
}

static int bind_port(struct domain *d, uint32_t remote_port)
{
	xenevtchn_port_or_error_t p;

	p = xenevtchn_bind_interdomain(xce, d->domid, remote_port);
	if (p < 0) {
		int err = errno;

		elog(ELOG_ERR, "domain %u: binding event channel %u: %s",
		     d->domid, remote_port, strerror(err));
		return -(err ? err : EINVAL);
	}
	d->local_port = (uint32_t)p;
	d->remote_port = remote_port;
	return track_port(d);
}

static void unbind_port(struct domain *d)
{
	if (d->local_port) {
		if (d->local_port < nports)
			by_port[d->local_port] = NULL;
		xenevtchn_unbind(xce, d->local_port);
		d->local_port = 0;
	}
}

static void unmap(struct domain *d)
{
	if (!d->intf)
		return;
	if (d->is_dom0_kva)
		munmap(d->intf, XC_PAGE_SIZE);
	else if (xengnttab_unmap(xgt, d->intf, 1) != 0)
		xenforeignmemory_unmap(xfm, d->intf, 1);
	d->intf = NULL;
}

static void domain_free(struct domain *d)
{
	struct domain **pp;

	unbind_port(d);
	unmap(d);
	if (d->conn) {
		/* The reaper frees it: this may run inside a request, whose
		 * callers may still hold the connection. */
		d->conn->dom = NULL;
		conn_kill(d->conn, "domain released");
	}
	for (pp = &domains; *pp; pp = &(*pp)->next) {
		if (*pp == d) {
			*pp = d->next;
			ndomains--;
			break;
		}
	}
	free(d);
}

static int domain_start(struct domain *d, uint32_t remote_port)
{
	int rc = bind_port(d, remote_port);

	if (rc)
		return rc;
	d->conn = conn_new(CONN_DOMAIN, -1, d->domid, d->domid == 0);
	if (!d->conn)
		return -ENOMEM;
	d->conn->dom = d;
	persist_restore_conn(d->conn);
	/* Advertise before the first byte moves, as the ring spec asks. */
	d->intf->server_features |= XENSTORE_SERVER_FEATURE_RECONNECTION |
				    XENSTORE_SERVER_FEATURE_ERROR;
	xen_mb();
	d->next = domains;
	domains = d;
	ndomains++;
	conn_mark_dirty(d->conn);
	/* Tell the domain the store is there: dom0's kernel waits for this
	 * first event before it starts its xenbus side. */
	domain_notify(d);
	return 0;
}

int domain_introduce(uint32_t domid, uint64_t mfn, uint32_t port)
{
	struct domain *d;
	xen_pfn_t pfn = (xen_pfn_t)mfn;
	int rc;

	if (!xce) {
		elog(ELOG_WARN, "INTRODUCE of domain %u on a host without Xen",
		     domid);
		return -ENOSYS;
	}
	d = domain_find(domid);
	if (d && !d->bad) {
		/* Restore and resume introduce again: keep the ring, follow
		 * the event channel if it moved. */
		if (d->remote_port != port) {
			unbind_port(d);
			rc = bind_port(d, port);
			if (rc)
				return rc;
		}
		conn_mark_dirty(d->conn);
		persist_introduce(domid, mfn, port);
		return 0;
	}
	if (d)
		domain_free(d);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->domid = domid;
	d->intf = xengnttab_map_grant_ref(xgt, domid, GNTTAB_RESERVED_XENSTORE,
					  PROT_READ | PROT_WRITE);
	if (!d->intf)
		d->intf = xenforeignmemory_map(xfm, domid,
					       PROT_READ | PROT_WRITE, 1, &pfn,
					       NULL);
	if (!d->intf) {
		rc = -errno;
		elog(ELOG_ERR, "domain %u: cannot map its xenstore page (gfn %llu): %s",
		     domid, (unsigned long long)mfn, strerror(errno));
		free(d);
		return rc ? rc : -EINVAL;
	}
	rc = domain_start(d, port);
	if (rc) {
		if (d->conn) {
			conn_free(d->conn);
			d->conn = NULL;
		}
		unbind_port(d);
		unmap(d);
		free(d);
		return rc;
	}
	elog(ELOG_INFO, "domain %u introduced (port %u)", domid, port);
	persist_introduce(domid, mfn, port);
	watch_fire("@introduceDomain", false, NULL);
	return 0;
}

int domain_restore(uint32_t domid, uint64_t gfn, uint32_t port)
{
	xc_dominfo_t info;
	int n;

	if (!xch)
		return -ENOSYS;
	n = xc_domain_getinfo(xch, domid, 1, &info);
	if (n != 1 || info.domid != domid || info.dying)
		return -ESRCH;
	/* Its port went back to unbound when the old daemon's event channel
	 * fd closed: introducing binds it again.  The spurious
	 * @introduceDomain is allowed. */
	return domain_introduce(domid, gfn, port);
}

int domain_release(uint32_t domid, bool fire)
{
	struct domain *d = domain_find(domid);

	if (!d)
		return -ENOENT;
	if (domid == 0)
		return -EINVAL;
	domain_free(d);
	persist_release(domid);
	domain_forget(domid);
	elog(ELOG_INFO, "domain %u released", domid);
	if (fire)
		watch_fire("@releaseDomain", false, NULL);
	return 0;
}

int domain_resume(uint32_t domid)
{
	struct domain *d = domain_find(domid);

	if (!d)
		return -ENOENT;
	d->shutdown_seen = false;
	return 0;
}

/* VIRQ_DOM_EXC: some domain shut down, crashed or died. */
static void check_domains(void)
{
	struct domain *d, *next;
	bool fire = false;

	for (d = domains; d; d = next) {
		xc_dominfo_t info;
		int n;

		uint32_t domid = d->domid;

		next = d->next;
		if (domid == 0)
			continue;
		n = xc_domain_getinfo(xch, domid, 1, &info);
		if (n != 1 || info.domid != domid || info.dying) {
			elog(ELOG_INFO, "domain %u is gone", domid);
			domain_free(d);
			persist_release(domid);
			domain_forget(domid);
			fire = true;
		} else if ((info.shutdown || info.crashed) &&
			   !d->shutdown_seen) {
			d->shutdown_seen = true;
			fire = true;
		}
	}
	if (fire)
		watch_fire("@releaseDomain", false, NULL);
}

static void evtchn_event(void *arg, uint32_t events)
{
	xenevtchn_port_or_error_t port;

	(void)arg;
	(void)events;
	port = xenevtchn_pending(xce);
	if (port < 0)
		return;
	xenevtchn_unmask(xce, (evtchn_port_t)port);
	if (port == virq_port)
		check_domains();
	else if ((size_t)port < nports && by_port[port])
		domain_ring_io(by_port[port]);
}

static int read_int_file(const char *path, long *out)
{
	char buf[32] = "";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;
	char *end;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EINVAL;
	*out = strtol(buf, &end, 10);
	return end == buf ? -EINVAL : 0;
}

static int dom0_connect(void)
{
	struct domain *d = calloc(1, sizeof(*d));
	long port = 0;
	int fd, rc;

	if (!d)
		return -ENOMEM;
	rc = read_int_file("/proc/xen/xsd_port", &port);
	if (rc) {
		elog(ELOG_ERR, "reading /proc/xen/xsd_port: %s", strerror(-rc));
		free(d);
		return rc;
	}
	fd = open("/proc/xen/xsd_kva", O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		rc = -errno;
		elog(ELOG_ERR, "opening /proc/xen/xsd_kva: %s", strerror(errno));
		free(d);
		return rc;
	}
	d->intf = mmap(NULL, XC_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	close(fd);
	if (d->intf == MAP_FAILED) {
		rc = -errno;
		elog(ELOG_ERR, "mapping /proc/xen/xsd_kva: %s", strerror(errno));
		free(d);
		return rc;
	}
	d->is_dom0_kva = true;
	d->domid = 0;
	rc = domain_start(d, (uint32_t)port);
	if (rc) {
		elog(ELOG_ERR, "connecting dom0's ring: %s", strerror(-rc));
		domain_free(d);
	}
	return rc;
}

void dom0_write_entries(void)
{
	static const struct {
		const char *path, *value;
	} entries[] = {
		{ "/local/domain/0/domid", "0" },
		{ "/local/domain/0/name", "Domain-0" },
		{ "/local/pool/0/name", "Pool-0" },
		{ "/tool/xenstored", "" },
	};
	struct txn *t = txn_new(&daemon_conn, 0);
	size_t i;
	int rc = t ? 0 : -ENOMEM;

	for (i = 0; !rc && i < ARRAY_SIZE(entries); i++)
		rc = txn_write(t, entries[i].path, entries[i].value,
			       (uint32_t)strlen(entries[i].value), false);
	if (!rc)
		rc = txn_commit(t, false);
	if (rc)
		elog(ELOG_ERR, "writing dom0's entries: %s", strerror(-rc));
	txn_free(t);
}

void domain_fini(void)
{
	while (domains)
		domain_free(domains);
	free(by_port);
	by_port = NULL;
	nports = 0;
	if (xce)
		xenevtchn_close(xce);
	if (xgt)
		xengnttab_close(xgt);
	if (xfm)
		xenforeignmemory_close(xfm);
	if (xch)
		xc_interface_close(xch);
	xce = NULL;
	xgt = NULL;
	xfm = NULL;
	xch = NULL;
}

int domain_init(bool dom0)
{
	int rc;

	xce = xenevtchn_open(NULL, 0);
	xgt = xengnttab_open(NULL, 0);
	xfm = xenforeignmemory_open(NULL, 0);
	xch = xc_interface_open(NULL, NULL, 0);
	if (!xce || !xgt || !xfm || !xch) {
		elog(ELOG_ERR, "opening Xen's interfaces (evtchn %s, gnttab %s, foreignmemory %s, xenctrl %s): %s",
		     xce ? "ok" : "failed", xgt ? "ok" : "failed",
		     xfm ? "ok" : "failed", xch ? "ok" : "failed",
		     strerror(errno));
		return -ENODEV;
	}
	virq_port = xenevtchn_bind_virq(xce, VIRQ_DOM_EXC);
	if (virq_port < 0) {
		elog(ELOG_ERR, "binding VIRQ_DOM_EXC: %s", strerror(errno));
		return -errno;
	}
	rc = evloop_add(loop, xenevtchn_fd(xce), EPOLLIN, evtchn_event, NULL);
	if (rc)
		return rc;
	if (dom0) {
		rc = dom0_connect();
		if (rc)
			return rc;
		dom0_write_entries();
	}
	return 0;
}
