/*
 * Unit checks of consoled's pure parts: the ring index arithmetic (what a
 * guest that scribbles on its indexes can and cannot make us do) and the
 * guest log's line stamping and file naming.  Prints `ok - ...` lines.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consoled.h"
#include "ring.h"

static int failures, checks;

static void check(bool cond, const char *name)
{
	checks++;
	if (cond) {
		printf("ok - consoled: %s\n", name);
	} else {
		printf("not ok - consoled: %s\n", name);
		failures++;
	}
}

/* A ring with a fence of guard bytes on each side: a write outside the
 * ring shows up there. */
struct guarded {
	char before[64];
	char ring[16];
	char after[64];
};

static bool guards_intact(const struct guarded *g)
{
	size_t i;

	for (i = 0; i < sizeof(g->before); i++)
		if (g->before[i] != 'G' || g->after[i] != 'G')
			return false;
	return true;
}

static void guarded_init(struct guarded *g)
{
	memset(g->before, 'G', sizeof(g->before));
	memset(g->after, 'G', sizeof(g->after));
	memset(g->ring, 0, sizeof(g->ring));
}

static void test_avail_space(void)
{
	check(ring_avail(0, 0, 16) == 0, "avail: empty ring");
	check(ring_avail(3, 10, 16) == 7, "avail: 7 waiting");
	check(ring_avail(0, 16, 16) == 16, "avail: full ring");
	check(ring_avail(0, 17, 16) == RING_BAD, "avail: prod beyond cons+size is bad");
	check(ring_avail(10, 3, 16) == RING_BAD, "avail: prod behind cons is bad");
	check(ring_avail(0xfffffffa, 4, 16) == 10, "avail: across the 2^32 wrap");
	check(ring_space(0xfffffffa, 4, 16) == 6, "space: across the 2^32 wrap");
	check(ring_space(5, 5, 16) == 16, "space: empty ring");
	check(ring_space(5, 21, 16) == 0, "space: full ring");
	check(ring_space(0, 0x80000000u, 16) == RING_BAD, "space: wild prod is bad");
}

static void test_take(void)
{
	struct guarded g;
	char out[64];
	size_t n;

	guarded_init(&g);
	memcpy(g.ring, "0123456789abcdef", 16);
	n = ring_take(g.ring, 16, 14, 20, out, sizeof(out));
	check(n == 6 && !memcmp(out, "ef0123", 6), "take: wraps around the end");
	n = ring_take(g.ring, 16, 14, 20, out, 3);
	check(n == 3 && !memcmp(out, "ef0", 3), "take: stops at max");
	n = ring_take(g.ring, 16, 0xffffffff, 0x0000000f, out, sizeof(out));
	check(n == 16 && out[0] == 'f' && out[1] == '0',
	      "take: a whole ring across the 2^32 wrap");
	n = ring_take(g.ring, 16, 0, 1000, out, sizeof(out));
	check(n == RING_BAD, "take: bad indexes copy nothing");
	check(guards_intact(&g), "take: nothing outside the ring touched");
}

static void test_put(void)
{
	struct guarded g;
	const char *src = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	uint32_t cons, prod;
	size_t n;

	guarded_init(&g);
	n = ring_put(g.ring, 16, 10, 12, src, 26);
	check(n == 14, "put: fills only the room there is");
	check(g.ring[12] == 'A' && g.ring[15] == 'D' && g.ring[0] == 'E' &&
	      g.ring[9] == 'N', "put: wraps around the end");
	check(guards_intact(&g), "put: nothing outside the ring touched");
	n = ring_put(g.ring, 16, 10, 26, src, 26);
	check(n == 0, "put: a full ring takes nothing");
	guarded_init(&g);
	n = ring_put(g.ring, 16, 5, 2, src, 26);
	check(n == RING_BAD && guards_intact(&g),
	      "put: cons ahead of prod is bad and writes nothing");
	/* Every index pair a guest could pick, near the edges and the wrap:
	 * never a byte outside. */
	guarded_init(&g);
	for (cons = 0xfffffff0u; cons != 0x20; cons++)
		for (prod = 0xffffffe0u; prod != 0x30; prod++) {
			char out[32];

			ring_put(g.ring, 16, cons, prod, src, 26);
			ring_take(g.ring, 16, cons, prod, out, sizeof(out));
		}
	check(guards_intact(&g), "put/take: no index pair reaches outside");
}

static void test_format(void)
{
	struct buf b;
	bool bol = true;

	buf_init(&b);
	glog_format(&b, &bol, "one\ntw", 6, "[T] ");
	glog_format(&b, &bol, "o\nthree\n", 8, "[T] ");
	check(b.len == strlen("[T] one\n[T] two\n[T] three\n") &&
	      !memcmp(b.p, "[T] one\n[T] two\n[T] three\n", b.len) && bol,
	      "log: a stamp at each line start, across writes");
	buf_fini(&b);
	bol = true;
	glog_format(&b, &bol, "a\nb", 3, NULL);
	check(b.len == 3 && !memcmp(b.p, "a\nb", 3) && !bol,
	      "log: no stamp, bytes as they came");
	buf_fini(&b);
}

static void test_stamp(void)
{
	char s[48];

	glog_stamp(s, sizeof(s), 0);
	check(strlen(s) == strlen("[1970-01-01 00:00:00] ") && s[0] == '[' &&
	      s[20] == ']', "log: stamp shape [YYYY-MM-DD HH:MM:SS]");
}

static void test_path(void)
{
	char *p;

	p = glog_path("/d", "rig-domu", 3);
	check(p && !strcmp(p, "/d/guest-rig-domu.log"), "log path: plain name");
	free(p);
	p = glog_path("/d", "../../etc/x", 3);
	check(p && !strcmp(p, "/d/guest-.._.._etc_x.log"),
	      "log path: a name with slashes stays in the directory");
	free(p);
	p = glog_path("/d", "..", 7);
	check(p && !strcmp(p, "/d/guest-7.log"), "log path: '..' becomes the domid");
	free(p);
	p = glog_path("/d", NULL, 9);
	check(p && !strcmp(p, "/d/guest-9.log"), "log path: no name, the domid");
	free(p);
}

int main(void)
{
	setenv("TZ", "UTC", 1);
	test_avail_space();
	test_take();
	test_put();
	test_format();
	test_stamp();
	test_path();
	printf("%d passed, %d failed\n", checks - failures, failures);
	return failures ? 1 : 0;
}
