/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "cpu.h"
#include "util.h"

#if CPU_X86
#include <cpuid.h>

static bool has_f16c(void) {
        unsigned a, b, c, d;

        return __get_cpuid(1, &a, &b, &c, &d) && (c & bit_F16C);
}

static cpu_variant detect(void) {
        const char *force = secure_getenv("DEEPACTIF_KERNELS");
        bool avx2;

        __builtin_cpu_init();
        /* every AVX2 CPU has F16C too (the GEMV of f16 weights uses it), but
         * ask: clang's __builtin_cpu_supports() does not know "f16c" */
        avx2 = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && has_f16c();
        if (force && streq(force, "baseline"))
                return CPU_BASELINE;
        if (force && streq(force, "avx2") && avx2)
                return CPU_AVX2;
        if (__builtin_cpu_supports("avx512f"))
                return CPU_AVX512;
        return avx2 ? CPU_AVX2 : CPU_BASELINE;
}

bool cpu_has_avx512_bf16(void) {
        unsigned a, b, c, d;

        /* leaf 7, subleaf 1, EAX bit 5 */
        return __get_cpuid_count(7, 1, &a, &b, &c, &d) && (a & (1u << 5));
}
#else
static cpu_variant detect(void) {
        return CPU_BASELINE;
}

bool cpu_has_avx512_bf16(void) {
        return false;
}
#endif

cpu_variant cpu_kernel_variant(void) {
        /* 0 means "not yet": racing first callers store the same value */
        static int cached;
        int v = __atomic_load_n(&cached, __ATOMIC_ACQUIRE);

        if (_likely_(v))
                return (cpu_variant) (v - 1);
        v = (int) detect() + 1;
        __atomic_store_n(&cached, v, __ATOMIC_RELEASE);
        return (cpu_variant) (v - 1);
}
