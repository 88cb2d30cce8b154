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

/* How the LSTM's weight matrices are stored: float32 (PyTorch's values), or
 * fewer bytes each (bfloat16, IEEE half, or int8 with a float scale per row)
 * for steps bound by reading them. Arithmetic stays float32 throughout. */
typedef enum da_precision {
        DA_PRECISION_F32,
        DA_PRECISION_BF16,
        DA_PRECISION_F16,
        DA_PRECISION_I8,
        _DA_PRECISION_MAX,
} da_precision;

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
da_precision da_model_precision(const da_model *m);
/* Rounds the LSTM weight matrices to p (round to nearest even; i8 per row
 * to ±127 steps of max|w|/127) and stores them so; the model's float weights
 * become the rounded values, so every path computes with the same numbers.
 * Irreversible: back to f32 keeps the rounded values. -ERANGE when a weight
 * does not fit f16, leaving the model as it was; -ENOMEM leaves it
 * unusable (free it). */
int da_model_set_precision(da_model *m, da_precision p);
/* Bytes one weight takes at p (i8: 1, its row's scale not counted). */
size_t da_precision_bytes(da_precision p);

/* How a model's inputs are scaled (DESIGN §2, deepactif-model(5)): with the
 * stored scaler (global), or per user with each device's own online
 * median/IQR once `warmup` valid frames have been seen; windows are held
 * until then. */
typedef enum da_scaling {
        DA_SCALING_GLOBAL,
        DA_SCALING_PER_USER,
        _DA_SCALING_MAX,
} da_scaling;

da_scaling da_model_scaling(const da_model *m, unsigned *ret_warmup);
/* warmup: frames, 4..DA_USER_SCALER_WARMUP_MAX for per-user, ignored for global. */
int da_model_set_scaling(da_model *m, da_scaling scaling, unsigned warmup);
const char *da_scaling_to_string(da_scaling s);
int da_scaling_from_string(const char *s);

const char *da_pooling_to_string(da_pooling p);
int da_pooling_from_string(const char *s);
const char *da_activation_to_string(da_activation a);
int da_activation_from_string(const char *s);
const char *da_precision_to_string(da_precision p);
int da_precision_from_string(const char *s);

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
        DA_REC_PUPIL,           /* Pupil Player export, gaze_positions.csv */
        _DA_REC_MAX,
} da_recording_format;

/* Pulls frames from a recording; gzip-compressed files are read as is. */
typedef struct da_reader da_reader;

int da_reader_open(const char *path, da_recording_format format, da_reader **ret, da_error *err);
/* 1 and a frame, 0 at the end, or a negative errno with err naming the line. */
int da_reader_next(da_reader *r, da_frame *ret_frame, da_error *err);
da_recording_format da_reader_format(const da_reader *r);
/* Drop frames that repeat the previous one in every channel but
 * target.depth (recordings whose logger ran faster than the tracker; a live
 * tracker never repeats a sample). Off unless set; the data sets, replay
 * and `deepactifctl rank` set it (deepactif-features(7)). */
void da_reader_set_drop_repeats(da_reader *r, bool drop);
uint64_t da_reader_repeats(const da_reader *r);
da_reader *da_reader_free(da_reader *r);
const char *da_recording_format_to_string(da_recording_format f);
int da_recording_format_from_string(const char *s);

/* ---- generic CSV column map -------------------------------------------- */

/* Maps the columns of any CSV/TSV recording to channels, so another data set
 * loads without code changes. The spec is a comma-separated list of
 * "key=column[:unit]": key is "time" or a channel name; column is the header
 * name, blanks around it ignored; '\' escapes a ',', ':', '=' or '\' in it.
 * Units convert to the channel's SI unit: time s|ms|us (default s), lengths
 * m|cm|mm (default m), angles rad|deg (default rad); dimensionless channels
 * take no unit. A recording without a time column takes "rate=HZ" instead of
 * "time=…": the n-th frame (counting from 0) is stamped n/HZ seconds.
 * Examples:
 *   "time=System Timestamp:ms,gaze.point.x=World Gaze Point X,target.depth=GT_depth"
 *   "rate=120,target.depth=Gt_Depth,eye.left.direction.x=World_Gaze_Direction_L_X" */
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
/* The channel feature i is a plain copy of, or -ENOENT for a derived one. */
int da_feature_copies_channel(unsigned i);
/* Whether feature i has no useful range: a quotient whose denominator
 * crosses zero, a cosine near 1 (it moves with the square of its angle), a
 * second difference, or a change per frame not divided by the frame's
 * interval (its size follows the tracker's timing: a frame after a gap
 * carries the whole gap's change). A median and IQR say little about where
 * such values end. */
