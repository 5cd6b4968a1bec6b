/*
 * blk_front: blkback (the "vbd" engine) served to a blkif frontend of this
 * program's own (blk_ring.c) over the shm transport, against a real
 * xenstored, with real temporary files as disks.  No Xen needed.
 *
 *   XENSTORED_PATH=/path/to/socket blk_front
 *
 * The scenarios: the handshake and what the backend publishes; WRITE then
 * READ of random data, direct and indirect, in both ABIs, checked against
 * the file itself; a batch of requests behind one kick; FLUSH, barriers,
 * DISCARD; a reconnect with the data still there; multi-queue; a read-only
 * cdrom that refuses writes; every hostile request of docs/design/blkback.md,
 * each followed by a second device that still serves correct data; each
 * connected device in a worker process of its own (found as a child of
 * this program named "vbd.<domid>.<devid>"), unprivileged, and one
 * killed -9 is one device Closed that may reconnect.
 *
 * Prints "ok - blkback: ..." / "not ok - blkback: ...: why".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/blkif.h>

#include "blk_ring.h"
#include "blkback/blkback.h"

#define MB (1024 * 1024)
#define SPAN 300u		/* guest pages per device */

static struct blkback bb = { .max_queues = 4, .max_ring_page_order = 4 };
static char tmpdir[] = "/tmp/blk_front.XXXXXX";
static unsigned char buf[256 * 4096], back[256 * 4096];
static uint64_t rng = 0x9e3779b97f4a7c15ull;

static void fill_random(void *p, size_t len)
{
	unsigned char *c = p;
	size_t i;

	for (i = 0; i < len; i++) {
		rng ^= rng << 13;
		rng ^= rng >> 7;
		rng ^= rng << 17;
		c[i] = (unsigned char)rng;
	}
}

static uint64_t sum(const void *p, size_t len)
{
	const unsigned char *c = p;
	uint64_t h = 0xcbf29ce484222325ull;

	while (len--)
		h = (h ^ *c++) * 0x100000001b3ull;
	return h;
}

/* A file of `bytes` (random content when fill), its path in out. */
static int make_disk(const char *name, size_t bytes, bool fill, char *out)
{
	int fd;
	size_t off;

	snprintf(out, 256, "%s/%s", tmpdir, name);
	fd = open(out, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, (off_t)bytes) < 0)
		return -1;
	for (off = 0; fill && off < bytes; off += sizeof(buf)) {
		fill_random(buf, sizeof(buf));
		if (pwrite(fd, buf, sizeof(buf), (off_t)off) < 0)
			break;
	}
	close(fd);
	return 0;
}

static uint64_t file_sum(const char *path, uint64_t sector, size_t len)
{
	static unsigned char tmp[256 * 4096];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t r = fd < 0 ? -1 : pread(fd, tmp, len, (off_t)sector * 512);

	if (fd >= 0)
		close(fd);
	return r == (ssize_t)len ? sum(tmp, len) : 0;
}

static void check_status(int st, int want, const char *name)
{
	xbt_check(st == want, name, "status %d, wanted %d%s", st, want,
		  st == 99 ? " (no answer)" : st == 98 ? " (wrong id or op)" : "");
}

/* WRITE n random pages at sector, READ them back: the same, and the same
 * as the file holds there. */
static void check_roundtrip(struct bf_dev *d, unsigned qi, const char *path,
			    uint64_t sector, unsigned n, bool indirect,
			    const char *name)
{
	size_t len = (size_t)n * 4096;
	int w, r;

	fill_random(buf, len);
	w = bf_rw(d, qi, true, sector, n, indirect, buf);
	r = bf_rw(d, qi, false, sector, n, indirect, back);
	xbt_check(w == 0 && r == 0 && sum(buf, len) == sum(back, len) &&
			  file_sum(path, sector, len) == sum(buf, len),
		  name, "write %d, read %d, checksums %s", w, r,
		  sum(buf, len) == sum(back, len) ? "match but the file differs"
						  : "differ");
}

/* ---- the device's worker process ----------------------------------------
 * This program is the daemon: a device's worker is a child of it whose
 * name (comm) is "vbd.<domid>.<devid>" (blkback/worker.c). */

