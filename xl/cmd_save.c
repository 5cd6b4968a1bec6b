/*
 * xl save and xl restore: upstream's options, banners and messages
 * (tools/xl/xl_saverestore.c, xl_vmcontrol.c); the file and the domain
 * are libensoxl's (enso_save_header_*, enso_domain_save*, _restore).
 *
 * restore reads and checks the whole header and config before it touches
 * the host: a file that is not a save file is refused without a
 * xenstored, a QEMU or a domain id spent on it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "xl/xl.h"

/* Upstream's words for too few arguments (def_getopt): exit 2. */
static int too_few(const char *cmd, int need)
{
	fprintf(stderr, "'xl %s' requires at least %d argument%s.\n\n", cmd,
		need, need > 1 ? "s" : "");
	xl_usage_of(cmd);
	return 2;
}

/* A failed save leaves no half file that a restore would take for one. */
/* The stream needs the machine it was saved from, whatever config the
 * user gives in place of the saved one: the saved device layout (where
 * the source had put each device, backend.h's stream_layout) goes on
 * with it.  A saved config that does not parse has none to give. */
static void keep_saved_layout(const char *saved_json,
			      struct enso_domain_config *cfg)
{
	struct enso_domain_config saved;
	struct enso_error ignored;

	if (enso_config_from_json(saved_json, &saved, &ignored))
		return;
	free(cfg->device_layout);
	cfg->device_layout = saved.device_layout;
	saved.device_layout = NULL;
	enso_config_dispose(&saved);
}

static void drop_partial(const char *file)
{
	struct stat st;

	if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && unlink(file) == 0)
		fprintf(stderr, "xl: removed the incomplete %s\n", file);
}

int main_save(int argc, char **argv)
{
	struct enso_domain_config override;
	struct enso_save_header hdr = { 0 };
	struct enso_error err = { "" };
	bool checkpoint = false, leave_paused = false, have_override = false;
	struct enso_ctx *ctx = NULL;
	const char *file;
	uint32_t domid;
	int opt, fd = -1, rc = 1;

	while ((opt = xl_getopt(argc, argv, "+hcp", "save")) != -1) {
		switch (opt) {
		case 'c': checkpoint = true; break;
		case 'p': leave_paused = true; break;
		case 'h': return 0;
		default: return 2;
		}
	}
	if (argc - optind < 2)
		return too_few("save", 2);
	if (argc - optind > 3) {
		xl_usage_of("save");
		return 1;
	}
	file = argv[optind + 1];
	enso_config_init(&override);
	if (argc - optind == 3) {
		if (enso_config_parse_file(argv[optind + 2], NULL, &override,
					   &err)) {
			fprintf(stderr, "%s\n", err.msg);
			goto out;
		}
		have_override = true;
	}
	ctx = xl_open();
	if (!ctx || xl_domid(ctx, argv[optind], &domid))
		goto out;
	fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "Failed to open temp file %s for writing: %s\n",
			file, strerror(errno));
		goto out;
	}
	if (enso_domain_save_begin(ctx, domid, fd, file,
				   have_override ? &override : NULL, &hdr,
				   &err)) {
		fprintf(stderr, "xl: cannot save domain %u: %s\n", domid, err.msg);
		drop_partial(file);
		goto out;
	}
	fprintf(stderr, "Saving to %s new xl format (info 0x%x/0x%x/%u)\n",
		file, hdr.mandatory_flags, hdr.optional_flags,
		hdr.optional_data_len);
	if (enso_domain_save(ctx, domid, fd,
			     (checkpoint ? ENSO_SAVE_CHECKPOINT : 0) |
			     (leave_paused ? ENSO_SAVE_LEAVE_PAUSED : 0),
			     &err)) {
		fprintf(stderr, "xl: cannot save domain %u: %s\n", domid, err.msg);
		fprintf(stderr, "Failed to save domain, resuming domain\n");
		drop_partial(file);
		goto out;
	}
	if (xl_verbose)
		fprintf(stderr, "Domain %u saved to %s\n", domid, file);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	enso_save_header_dispose(&hdr);
	enso_config_dispose(&override);
	enso_ctx_close(ctx);
	return rc;
}

