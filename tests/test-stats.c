/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Mean/SD and the paired Wilcoxon signed-rank test: hand-worked cases, and
 * scipy's figures in fixtures/wilcoxon-scipy.txt (made by
 * fixtures/wilcoxon-scipy.py) for exact, tied, zero and large samples. */

#include <check.h>
#include <math.h>

#include "util.h"

START_TEST(test_mean_sd) {
        /* 2 4 4 4 5 5 7 9: mean 40/8 = 5; squared deviations 9 1 1 1 0 0 4 16
         * = 32; sample variance 32/7, SD √(32/7) = 2.138089935299395. */
        const double v[8] = { 2, 4, 4, 4, 5, 5, 7, 9 };
        double mean = -1, sd = -1;

        ck_assert_int_eq(da_mean_sd(v, 8, &mean, &sd), 0);
        ck_assert_double_eq_tol(mean, 5, 1e-15);
        ck_assert_double_eq_tol(sd, 2.138089935299395, 1e-14);

        /* Large offset, tiny spread: 1e9 + {1, 2, 3} has SD exactly 1. */
        ck_assert_int_eq(da_mean_sd((const double[3]) { 1e9 + 1, 1e9 + 2, 1e9 + 3 }, 3, &mean, &sd), 0);
        ck_assert_double_eq_tol(sd, 1, 1e-12);

        /* One value: a mean, no spread to estimate. */
        ck_assert_int_eq(da_mean_sd(v + 7, 1, &mean, &sd), 0);
        ck_assert(mean == 9);
        ck_assert(isnan(sd));

        mean = sd = -1;
        ck_assert_int_eq(da_mean_sd(v, 0, &mean, &sd), -EINVAL);
        ck_assert_int_eq(da_mean_sd((const double[2]) { 1, NAN }, 2, &mean, &sd), -EINVAL);
        ck_assert(mean == -1 && sd == -1);
}
END_TEST

START_TEST(test_wilcoxon_hand) {
        /* d = x − y = 1 2 3 4 5 6, all positive: R+ = 21, R− = 0. Exactly one
         * of the 2^6 sign patterns reaches R+ ≥ 21, so p = 2/64. z = (21 −
         * 10.5)/√(6·7·13/24) = 10.5/√22.75 = 2.2013981571160284; r = z/√6. */
        const double x[6] = { 6, 7, 8, 9, 10, 11 }, y[6] = { 5, 5, 5, 5, 5, 5 };
        da_wilcoxon_result w;

        ck_assert_int_eq(da_wilcoxon(x, y, 6, &w), 0);
        ck_assert(w.exact);
        ck_assert_uint_eq(w.n, 6);
        ck_assert(w.statistic == 0);
        ck_assert(w.r_plus == 21);
        ck_assert_double_eq_tol(w.p, 0.03125, 1e-15);
        ck_assert_double_eq_tol(w.z, 2.2013981571160284, 1e-12);
        ck_assert_double_eq_tol(w.effect_r, 2.2013981571160284 / sqrt(6), 1e-12);

        /* Swapped: the same p, z and r change sign. */
        ck_assert_int_eq(da_wilcoxon(y, x, 6, &w), 0);
        ck_assert_double_eq_tol(w.p, 0.03125, 1e-15);
        ck_assert_double_eq_tol(w.z, -2.2013981571160284, 1e-12);

        /* Two pairs, one zero: N = 1 non-zero difference, approximated:
         * R+ = 1, mean 0.5, σ = √(1·2·3/24) = 0.5, z = 1, p = erfc(1/√2)
         * = 0.31731050786291415; r = z/√2 over both pairs given. */
        ck_assert_int_eq(da_wilcoxon((const double[2]) { 3, 1 }, (const double[2]) { 2, 1 }, 2, &w), 0);
        ck_assert(!w.exact);
        ck_assert_uint_eq(w.n, 1);
        ck_assert_double_eq_tol(w.z, 1, 1e-15);
        ck_assert_double_eq_tol(w.p, 0.31731050786291415, 1e-14);
        ck_assert_double_eq_tol(w.effect_r, 1 / sqrt(2), 1e-15);
}
END_TEST

START_TEST(test_wilcoxon_undefined) {
        const double x[3] = { 1, 2, 3 };
        da_wilcoxon_result w = { .p = -7 };

        /* Every difference zero: no test. */
        ck_assert_int_eq(da_wilcoxon(x, x, 3, &w), -EDOM);
        ck_assert_int_eq(da_wilcoxon(x, x, 0, &w), -EINVAL);
        ck_assert_int_eq(da_wilcoxon(x, (const double[3]) { 1, INFINITY, 0 }, 3, &w), -EINVAL);
        ck_assert(w.p == -7);
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

static double read_value(FILE *f, const char *tag) {
        char t[16];
        double v;

        ck_assert_int_eq(fscanf(f, "%15s %lf", t, &v), 2);
        ck_assert_str_eq(t, tag);
        return v;
}

START_TEST(test_scipy_fixture) {
        _cleanup_fclose_ FILE *f = fopen(TEST_SRCDIR "/fixtures/wilcoxon-scipy.txt", "re");
        char line[256], name[64], mode[16];
        unsigned cases = 0, exact = 0, n;

        ck_assert_msg(f, "cannot open the fixture: %m");
        ck_assert_ptr_nonnull(fgets(line, sizeof(line), f)); /* # scipy version */

        while (fscanf(f, " case %63s %u %15s", name, &n, mode) == 3) {
                double x[128], y[128], stat, p, z;
                da_wilcoxon_result w;

                ck_assert_uint_le(n, 128);
                ck_assert_int_eq(read_vector(f, "x", n, x), 0);
                ck_assert_int_eq(read_vector(f, "y", n, y), 0);
                stat = read_value(f, "statistic");
                p = read_value(f, "p");
                z = read_value(f, "z");

                ck_assert_int_eq(da_wilcoxon(x, y, n, &w), 0);
                ck_assert_msg(w.exact == streq(mode, "exact"), "%s: exact %d, scipy ran %s", name, w.exact, mode);
                ck_assert_msg(w.statistic == stat, "%s: T %g, scipy %g", name, w.statistic, stat);
                ck_assert_msg(fabs(w.p - p) <= 1e-12 + 1e-10 * p, "%s: p %.17g, scipy %.17g", name, w.p, p);
                /* scipy's z is from min(R+, R−), so never positive. */
                ck_assert_msg(fabs(fabs(w.z) - fabs(z)) <= 1e-12, "%s: |z| %.17g, scipy %.17g", name, w.z, z);
                ck_assert_msg((w.z > 0) == (w.r_plus > w.statistic), "%s: z's sign", name);
                ck_assert_double_eq_tol(w.effect_r, w.z / sqrt(n), 1e-15);
                exact += w.exact;
                cases++;
        }
        ck_assert_msg(feof(f), "fixture: unexpected text after %u cases", cases);
        ck_assert_uint_ge(cases, 10);
        ck_assert_uint_ge(exact, 5);
}
END_TEST

static Suite *stats_suite(void) {
        Suite *s = suite_create("stats");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_mean_sd);
        tcase_add_test(tc, test_wilcoxon_hand);
        tcase_add_test(tc, test_wilcoxon_undefined);
        tcase_add_test(tc, test_scipy_fixture);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(stats_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
