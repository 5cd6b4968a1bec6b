/*
 * The KVM backend: one QEMU per domain, started from the domain model and
 * driven over QMP.  QEMU starts paused (-S) and daemonizes once it is
 * ready, so a failure to start is seen at once with QEMU's own words.
 *
 * Guest-side choices, so that one xl.cfg serves both hypervisors:
 *  - the PV console (hvc0 on Xen) is the first serial port here: a
 *    "console=hvc0" in the command line becomes "console=ttyS0", and the
 *    port is a pty whose path goes to console/tty, as on Xen;
 *  - disks are virtio-blk (cdroms: IDE cd on the q35 AHCI), NICs virtio-net
 *    on a tap named like Xen's vif (vif<domid>.<devid>), memory a
 *    virtio-balloon, crashes a pvpanic device;
 *  - guest poweroff, reboot and panic stop QEMU (-action) instead of ending
 *    it, and the per-domain monitor carries out on_poweroff / on_reboot /
 *    on_crash.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <net/if.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"
#include "enso-util.h"
#include "libxl/runtime.h"

#define QMP_TIMEOUT_MS 5000

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

/* ---- small helpers ---- */

struct argv {
	char **v;
	size_t n, cap;
	bool oom;
};

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

static void argv_free(struct argv *a)
{
	size_t i;

	for (i = 0; i < a->n; i++)
		free(a->v[i]);
	free(a->v);
}

static char *domain_dir(struct enso_ctx *ctx, uint32_t domid)
{
	char *p = NULL;

	if (asprintf(&p, "%s/qemu/%u", ctx->run_dir, domid) < 0)
		return NULL;
	return p;
}

static char *dom_file(struct enso_ctx *ctx, uint32_t domid, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/qemu/%u/%s", ctx->run_dir, domid, name) < 0)
		return NULL;
	return p;
}

static pid_t qemu_pid(struct enso_ctx *ctx, uint32_t domid)
{
	char *path = dom_file(ctx, domid, "qemu.pid");
	FILE *f = path ? fopen(path, "r") : NULL;
	long pid = 0;

	if (f) {
		if (fscanf(f, "%ld", &pid) != 1)
			pid = 0;
		fclose(f);
	}
	free(path);
	if (pid > 0 && kill((pid_t)pid, 0) == 0)
		return (pid_t)pid;
	return 0;
}

static int qmp_open(struct enso_ctx *ctx, uint32_t domid, const char *sock,
		    struct qmp **q, struct enso_error *err)
{
	char *path = dom_file(ctx, domid, sock);
	char msg[256];
	int rc;

	if (!path)
		return -ENOMEM;
	if (!qemu_pid(ctx, domid)) {
		free(path);
		return rt_fail(err, -ENOENT,
			       "domain %u: its QEMU is not running", domid);
	}
	rc = qmp_connect(path, QMP_TIMEOUT_MS, q, msg, sizeof(msg));
	free(path);
	if (rc)
		return rt_fail(err, rc, "domain %u: %s", domid, msg);
	return 0;
}

/* One QMP command on the command socket; *ret optional. */
static int qmp_run(struct enso_ctx *ctx, uint32_t domid, const char *cmd,
		   const char *args, yajl_val *ret, struct enso_error *err)
{
	struct qmp *q;
	char msg[256];
	int rc = qmp_open(ctx, domid, "qmp.sock", &q, err);

	if (rc)
		return rc;
	rc = qmp_command(q, cmd, args, QMP_TIMEOUT_MS, ret, msg, sizeof(msg));
	qmp_close(q);
	if (rc)
		return rt_fail(err, rc, "domain %u: %s", domid, msg);
	return 0;
}

static yajl_val jget(yajl_val v, const char *a, const char *b)
{
	const char *path[] = { a, b, NULL };

	return v ? yajl_tree_get(v, path, yajl_t_any) : NULL;
}

static const char *jstr(yajl_val v)
{
	return v && YAJL_IS_STRING(v) ? v->u.string : NULL;
}

/* ---- the command line ---- */