bool da_feature_heavy_tailed(unsigned i);

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
/* The divisor for a column whose IQR is iqr around median: the IQR, or 1
 * when it is rounding noise (the rule da_scaler_fit applies). */
float da_scaler_spread(double iqr, double median);

/* Per-user scaling (DESIGN §2): each feature's median and IQR estimated
 * online from one user's own rows, O(F) work and bounded memory per row
 * (the first `warmup` rows, then a 1024-bin histogram per feature). Rows
 * with a non-finite value are ignored. Until `warmup` rows have been
 * pushed the estimate is median 0, IQR 1 and not to be used. Against the
 * exact quantiles of all rows pushed, the median and IQR stay within 1.6%
 * of the IQR on the shipped Robust Vision recordings (DESIGN-NOTES.md). */
#define DA_USER_SCALER_WARMUP_MAX 100000u
typedef struct da_user_scaler da_user_scaler;

int da_user_scaler_new(unsigned n_features, unsigned warmup, da_user_scaler **ret);
da_user_scaler *da_user_scaler_free(da_user_scaler *u);
void da_user_scaler_reset(da_user_scaler *u);
/* 1 when the estimate is usable after this row, 0 when not (warming up, or
 * the row was not finite), negative errno on failure. */
int da_user_scaler_push(da_user_scaler *u, const float *row);
bool da_user_scaler_warm(const da_user_scaler *u);
uint64_t da_user_scaler_rows(const da_user_scaler *u);
unsigned da_user_scaler_warmup(const da_user_scaler *u);
void da_user_scaler_get(const da_user_scaler *u, float *ret_median, float *ret_iqr);
/* Scales a row in place with the current estimate. */
void da_user_scaler_apply(const da_user_scaler *u, float *row);

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
/* Starts the windows afresh after a discontinuity; per-user statistics are
 * kept (they describe the user). */
void da_stream_reset(da_stream *s);
/* A new user on the same device: the windows start afresh and per-user
 * statistics are forgotten, to warm up again from the next frame. */
void da_stream_reset_user(da_stream *s);
/* Per-user scaling: true while the stream's own statistics are still
 * warming up (no window is evaluated yet), with the valid frames seen and
 * the warm-up length. False for a globally scaled model. */
bool da_stream_warming_up(const da_stream *s, uint64_t *ret_frames, uint64_t *ret_warmup);
/* Takes over another stream's per-user statistics (a reload of the same
 * device to a model with the same inputs); -EINVAL when either stream
 * scales globally or the inputs differ. */
int da_stream_adopt_user_scaling(da_stream *s, da_stream *from);
/* Hand out each window's scaled inputs without running the model (output
 * and trace NULL), for callers that batch windows through
 * da_forward_traced_batch(). */
void da_stream_set_windows_only(da_stream *s, bool windows_only);
void da_stream_stats_get(const da_stream *s, da_stream_stats *ret);
/* The model's inputs for the last frame pushed, unscaled, F floats; NaN
 * where a channel was missing. Valid until the next push. */
const float *da_stream_features(const da_stream *s);
/* The channels the model's features need that `available` (a bitmask over
 * da_channel) lacks, as a bitmask; 0 when the source can feed the model. */
uint64_t da_model_missing_channels(const da_model *m, uint64_t available);

/* ---- reference ranking ------------------------------------------------- */

