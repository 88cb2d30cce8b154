/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The EyeLink .asc reader against real edf2asc exports (cili: EyeLink 1000,
 * edfapi 3.1; pymovements: EyeLink Portable Duo, edfapi 4.2). Counts were
 * taken outside the reader with grep/awk, as noted at each figure. */

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "reader.h"
#include "test-util.h"
#include "util.h"

#define FIXTURES TEST_SRCDIR "/fixtures/real/"
#define FULL_CILI TEST_SRCDIR "/../../shared/data/real/eyelink_cili/"

#define ck_assert_near(a, b, tol) ck_assert_msg(fabs((double) (a) - (double) (b)) <= (tol), \
                                                "%s = %.9g, expected %.9g", #a, (double) (a), (double) (b))

START_TEST(test_mono250) {
        da_error err = {};
        test_counts c;

        /* zcat mono250.asc.gz | grep -cP '^\d' → 914 (the data README agrees) */
        ck_assert_int_eq(test_read_counts(FIXTURES "eyelink_cili/mono250.asc.gz", DA_REC_EYELINK, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 914);
        ck_assert(c.increasing);
        /* first sample "5885949  510.1  383.0  1037.0  ...", GAZE_COORDS 0 0 1023 767:
         * 510.1 / 1024 = 0.498145, 383.0 / 768 = 0.498698 */
        ck_assert_uint_eq(c.first_us, UINT64_C(5885949000));
        ck_assert_near(c.first.ch[DA_CH_EYE_LEFT_SCREEN_X], 0.498145, 1e-6);
        ck_assert_near(c.first.ch[DA_CH_EYE_LEFT_SCREEN_Y], 0.498698, 1e-6);
        ck_assert_near(c.first.ch[DA_CH_PUPIL_LEFT_DIAMETER], 1037.0, 0);
        /* the last sample line is "5896117 ..." */
        ck_assert_uint_eq(c.last_us, UINT64_C(5896117000));
        /* left eye only: the right channels are never provided */
        ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_SCREEN_X], 0);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_SCREEN_X], 914);
        ck_assert_uint_eq(c.nan[DA_CH_PUPIL_RIGHT_DIAMETER], 914);
        ck_assert_uint_eq(c.nan[DA_CH_GAZE_POINT_X], 914);
}
END_TEST

START_TEST(test_bino250) {
        da_error err = {};
        test_counts c;

        /* grep -cP '^\d' → 910; four START blocks, all "LEFT RIGHT" */
        ck_assert_int_eq(test_read_counts(FIXTURES "eyelink_cili/bino250.asc.gz", DA_REC_EYELINK, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 910);
        ck_assert(c.increasing);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_SCREEN_X], 0);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_SCREEN_X], 0);
        /* "5402374  513.9  391.2  985.0  517.1  394.3  906.0": 517.1 / 1024 = 0.504980 */
        ck_assert_near(c.first.ch[DA_CH_EYE_RIGHT_SCREEN_X], 0.504980, 1e-6);
        ck_assert_near(c.first.ch[DA_CH_PUPIL_RIGHT_DIAMETER], 906.0, 0);
}
END_TEST

START_TEST(test_missing_values) {
        da_error err = {};
        test_counts c;

        /* 215 samples; awk -F'\t' '$2 ~ /^ *\.$/' → 32 with the left x missing,
         * '$5 ~ /^ *\.$/' → 25 with the right; those and only those have pupil 0.0
         * (awk '$4+0==0' → 32, '$7+0==0' → 25) */
        ck_assert_int_eq(test_read_counts(FIXTURES "eyelink_cili/binoRemote500-excerpt.asc.gz", DA_REC_EYELINK, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 215);
        ck_assert(c.increasing);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_SCREEN_X], 32);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_SCREEN_Y], 32);
        ck_assert_uint_eq(c.nan[DA_CH_PUPIL_LEFT_DIAMETER], 32);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_SCREEN_X], 25);
        ck_assert_uint_eq(c.nan[DA_CH_PUPIL_RIGHT_DIAMETER], 25);

        /* pymovements binocular: 368 samples, 97 / 80 with '.' for the left / right x */
        ck_assert_int_eq(test_read_counts(FIXTURES "eyelink_pymovements/eyelink_binocular_example.asc", DA_REC_EYELINK, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 368);
        ck_assert(c.increasing);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_SCREEN_X], 97);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_SCREEN_X], 80);
        /* "1408660  964.3  541.5  288.0  960.5 ...", GAZE_COORDS 0 0 1920 1080:
         * 964.3 / 1921 = 0.501978, 541.5 / 1081 = 0.500925 */
        ck_assert_near(c.first.ch[DA_CH_EYE_LEFT_SCREEN_X], 0.501978, 1e-6);
        ck_assert_near(c.first.ch[DA_CH_EYE_LEFT_SCREEN_Y], 0.500925, 1e-6);
}
END_TEST