static const char *qemu_format(enum enso_disk_format f)
{
	switch (f) {
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

static int check_kvm_config(const struct enso_domain_config *c,
			    struct enso_error *err)
{
	size_t i;

	if (c->bootloader)
		return rt_fail(err, -EINVAL,
			       "%s: bootloader=%s is Xen-only (pygrub); the KVM backend boots kernel= directly",
			       c->name, c->bootloader);
	if (!c->kernel && !c->ndisks)
		return rt_fail(err, -EINVAL,
			       "%s: nothing to boot: give kernel= (and ramdisk=) or a disk",
			       c->name);
	if (c->kernel && access(c->kernel, R_OK))
		return rt_fail(err, -errno, "%s: kernel %s: %s", c->name,
			       c->kernel, strerror(errno));
	if (c->ramdisk && access(c->ramdisk, R_OK))
		return rt_fail(err, -errno, "%s: ramdisk %s: %s", c->name,
			       c->ramdisk, strerror(errno));
	for (i = 0; i < c->ndisks; i++) {
		const struct enso_disk *d = &c->disks[i];

		if (d->backend)
			return rt_fail(err, -EINVAL,
				       "%s: disk %s: backend=%s names a driver domain, which is Xen-only",
				       c->name, d->vdev, d->backend);
		if (d->target && access(d->target, d->readwrite ? R_OK | W_OK : R_OK))
			return rt_fail(err, -errno, "%s: disk %s: %s: %s",
				       c->name, d->vdev, d->target,
				       strerror(errno));
	}
	for (i = 0; i < c->nnics; i++)
		if (c->nics[i].backend)
			return rt_fail(err, -EINVAL,
				       "%s: vif %d: backend=%s names a driver domain, which is Xen-only",
				       c->name, c->nics[i].devid,
				       c->nics[i].backend);
	return 0;
}

static void build_argv(struct enso_ctx *ctx, const struct enso_domain_config *c,
		       uint32_t domid, const char *dir, const char *console_log,
		       struct argv *a)
{
	const char *qemu = getenv("ENSO_QEMU");
	char uuid[37];
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
		arg(a, "%s", c->kernel);
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
	for (i = 0; i < c->ndisks; i++) {
		const struct enso_disk *d = &c->disks[i];
		char *file = d->target ? qemu_escape(d->target) : NULL;

		if (d->target)
			arg(a, "-drive");
		if (d->target)
			arg(a, "file=%s,format=%s,if=none,id=disk%zu%s,cache=writeback",
			    file ? file : "", qemu_format(d->format), i,
			    d->readwrite && !d->is_cdrom ? "" : ",readonly=on");
		else {
			arg(a, "-drive");
			arg(a, "if=none,id=disk%zu,readonly=on", i);
		}
		free(file);
		arg(a, "-device");
		if (d->is_cdrom)
			arg(a, "ide-cd,drive=disk%zu,bus=ide.%zu", i, i % 6);
		else
			arg(a, "virtio-blk-pci,drive=disk%zu,serial=%s", i, d->vdev);
	}
	for (i = 0; i < c->nnics; i++) {
		const struct enso_nic *n = &c->nics[i];
		const uint8_t *m = n->mac;

		arg(a, "-netdev");
		if (n->vifname)
			arg(a, "tap,id=net%zu,ifname=%s,script=no,downscript=no", i,
			    n->vifname);
		else
			arg(a, "tap,id=net%zu,ifname=vif%u.%d,script=no,downscript=no",
			    i, domid, n->devid);
		arg(a, "-device");
		arg(a, "virtio-net-pci,netdev=net%zu,mac=%02x:%02x:%02x:%02x:%02x:%02x",
		    i, m[0], m[1], m[2], m[3], m[4], m[5]);
	}
	arg(a, "-qmp");
	arg(a, "unix:%s/qmp.sock,server=on,wait=off", dir);
	arg(a, "-qmp");
	arg(a, "unix:%s/events.sock,server=on,wait=off", dir);
	arg(a, "-pidfile");
	arg(a, "%s/qemu.pid", dir);
	arg(a, "-daemonize");
	(void)ctx;
}

/* The last lines QEMU wrote to its log, for an error message. */
static void log_tail(const char *path, char *out, size_t len)
{
	FILE *f = fopen(path, "r");
	char line[256];

	out[0] = '\0';
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = '\0';
		if (*line)
			snprintf(out, len, "%s", line);
	}
	fclose(f);
}

static int spawn_qemu(struct argv *a, const char *log_path,
		      struct enso_error *err)
{
	int status, logfd;
	pid_t pid;
	char tail[300];

	logfd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return rt_fail(err, -errno, "opening %s: %s", log_path,
			       strerror(errno));
	pid = fork();
	if (pid < 0) {
		close(logfd);
		return rt_fail(err, -errno, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDONLY);

		if (null >= 0)
			dup2(null, 0);
		dup2(logfd, 1);
		dup2(logfd, 2);
		execvp(a->v[0], a->v);
		fprintf(stderr, "cannot run %s: %s\n", a->v[0], strerror(errno));
		_exit(127);
	}
	close(logfd);
	/* With -daemonize this returns once QEMU is set up (or failed). */
	if (waitpid(pid, &status, 0) < 0)
		return rt_fail(err, -errno, "waiting for QEMU: %s", strerror(errno));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		log_tail(log_path, tail, sizeof(tail));
		return rt_fail(err, -EIO, "QEMU failed to start: %s (log: %s)",
			       *tail ? tail : "no message", log_path);
	}
	return 0;
}

