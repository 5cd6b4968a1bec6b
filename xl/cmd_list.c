/* xl list, info, domid, domname, uptime: upstream's formats. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "xl/xl.h"

static void state_letters(const struct enso_dominfo *d, char out[7])
{
	static const char reasons[] = "-rscwS";

	out[0] = d->running ? 'r' : '-';
	out[1] = d->blocked ? 'b' : '-';
	out[2] = d->paused ? 'p' : '-';
	out[3] = d->shutdown ? 's' : '-';
	out[4] = d->shutdown && d->shutdown_reason >= 0 && d->shutdown_reason < 6 ?
			 reasons[d->shutdown_reason] : '-';
	out[5] = d->dying ? 'd' : '-';
	out[6] = '\0';
}

static void uuid_str(const uint8_t u[16], char out[37])
{
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
		 u[10], u[11], u[12], u[13], u[14], u[15]);
}

static bool wanted(const struct enso_dominfo *d, uint32_t *only, int nonly)
{
	int i;

	if (!nonly)
		return true;
	for (i = 0; i < nonly; i++)
		if (only[i] == d->domid)
			return true;
	return false;
}

static int list_long(struct enso_ctx *ctx, struct enso_dominfo *list,
		     size_t n, uint32_t *only, int nonly)
{
	bool first = true;
	size_t i;

	printf("[\n");
	for (i = 0; i < n; i++) {
		struct enso_domain_config cfg;
		char *json = NULL;

		if (!wanted(&list[i], only, nonly))
			continue;
		if (enso_domain_config(ctx, list[i].domid, &cfg, NULL) == 0 &&
		    enso_config_to_json(&cfg, true, &json) == 0) {
			char *line = json, *nl;

			printf("%s    {\n        \"domid\": %u,\n        \"config\": ",
			       first ? "" : ",\n", list[i].domid);
			/* The config nests two levels in: indent it to match. */
			for (; *line; line = nl + 1) {
				nl = strchr(line, '\n');
				if (!nl)
					nl = line + strlen(line) - 1;
				printf("%s%.*s\n", line == json ? "" : "        ",
				       (int)(nl - line), line);
				if (!nl[1])
					break;
			}
		} else {
			/* Domain-0 has no stored config: a stub, as upstream. */
			printf("%s    {\n        \"domid\": %u,\n        \"config\": {\n"
			       "            \"c_info\": {\n                \"name\": \"%s\"\n"
			       "            }\n        }\n",
			       first ? "" : ",\n", list[i].domid, list[i].name);
		}
		printf("    }");
		first = false;
		free(json);
		enso_config_dispose(&cfg);
	}
	printf("\n]\n");
	return 0;
}

