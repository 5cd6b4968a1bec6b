/*
 * The rate limit of what a guest sends.  On a tap that traffic enters the
 * host: it is the tap's ingress.  An ingress qdisc takes no queue, so the
 * limit is a policer: a u32 filter matching everything, with a police
 * action (a token bucket) that drops what exceeds.  It lives and dies with
 * the tap, so a tap that vanishes with its QEMU leaves nothing behind.
 *
 * A kernel without the police action (act_police) gets the classic
 * fallback: the same match-all filter redirects what the tap receives to
 * an IFB device (mirred, egress redirect), whose root qdisc is a TBF that
 * queues and sends at the rate.  The IFB is a link of its own: it outlives
 * the tap, so its undo (hp_rate_clear, or hp_link_delete_prefix at a
 * domain's end) deletes it by name.
 *
 * libnl has no police action; the filter is built with its message API,
 * and the mirred action the same way, to share it.  The kernel's police
 * takes its rate as a tc_ratespec plus a rate table (the time to send each
 * size class), and its burst in scheduler ticks.  The TBF and the IFB are
 * libnl's own objects.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <linux/tc_act/tc_mirred.h>
#include <arpa/inet.h>
#include <limits.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/utils.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
#include <netlink/route/qdisc/tbf.h>
#include <netlink/route/tc.h>

#include "hotplug/hotplug.h"
#include "hotplug/private.h"

/* Size classes of the rate table: 256 cells of 512 bytes reach 128 KiB,
 * room for the 64 KiB GSO packets a vnet-header tap carries; the
 * policer's MTU (left 0) becomes 255 cells' worth. */
#define CELL_LOG 9
/* The smallest burst: netback's (it lets a guest send at least 128 KiB at
 * once), and more than one GSO packet, which would otherwise never fit. */
#define MIN_BURST 131072u
#define FILTER_PRIO 1
/* How long a packet may wait in the fallback's TBF: its queue holds this
 * much at the rate, plus the burst (tc's "latency", as libnl counts it). */
#define TBF_LATENCY_US 50000
/* The flags hp_rate_set knows. */
#define RATE_FLAGS HP_RATE_NO_POLICE

uint64_t hp_rate_bytes_per_sec(uint64_t bytes_per_interval,
			       uint32_t interval_usecs)
{
	if (!interval_usecs)
		return bytes_per_interval;
	return bytes_per_interval / interval_usecs * 1000000u +
	       bytes_per_interval % interval_usecs * 1000000u / interval_usecs;
}

static uint32_t ticks(double bytes, uint64_t rate)
{
	double us = bytes * 1e6 / (double)rate;
	double t = us * ((double)nl_us2ticks(1000000) / 1e6);

	return t >= 4294967295.0 ? UINT32_MAX : (uint32_t)t;
}

/* A qdisc object of kind under parent on ifindex (*q to rtnl_qdisc_put). */
static int qdisc_new(int ifindex, uint32_t parent, const char *kind,
		     struct rtnl_qdisc **q)
{
	int rc;

	*q = rtnl_qdisc_alloc();
	if (!*q)
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(*q), ifindex);
	rtnl_tc_set_parent(TC_CAST(*q), parent);
	rc = hp_nl_errno(rtnl_tc_set_kind(TC_CAST(*q), kind));
	if (rc) {
		rtnl_qdisc_put(*q);
		*q = NULL;
	}
	return rc;
}

static int ingress_qdisc(struct nl_sock *sk, int ifindex, bool add)
{
	struct rtnl_qdisc *q;
	int rc = qdisc_new(ifindex, TC_H_INGRESS, "ingress", &q);

	if (rc)
		return rc;
	/* ffff:0, the ingress qdisc's handle (libnl's TC_HANDLE shifts an int). */
	rtnl_tc_set_handle(TC_CAST(q), 0xffff0000u);
	rc = hp_nl_errno(add ? rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL) :
			       rtnl_qdisc_delete(sk, q));
	rtnl_qdisc_put(q);
	return rc;
}

