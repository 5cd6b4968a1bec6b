/*
 * Domains: the hypervisor-independent half of each operation.  libxl keeps
 * the records and the stored config; the backend does the hypervisor's part.
 * A create that fails part-way removes everything it made.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "enso-util.h"
#include "libxl/runtime.h"

static int need_op(struct enso_ctx *ctx, const void *op, const char *what,
		   struct enso_error *err)
{
	if (op)
		return 0;
	return exl_fail(err, -ENOSYS, "%s is not supported by the %s backend",
			what, ctx->ops->name);
}

static bool valid_name(const char *name)
{
	const char *p;

	if (!name || !*name || strlen(name) > 64 || isdigit((unsigned char)*name))
		return false;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

static int parse_uuid(const char *s, uint8_t out[16]);

/* An id with records, or what is left of them, or one the hypervisor
 * holds without any (a create that died before writing them). */
static bool known_id(struct enso_ctx *ctx, uint32_t domid)
{
	struct backend_dominfo bi;

	if (rt_records_any(ctx, domid))
		return true;
	if (domid == 0 || !ctx->ops->find_uuid)
		return false;
	memset(&bi, 0, sizeof(bi));
	return ctx->ops->info(ctx, domid, &bi, NULL) == 0;
}

/* Xen creates' intents are /libxl/creating-<uuid>: beside the ids, so
 * that nothing stays behind them (a /libxl/creating would). */
#define INTENT_PREFIX "creating-"

static const char *intent_uuid(const char *entry)
{
	return strncmp(entry, INTENT_PREFIX, sizeof(INTENT_PREFIX) - 1) ?
		       NULL : entry + sizeof(INTENT_PREFIX) - 1;
}

/* A Xen create that died before its records, by the name it was for:
 * the intent /libxl/creating-<uuid> and the domain Xen holds under that
 * uuid.  With want == NULL, every one is added to *list instead. */
static bool intent_each(struct enso_ctx *ctx, const char *want, uint32_t *domid,
			struct enso_dominfo *list, size_t *count, size_t cap)
{
	unsigned int n = 0, i;
	char **uuids;
	bool found = false;

	if (!ctx->ops->find_uuid)
		return false;
	uuids = xs_directory(ctx->xsh, XBT_NULL, "/libxl", &n);
	for (i = 0; uuids && i < n && !found; i++) {
		const char *uuid = intent_uuid(uuids[i]);
		char *name;
		uint8_t u[16];
		uint32_t id;
		size_t k;

		if (!uuid)
			continue;
		name = rt_xs_read(ctx, "/libxl/creating-%s/name", uuid);
		if (name && parse_uuid(uuid, u) == 0 &&
		    ctx->ops->find_uuid(ctx, u, &id) == 0 &&
		    !rt_records_any(ctx, id)) {
			if (want && !strcmp(name, want)) {
				*domid = id;
				found = true;
			} else if (!want && *count < cap) {
				for (k = 0; k < *count && list[k].domid != id; k++)
					;
				if (k == *count) {
					struct enso_dominfo *d = &list[(*count)++];

					memset(d, 0, sizeof(*d));
					d->domid = id;
					d->name = name;
					name = NULL;
					memcpy(d->uuid, u, 16);
					d->shutdown_reason = -1;
					d->creating = true;
				}
			}
		}
		free(name);
	}
	free(uuids);
	return found;
}

static bool intent_lookup(struct enso_ctx *ctx, const char *name,
			  uint32_t *domid)
{
	return intent_each(ctx, name, domid, NULL, NULL, 0);
}

