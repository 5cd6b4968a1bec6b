/*
 * A bzImage's kernel, unpacked: for the KVM backend, which boots the ELF
 * through its PVH entry (QEMU's -kernel takes an ELF that carries Xen's
 * PHYS32_ENTRY note), so the guest skips decompressing itself, which under
 * TCG is most of its boot (6.3 s to its init against 2.8 s, Debian's
 * kernel).  The facts used, from Linux's x86 boot protocol: "HdrS" at
 * 0x202, the protocol version at 0x206 (payload fields from 2.08),
 * setup_sects at 0x1f1, payload_offset and payload_length at 0x248 and
 * 0x24c, counted from the end of the setup sectors; the payload's last
 * four bytes hold the decompressed size, little-endian.  xz and gzip
 * payloads are unpacked (Debian's and most distributions'); others are
 * left to the guest.
 */
#include <errno.h>
#include <fcntl.h>
#include <lzma.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "libxl/runtime.h"

/* Bigger than any kernel: a bound against a lying size field. */
#define ELF_MAX (512u * 1024 * 1024)
/* liblzma allocates the dictionary a stream declares: Linux packs with a
 * 32 MiB one (scripts/xz_wrap.sh), a stream asking for 4 GiB is lying. */
#define XZ_MEMLIMIT (128u * 1024 * 1024)

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[3] << 24;
}

static uint16_t le16(const unsigned char *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int unxz(const unsigned char *in, size_t inlen, unsigned char *out,
		size_t outlen)
{
	lzma_stream s = LZMA_STREAM_INIT;
	lzma_ret r;

	if (lzma_stream_decoder(&s, XZ_MEMLIMIT, 0) != LZMA_OK)
		return -ENOMEM;
	s.next_in = in;
	s.avail_in = inlen;
	s.next_out = out;
	s.avail_out = outlen;
	/* The size field follows the stream: stop at its end. */
	r = lzma_code(&s, LZMA_FINISH);
	lzma_end(&s);
	return r == LZMA_STREAM_END && s.avail_out == 0 ? 0 : -EINVAL;
}

static int gunzip(const unsigned char *in, size_t inlen, unsigned char *out,
		  size_t outlen)
{
	z_stream z;
	int r;

	memset(&z, 0, sizeof(z));
	if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK)
		return -ENOMEM;
	z.next_in = (unsigned char *)in;
	z.avail_in = (uInt)inlen;
	z.next_out = out;
	z.avail_out = (uInt)outlen;
	r = inflate(&z, Z_FINISH);
	inflateEnd(&z);
	return r == Z_STREAM_END && z.avail_out == 0 ? 0 : -EINVAL;
}

int rt_bzimage_unpack(const char *kernel, void **elf, size_t *len)
{
	const unsigned char *img = MAP_FAILED, *pl;
	static const unsigned char xz_magic[6] = { 0xfd, '7', 'z', 'X', 'Z', 0 };
	unsigned char *out = NULL;
	size_t off, plen, outlen = 0;
	struct stat st;
	int fd, rc;

	*elf = NULL;
	*len = 0;
	fd = open(kernel, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode) || st.st_size < 0x250) {
		close(fd);
		return -ENOEXEC;
	}
	img = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (img == MAP_FAILED)
		return -errno;
	rc = -ENOEXEC;
	if (memcmp(img + 0x202, "HdrS", 4) || le16(img + 0x206) < 0x0208)
		goto out;
	off = ((size_t)(img[0x1f1] ? img[0x1f1] : 4) + 1) * 512 +
	      le32(img + 0x248);
	plen = le32(img + 0x24c);
	if (plen < 8 || off > (size_t)st.st_size ||
	    plen > (size_t)st.st_size - off)
		goto out;
	pl = img + off;
	outlen = le32(pl + plen - 4);
	if (outlen < 64 || outlen > ELF_MAX)
		goto out;
	rc = -ENOTSUP;
	if (memcmp(pl, xz_magic, sizeof(xz_magic)) &&
	    !(pl[0] == 0x1f && pl[1] == 0x8b))
		goto out;
	out = malloc(outlen);
	if (!out) {
		rc = -ENOMEM;
		goto out;
	}
	/* A gzip stream ends in its own size (ISIZE), which is the field:
	 * inflate wants it, and stops at the stream's end whatever follows.
	 * xz's size is appended after the stream. */
	rc = pl[0] == 0x1f ? gunzip(pl, plen, out, outlen) :
			     unxz(pl, plen - 4, out, outlen);
	if (!rc && memcmp(out, "\177ELF", 4))
		rc = -ENOEXEC;
	if (!rc) {
		*elf = out;
		*len = outlen;
		out = NULL;
	}
out:
	free(out);
	munmap((void *)img, (size_t)st.st_size);
	return rc;
}

/* Walks the notes of one PT_NOTE segment for Xen's note of type want. */
static bool has_xen_note(const unsigned char *n, size_t len, uint32_t want)
{
	while (len >= 12) {
		uint32_t nsz = le32(n), dsz = le32(n + 4), type = le32(n + 8);
		size_t step = 12 + ((nsz + 3u) & ~3u) + ((dsz + 3u) & ~3u);

		if (nsz > len || dsz > len || step > len)
			return false;
		if (type == want && nsz == 4 && !memcmp(n + 12, "Xen", 4))
			return true;
		n += step;
		len -= step;
	}
	return false;
}

bool rt_elf_has_pvh_entry(const void *elf, size_t len)
{
	const unsigned char *e = elf;
	uint64_t phoff;
	uint16_t phentsize, phnum, i;

	/* ELF64, little-endian: what QEMU's PVH loader takes for x86-64. */
	if (len < 64 || memcmp(e, "\177ELF", 4) || e[4] != 2 || e[5] != 1)
		return false;
	phoff = (uint64_t)le32(e + 0x20) | (uint64_t)le32(e + 0x24) << 32;
	phentsize = le16(e + 0x36);
	phnum = le16(e + 0x38);
	if (phentsize < 56 || phoff > len ||
	    (uint64_t)phnum * phentsize > len - phoff)
		return false;
	for (i = 0; i < phnum; i++) {
		const unsigned char *ph = e + phoff + (size_t)i * phentsize;
		uint64_t off = (uint64_t)le32(ph + 8) |
			       (uint64_t)le32(ph + 12) << 32;
		uint64_t sz = (uint64_t)le32(ph + 32) |
			      (uint64_t)le32(ph + 36) << 32;

		/* PT_NOTE; XEN_ELFNOTE_PHYS32_ENTRY is 18. */
		if (le32(ph) == 4 && off <= len && sz <= len - off &&
		    has_xen_note(e + off, (size_t)sz, 18))
			return true;
	}
	return false;
}
