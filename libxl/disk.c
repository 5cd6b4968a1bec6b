/*
 * libxl/disk.c: one disk spec (xl-disk-configuration(5)) and vdev numbers
 * (xen-vbd-interface(7)).
 *
 * A spec is comma-separated; each item is a flag (cdrom, discard...), a
 * key=value, or a positional value filling the next of target, format,
 * vdev, access not yet given.  "target=" takes the rest of the spec, commas
 * and all.  A positional target may carry the deprecated prefixes
 * (phy: file: tap: aio: tap2: tapdisk: ioemu:, raw: qcow2:..., iscsi:...).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

static const char *const format_names[] = {
	[ENSO_DISK_FORMAT_RAW] = "raw",	    [ENSO_DISK_FORMAT_QCOW] = "qcow",
	[ENSO_DISK_FORMAT_QCOW2] = "qcow2", [ENSO_DISK_FORMAT_VHD] = "vhd",
	[ENSO_DISK_FORMAT_QED] = "qed",	    [ENSO_DISK_FORMAT_EMPTY] = "empty",
};

const char *enso_disk_format_name(enum enso_disk_format f)
{
	return (unsigned)f <= ENSO_DISK_FORMAT_EMPTY ? format_names[f] : "?";
}

/* The formats a user may write ("empty" is implied, never written). */
int exl_disk_format_parse(const char *s, enum enso_disk_format *out)
{
	for (unsigned i = 0; i < ENSO_DISK_FORMAT_EMPTY; i++)
		if (!strcmp(s, format_names[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

static const char *const backendtype_names[] = {
	[ENSO_DISK_BACKEND_UNKNOWN] = "unknown",
	[ENSO_DISK_BACKEND_PHY] = "phy",
	[ENSO_DISK_BACKEND_QDISK] = "qdisk",
	[ENSO_DISK_BACKEND_STANDALONE] = "standalone",
};

const char *exl_disk_backendtype_name(enum enso_disk_backendtype b)
{
	return (unsigned)b <= ENSO_DISK_BACKEND_STANDALONE
		       ? backendtype_names[b] : "?";
}

int exl_disk_backendtype_parse(const char *s, enum enso_disk_backendtype *out)
{
	for (unsigned i = 1; i <= ENSO_DISK_BACKEND_STANDALONE; i++)
		if (!strcmp(s, backendtype_names[i])) {
			*out = i;
			return 0;
		}
	return -EINVAL;
}

/* ---- vdev numbers ------------------------------------------------------ */

int enso_vdev_to_number(const char *vdev, uint32_t *out)
{
	unsigned long disk = 0, part = 0;
	const char *p;
	char *end;
	int kind;	/* 0 xvd, 1 hd, 2 sd */

	if (!vdev || !*vdev)
		return -EINVAL;
	if (isdigit((unsigned char)vdev[0])) {
		/* a raw xenstore number: decimal, 0x hex or 0 octal */
		unsigned long long n;

		errno = 0;
		n = strtoull(vdev, &end, 0);
		if (*end || errno || !n || n >= (2ULL << 28))
			return -EINVAL;
		*out = (uint32_t)n;
		return 0;
	}
	if (vdev[0] == 'd' && isdigit((unsigned char)vdev[1])) {
		p = vdev + 1;
		if (exl_digits(&p, (1UL << 20) - 1, &disk))
			return -EINVAL;
		if (*p == 'p') {
			p++;
			if (exl_digits(&p, 255, &part))
				return -EINVAL;
		}
		if (*p)
			return -EINVAL;
		kind = 0;
		goto encode;
	}
	if (!strncmp(vdev, "xvd", 3))
		kind = 0, p = vdev + 3;
	else if (!strncmp(vdev, "hd", 2))
		kind = 1, p = vdev + 2;
	else if (!strncmp(vdev, "sd", 2))
		kind = 2, p = vdev + 2;
	else
		return -EINVAL;
	if (!islower((unsigned char)*p))
		return -EINVAL;
	/* bijective base 26: a=0 ... z=25, aa=26 ... */
	while (islower((unsigned char)*p)) {
		disk = disk * 26 + (unsigned long)(*p - 'a' + 1);
		if (disk > (1UL << 20))
			return -EINVAL;
		p++;
	}
	disk--;
	if (*p && exl_digits(&p, 255, &part))
		return -EINVAL;
	if (*p)
		return -EINVAL;
encode:
	switch (kind) {
	case 0:
		if (disk < 16 && part < 16)
			*out = (202u << 8) | (disk << 4) | part;
		else if (disk < (1UL << 20))
			*out = (1u << 28) | (disk << 8) | part;
		else
			return -EINVAL;
		return 0;
	case 1:
		if (disk > 3 || part > 63)
			return -EINVAL;
		if (disk < 2)
			*out = (3u << 8) | (disk << 6) | part;
		else
			*out = (22u << 8) | ((disk - 2) << 6) | part;
		return 0;
	default:
		if (disk > 15 || part > 15)
			return -EINVAL;
		*out = (8u << 8) | (disk << 4) | part;
		return 0;
	}
}

/* ---- the spec ----------------------------------------------------------- */

void enso_disk_dispose(struct enso_disk *d)
{
	if (!d)
		return;
	free(d->target);
	free(d->vdev);
	free(d->backend);
	free(d->script);
	memset(d, 0, sizeof(*d));
	d->discard = -1;
	d->trusted = -1;
}

enum { P_TARGET, P_FORMAT, P_VDEV, P_ACCESS, P_COUNT };
static const char *const pos_names[P_COUNT] = { "target", "format", "vdev",
						"access" };

struct dparse {
	struct enso_disk *d;
	struct enso_error *err;
	char *pos[P_COUNT];	/* given values ("" = given empty) */
	bool seen_devtype, seen_backend, seen_backendtype, seen_script,
		seen_spec, seen_discard, seen_trusted;
};

static int set_once(struct dparse *dp, bool *seen, const char *what)
{
	if (*seen)
		return exl_fail(dp->err, -EINVAL, "%s given twice", what);
	*seen = true;
	return 0;
}

static int set_pos(struct dparse *dp, int which, const char *v, size_t len)
{
	if (dp->pos[which])
		return exl_fail(dp->err, -EINVAL, "%s given twice", pos_names[which]);
	dp->pos[which] = strndup(v, len);
	return dp->pos[which] ? 0 : -ENOMEM;
}

static int set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = *v ? strdup(v) : NULL;
	return *v && !*dst ? -ENOMEM : 0;
}

/* Strips the deprecated prefixes off a positional target. */
static int strip_prefixes(struct dparse *dp, const char *v, size_t len)
{
	static const char *const ignored[] = { "phy", "file", "tap", "tap2",
					       "aio", "tapdisk", "ioemu" };
	static const char *const scripts[] = { "iscsi", "nbd", "enbd", "drbd" };
	enum enso_disk_format f;
	char word[16];
	bool again = true, prefixed = false;
	int rc;

	while (again) {
		const char *colon = memchr(v, ':', len);
		size_t wl = colon ? (size_t)(colon - v) : 0;

		again = false;
		if (!colon || wl == 0 || wl >= sizeof(word))
			break;
		memcpy(word, v, wl);
		word[wl] = '\0';
		for (unsigned i = 0; i < sizeof(ignored) / sizeof(*ignored); i++)
			if (!strcmp(word, ignored[i]))
				again = true;
		if (!again && !exl_disk_format_parse(word, &f)) {
			rc = set_pos(dp, P_FORMAT, word, wl);
			if (rc)
				return rc;
			again = true;
		}
		if (!again) {
			for (unsigned i = 0; i < 4; i++)
				if (!strcmp(word, scripts[i])) {
					if (dp->seen_script)
						return exl_fail(dp->err, -EINVAL, "script "
								"given twice");
					dp->seen_script = true;
					free(dp->d->script);
					dp->d->script = exl_str_printf("block-%s",
								   word);
					if (!dp->d->script)
						return -ENOMEM;
					v += wl + 1;
					len -= wl + 1;
					/* the rest is the script's own */
					if (!dp->pos[P_FORMAT] &&
					    !(dp->pos[P_FORMAT] = strdup("")))
						return -ENOMEM;
					return set_pos(dp, P_TARGET, v, len);
				}
		}
		if (again) {
			v += wl + 1;
			len -= wl + 1;
			prefixed = true;
		}
	}
	/* The deprecated syntax has no format slot: "phy:/dev/x,xvda,w". */
	if (prefixed && !dp->pos[P_FORMAT] && !(dp->pos[P_FORMAT] = strdup("")))
		return -ENOMEM;
	return set_pos(dp, P_TARGET, v, len);
}

static int flag(struct dparse *dp, const char *w)
{
	struct enso_disk *d = dp->d;

	if (!strcmp(w, "cdrom")) {
		d->is_cdrom = true;
		return set_once(dp, &dp->seen_devtype, "devtype");
	}
	if (!strcmp(w, "direct-io-safe")) {
		d->direct_io_safe = true;
		return 0;
	}
	if (!strcmp(w, "discard") || !strcmp(w, "no-discard")) {
		d->discard = w[0] == 'd';
		return set_once(dp, &dp->seen_discard, "discard/no-discard");
	}
	if (!strcmp(w, "trusted") || !strcmp(w, "untrusted")) {
		d->trusted = w[0] == 't';
		return set_once(dp, &dp->seen_trusted, "trusted/untrusted");
	}
	if (!strcmp(w, "colo"))
		return exl_fail(dp->err, -EINVAL, "COLO disks are not supported");
	return 1;	/* not a flag */
}

static int keyval(struct dparse *dp, const char *k, const char *v)
{
	struct enso_disk *d = dp->d;
	int rc;

	if (!strcmp(k, "format"))
		return set_pos(dp, P_FORMAT, v, strlen(v));
	if (!strcmp(k, "vdev"))
		return set_pos(dp, P_VDEV, v, strlen(v));
	if (!strcmp(k, "access"))
		return set_pos(dp, P_ACCESS, v, strlen(v));
	if (!strcmp(k, "devtype")) {
		rc = set_once(dp, &dp->seen_devtype, "devtype");
		if (rc)
			return rc;
		if (!strcmp(v, "cdrom"))
			d->is_cdrom = true;
		else if (strcmp(v, "disk") && *v)
			return exl_fail(dp->err, -EINVAL, "unknown devtype '%.64s' "
					"(cdrom)", v);
		return 0;
	}
	if (!strcmp(k, "backend")) {
		rc = set_once(dp, &dp->seen_backend, "backend");
		return rc ? rc : set_str(&d->backend, v);
	}
	if (!strcmp(k, "backendtype")) {
		rc = set_once(dp, &dp->seen_backendtype, "backendtype");
		if (rc)
			return rc;
		if (*v && exl_disk_backendtype_parse(v, &d->backendtype))
			return exl_fail(dp->err, -EINVAL, "unknown backendtype '%.64s' "
					"(phy, qdisk or standalone)", v);
		return 0;
	}
	if (!strcmp(k, "script")) {
		rc = set_once(dp, &dp->seen_script, "script");
		return rc ? rc : set_str(&d->script, v);
	}
	if (!strcmp(k, "specification")) {
		rc = set_once(dp, &dp->seen_spec, "specification");
		if (rc)
			return rc;
		if (!strcmp(v, "xen"))
			d->specification = ENSO_DISK_SPEC_XEN;
		else if (!strcmp(v, "virtio"))
			d->specification = ENSO_DISK_SPEC_VIRTIO;
		else if (*v)
			return exl_fail(dp->err, -EINVAL, "unknown specification '%.64s' "
					"(xen or virtio)", v);
		return 0;
	}
	if (!strcmp(k, "colo-host") || !strcmp(k, "colo-port") ||
	    !strcmp(k, "colo-export") || !strcmp(k, "active-disk") ||
	    !strcmp(k, "hidden-disk"))
		return exl_fail(dp->err, -EINVAL, "COLO disks are not supported");
	return exl_fail(dp->err, -EINVAL, "unknown parameter '%.64s'", k);
}

/* After all items: apply the positional values and the defaults. */
static int finish(struct dparse *dp)
{
	struct enso_disk *d = dp->d;
	char *vdev = dp->pos[P_VDEV], *colon;
	const char *a = dp->pos[P_ACCESS], *f = dp->pos[P_FORMAT];

	if (f && *f && exl_disk_format_parse(f, &d->format))
		return exl_fail(dp->err, -EINVAL, "unknown format '%.64s' (raw, qcow, "
				"qcow2, vhd or qed)", f);
	if (!vdev || !*vdev)
		return exl_fail(dp->err, -EINVAL, "vdev missing (the guest's name for the "
				"disk, e.g. xvda)");
	/* deprecated "hdc:cdrom" */
	colon = strchr(vdev, ':');
	if (colon) {
		if (!strcmp(colon + 1, "cdrom")) {
			if (dp->seen_devtype && !d->is_cdrom)
				return exl_fail(dp->err, -EINVAL, "devtype given twice");
			d->is_cdrom = true;
		} else if (strcmp(colon + 1, "disk")) {
			return exl_fail(dp->err, -EINVAL, "unknown device type "
					"'%.64s' after the vdev (cdrom)",
					colon + 1);
		}
		*colon = '\0';
	}
	if (enso_vdev_to_number(vdev, &d->vdev_number))
		return exl_fail(dp->err, -EINVAL, "vdev '%.64s' is not a virtual device "
				"name (xvda, hda, sda, d0p1 or a number)", vdev);
	d->vdev = vdev;
	dp->pos[P_VDEV] = NULL;
	if (!a || !*a)
		d->readwrite = !d->is_cdrom;
	else if (!strcmp(a, "r") || !strcmp(a, "ro"))
		d->readwrite = false;
	else if (!strcmp(a, "w") || !strcmp(a, "rw"))
		d->readwrite = true;
	else
		return exl_fail(dp->err, -EINVAL, "unknown access '%.64s' (r, ro, w or "
				"rw)", a);
	if (d->is_cdrom && d->readwrite)
		return exl_fail(dp->err, -EINVAL, "a cdrom is read-only (access=ro)");
	if (dp->pos[P_TARGET] && *dp->pos[P_TARGET]) {
		d->target = dp->pos[P_TARGET];
		dp->pos[P_TARGET] = NULL;
	} else if (d->is_cdrom) {
		d->format = ENSO_DISK_FORMAT_EMPTY;
	} else {
		return exl_fail(dp->err, -EINVAL, "target missing (the disk's path on "
				"the host)");
	}
	return 0;
}

/* Not a format but a vdev, with or without a ":cdrom" suffix. */
static bool looks_like_vdev(const char *v)
{
	enum enso_disk_format f;
	char buf[64];
	uint32_t n;
	size_t l = strcspn(v, ":");

	if (!exl_disk_format_parse(v, &f) || l >= sizeof(buf))
		return false;
	memcpy(buf, v, l);
	buf[l] = '\0';
	return !enso_vdev_to_number(buf, &n);
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int enso_disk_parse(const char *spec, struct enso_disk *out,
		    struct enso_error *err)
{
	struct dparse dp = { .d = out, .err = err };
	const char *p = spec, *e, *eq;
	int rc = 0, next = 0, i;

	memset(out, 0, sizeof(*out));
	enso_disk_dispose(out);
	if (!spec)
		return exl_fail(err, -EINVAL, "no disk spec");
	while (!rc) {
		while (is_blank(*p))
			p++;
		if (!strncmp(p, "target=", 7)) {
			/* swallows the rest, even after an empty positional */
			free(dp.pos[P_TARGET]);
			dp.pos[P_TARGET] = NULL;
			rc = set_pos(&dp, P_TARGET, p + 7, strlen(p + 7));
			break;
		}
		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		size_t len = (size_t)(e - p);
		while (len && is_blank(p[len - 1]))
			len--;
		char *item = strndup(p, len);
		if (!item) {
			rc = -ENOMEM;
			break;
		}
		eq = strchr(item, '=');
		if (eq) {
			item[eq - item] = '\0';
			rc = keyval(&dp, item, item + (eq - item) + 1);
		} else if (len && (rc = flag(&dp, item)) <= 0) {
			/* a flag, or a flag's error */
		} else {
			rc = 0;
			while (next < P_COUNT && dp.pos[next])
				next++;
			if (next == P_COUNT && !*e && !len) {
				/* a trailing comma */
			} else if (next == P_COUNT) {
				rc = exl_fail(err, -EINVAL, "too many positional values "
					      "at '%.64s'", item);
			} else if (next == P_TARGET) {
				rc = strip_prefixes(&dp, item, len);
			} else if (next == P_FORMAT && looks_like_vdev(item)) {
				/* xend's ",hdc:cdrom,r": no format slot */
				rc = set_pos(&dp, P_FORMAT, "", 0);
				if (!rc)
					rc = set_pos(&dp, P_VDEV, item, len);
			} else {
				rc = set_pos(&dp, next, item, len);
			}
		}
		free(item);
		if (!*e)
			break;
		p = e + 1;
	}
	if (!rc)
		rc = finish(&dp);
	for (i = 0; i < P_COUNT; i++)
		free(dp.pos[i]);
	if (rc)
		enso_disk_dispose(out);
	return rc;
}
