/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The float batch kernels behind Integrated Gradients against plain double
 * loops written from the definitions: the panel products (forward and
 * transposed weights), the LSTM cell forward and its backward (against
 * central differences of the forward), and that a window's result does not
 * depend on the batch it runs in. The bf16 products against the sum
 * VDPBF16PS defines, written out with fmaf(), in every kernel variant
 * (tests/test-kernels.sh), so all of them give its bits. */

#include <check.h>
#include <math.h>

#include "batch-kernels.h"
#include "gemm-bf16.h"
#include "util.h"

static float uniform(uint64_t *s) {
        return 2 * da_uniform01(s) - 1;
}

/* A rows × cols matrix packed as model.h describes: panels of 64 rows,
 * column-major inside a panel, padded rows zero. */
static da_packed pack(const float *w, unsigned rows, unsigned cols) {
        unsigned rp = (rows + DA_PANEL - 1) / DA_PANEL * DA_PANEL;
        da_packed p = { rows, rp, cols, aligned_alloc0((size_t) rp * cols) };

        ck_assert_ptr_nonnull(p.data);
        for (unsigned r = 0; r < rows; r++)
                for (unsigned c = 0; c < cols; c++)
                        p.data[(size_t) (r / DA_PANEL) * cols * DA_PANEL + (size_t) c * DA_PANEL + r % DA_PANEL] =
                                w[(size_t) r * cols + c];
        return p;
}

START_TEST(test_gemm) {
        /* shapes of the IG path: 4Hp × H forward, H × 4Hp transposed, and
         * odd ones: rows not a panel multiple, more columns than one pass */
        static const unsigned shapes[][2] = { { 256, 64 }, { 64, 256 }, { 40, 256 }, { 100, 1100 }, { 64, 1 } };

        for (size_t sh = 0; sh < ELEMENTSOF(shapes); sh++) {
                unsigned rows = shapes[sh][0], cols = shapes[sh][1], B = 13;
                unsigned rp = (rows + DA_PANEL - 1) / DA_PANEL * DA_PANEL, xs = cols + 3;
                _cleanup_free_ float *w = calloc((size_t) rows * cols, sizeof(float)), *x = NULL, *y = NULL,
                                     *y1 = NULL;
                uint64_t s = 7 + sh;
                da_packed P;

                ck_assert_ptr_nonnull(w);
                for (size_t i = 0; i < (size_t) rows * cols; i++)
                        w[i] = uniform(&s);
                P = pack(w, rows, cols);
                x = calloc((size_t) B * xs, sizeof(float));
                y = aligned_alloc0((size_t) B * rp);
                y1 = aligned_alloc0(rp);
                ck_assert(x && y && y1);
                for (size_t i = 0; i < (size_t) B * xs; i++)
                        x[i] = uniform(&s);
                for (size_t i = 0; i < (size_t) B * rp; i++)
                        y[i] = 0.25f;

                gemm_panels_acc(&P, x, xs, B, y, rp);
                for (unsigned b = 0; b < B; b++) {
                        for (unsigned r = 0; r < rp; r++) {
                                double e = 0.25;

                                if (r < rows)
                                        for (unsigned c = 0; c < cols; c++)
                                                e += (double) w[(size_t) r * cols + c] * x[(size_t) b * xs + c];
                                /* float sums of `cols` products of size ≤ 1 */
                                ck_assert_msg(fabs(y[(size_t) b * rp + r] - e) <= 1e-6 * (cols + 1),
                                              "%ux%u b=%u r=%u: %g, expected %g", rows, cols, b, r,
                                              y[(size_t) b * rp + r], e);
                        }
                        /* the same window alone gives the same bits */
                        for (unsigned r = 0; r < rp; r++)
                                y1[r] = 0.25f;
                        gemm_panels_acc(&P, x + (size_t) b * xs, xs, 1, y1, rp);
                        ck_assert_int_eq(memcmp(y1, y + (size_t) b * rp, rp * sizeof(float)), 0);
                }
                free(P.data);
        }
}
END_TEST

static float word_float(uint32_t u) {
        float f;

        memcpy(&f, &u, sizeof(f));
        return f;
}

/* VDPBF16PS's treatment of subnormals: a zero of the same sign */
static float flush(float f) {
        return fpclassify(f) == FP_SUBNORMAL ? copysignf(0, f) : f;
}

/* A value of either half of a word, subnormal as zero. */
static float half_value(uint32_t w, bool high) {
        return flush(word_float(high ? w & 0xffff0000u : w << 16));
}

