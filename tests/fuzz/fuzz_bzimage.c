/*
 * The bzImage unpacker and the ELF note walker (libxl/bzimage.c): the
 * input is the kernel file.  Lying header lengths, payload offsets out of
 * range and broken xz or gzip streams give an error, never a crash or a
 * read outside the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "libxl/runtime.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[64];
	void *elf;
	size_t len;
	int fd = memfd_create("fuzz-bzimage", MFD_CLOEXEC);

	/* The file as mapped: exactly size bytes, nothing after them. */
	(void)rt_elf_has_pvh_entry(data, size);
	if (fd < 0)
		abort();
	if (size && write(fd, data, size) != (ssize_t)size)
		abort();
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (!rt_bzimage_unpack(path, &elf, &len)) {
		if (len < 64)
			abort();
		(void)rt_elf_has_pvh_entry(elf, len);
		free(elf);
	}
	close(fd);
	return 0;
}
