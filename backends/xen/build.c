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
#include <xen/features.h>
#include <xen/hvm/params.h>

#include "backends/xen/xen.h"

/* What create boots: a restore needs none of it, its guest comes from
 * the stream. */
static int check_boot(const struct enso_domain_config *c,
		      struct enso_error *err)
{
	if (c->bootloader)
		return exl_fail(err, -ENOSYS,
				"%s: bootloader=%s: not supported by Enso's Xen backend yet; give kernel= and ramdisk=",
				c->name, c->bootloader);
	if (!c->kernel)
		return exl_fail(err, -EINVAL, "%s: no kernel= to boot", c->name);
	if (access(c->kernel, R_OK))
		return exl_fail(err, -errno, "%s: kernel %s: %s", c->name,
				c->kernel, strerror(errno));
	if (c->ramdisk && access(c->ramdisk, R_OK))
		return exl_fail(err, -errno, "%s: ramdisk %s: %s", c->name,
				c->ramdisk, strerror(errno));
	return 0;
}

static int check_config(const struct enso_domain_config *c, bool restoring,
			struct enso_error *err)
{
	if (c->type == ENSO_DOMAIN_HVM)
		return exl_fail(err, -ENOSYS,
				"%s: type=hvm: Enso's Xen backend builds PV and PVH domains; HVM needs a device model, not written yet",
				c->name);
	if (!restoring) {
		int rc = check_boot(c, err);

		if (rc)
			return rc;
	}
	/* PV devices need their backends: not a guest that boots without
	 * the disk or network it was given.  Disks and vifs are attached
	 * (vbd.c, vif.c) once the domain is built; what cannot be served is
	 * said now. */
	for (size_t i = 0; i < c->ndisks; i++) {
		int rc = xen_vbd_check(c->name, &c->disks[i], err);

		if (rc)
			return rc;
	}
	for (size_t i = 0; i < c->nnics; i++) {
		int rc = xen_vif_check(c->name, &c->nics[i], err);

		if (rc)
			return rc;
	}
	if (c->nchannels)
		return exl_fail(err, -ENOSYS,
				"%s: channel=: not supported by Enso's Xen backend yet",
				c->name);
	if (c->pool && strcmp(c->pool, "Pool-0"))
		return exl_fail(err, -ENOSYS,
				"%s: pool=%s: CPU pools other than Pool-0 are not supported yet",
				c->name, c->pool);
	if (!c->maxvcpus || c->vcpus > c->maxvcpus)
		return exl_fail(err, -EINVAL, "%s: vcpus=%u, maxvcpus=%u", c->name,
				c->vcpus, c->maxvcpus);
	if (c->memory_kb < 1024 || c->maxmem_kb < c->memory_kb)
		return exl_fail(err, -EINVAL, "%s: memory %llu KiB, maxmem %llu KiB",
				c->name, (unsigned long long)c->memory_kb,
				(unsigned long long)c->maxmem_kb);
	return 0;
}

/* What Xen offers: the highest grant table version (upstream's default)
 * and whether it pages guests with the CPU's nested paging (HAP); after
 * checking that it can run the domain's type at all. */
static int host_caps(struct xen_backend *xb, const struct enso_domain_config *c,
		     unsigned *gnttab_version, bool *hap,
		     struct enso_error *err)
{
	xc_physinfo_t pi;

	memset(&pi, 0, sizeof(pi));
	xen_log_clear(xb);
	if (xc_physinfo(xb->xch, &pi))
		return xen_fail(xb, err, errno, "reading Xen's physinfo");
	if (c->type == ENSO_DOMAIN_PVH &&
	    !(pi.capabilities & XEN_SYSCTL_PHYSCAP_hvm))
		return exl_fail(err, -ENODEV,
				"%s: type=pvh needs hardware virtualization (VT-x or AMD-V), which this host's Xen does not offer (xl info: virt_caps)",
				c->name);
	*hap = pi.capabilities & XEN_SYSCTL_PHYSCAP_hap;
	if (pi.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v2)
		*gnttab_version = 2;
	else if (pi.capabilities & XEN_SYSCTL_PHYSCAP_gnttab_v1)
		*gnttab_version = 1;
	else
		return exl_fail(err, -ENODEV, "this Xen offers no grant table version");
	return 0;
}