int enso_domain_lookup(struct enso_ctx *ctx, const char *name_or_id,
		       uint32_t *domid, struct enso_error *err)
{
	unsigned int n, i;
	char **doms;
	char *end;
	unsigned long v;

	if (!name_or_id || !*name_or_id)
		return exl_fail(err, -EINVAL, "no domain given");
	v = strtoul(name_or_id, &end, 10);
	if (isdigit((unsigned char)*name_or_id) && !*end) {
		if (v > 0x7fef || !known_id(ctx, (uint32_t)v))
			return exl_fail(err, -ENOENT, "domain %s does not exist",
					name_or_id);
		*domid = (uint32_t)v;
		return 0;
	}
	doms = xs_directory(ctx->xsh, XBT_NULL, "/local/domain", &n);
	for (i = 0; doms && i < n; i++) {
		char *name = rt_xs_read(ctx, "/local/domain/%s/name", doms[i]);
		bool match = name && !strcmp(name, name_or_id);

		free(name);
		if (match) {
			*domid = (uint32_t)strtoul(doms[i], NULL, 10);
			free(doms);
			return 0;
		}
	}
	free(doms);
	if (intent_lookup(ctx, name_or_id, domid))
		return 0;
	return exl_fail(err, -ENOENT, "domain '%s' does not exist", name_or_id);
}

static void random_fill(uint8_t *b, size_t n)
{
	if (getrandom(b, n, 0) != (ssize_t)n) {
		size_t i;

		for (i = 0; i < n; i++)	/* not security, just uniqueness */
			b[i] = (uint8_t)(rand() ^ (int)time(NULL));
	}
}

/* What create decides that a config leaves open: uuid and MACs. */
static void fill_defaults(struct enso_domain_config *c)
{
	size_t i;

	if (!c->uuid_set) {
		random_fill(c->uuid, 16);
		c->uuid[6] = (uint8_t)((c->uuid[6] & 0x0f) | 0x40);	/* v4 */
		c->uuid[8] = (uint8_t)((c->uuid[8] & 0x3f) | 0x80);
		c->uuid_set = true;
	}
	for (i = 0; i < c->nnics; i++)
		rt_nic_fill_mac(&c->nics[i]);
}

void rt_nic_fill_mac(struct enso_nic *n)
{
	if (n->mac_set)
		return;
	n->mac[0] = 0x00;	/* Xen's OUI, as upstream gives */
	n->mac[1] = 0x16;
	n->mac[2] = 0x3e;
	random_fill(&n->mac[3], 3);
	n->mac[3] &= 0x7f;
	n->mac_set = true;
}

/* The Xen create's intent, before the hypervisor chooses the id:
 * /libxl/creating-<uuid>/{owner,name}.  KVM's is /libxl/<id>/creating,
 * written with the records, which come first there. */
static int intent_write(struct enso_ctx *ctx, const char *uuid,
			const char *name, const char *owner,
			struct enso_error *err)
{
	char path[128];
	bool ok;

	/* The owner first: an intent without one is taken for a dead
	 * process's, and this one is alive. */
	snprintf(path, sizeof(path), "/libxl/creating-%s/owner", uuid);
	ok = rt_xs_write(ctx, XBT_NULL, path, owner);
	snprintf(path, sizeof(path), "/libxl/creating-%s/name", uuid);
	ok = ok && rt_xs_write(ctx, XBT_NULL, path, name);
	if (!ok)
		return exl_fail(err, -(errno ? errno : EIO),
				"recording the create of '%s': %s", name,
				strerror(errno ? errno : EIO));
	return 0;
}

static void intent_remove(struct enso_ctx *ctx, const char *uuid)
{
	char path[128];

	snprintf(path, sizeof(path), "/libxl/creating-%s", uuid);
	xs_rm(ctx->xsh, XBT_NULL, path);
}

/* Between steps: the caller asked to stop (SIGINT, SIGTERM in xl). */
static int step(struct enso_ctx *ctx, const char *point,
		struct enso_error *err)
{
	int rc = rt_test_stop(ctx, point, err);

	if (!rc && rt_cancelled(ctx))
		rc = exl_fail(err, -ECANCELED, "interrupted");
	return rc;
}

/*
 * The order is what keeps every domain visible and removable whatever
 * point the creating process dies at (docs/design/lifecycle.md): an intent
 * naming this process is in the store before the hypervisor object
 * exists, and goes away only when the domain is complete and handed to the
 * monitor, in one transaction.  The monitor destroys what a create whose
 * process died left.
 */