static int put_police(struct nl_msg *m, const void *arg)
{
	const uint64_t *rb = arg;	/* rate, burst */
	uint64_t rate = rb[0], burst = rb[1];
	struct tc_police p;
	uint32_t rtab[256];
	struct nlattr *opts;

	memset(&p, 0, sizeof(p));
	p.action = TC_ACT_SHOT;
	p.rate.rate = rate > UINT32_MAX ? UINT32_MAX : (uint32_t)rate;
	p.rate.cell_log = CELL_LOG;
	p.rate.linklayer = TC_LINKLAYER_ETHERNET;
	p.rate.cell_align = -1;
	p.burst = ticks((double)burst, rate);
	for (unsigned i = 0; i < 256; i++)
		rtab[i] = ticks((double)((i + 1) << CELL_LOG), rate);
	if (nla_put_string(m, TCA_ACT_KIND, "police") < 0 ||
	    !(opts = nla_nest_start(m, TCA_ACT_OPTIONS)) ||
	    nla_put(m, TCA_POLICE_TBF, sizeof(p), &p) < 0 ||
	    nla_put(m, TCA_POLICE_RATE, sizeof(rtab), rtab) < 0 ||
	    (rate > UINT32_MAX && nla_put_u64(m, TCA_POLICE_RATE64, rate) < 0))
		return -EMSGSIZE;
	nla_nest_end(m, opts);
	return 0;
}

/* mirred: what matched leaves by the egress of the link *arg (an ifindex),
 * stolen from the tap ("action mirred egress redirect dev IFB"). */
static int put_redirect(struct nl_msg *m, const void *arg)
{
	struct tc_mirred p;
	struct nlattr *opts;

	memset(&p, 0, sizeof(p));
	p.action = TC_ACT_STOLEN;
	p.eaction = TCA_EGRESS_REDIR;
	p.ifindex = (uint32_t)*(const int *)arg;
	if (nla_put_string(m, TCA_ACT_KIND, "mirred") < 0 ||
	    !(opts = nla_nest_start(m, TCA_ACT_OPTIONS)) ||
	    nla_put(m, TCA_MIRRED_PARMS, sizeof(p), &p) < 0)
		return -EMSGSIZE;
	nla_nest_end(m, opts);
	return 0;
}

/* u32 matching every packet (one key, mask 0), terminal, with the one
 * action put_action(m, arg) writes. */
static int add_filter(struct nl_sock *sk, int ifindex,
		      int (*put_action)(struct nl_msg *, const void *),
		      const void *arg)
{
	/* The selector with its one key after it (keys[] is a flexible
	 * array: no struct may hold a key after it in ISO C). */
	_Alignas(struct tc_u32_sel) unsigned char
		s[sizeof(struct tc_u32_sel) + sizeof(struct tc_u32_key)];
	struct tc_u32_sel *sel = (struct tc_u32_sel *)s;
	struct tcmsg t;
	struct nlattr *opts, *acts, *a1;
	struct nl_msg *m = nlmsg_alloc_simple(RTM_NEWTFILTER,
					      NLM_F_CREATE | NLM_F_EXCL);
	int rc = -EMSGSIZE;

	if (!m)
		return -ENOMEM;
	memset(&t, 0, sizeof(t));
	t.tcm_family = AF_UNSPEC;
	t.tcm_ifindex = ifindex;
	t.tcm_parent = TC_H_MAKE(TC_H_INGRESS, 0);
	t.tcm_info = TC_H_MAKE(FILTER_PRIO << 16, htons(ETH_P_ALL));
	memset(s, 0, sizeof(s));
	sel->flags = TC_U32_TERMINAL;
	sel->nkeys = 1;
	if (nlmsg_append(m, &t, sizeof(t), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, TCA_KIND, "u32") < 0 ||
	    !(opts = nla_nest_start(m, TCA_OPTIONS)) ||
	    nla_put(m, TCA_U32_SEL, sizeof(s), s) < 0 ||
	    !(acts = nla_nest_start(m, TCA_U32_ACT)) ||
	    !(a1 = nla_nest_start(m, 1)) || put_action(m, arg))
		goto out;
	nla_nest_end(m, a1);
	nla_nest_end(m, acts);
	nla_nest_end(m, opts);
	rc = hp_nl_errno(nl_send_sync(sk, m));
	m = NULL;	/* nl_send_sync freed it */
out:
	nlmsg_free(m);
	return rc;
}

