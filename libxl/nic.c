/*
 * libxl/nic.c: one vif spec (xl-network-configuration(5)) and one channel
 * spec (xen-pv-channel(7)).  Both are comma-separated key=value items;
 * blanks around items are ignored, empty items skipped ('' = defaults).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "private.h"

int exl_mac_parse(const char *s, uint8_t out[6])
{
	for (int i = 0; i < 6; i++) {
		if (!isxdigit((unsigned char)s[0]) ||
		    !isxdigit((unsigned char)s[1]))
			return -EINVAL;
		char hex[3] = { s[0], s[1], 0 };
		out[i] = (uint8_t)strtoul(hex, NULL, 16);
		s += 2;
		if (i < 5 && *s++ != ':')
			return -EINVAL;
	}
	return *s ? -EINVAL : 0;
}

void exl_mac_format(const uint8_t m[6], char out[18])
{
	snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
		 m[3], m[4], m[5]);
}

/* Splits spec into items; calls fn(key, value) (value NULL for a flag). */
typedef int item_fn(void *ctx, const char *key, const char *value,
		    struct enso_error *err);

static int each_item(const char *spec, item_fn *fn, void *ctx,
		     struct enso_error *err)
{
	const char *p = spec, *e;
	int rc = 0;

	while (!rc) {
		while (*p == ' ' || *p == '\t')
			p++;
		e = strchr(p, ',');
		if (!e)
			e = p + strlen(p);
		size_t len = (size_t)(e - p);
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len) {
			char *item = strndup(p, len), *eq;

			if (!item)
				return -ENOMEM;
			eq = strchr(item, '=');
			if (eq) {
				char *k = item, *v = eq + 1;

				*eq = '\0';
				while (eq > k && (eq[-1] == ' ' || eq[-1] == '\t'))
					*--eq = '\0';
				while (*v == ' ' || *v == '\t')
					v++;
				rc = fn(ctx, k, v, err);
			} else {
				rc = fn(ctx, item, NULL, err);
			}
			free(item);
		}
		if (!*e)
			break;
		p = e + 1;
	}
	return rc;
}

/* ---- vif ------------------------------------------------------------------- */

void enso_nic_dispose(struct enso_nic *n)
{
	if (!n)
		return;
	free(n->bridge);
	free(n->gatewaydev);
	free(n->model);
	free(n->vifname);
	free(n->script);
	free(n->ip);
	free(n->backend);
	memset(n, 0, sizeof(*n));
	n->devid = -1;
	n->trusted = -1;
}

/* "10Mb/s", "250KB/s", "1MB/s@20ms": bytes per interval + interval. */
static int parse_rate(const char *v, struct enso_nic *n,
		      struct enso_error *err)
{
	static const struct { const char *unit; unsigned long long bits; } u[] = {
		{ "GB", 8000000000ULL }, { "MB", 8000000ULL }, { "KB", 8000ULL },
		{ "B", 8 }, { "Gb", 1000000000ULL }, { "Mb", 1000000ULL },
		{ "Kb", 1000ULL }, { "b", 1 },
	};
	unsigned long long num, bits = 8, ival = 50000, mult = 0;
	const char *p = v, *slash;
	char *end;
	size_t ul;

