/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The Robust Vision TSV reader and the reader framework: the bundled
 * excerpt, every subject of ../shared/data/robustvision when present,
 * gzip, line ends, column order, and malformed input. */

#include <math.h>
#include <zlib.h>

#include "test-util.h"

/* Sample counts per subject P1..P20 from an independent count of the data
 * set: for i in $(seq 1 20); do grep -c $'\t sample\t' P$i.tsv; done */
static const unsigned subject_samples[20] = {
        13945, 2558, 776, 696, 4525, 1098, 2079, 1699, 478, 3394,
        6854, 7493, 4794, 254, 1697, 7454, 1779, 2427, 2300, 2508,
};

#define HEADER                                                                                  \
        "System Timestamp\tMessage\tMessage Type\tGT_depth\tWorld Gaze Point X\t"               \
        "World Gaze Point Y\tWorld Gaze Point Z\tWorld Gaze Origin R X\tWorld Gaze Origin R Z\t" \
        "World Gaze Origin L X\tWorld Gaze Origin L Z\tWorld Gaze Direction R X\t"              \
        "World Gaze Direction R Y\tWorld Gaze Direction R Z\tWorld Gaze Direction L X\t"        \
        "World Gaze Direction L Y\tWorld Gaze Direction L Z\tEstimated Depth"

static char *tmpdir;

static void setup(void) {
        tmpdir = test_mkdtemp();
}

static void teardown(void) {
        test_rmdir_r(tmpdir);
        free(tmpdir);
}

static char *write_tmp_n(const char *name, const char *data, size_t size) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", tmpdir, name), 0);
        ck_assert_int_eq(test_write_file(p, data, size), 0);
        return p;
}

static char *write_tmp(const char *name, const char *text) {
        return write_tmp_n(name, text, strlen(text));
}

/* Counts the frames of a recording, checking time never goes back. */
static int count_frames(const char *path, unsigned *ret, da_error *err) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        uint64_t last = 0;
        unsigned n = 0;
        da_frame f;
        int k;

        k = da_reader_open(path, DA_REC_AUTO, &r, err);
        if (k < 0)
                return k;
        ck_assert_int_eq(da_reader_format(r), DA_REC_ROBUSTVISION);
        while ((k = da_reader_next(r, &f, err)) > 0) {
                ck_assert_uint_ge(f.time_us, last);
                last = f.time_us;
                n++;
        }
        *ret = n;
        return k;
}

/* Values as written on lines 3 and 200 of the excerpt (its first and last
 * sample). */
START_TEST(test_excerpt) {
        _cleanup_free_ char *path = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        da_error err = {};
        da_frame f, last;
        unsigned n = 0;
        int k;

        ck_assert_int_eq(da_reader_open(path, DA_REC_AUTO, &r, &err), 0);
        ck_assert_int_eq(da_reader_format(r), DA_REC_ROBUSTVISION);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        n++;
        ck_assert_uint_eq(f.time_us, UINT64_C(63816820001283000));
        ck_assert_float_eq(f.ch[DA_CH_TARGET_DEPTH], 0.293794510898249f);
        ck_assert_float_eq(f.ch[DA_CH_GAZE_POINT_X], 0.01006601f);
        ck_assert_float_eq(f.ch[DA_CH_GAZE_POINT_Z], 0.01323466f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_ORIGIN_X], 0.03410285f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_ORIGIN_Z], -0.026f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_ORIGIN_X], -0.03357511f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_DIRECTION_X], 0.2194027f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_DIRECTION_Z], 0.9597252f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_DIRECTION_Y], 0.206479f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_DIRECTION_Z], 0.9442905f);
        /* no Y origin column, no pupils, no head */
        ck_assert(isnan(f.ch[DA_CH_EYE_LEFT_ORIGIN_Y]));
        ck_assert(isnan(f.ch[DA_CH_PUPIL_LEFT_DIAMETER]));
        ck_assert(isnan(f.ch[DA_CH_HEAD_ROTATION_Y]));

        while ((k = da_reader_next(r, &last, &err)) > 0)
                n++;
        ck_assert_int_eq(k, 0);
        /* 200 lines: header, "Data collection started", 198 samples */
        ck_assert_uint_eq(n, 198);
        ck_assert_uint_eq(last.time_us, UINT64_C(63816820011400000));
        ck_assert_float_eq(last.ch[DA_CH_TARGET_DEPTH], 2.67718504676604f);
        ck_assert_float_eq(last.ch[DA_CH_EYE_LEFT_DIRECTION_X], 0.005280106f);
        /* the end stays the end */
        ck_assert_int_eq(da_reader_next(r, &last, &err), 0);
}
END_TEST

