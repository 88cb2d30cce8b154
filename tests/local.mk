# Unit tests use Check; each program prints Check's summary line and the
# automake test driver collects them. Exit 77 means skipped, with a reason.
TEST_CFLAGS = $(AM_CFLAGS) $(CHECK_CFLAGS) $(JSONC_CFLAGS) -DTEST_SRCDIR=\"$(abs_top_srcdir)/tests\" \
	-DTOP_BUILDDIR=\"$(abs_top_builddir)\"
TEST_LDADD = lib/libdeepactif-internal.la $(CHECK_LIBS) $(JSONC_LIBS) -lm

AM_TESTS_ENVIRONMENT = \
	export top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir); \
	export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1; \
	export CK_DEFAULT_TIMEOUT=600;

if HAVE_CHECK
check_PROGRAMS += \
	tests/test-model-file \
	tests/test-lstm-torch

TESTS += \
	tests/test-model-file \
	tests/test-lstm-torch
endif

tests_test_model_file_SOURCES = tests/test-model-file.c tests/test-util.h tests/test-util.c
tests_test_model_file_CFLAGS = $(TEST_CFLAGS)
tests_test_model_file_LDADD = $(TEST_LDADD)

tests_test_lstm_torch_SOURCES = tests/test-lstm-torch.c tests/test-util.h tests/test-util.c
tests_test_lstm_torch_CFLAGS = $(TEST_CFLAGS)
tests_test_lstm_torch_LDADD = $(TEST_LDADD)

EXTRA_DIST += tests/fixtures

# DeepACTIF aggregations, the rolling attributor and ranking utilities.
if HAVE_CHECK
check_PROGRAMS += \
	tests/test-aggregate \
	tests/test-rolling \
	tests/test-ranking

TESTS += \
	tests/test-aggregate \
	tests/test-rolling \
	tests/test-ranking
endif

tests_test_aggregate_SOURCES = tests/test-aggregate.c
tests_test_aggregate_CFLAGS = $(TEST_CFLAGS)
tests_test_aggregate_LDADD = $(TEST_LDADD)

tests_test_rolling_SOURCES = tests/test-rolling.c
tests_test_rolling_CFLAGS = $(TEST_CFLAGS)
tests_test_rolling_LDADD = $(TEST_LDADD)

# Per-user scaling: the online median/IQR on the shipped recordings.
if HAVE_CHECK
check_PROGRAMS += tests/test-user-scaler
TESTS += tests/test-user-scaler
endif

tests_test_user_scaler_SOURCES = tests/test-user-scaler.c
tests_test_user_scaler_CFLAGS = $(TEST_CFLAGS)
tests_test_user_scaler_LDADD = $(TEST_LDADD)

tests_test_ranking_SOURCES = tests/test-ranking.c
tests_test_ranking_CFLAGS = $(TEST_CFLAGS)
tests_test_ranking_LDADD = $(TEST_LDADD)

# Ranking-shift and input-health events on real recordings with injected faults.
if HAVE_CHECK
check_PROGRAMS += tests/test-events
TESTS += tests/test-events
endif

tests_test_events_SOURCES = tests/test-events.c tests/test-util.h tests/test-util.c
tests_test_events_CFLAGS = $(TEST_CFLAGS)
tests_test_events_LDADD = $(TEST_LDADD)

# The SQLite store, on real files in a temporary directory.
if HAVE_CHECK
check_PROGRAMS += tests/test-store
TESTS += tests/test-store
endif

tests_test_store_SOURCES = tests/test-store.c tests/test-util.h tests/test-util.c
tests_test_store_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS) -I$(top_srcdir)/daemon
tests_test_store_LDADD = daemon/libstore.la $(TEST_LDADD) $(SQLITE_LIBS)

# Recording readers against real Tobii, EyeLink and Robust Vision files
# (tests/fixtures/real; the full files in ../shared/data when present).
if HAVE_CHECK
check_PROGRAMS += \
	tests/test-reader-tobii \
	tests/test-reader-eyelink \
	tests/test-reader-csv

