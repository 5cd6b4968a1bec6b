/*
 * vcpu-set is QEMU's CPU hotplug.  query-hotpluggable-cpus lists one slot
 * per possible vCPU (maxvcpus=); in topology order (socket, die, core,
 * thread) slot N is vCPU N, as QEMU's cpu-index and the guest's APIC ids
 * go.  vcpu-set plugs the free slots below the count (device_add, id
 * "vcpu<N>") and unplugs the vCPUs from the count up (device_del).  Only
 * vCPUs plugged that way have an id and can be unplugged: QEMU cannot
 * unplug those it started with (vcpus=), vCPU 0 among them.
 *
 * Plugging is done when device_add returns; the guest is told through ACPI
 * and onlines the vCPU itself (Linux leaves it to userspace: a udev rule).
 * Unplugging is a request: the guest offlines the vCPU and ejects it, and
 * QEMU frees the slot.  vcpu-set waits for that, a while; if the guest
 * does not cooperate (no ACPI CPU hot-unplug, paused, hung) it fails
 * saying so, and the request stays pending in QEMU.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backends/kvm/kvm.h"
#include "enso-util.h"
#include <xenstore.h>

#include "libxl/services.h"
#include "backends/backend.h"

#define VCPU_UNPLUG_TIMEOUT_MS 15000

struct cpu_slot {
	const char *type;	/* QEMU's CPU model: max-x86_64-cpu... */
	yajl_val props;		/* socket-id, core-id...: integers */
	const char *id;		/* the device id we gave it, or NULL */
	bool plugged;
	bool online;		/* what cpu/N/availability is to say */
};

/* Names QEMU gives us go into the JSON we send back: plain ones only. */
static bool plain_name(const char *s)
{
	if (!s || !*s)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("-_.", *s))
			return false;
	return true;
}

static long long topo_prop(yajl_val props, const char *key)
{
	yajl_val v = kvm_jget(props, key, NULL);

	return v && YAJL_IS_INTEGER(v) ? YAJL_GET_INTEGER(v) : 0;
}

static int cmp_slot(const void *a, const void *b)
{
	static const char *const keys[] = {
		"drawer-id", "book-id", "socket-id", "die-id", "cluster-id",
		"module-id", "core-id", "thread-id",
	};
	const struct cpu_slot *x = a, *y = b;
	size_t i;

	for (i = 0; i < ARRAY_SIZE(keys); i++) {
		long long p = topo_prop(x->props, keys[i]);
		long long q = topo_prop(y->props, keys[i]);

		if (p != q)
			return (p > q) - (p < q);
	}
	return 0;
}

/* Where QEMU puts the devices given an id: ours. */
static const char peripheral[] = "/machine/peripheral/";

static bool slot_ok(yajl_val e, struct cpu_slot *s)
{
	yajl_val count = kvm_jget(e, "vcpus-count", NULL);
	const char *path = kvm_jstr(kvm_jget(e, "qom-path", NULL));
	size_t k;

	s->type = kvm_jstr(kvm_jget(e, "type", NULL));
	s->props = kvm_jget(e, "props", NULL);
	s->plugged = s->online = path != NULL;
	if (path && !strncmp(path, peripheral, sizeof(peripheral) - 1) &&
	    plain_name(path + sizeof(peripheral) - 1))
		s->id = path + sizeof(peripheral) - 1;
	if (!count || !YAJL_IS_INTEGER(count) || YAJL_GET_INTEGER(count) != 1 ||
	    !plain_name(s->type) || !s->props || !YAJL_IS_OBJECT(s->props))
		return false;
	for (k = 0; k < s->props->u.object.len; k++)
		if (!plain_name(s->props->u.object.keys[k]) ||
		    !YAJL_IS_INTEGER(s->props->u.object.values[k]))
			return false;
	return true;
}

/* The domain's vCPU slots in vCPU order; they point into *hp, which the
 * caller frees (with yajl_tree_free) after *out. */
static int cpu_slots(struct qmp *q, uint32_t domid, yajl_val *hp,
		     struct cpu_slot **out, uint32_t *n, struct enso_error *err)
{
	struct cpu_slot *s;
	yajl_val list;
	size_t i, len;
	int rc = kvm_qmp_call(q, domid, "query-hotpluggable-cpus", NULL, hp, err);

