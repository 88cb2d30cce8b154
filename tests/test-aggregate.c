/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The DeepACTIF aggregations (DESIGN §4.3) against values worked out by
 * hand, INV's invariance to scale and PEN's lack of it, and bad input. */

#include <check.h>
#include <math.h>

#include "util.h"

#define EPS_INV 1e-8
#define EPS_PEN 0.01

static void assert_close(double got, double want, double rel, const char *what, unsigned f) {
        ck_assert_msg(fabs(got - want) <= rel * fabs(want) + 1e-300,
                      "%s[%u]: got %.17g, want %.17g", what, f, got, want);
}

static void assert_order(const double *scores, unsigned f, const unsigned *want) {
        unsigned order[16];

        ck_assert_int_eq(da_ranking(scores, f, order), 0);
        for (unsigned k = 0; k < f; k++)
                ck_assert_msg(order[k] == want[k], "rank %u: feature %u, want %u", k + 1, order[k], want[k]);
}

/* Four windows × three features (rows are windows):
 *
 *           f0  f1  f2
 *   n0       1   4   0
 *   n1       3   4   6
 *   n2       1   4   0
 *   n3       3   4   6
 *
 * μ  = (1+3+1+3)/4 = 2,   (4·4)/4 = 4,   (0+6+0+6)/4 = 3
 * σ² = (1+1+1+1)/4 = 1,   0,             (9+9+9+9)/4 = 9     (population)
 * σ  = 1, 0, 3 */
static const float hand[4 * 3] = {
        1, 4, 0,
        3, 4, 6,
        1, 4, 0,
        3, 4, 6,
};

START_TEST(test_mean) {
        double s[3];

        /* MEAN = μ = (2, 4, 3): f1 > f2 > f0. */
        ck_assert_int_eq(da_aggregate(hand, 4, 3, DA_AGG_MEAN, s), 0);
        assert_close(s[0], 2, 1e-15, "mean", 0);
        assert_close(s[1], 4, 1e-15, "mean", 1);
        assert_close(s[2], 3, 1e-15, "mean", 2);
        assert_order(s, 3, (const unsigned[]) { 1, 2, 0 });
}
END_TEST

START_TEST(test_meanstd) {
        double s[3];

        /* MEANSTD = μ·σ = (2·1, 4·0, 3·3) = (2, 0, 9): f2 > f0 > f1. */
        ck_assert_int_eq(da_aggregate(hand, 4, 3, DA_AGG_MEANSTD, s), 0);
        assert_close(s[0], 2, 1e-15, "meanstd", 0);
        ck_assert(s[1] == 0);
        assert_close(s[2], 9, 1e-15, "meanstd", 2);
        assert_order(s, 3, (const unsigned[]) { 2, 0, 1 });
}
END_TEST

START_TEST(test_inv) {
        double s[3];

        /* min μ = 2, max μ = 4: mm(μ) = (μ − 2)/(2 + 1e-8) = (0, 2/(2+1e-8), 1/(2+1e-8))
         *                                               ≈ (0, 0.999999995, 0.4999999975)
         * min σ = 0, max σ = 3: mm(σ) = σ/(3 + 1e-8) = (1/(3+1e-8), 0, 3/(3+1e-8))
         *                                           ≈ (0.3333333322, 0, 0.9999999967)
         * INV = ½·[mm(μ) + 1 − mm(σ)]:
         *   f0 = ½·(0 + 1 − 0.3333333322)            ≈ 0.3333333339
         *   f1 = ½·(0.999999995 + 1 − 0)             ≈ 0.9999999975
         *   f2 = ½·(0.4999999975 + 1 − 0.9999999967) ≈ 0.2500000004
         * so f1 > f0 > f2. */
        ck_assert_int_eq(da_aggregate(hand, 4, 3, DA_AGG_INV, s), 0);
        assert_close(s[0], 0.5 * (0 + 1 - 1 / (3 + EPS_INV)), 1e-14, "inv", 0);
        assert_close(s[1], 0.5 * (2 / (2 + EPS_INV) + 1 - 0), 1e-14, "inv", 1);
        assert_close(s[2], 0.5 * (1 / (2 + EPS_INV) + 1 - 3 / (3 + EPS_INV)), 1e-14, "inv", 2);
        assert_close(s[0], 0.3333333339, 1e-9, "inv≈", 0);
        assert_close(s[1], 0.9999999975, 1e-9, "inv≈", 1);
        assert_close(s[2], 0.2500000004, 1e-9, "inv≈", 2);
        assert_order(s, 3, (const unsigned[]) { 1, 0, 2 });
}
END_TEST

