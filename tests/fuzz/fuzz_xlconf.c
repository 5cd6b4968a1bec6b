/* xl.conf (libxl/xlconf.c over cfg.c): settings or an error, never a
 * crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "enso/libxl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct enso_error err = { "" };
	struct enso_xl_conf x;

	if (enso_xl_conf_parse_string((const char *)data, size, "xl.conf", &x,
				      &err)) {
		if (!err.msg[0])
			abort();	/* every failure says why */
	}
	enso_xl_conf_dispose(&x);
	enso_xl_conf_dispose(&x);	/* idempotent */
	return 0;
}
