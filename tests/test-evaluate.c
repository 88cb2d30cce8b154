/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The keep-top-k protocol on a planted task: synthetic recordings (generic
 * TSV with a column map) whose target depends only on two of ten features.
 * Keeping those two keeps the error low; keeping two others does not; the
 * whole protocol runs end to end and ranks them first where it should. */

#include <check.h>
#include <math.h>

#include "dataset.h"
#include "evaluate.h"
#include "published.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_dataset *, da_dataset_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(da_eval_report *, da_eval_report_free);

#define N_SUBJECTS 4
#define N_FRAMES 700
#define WINDOW 5

/* The data set's features, in this order; all are plain copies of one
 * channel each (man deepactif-features(7)). */
static const char *const features[] = {
        "World_Gaze_Direction_R_X", "World_Gaze_Direction_R_Y", "World_Gaze_Direction_R_Z",
        "World_Gaze_Direction_L_X", "World_Gaze_Direction_L_Y", "World_Gaze_Direction_L_Z",
        "World_Gaze_Origin_R_X", "World_Gaze_Origin_R_Z", "World_Gaze_Origin_L_X", "World_Gaze_Origin_L_Z",
};
static const char *const columns[] = { "rdx", "rdy", "rdz", "ldx", "ldy", "ldz", "rox", "roz", "lox", "loz" };

#define N_FEATURES ELEMENTSOF(features)
/* The planted pair: target = 1.5 + 0.5·ldy + 0.4·roz (metres). */
#define PLANTED_A 4u
#define PLANTED_B 7u

static const char column_map[] =
        "time=t:ms,target.depth=depth,"
        "eye.right.direction.x=rdx,eye.right.direction.y=rdy,eye.right.direction.z=rdz,"
        "eye.left.direction.x=ldx,eye.left.direction.y=ldy,eye.left.direction.z=ldz,"
        "eye.right.origin.x=rox,eye.right.origin.z=roz,eye.left.origin.x=lox,eye.left.origin.z=loz";

static char dir[] = "/tmp/deepactif-test-evaluate.XXXXXX";

static double gauss(uint64_t *s) {
        /* Box–Muller from two uniforms in (0, 1]. */
        double u = 1.0 - da_uniform01(s), v = da_uniform01(s);

        return sqrt(-2 * log(u)) * cos(2 * M_PI * v);
}

/* Every channel is a slow AR(1) process, x ← 0.95·x + 0.156·ε, so the
 * stationary SD is 0.156/√(1 − 0.95²) ≈ 0.5 and a window of 5 frames sees
 * nearly the same value throughout. The target's SD is then
 * √(0.5²·0.5² + 0.4²·0.5²) ≈ 0.32 m: predicting the mean misses by about
 * 0.8·0.32 ≈ 26 cm on average, knowing both planted inputs by 0. */
static void write_subject(unsigned s) {
        _cleanup_free_ char *path = NULL;
        _cleanup_fclose_ FILE *f = NULL;
        uint64_t seed = 1000 + s;
        double x[N_FEATURES] = {};

        ck_assert_int_ge(asprintf(&path, "%s/S%u.tsv", dir, s), 0);
        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fputs("t\tdepth", f);
        for (size_t c = 0; c < N_FEATURES; c++)
                fprintf(f, "\t%s", columns[c]);
        fputc('\n', f);
        for (unsigned n = 0; n < N_FRAMES; n++) {
                double depth;

                for (size_t c = 0; c < N_FEATURES; c++)
                        x[c] = 0.95 * x[c] + 0.156 * gauss(&seed);
                depth = fmin(fmax(1.5 + 0.5 * x[PLANTED_A] + 0.4 * x[PLANTED_B], 0.4), 2.9);
                fprintf(f, "%u\t%.6f", n * 10, depth);
                for (size_t c = 0; c < N_FEATURES; c++)
                        fprintf(f, "\t%.6f", x[c]);
                fputc('\n', f);
        }
}

static void setup(void) {
        ck_assert_ptr_nonnull(mkdtemp(dir));
        for (unsigned s = 0; s < N_SUBJECTS; s++)
                write_subject(s);
}

