/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* GradientSHAP as expected gradients: φ = mean over samples of
 * ∇F(x̃) ⊙ (x − x′) with x̃ = x′ + α(x − x′) + ε, α ~ U(0, 1) and
 * ε ~ N(0, stdevs²) per value. The baseline distribution is the one baseline
 * the caller resolved (zeros or given). */

#include <math.h>

#include "attribute.h"
#include "backprop.h"
#include "util.h"

int attr_gradshap(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                  float *ret_phi, da_attr_result *ret, da_error *err) {
        _cleanup_(tape_freep) Tape *t = NULL;
        _cleanup_free_ double *pts = NULL, *grad = NULL, *sum = NULL;
        size_t n = (size_t) T * m->arch.n_features;
        unsigned B = MIN(o->batch, o->n_samples);
        uint64_t state = o->seed;
        double ends[2], total = 0;
        int r;

        pts = calloc(MAX(B, 2u) * n, sizeof(double));
        grad = calloc(B * n, sizeof(double));
        sum = calloc(n, sizeof(double));
        if (!pts || !grad || !sum)
                return da_error_set(err, -ENOMEM, "out of memory for %u samples", o->n_samples);
        r = tape_new(m, T, MAX(B, 2u), &t);
        if (r < 0)
                return da_error_set(err, r, "cannot allocate the tape: %s", strerror(-r));

        for (unsigned k0 = 0; k0 < o->n_samples; k0 += B) {
                unsigned nb = MIN(B, o->n_samples - k0);

                for (unsigned b = 0; b < nb; b++) {
                        double alpha = (double) (da_splitmix64(&state) >> 11) * 0x1p-53;

                        for (size_t i = 0; i < n; i++)
                                pts[b * n + i] = xb[i] + alpha * ((double) x[i] - xb[i]) +
                                        (o->stdevs > 0 ? o->stdevs * attr_normal(&state) : 0);
                }
                r = backprop_output_gradients(t, pts, T, nb, o->output, NULL, grad);
                if (r < 0)
                        return da_error_set(err, r, "backpropagation failed: %s", strerror(-r));
                for (size_t i = 0; i < nb * n; i++)
                        sum[i % n] += grad[i];
        }

        for (size_t i = 0; i < n; i++) {
                pts[i] = x[i];
                pts[n + i] = xb[i];
        }
        r = tape_forward(t, pts, T, 2, NULL);
        if (r < 0)
                return da_error_set(err, r, "forward pass failed: %s", strerror(-r));
        ends[0] = t->out[o->output];
        ends[1] = t->out[t->O + o->output];
        for (size_t i = 0; i < n; i++) {
                double phi = ((double) x[i] - xb[i]) * sum[i] / o->n_samples;

                ret_phi[i] = (float) phi;
                total += phi;
        }
        if (ret)
                /* completeness holds in expectation only; the residual shows how far */
                *ret = (da_attr_result) {
                        .output = ends[0],
                        .baseline_output = ends[1],
                        .delta = total - (ends[0] - ends[1]),
                };
        return 0;
}