/* Adds a tap to its bridge and brings it up (what vif-bridge does). */
static int attach_tap(const char *tap, const char *bridge, bool required,
		      char *warn, size_t wlen)
{
	struct ifreq ifr;
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), rc = 0;
	unsigned idx = if_nametoindex(tap);

	if (s < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", tap);
	if (ioctl(s, SIOCGIFFLAGS, &ifr) == 0) {
		ifr.ifr_flags |= IFF_UP;
		ioctl(s, SIOCSIFFLAGS, &ifr);
	}
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", bridge);
	ifr.ifr_ifindex = (int)idx;
	if (!idx || ioctl(s, SIOCBRADDIF, &ifr) < 0) {
		rc = -errno;
		snprintf(warn, wlen, "vif %s: cannot join bridge %s: %s", tap,
			 bridge, strerror(errno));
		if (!required)
			rc = 0;
	}
	close(s);
	return rc;
}

static int write_console_tty(struct enso_ctx *ctx, uint32_t domid,
			     struct enso_error *err)
{
	yajl_val ret = NULL, list;
	size_t i;
	int rc = qmp_run(ctx, domid, "query-chardev", NULL, &ret, err);

	if (rc)
		return rc;
	rc = rt_fail(err, -ENOENT, "domain %u: QEMU reports no console pty",
		     domid);
	list = jget(ret, "return", NULL);
	for (i = 0; list && YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
		yajl_val e = list->u.array.values[i];
		const char *label = jstr(jget(e, "label", NULL));
		const char *file = jstr(jget(e, "filename", NULL));
		char node[64];

		if (!label || !file || strcmp(label, "con0"))
			continue;
		if (strncmp(file, "pty:", 4))
			break;
		snprintf(node, sizeof(node), "/local/domain/%u/console/tty", domid);
		rt_xs_write(ctx, XBT_NULL, node, file + 4);
		snprintf(node, sizeof(node), "/local/domain/%u/console/type", domid);
		rt_xs_write(ctx, XBT_NULL, node, "serial");
		rc = 0;
		break;
	}
	yajl_tree_free(ret);
	return rc;
}

static void kill_qemu(struct enso_ctx *ctx, uint32_t domid)
{
	pid_t pid = qemu_pid(ctx, domid);
	int i;

	if (!pid)
		return;
	kill(pid, SIGTERM);
	for (i = 0; i < 100 && kill(pid, 0) == 0; i++)
		usleep(20000);
	if (kill(pid, 0) == 0)
		kill(pid, SIGKILL);
}

static void remove_domain_dir(struct enso_ctx *ctx, uint32_t domid)
{
	static const char *const files[] = { "qmp.sock", "events.sock",
					     "qemu.pid" };
	char *dir = domain_dir(ctx, domid);
	size_t i;

	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		char *f = dom_file(ctx, domid, files[i]);

		if (f)
			unlink(f);
		free(f);
	}
	if (dir)
		rmdir(dir);
	free(dir);
}

