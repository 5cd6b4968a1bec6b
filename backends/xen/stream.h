/*
 * libxl's migration stream, version 2: the envelope around libxc's own
 * stream in a Xen save file (after the header libxl/savefile.c reads)
 * and, later, on a migration's connection.  The facts are the spec's
 * (xen-project/xen docs/specs/libxl-migration-stream.pandoc); the code is
 * Enso's.
 *
 *   header   u64 "LibxlFmt", u32 version 2, u32 options  (big-endian)
 *   records  u32 type, u32 length, body, zeroes to a multiple of 8
 *            (in the byte order options bit 0 says: 0 little-endian)
 *
 * A LIBXC_CONTEXT record has no body: libxc's stream follows it inline,
 * read by xc_domain_restore, and the next record comes after it.
 *
 * Everything read is hostile: lengths are bounded before anything is
 * allocated, a truncated stream, a wrong magic or version, unknown
 * options and unknown mandatory records are refused, each with a message
 * naming the source and the byte where it went wrong.  Optional records
 * (type bit 31) that this reader does not know are skipped, as the spec
 * allows.  No Xen library is needed: tests/unit/test_stream.c runs it on
 * any host.
 */
#ifndef ENSO_BACKENDS_XEN_STREAM_H
#define ENSO_BACKENDS_XEN_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "libxl/services.h"

#define XEN_STREAM_VERSION 2u
#define XEN_REC_END 0u
#define XEN_REC_LIBXC_CONTEXT 1u
#define XEN_REC_EMULATOR_XENSTORE_DATA 2u
#define XEN_REC_EMULATOR_CONTEXT 3u
#define XEN_REC_CHECKPOINT_END 4u
#define XEN_REC_CHECKPOINT_STATE 5u
#define XEN_REC_OPTIONAL 0x80000000u
/* The largest body this reader allocates (an emulator's xenstore keys are
 * a few KiB; nothing Enso reads comes near). */
#define XEN_STREAM_BODY_MAX (4u << 20)

struct xen_stream {
	const char *source;	/* for messages: the file's name */
	bool big_endian;	/* the records' byte order (options bit 0) */
	bool legacy;		/* converted from a pre-4.6 stream */
	unsigned records;	/* read so far, for messages */
};

struct xen_stream_rec {
	uint32_t type, len;
	uint8_t *body;		/* len bytes, malloc'd (NULL when len is 0) */
};

/* source is kept, not copied. */
void xen_stream_init(struct xen_stream *s, const char *source);
/* A record type's name in the spec ("END"), or NULL. */
const char *xen_stream_rec_name(uint32_t type);

/* The writer: the header with this host's byte order (little-endian on
 * every host Xen runs dom0s on), then records. */
int xen_stream_write_header(int fd, struct xen_stream *s,
			    struct enso_error *err);
int xen_stream_write_record(int fd, struct xen_stream *s, uint32_t type,
			    const void *body, uint32_t len,
			    struct enso_error *err);

/* The reader: the header, then one record at a time, fd left just after
 * it (for LIBXC_CONTEXT: where libxc's stream starts).  On failure r is
 * empty. */
int xen_stream_read_header(int fd, struct xen_stream *s,
			   struct enso_error *err);
int xen_stream_read_record(int fd, struct xen_stream *s,
			   struct xen_stream_rec *r, struct enso_error *err);
void xen_stream_rec_dispose(struct xen_stream_rec *r);

#endif
