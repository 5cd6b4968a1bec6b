/*
 * Building a PV domain, in the order Xen needs it (the facts of upstream's
 * libxl 4.17: libxl_create.c, libxl_dom.c; written here from the headers):
 *
 *   create:  xc_domain_create -> CPUID policy -> vCPUs, affinity -> memory
 *            limits -> event channels for xenstore and the console ->
 *            libxenguest's builder (kernel, ramdisk, page tables, start
 *            info, grant entries 0 = console and 1 = xenstore for dom0) ->
 *            store/ and console/ nodes.  The domain stays paused.
 *   (libxl writes the records: /local/domain/<id>/name..., /vm, /libxl)
 *   records_ready: INTRODUCEs the domain to xenstored (xen_introduce),
 *            still paused, so that `xl create -p` has its console served
 *            at once, as upstream's does; unpause introduces it too when
 *            that has not happened (it is idempotent).
 *
 * So that neither the guest nor a console backend (which looks for new
 * domains on @introduceDomain and names its log after ~/name) sees the
 * domain before its home in xenstore is complete.  The store ring's frame
 * and port live in ~/store/{ring-ref,port}.
 * A failure anywhere in create destroys what was built.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenctrl.h>
#include <xenguest.h>
#include <xenstore.h>

#include "backends/xen/xen.h"

static int check_config(const struct enso_domain_config *c,
			struct enso_error *err)
{
	if (c->type != ENSO_DOMAIN_PV)
		return rt_fail(err, -ENOSYS,
			       "%s: type=%s: Enso's Xen backend builds PV domains only so far",
			       c->name, enso_domain_type_name(c->type));
	if (c->bootloader)
		return rt_fail(err, -ENOSYS,
			       "%s: bootloader=%s: not supported by Enso's Xen backend yet; give kernel= and ramdisk=",
			       c->name, c->bootloader);
	if (!c->kernel)
		return rt_fail(err, -EINVAL, "%s: no kernel= to boot", c->name);
	if (access(c->kernel, R_OK))
		return rt_fail(err, -errno, "%s: kernel %s: %s", c->name,
			       c->kernel, strerror(errno));
	if (c->ramdisk && access(c->ramdisk, R_OK))
		return rt_fail(err, -errno, "%s: ramdisk %s: %s", c->name,
			       c->ramdisk, strerror(errno));
	/* PV devices need their backends (blkback, netback): not a guest
	 * that boots without the disk it was given. */
	if (c->ndisks)
		return rt_fail(err, -ENOSYS,
			       "%s: disk=: PV disks on Xen need Enso's blkback, not written yet",
			       c->name);
	if (c->nnics)
		return rt_fail(err, -ENOSYS,
			       "%s: vif=: PV network on Xen needs Enso's netback, not written yet",
			       c->name);
	if (c->nchannels)
		return rt_fail(err, -ENOSYS,
			       "%s: channel=: not supported by Enso's Xen backend yet",
			       c->name);
	if (c->pool && strcmp(c->pool, "Pool-0"))
		return rt_fail(err, -ENOSYS,
			       "%s: pool=%s: CPU pools other than Pool-0 are not supported yet",
			       c->name, c->pool);
	if (!c->maxvcpus || c->vcpus > c->maxvcpus)
		return rt_fail(err, -EINVAL, "%s: vcpus=%u, maxvcpus=%u", c->name,
			       c->vcpus, c->maxvcpus);
	if (c->memory_kb < 1024 || c->maxmem_kb < c->memory_kb)
		return rt_fail(err, -EINVAL, "%s: memory %llu KiB, maxmem %llu KiB",
			       c->name, (unsigned long long)c->memory_kb,
			       (unsigned long long)c->maxmem_kb);
	if ((c->cpus.nmaps && c->cpus.maps[0].has_nodes) ||
	    (c->cpus_soft.nmaps && c->cpus_soft.maps[0].has_nodes))
		return rt_fail(err, -ENOSYS,
			       "%s: cpus=\"nodes:...\": NUMA node terms are not supported by Enso's Xen backend yet",
			       c->name);
	return 0;
}

/* The highest grant table version this Xen offers (upstream's default). */
static int grant_version(struct xen_backend *xb, struct enso_error *err)
{
	xc_physinfo_t pi;

	memset(&pi, 0, sizeof(pi));
	xen_log_clear(xb);
	if (xc_physinfo(xb->xch, &pi))
		return xen_fail(xb, err, errno, "reading Xen's physinfo");
	if (pi.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v2)
		return 2;
	if (pi.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v1)
		return 1;
	return rt_fail(err, -ENODEV, "this Xen offers no grant table version");
}

