/*
 * tests/host/net_hostile.c: hostile netif frontends against netback
 * (net_front's scenarios, docs/design/netback.md "A hostile frontend"):
 * each bad ring gets errors in its responses or its vif closed, never a
 * crash, and after each a second vif served by the same daemon passes
 * traffic.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "net_ring.h"
#include "netback/netback.h"

extern struct netback nb;	/* net_front.c's */

static struct nf_dev *other;

/* Publishes what was laid out, waits for n responses: statuses in st. */
static unsigned answer(struct nf_dev *a, unsigned n, int16_t *st)
{
	nf_tx_push(a, 0);
	return nf_tx_wait(a, 0, n, st);
}

/* n responses, each want (or NULL where the slot is an extra). */
static void check_answers(struct nf_dev *a, unsigned n, int16_t want,
			  unsigned extra_at, const char *name)
{
	int16_t st[256];
	unsigned got = answer(a, n, st), i, bad = 0;
	char o[200];

	for (i = 0; i < got; i++)
		bad += st[i] != (extra_at && i == extra_at ? NETIF_RSP_NULL : want);
	xbt_check(got == n && !bad, name, "%u of %u answers, %u not as wanted (first %d)",
		  got, n, bad, got ? st[0] : 99);
	snprintf(o, sizeof(o), "%s; the other vif passes", name);
	nf_check_passes(other, o);
}

static void fill(struct nf_dev *a, uint32_t ref, size_t n)
{
	nf_udp4(xbt_page(a->g, ref), n > 42 ? n - 42 : 0, 7);
}

/* A packet of n slots: the first says first bytes, the others size each. */
static void chain(struct nf_dev *a, unsigned n, uint16_t first, uint16_t size)
{
	unsigned i;

	for (i = 0; i < n; i++)
		nf_tx_slot(a, 0, NF_TXPAGE(a, i), 0, i + 1 < n ? NETTXF_more_data : 0,
			   i ? size : first);
}

static void bad_slots(struct nf_dev *a)
{
	struct netif_extra_info e = { .type = 7 };
	uint32_t p0 = NF_TXPAGE(a, 0), p1 = NF_TXPAGE(a, 1);
	unsigned i;

	nf_tx_slot(a, 0, 999999, 0, 0, 60);
	check_answers(a, 1, NETIF_RSP_ERROR, 0, "hostile: a grant ref that does not copy -> ERROR");
	fill(a, p0, 200);
	nf_tx_slot(a, 0, p0, 4000, 0, 200);
	check_answers(a, 1, NETIF_RSP_ERROR, 0, "hostile: offset + size past the page -> ERROR");
	fill(a, p0, 300);
	nf_tx_slot(a, 0, p0, 0, NETTXF_more_data, 300);
	nf_tx_slot(a, 0, p1, 4000, 0, 200);
	check_answers(a, 2, NETIF_RSP_ERROR, 0, "hostile: a second slot past its page -> ERROR on both");
	fill(a, p0, 1900);
	chain(a, 19, 19 * 100, 100);
	check_answers(a, 19, NETIF_RSP_ERROR, 0, "hostile: a packet of 19 slots (limit 18) -> ERROR on each");
	chain(a, 18, 65535, 4096);
	check_answers(a, 18, NETIF_RSP_ERROR, 0, "hostile: slots adding up to 69 KB (over 64 KiB and its first size) -> ERROR");
	fill(a, p0, 60);
	nf_tx_slot(a, 0, p0, 0, 0, 10);
	check_answers(a, 1, NETIF_RSP_ERROR, 0, "hostile: a 10-byte frame (no Ethernet header) -> ERROR");
	fill(a, p0, 100);
	nf_tx_slot(a, 0, p0, 0, NETTXF_extra_info, 100);
	nf_tx_extra(a, 0, &e);
	check_answers(a, 2, NETIF_RSP_ERROR, 1, "hostile: an extra of unknown type -> ERROR, the extra NULL");
	e = (struct netif_extra_info){ .type = XEN_NETIF_EXTRA_TYPE_GSO };
	e.u.gso.size = 1000;
	e.u.gso.type = XEN_NETIF_GSO_TYPE_TCPV4;
	nf_tx_slot(a, 0, p0, 0, NETTXF_extra_info, 100);
	nf_tx_extra(a, 0, &e);
	check_answers(a, 2, NETIF_RSP_ERROR, 1, "hostile: GSO without csum_blank -> ERROR");
	memset((char *)xbt_page(a->g, p0) + 12, 0x12, 2);	/* not IP */
	nf_tx_slot(a, 0, p0, 0, NETTXF_csum_blank, 100);
	check_answers(a, 1, NETIF_RSP_ERROR, 0, "hostile: csum_blank on a frame that is not IP -> ERROR");
	e = (struct netif_extra_info){ .type = XEN_NETIF_EXTRA_TYPE_MCAST_ADD };
	nf_tx_slot(a, 0, p0, 0, NETTXF_extra_info, 0);
	nf_tx_extra(a, 0, &e);
	check_answers(a, 2, NETIF_RSP_OKAY, 1, "multicast: an MCAST_ADD extra -> OKAY, the extra NULL");
	for (i = 0; i < 200; i++) {
		fill(a, NF_TXPAGE(a, i), 60);
		nf_tx_slot(a, 0, NF_TXPAGE(a, i), 0, 0, 60);
	}
	check_answers(a, 200, NETIF_RSP_OKAY, 0, "hostile: a flood of 200 frames behind one kick -> 200 OKAY");
}

