/*
 * Where a KVM domain's PCIe devices sit: the text a save file or a
 * migration stream carries for the restoring end (backend.h's
 * stream_layout), read and written here; ports.c reads it off QEMU.
 *
 * Create puts each disk and NIC of the config behind a PCIe root port of
 * its own and leaves KVM_HOTPLUG_PORTS spare ports (cmdline.c);
 * block-attach and network-attach plug into a spare one, and detach
 * leaves a port empty.  QEMU's migration stream names a device by its
 * place on the PCI bus, and checks each root port's read-only registers
 * (its chassis number among them), so the restoring QEMU needs every port
 * at the same address with the same chassis, and each device behind the
 * same port.  The config says which devices there are; the layout says
 * where:
 *
 *   kvm1;vcpus=<n>;<port>,<chassis>,<slot>.<function>,<device or ->;...
 *
 * e.g. "kvm1;vcpus=2;vbd-port51712,5,2.0,vbd51712;hotplug-port0,1,3.0,vbd51728".
 * vcpus= (optional) counts the vCPUs QEMU has plugged: the restoring end
 * plugs those above the config's vcpus as vcpu-set does (save.c) before
 * it loads the stream.
 * It comes out of a stream, from anybody: only the id shapes Enso gives
 * (they go into QEMU's command line), numbers in range, no port, address
 * or device twice, and every device one of the config's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kvm/kvm.h"
#include "libxl/services.h"

#define LAYOUT_VERSION "kvm1"

/* s is prefix followed by 1 to 10 digits. */
static bool numbered(const char *s, const char *prefix)
{
	size_t p = strlen(prefix), n;

	if (strncmp(s, prefix, p))
		return false;
	n = strspn(s + p, "0123456789");
	return n >= 1 && n <= 10 && s[p + n] == '\0';
}

static bool port_id_ok(const char *s)
{
	return numbered(s, KVM_DISK_PORT) || numbered(s, KVM_NIC_PORT) ||
	       numbered(s, KVM_HOTPLUG_PORT);
}

static bool dev_id_ok(const char *s)
{
	return numbered(s, KVM_DISK_DEV) || numbered(s, KVM_NIC_DEV);
}

/* An unsigned decimal of 1 to digits digits, up to max, ending at *end. */
static bool small_number(const char *s, const char *end, int digits,
			 unsigned max, unsigned *out)
{
	unsigned v = 0;

	if (s == end || end - s > digits)
		return false;
	for (; s < end; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
	}
	*out = v;
	return v <= max;
}

/* "vcpus=<n>", n from 1 to ENSO_MAX_CPUS. */
static int parse_vcpus(const char *e, struct kvm_layout *l,
		       struct enso_error *err)
{
	const char *v = e + strlen("vcpus=");
	unsigned count;

	if (l->vcpus)
		return exl_fail(err, -EINVAL, "device layout: vcpus= given twice");
	if (*v == '0' || !small_number(v, v + strlen(v), 4, ENSO_MAX_CPUS, &count))
		return exl_fail(err, -EINVAL, "device layout: vcpus= wants 1 to %d",
				ENSO_MAX_CPUS);
	l->vcpus = count;
	return 0;
}

/* One "<port>,<chassis>,<slot>.<fn>,<dev>" entry (NUL-terminated, in
 * place); the port's fields checked one by one. */
static int parse_port(char *e, struct kvm_port *p, size_t i,
		      struct enso_error *err)
{
	char *f[4], *dot;
	size_t k;

	for (k = 0; k < 4; k++) {
		f[k] = e;
		e = strchr(e, ',');
		if (k < 3 && !e)
			break;
		if (e)
			*e++ = '\0';
	}
	if (k < 4 || e)
		return exl_fail(err, -EINVAL,
				"device layout: entry %zu: expected port,chassis,slot.function,device",
				i + 1);
	if (strlen(f[0]) >= sizeof(p->id) || !port_id_ok(f[0]))
		return exl_fail(err, -EINVAL,
				"device layout: entry %zu: not a root port Enso makes",
				i + 1);
	strcpy(p->id, f[0]);
	dot = strchr(f[2], '.');
	if (!small_number(f[1], f[1] + strlen(f[1]), 3, 255, &p->chassis) ||
	    !dot || !small_number(f[2], dot, 3, 31, &p->slot) ||
	    !small_number(dot + 1, dot + 1 + strlen(dot + 1), 3, 7, &p->fn))
		return exl_fail(err, -EINVAL,
				"device layout: port %s: chassis 0-255 and address slot.function (0-31.0-7) expected",
				p->id);
	if (!strcmp(f[3], "-")) {
		p->dev[0] = '\0';
	} else if (strlen(f[3]) < sizeof(p->dev) && dev_id_ok(f[3])) {
		strcpy(p->dev, f[3]);
	} else {
		return exl_fail(err, -EINVAL,
				"device layout: port %s: its device is no disk or NIC Enso plugs",
				p->id);
	}
	return 0;
}

