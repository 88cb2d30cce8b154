# deepactif-bridge: Pupil Capture's Network API (libzmq, msgpack-c) to an
# evdev device through /dev/uinput (libevdev), or to an evemu recording. It
# shares the daemon's evdev axis profile and the channel table, compiled in
# rather than linking libdeepactif to keep the resident set small, and
# logging (common/).
sbin_PROGRAMS += bridge/deepactif-bridge

# The msgpack gaze decoder alone, for the bridge, its tests and fuzz target.
noinst_LTLIBRARIES += bridge/libpupil.la
bridge_libpupil_la_SOURCES = \
	bridge/pupil-gaze.h \
	bridge/pupil-gaze.c
bridge_libpupil_la_CFLAGS = $(AM_CFLAGS) $(MSGPACK_CFLAGS)
bridge_libpupil_la_LIBADD = $(MSGPACK_LIBS)

bridge_deepactif_bridge_SOURCES = \
	bridge/bridge.c \
	bridge/pupil-remote.h \
	bridge/pupil-remote.c \
	bridge/gaze-output.h \
	bridge/gaze-output.c \
	daemon/evdev-profile.h \
	daemon/evdev-profile.c \
	lib/channels.c
bridge_deepactif_bridge_CFLAGS = $(AM_CFLAGS) -I$(top_srcdir)/daemon $(ZMQ_CFLAGS) $(LIBEVDEV_CFLAGS) \
	$(EVEMU_CFLAGS) $(LIBSYSTEMD_CFLAGS)
bridge_deepactif_bridge_LDADD = bridge/libpupil.la common/libcommon.la $(ZMQ_LIBS) $(LIBEVDEV_LIBS) $(EVEMU_LIBS) \
	$(LIBSYSTEMD_LIBS) -lm

# The Pupil Capture stand-in the bridge's tests and benchmark talk to.
check_PROGRAMS += tests/pupil-standin
tests_pupil_standin_SOURCES = tests/pupil-standin.c
tests_pupil_standin_CFLAGS = $(AM_CFLAGS) $(ZMQ_CFLAGS) $(MSGPACK_CFLAGS)
tests_pupil_standin_LDADD = lib/libdeepactif.la $(ZMQ_LIBS) $(MSGPACK_LIBS) -lm

# The bridge end to end: its evemu output ranked by the real daemon like the
# source recording; malformed messages and Pupil Capture restarts.
TESTS += tests/test-bridge-ranking.sh tests/test-bridge-network.sh
EXTRA_DIST += tests/test-bridge-ranking.sh tests/test-bridge-network.sh

# The bridge's latency, frame loss and memory figures (tests/bench-bridge.sh).
bench-bridge: bridge/deepactif-bridge tests/pupil-standin
	top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) $(top_srcdir)/tests/bench-bridge.sh
.PHONY: bench-bridge
EXTRA_DIST += tests/bench-bridge.sh
