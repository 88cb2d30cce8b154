/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "gemv.h"

/* The vector helpers below are always inlined into each clone, so the ABI
 * note GCC gives for 64-byte vector arguments does not apply. */
#pragma GCC diagnostic ignored "-Wpsabi"

typedef float v16f __attribute__((vector_size(64), aligned(64)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(64)));

#define KERNEL __attribute__((target_clones("avx512f", "avx2,fma", "default")))

KERNEL void gemv_panels_acc(const da_packed *W, const float *v, float *y) {
        unsigned cols = W->cols, n = W->rows_padded / DA_PANEL;

        for (unsigned p = 0; p < n; p++) {
                const v16f *w = (const v16f *) (W->data + (size_t) p * cols * DA_PANEL);
                v16f *out = (v16f *) (y + (size_t) p * DA_PANEL);
                /* Four independent accumulators hide the FMA latency. */
                v16f a0 = out[0], a1 = out[1], a2 = out[2], a3 = out[3];

                for (unsigned k = 0; k < cols; k++, w += 4) {
                        float s = v[k];

                        a0 += w[0] * s;
                        a1 += w[1] * s;
                        a2 += w[2] * s;
                        a3 += w[3] * s;
                }
                out[0] = a0;
                out[1] = a1;
                out[2] = a2;
                out[3] = a3;
        }
}

static inline __attribute__((always_inline)) v16f vselect(v16i mask, v16f a, v16f b) {
        return (v16f) (((v16i) a & mask) | ((v16i) b & ~mask));
}

/* exp(x) as Cephes' expf: x = n·ln2 + r, a degree-6 polynomial for e^r and
 * the exponent bits for 2^n; ≤ 2 ulp over the clamped range. */
static inline __attribute__((always_inline)) v16f vexp(v16f x) {
        const v16f hi = (v16f) {} + 88.3762626647949f, lo = (v16f) {} - 87.3365447504019f;
        v16f t, n, r, p;
        v16i e;

        x = vselect(x > hi, hi, x);
        x = vselect(x < lo, lo, x);
        t = x * 1.44269504088896341f;
        /* round to nearest by the 1.5·2^23 trick */
        n = (t + 12582912.0f) - 12582912.0f;
        r = x - n * 0.693359375f;
        r = r - n * -2.12194440e-4f;
        p = 1.9875691500E-4f * r + 1.3981999507E-3f;
        p = p * r + 8.3334519073E-3f;
        p = p * r + 4.1665795894E-2f;
        p = p * r + 1.6666665459E-1f;
        p = p * r + 5.0000001201E-1f;
        p = p * r * r + r + 1.0f;
        e = (__builtin_convertvector(n, v16i) + 127) << 23;
        return p * (v16f) e;
}

static inline __attribute__((always_inline)) v16f vsigmoid(v16f x) {
        return 1.0f / (1.0f + vexp(-x));
}

static inline __attribute__((always_inline)) v16f vtanh(v16f x) {
        return 2.0f / (1.0f + vexp(-2.0f * x)) - 1.0f;
}

KERNEL void lstm_cell(const float *g, float *c, float *h, unsigned Hp, float *ret_i) {
        for (unsigned j = 0; j < Hp; j += DA_LANES) {
                v16f gi = *(const v16f *) (g + j);
                v16f gf = *(const v16f *) (g + Hp + j);
                v16f gg = *(const v16f *) (g + 2 * Hp + j);
                v16f go = *(const v16f *) (g + 3 * Hp + j);
                v16f i = vsigmoid(gi), f = vsigmoid(gf), cand = vtanh(gg), o = vsigmoid(go);
                v16f cn = f * *(v16f *) (c + j) + i * cand;

                *(v16f *) (c + j) = cn;
                *(v16f *) (h + j) = o * vtanh(cn);
                if (ret_i)
                        *(v16f *) (ret_i + j) = i;
        }
}

KERNEL void gate_trace_acc(const float *A, const float *i, const float *x, unsigned F, unsigned Hp, float *out) {
        for (unsigned f = 0; f < F; f++) {
                const v16f *a = (const v16f *) (A + (size_t) f * Hp);
                v16f acc = {};
                float s = 0;

                for (unsigned j = 0; j < Hp / DA_LANES; j++)
                        acc += a[j] * ((const v16f *) i)[j];
                for (unsigned l = 0; l < DA_LANES; l++)
                        s += acc[l];
                out[f] += fabsf(x[f]) * s;
        }
}