START_TEST(test_pen) {
        double s[3];

        /* mm₀.₀₁(μ) = (μ − 2)/(2 + 0.01) = (0, 2/2.01, 1/2.01) ≈ (0, 0.99502488, 0.49751244)
         * 1 − exp(−σ/0.01) = (1 − e^−100, 1 − e^0, 1 − e^−300) = (≈1, 0, ≈1)
         * PEN = (0·…, 0.995·0, 0.49751244·1) = (0, 0, 0.49751244):
         * f0 and f1 tie at 0 and the tie goes to the lower index: f2 > f0 > f1. */
        ck_assert_int_eq(da_aggregate(hand, 4, 3, DA_AGG_PEN, s), 0);
        ck_assert(s[0] == 0);
        ck_assert(s[1] == 0);
        assert_close(s[2], 1 / 2.01, 1e-14, "pen", 2);
        assert_close(s[2], 0.49751244, 1e-8, "pen≈", 2);
        assert_order(s, 3, (const unsigned[]) { 2, 0, 1 });
}
END_TEST

START_TEST(test_moments) {
        /* The same μ, σ as the hand matrix, given directly. */
        const double mu[3] = { 2, 4, 3 }, sigma[3] = { 1, 0, 3 };
        double from_matrix[3], from_moments[3];

        for (da_aggregation agg = 0; agg < _DA_AGG_MAX; agg++) {
                ck_assert_int_eq(da_aggregate(hand, 4, 3, agg, from_matrix), 0);
                ck_assert_int_eq(da_aggregate_moments(mu, sigma, 3, agg, from_moments), 0);
                for (unsigned f = 0; f < 3; f++)
                        assert_close(from_moments[f], from_matrix[f], 1e-15, da_aggregation_to_string(agg), f);
        }
}
END_TEST

START_TEST(test_moments_alias) {
        double mu[3] = { 2, 4, 3 }, sigma[3] = { 1, 0, 3 }, want[3];

        ck_assert_int_eq(da_aggregate_moments(mu, sigma, 3, DA_AGG_INV, want), 0);
        ck_assert_int_eq(da_aggregate_moments(mu, sigma, 3, DA_AGG_INV, mu), 0);
        for (unsigned f = 0; f < 3; f++)
                ck_assert(mu[f] == want[f]);
}
END_TEST

/* A second matrix where PEN's ranking depends on the scale (rows are
 * windows):            f0  f1  f2
 *                       3   0   0
 *                       5   6   0
 *                       3   0   0
 *                       5   6   0
 * μ = (4, 3, 0), σ = (1, 3, 0). */
static const float scale_dependent[4 * 3] = {
        3, 0, 0,
        5, 6, 0,
        3, 0, 0,
        5, 6, 0,
};

START_TEST(test_pen_not_scale_invariant) {
        float small[12];
        double s[3], t[3];

        /* c = 1: mm₀.₀₁(μ) = μ/4.01 = (0.99750623, 0.74812968, 0),
         *        1 − exp(−σ/0.01) = (1 − e^−100, 1 − e^−300, 0) ≈ (1, 1, 0)
         *        PEN ≈ (0.99750623, 0.74812968, 0): f0 > f1 > f2. */
        ck_assert_int_eq(da_aggregate(scale_dependent, 4, 3, DA_AGG_PEN, s), 0);
        assert_close(s[0], 4 / 4.01, 1e-14, "pen c=1", 0);
        assert_close(s[1], 3 / 4.01, 1e-14, "pen c=1", 1);
        ck_assert(s[2] == 0);
        assert_order(s, 3, (const unsigned[]) { 0, 1, 2 });

        /* c = 1/1000: μ = (0.004, 0.003, 0), σ = (0.001, 0.003, 0),
         *        mm₀.₀₁(μ) = μ/0.014 = (2/7, 3/14, 0) ≈ (0.28571429, 0.21428571, 0),
         *        1 − exp(−σ/0.01) = (1 − e^−0.1, 1 − e^−0.3, 0) ≈ (0.09516258, 0.25918178, 0)
         *        PEN ≈ (0.02718931, 0.05553895, 0): now f1 > f0 > f2. */
        for (unsigned k = 0; k < 12; k++)
                small[k] = scale_dependent[k] / 1000.0f;
        ck_assert_int_eq(da_aggregate(small, 4, 3, DA_AGG_PEN, t), 0);
        assert_close(t[0], 2.0 / 7 * -expm1(-0.1), 1e-6, "pen c=1e-3", 0);
        assert_close(t[1], 3.0 / 14 * -expm1(-0.3), 1e-6, "pen c=1e-3", 1);
        assert_close(t[0], 0.02718931, 1e-6, "pen≈ c=1e-3", 0);
        assert_close(t[1], 0.05553895, 1e-6, "pen≈ c=1e-3", 1);
        ck_assert(t[2] == 0);
        assert_order(t, 3, (const unsigned[]) { 1, 0, 2 });
}
END_TEST

