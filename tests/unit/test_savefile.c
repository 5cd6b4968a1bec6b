/*
 * The save file's header (libxl/savefile.c): what the writer puts down
 * reads back the same, the reader leaves the descriptor where the
 * hypervisor's stream starts, and each malformed header is refused with
 * its own message naming the file (a save file is hostile input).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "enso/libxl.h"

#define SRC "test.save"
static const char magic[32] = "Xen saved domain, xl format\n \0 \r";
static const char payload[] = "QEVM and the rest of QEMU's stream";

static int mem_file(void)
{
	int fd = memfd_create("savefile", 0);

	assert_true(fd >= 0);
	return fd;
}

static void put(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

/* A header as another writer would lay it down. */
static int raw_header(uint32_t byteorder, uint32_t mandatory,
		      uint32_t optlen, const void *opt, size_t optbytes)
{
	int fd = mem_file();
	uint32_t v[4] = { byteorder, mandatory, 0, optlen };

	put(fd, magic, sizeof(magic));
	put(fd, v, sizeof(v));
	if (optbytes)
		put(fd, opt, optbytes);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	return fd;
}

/* Reading fd fails with -EINVAL and a message naming the file and
 * holding want. */
static void refused(int fd, const char *want, bool have_fixed)
{
	struct enso_save_header h;
	struct enso_error err = { "" };

	assert_int_equal(enso_save_header_read(fd, SRC, &h, &err), -EINVAL);
	assert_non_null(strstr(err.msg, SRC));
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	assert_int_equal(h.have_fixed, have_fixed);
	assert_null(h.config);
	enso_save_header_dispose(&h);
	close(fd);
}

static void round_trip(void **state)
{
	const char *json = "{\n  \"c_info\": { \"name\": \"d1\" }\n}\n";
	struct enso_save_header w, r;
	struct enso_error err = { "" };
	char after[sizeof(payload)];
	int fd = mem_file();

	(void)state;
	assert_int_equal(enso_save_header_write(fd, SRC, json, 0, &w, &err), 0);
	put(fd, payload, sizeof(payload));
	assert_int_equal(w.mandatory_flags, ENSO_SAVE_MANDATORY_JSON);
	assert_int_equal(w.optional_data_len, 4 + strlen(json) + 1);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(enso_save_header_read(fd, SRC, &r, &err), 0);
	assert_true(r.have_fixed);
	assert_int_equal(r.mandatory_flags, w.mandatory_flags);
	assert_int_equal(r.optional_flags, 0);
	assert_int_equal(r.optional_data_len, w.optional_data_len);
	assert_string_equal(r.config, json);
	assert_int_equal(r.config_len, strlen(json) + 1);
	/* The stream starts right where the reader stopped. */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 48 + w.optional_data_len);
	assert_int_equal(read(fd, after, sizeof(after)), (ssize_t)sizeof(after));
	assert_memory_equal(after, payload, sizeof(payload));
	enso_save_header_dispose(&r);
	enso_save_header_dispose(&r);	/* idempotent */
	enso_save_header_dispose(&w);
	close(fd);
}

static void layout_is_upstreams(void **state)
{
	struct enso_save_header w;
	struct enso_error err = { "" };
	unsigned char b[64];
	uint32_t v[5];
	int fd = mem_file();

	(void)state;
	assert_int_equal(enso_save_header_write(fd, SRC, "{}", 0, &w, &err), 0);
	assert_int_equal(pread(fd, b, sizeof(b), 0), 48 + 4 + 3);
	assert_memory_equal(b, magic, 32);
	memcpy(v, b + 32, sizeof(v));
	assert_int_equal(v[0], 0x01020304);
	assert_int_equal(v[1], 1);	/* XL_MANDATORY_FLAG_JSON */
	assert_int_equal(v[2], 0);
	assert_int_equal(v[3], 4 + 3);
	assert_int_equal(v[4], 3);	/* "{}" and its NUL */
	assert_memory_equal(b + 52, "{}", 3);
	close(fd);
}

