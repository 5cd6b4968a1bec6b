/*
 * tests/host/net_ctrl.c: netback's control ring, hashing and multicast
 * filter (net_front's scenarios, docs/design/netback.md "The control ring,
 * hashing and multicast"): the frontend sets Toeplitz, the RSS suite's key
 * and a mapping table; frames with the suite's flows are sent into the tap
 * and each must arrive on the queue the table names for the suite's hash,
 * with that hash in a HASH extra; a multicast group is dropped until
 * added, passes, and is dropped again once deleted, broadcast passing
 * throughout, and request-multicast-control is followed while connected; hostile control requests get their error status (or the vif
 * closed), and the other vif passes after each.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <xenstore.h>

#include "net_ring.h"
#include "tests/unit/rss_vectors.h"

#define ST_OK XEN_NETIF_CTRL_STATUS_SUCCESS
#define ST_NOTSUP XEN_NETIF_CTRL_STATUS_NOT_SUPPORTED
#define ST_INVAL XEN_NETIF_CTRL_STATUS_INVALID_PARAMETER
#define ST_OVER XEN_NETIF_CTRL_STATUS_BUFFER_OVERFLOW
#define ALL_TYPES 0xfu

static struct nf_dev *other;
static struct nf_rx rx;
static unsigned char f[2048];
/* The table the frontend sets: 8 entries, sent in two halves. */
static const uint32_t table[8] = { 1, 0, 0, 1, 0, 1, 1, 1 };

/* A frame of a flow: Ethernet to a's MAC, IPv4 or IPv6, TCP or UDP with
 * the ports, 32 bytes of payload. */
static size_t flow(bool six, const struct rss_row *r, uint8_t proto)
{
	static const unsigned char eth[12] = { 0x00, 0x16, 0x3e, 0, 0, 1,
					       0x00, 0x16, 0x3e, 0, 0, 0x99 };
	size_t l3 = 14, l4, l4len = (proto == 6 ? 20 : 8) + 32;
	uint16_t v;

	memset(f, 0, 200);
	memcpy(f, eth, 12);
	if (six) {
		f[12] = 0x86, f[13] = 0xdd;
		f[l3] = 0x60;
		v = htons((uint16_t)l4len);
		memcpy(f + l3 + 4, &v, 2);
		f[l3 + 6] = proto;
		f[l3 + 7] = 64;
		inet_pton(AF_INET6, r->src, f + l3 + 8);
		inet_pton(AF_INET6, r->dst, f + l3 + 24);
		l4 = l3 + 40;
	} else {
		f[12] = 0x08;
		f[l3] = 0x45;
		v = htons((uint16_t)(20 + l4len));
		memcpy(f + l3 + 2, &v, 2);
		f[l3 + 8] = 64;
		f[l3 + 9] = proto;
		inet_pton(AF_INET, r->src, f + l3 + 12);
		inet_pton(AF_INET, r->dst, f + l3 + 16);
		l4 = l3 + 20;
	}
	v = htons(r->sport);
	memcpy(f + l4, &v, 2);
	v = htons(r->dport);
	memcpy(f + l4 + 2, &v, 2);
	if (proto == 6)
		f[l4 + 12] = 5 << 4;
	else {
		v = htons((uint16_t)l4len);
		memcpy(f + l4 + 4, &v, 2);
	}
	memset(f + l4 + l4len - 32, 0x5a, 32);
	return l4 + l4len;
}

static uint32_t hash_value(const struct netif_extra_info *e)
{
	return (uint32_t)e->u.hash.value[0] | (uint32_t)e->u.hash.value[1] << 8 |
	       (uint32_t)e->u.hash.value[2] << 16 | (uint32_t)e->u.hash.value[3] << 24;
}

/* One flow into the tap: false with why when it does not arrive on the
 * queue the table names for hash, whole, with the HASH extra of htype. */
