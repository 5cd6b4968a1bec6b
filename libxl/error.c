/*
 * The one way libxl and its backends say what went wrong: a message in
 * struct enso_error for the user, beside the negative errno returned.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "libxl/services.h"

int exl_fail(struct enso_error *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err) {
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	return rc;
}

int exl_err_prefix(struct enso_error *err, const char *fmt, ...)
{
	char pre[256];
	size_t pl, ol, room;
	va_list ap;
	int r;

	if (!err)
		return -EINVAL;
	va_start(ap, fmt);
	r = vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	if (r < 0)
		return -EINVAL;
	pl = strlen(pre);
	ol = strnlen(err->msg, sizeof(err->msg) - 1);
	room = sizeof(err->msg) - 1 - pl;
	if (ol > room)
		ol = room;
	memmove(err->msg + pl, err->msg, ol);
	memcpy(err->msg, pre, pl);
	err->msg[pl + ol] = '\0';
	return -EINVAL;
}
