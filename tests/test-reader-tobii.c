/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The tobii_research GazeData CSV reader against the real EMDAT Tobii 4C
 * recording. Expected figures were worked out outside the reader: counts by
 * awk over the fixture (commands in the comments), values from the first
 * row's text with plain arithmetic (shown in the comments). */

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "reader.h"
#include "test-util.h"
#include "util.h"

#define EXCERPT TEST_SRCDIR "/fixtures/real/tobii4c_emdat/4Ctest-excerpt.csv"
#define FULL TEST_SRCDIR "/../../shared/data/real/tobii4c_emdat/4Ctest.csv"

#define HEADER \
        "right_pupil_validity;right_gaze_point_on_display_area;left_gaze_origin_validity;system_time_stamp;" \
        "right_gaze_origin_in_user_coordinate_system;left_gaze_point_in_user_coordinate_system;" \
        "left_gaze_origin_in_user_coordinate_system;left_pupil_validity;right_pupil_diameter;" \
        "left_gaze_origin_in_trackbox_coordinate_system;right_gaze_point_in_user_coordinate_system;" \
        "left_pupil_diameter;right_gaze_origin_validity;left_gaze_point_validity;right_gaze_point_validity;" \
        "left_gaze_point_on_display_area;right_gaze_origin_in_trackbox_coordinate_system;device_time_stamp"

/* The first data row of 4Ctest.csv, verbatim, with its time as a parameter;
 * ROW_REST is all but its first field, right_pupil_validity. */
#define ROW(t) "1" ROW_REST(t)
#define ROW_REST(t) \
        ";(0.13755352795124054, 0.6365429759025574);1;1.56466617033e+15;" \
        "(-17.85668182373047, 97.64763641357422, 634.5851440429688);" \
        "(-232.8424530029297, 129.14559936523438, 38.959293365478516);" \
        "(-78.99529266357422, 90.70268249511719, 628.6882934570312);1;2.97882080078;" \
        "(0.6725460290908813, 0.22955726087093353, 0.4801815152168274);" \
        "(-216.38055419921875, 131.5557403564453, 39.83646774291992);3.37985229492;1;1;1;" \
        "(0.10997918248176575, 0.6441805958747864);(0.5335636734962463, 0.2119835466146469, 0.4846046268939972);" t

START_TEST(test_excerpt_counts) {
        da_error err = {};
        test_counts c;

        /* 76 complete rows: awk -F';' 'NR>1 && NF==18' 4Ctest-excerpt.csv | wc -l;
         * the last line has 11 fields and no line end: dropped, no error */
        ck_assert_int_eq(test_read_counts(EXCERPT, DA_REC_TOBII, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 76);
        ck_assert(c.increasing);
        ck_assert_uint_eq(c.first_us, 491999899);

        /* right eye: awk -F';' 'NR>1 && NF==18 && ($1==0 || $9=="nan")' → 36 rows,
         * the same 36 have right gaze point and origin validity 0 */
        ck_assert_uint_eq(c.nan[DA_CH_PUPIL_RIGHT_DIAMETER], 36);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_SCREEN_X], 36);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_ORIGIN_Z], 36);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_DIRECTION_Z], 36);
        /* left eye: $14==0 (gaze point) and $3==0 / $8==0 (origin / pupil) → 5 rows each */
        ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_SCREEN_Y], 5);
        ck_assert_uint_eq(c.nan[DA_CH_PUPIL_LEFT_DIAMETER], 5);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_ORIGIN_X], 5);
        /* gaze.point needs one valid eye: $14==0 && $15==0 → 1 row */
        ck_assert_uint_eq(c.nan[DA_CH_GAZE_POINT_X], 1);
        /* never provided */
        ck_assert_uint_eq(c.nan[DA_CH_HEAD_ROTATION_X], 76);
        ck_assert_uint_eq(c.nan[DA_CH_TARGET_DEPTH], 76);
}
END_TEST

