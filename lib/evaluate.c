/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The papers' keep-top-k protocol (DESIGN §4.5): per subject-grouped fold,
 * train on all features, rank them with each method on the training
 * subjects' windows, retrain on the top ⌊F·k⌋, score the held-out subjects;
 * then MAE mean/SD over folds, Wilcoxon against DeepACTIF-INV, ranking cost. */

#include <math.h>
#include <time.h>

#include "dataset.h"
#include "evaluate.h"
#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_dataset *, da_dataset_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(da_eval_report *, da_eval_report_free);

#define REFERENCE_METHOD "deepactif-gate-inv"

static const char *const preset_names[_DA_EVAL_PRESET_MAX] = {
        [DA_EVAL_QUICK] = "quick",
        [DA_EVAL_PAPER] = "paper",
};

const char *da_eval_preset_to_string(da_eval_preset p) {
        return (unsigned) p < _DA_EVAL_PRESET_MAX ? preset_names[p] : NULL;
}

int da_eval_preset_from_string(const char *s) {
        for (unsigned i = 0; s && i < _DA_EVAL_PRESET_MAX; i++)
                if (streq(preset_names[i], s))
                        return (int) i;
        return -EINVAL;
}

int da_eval_method_from_string(const char *s, da_eval_method *ret) {
        da_eval_method m = { .aggregation = DA_AGG_MEAN };
        char name[64], *agg = NULL;
        int v;

        if (!s || !ret || strlen(s) >= sizeof(name))
                return -EINVAL;
        if (streq(s, "random")) {
                *ret = (da_eval_method) { .random = true };
                return 0;
        }
        strcpy(name, s);

        if (strncmp(name, "deepactif", 9) == 0 && (name[9] == '\0' || name[9] == '-')) {
                /* deepactif[-<location>[-<aggregation>]], gate and inv by default */
                char *loc = name[9] ? name + 10 : NULL;

                m.method = DA_METHOD_DEEPACTIF;
                m.location = DA_TRACE_GATE;
                m.aggregation = DA_AGG_DEFAULT;
                if (loc) {
                        agg = strchr(loc, '-');
                        if (agg)
                                *agg++ = '\0';
                        v = da_trace_location_from_string(loc);
                        if (v < 0)
                                return -EINVAL;
                        m.location = v;
                }
        } else {
                agg = strchr(name, '-');
                if (agg)
                        *agg++ = '\0';
                v = da_method_from_string(name);
                if (v < 0 || v == DA_METHOD_DEEPACTIF)
                        return -EINVAL;
                m.method = v;
        }
        if (agg) {
                v = da_aggregation_from_string(agg);
                if (v < 0)
                        return -EINVAL;
                m.aggregation = v;
        }
        *ret = m;
        return 0;
}

int da_eval_method_name(const da_eval_method *m, char *buf, size_t size) {
        int n;

        if (m->random)
                n = snprintf(buf, size, "random");
        else if (m->method == DA_METHOD_DEEPACTIF)
                n = snprintf(buf, size, "deepactif-%s-%s", da_trace_location_to_string(m->location),
                             da_aggregation_to_string(m->aggregation));
        else if (m->aggregation == DA_AGG_MEAN)
                n = snprintf(buf, size, "%s", da_method_to_string(m->method));
        else
                n = snprintf(buf, size, "%s-%s", da_method_to_string(m->method),
                             da_aggregation_to_string(m->aggregation));
        if (n < 0)
                return -EINVAL;
        return (size_t) n < size ? 0 : -ENOBUFS;
}

static void add_methods(da_eval_options *o, const char *const *names, unsigned n) {
        o->n_methods = 0;
        for (unsigned i = 0; i < n && o->n_methods < DA_EVAL_METHODS_MAX; i++)
                if (da_eval_method_from_string(names[i], &o->methods[o->n_methods]) >= 0)
                        o->n_methods++;
}

