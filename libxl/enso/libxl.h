/*
 * enso/libxl.h: Enso's libxl: the domain configuration core, and the
 * running domains behind one hypervisor-independent API.
 *
 * One model of a domain (struct enso_domain_config), two syntaxes that
 * become it: xl.cfg(5) files and the JSON shape of upstream's
 * libxl_domain_config (what `xl -N create` and `xl list -l` print).
 *
 * Contract, for every function here:
 *  - Returns 0 on success or a negative errno: -EINVAL for bad input (with
 *    err->msg filled when an err is given), -ENOMEM, or the errno of a
 *    failed read.  On failure the output object is left disposed (safe to
 *    dispose again, holds nothing).
 *  - Never prints, never exits, starts no threads, keeps no global state:
 *    calls on different objects may run in different threads at once.
 *  - Every pointer in a config, disk, nic or xl.conf is malloc'd and owned
 *    by that object; the _dispose functions free them and are idempotent.
 *  - Config errors read "FILE:LINE: what is wrong" (KEY=VALUE overrides are
 *    named "<command line>:N", N counting the overrides from 1); an error
 *    that has no line (a missing key) reads "FILE: what is wrong".
 *
 * This header and libensoxl are Enso's own: they share no name and no code
 * with upstream's libxl.h or its library.
 */
#ifndef ENSO_LIBXL_H
#define ENSO_LIBXL_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct enso_error {
	char msg[512];
};

/* A uint32_t setting left to the host / xl.conf default. */
#define ENSO_U32_DEFAULT UINT32_MAX
/* Highest host CPU count a CPU map can describe. */
#define ENSO_MAX_CPUS 4096
/* Memory when a config gives none (libxl's default), in KiB. */
#define ENSO_MEMORY_DEFAULT_KB (32u * 1024u)
#define ENSO_EVENT_CHANNELS_DEFAULT 1023u

enum enso_domain_type { ENSO_DOMAIN_PV, ENSO_DOMAIN_PVH, ENSO_DOMAIN_HVM };

enum enso_action {
	ENSO_ACTION_DESTROY,
	ENSO_ACTION_RESTART,
	ENSO_ACTION_RENAME_RESTART,
	ENSO_ACTION_PRESERVE,
	ENSO_ACTION_COREDUMP_DESTROY,
	ENSO_ACTION_COREDUMP_RESTART,
	ENSO_ACTION_SOFT_RESET,
};

/* ---- disks (xl-disk-configuration(5)) ------------------------------ */

enum enso_disk_format {
	ENSO_DISK_FORMAT_RAW,	/* the default */
	ENSO_DISK_FORMAT_QCOW,
	ENSO_DISK_FORMAT_QCOW2,
	ENSO_DISK_FORMAT_VHD,
	ENSO_DISK_FORMAT_QED,
	ENSO_DISK_FORMAT_EMPTY,	/* a cdrom drive with no medium */
};

enum enso_disk_backendtype {
	ENSO_DISK_BACKEND_UNKNOWN,	/* let the toolstack choose */
	ENSO_DISK_BACKEND_PHY,
	ENSO_DISK_BACKEND_QDISK,
	ENSO_DISK_BACKEND_STANDALONE,
};

enum enso_disk_specification {
	ENSO_DISK_SPEC_DEFAULT,		/* xen */
	ENSO_DISK_SPEC_XEN,
	ENSO_DISK_SPEC_VIRTIO,
};

struct enso_disk {
	char *target;		/* pdev path as written; NULL: empty cdrom */
	enum enso_disk_format format;
	char *vdev;		/* as written: "xvda", "hdc", "d1p2", "51712" */
	uint32_t vdev_number;	/* xen-vbd-interface(7) number of vdev */
	bool readwrite;
	bool is_cdrom;
	char *backend;		/* backend domain name; NULL: dom0 */
	enum enso_disk_backendtype backendtype;
	enum enso_disk_specification specification;
	char *script;		/* "block-iscsi" from the iscsi: prefix etc. */
	bool direct_io_safe;
	int discard;		/* -1 default (on), 0 no-discard, 1 discard */
	int trusted;		/* -1 default (trusted), 0, 1 */
};

/* ---- network interfaces (xl-network-configuration(5)) -------------- */

enum enso_nic_type {
	ENSO_NIC_TYPE_DEFAULT,	/* ioemu for HVM, vif otherwise */
	ENSO_NIC_TYPE_IOEMU,
	ENSO_NIC_TYPE_VIF,
};

