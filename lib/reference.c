/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reference predictors a model's error is read against, fit on training
 * subjects and scored on the windows the model is scored on: the training
 * windows' median target, and a ridge regression (λ = 1, intercept not
 * penalised) on each window's mean of the model's scaled inputs — the same
 * rows, scaled the same way (ds_scaled_rows()), as the model sees. */

#include <math.h>

#include "dataset.h"
#include "util.h"

#define RIDGE_LAMBDA 1.0

struct da_reference {
        unsigned F;
        double median;
        double *w;              /* F weights */
        double b;               /* intercept */
};

da_reference *da_reference_free(da_reference *ref) {
        if (!ref)
                return NULL;
        free(ref->w);
        return mfree(ref);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_reference *, da_reference_free);

static void window_mean(const float *x, unsigned T, unsigned F, double *ret) {
        for (unsigned f = 0; f < F; f++)
                ret[f] = 0;
        for (unsigned t = 0; t < T; t++)
                for (unsigned f = 0; f < F; f++)
                        ret[f] += x[(size_t) t * F + f];
        for (unsigned f = 0; f < F; f++)
                ret[f] /= T;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* Solves A·x = b in place for symmetric positive definite A (n × n). */
static int cholesky_solve(double *A, double *b, unsigned n) {
        for (unsigned j = 0; j < n; j++) {
                double d = A[j * n + j];

                for (unsigned k = 0; k < j; k++)
                        d -= A[j * n + k] * A[j * n + k];
                if (!(d > 0))
                        return -EDOM;
                A[j * n + j] = sqrt(d);
                for (unsigned i = j + 1; i < n; i++) {
                        double v = A[i * n + j];

                        for (unsigned k = 0; k < j; k++)
                                v -= A[i * n + k] * A[j * n + k];
                        A[i * n + j] = v / A[j * n + j];
                }
        }
        for (unsigned i = 0; i < n; i++) {
                for (unsigned k = 0; k < i; k++)
                        b[i] -= A[i * n + k] * b[k];
                b[i] /= A[i * n + i];
        }
        for (unsigned i = n; i-- > 0;) {
                for (unsigned k = i + 1; k < n; k++)
                        b[i] -= A[k * n + i] * b[k];
                b[i] /= A[i * n + i];
        }
        return 0;
}

/* Each usable window of subject s: its mean scaled input and its target. */
typedef int (*window_fn)(const double *x, float target, void *userdata);

static int foreach_window(const da_model *m, const da_dataset *ds, unsigned s, double *x, window_fn fn,
                          void *userdata, da_error *err) {
        const ds_subject *sj = &ds->subject[s];
        unsigned F = da_model_arch(m)->n_features;
        _cleanup_free_ float *rows = NULL;
        size_t first;
        int r;

        r = ds_scaled_rows(m, ds, sj, &rows, &first, err);
        if (r < 0)
                return r;
        for (size_t w = 0; w < sj->n_windows; w++) {
                if (!ds_window_usable(ds, sj, w, first))
                        continue;
                window_mean(rows + (sj->end[w] + 1 - ds->T) * F, ds->T, F, x);
                r = fn(x, sj->target[w], userdata);
                if (r < 0)
                        return r;
        }
        return 0;
}

typedef struct fit_acc {
        unsigned F;
        double *xx, *xy, *sx;   /* F×F, F, F: raw sums */
        double sy;
        double *y;
        size_t n, cap;
} fit_acc;

static int fit_add(const double *x, float target, void *userdata) {
        fit_acc *a = userdata;

        if (a->n == a->cap) {
                size_t cap = a->cap ? 2 * a->cap : 4096;
                double *y = realloc(a->y, cap * sizeof(double));

                if (!y)
                        return -ENOMEM;
                a->y = y;
                a->cap = cap;
        }
        a->y[a->n++] = target;
        a->sy += target;
        for (unsigned i = 0; i < a->F; i++) {
                a->sx[i] += x[i];
                a->xy[i] += x[i] * target;
                for (unsigned j = 0; j <= i; j++)
                        a->xx[i * a->F + j] += x[i] * x[j];
        }
        return 0;
}

int da_reference_fit(const da_model *m, const da_dataset *ds, da_reference **ret, da_error *err) {
        _cleanup_(da_reference_freep) da_reference *ref = NULL;
        _cleanup_free_ double *x = NULL, *xx = NULL, *xy = NULL, *sx = NULL, *y = NULL;
        unsigned F;
        fit_acc a;
        double n;
        int r;

        if (!m || !ds || !ret)
                return da_error_set(err, -EINVAL, "invalid argument");
        if (da_model_arch(m)->window != ds->T)
                return da_error_set(err, -EINVAL, "the model's window is %u frames, the training data's %u",
                                    da_model_arch(m)->window, ds->T);
        F = da_model_arch(m)->n_features;
        x = calloc(F, sizeof(double));
        xx = calloc((size_t) F * F, sizeof(double));
        xy = calloc(F, sizeof(double));
        sx = calloc(F, sizeof(double));
        ref = calloc(1, sizeof(*ref));
        if (!x || !xx || !xy || !sx || !ref)
                return -ENOMEM;
        ref->F = F;
        ref->w = calloc(F, sizeof(double));
        if (!ref->w)
                return -ENOMEM;

        a = (fit_acc) { .F = F, .xx = xx, .xy = xy, .sx = sx };
        for (unsigned s = 0; s < ds->n_subjects; s++) {
                r = foreach_window(m, ds, s, x, fit_add, &a, err);
                if (r < 0) {
                        free(a.y);
                        return r;
                }
        }
        y = a.y;
        if (a.n < 2)
                return da_error_set(err, -ENODATA, "the training recordings hold fewer than 2 windows");
        n = (double) a.n;

        /* centred normal equations: (XcᵀXc + λI) w = Xcᵀyc, b = ȳ − x̄·w */
        for (unsigned i = 0; i < F; i++) {
                for (unsigned j = 0; j <= i; j++) {
                        double v = xx[i * F + j] - sx[i] * sx[j] / n;

                        xx[i * F + j] = xx[j * F + i] = v;
                }
                xx[i * F + i] += RIDGE_LAMBDA;
                ref->w[i] = xy[i] - sx[i] * a.sy / n;
        }
        r = cholesky_solve(xx, ref->w, F);
        if (r < 0)
                return da_error_set(err, r, "the ridge regression's normal equations are singular");
        ref->b = a.sy / n;
        for (unsigned i = 0; i < F; i++)
                ref->b -= sx[i] / n * ref->w[i];

        qsort(y, a.n, sizeof(double), cmp_double);
        ref->median = a.n % 2 ? y[a.n / 2] : (y[a.n / 2 - 1] + y[a.n / 2]) / 2;

        *ret = TAKE_PTR(ref);
        return 0;
}

typedef struct score_acc {
        const da_reference *ref;
        double median, ridge;
        size_t n;
} score_acc;

static int score_add(const double *x, float target, void *userdata) {
        score_acc *a = userdata;
        double p = a->ref->b;

        for (unsigned f = 0; f < a->ref->F; f++)
                p += a->ref->w[f] * x[f];
        a->median += fabs(a->ref->median - target);
        a->ridge += fabs(p - target);
        a->n++;
        return 0;
}

int da_reference_score(const da_reference *ref, const da_model *m, const da_dataset *ds, unsigned s,
                       double *ret_median_mae, double *ret_ridge_mae, size_t *ret_windows, da_error *err) {
        _cleanup_free_ double *x = NULL;
        score_acc a = { .ref = ref };
        int r;

        if (!ref || !m || !ds || s >= ds->n_subjects || da_model_arch(m)->n_features != ref->F)
                return da_error_set(err, -EINVAL, "invalid argument");
        x = calloc(ref->F, sizeof(double));
        if (!x)
                return -ENOMEM;
        r = foreach_window(m, ds, s, x, score_add, &a, err);
        if (r < 0)
                return r;
        *ret_median_mae = a.n ? a.median / (double) a.n : NAN;
        *ret_ridge_mae = a.n ? a.ridge / (double) a.n : NAN;
        *ret_windows = a.n;
        return 0;
}
