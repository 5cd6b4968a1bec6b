/*
 * What libxl does for a create before it calls the backend's, the same
 * for every hypervisor: the affinity of cpus= and cpus_soft= with its
 * NUMA node terms made the host's CPUs (which only the backend knows, so
 * libxl asks its node_cpus), and the kernel to load.
 *
 * The kernel: a bzImage with an xz or gzip payload, as distributions ship
 * them, is unpacked once (bzimage.c) into the kernel cache (kcache.c) and
 * the ELF is what the backend loads from then on.  On Xen that spares
 * libxenguest's builder the decompression that was most of a create; on
 * KVM QEMU boots the ELF through its PVH entry, where the bzImage would
 * decompress itself under emulation.  A kernel Enso cannot unpack is
 * handed over as it is.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The cache's ELF of kernel, unpacked into it now if need be; NULL when
 * kernel is no bzImage Enso can unpack (or the cache cannot be written). */
static char *cached_elf(struct enso_ctx *ctx, const char *kernel)
{
	char *cached = rt_kcache_lookup(ctx, kernel);
	void *elf;
	size_t len;

	/* Kept even without a PVH entry: the next create then knows at
	 * once, without unpacking again, what it has. */
	if (!cached && rt_bzimage_unpack(kernel, &elf, &len) == 0) {
		rt_kcache_store(ctx, kernel, elf, len);
		cached = rt_kcache_lookup(ctx, kernel);
		free(elf);
	}
	return cached;
}

int rt_create_prepare(struct enso_ctx *ctx,
		      const struct enso_domain_config *cfg,
		      struct backend_create *out, struct enso_error *err)
{
	char *cached;
	int rc;

	memset(out, 0, sizeof(*out));
	out->cfg = cfg;
	rc = rt_affinity_resolve(ctx, "cpus=", &cfg->cpus, &out->hard, err);
	if (!rc)
		rc = rt_affinity_resolve(ctx, "cpus_soft=", &cfg->cpus_soft,
					 &out->soft, err);
	if (rc || !cfg->kernel)
		return rc;
	cached = cached_elf(ctx, cfg->kernel);
	out->kernel_cached = cached != NULL;
	out->kernel = cached ? cached : strdup(cfg->kernel);
	if (!out->kernel)
		return exl_fail(err, -ENOMEM, "out of memory");
	out->kernel_pvh = cached && file_has_pvh_entry(cached);
	return 0;
}

void rt_create_release(struct backend_create *in)
{
	rt_affinity_dispose(&in->hard);
	rt_affinity_dispose(&in->soft);
	free(in->kernel);
	in->kernel = NULL;
}
