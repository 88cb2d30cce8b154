/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "gate-pack.h"
#include "gemm-bf16.h"
#include "util.h"

static unsigned round_up(unsigned v, unsigned to) {
        return (v + to - 1) / to * to;
}

void pack_gates_transposed(const float *w, unsigned H, unsigned Hp, unsigned in, da_packed *ret) {
        unsigned cols = 4 * Hp;
        float *d = ret->data;

        for (unsigned k0 = 0; k0 < in; k0 += DA_PANEL) {
                unsigned kn = MIN(DA_PANEL, in - k0);

                for (unsigned c = 0; c < cols; c++, d += DA_PANEL) {
                        unsigned q = c / Hp, j = c % Hp, n = j < H ? kn : 0;

                        memcpy(d, w + (size_t) (q * H + j) * in + k0, n * sizeof(float));
                        memset(d + n, 0, (DA_PANEL - n) * sizeof(float));
                }
        }
        ret->rows = in;
        ret->rows_padded = round_up(in, DA_PANEL);
        ret->cols = cols;
}

void pack_gates_bf16(const float *w, unsigned H, unsigned Hp, unsigned cols, uint32_t *d) {
        unsigned words = bf16_words(cols);

        /* row by row, as pack_gates_into(): the reads stream */
        for (unsigned p = 0; p < 4 * Hp / DA_PANEL; p++, d += (size_t) words * DA_PANEL)
                for (unsigned lane = 0; lane < DA_PANEL; lane++) {
                        unsigned r = p * DA_PANEL + lane, q = r / Hp, j = r % Hp;
                        const float *src = w + (size_t) (q * H + j) * cols;
                        uint32_t row[256];

                        if (j >= H) {
                                for (unsigned k = 0; k < words; k++)
                                        d[(size_t) k * DA_PANEL + lane] = 0;
                                continue;
                        }
                        /* rounded in vectors through a buffer, then spread over the panel */
                        for (unsigned k0 = 0; k0 < words; k0 += ELEMENTSOF(row)) {
                                unsigned kn = MIN((unsigned) ELEMENTSOF(row), words - k0);

                                bf16_round_rows(src + 2 * k0, 0, 1, MIN(2 * kn, cols - 2 * k0), row, 0);
                                for (unsigned k = 0; k < kn; k++)
                                        d[(size_t) (k0 + k) * DA_PANEL + lane] = row[k];
                        }
                }
}

void pack_gates_transposed_bf16(const float *w, unsigned H, unsigned Hp, unsigned in, uint32_t *d) {
        /* a word pairs columns j, j + 1 of one gate: Hp is even */
        for (unsigned k0 = 0; k0 < in; k0 += DA_PANEL) {
                unsigned kn = MIN(DA_PANEL, in - k0);

                for (unsigned c = 0; c < 4 * Hp; c += 2, d += DA_PANEL) {
                        unsigned q = c / Hp, j = c % Hp;
                        const float *lo = w + (size_t) (q * H + j) * in + k0;

                        if (j < H)
                                bf16_pair_rows(lo, j + 1 < H ? lo + in : NULL, kn, d);
                        memset(d + (j < H ? kn : 0), 0, (DA_PANEL - (j < H ? kn : 0)) * sizeof(uint32_t));
                }
        }
}

void pack_rows_transposed(const float *X, size_t xs, unsigned n, unsigned cols, da_packed *ret) {
        float *d = ret->data;

        for (unsigned k0 = 0; k0 < cols; k0 += DA_PANEL) {
                unsigned kn = MIN(DA_PANEL, cols - k0);

                for (unsigned i = 0; i < n; i++, d += DA_PANEL) {
                        memcpy(d, X + i * xs + k0, kn * sizeof(float));
                        memset(d + kn, 0, (DA_PANEL - kn) * sizeof(float));
                }
        }
        ret->rows = cols;
        ret->rows_padded = round_up(cols, DA_PANEL);
        ret->cols = n;
}
