/*
 * A hypervisor behind libxl: one ops table per backend (xen/, kvm/).
 * Internal to libensoxl; xl and other callers see only enso/libxl.h.
 *
 * The backend sees the domain model only (struct enso_domain_config) and
 * does the hypervisor's part; libxl keeps the records every tool sees in
 * xenstore (/local/domain/<id>, /vm/<uuid>, /libxl/<id>) and the stored
 * config.  A backend uses of libxl only libxl/services.h.  What differs
 * between hypervisors is said here, in the table's flags and operations,
 * so that libxl never asks which hypervisor it runs on.  Optional
 * operations are NULL.  Every operation returns 0 or a negative errno
 * and, on failure, fills err (exl_fail) with what the user needs to act.
 *
 * A new hypervisor is a new folder beside xen/ and kvm/ with one of these
 * tables, chosen in libxl/ctx.c; a new device kind a new device_attach
 * case (docs/design/layering.md).
 */
#ifndef ENSO_BACKENDS_BACKEND_H
#define ENSO_BACKENDS_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enso/libxl.h"

struct enso_ctx;
struct backend_watch;	/* a backend's own, per watched domain */

/* What a backend reports of one domain. */
struct backend_dominfo {
	bool running, blocked, paused, shutdown, dying;
	int shutdown_reason;	/* ENSO_SHUTDOWN_*, or -1 */
	uint64_t current_kb;	/* memory the guest has now */
	uint64_t max_kb;
	uint32_t vcpus_online, max_vcpus;
	double cpu_seconds;
};

/* What libxl has done for a create before it calls the backend's. */
struct backend_create {
	const struct enso_domain_config *cfg;
	/* cfg's cpus= and cpus_soft=, node terms made the host's CPUs
	 * (node_cpus); nmaps 0 when the config has none. */
	struct enso_affinity hard, soft;
	/* The file to load for cfg->kernel (NULL when it has none): the
	 * ELF the kernel cache holds of it, or cfg->kernel itself.  A
	 * builder that cannot load the cached ELF drops it
	 * (rt_kcache_forget) and loads cfg->kernel; one that unpacks
	 * cfg->kernel itself may keep what it unpacked (rt_kcache_store). */
	char *kernel;
	bool kernel_cached;
	bool kernel_pvh;	/* kernel has Xen's PVH entry note */
	/* Restore only.  A backend whose stream another process loads
	 * (Xen's helper) calls it once the domain has its id and the stream
	 * flows: libxl then writes the domain's records and attaches its
	 * devices while the pages still come, off a migration's downtime.
	 * Its failure is the restore's.  Not called, libxl does the same
	 * after restore returns. */
	int (*restore_started)(struct enso_ctx *ctx, uint32_t domid,
			       void *arg, struct enso_error *err);
	void *restore_arg;
	/* Restore only: what the source's stream_layout said (NULL: the
	 * stream had none, its devices are where the config puts them). */
	const char *device_layout;
};

/* One device of a running domain (the device issues: disks, vifs). */
enum backend_device_kind { BACKEND_DEVICE_DISK, BACKEND_DEVICE_NIC };
struct backend_device {
	enum backend_device_kind kind;
	uint32_t devid;
	union {
		const struct enso_disk *disk;
		const struct enso_nic *nic;
	} u;
};

struct backend_ops {
	const char *name;	/* "xen", "kvm" */

	/* The hypervisor gives the domain its id when it builds it (Xen):
	 * create sets *domid, and libxl writes the domain's records after
	 * create, having recorded its intent by uuid before.  false: libxl
	 * allocates the id and writes the records before create (KVM). */
	bool hv_allocates_domid;
	/* Domain 0 is the host itself, not a domain of the hypervisor
	 * (KVM): nobody else writes its entries, and what xl list says of
	 * it comes from the host. */
	bool dom0_is_host;
	/* The config's disks are attached through device_attach once the
	 * domain is built and its records written, before it runs (Xen:
	 * PV devices, found by the guest in xenstore).  false: create takes
	 * them itself (KVM: on QEMU's command line). */
	bool devices_after_build;
	/* What save writes after libxl's header is libxl's stream v2 (Xen:
	 * libxc's stream inside it), so the file says so (mandatory flag
	 * STREAMv2, as upstream's).  false: the backend's own stream (KVM:
	 * QEMU's), which upstream's xl must not take for one. */
	bool save_streamv2;

