/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Each product is compiled for AVX-512, AVX2+FMA and the baseline, each in
 * its own vector width (a 512-bit type in an AVX2 function is split through
 * memory), and picked by cpu_kernel_variant() as the float kernels are. */

#include <string.h>

#include "cpu.h"
#include "matmul.h"

typedef double v8d __attribute__((vector_size(64)));
typedef double v4d __attribute__((vector_size(32)));
typedef double v2d __attribute__((vector_size(16)));
typedef float v8fl __attribute__((vector_size(32)));
typedef float v4fl __attribute__((vector_size(16)));
typedef float v2fl __attribute__((vector_size(8)));

#if CPU_X86
#define KTARGET __attribute__((target("avx512f")))
#define KNAME(n) n##_avx512
#define vd v8d
#define vfl v8fl
#define KWD 8
#define HSUM(v) ((((v)[0] + (v)[4]) + ((v)[1] + (v)[5])) + (((v)[2] + (v)[6]) + ((v)[3] + (v)[7])))
#include "matmul-kernels.h"
#undef KTARGET
#undef KNAME
#undef vd
#undef vfl
#undef KWD
#undef HSUM

#define KTARGET __attribute__((target("avx2,fma")))
#define KNAME(n) n##_avx2
#define vd v4d
#define vfl v4fl
#define KWD 4
#define HSUM(v) (((v)[0] + (v)[2]) + ((v)[1] + (v)[3]))
#include "matmul-kernels.h"
#undef KTARGET
#undef KNAME
#undef vd
#undef vfl
#undef KWD
#undef HSUM
#endif

#define KTARGET
#define KNAME(n) n##_baseline
#define vd v2d
#define vfl v2fl
#define KWD 2
#define HSUM(v) ((v)[0] + (v)[1])
#include "matmul-kernels.h"
#undef KTARGET
#undef KNAME
#undef vd
#undef vfl
#undef KWD
#undef HSUM

typedef struct kernel_set {
        __typeof__(matmul_wx_acc_baseline) *wx;
        __typeof__(matmul_wtd_acc_baseline) *wtd;
        __typeof__(matmul_outer_acc_baseline) *outer;
} kernel_set;

#define KERNEL_SET(v) { matmul_wx_acc_##v, matmul_wtd_acc_##v, matmul_outer_acc_##v }
static const kernel_set kernel_sets[_CPU_VARIANT_MAX] = {
#if CPU_X86
        [CPU_AVX512] = KERNEL_SET(avx512),
        [CPU_AVX2] = KERNEL_SET(avx2),
#endif
        [CPU_BASELINE] = KERNEL_SET(baseline),
};

void matmul_wx_acc(const float *W, unsigned rows, unsigned cols, const double *X, size_t xs, unsigned B,
                   double *Y, size_t ys) {
        kernel_sets[cpu_kernel_variant()].wx(W, rows, cols, X, xs, B, Y, ys);
}

void matmul_wtd_acc(const float *W, unsigned rows, unsigned cols, const double *D, size_t ds, unsigned B,
                    double *Y, size_t ys) {
        kernel_sets[cpu_kernel_variant()].wtd(W, rows, cols, D, ds, B, Y, ys);
}

void matmul_outer_acc(double *G, unsigned rows, unsigned cols, const double *D, size_t ds, const double *X,
                      size_t xs, unsigned B) {
        kernel_sets[cpu_kernel_variant()].outer(G, rows, cols, D, ds, X, xs, B);
}