/* The worker serving d (a child of ours with its name), or 0. */
static int worker_of(const struct bf_dev *d)
{
	char want[32];

	snprintf(want, 16, "vbd.%u.%s", d->g->domid, strrchr(d->be, '/') + 1);
	return xbt_child_named(want);
}

/* What the worker's fds are: sockets, epolls, and whether one is path. */
static void worker_fds(int pid, const char *path, unsigned *sockets,
		       unsigned *epolls, bool *holds)
{
	*sockets = xbt_count_fds(pid, "socket:", true);
	*epolls = xbt_count_fds(pid, "anon_inode:[eventpoll]", false);
	*holds = xbt_count_fds(pid, path, false) > 0;
}

/* ---- scenarios ---------------------------------------------------------- */

static void handshake(struct bf_dev *a)
{
	xbt_check_state(a->be, XENBUS_INITWAIT, "probe: params opened, backend InitWait");
	xbt_check(!strcmp(xbt_read(a->be, "feature-max-indirect-segments"), "256") &&
			  !strcmp(xbt_read(a->be, "max-ring-page-order"), "4") &&
			  !strcmp(xbt_read(a->be, "multi-queue-max-queues"), "4") &&
			  !strcmp(xbt_read(a->be, "feature-flush-cache"), "1") &&
			  !strcmp(xbt_read(a->be, "feature-barrier"), "1") &&
			  !strcmp(xbt_read(a->be, "feature-discard"), "1"),
		  "probe: features written (indirect 256, order 4, 4 queues, flush, barrier, discard)",
		  "max-indirect-segments \"%s\"",
		  xbt_read(a->be, "feature-max-indirect-segments"));
	xbt_check(!strcmp(xbt_read(a->be, "feature-persistent"), "1"),
		  "probe: persistent grants offered",
		  "feature-persistent \"%s\"", xbt_read(a->be, "feature-persistent"));
	bf_connect(a, BF_ABI_64, 0, 1);
	xbt_check_state(a->be, XENBUS_CONNECTED, "connect: x86_64-abi, one page -> Connected");
	xbt_check(!strcmp(xbt_read(a->be, "sectors"), "32768") &&
			  !strcmp(xbt_read(a->be, "info"), "0") &&
			  !strcmp(xbt_read(a->be, "sector-size"), "512") &&
			  !strcmp(xbt_read(a->be, "physical-sector-size"), "4096"),
		  "connect: sectors 32768, info 0, sector-size 512, physical 4096",
		  "sectors \"%s\"", xbt_read(a->be, "sectors"));
}

static void data(struct bf_dev *a, const char *path, const char *abi)
{
	char name[160];

	snprintf(name, sizeof(name), "%s: direct WRITE+READ of 11 pages, checksums match the file", abi);
	check_roundtrip(a, 0, path, 1000, 11, false, name);
	snprintf(name, sizeof(name), "%s: indirect WRITE+READ of 256 pages (1 MB)", abi);
	check_roundtrip(a, 0, path, 8192, 256, true, name);
	snprintf(name, sizeof(name), "%s: indirect WRITE+READ of 13 pages", abi);
	check_roundtrip(a, 0, path, 3, 13, true, name);
}

/* Partial pages: sectors 2..5 of one page, 0..0 of another. */
static void partial(struct bf_dev *a, const char *path)
{
	struct bf_req r = { .op = BLKIF_OP_WRITE, .sector = 40,
			    .nr_segments = 2 };
	unsigned char want[5 * 512];
	char *p0 = xbt_page(a->g, BF_PAGE_DATA(a, 0));
	char *p1 = xbt_page(a->g, BF_PAGE_DATA(a, 1));
	int st;

	fill_random(p0, 4096);
	fill_random(p1, 4096);
	memcpy(want, p0 + 2 * 512, 4 * 512);
	memcpy(want + 4 * 512, p1, 512);
	r.seg[0] = (struct bf_seg){ BF_PAGE_DATA(a, 0), 2, 5 };
	r.seg[1] = (struct bf_seg){ BF_PAGE_DATA(a, 1), 0, 0 };
	st = bf_do(a, 0, &r);
	xbt_check(st == 0 && file_sum(path, 40, sizeof(want)) == sum(want, sizeof(want)),
		  "partial segments (sectors 2-5 of a page, 0-0 of another) land in place",
		  "status %d", st);
}

