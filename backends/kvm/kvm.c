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
 *
 * This file holds the lifecycle and the ops table; the command line is
 * cmdline.c's, QEMU's process and QMP sockets qemu.c's, vcpu-set vcpus.c's,
 * vCPU affinity affinity.c's, block-attach/-detach disk.c's, the NICs'
 * plumbing and network-attach/-detach nic.c's, save and restore save.c's
 * (kvm_start below, with -incoming, is restore's start too).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"
#include "enso-util.h"
#include <xenstore.h>

#include "libxl/services.h"
#include "backends/backend.h"

static int write_console_tty(struct enso_ctx *ctx, uint32_t domid,
			     struct enso_error *err)
{
	yajl_val ret = NULL, list;
	size_t i;
	int rc = kvm_qmp_run(ctx, domid, "query-chardev", NULL, &ret, err);

	if (rc)
		return rc;
	rc = exl_fail(err, -ENOENT, "domain %u: QEMU reports no console pty",
		      domid);
	list = kvm_jget(ret, "return", NULL);
	for (i = 0; list && YAJL_IS_ARRAY(list) && i < list->u.array.len; i++) {
		yajl_val e = list->u.array.values[i];
		const char *label = kvm_jstr(kvm_jget(e, "label", NULL));
		const char *file = kvm_jstr(kvm_jget(e, "filename", NULL));
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
int kvm_start(struct enso_ctx *ctx, const struct backend_create *in,
	      uint32_t domid, bool incoming, const struct kvm_layout *lay,
	      struct enso_error *err)
{
	const struct enso_domain_config *c = in->cfg;
	struct argv a = { 0 };
	char *dir = kvm_domain_dir(ctx, domid), *qemu_log = NULL, *console_log = NULL;
	char *console_dir = NULL, note[1024] = "";
	/* QEMU boots the ELF libxl unpacked when it has a PVH entry (it
	 * starts at once, where the bzImage would decompress itself under
	 * emulation); else the kernel as given. */
	const char *kernel = in->kernel_pvh ? in->kernel : c->kernel;
	char node[64], val[32];
	int rc;

	if (!dir)
		return -ENOMEM;
	rc = kvm_check_config(c, err);
	if (rc)
		goto out;
	if (asprintf(&qemu_log, "%s/qemu-%s.log", rt_log_dir(ctx), c->name) < 0 ||
	    asprintf(&console_dir, "%s/console", rt_log_dir(ctx)) < 0 ||
	    asprintf(&console_log, "%s/%s.log", console_dir, c->name) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if ((rc = mkdir_p(dir)) || (rc = mkdir_p(console_dir))) {
		exl_fail(err, rc, "creating %s: %s", dir, strerror(-rc));
		goto out;
	}
	kvm_build_argv(ctx, c, domid, dir, console_log, kernel, incoming, lay,
		       &a, note, sizeof(note));
	if (a.oom) {
		rc = -ENOMEM;
		goto out;
	}
	/* The disks' fallbacks go first in QEMU's log. */
	rc = kvm_spawn_qemu(&a, qemu_log, note, err);
	if (rc)
		goto fail;	/* a QEMU half started may be left */
	rc = rt_test_stop(ctx, "after-qemu-start", err);
	if (rc)
		goto fail;
	snprintf(node, sizeof(node), "/libxl/%u/qemu-pid", domid);
	snprintf(val, sizeof(val), "%ld", (long)kvm_qemu_pid(ctx, domid));
	rt_xs_write(ctx, XBT_NULL, node, val);
	rc = write_console_tty(ctx, domid, err);
	if (rc)
		goto fail;
	rc = kvm_affinity_create(ctx, domid, in, err);
	if (rc)
		goto fail;
	/* QEMU has made the taps: onto their bridges, rate= policed. */
	rc = kvm_nics_plumb(ctx, domid, c, err);
	if (rc)
		goto fail;
	/* A restored guest's balloon comes with its state. */
	if (!incoming && c->memory_kb < c->maxmem_kb) {
		char args[64];

		snprintf(args, sizeof(args), "{\"value\":%llu}",
			 (unsigned long long)c->memory_kb * 1024);
		rc = kvm_qmp_run(ctx, domid, "balloon", args, NULL, err);
		if (rc)
			goto fail;
	}
	/* libxl unpauses once the records are in place. */
	goto out;
fail:
	kvm_kill_qemu(ctx, domid, true);
	/* A step after the NICs' (balloon) failing leaves their IFBs. */
	rt_vif_domain_gone(ctx, domid, NULL);
	kvm_remove_domain_dir(ctx, domid);
out:
	kvm_argv_free(&a);
	free(dir);
	free(qemu_log);
	free(console_log);
	free(console_dir);
	return rc;
}

static int kvm_create(struct enso_ctx *ctx, const struct backend_create *in,
		      uint32_t *domid, struct enso_error *err)
{
	return kvm_start(ctx, in, *domid, false, NULL, err);
}

static int kvm_running_ids(struct enso_ctx *ctx, uint32_t **ids, size_t *n)
{
	char *path = NULL;
	uint32_t *v = NULL;
	size_t cap = 0;
	struct dirent *e;
	DIR *d;

	*ids = NULL;
	*n = 0;
	if (asprintf(&path, "%s/qemu", rt_run_dir(ctx)) < 0)
		return -ENOMEM;
	d = opendir(path);
	free(path);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((e = readdir(d))) {
		unsigned long id;
		char *end;

		errno = 0;
		id = strtoul(e->d_name, &end, 10);
		if (errno || end == e->d_name || *end || id == 0 || id > 0x7fef)
			continue;
		if (*n == cap) {
			uint32_t *nv = realloc(v, (cap ? cap * 2 : 16) * sizeof(*v));

			if (!nv) {
				closedir(d);
				free(v);
				return -ENOMEM;
			}
			v = nv;
			cap = cap ? cap * 2 : 16;
		}
		v[(*n)++] = (uint32_t)id;
	}
	closedir(d);
	*ids = v;
	return 0;
}

static int kvm_records_restore(struct enso_ctx *ctx, uint32_t domid,
				struct enso_error *err)
{
	char node[64], val[32];

	snprintf(node, sizeof(node), "/libxl/%u/qemu-pid", domid);
	snprintf(val, sizeof(val), "%ld", (long)kvm_qemu_pid(ctx, domid));
	rt_xs_write(ctx, XBT_NULL, node, val);
	return write_console_tty(ctx, domid, err);
}

/* A QEMU whose guest has moved on (postmigrate: its disks flushed and
 * handed over, its state at the other end) has nothing left to save:
 * it is killed at once, not given SIGTERM and the second or more QEMU
 * takes to shut down, which a migration's total time would carry. */
static bool migrated_away(struct enso_ctx *ctx, uint32_t domid)
{
	yajl_val ret = NULL;
	const char *st;
	bool away;

	if (kvm_qmp_run(ctx, domid, "query-status", NULL, &ret, NULL))
		return false;
	st = kvm_jstr(kvm_jget(ret, "return", "status"));
	away = st && !strcmp(st, "postmigrate");
	yajl_tree_free(ret);
	return away;
}

static int kvm_destroy(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err)
{
	bool had = kvm_qemu_pid(ctx, domid) != 0 ||
		   kvm_find_qemu_by_cmdline(ctx, domid) != 0;

	(void)err;
	kvm_kill_qemu(ctx, domid, !migrated_away(ctx, domid));
	kvm_nics_gone(ctx, domid);
	/* QEMU's taps went with it; the IFBs of a rate= fallback did not.
	 * One that cannot go does not keep the domain alive. */
	rt_vif_domain_gone(ctx, domid, NULL);
	kvm_remove_domain_dir(ctx, domid);
	return had ? 0 : -ENOENT;
}

static int kvm_pause(struct enso_ctx *ctx, uint32_t domid,
		     struct enso_error *err)
{
	return kvm_qmp_run(ctx, domid, "stop", NULL, NULL, err);
}

static int kvm_unpause(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err)
{
	return kvm_qmp_run(ctx, domid, "cont", NULL, NULL, err);
}

/* An ACPI power button press; KVM guests have no PV control node, and no
 * gentle reboot request, so reboot is a reset. */
static int kvm_shutdown(struct enso_ctx *ctx, uint32_t domid, bool reboot,
			struct enso_error *err)
{
	return kvm_qmp_run(ctx, domid, reboot ? "system_reset" : "system_powerdown",
			   NULL, NULL, err);
}

static int kvm_info(struct enso_ctx *ctx, uint32_t domid,
		    struct backend_dominfo *out, struct enso_error *err)
{
	yajl_val ret = NULL, v;
	pid_t pid = kvm_qemu_pid(ctx, domid);
	struct qmp *q;
	char *max;
	int rc;

	if (!pid)
		return exl_fail(err, -ENOENT, "domain %u: its QEMU is not running",
				domid);
	rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);
	if (rc)
		return rc;
	rc = kvm_qmp_call(q, domid, "query-status", NULL, &ret, err);
	if (rc) {
		qmp_close(q);
		return rc;
	}
	if (kvm_jstr(kvm_jget(ret, "return", "status"))) {
		const char *s = kvm_jstr(kvm_jget(ret, "return", "status"));

		out->running = !strcmp(s, "running");
		/* A migrated-away QEMU is stopped as a paused one is, and
		 * runs again the same way (cont). */
		out->paused = !strcmp(s, "paused") || !strcmp(s, "prelaunch") ||
			      !strcmp(s, "postmigrate");
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
	if (kvm_qmp_call(q, domid, "query-balloon", NULL, &ret, NULL) == 0) {
		v = kvm_jget(ret, "return", "actual");
		if (v && YAJL_IS_INTEGER(v))
			out->current_kb = (uint64_t)YAJL_GET_INTEGER(v) / 1024;
		yajl_tree_free(ret);
	}
	/* The vCPUs plugged in QEMU now (vcpu-set changes them). */
	if (kvm_qmp_call(q, domid, "query-cpus-fast", NULL, &ret, NULL) == 0) {
		v = kvm_jget(ret, "return", NULL);
		if (v && YAJL_IS_ARRAY(v))
			out->vcpus_online = (uint32_t)v->u.array.len;
		yajl_tree_free(ret);
	}
	/* One slot per possible vCPU, plugged or not: maxvcpus. */
	out->max_vcpus = out->vcpus_online;
	if (kvm_qmp_call(q, domid, "query-hotpluggable-cpus", NULL, &ret, NULL) == 0) {
		v = kvm_jget(ret, "return", NULL);
		if (v && YAJL_IS_ARRAY(v) && v->u.array.len > out->vcpus_online)
			out->max_vcpus = (uint32_t)v->u.array.len;
		yajl_tree_free(ret);
	}
	qmp_close(q);
	{
		struct kvm_task_stat st;

		if (kvm_task_stat(pid, 0, &st) == 0)
			out->cpu_seconds = st.cpu_seconds;
	}
	return 0;
}

static int kvm_set_memory(struct enso_ctx *ctx, uint32_t domid,
			  uint64_t target_kb, struct enso_error *err)
{
	char args[64];

	snprintf(args, sizeof(args), "{\"value\":%llu}",
		 (unsigned long long)target_kb * 1024);
	return kvm_qmp_run(ctx, domid, "balloon", args, NULL, err);
}

/*
 * mem-max.  QEMU's guest RAM is fixed when it starts (-m, from maxmem=);
 * the balloon moves the guest's memory below it.  So the maximum can come
 * down, and go back up to that size, but not beyond: there is nothing to
 * give.  libxl records it (memory/static-max) and mem-set keeps below it.
 */
static int kvm_set_maxmem(struct enso_ctx *ctx, uint32_t domid,
			  uint64_t max_kb, struct enso_error *err)
{
	yajl_val ret = NULL, v;
	unsigned long long start_kb;
	int rc = kvm_qmp_run(ctx, domid, "query-memory-size-summary", NULL,
			     &ret, err);

	if (rc)
		return rc;
	v = kvm_jget(ret, "return", "base-memory");
	if (!v || !YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) <= 0) {
		yajl_tree_free(ret);
		return exl_fail(err, -EPROTO,
				"domain %u: QEMU reports no base-memory size",
				domid);
	}
	start_kb = (unsigned long long)YAJL_GET_INTEGER(v) / 1024;
	yajl_tree_free(ret);
	if (max_kb > start_kb)
		return exl_fail(err, -EINVAL,
				"domain %u: maximum %llu KiB is above the %llu KiB its QEMU was started with (maxmem=); a KVM guest's memory cannot grow past that while it runs",
				domid, (unsigned long long)max_kb, start_kb);
	return 0;
}

/* The monitor's hold on one QEMU: its event socket. */
struct backend_watch {
	struct qmp *events;
	uint32_t domid;
};

static int kvm_watch_open(struct enso_ctx *ctx, uint32_t domid,
			  struct backend_watch **out, int *fd,
			  struct enso_error *err)
{
	struct backend_watch *w = calloc(1, sizeof(*w));
	int rc;

	if (!w)
		return exl_fail(err, -ENOMEM, "domain %u: out of memory", domid);
	rc = kvm_qmp_open(ctx, domid, "events.sock", &w->events, err);
	if (rc) {
		free(w);
		return rc;
	}
	w->domid = domid;
	*fd = qmp_fd(w->events);
	*out = w;
	return 0;
}

/* Reads the events that have arrived; -action made QEMU stop (not quit)
 * on guest poweroff, reset and panic, so the monitor decides. */
static int kvm_watch_check(struct enso_ctx *ctx, struct backend_watch *w,
			   int *reason, struct enso_error *err)
{
	(void)ctx;
	for (;;) {
		int rc;
		yajl_val ev = qmp_next_event(w->events, 0, &rc);
		const char *name, *why;
		yajl_val r;

		if (!ev) {
			if (!rc)
				return 0;
			/* QEMU went away: destroyed, or died. */
			return exl_fail(err, -ENOENT, "domain %u: QEMU is gone",
					w->domid);
		}
		name = qmp_event_name(ev);
		r = kvm_jget(ev, "data", "reason");
		why = kvm_jstr(r) ? kvm_jstr(r) : "";
		*reason = -1;
		if (!strcmp(name, "GUEST_PANICKED") ||
		    (!strcmp(name, "SHUTDOWN") && !strcmp(why, "guest-panic")))
			*reason = ENSO_SHUTDOWN_CRASH;
		else if (!strcmp(name, "SHUTDOWN") && !strcmp(why, "guest-reset"))
			*reason = ENSO_SHUTDOWN_REBOOT;
		else if (!strcmp(name, "SHUTDOWN") && !strcmp(why, "guest-shutdown"))
			*reason = ENSO_SHUTDOWN_POWEROFF;
		yajl_tree_free(ev);
		if (*reason >= 0)
			return 1;
	}
}

static void kvm_watch_close(struct backend_watch *w)
{
	if (!w)
		return;
	qmp_close(w->events);
	free(w);
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
	const char *why;
	char line[256];

	(void)err;
	out->hypervisor = strdup(rt_hypervisor(ctx, &why) == ENSO_HV_KVM ?
				 "kvm" : "qemu-tcg");
	out->why = strdup(why);
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
	.dom0_is_host = true,
	.create = kvm_create,
	.records_restore = kvm_records_restore,
	.running_ids = kvm_running_ids,
	.destroy = kvm_destroy,
	.pause = kvm_pause,
	.unpause = kvm_unpause,
	.shutdown = kvm_shutdown,
	.info = kvm_info,
	.set_memory = kvm_set_memory,
	.set_maxmem = kvm_set_maxmem,
	.set_vcpus = kvm_set_vcpus,
	.watch_open = kvm_watch_open,
	.watch_check = kvm_watch_check,
	.watch_close = kvm_watch_close,
	.host_info = kvm_host_info,
	.vcpu_list = kvm_vcpu_list,
	.vcpu_pin = kvm_vcpu_pin,
	.node_cpus = kvm_node_cpus,
	.device_attach = kvm_device_attach,
	.device_detach = kvm_device_detach,
	.save = kvm_save,
	.stream_layout = kvm_stream_layout,
	.migrate_send = kvm_migrate_send,
	.restore = kvm_restore,
};