int rt_domain_build(struct enso_ctx *ctx, const struct enso_domain_config *cfg,
		    unsigned flags, int restore_fd, uint32_t *domid,
		    struct enso_error *err)
{
	struct enso_domain_config c;
	struct backend_create in = { 0 };
	char owner[RT_OWNER_LEN], uuid[37];
	uint32_t id = 0, other;
	bool records = false, built = false, intent = false;
	int rc;

	if (flags & ~(unsigned)ENSO_CREATE_PAUSED)
		return exl_fail(err, -EINVAL, "unknown create flags %#x", flags);
	if (!valid_name(cfg->name))
		return exl_fail(err, -EINVAL,
				"invalid domain name '%s': letters, digits, '-', '_' and '.', not starting with a digit",
				cfg->name ? cfg->name : "");
	if (enso_domain_lookup(ctx, cfg->name, &other, NULL) == 0)
		return exl_fail(err, -EEXIST,
				"a domain named '%s' already exists (id %u)",
				cfg->name, other);
	rc = rt_config_copy(cfg, &c, err);
	if (rc)
		return rc;
	fill_defaults(&c);
	rt_owner_self(owner, sizeof(owner));
	rt_uuid_format(c.uuid, uuid);

	/* Ids libxl gives: the records, with the intent, come first.  Ids
	 * the hypervisor gives at build time: the intent is by uuid. */
	if (!ctx->ops->hv_allocates_domid) {
		rc = rt_records_create(ctx, &c, true, owner, &id, err);
		if (rc)
			goto out;
		records = true;
		rc = rt_config_store(ctx, id, &c, err);
		if (rc)
			goto out;
		rc = step(ctx, "records-written", err);
	} else {
		rc = intent_write(ctx, uuid, c.name, owner, err);
		intent = rc == 0;
		if (!rc)
			rc = step(ctx, "intent-written", err);
	}
	if (!rc)
		rc = rt_create_prepare(ctx, &c, &in, err);
	if (rc)
		goto out;
	/* Built paused on every hypervisor: the guest runs only once its
	 * records are in place (its kernel reads them at once).  A restore
	 * is a create whose guest comes from the stream. */
	rc = restore_fd < 0 ? ctx->ops->create(ctx, &in, &id, err) :
			      ctx->ops->restore(ctx, &in, restore_fd, &id, err);
	if (rc)
		goto out;
	built = true;
	rc = step(ctx, "domain-built", err);
	if (rc)
		goto out;
	if (ctx->ops->hv_allocates_domid) {
		rc = rt_records_create(ctx, &c, false, owner, &id, err);
		if (rc)
			goto out;
		records = true;
		rc = rt_config_store(ctx, id, &c, err);
		if (rc)
			goto out;
		intent_remove(ctx, uuid);	/* /libxl/<id>/creating says it now */
		intent = false;
		rc = step(ctx, "records-written", err);
		if (rc)
			goto out;
	}
	if (ctx->ops->records_ready) {
		rc = ctx->ops->records_ready(ctx, id, err);
		if (rc)
			goto out;
	}
	rc = rt_devices_attach(ctx, id, &c, err);
	if (rc)
		goto out;
	rc = step(ctx, "devices-attached", err);
	if (rc)
		goto out;
	rc = step(ctx, "before-unpause", err);
	if (rc)
		goto out;
	if (!(flags & ENSO_CREATE_PAUSED)) {
		rc = ctx->ops->unpause(ctx, id, err);
		if (rc)
			goto out;
	}
	/* Complete: from here on it stays, whoever dies. */
	rc = rt_records_handover(ctx, id, err);
	if (rc)
		goto out;
	*domid = id;
	/* A stop here is after the fact: the domain is created. */
	rt_test_stop(ctx, "created", NULL);
out:
	if (rc && built) {
		struct enso_error ignored;

		ctx->ops->destroy(ctx, id, &ignored);
	}
	if (rc && records) {
		rt_records_remove(ctx, id);
		rt_config_remove(ctx, id);
	}
	if (intent)
		intent_remove(ctx, uuid);
	rt_create_release(&in);
	enso_config_dispose(&c);
	return rc;
}