static void batch(struct bf_dev *a)
{
	struct bf_rsp rsp;
	unsigned i, ok = 0;

	for (i = 0; i < 8; i++) {
		struct bf_req r = { .op = BLKIF_OP_READ, .sector = i * 8,
				    .nr_segments = 1, .id = 500 + i };

		r.seg[0] = (struct bf_seg){ BF_PAGE_DATA(a, i), 0, 7 };
		bf_put(a, 0, &r);
	}
	bf_push(a, 0);
	for (i = 0; i < 8; i++)
		if (bf_wait(a, 0, &rsp) && rsp.status == 0 && rsp.id >= 500 &&
		    rsp.id < 508)
			ok++;
	xbt_check(ok == 8, "a batch of 8 requests behind one kick: 8 answers",
		  "%u good answers", ok);
}

static void flush_discard(struct bf_dev *a, const char *path)
{
	struct bf_req r = { .op = BLKIF_OP_FLUSH_DISKCACHE };
	static unsigned char zero[64 * 4096];
	int st;

	check_status(bf_do(a, 0, &r), 0, "FLUSH_DISKCACHE -> OKAY");
	r = (struct bf_req){ .op = BLKIF_OP_WRITE_BARRIER };
	check_status(bf_do(a, 0, &r), 0, "an empty WRITE_BARRIER -> OKAY");
	r = (struct bf_req){ .op = BLKIF_OP_WRITE_BARRIER, .sector = 64,
			     .nr_segments = 1 };
	fill_random(xbt_page(a->g, BF_PAGE_DATA(a, 0)), 4096);
	r.seg[0] = (struct bf_seg){ BF_PAGE_DATA(a, 0), 0, 7 };
	st = bf_do(a, 0, &r);
	xbt_check(st == 0 && file_sum(path, 64, 4096) ==
				     sum(xbt_page(a->g, BF_PAGE_DATA(a, 0)), 4096),
		  "WRITE_BARRIER with data -> OKAY, data on disk", "status %d", st);

	check_roundtrip(a, 0, path, 16384, 64, true, "DISCARD: a range written first");
	r = (struct bf_req){ .op = BLKIF_OP_DISCARD, .sector = 16384,
			     .nr_sectors = 64 * 8 };
	check_status(bf_do(a, 0, &r), 0, "DISCARD of 256 KB -> OKAY");
	st = bf_rw(a, 0, false, 16384, 64, true, back);
	xbt_check(st == 0 && !memcmp(back, zero, sizeof(zero)),
		  "DISCARD: the punched range reads back zero", "status %d", st);
	r = (struct bf_req){ .op = BLKIF_OP_DISCARD, .sector = 0,
			     .nr_sectors = 0 };
	check_status(bf_do(a, 0, &r), 0, "DISCARD of 0 sectors -> OKAY, nothing done");
}

static void reconnect(struct bf_dev *a, const char *path)
{
	uint64_t before = file_sum(path, 1000, 11 * 4096);
	int st;

	xbt_write(a->fe, "state", "%d", XENBUS_CLOSING);
	xbt_check_state(a->be, XENBUS_CLOSING, "reconnect: frontend Closing -> Closing");
	xbt_write(a->fe, "state", "%d", XENBUS_CLOSED);
	xbt_check_state(a->be, XENBUS_CLOSED, "reconnect: frontend Closed -> Closed");
	xbt_check_live(0, 0, "reconnect: nothing mapped while closed");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_check_state(a->be, XENBUS_INITWAIT, "reconnect: Initialising -> InitWait");
	bf_connect(a, BF_ABI_32, 1, 1);
	xbt_check_state(a->be, XENBUS_CONNECTED, "reconnect: x86_32-abi, a 2-page ring -> Connected");
	st = bf_rw(a, 0, false, 1000, 11, false, back);
	xbt_check(st == 0 && sum(back, 11 * 4096) == before,
		  "reconnect: the data written before is still there", "status %d", st);
}

