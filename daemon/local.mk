bin_PROGRAMS += daemon/deepactifctl

daemon_deepactifctl_SOURCES = \
	daemon/ctl.h \
	daemon/ctl.c \
	daemon/ctl-model.c \
	daemon/ctl-bench.c
daemon_deepactifctl_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS)
daemon_deepactifctl_LDADD = lib/libdeepactif.la $(JSONC_LIBS) -lm

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
