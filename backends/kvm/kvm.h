/*
 * The KVM backend's internals: acceleration probe, QMP client, QEMU
 * process and command line, vCPUs.  Not installed.
 */
#ifndef ENSO_BACKENDS_KVM_H
#define ENSO_BACKENDS_KVM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct kvm_accel {
	bool kvm;		/* false: QEMU's TCG */
	char why[160];		/* said once to the user, and by xl info */
};

/* Always returns 0 and fills out; out->kvm says whether KVM works. */
int kvm_probe(struct kvm_accel *out);



/* ---- QMP client (qmp.c) ---- */
#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

struct qmp;

/* Connects (retrying while QEMU starts) and negotiates capabilities. */
int qmp_connect(const char *path, int timeout_ms, struct qmp **out,
		char *err, size_t errlen);
/* The same on a connected socket fd (tests, fuzzing): reads the greeting
 * and negotiates; on success *out owns fd, on failure the caller keeps it. */
int qmp_open_fd(int fd, int timeout_ms, struct qmp **out, char *err,
		size_t errlen);
/* Runs cmd with optional JSON arguments; *ret (if given) is the whole
 * reply, freed by the caller with yajl_tree_free.  Events read meanwhile
 * are kept for qmp_next_event. */
int qmp_command(struct qmp *q, const char *cmd, const char *args_json,
		int timeout_ms, yajl_val *ret, char *err, size_t errlen);
/* The same, passing fd along (SCM_RIGHTS), for getfd; -1: none.  fd
 * stays the caller's: QEMU holds a copy. */
int qmp_command_fd(struct qmp *q, const char *cmd, const char *args_json,
		   int fd, int timeout_ms, yajl_val *ret, char *err,
		   size_t errlen);
yajl_val qmp_next_event(struct qmp *q, int timeout_ms, int *rc);
/* Events kept unread at most; a QEMU that sends more loses the newest. */
#define QMP_EVENTS_MAX 1024
const char *qmp_event_name(yajl_val ev);
int qmp_fd(const struct qmp *q);
void qmp_close(struct qmp *q);

/* ---- the domain's QEMU process and QMP sockets (qemu.c) ---- */
#include <sys/types.h>

struct enso_ctx;
struct enso_error;
struct enso_domain_config;
struct enso_vcpuinfo;
struct enso_cpumap;
struct argv;

/* <run_dir>/qemu/<domid>, malloc'd (NULL: out of memory). */
char *kvm_domain_dir(struct enso_ctx *ctx, uint32_t domid);
/* The domain's QEMU, or 0 when none runs. */
pid_t kvm_qemu_pid(struct enso_ctx *ctx, uint32_t domid);
/* A QMP connection to the domain's socket sock ("qmp.sock"). */
int kvm_qmp_open(struct enso_ctx *ctx, uint32_t domid, const char *sock,
		 struct qmp **q, struct enso_error *err);
/* One command on it; *ret optional, as qmp_command's. */
int kvm_qmp_call(struct qmp *q, uint32_t domid, const char *cmd,
		 const char *args, yajl_val *ret, struct enso_error *err);
/* One command on a connection of its own to qmp.sock; *ret optional. */
int kvm_qmp_run(struct enso_ctx *ctx, uint32_t domid, const char *cmd,
		const char *args, yajl_val *ret, struct enso_error *err);
/* Runs QEMU's argv a, output to log_path after note (may be NULL); its
 * last line if it fails. */
int kvm_spawn_qemu(struct argv *a, const char *log_path, const char *note,
		   struct enso_error *err);
/* The domain's QEMU by its command line (no pid file yet), or 0. */
pid_t kvm_find_qemu_by_cmdline(struct enso_ctx *ctx, uint32_t domid);
/* Ends the domain's QEMU: gently, SIGTERM (QEMU flushes its disks), then
 * SIGKILL after 2 s; else SIGKILL at once (a QEMU with nothing to keep:
 * its guest migrated away, or never loaded). */
void kvm_kill_qemu(struct enso_ctx *ctx, uint32_t domid, bool gently);
/* Removes the domain's directory, its sockets and pid file. */
void kvm_remove_domain_dir(struct enso_ctx *ctx, uint32_t domid);

/* ---- QEMU command line (cmdline.c) ---- */
/* QEMU's argv being built; NULL-terminated, oom: an allocation failed. */
struct argv {
	char **v;
	size_t n, cap;
	bool oom;
};

/* Frees what kvm_build_argv put in a. */
void kvm_argv_free(struct argv *a);
/* Refuses c's Xen-only settings, and files that cannot be read. */
int kvm_check_config(const struct enso_domain_config *c,
		     struct enso_error *err);