struct enso_nic {
	int devid;		/* the index in vif=[...] unless devid= says */
	uint8_t mac[6];
	bool mac_set;		/* false: a random 00:16:3e MAC at create time */
	char *bridge;		/* NULL: xl.conf's vif.default.bridge */
	char *gatewaydev;
	enum enso_nic_type type;
	char *model;
	char *vifname;		/* NULL: vifDOMID.DEVID */
	char *script;		/* NULL: xl.conf's vif.default.script */
	char *ip;
	char *backend;		/* backend domain name; NULL: dom0 */
	uint64_t rate_bytes_per_interval;	/* 0: unlimited */
	uint32_t rate_interval_usecs;
	uint32_t mtu;		/* 0: default (1500 or the bridge's) */
	int trusted;		/* -1 default (trusted), 0, 1 */
};

/* ---- CPU maps ------------------------------------------------------- */

/*
 * One CPU list as written in cpus= / cpus_soft=: "0-3,^1", "all,^7",
 * "nodes:0-1,^node:2,5".  Terms apply left to right.  bits holds the result
 * over ENSO_MAX_CPUS CPUs, "all" setting every one of them (so the caller
 * ANDs it with the host's CPUs).  Node terms need the host's topology: when
 * no resolver was given they are left out of bits and has_nodes is set; the
 * caller re-parses spec with enso_cpumap_parse() and a resolver.
 */
struct enso_cpumap {
	char *spec;
	bool all;		/* an "all" term appeared */
	bool has_nodes;		/* node terms appeared and were not resolved */
	uint8_t bits[ENSO_MAX_CPUS / 8];
};

/* Fills `cpus` (ENSO_MAX_CPUS/8 bytes, cleared) with NUMA node `node`'s
 * CPUs; returns 0 or a negative errno (-ENOENT: no such node). */
typedef int enso_node_cpus_fn(unsigned node, uint8_t *cpus, void *opaque);

int enso_cpumap_parse(const char *spec, enso_node_cpus_fn *node_cpus,
		      void *opaque, struct enso_cpumap *out,
		      struct enso_error *err);
void enso_cpumap_dispose(struct enso_cpumap *m);
static inline bool enso_cpumap_test(const struct enso_cpumap *m, unsigned cpu)
{
	return cpu < ENSO_MAX_CPUS && (m->bits[cpu / 8] >> (cpu % 8)) & 1;
}
/* Whether m holds any of the host's ncpus CPUs (ids 0 to ncpus - 1). */
bool enso_cpumap_any(const struct enso_cpumap *m, uint32_t ncpus);
/* m over the host's ncpus CPUs as upstream's xl writes one: "all" when it
 * holds every one of them, "none" when it holds none, else its runs as
 * "a-b" or "a" joined by commas ("0-1,4").  Cut short (still
 * NUL-terminated) when len is too small; ENSO_CPUMAP_FORMAT_MAX always
 * suffices. */
#define ENSO_CPUMAP_FORMAT_MAX (ENSO_MAX_CPUS * 5)
void enso_cpumap_format(const struct enso_cpumap *m, uint32_t ncpus,
			char *out, size_t len);

/* cpus= or cpus_soft=: nothing, one map for every vCPU, or one per vCPU. */
struct enso_affinity {
	struct enso_cpumap *maps;
	size_t nmaps;		/* 0: not given */
	bool per_vcpu;		/* false: maps[0] is every vCPU's map */
};

/* vCPU vcpu's map in a, or NULL where a gives it none. */
static inline const struct enso_cpumap *
enso_affinity_map(const struct enso_affinity *a, uint32_t vcpu)
{
	if (!a->nmaps)
		return NULL;
	if (!a->per_vcpu)
		return &a->maps[0];
	return vcpu < a->nmaps ? &a->maps[vcpu] : NULL;
}

/* ---- channels (xen-pv-channel(7)) ----------------------------------- */

enum enso_channel_connection {
	ENSO_CHANNEL_PTY,
	ENSO_CHANNEL_SOCKET,
};

struct enso_channel {
	char *spec;		/* the raw spec string, canonical after JSON */
	char *name;		/* mandatory */
	char *backend;		/* NULL: dom0 */
	enum enso_channel_connection connection;
	char *path;		/* socket path (connection=socket) */
};

/* ---- the domain ------------------------------------------------------ */

