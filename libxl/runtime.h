/*
 * libxl's running-domain half, internal: the context, the xenstore records
 * every tool sees, and the stored configs.  Not installed.
 */
#ifndef ENSO_LIBXL_RUNTIME_H
#define ENSO_LIBXL_RUNTIME_H

#include <stdarg.h>
#include <xenstore.h>

#include "enso/libxl.h"
#include "backends/backend.h"

struct enso_ctx {
	struct xs_handle *xsh;
	const struct backend_ops *ops;
	enum enso_hypervisor hv;
	char hv_why[192];
	char *run_dir;		/* /var/run/enso: sockets, pid files */
	char *lib_dir;		/* /var/lib/enso: stored configs */
	char *log_dir;		/* /var/log/enso: console and QEMU logs */
	void *backend_data;
};

/* Fills err (printf-style) and returns rc, for one-line error paths. */
int rt_fail(struct enso_error *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* xenstore helpers: read a node (malloc'd, NUL-terminated) or NULL. */
char *rt_xs_read(struct enso_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
bool rt_xs_write(struct enso_ctx *ctx, xs_transaction_t t, const char *path,
		 const char *value);

/* Records: /local/domain/<id>, /vm/<uuid>, /libxl/<id>. */
int rt_records_create(struct enso_ctx *ctx,
		      const struct enso_domain_config *cfg, bool alloc_domid,
		      uint32_t *domid, struct enso_error *err);
void rt_records_remove(struct enso_ctx *ctx, uint32_t domid);
/* cpu/<i>/availability for i < n: "online" where online[i], else
 * "offline", in one transaction (retried on EAGAIN).  It is the record of
 * vCPUs every tool reads and, on Xen, the request the guest follows. */
int rt_write_availability(struct enso_ctx *ctx, uint32_t domid,
			  const bool *online, uint32_t n,
			  struct enso_error *err);
bool rt_domain_exists(struct enso_ctx *ctx, uint32_t domid);

/* kcache.c: the kernels decompressed from bzImages (by libxenguest's
 * builder on Xen, by bzimage.c for KVM), kept for the next create under
 * <lib dir>/kernel-cache.  lookup gives the cached ELF's path (malloc'd)
 * or NULL; store keeps elf when the kernel file is not itself an ELF;
 * forget drops a bad entry.  Failures are silent: the cache only saves
 * time. */
char *rt_kcache_lookup(struct enso_ctx *ctx, const char *kernel);
void rt_kcache_store(struct enso_ctx *ctx, const char *kernel,
		     const void *elf, size_t len);
void rt_kcache_forget(const char *cached);

/* bzimage.c: a bzImage's xz or gzip payload, unpacked into *elf
 * (malloc'd, *len bytes); -ENOEXEC when kernel is no bzImage, -ENOTSUP
 * for another compression.  rt_elf_has_pvh_entry: the ELF carries Xen's
 * PHYS32_ENTRY note, so QEMU can boot it directly (PVH). */
int rt_bzimage_unpack(const char *kernel, void **elf, size_t *len);
bool rt_elf_has_pvh_entry(const void *elf, size_t len);

/* vcpu.c: an affinity with its NUMA node terms ("nodes:0-1") made the
 * CPUs the backend's node_cpus gives, every map parsed again from its
 * text; free it with rt_affinity_dispose.  The config keeps the terms as
 * written: the host's nodes are the backend's to know.  err says which
 * key and term were wrong. */
int rt_affinity_resolve(struct enso_ctx *ctx, const char *key,
			const struct enso_affinity *in,
			struct enso_affinity *out, struct enso_error *err);
void rt_affinity_dispose(struct enso_affinity *a);

/* The config a domain runs with, as JSON in lib_dir. */
int rt_config_store(struct enso_ctx *ctx, uint32_t domid,
		    const struct enso_domain_config *cfg,
		    struct enso_error *err);
int rt_config_load(struct enso_ctx *ctx, uint32_t domid,
		   struct enso_domain_config *out, struct enso_error *err);
void rt_config_remove(struct enso_ctx *ctx, uint32_t domid);

/* Deep copy through the JSON form, so the copy is exactly what is stored. */
int rt_config_copy(const struct enso_domain_config *src,
		   struct enso_domain_config *dst, struct enso_error *err);
void rt_uuid_format(const uint8_t uuid[16], char out[37]);

#endif
