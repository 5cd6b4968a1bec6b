/*
 * libxl/xlconf.c: /etc/xen/xl.conf (xl.conf(5)), same grammar as xl.cfg.
 * Unknown keys are ignored; known keys with bad values fail.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

void enso_xl_conf_init(struct enso_xl_conf *x)
{
	memset(x, 0, sizeof(*x));
	x->autoballoon = ENSO_AUTOBALLOON_AUTO;
	x->run_hotplug_scripts = true;
	x->domid_policy = ENSO_DOMID_POLICY_XEN;
	x->output_format = ENSO_OUTPUT_JSON;
	x->claim_mode = true;
	x->max_grant_frames = ENSO_U32_DEFAULT;
	x->max_maptrack_frames = ENSO_U32_DEFAULT;
}

void enso_xl_conf_dispose(struct enso_xl_conf *x)
{
	if (!x)
		return;
	free(x->lockfile);
	free(x->vif_default_script);
	free(x->vif_default_bridge);
	free(x->vif_default_backend);
	free(x->vif_default_gatewaydev);
	free(x->blkdev_start);
	enso_xl_conf_init(x);
}

static int str_key(const struct cfg_tree *t, const char *k, const char *old,
		   char **dst, struct enso_error *err)
{
	const struct cfg_setting *s = cfg_get(t, k);
	char *v;
	int rc;

	if (!s && old)
		s = cfg_get(t, old);	/* the deprecated name */
	if (!s)
		return 0;
	rc = cfg_want_string(s, s->value, s->key, &v, err);
	if (rc)
		return rc;
	free(*dst);
	*dst = v;
	return 0;
}

/* One of `names` (or, for autoballoon, a legacy 0/1 number). */
static int enum_key(const struct cfg_tree *t, const char *k,
		    const char *const *names, int n, int *dst,
		    struct enso_error *err)
{
	const struct cfg_setting *s = cfg_get(t, k);
	int i;

	if (!s)
		return 0;
	if (s->value->kind == CFG_LIST)
		return exl_fail(err, -EINVAL, "%s:%d: %s: expected a string, found a list",
				s->source, s->line, k);
	for (i = 0; i < n; i++)
		if (!strcmp(s->value->text, names[i])) {
			*dst = i;
			return 0;
		}
	return exl_fail(err, -EINVAL, "%s:%d: %s: unknown value '%.64s'", s->source,
			s->line, k, s->value->text);
}

static int num_key(const struct cfg_tree *t, const char *k, long long min,
		   long long max, long long *dst, bool *given,
		   struct enso_error *err)
{
	const struct cfg_setting *s = cfg_get(t, k);

	*given = s != NULL;
	if (!s)
		return 0;
	return cfg_want_number(s, s->value, k, min, max, dst, err);
}

static int build(const struct cfg_tree *t, struct enso_xl_conf *x,
		 struct enso_error *err)
{
	static const char *const ab[] = { "auto", "on", "off" };
	static const char *const ab_legacy[] = { "0", "1" };
	static const char *const dp[] = { "xen", "random" };
	static const char *const of[] = { "json", "sxp" };
	long long n;
	bool given;
	int rc, e;

	e = -1;
	if (cfg_get(t, "autoballoon") &&
	    cfg_get(t, "autoballoon")->value->kind == CFG_NUMBER) {
		rc = enum_key(t, "autoballoon", ab_legacy, 2, &e, err);
		if (rc)
			return rc;
		x->autoballoon = e ? ENSO_AUTOBALLOON_ON : ENSO_AUTOBALLOON_OFF;
	} else {
		e = (int)x->autoballoon;
		rc = enum_key(t, "autoballoon", ab, 3, &e, err);
		if (rc)
			return rc;
		x->autoballoon = (enum enso_autoballoon)e;
	}
	e = (int)x->domid_policy;
	if ((rc = enum_key(t, "domid_policy", dp, 2, &e, err)))
		return rc;
	x->domid_policy = (enum enso_domid_policy)e;
	e = (int)x->output_format;
	if ((rc = enum_key(t, "output_format", of, 2, &e, err)))
		return rc;
	x->output_format = (enum enso_output_format)e;
	if ((rc = num_key(t, "run_hotplug_scripts", LLONG_MIN, LLONG_MAX, &n,
			  &given, err)))
		return rc;
	if (given)
		x->run_hotplug_scripts = n != 0;
	if ((rc = num_key(t, "claim_mode", LLONG_MIN, LLONG_MAX, &n, &given,
			  err)))
		return rc;
	if (given)
		x->claim_mode = n != 0;
	if ((rc = num_key(t, "max_grant_frames", 1, INT32_MAX, &n, &given,
			  err)))
		return rc;
	if (given)
		x->max_grant_frames = (uint32_t)n;
	if ((rc = num_key(t, "max_maptrack_frames", 0, INT32_MAX, &n, &given,
			  err)))
		return rc;
	if (given)
		x->max_maptrack_frames = (uint32_t)n;
	if ((rc = str_key(t, "lockfile", NULL, &x->lockfile, err)) ||
	    (rc = str_key(t, "vif.default.script", "vifscript",
			  &x->vif_default_script, err)) ||
	    (rc = str_key(t, "vif.default.bridge", "defaultbridge",
			  &x->vif_default_bridge, err)) ||
	    (rc = str_key(t, "vif.default.backend", NULL,
			  &x->vif_default_backend, err)) ||
	    (rc = str_key(t, "vif.default.gatewaydev", NULL,
			  &x->vif_default_gatewaydev, err)) ||
	    (rc = str_key(t, "blkdev_start", NULL, &x->blkdev_start, err)))
		return rc;
	return 0;
}

int enso_xl_conf_parse_string(const char *text, size_t len,
			      const char *source_name,
			      struct enso_xl_conf *out,
			      struct enso_error *err)
{
	struct cfg_tree *t;
	int rc;

	enso_xl_conf_init(out);
	if (!source_name)
		source_name = "xl.conf";
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	cfg_tree_init(t);
	rc = cfg_parse_text(t, text, len, source_name, 1, err);
	if (!rc)
		rc = build(t, out, err);
	cfg_tree_dispose(t);
	free(t);
	if (rc)
		enso_xl_conf_dispose(out);
	return rc;
}

int enso_xl_conf_parse_file(const char *path, struct enso_xl_conf *out,
			    struct enso_error *err)
{
	char *text;
	size_t len;
	int rc;

	enso_xl_conf_init(out);
	rc = cfg_read_file(path, &text, &len, err);
	if (rc)
		return rc;
	rc = enso_xl_conf_parse_string(text, len, path, out, err);
	free(text);
	return rc;
}