struct enso_domain_config {
	char *name;
	uint8_t uuid[16];
	bool uuid_set;		/* false: a fresh UUID at create time */
	enum enso_domain_type type;
	char *pool;		/* CPU pool name; NULL: Pool-0 */

	uint64_t memory_kb, maxmem_kb;
	uint32_t vcpus, maxvcpus;
	struct enso_affinity cpus, cpus_soft;
	int cpu_weight;		/* -1: scheduler default (256) */
	int cap;		/* -1: scheduler default (0, no cap) */

	char *kernel, *ramdisk;
	char *cmdline;		/* effective: cmdline=, else "root=R E" */
	char *root, *extra;	/* as written (not kept in JSON) */
	char *bootloader;
	char **bootloader_args;
	size_t nbootloader_args;

	enum enso_action on_poweroff, on_reboot, on_watchdog, on_crash,
		on_soft_reset;

	struct enso_disk *disks;
	size_t ndisks;
	struct enso_nic *nics;
	size_t nnics;
	struct enso_channel *channels;
	size_t nchannels;
	char **serial;		/* HVM serial= devices */
	size_t nserial;

	uint32_t max_grant_frames;	/* ENSO_U32_DEFAULT: xl.conf / Xen */
	uint32_t max_maptrack_frames;	/* ENSO_U32_DEFAULT: xl.conf / Xen */
	uint32_t max_event_channels;	/* default 1023 */
	bool nomigrate;
	/* Only in the config a save file or migration stream carries: where
	 * the source's backend had put the devices, in its own words
	 * (backends/backend.h's stream_layout), for the restoring end to
	 * build the same machine.  JSON "enso_device_layout"; never stored
	 * with a running domain. */
	char *device_layout;
};

void enso_config_init(struct enso_domain_config *c);
void enso_config_dispose(struct enso_domain_config *c);

/*
 * Parses an xl.cfg file.  overrides: NULL or a NULL-terminated array of
 * "KEY=VALUE" statements in xl.cfg syntax, applied after the file as if
 * they were extra lines (so they win).  *out is initialised here.
 */
int enso_config_parse_file(const char *path, const char *const *overrides,
			   struct enso_domain_config *out,
			   struct enso_error *err);
/* The same from memory; source_name names the text in errors. */
int enso_config_parse_string(const char *text, size_t len,
			     const char *source_name,
			     const char *const *overrides,
			     struct enso_domain_config *out,
			     struct enso_error *err);

/* *json_out: malloc'd, NUL-terminated; pretty output ends in a newline. */
int enso_config_to_json(const struct enso_domain_config *c, bool pretty,
			char **json_out);
/* Reads what enso_config_to_json writes (and upstream's shape for the
 * same fields).  *out is initialised here. */
int enso_config_from_json(const char *json, struct enso_domain_config *out,
			  struct enso_error *err);

/* One disk / vif / channel spec string; *out is initialised here.  A nic's
 * devid is -1 unless the spec says devid= (the config parser then sets the
 * list index). */
int enso_disk_parse(const char *spec, struct enso_disk *out,
		    struct enso_error *err);
int enso_nic_parse(const char *spec, struct enso_nic *out,
		   struct enso_error *err);
void enso_disk_dispose(struct enso_disk *d);
void enso_nic_dispose(struct enso_nic *n);
void enso_channel_dispose(struct enso_channel *ch);
int enso_channel_parse(const char *spec, struct enso_channel *out,
		       struct enso_error *err);

/* xen-vbd-interface(7): "xvda" -> 51712, "hdc" -> 5632, "d1p2" -> 51730,
 * "xvdaa" -> 268442112, or a plain number.  -EINVAL if not a vdev. */
int enso_vdev_to_number(const char *vdev, uint32_t *out);

/* Names used in JSON and messages ("destroy", "rename-restart"...). */
const char *enso_action_name(enum enso_action a);
const char *enso_domain_type_name(enum enso_domain_type t);
const char *enso_disk_format_name(enum enso_disk_format f);

/* ---- xl.conf(5) ------------------------------------------------------ */

enum enso_autoballoon { ENSO_AUTOBALLOON_AUTO, ENSO_AUTOBALLOON_ON,
			ENSO_AUTOBALLOON_OFF };
enum enso_domid_policy { ENSO_DOMID_POLICY_XEN, ENSO_DOMID_POLICY_RANDOM };
enum enso_output_format { ENSO_OUTPUT_JSON, ENSO_OUTPUT_SXP };

