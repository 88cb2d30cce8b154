/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libdeepactif, research API: the attribution baselines DeepACTIF is measured
 * against, gradients, rank statistics, data sets, training and the published
 * keep-top-k evaluation protocol. Builds on the runtime API.
 */

#include "deepactif-runtime.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- statistics ---------------------------------------------------------- */

/* Rank correlations between two score vectors (or two rank vectors), as
 * scipy.stats.spearmanr (Pearson over average ranks, so ties share a rank)
 * and kendalltau (τ-b). -EDOM when undefined: f < 2 or a vector all tied. */
int da_spearman(const double *a, const double *b, unsigned f, double *ret_rho);
int da_kendall_tau(const double *a, const double *b, unsigned f, double *ret_tau);
/* Jaccard overlap |A∩B|/|A∪B| of the first k entries of two orders
 * (as da_ranking returns them); 1 for identical top-k sets. */
int da_topk_overlap(const unsigned *order_a, const unsigned *order_b, unsigned f, unsigned k,
                    double *ret_jaccard);

/* Rank stability over a series of n ranking snapshots (n×f scores,
 * oldest first), measured between consecutive snapshots. */
typedef struct da_stability {
        size_t pairs;           /* consecutive pairs, n − 1 */
        size_t kendall_pairs;   /* pairs where τ-b is defined */
        double kendall_mean;    /* mean τ-b over those; NaN if none */
        double kendall_min;     /* the least stable step; NaN if none */
        double topk_mean;       /* mean top-k Jaccard over all pairs */
        double topk_min;
} da_stability;

int da_rank_stability(const double *snapshots, size_t n, unsigned f, unsigned k, da_stability *ret);

/* Mean and sample standard deviation (n − 1; NaN when n = 1) of n finite values. */
int da_mean_sd(const double *v, size_t n, double *ret_mean, double *ret_sd);

/* Paired Wilcoxon signed-rank test, two-sided, as scipy.stats.wilcoxon with
 * zero_method "wilcox" (zero differences dropped) and correction=False. The
 * p-value is exact when no difference is zero or tied and N ≤ 50, from the
 * normal approximation with the tie correction otherwise. -EDOM when every
 * difference is zero. */
typedef struct da_wilcoxon_result {
        size_t n;               /* pairs with a non-zero difference */
        double statistic;       /* min(R+, R−), scipy's statistic */
        double r_plus;          /* rank sum of the positive differences x − y */
        double z;               /* (R+ − n(n+1)/4)/σ, tie-corrected; > 0 when x tends to exceed y */
        double p;
        bool exact;
        double effect_r;        /* z/√N, N all pairs given */
} da_wilcoxon_result;

int da_wilcoxon(const double *x, const double *y, size_t n, da_wilcoxon_result *ret);

/* ---- attribution methods (DESIGN §4.4) --------------------------------- */

typedef enum da_ig_rule {
        DA_IG_GAUSS_LEGENDRE,
        DA_IG_RIEMANN_LEFT,
        DA_IG_RIEMANN_RIGHT,
        DA_IG_RIEMANN_MIDDLE,
        DA_IG_RIEMANN_TRAPEZOID,
        _DA_IG_RULE_MAX,
} da_ig_rule;

typedef enum da_baseline_kind {
        DA_BASELINE_ZERO,       /* x′ = 0 */
        DA_BASELINE_GIVEN,      /* x′ = options.baseline (T×F), e.g. the training mean */
        _DA_BASELINE_MAX,
} da_baseline_kind;

/* Options for every method; da_attr_options_init() sets the documented
 * defaults (Captum's where Captum has the method). */
