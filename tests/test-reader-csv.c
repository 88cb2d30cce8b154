/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The generic CSV/TSV reader and its column map: spec parsing, separator
 * detection, quoting, unit conversion, marker rows, bad rows, and real data
 * sets loaded with nothing but a spec string. */

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "reader.h"
#include "test-util.h"
#include "util.h"

#define TOBII_EXCERPT TEST_SRCDIR "/fixtures/real/tobii4c_emdat/4Ctest-excerpt.csv"
#define RV_HEAD TEST_SRCDIR "/fixtures/robustvision/P14-head.tsv"
#define RV_FULL TEST_SRCDIR "/../../shared/data/robustvision/P1.tsv"

#define RV_SPEC                                                                         \
        "time=System Timestamp:ms,target.depth=GT_depth,"                               \
        "gaze.point.x=World Gaze Point X,gaze.point.y=World Gaze Point Y,gaze.point.z=World Gaze Point Z," \
        "eye.right.origin.x=World Gaze Origin R X,eye.right.origin.z=World Gaze Origin R Z,"  \
        "eye.left.origin.x=World Gaze Origin L X,eye.left.origin.z=World Gaze Origin L Z,"    \
        "eye.right.direction.x=World Gaze Direction R X,eye.right.direction.y=World Gaze Direction R Y," \
        "eye.right.direction.z=World Gaze Direction R Z,eye.left.direction.x=World Gaze Direction L X," \
        "eye.left.direction.y=World Gaze Direction L Y,eye.left.direction.z=World Gaze Direction L Z"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_column_map *, da_column_map_free);

#define ck_assert_near(a, b, tol) ck_assert_msg(fabs((double) (a) - (double) (b)) <= (tol), \
                                                "%s = %.9g, expected %.9g", #a, (double) (a), (double) (b))

static da_reader *open_with(const char *path, const char *spec) {
        _cleanup_(da_column_map_freep) da_column_map *m = NULL;
        da_reader *r = NULL;
        da_error err = {};

        ck_assert_msg(da_column_map_parse(spec, &m, &err) == 0, "%s", err.message);
        ck_assert_msg(da_reader_open_csv(path, m, &r, &err) == 0, "%s", err.message);
        return r;
}

/* Frames until the end; the final return value in *ret_k. */
static unsigned count_frames(da_reader *r, int *ret_k, da_error *err) {
        unsigned n = 0;
        da_frame f;
        int k;

        while ((k = da_reader_next(r, &f, err)) > 0)
                n++;
        *ret_k = k;
        return n;
}

START_TEST(test_map_parse_errors) {
        static const struct {
                const char *spec, *needle;
        } cases[] = {
                { "gaze.point.x=X",                       "neither 'time=" },
                { "rate=0,gaze.point.x=X",                "'rate=0' is not a sample rate" },
                { "rate=fast,gaze.point.x=X",             "'rate=fast' is not a sample rate" },
                { "rate=-5,gaze.point.x=X",               "'rate=-5' is not a sample rate" },
                { "rate=100:ms,gaze.point.x=X",           "is not a sample rate" },
                { "time=t,rate=100,gaze.point.x=X",       "'time' or 'rate' twice" },
                { "rate=100,rate=50,gaze.point.x=X",      "'time' or 'rate' twice" },
                { "time=t",                               "maps no channel" },
                { "time=t,gaze.point.q=X",                "unknown channel 'gaze.point.q'" },
                { "time=t,gaze.point.x=X,gaze.point.x=Y", "channel 'gaze.point.x' twice" },
                { "time=t,time=u,gaze.point.x=X",         "'time' or 'rate' twice" },
                { "time=t:min,gaze.point.x=X",            "unit 'min' of 'time'" },
                { "time=t,gaze.point.x=X:deg",            "unit 'deg' does not apply to channel 'gaze.point.x'" },
                { "time=t,eye.left.screen.x=X:mm",        "unit 'mm' does not apply" },
                { "time=t,gaze.point.x",                  "lacks '='" },
                { "time=t,gaze.point.x=  ",               "names no column" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                da_column_map *m = NULL;
                da_error err = {};

                ck_assert_int_eq(da_column_map_parse(cases[i].spec, &m, &err), -EINVAL);
                ck_assert_ptr_null(m);
                ck_assert_msg(strstr(err.message, cases[i].needle), "case %zu: %s", i, err.message);
        }
        ck_assert_ptr_null(da_column_map_free(NULL));
}
END_TEST

START_TEST(test_units_quotes_escapes) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL;
        da_error err = {};
        da_frame f;

        /* comma-separated (the most frequent of tab/;/, in the header), quoted
         * header and values, a column name with ',' and ':' (escaped in the spec) */
        path = test_write_temp("\xEF\xBB\xBF" "\"t, ms\",\"depth:cm\",yaw,\"px\",note\r\n"
                          "1000.5,\"250\",90,0.25,\"say \"\"hi\"\", ok\"\r\n"
                          "1001,,-45,,\r\n");
        r = open_with(path, "time=t\\, ms:ms, target.depth = depth\\:cm:cm ,head.rotation.y=yaw:deg,"
                            "eye.left.screen.x=px");
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 1000500);                  /* 1000.5 ms */
        ck_assert_near(f.ch[DA_CH_TARGET_DEPTH], 2.5, 1e-6);    /* 250 cm */
        ck_assert_near(f.ch[DA_CH_HEAD_ROTATION_Y], M_PI / 2, 1e-6);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_SCREEN_X], 0.25, 0);
        ck_assert(isnan(f.ch[DA_CH_GAZE_POINT_X]));
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 1001000);
        ck_assert(isnan(f.ch[DA_CH_TARGET_DEPTH]));             /* empty field */
        ck_assert_near(f.ch[DA_CH_HEAD_ROTATION_Y], -M_PI / 4, 1e-6);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 0);
        unlink(path);
}
END_TEST

