# libensoxl's running-domain half and the hypervisor backends behind it.
libxl_libensoxl_la_SOURCES += libxl/runtime.h \
	libxl/ctx.c libxl/records.c libxl/prepare.c libxl/kcache.c libxl/bzimage.c libxl/domain.c libxl/domctl.c libxl/dominfo.c libxl/monitor.c libxl/vcpu.c libxl/intent.c libxl/device.c libxl/devlist.c libxl/vifplumb.c libxl/save.c libxl/migrate.c \
	backends/backend.h backends/xen/xen.h backends/xen/xen.c \
	backends/xen/acpi.c backends/xen/build.c backends/xen/info.c backends/xen/sched.c backends/xen/vcpu.c backends/xen/vbd.c backends/xen/vif.c backends/xen/pvdev.c backends/xen/store.c \
	backends/xen/stream.h backends/xen/stream.c backends/xen/helper.c backends/xen/save.c backends/xen/migrate.c backends/xen/precopy.c \
	backends/kvm/kvm.h backends/kvm/kvm.c backends/kvm/qmp.c backends/kvm/affinity.c backends/kvm/replies.c \
	backends/kvm/accel.c backends/kvm/cmdline.c backends/kvm/qemu.c backends/kvm/vcpus.c backends/kvm/disk.c backends/kvm/nic.c backends/kvm/save.c backends/kvm/migrate.c \
	backends/kvm/layout.c backends/kvm/ports.c
libxl_libensoxl_la_CFLAGS += $(XENSTORE_CFLAGS)
libxl_libensoxl_la_LIBADD += $(XENSTORE_LIBS)
libxl_libensoxl_la_CFLAGS += $(XENCTRL_CFLAGS) $(XENGUEST_CFLAGS) \
	$(XENTOOLLOG_CFLAGS)
libxl_libensoxl_la_LIBADD += $(XENCTRL_LIBS) $(XENGUEST_LIBS) \
	$(XENTOOLLOG_LIBS)
# save.c kicks a guest's own suspend event channel.
libxl_libensoxl_la_CFLAGS += $(XENEVTCHN_CFLAGS)
libxl_libensoxl_la_LIBADD += $(XENEVTCHN_LIBS)
# mkdir_p, xen_control_domain: shared with the daemons (not exported).
libxl_libensoxl_la_LIBADD += util/libensoutil.la
# bzimage.c: the kernel payloads Enso unpacks itself (xz, gzip).
libxl_libensoxl_la_CFLAGS += $(LZMA_CFLAGS) $(ZLIB_CFLAGS)
libxl_libensoxl_la_LIBADD += $(LZMA_LIBS) $(ZLIB_LIBS)
# vbd.c starts enso-blkback from where make install puts it.
libxl_libensoxl_la_CFLAGS += -DENSO_SBINDIR='"$(sbindir)"'
# vifplumb.c: a vif's host side through hotplug/, users' scripts from
# Enso's own script directory (never upstream's /etc/xen/scripts).
libxl_libensoxl_la_LIBADD += hotplug/libensohotplug.la
libxl_libensoxl_la_CFLAGS += -DENSO_SCRIPTDIR='"$(sysconfdir)/enso/scripts"'
