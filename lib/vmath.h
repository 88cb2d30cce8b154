/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* 16-lane float vectors and the vectorised exp, sigmoid and tanh the float
 * kernels share. Macros rather than functions: 64-byte vectors cannot cross
 * a function boundary in a baseline (non-AVX-512) build without an ABI
 * change, and clang refuses that outright. */

#include <stdint.h>

typedef float v16f __attribute__((vector_size(64), aligned(64)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(64)));

#define VSELECT(mask, a, b) ((v16f) (((v16i) (a) & (mask)) | ((v16i) (b) & ~(mask))))

/* exp(x) as Cephes' expf: x = n·ln2 + r, a degree-6 polynomial for e^r and
 * the exponent bits for 2^n; ≤ 2 ulp over the clamped range. */
#define VEXP(x_)                                                                \
        ({                                                                      \
                const v16f hi_ = (v16f) {} + 88.3762626647949f;                 \
                const v16f lo_ = (v16f) {} - 87.3365447504019f;                 \
                v16f x = (x_), t_, n_, r_, p_;                                  \
                x = VSELECT(x > hi_, hi_, x);                                   \
                x = VSELECT(x < lo_, lo_, x);                                   \
                t_ = x * 1.44269504088896341f;                                  \
                /* round to nearest by the 1.5·2^23 trick */                    \
                n_ = (t_ + 12582912.0f) - 12582912.0f;                          \
                r_ = x - n_ * 0.693359375f;                                     \
                r_ = r_ - n_ * -2.12194440e-4f;                                 \
                p_ = 1.9875691500E-4f * r_ + 1.3981999507E-3f;                  \
                p_ = p_ * r_ + 8.3334519073E-3f;                                \
                p_ = p_ * r_ + 4.1665795894E-2f;                                \
                p_ = p_ * r_ + 1.6666665459E-1f;                                \
                p_ = p_ * r_ + 5.0000001201E-1f;                                \
                p_ = p_ * r_ * r_ + r_ + 1.0f;                                  \
                p_ * (v16f) ((__builtin_convertvector(n_, v16i) + 127) << 23);  \
        })

#define VSIGMOID(x) (1.0f / (1.0f + VEXP(-(x))))
#define VTANH(x) (2.0f / (1.0f + VEXP(-2.0f * (x))) - 1.0f)
