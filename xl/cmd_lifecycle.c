/* xl pause, unpause, shutdown, reboot, destroy, rename. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/xl.h"

typedef int domain_fn(struct enso_ctx *ctx, uint32_t domid,
		      struct enso_error *err);

/* The commands that take one domain and call one library function. */
static int one_domain(int argc, char **argv, const char *cmd, domain_fn *fn)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	uint32_t domid;
	int rc = 1;

	if (argc != 2) {
		xl_usage_of(cmd);
		return 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (xl_domid(ctx, argv[1], &domid) == 0) {
		rc = fn(ctx, domid, &err);
		if (rc)
			fprintf(stderr, "xl: %s: %s\n", cmd, err.msg);
	}
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}

int main_pause(int argc, char **argv)
{
	return one_domain(argc, argv, "pause", enso_domain_pause);
}

int main_unpause(int argc, char **argv)
{
	return one_domain(argc, argv, "unpause", enso_domain_unpause);
}

int main_destroy(int argc, char **argv)
{
	int opt;

	while ((opt = xl_getopt(argc, argv, "+hf", "destroy")) != -1)
		if (opt != 'f')
			return opt == 'h' ? 0 : 1;
	argv[optind - 1] = argv[0];
	return one_domain(argc - optind + 1, argv + optind - 1, "destroy",
			  enso_domain_destroy);
}

static int shutdown_or_reboot(int argc, char **argv, bool reboot)
{
	const char *cmd = reboot ? "reboot" : "shutdown";
	static const struct option longopts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "wait", no_argument, NULL, 'w' },
		{ NULL, 0, NULL, 0 },
	};
	struct enso_error err = { "" };
	bool all = false, wait = false;
	uint32_t *ids = NULL;
	size_t nids = 0, i;
	struct enso_ctx *ctx;
	int opt, rc = 0;

	while ((opt = getopt_long(argc, argv, "+hawF", longopts, NULL)) != -1) {
		switch (opt) {
		case 'a': all = true; break;
		case 'w': wait = true; break;
		case 'F': break;
		case 'h': xl_usage_of(cmd); return 0;
		default: xl_usage_of(cmd); return 1;
		}
	}
	if (all == (optind < argc)) {
		xl_usage_of(cmd);
		return 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (all) {
		struct enso_dominfo *list;
		size_t n;

		if (enso_domain_list(ctx, &list, &n, &err)) {
			fprintf(stderr, "xl: %s\n", err.msg);
			enso_ctx_close(ctx);
			return 1;
		}
		ids = calloc(n ? n : 1, sizeof(*ids));
		for (i = 0; ids && i < n; i++)
			if (list[i].domid != 0)
				ids[nids++] = list[i].domid;
		enso_dominfo_list_free(list, n);
	} else {
		ids = calloc(1, sizeof(*ids));
		if (ids && xl_domid(ctx, argv[optind], &ids[0]) == 0)
			nids = 1;
		else
			rc = 1;
	}
	for (i = 0; i < nids; i++) {
		if (enso_domain_shutdown(ctx, ids[i], reboot, &err)) {
			fprintf(stderr, "xl: %s domain %u: %s\n", cmd, ids[i],
				err.msg);
			rc = 1;
			ids[i] = 0;
		}
	}
	for (i = 0; wait && i < nids; i++) {
		if (!ids[i])
			continue;
		fprintf(stderr, "Waiting for domain %u to %s.\n", ids[i],
			reboot ? "restart" : "be gone");
		if (enso_domain_wait_gone(ctx, ids[i], -1, &err)) {
			fprintf(stderr, "xl: %s\n", err.msg);
			rc = 1;
		} else {
			fprintf(stderr, "Domain %u has shut down.\n", ids[i]);
		}
	}
	free(ids);
	enso_ctx_close(ctx);
	return rc;
}

int main_shutdown(int argc, char **argv)
{
	return shutdown_or_reboot(argc, argv, false);
}

int main_reboot(int argc, char **argv)
{
	return shutdown_or_reboot(argc, argv, true);
}

int main_rename(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	uint32_t domid;
	int rc = 1;

	if (argc != 3) {
		xl_usage_of("rename");
		return 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (xl_domid(ctx, argv[1], &domid) == 0) {
		rc = enso_domain_rename(ctx, domid, argv[2], &err);
		if (rc)
			fprintf(stderr, "xl: rename: %s\n", err.msg);
	}
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}
