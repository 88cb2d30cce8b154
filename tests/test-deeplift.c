/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DeepLIFT through the LSTM: a case worked out by hand, summation-to-delta on
 * random models of every layout, the gradient limit, the gradient fallback
 * and its broken summation, and x = x′. */

#include <math.h>

#include "attribute.h"
#include "model.h"
#include "test-util.h"

static da_attr_options options(unsigned output, bool fallback) {
        /* DeepLIFT reads only these two fields */
        da_attr_options o = {};

        o.output = output;
        o.deeplift_gradient_fallback = fallback;
        return o;
}

static void fill(float *v, size_t n, float lo, float hi, uint64_t *s) {
        for (size_t k = 0; k < n; k++)
                v[k] = lo + (hi - lo) * da_uniform01(s);
}

static double sum(const float *v, size_t n) {
        double s = 0;

        for (size_t k = 0; k < n; k++)
                s += v[k];
        return s;
}

/* H = 1, F = 2, T = 1, plain layout (last pooling, one output), weights set
 * by hand: weight_ih rows i: (1, −1), f: (0.5, 0.5), g: (2, 1), o: (−1, 0.5);
 * bias (0.5, 0, −0.5, 1) (in bias_ih, bias_hh = 0); fc: 1.5·h + 0.25.
 * x = (1, 0.5), x′ = (0, 0). Pre-activations z = W·x + b:
 *   x:  z_i = 1,   z_f = 0.75, z_g = 2,    z_o = 0.25
 *   x′: z_i = 0.5, z_f = 0,    z_g = −0.5, z_o = 1
 * Activations: i = σ(1) = 0.7310585786, g = tanh 2 = 0.9640275801,
 *   o = σ(0.25) = 0.5621765009; i′ = σ(0.5) = 0.6224593312,
 *   g′ = tanh(−0.5) = −0.4621171573, o′ = σ(1) = 0.7310585786.
 * c = i·g = 0.7047606325, c′ = −0.2876491366 (c₋₁ = 0, so f plays no part);
 *   tanh c = 0.6073808471, tanh c′ = −0.2799696461;
 *   h = 0.3414552393, h′ = −0.2046742115; F = 0.7621828590, F′ = −0.0570113173,
 *   ΔF = 0.8191941763.
 * Multipliers (m_h = 1.5 from fc):
 *   h = o·tanh c (Shapley): m_o = 1.5·(tanh c + tanh c′)/2 = 0.2455584008,
 *     m_tanhc = 1.5·(o + o′)/2 = 0.9699263096;
 *   tanh (rescale): m_c = m_tanhc·(tanh c − tanh c′)/(c − c′) = 0.8672471957;
 *   c = i·g (Shapley): m_i = m_c·(g + g′)/2 = 0.2176402033,
 *     m_g = m_c·(i + i′)/2 = 0.5869173058;
 *   gates (rescale): m_zi = m_i·(i − i′)/(z_i − z_i′) = 0.0472711246,
 *     m_zg = m_g·(g − g′)/(z_g − z_g′) = 0.3348116108,
 *     m_zo = m_o·(o − o′)/(z_o − z_o′) = 0.0552938839;
 *   input: m_x = Wᵀ·m_z: m_x1 = 1·m_zi + 2·m_zg − 1·m_zo = 0.6616004622,
 *     m_x2 = −1·m_zi + 1·m_zg + 0.5·m_zo = 0.3151874281.
 * φ = m_x·Δx = (0.6616004622, 0.1575937141), Σφ = 0.8191941763 = ΔF.
 * The fallback takes derivatives at x instead: ∂F/∂z_i = 1.5·o·(1 − tanh²c)·g·i(1 − i)
 *   = 0.1008680327, ∂F/∂z_g = 1.5·o·(1 − tanh²c)·i·(1 − g²) = 0.0274867652,
 *   ∂F/∂z_o = 1.5·tanh c·o(1 − o) = 0.2242456915, so φ = (∂z_i + 2∂z_g − ∂z_o,
 *   (−∂z_i + ∂z_g + 0.5∂z_o)·0.5) = (−0.0684041285, 0.0193707891), Σφ = −0.0490333394. */
