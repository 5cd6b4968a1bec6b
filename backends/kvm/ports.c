/*
 * The device layout of a running domain's QEMU (layout.c), read off QEMU
 * itself when a save or migration begins: query-pci's PCIe bridges on
 * pcie.0 that have an id (the root ports Enso makes; the machine's own
 * have none), in address order, each with its chassis (qom-get) and the
 * device behind it, if any; and query-cpus-fast's count of vCPUs.  The
 * text is parsed back before it is sent, so that a stream never carries
 * what a restore would refuse.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kvm/kvm.h"
#include "libxl/services.h"

static int chassis_of(struct qmp *q, uint32_t domid, const char *port,
		      unsigned *out, struct enso_error *err)
{
	yajl_gen g = kvm_jopen();
	yajl_val ret = NULL, v;
	char *args = NULL, path[64];
	int rc;

	snprintf(path, sizeof(path), "/machine/peripheral/%s", port);
	if (g) {
		kvm_jput_str(g, "path", path);
		kvm_jput_str(g, "property", "chassis");
		args = kvm_jdone(g);
	}
	if (!args)
		return exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	rc = kvm_qmp_call(q, domid, "qom-get", args, &ret, err);
	free(args);
	if (rc)
		return rc;
	v = kvm_jget(ret, "return", NULL);
	if (v && YAJL_IS_INTEGER(v) && YAJL_GET_INTEGER(v) >= 0 &&
	    YAJL_GET_INTEGER(v) <= 255)
		*out = (unsigned)YAJL_GET_INTEGER(v);
	else
		rc = exl_fail(err, -EPROTO, "domain %u: QEMU gives port %s no chassis number",
			      domid, port);
	yajl_tree_free(ret);
	return rc;
}

/* Copies a QEMU id into dst, refusing one too long to be Enso's. */
static int id_copy(char *dst, size_t len, const char *id, uint32_t domid,
		   struct enso_error *err)
{
	if (!id || !*id || strlen(id) >= len)
		return exl_fail(err, -EPROTO,
				"domain %u: a PCIe device Enso did not plug (id '%.31s')",
				domid, id ? id : "");
	strcpy(dst, id);
	return 0;
}

/* The port pd (a bridge on pcie.0 with an id) into p. */
static int read_port(struct qmp *q, uint32_t domid, yajl_val pd,
		     struct kvm_port *p, struct enso_error *err)
{
	yajl_val slot = kvm_jget(pd, "slot", NULL);
	yajl_val fn = kvm_jget(pd, "function", NULL);
	yajl_val in = kvm_pci_bridge_devices(pd);
	int rc = id_copy(p->id, sizeof(p->id),
			 kvm_jstr(kvm_jget(pd, "qdev_id", NULL)), domid, err);

	if (rc)
		return rc;
	if (!slot || !fn || !YAJL_IS_INTEGER(slot) || !YAJL_IS_INTEGER(fn) ||
	    YAJL_GET_INTEGER(slot) < 0 || YAJL_GET_INTEGER(slot) > 31 ||
	    YAJL_GET_INTEGER(fn) < 0 || YAJL_GET_INTEGER(fn) > 7)
		return exl_fail(err, -EPROTO, "domain %u: QEMU gives port %s no address",
				domid, p->id);
	p->slot = (unsigned)YAJL_GET_INTEGER(slot);
	p->fn = (unsigned)YAJL_GET_INTEGER(fn);
	if (in && in->u.array.len > 1)
		return exl_fail(err, -EPROTO, "domain %u: port %s has %zu devices behind it",
				domid, p->id, in->u.array.len);
	if (in && in->u.array.len == 1) {
		rc = id_copy(p->dev, sizeof(p->dev),
			     kvm_jstr(kvm_jget(in->u.array.values[0], "qdev_id", NULL)),
			     domid, err);
		if (rc)
			return rc;
	}
	return chassis_of(q, domid, p->id, &p->chassis, err);
}

/* How many vCPUs QEMU has plugged, vcpu-set's among them: vCPUs 0 to
 * n-1, which is all a count can tell the other end.  (vcpu-set plugs
 * upwards and unplugs from the top; a guest that carried out only part
 * of an unplug can leave a gap.) */