/* gzip is read as is, and "\r\n" / "\r\r\n" line ends change nothing. */
START_TEST(test_gzip_and_line_ends) {
        _cleanup_free_ char *path = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *gz = NULL, *crlf = NULL, *crcrlf = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        _cleanup_free_ char *a = NULL, *b = NULL;
        size_t size, na = 0, nb = 0;
        da_error err = {};
        unsigned n;
        gzFile g;

        ck_assert_int_eq(test_read_file(path, &data, &size), 0);
        a = malloc(size * 2 + 1);
        b = malloc(size * 3 + 1);
        for (size_t i = 0; i < size; i++) {
                if (data[i] == '\n') {
                        a[na++] = '\r';
                        b[nb++] = '\r';
                        b[nb++] = '\r';
                }
                a[na++] = (char) data[i];
                b[nb++] = (char) data[i];
        }
        a[na] = b[nb] = '\0';
        crlf = write_tmp("crlf.tsv", a);
        crcrlf = write_tmp("crcrlf.tsv", b);

        ck_assert_int_ge(asprintf(&gz, "%s/p14.tsv.gz", tmpdir), 0);
        g = gzopen(gz, "wb");
        ck_assert_ptr_nonnull(g);
        ck_assert_int_eq(gzwrite(g, data, (unsigned) size), (int) size);
        ck_assert_int_eq(gzclose(g), Z_OK);

        ck_assert_int_eq(count_frames(gz, &n, &err), 0);
        ck_assert_uint_eq(n, 198);
        ck_assert_int_eq(count_frames(crlf, &n, &err), 0);
        ck_assert_uint_eq(n, 198);
        ck_assert_int_eq(count_frames(crcrlf, &n, &err), 0);
        ck_assert_uint_eq(n, 198);
}
END_TEST

/* Columns in another order, an extra column, a marker line, empty and
 * non-numeric values, a stamp stepping back, no final newline, a long
 * line, no GT_depth column. */
