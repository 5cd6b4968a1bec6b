/*
 * The KVM backend's NIC hot-plug ops, driven directly (xl network-attach
 * and -detach come with libxl's side, written elsewhere): libensoxl's
 * sources are compiled in, so the backend's table is reachable.
 *
 *   nic_plug attach|detach DOMID DEVID BRIDGE MAC
 *
 * Prints "rc=N: message" and exits 0 when rc is 0 and nothing was said
 * (a detach that timed out returns 0 but says so).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libxl/runtime.h"

int main(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx = NULL;
	struct enso_nic n;
	struct backend_device d;
	int rc;

	if (argc != 6 || (strcmp(argv[1], "attach") && strcmp(argv[1], "detach"))) {
		fprintf(stderr, "usage: nic_plug attach|detach DOMID DEVID BRIDGE MAC\n");
		return 2;
	}
	memset(&n, 0, sizeof(n));
	n.devid = atoi(argv[3]);
	n.bridge = argv[4];
	n.trusted = -1;
	n.mac_set = sscanf(argv[5], "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &n.mac[0],
			   &n.mac[1], &n.mac[2], &n.mac[3], &n.mac[4],
			   &n.mac[5]) == 6;
	d = (struct backend_device){ .kind = BACKEND_DEVICE_NIC,
				     .devid = (uint32_t)n.devid, .u.nic = &n };
	rc = enso_ctx_open(&ctx, 0, &err);
	if (!rc)
		rc = !strcmp(argv[1], "attach") ?
			     ctx->ops->device_attach(ctx, (uint32_t)atoi(argv[2]),
						     &d, &err) :
			     ctx->ops->device_detach(ctx, (uint32_t)atoi(argv[2]),
						     &d, false, 10000, &err);
	printf("rc=%d: %s\n", rc, err.msg);
	enso_ctx_close(ctx);
	return rc || err.msg[0];
}