/* For v ≥ 0 with range R and mm_c the min-max of c·v:
 *   |mm_c(v) − mm(v)| = (v − min)·ε·|c − 1| / ((cR + ε)(R + ε)) ≤ ε·|c − 1| / (cR),
 * so INV moves by at most ½·ε·|c − 1|/c · (1/R_μ + 1/R_σ) when all a scale by c. */
static double inv_scale_bound(const float *a, size_t n, unsigned f, double c) {
        double mu[64], sigma[64], mu_lo = INFINITY, mu_hi = -INFINITY, s_lo = INFINITY, s_hi = -INFINITY;

        ck_assert_uint_le(f, 64);
        for (unsigned i = 0; i < f; i++) {
                double sum = 0, ss = 0;

                for (size_t k = 0; k < n; k++)
                        sum += a[k * f + i];
                mu[i] = sum / n;
                for (size_t k = 0; k < n; k++)
                        ss += (a[k * f + i] - mu[i]) * (a[k * f + i] - mu[i]);
                sigma[i] = sqrt(ss / n);
                mu_lo = MIN(mu_lo, mu[i]);
                mu_hi = MAX(mu_hi, mu[i]);
                s_lo = MIN(s_lo, sigma[i]);
                s_hi = MAX(s_hi, sigma[i]);
        }
        return 0.5 * EPS_INV * fabs(c - 1) / c * (1 / (mu_hi - mu_lo) + 1 / (s_hi - s_lo));
}

static void check_inv_invariance(const float *a, size_t n, unsigned f) {
        /* Powers of two scale floats exactly, so only the ε term can move the
         * scores; 0.1 and 3 also round a, which the 1e-6 slack absorbs. */
        static const double scales[] = { 0x1p-10, 0.1, 0.5, 3, 1024 };
        _cleanup_free_ float *b = malloc(n * f * sizeof(float));
        double s[64], t[64];
        unsigned o[64], p[64];

        ck_assert_ptr_nonnull(b);
        ck_assert_int_eq(da_aggregate(a, n, f, DA_AGG_INV, s), 0);
        ck_assert_int_eq(da_ranking(s, f, o), 0);
        for (size_t j = 0; j < ELEMENTSOF(scales); j++) {
                double c = scales[j], bound = inv_scale_bound(a, n, f, c);
                bool exact = c == 0x1p-10 || c == 0.5 || c == 1024;

                for (size_t k = 0; k < n * f; k++)
                        b[k] = (float) (a[k] * c);
                ck_assert_int_eq(da_aggregate(b, n, f, DA_AGG_INV, t), 0);
                for (unsigned i = 0; i < f; i++)
                        ck_assert_msg(fabs(t[i] - s[i]) <= (exact ? bound * 1.001 + 1e-15 : 1e-6),
                                      "c=%g f%u: %.17g vs %.17g, bound %.3g", c, i, t[i], s[i], bound);
                ck_assert_int_eq(da_ranking(t, f, p), 0);
                for (unsigned i = 0; i < f; i++)
                        ck_assert_msg(p[i] == o[i], "c=%g: rank %u is f%u, was f%u", c, i + 1, p[i], o[i]);
        }
}

START_TEST(test_inv_scale_invariant) {
        float r[200 * 12];
        uint64_t seed = 42;

        check_inv_invariance(hand, 4, 3);
        check_inv_invariance(scale_dependent, 4, 3);

        /* Random traces with per-feature spreads, so μ and σ differ enough
         * that ε-sized changes cannot swap two features. */
        for (size_t k = 0; k < 200; k++)
                for (unsigned i = 0; i < 12; i++)
                        r[k * 12 + i] = (float) ((i + 1) * (0.5 + da_uniform01(&seed) * (1 + (i % 5))));
        check_inv_invariance(r, 200, 12);
}
END_TEST