START_TEST(test_markers_and_truncation) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL;
        da_error err = {};
        unsigned n;
        int k;

        /* tab-separated; line 2 is a marker (no mapped values), line 4 has "nan"
         * (a frame of NaN, kept), the last line is cut short (dropped) */
        path = test_write_temp("time\tmsg\tx\ty\n"
                          "1.0\tstarted\n"
                          "1.5\tsample\t0.1\t0.2\n"
                          "2.0\tsample\tnan\tNaN\n"
                          "2.5\tsample\t0.3\n");
        r = open_with(path, "time=time:s,gaze.point.x=x,gaze.point.y=y");
        n = count_frames(r, &k, &err);
        ck_assert_int_eq(k, 0);
        ck_assert_uint_eq(n, 2);
        r = da_reader_free(r);
        unlink(path);
        path = mfree(path);

        /* the same cut row in the middle: an error naming line 3 */
        path = test_write_temp("time\tmsg\tx\ty\n"
                          "1.5\tsample\t0.1\t0.2\n"
                          "2.5\tsample\t0.3\n"
                          "3.0\tsample\t0.1\t0.2\n");
        r = open_with(path, "time=time:s,gaze.point.x=x,gaze.point.y=y");
        n = count_frames(r, &k, &err);
        ck_assert_int_eq(k, -EINVAL);
        ck_assert_uint_eq(n, 1);
        ck_assert_msg(strstr(err.message, ":3: row is cut short: 3 fields, the header has 4"), "%s", err.message);
        unlink(path);
}
END_TEST

START_TEST(test_bad_rows) {
        static const struct {
                const char *text, *needle;
                int error;
        } cases[] = {
                { "t,x\n1,2\n2,3,4\n3,4\n",      ":3: 3 fields, the header has 2",          -EINVAL },
                { "t,x\n1,2\n2,abc\n3,4\n",      ":3: value 'abc' for 'gaze.point.x'",     -EINVAL },
                { "t,x\n2,2\n1,3\n3,4\n",        ":3: time is earlier",                     -EINVAL },
                { "t,x\n1,2\n,3\n3,4\n",         ":3: time '' is not",                      -EINVAL },
                { "t,x\n1,2\n-2,3\n3,4\n",       ":3: time '-2' is not",                    -EINVAL },
                { "t,x\n1,2\n\"2,3\n3,4\n",      ":3: broken quoting",                      -EINVAL },
                { "t,x\n",                       "no data rows",                            -ENODATA },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(da_reader_freep) da_reader *r = NULL;
                _cleanup_free_ char *path = test_write_temp(cases[i].text);
                da_error err = {};
                int k;

                r = open_with(path, "time=t:s,gaze.point.x=x");
                count_frames(r, &k, &err);
                ck_assert_int_eq(k, cases[i].error);
                ck_assert_msg(strstr(err.message, cases[i].needle), "case %zu: %s", i, err.message);
                unlink(path);
        }
}
END_TEST

START_TEST(test_open_errors) {
        _cleanup_(da_column_map_freep) da_column_map *m = NULL;
        _cleanup_free_ char *path = NULL, *empty = NULL;
        da_reader *r = NULL;
        da_error err = {};

        ck_assert_int_eq(da_column_map_parse("time=t,gaze.point.x=x,target.depth=GT depth", &m, &err), 0);
        path = test_write_temp("t;x;y\n1;2;3\n");
        ck_assert_int_eq(da_reader_open_csv(path, m, &r, &err), -EINVAL);
        ck_assert_ptr_null(r);
        ck_assert_msg(strstr(err.message, "no column 'GT depth' (for 'target.depth')"), "%s", err.message);

        empty = test_write_temp("");
        ck_assert_int_eq(da_reader_open_csv(empty, m, &r, &err), -ENODATA);
        ck_assert_int_eq(da_reader_open_csv("/nonexistent/x.csv", m, &r, &err), -ENOENT);

        /* without a map the generic format cannot be opened, nor is it sniffed */
        ck_assert_int_lt(da_reader_open(path, DA_REC_CSV, &r, &err), 0);
        ck_assert_ptr_null(r);
        ck_assert(!reader_csv_ops.sniff("t,x,y"));
        unlink(path);
        unlink(empty);
}
END_TEST

