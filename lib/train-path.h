/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The trainer's forward and backward pass in float32, batched: the LSTM
 * layers' products as matrix products over the windows of a chunk (the
 * input projections and the weight gradients over all steps at once, only
 * the recurrence step by step), the cell in vector code, the head per
 * window in double. The same model and semantics as tape.c and backprop.c,
 * which stay the double-precision reference (da_gradient(), attribution). */

#include "backprop.h"
#include "model.h"
#include "util.h"

/* The model's LSTM weights packed for the products: forward panels and,
 * for the backward products, the transposed ones. Packed once per
 * optimizer step and read by every thread's TrainPath. precision is that
 * of the recurrent products: f32, or bf16 (float32 sums); -EOPNOTSUPP
 * for others. */
typedef struct TrainWeights TrainWeights;

int train_weights_new(const da_model *m, da_precision precision, TrainWeights **ret);
TrainWeights *train_weights_free(TrainWeights *w);
/* Repacks from the model's float weights after they changed. */
void train_weights_update(TrainWeights *w);

typedef struct TrainPath TrainPath;

int train_path_new(const TrainWeights *w, unsigned T, unsigned max_B, TrainPath **ret);
TrainPath *train_path_free(TrainPath *p);

/* B windows (x: B × T × F, window-major) from zero state; B outputs × O to
 * ret_out when non-NULL. */
int train_path_forward(TrainPath *p, const float *x, unsigned B, double *ret_out);

/* Gradients of L = Σ_b Σ_o dout[b·O + o] · out[b,o] for the windows of the
 * last forward pass, to ret_grad (da_model_n_parameters() floats, laid out
 * as param_layout() says; every one is written). Every value is computed in
 * an order that depends only on the windows and B. */
int train_path_backward(TrainPath *p, const double *dout, float *ret_grad);

DEFINE_TRIVIAL_CLEANUP_FUNC(TrainWeights *, train_weights_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(TrainPath *, train_path_free);
