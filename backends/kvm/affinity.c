/*
 * vCPU affinity on KVM: each vCPU is a QEMU thread (KVM, and TCG's
 * multi-threaded mode), whose thread id QMP's query-cpus-fast gives, so a
 * vCPU's hard affinity is that thread's sched_setaffinity(2) mask.  Linux's
 * scheduler has no soft affinity: cpus_soft= and a soft vcpu-pin map other
 * than "all" are refused rather than dropped.
 *
 * What cpus= or vcpu-pin asked for each vCPU is recorded in
 * /libxl/<id>/cpu/<n>/affinity (a CPU list, "all" for none), so a vCPU
 * that vcpu-set plugs later gets its own, as on Xen where an offline vCPU
 * keeps its affinity.  In query-cpus-fast, cpu-index is the vCPU's slot in
 * topology order, which is the vCPU number vcpu-set uses.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"
#include <xenstore.h>

#include "libxl/services.h"
#include "backends/backend.h"

int kvm_task_stat(pid_t pid, pid_t tid, struct kvm_task_stat *out)
{
	char path[64], buf[1024], *p;
	unsigned long long ut, st;
	FILE *f;
	int cpu;

	out->state = '?';
	out->cpu = 0;
	out->cpu_seconds = 0;
	if (tid)
		snprintf(path, sizeof(path), "/proc/%ld/task/%ld/stat",
			 (long)pid, (long)tid);
	else
		snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	/* The name may hold spaces and parentheses: fields follow the last
	 * ')'.  state is field 3, utime/stime 14/15, processor 39. */
	p = strrchr(buf, ')');
	if (!p || sscanf(p + 2,
			 "%c"				/* 3 */
			 " %*d %*d %*d %*d %*d"		/* 4-8 */
			 " %*u %*u %*u %*u %*u"		/* 9-13 */
			 " %llu %llu"			/* 14-15 */
			 " %*d %*d %*d %*d %*d %*d"	/* 16-21 */
			 " %*u %*u %*d"			/* 22-24 */
			 " %*u %*u %*u %*u %*u %*u %*u"	/* 25-31 */
			 " %*u %*u %*u %*u %*u %*u"	/* 32-37 */
			 " %*d %d",			/* 38-39 */
			 &out->state, &ut, &st, &cpu) != 4)
		return -EIO;
	out->cpu = cpu;
	out->cpu_seconds = (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
	return 0;
}

static uint32_t host_cpus(void)
{
	int n = get_nprocs_conf();

	if (n < 1)
		n = 1;
	return n > ENSO_MAX_CPUS ? ENSO_MAX_CPUS : (uint32_t)n;
}

static void map_to_set(const struct enso_cpumap *m, uint32_t ncpus,
		       cpu_set_t *set)
{
	uint32_t c;

	CPU_ZERO(set);
	for (c = 0; c < ncpus && c < CPU_SETSIZE; c++)
		if (enso_cpumap_test(m, c))
			CPU_SET(c, set);
}

static void set_to_map(const cpu_set_t *set, struct enso_cpumap *m)
{
	uint32_t c;

	memset(m, 0, sizeof(*m));
	for (c = 0; c < ENSO_MAX_CPUS && c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, set))
			m->bits[c / 8] |= (uint8_t)(1u << (c % 8));
}

static void all_map(struct enso_cpumap *m, uint32_t ncpus)
{
	uint32_t c;

	memset(m, 0, sizeof(*m));
	for (c = 0; c < ncpus; c++)
		m->bits[c / 8] |= (uint8_t)(1u << (c % 8));
}

static int record_affinity(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
			   const struct enso_cpumap *m, uint32_t ncpus,
			   struct enso_error *err)
{
	char path[96], list[ENSO_CPUMAP_FORMAT_MAX];

	enso_cpumap_format(m, ncpus, list, sizeof(list));
	snprintf(path, sizeof(path), "/libxl/%u/cpu/%u/affinity", domid, vcpu);
	if (!rt_xs_write(ctx, XBT_NULL, path, list))
		return exl_fail(err, -errno,
				"domain %u: recording vCPU %u's affinity: %s",
				domid, vcpu, strerror(errno));
	return 0;
}

/* The recorded affinity of vCPU vcpu into *m; false when none is. */
static bool recorded_affinity(struct enso_ctx *ctx, uint32_t domid,
			      uint32_t vcpu, struct enso_cpumap *m)
{
	char *list = rt_xs_read(ctx, "/libxl/%u/cpu/%u/affinity", domid, vcpu);
	struct enso_error err;
	bool ok;

	ok = list && !enso_cpumap_parse(list, NULL, NULL, m, &err);
	free(list);
	return ok;
}

