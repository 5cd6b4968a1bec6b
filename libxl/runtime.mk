# libensoxl's running-domain half and the hypervisor backends behind it.
libxl_libensoxl_la_SOURCES += libxl/runtime.h \
	libxl/ctx.c libxl/records.c libxl/domain.c libxl/monitor.c \
	backends/backend.h backends/xen/xen.c \
	backends/kvm/kvm.h backends/kvm/kvm.c backends/kvm/qmp.c \
	backends/kvm/accel.c
libxl_libensoxl_la_CFLAGS += $(XENSTORE_CFLAGS)
libxl_libensoxl_la_LIBADD += $(XENSTORE_LIBS)
