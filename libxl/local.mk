# libensoxl: Enso's libxl.  Config core: the xl.cfg parser (cfg.c), the
# domain model (config.c, disk.c, nic.c, cpumap.c), its JSON (json.c) and
# xl.conf (xlconf.c).  Only enso_* symbols are exported; the public header
# installs as <enso/libxl.h>, never colliding with upstream's <libxl.h>.
# Makefile.am declares no lib_LTLIBRARIES yet: this is its first (and so
# far only) installed library.  Turn this into += once Makefile.am has
# "lib_LTLIBRARIES =" beside bin_PROGRAMS.
lib_LTLIBRARIES = libxl/libensoxl.la
libxl_libensoxl_la_SOURCES = libxl/enso/libxl.h libxl/private.h \
	libxl/cfg.c libxl/config.c libxl/disk.c libxl/nic.c \
	libxl/cpumap.c libxl/json.c libxl/xlconf.c libxl/error.c libxl/savefile.c libxl/services.h
libxl_libensoxl_la_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxl
libxl_libensoxl_la_CFLAGS = $(AM_CFLAGS) $(YAJL_CFLAGS)
libxl_libensoxl_la_LIBADD = $(YAJL_LIBS)
libxl_libensoxl_la_LDFLAGS = $(AM_LDFLAGS) -export-symbols-regex '^enso_' \
	-version-info 0:0:0

ensoincludedir = $(includedir)/enso
ensoinclude_HEADERS = libxl/enso/libxl.h


# The man page lives in docs/ (docs/local.mk).