static bool steered(struct nf_dev *a, bool six, const struct rss_row *r,
		    uint8_t proto, uint32_t hash, uint8_t htype, unsigned *qs,
		    char *why, size_t wl)
{
	struct virtio_net_hdr vh = { 0 };
	size_t len = flow(six, r, proto);
	unsigned want = table[hash % 8], qi = 99;

	if (nf_tap_send(a, &vh, f, len) < 0 || !nf_rx_get_any(a, &qi, &rx)) {
		snprintf(why, wl, "%s -> %s: not received", r->src, r->dst);
		return false;
	}
	*qs |= 1u << qi;
	if (qi != want || rx.len != len || memcmp(rx.data, f, len) ||
	    rx.hash.type != XEN_NETIF_EXTRA_TYPE_HASH || rx.hash.u.hash.type != htype ||
	    rx.hash.u.hash.algorithm != XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ ||
	    hash_value(&rx.hash) != hash) {
		snprintf(why, wl, "%s -> %s proto %u: queue %u (wanted %u), %zu bytes (sent %zu), extra type %u htype %u alg %u value %#x (wanted %#x)",
			 r->src, r->dst, proto, qi, want, rx.len, len, rx.hash.type,
			 rx.hash.u.hash.type, rx.hash.u.hash.algorithm,
			 hash_value(&rx.hash), hash);
		return false;
	}
	return true;
}

/* Every row of the suite, IPv4 over TCP and UDP, IPv6 over TCP. */
static void check_steering(struct nf_dev *a, const char *name)
{
	char why[300] = "";
	unsigned i, n = 0, good = 0, qs = 0;

	nf_rx_post(a, 0, 64);
	nf_rx_post(a, 1, 64);
	for (i = 0; i < ARRAY_SIZE(v4); i++, n += 2) {
		good += steered(a, false, &v4[i], 6, v4[i].tcp,
				_XEN_NETIF_CTRL_HASH_TYPE_IPV4_TCP, &qs, why, sizeof(why));
		good += steered(a, false, &v4[i], 17, v4[i].ip,
				_XEN_NETIF_CTRL_HASH_TYPE_IPV4, &qs, why, sizeof(why));
	}
	for (i = 0; i < ARRAY_SIZE(v6); i++, n++)
		good += steered(a, true, &v6[i], 6, v6[i].tcp,
				_XEN_NETIF_CTRL_HASH_TYPE_IPV6_TCP, &qs, why, sizeof(why));
	xbt_check(good == n && qs == 3, name, "%u of %u as wanted, queues used %#x; %s",
		  good, n, qs, why);
}

static void expect(struct nf_dev *a, uint16_t type, uint32_t d0, uint32_t d1,
		   uint32_t d2, uint32_t want, const char *name)
{
	uint32_t st = nf_ctrl(a, type, d0, d1, d2, NULL);

	xbt_check(st == want, name, "status %u, wanted %u", st, want);
}

/* Flags 0, then the algorithm NONE: no hash, no extra (and back on). */
static void hash_off(struct nf_dev *a)
{
	struct virtio_net_hdr vh = { 0 };
	size_t len = flow(false, &v4[0], 6);
	unsigned qi = 99, k;
	bool got[2];

	for (k = 0; k < 2; k++) {
		if (k == 0)
			expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0, 0, 0, ST_OK,
			       "hashing: SET_HASH_FLAGS 0 -> SUCCESS");
		else
			expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
			       XEN_NETIF_CTRL_HASH_ALGORITHM_NONE, 0, 0, ST_OK,
			       "hashing: SET_HASH_ALGORITHM NONE -> SUCCESS");
		got[k] = nf_tap_send(a, &vh, f, len) == 0 && nf_rx_get_any(a, &qi, &rx) &&
			 rx.len == len && rx.hash.type == 0 && rx.slots == 1;
	}
	xbt_check(got[0] && got[1], "hashing: with flags 0, and with the algorithm NONE, a flow arrives with no HASH extra",
		  "flags 0: %s; NONE: %s", got[0] ? "as wanted" : "not", got[1] ? "as wanted" : "not");
	expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
	       XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, ST_OK,
	       "hashing: SET_HASH_ALGORITHM Toeplitz again -> SUCCESS");
	expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, ALL_TYPES, 0, 0, ST_OK,
	       "hashing: SET_HASH_FLAGS all four again -> SUCCESS");
}

