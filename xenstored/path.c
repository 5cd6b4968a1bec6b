/* Request paths: validation and resolution of relative paths. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static bool valid_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c >= '0' && c <= '9') || c == '-' || c == '/' || c == '_' ||
	       c == '@';
}

static bool valid_abs(const char *p)
{
	size_t i, len = strlen(p);

	if (len == 0 || p[0] != '/')
		return false;
	if (len > 1 && p[len - 1] == '/')
		return false;
	for (i = 0; i < len; i++) {
		if (!valid_char(p[i]))
			return false;
		if (p[i] == '/' && p[i + 1] == '/')
			return false;
	}
	return true;
}

int path_canonical(const struct conn *conn, const char *path,
		   bool allow_special, char **out)
{
	char *abs;
	size_t rel_len = strlen(path);

	if (path[0] == '@') {
		if (!allow_special)
			return -EINVAL;
		for (const char *p = path; *p; p++)
			if (!valid_char(*p) || *p == '/')
				return -EINVAL;
		abs = strdup(path);
		if (!abs)
			return -ENOMEM;
		*out = abs;
		return 0;
	}
	if (path[0] == '/') {
		abs = strdup(path);
	} else {
		if (rel_len == 0 || rel_len > XENSTORE_REL_PATH_MAX)
			return -EINVAL;
		if (asprintf(&abs, "/local/domain/%u/%s", conn->domid, path) < 0)
			abs = NULL;
	}
	if (!abs)
		return -ENOMEM;
	if (!valid_abs(abs) || strlen(abs) > XENSTORE_ABS_PATH_MAX) {
		free(abs);
		return -EINVAL;
	}
	/* Domains are held to the -M limit, measured like upstream on the
	 * path relative to their home. */
	if (!conn->privileged) {
		char home[32];
		size_t hl = (size_t)snprintf(home, sizeof(home),
					     "/local/domain/%u/", conn->domid);
		size_t l = strlen(abs);

		if (!strncmp(abs, home, hl))
			l -= hl;
		if (l > quotas[Q_PATH].val) {
			quota_hit(conn, Q_PATH, abs);
			free(abs);
			return -EINVAL;
		}
	}
	*out = abs;
	return 0;
}

bool path_is_child(const char *child, const char *parent)
{
	size_t pl = strlen(parent);

	if (!strcmp(parent, "/"))
		return child[0] == '/';
	return !strncmp(child, parent, pl) &&
	       (child[pl] == '\0' || child[pl] == '/');
}

bool path_parent(const char *path, char *parent)
{
	const char *slash = strrchr(path, '/');

	if (!slash || !strcmp(path, "/"))
		return false;
	if (slash == path) {
		strcpy(parent, "/");
	} else {
		memcpy(parent, path, (size_t)(slash - path));
		parent[slash - path] = '\0';
	}
	return true;
}

const char *path_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}
