/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Float kernels over a batch of windows, for the Integrated Gradients path:
 * the packed weights multiplied with many vectors at once (each weight load
 * serves a whole batch), and the LSTM cell forward and backward. Each is
 * compiled for AVX-512, AVX2+FMA and a portable baseline, picked at first
 * use. Every output is computed by the same operations in the same order
 * whatever the batch size, so a window's result does not depend on the
 * batch it runs in. */

#include "model.h"

/* Y[b][0..W->rows_padded) += W · X[b][0..W->cols) for b < B. Rows of X are
 * xs floats apart; rows of Y ys floats apart, ys a multiple of 16 and Y
 * 64-byte aligned. */
void gemm_panels_acc(const da_packed *W, const float *X, size_t xs, unsigned B, float *Y, size_t ys);

/* Y[b] = Y0[b] + W · X[b], Y0's rows y0s floats apart (a multiple of 16,
 * 64-byte aligned), or Y[b] = W · X[b] when Y0 is NULL: the sum without
 * first copying Y0 to Y. Y0 may be Y. */
void gemm_panels(const da_packed *W, const float *X, size_t xs, unsigned B, const float *Y0, size_t y0s, float *Y,
                 size_t ys);

/* The cell forward for B windows (rows 4Hp / Hp apart, 64-byte aligned):
 * the pre-activations in a (gate-major i, f, g, o) are replaced by the gate
 * activations; c, tanh(c) and h are written. c_prev is NULL at the first
 * step (zero state). */
void lstm_cell_forward_batch(float *a, const float *c_prev, float *c, float *tc, float *h, unsigned Hp, unsigned B);

/* The cell backward for B windows: from the activations a, c_prev (NULL at
 * the first step), tanh(c) and δh (rows dhs floats apart), the gate
 * pre-activation δs to dp (4Hp per window); dc (Hp per window) carries δc
 * from the next step in and to the previous step out. */
void lstm_cell_backward_batch(const float *a, const float *c_prev, const float *tc, const float *dh, size_t dhs,
                              float *dc, float *dp, unsigned Hp, unsigned B);

/* y[b][r] = u[r] + alpha[b]·v[r] for r < n (a multiple of 16), rows of y n
 * floats apart, all 64-byte aligned: the first layer's pre-activations on
 * the path, whose input projection is affine in α. */
void affine_rows(float *y, const float *u, const float *v, const float *alpha, unsigned n, unsigned B);

/* acc[r] += Σ_b w[b]·d[b][r] in double, for r < n (a multiple of 16), rows
 * of d n floats apart, summed in the order b = 0, 1, … */
void weighted_rows_acc(double *acc, const float *d, const double *w, unsigned n, unsigned B);
