/*
 * libxl/config.c: the generic xl.cfg tree -> struct enso_domain_config.
 *
 * One table of known keys, each with its handler.  Keys not in the table
 * are ignored (as upstream xl does); a known key with a value of the wrong
 * kind or an invalid value fails with "SRC:LINE: KEY: what is wrong".
 */
#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

/* ---- names ------------------------------------------------------------- */

static const char *const action_names[] = {
	[ENSO_ACTION_DESTROY] = "destroy",
	[ENSO_ACTION_RESTART] = "restart",
	[ENSO_ACTION_RENAME_RESTART] = "rename-restart",
	[ENSO_ACTION_PRESERVE] = "preserve",
	[ENSO_ACTION_COREDUMP_DESTROY] = "coredump-destroy",
	[ENSO_ACTION_COREDUMP_RESTART] = "coredump-restart",
	[ENSO_ACTION_SOFT_RESET] = "soft-reset",
};

/* upstream's libxl_action_on_shutdown strings, as its JSON prints them */
static const char *const action_json_names[] = {
	[ENSO_ACTION_DESTROY] = "destroy",
	[ENSO_ACTION_RESTART] = "restart",
	[ENSO_ACTION_RENAME_RESTART] = "restart_rename",
	[ENSO_ACTION_PRESERVE] = "preserve",
	[ENSO_ACTION_COREDUMP_DESTROY] = "coredump_destroy",
	[ENSO_ACTION_COREDUMP_RESTART] = "coredump_restart",
	[ENSO_ACTION_SOFT_RESET] = "soft_reset",
};

const char *enso_action_name(enum enso_action a)
{
	return (unsigned)a < 7 ? action_names[a] : "?";
}

const char *exl_action_json_name(enum enso_action a)
{
	return (unsigned)a < 7 ? action_json_names[a] : "?";
}