static void bad_rx(struct nf_dev *a)
{
	struct virtio_net_hdr vh = { 0 };
	unsigned char f[200];
	size_t len = nf_udp4(f, 100, 77);
	struct nf_rx *r = malloc(sizeof(*r));
	bool got;

	nf_rx_post_ref(a, 0, 999999);
	nf_tap_send(a, &vh, f, len);
	got = r && nf_rx_get(a, 0, r);
	xbt_check(got && r->error, "hostile: an rx buffer that does not copy -> its response ERROR",
		  "got %d, error %d", got, got && r->error);
	nf_rx_post(a, 0, 4);
	nf_tap_send(a, &vh, f, len);
	got = r && nf_rx_get(a, 0, r);
	xbt_check(got && !r->error && r->len == len,
		  "hostile: the next buffers posted get the next frame", "got %d", got);
	nf_check_passes(other, "hostile: after the bad rx buffer, the other vif passes");
	free(r);
}

/* The vif closed with why in `error`; it comes back through
 * Initialising and passes traffic. */
static void check_closed(struct nf_dev *a, const char *why, const char *name)
{
	char n2[200];

	xbt_check_refused(a->be, why, name);
	snprintf(n2, sizeof(n2), "%s; the other vif passes", name);
	nf_check_passes(other, n2);
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
	nf_connect(a, 1, false, NF_ALL);
	xbt_wait_state(a->be, XENBUS_CONNECTED);
}

static void broken(struct nf_dev *a)
{
	struct netif_extra_info e = { .type = XEN_NETIF_EXTRA_TYPE_HASH,
				      .flags = XEN_NETIF_EXTRA_FLAG_MORE };
	uint64_t before = nb.stats.broken;
	unsigned i;

	chain(a, 30, 3000, 100);
	nf_tx_push(a, 0);
	check_closed(a, "more than 20 slots", "hostile: a chain of 30 slots -> vif closed");
	nf_tx_slot(a, 0, NF_TXPAGE(a, 0), 0, NETTXF_extra_info, 100);
	for (i = 0; i < 5; i++)
		nf_tx_extra(a, 0, &e);
	nf_tx_push(a, 0);
	check_closed(a, "extra-info", "hostile: 5 chained extras -> vif closed");
	a->q[0].tx.sring->req_prod = a->q[0].tx.req_prod_pvt + 256 + 5;
	(void)!write(a->q[0].kick_tx, &(uint64_t){ 1 }, 8);
	check_closed(a, "tx: req_prod overruns the ring", "hostile: tx req_prod a ring ahead -> vif closed");
	a->q[0].rx.sring->req_prod = a->q[0].rx.req_prod_pvt + 256 + 5;
	(void)!write(a->q[0].kick_tx, &(uint64_t){ 1 }, 8);
	check_closed(a, "rx: req_prod overruns the ring", "hostile: rx req_prod a ring ahead -> vif closed");
	xbt_check(nb.stats.broken == before + 4, "hostile: 4 broken frontends counted",
		  "%llu", (unsigned long long)(nb.stats.broken - before));
	nf_check_passes(a, "hostile: the vif closed 4 times is served again");
}

