/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* KernelSHAP (Lundberg & Lee 2017): the F features, each grouped across the
 * whole window, are the players; a coalition keeps its features from x and
 * takes the rest from the baseline. The Shapley values are the weighted
 * least-squares fit under the Shapley kernel with the efficiency constraint
 * Σφ = v(all) − v(none), the last player eliminated as the shap package does. */

#include <math.h>

#include "attribute.h"
#include "util.h"

static double kernel_weight(unsigned n, unsigned s) {
        double binom = 1;

        for (unsigned k = 1; k <= s; k++)
                binom = binom * (n - s + k) / k;
        return (n - 1.0) / (binom * s * (n - s));
}

typedef struct Normal {
        unsigned n;             /* unknowns: players − 1 */
        double *a, *b;          /* n × n and n */
        double none, total;
} Normal;

/* Adds one coalition with weight w to the normal equations of the reduced
 * problem: unknowns φ_0..φ_{n−2}, φ_{n−1} = total − Σ the others. */
static void normal_add(Normal *N, const bool *z, double v, double w) {
        unsigned n = N->n;
        double last = z[n], y = v - N->none - last * N->total;

        for (unsigned i = 0; i < n; i++) {
                double xi = z[i] - last;

                if (xi == 0)
                        continue;
                N->b[i] += w * xi * y;
                for (unsigned j = 0; j < n; j++)
                        N->a[(size_t) i * n + j] += w * xi * (z[j] - last);
        }
}

/* Cholesky on the symmetric positive definite a; -EDOM if the coalitions
 * seen leave it singular. */
static int solve_spd(double *a, double *b, unsigned n) {
        for (unsigned j = 0; j < n; j++) {
                double d = a[(size_t) j * n + j];

                for (unsigned k = 0; k < j; k++)
                        d -= a[(size_t) j * n + k] * a[(size_t) j * n + k];
                if (!(d > 1e-14))
                        return -EDOM;
                d = sqrt(d);
                a[(size_t) j * n + j] = d;
                for (unsigned i = j + 1; i < n; i++) {
                        double s = a[(size_t) i * n + j];

                        for (unsigned k = 0; k < j; k++)
                                s -= a[(size_t) i * n + k] * a[(size_t) j * n + k];
                        a[(size_t) i * n + j] = s / d;
                }
        }
        for (unsigned i = 0; i < n; i++) {
                for (unsigned k = 0; k < i; k++)
                        b[i] -= a[(size_t) i * n + k] * b[k];
                b[i] /= a[(size_t) i * n + i];
        }
        for (unsigned i = n; i-- > 0;) {
                for (unsigned k = i + 1; k < n; k++)
                        b[i] -= a[(size_t) k * n + i] * b[k];
                b[i] /= a[(size_t) i * n + i];
        }
        return 0;
}

