/*
 * libxl's migration stream v2 (backends/xen/stream.c): what the writer
 * puts down is the spec's layout and reads back; the reader leaves the
 * descriptor where libxc's stream starts after LIBXC_CONTEXT; optional
 * records it does not know are skipped; and every malformed stream (a
 * save file is hostile input) is refused by a message naming the file and
 * the place, never by a crash.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <endian.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "backends/xen/stream.h"

#define SRC "test.save"
static const char libxc_bytes[] = "libxc's own stream, inline";

static int mem_file(void)
{
	int fd = memfd_create("stream", 0);

	assert_true(fd >= 0);
	return fd;
}

static void put(int fd, const void *p, size_t n)
{
	assert_int_equal(write(fd, p, n), (ssize_t)n);
}

static void put_header(int fd, uint32_t version, uint32_t options)
{
	uint64_t ident = htobe64(0x4c6962786c466d74ull);

	version = htobe32(version);
	options = htobe32(options);
	put(fd, &ident, 8);
	put(fd, &version, 4);
	put(fd, &options, 4);
}

/* A record as another writer would lay it down: little-endian, the body,
 * pad bytes of the given value. */
static void put_rec(int fd, uint32_t type, uint32_t len, const void *body,
		    size_t body_bytes, uint8_t pad)
{
	uint32_t h[2] = { htole32(type), htole32(len) };
	uint8_t p[8];

	memset(p, pad, sizeof(p));
	put(fd, h, sizeof(h));
	if (body_bytes)
		put(fd, body, body_bytes);
	if (body_bytes == len && len % 8)
		put(fd, p, 8 - len % 8);
}

static void rewind_fd(int fd)
{
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
}

/* Reading fd up to its END fails with -EINVAL (or EINVAL-like), and the
 * message names the file and holds want. */
static void refused(int fd, const char *want)
{
	struct xen_stream s;
	struct xen_stream_rec r;
	struct enso_error err = { "" };
	int rc;

	rewind_fd(fd);
	xen_stream_init(&s, SRC);
	rc = xen_stream_read_header(fd, &s, &err);
	while (!rc) {
		rc = xen_stream_read_record(fd, &s, &r, &err);
		if (!rc && r.type == XEN_REC_END)
			fail_msg("stream read to its END; want a refusal with '%s'",
				 want);
		if (!rc)
			assert_true(r.len == 0 || r.body != NULL);
		xen_stream_rec_dispose(&r);
	}
	assert_int_equal(rc, -EINVAL);
	assert_non_null(strstr(err.msg, SRC));
	if (!strstr(err.msg, want))
		fail_msg("message '%s' lacks '%s'", err.msg, want);
	close(fd);
}

static void round_trip(void **state)
{
	static const char keys[] = "a\0b\0cc\0";	/* 7 bytes: padded */
	static const char opt[] = "skip me";
	struct xen_stream w, s;
	struct xen_stream_rec r;
	struct enso_error err = { "" };
	char after[sizeof(libxc_bytes)];
	int fd = mem_file();

	(void)state;
	xen_stream_init(&w, SRC);
	assert_int_equal(xen_stream_write_header(fd, &w, &err), 0);
	assert_int_equal(xen_stream_write_record(fd, &w, XEN_REC_LIBXC_CONTEXT,
						 NULL, 0, &err), 0);
	put(fd, libxc_bytes, sizeof(libxc_bytes));
	/* An optional record of a newer writer, between the known ones. */
	assert_int_equal(xen_stream_write_record(fd, &w, XEN_REC_OPTIONAL | 0x42,
						 opt, sizeof(opt), &err), 0);
	assert_int_equal(xen_stream_write_record(fd, &w,
						 XEN_REC_EMULATOR_XENSTORE_DATA,
						 keys, sizeof(keys) - 1, &err), 0);
	assert_int_equal(xen_stream_write_record(fd, &w, XEN_REC_END, NULL, 0,
						 &err), 0);
	/* header, LIBXC_CONTEXT, libxc's part, 8 + 8 padded, 8 + 8, END */
	assert_int_equal(lseek(fd, 0, SEEK_CUR),
			 16 + 8 + (off_t)sizeof(libxc_bytes) + 16 + 16 + 8);

	rewind_fd(fd);
	xen_stream_init(&s, SRC);
	assert_int_equal(xen_stream_read_header(fd, &s, &err), 0);
	assert_false(s.big_endian);
	assert_int_equal(xen_stream_read_record(fd, &s, &r, &err), 0);
	assert_int_equal(r.type, XEN_REC_LIBXC_CONTEXT);
	assert_int_equal(r.len, 0);
	assert_null(r.body);
	/* libxc's stream starts right where the reader stopped. */
	assert_int_equal(lseek(fd, 0, SEEK_CUR), 16 + 8);
	assert_int_equal(read(fd, after, sizeof(after)), (ssize_t)sizeof(after));
	assert_memory_equal(after, libxc_bytes, sizeof(after));
	assert_int_equal(xen_stream_read_record(fd, &s, &r, &err), 0);
	assert_int_equal(r.type, XEN_REC_EMULATOR_XENSTORE_DATA);
	assert_int_equal(r.len, sizeof(keys) - 1);
	assert_memory_equal(r.body, keys, sizeof(keys) - 1);
	xen_stream_rec_dispose(&r);
	xen_stream_rec_dispose(&r);	/* idempotent */
	assert_int_equal(xen_stream_read_record(fd, &s, &r, &err), 0);
	assert_int_equal(r.type, XEN_REC_END);
	assert_int_equal(s.records, 4);
	assert_int_equal(read(fd, after, 1), 0);	/* nothing after END */
	close(fd);
}

