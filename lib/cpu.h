/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdbool.h>

/* Which instruction set the float kernels run in. Each kernel file compiles
 * its bodies once per variant and indexes a table with this. */

/* AVX-512 and AVX2 variants exist on x86 only; elsewhere every kernel runs
 * its baseline body, in the generic vectors the compiler maps to the
 * target's own SIMD. */
#if defined(__x86_64__) || defined(__i386__)
#  define CPU_X86 1
#else
#  define CPU_X86 0
#endif

typedef enum cpu_variant {
        CPU_BASELINE,
        CPU_AVX2,
        CPU_AVX512,
        _CPU_VARIANT_MAX,
} cpu_variant;

/* The widest variant the CPU has, unless DEEPACTIF_KERNELS=avx2|baseline
 * forces a narrower one (to test and compare them on one machine). Decided
 * at first use rather than by an ifunc resolver, which would run before
 * sanitizer runtimes are up. */
cpu_variant cpu_kernel_variant(void);

/* Whether the CPU has AVX512_BF16 (VDPBF16PS), which the bf16 products
 * use within the AVX-512 variant. */
bool cpu_has_avx512_bf16(void);
