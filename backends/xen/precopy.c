/*
 * Live migration's precopy policy (migrate.c asks it before each round):
 * when to stop the guest and copy what is left.  The pause lasts as long
 * as that last copy, so stop once it is short, or once more rounds would
 * not make it shorter.  Pure: the figures of the rounds in, a decision
 * out (tests/unit/test_precopy.c).
 */
#include <stdbool.h>
#include <stdint.h>

#include "backends/xen/xen.h"

/* Upstream's floor: fewer dirty pages than this are a final copy of no
 * consequence, whatever the rate. */
#define FEW_DIRTY_PAGES 50
/* What the final copy may take at the measured rate (KVM's downtime
 * limit too: backends/kvm/migrate.c). */
#define DOWNTIME_TARGET_MS 30
/* From this round on, a round that leaves more than SHRINK_PCT % of the
 * previous round's dirty pages ends the precopy: the guest dirties as
 * fast as the link sends. */
#define ROUNDS_BEFORE_GIVING_UP 5
#define SHRINK_PCT 80

bool xen_precopy_stop(struct xen_precopy *pc, uint64_t round, uint64_t dirty)
{
	bool shrank = pc->prev_dirty == 0 ||
		      dirty * 100 <= pc->prev_dirty * SHRINK_PCT;

	if (round <= 1)
		return false;	/* the first copy of everything */
	pc->prev_dirty = dirty;
	if (dirty < FEW_DIRTY_PAGES)
		return true;
	if (pc->rate_bps &&
	    dirty * XC_PAGE_SIZE * 1000 / pc->rate_bps <= DOWNTIME_TARGET_MS)
		return true;
	if (round > ROUNDS_BEFORE_GIVING_UP && !shrank)
		return true;
	return round >= XEN_PRECOPY_MAX_ROUNDS;
}
