/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The kernels' bodies, included once per instruction set by gemv.c with
 * KTARGET (a target attribute, or nothing) and KNAME (the variant's name). */

static KTARGET void KNAME(gemv_panels_acc)(const da_packed *W, const float *v, float *y) {
        unsigned cols = W->cols, n = W->rows_padded / DA_PANEL;

        for (unsigned p = 0; p < n; p++) {
                const v16f *w = (const v16f *) (W->data + (size_t) p * cols * DA_PANEL);
                v16f *out = (v16f *) (y + (size_t) p * DA_PANEL);
                /* Four independent accumulators hide the FMA latency. */
                v16f a0 = out[0], a1 = out[1], a2 = out[2], a3 = out[3];

                for (unsigned k = 0; k < cols; k++, w += 4) {
                        float s = v[k];

                        a0 += w[0] * s;
                        a1 += w[1] * s;
                        a2 += w[2] * s;
                        a3 += w[3] * s;
                }
                out[0] = a0;
                out[1] = a1;
                out[2] = a2;
                out[3] = a3;
        }
}

static KTARGET void KNAME(lstm_cell)(const float *g, float *c, float *h, unsigned Hp, float *ret_i) {
        for (unsigned j = 0; j < Hp; j += DA_LANES) {
                v16f gi = *(const v16f *) (g + j);
                v16f gf = *(const v16f *) (g + Hp + j);
                v16f gg = *(const v16f *) (g + 2 * Hp + j);
                v16f go = *(const v16f *) (g + 3 * Hp + j);
                v16f i = VSIGMOID(gi), f = VSIGMOID(gf), cand = VTANH(gg), o = VSIGMOID(go);
                v16f cn = f * *(v16f *) (c + j) + i * cand;

                *(v16f *) (c + j) = cn;
                *(v16f *) (h + j) = o * VTANH(cn);
                if (ret_i)
                        *(v16f *) (ret_i + j) = i;
        }
}

static KTARGET void KNAME(gate_trace_acc)(const float *A, const float *i, const float *x, unsigned F, unsigned Hp, float *out) {
        for (unsigned f = 0; f < F; f++) {
                const v16f *a = (const v16f *) (A + (size_t) f * Hp);
                v16f acc = {};
                float s = 0;

                for (unsigned j = 0; j < Hp / DA_LANES; j++)
                        acc += a[j] * ((const v16f *) i)[j];
                for (unsigned l = 0; l < DA_LANES; l++)
                        s += acc[l];
                out[f] += fabsf(x[f]) * s;
        }
}