void da_eval_options_init(da_eval_options *o, da_eval_preset preset) {
        static const char *const quick_methods[] = {
                "deepactif-gate-inv", "deepactif-input-inv", "ig", "ablation", "random",
        };
        static const char *const paper_methods[] = {
                "deepactif-gate-inv", "deepactif-input-inv", "deepactif-gate-mean", "deepactif-input-mean",
                "ig", "deeplift", "gradshap", "ablation", "neflag", "random",
        };

        *o = (da_eval_options) {
                .k_percent = { 10, 20, 30, 40 },
                .n_k = 4,
                .seed = 0,
        };
        da_dataset_options_init(&o->data);
        da_train_options_init(&o->train);
        da_attr_options_init(&o->attr);

        if (preset == DA_EVAL_QUICK) {
                /* Sized for CI on two cores (about 1.5 minutes): 6 subjects in
                 * 3 folds, a small model, few epochs, every second window, IG
                 * with 8 steps on 32 windows per fold. */
                o->max_subjects = 6;
                o->folds = 3;
                o->data.hop = 2;
                o->train.hidden = 32;
                o->train.dense = 16;
                o->train.epochs = 8;
                o->train.patience = 3;
                o->attr.steps = 8;
                o->attr_windows = 32;
                add_methods(o, quick_methods, ELEMENTSOF(quick_methods));
        } else {
                /* Leave one subject out over every subject, the trainer's
                 * defaults; the baselines attribute 256 windows per fold. */
                o->max_subjects = 0;
                o->folds = 0;
                o->attr_windows = 256;
                add_methods(o, paper_methods, ELEMENTSOF(paper_methods));
        }
}

da_eval_report *da_eval_report_free(da_eval_report *r) {
        if (!r)
                return NULL;
        for (unsigned i = 0; i < r->n_rows; i++)
                free(r->rows[i].fold_mae);
        free(r->rows);
        free(r->all_fold_mae);
        return mfree(r);
}

unsigned evaluate_kept(unsigned n_features, unsigned k_percent) {
        unsigned kept = (unsigned) ((uint64_t) n_features * k_percent / 100);

        return MIN(MAX(kept, 1u), n_features);
}

static int cmp_unsigned(const void *a, const void *b) {
        unsigned x = *(const unsigned *) a, y = *(const unsigned *) b;

        return (x > y) - (x < y);
}

int evaluate_keep_topk(const da_dataset *ds, const unsigned *train, unsigned n_train, const unsigned *test,
                       unsigned n_test, const unsigned *order, unsigned kept, const da_train_options *topt,
                       double *ret_mae_cm, da_error *err) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_free_ unsigned *features = NULL;
        da_train_options o = *topt;
        double mae;
        int r;

        if (kept == 0 || kept > da_dataset_n_features(ds))
                return da_error_set(err, -EINVAL, "cannot keep %u of %u features", kept, da_dataset_n_features(ds));
        features = malloc(sizeof(unsigned) * kept);
        if (!features)
                return -ENOMEM;
        /* The kept set, not its order within the top k, defines the run. */
        memcpy(features, order, sizeof(unsigned) * kept);
        qsort(features, kept, sizeof(unsigned), cmp_unsigned);

        o.features = features;
        o.n_features = kept;
        r = da_train(ds, train, n_train, &o, &m, err);
        if (r < 0)
                return r;
        r = da_score(m, ds, test, n_test, &mae, NULL, err);
        if (r < 0)
                return r;
        *ret_mae_cm = mae * 100;
        return 0;
}

/* ---- windows to rank on ------------------------------------------------- */

typedef struct windows {
        float *x;               /* n × T × F, scaled with the fold's model */
        size_t n;
        unsigned T, F;
} windows;

/* The training subjects' windows as the fold's model sees them: its inputs
 * picked from the data set's columns by name and scaled with its scaler,
 * exactly as da_score() and the daemon's stream feed it. At most
 * max_rank_windows of them, evenly spaced, when that is set. */
