/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The model's parameters as the library holds them internally: PyTorch's
 * names and layouts (row-major, gate order i,f,g,o), owned by the model. The
 * packed copies used by the forward pass are derived by model_pack(). */

#include "deepactif.h"

typedef struct da_lstm_layer {
        unsigned in;            /* input size of this layer (F or H) */
        float *w_ih;            /* 4H × in */
        float *w_hh;            /* 4H × H */
        float *b_ih;            /* 4H */
        float *b_hh;            /* 4H */
        float *s_ih, *s_hh;     /* 4H row scales each, at DA_PRECISION_I8 only */
} da_lstm_layer;

/* GEMV panels: rows grouped by DA_PANEL, each group stored k-major so the
 * kernel streams it once; the row count is padded with zero rows. */
#define DA_PANEL 64u
/* Vector width (floats) the cell update works in; H is padded to it. */
#define DA_LANES 16u

typedef struct da_packed {
        unsigned rows, rows_padded, cols;
        float *data;            /* rows_padded/DA_PANEL panels of cols × DA_PANEL */
        /* The same panels at reduced precision, which the GEMV reads instead
         * when set: bf16 with columns k, k+1 of a row sharing a 32-bit word
         * (widened by a shift and a mask), f16 and i8 in data's layout. */
        da_precision precision;
        void *reduced;
        float *scale;           /* i8: rows_padded row scales */
} da_packed;

typedef struct da_packed_layer {
        da_packed ih, hh;
        float *bias;            /* b_ih + b_hh, rows_padded */
} da_packed_layer;

struct da_model {
        da_arch arch;
        da_task task;
        char *unit;
        char **classes;
        unsigned n_classes;
        char **features;        /* F names, or NULL */
        float *scaler_median;   /* F, or NULL */
        float *scaler_iqr;      /* F, or NULL */
        double *reference_scores; /* F, the training ranking's scores, or NULL */
        da_trace_location reference_location;
        da_aggregation reference_aggregation;
        uint64_t reference_windows;
        da_scaling scaling;
        unsigned warmup;        /* frames, per-user scaling only */

        da_precision precision; /* of the layers' w_ih and w_hh */
        da_lstm_layer *layer;   /* arch.layers */
        float *bn_weight, *bn_bias, *bn_mean, *bn_var; /* H each, when batchnorm */
        float bn_eps;
        float *fc1_w, *fc1_b;   /* dense × H and dense, when dense > 0 */
        float *out_w, *out_b;   /* O × (dense ?: H) and O: fc5 or fc */

        /* derived by model_pack() */
        da_packed_layer *packed;
        da_packed gate_abs;     /* F rows × H: |W_g[j,f]| of layer 0, for the gate trace */
        float *bn_scale, *bn_shift; /* batchnorm folded to y = x·scale + shift */
};

int model_alloc(const da_arch *arch, da_model **ret);
int stream_scale_rows(da_scaling scaling, unsigned warmup, const float *median, const float *iqr, unsigned F,
                      float *rows, size_t n, size_t *ret_first);
int model_pack(da_model *m);
/* Scalar conversions of one weight; the rounding ones round to nearest even. */
float bf16_to_float(uint16_t h);
uint16_t float_to_bf16(float f);
float half_to_float(uint16_t h);
uint16_t float_to_half(float f);
/* P's reduced panels at p from its float ones, whose values p holds exactly;
 * i8 takes the row scales of the 4H gate rows in PyTorch order. */
int packed_reduce(da_packed *P, da_precision p, const float *scales, unsigned H, unsigned Hp);
void packed_reduced_free(da_packed *P);
unsigned model_head_in(const da_model *m);
unsigned model_hidden_padded(const da_model *m);
/* w (4H × cols, gate-major rows q·H + j) as 4Hp panel rows: row q·Hp + j
 * holds gate q of unit j, padded units zero; d holds 4Hp × cols floats. */
void pack_gates_into(const float *w, unsigned H, unsigned Hp, unsigned cols, float *d);
void *aligned_alloc0(size_t n_floats);