	*out = NULL;
	*n = 0;
	if (rc)
		return rc;
	list = kvm_jget(*hp, "return", NULL);
	if (!list || !YAJL_IS_ARRAY(list) || !list->u.array.len)
		return exl_fail(err, -EPROTO,
				"domain %u: QEMU lists no vCPU slots", domid);
	len = list->u.array.len;
	s = calloc(len, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < len; i++) {
		if (!slot_ok(list->u.array.values[i], &s[i])) {
			free(s);
			return exl_fail(err, -EOPNOTSUPP,
					"domain %u: QEMU's vCPU slots are not one vCPU each with a numeric topology; vcpu-set cannot use them",
					domid);
		}
	}
	qsort(s, len, sizeof(*s), cmp_slot);
	*out = s;
	*n = (uint32_t)len;
	return 0;
}

static char *cpu_add_args(const struct cpu_slot *s, uint32_t vcpu)
{
	char *buf = NULL;
	size_t len = 0, k;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "{\"driver\":\"%s\",\"id\":\"vcpu%u\"", s->type, vcpu);
	for (k = 0; k < s->props->u.object.len; k++)
		fprintf(f, ",\"%s\":%lld", s->props->u.object.keys[k],
			YAJL_GET_INTEGER(s->props->u.object.values[k]));
	fputc('}', f);
	if (fclose(f)) {
		free(buf);
		return NULL;
	}
	return buf;
}

/*
 * QEMU's TCG (7.2 at least) gives every vCPU thread it starts one of
 * maxvcpus translation contexts and does not take it back on unplug, so a
 * vCPU plugged after one was unplugged can abort QEMU, guest and all
 * ("tcg_register_thread: assertion failed: (n < tcg_max_ctxs)").  On TCG
 * the backend counts the vCPUs QEMU has started (/libxl/<id>/
 * tcg-vcpus-started; none yet: those plugged now) and refuses a plug past
 * the limit.  KVM has no such limit.
 */
static int tcg_started(struct enso_ctx *ctx, struct qmp *q, uint32_t domid,
		       uint32_t plugged, bool *tcg, uint32_t *started,
		       struct enso_error *err)
{
	yajl_val ret = NULL, v;
	char *node;
	int rc = kvm_qmp_call(q, domid, "query-kvm", NULL, &ret, err);

	if (rc)
		return rc;
	v = kvm_jget(ret, "return", "enabled");
	*tcg = !(v && YAJL_IS_TRUE(v));
	yajl_tree_free(ret);
	*started = plugged;
	if (!*tcg)
		return 0;
	node = rt_xs_read(ctx, "/libxl/%u/tcg-vcpus-started", domid);
	if (node)
		*started = (uint32_t)strtoul(node, NULL, 10);
	free(node);
	return 0;
}

static void tcg_count_started(struct enso_ctx *ctx, uint32_t domid,
			      uint32_t started)
{
	char node[64], val[16];

	snprintf(node, sizeof(node), "/libxl/%u/tcg-vcpus-started", domid);
	snprintf(val, sizeof(val), "%u", started);
	rt_xs_write(ctx, XBT_NULL, node, val);
}

/* cpu/N/availability (rt_write_availability): online for each vCPU
 * plugged, or asked for, and not asked away. */
static int write_availability(struct enso_ctx *ctx, uint32_t domid,
			      const struct cpu_slot *s, uint32_t n,
			      struct enso_error *err)
{
	bool *online = calloc(n ? n : 1, sizeof(*online));
	uint32_t i;
	int rc;

	if (!online)
		return exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	for (i = 0; i < n; i++)
		online[i] = s[i].online;
	rc = rt_write_availability(ctx, domid, online, n, err);
	free(online);
	return rc;
}

/* Waits until QEMU has freed the slot of every vCPU asked away (online
 * false while still plugged); returns the first one still there, or -1.
 * QEMU's DEVICE_DELETED cannot be the sign: for a CPU it comes when the
 * object is freed, which can be late (the vCPU thread holds it), and it
 * names child objects too; so the slots are asked again, and events are
 * only wake-ups. */
static int wait_unplugged(struct qmp *q, uint32_t domid, struct cpu_slot *s,
			  uint32_t n)
{
	long long deadline = monotonic_ms() + VCPU_UNPLUG_TIMEOUT_MS;

	for (;;) {
		yajl_val hp = NULL, list, ev;
		int first = -1, rc;
		uint32_t i;

		rc = kvm_qmp_call(q, domid, "query-hotpluggable-cpus", NULL, &hp,
			      NULL);
		list = rc ? NULL : kvm_jget(hp, "return", NULL);
		for (i = 0; i < n; i++) {
			bool there = rc != 0;
			size_t k;

			if (!s[i].plugged || s[i].online)
				continue;
			for (k = 0; list && YAJL_IS_ARRAY(list) &&
				    k < list->u.array.len; k++) {
				const char *path = kvm_jstr(kvm_jget(list->u.array.values[k],
							     "qom-path", NULL));

				if (path && !strncmp(path, peripheral,
						     sizeof(peripheral) - 1) &&
				    !strcmp(path + sizeof(peripheral) - 1, s[i].id))
					there = true;
			}
			if (!there)
				s[i].plugged = false;
			else if (first < 0)
				first = (int)i;
		}
		yajl_tree_free(hp);
		if (first < 0 || rc || monotonic_ms() >= deadline)
			return first;
		ev = qmp_next_event(q, 200, &rc);
		if (ev)
			yajl_tree_free(ev);
		else if (rc)
			return first;	/* QEMU went away */
	}
}

