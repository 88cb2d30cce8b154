/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The online DeepACTIF attributor: μ and σ of each feature's trace values
 * over the last w windows, in O(f) per window.
 *
 * Sliding add/remove updates of a mean and a sum of squared deviations (M2)
 * leave a rounding error behind at every step, and that error outlives the
 * values that caused it: after a phase of large values, a window of small
 * ones can be swamped. So alongside the sliding ("live") moments we build a
 * fresh pair from scratch, Welford-style, from each value as it enters the
 * ring. When the ring wraps, the fresh pair covers exactly the w values in
 * scope and replaces the live one. The live moments are thus never more than
 * w − 1 sliding steps away from an exact-as-Welford re-summation, at a
 * constant cost per push (no O(w·f) pass at the wrap). */

#include <math.h>

#include "util.h"

struct da_rolling {
        unsigned f;
        unsigned w;
        size_t count;           /* windows in scope, ≤ w */
        unsigned pos;           /* ring slot the next window goes to */
        float *ring;            /* w×f, the values to remove later */
        double *mean, *m2;      /* live moments over the count windows in scope */
        double *fresh_mean, *fresh_m2; /* over ring slots 0..pos−1 of this pass */
};

da_rolling *da_rolling_free(da_rolling *r) {
        if (!r)
                return NULL;
        free(r->ring);
        free(r->mean);
        free(r->m2);
        free(r->fresh_mean);
        free(r->fresh_m2);
        free(r);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_rolling *, da_rolling_free);

int da_rolling_new(unsigned f, unsigned w, da_rolling **ret) {
        _cleanup_(da_rolling_freep) da_rolling *r = NULL;

        if (f == 0 || w == 0 || !ret)
                return -EINVAL;
        if ((size_t) w > SIZE_MAX / sizeof(float) / f)
                return -EOVERFLOW;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->f = f;
        r->w = w;
        r->ring = calloc((size_t) w * f, sizeof(float));
        r->mean = calloc(f, sizeof(double));
        r->m2 = calloc(f, sizeof(double));
        r->fresh_mean = calloc(f, sizeof(double));
        r->fresh_m2 = calloc(f, sizeof(double));
        if (!r->ring || !r->mean || !r->m2 || !r->fresh_mean || !r->fresh_m2)
                return -ENOMEM;

        *ret = TAKE_PTR(r);
        return 0;
}

void da_rolling_reset(da_rolling *r) {
        if (!r)
                return;
        r->count = 0;
        r->pos = 0;
        memset(r->mean, 0, r->f * sizeof(double));
        memset(r->m2, 0, r->f * sizeof(double));
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

/* Replaces x_old by x_new among n values:
 * M2' − M2 = Σx'² − Σx² − n(μ'² − μ²) = (x_new − x_old)·(x_new − μ' + x_old − μ). */
static void sliding_replace(double *mean, double *m2, size_t n, double x_old, double x_new) {
        double d = x_new - x_old, mean_new = *mean + d / (double) n;

        *m2 += d * ((x_new - mean_new) + (x_old - *mean));
        /* Rounding can take an (almost) constant feature's M2 below zero. */
        if (*m2 < 0)
                *m2 = 0;
        *mean = mean_new;
}

int da_rolling_push(da_rolling *r, const float *a_n) {
        float *slot;
        bool full;

        if (!r || !a_n)
                return -EINVAL;
        for (unsigned i = 0; i < r->f; i++)
                if (!isfinite(a_n[i]))
                        return -EINVAL;

        slot = r->ring + (size_t) r->pos * r->f;
        full = r->count == r->w;

        for (unsigned i = 0; i < r->f; i++) {
                if (full)
                        sliding_replace(&r->mean[i], &r->m2[i], r->w, slot[i], a_n[i]);
                else
                        welford_add(&r->mean[i], &r->m2[i], r->count + 1, a_n[i]);
                welford_add(&r->fresh_mean[i], &r->fresh_m2[i], r->pos + 1, a_n[i]);
                slot[i] = a_n[i];
        }

        if (!full)
                r->count++;
        if (++r->pos == r->w) {
                /* The fresh moments now cover exactly the w values in scope. */
                r->pos = 0;
                memcpy(r->mean, r->fresh_mean, r->f * sizeof(double));
                memcpy(r->m2, r->fresh_m2, r->f * sizeof(double));
        }
        return 0;
}

int da_rolling_moments(const da_rolling *r, double *ret_mu, double *ret_sigma) {
        if (!r || !ret_mu || !ret_sigma)
                return -EINVAL;
        if (r->count == 0)
                return -ENODATA;

        for (unsigned i = 0; i < r->f; i++) {
                ret_mu[i] = r->mean[i];
                ret_sigma[i] = sqrt(r->m2[i] / (double) r->count);
        }
        return 0;
}

int da_rolling_scores(const da_rolling *r, da_aggregation agg, double *ret_scores) {
        _cleanup_free_ double *moments = NULL;
        int k;

        if (!r || !ret_scores || (unsigned) agg >= _DA_AGG_MAX)
                return -EINVAL;
        if (r->count == 0)
                return -ENODATA;

        moments = malloc(2 * (size_t) r->f * sizeof(double));
        if (!moments)
                return -ENOMEM;
        k = da_rolling_moments(r, moments, moments + r->f);
        if (k < 0)
                return k;
        return da_aggregate_moments(moments, moments + r->f, r->f, agg, ret_scores);
}
