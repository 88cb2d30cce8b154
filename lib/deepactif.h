/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libdeepactif — LSTM gaze models, the DeepACTIF attribution method and the
 * baselines it is measured against.
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

/* ---- utilities ---------------------------------------------------------- */

uint64_t da_splitmix64(uint64_t *state);
/* Uniform in [0, 1) with 24 random bits, as (x >> 40) · 2⁻²⁴. */
float da_uniform01(uint64_t *state);

#ifdef __cplusplus
}
#endif
