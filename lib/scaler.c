/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <float.h>
#include <math.h>

#include "util.h"

static void swap(double *a, double *b) {
        double t = *a;

        *a = *b;
        *b = t;
}

/* Rearranges a so that a[k] holds the k-th smallest value, everything
 * before it is ≤ and everything after it ≥ (quickselect with a three-way
 * partition, so the many ties of real data cost nothing). A full sort per
 * column made fitting a Robust Vision training set take a second. */
static double select_kth(double *a, size_t n, size_t k) {
        while (n > 16) {
                double x = a[0], y = a[n / 2], z = a[n - 1];
                double p = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
                size_t lt = 0, i = 0, gt = n;

                while (i < gt) {
                        if (a[i] < p)
                                swap(&a[lt++], &a[i++]);
                        else if (a[i] > p)
                                swap(&a[i], &a[--gt]);
                        else
                                i++;
                }
                if (k < lt)
                        n = lt;
                else if (k < gt)
                        return p;
                else {
                        a += gt;
                        k -= gt;
                        n -= gt;
                }
        }
        for (size_t i = 1; i < n; i++)
                for (size_t j = i; j > 0 && a[j - 1] > a[j]; j--)
                        swap(&a[j - 1], &a[j]);
        return a[k];
}

/* numpy.percentile's default ("linear"): position q·(n − 1) in the sorted
 * values, interpolated between its neighbours. */
static double percentile(double *v, size_t n, double q) {
        double pos = q * (double) (n - 1), frac, lo_v, hi_v;
        size_t lo = (size_t) pos;

        lo_v = select_kth(v, n, lo);
        frac = pos - (double) lo;
        if (frac == 0 || lo + 1 >= n)
                return lo_v;
        /* after the selection the next order statistic is the minimum above lo */
        hi_v = v[lo + 1];
        for (size_t i = lo + 2; i < n; i++)
                hi_v = fmin(hi_v, v[i]);
        return lo_v + frac * (hi_v - lo_v);
}

int da_scaler_fit(const float *x, size_t rows, unsigned cols, float *ret_median, float *ret_iqr) {
        _cleanup_free_ double *col = NULL;
        _cleanup_free_ float *median = NULL, *iqr = NULL;

        if (!x || rows == 0 || cols == 0 || !ret_median || !ret_iqr)
                return -EINVAL;

        col = malloc(rows * sizeof(double));
        median = malloc(cols * sizeof(float));
        iqr = malloc(cols * sizeof(float));
        if (!col || !median || !iqr)
                return -ENOMEM;

        for (unsigned c = 0; c < cols; c++) {
                size_t n = 0;
                double q;

                for (size_t i = 0; i < rows; i++) {
                        float v = x[i * cols + c];

                        if (isfinite(v))
                                col[n++] = v;
                }
                if (n == 0)
                        return -ENODATA;

                median[c] = (float) percentile(col, n, 0.5);
                q = percentile(col, n, 0.75) - percentile(col, n, 0.25);
                /* scikit-learn's _handle_zeros_in_scale: a constant column is
                 * centred but not scaled. We extend "constant" to a spread
                 * below 1e-4 of the column's level: float32 rounding noise,
                 * as in the norm of a unit gaze vector, which dividing by
                 * its IQR would blow up to values of 10⁵ and swamp the model. */
                iqr[c] = da_scaler_spread(q, median[c]);
        }

        memcpy(ret_median, median, cols * sizeof(float));
        memcpy(ret_iqr, iqr, cols * sizeof(float));
        return 0;
}

float da_scaler_spread(double iqr, double median) {
        return iqr < 10 * DBL_EPSILON || iqr < 1e-4 * fabs(median) ? 1.0f : (float) iqr;
}

void da_scaler_apply(const float *median, const float *iqr, unsigned cols, float *row) {
        for (unsigned c = 0; c < cols; c++)
                row[c] = (row[c] - median[c]) / iqr[c];
}