TESTS += \
	tests/test-reader-tobii \
	tests/test-reader-eyelink \
	tests/test-reader-csv
endif

tests_test_reader_tobii_SOURCES = tests/test-reader-tobii.c tests/test-util.h tests/test-util.c
tests_test_reader_tobii_CFLAGS = $(TEST_CFLAGS)
tests_test_reader_tobii_LDADD = $(TEST_LDADD)

tests_test_reader_eyelink_SOURCES = tests/test-reader-eyelink.c tests/test-util.h tests/test-util.c
tests_test_reader_eyelink_CFLAGS = $(TEST_CFLAGS)
tests_test_reader_eyelink_LDADD = $(TEST_LDADD)

tests_test_reader_csv_SOURCES = tests/test-reader-csv.c tests/test-util.h tests/test-util.c
tests_test_reader_csv_CFLAGS = $(TEST_CFLAGS)
tests_test_reader_csv_LDADD = $(TEST_LDADD)

# Recording readers and derived features.
if HAVE_CHECK
check_PROGRAMS += \
	tests/test-reader-robustvision \
	tests/test-features

TESTS += \
	tests/test-reader-robustvision \
	tests/test-features
endif

tests_test_reader_robustvision_SOURCES = tests/test-reader-robustvision.c tests/test-util.h tests/test-util.c
tests_test_reader_robustvision_CFLAGS = $(TEST_CFLAGS) $(ZLIB_CFLAGS)
tests_test_reader_robustvision_LDADD = $(TEST_LDADD) $(ZLIB_LIBS)

tests_test_features_SOURCES = tests/test-features.c tests/test-util.h tests/test-util.c
tests_test_features_CFLAGS = $(TEST_CFLAGS)
tests_test_features_LDADD = $(TEST_LDADD)

# HID descriptor parser, eye-tracker decoder, hid-recorder reader; the fuzz
# target's seed corpus is replayed by an ordinary build too.
if HAVE_CHECK
check_PROGRAMS += \
	tests/test-hid-descriptor \
	tests/test-fuzz-hid-descriptor \
	tests/test-fuzz-hid-recording

TESTS += \
	tests/test-hid-descriptor \
	tests/test-fuzz-hid-descriptor \
	tests/test-fuzz-hid-recording
endif

tests_test_hid_descriptor_SOURCES = tests/test-hid-descriptor.c tests/test-util.h tests/test-util.c
tests_test_hid_descriptor_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/daemon
tests_test_hid_descriptor_LDADD = daemon/libhid.la $(TEST_LDADD)

tests_test_fuzz_hid_descriptor_SOURCES = tests/fuzz-hid-descriptor.c tests/fuzz-main.c tests/test-util.h tests/test-util.c
tests_test_fuzz_hid_descriptor_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/daemon -DFUZZ_NAME=\"fuzz-hid-descriptor\"
tests_test_fuzz_hid_descriptor_LDADD = daemon/libhid.la $(TEST_LDADD)

tests_test_fuzz_hid_recording_SOURCES = tests/fuzz-hid-recording.c tests/fuzz-main.c tests/test-util.h tests/test-util.c
tests_test_fuzz_hid_recording_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/daemon -DFUZZ_NAME=\"fuzz-hid-recording\"
tests_test_fuzz_hid_recording_LDADD = daemon/libhid.la $(TEST_LDADD)