START_TEST(test_2khz_times) {
        da_error err = {};
        test_counts c;

        /* edfapi 3.1 writes 2 kHz times in whole ms: 1718 samples, 859 repeat their
         * predecessor's time (awk '$1==p{d++} {p=$1}'); each repeat goes 500 µs later */
        ck_assert_int_eq(test_read_counts(FIXTURES "eyelink_cili/mono2000-excerpt.asc.gz", DA_REC_EYELINK, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 1718);
        ck_assert(c.increasing);
        ck_assert_uint_eq(c.first_us, UINT64_C(8258957000));
        ck_assert_uint_eq(c.second_us, UINT64_C(8258957500));
        ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_SCREEN_X], 1718);
        ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_SCREEN_X], 0);

        /* edfapi 4.2 writes the half ms: "2154556.5", then "2154557.0"; SAMPLES
         * carries an INPUT field before the flags */
        ck_assert_int_eq(test_read_counts(FIXTURES "eyelink_pymovements/eyelink_monocular_2khz_example.asc", DA_REC_EYELINK, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 16);
        ck_assert_uint_eq(c.first_us, UINT64_C(2154556500));
        ck_assert_uint_eq(c.second_us, UINT64_C(2154557000));
        /* GAZE_COORDS 0 0 1279 1023: 138.1 / 1280 = 0.107891 */
        ck_assert_near(c.first.ch[DA_CH_EYE_LEFT_SCREEN_X], 0.107891, 1e-6);

        ck_assert_int_eq(test_read_counts(FIXTURES "eyelink_pymovements/eyelink_monocular_example.asc", DA_REC_EYELINK, &c, &err), 0);
        ck_assert_uint_eq(c.frames, 16);
        ck_assert_uint_eq(c.first_us, UINT64_C(2154556000));
}
END_TEST

START_TEST(test_full_cili) {
        /* sample lines per file, from the data README's table */
        static const struct {
                const char *name;
                unsigned samples;
                bool left, right;
        } files[] = {
                { "mono250",       914,   true,  false },
                { "mono500",       1834,  true,  false },
                { "mono1000",      3619,  false, true  },
                { "mono2000",      8976,  false, true  },
                { "bino250",       910,   true,  true  },
                { "bino500",       1745,  true,  true  },
                { "bino1000",      3467,  true,  true  },
                { "monoRemote250", 5129,  true,  false },
                { "monoRemote500", 41582, true,  false },
                { "binoRemote250", 5125,  true,  true  },
                { "binoRemote500", 48224, true,  true  },
        };

        if (access(FULL_CILI "mono250.asc.gz", R_OK) < 0) {
                fprintf(stderr, "%s absent, full-file checks skipped\n", FULL_CILI);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(files); i++) {
                _cleanup_free_ char *path = NULL;
                da_error err = {};
                test_counts c;

                ck_assert_int_ge(asprintf(&path, FULL_CILI "%s.asc.gz", files[i].name), 0);
                ck_assert_msg(test_read_counts(path, DA_REC_EYELINK, &c, &err) == 0, "%s: %s", files[i].name, err.message);
                ck_assert_msg(c.frames == files[i].samples, "%s: %u frames", files[i].name, c.frames);
                ck_assert_msg(c.increasing, "%s: time not increasing", files[i].name);
                ck_assert_uint_eq(c.nan[DA_CH_EYE_LEFT_SCREEN_X] < c.frames, files[i].left);
                ck_assert_uint_eq(c.nan[DA_CH_EYE_RIGHT_SCREEN_X] < c.frames, files[i].right);
        }
}
END_TEST

#define HEAD "** CONVERTED FROM test.edf using edfapi 3.1\n**\n"
#define BLOCK "START\t100\tLEFT\tSAMPLES\tEVENTS\nSAMPLES\tGAZE\tLEFT\tRATE\t1000.00\tTRACKING\tCR\tFILTER\t2\n"

