/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "gemv.h"
#include "vmath.h"
#include "cpu.h"
#include "util.h"

/* Reduced weights' vectors of each width: KW words (bf16 pairs), halves. */
typedef uint32_t v16u __attribute__((vector_size(64)));
typedef uint16_t v16h __attribute__((vector_size(32)));
typedef uint32_t v8u __attribute__((vector_size(32)));
typedef uint16_t v8h __attribute__((vector_size(16)));
typedef uint32_t v4u __attribute__((vector_size(16)));
typedef uint16_t v4h __attribute__((vector_size(8)));

/* Halves to floats: the F16C/AVX-512 instruction, or the exponent shift of
 * half_to_float() on whole vectors */
#define HALF_TO_FLOAT_16(h) ((vf) _mm512_cvtph_ps((__m256i) (h)))
#define HALF_TO_FLOAT_8(h) ((vf) _mm256_cvtph_ps((__m128i) (h)))
#define HALF_TO_FLOAT_4(h) half_to_float_v4(h)
#define HALF_TO_FLOAT(h) VCAT(HALF_TO_FLOAT_, KW)(h)

/* KW int8 at p to floats: sign extension and conversion instructions (GCC
 * scalarises __builtin_convertvector from int8) */
#define I8_TO_FLOAT_16(p) ((vf) _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *) (p)))))
#define I8_TO_FLOAT_8(p) ((vf) _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *) (p)))))
#define I8_TO_FLOAT_4(p) ((vf) { (p)[0], (p)[1], (p)[2], (p)[3] })
#define I8_TO_FLOAT(p) VCAT(I8_TO_FLOAT_, KW)(p)

static inline v4f half_to_float_v4(v4h h) {
        v4u x = __builtin_convertvector(h, v4u);
        v4f mag = (v4f) ((x & 0x7fffu) << 13) * 0x1p112f;

        return (v4f) ((v4u) mag | ((x & 0x8000u) << 16));
}

/* Each kernel is compiled three times, for AVX-512, AVX2+FMA and the
 * baseline; the best one the CPU has is picked once (as GCC's
 * target_clones would, but portable to clang and sanitizer builds). */
#if CPU_X86

#define KTARGET __attribute__((target("avx512f")))
#define KNAME(n) n##_avx512
#define vf v16f
#define vi v16i
#define vu v16u
#define vh v16h
#define KW 16
#include "gemv-kernels.h"
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef vu
#undef vh
#undef KW

#define KTARGET __attribute__((target("avx2,fma,f16c")))
#define KNAME(n) n##_avx2
#define vf v8f
#define vi v8i
#define vu v8u
#define vh v8h
#define KW 8
#include "gemv-kernels.h"
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef vu
#undef vh
#undef KW
#endif

#define KTARGET
#define KNAME(n) n##_baseline
#define vf v4f
#define vi v4i
#define vu v4u
#define vh v4h
#define KW 4
#include "gemv-kernels.h"
#undef KTARGET
#undef KNAME
#undef vf
#undef vi
#undef vu
#undef vh
#undef KW

typedef struct kernel_set {
        __typeof__(gemv_panels_acc_baseline) *gemv[_DA_PRECISION_MAX];
        __typeof__(lstm_cell_baseline) *cell;
} kernel_set;

#define KERNEL_SET(v) {                                                         \
        .gemv = {                                                               \
                [DA_PRECISION_F32] = gemv_panels_acc_##v,                       \
                [DA_PRECISION_BF16] = gemv_panels_acc_bf16_##v,                 \
                [DA_PRECISION_F16] = gemv_panels_acc_f16_##v,                   \
                [DA_PRECISION_I8] = gemv_panels_acc_i8_##v,                     \
        },                                                                      \
        .cell = lstm_cell_##v,                                                  \
}
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

        if (W->reduced) {
                k->gemv[W->precision](W, v, y);
                return;
        }
        if (k == &kernel_sets[CPU_AVX512] && (size_t) W->rows_padded * W->cols * sizeof(float) > GEMV_STREAMING_BYTES)
                k = &kernel_sets[CPU_AVX2];
        k->gemv[DA_PRECISION_F32](W, v, y);
}

void lstm_cell(const float *g, float *c, float *h, unsigned Hp, float *ret_i) {
        kernels()->cell(g, c, h, Hp, ret_i);
}