	if (!isdigit((unsigned char)*p))
		goto bad;
	errno = 0;
	num = strtoull(p, &end, 10);
	if (errno || num > 1000000000000ULL)
		return exl_fail(err, -EINVAL, "rate '%.64s' is too high", v);
	p = end;
	slash = strstr(p, "/s");
	if (!slash)
		goto bad;
	ul = (size_t)(slash - p);
	if (ul) {
		size_t i;

		for (i = 0; i < sizeof(u) / sizeof(u[0]); i++)
			if (strlen(u[i].unit) == ul && !strncmp(p, u[i].unit, ul))
				break;
		if (i == sizeof(u) / sizeof(u[0]))
			goto bad;
		bits = u[i].bits;
	}
	p = slash + 2;
	if (*p == '@') {
		p++;
		if (!isdigit((unsigned char)*p))
			goto bad;
		errno = 0;
		ival = strtoull(p, &end, 10);
		if (errno || ival > 1000000000000ULL)
			goto bad;
		if (!strcmp(end, "s"))
			mult = 1000000;
		else if (!strcmp(end, "ms"))
			mult = 1000;
		else if (!strcmp(end, "us") || !*end)
			mult = 1;
		else
			goto bad;
		ival *= mult;
		p = end + strlen(end);
	}
	if (*p)
		goto bad;
	if (!num)
		return exl_fail(err, -EINVAL, "rate must be more than 0");
	if (!ival || ival > UINT32_MAX)
		return exl_fail(err, -EINVAL, "rate interval must be between 1us and "
				"%lus", (unsigned long)(UINT32_MAX / 1000000));
	/* bytes per interval = num * bits / 8 per second * ival / 1e6 */
	unsigned __int128 b = (unsigned __int128)num * bits * ival / 8 / 1000000;
	if (!b)
		return exl_fail(err, -EINVAL, "rate '%.64s' is less than one byte per "
				"interval", v);
	if (b > UINT64_MAX / 2)
		return exl_fail(err, -EINVAL, "rate '%.64s' is too high", v);
	n->rate_bytes_per_interval = (uint64_t)b;
	n->rate_interval_usecs = (uint32_t)ival;
	return 0;
bad:
	return exl_fail(err, -EINVAL, "rate '%.64s' is not RATE/s or RATE/s@INTERVAL "
			"(e.g. 10Mb/s, 1MB/s@20ms)", v);
}

struct nparse {
	struct enso_nic *n;
	unsigned seen;
};

static int nic_str(struct nparse *np, unsigned bit, const char *k,
		   const char *v, char **dst, struct enso_error *err)
{
	if (np->seen & bit)
		return exl_fail(err, -EINVAL, "%s given twice", k);
	np->seen |= bit;
	free(*dst);
	*dst = *v ? strdup(v) : NULL;
	return *v && !*dst ? -ENOMEM : 0;
}

static int nic_item(void *ctx, const char *k, const char *v,
		    struct enso_error *err)
{
	struct nparse *np = ctx;
	struct enso_nic *n = np->n;
	char *end;
	long l;

	if (!v) {
		if (!strcmp(k, "trusted") || !strcmp(k, "untrusted")) {
			if (np->seen & (1u << 20))
				return exl_fail(err, -EINVAL, "trusted/untrusted given "
						"twice");
			np->seen |= 1u << 20;
			n->trusted = k[0] == 't';
			return 0;
		}
		return exl_fail(err, -EINVAL, "'%.64s' is not KEY=VALUE", k);
	}
	if (!strcmp(k, "mac")) {
		if (np->seen & 1)
			return exl_fail(err, -EINVAL, "mac given twice");
		np->seen |= 1;
		if (exl_mac_parse(v, n->mac))
			return exl_fail(err, -EINVAL, "mac '%.64s' is not six hex pairs "
					"(00:16:3e:12:34:56)", v);
		n->mac_set = true;
		return 0;
	}
	if (!strcmp(k, "bridge"))
		return nic_str(np, 2, k, v, &n->bridge, err);
	if (!strcmp(k, "gatewaydev") || !strcmp(k, "netdev"))
		return nic_str(np, 4, "gatewaydev", v, &n->gatewaydev, err);
	if (!strcmp(k, "model"))
		return nic_str(np, 8, k, v, &n->model, err);
	if (!strcmp(k, "vifname"))
		return nic_str(np, 16, k, v, &n->vifname, err);
	if (!strcmp(k, "script"))
		return nic_str(np, 32, k, v, &n->script, err);
	if (!strcmp(k, "ip"))
		return nic_str(np, 64, k, v, &n->ip, err);
	if (!strcmp(k, "backend"))
		return nic_str(np, 128, k, v, &n->backend, err);
	if (!strcmp(k, "type")) {
		if (np->seen & 256)
			return exl_fail(err, -EINVAL, "type given twice");
		np->seen |= 256;
		if (!strcmp(v, "ioemu"))
			n->type = ENSO_NIC_TYPE_IOEMU;
		else if (!strcmp(v, "vif"))
			n->type = ENSO_NIC_TYPE_VIF;
		else
			return exl_fail(err, -EINVAL, "unknown type '%.64s' (ioemu or "
					"vif)", v);
		return 0;
	}
	if (!strcmp(k, "rate")) {
		if (np->seen & 512)
			return exl_fail(err, -EINVAL, "rate given twice");
		np->seen |= 512;
		return parse_rate(v, n, err);
	}
	if (!strcmp(k, "mtu") || !strcmp(k, "devid")) {
		bool mtu = k[0] == 'm';

		if (np->seen & (mtu ? 1024 : 2048))
			return exl_fail(err, -EINVAL, "%s given twice", k);
		np->seen |= mtu ? 1024 : 2048;
		errno = 0;
		l = isdigit((unsigned char)*v) ? strtol(v, &end, 0) : -1;
		if (l < 0 || *end || errno)
			return exl_fail(err, -EINVAL, "%s '%.64s' is not a number", k, v);
		if (mtu && (l < 68 || l > 65535))
			return exl_fail(err, -EINVAL, "mtu %ld is out of range (68 to "
					"65535)", l);
		if (!mtu && l > 65535)
			return exl_fail(err, -EINVAL, "devid %ld is out of range (0 to "
					"65535)", l);
		if (mtu)
			n->mtu = (uint32_t)l;
		else
			n->devid = (int)l;
		return 0;
	}
	return exl_fail(err, -EINVAL, "unknown parameter '%.64s'", k);
}

