# consoled: the PV console backend (ring <-> pty, guest logs).  The daemon
# is a library (guest memory and event channels through the xenbus
# transport), so that a host test runs it over the shm transport
# (tests/host/console_front.c); main.c is the program around it.  The ring
# arithmetic and the log formatting are pure, so the unit test links them
# without Xen.
noinst_LTLIBRARIES += consoled/libensoconsoled.la
consoled_libensoconsoled_la_SOURCES = consoled/consoled.h consoled/daemon.c \
	consoled/console.c consoled/glog.c consoled/ring.h consoled/ring.c
consoled_libensoconsoled_la_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
consoled_libensoconsoled_la_LIBADD = xenbus/libensoxenbus.la \
	util/libensoutil.la $(XENSTORE_LIBS)

sbin_PROGRAMS += consoled/consoled
consoled_consoled_SOURCES = consoled/main.c
consoled_consoled_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
consoled_consoled_LDADD = consoled/libensoconsoled.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS)

check_PROGRAMS += consoled/test-consoled
consoled_test_consoled_SOURCES = consoled/test-consoled.c consoled/ring.h \
	consoled/ring.c consoled/glog.c consoled/consoled.h
consoled_test_consoled_CFLAGS = $(AM_CFLAGS)
consoled_test_consoled_LDADD = util/libensoutil.la