/* A disk QEMU can serve, for create and block-attach (who: the domain). */
struct enso_disk;
int kvm_check_disk(const char *who, const struct enso_disk *d,
		   struct enso_error *err);
/* QEMU's block driver for d's format ("raw", "qcow2"...). */
const char *kvm_disk_format(const struct enso_disk *d);
/* How QEMU does d's I/O: cache "none" (O_DIRECT) or "writeback", aio
 * "io_uring" or "threads"; a line for each fallback appended to note. */
void kvm_disk_io(const struct enso_disk *d, const char **cache,
		 const char **aio, char *note, size_t len);
/* Device ids of a virtio disk numbered devid (its vdev number): the
 * device KVM_DISK_DEV<devid>, the root port a config disk sits on
 * KVM_DISK_PORT<devid>, the block node block-attach adds
 * KVM_DISK_NODE<devid>; and KVM_HOTPLUG_PORTS free root ports,
 * KVM_HOTPLUG_PORT0.., for block-attach. */
#define KVM_DISK_DEV "vbd"
#define KVM_DISK_PORT "vbd-port"
#define KVM_DISK_NODE "enso-vbd"
#define KVM_HOTPLUG_PORT "hotplug-port"
#define KVM_HOTPLUG_PORTS 4
/* QEMU's command line for c, its sockets in dir; a->oom on failure.
 * incoming: QEMU waits for a migration stream (-incoming defer) in place
 * of booting (restore).  lay: the source's PCIe ports and where its
 * devices sat (a restore's, checked against c: kvm_layout_check); NULL:
 * as create lays them out.  note
 * (note_len bytes, NUL-terminated) gets a line for each disk served a
 * slower way than io_uring with O_DIRECT, and why. */
struct kvm_layout;
void kvm_build_argv(struct enso_ctx *ctx, const struct enso_domain_config *c,
		    uint32_t domid, const char *dir, const char *console_log,
		    const char *kernel, bool incoming,
		    const struct kvm_layout *lay, struct argv *a,
		    char *note, size_t note_len);

/* ---- devices of a running domain (disk.c, nic.c): backend ops
 * device_attach and device_detach ---- */
struct backend_device;
int kvm_device_attach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, struct enso_error *err);
int kvm_device_detach(struct enso_ctx *ctx, uint32_t domid,
		      const struct backend_device *dev, bool force,
		      int timeout_ms, struct enso_error *err);

/* What disk.c shares with nic.c: QMP arguments built with yajl_gen (it
 * escapes names): a map opened, string members, closed into a malloc'd
 * text (NULL: out of memory); a QMP connection (*q; NULL on failure) and
 * a free one of the KVM_HOTPLUG_PORTS root ports into port (-ENOSPC when
 * all are taken); a running guest given
 * time to take up device dev. */
yajl_gen kvm_jopen(void);
void kvm_jput_str(yajl_gen g, const char *k, const char *v);
char *kvm_jdone(yajl_gen g);
/* Runs cmd with args (malloc'd, freed here; NULL: out of memory, said). */
int kvm_qmp_take(struct qmp *q, uint32_t domid, const char *cmd, char *args,
		 struct enso_error *err);
/* {"id": id}, for device_del and netdev_del. */
char *kvm_id_args(const char *id);
int kvm_plug_open(struct enso_ctx *ctx, uint32_t domid, struct qmp **q,
		  char *port, size_t len, struct enso_error *err);
void kvm_wait_guest_sees(struct qmp *q, uint32_t domid, const char *dev);
/* device_del of device id, and DEVICE_DELETED awaited for timeout_ms
 * (force: not at all): 1 gone; 0 still the guest's, the request pending,
 * err saying so of who ("disk xvdb") and what the guest keeps; <0 failed
 * (QEMU refused it, or went away). */
int kvm_unplug(struct qmp *q, uint32_t domid, const char *id, bool force,
	       int timeout_ms, const char *who, const char *keeps,
	       struct enso_error *err);

/* ---- NICs (nic.c) ----
 * A NIC's QEMU ids from its devid: the netdev KVM_NIC_NET<devid> (a tap
 * QEMU opens by the vif's name), the virtio-net-pci KVM_NIC_DEV<devid>;
 * a NIC of the config sits on a root port of its own, KVM_NIC_PORT<devid>,
 * so that it can be unplugged as a hot-plugged one can. */
