/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "batch-kernels.h"
#include "cpu.h"
#include "util.h"
#include "vmath.h"


/* Columns per pass over a panel: a 64-row block of 512 columns (128 KiB)
 * stays in L2 while every window group of the batch runs over it, so even
 * the 4Hp-column transposed weights are read from memory once per step. */
#define GEMM_KC 512u

#if CPU_X86
/* AVX-512: 4 × 16 rows × 6 windows = 24 of the 32 vector registers hold
 * the tile; 4 weight loads and 6 broadcasts per 24 FMAs. */
#define KTARGET __attribute__((target("avx512f")))
#define KNAME(n) n##_avx512
#define vf v16f
#define vi v16i
#define KW 16
#define vd v8d
#define vfd v8fu
#define KWD 8
#define KROWV 4
#define KNB 6
#define TILE_CASES TILE_CASE(1) TILE_CASE(2) TILE_CASE(3) TILE_CASE(4) TILE_CASE(5) TILE_CASE(6)
#include "batch-kernels-impl.h"
#undef KTARGET
#undef KNAME
#undef KROWV
#undef KNB
#undef TILE_CASES
#undef vf
#undef vi
#undef KW
#undef vd
#undef vfd
#undef KWD

/* AVX2 has 16 registers: 4 × 8 rows × 3 windows = 12 hold the tile, 4 the
 * weights. */
#define KTARGET __attribute__((target("avx2,fma")))
#define KNAME(n) n##_avx2
#define vf v8f
#define vi v8i
#define KW 8
#define vd v4d
#define vfd v4fu
#define KWD 4
#define KROWV 4
#define KNB 3
#define TILE_CASES TILE_CASE(1) TILE_CASE(2) TILE_CASE(3)
#include "batch-kernels-impl.h"
#undef KTARGET
#undef KNAME
#undef KROWV
#undef KNB
#undef TILE_CASES
#undef vf
#undef vi
#undef KW
#undef vd
#undef vfd
#undef KWD
#endif

#define KTARGET
#define KNAME(n) n##_baseline
#define vf v4f
#define vi v4i
#define KW 4
#define vd v2d
#define vfd v2fu
#define KWD 2
#define KROWV 4
#define KNB 3
#define TILE_CASES TILE_CASE(1) TILE_CASE(2) TILE_CASE(3)
#include "batch-kernels-impl.h"
#undef KTARGET
#undef KNAME
#undef KROWV
#undef KNB
#undef TILE_CASES
#undef vf
#undef vi
#undef KW
#undef vd
#undef vfd
#undef KWD

typedef struct kernel_set {
        __typeof__(gemm_panels_baseline) *gemm;
        __typeof__(lstm_cell_forward_batch_baseline) *forward;
        __typeof__(lstm_cell_backward_batch_baseline) *backward;
        __typeof__(affine_rows_baseline) *affine;
        __typeof__(weighted_rows_acc_baseline) *weighted;
} kernel_set;

#define KERNEL_SET(v) { gemm_panels_##v, lstm_cell_forward_batch_##v, lstm_cell_backward_batch_##v, \
                        affine_rows_##v, weighted_rows_acc_##v }
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

void gemm_panels_acc(const da_packed *W, const float *X, size_t xs, unsigned B, float *Y, size_t ys) {
        kernels()->gemm(W, X, xs, B, Y, ys, Y, ys);
}

void gemm_panels(const da_packed *W, const float *X, size_t xs, unsigned B, const float *Y0, size_t y0s, float *Y,
                 size_t ys) {
        kernels()->gemm(W, X, xs, B, Y0, y0s, Y, ys);
}

void lstm_cell_forward_batch(float *a, const float *c_prev, float *c, float *tc, float *h, unsigned Hp, unsigned B) {
        kernels()->forward(a, c_prev, c, tc, h, Hp, B);
}

void lstm_cell_backward_batch(const float *a, const float *c_prev, const float *tc, const float *dh, size_t dhs,
                              float *dc, float *dp, unsigned Hp, unsigned B) {
        kernels()->backward(a, c_prev, tc, dh, dhs, dc, dp, Hp, B);
}

void affine_rows(float *y, const float *u, const float *v, const float *alpha, unsigned n, unsigned B) {
        kernels()->affine(y, u, v, alpha, n, B);
}

void weighted_rows_acc(double *acc, const float *d, const double *w, unsigned n, unsigned B) {
        kernels()->weighted(acc, d, w, n, B);
}