START_TEST(test_no_coords_raw_pixels) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_free_ char *path = NULL;
        da_error err = {};
        da_frame f;

        /* no GAZE_COORDS/DISPLAY_COORDS: pixels pass through; events, MSG and
         * indented calibration lines are skipped */
        path = test_write_temp(HEAD "MSG\t90 TRIALID 1\n\t  -77     7   -80     7\n" BLOCK
                          "100\t  640.5\t  480.0\t  900.0\t...\n"
                          "SFIX L   101\n"
                          "101\t  641.0\t  481.0\t  0.0\t...\n"
                          "EFIX L   101\t101\t1\t640.0\t480.0\t900\n"
                          "END\t102\tSAMPLES\tEVENTS\tRES\t1.0\t1.0\n");
        ck_assert_int_eq(da_reader_open(path, DA_REC_AUTO, &r, &err), 0);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 100000);
        ck_assert_near(f.ch[DA_CH_EYE_LEFT_SCREEN_X], 640.5, 0);
        ck_assert_near(f.ch[DA_CH_PUPIL_LEFT_DIAMETER], 900.0, 0);
        ck_assert_int_eq(da_reader_next(r, &f, &err), 1);
        ck_assert_uint_eq(f.time_us, 101000);
        ck_assert(isnan(f.ch[DA_CH_PUPIL_LEFT_DIAMETER]));     /* 0.0: no pupil */
        ck_assert_int_eq(da_reader_next(r, &f, &err), 0);
        unlink(path);
}
END_TEST

START_TEST(test_bad_input) {
        static const struct {
                const char *text, *needle;
                int error;
        } cases[] = {
                /* a sample before anything says which eyes */
                { HEAD "100\t1.0\t2.0\t3.0\t...\n", ":3: sample line before any START", -EINVAL },
                /* too few fields for a binocular block */
                { HEAD "START\t100\tLEFT\tRIGHT\tSAMPLES\tEVENTS\n100\t1.0\t2.0\t3.0\t...\n",
                  ":4: sample line has 5 fields, a binocular recording needs at least 7", -EINVAL },
                /* garbage in a value */
                { HEAD BLOCK "100\t1.0\t2.0\t3.0\t...\n101\t1.0\tx2\t3.0\t...\n", ":6: field 3 'x2'", -EINVAL },
                /* time going backwards */
                { HEAD BLOCK "100\t1.0\t2.0\t3.0\t...\n99\t1.0\t2.0\t3.0\t...\n", ":6: sample time 99 ms is earlier", -EINVAL },
                /* a negative time */
                { HEAD BLOCK "1-00\t1.0\t2.0\t3.0\t...\n", ":5: sample time '1-00'", -EINVAL },
                /* no samples at all */
                { HEAD BLOCK "END\t102\tSAMPLES\tEVENTS\n", "no sample lines", -ENODATA },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(da_reader_freep) da_reader *r = NULL;
                _cleanup_free_ char *path = test_write_temp(cases[i].text);
                da_error err = {};
                da_frame f;
                int k;

                ck_assert_int_eq(da_reader_open(path, DA_REC_EYELINK, &r, &err), 0);
                while ((k = da_reader_next(r, &f, &err)) > 0)
                        ;
                ck_assert_int_eq(k, cases[i].error);
                ck_assert_msg(strstr(err.message, cases[i].needle), "case %zu: %s", i, err.message);
                unlink(path);
        }
}
END_TEST

START_TEST(test_sniff) {
        ck_assert(reader_eyelink_ops.sniff("** CONVERTED FROM D:\\x\\sub_1.edf using edfapi 4.2.1 Win32"));
        ck_assert(!reader_eyelink_ops.sniff("device_time_stamp;left_gaze_point_on_display_area"));
        ck_assert(!reader_eyelink_ops.sniff("MSG\t100 hello"));
}
END_TEST

static Suite *eyelink_suite(void) {
        Suite *s = suite_create("reader-eyelink");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_mono250);
        tcase_add_test(tc, test_bino250);
        tcase_add_test(tc, test_missing_values);
        tcase_add_test(tc, test_2khz_times);
        tcase_add_test(tc, test_full_cili);
        tcase_add_test(tc, test_no_coords_raw_pixels);
        tcase_add_test(tc, test_bad_input);
        tcase_add_test(tc, test_sniff);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(eyelink_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
