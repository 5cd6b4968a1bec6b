# netback/: the network backend, the "vif" engine on the xenbus core
# (netback/netback.h; docs/design/netback.md), and its daemon.
noinst_LTLIBRARIES += netback/libensonetback.la
netback_libensonetback_la_SOURCES = netback/netback.h netback/private.h \
	netback/engine.c netback/tap.c netback/queue.c netback/tx.c \
	netback/rx.c netback/pkt.c netback/ctrl.c netback/hash.c \
	netback/mcast.c
netback_libensonetback_la_LIBADD = xenbus/libensoxenbus.la \
	util/libensoutil.la

sbin_PROGRAMS += netback/enso-netback
netback_enso_netback_SOURCES = netback/main.c
netback_enso_netback_LDADD = netback/libensonetback.la \
	xenbus/libensoxenbus.la util/libensoutil.la $(XENSTORE_LIBS)