static int collect_windows(const da_model *m, const da_dataset *ds, const unsigned *subjects, unsigned n,
                           unsigned max_windows, windows *w, da_error *err) {
        const da_arch *a = da_model_arch(m);
        _cleanup_free_ unsigned *cols = NULL;
        size_t total = 0, want, next = 0, seen = 0;

        if (a->window != ds->T)
                return da_error_set(err, -EINVAL, "the model's window is %u frames, the data set's %u", a->window,
                                    ds->T);
        cols = calloc(a->n_features, sizeof(unsigned));
        if (!cols)
                return -ENOMEM;
        for (unsigned f = 0; f < a->n_features; f++) {
                const char *name = da_model_feature(m, f);
                unsigned k = 0;

                while (name && k < ds->F && !streq(ds->names[k], name))
                        k++;
                if (!name || k == ds->F)
                        return da_error_set(err, -ENOENT, "model input %u is not among the data set's features", f);
                cols[f] = k;
        }

        for (unsigned i = 0; i < n; i++)
                total += ds->subject[subjects[i]].n_windows;
        if (total == 0)
                return da_error_set(err, -ENODATA, "the training subjects yield no window to rank on");
        want = max_windows > 0 ? MIN(total, (size_t) max_windows) : total;

        w->T = a->window;
        w->F = a->n_features;
        w->x = malloc(want * w->T * w->F * sizeof(float));
        if (!w->x)
                return -ENOMEM;
        w->n = 0;
        for (unsigned i = 0; i < n && w->n < want; i++) {
                const ds_subject *s = &ds->subject[subjects[i]];

                for (size_t k = 0; k < s->n_windows && w->n < want; k++, seen++) {
                        const float *src;
                        float *dst;

                        /* window number next·total/want of all, in order */
                        if (seen != next * total / want)
                                continue;
                        src = ds_window(ds, s, k);
                        dst = w->x + w->n * w->T * w->F;
                        for (unsigned t = 0; t < w->T; t++) {
                                float *row = dst + (size_t) t * w->F;

                                for (unsigned f = 0; f < w->F; f++)
                                        row[f] = src[(size_t) t * ds->F + cols[f]];
                                if (da_model_scaler_median(m))
                                        da_scaler_apply(da_model_scaler_median(m), da_model_scaler_iqr(m), w->F, row);
                        }
                        w->n++;
                        next++;
                }
        }
        return 0;
}

/* ---- ranking and its cost ----------------------------------------------- */

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int rank_deepactif(const da_model *m, const windows *w, const da_eval_method *meth, double *ret_scores) {
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        _cleanup_free_ float *a = NULL, *out = NULL;
        int r;

        r = da_ctx_new(m, w->T, &ctx);
        if (r < 0)
                return r;
        a = malloc(sizeof(float) * w->n * w->F);
        out = malloc(sizeof(float) * da_model_arch(m)->outputs);
        if (!a || !out)
                return -ENOMEM;
        for (size_t i = 0; i < w->n; i++) {
                float *row = a + i * w->F;

                r = da_forward_traced(ctx, w->x + i * w->T * w->F, w->T, out,
                                      meth->location == DA_TRACE_INPUT ? row : NULL,
                                      meth->location == DA_TRACE_GATE ? row : NULL);
                if (r < 0)
                        return r;
        }
        return da_aggregate(a, w->n, w->F, meth->aggregation, ret_scores);
}

/* Baselines: |Σ_t φ[t,f]| per window over an evenly spaced sample. */
static int rank_baseline(const da_model *m, const windows *w, const da_eval_method *meth, const da_eval_options *o,
                         uint64_t seed, double *ret_scores, da_error *err) {
        _cleanup_free_ float *a = NULL, *phi = NULL;
        size_t n = MIN(w->n, (size_t) MAX(o->attr_windows, 1u));
        da_attr_options ao = o->attr;
        int r;

        a = malloc(sizeof(float) * n * w->F);
        phi = malloc(sizeof(float) * w->T * w->F);
        if (!a || !phi)
                return -ENOMEM;
        ao.seed = seed;
        for (size_t i = 0; i < n; i++) {
                const float *x = w->x + (i * w->n / n) * w->T * w->F;
                da_attr_result res;

                r = da_attribute(m, meth->method, &ao, x, w->T, phi, &res, err);
                if (r < 0)
                        return r;
                for (unsigned f = 0; f < w->F; f++) {
                        double s = 0;

                        for (unsigned t = 0; t < w->T; t++)
                                s += phi[(size_t) t * w->F + f];
                        a[i * w->F + f] = (float) fabs(s);
                }
        }
        r = da_aggregate(a, n, w->F, meth->aggregation, ret_scores);
        if (r == -EINVAL)
                return da_error_set(err, r, "%s gave non-finite attributions", da_method_to_string(meth->method));
        return r;
}

