/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libdeepactif, runtime API: what a program needs to run a gaze model over a
 * stream of frames and keep DeepACTIF's rolling feature ranking — models,
 * the forward pass, channels and frames, recordings, derived features,
 * rankings and the stream pipeline. deepactifd uses only this header; the
 * research API (training, evaluation, statistics, the attribution baselines)
 * is in <deepactif-research.h>, and <deepactif.h> includes both.
 *
 * Conventions: functions return 0 or a negative errno; out-parameters are
 * named ret_* and are left untouched on failure; *_free() accepts NULL and
 * returns NULL. Where a function can fail on bad input it takes an optional
 * da_error that receives one sentence naming the problem.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define DA_MODEL_FORMAT_VERSION 1

typedef struct da_error {
        char message[512];
} da_error;

/* ---- model ------------------------------------------------------------ */

typedef enum da_pooling {
        DA_POOL_MAX,
        DA_POOL_LAST,
        DA_POOL_MEAN,
        _DA_POOL_MAX,
} da_pooling;

typedef enum da_activation {
        DA_ACT_NONE,
        DA_ACT_ELU,
        DA_ACT_RELU,
        DA_ACT_TANH,
        _DA_ACT_MAX,
} da_activation;

typedef enum da_task {
        DA_TASK_REGRESSION,
        DA_TASK_CLASSIFICATION,
        _DA_TASK_MAX,
} da_task;

/* The FOVAL layout is lstm → batchnorm → pool → fc1 → activation → fc5
 * (dense > 0); the plain layout is lstm → pool → fc (dense == 0). */
typedef struct da_arch {
        unsigned n_features;    /* F, LSTM input size */
        unsigned hidden;        /* H */
        unsigned layers;        /* stacked LSTM layers, ≥ 1 */
        bool batchnorm;         /* eval-mode BatchNorm1d over the H units */
        da_pooling pooling;
        unsigned dense;         /* fc1 width, 0 for the plain layout */
        da_activation activation;
        unsigned outputs;       /* O */
        unsigned window;        /* T */
        unsigned hop;           /* frames between consecutive windows */
} da_arch;

typedef struct da_model da_model;

int da_model_load(const char *path, da_model **ret, da_error *err);
int da_model_load_buffer(const void *data, size_t size, da_model **ret, da_error *err);
/* A model with PyTorch's default initialisation U(-1/√H, 1/√H), seeded. */
int da_model_new_random(const da_arch *arch, uint64_t seed, da_model **ret);
int da_model_save(const da_model *m, const char *path, da_error *err);
da_model *da_model_free(da_model *m);

const da_arch *da_model_arch(const da_model *m);
da_task da_model_task(const da_model *m);
const char *da_model_unit(const da_model *m);            /* may be NULL */
unsigned da_model_n_classes(const da_model *m);
const char *da_model_class(const da_model *m, unsigned i);
const char *da_model_feature(const da_model *m, unsigned f); /* NULL if f ≥ F */
/* Robust-scaler parameters, F each; NULL when the model has none. */
const float *da_model_scaler_median(const da_model *m);
const float *da_model_scaler_iqr(const da_model *m);
size_t da_model_n_parameters(const da_model *m);

int da_model_set_features(da_model *m, const char *const *names, unsigned n);
int da_model_set_scaler(da_model *m, const float *median, const float *iqr);
int da_model_set_task(da_model *m, da_task task, const char *unit);

const char *da_pooling_to_string(da_pooling p);
int da_pooling_from_string(const char *s);
const char *da_activation_to_string(da_activation a);
int da_activation_from_string(const char *s);

/* ---- forward ---------------------------------------------------------- */

/* Scratch space and streaming state for one caller; one per thread. */
typedef struct da_ctx da_ctx;

int da_ctx_new(const da_model *m, unsigned max_window, da_ctx **ret);
da_ctx *da_ctx_free(da_ctx *ctx);

/* One window of T frames (T×F row-major, already scaled) from zero state;
 * writes O outputs. */
int da_forward(da_ctx *ctx, const float *x, unsigned T, float *ret_out);

