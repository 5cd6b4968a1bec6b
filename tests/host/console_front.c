/*
 * console_front: consoled's daemon (consoled/daemon.c, console.c) served to
 * guests of this program's own over the shm transport, against a real
 * xenstored.  No Xen needed.
 *
 *   XENSTORED_PATH=/path/to/socket console_front
 *
 * Each guest is what a PV guest and its toolstack give consoled: a page
 * holding struct xencons_interface (xen/io/console.h) granted as the
 * guest's ref 0 (GNTTAB_RESERVED_CONSOLE, which consoled maps first), an
 * event channel, and the nodes the toolstack writes under
 * /local/domain/<id>: name, console/ring-ref (a frame number: consoled
 * maps the reserved grant and only compares it), console/port,
 * console/type.  The daemon runs on this program's loop, as consoled
 * -T shm runs it on its own (no hypervisor introduces domains here: it
 * rescans on changes under /local/domain).
 *
 * The scenarios: a domain there before the daemon and one that comes
 * later each get a pty in console/tty; output (written before the daemon
 * came, and after a kick) reaches the pty and the guest's log file byte
 * for byte, the ring consumed and the guest notified; input typed into
 * the pty arrives in the in ring; indexes that wrap 2^32 and the ring's
 * end; hostile rings (out_prod far ahead, out_prod behind out_cons,
 * in_cons far ahead) drop that console alone, and new ring details bring
 * it back; nodes that are garbage, a channel never opened and a domain
 * that granted nothing leave the others served; a domain removed leaves
 * nothing mapped or bound.
 *
 * Prints "ok - consoled: ..." / "not ok - consoled: ...: why".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>
#include <xen/io/console.h>

#include "consoled/consoled.h"
#include "xbtest.h"

/* xbtest's scaffolding runs a xenbus core: the primary console has no
 * xenbus handshake, so this one serves a directory nobody writes, with an
 * engine that would refuse any device. */
static int idle_refuse(struct xenbus_dev *dev)
{
	(void)dev;
	return -EOPNOTSUPP;
}

static void idle_none(struct xenbus_dev *dev)
{
	(void)dev;
}

static const struct xenbus_engine idle = {
	.type = "console-test-idle",
	.probe = idle_refuse,
	.connect = idle_refuse,
	.disconnect = idle_none,
	.remove = idle_none,
};

static struct daemon dm = {
	.opt = { .log = LOG_GUEST, .stamp = STAMP_NONE },
	.watch_domain_dir = true,
	.timer_fd = -1,
	.signal_fd = -1,
	.store_fd = -1,
};
static char logdir[] = "/tmp/console_front.XXXXXX";

struct guest {
	struct xbt_guest g;
	struct xencons_interface *intf;
	int kick, note;
	char dom[48], con[64];	/* /local/domain/<id>, its console */
	int pty;		/* the slave, opened here; -1 */
	unsigned frame;		/* console/ring-ref */
};

#define OUT_SIZE sizeof(((struct xencons_interface *)0)->out)
#define IN_SIZE sizeof(((struct xencons_interface *)0)->in)

/* The toolstack's nodes for the guest's console: ring-ref and port last
 * (consoled connects once both are there). */
static bool publish(struct guest *cg, unsigned port)
{
	return xbt_write(cg->con, "type", "xenconsoled") &&
	       xbt_write(cg->con, "ring-ref", "%u", cg->frame) &&
	       xbt_write(cg->con, "port", "%u", port);
}

static int guest_new(struct guest *cg, uint32_t domid, unsigned port,
		     uint32_t out_idx, uint32_t in_idx)
{
	int rc;

	memset(cg, 0, sizeof(*cg));
	cg->pty = -1;
	cg->frame = 0x1000 + domid;
	snprintf(cg->dom, sizeof(cg->dom), "/local/domain/%u", domid);
	snprintf(cg->con, sizeof(cg->con), "%s/console", cg->dom);
	rc = xbt_guest_init(&cg->g, domid, 1);
	if (rc < 0)
		return rc;
	cg->intf = xbt_page(&cg->g, 0);
	cg->intf->out_cons = cg->intf->out_prod = out_idx;
	cg->intf->in_cons = cg->intf->in_prod = in_idx;
	rc = xbt_channel(&cg->g, port, &cg->kick, &cg->note);
	if (rc < 0)
		return rc;
	return xbt_write(cg->dom, "name", "cf-%u", domid) ? 0 : -EIO;
}