START_TEST(test_single_window) {
        const float one[3] = { 0.5f, 2, 1 };
        double s[3];

        /* n = 1: σ = 0 everywhere, μ = a. INV = ½·(mm(μ) + 1 − 0/(0 + 1e-8)) = ½·(mm(μ) + 1):
         * mm(μ) = (0, 1.5, 0.5)/(1.5 + 1e-8). PEN = mm₀.₀₁(μ)·(1 − e^0) = 0. */
        ck_assert_int_eq(da_aggregate(one, 1, 3, DA_AGG_INV, s), 0);
        assert_close(s[0], 0.5, 1e-15, "inv n=1", 0);
        assert_close(s[1], 0.5 * (1.5 / (1.5 + EPS_INV) + 1), 1e-15, "inv n=1", 1);
        assert_close(s[2], 0.5 * (0.5 / (1.5 + EPS_INV) + 1), 1e-15, "inv n=1", 2);
        ck_assert_int_eq(da_aggregate(one, 1, 3, DA_AGG_PEN, s), 0);
        for (unsigned f = 0; f < 3; f++)
                ck_assert(s[f] == 0);
}
END_TEST

START_TEST(test_bad_input) {
        float bad[12];
        double s[3] = { -7, -7, -7 };
        const double mu[3] = { 1, 2, 3 }, sigma_neg[3] = { 1, -0.5, 1 }, mu_nan[3] = { 1, NAN, 3 };

        /* NaN (a missing value) or ±∞ anywhere: rejected, output untouched. */
        memcpy(bad, hand, sizeof(bad));
        bad[7] = NAN;
        ck_assert_int_eq(da_aggregate(bad, 4, 3, DA_AGG_INV, s), -EINVAL);
        bad[7] = INFINITY;
        ck_assert_int_eq(da_aggregate(bad, 4, 3, DA_AGG_MEAN, s), -EINVAL);
        ck_assert_int_eq(da_aggregate(hand, 0, 3, DA_AGG_MEAN, s), -EINVAL);
        ck_assert_int_eq(da_aggregate(hand, 4, 0, DA_AGG_MEAN, s), -EINVAL);
        ck_assert_int_eq(da_aggregate(hand, 4, 3, _DA_AGG_MAX, s), -EINVAL);
        ck_assert_int_eq(da_aggregate(NULL, 4, 3, DA_AGG_MEAN, s), -EINVAL);
        ck_assert_int_eq(da_aggregate_moments(mu, sigma_neg, 3, DA_AGG_INV, s), -EINVAL);
        ck_assert_int_eq(da_aggregate_moments(mu_nan, mu, 3, DA_AGG_INV, s), -EINVAL);
        for (unsigned f = 0; f < 3; f++)
                ck_assert(s[f] == -7);
}
END_TEST

START_TEST(test_strings) {
        static const char *const names[] = { "mean", "meanstd", "inv", "pen" };

        for (da_aggregation agg = 0; agg < _DA_AGG_MAX; agg++) {
                ck_assert_str_eq(da_aggregation_to_string(agg), names[agg]);
                ck_assert_int_eq(da_aggregation_from_string(names[agg]), (int) agg);
        }
        ck_assert_ptr_null(da_aggregation_to_string(_DA_AGG_MAX));
        ck_assert_int_eq(da_aggregation_from_string("INV"), -EINVAL);
        ck_assert_int_eq(da_aggregation_from_string(""), -EINVAL);
        ck_assert_int_eq(da_aggregation_from_string(NULL), -EINVAL);
        ck_assert_int_eq(DA_AGG_DEFAULT, DA_AGG_INV);
}
END_TEST

static Suite *aggregate_suite(void) {
        Suite *s = suite_create("aggregate");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_mean);
        tcase_add_test(tc, test_meanstd);
        tcase_add_test(tc, test_inv);
        tcase_add_test(tc, test_pen);
        tcase_add_test(tc, test_moments);
        tcase_add_test(tc, test_moments_alias);
        tcase_add_test(tc, test_pen_not_scale_invariant);
        tcase_add_test(tc, test_inv_scale_invariant);
        tcase_add_test(tc, test_single_window);
        tcase_add_test(tc, test_bad_input);
        tcase_add_test(tc, test_strings);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(aggregate_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
