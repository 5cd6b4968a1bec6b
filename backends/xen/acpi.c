/*
 * The ACPI tables of a PVH guest: the only firmware description such a
 * guest has.  Linux finds its vCPUs in the MADT; without tables it boots
 * on one.  Upstream's libxl ships a full set (with a DSDT for vCPU
 * hotplug through AML); Enso describes the machine as it is, a
 * hardware-reduced ACPI platform (ACPI 5.0, section 4.1): no SCI, no PM
 * timer, no RTC, no 8042, no 8259, only local APICs.  vCPU hotplug on PVH
 * goes through xenstore (cpu/N/availability), as on PV: every possible
 * vCPU is enabled in the MADT, since Linux gives a disabled entry no APIC
 * ID and can then never start that vCPU without ACPI processor hotplug
 * (AML); the guest starts them all and offlines, early in its boot, those
 * whose availability says offline, as a PV guest does.
 *
 *   tables (at XEN_ACPI_TABLES_GPA):  DSDT (empty), FADT (revision 5,
 *                                     HW_REDUCED_ACPI), MADT, XSDT
 *   RSDP (revision 2, 36 bytes):      on the page after the tables, or in
 *                                     the BIOS area below 1 MiB for a
 *                                     Linux that cannot take it elsewhere
 *
 * Layouts are the ACPI specification's; every field is written
 * little-endian by offset, no packed structs.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backends/xen/xen.h"

#define HDR_LEN 36
#define FADT_LEN 268		/* revision 5 */
#define MADT_LAPIC_LEN 8
#define RSDP_LEN 36

/* FADT flags and IA-PC boot architecture flags (ACPI 5.0, 5.2.9). */
#define FADT_PROC_C1 (1u << 2)
#define FADT_PWR_BUTTON (1u << 4)	/* no fixed power button */
#define FADT_SLP_BUTTON (1u << 5)	/* no fixed sleep button */
#define FADT_HW_REDUCED (1u << 20)
#define BOOT_NO_VGA (1u << 2)
#define BOOT_NO_CMOS_RTC (1u << 5)
#define LAPIC_ENABLED 1u

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, (uint16_t)v);
	put16(p + 2, (uint16_t)(v >> 16));
}

static void put64(uint8_t *p, uint64_t v)
{
	put32(p, (uint32_t)v);
	put32(p + 4, (uint32_t)(v >> 32));
}

/* The byte that makes bytes [0, len) sum to zero, at p[at]. */
static void checksum(uint8_t *p, size_t len, size_t at)
{
	uint8_t sum = 0;
	size_t i;

	p[at] = 0;
	for (i = 0; i < len; i++)
		sum = (uint8_t)(sum + p[i]);
	p[at] = (uint8_t)(0x100 - sum);
}

/* The common header of a system description table; the checksum is set
 * once the body is written. */
static void header(uint8_t *t, const char sig[4], uint32_t len, uint8_t rev)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = rev;
	memcpy(t + 10, "ENSO  ", 6);		/* OEM ID */
	memcpy(t + 16, "PVH     ", 8);		/* OEM table ID */
	put32(t + 24, 1);			/* OEM revision */
	memcpy(t + 28, "ENSO", 4);		/* creator ID */
	put32(t + 32, 1);			/* creator revision */
}

static size_t align16(size_t n)
{
	return (n + 15) & ~(size_t)15;
}

