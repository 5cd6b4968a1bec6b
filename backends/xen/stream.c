/*
 * libxl's migration stream v2: the header and the records around libxc's
 * stream (see stream.h for the layout and the rules).
 */
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

#include "backends/xen/stream.h"
#include "enso-util.h"

/* "LibxlFmt" as the big-endian u64 the header holds. */
#define STREAM_IDENT 0x4c6962786c466d74ull
#define OPT_BIG_ENDIAN (1u << 0)
#define OPT_LEGACY (1u << 1)
#define OPT_KNOWN (OPT_BIG_ENDIAN | OPT_LEGACY)

struct wire_header {
	uint64_t ident;
	uint32_t version, options;
};
struct wire_rec {
	uint32_t type, len;
};
_Static_assert(sizeof(struct wire_header) == 16, "header without padding");
_Static_assert(sizeof(struct wire_rec) == 8, "record header without padding");

void xen_stream_init(struct xen_stream *s, const char *source)
{
	memset(s, 0, sizeof(*s));
	s->source = source ? source : "the stream";
}

const char *xen_stream_rec_name(uint32_t type)
{
	static const char *const names[] = {
		[XEN_REC_END] = "END",
		[XEN_REC_LIBXC_CONTEXT] = "LIBXC_CONTEXT",
		[XEN_REC_EMULATOR_XENSTORE_DATA] = "EMULATOR_XENSTORE_DATA",
		[XEN_REC_EMULATOR_CONTEXT] = "EMULATOR_CONTEXT",
		[XEN_REC_CHECKPOINT_END] = "CHECKPOINT_END",
		[XEN_REC_CHECKPOINT_STATE] = "CHECKPOINT_STATE",
	};

	return type < sizeof(names) / sizeof(names[0]) ? names[type] : NULL;
}

/* Where the reader is, for messages: the file's offset when it has one
 * (a pipe has not). */
static const char *where(int fd, const struct xen_stream *s, char *buf,
			 size_t len)
{
	off_t at = lseek(fd, 0, SEEK_CUR);

	if (at >= 0)
		snprintf(buf, len, "at byte %lld", (long long)at);
	else
		snprintf(buf, len, "after %u records", s->records);
	return buf;
}

/* read_all's result as the user's message: a short read is a truncated
 * stream, an error its errno. */
static int read_fail(int fd, const struct xen_stream *s, int r,
		     const char *what, struct enso_error *err)
{
	char at[48];

	where(fd, s, at, sizeof(at));
	if (r < 0)
		return exl_fail(err, r, "%s: reading %s %s: %s", s->source,
				what, at, strerror(-r));
	return exl_fail(err, -EINVAL,
			"%s: the stream is truncated: it ends in %s, %s",
			s->source, what, at);
}

static uint32_t rec32(const struct xen_stream *s, uint32_t v)
{
	return s->big_endian ? be32toh(v) : le32toh(v);
}

static uint32_t wire32(uint32_t v)
{
	return htole32(v);
}

int xen_stream_write_header(int fd, struct xen_stream *s,
			    struct enso_error *err)
{
	struct wire_header h = {
		.ident = htobe64(STREAM_IDENT),
		.version = htobe32(XEN_STREAM_VERSION),
		.options = htobe32(0),	/* little-endian records */
	};
	int rc = fd_write_full(fd, &h, sizeof(h));

	s->big_endian = false;
	if (rc)
		return exl_fail(err, rc, "%s: writing the stream's header: %s",
				s->source, strerror(-rc));
	return 0;
}

int xen_stream_write_record(int fd, struct xen_stream *s, uint32_t type,
			    const void *body, uint32_t len,
			    struct enso_error *err)
{
	static const uint8_t zeroes[8];
	struct wire_rec r = { wire32(type), wire32(len) };
	const char *name = xen_stream_rec_name(type);
	int rc = fd_write_full(fd, &r, sizeof(r));

	if (!rc && len)
		rc = fd_write_full(fd, body, len);
	if (!rc && len % 8)
		rc = fd_write_full(fd, zeroes, 8 - len % 8);
	if (rc)
		return exl_fail(err, rc, "%s: writing the %s record: %s",
				s->source, name ? name : "stream", strerror(-rc));
	return 0;
}

int xen_stream_read_header(int fd, struct xen_stream *s,
			   struct enso_error *err)
{
	struct wire_header h;
	uint32_t version, options;
	int r = fd_read_full(fd, &h, sizeof(h));

