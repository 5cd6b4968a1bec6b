/* -T and CONTROL log: one line per message in and out, for debugging a
 * client's conversation with the store. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core.h"

static FILE *trace_file;
static char *trace_path;
static bool trace_on;

int trace_open(const char *path)
{
	FILE *f = fopen(path, "a");
	char *p = strdup(path);

	if (!f || !p) {
		int err = errno ? errno : ENOMEM;

		if (f)
			fclose(f);
		free(p);
		elog(ELOG_ERR, "cannot open trace file %s: %s", path,
		     strerror(err));
		return -err;
	}
	setvbuf(f, NULL, _IOLBF, 0);
	if (trace_file)
		fclose(trace_file);
	free(trace_path);
	trace_file = f;
	trace_path = p;
	trace_on = true;
	return 0;
}

void trace_enable(bool on)
{
	trace_on = on && trace_file;
}

void trace_msg(const struct conn *c, const char *dir,
	       const struct xsd_sockmsg *hdr, const char *body)
{
	const char *name;
	uint32_t i, shown;

	if (!trace_on)
		return;
	name = xs_msg_name(hdr->type);
	fprintf(trace_file, "%-3s conn %u dom %u %s req %u tx %u len %u: ",
		dir, c->id, c->domid, name ? name : "UNKNOWN", hdr->req_id,
		hdr->tx_id, hdr->len);
	shown = hdr->len < 256 ? hdr->len : 256;
	for (i = 0; i < shown; i++) {
		unsigned char ch = (unsigned char)body[i];

		if (ch == '\0')
			fputc(' ', trace_file);
		else if (ch < 0x20 || ch > 0x7e)
			fprintf(trace_file, "\\x%02x", ch);
		else
			fputc(ch, trace_file);
	}
	fputs(shown < hdr->len ? "...\n" : "\n", trace_file);
}