static void hashing(struct nf_dev *a)
{
	uint32_t *map = xbt_page(a->g, NF_MAPPAGE(a)), data = 0, st;

	nf_reopen(a);
	nf_connect(a, 2, false, NF_ALL | NF_CTRL);
	xbt_check_state(a->be, XENBUS_CONNECTED, "ctrl ring: 2 queues and a control ring -> Connected");
	expect(a, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, ST_NOTSUP,
	       "ctrl ring: GET_HASH_FLAGS before an algorithm -> NOT_SUPPORTED");
	expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, ALL_TYPES, 0, 0, ST_NOTSUP,
	       "ctrl ring: SET_HASH_FLAGS before an algorithm -> NOT_SUPPORTED");
	expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM,
	       XEN_NETIF_CTRL_HASH_ALGORITHM_TOEPLITZ, 0, 0, ST_OK,
	       "ctrl ring: SET_HASH_ALGORITHM Toeplitz -> SUCCESS");
	st = nf_ctrl(a, XEN_NETIF_CTRL_TYPE_GET_HASH_FLAGS, 0, 0, 0, &data);
	xbt_check(st == ST_OK && data == ALL_TYPES,
		  "ctrl ring: GET_HASH_FLAGS -> IPv4, IPv4+TCP, IPv6, IPv6+TCP",
		  "status %u, data %#x", st, data);
	expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, ALL_TYPES, 0, 0, ST_OK,
	       "ctrl ring: SET_HASH_FLAGS all four -> SUCCESS");
	memcpy(xbt_page(a->g, NF_KEYPAGE(a)), rss_key, sizeof(rss_key));
	expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, NF_KEYPAGE(a), 40, 0, ST_OK,
	       "ctrl ring: SET_HASH_KEY, the RSS suite's 40 octets -> SUCCESS");
	st = nf_ctrl(a, XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE, 0, 0, 0, &data);
	xbt_check(st == ST_OK && data == 128, "ctrl ring: GET_HASH_MAPPING_SIZE -> 128",
		  "status %u, data %u", st, data);
	expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 8, 0, 0, ST_OK,
	       "ctrl ring: SET_HASH_MAPPING_SIZE 8 -> SUCCESS");
	memcpy(map, table, 4 * sizeof(*map));
	st = nf_ctrl(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, NF_MAPPAGE(a), 4, 0, NULL);
	memcpy(map, table + 4, 4 * sizeof(*map));
	st = st ? st : nf_ctrl(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, NF_MAPPAGE(a), 4, 4, NULL);
	xbt_check(st == ST_OK, "ctrl ring: SET_HASH_MAPPING, two sub-tables of 4 at offsets 0 and 4 -> SUCCESS",
		  "status %u", st);
	check_steering(a, "hashing: the RSS suite's 13 flows from the tap, each on the queue its table entry names, with its Toeplitz hash in a HASH extra");
	hash_off(a);
}

/* The other vif passes after each hostile request. */
static void hostile_expect(struct nf_dev *a, uint16_t type, uint32_t d0,
			   uint32_t d1, uint32_t d2, uint32_t want, const char *name)
{
	char n2[300];

	expect(a, type, d0, d1, d2, want, name);
	snprintf(n2, sizeof(n2), "%s; the other vif passes", name);
	nf_check_passes(other, n2);
}

static bool ctrl_answered(const void *arg)
{
	const struct nf_dev *a = arg;

	return __atomic_load_n(&a->ctrl.sring->rsp_prod, __ATOMIC_ACQUIRE) -
		       a->ctrl.rsp_cons >= RING_SIZE(&a->ctrl);
}

/* A full control ring behind one kick: every request answered, in its
 * slot, with its id. */
