/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The published protocol's data steps (see published.h). The IQR filter
 * looks at the columns the public code filters: the raw gaze directions and
 * origins (the World_Gaze_* features, plain copies of their channels) and
 * the target; all features when none of those are in the set. Differences
 * that remain: the features are derived in recording order, not from the
 * resampled rows; the label smoothing filter (remove_outliers_in_labels) is
 * not applied; resampling draws from the library's own generator, not
 * numpy's. */

#include <math.h>

#include "dataset.h"
#include "published.h"
#include "util.h"

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* pandas' Series.quantile(q), "linear", of sorted values. */
static double quantile_sorted(const double *v, size_t n, double q) {
        double pos = q * (double) (n - 1);
        size_t lo = (size_t) pos;

        if (lo + 1 >= n)
                return v[n - 1];
        return v[lo] + (pos - (double) lo) * (v[lo + 1] - v[lo]);
}

int published_iqr_filter(const float *x, size_t n, unsigned cols, size_t *ret_keep, size_t *ret_n) {
        _cleanup_free_ double *col = NULL, *lo = NULL, *hi = NULL;
        size_t kept = 0;

        if (!x || n == 0 || cols == 0 || !ret_keep || !ret_n)
                return -EINVAL;
        col = malloc(n * sizeof(double));
        lo = malloc(cols * sizeof(double));
        hi = malloc(cols * sizeof(double));
        if (!col || !lo || !hi)
                return -ENOMEM;
        for (unsigned c = 0; c < cols; c++) {
                double q1, q3;

                for (size_t i = 0; i < n; i++)
                        col[i] = x[i * cols + c];
                qsort(col, n, sizeof(double), cmp_double);
                q1 = quantile_sorted(col, n, 0.25);
                q3 = quantile_sorted(col, n, 0.75);
                /* asymmetric, as published: 1.5 below, 1 above */
                lo[c] = q1 - 1.5 * (q3 - q1);
                hi[c] = q3 + 1.0 * (q3 - q1);
        }
        for (size_t i = 0; i < n; i++) {
                bool keep = true;

                for (unsigned c = 0; c < cols && keep; c++) {
                        double v = x[i * cols + c];

                        keep = !(v < lo[c]) && !(v > hi[c]);
                }
                if (keep)
                        ret_keep[kept++] = i;
        }
        *ret_n = kept;
        return 0;
}

/* pandas.cut(x, bins=n): n equal-width bins between the minimum and the
 * maximum, the lowest edge lowered by 0.1 % of the range, each bin
 * (e_i, e_i+1]. */
static unsigned cut_bin(double v, double mn, double mx, unsigned n_bins) {
        double range = mx - mn;

        if (!(range > 0))
                return 0;
        for (unsigned b = 0; b < n_bins - 1; b++) {
                double edge = mn + range * (double) (b + 1) / n_bins;

                if (v <= edge)
                        return b;
        }
        return n_bins - 1;
}

int published_bin_balance(const float *target, size_t n, unsigned n_bins, uint64_t seed, size_t **ret_idx,
                          size_t *ret_n) {
        _cleanup_free_ unsigned *bin = NULL;
        _cleanup_free_ size_t *count = NULL, *start = NULL, *members = NULL, *out = NULL;
        size_t non_empty = 0, want, total = 0, o = 0;
        double mn = INFINITY, mx = -INFINITY, mean;

        if (!target || n == 0 || n_bins == 0 || !ret_idx || !ret_n)
                return -EINVAL;
        bin = malloc(n * sizeof(unsigned));
        count = calloc(n_bins, sizeof(size_t));
        start = calloc(n_bins + 1, sizeof(size_t));
        members = malloc(n * sizeof(size_t));
        if (!bin || !count || !start || !members)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                mn = fmin(mn, target[i]);
                mx = fmax(mx, target[i]);
        }
        for (size_t i = 0; i < n; i++) {
                bin[i] = cut_bin(target[i], mn, mx, n_bins);
                count[bin[i]]++;
        }
        for (unsigned b = 0; b < n_bins; b++) {
                start[b + 1] = start[b] + count[b];
                non_empty += count[b] > 0;
        }
        /* members of each bin, in row order */
        {
                _cleanup_free_ size_t *fill = calloc(n_bins, sizeof(size_t));

                if (!fill)
                        return -ENOMEM;
                for (size_t i = 0; i < n; i++)
                        members[start[bin[i]] + fill[bin[i]]++] = i;
        }
        mean = (double) n / (double) non_empty;
        want = (size_t) mean;
        for (unsigned b = 0; b < n_bins; b++)
                total += count[b] == 0 ? 0 : (double) count[b] == mean ? count[b] : want;
        out = malloc((total ? total : 1) * sizeof(size_t));
        if (!out)
                return -ENOMEM;

        for (unsigned b = 0; b < n_bins; b++) {
                size_t *m = members + start[b], c = count[b];

                if (c == 0)
                        continue;
                if ((double) c == mean) {
                        memcpy(out + o, m, c * sizeof(size_t));
                        o += c;
                } else if ((double) c < mean) {
                        /* sklearn.utils.resample(replace=True) */
                        for (size_t k = 0; k < want; k++)
                                out[o++] = m[da_splitmix64(&seed) % c];
                } else {
                        /* resample(replace=False): the first `want` of a shuffle */
                        for (size_t k = 0; k < want; k++) {
                                size_t j = k + (size_t) (da_splitmix64(&seed) % (c - k)), t = m[k];

                                m[k] = m[j];
                                m[j] = t;
                                out[o++] = m[k];
                        }
                }
        }
        *ret_idx = TAKE_PTR(out);
        *ret_n = o;
        return 0;
}