/* The worker's mappings of guest memory (the shm guest's memfd). */
static unsigned guest_maps(int pid)
{
	char path[64], line[512];
	unsigned n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	while (f && fgets(line, sizeof(line), f))
		n += strstr(line, "memfd:xbt-guest") != NULL;
	if (f)
		fclose(f);
	return n;
}

/* The frontend closes and comes back, saying feature-persistent or not. */
static void reopen(struct bf_dev *a, bool persistent)
{
	xbt_reopen(a->fe, a->be);
	a->persistent = persistent;
	bf_connect(a, BF_ABI_64, 0, 1);
}

/* feature-persistent: the data pages are mapped at their first use and
 * kept, so requests that reuse them (bf_rw always uses the device's first
 * data pages) map nothing more; the data is right through them. */
static void persistent(struct bf_dev *a, const char *path)
{
	unsigned base, first, later;
	int pid, i, st = 0;

	reopen(a, true);
	xbt_check_state(a->be, XENBUS_CONNECTED, "persistent: a frontend saying feature-persistent -> Connected");
	pid = worker_of(a);
	base = guest_maps(pid);
	check_roundtrip(a, 0, path, 2000, 11, false,
			"persistent: direct WRITE+READ of 11 pages through kept grants");
	check_roundtrip(a, 0, path, 4096, 256, true,
			"persistent: indirect WRITE+READ of 256 pages through kept grants");
	first = guest_maps(pid);
	for (i = 0; i < 20 && st == 0; i++)
		st = bf_rw(a, 0, false, 4096, 256, true, back);
	later = guest_maps(pid);
	xbt_check(pid > 0 && st == 0 && first > base && later == first,
		  "persistent: the pages stay mapped after their requests, 20 more requests map nothing more",
		  "worker %d: guest mappings %u at connect, %u after the first requests, %u after 20 more (status %d)",
		  pid, base, first, later, st);
	reopen(a, false);
	xbt_check_state(a->be, XENBUS_CONNECTED, "persistent: back to a frontend without it");
	st = bf_rw(a, 0, false, 4096, 11, false, back);
	later = guest_maps(worker_of(a));
	xbt_check(st == 0 && later == base,
		  "persistent: without it, nothing stays mapped past a request",
		  "status %d, guest mappings %u (ring only: %u)", st, later, base);
}

static void multiqueue(struct bf_dev *a, const char *path)
{
	int st;

	xbt_write(a->fe, "state", "%d", XENBUS_CLOSED);
	xbt_wait_state(a->be, XENBUS_CLOSED);
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
	bf_connect(a, BF_ABI_64, 0, 2);
	xbt_check_state(a->be, XENBUS_CONNECTED, "multi-queue: 2 queues (queue-N/) -> Connected");
	xbt_check_live(0, 0, "multi-queue: the daemon maps no ring (its worker does)");
	fill_random(buf, 4 * 4096);
	st = bf_rw(a, 1, true, 200, 4, false, buf);
	st = st ? st : bf_rw(a, 0, false, 200, 4, false, back);
	xbt_check(st == 0 && !memcmp(buf, back, 4 * 4096) &&
			  file_sum(path, 200, 4 * 4096) == sum(buf, 4 * 4096),
		  "multi-queue: written on queue 1, read back on queue 0", "status %d", st);
}

