/*
 * The rate limit of what a guest sends.  On a tap that traffic enters the
 * host: it is the tap's ingress.  An ingress qdisc takes no queue, so the
 * limit is a policer: a u32 filter matching everything, with a police
 * action (a token bucket) that drops what exceeds.  It lives and dies with
 * the tap, so a tap that vanishes with its QEMU leaves nothing behind.
 *
 * libnl has no police action; the filter is built with its message API.
 * The kernel's police takes its rate as a tc_ratespec plus a rate table
 * (the time to send each size class), and its burst in scheduler ticks.
 */
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/pkt_sched.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

#include <netlink/msg.h>
#include <netlink/netlink.h>
#include <netlink/attr.h>
#include <netlink/utils.h>
#include <netlink/route/link.h>
#include <netlink/route/qdisc.h>
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

static int ingress_qdisc(struct nl_sock *sk, int ifindex, bool add)
{
	struct rtnl_qdisc *q = rtnl_qdisc_alloc();
	int rc;

	if (!q)
		return -ENOMEM;
	rtnl_tc_set_ifindex(TC_CAST(q), ifindex);
	rtnl_tc_set_parent(TC_CAST(q), TC_H_INGRESS);
	/* ffff:0, the ingress qdisc's handle (libnl's TC_HANDLE shifts an int). */
	rtnl_tc_set_handle(TC_CAST(q), 0xffff0000u);
	rc = rtnl_tc_set_kind(TC_CAST(q), "ingress");
	if (!rc)
		rc = add ? rtnl_qdisc_add(sk, q, NLM_F_CREATE | NLM_F_EXCL) :
			   rtnl_qdisc_delete(sk, q);
	rtnl_qdisc_put(q);
	return hp_nl_errno(rc);
}

static int put_police(struct nl_msg *m, uint64_t rate, uint64_t burst)
{
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

/* u32 matching every packet (one key, mask 0), terminal, police action. */
static int add_filter(struct nl_sock *sk, int ifindex, uint64_t rate,
		      uint64_t burst)
{
	struct {
		struct tc_u32_sel sel;
		struct tc_u32_key key;
	} s;
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
	memset(&s, 0, sizeof(s));
	s.sel.flags = TC_U32_TERMINAL;
	s.sel.nkeys = 1;
	if (nlmsg_append(m, &t, sizeof(t), NLMSG_ALIGNTO) < 0 ||
	    nla_put_string(m, TCA_KIND, "u32") < 0 ||
	    !(opts = nla_nest_start(m, TCA_OPTIONS)) ||
	    nla_put(m, TCA_U32_SEL, sizeof(s), &s) < 0 ||
	    !(acts = nla_nest_start(m, TCA_U32_ACT)) ||
	    !(a1 = nla_nest_start(m, 1)) || put_police(m, rate, burst))
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

int hp_rate_set(const char *dev, uint64_t bytes_per_sec, uint64_t burst,
		char *msg, size_t msglen)
{
	struct nl_sock *sk;
	int ifindex = 0, rc;

	if (!bytes_per_sec)
		return hp_fail(msg, msglen, -EINVAL, "%s: rate 0", dev);
	sk = hp_nl_open_for(dev, &rc, msg, msglen);
	if (!sk)
		return rc;
	rc = dev_index(sk, dev, &ifindex);
	if (rc) {
		hp_fail(msg, msglen, rc, "rate limit on %s", dev);
		goto out;
	}
	/* Replaces what is there: a qdisc of its own each time. */
	ingress_qdisc(sk, ifindex, false);
	rc = ingress_qdisc(sk, ifindex, true);
	if (rc) {
		hp_fail(msg, msglen, rc, "%s: adding an ingress qdisc", dev);
		goto out;
	}
	rc = add_filter(sk, ifindex, bytes_per_sec,
			burst > MIN_BURST ? burst : MIN_BURST);
	if (rc) {
		/* The kernel says ENOENT for an action or classifier it
		 * cannot load. */
		if (rc == -ENOENT) {
			rc = -EOPNOTSUPP;
			hp_fail(msg, msglen, rc,
				"%s: the kernel has no u32 classifier or police action (cls_u32, act_police): rate cannot be limited",
				dev);
		} else {
			hp_fail(msg, msglen, rc, "%s: adding the police filter",
				dev);
		}
		ingress_qdisc(sk, ifindex, false);
	}
out:
	hp_nl_close(sk);
	return rc;
}

int hp_rate_clear(const char *dev, char *msg, size_t msglen)
{
	int ifindex = 0, rc;
	struct nl_sock *sk = hp_nl_open_for(dev, &rc, msg, msglen);

	if (!sk)
		return rc;
	rc = dev_index(sk, dev, &ifindex);
	if (!rc)
		rc = ingress_qdisc(sk, ifindex, false);
	/* None there: older kernels say EINVAL, newer ENOENT. */
	if (rc == -ENOENT || rc == -EINVAL)
		rc = 0;
	if (rc)
		hp_fail(msg, msglen, rc, "clearing the rate limit of %s", dev);
	hp_nl_close(sk);
	return rc;
}
