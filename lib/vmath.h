/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The vector types of each instruction set's native width and the
 * vectorised exp, sigmoid and tanh the float kernels share. A kernel file
 * includes its body once per instruction set with vf/vi (and vd, vfd for
 * doubles) defined as that set's native types: a wider type would be split
 * by the compiler through memory and run many times slower. Macros rather
 * than functions: wide vectors cannot cross a function boundary in a
 * baseline build without an ABI change, and clang refuses that outright. */

#include <stdint.h>

typedef float v16f __attribute__((vector_size(64), aligned(64)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(64)));
typedef float v8f __attribute__((vector_size(32), aligned(32)));
typedef int32_t v8i __attribute__((vector_size(32), aligned(32)));
typedef float v4f __attribute__((vector_size(16), aligned(16)));
typedef int32_t v4i __attribute__((vector_size(16), aligned(16)));
typedef double v8d __attribute__((vector_size(64), aligned(64)));
typedef double v4d __attribute__((vector_size(32), aligned(32)));
typedef double v2d __attribute__((vector_size(16), aligned(16)));
/* float halves for converting to double, loaded with memcpy (unaligned) */
typedef float v8fu __attribute__((vector_size(32)));
typedef float v4fu __attribute__((vector_size(16)));
typedef float v2fu __attribute__((vector_size(8)));

#define VSELECT(mask, a, b) ((vf) (((vi) (a) & (mask)) | ((vi) (b) & ~(mask))))

/* exp(x) as Cephes' expf: x = n·ln2 + r, a degree-6 polynomial for e^r and
 * the exponent bits for 2^n; ≤ 2 ulp over the clamped range. */
#define VEXP(x_)                                                                \
        ({                                                                      \
                const vf hi_ = (vf) {} + 88.3762626647949f;                     \
                const vf lo_ = (vf) {} - 87.3365447504019f;                     \
                vf x = (x_), t_, n_, r_, p_;                                    \
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
                p_ * (vf) ((__builtin_convertvector(n_, vi) + 127) << 23);      \
        })

#define VSIGMOID(x) (1.0f / (1.0f + VEXP(-(x))))
#define VTANH(x) (2.0f / (1.0f + VEXP(-2.0f * (x))) - 1.0f)
