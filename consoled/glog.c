/*
 * Guest log files: DIR/guest-NAME.log, appended to, optionally with a
 * timestamp at the start of each line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "consoled.h"

void glog_init(struct glog *g)
{
	g->fd = -1;
	g->at_line_start = true;
	g->failed = false;
	g->path = NULL;
}

char *glog_path(const char *dir, const char *name, unsigned domid)
{
	char safe[128], *path;
	size_t i, n = name ? strlen(name) : 0;

	/* A guest can write its own name: keep it inside DIR. */
	if (n == 0 || n >= sizeof(safe) || !strcmp(name, ".") ||
	    !strcmp(name, "..")) {
		snprintf(safe, sizeof(safe), "%u", domid);
	} else {
		for (i = 0; i < n; i++) {
			char ch = name[i];
			bool ok = (ch >= 'a' && ch <= 'z') ||
				  (ch >= 'A' && ch <= 'Z') ||
				  (ch >= '0' && ch <= '9') || ch == '.' ||
				  ch == '-' || ch == '_';

			safe[i] = ok ? ch : '_';
		}
		safe[n] = '\0';
	}
	if (asprintf(&path, "%s/guest-%s.log", dir, safe) < 0)
		return NULL;
	return path;
}

static int open_path(struct glog *g)
{
	g->fd = open(g->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC |
			      O_NOCTTY | O_NOFOLLOW, 0644);
	if (g->fd < 0) {
		int err = errno;

		elog(ELOG_WARN, "cannot open guest log %s: %s", g->path,
		     strerror(err));
		return -err;
	}
	g->failed = false;
	return 0;
}

int glog_open(struct glog *g, const char *dir, const char *name,
	      unsigned domid)
{
	glog_close(g);
	g->path = glog_path(dir, name, domid);
	if (!g->path)
		return -ENOMEM;
	g->at_line_start = true;
	return open_path(g);
}

void glog_reopen(struct glog *g)
{
	if (!g->path)
		return;
	if (g->fd >= 0)
		close(g->fd);
	g->fd = -1;
	open_path(g);
}

void glog_close(struct glog *g)
{
	if (g->fd >= 0)
		close(g->fd);
	free(g->path);
	glog_init(g);
}

void glog_stamp(char *buf, size_t size, time_t now)
{
	struct tm tm;

	if (!localtime_r(&now, &tm) ||
	    !strftime(buf, size, "[%Y-%m-%d %H:%M:%S] ", &tm))
		snprintf(buf, size, "[%lld] ", (long long)now);
}

int glog_format(struct buf *out, bool *at_line_start, const char *data,
		size_t len, const char *stamp)
{
	size_t i = 0;

	while (i < len) {
		const char *nl = memchr(data + i, '\n', len - i);
		size_t end = nl ? (size_t)(nl - data) + 1 : len;

		if (*at_line_start && stamp &&
		    buf_add(out, stamp, strlen(stamp)))
			return -ENOMEM;
		if (buf_add(out, data + i, end - i))
			return -ENOMEM;
		*at_line_start = nl != NULL;
		i = end;
	}
	return 0;
}

void glog_write(struct glog *g, const char *data, size_t len,
		enum stamp_what stamp, time_t now)
{
	char sbuf[48];
	struct buf out;
	size_t off = 0;
	ssize_t n;

	if (g->fd < 0 || !len)
		return;
	buf_init(&out);
	if (stamp == STAMP_GUEST)
		glog_stamp(sbuf, sizeof(sbuf), now);
	if (glog_format(&out, &g->at_line_start, data, len,
			stamp == STAMP_GUEST ? sbuf : NULL)) {
		buf_fini(&out);
		return;
	}
	while (off < out.len) {
		n = write(g->fd, out.p + off, out.len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			if (!g->failed)
				elog(ELOG_WARN, "writing guest log %s: %s",
				     g->path, n < 0 ? strerror(errno) : "short write");
			g->failed = true;
			break;
		}
		off += (size_t)n;
	}
	buf_fini(&out);
}