int enso_domain_create(struct enso_ctx *ctx,
		       const struct enso_domain_config *cfg, unsigned flags,
		       uint32_t *domid, struct enso_error *err)
{
	return rt_domain_build(ctx, cfg, flags, -1, domid, err);
}

/* Any state: records whole, half removed or none (a create or destroy
 * that died), the hypervisor's part there or not.  The destroying node
 * names this process, so that the monitor finishes if it dies. */
int enso_domain_destroy(struct enso_ctx *ctx, uint32_t domid,
			struct enso_error *err)
{
	bool recorded;
	int rc;

	if (domid == 0)
		return exl_fail(err, -EINVAL, "Domain-0 cannot be destroyed");
	recorded = rt_records_any(ctx, domid);
	if (recorded) {
		char node[64], owner[RT_OWNER_LEN];

		/* Also tells the monitor this end is wanted, not a crash. */
		rt_owner_self(owner, sizeof(owner));
		snprintf(node, sizeof(node), "/libxl/%u/destroying", domid);
		rt_xs_write(ctx, XBT_NULL, node, owner);
	}
	rt_test_stop(ctx, "destroy-marked", NULL);
	rc = ctx->ops->destroy(ctx, domid, err);
	if (rc == -ENOENT && !recorded) {
		rt_config_remove(ctx, domid);	/* of nothing that runs */
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	}
	if (rc && rc != -ENOENT)
		return rc;
	rt_test_stop(ctx, "destroy-backend-done", NULL);
	rt_config_remove(ctx, domid);
	rt_records_remove(ctx, domid);
	return 0;
}

int rt_orphans_cleanup(struct enso_ctx *ctx,
		       void (*say)(void *opaque, const char *msg),
		       void *opaque)
{
	unsigned int n = 0, i;
	char **ids = xs_directory(ctx->xsh, XBT_NULL, "/libxl", &n);
	char **uuids;
	int done = 0;

	for (i = 0; ids && i < n; i++) {
		static const char *const what[] = { "creating", "destroying" };
		struct enso_error e;
		char msg[700], *end;
		unsigned long id;
		size_t k;

		errno = 0;
		id = strtoul(ids[i], &end, 10);
		if (errno || end == ids[i] || *end || id == 0 || id > 0x7fef)
			continue;
		for (k = 0; k < 2; k++) {
			char *owner = rt_xs_read(ctx, "/libxl/%lu/%s", id, what[k]);
			bool dead = owner && !rt_owner_alive(owner);

			if (dead) {
				char *name = rt_xs_read(ctx, "/libxl/%lu/name", id);

				snprintf(msg, sizeof(msg),
					 "domain %lu (%s): the %s by process %.*s did not finish (that process is gone): %s",
					 id, name ? name : "?",
					 k ? "destroy" : "create",
					 (int)strcspn(owner, " "), owner,
					 k ? "finishing it" :
					     "destroying what it built");
				free(name);
				if (say)
					say(opaque, msg);
				if (enso_domain_destroy(ctx, (uint32_t)id, &e) &&
				    say) {
					snprintf(msg, sizeof(msg), "domain %lu: %s",
						 id, e.msg);
					say(opaque, msg);
				}
				done++;
			}
			free(owner);
			if (dead)
				break;
		}
	}
	free(ids);
	/* Xen creates that died before their records: by uuid. */
	uuids = xs_directory(ctx->xsh, XBT_NULL, "/libxl", &n);
	for (i = 0; uuids && i < n; i++) {
		const char *uuid = intent_uuid(uuids[i]);
		char *owner, *name;
		uint8_t u[16];
		uint32_t id;

		if (!uuid)
			continue;
		owner = rt_xs_read(ctx, "/libxl/creating-%s/owner", uuid);
		name = rt_xs_read(ctx, "/libxl/creating-%s/name", uuid);
		if (!rt_owner_alive(owner) && parse_uuid(uuid, u) == 0) {
			char msg[600];
			struct enso_error e;

			snprintf(msg, sizeof(msg),
				 "domain %s (uuid %s): its create did not finish and left no records: destroying what it built",
				 name ? name : "?", uuid);
			if (say)
				say(opaque, msg);
			if (ctx->ops->find_uuid &&
			    ctx->ops->find_uuid(ctx, u, &id) == 0 &&
			    !rt_records_any(ctx, id))
				ctx->ops->destroy(ctx, id, &e);
			intent_remove(ctx, uuid);
			done++;
		}
		free(owner);
		free(name);
	}
	free(uuids);
	return done;
}

