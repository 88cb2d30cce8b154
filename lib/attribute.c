/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The one entry point of all attribution methods: option defaults,
 * argument checks, baseline resolution and dispatch (their names are in
 * method-names.c). */

#include <math.h>

#include "attribute.h"
#include "util.h"

void da_attr_options_init(da_attr_options *o) {
        *o = (da_attr_options) {
                .output = 0,
                .baseline_kind = DA_BASELINE_ZERO,
                .steps = 50,
                .rule = DA_IG_GAUSS_LEGENDRE,
                .batch = 16,
                .n_samples = 5,
                .stdevs = 0.0,
                .kernel_samples = 0,
                .neflag_epsilon = 0.1,
                .neflag_n = 20,
                .neflag_tries = 0,
                .location = DA_TRACE_GATE,
                .seed = 0,
        };
}

double attr_normal(uint64_t *state) {
        /* u1 in (0, 1] so the logarithm is finite */
        double u1 = ((double) (da_splitmix64(state) >> 11) + 1) * 0x1p-53;
        double u2 = (double) (da_splitmix64(state) >> 11) * 0x1p-53;

        return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

int attr_forward(da_ctx *ctx, const da_model *m, unsigned output, const float *x, unsigned T, double *ret) {
        _cleanup_free_ float *out = NULL;
        int r;

        out = calloc(m->arch.outputs, sizeof(float));
        if (!out)
                return -ENOMEM;
        r = da_forward(ctx, x, T, out);
        if (r < 0)
                return r;
        *ret = out[output];
        return 0;
}

static int check_options(const da_model *m, da_method method, const da_attr_options *o, da_error *err) {
        if (o->output >= m->arch.outputs)
                return da_error_set(err, -EINVAL, "output %u does not exist, the model has %u", o->output,
                                    m->arch.outputs);
        if ((unsigned) o->baseline_kind >= _DA_BASELINE_MAX)
                return da_error_set(err, -EINVAL, "unknown baseline kind %d", (int) o->baseline_kind);
        if (o->baseline_kind == DA_BASELINE_GIVEN && !o->baseline)
                return da_error_set(err, -EINVAL, "a given baseline needs the baseline window");

        switch (method) {
        case DA_METHOD_IG:
                if ((unsigned) o->rule >= _DA_IG_RULE_MAX)
                        return da_error_set(err, -EINVAL, "unknown integration rule %d", (int) o->rule);
                if (o->steps == 0 || (o->rule != DA_IG_GAUSS_LEGENDRE && o->steps < 2))
                        return da_error_set(err, -EINVAL, "%s needs at least %u steps, got %u",
                                            da_ig_rule_to_string(o->rule), o->rule == DA_IG_GAUSS_LEGENDRE ? 1u : 2u,
                                            o->steps);
                if (o->steps > 100000)
                        return da_error_set(err, -EINVAL, "%u integration steps is too many", o->steps);
                if (o->batch == 0)
                        return da_error_set(err, -EINVAL, "the α-step batch size must be at least 1");
                break;
        case DA_METHOD_GRADSHAP:
                if (o->n_samples == 0 || o->n_samples > 1000000)
                        return da_error_set(err, -EINVAL, "GradientSHAP needs 1 to 10⁶ samples, got %u",
                                            o->n_samples);
                if (!(o->stdevs >= 0) || !isfinite(o->stdevs))
                        return da_error_set(err, -EINVAL, "noise standard deviation must be finite and ≥ 0");
                if (o->batch == 0)
                        return da_error_set(err, -EINVAL, "the sample batch size must be at least 1");
                break;
        case DA_METHOD_NEFLAG:
                if (!(o->neflag_epsilon > 0) || !isfinite(o->neflag_epsilon))
                        return da_error_set(err, -EINVAL, "NeFLAG's ε must be finite and > 0");
                if (o->neflag_n == 0 || o->neflag_n > 1000000)
                        return da_error_set(err, -EINVAL, "NeFLAG needs 1 to 10⁶ accepted points, got %u",
                                            o->neflag_n);
                if (o->neflag_tries != 0 && o->neflag_tries < o->neflag_n)
                        return da_error_set(err, -EINVAL, "NeFLAG's %u tries cannot accept %u points",
                                            o->neflag_tries, o->neflag_n);
                if (o->batch == 0)
                        return da_error_set(err, -EINVAL, "the batch size must be at least 1");
                break;
        case DA_METHOD_DEEPACTIF:
                if ((unsigned) o->location >= _DA_TRACE_MAX)
                        return da_error_set(err, -EINVAL, "unknown trace location %d", (int) o->location);
                break;
        default:
                break;
        }
        return 0;
}

int da_attribute(const da_model *m, da_method method, const da_attr_options *opt, const float *x,
                 unsigned T, float *ret_phi, da_attr_result *ret_result, da_error *err) {
        static int (*const methods[_DA_METHOD_MAX])(const da_model *, const da_attr_options *, const float *,
                                                    const float *, unsigned, float *, da_attr_result *,
                                                    da_error *) = {
                [DA_METHOD_DEEPACTIF] = attr_deepactif,
                [DA_METHOD_IG] = attr_ig,
                [DA_METHOD_DEEPLIFT] = attr_deeplift,
                [DA_METHOD_GRADSHAP] = attr_gradshap,
                [DA_METHOD_KERNELSHAP] = attr_kernelshap,
                [DA_METHOD_ABLATION] = attr_ablation,
                [DA_METHOD_NEFLAG] = attr_neflag,
        };
        _cleanup_free_ float *zero = NULL, *phi = NULL;
        da_attr_options defaults;
        da_attr_result result;
        const float *xb;
        size_t n;
        int r;

        if (!m || !x || !ret_phi)
                return da_error_set(err, -EINVAL, "model, input and result are required");
        if ((unsigned) method >= _DA_METHOD_MAX)
                return da_error_set(err, -EINVAL, "unknown attribution method %d", (int) method);
        if (T == 0 || T > 100000)
                return da_error_set(err, -EINVAL, "a window of %u steps is not valid", T);
        if (!opt) {
                da_attr_options_init(&defaults);
                opt = &defaults;
        }
        r = check_options(m, method, opt, err);
        if (r < 0)
                return r;

        n = (size_t) T * m->arch.n_features;
        for (size_t i = 0; i < n; i++)
                if (!isfinite(x[i]))
                        return da_error_set(err, -EINVAL, "input value at step %zu, feature %zu is not finite",
                                            i / m->arch.n_features, i % m->arch.n_features);
        if (opt->baseline_kind == DA_BASELINE_GIVEN) {
                if (opt->baseline_len != 0 && opt->baseline_len != n)
                        return da_error_set(err, -EINVAL,
                                            "the baseline has %zu values, a window of %u×%u needs %zu",
                                            opt->baseline_len, T, m->arch.n_features, n);
                for (size_t i = 0; i < n; i++)
                        if (!isfinite(opt->baseline[i]))
                                return da_error_set(err, -EINVAL,
                                                    "baseline value at step %zu, feature %zu is not finite",
                                                    i / m->arch.n_features, i % m->arch.n_features);
                xb = opt->baseline;
        } else {
                zero = calloc(n, sizeof(float));
                if (!zero)
                        return da_error_set(err, -ENOMEM, "out of memory");
                xb = zero;
        }

        /* the result stays untouched on failure */
        phi = calloc(n, sizeof(float));
        if (!phi)
                return da_error_set(err, -ENOMEM, "out of memory");
        r = methods[method](m, opt, x, xb, T, phi, &result, err);
        if (r < 0)
                return r;
        memcpy(ret_phi, phi, n * sizeof(float));
        if (ret_result)
                *ret_result = result;
        return 0;
}
