/*
 * The Xen backend's kernel cache (backends/xen/kcache.c), on this host's
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
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "backends/xen/xen.h"

struct fixture {
	char dir[64];
	char kernel[96];
	struct enso_ctx ctx;
};

static const char elf[] = "\177ELF and the rest of a decompressed kernel";

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
	char buf[sizeof(elf)] = "";
	char *path;
	FILE *in;

	assert_null(xen_kcache_lookup(&f->ctx, f->kernel));
	xen_kcache_store(&f->ctx, f->kernel, elf, sizeof(elf));
	path = xen_kcache_lookup(&f->ctx, f->kernel);
	assert_non_null(path);
	in = fopen(path, "r");
	assert_non_null(in);
	assert_int_equal(fread(buf, 1, sizeof(buf), in), sizeof(elf));
	fclose(in);
	assert_memory_equal(buf, elf, sizeof(elf));
	assert_int_equal(entries(f->dir), 1);
	free(path);
}

static void nothing_kept_unless_decompressed(void **state)
{
	struct fixture *f = *state;

	/* The builder's blob is no ELF (it failed, or the format is one the
	 * builder loads as it is): nothing to keep. */
	xen_kcache_store(&f->ctx, f->kernel, "MZ...", 5);
	assert_int_equal(entries(f->dir), 0);
	/* The kernel file is an ELF already: nothing was decompressed. */
	write_file(f->kernel, elf, sizeof(elf));
	xen_kcache_store(&f->ctx, f->kernel, elf, sizeof(elf));
	assert_int_equal(entries(f->dir), 0);
	assert_null(xen_kcache_lookup(&f->ctx, f->kernel));
}

static void a_changed_kernel_misses(void **state)
{
	struct fixture *f = *state;
	struct timeval later[2] = { { 2000000000, 0 }, { 2000000000, 0 } };

	xen_kcache_store(&f->ctx, f->kernel, elf, sizeof(elf));
	assert_int_equal(utimes(f->kernel, later), 0);
	assert_null(xen_kcache_lookup(&f->ctx, f->kernel));
	/* Replaced by another file of the same name: another inode. */
	xen_kcache_store(&f->ctx, f->kernel, elf, sizeof(elf));
	assert_int_equal(unlink(f->kernel), 0);
	write_file(f->kernel, "MZ...HdrS compressed", 20);
	assert_null(xen_kcache_lookup(&f->ctx, f->kernel));
	assert_null(xen_kcache_lookup(&f->ctx, "/nonexistent/vmlinuz"));
}

static void a_forgotten_or_bad_entry_misses(void **state)
{
	struct fixture *f = *state;
	char *path;

	xen_kcache_store(&f->ctx, f->kernel, elf, sizeof(elf));
	path = xen_kcache_lookup(&f->ctx, f->kernel);
	assert_non_null(path);
	write_file(path, "garbage", 7);
	assert_null(xen_kcache_lookup(&f->ctx, f->kernel));
	xen_kcache_forget(path);
	assert_int_equal(entries(f->dir), 0);
	xen_kcache_forget(NULL);
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
		xen_kcache_store(&f->ctx, name, elf, sizeof(elf));
		path = xen_kcache_lookup(&f->ctx, name);
		assert_non_null(path);
		/* Entries age by their own modification time. */
		assert_int_equal(utimes(path, t), 0);
		free(path);
	}
	assert_int_equal(entries(f->dir), 4);
	for (i = 0; i < 7; i++) {
		char name[128], *path;

		snprintf(name, sizeof(name), "%s/vmlinuz-%d", f->dir, i);
		path = xen_kcache_lookup(&f->ctx, name);
		if (i < 3)
			assert_null(path);
		else
			assert_non_null(path);
		free(path);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stored_elf_is_found_with_its_bytes, setup, teardown),
		cmocka_unit_test_setup_teardown(nothing_kept_unless_decompressed, setup, teardown),
		cmocka_unit_test_setup_teardown(a_changed_kernel_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(a_forgotten_or_bad_entry_misses, setup, teardown),
		cmocka_unit_test_setup_teardown(only_the_newest_four_are_kept, setup, teardown),
	};

	return cmocka_run_group_tests_name("kcache", tests, NULL, NULL);
}