/* What the daemon refuses at connect. */
static void refused(struct nf_dev *a, struct nf_dev *c)
{
	nf_reopen(a);
	nf_connect(a, 1, false, NF_ALL | NF_NO_RX_COPY);
	xbt_check_refused(a->be, "request-rx-copy", "hostile: request-rx-copy 0 -> refused, Closed");
	xbt_write(a->fe, "request-rx-copy", "1");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
	xbt_write(a->fe, "multi-queue-num-queues", "9");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISED);
	xbt_check_refused(a->be, "multi-queue-num-queues", "hostile: 9 queues (max 4) -> refused");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
	nf_connect(a, 1, false, NF_ALL);
	xbt_check_state(a->be, XENBUS_CONNECTED, "hostile: and then a good connect");

	xbt_wait_state(c->be, XENBUS_INITWAIT);
	nf_connect(c, 1, false, NF_ALL);
	xbt_check_refused(c->be, "tap nbtest-none does not exist",
			  "a vif whose tap does not exist -> Closed, error says so");
	xbt_check_live(0, 0, "after the refusals: the daemon holds nothing");
}

/* The fds of pid that are taps (/dev/net/tun) and sockets. */
static void fds_of(int pid, unsigned *taps, unsigned *socks)
{
	*taps = xbt_count_fds(pid, "/dev/net/tun", false);
	*socks = xbt_count_fds(pid, "socket:", true);
}

static void isolation(struct nf_dev *a)
{
	int pid = xbt_child_named("vif.1.0"), pid2 = xbt_child_named("vif.2.0");
	unsigned taps, socks, mine, unused;

	xbt_check(pid > 0 && pid2 > 0 && !strcmp(xbt_proc_status(pid, "NoNewPrivs"), "1") &&
			  !strcmp(xbt_proc_status(pid, "Seccomp"), "2") &&
			  !strcmp(xbt_proc_status(pid, "CapEff"), "0000000000000000"),
		  "isolation: each vif's worker its own process, no capabilities, no_new_privs, seccomp filter",
		  "pids %d %d, NoNewPrivs %s", pid, pid2,
		  pid > 0 ? xbt_proc_status(pid, "NoNewPrivs") : "-");
	fds_of(pid, &taps, &socks);
	fds_of(getpid(), &mine, &unused);
	xbt_check(taps == 1 && socks == 1 && mine == 0,
		  "isolation: the worker holds its one tap queue and its socket to the daemon; the daemon keeps no tap fd",
		  "worker: %u taps, %u sockets; daemon: %u taps", taps, socks, mine);

	kill(pid, SIGKILL);
	xbt_check_refused(a->be, "killed by signal 9",
			  "kill -9 of a vif's worker: its vif Closed, the error names the death");
	xbt_check(xbt_child_named("vif.2.0") == pid2, "kill -9: the other vif's worker lives on",
		  "now %d, was %d", xbt_child_named("vif.2.0"), pid2);
	nf_check_passes(other, "kill -9: the other vif passes");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
	nf_connect(a, 1, false, NF_ALL);
	xbt_check_state(a->be, XENBUS_CONNECTED, "kill -9: the vif comes back through Initialising");
	nf_check_passes(a, "kill -9: served again by a new worker");
}

void nf_hostile(struct nf_dev *a, struct nf_dev *b, struct nf_dev *c)
{
	other = b;
	isolation(a);
	bad_slots(a);
	bad_rx(a);
	broken(a);
	refused(a, c);
}