/* DeepACTIF traces during the same pass: per feature, the mean over the
 * window's time steps of |x[t,f]| (trace_input) and of
 * Σ_j |i[t,j]·W_g[j,f]·x[t,f]| (trace_gate). Either may be NULL. */
int da_forward_traced(da_ctx *ctx, const float *x, unsigned T, float *ret_out,
                      float *ret_trace_input, float *ret_trace_gate);

/* Streaming: one frame through all layers with the state the context carries. */
void da_ctx_reset_state(da_ctx *ctx);
int da_step(da_ctx *ctx, const float *x_t);
/* The top layer's hidden state after the last step (H floats). */
const float *da_ctx_hidden(const da_ctx *ctx);
/* The head on an already pooled H-vector. */
int da_head(da_ctx *ctx, const float *pooled, float *ret_out);

/* Many windows at once, for ranking a recording offline: each weight load
 * serves the whole batch. x holds B windows of arch.window × F, window-major;
 * outputs B × O, traces B × F (either may be NULL). Results equal
 * da_forward_traced's to float rounding. */
typedef struct da_batch da_batch;

int da_batch_new(const da_model *m, unsigned max_batch, da_batch **ret);
da_batch *da_batch_free(da_batch *b);
int da_forward_traced_batch(da_batch *b, const float *x, unsigned B, float *ret_out, float *ret_trace_input,
                            float *ret_trace_gate);
/* The windows the model takes (arch.window frames every arch.hop) over one
 * run of n_frames consecutive scaled frames (n_frames × F): each frame's
 * input projection is computed once for all the windows that hold it.
 * -E2BIG when they would be more than the batch's max_batch. */
int da_forward_traced_frames(da_batch *b, const float *x, unsigned n_frames, float *ret_out,
                             float *ret_trace_input, float *ret_trace_gate, unsigned *ret_windows);

/* ---- frames and channels (DESIGN §4.2) ----------------------------------- */

/* Raw channels a source can produce; SI units (metres, unit vectors,
 * seconds), screen coordinates normalised to 0..1. */
#define DA_CHANNELS(X)                                                   \
        X(GAZE_POINT_X,          "gaze.point.x",            "m")         \
        X(GAZE_POINT_Y,          "gaze.point.y",            "m")         \
        X(GAZE_POINT_Z,          "gaze.point.z",            "m")         \
        X(EYE_LEFT_ORIGIN_X,     "eye.left.origin.x",       "m")         \
        X(EYE_LEFT_ORIGIN_Y,     "eye.left.origin.y",       "m")         \
        X(EYE_LEFT_ORIGIN_Z,     "eye.left.origin.z",       "m")         \
        X(EYE_RIGHT_ORIGIN_X,    "eye.right.origin.x",      "m")         \
        X(EYE_RIGHT_ORIGIN_Y,    "eye.right.origin.y",      "m")         \
        X(EYE_RIGHT_ORIGIN_Z,    "eye.right.origin.z",      "m")         \
        X(EYE_LEFT_DIRECTION_X,  "eye.left.direction.x",    "1")         \
        X(EYE_LEFT_DIRECTION_Y,  "eye.left.direction.y",    "1")         \
        X(EYE_LEFT_DIRECTION_Z,  "eye.left.direction.z",    "1")         \
        X(EYE_RIGHT_DIRECTION_X, "eye.right.direction.x",   "1")         \
        X(EYE_RIGHT_DIRECTION_Y, "eye.right.direction.y",   "1")         \
        X(EYE_RIGHT_DIRECTION_Z, "eye.right.direction.z",   "1")         \
        X(EYE_LEFT_SCREEN_X,     "eye.left.screen.x",       "1")         \
        X(EYE_LEFT_SCREEN_Y,     "eye.left.screen.y",       "1")         \
        X(EYE_RIGHT_SCREEN_X,    "eye.right.screen.x",      "1")         \
        X(EYE_RIGHT_SCREEN_Y,    "eye.right.screen.y",      "1")         \
        X(PUPIL_LEFT_DIAMETER,   "pupil.left.diameter",     "m")         \
        X(PUPIL_RIGHT_DIAMETER,  "pupil.right.diameter",    "m")         \
        X(HEAD_POSITION_X,       "head.position.x",         "m")         \
        X(HEAD_POSITION_Y,       "head.position.y",         "m")         \
        X(HEAD_POSITION_Z,       "head.position.z",         "m")         \
        X(HEAD_ROTATION_X,       "head.rotation.x",         "rad")       \
        X(HEAD_ROTATION_Y,       "head.rotation.y",         "rad")       \
        X(HEAD_ROTATION_Z,       "head.rotation.z",         "rad")       \
        X(TARGET_DEPTH,          "target.depth",            "m")

