/*
 * QEMU's migration, the part save, restore and live migration share, and
 * live migration's sending half (backend op migrate_send).
 *
 * The ends learn how a migration goes from QEMU's MIGRATION and
 * MIGRATION_PASS events (capability "events"), not by polling: the
 * moment the receiving QEMU has the last byte is the moment xl may ask
 * for the go-ahead, and every millisecond between is the guest's
 * downtime.  query-migrate is asked between events for the figures.
 *
 * Precopy policy: QEMU stops the guest for the last copy once what is
 * left fits in the downtime it is allowed.  Enso allows it little
 * (MIGRATE_DOWNTIME_MS, against QEMU's and libvirt's 300 ms), and a
 * guest that dirties memory faster than the link copies it would never
 * get there: after MIGRATE_ROUNDS_MAX rounds the limit is lifted, and
 * the next round is the last (upstream Xen's rule, five rounds).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enso-util.h"
#include "backends/kvm/kvm.h"
#include "libxl/services.h"
#include "backends/backend.h"

#define MIGRATE_FD_NAME "enso-migrate"
#define MIGRATE_DOWNTIME_MS 30
#define MIGRATE_ROUNDS_MAX 5
/* The limit once the rounds are spent: whatever is left goes now. */
#define MIGRATE_DOWNTIME_LAST_MS 60000
/* How often the sender hears figures between events (and checks for a
 * cancel); the receiver only waits. */
#define MIGRATE_TICK_MS 250
/* QEMU's default (128 MiB/s) is for sharing a network; a migration to a
 * host's own disk or across a dedicated link wants QEMU's full speed,
 * as libvirt gives it. */
#define MIGRATE_PARAMS_FMT "{\"max-bandwidth\":17179869184,\"downtime-limit\":%u}"

int kvm_migration_setup(struct qmp *q, uint32_t domid, unsigned downtime_ms,
			struct enso_error *err)
{
	char args[128];
	int rc;

	rc = kvm_qmp_call(q, domid, "migrate-set-capabilities",
			  "{\"capabilities\":[{\"capability\":\"events\",\"state\":true}]}",
			  NULL, err);
	if (rc)
		return rc;
	if (!downtime_ms)
		return 0;
	snprintf(args, sizeof(args), MIGRATE_PARAMS_FMT, downtime_ms);
	return kvm_qmp_call(q, domid, "migrate-set-parameters", args, NULL, err);
}

static uint64_t num(yajl_val v)
{
	if (!v || !YAJL_IS_NUMBER(v))
		return 0;
	if (YAJL_IS_INTEGER(v))
		return YAJL_GET_INTEGER(v) > 0 ? (uint64_t)YAJL_GET_INTEGER(v) : 0;
	return YAJL_GET_DOUBLE(v) > 0 ? (uint64_t)YAJL_GET_DOUBLE(v) : 0;
}

/* query-migrate's figures into p; its status (borrowed from *ret, which
 * the caller frees), NULL when QEMU gave none. */
static const char *query(struct qmp *q, uint32_t domid, yajl_val *ret,
			 struct enso_migrate_progress *p, int *rc,
			 struct enso_error *err)
{
	yajl_val r;
	uint64_t page;

	*ret = NULL;
	*rc = kvm_qmp_call(q, domid, "query-migrate", NULL, ret, err);
	if (*rc)
		return NULL;
	r = kvm_jget(*ret, "return", NULL);
	if (p) {
		yajl_val ram = kvm_jget(r, "ram", NULL);

		p->bytes_sent = num(kvm_jget(ram, "transferred", NULL));
		p->memory_bytes = num(kvm_jget(ram, "total", NULL));
		p->remaining_bytes = num(kvm_jget(ram, "remaining", NULL));
		p->dirty_pages_rate = num(kvm_jget(ram, "dirty-pages-rate", NULL));
		p->rate_bps = (uint64_t)(num(kvm_jget(ram, "mbps", NULL)) * 125000);
		p->elapsed_ms = num(kvm_jget(r, "total-time", NULL));
		p->downtime_ms = num(kvm_jget(r, "downtime", NULL));
		page = num(kvm_jget(ram, "page-size", NULL));
		if (kvm_jget(ram, "dirty-sync-count", NULL))
			p->round = (uint32_t)num(kvm_jget(ram, "dirty-sync-count", NULL));
		if (page)
			p->dirty_pages = p->remaining_bytes / page;
	}
	return kvm_jstr(kvm_jget(r, "status", NULL));
}

/* Lifts the downtime limit: the next round is the last. */
static void last_round(struct qmp *q, uint32_t domid)
{
	char args[128];

	snprintf(args, sizeof(args), MIGRATE_PARAMS_FMT,
		 MIGRATE_DOWNTIME_LAST_MS);
	kvm_qmp_call(q, domid, "migrate-set-parameters", args, NULL, NULL);
}

static int ended(struct qmp *q, uint32_t domid, const char *doing,
		 const char *status, struct enso_migrate_progress *p,
		 bool cancelling, struct enso_error *err)
{
	yajl_val ret = NULL;
	const char *why = NULL;
	int rc = 0;

	if (!strcmp(status, "completed")) {
		/* The figures of the whole migration, downtime included. */
		if (p)
			query(q, domid, &ret, p, &rc, NULL);
		yajl_tree_free(ret);
		return 0;
	}
	if (query(q, domid, &ret, NULL, &rc, NULL))
		why = kvm_jstr(kvm_jget(ret, "return", "error-desc"));
	if (cancelling)
		rc = exl_fail(err, -ECANCELED, "domain %u: %s the guest's state cancelled",
			      domid, doing);
	else
		rc = exl_fail(err, -EIO, "domain %u: QEMU %s while %s the guest's state: %s",
			      domid, status, doing,
			      why ? why : strcmp(doing, "loading") ?
			      "it gives no reason (the other end went away?)" :
			      "the stream is cut short or corrupt");
	yajl_tree_free(ret);
	return rc;
}

