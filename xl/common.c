/* What every xl command shares: the context, domain names, sizes. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/xl.h"

bool xl_say_accel;

struct enso_ctx *xl_open(void)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	const char *why;

	if (enso_ctx_open(&ctx, 0, &err)) {
		fprintf(stderr, "xl: %s\n", err.msg);
		return NULL;
	}
	/* Software emulation is a big difference: create says it, once
	 * per domain; xl info always shows it. */
	if (enso_ctx_hypervisor(ctx, &why) == ENSO_HV_TCG && xl_say_accel)
		fprintf(stderr, "xl: KVM not usable: %s\n", why);
	return ctx;
}

static volatile sig_atomic_t interrupted;
static struct sigaction old_int, old_term;

static void on_interrupt(int sig)
{
	interrupted = sig;
}

void xl_cancel_arm(struct enso_ctx *ctx)
{
	struct sigaction sa = { 0 };

	interrupted = 0;
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_interrupt;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	enso_ctx_set_cancel(ctx, &interrupted);
}

int xl_cancel_disarm(struct enso_ctx *ctx)
{
	enso_ctx_set_cancel(ctx, NULL);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	return interrupted;
}

int xl_domid(struct enso_ctx *ctx, const char *name_or_id, uint32_t *domid)
{
	struct enso_error err = { "" };

	if (enso_domain_lookup(ctx, name_or_id, domid, &err)) {
		fprintf(stderr, "xl: %s\n", err.msg);
		return -1;
	}
	return 0;
}

int xl_parse_memory(const char *s, uint64_t *kib)
{
	unsigned long long v, mult = 1024;	/* MiB by default */
	char *end;

	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (tolower((unsigned char)*end)) {
	case '\0': break;
	case 'b': mult = 0; break;
	case 'k': mult = 1; break;
	case 'm': mult = 1024; break;
	case 'g': mult = 1024ULL * 1024; break;
	case 't': mult = 1024ULL * 1024 * 1024; break;
	default: return -EINVAL;
	}
	if (*end && end[1])
		return -EINVAL;
	if (mult == 0)
		*kib = v / 1024;
	else if (v > UINT64_MAX / mult)
		return -EINVAL;
	else
		*kib = v * mult;
	return 0;
}

int xl_getopt(int argc, char **argv, const char *opts, const char *cmd)
{
	int opt = getopt(argc, argv, opts);

	if (opt == '?' || opt == ':' || opt == 'h') {
		xl_usage_of(cmd);
		return opt == 'h' ? 'h' : '?';
	}
	return opt;
}

/* ---- the device commands (cmd_block.c, cmd_network.c) ---- */

/* The library's message, or the errno's when it left none (-ENOMEM). */
void xl_say_error(const char *cmd, const struct enso_error *err, int rc)
{
	fprintf(stderr, "xl: %s: %s\n", cmd,
		err->msg[0] ? err->msg : strerror(-rc));
}

/*
 * The command's options (-h; -f where force is given) and its argument
 * count: at least min, at most max (0: no limit).  -1 to go on, or the
 * exit status, the usage printed.
 */
int xl_device_args(int argc, char **argv, const char *cmd, int min,
		      int max, bool *force)
{
	int opt, n;

	while ((opt = xl_getopt(argc, argv, force ? "+hf" : "+h", cmd)) != -1) {
		if (opt == 'f' && force)
			*force = true;
		else
			return opt == 'h' ? 0 : 1;	/* usage printed */
	}
	n = argc - optind;
	if (n < min || (max && n > max)) {
		xl_usage_of(cmd);
		return 1;
	}
	return -1;
}

/* The disk spec's parts, joined with ",": one malloc'd string. */
char *xl_join_spec(int n, char **parts)
{
	size_t len = 1;
	char *spec;
	int i;

	for (i = 0; i < n; i++)
		len += strlen(parts[i]) + 1;
	spec = malloc(len);
	if (!spec)
		return NULL;
	spec[0] = '\0';
	for (i = 0; i < n; i++) {
		if (i)
			strcat(spec, ",");
		strcat(spec, parts[i]);
	}
	return spec;
}

int xl_device_attach(const char *cmd, const char *domain,
		     xl_attach_fn *attach, const void *dev)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	uint32_t domid;
	int rc = 1;

	/* -N: the spec is checked, nothing is attached (Enso prints no
	 * JSON of it, and the domain is not looked up). */
	if (xl_dry_run)
		return 0;
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (xl_domid(ctx, domain, &domid) == 0) {
		rc = attach(ctx, domid, dev, &err);
		if (rc)
			xl_say_error(cmd, &err, rc);
	}
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}

int xl_device_list(int argc, char **argv, const char *cmd,
		   xl_list_fn *list_one)
{
	struct enso_ctx *ctx = xl_open();
	uint32_t domid;
	int a, rc = 0;

	if (!ctx)
		return 1;
	list_one(NULL, 0, NULL);	/* the header */
	/* An unknown domain is said and skipped; the status says it too. */
	for (a = optind; a < argc; a++) {
		struct enso_error err = { "" };
		int r;

		fflush(stdout);	/* the rows so far before any message */
		if (xl_domid(ctx, argv[a], &domid)) {
			rc = 1;
			continue;
		}
		r = list_one(ctx, domid, &err);
		if (r) {
			xl_say_error(cmd, &err, r);
			rc = 1;
		}
	}
	enso_ctx_close(ctx);
	return rc;
}
