/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Backpropagation through time over a tape: exact gradients with respect to
 * the input windows and to every parameter. */

#include "tape.h"

/* Offsets of each parameter tensor in the flat gradient vector, in the
 * order da_gradient() documents (PyTorch's order and layouts). Tensors the
 * model does not have are at offset 0 with size 0. */
typedef struct ParamLayout {
        size_t w_ih[16], w_hh[16], b_ih[16], b_hh[16];
        size_t bn_weight, bn_bias, fc1_weight, fc1_bias, out_weight, out_bias;
        size_t total;
} ParamLayout;

void param_layout(const da_model *m, ParamLayout *ret);

/* Gradients of L = Σ_b Σ_o dout[b·O + o] · out[b,o] for the B windows of the
 * tape's last forward pass. ret_grad_x (B × T × F, window-major) is
 * overwritten; acc_grad_params (da_model_n_parameters() doubles, laid out as
 * param_layout() says) is added to, so minibatches accumulate. Either may be
 * NULL. */
int backprop(Tape *t, const double *dout, double *ret_grad_x, double *acc_grad_params);

/* Forward and input gradients of output o for B windows (x: B × T × F,
 * window-major): B values to ret_out (may be NULL), B × T × F to ret_grad. */
int backprop_output_gradients(Tape *t, const double *x, unsigned T, unsigned B, unsigned o, double *ret_out,
                              double *ret_grad);
