# Unit tests: cmocka, one program per xenstored module, each linked with the
# daemon's own code (xenstored/libxenstored.la).  Run them with
# tests/unit/run.sh (TAP lines, see tests/README.md).
UNIT_TESTS = tests/unit/test_store tests/unit/test_perms \
	tests/unit/test_path tests/unit/test_txn tests/unit/test_watch \
	tests/unit/test_wire tests/unit/test_limits tests/unit/test_kcache \
	tests/unit/test_acpi tests/unit/test_persist
check_PROGRAMS += $(UNIT_TESTS)

UNIT_COMMON = tests/unit/unit.c tests/unit/unit.h
UNIT_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/xenstored
UNIT_LDADD = xenstored/libxenstored.la $(CMOCKA_LIBS)

tests_unit_test_store_SOURCES = tests/unit/test_store.c $(UNIT_COMMON)
tests_unit_test_store_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_store_LDADD = $(UNIT_LDADD)

tests_unit_test_perms_SOURCES = tests/unit/test_perms.c $(UNIT_COMMON)
tests_unit_test_perms_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_perms_LDADD = $(UNIT_LDADD)

tests_unit_test_path_SOURCES = tests/unit/test_path.c $(UNIT_COMMON)
tests_unit_test_path_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_path_LDADD = $(UNIT_LDADD)

tests_unit_test_txn_SOURCES = tests/unit/test_txn.c $(UNIT_COMMON)
tests_unit_test_txn_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_txn_LDADD = $(UNIT_LDADD)

tests_unit_test_watch_SOURCES = tests/unit/test_watch.c $(UNIT_COMMON)
tests_unit_test_watch_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_watch_LDADD = $(UNIT_LDADD)

tests_unit_test_wire_SOURCES = tests/unit/test_wire.c $(UNIT_COMMON)
tests_unit_test_wire_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_wire_LDADD = $(UNIT_LDADD)

tests_unit_test_persist_SOURCES = tests/unit/test_persist.c $(UNIT_COMMON)
tests_unit_test_persist_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_persist_LDADD = $(UNIT_LDADD)

tests_unit_test_limits_SOURCES = tests/unit/test_limits.c $(UNIT_COMMON)
tests_unit_test_limits_CFLAGS = $(UNIT_CFLAGS)
tests_unit_test_limits_LDADD = $(UNIT_LDADD)

EXTRA_DIST += tests/unit/run.sh

# libxl's kernel cache and bzImage unpacker: their own files, compiled in;
# they need the Xen headers (runtime.h) but no Xen.
tests_unit_test_kcache_SOURCES = tests/unit/test_kcache.c libxl/kcache.c libxl/bzimage.c
tests_unit_test_kcache_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	-I$(top_srcdir)/libxl $(XENSTORE_CFLAGS) $(XENCTRL_CFLAGS) \
	$(XENGUEST_CFLAGS) $(XENTOOLLOG_CFLAGS) $(YAJL_CFLAGS) $(LZMA_CFLAGS) \
	$(ZLIB_CFLAGS)
tests_unit_test_kcache_LDADD = util/libensoutil.la $(CMOCKA_LIBS) $(LZMA_LIBS) $(ZLIB_LIBS)

# The PVH guest's ACPI tables: a pure function of the vCPU counts.
tests_unit_test_acpi_SOURCES = tests/unit/test_acpi.c backends/xen/acpi.c
tests_unit_test_acpi_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) -I$(top_srcdir)/libxl \
	$(XENSTORE_CFLAGS) \
	$(XENCTRL_CFLAGS) $(XENGUEST_CFLAGS) $(XENTOOLLOG_CFLAGS) $(YAJL_CFLAGS)
tests_unit_test_acpi_LDADD = $(CMOCKA_LIBS)

# The QMP client and the backend's reading of replies, against a fake
# QEMU that lies (a QEMU may be its guest's).
check_PROGRAMS += tests/unit/test_qmp
tests_unit_test_qmp_SOURCES = tests/unit/test_qmp.c backends/kvm/qmp.c \
	backends/kvm/replies.c backends/kvm/kvm.h
tests_unit_test_qmp_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(YAJL_CFLAGS) \
	-I$(top_srcdir)/libxl
tests_unit_test_qmp_LDADD = util/libensoutil.la $(CMOCKA_LIBS) $(YAJL_LIBS)

