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
#include <stdlib.h>
#include <string.h>

#include "config_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enso_error err = { "" };
	struct enso_domain_config c;
	char *ovbuf = NULL;
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
	fuzz_config_roundtrip(&c);
	enso_config_dispose(&c);
	return 0;
}
