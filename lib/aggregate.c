/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DeepACTIF aggregations of per-window trace values into feature scores
 * (DESIGN §4.3). */

#include <math.h>

#include "util.h"

/* The epsilons are part of the published method: INV normalises with 1e-8,
 * PEN with 0.01 in the denominator and as the σ scale of its penalty. */
#define INV_EPSILON 1e-8
#define PEN_EPSILON 0.01

static const char *const aggregation_table[_DA_AGG_MAX] = {
        [DA_AGG_MEAN] = "mean",
        [DA_AGG_MEANSTD] = "meanstd",
        [DA_AGG_INV] = "inv",
        [DA_AGG_PEN] = "pen",
};

const char *da_aggregation_to_string(da_aggregation a) {
        if ((unsigned) a >= _DA_AGG_MAX)
                return NULL;
        return aggregation_table[a];
}

int da_aggregation_from_string(const char *s) {
        if (!s)
                return -EINVAL;
        for (unsigned i = 0; i < _DA_AGG_MAX; i++)
                if (streq(s, aggregation_table[i]))
                        return (int) i;
        return -EINVAL;
}

static void min_max(const double *v, unsigned f, double *ret_min, double *ret_max) {
        double lo = v[0], hi = v[0];

        for (unsigned i = 1; i < f; i++) {
                lo = MIN(lo, v[i]);
                hi = MAX(hi, v[i]);
        }
        *ret_min = lo;
        *ret_max = hi;
}

int da_aggregate_moments(const double *mu, const double *sigma, unsigned f, da_aggregation agg,
                         double *ret_scores) {
        double mu_min, mu_max, sigma_min, sigma_max;

        if (!mu || !sigma || !ret_scores || f == 0 || (unsigned) agg >= _DA_AGG_MAX)
                return -EINVAL;
        for (unsigned i = 0; i < f; i++)
                if (!isfinite(mu[i]) || !isfinite(sigma[i]) || sigma[i] < 0)
                        return -EINVAL;

        min_max(mu, f, &mu_min, &mu_max);
        min_max(sigma, f, &sigma_min, &sigma_max);

        /* Each score reads only its own μ_f and σ_f after the extrema are
         * known, so ret_scores may alias mu or sigma. */
        for (unsigned i = 0; i < f; i++)
                switch (agg) {
                case DA_AGG_MEAN:
                        ret_scores[i] = mu[i];
                        break;
                case DA_AGG_MEANSTD:
                        ret_scores[i] = mu[i] * sigma[i];
                        break;
                case DA_AGG_INV: {
                        double mm_mu = (mu[i] - mu_min) / (mu_max - mu_min + INV_EPSILON);
                        double mm_sigma = (sigma[i] - sigma_min) / (sigma_max - sigma_min + INV_EPSILON);

                        ret_scores[i] = 0.5 * (mm_mu + 1.0 - mm_sigma);
                        break;
                }
                case DA_AGG_PEN: {
                        double mm_mu = (mu[i] - mu_min) / (mu_max - mu_min + PEN_EPSILON);

                        ret_scores[i] = mm_mu * -expm1(-sigma[i] / PEN_EPSILON);
                        break;
                }
                default:
                        __builtin_unreachable();
                }

        return 0;
}

int da_aggregate(const float *a, size_t n, unsigned f, da_aggregation agg, double *ret_scores) {
        _cleanup_free_ double *mu = NULL, *sigma = NULL;

        if (!a || !ret_scores || n == 0 || f == 0 || (unsigned) agg >= _DA_AGG_MAX)
                return -EINVAL;
        if (n > SIZE_MAX / f)
                return -EOVERFLOW;
        for (size_t k = 0; k < n * f; k++)
                if (!isfinite(a[k]))
                        return -EINVAL;

        mu = calloc(f, sizeof(double));
        sigma = calloc(f, sizeof(double));
        if (!mu || !sigma)
                return -ENOMEM;

        /* Two passes (mean, then squared deviations) rather than Σa² − nμ²,
         * which cancels catastrophically when σ ≪ μ. */
        for (size_t k = 0; k < n; k++)
                for (unsigned i = 0; i < f; i++)
                        mu[i] += a[k * f + i];
        for (unsigned i = 0; i < f; i++)
                mu[i] /= (double) n;
        for (size_t k = 0; k < n; k++)
                for (unsigned i = 0; i < f; i++) {
                        double d = a[k * f + i] - mu[i];

                        sigma[i] += d * d;
                }
        for (unsigned i = 0; i < f; i++)
                sigma[i] = sqrt(sigma[i] / (double) n);

        return da_aggregate_moments(mu, sigma, f, agg, ret_scores);
}