#define KVM_NIC_NET "vifnet"
#define KVM_NIC_DEV "vif"
#define KVM_NIC_PORT "vif-port"
/* device_attach / device_detach for BACKEND_DEVICE_NIC: netdev_add of a
 * tap named like the vif, its plumbing (rt_vif_plumb, rate= policed),
 * device_add of a virtio-net-pci with the MAC on a spare root port; detach
 * is device_del, then (once the guest let go) netdev_del and the undo. */
int kvm_nic_attach(struct enso_ctx *ctx, uint32_t domid,
		   const struct backend_device *dev, struct enso_error *err);
int kvm_nic_detach(struct enso_ctx *ctx, uint32_t domid,
		   const struct backend_device *dev, bool force,
		   int timeout_ms, struct enso_error *err);
/* The vifs of the config plumbed once QEMU has made their taps (create);
 * a failure says which. */
int kvm_nics_plumb(struct enso_ctx *ctx, uint32_t domid,
		   const struct enso_domain_config *c, struct enso_error *err);
/* The domain's QEMU has gone with its taps: each vif's undo, so that a
 * user's script= hears "remove" (the built-in plumbing finds its part
 * gone already).  From the stored config; quiet. */
void kvm_nics_gone(struct enso_ctx *ctx, uint32_t domid);
/* A NIC QEMU can serve (create and network-attach; who: the domain). */
struct enso_nic;
int kvm_check_nic(const char *who, const struct enso_nic *n,
		  struct enso_error *err);

/* ---- where the PCIe devices sit (layout.c; ports.c reads it off QEMU):
 * each root port Enso makes (KVM_DISK_PORT<N>, KVM_NIC_PORT<N>,
 * KVM_HOTPLUG_PORT<N>), its chassis and address on pcie.0, and the disk
 * (KVM_DISK_DEV<N>) or NIC (KVM_NIC_DEV<N>) behind it, if any; in the
 * order of their addresses; and how many vCPUs are plugged.  The text
 * form is what a save file or migration stream carries (backend.h's
 * stream_layout). ---- */
#define KVM_LAYOUT_MAX 64
struct kvm_port {
	char id[32];
	unsigned chassis, slot, fn;
	char dev[32];		/* "" when the port is empty */
};
struct kvm_layout {
	struct kvm_port port[KVM_LAYOUT_MAX];
	size_t n;
	/* The vCPUs QEMU has plugged (vcpu-set's included; 0: not said),
	 * which the restoring end plugs before it loads the stream. */
	unsigned vcpus;
};
/* The text form, checked as hostile input; *l zeroed on failure. */
int kvm_layout_parse(const char *text, struct kvm_layout *l,
		     struct enso_error *err);
/* The text form, malloc'd (NULL: out of memory). */
char *kvm_layout_format(const struct kvm_layout *l);
/* The port device dev sits behind, or NULL. */
const char *kvm_layout_port_of(const struct kvm_layout *l, const char *dev);
/* Every disk (cdroms aside) and NIC of c is behind a port, and no other
 * device is; the vCPUs are within c's maxvcpus. */
int kvm_layout_check(const struct kvm_layout *l,
		     const struct enso_domain_config *c, struct enso_error *err);
/* Backend op stream_layout: the layout of the domain's QEMU now. */
int kvm_stream_layout(struct enso_ctx *ctx, uint32_t domid, char **layout,
		      struct enso_error *err);
/* query-pci's devices on pcie.0 (NULL: none), and those behind a bridge
 * of them (NULL: it is no bridge, or has none); into reply. */
yajl_val kvm_pci_root_devices(yajl_val reply);
yajl_val kvm_pci_bridge_devices(yajl_val pdev);

/* ---- the domain's QEMU started (kvm.c), save and restore (save.c) ----
 * kvm_start: create's work (QEMU started paused with c's devices, its
 * console, affinity and vifs plumbed), with incoming QEMU waiting for
 * a migration stream instead of booting, its devices where lay (a
 * restore's, checked against c; NULL: as create lays them out) says;
 * on failure nothing is left. */
struct backend_create;
int kvm_start(struct enso_ctx *ctx, const struct backend_create *in,
	      uint32_t domid, bool incoming, const struct kvm_layout *lay,
	      struct enso_error *err);
/* Backend ops save and restore: QEMU's migration stream to and from fd,
 * passed to QEMU over QMP (getfd, then migrate / migrate-incoming to
 * "fd:<name>"). */
int kvm_save(struct enso_ctx *ctx, uint32_t domid, int fd,
	     struct enso_error *err);