static int rank_method(const da_model *m, const windows *w, const da_eval_method *meth, const da_eval_options *o,
                       uint64_t seed, double *ret_scores, da_error *err) {
        if (meth->random) {
                for (unsigned f = 0; f < w->F; f++)
                        ret_scores[f] = da_uniform01(&seed);
                return 0;
        }
        if (meth->method == DA_METHOD_DEEPACTIF)
                return rank_deepactif(m, w, meth, ret_scores);
        return rank_baseline(m, w, meth, o, seed, ret_scores, err);
}

/* ---- the protocol --------------------------------------------------------- */

typedef struct fold_split {
        unsigned *train, *test;
        unsigned n_train, n_test;
} fold_split;

/* Subjects to folds: one each for leave-one-subject-out, else a seeded
 * shuffle dealt round-robin so fold sizes differ by at most one. */
static int assign_folds(unsigned n_subjects, unsigned n_folds, uint64_t seed, unsigned *ret_fold) {
        _cleanup_free_ unsigned *perm = malloc(sizeof(unsigned) * n_subjects);

        if (!perm)
                return -ENOMEM;
        for (unsigned i = 0; i < n_subjects; i++)
                perm[i] = i;
        if (n_folds < n_subjects)
                for (unsigned i = n_subjects - 1; i > 0; i--) {
                        unsigned j = (unsigned) (da_splitmix64(&seed) % (i + 1)), t = perm[i];

                        perm[i] = perm[j];
                        perm[j] = t;
                }
        for (unsigned i = 0; i < n_subjects; i++)
                ret_fold[perm[i]] = i % n_folds;
        return 0;
}

static int split_fold(const unsigned *fold_of, unsigned n_subjects, unsigned fold, fold_split *s) {
        s->train = malloc(sizeof(unsigned) * n_subjects);
        s->test = malloc(sizeof(unsigned) * n_subjects);
        if (!s->train || !s->test)
                return -ENOMEM;
        s->n_train = s->n_test = 0;
        for (unsigned i = 0; i < n_subjects; i++)
                if (fold_of[i] == fold)
                        s->test[s->n_test++] = i;
                else
                        s->train[s->n_train++] = i;
        return 0;
}

static void fold_split_done(fold_split *s) {
        s->train = mfree(s->train);
        s->test = mfree(s->test);
}

_printf_(4, 5) static void progress(const da_eval_options *o, unsigned *step, unsigned steps, const char *fmt, ...) {
        char msg[256];
        va_list ap;

        if (!o->progress)
                return;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof(msg), fmt, ap);
        va_end(ap);
        o->progress(msg, (*step)++, steps, o->userdata);
}

/* Prefixes err's message with the fold, keeping the cause. */
static int fold_error(da_error *err, int r, unsigned fold, const char *what) {
        char cause[sizeof(err->message)];

        if (!err)
                return r;
        snprintf(cause, sizeof(cause), "%s", err->message[0] ? err->message : strerror(-r));
        return da_error_set(err, r, "fold %u, %s: %s", fold + 1, what, cause);
}

