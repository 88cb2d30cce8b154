/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <float.h>
#include <math.h>

#include "util.h"

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* numpy.percentile's default ("linear"): position q·(n − 1) in the sorted
 * values, interpolated between its neighbours. */
static double percentile(const double *sorted, size_t n, double q) {
        double pos = q * (double) (n - 1), frac;
        size_t lo = (size_t) pos;

        if (lo + 1 >= n)
                return sorted[n - 1];
        frac = pos - (double) lo;
        return sorted[lo] + frac * (sorted[lo + 1] - sorted[lo]);
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

                qsort(col, n, sizeof(double), cmp_double);
                median[c] = (float) percentile(col, n, 0.5);
                q = percentile(col, n, 0.75) - percentile(col, n, 0.25);
                /* scikit-learn's _handle_zeros_in_scale: a constant column is
                 * centred but not scaled. */
                iqr[c] = q < 10 * DBL_EPSILON ? 1.0f : (float) q;
        }

        memcpy(ret_median, median, cols * sizeof(float));
        memcpy(ret_iqr, iqr, cols * sizeof(float));
        return 0;
}

void da_scaler_apply(const float *median, const float *iqr, unsigned cols, float *row) {
        for (unsigned c = 0; c < cols; c++)
                row[c] = (row[c] - median[c]) / iqr[c];
}
