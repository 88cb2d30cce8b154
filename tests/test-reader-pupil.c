/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The Pupil Player export reader (gaze_positions.csv). The fixture is the
 * Robust Vision excerpt written in Player's layout by
 * fixtures/pupil/make-gaze-positions.py; its frames must equal those the
 * Robust Vision reader gives for the source file (eye 0 = right, mm → m),
 * which checks the column mapping against an independent reader. */

#include <check.h>
#include <math.h>
#include <unistd.h>

#include "test-util.h"
#include "util.h"

#define RV_HEAD TEST_SRCDIR "/fixtures/robustvision/P14-head.tsv"
#define PUPIL_HEAD TEST_SRCDIR "/fixtures/pupil/P14-head-gaze_positions.csv"

#define HEADER "gaze_timestamp,world_index,confidence,norm_pos_x,norm_pos_y,base_data," \
        "gaze_point_3d_x,gaze_point_3d_y,gaze_point_3d_z,eye_center0_3d_x,eye_center0_3d_y,eye_center0_3d_z," \
        "gaze_normal0_x,gaze_normal0_y,gaze_normal0_z,eye_center1_3d_x,eye_center1_3d_y,eye_center1_3d_z," \
        "gaze_normal1_x,gaze_normal1_y,gaze_normal1_z\n"

/* Same value to float rounding (the export went through mm). */
static bool same(float a, float b) {
        if (isnan(a) || isnan(b))
                return isnan(a) && isnan(b);
        return fabsf(a - b) <= 1e-6f * fmaxf(1.0f, fabsf(b));
}

START_TEST(test_matches_robustvision) {
        _cleanup_(da_reader_freep) da_reader *rv = NULL, *pu = NULL;
        da_error err = {};
        da_frame a, b;
        uint64_t t0_rv = 0, t0_pu = 0;
        unsigned n = 0;
        int k;

        ck_assert_msg(da_reader_open(RV_HEAD, DA_REC_AUTO, &rv, &err) == 0, "%s", err.message);
        ck_assert_msg(da_reader_open(PUPIL_HEAD, DA_REC_AUTO, &pu, &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_reader_format(pu), DA_REC_PUPIL);
        while ((k = da_reader_next(rv, &a, &err)) > 0) {
                ck_assert_int_eq(da_reader_next(pu, &b, &err), 1);
                if (n == 0) {
                        t0_rv = a.time_us;
                        t0_pu = b.time_us;
                        ck_assert_uint_eq(t0_pu, 3412500000);   /* Pupil time 3412.5 s */
                }
                ck_assert_uint_eq(a.time_us - t0_rv, b.time_us - t0_pu);
                for (unsigned c = 0; c < _DA_CH_MAX; c++) {
                        if (c == DA_CH_TARGET_DEPTH)
                                continue;       /* Pupil has no target */
                        ck_assert_msg(same(b.ch[c], a.ch[c]), "frame %u %s: pupil %.9g, robustvision %.9g",
                                      n, da_channel_name(c), b.ch[c], a.ch[c]);
                }
                ck_assert(isnan(b.ch[DA_CH_TARGET_DEPTH]));
                n++;
        }
        ck_assert_int_eq(k, 0);
        ck_assert_int_eq(da_reader_next(pu, &b, &err), 0);
        ck_assert_uint_eq(n, 198);
}
END_TEST

static da_reader *open_text(const char *text, char **ret_path) {
        da_reader *r = NULL;
        da_error err = {};

        *ret_path = test_write_temp(text);
        ck_assert_msg(da_reader_open(*ret_path, DA_REC_PUPIL, &r, &err) == 0, "%s", err.message);
        return r;
}

/* Monocular rows: eye 1 in the "1" columns (current Player) or in the "0"
 * columns (older Player), base_data naming the eye; eye 0 in the "0" columns. */
START_TEST(test_monocular_and_confidence) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL;
        da_error err = {};
        da_frame f;

        r = open_text(HEADER
                      "10.0,0,0.9,,,10.0-1,1,2,3,-30,1,20,0.1,0.2,0.97,,,,,,\n"
                      "10.002,0,0.9,,,10.002-1,1,2,3,,,,,,,-30,1,20,0.1,0.2,0.97\n"
                      "10.004,0,0.9,,,10.004-0,1,2,3,30,1,20,0.3,0.2,0.93,,,,,,\n"
                      "10.008,1,0.3,,,10.008-0 10.008-1,1,2,3,30,1,20,0.3,0.2,0.93,-30,1,20,0.1,0.2,0.97\n"
                      "10.006,1,nan,,,10.006-0 10.006-1,1,2,3,30,1,20,0.3,0.2,0.93,-30,1,20,0.1,0.2,0.97\n",
                      &path);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 10000000);
        ck_assert_float_eq_tol(f.ch[DA_CH_EYE_LEFT_ORIGIN_X], -0.030f, 1e-7f);
        ck_assert_float_eq_tol(f.ch[DA_CH_EYE_LEFT_DIRECTION_Z], 0.97f, 1e-7f);
        ck_assert_float_eq_tol(f.ch[DA_CH_GAZE_POINT_Z], 0.003f, 1e-7f);
        ck_assert(isnan(f.ch[DA_CH_EYE_RIGHT_ORIGIN_X]));
        ck_assert(isnan(f.ch[DA_CH_EYE_RIGHT_DIRECTION_X]));

        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 10002000);
        ck_assert_float_eq_tol(f.ch[DA_CH_EYE_LEFT_ORIGIN_X], -0.030f, 1e-7f);
        ck_assert_float_eq_tol(f.ch[DA_CH_EYE_LEFT_DIRECTION_Z], 0.97f, 1e-7f);
        ck_assert(isnan(f.ch[DA_CH_EYE_RIGHT_ORIGIN_X]));

        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_float_eq_tol(f.ch[DA_CH_EYE_RIGHT_ORIGIN_X], 0.030f, 1e-7f);
        ck_assert_float_eq_tol(f.ch[DA_CH_EYE_RIGHT_DIRECTION_X], 0.3f, 1e-7f);
        ck_assert(isnan(f.ch[DA_CH_EYE_LEFT_ORIGIN_X]));

        /* below Player's 0.6: the time stays, every channel is missing */
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 10008000);
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                ck_assert(isnan(f.ch[c]));
        /* a stamp stepping back is held; an unreadable confidence is low */
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 10008000);
        ck_assert(isnan(f.ch[DA_CH_GAZE_POINT_X]));
        ck_assert_int_eq(da_reader_next(r, &f, &err), 0);
        unlink(path);
}
END_TEST

