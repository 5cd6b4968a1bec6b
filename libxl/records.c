/*
 * The records every tool sees, whatever the hypervisor: /local/domain/<id>
 * (what the guest and xl list read), /vm/<uuid>, the toolstack's own
 * /libxl/<id>, and the stored config (what xl list -l prints).  They are
 * written in one transaction, so nobody sees half a domain.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "libxl/runtime.h"

char *rt_xs_read(struct enso_ctx *ctx, const char *fmt, ...)
{
	char path[512];
	unsigned int len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return xs_read(ctx->xsh, XBT_NULL, path, &len);
}

bool rt_xs_write(struct enso_ctx *ctx, xs_transaction_t t, const char *path,
		 const char *value)
{
	return xs_write(ctx->xsh, t, path, value, (unsigned)strlen(value));
}

void rt_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

bool rt_domain_exists(struct enso_ctx *ctx, uint32_t domid)
{
	char *name = rt_xs_read(ctx, "/local/domain/%u/name", domid);
	bool there = name != NULL;

	free(name);
	return there;
}

static bool wputf(struct enso_ctx *ctx, xs_transaction_t t, const char *value,
		  const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static bool wputf(struct enso_ctx *ctx, xs_transaction_t t, const char *value,
		  const char *fmt, ...)
{
	char path[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	return rt_xs_write(ctx, t, path, value);
}

/* The next id after the last one handed out that no domain and no record
 * uses, wrapping below DOMID_FIRST_RESERVED: like Xen, ids are not reused
 * at once, so an id seen a moment ago does not name another domain now. */
static uint32_t free_domid(struct enso_ctx *ctx, xs_transaction_t t)
{
	unsigned int n, i, nl = 0, len;
	char **doms = xs_directory(ctx->xsh, t, "/local/domain", &n);
	char **libxl = xs_directory(ctx->xsh, t, "/libxl", &nl);
	char *last = xs_read(ctx->xsh, t, "/libxl/last-domid", &len);
	uint32_t start = last ? (uint32_t)strtoul(last, NULL, 10) : 0, id = 0, k;

	for (k = 1; k < 0x7ff0; k++) {
		char want[16];
		bool used = false;

		id = (start + k - 1) % 0x7fef + 1;
		snprintf(want, sizeof(want), "%u", id);
		for (i = 0; doms && i < n && !used; i++)
			used = !strcmp(doms[i], want);
		for (i = 0; libxl && i < nl && !used; i++)
			used = !strcmp(libxl[i], want);
		/* A running domain's config outlives a store that lost
		 * its records: its id is not free either. */
		if (!used) {
			char cfg[600];

			snprintf(cfg, sizeof(cfg), "%s/config-d%u.json",
				 ctx->lib_dir, id);
			used = access(cfg, F_OK) == 0;
		}
		if (!used)
			break;
	}
	free(doms);
	free(libxl);
	free(last);
	return id;
}

int rt_records_create(struct enso_ctx *ctx,
		      const struct enso_domain_config *cfg, bool alloc_domid,
		      const char *creating, uint32_t *domid,
		      struct enso_error *err)
{
	struct xs_permissions ro[2], rw[1];
	char uuid[37], num[32], dom[64];
	int tries;