/* The string settings are NULL when xl.conf leaves them out: */
#define ENSO_XL_DEFAULT_LOCKFILE "/var/lock/xl"
#define ENSO_XL_DEFAULT_VIF_SCRIPT "vif-bridge"
#define ENSO_XL_DEFAULT_VIF_BRIDGE "xenbr0"
#define ENSO_XL_DEFAULT_BLKDEV_START "xvda"

struct enso_xl_conf {
	enum enso_autoballoon autoballoon;	/* default auto */
	bool run_hotplug_scripts;		/* default true */
	char *lockfile;				/* NULL: the default above */
	enum enso_domid_policy domid_policy;	/* default xen */
	char *vif_default_script;		/* (vifscript=, deprecated) */
	char *vif_default_bridge;		/* (defaultbridge=, deprecated) */
	char *vif_default_backend;		/* NULL: dom0 */
	char *vif_default_gatewaydev;		/* NULL: none */
	enum enso_output_format output_format;	/* default json */
	bool claim_mode;			/* default true */
	uint32_t max_grant_frames;		/* ENSO_U32_DEFAULT: Xen's */
	uint32_t max_maptrack_frames;		/* ENSO_U32_DEFAULT: Xen's */
	char *blkdev_start;
};

void enso_xl_conf_init(struct enso_xl_conf *x);
void enso_xl_conf_dispose(struct enso_xl_conf *x);
/* -ENOENT (err filled) when the file does not exist: callers may treat
 * that as "all defaults".  *out is initialised here. */
int enso_xl_conf_parse_file(const char *path, struct enso_xl_conf *out,
			    struct enso_error *err);
int enso_xl_conf_parse_string(const char *text, size_t len,
			      const char *source_name,
			      struct enso_xl_conf *out,
			      struct enso_error *err);

/* ---- running domains ------------------------------------------------------
 *
 * A context is one caller's handle on the host: a xenstore connection and
 * the hypervisor backend chosen for this host (Xen in a Xen control domain,
 * else KVM if it works, else KVM on QEMU's TCG; the choice and its reason
 * are in enso_ctx_hypervisor()).  Not thread-safe: one context per thread.
 * Nothing here prints or exits; failures fill err.
 */
struct enso_ctx;

enum enso_hypervisor { ENSO_HV_XEN, ENSO_HV_KVM, ENSO_HV_TCG };

/* flags: 0 */
int enso_ctx_open(struct enso_ctx **out, unsigned flags, struct enso_error *err);
void enso_ctx_close(struct enso_ctx *ctx);	/* NULL is fine */
enum enso_hypervisor enso_ctx_hypervisor(const struct enso_ctx *ctx,
					 const char **why);
/* A flag the caller's signal handler sets (xl: SIGINT, SIGTERM).  Create
 * and destroy look at it between their steps: a create that sees it set
 * removes everything it made and fails with -ECANCELED.  NULL: none. */
void enso_ctx_set_cancel(struct enso_ctx *ctx, volatile sig_atomic_t *flag);

enum enso_shutdown_reason {
	ENSO_SHUTDOWN_POWEROFF = 0,
	ENSO_SHUTDOWN_REBOOT = 1,
	ENSO_SHUTDOWN_SUSPEND = 2,
	ENSO_SHUTDOWN_CRASH = 3,
	ENSO_SHUTDOWN_WATCHDOG = 4,
	ENSO_SHUTDOWN_SOFT_RESET = 5,
};

struct enso_dominfo {
	uint32_t domid;
	char *name;
	uint8_t uuid[16];
	bool running, blocked, paused, shutdown, dying;
	int shutdown_reason;	/* enum enso_shutdown_reason, or -1 */
	uint64_t current_kb, max_kb, outstanding_kb;
	uint32_t vcpus_online, max_vcpus;
	double cpu_seconds;
	/* A create or destroy is under way, or was left unfinished by a
	 * process that died (then the monitor finishes it): the hypervisor
	 * part may be missing, the fields above then zero. */
	bool creating, destroying;
};
void enso_dominfo_dispose(struct enso_dominfo *info);
void enso_dominfo_list_free(struct enso_dominfo *list, size_t n);

/* One line of xl info the hypervisor gives: "virt_caps", "pv hvm". */
struct enso_host_field {
	char *key, *value;
};

