/*
 * libxl/vifplumb.c: a vif's host side, the same for both hypervisors
 * (services.h; docs/design/hotplug.md).  The tap is named like Xen's vif;
 * it is plumbed onto its bridge by hotplug/ (what upstream's vif-bridge
 * does) unless the nic names a script of the user's, which then runs with
 * upstream's arguments and environment.  Upstream's own scripts never run:
 * "vif-bridge", the default Debian's xl.conf names, means the built-in
 * plumbing.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hotplug/hotplug.h"
#include "libxl/runtime.h"

#ifndef ENSO_SCRIPTDIR
#define ENSO_SCRIPTDIR "/etc/enso/scripts"
#endif
/* Upstream libxl's limit for a hotplug script. */
#define SCRIPT_TIMEOUT_MS 40000
/* Where upstream installs its scripts: a script= there named vif-bridge
 * is upstream's, and means the built-in plumbing too. */
#define UPSTREAM_VIF_BRIDGE "/etc/xen/scripts/vif-bridge"

int rt_vif_name(uint32_t domid, const struct enso_nic *n, char *out,
		size_t len)
{
	int w = n->vifname ? snprintf(out, len, "%s", n->vifname) :
			     snprintf(out, len, "vif%u.%d", domid, n->devid);

	if (w < 0 || (size_t)w >= len || w >= IFNAMSIZ)
		return -ENAMETOOLONG;
	return 0;
}

/* rt_vif_name, the failure said in err. */
static int vif_dev(uint32_t domid, const struct enso_nic *n,
		   char dev[IFNAMSIZ], struct enso_error *err)
{
	int rc = rt_vif_name(domid, n, dev, IFNAMSIZ);

	if (rc)
		exl_fail(err, rc, "domain %u: vif %d: name %s: longer than %d characters",
			 domid, n->devid, n->vifname, IFNAMSIZ - 1);
	return rc;
}

/* xl.conf's vif defaults (ENSO_XL_CONF moves the file, for tests); a file
 * that is missing is all defaults. */
static int read_xl_conf(struct enso_xl_conf *x, struct enso_error *err)
{
	const char *path = getenv("ENSO_XL_CONF");
	int rc = enso_xl_conf_parse_file(path && *path ? path :
					 "/etc/xen/xl.conf", x, err);

	if (rc == -ENOENT) {
		/* Not an error: what the parser said of it must not reach a
		 * caller that succeeds. */
		enso_xl_conf_init(x);
		if (err)
			err->msg[0] = '\0';
		rc = 0;
	}
	return rc;
}

/* The user's script to run for n, malloc'd into *script, or NULL for the
 * built-in plumbing; *bridge the bridge either way (malloc'd). */
static int resolve(const struct enso_nic *n, char **script, char **bridge,
		   struct enso_error *err)
{
	struct enso_xl_conf x;
	const char *s, *dir = getenv("ENSO_SCRIPT_DIR");
	int rc = read_xl_conf(&x, err);

	*script = *bridge = NULL;
	if (rc)
		return rc;
	s = n->script ? n->script : x.vif_default_script;
	*bridge = strdup(n->bridge ? n->bridge :
			 x.vif_default_bridge ? x.vif_default_bridge :
			 ENSO_XL_DEFAULT_VIF_BRIDGE);
	if (!*bridge)
		rc = -ENOMEM;
	else if (!s || !*s || !strcmp(s, ENSO_XL_DEFAULT_VIF_SCRIPT) ||
		 !strcmp(s, UPSTREAM_VIF_BRIDGE))
		rc = 0;
	else if (s[0] == '/')
		rc = (*script = strdup(s)) ? 0 : -ENOMEM;
	else if (asprintf(script, "%s/%s", dir && *dir ? dir : ENSO_SCRIPTDIR,
			  s) < 0) {
		*script = NULL;
		rc = -ENOMEM;
	}
	enso_xl_conf_dispose(&x);
	return rc;
}

/* Runs script as upstream's libxl does: a vif of netback's (xenbus_path
 * given) "online"/"offline" type_if=vif; a tap of the emulator's (KVM)
 * "add"/"remove" type_if=tap, as upstream's type=ioemu, with INTERFACE. */
static int run_script(const char *script, uint32_t domid,
		      const struct enso_nic *n, const char *dev,
		      const char *bridge, const char *xenbus_path, bool add,
		      struct enso_error *err)
{
	char *env[8] = { NULL }, msg[sizeof(err->msg)] = "";
	const char *argv[4] = { script, NULL, NULL, NULL };
	size_t k = 0;
	int rc = 0;

	argv[1] = xenbus_path ? (add ? "online" : "offline") :
				(add ? "add" : "remove");
	argv[2] = xenbus_path ? "type_if=vif" : "type_if=tap";
	if (asprintf(&env[k++], "script=%s", script) < 0 ||
	    asprintf(&env[k++], "XENBUS_TYPE=vif") < 0 ||
	    (xenbus_path ?
		     asprintf(&env[k++], "XENBUS_PATH=%s", xenbus_path) :
		     asprintf(&env[k++], "XENBUS_PATH=backend/vif/%u/%d",
			      domid, n->devid)) < 0 ||
	    asprintf(&env[k++], "XENBUS_BASE_PATH=backend") < 0 ||
	    asprintf(&env[k++], "netdev=%s",
		     n->gatewaydev ? n->gatewaydev : "") < 0 ||
	    asprintf(&env[k++], "vif=%s", dev) < 0 ||
	    /* Upstream's scripts take $bridge as the default of the
	     * backend's bridge node, which a KVM tap has not. */
	    asprintf(&env[k++], "bridge=%s", bridge) < 0 ||
	    (!xenbus_path && asprintf(&env[k++], "INTERFACE=%s", dev) < 0)) {
		env[k - 1] = NULL;
		rc = exl_fail(err, -ENOMEM, "vif %s: out of memory", dev);
		goto out;
	}
	rc = hp_script_run(argv, (const char *const *)env, SCRIPT_TIMEOUT_MS,
			   NULL, msg, sizeof(msg));
	if (rc)
		exl_fail(err, rc, "vif %s: %s", dev, msg);
out:
	for (size_t i = 0; i < k; i++)
		free(env[i]);
	return rc;
}

