/*
 * libxl's kernel cache (libxl/kcache.c), on this host's
 * file system: what is kept, under which name, when it is used again, and
 * that it never keeps what was not decompressed.  The rig proves the same
 * cache under the real builder (xl-xen/kernel-cache).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <lzma.h>
#include <zlib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "libxl/runtime.h"

struct fixture {
	char dir[64];
	char kernel[96];
	struct enso_ctx ctx;
};

static const char elf_bytes[] = "\177ELF and the rest of a decompressed kernel";

static void write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static int entries(const char *dir)
{
	char path[128];
	struct dirent *de;
	int n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "%s/kernel-cache", dir);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		n += de->d_name[0] != '.';
	closedir(d);
	return n;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/enso-kcache.XXXXXX");
	if (!mkdtemp(f->dir))
		return -1;
	snprintf(f->kernel, sizeof(f->kernel), "%s/vmlinuz", f->dir);
	write_file(f->kernel, "MZ...HdrS compressed", 20);
	f->ctx.lib_dir = f->dir;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

static void stored_elf_is_found_with_its_bytes(void **state)
{
	struct fixture *f = *state;
	char buf[sizeof(elf_bytes)] = "";
	char *path;
	FILE *in;

	assert_null(rt_kcache_lookup(&f->ctx, f->kernel));
	rt_kcache_store(&f->ctx, f->kernel, elf_bytes, sizeof(elf_bytes));
	path = rt_kcache_lookup(&f->ctx, f->kernel);
	assert_non_null(path);
	in = fopen(path, "r");
	assert_non_null(in);
	assert_int_equal(fread(buf, 1, sizeof(buf), in), sizeof(elf_bytes));
	fclose(in);
	assert_memory_equal(buf, elf_bytes, sizeof(elf_bytes));
	assert_int_equal(entries(f->dir), 1);
	free(path);
}

static void nothing_kept_unless_decompressed(void **state)
{
	struct fixture *f = *state;

	/* The builder's blob is no ELF (it failed, or the format is one the
	 * builder loads as it is): nothing to keep. */
	rt_kcache_store(&f->ctx, f->kernel, "MZ...", 5);
	assert_int_equal(entries(f->dir), 0);
	/* The kernel file is an ELF already: nothing was decompressed. */
	write_file(f->kernel, elf_bytes, sizeof(elf_bytes));
	rt_kcache_store(&f->ctx, f->kernel, elf_bytes, sizeof(elf_bytes));
	assert_int_equal(entries(f->dir), 0);
	assert_null(rt_kcache_lookup(&f->ctx, f->kernel));
}

static void a_changed_kernel_misses(void **state)
{
	struct fixture *f = *state;
	struct timeval later[2] = { { 2000000000, 0 }, { 2000000000, 0 } };

	rt_kcache_store(&f->ctx, f->kernel, elf_bytes, sizeof(elf_bytes));
	assert_int_equal(utimes(f->kernel, later), 0);
	assert_null(rt_kcache_lookup(&f->ctx, f->kernel));
	/* Replaced by another file of the same name: another inode. */
	rt_kcache_store(&f->ctx, f->kernel, elf_bytes, sizeof(elf_bytes));
	assert_int_equal(unlink(f->kernel), 0);
	write_file(f->kernel, "MZ...HdrS compressed", 20);
	assert_null(rt_kcache_lookup(&f->ctx, f->kernel));
	assert_null(rt_kcache_lookup(&f->ctx, "/nonexistent/vmlinuz"));
}

static void a_forgotten_or_bad_entry_misses(void **state)
{
	struct fixture *f = *state;
	char *path;

	rt_kcache_store(&f->ctx, f->kernel, elf_bytes, sizeof(elf_bytes));
	path = rt_kcache_lookup(&f->ctx, f->kernel);
	assert_non_null(path);
	write_file(path, "garbage", 7);
	assert_null(rt_kcache_lookup(&f->ctx, f->kernel));
	rt_kcache_forget(path);
	assert_int_equal(entries(f->dir), 0);
	rt_kcache_forget(NULL);
	free(path);
}

