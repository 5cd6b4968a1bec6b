/*
 * The QEMU command line of a domain, from its domain model: the machine
 * (q35, KVM or TCG as chosen once per process), the guest's kernel and
 * command line, the console on the first serial port, disks, NICs, and
 * the QMP sockets and pid file in the domain's directory.  What QEMU
 * cannot do of a Xen xl.cfg is refused here, before QEMU runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"
#include "libxl/services.h"
#include "backends/backend.h"

static struct kvm_accel accel;
static bool accel_probed;

bool kvm_backend_choose_accel(char *why, size_t len)
{
	const char *force = getenv("ENSO_ACCEL");

	if (force && !strcmp(force, "tcg")) {
		accel.kvm = false;
		snprintf(accel.why, sizeof(accel.why), "ENSO_ACCEL=tcg");
		accel_probed = true;
	}
	if (!accel_probed) {
		kvm_probe(&accel);
		accel_probed = true;
	}
	snprintf(why, len, "%s%s", accel.why,
		 accel.kvm ? "" : ": using QEMU's TCG (software emulation, slow)");
	return accel.kvm;
}

static void arg(struct argv *a, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void arg(struct argv *a, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;

	if (a->oom)
		return;
	if (a->n + 2 > a->cap) {
		size_t ncap = a->cap ? a->cap * 2 : 64;
		char **nv = realloc(a->v, ncap * sizeof(*nv));

		if (!nv) {
			a->oom = true;
			return;
		}
		a->v = nv;
		a->cap = ncap;
	}
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0) {
		a->oom = true;
		s = NULL;
	}
	va_end(ap);
	if (!s)
		return;
	a->v[a->n++] = s;
	a->v[a->n] = NULL;
}

void kvm_argv_free(struct argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

const char *kvm_disk_format(const struct enso_disk *d)
{
	switch (d->format) {
	case ENSO_DISK_FORMAT_QCOW: return "qcow";
	case ENSO_DISK_FORMAT_QCOW2: return "qcow2";
	case ENSO_DISK_FORMAT_VHD: return "vpc";
	case ENSO_DISK_FORMAT_QED: return "qed";
	default: return "raw";
	}
}

/* QEMU's option values treat ',' as a separator: double it. */
static char *qemu_escape(const char *s)
{
	size_t n = 0;
	const char *p;
	char *out, *o;

	for (p = s; *p; p++)
		n += *p == ',' ? 2 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (p = s, o = out; *p; p++) {
		*o++ = *p;
		if (*p == ',')
			*o++ = ',';
	}
	*o = '\0';
	return out;
}

/* The guest's command line, with the Xen PV console (hvc0) moved to our
 * first serial port, and that port made the console if none is named. */
static char *guest_cmdline(const char *cmdline)
{
	static const char hvc[] = "console=hvc0", tty[] = "console=ttyS0";
	const char *c = cmdline ? cmdline : "", *p;
	size_t n = 0;
	char *out, *o;

	for (p = c; (p = strstr(p, hvc)); p += sizeof(hvc) - 1)
		n++;
	out = malloc(strlen(c) + n + sizeof(tty) + 2);
	if (!out)
		return NULL;
	for (p = c, o = out; *p;) {
		if (!strncmp(p, hvc, sizeof(hvc) - 1)) {
			memcpy(o, tty, sizeof(tty) - 1);
			o += sizeof(tty) - 1;
			p += sizeof(hvc) - 1;
		} else {
			*o++ = *p++;
		}
	}
	*o = '\0';
	if (!strstr(c, "console=")) {
		if (o != out)
			*o++ = ' ';
		strcpy(o, tty);
	}
	return out;
}

int kvm_check_disk(const char *who, const struct enso_disk *d,
		   struct enso_error *err)
{
	if (d->backend)
		return exl_fail(err, -EINVAL,
				"%s: disk %s: backend=%s names a driver domain, which is Xen-only",
				who, d->vdev, d->backend);
	if (d->target && access(d->target, d->readwrite ? R_OK | W_OK : R_OK))
		return exl_fail(err, -errno, "%s: disk %s: %s: %s", who,
				d->vdev, d->target, strerror(errno));
	return 0;
}

int kvm_check_config(const struct enso_domain_config *c,
		     struct enso_error *err)
{
	size_t i;

