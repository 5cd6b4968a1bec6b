/* xenbus/state.c: the backend's half of the handshake, as a table of
 * (backend state, connected, frontend state) -> (act, next state). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "xenbus/private.h"

enum { I = XENBUS_INITIALISING, W = XENBUS_INITWAIT, D = XENBUS_INITIALISED,
       C = XENBUS_CONNECTED, G = XENBUS_CLOSING, X = XENBUS_CLOSED };

struct row {
	int be;
	bool connected;
	int fe;
	enum xenbus_act act;
	int next;
	bool via_closing;
};

static const struct row rows[] = {
	/* a new device: the frontend has not written, or is starting */
	{ W, false, XB_FE_ABSENT, XB_ACT_NONE, W, false },
	{ W, false, XENBUS_UNKNOWN, XB_ACT_NONE, W, false },
	{ W, false, I, XB_ACT_NONE, W, false },
	/* connect */
	{ W, false, D, XB_ACT_CONNECT, C, false },
	{ W, false, C, XB_ACT_CONNECT, C, false },
	{ C, true, D, XB_ACT_NONE, C, false },
	{ C, true, C, XB_ACT_NONE, C, false },
	/* close, in two steps or at once; the frontend vanishing */
	{ C, true, G, XB_ACT_DISCONNECT, G, false },
	{ G, false, X, XB_ACT_NONE, X, false },
	{ C, true, X, XB_ACT_DISCONNECT, X, true },
	{ C, true, XB_FE_ABSENT, XB_ACT_DISCONNECT, X, true },
	{ W, false, G, XB_ACT_NONE, G, false },
	{ W, false, X, XB_ACT_NONE, X, true },
	{ X, false, X, XB_ACT_NONE, X, false },
	{ X, false, G, XB_ACT_NONE, X, false },
	/* the toolstack's Closing (detach) while connected */
	{ G, true, C, XB_ACT_NONE, G, false },
	{ G, true, X, XB_ACT_DISCONNECT, X, false },
	/* reconnect: only through Initialising */
	{ X, false, I, XB_ACT_NONE, W, false },
	{ G, false, I, XB_ACT_NONE, W, false },
	{ X, false, D, XB_ACT_NONE, X, false },
	{ X, false, C, XB_ACT_NONE, X, false },
	/* a frontend that restarts without closing (kexec) */
	{ C, true, I, XB_ACT_DISCONNECT, W, false },
	{ C, true, XENBUS_INITWAIT, XB_ACT_DISCONNECT, W, false },
	/* refused: garbage and the states no engine here serves */
	{ C, true, XB_FE_GARBAGE, XB_ACT_REJECT, X, true },
	{ W, false, XB_FE_GARBAGE, XB_ACT_REJECT, X, true },
	{ W, false, XENBUS_RECONFIGURING, XB_ACT_REJECT, X, true },
	{ G, false, XENBUS_RECONFIGURED, XB_ACT_REJECT, X, false },
	/* ... and said once: closed already, nothing more */
	{ X, false, XB_FE_GARBAGE, XB_ACT_NONE, X, false },
};

static void test_table(void **state)
{
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		const struct row *r = &rows[i];
		struct xenbus_step s = xenbus_next(r->be, r->connected, r->fe);

		if (s.act != r->act || s.next != r->next ||
		    s.via_closing != r->via_closing)
			fail_msg("row %zu (be %s%s, fe %d): act %d next %s "
				 "via_closing %d; wanted %d %s %d",
				 i, xenbus_state_name(r->be),
				 r->connected ? " connected" : "", r->fe,
				 s.act, xenbus_state_name(s.next),
				 s.via_closing, r->act,
				 xenbus_state_name(r->next), r->via_closing);
	}
}

/* Whatever the frontend writes, the backend never connects from any
 * state but InitWait, and never stays connected past a Closed. */
static void test_never_connects_twice(void **state)
{
	int be, fe;

	(void)state;
	for (be = XENBUS_INITIALISING; be <= XENBUS_CLOSED; be++)
		for (fe = XB_FE_GARBAGE; fe <= XENBUS_RECONFIGURED + 1; fe++) {
			struct xenbus_step s = xenbus_next(be, be == C, fe);

			if (s.act == XB_ACT_CONNECT)
				assert_int_equal(be, W);
			if (fe == X && be == C)
				assert_int_equal(s.act, XB_ACT_DISCONNECT);
			assert_true(s.next >= XENBUS_INITIALISING &&
				    s.next <= XENBUS_CLOSED);
		}
}

static void test_parse_state(void **state)
{
	(void)state;
	assert_int_equal(xenbus_parse_state("4"), 4);
	assert_int_equal(xenbus_parse_state("0"), 0);
	assert_int_equal(xenbus_parse_state("8"), 8);
	assert_int_equal(xenbus_parse_state("9"), XB_FE_GARBAGE);
	assert_int_equal(xenbus_parse_state("-1"), XB_FE_GARBAGE);
	assert_int_equal(xenbus_parse_state(" 4"), XB_FE_GARBAGE);
	assert_int_equal(xenbus_parse_state("4x"), XB_FE_GARBAGE);
	assert_int_equal(xenbus_parse_state(""), XB_FE_GARBAGE);
	assert_int_equal(xenbus_parse_state(NULL), XB_FE_GARBAGE);
	assert_string_equal(xenbus_state_name(2), "InitWait");
	assert_string_equal(xenbus_state_name(9), "invalid");
	assert_string_equal(xenbus_state_name(-2), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_never_connects_twice),
		cmocka_unit_test(test_parse_state),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
