/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* A model bound to a stream of frames: derived features, robust scaling, a
 * ring of the last T valid frames, and a traced forward pass every hop
 * frames. The daemon and `deepactifctl rank` both go through here, so live
 * and offline rankings see the same windows. */

#include <math.h>

#include "lstm.h"
#include "model.h"
#include "util.h"

struct da_stream {
        const da_model *m;
        da_trace_location location;
        da_featurizer *fz;
        da_ctx *ctx;
        unsigned T, F, hop;
        float *ring;            /* 2T × F: each row stored twice, so any window is contiguous */
        float *proj;            /* T × 4Hp: each row's layer-0 input projection */
        const float **proj_order; /* T: the projections of the current window, oldest first */
        unsigned Hp4;
        float *row;             /* F */
        float *features;        /* F: row before scaling, NaN kept */
        float *output;          /* O */
        float *trace;           /* F */
        unsigned pos;           /* next row to write, < T */
        bool windows_only;      /* hand out windows without running the model */
        uint64_t valid;         /* valid frames since reset */
        uint64_t ring_rows;     /* rows in the ring since reset (valid frames after any warm-up) */
        da_user_scaler *user;   /* per-user scaling, or NULL */
        da_stream_stats stats;
};

da_stream *da_stream_free(da_stream *s) {
        if (!s)
                return NULL;
        da_featurizer_free(s->fz);
        da_user_scaler_free(s->user);
        da_ctx_free(s->ctx);
        free(s->ring);
        free(s->proj);
        free(s->proj_order);
        free(s->row);
        free(s->features);
        free(s->output);
        free(s->trace);
        return mfree(s);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_stream *, da_stream_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(da_user_scaler *, da_user_scaler_free);

static int model_feature_indices(const da_model *m, unsigned *ret, da_error *err) {
        for (unsigned f = 0; f < m->arch.n_features; f++) {
                const char *name = da_model_feature(m, f);
                int k;

                if (!name)
                        return da_error_set(err, -EINVAL, "the model names no input features");
                k = da_feature_from_name(name);
                if (k < 0)
                        return da_error_set(err, -ENOENT, "model input '%s' is not a feature this library derives "
                                            "(see deepactifctl features)", name);
                ret[f] = (unsigned) k;
        }
        return 0;
}

int da_stream_new(const da_model *m, da_trace_location location, da_stream **ret, da_error *err) {
        _cleanup_(da_stream_freep) da_stream *s = NULL;
        _cleanup_free_ unsigned *idx = NULL;
        int r;

        if ((unsigned) location >= _DA_TRACE_MAX)
                return da_error_set(err, -EINVAL, "unknown trace location");

        idx = calloc(m->arch.n_features, sizeof(unsigned));
        s = calloc(1, sizeof(*s));
        if (!idx || !s)
                return -ENOMEM;
        r = model_feature_indices(m, idx, err);
        if (r < 0)
                return r;

        s->m = m;
        s->location = location;
        s->T = m->arch.window;
        s->F = m->arch.n_features;
        s->hop = m->arch.hop;
        r = da_featurizer_new(idx, s->F, &s->fz);
        if (r < 0)
                return da_error_set(err, r, "cannot set up the feature computation: %s", strerror(-r));
        r = da_ctx_new(m, s->T, &s->ctx);
        if (r < 0)
                return r;
        s->ring = calloc((size_t) 2 * s->T * s->F, sizeof(float));
        s->Hp4 = 4 * model_hidden_padded(m);
        s->proj = aligned_alloc0((size_t) s->T * s->Hp4);
        s->proj_order = calloc(s->T, sizeof(float *));
        s->row = calloc(s->F, sizeof(float));
        s->features = calloc(s->F, sizeof(float));
        s->output = calloc(m->arch.outputs, sizeof(float));
        s->trace = calloc(s->F, sizeof(float));
        if (!s->ring || !s->proj || !s->proj_order || !s->row || !s->features || !s->output || !s->trace)
                return -ENOMEM;
        if (m->scaling == DA_SCALING_PER_USER) {
                r = da_user_scaler_new(s->F, m->warmup, &s->user);
                if (r < 0)
                        return da_error_set(err, r, "cannot set up per-user scaling: %s", strerror(-r));
        }

        *ret = TAKE_PTR(s);
        return 0;
}

/* The per-user statistics describe the user, not the stretch of frames, so
 * a discontinuity (a replay looping, time going back) keeps them. */
void da_stream_reset(da_stream *s) {
        da_featurizer_reset(s->fz);
        s->pos = 0;
        s->valid = 0;
        s->ring_rows = 0;
}

void da_stream_reset_user(da_stream *s) {
        da_stream_reset(s);
        if (s->user)
                da_user_scaler_reset(s->user);
}

int da_stream_adopt_user_scaling(da_stream *s, da_stream *from) {
        if (!s->user || !from->user || s->F != from->F)
                return -EINVAL;
        for (unsigned f = 0; f < s->F; f++)
                if (!streq(da_model_feature(s->m, f), da_model_feature(from->m, f)))
                        return -EINVAL;
        da_user_scaler_free(s->user);
        s->user = TAKE_PTR(from->user);
        return 0;
}

bool da_stream_warming_up(const da_stream *s, uint64_t *ret_frames, uint64_t *ret_warmup) {
        if (ret_frames)
                *ret_frames = s->user ? da_user_scaler_rows(s->user) : 0;
        if (ret_warmup)
                *ret_warmup = s->user ? da_user_scaler_warmup(s->user) : 0;
        return s->user && !da_user_scaler_warm(s->user);
}

void da_stream_set_windows_only(da_stream *s, bool windows_only) {
        s->windows_only = windows_only;
}

void da_stream_stats_get(const da_stream *s, da_stream_stats *ret) {
        *ret = s->stats;
}

const float *da_stream_features(const da_stream *s) {
        return s->features;
}

int da_stream_push(da_stream *s, const da_frame *frame, da_window_result *ret_result) {
        const float *window;
        int r;

        s->stats.frames++;
        r = da_featurizer_push(s->fz, frame, s->row);
        if (r < 0)
                return r;
        memcpy(s->features, s->row, s->F * sizeof(float));
        for (unsigned f = 0; f < s->F; f++)
                if (!isfinite(s->row[f])) {
                        s->stats.invalid++;
                        return 0;
                }
        s->valid++;
        /* Per user: the row counts towards the user's statistics, then is
         * scaled with them; rows before the warm-up ends fill no window. */
        if (s->user) {
                r = da_user_scaler_push(s->user, s->row);
                if (r < 0)
                        return r;
                if (r == 0)
                        return 0;
                da_user_scaler_apply(s->user, s->row);
        } else if (s->m->scaler_median)
                da_scaler_apply(s->m->scaler_median, s->m->scaler_iqr, s->F, s->row);

        memcpy(s->ring + (size_t) s->pos * s->F, s->row, s->F * sizeof(float));
        memcpy(s->ring + (size_t) (s->pos + s->T) * s->F, s->row, s->F * sizeof(float));
        if (!s->windows_only)
                lstm_project_input(s->ctx, s->row, s->proj + (size_t) s->pos * s->Hp4);
        s->pos = (s->pos + 1) % s->T;
        s->ring_rows++;

        /* The hop counts from the first valid frame, so windows land where
         * da_dataset puts them whether or not a warm-up came first. */
        if (s->ring_rows < s->T || (s->valid - s->T) % s->hop != 0)
                return 0;

        /* Rows pos..pos+T−1 of the doubled ring are the last T frames, oldest first. */
        window = s->ring + (size_t) s->pos * s->F;
        if (s->windows_only) {
                s->stats.windows++;
                *ret_result = (da_window_result) {
                        .time_us = frame->time_us,
                        .window = window,
                        .valid_index = s->valid,
                        .target = frame->ch[DA_CH_TARGET_DEPTH],
                };
                return 1;
        }
        for (unsigned t = 0; t < s->T; t++)
                s->proj_order[t] = s->proj + (size_t) ((s->pos + t) % s->T) * s->Hp4;
        r = lstm_forward_projected(s->ctx, window, s->proj_order, s->T, s->output,
                                   s->location == DA_TRACE_INPUT ? s->trace : NULL,
                                   s->location == DA_TRACE_GATE ? s->trace : NULL);
        if (r < 0)
                return r;
        s->stats.windows++;

        *ret_result = (da_window_result) {
                .time_us = frame->time_us,
                .output = s->output,
                .trace = s->trace,
                .window = window,
                .valid_index = s->valid,
                .target = frame->ch[DA_CH_TARGET_DEPTH],
        };
        return 1;
}

uint64_t da_model_missing_channels(const da_model *m, uint64_t available) {
        uint64_t missing = 0;

        for (unsigned f = 0; f < m->arch.n_features; f++) {
                da_channel ch[_DA_CH_MAX];
                int k, n;

                k = da_model_feature(m, f) ? da_feature_from_name(da_model_feature(m, f)) : -ENOENT;
                if (k < 0)
                        continue;
                n = da_feature_channels((unsigned) k, ch, ELEMENTSOF(ch));
                for (int i = 0; i < n && i < (int) ELEMENTSOF(ch); i++)
                        if (!(available & (UINT64_C(1) << ch[i])))
                                missing |= UINT64_C(1) << ch[i];
        }
        return missing;
}

/* A subject's valid rows (n × F, in stream order) scaled in place exactly
 * as da_stream_push scales them one by one; *ret_first is the first row a
 * window may start at (the row that ends a per-user warm-up, else 0). */
int stream_scale_rows(da_scaling scaling, unsigned warmup, const float *median, const float *iqr, unsigned F,
                      float *rows, size_t n, size_t *ret_first) {
        _cleanup_(da_user_scaler_freep) da_user_scaler *u = NULL;
        size_t first = n;
        int r;

        if (scaling != DA_SCALING_PER_USER) {
                if (median)
                        for (size_t i = 0; i < n; i++)
                                da_scaler_apply(median, iqr, F, rows + i * F);
                *ret_first = 0;
                return 0;
        }
        r = da_user_scaler_new(F, warmup, &u);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++) {
                r = da_user_scaler_push(u, rows + i * F);
                if (r < 0)
                        return r;
                if (r == 0)
                        continue;
                if (first == n)
                        first = i;
                da_user_scaler_apply(u, rows + i * F);
        }
        *ret_first = first;
        return 0;
}