typedef enum da_channel {
#define DA_CHANNEL_ENUM(id, name, unit) DA_CH_##id,
        DA_CHANNELS(DA_CHANNEL_ENUM)
#undef DA_CHANNEL_ENUM
        _DA_CH_MAX,
} da_channel;

/* One sample of a stream: NaN marks a channel the source did not provide. */
typedef struct da_frame {
        uint64_t time_us;       /* monotonic within a stream */
        float ch[_DA_CH_MAX];
} da_frame;

const char *da_channel_name(da_channel c);
const char *da_channel_unit(da_channel c);
int da_channel_from_name(const char *name);     /* index or -EINVAL */
void da_frame_init(da_frame *f, uint64_t time_us); /* all channels NaN */

/* ---- recordings ------------------------------------------------------- */

typedef enum da_recording_format {
        DA_REC_AUTO,            /* sniffed from the first lines */
        DA_REC_ROBUSTVISION,    /* Robust Vision TSV */
        DA_REC_TOBII,           /* tobii_research GazeData CSV */
        DA_REC_EYELINK,         /* SR Research EyeLink .asc */
        DA_REC_CSV,             /* generic CSV/TSV with a column map */
        _DA_REC_MAX,
} da_recording_format;

/* Pulls frames from a recording; gzip-compressed files are read as is. */
typedef struct da_reader da_reader;

int da_reader_open(const char *path, da_recording_format format, da_reader **ret, da_error *err);
/* 1 and a frame, 0 at the end, or a negative errno with err naming the line. */
int da_reader_next(da_reader *r, da_frame *ret_frame, da_error *err);
da_recording_format da_reader_format(const da_reader *r);
da_reader *da_reader_free(da_reader *r);
const char *da_recording_format_to_string(da_recording_format f);
int da_recording_format_from_string(const char *s);

/* ---- generic CSV column map -------------------------------------------- */

/* Maps the columns of any CSV/TSV recording to channels, so another data set
 * loads without code changes. The spec is a comma-separated list of
 * "key=column[:unit]": key is "time" (required) or a channel name; column is
 * the header name, blanks around it ignored; '\' escapes a ',', ':', '=' or
 * '\' in it. Units convert to the channel's SI unit: time s|ms|us (default
 * s), lengths m|cm|mm (default m), angles rad|deg (default rad);
 * dimensionless channels take no unit. Example:
 *   "time=System Timestamp:ms,gaze.point.x=World Gaze Point X,target.depth=GT_depth" */
typedef struct da_column_map da_column_map;

int da_column_map_parse(const char *spec, da_column_map **ret, da_error *err);
da_column_map *da_column_map_free(da_column_map *m);

/* Opens a CSV/TSV recording (gzip is read as is) with a column map; the map
 * may be freed afterwards. The separator is the most frequent of tab, ';'
 * and ',' in the header line; fields may be double-quoted. Empty fields and
 * "nan" read as NaN; rows in which every mapped channel field is empty are
 * markers and skipped. */
int da_reader_open_csv(const char *path, const da_column_map *map, da_reader **ret, da_error *err);

/* ---- features (DESIGN §4.2) --------------------------------------------- */

/* Derived features computed from channels, named as in the FOVAL and
 * DeepACTIF papers; man deepactif-features(7) gives each formula. The first
 * DA_FEATURES_ROBUSTVISION, in this order, are the papers' Robust Vision
 * input set. */
#define DA_FEATURES_ROBUSTVISION 38u