/* The ranking of a model's inputs on its training windows, which the model
 * file carries (written by deepactifctl train): DeepACTIF traces at
 * `location`, aggregated with `aggregation` over `windows` windows. Ranks
 * follow the scores as da_ranks() orders them. */
typedef struct da_reference_ranking {
        da_trace_location location;
        da_aggregation aggregation;
        uint64_t windows;
        const double *scores;   /* F finite scores */
} da_reference_ranking;

/* -ENODATA when the model carries none (files written before it existed). */
int da_model_reference_ranking(const da_model *m, da_reference_ranking *ret);
/* Copies the scores; NULL removes it. -EINVAL for a non-finite score. */
int da_model_set_reference_ranking(da_model *m, const da_reference_ranking *ref);
/* ---- events: ranking shift and input health ------------------------------ */

/* What the daemon tells its users when something a model relies on changes. */
typedef enum da_event_kind {
        DA_EVENT_RANKING_SHIFT,         /* the ranking left the reference */
        DA_EVENT_RANKING_RECOVERED,
        DA_EVENT_CHANNEL_FROZEN,        /* no change while frames arrive */
        DA_EVENT_CHANNEL_MISSING,       /* NaN in most recent frames */
        DA_EVENT_CHANNEL_OUT_OF_RANGE,  /* beyond the model's training range */
        DA_EVENT_CHANNEL_RECOVERED,
        DA_EVENT_CHANNEL_DRIFT,         /* the eyes disagree more than in the warm-up */
        DA_EVENT_CHANNEL_NOISY,         /* one eye's channel changes far more than the other's */
        _DA_EVENT_MAX,
} da_event_kind;

const char *da_event_kind_to_string(da_event_kind k);      /* "ranking-shift", …; NULL if invalid */
int da_event_kind_from_string(const char *s);

/* Ranking shift: every snapshot's scores against a reference ranking by
 * Kendall τ-b and top-k Jaccard overlap. The ranking counts as shifted while
 * τ-b < tau_min or the overlap < overlap_min; a shift event fires when that
 * holds for hold_usec of stream time, a recovery when neither holds for
 * recover_usec. Without a reference from the model, the device's own
 * ranking becomes it: the first snapshot after warmup_usec whose τ-b against
 * the snapshot before is at least stable_tau. O(f²) per snapshot. */
typedef struct da_shift_options {
        double tau_min;
        unsigned top_k;
        double overlap_min;
        uint64_t hold_usec;
        uint64_t recover_usec;
        uint64_t warmup_usec;
        double stable_tau;
} da_shift_options;

#define DA_SHIFT_MOVED_MAX 3u

typedef struct da_shift_event {
        da_event_kind kind;             /* DA_EVENT_RANKING_SHIFT or _RECOVERED */
        uint64_t time_us;               /* stream time of the snapshot that decided it */
        double tau, overlap;            /* of that snapshot */
        unsigned n_moved;
        unsigned moved[DA_SHIFT_MOVED_MAX];     /* the features that moved most, by feature index */
        unsigned from_rank[DA_SHIFT_MOVED_MAX]; /* their reference ranks, 1-based */
        unsigned to_rank[DA_SHIFT_MOVED_MAX];   /* and their ranks now */
} da_shift_event;

typedef struct da_shift da_shift;

void da_shift_options_init(da_shift_options *o);
int da_shift_new(unsigned f, const da_shift_options *o, da_shift **ret);
da_shift *da_shift_free(da_shift *s);
/* F scores, copied; NULL to wait for the device's own. */
int da_shift_set_reference(da_shift *s, const double *scores);
/* Whether a reference is set, and whether it came from the device. */
bool da_shift_has_reference(const da_shift *s, bool *ret_own);
/* One snapshot: 1 and an event, 0 when nothing changed. -EINVAL for NaN scores. */
int da_shift_push(da_shift *s, uint64_t time_us, const double *scores, da_shift_event *ret_event);
/* τ-b and overlap of the last snapshot against the reference (NaN before). */
void da_shift_last(const da_shift *s, double *ret_tau, double *ret_overlap, bool *ret_shifted);
/* Forgets the state (not the reference): a new stream. */
void da_shift_reset(da_shift *s);