/* No port id, address or device twice. */
static int check_unique(const struct kvm_layout *l, struct enso_error *err)
{
	for (size_t i = 0; i < l->n; i++) {
		const struct kvm_port *a = &l->port[i];

		for (size_t j = 0; j < i; j++) {
			const struct kvm_port *b = &l->port[j];

			if (!strcmp(a->id, b->id))
				return exl_fail(err, -EINVAL,
						"device layout: port %s is there twice",
						a->id);
			if (a->slot == b->slot && a->fn == b->fn)
				return exl_fail(err, -EINVAL,
						"device layout: ports %s and %s share the address %u.%u",
						b->id, a->id, a->slot, a->fn);
			if (a->dev[0] && !strcmp(a->dev, b->dev))
				return exl_fail(err, -EINVAL,
						"device layout: device %s is behind two ports (%s, %s)",
						a->dev, b->id, a->id);
		}
	}
	return 0;
}

int kvm_layout_parse(const char *text, struct kvm_layout *l,
		     struct enso_error *err)
{
	char *copy, *e, *next;
	int rc = 0;

	memset(l, 0, sizeof(*l));
	if (!text)
		return exl_fail(err, -EINVAL, "device layout: none");
	if (strncmp(text, LAYOUT_VERSION, strlen(LAYOUT_VERSION)) ||
	    (text[strlen(LAYOUT_VERSION)] != ';' &&
	     text[strlen(LAYOUT_VERSION)] != '\0'))
		return exl_fail(err, -EINVAL,
				"device layout: not of a kind this Enso reads (not '" LAYOUT_VERSION "')");
	if (strlen(text) > KVM_LAYOUT_MAX * 80)
		return exl_fail(err, -EINVAL, "device layout: longer than %d ports can be",
				KVM_LAYOUT_MAX);
	copy = strdup(text + strlen(LAYOUT_VERSION));
	if (!copy)
		return exl_fail(err, -ENOMEM, "out of memory");
	/* "kvm1": no port at all; else ";entry" after ";entry". */
	for (e = *copy ? copy + 1 : NULL; e && !rc; e = next) {
		next = strchr(e, ';');
		if (next)
			*next++ = '\0';
		if (!strncmp(e, "vcpus=", strlen("vcpus=")))
			rc = parse_vcpus(e, l, err);
		else if (l->n == KVM_LAYOUT_MAX)
			rc = exl_fail(err, -EINVAL, "device layout: more than %d ports",
				      KVM_LAYOUT_MAX);
		else if (!(rc = parse_port(e, &l->port[l->n], l->n, err)))
			l->n++;
	}
	free(copy);
	if (!rc)
		rc = check_unique(l, err);
	if (rc)
		memset(l, 0, sizeof(*l));
	return rc;
}

char *kvm_layout_format(const struct kvm_layout *l)
{
	size_t cap = sizeof(LAYOUT_VERSION) + 16 + l->n * 96, len;
	char *s = malloc(cap);

	if (!s)
		return NULL;
	len = (size_t)snprintf(s, cap, LAYOUT_VERSION);
	if (l->vcpus)
		len += (size_t)snprintf(s + len, cap - len, ";vcpus=%u", l->vcpus);
	for (size_t i = 0; i < l->n && len < cap; i++) {
		const struct kvm_port *p = &l->port[i];

		len += (size_t)snprintf(s + len, cap - len, ";%s,%u,%u.%u,%s",
					p->id, p->chassis, p->slot, p->fn,
					p->dev[0] ? p->dev : "-");
	}
	if (len >= cap) {
		free(s);
		return NULL;
	}
	return s;
}

const char *kvm_layout_port_of(const struct kvm_layout *l, const char *dev)
{
	for (size_t i = 0; i < l->n; i++)
		if (!strcmp(l->port[i].dev, dev))
			return l->port[i].id;
	return NULL;
}

int kvm_layout_check(const struct kvm_layout *l,
		     const struct enso_domain_config *c, struct enso_error *err)
{
	size_t placed = 0, devs = 0;
	char id[32];

	if (l->vcpus > c->maxvcpus)
		return exl_fail(err, -EINVAL,
				"device layout: %u vCPUs plugged, more than the config's maxvcpus %u",
				l->vcpus, c->maxvcpus);

	for (size_t i = 0; i < c->ndisks; i++) {
		if (c->disks[i].is_cdrom)
			continue;	/* on IDE, not behind a port */
		snprintf(id, sizeof(id), KVM_DISK_DEV "%u", c->disks[i].vdev_number);
		if (!kvm_layout_port_of(l, id))
			return exl_fail(err, -EINVAL,
					"device layout: disk %s (%s) is behind no port",
					c->disks[i].vdev, id);
		placed++;
	}
	for (size_t i = 0; i < c->nnics; i++) {
		snprintf(id, sizeof(id), KVM_NIC_DEV "%d", c->nics[i].devid);
		if (!kvm_layout_port_of(l, id))
			return exl_fail(err, -EINVAL,
					"device layout: vif %d (%s) is behind no port",
					c->nics[i].devid, id);
		placed++;
	}
	for (size_t i = 0; i < l->n; i++)
		devs += l->port[i].dev[0] != '\0';
	if (devs != placed)
		return exl_fail(err, -EINVAL,
				"device layout: %zu devices behind its ports, but the config has %zu (a device the source could not unplug?)",
				devs, placed);
	return 0;
}
