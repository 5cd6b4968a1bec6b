/*
 * Save and restore on KVM: the guest's state is QEMU's own migration
 * stream, written to and read from the save file after libxl's header.
 * QEMU gets the file over QMP (getfd: the descriptor rides on the
 * command, SCM_RIGHTS), then migrates to, or loads from, "fd:<name>" at
 * the file's current offset, which is just after the header.
 *
 * save stops the guest first: a file wants one copy of memory, not the
 * rounds a live migration sends while the guest runs.  restore starts
 * QEMU as create does but with -incoming defer, and feeds it the stream
 * once it runs.  A stream QEMU cannot load makes QEMU 7 exit (it has no
 * exit-on-error=false yet): that is seen as its QMP socket closing.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"
#include "libxl/services.h"
#include "backends/backend.h"

#define SAVE_FD_NAME "enso-save"
#define RESTORE_FD_NAME "enso-restore"
/* Stopped guest: the downtime limit does not matter, the speed does
 * (kvm_migration_setup lifts QEMU's bandwidth cap). */
#define KVM_SAVE_DOWNTIME_MS 300
/* The first word of every QEMU migration stream ("QEVM"). */
static const char qemu_stream_magic[4] = { 'Q', 'E', 'V', 'M' };

int kvm_save(struct enso_ctx *ctx, uint32_t domid, int fd,
	     struct enso_error *err)
{
	struct qmp *q = NULL;
	int rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);

	/* A file wants one copy of memory, not precopy rounds. */
	if (!rc)
		rc = kvm_qmp_call(q, domid, "stop", NULL, NULL, err);
	if (!rc)
		rc = kvm_migration_setup(q, domid, KVM_SAVE_DOWNTIME_MS, err);
	if (!rc)
		rc = kvm_migration_start(q, domid, fd, SAVE_FD_NAME, err);
	if (!rc)
		rc = kvm_migration_wait(q, domid, "saving", NULL, err);
	qmp_close(q);
	return rc;
}

/* Refuses, before QEMU starts, a stream that is not QEMU's (a Xen save
 * file, or garbage), where fd can be read without consuming it. */
static int check_stream(int fd, struct enso_error *err)
{
	off_t at = lseek(fd, 0, SEEK_CUR);
	unsigned char m[4];
	ssize_t n;

	if (at < 0)
		return 0;	/* a pipe: QEMU will judge */
	n = pread(fd, m, sizeof(m), at);
	if (n < 0)
		return exl_fail(err, -errno, "reading the saved state: %s",
				strerror(errno));
	if (n == 0)
		return exl_fail(err, -EINVAL,
				"the file ends after its header: it holds no guest state (truncated?)");
	if (n < 4 || memcmp(m, qemu_stream_magic, 4))
		return exl_fail(err, -EINVAL,
				"the guest state after the header is not QEMU's migration stream (it starts %02x %02x %02x %02x, not \"QEVM\"): a save file of another hypervisor, or corrupt",
				m[0], n > 1 ? m[1] : 0, n > 2 ? m[2] : 0,
				n > 3 ? m[3] : 0);
	return 0;
}

/* The stream's device layout (backend.h's stream_layout), parsed and
 * checked against the config: *lay malloc'd, NULL when there is none. */
static int stream_layout(const struct backend_create *in,
			 struct kvm_layout **lay, struct enso_error *err)
{
	int rc;

	*lay = NULL;
	if (!in->device_layout)
		return 0;
	*lay = malloc(sizeof(**lay));
	if (!*lay)
		return exl_fail(err, -ENOMEM, "out of memory");
	rc = kvm_layout_parse(in->device_layout, *lay, err);
	if (!rc)
		rc = kvm_layout_check(*lay, in->cfg, err);
	if (rc) {
		free(*lay);
		*lay = NULL;
	}
	return rc;
}

/* The vCPUs vcpu-set had plugged at the source, plugged here the same
 * way (device_add, the same ids) while QEMU waits for the stream: QEMU's
 * stream wants them so, not as boot vCPUs (-smp), and so they stay
 * vcpu-set's to unplug. */
static int replug_vcpus(struct enso_ctx *ctx, const struct backend_create *in,
			const struct kvm_layout *lay, uint32_t domid,
			struct enso_error *err)
{
	int rc = 0;

	if (lay && lay->vcpus > in->cfg->vcpus)
		rc = kvm_set_vcpus(ctx, domid, lay->vcpus, err);
	if (rc)
		exl_err_prefix(err, "plugging the vCPUs the source had: ");
	return rc;
}

int kvm_restore(struct enso_ctx *ctx, const struct backend_create *in,
		int fd, uint32_t *domid, struct enso_error *err)
{
	struct kvm_layout *lay = NULL;
	struct qmp *q = NULL;
	int rc = check_stream(fd, err);

	/* A restore rebuilds the source's machine: its ports, and each disk
	 * and NIC where it sat there (plugged in since create or not). */
	if (!rc)
		rc = stream_layout(in, &lay, err);
	if (!rc)
		rc = kvm_start(ctx, in, *domid, true, lay, err);
	if (rc) {
		free(lay);
		return rc;
	}
	rc = replug_vcpus(ctx, in, lay, *domid, err);
	free(lay);
	if (!rc)
		rc = kvm_qmp_open(ctx, *domid, "qmp.sock", &q, err);
	/* Events: the moment the last byte is in is when a migration's
	 * receiver may ask for the go-ahead. */
	if (!rc)
		rc = kvm_migration_setup(q, *domid, 0, err);
	if (!rc)
		rc = kvm_pass_fd(q, *domid, fd, RESTORE_FD_NAME, err);
	if (!rc)
		rc = kvm_qmp_call(q, *domid, "migrate-incoming",
				  "{\"uri\":\"fd:" RESTORE_FD_NAME "\"}", NULL,
				  err);
	if (!rc)
		rc = kvm_migration_wait(q, *domid, "loading", NULL, err);
	qmp_close(q);
	if (rc) {
		kvm_kill_qemu(ctx, *domid, false);
		kvm_remove_domain_dir(ctx, *domid);
	}
	return rc;
}