# libFuzzer targets, built with clang outside automake's compile rules (they
# need clang's -fsanitize=fuzzer). 'make check-fuzz' runs each for
# FUZZ_SECONDS via tests/run-fuzz.sh; other fuzzers append to FUZZERS.
FUZZ_SECONDS = 60
FUZZ_CFLAGS = -g -O1 -std=gnu11 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-include $(top_builddir)/config.h -I$(top_srcdir)/lib -I$(top_srcdir)/common -I$(top_srcdir)/daemon
FUZZERS = tests/fuzz-hid-descriptor tests/fuzz-hid-recording tests/fuzz-model-file
fuzz_hid_sources = daemon/hid-descriptor.c daemon/hid-eyetracker.c daemon/hid-recording.c lib/channels.c lib/util.c
fuzz_hid_descriptor_sources = tests/fuzz-hid-descriptor.c $(fuzz_hid_sources)
fuzz_hid_recording_sources = tests/fuzz-hid-recording.c $(fuzz_hid_sources)
fuzz_model_file_sources = tests/fuzz-model-file.c lib/model.c lib/model-file.c lib/precision.c lib/cpu.c lib/gemv.c \
	lib/lstm.c lib/head.c lib/util.c lib/channels.c lib/method-names.c lib/aggregate.c
EXTRA_DIST += tests/run-fuzz.sh tests/fuzz-corpus tests/fuzz-hid-descriptor.c tests/fuzz-hid-recording.c \
	tests/fuzz-model-file.c tests/test-libfuzzer.sh
CLEANFILES += $(FUZZERS)

if HAVE_CLANG
tests/fuzz-hid-descriptor: $(fuzz_hid_descriptor_sources:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) -o $@ $(fuzz_hid_descriptor_sources:%=$(top_srcdir)/%) -lm

tests/fuzz-hid-recording: $(fuzz_hid_recording_sources:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) -o $@ $(fuzz_hid_recording_sources:%=$(top_srcdir)/%) -lm

tests/fuzz-model-file: $(fuzz_model_file_sources:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) $(JSONC_CFLAGS) -o $@ $(fuzz_model_file_sources:%=$(top_srcdir)/%) $(JSONC_LIBS) -lm

fuzzers: $(FUZZERS)