static void ctrl_flood(struct nf_dev *a)
{
	unsigned n = RING_SIZE(&a->ctrl), i, bad = 0, avail;
	int notify;

	for (i = 0; i < n; i++)
		*RING_GET_REQUEST(&a->ctrl, a->ctrl.req_prod_pvt++) =
			(struct xen_netif_ctrl_request){
				.id = (uint16_t)(1000 + i),
				.type = XEN_NETIF_CTRL_TYPE_GET_HASH_MAPPING_SIZE };
	RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&a->ctrl, notify);
	(void)notify;
	(void)!write(a->kick_ctrl, &(uint64_t){ 1 }, 8);
	xbt_pump(ctrl_answered, a);
	avail = __atomic_load_n(&a->ctrl.sring->rsp_prod, __ATOMIC_ACQUIRE) -
		a->ctrl.rsp_cons;
	for (i = 0; i < n && i < avail; i++) {
		struct xen_netif_ctrl_response *r =
			RING_GET_RESPONSE(&a->ctrl, a->ctrl.rsp_cons++);

		bad += r->id != 1000 + i || r->status != ST_OK || r->data != 128;
	}
	xbt_check(i == n && !bad, "hostile ctrl: a full ring of requests behind one kick -> every one answered",
		  "%u of %u answered, %u wrong", i, n, bad);
	nf_check_passes(other, "hostile ctrl: a full ring; the other vif passes");
}

static void hostile(struct nf_dev *a)
{
	uint32_t *map = xbt_page(a->g, NF_MAPPAGE(a));
	const uint32_t mp = NF_MAPPAGE(a);
	char path[160];

	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, 999999, 40, 0, ST_INVAL,
		       "hostile ctrl: SET_HASH_KEY from a grant that does not copy -> INVALID_PARAMETER");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, NF_KEYPAGE(a), 41, 0, ST_OVER,
		       "hostile ctrl: SET_HASH_KEY of 41 octets (limit 40) -> BUFFER_OVERFLOW");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_KEY, NF_KEYPAGE(a), 0xffffffff, 0,
		       ST_OVER, "hostile ctrl: SET_HASH_KEY of 4 GiB -> BUFFER_OVERFLOW");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING_SIZE, 129, 0, 0, ST_INVAL,
		       "hostile ctrl: SET_HASH_MAPPING_SIZE 129 (limit 128) -> INVALID_PARAMETER");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, 999999, 4, 0, ST_INVAL,
		       "hostile ctrl: SET_HASH_MAPPING from a grant that does not copy -> INVALID_PARAMETER");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, mp, 4, 6, ST_OVER,
		       "hostile ctrl: SET_HASH_MAPPING of 4 at offset 6 of a table of 8 -> BUFFER_OVERFLOW");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, mp, 2, 0xffffffff, ST_OVER,
		       "hostile ctrl: SET_HASH_MAPPING at offset 2^32-1 (wraps) -> BUFFER_OVERFLOW");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, mp, 0xffffffff, 0, ST_OVER,
		       "hostile ctrl: SET_HASH_MAPPING of 2^32-1 entries -> BUFFER_OVERFLOW");
	map[0] = 0;
	map[1] = 2;
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_MAPPING, mp, 2, 0, ST_INVAL,
		       "hostile ctrl: SET_HASH_MAPPING naming queue 2 of 2 -> INVALID_PARAMETER");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_ALGORITHM, 2, 0, 0, ST_INVAL,
		       "hostile ctrl: SET_HASH_ALGORITHM 2 (unknown) -> INVALID_PARAMETER");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_SET_HASH_FLAGS, 0x10, 0, 0, ST_INVAL,
		       "hostile ctrl: SET_HASH_FLAGS with an unknown type -> INVALID_PARAMETER");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_INVALID, 0, 0, 0, ST_NOTSUP,
		       "hostile ctrl: type INVALID (0) -> NOT_SUPPORTED");
	hostile_expect(a, XEN_NETIF_CTRL_TYPE_ADD_GREF_MAPPING, 0, mp, 1, ST_NOTSUP,
		       "hostile ctrl: ADD_GREF_MAPPING (not served) -> NOT_SUPPORTED");
	hostile_expect(a, 0xffff, 0, 0, 0, ST_NOTSUP, "hostile ctrl: type 65535 -> NOT_SUPPORTED");
	check_steering(a, "hostile ctrl: after the refused requests, the key and table are as set: every flow steered as before");
	ctrl_flood(a);

	a->ctrl.sring->req_prod = a->ctrl.req_prod_pvt + RING_SIZE(&a->ctrl) + 5;
	(void)!write(a->kick_ctrl, &(uint64_t){ 1 }, 8);
	xbt_check_refused(a->be, "ctrl: req_prod overruns the ring",
			  "hostile ctrl: req_prod a ring ahead -> vif closed");
	nf_check_passes(other, "hostile ctrl: req_prod a ring ahead; the other vif passes");

	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
	xbt_write(a->fe, "ctrl-ring-ref", "999999");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISED);
	xbt_check_refused(a->be, "ctrl-ring-ref 999999: cannot map",
			  "hostile ctrl: a ctrl-ring-ref that does not map -> refused, Closed");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
	xbt_write(a->fe, "ctrl-ring-ref", "%u", NF_CTRLPAGE(a));
	snprintf(path, sizeof(path), "%s/event-channel-ctrl", a->fe);
	xs_rm(xbt_xs, XBT_NULL, path);
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISED);
	xbt_check_refused(a->be, "event-channel-ctrl",
			  "hostile ctrl: ctrl-ring-ref without event-channel-ctrl -> refused, Closed");
	nf_check_passes(other, "hostile ctrl: after the refusals, the other vif passes");
	xbt_write(a->fe, "state", "%d", XENBUS_INITIALISING);
	xbt_wait_state(a->be, XENBUS_INITWAIT);
}