static int kvm_create(struct enso_ctx *ctx, const struct enso_domain_config *c,
		      uint32_t *domid, bool paused, struct enso_error *err)
{
	struct argv a = { 0 };
	char *dir = domain_dir(ctx, *domid), *qemu_log = NULL, *console_log = NULL;
	char *console_dir = NULL, warn[256] = "";
	char node[64], val[32];
	size_t i;
	int rc;

	if (!dir)
		return -ENOMEM;
	rc = check_kvm_config(c, err);
	if (rc)
		goto out;
	if (asprintf(&qemu_log, "%s/qemu-%s.log", ctx->log_dir, c->name) < 0 ||
	    asprintf(&console_dir, "%s/console", ctx->log_dir) < 0 ||
	    asprintf(&console_log, "%s/%s.log", console_dir, c->name) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = mkdir_p(dir)) || (rc = mkdir_p(console_dir))) {
		rt_fail(err, rc, "creating %s: %s", dir, strerror(-rc));
		goto out;
	}
	build_argv(ctx, c, *domid, dir, console_log, &a);
	if (a.oom) {
		rc = -ENOMEM;
		goto out;
	}
	rc = spawn_qemu(&a, qemu_log, err);
	if (rc)
		goto out;
	snprintf(node, sizeof(node), "/libxl/%u/qemu-pid", *domid);
	snprintf(val, sizeof(val), "%ld", (long)qemu_pid(ctx, *domid));
	rt_xs_write(ctx, XBT_NULL, node, val);
	rc = write_console_tty(ctx, *domid, err);
	if (rc)
		goto fail;
	for (i = 0; i < c->nnics; i++) {
		char tap[IFNAMSIZ];

		if (c->nics[i].vifname)
			snprintf(tap, sizeof(tap), "%s", c->nics[i].vifname);
		else
			snprintf(tap, sizeof(tap), "vif%u.%d", *domid,
				 c->nics[i].devid);
		rc = attach_tap(tap, c->nics[i].bridge ? c->nics[i].bridge : "xenbr0",
				c->nics[i].bridge != NULL, warn, sizeof(warn));
		if (rc) {
			rt_fail(err, rc, "%s", warn);
			goto fail;
		}
	}
	if (c->memory_kb < c->maxmem_kb) {
		char args[64];

		snprintf(args, sizeof(args), "{\"value\":%llu}",
			 (unsigned long long)c->memory_kb * 1024);
		rc = qmp_run(ctx, *domid, "balloon", args, NULL, err);
		if (rc)
			goto fail;
	}
	/* libxl unpauses once the records are in place. */
	(void)paused;
	goto out;
fail:
	kill_qemu(ctx, *domid);
	remove_domain_dir(ctx, *domid);
out:
	argv_free(&a);
	free(dir);
	free(qemu_log);
	free(console_log);
	free(console_dir);
	return rc;
}

static int kvm_destroy(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err)
{
	bool had = qemu_pid(ctx, domid) != 0;

	(void)err;
	kill_qemu(ctx, domid);
	remove_domain_dir(ctx, domid);
	return had ? 0 : -ENOENT;
}

static int kvm_pause(struct enso_ctx *ctx, uint32_t domid,
		     struct enso_error *err)
{
	return qmp_run(ctx, domid, "stop", NULL, NULL, err);
}

static int kvm_unpause(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err)
{
	return qmp_run(ctx, domid, "cont", NULL, NULL, err);
}

/* An ACPI power button press; KVM guests have no PV control node, and no
 * gentle reboot request, so reboot is a reset. */
static int kvm_shutdown(struct enso_ctx *ctx, uint32_t domid, bool reboot,
			struct enso_error *err)
{
	return qmp_run(ctx, domid, reboot ? "system_reset" : "system_powerdown",
		       NULL, NULL, err);
}

static double cpu_seconds(pid_t pid)
{
	char path[64], buf[1024], *p;
	unsigned long long ut = 0, st = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%ld/stat", (long)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f))
		buf[0] = '\0';
	fclose(f);
	p = strrchr(buf, ')');	/* the name may hold spaces */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &ut, &st) != 2)
		return 0;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int kvm_info(struct enso_ctx *ctx, uint32_t domid,
		    struct backend_dominfo *out, struct enso_error *err)
{
	yajl_val ret = NULL, v;
	pid_t pid = qemu_pid(ctx, domid);
	char *max;
	int rc;

	if (!pid)
		return rt_fail(err, -ENOENT, "domain %u: its QEMU is not running",
			       domid);
	rc = qmp_run(ctx, domid, "query-status", NULL, &ret, err);
	if (rc)
		return rc;
	if (jstr(jget(ret, "return", "status"))) {
		const char *s = jstr(jget(ret, "return", "status"));

		out->running = !strcmp(s, "running");
		out->paused = !strcmp(s, "paused") || !strcmp(s, "prelaunch");
		out->shutdown = !strcmp(s, "shutdown") ||
				!strcmp(s, "guest-panicked");
		if (!strcmp(s, "guest-panicked"))
			out->shutdown_reason = ENSO_SHUTDOWN_CRASH;
		else if (out->shutdown)
			out->shutdown_reason = ENSO_SHUTDOWN_POWEROFF;
	}
	yajl_tree_free(ret);
	max = rt_xs_read(ctx, "/local/domain/%u/memory/static-max", domid);
	out->max_kb = max ? strtoull(max, NULL, 10) : 0;
	free(max);
	out->current_kb = out->max_kb;
	if (qmp_run(ctx, domid, "query-balloon", NULL, &ret, NULL) == 0) {
		v = jget(ret, "return", "actual");
		if (v && YAJL_IS_INTEGER(v))
			out->current_kb = (uint64_t)YAJL_GET_INTEGER(v) / 1024;
		yajl_tree_free(ret);
	}
	if (qmp_run(ctx, domid, "query-cpus-fast", NULL, &ret, NULL) == 0) {
		v = jget(ret, "return", NULL);
		if (v && YAJL_IS_ARRAY(v))
			out->vcpus_online = (uint32_t)v->u.array.len;
		yajl_tree_free(ret);
	}
	out->max_vcpus = out->vcpus_online;
	out->cpu_seconds = cpu_seconds(pid);
	return 0;
}