/* cpus= and cpus_soft=, their node terms made the CPUs Xen puts in
 * them (by libxl, which asked xen_node_cpus). */
static int set_affinity(struct xen_backend *xb, uint32_t domid,
			const struct backend_create *in,
			struct enso_error *err)
{
	const struct enso_domain_config *c = in->cfg;
	const struct enso_affinity *ha = &in->hard, *sa = &in->soft;
	int size = xc_get_cpumap_size(xb->xch);
	uint8_t *hard = NULL, *soft = NULL;
	uint32_t v;
	int rc = 0;

	if (!ha->nmaps && !sa->nmaps)
		return 0;
	if (size <= 0)
		return xen_fail(xb, err, errno ? errno : EIO,
				"%s: reading the host's CPU map size", c->name);
	hard = calloc(1, (size_t)size);
	soft = calloc(1, (size_t)size);
	for (v = 0; hard && soft && v < c->maxvcpus && !rc; v++) {
		const struct enso_cpumap *h = enso_affinity_map(ha, v);
		const struct enso_cpumap *s = enso_affinity_map(sa, v);
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

/* A PVH guest's physical memory before it is populated: RAM from 0 up
 * to the MMIO hole below 4 GiB (which holds the ACPI tables, Xen's
 * special pages and the local APIC), the rest above 4 GiB; populated up
 * to maxmem, of which all but `memory` is left to populate-on-demand
 * until the guest's balloon driver hands it back (as upstream). */
static void pvh_layout(struct xc_dom_image *dom,
		       const struct enso_domain_config *c)
{
	uint64_t mem = c->maxmem_kb << 10;
	uint64_t hole = XEN_ACPI_TABLES_GPA;	/* the lowest of the three */

	dom->target_pages = c->memory_kb >> 2;
	dom->mmio_start = hole;
	dom->mmio_size = (1ull << 32) - hole;
	dom->lowmem_end = mem < hole ? mem : hole;
	dom->highmem_end = mem > hole ? (1ull << 32) + (mem - hole) : 0;
	dom->device_model = false;
	dom->vga_hole_size = 0;
}

/* The PVH guest's firmware description, once the kernel is parsed (the
 * RSDP's place depends on it) and the memory allocated: the ACPI tables
 * as libxenguest's ACPI modules (module 0, the RSDP, is what the start
 * info points at), and the memory map, given to Xen for the guest's
 * XENMEM_memory_map and to the builder for the start info. */
static int pvh_describe(struct xen_backend *xb, uint32_t domid,
			struct xc_dom_image *dom,
			const struct enso_domain_config *c,
			struct xen_acpi *acpi, struct e820entry *map,
			struct enso_error *err)
{
	const uint64_t special = (uint64_t)(X86_HVM_END_SPECIAL_REGION -
					    X86_HVM_NR_SPECIAL_PAGES) << 12;
	/* A Linux without this feature looks for the RSDP only where a
	 * BIOS would leave it. */
	bool low = !strcmp(xc_dom_guest_os(dom), "linux") &&
		   !xc_dom_feature_get(dom, XENFEAT_linux_rsdp_unrestricted);
	unsigned n = 0;
	int rc;

	rc = xen_acpi_build(acpi, c->maxvcpus, low);
	if (rc)
		return exl_fail(err, rc, "%s: building the ACPI tables for %u vCPUs: %s",
				c->name, c->maxvcpus, strerror(-rc));
	dom->acpi_modules[0].data = acpi->rsdp;
	dom->acpi_modules[0].length = (uint32_t)acpi->rsdp_len;
	dom->acpi_modules[0].guest_addr_out = acpi->rsdp_gpa;
	dom->acpi_modules[1].data = acpi->tables;
	dom->acpi_modules[1].length = (uint32_t)acpi->tables_len;
	dom->acpi_modules[1].guest_addr_out = XEN_ACPI_TABLES_GPA;

	map[n++] = (struct e820entry){ 0, dom->lowmem_end, E820_RAM };
	/* NVS, not reclaimable: a kexec'd kernel needs them again. */
	map[n++] = (struct e820entry){ XEN_ACPI_TABLES_GPA, acpi->tables_len,
				       E820_NVS };
	map[n++] = (struct e820entry){ acpi->rsdp_gpa & ~(uint64_t)0xfff,
				       0x1000, E820_NVS };
	map[n++] = (struct e820entry){ special, X86_HVM_NR_SPECIAL_PAGES << 12,
				       E820_RESERVED };
	if (dom->highmem_end)
		map[n++] = (struct e820entry){ 1ull << 32,
					       dom->highmem_end - (1ull << 32),
					       E820_RAM };
	xen_log_clear(xb);
	if (xc_domain_set_memory_map(xb->xch, domid, map, n))
		return xen_fail(xb, err, errno, "%s: setting the memory map",
				c->name);
	dom->e820 = map;
	dom->e820_entries = n;
	return 0;
}

/* libxenguest's builder: kernel and ramdisk in; for PV, page tables,
 * start info and the p2m built; for PVH, the memory map, ACPI tables and
 * HVM start info; grant entries seeded; the store and console frames out
 * (machine frames for PV, whose frames are Xen's; guest frames for
 * PVH). */
static int build_image(struct enso_ctx *ctx, struct xen_backend *xb,
		       uint32_t domid, const struct backend_create *in,
		       struct xen_built *b, struct enso_error *err)
{
	const struct enso_domain_config *c = in->cfg;
	const bool pvh = c->type == ENSO_DOMAIN_PVH;
	struct xc_dom_image *dom;
	struct xen_acpi acpi = { 0 };
	struct e820entry map[5];
	const char *step, *file = NULL;
	/* The ELF libxl unpacked into the kernel cache, else the kernel
	 * file, which the builder unpacks itself. */
	const char *cached = in->kernel_cached ? in->kernel : NULL;
	bool touched = false;	/* the domain's memory, by the builder */
	int rc = 0;

again:
	xen_log_clear(xb);
	dom = xc_dom_allocate(xb->xch, c->cmdline ? c->cmdline : "", NULL);
	if (!dom)
		return xen_fail(xb, err, errno ? errno : ENOMEM,
				"%s: starting the domain builder", c->name);
	dom->container_type = pvh ? XC_DOM_HVM_CONTAINER : XC_DOM_PV_CONTAINER;
	if (pvh)
		pvh_layout(dom, c);
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
	if (xc_dom_mem_init(dom, (unsigned int)((pvh ? c->maxmem_kb :
						 c->memory_kb) / 1024)))
		goto fail;
	step = "allocating the domain's memory";
	if (xc_dom_boot_mem_init(dom))
		goto fail;
	if (pvh) {
		rc = pvh_describe(xb, domid, dom, c, &acpi, map, err);
		if (rc)
			goto out;
	}
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
		rc = exl_fail(err, -EIO,
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
		cached = NULL;
		goto again;
	}
	/* The builder's errno is seldom set, its log says what failed. */
	rc = xen_fail(xb, err, xb->log.last[0] ? 0 : errno, "%s: %s%s%s",
		      c->name, step, file ? " " : "", file ? file : "");
out:
	xc_dom_release(dom);
	xen_acpi_free(&acpi);
	return rc;
}

struct built_nodes {
	uint32_t domid;
	const struct xen_built *b;
};

static bool put_built_nodes(struct enso_ctx *ctx, xs_transaction_t t,
			    void *arg)
{
	const struct built_nodes *n = arg;
	const struct xen_built *b = n->b;
	char home[32], store[48], console[48];

	snprintf(home, sizeof(home), "/local/domain/%u", n->domid);
	snprintf(store, sizeof(store), "%s/store", home);
	snprintf(console, sizeof(console), "%s/console", home);
	return xen_store_mkdir(ctx, t, store, 0, n->domid) &&
	       xen_store_mkdir(ctx, t, console, 0, n->domid) &&
	       xen_store_put(ctx, t, store, "port", "%u", b->store_port) &&
	       xen_store_put(ctx, t, store, "ring-ref", "%llu",
			     (unsigned long long)b->store_mfn) &&
	       xen_store_put(ctx, t, console, "port", "%u", b->console_port) &&
	       xen_store_put(ctx, t, console, "ring-ref", "%llu",
			     (unsigned long long)b->console_mfn) &&
	       xen_store_put(ctx, t, console, "limit", "%s",
			     XEN_CONSOLE_LIMIT) &&
	       xen_store_put(ctx, t, console, "type", "xenconsoled") &&
	       xen_store_put(ctx, t, console, "output", "pty") &&
	       xen_store_put(ctx, t, console, "tty", "%s", "");
}

/* What only the builder knows, in the domain's home: its store ring and
 * the primary console, which xenconsoled (or any console backend) serves
 * from console/{ring-ref,port} and announces in console/tty.  Written
 * before libxl's records exist, so the permissions are set here: dom0
 * owns both directories, the guest reads them (as upstream). */
static int write_nodes(struct enso_ctx *ctx, uint32_t domid,
		       const struct xen_built *b, struct enso_error *err)
{
	struct built_nodes n = { domid, b };
	char who[32];

	snprintf(who, sizeof(who), "domain %u", domid);
	return xen_store_txn(ctx, put_built_nodes, &n, who,
			     "its store and console nodes", err);
}

/* A PV guest's memory map reaches maxmem, so that it can balloon up
 * to it. */
static int pv_memmap_limit(struct xen_backend *xb, uint32_t domid,
			   const struct enso_domain_config *c,
			   struct enso_error *err)
{
	xen_log_clear(xb);
	if (xc_domain_set_memmap_limit(xb->xch, domid, c->maxmem_kb))
		return xen_fail(xb, err, errno, "%s: setting the memory map limit",
				c->name);
	return 0;
}

/* What an HVM container needs before its memory is populated: Xen's
 * paging pool (upstream's size: 1 MiB per vCPU and, per MiB of guest
 * memory, a page for the p2m, one more when shadow-paged), and the
 * timer mode upstream gives PVH guests. */
static int pvh_params(struct xen_backend *xb, uint32_t domid,
		      const struct enso_domain_config *c, bool hap,
		      struct enso_error *err)
{
	uint64_t pool_kb = 4 * (256 * (uint64_t)c->maxvcpus +
				(hap ? 1 : 2) * (c->maxmem_kb / 1024));

	xen_log_clear(xb);
	if (xc_set_paging_mempool_size(xb->xch, domid, pool_kb * 1024))
		return xen_fail(xb, err, errno,
				"%s: sizing Xen's paging pool (%llu KiB)",
				c->name, (unsigned long long)pool_kb);
	if (xc_hvm_param_set(xb->xch, domid, HVM_PARAM_TIMER_MODE,
			     HVMPTM_no_delay_for_missed_ticks))
		return xen_fail(xb, err, errno, "%s: setting the timer mode",
				c->name);
	return 0;
}

int xen_build(struct enso_ctx *ctx, const struct backend_create *in,
	      xen_image_fn *image, void *arg, uint32_t *domid,
	      struct enso_error *err)
{
	const struct enso_domain_config *c = in->cfg;
	const bool pvh = c->type == ENSO_DOMAIN_PVH;
	struct xen_domctl_createdomain cd;
	struct xen_backend *xb;
	struct xen_built b = { 0 };
	uint32_t id = DOMID_INVALID;
	unsigned gv = 0;
	bool hap = false;
	int port, rc;

	rc = check_config(c, image != NULL, err);
	if (rc)
		return rc;
	xb = xen_backend(ctx, err);
	if (!xb)
		return -ENODEV;
	rc = host_caps(xb, c, &gv, &hap, err);
	if (rc)
		return rc;

	memset(&cd, 0, sizeof(cd));
	memcpy(cd.handle, c->uuid, sizeof(cd.handle));
	/* PVH: an HVM container with nothing emulated but the local
	 * APICs; paged by HAP where the CPU has it, else by shadow. */
	cd.flags = pvh ? XEN_DOMCTL_CDF_hvm | (hap ? XEN_DOMCTL_CDF_hap : 0) : 0;
	cd.max_vcpus = c->maxvcpus;
	cd.max_evtchn_port = c->max_event_channels;
	/* < 0: Xen's own limits (gnttab_max_frames=, gnttab_max_maptrack_
	 * frames= on its command line; 64 and 1024 by default). */
	cd.max_grant_frames = c->max_grant_frames == ENSO_U32_DEFAULT ?
				      -1 : (int32_t)c->max_grant_frames;
	cd.max_maptrack_frames = c->max_maptrack_frames == ENSO_U32_DEFAULT ?
					 -1 : (int32_t)c->max_maptrack_frames;
	cd.grant_opts = XEN_DOMCTL_GRANT_version(gv);
	cd.cpupool_id = 0;
	cd.arch.emulation_flags = pvh ? XEN_X86_EMU_LAPIC : 0;
	xen_log_clear(xb);
	if (xc_domain_create(xb->xch, &id, &cd))
		return xen_fail(xb, err, errno, "%s: creating the domain",
				c->name);

	/* From here on, a failure destroys the domain.  PAE on (PV and
	 * PVH guests need it); the invariant TSC shown only to a domain that
	 * never migrates (nomigrate), as upstream.  A restored guest keeps
	 * the policy it ran with: its stream carries it. */
	xen_log_clear(xb);
	if (!image && xc_cpuid_apply_policy(xb->xch, id, false, NULL, 0, true,
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
	rc = set_affinity(xb, id, in, err);
	/* cpu_weight=, cap=: on the credit schedulers only (else refused). */
	if (!rc && (c->cpu_weight >= 0 || c->cap >= 0))
		rc = xen_sched_set_domid(xb, id, c->cpu_weight, c->cap, err);
	if (rc)
		goto fail;
	xen_log_clear(xb);
	if (xc_domain_setmaxmem(xb->xch, id, c->maxmem_kb + XEN_MAXMEM_SLACK_KB)) {
		rc = xen_fail(xb, err, errno, "%s: setting the memory limit (%llu KiB)",
			      c->name, (unsigned long long)c->maxmem_kb);
		goto fail;
	}
	rc = pvh ? pvh_params(xb, id, c, hap, err) : pv_memmap_limit(xb, id, c, err);
	if (rc)
		goto fail;
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
	rc = image ? image(ctx, xb, id, in, &b, arg, err) :
		     build_image(ctx, xb, id, in, &b, err);
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

	if (domid == 0 || xs_is_domain_introduced(rt_xsh(ctx), domid))
		return 0;
	ref = rt_xs_read(ctx, "/local/domain/%u/store/ring-ref", domid);
	port = rt_xs_read(ctx, "/local/domain/%u/store/port", domid);
	mfn = ref ? strtoull(ref, &end1, 10) : 0;
	p = port ? strtoul(port, &end2, 10) : 0;
	if (!ref || !port || !*ref || !*port || *end1 || *end2 || p >= 1u << 17)
		rc = exl_fail(err, -ENOENT,
			      "domain %u: no valid store/ring-ref and store/port to introduce it to xenstored with",
			      domid);
	else if (!xs_introduce_domain(rt_xsh(ctx), domid, (unsigned long)mfn,
				      (unsigned int)p))
		rc = exl_fail(err, errno ? -errno : -EIO,
			      "xenstored refused to introduce domain %u: %s",
			      domid, strerror(errno ? errno : EIO));
	free(ref);
	free(port);
	return rc;
}
