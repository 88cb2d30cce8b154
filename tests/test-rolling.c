/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The online attributor against the offline aggregation over the same
 * windows and its drift over 10^7 updates; its cost per window is a figure
 * of `deepactifctl bench` (rolling-push, rolling-scores), not a test. */

#include <check.h>
#include <math.h>
#include <time.h>

#include "util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_rolling *, da_rolling_free);

/* |got − want| ≤ rel·|want_f| + rel·1e-6·max_g |want_g|: relative per score,
 * with a floor for the scores INV and PEN put at (nearly) zero. */
static double max_rel_error(const double *got, const double *want, unsigned f, double floor_rel) {
        double scale = 0, worst = 0;

        for (unsigned i = 0; i < f; i++)
                scale = MAX(scale, fabs(want[i]));
        for (unsigned i = 0; i < f; i++) {
                double d = fabs(got[i] - want[i]), m = MAX(fabs(want[i]), floor_rel * scale);

                /* All scores zero (MEANSTD of a single window): exact or not. */
                worst = MAX(worst, m > 0 ? d / m : d > 0 ? INFINITY : 0);
        }
        return worst;
}

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return ts.tv_sec + ts.tv_nsec * 1e-9;
}

START_TEST(test_hand) {
        _cleanup_(da_rolling_freep) da_rolling *r = NULL;
        const float w0[2] = { 1, 10 }, w1[2] = { 3, 10 }, w2[2] = { 7, 4 };
        double mu[2], sigma[2], s[2];

        /* W = 2. After w0, w1: μ = (2, 10), σ = (1, 0).
         * After w2 (w0 drops out): windows (3, 10), (7, 4):
         *   μ = (5, 7), σ = (|7 − 3|/2, |10 − 4|/2) = (2, 3); MEANSTD = (10, 21). */
        ck_assert_int_eq(da_rolling_new(2, 2, &r), 0);
        ck_assert_uint_eq(da_rolling_window(r), 2);
        ck_assert_uint_eq(da_rolling_n_features(r), 2);
        ck_assert_int_eq(da_rolling_moments(r, mu, sigma), -ENODATA);
        ck_assert_int_eq(da_rolling_scores(r, DA_AGG_INV, s), -ENODATA);

        ck_assert_int_eq(da_rolling_push(r, w0), 0);
        ck_assert_int_eq(da_rolling_push(r, w1), 0);
        ck_assert_uint_eq(da_rolling_count(r), 2);
        ck_assert_int_eq(da_rolling_moments(r, mu, sigma), 0);
        ck_assert_double_eq_tol(mu[0], 2, 1e-15);
        ck_assert_double_eq_tol(mu[1], 10, 1e-15);
        ck_assert_double_eq_tol(sigma[0], 1, 1e-15);
        ck_assert_double_eq_tol(sigma[1], 0, 1e-15);

        ck_assert_int_eq(da_rolling_push(r, w2), 0);
        ck_assert_uint_eq(da_rolling_count(r), 2);
        ck_assert_int_eq(da_rolling_moments(r, mu, sigma), 0);
        ck_assert_double_eq_tol(mu[0], 5, 1e-14);
        ck_assert_double_eq_tol(mu[1], 7, 1e-14);
        ck_assert_double_eq_tol(sigma[0], 2, 1e-14);
        ck_assert_double_eq_tol(sigma[1], 3, 1e-14);
        ck_assert_int_eq(da_rolling_scores(r, DA_AGG_MEANSTD, s), 0);
        ck_assert_double_eq_tol(s[0], 10, 1e-13);
        ck_assert_double_eq_tol(s[1], 21, 1e-13);
}
END_TEST

/* Feature i's value in window t: magnitudes from 1e-3 to 1e3, one feature
 * constant (σ = 0), one with σ ≪ μ. */
