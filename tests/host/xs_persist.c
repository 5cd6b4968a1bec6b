/*
 * Writer and checker for the persistence host test (tests/host/persist.sh),
 * over libxenstore on XENSTORED_PATH.
 *
 *   xs_persist write PREFIX START     writes op START, START+1, ... until the
 *                                     daemon stops answering; after each op
 *                                     is acknowledged prints "acked I"
 *   xs_persist verify PREFIX N        checks ops 0..N-1 are all there, with
 *                                     their values and permissions; prints
 *                                     "ok - ..." or "not ok - ...: why"
 *   xs_persist fill PREFIX COUNT SIZE COUNT nodes of SIZE-byte values
 *   xs_persist fillcheck PREFIX COUNT SIZE
 *   xs_persist control CMD            a CONTROL command (exit 0 on OK)
 *
 * Op I writes PREFIX/d<I%10>/k<I> = "v<I>"; every third one then sets its
 * permissions to r<I%50+1>,w7; every fifth one does both inside a
 * transaction (retried on EAGAIN); every seventh one also creates and
 * removes PREFIX/gone<I>, which must then be absent.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <xenstore.h>

static void key(char *out, size_t len, const char *prefix, unsigned long i)
{
	snprintf(out, len, "%s/d%lu/k%lu", prefix, i % 10, i);
}

static bool op(struct xs_handle *h, const char *prefix, unsigned long i)
{
	struct xs_permissions perms[2] = {
		{ .id = (unsigned)(i % 50 + 1), .perms = XS_PERM_READ },
		{ .id = 7, .perms = XS_PERM_WRITE },
	};
	char path[256], val[64], gone[256];
	bool in_txn = i % 5 == 0;
	int tries;

	key(path, sizeof(path), prefix, i);
	snprintf(val, sizeof(val), "v%lu", i);
	for (tries = 0; tries < 100; tries++) {
		xs_transaction_t t = in_txn ? xs_transaction_start(h) : XBT_NULL;

		if (in_txn && t == XBT_NULL)
			return false;
		if (!xs_write(h, t, path, val, (unsigned)strlen(val)))
			return false;
		if (i % 3 == 0 && !xs_set_permissions(h, t, path, perms, 2))
			return false;
		if (!in_txn)
			break;
		if (xs_transaction_end(h, t, false))
			break;
		if (errno != EAGAIN)
			return false;
	}
	if (i % 7 == 0) {
		snprintf(gone, sizeof(gone), "%s/gone%lu", prefix, i);
		if (!xs_write(h, XBT_NULL, gone, "x", 1) ||
		    !xs_rm(h, XBT_NULL, gone))
			return false;
	}
	return true;
}

static int do_write(struct xs_handle *h, const char *prefix,
		    unsigned long start)
{
	unsigned long i;

	for (i = start;; i++) {
		if (!op(h, prefix, i)) {
			fprintf(stderr, "xs_persist: op %lu failed: %s\n", i,
				strerror(errno));
			return 0;
		}
		printf("acked %lu\n", i);
		fflush(stdout);
	}
}

static int do_verify(struct xs_handle *h, const char *prefix, unsigned long n)
{
	unsigned long i, bad = 0;
	char first[1024] = "";

	for (i = 0; i < n; i++) {
		char path[256], want[64], why[1024] = "", gone[256];
		unsigned int len, np;
		char *v = NULL;
		struct xs_permissions *p = NULL;

		key(path, sizeof(path), prefix, i);
		snprintf(want, sizeof(want), "v%lu", i);
		v = xs_read(h, XBT_NULL, path, &len);
		if (!v)
			snprintf(why, sizeof(why), "%s missing (%s)", path,
				 strerror(errno));
		else if (len != strlen(want) || memcmp(v, want, len))
			snprintf(why, sizeof(why), "%s reads '%.*s', want %s",
				 path, (int)len, v, want);
		if (!why[0]) {
			p = xs_get_permissions(h, XBT_NULL, path, &np);
			if (!p)
				snprintf(why, sizeof(why), "%s: no permissions",
					 path);
			else if (i % 3 == 0 &&
				 (np != 2 || p[0].id != i % 50 + 1 ||
				  p[0].perms != XS_PERM_READ || p[1].id != 7 ||
				  p[1].perms != XS_PERM_WRITE))
				snprintf(why, sizeof(why),
					 "%s: permissions not r%lu,w7 (%u entries, first %u/%d)",
					 path, i % 50 + 1, np, p[0].id,
					 (int)p[0].perms);
			else if (i % 3 != 0 && (np != 1 || p[0].id != 0))
				snprintf(why, sizeof(why),
					 "%s: permissions not inherited n0", path);
		}
		snprintf(gone, sizeof(gone), "%s/gone%lu", prefix, i);
		if (!why[0] && i % 7 == 0) {
			char *g = xs_read(h, XBT_NULL, gone, &len);

			if (g)
				snprintf(why, sizeof(why), "%s came back", gone);
			free(g);
		}
		free(v);
		free(p);
		if (why[0] && !bad++)
			snprintf(first, sizeof(first), "%s", why);
	}
	if (bad)
		printf("not ok - %lu of %lu acknowledged ops under %s lost or wrong; first: %s\n",
		       bad, n, prefix, first);
	else
		printf("ok - all %lu acknowledged ops under %s there, values and permissions\n",
		       n, prefix);
	return bad ? 1 : 0;
}

static int do_fill(struct xs_handle *h, const char *prefix, unsigned long n,
		   unsigned long size, bool check)
{
	char *val = malloc(size + 1), path[256];
	unsigned long i, bad = 0;

	if (!val)
		return 2;
	for (i = 0; i < n; i++) {
		snprintf(path, sizeof(path), "%s/f%lu", prefix, i);
		memset(val, 'a' + (int)(i % 26), size);
		snprintf(val, size + 1, "%lu:", i);
		val[strlen(val)] = 'x';
		if (check) {
			unsigned int len;
			char *v = xs_read(h, XBT_NULL, path, &len);

			if (!v || len != size || memcmp(v, val, size))
				bad++;
			free(v);
		} else if (!xs_write(h, XBT_NULL, path, val, (unsigned)size)) {
			fprintf(stderr, "xs_persist: fill %s: %s\n", path,
				strerror(errno));
			free(val);
			return 1;
		}
	}
	free(val);
	if (check)
		printf("%s - %lu nodes of %lu bytes under %s%s\n",
		       bad ? "not ok" : "ok", n, size, prefix,
		       bad ? ": some lost or wrong" : " all there");
	return bad ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct xs_handle *h;
	int rc = 2;

	if (argc == 3 && !strcmp(argv[1], "control")) {
		char *r;

		h = xs_open(0);
		r = h ? xs_control_command(h, argv[2], "", 1) : NULL;
		if (!r)
			fprintf(stderr, "xs_persist: CONTROL %s: %s\n", argv[2],
				strerror(errno));
		free(r);
		if (h)
			xs_close(h);
		return r ? 0 : 1;
	}
	if (argc < 4) {
		fprintf(stderr, "usage: xs_persist write|verify PREFIX N | fill|fillcheck PREFIX COUNT SIZE\n");
		return 2;
	}
	h = xs_open(0);
	if (!h) {
		printf("not ok - xs_persist %s: cannot connect: %s\n", argv[1],
		       strerror(errno));
		return 1;
	}
	if (!strcmp(argv[1], "write"))
		rc = do_write(h, argv[2], strtoul(argv[3], NULL, 10));
	else if (!strcmp(argv[1], "verify"))
		rc = do_verify(h, argv[2], strtoul(argv[3], NULL, 10));
	else if (argc > 4 && (!strcmp(argv[1], "fill") ||
			      !strcmp(argv[1], "fillcheck")))
		rc = do_fill(h, argv[2], strtoul(argv[3], NULL, 10),
			     strtoul(argv[4], NULL, 10),
			     !strcmp(argv[1], "fillcheck"));
	xs_close(h);
	return rc;
}