/* The plugged vCPUs' thread ids, by vCPU number (0: not plugged), n the
 * number of slots (maxvcpus). */
/* A thread id QEMU reported is one of its own threads: a QEMU its guest
 * took over could otherwise have dom0 pin, or report on, any thread of
 * the host. */
static bool qemu_thread(pid_t qemu, pid_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%ld/task/%ld", (long)qemu,
		 (long)tid);
	return qemu > 0 && access(path, F_OK) == 0;
}

static int vcpu_threads(struct enso_ctx *ctx, struct qmp *q, uint32_t domid,
			struct vcpu_threads *t, struct enso_error *err)
{
	yajl_val cpus = NULL, slots = NULL;
	pid_t qemu;
	uint32_t v;
	int rc;

	memset(t, 0, sizeof(*t));
	rc = kvm_qmp_call(q, domid, "query-cpus-fast", NULL, &cpus, err);
	if (rc)
		return rc;
	if (kvm_qmp_call(q, domid, "query-hotpluggable-cpus", NULL, &slots,
			 NULL))
		slots = NULL;
	rc = kvm_vcpu_threads_parse(cpus, slots, t);
	if (rc == -EPROTO)
		rc = exl_fail(err, rc,
			      "domain %u: QEMU's query-cpus-fast gave no list",
			      domid);
	else if (rc)
		rc = exl_fail(err, rc, "out of memory");
	yajl_tree_free(cpus);
	yajl_tree_free(slots);
	qemu = rc ? 0 : kvm_qemu_pid(ctx, domid);
	for (v = 0; !rc && v < t->n; v++) {
		if (t->tid[v] && !qemu_thread(qemu, t->tid[v])) {
			rc = exl_fail(err, -EPROTO,
				      "domain %u: QEMU names thread %ld for vCPU %u, which is not one of its own threads",
				      domid, (long)t->tid[v], v);
		}
	}
	if (rc) {
		free(t->tid);
		memset(t, 0, sizeof(*t));
	}
	return rc;
}

/* vcpu_threads over a connection of its own. */
static int domain_threads(struct enso_ctx *ctx, uint32_t domid,
			  struct vcpu_threads *t, struct enso_error *err)
{
	struct qmp *q;
	int rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);

	if (rc)
		return rc;
	rc = vcpu_threads(ctx, q, domid, t, err);
	qmp_close(q);
	return rc;
}

static int set_thread(uint32_t domid, uint32_t vcpu, pid_t tid,
		      const struct enso_cpumap *m, uint32_t ncpus,
		      struct enso_error *err)
{
	cpu_set_t set;

	map_to_set(m, ncpus, &set);
	if (sched_setaffinity(tid, sizeof(set), &set))
		return exl_fail(err, -errno,
				"domain %u: setting vCPU %u's affinity (thread %ld): %s",
				domid, vcpu, (long)tid, strerror(errno));
	return 0;
}

int kvm_affinity_apply(struct enso_ctx *ctx, struct qmp *q, uint32_t domid,
		       struct enso_error *err)
{
	uint32_t ncpus = host_cpus(), v;
	struct vcpu_threads t;
	int rc;

	rc = vcpu_threads(ctx, q, domid, &t, err);
	for (v = 0; !rc && v < t.n; v++) {
		struct enso_cpumap m;

		if (!t.tid[v] || !recorded_affinity(ctx, domid, v, &m))
			continue;
		rc = set_thread(domid, v, t.tid[v], &m, ncpus, err);
		enso_cpumap_dispose(&m);
	}
	free(t.tid);
	return rc;
}

/* A NUMA node's CPUs, as the host kernel lists them in sysfs. */
int kvm_node_cpus(struct enso_ctx *ctx, unsigned node, uint8_t *cpus)
{
	struct enso_cpumap m;
	struct enso_error e;
	char path[64], list[4096];
	FILE *f;
	bool ok;
	size_t i;

	(void)ctx;
	snprintf(path, sizeof(path), "/sys/devices/system/node/node%u/cpulist",
		 node);
	f = fopen(path, "r");
	if (!f)
		return -ENOENT;
	ok = fgets(list, sizeof(list), f) != NULL;
	fclose(f);
	list[strcspn(list, "\n")] = '\0';
	/* A node without CPUs (memory only) names none. */
	if (!ok || !list[0])
		return -ENOENT;
	if (enso_cpumap_parse(list, NULL, NULL, &m, &e))
		return -ENOENT;
	for (i = 0; i < sizeof(m.bits); i++)
		cpus[i] |= m.bits[i];
	enso_cpumap_dispose(&m);
	return 0;
}