check-fuzz: $(FUZZERS)
	@for f in $(FUZZERS); do \
		$(top_srcdir)/tests/run-fuzz.sh $${f#tests/} $(FUZZ_SECONDS) || exit 1; \
	done
else
fuzzers check-fuzz:
	@echo "clang is not installed: no libFuzzer targets" >&2; exit 77
endif
.PHONY: fuzzers check-fuzz

# LSTM backpropagation through time and the attribution methods.
if HAVE_CHECK
check_PROGRAMS += tests/test-backprop tests/test-attribution
TESTS += tests/test-backprop tests/test-attribution
endif

tests_test_backprop_SOURCES = tests/test-backprop.c tests/lstm-fixture.h tests/lstm-fixture.c \
	tests/test-util.h tests/test-util.c
tests_test_backprop_CFLAGS = $(TEST_CFLAGS)
tests_test_backprop_LDADD = $(TEST_LDADD)

tests_test_attribution_SOURCES = tests/test-attribution.c tests/lstm-fixture.h tests/lstm-fixture.c \
	tests/test-util.h tests/test-util.c
tests_test_attribution_CFLAGS = $(TEST_CFLAGS)
tests_test_attribution_LDADD = $(TEST_LDADD)

# The model loader's corpus replayed by every build, and each libFuzzer
# target run for a bounded time when clang is installed.
if HAVE_CHECK
check_PROGRAMS += tests/test-fuzz-model-file
TESTS += tests/test-fuzz-model-file
endif
tests_test_fuzz_model_file_SOURCES = tests/fuzz-model-file.c tests/fuzz-main.c tests/test-util.h tests/test-util.c
tests_test_fuzz_model_file_CFLAGS = $(TEST_CFLAGS) -DFUZZ_NAME=\"fuzz-model-file\"
tests_test_fuzz_model_file_LDADD = $(TEST_LDADD)

TESTS += tests/test-libfuzzer.sh
AM_TESTS_ENVIRONMENT += export FUZZERS="$(FUZZERS)" LIBFUZZER_SECONDS="$${LIBFUZZER_SECONDS:-10}";

# DeepLIFT through the LSTM gates.
if HAVE_CHECK
check_PROGRAMS += tests/test-deeplift
TESTS += tests/test-deeplift
endif

tests_test_deeplift_SOURCES = tests/test-deeplift.c tests/test-util.h tests/test-util.c
tests_test_deeplift_CFLAGS = $(TEST_CFLAGS)
tests_test_deeplift_LDADD = $(TEST_LDADD)

# Evaluation statistics (against scipy's figures) and the keep-top-k protocol.
if HAVE_CHECK
check_PROGRAMS += tests/test-stats
TESTS += tests/test-stats
endif

tests_test_stats_SOURCES = tests/test-stats.c
tests_test_stats_CFLAGS = $(TEST_CFLAGS)
tests_test_stats_LDADD = $(TEST_LDADD)

# common/list.h
if HAVE_CHECK
check_PROGRAMS += tests/test-list
TESTS += tests/test-list
endif
tests_test_list_SOURCES = tests/test-list.c
tests_test_list_CFLAGS = $(TEST_CFLAGS)
tests_test_list_LDADD = $(TEST_LDADD)

# The real deepactifd on real recordings and SQLite files; make-test-model
# writes the random-weight models it runs (no trained default model yet).
if HAVE_CHECK
check_PROGRAMS += tests/make-test-model tests/test-daemon
TESTS += tests/test-daemon
endif

tests_make_test_model_SOURCES = tests/make-test-model.c
tests_make_test_model_CFLAGS = $(TEST_CFLAGS)
tests_make_test_model_LDADD = $(TEST_LDADD)

tests_test_daemon_SOURCES = tests/test-daemon.c tests/test-util.h tests/test-util.c
tests_test_daemon_CFLAGS = $(TEST_CFLAGS) $(SQLITE_CFLAGS) -I$(top_srcdir)/daemon
tests_test_daemon_LDADD = daemon/libstore.la daemon/libhid.la $(TEST_LDADD) $(SQLITE_LIBS)

# Data sets, the trainer and the scorer (bundled Robust Vision recordings).
if HAVE_CHECK
check_PROGRAMS += tests/test-train
TESTS += tests/test-train
endif

tests_test_train_SOURCES = tests/test-train.c
tests_test_train_CFLAGS = $(TEST_CFLAGS)
tests_test_train_LDADD = $(TEST_LDADD)

if HAVE_CHECK
check_PROGRAMS += tests/test-evaluate
TESTS += tests/test-evaluate
endif

tests_test_evaluate_SOURCES = tests/test-evaluate.c
tests_test_evaluate_CFLAGS = $(TEST_CFLAGS)
tests_test_evaluate_LDADD = $(TEST_LDADD)

# The published protocol's IQR rule and depth-bin balancing on hand-made tables.
if HAVE_CHECK
check_PROGRAMS += tests/test-published
TESTS += tests/test-published
endif
tests_test_published_SOURCES = tests/test-published.c
tests_test_published_CFLAGS = $(TEST_CFLAGS)
tests_test_published_LDADD = $(TEST_LDADD)

# contrib/slurm/ on a real single-node Slurm (munged, slurmctld, slurmd in a
# temporary directory): the merged job array equals the single-process run.
TESTS += tests/test-slurm.sh
EXTRA_DIST += tests/test-slurm.sh contrib/slurm/submit.sh contrib/slurm/evaluate-shard.sbatch \
	contrib/slurm/evaluate-merge.sbatch contrib/slurm/README.md

# deepactifctl evaluate --shard/--merge on the bundled subjects: merged equals unsharded.
TESTS += tests/test-evaluate-shard.sh
EXTRA_DIST += tests/test-evaluate-shard.sh

# The varlink server against a fake interface over real sockets; the seed
# corpus of its message parser's fuzz target.
if HAVE_CHECK
check_PROGRAMS += \
	tests/test-varlink \
	tests/test-fuzz-varlink

TESTS += \
	tests/test-varlink \
	tests/test-fuzz-varlink
endif

tests_test_varlink_SOURCES = tests/test-varlink.c tests/test-util.h tests/test-util.c
tests_test_varlink_CFLAGS = $(TEST_CFLAGS) $(LIBSYSTEMD_CFLAGS) -I$(top_srcdir)/daemon
tests_test_varlink_LDADD = daemon/libvarlink.la $(TEST_LDADD) $(LIBSYSTEMD_LIBS)

tests_test_fuzz_varlink_SOURCES = tests/fuzz-varlink.c tests/fuzz-main.c tests/test-util.h tests/test-util.c
tests_test_fuzz_varlink_CFLAGS = $(TEST_CFLAGS) $(LIBSYSTEMD_CFLAGS) -I$(top_srcdir)/daemon -DFUZZ_NAME=\"fuzz-varlink\"
tests_test_fuzz_varlink_LDADD = daemon/libvarlink.la $(TEST_LDADD) $(LIBSYSTEMD_LIBS)

FUZZERS += tests/fuzz-varlink
fuzz_varlink_sources = tests/fuzz-varlink.c daemon/varlink.c lib/util.c
EXTRA_DIST += tests/fuzz-varlink.c

if HAVE_CLANG
tests/fuzz-varlink: $(fuzz_varlink_sources:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) $(JSONC_CFLAGS) $(LIBSYSTEMD_CFLAGS) -o $@ \
		$(fuzz_varlink_sources:%=$(top_srcdir)/%) $(JSONC_LIBS) $(LIBSYSTEMD_LIBS) -lm
endif

# The D-Bus and varlink interfaces end to end: private dbus-daemon, the real
# deepactifd and deepactifctl, busctl, raw varlink (varlink-send), sqlite3.
check_PROGRAMS += tests/varlink-send
tests_varlink_send_SOURCES = tests/varlink-send.c
TESTS += tests/test-bus.sh
EXTRA_DIST += tests/test-bus.sh
# Events end to end: a recording with a fault, the Event signal, the store
# across a restart, deepactifctl events.
TESTS += tests/test-events-daemon.sh
EXTRA_DIST += tests/test-events-daemon.sh

# Prometheus metrics: promtool on MetricsFile= and `deepactifctl metrics`;
# real prometheus-node-exporter and prometheus on loopback ports.
TESTS += tests/test-prometheus.sh
EXTRA_DIST += tests/test-prometheus.sh

# DeepACTIF end to end: traces against their definition, a planted model,
# the bundled Robust Vision subjects through the library and `rank`.
if HAVE_CHECK
check_PROGRAMS += tests/test-deepactif
TESTS += tests/test-deepactif
endif
tests_test_deepactif_SOURCES = tests/test-deepactif.c tests/test-util.h tests/test-util.c
tests_test_deepactif_CFLAGS = $(TEST_CFLAGS)
tests_test_deepactif_LDADD = $(TEST_LDADD)

# Reduced-precision weights: conversions, kernels, files, agreement with f32.
if HAVE_CHECK
check_PROGRAMS += tests/test-precision
TESTS += tests/test-precision
endif
tests_test_precision_SOURCES = tests/test-precision.c tests/test-util.h tests/test-util.c
tests_test_precision_CFLAGS = $(TEST_CFLAGS)
tests_test_precision_LDADD = $(TEST_LDADD)

# `deepactifctl bench`: the JSON the performance figures are read from.
if HAVE_CHECK
check_PROGRAMS += tests/test-bench
TESTS += tests/test-bench
endif
tests_test_bench_SOURCES = tests/test-bench.c tests/test-util.h tests/test-util.c
tests_test_bench_CFLAGS = $(TEST_CFLAGS)
tests_test_bench_LDADD = $(TEST_LDADD)

# Units, hwdb, sysusers.d and tmpfiles.d through systemd's tools, with the
# service's systemd-analyze security exposure; the udev probe on fake sysfs.
TESTS += tests/test-units.sh
EXTRA_DIST += tests/test-units.sh

# No include cycles between files, nor between modules (a header and its source).
TESTS += tests/test-include-cycles.sh
EXTRA_DIST += tests/test-include-cycles.sh

# libdeepactif's exported symbols: the public headers' functions, by name;
# deepactifd uses the runtime API only.
TESTS += tests/test-symbols.sh
EXTRA_DIST += tests/test-symbols.sh

# Manual pages: present, installed, mandoc -Tlint clean, every --help option documented.
TESTS += tests/test-man.sh
EXTRA_DIST += tests/test-man.sh

# deepactifctl train --loss-beta: validated, passed to the trainer, default 1 m.
TESTS += tests/test-train-loss.sh
EXTRA_DIST += tests/test-train-loss.sh

# contrib/depth-bound.py: the labelled bounds on depth from gaze (issue 13).
TESTS += tests/test-depth-bound.sh
EXTRA_DIST += tests/test-depth-bound.sh

# The default model rebuilds bit for bit from its documented command.
TESTS += tests/test-default-model.sh
EXTRA_DIST += tests/test-default-model.sh

# Kernel-level tests: a uhid GazeHid tracker and a uinput evdev tracker in a
# QEMU VM (tests/vm/run-vm.sh boots it; tests/vm/vm-test.c runs inside).
# 'make check-vm' runs them alone; make check skips them (77) without qemu.
if HAVE_CHECK
check_PROGRAMS += tests/vm/vm-test
TESTS += tests/vm/run-vm.sh
endif

tests_vm_vm_test_SOURCES = tests/vm/vm-test.c tests/vm/gazehid.c tests/vm/gazehid.h
tests_vm_vm_test_CFLAGS = $(TEST_CFLAGS)
tests_vm_vm_test_LDADD = $(TEST_LDADD)

EXTRA_DIST += tests/vm/run-vm.sh tests/vm/vm-init.sh tests/vm/vm-bridge.sh

check-vm: daemon/deepactifd client/deepactifctl tests/make-test-model tests/vm/vm-test bridge/deepactif-bridge \
		tests/pupil-standin
	$(AM_V_GEN)top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) $(top_srcdir)/tests/vm/run-vm.sh