static void no_config(void **state)
{
	struct enso_save_header w, r;
	struct enso_error err = { "" };
	int fd = mem_file();

	(void)state;
	assert_int_equal(enso_save_header_write(fd, SRC, NULL,
						ENSO_SAVE_MANDATORY_STREAMV2,
						&w, &err), 0);
	assert_int_equal(w.mandatory_flags, ENSO_SAVE_MANDATORY_STREAMV2);
	assert_int_equal(w.optional_data_len, 0);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(enso_save_header_read(fd, SRC, &r, &err), 0);
	assert_null(r.config);
	assert_int_equal(r.mandatory_flags, ENSO_SAVE_MANDATORY_STREAMV2);
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 48);
	close(fd);
}

static void config_without_nul(void **state)
{
	unsigned char opt[4 + 2];
	uint32_t clen = 2;
	struct enso_save_header r;
	struct enso_error err = { "" };
	int fd;

	(void)state;
	memcpy(opt, &clen, 4);
	memcpy(opt + 4, "{}", 2);
	fd = raw_header(0x01020304, 1, sizeof(opt), opt, sizeof(opt));
	assert_int_equal(enso_save_header_read(fd, SRC, &r, &err), 0);
	assert_string_equal(r.config, "{}");
	enso_save_header_dispose(&r);
	close(fd);
}

static void writer_refuses_unknown_flags(void **state)
{
	struct enso_save_header w;
	struct enso_error err = { "" };
	int fd = mem_file();

	(void)state;
	assert_int_equal(enso_save_header_write(fd, SRC, "{}", 4, &w, &err),
			 -EINVAL);
	assert_int_equal(lseek(fd, 0, SEEK_END), 0);	/* nothing written */
	close(fd);
}

static void empty_file(void **state)
{
	(void)state;
	refused(mem_file(), "file/stream truncated reading header", false);
}

static void truncated_header(void **state)
{
	int fd = mem_file();

	(void)state;
	put(fd, magic, 20);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	refused(fd, "file/stream truncated reading header", false);
}

static void wrong_magic(void **state)
{
	int fd = mem_file();
	uint32_t v[4] = { 0x01020304, 1, 0, 0 };

	(void)state;
	put(fd, "Xen saved domain, xm format\n \0 \r", 32);
	put(fd, v, sizeof(v));
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	refused(fd, "File has wrong magic number - corrupt or for a different tool?",
		false);
}

static void wrong_byte_order(void **state)
{
	(void)state;
	refused(raw_header(0x04030201, 1, 0, NULL, 0),
		"File has wrong byte order", false);
}

static void unknown_mandatory_flag(void **state)
{
	(void)state;
	refused(raw_header(0x01020304, 1 | 8, 0, NULL, 0),
		"Savefile has mandatory flag(s) 0x8 which are not supported; need newer xl",
		true);
}

static void truncated_optdata(void **state)
{
	(void)state;
	refused(raw_header(0x01020304, 1, 100, "\x05\0\0\0{}", 6),
		"file/stream truncated reading optdata", true);
}

static void config_longer_than_optdata(void **state)
{
	unsigned char opt[8] = { 200, 0, 0, 0, '{', '}', 0, 0 };

	(void)state;
	refused(raw_header(0x01020304, 1, sizeof(opt), opt, sizeof(opt)),
		"Savefile truncated.", true);
}

static void optdata_too_short_for_length(void **state)
{
	(void)state;
	refused(raw_header(0x01020304, 1, 2, "\1\0", 2), "Savefile truncated.",
		true);
}

static void optdata_huge(void **state)
{
	(void)state;
	/* Refused on its length alone: nothing that size is allocated. */
	refused(raw_header(0x01020304, 1, 0xffffffffu, NULL, 0),
		"more than a save file holds", true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(layout_is_upstreams),
		cmocka_unit_test(no_config),
		cmocka_unit_test(config_without_nul),
		cmocka_unit_test(writer_refuses_unknown_flags),
		cmocka_unit_test(empty_file),
		cmocka_unit_test(truncated_header),
		cmocka_unit_test(wrong_magic),
		cmocka_unit_test(wrong_byte_order),
		cmocka_unit_test(unknown_mandatory_flag),
		cmocka_unit_test(truncated_optdata),
		cmocka_unit_test(config_longer_than_optdata),
		cmocka_unit_test(optdata_too_short_for_length),
		cmocka_unit_test(optdata_huge),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
