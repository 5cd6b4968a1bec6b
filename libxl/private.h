/*
 * libxl/private.h: internals of libensoxl shared between its files.
 *
 * The xl.cfg text first becomes a generic tree (cfg.c): settings of
 * key -> value, each value a string, a number (kept as its text) or a list,
 * each with the source and line it came from.  config.c builds the typed
 * enso_domain_config from that tree; xlconf.c builds enso_xl_conf.
 */
#ifndef ENSO_LIBXL_PRIVATE_H
#define ENSO_LIBXL_PRIVATE_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "enso/libxl.h"
#include "services.h"

#define CFG_MAX_FILE_SIZE (1024 * 1024)	/* bytes of one config */
#define CFG_MAX_DEPTH 16		/* nested lists */
#define CFG_MAX_KEYS 1024		/* distinct keys in one config */

enum cfg_kind { CFG_STRING, CFG_NUMBER, CFG_LIST };

struct cfg_value {
	enum cfg_kind kind;
	int line;
	char *text;			/* CFG_STRING, CFG_NUMBER */
	struct cfg_value **items;	/* CFG_LIST */
	size_t nitems, cap;
};

struct cfg_setting {
	char *key;
	struct cfg_value *value;
	const char *source;		/* borrowed: outlives the tree */
	int line;			/* of the last = or += */
};

struct cfg_tree {
	struct cfg_setting *v;
	size_t n;
	int slots[2 * CFG_MAX_KEYS];	/* hash of key -> index + 1 */
};

void cfg_tree_init(struct cfg_tree *t);
void cfg_tree_dispose(struct cfg_tree *t);
/* Adds the statements of one text to the tree: "=" replaces, "+=" merges. */
int cfg_parse_text(struct cfg_tree *t, const char *text, size_t len,
		   const char *source, int first_line, struct enso_error *err);
/* Reads a whole file into a NUL-terminated buffer (size-capped). */
int cfg_read_file(const char *path, char **text, size_t *len,
		  struct enso_error *err);
const struct cfg_setting *cfg_get(const struct cfg_tree *t, const char *key);

/* ---- typed access: errors read "SRC:LINE: KEY: ..." ------------------- */
int cfg_want_string(const struct cfg_setting *s, const struct cfg_value *v,
		    const char *what, char **out, struct enso_error *err);
int cfg_want_number(const struct cfg_setting *s, const struct cfg_value *v,
		    const char *what, long long min, long long max,
		    long long *out, struct enso_error *err);
/* A list of strings; a lone string is accepted as a one-item list when
 * lone_ok.  *out is a malloc'd array of malloc'd strings. */
int cfg_want_string_list(const struct cfg_setting *s, bool lone_ok,
			 char ***out, size_t *n, struct enso_error *err);

/* ---- strings (errors: exl_fail, exl_err_prefix in services.h) --------- */
void exl_strv_free(char **v, size_t n);
/* Decimal digits at *p (at least one) into *out; -ERANGE above max. */
int exl_digits(const char **p, unsigned long max, unsigned long *out);
char *exl_str_printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
bool exl_utf8_valid(const char *s, size_t len);

/* ---- pieces shared between the config and JSON readers --------------- */
/* Defaults that follow from other keys, and cross-key checks.  On error
 * err says "KEY: what" and *key names the key to blame. */
int exl_config_finish(struct enso_domain_config *c, const char **key,
		  struct enso_error *err);
int exl_affinity_parse_list(char **specs, size_t n, bool per_vcpu,
			struct enso_affinity *out, struct enso_error *err);
void exl_affinity_dispose(struct enso_affinity *a);
int exl_uuid_parse(const char *s, uint8_t out[16]);
void exl_uuid_format(const uint8_t u[16], char out[37]);
int exl_action_parse(const char *s, enum enso_action *out);
const char *exl_action_json_name(enum enso_action a);
const char *exl_disk_backendtype_name(enum enso_disk_backendtype b);
int exl_disk_format_parse(const char *s, enum enso_disk_format *out);
int exl_disk_backendtype_parse(const char *s, enum enso_disk_backendtype *out);

#endif