typedef int backend_domain_fn(struct enso_ctx *ctx, uint32_t domid,
			      struct enso_error *err);

/* The backend has op, and the domain exists: what every operation on one
 * domain checks first. */
static int can_do(struct enso_ctx *ctx, uint32_t domid, const void *op,
		  const char *what, struct enso_error *err)
{
	int rc = need_op(ctx, op, what, err);

	if (rc)
		return rc;
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	return 0;
}

/* An operation on one existing domain that the backend may not have. */
static int backend_op(struct enso_ctx *ctx, uint32_t domid,
		      backend_domain_fn *op, const char *what,
		      struct enso_error *err)
{
	int rc = can_do(ctx, domid, (const void *)op, what, err);

	return rc ? rc : op(ctx, domid, err);
}

/* memory/<node> in KiB, where the guest's balloon driver and xl list read. */
static void write_memory_node(struct enso_ctx *ctx, uint32_t domid,
			      const char *node, uint64_t kib)
{
	char path[64], val[32];

	snprintf(path, sizeof(path), "/local/domain/%u/memory/%s", domid, node);
	snprintf(val, sizeof(val), "%llu", (unsigned long long)kib);
	rt_xs_write(ctx, XBT_NULL, path, val);
}

int enso_domain_pause(struct enso_ctx *ctx, uint32_t domid,
		      struct enso_error *err)
{
	return backend_op(ctx, domid, ctx->ops->pause, "pause", err);
}

int enso_domain_unpause(struct enso_ctx *ctx, uint32_t domid,
			struct enso_error *err)
{
	return backend_op(ctx, domid, ctx->ops->unpause, "unpause", err);
}

int enso_domain_shutdown(struct enso_ctx *ctx, uint32_t domid, bool reboot,
			 struct enso_error *err)
{
	int rc = can_do(ctx, domid, (const void *)ctx->ops->shutdown,
			"shutdown", err);

	return rc ? rc : ctx->ops->shutdown(ctx, domid, reboot, err);
}

int enso_domain_wait_gone(struct enso_ctx *ctx, uint32_t domid,
			  int timeout_ms, struct enso_error *err)
{
	char path[64], token[32];
	long long start;
	int rc = 0;

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	snprintf(token, sizeof(token), "gone-%u", domid);
	if (!xs_watch(ctx->xsh, path, token))
		return exl_fail(err, -errno, "watching %s: %s", path,
				strerror(errno));
	start = monotonic_ms();
	for (;;) {
		char *name = rt_xs_read(ctx, "/local/domain/%u/name", domid);
		struct pollfd pfd = { .fd = xs_fileno(ctx->xsh), .events = POLLIN };
		bool there = name != NULL;
		int e = errno;
		long waited;
		char **ev;

		free(name);
		if (!there && e != ENOENT) {
			/* Not gone: the store is (xenstored went away). */
			rc = exl_fail(err, -e,
				      "waiting for domain %u: cannot reach xenstored at %s: %s",
				      domid, rt_xenstored_socket(), strerror(e));
			break;
		}
		if (!there)
			break;
		waited = (long)(monotonic_ms() - start);
		if (timeout_ms >= 0 && waited >= timeout_ms) {
			rc = exl_fail(err, -ETIMEDOUT,
				      "domain %u still exists after %d s", domid,
				      timeout_ms / 1000);
			break;
		}
		/* Wake at least once a second: a record removed by a
		 * process that died is seen too. */
		poll(&pfd, 1, 1000);
		while ((ev = xs_check_watch(ctx->xsh)))
			free(ev);
	}
	xs_unwatch(ctx->xsh, path, token);
	return rc;
}

