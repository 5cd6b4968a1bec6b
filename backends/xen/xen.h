/*
 * The Xen backend's internals: the handles it keeps in a context, and
 * what the builder (build.c) shares with the operations (xen.c).
 * Not installed.
 */
#ifndef ENSO_BACKENDS_XEN_H
#define ENSO_BACKENDS_XEN_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>

#include <xenctrl.h>
#include <xentoollog.h>

#include <xenstore.h>

#include "libxl/services.h"
#include "backends/backend.h"

/* Slack above a domain's memory that Xen's limit allows, as upstream
 * (LIBXL_MAXMEM_CONSTANT): the guest's own page tables and grant frames. */
#define XEN_MAXMEM_SLACK_KB 1024u
/* Bytes of console output xenconsoled buffers (upstream's default). */
#define XEN_CONSOLE_LIMIT "1048576"

/* libxenctrl and libxenguest log through this: the last error is kept
 * for the message the user sees, nothing is printed unless ENSO_XEN_DEBUG
 * is set (then everything goes to stderr). */
struct xen_logger {
	xentoollog_logger vtable;	/* first: libxc calls through it */
	char last[320];
	/* The first error since the logger began: a failed stream's cause,
	 * where libxenguest's last words are its summary ("Restore
	 * failed"); the helper reports it. */
	char first[320];
	bool debug;
};

/* What the builder hands out: the store and console rings. */
struct xen_built {
	uint32_t store_port, console_port;
	uint64_t store_mfn, console_mfn;
};

/* Fills the vtable (the helper process keeps a logger of its own). */
void xen_logger_init(struct xen_logger *l);

/* rt_backend_data(ctx) on Xen.  Opened lazily by xen_backend(). */
struct xen_backend {
	struct xen_logger log;
	xc_interface *xch;
};

/* The context's handles, opened on first use; NULL (err filled) if the
 * control interface cannot be opened. */
struct xen_backend *xen_backend(struct enso_ctx *ctx, struct enso_error *err);

/*
 * Fills err with "WHAT: strerror(e)" and, when libxc logged an error
 * meanwhile, its words; returns -e.  e <= 0: no errno worth showing (the
 * builder's failures): "WHAT: <libxc's words>", -EIO.  xen_log_clear()
 * before the calls whose failure it reports.
 */
