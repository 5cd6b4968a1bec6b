/*
 * cfgcheck: the golden tests' driver for Enso's config core.
 *
 *   cfgcheck [--compact] CFG [KEY=VALUE...]   the resolved config as JSON
 *   cfgcheck --roundtrip CFG [KEY=VALUE...]   to_json(from_json(J)) == J?
 *   cfgcheck --json FILE                      JSON in, JSON out
 *   cfgcheck --xl-conf FILE                   xl.conf settings, one a line
 *   cfgcheck --vdev NAME                      the vdev's number
 *
 * Prints the result on stdout and exits 0, or prints the library's error
 * message on stdout and exits 1 (2 for a usage error).  A crash is a
 * signal exit, which the runner reports as such.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "enso/libxl.h"

static int usage(void)
{
	fprintf(stderr, "usage: cfgcheck [--compact|--roundtrip] CFG "
			"[KEY=VALUE...]\n"
			"       cfgcheck --json FILE | --xl-conf FILE | "
			"--vdev NAME\n");
	return 2;
}

static int fail(int rc, const struct enso_error *err)
{
	if (rc == -EINVAL || err->msg[0])
		printf("%s\n", err->msg);
	else
		printf("error: %s\n", strerror(-rc));
	return 1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, r;

	if (!f)
		return NULL;
	do {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 65536;
			char *n = realloc(buf, cap + 1);
			if (!n) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = n;
		}
		r = fread(buf + len, 1, cap - len, f);
		len += r;
	} while (r);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

static int print_config(const struct enso_domain_config *c, bool pretty)
{
	char *json;
	int rc = enso_config_to_json(c, pretty, &json);

	if (rc) {
		printf("error: to_json: %s\n", strerror(-rc));
		return 1;
	}
	fputs(json, stdout);
	if (!pretty)
		putchar('\n');
	free(json);
	return 0;
}

static int roundtrip(const struct enso_domain_config *c)
{
	struct enso_domain_config back;
	struct enso_error err = { "" };
	char *a, *b;
	int rc, ret = 1;

	rc = enso_config_to_json(c, true, &a);
	if (rc) {
		printf("error: to_json: %s\n", strerror(-rc));
		return 1;
	}
	rc = enso_config_from_json(a, &back, &err);
	if (rc) {
		printf("from_json failed: %s\n", err.msg);
		free(a);
		return 1;
	}
	rc = enso_config_to_json(&back, true, &b);
	if (rc) {
		printf("error: to_json (second): %s\n", strerror(-rc));
	} else if (strcmp(a, b)) {
		printf("round trip differs\n--- first\n%s--- second\n%s", a, b);
	} else {
		printf("roundtrip ok\n");
		ret = 0;
	}
	free(a);
	free(b);
	enso_config_dispose(&back);
	enso_config_dispose(&back);	/* idempotent */
	return ret;
}

static int xl_conf(const char *path)
{
	static const char *const ab[] = { "auto", "on", "off" };
	struct enso_error err = { "" };
	struct enso_xl_conf x;
	int rc;

	rc = enso_xl_conf_parse_file(path, &x, &err);
	if (rc)
		return fail(rc, &err);
	printf("autoballoon=%s\n", ab[x.autoballoon]);
	printf("run_hotplug_scripts=%d\n", x.run_hotplug_scripts);
	printf("lockfile=%s\n", x.lockfile ? x.lockfile
					   : ENSO_XL_DEFAULT_LOCKFILE);
	printf("domid_policy=%s\n",
	       x.domid_policy == ENSO_DOMID_POLICY_XEN ? "xen" : "random");
	printf("vif.default.script=%s\n",
	       x.vif_default_script ? x.vif_default_script
				    : ENSO_XL_DEFAULT_VIF_SCRIPT);
	printf("vif.default.bridge=%s\n",
	       x.vif_default_bridge ? x.vif_default_bridge
				    : ENSO_XL_DEFAULT_VIF_BRIDGE);
	printf("vif.default.backend=%s\n",
	       x.vif_default_backend ? x.vif_default_backend : "(dom0)");
	printf("vif.default.gatewaydev=%s\n",
	       x.vif_default_gatewaydev ? x.vif_default_gatewaydev : "(none)");
	printf("output_format=%s\n",
	       x.output_format == ENSO_OUTPUT_JSON ? "json" : "sxp");
	printf("claim_mode=%d\n", x.claim_mode);
	if (x.max_grant_frames != ENSO_U32_DEFAULT)
		printf("max_grant_frames=%u\n", x.max_grant_frames);
	if (x.max_maptrack_frames != ENSO_U32_DEFAULT)
		printf("max_maptrack_frames=%u\n", x.max_maptrack_frames);
	enso_xl_conf_dispose(&x);
	enso_xl_conf_dispose(&x);
	return 0;
}

int main(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_domain_config c;
	bool pretty = true, rt = false;
	int i = 1, rc, ret;

	if (argc < 2)
		return usage();
	if (!strcmp(argv[1], "--vdev") && argc == 3) {
		uint32_t n;

		if (enso_vdev_to_number(argv[2], &n)) {
			printf("%s: not a vdev\n", argv[2]);
			return 1;
		}
		printf("%u\n", n);
		return 0;
	}
	if (!strcmp(argv[1], "--xl-conf") && argc == 3)
		return xl_conf(argv[2]);
	if (!strcmp(argv[1], "--json") && argc == 3) {
		char *text = slurp(argv[2]);

		if (!text) {
			printf("%s: cannot read\n", argv[2]);
			return 1;
		}
		rc = enso_config_from_json(text, &c, &err);
		free(text);
		if (rc)
			return fail(rc, &err);
		ret = print_config(&c, true);
		enso_config_dispose(&c);
		return ret;
	}
	if (!strcmp(argv[1], "--compact")) {
		pretty = false;
		i++;
	} else if (!strcmp(argv[1], "--roundtrip")) {
		rt = true;
		i++;
	}
	if (i >= argc || argv[i][0] == '-')
		return usage();
	rc = enso_config_parse_file(argv[i], (const char *const *)argv + i + 1,
				    &c, &err);
	if (rc)
		return fail(rc, &err);
	ret = rt ? roundtrip(&c) : print_config(&c, pretty);
	enso_config_dispose(&c);
	return ret;
}