static void only_the_newest_four_are_kept(void **state)
{
	struct fixture *f = *state;
	int i;

	for (i = 0; i < 7; i++) {
		char name[128];
		struct timeval t[2] = { { 1000000000 + i, 0 },
					{ 1000000000 + i, 0 } };
		char *path;

		snprintf(name, sizeof(name), "%s/vmlinuz-%d", f->dir, i);
		write_file(name, "MZ...HdrS compressed", 20);
		rt_kcache_store(&f->ctx, name, elf_bytes, sizeof(elf_bytes));
		path = rt_kcache_lookup(&f->ctx, name);
		assert_non_null(path);
		/* Entries age by their own modification time. */
		assert_int_equal(utimes(path, t), 0);
		free(path);
	}
	assert_int_equal(entries(f->dir), 4);
	for (i = 0; i < 7; i++) {
		char name[128], *path;

		snprintf(name, sizeof(name), "%s/vmlinuz-%d", f->dir, i);
		path = rt_kcache_lookup(&f->ctx, name);
		if (i < 3)
			assert_null(path);
		else
			assert_non_null(path);
		free(path);
	}
}

/* ---- bzimage.c ---- */

/* A 64-bit ELF with one PT_NOTE holding Xen's note of type note_type. */
static size_t fake_elf(unsigned char *out, size_t cap, uint32_t note_type)
{
	size_t len = 64 + 56 + 32;
	unsigned char *ph = out + 64, *n = out + 120;

	assert_true(cap >= len);
	memset(out, 0, len);
	memcpy(out, "\177ELF", 4);
	out[4] = 2;		/* 64-bit */
	out[5] = 1;		/* little-endian */
	out[0x20] = 64;		/* e_phoff */
	out[0x36] = 56;		/* e_phentsize */
	out[0x38] = 1;		/* e_phnum */
	ph[0] = 4;		/* PT_NOTE */
	ph[8] = 120;		/* p_offset */
	ph[32] = 32;		/* p_filesz */
	n[0] = 4;		/* namesz */
	n[4] = 8;		/* descsz */
	n[8] = (unsigned char)note_type;
	memcpy(n + 12, "Xen", 4);
	return len;
}

/* A bzImage (boot protocol 2.15, one setup sector) around payload. */
static void write_bzimage(const char *path, const unsigned char *payload,
			  size_t plen, uint32_t size_field)
{
	unsigned char *img = calloc(1, 1024 + plen + 4);
	size_t total = 1024 + plen + 4;

	assert_non_null(img);
	img[0x1f1] = 1;
	memcpy(img + 0x202, "HdrS", 4);
	img[0x206] = 0x0f;
	img[0x207] = 0x02;
	/* payload_offset 0 (from the end of the setup), payload_length */
	img[0x24c] = (unsigned char)(plen + 4);
	img[0x24d] = (unsigned char)((plen + 4) >> 8);
	memcpy(img + 1024, payload, plen);
	memcpy(img + 1024 + plen, &size_field, 4);	/* x86: little-endian */
	write_file(path, (const char *)img, total);
	free(img);
}

static void bzimage_gzip_and_xz_payloads_unpack(void **state)
{
	struct fixture *f = *state;
	unsigned char raw[256], packed[1024];
	size_t rlen = fake_elf(raw, sizeof(raw), 18), plen;
	void *elf;
	size_t len;
	z_stream z;

	/* gzip */
	memset(&z, 0, sizeof(z));
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 16 + MAX_WBITS, 8,
				      Z_DEFAULT_STRATEGY), Z_OK);
	z.next_in = raw;
	z.avail_in = (uInt)rlen;
	z.next_out = packed;
	z.avail_out = sizeof(packed);
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	plen = sizeof(packed) - z.avail_out;
	deflateEnd(&z);
	write_bzimage(f->kernel, packed, plen, (uint32_t)rlen);
	assert_int_equal(rt_bzimage_unpack(f->kernel, &elf, &len), 0);
	assert_int_equal(len, rlen);
	assert_memory_equal(elf, raw, rlen);
	assert_true(rt_elf_has_pvh_entry(elf, len));
	free(elf);

	/* gzip as Linux packs it: nothing appended, the stream's own last
	 * four bytes (ISIZE) are the size. */
	assert_true(plen > 8);
	write_bzimage(f->kernel, packed, plen - 4,
		      (uint32_t)packed[plen - 4] | (uint32_t)packed[plen - 3] << 8 |
		      (uint32_t)packed[plen - 2] << 16 | (uint32_t)packed[plen - 1] << 24);
	assert_int_equal(rt_bzimage_unpack(f->kernel, &elf, &len), 0);
	assert_int_equal(len, rlen);
	assert_memory_equal(elf, raw, rlen);
	free(elf);

	/* xz */
	plen = 0;
	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, raw,
						 rlen, packed, &plen,
						 sizeof(packed)), LZMA_OK);
	write_bzimage(f->kernel, packed, plen, (uint32_t)rlen);
	assert_int_equal(rt_bzimage_unpack(f->kernel, &elf, &len), 0);
	assert_int_equal(len, rlen);
	assert_memory_equal(elf, raw, rlen);
	free(elf);

	/* A size field that lies: no ELF, an error. */
	write_bzimage(f->kernel, packed, plen, (uint32_t)rlen + 100);
	assert_int_equal(rt_bzimage_unpack(f->kernel, &elf, &len), -EINVAL);
	assert_null(elf);
	/* A payload cut short. */
	write_bzimage(f->kernel, packed, plen / 2, (uint32_t)rlen);
	assert_int_equal(rt_bzimage_unpack(f->kernel, &elf, &len), -EINVAL);
}

