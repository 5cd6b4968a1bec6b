/*
 * Watches.  All watches are indexed by their path, so a change to
 * /a/b/c looks up "/", "/a", "/a/b" and "/a/b/c" and touches only the
 * watches that match: firing costs the same with 10 or 10,000 watches set.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static struct hmap index_by_path;	/* path -> first watch on it */
static size_t nwatches_total;

void watch_init(void)
{
	hmap_init(&index_by_path);
}

void watch_fini(void)
{
	hmap_fini(&index_by_path);
}

size_t watch_count(void)
{
	return nwatches_total;
}

static void index_remove(struct watch *w)
{
	struct watch *head = hmap_get(&index_by_path, w->path), **pp;

	if (!head)
		return;
	for (pp = &head; *pp; pp = &(*pp)->next_path) {
		if (*pp == w) {
			*pp = w->next_path;
			break;
		}
	}
	/* The key is borrowed from the head watch: re-key on every change. */
	hmap_del(&index_by_path, w->path);
	if (head)
		hmap_put(&index_by_path, head->path, head);
}

int watch_add(struct conn *conn, const char *path, const char *token,
	      bool relative)
{
	struct watch *w, *head;

	for (w = conn->watches; w; w = w->next_conn)
		if (!strcmp(w->path, path) && !strcmp(w->token, token))
			return -EEXIST;
	if (!conn->privileged && conn->nwatches >= quotas[Q_WATCHES].val) {
		quota_hit(conn, Q_WATCHES, path);
		return -E2BIG;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->path = strdup(path);
	w->token = strdup(token);
	if (!w->path || !w->token)
		goto nomem;
	w->relative = relative;
	w->conn = conn;
	head = hmap_get(&index_by_path, path);
	w->next_path = head;
	if (hmap_put(&index_by_path, w->path, w))
		goto nomem;
	w->next_conn = conn->watches;
	conn->watches = w;
	conn->nwatches++;
	nwatches_total++;
	persist_watch(conn, path, token, relative, true);
	return 0;
nomem:
	free(w->path);
	free(w->token);
	free(w);
	return -ENOMEM;
}

static void watch_free(struct watch *w)
{
	index_remove(w);
	nwatches_total--;
	free(w->path);
	free(w->token);
	free(w);
}

int watch_remove(struct conn *conn, const char *path, const char *token)
{
	struct watch **pp;

	for (pp = &conn->watches; *pp; pp = &(*pp)->next_conn) {
		struct watch *w = *pp;

		if (!strcmp(w->path, path) && !strcmp(w->token, token)) {
			*pp = w->next_conn;
			conn->nwatches--;
			persist_watch(conn, path, token, false, false);
			watch_free(w);
			return 0;
		}
	}
	return -ENOENT;
}

void watch_remove_all(struct conn *conn)
{
	persist_watch_reset(conn);
	while (conn->watches) {
		struct watch *w = conn->watches;

		conn->watches = w->next_conn;
		watch_free(w);
	}
	conn->nwatches = 0;
}

static void deliver(struct watch *w, const char *path)
{
	const char *epath = path;
	struct buf b;

	if (w->relative) {
		char home[32];
		size_t hl = (size_t)snprintf(home, sizeof(home),
					     "/local/domain/%u/",
					     w->conn->domid);

		if (!strncmp(path, home, hl))
			epath = path + hl;
	}
	buf_init(&b);
	if (buf_add_str0(&b, epath) || buf_add_str0(&b, w->token)) {
		buf_fini(&b);
		return;
	}
	if (b.len > XENSTORE_PAYLOAD_MAX)
		elog(ELOG_WARN, "conn %u: watch event for %s too long, dropped",
		     w->conn->id, path);
	else
		conn_send(w->conn, XS_WATCH_EVENT, 0, 0, b.p, (uint32_t)b.len,
			  true);
	buf_fini(&b);
}

static void fire_list(const char *key, const char *path,
		      const struct perms *perms)
{
	struct watch *w;

	for (w = hmap_get(&index_by_path, key); w; w = w->next_path) {
		if (w->conn->dead)
			continue;
		if (!w->conn->privileged &&
		    !(perms_allowed(w->conn, perms) & PERM_READ))
			continue;
		deliver(w, path);
	}
}

void watch_fire(const char *path, bool exact, const struct perms *perms)
{
	char *prefix;
	size_t i, len;

	if (path[0] == '@') {
		if (!perms)
			perms = !strcmp(path, "@introduceDomain") ?
					&store.intro_perms :
					&store.release_perms;
		fire_list(path, path, perms);
		return;
	}
	if (!index_by_path.count)
		return;
	if (exact) {
		fire_list(path, path, perms);
		return;
	}
	len = strlen(path);
	prefix = malloc(len + 1);
	if (!prefix)
		return;
	fire_list("/", path, perms);
	for (i = 1; len > 1 && i <= len; i++) {
		if (path[i] == '/' || path[i] == '\0') {
			memcpy(prefix, path, i);
			prefix[i] = '\0';
			fire_list(prefix, path, perms);
		}
	}
	free(prefix);
}
