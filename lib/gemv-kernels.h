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

/* As gemv_panels_acc on reduced panels (see da_packed). The widening is
 * the only extra work; accumulation is float32, in twice the chains since
 * the conversion lengthens each FMA's dependency. */
static KTARGET void KNAME(gemv_panels_acc_bf16)(const da_packed *W, const float *v, float *y) {
        unsigned cols = W->cols, n = W->rows_padded / DA_PANEL;
        size_t stride = (size_t) (cols + 1) / 2 * DA_PANEL;

        for (unsigned p = 0; p < n; p++) {
                const vu *w = (const vu *) ((const uint32_t *) W->reduced + p * stride);
                vf *out = (vf *) (y + (size_t) p * DA_PANEL);
                vf lo[KN], hi[KN];

#pragma GCC unroll 16
                for (unsigned q = 0; q < KN; q++) {
                        lo[q] = out[q];
                        hi[q] = (vf) {};
                }
                for (unsigned k = 0; k + 1 < cols; k += 2, w += KN) {
                        float s0 = v[k], s1 = v[k + 1];

#pragma GCC unroll 16
                        for (unsigned q = 0; q < KN; q++) {
                                lo[q] += (vf) (w[q] << 16) * s0;
                                hi[q] += (vf) (w[q] & 0xffff0000u) * s1;
                        }
                }
                if (cols & 1) {
                        float s0 = v[cols - 1];

#pragma GCC unroll 16
                        for (unsigned q = 0; q < KN; q++)
                                lo[q] += (vf) (w[q] << 16) * s0;
                }
#pragma GCC unroll 16
                for (unsigned q = 0; q < KN; q++)
                        out[q] = lo[q] + hi[q];
        }
}

static KTARGET void KNAME(gemv_panels_acc_f16)(const da_packed *W, const float *v, float *y) {
        unsigned cols = W->cols, n = W->rows_padded / DA_PANEL;

        for (unsigned p = 0; p < n; p++) {
                const vh *w = (const vh *) ((const uint16_t *) W->reduced + (size_t) p * cols * DA_PANEL);
                vf *out = (vf *) (y + (size_t) p * DA_PANEL);
                vf a[KN], b[KN];
                unsigned k = 0;

#pragma GCC unroll 16
                for (unsigned q = 0; q < KN; q++) {
                        a[q] = out[q];
                        b[q] = (vf) {};
                }
                for (; k + 1 < cols; k += 2, w += 2 * KN) {
                        float s0 = v[k], s1 = v[k + 1];

#pragma GCC unroll 16
                        for (unsigned q = 0; q < KN; q++) {
                                a[q] += HALF_TO_FLOAT(w[q]) * s0;
                                b[q] += HALF_TO_FLOAT(w[KN + q]) * s1;
                        }
                }
                if (k < cols) {
                        float s0 = v[k];

#pragma GCC unroll 16
                        for (unsigned q = 0; q < KN; q++)
                                a[q] += HALF_TO_FLOAT(w[q]) * s0;
                }
#pragma GCC unroll 16
                for (unsigned q = 0; q < KN; q++)
                        out[q] = a[q] + b[q];
        }
}

/* Σ_k q[r,k]·v[k] in float (exact for the products, |q| ≤ 127), then one
 * multiply by the row's scale. */
static KTARGET void KNAME(gemv_panels_acc_i8)(const da_packed *W, const float *v, float *y) {
        unsigned cols = W->cols, n = W->rows_padded / DA_PANEL;

        for (unsigned p = 0; p < n; p++) {
                const int8_t *w = (const int8_t *) W->reduced + (size_t) p * cols * DA_PANEL;
                const vf *scale = (const vf *) (W->scale + (size_t) p * DA_PANEL);
                vf *out = (vf *) (y + (size_t) p * DA_PANEL);
                vf a[KN], b[KN];
                unsigned k = 0;

#pragma GCC unroll 16
                for (unsigned q = 0; q < KN; q++)
                        a[q] = b[q] = (vf) {};
                for (; k + 1 < cols; k += 2, w += 2 * DA_PANEL) {
                        float s0 = v[k], s1 = v[k + 1];

#pragma GCC unroll 16
                        for (unsigned q = 0; q < KN; q++) {
                                a[q] += I8_TO_FLOAT(w + q * KW) * s0;
                                b[q] += I8_TO_FLOAT(w + DA_PANEL + q * KW) * s1;
                        }
                }
                if (k < cols) {
                        float s0 = v[k];

#pragma GCC unroll 16
                        for (unsigned q = 0; q < KN; q++)
                                a[q] += I8_TO_FLOAT(w + q * KW) * s0;
                }
#pragma GCC unroll 16
                for (unsigned q = 0; q < KN; q++)
                        out[q] += (a[q] + b[q]) * scale[q];
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
