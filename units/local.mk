# D-Bus introspection XML, system bus policy, polkit action (io.deepactif.Daemon1(5)).
# Their directories come from configure (pkg-config, --with-*).
dist_dbusinterfaces_DATA = units/io.deepactif.Daemon1.xml
dist_dbussystem_DATA = units/io.deepactif.Daemon1.conf
dist_polkitaction_DATA = units/io.deepactif.manage.policy

# The service, its varlink socket, D-Bus activation, the system user, and
# the udev rules that mark eye trackers and start the service.
systemdsystemunit_DATA = units/deepactifd.service units/deepactif-bridge@.service
dist_systemdsystemunit_DATA = units/deepactifd.socket
dist_dbussystemservice_DATA = units/io.deepactif.Daemon1.service
udevrulesdir = $(udevdir)/rules.d
dist_udevrules_DATA = units/70-deepactif.rules units/60-deepactif-bridge.rules
udevhwdbdir = $(udevdir)/hwdb.d
dist_udevhwdb_DATA = units/60-deepactif.hwdb
dist_sysusers_DATA = units/sysusers.d/deepactif.conf units/sysusers.d/deepactif-bridge.conf
dist_tmpfiles_DATA = units/tmpfiles.d/deepactif.conf
# What journalctl -x says about deepactifd's events.
dist_catalog_DATA = units/deepactif.catalog

# The udev helper that reads a HID report descriptor (70-deepactif.rules).
udev_PROGRAMS = daemon/deepactif-hid-probe
daemon_deepactif_hid_probe_SOURCES = daemon/hid-probe.c
daemon_deepactif_hid_probe_LDADD = daemon/libhid.la lib/libdeepactif.la

# Paths substituted at make time, so they follow --prefix and friends.
units_edit = $(SED) -e 's|@sbindir[@]|$(sbindir)|g'
units/deepactifd.service: units/deepactifd.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) units && $(units_edit) $(srcdir)/units/deepactifd.service.in > $@.tmp && mv $@.tmp $@

units/deepactif-bridge@.service: units/deepactif-bridge@.service.in Makefile
	$(AM_V_GEN)$(MKDIR_P) units && $(units_edit) '$(srcdir)/units/deepactif-bridge@.service.in' > '$@.tmp' && mv '$@.tmp' '$@'

EXTRA_DIST += units/deepactifd.service.in units/deepactif-bridge@.service.in
CLEANFILES += units/deepactifd.service units/deepactif-bridge@.service

# distcheck installs as a user under its own prefix.
AM_DISTCHECK_CONFIGURE_FLAGS = \
	--with-systemdsystemunitdir='$${dc_install_base}/lib/systemd/system' \
	--with-sysusersdir='$${dc_install_base}/lib/sysusers.d' \
	--with-tmpfilesdir='$${dc_install_base}/lib/tmpfiles.d' \
	--with-catalogdir='$${dc_install_base}/lib/systemd/catalog' \
	--with-udevdir='$${dc_install_base}/lib/udev' \
	--with-dbussystemservicedir='$${dc_install_base}/share/dbus-1/system-services' \
	--with-dbusinterfacesdir='$${dc_install_base}/share/dbus-1/interfaces' \
	--with-dbussystemdir='$${dc_install_base}/share/dbus-1/system.d' \
	--with-polkitactiondir='$${dc_install_base}/share/polkit-1/actions' \
	--with-bashcompletiondir='$${dc_install_base}/share/bash-completion/completions' \
	--with-zshcompletiondir='$${dc_install_base}/share/zsh/vendor-completions'
