/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Integrated Gradients with Captum's conventions: φ = (x − x′) ⊙ Σ_k w_k
 * ∇F(x′ + α_k(x − x′)), the gradient integral taken in batches of α-steps
 * by ig-path.c. */

#include <float.h>
#include <math.h>

#include "attribute.h"
#include "ig-path.h"
#include "util.h"

/* Gauss–Legendre nodes on [−1, 1] by Newton's iteration on P_n, ascending as
 * numpy.polynomial.legendre.leggauss returns them, mapped to [0, 1]. */
static void gauss_legendre(unsigned n, double *alpha, double *weight) {
        for (unsigned i = 0; i < (n + 1) / 2; i++) {
                double z = cos(M_PI * (i + 0.75) / (n + 0.5)), dp = 1;

                for (unsigned it = 0; it < 100; it++) {
                        double p0 = 1, p1 = z, z_old = z;

                        for (unsigned k = 2; k <= n; k++) {
                                double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;

                                p0 = p1;
                                p1 = p2;
                        }
                        if (n == 1)
                                p0 = 1;
                        /* P_n = p1, P_{n−1} = p0 */
                        dp = n * (z * p1 - p0) / (z * z - 1);
                        z = z_old - p1 / dp;
                        /* Newton converges quadratically; near ±1 it then
                         * dithers by an ulp or two, which 1e-16 never
                         * accepted: 100 iterations for every root. */
                        if (fabs(z - z_old) <= 4 * DBL_EPSILON)
                                break;
                }
                {
                        double p0 = 1, p1 = z;

                        for (unsigned k = 2; k <= n; k++) {
                                double p2 = ((2.0 * k - 1) * z * p1 - (k - 1.0) * p0) / k;

                                p0 = p1;
                                p1 = p2;
                        }
                        dp = n == 1 ? 1 : n * (z * p1 - p0) / (z * z - 1);
                }
                /* z is the i-th largest root; its mirror −z the i-th smallest */
                weight[n - 1 - i] = weight[i] = 0.5 * 2 / ((1 - z * z) * dp * dp);
                alpha[n - 1 - i] = 0.5 * (1 + z);
                alpha[i] = 0.5 * (1 - z);
        }
}

int ig_quadrature(da_ig_rule rule, unsigned n, double *ret_alpha, double *ret_weight) {
        if (n == 0 || (unsigned) rule >= _DA_IG_RULE_MAX || (rule != DA_IG_GAUSS_LEGENDRE && n < 2))
                return -EINVAL;

        switch (rule) {
        case DA_IG_GAUSS_LEGENDRE:
                gauss_legendre(n, ret_alpha, ret_weight);
                return 0;
        case DA_IG_RIEMANN_LEFT:
                for (unsigned k = 0; k < n; k++)
                        ret_alpha[k] = (1 - 1.0 / n) * k / (n - 1);
                break;
        case DA_IG_RIEMANN_RIGHT:
                for (unsigned k = 0; k < n; k++)
                        ret_alpha[k] = 1.0 / n + (1 - 1.0 / n) * k / (n - 1);
                break;
        case DA_IG_RIEMANN_MIDDLE:
                for (unsigned k = 0; k < n; k++)
                        ret_alpha[k] = 1.0 / (2 * n) + (1 - 1.0 / n) * k / (n - 1);
                break;
        default:
                for (unsigned k = 0; k < n; k++)
                        ret_alpha[k] = (double) k / (n - 1);
        }
        for (unsigned k = 0; k < n; k++)
                ret_weight[k] = 1.0 / n;
        if (rule == DA_IG_RIEMANN_TRAPEZOID) {
                ret_weight[0] /= 2;
                ret_weight[n - 1] /= 2;
        }
        return 0;
}

int attr_ig(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
            float *ret_phi, da_attr_result *ret, da_error *err) {
        _cleanup_(ig_path_freep) IgPath *path = NULL;
        _cleanup_free_ double *alpha = NULL, *weight = NULL, *sum = NULL;
        size_t n = (size_t) T * m->arch.n_features;
        double ends[2], total = 0;
        int r;

        alpha = calloc(o->steps, sizeof(double));
        weight = calloc(o->steps, sizeof(double));
        sum = calloc(n, sizeof(double));
        if (!alpha || !weight || !sum)
                return da_error_set(err, -ENOMEM, "out of memory for %u integration steps", o->steps);
        r = ig_quadrature(o->rule, o->steps, alpha, weight);
        if (r < 0)
                return da_error_set(err, r, "%s needs at least %u steps", da_ig_rule_to_string(o->rule),
                                    o->rule == DA_IG_GAUSS_LEGENDRE ? 1u : 2u);
        r = ig_path_new(m, T, MIN(o->batch, o->steps), &path);
        if (r < 0)
                return da_error_set(err, r, "cannot allocate the integration path: %s", strerror(-r));
        r = ig_path_integrate(path, x, xb, T, o->output, alpha, weight, o->steps, sum, ends);
        if (r < 0)
                return da_error_set(err, r, "integrating the gradients failed: %s", strerror(-r));

        for (size_t i = 0; i < n; i++) {
                double phi = ((double) x[i] - xb[i]) * sum[i];

                ret_phi[i] = (float) phi;
                total += phi;
        }
        if (ret)
                *ret = (da_attr_result) {
                        .output = ends[0],
                        .baseline_output = ends[1],
                        .delta = total - (ends[0] - ends[1]),
                };
        return 0;
}