typedef struct da_attr_options {
        unsigned output;                /* which model output is explained */
        da_baseline_kind baseline_kind;
        const float *baseline;          /* T×F when DA_BASELINE_GIVEN */
        size_t baseline_len;            /* floats in baseline; when non-zero it must be T×F */
        /* Integrated Gradients */
        unsigned steps;                 /* 50 */
        da_ig_rule rule;                /* Gauss–Legendre */
        unsigned batch;                 /* α-steps per batch, bounds memory: 16 */
        /* DeepLIFT */
        bool deeplift_gradient_fallback; /* Captum's gradient×Δx inside the LSTM */
        /* GradientSHAP */
        unsigned n_samples;             /* 5 */
        double stdevs;                  /* 0.0: noise added to the samples */
        /* KernelSHAP */
        unsigned kernel_samples;        /* 0: 2F + 2048, capped at 2^F − 2 */
        /* NeFLAG */
        double neflag_epsilon;          /* 0.1 */
        unsigned neflag_n;              /* 20 accepted points; 1 = steepest descent */
        unsigned neflag_tries;          /* 0: 10·n */
        /* DeepACTIF */
        da_trace_location location;     /* gate */
        uint64_t seed;                  /* every random draw derives from it */
} da_attr_options;

typedef struct da_attr_result {
        double output;                  /* F(x) */
        double baseline_output;         /* F(x′) */
        double delta;                   /* Σφ − (F(x) − F(x′)), where the method has completeness */
} da_attr_result;

void da_attr_options_init(da_attr_options *o);
const char *da_ig_rule_to_string(da_ig_rule r);
int da_ig_rule_from_string(const char *s);

/* Attributions φ[t,f] (T×F) for one window of scaled inputs. For DeepACTIF,
 * φ[t,f] is the trace value at (t,f). err names a bad argument. */
int da_attribute(const da_model *m, da_method method, const da_attr_options *opt, const float *x,
                 unsigned T, float *ret_phi, da_attr_result *ret_result, da_error *err);

/* Exact gradients of output `output` by backpropagation through time: with
 * respect to the input window (T×F, may be NULL) and, when ret_grad_params
 * is non-NULL, to every parameter (da_model_n_parameters() floats: per layer
 * weight_ih, weight_hh, bias_ih, bias_hh; batchnorm weight, bias; fc1
 * weight, bias; output weight, bias — PyTorch's order and layouts). */
int da_gradient(const da_model *m, const float *x, unsigned T, unsigned output, float *ret_output_value,
                float *ret_grad_x, float *ret_grad_params);

/* ---- data sets, training and scoring (DESIGN §4.5) ----------------------- */

/* Recordings turned into windows of derived features with a regression
 * target (target.depth of each window's last frame), kept per subject so
 * folds can be grouped by subject. Features are stored unscaled; scalers are
 * fit on training subjects only. */
typedef struct da_dataset da_dataset;

typedef struct da_dataset_options {
        const char *const *features;    /* names; NULL = the Robust Vision set */
        unsigned n_features;
        unsigned window;                /* T, default 10 */
        unsigned hop;                   /* default 1 */
        double target_min, target_max;  /* frames outside are dropped; default 0.35..3 m */
        da_recording_format format;     /* default auto */
        const char *column_map;         /* generic CSV/TSV spec, or NULL */
        unsigned min_windows;           /* subjects with fewer are skipped (reported); default 1 */
        bool keep_repeats;              /* keep frames that repeat the last one (default: dropped) */
} da_dataset_options;

void da_dataset_options_init(da_dataset_options *o);
/* paths: files or directories (every *.tsv, *.csv, *.asc, and .gz of them);
 * one subject per file, named by the file's base name. */
int da_dataset_load(const char *const *paths, unsigned n_paths, const da_dataset_options *opt,
                    da_dataset **ret, da_error *err);
da_dataset *da_dataset_free(da_dataset *ds);
unsigned da_dataset_n_subjects(const da_dataset *ds);
const char *da_dataset_subject(const da_dataset *ds, unsigned s);
size_t da_dataset_n_windows(const da_dataset *ds, unsigned s);
unsigned da_dataset_n_features(const da_dataset *ds);
const char *da_dataset_feature(const da_dataset *ds, unsigned f);
/* Subjects named in the load that were skipped, with why (for reports). */
unsigned da_dataset_n_skipped(const da_dataset *ds);
const char *da_dataset_skipped(const da_dataset *ds, unsigned i);