START_TEST(test_columns_by_name) {
        _cleanup_free_ char *path = NULL, *longline = NULL, *text = NULL;
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        da_error err = {};
        da_frame f;

        path = write_tmp("shuffled.tsv",
                "World Gaze Direction L Z\tExtra\tWorld Gaze Direction L Y\tWorld Gaze Direction L X\t"
                "System Timestamp\tWorld Gaze Origin L Z\tWorld Gaze Origin L X\tWorld Gaze Origin R Z\t"
                "World Gaze Origin R X\tMessage\tWorld Gaze Direction R Z\tWorld Gaze Direction R Y\t"
                "World Gaze Direction R X\n"
                "3.5\tjunk\t3.25\t3\t1000\t-0.5\t-0.25\t0.5\t0.25\t sample\t2.5\t2.25\t2\n"
                "\t\t\t\t1001\t\t\t\t\tData collection ended\t\t\t\n"
                "\t\t\tabc\t999.5\t1e-3\t\t\t\t sample\t\tnan\t7");
        ck_assert_int_eq(da_reader_open(path, DA_REC_AUTO, &r, &err), 0);

        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 1000000);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_DIRECTION_X], 2);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_DIRECTION_Y], 2.25f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_DIRECTION_Z], 2.5f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_DIRECTION_X], 3);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_DIRECTION_Y], 3.25f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_DIRECTION_Z], 3.5f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_ORIGIN_X], 0.25f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_ORIGIN_Z], 0.5f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_ORIGIN_X], -0.25f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_ORIGIN_Z], -0.5f);
        ck_assert(isnan(f.ch[DA_CH_TARGET_DEPTH]));      /* no GT_depth column */

        /* the marker is skipped; 999.5 ms is before 1000 ms and held there */
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 1000000);
        ck_assert(isnan(f.ch[DA_CH_EYE_LEFT_DIRECTION_Z]));   /* empty */
        ck_assert(isnan(f.ch[DA_CH_EYE_LEFT_DIRECTION_X]));   /* "abc" */
        ck_assert(isnan(f.ch[DA_CH_EYE_RIGHT_DIRECTION_Y]));  /* "nan" */
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_ORIGIN_Z], 1e-3f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_DIRECTION_X], 7);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 0);
        r = da_reader_free(r);

        /* a 100 kB value in an ignored column */
        longline = malloc(100001);
        memset(longline, 'x', 100000);
        longline[100000] = '\0';
        ck_assert_int_ge(asprintf(&text, HEADER "\n1.5\t sample\tD\t1\t\t\t\t\t\t\t\t\t\t\t\t\t4.5\t%s\n", longline), 0);
        free(path);
        path = write_tmp("long.tsv", text);
        ck_assert_int_eq(da_reader_open(path, DA_REC_ROBUSTVISION, &r, &err), 0);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 1500);
        ck_assert_float_eq(f.ch[DA_CH_EYE_LEFT_DIRECTION_Z], 4.5f);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 0);
}
END_TEST

static void expect_open_error(const char *name, const char *text, size_t size, da_recording_format format,
                              int error, const char *needle) {
        _cleanup_free_ char *path = write_tmp_n(name, text, size);
        da_reader *r = NULL;
        da_error err = {};

        ck_assert_int_eq(da_reader_open(path, format, &r, &err), error);
        ck_assert_ptr_null(r);
        ck_assert_msg(strstr(err.message, needle), "%s: message '%s' lacks '%s'", name, err.message, needle);
}

static void expect_next_error(const char *name, const char *text, size_t size, unsigned good,
                              const char *needle) {
        _cleanup_free_ char *path = write_tmp_n(name, text, size);
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        da_error err = {};
        da_frame f;

        ck_assert_int_eq(da_reader_open(path, DA_REC_AUTO, &r, &err), 0);
        for (unsigned i = 0; i < good; i++)
                ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_int_lt(da_reader_next(r, &f, &err), 0);
        ck_assert_msg(strstr(err.message, needle), "%s: message '%s' lacks '%s'", name, err.message, needle);
}

/* String literals, NUL bytes included. */
#define OPEN_ERROR(name, text, ...) expect_open_error(name, text, sizeof(text) - 1, __VA_ARGS__)
#define NEXT_ERROR(name, text, ...) expect_next_error(name, text, sizeof(text) - 1, __VA_ARGS__)

#define SAMPLE "\t sample\tD\t1\t0\t0\t1\t0.03\t0\t-0.03\t0\t0\t0\t1\t0\t0\t1\t1\n"