int xen_fail(struct xen_backend *xb, struct enso_error *err, int e,
	     const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void xen_log_clear(struct xen_backend *xb);

/* acpi.c: the ACPI tables of a PVH guest (see there): a block of pages
 * for XEN_ACPI_TABLES_GPA and an RSDP for rsdp_gpa, both to copy into
 * the guest; -EINVAL for a vCPU count the tables cannot describe. */
#define XEN_ACPI_PAGE 4096u
#define XEN_ACPI_TABLES_GPA 0xfc000000ull	/* in the MMIO hole, as upstream */
#define XEN_ACPI_RSDP_LOW_GPA (0x100000ull - 64)	/* the BIOS area's top */
#define XEN_LAPIC_BASE 0xfee00000u
struct xen_acpi {
	uint8_t *tables, *rsdp;
	size_t tables_len, rsdp_len;
	uint64_t rsdp_gpa;
};
int xen_acpi_build(struct xen_acpi *a, uint32_t max_vcpus, bool rsdp_low);
void xen_acpi_free(struct xen_acpi *a);

/* build.c: the PV or PVH domain, built paused with its store and console
 * nodes; xen_introduce hands it to xenstored once libxl's records exist
 * (records_ready), or at its first unpause (0 if it already is).  image
 * fills the built domain in place of the kernel (restore: from a stream),
 * given the event channels in b, setting its frames in b; NULL: the
 * kernel, as create. */
typedef int xen_image_fn(struct enso_ctx *ctx, struct xen_backend *xb,
			 uint32_t domid, const struct backend_create *in,
			 struct xen_built *b, void *arg,
			 struct enso_error *err);
int xen_build(struct enso_ctx *ctx, const struct backend_create *in,
	      xen_image_fn *image, void *arg, uint32_t *domid,
	      struct enso_error *err);
int xen_introduce(struct enso_ctx *ctx, uint32_t domid, struct enso_error *err);

/* xen.c: destroy, retrying while Xen says busy; -ENOENT if it is gone.
 * Removes what create() wrote in xenstore when libxl never wrote the
 * domain's records (a create that failed half-way). */
/* store.c: a node dir/key of printf's value; a directory owned by owner,
 * readable by reader (the nodes made in it after inherit that); and fn
 * run in one transaction, retried while another commits first, its
 * failures said as "<who>: writing <what>: ..." and the like. */
bool xen_store_put(struct enso_ctx *ctx, xs_transaction_t t, const char *dir,
		   const char *key, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
bool xen_store_mkdir(struct enso_ctx *ctx, xs_transaction_t t, const char *dir,
		     uint32_t owner, uint32_t reader);
typedef bool xen_store_fn(struct enso_ctx *ctx, xs_transaction_t t, void *arg);
int xen_store_txn(struct enso_ctx *ctx, xen_store_fn *fn, void *arg,
		  const char *who, const char *what, struct enso_error *err);

/* pvdev.c: what every PV device needs of the toolstack.  A class names
 * the backend daemon (enso-<daemon>, started on demand: <run dir>/
 * <daemon>.pid, <log dir>/<daemon>.log, $<daemon_env> overrides the
 * binary), its backend directory and the guest's device class. */
struct xen_pvdev_class {
	const char *kind;	/* "disk", "vif": for messages */
	const char *daemon;	/* "blkback" */
	const char *daemon_env;	/* "ENSO_BLKBACK" */
	const char *be_dir;	/* "enso-vbd": backend/<be_dir>/<domid>/<devid> */
	const char *fe_class;	/* "vbd": device/<fe_class>/<devid> */
	const char *frontend;	/* "blkfront": the guest's driver, for messages */
};
struct xen_pvdev {
	const struct xen_pvdev_class *cls;
	uint32_t domid, devid;
	char label[32];		/* "xvda", "0": how messages name it */
	char be[128], fe[96];
};
/* How long the backend may take to go InitWait, and a running guest to
 * connect (upstream waits 10 s too). */
#define XEN_PVDEV_WAIT_MS 10000
void xen_pvdev_init(struct xen_pvdev *p, const struct xen_pvdev_class *cls,
		    uint32_t domid, uint32_t devid, const char *label);
int xen_pvdev_daemon(struct enso_ctx *ctx, const struct xen_pvdev_class *cls,
		     struct enso_error *err);
bool xen_pvdev_exists(struct enso_ctx *ctx, const struct xen_pvdev *p);
/* Until the backend took the device (InitWait or Connected), or, for a
 * guest that runs, until it is Connected; bounded by XEN_PVDEV_WAIT_MS.
 * On failure err says why (the backend's error node, a timeout naming the
 * log or the frontend driver); the nodes are the caller's to remove. */
int xen_pvdev_wait_taken(struct enso_ctx *ctx, const struct xen_pvdev *p,
			 struct enso_error *err);
int xen_pvdev_wait_connected(struct enso_ctx *ctx, const struct xen_pvdev *p,
			     struct enso_error *err);
/* Asks the guest to let go (online 0, state Closing) and waits for Closed,
 * up to timeout_ms; force: not asked.  Always 0; err says when the guest
 * did not let go.  The nodes stay: xen_pvdev_remove. */
int xen_pvdev_close(struct enso_ctx *ctx, const struct xen_pvdev *p,
		    bool force, int timeout_ms, struct enso_error *err);
void xen_pvdev_remove(struct enso_ctx *ctx, const struct xen_pvdev *p);
/* Every device of the class of a destroyed domain: the backend lets go of
 * its grants and channels when it sees the directories gone. */
void xen_pvdev_remove_all(struct enso_ctx *ctx,
			  const struct xen_pvdev_class *cls, uint32_t domid);
int xen_device_attach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, struct enso_error *err);
int xen_device_detach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, bool force,
		      int timeout_ms, struct enso_error *err);

