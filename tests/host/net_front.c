/*
 * net_front: netback (the "vif" engine) served to a netif frontend of this
 * program's own (net_ring.c) over the shm transport, against a real
 * xenstored, with real taps in a network namespace the test makes for
 * itself (so it needs root).  No Xen needed.
 *
 *   XENSTORED_PATH=/path/to/socket net_front
 *
 * The scenarios: the handshake and the features; TX of a small frame, a
 * multi-slot frame, a GSO TCPv4 frame and a csum_blank one, each seen on
 * the tap; RX of small, large and GSO frames into posted buffers, and of
 * frames sent while no buffer is posted (held, not lost, the worker
 * asleep); two queues; split event channels; close and reconnect; rate=
 * holding frames until a replenish; the control ring, Toeplitz steering
 * and the multicast filter (net_ctrl.c); a tap that does not exist; every
 * hostile frontend of docs/design/netback.md, each followed by traffic on
 * a second vif; nothing left mapped or bound at the end.
 *
 * Prints "ok - netback: ..." / "not ok - netback: ...: why".
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "net_ring.h"
#include "netback/netback.h"

struct netback nb = { .max_queues = 4 };
static unsigned char frame[70000], seen[70000];
static struct nf_rx rx;
static uint32_t seq = 1;

/* TX of a frame of n payload bytes in nslots slots; it must arrive on the
 * tap as sent: true and the vnet header in *vh. */
static bool tx_seen(struct nf_dev *d, unsigned qi, size_t len, unsigned nslots,
		    uint16_t flags, uint16_t gso, struct virtio_net_hdr *vh,
		    int *status)
{
	ssize_t n;

	*status = nf_tx_frame(d, qi, frame, len, nslots, flags, gso);
	do	/* skip what else the tap saw */
		n = nf_tap_recv(d, vh, seen, sizeof(seen), 2000);
	while (n >= 0 && ((size_t)n != len || memcmp(seen, frame, len)));
	return n >= 0;
}

/* A small frame through d, seen on its tap: the vif passes traffic. */
void nf_check_passes(struct nf_dev *d, const char *name)
{
	struct virtio_net_hdr vh;
	size_t len = nf_udp4(frame, 100, seq++);
	int st;
	bool ok = tx_seen(d, 0, len, 1, 0, 0, &vh, &st);

	xbt_check(ok && st == NETIF_RSP_OKAY, name, "status %d, %s", st,
		  ok ? "seen" : "not seen on the tap");
}

static void handshake(struct nf_dev *a)
{
	static const char *const want[][2] = {
		{ "feature-sg", "1" }, { "feature-gso-tcpv4", "1" },
		{ "feature-gso-tcpv6", "1" }, { "feature-ipv6-csum-offload", "1" },
		{ "feature-rx-copy", "1" }, { "feature-rx-flip", "0" },
		{ "feature-multicast-control", "1" },
		{ "feature-dynamic-multicast-control", "1" },
		{ "feature-split-event-channels", "1" },
		{ "feature-ctrl-ring", "1" }, { "multi-queue-max-queues", "4" },
	};
	char bad[128] = "";
	unsigned i;

	xbt_check_state(a->be, XENBUS_INITWAIT, "probe: InitWait");
	for (i = 0; i < ARRAY_SIZE(want); i++)
		if (strcmp(xbt_read(a->be, want[i][0]), want[i][1]) && !bad[0])
			snprintf(bad, sizeof(bad), "%s is \"%s\"", want[i][0],
				 xbt_read(a->be, want[i][0]));
	xbt_check(!bad[0], "probe: the features (sg, gso v4/v6, ipv6 csum, rx-copy, multicast control, split channels, ctrl ring, 4 queues)",
		  "%s", bad);
	nf_connect(a, 1, false, NF_ALL);
	xbt_check_state(a->be, XENBUS_CONNECTED, "connect: one queue, one channel -> Connected");
	xbt_check_live(0, 0, "connect: the daemon maps nothing (its worker does)");
}