static void summarise(da_eval_report *rep) {
        const da_eval_row *ref = NULL;

        (void) da_mean_sd(rep->all_fold_mae, rep->n_folds, &rep->all_mae_mean, &rep->all_mae_sd);
        for (unsigned i = 0; i < rep->n_rows; i++)
                (void) da_mean_sd(rep->rows[i].fold_mae, rep->n_folds, &rep->rows[i].mae_mean, &rep->rows[i].mae_sd);

        for (unsigned i = 0; i < rep->n_rows && !ref; i++)
                if (streq(rep->rows[i].method, REFERENCE_METHOD))
                        ref = &rep->rows[i];
        snprintf(rep->reference, sizeof(rep->reference), "%s", ref ? REFERENCE_METHOD : "");

        for (unsigned i = 0; i < rep->n_rows; i++) {
                da_eval_row *row = &rep->rows[i];
                const da_eval_row *base = ref ? ref + (i % rep->n_k) : NULL;
                da_wilcoxon_result w;
                int r;

                row->p_wilcoxon = row->effect_r = NAN;
                if (!base || streq(row->method, REFERENCE_METHOD))
                        continue;
                r = da_wilcoxon(row->fold_mae, base->fold_mae, rep->n_folds, &w);
                if (r == -EDOM) {
                        /* Identical errors in every fold: no evidence of a difference. */
                        row->p_wilcoxon = 1;
                        row->effect_r = 0;
                } else if (r >= 0) {
                        row->p_wilcoxon = w.p;
                        row->effect_r = w.effect_r;
                }
        }
}

