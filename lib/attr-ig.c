/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Integrated Gradients with Captum's conventions: φ = (x − x′) ⊙ Σ_k w_k
 * ∇F(x′ + α_k(x − x′)), the gradient integral taken in batches of α-steps
 * by ig-path.c. */

#include <float.h>
#include <math.h>

#include "attribute.h"
#include "ig-path.h"
#include "util.h"

/* P_n and P_{n−1} at the m points z, by the three-term recurrence; the
 * points inner, so their independent chains overlap. */
static void legendre(unsigned n, unsigned m, const double *z, double *ret_pn, double *ret_pn1) {
        for (unsigned i = 0; i < m; i++) {
                ret_pn1[i] = 1;
                ret_pn[i] = z[i];
        }
        for (unsigned k = 2; k <= n; k++) {
                double inv = 1.0 / k;

                for (unsigned i = 0; i < m; i++) {
                        double p2 = ((2.0 * k - 1) * z[i] * ret_pn[i] - (k - 1.0) * ret_pn1[i]) * inv;

                        ret_pn1[i] = ret_pn[i];
                        ret_pn[i] = p2;
                }
        }
}

/* Gauss–Legendre nodes on [−1, 1] by Newton's iteration on P_n, ascending as
 * numpy.polynomial.legendre.leggauss returns them, mapped to [0, 1]. */
static int gauss_legendre(unsigned n, double *alpha, double *weight) {
        unsigned m = (n + 1) / 2;
        _cleanup_free_ double *z = NULL, *pn = NULL, *pn1 = NULL;
        _cleanup_free_ bool *done = NULL;

        z = calloc(m, sizeof(double));
        pn = malloc(m * sizeof(double));
        pn1 = malloc(m * sizeof(double));
        done = calloc(m, sizeof(bool));
        if (!z || !pn || !pn1 || !done)
                return -ENOMEM;
        for (unsigned i = 0; i < m; i++)
                z[i] = cos(M_PI * (i + 0.75) / (n + 0.5));

        for (unsigned it = 0, left = m; it < 100 && left > 0; it++) {
                legendre(n, m, z, pn, pn1);
                for (unsigned i = 0; i < m; i++) {
                        double dp, z_old = z[i];

                        if (done[i])
                                continue;
                        dp = n == 1 ? 1 : n * (z[i] * pn[i] - pn1[i]) / (z[i] * z[i] - 1);
                        z[i] -= pn[i] / dp;
                        /* Newton converges quadratically, then dithers by an ulp or two */
                        if (fabs(z[i] - z_old) <= 4 * DBL_EPSILON) {
                                done[i] = true;
                                left--;
                        }
                }
        }

        legendre(n, m, z, pn, pn1);
        for (unsigned i = 0; i < m; i++) {
                double dp = n == 1 ? 1 : n * (z[i] * pn[i] - pn1[i]) / (z[i] * z[i] - 1);

                /* z is the i-th largest root; its mirror −z the i-th smallest */
                weight[n - 1 - i] = weight[i] = 0.5 * 2 / ((1 - z[i] * z[i]) * dp * dp);
                alpha[n - 1 - i] = 0.5 * (1 + z[i]);
                alpha[i] = 0.5 * (1 - z[i]);
        }
        return 0;
}

int ig_quadrature(da_ig_rule rule, unsigned n, double *ret_alpha, double *ret_weight) {
        if (n == 0 || (unsigned) rule >= _DA_IG_RULE_MAX || (rule != DA_IG_GAUSS_LEGENDRE && n < 2))
                return -EINVAL;

        switch (rule) {
        case DA_IG_GAUSS_LEGENDRE:
                return gauss_legendre(n, ret_alpha, ret_weight);
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
        if (r == -ENOMEM)
                return da_error_set(err, r, "out of memory for %u integration steps", o->steps);
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