int kvm_restore(struct enso_ctx *ctx, const struct backend_create *in,
		int fd, uint32_t *domid, struct enso_error *err);
/* ---- QEMU's migration (migrate.c): what save, restore and migrate
 * share, and the backend op migrate_send ---- */
struct enso_migrate_progress;
/* Capability "events" on (MIGRATION, MIGRATION_PASS); with downtime_ms,
 * QEMU's bandwidth cap lifted and its downtime limit set (the sender). */
int kvm_migration_setup(struct qmp *q, uint32_t domid, unsigned downtime_ms,
			struct enso_error *err);
/* getfd of fd as fdname (SCM_RIGHTS). */
int kvm_pass_fd(struct qmp *q, uint32_t domid, int fd, const char *name,
		struct enso_error *err);
/* getfd, then migrate to "fd:<fdname>". */
int kvm_migration_start(struct qmp *q, uint32_t domid, int fd,
			const char *fdname, struct enso_error *err);
/* The sender's part in the wait: figures at each round and tick to
 * progress (false: cancel), the last ones in *out (may be NULL). */
struct kvm_migration_watch {
	bool (*progress)(void *opaque, const struct enso_migrate_progress *p);
	void *opaque;
	struct enso_migrate_progress *out;
};
/* Until the migration (either end) has completed: 0; failed, cancelled
 * or QEMU gone: an error saying so, doing ("saving", "loading",
 * "sending") naming what.  w NULL: only wait. */
int kvm_migration_wait(struct qmp *q, uint32_t domid, const char *doing,
		       const struct kvm_migration_watch *w,
		       struct enso_error *err);
int kvm_migrate_send(struct enso_ctx *ctx, uint32_t domid, int fd,
		     bool (*progress)(void *opaque,
				      const struct enso_migrate_progress *p),
		     void *opaque, struct enso_migrate_progress *out,
		     struct enso_error *err);

/* ---- vCPU hotplug (vcpus.c) ---- */
/* Backend op set_vcpus: QEMU's CPU hotplug until count are plugged. */
int kvm_set_vcpus(struct enso_ctx *ctx, uint32_t domid, uint32_t count,
		  struct enso_error *err);

/* ---- replies.c ---- */
/* v's member a (then its member b, unless NULL), or NULL; v may be NULL. */
yajl_val kvm_jget(yajl_val v, const char *a, const char *b);
/* v's string, or NULL when v is no string. */
const char *kvm_jstr(yajl_val v);
/* Each vCPU's QEMU thread, by vCPU index (0: not known), n slots. */
struct vcpu_threads {
	pid_t *tid;
	uint32_t n;
	bool shared;	/* two vCPUs on one thread: TCG's round-robin mode */
};

/* From QEMU's replies to query-cpus-fast and query-hotpluggable-cpus
 * (slots may be NULL); t->tid is malloc'd.  -EPROTO when cpus holds no
 * list, -ENOMEM. */
int kvm_vcpu_threads_parse(yajl_val cpus, yajl_val slots,
			   struct vcpu_threads *t);

/* ---- vCPU affinity (affinity.c) ---- */
/* What /proc says of one of a process's threads (tid 0: the process). */
struct kvm_task_stat {
	char state;		/* R, S, D...: '?' when unreadable */
	int cpu;		/* the host CPU it last ran on */
	double cpu_seconds;	/* user + system */
};
int kvm_task_stat(pid_t pid, pid_t tid, struct kvm_task_stat *out);

/* The affinity cpus= asks for each vCPU (node terms resolved by libxl),
 * recorded at create so that vCPUs plugged later get theirs, and applied
 * to those running. */
struct backend_create;
int kvm_affinity_create(struct enso_ctx *ctx, uint32_t domid,
			const struct backend_create *in,
			struct enso_error *err);
/* Applies the recorded affinity to every plugged vCPU's thread. */
int kvm_affinity_apply(struct enso_ctx *ctx, struct qmp *q, uint32_t domid,
		       struct enso_error *err);
int kvm_vcpu_list(struct enso_ctx *ctx, uint32_t domid,
		  struct enso_vcpuinfo **out, size_t *n, uint32_t *host_cpus,
		  struct enso_error *err);
int kvm_vcpu_pin(struct enso_ctx *ctx, uint32_t domid, uint32_t vcpu,
		 const struct enso_cpumap *hard, const struct enso_cpumap *soft,
		 bool force, struct enso_error *err);
/* The CPUs of a NUMA node: backend op node_cpus, from sysfs. */
int kvm_node_cpus(struct enso_ctx *ctx, unsigned node, uint8_t *cpus);
#endif
