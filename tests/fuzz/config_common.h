/*
 * The config harnesses' shared check (config_common.c): a config that was
 * read, from xl.cfg (fuzz_cfg) or from JSON (fuzz_json), prints as JSON
 * that reads back to the same JSON.
 */
#ifndef ENSO_FUZZ_CONFIG_COMMON_H
#define ENSO_FUZZ_CONFIG_COMMON_H

#include "enso/libxl.h"

/* Aborts, saying what, when c's JSON does not read back or reads back to
 * other JSON; out of memory is no finding.  c stays the caller's. */
void fuzz_config_roundtrip(const struct enso_domain_config *c);

#endif
