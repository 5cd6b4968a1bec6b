/*
 * backends/xen/store.c: what the Xen backend writes to xenstore, the way
 * both its writers need it: a domain's store and console nodes at build
 * (build.c) and a disk's backend and frontend directories (vbd.c).  Each
 * writes a directory its two ends may use, then the nodes in it, in one
 * transaction retried while xenstored says another one got there first.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "backends/xen/xen.h"

bool xen_store_put(struct enso_ctx *ctx, xs_transaction_t t, const char *dir,
		   const char *key, const char *fmt, ...)
{
	char path[160], value[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(value, sizeof(value), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", dir, key);
	return rt_xs_write(ctx, t, path, value);
}

bool xen_store_mkdir(struct enso_ctx *ctx, xs_transaction_t t, const char *dir,
		     uint32_t owner, uint32_t reader)
{
	struct xs_permissions perms[2] = {
		{ .id = owner, .perms = XS_PERM_NONE },
		{ .id = reader, .perms = XS_PERM_READ },
	};

	return xs_mkdir(rt_xsh(ctx), t, dir) &&
	       xs_set_permissions(rt_xsh(ctx), t, dir, perms, 2);
}

int xen_store_txn(struct enso_ctx *ctx, xen_store_fn *fn, void *arg,
		  const char *who, const char *what, struct enso_error *err)
{
	struct xs_handle *xs = rt_xsh(ctx);
	int tries, e;

	for (tries = 0; tries < 50; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL) {
			e = errno ? errno : EIO;
			return exl_fail(err, -e, "%s: xenstore transaction: %s",
					who, strerror(e));
		}
		if (!fn(ctx, t, arg)) {
			e = errno ? errno : EIO;
			xs_transaction_end(xs, t, true);
			return exl_fail(err, -e, "%s: writing %s: %s", who, what,
					strerror(e));
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN) {
			e = errno ? errno : EIO;
			return exl_fail(err, -e, "%s: committing %s: %s", who,
					what, strerror(e));
		}
	}
	return exl_fail(err, -EAGAIN, "%s: xenstore stayed busy writing %s",
			who, what);
}
