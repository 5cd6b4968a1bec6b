# systemd units, with the install paths filled in.
systemdunitdir = $(prefix)/lib/systemd/system
systemdunit_DATA = systemd/enso-xenstored.service systemd/enso-consoled.service \
	systemd/enso-monitor.service systemd/enso-blkback.service \
	systemd/enso-netback.service
CLEANFILES = $(systemdunit_DATA)
EXTRA_DIST += systemd/enso-xenstored.service.in systemd/enso-consoled.service.in \
	systemd/enso-monitor.service.in systemd/enso-blkback.service.in \
	systemd/enso-netback.service.in

edit_unit = mkdir -p systemd && sed -e 's|@sbindir[@]|$(sbindir)|g'

systemd/enso-xenstored.service: $(srcdir)/systemd/enso-xenstored.service.in Makefile
	$(AM_V_GEN)$(edit_unit) $(srcdir)/systemd/enso-xenstored.service.in >$@
systemd/enso-consoled.service: $(srcdir)/systemd/enso-consoled.service.in Makefile
	$(AM_V_GEN)$(edit_unit) $(srcdir)/systemd/enso-consoled.service.in >$@
systemd/enso-monitor.service: $(srcdir)/systemd/enso-monitor.service.in Makefile
	$(AM_V_GEN)$(edit_unit) $(srcdir)/systemd/enso-monitor.service.in >$@
systemd/enso-blkback.service: $(srcdir)/systemd/enso-blkback.service.in Makefile
	$(AM_V_GEN)$(edit_unit) $(srcdir)/systemd/enso-blkback.service.in >$@
systemd/enso-netback.service: $(srcdir)/systemd/enso-netback.service.in Makefile
	$(AM_V_GEN)$(edit_unit) $(srcdir)/systemd/enso-netback.service.in >$@