/* One subject: its window-ending rows and their targets as a table, the
 * chosen steps, windows again over consecutive rows of the result. */
static int apply_subject(da_dataset *ds, ds_subject *s, unsigned steps, uint64_t seed) {
        unsigned F = ds->F, T = ds->T, C = F + 1, n_raw = 0;
        _cleanup_free_ float *table = NULL, *target = NULL, *rows = NULL, *median = NULL, *iqr = NULL, *raw = NULL;
        _cleanup_free_ size_t *keep = NULL, *idx = NULL, *end = NULL;
        _cleanup_free_ unsigned *raw_col = NULL;
        size_t n = s->n_windows, n_keep = n, n_out;
        int r;

        if (n == 0)
                return 0;
        table = malloc(n * C * sizeof(float));
        keep = malloc(n * sizeof(size_t));
        target = malloc(n * sizeof(float));
        if (!table || !keep || !target)
                return -ENOMEM;
        for (size_t w = 0; w < n; w++) {
                memcpy(table + w * C, s->rows + s->end[w] * F, F * sizeof(float));
                table[w * C + F] = s->target[w];
                keep[w] = w;
        }
        if (steps & DA_PUBLISHED_IQR) {
                raw_col = malloc(C * sizeof(unsigned));
                if (!raw_col)
                        return -ENOMEM;
                for (unsigned f = 0; f < F; f++)
                        if (strncmp(ds->names[f], "World_Gaze_", 11) == 0)
                                raw_col[n_raw++] = f;
                if (n_raw == 0)
                        for (unsigned f = 0; f < F; f++)
                                raw_col[n_raw++] = f;
                raw_col[n_raw++] = F;   /* the target */
                raw = malloc(n * n_raw * sizeof(float));
                if (!raw)
                        return -ENOMEM;
                for (size_t w = 0; w < n; w++)
                        for (unsigned c = 0; c < n_raw; c++)
                                raw[w * n_raw + c] = table[w * C + raw_col[c]];
                r = published_iqr_filter(raw, n, n_raw, keep, &n_keep);
                if (r < 0)
                        return r;
        }
        if ((steps & DA_PUBLISHED_BINS) && n_keep > 0) {
                for (size_t i = 0; i < n_keep; i++)
                        target[i] = table[keep[i] * C + F];
                r = published_bin_balance(target, n_keep, PUBLISHED_BINS, seed, &idx, &n_out);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_out; i++)
                        idx[i] = keep[idx[i]];
        } else {
                idx = TAKE_PTR(keep);
                n_out = n_keep;
        }

        rows = malloc((n_out ? n_out : 1) * F * sizeof(float));
        free(target);
        target = malloc((n_out ? n_out : 1) * sizeof(float));
        end = malloc((n_out ? n_out : 1) * sizeof(size_t));
        if (!rows || !target || !end)
                return -ENOMEM;
        for (size_t i = 0; i < n_out; i++)
                memcpy(rows + i * F, table + idx[i] * C, F * sizeof(float));

        if ((steps & DA_PUBLISHED_SUBJECT_SCALER) && n_out > 0) {
                median = malloc(F * sizeof(float));
                iqr = malloc(F * sizeof(float));
                if (!median || !iqr)
                        return -ENOMEM;
                r = da_scaler_fit(rows, n_out, F, median, iqr);
                if (r < 0)
                        return r;
                for (size_t i = 0; i < n_out; i++)
                        da_scaler_apply(median, iqr, F, rows + i * F);
        }

        /* windows of T consecutive rows, each labelled by its last row */
        s->n_windows = n_out >= T ? n_out - T + 1 : 0;
        for (size_t w = 0; w < s->n_windows; w++) {
                end[w] = w + T - 1;
                target[w] = table[idx[w + T - 1] * C + F];
        }
        free(s->rows);
        free(s->end);
        free(s->target);
        s->rows = TAKE_PTR(rows);
        s->n_rows = n_out;
        s->end = TAKE_PTR(end);
        s->target = TAKE_PTR(target);
        return 0;
}

int published_apply(da_dataset *ds, unsigned steps, uint64_t seed, da_error *err) {
        if (!ds)
                return -EINVAL;
        steps &= DA_PUBLISHED_IQR | DA_PUBLISHED_BINS | DA_PUBLISHED_SUBJECT_SCALER;
        if (steps == 0)
                return 0;
        for (unsigned i = 0; i < ds->n_subjects; i++) {
                int r = apply_subject(ds, &ds->subject[i], steps, seed + i);

                if (r < 0)
                        return da_error_set(err, r, "the published preprocessing of subject '%s' failed: %s",
                                            ds->subject[i].name, strerror(-r));
                if (ds->subject[i].n_windows == 0)
                        return da_error_set(err, -ENODATA, "the published preprocessing leaves subject '%s' no "
                                            "window", ds->subject[i].name);
        }
        return 0;
}
