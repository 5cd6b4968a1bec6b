/*
 * hotplug/hotplug.h: the host side of a domain's devices.  The one public
 * header of hotplug/ (docs/design/hotplug.md).
 *
 *  - network links through rtnetlink (libnl-3, libnl-route-3): bridges,
 *    persistent taps, MTU, MAC, master, up/down; a vif's plumbing onto a
 *    bridge (what upstream's vif-bridge script does) and its undo;
 *  - the rate limit of what a guest sends (xl.cfg rate=), which arrives
 *    at the tap's ingress on the host: an ingress qdisc with a policing
 *    filter, or a redirect to an IFB with a TBF where the kernel cannot
 *    police;
 *  - loop devices for file-backed disks;
 *  - a user's own hotplug script, run with a timeout, its output kept.
 *
 * Never a shell, never `ip`, `brctl`, `tc` or upstream's scripts.
 * Errors: 0 or a negative errno; where a call takes (msg, msglen), msg
 * gets one line saying what failed (msg may be NULL).  None of these log,
 * start threads or keep state between calls: each opens and closes its own
 * netlink socket.  Not async-signal-safe; safe from several threads as far
 * as the kernel is.  The calling process must hold CAP_NET_ADMIN (links),
 * CAP_SYS_ADMIN (loop devices).
 */
#ifndef ENSO_HOTPLUG_H
#define ENSO_HOTPLUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- links ------------------------------------------------------------ */

/* A new bridge named name, down; -EEXIST when the name is taken. */
int hp_bridge_create(const char *name, char *msg, size_t msglen);
/* Any link by name (a bridge, a tap, ...); -ENODEV when there is none,
 * which callers undoing something may take as done. */
int hp_link_delete(const char *name, char *msg, size_t msglen);
/* Every link whose name starts with prefix and, unless kind is NULL, of
 * that kind ("ifb", "bridge", ...) deleted (a link dump of this network
 * namespace); the number deleted, or a negative errno (the first failure;
 * the others are still tried).  An empty prefix is -EINVAL. */
int hp_link_delete_prefix(const char *prefix, const char *kind, char *msg,
			  size_t msglen);

/* Flags of hp_tap_create; unknown flags are -EINVAL. */
#define HP_TAP_VNET_HDR 0x1u	/* IFF_VNET_HDR: virtio-net headers */
#define HP_TAP_MULTI_QUEUE 0x2u	/* IFF_MULTI_QUEUE: queues opened later */
/* A persistent tap (IFF_TAP|IFF_NO_PI, and the flags): it outlives this
 * call, and whoever serves it (QEMU, netback) opens it by name with the
 * same flags.  -EEXIST when a link of that name exists and is no tap with
 * these flags.  The name must fit IFNAMSIZ (-ENAMETOOLONG). */
int hp_tap_create(const char *name, unsigned flags, char *msg,
		  size_t msglen);

int hp_link_set_mtu(const char *name, unsigned mtu, char *msg,
		    size_t msglen);
int hp_link_get_mtu(const char *name, unsigned *mtu, char *msg,
		    size_t msglen);
int hp_link_set_mac(const char *name, const uint8_t mac[6], char *msg,
		    size_t msglen);
/* Enslaves name to the bridge master; master NULL releases it. */
int hp_link_set_master(const char *name, const char *master, char *msg,
		       size_t msglen);
int hp_link_set_up(const char *name, bool up, char *msg, size_t msglen);

/* ---- a vif onto a bridge ---------------------------------------------- */

/* The MAC of a vif's host side, as upstream's vif-bridge sets it: the
 * bridge never takes it for its own address (the lowest port MAC). */
#define HP_VIF_HOST_MAC { 0xfe, 0xff, 0xff, 0xff, 0xff, 0xff }

/* dev (an existing tap or vif) onto bridge: host-side MAC, MTU (mtu, or
 * 0: the bridge's), enslaved, up.  -ENODEV naming the bridge when it does
 * not exist.  A failure half way undoes what was done (released, down). */
int hp_vif_plumb(const char *dev, const char *bridge, unsigned mtu,
		 char *msg, size_t msglen);