int kvm_set_vcpus(struct enso_ctx *ctx, uint32_t domid, uint32_t count,
		  struct enso_error *err)
{
	struct cpu_slot *s = NULL;
	struct enso_error ignored;
	yajl_val hp = NULL;
	struct qmp *q = NULL;
	uint32_t n, i, plugged = 0, adds = 0, least = 1, started = 0;
	bool tcg = false, asked_away = false;
	int rc, wrc, still;

	rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);
	if (rc)
		return rc;
	rc = cpu_slots(q, domid, &hp, &s, &n, err);
	if (rc)
		goto out;
	if (count > n) {
		rc = exl_fail(err, -EINVAL,
			      "domain %u: requested %u vCPUs, however maxcpus is %u (maxvcpus= when it was created)",
			      domid, count, n);
		goto out;
	}
	for (i = 0; i < n; i++) {
		plugged += s[i].plugged;
		adds += i < count && !s[i].plugged;
		if (s[i].plugged && !s[i].id)
			least = i + 1;
	}
	if (count < least) {
		rc = exl_fail(err, -EOPNOTSUPP,
			      "domain %u: vCPU %u was there when the domain started, and QEMU can unplug only the vCPUs vcpu-set plugged: %u is the fewest it can set",
			      domid, least - 1, least);
		goto out;
	}
	if (adds) {
		rc = tcg_started(ctx, q, domid, plugged, &tcg, &started, err);
		if (rc)
			goto out;
		if (tcg && started + adds > n) {
			rc = exl_fail(err, -EOPNOTSUPP,
				      "domain %u: QEMU's TCG cannot plug %u more vCPU(s): it has started %u vCPU threads, unplugged ones included, and maxcpus (%u) bounds them all; QEMU would abort. Restart the domain (or use KVM)",
				      domid, adds, started, n);
			goto out;
		}
	}
	for (i = 0; i < count && !rc; i++) {
		char *args;

		if (s[i].plugged)
			continue;
		args = cpu_add_args(&s[i], i);
		if (!args) {
			rc = -ENOMEM;
			break;
		}
		rc = kvm_qmp_call(q, domid, "device_add", args, NULL, err);
		free(args);
		if (rc)
			break;
		s[i].plugged = s[i].online = true;
		if (tcg)
			tcg_count_started(ctx, domid, ++started);
	}
	/* A plugged vCPU takes the affinity cpus= or vcpu-pin gave it. */
	if (adds && !rc)
		rc = kvm_affinity_apply(ctx, q, domid, err);
	for (i = n; i-- > count && !rc;) {
		struct enso_error derr;
		char args[128];

		if (!s[i].plugged)
			continue;
		snprintf(args, sizeof(args), "{\"id\":\"%s\"}", s[i].id);
		rc = kvm_qmp_call(q, domid, "device_del", args, NULL, &derr);
		if (rc) {
			/* Before the guest's ACPI code has switched QEMU to
			 * its current CPU hotplug interface, QEMU refuses. */
			exl_fail(err, rc,
				 "%s (QEMU unplugs a vCPU only once the guest's kernel has taken over ACPI CPU hotplug)",
				 derr.msg);
			break;
		}
		s[i].online = false;
		asked_away = true;
	}
	if (asked_away) {
		still = wait_unplugged(q, domid, s, n);
		if (still >= 0 && !rc)
			rc = exl_fail(err, -ETIMEDOUT,
				      "domain %u: the guest has not released vCPU %d after %d s; the unplug request stays pending (the guest must be running and support ACPI CPU hot-unplug)",
				      domid, still, VCPU_UNPLUG_TIMEOUT_MS / 1000);
	}
	/* The record follows what QEMU was asked and accepted, failure or
	 * not; a failure above keeps its own message. */
	wrc = write_availability(ctx, domid, s, n, rc ? &ignored : err);
	if (!rc)
		rc = wrc;
out:
	free(s);
	yajl_tree_free(hp);
	qmp_close(q);
	return rc;
}
