/* xl create: parse, create, hand the domain to the monitor, maybe attach. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xl/xl.h"

int main_create(int argc, char **argv)
{
	struct enso_domain_config cfg;
	struct enso_error err = { "" };
	bool paused = false, console = false, dry = xl_dry_run, quiet = false;
	struct enso_ctx *ctx;
	const char *file;
	uint32_t domid;
	int opt, rc, interrupted;

	while ((opt = xl_getopt(argc, argv, "+hpcNqdeVf:", "create")) != -1) {
		switch (opt) {
		case 'p': paused = true; break;
		case 'c': console = true; break;
		case 'N': dry = true; break;
		case 'q': quiet = true; break;
		case 'f': break;	/* -f FILE: same as the positional file */
		case 'd': case 'e': case 'V': break;
		case 'h': return 0;
		default: return 1;
		}
	}
	if (optind >= argc) {
		xl_usage_of("create");
		return 1;
	}
	file = argv[optind];
	if (!quiet)
		fprintf(stderr, "Parsing config from %s\n", file);
	rc = enso_config_parse_file(file, (const char *const *)&argv[optind + 1],
				    &cfg, &err);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (dry) {
		char *json = NULL;

		rc = enso_config_to_json(&cfg, true, &json);
		if (!rc)
			fputs(json, stdout);
		free(json);
		enso_config_dispose(&cfg);
		return rc ? 1 : 0;
	}
	xl_say_accel = true;
	ctx = xl_open();
	if (!ctx) {
		enso_config_dispose(&cfg);
		return 1;
	}
	/* The monitor runs before the domain exists: should this command
	 * die half-way (SIGKILL), it is what removes the half domain. */
	if (xl_monitor_ensure(ctx)) {
		enso_config_dispose(&cfg);
		enso_ctx_close(ctx);
		return 1;
	}
	xl_cancel_arm(ctx);
	rc = enso_domain_create(ctx, &cfg, paused ? ENSO_CREATE_PAUSED : 0,
				&domid, &err);
	interrupted = xl_cancel_disarm(ctx);
	if (rc == -ECANCELED) {
		fprintf(stderr, "xl: create of domain '%s' interrupted by %s: everything it made is removed\n",
			cfg.name, strsignal(interrupted));
	} else if (rc) {
		fprintf(stderr, "xl: cannot create domain '%s': %s\n", cfg.name,
			err.msg);
	} else {
		if (xl_verbose)
			fprintf(stderr, "Domain %u (%s) created\n", domid, cfg.name);
		if (interrupted)
			fprintf(stderr, "xl: %s came after domain %u (%s) was complete: it stays (xl destroy removes it)\n",
				strsignal(interrupted), domid, cfg.name);
		/* create handed it to the monitor, which runs. */
		else if (console)
			rc = xl_console_attach(ctx, domid);
	}
	enso_config_dispose(&cfg);
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}
