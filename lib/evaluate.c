/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The papers' keep-top-k protocol (DESIGN §4.5): per subject-grouped fold,
 * train on all features, rank them with each method on the training
 * subjects' windows, retrain on the top ⌊F·k⌋, score the held-out subjects;
 * then MAE mean/SD over folds, Wilcoxon against DeepACTIF-INV, ranking cost. */

#include <inttypes.h>
#include <math.h>
#include <time.h>

#include "dataset.h"
#include "evaluate.h"
#include "published.h"
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
                "deepactif-gate-inv", "deepactif-gate-mean", "deepactif-gate-meanstd", "deepactif-gate-pen",
                "deepactif-input-inv", "deepactif-input-mean", "deepactif-input-meanstd", "deepactif-input-pen",
                "ig", "deeplift", "gradshap", "kernelshap", "ablation", "neflag", "random",
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
                 * with 8 steps; every method ranks the same 32 windows per fold. */
                o->max_subjects = 6;
                o->folds = 3;
                o->data.hop = 2;
                o->train.hidden = 32;
                o->train.dense = 16;
                o->train.epochs = 8;
                o->train.patience = 3;
                o->attr.steps = 8;
                o->rank_windows = 32;
                add_methods(o, quick_methods, ELEMENTSOF(quick_methods));
        } else {
                /* Leave one subject out over every subject, the trainer's
                 * defaults on windows of distinct frames (hop = window: a
                 * tenth of the windows, hardly less information, since
                 * windows one frame apart are nearly the same); every
                 * method ranks the same 256 windows per fold. */
                o->max_subjects = 0;
                o->folds = 0;
                o->data.hop = o->data.window;
                o->rank_windows = 256;
                add_methods(o, paper_methods, ELEMENTSOF(paper_methods));
        }
}

da_eval_report *da_eval_report_free(da_eval_report *r) {
        if (!r)
                return NULL;
        for (unsigned i = 0; r->rows && i < r->n_rows; i++) {
                free(r->rows[i].fold_mae);
                free(r->rows[i].fold_cost_s);
                free(r->rows[i].fold_peak_mib);
                free(r->rows[i].fold_windows);
        }
        free(r->rows);
        free(r->all_fold_mae);
        free(r->fold_done);
        for (unsigned f = 0; r->fold_test && f < r->n_folds; f++)
                free(r->fold_test[f]);
        free(r->fold_test);
        return mfree(r);
}

int da_eval_report_new(unsigned n_folds, unsigned n_rows, da_eval_report **ret) {
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;

        if (n_folds == 0 || n_rows == 0 || !ret)
                return -EINVAL;
        rep = calloc(1, sizeof(*rep));
        if (!rep)
                return -ENOMEM;
        rep->n_folds = n_folds;
        rep->shard_count = 1;
        rep->all_fold_mae = calloc(n_folds, sizeof(double));
        rep->fold_done = calloc(n_folds, sizeof(bool));
        rep->fold_test = calloc(n_folds, sizeof(char *));
        rep->rows = calloc(n_rows, sizeof(da_eval_row));
        if (!rep->all_fold_mae || !rep->fold_done || !rep->fold_test || !rep->rows)
                return -ENOMEM;
        rep->n_rows = n_rows;
        for (unsigned i = 0; i < n_rows; i++) {
                da_eval_row *row = &rep->rows[i];

                row->fold_mae = calloc(n_folds, sizeof(double));
                row->fold_cost_s = calloc(n_folds, sizeof(double));
                row->fold_peak_mib = calloc(n_folds, sizeof(double));
                row->fold_windows = calloc(n_folds, sizeof(size_t));
                if (!row->fold_mae || !row->fold_cost_s || !row->fold_peak_mib || !row->fold_windows)
                        return -ENOMEM;
                row->mae_mean = row->mae_sd = row->p_wilcoxon = row->effect_r = row->cost_s = NAN;
                row->peak_mib = NAN;
                for (unsigned f = 0; f < n_folds; f++)
                        row->fold_peak_mib[f] = NAN;
        }
        rep->all_mae_mean = rep->all_mae_sd = NAN;
        *ret = TAKE_PTR(rep);
        return 0;
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
                       da_model **chain, double *ret_mae_cm, da_error *err) {
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
        if (chain)
                o.init = *chain;
        r = da_train(ds, train, n_train, &o, &m, err);
        if (r < 0)
                return r;
        r = da_score(m, ds, test, n_test, &mae, NULL, err);
        if (r < 0)
                return r;
        *ret_mae_cm = mae * 100;
        if (chain) {
                da_model_free(*chain);
                *chain = TAKE_PTR(m);
        }
        return 0;
}