static void layout_is_the_specs(void **state)
{
	static const uint8_t want[] = {
		'L', 'i', 'b', 'x', 'l', 'F', 'm', 't',
		0, 0, 0, 2, 0, 0, 0, 0,		/* version 2, little-endian */
		3, 0, 0, 0, 3, 0, 0, 0,		/* EMULATOR_CONTEXT, 3 bytes */
		'a', 'b', 'c', 0, 0, 0, 0, 0,	/* padded to 8 */
		0, 0, 0, 0, 0, 0, 0, 0,		/* END */
	};
	struct xen_stream w;
	struct enso_error err = { "" };
	uint8_t b[sizeof(want) + 8];
	int fd = mem_file();

	(void)state;
	xen_stream_init(&w, SRC);
	assert_int_equal(xen_stream_write_header(fd, &w, &err), 0);
	assert_int_equal(xen_stream_write_record(fd, &w, XEN_REC_EMULATOR_CONTEXT,
						 "abc", 3, &err), 0);
	assert_int_equal(xen_stream_write_record(fd, &w, XEN_REC_END, NULL, 0,
						 &err), 0);
	assert_int_equal(pread(fd, b, sizeof(b), 0), (ssize_t)sizeof(want));
	assert_memory_equal(b, want, sizeof(want));
	assert_string_equal(xen_stream_rec_name(XEN_REC_CHECKPOINT_STATE),
			    "CHECKPOINT_STATE");
	assert_null(xen_stream_rec_name(6));
	close(fd);
}

static void big_endian_records(void **state)
{
	uint32_t h[2] = { htobe32(XEN_REC_CHECKPOINT_STATE), htobe32(4) };
	uint32_t end[2] = { 0, 0 };
	struct xen_stream s;
	struct xen_stream_rec r;
	struct enso_error err = { "" };
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 1);
	put(fd, h, sizeof(h));
	put(fd, "\0\0\0\1\0\0\0\0", 8);
	put(fd, end, sizeof(end));
	rewind_fd(fd);
	xen_stream_init(&s, SRC);
	assert_int_equal(xen_stream_read_header(fd, &s, &err), 0);
	assert_true(s.big_endian);
	assert_int_equal(xen_stream_read_record(fd, &s, &r, &err), 0);
	assert_int_equal(r.type, XEN_REC_CHECKPOINT_STATE);
	assert_int_equal(r.len, 4);
	xen_stream_rec_dispose(&r);
	assert_int_equal(xen_stream_read_record(fd, &s, &r, &err), 0);
	assert_int_equal(r.type, XEN_REC_END);
	close(fd);
}

static void wrong_magic(void **state)
{
	int fd = mem_file();

	(void)state;
	put(fd, "QEVM\0\0\0\3 and QEMU's stream", 26);
	refused(fd, "not libxl's migration stream (it starts 51 45 56 4d");
}

static void wrong_version(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 3, 0);
	put_rec(fd, XEN_REC_END, 0, NULL, 0, 0);
	refused(fd, "libxl stream version 3");
}

static void unknown_options(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0x10);
	put_rec(fd, XEN_REC_END, 0, NULL, 0, 0);
	refused(fd, "bits this Enso does not know (0x10)");
}

