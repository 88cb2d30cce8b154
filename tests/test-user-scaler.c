/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-user scaling: the online median/IQR against the exact quantiles of the
 * same rows on every shipped Robust Vision recording, NaN bursts, a constant
 * feature and wild samples, and a stream told of a new user starting over
 * as a fresh one would. */

#include <check.h>
#include <glob.h>
#include <math.h>

#include "dataset.h"
#include "util.h"

#define RV_DIR TEST_SRCDIR "/../contrib/data/robustvision"
#define WARMUP 100u

DEFINE_TRIVIAL_CLEANUP_FUNC(da_user_scaler *, da_user_scaler_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(da_dataset *, da_dataset_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(da_stream *, da_stream_free);

/* Largest |estimate − exact| over the features, in units of the exact IQR
 * (the model's input unit), for the median and for the IQR itself. */
static void compare(const float *med, const float *iqr, const float *xmed, const float *xiqr, unsigned F,
                    double *ret_med, double *ret_iqr) {
        *ret_med = *ret_iqr = 0;
        for (unsigned f = 0; f < F; f++) {
                *ret_med = MAX(*ret_med, fabs((double) med[f] - xmed[f]) / xiqr[f]);
                *ret_iqr = MAX(*ret_iqr, fabs((double) iqr[f] - xiqr[f]) / xiqr[f]);
        }
}

/* Every shipped subject, its valid feature rows in stream order (what
 * da_stream pushes): after all of them the estimate is within 2% of an IQR
 * of the exact median and IQR of the same rows. */
START_TEST(test_converges_on_recordings) {
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        da_error err = {};
        glob_t g;
        double worst_med = 0, worst_iqr = 0;
        const char *worst_name = NULL;

        ck_assert_int_eq(glob(RV_DIR "/P*.tsv.gz", 0, NULL, &g), 0);
        ck_assert_uint_eq(g.gl_pathc, 20);
        ck_assert_msg(da_dataset_load((const char *const *) g.gl_pathv, (unsigned) g.gl_pathc, NULL, &ds, &err) == 0,
                      "%s", err.message);
        globfree(&g);

        for (unsigned s = 0; s < ds->n_subjects; s++) {
                const ds_subject *sj = &ds->subject[s];
                _cleanup_(da_user_scaler_freep) da_user_scaler *u = NULL;
                float med[64], iqr[64], xmed[64], xiqr[64];
                double em, ei;

                if (sj->n_rows < WARMUP)
                        continue;
                ck_assert_int_eq(da_user_scaler_new(ds->F, WARMUP, &u), 0);
                for (size_t i = 0; i < sj->n_rows; i++) {
                        int r = da_user_scaler_push(u, sj->rows + i * ds->F);

                        ck_assert_int_eq(r, i + 1 >= WARMUP);
                }
                ck_assert(da_user_scaler_warm(u));
                da_user_scaler_get(u, med, iqr);
                ck_assert_int_eq(da_scaler_fit(sj->rows, sj->n_rows, ds->F, xmed, xiqr), 0);
                compare(med, iqr, xmed, xiqr, ds->F, &em, &ei);
                if (MAX(em, ei) > MAX(worst_med, worst_iqr))
                        worst_name = sj->name;
                worst_med = MAX(worst_med, em);
                worst_iqr = MAX(worst_iqr, ei);
                ck_assert_msg(em <= 0.02 && ei <= 0.02, "%s (%zu rows): median off by %.4f IQR, IQR by %.4f",
                              sj->name, sj->n_rows, em, ei);
        }
        printf("online vs exact over %u subjects, %u features: median within %.4f IQR, IQR within %.4f (worst %s)\n",
               ds->n_subjects, ds->F, worst_med, worst_iqr, worst_name ? worst_name : "-");
}
END_TEST

/* NaN bursts are ignored whole, a constant feature keeps its value as the
 * median and IQR 1, and samples 10^30 away change nothing visible. */
START_TEST(test_nan_constant_outliers) {
        _cleanup_(da_user_scaler_freep) da_user_scaler *u = NULL;
        _cleanup_free_ float *rows = NULL;
        const unsigned F = 3, N = 5000;
        float med[3], iqr[3], xmed[3], xiqr[3];
        uint64_t st = 42;
        size_t n = 0;
        double em, ei;

        ck_assert_int_eq(da_user_scaler_new(F, 50, &u), 0);
        rows = malloc(sizeof(float) * F * N);
        ck_assert_ptr_nonnull(rows);
        for (unsigned i = 0; i < N; i++) {
                float row[3] = { (float) (3 * da_uniform01(&st) - 1), 0.0625f, (float) (da_uniform01(&st) * 1e-3) };

                if (i % 97 < 10) {
                        /* a burst of lost samples: NaN and ±inf in turn */
                        row[i % 3] = i % 2 ? NAN : (float) (i % 4 ? INFINITY : -INFINITY);
                        ck_assert_int_eq(da_user_scaler_push(u, row), 0);
                        continue;
                }
                if (i % 500 == 7)
                        row[0] = i % 1000 == 7 ? 1e30f : -1e30f;
                ck_assert_int_ge(da_user_scaler_push(u, row), 0);
                memcpy(rows + n++ * F, row, sizeof(row));
        }
        ck_assert_uint_eq(da_user_scaler_rows(u), n);
        da_user_scaler_get(u, med, iqr);
        for (unsigned f = 0; f < F; f++)
                ck_assert(isfinite(med[f]) && isfinite(iqr[f]) && iqr[f] > 0);
        ck_assert_float_eq(med[1], 0.0625f);
        ck_assert_float_eq(iqr[1], 1.0f);
        ck_assert_int_eq(da_scaler_fit(rows, n, F, xmed, xiqr), 0);
        compare(med, iqr, xmed, xiqr, F, &em, &ei);
        ck_assert_msg(em <= 0.02 && ei <= 0.02, "median off by %.4f IQR, IQR by %.4f", em, ei);

        /* reset starts a new user */
        da_user_scaler_reset(u);
        ck_assert(!da_user_scaler_warm(u));
        ck_assert_uint_eq(da_user_scaler_rows(u), 0);

        ck_assert_int_eq(da_user_scaler_new(F, 3, &u), -EINVAL);
        ck_assert_int_eq(da_user_scaler_new(0, 100, &u), -EINVAL);
}
END_TEST

/* Runs one recording through the stream; with out, records each window's
 * output (at most max), returns how many windows came. */
static size_t feed(da_stream *st, const char *path, float *out, size_t max) {
        da_reader *rd = NULL;
        da_error err = {};
        da_frame fr;
        size_t n = 0;
        int r;

        ck_assert_msg(da_reader_open(path, DA_REC_AUTO, &rd, &err) == 0, "%s: %s", path, err.message);
        da_reader_set_drop_repeats(rd, true);
        while ((r = da_reader_next(rd, &fr, &err)) > 0) {
                da_window_result w;

                r = da_stream_push(st, &fr, &w);
                ck_assert_int_ge(r, 0);
                if (r > 0 && out && n < max)
                        out[n] = w.output[0];
                n += r > 0;
        }
        ck_assert_int_eq(r, 0);
        da_reader_free(rd);
        return n;
}

/* A stream that saw one person (P3), told of a new user, gives for the next
 * (P9) exactly the windows a fresh stream gives: nothing of P3's statistics
 * or frames is left. Without the reset the first person's statistics stay
 * (da_stream_reset keeps them), and the outputs differ. */
START_TEST(test_stream_new_user) {
        da_arch arch = { .n_features = DA_FEATURES_ROBUSTVISION, .hidden = 8, .layers = 1, .batchnorm = true,
                         .pooling = DA_POOL_MAX, .dense = 4, .activation = DA_ACT_ELU, .outputs = 1,
                         .window = 10, .hop = 1 };
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_stream_freep) da_stream *fresh = NULL, *reused = NULL, *kept = NULL;
        _cleanup_free_ float *a = NULL, *b = NULL, *c = NULL;
        const char *names[DA_FEATURES_ROBUSTVISION];
        float median[DA_FEATURES_ROBUSTVISION], iqr[DA_FEATURES_ROBUSTVISION];
        const size_t max = 20000;
        uint64_t seen, warmup;
        da_error err = {};
        size_t n, differ = 0;

        ck_assert_int_eq(da_model_new_random(&arch, 5, &m), 0);
        for (unsigned f = 0; f < arch.n_features; f++) {
                names[f] = da_feature_get(f)->name;
                median[f] = 0;
                iqr[f] = 1;
        }
        ck_assert_int_eq(da_model_set_features(m, names, arch.n_features), 0);
        ck_assert_int_eq(da_model_set_scaler(m, median, iqr), 0);
        ck_assert_int_eq(da_model_set_task(m, DA_TASK_REGRESSION, "m"), 0);
        ck_assert_int_eq(da_model_set_scaling(m, DA_SCALING_PER_USER, WARMUP), 0);
        a = calloc(max, sizeof(float));
        b = calloc(max, sizeof(float));
        c = calloc(max, sizeof(float));
        ck_assert(a && b && c);

        ck_assert_int_eq(da_stream_new(m, DA_TRACE_GATE, &fresh, &err), 0);
        n = feed(fresh, RV_DIR "/P9.tsv.gz", a, max);
        ck_assert_uint_gt(n, 100);

        ck_assert_int_eq(da_stream_new(m, DA_TRACE_GATE, &reused, &err), 0);
        ck_assert_uint_gt(feed(reused, RV_DIR "/P3.tsv.gz", NULL, 0), 0);
        ck_assert(!da_stream_warming_up(reused, &seen, &warmup));
        da_stream_reset_user(reused);
        ck_assert(da_stream_warming_up(reused, &seen, &warmup));
        ck_assert_uint_eq(seen, 0);
        ck_assert_uint_eq(warmup, WARMUP);
        ck_assert_uint_eq(feed(reused, RV_DIR "/P9.tsv.gz", b, max), n);
        for (size_t i = 0; i < n; i++)
                ck_assert_msg(memcmp(&a[i], &b[i], sizeof(float)) == 0, "window %zu: %.9g after the reset, %.9g fresh",
                              i, (double) b[i], (double) a[i]);

        /* the control: a discontinuity alone keeps the first person's statistics */
        ck_assert_int_eq(da_stream_new(m, DA_TRACE_GATE, &kept, &err), 0);
        (void) feed(kept, RV_DIR "/P3.tsv.gz", NULL, 0);
        da_stream_reset(kept);
        ck_assert(!da_stream_warming_up(kept, NULL, NULL));
        ck_assert_uint_gt(feed(kept, RV_DIR "/P9.tsv.gz", c, max), n);
        for (size_t i = 0; i < n; i++)
                differ += memcmp(&a[i], &c[i], sizeof(float)) != 0;
        ck_assert_uint_gt(differ, 0);
}
END_TEST

static Suite *user_scaler_suite(void) {
        Suite *s = suite_create("user-scaler");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_converges_on_recordings);
        tcase_add_test(tc, test_nan_constant_outliers);
        tcase_add_test(tc, test_stream_new_user);
        tcase_set_timeout(tc, 600);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(user_scaler_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