static void kick(int fd)
{
	uint64_t one = 1;

	if (write(fd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "# kick: %s\n", strerror(errno));
}

static bool notified(struct guest *cg)
{
	uint64_t n = 0;

	return read(cg->note, &n, sizeof(n)) == sizeof(n) && n > 0;
}

/* The guest's console driver: bytes into the out ring, then a kick. */
static void guest_put(struct guest *cg, const char *data, size_t len)
{
	struct xencons_interface *i = cg->intf;
	uint32_t prod = i->out_prod;
	size_t k;

	for (k = 0; k < len; k++)
		i->out[(prod + k) & (OUT_SIZE - 1)] = data[k];
	__atomic_thread_fence(__ATOMIC_RELEASE);
	i->out_prod = prod + (uint32_t)len;
	kick(cg->kick);
}

static bool has_tty(const void *arg)
{
	return xbt_read(((const struct guest *)arg)->con, "tty")[0] != '\0';
}

static bool no_tty(const void *arg)
{
	return !has_tty(arg);
}

/* Waits for console/tty and opens that pty's slave. */
static bool open_tty(struct guest *cg)
{
	char tty[256];

	if (cg->pty >= 0)
		close(cg->pty);
	cg->pty = -1;
	if (!xbt_pump(has_tty, cg))
		return false;
	snprintf(tty, sizeof(tty), "%s", xbt_read(cg->con, "tty"));
	if (strncmp(tty, "/dev/pts/", 9))
		return false;
	cg->pty = open(tty, O_RDWR | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
	return cg->pty >= 0;
}

/* What the pty gave so far, until it holds `want`. */
struct collect {
	struct guest *cg;
	const char *want;
	char got[8192];
	size_t len;
};

static bool collected(const void *arg)
{
	struct collect *c = (struct collect *)arg;
	ssize_t n;

	while (c->len < sizeof(c->got) &&
	       (n = read(c->cg->pty, c->got + c->len,
			 sizeof(c->got) - c->len)) > 0)
		c->len += (size_t)n;
	return c->len >= strlen(c->want) &&
	       !memcmp(c->got, c->want, strlen(c->want));
}

static void check_pty(struct guest *cg, const char *want, const char *name)
{
	static struct collect c;
	bool ok;

	c.cg = cg;
	c.want = want;
	c.len = 0;
	ok = cg->pty >= 0 && xbt_pump(collected, &c);
	xbt_check(ok && c.len == strlen(want), name,
		  "pty gave %zu bytes \"%.40s\", wanted %zu \"%.40s\"", c.len,
		  c.got, strlen(want), want);
}

static bool out_consumed(const void *arg)
{
	const struct guest *cg = arg;

	return cg->intf->out_cons == cg->intf->out_prod;
}

struct in_want {
	struct guest *cg;
	uint32_t prod;
};

static bool in_arrived(const void *arg)
{
	const struct in_want *w = arg;

	return w->cg->intf->in_prod == w->prod;
}

/* Bytes typed into the pty, found in the guest's in ring from its
 * in_cons on (which the guest then moves). */
static void check_input(struct guest *cg, const char *text, const char *name)
{
	struct xencons_interface *i = cg->intf;
	struct in_want w = { cg, i->in_prod + (uint32_t)strlen(text) };
	char got[IN_SIZE + 1] = "";
	size_t k, len = strlen(text);
	bool ok;

	ok = write(cg->pty, text, len) == (ssize_t)len && xbt_pump(in_arrived, &w);
	for (k = 0; ok && k < len; k++)
		got[k] = i->in[(i->in_cons + k) & (IN_SIZE - 1)];
	xbt_check(ok && !strcmp(got, text) && notified(cg), name,
		  "in_prod %#x (wanted %#x), ring \"%s\"", i->in_prod, w.prod,
		  got);
	i->in_cons = i->in_prod;
}

static void check_log(const char *file, const char *want, const char *name)
{
	char path[512], got[4096] = "";
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", logdir, file);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, got, sizeof(got) - 1);
		close(fd);
	}
	xbt_check(n >= 0 && !strcmp(got, want), name, "%s: \"%.60s\"", path,
		  got);
}

/* A hostile ring: the console dropped (console/tty gone), nothing else. */
static void check_dropped(struct guest *cg, const char *name)
{
	kick(cg->kick);
	xbt_check(xbt_pump(no_tty, cg), name, "console/tty still %s",
		  xbt_read(cg->con, "tty"));
}

/* New ring details (a frame number the toolstack rewrote): connected
 * again, and serving. */
static void check_back(struct guest *cg, unsigned port, const char *name)
{
	struct xencons_interface *i = cg->intf;

	i->out_cons = i->out_prod = 77;
	i->in_cons = i->in_prod = 5;
	cg->frame++;
	if (!xbt_write(cg->con, "ring-ref", "%u", cg->frame) ||
	    !xbt_write(cg->con, "port", "%u", port) || !open_tty(cg)) {
		xbt_check(false, name, "no console/tty after new ring details");
		return;
	}
	guest_put(cg, "back again\n", 11);
	check_pty(cg, "back again\n", name);
}

static const unsigned one = 1, none = 0;

static bool live_is(const void *arg)
{
	unsigned m = 99, c = 99, want = *(const unsigned *)arg;

	xenbus_shm_live(xbt_tp, &m, &c);
	return m == want && c == want;
}

static bool never(const void *arg)
{
	(void)arg;
	return false;
}

static void scenarios(struct guest *a, struct guest *b)
{
	static char big[3001], part[1501], log8[3100];
	struct xencons_interface *i;
	struct guest c;
	unsigned k;
	int rc;

	/* Domain 7: before the daemon, with output already in its ring. */
	rc = guest_new(a, 7, 3, 0, 0);
	guest_put(a, "early boot\n", 11);
	notified(a);
	xbt_check(rc == 0 && publish(a, 3), "guest 7 set up (page, channel, nodes)",
		  "%s", strerror(-rc));
	rc = daemon_open(&dm);
	xbt_check(rc == 0, "the daemon opens over the shm transport", "rc %d",
		  rc);
	if (rc)
		return;
	daemon_rescan(&dm);
	xbt_check(open_tty(a), "a domain there before the daemon gets a pty in console/tty",
		  "tty \"%s\"", xbt_read(a->con, "tty"));
	check_pty(a, "early boot\n", "output written before the daemon came reaches the pty");
	guest_put(a, "hello from the guest\n", 21);
	check_pty(a, "hello from the guest\n", "output after a kick reaches the pty");
	xbt_check(xbt_pump(out_consumed, a) && notified(a),
		  "the out ring is consumed and the guest notified",
		  "out_cons %#x out_prod %#x", a->intf->out_cons,
		  a->intf->out_prod);
	check_log("guest-cf-7.log", "early boot\nhello from the guest\n",
		  "the guest's log file holds its output");
	check_input(a, "typed\r", "input typed into the pty arrives in the in ring");

	/* Domain 8: comes later, its indexes about to wrap 2^32. */
	rc = guest_new(b, 8, 6, 0xFFFFFC00u, 0xFFFFFFF0u);
	xbt_check(rc == 0 && publish(b, 6) && open_tty(b),
		  "a domain that appears later gets a console (found by its nodes)",
		  "rc %d, tty \"%s\"", rc, xbt_read(b->con, "tty"));
	for (k = 0; k < 3000; k++)
		big[k] = (char)('a' + k % 26);
	for (k = 0; k < 2; k++) {	/* 1024 bytes to the wrap, then 476 */
		memcpy(part, big + k * 1500, 1500);
		guest_put(b, part, 1500);
		check_pty(b, part, k ? "output across the 2^32 index wrap arrives intact"
				     : "output up to the ring's end arrives intact");
	}
	check_input(b, "0123456789abcdefghijklmnopqrstuvwxyz\r",
		    "input across the in ring's end and the 2^32 wrap arrives intact");
	xbt_check_live(2, 2, "two consoles: two pages mapped, two channels bound");

	/* Hostile rings of domain 7: each drops its console alone. */
	i = a->intf;
	i->out_prod = i->out_cons + 0x10000;
	check_dropped(a, "out_prod far ahead of out_cons: the console is dropped");
	xbt_check_live(1, 1, "the dropped console's page unmapped and channel unbound");
	guest_put(b, "still here\n", 11);
	check_pty(b, "still here\n", "the other guest is still served");
	check_back(a, 3, "new ring details bring the dropped console back");
	i->out_prod = i->out_cons - 1;
	check_dropped(a, "out_prod behind out_cons (2^32 - 1 waiting): dropped");
	check_back(a, 3, "and back again");
	i->in_cons = i->in_prod + 0x80000000u;
	check_dropped(a, "in_cons far ahead of in_prod: dropped");
	check_back(a, 3, "and back once more");

	/* Nodes and channels a guest can get wrong (consoled leaves
	 * console/tty as it was when the nodes go wrong, as before). */
	xbt_write(a->con, "port", "3x");
	xbt_check(xbt_pump(live_is, &one),
		  "a port node that is not a number disconnects that console",
		  "still mapped or bound");
	a->frame++;
	xbt_write(a->con, "ring-ref", "%u", a->frame);
	xbt_write(a->con, "port", "99");
	xbt_pump(never, NULL);	/* the loop turns: consoled retries */
	xbt_check(live_is(&one), "a channel the guest never opened: no console (retried)",
		  "mapped or bound");
	rc = xbt_write("/local/domain/9", "name", "cf-9") &&
	     xbt_write("/local/domain/9/console", "ring-ref", "1") &&
	     xbt_write("/local/domain/9/console", "port", "1");
	memset(&c, 0, sizeof(c));
	snprintf(c.con, sizeof(c.con), "/local/domain/9/console");
	xbt_pump(has_tty, &c);
	xbt_check(rc && !has_tty(&c) && live_is(&one),
		  "a domain that granted nothing: no console",
		  "tty %s", xbt_read(c.con, "tty"));
	guest_put(b, "after all that\n", 15);
	check_pty(b, "after all that\n", "the other guest is still served");
	snprintf(log8, sizeof(log8), "%s%s", big, "still here\nafter all that\n");
	check_log("guest-cf-8.log", log8, "the other guest's log file holds all its output, in order");
}

static void remove_logs(void)
{
	static const char *const files[] = { "guest-cf-7.log",
					     "guest-cf-8.log" };
	char path[512];
	unsigned k;

	for (k = 0; k < ARRAY_SIZE(files); k++) {
		snprintf(path, sizeof(path), "%s/%s", logdir, files[k]);
		unlink(path);
	}
	rmdir(logdir);
}

int main(void)
{
	struct guest a = { .pty = -1 }, b = { .pty = -1 };

	if (!mkdtemp(logdir)) {
		printf("not ok - consoled: mkdtemp: %s\n", strerror(errno));
		return 1;
	}
	dm.opt.log_dir = logdir;
	if (xbt_open("consoled", &idle, NULL) < 0)
		return 1;
	dm.loop = xbt_loop;
	dm.tp = xbt_tp;
	scenarios(&a, &b);

	xs_rm(xbt_xs, XBT_NULL, "/local/domain/8");
	xbt_check(xbt_pump(live_is, &none),
		  "a domain removed: its page unmapped, its channel unbound",
		  "still mapped or bound");
	xs_rm(xbt_xs, XBT_NULL, "/local/domain/7");
	xs_rm(xbt_xs, XBT_NULL, "/local/domain/9");
	daemon_close(&dm);
	remove_logs();
	if (a.pty >= 0)
		close(a.pty);
	if (b.pty >= 0)
		close(b.pty);
	xbt_close();
	xbt_guest_fini(&a.g);
	xbt_guest_fini(&b.g);
	return xbt_failed;
}
