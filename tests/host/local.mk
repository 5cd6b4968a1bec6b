# Host tests: the daemons against real clients (see tests/README.md).
# Run them with tests/host/run-xenstored.sh [xenstored/xenstored].
check_PROGRAMS += tests/host/xs_client tests/host/xs_hostile tests/host/xs_limits \
	tests/host/xs_liveupdate \
	tests/host/xs_persist

tests_host_xs_client_SOURCES = tests/host/xs_client.c
tests_host_xs_client_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
tests_host_xs_client_LDADD = $(XENSTORE_LIBS)

tests_host_xs_persist_SOURCES = tests/host/xs_persist.c
tests_host_xs_persist_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
tests_host_xs_persist_LDADD = $(XENSTORE_LIBS)

# The raw client prints message names from the daemon's list (msgname.c,
# which needs nothing else of it).
RAWXS = tests/host/rawxs.c tests/host/rawxs.h xenstored/msgname.c
RAWXS_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS) -I$(top_srcdir)/xenstored

tests_host_xs_hostile_SOURCES = tests/host/xs_hostile.c $(RAWXS)
tests_host_xs_hostile_CFLAGS = $(RAWXS_CFLAGS)

# The limits a hostile client must not get past: each finding of issue 10.
tests_host_xs_limits_SOURCES = tests/host/xs_limits.c $(RAWXS)
tests_host_xs_limits_CFLAGS = $(RAWXS_CFLAGS)

# Live update driven by upstream's xenstore-control.
tests_host_xs_liveupdate_SOURCES = tests/host/xs_liveupdate.c $(RAWXS)
tests_host_xs_liveupdate_CFLAGS = $(RAWXS_CFLAGS)

EXTRA_DIST += tests/host/run-xenstored.sh tests/host/xenstore_utils.sh \
	tests/host/upstream_test_xenstore.sh tests/host/persist.sh

# The xenbus core's handshake, driven by a frontend of the test's own over
# the shm transport (no Xen): tests/host/xb_echo.c.
# xbtest.c is what the engines' host tests share: the toolstack's and the
# frontends' side, the backend's loop.
XBTEST = tests/host/xbtest.c tests/host/xbtest.h
check_PROGRAMS += tests/host/xb_echo
tests_host_xb_echo_SOURCES = tests/host/xb_echo.c $(XBTEST)
tests_host_xb_echo_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
tests_host_xb_echo_LDADD = xenbus/libensoxenbus.la util/libensoutil.la \
	$(XENSTORE_LIBS)

# blkback's engine served to a blkif frontend of the test's own, a real
# temporary file as the disk: tests/host/blk_front.c.
check_PROGRAMS += tests/host/blk_front
tests_host_blk_front_SOURCES = tests/host/blk_front.c tests/host/blk_ring.c \
	tests/host/blk_ring.h $(XBTEST)
tests_host_blk_front_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS) \
	$(LIBURING_CFLAGS)
tests_host_blk_front_LDADD = blkback/libensoblkback.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS) \
	$(LIBURING_LIBS)

# consoled's daemon served to PV console guests of the test's own over the
# shm transport (no Xen): tests/host/console_front.c, run by consoled.sh.
EXTRA_DIST += tests/host/consoled.sh
check_PROGRAMS += tests/host/console_front
tests_host_console_front_SOURCES = tests/host/console_front.c $(XBTEST)
tests_host_console_front_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
tests_host_console_front_LDADD = consoled/libensoconsoled.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS)

# hotplug/ (links, taps, vif plumbing, rate limits, loop devices, script
# hooks) in a network namespace of the test's own: tests/host/hotplug.c,
# run by hotplug.sh.
EXTRA_DIST += tests/host/hotplug.sh
check_PROGRAMS += tests/host/hotplug
tests_host_hotplug_SOURCES = tests/host/hotplug.c tests/host/hotplug_rate.c \
	tests/host/hotplug_test.h
tests_host_hotplug_LDADD = hotplug/libensohotplug.la
# netback's engine served to a netif frontend of the test's own over shm,
# with real taps in a network namespace of the test's own (root):
# tests/host/net_front.c.
check_PROGRAMS += tests/host/net_front
tests_host_net_front_SOURCES = tests/host/net_front.c tests/host/net_hostile.c \
	tests/host/net_ctrl.c tests/host/net_ring.c tests/host/net_ring.h \
	tests/unit/rss_vectors.h $(XBTEST)
tests_host_net_front_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)
tests_host_net_front_LDADD = netback/libensonetback.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS)