void enso_dominfo_dispose(struct enso_dominfo *info)
{
	if (!info)
		return;
	free(info->name);
	info->name = NULL;
}

void enso_dominfo_list_free(struct enso_dominfo *list, size_t n)
{
	size_t i;

	for (i = 0; list && i < n; i++)
		enso_dominfo_dispose(&list[i]);
	free(list);
}

static int parse_uuid(const char *s, uint8_t out[16])
{
	int i = 0;

	for (; *s && i < 16; s++) {
		unsigned v;

		if (*s == '-')
			continue;
		if (sscanf(s, "%2x", &v) != 1)
			return -EINVAL;
		out[i++] = (uint8_t)v;
		s++;
	}
	return i == 16 ? 0 : -EINVAL;
}

static int host_dom0_info(struct enso_ctx *ctx, struct enso_dominfo *out,
			  struct enso_error *err)
{
	struct enso_host_info h;
	int rc = enso_host_info(ctx, &h, err);

	if (rc)
		return rc;
	out->running = true;
	out->current_kb = h.total_kb;
	out->max_kb = h.total_kb;
	out->vcpus_online = out->max_vcpus = h.nr_cpus;
	enso_host_info_dispose(&h);
	return 0;
}

int enso_domain_info(struct enso_ctx *ctx, uint32_t domid,
		     struct enso_dominfo *out, struct enso_error *err)
{
	struct backend_dominfo bi;
	char *uuid;
	int rc;

	memset(out, 0, sizeof(*out));
	out->domid = domid;
	out->shutdown_reason = -1;
	out->name = rt_xs_read(ctx, "/local/domain/%u/name", domid);
	if (!out->name)
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	uuid = rt_xs_read(ctx, "/libxl/%u/uuid", domid);
	if (uuid)
		parse_uuid(uuid, out->uuid);
	free(uuid);
	if (domid == 0 && ctx->ops->dom0_is_host)
		return host_dom0_info(ctx, out, err);
	{
		char *c = rt_xs_read(ctx, "/libxl/%u/creating", domid);
		char *d = rt_xs_read(ctx, "/libxl/%u/destroying", domid);

		out->creating = c != NULL;
		out->destroying = d != NULL;
		free(c);
		free(d);
	}
	memset(&bi, 0, sizeof(bi));
	bi.shutdown_reason = -1;
	rc = ctx->ops->info(ctx, domid, &bi, err);
	if (rc && (out->creating || out->destroying)) {
		/* Half there: shown as such, so that it can be destroyed. */
		char *t = rt_xs_read(ctx, "/local/domain/%u/memory/target", domid);

		out->current_kb = t ? strtoull(t, NULL, 10) : 0;
		free(t);
		return 0;
	}
	if (rc) {
		enso_dominfo_dispose(out);
		return rc;
	}
	out->running = bi.running;
	out->blocked = bi.blocked;
	out->paused = bi.paused;
	out->shutdown = bi.shutdown;
	out->dying = bi.dying;
	out->shutdown_reason = bi.shutdown_reason;
	out->current_kb = bi.current_kb;
	out->max_kb = bi.max_kb;
	out->vcpus_online = bi.vcpus_online;
	out->max_vcpus = bi.max_vcpus;
	out->cpu_seconds = bi.cpu_seconds;
	return 0;
}

static int cmp_domid(const void *a, const void *b)
{
	const struct enso_dominfo *x = a, *y = b;

	return (x->domid > y->domid) - (x->domid < y->domid);
}

