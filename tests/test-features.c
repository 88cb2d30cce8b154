/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Derived features on hand-worked geometry and timing, against an
 * independent numpy implementation over a Robust Vision excerpt, and the
 * robust scaler against numpy's percentiles. */

#include <math.h>

#include "test-util.h"

static int feat(const char *name) {
        int i = da_feature_from_name(name);

        ck_assert_msg(i >= 0, "feature %s not found", name);
        return i;
}

static void assert_near(double got, double want, double tol, const char *what) {
        ck_assert_msg(fabs(got - want) <= tol, "%s: got %.9g, want %.9g", what, got, want);
}

/* All features of one frame, from a fresh featurizer. */
static void features_of(const da_frame *f, float *ret) {
        da_featurizer *fz;

        ck_assert_int_eq(da_featurizer_new(NULL, 0, &fz), 0);
        ck_assert_int_eq(da_featurizer_push(fz, f, ret), 0);
        da_featurizer_free(fz);
}

static void set_dirs(da_frame *f, const double r[3], const double l[3]) {
        f->ch[DA_CH_EYE_RIGHT_DIRECTION_X] = (float) r[0];
        f->ch[DA_CH_EYE_RIGHT_DIRECTION_Y] = (float) r[1];
        f->ch[DA_CH_EYE_RIGHT_DIRECTION_Z] = (float) r[2];
        f->ch[DA_CH_EYE_LEFT_DIRECTION_X] = (float) l[0];
        f->ch[DA_CH_EYE_LEFT_DIRECTION_Y] = (float) l[1];
        f->ch[DA_CH_EYE_LEFT_DIRECTION_Z] = (float) l[2];
}

/* Eyes at x = ±0.032 m, both fixating (0, 0, 0.5) straight ahead. Each
 * direction is (∓0.032, 0, 0.5)/√(0.032² + 0.5²), so by symmetry
 *   vergence angle = 2·atan(0.032/0.5) (7.324° here),
 *   depth = IPD / (2·tan(angle/2)) = 0.064 / (2·0.064) = 0.5 m,
 *   cos(angle) = (1 − 0.064²)/(1 + 0.064²)      (tan half-angle identity),
 *   Delta_Gaze_X = −2·0.032/√(0.032² + 0.25), Delta_Gaze_Y = Delta_Gaze_Z = 0,
 *   x ratio −1, y ratio 0/0 → NaN, z ratio 1, magnitudes 1. */
static void converging_frame(da_frame *f) {
        double n = sqrt(0.032 * 0.032 + 0.25);
        double r[3] = { -0.032 / n, 0, 0.5 / n }, l[3] = { 0.032 / n, 0, 0.5 / n };

        da_frame_init(f, 1000);
        set_dirs(f, r, l);
        f->ch[DA_CH_EYE_RIGHT_ORIGIN_X] = 0.032f;
        f->ch[DA_CH_EYE_RIGHT_ORIGIN_Z] = 0;
        f->ch[DA_CH_EYE_LEFT_ORIGIN_X] = -0.032f;
        f->ch[DA_CH_EYE_LEFT_ORIGIN_Z] = 0;
}