START_TEST(test_bf16_round) {
        static const float v[] = { 1.0f, -1.0f, 1.00390625f /* tie: stays even */, 1.01171875f /* tie: up */,
                                   3.14159265f, -2.5e-3f, 1e-39f /* subnormal */, -1e-40f, 0.0f, 3e38f };
        uint32_t w[ELEMENTSOF(v) / 2];

        bf16_round_rows(v, 0, 1, ELEMENTSOF(v), w, 0);
        for (unsigned k = 0; k < ELEMENTSOF(v); k++) {
                float got = word_float(k % 2 ? w[k / 2] & 0xffff0000u : w[k / 2] << 16);
                float want = fpclassify(v[k]) == FP_SUBNORMAL ? copysignf(0, v[k]) : bf16_to_float(float_to_bf16(v[k]));

                ck_assert_msg(memcmp(&got, &want, sizeof(got)) == 0, "%g rounds to %g, expected %g", v[k], got, want);
        }
        /* an odd row pads with zero */
        bf16_round_rows(v, 0, 1, 3, w, 0);
        ck_assert_uint_eq(w[1] >> 16, 0);

        /* long rows, through the vector code, against float_to_bf16() value by value */
        {
                enum { N = 301 };
                float a[N], b[N];
                uint32_t r[(N + 1) / 2], pr[N];
                uint64_t s = 5;

                for (unsigned i = 0; i < N; i++) {
                        a[i] = da_splitmix64(&s) % 7 == 0 ? 1e-39f * uniform(&s) :
                                                            ldexpf(uniform(&s), (int) (da_splitmix64(&s) % 60) - 30);
                        b[i] = ldexpf(uniform(&s), (int) (da_splitmix64(&s) % 60) - 30);
                }
                bf16_round_rows(a, 0, 1, N, r, 0);
                bf16_pair_rows(a, b, N, pr);
                for (unsigned i = 0; i < N; i++) {
                        uint32_t want = float_to_bf16(flush(a[i])), wb = float_to_bf16(flush(b[i]));

                        ck_assert_uint_eq(i % 2 ? r[i / 2] >> 16 : r[i / 2] & 0xffff, want);
                        ck_assert_uint_eq(pr[i], want | wb << 16);
                }
                bf16_pair_rows(a, NULL, N, pr);
                for (unsigned i = 0; i < N; i++)
                        ck_assert_uint_eq(pr[i], float_to_bf16(flush(a[i])));
        }
}
END_TEST

