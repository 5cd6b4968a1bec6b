/*
 * What the host and its domains are: xl list, xl info, xl uptime, the
 * console's tty and the stored config, from the records libxl keeps and
 * what the backend says of each domain.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "enso-util.h"
#include "libxl/runtime.h"

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
		rt_uuid_parse(uuid, out->uuid);
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
	rt_intents_list(ctx, list, &count, cap);
	qsort(list, count, sizeof(*list), cmp_domid);
	*out = list;
	*n = count;
	return 0;
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