static void readonly(struct bf_dev *r, const char *path)
{
	uint64_t before = file_sum(path, 0, 8 * 4096);
	struct bf_req q = { .op = BLKIF_OP_DISCARD, .sector = 0,
			    .nr_sectors = 8 };
	int st;

	xbt_check_state(r->be, XENBUS_INITWAIT, "read-only: probed, InitWait");
	xbt_check(!strcmp(xbt_read(r->be, "feature-discard"), "0"),
		  "read-only: no discard offered", "feature-discard \"%s\"",
		  xbt_read(r->be, "feature-discard"));
	bf_connect(r, BF_ABI_64, 0, 1);
	xbt_check_state(r->be, XENBUS_CONNECTED, "read-only: Connected");
	xbt_check(atoi(xbt_read(r->be, "info")) == (VDISK_READONLY | VDISK_CDROM),
		  "read-only cdrom: info is VDISK_READONLY|VDISK_CDROM", "info \"%s\"",
		  xbt_read(r->be, "info"));
	st = bf_rw(r, 0, false, 0, 8, false, back);
	xbt_check(st == 0 && sum(back, 8 * 4096) == before,
		  "read-only: READ serves the file", "status %d", st);
	fill_random(buf, 8 * 4096);
	check_status(bf_rw(r, 0, true, 0, 8, false, buf), BLKIF_RSP_ERROR,
		     "read-only: WRITE -> ERROR");
	check_status(bf_rw(r, 0, true, 0, 8, true, buf), BLKIF_RSP_ERROR,
		     "read-only: indirect WRITE -> ERROR");
	check_status(bf_do(r, 0, &q), BLKIF_RSP_ERROR, "read-only: DISCARD -> ERROR");
	q = (struct bf_req){ .op = BLKIF_OP_WRITE_BARRIER };
	check_status(bf_do(r, 0, &q), BLKIF_RSP_ERROR, "read-only: WRITE_BARRIER -> ERROR");
	xbt_check(file_sum(path, 0, 8 * 4096) == before,
		  "read-only: the file is unchanged", "it changed");
}

/* After each hostile request: the other device still serves correctly. */
static struct bf_dev *good;
static const char *good_path;

static void check_hostile(struct bf_dev *a, struct bf_req *r, int want,
			  const char *name)
{
	char n2[200];

	check_status(bf_do(a, 0, r), want, name);
	snprintf(n2, sizeof(n2), "%s; the other device still serves", name);
	check_roundtrip(good, 0, good_path, 77, 3, false, n2);
}

