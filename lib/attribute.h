/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The attribution methods behind da_attribute(), one file each. The caller
 * has checked the arguments and resolved options.baseline_kind into xb. */

#include "model.h"

/* DeepLIFT (rescale, Shapley rule for the gate products): φ[t,f] (T×F) and
 * F(x), F(x′) and the summation-to-delta residual in *ret (may be NULL). */
int attr_deeplift(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                  float *ret_phi, da_attr_result *ret, da_error *err);
