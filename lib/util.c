/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "util.h"

uint64_t da_splitmix64(uint64_t *state) {
        uint64_t z = (*state += UINT64_C(0x9E3779B97F4A7C15));

        z = (z ^ (z >> 30)) * UINT64_C(0xBF58476D1CE4E5B9);
        z = (z ^ (z >> 27)) * UINT64_C(0x94D049BB133111EB);
        return z ^ (z >> 31);
}

float da_uniform01(uint64_t *state) {
        return (float) (da_splitmix64(state) >> 40) * 0x1p-24f;
}