static void teardown(void) {
        for (unsigned s = 0; s < N_SUBJECTS; s++) {
                char path[256];

                snprintf(path, sizeof(path), "%s/S%u.tsv", dir, s);
                (void) unlink(path);
        }
        (void) rmdir(dir);
}

static void data_options(da_dataset_options *o) {
        da_dataset_options_init(o);
        o->features = features;
        o->n_features = N_FEATURES;
        o->window = WINDOW;
        o->column_map = column_map;
}

static void train_options(da_train_options *o) {
        da_train_options_init(o);
        o->hidden = 16;
        o->dense = 16;
        o->epochs = 12;
        o->patience = 4;
        o->lr = 3e-3;
        o->seed = 7;
}

START_TEST(test_kept) {
        /* ⌊F·k/100⌋, at least 1: 38 features → 3, 7, 11, 15; 10 → 1..4; 3 → 1. */
        ck_assert_uint_eq(evaluate_kept(38, 10), 3);
        ck_assert_uint_eq(evaluate_kept(38, 20), 7);
        ck_assert_uint_eq(evaluate_kept(38, 30), 11);
        ck_assert_uint_eq(evaluate_kept(38, 40), 15);
        ck_assert_uint_eq(evaluate_kept(10, 20), 2);
        ck_assert_uint_eq(evaluate_kept(3, 10), 1);
        ck_assert_uint_eq(evaluate_kept(3, 100), 3);
}
END_TEST

START_TEST(test_method_names) {
        static const char *const good[] = {
                "deepactif-gate-inv", "deepactif-input-mean", "deepactif-gate-pen", "ig", "ablation",
                "kernelshap-inv", "random",
        };
        da_eval_method m;
        char name[64];

        for (size_t i = 0; i < ELEMENTSOF(good); i++) {
                ck_assert_int_eq(da_eval_method_from_string(good[i], &m), 0);
                ck_assert_int_eq(da_eval_method_name(&m, name, sizeof(name)), 0);
                ck_assert_str_eq(name, good[i]);
        }
        /* Shorthands: deepactif is gate-inv, a baseline's aggregation is mean. */
        ck_assert_int_eq(da_eval_method_from_string("deepactif", &m), 0);
        ck_assert_int_eq(da_eval_method_name(&m, name, sizeof(name)), 0);
        ck_assert_str_eq(name, "deepactif-gate-inv");
        ck_assert_int_eq(da_eval_method_from_string("ig-mean", &m), 0);
        ck_assert_int_eq(da_eval_method_name(&m, name, sizeof(name)), 0);
        ck_assert_str_eq(name, "ig");
        ck_assert_int_eq(da_eval_method_name(&m, name, 2), -ENOBUFS);

        ck_assert_int_eq(da_eval_method_from_string("deepactif-cell-inv", &m), -EINVAL);
        ck_assert_int_eq(da_eval_method_from_string("ig-median", &m), -EINVAL);
        ck_assert_int_eq(da_eval_method_from_string("lime", &m), -EINVAL);
        ck_assert_int_eq(da_eval_method_from_string("", &m), -EINVAL);
}
END_TEST