/* vbd.c: disks, served by enso-blkback. */
int xen_vbd_check(const char *name, const struct enso_disk *d,
		  struct enso_error *err);
int xen_vbd_attach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		   const struct enso_disk *d, struct enso_error *err);
int xen_vbd_detach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		   const struct enso_disk *d, bool force, int timeout_ms,
		   struct enso_error *err);
void xen_vbd_remove_all(struct enso_ctx *ctx, uint32_t domid);

/* vif.c: networks, served by enso-netback on a tap libxl plumbs. */
int xen_vif_check(const char *name, const struct enso_nic *n,
		  struct enso_error *err);
int xen_vif_attach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		   const struct enso_nic *n, struct enso_error *err);
int xen_vif_detach(struct enso_ctx *ctx, uint32_t domid, uint32_t devid,
		   const struct enso_nic *n, bool force, int timeout_ms,
		   struct enso_error *err);
void xen_vif_remove_all(struct enso_ctx *ctx, uint32_t domid);

int xen_destroy_domid(struct enso_ctx *ctx, struct xen_backend *xb,
		      uint32_t domid, struct enso_error *err);
/* xen.c: one domain's record in the hypervisor; -ENOENT if Xen has none. */
int xen_getinfo(struct xen_backend *xb, uint32_t domid, xc_domaininfo_t *di,
		struct enso_error *err);

/* helper.c: one libxenguest call in a child process (see there).  run
 * runs in the child with its own control interface, returns 0 or -errno
 * (positive: -EIO); it may ask the parent (xen_helper_ask, with up to
 * XEN_HELPER_ARGS figures: the answer's a value >= 0 or -errno) and leave
 * frames for it (xen_helper_results).  answer runs in the parent with the
 * context's handles, err filled on failure (may be NULL).  On success the
 * frames are in the job. */
#define XEN_HELPER_ARGS 4
struct xen_helper;
struct xen_helper_job {
	const char *what;	/* "domain 3: saving its state": messages */
	int (*run)(xc_interface *xch, struct xen_helper *h, void *arg);
	int (*answer)(struct enso_ctx *ctx, uint32_t question,
		      const uint64_t q[XEN_HELPER_ARGS], void *arg,
		      struct enso_error *err);
	/* Optional: in the parent once the child runs, before its questions
	 * are taken (restore: libxl's work that can overlap the stream).
	 * A failure kills the child and is the job's. */
	int (*started)(struct enso_ctx *ctx, void *arg, struct enso_error *err);
	void *arg;
	uint64_t store_mfn, console_mfn;	/* out */
};
int xen_helper_run(struct enso_ctx *ctx, struct xen_helper_job *job,
		   struct enso_error *err);
int xen_helper_ask(struct xen_helper *h, uint32_t question,
		   const uint64_t arg[XEN_HELPER_ARGS]);
void xen_helper_results(struct xen_helper *h, uint64_t store_mfn,
			uint64_t console_mfn);

/* save.c: the save and restore ops (backends/backend.h); and the resume
 * of a domain a save left suspended, which unpause does first (0 when it
 * is not suspended). */
int xen_save(struct enso_ctx *ctx, uint32_t domid, int fd,
	     struct enso_error *err);
int xen_restore(struct enso_ctx *ctx, const struct backend_create *in, int fd,
		uint32_t *domid, struct enso_error *err);
int xen_resume_suspended(struct enso_ctx *ctx, struct xen_backend *xb,
			 uint32_t domid, struct enso_error *err);
/* The guest asked to suspend (its suspend event channel, else
 * control/shutdown) and waited for, bounded: 0 once the hypervisor says
 * it has.  And libxc's question to an HVM container's device model (to
 * track the pages it writes), answered for a PVH guest, which has none. */