int main_list(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_dominfo *list;
	bool details = false, verbose = false;
	uint32_t *only = NULL;
	int nonly = 0, opt, i, rc = 0;
	struct enso_ctx *ctx;
	size_t n, j;

	while ((opt = xl_getopt(argc, argv, "+hlvZcn", "list")) != -1) {
		switch (opt) {
		case 'l': details = true; break;
		case 'v': verbose = true; break;
		case 'Z': case 'c': case 'n': break;
		case 'h': return 0;
		default: return 1;
		}
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (optind < argc) {
		only = calloc((size_t)(argc - optind), sizeof(*only));
		for (i = optind; only && i < argc; i++)
			if (xl_domid(ctx, argv[i], &only[nonly++])) {
				rc = 1;
				goto out;
			}
	}
	if (enso_domain_list(ctx, &list, &n, &err)) {
		fprintf(stderr, "xl: %s\n", err.msg);
		rc = 1;
		goto out;
	}
	if (details) {
		list_long(ctx, list, n, only, nonly);
	} else {
		printf("Name                                        ID   Mem VCPUs\tState\tTime(s)");
		if (verbose)
			printf("   UUID                            Reason-Code\tSecurity Label");
		printf("\n");
		for (j = 0; j < n; j++) {
			char st[7], u[37];

			if (!wanted(&list[j], only, nonly))
				continue;
			state_letters(&list[j], st);
			printf("%-40s %5u %5lu %5u     %s  %8.1f", list[j].name,
			       list[j].domid,
			       (unsigned long)((list[j].current_kb +
						list[j].outstanding_kb) / 1024),
			       list[j].vcpus_online, st, list[j].cpu_seconds);
			if (verbose) {
				uuid_str(list[j].uuid, u);
				printf(" %s", u);
				if (list[j].shutdown)
					printf(" %8x", list[j].shutdown_reason);
				else
					printf(" %8s", "-");
				printf("                -");
			}
			/* Past the columns, so that scripts reading them
			 * still can: a create or destroy not finished. */
			if (list[j].destroying)
				printf("  (being destroyed)");
			else if (list[j].creating)
				printf("  (being created)");
			printf("\n");
		}
	}
	enso_dominfo_list_free(list, n);
out:
	free(only);
	enso_ctx_close(ctx);
	return rc;
}

int main_info(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_host_info h;
	struct enso_ctx *ctx;
	struct utsname u;
	char host[256] = "";
	size_t i;

	(void)argc;
	(void)argv;
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (enso_host_info(ctx, &h, &err)) {
		fprintf(stderr, "xl: %s\n", err.msg);
		enso_ctx_close(ctx);
		return 1;
	}
	uname(&u);
	gethostname(host, sizeof(host) - 1);
	printf("%-23s: %s\n", "host", host);
	printf("%-23s: %s\n", "release", u.release);
	printf("%-23s: %s\n", "version", u.version);
	printf("%-23s: %s\n", "machine", u.machine);
	if (h.nfields) {
		/* Xen: upstream's lines, then what it ends with. */
		for (i = 0; i < h.nfields; i++)
			printf("%-23s: %s\n", h.fields[i].key, h.fields[i].value);
		printf("%-23s: %d\n", "xend_config_format", 4);
	} else {
		printf("%-23s: %u\n", "nr_cpus", h.nr_cpus);
		printf("%-23s: %llu\n", "total_memory",
		       (unsigned long long)(h.total_kb / 1024));
		printf("%-23s: %llu\n", "free_memory",
		       (unsigned long long)(h.free_kb / 1024));
	}
	/* Enso's own. */
	printf("%-23s: %s\n", "hypervisor", h.hypervisor);
	printf("%-23s: %s\n", "hypervisor_reason", h.why);
	printf("%-23s: %s\n", "hypervisor_version", h.version);
	printf("%-23s: %s\n", "xl_version", "Enso " PACKAGE_VERSION);
	enso_host_info_dispose(&h);
	enso_ctx_close(ctx);
	return 0;
}

int main_domid(int argc, char **argv)
{
	struct enso_ctx *ctx;
	uint32_t domid;
	int rc;

	if (argc != 2) {
		xl_usage_of("domid");
		return 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	rc = xl_domid(ctx, argv[1], &domid);
	if (!rc)
		printf("%u\n", domid);
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}

int main_domname(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_dominfo d;
	struct enso_ctx *ctx;
	char *end;
	unsigned long id;
	int rc = 1;

	if (argc != 2) {
		xl_usage_of("domname");
		return 1;
	}
	id = strtoul(argv[1], &end, 10);
	if (*end || !*argv[1]) {
		fprintf(stderr, "xl: invalid domain id '%s'\n", argv[1]);
		return 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (enso_domain_info(ctx, (uint32_t)id, &d, &err) == 0) {
		printf("%s\n", d.name);
		enso_dominfo_dispose(&d);
		rc = 0;
	} else {
		fprintf(stderr, "xl: %s\n", err.msg);
	}
	enso_ctx_close(ctx);
	return rc;
}

static void print_uptime(long secs, bool short_form, const char *name,
			 uint32_t domid)
{
	long days = secs / 86400, h = secs / 3600 % 24, m = secs / 60 % 60,
	     s = secs % 60;
	char up[64];

	if (days)
		snprintf(up, sizeof(up), "%ld day%s, %2ld:%02ld:%02ld", days,
			 days == 1 ? "" : "s", h, m, s);
	else
		snprintf(up, sizeof(up), "%2ld:%02ld:%02ld", h, m, s);
	if (short_form)
		printf("%s %u %s\n", name, domid, up);
	else
		printf("%-33s %4u %s\n", name, domid, up);
}

int main_uptime(int argc, char **argv)
{
	struct enso_error err = { "" };
	struct enso_dominfo *list;
	bool short_form = false;
	struct enso_ctx *ctx;
	size_t n, i;
	int opt;

	while ((opt = xl_getopt(argc, argv, "+hs", "uptime")) != -1) {
		if (opt == 's')
			short_form = true;
		else
			return opt == 'h' ? 0 : 1;
	}
	ctx = xl_open();
	if (!ctx)
		return 1;
	if (enso_domain_list(ctx, &list, &n, &err)) {
		fprintf(stderr, "xl: %s\n", err.msg);
		enso_ctx_close(ctx);
		return 1;
	}
	if (!short_form)
		printf("%-33s %4s %s\n", "Name", "ID", "Uptime");
	for (i = 0; i < n; i++) {
		long secs = enso_domain_uptime(ctx, list[i].domid);

		if (optind < argc) {
			int k;
			bool match = false;

			for (k = optind; k < argc; k++)
				match = match || !strcmp(argv[k], list[i].name);
			if (!match)
				continue;
		}
		print_uptime(secs < 0 ? 0 : secs, short_form, list[i].name,
			     list[i].domid);
	}
	enso_dominfo_list_free(list, n);
	enso_ctx_close(ctx);
	return 0;
}