	if (c->bootloader)
		return exl_fail(err, -EINVAL,
				"%s: bootloader=%s is Xen-only (pygrub); the KVM backend boots kernel= directly",
				c->name, c->bootloader);
	if (!c->kernel && !c->ndisks)
		return exl_fail(err, -EINVAL,
				"%s: nothing to boot: give kernel= (and ramdisk=) or a disk",
				c->name);
	if (c->kernel && access(c->kernel, R_OK))
		return exl_fail(err, -errno, "%s: kernel %s: %s", c->name,
				c->kernel, strerror(errno));
	if (c->ramdisk && access(c->ramdisk, R_OK))
		return exl_fail(err, -errno, "%s: ramdisk %s: %s", c->name,
				c->ramdisk, strerror(errno));
	for (i = 0; i < c->ndisks; i++) {
		int rc = kvm_check_disk(c->name, &c->disks[i], err);

		if (rc)
			return rc;
	}
	if (c->cpus_soft.nmaps)
		return exl_fail(err, -EINVAL,
				"%s: cpus_soft= has no meaning on KVM: Linux's scheduler has no soft affinity; use cpus=",
				c->name);
	if (c->cpu_weight >= 0 || c->cap >= 0)
		return exl_fail(err, -ENOSYS,
				"%s: cpu_weight=/cap=: Xen scheduler parameters, not supported by Enso's KVM backend yet",
				c->name);
	for (i = 0; i < c->nnics; i++) {
		int rc = kvm_check_nic(c->name, &c->nics[i], err);

		if (rc)
			return rc;
	}
	return 0;
}

/* io_uring works in this kernel (it may be built without it, or have it
 * switched off by kernel.io_uring_disabled or a seccomp policy): asked
 * once, by setting one up. */
static bool have_io_uring(void)
{
	static int known = -1;

	if (known < 0) {
		struct io_uring_params p;
		long fd;

		memset(&p, 0, sizeof(p));
		fd = syscall(__NR_io_uring_setup, 1, &p);
		known = fd >= 0;
		if (fd >= 0)
			close((int)fd);
	}
	return known;
}

/*
 * How QEMU does a disk's I/O.  Its default, a thread pool over the host's
 * page cache, is the slow path under load and caches every guest's data
 * twice; io_uring with O_DIRECT (cache=none: the guest's own cache is the
 * only one, flushes still reach the disk) is the fast one.  A file system
 * that refuses O_DIRECT (tmpfs) gets the page cache, and a kernel without
 * io_uring QEMU's threads; each fallback leaves a line in note.
 */
void kvm_disk_io(const struct enso_disk *d, const char **cache,
		 const char **aio, char *note, size_t len)
{
	bool rw = d->readwrite && !d->is_cdrom;
	int fd = open(d->target, (rw ? O_RDWR : O_RDONLY) | O_DIRECT | O_CLOEXEC);
	size_t used = strlen(note);

	*cache = fd >= 0 ? "none" : "writeback";
	if (fd >= 0)
		close(fd);
	*aio = have_io_uring() ? "io_uring" : "threads";
	if (fd < 0 && used < len)
		used += (size_t)snprintf(note + used, len - used,
					 "enso: disk %s: %s takes no O_DIRECT here (%s): served through the host's page cache\n",
					 d->vdev, d->target, strerror(errno));
	if (!have_io_uring() && used < len)
		snprintf(note + used, len - used,
			 "enso: disk %s: this kernel offers no io_uring: QEMU's I/O threads serve it\n",
			 d->vdev);
}

/* The root port device dev goes behind, into port: a restore's from its
 * layout (checked to have it: kvm_layout_check); else the one named in
 * port, made here with that chassis. */
static void port_of(struct argv *a, const struct kvm_layout *lay,
		    const char *dev, char *port, size_t len, size_t chassis)
{
	if (lay) {
		const char *p = kvm_layout_port_of(lay, dev);

		snprintf(port, len, "%s", p ? p : "");
		return;
	}
	arg(a, "-device");
	arg(a, "pcie-root-port,id=%s,chassis=%zu", port, chassis);
}

