sbin_PROGRAMS += xenstored/xenstored
xenstored_xenstored_SOURCES = xenstored/core.h xenstored/main.c \
	xenstored/store.c xenstored/perms.c xenstored/path.c xenstored/txn.c \
	xenstored/watch.c xenstored/quota.c xenstored/conn.c \
	xenstored/handlers.c xenstored/control.c xenstored/domain.c
xenstored_xenstored_CFLAGS = $(AM_CFLAGS) $(XENCTRL_CFLAGS) \
	$(XENEVTCHN_CFLAGS) $(XENGNTTAB_CFLAGS) $(XENFOREIGNMEMORY_CFLAGS)
xenstored_xenstored_LDADD = util/libensoutil.la $(XENCTRL_LIBS) \
	$(XENEVTCHN_LIBS) $(XENGNTTAB_LIBS) $(XENFOREIGNMEMORY_LIBS)