static void tx(struct nf_dev *a)
{
	struct virtio_net_hdr vh;
	size_t len;
	int st;
	bool ok;

	len = nf_udp4(frame, 46, seq++);
	ok = tx_seen(a, 0, len, 1, 0, 0, &vh, &st);
	xbt_check(ok && st == NETIF_RSP_OKAY && vh.flags == 0 && vh.gso_type == 0,
		  "tx: a small frame (one slot) -> OKAY, on the tap as sent",
		  "status %d, seen %d, vnet flags %u gso %u", st, ok, vh.flags, vh.gso_type);
	len = nf_udp4(frame, 9000 - 42, seq++);
	ok = tx_seen(a, 0, len, 3, 0, 0, &vh, &st);
	xbt_check(ok && st == NETIF_RSP_OKAY,
		  "tx: a 9000-byte frame in 3 slots (SG) -> OKAY, whole on the tap",
		  "status %d, seen %d", st, ok);
	len = nf_udp4(frame, 300, seq++);
	ok = tx_seen(a, 0, len, 1, NETTXF_csum_blank | NETTXF_data_validated, 0, &vh, &st);
	xbt_check(ok && st == NETIF_RSP_OKAY && (vh.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
			  vh.csum_start == 34 && vh.csum_offset == 6,
		  "tx: csum_blank UDP -> NEEDS_CSUM, csum_start 34, csum_offset 6",
		  "status %d, seen %d, flags %u start %u offset %u", st, ok,
		  vh.flags, vh.csum_start, vh.csum_offset);
	len = nf_tcp4(frame, 20000, seq++);
	ok = tx_seen(a, 0, len, 6, NETTXF_csum_blank, 1448, &vh, &st);
	xbt_check(ok && st == NETIF_RSP_OKAY && vh.gso_type == VIRTIO_NET_HDR_GSO_TCPV4 &&
			  vh.gso_size == 1448 && vh.csum_offset == 16,
		  "tx: a 20 KB GSO TCPv4 frame in 6 slots + GSO extra -> on the tap as one, gso_type TCPV4, gso_size 1448",
		  "status %d, seen %d, gso_type %u gso_size %u csum_offset %u", st,
		  ok, vh.gso_type, vh.gso_size, vh.csum_offset);
}

/* Sends frame (len) out of the tap toward a, expects it in a's buffers. */
static void rx_one(struct nf_dev *a, unsigned qi, size_t len, unsigned slots,
		   const struct virtio_net_hdr *vh, const char *name)
{
	int rc = nf_tap_send(a, vh, frame, len);
	bool ok = rc == 0 && nf_rx_get(a, qi, &rx);

	xbt_check(ok && !rx.error && rx.len == len && !memcmp(rx.data, frame, len) &&
			  rx.slots == slots && rx.status == (int16_t)(len < 4096 ? len : 4096),
		  name, "send %d, got %d, %zu bytes (sent %zu), %u slots (wanted %u), status %d, error %d",
		  rc, ok, rx.len, len, rx.slots, slots, rx.status, rx.error);
}

static void rxs(struct nf_dev *a)
{
	struct virtio_net_hdr vh = { 0 };
	size_t len;

	nf_rx_post(a, 0, 40);
	len = nf_udp4(frame, 100, seq++);
	rx_one(a, 0, len, 1, &vh, "rx: a small frame into a posted buffer, status = its length");
	len = nf_udp4(frame, 8000, seq++);
	rx_one(a, 0, len, 2, &vh, "rx: an 8 KB frame over two buffers (more_data)");
	len = nf_tcp4(frame, 30000, seq++);
	vh = (struct virtio_net_hdr){ .flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
				      .gso_type = VIRTIO_NET_HDR_GSO_TCPV4,
				      .hdr_len = 54, .gso_size = 1448,
				      .csum_start = 34, .csum_offset = 16 };
	rx_one(a, 0, len, 8 + 1, &vh, "rx: a 30 KB GSO TCPv4 frame: 8 buffers and a GSO extra slot");
	xbt_check(rx.gso.type == XEN_NETIF_EXTRA_TYPE_GSO &&
			  rx.gso.u.gso.type == XEN_NETIF_GSO_TYPE_TCPV4 &&
			  rx.gso.u.gso.size == 1448 &&
			  (rx.flags & (NETRXF_csum_blank | NETRXF_extra_info)) ==
				  (NETRXF_csum_blank | NETRXF_extra_info),
		  "rx: the GSO extra says TCPV4, 1448; the first slot csum_blank|extra_info",
		  "extra type %u gso type %u size %u, flags %#x", rx.gso.type,
		  rx.gso.u.gso.type, rx.gso.u.gso.size, rx.flags);
}

/* Frames sent while no buffer is posted wait in the tap, the worker
 * asleep; posted buffers then get every one, in order. */
static void rx_starved(struct nf_dev *a)
{
	struct virtio_net_hdr vh = { 0 };
	int pid = xbt_child_named("vif.1.0");
	long before, after;
	unsigned i, ok = 0, ready;

	/* Use up what is posted: 40 - 1 - 2 - 9. */
	for (i = 0; i < 28; i++) {
		size_t len = nf_udp4(frame, 60, seq++);

		nf_tap_send(a, &vh, frame, len);
		ok += nf_rx_get(a, 0, &rx);
	}
	xbt_check(ok == 28, "rx: 28 more frames use up the posted buffers", "%u", ok);
	before = atol(xbt_proc_status(pid, "voluntary_ctxt_switches")) +
		 atol(xbt_proc_status(pid, "nonvoluntary_ctxt_switches"));
	for (i = 0; i < 5; i++) {
		size_t len = nf_udp4(frame, 200 + i, seq + i);

		nf_tap_send(a, &vh, frame, len);
	}
	for (i = 0; i < 10; i++)	/* the daemon's loop turns meanwhile */
		evloop_run_once(xbt_loop, 20);
	after = atol(xbt_proc_status(pid, "voluntary_ctxt_switches")) +
		atol(xbt_proc_status(pid, "nonvoluntary_ctxt_switches"));
	ready = nf_rx_ready(a, 0);
	xbt_check(pid > 0 && ready == 0 && after - before <= 6,
		  "rx: 5 frames while no buffer is posted: none delivered, the worker wakes at most a few times (no spin)",
		  "worker %d, %u responses, %ld context switches", pid, ready,
		  after - before);
	nf_rx_post(a, 0, 8);
	for (ok = 0, i = 0; i < 5; i++) {
		size_t len = nf_udp4(frame, 200 + i, seq + i);

		ok += nf_rx_get(a, 0, &rx) && rx.len == len && !memcmp(rx.data, frame, len);
	}
	seq += 5;
	xbt_check(ok == 5, "rx: once buffers are posted, all 5 arrive, in order", "%u of 5", ok);
}

static void multiqueue(struct nf_dev *a)
{
	struct virtio_net_hdr vh = { 0 };
	unsigned i, got0 = 0, got1 = 0;
	size_t len;
	int st;
	bool ok;

	nf_reopen(a);
	nf_connect(a, 2, false, NF_ALL);
	xbt_check_state(a->be, XENBUS_CONNECTED, "multi-queue: 2 queues -> Connected");
	len = nf_udp4(frame, 500, seq++);
	ok = tx_seen(a, 1, len, 2, 0, 0, &vh, &st);
	xbt_check(ok && st == NETIF_RSP_OKAY, "multi-queue: tx on queue 1 reaches the tap",
		  "status %d, seen %d", st, ok);
	nf_rx_post(a, 0, 32);
	nf_rx_post(a, 1, 32);
	for (i = 0; i < 16; i++) {
		len = nf_udp4(frame, 64, seq++);	/* flows differ: both queues */
		nf_tap_send(a, &vh, frame, len);
	}
	for (i = 0; i < 40 && got0 + got1 < 16; i++) {
		evloop_run_once(xbt_loop, 20);
		while (nf_rx_ready(a, 0) && nf_rx_get(a, 0, &rx))
			got0++;
		while (nf_rx_ready(a, 1) && nf_rx_get(a, 1, &rx))
			got1++;
	}
	xbt_check(got0 + got1 == 16 && got0 && got1,
		  "multi-queue: 16 flows from the tap arrive, spread over both queues",
		  "queue 0 %u, queue 1 %u", got0, got1);
}

static void split(struct nf_dev *a)
{
	struct virtio_net_hdr vh = { 0 };
	size_t len;

	nf_reopen(a);
	nf_connect(a, 1, true, NF_ALL);
	xbt_check_state(a->be, XENBUS_CONNECTED, "split channels: event-channel-tx/-rx -> Connected");
	nf_check_passes(a, "split channels: tx");
	nf_rx_post(a, 0, 8);
	len = nf_udp4(frame, 700, seq++);
	rx_one(a, 0, len, 1, &vh, "split channels: rx, kicked on the rx channel");
}

static void reconnect(struct nf_dev *a)
{
	nf_reopen(a);
	xbt_check_live(0, 0, "reconnect: closed, nothing mapped or bound");
	nf_connect(a, 1, false, NF_ALL);
	xbt_check_state(a->be, XENBUS_CONNECTED, "reconnect: Initialising -> InitWait -> Connected");
	nf_check_passes(a, "reconnect: traffic again");
}

/* Sends n frames of size bytes each (in flight together). */
static void tx_burst(struct nf_dev *a, unsigned n, size_t size)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		uint32_t ref = NF_TXPAGE(a, 32 + i);
		size_t len = nf_udp4(xbt_page(a->g, ref), size - 42, seq++);

		nf_tx_slot(a, 0, ref, 0, 0, (uint16_t)len);
	}
	nf_tx_push(a, 0);
}

