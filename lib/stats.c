/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The statistics of the evaluation protocol: mean and SD over folds, and the
 * paired Wilcoxon signed-rank test as scipy.stats.wilcoxon computes it
 * (two-sided, zero_method "wilcox", correction=False). */

#include <math.h>

#include "util.h"

/* scipy's "auto" goes exact up to 50 pairs; we also require no zeros and no
 * tied |differences|, where the exact distribution of R+ does not apply. */
#define WILCOXON_EXACT_MAX 50u

int da_mean_sd(const double *v, size_t n, double *ret_mean, double *ret_sd) {
        double sum = 0, mean, ss = 0;

        if (!v || n == 0)
                return -EINVAL;
        for (size_t i = 0; i < n; i++) {
                if (!isfinite(v[i]))
                        return -EINVAL;
                sum += v[i];
        }
        mean = sum / (double) n;
        /* Two passes: the squares of deviations, not of values, so figures
         * that differ only in late digits keep their spread. */
        for (size_t i = 0; i < n; i++)
                ss += (v[i] - mean) * (v[i] - mean);

        if (ret_mean)
                *ret_mean = mean;
        if (ret_sd)
                *ret_sd = n > 1 ? sqrt(ss / (double) (n - 1)) : NAN;
        return 0;
}

typedef struct signed_abs {
        double a;
        int sign;
} signed_abs;

static int signed_abs_cmp(const void *pa, const void *pb) {
        const signed_abs *a = pa, *b = pb;

        return (a->a > b->a) - (a->a < b->a);
}

/* P(R+ ≤ r) and P(R+ ≥ r) under H0 for n untied ranks 1..n: the number of
 * subsets of {1..n} summing to s, over 2^n. */
static int wilcoxon_exact_tails(unsigned n, unsigned r, double *ret_le, double *ret_ge) {
        unsigned max = n * (n + 1) / 2;
        _cleanup_free_ double *cnt = calloc(max + 1, sizeof(double));
        double le = 0, ge = 0, total = ldexp(1.0, (int) n);

        if (!cnt)
                return -ENOMEM;
        cnt[0] = 1;
        for (unsigned k = 1; k <= n; k++)
                for (unsigned s = k * (k + 1) / 2; s >= k; s--)
                        cnt[s] += cnt[s - k];
        for (unsigned s = 0; s <= max; s++) {
                if (s <= r)
                        le += cnt[s];
                if (s >= r)
                        ge += cnt[s];
        }
        *ret_le = le / total;
        *ret_ge = ge / total;
        return 0;
}

int da_wilcoxon(const double *x, const double *y, size_t n, da_wilcoxon_result *ret) {
        _cleanup_free_ signed_abs *d = NULL;
        double r_plus = 0, r_minus = 0, mean, var, z, p;
        size_t m = 0;
        bool ties = false;

        if (!x || !y || !ret || n == 0)
                return -EINVAL;
        d = calloc(n, sizeof(*d));
        if (!d)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                double v = x[i] - y[i];

                if (!isfinite(v))
                        return -EINVAL;
                if (v == 0)
                        continue;
                d[m++] = (signed_abs) { .a = fabs(v), .sign = v > 0 ? 1 : -1 };
        }
        if (m == 0)
                return -EDOM;

        qsort(d, m, sizeof(*d), signed_abs_cmp);

        /* Average ranks of |d| (1-based), and Σ(t³ − t) over tie groups for
         * the variance correction. */
        var = (double) m * (double) (m + 1) * (double) (2 * m + 1);
        for (size_t i = 0; i < m;) {
                size_t j = i + 1;
                double rank;

                while (j < m && d[j].a == d[i].a)
                        j++;
                rank = (double) (i + 1 + j) / 2;
                for (size_t k = i; k < j; k++)
                        *(d[k].sign > 0 ? &r_plus : &r_minus) += rank;
                if (j - i > 1) {
                        double t = (double) (j - i);

                        ties = true;
                        var -= 0.5 * t * (t * t - 1);
                }
                i = j;
        }
        mean = (double) m * (double) (m + 1) / 4;
        var /= 24;
        z = var > 0 ? (r_plus - mean) / sqrt(var) : 0;

        if (m == n && !ties && n <= WILCOXON_EXACT_MAX) {
                unsigned rp = (unsigned) lround(r_plus);
                double le, ge;
                int r;

                if (2 * rp == m * (m + 1) / 2)
                        p = 1;
                else {
                        r = wilcoxon_exact_tails((unsigned) m, rp, &le, &ge);
                        if (r < 0)
                                return r;
                        p = fmin(1, 2 * fmin(le, ge));
                }
                ret->exact = true;
        } else {
                p = erfc(fabs(z) / M_SQRT2);
                ret->exact = false;
        }

        ret->n = m;
        ret->statistic = fmin(r_plus, r_minus);
        ret->r_plus = r_plus;
        ret->z = z;
        ret->p = p;
        ret->effect_r = z / sqrt((double) n);
        return 0;
}
