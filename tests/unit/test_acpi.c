/*
 * The ACPI tables of a PVH guest (backends/xen/acpi.c), read back the way
 * an OS reads them: from the RSDP through the XSDT to the FADT, DSDT and
 * MADT, checking signatures, lengths, checksums and pointers.  The rig
 * proves a real Linux boots on them (xl-pvh/acpi-cpus).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "backends/xen/xen.h"

static uint32_t get32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	return get32(p) | (uint64_t)get32(p + 4) << 32;
}

static uint8_t sum(const uint8_t *p, size_t len)
{
	uint8_t s = 0;

	while (len--)
		s = (uint8_t)(s + *p++);
	return s;
}

/* The table at guest address gpa, checked: inside the block, its length
 * inside too, its signature, its bytes summing to zero. */
static const uint8_t *table(const struct xen_acpi *a, uint64_t gpa,
			    const char *sig)
{
	const uint8_t *t;
	uint32_t len;

	assert_true(gpa >= XEN_ACPI_TABLES_GPA);
	assert_true(gpa + 36 <= XEN_ACPI_TABLES_GPA + a->tables_len);
	t = a->tables + (gpa - XEN_ACPI_TABLES_GPA);
	assert_memory_equal(t, sig, 4);
	len = get32(t + 4);
	assert_true(len >= 36);
	assert_true(gpa + len <= XEN_ACPI_TABLES_GPA + a->tables_len);
	assert_int_equal(sum(t, len), 0);
	return t;
}

static void tables_read_back_from_the_rsdp(void **state)
{
	struct xen_acpi a;
	const uint8_t *xsdt, *fadt, *madt, *dsdt, *e;
	uint32_t i;

	(void)state;
	assert_int_equal(xen_acpi_build(&a, 3, false), 0);
	assert_int_equal(a.tables_len % XEN_ACPI_PAGE, 0);
	/* The RSDP: on its own page after the tables, both checksums. */
	assert_int_equal(a.rsdp_gpa, XEN_ACPI_TABLES_GPA + a.tables_len);
	assert_int_equal(a.rsdp_len, 36);
	assert_memory_equal(a.rsdp, "RSD PTR ", 8);
	assert_int_equal(a.rsdp[15], 2);
	assert_int_equal(get32(a.rsdp + 20), 36);
	assert_int_equal(sum(a.rsdp, 20), 0);
	assert_int_equal(sum(a.rsdp, 36), 0);

	xsdt = table(&a, get64(a.rsdp + 24), "XSDT");
	assert_int_equal(get32(xsdt + 4), 36 + 2 * 8);
	fadt = table(&a, get64(xsdt + 36), "FACP");
	madt = table(&a, get64(xsdt + 44), "APIC");

	/* FADT revision 5, hardware-reduced, its DSDT both ways. */
	assert_int_equal(get32(fadt + 4), 268);
	assert_int_equal(fadt[8], 5);
	assert_true(get32(fadt + 112) & (1u << 20));
	assert_int_equal(get32(fadt + 40), get64(fadt + 140));
	assert_int_equal(get32(fadt + 46) & 0xffff, 0);	/* no SCI */
	dsdt = table(&a, get64(fadt + 140), "DSDT");
	assert_int_equal(get32(dsdt + 4), 36);

	/* MADT: the local APIC, no 8259, one enabled entry per possible
	 * vCPU with Xen's APIC IDs. */
	assert_int_equal(get32(madt + 4), 36 + 8 + 3 * 8);
	assert_int_equal(get32(madt + 36), XEN_LAPIC_BASE);
	assert_int_equal(get32(madt + 40), 0);
	for (i = 0; i < 3; i++) {
		e = madt + 44 + i * 8;
		assert_int_equal(e[0], 0);
		assert_int_equal(e[1], 8);
		assert_int_equal(e[2], i);
		assert_int_equal(e[3], 2 * i);
		assert_int_equal(get32(e + 4), 1);
	}
	xen_acpi_free(&a);
	assert_null(a.tables);
}

static void rsdp_goes_low_for_an_old_linux(void **state)
{
	struct xen_acpi a;

	(void)state;
	assert_int_equal(xen_acpi_build(&a, 1, true), 0);
	assert_int_equal(a.rsdp_gpa, 0x100000 - 64);
	/* 16-byte aligned inside the BIOS area, where a search finds it. */
	assert_int_equal(a.rsdp_gpa % 16, 0);
	assert_true(a.rsdp_gpa >= 0xe0000);
	table(&a, get64(a.rsdp + 24), "XSDT");
	xen_acpi_free(&a);
}

static void many_vcpus_still_fit(void **state)
{
	struct xen_acpi a;
	const uint8_t *madt;

	(void)state;
	assert_int_equal(xen_acpi_build(&a, 128, false), 0);
	madt = table(&a, get64(table(&a, get64(a.rsdp + 24), "XSDT") + 44),
		     "APIC");
	assert_int_equal(get32(madt + 4), 36 + 8 + 128 * 8);
	assert_int_equal(madt[44 + 127 * 8 + 3], 254);
	xen_acpi_free(&a);
}

static void what_the_tables_cannot_describe_is_refused(void **state)
{
	struct xen_acpi a;

	(void)state;
	assert_int_equal(xen_acpi_build(&a, 0, false), -EINVAL);
	assert_null(a.tables);
	/* APIC IDs are 2 * vCPU in a byte. */
	assert_int_equal(xen_acpi_build(&a, 129, false), -EINVAL);
	assert_null(a.rsdp);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(tables_read_back_from_the_rsdp),
		cmocka_unit_test(rsdp_goes_low_for_an_old_linux),
		cmocka_unit_test(many_vcpus_still_fit),
		cmocka_unit_test(what_the_tables_cannot_describe_is_refused),
	};

	return cmocka_run_group_tests_name("acpi", tests, NULL, NULL);
}