START_TEST(test_gemm_bf16) {
        /* the trainer's shapes (4Hp × H, H × 4Hp, gradient panels), an odd
         * column count, more words than one pass, and rows not a panel
         * multiple */
        static const unsigned shapes[][2] = { { 256, 64 }, { 64, 256 }, { 40, 1101 }, { 128, 577 }, { 64, 1 } };

        for (size_t sh = 0; sh < ELEMENTSOF(shapes); sh++) {
                unsigned rows = shapes[sh][0], cols = shapes[sh][1], B = 13, words = bf16_words(cols);
                unsigned rp = (rows + DA_PANEL - 1) / DA_PANEL * DA_PANEL;
                size_t xs = words + 2;
                _cleanup_free_ float *w = calloc((size_t) rows * cols, sizeof(float)), *x = NULL, *y = NULL,
                                     *y0 = NULL, *y1 = NULL;
                _cleanup_free_ uint32_t *wb = NULL, *xb = NULL;
                uint64_t s = 11 + sh;
                da_packed P;

                ck_assert_ptr_nonnull(w);
                /* magnitudes over many binades, exact zeros and subnormals */
                for (size_t i = 0; i < (size_t) rows * cols; i++) {
                        uint64_t kind = da_splitmix64(&s) % 16;

                        w[i] = kind == 0 ? 0 : kind == 1 ? 1e-39f * uniform(&s) :
                                                          ldexpf(uniform(&s), (int) (da_splitmix64(&s) % 24) - 12);
                }
                P = pack(w, rows, cols);
                wb = aligned_alloc(64, bf16_panel_words(&P) * sizeof(uint32_t));
                x = calloc((size_t) B * cols, sizeof(float));
                xb = calloc((size_t) B * xs, sizeof(uint32_t));
                y = aligned_alloc0((size_t) B * rp);
                y0 = aligned_alloc0((size_t) B * rp);
                y1 = aligned_alloc0(rp);
                ck_assert(wb && x && xb && y && y0 && y1);
                bf16_round_panels(&P, wb);
                for (size_t i = 0; i < (size_t) B * cols; i++)
                        x[i] = ldexpf(uniform(&s), (int) (da_splitmix64(&s) % 8) - 4);
                bf16_round_rows(x, cols, B, cols, xb, xs);
                for (size_t i = 0; i < (size_t) B * rp; i++)
                        y0[i] = uniform(&s);

                gemm_bf16(&P, wb, xb, xs, B, y0, rp, y, rp, rp);
                for (unsigned b = 0; b < B; b++) {
                        for (unsigned r = 0; r < rp; r++) {
                                float e = y0[(size_t) b * rp + r];
                                double exact = e, mag = fabs(e);

                                for (unsigned k = 0; k < words; k++) {
                                        /* the weight pair of row r, as packed_reduce() lays it out */
                                        float wl = 0, wh = 0;
                                        uint32_t xw = xb[(size_t) b * xs + k];

                                        if (r < rows) {
                                                uint32_t lo = float_to_bf16(flush(w[(size_t) r * cols + 2 * k]));
                                                uint32_t hi = 2 * k + 1 < cols ?
                                                        float_to_bf16(flush(w[(size_t) r * cols + 2 * k + 1])) : 0;

                                                wl = half_value(lo | hi << 16, false);
                                                wh = half_value(lo | hi << 16, true);
                                        }
                                        e = flush(fmaf(wh, half_value(xw, true), e));
                                        e = flush(fmaf(wl, half_value(xw, false), e));
                                }
                                if (r < rows)
                                        for (unsigned c = 0; c < cols; c++) {
                                                double t = (double) w[(size_t) r * cols + c] * x[(size_t) b * cols + c];

                                                exact += t;
                                                mag += fabs(t);
                                        }
                                ck_assert_msg(memcmp(&e, &y[(size_t) b * rp + r], sizeof(e)) == 0,
                                              "%ux%u b=%u r=%u: %a, the defined sum %a", rows, cols, b, r,
                                              y[(size_t) b * rp + r], e);
                                /* and near the product of the unrounded operands: two roundings to
                                 * 8 bits per term, one float rounding per addition */
                                ck_assert_msg(fabs(e - exact) <= (2 * 0x1p-8 + 2.0 * cols * 0x1p-24) * mag + 1e-30,
                                              "%ux%u b=%u r=%u: %g, exact %g", rows, cols, b, r, e, exact);
                        }
                        /* the same window alone gives the same bits */
                        gemm_bf16(&P, wb, xb + (size_t) b * xs, xs, 1, y0 + (size_t) b * rp, rp, y1, rp, rp);
                        ck_assert_int_eq(memcmp(y1, y + (size_t) b * rp, rp * sizeof(float)), 0);
                }
                /* without Y0: the same as from zeros */
                memset(y0, 0, (size_t) B * rp * sizeof(float));
                gemm_bf16(&P, wb, xb, xs, B, y0, rp, y, rp, rp);
                gemm_bf16(&P, wb, xb, xs, B, NULL, 0, y0, rp, rp);
                ck_assert_int_eq(memcmp(y, y0, (size_t) B * rp * sizeof(float)), 0);
                /* the first `rows` columns only, into rows `rows` + 1 floats apart (unaligned): the
                 * same values, and the float after each row untouched */
                {
                        size_t ys = rows + 1;
                        _cleanup_free_ float *z = malloc((B * ys + 1) * sizeof(float));

                        ck_assert_ptr_nonnull(z);
                        for (size_t i = 0; i < B * ys + 1; i++)
                                z[i] = -7.0f;
                        gemm_bf16(&P, wb, xb, xs, B, NULL, 0, z + 1, ys, rows);
                        for (unsigned b = 0; b < B; b++) {
                                ck_assert_int_eq(memcmp(z + 1 + b * ys, y + (size_t) b * rp, rows * sizeof(float)), 0);
                                ck_assert(z[1 + b * ys + rows] == -7.0f);
                        }
                        ck_assert(z[0] == -7.0f);
                }
                free(P.data);
        }
        printf("bf16 products: %s\n", gemm_bf16_native() ? "VDPBF16PS" : "emulated with float FMAs");
}
END_TEST

static double sigmoid(double v) {
        return 1 / (1 + exp(-v));
}

/* One unit's cell in double: c = σ(f)·c′ + σ(i)·tanh(g), h = σ(o)·tanh(c). */
static double cell_h(const double pre[4], double c_prev, double *ret_c) {
        double c = sigmoid(pre[1]) * c_prev + sigmoid(pre[0]) * tanh(pre[2]);

        if (ret_c)
                *ret_c = c;
        return sigmoid(pre[3]) * tanh(c);
}

