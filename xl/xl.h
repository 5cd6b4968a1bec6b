/*
 * xl internals: the command table and what the commands share.
 * xl is a thin layer over libensoxl: parse arguments, call, print, in
 * upstream xl's words and formats.
 */
#ifndef ENSO_XL_H
#define ENSO_XL_H

#include <stdbool.h>
#include <stdint.h>

#include "enso/libxl.h"

struct xl_cmd {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
	const char *usage;
};

extern const struct xl_cmd xl_cmds[];
extern bool xl_dry_run;		/* global -N */
extern int xl_verbose;		/* global -v */
extern bool xl_say_accel;	/* xl_open says when KVM is not usable */

/* Opens the library context, printing the error itself on failure. */
struct enso_ctx *xl_open(void);
/* Around a create or restore: SIGINT and SIGTERM set the context's
 * cancel flag instead of ending xl, so that the library removes what it
 * made (enso_ctx_set_cancel).  disarm puts the old handlers back and
 * returns the signal that came meanwhile, or 0. */
void xl_cancel_arm(struct enso_ctx *ctx);
int xl_cancel_disarm(struct enso_ctx *ctx);
/* Resolves a name or id, printing the error itself on failure. */
int xl_domid(struct enso_ctx *ctx, const char *name_or_id, uint32_t *domid);
void xl_usage_of(const char *cmd);
/* "256m", "1g", "512" (MiB): KiB, or -EINVAL. */
int xl_parse_memory(const char *s, uint64_t *kib);
/* getopt over a command's own options; prints usage on a bad one. */
int xl_getopt(int argc, char **argv, const char *opts, const char *cmd);

/* The device commands' shared parts: the library's message (or the
 * errno's) as "xl: CMD: what"; the options (-h, and -f where force is
 * given) and an argument count of min..max (max 0: no limit), -1 to go
 * on or the exit status with the usage printed; spec parts joined with
 * ',' (malloc'd). */
void xl_say_error(const char *cmd, const struct enso_error *err, int rc);
int xl_device_args(int argc, char **argv, const char *cmd, int min, int max,
		   bool *force);
char *xl_join_spec(int n, char **parts);
/* An attach command once its spec is parsed: with -N, 0 at once; else the
 * domain looked up and attach called, its failure said.  Exit status. */
typedef int xl_attach_fn(struct enso_ctx *ctx, uint32_t domid,
			 const void *dev, struct enso_error *err);
int xl_device_attach(const char *cmd, const char *domain,
		     xl_attach_fn *attach, const void *dev);
/* A list command: list_one(NULL, 0, NULL) prints the header, then
 * list_one(ctx, domid, err) the rows of each domain argv[optind..]
 * names; a domain that is unknown or fails is said and skipped, and the
 * exit status is then 1. */
typedef int xl_list_fn(struct enso_ctx *ctx, uint32_t domid,
		       struct enso_error *err);
int xl_device_list(int argc, char **argv, const char *cmd,
		   xl_list_fn *list_one);

/* cmd_save.c: a save file's (or migration stream's) header, then the
 * config: the saved one, or config_file's in its place.  Prints
 * upstream's banners; 0 with cfg filled, else 1, said.  file names the
 * source in messages. */
int xl_read_saved(int fd, const char *file, const char *config_file,
		  bool debug, struct enso_domain_config *cfg);
/* Global -t: progress overwrites its line with carriage returns even
 * when stderr is not a terminal. */
extern bool xl_progress_cr;

/* The conversation of xl migrate and migrate-receive, upstream's
 * messages byte for byte: the banner is sent without its NUL
 * (strlen), the others with it (sizeof). */
#define XL_MIG_BANNER "xl migration receiver ready, send binary domain data.\n"
#define XL_MIG_READY "domain received, ready to unpause"
#define XL_MIG_GO "domain is yours, you are cleared to unpause"
#define XL_MIG_REPORT "my copy unpause results are as follows"
/* migrate_wire.c: exactly len bytes, or -1 with the reason said
 * ("<stream>: ... <what>"); end of file is said as truncation. */
int xl_read_exact(int fd, void *buf, size_t len, const char *stream,
		  const char *what);
int xl_write_exact(int fd, const void *buf, size_t len, const char *stream,
		   const char *what);
/* Reads and drops what comes on fd until its end, at most ms: the other
 * end's last words read, or it gone, before ours hangs up. */
void xl_drain(int fd, int ms);
/* Reads message msg (len bytes) or says what came instead; rune, when
 * not NULL, is the command that runs the other end, for the message. */
int xl_read_message(int fd, const char *msg, size_t len, const char *what,
		    const char *rune);

int main_create(int argc, char **argv);
int main_save(int argc, char **argv);
int main_restore(int argc, char **argv);
int main_migrate(int argc, char **argv);
int main_migrate_receive(int argc, char **argv);
int main_sched_credit(int argc, char **argv);
int main_sched_credit2(int argc, char **argv);
int main_list(int argc, char **argv);
int main_info(int argc, char **argv);
int main_domid(int argc, char **argv);
int main_domname(int argc, char **argv);
int main_uptime(int argc, char **argv);
int main_pause(int argc, char **argv);
int main_unpause(int argc, char **argv);
int main_shutdown(int argc, char **argv);
int main_reboot(int argc, char **argv);
int main_destroy(int argc, char **argv);
int main_rename(int argc, char **argv);
int main_console(int argc, char **argv);
int main_memset(int argc, char **argv);
int main_memmax(int argc, char **argv);
int main_blockattach(int argc, char **argv);
int main_blocklist(int argc, char **argv);
int main_blockdetach(int argc, char **argv);
int main_networkattach(int argc, char **argv);
int main_networklist(int argc, char **argv);
int main_networkdetach(int argc, char **argv);
int main_vcpuset(int argc, char **argv);
int main_vcpulist(int argc, char **argv);
int main_vcpupin(int argc, char **argv);
int main_dmesg(int argc, char **argv);
int main_debugkeys(int argc, char **argv);
int main_monitord(int argc, char **argv);

/* Starts the host's monitor unless one runs; 0 once one does. */
int xl_monitor_ensure(struct enso_ctx *ctx);

/* xl console's loop, also used by create -c. */
int xl_console_attach(struct enso_ctx *ctx, uint32_t domid);

#endif
