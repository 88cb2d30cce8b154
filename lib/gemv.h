/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The hot kernels of the forward pass, each compiled for AVX-512, AVX2+FMA
 * and a portable baseline, picked at load time (GCC target_clones). */

#include "model.h"

/* y[0..rows_padded) += W · v, v of W->cols floats. y is 64-byte aligned. */
void gemv_panels_acc(const da_packed *W, const float *v, float *y);

/* The LSTM cell on pre-activations g (4·Hp, gate-major i,f,g,o): updates c and
 * h (Hp each) and, when ret_i is non-NULL, stores the input gate there. */
void lstm_cell(const float *g, float *c, float *h, unsigned Hp, float *ret_i);
