# hotplug/: the host side of devices (hotplug/hotplug.h;
# docs/design/hotplug.md): links, taps, vif plumbing and rate limits
# through netlink (libnl-3), loop devices, users' hotplug scripts.
noinst_LTLIBRARIES += hotplug/libensohotplug.la
hotplug_libensohotplug_la_SOURCES = hotplug/hotplug.h hotplug/private.h \
	hotplug/link.c hotplug/tap.c hotplug/vif.c hotplug/rate.c \
	hotplug/loop.c hotplug/script.c
hotplug_libensohotplug_la_CFLAGS = $(AM_CFLAGS) $(LIBNL_CFLAGS)
hotplug_libensohotplug_la_LIBADD = $(LIBNL_LIBS)