	/* Builds the domain, paused, under *domid (see hv_allocates_domid).
	 * The backend adds the nodes only it knows (console/tty, store
	 * ring...).  libxl unpauses it afterwards unless the user asked for
	 * -p. */
	int (*create)(struct enso_ctx *ctx, const struct backend_create *in,
		      uint32_t *domid, struct enso_error *err);
	/* Optional: libxl's records are in place, the domain still paused.
	 * The backend may now make it known (Xen: INTRODUCE to xenstored,
	 * so its console is served while it is paused, as upstream's). */
	int (*records_ready)(struct enso_ctx *ctx, uint32_t domid,
			     struct enso_error *err);
	/* Optional: libxl has written a running domain's records again, from
	 * its stored config, into a store that came back without them
	 * (xenstored restarted without its state); the backend adds its own
	 * nodes again (KVM: console/tty, qemu-pid). */
	int (*records_restore)(struct enso_ctx *ctx, uint32_t domid,
			       struct enso_error *err);
	/* Removes whatever the hypervisor holds of domid, records or not (a
	 * create or destroy may have died half-way); -ENOENT when it held
	 * nothing. */
	int (*destroy)(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err);
	/* Optional: the ids of every domain this backend runs for Enso,
	 * whether the store knows them or not (KVM: every <run dir>/qemu/<id>
	 * directory, its QEMU alive or not); *ids malloc'd.  The monitor's
	 * scan for domains a store that lost its state no longer knows. */
	int (*running_ids)(struct enso_ctx *ctx, uint32_t **ids, size_t *n);
	/* Optional: the id of the domain the hypervisor holds under this
	 * uuid, for a create that died after the hypervisor chose the id and
	 * before libxl recorded it (Xen); -ENOENT when there is none. */
	int (*find_uuid)(struct enso_ctx *ctx, const uint8_t uuid[16],
			 uint32_t *domid);
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
	/* The host's one monitor process (libxl/monitor.c) holds a watch on
	 * every domain it serves.  watch_open starts one and sets *fd to a
	 * descriptor to poll for it, or to -1 when the monitor's xenstore
	 * watch on @releaseDomain is what announces the domain's changes.
	 * watch_check never blocks: 1 with *reason (ENSO_SHUTDOWN_*) when
	 * the guest has shut down, 0 when nothing happened, <0 when the
	 * domain (or its emulator) is gone. */
	int (*watch_open)(struct enso_ctx *ctx, uint32_t domid,
			  struct backend_watch **out, int *fd,
			  struct enso_error *err);
	int (*watch_check)(struct enso_ctx *ctx, struct backend_watch *w,
			   int *reason, struct enso_error *err);
	void (*watch_close)(struct backend_watch *w);
	/* The host: what xl info prints. */
	int (*host_info)(struct enso_ctx *ctx, struct enso_host_info *out,
			 struct enso_error *err);
	/* Frees rt_backend_data(ctx) and what it holds (NULL: plain free). */
	void (*close)(struct enso_ctx *ctx);

	/* Every vCPU of the domain (*out malloc'd, *n of them) and the
	 * number of host CPU ids their maps cover (libxl/vcpu.c). */
	int (*vcpu_list)(struct enso_ctx *ctx, uint32_t domid,
			 struct enso_vcpuinfo **out, size_t *n,
			 uint32_t *host_cpus, struct enso_error *err);
	/* One vCPU's hard and/or soft affinity (NULL: left as it is); the
	 * maps hold no node terms; force: ENSO_VCPU_PIN_FORCE. */
	int (*vcpu_pin)(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
			const struct enso_cpumap *hard,
			const struct enso_cpumap *soft, bool force,
			struct enso_error *err);
	/* The host CPUs of NUMA node `node`, added to cpus (ENSO_MAX_CPUS/8
	 * bytes); -ENOENT when the host has no such node (or it has no
	 * CPUs).  For node terms in cpus= and vcpu-pin. */
	int (*node_cpus)(struct enso_ctx *ctx, unsigned node, uint8_t *cpus);
	/* The scheduler's pool and per-domain parameters (enso_sched_*). */
	int (*sched_pool_get)(struct enso_ctx *ctx, struct enso_sched_pool *out,
			      struct enso_error *err);
	int (*sched_pool_set)(struct enso_ctx *ctx,
			      const struct enso_sched_pool *in,
			      struct enso_error *err);
	int (*sched_get)(struct enso_ctx *ctx, uint32_t domid,
			 struct enso_sched_params *out, struct enso_error *err);
	int (*sched_set)(struct enso_ctx *ctx, uint32_t domid,
			 const struct enso_sched_params *in,
			 struct enso_error *err);
	/* The hypervisor's console ring, read (and cleared) up to now:
	 * *text malloc'd and NUL-terminated. */
	int (*console_read)(struct enso_ctx *ctx, bool clear, char **text,
			    size_t *len, struct enso_error *err);
	int (*debug_keys)(struct enso_ctx *ctx, const char *keys,
			  struct enso_error *err);