START_TEST(test_errors) {
        static const struct {
                const char *text, *needle;
        } cases[] = {
                { "gaze_timestamp,confidence,gaze_normal0_x\n1,1,0\n",        "required column 'gaze_point_3d_x'" },
                { HEADER "1.0,0,0.9\n",                                      "3 fields, the header has 21" },
                { HEADER "-1.0,0,0.9,,,,1,2,3,4,5,6,0,0,1,4,5,6,0,0,1\n",    "'-1.0' is not a valid gaze_timestamp" },
                { HEADER "x,0,0.9,,,,1,2,3,4,5,6,0,0,1,4,5,6,0,0,1\n",       "'x' is not a valid gaze_timestamp" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(da_reader_freep) da_reader *r = NULL;
                _cleanup_free_ char *path = test_write_temp(cases[i].text);
                da_error err = {};
                da_frame f;
                int k;

                k = da_reader_open(path, DA_REC_PUPIL, &r, &err);
                if (k == 0)
                        k = da_reader_next(r, &f, &err);
                ck_assert_int_lt(k, 0);
                ck_assert_msg(strstr(err.message, cases[i].needle), "case %zu: %s", i, err.message);
                unlink(path);
        }
}
END_TEST

/* The header without base_data (older Player versions) and in another
 * column order is still found by name; "auto" recognises it. */
START_TEST(test_sniff) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL;
        da_error err = {};
        da_frame f;

        path = test_write_temp("confidence,gaze_timestamp,gaze_point_3d_x,gaze_point_3d_y,gaze_point_3d_z,"
                               "gaze_normal1_x,gaze_normal1_y,gaze_normal1_z,eye_center1_3d_x,eye_center1_3d_y,"
                               "eye_center1_3d_z,gaze_normal0_x,gaze_normal0_y,gaze_normal0_z,eye_center0_3d_x,"
                               "eye_center0_3d_y,eye_center0_3d_z\n"
                               "1.0,5.5,1,2,3,0,0,1,-30,0,0,0,0,-1,30,0,0\n");
        ck_assert_msg(da_reader_open(path, DA_REC_AUTO, &r, &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_reader_format(r), DA_REC_PUPIL);
        ck_assert_str_eq(da_recording_format_to_string(DA_REC_PUPIL), "pupil");
        ck_assert_int_eq(da_recording_format_from_string("pupil"), DA_REC_PUPIL);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 5500000);
        ck_assert_float_eq_tol(f.ch[DA_CH_EYE_LEFT_ORIGIN_X], -0.030f, 1e-7f);
        ck_assert_float_eq(f.ch[DA_CH_EYE_RIGHT_DIRECTION_Z], -1.0f);
        unlink(path);
}
END_TEST

int main(void) {
        Suite *s = suite_create("reader-pupil");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_matches_robustvision);
        tcase_add_test(tc, test_monocular_and_confidence);
        tcase_add_test(tc, test_errors);
        tcase_add_test(tc, test_sniff);
        suite_add_tcase(s, tc);
        return test_run(s);
}