int enso_nic_parse(const char *spec, struct enso_nic *out,
		   struct enso_error *err)
{
	struct nparse np = { out, 0 };
	int rc;

	memset(out, 0, sizeof(*out));
	enso_nic_dispose(out);
	if (!spec)
		return exl_fail(err, -EINVAL, "no vif spec");
	rc = each_item(spec, nic_item, &np, err);
	if (rc)
		enso_nic_dispose(out);
	return rc;
}

/* ---- channel ---------------------------------------------------------------- */

void enso_channel_dispose(struct enso_channel *ch)
{
	if (!ch)
		return;
	free(ch->spec);
	free(ch->name);
	free(ch->backend);
	free(ch->path);
	memset(ch, 0, sizeof(*ch));
}

struct cparse {
	struct enso_channel *ch;
	bool connection;
};

static int chan_item(void *ctx, const char *k, const char *v,
		     struct enso_error *err)
{
	struct cparse *cp = ctx;
	struct enso_channel *ch = cp->ch;
	char **dst;

	if (!v)
		return exl_fail(err, -EINVAL, "'%.64s' is not KEY=VALUE", k);
	if (strchr(v, '"'))
		return exl_fail(err, -EINVAL, "%s: a value must not contain '\"'", k);
	if (!strcmp(k, "connection")) {
		if (cp->connection)
			return exl_fail(err, -EINVAL, "connection given twice");
		cp->connection = true;
		if (!strcasecmp(v, "pty"))
			ch->connection = ENSO_CHANNEL_PTY;
		else if (!strcasecmp(v, "socket"))
			ch->connection = ENSO_CHANNEL_SOCKET;
		else
			return exl_fail(err, -EINVAL, "unknown connection '%.64s' (pty or "
					"socket)", v);
		return 0;
	}
	if (!strcmp(k, "name"))
		dst = &ch->name;
	else if (!strcmp(k, "backend"))
		dst = &ch->backend;
	else if (!strcmp(k, "path"))
		dst = &ch->path;
	else
		return exl_fail(err, -EINVAL, "unknown parameter '%.64s'", k);
	if (*dst)
		return exl_fail(err, -EINVAL, "%s given twice", k);
	*dst = strdup(v);
	return *dst ? 0 : -ENOMEM;
}

int enso_channel_parse(const char *spec, struct enso_channel *out,
		       struct enso_error *err)
{
	struct cparse cp = { out, false };
	int rc;

	memset(out, 0, sizeof(*out));
	if (!spec)
		return exl_fail(err, -EINVAL, "no channel spec");
	rc = each_item(spec, chan_item, &cp, err);
	if (!rc && (!out->name || !*out->name))
		rc = exl_fail(err, -EINVAL, "name missing (e.g. name=org.qemu.guest_agent.0)");
	if (!rc && !cp.connection)
		rc = exl_fail(err, -EINVAL, "connection missing (pty or socket)");
	if (!rc && out->connection == ENSO_CHANNEL_SOCKET && !out->path)
		rc = exl_fail(err, -EINVAL, "connection=socket needs path=");
	if (!rc && out->connection != ENSO_CHANNEL_SOCKET && out->path)
		rc = exl_fail(err, -EINVAL, "path= is only for connection=socket");
	if (!rc && !(out->spec = strdup(spec)))
		rc = -ENOMEM;
	if (rc)
		enso_channel_dispose(out);
	return rc;
}
