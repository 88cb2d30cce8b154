/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "cpu.h"
#include "gemm-bf16.h"
#include "util.h"
#include "vmath.h"

/* Words per pass over a panel: 64 rows × 256 words (64 KiB) stay in L2
 * while every window group of the batch runs over them. */
#define KC_WORDS 256u

typedef uint32_t v16u __attribute__((vector_size(64), aligned(64)));
typedef uint32_t v8u __attribute__((vector_size(32), aligned(32)));
typedef uint32_t v4u __attribute__((vector_size(16), aligned(16)));

#if CPU_X86
/* AVX512_BF16: 4 × 16 rows × 6 windows = 24 of the 32 registers hold the
 * tile, 4 the weights. */
#define KTARGET __attribute__((target("avx512f,avx512bf16")))
#define KNAME(n) n##_avx512bf16
#define KW 16
#define KROWV 4
#define KNB 6
#define NATIVE_TILE
#define TILE_CASES TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
#include "gemm-bf16-impl.h"
#undef KTARGET
#undef KNAME
#undef KW
#undef KROWV
#undef KNB
#undef NATIVE_TILE
#undef TILE_CASES

#define KTARGET __attribute__((target("avx512f")))
#define KNAME(n) n##_avx512
#define vf v16f
#define vi v16i
#define vu v16u
#define KW 16
#define KROWV 4
#define KNB 4
#define VFMA(a, b, c) ((vf) _mm512_fmadd_ps((__m512) (a), (__m512) (b), (__m512) (c)))
#define TILE_CASES TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4)
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31
#include "gemm-bf16-impl.h"
#undef EVEN_LANES
#undef ODD_LANES
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef vu
#undef KW
#undef KROWV
#undef KNB
#undef VFMA
#undef TILE_CASES

#define KTARGET __attribute__((target("avx2,fma")))
#define KNAME(n) n##_avx2
#define vf v8f
#define vi v8i
#define vu v8u
#define KW 8
#define KROWV 2
#define KNB 3
#define VFMA(a, b, c) ((vf) _mm256_fmadd_ps((__m256) (a), (__m256) (b), (__m256) (c)))
#define TILE_CASES TILE_CASE(1) TILE_CASE(2) TILE_CASE(3)
#define EVEN_LANES 0, 2, 4, 6, 8, 10, 12, 14
#define ODD_LANES 1, 3, 5, 7, 9, 11, 13, 15
#include "gemm-bf16-impl.h"
#undef EVEN_LANES
#undef ODD_LANES
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef vu
#undef KW
#undef KROWV
#undef KNB
#undef VFMA
#undef TILE_CASES
#endif

/* The baseline fuses lane by lane: without FMA hardware, fmaf() is exact
 * in software, where a * b + c would round twice. */
static inline v4f fma_lanes(v4f a, v4f b, v4f c) {
        v4f r;

        for (unsigned l = 0; l < 4; l++)
                r[l] = __builtin_fmaf(a[l], b[l], c[l]);
        return r;
}

#define KTARGET
#define KNAME(n) n##_baseline
#define vf v4f
#define vi v4i
#define vu v4u
#define KW 4
#define KROWV 2
#define KNB 2
#define VFMA(a, b, c) fma_lanes(a, b, c)
#define TILE_CASES TILE_CASE(1) TILE_CASE(2)
#define EVEN_LANES 0, 2, 4, 6
#define ODD_LANES 1, 3, 5, 7
#include "gemm-bf16-impl.h"
#undef EVEN_LANES
#undef ODD_LANES
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef vu
#undef KW
#undef KROWV
#undef KNB
#undef VFMA
#undef TILE_CASES

typedef __typeof__(gemm_bf16_baseline) gemm_bf16_fn;

static gemm_bf16_fn *pick(void) {
        switch (cpu_kernel_variant()) {
#if CPU_X86
        case CPU_AVX512:
                return cpu_has_avx512_bf16() ? gemm_bf16_avx512bf16 : gemm_bf16_avx512;
        case CPU_AVX2:
                return gemm_bf16_avx2;
#endif
        default:
                return gemm_bf16_baseline;
        }
}

static gemm_bf16_fn *kernel(void) {
        /* racing first callers store the same pointer */
        static gemm_bf16_fn *cached;
        gemm_bf16_fn *k = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);

        if (_likely_(k))
                return k;
        k = pick();
        __atomic_store_n(&cached, k, __ATOMIC_RELEASE);
        return k;
}

typedef struct round_set {
        __typeof__(pair_rows_baseline) *pair_rows;
        __typeof__(round_row_baseline) *round_row;
} round_set;

static const round_set round_sets[_CPU_VARIANT_MAX] = {
#if CPU_X86
        [CPU_AVX512] = { pair_rows_avx512, round_row_avx512 },
        [CPU_AVX2] = { pair_rows_avx2, round_row_avx2 },
#endif
        [CPU_BASELINE] = { pair_rows_baseline, round_row_baseline },
};

bool gemm_bf16_native(void) {
#if CPU_X86
        return kernel() == gemm_bf16_avx512bf16;
#else
        return false;
#endif
}

void gemm_bf16(const da_packed *W, const uint32_t *Wb, const uint32_t *X, size_t xs, unsigned B, const float *Y0,
               size_t y0s, float *Y, size_t ys, unsigned cols) {
        kernel()(W, Wb, X, xs, B, Y0, y0s, Y, ys, cols);
}

void bf16_pair_rows(const float *lo, const float *hi, unsigned n, uint32_t *dst) {
        round_sets[cpu_kernel_variant()].pair_rows(lo, hi, n, dst);
}

void bf16_round_rows(const float *src, size_t ss, unsigned n_rows, unsigned n, uint32_t *dst, size_t ds) {
        const round_set *k = &round_sets[cpu_kernel_variant()];

        for (unsigned r = 0; r < n_rows; r++)
                k->round_row(src + r * ss, n, dst + r * ds);
}

size_t bf16_panel_words(const da_packed *P) {
        return (size_t) (P->rows_padded / DA_PANEL) * bf16_words(P->cols) * DA_PANEL;
}

void bf16_round_panels(const da_packed *P, uint32_t *dst) {
        unsigned cols = P->cols, words = bf16_words(cols), n = P->rows_padded / DA_PANEL;
        const round_set *k = &round_sets[cpu_kernel_variant()];

        for (unsigned p = 0; p < n; p++) {
                const float *s = P->data + (size_t) p * cols * DA_PANEL;
                uint32_t *d = dst + (size_t) p * words * DA_PANEL;

                /* columns k and k + 1 of a panel are DA_PANEL floats each, one after the other */
                for (unsigned w = 0; w < words; w++)
                        k->pair_rows(s + (size_t) 2 * w * DA_PANEL,
                                     2 * w + 1 < cols ? s + (size_t) (2 * w + 1) * DA_PANEL : NULL, DA_PANEL,
                                     d + (size_t) w * DA_PANEL);
        }
}