START_TEST(test_hand_worked) {
        static const float w_ih[8] = { 1, -1, 0.5, 0.5, 2, 1, -1, 0.5 };
        static const float b_ih[4] = { 0.5, 0, -0.5, 1 };
        static const float x[2] = { 1, 0.5 }, xb[2] = { 0, 0 };
        da_arch a = { .n_features = 2, .hidden = 1, .layers = 1, .pooling = DA_POOL_LAST, .outputs = 1,
                      .window = 1, .hop = 1 };
        _cleanup_(da_model_freep) da_model *m = NULL;
        da_attr_options o = options(0, false);
        da_attr_result res;
        float phi[2];

        ck_assert_int_eq(da_model_new_random(&a, 1, &m), 0);
        memcpy(m->layer[0].w_ih, w_ih, sizeof(w_ih));
        memcpy(m->layer[0].b_ih, b_ih, sizeof(b_ih));
        memset(m->layer[0].b_hh, 0, 4 * sizeof(float));
        m->layer[0].w_hh[0] = m->layer[0].w_hh[1] = m->layer[0].w_hh[2] = m->layer[0].w_hh[3] = 0;
        m->out_w[0] = 1.5;
        m->out_b[0] = 0.25;
        ck_assert_int_eq(model_pack(m), 0);

        ck_assert_int_eq(attr_deeplift(m, &o, x, xb, 1, phi, &res, NULL), 0);
        ck_assert_double_eq_tol(res.output, 0.7621828590, 1e-9);
        ck_assert_double_eq_tol(res.baseline_output, -0.0570113173, 1e-9);
        ck_assert_float_eq_tol(phi[0], 0.6616004622, 1e-6);
        ck_assert_float_eq_tol(phi[1], 0.1575937141, 1e-6);
        ck_assert_double_le(fabs(res.delta), 1e-6);

        o = options(0, true);
        ck_assert_int_eq(attr_deeplift(m, &o, x, xb, 1, phi, &res, NULL), 0);
        ck_assert_float_eq_tol(phi[0], -0.0684041285, 1e-6);
        ck_assert_float_eq_tol(phi[1], 0.0193707891, 1e-6);
        ck_assert_double_eq_tol(res.delta, -0.0490333394 - 0.8191941763, 1e-6);
}
END_TEST

/* Every head layout × pooling × depth: Σφ = F(x) − F(x′) to 1e-4 relative,
 * the reported delta is that residual, and F(x) matches the float forward. */
START_TEST(test_summation_to_delta) {
        static const struct {
                unsigned dense;
                bool batchnorm;
                da_activation act;
        } heads[] = {
                { 0, false, DA_ACT_NONE },
                { 0, true, DA_ACT_NONE },
                { 16, true, DA_ACT_ELU },
                { 16, false, DA_ACT_RELU },
                { 16, true, DA_ACT_TANH },
        };
        unsigned n = 0;

        for (size_t hd = 0; hd < ELEMENTSOF(heads); hd++)
                for (unsigned pool = 0; pool < _DA_POOL_MAX; pool++)
                        for (unsigned L = 1; L <= 2; L++)
                                for (unsigned baseline = 0; baseline < 2; baseline++) {
                                        da_arch a = { .n_features = 6, .hidden = 9, .layers = L,
                                                      .batchnorm = heads[hd].batchnorm, .pooling = pool,
                                                      .dense = heads[hd].dense,
                                                      .activation = heads[hd].act, .outputs = 2,
                                                      .window = 15, .hop = 1 };
                                        _cleanup_(da_model_freep) da_model *m = NULL;
                                        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
                                        uint64_t s = 1000 + n;
                                        float x[15 * 6], xb[15 * 6] = {}, phi[15 * 6], out[2], outb[2];
                                        da_attr_options o = options(n % 2, false);
                                        da_attr_result res;
                                        double dF;

                                        ck_assert_int_eq(da_model_new_random(&a, 77 + n, &m), 0);
                                        fill(x, ELEMENTSOF(x), -2, 2, &s);
                                        if (baseline)
                                                fill(xb, ELEMENTSOF(xb), -1, 1, &s);
                                        ck_assert_int_eq(attr_deeplift(m, &o, x, xb, 15, phi, &res, NULL), 0);

                                        ck_assert_int_eq(da_ctx_new(m, 15, &ctx), 0);
                                        ck_assert_int_eq(da_forward(ctx, x, 15, out), 0);
                                        ck_assert_int_eq(da_forward(ctx, xb, 15, outb), 0);
                                        ck_assert_double_eq_tol(res.output, out[o.output], 1e-5);
                                        ck_assert_double_eq_tol(res.baseline_output, outb[o.output], 1e-5);

                                        dF = res.output - res.baseline_output;
                                        ck_assert_double_eq_tol(res.delta, sum(phi, ELEMENTSOF(phi)) - dF, 1e-12);
                                        ck_assert_msg(fabs(res.delta) <= 1e-4 * fabs(dF),
                                                      "head %zu pooling %u layers %u: Σφ − ΔF = %g, ΔF = %g", hd,
                                                      pool, L, res.delta, dF);
                                        n++;
                                }
}
END_TEST

/* As x′ → x every secant tends to the derivative at the midpoint (with an
 * O(Δ²) error) and every Shapley average to the factor's midpoint value, so
 * φ → ∇F((x + x′)/2)·Δx, the gradient coming from backpropagation. */
