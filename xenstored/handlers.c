/*
 * Requests: one handler per message type, in one table.  A handler returns
 * 0 (reply in r->reply, or "OK") or a negative errno, sent as an ERROR
 * reply.  Handlers that change the store run in the request's transaction,
 * or in an implicit one that commits at once.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

enum {
	F_PRIV = 1,	/* privileged connections only */
	F_TXN = 2,	/* honours the header's tx_id */
};

/* Indexed by message type; the names are msgname.c's. */
struct handler {
	int (*fn)(struct req *r);
	unsigned flags;
};

const char *errno_name(int err)
{
	size_t i;

	for (i = 0; i < ARRAY_SIZE(xsd_errors); i++)
		if (xsd_errors[i].errnum == err)
			return xsd_errors[i].errstring;
	return "EIO";
}

int req_strings(struct req *r, const char **out, int max)
{
	uint32_t off = 0;
	int n = 0;

	if (r->hdr.len && r->body[r->hdr.len - 1] != '\0')
		return -EINVAL;
	while (off < r->hdr.len) {
		if (n < max)
			out[n] = r->body + off;
		n++;
		off += (uint32_t)strlen(r->body + off) + 1;
	}
	return n;
}

/* Exactly one string, as upstream insists: "path\0extra\0" is EINVAL. */
static int one_arg(struct req *r, const char **arg)
{
	int n = req_strings(r, arg, 1);

	return n == 1 ? 0 : -EINVAL;
}

static int parse_domid(const char *s, uint32_t *domid)
{
	unsigned long long v;

	if (parse_uint(s, NR_DOMIDS - 1, &v))
		return -EINVAL;
	*domid = (uint32_t)v;
	return 0;
}

/* A node as the request sees it: in its transaction, or in the store. */
struct view {
	bool exists;
	const char *value;
	uint32_t vlen;
	struct perms perms;	/* the node's or the tnode's: not a copy */
	uint64_t gen;
	const struct node *n;
	const struct tnode *tn;
};

static uint32_t view_nkids(const struct view *v)
{
	return v->tn ? v->tn->nkids : node_nkids(v->n);
}

static const char *view_kid(const struct view *v, uint32_t i)
{
	return v->tn ? v->tn->kids[i] : node_name(node_kid(v->n, i));
}

static int get_view(struct req *r, const char *path, bool kids,
		    struct view *v)
{
	memset(v, 0, sizeof(*v));
	if (r->txn) {
		struct tnode *tn;
		int rc = txn_get(r->txn, path, &tn);

		if (!rc && kids)
			rc = txn_load_kids(r->txn, tn);
		if (rc)
			return rc;
		v->exists = tn->exists;
		v->value = tn->value;
		v->vlen = tn->vlen;
		v->perms = tn->perms;
		v->gen = tn->base_gen;
		v->tn = tn;
	} else {
		struct node *n = store_lookup(path);

		if (n) {
			v->exists = true;
			v->value = node_value(n);
			v->vlen = n->vlen;
			v->perms = node_perms(n);
			v->gen = n->gen;
			v->n = n;
		}
	}
	return 0;
}

/* For a missing node: ENOENT, unless an unprivileged caller may not read
 * the nearest ancestor, which would tell it what exists there. */
static int absent_error(struct req *r, const char *path)
{
	char *p;
	int rc = -ENOENT;

	if (r->conn->privileged)
		return -ENOENT;
	p = strdup(path);
	if (!p)
		return -ENOMEM;
	while (path_parent(p, p)) {
		struct view v;

		if (get_view(r, p, false, &v))
			break;
		if (v.exists) {
			if (!(perms_allowed(r->conn, &v.perms) & PERM_READ))
				rc = -EACCES;
			break;
		}
	}
	free(p);
	return rc;
}

/* Looks a node up for reading: canonical path, existence, read access. */
static int read_node(struct req *r, const char *arg, bool kids,
		     struct view *v)
{
	char *path;
	int rc = path_canonical(r->conn, arg, false, &path);

	if (rc)
		return rc;
	rc = get_view(r, path, kids, v);
	if (!rc && !v->exists)
		rc = absent_error(r, path);
	else if (!rc && !(perms_allowed(r->conn, &v->perms) & PERM_READ))
		rc = -EACCES;
	free(path);
	return rc;
}

static int do_read(struct req *r)
{
	const char *arg;
	struct view v;
	int rc = one_arg(r, &arg);

	if (!rc)
		rc = read_node(r, arg, false, &v);
	if (!rc)
		rc = buf_add(&r->reply, v.value, v.vlen);
	if (!rc && !r->reply.p)
		rc = buf_reserve(&r->reply, 1);	/* an empty value is a reply */
	return rc;
}

