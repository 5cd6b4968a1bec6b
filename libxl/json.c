/*
 * libxl/json.c: struct enso_domain_config <-> JSON, in the shape of
 * upstream's libxl_domain_config JSON (libxl_types.idl field names, enums
 * as lower-case strings, defbools as "True"/"False", uuid and mac as text,
 * bitmaps as arrays of set bit numbers, defaults left out).
 *
 * Enso adds b_info.cpus / b_info.cpus_soft: the CPU lists as written,
 * which upstream resolves against the host before printing.  Readers of
 * upstream's JSON ignore keys they do not know; so does ours.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <yajl/yajl_gen.h>
#include <yajl/yajl_tree.h>

#include "enso-util.h"
#include "private.h"

#define JSON_MAX_DEPTH 64

/* ---- writing ------------------------------------------------------------ */

struct gen {
	yajl_gen g;
	int st;		/* first yajl_gen_status that was not ok */
};

static void chk(struct gen *w, yajl_gen_status s)
{
	if (s != yajl_gen_status_ok && w->st == yajl_gen_status_ok)
		w->st = s;
}

static void key(struct gen *w, const char *k)
{
	chk(w, yajl_gen_string(w->g, (const unsigned char *)k, strlen(k)));
}

static void str(struct gen *w, const char *s)
{
	chk(w, yajl_gen_string(w->g, (const unsigned char *)s, strlen(s)));
}

static void kstr(struct gen *w, const char *k, const char *s)
{
	if (!s)
		return;
	key(w, k);
	str(w, s);
}

static void kint(struct gen *w, const char *k, long long n)
{
	key(w, k);
	chk(w, yajl_gen_integer(w->g, n));
}

static void kdefbool(struct gen *w, const char *k, int v)
{
	if (v >= 0)
		kstr(w, k, v ? "True" : "False");
}

static void map_open(struct gen *w)
{
	chk(w, yajl_gen_map_open(w->g));
}

static void map_close(struct gen *w)
{
	chk(w, yajl_gen_map_close(w->g));
}

static void arr_open(struct gen *w)
{
	chk(w, yajl_gen_array_open(w->g));
}

static void arr_close(struct gen *w)
{
	chk(w, yajl_gen_array_close(w->g));
}

static void kstrv(struct gen *w, const char *k, char **v, size_t n)
{
	if (!n)
		return;
	key(w, k);
	arr_open(w);
	for (size_t i = 0; i < n; i++)
		str(w, v[i]);
	arr_close(w);
}

static bool host_free(const struct enso_affinity *a)
{
	for (size_t i = 0; i < a->nmaps; i++)
		if (a->maps[i].all || a->maps[i].has_nodes)
			return false;
	return true;
}

static void bitmap(struct gen *w, const struct enso_cpumap *m)
{
	arr_open(w);
	for (unsigned i = 0; i < ENSO_MAX_CPUS; i++)
		if (enso_cpumap_test(m, i))
			chk(w, yajl_gen_integer(w->g, i));
	arr_close(w);
}

static void affinity(struct gen *w, const char *upstream_key,
		     const char *enso_key, const struct enso_affinity *a,
		     uint32_t maxvcpus)
{
	size_t i, n;

	if (!a->nmaps)
		return;
	if (host_free(a)) {
		key(w, upstream_key);
		arr_open(w);
		n = a->per_vcpu ? a->nmaps : maxvcpus;
		for (i = 0; i < n; i++)
			bitmap(w, &a->maps[a->per_vcpu ? i : 0]);
		arr_close(w);
	}
	key(w, enso_key);
	if (a->per_vcpu) {
		arr_open(w);
		for (i = 0; i < a->nmaps; i++)
			str(w, a->maps[i].spec);
		arr_close(w);
	} else {
		str(w, a->maps[0].spec);
	}
}

static void gen_disk(struct gen *w, const struct enso_disk *d)
{
	map_open(w);
	kstr(w, "backend_domname", d->backend);
	kstr(w, "pdev_path", d->target);
	kstr(w, "vdev", d->vdev);
	if (d->backendtype != ENSO_DISK_BACKEND_UNKNOWN)
		kstr(w, "backend", exl_disk_backendtype_name(d->backendtype));
	kstr(w, "format", enso_disk_format_name(d->format));
	kstr(w, "script", d->script);
	if (d->is_cdrom)
		kint(w, "removable", 1);
	if (d->readwrite)
		kint(w, "readwrite", 1);
	if (d->is_cdrom)
		kint(w, "is_cdrom", 1);
	if (d->direct_io_safe) {
		key(w, "direct_io_safe");
		chk(w, yajl_gen_bool(w->g, 1));
	}
	kdefbool(w, "discard_enable", d->discard);
	if (d->specification != ENSO_DISK_SPEC_DEFAULT)
		kstr(w, "specification",
		     d->specification == ENSO_DISK_SPEC_XEN ? "xen" : "virtio");
	kdefbool(w, "trusted", d->trusted);
	map_close(w);
}

