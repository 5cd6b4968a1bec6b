/* xl vcpu-list, vcpu-pin: upstream's table and arguments. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/xl.h"

static void print_cpus(FILE *to, const struct enso_cpumap *m, uint32_t ncpus)
{
	char list[ENSO_CPUMAP_FORMAT_MAX];

	enso_cpumap_format(m, ncpus, list, sizeof(list));
	fputs(list, to);
}

/* One domain's vCPUs, read before anything is printed. */
struct dom_vcpus {
	uint32_t domid;
	char *name;
	struct enso_vcpuinfo *v;
	size_t n;
	uint32_t host_cpus;
};

static void print_rows(const struct dom_vcpus *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		const struct enso_vcpuinfo *v = &d->v[i];

		/* Upstream's columns, its missing space before CPU included. */
		printf("%-32s %5u %5u", d->name ? d->name : "", d->domid,
		       v->vcpu);
		if (v->online)
			printf("%5u %3c%c- ", v->cpu, v->running ? 'r' : '-',
			       v->blocked ? 'b' : '-');
		else
			printf("%5c %3c%cp ", '-', '-', '-');
		printf("%9.1f  ", v->cpu_seconds);
		print_cpus(stdout, &v->hard, d->host_cpus);
		fputs(" / ", stdout);
		print_cpus(stdout, &v->soft, d->host_cpus);
		putchar('\n');
	}
}

static void dom_vcpus_dispose(struct dom_vcpus *d)
{
	free(d->name);
	enso_vcpuinfo_list_free(d->v, d->n);
	memset(d, 0, sizeof(*d));
}

