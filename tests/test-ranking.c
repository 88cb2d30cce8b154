/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rankings, top-k, rank correlations (against scipy's figures in
 * fixtures/ranking-scipy.txt, made by fixtures/ranking-scipy.py) and rank
 * stability. */

#include <check.h>
#include <math.h>

#include "util.h"

START_TEST(test_ranking_ties) {
        /* Scores 0.5, 2, 2, −1, 0.5: descending 2 (f1, f2), 0.5 (f0, f4), −1 (f3);
         * each tie goes to the lower index: order 1 2 0 4 3, ranks 3 1 2 5 4. */
        const double s[5] = { 0.5, 2, 2, -1, 0.5 };
        const unsigned want_order[5] = { 1, 2, 0, 4, 3 }, want_rank[5] = { 3, 1, 2, 5, 4 };
        unsigned order[5], rank[5], top[5];

        ck_assert_int_eq(da_ranking(s, 5, order), 0);
        ck_assert_int_eq(da_ranks(s, 5, rank), 0);
        for (unsigned k = 0; k < 5; k++) {
                ck_assert_uint_eq(order[k], want_order[k]);
                ck_assert_uint_eq(rank[k], want_rank[k]);
        }

        ck_assert_int_eq(da_topk(s, 5, 3, top), 0);
        ck_assert_uint_eq(top[0], 1);
        ck_assert_uint_eq(top[1], 2);
        ck_assert_uint_eq(top[2], 0);
        ck_assert_int_eq(da_topk(s, 5, 0, top), 0);
        ck_assert_int_eq(da_topk(s, 5, 6, top), -EINVAL);
}
END_TEST

START_TEST(test_ranking_all_equal) {
        /* All tied, including −0 == +0: the identity order. */
        const double s[4] = { 0.0, -0.0, 0.0, 0.0 };
        unsigned order[4];

        ck_assert_int_eq(da_ranking(s, 4, order), 0);
        for (unsigned k = 0; k < 4; k++)
                ck_assert_uint_eq(order[k], k);
}
END_TEST

START_TEST(test_ranking_nan) {
        /* NaN has no place in an order: rejected, output untouched. */
        const double s[3] = { 1, NAN, 0 }, ok[3] = { 1, 2, 3 };
        unsigned order[3] = { 9, 9, 9 };
        double x = -7;

        ck_assert_int_eq(da_ranking(s, 3, order), -EINVAL);
        ck_assert_int_eq(da_ranks(s, 3, order), -EINVAL);
        ck_assert_int_eq(da_topk(s, 3, 1, order), -EINVAL);
        for (unsigned k = 0; k < 3; k++)
                ck_assert_uint_eq(order[k], 9);
        ck_assert_int_eq(da_ranking(s, 0, order), -EINVAL);
        ck_assert_int_eq(da_spearman(s, ok, 3, &x), -EINVAL);
        ck_assert_int_eq(da_kendall_tau(ok, s, 3, &x), -EINVAL);
        ck_assert(x == -7);
}
END_TEST

START_TEST(test_correlation_hand) {
        /* a = 1 2 3 4, b = 1 2 4 3 (one adjacent swap).
         * Spearman, no ties: ρ = 1 − 6Σd²/(n(n²−1)) = 1 − 6·2/(4·15) = 0.8.
         * Kendall: 6 pairs, only (3,4) discordant: τ = (5 − 1)/6 = 2/3. */
        const double a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 2, 4, 3 }, c[4] = { 8, 6, 4, 2 };
        double rho, tau;

        ck_assert_int_eq(da_spearman(a, b, 4, &rho), 0);
        ck_assert_double_eq_tol(rho, 0.8, 1e-15);
        ck_assert_int_eq(da_kendall_tau(a, b, 4, &tau), 0);
        ck_assert_double_eq_tol(tau, 2.0 / 3, 1e-15);

        /* Reversed: −1 both. */
        ck_assert_int_eq(da_spearman(a, c, 4, &rho), 0);
        ck_assert_double_eq_tol(rho, -1, 1e-15);
        ck_assert_int_eq(da_kendall_tau(a, c, 4, &tau), 0);
        ck_assert_double_eq_tol(tau, -1, 1e-15);

        /* Ties in a: a = 1 1 2, b = 1 2 3. Pairs: (0,1) tied in a, (0,2) and
         * (1,2) concordant; n₀ = 3, n₁ = 1, n₂ = 0:
         * τ-b = 2/√(2·3) = 0.81649658. Average ranks a = 1.5 1.5 3, b = 1 2 3,
         * deviations (−0.5, −0.5, 1), (−1, 0, 1): ρ = 1.5/√(1.5·2) = 0.8660254. */
        ck_assert_int_eq(da_kendall_tau((const double[]) { 1, 1, 2 }, (const double[]) { 1, 2, 3 }, 3, &tau), 0);
        ck_assert_double_eq_tol(tau, 2 / sqrt(6), 1e-15);
        ck_assert_int_eq(da_spearman((const double[]) { 1, 1, 2 }, (const double[]) { 1, 2, 3 }, 3, &rho), 0);
        ck_assert_double_eq_tol(rho, 1.5 / sqrt(3), 1e-15);
}
END_TEST

