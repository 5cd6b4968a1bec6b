/*
 * xl network-attach, network-list, network-detach: the vifs of a running
 * domain, in upstream xl's arguments, words and table.  The vif spec is
 * checked before xl_open, as block-attach checks its disk.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/xl.h"

static int attach_nic(struct enso_ctx *ctx, uint32_t domid, const void *dev,
		      struct enso_error *err)
{
	return enso_nic_attach(ctx, domid, dev, err);
}

int main_networkattach(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_nic nic;
	char *spec;
	int rc;

	rc = xl_device_args(argc, argv, "network-attach", 1, 0, NULL);
	if (rc >= 0)
		return rc;
	/* upstream parses each part as one vif item; joined, they are the
	 * same spec */
	spec = xl_join_spec(argc - optind - 1, argv + optind + 1);
	if (!spec) {
		fprintf(stderr, "xl: network-attach: %s\n", strerror(ENOMEM));
		return 1;
	}
	rc = enso_nic_parse(spec, &nic, &err);
	free(spec);
	if (rc) {
		xl_say_error("network-attach", &err, rc);
		return 1;
	}
	rc = xl_device_attach("network-attach", argv[optind], attach_nic, &nic);
	enso_nic_dispose(&nic);
	return rc;
}

static int list_nics(struct enso_ctx *ctx, uint32_t domid,
		     struct enso_error *err)
{
	struct enso_nicinfo *list;
	size_t n, i;
	int rc;

	if (!ctx) {
		printf("%-3s %-2s %-17s %-6s %-5s %-6s %5s/%-5s %-30s\n", "Idx",
		       "BE", "Mac Addr.", "handle", "state", "evt-ch", "tx-",
		       "rx-ring-ref", "BE-path");
		return 0;
	}
	rc = enso_nic_list(ctx, domid, &list, &n, err);
	if (rc)
		return rc;
	for (i = 0; i < n; i++) {
		const struct enso_nicinfo *v = &list[i];
		const uint8_t *m = v->nic.mac;

		printf("%-3d %-2d ", (int)v->devid, (int)v->backend_id);
		printf("%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3],
		       m[4], m[5]);
		printf("%6d %5d %6d %5d/%-11d %-30s\n", (int)v->devid, v->state,
		       v->evtchn, v->rref_tx, v->rref_rx,
		       v->backend_path ? v->backend_path : "-");
	}
	enso_nicinfo_list_free(list, n);
	return 0;
}

int main_networklist(int argc, char **argv)
{
	int rc = xl_device_args(argc, argv, "network-list", 1, 0, NULL);

	return rc >= 0 ? rc : xl_device_list(argc, argv, "network-list",
					      list_nics);
}

int main_networkdetach(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	bool force = false;
	const char *id;
	uint32_t domid;
	int rc;

	rc = xl_device_args(argc, argv, "network-detach", 2, 2, &force);
	if (rc >= 0)
		return rc;
	id = argv[optind + 1];
	ctx = xl_open();
	if (!ctx)
		return 1;
	rc = 1;
	if (xl_domid(ctx, argv[optind], &domid) == 0) {
		rc = enso_nic_detach(ctx, domid, id, force, &err);
		if (rc == -ENOENT)
			fprintf(stderr, "Unknown device %s.\n", id);
		else if (rc)
			xl_say_error("network-detach", &err, rc);
		else if (err.msg[0])	/* detached, forced after a timeout */
			fprintf(stderr, "xl: network-detach: %s\n", err.msg);
	}
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}