int exl_action_parse(const char *s, enum enso_action *out)
{
	for (unsigned i = 0; i < 7; i++) {
		if (!strcmp(s, action_names[i]) ||
		    !strcmp(s, action_json_names[i])) {
			*out = i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *enso_domain_type_name(enum enso_domain_type t)
{
	switch (t) {
	case ENSO_DOMAIN_PV: return "pv";
	case ENSO_DOMAIN_PVH: return "pvh";
	case ENSO_DOMAIN_HVM: return "hvm";
	}
	return "?";
}

int exl_uuid_parse(const char *s, uint8_t out[16])
{
	static const int dash[] = { 8, 13, 18, 23 };
	unsigned k = 0, d = 0;

	if (strlen(s) != 36)
		return -EINVAL;
	for (unsigned i = 0; i < 36; i++) {
		if (d < 4 && (int)i == dash[d]) {
			if (s[i] != '-')
				return -EINVAL;
			d++;
			continue;
		}
		if (!isxdigit((unsigned char)s[i]))
			return -EINVAL;
		unsigned v = isdigit((unsigned char)s[i])
				     ? (unsigned)(s[i] - '0')
				     : (unsigned)(tolower((unsigned char)s[i]) -
						  'a' + 10);
		if (k % 2 == 0)
			out[k / 2] = v << 4;
		else
			out[k / 2] |= v;
		k++;
	}
	return 0;
}

void exl_uuid_format(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
		 "%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

/* ---- init / dispose ------------------------------------------------------ */

void enso_config_init(struct enso_domain_config *c)
{
	memset(c, 0, sizeof(*c));
	c->type = ENSO_DOMAIN_PV;
	c->cpu_weight = -1;
	c->cap = -1;
	c->on_poweroff = ENSO_ACTION_DESTROY;
	c->on_reboot = ENSO_ACTION_RESTART;
	c->on_watchdog = ENSO_ACTION_DESTROY;
	c->on_crash = ENSO_ACTION_DESTROY;
	c->on_soft_reset = ENSO_ACTION_SOFT_RESET;
	c->max_grant_frames = ENSO_U32_DEFAULT;
	c->max_maptrack_frames = ENSO_U32_DEFAULT;
	c->max_event_channels = ENSO_EVENT_CHANNELS_DEFAULT;
}

void enso_config_dispose(struct enso_domain_config *c)
{
	size_t i;

	if (!c)
		return;
	free(c->name);
	free(c->pool);
	exl_affinity_dispose(&c->cpus);
	exl_affinity_dispose(&c->cpus_soft);
	free(c->kernel);
	free(c->ramdisk);
	free(c->cmdline);
	free(c->root);
	free(c->extra);
	free(c->bootloader);
	free(c->device_layout);
	exl_strv_free(c->bootloader_args, c->nbootloader_args);
	for (i = 0; i < c->ndisks; i++)
		enso_disk_dispose(&c->disks[i]);
	free(c->disks);
	for (i = 0; i < c->nnics; i++)
		enso_nic_dispose(&c->nics[i]);
	free(c->nics);
	for (i = 0; i < c->nchannels; i++)
		enso_channel_dispose(&c->channels[i]);
	free(c->channels);
	exl_strv_free(c->serial, c->nserial);
	enso_config_init(c);
}

/* ---- cross-key defaults and checks (shared with the JSON reader) ------- */

int exl_config_finish(struct enso_domain_config *c, const char **key,
		  struct enso_error *err)
{
	size_t i, j;

	*key = NULL;
	if (!c->name || !c->name[0]) {
		*key = "name";
		return exl_fail(err, -EINVAL, "name: missing, every domain needs a name");
	}
	if (!c->memory_kb && !c->maxmem_kb)
		c->memory_kb = c->maxmem_kb = ENSO_MEMORY_DEFAULT_KB;
	else if (!c->memory_kb)
		c->memory_kb = c->maxmem_kb;
	else if (!c->maxmem_kb)
		c->maxmem_kb = c->memory_kb;
	if (c->maxmem_kb < c->memory_kb) {
		*key = "maxmem";
		return exl_fail(err, -EINVAL, "maxmem: %llu MB is less than memory (%llu "
				"MB)", (unsigned long long)c->maxmem_kb / 1024,
				(unsigned long long)c->memory_kb / 1024);
	}
	if (!c->vcpus)
		c->vcpus = c->maxvcpus ? c->maxvcpus : 1;
	if (!c->maxvcpus)
		c->maxvcpus = c->vcpus;
	if (c->maxvcpus < c->vcpus) {
		*key = "maxvcpus";
		return exl_fail(err, -EINVAL, "maxvcpus: %u is less than vcpus (%u)",
				c->maxvcpus, c->vcpus);
	}
	if (c->cpus.per_vcpu && c->cpus.nmaps > c->maxvcpus) {
		*key = "cpus";
		return exl_fail(err, -EINVAL, "cpus: %zu vCPU maps but maxvcpus "
				   "is %u",
				c->cpus.nmaps, c->maxvcpus);
	}
	if (c->cpus_soft.per_vcpu && c->cpus_soft.nmaps > c->maxvcpus) {
		*key = "cpus_soft";
		return exl_fail(err, -EINVAL, "cpus_soft: %zu vCPU maps but "
				   "maxvcpus is %u",
				c->cpus_soft.nmaps, c->maxvcpus);
	}
	for (i = 0; i < c->ndisks; i++)
		for (j = 0; j < i; j++)
			if (c->disks[i].vdev_number == c->disks[j].vdev_number) {
				*key = "disk";
				return exl_fail(err, -EINVAL, "disk: disks %zu (%s) and "
						"%zu (%s) are the same device",
						j + 1, c->disks[j].vdev, i + 1,
						c->disks[i].vdev);
			}
	for (i = 0; i < c->nnics; i++)
		for (j = 0; j < i; j++)
			if (c->nics[i].devid == c->nics[j].devid) {
				*key = "vif";
				return exl_fail(err, -EINVAL, "vif: vifs %zu and %zu both "
						"have devid %d", j + 1, i + 1,
						c->nics[i].devid);
			}
	return 0;
}

/* ---- key handlers --------------------------------------------------------- */

struct build {
	struct enso_domain_config *c;
	struct enso_error *err;
	const struct cfg_tree *tree;
};

typedef int key_fn(struct build *b, const struct cfg_setting *s);

static int want_str(struct build *b, const struct cfg_setting *s, char **dst)
{
	char *v;
	int rc = cfg_want_string(s, s->value, s->key, &v, b->err);

	if (rc)
		return rc;
	free(*dst);
	*dst = v;
	return 0;
}

static int want_num(struct build *b, const struct cfg_setting *s,
		    long long min, long long max, long long *out)
{
	return cfg_want_number(s, s->value, s->key, min, max, out, b->err);
}

static int bad(struct build *b, const struct cfg_setting *s, const char *fmt,
	       ...) __attribute__((format(printf, 3, 4)));
static int bad(struct build *b, const struct cfg_setting *s, const char *fmt,
	       ...)
{
	char what[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	return exl_fail(b->err, -EINVAL, "%s:%d: %s: %s", s->source, s->line, s->key,
			what);
}

static int k_name(struct build *b, const struct cfg_setting *s)
{
	int rc = want_str(b, s, &b->c->name);

	if (rc)
		return rc;
	if (!b->c->name[0])
		return bad(b, s, "must not be empty");
	for (const char *p = b->c->name; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			return bad(b, s, "must not contain control characters");
	return 0;
}

static int k_uuid(struct build *b, const struct cfg_setting *s)
{
	char *v = NULL;
	int rc = want_str(b, s, &v);

	if (rc)
		return rc;
	if (exl_uuid_parse(v, b->c->uuid)) {
		rc = bad(b, s, "'%.64s' is not a UUID "
			 "(xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx)", v);
		free(v);
		return rc;
	}
	free(v);
	b->c->uuid_set = true;
	return 0;
}

static int k_type(struct build *b, const struct cfg_setting *s)
{
	char *v = NULL;
	int rc = want_str(b, s, &v);

	if (rc)
		return rc;
	if (!strcmp(v, "pv"))
		b->c->type = ENSO_DOMAIN_PV;
	else if (!strcmp(v, "pvh"))
		b->c->type = ENSO_DOMAIN_PVH;
	else if (!strcmp(v, "hvm"))
		b->c->type = ENSO_DOMAIN_HVM;
	else
		rc = bad(b, s, "unknown type '%.64s' (pv, pvh or hvm)", v);
	free(v);
	return rc;
}

static int k_builder(struct build *b, const struct cfg_setting *s)
{
	char *v = NULL;
	int rc = want_str(b, s, &v);

	if (rc)
		return rc;
	if (cfg_get(b->tree, "type")) {
		/* type= wins over the deprecated builder= */
	} else if (!strcmp(v, "generic")) {
		b->c->type = ENSO_DOMAIN_PV;
	} else if (!strcmp(v, "hvm")) {
		b->c->type = ENSO_DOMAIN_HVM;
	} else {
		rc = bad(b, s, "unknown builder '%.64s' (generic or hvm; "
			 "better: type=)", v);
	}
	free(v);
	return rc;
}

#define MEM_MAX_MB (1LL << 32)

static int k_memory(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 1, MEM_MAX_MB, &n);

	if (!rc)
		b->c->memory_kb = (uint64_t)n * 1024;
	return rc;
}

static int k_maxmem(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 1, MEM_MAX_MB, &n);

	if (!rc)
		b->c->maxmem_kb = (uint64_t)n * 1024;
	return rc;
}

static int k_vcpus(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 1, ENSO_MAX_CPUS, &n);

	if (!rc)
		b->c->vcpus = n;
	return rc;
}

static int k_maxvcpus(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 1, ENSO_MAX_CPUS, &n);

	if (!rc)
		b->c->maxvcpus = n;
	return rc;
}

static int affinity(struct build *b, const struct cfg_setting *s,
		    struct enso_affinity *a)
{
	char **specs;
	size_t n;
	int rc;

	rc = cfg_want_string_list(s, true, &specs, &n, b->err);
	if (rc)
		return rc;
	if (!n) {
		exl_strv_free(specs, n);
		return bad(b, s, "an empty list (leave the key out for no "
			   "pinning)");
	}
	exl_affinity_dispose(a);
	rc = exl_affinity_parse_list(specs, n, s->value->kind == CFG_LIST, a,
				 b->err);
	exl_strv_free(specs, n);
	if (rc == -EINVAL)
		exl_err_prefix(b->err, "%s:%d: %s: ", s->source, s->line, s->key);
	return rc;
}

static int k_cpus(struct build *b, const struct cfg_setting *s)
{
	return affinity(b, s, &b->c->cpus);
}

static int k_cpus_soft(struct build *b, const struct cfg_setting *s)
{
	return affinity(b, s, &b->c->cpus_soft);
}

static int k_cpu_weight(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 1, 65535, &n);

	if (!rc)
		b->c->cpu_weight = n;
	return rc;
}

static int k_cap(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 0, 65535, &n);

	if (!rc)
		b->c->cap = n;
	return rc;
}