START_TEST(test_cell) {
        const unsigned Hp = 32, B = 3;
        _cleanup_free_ float *a = aligned_alloc0(B * 4 * Hp), *pre = aligned_alloc0(B * 4 * Hp),
                             *cp = aligned_alloc0(B * Hp), *c = aligned_alloc0(B * Hp), *tc = aligned_alloc0(B * Hp),
                             *h = aligned_alloc0(B * Hp), *dh = aligned_alloc0(B * Hp), *dc = aligned_alloc0(B * Hp),
                             *dc_in = aligned_alloc0(B * Hp), *dp = aligned_alloc0(B * 4 * Hp);
        uint64_t s = 3;

        for (unsigned i = 0; i < B * 4 * Hp; i++)
                a[i] = pre[i] = 3 * uniform(&s);
        for (unsigned i = 0; i < B * Hp; i++) {
                cp[i] = uniform(&s);
                dc[i] = dc_in[i] = uniform(&s);
                dh[i] = uniform(&s);
        }

        lstm_cell_forward_batch(a, cp, c, tc, h, Hp, B);
        lstm_cell_backward_batch(a, cp, tc, dh, Hp, dc, dp, Hp, B);

        for (unsigned b = 0; b < B; b++)
                for (unsigned j = 0; j < Hp; j++) {
                        size_t u = (size_t) b * Hp + j;
                        double p[4], ce, he;

                        for (unsigned q = 0; q < 4; q++)
                                p[q] = pre[(size_t) b * 4 * Hp + q * Hp + j];
                        he = cell_h(p, cp[u], &ce);
                        ck_assert_double_eq_tol(c[u], ce, 1e-6);
                        ck_assert_double_eq_tol(h[u], he, 1e-6);
                        ck_assert_double_eq_tol(tc[u], tanh(ce), 1e-6);
                        ck_assert_double_eq_tol(a[(size_t) b * 4 * Hp + j], sigmoid(p[0]), 1e-6);
                        ck_assert_double_eq_tol(a[(size_t) b * 4 * Hp + 2 * Hp + j], tanh(p[2]), 1e-6);

                        /* L = dh·h + dc_in·c: its central differences in each
                         * pre-activation are the δs the backward returns */
                        for (unsigned q = 0; q < 4; q++) {
                                double hp, hm, cpl, cmi, eps = 1e-5, saved = p[q], fd;

                                p[q] = saved + eps;
                                hp = cell_h(p, cp[u], &cpl);
                                p[q] = saved - eps;
                                hm = cell_h(p, cp[u], &cmi);
                                p[q] = saved;
                                fd = (dh[u] * (hp - hm) + dc_in[u] * (cpl - cmi)) / (2 * eps);
                                ck_assert_msg(fabs(dp[(size_t) b * 4 * Hp + q * Hp + j] - fd) <= 1e-5,
                                              "gate %u unit %u: %g, finite differences %g", q, j,
                                              dp[(size_t) b * 4 * Hp + q * Hp + j], fd);
                        }
                        /* and δc′ = δc·σ(f) */
                        {
                                double dcell = dc_in[u] + dh[u] * sigmoid(p[3]) * (1 - tanh(ce) * tanh(ce));

                                ck_assert_double_eq_tol(dc[u], dcell * sigmoid(p[1]), 1e-5);
                        }
                }
}
END_TEST

START_TEST(test_affine_weighted) {
        const unsigned n = 48, B = 5;
        _cleanup_free_ float *y = aligned_alloc0(B * n), *u = aligned_alloc0(n), *v = aligned_alloc0(n),
                             *d = aligned_alloc0(B * n);
        _cleanup_free_ double *acc = NULL;
        float alpha[5] = { 0, 0.25f, 0.5f, 1, -2 };
        double w[5] = { 1, -1, 0.5, 2, 0 };

        ck_assert_int_eq(posix_memalign((void **) &acc, 64, n * sizeof(double)), 0);
        for (unsigned r = 0; r < n; r++) {
                u[r] = (float) r;
                v[r] = 1.0f / (r + 1);
                acc[r] = 1;
        }
        for (unsigned i = 0; i < B * n; i++)
                d[i] = (float) (i % 7);

        affine_rows(y, u, v, alpha, n, B);
        weighted_rows_acc(acc, d, w, n, B);
        for (unsigned r = 0; r < n; r++) {
                double e = 1;

                for (unsigned b = 0; b < B; b++) {
                        ck_assert_float_eq_tol(y[b * n + r], (float) r + alpha[b] / (r + 1), 1e-6f);
                        e += w[b] * ((b * n + r) % 7);
                }
                ck_assert_double_eq(acc[r], e);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("batch-kernels");
        TCase *tc = tcase_create("kernels");
        SRunner *sr;
        int failed;

        tcase_add_test(tc, test_gemm);
        tcase_add_test(tc, test_bf16_round);
        tcase_add_test(tc, test_gemm_bf16);
        tcase_add_test(tc, test_cell);
        tcase_add_test(tc, test_affine_weighted);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