int kvm_affinity_create(struct enso_ctx *ctx, uint32_t domid,
			const struct backend_create *in,
			struct enso_error *err)
{
	const struct enso_domain_config *c = in->cfg;
	uint32_t ncpus = host_cpus(), v;
	struct qmp *q;
	int rc = 0;

	if (!in->hard.nmaps)
		return 0;
	for (v = 0; !rc && v < c->maxvcpus; v++) {
		const struct enso_cpumap *m = enso_affinity_map(&in->hard, v);

		if (!m)
			continue;
		if (!enso_cpumap_any(m, ncpus))
			rc = exl_fail(err, -EINVAL,
				      "%s: cpus=%s names none of this host's CPUs (0-%u) for vCPU %u",
				      c->name, m->spec ? m->spec : "", ncpus - 1, v);
		else
			rc = record_affinity(ctx, domid, v, m, ncpus, err);
	}
	if (rc)
		return rc;
	rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);
	if (rc)
		return rc;
	rc = kvm_affinity_apply(ctx, q, domid, err);
	qmp_close(q);
	return rc;
}

int kvm_vcpu_list(struct enso_ctx *ctx, uint32_t domid,
		  struct enso_vcpuinfo **out, size_t *n, uint32_t *ncpus_out,
		  struct enso_error *err)
{
	uint32_t ncpus = host_cpus(), v;
	pid_t pid = kvm_qemu_pid(ctx, domid);
	struct enso_vcpuinfo *list = NULL;
	struct vcpu_threads t = { 0 };
	int rc;

	rc = domain_threads(ctx, domid, &t, err);
	if (rc)
		return rc;
	list = calloc(t.n ? t.n : 1, sizeof(*list));
	if (!list) {
		free(t.tid);
		return exl_fail(err, -ENOMEM, "out of memory");
	}
	for (v = 0; v < t.n; v++) {
		struct enso_vcpuinfo *vi = &list[v];
		struct kvm_task_stat st;
		cpu_set_t set;

		vi->vcpu = v;
		all_map(&vi->soft, ncpus);	/* Linux has no soft affinity */
		vi->online = t.tid[v] != 0;
		if (!vi->online) {
			if (!recorded_affinity(ctx, domid, v, &vi->hard))
				all_map(&vi->hard, ncpus);
			continue;
		}
		if (kvm_task_stat(pid, t.tid[v], &st) == 0) {
			vi->running = st.state == 'R';
			vi->blocked = !vi->running;
			vi->cpu = (uint32_t)st.cpu;
			vi->cpu_seconds = st.cpu_seconds;
		}
		if (sched_getaffinity(t.tid[v], sizeof(set), &set) == 0)
			set_to_map(&set, &vi->hard);
		else
			all_map(&vi->hard, ncpus);
	}
	*out = list;
	*n = t.n;
	*ncpus_out = ncpus;
	free(t.tid);
	return 0;
}

int kvm_vcpu_pin(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
		 const struct enso_cpumap *hard, const struct enso_cpumap *soft,
		 bool force, struct enso_error *err)
{
	uint32_t ncpus = host_cpus(), c;
	struct vcpu_threads t = { 0 };
	int rc;

	(void)force;	/* no kernel overrides a pinning on KVM */
	for (c = 0; soft && c < ncpus; c++)
		if (!enso_cpumap_test(soft, c))
			return exl_fail(err, -ENOSYS,
					"domain %u: a soft affinity (%s) has no meaning on KVM: Linux's scheduler has none; set the hard one",
					domid, soft->spec ? soft->spec : "");
	if (!hard)
		return 0;	/* soft "all": what KVM has anyway */
	if (!enso_cpumap_any(hard, ncpus))
		return exl_fail(err, -EINVAL,
				"vCPU %u: the hard affinity names none of this host's CPUs (0-%u)",
				vcpu, ncpus - 1);
	rc = domain_threads(ctx, domid, &t, err);
	if (rc)
		return rc;
	if (vcpu >= t.n)
		rc = exl_fail(err, -EINVAL,
			      "domain %u has no vCPU %u (its vCPUs are 0-%u)",
			      domid, vcpu, t.n ? t.n - 1 : 0);
	else if (t.shared && t.tid[vcpu])
		rc = exl_fail(err, -EOPNOTSUPP,
			      "domain %u: its vCPUs share one QEMU thread (TCG round-robin mode), which has no per-vCPU affinity",
			      domid);
	if (!rc)
		rc = record_affinity(ctx, domid, vcpu, hard, ncpus, err);
	if (!rc && t.tid[vcpu])
		rc = set_thread(domid, vcpu, t.tid[vcpu], hard, ncpus, err);
	free(t.tid);
	return rc;
}
