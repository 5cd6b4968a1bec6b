/*
 * xl info on Xen: the hypervisor's lines, with upstream's keys, order
 * and formats (xl 4.17: physinfo, then the version info), read from the
 * same hypercalls: physinfo, the scheduler id, the free CPU pool map,
 * the sharing counters and XENVER_*.  What a call cannot tell is printed
 * empty or 0, as upstream's does.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/xen/xen.h"

static int add(struct enso_host_info *out, const char *key,
	       const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add(struct enso_host_info *out, const char *key,
	       const char *fmt, ...)
{
	struct enso_host_field *f;
	va_list ap;
	int n;

	f = realloc(out->fields, (out->nfields + 1) * sizeof(*f));
	if (!f)
		return -ENOMEM;
	out->fields = f;
	f += out->nfields;
	f->key = strdup(key);
	va_start(ap, fmt);
	n = vasprintf(&f->value, fmt, ap);
	va_end(ap);
	if (n < 0)
		f->value = NULL;
	out->nfields++;
	return f->key && f->value ? 0 : -ENOMEM;
}

/* CPUs no pool holds. */
static int free_cpus(xc_interface *xch)
{
	xc_cpumap_t map = xc_cpupool_freeinfo(xch);
	int size = xc_get_cpumap_size(xch), i, n = 0;

	for (i = 0; map && i < size; i++)
		n += __builtin_popcount(map[i]);
	free(map);
	return n;
}

/* Xen's build id in hex; empty when it has none. */
static char *build_id(xc_interface *xch)
{
	union {
		xen_build_id_t id;
		unsigned char bytes[sizeof(xen_build_id_t) + 64];
	} u;
	char *hex;
	int n, i;

	u.id.len = sizeof(u) - sizeof(u.id);
	n = xc_version(xch, XENVER_build_id, &u.id);
	if (n <= 0 || n > (int)(sizeof(u) - sizeof(u.id)))
		return strdup("");
	hex = malloc((size_t)n * 2 + 1);
	for (i = 0; hex && i < n; i++)
		sprintf(hex + 2 * i, "%02hhx", u.id.buf[i]);
	return hex;
}