/* QEMU 7 exits on a stream it cannot load, and says why on a stderr
 * that -daemonize has closed: its QMP socket closes. */
static int qemu_gone(uint32_t domid, const char *doing,
		     struct enso_error *err)
{
	return exl_fail(err, -EIO,
			"domain %u: QEMU ended while %s the guest's state: the stream is cut short or corrupt",
			domid, doing);
}

static bool terminal(const char *st)
{
	return st && (!strcmp(st, "completed") || !strcmp(st, "failed") ||
		      !strcmp(st, "cancelled"));
}

int kvm_migration_wait(struct qmp *q, uint32_t domid, const char *doing,
		       const struct kvm_migration_watch *w,
		       struct enso_error *err)
{
	struct enso_migrate_progress p;
	long long next_query = 0;
	bool cancelling = false, lifted = false;
	/* The receiver only waits: a query a second in case an event was
	 * missed. */
	int tick = w ? MIGRATE_TICK_MS : 1000;

	memset(&p, 0, sizeof(p));
	for (;;) {
		int rc = 0;
		yajl_val ev = qmp_next_event(q, tick, &rc), ret = NULL;
		const char *name = ev ? qmp_event_name(ev) : "";
		char status[16] = "";
		bool round = !strcmp(name, "MIGRATION_PASS");

		if (rc) {
			yajl_tree_free(ev);
			return qemu_gone(domid, doing, err);
		}
		if (!strcmp(name, "MIGRATION")) {
			const char *st = kvm_jstr(kvm_jget(ev, "data", "status"));

			snprintf(status, sizeof(status), "%s", st ? st : "");
		} else if (!strcmp(name, "STOP")) {
			p.stopped = true;
		}
		yajl_tree_free(ev);
		if (!terminal(status) && (round || monotonic_ms() >= next_query)) {
			const char *st = query(q, domid, &ret, w ? &p : NULL, &rc, err);

			snprintf(status, sizeof(status), "%s", st ? st : "");
			yajl_tree_free(ret);
			if (rc == -ECONNRESET || rc == -EPIPE)
				return qemu_gone(domid, doing, err);
			if (rc)
				return rc;
			next_query = monotonic_ms() + tick;
		}
		if (terminal(status)) {
			rc = ended(q, domid, doing, status, w ? w->out : NULL,
				   cancelling, err);
			if (w && w->out)
				w->out->stopped = true;
			return rc;
		}
		if (!w)
			continue;
		if (!lifted && p.round > MIGRATE_ROUNDS_MAX) {
			last_round(q, domid);
			lifted = true;
		}
		if (w->out)
			*w->out = p;
		if (!cancelling && w->progress && !w->progress(w->opaque, &p)) {
			kvm_qmp_call(q, domid, "migrate_cancel", NULL, NULL, NULL);
			cancelling = true;
		}
	}
}

int kvm_pass_fd(struct qmp *q, uint32_t domid, int fd, const char *name,
		struct enso_error *err)
{
	char args[64], msg[256];
	int rc;

	snprintf(args, sizeof(args), "{\"fdname\":\"%s\"}", name);
	rc = qmp_command_fd(q, "getfd", args, fd, 5000, NULL, msg, sizeof(msg));
	if (rc)
		return exl_fail(err, rc, "domain %u: passing the stream to QEMU: %s",
				domid, msg);
	return 0;
}

int kvm_migration_start(struct qmp *q, uint32_t domid, int fd,
			const char *fdname, struct enso_error *err)
{
	char args[96];
	int rc = kvm_pass_fd(q, domid, fd, fdname, err);

	if (rc)
		return rc;
	/* QEMU takes the descriptor over from here, and closes it. */
	snprintf(args, sizeof(args), "{\"uri\":\"fd:%s\"}", fdname);
	rc = kvm_qmp_call(q, domid, "migrate", args, NULL, err);
	if (rc) {
		snprintf(args, sizeof(args), "{\"fdname\":\"%s\"}", fdname);
		kvm_qmp_call(q, domid, "closefd", args, NULL, NULL);
	}
	return rc;
}

int kvm_migrate_send(struct enso_ctx *ctx, uint32_t domid, int fd,
		     bool (*progress)(void *opaque,
				      const struct enso_migrate_progress *p),
		     void *opaque, struct enso_migrate_progress *out,
		     struct enso_error *err)
{
	struct kvm_migration_watch w = { progress, opaque, out };
	struct qmp *q = NULL;
	int rc = kvm_qmp_open(ctx, domid, "qmp.sock", &q, err);

	if (!rc)
		rc = kvm_migration_setup(q, domid, MIGRATE_DOWNTIME_MS, err);
	if (!rc)
		rc = kvm_migration_start(q, domid, fd, MIGRATE_FD_NAME, err);
	if (!rc)
		rc = kvm_migration_wait(q, domid, "sending", &w, err);
	qmp_close(q);
	return rc;
}
