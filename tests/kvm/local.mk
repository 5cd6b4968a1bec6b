# tests/kvm: programs the KVM suite runs beside xl.
# nic_plug drives the backend's NIC hot-plug ops directly; libensoxl's
# sources are compiled in (the library exports enso_* only).
check_PROGRAMS += tests/kvm/nic_plug
tests_kvm_nic_plug_SOURCES = tests/kvm/nic_plug.c $(libxl_libensoxl_la_SOURCES)
tests_kvm_nic_plug_CPPFLAGS = $(libxl_libensoxl_la_CPPFLAGS)
tests_kvm_nic_plug_CFLAGS = $(libxl_libensoxl_la_CFLAGS)
tests_kvm_nic_plug_LDADD = $(libxl_libensoxl_la_LIBADD)
EXTRA_DIST += tests/kvm/run.sh tests/kvm/common.sh tests/kvm/lifecycle.sh \
	tests/kvm/net.sh tests/kvm/police.sh tests/kvm/save.sh