/* A list of words, or (deprecated) one string split at whitespace. */
static int k_bootloader_args(struct build *b, const struct cfg_setting *s)
{
	char **v = NULL, *tok, *save, *copy;
	size_t n = 0;
	int rc;

	if (s->value->kind == CFG_LIST) {
		rc = cfg_want_string_list(s, false, &v, &n, b->err);
		if (rc)
			return rc;
	} else {
		copy = strdup(s->value->text);
		v = calloc(strlen(s->value->text) / 2 + 2, sizeof(*v));
		if (!copy || !v) {
			free(copy);
			free(v);
			return -ENOMEM;
		}
		for (tok = strtok_r(copy, " \t\n", &save); tok;
		     tok = strtok_r(NULL, " \t\n", &save)) {
			if (!(v[n] = strdup(tok))) {
				free(copy);
				exl_strv_free(v, n);
				return -ENOMEM;
			}
			n++;
		}
		free(copy);
	}
	exl_strv_free(b->c->bootloader_args, b->c->nbootloader_args);
	b->c->bootloader_args = v;
	b->c->nbootloader_args = n;
	return 0;
}

static int action(struct build *b, const struct cfg_setting *s,
		  enum enso_action *dst)
{
	char *v = NULL;
	int rc = want_str(b, s, &v);

