/*
 * tests/host/hotplug_rate.c: hotplug/'s rate limits, policed or through an
 * IFB, read back from the kernel (tc's dump, sysfs); part of
 * tests/host/hotplug (hotplug.c has main and the namespace).  Needs
 * vif7.0, vif7.1 (taps) and hpbr0 (a bridge) as links() leaves them.
 */
#include <errno.h>
#include <net/if.h>
#include <stdio.h>
#include <string.h>

#include "hotplug/hotplug.h"
#include "tests/host/hotplug_test.h"

/* The fallback where the kernel has no act_police: the tap's ingress
 * redirected to an IFB whose root is a TBF.  HP_RATE_NO_POLICE forces it
 * on a kernel that polices; without the flag, on this kernel, the limit
 * takes the fallback by itself when it cannot police. */
static void rate_ifb_check(unsigned flags, const char *how)
{
	char name[128], ifindex[16];
	const char *out;
	int rc;

	rc = hp_rate_set("vif7.0", "ifb7.0", 1250000, 0, flags, msg,
			 sizeof(msg));
	if (rc == -EOPNOTSUPP) {
		/* Neither way works on this kernel: refused, naming what is
		 * missing, with nothing left. */
		fprintf(stderr, "# this kernel has no IFB fallback: %s\n", msg);
		out = tc("qdisc show dev vif7.0");
		snprintf(name, sizeof(name),
			 "rate %s: a kernel without it refuses, naming what is missing, nothing left",
			 how);
		check(strstr(msg, "act_police") && strstr(msg, "fallback") &&
			      !strstr(out, "ingress") &&
			      !exists("/sys/class/net/ifb7.0"),
		      name, "%s; tc: %s", msg, out);
		return;
	}
	snprintf(ifindex, sizeof(ifindex), "%s", sys("/sys/class/net/ifb7.0/ifindex"));
	snprintf(name, sizeof(name), "rate %s: ifb7.0 exists, up", how);
	check(rc == 0 && exists("/sys/class/net/ifb7.0") && is_up("ifb7.0"),
	      name, "rc %d: %s", rc, msg);
	out = tc("filter show dev vif7.0 ingress");
	fprintf(stderr, "# tc filter show dev vif7.0 ingress:\n%s", out);
	snprintf(name, sizeof(name),
		 "rate %s: the tap's ingress filter redirects to ifb7.0", how);
	check(strstr(out, "u32") && strstr(out, "mirred") &&
		      strstr(out, "Redirect to device ifb7.0"),
	      name, "tc says: %s", out);
	out = tc("qdisc show dev ifb7.0");
	fprintf(stderr, "# tc qdisc show dev ifb7.0:\n%s", out);
	snprintf(name, sizeof(name),
		 "rate %s: a TBF at 10Mbit, burst 128Kb, is the IFB's root", how);
	check(strstr(out, "qdisc tbf") && strstr(out, "root") &&
		      strstr(out, "rate 10Mbit") && strstr(out, "burst 128Kb"),
	      name, "tc says: %s", out);
	rc = hp_rate_set("vif7.0", "ifb7.0", 250000, 0, flags, msg, sizeof(msg));
	out = tc("qdisc show dev ifb7.0");
	snprintf(name, sizeof(name), "rate %s: set again replaces the limit and the IFB",
		 how);
	check(rc == 0 && strstr(out, "rate 2Mbit") &&
		      strcmp(sys("/sys/class/net/ifb7.0/ifindex"), ifindex),
	      name, "rc %d: %s; tc: %s", rc, msg, out);
	rc = hp_rate_clear("vif7.0", "ifb7.0", msg, sizeof(msg));
	out = tc("qdisc show dev vif7.0");
	snprintf(name, sizeof(name),
		 "rate %s: clear removes the ingress qdisc and the IFB", how);
	check(rc == 0 && !strstr(out, "ingress") && !exists("/sys/class/net/ifb7.0"),
	      name, "rc %d: %s; tc: %s", rc, msg, out);
}