START_TEST(test_malformed) {
        da_error err = {};
        da_reader *r = NULL;

        /* header without "World Gaze Direction L Z", read as Robust Vision */
        OPEN_ERROR("missing.tsv",
                   "System Timestamp\tMessage\tWorld Gaze Origin R X\tWorld Gaze Origin R Z\t"
                   "World Gaze Origin L X\tWorld Gaze Origin L Z\tWorld Gaze Direction R X\t"
                   "World Gaze Direction R Y\tWorld Gaze Direction R Z\tWorld Gaze Direction L X\t"
                   "World Gaze Direction L Y\n",
                   DA_REC_AUTO, -EBADMSG, "'World Gaze Direction L Z' is missing");
        OPEN_ERROR("twice.tsv", HEADER "\tGT_depth\n", DA_REC_AUTO, -EBADMSG, "'GT_depth' appears twice");
        OPEN_ERROR("empty.tsv", "", DA_REC_AUTO, -ENODATA, "empty");
        OPEN_ERROR("binary.tsv", "\x7f" "ELF\x02\x01\x01\0\0\0junk\n", DA_REC_AUTO, -EBADMSG, "NUL byte");
        OPEN_ERROR("other.csv", "a,b,c\n1,2,3\n", DA_REC_AUTO, -EMEDIUMTYPE, "unrecognised");
        OPEN_ERROR("forced.csv", "a,b,c\n1,2,3\n", DA_REC_ROBUSTVISION, -EBADMSG, "'System Timestamp' is missing");

        /* in each, line 2 is a good sample */
        NEXT_ERROR("short.tsv", HEADER "\n10" SAMPLE "20\t sample\tD\t1\n", 1, "line 3: 4 fields, the header has 18");
        NEXT_ERROR("long.tsv", HEADER "\n10\t sample" SAMPLE, 0, "line 2: 19 fields");
        NEXT_ERROR("stamp.tsv", HEADER "\n10" SAMPLE "-5" SAMPLE, 1, "line 3: '-5' is not a valid System Timestamp");
        NEXT_ERROR("nul.tsv", HEADER "\n10" SAMPLE "2\0" SAMPLE, 1, "line 3 contains a NUL byte");

        ck_assert_int_eq(da_reader_open("/nonexistent/x.tsv", DA_REC_AUTO, &r, &err), -ENOENT);
        ck_assert(strstr(err.message, "/nonexistent/x.tsv"));
        ck_assert_ptr_null(r);
        ck_assert_int_eq(da_reader_open(NULL, DA_REC_AUTO, &r, &err), -EINVAL);
        ck_assert_ptr_null(da_reader_free(NULL));
}
END_TEST

START_TEST(test_format_names) {
        for (unsigned i = 0; i < _DA_REC_MAX; i++)
                ck_assert_int_eq(da_recording_format_from_string(da_recording_format_to_string(i)), (int) i);
        ck_assert_str_eq(da_recording_format_to_string(DA_REC_ROBUSTVISION), "robustvision");
        ck_assert_ptr_null(da_recording_format_to_string(_DA_REC_MAX));
        ck_assert_int_eq(da_recording_format_from_string("parquet"), -EINVAL);
        ck_assert_int_eq(da_recording_format_from_string(NULL), -EINVAL);
}
END_TEST

static const char *data_dir(void) {
        const char *d = getenv("DA_ROBUSTVISION_DIR");

        return d ?: TEST_SRCDIR "/../../shared/data/robustvision";
}

START_TEST(test_all_subjects) {
        unsigned total = 0;

        for (unsigned s = 0; s < 20; s++) {
                _cleanup_free_ char *path = NULL;
                da_error err = {};
                unsigned n = 0;

                ck_assert_int_ge(asprintf(&path, "%s/P%u.tsv", data_dir(), s + 1), 0);
                ck_assert_msg(count_frames(path, &n, &err) == 0, "%s", err.message);
                ck_assert_msg(n == subject_samples[s], "P%u: %u frames, want %u", s + 1, n, subject_samples[s]);
                total += n;
        }
        printf("robustvision: %u frames in 20 subjects\n", total);
}
END_TEST

static Suite *reader_suite(void) {
        _cleanup_free_ char *p1 = NULL;
        Suite *s = suite_create("reader-robustvision");
        TCase *tc = tcase_create("reader");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_excerpt);
        tcase_add_test(tc, test_gzip_and_line_ends);
        tcase_add_test(tc, test_columns_by_name);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_format_names);
        suite_add_tcase(s, tc);

        if (asprintf(&p1, "%s/P1.tsv", data_dir()) < 0)
                abort();
        if (access(p1, R_OK) == 0) {
                tc = tcase_create("data set");
                tcase_set_timeout(tc, 120);
                tcase_add_test(tc, test_all_subjects);
                suite_add_tcase(s, tc);
        } else
                printf("robustvision: %s not found, the 20-subject check does not run "
                       "(set DA_ROBUSTVISION_DIR)\n", p1);
        return s;
}

int main(void) {
        return test_run(reader_suite());
}
