/*
 * Domains: the hypervisor-independent half of each operation.  libxl keeps
 * the records and the stored config; the backend does the hypervisor's part.
 * A create that fails part-way removes everything it made.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "enso-util.h"
#include "libxl/runtime.h"

bool rt_domain_name_valid(const char *name)
{
	const char *p;

	if (!name || !*name || strlen(name) > 64 || isdigit((unsigned char)*name))
		return false;
	for (p = name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("-_.", *p))
			return false;
	return true;
}

int rt_uuid_parse(const char *s, uint8_t out[16])
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
		if (name && rt_uuid_parse(uuid, u) == 0 &&
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

void rt_intents_list(struct enso_ctx *ctx, struct enso_dominfo *list,
		     size_t *count, size_t cap)
{
	intent_each(ctx, NULL, NULL, list, count, cap);
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

/* One build's progress, for the steps a restore may take early (while
 * its stream loads: backend.h's restore_started) or after the backend's
 * op, and for the undoing of what was done when a later step fails. */
struct build {
	struct enso_domain_config *c;
	const char *owner, *uuid;
	uint32_t id;
	bool records, intent, devices;
};

/* The hypervisor has given the id: the records (with the stored config)
 * take over from the intent. */
static int build_records(struct enso_ctx *ctx, struct build *b,
			 struct enso_error *err)
{
	int rc;

	if (b->records || !ctx->ops->hv_allocates_domid)
		return 0;
	rc = rt_records_create(ctx, b->c, false, b->owner, &b->id, err);
	if (rc)
		return rc;
	b->records = true;
	rc = rt_config_store(ctx, b->id, b->c, err);
	if (rc)
		return rc;
	intent_remove(ctx, b->uuid);	/* /libxl/<id>/creating says it now */
	b->intent = false;
	return step(ctx, "records-written", err);
}

static int build_devices(struct enso_ctx *ctx, struct build *b,
			 struct enso_error *err)
{
	int rc;

	if (b->devices)
		return 0;
	rc = rt_devices_attach(ctx, b->id, b->c, err);
	if (rc)
		return rc;
	b->devices = true;
	return step(ctx, "devices-attached", err);
}

/* backend.h's restore_started: the guest's memory still loading, the
 * domain paused and unknown to xenstored, nothing of it runs yet. */
static int restore_started(struct enso_ctx *ctx, uint32_t domid, void *arg,
			   struct enso_error *err)
{
	struct build *b = arg;
	int rc;

	b->id = domid;
	rc = build_records(ctx, b, err);
	if (!rc)
		rc = build_devices(ctx, b, err);
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
	struct build b = { .c = &c, .owner = owner, .uuid = uuid };
	uint32_t other;
	char *layout = NULL;
	bool built = false;
	int rc;

	if (flags & ~(unsigned)ENSO_CREATE_PAUSED)
		return exl_fail(err, -EINVAL, "unknown create flags %#x", flags);
	if (!rt_domain_name_valid(cfg->name))
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
	/* The stream's device layout is for the backend's restore only: not
	 * stored with the domain, which a later save describes anew. */
	layout = c.device_layout;
	c.device_layout = NULL;
	fill_defaults(&c);
	rt_owner_self(owner, sizeof(owner));
	rt_uuid_format(c.uuid, uuid);

	/* Ids libxl gives: the records, with the intent, come first.  Ids
	 * the hypervisor gives at build time: the intent is by uuid. */
	if (!ctx->ops->hv_allocates_domid) {
		rc = rt_records_create(ctx, &c, true, owner, &b.id, err);
		if (rc)
			goto out;
		b.records = true;
		rc = rt_config_store(ctx, b.id, &c, err);
		if (rc)
			goto out;
		rc = step(ctx, "records-written", err);
	} else {
		rc = intent_write(ctx, uuid, c.name, owner, err);
		b.intent = rc == 0;
		if (!rc)
			rc = step(ctx, "intent-written", err);
	}
	if (!rc)
		rc = rt_create_prepare(ctx, &c, &in, err);
	if (rc)
		goto out;
	/* Built paused on every hypervisor: the guest runs only once its
	 * records are in place (its kernel reads them at once).  A restore
	 * is a create whose guest comes from the stream; its devices may be
	 * attached while the stream loads (restore_started above). */
	if (restore_fd < 0) {
		rc = ctx->ops->create(ctx, &in, &b.id, err);
	} else {
		in.restore_started = restore_started;
		in.restore_arg = &b;
		in.device_layout = layout;
		rc = ctx->ops->restore(ctx, &in, restore_fd, &b.id, err);
	}
	if (rc)
		goto out;
	built = true;
	rc = step(ctx, "domain-built", err);
	if (!rc)
		rc = build_records(ctx, &b, err);
	if (!rc && ctx->ops->records_ready)
		rc = ctx->ops->records_ready(ctx, b.id, err);
	if (!rc)
		rc = build_devices(ctx, &b, err);
	if (!rc)
		rc = step(ctx, "before-unpause", err);
	if (rc)
		goto out;
	if (!(flags & ENSO_CREATE_PAUSED)) {
		rc = ctx->ops->unpause(ctx, b.id, err);
		if (rc)
			goto out;
	}
	/* Complete: from here on it stays, whoever dies. */
	rc = rt_records_handover(ctx, b.id, err);
	if (rc)
		goto out;
	*domid = b.id;
	/* A stop here is after the fact: the domain is created. */
	rt_test_stop(ctx, "created", NULL);
out:
	if (rc && built) {
		struct enso_error ignored;

		ctx->ops->destroy(ctx, b.id, &ignored);
	}
	if (rc && b.records) {
		rt_records_remove(ctx, b.id);
		rt_config_remove(ctx, b.id);
	}
	if (b.intent)
		intent_remove(ctx, uuid);
	rt_create_release(&in);
	enso_config_dispose(&c);
	free(layout);
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
		if (!rt_owner_alive(owner) && rt_uuid_parse(uuid, u) == 0) {
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
