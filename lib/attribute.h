/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The attribution methods behind da_attribute(), one file each. The caller
 * has checked the arguments and resolved options.baseline_kind into xb. */

#include "model.h"

/* DeepLIFT (rescale, Shapley rule for the gate products): φ[t,f] (T×F) and
 * F(x), F(x′) and the summation-to-delta residual in *ret (may be NULL). */
int attr_deeplift(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                  float *ret_phi, da_attr_result *ret, da_error *err);

/* The other methods, same contract. Where a method has no completeness
 * property, ret->delta is NaN. */
int attr_deepactif(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                   float *ret_phi, da_attr_result *ret, da_error *err);
int attr_ig(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
            float *ret_phi, da_attr_result *ret, da_error *err);
int attr_gradshap(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                  float *ret_phi, da_attr_result *ret, da_error *err);
int attr_kernelshap(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                    float *ret_phi, da_attr_result *ret, da_error *err);
int attr_ablation(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                  float *ret_phi, da_attr_result *ret, da_error *err);
int attr_neflag(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                float *ret_phi, da_attr_result *ret, da_error *err);

/* Integrated Gradients' quadrature on [0, 1] as Captum defines it: n nodes
 * α_k and weights w_k. -EINVAL for n == 0, or n == 1 with a Riemann rule;
 * -ENOMEM. */
int ig_quadrature(da_ig_rule rule, unsigned n, double *ret_alpha, double *ret_weight);

/* KernelSHAP's solver on any cooperative game of n players: value(z) is the
 * payoff of the coalition z (n flags). Exact over all 2ⁿ − 2 proper
 * coalitions when that is ≤ samples, else `samples` coalitions drawn from
 * the Shapley kernel (seeded); weighted least squares under the efficiency
 * constraint Σφ = value(all) − value(none). */
typedef double (*kernelshap_value_fn)(const bool *coalition, void *userdata);
int kernelshap_solve(unsigned n, kernelshap_value_fn value, void *userdata, size_t samples, uint64_t seed,
                     double *ret_phi);

/* A standard normal draw (Box–Muller on da_splitmix64). */
double attr_normal(uint64_t *state);
/* Output `output` of the float forward pass for one window. */
int attr_forward(da_ctx *ctx, const da_model *m, unsigned output, const float *x, unsigned T, double *ret);
