# Golden tests of the config core: tests/golden/run.sh BUILD_DIR runs
# cfgcheck on every good/*.cfg (expected JSON in .json) and bad/*.cfg
# (expected error in .err), plus round-trip and robustness checks.
check_PROGRAMS += tests/golden/cfgcheck
tests_golden_cfgcheck_SOURCES = tests/golden/cfgcheck.c
tests_golden_cfgcheck_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxl
tests_golden_cfgcheck_LDADD = libxl/libensoxl.la

EXTRA_DIST += tests/golden/run.sh tests/golden/good tests/golden/bad
