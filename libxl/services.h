/*
 * libxl/services.h: all a hypervisor backend may use of libxl.
 *
 * The calls go one way: libxl calls a backend's operations
 * (backends/backend.h) and hands it, through this header, the services
 * below; a backend includes no other libxl header and never calls back up
 * into libxl's domain logic.  Work every backend needs done the same way
 * (affinity with its NUMA terms resolved, the kernel unpacked or found in
 * the kernel cache) is done by libxl before it calls an operation and
 * arrives in the operation's arguments (struct backend_create).
 *
 * libxl's own files use the same services; their other internals are in
 * runtime.h (the running-domain half) and private.h (the config half).
 * tests/layering.sh fails when a backend includes anything else of libxl.
 */
#ifndef ENSO_LIBXL_SERVICES_H
#define ENSO_LIBXL_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enso/libxl.h"

struct enso_ctx;	/* opaque to backends */
struct xs_handle;

/* ---- errors: the one setter of struct enso_error ---------------------- */

/* Fills err (printf-style; err may be NULL) and returns rc, for one-line
 * error paths: return exl_fail(err, -EINVAL, "KEY: what"). */
int exl_fail(struct enso_error *err, int rc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Puts "prefix" before what err already says; returns -EINVAL. */
int exl_err_prefix(struct enso_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* "00:16:3e:12:34:56": a nic's MAC as configs and xenstore write it;
 * parse: -EINVAL unless it is exactly that form. */
void exl_mac_format(const uint8_t m[6], char out[18]);
int exl_mac_parse(const char *s, uint8_t out[6]);

/* ---- the context ------------------------------------------------------- */

/* The backend's own state (NULL until it sets it; freed by its close op,
 * or with free() when it has none). */
void *rt_backend_data(struct enso_ctx *ctx);
void rt_set_backend_data(struct enso_ctx *ctx, void *data);
/* Where Enso keeps sockets and pid files (/var/run/enso), and logs
 * (/var/log/enso); ENSO_RUNDIR and ENSO_LOGDIR move them. */
const char *rt_run_dir(const struct enso_ctx *ctx);
const char *rt_log_dir(const struct enso_ctx *ctx);
/* The hypervisor libxl chose for this host and why (for xl info). */
enum enso_hypervisor rt_hypervisor(const struct enso_ctx *ctx,
				   const char **why);

/* ---- the store --------------------------------------------------------- */

/* The context's xenstore connection, for what the helpers below do not
 * cover (transactions, permissions, INTRODUCE).  It may be replaced
 * between operations (a reconnect): never keep it across calls. */
struct xs_handle *rt_xsh(struct enso_ctx *ctx);
/* A node (malloc'd, NUL-terminated) or NULL. */
char *rt_xs_read(struct enso_ctx *ctx, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* t: an xs_transaction_t, or XBT_NULL. */
bool rt_xs_write(struct enso_ctx *ctx, uint32_t t, const char *path,
		 const char *value);
/* The domain has its records (/local/domain/<id>/name). */
bool rt_domain_exists(struct enso_ctx *ctx, uint32_t domid);
/* cpu/<i>/availability for i < n: "online" where online[i], else
 * "offline", in one transaction (retried on EAGAIN).  It is the record of
 * vCPUs every tool reads and, on Xen, the request the guest follows. */
int rt_write_availability(struct enso_ctx *ctx, uint32_t domid,
			  const bool *online, uint32_t n,
			  struct enso_error *err);
void rt_uuid_format(const uint8_t uuid[16], char out[37]);

/* ---- the kernel cache (libxl/kcache.c) --------------------------------- */

/* Keeps elf as the unpacked form of kernel (a builder that unpacked it
 * itself), unless kernel is itself an ELF; forget drops an entry a
 * builder could not load.  Failures are silent: the cache only saves
 * time. */
void rt_kcache_store(struct enso_ctx *ctx, const char *kernel,
		     const void *elf, size_t len);
void rt_kcache_forget(const char *cached);

/* ---- a vif's host side (libxl/vifplumb.c; docs/design/hotplug.md) ----
 *
 * The same for both hypervisors: a tap named like Xen's vif, plumbed onto
 * its bridge.  Errors: a negative errno, err saying what (a script's
 * failure with its exit status and last lines of output). */

/* n's host-side name: vifname=, else vif<domid>.<devid>; -ENAMETOOLONG
 * when it does not fit IFNAMSIZ (or len). */
int rt_vif_name(uint32_t domid, const struct enso_nic *n, char *out,
		size_t len);
/* n's tap, persistent (IFF_TAP|IFF_NO_PI|IFF_VNET_HDR, IFF_MULTI_QUEUE if
 * multi_queue), made before anything serves it: whoever does (QEMU,
 * netback) opens it by name with the same flags.  An existing tap of the
 * same flags is taken as made; another link of the name is -EEXIST. */
int rt_vif_tap_create(struct enso_ctx *ctx, uint32_t domid,
		      const struct enso_nic *n, bool multi_queue,
		      struct enso_error *err);
/* n's tap (existing) onto the host's network.  A user's script (n->script,
 * else xl.conf's vif.default.script; a relative name is looked up in
 * Enso's script directory, $ENSO_SCRIPT_DIR or $(sysconfdir)/enso/scripts)
 * runs as upstream's libxl runs it, 40 s at most: with xenbus_path (a
 * netback vif) "online type_if=vif", without (a KVM tap) "add
 * type_if=tap"; environment script, XENBUS_TYPE, XENBUS_PATH,
 * XENBUS_BASE_PATH, netdev, vif, bridge (and INTERFACE for a tap).  No
 * script, or upstream's "vif-bridge": the built-in plumbing, what
 * vif-bridge does, onto n->bridge, else xl.conf's vif.default.bridge,
 * else xenbr0 (a missing bridge is an error naming it).  police_rate: n's
 * rate= also limits what the guest sends on the tap (KVM: policed, or
 * through an IFB ifb<domid>.<devid> where the kernel has no act_police;
 * on Xen netback enforces it).  A failure leaves nothing plumbed. */
int rt_vif_plumb(struct enso_ctx *ctx, uint32_t domid,
		 const struct enso_nic *n, const char *xenbus_path,
		 bool police_rate, struct enso_error *err);
/* The undo: the script's "offline"/"remove", or the built-in undo (rate
 * limit cleared, released from the bridge, down); then the tap deleted if
 * delete_tap.  A tap already gone is success; the tap is deleted even when
 * the script failed (the error is still returned). */
int rt_vif_unplumb(struct enso_ctx *ctx, uint32_t domid,
		   const struct enso_nic *n, const char *xenbus_path,
		   bool delete_tap, struct enso_error *err);
/* What the domain's vifs leave on the host beyond their taps, gone: the
 * IFBs of rate= where the kernel could not police (named
 * ifb<domid>.<devid>), found by name in the caller's network namespace,
 * for a backend whose destroy has no config.  None there is 0; err may
 * be NULL. */
int rt_vif_domain_gone(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err);

/* The config the domain runs with, as libxl stored it (devices attached
 * since included), for a backend op that is given only the id (destroy).
 * -ENOENT when none is stored; out is initialised either way. */
int rt_config_load(struct enso_ctx *ctx, uint32_t domid,
		   struct enso_domain_config *out, struct enso_error *err);

/* ---- tests ------------------------------------------------------------- */

/* Stops at `point` when ENSO_TEST_STOP_AT names it, until the caller is
 * cancelled (then -ECANCELED); 0 at once otherwise. */
int rt_test_stop(struct enso_ctx *ctx, const char *point,
		 struct enso_error *err);

#endif
