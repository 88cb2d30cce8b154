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

tests_test_ranking_SOURCES = tests/test-ranking.c
tests_test_ranking_CFLAGS = $(TEST_CFLAGS)
tests_test_ranking_LDADD = $(TEST_LDADD)

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

tests_test_reader_tobii_SOURCES = tests/test-reader-tobii.c
tests_test_reader_tobii_CFLAGS = $(TEST_CFLAGS)
tests_test_reader_tobii_LDADD = $(TEST_LDADD)

tests_test_reader_eyelink_SOURCES = tests/test-reader-eyelink.c
tests_test_reader_eyelink_CFLAGS = $(TEST_CFLAGS)
tests_test_reader_eyelink_LDADD = $(TEST_LDADD)

tests_test_reader_csv_SOURCES = tests/test-reader-csv.c
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