START_TEST(test_full_file) {
        da_error err = {};
        test_counts c;

        if (access(FULL, R_OK) < 0) {
                fprintf(stderr, "%s absent, full-file check skipped\n", FULL);
                return;
        }
        /* 453 complete samples (the data README; awk NF==18 count), last
         * device_time_stamp 497018511 (awk 'NR==454{print $18}'), 38 with the
         * right pupil invalid, 5 with the left, 1 with both gaze points */
        ck_assert_int_eq(test_read_counts(FULL, DA_REC_TOBII, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 453);
        ck_assert(c.increasing);
        ck_assert_uint_eq(c.first_us, 491999899);
        ck_assert_uint_eq(c.last_us, 497018511);
        ck_assert_uint_eq(c.nan[DA_CH_PUPIL_RIGHT_DIAMETER], 38);
        ck_assert_uint_eq(c.nan[DA_CH_PUPIL_LEFT_DIAMETER], 5);
        ck_assert_uint_eq(c.nan[DA_CH_GAZE_POINT_Z], 1);
}
END_TEST

#define ck_assert_near(a, b, tol) ck_assert_msg(fabs((double) (a) - (double) (b)) <= (tol), \
                                                "%s = %.9g, expected %.9g", #a, (double) (a), (double) (b))

START_TEST(test_first_row_values) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        da_error err = {};
        da_frame f;

        ck_assert_int_eq(da_reader_open(EXCERPT, DA_REC_TOBII, &r, &err), 0);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);

        ck_assert_uint_eq(f.time_us, 491999899);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_SCREEN_X], 0.10997918248176575, 1e-7);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_SCREEN_Y], 0.6441805958747864, 1e-7);
        ck_assert_near(f.ch[DA_CH_EYE_RIGHT_SCREEN_X], 0.13755352795124054, 1e-7);
        ck_assert_near(f.ch[DA_CH_EYE_RIGHT_SCREEN_Y], 0.6365429759025574, 1e-7);
        /* mm → m */
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_ORIGIN_X], -0.07899529266, 1e-8);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_ORIGIN_Y], 0.09070268249, 1e-8);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_ORIGIN_Z], 0.62868829346, 1e-7);
        ck_assert_near(f.ch[DA_CH_EYE_RIGHT_ORIGIN_Z], 0.63458514404, 1e-7);
        ck_assert_near(f.ch[DA_CH_PUPIL_LEFT_DIAMETER], 0.00337985229492, 1e-10);
        ck_assert_near(f.ch[DA_CH_PUPIL_RIGHT_DIAMETER], 0.00297882080078, 1e-10);
        /* mean of the two gaze points: (−232.84245 + −216.38055)/2 = −224.61150 mm,
         * (129.14560 + 131.55574)/2 = 130.35067, (38.95929 + 39.83647)/2 = 39.39788 */
        ck_assert_near(f.ch[DA_CH_GAZE_POINT_X], -0.22461150, 1e-7);
        ck_assert_near(f.ch[DA_CH_GAZE_POINT_Y], 0.13035067, 1e-7);
        ck_assert_near(f.ch[DA_CH_GAZE_POINT_Z], 0.03939788, 1e-7);
        /* left: point − origin = (−153.84716, 38.44291, −589.72894) mm,
         * |·| = √(23668.95 + 1477.86 + 347780.22) = 610.67751,
         * direction = (−0.251928, 0.062951, −0.965696) */
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_DIRECTION_X], -0.251928, 2e-6);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_DIRECTION_Y], 0.062951, 2e-6);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_DIRECTION_Z], -0.965696, 2e-6);
        /* right: (−198.52387, 33.90810, −594.74868), |·| = √(39411.73 + 1149.76 + 353725.98)
         * = 627.92314, direction = (−0.316160, 0.054000, −0.947168) */
        ck_assert_near(f.ch[DA_CH_EYE_RIGHT_DIRECTION_X], -0.316160, 2e-6);
        ck_assert_near(f.ch[DA_CH_EYE_RIGHT_DIRECTION_Y], 0.054000, 2e-6);
        ck_assert_near(f.ch[DA_CH_EYE_RIGHT_DIRECTION_Z], -0.947168, 2e-6);
}
END_TEST

