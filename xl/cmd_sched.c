/*
 * xl sched-credit, sched-credit2: a domain's weight and cap, and Pool-0's
 * scheduler parameters, with upstream's options, checks and output.  The
 * two commands differ only in their scheduler's name and pool parameters
 * (credit: time slice, rate limit, migration delay; credit2: rate limit).
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/xl.h"

struct sched_cmd {
	const char *cmd;	/* "sched-credit" */
	const char *sched;	/* "credit" */
	const char *opts;	/* getopt letters */
	bool credit2;
};

/* A whole non-negative number, or -1 with a message. */
static int number(const struct sched_cmd *sc, const char *what, const char *s)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 0 || v > INT_MAX) {
		fprintf(stderr, "xl: %s: %s '%s' is not a number\n", sc->cmd,
			what, s);
		return -1;
	}
	return (int)v;
}

static void pool_line(const struct enso_sched_pool *p, bool credit2)
{
	if (credit2)
		printf("Cpupool %s: ratelimit=%dus\n", "Pool-0", p->ratelimit_us);
	else
		printf("Cpupool %s: tslice=%dms ratelimit=%dus migration-delay=%dus\n",
		       "Pool-0", p->tslice_ms, p->ratelimit_us,
		       p->migration_delay_us);
}

static void header(void)
{
	printf("%-33s %4s %6s %4s\n", "Name", "ID", "Weight", "Cap");
}

/* One domain's row; upstream's words when the pool runs another
 * scheduler. */
static int row(struct enso_ctx *ctx, const struct sched_cmd *sc,
	       const char *pool_sched, uint32_t domid, const char *name)
{
	struct enso_sched_params p;
	struct enso_error err = { "" };

	if (strcmp(pool_sched, sc->sched)) {
		fprintf(stderr, "libxl_domain_sched_params_get returned %s not %s.\n",
			pool_sched, sc->sched);
		return 1;
	}
	if (enso_domain_sched_get(ctx, domid, &p, &err)) {
		fprintf(stderr, "xl: %s: %s\n", sc->cmd, err.msg);
		return 1;
	}
	printf("%-33s %4u %6d %4d\n", name, domid, p.weight, p.cap);
	return 0;
}