/* An xz stream whose block header asks for a 4 GiB dictionary (LZMA2's
 * dictionary byte 40; the header's CRC32 made right): liblzma allocates
 * what a stream declares unless given a limit. */
static void bzimage_xz_dictionary_is_bounded(void **state)
{
	struct fixture *f = *state;
	unsigned char raw[256], packed[1024];
	size_t rlen = fake_elf(raw, sizeof(raw), 18), plen = 0, hsize;
	uint32_t crc;
	void *elf;
	size_t len, p = 14, vli;

	assert_int_equal(lzma_easy_buffer_encode(6, LZMA_CHECK_CRC32, NULL, raw,
						 rlen, packed, &plen,
						 sizeof(packed)), LZMA_OK);
	/* After the 12-byte stream header: the header's size, its flags,
	 * the sizes the flags announce (variable-length), the filter. */
	hsize = ((size_t)packed[12] + 1) * 4;
	for (vli = 0; vli < (size_t)!!(packed[13] & 0x40) + !!(packed[13] & 0x80); vli++)
		while (packed[p++] & 0x80)
			;
	assert_int_equal(packed[p], 0x21);	/* LZMA2 */
	assert_int_equal(packed[p + 1], 1);	/* one byte of properties */
	packed[p + 2] = 40;
	crc = (uint32_t)crc32(0, packed + 12, (uInt)(hsize - 4));
	memcpy(packed + 12 + hsize - 4, &crc, 4);	/* little-endian */
	write_bzimage(f->kernel, packed, plen, (uint32_t)rlen);
	assert_int_equal(rt_bzimage_unpack(f->kernel, &elf, &len), -EINVAL);
	assert_null(elf);
}

static void bzimage_refuses_what_it_cannot_unpack(void **state)
{
	struct fixture *f = *state;
	const unsigned char zstd[8] = { 0x28, 0xb5, 0x2f, 0xfd, 1, 2, 3, 4 };
	void *elf;
	size_t len;

	/* setup() wrote a file that is no bzImage at all. */
	assert_int_equal(rt_bzimage_unpack(f->kernel, &elf, &len), -ENOEXEC);
	write_bzimage(f->kernel, zstd, sizeof(zstd), 4096);
	assert_int_equal(rt_bzimage_unpack(f->kernel, &elf, &len), -ENOTSUP);
	assert_int_equal(rt_bzimage_unpack("/nonexistent", &elf, &len), -ENOENT);
	assert_null(elf);
}

static void pvh_entry_needs_the_note(void **state)
{
	unsigned char e[256];
	size_t len;

	(void)state;
	len = fake_elf(e, sizeof(e), 18);
	assert_true(rt_elf_has_pvh_entry(e, len));
	len = fake_elf(e, sizeof(e), 17);	/* another Xen note */
	assert_false(rt_elf_has_pvh_entry(e, len));
	len = fake_elf(e, sizeof(e), 18);
	e[120] = 0xff;				/* namesz past the end */
	assert_false(rt_elf_has_pvh_entry(e, len));
	len = fake_elf(e, sizeof(e), 18);
	e[0x38] = 200;				/* phnum past the end */
	assert_false(rt_elf_has_pvh_entry(e, len));
	assert_false(rt_elf_has_pvh_entry(e, 10));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stored_elf_is_found_with_its_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_kept_unless_decompressed, setup, teardown),
		cmocka_unit_test_setup_teardown(a_changed_kernel_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(a_forgotten_or_bad_entry_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(only_the_newest_four_are_kept, setup, teardown),
		cmocka_unit_test_setup_teardown(bzimage_gzip_and_xz_payloads_unpack, setup, teardown),
		cmocka_unit_test_setup_teardown(bzimage_xz_dictionary_is_bounded, setup, teardown),
		cmocka_unit_test_setup_teardown(bzimage_refuses_what_it_cannot_unpack, setup, teardown),
		cmocka_unit_test(pvh_entry_needs_the_note),
	};

	return cmocka_run_group_tests_name("kcache", tests, NULL, NULL);
}