static void gen_nic(struct gen *w, const struct enso_nic *n)
{
	char mac[18];

	map_open(w);
	kstr(w, "backend_domname", n->backend);
	kint(w, "devid", n->devid);
	if (n->mtu)
		kint(w, "mtu", n->mtu);
	kstr(w, "model", n->model);
	if (n->mac_set) {
		exl_mac_format(n->mac, mac);
		kstr(w, "mac", mac);
	}
	kstr(w, "ip", n->ip);
	kstr(w, "bridge", n->bridge);
	kstr(w, "ifname", n->vifname);
	kstr(w, "script", n->script);
	if (n->type != ENSO_NIC_TYPE_DEFAULT)
		kstr(w, "nictype",
		     n->type == ENSO_NIC_TYPE_IOEMU ? "vif_ioemu" : "vif");
	if (n->rate_bytes_per_interval) {
		kint(w, "rate_bytes_per_interval",
		     (long long)n->rate_bytes_per_interval);
		kint(w, "rate_interval_usecs", n->rate_interval_usecs);
	}
	kstr(w, "gatewaydev", n->gatewaydev);
	kdefbool(w, "trusted", n->trusted);
	map_close(w);
}

static void gen_channel(struct gen *w, const struct enso_channel *ch,
			size_t devid)
{
	map_open(w);
	kstr(w, "backend_domname", ch->backend);
	kint(w, "devid", (long long)devid);
	kstr(w, "name", ch->name);
	kstr(w, "connection",
	     ch->connection == ENSO_CHANNEL_SOCKET ? "socket" : "pty");
	if (ch->connection == ENSO_CHANNEL_SOCKET) {
		key(w, "connection.socket");
		map_open(w);
		kstr(w, "path", ch->path);
		map_close(w);
	}
	map_close(w);
}

static void gen_config(struct gen *w, const struct enso_domain_config *c)
{
	char uuid[37];
	size_t i;

	map_open(w);

	key(w, "c_info");
	map_open(w);
	kstr(w, "type", enso_domain_type_name(c->type));
	kstr(w, "name", c->name);
	if (c->uuid_set) {
		exl_uuid_format(c->uuid, uuid);
		kstr(w, "uuid", uuid);
	}
	kstr(w, "pool_name", c->pool);
	map_close(w);

	key(w, "b_info");
	map_open(w);
	kint(w, "max_vcpus", c->maxvcpus);
	key(w, "avail_vcpus");
	arr_open(w);
	for (i = 0; i < c->vcpus; i++)
		chk(w, yajl_gen_integer(w->g, (long long)i));
	arr_close(w);
	affinity(w, "vcpu_hard_affinity", "cpus", &c->cpus, c->maxvcpus);
	affinity(w, "vcpu_soft_affinity", "cpus_soft", &c->cpus_soft,
		 c->maxvcpus);
	kint(w, "max_memkb", (long long)c->maxmem_kb);
	kint(w, "target_memkb", (long long)c->memory_kb);
	if (c->nomigrate)
		kstr(w, "disable_migrate", "True");
	if (c->max_grant_frames != ENSO_U32_DEFAULT)
		kint(w, "max_grant_frames", c->max_grant_frames);
	if (c->max_maptrack_frames != ENSO_U32_DEFAULT)
		kint(w, "max_maptrack_frames", c->max_maptrack_frames);
	key(w, "sched_params");
	map_open(w);
	if (c->cpu_weight >= 0)
		kint(w, "weight", c->cpu_weight);
	if (c->cap >= 0)
		kint(w, "cap", c->cap);
	map_close(w);
	kint(w, "event_channels", c->max_event_channels);
	kstr(w, "kernel", c->kernel);
	kstr(w, "cmdline", c->cmdline);
	kstr(w, "ramdisk", c->ramdisk);
	kstr(w, "bootloader", c->bootloader);
	kstrv(w, "bootloader_args", c->bootloader_args, c->nbootloader_args);
	key(w, c->type == ENSO_DOMAIN_HVM ? "type.hvm"
	       : c->type == ENSO_DOMAIN_PVH ? "type.pvh" : "type.pv");
	map_open(w);
	if (c->type == ENSO_DOMAIN_HVM)
		kstrv(w, "serial_list", c->serial, c->nserial);
	map_close(w);
	map_close(w);

	if (c->ndisks) {
		key(w, "disks");
		arr_open(w);
		for (i = 0; i < c->ndisks; i++)
			gen_disk(w, &c->disks[i]);
		arr_close(w);
	}
	if (c->nnics) {
		key(w, "nics");
		arr_open(w);
		for (i = 0; i < c->nnics; i++)
			gen_nic(w, &c->nics[i]);
		arr_close(w);
	}
	if (c->nchannels) {
		key(w, "channels");
		arr_open(w);
		for (i = 0; i < c->nchannels; i++)
			gen_channel(w, &c->channels[i], i);
		arr_close(w);
	}
	kstr(w, "on_poweroff", exl_action_json_name(c->on_poweroff));
	kstr(w, "on_reboot", exl_action_json_name(c->on_reboot));
	kstr(w, "on_watchdog", exl_action_json_name(c->on_watchdog));
	kstr(w, "on_crash", exl_action_json_name(c->on_crash));
	kstr(w, "on_soft_reset", exl_action_json_name(c->on_soft_reset));
	kstr(w, "enso_device_layout", c->device_layout);
	map_close(w);
}

