/*
 * The KVM device layout a save file or migration stream carries
 * (backends/kvm/layout.c): what is written reads back the same, a
 * layout is checked against the config it came with, and each malformed
 * or hostile text (it comes out of a stream) is refused by its message,
 * never reaching QEMU's command line.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/kvm/kvm.h"
#include "enso/libxl.h"

static struct kvm_layout lay;

static void parses(const char *text)
{
	struct enso_error err = { "" };

	if (kvm_layout_parse(text, &lay, &err))
		fail_msg("'%s' refused: %s", text, err.msg);
}

static void refused(const char *text, const char *why)
{
	struct enso_error err = { "" };

	assert_int_not_equal(kvm_layout_parse(text, &lay, &err), 0);
	if (!strstr(err.msg, why))
		fail_msg("'%.60s': message '%s' does not say '%s'", text,
			 err.msg, why);
	assert_int_equal(lay.n, 0);
}

static void round_trip(void **state)
{
	char *again;

	(void)state;
	parses("kvm1;vbd-port51712,5,2.0,vbd51712;hotplug-port0,1,3.0,vbd51728;"
	       "hotplug-port1,2,4.0,-;vif-port0,7,10.0,vif0");
	assert_int_equal(lay.n, 4);
	assert_string_equal(lay.port[1].id, "hotplug-port0");
	assert_int_equal(lay.port[1].chassis, 1);
	assert_int_equal(lay.port[1].slot, 3);
	assert_string_equal(lay.port[2].dev, "");
	assert_string_equal(kvm_layout_port_of(&lay, "vbd51728"), "hotplug-port0");
	assert_string_equal(kvm_layout_port_of(&lay, "vif0"), "vif-port0");
	assert_null(kvm_layout_port_of(&lay, "vbd1"));
	again = kvm_layout_format(&lay);
	assert_non_null(again);
	assert_string_equal(again,
			    "kvm1;vbd-port51712,5,2.0,vbd51712;hotplug-port0,1,3.0,vbd51728;"
			    "hotplug-port1,2,4.0,-;vif-port0,7,10.0,vif0");
	free(again);
	parses("kvm1");
	assert_int_equal(lay.n, 0);
	assert_int_equal(lay.vcpus, 0);
	parses("kvm1;vcpus=3;hotplug-port0,1,3.0,-");
	assert_int_equal(lay.vcpus, 3);
	assert_int_equal(lay.n, 1);
	again = kvm_layout_format(&lay);
	assert_non_null(again);
	assert_string_equal(again, "kvm1;vcpus=3;hotplug-port0,1,3.0,-");
	free(again);
}

static void vcpus(void **state)
{
	(void)state;
	refused("kvm1;vcpus=0", "vcpus= wants 1 to 4096");
	refused("kvm1;vcpus=4097", "vcpus= wants 1 to 4096");
	refused("kvm1;vcpus=01", "vcpus= wants 1 to 4096");
	refused("kvm1;vcpus=", "vcpus= wants 1 to 4096");
	refused("kvm1;vcpus=2x", "vcpus= wants 1 to 4096");
	refused("kvm1;vcpus=99999999999999999999", "vcpus= wants 1 to 4096");
	refused("kvm1;vcpus=2;vcpus=2", "vcpus= given twice");
}

static void malformed(void **state)
{
	(void)state;
	refused(NULL, "none");
	refused("", "not of a kind");
	refused("kvm2;hotplug-port0,1,3.0,-", "not of a kind");
	refused("kvm1x", "not of a kind");
	refused("kvm1;", "expected port,chassis");
	refused("kvm1;hotplug-port0,1,3.0", "expected port,chassis");
	refused("kvm1;hotplug-port0,1,3.0,-,extra", "expected port,chassis");
	refused("kvm1;hotplug-port0,1,3.0,-;", "entry 2: expected");
	refused("kvm1;hotplug-port0,256,3.0,-", "chassis 0-255");
	refused("kvm1;hotplug-port0,1,32.0,-", "chassis 0-255");
	refused("kvm1;hotplug-port0,1,3.8,-", "chassis 0-255");
	refused("kvm1;hotplug-port0,1,3,-", "chassis 0-255");
	refused("kvm1;hotplug-port0,-1,3.0,-", "chassis 0-255");
	refused("kvm1;hotplug-port0,0001,3.0,-", "chassis 0-255");
	refused("kvm1;hotplug-port0,1, 3.0,-", "chassis 0-255");
}

/* Ids go into QEMU's command line: only the shapes Enso gives. */
static void hostile_ids(void **state)
{
	(void)state;
	refused("kvm1;pcie.0,1,3.0,-", "not a root port Enso makes");
	refused("kvm1;hotplug-port,1,3.0,-", "not a root port Enso makes");
	refused("kvm1;hotplug-port0x,1,3.0,-", "not a root port Enso makes");
	refused("kvm1;hotplug-port12345678901,1,3.0,-", "not a root port Enso makes");
	refused("kvm1;hotplug-port0,file=/etc/shadow,1,3.0,-", "expected port,chassis");
	refused("kvm1;hotplug-port0,1,3.0,vbd1=x", "no disk or NIC Enso plugs");
	refused("kvm1;hotplug-port0,1,3.0,vbd-port1", "no disk or NIC Enso plugs");
	refused("kvm1;hotplug-port0,1,3.0,balloon0", "no disk or NIC Enso plugs");
	refused("kvm1;hotplug-port0,1,3.0,", "no disk or NIC Enso plugs");
}