static int do_directory(struct req *r)
{
	const char *arg;
	struct view v;
	uint32_t i;
	int rc = one_arg(r, &arg);

	if (!rc)
		rc = read_node(r, arg, true, &v);
	if (rc)
		return rc;
	rc = buf_reserve(&r->reply, 1);
	for (i = 0; !rc && i < view_nkids(&v); i++)
		rc = buf_add_str0(&r->reply, view_kid(&v, i));
	if (!rc && r->reply.len > XENSTORE_PAYLOAD_MAX)
		rc = -E2BIG;	/* the client goes on with DIRECTORY_PART */
	return rc;
}

static int do_directory_part(struct req *r)
{
	const char *args[2];
	unsigned long long off;
	uint64_t pos = 0;
	struct view v;
	uint32_t i;
	int rc;

	if (req_strings(r, args, 2) != 2 ||
	    parse_uint(args[1], UINT32_MAX, &off))
		return -EINVAL;
	rc = read_node(r, args[0], true, &v);
	if (rc)
		return rc;
	rc = buf_printf(&r->reply, "%llu", (unsigned long long)v.gen);
	if (!rc)
		rc = buf_add(&r->reply, "", 1);
	/* Whole names from byte offset off of the full list; the part that
	 * reaches the end carries one more NUL, which tells the client so. */
	for (i = 0; !rc && i < view_nkids(&v); i++) {
		const char *name = view_kid(&v, i);
		size_t nl = strlen(name) + 1;

		if (pos >= off) {
			if (r->reply.len + nl + 1 > XENSTORE_PAYLOAD_MAX)
				return 0;
			rc = buf_add(&r->reply, name, nl);
		}
		pos += nl;
	}
	if (!rc)
		rc = buf_add(&r->reply, "", 1);
	return rc;
}

static const struct perms *special_perms(const char *path)
{
	if (!strcmp(path, "@introduceDomain"))
		return &store.intro_perms;
	if (!strcmp(path, "@releaseDomain"))
		return &store.release_perms;
	return NULL;
}

static int do_get_perms(struct req *r)
{
	const char *arg;
	struct view v;
	int rc = one_arg(r, &arg);

	if (rc)
		return rc;
	if (arg[0] == '@') {
		const struct perms *sp = special_perms(arg);

		if (!sp)
			return -ENOENT;
		return perms_format(sp, &r->reply);
	}
	rc = read_node(r, arg, false, &v);
	if (!rc)
		rc = perms_format(&v.perms, &r->reply);
	return rc;
}

/* Runs op in the request's transaction, or in one of its own. */
static int modify(struct req *r, const char *path,
		  int (*op)(struct txn *t, const char *path, void *arg),
		  void *arg)
{
	struct txn *t = r->txn;
	int rc;

	if (t)
		return op(t, path, arg);
	t = txn_new(r->conn, 0);
	if (!t)
		return -ENOMEM;
	rc = op(t, path, arg);
	if (!rc)
		rc = txn_commit(t, false);
	txn_free(t);
	return rc;
}

struct write_arg {
	const char *value;
	uint32_t vlen;
	bool only_create;
};

static int op_write(struct txn *t, const char *path, void *arg)
{
	struct write_arg *w = arg;

	return txn_write(t, path, w->value, w->vlen, w->only_create);
}

static int op_rm(struct txn *t, const char *path, void *arg)
{
	(void)arg;
	return txn_rm(t, path);
}

static int op_set_perms(struct txn *t, const char *path, void *arg)
{
	return txn_set_perms(t, path, arg);
}

static int modify_path(struct req *r, const char *arg,
		       int (*op)(struct txn *, const char *, void *),
		       void *oparg)
{
	char *path;
	int rc = path_canonical(r->conn, arg, false, &path);

	if (rc)
		return rc;
	rc = modify(r, path, op, oparg);
	free(path);
	return rc;
}

static int do_write(struct req *r)
{
	const char *nul = memchr(r->body, '\0', r->hdr.len);
	struct write_arg w;

	if (!nul)
		return -EINVAL;
	w.value = nul + 1;
	w.vlen = r->hdr.len - (uint32_t)(nul + 1 - r->body);
	w.only_create = false;
	return modify_path(r, r->body, op_write, &w);
}

static int do_mkdir(struct req *r)
{
	struct write_arg w = { .value = "", .vlen = 0, .only_create = true };
	const char *arg;
	int rc = one_arg(r, &arg);

	return rc ? rc : modify_path(r, arg, op_write, &w);
}

static int do_rm(struct req *r)
{
	const char *arg;
	int rc = one_arg(r, &arg);

	return rc ? rc : modify_path(r, arg, op_rm, NULL);
}