static void unknown_mandatory(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put_rec(fd, XEN_REC_LIBXC_CONTEXT, 0, NULL, 0, 0);
	put_rec(fd, 0x42, 8, "whatever", 8, 0);
	put_rec(fd, XEN_REC_END, 0, NULL, 0, 0);
	refused(fd, "record 2 is of type 0x42, a mandatory record this Enso does not know (at byte 32)");
}

static void truncated_header(void **state)
{
	int fd = mem_file();

	(void)state;
	put(fd, "LibxlFmt\0\0", 10);
	refused(fd, "truncated: it ends in libxl's stream header");
}

static void empty_stream(void **state)
{
	refused(mem_file(), "truncated: it ends in libxl's stream header, at byte 0");
	(void)state;
}

static void no_end(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put_rec(fd, XEN_REC_LIBXC_CONTEXT, 0, NULL, 0, 0);
	refused(fd, "truncated: it ends in a record header (no END record yet), at byte 24");
}

static void truncated_record_header(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put(fd, "\0\0\0", 3);
	refused(fd, "it ends in a record header");
}

static void truncated_body(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put_rec(fd, XEN_REC_EMULATOR_XENSTORE_DATA, 100, "only ten b", 10, 0);
	refused(fd, "it ends in a record's body");
}

static void truncated_optional(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put_rec(fd, XEN_REC_OPTIONAL | 7, 0xfffffff0u, "short", 5, 0);
	refused(fd, "it ends in an optional record");
}

static void truncated_padding(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put_rec(fd, XEN_REC_EMULATOR_XENSTORE_DATA, 3, "a\0b", 3, 0);
	assert_int_equal(ftruncate(fd, 16 + 8 + 3 + 2), 0);
	refused(fd, "it ends in a record's padding");
}

static void end_with_body(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put_rec(fd, XEN_REC_END, 8, "12345678", 8, 0);
	refused(fd, "record 1 (END) has a body of 8 bytes where the spec has none");
}

static void huge_body(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put_rec(fd, XEN_REC_EMULATOR_CONTEXT, 0x7fffffffu, NULL, 0, 0);
	refused(fd, "announces a body of 2147483647 bytes, more than this reader takes");
}

static void nonzero_padding(void **state)
{
	int fd = mem_file();

	(void)state;
	put_header(fd, 2, 0);
	put_rec(fd, XEN_REC_EMULATOR_XENSTORE_DATA, 3, "a\0b", 3, 0xff);
	put_rec(fd, XEN_REC_END, 0, NULL, 0, 0);
	refused(fd, "the padding of record 1 (EMULATOR_XENSTORE_DATA) is not zeroes");
}

/* Every prefix of a good stream is refused (never read as whole, never
 * a crash). */
static void every_prefix(void **state)
{
	struct xen_stream w;
	struct enso_error err = { "" };
	off_t len, cut;
	int fd = mem_file();

	(void)state;
	xen_stream_init(&w, SRC);
	assert_int_equal(xen_stream_write_header(fd, &w, &err), 0);
	assert_int_equal(xen_stream_write_record(fd, &w,
						 XEN_REC_EMULATOR_XENSTORE_DATA,
						 "k\0v\0", 4, &err), 0);
	assert_int_equal(xen_stream_write_record(fd, &w, XEN_REC_END, NULL, 0,
						 &err), 0);
	len = lseek(fd, 0, SEEK_CUR);
	for (cut = 0; cut < len; cut++) {
		int c = mem_file();
		char buf[64];

		assert_int_equal(pread(fd, buf, (size_t)cut, 0), (ssize_t)cut);
		put(c, buf, (size_t)cut);
		refused(c, "truncated");
	}
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip),
		cmocka_unit_test(layout_is_the_specs),
		cmocka_unit_test(big_endian_records),
		cmocka_unit_test(wrong_magic),
		cmocka_unit_test(wrong_version),
		cmocka_unit_test(unknown_options),
		cmocka_unit_test(unknown_mandatory),
		cmocka_unit_test(truncated_header),
		cmocka_unit_test(empty_stream),
		cmocka_unit_test(no_end),
		cmocka_unit_test(truncated_record_header),
		cmocka_unit_test(truncated_body),
		cmocka_unit_test(truncated_optional),
		cmocka_unit_test(truncated_padding),
		cmocka_unit_test(end_with_body),
		cmocka_unit_test(huge_body),
		cmocka_unit_test(nonzero_padding),
		cmocka_unit_test(every_prefix),
	};

	return cmocka_run_group_tests_name("stream", tests, NULL, NULL);
}