START_TEST(test_geometry) {
        double half = atan(0.032 / 0.5), n = sqrt(0.032 * 0.032 + 0.25);
        double deg = 2 * half * 180 / M_PI;
        float v[64];
        da_frame f;

        converging_frame(&f);
        features_of(&f, v);

        assert_near(v[feat("Vergence_Angle")], deg, 1e-4, "Vergence_Angle");
        assert_near(v[feat("Normalized_Vergence_Angle")], 2 * deg / 20 - 1, 1e-5, "Normalized_Vergence_Angle");
        assert_near(v[feat("Vergence_Depth")], 0.5, 1e-5, "Vergence_Depth");
        assert_near(v[feat("Inter_Pupillary_Distance")], 0.064, 1e-7, "Inter_Pupillary_Distance");
        assert_near(v[feat("Cosine_Angles")], (1 - 0.064 * 0.064) / (1 + 0.064 * 0.064), 1e-6, "Cosine_Angles");
        assert_near(v[feat("Gaze_Vector_Angle")], 2 * half, 1e-6, "Gaze_Vector_Angle");
        assert_near(v[feat("Gaze_Direction_Angle")], 2 * half, 1e-6, "Gaze_Direction_Angle");
        assert_near(v[feat("Angular_Difference_Gaze_Directions")], 2 * half, 1e-6, "Angular_Difference");
        assert_near(v[feat("Delta_Gaze_X")], -0.064 / n, 1e-6, "Delta_Gaze_X");
        assert_near(v[feat("Angular_Difference_X")], -0.064 / n, 1e-6, "Angular_Difference_X");
        assert_near(v[feat("Delta_Gaze_Y")], 0, 0, "Delta_Gaze_Y");
        assert_near(v[feat("Delta_Gaze_Z")], 0, 0, "Delta_Gaze_Z");
        assert_near(v[feat("Gaze_Point_Distance")], 0.064 / n, 1e-6, "Gaze_Point_Distance");
        assert_near(v[feat("Gaze_Point_Euclidean_Distance")], 0.064 / n, 1e-6, "Gaze_Point_Euclidean_Distance");
        assert_near(v[feat("Directional_Magnitude_R")], 1, 1e-6, "Directional_Magnitude_R");
        assert_near(v[feat("Directional_Magnitude_Ratio")], 1, 1e-6, "Directional_Magnitude_Ratio");
        assert_near(v[feat("Gaze_Direction_X_Ratio")], -1, 1e-7, "Gaze_Direction_X_Ratio");
        assert_near(v[feat("Ratio_World_Gaze_Direction_Z")], 1, 1e-7, "Ratio_World_Gaze_Direction_Z");
        ck_assert(isnan(v[feat("Gaze_Direction_Y_Ratio")]));
        ck_assert(isnan(v[feat("Ratio_Delta_Gaze_XY")]));
        assert_near(v[feat("World_Gaze_Origin_L_X")], -0.032f, 0, "World_Gaze_Origin_L_X");
        /* a single frame has no history */
        assert_near(v[feat("Velocity_Gaze_Direction_R_X")], 0, 0, "velocity of the first frame");
        assert_near(v[feat("Relative_Change_Vergence_Angle")], 0, 0, "change on the first frame");
}
END_TEST

/* Eye origins with Y: 3-D distance √(0.064² + 0.01²); Y on one eye only
 * is inconsistent and gives NaN. Parallel gaze: angle 0 and, by the papers'
 * convention, depth 0. */
START_TEST(test_ipd_and_parallel) {
        double d[3] = { 0, 0, 1 };
        float v[64];
        da_frame f;

        converging_frame(&f);
        f.ch[DA_CH_EYE_RIGHT_ORIGIN_Y] = 0.01f;
        f.ch[DA_CH_EYE_LEFT_ORIGIN_Y] = 0;
        features_of(&f, v);
        assert_near(v[feat("Inter_Pupillary_Distance")], sqrt(0.064 * 0.064 + 0.01 * 0.01), 1e-7, "IPD 3-D");

        f.ch[DA_CH_EYE_LEFT_ORIGIN_Y] = NAN;
        features_of(&f, v);
        ck_assert(isnan(v[feat("Inter_Pupillary_Distance")]));
        ck_assert(isnan(v[feat("Vergence_Depth")]));

        converging_frame(&f);
        set_dirs(&f, d, d);
        features_of(&f, v);
        assert_near(v[feat("Vergence_Angle")], 0, 0, "parallel angle");
        assert_near(v[feat("Vergence_Depth")], 0, 0, "parallel depth");
        assert_near(v[feat("Cosine_Angles")], 1, 0, "parallel cosine");
}
END_TEST

/* A missing left eye makes exactly the features that need it NaN. */
START_TEST(test_missing_channels) {
        da_channel need[_DA_CH_MAX];
        float v[64];
        da_frame f;

        converging_frame(&f);
        f.ch[DA_CH_EYE_LEFT_DIRECTION_X] = NAN;
        f.ch[DA_CH_EYE_LEFT_DIRECTION_Y] = NAN;
        f.ch[DA_CH_EYE_LEFT_DIRECTION_Z] = NAN;
        features_of(&f, v);

        for (unsigned i = 0; i < da_feature_count(); i++) {
                int n = da_feature_channels(i, need, _DA_CH_MAX);
                bool needs_left = false;
                const char *name = da_feature_get(i)->name;

                ck_assert_int_gt(n, 0);
                for (int k = 0; k < n; k++)
                        needs_left |= need[k] == DA_CH_EYE_LEFT_DIRECTION_X ||
                                      need[k] == DA_CH_EYE_LEFT_DIRECTION_Y ||
                                      need[k] == DA_CH_EYE_LEFT_DIRECTION_Z;
                /* first-frame velocities are 0 by definition, whatever the input */
                if (strstr(name, "Velocity_") || strstr(name, "Acceleration_") ||
                    streq(name, "Relative_Change_Vergence_Angle"))
                        continue;
                if (needs_left)
                        ck_assert_msg(isnan(v[i]), "%s should be NaN without the left eye, is %g", name, v[i]);
                else
                        ck_assert_msg(!isnan(v[i]), "%s should not need the left eye", name);
        }
}
END_TEST

