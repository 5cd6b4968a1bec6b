/*
 * Links through rtnetlink (libnl-route): bridges made and deleted, and
 * one attribute at a time changed on a link (MTU, MAC, master, up).  Each
 * call opens a socket of its own: these run a few times per device, and a
 * socket kept between calls would be state for the caller to close.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <netlink/netlink.h>
#include <netlink/route/link.h>
#include <netlink/route/link/bridge.h>

#include "hotplug/hotplug.h"
#include "hotplug/private.h"

int hp_fail(char *msg, size_t msglen, int rc, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	if (!msg || !msglen)
		return rc;
	va_start(ap, fmt);
	vsnprintf(msg, msglen, fmt, ap);
	va_end(ap);
	n = strlen(msg);
	if (rc && n < msglen)
		snprintf(msg + n, msglen - n, ": %s", strerror(-rc));
	return rc;
}

int hp_check_name(const char *name, char *msg, size_t msglen)
{
	if (!name || !*name || strchr(name, '/') || strchr(name, ' '))
		return hp_fail(msg, msglen, -EINVAL, "link name '%s'",
			       name ? name : "");
	if (strlen(name) >= IFNAMSIZ)
		return hp_fail(msg, msglen, -ENAMETOOLONG,
			       "link name %s (at most %d characters)", name,
			       IFNAMSIZ - 1);
	return 0;
}

/* libnl folds the kernel's errno into its own codes; back again, for the
 * few a caller acts on (-ENODEV: gone, -EEXIST: there, -EOPNOTSUPP). */
int hp_nl_errno(int nle)
{
	static const struct { int nle, err; } map[] = {
		{ NLE_NOMEM, ENOMEM },	{ NLE_EXIST, EEXIST },
		{ NLE_INVAL, EINVAL },	{ NLE_RANGE, ERANGE },
		{ NLE_OPNOTSUPP, EOPNOTSUPP }, { NLE_NODEV, ENODEV },
		{ NLE_OBJ_NOTFOUND, ENOENT }, { NLE_PERM, EPERM },
		{ NLE_NOACCESS, EACCES }, { NLE_BUSY, EBUSY },
		{ NLE_AGAIN, EAGAIN },	{ NLE_INTR, EINTR },
		{ NLE_MSGSIZE, EMSGSIZE }, { NLE_NOADDR, EADDRNOTAVAIL },
		{ NLE_AF_NOSUPPORT, EAFNOSUPPORT },
	};

	if (nle >= 0)
		return 0;
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].nle == -nle)
			return -map[i].err;
	return -EIO;
}

struct nl_sock *hp_nl_open(int *rc)
{
	struct nl_sock *sk = nl_socket_alloc();
	int r;

	if (!sk) {
		*rc = -ENOMEM;
		return NULL;
	}
	r = nl_connect(sk, NETLINK_ROUTE);
	if (r < 0) {
		nl_socket_free(sk);
		*rc = hp_nl_errno(r);
		return NULL;
	}
	*rc = 0;
	return sk;
}

struct nl_sock *hp_nl_open_for(const char *name, int *rc, char *msg,
			       size_t msglen)
{
	struct nl_sock *sk;

	*rc = hp_check_name(name, msg, msglen);
	if (*rc)
		return NULL;
	sk = hp_nl_open(rc);
	if (!sk)
		hp_fail(msg, msglen, *rc, "%s: netlink", name);
	return sk;
}

void hp_nl_close(struct nl_sock *sk)
{
	if (sk)
		nl_socket_free(sk);	/* closes it too */
}

int hp_link_get(struct nl_sock *sk, const char *name, struct rtnl_link **out)
{
	int r = rtnl_link_get_kernel(sk, 0, name, out);

	/* The kernel says ENODEV for an unknown name. */
	return r < 0 ? hp_nl_errno(r) : 0;
}

/* A new bridge named name (create), or the link of that name deleted. */
static int add_or_delete(const char *name, bool create, char *msg,
			 size_t msglen)
{
	struct rtnl_link *l = NULL;
	int rc;
	struct nl_sock *sk = hp_nl_open_for(name, &rc, msg, msglen);

	if (!sk)
		return rc;
	l = create ? rtnl_link_bridge_alloc() : rtnl_link_alloc();
	if (!l) {
		rc = -ENOMEM;
		goto out;
	}
	rtnl_link_set_name(l, name);
	rc = hp_nl_errno(create ? rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL) :
				  rtnl_link_delete(sk, l));
out:
	if (rc)
		hp_fail(msg, msglen, rc, "%s %s",
			create ? "creating bridge" : "deleting link", name);
	if (l)
		rtnl_link_put(l);
	hp_nl_close(sk);
	return rc;
}

int hp_bridge_create(const char *name, char *msg, size_t msglen)
{
	return add_or_delete(name, true, msg, msglen);
}

int hp_link_delete(const char *name, char *msg, size_t msglen)
{
	return add_or_delete(name, false, msg, msglen);
}

