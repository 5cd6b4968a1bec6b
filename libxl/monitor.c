/*
 * The per-domain monitor: what outlives xl create (upstream keeps a
 * per-domain xl child for the same reason).  It waits for the guest to
 * power off, reboot or crash and carries out the config's on_poweroff /
 * on_reboot / on_crash; when the domain's emulator dies under it, it
 * removes what is left so no half domain stays listed.
 *
 * It runs in a process of its own (xl forks and detaches before calling
 * it), one per domain; a restarted domain keeps its monitor.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libxl/runtime.h"

static void say(enso_monitor_log_fn *log, void *opaque, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void say(enso_monitor_log_fn *log, void *opaque, const char *fmt, ...)
{
	char msg[600];
	va_list ap;

	if (!log)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log(msg, opaque);
}

static enum enso_action action_for(const struct enso_domain_config *c,
				   int reason)
{
	switch (reason) {
	case ENSO_SHUTDOWN_REBOOT: return c->on_reboot;
	case ENSO_SHUTDOWN_CRASH: return c->on_crash;
	case ENSO_SHUTDOWN_WATCHDOG: return c->on_watchdog;
	case ENSO_SHUTDOWN_SOFT_RESET: return c->on_soft_reset;
	default: return c->on_poweroff;
	}
}

static const char *reason_name(int reason)
{
	static const char *const names[] = { "poweroff", "reboot", "suspend",
					     "crash", "watchdog", "soft_reset" };

	return reason >= 0 && reason < 6 ? names[reason] : "unknown";
}

int enso_domain_monitor(struct enso_ctx *ctx, uint32_t domid,
			enso_monitor_log_fn *log, void *opaque,
			struct enso_error *err)
{
	if (!ctx->ops->wait_shutdown)
		return rt_fail(err, -ENOSYS, "the %s backend has no monitor",
			       ctx->ops->name);
	for (;;) {
		struct enso_domain_config cfg;
		struct enso_error e;
		enum enso_action act;
		char node[64], *destroying, *name;
		int reason = -1, rc;

		rc = ctx->ops->wait_shutdown(ctx, domid, &reason, &e);
		if (rc) {
			/* Gone.  Wanted (xl destroy) or not (the emulator
			 * died, was killed): either way leave nothing. */
			destroying = rt_xs_read(ctx, "/libxl/%u/destroying", domid);
			if (rt_domain_exists(ctx, domid) && !destroying) {
				say(log, opaque,
				    "domain %u: %s; it was not destroyed by xl: removing what is left",
				    domid, e.msg);
				enso_domain_destroy(ctx, domid, &e);
			}
			free(destroying);
			return 0;
		}
		rc = rt_config_load(ctx, domid, &cfg, err);
		if (rc)
			return rc;
		act = action_for(&cfg, reason);
		say(log, opaque, "domain %u (%s): guest %s, action %s", domid,
		    cfg.name, reason_name(reason), enso_action_name(act));
		snprintf(node, sizeof(node), "/libxl/%u/shutdown-reason", domid);
		rt_xs_write(ctx, XBT_NULL, node, reason_name(reason));

		switch (act) {
		case ENSO_ACTION_PRESERVE:
			enso_config_dispose(&cfg);
			return 0;
		case ENSO_ACTION_DESTROY:
		case ENSO_ACTION_COREDUMP_DESTROY:
			rc = enso_domain_destroy(ctx, domid, err);
			enso_config_dispose(&cfg);
			return rc;
		case ENSO_ACTION_RENAME_RESTART:
			/* The old one stays, preserved, under a new name. */
			if (asprintf(&name, "%s-%u", cfg.name, domid) < 0)
				name = NULL;
			rc = name ? enso_domain_rename(ctx, domid, name, err) : -ENOMEM;
			free(name);
			if (rc) {
				enso_config_dispose(&cfg);
				return rc;
			}
			break;
		default:	/* restart, coredump-restart, soft-reset */
			rc = enso_domain_destroy(ctx, domid, err);
			if (rc) {
				enso_config_dispose(&cfg);
				return rc;
			}
			break;
		}
		rc = enso_domain_create(ctx, &cfg, 0, &domid, err);
		if (!rc)
			say(log, opaque, "domain %s restarted as %u", cfg.name,
			    domid);
		enso_config_dispose(&cfg);
		if (rc)
			return rc;
	}
}
