/*
 * libxl/cpumap.c: CPU lists of cpus= / cpus_soft= (xl.cfg(5)).
 *
 *   list := term { ',' term }
 *   term := [ '^' ] ( "all" | N | N-M | "node:" N | "nodes:" N[-M] )
 *
 * Terms apply left to right; '^' removes.  "all" means every one of the
 * ENSO_MAX_CPUS CPUs (the caller ANDs with the host's).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "private.h"

#define MAX_NODES 1024

void enso_cpumap_dispose(struct enso_cpumap *m)
{
	if (!m)
		return;
	free(m->spec);
	memset(m, 0, sizeof(*m));
}

bool enso_cpumap_any(const struct enso_cpumap *m, uint32_t ncpus)
{
	for (uint32_t c = 0; c < ncpus; c++)
		if (enso_cpumap_test(m, c))
			return true;
	return false;
}

void enso_cpumap_format(const struct enso_cpumap *m, uint32_t ncpus,
			char *out, size_t len)
{
	uint32_t c = 0, first;
	size_t at = 0;

	if (!len)
		return;
	out[0] = '\0';
	while (c < ncpus && at < len) {
		if (!enso_cpumap_test(m, c)) {
			c++;
			continue;
		}
		for (first = c; c < ncpus && enso_cpumap_test(m, c); c++)
			;
		if (first == 0 && c == ncpus) {
			snprintf(out, len, "all");
			return;
		}
		at += (size_t)snprintf(out + at, len - at, "%s%u", at ? "," : "",
				       first);
		if (c - 1 > first && at < len)
			at += (size_t)snprintf(out + at, len - at, "-%u", c - 1);
	}
	if (!out[0])
		snprintf(out, len, "none");
}

/* Decimal digits at *p (at least one) into *out; -ERANGE above max. */
int exl_digits(const char **p, unsigned long max, unsigned long *out)
{
	unsigned long n = 0;

	if (!isdigit((unsigned char)**p))
		return -EINVAL;
	while (isdigit((unsigned char)**p)) {
		n = n * 10 + (unsigned long)(**p - '0');
		if (n > max)
			return -ERANGE;
		(*p)++;
	}
	*out = n;
	return 0;
}

static void apply(uint8_t *bits, unsigned lo, unsigned hi, bool clear)
{
	for (unsigned i = lo; i <= hi; i++) {
		if (clear)
			bits[i / 8] &= (uint8_t) ~(1u << (i % 8));
		else
			bits[i / 8] |= (uint8_t)(1u << (i % 8));
	}
}

int enso_cpumap_parse(const char *spec, enso_node_cpus_fn *node_cpus,
		      void *opaque, struct enso_cpumap *out,
		      struct enso_error *err)
{
	const char *p = spec;
	unsigned long lo, hi;
	unsigned max;
	bool clear, nodes;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!spec)
		return exl_fail(err, -EINVAL, "no CPU list");
	while (*p == ' ')
		p++;
	if (!*p)
		return exl_fail(err, -EINVAL, "empty CPU list");
	for (;;) {
		const char *term = p;

		clear = *p == '^';
		if (clear)
			p++;
		nodes = false;
		if (!strncmp(p, "all", 3) && (p[3] == ',' || !p[3])) {
			p += 3;
			apply(out->bits, 0, ENSO_MAX_CPUS - 1, clear);
			out->all = true;
			goto next;
		}
		if (!strncmp(p, "nodes:", 6)) {
			p += 6;
			nodes = true;
		} else if (!strncmp(p, "node:", 5)) {
			p += 5;
			nodes = true;
		}
		max = nodes ? MAX_NODES - 1 : ENSO_MAX_CPUS - 1;
		rc = exl_digits(&p, max, &lo);
		hi = lo;
		if (!rc && *p == '-') {
			p++;
			rc = exl_digits(&p, max, &hi);
		}
		if (rc == -ERANGE)
			return exl_fail(err, -EINVAL, "'%.64s': %s above %u", spec,
					nodes ? "node" : "CPU", max);
		if (rc || (*p && *p != ',')) {
			size_t tl = strcspn(term, ",");

			return exl_fail(err, -EINVAL, "'%.*s' is not a CPU, a range N-M, "
					"all, node:N or nodes:N-M",
					(int)(tl > 64 ? 64 : tl), term);
		}
		if (hi < lo)
			return exl_fail(err, -EINVAL, "'%.64s': range %lu-%lu is backwards",
					spec, lo, hi);
		if (!nodes) {
			apply(out->bits, (unsigned)lo, (unsigned)hi, clear);
		} else if (!node_cpus) {
			out->has_nodes = true;
		} else {
			uint8_t nb[ENSO_MAX_CPUS / 8];

			for (unsigned nd = (unsigned)lo; nd <= hi; nd++) {
				memset(nb, 0, sizeof(nb));
				rc = node_cpus(nd, nb, opaque);
				if (rc == -ENOENT)
					return exl_fail(err, -EINVAL, "'%.64s': the host "
							"has no NUMA node %u",
							spec, nd);
				if (rc)
					return rc;
				for (unsigned i = 0; i < sizeof(nb); i++)
					out->bits[i] = clear
							       ? out->bits[i] & ~nb[i]
							       : out->bits[i] | nb[i];
			}
		}
next:
		if (!*p)
			break;
		p++;	/* ',' */
	}
	out->spec = strdup(spec);
	return out->spec ? 0 : -ENOMEM;
}

void exl_affinity_dispose(struct enso_affinity *a)
{
	size_t i;

	if (!a)
		return;
	for (i = 0; i < a->nmaps; i++)
		enso_cpumap_dispose(&a->maps[i]);
	free(a->maps);
	memset(a, 0, sizeof(*a));
}

int exl_affinity_parse_list(char **specs, size_t n, bool per_vcpu,
			struct enso_affinity *out, struct enso_error *err)
{
	size_t i;
	int rc;

	memset(out, 0, sizeof(*out));
	out->maps = calloc(n ? n : 1, sizeof(*out->maps));
	if (!out->maps)
		return -ENOMEM;
	out->per_vcpu = per_vcpu;
	for (i = 0; i < n; i++) {
		rc = enso_cpumap_parse(specs[i], NULL, NULL, &out->maps[i], err);
		if (rc) {
			if (rc == -EINVAL && per_vcpu)
				exl_err_prefix(err, "vCPU %zu: ", i);
			exl_affinity_dispose(out);
			return rc;
		}
		out->nmaps++;
	}
	return 0;
}