START_TEST(test_planted_keep_topk) {
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        const char *paths[1] = { dir };
        /* Best first: the planted pair, or every other feature. */
        const unsigned planted[N_FEATURES] = { PLANTED_A, PLANTED_B, 0, 1, 2, 3, 5, 6, 8, 9 };
        const unsigned dropped[N_FEATURES] = { 0, 9, 1, 2, 3, 5, 6, 8, PLANTED_A, PLANTED_B };
        const unsigned train[3] = { 0, 1, 2 }, test[1] = { 3 };
        da_dataset_options dopt;
        da_train_options topt;
        da_error err = {};
        double mae_planted, mae_dropped, mae_all;

        data_options(&dopt);
        train_options(&topt);
        ck_assert_msg(da_dataset_load(paths, 1, &dopt, &ds, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(da_dataset_n_subjects(ds), N_SUBJECTS);
        ck_assert_uint_eq(da_dataset_n_features(ds), N_FEATURES);

        ck_assert_msg(evaluate_keep_topk(ds, train, 3, test, 1, planted, 2, &topt, NULL, &mae_planted, &err) == 0,
                      "%s", err.message);
        ck_assert_msg(evaluate_keep_topk(ds, train, 3, test, 1, dropped, 2, &topt, NULL, &mae_dropped, &err) == 0,
                      "%s", err.message);
        ck_assert_msg(evaluate_keep_topk(ds, train, 3, test, 1, planted, N_FEATURES, &topt, NULL, &mae_all,
                                         &err) == 0, "%s", err.message);
        printf("keep-top-2 MAE: planted %.2f cm, dropped %.2f cm; all 10 features %.2f cm\n", mae_planted,
               mae_dropped, mae_all);

        /* Without the planted pair no input carries the target: about the
         * 26 cm of predicting the mean (above). With it, far below. */
        ck_assert_msg(mae_dropped > 18, "dropping the planted features still gives %.2f cm", mae_dropped);
        ck_assert_msg(mae_planted < 10, "keeping the planted features gives %.2f cm", mae_planted);
        ck_assert_msg(mae_planted * 2.5 < mae_dropped, "margin: planted %.2f cm, dropped %.2f cm", mae_planted,
                      mae_dropped);

        /* Bad arguments: nothing kept, or more than there are. */
        ck_assert_int_eq(evaluate_keep_topk(ds, train, 3, test, 1, planted, 0, &topt, NULL, &mae_all, &err), -EINVAL);
        ck_assert_int_eq(evaluate_keep_topk(ds, train, 3, test, 1, planted, N_FEATURES + 1, &topt, NULL, &mae_all,
                                            &err), -EINVAL);
}
END_TEST

static double val_mae[64];
static unsigned n_epochs;

static void record_val(unsigned epoch, unsigned epochs, double train_loss, double val, void *userdata) {
        ck_assert_uint_lt(n_epochs, ELEMENTSOF(val_mae));
        val_mae[n_epochs++] = val;
}

/* The published best epoch: with the held-out subject as the validation
 * set, each epoch's validation error is that subject's error, and the model
 * returned is the epoch where it was lowest (scored again here through the
 * float forward pass, so within float rounding). Reusing a model: a
 * training that starts from it and barely moves returns about its error. */
START_TEST(test_published_training) {
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        _cleanup_(da_model_freep) da_model *m = NULL, *again = NULL;
        const char *paths[1] = { dir };
        const unsigned train[3] = { 0, 1, 2 }, test[1] = { 3 };
        da_dataset_options dopt;
        da_train_options topt;
        da_error err = {};
        double best = INFINITY, mae, mae_again;

        data_options(&dopt);
        train_options(&topt);
        ck_assert_msg(da_dataset_load(paths, 1, &dopt, &ds, &err) == 0, "%s", err.message);
        topt.epochs = 6;
        topt.patience = 0;
        topt.val_on_subjects = test;
        topt.n_val_on_subjects = 1;
        topt.progress = record_val;
        n_epochs = 0;
        ck_assert_msg(da_train(ds, train, 3, &topt, &m, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(n_epochs, 6);
        for (unsigned e = 0; e < n_epochs; e++)
                best = fmin(best, val_mae[e]);
        ck_assert_msg(da_score(m, ds, test, 1, &mae, NULL, &err) == 0, "%s", err.message);
        printf("best epoch on the test subject: %.4f m, scored %.4f m\n", best, mae);
        ck_assert_double_eq_tol(mae, best, 1e-4);

        train_options(&topt);
        topt.init = m;
        topt.epochs = 1;
        topt.lr = 1e-9;
        ck_assert_msg(da_train(ds, train, 3, &topt, &again, &err) == 0, "%s", err.message);
        ck_assert_msg(da_score(again, ds, test, 1, &mae_again, NULL, &err) == 0, "%s", err.message);
        ck_assert_double_eq_tol(mae_again, mae, 2e-3);

        topt.features = (const unsigned[]) { 0, 1 };
        topt.n_features = 2;
        da_model_free(again);
        again = NULL;
        ck_assert_int_eq(da_train(ds, train, 3, &topt, &again, &err), -EINVAL);
}
END_TEST

/* The data steps on whole subjects: after the depth bins every subject's
 * window targets run in order of depth, bin by bin; after the subject
 * scaler every feature's median over a subject's rows is 0. */
START_TEST(test_published_data) {
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        const char *paths[1] = { dir };
        da_dataset_options dopt;
        da_error err = {};

        data_options(&dopt);
        ck_assert_msg(da_dataset_load(paths, 1, &dopt, &ds, &err) == 0, "%s", err.message);
        ck_assert_int_eq(published_apply(ds, DA_PUBLISHED_IQR | DA_PUBLISHED_BINS | DA_PUBLISHED_SUBJECT_SCALER, 1,
                                         &err), 0);
        for (unsigned s = 0; s < ds->n_subjects; s++) {
                const ds_subject *sj = &ds->subject[s];
                float mn = INFINITY, mx = -INFINITY;

                ck_assert_uint_gt(sj->n_windows, 100);
                ck_assert_uint_eq(sj->n_windows, sj->n_rows - WINDOW + 1);
                for (size_t w = 0; w < sj->n_windows; w++) {
                        mn = fminf(mn, sj->target[w]);
                        mx = fmaxf(mx, sj->target[w]);
                }
                /* a bin is (max − min)/60 wide: a later window may lie below an earlier one only within one */
                for (size_t w = 1; w < sj->n_windows; w++)
                        ck_assert_msg(sj->target[w] >= sj->target[w - 1] - (mx - mn) / 60 * 1.001f,
                                      "subject %u, window %zu: %g after %g", s, w, sj->target[w], sj->target[w - 1]);
                for (unsigned f = 0; f < ds->F; f++) {
                        size_t below = 0, above = 0;

                        for (size_t i = 0; i < sj->n_rows; i++) {
                                below += sj->rows[i * ds->F + f] < -1e-6f;
                                above += sj->rows[i * ds->F + f] > 1e-6f;
                        }
                        ck_assert_msg(below <= sj->n_rows / 2 + 1 && above <= sj->n_rows / 2 + 1,
                                      "subject %u feature %u: %zu below, %zu above 0", s, f, below, above);
                }
        }
}
END_TEST

static unsigned n_progress;

static void count_progress(const char *stage, unsigned step, unsigned steps, void *userdata) {
        ck_assert_uint_lt(step, steps);
        n_progress++;
}

static size_t total_windows(void) {
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        const char *paths[1] = { dir };
        da_dataset_options o;
        da_error err = {};
        size_t n = 0;

        data_options(&o);
        ck_assert_msg(da_dataset_load(paths, 1, &o, &ds, &err) == 0, "%s", err.message);
        for (unsigned s = 0; s < da_dataset_n_subjects(ds); s++)
                n += da_dataset_n_windows(ds, s);
        return n;
}

/* Every method but the random control ranked the same number of windows in
 * each fold, and over all folds `expected` of them. */
static void check_same_windows(const da_eval_report *rep, size_t expected) {
        size_t sum = 0;

        for (unsigned f = 0; f < rep->n_folds; f++) {
                size_t n = rep->rows[0].fold_windows[f];

                ck_assert_uint_gt(n, 0);
                for (unsigned i = 0; i < rep->n_rows; i++)
                        ck_assert_uint_eq(rep->rows[i].fold_windows[f], streq(rep->rows[i].method, "random") ? 0 : n);
                sum += n;
        }
        ck_assert_uint_eq(sum, expected);
        ck_assert_uint_eq(rep->rank_windows, expected);
}

static const da_eval_row *find_row(const da_eval_report *rep, const char *method, unsigned k) {
        for (unsigned i = 0; i < rep->n_rows; i++)
                if (streq(rep->rows[i].method, method) && rep->rows[i].k_percent == k)
                        return &rep->rows[i];
        return NULL;
}

START_TEST(test_protocol) {
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        const char *paths[1] = { dir };
        static const char *const methods[] = {
                "deepactif-gate-inv", "deepactif-gate-mean", "ig", "ablation", "random",
        };
        da_eval_options o;
        da_error err = {};

        da_eval_options_init(&o, DA_EVAL_QUICK);
        data_options(&o.data);
        train_options(&o.train);
        o.folds = 2;
        o.n_methods = ELEMENTSOF(methods);
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                ck_assert_int_eq(da_eval_method_from_string(methods[i], &o.methods[i]), 0);
        o.k_percent[0] = 20;
        o.k_percent[1] = 40;
        o.n_k = 2;
        o.rank_windows = 0;
        o.progress = count_progress;

        ck_assert_msg(da_evaluate(paths, 1, &o, &rep, &err) == 0, "%s", err.message);

        /* 2 folds × (train all + 5 methods × (rank + 2 retrains)). */
        ck_assert_uint_eq(n_progress, 2 * (1 + 5 * (1 + 2)));
        ck_assert_uint_eq(rep->n_subjects, N_SUBJECTS);
        ck_assert_uint_eq(rep->n_folds, 2);
        ck_assert_uint_eq(rep->n_features, N_FEATURES);
        ck_assert_uint_eq(rep->n_rows, 10);
        ck_assert_str_eq(rep->reference, "deepactif-gate-inv");
        check_same_windows(rep, total_windows() * (rep->n_folds - 1));

        for (unsigned i = 0; i < rep->n_rows; i++) {
                const da_eval_row *row = &rep->rows[i];

                printf("%-20s k %2u%% kept %u: MAE %.2f ± %.2f cm (folds %.2f, %.2f), p %.3f, r %.3f, "
                       "%.4f s, %.2f MiB\n", row->method, row->k_percent, row->kept, row->mae_mean, row->mae_sd,
                       row->fold_mae[0], row->fold_mae[1], row->p_wilcoxon, row->effect_r, row->cost_s,
                       row->peak_mib);
                ck_assert_uint_eq(row->kept, row->k_percent == 20 ? 2 : 4);
                ck_assert(isfinite(row->mae_mean) && row->mae_mean > 0);
                ck_assert_double_eq_tol(row->mae_mean, (row->fold_mae[0] + row->fold_mae[1]) / 2, 1e-9);
                ck_assert(row->cost_s >= 0);
                if (streq(row->method, "deepactif-gate-inv"))
                        ck_assert(isnan(row->p_wilcoxon) && isnan(row->effect_r));
                else
                        ck_assert(row->p_wilcoxon > 0 && row->p_wilcoxon <= 1);
        }

        /* The planted pair moves the output most (ablation, IG) and carries
         * the largest gate contributions on average (DeepACTIF-MEAN): their
         * top 20 % are those two, and the same two give the same model. The
         * random control keeps them only by chance. DeepACTIF-INV is not
         * asserted: it rewards a low σ across windows, which the planted
         * inputs, the ones that vary the output, do not have. */
        for (size_t i = 1; i < 4; i++) {
                const da_eval_row *row = find_row(rep, methods[i], 20);

                ck_assert_ptr_nonnull(row);
                ck_assert_msg(row->mae_mean < 10, "%s's top 2 give %.2f cm", methods[i], row->mae_mean);
        }
        printf("all features: %.2f ± %.2f cm\n", rep->all_mae_mean, rep->all_mae_sd);
}
END_TEST

/* A small protocol, whole and in shards: the shared sample has the size
 * asked for in every fold, and the merged shards give the same figures bit
 * for bit; a shard twice, a missing one and one of other settings are
 * refused. */
START_TEST(test_shards) {
        _cleanup_(da_eval_report_freep) da_eval_report *whole = NULL, *merged = NULL, *other = NULL;
        da_eval_report *parts[3] = {};
        const char *paths[1] = { dir };
        static const char *const methods[] = { "deepactif-gate-inv", "deepactif-input-mean", "ig", "random" };
        da_eval_options o;
        da_error err = {};

        da_eval_options_init(&o, DA_EVAL_QUICK);
        data_options(&o.data);
        train_options(&o.train);
        o.train.epochs = 2;
        o.folds = 0;
        o.rank_windows = 40;
        o.n_methods = ELEMENTSOF(methods);
        for (size_t i = 0; i < ELEMENTSOF(methods); i++)
                ck_assert_int_eq(da_eval_method_from_string(methods[i], &o.methods[i]), 0);
        o.n_k = 2;

        ck_assert_msg(da_evaluate(paths, 1, &o, &whole, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(whole->n_folds, N_SUBJECTS);
        check_same_windows(whole, 40 * N_SUBJECTS);

        o.shard_count = 3;
        for (unsigned i = 0; i < 3; i++) {
                o.shard_index = i;
                ck_assert_msg(da_evaluate(paths, 1, &o, &parts[i], &err) == 0, "%s", err.message);
        }
        /* in another order than they were run */
        ck_assert_msg(da_eval_report_merge((const da_eval_report *const[]) { parts[2], parts[0], parts[1] }, 3,
                                           &merged, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(merged->n_rows, whole->n_rows);
        ck_assert_mem_eq(&merged->all_mae_mean, &whole->all_mae_mean, sizeof(double));
        ck_assert_mem_eq(&merged->all_mae_sd, &whole->all_mae_sd, sizeof(double));
        for (unsigned i = 0; i < whole->n_rows; i++) {
                const da_eval_row *a = &whole->rows[i], *b = &merged->rows[i];

                ck_assert_str_eq(a->method, b->method);
                ck_assert_mem_eq(a->fold_mae, b->fold_mae, sizeof(double) * whole->n_folds);
                ck_assert_mem_eq(&a->mae_mean, &b->mae_mean, sizeof(double));
                ck_assert_mem_eq(&a->mae_sd, &b->mae_sd, sizeof(double));
                ck_assert(memcmp(&a->p_wilcoxon, &b->p_wilcoxon, sizeof(double)) == 0 ||
                          (isnan(a->p_wilcoxon) && isnan(b->p_wilcoxon)));
        }
        check_same_windows(merged, 40 * N_SUBJECTS);

        ck_assert_int_eq(da_eval_report_merge((const da_eval_report *const[]) { parts[0], parts[1], parts[1] }, 3,
                                              &other, &err), -EEXIST);
        ck_assert_ptr_nonnull(strstr(err.message, "shard 2/3 is given twice"));
        ck_assert_int_eq(da_eval_report_merge((const da_eval_report *const[]) { parts[0], parts[2] }, 2, &other,
                                              &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err.message, "shard 2/3 is missing"));

        da_eval_report_free(parts[1]);
        o.shard_index = 1;
        o.seed = 1;
        ck_assert_msg(da_evaluate(paths, 1, &o, &parts[1], &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_eval_report_merge((const da_eval_report *const *) parts, 3, &other, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "different settings"));
        ck_assert_ptr_null(other);
        for (unsigned i = 0; i < 3; i++)
                da_eval_report_free(parts[i]);
}
END_TEST

START_TEST(test_protocol_bad) {
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        const char *paths[1] = { dir };
        da_eval_options o;
        da_error err = {};

        da_eval_options_init(&o, DA_EVAL_QUICK);
        data_options(&o.data);
        o.k_percent[0] = 0;
        ck_assert_int_eq(da_evaluate(paths, 1, &o, &rep, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "k = 0%"));

        da_eval_options_init(&o, DA_EVAL_QUICK);
        data_options(&o.data);
        o.max_subjects = 1;
        ck_assert_int_eq(da_evaluate(paths, 1, &o, &rep, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "at least 2 subjects"));

        o.max_subjects = 0;
        o.n_methods = 0;
        ck_assert_int_eq(da_evaluate(paths, 1, &o, &rep, &err), -EINVAL);
        ck_assert_ptr_null(rep);
}
END_TEST

static Suite *evaluate_suite(void) {
        Suite *s = suite_create("evaluate");
        TCase *tc = tcase_create("core");

        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, test_kept);
        tcase_add_test(tc, test_method_names);
        tcase_add_test(tc, test_planted_keep_topk);
        tcase_add_test(tc, test_protocol);
        tcase_add_test(tc, test_shards);
        tcase_add_test(tc, test_published_training);
        tcase_add_test(tc, test_published_data);
        tcase_add_test(tc, test_protocol_bad);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(evaluate_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