static void hostile(struct bf_dev *a, const char *path)
{
	uint64_t sectors = 32768;
	struct stat st0, st1;
	struct bf_req r;
	char *ind = xbt_page(a->g, BF_PAGE_INDIRECT(a, 0));
	unsigned i;

	stat(path, &st0);
	r = (struct bf_req){ .op = BLKIF_OP_READ, .sector = 0, .nr_segments = 1 };
	r.seg[0] = (struct bf_seg){ 999999, 0, 7 };
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: a grant ref that does not map -> ERROR");
	r.seg[0] = (struct bf_seg){ BF_PAGE_DATA(a, 0), 0, 7 };
	r.op = BLKIF_OP_WRITE;
	r.sector = sectors - 4;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: WRITE running past the end of the disk -> ERROR");
	r.sector = UINT64_MAX - 2;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: sector near 2^64 (wraps) -> ERROR");
	r.op = BLKIF_OP_READ;
	r.sector = sectors;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: READ at the end of the disk -> ERROR");
	r.sector = 0;
	r.nr_segments = 0;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: 0 segments -> ERROR");
	r.nr_segments = 12;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: 12 direct segments -> ERROR");
	r.nr_segments = 255;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: 255 direct segments -> ERROR");
	r.nr_segments = 1;
	r.seg[0] = (struct bf_seg){ BF_PAGE_DATA(a, 0), 5, 4 };
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: first_sect > last_sect -> ERROR");
	r.seg[0] = (struct bf_seg){ BF_PAGE_DATA(a, 0), 0, 8 };
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: last_sect past the page -> ERROR");
	r.seg[0] = (struct bf_seg){ BF_PAGE_DATA(a, 0), 200, 255 };
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: first_sect 200 -> ERROR");
	r.op = BLKIF_OP_RESERVED_1;
	check_hostile(a, &r, BLKIF_RSP_EOPNOTSUPP, "hostile: op 4 (reserved) -> EOPNOTSUPP");
	r.op = 200;
	check_hostile(a, &r, BLKIF_RSP_EOPNOTSUPP, "hostile: op 200 -> EOPNOTSUPP");
	r = (struct bf_req){ .op = BLKIF_OP_DISCARD, .sector = sectors - 8,
			     .nr_sectors = 9 };
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: DISCARD past the end -> ERROR");
	r.sector = 8;
	r.nr_sectors = UINT64_MAX;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: DISCARD of 2^64-1 sectors -> ERROR");

	/* Indirect requests that lie. */
	r = (struct bf_req){ .op = BLKIF_OP_INDIRECT, .indirect_op = BLKIF_OP_READ,
			     .nr_segments = 257 };
	r.igrefs[0] = BF_PAGE_INDIRECT(a, 0);
	memset(ind, 0, 4096);
	for (i = 0; i < 257; i++) {
		uint32_t ref = BF_PAGE_DATA(a, i % 64);

		memcpy(ind + 8 * i, &ref, 4);
		ind[8 * i + 5] = 7;
	}
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: indirect with 257 segments (limit 256) -> ERROR");
	r.nr_segments = 0;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: indirect with 0 segments -> ERROR");
	r.nr_segments = 20;
	memset(ind + 8 * 10, 0xff, 4096 - 8 * 10);	/* only 10 are there */
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: indirect page listing fewer segments than its count -> ERROR");
	r.nr_segments = 5;
	r.igrefs[0] = 888888;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: indirect page that does not map -> ERROR");
	r.igrefs[0] = BF_PAGE_INDIRECT(a, 0);
	r.indirect_op = BLKIF_OP_FLUSH_DISKCACHE;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: indirect of a FLUSH -> ERROR");
	r.indirect_op = BLKIF_OP_WRITE;
	r.sector = sectors - 8;
	check_hostile(a, &r, BLKIF_RSP_ERROR, "hostile: indirect WRITE past the end -> ERROR");

	stat(path, &st1);
	xbt_check(st0.st_size == st1.st_size, "hostile: the disk file did not grow",
		  "%lld -> %lld bytes", (long long)st0.st_size, (long long)st1.st_size);
	xbt_check(bb.stats.broken == 0, "hostile: no device closed by bad requests alone",
		  "%llu closed", (unsigned long long)bb.stats.broken);

	/* A producer index a ring and more ahead: the frontend is broken. */
	int wa = worker_of(a), wb = worker_of(good);

	/* Set, then kicked: the worker runs beside us and must see it. */
	bf_set_req_prod(a, 0, a->q[0].req_prod_pvt + a->q[0].nr_ents + 5);
	bf_kick(a, 0);
	xbt_check_refused(a->be, "req_prod overruns the ring",
			  "hostile: req_prod more than a ring ahead -> device Closed, error says so");
	xbt_check(bb.stats.broken == 1, "hostile: counted as one broken frontend",
		  "%llu", (unsigned long long)bb.stats.broken);
	xbt_check(wa > 0 && wb > 0 && worker_of(a) == 0 && worker_of(good) == wb,
		  "hostile: only the broken device's worker is gone (the other's serves on)",
		  "workers before %d, %d; after %d, %d", wa, wb, worker_of(a),
		  worker_of(good));
	check_roundtrip(good, 0, good_path, 500, 11, false,
			"hostile: after the broken one is closed, the other device serves");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
	bf_connect(a, BF_ABI_64, 0, 1);
	xbt_check_state(a->be, XENBUS_CONNECTED, "hostile: the closed frontend may come back through Initialising");
	check_roundtrip(a, 0, path, 1000, 4, false, "hostile: and is served again");
	xbt_check(worker_of(a) > 0 && worker_of(a) != wa,
		  "hostile: by a new worker", "worker %d, was %d", worker_of(a), wa);
}

/* Each connected device in a process of its own, with what it needs and
 * no more, unprivileged; one killed is one device Closed. */
