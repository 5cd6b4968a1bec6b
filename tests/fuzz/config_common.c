#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config_common.h"

void fuzz_config_roundtrip(const struct enso_domain_config *c)
{
	struct enso_error err = { "" };
	struct enso_domain_config back;
	char *a = NULL, *b = NULL;

	if (enso_config_to_json(c, true, &a))
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
}