int enso_domain_list(struct enso_ctx *ctx, struct enso_dominfo **out,
		     size_t *n, struct enso_error *err)
{
	unsigned int nd, i;
	char **doms = xs_directory(ctx->xsh, XBT_NULL, "/local/domain", &nd);
	struct enso_dominfo *list;
	size_t count = 0, cap;

	*out = NULL;
	*n = 0;
	if (!doms)
		return exl_fail(err, -errno, "listing /local/domain: %s",
				strerror(errno));
	{
		unsigned int ni = 0;
		char **intents = xs_directory(ctx->xsh, XBT_NULL, "/libxl",
					      &ni);

		free(intents);
		cap = (size_t)nd + ni;	/* and the Xen creates without records */
	}
	list = calloc(cap ? cap : 1, sizeof(*list));
	if (!list) {
		free(doms);
		return -ENOMEM;
	}
	for (i = 0; i < nd; i++) {
		char *end;
		unsigned long id = strtoul(doms[i], &end, 10);

		if (*end || id > 0x7fef)
			continue;
		/* A domain that vanishes meanwhile is simply not listed. */
		if (enso_domain_info(ctx, (uint32_t)id, &list[count], NULL) == 0)
			count++;
	}
	free(doms);
	intent_each(ctx, NULL, NULL, list, &count, cap);
	qsort(list, count, sizeof(*list), cmp_domid);
	*out = list;
	*n = count;
	return 0;
}

int enso_domain_set_memory(struct enso_ctx *ctx, uint32_t domid,
			   uint64_t target_kb, struct enso_error *err)
{
	char *max;
	int rc = can_do(ctx, domid, (const void *)ctx->ops->set_memory,
			"mem-set", err);

	if (rc)
		return rc;
	max = rt_xs_read(ctx, "/local/domain/%u/memory/static-max", domid);
	if (max && target_kb > strtoull(max, NULL, 10)) {
		rc = exl_fail(err, -EINVAL,
			      "memory_dynamic_max must be less than or equal to memory_static_max: target %llu KiB is above the domain's maximum %s KiB (raise it with mem-max)",
			      (unsigned long long)target_kb, max);
		free(max);
		return rc;
	}
	free(max);
	rc = ctx->ops->set_memory(ctx, domid, target_kb, err);
	if (!rc)
		write_memory_node(ctx, domid, "target", target_kb);
	return rc;
}

int enso_domain_set_maxmem(struct enso_ctx *ctx, uint32_t domid,
			   uint64_t max_kb, struct enso_error *err)
{
	int rc = can_do(ctx, domid, (const void *)ctx->ops->set_maxmem,
			"mem-max", err);
	char *target;

	if (rc)
		return rc;
	/* Upstream's rule and words, whatever the hypervisor. */
	target = rt_xs_read(ctx, "/local/domain/%u/memory/target", domid);
	if (target && max_kb < strtoull(target, NULL, 10))
		rc = exl_fail(err, -EINVAL,
			      "domain %u: memory_static_max must be greater than or equal to memory_dynamic_max: maximum %llu KiB is below the current target %s KiB (lower it with mem-set first)",
			      domid, (unsigned long long)max_kb, target);
	free(target);
	if (!rc)
		rc = ctx->ops->set_maxmem(ctx, domid, max_kb, err);
	if (!rc)
		write_memory_node(ctx, domid, "static-max", max_kb);
	return rc;
}

int enso_domain_set_vcpus(struct enso_ctx *ctx, uint32_t domid,
			  uint32_t count, struct enso_error *err)
{
	int rc = can_do(ctx, domid, (const void *)ctx->ops->set_vcpus,
			"vcpu-set", err);

	if (rc)
		return rc;
	if (count == 0)
		return exl_fail(err, -EINVAL,
				"domain %u: requested 0 vCPUs; at least one stays online",
				domid);
	return ctx->ops->set_vcpus(ctx, domid, count, err);
}

/* The stored config carries the name too: a save or migration sends it,
 * and a renamed domain must not come back under its old name.  A domain
 * with no stored config (Domain-0) has nothing to follow. */