/* A frame to dst, then a broadcast one: whether the first arrived; the
 * broadcast must arrive either way. */
static bool mcast_passes(struct nf_dev *a, const uint8_t *dst, bool *bcast)
{
	static unsigned seq = 5000;
	struct virtio_net_hdr vh = { 0 };
	unsigned char g[200], b[200];
	size_t gl = nf_udp4(g, 64, seq++), bl = nf_udp4(b, 64, seq++);
	bool first;

	memcpy(g, dst, 6);
	nf_tap_send(a, &vh, g, gl);
	nf_tap_send(a, &vh, b, bl);
	if (!nf_rx_get(a, 0, &rx)) {
		*bcast = false;
		return false;
	}
	first = rx.len == gl && !memcmp(rx.data, g, gl);
	if (first && !nf_rx_get(a, 0, &rx)) {
		*bcast = false;
		return true;
	}
	*bcast = rx.len == bl && !memcmp(rx.data, b, bl);
	return first;
}

/* After a change of request-multicast-control, which the daemon passes on
 * to the worker as the frames go: mcast_passes until the group passes (or
 * is dropped) as wanted, up to 20 rounds; false if it never does. */
static bool mcast_settles(struct nf_dev *a, const uint8_t *group, bool want,
			  bool *bcast)
{
	unsigned i;
	bool pass = !want;

	nf_rx_post(a, 0, 64);
	for (i = 0; i < 20 && pass != want; i++) {
		pass = mcast_passes(a, group, bcast);
		if (!*bcast)
			return false;
	}
	return pass == want;
}

/* MCAST_ADD or _DEL of addr: a dummy request, its extra; both answered. */
static bool mcast_op(struct nf_dev *a, uint8_t type, const uint8_t *addr)
{
	struct netif_extra_info e = { .type = type };
	int16_t st[2] = { 99, 99 };

	memcpy(e.u.mcast.addr, addr, 6);
	nf_tx_slot(a, 0, NF_TXPAGE(a, 0), 0, NETTXF_extra_info, 0);
	nf_tx_extra(a, 0, &e);
	nf_tx_push(a, 0);
	return nf_tx_wait(a, 0, 2, st) == 2 && st[0] == NETIF_RSP_OKAY &&
	       st[1] == NETIF_RSP_NULL;
}

/* 64 groups (the limit) other than group: group still dropped; a 65th:
 * filtering off, group passes. */