.PHONY: check-vm

# The installed .debs under systemd as PID 1: a Debian 12 guest built by
# mmdebstrap, cached in tests/vm-system-cache (tests/vm-system/run.sh).
# 'make check-vm-system' runs it alone; make check skips it (77) without
# its tools.
check_PROGRAMS += tests/vm/gazehid-uhid
TESTS += tests/vm-system/run.sh
tests_vm_gazehid_uhid_SOURCES = tests/vm/gazehid-uhid.c tests/vm/gazehid.c tests/vm/gazehid.h
tests_vm_gazehid_uhid_LDADD = -lm

EXTRA_DIST += tests/vm-system/run.sh tests/vm-system/build-image.sh tests/vm-system/guest-test.sh \
	tests/vm-system/packages tests/vm-system/vmtest-boot tests/vm-system/vmtest.service \
	tests/vm-system/initramfs-hook

check-vm-system: tests/make-test-model tests/vm/gazehid-uhid tests/pupil-standin
	$(AM_V_GEN)top_srcdir=$(abs_top_srcdir) top_builddir=$(abs_top_builddir) $(top_srcdir)/tests/vm-system/run.sh
.PHONY: check-vm-system

# The forward pass against PyTorch through every kernel variant.
TESTS += tests/test-kernels.sh
EXTRA_DIST += tests/test-kernels.sh