struct enso_host_info {
	char *hypervisor;	/* "xen 4.17" / "kvm" / "qemu-tcg" */
	char *why;		/* why this hypervisor was chosen */
	uint32_t nr_cpus;
	uint64_t total_kb, free_kb;
	char *version;		/* the backend's version string */
	/* Xen: upstream xl info's lines from nr_cpus to build_id, in its
	 * order and formats (none on KVM). */
	struct enso_host_field *fields;
	size_t nfields;
};
void enso_host_info_dispose(struct enso_host_info *info);

enum { ENSO_CREATE_PAUSED = 1 };

int enso_domain_create(struct enso_ctx *ctx,
		       const struct enso_domain_config *cfg, unsigned flags,
		       uint32_t *domid, struct enso_error *err);
int enso_domain_destroy(struct enso_ctx *ctx, uint32_t domid,
			struct enso_error *err);
int enso_domain_pause(struct enso_ctx *ctx, uint32_t domid,
		      struct enso_error *err);
int enso_domain_unpause(struct enso_ctx *ctx, uint32_t domid,
			struct enso_error *err);
int enso_domain_shutdown(struct enso_ctx *ctx, uint32_t domid, bool reboot,
			 struct enso_error *err);
/* Waits until the domain is gone (or timeout_ms passes: -ETIMEDOUT). */
int enso_domain_wait_gone(struct enso_ctx *ctx, uint32_t domid,
			  int timeout_ms, struct enso_error *err);
int enso_domain_list(struct enso_ctx *ctx, struct enso_dominfo **out,
		     size_t *n, struct enso_error *err);
int enso_domain_info(struct enso_ctx *ctx, uint32_t domid,
		     struct enso_dominfo *out, struct enso_error *err);
int enso_domain_set_memory(struct enso_ctx *ctx, uint32_t domid,
			   uint64_t target_kb, struct enso_error *err);
int enso_domain_set_maxmem(struct enso_ctx *ctx, uint32_t domid,
			   uint64_t max_kb, struct enso_error *err);
int enso_domain_set_vcpus(struct enso_ctx *ctx, uint32_t domid,
			  uint32_t count, struct enso_error *err);
/* Name <-> id; a name that is all digits is taken as an id. */
int enso_domain_lookup(struct enso_ctx *ctx, const char *name_or_id,
		       uint32_t *domid, struct enso_error *err);
int enso_domain_rename(struct enso_ctx *ctx, uint32_t domid,
		       const char *new_name, struct enso_error *err);
/* The console device path (a pty), for xl console. */
int enso_domain_console_tty(struct enso_ctx *ctx, uint32_t domid,
			    char **path, struct enso_error *err);
/* The config the domain was created from (for xl list -l). */
int enso_domain_config(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_domain_config *out, struct enso_error *err);
/* Seconds since the domain was created (dom0: the host's uptime), or -1. */
long enso_domain_uptime(struct enso_ctx *ctx, uint32_t domid);

/*
 * Disks of a running domain (xl block-attach, block-list, block-detach).
 *
 * attach: the disk is served and the guest can see it before this
 * returns (on Xen: the backend has opened the disk, and a running guest's
 * frontend has connected; one that does not within 10 s fails the
 * attach, and nothing is left behind; a paused guest connects when it
 * runs).  The domain's stored config gains the disk, so that a reboot
 * keeps it.  -EEXIST if its vdev is taken.
 *
 * detach: the guest is asked to let go; one that does not within 10 s
 * (force: at once) loses the disk anyway, and err says so while the
 * call returns 0.  vdev: "xvdb", or its number.  -ENOENT if the domain
 * has no such disk.
 */
struct enso_diskinfo {
	uint32_t devid;		/* the vdev's xen-vbd-interface(7) number */
	char *vdev;		/* as the config wrote it */
	uint32_t backend_id;	/* the domain serving it (0) */
	uint32_t frontend_id;	/* the domain it belongs to */
	int state;		/* backend's xenbus state; -1 if none */
	int evtchn;		/* the frontend's event channel; -1 if none */
	int ring_ref;		/* the frontend's (first) ring-ref; -1 if none */
	char *backend_path;	/* NULL where the disk has no xenstore backend */
	struct enso_disk disk;	/* what the config says */
};
int enso_disk_attach(struct enso_ctx *ctx, uint32_t domid,
		     const struct enso_disk *disk, struct enso_error *err);
int enso_disk_detach(struct enso_ctx *ctx, uint32_t domid, const char *vdev,
		     bool force, struct enso_error *err);