static void settle(void)
{
	unsigned i;

	for (i = 0; i < 15; i++)
		evloop_run_once(xbt_loop, 20);
}

/* Reconnects a with this rate (NULL: none). */
static void with_rate(struct nf_dev *a, const char *r)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/rate", a->be);
	if (r)
		xbt_write(a->be, "rate", "%s", r);
	else
		xs_rm(xbt_xs, XBT_NULL, path);
	nf_reopen(a);
	nf_connect(a, 1, false, NF_ALL);
	xbt_wait_state(a->be, XENBUS_CONNECTED);
}

/* n frames of size behind one kick: `want` answered, and no more after
 * the loop turns a while (the window is far longer than the test). */
static void check_held(struct nf_dev *a, unsigned n, size_t size, unsigned want,
		       const char *name)
{
	unsigned got;

	tx_burst(a, n, size);
	got = nf_tx_wait(a, 0, want, NULL);
	settle();
	xbt_check(got == want && nf_tx_ready(a, 0) == 0, name,
		  "%u answered, then %u more", got, nf_tx_ready(a, 0));
}

static void rate(struct nf_dev *a)
{
	unsigned got, i;

	with_rate(a, "3000,10000000");	/* 10 s: no replenish here */
	check_held(a, 5, 1000, 3, "rate 3000 bytes/10 s: of 5 frames of 1000 bytes, 3 answered, 2 held");
	with_rate(a, "500,10000000");
	check_held(a, 2, 1000, 1, "rate 500 bytes: a 1000-byte frame passes on a full credit, the next waits");
	with_rate(a, "2000,20000");	/* 20 ms */
	tx_burst(a, 10, 1000);
	for (got = 0, i = 0; i < 10 && got < 10; i++)
		got += nf_tx_wait(a, 0, 10 - got, NULL);
	xbt_check(got == 10, "rate 2000 bytes/20 ms: 10 frames of 1000 all pass over replenishes",
		  "%u answered", got);
	with_rate(a, NULL);
	xbt_check_state(a->be, XENBUS_CONNECTED, "rate: removed, reconnected");
}