	if (rc)
		return rc;
	if (exl_action_parse(v, dst))
		rc = bad(b, s, "unknown action '%.64s' (destroy, restart, "
			 "rename-restart, preserve, coredump-destroy, "
			 "coredump-restart or soft-reset)", v);
	free(v);
	return rc;
}

/* The line of list item i (items may span lines). */
static int item_line(const struct cfg_setting *s, size_t i)
{
	return s->value->kind == CFG_LIST ? s->value->items[i]->line : s->line;
}

/*
 * A list of device specs (disk=, vif=, channel=): each string parsed by
 * parse into the next of *n items of `size` bytes in a fresh *items; an
 * error says "SRC:LINE: KEY: " before what parse said, LINE the item's.
 * On failure the items parsed so far stay counted in *n, for the
 * config's dispose.
 */
static int k_spec_list(struct build *b, const struct cfg_setting *s,
		       size_t size, void **items, size_t *n,
		       int (*parse)(const char *spec, void *item,
				    struct enso_error *err))
{
	char **specs;
	size_t count, i;
	int rc;

	rc = cfg_want_string_list(s, false, &specs, &count, b->err);
	if (rc)
		return rc;
	*items = calloc(count ? count : 1, size);
	if (!*items) {
		exl_strv_free(specs, count);
		return -ENOMEM;
	}
	for (i = 0; i < count; i++) {
		rc = parse(specs[i], (char *)*items + i * size, b->err);
		if (rc) {
			if (rc == -EINVAL)
				exl_err_prefix(b->err, "%s:%d: %s: ", s->source,
					       item_line(s, i), s->key);
			break;
		}
		(*n)++;
	}
	exl_strv_free(specs, count);
	return rc;
}