/* In devid order; *out NULL and *n 0 for a domain with none. */
int enso_disk_list(struct enso_ctx *ctx, uint32_t domid,
		   struct enso_diskinfo **out, size_t *n,
		   struct enso_error *err);
void enso_diskinfo_list_free(struct enso_diskinfo *list, size_t n);

/*
 * Network interfaces of a running domain (xl network-attach, network-list,
 * network-detach), on the disks' terms above: attach returns once the
 * vif is served and its host side plumbed (bridge, or the user's
 * script=), and a running guest connected it; the stored config follows.
 * A nic without devid takes the next free one (upstream's rule: one past
 * the highest), without mac a random one in 00:16:3e.  -EEXIST if its
 * devid is taken.  detach: id is the devid or the MAC; -ENOENT if the
 * domain has no such vif.
 */
struct enso_nicinfo {
	uint32_t devid;
	uint32_t backend_id;	/* the domain serving it (0) */
	uint32_t frontend_id;	/* the domain it belongs to */
	int state;		/* backend's xenbus state; -1 if none */
	int evtchn;		/* the frontend's (first) event channel; -1 */
	int rref_tx, rref_rx;	/* the frontend's (first) ring refs; -1 */
	char *backend_path;	/* NULL where the vif has no xenstore backend */
	struct enso_nic nic;	/* what the config says */
};
int enso_nic_attach(struct enso_ctx *ctx, uint32_t domid,
		    const struct enso_nic *nic, struct enso_error *err);
int enso_nic_detach(struct enso_ctx *ctx, uint32_t domid, const char *id,
		    bool force, struct enso_error *err);
/* In devid order; *out NULL and *n 0 for a domain with none. */
int enso_nic_list(struct enso_ctx *ctx, uint32_t domid,
		  struct enso_nicinfo **out, size_t *n,
		  struct enso_error *err);
void enso_nicinfo_list_free(struct enso_nicinfo *list, size_t n);
int enso_host_info(struct enso_ctx *ctx, struct enso_host_info *out,
		   struct enso_error *err);

/*
 * The monitor: what outlives xl create.  One process per host (its pid
 * file, <run dir>/monitor.pid, locked, keeps it to one) serves every domain handed to it:
 * it carries out on_poweroff / on_reboot / on_crash (destroy, restart,
 * rename-restart, preserve) and cleans up after a domain whose emulator
 * died.  enso_monitor_run is that process's loop; the caller (xl) forks
 * and detaches first.  It calls ready(opaque) once it serves, and returns
 * 0 when *stop becomes true (it polls with a timeout and returns from
 * signals), -EALREADY when another monitor runs.  A domain is handed over
 * with enso_domain_monitor_add, which the running monitor sees at once
 * and a starting one finds.
 */
typedef void enso_monitor_log_fn(const char *msg, void *opaque);
int enso_monitor_run(struct enso_ctx *ctx, volatile sig_atomic_t *stop,
		     enso_monitor_log_fn *log, void *opaque,
		     void (*ready)(void *opaque), struct enso_error *err);
bool enso_monitor_running(struct enso_ctx *ctx);
int enso_domain_monitor_add(struct enso_ctx *ctx, uint32_t domid,
			    struct enso_error *err);

/* ---- save and restore (libxl/savefile.c, libxl/save.c) ----------------
 *
 * A save file is upstream xl's: its header (32 bytes of magic, then four
 * uint32_t in the host's byte order: byte-order marker, mandatory flags,
 * optional flags, optional data length), the optional data (a uint32_t
 * length and the domain's config as JSON, NUL included), then the
 * hypervisor's stream (KVM: QEMU's migration stream).  Layout and what is
 * not done yet: docs/design/save-restore.md.
 */
#define ENSO_SAVE_MAGIC_LEN 32
#define ENSO_SAVE_MANDATORY_JSON 1u	/* the config is JSON */
#define ENSO_SAVE_MANDATORY_STREAMV2 2u	/* libxl migration stream v2 */
/* Optional data a reader accepts at most (bytes). */
#define ENSO_SAVE_OPTDATA_MAX (16u * 1024u * 1024u)

struct enso_save_header {
	/* The fixed part was read and its magic and byte order are right:
	 * the three fields below are the file's (also when a later check
	 * failed: xl prints them as upstream does). */
	bool have_fixed;
	uint32_t mandatory_flags, optional_flags, optional_data_len;
	char *config;		/* NUL-terminated, malloc'd; NULL: none */
	size_t config_len;	/* as the file gives it */
};
void enso_save_header_dispose(struct enso_save_header *h);
/* Writes the header with config (NULL: none; its NUL is written too) at
 * fd's offset; JSON is set in the flags when there is a config.  source
 * names the file in errors. */