int xen_acpi_build(struct xen_acpi *a, uint32_t max_vcpus, bool rsdp_low)
{
	size_t dsdt, fadt, madt, xsdt, madt_len, len, pages;
	uint8_t *t, *r;
	uint32_t i;

	memset(a, 0, sizeof(*a));
	/* Local APIC entries take 8-bit IDs, 2 * vCPU: 128 vCPUs, which is
	 * also Xen's limit for an HVM container. */
	if (!max_vcpus || max_vcpus > 128)
		return -EINVAL;
	madt_len = HDR_LEN + 8 + (size_t)max_vcpus * MADT_LAPIC_LEN;
	dsdt = 0;
	fadt = align16(dsdt + HDR_LEN);
	madt = align16(fadt + FADT_LEN);
	xsdt = align16(madt + madt_len);
	len = xsdt + HDR_LEN + 2 * 8;
	pages = (len + XEN_ACPI_PAGE - 1) / XEN_ACPI_PAGE;
	t = calloc(pages, XEN_ACPI_PAGE);
	r = calloc(1, RSDP_LEN);
	if (!t || !r) {
		free(t);
		free(r);
		return -ENOMEM;
	}

	/* DSDT: required by the FADT, empty: nothing in the namespace. */
	header(t + dsdt, "DSDT", HDR_LEN, 2);
	checksum(t + dsdt, HDR_LEN, 9);

	/* FADT: hardware-reduced, so every fixed-hardware block is zero. */
	header(t + fadt, "FACP", FADT_LEN, 5);
	put32(t + fadt + 40, (uint32_t)(XEN_ACPI_TABLES_GPA + dsdt));
	put16(t + fadt + 109, BOOT_NO_VGA | BOOT_NO_CMOS_RTC);
	put32(t + fadt + 112, FADT_PROC_C1 | FADT_PWR_BUTTON |
				      FADT_SLP_BUTTON | FADT_HW_REDUCED);
	t[fadt + 131] = 0;			/* FADT minor version */
	put64(t + fadt + 140, XEN_ACPI_TABLES_GPA + dsdt);	/* X_DSDT */
	checksum(t + fadt, FADT_LEN, 9);

	/* MADT: one enabled local APIC per possible vCPU, Xen's IDs
	 * (2 * vCPU).  No PC-AT 8259 (flags 0), no I/O APIC. */
	header(t + madt, "APIC", (uint32_t)madt_len, 2);
	put32(t + madt + 36, XEN_LAPIC_BASE);
	put32(t + madt + 40, 0);
	for (i = 0; i < max_vcpus; i++) {
		uint8_t *e = t + madt + HDR_LEN + 8 + i * MADT_LAPIC_LEN;

		e[0] = 0;				/* processor local APIC */
		e[1] = MADT_LAPIC_LEN;
		e[2] = (uint8_t)i;			/* ACPI processor UID */
		e[3] = (uint8_t)(2 * i);		/* APIC ID */
		put32(e + 4, LAPIC_ENABLED);
	}
	checksum(t + madt, madt_len, 9);

	header(t + xsdt, "XSDT", HDR_LEN + 2 * 8, 1);
	put64(t + xsdt + HDR_LEN, XEN_ACPI_TABLES_GPA + fadt);
	put64(t + xsdt + HDR_LEN + 8, XEN_ACPI_TABLES_GPA + madt);
	checksum(t + xsdt, HDR_LEN + 2 * 8, 9);

	a->rsdp_gpa = rsdp_low ? XEN_ACPI_RSDP_LOW_GPA :
		      XEN_ACPI_TABLES_GPA + pages * XEN_ACPI_PAGE;
	memcpy(r, "RSD PTR ", 8);
	memcpy(r + 9, "ENSO  ", 6);
	r[15] = 2;				/* revision: XSDT, 64-bit */
	put32(r + 16, 0);			/* no RSDT */
	put32(r + 20, RSDP_LEN);
	put64(r + 24, XEN_ACPI_TABLES_GPA + xsdt);
	checksum(r, 20, 8);			/* the ACPI 1.0 part */
	checksum(r, RSDP_LEN, 32);		/* the whole */

	a->tables = t;
	a->tables_len = pages * XEN_ACPI_PAGE;
	a->rsdp = r;
	a->rsdp_len = RSDP_LEN;
	return 0;
}

void xen_acpi_free(struct xen_acpi *a)
{
	free(a->tables);
	free(a->rsdp);
	memset(a, 0, sizeof(*a));
}
