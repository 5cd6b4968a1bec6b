/*
 * xl block-attach, block-list, block-detach: the disks of a running
 * domain, in upstream xl's arguments, words and table.  What can be
 * checked without the store (the disk spec, the DevId) is checked before
 * xl_open, as vcpu-pin does with its maps.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/xl.h"

/* Upstream's words for a DevId that names no device, or one the domain
 * does not have. */
static int not_connected(const char *devid)
{
	fprintf(stderr, "Error: Device %s not connected.\n", devid);
	return 1;
}

static int attach_disk(struct enso_ctx *ctx, uint32_t domid, const void *dev,
		       struct enso_error *err)
{
	return enso_disk_attach(ctx, domid, dev, err);
}

int main_blockattach(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_disk disk;
	char *spec;
	int rc;

	rc = xl_device_args(argc, argv, "block-attach", 2, 0, NULL);
	if (rc >= 0)
		return rc;
	spec = xl_join_spec(argc - optind - 1, argv + optind + 1);
	if (!spec) {
		fprintf(stderr, "xl: block-attach: %s\n", strerror(ENOMEM));
		return 1;
	}
	rc = enso_disk_parse(spec, &disk, &err);
	free(spec);
	if (rc) {
		xl_say_error("block-attach", &err, rc);
		return 1;
	}
	rc = xl_device_attach("block-attach", argv[optind], attach_disk, &disk);
	enso_disk_dispose(&disk);
	return rc;
}

static int list_disks(struct enso_ctx *ctx, uint32_t domid,
		      struct enso_error *err)
{
	struct enso_diskinfo *list;
	size_t n, i;
	int rc;

	if (!ctx) {
		printf("%-5s %-3s %-6s %-5s %-6s %-8s %-30s\n", "Vdev", "BE",
		       "handle", "state", "evt-ch", "ring-ref", "BE-path");
		return 0;
	}
	rc = enso_disk_list(ctx, domid, &list, &n, err);
	if (rc)
		return rc;
	/* upstream's columns: Vdev is the devid, handle the domain */
	for (i = 0; i < n; i++)
		printf("%-5d %-3d %-6d %-5d %-6d %-8d %-30s\n",
		       (int)list[i].devid, (int)list[i].backend_id,
		       (int)list[i].frontend_id, list[i].state, list[i].evtchn,
		       list[i].ring_ref,
		       list[i].backend_path ? list[i].backend_path : "-");
	enso_diskinfo_list_free(list, n);
	return 0;
}

int main_blocklist(int argc, char **argv)
{
	int rc = xl_device_args(argc, argv, "block-list", 1, 0, NULL);

	return rc >= 0 ? rc : xl_device_list(argc, argv, "block-list", list_disks);
}

int main_blockdetach(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	bool force = false;
	const char *devid;
	uint32_t domid, number;
	int rc;

	rc = xl_device_args(argc, argv, "block-detach", 2, 2, &force);
	if (rc >= 0)
		return rc;
	devid = argv[optind + 1];
	if (enso_vdev_to_number(devid, &number))
		return not_connected(devid);
	ctx = xl_open();
	if (!ctx)
		return 1;
	rc = 1;
	if (xl_domid(ctx, argv[optind], &domid) == 0) {
		rc = enso_disk_detach(ctx, domid, devid, force, &err);
		if (rc == -ENOENT)
			not_connected(devid);
		else if (rc)
			xl_say_error("block-detach", &err, rc);
		else if (err.msg[0])	/* detached, forced after a timeout */
			fprintf(stderr, "xl: block-detach: %s\n", err.msg);
	}
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}