static int do_set_perms(struct req *r)
{
	const char *nul = memchr(r->body, '\0', r->hdr.len);
	struct perms perms;
	uint32_t plen;
	int rc;

	if (!nul || r->body[r->hdr.len - 1] != '\0')
		return -EINVAL;
	plen = r->hdr.len - (uint32_t)(nul + 1 - r->body);
	rc = perms_parse(nul + 1, plen, &perms);
	if (rc)
		return rc;
	if (r->body[0] == '@') {
		struct perms *sp = (struct perms *)special_perms(r->body);

		if (!sp)
			rc = -ENOENT;
		else if (!r->conn->privileged)
			rc = -EACCES;
		else {
			perms_free(sp);
			*sp = perms;
			perms.p = NULL;
			persist_special_perms(r->body, sp);
			watch_fire(r->body, false, NULL);
		}
	} else {
		rc = modify_path(r, r->body, op_set_perms, &perms);
	}
	perms_free(&perms);
	return rc;
}

static int do_watch(struct req *r)
{
	const char *args[3];
	char *path;
	struct buf ev;
	int rc, n = req_strings(r, args, 3);

	if (n < 2)
		return -EINVAL;
	rc = path_canonical(r->conn, args[0], true, &path);
	if (rc)
		return rc;
	rc = watch_add(r->conn, path, args[1],
		       args[0][0] != '/' && args[0][0] != '@');
	free(path);
	if (rc)
		return rc;
	/* Reply first, then the event every new watch fires at once. */
	conn_send(r->conn, XS_WATCH, r->hdr.req_id, r->hdr.tx_id, "OK", 3,
		  false);
	r->replied = true;
	buf_init(&ev);
	if (!buf_add_str0(&ev, args[0]) && !buf_add_str0(&ev, args[1]))
		conn_send(r->conn, XS_WATCH_EVENT, 0, 0, ev.p, (uint32_t)ev.len,
			  true);
	buf_fini(&ev);
	return 0;
}

static int do_unwatch(struct req *r)
{
	const char *args[3];
	char *path;
	int rc, n = req_strings(r, args, 3);

	if (n < 2)
		return -EINVAL;
	rc = path_canonical(r->conn, args[0], true, &path);
	if (rc)
		return rc;
	rc = watch_remove(r->conn, path, args[1]);
	free(path);
	return rc;
}

static struct txn *find_txn(struct conn *c, uint32_t id)
{
	struct txn *t;

	for (t = c->txns; t; t = t->next)
		if (t->id == id)
			return t;
	return NULL;
}

static int do_txn_start(struct req *r)
{
	struct conn *c = r->conn;
	struct txn *t;
	uint32_t id;

	if (r->txn)
		return -EBUSY;	/* a live transaction; an unknown one is ENOENT */
	if (!c->privileged && c->ntxns >= quotas[Q_TRANSACTIONS].val) {
		quota_hit(c, Q_TRANSACTIONS, NULL);
		return -ENOSPC;
	}
	do {
		id = c->next_txid++;
	} while (id == 0 || find_txn(c, id));
	persist_txid(c, id);
	t = txn_new(c, id);
	if (!t)
		return -ENOMEM;
	t->next = c->txns;
	c->txns = t;
	c->ntxns++;
	if (buf_printf(&r->reply, "%u", id) || buf_add(&r->reply, "", 1))
		return -ENOMEM;
	return 0;
}

static int do_txn_end(struct req *r)
{
	struct conn *c = r->conn;
	struct txn **pp, *t = r->txn;
	const char *arg;
	int rc;

	if (!t)
		return -ENOENT;
	if (one_arg(r, &arg) || (strcmp(arg, "T") && strcmp(arg, "F")))
		return -EINVAL;
	for (pp = &c->txns; *pp != t; pp = &(*pp)->next)
		;
	*pp = t->next;
	c->ntxns--;
	rc = arg[0] == 'T' ? txn_commit(t, true) : 0;
	txn_free(t);
	r->txn = NULL;
	return rc;
}

static int do_introduce(struct req *r)
{
	const char *args[4];
	unsigned long long port;
	long long mfn;
	uint32_t domid;
	char *end;

	if (req_strings(r, args, 4) < 3 || parse_domid(args[0], &domid) ||
	    parse_uint(args[2], UINT32_MAX, &port))
		return -EINVAL;
	/* The mfn is sent as signed decimal: accept either sign. */
	errno = 0;
	mfn = strtoll(args[1], &end, 10);
	if (errno || end == args[1] || *end)
		return -EINVAL;
	if (domid == 0 || domid >= 0x7ff0)
		return -EINVAL;
	return domain_introduce(domid, (uint64_t)mfn, (uint32_t)port);
}

