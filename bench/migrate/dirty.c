/*
 * bench/migrate/dirty: the guest's memory-writing load for bench/migrate.sh.
 *
 *   dirty MB RATE_MBS
 *
 * Fills MB MiB with pseudo-random words (so that a migration cannot send
 * its pages as zero pages), then rewrites one word in each page, page
 * after page round the region, at RATE_MBS MiB of pages a second: every
 * page so touched is dirty again and must be sent again.  The rate is
 * bounded so that a migration with QEMU's defaults still converges: a
 * writer faster than the link would make the anchor's migration endless,
 * and the comparison moot.  Runs until killed.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define PAGE 4096u
#define BURSTS_PER_SEC 100

static uint64_t next(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

int main(int argc, char **argv)
{
	size_t mb, rate, pages, per_burst, at = 0, i;
	struct timespec pause = { 0, 1000000000L / BURSTS_PER_SEC };
	uint64_t seed = 0x9e3779b97f4a7c15ull, *mem;

	if (argc != 3 || (mb = strtoul(argv[1], NULL, 10)) == 0 ||
	    (rate = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: dirty MB RATE_MBS\n");
		return 2;
	}
	pages = mb * 1024 * 1024 / PAGE;
	per_burst = rate * 1024 * 1024 / PAGE / BURSTS_PER_SEC;
	if (per_burst == 0)
		per_burst = 1;
	mem = malloc(pages * PAGE);
	if (!mem) {
		perror("dirty: malloc");
		return 1;
	}
	for (i = 0; i < pages * PAGE / sizeof(*mem); i++)
		mem[i] = next(&seed);
	printf("ENSO-DIRTY ready %zu MiB at %zu MiB/s\n", mb, rate);
	fflush(stdout);
	for (;;) {
		for (i = 0; i < per_burst; i++) {
			mem[at * (PAGE / sizeof(*mem))] = next(&seed);
			at = (at + 1) % pages;
		}
		nanosleep(&pause, NULL);
	}
}