static void rate_ifb(void)
{
	char name[IFNAMSIZ + 8];
	int rc;

	rate_ifb_check(HP_RATE_NO_POLICE, "IFB (forced)");
	rc = hp_rate_set("vif7.0", NULL, 1250000, 0, 0, NULL, 0);
	hp_rate_clear("vif7.0", NULL, NULL, 0);
	if (rc == -EOPNOTSUPP)	/* no act_police here */
		rate_ifb_check(0, "IFB (the kernel cannot police)");
	rc = hp_rate_set("vif7.0", NULL, 1250000, 0, 0x80, msg, sizeof(msg));
	check(rc == -EINVAL, "rate: unknown flags are -EINVAL", "rc %d", rc);
	rc = hp_rate_clear("gone9", "ifb7.9", msg, sizeof(msg));
	check(rc == 0, "rate clear of a tap and an IFB that are gone is done",
	      "rc %d: %s", rc, msg);

	rc = hp_rate_ifb_name(32751, 7, name, sizeof(name));
	check(rc == 0 && !strcmp(name, "ifb32751.7"),
	      "IFB name of domain 32751's vif 7 is ifb32751.7", "rc %d: %s", rc,
	      name);
	rc = hp_rate_ifb_name(32751, 1234567, name, sizeof(name));
	check(rc == -ENAMETOOLONG, "an IFB name over IFNAMSIZ is -ENAMETOOLONG",
	      "rc %d", rc);

	/* What a domain's end does: its IFBs by prefix, no other's. */
	hp_rate_set("vif7.0", "ifb7.0", 1250000, 0, HP_RATE_NO_POLICE, NULL, 0);
	hp_rate_set("vif7.1", "ifb7.1", 1250000, 0, HP_RATE_NO_POLICE, NULL, 0);
	hp_rate_set("hpbr0", "ifb77.0", 1250000, 0, HP_RATE_NO_POLICE, NULL, 0);
	hp_bridge_create("ifb7.9", NULL, 0);
	rc = hp_rate_set("vif7.1", "ifb7.9", 1250000, 0, HP_RATE_NO_POLICE, msg,
			 sizeof(msg));
	check(rc == -EEXIST && exists("/sys/class/net/ifb7.9/bridge"),
	      "rate: an IFB name another kind of link has is refused, that link kept",
	      "rc %d: %s", rc, msg);
	rc = hp_link_delete_prefix("ifb7.", "ifb", msg, sizeof(msg));
	check(rc == 2 && !exists("/sys/class/net/ifb7.0") &&
		      !exists("/sys/class/net/ifb7.1") &&
		      exists("/sys/class/net/ifb77.0") &&
		      exists("/sys/class/net/ifb7.9") &&
		      exists("/sys/class/net/vif7.0"),
	      "delete IFBs by prefix ifb7.: ifb7.0 and ifb7.1 go; ifb77.0, the bridge ifb7.9, the taps stay",
	      "rc %d: %s", rc, msg);
	hp_link_delete("ifb7.9", NULL, 0);
	rc = hp_link_delete_prefix("", NULL, msg, sizeof(msg));
	check(rc == -EINVAL, "delete by an empty prefix is refused", "rc %d", rc);
	hp_rate_clear("vif7.0", NULL, NULL, 0);
	hp_rate_clear("vif7.1", NULL, NULL, 0);
	hp_rate_clear("hpbr0", "ifb77.0", NULL, 0);
}

void rate(void)
{
	const char *out;
	int rc;

	check(hp_rate_bytes_per_sec(62500, 50000) == 1250000 &&
		      hp_rate_bytes_per_sec(1, 0) == 1,
	      "rate= as bytes/s: 62500 B per 50 ms is 1250000 B/s", "%llu",
	      (unsigned long long)hp_rate_bytes_per_sec(62500, 50000));
	rc = hp_rate_set("vif7.0", NULL, 1250000, 0, 0, msg, sizeof(msg));
	out = tc("filter show dev vif7.0 ingress");
	if (rc == 0) {
		fprintf(stderr, "# tc filter show dev vif7.0 ingress:\n%s", out);
		check(strstr(out, "police") && strstr(out, "rate 10Mbit") &&
			      strstr(out, "drop"),
		      "rate: a police filter at 10Mbit, dropping, on the tap's ingress",
		      "tc says: %s", out);
		rc = hp_rate_set("vif7.0", NULL, 250000, 0, 0, msg, sizeof(msg));
		out = tc("filter show dev vif7.0 ingress");
		check(rc == 0 && strstr(out, "rate 2Mbit") && !strstr(out, "10Mbit"),
		      "rate: set again replaces the limit", "rc %d: %s", rc, out);
	} else {
		/* This kernel cannot police: refused, and nothing left. */
		fprintf(stderr, "# this kernel has no police action: %s\n", msg);
		out = tc("qdisc show dev vif7.0");
		check(rc == -EOPNOTSUPP && strstr(msg, "act_police") &&
			      !strstr(out, "ingress"),
		      "rate: a kernel without act_police refuses it, naming it, with no qdisc left",
		      "rc %d: %s; tc: %s", rc, msg, out);
	}
	rc = hp_rate_clear("vif7.0", NULL, msg, sizeof(msg));
	out = tc("qdisc show dev vif7.0");
	check(rc == 0 && !strstr(out, "ingress"), "rate clear: no ingress qdisc left",
	      "rc %d: %s; tc: %s", rc, msg, out);
	rc = hp_rate_clear("vif7.0", NULL, msg, sizeof(msg));
	check(rc == 0, "rate clear with none there is done", "rc %d: %s", rc, msg);
	rate_ifb();
}