/* Counts over the subjects kept. A window's target is its last frame's
 * target.depth; windows whose target is missing or out of range are
 * dropped, but their frames still feed the features and the earlier frames
 * of later windows, exactly as in a live stream. */
typedef struct da_dataset_stats {
        uint64_t frames;        /* read */
        uint64_t invalid;       /* a feature was NaN (a NaN row): skipped, as da_stream does */
        uint64_t out_of_range;  /* windows dropped for their target */
        uint64_t windows;       /* kept */
} da_dataset_stats;

void da_dataset_stats_get(const da_dataset *ds, da_dataset_stats *ret);

typedef void (*da_progress_fn)(unsigned epoch, unsigned epochs, double train_loss, double val_mae, void *userdata);

typedef struct da_train_options {
        unsigned hidden;                /* default 64 */
        unsigned layers;                /* default 1 */
        unsigned dense;                 /* FOVAL head width, default 32; 0 = plain */
        bool batchnorm;                 /* default true */
        da_pooling pooling;             /* default max */
        da_activation activation;       /* default elu */
        unsigned epochs;                /* default 30 */
        unsigned batch;                 /* default 64 */
        double lr;                      /* AdamW, default 1e-3 */
        double weight_decay;            /* default 1e-2 */
        double beta;                    /* SmoothL1 β, default 1.0 (in the target's unit) */
        unsigned patience;              /* early stopping on the validation MAE, default 5 */
        double val_fraction;            /* of training windows held out, default 0.1 */
        unsigned val_subjects;          /* > 0: hold out this many whole subjects instead */
        unsigned threads;               /* 0 = one per core */
        uint64_t seed;
        /* The LSTM's recurrent products: f32 (default), or bf16 operands with
         * float32 sums and weights (faster where the CPU has AVX512_BF16) */
        da_precision precision;
        da_scaling scaling;             /* default global; per-user scales each subject causally */
        unsigned warmup;                /* per-user warm-up in valid frames */
        const unsigned *features;       /* subset of the data set's feature indices, or NULL = all */
        unsigned n_features;
        /* The published protocol's choices, for comparison only: validate
         * (early stopping, best epoch) on these subjects' windows instead of
         * a split of the training windows, and start from init's weights
         * (same architecture) instead of random ones. NULL/0 normally. */
        const unsigned *val_on_subjects;
        unsigned n_val_on_subjects;
        const da_model *init;
        da_progress_fn progress;
        void *userdata;
} da_train_options;

void da_train_options_init(da_train_options *o);
/* Trains from scratch on the windows of the given subjects; the scaler is fit
 * on them; the model's metadata carries feature names and scaler. */
int da_train(const da_dataset *ds, const unsigned *subjects, unsigned n_subjects, const da_train_options *opt,
             da_model **ret, da_error *err);
/* Mean absolute error (in the target's unit) of a model over the windows of
 * the given subjects (all when subjects is NULL). The model's features must
 * be among the data set's. */
int da_score(const da_model *m, const da_dataset *ds, const unsigned *subjects, unsigned n_subjects,
             double *ret_mae, size_t *ret_windows, da_error *err);
/* The model's prediction and the target of each window of subject s that a
 * stream would evaluate (after any per-user warm-up), in stream order;
 * arrays of *ret_n floats for the caller to free. */
int da_predict_subject(const da_model *m, const da_dataset *ds, unsigned s, float **ret_pred,
                       float **ret_target, size_t *ret_n, da_error *err);

/* Reference predictors for a model's error (deepactifctl score): the
 * median target of the training windows, and a ridge regression (λ = 1) on
 * each window's mean scaled input, fit on the training data set's windows
 * as the model's stream scales them, and scored on the windows
 * da_predict_subject() evaluates. */
typedef struct da_reference da_reference;