START_TEST(test_truncated_last_line_only) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL;
        da_error err = {};
        da_frame f;

        /* a complete row, then one cut inside a tuple, then trailing empty lines */
        path = test_write_temp(HEADER "\r\r\n" ROW("100") "\r\r\n" "1;(0.13, 0.6);1;1.5e+15;(-17.8\r\r\n\r\r\n");
        ck_assert_int_eq(da_reader_open(path, DA_REC_AUTO, &r, &err), 0);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 100);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 0);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 0);
        unlink(path);
}
END_TEST

START_TEST(test_truncated_middle_line) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL;
        da_error err = {};
        da_frame f;

        /* the cut row is line 3 and a good row follows: an error naming line 3 */
        path = test_write_temp(HEADER "\r\r\n" ROW("100") "\r\r\n" "1;(0.13, 0.6);1;1.5e+15;(-17.8\r\r\n" ROW("300") "\r\r\n");
        ck_assert_int_eq(da_reader_open(path, DA_REC_AUTO, &r, &err), 0);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_int_eq(da_reader_next(r, &f, &err), -EINVAL);
        ck_assert_msg(strstr(err.message, ":3:") && strstr(err.message, "5 fields, the header has 18"),
                      "message: %s", err.message);
        /* the failure sticks */
        memset(&err, 0, sizeof(err));
        ck_assert_int_eq(da_reader_next(r, &f, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, ":3:"));
        unlink(path);
}
END_TEST

START_TEST(test_bad_rows) {
        static const struct {
                const char *text, *needle;
        } cases[] = {
                /* time going backwards in the middle */
                { HEADER "\n" ROW("300") "\n" ROW("200") "\n" ROW("400") "\n", ":3: device_time_stamp 200 is earlier" },
                /* a validity code other than 0/1 */
                { HEADER "\n" "2" ROW_REST("300") "\n" ROW("400") "\n", ":2: right_pupil_validity is '2'" },
                /* a number that is not one */
                { HEADER "\n" ROW("3x0") "\n" ROW("400") "\n", ":2: device_time_stamp '3x0'" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(da_reader_freep) da_reader *r = NULL;
                _cleanup_free_ char *path = test_write_temp(cases[i].text);
                da_error err = {};
                da_frame f;
                int k;

                ck_assert_int_eq(da_reader_open(path, DA_REC_TOBII, &r, &err), 0);
                while ((k = da_reader_next(r, &f, &err)) > 0)
                        ;
                ck_assert_int_eq(k, -EINVAL);
                ck_assert_msg(strstr(err.message, cases[i].needle), "case %zu: %s", i, err.message);
                unlink(path);
        }
}
END_TEST

START_TEST(test_bad_header) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL, *header_only = NULL;
        da_error err = {};
        da_frame f;

        path = test_write_temp("left_gaze_point_on_display_area;right_pupil_diameter\n(0.1, 0.2);3.0\n");
        ck_assert_int_eq(da_reader_open(path, DA_REC_TOBII, &r, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "device_time_stamp"));
        ck_assert_ptr_null(r);
        unlink(path);

        /* a header and nothing else is no recording */
        header_only = test_write_temp(HEADER "\r\r\n");
        ck_assert_int_eq(da_reader_open(header_only, DA_REC_AUTO, &r, &err), 0);
        ck_assert_int_eq(da_reader_next(r, &f, &err), -ENODATA);
        unlink(header_only);
}
END_TEST

START_TEST(test_sniff) {
        ck_assert(reader_tobii_ops.sniff(HEADER));
        ck_assert(!reader_tobii_ops.sniff("** CONVERTED FROM x.edf using edfapi 3.1"));
        ck_assert(!reader_tobii_ops.sniff("System Timestamp\tMessage\tGT_depth"));
}
END_TEST

static Suite *tobii_suite(void) {
        Suite *s = suite_create("reader-tobii");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_excerpt_counts);
        tcase_add_test(tc, test_full_file);
        tcase_add_test(tc, test_first_row_values);
        tcase_add_test(tc, test_truncated_last_line_only);
        tcase_add_test(tc, test_truncated_middle_line);
        tcase_add_test(tc, test_bad_rows);
        tcase_add_test(tc, test_bad_header);
        tcase_add_test(tc, test_sniff);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(tobii_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
