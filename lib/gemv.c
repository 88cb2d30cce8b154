/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "gemv.h"
#include "util.h"

typedef float v16f __attribute__((vector_size(64), aligned(64)));
typedef int32_t v16i __attribute__((vector_size(64), aligned(64)));
typedef float v8f __attribute__((vector_size(32), aligned(32)));
typedef int32_t v8i __attribute__((vector_size(32), aligned(32)));
typedef float v4f __attribute__((vector_size(16), aligned(16)));
typedef int32_t v4i __attribute__((vector_size(16), aligned(16)));

/* Each kernel is compiled three times, for AVX-512, AVX2+FMA and the
 * baseline; the best one the CPU has is picked once (as GCC's
 * target_clones would, but portable to clang and sanitizer builds). */

/* The vector helpers are macros rather than functions: 64-byte vectors
 * cannot cross a function boundary in the baseline clone without an ABI
 * change, and clang refuses that outright. */

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

#define KTARGET __attribute__((target("avx512f")))
#define KNAME(n) n##_avx512
#define vf v16f
#define vi v16i
#define KW 16
#include "gemv-kernels.h"
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef KW

#define KTARGET __attribute__((target("avx2,fma")))
#define KNAME(n) n##_avx2
#define vf v8f
#define vi v8i
#define KW 8
#include "gemv-kernels.h"
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef KW

#define KTARGET
#define KNAME(n) n##_baseline
#define vf v4f
#define vi v4i
#define KW 4
#include "gemv-kernels.h"
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef KW

typedef struct kernel_set {
        __typeof__(gemv_panels_acc_baseline) *gemv;
        __typeof__(lstm_cell_baseline) *cell;
} kernel_set;

#define KERNEL_SET(v) { gemv_panels_acc_##v, lstm_cell_##v }
static const kernel_set kernels_avx512 = KERNEL_SET(avx512);
static const kernel_set kernels_avx2 = KERNEL_SET(avx2);
static const kernel_set kernels_baseline = KERNEL_SET(baseline);

/* Picked on first use rather than by an ifunc resolver, which would run
 * before sanitizer runtimes are up. Racing first callers store the same value. */
static const kernel_set *kernels(void) {
        static const kernel_set *cached;
        const kernel_set *k = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);
        const char *force;

        if (_likely_(k))
                return k;
        __builtin_cpu_init();
        /* DEEPACTIF_KERNELS=avx2|baseline forces a narrower variant, for
         * testing and comparing them on one machine. */
        force = secure_getenv("DEEPACTIF_KERNELS");
        if (force && streq(force, "baseline"))
                k = &kernels_baseline;
        else if (force && streq(force, "avx2") && __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                k = &kernels_avx2;
        else if (__builtin_cpu_supports("avx512f"))
                k = &kernels_avx512;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                k = &kernels_avx2;
        else
                k = &kernels_baseline;
        __atomic_store_n(&cached, k, __ATOMIC_RELEASE);
        return k;
}

void gemv_panels_acc(const da_packed *W, const float *v, float *y) {
        kernels()->gemv(W, v, y);
}

void lstm_cell(const float *g, float *c, float *h, unsigned Hp, float *ret_i) {
        kernels()->cell(g, c, h, Hp, ret_i);
}
