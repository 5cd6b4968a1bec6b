/*
 * Persistence, the record format (see persist.c for the design): records
 * are a u32 length, a CRC-32C of the length and payload, then the type byte
 * and its data; integers are little-endian.  This file checksums, builds
 * and parses them, and encodes what changed (a node, a watch, a domain's
 * introduction, a message to a domain) as records.
 */
#include <errno.h>
#include <string.h>

#include "core.h"
#include "persist.h"

/* ---- the record format ---- */

/*
 * CRC-32C (Castagnoli, reflected, polynomial 0x82f63b78): the CRC-32 that
 * x86's SSE4.2 computes in one instruction per 8 bytes.  The checksum was
 * most of what journaling a write cost; with the instruction it is next to
 * nothing.  Without it, eight bytes a step in software: t[k][b] is the CRC
 * of byte b followed by k zero bytes, so a step's eight lookups are
 * independent.
 */
#define CRC32C_POLY 0x82f63b78u

static uint32_t crc_t[8][256];
static int crc_hw = -1;		/* unknown yet */

static void crc_init(void)
{
	uint32_t n, k, c;

	for (n = 0; n < 256; n++) {
		for (c = n, k = 0; k < 8; k++)
			c = c & 1 ? CRC32C_POLY ^ (c >> 1) : c >> 1;
		crc_t[0][n] = c;
	}
	for (n = 0; n < 256; n++)
		for (c = crc_t[0][n], k = 1; k < 8; k++) {
			c = crc_t[0][c & 0xff] ^ (c >> 8);
			crc_t[k][n] = c;
		}
}


#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2")))
static uint32_t crc_sse42(uint32_t crc, const uint8_t *p, size_t len)
{
	uint64_t c = crc;

	for (; len >= 8; p += 8, len -= 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c = __builtin_ia32_crc32di(c, v);
	}
	for (; len; p++, len--)
		c = __builtin_ia32_crc32qi((uint32_t)c, *p);
	return (uint32_t)c;
}
#endif

uint32_t persist_crc32(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (crc_hw < 0) {
		crc_init();
#if defined(__x86_64__) && defined(__GNUC__)
		__builtin_cpu_init();
		crc_hw = __builtin_cpu_supports("sse4.2") ? 1 : 0;
#else
		crc_hw = 0;
#endif
	}
#if defined(__x86_64__) && defined(__GNUC__)
	if (crc_hw)
		return ~crc_sse42(~crc, p, len);
#endif
	return persist_crc32_sw(crc, p, len);
}

uint32_t persist_crc32_sw(uint32_t crc, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (!crc_t[0][1])
		crc_init();
	crc = ~crc;
	for (; len >= 8; p += 8, len -= 8) {
		uint32_t lo = get32(p) ^ crc, hi = get32(p + 4);

		crc = crc_t[7][lo & 0xff] ^ crc_t[6][(lo >> 8) & 0xff] ^
		      crc_t[5][(lo >> 16) & 0xff] ^ crc_t[4][lo >> 24] ^
		      crc_t[3][hi & 0xff] ^ crc_t[2][(hi >> 8) & 0xff] ^
		      crc_t[1][(hi >> 16) & 0xff] ^ crc_t[0][hi >> 24];
	}
	for (; len; p++, len--)
		crc = crc_t[0][(crc ^ *p) & 0xff] ^ (crc >> 8);
	return ~crc;
}


/* A record being built in a buffer: begin, add data, end. */
int rec_begin(struct buf *b, uint8_t type, size_t *start)
{
	uint8_t hdr[PREC_HDR + 1] = { 0 };

	*start = b->len;
	hdr[PREC_HDR] = type;
	return buf_add(b, hdr, sizeof(hdr));
}

void rec_end(struct buf *b, size_t start)
{
	uint8_t *p = (uint8_t *)b->p + start;
	uint32_t len = (uint32_t)(b->len - start - PREC_HDR);

	put32(p, len);
	put32(p + 4, persist_crc32(persist_crc32(0, p, 4), p + PREC_HDR, len));
}

int persist_rec_add(struct buf *b, uint8_t type, const void *data,
		    uint32_t len)
{
	size_t start;
	int rc;

	if (len >= REC_MAX)
		return -E2BIG;
	rc = rec_begin(b, type, &start);
	if (!rc)
		rc = buf_add(b, data, len);
	if (rc) {
		b->len = start;
		return rc;
	}
	rec_end(b, start);
	return 0;
}

