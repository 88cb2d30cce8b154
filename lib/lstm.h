/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* What the stream needs beyond the public forward pass: windows that
 * overlap share their frames' layer-0 input projections b + W_ih·x, so each
 * frame's is computed once, not once per window it falls in. */

#include "deepactif.h"

/* 4·Hp floats (model_hidden_padded), 64-byte aligned. */
void lstm_project_input(const da_ctx *ctx, const float *x_t, float *ret_proj);
/* As da_forward_traced, with proj[t] the projection of row t of x. */
int lstm_forward_projected(da_ctx *ctx, const float *x, const float *const *proj, unsigned T, float *ret_out,
                           float *ret_trace_input, float *ret_trace_gate);