static void isolation(struct bf_dev *a, const char *path)
{
	struct passwd *pw = getpwnam("nobody");
	int wa = worker_of(a), wb = worker_of(good);
	char want_uid[64], want_gid[64], err[256];
	unsigned socks, epolls;
	bool holds_own, holds_other;
	int st;

	xbt_check(wa > 0 && wb > 0 && wa != wb && wa != getpid() && wb != getpid(),
		  "isolation: each connected device has a worker process of its own",
		  "workers %d and %d, the daemon %d", wa, wb, getpid());
	xbt_check_live(0, 0, "isolation: the daemon maps no ring and binds no channel");
	if (geteuid() == 0 && pw)
		snprintf(want_uid, sizeof(want_uid), "%u\t%u\t%u\t%u",
			 (unsigned)pw->pw_uid, (unsigned)pw->pw_uid,
			 (unsigned)pw->pw_uid, (unsigned)pw->pw_uid);
	else
		snprintf(want_uid, sizeof(want_uid), "%u\t%u\t%u\t%u",
			 (unsigned)geteuid(), (unsigned)geteuid(),
			 (unsigned)geteuid(), (unsigned)geteuid());
	xbt_check(!strcmp(xbt_proc_status(wa, "Uid"), want_uid),
		  geteuid() == 0 ? "isolation: the worker runs as nobody (real, effective, saved, fs uid)"
				 : "isolation: the worker keeps the (unprivileged) daemon's uid",
		  "Uid \"%s\", wanted \"%s\"", xbt_proc_status(wa, "Uid"), want_uid);
	if (geteuid() == 0 && pw) {
		snprintf(want_gid, sizeof(want_gid), "%u\t%u\t%u\t%u",
			 (unsigned)pw->pw_gid, (unsigned)pw->pw_gid,
			 (unsigned)pw->pw_gid, (unsigned)pw->pw_gid);
		xbt_check(!strcmp(xbt_proc_status(wa, "Gid"), want_gid) &&
				  !xbt_proc_status(wa, "Groups")[0],
			  "isolation: its gid is nobody's, no supplementary groups",
			  "Gid \"%s\", Groups \"%s\"", xbt_proc_status(wa, "Gid"),
			  xbt_proc_status(wa, "Groups"));
		xbt_check(!strcmp(xbt_proc_status(wa, "CapEff"), "0000000000000000") &&
				  !strcmp(xbt_proc_status(wa, "CapPrm"), "0000000000000000"),
			  "isolation: no capabilities", "CapEff %s, CapPrm %s",
			  xbt_proc_status(wa, "CapEff"), xbt_proc_status(wa, "CapPrm"));
	}
	xbt_check(!strcmp(xbt_proc_status(wa, "NoNewPrivs"), "1"),
		  "isolation: the worker has NoNewPrivs", "NoNewPrivs \"%s\"",
		  xbt_proc_status(wa, "NoNewPrivs"));
	/* 2: a filter (blkback/seccomp.c); it serves under it throughout. */
	xbt_check(!strcmp(xbt_proc_status(wa, "Seccomp"), "2") &&
			  !strcmp(xbt_proc_status(wa, "Seccomp_filters"), "1"),
		  "isolation: the worker serves under its seccomp filter",
		  "Seccomp \"%s\", Seccomp_filters \"%s\"",
		  xbt_proc_status(wa, "Seccomp"), xbt_proc_status(wa, "Seccomp_filters"));
	worker_fds(wa, good_path, &socks, &epolls, &holds_other);
	worker_fds(wa, path, &socks, &epolls, &holds_own);
	xbt_check(socks == 1 && epolls == 1 && holds_own && !holds_other,
		  "isolation: the worker holds one socket (the daemon's, not xenstore's), its own loop, its disk and not the other's",
		  "%u sockets, %u epolls, own disk %d, other disk %d", socks,
		  epolls, holds_own, holds_other);

	/* kill -9 of one device's worker. */
	kill(wa, SIGKILL);
	xbt_wait_state(a->be, XENBUS_CLOSED);
	snprintf(err, sizeof(err), "%s", xbt_read(a->be, "error"));
	xbt_check(xbt_state(a->be) == XENBUS_CLOSED && strstr(err, "worker") &&
			  strstr(err, "killed by signal 9"),
		  "kill -9 of a worker: its device goes Closed, the error names the death",
		  "state %s, error \"%s\"", xenbus_state_name(xbt_state(a->be)), err);
	xbt_check(xenbus_device_count(xbt_core) == 3 && worker_of(good) == wb &&
			  xbt_state(good->be) == XENBUS_CONNECTED,
		  "kill -9 of a worker: the daemon and the other device's worker live on",
		  "%u devices, other worker %d (was %d)",
		  xenbus_device_count(xbt_core), worker_of(good), wb);
	check_roundtrip(good, 0, good_path, 600, 11, false,
			"kill -9 of a worker: the other device serves correct data");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_check_state(a->be, XENBUS_INITWAIT, "kill -9 of a worker: the device may come back (InitWait)");
	bf_connect(a, BF_ABI_64, 0, 1);
	xbt_check_state(a->be, XENBUS_CONNECTED, "kill -9 of a worker: connected again");
	xbt_check(worker_of(a) > 0 && worker_of(a) != wa,
		  "kill -9 of a worker: served by a new worker", "worker %d, was %d",
		  worker_of(a), wa);
	st = bf_rw(a, 0, false, 1000, 4, false, back);
	xbt_check(st == 0 && sum(back, 4 * 4096) == file_sum(path, 1000, 4 * 4096),
		  "kill -9 of a worker: the new worker serves the data", "status %d", st);
}