# The library cross-compiled for arm64, its numerics tests run under qemu-user.
TESTS += tests/test-cross-aarch64.sh
EXTRA_DIST += tests/test-cross-aarch64.sh

# The float batch kernels behind Integrated Gradients against double loops
# and central differences.
if HAVE_CHECK
check_PROGRAMS += tests/test-batch-kernels
TESTS += tests/test-batch-kernels
endif

tests_test_batch_kernels_SOURCES = tests/test-batch-kernels.c
tests_test_batch_kernels_CFLAGS = $(TEST_CFLAGS)
tests_test_batch_kernels_LDADD = $(TEST_LDADD)

# The German catalogue: compiles, and LANGUAGE=de makes deepactifctl and deepactifd German.
TESTS += tests/test-po.sh
EXTRA_DIST += tests/test-po.sh

# Bash completion: every command and every option of each command's --help.
TESTS += tests/test-completion.sh
EXTRA_DIST += tests/test-completion.sh

# The packages end to end (minutes, root): build the .deb and .rpm from the
# release tarball, install, run the installed daemon, purge. Not part of
# 'make check'; CI runs it through contrib/quickstart.sh.
check-packages: dist
	$(top_srcdir)/tests/test-packages.sh $(abs_top_builddir)/$(PACKAGE)-$(VERSION).tar.xz
