/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "matmul.h"

/* The vector helpers are always inlined into each clone, so the ABI note
 * GCC gives for 64-byte vector arguments does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef double v8d __attribute__((vector_size(64)));
typedef float v8f __attribute__((vector_size(32)));

#define KERNEL __attribute__((target_clones("avx512f", "avx2,fma", "default")))
#define INLINE static inline __attribute__((always_inline))

INLINE v8d load_d(const double *p) {
        v8d v;

        memcpy(&v, p, sizeof(v));
        return v;
}

/* A macro, as hsum(): no 64-byte vector crosses a call. */
#define store_d(p, v)                                   \
        do {                                            \
                v8d v_ = (v);                           \
                memcpy((p), &v_, sizeof(v_));           \
        } while (0)

INLINE v8d load_f(const float *p) {
        v8f v;

        memcpy(&v, p, sizeof(v));
        return __builtin_convertvector(v, v8d);
}

/* A macro: a 64-byte vector argument draws GCC's ABI note in the baseline
 * build, and the sum order must stay exactly this. */
#define hsum(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))

/* Two weight rows against four vectors per pass: 8 accumulators, 6 loads
 * for 8 FMAs. */
KERNEL void matmul_wx_acc(const float *W, unsigned rows, unsigned cols, const double *X, size_t xs, unsigned B,
                          double *Y, size_t ys) {
        unsigned kv = cols & ~7u, r = 0;

        for (; r + 2 <= rows; r += 2) {
                const float *w0 = W + (size_t) r * cols, *w1 = w0 + cols;
                unsigned b = 0;

                for (; b + 4 <= B; b += 4) {
                        const double *x0 = X + b * xs, *x1 = x0 + xs, *x2 = x1 + xs, *x3 = x2 + xs;
                        v8d a00 = {}, a01 = {}, a02 = {}, a03 = {}, a10 = {}, a11 = {}, a12 = {}, a13 = {};
                        double s[8] = {};

                        for (unsigned k = 0; k < kv; k += 8) {
                                v8d u = load_f(w0 + k), v = load_f(w1 + k);
                                v8d y0 = load_d(x0 + k), y1 = load_d(x1 + k), y2 = load_d(x2 + k),
                                    y3 = load_d(x3 + k);

                                a00 += u * y0;
                                a01 += u * y1;
                                a02 += u * y2;
                                a03 += u * y3;
                                a10 += v * y0;
                                a11 += v * y1;
                                a12 += v * y2;
                                a13 += v * y3;
                        }
                        for (unsigned k = kv; k < cols; k++) {
                                s[0] += w0[k] * x0[k];
                                s[1] += w0[k] * x1[k];
                                s[2] += w0[k] * x2[k];
                                s[3] += w0[k] * x3[k];
                                s[4] += w1[k] * x0[k];
                                s[5] += w1[k] * x1[k];
                                s[6] += w1[k] * x2[k];
                                s[7] += w1[k] * x3[k];
                        }
                        Y[b * ys + r] += hsum(a00) + s[0];
                        Y[(b + 1) * ys + r] += hsum(a01) + s[1];
                        Y[(b + 2) * ys + r] += hsum(a02) + s[2];
                        Y[(b + 3) * ys + r] += hsum(a03) + s[3];
                        Y[b * ys + r + 1] += hsum(a10) + s[4];
                        Y[(b + 1) * ys + r + 1] += hsum(a11) + s[5];
                        Y[(b + 2) * ys + r + 1] += hsum(a12) + s[6];
                        Y[(b + 3) * ys + r + 1] += hsum(a13) + s[7];
                }
                for (; b < B; b++) {
                        const double *x0 = X + b * xs;
                        v8d a0 = {}, a1 = {};
                        double s0 = 0, s1 = 0;

                        for (unsigned k = 0; k < kv; k += 8) {
                                v8d y = load_d(x0 + k);

                                a0 += load_f(w0 + k) * y;
                                a1 += load_f(w1 + k) * y;
                        }
                        for (unsigned k = kv; k < cols; k++) {
                                s0 += w0[k] * x0[k];
                                s1 += w1[k] * x0[k];
                        }
                        Y[b * ys + r] += hsum(a0) + s0;
                        Y[b * ys + r + 1] += hsum(a1) + s1;
                }
        }
        for (; r < rows; r++) {
                const float *w0 = W + (size_t) r * cols;

                for (unsigned b = 0; b < B; b++) {
                        const double *x0 = X + b * xs;
                        v8d a0 = {};
                        double s0 = 0;

                        for (unsigned k = 0; k < kv; k += 8)
                                a0 += load_f(w0 + k) * load_d(x0 + k);
                        for (unsigned k = kv; k < cols; k++)
                                s0 += w0[k] * x0[k];
                        Y[b * ys + r] += hsum(a0) + s0;
                }
        }
}

/* Blocks of weight rows small enough to stay in cache while every window
 * passes over them; four rows per update of Y. */
#define ROW_BLOCK 32u

KERNEL void matmul_wtd_acc(const float *W, unsigned rows, unsigned cols, const double *D, size_t ds, unsigned B,
                           double *Y, size_t ys) {
        unsigned kv = cols & ~7u;

        for (unsigned r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
                unsigned r1 = r0 + ROW_BLOCK < rows ? r0 + ROW_BLOCK : rows;

                for (unsigned b = 0; b < B; b++) {
                        const double *d = D + b * ds;
                        double *y = Y + b * ys;
                        unsigned r = r0;

                        for (; r + 4 <= r1; r += 4) {
                                const float *w0 = W + (size_t) r * cols, *w1 = w0 + cols, *w2 = w1 + cols,
                                            *w3 = w2 + cols;
                                double d0 = d[r], d1 = d[r + 1], d2 = d[r + 2], d3 = d[r + 3];

                                if (d0 == 0 && d1 == 0 && d2 == 0 && d3 == 0)
                                        continue;
                                for (unsigned k = 0; k < kv; k += 8)
                                        store_d(y + k, load_d(y + k) + load_f(w0 + k) * d0 + load_f(w1 + k) * d1 +
                                                               load_f(w2 + k) * d2 + load_f(w3 + k) * d3);
                                for (unsigned k = kv; k < cols; k++)
                                        y[k] += w0[k] * d0 + w1[k] * d1 + w2[k] * d2 + w3[k] * d3;
                        }
                        for (; r < r1; r++) {
                                const float *w0 = W + (size_t) r * cols;

                                for (unsigned k = 0; k < cols; k++)
                                        y[k] += w0[k] * d[r];
                        }
                }
        }
}

KERNEL void matmul_outer_acc(double *G, unsigned rows, unsigned cols, const double *D, size_t ds, const double *X,
                             size_t xs, unsigned B) {
        unsigned kv = cols & ~7u;

        for (unsigned r = 0; r < rows; r++) {
                double *g = G + (size_t) r * cols;

                for (unsigned k = 0; k < kv; k += 8) {
                        v8d a = load_d(g + k);

                        for (unsigned b = 0; b < B; b++)
                                a += D[b * ds + r] * load_d(X + b * xs + k);
                        store_d(g + k, a);
                }
                for (unsigned k = kv; k < cols; k++) {
                        double a = g[k];

                        for (unsigned b = 0; b < B; b++)
                                a += D[b * ds + r] * X[b * xs + k];
                        g[k] = a;
                }
        }
}