int enso_save_header_write(int fd, const char *source, const char *config,
			   uint32_t mandatory_flags,
			   struct enso_save_header *out,
			   struct enso_error *err);
/* Reads and checks the header at fd's offset, leaving fd just after it
 * (where the hypervisor's stream starts).  -EINVAL with err naming source
 * and what is wrong: truncated, wrong magic, wrong byte order, unknown
 * mandatory flags, lengths that do not fit. */
int enso_save_header_read(int fd, const char *source,
			  struct enso_save_header *out, struct enso_error *err);

/* xl save, in two calls so that the caller can say what it writes before
 * the long part.  begin: the header and config at fd (override, when not
 * NULL, in place of the config the domain runs with); -ENOSYS, before
 * anything is written, when the backend cannot save.  Then save: the
 * domain's state after it (the guest paused first), and then the domain
 * destroyed, unless ENSO_SAVE_CHECKPOINT (it runs on, as it ran before)
 * or ENSO_SAVE_LEAVE_PAUSED (it stays, paused).  A save that fails
 * leaves the domain as it was (running again if it ran). */
enum { ENSO_SAVE_CHECKPOINT = 1, ENSO_SAVE_LEAVE_PAUSED = 2 };
int enso_domain_save_begin(struct enso_ctx *ctx, uint32_t domid, int fd,
			   const char *source,
			   const struct enso_domain_config *override,
			   struct enso_save_header *out,
			   struct enso_error *err);
int enso_domain_save(struct enso_ctx *ctx, uint32_t domid, int fd,
		     unsigned flags, struct enso_error *err);
/* xl restore: a new domain (new id, cfg's name) built as create builds
 * one, its state read from fd (just after the header), then unpaused
 * unless ENSO_CREATE_PAUSED.  A restore that fails leaves nothing. */
int enso_domain_restore(struct enso_ctx *ctx,
			const struct enso_domain_config *cfg, int fd,
			unsigned flags, uint32_t *domid,
			struct enso_error *err);

/* ---- live migration (libxl/migrate.c) ---------------------------------
 *
 * The sending half of xl migrate; the conversation with the receiver
 * (banners, the rename dance) is xl's.  The stream is a save file's
 * (header, config, the hypervisor's stream) written to a pipe or socket;
 * the receiver reads it with enso_save_header_read and
 * enso_domain_restore.  docs/design/migration.md.
 */
struct enso_migrate_progress {
	uint32_t round;		/* precopy round, from 1; the last is the
				 * one with the guest stopped */
	bool stopped;		/* the guest is stopped: the final copy */
	uint64_t bytes_sent;
	uint64_t memory_bytes;	/* the guest's memory */
	uint64_t remaining_bytes; /* still dirty, to send (an estimate) */
	uint64_t dirty_pages;	/* pages the last round found dirty */
	uint64_t dirty_pages_rate; /* pages dirtied per second, lately */
	uint64_t rate_bps;	/* bytes per second sent, lately */
	uint64_t elapsed_ms;	/* since the migration started */
	/* Set once it has completed: how long the guest was stopped at the
	 * source until its last byte left. */
	uint64_t downtime_ms;
};
/* Called at each round and now and then between; false cancels. */
typedef bool enso_migrate_progress_fn(void *opaque,
				      const struct enso_migrate_progress *p);
/* The header and config at fd (override, when not NULL, in place of the
 * config the domain runs with), as enso_domain_save_begin; -ENOSYS
 * before anything is written when the backend cannot migrate. */
int enso_domain_migrate_begin(struct enso_ctx *ctx, uint32_t domid, int fd,
			      const struct enso_domain_config *override,
			      struct enso_save_header *out,
			      struct enso_error *err);
/* The guest's memory while it runs, then stopped and the rest: on
 * success the domain is there, stopped, its copy complete at the
 * receiver (out: the last progress, with downtime_ms); on failure
 * (a cut connection, a receiver gone, cancelled through progress or the
 * context's cancel flag) it runs as it ran before. */
int enso_domain_migrate_send(struct enso_ctx *ctx, uint32_t domid, int fd,
			     enso_migrate_progress_fn *progress, void *opaque,
			     struct enso_migrate_progress *out,
			     struct enso_error *err);
