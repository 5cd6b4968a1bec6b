/* Quotas for unprivileged domains: defaults of cxenstored 4.17, set by
 * upstream's option names, and every hit logged where an operator sees it. */
#include <errno.h>
#include <string.h>

#include "core.h"

struct quota_def quotas[Q_COUNT] = {
	[Q_NODES] = { "nodes", "nodes owned by a domain", 1000 },
	[Q_NODE_SIZE] = { "node-size", "bytes in one node", 2048 },
	[Q_WATCHES] = { "watches", "watches of a domain", 128 },
	[Q_TRANSACTIONS] = { "transactions", "open transactions of a domain", 10 },
	[Q_PERMS] = { "permissions", "permission entries of a node", 5 },
	[Q_PATH] = { "path-length", "path length of a domain's nodes", 2048 },
	[Q_TXN_NODES] = { "transaction-nodes", "nodes touched by one transaction", 1024 },
	[Q_OUTSTANDING] = { "outstanding", "unread replies before input pauses", 20 },
	[Q_MEMORY] = { "memory", "bytes of nodes a domain may own", 2621440 },
	[Q_MEMORY_SOFT] = { "memory-soft", "bytes of nodes above which we warn", 2097152 },
};

int quota_set_by_name(const char *name, const char *val, bool soft)
{
	unsigned long long v;
	int i;

	if (parse_uint(val, UINT32_MAX, &v))
		return -EINVAL;
	if (soft) {
		if (strcmp(name, "memory"))
			return -EINVAL;
		quotas[Q_MEMORY_SOFT].val = v;
		return 0;
	}
	/* Upstream's -Q spellings first, then our own names. */
	if (!strcmp(name, "transaction-nodes"))
		i = Q_TXN_NODES;
	else if (!strcmp(name, "memory"))
		i = Q_MEMORY;
	else if (!strcmp(name, "outstanding"))
		i = Q_OUTSTANDING;
	else {
		for (i = 0; i < Q_COUNT; i++)
			if (!strcmp(quotas[i].name, name))
				break;
		if (i == Q_COUNT)
			return -EINVAL;
	}
	quotas[i].val = v;
	return 0;
}

void quota_hit(const struct conn *conn, enum quota_id q, const char *path)
{
	elog(ELOG_WARN, "quota: domain %u reached %s (%s = %llu) at %s",
	     conn->domid, quotas[q].what, quotas[q].name, quotas[q].val,
	     path ? path : "-");
}
