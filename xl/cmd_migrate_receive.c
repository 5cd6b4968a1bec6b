/*
 * xl migrate-receive: the receiving end of xl migrate, run by the
 * sender's shell command with the stream on stdin and our answers on
 * stdout (nothing else may go there).  Upstream's options, messages and
 * conversation (docs/design/migration.md).
 *
 * The guest is built paused as <name>--incoming, from the stream, as
 * xl restore builds one.  It runs only once the sender, having renamed
 * its own copy away, gives the go-ahead; without it (the sender gone, a
 * cut connection) our copy is destroyed, since the sender's is then the
 * one that may run.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enso-util.h"
#include "xl/xl.h"

#define STREAM "migration stream"
#define ACKS "migration ack stream"

/* Ours goes: nothing of it left here. */
static void destroy_ours(struct enso_ctx *ctx, uint32_t domid)
{
	struct enso_error err = { "" };

	fprintf(stderr, "migration target: Failure, destroying our copy.\n");
	if (enso_domain_destroy(ctx, domid, &err))
		fprintf(stderr, "migration target: Failed to destroy our copy (%s).\n",
			err.msg);
}

/* -d (the sender's --debug): when each step happened, in the host's
 * monotonic clock as the sender stamps its own. */
static void step(bool debug, const char *what)
{
	if (debug)
		fprintf(stderr, "migration target: [%lld ms] %s\n", monotonic_ms(), what);
}

static int receive(struct enso_ctx *ctx, struct enso_domain_config *cfg,
		   bool paused, bool debug)
{
	struct enso_error err = { "" };
	char *name = cfg->name, *incoming = NULL;
	unsigned char status;
	uint32_t domid;
	int rc;

	if (asprintf(&incoming, "%s--incoming", name) < 0)
		return 1;
	cfg->name = incoming;
	xl_cancel_arm(ctx);
	rc = enso_domain_restore(ctx, cfg, 0, ENSO_CREATE_PAUSED, &domid, &err);
	xl_cancel_disarm(ctx);
	cfg->name = name;
	free(incoming);
	if (rc) {
		fprintf(stderr, "xl: %s\n", err.msg);
		fprintf(stderr, "migration target: Domain creation failed (code %d).\n",
			rc);
		return 1;
	}
	step(debug, "the stream is loaded");
	fprintf(stderr, "migration target: Transfer complete, requesting permission to start domain.\n");
	if (xl_write_exact(1, XL_MIG_READY, sizeof(XL_MIG_READY), ACKS,
			   "ready message")) {
		destroy_ours(ctx, domid);
		return 1;
	}
	rc = xl_read_message(0, XL_MIG_GO, sizeof(XL_MIG_GO), "GO message", NULL);
	if (rc) {
		/* No go-ahead: the sender keeps (or takes back) the guest. */
		destroy_ours(ctx, domid);
		return 1;
	}
	step(debug, "go-ahead received");
	fprintf(stderr, "migration target: Got permission, starting domain.\n");
	rc = enso_domain_rename(ctx, domid, name, &err);
	if (!rc)
		step(debug, "renamed");
	if (!rc && !paused) {
		rc = enso_domain_unpause(ctx, domid, &err);
		if (!rc)
			step(debug, "unpaused");
	}
	if (rc)
		fprintf(stderr, "xl: %s\n", err.msg);
	else
		fprintf(stderr, "migration target: Domain started successsfully.\n");
	/* Upstream's status byte: the error's magnitude, 0 for none. */
	status = rc ? (unsigned char)(-rc > 0 && -rc < 256 ? -rc : 255) : 0;
	if (xl_write_exact(1, XL_MIG_REPORT, sizeof(XL_MIG_REPORT), ACKS,
			   "success/failure report") ||
	    xl_write_exact(1, &status, 1, ACKS, "success/failure code"))
		return 1;
	if (!rc)
		return 0;
	destroy_ours(ctx, domid);
	fprintf(stderr, "migration target: Cleanup OK, granting sender permission to resume.\n");
	/* Then wait for the sender to hang up (it does once it has read
	 * that), at most 10 s: a transport that runs us and ends with us
	 * (socat's SYSTEM: exits at once on a child's failure status) may
	 * otherwise drop what we wrote last, and the sender, missing its
	 * permission to resume, would leave its guest paused. */
	if (!xl_write_exact(1, XL_MIG_GO, sizeof(XL_MIG_GO), ACKS,
			    "permission to sender to have domain back"))
		xl_drain(0, 10000);
	return 1;
}

int main_migrate_receive(int argc, char **argv)
{
	struct enso_domain_config cfg;
	struct enso_ctx *ctx = NULL;
	bool debug = false, paused = false;
	int opt, rc = 1;

	/* -e, -F: the host's monitor watches every domain; nothing waits. */
	while ((opt = xl_getopt(argc, argv, "+hFedrpt", "migrate-receive")) != -1) {
		switch (opt) {
		case 'd': debug = true; break;
		case 'p': paused = true; break;
		case 'e': case 'F': case 't': break;
		case 'r':
			fprintf(stderr, "xl migrate-receive: -r (Remus) is not supported\n");
			return 1;
		case 'h': return 0;
		default: return 1;
		}
	}
	if (argc > optind) {
		xl_usage_of("migrate-receive");
		return 1;
	}
	enso_config_init(&cfg);
	fprintf(stderr, "migration target: Ready to receive domain.\n");
	if (xl_write_exact(1, XL_MIG_BANNER, strlen(XL_MIG_BANNER), ACKS,
			   "banner"))
		goto out;
	if (xl_read_saved(0, STREAM, NULL, debug, &cfg))
		goto out;
	xl_say_accel = true;
	ctx = xl_open();
	/* As create: the monitor first, to clean up after us if we die. */
	if (!ctx || xl_monitor_ensure(ctx))
		goto out;
	rc = receive(ctx, &cfg, paused, debug);
out:
	enso_config_dispose(&cfg);
	enso_ctx_close(ctx);
	return rc;
}