static int rename_stored(struct enso_ctx *ctx, uint32_t domid,
			 const char *new_name, struct enso_error *err)
{
	struct enso_domain_config c;
	struct enso_error e;
	char *dup;
	int rc;

	enso_config_init(&c);
	if (rt_config_load(ctx, domid, &c, &e)) {
		enso_config_dispose(&c);
		return 0;
	}
	dup = strdup(new_name);
	if (!dup) {
		rc = -ENOMEM;
		goto out;
	}
	free(c.name);
	c.name = dup;
	rc = rt_config_store(ctx, domid, &c, err);
out:
	enso_config_dispose(&c);
	return rc;
}

int enso_domain_rename(struct enso_ctx *ctx, uint32_t domid,
		       const char *new_name, struct enso_error *err)
{
	char node[64], *uuid;
	uint32_t other;

	if (!valid_name(new_name))
		return exl_fail(err, -EINVAL, "invalid domain name '%s'", new_name);
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	if (enso_domain_lookup(ctx, new_name, &other, NULL) == 0 && other != domid)
		return exl_fail(err, -EEXIST, "a domain named '%s' already exists",
				new_name);
	snprintf(node, sizeof(node), "/local/domain/%u/name", domid);
	rt_xs_write(ctx, XBT_NULL, node, new_name);
	snprintf(node, sizeof(node), "/libxl/%u/name", domid);
	rt_xs_write(ctx, XBT_NULL, node, new_name);
	uuid = rt_xs_read(ctx, "/libxl/%u/uuid", domid);
	if (uuid) {
		char vm[96];

		snprintf(vm, sizeof(vm), "/vm/%s/name", uuid);
		rt_xs_write(ctx, XBT_NULL, vm, new_name);
	}
	free(uuid);
	return rename_stored(ctx, domid, new_name, err);
}

int enso_domain_console_tty(struct enso_ctx *ctx, uint32_t domid,
			    char **path, struct enso_error *err)
{
	if (!rt_domain_exists(ctx, domid))
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	*path = rt_xs_read(ctx, "/local/domain/%u/console/tty", domid);
	if (!*path || !**path) {
		free(*path);
		*path = NULL;
		return exl_fail(err, -ENOENT,
				"domain %u has no console tty yet (console/tty is empty)",
				domid);
	}
	return 0;
}

int enso_domain_config(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_domain_config *out, struct enso_error *err)
{
	if (!rt_domain_exists(ctx, domid)) {
		enso_config_init(out);
		return exl_fail(err, -ENOENT, "domain %u does not exist", domid);
	}
	return rt_config_load(ctx, domid, out, err);
}

void enso_host_info_dispose(struct enso_host_info *info)
{
	size_t i;

	if (!info)
		return;
	for (i = 0; i < info->nfields; i++) {
		free(info->fields[i].key);
		free(info->fields[i].value);
	}
	free(info->fields);
	free(info->hypervisor);
	free(info->why);
	free(info->version);
	memset(info, 0, sizeof(*info));
}

int enso_host_info(struct enso_ctx *ctx, struct enso_host_info *out,
		   struct enso_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!ctx->ops->host_info)
		return exl_fail(err, -ENOSYS, "host info: not supported by %s",
				ctx->ops->name);
	return ctx->ops->host_info(ctx, out, err);
}

long enso_domain_uptime(struct enso_ctx *ctx, uint32_t domid)
{
	char *uuid, *start;
	long secs = -1;

	if (domid == 0) {
		FILE *f = fopen("/proc/uptime", "r");
		double up;

		if (f && fscanf(f, "%lf", &up) == 1)
			secs = (long)up;
		if (f)
			fclose(f);
		return secs;
	}
	uuid = rt_xs_read(ctx, "/libxl/%u/uuid", domid);
	start = uuid ? rt_xs_read(ctx, "/vm/%s/start_time", uuid) : NULL;
	if (start)
		secs = (long)(time(NULL) - strtoll(start, NULL, 10));
	free(uuid);
	free(start);
	return secs;
}