# The xenbus core's state machine: a pure function, tested as a table.
check_PROGRAMS += tests/unit/test_xenbus_state
tests_unit_test_xenbus_state_SOURCES = tests/unit/test_xenbus_state.c
tests_unit_test_xenbus_state_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_xenbus_state_LDADD = xenbus/libensoxenbus.la \
	util/libensoutil.la $(CMOCKA_LIBS)

# blkback's ring in both ABIs and its request checks: pure, hand-made slots.
check_PROGRAMS += tests/unit/test_blkback_req
tests_unit_test_blkback_req_SOURCES = tests/unit/test_blkback_req.c
tests_unit_test_blkback_req_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	$(LIBURING_CFLAGS)
tests_unit_test_blkback_req_LDADD = blkback/libensoblkback.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS) \
	$(LIBURING_LIBS) $(CMOCKA_LIBS)

# netback's checksum placement from a frame's headers: pure, hand-made frames.
check_PROGRAMS += tests/unit/test_netback_pkt
tests_unit_test_netback_pkt_SOURCES = tests/unit/test_netback_pkt.c
tests_unit_test_netback_pkt_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_netback_pkt_LDADD = netback/libensonetback.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS) \
	$(CMOCKA_LIBS)

# netback's Toeplitz hash against Microsoft's RSS verification vectors,
# the hash of whole frames, the queue it picks; the multicast filter.
check_PROGRAMS += tests/unit/test_netback_hash
tests_unit_test_netback_hash_SOURCES = tests/unit/test_netback_hash.c \
	tests/unit/rss_vectors.h
tests_unit_test_netback_hash_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_netback_hash_LDADD = netback/libensonetback.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS) \
	$(CMOCKA_LIBS)

# The save file's header (libxl/savefile.c), through its public calls:
# round trips and every malformed header refused by its message.  Its
# files compiled in, as test_kcache's: a real program (no libtool
# wrapper), which run.sh can tell is ASan's.
check_PROGRAMS += tests/unit/test_savefile
tests_unit_test_savefile_SOURCES = tests/unit/test_savefile.c \
	libxl/savefile.c libxl/error.c
tests_unit_test_savefile_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxl \
	-I$(top_srcdir)/util
tests_unit_test_savefile_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_savefile_LDADD = util/libensoutil.la $(CMOCKA_LIBS)

# libxl's migration stream v2 (backends/xen/stream.c), the envelope of a
# Xen save file: round trips, the spec's layout, and every malformed
# stream refused by its message.  Needs no Xen.
check_PROGRAMS += tests/unit/test_stream
tests_unit_test_stream_SOURCES = tests/unit/test_stream.c \
	backends/xen/stream.c libxl/error.c
tests_unit_test_stream_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxl \
	-I$(top_srcdir)/util
tests_unit_test_stream_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS)
tests_unit_test_stream_LDADD = util/libensoutil.la $(CMOCKA_LIBS)

# Xen live migration's precopy policy (backends/xen/precopy.c), pure.
check_PROGRAMS += tests/unit/test_precopy
tests_unit_test_precopy_SOURCES = tests/unit/test_precopy.c \
	backends/xen/precopy.c
tests_unit_test_precopy_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxl
tests_unit_test_precopy_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	$(XENCTRL_CFLAGS) $(XENGUEST_CFLAGS) $(XENTOOLLOG_CFLAGS) $(XENSTORE_CFLAGS)
tests_unit_test_precopy_LDADD = $(CMOCKA_LIBS)

# The Xen backend's helper process (backends/xen/helper.c): its parent
# survives every way the child can end.  libxenctrl's open and close are
# stood in for by the test, so it needs no Xen.
check_PROGRAMS += tests/unit/test_helper
tests_unit_test_helper_SOURCES = tests/unit/test_helper.c \
	backends/xen/helper.c libxl/error.c
tests_unit_test_helper_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxl
tests_unit_test_helper_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) \
	$(XENCTRL_CFLAGS) $(XENGUEST_CFLAGS) $(XENTOOLLOG_CFLAGS) $(XENSTORE_CFLAGS)
tests_unit_test_helper_LDADD = $(CMOCKA_LIBS)

# The KVM device layout a stream carries (backends/kvm/layout.c), pure:
# round trips, the check against the config, every hostile text refused.
check_PROGRAMS += tests/unit/test_kvm_layout
tests_unit_test_kvm_layout_SOURCES = tests/unit/test_kvm_layout.c \
	backends/kvm/layout.c libxl/error.c
tests_unit_test_kvm_layout_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/libxl
tests_unit_test_kvm_layout_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(YAJL_CFLAGS)
tests_unit_test_kvm_layout_LDADD = util/libensoutil.la $(CMOCKA_LIBS)
