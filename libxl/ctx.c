/*
 * The context: a xenstore connection and the hypervisor backend this host
 * gets.  Xen in a Xen control domain; otherwise KVM if it works, else KVM
 * on QEMU's TCG.  The choice and its reason are kept for xl info.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "enso-util.h"
#include "libxl/runtime.h"

static char *dir_from_env(const char *var, const char *dflt)
{
	const char *v = getenv(var);

	return strdup(v && *v ? v : dflt);
}

/* On a host without Xen nobody else writes dom0's entries. */
void rt_ensure_dom0_entries(struct enso_ctx *ctx)
{
	char *name = rt_xs_read(ctx, "/local/domain/0/name");

	if (!name) {
		rt_xs_write(ctx, XBT_NULL, "/local/domain/0/name", "Domain-0");
		rt_xs_write(ctx, XBT_NULL, "/local/domain/0/domid", "0");
	}
	free(name);
}

/* Where libxenstore connects (its own rule: XENSTORED_PATH, else the
 * default socket; a Xen dom0 may fall back to the xenbus device). */
const char *rt_xenstored_socket(void)
{
	static char buf[512];
	const char *p = getenv("XENSTORED_PATH");
	const char *dir = getenv("XENSTORED_RUNDIR");

	if (p)
		return p;
	snprintf(buf, sizeof(buf), "%s/socket", dir ? dir : "/var/run/xenstored");
	return buf;
}

/*
 * xenstored by its socket.  xs_open(0) falls back to the xenbus device
 * when the socket refuses, and on a Xen dom0 whose xenstored is down a
 * request there waits in the kernel for an answer that never comes: xl
 * would hang.  So the device is tried only when there is no socket at all
 * (a store in a stub domain); a socket that refuses is an error.
 */
static struct xs_handle *rt_xs_open(void)
{
	struct xs_handle *h = xs_open(XS_OPEN_SOCKETONLY);
	int e = errno;

	if (!h && access(rt_xenstored_socket(), F_OK) < 0 && errno == ENOENT)
		return xs_open(0);
	if (!h)
		errno = e;
	return h;
}

int rt_xs_reconnect(struct enso_ctx *ctx)
{
	struct xs_handle *h = rt_xs_open();

	if (!h)
		return -(errno ? errno : ECONNREFUSED);
	if (ctx->xsh)
		xs_close(ctx->xsh);
	ctx->xsh = h;
	if (ctx->ops->dom0_is_host)
		rt_ensure_dom0_entries(ctx);
	return 0;
}

int enso_ctx_open(struct enso_ctx **out, unsigned flags,
		  struct enso_error *err)
{
	struct enso_ctx *ctx;
	int rc;

	*out = NULL;
	if (flags)
		return exl_fail(err, -EINVAL, "enso_ctx_open: unknown flags %#x",
				flags);
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->run_dir = dir_from_env("ENSO_RUNDIR", "/var/run/enso");
	ctx->lib_dir = dir_from_env("ENSO_LIBDIR", "/var/lib/enso");
	ctx->log_dir = dir_from_env("ENSO_LOGDIR", "/var/log/enso");
	if (!ctx->run_dir || !ctx->lib_dir || !ctx->log_dir) {
		rc = -ENOMEM;
		goto fail;
	}
	ctx->xsh = rt_xs_open();
	if (!ctx->xsh) {
		int e = errno ? errno : ECONNREFUSED;

		rc = exl_fail(err, -ENOTCONN,
			      "cannot reach xenstored at %s: %s (start it with 'xenstored', or point XENSTORED_PATH at its socket)",
			      rt_xenstored_socket(), strerror(e));
		goto fail;
	}
	if (xen_control_domain(NULL, 0)) {
		ctx->hv = ENSO_HV_XEN;
		ctx->ops = &backend_xen;
		snprintf(ctx->hv_why, sizeof(ctx->hv_why),
			 "/proc/xen/capabilities says control_d");
	} else {
		ctx->ops = &backend_kvm;
		ctx->hv = kvm_backend_choose_accel(ctx->hv_why,
						   sizeof(ctx->hv_why)) ?
				  ENSO_HV_KVM :
				  ENSO_HV_TCG;
	}
	if (ctx->ops->dom0_is_host)
		rt_ensure_dom0_entries(ctx);
	if ((rc = mkdir_p(ctx->run_dir)) || (rc = mkdir_p(ctx->lib_dir)) ||
	    (rc = mkdir_p(ctx->log_dir))) {
		exl_fail(err, rc, "cannot create Enso's directories under %s, %s, %s: %s",
			 ctx->run_dir, ctx->lib_dir, ctx->log_dir, strerror(-rc));
		goto fail;
	}
	*out = ctx;
	return 0;
fail:
	enso_ctx_close(ctx);
	return rc;
}

void enso_ctx_close(struct enso_ctx *ctx)
{
	if (!ctx)
		return;
	if (ctx->xsh)
		xs_close(ctx->xsh);
	free(ctx->run_dir);
	free(ctx->lib_dir);
	free(ctx->log_dir);
	/* The monitor lives long: a backend's handles must not leak. */
	if (ctx->ops && ctx->ops->close)
		ctx->ops->close(ctx);
	else
		free(ctx->backend_data);
	free(ctx);
}

enum enso_hypervisor enso_ctx_hypervisor(const struct enso_ctx *ctx,
					 const char **why)
{
	if (why)
		*why = ctx->hv_why;
	return ctx->hv;
}

const char *rt_hypervisor_words(const struct enso_ctx *ctx)
{
	switch (ctx->hv) {
	case ENSO_HV_XEN: return "Xen";
	case ENSO_HV_KVM: return "KVM";
	case ENSO_HV_TCG: return "KVM on QEMU's TCG emulation";
	}
	return ctx->ops->name;
}

/* ---- the context as backends see it (services.h) ---- */

enum enso_hypervisor rt_hypervisor(const struct enso_ctx *ctx,
				   const char **why)
{
	return enso_ctx_hypervisor(ctx, why);
}

void *rt_backend_data(struct enso_ctx *ctx)
{
	return ctx->backend_data;
}

void rt_set_backend_data(struct enso_ctx *ctx, void *data)
{
	ctx->backend_data = data;
}

const char *rt_run_dir(const struct enso_ctx *ctx)
{
	return ctx->run_dir;
}

const char *rt_log_dir(const struct enso_ctx *ctx)
{
	return ctx->log_dir;
}

struct xs_handle *rt_xsh(struct enso_ctx *ctx)
{
	return ctx->xsh;
}