int main(void)
{
	static const char *const ro_extra[] = { "params", NULL, "mode", "r",
						"device-type", "cdrom", NULL };
	char pa[256], pb[256], pr[256];
	const char *a_extra[5] = { "params", pa, "mode", "w", NULL };
	const char *b_extra[5] = { "params", pb, "mode", "w", NULL };
	const char *r_extra[7];
	struct xbt_guest g1, g2;
	struct bf_dev a, b, r;

	if (!mkdtemp(tmpdir)) {
		printf("not ok - blkback: set up: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	if (make_disk("a.img", 16 * MB, false, pa) < 0 ||
	    make_disk("b.img", 4 * MB, true, pb) < 0 ||
	    make_disk("r.iso", 1 * MB, true, pr) < 0) {
		printf("not ok - blkback: set up: disk files: %s\n", strerror(errno));
		return 1;
	}
	memcpy(r_extra, ro_extra, sizeof(r_extra));
	r_extra[1] = pr;
	if (xbt_open("blkback", &blkback_engine, &bb) < 0)
		return 1;
	if (xbt_guest_init(&g1, 1, 2 * SPAN) < 0 ||
	    xbt_guest_init(&g2, 2, SPAN) < 0 ||
	    bf_add(&a, &g1, 51712, 0, SPAN, 10, a_extra) < 0) {
		printf("not ok - blkback: set up: guests\n");
		return 1;
	}
	handshake(&a);
	data(&a, pa, "x86_64-abi");
	partial(&a, pa);
	batch(&a);
	flush_discard(&a, pa);
	reconnect(&a, pa);
	data(&a, pa, "x86_32-abi");
	multiqueue(&a, pa);
	persistent(&a, pa);

	if (bf_add(&r, &g1, 51728, SPAN, SPAN, 20, r_extra) < 0 ||
	    bf_add(&b, &g2, 51712, 0, SPAN, 10, b_extra) < 0) {
		printf("not ok - blkback: set up: more devices\n");
		return 1;
	}
	readonly(&r, pr);
	xbt_wait_state(b.be, XENBUS_INITWAIT);
	bf_connect(&b, BF_ABI_32, 2, 1);
	xbt_check_state(b.be, XENBUS_CONNECTED, "second device: x86_32-abi, 4-page ring -> Connected");
	good = &b;
	good_path = pb;
	hostile(&a, pa);
	isolation(&a, pa);

	xs_rm(xbt_xs, XBT_NULL, "/local/domain/0/backend/vbd");
	xbt_check(xbt_no_devices(), "remove: backend/vbd gone -> every device dropped",
		  "%u left", xenbus_device_count(xbt_core));
	xbt_check_live(0, 0, "remove: nothing left mapped or bound");
	xbt_close();
	xbt_guest_fini(&g1);
	xbt_guest_fini(&g2);
	unlink(pa);
	unlink(pb);
	unlink(pr);
	rmdir(tmpdir);
	return xbt_failed;
}