int xl_read_saved(int fd, const char *file, const char *config_file,
		      bool debug, struct enso_domain_config *cfg)
{
	struct enso_save_header hdr;
	struct enso_error err = { "" };
	int rc = enso_save_header_read(fd, file, &hdr, &err);

	enso_config_init(cfg);
	if (hdr.have_fixed)
		fprintf(stderr, "Loading new save file %s (new xl fmt info 0x%x/0x%x/%u)\n",
			file, hdr.mandatory_flags, hdr.optional_flags,
			hdr.optional_data_len);
	if (rc) {
		fprintf(stderr, "%s\n", err.msg);
		goto out;
	}
	if (hdr.config)
		fprintf(stderr, " Savefile contains xl domain config%s\n",
			hdr.mandatory_flags & ENSO_SAVE_MANDATORY_JSON ?
			" in JSON format" : "");
	if (!config_file && !hdr.config) {
		fprintf(stderr, "Config file not specified and none in save file\n");
		rc = -EINVAL;
		goto out;
	}
	fprintf(stderr, "Parsing config from %s\n",
		config_file ? config_file : "<saved>");
	if (config_file)
		rc = enso_config_parse_file(config_file, NULL, cfg, &err);
	else if (hdr.mandatory_flags & ENSO_SAVE_MANDATORY_JSON)
		rc = enso_config_from_json(hdr.config, cfg, &err);
	else
		rc = enso_config_parse_string(hdr.config, strlen(hdr.config),
					      "<saved>", NULL, cfg, &err);
	if (rc) {
		if (config_file)
			fprintf(stderr, "%s\n", err.msg);
		else
			fprintf(stderr, "%s: the saved config: %s\n", file, err.msg);
		goto out;
	}
	if (config_file && hdr.config &&
	    hdr.mandatory_flags & ENSO_SAVE_MANDATORY_JSON)
		keep_saved_layout(hdr.config, cfg);
	if (debug) {
		char *json = NULL;

		if (enso_config_to_json(cfg, true, &json) == 0)
			fputs(json, stderr);
		free(json);
	}
out:
	enso_save_header_dispose(&hdr);
	return rc ? 1 : 0;
}

int main_restore(int argc, char **argv)
{
	struct enso_domain_config cfg;
	struct enso_error err = { "" };
	bool paused = false, debug = false;
	const char *file, *config_file = NULL;
	struct enso_ctx *ctx = NULL;
	uint32_t domid;
	int opt, fd, sig, rc = 1;

	/* -e, -F: create hands every domain to the host's monitor, which
	 * is what upstream's waiting xl process does; nothing waits here. */
	while ((opt = xl_getopt(argc, argv, "+hpdeF", "restore")) != -1) {
		switch (opt) {
		case 'p': paused = true; break;
		case 'd': debug = true; break;
		case 'e': case 'F': break;
		case 'h': return 0;
		default: return 2;
		}
	}
	if (argc - optind < 1)
		return too_few("restore", 1);
	if (argc - optind > 2) {
		xl_usage_of("restore");
		return 1;
	}
	if (argc - optind == 2)
		config_file = argv[optind++];
	file = argv[optind];
	fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "Can't open restore file: %s: %s\n", file,
			strerror(errno));
		return 1;
	}
	if (xl_read_saved(fd, file, config_file, debug, &cfg))
		goto out;
	xl_say_accel = true;
	ctx = xl_open();
	/* As create: the monitor first, to clean up after us if we die. */
	if (!ctx || xl_monitor_ensure(ctx))
		goto out;
	xl_cancel_arm(ctx);
	rc = enso_domain_restore(ctx, &cfg, fd, paused ? ENSO_CREATE_PAUSED : 0,
				 &domid, &err);
	sig = xl_cancel_disarm(ctx);
	if (rc == -ECANCELED) {
		fprintf(stderr, "xl: restore of domain '%s' interrupted by %s: everything it made is removed\n",
			cfg.name, strsignal(sig));
		rc = 1;
		goto out;
	}
	if (rc) {
		fprintf(stderr, "xl: cannot restore domain '%s' from %s: %s\n",
			cfg.name, file, err.msg);
		rc = 1;
		goto out;
	}
	if (xl_verbose)
		fprintf(stderr, "Domain %u (%s) restored from %s\n", domid,
			cfg.name, file);
out:
	close(fd);
	enso_config_dispose(&cfg);
	enso_ctx_close(ctx);
	return rc;
}
