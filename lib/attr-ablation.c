/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Feature ablation: feature f replaced by the baseline at every step of the
 * window; the drop F(x) − F(x with f ablated) is spread evenly over the T
 * steps, so Σ_t φ[t,f] is the drop. */

#include <math.h>

#include "attribute.h"
#include "util.h"

int attr_ablation(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                  float *ret_phi, da_attr_result *ret, da_error *err) {
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        _cleanup_free_ float *w = NULL;
        unsigned F = m->arch.n_features;
        size_t n = (size_t) T * F;
        double full, base;
        int r;

        w = calloc(n, sizeof(float));
        if (!w)
                return da_error_set(err, -ENOMEM, "out of memory");
        r = da_ctx_new(m, T, &ctx);
        if (r >= 0)
                r = attr_forward(ctx, m, o->output, x, T, &full);
        if (r >= 0)
                r = attr_forward(ctx, m, o->output, xb, T, &base);
        if (r < 0)
                return da_error_set(err, r, "forward pass failed: %s", strerror(-r));

        memcpy(w, x, n * sizeof(float));
        for (unsigned f = 0; f < F; f++) {
                double v;

                for (unsigned s = 0; s < T; s++)
                        w[(size_t) s * F + f] = xb[(size_t) s * F + f];
                r = attr_forward(ctx, m, o->output, w, T, &v);
                if (r < 0)
                        return da_error_set(err, r, "forward pass failed: %s", strerror(-r));
                for (unsigned s = 0; s < T; s++) {
                        w[(size_t) s * F + f] = x[(size_t) s * F + f];
                        ret_phi[(size_t) s * F + f] = (float) ((full - v) / T);
                }
        }
        if (ret)
                *ret = (da_attr_result) {
                        .output = full,
                        .baseline_output = base,
                        .delta = NAN,
                };
        return 0;
}
