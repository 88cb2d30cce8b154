/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "gemv.h"
#include "vmath.h"
#include "cpu.h"
#include "util.h"

/* Each kernel is compiled three times, for AVX-512, AVX2+FMA and the
 * baseline; the best one the CPU has is picked once (as GCC's
 * target_clones would, but portable to clang and sanitizer builds). */
#if CPU_X86

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
#endif

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
static const kernel_set kernel_sets[_CPU_VARIANT_MAX] = {
#if CPU_X86
        [CPU_AVX512] = KERNEL_SET(avx512),
        [CPU_AVX2] = KERNEL_SET(avx2),
#endif
        [CPU_BASELINE] = KERNEL_SET(baseline),
};

static const kernel_set *kernels(void) {
        return &kernel_sets[cpu_kernel_variant()];
}

/* Matrices past this size come from memory, not cache: there the AVX2
 * variant streams them faster than the AVX-512 one (measured on AMD Zen 4:
 * 0.8 against 1.2 ms for the H=1435 step), and it is no slower elsewhere. */
#define GEMV_STREAMING_BYTES (2u << 20)

void gemv_panels_acc(const da_packed *W, const float *v, float *y) {
        const kernel_set *k = kernels();

        if (k == &kernel_sets[CPU_AVX512] && (size_t) W->rows_padded * W->cols * sizeof(float) > GEMV_STREAMING_BYTES)
                k = &kernel_sets[CPU_AVX2];
        k->gemv(W, v, y);
}

void lstm_cell(const float *g, float *c, float *h, unsigned Hp, float *ret_i) {
        kernels()->cell(g, c, h, Hp, ret_i);
}