/* R_X moves 0, 0.01, 0.03, 0.06 at t = 0, 10, 20, 30 ms: the mean period is
 * 0.01 s throughout, so velocities are 0 (first frame), 1, 2, 3 /s and
 * accelerations 0, (1−0)/0.01 = 100, 100, 100 /s². With the left eye
 * fixed at (0, 0, 1) the vergence angle is atan(x), and its change is the
 * difference of consecutive angles. */
START_TEST(test_velocity_known_dt) {
        static const double x[] = { 0, 0.01, 0.03, 0.06 };
        static const double vel[] = { 0, 1, 2, 3 }, acc[] = { 0, 100, 100, 100 };
        unsigned sel[4] = { feat("Velocity_Gaze_Direction_R_X"), feat("Acceleration_Gaze_Direction_R_X"),
                            feat("Relative_Change_Vergence_Angle"), feat("Vergence_Angle") };
        da_featurizer *fz;
        float v[4], prev_angle = 0;

        ck_assert_int_eq(da_featurizer_new(sel, 4, &fz), 0);
        ck_assert_uint_eq(da_featurizer_n_features(fz), 4);
        for (int pass = 0; pass < 2; pass++) {
                for (unsigned i = 0; i < 4; i++) {
                        double r[3] = { x[i], 0, 1 }, l[3] = { 0, 0, 1 };
                        da_frame f;

                        da_frame_init(&f, 5000000 + i * 10000);
                        set_dirs(&f, r, l);
                        ck_assert_int_eq(da_featurizer_push(fz, &f, v), 0);
                        assert_near(v[0], vel[i], 1e-4, "velocity");
                        assert_near(v[1], acc[i], 1e-2, "acceleration");
                        /* angle between (x,0,1) and (0,0,1) is atan(x) */
                        assert_near(v[3], atan(x[i]) * 180 / M_PI, 1e-4, "angle");
                        assert_near(v[2], i == 0 ? 0 : v[3] - prev_angle, 1e-4, "change of angle");
                        prev_angle = v[3];
                }
                /* after a reset the stream starts over */
                da_featurizer_reset(fz);
        }
        da_featurizer_free(fz);
}
END_TEST

/* Batched stamps t = 0, 0, 20, 20, 40, 40 ms with R_X rising 0.01 per frame.
 * The mean period over the kept stamps, (t_k − t_0)/k, is 0, 10, 6.67, 10,
 * 8 ms for k = 1..5, so the velocities are 0 (no time yet), 0.01/0.01 = 1,
 * 0.01/(0.02/3) = 1.5, 1, 0.01/0.008 = 1.25 — finite, never a division by
 * the zero interval between equal stamps. */
START_TEST(test_velocity_batched) {
        static const unsigned t_ms[] = { 0, 0, 20, 20, 40, 40 };
        static const double vel[] = { 0, 0, 1, 1.5, 1, 1.25 };
        unsigned sel = feat("Velocity_Gaze_Direction_R_X");
        da_featurizer *fz;
        float v;

        ck_assert_int_eq(da_featurizer_new(&sel, 1, &fz), 0);
        for (unsigned i = 0; i < 6; i++) {
                double r[3] = { 0.01 * i, 0, 1 }, l[3] = { 0, 0, 1 };
                da_frame f;

                da_frame_init(&f, t_ms[i] * 1000ull);
                set_dirs(&f, r, l);
                ck_assert_int_eq(da_featurizer_push(fz, &f, &v), 0);
                assert_near(v, vel[i], 1e-4, "batched velocity");
        }
        da_featurizer_free(fz);
}
END_TEST

/* The papers' Robust Vision input set, in the order of input_features in
 * their preprocessing (benedikt-hosp/actif, models/foval/foval_preprocessor.py). */
