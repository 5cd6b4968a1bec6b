# Everything but main() lives in a convenience library, so the unit tests
# link the very code the daemon runs.
noinst_LTLIBRARIES += xenstored/libxenstored.la
xenstored_libxenstored_la_SOURCES = xenstored/core.h \
	xenstored/store.c xenstored/intern.c xenstored/pool.c xenstored/perms.c xenstored/path.c xenstored/txn.c xenstored/txn_quota.c \
	xenstored/watch.c xenstored/quota.c xenstored/conn.c \
	xenstored/handlers.c xenstored/control.c xenstored/domain.c xenstored/forget.c \
	xenstored/trace.c xenstored/msgname.c xenstored/liveupdate.c xenstored/persist.h xenstored/persist.c \
	xenstored/persist_rec.c xenstored/persist_write.c xenstored/persist_load.c
xenstored_libxenstored_la_CFLAGS = $(AM_CFLAGS) $(XENCTRL_CFLAGS) \
	$(XENEVTCHN_CFLAGS) $(XENGNTTAB_CFLAGS) $(XENFOREIGNMEMORY_CFLAGS)
xenstored_libxenstored_la_LIBADD = util/libensoutil.la $(XENCTRL_LIBS) \
	$(XENEVTCHN_LIBS) $(XENGNTTAB_LIBS) $(XENFOREIGNMEMORY_LIBS)

sbin_PROGRAMS += xenstored/xenstored
xenstored_xenstored_SOURCES = xenstored/main.c
xenstored_xenstored_LDADD = xenstored/libxenstored.la