/* Input health per channel the model needs: frozen (a channel that has
 * varied stops changing for frozen_usec while frames arrive), missing (the
 * share of NaN frames, averaged exponentially over missing_usec, reaches
 * missing_share), out of range (a model input lies beyond its training
 * range, the scaler's median ± IQR/2, by more than range_iqr IQRs, in a
 * share of frames averaged over range_usec that reaches range_share; named
 * by its channel when it copies one, else by the input and its channels;
 * heavy-tailed inputs, da_feature_heavy_tailed(), are not checked). Each
 * ends with a recovery: a changing value, the NaN share back under half its
 * threshold, the out-of-range share under half its.
 * Drift (one eye's calibration moving): per axis x and y, the left-minus-
 * right direction difference, averaged exponentially over drift_usec, is
 * compared with its median over the stream's first baseline_usec; its
 * distance beyond drift_offset, integrated over stream time, fires when it
 * reaches drift_offset × drift_hold_usec and recovers when it has drained
 * to 0 (drift_offset 0: no drift check). Named by the left channel, with
 * both in channels; value: the averaged difference minus the median.
 * Noise, for each left/right pair of channels (direction, screen, pupil):
 * per channel, the median of log |change| between distinct frames, tracked
 * at log(noise_factor) per noise_usec, against its warm-up median; one
 * side's rise against the other's reaching noise_factor fires (named by
 * that side; value: the factor), under its square root recovers
 * (noise_factor 0: no noise check). Both measure the device against its
 * own first baseline_usec of stream time.
 * O(channels + inputs) per frame, no allocation; the warm-up keeps at
 * most 256 values per statistic and sorts them once, when it ends. */
typedef struct da_health_options {
        uint64_t frozen_usec;
        uint64_t missing_usec;
        double missing_share;
        double range_iqr;
        uint64_t range_usec;
        double range_share;
        uint64_t baseline_usec;
        uint64_t drift_usec;
        double drift_offset;
        uint64_t drift_hold_usec;
        double noise_factor;
        uint64_t noise_usec;
} da_health_options;

typedef struct da_health_event {
        da_event_kind kind;             /* CHANNEL_FROZEN, _MISSING, _OUT_OF_RANGE, _DRIFT, _NOISY or _RECOVERED */
        da_event_kind cause;            /* for _RECOVERED: which of the five ended */
        uint64_t time_us;               /* stream time of the deciding frame */
        int channel;                    /* da_channel; for a range event on a derived input, −1 */
        int feature;                    /* range: the model input's index; −1 for frozen, missing */
        uint64_t channels;              /* the channels concerned, a bitmask over da_channel */
        double value;                   /* frozen: seconds unchanged; missing: NaN share; range: IQRs beyond;
                                         * drift: L − R now minus its warm-up median; noisy: the factor */
} da_health_event;

typedef void (*da_health_event_fn)(const da_health_event *e, void *userdata);
typedef struct da_health da_health;

void da_health_options_init(da_health_options *o);
/* Watches the channels the model's inputs need; range checks need its scaler. */
int da_health_new(const da_model *m, const da_health_options *o, da_health **ret);
da_health *da_health_free(da_health *h);
/* One frame in stream order with the model's unscaled inputs for it
 * (da_stream_features(), or NULL: no range check for this frame). */
void da_health_push(da_health *h, const da_frame *frame, const float *features, da_health_event_fn fn,
                    void *userdata);
/* The conditions open now: channels frozen and missing as bitmasks over
 * da_channel, and how many inputs are out of range. */
void da_health_open(const da_health *h, uint64_t *ret_frozen, uint64_t *ret_missing, unsigned *ret_range);
void da_health_reset(da_health *h);

/* ---- utilities ---------------------------------------------------------- */

uint64_t da_splitmix64(uint64_t *state);
/* Uniform in [0, 1) with 24 random bits, as (x >> 40) · 2⁻²⁴. */
float da_uniform01(uint64_t *state);

#ifdef __cplusplus
}
#endif
