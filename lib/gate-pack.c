/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <string.h>

#include "gate-pack.h"
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