static int plugged_vcpus(struct qmp *q, uint32_t domid, unsigned *out,
			 struct enso_error *err)
{
	yajl_val ret = NULL, list;
	bool *seen = NULL;
	size_t n = 0;
	int rc = kvm_qmp_call(q, domid, "query-cpus-fast", NULL, &ret, err);

	if (rc)
		return rc;
	list = kvm_jget(ret, "return", NULL);
	if (list && YAJL_IS_ARRAY(list))
		n = list->u.array.len;
	if (!n || n > ENSO_MAX_CPUS)
		rc = exl_fail(err, -EPROTO, "domain %u: QEMU lists %zu vCPUs", domid, n);
	else if (!(seen = calloc(n, sizeof(*seen))))
		rc = exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	for (size_t i = 0; !rc && i < n; i++) {
		yajl_val idx = kvm_jget(list->u.array.values[i], "cpu-index", NULL);
		long long v = idx && YAJL_IS_INTEGER(idx) ? YAJL_GET_INTEGER(idx) : -1;

		if (v < 0 || (size_t)v >= n || seen[v])
			rc = exl_fail(err, -EOPNOTSUPP,
				      "domain %u: its plugged vCPUs are not vCPUs 0 to %zu (an unplug the guest carried out in part?); vcpu-set it again first",
				      domid, n - 1);
		else
			seen[v] = true;
	}
	if (!rc)
		*out = (unsigned)n;
	free(seen);
	yajl_tree_free(ret);
	return rc;
}

static int by_address(const void *a, const void *b)
{
	const struct kvm_port *x = a, *y = b;
	unsigned ka = x->slot * 8 + x->fn, kb = y->slot * 8 + y->fn;

	return ka < kb ? -1 : ka > kb;
}

static int check_against_config(struct enso_ctx *ctx, uint32_t domid,
				const struct kvm_layout *l,
				struct enso_error *err)
{
	struct enso_domain_config c;
	int rc = rt_config_load(ctx, domid, &c, err);

	if (rc)
		return rc;
	rc = kvm_layout_check(l, &c, err);
	if (rc)
		exl_err_prefix(err, "domain %u: its devices cannot be described to the other end (a detach the guest has not carried out yet?): ",
			       domid);
	enso_config_dispose(&c);
	return rc;
}

int kvm_stream_layout(struct enso_ctx *ctx, uint32_t domid, char **layout,
		      struct enso_error *err)
{
	struct kvm_layout *l = calloc(2, sizeof(*l));	/* and its check */
	struct qmp *q = NULL;
	yajl_val ret = NULL, devs;
	char *text = NULL;
	int rc;

	*layout = NULL;
	if (!l)
		return exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);
	if (!rc)
		rc = kvm_qmp_call(q, domid, "query-pci", NULL, &ret, err);
	devs = rc ? NULL : kvm_pci_root_devices(ret);
	for (size_t i = 0; devs && !rc && i < devs->u.array.len; i++) {
		yajl_val pd = devs->u.array.values[i];
		const char *id = kvm_jstr(kvm_jget(pd, "qdev_id", NULL));

		if (!kvm_jget(pd, "pci_bridge", NULL) || !id || !*id)
			continue;
		if (l->n == KVM_LAYOUT_MAX)
			rc = exl_fail(err, -E2BIG, "domain %u: more than %d PCIe ports",
				      domid, KVM_LAYOUT_MAX);
		else
			rc = read_port(q, domid, pd, &l->port[l->n++], err);
	}
	if (!rc)
		rc = plugged_vcpus(q, domid, &l->vcpus, err);
	if (!rc) {
		qsort(l->port, l->n, sizeof(l->port[0]), by_address);
		text = kvm_layout_format(l);
		if (!text)
			rc = exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	}
	if (!rc) {
		rc = kvm_layout_parse(text, &l[1], err);
		if (rc)
			exl_err_prefix(err, "domain %u: its QEMU's ", domid);
	}
	/* What the other end will check, checked here while nothing has
	 * been sent: a device whose unplug the guest has not carried out
	 * yet (a forced detach) is in QEMU but no longer in the config. */
	if (!rc)
		rc = check_against_config(ctx, domid, &l[1], err);
	if (rc)
		free(text);
	else
		*layout = text;
	yajl_tree_free(ret);
	qmp_close(q);
	free(l);
	return rc;
}
