/*
 * Which kernel file QEMU boots.  A bzImage decompresses itself in the
 * guest, which under TCG is most of the boot; the ELF inside it, booted
 * through its PVH entry (QEMU's -kernel takes an ELF with Xen's
 * PHYS32_ENTRY note), starts at once.  The ELF is unpacked once
 * (libxl/bzimage.c) and kept in the kernel cache (libxl/kcache.c); a
 * kernel without a PVH entry, or one Enso cannot unpack, is booted as
 * given.
 */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#include "backends/kvm/kvm.h"
#include "libxl/runtime.h"

static bool file_has_pvh_entry(const char *path)
{
	struct stat st;
	void *m = MAP_FAILED;
	bool pvh = false;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return false;
	if (fstat(fd, &st) == 0 && st.st_size > 0)
		m = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (m == MAP_FAILED)
		return false;
	pvh = rt_elf_has_pvh_entry(m, (size_t)st.st_size);
	munmap(m, (size_t)st.st_size);
	return pvh;
}

char *kvm_boot_kernel(struct enso_ctx *ctx, const char *kernel)
{
	char *cached = rt_kcache_lookup(ctx, kernel);

	if (!cached) {
		void *elf;
		size_t len;

		/* Kept even without a PVH entry: the next create then knows
		 * at once, without unpacking again, to boot the bzImage. */
		if (rt_bzimage_unpack(kernel, &elf, &len) == 0) {
			rt_kcache_store(ctx, kernel, elf, len);
			cached = rt_kcache_lookup(ctx, kernel);
			free(elf);
		}
	}
	if (cached && file_has_pvh_entry(cached))
		return cached;
	free(cached);
	return strdup(kernel);
}