	rt_uuid_format(cfg->uuid, uuid);
	for (tries = 0; tries < 100; tries++) {
		xs_transaction_t t = xs_transaction_start(ctx->xsh);
		uint32_t id, i;
		bool ok = true;

		if (!t)
			return exl_fail(err, -errno, "xenstore transaction: %s",
					strerror(errno));
		id = alloc_domid ? free_domid(ctx, t) : *domid;
		snprintf(dom, sizeof(dom), "/local/domain/%u", id);
		/* The domain reads its home; dom0 owns it.  The areas the
		 * guest writes (device, control, data...) are its own. */
		ro[0].id = 0;
		ro[0].perms = XS_PERM_NONE;
		ro[1].id = id;
		ro[1].perms = XS_PERM_READ;
		rw[0].id = id;
		rw[0].perms = XS_PERM_NONE;
		ok = ok && rt_xs_write(ctx, t, dom, "");
		ok = ok && xs_set_permissions(ctx->xsh, t, dom, ro, 2);
		ok = ok && wputf(ctx, t, cfg->name, "%s/name", dom);
		snprintf(num, sizeof(num), "%u", id);
		ok = ok && wputf(ctx, t, num, "%s/domid", dom);
		ok = ok && wputf(ctx, t, "", "/vm/%s", uuid);
		ok = ok && wputf(ctx, t, uuid, "/vm/%s/uuid", uuid);
		ok = ok && wputf(ctx, t, cfg->name, "/vm/%s/name", uuid);
		snprintf(num, sizeof(num), "%lld", (long long)time(NULL));
		ok = ok && wputf(ctx, t, num, "/vm/%s/start_time", uuid);
		{
			char vmpath[64];

			snprintf(vmpath, sizeof(vmpath), "/vm/%s", uuid);
			ok = ok && wputf(ctx, t, vmpath, "%s/vm", dom);
		}
		snprintf(num, sizeof(num), "%llu", (unsigned long long)cfg->maxmem_kb);
		ok = ok && wputf(ctx, t, num, "%s/memory/static-max", dom);
		snprintf(num, sizeof(num), "%llu", (unsigned long long)cfg->memory_kb);
		ok = ok && wputf(ctx, t, num, "%s/memory/target", dom);
		for (i = 0; ok && i < cfg->maxvcpus; i++)
			ok = wputf(ctx, t, i < cfg->vcpus ? "online" : "offline",
				   "%s/cpu/%u/availability", dom, i);
		static const char *const guest_dirs[] = {
			"device", "control", "data", "drivers", "feature",
			"attr", "error",
		};
		for (i = 0; ok && i < sizeof(guest_dirs) / sizeof(guest_dirs[0]); i++) {
			char p[96];

			snprintf(p, sizeof(p), "%s/%s", dom, guest_dirs[i]);
			ok = rt_xs_write(ctx, t, p, "") &&
			     xs_set_permissions(ctx->xsh, t, p, rw, 1);
		}
		ok = ok && wputf(ctx, t, "", "%s/control/shutdown", dom);
		ok = ok && wputf(ctx, t, cfg->name, "/libxl/%u/name", id);
		ok = ok && wputf(ctx, t, uuid, "/libxl/%u/uuid", id);
		ok = ok && wputf(ctx, t, ctx->ops->name, "/libxl/%u/backend", id);
		if (creating)
			ok = ok && wputf(ctx, t, creating, "/libxl/%u/creating", id);
		if (alloc_domid) {
			snprintf(num, sizeof(num), "%u", id);
			ok = ok && rt_xs_write(ctx, t, "/libxl/last-domid", num);
		}
		if (!ok) {
			int e = errno;

			xs_transaction_end(ctx->xsh, t, true);
			return exl_fail(err, -e, "writing domain %u's records: %s",
					id, strerror(e));
		}
		if (xs_transaction_end(ctx->xsh, t, false)) {
			*domid = id;
			return 0;
		}
		if (errno != EAGAIN)
			return exl_fail(err, -errno, "committing domain records: %s",
					strerror(errno));
	}
	return exl_fail(err, -EAGAIN, "xenstore stayed busy: gave up writing domain records");
}

bool rt_records_any(struct enso_ctx *ctx, uint32_t domid)
{
	char *v;

	if (rt_domain_exists(ctx, domid))
		return true;
	v = rt_xs_read(ctx, "/libxl/%u", domid);
	free(v);
	return v != NULL;
}

int rt_records_handover(struct enso_ctx *ctx, uint32_t domid,
			struct enso_error *err)
{
	char creating[64], monitor[64];
	int tries;

	snprintf(creating, sizeof(creating), "/libxl/%u/creating", domid);
	snprintf(monitor, sizeof(monitor), "/libxl/%u/monitor", domid);
	for (tries = 0; tries < 50; tries++) {
		xs_transaction_t t = xs_transaction_start(ctx->xsh);
		bool ok = t != XBT_NULL;

		ok = ok && rt_xs_write(ctx, t, monitor, "1");
		ok = ok && (xs_rm(ctx->xsh, t, creating) || errno == ENOENT);
		if (!ok) {
			int e = errno ? errno : EIO;

			if (t != XBT_NULL)
				xs_transaction_end(ctx->xsh, t, true);
			return exl_fail(err, -e,
					"domain %u: handing it to the monitor: %s",
					domid, strerror(e));
		}
		if (xs_transaction_end(ctx->xsh, t, false)) {
			rt_config_mark_complete(ctx, domid);
			return 0;
		}
		if (errno != EAGAIN)
			return exl_fail(err, -errno,
					"domain %u: handing it to the monitor: %s",
					domid, strerror(errno));
	}
	return exl_fail(err, -EAGAIN, "domain %u: xenstore stayed busy", domid);
}

/* /libxl/<id> last: while anything of the domain is left, its creating or
 * destroying node says who was at work, and the monitor finishes. */
void rt_records_remove(struct enso_ctx *ctx, uint32_t domid)
{
	char *uuid = rt_xs_read(ctx, "/libxl/%u/uuid", domid);
	char path[128];

	snprintf(path, sizeof(path), "/local/domain/%u", domid);
	xs_rm(ctx->xsh, XBT_NULL, path);
	if (uuid && *uuid) {
		snprintf(path, sizeof(path), "/vm/%s", uuid);
		xs_rm(ctx->xsh, XBT_NULL, path);
	}
	snprintf(path, sizeof(path), "/libxl/%u", domid);
	xs_rm(ctx->xsh, XBT_NULL, path);
	free(uuid);
}

int rt_write_availability(struct enso_ctx *ctx, uint32_t domid,
			  const bool *online, uint32_t n,
			  struct enso_error *err)
{
	int tries;