static int parse_disk(const char *spec, void *item, struct enso_error *err)
{
	return enso_disk_parse(spec, item, err);
}

static int parse_nic(const char *spec, void *item, struct enso_error *err)
{
	return enso_nic_parse(spec, item, err);
}

static int parse_channel(const char *spec, void *item, struct enso_error *err)
{
	return enso_channel_parse(spec, item, err);
}

static int k_disk(struct build *b, const struct cfg_setting *s)
{
	void *items = NULL;
	int rc = k_spec_list(b, s, sizeof(*b->c->disks), &items,
			     &b->c->ndisks, parse_disk);

	b->c->disks = items;
	return rc;
}

static int k_vif(struct build *b, const struct cfg_setting *s)
{
	struct enso_domain_config *c = b->c;
	void *items = NULL;
	size_t i;
	int rc = k_spec_list(b, s, sizeof(*c->nics), &items, &c->nnics,
			     parse_nic);

	c->nics = items;
	/* A vif without devid= is numbered by its place in the list. */
	for (i = 0; i < c->nnics; i++)
		if (c->nics[i].devid < 0)
			c->nics[i].devid = (int)i;
	return rc;
}

static int k_channel(struct build *b, const struct cfg_setting *s)
{
	void *items = NULL;
	int rc = k_spec_list(b, s, sizeof(*b->c->channels), &items,
			     &b->c->nchannels, parse_channel);

	b->c->channels = items;
	return rc;
}

static int k_serial(struct build *b, const struct cfg_setting *s)
{
	exl_strv_free(b->c->serial, b->c->nserial);
	b->c->serial = NULL;
	b->c->nserial = 0;
	return cfg_want_string_list(s, true, &b->c->serial, &b->c->nserial,
				    b->err);
}

static int k_max_grant_frames(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 1, INT32_MAX, &n);

	if (!rc)
		b->c->max_grant_frames = n;
	return rc;
}

static int k_max_maptrack_frames(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 0, INT32_MAX, &n);

	if (!rc)
		b->c->max_maptrack_frames = n;
	return rc;
}

static int k_max_event_channels(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, 1, 131071, &n);

	if (!rc)
		b->c->max_event_channels = n;
	return rc;
}

static int k_nomigrate(struct build *b, const struct cfg_setting *s)
{
	long long n;
	int rc = want_num(b, s, LLONG_MIN, LLONG_MAX, &n);

	if (!rc)
		b->c->nomigrate = n != 0;
	return rc;
}

/* A key is a string, an action, or has a handler of its own (fn). */
enum key_kind { KEY_FN, KEY_STRING, KEY_ACTION };

#define STR(k) { #k, KEY_STRING, NULL, offsetof(struct enso_domain_config, k) }
#define ACT(k) { #k, KEY_ACTION, NULL, offsetof(struct enso_domain_config, k) }

static const struct {
	const char *key;
	enum key_kind kind;
	key_fn *fn;
	size_t off;	/* the field, for KEY_STRING and KEY_ACTION */
} keys[] = {
	{ "name", KEY_FN, k_name, 0 },
	{ "uuid", KEY_FN, k_uuid, 0 },
	{ "type", KEY_FN, k_type, 0 },
	{ "builder", KEY_FN, k_builder, 0 },
	STR(pool),
	{ "memory", KEY_FN, k_memory, 0 },
	{ "maxmem", KEY_FN, k_maxmem, 0 },
	{ "vcpus", KEY_FN, k_vcpus, 0 },
	{ "maxvcpus", KEY_FN, k_maxvcpus, 0 },
	{ "cpus", KEY_FN, k_cpus, 0 },
	{ "cpus_soft", KEY_FN, k_cpus_soft, 0 },
	{ "cpu_weight", KEY_FN, k_cpu_weight, 0 },
	{ "cap", KEY_FN, k_cap, 0 },
	STR(kernel),
	STR(ramdisk),
	STR(cmdline),
	STR(root),
	STR(extra),
	STR(bootloader),
	{ "bootloader_args", KEY_FN, k_bootloader_args, 0 },
	ACT(on_poweroff),
	ACT(on_reboot),
	ACT(on_watchdog),
	ACT(on_crash),
	ACT(on_soft_reset),
	{ "disk", KEY_FN, k_disk, 0 },
	{ "vif", KEY_FN, k_vif, 0 },
	{ "channel", KEY_FN, k_channel, 0 },
	{ "serial", KEY_FN, k_serial, 0 },
	{ "max_grant_frames", KEY_FN, k_max_grant_frames, 0 },
	{ "max_maptrack_frames", KEY_FN, k_max_maptrack_frames, 0 },
	{ "max_event_channels", KEY_FN, k_max_event_channels, 0 },
	{ "nomigrate", KEY_FN, k_nomigrate, 0 },
};

