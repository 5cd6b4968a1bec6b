/*
 * xenstored: Enso's xenstore daemon.  Options follow upstream's; the
 * socket serves every host, and on a Xen dom0 the domain rings too.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"

static volatile sig_atomic_t stop_signal;

static void usage(FILE *to)
{
	fprintf(to,
"Usage: xenstored [options]\n"
"\n"
"Enso's xenstore daemon: the state store of a Xen or KVM host.\n"
"\n"
"  -D, --no-domain-init     do not connect dom0's ring or any domain (no Xen)\n"
"  -F, --pid-file FILE      write the daemon's pid to FILE\n"
"  -H, --help               print this help and exit\n"
"  -N, --no-fork            stay in the foreground, log to stderr\n"
"  -P, --output-pid         print the daemon's pid on stdout\n"
"  -T, --trace-file FILE    log every message to FILE\n"
"  -E, --entry-nb N         nodes a domain may own (default 1000)\n"
"  -S, --entry-size N       bytes in one node (default 2048)\n"
"  -W, --watch-nb N         watches of a domain (default 128)\n"
"  -t, --transaction N      open transactions of a domain (default 10)\n"
"  -A, --perm-nb N          entries in a node's permission list (default 5)\n"
"  -M, --path-max N         path length for a domain's nodes (default 2048)\n"
"  -Q, --quota WHAT=N       transaction-nodes (1024), memory (2621440),\n"
"                           outstanding (20)\n"
"  -q, --quota-soft WHAT=N  memory (2097152): warn above it\n"
"  -w, --timeout WHAT=S     accepted for compatibility (watch-event)\n"
"  -R, --no-recovery        accepted for compatibility\n"
"  -I, --internal-db [on|off]  accepted: the store always lives in memory\n"
"  -K, --keep-orphans       keep the nodes of dead domains\n"
"  -V, --verbose            log debug messages\n"
"      --socket PATH        unix socket (default $XENSTORED_RUNDIR/socket,\n"
"                           /var/run/xenstored/socket)\n"
"      --state-dir DIR      keep the store's snapshot and journal in DIR, so a\n"
"                           restart (kill -9 too) loses nothing committed\n"
"                           (default: the socket's directory)\n"
"      --no-persist         keep the store in memory only\n"
"      --fsync              fdatasync the journal before replies leave (for a\n"
"                           state directory on disk)\n"
"      --discard-state      start empty if the saved state cannot be read\n"
"                           (without it xenstored refuses to start)\n"
"\n"
"Quotas apply to unprivileged domains only; every hit is logged with the\n"
"domain, the quota and the path.\n");
}

struct options {
	bool no_domain_init, no_fork, output_pid;
	bool no_persist;
	const char *pid_file, *trace_file, *socket_path;
	struct persist_opts persist;
};

static int set_quota_opt(enum quota_id q, const char *arg)
{
	unsigned long long v;

	if (parse_uint(arg, UINT32_MAX, &v)) {
		fprintf(stderr, "xenstored: invalid number for %s: '%s'\n",
			quotas[q].name, arg);
		return -EINVAL;
	}
	quotas[q].val = v;
	return 0;
}

static int set_quota_pair(const char *arg, bool soft)
{
	char *copy = strdup(arg), *eq;
	int rc = -EINVAL;

	if (!copy)
		return -ENOMEM;
	eq = strchr(copy, '=');
	if (eq) {
		*eq = '\0';
		rc = quota_set_by_name(copy, eq + 1, soft);
	}
	if (rc)
		fprintf(stderr, "xenstored: invalid quota '%s' (see --help)\n",
			arg);
	free(copy);
	return rc;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum {
		OPT_SOCKET = 256, OPT_STATE_DIR, OPT_NO_PERSIST, OPT_FSYNC,
		OPT_DISCARD_STATE,
	};
	static const struct option longopts[] = {
		{ "no-domain-init", no_argument, NULL, 'D' },
		{ "pid-file", required_argument, NULL, 'F' },
		{ "help", no_argument, NULL, 'H' },
		{ "no-fork", no_argument, NULL, 'N' },
		{ "output-pid", no_argument, NULL, 'P' },
		{ "trace-file", required_argument, NULL, 'T' },
		{ "entry-nb", required_argument, NULL, 'E' },
		{ "entry-size", required_argument, NULL, 'S' },
		{ "watch-nb", required_argument, NULL, 'W' },
		{ "transaction", required_argument, NULL, 't' },
		{ "perm-nb", required_argument, NULL, 'A' },
		{ "path-max", required_argument, NULL, 'M' },
		{ "quota", required_argument, NULL, 'Q' },
		{ "quota-soft", required_argument, NULL, 'q' },
		{ "timeout", required_argument, NULL, 'w' },
		{ "no-recovery", no_argument, NULL, 'R' },
		{ "internal-db", optional_argument, NULL, 'I' },
		{ "keep-orphans", no_argument, NULL, 'K' },
		{ "verbose", no_argument, NULL, 'V' },
		{ "socket", required_argument, NULL, OPT_SOCKET },
		{ "state-dir", required_argument, NULL, OPT_STATE_DIR },
		{ "no-persist", no_argument, NULL, OPT_NO_PERSIST },
		{ "fsync", no_argument, NULL, OPT_FSYNC },
		{ "discard-state", no_argument, NULL, OPT_DISCARD_STATE },
		{ NULL, 0, NULL, 0 },
	};
	int opt, rc = 0;

	while (!rc && (opt = getopt_long(argc, argv,
					 "DF:HNPT:E:S:W:t:A:M:Q:q:w:RI::KV",
					 longopts, NULL)) != -1) {
		switch (opt) {
		case 'D': o->no_domain_init = true; break;
		case 'F': o->pid_file = optarg; break;
		case 'H': usage(stdout); exit(0);
		case 'N': o->no_fork = true; break;
		case 'P': o->output_pid = true; break;
		case 'T': o->trace_file = optarg; break;
		case 'E': rc = set_quota_opt(Q_NODES, optarg); break;
		case 'S': rc = set_quota_opt(Q_NODE_SIZE, optarg); break;
		case 'W': rc = set_quota_opt(Q_WATCHES, optarg); break;
		case 't': rc = set_quota_opt(Q_TRANSACTIONS, optarg); break;
		case 'A': rc = set_quota_opt(Q_PERMS, optarg); break;
		case 'M': rc = set_quota_opt(Q_PATH, optarg); break;
		case 'Q': rc = set_quota_pair(optarg, false); break;
		case 'q': rc = set_quota_pair(optarg, true); break;
		case 'w': case 'R': break;
		case 'I':
			if (optarg && strcmp(optarg, "on") && strcmp(optarg, "off")) {
				fprintf(stderr, "xenstored: --internal-db takes on or off\n");
				rc = -EINVAL;
			}
			break;
		case 'K': keep_orphans = true; break;
		case 'V': elog_set_level(ELOG_DEBUG); break;
		case OPT_SOCKET: o->socket_path = optarg; break;
		case OPT_STATE_DIR: o->persist.dir = optarg; break;
		case OPT_NO_PERSIST: o->no_persist = true; break;
		case OPT_FSYNC: o->persist.fsync = true; break;
		case OPT_DISCARD_STATE: o->persist.discard = true; break;
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (!rc && optind < argc) {
		fprintf(stderr, "xenstored: unexpected argument '%s'\n",
			argv[optind]);
		usage(stderr);
		rc = -EINVAL;
	}
	return rc;
}

static void on_signal(int sig)
{
	stop_signal = sig;
}
int main(int argc, char **argv)
{
	struct options o = { 0 };
	char *default_socket = NULL, *default_state = NULL;
	const char *rundir;
	int ready_fd = -1, listen_fd, handover, rc;
	bool xen, to_syslog;

	elog_open("xenstored", ELOG_INFO);
	if (parse_options(argc, argv, &o))
		return 2;
	/* A live update's new binary: already a daemon, its socket open. */
	handover = liveupdate_handover_fd();
	if (handover >= 0)
		o.no_fork = true;
	to_syslog = !o.no_fork;
	if (!o.socket_path) {
		rundir = getenv("XENSTORED_RUNDIR");
		if (asprintf(&default_socket, "%s/socket",
			     rundir ? rundir : "/var/run/xenstored") < 0)
			return 1;
		o.socket_path = default_socket;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);

	loop = evloop_new();
	if (!loop || store_init()) {
		elog(ELOG_ERR, "out of memory at start");
		return 1;
	}
	watch_init();
	if (o.trace_file && trace_open(o.trace_file))
		return 1;
	/* The state first: its lock keeps a second daemon from taking over
	 * the socket of one that runs. */
	if (!o.no_persist) {
		if (!o.persist.dir) {
			default_state = strdup(o.socket_path);
			if (!default_state)
				return 1;
			if (!path_parent(o.socket_path, default_state))
				strcpy(default_state, ".");
			o.persist.dir = default_state;
		}
		if (persist_open(&o.persist))
			return 1;
	}
	if (handover >= 0)
		listen_fd = liveupdate_adopt(handover, &to_syslog);
	else
		listen_fd = socket_listen(o.socket_path);
	if (listen_fd < 0)
		return 1;
	if (handover >= 0 && to_syslog)
		elog_to_syslog();
	liveupdate_init(argv, listen_fd, to_syslog);

	if (!o.no_fork) {
		rc = daemon_fork(&ready_fd);
		if (rc) {
			elog(ELOG_ERR, "cannot fork: %s", strerror(-rc));
			return 1;
		}
	}
	/* Xen's handles are opened in the process that uses them. */
	xen = !o.no_domain_init && xen_control_domain(NULL, 0);
	if (!o.no_domain_init && !xen)
		elog(ELOG_INFO, "no Xen control domain here (/proc/xen/capabilities): serving %s only",
		     o.socket_path);
	if (xen) {
		rc = domain_init(true);
		if (rc) {
			elog(ELOG_ERR, "cannot serve Xen's domains: %s",
			     strerror(-rc));
			return 1;
		}
	}
	persist_restore_domains(xen);
	persist_flush();

	if (o.output_pid) {
		printf("%ld\n", (long)getpid());
		fflush(stdout);
	}
	if (o.pid_file && daemon_write_pid(o.pid_file))
		return 1;
	if (!o.no_fork) {
		elog_to_syslog();
		daemon_detach_stdio();
		if (daemon_ready(ready_fd))
			return 1;
	}
	elog(ELOG_INFO, "serving %s%s", o.socket_path,
	     xen ? " and Xen's domain rings" : "");

	while (!stop_signal) {
		/* Output and rings queued during the last turn (or at start)
		 * go out first; then what was killed is freed, outside any
		 * request. */
		conn_flush_dirty();
		persist_flush();	/* changes no reply waited for */
		persist_maybe_compact();
		conn_reap();
		if (liveupdate_pending())
			liveupdate_run();
		rc = evloop_run_once(loop, -1);
		if (rc < 0) {
			elog(ELOG_ERR, "event loop: %s", strerror(-rc));
			break;
		}
	}
	elog(ELOG_INFO, "stopping on signal %d", (int)stop_signal);
	unlink(o.socket_path);
	if (o.pid_file)
		unlink(o.pid_file);
	persist_close();
	domain_fini();
	conn_free_all();
	watch_fini();
	store_fini();
	evloop_free(loop);
	free(default_socket);
	free(default_state);
	return 0;
}
