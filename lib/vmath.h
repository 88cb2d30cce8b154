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

#include "cpu.h"
#if CPU_X86
#  include <immintrin.h>
#endif

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

/* Per-width building blocks of VEXP, picked by pasting KW onto the name:
 * AVX-512 and AVX2 have min/max and rounding instructions (and AVX-512 a
 * scale by 2^n), the baseline builds them from compares and integer bits.
 * Every form gives the same bits: round to nearest even, the exact product
 * p·2^n, and a NaN passes through the clamps (the bound is the first
 * operand of min/max, which return the second when either is NaN). */
#define VCAT_(a, b) a##b
#define VCAT(a, b) VCAT_(a, b)
#define VCLAMP_HI(x, hi) VCAT(VCLAMP_HI_, KW)(x, hi)
#define VCLAMP_LO(x, lo) VCAT(VCLAMP_LO_, KW)(x, lo)
#define VROUND(x) VCAT(VROUND_, KW)(x)
#define VLDEXP(p, n) VCAT(VLDEXP_, KW)(p, n)

#define VCLAMP_HI_16(x, hi) ((vf) _mm512_min_ps((__m512) (hi), (__m512) (x)))
#define VCLAMP_LO_16(x, lo) ((vf) _mm512_max_ps((__m512) (lo), (__m512) (x)))
#define VROUND_16(x) ((vf) _mm512_roundscale_ps((__m512) (x), _MM_FROUND_TO_NEAREST_INT))
#define VLDEXP_16(p, n) ((vf) _mm512_scalef_ps((__m512) (p), (__m512) (n)))

#define VCLAMP_HI_8(x, hi) ((vf) _mm256_min_ps((__m256) (hi), (__m256) (x)))
#define VCLAMP_LO_8(x, lo) ((vf) _mm256_max_ps((__m256) (lo), (__m256) (x)))
#define VROUND_8(x) ((vf) _mm256_round_ps((__m256) (x), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC))
#define VLDEXP_8(p, n) VLDEXP_4(p, n)

#define VCLAMP_HI_4(x, hi) VSELECT((x) > (hi), hi, x)
#define VCLAMP_LO_4(x, lo) VSELECT((x) < (lo), lo, x)
/* adding and taking away 1.5·2^23 rounds to nearest even for |x| < 2^22 */
#define VROUND_4(x) (((x) + 12582912.0f) - 12582912.0f)
#define VLDEXP_4(p, n) ((p) * (vf) ((__builtin_convertvector(n, vi) + 127) << 23))

/* exp(x) as Cephes' expf: x = n·ln2 + r, a degree-6 polynomial for e^r and
 * the exponent bits for 2^n; ≤ 2 ulp over the clamped range. */
#define VEXP(x_)                                                                \
        ({                                                                      \
                const vf hi_ = (vf) {} + 88.3762626647949f;                     \
                const vf lo_ = (vf) {} - 87.3365447504019f;                     \
                vf x = (x_), n_, r_, p_;                                        \
                x = VCLAMP_HI(x, hi_);                                          \
                x = VCLAMP_LO(x, lo_);                                          \
                n_ = VROUND(x * 1.44269504088896341f);                          \
                r_ = x - n_ * 0.693359375f;                                     \
                r_ = r_ - n_ * -2.12194440e-4f;                                 \
                p_ = 1.9875691500E-4f * r_ + 1.3981999507E-3f;                  \
                p_ = p_ * r_ + 8.3334519073E-3f;                                \
                p_ = p_ * r_ + 4.1665795894E-2f;                                \
                p_ = p_ * r_ + 1.6666665459E-1f;                                \
                p_ = p_ * r_ + 5.0000001201E-1f;                                \
                p_ = p_ * r_ * r_ + r_ + 1.0f;                                  \
                VLDEXP(p_, n_);                                                 \
        })

#define VSIGMOID(x) (1.0f / (1.0f + VEXP(-(x))))
#define VTANH(x) (2.0f / (1.0f + VEXP(-2.0f * (x))) - 1.0f)