static float trace_value(uint64_t *seed, unsigned i, size_t t) {
        double u = da_uniform01(seed);

        switch (i % 5) {
        case 0:
                return (float) (1e-3 * (1 + u));
        case 1:
                return (float) (1e3 * u * u);
        case 2:
                return 0.25f;
        case 3:
                return (float) (100 + 1e-3 * u);
        default:
                return (float) (pow(10, -3 + 6 * u) * (1 + (t / 37) % 3));
        }
}

/* Ring sizes: the degenerate one, a small one that wraps often, and one
 * that takes a while to fill. */
static const unsigned offline_online_w[] = { 1, 3, 50 };

START_TEST(test_offline_online) {
        enum { F = 11, T = 180 };
        const unsigned W = offline_online_w[_i];
        _cleanup_(da_rolling_freep) da_rolling *r = NULL;
        static float history[T * F];
        uint64_t seed = 7;
        double worst[_DA_AGG_MAX] = {};

        ck_assert_int_eq(da_rolling_new(F, W, &r), 0);
        for (size_t t = 0; t < T; t++) {
                size_t m = MIN(t + 1, (size_t) W);

                for (unsigned i = 0; i < F; i++)
                        history[t * F + i] = trace_value(&seed, i, t);
                ck_assert_int_eq(da_rolling_push(r, history + t * F), 0);
                ck_assert_uint_eq(da_rolling_count(r), m);

                /* Every step, before and after the window fills and across
                 * the ring's wraps. */
                for (da_aggregation agg = 0; agg < _DA_AGG_MAX; agg++) {
                        double online[F], offline[F], e;

                        ck_assert_int_eq(da_rolling_scores(r, agg, online), 0);
                        ck_assert_int_eq(da_aggregate(history + (t + 1 - m) * F, m, F, agg, offline), 0);
                        e = max_rel_error(online, offline, F, 1e-6);
                        worst[agg] = MAX(worst[agg], e);
                        ck_assert_msg(e <= 1e-6, "t=%zu %s: relative error %g", t,
                                      da_aggregation_to_string(agg), e);
                }
        }
        for (da_aggregation agg = 0; agg < _DA_AGG_MAX; agg++)
                printf("offline/online W=%-2u %-7s max relative difference %.3g\n",
                       W, da_aggregation_to_string(agg), worst[agg]);
}
END_TEST

START_TEST(test_reset_and_bad_input) {
        _cleanup_(da_rolling_freep) da_rolling *r = NULL, *fresh = NULL;
        const float x[3] = { 1, 2, 3 }, y[3] = { 2, 2, 5 }, bad[3] = { 1, NAN, 3 }, inf[3] = { 1, 2, -INFINITY };
        double s[3], t[3] = { -7, -7, -7 };

        ck_assert_int_eq(da_rolling_new(0, 4, &r), -EINVAL);
        ck_assert_int_eq(da_rolling_new(3, 0, &r), -EINVAL);
        ck_assert_ptr_null(r);
        ck_assert_int_eq(da_rolling_new(3, 4, &r), 0);
        ck_assert_int_eq(da_rolling_new(3, 4, &fresh), 0);

        for (unsigned k = 0; k < 6; k++)
                ck_assert_int_eq(da_rolling_push(r, k % 2 ? x : y), 0);
        da_rolling_reset(r);
        ck_assert_uint_eq(da_rolling_count(r), 0);
        ck_assert_int_eq(da_rolling_scores(r, DA_AGG_INV, t), -ENODATA);

        /* After a reset: the same as a new attributor. */
        ck_assert_int_eq(da_rolling_push(r, x), 0);
        ck_assert_int_eq(da_rolling_push(r, y), 0);
        ck_assert_int_eq(da_rolling_push(fresh, x), 0);
        ck_assert_int_eq(da_rolling_push(fresh, y), 0);

        /* A NaN (missing) or infinite value: rejected, nothing in scope changes. */
        ck_assert_int_eq(da_rolling_push(r, bad), -EINVAL);
        ck_assert_int_eq(da_rolling_push(r, inf), -EINVAL);
        ck_assert_uint_eq(da_rolling_count(r), 2);
        for (da_aggregation agg = 0; agg < _DA_AGG_MAX; agg++) {
                ck_assert_int_eq(da_rolling_scores(r, agg, s), 0);
                ck_assert_int_eq(da_rolling_scores(fresh, agg, t), 0);
                for (unsigned i = 0; i < 3; i++)
                        ck_assert(s[i] == t[i]);
        }
        ck_assert_int_eq(da_rolling_scores(r, _DA_AGG_MAX, s), -EINVAL);
        ck_assert_ptr_null(da_rolling_free(NULL));
}
END_TEST

