/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The float batch kernels behind Integrated Gradients against plain double
 * loops written from the definitions: the panel products (forward and
 * transposed weights), the LSTM cell forward and its backward (against
 * central differences of the forward), and that a window's result does not
 * depend on the batch it runs in. */

#include <check.h>
#include <math.h>

#include "batch-kernels.h"
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
        tcase_add_test(tc, test_cell);
        tcase_add_test(tc, test_affine_weighted);
        suite_add_tcase(s, tc);
        sr = srunner_create(s);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
