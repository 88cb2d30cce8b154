/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Products with bf16 operands and float32 sums, for training and batched
 * attribution at bf16 precision: half the bytes and, with AVX512_BF16's
 * VDPBF16PS, twice the multiply-adds per instruction of float32. Operands
 * hold values k, k+1 in one 32-bit word (k in the low half), as
 * packed_reduce() lays out bf16 panels. Every sum follows VDPBF16PS: per
 * word the odd product is added first, then the even one, each rounded to
 * nearest even, subnormal operands and results taken as zero. CPUs without
 * the instruction compute the same bits with float FMAs, more slowly. */

#include <stdbool.h>
#include <stdint.h>

#include "model.h"

/* A float's bits rounded to bf16 bits: nearest even, a subnormal or zero
 * to a zero of its sign. Branch-free, so loops over it vectorise. Finite
 * values only. */
static inline uint32_t bf16_bits(float f) {
        uint32_t u, r;

        __builtin_memcpy(&u, &f, sizeof(u));
        r = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
        return (u & 0x7f800000u) ? r : (u >> 16) & 0x8000u;
}

/* Two values as one word, lo in the low half. */
static inline uint32_t bf16_pair(float lo, float hi) {
        return bf16_bits(lo) | bf16_bits(hi) << 16;
}

/* Words a row of n bf16 values takes. */
static inline unsigned bf16_words(unsigned n) {
        return (n + 1) / 2;
}

/* dst[i] = bf16_pair(lo[i], hi[i]) for i < n; hi NULL pairs with zeros. */
void bf16_pair_rows(const float *lo, const float *hi, unsigned n, uint32_t *dst);

/* n_rows rows of n floats (ss floats apart) rounded to bf16 rows (ds words
 * apart; an odd n pads with zero): nearest even, subnormals to zero. */
void bf16_round_rows(const float *src, size_t ss, unsigned n_rows, unsigned n, uint32_t *dst, size_t ds);

/* P's float panels rounded into bf16 panels at dst, in packed_reduce()'s
 * layout: bf16_panel_words(P) words. */
size_t bf16_panel_words(const da_packed *P);
void bf16_round_panels(const da_packed *P, uint32_t *dst);

/* Y[b][0..cols) = Y0[b] + W·X[b] for b < B (Y0 NULL: W·X[b]), cols at
 * most W->rows_padded, the rest of Y's rows untouched; W's bf16 panels at
 * Wb (bf16_round_panels()), X rows of bf16 words xs words apart, rows of Y
 * ys and of Y0 y0s floats apart. Y0 may be Y. */
void gemm_bf16(const da_packed *W, const uint32_t *Wb, const uint32_t *X, size_t xs, unsigned B, const float *Y0,
               size_t y0s, float *Y, size_t ys, unsigned cols);

/* Whether gemm_bf16() runs on VDPBF16PS here (otherwise it emulates it). */
bool gemm_bf16_native(void);