START_TEST(test_correlation_undefined) {
        const double a[3] = { 1, 2, 3 }, flat[3] = { 5, 5, 5 };
        double x = -7;

        ck_assert_int_eq(da_spearman(a, flat, 3, &x), -EDOM);
        ck_assert_int_eq(da_kendall_tau(flat, a, 3, &x), -EDOM);
        ck_assert_int_eq(da_spearman(a, a, 1, &x), -EDOM);
        ck_assert_int_eq(da_kendall_tau(a, a, 1, &x), -EDOM);
        ck_assert(x == -7);
}
END_TEST

static int read_vector(FILE *f, const char *tag, unsigned n, double *v) {
        char t[16];

        if (fscanf(f, "%15s", t) != 1 || !streq(t, tag))
                return -EBADMSG;
        for (unsigned i = 0; i < n; i++)
                if (fscanf(f, "%lf", &v[i]) != 1)
                        return -EBADMSG;
        return 0;
}

START_TEST(test_scipy_fixture) {
        _cleanup_fclose_ FILE *f = fopen(TEST_SRCDIR "/fixtures/ranking-scipy.txt", "re");
        char line[256], name[64];
        unsigned cases = 0, n;

        ck_assert_msg(f, "cannot open the fixture: %m");
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f)); /* # scipy version */

        while (fscanf(f, " case %63s %u", name, &n) == 2) {
                double a[128], b[128], rho_want, tau_want, rho, tau;
                char t[16];

                ck_assert_uint_le(n, 128);
                ck_assert_int_eq(read_vector(f, "a", n, a), 0);
                ck_assert_int_eq(read_vector(f, "b", n, b), 0);
                ck_assert_int_eq(fscanf(f, "%15s %lf", t, &rho_want), 2);
                ck_assert_str_eq(t, "spearman");
                ck_assert_int_eq(fscanf(f, "%15s %lf", t, &tau_want), 2);
                ck_assert_str_eq(t, "kendall");

                ck_assert_int_eq(da_spearman(a, b, n, &rho), 0);
                ck_assert_int_eq(da_kendall_tau(a, b, n, &tau), 0);
                ck_assert_msg(fabs(rho - rho_want) <= 1e-12, "%s: ρ %.17g, scipy %.17g", name, rho, rho_want);
                ck_assert_msg(fabs(tau - tau_want) <= 1e-12, "%s: τ %.17g, scipy %.17g", name, tau, tau_want);
                cases++;
        }
        ck_assert_msg(feof(f), "fixture: unexpected text after %u cases", cases);
        ck_assert_uint_ge(cases, 9);
}
END_TEST