int main(void)
{
	static const char *const b_extra[] = { "handle", "0", "mac", "00:16:3e:00:00:02",
					       "bridge", "xenbr0", "type", "vif", NULL };
	static const char *const a_extra[] = { "handle", "0", "mac", "00:16:3e:00:00:01",
					       "vifname", "nbtest-a", NULL };
	struct xbt_guest g1, g2;
	static const char *const c_extra[] = { "vifname", "nbtest-none", NULL };
	struct nf_dev a, b, c;
	int fd;

	if (geteuid() != 0 || unshare(CLONE_NEWNET) < 0) {
		printf("not ok - netback: set up: a network namespace of its own (needs root): %s\n",
		       strerror(errno));
		return 1;
	}
	/* No IPv6 autoconfiguration chatter on the taps. */
	fd = open("/proc/sys/net/ipv6/conf/default/disable_ipv6", O_WRONLY | O_CLOEXEC);
	if (fd >= 0) {
		(void)!write(fd, "1", 1);
		close(fd);
	}
	if (nf_tap_make("nbtest-a", 9000) < 0 || nf_tap_make("vif2.0", 1500) < 0) {
		printf("not ok - netback: set up: taps: %s\n", strerror(errno));
		return 1;
	}
	if (xbt_open("netback", &netback_engine, &nb) < 0)
		return 1;
	if (xbt_guest_init(&g1, 1, 2 * NF_SPAN) < 0 || xbt_guest_init(&g2, 2, 2 * NF_SPAN) < 0 ||
	    nf_add(&a, &g1, 0, 0, 10, "nbtest-a", a_extra) < 0 ||
	    nf_add(&b, &g2, 0, 0, 10, "vif2.0", b_extra) < 0 ||
	    nf_add(&c, &g1, 5, NF_SPAN, 40, "nbtest-none", c_extra) < 0) {
		printf("not ok - netback: set up: guests\n");
		return 1;
	}
	handshake(&a);
	xbt_wait_state(b.be, XENBUS_INITWAIT);
	nf_connect(&b, 1, false, NF_ALL);
	xbt_check_state(b.be, XENBUS_CONNECTED, "a second vif (vif2.0, named by domid and handle) -> Connected");
	tx(&a);
	rxs(&a);
	rx_starved(&a);
	multiqueue(&a);
	split(&a);
	reconnect(&a);
	rate(&a);
	nf_ctrl_tests(&a, &b);
	nf_hostile(&a, &b, &c);

	xs_rm(xbt_xs, XBT_NULL, "/local/domain/0/backend/vif");
	xbt_check(xbt_no_devices(), "remove: backend/vif gone -> every device dropped",
		  "%u left", xenbus_device_count(xbt_core));
	xbt_check_live(0, 0, "remove: nothing left mapped or bound");
	xbt_close();
	xbt_guest_fini(&g1);
	xbt_guest_fini(&g2);
	nf_tap_delete("nbtest-a");
	nf_tap_delete("vif2.0");
	return xbt_failed;
}
