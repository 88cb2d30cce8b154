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
