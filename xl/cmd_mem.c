/* xl mem-set, mem-max, vcpu-set. */
#include <stdio.h>
#include <stdlib.h>

#include "xl/xl.h"

typedef int mem_fn(struct enso_ctx *ctx, uint32_t domid, uint64_t kib,
		   struct enso_error *err);

static int memory_cmd(int argc, char **argv, const char *cmd, mem_fn *fn)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	uint32_t domid;
	uint64_t kib;
	int rc = 1;

	if (argc != 3) {
		xl_usage_of(cmd);
		return 1;
	}
	if (xl_parse_memory(argv[2], &kib)) {
		fprintf(stderr, "xl: invalid memory size: %s\n", argv[2]);
		return 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (xl_domid(ctx, argv[1], &domid) == 0) {
		rc = fn(ctx, domid, kib, &err);
		if (rc)
			fprintf(stderr, "xl: %s: %s\n", cmd, err.msg);
	}
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}

int main_memset(int argc, char **argv)
{
	return memory_cmd(argc, argv, "mem-set", enso_domain_set_memory);
}

int main_memmax(int argc, char **argv)
{
	return memory_cmd(argc, argv, "mem-max", enso_domain_set_maxmem);
}

int main_vcpuset(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_ctx *ctx;
	uint32_t domid;
	char *end;
	unsigned long n;
	int rc = 1;

	if (argc != 3) {
		xl_usage_of("vcpu-set");
		return 1;
	}
	n = strtoul(argv[2], &end, 10);
	/* 0 goes to the library, which refuses it as upstream's does. */
	if (*end || !*argv[2] || n > 4096) {
		fprintf(stderr, "xl: invalid vCPU count: %s\n", argv[2]);
		return 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (xl_domid(ctx, argv[1], &domid) == 0) {
		rc = enso_domain_set_vcpus(ctx, domid, (uint32_t)n, &err);
		if (rc)
			fprintf(stderr, "xl: vcpu-set: %s\n", err.msg);
	}
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}
