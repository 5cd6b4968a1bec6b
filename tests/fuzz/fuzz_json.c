/*
 * The domain config's JSON (libxl/json.c, enso_config_from_json): any text
 * gives a config or an error; a config read prints as JSON that reads
 * back to itself.
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
	char *text = malloc(size + 1), *a = NULL, *b = NULL;

	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';	/* the API takes a string: it stops at a NUL */
	if (enso_config_from_json(text, &c, &err)) {
		if (!err.msg[0])
			abort();
		free(text);
		return 0;
	}
	free(text);
	if (enso_config_to_json(&c, true, &a))
		goto out;
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
