/*
 * xenbus/dev.c: one device as its engine sees it: names, paths, the
 * store's nodes read strictly, and the one way to say why it fails.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

#include "xenbus/private.h"

uint32_t xenbus_dev_domid(const struct xenbus_dev *dev)
{
	return dev->domid;
}

const char *xenbus_dev_id(const struct xenbus_dev *dev)
{
	return dev->id;
}

const char *xenbus_dev_path(const struct xenbus_dev *dev,
			    enum xenbus_side side)
{
	return side == XENBUS_FRONTEND ? dev->fe_path : dev->be_path;
}

enum xenbus_state xenbus_dev_state(const struct xenbus_dev *dev)
{
	return (enum xenbus_state)dev->state;
}

struct xenbus_transport *xenbus_dev_transport(const struct xenbus_dev *dev)
{
	return dev->xb->transport;
}

struct evloop *xenbus_dev_loop(const struct xenbus_dev *dev)
{
	return dev->xb->loop;
}

void *xenbus_engine_data(const struct xenbus_dev *dev)
{
	return dev->xb->engine_data;
}

void *xenbus_dev_priv(const struct xenbus_dev *dev)
{
	return dev->priv;
}

void xenbus_dev_set_priv(struct xenbus_dev *dev, void *priv)
{
	dev->priv = priv;
}

int xenbus_dev_read(const struct xenbus_dev *dev, enum xenbus_side side,
		    const char *key, char **value)
{
	const char *dir = xenbus_dev_path(dev, side);
	char path[512];
	unsigned int len;

	*value = NULL;
	if (!dir)
		return -ENOENT;
	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, key) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	*value = xs_read(dev->xb->xs, XBT_NULL, path, &len);
	if (!*value)
		return errno ? -errno : -EIO;
	/* A node may hold a NUL: the text ends at the first one, and a
	 * reader that wants the bytes uses xs_read itself. */
	return 0;
}

int xenbus_dev_read_uint(const struct xenbus_dev *dev, enum xenbus_side side,
			 const char *key, unsigned long long max,
			 unsigned long long *out)
{
	char *v;
	int rc = xenbus_dev_read(dev, side, key, &v);

	if (rc < 0)
		return rc;
	rc = parse_uint(v, max, out);
	free(v);
	return rc;
}

int xenbus_dev_write(const struct xenbus_dev *dev, const char *key,
		     const char *value)
{
	char path[512];

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dev->be_path, key) >=
	    sizeof(path))
		return -ENAMETOOLONG;
	if (!xs_write(dev->xb->xs, XBT_NULL, path, value, strlen(value)))
		return errno ? -errno : -EIO;
	return 0;
}

static int dev_verror(struct xenbus_dev *dev, int rc, const char *fmt,
		      va_list ap)
{
	char what[256];

	vsnprintf(what, sizeof(what), fmt, ap);
	elog(ELOG_ERR, "%s %s: %s", dev->xb->engine->type, dev->key, what);
	/* The toolstack reads why; if the store fails too, the log has it. */
	(void)xenbus_dev_write(dev, "error", what);
	dev->error_said = true;
	return rc;
}

int xenbus_dev_error(struct xenbus_dev *dev, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_verror(dev, rc, fmt, ap);
	va_end(ap);
	return rc;
}

int xenbus_dev_set_state(struct xenbus_dev *dev, int state)
{
	char v[4];
	int rc;

	if (dev->state == state)
		return 0;
	snprintf(v, sizeof(v), "%d", state);
	rc = xenbus_dev_write(dev, "state", v);
	if (rc < 0) {
		elog(ELOG_ERR, "%s %s: writing state %s: %s",
		     dev->xb->engine->type, dev->key, xenbus_state_name(state),
		     strerror(-rc));
		return rc;
	}
	elog(ELOG_DEBUG, "%s %s: %s -> %s", dev->xb->engine->type, dev->key,
	     xenbus_state_name(dev->state), xenbus_state_name(state));
	dev->state = state;
	return 0;
}

/* The frontend directory of a device of domain D is
 * /local/domain/D/device/<class>/<devid>: a backend must never follow a
 * path into another domain's (or the toolstack's) nodes. */
int xenbus_dev_check_frontend(struct xenbus_dev *dev, const char *fe)
{
	unsigned long long id;
	char want[64];
	const char *p;
	size_t n;
	int rc;

	n = (size_t)snprintf(want, sizeof(want), "/local/domain/%u/device/",
			     dev->domid);
	p = fe + n;
	if (strncmp(fe, want, n) != 0 || !strchr(p, '/') ||
	    strchr(p, '/') == p || strcmp(strchr(p, '/') + 1, dev->id) != 0)
		return xenbus_dev_error(dev, -EINVAL,
					"frontend %s is not %s<class>/%s",
					fe, want, dev->id);
	rc = xenbus_dev_read_uint(dev, XENBUS_BACKEND, "frontend-id", UINT32_MAX,
				  &id);
	if (rc < 0 || id != dev->domid)
		return xenbus_dev_error(dev, -EINVAL,
					"frontend-id is not %u (the domain of %s)",
					dev->domid, dev->be_path);
	return 0;
}

int xenbus_dev_write_nodes(const struct xenbus_dev *dev,
			   const struct xenbus_node *nodes, unsigned count)
{
	struct xs_handle *xs = dev->xb->xs;
	char path[512];
	unsigned tries, i;
	int rc;

	for (tries = 0; tries < 8; tries++) {
		xs_transaction_t t = xs_transaction_start(xs);

		if (t == XBT_NULL)
			return errno ? -errno : -EIO;
		for (i = 0; i < count; i++) {
			const char *v = nodes[i].value;

			if ((size_t)snprintf(path, sizeof(path), "%s/%s",
					     dev->be_path, nodes[i].key) >=
			    sizeof(path)) {
				rc = -ENAMETOOLONG;
				goto abort;
			}
			if (!xs_write(xs, t, path, v, strlen(v))) {
				rc = errno ? -errno : -EIO;
				goto abort;
			}
		}
		if (xs_transaction_end(xs, t, false))
			return 0;
		if (errno != EAGAIN)
			return errno ? -errno : -EIO;
		continue;
abort:
		xs_transaction_end(xs, t, true);
		return rc;
	}
	return -EAGAIN;
}

void xenbus_dev_fail(struct xenbus_dev *dev, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dev_verror(dev, rc, fmt, ap);
	va_end(ap);
	if (dev->connected) {
		dev->connected = false;
		dev->xb->engine->disconnect(dev);
	}
	xenbus_dev_set_state(dev, XENBUS_CLOSING);
	xenbus_dev_set_state(dev, XENBUS_CLOSED);
}

int xenbus_dev_read_fe(struct xenbus_dev *dev, const char *key, unsigned max,
		       unsigned def, unsigned *out)
{
	unsigned long long v;
	int rc = xenbus_dev_read_uint(dev, XENBUS_FRONTEND, key, max, &v);

	if (rc == -ENOENT && def != ~0u) {
		*out = def;
		return 0;
	}
	if (rc < 0)
		return xenbus_dev_error(dev, rc, "%s: %s", key,
					rc == -ENOENT   ? "missing"
					: rc == -ERANGE ? "too large"
							: "not a number");
	*out = (unsigned)v;
	return 0;
}