static int set_affinity(struct xen_backend *xb, uint32_t domid,
			const struct enso_domain_config *c,
			struct enso_error *err)
{
	int size = xc_get_cpumap_size(xb->xch);
	uint8_t *hard, *soft;
	uint32_t v;
	int rc = 0;

	if (!c->cpus.nmaps && !c->cpus_soft.nmaps)
		return 0;
	if (size <= 0)
		return xen_fail(xb, err, errno ? errno : EIO,
				"%s: reading the host's CPU map size", c->name);
	hard = calloc(1, (size_t)size);
	soft = calloc(1, (size_t)size);
	for (v = 0; hard && soft && v < c->maxvcpus && !rc; v++) {
		const struct enso_cpumap *h = enso_affinity_map(&c->cpus, v);
		const struct enso_cpumap *s = enso_affinity_map(&c->cpus_soft, v);
		uint32_t flags = (h ? XEN_VCPUAFFINITY_HARD : 0) |
				 (s ? XEN_VCPUAFFINITY_SOFT : 0);
		int i;

		if (!flags)
			continue;
		for (i = 0; i < size; i++) {
			hard[i] = h && i < ENSO_MAX_CPUS / 8 ? h->bits[i] : 0;
			soft[i] = s && i < ENSO_MAX_CPUS / 8 ? s->bits[i] : 0;
		}
		xen_log_clear(xb);
		if (xc_vcpu_setaffinity(xb->xch, domid, (int)v, hard, soft, flags))
			rc = xen_fail(xb, err, errno,
				      "%s: setting vCPU %u's affinity (cpus=%s)",
				      c->name, v,
				      h && h->spec ? h->spec : s && s->spec ? s->spec : "");
	}
	if (!hard || !soft)
		rc = -ENOMEM;
	free(hard);
	free(soft);
	return rc;
}

/* libxenguest's PV builder: kernel and ramdisk in, page tables, start
 * info and the p2m built, grant entries seeded; the store and console
 * frames out (as machine frames: a PV guest's frames are Xen's). */
static int build_image(struct enso_ctx *ctx, struct xen_backend *xb,
		       uint32_t domid,
		       const struct enso_domain_config *c,
		       struct xen_built *b, struct enso_error *err)
{
	struct xc_dom_image *dom;
	const char *step, *file = NULL;
	char *cached = rt_kcache_lookup(ctx, c->kernel);
	bool touched = false;	/* the domain's memory, by the builder */
	int rc = 0;

again:
	xen_log_clear(xb);
	dom = xc_dom_allocate(xb->xch, c->cmdline ? c->cmdline : "", NULL);
	if (!dom) {
		free(cached);
		return xen_fail(xb, err, errno ? errno : ENOMEM,
				"%s: starting the domain builder", c->name);
	}
	dom->container_type = XC_DOM_PV_CONTAINER;
	step = "loading the kernel";
	file = c->kernel;
	if (xc_dom_kernel_file(dom, cached ? cached : c->kernel))
		goto fail;
	step = "loading the ramdisk";
	file = c->ramdisk;
	if (c->ramdisk && xc_dom_module_file(dom, c->ramdisk, NULL))
		goto fail;
	file = NULL;
	dom->flags = 0;
	dom->console_evtchn = b->console_port;
	dom->console_domid = 0;
	dom->xenstore_evtchn = b->store_port;
	dom->xenstore_domid = 0;
	dom->claim_enabled = 0;
	dom->max_vcpus = c->maxvcpus;
	step = "initialising the builder for the domain";
	if (xc_dom_boot_xen_init(dom, xb->xch, domid))
		goto fail;
	step = "parsing the kernel image";
	file = c->kernel;
	if (xc_dom_parse_image(dom))
		goto fail;
	if (!cached)
		rt_kcache_store(ctx, c->kernel, dom->kernel_blob,
				 dom->kernel_size);
	file = NULL;
	touched = true;
	step = "laying out memory";
	if (xc_dom_mem_init(dom, (unsigned int)(c->memory_kb / 1024)))
		goto fail;
	step = "allocating the domain's memory";
	if (xc_dom_boot_mem_init(dom))
		goto fail;
	step = "building the image";
	if (xc_dom_build_image(dom))
		goto fail;
	step = "setting up the boot vCPU";
	if (xc_dom_boot_image(dom))
		goto fail;
	step = "seeding the grant table";
	if (xc_dom_gnttab_init(dom))
		goto fail;
	b->console_mfn = xc_dom_p2m(dom, dom->console_pfn);
	b->store_mfn = xc_dom_p2m(dom, dom->xenstore_pfn);
	if (b->console_mfn == INVALID_MFN || b->store_mfn == INVALID_MFN) {
		rc = rt_fail(err, -EIO,
			     "%s: the builder left no console or xenstore page",
			     c->name);
		goto out;
	}
	goto out;
fail:
	if (cached && !touched) {
		/* A bad cache entry: drop it and build from the kernel
		 * itself. */
		xc_dom_release(dom);
		rt_kcache_forget(cached);
		free(cached);
		cached = NULL;
		goto again;
	}
	/* The builder's errno is seldom set, its log says what failed. */
	rc = xen_fail(xb, err, xb->log.last[0] ? 0 : errno, "%s: %s%s%s",
		      c->name, step, file ? " " : "", file ? file : "");
out:
	xc_dom_release(dom);
	free(cached);
	return rc;
}