	if (r <= 0)
		return read_fail(fd, s, r, "libxl's stream header", err);
	if (be64toh(h.ident) != STREAM_IDENT) {
		const uint8_t *m = (const uint8_t *)&h.ident;

		return exl_fail(err, -EINVAL,
				"%s: what follows the save file's header is not libxl's migration stream (it starts %02x %02x %02x %02x %02x %02x %02x %02x, not \"LibxlFmt\"): a save file of another hypervisor or toolstack version, or corrupt",
				s->source, m[0], m[1], m[2], m[3], m[4], m[5],
				m[6], m[7]);
	}
	version = be32toh(h.version);
	options = be32toh(h.options);
	if (version != XEN_STREAM_VERSION)
		return exl_fail(err, -EINVAL,
				"%s: libxl stream version %u; this Enso reads version %u only",
				s->source, version, XEN_STREAM_VERSION);
	if (options & ~OPT_KNOWN)
		return exl_fail(err, -EINVAL,
				"%s: libxl stream options 0x%x hold bits this Enso does not know (0x%x)",
				s->source, options, options & ~OPT_KNOWN);
	s->big_endian = options & OPT_BIG_ENDIAN;
	s->legacy = options & OPT_LEGACY;
	return 0;
}

void xen_stream_rec_dispose(struct xen_stream_rec *r)
{
	if (!r)
		return;
	free(r->body);
	memset(r, 0, sizeof(*r));
}

/* The padding after a body of len bytes: zeroes, as the spec writes
 * them; anything else is a stream out of step. */
static int read_padding(int fd, struct xen_stream *s, uint32_t len,
			const char *name, struct enso_error *err)
{
	uint8_t pad[8] = { 0 }, zero[8] = { 0 };
	size_t n = len % 8 ? 8 - len % 8 : 0;
	int r;

	if (!n)
		return 0;
	r = fd_read_full(fd, pad, n);
	if (r <= 0)
		return read_fail(fd, s, r, "a record's padding", err);
	if (memcmp(pad, zero, n)) {
		char at[48];

		return exl_fail(err, -EINVAL,
				"%s: the padding of record %u (%s) is not zeroes, %s: corrupt",
				s->source, s->records, name,
				where(fd, s, at, sizeof(at)));
	}
	return 0;
}

/* An optional record this reader does not know: read past, unkept. */
static int skip_body(int fd, struct xen_stream *s, uint32_t len,
		     struct enso_error *err)
{
	uint8_t buf[4096];
	uint64_t left = len + (len % 8 ? 8 - len % 8 : 0);

	while (left) {
		size_t n = left < sizeof(buf) ? (size_t)left : sizeof(buf);
		int r = fd_read_full(fd, buf, n);

		if (r <= 0)
			return read_fail(fd, s, r, "an optional record", err);
		left -= n;
	}
	return 0;
}

int xen_stream_read_record(int fd, struct xen_stream *s,
			   struct xen_stream_rec *out, struct enso_error *err)
{
	struct wire_rec w;
	const char *name;
	uint32_t type, len;
	char at[48];
	int r;

	memset(out, 0, sizeof(*out));
	for (;;) {
		r = fd_read_full(fd, &w, sizeof(w));
		if (r <= 0)
			return read_fail(fd, s, r, "a record header (no END record yet)",
					 err);
		s->records++;
		type = rec32(s, w.type);
		len = rec32(s, w.len);
		name = xen_stream_rec_name(type);
		if (name)
			break;
		if (!(type & XEN_REC_OPTIONAL))
			return exl_fail(err, -EINVAL,
					"%s: record %u is of type 0x%x, a mandatory record this Enso does not know (%s): written by a newer toolstack, or corrupt",
					s->source, s->records, type,
					where(fd, s, at, sizeof(at)));
		r = skip_body(fd, s, len, err);
		if (r)
			return r;
	}
	/* These carry nothing but their type. */
	if ((type == XEN_REC_END || type == XEN_REC_LIBXC_CONTEXT ||
	     type == XEN_REC_CHECKPOINT_END) && len)
		return exl_fail(err, -EINVAL,
				"%s: record %u (%s) has a body of %u bytes where the spec has none (%s): corrupt",
				s->source, s->records, name, len,
				where(fd, s, at, sizeof(at)));
	if (len > XEN_STREAM_BODY_MAX)
		return exl_fail(err, -EINVAL,
				"%s: record %u (%s) announces a body of %u bytes, more than this reader takes (%u) (%s): corrupt?",
				s->source, s->records, name, len,
				XEN_STREAM_BODY_MAX, where(fd, s, at, sizeof(at)));
	if (len) {
		out->body = malloc(len);
		if (!out->body)
			return exl_fail(err, -ENOMEM, "%s: out of memory",
					s->source);
		r = fd_read_full(fd, out->body, len);
		if (r <= 0) {
			xen_stream_rec_dispose(out);
			return read_fail(fd, s, r, "a record's body", err);
		}
	}
	r = read_padding(fd, s, len, name, err);
	if (r) {
		xen_stream_rec_dispose(out);
		return r;
	}
	out->type = type;
	out->len = len;
	return 0;
}
