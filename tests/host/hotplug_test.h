/*
 * tests/host/hotplug_test.h: what the files of tests/host/hotplug share:
 * the TAP check and the readers of the kernel's view (hotplug.c), and the
 * parts in files of their own.
 */
#ifndef ENSO_TESTS_HOST_HOTPLUG_TEST_H
#define ENSO_TESTS_HOST_HOTPLUG_TEST_H

#include <stdbool.h>

/* The message buffer the calls under test fill. */
extern char msg[512];

/* One "ok - host: hotplug: NAME" line, or "not ok" with fmt's why. */
void check(bool ok, const char *name, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The first line of a file (sysfs), "" when it cannot be read. */
const char *sys(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool exists(const char *path);
bool is_up(const char *dev);
/* What `tc ARGS` prints (the kernel's own dump; HOTPLUG_TEST_TC). */
const char *tc(const char *args);

/* hotplug_rate.c: rate limits, policed and through an IFB. */
void rate(void);

#endif
