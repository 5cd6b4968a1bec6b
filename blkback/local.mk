# blkback/: the block backend, the "vbd" engine on the xenbus core
# (blkback/blkback.h; docs/design/blkback.md), and its daemon.
noinst_LTLIBRARIES += blkback/libensoblkback.la
blkback_libensoblkback_la_SOURCES = blkback/blkback.h blkback/private.h \
	blkback/abi.h blkback/abi.c blkback/check.c blkback/disk.c \
	blkback/io.c blkback/ring.c blkback/req.c blkback/pgrant.c blkback/engine.c \
	blkback/worker.c
blkback_libensoblkback_la_CFLAGS = $(AM_CFLAGS) $(LIBURING_CFLAGS)
blkback_libensoblkback_la_LIBADD = xenbus/libensoxenbus.la \
	util/libensoutil.la $(LIBURING_LIBS)

sbin_PROGRAMS += blkback/enso-blkback
blkback_enso_blkback_SOURCES = blkback/main.c
blkback_enso_blkback_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
blkback_enso_blkback_LDADD = blkback/libensoblkback.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS) \
	$(LIBURING_LIBS)