.PHONY: check-packages
EXTRA_DIST += tests/test-packages.sh tests/build-debs.sh

# The VM harnesses' scratch trees (kernel, initramfs; the system test's
# share) are built in the build tree; the system test's image cache stays
# until distclean.
clean-local:
	-rm -rf tests/vm-work tests/vm-system-work

distclean-local:
	-rm -rf tests/vm-system-cache tests/debs-cache

# The recording readers: every format, and the generic CSV through a column map.
if HAVE_CHECK
check_PROGRAMS += tests/test-fuzz-reader
TESTS += tests/test-fuzz-reader
endif
tests_test_fuzz_reader_SOURCES = tests/fuzz-reader.c tests/fuzz-main.c tests/test-util.h tests/test-util.c
tests_test_fuzz_reader_CFLAGS = $(TEST_CFLAGS) -DFUZZ_NAME=\"fuzz-reader\"
tests_test_fuzz_reader_LDADD = $(TEST_LDADD)

FUZZERS += tests/fuzz-reader
fuzz_reader_sources = tests/fuzz-reader.c lib/reader.c lib/reader-robustvision.c lib/reader-tobii.c lib/reader-pupil.c \
	lib/reader-eyelink.c lib/reader-csv.c lib/reader-parse.c lib/channels.c lib/util.c
EXTRA_DIST += tests/fuzz-reader.c

if HAVE_CLANG
tests/fuzz-reader: $(fuzz_reader_sources:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) $(ZLIB_CFLAGS) -o $@ $(fuzz_reader_sources:%=$(top_srcdir)/%) $(ZLIB_LIBS) -lm
endif

# deepactifd.conf through config_load().
if HAVE_CHECK
check_PROGRAMS += tests/test-fuzz-config
TESTS += tests/test-fuzz-config
endif
tests_test_fuzz_config_SOURCES = tests/fuzz-config.c tests/fuzz-main.c tests/test-util.h tests/test-util.c \
	daemon/config.h daemon/config.c common/log.h common/log.c
tests_test_fuzz_config_CFLAGS = $(TEST_CFLAGS) $(INIH_CFLAGS) -I$(top_srcdir)/daemon -DFUZZ_NAME=\"fuzz-config\"
tests_test_fuzz_config_LDADD = $(TEST_LDADD) $(INIH_LIBS)

FUZZERS += tests/fuzz-config
fuzz_config_sources = tests/fuzz-config.c daemon/config.c common/log.c $(filter %.c,$(lib_libdeepactif_la_SOURCES))
EXTRA_DIST += tests/fuzz-config.c

if HAVE_CLANG
tests/fuzz-config: $(fuzz_config_sources:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) $(INIH_CFLAGS) $(JSONC_CFLAGS) $(ZLIB_CFLAGS) -DSYSCONFDIR=\"$(sysconfdir)\" \
		-DPKGDATADIR=\"$(pkgdatadir)\" -o $@ $(fuzz_config_sources:%=$(top_srcdir)/%) \
		$(INIH_LIBS) $(JSONC_LIBS) $(ZLIB_LIBS) -lm -lpthread
endif

# Pupil Player exports (gaze_positions.csv): against the Robust Vision
# reader on the same samples, and the reader's fuzz target and seeds.
if HAVE_CHECK
check_PROGRAMS += tests/test-reader-pupil tests/test-fuzz-reader-pupil
TESTS += tests/test-reader-pupil tests/test-fuzz-reader-pupil
endif
tests_test_reader_pupil_SOURCES = tests/test-reader-pupil.c tests/test-util.h tests/test-util.c
tests_test_reader_pupil_CFLAGS = $(TEST_CFLAGS)
tests_test_reader_pupil_LDADD = $(TEST_LDADD)

