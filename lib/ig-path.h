/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The gradient integral behind Integrated Gradients, in float32: windows
 * on the straight line x′ + α(x − x′) run through the LSTM and head a batch
 * at a time (the weights streamed once per step for the whole batch), and
 * back to the input, input gradients only. Two facts of the path save a
 * third of the work: the first layer's input projection is affine in α
 * (W·x′ + α·W·(x − x′), computed once), and the weighted sum of the input
 * gradients Σ_k w_k·W_ihᵀ·δ_k is W_ihᵀ·Σ_k w_k·δ_k, one product per step.
 * The double-precision tape stays the reference (tests, training). */

#include "model.h"
#include "util.h"

typedef struct IgPath IgPath;

/* For windows of up to max_T steps (0: the model's window), max_batch
 * α-steps per batch. */
int ig_path_new(const da_model *m, unsigned max_T, unsigned max_batch, IgPath **ret);
IgPath *ig_path_free(IgPath *p);

/* Σ_k weight[k]·∇ₓF_o(x′ + alpha[k]·(x − x′)) over n nodes (T × F doubles,
 * row-major, to ret_grad_sum) and F_o(x), F_o(x′) to ret_ends. The result
 * does not depend on the batch size. */
int ig_path_integrate(IgPath *p, const float *x, const float *xb, unsigned T, unsigned output,
                      const double *alpha, const double *weight, unsigned n, double *ret_grad_sum,
                      double ret_ends[static 2]);

DEFINE_TRIVIAL_CLEANUP_FUNC(IgPath *, ig_path_free);
