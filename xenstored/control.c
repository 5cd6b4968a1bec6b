/*
 * CONTROL: the operator's commands (xenstore-control).  Replies are text
 * an operator reads, NUL-terminated.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

struct control_cmd {
	const char *name;
	const char *args;
	int (*fn)(struct req *r, const char **argv, int argc);
};

static int reply_text(struct req *r, const char *text)
{
	return buf_add_str0(&r->reply, text);
}

static int ctl_check(struct req *r, const char **argv, int argc)
{
	struct buf problems;
	int rc;

	(void)argv;
	(void)argc;
	buf_init(&problems);
	rc = store_check(&problems);
	if (rc == -EIO) {
		elog(ELOG_ERR, "store check failed:\n%.*s", (int)problems.len,
		     problems.p);
		rc = buf_add(&r->reply, problems.p, problems.len);
		if (!rc)
			rc = buf_add(&r->reply, "", 1);
	} else if (!rc) {
		rc = reply_text(r, "OK");
	}
	buf_fini(&problems);
	return rc;
}

static int ctl_log(struct req *r, const char **argv, int argc)
{
	if (argc != 1 || (strcmp(argv[0], "on") && strcmp(argv[0], "off")))
		return -EINVAL;
	trace_enable(!strcmp(argv[0], "on"));
	return reply_text(r, "OK");
}

static int ctl_logfile(struct req *r, const char **argv, int argc)
{
	int rc;

	if (argc != 1)
		return -EINVAL;
	rc = trace_open(argv[0]);
	return rc ? rc : reply_text(r, "OK");
}

static int ctl_memreport(struct req *r, const char **argv, int argc)
{
	uint64_t bytes = 0;
	uint32_t d, domains = 0;

	(void)argv;
	(void)argc;
	for (d = 0; d < NR_DOMIDS; d++) {
		bytes += store.usage[d].bytes;
		if (store.usage[d].nodes)
			domains++;
	}
	if (buf_printf(&r->reply,
		       "nodes: %llu\nnode bytes: %llu\nbytes per node: %llu\n"
		       "store bytes: %zu\n"
		       "owners: %u\nconnections: %zu\ndomains: %zu\nwatches: %zu\n",
		       (unsigned long long)store.nnodes,
		       (unsigned long long)bytes,
		       (unsigned long long)(store.nnodes ? bytes / store.nnodes : 0),
		       store_bytes(), domains, conn_count(), domain_count(), watch_count()))
		return -ENOMEM;
	return buf_add(&r->reply, "", 1);
}

static int quota_report(struct req *r)
{
	int i;

	if (buf_printf(&r->reply, "Quota settings:\n"))
		return -ENOMEM;
	for (i = 0; i < Q_COUNT; i++)
		if (buf_printf(&r->reply, "%-18s %10llu  %s\n", quotas[i].name,
			       quotas[i].val, quotas[i].what))
			return -ENOMEM;
	return buf_add(&r->reply, "", 1);
}

static int domain_report(struct req *r, uint32_t domid)
{
	const struct domusage *u = &store.usage[domid];
	struct conn *c;
	uint32_t watches = 0, txns = 0;
	size_t unread = 0;

	for (c = conn_first(); c; c = c->next) {
		if (c->domid != domid || c->dead)
			continue;
		watches += c->nwatches;
		txns += c->ntxns;
		unread += conn_out_bytes(c);
	}
	if (buf_printf(&r->reply,
		       "Domain %u:\nnodes %10u  (quota %llu)\nmemory %9llu  (quota %llu)\n"
		       "watches %8u  (quota %llu)\ntransactions %3u  (quota %llu)\n"
		       "transaction memory %llu\nunread output %zu\n"
		       "watch events dropped %llu\n",
		       domid, u->nodes, quotas[Q_NODES].val,
		       (unsigned long long)u->bytes,
		       quotas[Q_MEMORY].val, watches, quotas[Q_WATCHES].val, txns,
		       quotas[Q_TRANSACTIONS].val,
		       (unsigned long long)u->txn_bytes, unread,
		       (unsigned long long)u->events_dropped))
		return -ENOMEM;
	return buf_add(&r->reply, "", 1);
}

static int ctl_quota(struct req *r, const char **argv, int argc)
{
	unsigned long long domid;

	if (argc == 0)
		return quota_report(r);
	if (argc == 3 && !strcmp(argv[0], "set")) {
		int rc = quota_set_by_name(argv[1], argv[2], false);

		return rc ? rc : reply_text(r, "OK");
	}
	if (argc == 1 && !parse_uint(argv[0], NR_DOMIDS - 1, &domid))
		return domain_report(r, (uint32_t)domid);
	return -EINVAL;
}

static int ctl_quota_soft(struct req *r, const char **argv, int argc)
{
	if (argc == 0)
		return quota_report(r);
	if (argc == 3 && !strcmp(argv[0], "set")) {
		int rc = quota_set_by_name(argv[1], argv[2], true);

		return rc ? rc : reply_text(r, "OK");
	}
	return -EINVAL;
}

static int ctl_print(struct req *r, const char **argv, int argc)
{
	if (argc != 1)
		return -EINVAL;
	elog(ELOG_INFO, "control print: %s", argv[0]);
	return reply_text(r, "OK");
}

/*
 * Enso's own: make this connection act as an unprivileged domain, for good.
 * Lets tests and sandboxed tools on the socket be held to a domain's
 * permissions and quotas (what the retired XS_RESTRICT once did).
 */
static int ctl_restrict(struct req *r, const char **argv, int argc)
{
	unsigned long long domid;

	if (argc != 1 || parse_uint(argv[0], NR_DOMIDS - 1, &domid) ||
	    domid == 0)
		return -EINVAL;
	r->conn->privileged = false;
	r->conn->domid = (uint32_t)domid;
	return reply_text(r, "OK");
}

static int ctl_help(struct req *r, const char **argv, int argc);

/* Writes a snapshot and starts a fresh journal now (persist_write.c). */
static int ctl_snapshot(struct req *r, const char **argv, int argc)
{
	(void)r;
	(void)argv;
	(void)argc;
	return persist_on() ? persist_compact() : -ENOSYS;
}

static const struct control_cmd cmds[] = {
	{ "check", "", ctl_check },
	{ "help", "", ctl_help },
	{ "live-update", "[-c <cmdline>] [-F] [-t <secs>] -f <file> | -s | -a",
	  liveupdate_control },
	{ "log", "on|off", ctl_log },
	{ "logfile", "<file>", ctl_logfile },
	{ "memreport", "", ctl_memreport },
	{ "print", "<string>", ctl_print },
	{ "quota", "[set <name> <val>|<domid>]", ctl_quota },
	{ "quota-soft", "[set memory <val>]", ctl_quota_soft },
	{ "restrict", "<domid>", ctl_restrict },
	{ "snapshot", "", ctl_snapshot },
};

static int ctl_help(struct req *r, const char **argv, int argc)
{
	size_t i;

	(void)argv;
	(void)argc;
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (buf_printf(&r->reply, "%-10s %s\n", cmds[i].name,
			       cmds[i].args))
			return -ENOMEM;
	return buf_add(&r->reply, "", 1);
}

int do_control(struct req *r)
{
	const char *argv[8];
	int argc = req_strings(r, argv, ARRAY_SIZE(argv));
	size_t i;

	if (argc < 1 || argc > (int)ARRAY_SIZE(argv))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(cmds); i++)
		if (!strcmp(cmds[i].name, argv[0]))
			return cmds[i].fn(r, argv + 1, argc - 1);
	return -EINVAL;
}