START_TEST(test_gradient_limit) {
        for (unsigned pool = 0; pool < _DA_POOL_MAX; pool++) {
                da_arch a = { .n_features = 4, .hidden = 8, .layers = 2, .batchnorm = true, .pooling = pool,
                              .dense = 8, .activation = DA_ACT_ELU, .outputs = 1, .window = 10, .hop = 1 };
                _cleanup_(da_model_freep) da_model *m = NULL;
                uint64_t s = 5 + pool;
                float x[40], xb[40], mid[40], u[40], phi[40], grad[40], F;
                da_attr_options o = options(0, false);
                double worst = 0, scale = 0;

                ck_assert_int_eq(da_model_new_random(&a, 3, &m), 0);
                fill(x, 40, -2, 2, &s);
                fill(u, 40, -1, 1, &s);
                for (unsigned k = 0; k < 40; k++) {
                        xb[k] = x[k] + 1e-3f * u[k];
                        mid[k] = 0.5f * (x[k] + xb[k]);
                }
                ck_assert_int_eq(attr_deeplift(m, &o, x, xb, 10, phi, NULL, NULL), 0);
                ck_assert_int_eq(da_gradient(m, mid, 10, 0, &F, grad, NULL), 0);
                for (unsigned k = 0; k < 40; k++) {
                        double g = (double) grad[k] * ((double) x[k] - (double) xb[k]);

                        worst = fmax(worst, fabs(phi[k] - g));
                        scale = fmax(scale, fabs(g));
                }
                ck_assert_double_gt(scale, 0);
                ck_assert_msg(worst <= 1e-4 * scale, "pooling %u: max |φ − ∇F·Δx| = %g of %g", pool, worst, scale);
        }
}
END_TEST

/* The fallback is gradient × Δx inside the LSTM; with a linear head (no
 * dense layer, last or mean pooling) that is exactly ∇F(x)·Δx. */
START_TEST(test_fallback_is_gradient_times_delta) {
        for (unsigned pool = DA_POOL_LAST; pool <= DA_POOL_MEAN; pool++) {
                da_arch a = { .n_features = 5, .hidden = 7, .layers = 2, .batchnorm = true, .pooling = pool,
                              .outputs = 1, .window = 12, .hop = 1 };
                _cleanup_(da_model_freep) da_model *m = NULL;
                uint64_t s = 11;
                float x[60], xb[60], phi[60], grad[60], F;
                da_attr_options o = options(0, true);
                double worst = 0, scale = 0;

                ck_assert_int_eq(da_model_new_random(&a, 9, &m), 0);
                fill(x, 60, -2, 2, &s);
                fill(xb, 60, -2, 2, &s);
                ck_assert_int_eq(attr_deeplift(m, &o, x, xb, 12, phi, NULL, NULL), 0);
                ck_assert_int_eq(da_gradient(m, x, 12, 0, &F, grad, NULL), 0);
                for (unsigned k = 0; k < 60; k++) {
                        double g = (double) grad[k] * ((double) x[k] - (double) xb[k]);

                        worst = fmax(worst, fabs(phi[k] - g));
                        scale = fmax(scale, fabs(g));
                }
                ck_assert_msg(worst <= 1e-5 * scale, "pooling %u: max |φ − ∇F·Δx| = %g of %g", pool, worst, scale);
        }
}
END_TEST

/* On a random FOVAL-layout model with a large Δx, ours sums to ΔF and the
 * fallback visibly does not. */
START_TEST(test_fallback_breaks_summation) {
        da_arch a = { .n_features = 8, .hidden = 16, .layers = 1, .batchnorm = true, .pooling = DA_POOL_MAX,
                      .dense = 16, .activation = DA_ACT_ELU, .outputs = 1, .window = 20, .hop = 1 };
        _cleanup_(da_model_freep) da_model *m = NULL;
        uint64_t s = 21;
        float x[160], xb[160] = {}, phi[160];
        da_attr_options o = options(0, false);
        da_attr_result ours, fb;
        double dF;

        ck_assert_int_eq(da_model_new_random(&a, 4, &m), 0);
        fill(x, 160, -3, 3, &s);
        ck_assert_int_eq(attr_deeplift(m, &o, x, xb, 20, phi, &ours, NULL), 0);
        o = options(0, true);
        ck_assert_int_eq(attr_deeplift(m, &o, x, xb, 20, phi, &fb, NULL), 0);

        dF = ours.output - ours.baseline_output;
        ck_assert_double_eq(fb.output, ours.output);
        ck_assert_double_le(fabs(ours.delta), 1e-4 * fabs(dF));
        ck_assert_msg(fabs(fb.delta) >= 0.05 * fabs(dF), "fallback Σφ − ΔF = %g, ΔF = %g", fb.delta, dF);
}
END_TEST