START_TEST(test_topk_overlap) {
        const unsigned a[5] = { 0, 1, 2, 3, 4 }, b[5] = { 1, 4, 0, 2, 3 }, dup[5] = { 1, 1, 0, 2, 3 },
                       out[5] = { 7, 1, 0, 2, 3 };
        double j = -7;

        /* k = 1: {0} vs {1}: 0/2 = 0.
         * k = 2: {0,1} vs {1,4}: |∩| = 1, |∪| = 3 → 1/3.
         * k = 3: {0,1,2} vs {1,4,0}: |∩| = 2, |∪| = 4 → 1/2.
         * k = 5: the same set → 1. */
        ck_assert_int_eq(da_topk_overlap(a, b, 5, 1, &j), 0);
        ck_assert(j == 0);
        ck_assert_int_eq(da_topk_overlap(a, b, 5, 2, &j), 0);
        ck_assert_double_eq_tol(j, 1.0 / 3, 1e-15);
        ck_assert_int_eq(da_topk_overlap(a, b, 5, 3, &j), 0);
        ck_assert_double_eq_tol(j, 0.5, 1e-15);
        ck_assert_int_eq(da_topk_overlap(a, b, 5, 5, &j), 0);
        ck_assert(j == 1);

        j = -7;
        ck_assert_int_eq(da_topk_overlap(a, b, 5, 0, &j), -EINVAL);
        ck_assert_int_eq(da_topk_overlap(a, b, 5, 6, &j), -EINVAL);
        ck_assert_int_eq(da_topk_overlap(a, dup, 5, 2, &j), -EINVAL);
        ck_assert_int_eq(da_topk_overlap(out, a, 5, 2, &j), -EINVAL);
        ck_assert(j == -7);
}
END_TEST

START_TEST(test_stability) {
        /* s0 = s1 = (3, 2, 1), s2 = (1, 2, 3), s3 all equal.
         * τ-b: (s0,s1) = 1, (s1,s2) = −1, (s2,s3) undefined → left out:
         *   mean (1 − 1)/2 = 0, min −1, 2 of 3 pairs.
         * top-1 sets: {0}, {0}, {2}, {0} (all tied: lowest index):
         *   Jaccard 1, 0, 0: mean 1/3, min 0. */
        const double snap[4 * 3] = {
                3, 2, 1,
                3, 2, 1,
                1, 2, 3,
                4, 4, 4,
        };
        da_stability st;

        ck_assert_int_eq(da_rank_stability(snap, 4, 3, 1, &st), 0);
        ck_assert_uint_eq(st.pairs, 3);
        ck_assert_uint_eq(st.kendall_pairs, 2);
        ck_assert_double_eq_tol(st.kendall_mean, 0, 1e-15);
        ck_assert_double_eq_tol(st.kendall_min, -1, 1e-15);
        ck_assert_double_eq_tol(st.topk_mean, 1.0 / 3, 1e-15);
        ck_assert(st.topk_min == 0);

        /* top-2 sets: {0,1}, {0,1}, {2,1}, {0,1}: Jaccard 1, 1/3, 1/3 → mean 5/9. */
        ck_assert_int_eq(da_rank_stability(snap, 4, 3, 2, &st), 0);
        ck_assert_double_eq_tol(st.topk_mean, 5.0 / 9, 1e-15);
        ck_assert_double_eq_tol(st.topk_min, 1.0 / 3, 1e-15);

        /* One snapshot has no pair; the all-equal one twice has no τ at all. */
        ck_assert_int_eq(da_rank_stability(snap + 9, 1, 3, 1, &st), -EINVAL);
        ck_assert_int_eq(da_rank_stability((const double[6]) { 1, 1, 1, 1, 1, 1 }, 2, 3, 1, &st), 0);
        ck_assert_uint_eq(st.kendall_pairs, 0);
        ck_assert(isnan(st.kendall_mean));
        ck_assert(isnan(st.kendall_min));
        ck_assert(st.topk_mean == 1);
        ck_assert_int_eq(da_rank_stability(snap, 4, 3, 4, &st), -EINVAL);
}
END_TEST

static Suite *ranking_suite(void) {
        Suite *s = suite_create("ranking");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_ranking_ties);
        tcase_add_test(tc, test_ranking_all_equal);
        tcase_add_test(tc, test_ranking_nan);
        tcase_add_test(tc, test_correlation_hand);
        tcase_add_test(tc, test_correlation_undefined);
        tcase_add_test(tc, test_scipy_fixture);
        tcase_add_test(tc, test_topk_overlap);
        tcase_add_test(tc, test_stability);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(ranking_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