#undef STR
#undef ACT

static int build_config(const struct cfg_tree *t, const char *src,
			struct enso_domain_config *c, struct enso_error *err)
{
	struct build b = { c, err, t };
	const struct cfg_setting *s;
	const char *key;
	size_t i;
	int rc;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		s = cfg_get(t, keys[i].key);
		if (!s)
			continue;
		switch (keys[i].kind) {
		case KEY_STRING:
			rc = want_str(&b, s, (char **)((char *)c + keys[i].off));
			break;
		case KEY_ACTION:
			rc = action(&b, s,
				    (enum enso_action *)((char *)c + keys[i].off));
			break;
		default:
			rc = keys[i].fn(&b, s);
			break;
		}
		if (rc)
			return rc;
	}
	/* cmdline= wins; otherwise "root=ROOT EXTRA" (xl.cfg(5)). */
	if (!c->cmdline && (c->root || c->extra)) {
		if (c->root && c->extra)
			c->cmdline = exl_str_printf("root=%s %s", c->root, c->extra);
		else if (c->root)
			c->cmdline = exl_str_printf("root=%s", c->root);
		else
			c->cmdline = strdup(c->extra);
		if (!c->cmdline)
			return -ENOMEM;
	}
	rc = exl_config_finish(c, &key, err);
	if (rc == -EINVAL) {
		s = cfg_get(t, key);
		if (!s && !strcmp(key, "maxmem"))
			s = cfg_get(t, "memory");
		if (!s && !strcmp(key, "maxvcpus"))
			s = cfg_get(t, "vcpus");
		if (s)
			exl_err_prefix(err, "%s:%d: ", s->source, s->line);
		else
			exl_err_prefix(err, "%s: ", src);
	}
	return rc;
}

int enso_config_parse_string(const char *text, size_t len,
			     const char *source_name,
			     const char *const *overrides,
			     struct enso_domain_config *out,
			     struct enso_error *err)
{
	struct cfg_tree *t;
	size_t i;
	int rc;

	enso_config_init(out);
	if (!source_name)
		source_name = "<config>";
	if (len > CFG_MAX_FILE_SIZE)
		return exl_fail(err, -EINVAL, "%s: file too large (a config is at most %d "
				"bytes)", source_name, CFG_MAX_FILE_SIZE);
	t = malloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	cfg_tree_init(t);
	rc = cfg_parse_text(t, text, len, source_name, 1, err);
	for (i = 0; !rc && overrides && overrides[i]; i++)
		rc = cfg_parse_text(t, overrides[i], strlen(overrides[i]),
				    "<command line>", (int)i + 1, err);
	if (!rc)
		rc = build_config(t, source_name, out, err);
	cfg_tree_dispose(t);
	free(t);
	if (rc)
		enso_config_dispose(out);
	return rc;
}

int enso_config_parse_file(const char *path, const char *const *overrides,
			   struct enso_domain_config *out,
			   struct enso_error *err)
{
	char *text;
	size_t len;
	int rc;

	enso_config_init(out);
	rc = cfg_read_file(path, &text, &len, err);
	if (rc)
		return rc;
	rc = enso_config_parse_string(text, len, path, overrides, out, err);
	free(text);
	return rc;
}