START_TEST(test_tobii_through_map) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        da_error err = {};
        unsigned n = 0, nan_right = 0;
        da_frame f;
        int k;

        /* ';' detected; 76 complete rows, the truncated last one dropped; the right
         * pupil is "nan" in 36 rows (awk -F';' 'NR>1 && NF==18 && $9=="nan"') */
        r = open_with(TOBII_EXCERPT, "time=device_time_stamp:us,pupil.left.diameter=left_pupil_diameter:mm,"
                                     "pupil.right.diameter=right_pupil_diameter:mm");
        while ((k = da_reader_next(r, &f, &err)) > 0) {
                if (n == 0) {
                        ck_assert_uint_eq(f.time_us, 491999899);
                        ck_assert_near(f.ch[DA_CH_PUPIL_LEFT_DIAMETER], 0.00337985229492, 1e-10);
                }
                nan_right += isnan(f.ch[DA_CH_PUPIL_RIGHT_DIAMETER]);
                n++;
        }
        ck_assert_int_eq(k, 0);
        ck_assert_uint_eq(n, 76);
        ck_assert_uint_eq(nan_right, 36);
}
END_TEST

START_TEST(test_robustvision_through_map) {
        const char *paths[] = { RV_HEAD, RV_FULL };
        /* grep -c $'\t sample\t': 198 in the excerpt, 13945 in P1.tsv */
        const unsigned expected[] = { 198, 13945 };

        for (size_t i = 0; i < ELEMENTSOF(paths); i++) {
                _cleanup_(da_reader_freep) da_reader *r = NULL;
                da_error err = {};
                da_frame f, first = {};
                unsigned n = 0;
                int k;

                if (access(paths[i], R_OK) < 0) {
                        fprintf(stderr, "%s absent, skipped\n", paths[i]);
                        continue;
                }
                r = open_with(paths[i], RV_SPEC);
                while ((k = da_reader_next(r, &f, &err)) > 0)
                        if (n++ == 0)
                                first = f;
                ck_assert_msg(k == 0, "%s", err.message);
                ck_assert_uint_eq(n, expected[i]);
                /* no origin Y column: never provided */
                ck_assert(isnan(first.ch[DA_CH_EYE_LEFT_ORIGIN_Y]));
                if (i == 0) {
                        /* first sample of P14: "63816820001283  sample  …  0.293794510898249  0.01006601 …" */
                        ck_assert_uint_eq(first.time_us, UINT64_C(63816820001283000));
                        ck_assert_near(first.ch[DA_CH_TARGET_DEPTH], 0.293794510898249, 1e-7);
                        ck_assert_near(first.ch[DA_CH_GAZE_POINT_X], 0.01006601, 1e-8);
                        ck_assert_near(first.ch[DA_CH_EYE_RIGHT_DIRECTION_X], 0.2194027, 1e-7);
                }
        }
}
END_TEST

/* A Tufts Gaze Depth style table: tab-separated, no time column; frames
 * are stamped from the declared rate, marker rows do not count. */
START_TEST(test_rate_instead_of_time) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL;
        da_error err = {};
        da_frame f;

        path = test_write_temp("Gt_Depth\tWorld_Gaze_Direction_L_X\tWorld_Gaze_Origin_L_X\n"
                               "0.5\t0.1\t-31.5\n"
                               "\t\t\n"
                               "0.6\t0.2\t-31.0\n"
                               "0.7\t0.3\t-30.5\n");
        r = open_with(path, "rate=120,target.depth=Gt_Depth,eye.left.direction.x=World_Gaze_Direction_L_X,"
                            "eye.left.origin.x=World_Gaze_Origin_L_X:mm");
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 0);
        ck_assert_near(f.ch[DA_CH_TARGET_DEPTH], 0.5, 1e-7);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_ORIGIN_X], -0.0315, 1e-7);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 8333);                     /* 1/120 s, rounded */
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_DIRECTION_X], 0.2, 1e-7);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 16667);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 0);
        unlink(path);
}
END_TEST

static Suite *csv_suite(void) {
        Suite *s = suite_create("reader-csv");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_map_parse_errors);
        tcase_add_test(tc, test_units_quotes_escapes);
        tcase_add_test(tc, test_markers_and_truncation);
        tcase_add_test(tc, test_bad_rows);
        tcase_add_test(tc, test_open_errors);
        tcase_add_test(tc, test_tobii_through_map);
        tcase_add_test(tc, test_robustvision_through_map);
        tcase_add_test(tc, test_rate_instead_of_time);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(csv_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