static bool write_node(struct enso_ctx *ctx, xs_transaction_t t,
		       uint32_t domid, const char *rel, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static bool write_node(struct enso_ctx *ctx, xs_transaction_t t,
		       uint32_t domid, const char *rel, const char *fmt, ...)
{
	char path[128], val[64];
	va_list ap;

	snprintf(path, sizeof(path), "/local/domain/%u/%s", domid, rel);
	va_start(ap, fmt);
	vsnprintf(val, sizeof(val), fmt, ap);
	va_end(ap);
	return rt_xs_write(ctx, t, path, val);
}

/* What only the builder knows, in the domain's home: its store ring and
 * the primary console, which xenconsoled (or any console backend) serves
 * from console/{ring-ref,port} and announces in console/tty.  Written
 * before libxl's records exist, so the permissions are set here: dom0
 * owns both directories, the guest reads them (as upstream). */
static int write_nodes(struct enso_ctx *ctx, uint32_t domid,
		       const struct xen_built *b, struct enso_error *err)
{
	struct xs_permissions perms[2] = {
		{ .id = 0, .perms = XS_PERM_NONE },
		{ .id = domid, .perms = XS_PERM_READ },
	};
	int tries;

	for (tries = 0; tries < 50; tries++) {
		xs_transaction_t t = xs_transaction_start(ctx->xsh);
		char dir[64];
		bool ok;

		if (!t)
			return rt_fail(err, -errno, "xenstore transaction: %s",
				       strerror(errno));
		ok = write_node(ctx, t, domid, "store", "%s", "");
		snprintf(dir, sizeof(dir), "/local/domain/%u/store", domid);
		ok = ok && xs_set_permissions(ctx->xsh, t, dir, perms, 2);
		ok = ok && write_node(ctx, t, domid, "console", "%s", "");
		snprintf(dir, sizeof(dir), "/local/domain/%u/console", domid);
		ok = ok && xs_set_permissions(ctx->xsh, t, dir, perms, 2);
		ok = ok &&
		     write_node(ctx, t, domid, "store/port", "%u", b->store_port) &&
		     write_node(ctx, t, domid, "store/ring-ref", "%llu",
				(unsigned long long)b->store_mfn) &&
		     write_node(ctx, t, domid, "console/port", "%u",
				b->console_port) &&
		     write_node(ctx, t, domid, "console/ring-ref", "%llu",
				(unsigned long long)b->console_mfn) &&
		     write_node(ctx, t, domid, "console/limit", "%s",
				XEN_CONSOLE_LIMIT) &&
		     write_node(ctx, t, domid, "console/type", "xenconsoled") &&
		     write_node(ctx, t, domid, "console/output", "pty") &&
		     write_node(ctx, t, domid, "console/tty", "%s", "");
		if (!ok) {
			int e = errno;

			xs_transaction_end(ctx->xsh, t, true);
			return rt_fail(err, -e,
				       "domain %u: writing its store and console nodes: %s",
				       domid, strerror(e));
		}
		if (xs_transaction_end(ctx->xsh, t, false))
			return 0;
		if (errno != EAGAIN)
			return rt_fail(err, -errno,
				       "domain %u: committing its store and console nodes: %s",
				       domid, strerror(errno));
	}
	return rt_fail(err, -EAGAIN,
		       "domain %u: xenstore stayed busy writing its nodes", domid);
}

int xen_build_pv(struct enso_ctx *ctx, const struct enso_domain_config *c,
		 uint32_t *domid, struct enso_error *err)
{
	struct xen_domctl_createdomain cd;
	struct xen_backend *xb;
	struct xen_built b = { 0 };
	uint32_t id = DOMID_INVALID;
	int port, gv, rc;

	rc = check_config(c, err);
	if (rc)
		return rc;
	xb = xen_backend(ctx, err);
	if (!xb)
		return -ENODEV;
	gv = grant_version(xb, err);
	if (gv < 0)
		return gv;

	memset(&cd, 0, sizeof(cd));
	memcpy(cd.handle, c->uuid, sizeof(cd.handle));
	cd.flags = 0;				/* PV */
	cd.max_vcpus = c->maxvcpus;
	cd.max_evtchn_port = c->max_event_channels;
	/* < 0: Xen's own limits (gnttab_max_frames=, gnttab_max_maptrack_
	 * frames= on its command line; 64 and 1024 by default). */
	cd.max_grant_frames = c->max_grant_frames == ENSO_U32_DEFAULT ?
				      -1 : (int32_t)c->max_grant_frames;
	cd.max_maptrack_frames = c->max_maptrack_frames == ENSO_U32_DEFAULT ?
					 -1 : (int32_t)c->max_maptrack_frames;
	cd.grant_opts = XEN_DOMCTL_GRANT_version((unsigned)gv);
	cd.cpupool_id = 0;
	cd.arch.emulation_flags = 0;		/* PV: nothing emulated */
	xen_log_clear(xb);
	if (xc_domain_create(xb->xch, &id, &cd))
		return xen_fail(xb, err, errno, "%s: creating the domain",
				c->name);

	/* From here on, a failure destroys the domain.  PAE on (a PV
	 * guest needs it); the invariant TSC shown only to a domain that
	 * never migrates (nomigrate), as upstream. */
	xen_log_clear(xb);
	if (xc_cpuid_apply_policy(xb->xch, id, false, NULL, 0, true,
				  c->nomigrate, false, NULL, NULL)) {
		rc = xen_fail(xb, err, errno, "%s: applying the CPUID policy",
			      c->name);
		goto fail;
	}
	if (xc_domain_max_vcpus(xb->xch, id, c->maxvcpus)) {
		rc = xen_fail(xb, err, errno, "%s: setting %u vCPUs", c->name,
			      c->maxvcpus);
		goto fail;
	}
	rc = set_affinity(xb, id, c, err);
	if (rc)
		goto fail;
	xen_log_clear(xb);
	if (xc_domain_setmaxmem(xb->xch, id, c->maxmem_kb + XEN_MAXMEM_SLACK_KB)) {
		rc = xen_fail(xb, err, errno, "%s: setting the memory limit (%llu KiB)",
			      c->name, (unsigned long long)c->maxmem_kb);
		goto fail;
	}
	/* The guest's memory map reaches maxmem, so that it can balloon
	 * up to it. */
	if (xc_domain_set_memmap_limit(xb->xch, id, c->maxmem_kb)) {
		rc = xen_fail(xb, err, errno, "%s: setting the memory map limit",
			      c->name);
		goto fail;
	}
	port = xc_evtchn_alloc_unbound(xb->xch, id, 0);
	if (port < 0) {
		rc = xen_fail(xb, err, errno, "%s: the xenstore event channel",
			      c->name);
		goto fail;
	}
	b.store_port = (uint32_t)port;
	port = xc_evtchn_alloc_unbound(xb->xch, id, 0);
	if (port < 0) {
		rc = xen_fail(xb, err, errno, "%s: the console event channel",
			      c->name);
		goto fail;
	}
	b.console_port = (uint32_t)port;
	rc = build_image(ctx, xb, id, c, &b, err);
	if (rc)
		goto fail;
	rc = write_nodes(ctx, id, &b, err);
	if (rc)
		goto fail;
	*domid = id;
	return 0;
fail:
	xen_destroy_domid(ctx, xb, id, NULL);
	return rc;
}

/* The first unpause of a domain this backend built hands it to xenstored
 * (INTRODUCE, with the ring frame and port create() left in ~/store). */
int xen_introduce(struct enso_ctx *ctx, uint32_t domid, struct enso_error *err)
{
	char *ref, *port, *end1, *end2;
	unsigned long long mfn;
	unsigned long p;
	int rc = 0;

	if (domid == 0 || xs_is_domain_introduced(ctx->xsh, domid))
		return 0;
	ref = rt_xs_read(ctx, "/local/domain/%u/store/ring-ref", domid);
	port = rt_xs_read(ctx, "/local/domain/%u/store/port", domid);
	mfn = ref ? strtoull(ref, &end1, 10) : 0;
	p = port ? strtoul(port, &end2, 10) : 0;
	if (!ref || !port || !*ref || !*port || *end1 || *end2 || p >= 1u << 17)
		rc = rt_fail(err, -ENOENT,
			     "domain %u: no valid store/ring-ref and store/port to introduce it to xenstored with",
			     domid);
	else if (!xs_introduce_domain(ctx->xsh, domid, (unsigned long)mfn,
				      (unsigned int)p))
		rc = rt_fail(err, errno ? -errno : -EIO,
			     "xenstored refused to introduce domain %u: %s",
			     domid, strerror(errno ? errno : EIO));
	free(ref);
	free(port);
	return rc;
}
