# xenbus/: the device-backend core blkback, netback and consoled share
# (xenbus/xenbus.h; docs/design/xenbus.md).  The Xen transport is built on
# every host; only the rig runs it.
noinst_LTLIBRARIES += xenbus/libensoxenbus.la
xenbus_libensoxenbus_la_SOURCES = xenbus/xenbus.h xenbus/private.h \
	xenbus/state.c xenbus/core.c xenbus/dev.c \
	xenbus/transport.c xenbus/shm.c xenbus/xen.c \
	xenbus/worker.c xenbus/seccomp.c xenbus/daemon.c
xenbus_libensoxenbus_la_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS) \
	$(XENEVTCHN_CFLAGS) $(XENGNTTAB_CFLAGS) $(XENFOREIGNMEMORY_CFLAGS)
xenbus_libensoxenbus_la_LIBADD = util/libensoutil.la $(XENSTORE_LIBS) \
	$(XENEVTCHN_LIBS) $(XENGNTTAB_LIBS) $(XENFOREIGNMEMORY_LIBS)
