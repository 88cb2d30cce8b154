/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The attribution methods behind da_attribute(): Integrated Gradients against
 * the PyTorch fixtures (Captum's formula, float64), the quadrature rules
 * against numpy and Captum's definitions, KernelSHAP's solver on games whose
 * Shapley values are known, and the properties each method promises. */

#include <math.h>

#include "attribute.h"
#include "lstm-fixture.h"

#define IG_TOLERANCE 1e-4

static da_model *small_model(unsigned F, unsigned T, uint64_t seed) {
        da_arch a = {
                .n_features = F, .hidden = 6, .layers = 1, .batchnorm = true, .pooling = DA_POOL_MAX, .dense = 5,
                .activation = DA_ACT_ELU, .outputs = 2, .window = T, .hop = 1,
        };
        da_model *m;

        ck_assert_int_eq(da_model_new_random(&a, seed, &m), 0);
        return m;
}

static float *random_window(size_t n, uint64_t seed) {
        float *x = calloc(n, sizeof(float));

        ck_assert_ptr_nonnull(x);
        for (size_t i = 0; i < n; i++)
                x[i] = 2 * da_uniform01(&seed) - 1;
        return x;
}

static double output_of(const da_model *m, const float *x, unsigned T, unsigned o) {
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        float out[8];

        ck_assert_int_eq(da_ctx_new(m, T, &ctx), 0);
        ck_assert_int_eq(da_forward(ctx, x, T, out), 0);
        return out[o];
}

START_TEST(test_ig_torch) {
        lstm_fixture fx;
        json_object *ig, *v;
        _cleanup_free_ double *ref = NULL;
        _cleanup_free_ float *phi = NULL;
        da_attr_options o;
        da_attr_result res;
        da_error err = {};
        size_t n;
        double e;

        ck_assert(lstm_fixture_load(_i, &fx));
        if (!json_object_object_get_ex(fx.doc, "ig", &ig)) {
                lstm_fixture_done(&fx);
                return;
        }
        n = (size_t) fx.arch.window * fx.arch.n_features;
        ck_assert_uint_eq(lstm_fixture_doubles(&fx, ig, "attributions", &ref), n);
        json_object_object_get_ex(ig, "steps", &v);
        da_attr_options_init(&o);
        o.steps = (unsigned) json_object_get_int(v);
        json_object_object_get_ex(ig, "method", &v);
        ck_assert_int_eq(da_ig_rule_from_string(json_object_get_string(v)), DA_IG_GAUSS_LEGENDRE);
        json_object_object_get_ex(ig, "baseline", &v);
        ck_assert_str_eq(json_object_get_string(v), "zeros");
        phi = calloc(n, sizeof(float));
        ck_assert_ptr_nonnull(phi);

        ck_assert_msg(da_attribute(fx.model, DA_METHOD_IG, &o, fx.x, fx.arch.window, phi, &res, &err) == 0, "%s",
                      err.message);
        e = test_rel_error(phi, ref, n);
        ck_assert_msg(e <= IG_TOLERANCE, "%s: IG relative error %.3g", fx.path, e);
        json_object_object_get_ex(ig, "delta", &v);
        ck_assert_msg(fabs(res.delta - json_object_get_double(v)) <= 1e-5 * fmax(1, fabs(res.output)),
                      "%s: delta %.9g, torch %.9g", fx.path, res.delta, json_object_get_double(v));
        lstm_fixture_done(&fx);
}
END_TEST

START_TEST(test_quadrature) {
        double a[50], w[50], s = 0;

        /* three Gauss–Legendre nodes on [−1, 1]: 0, ±√(3/5), weights 8/9, 5/9;
         * mapped to [0, 1] as Captum does */
        ck_assert_int_eq(ig_quadrature(DA_IG_GAUSS_LEGENDRE, 3, a, w), 0);
        ck_assert_double_eq_tol(a[0], 0.5 - 0.5 * sqrt(0.6), 1e-15);
        ck_assert_double_eq_tol(a[1], 0.5, 1e-15);
        ck_assert_double_eq_tol(a[2], 0.5 + 0.5 * sqrt(0.6), 1e-15);
        ck_assert_double_eq_tol(w[0], 5.0 / 18, 1e-15);
        ck_assert_double_eq_tol(w[1], 8.0 / 18, 1e-15);
        ck_assert_double_eq_tol(w[2], 5.0 / 18, 1e-15);
        ck_assert_int_eq(ig_quadrature(DA_IG_GAUSS_LEGENDRE, 1, a, w), 0);
        ck_assert_double_eq_tol(a[0], 0.5, 1e-15);
        ck_assert_double_eq_tol(w[0], 1.0, 1e-15);

        /* numpy.polynomial.legendre.leggauss(50), 0.5·(1 + x) and 0.5·w */
        ck_assert_int_eq(ig_quadrature(DA_IG_GAUSS_LEGENDRE, 50, a, w), 0);
        ck_assert_double_eq_tol(a[0], 0.0005667977899644905, 1e-14);
        ck_assert_double_eq_tol(w[0], 0.0014543112765789342, 1e-14);
        ck_assert_double_eq_tol(a[24], 0.48445083083640555, 1e-14);
        ck_assert_double_eq_tol(w[24], 0.0310883083276735, 1e-14);
        for (unsigned k = 0; k < 50; k++)
                s += w[k];
        ck_assert_double_eq_tol(s, 1.0, 1e-13);

        /* Captum's Riemann rules for n = 4: step 1/4, trapezoid halves the ends */
        ck_assert_int_eq(ig_quadrature(DA_IG_RIEMANN_LEFT, 4, a, w), 0);
        for (unsigned k = 0; k < 4; k++) {
                ck_assert_double_eq_tol(a[k], 0.25 * k, 1e-15);
                ck_assert_double_eq_tol(w[k], 0.25, 1e-15);
        }
        ck_assert_int_eq(ig_quadrature(DA_IG_RIEMANN_RIGHT, 4, a, w), 0);
        for (unsigned k = 0; k < 4; k++)
                ck_assert_double_eq_tol(a[k], 0.25 * (k + 1), 1e-15);
        ck_assert_int_eq(ig_quadrature(DA_IG_RIEMANN_MIDDLE, 4, a, w), 0);
        for (unsigned k = 0; k < 4; k++)
                ck_assert_double_eq_tol(a[k], 0.125 + 0.25 * k, 1e-15);
        ck_assert_int_eq(ig_quadrature(DA_IG_RIEMANN_TRAPEZOID, 4, a, w), 0);
        for (unsigned k = 0; k < 4; k++)
                ck_assert_double_eq_tol(a[k], k / 3.0, 1e-15);
        ck_assert_double_eq_tol(w[0], 0.125, 1e-15);
        ck_assert_double_eq_tol(w[1], 0.25, 1e-15);
        ck_assert_double_eq_tol(w[3], 0.125, 1e-15);

        ck_assert_int_eq(ig_quadrature(DA_IG_RIEMANN_LEFT, 1, a, w), -EINVAL);
        ck_assert_int_eq(ig_quadrature(DA_IG_GAUSS_LEGENDRE, 0, a, w), -EINVAL);
}
END_TEST

/* Every rule converges to the same integral: with many steps, completeness
 * holds closely, and the α-step batch size does not change the result. */
START_TEST(test_ig_rules) {
        _cleanup_(da_model_freep) da_model *m = small_model(3, 5, 11);
        _cleanup_free_ float *x = random_window(15, 3), *base = random_window(15, 4);
        float phi[15], phi1[15];
        da_attr_options o;
        da_attr_result res, res1;
        da_error err = {};

        for (da_ig_rule r = 0; r < _DA_IG_RULE_MAX; r++) {
                da_attr_options_init(&o);
                o.rule = r;
                o.steps = r == DA_IG_GAUSS_LEGENDRE ? 50 : 2000;
                o.baseline_kind = DA_BASELINE_GIVEN;
                o.baseline = base;
                o.baseline_len = 15;
                ck_assert_msg(da_attribute(m, DA_METHOD_IG, &o, x, 5, phi, &res, &err) == 0, "%s", err.message);
                ck_assert_double_eq_tol(res.output, output_of(m, x, 5, 0), 1e-5);
                ck_assert_double_eq_tol(res.baseline_output, output_of(m, base, 5, 0), 1e-5);
                ck_assert_msg(fabs(res.delta) <= 2e-3 * fabs(res.output - res.baseline_output),
                              "%s: delta %g of %g", da_ig_rule_to_string(r), res.delta,
                              res.output - res.baseline_output);
                o.batch = 1;
                o.steps = 50;
                ck_assert_int_eq(da_attribute(m, DA_METHOD_IG, &o, x, 5, phi, &res, &err), 0);
                o.batch = 7;
                ck_assert_int_eq(da_attribute(m, DA_METHOD_IG, &o, x, 5, phi1, &res1, &err), 0);
                for (unsigned i = 0; i < 15; i++)
                        ck_assert_float_eq_tol(phi[i], phi1[i], 1e-7f);
        }
}
END_TEST

/* ---- KernelSHAP on games with known Shapley values ---------------------- */

typedef struct game {
        unsigned n;
        double w[8], c;
        int kind;               /* 0 linear, 1 additive, 2 unanimity of players 0..2 */
} game;

static double game_value(const bool *z, void *userdata) {
        const game *g = userdata;
        double v = g->c;

        switch (g->kind) {
        case 0:
                for (unsigned i = 0; i < g->n; i++)
                        v += g->w[i] * z[i];
                return v;
        case 1:
                /* g_i(1) − g_i(0) = w_i² − sin(i): the Shapley value of i */
                for (unsigned i = 0; i < g->n; i++)
                        v += z[i] ? g->w[i] * g->w[i] : sin(i);
                return v;
        default:
                return v + (z[0] && z[1] && z[2] ? 1.0 : 0.0);
        }
}

START_TEST(test_kernelshap_games) {
        game g = { .n = 7, .w = { 0.5, -1.25, 2, 0, 0.75, -0.1, 3 }, .c = 0.3 };
        double phi[8];
        /* exact (all 126 coalitions) and sampled (fewer than 2⁷ − 2) */
        const size_t budgets[] = { 126, 40 };

        for (unsigned b = 0; b < ELEMENTSOF(budgets); b++) {
                g.kind = 0;
                ck_assert_int_eq(kernelshap_solve(g.n, game_value, &g, budgets[b], 5, phi), 0);
                for (unsigned i = 0; i < g.n; i++)
                        ck_assert_double_eq_tol(phi[i], g.w[i], 1e-10);

                g.kind = 1;
                ck_assert_int_eq(kernelshap_solve(g.n, game_value, &g, budgets[b], 6, phi), 0);
                for (unsigned i = 0; i < g.n; i++)
                        ck_assert_double_eq_tol(phi[i], g.w[i] * g.w[i] - sin(i), 1e-10);
        }

        /* unanimity game of {0, 1, 2}: 1/3 each, 0 for the others — only the
         * exact enumeration recovers a non-additive game */
        g.kind = 2;
        ck_assert_int_eq(kernelshap_solve(g.n, game_value, &g, 126, 7, phi), 0);
        for (unsigned i = 0; i < g.n; i++)
                ck_assert_double_eq_tol(phi[i], i < 3 ? 1.0 / 3 : 0, 1e-12);

        g.n = 1;
        g.kind = 0;
        ck_assert_int_eq(kernelshap_solve(1, game_value, &g, 10, 1, phi), 0);
        ck_assert_double_eq_tol(phi[0], g.w[0], 1e-15);
        ck_assert_int_eq(kernelshap_solve(0, game_value, &g, 10, 1, phi), -EINVAL);
}
END_TEST

/* On the LSTM with F = 4 the exact enumeration must give the Shapley values
 * by their definition, φ_f = Σ_S |S|!(F−|S|−1)!/F! · (v(S ∪ f) − v(S)),
 * evaluated here independently over all 16 coalitions. */
START_TEST(test_kernelshap_lstm_exact) {
        enum { F = 4, T = 3 };
        _cleanup_(da_model_freep) da_model *m = small_model(F, T, 21);
        _cleanup_free_ float *x = random_window(F * T, 8), *base = random_window(F * T, 9);
        const double fact[] = { 1, 1, 2, 6, 24 };
        float phi[F * T], w[F * T];
        double v[1 << F], shapley[F] = {};
        da_attr_options o;
        da_attr_result res;
        da_error err = {};

        for (unsigned mask = 0; mask < (1u << F); mask++) {
                for (unsigned i = 0; i < F * T; i++)
                        w[i] = (mask >> (i % F)) & 1 ? x[i] : base[i];
                v[mask] = output_of(m, w, T, 1);
        }
        for (unsigned f = 0; f < F; f++)
                for (unsigned mask = 0; mask < (1u << F); mask++) {
                        unsigned s = (unsigned) __builtin_popcount(mask);

                        if (mask & (1u << f))
                                continue;
                        shapley[f] += fact[s] * fact[F - s - 1] / fact[F] * (v[mask | (1u << f)] - v[mask]);
                }

        da_attr_options_init(&o);
        o.output = 1;
        o.baseline_kind = DA_BASELINE_GIVEN;
        o.baseline = base;
        ck_assert_msg(da_attribute(m, DA_METHOD_KERNELSHAP, &o, x, T, phi, &res, &err) == 0, "%s", err.message);
        for (unsigned f = 0; f < F; f++) {
                double sum = 0;

                for (unsigned t = 0; t < T; t++)
                        sum += phi[t * F + f];
                ck_assert_double_eq_tol(sum, shapley[f], 1e-6);
                /* spread evenly over the steps */
                ck_assert_float_eq(phi[f], phi[(T - 1) * F + f]);
        }
        ck_assert_double_le(fabs(res.delta), 1e-6);
}
END_TEST

/* F = 40: sampled coalitions, efficiency still exact. */
START_TEST(test_kernelshap_lstm_efficiency) {
        enum { F = 40, T = 4 };
        _cleanup_(da_model_freep) da_model *m = small_model(F, T, 31);
        _cleanup_free_ float *x = random_window(F * T, 10), *phi = calloc(F * T, sizeof(float));
        _cleanup_free_ float *phi2 = calloc(F * T, sizeof(float));
        double sum = 0, dF;
        da_attr_options o;
        da_attr_result res;
        da_error err = {};

        da_attr_options_init(&o);
        o.seed = 3;
        ck_assert_msg(da_attribute(m, DA_METHOD_KERNELSHAP, &o, x, T, phi, &res, &err) == 0, "%s", err.message);
        for (unsigned i = 0; i < F * T; i++)
                sum += phi[i];
        dF = output_of(m, x, T, 0) - output_of(m, phi2, T, 0); /* phi2 is all zeros: the baseline */
        ck_assert_double_eq_tol(sum, dF, 1e-5 * fmax(1, fabs(dF)));
        ck_assert_double_le(fabs(res.delta), 1e-5);
        /* seeded: the same draws give the same values */
        ck_assert_int_eq(da_attribute(m, DA_METHOD_KERNELSHAP, &o, x, T, phi2, &res, &err), 0);
        ck_assert_mem_eq(phi, phi2, sizeof(float) * F * T);
}
END_TEST

START_TEST(test_ablation) {
        enum { F = 4, T = 5 };
        _cleanup_(da_model_freep) da_model *m = small_model(F, T, 41);
        _cleanup_free_ float *x = random_window(F * T, 12);
        float phi[F * T], w[F * T];
        unsigned H = da_model_arch(m)->hidden;
        da_attr_options o;
        da_attr_result res;
        da_error err = {};

        /* feature 2 is ignored: its column of weight_ih is zero */
        for (unsigned r = 0; r < 4 * H; r++)
                m->layer[0].w_ih[r * F + 2] = 0;
        ck_assert_int_eq(model_pack(m), 0);

        da_attr_options_init(&o);
        ck_assert_msg(da_attribute(m, DA_METHOD_ABLATION, &o, x, T, phi, &res, &err) == 0, "%s", err.message);
        for (unsigned f = 0; f < F; f++) {
                double sum = 0, drop;

                memcpy(w, x, sizeof(w));
                for (unsigned t = 0; t < T; t++)
                        w[t * F + f] = 0;
                drop = output_of(m, x, T, 0) - output_of(m, w, T, 0);
                for (unsigned t = 0; t < T; t++)
                        sum += phi[t * F + f];
                if (f == 2)
                        for (unsigned t = 0; t < T; t++)
                                ck_assert_float_eq(phi[t * F + f], 0.0f);
                else
                        ck_assert_double_ne(sum, 0);
                ck_assert_double_eq_tol(sum, drop, 1e-6);
        }
        ck_assert(isnan(res.delta));
}
END_TEST

START_TEST(test_neflag) {
        enum { F = 3, T = 4 };
        _cleanup_(da_model_freep) da_model *m = small_model(F, T, 51), *c = NULL;
        _cleanup_free_ float *x = random_window(F * T, 13);
        float a[F * T], b[F * T];
        da_attr_options o;
        da_attr_result res;
        da_error err = {};
        bool differ = false, nonzero = false;
        da_arch arch = *da_model_arch(m);

        da_attr_options_init(&o);
        o.seed = 17;
        ck_assert_msg(da_attribute(m, DA_METHOD_NEFLAG, &o, x, T, a, &res, &err) == 0, "%s", err.message);
        o.batch = 3;    /* a different batching draws and accepts the same points */
        ck_assert_int_eq(da_attribute(m, DA_METHOD_NEFLAG, &o, x, T, b, &res, &err), 0);
        for (unsigned i = 0; i < F * T; i++) {
                ck_assert_float_eq_tol(a[i], b[i], 1e-7f);
                nonzero |= a[i] != 0;
        }
        ck_assert(nonzero);
        o.seed = 18;
        ck_assert_int_eq(da_attribute(m, DA_METHOD_NEFLAG, &o, x, T, b, &res, &err), 0);
        for (unsigned i = 0; i < F * T; i++)
                differ |= a[i] != b[i];
        ck_assert(differ);

        /* NeFLAG-1: one point, against the descent direction: g·(x − x̃) summed
         * is the directional derivative at x̃ times ε, positive for a model
         * that decreases along −∇F */
        o.neflag_n = 1;
        ck_assert_int_eq(da_attribute(m, DA_METHOD_NEFLAG, &o, x, T, a, &res, &err), 0);
        ck_assert_int_eq(da_attribute(m, DA_METHOD_NEFLAG, &o, x, T, b, &res, &err), 0);
        ck_assert_mem_eq(a, b, sizeof(a));

        /* a constant model: every weight zero but the output bias */
        ck_assert_int_eq(model_alloc(&arch, &c), 0);
        c->out_b[0] = 0.7f;
        ck_assert_int_eq(model_pack(c), 0);
        for (unsigned n = 1; n <= 20; n += 19) {
                o.neflag_n = n;
                ck_assert_int_eq(da_attribute(c, DA_METHOD_NEFLAG, &o, x, T, a, &res, &err), 0);
                for (unsigned i = 0; i < F * T; i++)
                        ck_assert_float_eq(a[i], 0.0f);
                ck_assert_double_eq_tol(res.output, 0.7, 1e-7);
        }
}
END_TEST

/* Expected gradients with α ~ U(0, 1) estimate IG; with many samples they
 * meet completeness to within the Monte Carlo error. */
START_TEST(test_gradshap) {
        enum { F = 3, T = 4 };
        _cleanup_(da_model_freep) da_model *m = small_model(F, T, 61);
        _cleanup_free_ float *x = random_window(F * T, 14);
        float a[F * T], b[F * T];
        double sum = 0;
        da_attr_options o;
        da_attr_result res;
        da_error err = {};

        da_attr_options_init(&o);
        o.seed = 5;
        o.n_samples = 4000;
        ck_assert_msg(da_attribute(m, DA_METHOD_GRADSHAP, &o, x, T, a, &res, &err) == 0, "%s", err.message);
        for (unsigned i = 0; i < F * T; i++)
                sum += a[i];
        ck_assert_double_eq_tol(sum - (res.output - res.baseline_output), res.delta, 1e-6);
        ck_assert_msg(fabs(res.delta) <= 0.05 * fabs(res.output - res.baseline_output), "delta %g of %g",
                      res.delta, res.output - res.baseline_output);

        o.n_samples = 5;
        o.stdevs = 0.1;
        ck_assert_int_eq(da_attribute(m, DA_METHOD_GRADSHAP, &o, x, T, a, &res, &err), 0);
        ck_assert_int_eq(da_attribute(m, DA_METHOD_GRADSHAP, &o, x, T, b, &res, &err), 0);
        ck_assert_mem_eq(a, b, sizeof(a));
}
END_TEST

/* DeepACTIF per step: |x| at the input; at the gate, the per-step values
 * averaged over the window equal the float forward pass's gate trace. */
START_TEST(test_deepactif) {
        enum { F = 5, T = 6 };
        _cleanup_(da_model_freep) da_model *m = small_model(F, T, 71);
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        _cleanup_free_ float *x = random_window(F * T, 15);
        float phi[F * T], out[2], trace_in[F], trace_gate[F];
        da_attr_options o;
        da_attr_result res;
        da_error err = {};

        ck_assert_int_eq(da_ctx_new(m, T, &ctx), 0);
        ck_assert_int_eq(da_forward_traced(ctx, x, T, out, trace_in, trace_gate), 0);
        da_attr_options_init(&o);
        o.location = DA_TRACE_INPUT;
        ck_assert_int_eq(da_attribute(m, DA_METHOD_DEEPACTIF, &o, x, T, phi, &res, &err), 0);
        for (unsigned i = 0; i < F * T; i++)
                ck_assert_float_eq(phi[i], fabsf(x[i]));
        ck_assert_double_eq_tol(res.output, out[0], 1e-5);

        o.location = DA_TRACE_GATE;
        ck_assert_int_eq(da_attribute(m, DA_METHOD_DEEPACTIF, &o, x, T, phi, &res, &err), 0);
        for (unsigned f = 0; f < F; f++) {
                double s = 0;

                for (unsigned t = 0; t < T; t++)
                        s += phi[t * F + f];
                ck_assert_double_eq_tol(s / T, trace_gate[f], 1e-5 * fmax(1, trace_gate[f]));
        }
}
END_TEST

START_TEST(test_names) {
        for (da_method m = 0; m < _DA_METHOD_MAX; m++)
                ck_assert_int_eq(da_method_from_string(da_method_to_string(m)), (int) m);
        for (da_ig_rule r = 0; r < _DA_IG_RULE_MAX; r++)
                ck_assert_int_eq(da_ig_rule_from_string(da_ig_rule_to_string(r)), (int) r);
        ck_assert_int_eq(da_trace_location_from_string("gate"), DA_TRACE_GATE);
        ck_assert_int_eq(da_trace_location_from_string("input"), DA_TRACE_INPUT);
        ck_assert_int_eq(da_method_from_string("kernelshap"), DA_METHOD_KERNELSHAP);
        ck_assert_int_eq(da_method_from_string("lime"), -EINVAL);
        ck_assert_int_eq(da_ig_rule_from_string("riemann"), -EINVAL);
        ck_assert_ptr_null(da_method_to_string(_DA_METHOD_MAX));
}
END_TEST

START_TEST(test_bad_arguments) {
        enum { F = 3, T = 4 };
        _cleanup_(da_model_freep) da_model *m = small_model(F, T, 81);
        _cleanup_free_ float *x = random_window(F * T, 16);
        float phi[F * T], keep[F * T], bad[F * T];
        da_attr_options o;
        da_error err = {};

        for (unsigned i = 0; i < F * T; i++)
                phi[i] = keep[i] = 42;
#define EXPECT_EINVAL(method, word)                                                              \
        do {                                                                                     \
                err.message[0] = 0;                                                              \
                ck_assert_int_eq(da_attribute(m, method, &o, x, T, phi, NULL, &err), -EINVAL);   \
                ck_assert_msg(strstr(err.message, word), "message \"%s\" lacks \"%s\"", err.message, word); \
                ck_assert_mem_eq(phi, keep, sizeof(phi));                                        \
        } while (0)

        da_attr_options_init(&o);
        o.steps = 0;
        EXPECT_EINVAL(DA_METHOD_IG, "steps");
        o.steps = 1;
        o.rule = DA_IG_RIEMANN_TRAPEZOID;
        EXPECT_EINVAL(DA_METHOD_IG, "riemann_trapezoid");

        da_attr_options_init(&o);
        o.baseline_kind = DA_BASELINE_GIVEN;
        o.baseline = x;
        o.baseline_len = F * (T - 1);
        EXPECT_EINVAL(DA_METHOD_IG, "baseline");
        o.baseline = NULL;
        o.baseline_len = 0;
        EXPECT_EINVAL(DA_METHOD_ABLATION, "baseline");

        da_attr_options_init(&o);
        EXPECT_EINVAL((da_method) 99, "unknown attribution method");
        EXPECT_EINVAL(_DA_METHOD_MAX, "unknown attribution method");
        o.output = 2;
        EXPECT_EINVAL(DA_METHOD_IG, "output 2");
        da_attr_options_init(&o);
        o.n_samples = 0;
        EXPECT_EINVAL(DA_METHOD_GRADSHAP, "samples");
        da_attr_options_init(&o);
        o.neflag_epsilon = 0;
        EXPECT_EINVAL(DA_METHOD_NEFLAG, "ε");
        da_attr_options_init(&o);
        o.neflag_n = 0;
        EXPECT_EINVAL(DA_METHOD_NEFLAG, "accepted");

        da_attr_options_init(&o);
        memcpy(bad, x, sizeof(bad));
        bad[5] = NAN;
        err.message[0] = 0;
        ck_assert_int_eq(da_attribute(m, DA_METHOD_IG, &o, bad, T, phi, NULL, &err), -EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "not finite"));
        ck_assert_int_eq(da_attribute(m, DA_METHOD_IG, &o, x, 0, phi, NULL, &err), -EINVAL);
        ck_assert_int_eq(da_attribute(NULL, DA_METHOD_IG, &o, x, T, phi, NULL, &err), -EINVAL);
        /* NULL options are the defaults */
        ck_assert_int_eq(da_attribute(m, DA_METHOD_IG, NULL, x, T, phi, NULL, NULL), 0);
#undef EXPECT_EINVAL
}
END_TEST

int main(void) {
        Suite *s = suite_create("attribution");
        TCase *tc = tcase_create("methods");
        unsigned n = lstm_fixture_count();

        if (n == 0) {
                fprintf(stderr, "no fixtures under %s\n", TEST_SRCDIR "/fixtures/lstm");
                return EXIT_FAILURE;
        }
        tcase_set_timeout(tc, 600);
        tcase_add_loop_test(tc, test_ig_torch, 0, (int) n);
        tcase_add_test(tc, test_quadrature);
        tcase_add_test(tc, test_ig_rules);
        tcase_add_test(tc, test_kernelshap_games);
        tcase_add_test(tc, test_kernelshap_lstm_exact);
        tcase_add_test(tc, test_kernelshap_lstm_efficiency);
        tcase_add_test(tc, test_ablation);
        tcase_add_test(tc, test_neflag);
        tcase_add_test(tc, test_gradshap);
        tcase_add_test(tc, test_deepactif);
        tcase_add_test(tc, test_names);
        tcase_add_test(tc, test_bad_arguments);
        suite_add_tcase(s, tc);
        return test_run(s);
}