START_TEST(test_names) {
        static const char *const paper[] = {
                "World_Gaze_Direction_R_X", "World_Gaze_Direction_R_Y", "World_Gaze_Direction_R_Z",
                "World_Gaze_Direction_L_X", "World_Gaze_Direction_L_Y", "World_Gaze_Direction_L_Z",
                "World_Gaze_Origin_R_X", "World_Gaze_Origin_R_Z", "World_Gaze_Origin_L_X",
                "World_Gaze_Origin_L_Z", "Vergence_Angle", "Normalized_Vergence_Angle", "Vergence_Depth",
                "Cosine_Angles", "Delta_Gaze_X", "Delta_Gaze_Y", "Delta_Gaze_Z", "Gaze_Vector_Angle",
                "Gaze_Point_Euclidean_Distance", "Directional_Magnitude_R", "Directional_Magnitude_L",
                "Directional_Magnitude_Ratio", "Gaze_Direction_X_Ratio", "Gaze_Direction_Y_Ratio",
                "Gaze_Direction_Z_Ratio", "Ratio_Delta_Gaze_XY", "Gaze_Direction_Angle",
                "Relative_Change_Vergence_Angle", "Angular_Difference_Gaze_Directions",
                "Ratio_Directional_Magnitude", "Gaze_Point_Distance", "Gaze_Point_Depth_Difference",
                "Ratio_World_Gaze_Direction_X", "Ratio_World_Gaze_Direction_Y",
                "Ratio_World_Gaze_Direction_Z", "Velocity_Gaze_Direction_R_X",
                "Acceleration_Gaze_Direction_R_X", "Angular_Difference_X",
        };
        da_channel ch[4];
        unsigned bad = 1000;
        da_featurizer *fz = NULL;

        ck_assert_uint_eq(ELEMENTSOF(paper), DA_FEATURES_ROBUSTVISION);
        ck_assert_uint_ge(da_feature_count(), DA_FEATURES_ROBUSTVISION);
        for (unsigned i = 0; i < DA_FEATURES_ROBUSTVISION; i++)
                ck_assert_str_eq(da_feature_get(i)->name, paper[i]);
        for (unsigned i = 0; i < da_feature_count(); i++) {
                const da_feature_info *fi = da_feature_get(i);

                ck_assert_int_eq(da_feature_from_name(fi->name), (int) i);
                ck_assert(fi->unit && *fi->unit && fi->description && *fi->description);
        }
        ck_assert_ptr_null(da_feature_get(da_feature_count()));
        ck_assert_int_eq(da_feature_from_name("Estimated_Depth"), -ENOENT);
        ck_assert_int_eq(da_feature_from_name(NULL), -ENOENT);
        ck_assert_str_eq(da_feature_get(feat("Vergence_Depth"))->unit, "m");

        /* Vergence_Depth needs both directions (6) and the X/Z origins (4);
         * a short buffer still reports the full count. */
        ck_assert_int_eq(da_feature_channels(feat("Vergence_Depth"), NULL, 0), 10);
        ck_assert_int_eq(da_feature_channels(feat("Vergence_Depth"), ch, 4), 10);
        ck_assert_int_eq(da_feature_channels(feat("World_Gaze_Origin_L_Z"), ch, 4), 1);
        ck_assert_int_eq(ch[0], DA_CH_EYE_LEFT_ORIGIN_Z);
        ck_assert_int_eq(da_feature_channels(da_feature_count(), ch, 4), -EINVAL);

        ck_assert_int_eq(da_featurizer_new(&bad, 1, &fz), -EINVAL);
        ck_assert_ptr_null(fz);
        ck_assert_int_eq(da_featurizer_new(NULL, 3, &fz), -EINVAL);
        ck_assert_ptr_null(da_featurizer_free(NULL));
}
END_TEST

