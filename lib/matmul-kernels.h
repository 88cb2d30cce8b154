/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The double-precision products' bodies, included once per instruction set
 * by matmul.c with KTARGET, KNAME, the native double vector vd of KWD lanes,
 * vfl (KWD floats), and HSUM (its lanes summed in a fixed order). */

#define LOAD_D(p) ({ vd l_; memcpy(&l_, (p), sizeof(l_)); l_; })
#define LOAD_F(p) ({ vfl f_; memcpy(&f_, (p), sizeof(f_)); __builtin_convertvector(f_, vd); })
#define STORE_D(p, v)                                   \
        do {                                            \
                vd s_ = (v);                            \
                memcpy((p), &s_, sizeof(s_));           \
        } while (0)

/* Two weight rows against four vectors per pass: 8 accumulators, 6 loads
 * for 8 FMAs. */
static KTARGET void KNAME(matmul_wx_acc)(const float *W, unsigned rows, unsigned cols, const double *X, size_t xs, unsigned B,
                          double *Y, size_t ys) {
        unsigned kv = cols - cols % KWD, r = 0;

        for (; r + 2 <= rows; r += 2) {
                const float *w0 = W + (size_t) r * cols, *w1 = w0 + cols;
                unsigned b = 0;

                for (; b + 4 <= B; b += 4) {
                        const double *x0 = X + b * xs, *x1 = x0 + xs, *x2 = x1 + xs, *x3 = x2 + xs;
                        vd a00 = {}, a01 = {}, a02 = {}, a03 = {}, a10 = {}, a11 = {}, a12 = {}, a13 = {};
                        double s[8] = {};

                        for (unsigned k = 0; k < kv; k += KWD) {
                                vd u = LOAD_F(w0 + k), v = LOAD_F(w1 + k);
                                vd y0 = LOAD_D(x0 + k), y1 = LOAD_D(x1 + k), y2 = LOAD_D(x2 + k),
                                    y3 = LOAD_D(x3 + k);

                                a00 += u * y0;
                                a01 += u * y1;
                                a02 += u * y2;
                                a03 += u * y3;
                                a10 += v * y0;
                                a11 += v * y1;
                                a12 += v * y2;
                                a13 += v * y3;
                        }
                        for (unsigned k = kv; k < cols; k++) {
                                s[0] += w0[k] * x0[k];
                                s[1] += w0[k] * x1[k];
                                s[2] += w0[k] * x2[k];
                                s[3] += w0[k] * x3[k];
                                s[4] += w1[k] * x0[k];
                                s[5] += w1[k] * x1[k];
                                s[6] += w1[k] * x2[k];
                                s[7] += w1[k] * x3[k];
                        }
                        Y[b * ys + r] += HSUM(a00) + s[0];
                        Y[(b + 1) * ys + r] += HSUM(a01) + s[1];
                        Y[(b + 2) * ys + r] += HSUM(a02) + s[2];
                        Y[(b + 3) * ys + r] += HSUM(a03) + s[3];
                        Y[b * ys + r + 1] += HSUM(a10) + s[4];
                        Y[(b + 1) * ys + r + 1] += HSUM(a11) + s[5];
                        Y[(b + 2) * ys + r + 1] += HSUM(a12) + s[6];
                        Y[(b + 3) * ys + r + 1] += HSUM(a13) + s[7];
                }
                for (; b < B; b++) {
                        const double *x0 = X + b * xs;
                        vd a0 = {}, a1 = {};
                        double s0 = 0, s1 = 0;

                        for (unsigned k = 0; k < kv; k += KWD) {
                                vd y = LOAD_D(x0 + k);

                                a0 += LOAD_F(w0 + k) * y;
                                a1 += LOAD_F(w1 + k) * y;
                        }
                        for (unsigned k = kv; k < cols; k++) {
                                s0 += w0[k] * x0[k];
                                s1 += w1[k] * x0[k];
                        }
                        Y[b * ys + r] += HSUM(a0) + s0;
                        Y[b * ys + r + 1] += HSUM(a1) + s1;
                }
        }
        for (; r < rows; r++) {
                const float *w0 = W + (size_t) r * cols;

                for (unsigned b = 0; b < B; b++) {
                        const double *x0 = X + b * xs;
                        vd a0 = {};
                        double s0 = 0;

                        for (unsigned k = 0; k < kv; k += KWD)
                                a0 += LOAD_F(w0 + k) * LOAD_D(x0 + k);
                        for (unsigned k = kv; k < cols; k++)
                                s0 += w0[k] * x0[k];
                        Y[b * ys + r] += HSUM(a0) + s0;
                }
        }
}

/* Blocks of weight rows small enough to stay in cache while every window
 * passes over them; four rows per update of Y. */
#ifndef ROW_BLOCK
#define ROW_BLOCK 32u
#endif

static KTARGET void KNAME(matmul_wtd_acc)(const float *W, unsigned rows, unsigned cols, const double *D, size_t ds, unsigned B,
                           double *Y, size_t ys) {
        unsigned kv = cols - cols % KWD;

        for (unsigned r0 = 0; r0 < rows; r0 += ROW_BLOCK) {
                unsigned r1 = r0 + ROW_BLOCK < rows ? r0 + ROW_BLOCK : rows;

                for (unsigned b = 0; b < B; b++) {
                        const double *d = D + b * ds;
                        double *y = Y + b * ys;
                        unsigned r = r0;

                        for (; r + 4 <= r1; r += 4) {
                                const float *w0 = W + (size_t) r * cols, *w1 = w0 + cols, *w2 = w1 + cols,
                                            *w3 = w2 + cols;
                                double d0 = d[r], d1 = d[r + 1], d2 = d[r + 2], d3 = d[r + 3];

                                if (d0 == 0 && d1 == 0 && d2 == 0 && d3 == 0)
                                        continue;
                                for (unsigned k = 0; k < kv; k += KWD)
                                        STORE_D(y + k, LOAD_D(y + k) + LOAD_F(w0 + k) * d0 + LOAD_F(w1 + k) * d1 +
                                                               LOAD_F(w2 + k) * d2 + LOAD_F(w3 + k) * d3);
                                for (unsigned k = kv; k < cols; k++)
                                        y[k] += w0[k] * d0 + w1[k] * d1 + w2[k] * d2 + w3[k] * d3;
                        }
                        for (; r < r1; r++) {
                                const float *w0 = W + (size_t) r * cols;

                                for (unsigned k = 0; k < cols; k++)
                                        y[k] += w0[k] * d[r];
                        }
                }
        }
}

static KTARGET void KNAME(matmul_outer_acc)(double *G, unsigned rows, unsigned cols, const double *D, size_t ds, const double *X,
                             size_t xs, unsigned B) {
        unsigned kv = cols - cols % KWD;

        for (unsigned r = 0; r < rows; r++) {
                double *g = G + (size_t) r * cols;

                for (unsigned k = 0; k < kv; k += KWD) {
                        vd a = LOAD_D(g + k);

                        for (unsigned b = 0; b < B; b++)
                                a += D[b * ds + r] * LOAD_D(X + b * xs + k);
                        STORE_D(g + k, a);
                }
                for (unsigned k = kv; k < cols; k++) {
                        double a = g[k];

                        for (unsigned b = 0; b < B; b++)
                                a += D[b * ds + r] * X[b * xs + k];
                        g[k] = a;
                }
        }
}

#undef LOAD_D
#undef LOAD_F
#undef STORE_D
