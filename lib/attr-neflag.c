/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* NeFLAG (Li et al., IJCAI 2023, arXiv 2301.06989), reconstructed: neither
 * the paper's Algorithm 1 text nor reference code is available, so this
 * follows what is known of it. The gradient field's flux through the
 * ε-sphere around x is sampled at negative-flux points: unit directions u
 * uniform on the sphere in T·F dimensions, x̃ = x + ε·u, g = ∇F(x̃); where
 * g·u < 0, g ⊙ (x − x̃) is accumulated; sampling stops after n accepted
 * points or m tries (m = 10·n by default) and φ is the mean over the
 * accepted points (zero when none was). NeFLAG-1 (n = 1) takes the one
 * steepest-descent point x̃ = x − ε·∇F(x)/‖∇F(x)‖ instead. No path integral,
 * no surrogate; every draw comes from options.seed. */

#include <math.h>

#include "attribute.h"
#include "backprop.h"
#include "util.h"

static int steepest_descent(Tape *t, const da_attr_options *o, const float *x, unsigned T, size_t n, double *pts,
                            double *grad, double *sum, unsigned *ret_accepted) {
        double norm = 0;
        int r;

        for (size_t i = 0; i < n; i++)
                pts[i] = x[i];
        r = backprop_output_gradients(t, pts, T, 1, o->output, NULL, grad);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                norm += grad[i] * grad[i];
        norm = sqrt(norm);
        if (norm == 0) {
                *ret_accepted = 0;
                return 0;
        }
        for (size_t i = 0; i < n; i++)
                pts[i] = x[i] - o->neflag_epsilon * grad[i] / norm;
        r = backprop_output_gradients(t, pts, T, 1, o->output, NULL, grad);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                sum[i] = grad[i] * ((double) x[i] - pts[i]);
        *ret_accepted = 1;
        return 0;
}

int attr_neflag(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                float *ret_phi, da_attr_result *ret, da_error *err) {
        _cleanup_(tape_freep) Tape *t = NULL;
        _cleanup_free_ double *pts = NULL, *dirs = NULL, *grad = NULL, *sum = NULL;
        size_t n = (size_t) T * m->arch.n_features;
        unsigned tries = o->neflag_tries ?: 10 * o->neflag_n, B = MIN(o->batch, tries), accepted = 0;
        uint64_t state = o->seed;
        double ends[2];
        int r;

        pts = calloc(MAX(B, 2u) * n, sizeof(double));
        dirs = calloc(B * n, sizeof(double));
        grad = calloc(B * n, sizeof(double));
        sum = calloc(n, sizeof(double));
        if (!pts || !dirs || !grad || !sum)
                return da_error_set(err, -ENOMEM, "out of memory");
        r = tape_new(m, T, MAX(B, 2u), &t);
        if (r < 0)
                return da_error_set(err, r, "cannot allocate the tape: %s", strerror(-r));

        if (o->neflag_n == 1)
                r = steepest_descent(t, o, x, T, n, pts, grad, sum, &accepted);
        else
                /* Directions are drawn in order and accepted in order, so the
                 * result does not depend on the batch size. */
                for (unsigned k0 = 0; k0 < tries && accepted < o->neflag_n && r >= 0; k0 += B) {
                        unsigned nb = MIN(B, tries - k0);

                        for (unsigned b = 0; b < nb; b++) {
                                double *u = dirs + b * n, norm = 0;

                                for (size_t i = 0; i < n; i++) {
                                        u[i] = attr_normal(&state);
                                        norm += u[i] * u[i];
                                }
                                norm = sqrt(norm);
                                for (size_t i = 0; i < n; i++) {
                                        u[i] /= norm;
                                        pts[b * n + i] = x[i] + o->neflag_epsilon * u[i];
                                }
                        }
                        r = backprop_output_gradients(t, pts, T, nb, o->output, NULL, grad);
                        for (unsigned b = 0; r >= 0 && b < nb && accepted < o->neflag_n; b++) {
                                const double *g = grad + b * n, *u = dirs + b * n;
                                double flux = 0;

                                for (size_t i = 0; i < n; i++)
                                        flux += g[i] * u[i];
                                if (!(flux < 0))
                                        continue;
                                for (size_t i = 0; i < n; i++)
                                        sum[i] += g[i] * ((double) x[i] - pts[b * n + i]);
                                accepted++;
                        }
                }
        if (r < 0)
                return da_error_set(err, r, "backpropagation failed: %s", strerror(-r));

        for (size_t i = 0; i < n; i++) {
                pts[i] = x[i];
                pts[n + i] = xb[i];
        }
        r = tape_forward(t, pts, T, 2, NULL);
        if (r < 0)
                return da_error_set(err, r, "forward pass failed: %s", strerror(-r));
        ends[0] = t->out[o->output];
        ends[1] = t->out[t->O + o->output];
        for (size_t i = 0; i < n; i++)
                ret_phi[i] = accepted > 0 ? (float) (sum[i] / accepted) : 0.0f;
        if (ret)
                *ret = (da_attr_result) {
                        .output = ends[0],
                        .baseline_output = ends[1],
                        .delta = NAN,
                };
        return 0;
}
