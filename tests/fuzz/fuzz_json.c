/*
 * The domain config's JSON (libxl/json.c, enso_config_from_json): any text
 * gives a config or an error; a config read prints as JSON that reads
 * back to itself.
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
	char *text = malloc(size + 1);

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
	fuzz_config_roundtrip(&c);
	enso_config_dispose(&c);
	return 0;
}