int da_reference_fit(const da_model *m, const da_dataset *train, da_reference **ret, da_error *err);
da_reference *da_reference_free(da_reference *ref);
int da_reference_score(const da_reference *ref, const da_model *m, const da_dataset *ds, unsigned s,
                       double *ret_median_mae, double *ret_ridge_mae, size_t *ret_windows, da_error *err);

/* DeepACTIF scores over every window of the given subjects (all when
 * subjects is NULL), exactly as the model sees them: its inputs picked from
 * the data set by name, scaled with its scaler. */
int da_dataset_rank(const da_model *m, const da_dataset *ds, const unsigned *subjects, unsigned n_subjects,
                    da_trace_location location, da_aggregation aggregation, double *ret_scores,
                    size_t *ret_windows, da_error *err);

/* ---- evaluation (DESIGN §4.5) --------------------------------------------- */

/* One ranking method of the keep-top-k protocol. Names:
 * "deepactif-<location>-<aggregation>" (e.g. deepactif-gate-inv), a
 * baseline "<method>[-<aggregation>]" (mean when omitted: ig, ablation-inv),
 * or "random" (a seeded random ranking, the control). */
typedef struct da_eval_method {
        bool random;
        da_method method;
        da_trace_location location;     /* DeepACTIF only */
        da_aggregation aggregation;
} da_eval_method;

int da_eval_method_from_string(const char *s, da_eval_method *ret);
/* The method's canonical name into buf; -ENOBUFS when it does not fit. */
int da_eval_method_name(const da_eval_method *m, char *buf, size_t size);

typedef enum da_eval_preset {
        DA_EVAL_QUICK,          /* 6 subjects, 3 folds, H = 32, 8 epochs: minutes, for CI */
        DA_EVAL_PAPER,          /* leave-one-subject-out over all subjects, the trainer's defaults */
        _DA_EVAL_PRESET_MAX,
} da_eval_preset;

const char *da_eval_preset_to_string(da_eval_preset p);
int da_eval_preset_from_string(const char *s);

/* The steps of the papers' published protocol (their public code), each
 * on its own; all of them use the test subjects' labels or data, so they
 * are for comparing with the published figures only, never the default. */
typedef enum da_published_step {
        DA_PUBLISHED_IQR = 1 << 0,              /* drop rows outside Q1 − 1.5·IQR … Q3 + 1·IQR of any column,
                                                 * the target included, per subject */
        DA_PUBLISHED_BINS = 1 << 1,             /* resample each subject into 60 equal-width depth bins;
                                                 * windows cut from the bin-sorted rows */
        DA_PUBLISHED_SUBJECT_SCALER = 1 << 2,   /* a robust scaler fit on each subject, the test subject too */
        DA_PUBLISHED_BEST_EPOCH = 1 << 3,       /* early stopping and best epoch on the held-out subjects */
        DA_PUBLISHED_REUSE_MODEL = 1 << 4,      /* each fold starts from the previous fold's weights */
        DA_PUBLISHED_ALL = (1 << 5) - 1,
} da_published_step;

#define DA_EVAL_METHODS_MAX 16u
#define DA_EVAL_K_MAX 16u

typedef void (*da_eval_progress_fn)(const char *stage, unsigned step, unsigned steps, void *userdata);
/* Measures the memory one ranking needs: called with begin = true right
 * before each ranking and with begin = false right after it, when it returns
 * the growth in MiB (NaN when unknown). The library itself never touches
 * process-wide state (the heap, /proc), so this is the caller's. */
typedef double (*da_eval_memory_fn)(bool begin, void *userdata);

