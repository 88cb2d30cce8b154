/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The online DeepACTIF attributor: μ and σ of each feature's trace values
 * over the last w windows.
 *
 * Removing a value from running moments (the textbook sliding update) leaves
 * a rounding residue behind that outlives the value: after one trace value of
 * 1e3, a window of constant 1e-3 values came out with σ ≈ 3e-5 instead of 0.
 * So nothing is ever subtracted here. The ring is filled in passes of w
 * windows; at ring position p the windows in scope are slots p..w−1 of the
 * previous pass and slots 0..p−1 of this one. The latter are Welford-summed as
 * they arrive ("fresh"); for the former, when a pass completes, its suffix
 * moments (slots p..w−1, for every p) are summed once, backwards. A query
 * merges the two with Chan et al.'s formula, whose terms are all additive.
 * This is the two-stacks sliding-window aggregation laid over the ring:
 * O(f) per push and per query, plus one O(w·f) pass per w pushes at the
 * wrap, so amortised O(f), with the accuracy of an offline Welford sum. */

#include <math.h>

#include "util.h"

struct da_rolling {
        unsigned f;
        unsigned w;
        size_t count;           /* windows in scope, ≤ w */
        unsigned pos;           /* ring slot the next window goes to */
        float *ring;            /* w×f, this pass's values in slots 0..pos−1 */
        double *fresh_mean, *fresh_m2; /* f each, over slots 0..pos−1 of this pass */
        double *suffix_mean, *suffix_m2; /* w×f, [p] over slots p..w−1 of the last pass */
};

da_rolling *da_rolling_free(da_rolling *r) {
        if (!r)
                return NULL;
        free(r->ring);
        free(r->fresh_mean);
        free(r->fresh_m2);
        free(r->suffix_mean);
        free(r->suffix_m2);
        free(r);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_rolling *, da_rolling_free);

int da_rolling_new(unsigned f, unsigned w, da_rolling **ret) {
        _cleanup_(da_rolling_freep) da_rolling *r = NULL;

        if (f == 0 || w == 0 || !ret)
                return -EINVAL;
        if ((size_t) w > SIZE_MAX / sizeof(double) / f)
                return -EOVERFLOW;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->f = f;
        r->w = w;
        r->ring = calloc((size_t) w * f, sizeof(float));
        r->fresh_mean = calloc(f, sizeof(double));
        r->fresh_m2 = calloc(f, sizeof(double));
        r->suffix_mean = calloc((size_t) w * f, sizeof(double));
        r->suffix_m2 = calloc((size_t) w * f, sizeof(double));
        if (!r->ring || !r->fresh_mean || !r->fresh_m2 || !r->suffix_mean || !r->suffix_m2)
                return -ENOMEM;

        *ret = TAKE_PTR(r);
        return 0;
}

void da_rolling_reset(da_rolling *r) {
        if (!r)
                return;
        r->count = 0;
        r->pos = 0;
}

size_t da_rolling_count(const da_rolling *r) {
        return r ? r->count : 0;
}

unsigned da_rolling_n_features(const da_rolling *r) {
        return r ? r->f : 0;
}

unsigned da_rolling_window(const da_rolling *r) {
        return r ? r->w : 0;
}

/* Welford's update for the n-th value (n ≥ 1). */
static void welford_add(double *mean, double *m2, size_t n, double x) {
        double d;

        if (n == 1) {
                *mean = x;
                *m2 = 0;
                return;
        }
        d = x - *mean;
        *mean += d / (double) n;
        *m2 += d * (x - *mean);
}

/* A completed pass: suffix moments of slots p..w−1 for every p, summed from
 * the end so that each one extends the next by one value. */
static void complete_pass(da_rolling *r) {
        for (unsigned p = r->w; p-- > 0;) {
                const float *x = r->ring + (size_t) p * r->f;
                double *mean = r->suffix_mean + (size_t) p * r->f, *m2 = r->suffix_m2 + (size_t) p * r->f;

                if (p + 1 < r->w) {
                        memcpy(mean, mean + r->f, r->f * sizeof(double));
                        memcpy(m2, m2 + r->f, r->f * sizeof(double));
                }
                for (unsigned i = 0; i < r->f; i++)
                        welford_add(&mean[i], &m2[i], r->w - p, x[i]);
        }
}

int da_rolling_push(da_rolling *r, const float *a_n) {
        if (!r || !a_n)
                return -EINVAL;
        for (unsigned i = 0; i < r->f; i++)
                if (!isfinite(a_n[i]))
                        return -EINVAL;

        memcpy(r->ring + (size_t) r->pos * r->f, a_n, r->f * sizeof(float));
        for (unsigned i = 0; i < r->f; i++)
                welford_add(&r->fresh_mean[i], &r->fresh_m2[i], r->pos + 1, a_n[i]);

        if (r->count < r->w)
                r->count++;
        if (++r->pos == r->w) {
                complete_pass(r);
                r->pos = 0;
        }
        return 0;
}

int da_rolling_moments(const da_rolling *r, double *ret_mu, double *ret_sigma) {
        const double *old_mean, *old_m2;
        double n_old, n_new, n;

        if (!r || !ret_mu || !ret_sigma)
                return -EINVAL;
        if (r->count == 0)
                return -ENODATA;

        if (r->count < r->w) {
                /* Still in the first pass: all of it is fresh. */
                for (unsigned i = 0; i < r->f; i++) {
                        ret_mu[i] = r->fresh_mean[i];
                        ret_sigma[i] = sqrt(r->fresh_m2[i] / (double) r->count);
                }
                return 0;
        }

        old_mean = r->suffix_mean + (size_t) r->pos * r->f;
        old_m2 = r->suffix_m2 + (size_t) r->pos * r->f;
        if (r->pos == 0) {
                /* Right after a wrap: exactly the pass just completed. */
                for (unsigned i = 0; i < r->f; i++) {
                        ret_mu[i] = old_mean[i];
                        ret_sigma[i] = sqrt(old_m2[i] / (double) r->w);
                }
                return 0;
        }

        /* Chan et al.: μ = μ_a + δ·n_b/n, M2 = M2_a + M2_b + δ²·n_a·n_b/n. */
        n_old = r->w - r->pos;
        n_new = r->pos;
        n = r->w;
        for (unsigned i = 0; i < r->f; i++) {
                double delta = r->fresh_mean[i] - old_mean[i];
                double m2 = old_m2[i] + r->fresh_m2[i] + delta * delta * (n_old * n_new / n);

                ret_mu[i] = old_mean[i] + delta * (n_new / n);
                ret_sigma[i] = sqrt(m2 / n);
        }
        return 0;
}

int da_rolling_scores(const da_rolling *r, da_aggregation agg, double *ret_scores) {
        _cleanup_free_ double *moments = NULL;
        int q;

        if (!r || !ret_scores || (unsigned) agg >= _DA_AGG_MAX)
                return -EINVAL;
        if (r->count == 0)
                return -ENODATA;

        moments = malloc(2 * (size_t) r->f * sizeof(double));
        if (!moments)
                return -ENOMEM;
        q = da_rolling_moments(r, moments, moments + r->f);
        if (q < 0)
                return q;
        return da_aggregate_moments(moments, moments + r->f, r->f, agg, ret_scores);
}
