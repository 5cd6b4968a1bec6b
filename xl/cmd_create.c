/* xl create: parse, create, leave a monitor behind, maybe attach. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "xl/xl.h"

static void monitor_log(const char *msg, void *opaque)
{
	char when[32];
	time_t now = time(NULL);

	(void)opaque;
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime(&now));
	fprintf(stderr, "%s %s\n", when, msg);
}

/*
 * The monitor runs detached (double fork, new session, stdio to a log),
 * like upstream's per-domain xl child, so it outlives this command.
 */
static int start_monitor(uint32_t domid, const char *name)
{
	pid_t pid = fork();
	int status;

	if (pid < 0) {
		perror("xl: fork");
		return -1;
	}
	if (pid == 0) {
		struct enso_error err = { "" };
		const char *logdir = getenv("ENSO_LOGDIR");
		struct enso_ctx *ctx;
		char path[512];
		int fd;

		setsid();
		if (fork() != 0)
			_exit(0);
		snprintf(path, sizeof(path), "%s/xl-%s.log",
			 logdir && *logdir ? logdir : "/var/log/enso", name);
		fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (fd >= 0) {
			dup2(fd, 2);
			dup2(fd, 1);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		if (enso_ctx_open(&ctx, 0, &err)) {
			fprintf(stderr, "monitor of domain %u: %s\n", domid, err.msg);
			_exit(1);
		}
		monitor_log("monitor started", NULL);
		if (enso_domain_monitor(ctx, domid, monitor_log, NULL, &err))
			monitor_log(err.msg, NULL);
		monitor_log("monitor done", NULL);
		enso_ctx_close(ctx);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	return 0;
}

int main_create(int argc, char **argv)
{
	struct enso_domain_config cfg;
	struct enso_error err = { "" };
	bool paused = false, console = false, dry = xl_dry_run, quiet = false;
	struct enso_ctx *ctx;
	const char *file;
	uint32_t domid;
	int opt, rc;

	while ((opt = xl_getopt(argc, argv, "+hpcNqdeVf:", "create")) != -1) {
		switch (opt) {
		case 'p': paused = true; break;
		case 'c': console = true; break;
		case 'N': dry = true; break;
		case 'q': quiet = true; break;
		case 'f': break;	/* -f FILE: same as the positional file */
		case 'd': case 'e': case 'V': break;
		case 'h': return 0;
		default: return 1;
		}
	}
	if (optind >= argc) {
		xl_usage_of("create");
		return 1;
	}
	file = argv[optind];
	if (!quiet)
		fprintf(stderr, "Parsing config from %s\n", file);
	rc = enso_config_parse_file(file, (const char *const *)&argv[optind + 1],
				    &cfg, &err);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	if (dry) {
		char *json = NULL;

		rc = enso_config_to_json(&cfg, true, &json);
		if (!rc)
			fputs(json, stdout);
		free(json);
		enso_config_dispose(&cfg);
		return rc ? 1 : 0;
	}
	xl_say_accel = true;
	ctx = xl_open();
	if (!ctx) {
		enso_config_dispose(&cfg);
		return 1;
	}
	rc = enso_domain_create(ctx, &cfg, paused ? ENSO_CREATE_PAUSED : 0,
				&domid, &err);
	if (rc) {
		fprintf(stderr, "xl: cannot create domain '%s': %s\n", cfg.name,
			err.msg);
	} else {
		if (xl_verbose)
			fprintf(stderr, "Domain %u (%s) created\n", domid, cfg.name);
		rc = start_monitor(domid, cfg.name);
		if (!rc && console)
			rc = xl_console_attach(ctx, domid);
	}
	enso_config_dispose(&cfg);
	enso_ctx_close(ctx);
	return rc ? 1 : 0;
}
