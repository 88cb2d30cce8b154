/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The forward pass against PyTorch: fixtures written by
 * contrib/make-test-fixtures.py hold inputs and PyTorch's float64 outputs for
 * random models over F ∈ {3, 40}, H ∈ {8, 64, 1435}, 1–2 layers,
 * T ∈ {1, 10, 50} and both head layouts. The weights come from the seeded
 * generator both sides implement; small models also ship as exported files. */

#include <glob.h>
#include <math.h>

#include "model.h"
#include "test-util.h"

#define TOLERANCE 1e-5

static glob_t fixtures;

typedef struct fixture {
        json_object *doc;
        da_arch arch;
        uint64_t seed;
        float *x;
        double *out, *hidden;
        size_t n_out;
} fixture;

static void fixture_load(unsigned i, fixture *fx) {
        json_object *a, *v;
        size_t n;

        fx->doc = test_load_json(fixtures.gl_pathv[i]);
        ck_assert_msg(fx->doc, "cannot parse %s", fixtures.gl_pathv[i]);
        ck_assert(json_object_object_get_ex(fx->doc, "arch", &a));

#define U(key) (json_object_object_get_ex(a, key, &v), (unsigned) json_object_get_int(v))
        fx->arch = (da_arch) {
                .n_features = U("input_size"), .hidden = U("hidden_size"), .layers = U("num_layers"),
                .dense = U("dense"), .outputs = U("outputs"), .window = U("window"), .hop = 1,
        };
#undef U
        json_object_object_get_ex(a, "batchnorm", &v);
        fx->arch.batchnorm = json_object_get_boolean(v);
        json_object_object_get_ex(a, "pooling", &v);
        fx->arch.pooling = da_pooling_from_string(json_object_get_string(v));
        json_object_object_get_ex(a, "activation", &v);
        fx->arch.activation = da_activation_from_string(json_object_get_string(v));
        json_object_object_get_ex(fx->doc, "seed", &v);
        fx->seed = (uint64_t) json_object_get_int64(v);

        json_object_object_get_ex(fx->doc, "input", &v);
        n = test_json_floats(v, &fx->x);
        ck_assert_uint_eq(n, (size_t) fx->arch.window * fx->arch.n_features);
        json_object_object_get_ex(fx->doc, "output", &v);
        fx->n_out = test_json_doubles(v, &fx->out);
        ck_assert_uint_eq(fx->n_out, fx->arch.outputs);
        json_object_object_get_ex(fx->doc, "top_hidden", &v);
        n = test_json_doubles(v, &fx->hidden);
        ck_assert_uint_eq(n, (size_t) fx->arch.window * fx->arch.hidden);
}

static void fixture_done(fixture *fx) {
        json_object_put(fx->doc);
        free(fx->x);
        free(fx->out);
        free(fx->hidden);
}

static void check_window(const da_model *m, const fixture *fx, unsigned i, const char *how) {
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        float out[8];
        double e;

        ck_assert_int_eq(da_ctx_new(m, fx->arch.window, &ctx), 0);
        ck_assert_int_eq(da_forward(ctx, fx->x, fx->arch.window, out), 0);
        e = test_rel_error(out, fx->out, fx->n_out);
        ck_assert_msg(e <= TOLERANCE, "%s (%s): output relative error %.3g > %g (got %.9g, torch %.9g)",
                      fixtures.gl_pathv[i], how, e, TOLERANCE, out[0], fx->out[0]);
}

START_TEST(test_window_generated) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        fixture fx = {};

        fixture_load(_i, &fx);
        ck_assert_int_eq(da_model_new_random(&fx.arch, fx.seed, &m), 0);
        check_window(m, &fx, (unsigned) _i, "generated weights");
        fixture_done(&fx);
}
END_TEST

/* The exported file must hold exactly the generated weights and load to
 * the same outputs: this checks exporter, file format and loader at once. */
