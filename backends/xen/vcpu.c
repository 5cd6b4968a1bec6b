/*
 * The Xen backend's vCPU and host-console operations: what each vCPU runs
 * on and may run on (XEN_DOMCTL_getvcpuinfo, get/setvcpuaffinity), the
 * hypervisor's console ring (XEN_SYSCTL_readconsole) and its debug keys
 * (XEN_SYSCTL_debug_keys).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/xen/xen.h"

/* Bytes of the ring read per hypercall (Xen's default ring is 16 KiB),
 * and the most one read keeps, should Xen print faster than we read. */
#define CONSOLE_CHUNK 16384u
#define CONSOLE_MAX (16u * 1024 * 1024)

/* The domain's highest vCPU id. */
static int max_vcpu_id(struct xen_backend *xb, uint32_t domid, uint32_t *out,
		       struct enso_error *err)
{
	xc_domaininfo_t di;
	int n;

	xen_log_clear(xb);
	n = xc_domain_getinfolist(xb->xch, domid, 1, &di);
	if (n < 0)
		return xen_fail(xb, err, errno, "domain %u: reading its state",
				domid);
	if (n != 1 || di.domain != domid)
		return exl_fail(err, -ENOENT, "domain %u: Xen has no such domain",
				domid);
	*out = di.max_vcpu_id;
	return 0;
}

/* The host's CPU ids (highest + 1) and a pair of maps xc sizes for them. */
struct cpu_maps {
	int host_cpus, size;
	xc_cpumap_t hard, soft;
};

static int maps_open(struct xen_backend *xb, struct cpu_maps *m,
		     struct enso_error *err)
{
	memset(m, 0, sizeof(*m));
	xen_log_clear(xb);
	m->host_cpus = xc_get_max_cpus(xb->xch);
	m->size = xc_get_cpumap_size(xb->xch);
	if (m->host_cpus <= 0 || m->size <= 0)
		return xen_fail(xb, err, errno ? errno : EIO,
				"reading the host's CPU count");
	m->hard = calloc(1, (size_t)m->size);
	m->soft = calloc(1, (size_t)m->size);
	if (!m->hard || !m->soft) {
		free(m->hard);
		free(m->soft);
		return exl_fail(err, -ENOMEM, "out of memory");
	}
	return 0;
}

static void maps_close(struct cpu_maps *m)
{
	free(m->hard);
	free(m->soft);
}

/* Xen's map (size bytes) <-> Enso's (ENSO_MAX_CPUS bits). */
static void map_from_xen(struct enso_cpumap *to, const uint8_t *from, int size)
{
	size_t n = (size_t)size < sizeof(to->bits) ? (size_t)size :
						     sizeof(to->bits);

	memset(to, 0, sizeof(*to));
	memcpy(to->bits, from, n);
}

static void map_to_xen(uint8_t *to, int size, const struct enso_cpumap *from)
{
	size_t n = (size_t)size < sizeof(from->bits) ? (size_t)size :
						       sizeof(from->bits);

	memset(to, 0, (size_t)size);
	if (from)
		memcpy(to, from->bits, n);
}

int xen_vcpu_list(struct enso_ctx *ctx, uint32_t domid,
		  struct enso_vcpuinfo **out, size_t *n, uint32_t *host_cpus,
		  struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	struct enso_vcpuinfo *list;
	struct cpu_maps m;
	uint32_t max, v;
	int rc;

	if (!xb)
		return -ENODEV;
	rc = max_vcpu_id(xb, domid, &max, err);
	if (rc)
		return rc;
	rc = maps_open(xb, &m, err);
	if (rc)
		return rc;
	list = calloc((size_t)max + 1, sizeof(*list));
	if (!list) {
		maps_close(&m);
		return exl_fail(err, -ENOMEM, "out of memory");
	}
	*out = list;
	for (v = 0; v <= max; v++) {
		struct enso_vcpuinfo *vi = &list[*n];
		xc_vcpuinfo_t xi;

		xen_log_clear(xb);
		if (xc_vcpu_getinfo(xb->xch, domid, v, &xi)) {
			if (errno == ESRCH)	/* never allocated */
				continue;
			rc = xen_fail(xb, err, errno,
				      "domain %u: reading vCPU %u", domid, v);
			break;
		}
		xen_log_clear(xb);
		if (xc_vcpu_getaffinity(xb->xch, domid, (int)v, m.hard, m.soft,
					XEN_VCPUAFFINITY_HARD |
						XEN_VCPUAFFINITY_SOFT)) {
			rc = xen_fail(xb, err, errno,
				      "domain %u: reading vCPU %u's affinity",
				      domid, v);
			break;
		}
		vi->vcpu = v;
		vi->online = xi.online;
		vi->running = xi.running;
		vi->blocked = xi.blocked;
		vi->cpu = xi.cpu;
		vi->cpu_seconds = (double)xi.cpu_time / 1e9;
		map_from_xen(&vi->hard, m.hard, m.size);
		map_from_xen(&vi->soft, m.soft, m.size);
		(*n)++;
	}
	*host_cpus = (uint32_t)m.host_cpus;
	maps_close(&m);
	return rc;
}

