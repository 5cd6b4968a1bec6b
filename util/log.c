#include <stdio.h>
#include <syslog.h>
#include <time.h>

#include "enso-util.h"

static const char *log_ident = "enso";
static enum elog_level log_threshold = ELOG_INFO;
static bool log_syslog;

void elog_open(const char *ident, enum elog_level threshold)
{
	log_ident = ident;
	log_threshold = threshold;
}

void elog_to_syslog(void)
{
	openlog(log_ident, LOG_PID, LOG_DAEMON);
	log_syslog = true;
}

void elog_set_level(enum elog_level threshold)
{
	log_threshold = threshold;
}

enum elog_level elog_level(void)
{
	return log_threshold;
}

void elog(enum elog_level lvl, const char *fmt, ...)
{
	static const int prio[] = { LOG_ERR, LOG_WARNING, LOG_INFO, LOG_DEBUG };
	static const char *const name[] = { "error", "warning", "info", "debug" };
	va_list ap;

	if (lvl > log_threshold)
		return;
	va_start(ap, fmt);
	if (log_syslog) {
		vsyslog(prio[lvl], fmt, ap);
	} else {
		fprintf(stderr, "%s: %s: ", log_ident, name[lvl]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
	}
	va_end(ap);
}
