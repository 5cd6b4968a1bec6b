/* Permission lists: parsing "r5\0n0\0", formatting, and access checks. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static int mode_of(char c, uint16_t *mode)
{
	switch (c) {
	case 'n': *mode = PERM_NONE; return 0;
	case 'r': *mode = PERM_READ; return 0;
	case 'w': *mode = PERM_WRITE; return 0;
	case 'b': *mode = PERM_BOTH; return 0;
	default: return -EINVAL;
	}
}

int perms_parse(const char *strings, size_t len, struct perms *out)
{
	size_t off, n = 0;
	struct perm *p;

	for (off = 0; off < len; off += strlen(strings + off) + 1)
		n++;
	if (n == 0 || n > UINT16_MAX)
		return -EINVAL;
	p = calloc(n, sizeof(*p));
	if (!p)
		return -ENOMEM;
	for (off = 0, n = 0; off < len; off += strlen(strings + off) + 1, n++) {
		unsigned long long domid;

		if (mode_of(strings[off], &p[n].mode) ||
		    parse_uint(strings + off + 1, NR_DOMIDS - 1, &domid)) {
			free(p);
			return -EINVAL;
		}
		p[n].domid = (uint32_t)domid;
	}
	out->p = p;
	out->n = (uint16_t)n;
	return 0;
}

int perms_format(const struct perms *perms, struct buf *out)
{
	static const char letter[] = "nrwb";
	uint16_t i;
	int rc;

	for (i = 0; i < perms->n; i++) {
		rc = buf_printf(out, "%c%u", letter[perms->p[i].mode & 3],
				perms->p[i].domid);
		if (rc || (rc = buf_add(out, "", 1)))
			return rc;
	}
	return 0;
}

int perms_dup(const struct perms *src, struct perms *dst)
{
	dst->p = malloc(src->n * sizeof(*src->p));
	if (!dst->p && src->n)
		return -ENOMEM;
	if (src->n)
		memcpy(dst->p, src->p, src->n * sizeof(*src->p));
	dst->n = src->n;
	return 0;
}

int perms_without(const struct perms *src, uint32_t domid, struct perms *dst)
{
	uint16_t i, n = 0;
	bool named = false;

	for (i = 0; i < src->n; i++)
		if (src->p[i].domid == domid)
			named = true;
	if (!named)
		return 0;
	if (perms_dup(src, dst))
		return -ENOMEM;
	if (dst->p[0].domid == domid)
		dst->p[0].domid = 0;
	for (i = 0, n = 1; i < src->n; i++)
		if (i && src->p[i].domid != domid)
			dst->p[n++] = src->p[i];
	dst->n = n;
	return 1;
}

void perms_free(struct perms *perms)
{
	free(perms->p);
	perms->p = NULL;
	perms->n = 0;
}

/*
 * The owner has full access; a domain listed after the owner gets its
 * entry's mode; everyone else gets the owner entry's mode.  A domain that
 * is the target of SET_TARGET lends its rights to the connection.
 */
static uint32_t allowed_for(uint32_t domid, const struct perms *perms)
{
	uint16_t i;

	if (perms->p[0].domid == domid)
		return PERM_BOTH;
	for (i = 1; i < perms->n; i++)
		if (perms->p[i].domid == domid)
			return perms->p[i].mode;
	return perms->p[0].mode;
}

uint32_t perms_allowed(const struct conn *conn, const struct perms *perms)
{
	uint32_t mode;

	if (conn->privileged)
		return PERM_BOTH;
	if (!perms->n)
		return PERM_NONE;
	mode = allowed_for(conn->domid, perms);
	if (conn->target != DOMID_NONE)
		mode |= allowed_for(conn->target, perms);
	return mode;
}
