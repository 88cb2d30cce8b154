/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Data sets, the trainer and the scorer: a learnable synthetic task, a
 * Robust Vision subset, determinism, bad data, and the data set's windows
 * against the live stream's. */

#include <check.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <sys/stat.h>

#include "dataset.h"
#include "util.h"

#define RV_DIR TEST_SRCDIR "/../contrib/data/robustvision"
#define RV_HEADER                                                                                          \
        "System Timestamp\tMessage\tMessage Type\tGT_depth\tWorld Gaze Point X\tWorld Gaze Point Y\t"      \
        "World Gaze Point Z\tWorld Gaze Origin R X\tWorld Gaze Origin R Z\tWorld Gaze Origin L X\t"        \
        "World Gaze Origin L Z\tWorld Gaze Direction R X\tWorld Gaze Direction R Y\tWorld Gaze Direction R Z\t" \
        "World Gaze Direction L X\tWorld Gaze Direction L Y\tWorld Gaze Direction L Z\tEstimated Depth\n"

/* Features of one frame only, so NaN rows are counted exactly (velocities
 * would carry a NaN into the next frame). */
static const char *const geometry_features[] = { "Vergence_Depth", "Vergence_Angle", "Delta_Gaze_X",
                                                 "World_Gaze_Direction_R_X", "World_Gaze_Direction_L_X" };

static char tmpdir[64];