/* x = x′: every Δ is zero, the rules take their midpoint slopes, φ = 0 exactly. */
START_TEST(test_same_input_is_zero) {
        for (unsigned pool = 0; pool < _DA_POOL_MAX; pool++)
                for (unsigned fallback = 0; fallback < 2; fallback++) {
                        da_arch a = { .n_features = 3, .hidden = 5, .layers = 2, .batchnorm = true,
                                      .pooling = pool, .dense = 4, .activation = DA_ACT_RELU, .outputs = 1,
                                      .window = 6, .hop = 1 };
                        _cleanup_(da_model_freep) da_model *m = NULL;
                        uint64_t s = 2;
                        float x[18], phi[18];
                        da_attr_options o = options(0, fallback);
                        da_attr_result res;

                        ck_assert_int_eq(da_model_new_random(&a, 6, &m), 0);
                        fill(x, 18, -2, 2, &s);
                        ck_assert_int_eq(attr_deeplift(m, &o, x, x, 6, phi, &res, NULL), 0);
                        for (unsigned k = 0; k < 18; k++)
                                ck_assert_msg(phi[k] == 0, "φ[%u] = %g", k, phi[k]);
                        ck_assert_double_eq(res.delta, 0);
                        ck_assert_double_eq(res.output, res.baseline_output);
                }
}
END_TEST

START_TEST(test_bad_arguments) {
        da_arch a = { .n_features = 2, .hidden = 3, .layers = 1, .pooling = DA_POOL_LAST, .outputs = 2,
                      .window = 4, .hop = 1 };
        _cleanup_(da_model_freep) da_model *m = NULL;
        float x[8] = {}, phi[8] = { 42 };
        da_attr_options o = options(2, false);
        da_error err = {};

        ck_assert_int_eq(da_model_new_random(&a, 1, &m), 0);
        ck_assert_int_eq(attr_deeplift(m, &o, x, x, 4, phi, NULL, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "output 2"));
        o = options(0, false);
        ck_assert_int_eq(attr_deeplift(m, &o, x, x, 0, phi, NULL, &err), -EINVAL);
        ck_assert_int_eq(attr_deeplift(m, &o, x, NULL, 4, phi, NULL, &err), -EINVAL);
        ck_assert_float_eq(phi[0], 42);
}
END_TEST

/* The library entry resolves the baseline and dispatches here: zeros by
 * default, the given window otherwise, with the same φ as a direct call. */
START_TEST(test_through_da_attribute) {
        da_arch a = { .n_features = 3, .hidden = 6, .layers = 1, .batchnorm = true, .pooling = DA_POOL_MAX,
                      .dense = 5, .activation = DA_ACT_TANH, .outputs = 1, .window = 8, .hop = 1 };
        _cleanup_(da_model_freep) da_model *m = NULL;
        uint64_t s = 31;
        float x[24], xb[24], zero[24] = {}, phi[24], direct[24];
        da_attr_options o, d = options(0, false);
        da_attr_result res, res_direct;

        ck_assert_int_eq(da_model_new_random(&a, 8, &m), 0);
        fill(x, 24, -2, 2, &s);
        fill(xb, 24, -1, 1, &s);
        da_attr_options_init(&o);
        ck_assert(!o.deeplift_gradient_fallback);

        ck_assert_int_eq(da_attribute(m, DA_METHOD_DEEPLIFT, &o, x, 8, phi, &res, NULL), 0);
        ck_assert_int_eq(attr_deeplift(m, &d, x, zero, 8, direct, &res_direct, NULL), 0);
        ck_assert_mem_eq(phi, direct, sizeof(phi));
        ck_assert_double_eq(res.baseline_output, res_direct.baseline_output);

        o.baseline_kind = DA_BASELINE_GIVEN;
        o.baseline = xb;
        ck_assert_int_eq(da_attribute(m, DA_METHOD_DEEPLIFT, &o, x, 8, phi, &res, NULL), 0);
        ck_assert_int_eq(attr_deeplift(m, &d, x, xb, 8, direct, &res_direct, NULL), 0);
        ck_assert_mem_eq(phi, direct, sizeof(phi));
        ck_assert_double_le(fabs(res.delta), 1e-4 * fabs(res.output - res.baseline_output));
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("deeplift");
        TCase *tc = tcase_create("deeplift");

        tcase_add_test(tc, test_hand_worked);
        tcase_add_test(tc, test_summation_to_delta);
        tcase_add_test(tc, test_gradient_limit);
        tcase_add_test(tc, test_fallback_is_gradient_times_delta);
        tcase_add_test(tc, test_fallback_breaks_summation);
        tcase_add_test(tc, test_same_input_is_zero);
        tcase_add_test(tc, test_bad_arguments);
        tcase_add_test(tc, test_through_da_attribute);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run(suite());
}
