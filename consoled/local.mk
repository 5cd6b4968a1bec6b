# consoled: the PV console backend (ring <-> pty, guest logs).
# The ring arithmetic and the log formatting are pure, so the unit test
# links them without Xen.
sbin_PROGRAMS += consoled/consoled
consoled_consoled_SOURCES = consoled/consoled.h consoled/main.c \
	consoled/console.c consoled/glog.c consoled/ring.h consoled/ring.c
consoled_consoled_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS) \
	$(XENEVTCHN_CFLAGS) $(XENGNTTAB_CFLAGS) $(XENFOREIGNMEMORY_CFLAGS)
consoled_consoled_LDADD = util/libensoutil.la $(XENSTORE_LIBS) \
	$(XENEVTCHN_LIBS) $(XENGNTTAB_LIBS) $(XENFOREIGNMEMORY_LIBS)

check_PROGRAMS += consoled/test-consoled
consoled_test_consoled_SOURCES = consoled/test-consoled.c consoled/ring.h \
	consoled/ring.c consoled/glog.c consoled/consoled.h
consoled_test_consoled_CFLAGS = $(AM_CFLAGS)
consoled_test_consoled_LDADD = util/libensoutil.la