int xen_suspend_guest(struct enso_ctx *ctx, uint32_t domid,
		      struct enso_error *err);
int xen_save_dm_logdirty(uint32_t domid, unsigned enable, void *data);
/* Before asking the guest to suspend (save, migrate): its record in di,
 * and -EBUSY, said, when it is paused and so cannot.  what: "save",
 * "migration", for the message. */
int xen_suspendable(struct xen_backend *xb, uint32_t domid, const char *what,
		    xc_domaininfo_t *di, struct enso_error *err);
/* What save and migrate send: libxl's stream header and LIBXC_CONTEXT,
 * libxc's stream from the helper job (xc_domain_save), END.  name: the
 * stream's, for messages. */
int xen_stream_out(struct enso_ctx *ctx, int fd, const char *name,
		   struct xen_helper_job *job, struct enso_error *err);

/* precopy.c: live migration's precopy policy.  Before round ROUND (from
 * 1) with DIRTY pages to send: true to stop the guest and copy what is
 * left now.  pc carries the rounds' figures: the rate the last one
 * measured (0 before one is), and what the policy keeps itself. */
#define XEN_PRECOPY_MAX_ROUNDS 30
struct xen_precopy {
	uint64_t rate_bps;
	uint64_t prev_dirty;
};
bool xen_precopy_stop(struct xen_precopy *pc, uint64_t round, uint64_t dirty);

/* migrate.c: live migration's sending half (backend.h's migrate_send). */
int xen_migrate_send(struct enso_ctx *ctx, uint32_t domid, int fd,
		     bool (*progress)(void *opaque,
				      const struct enso_migrate_progress *p),
		     void *opaque, struct enso_migrate_progress *out,
		     struct enso_error *err);

/* vcpu.c: vCPUs (vcpu-list, vcpu-pin), the console ring, debug keys; as
 * the ops of the same names in backends/backend.h. */
int xen_vcpu_list(struct enso_ctx *ctx, uint32_t domid,
		  struct enso_vcpuinfo **out, size_t *n, uint32_t *host_cpus,
		  struct enso_error *err);
int xen_vcpu_pin(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
		 const struct enso_cpumap *hard, const struct enso_cpumap *soft,
		 bool force, struct enso_error *err);
int xen_console_read(struct enso_ctx *ctx, bool clear, char **text,
		     size_t *len, struct enso_error *err);
int xen_debug_keys(struct enso_ctx *ctx, const char *keys,
		   struct enso_error *err);
int xen_node_cpus(struct enso_ctx *ctx, unsigned node, uint8_t *cpus);

/* sched.c: the ops of the same names; xen_sched_set_domid for create
 * (weight, cap: -1 leaves it). */
int xen_sched_pool_get(struct enso_ctx *ctx, struct enso_sched_pool *out,
		       struct enso_error *err);
int xen_sched_pool_set(struct enso_ctx *ctx, const struct enso_sched_pool *in,
		       struct enso_error *err);
int xen_sched_get(struct enso_ctx *ctx, uint32_t domid,
		  struct enso_sched_params *out, struct enso_error *err);
int xen_sched_set(struct enso_ctx *ctx, uint32_t domid,
		  const struct enso_sched_params *in, struct enso_error *err);
int xen_sched_set_domid(struct xen_backend *xb, uint32_t domid, int weight,
			int cap, struct enso_error *err);
/* XEN_SCHEDULER_* as xl names it: "credit2". */
const char *xen_sched_name(int id);

/* info.c: xl info's hypervisor lines (out->fields), upstream's keys and
 * order, from physinfo pi, the version and extraversion the caller read,
 * and Xen's other version calls. */
int xen_host_fields(struct xen_backend *xb, const xc_physinfo_t *pi, int ver,
		    const char *extra, struct enso_host_info *out);

#endif