START_TEST(test_magnitude_drop) {
        /* A trace that was large and goes flat: once the large windows have
         * left, σ is exactly 0 offline (identical floats), so it must be
         * online too, at every ring position, or INV and PEN see a spread
         * that is not there. Subtracting the large values from running
         * moments left σ ≈ 3e-5 here. */
        enum { F = 2, W = 8 };
        uint64_t seed = 5;

        for (unsigned big = 1; big < 3 * W; big++) {
                _cleanup_(da_rolling_freep) da_rolling *r = NULL;
                double mu[F], sigma[F];

                ck_assert_int_eq(da_rolling_new(F, W, &r), 0);
                for (unsigned t = 0; t < big + W; t++) {
                        const float x[F] = {
                                t < big ? 1000 * (1 + da_uniform01(&seed)) : 0.00123f,
                                0.5f,
                        };

                        ck_assert_int_eq(da_rolling_push(r, x), 0);
                }
                ck_assert_int_eq(da_rolling_moments(r, mu, sigma), 0);
                ck_assert_msg(sigma[0] == 0, "%u large windows: σ %g", big, sigma[0]);
                ck_assert_msg(fabs(mu[0] - 0.00123f) <= 1e-15, "%u large windows: μ %.17g", big, mu[0]);
                ck_assert(sigma[1] == 0 && mu[1] == 0.5);
        }
}
END_TEST

/* Sliding add/remove without re-summation, the textbook update, only to
 * show that the data below does make a naive attributor drift. */
static void naive_replace(double *mean, double *m2, double n, double x_old, double x_new) {
        double d = x_new - x_old, mean_new = *mean + d / n;

        *m2 += d * ((x_new - mean_new) + (x_old - *mean));
        *mean = mean_new;
}