int main_vcpulist(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct enso_error err = { "" };
	struct dom_vcpus *doms = NULL;
	size_t ndoms = 0, i;
	struct enso_ctx *ctx;
	int opt, rc = 0;

	opt = getopt_long(argc, argv, "h", longopts, NULL);
	if (opt != -1) {	/* it has no options but -h */
		xl_usage_of("vcpu-list");
		return opt == 'h' ? 0 : 2;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (optind == argc) {
		struct enso_dominfo *list;
		size_t n;

		if (enso_domain_list(ctx, &list, &n, &err)) {
			fprintf(stderr, "xl: vcpu-list: %s\n", err.msg);
			enso_ctx_close(ctx);
			return 1;
		}
		doms = calloc(n ? n : 1, sizeof(*doms));
		for (i = 0; doms && i < n; i++) {
			doms[ndoms].domid = list[i].domid;
			doms[ndoms++].name = list[i].name;
			list[i].name = NULL;
		}
		enso_dominfo_list_free(list, n);
	} else {
		doms = calloc((size_t)(argc - optind), sizeof(*doms));
		for (; doms && optind < argc; optind++) {
			struct enso_dominfo info;
			uint32_t domid;

			if (xl_domid(ctx, argv[optind], &domid) ||
			    enso_domain_info(ctx, domid, &info, &err)) {
				if (err.msg[0])
					fprintf(stderr, "xl: vcpu-list: %s\n",
						err.msg);
				rc = 1;
				break;
			}
			doms[ndoms].domid = domid;
			doms[ndoms++].name = info.name;
		}
	}
	if (!doms) {
		fprintf(stderr, "xl: vcpu-list: out of memory\n");
		rc = 1;
	}
	for (i = 0; !rc && i < ndoms; i++) {
		struct dom_vcpus *d = &doms[i];
		int r = enso_domain_vcpu_list(ctx, d->domid, &d->v, &d->n,
					      &d->host_cpus, &err);

		/* A domain gone since the listing is simply not shown. */
		if (r == -ENOENT && optind == argc)
			continue;
		if (r) {
			fprintf(stderr, "xl: vcpu-list: %s\n", err.msg);
			rc = 1;
		}
	}
	if (!rc) {
		printf("%-32s %5s %5s %5s %5s %9s %s\n", "Name", "ID", "VCPU",
		       "CPU", "State", "Time(s)", "Affinity (Hard / Soft)");
		for (i = 0; i < ndoms; i++)
			print_rows(&doms[i]);
	}
	for (i = 0; i < ndoms; i++)
		dom_vcpus_dispose(&doms[i]);
	free(doms);
	enso_ctx_close(ctx);
	if (fflush(stdout) || ferror(stdout)) {
		perror("xl: vcpu-list: stdout");
		rc = 1;
	}
	return rc;
}

/* "-": leave it; else a CPU list as in cpus= (into *map, *set true). */
static int pin_map(const char *spec, struct enso_cpumap *map, bool *set)
{
	struct enso_error err = { "" };

	*set = false;
	if (!strcmp(spec, "-"))
		return 0;
	if (enso_cpumap_parse(spec, NULL, NULL, map, &err)) {
		fprintf(stderr, "Invalid pcpu range: %s (%s).\n", spec,
			err.msg[0] ? err.msg : "out of memory");
		return -1;
	}
	*set = true;
	return 0;
}

int main_vcpupin(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "force", no_argument, NULL, 'f' },
		{ "ignore-global-affinity-masks", no_argument, NULL, 'i' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct enso_cpumap hard, soft;
	struct enso_error err = { "" };
	bool force = false, has_hard, has_soft = false;
	const char *vcpu_arg;
	struct enso_ctx *ctx = NULL;
	uint32_t domid, vcpu;
	int opt, rc = 1;

	while ((opt = getopt_long(argc, argv, "fih", longopts, NULL)) != -1) {
		switch (opt) {
		case 'f': force = true; break;
		case 'i': break;	/* Enso's xl.conf has no global masks */
		case 'h': xl_usage_of("vcpu-pin"); return 0;
		default: xl_usage_of("vcpu-pin"); return 2;
		}
	}
	if (argc - optind < 3) {
		fprintf(stderr, "'xl vcpu-pin' requires at least 3 arguments.\n\n");
		xl_usage_of("vcpu-pin");
		return 2;
	}
	memset(&hard, 0, sizeof(hard));
	memset(&soft, 0, sizeof(soft));
	vcpu_arg = argv[optind + 1];
	if (!strcmp(vcpu_arg, "all")) {
		if (force) {
			fprintf(stderr, "Error: --force and 'all' as VCPU not allowed.\n");
			return 1;
		}
		vcpu = ENSO_VCPU_ALL;
	} else {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(vcpu_arg, &end, 10);
		if (!*vcpu_arg || *end || errno || *vcpu_arg == '-' ||
		    v >= ENSO_VCPU_ALL) {
			fprintf(stderr, "Error: Invalid argument %s as VCPU.\n",
				vcpu_arg);
			return 1;
		}
		vcpu = (uint32_t)v;
	}
	if (pin_map(argv[optind + 2], &hard, &has_hard) ||
	    (argc - optind > 3 && pin_map(argv[optind + 3], &soft, &has_soft)))
		goto out;
	ctx = xl_open();
	if (!ctx || xl_domid(ctx, argv[optind], &domid))
		goto out;
	if (xl_dry_run) {
		/* Upstream's -N: the maps it would set, over the host's CPUs. */
		struct enso_host_info h;

		if (enso_host_info(ctx, &h, &err)) {
			fprintf(stderr, "xl: vcpu-pin: %s\n", err.msg);
			goto out;
		}
		fputs("cpumap: ", stdout);
		if (has_hard)
			print_cpus(stdout, &hard, h.nr_cpus);
		else
			fputs("-", stdout);
		if (has_soft) {
			putchar(' ');
			print_cpus(stdout, &soft, h.nr_cpus);
		}
		putchar('\n');
		enso_host_info_dispose(&h);
		rc = 0;
		goto out;
	}
	if (!has_hard && !has_soft) {
		rc = 0;		/* "-" and "-" (or none): nothing to change */
		goto out;
	}
	if (enso_domain_vcpu_pin(ctx, domid, vcpu, has_hard ? &hard : NULL,
				 has_soft ? &soft : NULL,
				 force ? ENSO_VCPU_PIN_FORCE : 0, &err)) {
		fprintf(stderr, "xl: vcpu-pin: %s\n", err.msg);
		if (vcpu == ENSO_VCPU_ALL)
			fprintf(stderr, "Could not set affinity.\n");
		else
			fprintf(stderr, "Could not set affinity for vcpu `%u'.\n",
				vcpu);
		goto out;
	}
	rc = 0;
out:
	enso_cpumap_dispose(&hard);
	enso_cpumap_dispose(&soft);
	enso_ctx_close(ctx);
	return rc;
}
