/* xl dmesg, debug-keys: the hypervisor's console ring and debug keys. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "xl/xl.h"

int main_dmesg(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "clear", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	unsigned flags = 0;
	size_t len;
	char *text;
	int opt, rc;

	while ((opt = getopt_long(argc, argv, "ch", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': flags |= ENSO_CONSOLE_CLEAR; break;
		case 'h': xl_usage_of("dmesg"); return 0;
		default: xl_usage_of("dmesg"); return 2;
		}
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	rc = enso_host_console_read(ctx, flags, &text, &len, &err);
	enso_ctx_close(ctx);
	if (rc) {
		fprintf(stderr, "xl: dmesg: %s\n", err.msg);
		return 1;
	}
	/* As Xen keeps it: its lines, "(XEN) " and all. */
	fwrite(text, 1, len, stdout);
	free(text);
	if (fflush(stdout) || ferror(stdout)) {
		perror("xl: dmesg: stdout");
		return 1;
	}
	return 0;
}

int main_debugkeys(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	int opt, rc;

	opt = getopt_long(argc, argv, "h", longopts, NULL);
	if (opt != -1) {	/* it has no options but -h */
		xl_usage_of("debug-keys");
		return opt == 'h' ? 0 : 2;
	}
	if (optind >= argc) {
		fprintf(stderr, "'xl debug-keys' requires at least 1 argument.\n\n");
		xl_usage_of("debug-keys");
		return 2;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	rc = enso_host_debug_keys(ctx, argv[optind], &err);
	enso_ctx_close(ctx);
	if (rc) {
		fprintf(stderr, "cannot send debug keys: %s: %s\n", argv[optind],
			err.msg);
		return 1;
	}
	return 0;
}
