/*
 * libxl's running-domain half, internal: the context, the xenstore records
 * every tool sees, and the stored configs.  Not installed.
 */
#ifndef ENSO_LIBXL_RUNTIME_H
#define ENSO_LIBXL_RUNTIME_H

#include <signal.h>
#include <stdarg.h>
#include <xenstore.h>

#include "enso/libxl.h"
#include "libxl/services.h"
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
	volatile sig_atomic_t *cancel;	/* enso_ctx_set_cancel, or NULL */
};

/* Records: /local/domain/<id>, /vm/<uuid>, /libxl/<id>.  creating, when
 * not NULL, goes to /libxl/<id>/creating in the same transaction: the
 * intent of a create not finished yet (intent.c). */
int rt_records_create(struct enso_ctx *ctx,
		      const struct enso_domain_config *cfg, bool alloc_domid,
		      const char *creating, uint32_t *domid,
		      struct enso_error *err);
/* The records exist, or what is left of them (/libxl/<id>). */
bool rt_records_any(struct enso_ctx *ctx, uint32_t domid);
/* A create is finished: /libxl/<id>/creating removed and the domain handed
 * to the monitor (/libxl/<id>/monitor), in one transaction. */
int rt_records_handover(struct enso_ctx *ctx, uint32_t domid,
			struct enso_error *err);

/* domain.c: destroys what a create or destroy whose process died left
 * (its creating / destroying node names a process that is gone), and the
 * Xen creates that died before their records (/libxl/creating-<uuid>).
 * say (may be NULL) hears one line per domain; returns how many. */
int rt_orphans_cleanup(struct enso_ctx *ctx,
		       void (*say)(void *opaque, const char *msg),
		       void *opaque);

/* intent.c: "<pid> <start time>" of this process, for creating and
 * destroying nodes; whether the process an owner string names still runs
 * (false for junk and for the old "1"). */
#define RT_OWNER_LEN 48
void rt_owner_self(char *out, size_t len);
bool rt_owner_alive(const char *owner);
/* The caller's cancel flag is set (SIGINT, SIGTERM in xl). */
bool rt_cancelled(struct enso_ctx *ctx);
/* ctx.c: dom0's entries on a host without Xen (after a store came back
 * empty too). */
void rt_ensure_dom0_entries(struct enso_ctx *ctx);
/* ctx.c: the hypervisor in words, for messages ("KVM on QEMU's TCG
 * emulation"). */
const char *rt_hypervisor_words(const struct enso_ctx *ctx);
/* ctx.c: the socket libxenstore connects to, for messages. */
const char *rt_xenstored_socket(void);
/* ctx.c: a new connection to xenstored in place of ctx's (which may be
 * dead); 0, or -errno with ctx's left as it was. */
int rt_xs_reconnect(struct enso_ctx *ctx);
void rt_records_remove(struct enso_ctx *ctx, uint32_t domid);

/* kcache.c: the kernels decompressed from bzImages (by bzimage.c before
 * a create, or by libxenguest's builder for a compression bzimage.c does
 * not know), kept for the next create under <lib dir>/kernel-cache.
 * lookup gives the cached ELF's path (malloc'd) or NULL; store and forget
 * are services (services.h). */
char *rt_kcache_lookup(struct enso_ctx *ctx, const char *kernel);

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

/* prepare.c: what a create hands the backend (backends/backend.h):
 * cfg's affinities with their node terms resolved and the kernel to load,
 * found in the kernel cache or unpacked into it.  err says which key was
 * wrong.  release frees what prepare made (also after a failed prepare). */
int rt_create_prepare(struct enso_ctx *ctx,
		      const struct enso_domain_config *cfg,
		      struct backend_create *out, struct enso_error *err);
void rt_create_release(struct backend_create *in);

/* device.c: the config's disks and vifs attached through the backend's
 * device_attach, when it takes them after the build (devices_after_build);
 * on failure err names the domain and the device. */
int rt_devices_attach(struct enso_ctx *ctx, uint32_t domid,
		      const struct enso_domain_config *c,
		      struct enso_error *err);

/* The stored config of a domain that may have devices: -EINVAL for
 * Domain-0, -ENOENT for none, err saying so. */
int rt_device_config_load(struct enso_ctx *ctx, uint32_t domid,
			  struct enso_domain_config *c, struct enso_error *err);

/* domain.c: a name xl accepts (letters, digits, '-', '_', '.', not
 * starting with a digit, 64 at most). */
bool rt_domain_name_valid(const char *name);
/* domain.c: "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" into 16 bytes, or
 * -EINVAL. */
int rt_uuid_parse(const char *s, uint8_t out[16]);

/* domain.c: the Xen creates that died before their records (listed as
 * being created), added to list[*count..cap). */
void rt_intents_list(struct enso_ctx *ctx, struct enso_dominfo *list,
		     size_t *count, size_t cap);

/* domain.c: a random MAC in Xen's OUI (00:16:3e) for a nic without one. */
void rt_nic_fill_mac(struct enso_nic *n);

/* domain.c: enso_domain_create, and restore's build (save.c): with
 * restore_fd >= 0 the backend's restore op builds the guest from the
 * stream there instead of its create op; all else is create's. */
int rt_domain_build(struct enso_ctx *ctx, const struct enso_domain_config *cfg,
		    unsigned flags, int restore_fd, uint32_t *domid,
		    struct enso_error *err);

/* save.c: the header and config of a save file or migration stream at
 * fd, once the backend's op (the save or migrate_send that follows;
 * named `what` in errors) is there, the domain is not Domain-0 and
 * exists.  override, when not NULL, is sent in place of the stored
 * config. */
int rt_stream_begin(struct enso_ctx *ctx, uint32_t domid, int fd,
		    const char *source, const void *op, const char *what,
		    const struct enso_domain_config *override,
		    struct enso_save_header *out, struct enso_error *err);
/* save.c: the backend says the domain is paused (false when it cannot
 * say). */
bool rt_domain_paused(struct enso_ctx *ctx, uint32_t domid);

/* The config a domain runs with, as JSON in lib_dir. */
int rt_config_store(struct enso_ctx *ctx, uint32_t domid,
		    const struct enso_domain_config *cfg,
		    struct enso_error *err);
/* Removes the stored config and the completion mark. */
void rt_config_remove(struct enso_ctx *ctx, uint32_t domid);
/* <lib dir>/complete-d<id>: the create finished (set at the handover).
 * What tells a completed domain from a half-built one when the store
 * lost both their records. */
void rt_config_mark_complete(struct enso_ctx *ctx, uint32_t domid);
bool rt_config_complete(struct enso_ctx *ctx, uint32_t domid);

/* Deep copy through the JSON form, so the copy is exactly what is stored. */
int rt_config_copy(const struct enso_domain_config *src,
		   struct enso_domain_config *dst, struct enso_error *err);

#endif