int da_evaluate(const char *const *paths, unsigned n_paths, const da_eval_options *opt, da_eval_report **ret,
                da_error *err) {
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        _cleanup_free_ unsigned *fold_of = NULL, *order = NULL;
        _cleanup_free_ double *scores = NULL;
        unsigned S, F, n_folds, step = 0, steps;
        double t_start = now_s();
        int r;

        if (!paths || n_paths == 0 || !opt || !ret)
                return da_error_set(err, -EINVAL, "evaluation needs recordings and options");
        if (opt->n_methods == 0 || opt->n_methods > DA_EVAL_METHODS_MAX)
                return da_error_set(err, -EINVAL, "evaluation needs 1 to %u methods", DA_EVAL_METHODS_MAX);
        if (opt->n_k == 0 || opt->n_k > DA_EVAL_K_MAX)
                return da_error_set(err, -EINVAL, "evaluation needs 1 to %u values of k", DA_EVAL_K_MAX);
        for (unsigned i = 0; i < opt->n_k; i++)
                if (opt->k_percent[i] == 0 || opt->k_percent[i] > 100)
                        return da_error_set(err, -EINVAL, "k = %u%% is not within 1..100%%", opt->k_percent[i]);

        r = da_dataset_load(paths, n_paths, &opt->data, &ds, err);
        if (r < 0)
                return r;
        S = da_dataset_n_subjects(ds);
        if (opt->max_subjects > 0)
                S = MIN(S, opt->max_subjects);
        F = da_dataset_n_features(ds);
        if (S < 2)
                return da_error_set(err, -EINVAL, "evaluation needs at least 2 subjects with windows, the data "
                                    "has %u", S);
        n_folds = opt->folds == 0 ? S : MIN(opt->folds, S);
        if (n_folds < 2)
                return da_error_set(err, -EINVAL, "evaluation needs at least 2 folds");

        fold_of = calloc(S, sizeof(unsigned));
        order = calloc(F, sizeof(unsigned));
        scores = calloc(F, sizeof(double));
        rep = calloc(1, sizeof(*rep));
        if (!fold_of || !order || !scores || !rep)
                return -ENOMEM;

        rep->n_subjects = S;
        rep->n_folds = n_folds;
        rep->n_features = F;
        rep->n_k = opt->n_k;
        memcpy(rep->k_percent, opt->k_percent, sizeof(unsigned) * opt->n_k);
        rep->attr_windows = opt->attr_windows;
        rep->all_fold_mae = calloc(n_folds, sizeof(double));
        rep->rows = calloc((size_t) opt->n_methods * opt->n_k, sizeof(da_eval_row));
        if (!rep->all_fold_mae || !rep->rows)
                return -ENOMEM;
        rep->n_rows = opt->n_methods * opt->n_k;
        for (unsigned i = 0; i < rep->n_rows; i++) {
                da_eval_row *row = &rep->rows[i];

                r = da_eval_method_name(&opt->methods[i / opt->n_k], row->method, sizeof(row->method));
                if (r < 0)
                        return da_error_set(err, -EINVAL, "method %u has no name", i / opt->n_k + 1);
                row->k_percent = opt->k_percent[i % opt->n_k];
                row->kept = evaluate_kept(F, row->k_percent);
                row->peak_mib = NAN;
                row->fold_mae = calloc(n_folds, sizeof(double));
                if (!row->fold_mae)
                        return -ENOMEM;
        }

        r = assign_folds(S, n_folds, opt->seed, fold_of);
        if (r < 0)
                return r;

        steps = n_folds * (1 + opt->n_methods * (1 + opt->n_k));
        for (unsigned fold = 0; fold < n_folds; fold++) {
                _cleanup_(da_model_freep) da_model *m = NULL;
                da_train_options topt = opt->train;
                fold_split sp = {};
                windows w = {};
                double mae;

                r = split_fold(fold_of, S, fold, &sp);
                if (r < 0)
                        goto fold_done;
                topt.features = NULL;
                topt.n_features = 0;
                topt.seed = opt->train.seed + fold;

                progress(opt, &step, steps, "fold %u/%u: training on all %u features", fold + 1, n_folds, F);
                r = da_train(ds, sp.train, sp.n_train, &topt, &m, err);
                if (r < 0) {
                        r = fold_error(err, r, fold, "training on all features");
                        goto fold_done;
                }
                r = da_score(m, ds, sp.test, sp.n_test, &mae, NULL, err);
                if (r < 0) {
                        r = fold_error(err, r, fold, "scoring the all-features model");
                        goto fold_done;
                }
                rep->all_fold_mae[fold] = mae * 100;

                r = collect_windows(m, ds, sp.train, sp.n_train, opt->max_rank_windows, &w, err);
                if (r < 0) {
                        r = fold_error(err, r, fold, "reading the windows to rank on");
                        goto fold_done;
                }
                rep->rank_windows += w.n;

                for (unsigned mi = 0; mi < opt->n_methods; mi++) {
                        da_eval_row *rows = &rep->rows[mi * opt->n_k];
                        double t0, cost, peak = NAN;

                        progress(opt, &step, steps, "fold %u/%u: ranking with %s", fold + 1, n_folds, rows[0].method);
                        if (opt->memory)
                                (void) opt->memory(true, opt->userdata);
                        t0 = now_s();
                        r = rank_method(m, &w, &opt->methods[mi], opt, opt->seed + fold, scores, err);
                        cost = now_s() - t0;
                        if (opt->memory)
                                peak = opt->memory(false, opt->userdata);
                        if (r >= 0)
                                r = da_ranking(scores, F, order);
                        if (r < 0) {
                                r = fold_error(err, r, fold, rows[0].method);
                                goto fold_done;
                        }
                        for (unsigned ki = 0; ki < opt->n_k; ki++) {
                                rows[ki].cost_s += cost / n_folds;
                                if (!isnan(peak))
                                        rows[ki].peak_mib = isnan(rows[ki].peak_mib) ? peak : fmax(rows[ki].peak_mib, peak);
                        }

                        for (unsigned ki = 0; ki < opt->n_k; ki++) {
                                progress(opt, &step, steps, "fold %u/%u: %s, top %u%% (%u features)", fold + 1,
                                         n_folds, rows[ki].method, rows[ki].k_percent, rows[ki].kept);
                                r = evaluate_keep_topk(ds, sp.train, sp.n_train, sp.test, sp.n_test, order,
                                                       rows[ki].kept, &topt, &rows[ki].fold_mae[fold], err);
                                if (r < 0) {
                                        r = fold_error(err, r, fold, "retraining on the kept features");
                                        goto fold_done;
                                }
                        }
                }
        fold_done:
                free(w.x);
                fold_split_done(&sp);
                if (r < 0)
                        return r;
        }

        summarise(rep);
        rep->seconds = now_s() - t_start;
        *ret = TAKE_PTR(rep);
        return 0;
}
