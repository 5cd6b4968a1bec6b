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

tests_host_xs_hostile_SOURCES = tests/host/xs_hostile.c tests/host/rawxs.c \
	tests/host/rawxs.h
tests_host_xs_hostile_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)

# The limits a hostile client must not get past: each finding of issue 10.
tests_host_xs_limits_SOURCES = tests/host/xs_limits.c tests/host/rawxs.c \
	tests/host/rawxs.h
tests_host_xs_limits_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)

# Live update driven by upstream's xenstore-control.
tests_host_xs_liveupdate_SOURCES = tests/host/xs_liveupdate.c tests/host/rawxs.c \
	tests/host/rawxs.h
tests_host_xs_liveupdate_CFLAGS = $(AM_CFLAGS) $(XENSTORE_CFLAGS)

EXTRA_DIST += tests/host/run-xenstored.sh tests/host/xenstore_utils.sh \
	tests/host/upstream_test_xenstore.sh tests/host/persist.sh