static int run(const struct sched_cmd *sc, int argc, char **argv)
{
	struct enso_sched_params set = { -1, -1 };
	struct enso_sched_pool pool = { NULL, -1, -1, -1 }, cur;
	struct enso_error err = { "" };
	const char *dom = NULL, *cpupool = NULL;
	bool opt_s = false, pool_set = false;
	struct enso_ctx *ctx;
	uint32_t domid;
	int opt, rc = 0, *to;

	static const struct option longopts[] = {
		{ "domain", required_argument, NULL, 'd' },
		{ "weight", required_argument, NULL, 'w' },
		{ "cap", required_argument, NULL, 'c' },
		{ "schedparam", no_argument, NULL, 's' },
		{ "tslice_ms", required_argument, NULL, 't' },
		{ "ratelimit_us", required_argument, NULL, 'r' },
		{ "migration_delay_us", required_argument, NULL, 'm' },
		{ "cpupool", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};

	while ((opt = getopt_long(argc, argv, sc->opts, longopts, NULL)) != -1) {
		to = NULL;
		/* credit2 has no time slice or migration delay. */
		if (!strchr(sc->opts, opt))
			opt = '?';
		switch (opt) {
		case 'h': xl_usage_of(sc->cmd); return 0;
		case '?': xl_usage_of(sc->cmd); return 2;
		case 'd': dom = optarg; continue;
		case 'p': cpupool = optarg; continue;
		case 's': opt_s = true; continue;
		case 'w': to = &set.weight; break;
		case 'c': to = &set.cap; break;
		case 't': to = &pool.tslice_ms; pool_set = true; break;
		case 'r': to = &pool.ratelimit_us; pool_set = true; break;
		case 'm': to = &pool.migration_delay_us; pool_set = true; break;
		}
		if (to && (*to = number(sc, opt == 'w' ? "weight" :
					     opt == 'c' ? "cap" : "parameter",
					     optarg)) < 0)
			return 1;
	}
	if (optind < argc) {
		xl_usage_of(sc->cmd);
		return 2;
	}
	/* Upstream's checks, in its words. */
	if (!sc->credit2 && (cpupool || opt_s) &&
	    (dom || set.weight >= 0 || set.cap >= 0)) {
		fprintf(stderr, "Specifying a cpupool or schedparam is not allowed with domain options.\n");
		return 1;
	}
	if (sc->credit2 && cpupool && (dom || set.weight >= 0 || set.cap >= 0)) {
		fprintf(stderr, "Specifying a cpupool is not allowed with other options.\n");
		return 1;
	}
	if (!dom && (set.weight >= 0 || set.cap >= 0)) {
		fprintf(stderr, "Must specify a domain.\n");
		return 1;
	}
	if (!opt_s && pool_set) {
		fprintf(stderr, "Must specify schedparam to set schedule parameter values.\n");
		return 1;
	}
	/* Enso runs every domain in Pool-0: the only pool there is. */
	if (cpupool && strcmp(cpupool, "Pool-0") && strcmp(cpupool, "0")) {
		fprintf(stderr, "unknown cpupool '%s'\n", cpupool);
		return 1;
	}

	ctx = xl_open();
	if (!ctx)
		return 1;
	if (enso_sched_pool_get(ctx, &cur, &err)) {
		fprintf(stderr, "xl: %s: %s\n", sc->cmd, err.msg);
		enso_ctx_close(ctx);
		return 1;
	}
	if (opt_s && !pool_set) {
		if (strcmp(cur.scheduler, sc->sched))
			printf("Cpupool %s: [sched params unavailable]\n", "Pool-0");
		else
			pool_line(&cur, sc->credit2);
	} else if (opt_s) {
		if (strcmp(cur.scheduler, sc->sched)) {
			fprintf(stderr, "xl: %s: Pool-0 runs the %s scheduler, not %s\n",
				sc->cmd, cur.scheduler, sc->sched);
			rc = 1;
		} else if (enso_sched_pool_set(ctx, &pool, &err)) {
			fprintf(stderr, "xl: %s: %s\n", sc->cmd, err.msg);
			rc = 1;
		}
	} else if (!dom) {
		/* Every domain of each pool that runs this scheduler: none
		 * when Pool-0 runs another. */
		struct enso_dominfo *list = NULL;
		size_t n = 0, i;

		if (!strcmp(cur.scheduler, sc->sched)) {
			if (enso_domain_list(ctx, &list, &n, &err)) {
				fprintf(stderr, "xl: %s: %s\n", sc->cmd, err.msg);
				rc = 1;
			} else {
				pool_line(&cur, sc->credit2);
				header();
				for (i = 0; i < n && !rc; i++)
					rc = row(ctx, sc, cur.scheduler,
						 list[i].domid, list[i].name);
				enso_dominfo_list_free(list, n);
			}
		}
	} else if (xl_domid(ctx, dom, &domid)) {
		rc = 1;
	} else if (set.weight < 0 && set.cap < 0) {
		struct enso_dominfo info;

		if (enso_domain_info(ctx, domid, &info, &err)) {
			fprintf(stderr, "xl: %s: %s\n", sc->cmd, err.msg);
			rc = 1;
		} else {
			header();
			rc = row(ctx, sc, cur.scheduler, domid, info.name);
			enso_dominfo_dispose(&info);
		}
	} else if (strcmp(cur.scheduler, sc->sched)) {
		fprintf(stderr, "xl: %s: Pool-0 runs the %s scheduler, not %s\n",
			sc->cmd, cur.scheduler, sc->sched);
		rc = 1;
	} else if (enso_domain_sched_set(ctx, domid, &set, &err)) {
		fprintf(stderr, "xl: %s: %s\n", sc->cmd, err.msg);
		rc = 1;
	}
	if (fflush(stdout) || ferror(stdout))
		rc = 1;
	enso_sched_pool_dispose(&cur);
	enso_ctx_close(ctx);
	return rc;
}

int main_sched_credit(int argc, char **argv)
{
	static const struct sched_cmd sc = {
		"sched-credit", "credit", "d:w:c:p:t:r:m:sh", false,
	};

	return run(&sc, argc, argv);
}

int main_sched_credit2(int argc, char **argv)
{
	static const struct sched_cmd sc = {
		"sched-credit2", "credit2", "d:w:c:p:r:sh", true,
	};

	return run(&sc, argc, argv);
}