static int dev_index(struct nl_sock *sk, const char *dev, int *ifindex)
{
	struct rtnl_link *l = NULL;
	int rc = hp_link_get(sk, dev, &l);

	if (!rc) {
		*ifindex = rtnl_link_get_ifindex(l);
		rtnl_link_put(l);
	}
	return rc;
}

/* The IFB called name deleted; none there is 0, a link of that name of
 * another kind (not ours to delete) -EEXIST. */
static int ifb_delete(struct nl_sock *sk, const char *name)
{
	struct rtnl_link *l = NULL;
	const char *kind;
	int rc = hp_link_get(sk, name, &l);

	if (rc)
		return rc == -ENODEV ? 0 : rc;
	kind = rtnl_link_get_type(l);
	if (!kind || strcmp(kind, "ifb"))
		rc = -EEXIST;
	else
		rc = hp_nl_errno(rtnl_link_delete(sk, l));
	rtnl_link_put(l);
	return rc == -ENODEV ? 0 : rc;
}

/* A new IFB called name, up (a leftover of that name replaced), its
 * ifindex into *ifindex. */
static int ifb_create(struct nl_sock *sk, const char *name, int *ifindex)
{
	struct rtnl_link *l = rtnl_link_alloc();
	int rc;

	if (!l)
		return -ENOMEM;
	rtnl_link_set_name(l, name);
	rc = rtnl_link_set_type(l, "ifb");
	if (!rc) {
		/* Up in the same request, as `ip link add ... up`. */
		rtnl_link_set_flags(l, IFF_UP);
		rc = ifb_delete(sk, name);
	}
	if (!rc)
		rc = hp_nl_errno(rtnl_link_add(sk, l, NLM_F_CREATE | NLM_F_EXCL));
	if (!rc)
		rc = dev_index(sk, name, ifindex);
	rtnl_link_put(l);
	return rc;
}

/* A TBF as the root qdisc of ifindex: rate bytes/s (libnl counts in int),
 * bucket burst, the queue TBF_LATENCY_US long. */
static int tbf_add(struct nl_sock *sk, int ifindex, uint64_t rate,
		   uint64_t burst)
{
	struct rtnl_qdisc *q;
	int rc = qdisc_new(ifindex, TC_H_ROOT, "tbf", &q);

	if (rc)
		return rc;
	rtnl_qdisc_tbf_set_rate(q, rate > INT_MAX ? INT_MAX : (int)rate,
				burst > INT_MAX ? INT_MAX : (int)burst, 0);
	rc = hp_nl_errno(rtnl_qdisc_tbf_set_limit_by_latency(q, TBF_LATENCY_US));
	if (!rc)
		rc = hp_nl_errno(rtnl_qdisc_add(sk, q, NLM_F_CREATE |
							NLM_F_REPLACE));
	rtnl_qdisc_put(q);
	return rc;
}

/* The fallback on dev (ifindex), its ingress qdisc in place: ifb made,
 * its TBF, then the redirect, so nothing is redirected to an IFB that
 * does not limit yet.  *missing names what the kernel lacks when that is
 * the failure (-EOPNOTSUPP). */
static int ifb_path(struct nl_sock *sk, int ifindex, const char *ifb,
		    uint64_t rate, uint64_t burst, const char **missing)
{
	int ifb_index = 0;
	int rc = ifb_create(sk, ifb, &ifb_index);

	/* The kernel says EOPNOTSUPP for an unknown link kind, ENOENT for
	 * a qdisc or action it cannot load. */
	if (rc) {
		if (rc == -EOPNOTSUPP)
			*missing = "ifb";
		return rc;
	}
	rc = tbf_add(sk, ifb_index, rate, burst);
	if (rc == -ENOENT)
		*missing = "sch_tbf";
	if (!rc) {
		rc = add_filter(sk, ifindex, put_redirect, &ifb_index);
		if (rc == -ENOENT)
			*missing = "cls_u32 or act_mirred";
	}
	if (rc)
		ifb_delete(sk, ifb);
	return rc;
}