int kernelshap_solve(unsigned n, kernelshap_value_fn value, void *userdata, size_t samples, uint64_t seed,
                     double *ret_phi) {
        _cleanup_free_ bool *z = NULL;
        _cleanup_free_ double *a = NULL, *b = NULL, *size_cdf = NULL;
        _cleanup_free_ unsigned *perm = NULL;
        Normal N = {};
        double all, sum = 0;
        uint64_t state = seed;
        int r;

        if (n == 0 || !value || !ret_phi)
                return -EINVAL;
        z = calloc(n, sizeof(bool));
        if (!z)
                return -ENOMEM;
        N.none = value(z, userdata);
        memset(z, 1, n * sizeof(bool));
        all = value(z, userdata);
        N.total = all - N.none;
        if (n == 1) {
                ret_phi[0] = N.total;
                return 0;
        }

        N.n = n - 1;
        a = calloc((size_t) N.n * N.n, sizeof(double));
        b = calloc(N.n, sizeof(double));
        if (!a || !b)
                return -ENOMEM;
        N.a = a;
        N.b = b;

        if (n < 63 && (UINT64_C(1) << n) - 2 <= samples)
                for (uint64_t mask = 1; mask < (UINT64_C(1) << n) - 1; mask++) {
                        unsigned s = 0;

                        for (unsigned i = 0; i < n; i++) {
                                z[i] = (mask >> i) & 1;
                                s += z[i];
                        }
                        normal_add(&N, z, value(z, userdata), kernel_weight(n, s));
                }
        else {
                /* Sizes drawn with the kernel's total mass per size, members
                 * uniformly, each coalition paired with its complement; equal
                 * weights then estimate the kernel-weighted objective. */
                size_cdf = calloc(n, sizeof(double));
                perm = calloc(n, sizeof(unsigned));
                if (!size_cdf || !perm)
                        return -ENOMEM;
                for (unsigned s = 1; s < n; s++)
                        size_cdf[s] = size_cdf[s - 1] + 1.0 / ((double) s * (n - s));
                for (size_t k = 0; k < samples; k += 2) {
                        double u = (double) (da_splitmix64(&state) >> 11) * 0x1p-53 * size_cdf[n - 1];
                        unsigned s = 1;

                        while (s < n - 1 && size_cdf[s] <= u)
                                s++;
                        for (unsigned i = 0; i < n; i++)
                                perm[i] = i;
                        memset(z, 0, n * sizeof(bool));
                        for (unsigned i = 0; i < s; i++) {
                                unsigned j = i + (unsigned) (da_splitmix64(&state) % (n - i)), tmp = perm[i];

                                perm[i] = perm[j];
                                perm[j] = tmp;
                                z[perm[i]] = true;
                        }
                        normal_add(&N, z, value(z, userdata), 1);
                        for (unsigned i = 0; i < n; i++)
                                z[i] = !z[i];
                        normal_add(&N, z, value(z, userdata), 1);
                }
        }

        r = solve_spd(a, b, N.n);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < N.n; i++) {
                ret_phi[i] = b[i];
                sum += b[i];
        }
        ret_phi[n - 1] = N.total - sum;
        return 0;
}

typedef struct Game {
        const da_model *m;
        da_ctx *ctx;
        const float *x, *xb;
        float *w;
        unsigned T, output;
        int error;
} Game;

static double game_value(const bool *z, void *userdata) {
        Game *g = userdata;
        unsigned F = g->m->arch.n_features;
        double v;
        int r;

        for (unsigned s = 0; s < g->T; s++)
                for (unsigned f = 0; f < F; f++) {
                        size_t i = (size_t) s * F + f;

                        g->w[i] = z[f] ? g->x[i] : g->xb[i];
                }
        r = attr_forward(g->ctx, g->m, g->output, g->w, g->T, &v);
        if (r < 0) {
                g->error = r;
                return NAN;
        }
        return v;
}

int attr_kernelshap(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                    float *ret_phi, da_attr_result *ret, da_error *err) {
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        _cleanup_free_ float *w = NULL;
        _cleanup_free_ double *phi = NULL;
        unsigned F = m->arch.n_features;
        size_t samples = o->kernel_samples ?: 2 * (size_t) F + 2048;
        double full, base, total = 0;
        Game g;
        int r;

        w = calloc((size_t) T * F, sizeof(float));
        phi = calloc(F, sizeof(double));
        if (!w || !phi)
                return da_error_set(err, -ENOMEM, "out of memory");
        r = da_ctx_new(m, T, &ctx);
        if (r >= 0)
                r = attr_forward(ctx, m, o->output, x, T, &full);
        if (r >= 0)
                r = attr_forward(ctx, m, o->output, xb, T, &base);
        if (r < 0)
                return da_error_set(err, r, "forward pass failed: %s", strerror(-r));

        g = (Game) { .m = m, .ctx = ctx, .x = x, .xb = xb, .w = w, .T = T, .output = o->output };
        if (F < 63 && samples > (UINT64_C(1) << F) - 2)
                samples = (UINT64_C(1) << F) - 2;
        r = kernelshap_solve(F, game_value, &g, samples, o->seed, phi);
        if (g.error < 0)
                return da_error_set(err, g.error, "forward pass failed: %s", strerror(-g.error));
        if (r == -EDOM)
                return da_error_set(err, r, "%zu coalitions do not determine %u Shapley values; use more samples",
                                    samples, F);
        if (r < 0)
                return da_error_set(err, r, "KernelSHAP failed: %s", strerror(-r));

        for (unsigned s = 0; s < T; s++)
                for (unsigned f = 0; f < F; f++) {
                        ret_phi[(size_t) s * F + f] = (float) (phi[f] / T);
                        total += phi[f] / T;
                }
        if (ret)
                *ret = (da_attr_result) {
                        .output = full,
                        .baseline_output = base,
                        .delta = total - (full - base),
                };
        return 0;
}