static void setup(void) {
        strcpy(tmpdir, "/tmp/test-train-XXXXXX");
        ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void teardown(void) {
        char cmd[128];

        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
        ck_assert_int_eq(system(cmd), 0);
}

static char *tmp_path(const char *name) {
        static char buf[8][256];
        static unsigned k;

        k = (k + 1) % 8;
        snprintf(buf[k], sizeof(buf[k]), "%s/%s", tmpdir, name);
        return buf[k];
}

/* Eyes at x = ±32 mm fixating (0, 0, d): the vergence geometry makes d a
 * function of the directions, so the depth is learnable. Rows listed in
 * nan_rows get an empty right-eye x direction. */
static void write_synthetic(const char *path, unsigned n, unsigned period, const unsigned *nan_rows,
                            unsigned n_nan) {
        FILE *f = fopen(path, "we");

        ck_assert_ptr_nonnull(f);
        fputs(RV_HEADER, f);
        fputs("1000\tData collection started\tDepthCalibration\t\n", f);
        for (unsigned i = 0; i < n; i++) {
                double d = 0.5 + 1.5 * (0.5 + 0.5 * sin(2 * M_PI * i / period));
                double e = 0.032, nr = sqrt(e * e + d * d);
                bool blank = false;

                for (unsigned k = 0; k < n_nan; k++)
                        blank = blank || nan_rows[k] == i;
                fprintf(f, "%u\t sample\tDepthCalibration\t%.9f\t0\t0\t%.9f\t%.3f\t0\t%.3f\t0\t", 1000 + 10 * i, d, d,
                        e, -e);
                if (blank)
                        fputs("\t", f);
                else
                        fprintf(f, "%.9f\t", -e / nr);
                fprintf(f, "0\t%.9f\t%.9f\t0\t%.9f\t%.9f\n", d / nr, e / nr, d / nr, d);
        }
        fclose(f);
}

static void geometry_options(da_dataset_options *o) {
        da_dataset_options_init(o);
        o->features = geometry_features;
        o->n_features = ELEMENTSOF(geometry_features);
}

typedef struct losses {
        double v[256];
        unsigned n;
} losses;

static void record_loss(unsigned epoch, unsigned epochs, double loss, double val_mae, void *userdata) {
        losses *l = userdata;

        (void) epoch;
        (void) epochs;
        (void) val_mae;
        if (l->n < ELEMENTSOF(l->v))
                l->v[l->n++] = loss;
}

/* Mean absolute deviation from the median of the windows' targets: the
 * error of the best constant predictor, the bar a model must clear. */
static double constant_mae(const da_dataset *ds, unsigned s) {
        const ds_subject *sj = &ds->subject[s];
        _cleanup_free_ float *t = malloc(sj->n_windows * sizeof(float));
        double med, sum = 0;

        ck_assert_ptr_nonnull(t);
        memcpy(t, sj->target, sj->n_windows * sizeof(float));
        for (size_t i = 1; i < sj->n_windows; i++)
                for (size_t j = i; j > 0 && t[j - 1] > t[j]; j--) {
                        float x = t[j];

                        t[j] = t[j - 1];
                        t[j - 1] = x;
                }
        med = t[sj->n_windows / 2];
        for (size_t i = 0; i < sj->n_windows; i++)
                sum += fabs(t[i] - med);
        return sum / (double) sj->n_windows;
}

START_TEST(test_synthetic_loss_goes_down) {
        da_dataset *ds = NULL;
        da_model *m = NULL;
        da_dataset_options o;
        da_train_options to;
        da_error err = {};
        losses l = {};
        const char *p = tmp_path("S1.tsv");
        unsigned sub = 0;
        double mae, base;
        size_t n;

        write_synthetic(p, 800, 200, NULL, 0);
        geometry_options(&o);
        ck_assert_int_eq(da_dataset_load(&p, 1, &o, &ds, &err), 0);
        /* 800 valid frames, T = 10, hop 1: 791 windows; depths 0.5..2 m all in range */
        ck_assert_uint_eq(da_dataset_n_windows(ds, 0), 791);

        da_train_options_init(&to);
        to.hidden = 8;
        to.dense = 8;
        to.epochs = 25;
        to.batch = 32;
        to.lr = 1e-2;
        to.patience = 0;
        to.seed = 7;
        to.progress = record_loss;
        to.userdata = &l;
        ck_assert_msg(da_train(ds, &sub, 1, &to, &m, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(l.n, 25);
        ck_assert_msg(l.v[l.n - 1] < 0.1 * l.v[0], "loss %g → %g", l.v[0], l.v[l.n - 1]);

        ck_assert_int_eq(da_score(m, ds, NULL, 0, &mae, &n, &err), 0);
        ck_assert_uint_eq(n, 791);
        /* d = 0.5 + 1.5·(½ + ½ sin): the median is 1.25 m and the mean |d − 1.25| is
         * 0.75·2/π ≈ 0.477 m; the trained model must be far below that. */
        base = constant_mae(ds, 0);
        ck_assert_double_eq_tol(base, 0.75 * 2 / M_PI, 0.01);
        fprintf(stderr, "synthetic vergence task: MAE %.1f cm (constant predictor %.1f cm)\n", mae * 100, base * 100);
        ck_assert_msg(mae < 0.1, "MAE %g m (constant predictor %g m)", mae, base);

        ck_assert_str_eq(da_model_unit(m), "m");
        ck_assert_int_eq(da_model_task(m), DA_TASK_REGRESSION);
        ck_assert_str_eq(da_model_feature(m, 0), "Vergence_Depth");
        ck_assert_ptr_nonnull(da_model_scaler_median(m));
        da_model_free(m);
        da_dataset_free(ds);
}
END_TEST

/* Inputs that say nothing about the target: the eyes fixate 1 m ahead with a
 * jitter of period 7 (so that no row repeats the one before), while the
 * ground truth is 2.5 m on every 4th row and 0.5 m otherwise. Over 28·k rows
 * a window's inputs fix its last row's index modulo 7 only, which leaves the
 * index modulo 4 uniform: the best a model can do is a constant, the median
 * (0.5 m, MAE 0.5 m) for the absolute error and the mean (1 m, MAE 0.75 m)
 * for the squared one. */
static void write_uninformative(const char *path, unsigned n) {
        FILE *f = fopen(path, "we");

        ck_assert_ptr_nonnull(f);
        fputs(RV_HEADER, f);
        fputs("1000\tData collection started\tDepthCalibration\t\n", f);
        for (unsigned i = 0; i < n; i++) {
                double d = 1.0 + 0.01 * (i % 7), e = 0.032, nr = sqrt(e * e + d * d);

                fprintf(f, "%u\t sample\tDepthCalibration\t%.1f\t0\t0\t%.9f\t%.3f\t0\t%.3f\t0\t%.9f\t0\t%.9f\t"
                        "%.9f\t0\t%.9f\t%.9f\n", 1000 + 10 * i, i % 4 == 0 ? 2.5 : 0.5, d, e, -e, -e / nr, d / nr,
                        e / nr, d / nr, d);
        }
        fclose(f);
}

/* SmoothL1 with β = 0 is the absolute error, whose best constant is the
 * median; with β far above every error it is the squared error, whose best
 * constant is the mean. */
START_TEST(test_loss_beta_median_or_mean) {
        static const double betas[] = { 0, 10 };
        da_dataset *ds = NULL;
        da_dataset_options o;
        const char *p = tmp_path("Flat.tsv");
        da_error err = {};
        unsigned sub = 0;
        double mae[2];

        write_uninformative(p, 28 * 30);
        geometry_options(&o);
        ck_assert_msg(da_dataset_load(&p, 1, &o, &ds, &err) == 0, "%s", err.message);
        for (unsigned k = 0; k < ELEMENTSOF(betas); k++) {
                da_model *m = NULL;
                da_train_options to;
                size_t n;

                da_train_options_init(&to);
                to.hidden = 4;
                to.dense = 4;
                to.epochs = 20;
                to.batch = 32;
                to.lr = 1e-2;
                to.beta = betas[k];
                to.val_fraction = 0;    /* the last epoch's weights: early stopping would choose by the MAE */
                to.seed = 3;
                ck_assert_msg(da_train(ds, &sub, 1, &to, &m, &err) == 0, "%s", err.message);
                ck_assert_int_eq(da_score(m, ds, NULL, 0, &mae[k], &n, &err), 0);
                da_model_free(m);
        }
        fprintf(stderr, "uninformative inputs: MAE %.1f cm with beta 0, %.1f cm with beta 10\n", mae[0] * 100,
                mae[1] * 100);
        ck_assert_msg(mae[0] < 0.55, "beta 0: MAE %g m, the median gives 0.5 m", mae[0]);
        ck_assert_msg(mae[1] > 0.7, "beta 10: MAE %g m, the mean gives 0.75 m", mae[1]);
        da_dataset_free(ds);
}
END_TEST

static void train_to_file(const da_dataset *ds, unsigned threads, const char *path) {
        da_model *m = NULL;
        da_train_options to;
        da_error err = {};
        unsigned sub[] = { 0, 1 };

        da_train_options_init(&to);
        to.hidden = 8;
        to.dense = 4;
        to.epochs = 3;
        to.batch = 40;          /* 2.5 chunks: a partial chunk in every minibatch */
        to.threads = threads;
        to.seed = 42;
        ck_assert_msg(da_train(ds, sub, 2, &to, &m, &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_model_save(m, path, &err), 0);
        da_model_free(m);
}

static char *slurp(const char *path, size_t *ret_size) {
        FILE *f = fopen(path, "re");
        char *buf;
        long n;

        ck_assert_ptr_nonnull(f);
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        rewind(f);
        buf = malloc((size_t) n);
        ck_assert_ptr_nonnull(buf);
        ck_assert_uint_eq(fread(buf, 1, (size_t) n, f), (size_t) n);
        fclose(f);
        *ret_size = (size_t) n;
        return buf;
}

START_TEST(test_same_seed_same_bytes) {
        da_dataset *ds = NULL;
        da_dataset_options o;
        da_error err = {};
        const char *paths[] = { tmp_path("A.tsv"), tmp_path("B.tsv") };
        _cleanup_free_ char *a = NULL, *b = NULL, *c = NULL;
        size_t na, nb, nc;

        write_synthetic(paths[0], 300, 120, NULL, 0);
        write_synthetic(paths[1], 260, 90, NULL, 0);
        geometry_options(&o);
        ck_assert_int_eq(da_dataset_load(paths, 2, &o, &ds, &err), 0);

        train_to_file(ds, 2, tmp_path("a.safetensors"));
        train_to_file(ds, 2, tmp_path("b.safetensors"));
        train_to_file(ds, 1, tmp_path("c.safetensors"));
        a = slurp(tmp_path("a.safetensors"), &na);
        b = slurp(tmp_path("b.safetensors"), &nb);
        c = slurp(tmp_path("c.safetensors"), &nc);
        ck_assert_uint_eq(na, nb);
        ck_assert_msg(memcmp(a, b, na) == 0, "same seed, same threads: different models");
        /* chunks are fixed and summed in order, so the thread count does not matter either */
        ck_assert_uint_eq(na, nc);
        ck_assert_msg(memcmp(a, c, na) == 0, "same seed, 1 vs 2 threads: different models");
        da_dataset_free(ds);
}
END_TEST

/* Two bundled subjects: P9 (232 windows once repeated samples are dropped)
 * and P14 (120). Trained on both, the model must fit them to within 10 cm,
 * where predicting the median depth misses by 50 cm or more (checked below
 * from the targets themselves). */
START_TEST(test_robustvision_subset) {
        const char *paths[] = { RV_DIR "/P9.tsv.gz", RV_DIR "/P14.tsv.gz" };
        da_dataset *ds = NULL;
        da_model *m = NULL;
        da_train_options to;
        da_error err = {};
        unsigned sub[] = { 0, 1 };
        double mae;
        size_t n;

        ck_assert_msg(access(paths[0], R_OK) == 0, "%s: %m (the bundled recordings)", paths[0]);
        ck_assert_msg(da_dataset_load(paths, 2, NULL, &ds, &err) == 0, "%s", err.message);
        ck_assert_str_eq(da_dataset_subject(ds, 0), "P9");
        ck_assert_str_eq(da_dataset_subject(ds, 1), "P14");
        ck_assert_uint_eq(da_dataset_n_features(ds), DA_FEATURES_ROBUSTVISION);
        ck_assert_double_ge(constant_mae(ds, 0), 0.50);

        da_train_options_init(&to);
        to.hidden = 16;
        to.dense = 16;
        to.epochs = 40;
        to.batch = 32;
        to.lr = 3e-3;
        to.patience = 0;
        to.val_fraction = 0;
        to.seed = 1;
        ck_assert_msg(da_train(ds, sub, 2, &to, &m, &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_score(m, ds, sub, 2, &mae, &n, &err), 0);
        ck_assert_uint_eq(n, da_dataset_n_windows(ds, 0) + da_dataset_n_windows(ds, 1));
        fprintf(stderr, "Robust Vision P9+P14, H=16, 40 epochs: MAE %.1f cm on %zu windows\n", mae * 100, n);
        ck_assert_msg(mae < 0.10, "MAE %.1f cm", mae * 100);
        da_model_free(m);
        da_dataset_free(ds);
}
END_TEST

/* da_score's windows are the stream's: the same MAE as running the
 * recording through da_stream and keeping windows with an in-range target,
 * with the stored scaler and with per-user scaling (the windows held
 * during the warm-up left out by both). */
START_TEST(test_score_matches_stream) {
        const char *path = RV_DIR "/P9.tsv.gz";
        da_arch arch = { .n_features = DA_FEATURES_ROBUSTVISION, .hidden = 8, .layers = 1, .batchnorm = true,
                         .pooling = DA_POOL_MAX, .dense = 4, .activation = DA_ACT_ELU, .outputs = 1,
                         .window = 10, .hop = 3 };
        const char *names[DA_FEATURES_ROBUSTVISION];
        float median[DA_FEATURES_ROBUSTVISION], iqr[DA_FEATURES_ROBUSTVISION];
        da_dataset_options o;
        da_dataset *ds = NULL;
        da_model *m = NULL;
        da_stream *st = NULL;
        da_reader *rd = NULL;
        da_error err = {};
        da_frame fr;
        double mae, sum = 0;
        size_t n, k = 0;
        int r;

        ck_assert_msg(access(path, R_OK) == 0, "%s: %m (the bundled recordings)", path);
        ck_assert_int_eq(da_model_new_random(&arch, 3, &m), 0);
        for (unsigned f = 0; f < arch.n_features; f++) {
                names[f] = da_feature_get(f)->name;
                median[f] = 0.1f * (float) f;
                iqr[f] = 1.0f + 0.5f * (float) f;
        }
        ck_assert_int_eq(da_model_set_features(m, names, arch.n_features), 0);
        ck_assert_int_eq(da_model_set_scaler(m, median, iqr), 0);
        ck_assert_int_eq(da_model_set_task(m, DA_TASK_REGRESSION, "m"), 0);
        if (_i == 1)
                ck_assert_int_eq(da_model_set_scaling(m, DA_SCALING_PER_USER, 50), 0);

        da_dataset_options_init(&o);
        o.hop = 3;
        ck_assert_int_eq(da_dataset_load(&path, 1, &o, &ds, &err), 0);
        ck_assert_int_eq(da_score(m, ds, NULL, 0, &mae, &n, &err), 0);

        ck_assert_int_eq(da_stream_new(m, DA_TRACE_GATE, &st, &err), 0);
        ck_assert_int_eq(da_reader_open(path, DA_REC_AUTO, &rd, &err), 0);
        da_reader_set_drop_repeats(rd, true);
        while ((r = da_reader_next(rd, &fr, &err)) > 0) {
                da_window_result w;

                if (da_stream_push(st, &fr, &w) <= 0)
                        continue;
                if (_i == 1)
                        ck_assert_uint_ge(w.valid_index, 50 + arch.window - 1);
                if (!(w.target >= 0.35f && w.target <= 3.0f))
                        continue;
                sum += fabs((double) w.output[0] - (double) w.target);
                k++;
        }
        ck_assert_int_eq(r, 0);
        ck_assert_uint_eq(n, k);
        ck_assert_uint_gt(k, 20);
        ck_assert_double_eq_tol(mae, sum / (double) k, 1e-9);
        da_reader_free(rd);
        da_stream_free(st);
        da_model_free(m);
        da_dataset_free(ds);
}
END_TEST

START_TEST(test_nan_rows_counted) {
        static const unsigned nan_rows[] = { 5, 50, 51, 52, 199 };
        const char *p = tmp_path("N.tsv");
        da_dataset_options o;
        da_dataset_stats st;
        da_dataset *ds = NULL;
        da_error err = {};

        write_synthetic(p, 200, 100, nan_rows, ELEMENTSOF(nan_rows));
        geometry_options(&o);
        ck_assert_msg(da_dataset_load(&p, 1, &o, &ds, &err) == 0, "%s", err.message);
        da_dataset_stats_get(ds, &st);
        ck_assert_uint_eq(st.frames, 200);
        ck_assert_uint_eq(st.invalid, 5);
        /* 195 valid rows make 186 windows; targets all in 0.5..2 m */
        ck_assert_uint_eq(st.out_of_range, 0);
        ck_assert_uint_eq(st.windows, 186);
        ck_assert_uint_eq(da_dataset_n_windows(ds, 0), 186);
        da_dataset_free(ds);
}
END_TEST

START_TEST(test_too_few_windows_skipped) {
        const char *paths[] = { tmp_path("Big.tsv"), tmp_path("Tiny.tsv") };
        da_dataset_options o;
        da_dataset *ds = NULL;
        da_error err = {};

        write_synthetic(paths[0], 100, 50, NULL, 0);
        write_synthetic(paths[1], 12, 50, NULL, 0);      /* 3 windows */
        geometry_options(&o);
        o.min_windows = 5;
        ck_assert_int_eq(da_dataset_load(paths, 2, &o, &ds, &err), 0);
        ck_assert_uint_eq(da_dataset_n_subjects(ds), 1);
        ck_assert_str_eq(da_dataset_subject(ds, 0), "Big");
        ck_assert_uint_eq(da_dataset_n_skipped(ds), 1);
        ck_assert_msg(strstr(da_dataset_skipped(ds, 0), "Tiny: 3 windows"), "%s", da_dataset_skipped(ds, 0));
        da_dataset_free(ds);

        /* nothing left is an error, naming the reason */
        ck_assert_int_eq(da_dataset_load(&paths[1], 1, &o, &ds, &err), -ENODATA);
        ck_assert_msg(strstr(err.message, "Tiny: 3 windows"), "%s", err.message);
}
END_TEST

START_TEST(test_bad_files) {
        const char *empty = tmp_path("empty.tsv"), *nocol = tmp_path("nocol.tsv"), *nodir = tmp_path("nodir.csv");
        const char *missing = tmp_path("does-not-exist.tsv"), *emptydir = tmp_path("emptydir");
        da_dataset_options o;
        da_dataset *ds = NULL;
        da_error err = {};
        FILE *f;

        f = fopen(empty, "we");
        fclose(f);
        ck_assert_int_eq(da_dataset_load(&empty, 1, NULL, &ds, &err), -ENODATA);
        ck_assert_msg(strstr(err.message, "empty file"), "%s", err.message);

        /* a Robust Vision header without GT_depth */
        f = fopen(nocol, "we");
        fputs("System Timestamp\tMessage\tMessage Type\tWorld Gaze Direction R X\n1\t sample\tX\t0.1\n", f);
        fclose(f);
        ck_assert_int_lt(da_dataset_load(&nocol, 1, NULL, &ds, &err), 0);
        ck_assert_msg(strstr(err.message, "GT_depth") || strstr(err.message, "missing"), "%s", err.message);

        /* a CSV whose map has the target but no gaze directions */
        f = fopen(nodir, "we");
        fputs("t,depth\n", f);
        for (int i = 0; i < 30; i++)
                fprintf(f, "%d,1.0\n", i);
        fclose(f);
        geometry_options(&o);
        o.column_map = "time=t:ms,target.depth=depth";
        ck_assert_int_eq(da_dataset_load(&nodir, 1, &o, &ds, &err), -ENODATA);
        ck_assert_msg(strstr(err.message, "nodir.csv") && strstr(err.message, "which the features need") &&
                      strstr(err.message, "missing column"), "%s", err.message);

        ck_assert_int_eq(da_dataset_load(&missing, 1, NULL, &ds, &err), -ENOENT);
        ck_assert_msg(strstr(err.message, "does-not-exist.tsv"), "%s", err.message);

        ck_assert_int_eq(mkdir(emptydir, 0700), 0);
        ck_assert_int_eq(da_dataset_load(&emptydir, 1, NULL, &ds, &err), -ENOENT);
        ck_assert_msg(strstr(err.message, "no recording"), "%s", err.message);

        {
                const char *bad[] = { "No_Such_Feature" };

                da_dataset_options_init(&o);
                o.features = bad;
                o.n_features = 1;
                ck_assert_int_eq(da_dataset_load(&empty, 1, &o, &ds, &err), -ENOENT);
                ck_assert_msg(strstr(err.message, "No_Such_Feature"), "%s", err.message);
        }
        ck_assert_ptr_null(ds);
}
END_TEST

static Suite *train_suite(void) {
        Suite *s = suite_create("train");
        TCase *tc = tcase_create("train");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 300);
        tcase_add_test(tc, test_synthetic_loss_goes_down);
        tcase_add_test(tc, test_loss_beta_median_or_mean);
        tcase_add_test(tc, test_same_seed_same_bytes);
        tcase_add_test(tc, test_robustvision_subset);
        tcase_add_loop_test(tc, test_score_matches_stream, 0, 2);
        tcase_add_test(tc, test_nan_rows_counted);
        tcase_add_test(tc, test_too_few_windows_skipped);
        tcase_add_test(tc, test_bad_files);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(train_suite());
        int failed;

        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
