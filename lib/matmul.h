/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Batched matrix products in double for the tape and backpropagation: the
 * model's float weights (rows × cols, row-major) against B vectors at a
 * stride, so each weight row is loaded once for all B. */

#include <stddef.h>

/* Y[b,r] += Σ_k W[r,k]·X[b,k] */
void matmul_wx_acc(const float *W, unsigned rows, unsigned cols, const double *X, size_t xs, unsigned B,
                   double *Y, size_t ys);
/* Y[b,k] += Σ_r W[r,k]·D[b,r]: the transposed product backpropagation needs. */
void matmul_wtd_acc(const float *W, unsigned rows, unsigned cols, const double *D, size_t ds, unsigned B,
                    double *Y, size_t ys);
/* G[r,k] += Σ_b D[b,r]·X[b,k]: parameter gradients, G rows × cols. */
void matmul_outer_acc(double *G, unsigned rows, unsigned cols, const double *D, size_t ds, const double *X,
                      size_t xs, unsigned B);