typedef struct da_eval_options {
        da_dataset_options data;
        unsigned max_subjects;          /* the first N subjects loaded; 0 = all */
        unsigned folds;                 /* grouped by subject; 0 = leave one subject out */
        da_eval_method methods[DA_EVAL_METHODS_MAX];
        unsigned n_methods;
        unsigned k_percent[DA_EVAL_K_MAX];
        unsigned n_k;
        da_train_options train;         /* every model; .features is set per run */
        da_attr_options attr;           /* the baselines' options */
        unsigned rank_windows;          /* training windows per fold every method ranks: one evenly
                                         * spaced sample shared by all methods; 0 = all of them */
        uint64_t seed;
        unsigned published;             /* da_published_step flags; 0 = the clean protocol */
        unsigned shard_index;           /* run only the folds f with f mod shard_count = shard_index; */
        unsigned shard_count;           /* 0 or 1 = every fold (da_eval_report_merge() joins shards) */
        da_eval_progress_fn progress;
        da_eval_memory_fn memory;       /* NULL: peak_mib stays NaN */
        void *userdata;                 /* for progress and memory */
} da_eval_options;

void da_eval_options_init(da_eval_options *o, da_eval_preset preset);

typedef struct da_eval_row {
        char method[64];
        unsigned k_percent;
        unsigned kept;                  /* ⌊F·k/100⌋, at least 1 */
        double *fold_mae;               /* n_folds, cm */
        double *fold_cost_s;            /* n_folds: ranking wall time */
        double *fold_peak_mib;          /* n_folds: ranking peak RSS growth, NaN when not measured */
        size_t *fold_windows;           /* n_folds: training windows the method ranked (0 for random) */
        double mae_mean, mae_sd;        /* cm over folds */
        double p_wilcoxon, effect_r;    /* paired over folds against the reference; NaN for itself or without it */
        double cost_s;                  /* ranking wall time, mean over folds */
        double peak_mib;                /* ranking memory growth (options.memory), largest over folds */
} da_eval_row;

typedef struct da_eval_report {
        unsigned n_subjects, n_folds, n_features;
        unsigned n_k;
        unsigned k_percent[DA_EVAL_K_MAX];
        double *all_fold_mae;           /* n_folds, cm: the all-features model */
        double all_mae_mean, all_mae_sd;
        char reference[64];             /* the Wilcoxon reference, "" when not among the methods */
        unsigned rank_windows_max;      /* the options' rank_windows: the shared sample's size per fold */
        size_t rank_windows;            /* windows every method ranked, summed over folds */
        unsigned n_rows;
        da_eval_row *rows;              /* method-major, then k */
        bool *fold_done;                /* n_folds: run here (all unless sharded) */
        char **fold_test;               /* n_folds: the held-out subjects' names, comma-separated */
        unsigned shard_index, shard_count;      /* as in the options; count 1 when not sharded */
        uint64_t settings_id;           /* hash of the options and the data that decide the results */
        unsigned published;             /* the da_published_step flags it ran with */
        size_t trainings;               /* models trained: a fold's retrains that keep the same features
                                         * share one */
        double seconds;
} da_eval_report;

/* Runs the keep-top-k protocol on the recordings in paths (as
 * da_dataset_load takes them): per fold, trains the all-features model on the
 * training subjects, ranks its features with every method on their windows,
 * retrains from scratch on the top ⌊F·k⌋ for each k and scores the MAE on the
 * held-out subjects. */
int da_evaluate(const char *const *paths, unsigned n_paths, const da_eval_options *opt, da_eval_report **ret,
                da_error *err);
da_eval_report *da_eval_report_free(da_eval_report *r);
/* An empty report for n_folds folds and n_rows rows, every array allocated
 * (for readers of saved shards). */
int da_eval_report_new(unsigned n_folds, unsigned n_rows, da_eval_report **ret);
/* Joins the reports of the shards 0…N−1 of one evaluation into the report
 * the unsharded run gives (the same figures, bit for bit, apart from the
 * measured cost and time). Refuses, with a message in err, a shard given
 * twice, a missing one, or shards of different settings or data. */
int da_eval_report_merge(const da_eval_report *const *parts, unsigned n_parts, da_eval_report **ret,
                         da_error *err);

#ifdef __cplusplus
}
#endif