/* Retrains already done in a fold, by kept feature set: training is
 * deterministic for a given set, seed and data, so methods (and values of
 * k) that keep the same features share one training and its error. */
typedef struct retrain_cache {
        uint64_t *key;          /* bitmask of the kept features (F ≤ 64) */
        double *mae;
        size_t n;
} retrain_cache;

static uint64_t kept_key(const unsigned *order, unsigned kept) {
        uint64_t k = 0;

        for (unsigned i = 0; i < kept; i++)
                k |= UINT64_C(1) << order[i];
        return k;
}

static void retrain_cache_done(retrain_cache *c) {
        c->key = mfree(c->key);
        c->mae = mfree(c->mae);
        c->n = 0;
}

/* ---- windows to rank on ------------------------------------------------- */

typedef struct windows {
        float *x;               /* n × T × F, scaled with the fold's model */
        size_t n;
        unsigned T, F;
} windows;

/* The training subjects' windows as the fold's model sees them: its inputs
 * picked from the data set's columns by name and scaled as da_score() and
 * the daemon's stream scale them (ds_scaled_rows()). At most max_windows of
 * them (0 = all), evenly spaced over all the subjects' windows in order;
 * every method of the fold ranks this one sample. */
static int collect_windows(const da_model *m, const da_dataset *ds, const unsigned *subjects, unsigned n,
                           unsigned max_windows, windows *w, da_error *err) {
        const da_arch *a = da_model_arch(m);
        size_t total = 0, want, next = 0, seen = 0;
        int r;

        if (a->window != ds->T)
                return da_error_set(err, -EINVAL, "the model's window is %u frames, the data set's %u", a->window,
                                    ds->T);
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
                _cleanup_free_ float *rows = NULL;
                size_t first;

                r = ds_scaled_rows(m, ds, s, &rows, &first, err);
                if (r < 0)
                        return r;
                for (size_t k = 0; k < s->n_windows && w->n < want; k++, seen++) {
                        /* window number next·total/want of all, in order */
                        if (seen != next * total / want)
                                continue;
                        next++;
                        if (!ds_window_usable(ds, s, k, first))
                                continue;
                        memcpy(w->x + w->n * w->T * w->F, rows + (s->end[k] + 1 - ds->T) * w->F,
                               (size_t) w->T * w->F * sizeof(float));
                        w->n++;
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

/* Baselines: |Σ_t φ[t,f]| per window, over the same windows DeepACTIF ranks. */
static int rank_baseline(const da_model *m, const windows *w, const da_eval_method *meth, const da_eval_options *o,
                         uint64_t seed, double *ret_scores, da_error *err) {
        _cleanup_free_ float *a = NULL, *phi = NULL;
        size_t n = w->n;
        da_attr_options ao = o->attr;
        int r;

        a = malloc(sizeof(float) * n * w->F);
        phi = malloc(sizeof(float) * w->T * w->F);
        if (!a || !phi)
                return -ENOMEM;
        ao.seed = seed;
        for (size_t i = 0; i < n; i++) {
                const float *x = w->x + i * w->T * w->F;
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

/* Scores every feature; *ret_windows is the number of windows looked at. */
static int rank_method(const da_model *m, const windows *w, const da_eval_method *meth, const da_eval_options *o,
                       uint64_t seed, double *ret_scores, size_t *ret_windows, da_error *err) {
        if (meth->random) {
                for (unsigned f = 0; f < w->F; f++)
                        ret_scores[f] = da_uniform01(&seed);
                *ret_windows = 0;
                return 0;
        }
        *ret_windows = w->n;
        if (meth->method == DA_METHOD_DEEPACTIF)
                return rank_deepactif(m, w, meth, ret_scores);
        return rank_baseline(m, w, meth, o, seed, ret_scores, err);
}

int da_dataset_rank(const da_model *m, const da_dataset *ds, const unsigned *subjects, unsigned n_subjects,
                    da_trace_location location, da_aggregation aggregation, double *ret_scores,
                    size_t *ret_windows, da_error *err) {
        const da_eval_method meth = {
                .method = DA_METHOD_DEEPACTIF,
                .location = location,
                .aggregation = aggregation,
        };
        _cleanup_free_ unsigned *all = NULL;
        windows w = {};
        int r;

        if (!m || !ds || !ret_scores || (unsigned) location >= _DA_TRACE_MAX || (unsigned) aggregation >= _DA_AGG_MAX)
                return -EINVAL;
        if (!subjects) {
                all = calloc(MAX(ds->n_subjects, 1u), sizeof(unsigned));
                if (!all)
                        return -ENOMEM;
                for (unsigned s = 0; s < ds->n_subjects; s++)
                        all[s] = s;
                subjects = all;
                n_subjects = ds->n_subjects;
        }
        r = collect_windows(m, ds, subjects, n_subjects, 0, &w, err);
        if (r >= 0)
                r = rank_deepactif(m, &w, &meth, ret_scores);
        if (r >= 0 && ret_windows)
                *ret_windows = w.n;
        free(w.x);
        return r;
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

/* Mean and SD of the MAE, mean cost, largest peak and the Wilcoxon test
 * against the reference, all from the per-fold figures, so a merge of
 * shards computes them from the same numbers in the same order. */
static void summarise(da_eval_report *rep) {
        const da_eval_row *ref = NULL;

        (void) da_mean_sd(rep->all_fold_mae, rep->n_folds, &rep->all_mae_mean, &rep->all_mae_sd);
        for (unsigned i = 0; i < rep->n_rows; i++) {
                da_eval_row *row = &rep->rows[i];
                double cost = 0;

                (void) da_mean_sd(row->fold_mae, rep->n_folds, &row->mae_mean, &row->mae_sd);
                row->peak_mib = NAN;
                for (unsigned f = 0; f < rep->n_folds; f++) {
                        cost += row->fold_cost_s[f];
                        if (!isnan(row->fold_peak_mib[f]))
                                row->peak_mib = isnan(row->peak_mib) ? row->fold_peak_mib[f] :
                                                                       fmax(row->peak_mib, row->fold_peak_mib[f]);
                }
                row->cost_s = cost / rep->n_folds;
        }
        rep->rank_windows = 0;
        for (unsigned f = 0; rep->n_rows > 0 && f < rep->n_folds; f++)
                rep->rank_windows += rep->rows[0].fold_windows[f];

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

static void fnv1a(uint64_t *h, const void *p, size_t n) {
        const uint8_t *b = p;

        for (size_t i = 0; i < n; i++)
                *h = (*h ^ b[i]) * UINT64_C(0x100000001b3);
}

/* Everything that decides a fold's figures: the options (not the shard, the
 * thread count or the callbacks) and the data set's subjects, features,
 * rows and targets. Shards agree on it or cannot be merged. */
static uint64_t settings_id(const da_eval_options *o, const da_dataset *ds, unsigned S, unsigned n_folds) {
        unsigned published = o->published & DA_PUBLISHED_ALL;
        const da_train_options *t = &o->train;
        const da_attr_options *a = &o->attr;
        uint64_t h = UINT64_C(0xcbf29ce484222325);
        char text[512];
        int n;

        n = snprintf(text, sizeof(text),
                     "S=%u folds=%u seed=%" PRIu64 " rank=%u H=%u L=%u D=%u bn=%d pool=%d act=%d ep=%u b=%u "
                     "lr=%a wd=%a beta=%a pat=%u val=%a tseed=%" PRIu64 " out=%u base=%d steps=%u rule=%d "
                     "fallback=%d ns=%u sd=%a ks=%u eps=%a nn=%u nt=%u",
                     S, n_folds, o->seed, o->rank_windows, t->hidden, t->layers, t->dense, t->batchnorm,
                     t->pooling, t->activation, t->epochs, t->batch, t->lr, t->weight_decay, t->beta, t->patience,
                     t->val_fraction, t->seed, a->output, a->baseline_kind, a->steps, a->rule,
                     a->deeplift_gradient_fallback, a->n_samples, a->stdevs, a->kernel_samples, a->neflag_epsilon,
                     a->neflag_n, a->neflag_tries);
        fnv1a(&h, text, (size_t) MAX(n, 0));
        /* only when set, so f32 runs keep the identity they had before the option */
        if (t->precision != DA_PRECISION_F32)
                fnv1a(&h, &t->precision, sizeof(t->precision));
        fnv1a(&h, &ds->T, sizeof(ds->T));
        fnv1a(&h, &ds->hop, sizeof(ds->hop));
        for (unsigned f = 0; f < ds->F; f++)
                fnv1a(&h, ds->names[f], strlen(ds->names[f]) + 1);
        for (unsigned s = 0; s < S; s++) {
                const ds_subject *sj = &ds->subject[s];

                fnv1a(&h, sj->name, strlen(sj->name) + 1);
                fnv1a(&h, sj->rows, sj->n_rows * ds->F * sizeof(float));
                fnv1a(&h, sj->end, sj->n_windows * sizeof(size_t));
                fnv1a(&h, sj->target, sj->n_windows * sizeof(float));
        }
        for (unsigned i = 0; i < o->n_methods; i++) {
                char name[64];

                if (da_eval_method_name(&o->methods[i], name, sizeof(name)) >= 0)
                        fnv1a(&h, name, strlen(name) + 1);
        }
        fnv1a(&h, o->k_percent, o->n_k * sizeof(unsigned));
        fnv1a(&h, &published, sizeof(published));
        return h;
}

static int fold_names(const da_dataset *ds, const fold_split *sp, char **ret) {
        size_t len = 1;
        char *s;

        for (unsigned i = 0; i < sp->n_test; i++)
                len += strlen(da_dataset_subject(ds, sp->test[i])) + 1;
        s = malloc(len);
        if (!s)
                return -ENOMEM;
        s[0] = '\0';
        for (unsigned i = 0; i < sp->n_test; i++) {
                if (i > 0)
                        strcat(s, ",");
                strcat(s, da_dataset_subject(ds, sp->test[i]));
        }
        free(*ret);
        *ret = s;
        return 0;
}

/* One fold: the all-features model, one shared sample of its training
 * windows, every method's ranking of it and the retrains on each top k.
 * With the published model reuse, chain[0] holds the previous fold's
 * all-features model and chain[1 + row] each row's, and every training
 * starts from and replaces its entry. */
static int run_fold(const da_dataset *ds, const unsigned *fold_of, unsigned S, unsigned fold,
                    const da_eval_options *opt, da_eval_report *rep, double *scores, unsigned *order,
                    da_model **chain, unsigned *step, unsigned steps, da_error *err) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        da_train_options topt = opt->train;
        unsigned F = rep->n_features, n_folds = rep->n_folds;
        retrain_cache cache = {};
        fold_split sp = {};
        windows w = {};
        double mae;
        int r;

        /* the model reuse trains every row from its own previous model, and
         * a data set of more than 64 features has no 64-bit key: no cache */
        if (!chain && F <= 64) {
                cache.key = calloc((size_t) opt->n_methods * opt->n_k, sizeof(uint64_t));
                cache.mae = calloc((size_t) opt->n_methods * opt->n_k, sizeof(double));
                if (!cache.key || !cache.mae) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        r = split_fold(fold_of, S, fold, &sp);
        if (r < 0)
                goto finish;
        r = fold_names(ds, &sp, &rep->fold_test[fold]);
        if (r < 0)
                goto finish;
        topt.features = NULL;
        topt.n_features = 0;
        topt.seed = opt->train.seed + fold;
        if (opt->published & DA_PUBLISHED_BEST_EPOCH) {
                topt.val_on_subjects = sp.test;
                topt.n_val_on_subjects = sp.n_test;
        }

        progress(opt, step, steps, "fold %u/%u: training on all %u features", fold + 1, n_folds, F);
        topt.init = chain ? chain[0] : NULL;
        r = da_train(ds, sp.train, sp.n_train, &topt, &m, err);
        topt.init = NULL;
        if (r < 0) {
                r = fold_error(err, r, fold, "training on all features");
                goto finish;
        }
        r = da_score(m, ds, sp.test, sp.n_test, &mae, NULL, err);
        if (r < 0) {
                r = fold_error(err, r, fold, "scoring the all-features model");
                goto finish;
        }
        rep->all_fold_mae[fold] = mae * 100;
        rep->trainings++;

        r = collect_windows(m, ds, sp.train, sp.n_train, opt->rank_windows, &w, err);
        if (r < 0) {
                r = fold_error(err, r, fold, "reading the windows to rank on");
                goto finish;
        }

        for (unsigned mi = 0; mi < opt->n_methods; mi++) {
                da_eval_row *rows = &rep->rows[mi * opt->n_k];
                size_t ranked = 0;
                double t0, cost, peak = NAN;

                progress(opt, step, steps, "fold %u/%u: ranking with %s", fold + 1, n_folds, rows[0].method);
                if (opt->memory)
                        (void) opt->memory(true, opt->userdata);
                t0 = now_s();
                r = rank_method(m, &w, &opt->methods[mi], opt, opt->seed + fold, scores, &ranked, err);
                cost = now_s() - t0;
                if (opt->memory)
                        peak = opt->memory(false, opt->userdata);
                if (r >= 0)
                        r = da_ranking(scores, F, order);
                if (r < 0) {
                        r = fold_error(err, r, fold, rows[0].method);
                        goto finish;
                }
                for (unsigned ki = 0; ki < opt->n_k; ki++) {
                        rows[ki].fold_cost_s[fold] = cost;
                        rows[ki].fold_peak_mib[fold] = peak;
                        rows[ki].fold_windows[fold] = ranked;
                }

                for (unsigned ki = 0; ki < opt->n_k; ki++) {
                        uint64_t key = cache.key ? kept_key(order, rows[ki].kept) : 0;
                        size_t c = 0;

                        progress(opt, step, steps, "fold %u/%u: %s, top %u%% (%u features)", fold + 1, n_folds,
                                 rows[ki].method, rows[ki].k_percent, rows[ki].kept);
                        while (c < cache.n && cache.key[c] != key)
                                c++;
                        if (cache.key && c < cache.n) {
                                rows[ki].fold_mae[fold] = cache.mae[c];
                                continue;
                        }
                        r = evaluate_keep_topk(ds, sp.train, sp.n_train, sp.test, sp.n_test, order, rows[ki].kept,
                                               &topt, chain ? &chain[1 + mi * opt->n_k + ki] : NULL,
                                               &rows[ki].fold_mae[fold], err);
                        if (r < 0) {
                                r = fold_error(err, r, fold, "retraining on the kept features");
                                goto finish;
                        }
                        rep->trainings++;
                        if (cache.key) {
                                cache.key[cache.n] = key;
                                cache.mae[cache.n++] = rows[ki].fold_mae[fold];
                        }
                }
        }
        if (chain) {
                da_model_free(chain[0]);
                chain[0] = TAKE_PTR(m);
        }
        rep->fold_done[fold] = true;
finish:
        free(w.x);
        fold_split_done(&sp);
        retrain_cache_done(&cache);
        return r;
}

int da_evaluate(const char *const *paths, unsigned n_paths, const da_eval_options *opt, da_eval_report **ret,
                da_error *err) {
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        _cleanup_free_ unsigned *fold_of = NULL, *order = NULL;
        _cleanup_free_ double *scores = NULL;
        _cleanup_free_ da_model **chain = NULL;
        unsigned S, F, n_folds, shards, step = 0, steps, mine = 0;
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
        shards = MAX(opt->shard_count, 1u);
        if (opt->shard_index >= shards)
                return da_error_set(err, -EINVAL, "shard %u of %u does not exist", opt->shard_index + 1, shards);

        if ((opt->published & DA_PUBLISHED_REUSE_MODEL) && shards > 1)
                return da_error_set(err, -EINVAL, "reusing the model across folds chains them, so they cannot be "
                                    "sharded");

        r = da_dataset_load(paths, n_paths, &opt->data, &ds, err);
        if (r < 0)
                return r;
        r = published_apply(ds, opt->published, opt->seed ^ UINT64_C(0x9E3779B97F4A7C15), err);
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
        if (shards > n_folds)
                return da_error_set(err, -EINVAL, "%u shards for %u folds: at most one shard per fold", shards,
                                    n_folds);

        fold_of = calloc(S, sizeof(unsigned));
        order = calloc(F, sizeof(unsigned));
        scores = calloc(F, sizeof(double));
        if (!fold_of || !order || !scores)
                return -ENOMEM;
        r = da_eval_report_new(n_folds, opt->n_methods * opt->n_k, &rep);
        if (r < 0)
                return r;

        rep->n_subjects = S;
        rep->n_features = F;
        rep->n_k = opt->n_k;
        memcpy(rep->k_percent, opt->k_percent, sizeof(unsigned) * opt->n_k);
        rep->rank_windows_max = opt->rank_windows;
        rep->shard_index = opt->shard_index;
        rep->shard_count = shards;
        rep->settings_id = settings_id(opt, ds, S, n_folds);
        rep->published = opt->published & DA_PUBLISHED_ALL;
        for (unsigned i = 0; i < rep->n_rows; i++) {
                da_eval_row *row = &rep->rows[i];

                r = da_eval_method_name(&opt->methods[i / opt->n_k], row->method, sizeof(row->method));
                if (r < 0)
                        return da_error_set(err, -EINVAL, "method %u has no name", i / opt->n_k + 1);
                row->k_percent = opt->k_percent[i % opt->n_k];
                row->kept = evaluate_kept(F, row->k_percent);
        }

        r = assign_folds(S, n_folds, opt->seed, fold_of);
        if (r < 0)
                return r;

        for (unsigned fold = opt->shard_index; fold < n_folds; fold += shards)
                mine++;
        steps = mine * (1 + opt->n_methods * (1 + opt->n_k));
        if (opt->published & DA_PUBLISHED_REUSE_MODEL) {
                chain = calloc(1 + rep->n_rows, sizeof(da_model *));
                if (!chain)
                        return -ENOMEM;
        }
        for (unsigned fold = opt->shard_index; fold < n_folds && r >= 0; fold += shards)
                r = run_fold(ds, fold_of, S, fold, opt, rep, scores, order, chain, &step, steps, err);
        for (unsigned i = 0; chain && i < 1 + rep->n_rows; i++)
                da_model_free(chain[i]);
        if (r < 0)
                return r;

        if (shards == 1)
                summarise(rep);
        rep->seconds = now_s() - t_start;
        *ret = TAKE_PTR(rep);
        return 0;
}

static bool same_layout(const da_eval_report *a, const da_eval_report *b) {
        if (a->settings_id != b->settings_id || a->n_subjects != b->n_subjects || a->n_folds != b->n_folds ||
            a->n_features != b->n_features || a->n_k != b->n_k || a->n_rows != b->n_rows ||
            a->shard_count != b->shard_count || a->rank_windows_max != b->rank_windows_max ||
            a->published != b->published ||
            memcmp(a->k_percent, b->k_percent, sizeof(unsigned) * a->n_k) != 0)
                return false;
        for (unsigned i = 0; i < a->n_rows; i++)
                if (!streq(a->rows[i].method, b->rows[i].method) || a->rows[i].k_percent != b->rows[i].k_percent ||
                    a->rows[i].kept != b->rows[i].kept)
                        return false;
        return true;
}

int da_eval_report_merge(const da_eval_report *const *parts, unsigned n_parts, da_eval_report **ret,
                         da_error *err) {
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        const da_eval_report *first;
        unsigned N;
        int r;

        if (!parts || n_parts == 0 || !ret)
                return da_error_set(err, -EINVAL, "merging needs at least one shard");
        first = parts[0];
        N = first->shard_count;
        for (unsigned i = 0; i < n_parts; i++) {
                if (!same_layout(first, parts[i]))
                        return da_error_set(err, -EINVAL, "part %u comes from different settings or data than "
                                            "part 1; every shard must be run with the same options on the same "
                                            "recordings", i + 1);
                if (parts[i]->shard_index >= N)
                        return da_error_set(err, -EINVAL, "part %u claims shard %u of %u", i + 1,
                                            parts[i]->shard_index + 1, N);
                for (unsigned j = 0; j < i; j++)
                        if (parts[j]->shard_index == parts[i]->shard_index)
                                return da_error_set(err, -EEXIST, "shard %u/%u is given twice (parts %u and %u)",
                                                    parts[i]->shard_index + 1, N, j + 1, i + 1);
        }
        if (n_parts != N)
                for (unsigned s = 0; s < N; s++) {
                        bool found = false;

                        for (unsigned i = 0; i < n_parts && !found; i++)
                                found = parts[i]->shard_index == s;
                        if (!found)
                                return da_error_set(err, -ENOENT, "shard %u/%u is missing (%u of %u given)", s + 1,
                                                    N, n_parts, N);
                }

        r = da_eval_report_new(first->n_folds, first->n_rows, &rep);
        if (r < 0)
                return r;
        rep->n_subjects = first->n_subjects;
        rep->n_features = first->n_features;
        rep->n_k = first->n_k;
        memcpy(rep->k_percent, first->k_percent, sizeof(rep->k_percent));
        rep->rank_windows_max = first->rank_windows_max;
        rep->shard_count = 1;
        rep->settings_id = first->settings_id;
        rep->published = first->published;
        for (unsigned i = 0; i < rep->n_rows; i++) {
                memcpy(rep->rows[i].method, first->rows[i].method, sizeof(rep->rows[i].method));
                rep->rows[i].k_percent = first->rows[i].k_percent;
                rep->rows[i].kept = first->rows[i].kept;
        }
        for (unsigned p = 0; p < n_parts; p++) {
                const da_eval_report *part = parts[p];

                rep->seconds += part->seconds;
                rep->trainings += part->trainings;
                for (unsigned f = 0; f < rep->n_folds; f++) {
                        if (f % N != part->shard_index)
                                continue;
                        if (!part->fold_done[f])
                                return da_error_set(err, -ENODATA, "shard %u/%u lacks fold %u", part->shard_index + 1,
                                                    N, f + 1);
                        rep->fold_done[f] = true;
                        rep->all_fold_mae[f] = part->all_fold_mae[f];
                        if (part->fold_test[f]) {
                                rep->fold_test[f] = strdup(part->fold_test[f]);
                                if (!rep->fold_test[f])
                                        return -ENOMEM;
                        }
                        for (unsigned i = 0; i < rep->n_rows; i++) {
                                rep->rows[i].fold_mae[f] = part->rows[i].fold_mae[f];
                                rep->rows[i].fold_cost_s[f] = part->rows[i].fold_cost_s[f];
                                rep->rows[i].fold_peak_mib[f] = part->rows[i].fold_peak_mib[f];
                                rep->rows[i].fold_windows[f] = part->rows[i].fold_windows[f];
                        }
                }
        }
        summarise(rep);
        *ret = TAKE_PTR(rep);
        return 0;
}
