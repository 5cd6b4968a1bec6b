/*
 * xenstored's wire framing and request handlers, fed as the input streams
 * of four connections of different privilege (xs_common.h); replies are read as they come.
 * The store must pass its consistency check after every input.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "xs_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (xs_fuzz_init())
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	xs_fuzz_one(data, size, false);
	return 0;
}