int hp_rate_ifb_name(uint32_t domid, int devid, char *out, size_t len)
{
	int w = snprintf(out, len, "ifb%u.%d", domid, devid);

	if (w < 0 || (size_t)w >= len || w >= IFNAMSIZ)
		return -ENAMETOOLONG;
	return 0;
}

int hp_rate_set(const char *dev, const char *ifb, uint64_t bytes_per_sec,
		uint64_t burst, unsigned flags, char *msg, size_t msglen)
{
	const char *missing = NULL;
	bool fallback = false;
	struct nl_sock *sk;
	uint64_t rb[2];
	int ifindex = 0, rc;

	if (flags & ~RATE_FLAGS)
		return hp_fail(msg, msglen, -EINVAL, "%s: rate flags %#x", dev,
			       flags);
	if (!bytes_per_sec)
		return hp_fail(msg, msglen, -EINVAL, "%s: rate 0", dev);
	if (ifb && (rc = hp_check_name(ifb, msg, msglen)))
		return rc;
	sk = hp_nl_open_for(dev, &rc, msg, msglen);
	if (!sk)
		return rc;
	rc = dev_index(sk, dev, &ifindex);
	if (rc) {
		hp_fail(msg, msglen, rc, "rate limit on %s", dev);
		goto out;
	}
	/* Replaces what is there: a qdisc of its own each time, and an IFB
	 * a limit before had. */
	ingress_qdisc(sk, ifindex, false);
	if (ifb)
		ifb_delete(sk, ifb);
	rc = ingress_qdisc(sk, ifindex, true);
	if (rc) {
		hp_fail(msg, msglen, rc, "%s: adding an ingress qdisc", dev);
		goto out;
	}
	rb[0] = bytes_per_sec;
	rb[1] = burst > MIN_BURST ? burst : MIN_BURST;
	/* The kernel says ENOENT for an action or classifier it cannot
	 * load. */
	rc = flags & HP_RATE_NO_POLICE ? -ENOENT :
					 add_filter(sk, ifindex, put_police, rb);
	if (rc == -ENOENT && ifb) {
		fallback = true;
		rc = ifb_path(sk, ifindex, ifb, rb[0], rb[1], &missing);
	}
	if (!rc)
		goto out;
	if (!fallback && rc == -ENOENT) {
		rc = -EOPNOTSUPP;
		hp_fail(msg, msglen, rc,
			"%s: the kernel has no u32 classifier or police action (cls_u32, act_police): rate cannot be limited",
			dev);
	} else if (missing) {
		rc = -EOPNOTSUPP;
		hp_fail(msg, msglen, rc,
			"%s: the kernel has no police action (act_police), nor %s for the fallback through %s: rate cannot be limited",
			dev, missing, ifb);
	} else if (fallback) {
		hp_fail(msg, msglen, rc, "%s: the fallback through IFB %s%s", dev,
			ifb, rc == -EEXIST ? ", a name a link of another kind has" : "");
	} else {
		hp_fail(msg, msglen, rc, "%s: adding the police filter", dev);
	}
	ingress_qdisc(sk, ifindex, false);
out:
	hp_nl_close(sk);
	return rc;
}

int hp_rate_clear(const char *dev, const char *ifb, char *msg, size_t msglen)
{
	int ifindex = 0, rc, r = 0;
	struct nl_sock *sk = hp_nl_open_for(dev, &rc, msg, msglen);

	if (!sk)
		return rc;
	rc = dev_index(sk, dev, &ifindex);
	if (!rc)
		rc = ingress_qdisc(sk, ifindex, false);
	/* None there: older kernels say EINVAL, newer ENOENT; a tap gone
	 * took its qdisc along. */
	if (rc == -ENOENT || rc == -EINVAL || rc == -ENODEV)
		rc = 0;
	if (ifb && !hp_check_name(ifb, NULL, 0))
		r = ifb_delete(sk, ifb);
	if (rc)
		hp_fail(msg, msglen, rc, "clearing the rate limit of %s", dev);
	else if (r)
		rc = hp_fail(msg, msglen, r, "deleting %s, the IFB of %s", ifb,
			     dev);
	hp_nl_close(sk);
	return rc;
}
