lib_LTLIBRARIES += lib/libdeepactif.la
include_HEADERS = lib/deepactif.h lib/deepactif-runtime.h lib/deepactif-research.h
pkgconfigdir = $(libdir)/pkgconfig
pkgconfig_DATA = lib/libdeepactif.pc
EXTRA_DIST += lib/libdeepactif.sym lib/libdeepactif.pc.in

lib_libdeepactif_la_SOURCES = \
	lib/deepactif.h \
	lib/deepactif-runtime.h \
	lib/deepactif-research.h \
	lib/model.h \
	lib/util.h \
	lib/util.c \
	lib/channels.c \
	lib/model.c \
	lib/model-file.c \
	lib/precision.c \
	lib/cpu.h \
	lib/cpu.c \
	lib/gemv.h \
	lib/gemv-kernels.h \
	lib/gemv.c \
	lib/lstm.h \
	lib/lstm.c \
	lib/lstm-batch.c \
	lib/head.h \
	lib/head.c \
	lib/matmul.h \
	lib/matmul-kernels.h \
	lib/matmul.c \
	lib/vmath.h \
	lib/batch-kernels.h \
	lib/batch-kernels-impl.h \
	lib/batch-kernels.c \
	lib/gate-pack.h \
	lib/gate-pack.c \
	lib/gemm-bf16.h \
	lib/gemm-bf16-impl.h \
	lib/gemm-bf16.c \
	lib/ig-path.h \
	lib/ig-path.c \
	lib/tape.h \
	lib/tape.c \
	lib/train-path.h \
	lib/train-path.c \
	lib/backprop.h \
	lib/backprop.c \
	lib/attribute.c \
	lib/method-names.c \
	lib/attr-deepactif.c \
	lib/attr-ig.c \
	lib/attr-gradshap.c \
	lib/attr-kernelshap.c \
	lib/attr-ablation.c \
	lib/attr-neflag.c \
	lib/attribute.h \
	lib/attr-deeplift.c \
	lib/stream.c \
	lib/aggregate.c \
	lib/rolling.c \
	lib/ranking.c \
	lib/event.c \
	lib/shift.c \
	lib/health.c \
	lib/reader.h \
	lib/reader.c \
	lib/reader-robustvision.c \
	lib/reader-tobii.c \
	lib/reader-eyelink.c \
	lib/reader-csv.c \
	lib/reader-pupil.c \
	lib/reader-parse.h \
	lib/reader-parse.c \
	lib/features.c \
	lib/scaler.c \
	lib/user-scaler.c \
	lib/reference.c \
	lib/dataset.h \
	lib/dataset.c \
	lib/adamw.h \
	lib/adamw.c \
	lib/train.c \
	lib/stats.c \
	lib/evaluate.h \
	lib/evaluate.c \
	lib/published.h \
	lib/published.c

lib_libdeepactif_la_CFLAGS = $(AM_CFLAGS) $(JSONC_CFLAGS) $(ZLIB_CFLAGS)
lib_libdeepactif_la_LIBADD = $(JSONC_LIBS) $(ZLIB_LIBS) -lm
lib_libdeepactif_la_LDFLAGS = $(AM_LDFLAGS) -version-info $(LIBDEEPACTIF_LT_VERSION) \
	-Wl,--version-script=$(top_srcdir)/lib/libdeepactif.sym
lib_libdeepactif_la_DEPENDENCIES = lib/libdeepactif.sym

# Tests link the library's internals statically.
noinst_LTLIBRARIES += lib/libdeepactif-internal.la
lib_libdeepactif_internal_la_SOURCES = $(lib_libdeepactif_la_SOURCES)
lib_libdeepactif_internal_la_CFLAGS = $(lib_libdeepactif_la_CFLAGS)
lib_libdeepactif_internal_la_LIBADD = $(lib_libdeepactif_la_LIBADD)
