/*
 * A PVH "kernel" whose first instruction triple-faults: no IDT, then a
 * breakpoint, so the #BP becomes #GP, #DF and a shutdown, which Xen
 * reports as "dNv0 Triple fault".  scenarios/12-rig-rerun makes one to
 * prove dom0-init's rerun after an emulator fault.  Xen's ELF loader
 * needs only the PHYS32_ENTRY note (type 18) for a PVH image.
 */
	.section .note.Xen, "a", @note
	.balign 4
	.long 4, 4, 18
	.asciz "Xen"
	.balign 4
	.long start

	.text
	.code32
	.globl start
start:
	lidt empty_idt
	int3
	hlt

empty_idt:
	.word 0
	.long 0
