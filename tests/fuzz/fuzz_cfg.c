/*
 * The xl.cfg parser (libxl/cfg.c, config.c, disk.c, nic.c, cpumap.c): any
 * bytes give a config or an error, never a crash; a config it accepts
 * prints as JSON that reads back to the same JSON.
 *
 * The input is the file; if it holds a NUL byte (which a file may not),
 * what follows is a NUL-separated list of KEY=VALUE overrides, as xl
 * create takes them on its command line.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enso/libxl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enso_error err = { "" };
	struct enso_domain_config c, back;
	char *a = NULL, *b = NULL, *ovbuf = NULL;
	const char *ov[9] = { NULL };
	const uint8_t *nul = memchr(data, '\0', size);
	size_t len = nul ? (size_t)(nul - data) : size;
	int rc;

	if (nul) {
		size_t rest = size - len - 1, i, n = 0;

		ovbuf = malloc(rest + 1);
		if (!ovbuf)
			return 0;
		memcpy(ovbuf, nul + 1, rest);
		ovbuf[rest] = '\0';
		ov[n++] = ovbuf;
		for (i = 0; i < rest && n < 8; i++)
			if (!ovbuf[i])
				ov[n++] = ovbuf + i + 1;
	}
	rc = enso_config_parse_string((const char *)data, len, "fuzz.cfg",
				      nul ? ov : NULL, &c, &err);
	free(ovbuf);
	if (rc) {
		if (!err.msg[0] || strlen(err.msg) >= sizeof(err.msg))
			abort();	/* every failure says why */
		enso_config_dispose(&c);	/* idempotent after a failure */
		return 0;
	}
	if (enso_config_to_json(&c, true, &a))
		goto out;	/* out of memory */
	if (enso_config_from_json(a, &back, &err)) {
		fprintf(stderr, "our own JSON does not read back: %s\n%s",
			err.msg, a);
		abort();
	}
	if (!enso_config_to_json(&back, true, &b) && strcmp(a, b)) {
		fprintf(stderr, "round trip differs\n--- first\n%s--- second\n%s",
			a, b);
		abort();
	}
	enso_config_dispose(&back);
out:
	free(a);
	free(b);
	enso_config_dispose(&c);
	return 0;
}