/* The undo: the rate limit cleared, released from its bridge, down.  A
 * dev that is gone is done (0). */
int hp_vif_unplumb(const char *dev, char *msg, size_t msglen);

/* ---- the rate of what a guest sends ----------------------------------- */

/* Flags of hp_rate_set; unknown flags are -EINVAL. */
/* The IFB fallback at once, as on a kernel without act_police: for tests
 * of the fallback on kernels that have it.  Needs ifb. */
#define HP_RATE_NO_POLICE 0x1u
/* Limits dev's ingress (the guest's outgoing traffic on a tap) to
 * bytes_per_sec, with a burst of burst bytes (0: netback's, the larger of
 * one interval's bytes and 128 KiB; the caller passes its interval's
 * bytes).  A u32 match-all filter on an ingress qdisc of dev does it:
 *  - with a police action, which drops what exceeds;
 *  - where the kernel has no act_police and ifb is not NULL, with a mirred
 *    action redirecting everything to the egress of a new IFB device
 *    called ifb (up), whose root qdisc is a TBF at the rate, bucket the
 *    burst, queue 50 ms long at the rate plus the burst.  The IFB outlives
 *    dev: hp_rate_clear or hp_link_delete_prefix deletes it.
 * Replaces a limit already there (and an IFB of that name; a link of that
 * name of another kind is left alone: -EEXIST).  -EOPNOTSUPP,
 * naming what is missing, when the kernel can do neither; then nothing is
 * left.  With ifb, bytes_per_sec and burst are capped at INT_MAX (libnl's
 * TBF counts in int). */
int hp_rate_set(const char *dev, const char *ifb, uint64_t bytes_per_sec,
		uint64_t burst, unsigned flags, char *msg, size_t msglen);
/* Removes dev's ingress qdisc and with it the limit, and deletes the IFB
 * ifb (may be NULL).  None there, dev gone or ifb gone is 0. */
int hp_rate_clear(const char *dev, const char *ifb, char *msg,
		  size_t msglen);
/* The IFB name of a domain's vif: "ifb<domid>.<devid>", so a domain's
 * end finds its IFBs by the prefix "ifb<domid>." without its config.
 * -ENAMETOOLONG when it would not fit IFNAMSIZ (or len). */
int hp_rate_ifb_name(uint32_t domid, int devid, char *out, size_t len);
/* xl.cfg's rate= as bytes per second: bytes per interval_usecs. */
uint64_t hp_rate_bytes_per_sec(uint64_t bytes_per_interval,
			       uint32_t interval_usecs);

/* ---- loop devices ----------------------------------------------------- */

#define HP_LOOP_READONLY 0x1u
/* The kernel clears the device at its last opener's close, so a backend
 * that dies leaves nothing bound; needs fdp. */
#define HP_LOOP_AUTOCLEAR 0x2u
/* file on a free loop device, its path ("/dev/loop3") into dev.  fdp (may
 * be NULL without HP_LOOP_AUTOCLEAR) gets the device open, close-on-exec,
 * the caller's to close.  Read-only: the device refuses writes. */
int hp_loop_attach(const char *file, unsigned flags, char *dev,
		   size_t devlen, int *fdp, char *msg, size_t msglen);
/* Detaches dev (a /dev/loopN); -ENXIO when nothing is attached. */
int hp_loop_detach(const char *dev, char *msg, size_t msglen);

/* ---- a user's hotplug script ------------------------------------------ */

/* Runs argv[0] (a path) with argv, in its own process group, with this
 * process's environment plus env ("KEY=value" strings, NULL-terminated;
 * may be NULL), stdin /dev/null, stdout and stderr captured.  It has
 * timeout_ms to finish; then its whole process group is killed and the
 * call returns -ETIMEDOUT.  A non-zero exit or a signal is -EIO with
 * *status (may be NULL) the wait status.  On any failure msg gets what
 * happened and the last lines of its output. */
int hp_script_run(const char *const *argv, const char *const *env,
		  int timeout_ms, int *status, char *msg, size_t msglen);

#endif
