/*
 * The save file's header: upstream xl's layout, byte for byte, so that a
 * file either toolstack wrote is read by the other as far as the
 * hypervisor's stream allows (docs/design/save-restore.md).
 *
 *   32 bytes  magic "Xen saved domain, xl format\n \0 \r"
 *   u32       byte order marker 0x01020304 (every u32: the host's order)
 *   u32       mandatory flags (JSON 1, STREAMv2 2; any other: refuse)
 *   u32       optional flags
 *   u32       optional data length, then the optional data:
 *             u32 config length, the config (its NUL included)
 *
 * Everything read is hostile until checked: the lengths are bounded
 * before anything is allocated, and each refusal names the file and
 * what is wrong with it, in upstream's words where upstream has some.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "enso-util.h"
#include "libxl/services.h"

static const char save_magic[ENSO_SAVE_MAGIC_LEN] =
	"Xen saved domain, xl format\n \0 \r";
#define SAVE_BYTEORDER 0x01020304u
#define SAVE_MANDATORY_KNOWN (ENSO_SAVE_MANDATORY_JSON | \
			      ENSO_SAVE_MANDATORY_STREAMV2)

/* The fixed part, as it lies in the file (five fields, no padding). */
struct save_fixed {
	char magic[ENSO_SAVE_MAGIC_LEN];
	uint32_t byteorder, mandatory_flags, optional_flags, optional_data_len;
};
_Static_assert(sizeof(struct save_fixed) == ENSO_SAVE_MAGIC_LEN + 16,
	       "the save header has no padding");

void enso_save_header_dispose(struct enso_save_header *h)
{
	if (!h)
		return;
	free(h->config);
	memset(h, 0, sizeof(*h));
}

int enso_save_header_write(int fd, const char *source, const char *config,
			   uint32_t mandatory_flags,
			   struct enso_save_header *out,
			   struct enso_error *err)
{
	struct save_fixed f;
	size_t clen = config ? strlen(config) + 1 : 0;	/* its NUL, as upstream */
	uint32_t u32;
	int rc;

	memset(out, 0, sizeof(*out));
	if (mandatory_flags & ~(uint32_t)SAVE_MANDATORY_KNOWN)
		return exl_fail(err, -EINVAL, "%s: unknown mandatory flags %#x",
				source, mandatory_flags);
	if (clen > ENSO_SAVE_OPTDATA_MAX - 4)
		return exl_fail(err, -E2BIG,
				"%s: the config (%zu bytes) is more than a save file holds (%u)",
				source, clen, ENSO_SAVE_OPTDATA_MAX - 4);
	memset(&f, 0, sizeof(f));
	memcpy(f.magic, save_magic, sizeof(f.magic));
	f.byteorder = SAVE_BYTEORDER;
	f.mandatory_flags = mandatory_flags;
	if (clen)
		f.mandatory_flags |= ENSO_SAVE_MANDATORY_JSON;
	f.optional_data_len = clen ? (uint32_t)(4 + clen) : 0;
	u32 = (uint32_t)clen;
	rc = fd_write_full(fd, &f, sizeof(f));
	if (!rc && clen)
		rc = fd_write_full(fd, &u32, 4);
	if (!rc && clen)
		rc = fd_write_full(fd, config, clen);
	if (rc)
		return exl_fail(err, rc, "%s: writing the header: %s", source,
				strerror(-rc));
	out->have_fixed = true;
	out->mandatory_flags = f.mandatory_flags;
	out->optional_flags = f.optional_flags;
	out->optional_data_len = f.optional_data_len;
	out->config_len = clen;
	return 0;
}

/* The optional data, read whole: the config's length and the config. */
static int read_optdata(int fd, const char *source, struct enso_save_header *h,
			struct enso_error *err)
{
	uint32_t len = h->optional_data_len, clen;
	char *data;
	int rc;

	if (len > ENSO_SAVE_OPTDATA_MAX)
		return exl_fail(err, -EINVAL,
				"%s: optional data of %u bytes is more than a save file holds (%u): corrupt?",
				source, len, ENSO_SAVE_OPTDATA_MAX);
	data = malloc(len);
	if (!data)
		return exl_fail(err, -ENOMEM, "%s: out of memory", source);
	rc = fd_read_full(fd, data, len);
	if (rc <= 0) {
		rc = exl_fail(err, rc ? rc : -EINVAL,
			      "%s: file/stream truncated reading optdata (%u bytes of optional data announced)%s%s",
			      source, len, rc ? ": " : "",
			      rc ? strerror(-rc) : "");
		goto out;
	}
	rc = exl_fail(err, -EINVAL, "%s: Savefile truncated.", source);
	if (len < 4)
		goto out;
	memcpy(&clen, data, 4);
	if (clen > len - 4)
		goto out;
	if (clen) {
		/* NUL-terminated whatever the file says: upstream counts the
		 * NUL in, another writer may not. */
		h->config = malloc((size_t)clen + 1);
		if (!h->config) {
			rc = exl_fail(err, -ENOMEM, "%s: out of memory", source);
			goto out;
		}
		memcpy(h->config, data + 4, clen);
		h->config[clen] = '\0';
		h->config_len = clen;
	}
	rc = 0;
out:
	free(data);
	return rc;
}

int enso_save_header_read(int fd, const char *source,
			  struct enso_save_header *out, struct enso_error *err)
{
	struct save_fixed f;
	uint32_t bad;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = fd_read_full(fd, &f, sizeof(f));
	if (rc <= 0)
		return exl_fail(err, rc ? rc : -EINVAL,
				"%s: file/stream truncated reading header%s%s",
				source, rc ? ": " : "", rc ? strerror(-rc) : "");
	if (memcmp(f.magic, save_magic, sizeof(f.magic)))
		return exl_fail(err, -EINVAL,
				"%s: File has wrong magic number - corrupt or for a different tool?",
				source);
	if (f.byteorder != SAVE_BYTEORDER)
		return exl_fail(err, -EINVAL, "%s: File has wrong byte order",
				source);
	out->have_fixed = true;
	out->mandatory_flags = f.mandatory_flags;
	out->optional_flags = f.optional_flags;
	out->optional_data_len = f.optional_data_len;
	rc = 0;
	bad = f.mandatory_flags & ~(uint32_t)SAVE_MANDATORY_KNOWN;
	if (bad)
		return exl_fail(err, -EINVAL,
				"%s: Savefile has mandatory flag(s) 0x%x which are not supported; need newer xl",
				source, bad);
	if (f.optional_data_len) {
		rc = read_optdata(fd, source, out, err);
		if (rc) {
			free(out->config);
			out->config = NULL;
			out->config_len = 0;
		}
	}
	return rc;
}