/* After a completed send that the receiver could not start: the guest
 * runs here again (unless it was paused before the migration). */
int enso_domain_migrate_resume(struct enso_ctx *ctx, uint32_t domid,
			       bool was_paused, struct enso_error *err);

/* ---- vCPUs and the hypervisor's console (libxl/vcpu.c) ----------------
 *
 * What xl vcpu-list, vcpu-pin, dmesg and debug-keys need.  The backends
 * that cannot do one fail with -ENOSYS and say so in err (KVM today: the
 * hypervisor console and its debug keys are Xen's alone).
 */

/* One vCPU of a domain. */
struct enso_vcpuinfo {
	uint32_t vcpu;
	bool online, running, blocked;
	uint32_t cpu;		/* the host CPU it runs (or last ran) on */
	double cpu_seconds;
	/* Hard affinity (where it may run) and soft (where it prefers to),
	 * over the host's CPU ids; spec is NULL, all and has_nodes false. */
	struct enso_cpumap hard, soft;
};

/* Every vCPU of the domain, by id; *out is malloc'd (free it with
 * enso_vcpuinfo_list_free).  *host_cpus: how many host CPU ids exist
 * (the highest + 1), the width the maps are meaningful over. */
int enso_domain_vcpu_list(struct enso_ctx *ctx, uint32_t domid,
			  struct enso_vcpuinfo **out, size_t *n,
			  uint32_t *host_cpus, struct enso_error *err);
void enso_vcpuinfo_list_free(struct enso_vcpuinfo *list, size_t n);

#define ENSO_VCPU_ALL UINT32_MAX
enum {
	/* Undo a pinning the guest's kernel overrode the toolstack's with
	 * (Xen's SCHEDOP_pin_override, used by dom0 kernels); one vCPU only. */
	ENSO_VCPU_PIN_FORCE = 1,
};
/*
 * Sets the hard and/or soft affinity of one vCPU, or of every vCPU the
 * domain can have (vcpu == ENSO_VCPU_ALL).  NULL leaves that affinity as
 * it is; at least one must be given.  The maps come from
 * enso_cpumap_parse() (NUMA node terms are refused with -ENOSYS); a hard
 * map must hold at least one of the host's CPUs (-EINVAL).
 */
int enso_domain_vcpu_pin(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
			 const struct enso_cpumap *hard,
			 const struct enso_cpumap *soft, unsigned flags,
			 struct enso_error *err);

enum {
	ENSO_CONSOLE_CLEAR = 1,	/* empty the ring of what was read */
};
/* The hypervisor's console ring as it stands (xl dmesg): *text is
 * malloc'd, NUL-terminated, *len bytes without the NUL. */
int enso_host_console_read(struct enso_ctx *ctx, unsigned flags, char **text,
			   size_t *len, struct enso_error *err);
/* Hands keys to the hypervisor's debug-key handlers, one by one (Xen's
 * 'h' lists them); what they print lands in its console ring. */
int enso_host_debug_keys(struct enso_ctx *ctx, const char *keys,
			 struct enso_error *err);

/* ---- the scheduler: Xen's credit and credit2 ----------------------- */

/* Pool-0's scheduler ("credit", "credit2", "rtds", "null", ...) and its
 * parameters; -1 where that scheduler has none (credit2: only
 * ratelimit_us).  On set, scheduler is ignored and -1 leaves a value. */
struct enso_sched_pool {
	char *scheduler;
	int tslice_ms, ratelimit_us, migration_delay_us;
};
/* A domain's share: weight 1-65535 (256 by default), cap in percent of
 * one CPU (0: none).  On set, -1 leaves a value. */
struct enso_sched_params {
	int weight, cap;
};

int enso_sched_pool_get(struct enso_ctx *ctx, struct enso_sched_pool *out,
			struct enso_error *err);
int enso_sched_pool_set(struct enso_ctx *ctx, const struct enso_sched_pool *in,
			struct enso_error *err);
void enso_sched_pool_dispose(struct enso_sched_pool *p);
int enso_domain_sched_get(struct enso_ctx *ctx, uint32_t domid,
			  struct enso_sched_params *out, struct enso_error *err);
int enso_domain_sched_set(struct enso_ctx *ctx, uint32_t domid,
			  const struct enso_sched_params *in,
			  struct enso_error *err);

#ifdef __cplusplus
}
#endif
#endif /* ENSO_LIBXL_H */