static int kvm_set_memory(struct enso_ctx *ctx, uint32_t domid,
			  uint64_t target_kb, struct enso_error *err)
{
	char args[64];

	snprintf(args, sizeof(args), "{\"value\":%llu}",
		 (unsigned long long)target_kb * 1024);
	return qmp_run(ctx, domid, "balloon", args, NULL, err);
}

static int kvm_wait_shutdown(struct enso_ctx *ctx, uint32_t domid,
			     int *reason, struct enso_error *err)
{
	struct qmp *q;
	int rc = qmp_open(ctx, domid, "events.sock", &q, err);

	if (rc)
		return rc;
	for (;;) {
		yajl_val ev = qmp_next_event(q, -1, &rc);
		const char *name, *why;
		yajl_val r;

		if (!ev) {
			/* QEMU went away: destroyed, or died. */
			qmp_close(q);
			return rt_fail(err, -ENOENT, "domain %u: QEMU is gone",
				       domid);
		}
		name = qmp_event_name(ev);
		r = jget(ev, "data", "reason");
		why = jstr(r) ? jstr(r) : "";
		if (!strcmp(name, "GUEST_PANICKED") ||
		    (!strcmp(name, "SHUTDOWN") && !strcmp(why, "guest-panic")))
			*reason = ENSO_SHUTDOWN_CRASH;
		else if (!strcmp(name, "SHUTDOWN") && !strcmp(why, "guest-reset"))
			*reason = ENSO_SHUTDOWN_REBOOT;
		else if (!strcmp(name, "SHUTDOWN") && !strcmp(why, "guest-shutdown"))
			*reason = ENSO_SHUTDOWN_POWEROFF;
		else {
			yajl_tree_free(ev);
			continue;
		}
		yajl_tree_free(ev);
		qmp_close(q);
		return 0;
	}
}

static char *qemu_version(void)
{
	const char *qemu = getenv("ENSO_QEMU");
	char cmd[256], line[256] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "%s --version 2>/dev/null",
		 qemu && *qemu ? qemu : "qemu-system-x86_64");
	p = popen(cmd, "r");
	if (p) {
		if (!fgets(line, sizeof(line), p))
			line[0] = '\0';
		pclose(p);
	}
	line[strcspn(line, "\n")] = '\0';
	return strdup(*line ? line : "QEMU (version unknown)");
}

static int kvm_host_info(struct enso_ctx *ctx, struct enso_host_info *out,
			 struct enso_error *err)
{
	FILE *f = fopen("/proc/meminfo", "r");
	char line[256];

	(void)err;
	out->hypervisor = strdup(ctx->hv == ENSO_HV_KVM ? "kvm" : "qemu-tcg");
	out->why = strdup(ctx->hv_why);
	out->version = qemu_version();
	out->nr_cpus = (uint32_t)sysconf(_SC_NPROCESSORS_ONLN);
	while (f && fgets(line, sizeof(line), f)) {
		unsigned long long v;

		if (sscanf(line, "MemTotal: %llu kB", &v) == 1)
			out->total_kb = v;
		else if (sscanf(line, "MemAvailable: %llu kB", &v) == 1)
			out->free_kb = v;
	}
	if (f)
		fclose(f);
	if (!out->hypervisor || !out->why || !out->version) {
		enso_host_info_dispose(out);
		return -ENOMEM;
	}
	return 0;
}

const struct backend_ops backend_kvm = {
	.name = "kvm",
	.create = kvm_create,
	.destroy = kvm_destroy,
	.pause = kvm_pause,
	.unpause = kvm_unpause,
	.shutdown = kvm_shutdown,
	.info = kvm_info,
	.set_memory = kvm_set_memory,
	.wait_shutdown = kvm_wait_shutdown,
	.host_info = kvm_host_info,
};