int xen_host_fields(struct xen_backend *xb, const xc_physinfo_t *pi, int ver,
		    const char *extra, struct enso_host_info *out)
{
	xc_interface *xch = xb->xch;
	const uint32_t c = pi->capabilities;
	xen_compile_info_t cc;
	xen_capabilities_info_t caps;
	xen_changeset_info_t changeset;
	xen_platform_parameters_t pp;
	xen_commandline_t cmdline;
	long sharing_freed, sharing_used;
	int pagesize, sched = 0, rc = 0;
	uint64_t mb;
	char *bid, virt[160];

	/* Every buffer starts empty: a call that fails leaves "". */
	memset(&cc, 0, sizeof(cc));
	memset(caps, 0, sizeof(caps));
	memset(changeset, 0, sizeof(changeset));
	memset(&pp, 0, sizeof(pp));
	memset(cmdline, 0, sizeof(cmdline));
	xc_version(xch, XENVER_compile_info, &cc);
	xc_version(xch, XENVER_capabilities, &caps);
	xc_version(xch, XENVER_changeset, &changeset);
	xc_version(xch, XENVER_platform_parameters, &pp);
	xc_version(xch, XENVER_commandline, &cmdline);
	pagesize = xc_version(xch, XENVER_pagesize, NULL);
	cc.compiler[sizeof(cc.compiler) - 1] =
		cc.compile_by[sizeof(cc.compile_by) - 1] =
		cc.compile_domain[sizeof(cc.compile_domain) - 1] =
		cc.compile_date[sizeof(cc.compile_date) - 1] =
		caps[sizeof(caps) - 1] = changeset[sizeof(changeset) - 1] =
		cmdline[sizeof(cmdline) - 1] = '\0';
	if (pagesize <= 0)
		pagesize = XC_PAGE_SIZE;
	mb = (1u << 20) / (unsigned)pagesize;
	xc_sched_id(xch, &sched);
	sharing_freed = xc_sharing_freed_pages(xch);
	sharing_used = xc_sharing_used_frames(xch);
	bid = build_id(xch);

	rc = rc ? rc : add(out, "nr_cpus", "%u", pi->nr_cpus);
	rc = rc ? rc : add(out, "max_cpu_id", "%u", pi->max_cpu_id);
	rc = rc ? rc : add(out, "nr_nodes", "%u", pi->nr_nodes);
	rc = rc ? rc : add(out, "cores_per_socket", "%u", pi->cores_per_socket);
	rc = rc ? rc : add(out, "threads_per_core", "%u", pi->threads_per_core);
	rc = rc ? rc : add(out, "cpu_mhz", "%u.%03u", pi->cpu_khz / 1000,
			   pi->cpu_khz % 1000);
	rc = rc ? rc : add(out, "hw_caps",
			   "%08x:%08x:%08x:%08x:%08x:%08x:%08x:%08x",
			   pi->hw_cap[0], pi->hw_cap[1], pi->hw_cap[2],
			   pi->hw_cap[3], pi->hw_cap[4], pi->hw_cap[5],
			   pi->hw_cap[6], pi->hw_cap[7]);
	/* Upstream's words, in its order. */
	snprintf(virt, sizeof(virt), "%s%s%s%s%s%s%s%s%s%s%s",
		 c & XEN_SYSCTL_PHYSCAP_pv ? " pv" : "",
		 c & XEN_SYSCTL_PHYSCAP_hvm ? " hvm" : "",
		 (c & XEN_SYSCTL_PHYSCAP_hvm) && (c & XEN_SYSCTL_PHYSCAP_directio) ? " hvm_directio" : "",
		 (c & XEN_SYSCTL_PHYSCAP_pv) && (c & XEN_SYSCTL_PHYSCAP_directio) ? " pv_directio" : "",
		 c & XEN_SYSCTL_PHYSCAP_hap ? " hap" : "",
		 c & XEN_SYSCTL_PHYSCAP_shadow ? " shadow" : "",
		 c & XEN_SYSCTL_PHYSCAP_iommu_hap_pt_share ? " iommu_hap_pt_share" : "",
		 c & XEN_SYSCTL_PHYSCAP_vmtrace ? " vmtrace" : "",
		 c & XEN_SYSCTL_PHYSCAP_vpmu ? " vpmu" : "",
		 c & XEN_SYSCTL_PHYSCAP_gnttab_v1 ? " gnttab-v1" : "",
		 c & XEN_SYSCTL_PHYSCAP_gnttab_v2 ? " gnttab-v2" : "");
	rc = rc ? rc : add(out, "virt_caps", "%s", virt[0] ? virt + 1 : "");
	rc = rc ? rc : add(out, "total_memory", "%llu",
			   (unsigned long long)(pi->total_pages / mb));
	rc = rc ? rc : add(out, "free_memory", "%llu",
			   (unsigned long long)((pi->free_pages -
						 pi->outstanding_pages) / mb));
	rc = rc ? rc : add(out, "sharing_freed_memory", "%llu",
			   (unsigned long long)(sharing_freed > 0 ?
						(uint64_t)sharing_freed / mb : 0));
	rc = rc ? rc : add(out, "sharing_used_memory", "%llu",
			   (unsigned long long)(sharing_used > 0 ?
						(uint64_t)sharing_used / mb : 0));
	rc = rc ? rc : add(out, "outstanding_claims", "%llu",
			   (unsigned long long)(pi->outstanding_pages / mb));
	rc = rc ? rc : add(out, "free_cpus", "%d", free_cpus(xch));
	rc = rc ? rc : add(out, "xen_major", "%d", ver >> 16);
	rc = rc ? rc : add(out, "xen_minor", "%d", ver & 0xff);
	rc = rc ? rc : add(out, "xen_extra", "%s", extra);
	rc = rc ? rc : add(out, "xen_version", "%d.%d%s", ver >> 16, ver & 0xff,
			   extra);
	rc = rc ? rc : add(out, "xen_caps", "%s", caps);
	rc = rc ? rc : add(out, "xen_scheduler", "%s", xen_sched_name(sched));
	rc = rc ? rc : add(out, "xen_pagesize", "%d", pagesize);
	rc = rc ? rc : add(out, "platform_params", "virt_start=0x%llx",
			   (unsigned long long)pp.virt_start);
	rc = rc ? rc : add(out, "xen_changeset", "%s", changeset);
	rc = rc ? rc : add(out, "xen_commandline", "%s", cmdline);
	rc = rc ? rc : add(out, "cc_compiler", "%s", cc.compiler);
	rc = rc ? rc : add(out, "cc_compile_by", "%s", cc.compile_by);
	rc = rc ? rc : add(out, "cc_compile_domain", "%s", cc.compile_domain);
	rc = rc ? rc : add(out, "cc_compile_date", "%s", cc.compile_date);
	rc = rc ? rc : add(out, "build_id", "%s", bid ? bid : "");
	free(bid);
	return rc;
}
