/*
 * Xen live migration's precopy policy (backends/xen/precopy.c): when it
 * stops the guest for the last copy, from the figures of the rounds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "backends/xen/xen.h"

/* 100 MiB/s: 25,600 pages a second, 768 in 30 ms. */
#define RATE (100ull << 20)

static void first_round_copies_everything(void **state)
{
	struct xen_precopy pc = { RATE, 0 };

	(void)state;
	/* Round 1's "dirty" is the whole address space: never a stop, even
	 * for a tiny guest at a high rate. */
	assert_false(xen_precopy_stop(&pc, 1, 10));
	assert_false(xen_precopy_stop(&pc, 1, 1u << 20));
}

static void few_dirty_pages_stop(void **state)
{
	struct xen_precopy pc = { 0, 0 };

	(void)state;
	/* Below upstream's 50 pages, with no rate measured yet. */
	assert_true(xen_precopy_stop(&pc, 2, 49));
	pc = (struct xen_precopy){ 0, 0 };
	assert_false(xen_precopy_stop(&pc, 2, 50));
}

static void stops_when_the_rest_fits_the_pause(void **state)
{
	struct xen_precopy pc = { RATE, 0 };

	(void)state;
	/* 768 pages go in 30 ms at 100 MiB/s; 2,000 do not. */
	assert_true(xen_precopy_stop(&pc, 2, 768));
	pc = (struct xen_precopy){ RATE, 0 };
	assert_false(xen_precopy_stop(&pc, 2, 2000));
	/* A slow link: the same 768 pages take 300 ms at 10 MiB/s. */
	pc = (struct xen_precopy){ RATE / 10, 0 };
	assert_false(xen_precopy_stop(&pc, 2, 768));
}

static void goes_on_while_rounds_shrink(void **state)
{
	struct xen_precopy pc = { 1, 0 };	/* too slow to ever fit */
	uint64_t dirty = 1000000;

	(void)state;
	/* Each round 80 % of the last (above the 50-page floor to the
	 * end): worth another, up to the ceiling. */
	for (uint64_t round = 2; round < XEN_PRECOPY_MAX_ROUNDS; round++) {
		assert_false(xen_precopy_stop(&pc, round, dirty));
		dirty = dirty * 4 / 5;
	}
	assert_true(xen_precopy_stop(&pc, XEN_PRECOPY_MAX_ROUNDS, dirty));
}

static void stops_when_a_round_no_longer_pays(void **state)
{
	struct xen_precopy pc = { 1, 0 };

	(void)state;
	/* Early rounds go on even if the set grows (the guest is busy,
	 * the link may catch up)... */
	assert_false(xen_precopy_stop(&pc, 2, 10000));
	assert_false(xen_precopy_stop(&pc, 3, 10000));
	assert_false(xen_precopy_stop(&pc, 4, 9900));
	assert_false(xen_precopy_stop(&pc, 5, 9800));
	/* ...after the fifth, a round must leave at most 80 % of the last. */
	assert_false(xen_precopy_stop(&pc, 6, 7840));	/* exactly 80 % */
	assert_true(xen_precopy_stop(&pc, 7, 7000));	/* 89 % */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(first_round_copies_everything),
		cmocka_unit_test(few_dirty_pages_stop),
		cmocka_unit_test(stops_when_the_rest_fits_the_pause),
		cmocka_unit_test(goes_on_while_rounds_shrink),
		cmocka_unit_test(stops_when_a_round_no_longer_pays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