int enso_config_to_json(const struct enso_domain_config *c, bool pretty,
			char **json_out)
{
	struct gen w = { NULL, yajl_gen_status_ok };
	const unsigned char *buf;
	size_t len;
	char *out;

	*json_out = NULL;
	if (!c || !c->name)
		return -EINVAL;
	w.g = yajl_gen_alloc(NULL);
	if (!w.g)
		return -ENOMEM;
	yajl_gen_config(w.g, yajl_gen_validate_utf8, 1);
	if (pretty) {
		yajl_gen_config(w.g, yajl_gen_beautify, 1);
		yajl_gen_config(w.g, yajl_gen_indent_string, "    ");
	}
	gen_config(&w, c);
	if (w.st != yajl_gen_status_ok ||
	    yajl_gen_get_buf(w.g, &buf, &len) != yajl_gen_status_ok) {
		yajl_gen_free(w.g);
		return w.st == yajl_gen_invalid_string ? -EILSEQ
							      : -ENOMEM;
	}
	while (len && buf[len - 1] == '\n')
		len--;
	out = malloc(len + 2);
	if (out) {
		memcpy(out, buf, len);
		if (pretty)
			out[len++] = '\n';
		out[len] = '\0';
	}
	yajl_gen_free(w.g);
	*json_out = out;
	return out ? 0 : -ENOMEM;
}

/* ---- reading ------------------------------------------------------------ */

struct rd {
	struct enso_error *err;
};

static int jerr(struct rd *r, const char *path, const char *what)
{
	return exl_fail(r->err, -EINVAL, "JSON: %s: %s", path, what);
}

static yajl_val get(yajl_val obj, const char *k)
{
	if (!YAJL_IS_OBJECT(obj))
		return NULL;
	for (size_t i = 0; i < obj->u.object.len; i++)
		if (!strcmp(obj->u.object.keys[i], k))
			return obj->u.object.values[i];
	return NULL;
}

static int rd_str(struct rd *r, yajl_val obj, const char *k, const char *path,
		  char **dst)
{
	yajl_val v = get(obj, k);
	char p[128];

	if (!v || YAJL_IS_NULL(v))
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, k);
	if (!YAJL_IS_STRING(v))
		return jerr(r, p, "expected a string");
	free(*dst);
	*dst = strdup(v->u.string);
	return *dst ? 0 : -ENOMEM;
}

static int rd_int(struct rd *r, yajl_val obj, const char *k, const char *path,
		  long long min, long long max, long long *dst)
{
	yajl_val v = get(obj, k);
	char p[128], what[96];

	if (!v)
		return 1;	/* absent */
	snprintf(p, sizeof(p), "%s.%s", path, k);
	if (!YAJL_IS_INTEGER(v))
		return jerr(r, p, "expected an integer");
	if (YAJL_GET_INTEGER(v) < min || YAJL_GET_INTEGER(v) > max) {
		snprintf(what, sizeof(what), "%lld is out of range (%lld to "
			 "%lld)", YAJL_GET_INTEGER(v), min, max);
		return jerr(r, p, what);
	}
	*dst = YAJL_GET_INTEGER(v);
	return 0;
}