void kvm_build_argv(struct enso_ctx *ctx, const struct enso_domain_config *c,
		    uint32_t domid, const char *dir, const char *console_log,
		    const char *kernel, bool incoming,
		    const struct kvm_layout *lay, struct argv *a,
		    char *note, size_t note_len)
{
	const char *qemu = getenv("ENSO_QEMU");
	char uuid[37], dev[32], port[32];
	size_t i;

	rt_uuid_format(c->uuid, uuid);
	arg(a, "%s", qemu && *qemu ? qemu : "qemu-system-x86_64");
	arg(a, "-name");
	arg(a, "%s,debug-threads=on", c->name);
	arg(a, "-uuid");
	arg(a, "%s", uuid);
	arg(a, "-machine");
	arg(a, "q35,accel=%s", accel.kvm ? "kvm" : "tcg");
	arg(a, "-cpu");
	arg(a, "%s", accel.kvm ? "host" : "max");
	arg(a, "-m");
	arg(a, "%lluM", (unsigned long long)(c->maxmem_kb / 1024));
	arg(a, "-smp");
	arg(a, "%u,maxcpus=%u", c->vcpus, c->maxvcpus);
	arg(a, "-nodefaults");
	arg(a, "-no-user-config");
	arg(a, "-display");
	arg(a, "none");
	arg(a, "-S");
	arg(a, "-action");
	arg(a, "reboot=shutdown,shutdown=pause,panic=pause");
	if (c->kernel) {
		char *cmd = guest_cmdline(c->cmdline);

		arg(a, "-kernel");
		arg(a, "%s", kernel);
		if (c->ramdisk) {
			arg(a, "-initrd");
			arg(a, "%s", c->ramdisk);
		}
		arg(a, "-append");
		arg(a, "%s", cmd ? cmd : "console=ttyS0");
		free(cmd);
	}
	arg(a, "-chardev");
	arg(a, "pty,id=con0,logfile=%s,logappend=on", console_log);
	arg(a, "-serial");
	arg(a, "chardev:con0");
	arg(a, "-device");
	arg(a, "virtio-balloon-pci,id=balloon0");
	arg(a, "-device");
	arg(a, "pvpanic");
	/* A restore's machine is the source's (layout.c): each of its root
	 * ports at its address, with its chassis, before the devices that
	 * go behind them. */
	for (i = 0; lay && i < lay->n; i++) {
		const struct kvm_port *p = &lay->port[i];

		arg(a, "-device");
		arg(a, "pcie-root-port,id=%s,chassis=%u,addr=%x.%x", p->id,
		    p->chassis, p->slot, p->fn);
	}
	for (i = 0; i < c->ndisks; i++) {
		const struct enso_disk *d = &c->disks[i];
		char *file = d->target ? qemu_escape(d->target) : NULL;
		const char *cache, *aio;

		if (d->target) {
			kvm_disk_io(d, &cache, &aio, note, note_len);
			arg(a, "-drive");
			arg(a, "file=%s,format=%s,if=none,id=disk%zu%s,cache=%s,aio=%s",
			    file ? file : "", kvm_disk_format(d), i,
			    d->readwrite && !d->is_cdrom ? "" : ",readonly=on",
			    cache, aio);
		} else {
			arg(a, "-drive");
			arg(a, "if=none,id=disk%zu,readonly=on", i);
		}
		free(file);
		if (d->is_cdrom) {
			arg(a, "-device");
			arg(a, "ide-cd,drive=disk%zu,bus=ide.%zu", i, i % 6);
			continue;
		}
		/* A root port of its own, as a hot-plugged disk has: q35's
		 * pcie.0 unplugs nothing, and block-detach finds the disk by
		 * its id (disk.c). */
		snprintf(dev, sizeof(dev), KVM_DISK_DEV "%u", d->vdev_number);
		snprintf(port, sizeof(port), KVM_DISK_PORT "%u", d->vdev_number);
		port_of(a, lay, dev, port, sizeof(port),
			KVM_HOTPLUG_PORTS + 1 + i);
		arg(a, "-device");
		arg(a, "virtio-blk-pci,bus=%s,id=%s,drive=disk%zu,serial=%s",
		    port, dev, i, d->vdev);
	}
	/* Free PCIe root ports for xl block-attach (disk.c), as libvirt
	 * leaves spare ones: q35 plugs a device only into a port that was
	 * there at boot.  (A restore's are in its layout.) */
	for (i = 0; !lay && i < KVM_HOTPLUG_PORTS; i++) {
		arg(a, "-device");
		arg(a, "pcie-root-port,id=" KVM_HOTPLUG_PORT "%zu,chassis=%zu", i,
		    i + 1);
	}
	for (i = 0; i < c->nnics; i++) {
		const struct enso_nic *n = &c->nics[i];
		const uint8_t *m = n->mac;
		char tap[IFNAMSIZ] = "";

		/* QEMU makes the tap, named like Xen's vif (checked to fit
		 * by kvm_check_nic); kvm_nics_plumb plumbs it.  A root port
		 * of its own, as for disks, so network-detach can unplug it. */
		rt_vif_name(domid, n, tap, sizeof(tap));
		arg(a, "-netdev");
		arg(a, "tap,id=" KVM_NIC_NET "%d,ifname=%s,script=no,downscript=no",
		    n->devid, tap);
		snprintf(dev, sizeof(dev), KVM_NIC_DEV "%d", n->devid);
		snprintf(port, sizeof(port), KVM_NIC_PORT "%d", n->devid);
		port_of(a, lay, dev, port, sizeof(port),
			KVM_HOTPLUG_PORTS + 1 + c->ndisks + i);
		arg(a, "-device");
		arg(a, "virtio-net-pci,bus=%s,id=%s,netdev=" KVM_NIC_NET "%d,mac=%02x:%02x:%02x:%02x:%02x:%02x",
		    port, dev, n->devid, m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	arg(a, "-qmp");
	arg(a, "unix:%s/qmp.sock,server=on,wait=off", dir);
	arg(a, "-qmp");
	arg(a, "unix:%s/events.sock,server=on,wait=off", dir);
	if (incoming) {
		/* The stream comes over QMP (migrate-incoming), once libxl
		 * has the domain's records in place. */
		arg(a, "-incoming");
		arg(a, "defer");
	}
	arg(a, "-pidfile");
	arg(a, "%s/qemu.pid", dir);
	arg(a, "-daemonize");
	(void)ctx;
}