static void twice(void **state)
{
	(void)state;
	refused("kvm1;hotplug-port0,1,3.0,-;hotplug-port0,2,4.0,-", "there twice");
	refused("kvm1;hotplug-port0,1,3.0,-;hotplug-port1,2,3.0,-", "share the address");
	refused("kvm1;hotplug-port0,1,3.0,vbd5;hotplug-port1,2,4.0,vbd5", "behind two ports");
}

static void too_many(void **state)
{
	char *text = malloc(16 + (KVM_LAYOUT_MAX + 1) * 32);
	size_t len = 0;

	(void)state;
	assert_non_null(text);
	len += (size_t)sprintf(text, "kvm1");
	for (int i = 0; i <= KVM_LAYOUT_MAX; i++)
		len += (size_t)sprintf(text + len, ";hotplug-port%d,%d,%x.%d,-",
				       i, i % 256, (i / 8) % 32, i % 8);
	refused(text, "more than 64 ports");
	free(text);
}

/* The layout against the config it travels with. */
static void against_config(void **state)
{
	struct enso_domain_config c;
	struct enso_disk disks[2];
	struct enso_nic nic;
	struct enso_error err = { "" };

	(void)state;
	memset(&c, 0, sizeof(c));
	memset(disks, 0, sizeof(disks));
	memset(&nic, 0, sizeof(nic));
	disks[0].vdev = "xvda";
	disks[0].vdev_number = 51712;
	disks[1].vdev = "hdc";
	disks[1].is_cdrom = true;	/* on IDE: behind no port */
	nic.devid = 0;
	c.disks = disks;
	c.ndisks = 2;
	c.nics = &nic;
	c.nnics = 1;
	parses("kvm1;vbd-port51712,5,2.0,-;hotplug-port0,1,3.0,vbd51712;vif-port0,6,4.0,vif0");
	assert_int_equal(kvm_layout_check(&lay, &c, &err), 0);

	parses("kvm1;hotplug-port0,1,3.0,vbd51712");
	assert_int_not_equal(kvm_layout_check(&lay, &c, &err), 0);
	assert_non_null(strstr(err.msg, "vif 0 (vif0) is behind no port"));

	parses("kvm1;hotplug-port0,1,3.0,vbd51712;vif-port0,6,4.0,vif0;hotplug-port1,2,5.0,vbd51728");
	assert_int_not_equal(kvm_layout_check(&lay, &c, &err), 0);
	assert_non_null(strstr(err.msg, "3 devices behind its ports, but the config has 2"));

	c.vcpus = 1;
	c.maxvcpus = 2;
	parses("kvm1;vcpus=2;hotplug-port0,1,3.0,vbd51712;vif-port0,6,4.0,vif0");
	assert_int_equal(kvm_layout_check(&lay, &c, &err), 0);
	parses("kvm1;vcpus=3;hotplug-port0,1,3.0,vbd51712;vif-port0,6,4.0,vif0");
	assert_int_not_equal(kvm_layout_check(&lay, &c, &err), 0);
	assert_non_null(strstr(err.msg, "3 vCPUs plugged, more than the config's maxvcpus 2"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(malformed),
		cmocka_unit_test(vcpus),
		cmocka_unit_test(hostile_ids),
		cmocka_unit_test(twice),
		cmocka_unit_test(too_many),
		cmocka_unit_test(against_config),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
