/*
 * A hypervisor behind libxl: one ops table per backend (xen/, kvm/).
 * Internal to libensoxl; xl and other callers see only enso/libxl.h.
 *
 * The backend sees the domain model only (struct enso_domain_config) and
 * does the hypervisor's part; libxl keeps the records every tool sees in
 * xenstore (/local/domain/<id>, /vm/<uuid>, /libxl/<id>) and the stored
 * config.  Optional operations are NULL.  Every operation returns 0 or a
 * negative errno and, on failure, fills err with what the user needs to act.
 */
#ifndef ENSO_BACKENDS_BACKEND_H
#define ENSO_BACKENDS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enso/libxl.h"

struct enso_ctx;

/* What a backend reports of one domain. */
struct backend_dominfo {
	bool running, blocked, paused, shutdown, dying;
	int shutdown_reason;	/* ENSO_SHUTDOWN_*, or -1 */
	uint64_t current_kb;	/* memory the guest has now */
	uint64_t max_kb;
	uint32_t vcpus_online, max_vcpus;
	double cpu_seconds;
};

struct backend_ops {
	const char *name;	/* "xen", "kvm" */

	/* Builds the domain, paused, under domid, which libxl allocated
	 * (KVM: its records already exist) or which the hypervisor chooses
	 * (Xen: set *domid; libxl writes the records after).  The backend
	 * adds the nodes only it knows (console/tty, store ring...).  libxl
	 * unpauses it afterwards unless the user asked for -p; `paused` is
	 * always true today and kept for backends that cannot start paused. */
	int (*create)(struct enso_ctx *ctx, const struct enso_domain_config *cfg,
		      uint32_t *domid, bool paused, struct enso_error *err);
	int (*destroy)(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err);
	int (*pause)(struct enso_ctx *ctx, uint32_t domid,
		     struct enso_error *err);
	int (*unpause)(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err);
	/* Asks the guest to power off or reboot (PV control node, ACPI). */
	int (*shutdown)(struct enso_ctx *ctx, uint32_t domid, bool reboot,
			struct enso_error *err);
	int (*info)(struct enso_ctx *ctx, uint32_t domid,
		    struct backend_dominfo *out, struct enso_error *err);
	int (*set_memory)(struct enso_ctx *ctx, uint32_t domid,
			  uint64_t target_kb, struct enso_error *err);
	int (*set_maxmem)(struct enso_ctx *ctx, uint32_t domid,
			  uint64_t max_kb, struct enso_error *err);
	int (*set_vcpus)(struct enso_ctx *ctx, uint32_t domid, uint32_t count,
			 struct enso_error *err);
	/* Runs in the per-domain monitor process until the domain is gone:
	 * waits for shutdown/crash/reboot and reports the reason. */
	int (*wait_shutdown)(struct enso_ctx *ctx, uint32_t domid,
			     int *reason, struct enso_error *err);
	/* The host: what xl info prints. */
	int (*host_info)(struct enso_ctx *ctx, struct enso_host_info *out,
			 struct enso_error *err);
	/* Frees ctx->backend_data and what it holds (NULL: plain free). */
	void (*close)(struct enso_ctx *ctx);
};

/* KVM if it works here, else TCG: fills why either way. */
bool kvm_backend_choose_accel(char *why, size_t len);

extern const struct backend_ops backend_xen;
extern const struct backend_ops backend_kvm;

#endif