	for (tries = 0; tries < 50; tries++) {
		xs_transaction_t t = xs_transaction_start(ctx->xsh);
		bool ok = t != XBT_NULL;
		uint32_t i;

		for (i = 0; ok && i < n; i++) {
			char path[96];

			snprintf(path, sizeof(path),
				 "/local/domain/%u/cpu/%u/availability", domid, i);
			ok = rt_xs_write(ctx, t, path,
					 online[i] ? "online" : "offline");
		}
		if (!ok) {
			int e = errno;

			if (t != XBT_NULL)
				xs_transaction_end(ctx->xsh, t, true);
			return exl_fail(err, -e,
					"domain %u: writing cpu/N/availability: %s",
					domid, strerror(e));
		}
		if (xs_transaction_end(ctx->xsh, t, false))
			return 0;
		if (errno != EAGAIN)
			return exl_fail(err, -errno,
					"domain %u: committing cpu/N/availability: %s",
					domid, strerror(errno));
	}
	return exl_fail(err, -EAGAIN, "domain %u: xenstore stayed busy", domid);
}

static char *config_path(struct enso_ctx *ctx, uint32_t domid)
{
	char *p = NULL;

	if (asprintf(&p, "%s/config-d%u.json", ctx->lib_dir, domid) < 0)
		return NULL;
	return p;
}

int rt_config_store(struct enso_ctx *ctx, uint32_t domid,
		    const struct enso_domain_config *cfg,
		    struct enso_error *err)
{
	char *json = NULL, *path = config_path(ctx, domid), *tmp = NULL;
	FILE *f = NULL;
	int rc;

	if (!path)
		return -ENOMEM;
	rc = enso_config_to_json(cfg, true, &json);
	if (rc) {
		exl_fail(err, rc, "serialising the config: %s", strerror(-rc));
		goto out;
	}
	if (asprintf(&tmp, "%s.tmp", path) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	f = fopen(tmp, "w");
	if (!f || fputs(json, f) == EOF || fclose(f) != 0) {
		rc = exl_fail(err, -errno, "writing %s: %s", tmp, strerror(errno));
		f = NULL;
		goto out;
	}
	f = NULL;
	if (rename(tmp, path)) {
		rc = exl_fail(err, -errno, "renaming %s: %s", tmp, strerror(errno));
		goto out;
	}
	{
		char node[64];

		snprintf(node, sizeof(node), "/libxl/%u/config", domid);
		rt_xs_write(ctx, XBT_NULL, node, path);
	}
out:
	if (f)
		fclose(f);
	free(json);
	free(tmp);
	free(path);
	return rc;
}

int rt_config_load(struct enso_ctx *ctx, uint32_t domid,
		   struct enso_domain_config *out, struct enso_error *err)
{
	char *path = config_path(ctx, domid), *json = NULL;
	struct stat st;
	int fd = -1, rc;

	enso_config_init(out);
	if (!path)
		return -ENOMEM;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st)) {
		rc = exl_fail(err, -errno, "domain %u: no stored config (%s): %s",
			      domid, path, strerror(errno));
		goto out;
	}
	json = malloc((size_t)st.st_size + 1);
	if (!json || read(fd, json, (size_t)st.st_size) != st.st_size) {
		rc = exl_fail(err, -EIO, "reading %s", path);
		goto out;
	}
	json[st.st_size] = '\0';
	rc = enso_config_from_json(json, out, err);
out:
	if (fd >= 0)
		close(fd);
	free(json);
	free(path);
	return rc;
}

static char *complete_path(struct enso_ctx *ctx, uint32_t domid)
{
	char *p = NULL;

	if (asprintf(&p, "%s/complete-d%u", ctx->lib_dir, domid) < 0)
		return NULL;
	return p;
}

void rt_config_mark_complete(struct enso_ctx *ctx, uint32_t domid)
{
	char *path = complete_path(ctx, domid);
	int fd = path ? open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644) : -1;

	if (fd >= 0)
		close(fd);
	free(path);
}

bool rt_config_complete(struct enso_ctx *ctx, uint32_t domid)
{
	char *path = complete_path(ctx, domid);
	bool there = path && access(path, F_OK) == 0;

	free(path);
	return there;
}

void rt_config_remove(struct enso_ctx *ctx, uint32_t domid)
{
	char *path = config_path(ctx, domid);

	if (path)
		unlink(path);
	free(path);
	path = complete_path(ctx, domid);
	if (path)
		unlink(path);
	free(path);
}

int rt_config_copy(const struct enso_domain_config *src,
		   struct enso_domain_config *dst, struct enso_error *err)
{
	char *json = NULL;
	int rc = enso_config_to_json(src, false, &json);

	if (rc) {
		enso_config_init(dst);
		return exl_fail(err, rc, "copying the config: %s", strerror(-rc));
	}
	rc = enso_config_from_json(json, dst, err);
	free(json);
	return rc;
}
