/*
 * The kernel cache: a kernel shipped as a bzImage with an xz or gzip
 * payload, as distributions ship them, is decompressed on every boot: by
 * libxenguest's builder on Xen (most of the time a create takes: Debian's
 * 8 MB of xz becomes a 65 MB ELF), by the guest itself under QEMU.  The
 * ELF (the builder's dom->kernel_blob on Xen, bzimage.c's on KVM, which
 * then boots it through its PVH entry) is kept here, under
 * <lib dir>/kernel-cache, named by the source file's identity (device,
 * inode, size, modification time), and the next create of the same kernel
 * hands the builder the ELF.  A kernel file replaced or touched gets a new
 * name; the oldest entries beyond KCACHE_KEEP are removed.
 *
 * The cache is an optimisation only: every failure here leaves the build
 * to the original kernel file, and nothing is said.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enso-util.h"
#include "libxl/runtime.h"

#define KCACHE_KEEP 4

static const unsigned char elf_magic[4] = { 0x7f, 'E', 'L', 'F' };

static char *cache_dir(struct enso_ctx *ctx)
{
	char *dir = NULL;

	if (asprintf(&dir, "%s/kernel-cache", ctx->lib_dir) < 0)
		return NULL;
	return dir;
}

/* The entry's path for kernel as it is now, or NULL. */
static char *entry_path(struct enso_ctx *ctx, const char *kernel)
{
	char *dir = cache_dir(ctx), *path = NULL;
	struct stat st;

	if (dir && stat(kernel, &st) == 0 && S_ISREG(st.st_mode) &&
	    asprintf(&path, "%s/%llx-%llx-%llx-%lld.%09ld.elf", dir,
		     (unsigned long long)st.st_dev,
		     (unsigned long long)st.st_ino,
		     (unsigned long long)st.st_size, (long long)st.st_mtim.tv_sec,
		     st.st_mtim.tv_nsec) < 0)
		path = NULL;
	free(dir);
	return path;
}

static bool starts_with_elf(const char *path)
{
	unsigned char head[4];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	bool elf;

	if (fd < 0)
		return false;
	elf = read(fd, head, sizeof(head)) == (ssize_t)sizeof(head) &&
	      !memcmp(head, elf_magic, sizeof(head));
	close(fd);
	return elf;
}

char *rt_kcache_lookup(struct enso_ctx *ctx, const char *kernel)
{
	char *path = entry_path(ctx, kernel);

	if (path && starts_with_elf(path))
		return path;
	free(path);
	return NULL;
}

void rt_kcache_forget(const char *cached)
{
	if (cached)
		unlink(cached);
}

/* Keeps the KCACHE_KEEP newest entries of dir. */
static void trim(const char *dir)
{
	char oldest[512];
	struct dirent *de;
	int entries;

	do {
		time_t t = 0;
		DIR *d = opendir(dir);

		if (!d)
			return;
		entries = 0;
		oldest[0] = '\0';
		while ((de = readdir(d))) {
			char path[512];
			struct stat st;
			size_t n = strlen(de->d_name);

			if (n < 5 || strcmp(de->d_name + n - 4, ".elf"))
				continue;
			snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
			if (stat(path, &st))
				continue;
			entries++;
			if (!oldest[0] || st.st_mtime < t) {
				t = st.st_mtime;
				snprintf(oldest, sizeof(oldest), "%s", path);
			}
		}
		closedir(d);
		if (entries > KCACHE_KEEP && oldest[0] && unlink(oldest))
			return;
	} while (entries > KCACHE_KEEP + 1);
}

void rt_kcache_store(struct enso_ctx *ctx, const char *kernel,
		      const void *elf, size_t len)
{
	char *dir = NULL, *path = NULL, *tmp = NULL;
	const char *p = elf;
	size_t done = 0;
	int fd = -1;

	if (!elf || len < sizeof(elf_magic) ||
	    memcmp(elf, elf_magic, sizeof(elf_magic)) || starts_with_elf(kernel))
		return;		/* nothing was decompressed */
	dir = cache_dir(ctx);
	path = entry_path(ctx, kernel);
	if (!dir || !path || mkdir_p(dir) || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		tmp = NULL;
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	while (done < len) {
		ssize_t w = write(fd, p + done, len - done);

		if (w <= 0)
			break;
		done += (size_t)w;
	}
	if (close(fd) == 0 && done == len && rename(tmp, path) == 0) {
		free(tmp);
		tmp = NULL;
		trim(dir);
	}
out:
	if (tmp)
		unlink(tmp);
	free(tmp);
	free(path);
	free(dir);
}
