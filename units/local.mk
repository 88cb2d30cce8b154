# D-Bus introspection XML, system bus policy, polkit action (io.deepactif.Daemon1(5)).
dbusinterfacesdir = $(datadir)/dbus-1/interfaces
dist_dbusinterfaces_DATA = units/io.deepactif.Daemon1.xml
dbussystemdir = $(datadir)/dbus-1/system.d
dist_dbussystem_DATA = units/io.deepactif.Daemon1.conf
polkitactiondir = $(datadir)/polkit-1/actions
dist_polkitaction_DATA = units/io.deepactif.manage.policy