static int domid_request(struct req *r, uint32_t *domid)
{
	const char *arg;

	if (one_arg(r, &arg) || parse_domid(arg, domid))
		return -EINVAL;
	return 0;
}

static int do_release(struct req *r)
{
	uint32_t domid;
	int rc = domid_request(r, &domid);

	return rc ? rc : domain_release(domid, true);
}

static int do_resume(struct req *r)
{
	uint32_t domid;
	int rc = domid_request(r, &domid);

	return rc ? rc : domain_resume(domid);
}

static int do_get_domain_path(struct req *r)
{
	uint32_t domid;
	int rc = domid_request(r, &domid);

	if (rc)
		return rc;
	if (buf_printf(&r->reply, "/local/domain/%u", domid) ||
	    buf_add(&r->reply, "", 1))
		return -ENOMEM;
	return 0;
}

static int do_is_introduced(struct req *r)
{
	uint32_t domid;
	int rc = domid_request(r, &domid);

	if (rc)
		return rc;
	return buf_add_str0(&r->reply, domain_is_introduced(domid) ? "T" : "F");
}

static int do_set_target(struct req *r)
{
	const char *args[2];
	uint32_t domid, target;
	struct domain *d;

	if (req_strings(r, args, 2) != 2 || parse_domid(args[0], &domid) ||
	    parse_domid(args[1], &target))
		return -EINVAL;
	d = domain_find(domid);
	if (!d || !d->conn)
		return -ENOENT;
	d->conn->target = target;
	persist_target(domid, target);
	return 0;
}

static int do_reset_watches(struct req *r)
{
	conn_reset(r->conn);
	return 0;
}

static const struct handler handlers[XS_TYPE_COUNT] = {
	[XS_CONTROL] = { do_control, F_PRIV },
	[XS_DIRECTORY] = { do_directory, F_TXN },
	[XS_READ] = { do_read, F_TXN },
	[XS_GET_PERMS] = { do_get_perms, F_TXN },
	[XS_WATCH] = { do_watch, 0 },
	[XS_UNWATCH] = { do_unwatch, 0 },
	[XS_TRANSACTION_START] = { do_txn_start, F_TXN },
	[XS_TRANSACTION_END] = { do_txn_end, F_TXN },
	[XS_INTRODUCE] = { do_introduce, F_PRIV },
	[XS_RELEASE] = { do_release, F_PRIV },
	[XS_GET_DOMAIN_PATH] = { do_get_domain_path, 0 },
	[XS_WRITE] = { do_write, F_TXN },
	[XS_MKDIR] = { do_mkdir, F_TXN },
	[XS_RM] = { do_rm, F_TXN },
	[XS_SET_PERMS] = { do_set_perms, F_TXN },
	[XS_IS_DOMAIN_INTRODUCED] = { do_is_introduced, F_PRIV },
	[XS_RESUME] = { do_resume, F_PRIV },
	[XS_SET_TARGET] = { do_set_target, F_PRIV },
	[XS_RESET_WATCHES] = { do_reset_watches, 0 },
	[XS_DIRECTORY_PART] = { do_directory_part, F_TXN },
};

void dispatch(struct conn *c, const struct xsd_sockmsg *hdr, char *body)
{
	const struct handler *h = NULL;
	struct req r = { .conn = c, .hdr = *hdr, .body = body };
	int rc = 0;

	trace_msg(c, "IN", hdr, body);
	if (hdr->type < XS_TYPE_COUNT)
		h = &handlers[hdr->type];
	if (!h || !h->fn)
		rc = -ENOSYS;
	else if ((h->flags & F_PRIV) && !c->privileged)
		rc = -EACCES;
	else if ((h->flags & F_TXN) && hdr->tx_id &&
		 !(r.txn = find_txn(c, hdr->tx_id)) &&
		 !(r.txn = persist_doomed_txn(c, hdr->tx_id)))
		rc = -ENOENT;
	buf_init(&r.reply);
	if (!rc)
		rc = h->fn(&r);
	if (rc) {
		const char *e = errno_name(-rc);

		conn_send(c, XS_ERROR, hdr->req_id, hdr->tx_id, e,
			  (uint32_t)strlen(e) + 1, false);
	} else if (!r.replied) {
		if (r.reply.p)
			conn_send(c, hdr->type, hdr->req_id, hdr->tx_id,
				  r.reply.p, (uint32_t)r.reply.len, false);
		else
			conn_send(c, hdr->type, hdr->req_id, hdr->tx_id, "OK",
				  3, false);
	}
	buf_fini(&r.reply);
}
