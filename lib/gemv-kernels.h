/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernels' bodies, included once per instruction set by gemv.c with
 * KTARGET (a target attribute, or nothing), KNAME (the variant's name), and
 * the variant's native vector: vf/vi of KW floats/ints. Each variant works
 * in its own register width; a wider type would be split by the compiler
 * through memory and run many times slower. */

#define KN (DA_PANEL / KW)      /* vectors per panel row */

static KTARGET void KNAME(gemv_panels_acc)(const da_packed *W, const float *v, float *y) {
        unsigned cols = W->cols, n = W->rows_padded / DA_PANEL;

        for (unsigned p = 0; p < n; p++) {
                const vf *w = (const vf *) (W->data + (size_t) p * cols * DA_PANEL);
                vf *out = (vf *) (y + (size_t) p * DA_PANEL);
                /* one accumulator per vector of the panel row: independent
                 * chains that hide the FMA latency, kept in registers by
                 * unrolling the loops over them */
                vf acc[KN];

#pragma GCC unroll 16
                for (unsigned q = 0; q < KN; q++)
                        acc[q] = out[q];
                for (unsigned k = 0; k < cols; k++, w += KN) {
                        float s = v[k];

#pragma GCC unroll 16
                        for (unsigned q = 0; q < KN; q++)
                                acc[q] += w[q] * s;
                }
#pragma GCC unroll 16
                for (unsigned q = 0; q < KN; q++)
                        out[q] = acc[q];
        }
}

static KTARGET void KNAME(lstm_cell)(const float *g, float *c, float *h, unsigned Hp, float *ret_i) {
        for (unsigned j = 0; j < Hp; j += KW) {
                vf gi = *(const vf *) (g + j);
                vf gf = *(const vf *) (g + Hp + j);
                vf gg = *(const vf *) (g + 2 * Hp + j);
                vf go = *(const vf *) (g + 3 * Hp + j);
                vf i = VSIGMOID(gi), f = VSIGMOID(gf), cand = VTANH(gg), o = VSIGMOID(go);
                vf cn = f * *(vf *) (c + j) + i * cand;

                *(vf *) (c + j) = cn;
                *(vf *) (h + j) = o * VTANH(cn);
                if (ret_i)
                        *(vf *) (ret_i + j) = i;
        }
}

#undef KN
