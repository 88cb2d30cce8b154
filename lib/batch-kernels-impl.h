/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The batch kernels' bodies, included once per instruction set by
 * batch-kernels.c with KTARGET (a target attribute, or nothing), KNAME (the
 * variant's name), the native vectors vf (KW floats) and vd (KWD doubles,
 * loaded from vfd floats), KROWV (row vectors per register tile) and KNB
 * (windows per register tile). */

/* One register tile: KROWV·KW rows of a panel (w, DA_PANEL floats per
 * column) against nb windows over kn columns, added to Y0 (zeros when NULL)
 * and stored to Y. */
static inline __attribute__((always_inline)) KTARGET void KNAME(gemm_tile)(const float *w, unsigned kn, const float *x,
                                                                          size_t xs, const float *y0, size_t y0s,
                                                                          float *y, size_t ys, const unsigned nb) {
        vf acc[KROWV][KNB];

#pragma GCC unroll 8
        for (unsigned i = 0; i < nb; i++)
#pragma GCC unroll 4
                for (unsigned v = 0; v < KROWV; v++)
                        acc[v][i] = y0 ? *(const vf *) (y0 + i * y0s + v * KW) : (vf) {};

        for (unsigned k = 0; k < kn; k++, w += DA_PANEL) {
                vf wv[KROWV];

#pragma GCC unroll 4
                for (unsigned v = 0; v < KROWV; v++)
                        wv[v] = ((const vf *) w)[v];
#pragma GCC unroll 8
                for (unsigned i = 0; i < nb; i++) {
                        float s = x[i * xs + k];

#pragma GCC unroll 4
                        for (unsigned v = 0; v < KROWV; v++)
                                acc[v][i] += wv[v] * s;
                }
        }

#pragma GCC unroll 8
        for (unsigned i = 0; i < nb; i++)
#pragma GCC unroll 4
                for (unsigned v = 0; v < KROWV; v++)
                        *(vf *) (y + i * ys + v * KW) = acc[v][i];
}

static KTARGET void KNAME(gemm_panels)(const da_packed *W, const float *X, size_t xs, unsigned B, const float *Y0,
                                       size_t y0s, float *Y, size_t ys) {
        unsigned cols = W->cols, n = W->rows_padded / DA_PANEL, groups = (B + KNB - 1) / KNB;

        for (unsigned p = 0; p < n; p++)
                for (unsigned k0 = 0; k0 < cols; k0 += GEMM_KC) {
                        unsigned kn = MIN(GEMM_KC, cols - k0);

                        for (unsigned sub = 0; sub < DA_PANEL; sub += KROWV * KW) {
                                const float *w = W->data + ((size_t) p * cols + k0) * DA_PANEL + sub;
                                unsigned b = 0;

                                /* groups as equal as they can be, so no window is left alone in a tile */
                                for (unsigned g = 0; g < groups; g++) {
                                        unsigned nb = (B - b) / (groups - g);
                                        const float *x = X + b * xs + k0;
                                        float *y = Y + b * ys + (size_t) p * DA_PANEL + sub;
                                        const float *y0 = Y0 ? Y0 + b * y0s + (size_t) p * DA_PANEL + sub : NULL;
                                        size_t y0s_ = y0s;

                                        /* column blocks after the first add to what the one before stored */
                                        if (k0 > 0) {
                                                y0 = y;
                                                y0s_ = ys;
                                        }

                                        switch (nb) {
#define TILE_CASE(c)                                                            \
                                        case c:                                 \
                                                KNAME(gemm_tile)(w, kn, x, xs, y0, y0s_, y, ys, c); \
                                                break;
                                        TILE_CASES
#undef TILE_CASE
                                        }
                                        b += nb;
                                }
                        }
                }
}

static KTARGET void KNAME(lstm_cell_forward_batch)(float *a, const float *c_prev, float *c, float *tc, float *h,
                                                   unsigned Hp, unsigned B) {
        for (unsigned b = 0; b < B; b++) {
                float *g = a + (size_t) b * 4 * Hp;
                size_t o = (size_t) b * Hp;

                for (unsigned j = 0; j < Hp; j += KW) {
                        vf *pi = (vf *) (g + j), *pf = (vf *) (g + Hp + j), *pg = (vf *) (g + 2 * Hp + j),
                             *po = (vf *) (g + 3 * Hp + j);
                        vf i = VSIGMOID(*pi), f = VSIGMOID(*pf), cand = VTANH(*pg), out = VSIGMOID(*po);
                        vf cn = i * cand, t;

                        if (c_prev)
                                cn += f * *(const vf *) (c_prev + o + j);
                        t = VTANH(cn);
                        *pi = i;
                        *pf = f;
                        *pg = cand;
                        *po = out;
                        *(vf *) (c + o + j) = cn;
                        *(vf *) (tc + o + j) = t;
                        *(vf *) (h + o + j) = out * t;
                }
        }
}

static KTARGET void KNAME(lstm_cell_backward_batch)(const float *a, const float *c_prev, const float *tc,
                                                    const float *dh, size_t dhs, float *dc, float *dp, unsigned Hp,
                                                    unsigned B) {
        for (unsigned b = 0; b < B; b++) {
                const float *g = a + (size_t) b * 4 * Hp;
                float *d = dp + (size_t) b * 4 * Hp;
                size_t o = (size_t) b * Hp;

                for (unsigned j = 0; j < Hp; j += KW) {
                        vf i = *(const vf *) (g + j), f = *(const vf *) (g + Hp + j),
                             cand = *(const vf *) (g + 2 * Hp + j), out = *(const vf *) (g + 3 * Hp + j);
                        vf t = *(const vf *) (tc + o + j), d_h = *(const vf *) (dh + b * dhs + j);
                        vf d_c = *(vf *) (dc + o + j) + d_h * out * (1.0f - t * t);

                        *(vf *) (d + j) = d_c * cand * i * (1.0f - i);
                        *(vf *) (d + Hp + j) = c_prev ? d_c * *(const vf *) (c_prev + o + j) * f * (1.0f - f) :
                                                          (vf) {};
                        *(vf *) (d + 2 * Hp + j) = d_c * i * (1.0f - cand * cand);
                        *(vf *) (d + 3 * Hp + j) = d_h * t * out * (1.0f - out);
                        *(vf *) (dc + o + j) = d_c * f;
                }
        }
}

static KTARGET void KNAME(affine_rows)(float *y, const float *u, const float *v, const float *alpha, unsigned n,
                                       unsigned B) {
        for (unsigned b = 0; b < B; b++) {
                vf *out = (vf *) (y + (size_t) b * n);
                float al = alpha[b];

                for (unsigned r = 0; r < n / KW; r++)
                        out[r] = ((const vf *) u)[r] + al * ((const vf *) v)[r];
        }
}

static KTARGET void KNAME(weighted_rows_acc)(double *acc, const float *d, const double *w, unsigned n, unsigned B) {
        for (unsigned r = 0; r < n; r += KWD) {
                vd s = *(const vd *) (acc + r);

                for (unsigned b = 0; b < B; b++) {
                        vfd v;

                        memcpy(&v, d + (size_t) b * n + r, sizeof(v));
                        s += w[b] * __builtin_convertvector(v, vd);
                }
                *(vd *) (acc + r) = s;
        }
}