int persist_rec_parse(const void *buf, size_t avail, struct prec *out)
{
	const uint8_t *p = buf;
	uint32_t len;

	if (avail < PREC_HDR)
		return -EAGAIN;
	len = get32(p);
	if (len == 0 || len >= REC_MAX)
		return -EILSEQ;
	if (avail - PREC_HDR < len)
		return -EAGAIN;
	if (get32(p + 4) !=
	    persist_crc32(persist_crc32(0, p, 4), p + PREC_HDR, len))
		return -EILSEQ;
	out->type = p[PREC_HDR];
	out->data = p + PREC_HDR + 1;
	out->len = len - 1;
	out->size = PREC_HDR + len;
	return 0;
}

/* ---- encoding what changed ---- */

int add_perms(struct buf *b, const struct perms *p)
{
	uint8_t n[2] = { (uint8_t)p->n, (uint8_t)(p->n >> 8) };
	uint16_t i;
	int rc = buf_add(b, n, 2);

	for (i = 0; !rc && i < p->n; i++) {
		uint8_t e[3] = { (uint8_t)p->p[i].domid,
				 (uint8_t)(p->p[i].domid >> 8),
				 (uint8_t)p->p[i].mode };

		rc = buf_add(b, e, sizeof(e));
	}
	return rc;
}

/* NODE: u32 vlen, path\0, perms (u16 n, n x {u16 domid, u8 mode}), value.
 * Built in place: this runs for every node every commit changes. */
int add_node_as(struct buf *b, const char *path, const char *value,
		uint32_t vlen, const struct perms *p)
{
	size_t pl = strlen(path) + 1;
	size_t len = 1 + 4 + pl + 2 + 3 * (size_t)p->n + vlen;
	uint8_t *d;
	uint16_t i;

	if (len >= REC_MAX)
		return -E2BIG;
	if (buf_reserve(b, PREC_HDR + len))
		return -ENOMEM;
	d = (uint8_t *)b->p + b->len + PREC_HDR;
	*d++ = PREC_NODE;
	put32(d, vlen);
	d += 4;
	memcpy(d, path, pl);
	d += pl;
	*d++ = (uint8_t)p->n;
	*d++ = (uint8_t)(p->n >> 8);
	for (i = 0; i < p->n; i++) {
		*d++ = (uint8_t)p->p[i].domid;
		*d++ = (uint8_t)(p->p[i].domid >> 8);
		*d++ = (uint8_t)p->p[i].mode;
	}
	if (vlen)
		memcpy(d, value, vlen);
	b->len += PREC_HDR + len;
	rec_end(b, b->len - PREC_HDR - len);
	return 0;
}

int add_node(struct buf *b, const char *path, const struct node *n)
{
	struct perms p = node_perms(n);

	return add_node_as(b, path, node_value(n), n->vlen, &p);
}

int add_domid_rec(struct buf *b, uint8_t type, uint32_t domid,
		  uint32_t v, bool with_v)
{
	uint8_t d[8];

	put32(d, domid);
	put32(d + 4, v);
	return persist_rec_add(b, type, d, with_v ? 8 : 4);
}

int add_watch(struct buf *b, uint8_t type, uint32_t domid,
	      const struct pwatch *w)
{
	uint8_t d[5];
	size_t start;
	int rc;

	put32(d, domid);
	d[4] = w->relative;
	rc = rec_begin(b, type, &start);
	if (!rc)
		rc = buf_add(b, d, type == PREC_WATCH ? 5 : 4);
	if (!rc)
		rc = buf_add_str0(b, w->path);
	if (!rc)
		rc = buf_add_str0(b, w->token);
	if (rc) {
		b->len = start;
		return rc;
	}
	rec_end(b, start);
	return 0;
}

int add_introduce(struct buf *b, const struct pdom *d)
{
	uint8_t r[16];

	put32(r, d->domid);
	put64(r + 4, d->gfn);
	put32(r + 12, d->port);
	return persist_rec_add(b, PREC_INTRODUCE, r, sizeof(r));
}

int add_header(struct buf *b, uint8_t kind, uint64_t gen)
{
	uint8_t h[MAGIC_LEN + 1 + 8];

	memcpy(h, PERSIST_MAGIC, MAGIC_LEN);
	h[MAGIC_LEN] = kind;
	put64(h + MAGIC_LEN + 1, gen);
	return persist_rec_add(b, PREC_HEADER, h, sizeof(h));
}

int add_out(struct buf *b, uint32_t domid, uint32_t start,
	    const void *data, uint32_t len)
{
	uint8_t h[8];
	size_t at;
	int rc;

	put32(h, domid);
	put32(h + 4, start);
	rc = rec_begin(b, PREC_OUT, &at);
	if (!rc)
		rc = buf_add(b, h, 8);
	if (!rc)
		rc = buf_add(b, data, len);
	if (rc) {
		b->len = at;
		return rc;
	}
	rec_end(b, at);
	return 0;
}