int xen_vcpu_pin(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
		 const struct enso_cpumap *hard, const struct enso_cpumap *soft,
		 bool force, struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	uint32_t max, flags = 0;
	struct cpu_maps m;
	int rc;

	if (!xb)
		return -ENODEV;
	rc = max_vcpu_id(xb, domid, &max, err);
	if (rc)
		return rc;
	if (vcpu > max)
		return exl_fail(err, -EINVAL,
				"domain %u has no vCPU %u (its vCPUs are 0-%u)",
				domid, vcpu, max);
	rc = maps_open(xb, &m, err);
	if (rc)
		return rc;
	if (hard && !enso_cpumap_any(hard, (uint32_t)m.host_cpus)) {
		rc = exl_fail(err, -EINVAL,
			      "vCPU %u: the hard affinity names none of this host's CPUs (0-%d)",
			      vcpu, m.host_cpus - 1);
		goto out;
	}
	if (hard) {
		map_to_xen(m.hard, m.size, hard);
		flags |= XEN_VCPUAFFINITY_HARD;
	}
	if (soft) {
		map_to_xen(m.soft, m.size, soft);
		flags |= XEN_VCPUAFFINITY_SOFT;
	}
	if (force)
		flags |= XEN_VCPUAFFINITY_FORCE;
	xen_log_clear(xb);
	/* Xen answers with the effective maps (within the domain's pool's
	 * CPUs); vcpu-list shows them. */
	if (xc_vcpu_setaffinity(xb->xch, domid, (int)vcpu, m.hard, m.soft,
				flags))
		rc = xen_fail(xb, err, errno,
			      "domain %u: setting vCPU %u's affinity%s", domid,
			      vcpu, errno == EINVAL && hard ?
				      " (none of its hard CPUs is online in the domain's pool?)" :
				      "");
out:
	maps_close(&m);
	return rc;
}

int xen_console_read(struct enso_ctx *ctx, bool clear, char **text,
		     size_t *len, struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);
	uint32_t index = 0;
	size_t used = 0, cap = 0;
	char *buf = NULL;
	int rc = 0;

	if (!xb)
		return -ENODEV;
	/* Incremental reads from where the last one ended, until Xen has
	 * nothing more; with clear, Xen drops what each read returned. */
	for (;;) {
		unsigned int nr = CONSOLE_CHUNK;

		if (cap - used < CONSOLE_CHUNK + 1) {
			char *bigger = realloc(buf, cap + CONSOLE_CHUNK + 1);

			if (!bigger) {
				rc = exl_fail(err, -ENOMEM, "out of memory");
				break;
			}
			buf = bigger;
			cap += CONSOLE_CHUNK + 1;
		}
		xen_log_clear(xb);
		if (xc_readconsolering(xb->xch, buf + used, &nr, clear, 1,
				       &index)) {
			rc = xen_fail(xb, err, errno,
				      "reading Xen's console ring");
			break;
		}
		used += nr;
		if (!nr || used >= CONSOLE_MAX)
			break;
	}
	if (rc) {
		free(buf);
		return rc;
	}
	buf[used] = '\0';
	*text = buf;
	*len = used;
	return 0;
}

int xen_debug_keys(struct enso_ctx *ctx, const char *keys,
		   struct enso_error *err)
{
	struct xen_backend *xb = xen_backend(ctx, err);

	if (!xb)
		return -ENODEV;
	xen_log_clear(xb);
	if (xc_send_debug_keys(xb->xch, keys))
		return xen_fail(xb, err, errno, "sending debug keys '%s' to Xen",
				keys);
	return 0;
}

/* The CPUs Xen's topology puts in NUMA node `node`. */
int xen_node_cpus(struct enso_ctx *ctx, unsigned node, uint8_t *cpus)
{
	struct xen_backend *xb = xen_backend(ctx, NULL);
	xc_cputopo_t *topo;
	unsigned n = 0, i;
	bool any = false;

	if (!xb)
		return -ENODEV;
	if (xc_cputopoinfo(xb->xch, &n, NULL))
		return -errno;
	topo = calloc(n ? n : 1, sizeof(*topo));
	if (!topo)
		return -ENOMEM;
	if (xc_cputopoinfo(xb->xch, &n, topo)) {
		free(topo);
		return -EIO;
	}
	for (i = 0; i < n && i < ENSO_MAX_CPUS; i++)
		if (topo[i].node == node) {
			cpus[i / 8] |= (uint8_t)(1u << (i % 8));
			any = true;
		}
	free(topo);
	return any ? 0 : -ENOENT;
}