static void mcast_overflow(struct nf_dev *a, const uint8_t *group)
{
	uint8_t addr[6] = { 0x01, 0x00, 0x5e, 0x01, 0x00, 0x00 };
	unsigned i, ok = 0;
	bool pass64, pass65, bc64, bc65;

	for (i = 0; i < 64; i++) {
		addr[5] = (uint8_t)i;
		ok += mcast_op(a, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, addr);
	}
	nf_rx_post(a, 0, 64);
	pass64 = mcast_passes(a, group, &bc64);
	addr[5] = 64;
	ok += mcast_op(a, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, addr);
	pass65 = mcast_passes(a, group, &bc65);
	xbt_check(ok == 65 && !pass64 && bc64 && pass65 && bc65,
		  "multicast: 64 other groups added, the group still dropped; a 65th (limit 64) turns filtering off: it passes",
		  "%u of 65 OKAY; after 64 the group %s, after 65 %s; broadcast %s, %s", ok,
		  pass64 ? "passed" : "dropped", pass65 ? "passed" : "dropped",
		  bc64 ? "passed" : "lost", bc65 ? "passed" : "lost");
}

static void multicast(struct nf_dev *a)
{
	static const uint8_t group[6] = { 0x01, 0x00, 0x5e, 0x00, 0x00, 0xfb };
	bool pass, bc, ok;

	nf_connect(a, 1, false, NF_ALL | NF_MCAST);
	xbt_check_state(a->be, XENBUS_CONNECTED, "multicast: request-multicast-control 1 -> Connected");
	nf_rx_post(a, 0, 64);
	pass = mcast_passes(a, group, &bc);
	xbt_check(!pass && bc, "multicast: a group not added is dropped, broadcast passes",
		  "group %s, broadcast %s", pass ? "passed" : "dropped", bc ? "passed" : "lost");
	ok = mcast_op(a, XEN_NETIF_EXTRA_TYPE_MCAST_ADD, group);
	pass = mcast_passes(a, group, &bc);
	xbt_check(ok && pass && bc, "multicast: MCAST_ADD of the group -> OKAY, then it passes",
		  "answer %s, group %s, broadcast %s", ok ? "OKAY" : "not OKAY",
		  pass ? "passed" : "dropped", bc ? "passed" : "lost");
	ok = mcast_op(a, XEN_NETIF_EXTRA_TYPE_MCAST_DEL, group);
	pass = mcast_passes(a, group, &bc);
	xbt_check(ok && !pass && bc, "multicast: MCAST_DEL of the group -> OKAY, then it is dropped again",
		  "answer %s, group %s, broadcast %s", ok ? "OKAY" : "not OKAY",
		  pass ? "passed" : "dropped", bc ? "passed" : "lost");
	mcast_overflow(a, group);
	nf_reopen(a);
	nf_connect(a, 1, false, NF_ALL);
	xbt_wait_state(a->be, XENBUS_CONNECTED);
	nf_rx_post(a, 0, 64);
	pass = mcast_passes(a, group, &bc);
	xbt_check(pass && bc, "multicast: without request-multicast-control, every group passes",
		  "group %s, broadcast %s", pass ? "passed" : "dropped", bc ? "passed" : "lost");
	xbt_write(a->fe, "request-multicast-control", "1");
	ok = mcast_settles(a, group, false, &bc);
	xbt_check(ok && bc, "dynamic multicast: request-multicast-control 1 while connected -> the group is dropped, broadcast passes",
		  "group %s, broadcast %s", ok ? "dropped" : "still passes", bc ? "passed" : "lost");
	xbt_write(a->fe, "request-multicast-control", "0");
	ok = mcast_settles(a, group, true, &bc);
	xbt_check(ok && bc, "dynamic multicast: back to 0 -> the group passes again",
		  "group %s, broadcast %s", ok ? "passes" : "still dropped", bc ? "passed" : "lost");
}

void nf_ctrl_tests(struct nf_dev *a, struct nf_dev *b)
{
	other = b;
	hashing(a);
	hostile(a);
	multicast(a);
}