	/* ---- devices, and room for what comes next (migration): libxl's
	 * callers answer -ENOSYS naming the hypervisor while an op is
	 * NULL, as vcpu.c does for the Xen-only ones. ---- */

	/* Devices of a domain (Xen today; KVM's are on QEMU's command
	 * line).  attach: the backend serves the device and returns once a
	 * running guest sees it (a paused one: once it is served); on
	 * failure nothing of it is left.  Xen writes the xenbus nodes
	 * itself (backends/xen/vbd.c): they are its protocol.  detach: the
	 * guest is asked to let go, and after timeout_ms (force: at once)
	 * the device is taken away anyway; 0 either way, with err saying
	 * so when it was forced by the timeout. */
	int (*device_attach)(struct enso_ctx *ctx, uint32_t domid,
			     const struct backend_device *dev,
			     struct enso_error *err);
	int (*device_detach)(struct enso_ctx *ctx, uint32_t domid,
			     const struct backend_device *dev, bool force,
			     int timeout_ms, struct enso_error *err);
	/* Save (xl save): the domain's state written to fd, from its
	 * offset, in the hypervisor's own stream (Xen: libxc's, KVM: QEMU's
	 * migration stream), after the header and config libxl wrote.  The
	 * backend stops the guest first (Xen: suspends it).  On return,
	 * success or not, the domain is still there and paused: libxl
	 * destroys it, or (save -c, a failed save) resumes it. */
	int (*save)(struct enso_ctx *ctx, uint32_t domid, int fd,
		    struct enso_error *err);
	/* Optional: where the running domain's devices sit in the machine
	 * the hypervisor emulates, as far as the config cannot say (KVM: the
	 * PCIe ports, and which device xl block-attach or network-attach
	 * plugged into which), in the backend's own words; *layout
	 * malloc'd.  libxl puts it into the config a save file or migration
	 * stream carries, and the restoring end's backend gets it back as
	 * backend_create's device_layout, to build the same machine.  The
	 * text is checked there as any stream's: it may come from anybody. */
	int (*stream_layout)(struct enso_ctx *ctx, uint32_t domid,
			     char **layout, struct enso_error *err);
	/* Restore (xl restore): create's counterpart, under the same rules
	 * (*domid given or chosen as create's, paused on return, nothing of
	 * the domain left on failure), with the guest's state loaded from fd
	 * (from its offset: what save wrote).  A stream that is plainly not
	 * the backend's is refused before anything is built. */
	int (*restore)(struct enso_ctx *ctx, const struct backend_create *in,
		       int fd, uint32_t *domid, struct enso_error *err);
	/* Live migration's sending half (xl migrate): the domain's state
	 * written to fd (a pipe or socket to the receiver, after the header
	 * and config libxl wrote) while the guest runs, round after round,
	 * then the guest stopped and the rest sent.  progress (may be NULL)
	 * is called at each round and now and then between; when it returns
	 * false the migration is cancelled.  On success the domain is still
	 * there, stopped, and out carries the figures; on failure it runs as
	 * it ran before.  The receiving half is restore: the same stream,
	 * read from a pipe instead of a file. */
	int (*migrate_send)(struct enso_ctx *ctx, uint32_t domid, int fd,
			    bool (*progress)(void *opaque,
					     const struct enso_migrate_progress *p),
			    void *opaque, struct enso_migrate_progress *out,
			    struct enso_error *err);
};

/* KVM if it works here, else TCG: fills why either way. */
bool kvm_backend_choose_accel(char *why, size_t len);

extern const struct backend_ops backend_xen;
extern const struct backend_ops backend_kvm;

#endif