int hp_link_delete_prefix(const char *prefix, const char *kind, char *msg,
			  size_t msglen)
{
	struct nl_cache *cache = NULL;
	struct nl_object *o;
	size_t plen = prefix ? strlen(prefix) : 0;
	int rc, n = 0, first = 0;
	struct nl_sock *sk;

	/* An empty prefix would be every link of the namespace. */
	if (!plen || plen >= IFNAMSIZ)
		return hp_fail(msg, msglen, -EINVAL, "link prefix '%s'",
			       prefix ? prefix : "");
	sk = hp_nl_open(&rc);
	if (!sk)
		return hp_fail(msg, msglen, rc, "%s*: netlink", prefix);
	rc = hp_nl_errno(rtnl_link_alloc_cache(sk, AF_UNSPEC, &cache));
	if (rc) {
		hp_fail(msg, msglen, rc, "listing links for %s*", prefix);
		goto out;
	}
	for (o = nl_cache_get_first(cache); o; o = nl_cache_get_next(o)) {
		const char *name = rtnl_link_get_name((struct rtnl_link *)o);
		const char *type = rtnl_link_get_type((struct rtnl_link *)o);
		int r;

		if (!name || strncmp(name, prefix, plen) ||
		    (kind && (!type || strcmp(type, kind))))
			continue;
		r = hp_nl_errno(rtnl_link_delete(sk, (struct rtnl_link *)o));
		/* Gone meanwhile (with its master, say): as good. */
		if (!r || r == -ENODEV)
			n++;
		else if (!first)
			first = hp_fail(msg, msglen, r, "deleting link %s",
					name);
	}
	rc = first ? first : n;
out:
	if (cache)
		nl_cache_free(cache);
	hp_nl_close(sk);
	return rc;
}

/* What one change sets on a link. */
enum change { CH_MTU, CH_MAC, CH_MASTER, CH_UP, CH_GET_MTU };
struct link_change {
	enum change what;
	unsigned mtu;
	const uint8_t *mac;
	const char *master;	/* NULL: release */
	bool up;
	unsigned *mtu_out;	/* CH_GET_MTU: a read, no change */
};

/* Fills ch with c; a master that is missing or no bridge is said in msg
 * (1 returned in *said). */
static int build_change(struct nl_sock *sk, const struct link_change *c,
			struct rtnl_link *ch, char *msg, size_t msglen,
			bool *said)
{
	struct rtnl_link *m = NULL;
	struct nl_addr *a;
	int rc = 0;

	switch (c->what) {
	case CH_MTU:
		rtnl_link_set_mtu(ch, c->mtu);
		break;
	case CH_MAC:
		a = nl_addr_build(AF_LLC, c->mac, 6);
		if (!a)
			return -ENOMEM;
		rtnl_link_set_addr(ch, a);
		nl_addr_put(a);
		break;
	case CH_MASTER:
		if (!c->master) {
			rtnl_link_set_master(ch, 0);
			break;
		}
		rc = hp_link_get(sk, c->master, &m);
		if (!rc && !rtnl_link_is_bridge(m))
			rc = -EINVAL;
		if (!rc) {
			rtnl_link_set_master(ch, rtnl_link_get_ifindex(m));
		} else {
			*said = true;
			hp_fail(msg, msglen, rc, "bridge %s%s", c->master,
				rc == -EINVAL ? " is no bridge" : "");
		}
		if (m)
			rtnl_link_put(m);
		break;
	case CH_UP:
		if (c->up)
			rtnl_link_set_flags(ch, IFF_UP);
		else
			rtnl_link_unset_flags(ch, IFF_UP);
		break;
	case CH_GET_MTU:
		break;
	}
	return rc;
}

static int link_change(const char *name, const struct link_change *c,
		       char *msg, size_t msglen)
{
	static const char *const what[] = {
		[CH_MTU] = "setting the MTU of", [CH_MAC] = "setting the MAC of",
		[CH_MASTER] = "setting the master of", [CH_UP] = "bringing up/down",
		[CH_GET_MTU] = "reading",
	};
	struct rtnl_link *l = NULL, *ch = NULL;
	bool said = false;
	int rc;
	struct nl_sock *sk = hp_nl_open_for(name, &rc, msg, msglen);

	if (!sk)
		return rc;
	rc = hp_link_get(sk, name, &l);
	if (rc)
		goto out;
	if (c->what == CH_GET_MTU) {
		*c->mtu_out = rtnl_link_get_mtu(l);
		goto out;
	}
	ch = rtnl_link_alloc();
	if (!ch) {
		rc = -ENOMEM;
		goto out;
	}
	rc = build_change(sk, c, ch, msg, msglen, &said);
	if (!rc)
		rc = hp_nl_errno(rtnl_link_change(sk, l, ch, 0));
out:
	if (rc && !said)
		hp_fail(msg, msglen, rc, "%s link %s", what[c->what], name);
	if (ch)
		rtnl_link_put(ch);
	if (l)
		rtnl_link_put(l);
	hp_nl_close(sk);
	return rc;
}

int hp_link_set_mtu(const char *name, unsigned mtu, char *msg, size_t msglen)
{
	struct link_change c = { .what = CH_MTU, .mtu = mtu };

	return link_change(name, &c, msg, msglen);
}

int hp_link_set_mac(const char *name, const uint8_t mac[6], char *msg,
		    size_t msglen)
{
	struct link_change c = { .what = CH_MAC, .mac = mac };

	return link_change(name, &c, msg, msglen);
}

int hp_link_set_master(const char *name, const char *master, char *msg,
		       size_t msglen)
{
	struct link_change c = { .what = CH_MASTER, .master = master };

	return link_change(name, &c, msg, msglen);
}

int hp_link_set_up(const char *name, bool up, char *msg, size_t msglen)
{
	struct link_change c = { .what = CH_UP, .up = up };

	return link_change(name, &c, msg, msglen);
}

int hp_link_get_mtu(const char *name, unsigned *mtu, char *msg, size_t msglen)
{
	struct link_change c = { .what = CH_GET_MTU, .mtu_out = mtu };

	return link_change(name, &c, msg, msglen);
}