typedef struct da_feature_info {
        const char *name;
        const char *unit;       /* "1" for dimensionless */
        const char *description;
} da_feature_info;

unsigned da_feature_count(void);
const da_feature_info *da_feature_get(unsigned i);       /* NULL if i ≥ count */
int da_feature_from_name(const char *name);               /* index or -ENOENT */
/* The channels feature i needs: writes up to max of them, returns how many
 * there are (-EINVAL for a bad i). */
int da_feature_channels(unsigned i, da_channel *ret_channels, unsigned max);

/* Per stream: keeps what the temporal features (changes, velocities,
 * accelerations) need from earlier frames. Velocities divide by the mean
 * frame period over the last 32 frames, so trackers that batch samples
 * under one stamp still get finite rates; the first frame after creation
 * or reset has velocities, accelerations and changes of 0. */
typedef struct da_featurizer da_featurizer;

/* features: n indices in the order the values are wanted; NULL, 0 for all. */
int da_featurizer_new(const unsigned *features, unsigned n, da_featurizer **ret);
da_featurizer *da_featurizer_free(da_featurizer *fz);
unsigned da_featurizer_n_features(const da_featurizer *fz);
/* Writes n values; NaN where a needed channel is NaN or a ratio's
 * denominator is 0. Frames must come in stream order. */
int da_featurizer_push(da_featurizer *fz, const da_frame *frame, float *ret_values);
void da_featurizer_reset(da_featurizer *fz);

/* Robust scaler as scikit-learn's RobustScaler: per column the median and
 * the IQR q75 − q25 (linear interpolation, numpy's default percentile);
 * NaN and ±inf ignored; an IQR of 0, or below 1e-4 of |median|
 * (rounding noise, not spread), becomes 1. x is rows×cols row-major.
 * -ENODATA if a column has no finite value. */
int da_scaler_fit(const float *x, size_t rows, unsigned cols, float *ret_median, float *ret_iqr);
/* row[c] = (row[c] − median[c]) / iqr[c] for cols values, in place. */
void da_scaler_apply(const float *median, const float *iqr, unsigned cols, float *row);

/* ---- DeepACTIF aggregation and rankings (DESIGN §4.3) ------------------- */

/* How the trace values a[n,f] of the N windows in scope become one score per
 * feature, from μ_f and the population σ_f over n:
 *   MEAN μ;  MEANSTD μ·σ;  INV ½·[mm(μ) + 1 − mm(σ)] (the default);
 *   PEN mm₀.₀₁(μ)·(1 − exp(−σ/0.01)),
 * with mm(v) = (v − min v)/(max v − min v + 1e-8), mm₀.₀₁ with 0.01. */
typedef enum da_aggregation {
        DA_AGG_MEAN,
        DA_AGG_MEANSTD,
        DA_AGG_INV,
        DA_AGG_PEN,
        _DA_AGG_MAX,
} da_aggregation;

#define DA_AGG_DEFAULT DA_AGG_INV

const char *da_aggregation_to_string(da_aggregation a);     /* "mean", …, NULL if invalid */
int da_aggregation_from_string(const char *s);

/* Offline: a is n×f row-major (one row per window). Non-finite values are
 * rejected with -EINVAL (a missing feature is the caller's to impute or drop). */
int da_aggregate(const float *a, size_t n, unsigned f, da_aggregation agg, double *ret_scores);
/* From precomputed μ and σ (σ ≥ 0), f each; ret_scores may alias either. */
int da_aggregate_moments(const double *mu, const double *sigma, unsigned f, da_aggregation agg,
                         double *ret_scores);

/* Online: the same scores over the last w windows pushed, in amortised O(f)
 * per window (one O(w·f) pass every w windows) and as accurate as the offline
 * sum: no value is ever subtracted. Holds 20·w·f bytes. */
typedef struct da_rolling da_rolling;

int da_rolling_new(unsigned f, unsigned w, da_rolling **ret);
da_rolling *da_rolling_free(da_rolling *r);
/* One window's trace values, f floats; -EINVAL (nothing changed) if any is
 * not finite. */