static int rd_defbool(struct rd *r, yajl_val obj, const char *k,
		      const char *path, int *dst)
{
	yajl_val v = get(obj, k);
	char p[128];

	if (!v)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, k);
	if (YAJL_IS_TRUE(v) || (YAJL_IS_STRING(v) && !strcmp(v->u.string, "True")))
		*dst = 1;
	else if (YAJL_IS_FALSE(v) ||
		 (YAJL_IS_STRING(v) && !strcmp(v->u.string, "False")))
		*dst = 0;
	else if (YAJL_IS_STRING(v) && !strcmp(v->u.string, "<default>"))
		*dst = -1;
	else
		return jerr(r, p, "expected \"True\" or \"False\"");
	return 0;
}

static int rd_strv(struct rd *r, yajl_val obj, const char *k, const char *path,
		   char ***dst, size_t *n)
{
	yajl_val v = get(obj, k);
	char p[128];
	char **s;
	size_t i;

	if (!v)
		return 0;
	snprintf(p, sizeof(p), "%s.%s", path, k);
	if (!YAJL_IS_ARRAY(v))
		return jerr(r, p, "expected an array of strings");
	s = calloc(v->u.array.len + 1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (i = 0; i < v->u.array.len; i++) {
		if (!YAJL_IS_STRING(v->u.array.values[i])) {
			exl_strv_free(s, i);
			return jerr(r, p, "expected an array of strings");
		}
		if (!(s[i] = strdup(v->u.array.values[i]->u.string))) {
			exl_strv_free(s, i);
			return -ENOMEM;
		}
	}
	exl_strv_free(*dst, *n);
	*dst = s;
	*n = v->u.array.len;
	return 0;
}

/* An upstream bitmap ([0, 2, 3]) as a CPU list ("0,2-3"). */
static int bitmap_spec(struct rd *r, yajl_val arr, const char *path,
		       char **out)
{
	uint8_t bits[ENSO_MAX_CPUS / 8] = { 0 };
	size_t cap = 16, len = 0;
	char *s = malloc(cap), *n;
	unsigned i, j;

	if (!s)
		return -ENOMEM;
	s[0] = '\0';
	if (!YAJL_IS_ARRAY(arr)) {
		free(s);
		return jerr(r, path, "expected an array of CPU numbers");
	}
	for (i = 0; i < arr->u.array.len; i++) {
		yajl_val v = arr->u.array.values[i];

		if (!YAJL_IS_INTEGER(v) || YAJL_GET_INTEGER(v) < 0 ||
		    YAJL_GET_INTEGER(v) >= ENSO_MAX_CPUS) {
			free(s);
			return jerr(r, path, "expected an array of CPU "
				    "numbers");
		}
		j = (unsigned)YAJL_GET_INTEGER(v);
		bits[j / 8] |= (uint8_t)(1u << (j % 8));
	}
	for (i = 0; i < ENSO_MAX_CPUS; i++) {
		if (!(bits[i / 8] >> (i % 8) & 1))
			continue;
		for (j = i; j + 1 < ENSO_MAX_CPUS &&
			    bits[(j + 1) / 8] >> ((j + 1) % 8) & 1; j++)
			;
		if (len + 24 > cap) {
			cap = 2 * cap + 24;
			if (!(n = realloc(s, cap))) {
				free(s);
				return -ENOMEM;
			}
			s = n;
		}
		len += (size_t)(j > i ? sprintf(s + len, "%s%u-%u",
						 len ? "," : "", i, j)
				       : sprintf(s + len, "%s%u",
						 len ? "," : "", i));
		i = j;
	}
	if (!len) {
		free(s);
		return jerr(r, path, "an empty CPU map");
	}
	*out = s;
	return 0;
}

static int rd_affinity(struct rd *r, yajl_val b, const char *enso_key,
		       const char *upstream_key, struct enso_affinity *a)
{
	yajl_val v = get(b, enso_key);
	char path[64], **specs = NULL;
	size_t n = 0, i;
	bool per_vcpu;
	int rc;

	if (v) {
		snprintf(path, sizeof(path), "b_info.%s", enso_key);
		per_vcpu = YAJL_IS_ARRAY(v);
		if (YAJL_IS_STRING(v)) {
			specs = calloc(1, sizeof(*specs));
			if (!specs || !(specs[0] = strdup(v->u.string))) {
				free(specs);
				return -ENOMEM;
			}
			n = 1;
		} else {
			rc = rd_strv(r, b, enso_key, "b_info", &specs, &n);
			if (rc)
				return rc;
			if (!per_vcpu)
				return jerr(r, path, "expected a string or an "
					    "array of strings");
		}
	} else {
		v = get(b, upstream_key);
		if (!v)
			return 0;
		snprintf(path, sizeof(path), "b_info.%s", upstream_key);
		if (!YAJL_IS_ARRAY(v))
			return jerr(r, path, "expected an array of CPU maps");
		per_vcpu = true;
		specs = calloc(v->u.array.len + 1, sizeof(*specs));
		if (!specs)
			return -ENOMEM;
		for (i = 0; i < v->u.array.len; i++) {
			rc = bitmap_spec(r, v->u.array.values[i], path,
					 &specs[i]);
			if (rc) {
				exl_strv_free(specs, i);
				return rc;
			}
		}
		n = v->u.array.len;
	}
	if (!n) {
		exl_strv_free(specs, n);
		return jerr(r, path, "an empty list");
	}
	rc = exl_affinity_parse_list(specs, n, per_vcpu, a, r->err);
	exl_strv_free(specs, n);
	if (rc == -EINVAL)
		exl_err_prefix(r->err, "JSON: %s: ", path);
	return rc;
}

static int rd_disk(struct rd *r, yajl_val o, size_t idx, struct enso_disk *d)
{
	char path[32], *s = NULL;
	long long n;
	int rc;

	snprintf(path, sizeof(path), "disks[%zu]", idx);
	if (!YAJL_IS_OBJECT(o))
		return jerr(r, path, "expected an object");
	if ((rc = rd_str(r, o, "backend_domname", path, &d->backend)) ||
	    (rc = rd_str(r, o, "pdev_path", path, &d->target)) ||
	    (rc = rd_str(r, o, "vdev", path, &d->vdev)) ||
	    (rc = rd_str(r, o, "script", path, &d->script)))
		return rc;
	if (!d->vdev)
		return jerr(r, path, "vdev missing");
	if (enso_vdev_to_number(d->vdev, &d->vdev_number))
		return jerr(r, path, "vdev is not a virtual device name");
	if ((rc = rd_str(r, o, "backend", path, &s)))
		return rc;
	if (s && strcmp(s, "unknown") &&
	    exl_disk_backendtype_parse(s, &d->backendtype)) {
		free(s);
		return jerr(r, path, "unknown backend");
	}
	free(s);
	s = NULL;
	if ((rc = rd_str(r, o, "format", path, &s)))
		return rc;
	d->format = ENSO_DISK_FORMAT_RAW;
	if (s && !strcmp(s, "empty"))
		d->format = ENSO_DISK_FORMAT_EMPTY;
	else if (s && strcmp(s, "unknown") && exl_disk_format_parse(s, &d->format)) {
		free(s);
		return jerr(r, path, "unknown format");
	}
	free(s);
	s = NULL;
	if ((rc = rd_int(r, o, "readwrite", path, 0, 1, &n)) < 0)
		return rc;
	d->readwrite = !rc && n;
	if ((rc = rd_int(r, o, "is_cdrom", path, 0, 1, &n)) < 0)
		return rc;
	d->is_cdrom = !rc && n;
	yajl_val v = get(o, "direct_io_safe");
	if (v && !YAJL_IS_TRUE(v) && !YAJL_IS_FALSE(v))
		return jerr(r, path, "direct_io_safe: expected true or false");
	d->direct_io_safe = v && YAJL_IS_TRUE(v);
	if ((rc = rd_defbool(r, o, "discard_enable", path, &d->discard)) ||
	    (rc = rd_defbool(r, o, "trusted", path, &d->trusted)) ||
	    (rc = rd_str(r, o, "specification", path, &s)))
		return rc;
	if (s && !strcmp(s, "xen"))
		d->specification = ENSO_DISK_SPEC_XEN;
	else if (s && !strcmp(s, "virtio"))
		d->specification = ENSO_DISK_SPEC_VIRTIO;
	else if (s && strcmp(s, "unknown")) {
		free(s);
		return jerr(r, path, "unknown specification");
	}
	free(s);
	if (!d->target && d->format != ENSO_DISK_FORMAT_EMPTY)
		return jerr(r, path, "pdev_path missing");
	return 0;
}

static int rd_nic(struct rd *r, yajl_val o, size_t idx, struct enso_nic *nic)
{
	char path[32], *s = NULL;
	long long n;
	int rc;

	snprintf(path, sizeof(path), "nics[%zu]", idx);
	if (!YAJL_IS_OBJECT(o))
		return jerr(r, path, "expected an object");
	if ((rc = rd_str(r, o, "backend_domname", path, &nic->backend)) ||
	    (rc = rd_str(r, o, "model", path, &nic->model)) ||
	    (rc = rd_str(r, o, "ip", path, &nic->ip)) ||
	    (rc = rd_str(r, o, "bridge", path, &nic->bridge)) ||
	    (rc = rd_str(r, o, "ifname", path, &nic->vifname)) ||
	    (rc = rd_str(r, o, "script", path, &nic->script)) ||
	    (rc = rd_str(r, o, "gatewaydev", path, &nic->gatewaydev)) ||
	    (rc = rd_defbool(r, o, "trusted", path, &nic->trusted)))
		return rc;
	if ((rc = rd_int(r, o, "devid", path, 0, 65535, &n)) < 0)
		return rc;
	nic->devid = rc ? (int)idx : (int)n;
	if ((rc = rd_int(r, o, "mtu", path, 0, 65535, &n)) < 0)
		return rc;
	nic->mtu = rc ? 0 : (uint32_t)n;
	if ((rc = rd_int(r, o, "rate_bytes_per_interval", path, 0,
			 INT64_MAX, &n)) < 0)
		return rc;
	nic->rate_bytes_per_interval = rc ? 0 : (uint64_t)n;
	if ((rc = rd_int(r, o, "rate_interval_usecs", path, 0, UINT32_MAX,
			 &n)) < 0)
		return rc;
	nic->rate_interval_usecs = rc ? 0 : (uint32_t)n;
	if (nic->rate_bytes_per_interval && !nic->rate_interval_usecs)
		return jerr(r, path, "rate_interval_usecs missing");
	if ((rc = rd_str(r, o, "mac", path, &s)))
		return rc;
	if (s) {
		rc = exl_mac_parse(s, nic->mac);
		free(s);
		if (rc)
			return jerr(r, path, "mac is not six hex pairs");
		/* upstream prints an unset MAC as all zeros */
		for (int i = 0; i < 6; i++)
			nic->mac_set |= nic->mac[i] != 0;
	}
	s = NULL;
	if ((rc = rd_str(r, o, "nictype", path, &s)))
		return rc;
	if (s && !strcmp(s, "vif_ioemu"))
		nic->type = ENSO_NIC_TYPE_IOEMU;
	else if (s && !strcmp(s, "vif"))
		nic->type = ENSO_NIC_TYPE_VIF;
	else if (s && strcmp(s, "unknown")) {
		free(s);
		return jerr(r, path, "unknown nictype");
	}
	free(s);
	return 0;
}

static int rd_channel(struct rd *r, yajl_val o, size_t idx,
		      struct enso_channel *ch)
{
	char path[32], *name = NULL, *backend = NULL, *conn = NULL;
	char *sockpath = NULL, *spec = NULL;
	int rc;

	snprintf(path, sizeof(path), "channels[%zu]", idx);
	if (!YAJL_IS_OBJECT(o))
		return jerr(r, path, "expected an object");
	if ((rc = rd_str(r, o, "name", path, &name)) ||
	    (rc = rd_str(r, o, "backend_domname", path, &backend)) ||
	    (rc = rd_str(r, o, "connection", path, &conn)))
		goto out;
	yajl_val sock = get(o, "connection.socket");
	if (sock && (rc = rd_str(r, sock, "path", path, &sockpath)))
		goto out;
	spec = exl_str_printf("name=%s,connection=%s%s%s%s%s", name ? name : "",
			  conn ? conn : "", sockpath ? ",path=" : "",
			  sockpath ? sockpath : "", backend ? ",backend=" : "",
			  backend ? backend : "");
	if (!spec) {
		rc = -ENOMEM;
		goto out;
	}
	rc = enso_channel_parse(spec, ch, r->err);
	if (rc == -EINVAL)
		exl_err_prefix(r->err, "JSON: %s: ", path);
out:
	free(name);
	free(backend);
	free(conn);
	free(sockpath);
	free(spec);
	return rc;
}

static int rd_action(struct rd *r, yajl_val root, const char *k,
		     enum enso_action *dst)
{
	char *s = NULL;
	int rc = rd_str(r, root, k, "config", &s);

	if (rc || !s)
		return rc;
	if (exl_action_parse(s, dst))
		rc = jerr(r, k, "unknown action");
	free(s);
	return rc;
}

static int rd_config(struct rd *r, yajl_val root, struct enso_domain_config *c)
{
	yajl_val ci = get(root, "c_info"), b = get(root, "b_info"), v;
	char *s = NULL;
	long long n;
	size_t i;
	int rc;

	if (!YAJL_IS_OBJECT(root))
		return jerr(r, "config", "expected an object");
	if (!YAJL_IS_OBJECT(ci))
		return jerr(r, "c_info", "missing or not an object");
	if (b && !YAJL_IS_OBJECT(b))
		return jerr(r, "b_info", "not an object");

	if ((rc = rd_str(r, ci, "name", "c_info", &c->name)) ||
	    (rc = rd_str(r, ci, "pool_name", "c_info", &c->pool)) ||
	    (rc = rd_str(r, ci, "type", "c_info", &s)))
		return rc;
	if (!s || !strcmp(s, "pv"))
		c->type = ENSO_DOMAIN_PV;
	else if (!strcmp(s, "pvh"))
		c->type = ENSO_DOMAIN_PVH;
	else if (!strcmp(s, "hvm"))
		c->type = ENSO_DOMAIN_HVM;
	else
		rc = jerr(r, "c_info.type", "unknown type (pv, pvh or hvm)");
	free(s);
	s = NULL;
	if (rc)
		return rc;
	if ((rc = rd_str(r, ci, "uuid", "c_info", &s)))
		return rc;
	if (s) {
		rc = exl_uuid_parse(s, c->uuid);
		free(s);
		s = NULL;
		if (rc)
			return jerr(r, "c_info.uuid", "not a UUID");
		for (i = 0; i < 16; i++)
			c->uuid_set |= c->uuid[i] != 0;
	}

	if (b) {
		if ((rc = rd_int(r, b, "max_vcpus", "b_info", 1, ENSO_MAX_CPUS,
				 &n)) < 0)
			return rc;
		if (!rc)
			c->maxvcpus = (uint32_t)n;
		v = get(b, "avail_vcpus");
		if (v) {
			if (!YAJL_IS_ARRAY(v) || v->u.array.len > ENSO_MAX_CPUS)
				return jerr(r, "b_info.avail_vcpus",
					    "expected an array of vCPU numbers");
			for (i = 0; i < v->u.array.len; i++)
				if (!YAJL_IS_INTEGER(v->u.array.values[i]))
					return jerr(r, "b_info.avail_vcpus",
						    "expected an array of vCPU "
						    "numbers");
			c->vcpus = (uint32_t)v->u.array.len;
		}
		if ((rc = rd_affinity(r, b, "cpus", "vcpu_hard_affinity",
				      &c->cpus)) ||
		    (rc = rd_affinity(r, b, "cpus_soft", "vcpu_soft_affinity",
				      &c->cpus_soft)))
			return rc;
		if ((rc = rd_int(r, b, "max_memkb", "b_info", 1024,
				 (1LL << 42), &n)) < 0)
			return rc;
		if (!rc)
			c->maxmem_kb = (uint64_t)n;
		if ((rc = rd_int(r, b, "target_memkb", "b_info", 1024,
				 (1LL << 42), &n)) < 0)
			return rc;
		if (!rc)
			c->memory_kb = (uint64_t)n;
		int dm = -1;
		if ((rc = rd_defbool(r, b, "disable_migrate", "b_info", &dm)))
			return rc;
		c->nomigrate = dm == 1;
		if ((rc = rd_int(r, b, "max_grant_frames", "b_info", 1,
				 INT32_MAX, &n)) < 0)
			return rc;
		if (!rc)
			c->max_grant_frames = (uint32_t)n;
		if ((rc = rd_int(r, b, "max_maptrack_frames", "b_info", 0,
				 INT32_MAX, &n)) < 0)
			return rc;
		if (!rc)
			c->max_maptrack_frames = (uint32_t)n;
		v = get(b, "sched_params");
		if (v && !YAJL_IS_OBJECT(v))
			return jerr(r, "b_info.sched_params", "not an object");
		if ((rc = rd_int(r, v, "weight", "b_info.sched_params", 1,
				 65535, &n)) < 0)
			return rc;
		if (!rc)
			c->cpu_weight = (int)n;
		if ((rc = rd_int(r, v, "cap", "b_info.sched_params", 0, 65535,
				 &n)) < 0)
			return rc;
		if (!rc)
			c->cap = (int)n;
		if ((rc = rd_int(r, b, "event_channels", "b_info", 1, 131071,
				 &n)) < 0)
			return rc;
		if (!rc)
			c->max_event_channels = (uint32_t)n;
		if ((rc = rd_str(r, b, "kernel", "b_info", &c->kernel)) ||
		    (rc = rd_str(r, b, "cmdline", "b_info", &c->cmdline)) ||
		    (rc = rd_str(r, b, "ramdisk", "b_info", &c->ramdisk)) ||
		    (rc = rd_str(r, b, "bootloader", "b_info",
				 &c->bootloader)) ||
		    (rc = rd_strv(r, b, "bootloader_args", "b_info",
				  &c->bootloader_args, &c->nbootloader_args)))
			return rc;
		v = get(b, "type.hvm");
		if (v && c->type == ENSO_DOMAIN_HVM &&
		    (rc = rd_strv(r, v, "serial_list", "b_info.type.hvm",
				  &c->serial, &c->nserial)))
			return rc;
	}

	v = get(root, "disks");
	if (v) {
		if (!YAJL_IS_ARRAY(v))
			return jerr(r, "disks", "expected an array");
		c->disks = calloc(v->u.array.len + 1, sizeof(*c->disks));
		if (!c->disks)
			return -ENOMEM;
		for (i = 0; i < v->u.array.len; i++) {
			enso_disk_dispose(&c->disks[i]);
			c->ndisks++;
			rc = rd_disk(r, v->u.array.values[i], i, &c->disks[i]);
			if (rc)
				return rc;
		}
	}
	v = get(root, "nics");
	if (v) {
		if (!YAJL_IS_ARRAY(v))
			return jerr(r, "nics", "expected an array");
		c->nics = calloc(v->u.array.len + 1, sizeof(*c->nics));
		if (!c->nics)
			return -ENOMEM;
		for (i = 0; i < v->u.array.len; i++) {
			enso_nic_dispose(&c->nics[i]);
			c->nnics++;
			rc = rd_nic(r, v->u.array.values[i], i, &c->nics[i]);
			if (rc)
				return rc;
		}
	}
	v = get(root, "channels");
	if (v) {
		if (!YAJL_IS_ARRAY(v))
			return jerr(r, "channels", "expected an array");
		c->channels = calloc(v->u.array.len + 1, sizeof(*c->channels));
		if (!c->channels)
			return -ENOMEM;
		for (i = 0; i < v->u.array.len; i++) {
			rc = rd_channel(r, v->u.array.values[i], i,
					&c->channels[i]);
			if (rc)
				return rc;
			c->nchannels++;
		}
	}
	if ((rc = rd_action(r, root, "on_poweroff", &c->on_poweroff)) ||
	    (rc = rd_action(r, root, "on_reboot", &c->on_reboot)) ||
	    (rc = rd_action(r, root, "on_watchdog", &c->on_watchdog)) ||
	    (rc = rd_action(r, root, "on_crash", &c->on_crash)) ||
	    (rc = rd_action(r, root, "on_soft_reset", &c->on_soft_reset)) ||
	    (rc = rd_str(r, root, "enso_device_layout", "config",
			 &c->device_layout)))
		return rc;
	return 0;
}

int enso_config_from_json(const char *json, struct enso_domain_config *out,
			  struct enso_error *err)
{
	struct rd r = { err };
	char ebuf[256], *nl;
	const char *key;
	yajl_val root;
	int rc;

	enso_config_init(out);
	if (!json)
		return exl_fail(err, -EINVAL, "JSON: no text");
	/* Refuse nesting deeper than we ever write (util/json.c). */
	if (json_too_deep(json, JSON_MAX_DEPTH))
		return exl_fail(err, -EINVAL, "JSON: nested more than %d levels deep",
				JSON_MAX_DEPTH);
	ebuf[0] = '\0';
	root = yajl_tree_parse(json, ebuf, sizeof(ebuf));
	if (!root) {
		/* yajl's message spans lines; keep its first */
		nl = strchr(ebuf, '\n');
		if (nl)
			*nl = '\0';
		return exl_fail(err, -EINVAL, "JSON: malformed: %s",
				ebuf[0] ? ebuf : "parse error");
	}
	rc = rd_config(&r, root, out);
	yajl_tree_free(root);
	if (!rc) {
		rc = exl_config_finish(out, &key, err);
		if (rc == -EINVAL)
			exl_err_prefix(err, "JSON: ");
	}
	if (rc)
		enso_config_dispose(out);
	return rc;
}
