/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The published protocol's data steps on small hand-made tables whose
 * answers are worked out by hand below: the asymmetric IQR fence with
 * pandas' linear quartiles, and the 60-bin balancing of pandas.cut bins. */

#include <check.h>

#include "published.h"
#include "util.h"

/* Nine rows, two columns. Column 0 sorted is −6, −4, 10, 12, 15, 18, 20,
 * 30, 31: Q1 = 10 (position 2), Q3 = 20 (position 6), IQR = 10, so the
 * fence is −5 … 30: −6 and 31 go, −4 (1.4·IQR below Q1) and 30 (exactly
 * Q3 + 1·IQR) stay; 31 would stay under a symmetric 1.5·IQR fence.
 * Column 1 (the target) is 1 except 1.5 in the row with 15: its IQR is 0,
 * so that row goes too. Rows are not in sorted order. */
START_TEST(test_iqr_rule) {
        static const float x[] = {
                18, 1,    /* 0 kept */
                -6, 1,    /* 1 below Q1 − 1.5·IQR */
                30, 1,    /* 2 kept: on the upper fence */
                10, 1,    /* 3 kept */
                31, 1,    /* 4 above Q3 + 1·IQR */
                15, 1.5,  /* 5 the target's outlier */
                -4, 1,    /* 6 kept */
                20, 1,    /* 7 kept */
                12, 1,    /* 8 kept */
        };
        static const size_t expected[] = { 0, 2, 3, 6, 7, 8 };
        size_t keep[9], n;

        ck_assert_int_eq(published_iqr_filter(x, 9, 2, keep, &n), 0);
        ck_assert_uint_eq(n, ELEMENTSOF(expected));
        for (size_t i = 0; i < n; i++)
                ck_assert_uint_eq(keep[i], expected[i]);
}
END_TEST

/* Quartiles between two values are interpolated (pandas' "linear"): of 0,
 * 1, 2, 3, 4, v, Q1 is at position 1.25 = 1.25 and Q3 at 3.75 = 3.75, so
 * the upper fence is 3.75 + 2.5 = 6.25 — v = 6.25 stays, 6.26 goes. A
 * nearest-rank Q3 of 4 would keep both. */
START_TEST(test_iqr_interpolated) {
        float x[] = { 0, 1, 2, 3, 4, 6.25f };
        size_t keep[6], n;

        ck_assert_int_eq(published_iqr_filter(x, 6, 1, keep, &n), 0);
        ck_assert_uint_eq(n, 6);
        x[5] = 6.26f;
        ck_assert_int_eq(published_iqr_filter(x, 6, 1, keep, &n), 0);
        ck_assert_uint_eq(n, 5);
        ck_assert_uint_eq(keep[4], 4);
        ck_assert_int_eq(published_iqr_filter(x, 0, 1, keep, &n), -EINVAL);
}
END_TEST

/* Targets from 0 to 60: 60 bins of width 1, (i, i+1], the first including
 * 0. Bin 0 holds 0 and 0.5 (2 rows), bin 10 holds 10.5 ×4 and 11 (5; 11 is
 * on bin 10's upper edge), bin 30 holds 30.2, 30.4, 30.6 (3), bin 59 holds
 * 59.5 and 60 (2). The mean over the 4 non-empty bins is 12/4 = 3: bins 0
 * and 59 are drawn up to 3 with replacement, bin 10 down to 3 distinct
 * rows, bin 30 (exactly the mean) kept as it is, and the result runs in
 * order of depth. */
START_TEST(test_bin_balance) {
        static const float t[] = { 10.5f, 60, 0.5f, 30.4f, 10.5f, 11, 0, 30.2f, 10.5f, 59.5f, 30.6f, 10.5f };
        _cleanup_free_ size_t *idx = NULL;
        size_t n, seen[12] = {};

        ck_assert_int_eq(published_bin_balance(t, ELEMENTSOF(t), PUBLISHED_BINS, 1, &idx, &n), 0);
        ck_assert_uint_eq(n, 12);
        for (size_t i = 0; i < 3; i++)
                ck_assert_msg(t[idx[i]] <= 0.5f, "row %zu of bin 0 is %g", i, t[idx[i]]);
        for (size_t i = 3; i < 6; i++) {
                ck_assert_msg(t[idx[i]] == 10.5f || t[idx[i]] == 11, "row %zu of bin 10 is %g", i, t[idx[i]]);
                ck_assert_msg(seen[idx[i]]++ == 0, "bin 10 drew row %zu twice", idx[i]);
        }
        /* bin 30 unchanged, its rows in the order they came (as pandas' mask keeps them) */
        ck_assert_uint_eq(idx[6], 3);
        ck_assert_uint_eq(idx[7], 7);
        ck_assert_uint_eq(idx[8], 10);
        for (size_t i = 9; i < 12; i++)
                ck_assert_msg(t[idx[i]] >= 59.5f, "row %zu of bin 59 is %g", i, t[idx[i]]);
}
END_TEST

/* Bins are closed on the right: over 0 … 3 in 3 bins, (−0.003, 1], (1, 2],
 * (2, 3], so 1 falls in the first bin with 0 and 0.5, and 2 in the second
 * alone. Counts 3, 1, 2, mean 2: two distinct rows of the first bin, the
 * second's one row twice, the third's two rows as they came. */
START_TEST(test_bin_edges) {
        static const float t[] = { 3, 1, 2, 0, 2.5f, 0.5f };
        _cleanup_free_ size_t *idx = NULL;
        size_t n;

        ck_assert_int_eq(published_bin_balance(t, ELEMENTSOF(t), 3, 5, &idx, &n), 0);
        ck_assert_uint_eq(n, 6);
        ck_assert(t[idx[0]] <= 1 && t[idx[1]] <= 1);
        ck_assert_uint_ne(idx[0], idx[1]);
        ck_assert_uint_eq(idx[2], 2);
        ck_assert_uint_eq(idx[3], 2);
        ck_assert_uint_eq(idx[4], 0);
        ck_assert_uint_eq(idx[5], 4);
}
END_TEST

static Suite *published_suite(void) {
        Suite *s = suite_create("published");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_iqr_rule);
        tcase_add_test(tc, test_iqr_interpolated);
        tcase_add_test(tc, test_bin_balance);
        tcase_add_test(tc, test_bin_edges);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(published_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