START_TEST(test_drift) {
        /* W does not divide the update count, so the check falls mid-pass,
         * where the previous pass's suffix and this pass's sums are merged. */
        enum { F = 10, W = 997 };
        const size_t updates = 10 * 1000 * 1000;
        _cleanup_(da_rolling_freep) da_rolling *r = NULL;
        _cleanup_free_ float *ring = malloc((size_t) W * F * sizeof(float)), *last = malloc((size_t) W * F * sizeof(float));
        double naive_mean[F] = {}, naive_m2[F] = {}, mu[F], sigma[F], mu_x[F], sigma_x[F], naive_err = 0;
        double worst_mu = 0, worst_sigma = 0, worst_score = 0, t0;
        static const double level[4] = { 1e3, 1e1, 1e-1, 1e-3 }, spread[4] = { 0.5, 0.05, 5e-3, 5e-4 };
        float x[F];
        uint64_t seed = 1;
        size_t failed = 0;

        ck_assert_ptr_nonnull(ring);
        ck_assert_ptr_nonnull(last);
        ck_assert_int_eq(da_rolling_new(F, W, &r), 0);

        /* Check's assertions talk to the parent process; the loops below
         * count failures instead, to stay fast. */
        t0 = now_s();
        for (size_t t = 0; t < updates; t++) {
                /* Phases of 10^5 windows cycling each feature's magnitude
                 * through 1e3, 1e1, 1e-1, 1e-3 (shifted per feature), with
                 * spreads from 50 % down to 0.01 % of the level, then a last
                 * phase at 1e-3 for all, after 10^7 − 10^5 updates of
                 * mostly far larger values. */
                bool final = t >= updates - 100000;

                for (unsigned i = 0; i < F; i++) {
                        unsigned phase = final ? 3 : (unsigned) ((t / 100000 + i) % 4);

                        x[i] = (float) (level[phase] * (1 + spread[i % 4] * da_uniform01(&seed)));
                }
                if (da_rolling_push(r, x) < 0)
                        failed++;

                if (t >= W)
                        for (unsigned i = 0; i < F; i++)
                                naive_replace(&naive_mean[i], &naive_m2[i], W, ring[(t % W) * F + i], x[i]);
                else
                        for (unsigned i = 0; i < F; i++) {
                                double d = x[i] - naive_mean[i];

                                naive_mean[i] += d / (double) (t + 1);
                                naive_m2[i] += d * (x[i] - naive_mean[i]);
                        }
                memcpy(ring + (t % W) * F, x, sizeof(x));
        }
        printf("drift: %zu pushes at F=%d, W=%d in %.2f s\n", updates, F, W, now_s() - t0);
        ck_assert_uint_eq(failed, 0);

        /* The exact reference: the final W windows, oldest first, two-pass. */
        for (size_t k = 0; k < W; k++)
                memcpy(last + k * F, ring + ((updates + k) % W) * F, sizeof(x));
        for (unsigned i = 0; i < F; i++) {
                double sum = 0, ss = 0;

                for (size_t k = 0; k < W; k++)
                        sum += last[k * F + i];
                mu_x[i] = sum / W;
                for (size_t k = 0; k < W; k++)
                        ss += (last[k * F + i] - mu_x[i]) * (last[k * F + i] - mu_x[i]);
                sigma_x[i] = sqrt(ss / W);
        }

        ck_assert_int_eq(da_rolling_moments(r, mu, sigma), 0);
        for (unsigned i = 0; i < F; i++) {
                worst_mu = MAX(worst_mu, fabs(mu[i] - mu_x[i]) / mu_x[i]);
                worst_sigma = MAX(worst_sigma, fabs(sigma[i] - sigma_x[i]) / sigma_x[i]);
                naive_err = MAX(naive_err, fabs(sqrt(MAX(naive_m2[i], 0) / W) - sigma_x[i]) / sigma_x[i]);
        }
        for (da_aggregation agg = 0; agg < _DA_AGG_MAX; agg++) {
                double online[F], offline[F];

                ck_assert_int_eq(da_rolling_scores(r, agg, online), 0);
                ck_assert_int_eq(da_aggregate(last, W, F, agg, offline), 0);
                worst_score = MAX(worst_score, max_rel_error(online, offline, F, 1e-6));
        }
        printf("drift after %zu updates: relative error μ %.3g, σ %.3g, scores %.3g "
               "(naive sliding update without re-summation: σ %.3g)\n",
               updates, worst_mu, worst_sigma, worst_score, naive_err);
        ck_assert_msg(worst_mu <= 1e-6, "μ drifted by %g", worst_mu);
        ck_assert_msg(worst_sigma <= 1e-6, "σ drifted by %g", worst_sigma);
        ck_assert_msg(worst_score <= 1e-6, "scores drifted by %g", worst_score);
}
END_TEST

static Suite *rolling_suite(void) {
        Suite *s = suite_create("rolling");
        TCase *tc = tcase_create("core");

        tcase_add_test(tc, test_hand);
        tcase_add_loop_test(tc, test_offline_online, 0, ELEMENTSOF(offline_online_w));
        tcase_add_test(tc, test_reset_and_bad_input);
        tcase_add_test(tc, test_magnitude_drop);
        tcase_add_test(tc, test_drift);
        tcase_set_timeout(tc, 600);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        SRunner *sr = srunner_create(rolling_suite());
        int failures;

        srunner_run_all(sr, CK_NORMAL);
        failures = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failures ? 1 : 0;
}
