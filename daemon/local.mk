# HID report descriptors, the eye-tracker report decoder and hid-recorder
# files: no kernel needed, so the daemon, tests and fuzzers share them.
noinst_LTLIBRARIES += daemon/libhid.la
daemon_libhid_la_SOURCES = \
	daemon/hid-descriptor.h \
	daemon/hid-descriptor.c \
	daemon/hid-eyetracker.h \
	daemon/hid-eyetracker.c \
	daemon/hid-recording.h \
	daemon/hid-recording.c

# The SQLite store of ranking snapshots; a library so the tests link it.
noinst_LTLIBRARIES += daemon/libstore.la
daemon_libstore_la_SOURCES = \
	daemon/store.h \
	daemon/store.c \
	daemon/store-export.h \
	daemon/store-export.c
daemon_libstore_la_CFLAGS = $(AM_CFLAGS) $(SQLITE_CFLAGS) $(JSONC_CFLAGS)
daemon_libstore_la_LIBADD = $(SQLITE_LIBS) $(JSONC_LIBS) -lm

# The daemon: sd-event loop, configuration, per-device pipeline, sources.
sbin_PROGRAMS += daemon/deepactifd
daemon_deepactifd_SOURCES = \
	daemon/main.c \
	daemon/config.h \
	daemon/config.c \
	daemon/manager.h \
	daemon/manager.c \
	daemon/device.h \
	daemon/device.c \
	daemon/channel-mask.h \
	daemon/channel-mask.c \
	daemon/event.h \
	daemon/device-events.h \
	daemon/device-events.c \
	daemon/event-journal.h \
	daemon/event-journal.c \
	daemon/metrics.h \
	daemon/metrics.c \
	daemon/source.h \
	daemon/source.c \
	daemon/source-replay.c \
	daemon/source-evemu.c \
	daemon/source-hid-recorder.c \
	daemon/source-node.h \
	daemon/source-node.c \
	daemon/source-evdev.c \
	daemon/source-hidraw.c \
	daemon/kernel-uevent.h \
	daemon/kernel-uevent.c \
	daemon/device-watch.h \
	daemon/device-watch.c \
	daemon/evdev-profile.h \
	daemon/evdev-profile.c \
	daemon/bus.h \
	daemon/bus-manager.h \
	daemon/bus-device.h \
	daemon/bus-polkit.h \
	daemon/bus.c \
	daemon/bus-manager.c \
	daemon/bus-device.c \
	daemon/bus-polkit.c \
	daemon/export-pipe.h \
	daemon/export-pipe.c \
	daemon/varlink-manager.h \
	daemon/varlink-manager.c
daemon_deepactifd_CFLAGS = $(AM_CFLAGS) $(LIBSYSTEMD_CFLAGS) $(LIBEVDEV_CFLAGS) $(EVEMU_CFLAGS) \
	$(INIH_CFLAGS) $(SQLITE_CFLAGS) $(JSONC_CFLAGS)
daemon_deepactifd_LDADD = lib/libdeepactif.la common/libcommon.la daemon/libhid.la daemon/libstore.la daemon/libvarlink.la \
	$(JSONC_LIBS) $(LIBSYSTEMD_LIBS) $(LIBEVDEV_LIBS) $(EVEMU_LIBS) $(INIH_LIBS) $(SQLITE_LIBS) -lm

# The varlink server; a library so its tests and fuzz target link it.
noinst_LTLIBRARIES += daemon/libvarlink.la
daemon_libvarlink_la_SOURCES = \
	daemon/varlink.h \
	daemon/varlink.c
daemon_libvarlink_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS)
daemon_libvarlink_la_LIBADD = $(JSONC_LIBS) $(LIBSYSTEMD_LIBS)
