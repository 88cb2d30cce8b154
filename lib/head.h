/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include "model.h"

float head_activate(da_activation a, float x);
/* The same in double, and its derivative from the input z and the output
 * y: the training and attribution passes' head. */
double head_activate_exact(da_activation a, double x);
double head_activation_derivative(da_activation a, double z, double y);
/* Batchnorm then pooling over T rows of seq (row stride in floats). */
void head_pool(const da_model *m, const float *seq, unsigned T, unsigned stride, float *ret_pooled);
/* Batchnorm alone on one hidden vector. */
void head_bn(const da_model *m, const float *h, float *ret);
/* Dense layers on a pooled H-vector; scratch holds arch.dense floats. */
void head_dense(const da_model *m, const float *pooled, float *scratch, float *ret_out);
/* The same in double for the training and attribution passes, keeping
 * fc1's input z1 and output a1 (arch.dense each, unused without a dense
 * layer) for the backward pass. */
void head_dense_exact(const da_model *m, const double *pooled, double *z1, double *a1, double *ret_out);
