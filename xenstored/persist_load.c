/*
 * Persistence, reading (see persist.c for the design): the snapshot and
 * the journal are read and replayed into the store and the domain table at
 * start, then each domain gets back what its connection had (watches, the
 * messages it may not have received, how far its requests were handled).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "persist.h"

/* ---- reading ---- */

static int read_file(const char *name, struct buf *b, bool *exists)
{
	char *path = state_path(name);
	struct stat st;
	int fd, rc = 0;

	*exists = false;
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	free(path);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	*exists = true;
	rc = buf_reserve(b, (size_t)st.st_size + 1);
	while (!rc) {
		ssize_t n = read(fd, b->p + b->len, b->cap - b->len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = -errno;
		if (n <= 0)
			break;
		b->len += (size_t)n;
		if (b->len == b->cap)
			rc = buf_reserve(b, 65536);
	}
out:
	close(fd);
	return rc;
}

/* Cursor over a record's data. */
struct rd {
	const uint8_t *p;
	size_t left;
	bool bad;
};

static const void *rd_take(struct rd *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	r->left -= n;
	return p;
}

static uint32_t rd32(struct rd *r)
{
	const uint8_t *p = rd_take(r, 4);

	return p ? get32(p) : 0;
}

static const char *rd_str(struct rd *r)
{
	const uint8_t *nul;
	const char *s;

	if (r->bad)
		return NULL;
	nul = memchr(r->p, '\0', r->left);
	if (!nul) {
		r->bad = true;
		return NULL;
	}
	s = (const char *)r->p;
	rd_take(r, (size_t)(nul - r->p) + 1);
	return s;
}

static int rd_perms(struct rd *r, struct perms *out)
{
	const uint8_t *n = rd_take(r, 2);
	uint16_t i, cnt;

	if (!n)
		return -EILSEQ;
	cnt = (uint16_t)(n[0] | n[1] << 8);
	if (!cnt)
		return -EILSEQ;
	out->p = calloc(cnt, sizeof(*out->p));
	if (!out->p)
		return -ENOMEM;
	out->n = cnt;
	for (i = 0; i < cnt; i++) {
		const uint8_t *e = rd_take(r, 3);

		if (!e || e[2] > PERM_BOTH) {
			perms_free(out);
			return -EILSEQ;
		}
		out->p[i].domid = (uint16_t)(e[0] | e[1] << 8);
		out->p[i].mode = e[2];
	}
	return 0;
}

static bool perms_same(const struct perms *a, const struct perms *b)
{
	return a->n == b->n && !memcmp(a->p, b->p, a->n * sizeof(*a->p));
}

static int apply_node(struct rd *r)
{
	uint32_t vlen = rd32(r);
	const char *path = rd_str(r), *value;
	struct perms p = { 0 };
	struct node *n, *parent;
	char *pp;
	int rc;

	if (!path || path[0] != '/' || strlen(path) > XENSTORE_ABS_PATH_MAX)
		return -EILSEQ;
	rc = rd_perms(r, &p);
	if (rc)
		return rc;
	value = rd_take(r, vlen);
	if (!value || r->left) {
		perms_free(&p);
		return -EILSEQ;
	}
	n = store_lookup(path);
	if (n) {
		struct perms cur = node_perms(n);

		if (n->vlen != vlen || (vlen && memcmp(node_value(n), value, vlen)))
			rc = store_set_value(n, value, vlen);
		if (!rc && !perms_same(&cur, &p))
			rc = store_set_perms(n, &p);
		perms_free(&p);
		return rc;
	}
	pp = malloc(strlen(path) + 1);
	if (!pp) {
		perms_free(&p);
		return -ENOMEM;
	}
	/* Parents come first, in the journal as in a snapshot. */
	parent = path_parent(path, pp) ? store_lookup(pp) : NULL;
	free(pp);
	rc = parent ? store_create(parent, path_basename(path), value, vlen,
				   &p, NULL)
		    : -EILSEQ;
	perms_free(&p);
	return rc;
}

static int apply_rm(struct rd *r)
{
	const char *path = rd_str(r);
	struct node *n;

	if (!path || path[0] != '/' || r->left)
		return -EILSEQ;
	n = store_lookup(path);
	if (n)
		store_delete(n);
	return 0;
}

static int apply_special(struct rd *r)
{
	const char *which = rd_str(r);
	struct perms p, *dst;
	int rc;

	if (!which)
		return -EILSEQ;
	if (!strcmp(which, "@introduceDomain"))
		dst = &store.intro_perms;
	else if (!strcmp(which, "@releaseDomain"))
		dst = &store.release_perms;
	else
		return -EILSEQ;
	rc = rd_perms(r, &p);
	if (rc)
		return rc;
	perms_free(dst);
	*dst = p;
	return 0;
}

static int apply_domain(uint8_t type, struct rd *r)
{
	uint32_t domid = rd32(r), v;
	struct pdom *d;
	const uint8_t *rel;
	const char *path, *token;

	if (r->bad || domid >= NR_DOMIDS)
		return -EILSEQ;
	switch (type) {
	case PREC_RELEASE:
		pdom_drop(domid);
		return r->left ? -EILSEQ : 0;
	case PREC_RESET:
		d = pdom_find(domid, false);
		if (d)
			pwatches_free(d);
		return r->left ? -EILSEQ : 0;
	case PREC_OUTRESET:
		d = pdom_find(domid, false);
		if (d)
			pouts_free(d);
		return r->left ? -EILSEQ : 0;
	}
	d = pdom_find(domid, true);
	if (!d)
		return -ENOMEM;
	switch (type) {
	case PREC_INTRODUCE: {
		const uint8_t *g = rd_take(r, 8);

		v = rd32(r);
		if (!g || r->bad || r->left)
			return -EILSEQ;
		if (!d->introduced)
			pdom_forget(d);
		d->introduced = true;
		d->gfn = get64(g);
		d->port = v;
		return 0;
	}
	case PREC_OUT:
		v = rd32(r);
		if (r->bad || !r->left)
			return -EILSEQ;
		return pout_add(d, v, r->p, (uint32_t)r->left);
	case PREC_REQCONS:
		v = rd32(r);
		if (r->bad || r->left)
			return -EILSEQ;
		d->req_cons = v;
		d->req_cons_known = true;
		return 0;
	case PREC_TARGET:
	case PREC_TXID:
		v = rd32(r);
		if (r->bad || r->left)
			return -EILSEQ;
		if (type == PREC_TARGET)
			d->target = v;
		else
			d->txid_upto = v;
		return 0;
	case PREC_WATCH:
	case PREC_UNWATCH:
		rel = type == PREC_WATCH ? rd_take(r, 1) : NULL;
		path = rd_str(r);
		token = rd_str(r);
		if (r->bad || r->left)
			return -EILSEQ;
		if (type == PREC_UNWATCH) {
			pwatch_del(d, path, token);
			return 0;
		}
		pwatch_del(d, path, token);
		return pwatch_add(d, path, token, rel && *rel);
	}
	return -EILSEQ;
}

static int apply_rec(const struct prec *rec)
{
	struct rd r = { .p = rec->data, .left = rec->len };

	switch (rec->type) {
	case PREC_NODE: return apply_node(&r);
	case PREC_RM: return apply_rm(&r);
	case PREC_SPECIAL: return apply_special(&r);
	case PREC_INTRODUCE:
	case PREC_RELEASE:
	case PREC_TARGET:
	case PREC_WATCH:
	case PREC_UNWATCH:
	case PREC_RESET:
	case PREC_TXID:
	case PREC_OUT:
	case PREC_OUTRESET:
	case PREC_REQCONS:
		return apply_domain(rec->type, &r);
	}
	return -EILSEQ;
}

static int parse_header(const struct buf *b, uint8_t kind, uint64_t *gen,
			size_t *off)
{
	struct prec rec;

	if (persist_rec_parse(b->p, b->len, &rec) || rec.type != PREC_HEADER ||
	    rec.len != MAGIC_LEN + 1 + 8 ||
	    memcmp(rec.data, PERSIST_MAGIC, MAGIC_LEN) ||
	    rec.data[MAGIC_LEN] != kind)
		return -EILSEQ;
	*gen = get64(rec.data + MAGIC_LEN + 1);
	*off = rec.size;
	return 0;
}

/* Applies a whole snapshot; the offset of a failure in *bad_at. */
static int load_snapshot(const struct buf *b, uint64_t *gen, size_t *bad_at,
			 const char **why)
{
	size_t off;
	struct prec rec;
	int rc;

	*bad_at = 0;
	*why = "no valid header";
	if (parse_header(b, PREC_KIND_SNAPSHOT, gen, &off))
		return -EILSEQ;
	for (;;) {
		*bad_at = off;
		rc = persist_rec_parse(b->p + off, b->len - off, &rec);
		if (rc) {
			*why = rc == -EAGAIN ? "truncated (no end record)"
					     : "bad record (length or CRC)";
			return -EILSEQ;
		}
		if (rec.type == PREC_END) {
			if (rec.len != 8 || get64(rec.data) != store.nnodes) {
				*why = "end record does not match the nodes read";
				return -EILSEQ;
			}
			return 0;
		}
		rc = apply_rec(&rec);
		if (rc) {
			*why = rc == -ENOMEM ? "out of memory"
					     : "record does not apply";
			return rc;
		}
		off += rec.size;
	}
}

/* Applies the journal's whole groups; *good is where the valid part ends.
 * A record that parses but does not apply is corruption, not a tail. */
static int load_journal(const struct buf *b, size_t off, size_t *good,
			const char **why)
{
	size_t group = off;
	struct prec rec;
	int rc;

	*good = off;
	while (off < b->len) {
		if (persist_rec_parse(b->p + off, b->len - off, &rec))
			return 0;	/* the tail */
		if (rec.type == PREC_COMMIT) {
			size_t at = group;

			while (at < off) {
				struct prec r;

				persist_rec_parse(b->p + at, b->len - at, &r);
				rc = apply_rec(&r);
				if (rc) {
					*good = at;
					*why = rc == -ENOMEM ? "out of memory"
							     : "record does not apply";
					return rc;
				}
				at += r.size;
			}
			off += rec.size;
			group = *good = off;
			continue;
		}
		if (rec.type == PREC_HEADER || rec.type == PREC_END)
			return 0;	/* does not belong: treat as the tail */
		off += rec.size;
	}
	return 0;
}

/* Loads the state; -EILSEQ with *why for a state that cannot be read. */
int persist_load(char *why, size_t whylen)
{
	struct buf snap, jr;
	bool have_snap, have_jr;
	uint64_t jgen = 0;
	size_t off, good, bad_at;
	const char *what = "";
	int rc;

	buf_init(&snap);
	buf_init(&jr);
	ps.gen = 0;
	ps.snap_size = 0;
	rc = read_file(STATE_SNAPSHOT, &snap, &have_snap);
	if (!rc)
		rc = read_file(STATE_JOURNAL, &jr, &have_jr);
	if (rc) {
		snprintf(why, whylen, "reading the state: %s", strerror(-rc));
		goto out;
	}
	if (have_snap) {
		rc = load_snapshot(&snap, &ps.gen, &bad_at, &what);
		if (rc) {
			snprintf(why, whylen, "%s/%s is corrupt at byte %zu of %zu: %s",
				 ps.dir, STATE_SNAPSHOT, bad_at, snap.len, what);
			goto out;
		}
		ps.snap_size = snap.len;
	}
	if (have_jr && jr.len) {
		if (parse_header(&jr, PREC_KIND_JOURNAL, &jgen, &off)) {
			rc = -EILSEQ;
			snprintf(why, whylen, "%s/%s has no valid header",
				 ps.dir, STATE_JOURNAL);
			goto out;
		}
		if (jgen > ps.gen) {
			rc = -EILSEQ;
			snprintf(why, whylen, "%s/%s is of generation %llu, after the snapshot's %llu (the snapshot is missing or old)",
				 ps.dir, STATE_JOURNAL, (unsigned long long)jgen,
				 (unsigned long long)ps.gen);
			goto out;
		}
	}
	if (have_jr && jr.len && jgen == ps.gen) {
		rc = load_journal(&jr, off, &good, &what);
		if (rc) {
			snprintf(why, whylen, "%s/%s: %s at byte %zu",
				 ps.dir, STATE_JOURNAL, what, good);
			goto out;
		}
		if (good < jr.len)
			elog(ELOG_WARN, "persistence: discarded %zu bytes of torn or corrupt journal tail (%s/%s from byte %zu)",
			     jr.len - good, ps.dir, STATE_JOURNAL, good);
		/* Append after the good part: reopen it as it is. */
		{
			char *path = state_path(STATE_JOURNAL);

			ps.jfd = path ? open(path, O_WRONLY | O_CLOEXEC) : -1;
			free(path);
			if (ps.jfd < 0 || ftruncate(ps.jfd, (off_t)good) < 0 ||
			    lseek(ps.jfd, (off_t)good, SEEK_SET) < 0) {
				rc = -errno;
				snprintf(why, whylen, "reopening %s: %s",
					 STATE_JOURNAL, strerror(errno));
				goto out;
			}
		}
		ps.jsize = good;
	} else {
		if (have_jr && jr.len)
			elog(ELOG_INFO, "persistence: journal of generation %llu is older than the snapshot's %llu: ignored",
			     (unsigned long long)jgen, (unsigned long long)ps.gen);
		rc = journal_start();
		if (rc) {
			snprintf(why, whylen, "starting %s/%s: %s", ps.dir,
				 STATE_JOURNAL, strerror(-rc));
			goto out;
		}
	}
	if (have_snap || (have_jr && jr.len))
		elog(ELOG_INFO, "restored %llu nodes, %zu domains from %s",
		     (unsigned long long)store.nnodes, pdom_introduced(),
		     ps.dir);
out:
	buf_fini(&snap);
	buf_fini(&jr);
	return rc;
}

/* ---- domains after a restart ---- */

static void fire_once(struct conn *c, const struct pwatch *w)
{
	const char *epath = w->path;
	char home[32];
	size_t hl;
	struct buf b;

	/* As the watch was set: a relative one names a relative path. */
	hl = (size_t)snprintf(home, sizeof(home), "/local/domain/%u/",
			      c->domid);
	if (w->relative && !strncmp(epath, home, hl))
		epath += hl;
	buf_init(&b);
	if (!buf_add_str0(&b, epath) && !buf_add_str0(&b, w->token))
		conn_send(c, XS_WATCH_EVENT, 0, 0, b.p, (uint32_t)b.len, true);
	buf_fini(&b);
}

/*
 * The ring as the old daemon left it: requests it handled (journaled) but
 * had not yet taken off the ring are taken off now, and the replies and
 * events the domain had not got are queued again, the first one from where
 * the ring stopped, so the domain sees each byte exactly once.
 */
static void restore_ring(struct conn *c, struct pdom *d)
{
	struct xenstore_domain_interface *intf = ring_of(c);
	uint32_t prod, resent = 0, skipped = 0;
	struct pout *o;

	if (!intf)
		return;
	if (d->req_cons_known) {
		uint32_t ahead = d->req_cons - intf->req_cons;

		if (ahead && ahead <= XENSTORE_RING_SIZE &&
		    intf->req_prod - d->req_cons <= XENSTORE_RING_SIZE) {
			intf->req_cons = d->req_cons;
			skipped = ahead;
		}
	}
	prod = intf->rsp_prod;
	for (o = d->out; o; o = o->next) {
		uint32_t done = prod - o->start;

		if ((int32_t)done < 0)
			done = 0;	/* not begun */
		if (done >= o->len)
			continue;	/* delivered */
		if (conn_queue_bytes(c, o->data, o->len, done)) {
			elog(ELOG_ERR, "domain %u: out of memory resending its replies",
			     d->domid);
			break;
		}
		resent++;
	}
	pouts_free(d);
	if (skipped || resent)
		elog(ELOG_INFO, "domain %u: %u request bytes were handled before the restart; %u replies or events resent",
		     d->domid, skipped, resent);
}

void persist_restore_conn(struct conn *c)
{
	const struct pwatch *w;
	struct pdom *d;
	size_t n = 0;

	if (!ps.on || !ps.restoring || c->kind != CONN_DOMAIN)
		return;
	d = pdom_find(c->domid, false);
	if (!d)
		return;
	restore_ring(c, d);
	ps.replaying = true;
	c->target = d->target;
	c->next_txid = d->txid_upto;
	c->txid_reserved = d->txid_upto;
	c->doom_below = d->txid_upto;
	for (w = d->watches; w; w = w->next) {
		int rc = watch_add(c, w->path, w->token, w->relative);

		if (rc)
			elog(ELOG_WARN, "domain %u: restoring watch %s %s: %s",
			     d->domid, w->path, w->token, strerror(-rc));
		else
			n++;
	}
	ps.replaying = false;
	/* Each fires once: the guest re-reads what may have changed. */
	for (w = d->watches; w; w = w->next)
		fire_once(c, w);
	if (n)
		elog(ELOG_INFO, "domain %u: %zu watches restored", d->domid, n);
}

void persist_restore_domains(bool xen)
{
	struct pdom *d, *next;
	size_t alive = 0, gone = 0;

	if (!ps.on)
		return;
	if (!xen) {
		ps.restoring = false;
		if (pdom_introduced())
			elog(ELOG_WARN, "persistence: %zu introduced domains in %s, but no Xen here: kept, not served",
			     pdom_introduced(), ps.dir);
		return;
	}
	for (d = ps.doms; d; d = next) {
		uint32_t domid = d->domid;
		struct domain *dom;
		int rc = 0;

		next = d->next;
		if (!d->introduced)
			continue;	/* dom0: restored as its ring connected */
		/* Its connection gets its watches and transaction ids (through
		 * persist_restore_conn()) before its ring is read. */
		rc = domain_restore(domid, d->gfn, d->port);
		dom = domain_find(domid);
		if (!rc && dom && dom->conn) {
			alive++;
			continue;
		}
		if (rc != -ESRCH) {
			/* Alive but not served: kept, for a later try. */
			elog(ELOG_ERR, "domain %u: cannot reconnect its ring: %s",
			     domid, strerror(rc ? -rc : EIO));
			continue;
		}
		elog(ELOG_INFO, "domain %u died while xenstored was down", domid);
		gone++;
		persist_release(domid);		/* frees d */
		domain_forget(domid);
	}
	ps.restoring = false;
	if (gone)
		watch_fire("@releaseDomain", false, NULL);
	if (alive || gone)
		elog(ELOG_INFO, "persistence: %zu domains reconnected, %zu gone",
		     alive, gone);
}
