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
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "backends/kvm/kvm.h"
#include "libxl/services.h"
#include "backends/backend.h"

#define SAVE_FD_NAME "enso-save"
#define RESTORE_FD_NAME "enso-restore"
/* /libxl/<id>/<this>: the device set is no longer the config's. */
#define REPLUGGED_NODE "kvm-replugged"
/* QEMU's default (32 MiB/s) is for sharing a network; a file on the
 * host's own disk wants QEMU's full speed. */
#define SAVE_BANDWIDTH "{\"max-bandwidth\":17179869184}"
/* The first word of every QEMU migration stream ("QEVM"). */
static const char qemu_stream_magic[4] = { 'Q', 'E', 'V', 'M' };

static int pass_fd(struct qmp *q, uint32_t domid, int fd, const char *name,
		   struct enso_error *err)
{
	char args[64], msg[256];
	int rc;

	snprintf(args, sizeof(args), "{\"fdname\":\"%s\"}", name);
	rc = qmp_command_fd(q, "getfd", args, fd, 5000, NULL, msg, sizeof(msg));
	if (rc)
		return exl_fail(err, rc, "domain %u: passing the file to QEMU: %s",
				domid, msg);
	return 0;
}

/*
 * Until the migration has completed or failed, asking query-migrate
 * every 50 ms: the length of a save is the guest's memory over the
 * disk's speed, not something to bound.  doing: "saving", "loading".
 */
static int wait_migration(struct qmp *q, uint32_t domid, const char *doing,
			  struct enso_error *err)
{
	for (;;) {
		yajl_val ret = NULL;
		const char *st, *why;
		int rc = kvm_qmp_call(q, domid, "query-migrate", NULL, &ret, err);

		/* QEMU 7 exits on a stream it cannot load, and says why on
		 * a stderr that -daemonize has closed. */
		if (rc == -ECONNRESET || rc == -EPIPE)
			return exl_fail(err, -EIO,
					"domain %u: QEMU ended while %s the guest's state: the stream is cut short or corrupt",
					domid, doing);
		if (rc)
			return rc;
		st = kvm_jstr(kvm_jget(ret, "return", "status"));
		why = kvm_jstr(kvm_jget(ret, "return", "error-desc"));
		if (st && !strcmp(st, "completed")) {
			yajl_tree_free(ret);
			return 0;
		}
		if (st && (!strcmp(st, "failed") || !strcmp(st, "cancelled"))) {
			rc = exl_fail(err, -EIO, "domain %u: %s the guest's state %s: %s",
				      domid, doing, st, why ? why : "QEMU gives no reason");
			yajl_tree_free(ret);
			return rc;
		}
		yajl_tree_free(ret);
		poll(NULL, 0, 50);
	}
}

void kvm_mark_replugged(struct enso_ctx *ctx, uint32_t domid)
{
	char node[64];

	snprintf(node, sizeof(node), "/libxl/%u/" REPLUGGED_NODE, domid);
	rt_xs_write(ctx, XBT_NULL, node, "1");
}

int kvm_save(struct enso_ctx *ctx, uint32_t domid, int fd,
	     struct enso_error *err)
{
	char *node = rt_xs_read(ctx, "/libxl/%u/" REPLUGGED_NODE, domid);
	bool replugged = node != NULL;
	struct qmp *q = NULL;
	int rc;

	/* Restore starts QEMU from the config: its devices on the ports the
	 * command line gives them.  A device plugged in (or out) since sits
	 * elsewhere, and QEMU would refuse the stream; refused here, while
	 * the domain still runs, not after it is gone. */
	free(node);
	if (replugged)
		return exl_fail(err, -EOPNOTSUPP,
				"domain %u: devices or vCPUs were plugged in or out while it ran (block-/network-attach/-detach, vcpu-set); a restore could not match them yet, so it is not saved",
				domid);
	rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);

	if (!rc)
		rc = kvm_qmp_call(q, domid, "stop", NULL, NULL, err);
	if (!rc)
		rc = kvm_qmp_call(q, domid, "migrate-set-parameters",
				  SAVE_BANDWIDTH, NULL, err);
	if (!rc)
		rc = pass_fd(q, domid, fd, SAVE_FD_NAME, err);
	if (!rc) {
		/* QEMU takes the descriptor over from here, and closes it. */
		rc = kvm_qmp_call(q, domid, "migrate",
				  "{\"uri\":\"fd:" SAVE_FD_NAME "\"}", NULL, err);
		if (rc)
			kvm_qmp_call(q, domid, "closefd",
				     "{\"fdname\":\"" SAVE_FD_NAME "\"}", NULL,
				     NULL);
	}
	if (!rc)
		rc = wait_migration(q, domid, "saving", err);
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

int kvm_restore(struct enso_ctx *ctx, const struct backend_create *in,
		int fd, uint32_t *domid, struct enso_error *err)
{
	struct qmp *q = NULL;
	int rc = check_stream(fd, err);

	if (rc)
		return rc;
	rc = kvm_start(ctx, in, *domid, true, err);
	if (rc)
		return rc;
	rc = kvm_qmp_open(ctx, *domid, "qmp.sock", &q, err);
	if (!rc)
		rc = pass_fd(q, *domid, fd, RESTORE_FD_NAME, err);
	if (!rc)
		rc = kvm_qmp_call(q, *domid, "migrate-incoming",
				  "{\"uri\":\"fd:" RESTORE_FD_NAME "\"}", NULL,
				  err);
	if (!rc)
		rc = wait_migration(q, *domid, "loading", err);
	qmp_close(q);
	if (rc) {
		kvm_kill_qemu(ctx, *domid);
		kvm_remove_domain_dir(ctx, *domid);
	}
	return rc;
}