int rt_vif_tap_create(struct enso_ctx *ctx, uint32_t domid,
		      const struct enso_nic *n, bool multi_queue,
		      struct enso_error *err)
{
	char dev[IFNAMSIZ], msg[sizeof(err->msg)] = "";
	int rc = vif_dev(domid, n, dev, err);

	(void)ctx;
	if (rc)
		return rc;
	rc = hp_tap_create(dev, HP_TAP_VNET_HDR |
				(multi_queue ? HP_TAP_MULTI_QUEUE : 0),
			   msg, sizeof(msg));
	if (rc)
		exl_fail(err, rc, "domain %u: %s", domid, msg);
	return rc;
}

int rt_vif_plumb(struct enso_ctx *ctx, uint32_t domid,
		 const struct enso_nic *n, const char *xenbus_path,
		 bool police_rate, struct enso_error *err)
{
	char dev[IFNAMSIZ], ifb[IFNAMSIZ], msg[sizeof(err->msg)] = "";
	char *script = NULL, *bridge = NULL;
	int rc = vif_dev(domid, n, dev, err);

	(void)ctx;
	if (!rc)
		rc = resolve(n, &script, &bridge, err);
	if (rc)
		goto out;
	if (script) {
		rc = run_script(script, domid, n, dev, bridge, xenbus_path,
				true, err);
	} else {
		rc = hp_vif_plumb(dev, bridge, n->mtu, msg, sizeof(msg));
		if (rc)
			exl_fail(err, rc, "domain %u: vif %s: %s", domid, dev,
				 msg);
	}
	if (rc || !police_rate || !n->rate_bytes_per_interval)
		goto out;
	/* Where the kernel cannot police, an IFB named after the domain,
	 * which its end finds without the config (rt_vif_domain_gone). */
	rc = hp_rate_ifb_name(domid, n->devid, ifb, sizeof(ifb));
	if (!rc)
		rc = hp_rate_set(dev, ifb,
				 hp_rate_bytes_per_sec(n->rate_bytes_per_interval,
						       n->rate_interval_usecs),
				 n->rate_bytes_per_interval, 0, msg, sizeof(msg));
	else
		snprintf(msg, sizeof(msg), "ifb%u.%d: longer than %d characters",
			 domid, n->devid, IFNAMSIZ - 1);
	if (rc) {
		struct enso_error undo;

		exl_fail(err, rc, "domain %u: vif %s: rate=: %s", domid, dev,
			 msg);
		rt_vif_unplumb(ctx, domid, n, xenbus_path, false, &undo);
	}
out:
	free(script);
	free(bridge);
	return rc;
}

int rt_vif_unplumb(struct enso_ctx *ctx, uint32_t domid,
		   const struct enso_nic *n, const char *xenbus_path,
		   bool delete_tap, struct enso_error *err)
{
	char dev[IFNAMSIZ], ifb[IFNAMSIZ], msg[sizeof(err->msg)] = "";
	char *script = NULL, *bridge = NULL;
	int rc = vif_dev(domid, n, dev, err), r;

	(void)ctx;
	if (!rc)
		rc = resolve(n, &script, &bridge, err);
	if (rc)
		goto out;
	/* The limit is Enso's, whoever plumbed: cleared either way, with
	 * the IFB of a fallback (the tap's own qdisc may be gone with it). */
	hp_rate_clear(dev, hp_rate_ifb_name(domid, n->devid, ifb, sizeof(ifb)) ?
				   NULL : ifb, NULL, 0);
	if (script) {
		rc = run_script(script, domid, n, dev, bridge, xenbus_path,
				false, err);
	} else {
		rc = hp_vif_unplumb(dev, msg, sizeof(msg));
		if (rc)
			exl_fail(err, rc, "domain %u: vif %s: %s", domid, dev,
				 msg);
	}
	/* Deleted even when the undo failed: a tap left would block the
	 * name for the domain's next boot. */
	r = delete_tap ? hp_link_delete(dev, msg, sizeof(msg)) : 0;
	if (r && r != -ENODEV && !rc)
		rc = exl_fail(err, r, "domain %u: %s", domid, msg);
out:
	free(script);
	free(bridge);
	return rc;
}

int rt_vif_domain_gone(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err)
{
	char prefix[IFNAMSIZ], msg[sizeof(err->msg)] = "";
	int rc;

	(void)ctx;
	/* hp_rate_ifb_name's names, "ifb<domid>.<devid>"; IFBs only: a link
	 * of another kind so named is not Enso's. */
	snprintf(prefix, sizeof(prefix), "ifb%u.", domid);
	rc = hp_link_delete_prefix(prefix, "ifb", msg, sizeof(msg));
	if (rc < 0)
		return exl_fail(err, rc, "domain %u: %s", domid, msg);
	return 0;
}
