/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "gemv.h"
#include "vmath.h"
#include "util.h"

/* Each kernel is compiled three times, for AVX-512, AVX2+FMA and the
 * baseline; the best one the CPU has is picked once (as GCC's
 * target_clones would, but portable to clang and sanitizer builds). */

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

/* Matrices past this size come from memory, not cache: there the AVX2
 * variant streams them faster than the AVX-512 one (measured on AMD Zen 4:
 * 0.8 against 1.2 ms for the H=1435 step), and it is no slower elsewhere. */
#define GEMV_STREAMING_BYTES (2u << 20)

void gemv_panels_acc(const da_packed *W, const float *v, float *y) {
        const kernel_set *k = kernels();

        if (k == &kernels_avx512 && (size_t) W->rows_padded * W->cols * sizeof(float) > GEMV_STREAMING_BYTES)
                k = &kernels_avx2;
        k->gemv(W, v, y);
}

void lstm_cell(const float *g, float *c, float *h, unsigned Hp, float *ret_i) {
        kernels()->cell(g, c, h, Hp, ret_i);
}