/* Every feature of every sample of the excerpt against numpy. */
START_TEST(test_against_numpy) {
        _cleanup_free_ char *tsv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *txt = test_path("fixtures/robustvision/P14-head-features.txt");
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        da_featurizer *fz;
        unsigned rows, cols, F = da_feature_count();
        da_error err = {};
        float v[64];
        da_frame fr;

        f = fopen(txt, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%u %u", &rows, &cols), 2);
        ck_assert_uint_eq(cols, F);
        ck_assert_int_eq(da_reader_open(tsv, DA_REC_AUTO, &r, &err), 0);
        ck_assert_int_eq(da_featurizer_new(NULL, 0, &fz), 0);

        for (unsigned i = 0; i < rows; i++) {
                ck_assert_int_eq(da_reader_next(r, &fr, &err), 1);
                ck_assert_int_eq(da_featurizer_push(fz, &fr, v), 0);
                for (unsigned c = 0; c < cols; c++) {
                        double want;

                        ck_assert_int_eq(fscanf(f, "%lf", &want), 1);
                        ck_assert_msg(fabs(v[c] - want) <= 2e-6 * fmax(1.0, fabs(want)),
                                      "sample %u, %s: got %.9g, numpy %.9g", i, da_feature_get(c)->name, v[c], want);
                }
        }
        ck_assert_int_eq(da_reader_next(r, &fr, &err), 0);
        da_featurizer_free(fz);
}
END_TEST

/* The fixture is numpy's nanpercentile on a float32 matrix; see
 * fixtures/scaler-numpy.py. */
START_TEST(test_scaler_numpy) {
        _cleanup_free_ char *path = test_path("fixtures/scaler-numpy.txt");
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ float *x = NULL;
        float median[8], iqr[8], row[8];
        double want_m[8], want_q[8];
        unsigned rows, cols;

        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        ck_assert_int_eq(fscanf(f, "%u %u", &rows, &cols), 2);
        ck_assert_uint_le(cols, 8);
        x = calloc((size_t) rows * cols, sizeof(float));
        for (size_t i = 0; i < (size_t) rows * cols; i++)
                ck_assert_int_eq(fscanf(f, "%f", &x[i]), 1);
        for (unsigned c = 0; c < cols; c++)
                ck_assert_int_eq(fscanf(f, "%lf", &want_m[c]), 1);
        for (unsigned c = 0; c < cols; c++)
                ck_assert_int_eq(fscanf(f, "%lf", &want_q[c]), 1);

        ck_assert_int_eq(da_scaler_fit(x, rows, cols, median, iqr), 0);
        for (unsigned c = 0; c < cols; c++) {
                assert_near(median[c], want_m[c], 1e-6 * fmax(1, fabs(want_m[c])), "median");
                assert_near(iqr[c], want_q[c], 1e-6 * fmax(1, fabs(want_q[c])), "iqr");
        }
        /* the constant column (7.25) is centred, not scaled: IQR 1 */
        assert_near(iqr[2], 1, 0, "constant column");

        memcpy(row, x, cols * sizeof(float));
        da_scaler_apply(median, iqr, cols, row);
        for (unsigned c = 0; c < cols; c++)
                if (isnan(x[c]))
                        ck_assert(isnan(row[c]));
                else
                        assert_near(row[c], (x[c] - want_m[c]) / want_q[c], 1e-5, "scaled");
}
END_TEST

/* Small cases by hand: column {4, 1, NaN, 3, 2} sorted is 1 2 3 4; numpy's
 * linear percentile at q puts the position at q·3: median 1.5 → 2.5,
 * q25 0.75 → 1.75, q75 2.25 → 3.25, IQR 1.5. */
START_TEST(test_scaler_hand) {
        float x[5] = { 4, 1, NAN, 3, 2 }, nan_col[3] = { NAN, NAN, NAN }, m = 42, q = 42, row = 4;

        ck_assert_int_eq(da_scaler_fit(x, 5, 1, &m, &q), 0);
        assert_near(m, 2.5, 0, "median");
        assert_near(q, 1.5, 0, "iqr");
        da_scaler_apply(&m, &q, 1, &row);
        assert_near(row, 1, 1e-7, "(4 − 2.5)/1.5");

        m = q = 42;
        ck_assert_int_eq(da_scaler_fit(nan_col, 3, 1, &m, &q), -ENODATA);
        assert_near(m, 42, 0, "median untouched on failure");
        assert_near(q, 42, 0, "iqr untouched on failure");
        ck_assert_int_eq(da_scaler_fit(x, 0, 1, &m, &q), -EINVAL);
}
END_TEST

static Suite *features_suite(void) {
        Suite *s = suite_create("features");
        TCase *tc = tcase_create("features");

        tcase_add_test(tc, test_geometry);
        tcase_add_test(tc, test_ipd_and_parallel);
        tcase_add_test(tc, test_missing_channels);
        tcase_add_test(tc, test_velocity_known_dt);
        tcase_add_test(tc, test_velocity_batched);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_against_numpy);
        tcase_add_test(tc, test_scaler_numpy);
        tcase_add_test(tc, test_scaler_hand);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run(features_suite());
}
