/* xl: global options, then one command from the table. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "xl/xl.h"

bool xl_dry_run;
bool xl_progress_cr;
int xl_verbose;

const struct xl_cmd xl_cmds[] = {
	{ "create", main_create, "Create a domain from config file <filename>",
	  "[options] <ConfigFile> [vars]\n"
	  "  -h  Print this help.\n"
	  "  -p  Leave the domain paused after it is created.\n"
	  "  -c  Connect to the console after the domain is created.\n"
	  "  -N  Dry run: print the resolved configuration as JSON, create nothing.\n"
	  "  -q  Quiet." },
	{ "list", main_list, "List information about all/some domains",
	  "[options] [Domain]\n"
	  "  -l, --long  Output all domain details in JSON.\n"
	  "  -v, --verbose  Also print the UUID and shutdown reason." },
	{ "destroy", main_destroy, "Terminate a domain immediately",
	  "[options] <Domain>\n  -f  Permit destroying domain 0 (refused all the same)." },
	{ "shutdown", main_shutdown, "Issue a shutdown signal to a domain",
	  "[options] <-a|Domain>\n"
	  "  -a, --all  Shutdown all guest domains.\n"
	  "  -w, --wait  Wait for the domain to be gone.\n"
	  "  -F  Fallback to an ACPI power event (the KVM backend always uses one)." },
	{ "reboot", main_reboot, "Issue a reboot signal to a domain",
	  "[options] <-a|Domain>\n"
	  "  -a, --all  Reboot all guest domains.\n"
	  "  -w, --wait  Wait for the old domain to be gone.\n"
	  "  -F  Fallback to an ACPI reset event." },
	{ "pause", main_pause, "Pause execution of a domain", "<Domain>" },
	{ "unpause", main_unpause, "Unpause a paused domain", "<Domain>" },
	{ "console", main_console, "Attach to domain's console",
	  "[options] <Domain>\n"
	  "  -t <type>  console type, pv or serial (both are the guest's first console)\n"
	  "  -n <number>  console number (0 only)\n"
	  "Ctrl-] detaches.  Without a terminal on stdin, copies the console to stdout." },
	{ "save", main_save, "Save a domain state to restore later",
	  "[options] <Domain> <CheckpointFile> [<ConfigFile>]\n"
	  "  -h  Print this help.\n"
	  "  -c  Leave domain running after creating the snapshot.\n"
	  "  -p  Leave domain paused after creating the snapshot." },
	{ "restore", main_restore, "Restore a domain from a saved state",
	  "[options] [<ConfigFile>] <CheckpointFile>\n"
	  "  -h  Print this help.\n"
	  "  -p  Do not unpause domain after restoring it.\n"
	  "  -e  Do not wait in the background for the death of the domain\n"
	  "      (accepted: the host's monitor watches every domain).\n"
	  "  -d  Enable debug messages: print the config restored, as JSON." },
	{ "migrate", main_migrate, "Migrate a domain to another host",
	  "[options] <Domain> <host>\n"
	  "  -h              Print this help.\n"
	  "  -C <config>     Send <config> instead of the config the domain runs with.\n"
	  "  -s <sshcommand> Use <sshcommand> instead of ssh.  String will be passed\n"
	  "                  to sh.  If empty, run <host> instead of ssh <host> xl\n"
	  "                  migrate-receive [-d -e]\n"
	  "  -e              Do not wait in the background (on <host>) for the death\n"
	  "                  of the domain (accepted: the host's monitor watches it).\n"
	  "  --debug         Ask the receiver for debug output (-d).\n"
	  "  -p              Do not unpause domain after migrating it." },
	{ "migrate-receive", main_migrate_receive,
	  "Restore a domain from a saved state (the receiving end of xl migrate)",
	  "[-d -e -p]\n"
	  "  -d  Print the received config, as JSON.\n"
	  "  -e  Do not wait in the background for the death of the domain\n"
	  "      (accepted: the host's monitor watches every domain).\n"
	  "  -p  Do not unpause the domain after receiving it." },
	{ "info", main_info, "Get information about Xen host", "[-n]" },
	{ "domid", main_domid, "Convert a domain name to domain id", "<DomainName>" },
	{ "domname", main_domname, "Convert a domain id to domain name", "<DomainId>" },
	{ "rename", main_rename, "Rename a domain", "<Domain> <NewDomainName>" },
	{ "uptime", main_uptime, "Print uptime for all/some domains",
	  "[-s] [Domain]\n  -s  Short output: no header." },
	{ "mem-set", main_memset, "Set the current memory usage for a domain",
	  "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>" },
	{ "mem-max", main_memmax, "Set the maximum amount reservation for a domain",
	  "<Domain> <MemMB['b'[bytes]|'k'[KB]|'m'[MB]|'g'[GB]|'t'[TB]]>" },
	{ "block-attach", main_blockattach, "Create a new virtual block device",
	  "<Domain> <disk-spec-component(s)>..." },
	{ "block-list", main_blocklist, "List virtual block devices for a domain",
	  "<Domain(s)>" },
	{ "block-detach", main_blockdetach, "Destroy a domain's virtual block device",
	  "[-f] <Domain> <DevId>\n"
	  "  -f  Force the detach (the guest is not asked)" },
	{ "network-attach", main_networkattach, "Create a new virtual network device",
	  "<Domain> [type=<type>] [mac=<mac>] [bridge=<bridge>] [ip=<ip>] [script=<script>] [backend=<BackDomain>] [vifname=<name>] [rate=<rate>] [model=<model>] [accel=<accel>]" },
	{ "network-list", main_networklist, "List virtual network interfaces for a domain",
	  "<Domain(s)>" },
	{ "network-detach", main_networkdetach, "Destroy a domain's virtual network device",
	  "[-f] <Domain> <DevId|mac>\n"
	  "  -f  Force the detach (the guest is not asked; Enso's addition)" },
	{ "vcpu-set", main_vcpuset, "Set the number of active VCPUs allowed for the domain",
	  "<Domain> <vCPUs>" },
	{ "vcpu-list", main_vcpulist, "List the VCPUs for all/some domains",
	  "[Domain, ...]" },
	{ "vcpu-pin", main_vcpupin, "Set which CPUs a VCPU can use",
	  "[option] <Domain> <VCPU|all> <Hard affinity|-|all> <Soft affinity|-|all>\n"
	  "  -f, --force  undo an override pinning done by the kernel\n"
	  "  --ignore-global-affinity-masks  accepted; Enso's xl.conf has no global masks" },
	{ "sched-credit", main_sched_credit, "Get/set credit scheduler parameters",
	  "[-d <Domain> [-w[=WEIGHT]|-c[=CAP]]] [-s [-t TSLICE] [-r RATELIMIT] [-m DELAY]] [-p CPUPOOL]\n"
	  "  -d DOMAIN, --domain=DOMAIN        Domain to modify\n"
	  "  -w WEIGHT, --weight=WEIGHT        Weight (int)\n"
	  "  -c CAP,    --cap=CAP              Cap (int)\n"
	  "  -s         --schedparam           Query / modify scheduler parameters\n"
	  "  -t TSLICE, --tslice_ms=TSLICE     Set the timeslice, in milliseconds\n"
	  "  -r RLIMIT, --ratelimit_us=RLIMIT  Set the scheduling rate limit, in microseconds\n"
	  "  -m DLY, --migration_delay_us=DLY  Set the migration delay, in microseconds\n"
	  "  -p CPUPOOL, --cpupool=CPUPOOL     Restrict output to CPUPOOL (Enso: Pool-0 only)" },
	{ "sched-credit2", main_sched_credit2, "Get/set credit2 scheduler parameters",
	  "[-d <Domain> [-w[=WEIGHT]]] [-p CPUPOOL]\n"
	  "  -d DOMAIN, --domain=DOMAIN     Domain to modify\n"
	  "  -w WEIGHT, --weight=WEIGHT     Weight (int)\n"
	  "  -c CAP,    --cap=CAP           Cap (int)\n"
	  "  -s         --schedparam        Query / modify scheduler parameters\n"
	  "  -r RLIMIT, --ratelimit_us=RLIMIT Set the scheduling rate limit, in microseconds\n"
	  "  -p CPUPOOL, --cpupool=CPUPOOL  Restrict output to CPUPOOL (Enso: Pool-0 only)" },
	{ "dmesg", main_dmesg, "Read and/or clear dmesg buffer",
	  "[-c]\n  -c  Clear dmesg buffer as well as printing it" },
	{ "debug-keys", main_debugkeys, "Send debug keys to Xen", "<Keys>" },
	{ "monitord", main_monitord, "Run the host's domain monitor (Enso's own; xl create starts it)",
	  "[options]\n"
	  "  -F  Stay in the foreground, logging to stderr (else: detach,\n"
	  "      log to xl-monitor.log in the log directory)." },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *to)
{
	const struct xl_cmd *c;

	fprintf(to, "Usage xl [-vfNtT] <subcommand> [args]\n\n"
		    "xl full list of subcommands:\n\n");
	for (c = xl_cmds; c->name; c++)
		fprintf(to, " %-19s %s\n\n", c->name, c->summary);
}

void xl_usage_of(const char *cmd)
{
	const struct xl_cmd *c;

	for (c = xl_cmds; c->name; c++) {
		if (!strcmp(c->name, cmd)) {
			fprintf(stderr, "Usage: xl [-v] %s %s\n\n%s.\n", c->name,
				c->usage, c->summary);
			return;
		}
	}
}

int main(int argc, char **argv)
{
	const struct xl_cmd *c;
	int opt, rc;

	/* xenstored going away mid-command is an error to report, not a
	 * silent death by SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	while ((opt = getopt(argc, argv, "+vfNtTh")) != -1) {
		switch (opt) {
		case 'v': xl_verbose++; break;
		case 'N': xl_dry_run = true; break;
		case 't': xl_progress_cr = true; break;
		case 'f': case 'T': break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 1;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 1;
	}
	if (!strcmp(argv[optind], "help")) {
		if (optind + 1 < argc)
			xl_usage_of(argv[optind + 1]);
		else
			usage(stdout);
		return 0;
	}
	for (c = xl_cmds; c->name; c++) {
		if (!strcmp(c->name, argv[optind])) {
			argc -= optind;
			argv += optind;
			optind = 1;	/* each command parses its own options */
			rc = c->fn(argc, argv);
			/* 2: a usage error, where upstream says so too. */
			return rc == 2 ? 2 : rc ? 1 : 0;
		}
	}
	fprintf(stderr, "xl: command not implemented: '%s'\n\n", argv[optind]);
	usage(stderr);
	return 1;
}