tests_test_fuzz_reader_pupil_SOURCES = tests/fuzz-reader-pupil.c tests/fuzz-main.c tests/test-util.h tests/test-util.c
tests_test_fuzz_reader_pupil_CFLAGS = $(TEST_CFLAGS) -DFUZZ_NAME=\"fuzz-reader-pupil\"
tests_test_fuzz_reader_pupil_LDADD = $(TEST_LDADD)

FUZZERS += tests/fuzz-reader-pupil
fuzz_reader_pupil_sources = tests/fuzz-reader-pupil.c lib/reader.c lib/reader-robustvision.c lib/reader-tobii.c \
	lib/reader-eyelink.c lib/reader-csv.c lib/reader-pupil.c lib/reader-parse.c lib/channels.c lib/util.c
EXTRA_DIST += tests/fuzz-reader-pupil.c

if HAVE_CLANG
tests/fuzz-reader-pupil: $(fuzz_reader_pupil_sources:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) $(ZLIB_CFLAGS) -o $@ $(fuzz_reader_pupil_sources:%=$(top_srcdir)/%) $(ZLIB_LIBS) -lm
endif

# deepactif-bridge's Pupil gaze decoder: messages packed with msgpack-c, and
# its fuzz target with seeds (tests/fuzz-corpus/fuzz-pupil-gaze).
if HAVE_CHECK
check_PROGRAMS += tests/test-pupil-gaze tests/test-fuzz-pupil-gaze
TESTS += tests/test-pupil-gaze tests/test-fuzz-pupil-gaze
endif
tests_test_pupil_gaze_SOURCES = tests/test-pupil-gaze.c tests/test-util.h tests/test-util.c
tests_test_pupil_gaze_CFLAGS = $(TEST_CFLAGS) $(MSGPACK_CFLAGS) -I$(top_srcdir)/bridge
tests_test_pupil_gaze_LDADD = bridge/libpupil.la $(TEST_LDADD) $(MSGPACK_LIBS)

tests_test_fuzz_pupil_gaze_SOURCES = tests/fuzz-pupil-gaze.c tests/fuzz-main.c tests/test-util.h tests/test-util.c
tests_test_fuzz_pupil_gaze_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/bridge -DFUZZ_NAME=\"fuzz-pupil-gaze\"
tests_test_fuzz_pupil_gaze_LDADD = bridge/libpupil.la $(TEST_LDADD) $(MSGPACK_LIBS)

FUZZERS += tests/fuzz-pupil-gaze
fuzz_pupil_gaze_sources = tests/fuzz-pupil-gaze.c bridge/pupil-gaze.c
EXTRA_DIST += tests/fuzz-pupil-gaze.c

if HAVE_CLANG
tests/fuzz-pupil-gaze: $(fuzz_pupil_gaze_sources:%=$(top_srcdir)/%)
	@$(MKDIR_P) tests
	$(AM_V_CCLD)$(CLANG) $(FUZZ_CFLAGS) -I$(top_srcdir)/bridge $(MSGPACK_CFLAGS) -o $@ \
		$(fuzz_pupil_gaze_sources:%=$(top_srcdir)/%) $(MSGPACK_LIBS) -lm
endif

# deepactif-bridge's readiness (Type=notify) through a test-owned NOTIFY_SOCKET.
if HAVE_CHECK
check_PROGRAMS += tests/test-bridge-notify
TESTS += tests/test-bridge-notify
endif
tests_test_bridge_notify_SOURCES = tests/test-bridge-notify.c tests/test-util.h tests/test-util.c
tests_test_bridge_notify_CFLAGS = $(TEST_CFLAGS)
tests_test_bridge_notify_LDADD = $(TEST_LDADD)