START_TEST(test_window_file) {
        _cleanup_(da_model_freep) da_model *m = NULL, *g = NULL;
        _cleanup_free_ char *path = NULL, *rel = NULL;
        da_error err = {};
        fixture fx = {};
        json_object *v;

        fixture_load(_i, &fx);
        if (!json_object_object_get_ex(fx.doc, "model_file", &v) || !json_object_is_type(v, json_type_string)) {
                fixture_done(&fx);
                return;         /* large models ship no file; the generated test covers them */
        }
        ck_assert(asprintf(&rel, "fixtures/lstm/%s", json_object_get_string(v)) > 0);
        path = test_path(rel);
        ck_assert_msg(da_model_load(path, &m, &err) == 0, "%s: %s", path, err.message);
        ck_assert_int_eq(da_model_new_random(&fx.arch, fx.seed, &g), 0);
        for (unsigned l = 0; l < fx.arch.layers; l++)
                ck_assert_mem_eq(m->layer[l].w_hh, g->layer[l].w_hh, sizeof(float) * 4 * fx.arch.hidden * fx.arch.hidden);
        ck_assert_mem_eq(m->out_w, g->out_w, sizeof(float) * fx.arch.outputs * model_head_in(g));
        ck_assert_ptr_nonnull(da_model_feature(m, 0));
        ck_assert_ptr_nonnull(da_model_scaler_iqr(m));
        check_window(m, &fx, (unsigned) _i, "exported file");
        fixture_done(&fx);
}
END_TEST

/* Streaming: one frame at a time must follow PyTorch's top-layer hidden
 * states at every step (after the batchnorm affine, as da_ctx_hidden gives). */
START_TEST(test_streaming) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        unsigned H, F;
        fixture fx = {};
        double *ref;

        fixture_load(_i, &fx);
        H = fx.arch.hidden;
        F = fx.arch.n_features;
        ck_assert_int_eq(da_model_new_random(&fx.arch, fx.seed, &m), 0);
        ck_assert_int_eq(da_ctx_new(m, 1, &ctx), 0);
        ref = malloc(sizeof(double) * H);
        ck_assert_ptr_nonnull(ref);

        da_ctx_reset_state(ctx);
        for (unsigned t = 0; t < fx.arch.window; t++) {
                double e;

                ck_assert_int_eq(da_step(ctx, fx.x + (size_t) t * F), 0);
                for (unsigned j = 0; j < H; j++) {
                        double h = fx.hidden[(size_t) t * H + j];

                        if (fx.arch.batchnorm)
                                h = (h - m->bn_mean[j]) / sqrt((double) m->bn_var[j] + m->bn_eps) * m->bn_weight[j] +
                                        m->bn_bias[j];
                        ref[j] = h;
                }
                e = test_rel_error(da_ctx_hidden(ctx), ref, H);
                ck_assert_msg(e <= TOLERANCE, "%s: step %u hidden relative error %.3g", fixtures.gl_pathv[_i], t, e);
        }
        free(ref);
        fixture_done(&fx);
}
END_TEST

/* A window run twice through one context gives identical results: no state
 * leaks from one window into the next. */
START_TEST(test_window_repeatable) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        float a[8], b[8];
        fixture fx = {};

        fixture_load(_i, &fx);
        ck_assert_int_eq(da_model_new_random(&fx.arch, fx.seed, &m), 0);
        ck_assert_int_eq(da_ctx_new(m, fx.arch.window, &ctx), 0);
        ck_assert_int_eq(da_forward(ctx, fx.x, fx.arch.window, a), 0);
        ck_assert_int_eq(da_step(ctx, fx.x), 0);
        ck_assert_int_eq(da_forward(ctx, fx.x, fx.arch.window, b), 0);
        ck_assert_mem_eq(a, b, sizeof(float) * fx.arch.outputs);
        ck_assert_int_eq(da_forward(ctx, fx.x, fx.arch.window + 1, b), -EINVAL);
        ck_assert_int_eq(da_forward(ctx, fx.x, 0, b), -EINVAL);
        fixture_done(&fx);
}
END_TEST

int main(void) {
        _cleanup_free_ char *pattern = test_path("fixtures/lstm/*.json");
        Suite *s = suite_create("lstm-torch");
        TCase *tc = tcase_create("fixtures");
        int r;

        if (glob(pattern, 0, NULL, &fixtures) != 0 || fixtures.gl_pathc == 0) {
                fprintf(stderr, "no fixtures match %s\n", pattern);
                return EXIT_FAILURE;
        }
        tcase_set_timeout(tc, 600);
        tcase_add_loop_test(tc, test_window_generated, 0, (int) fixtures.gl_pathc);
        tcase_add_loop_test(tc, test_window_file, 0, (int) fixtures.gl_pathc);
        tcase_add_loop_test(tc, test_streaming, 0, (int) fixtures.gl_pathc);
        tcase_add_loop_test(tc, test_window_repeatable, 0, (int) fixtures.gl_pathc);
        suite_add_tcase(s, tc);
        r = test_run(s);
        globfree(&fixtures);
        return r;
}