int da_rolling_push(da_rolling *r, const float *a_n);
size_t da_rolling_count(const da_rolling *r);               /* windows in scope, ≤ w */
unsigned da_rolling_n_features(const da_rolling *r);
unsigned da_rolling_window(const da_rolling *r);
/* -ENODATA while no window has been pushed. */
int da_rolling_moments(const da_rolling *r, double *ret_mu, double *ret_sigma);
int da_rolling_scores(const da_rolling *r, da_aggregation agg, double *ret_scores);
void da_rolling_reset(da_rolling *r);

/* Rankings sort scores descending; equal scores go to the lower feature
 * index. NaN scores are rejected with -EINVAL. */
int da_ranking(const double *scores, unsigned f, unsigned *ret_order);     /* order[rank] = feature */
int da_ranks(const double *scores, unsigned f, unsigned *ret_rank);        /* rank[feature], 1-based */
int da_topk(const double *scores, unsigned f, unsigned k, unsigned *ret_features); /* k ≤ f */

/* ---- methods and trace locations ---------------------------------------- */

/* The attribution method a ranking comes from (the baselines themselves are
 * in the research API) and where DeepACTIF takes its traces. */
typedef enum da_method {
        DA_METHOD_DEEPACTIF,
        DA_METHOD_IG,
        DA_METHOD_DEEPLIFT,
        DA_METHOD_GRADSHAP,
        DA_METHOD_KERNELSHAP,
        DA_METHOD_ABLATION,
        DA_METHOD_NEFLAG,
        _DA_METHOD_MAX,
} da_method;

typedef enum da_trace_location {
        DA_TRACE_INPUT,
        DA_TRACE_GATE,
        _DA_TRACE_MAX,
} da_trace_location;

const char *da_method_to_string(da_method m);
int da_method_from_string(const char *s);
const char *da_trace_location_to_string(da_trace_location l);
int da_trace_location_from_string(const char *s);

/* ---- streams: frames → features → windows → model → DeepACTIF ---------- */

/* What one evaluated window yields. */
typedef struct da_window_result {
        uint64_t time_us;       /* of the window's last frame */
        const float *output;    /* O model outputs (in the model's unit) */
        const float *trace;     /* F trace values a[n,f] at the stream's location */
        const float *window;    /* T×F scaled model inputs, oldest frame first */
        uint64_t valid_index;   /* valid frames since the stream began, this window's last included */
        float target;           /* target.depth of the last frame, NaN if absent */
} da_window_result;

typedef struct da_stream_stats {
        uint64_t frames;        /* pushed */
        uint64_t invalid;       /* a model feature was missing (NaN): not windowed */
        uint64_t windows;       /* evaluated */
} da_stream_stats;

/* Binds a model to a stream of frames: the model's feature names select the
 * derived features, its scaler scales them, windows of arch.window frames
 * every arch.hop valid frames go through the forward pass with traces. */
typedef struct da_stream da_stream;

int da_stream_new(const da_model *m, da_trace_location location, da_stream **ret, da_error *err);
da_stream *da_stream_free(da_stream *s);
/* 1 and a result when the frame completed a window (valid until the next
 * call), 0 when not, negative errno on failure. */
int da_stream_push(da_stream *s, const da_frame *frame, da_window_result *ret_result);
void da_stream_reset(da_stream *s);
/* Hand out each window's scaled inputs without running the model (output
 * and trace NULL), for callers that batch windows through
 * da_forward_traced_batch(). */
void da_stream_set_windows_only(da_stream *s, bool windows_only);
void da_stream_stats_get(const da_stream *s, da_stream_stats *ret);
/* The channels the model's features need that `available` (a bitmask over
 * da_channel) lacks, as a bitmask; 0 when the source can feed the model. */
uint64_t da_model_missing_channels(const da_model *m, uint64_t available);

/* ---- utilities ---------------------------------------------------------- */

uint64_t da_splitmix64(uint64_t *state);
/* Uniform in [0, 1) with 24 random bits, as (x >> 40) · 2⁻²⁴. */
float da_uniform01(uint64_t *state);

#ifdef __cplusplus
}
#endif
