/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backpropagation through time against central finite differences in double
 * precision on small random models of every head layout, and against the
 * torch.autograd gradients of the PyTorch fixtures (d output[0] / d input and
 * per parameter tensor, float64). The trainer's float32 pass (train-path.c)
 * against the double one and against the fixtures. */

#include <math.h>

#include "backprop.h"
#include "lstm-fixture.h"
#include "train-path.h"

#define FD_TOLERANCE 1e-6
#define TORCH_TOLERANCE 1e-5
/* float32 against double: each tensor's largest error relative to its
 * largest gradient. Measured at most 1.3e-6 on these models and the
 * fixtures (float rounding, AVX-512 kernels); 1e-5 leaves room for the
 * other kernel variants' summation orders and still fails on any wrong
 * term. */
#define FLOAT_TOLERANCE 1e-5
/* The bf16 pass against double: its recurrent products' operands carry 8
 * bits, each off by up to 2^-9 relative; measured at most 2.9e-3 on these
 * models, and a wrong term would be off by far more. */
#define BF16_TOLERANCE 1e-2

static const da_arch fd_archs[] = {
        /* plain: lstm → pool → fc */
        { .n_features = 3, .hidden = 5, .layers = 1, .pooling = DA_POOL_MAX, .outputs = 2, .window = 4 },
        { .n_features = 3, .hidden = 5, .layers = 2, .pooling = DA_POOL_LAST, .outputs = 1, .window = 4 },
        { .n_features = 4, .hidden = 6, .layers = 2, .pooling = DA_POOL_MEAN, .outputs = 2, .window = 3,
          .batchnorm = true },
        /* FOVAL: lstm → batchnorm → pool → fc1 → activation → fc5 */
        { .n_features = 3, .hidden = 5, .layers = 1, .batchnorm = true, .pooling = DA_POOL_MAX, .dense = 7,
          .activation = DA_ACT_ELU, .outputs = 1, .window = 5 },
        { .n_features = 3, .hidden = 5, .layers = 2, .batchnorm = true, .pooling = DA_POOL_LAST, .dense = 6,
          .activation = DA_ACT_RELU, .outputs = 2, .window = 4 },
        { .n_features = 2, .hidden = 4, .layers = 1, .batchnorm = true, .pooling = DA_POOL_MEAN, .dense = 5,
          .activation = DA_ACT_TANH, .outputs = 1, .window = 6 },
        { .n_features = 3, .hidden = 9, .layers = 1, .pooling = DA_POOL_MAX, .dense = 4,
          .activation = DA_ACT_NONE, .outputs = 1, .window = 1 },
};

static double output_at(Tape *t, const double *x, unsigned T, unsigned o) {
        double out[8];

        ck_assert_int_eq(tape_forward(t, x, T, 1, out), 0);
        return out[o];
}

/* The parameters as one list of float pointers in param_layout() order, so
 * finite differences can perturb each in place. */
static float **param_pointers(da_model *m, size_t *ret_n) {
        size_t n = da_model_n_parameters(m), k = 0, H = m->arch.hidden;
        float **p = calloc(n, sizeof(float *));

#define ADD(ptr, count) for (size_t _q = 0; _q < (size_t) (count); _q++) p[k++] = (ptr) + _q
        ck_assert_ptr_nonnull(p);
        for (unsigned l = 0; l < m->arch.layers; l++) {
                ADD(m->layer[l].w_ih, 4 * H * m->layer[l].in);
                ADD(m->layer[l].w_hh, 4 * H * H);
                ADD(m->layer[l].b_ih, 4 * H);
                ADD(m->layer[l].b_hh, 4 * H);
        }
        if (m->arch.batchnorm) {
                ADD(m->bn_weight, H);
                ADD(m->bn_bias, H);
        }
        if (m->arch.dense > 0) {
                ADD(m->fc1_w, m->arch.dense * H);
                ADD(m->fc1_b, m->arch.dense);
        }
        ADD(m->out_w, m->arch.outputs * model_head_in(m));
        ADD(m->out_b, m->arch.outputs);
#undef ADD
        ck_assert_uint_eq(k, n);
        *ret_n = n;
        return p;
}

START_TEST(test_finite_differences) {
        da_arch a = fd_archs[_i];
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(tape_freep) Tape *t = NULL;
        _cleanup_free_ double *x = NULL, *gx = NULL, *fdx = NULL, *gp = NULL, *fdp = NULL;
        _cleanup_free_ float **params = NULL;
        unsigned T = a.window, F = a.n_features, O = a.outputs;
        size_t n_x = (size_t) T * F, n_p;
        double dout[8] = {}, e;
        uint64_t s = 1234 + _i;
        ParamLayout P;

        a.hop = 1;
        ck_assert_int_eq(da_model_new_random(&a, 77 + _i, &m), 0);
        if (a.batchnorm)
                /* random running statistics so the affine is not the identity */
                for (unsigned j = 0; j < a.hidden; j++) {
                        m->bn_mean[j] = 0.2f * (da_uniform01(&s) - 0.5f);
                        m->bn_var[j] = 0.5f + da_uniform01(&s);
                        m->bn_weight[j] = 0.5f + da_uniform01(&s);
                        m->bn_bias[j] = da_uniform01(&s) - 0.5f;
                }
        ck_assert_int_eq(tape_new(m, T, 1, &t), 0);
        x = calloc(n_x, sizeof(double));
        gx = calloc(n_x, sizeof(double));
        fdx = calloc(n_x, sizeof(double));
        ck_assert(x && gx && fdx);
        for (size_t k = 0; k < n_x; k++)
                x[k] = 2.0 * da_uniform01(&s) - 1.0;

        params = param_pointers(m, &n_p);
        param_layout(m, &P);
        ck_assert_uint_eq(P.total, n_p);
        gp = calloc(n_p, sizeof(double));
        fdp = calloc(n_p, sizeof(double));
        ck_assert(gp && fdp);

        for (unsigned o = 0; o < O; o++) {
                memset(dout, 0, sizeof(dout));
                dout[o] = 1;
                memset(gp, 0, n_p * sizeof(double));
                ck_assert_int_eq(tape_forward(t, x, T, 1, NULL), 0);
                ck_assert_int_eq(backprop(t, dout, gx, gp), 0);

                /* inputs: step 1e-5 in double, error O(h²) */
                for (size_t k = 0; k < n_x; k++) {
                        double keep = x[k], up, down;

                        x[k] = keep + 1e-5;
                        up = output_at(t, x, T, o);
                        x[k] = keep - 1e-5;
                        down = output_at(t, x, T, o);
                        x[k] = keep;
                        fdx[k] = (up - down) / 2e-5;
                }
                e = rel_error_d(gx, fdx, n_x);
                ck_assert_msg(e <= FD_TOLERANCE, "arch %d output %u: input gradient error %.3g", _i, o, e);

                /* parameters are floats: divide by the step actually taken */
                for (size_t k = 0; k < n_p; k++) {
                        float keep = *params[k], up_w = (float) (keep + 0x1p-13), down_w = (float) (keep - 0x1p-13);
                        double up, down;

                        *params[k] = up_w;
                        up = output_at(t, x, T, o);
                        *params[k] = down_w;
                        down = output_at(t, x, T, o);
                        *params[k] = keep;
                        fdp[k] = (up - down) / ((double) up_w - (double) down_w);
                }
                e = rel_error_d(gp, fdp, n_p);
                ck_assert_msg(e <= FD_TOLERANCE, "arch %d output %u: parameter gradient error %.3g", _i, o, e);
        }
}
END_TEST

/* B windows in one pass give each window's own input gradient, and the
 * parameter gradients of all of them summed. */
START_TEST(test_batched) {
        da_arch a = fd_archs[_i];
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(tape_freep) Tape *t = NULL, *one = NULL;
        enum { B = 5 };
        unsigned T = a.window, F = a.n_features, O = a.outputs;
        size_t n_x = (size_t) T * F, n_p;
        _cleanup_free_ double *x = NULL, *gx = NULL, *gx1 = NULL, *gp = NULL, *gp1 = NULL, *dout = NULL;
        uint64_t s = 99;

        a.hop = 1;
        ck_assert_int_eq(da_model_new_random(&a, 5 + _i, &m), 0);
        n_p = da_model_n_parameters(m);
        ck_assert_int_eq(tape_new(m, T, B, &t), 0);
        ck_assert_int_eq(tape_new(m, T, 1, &one), 0);
        x = calloc(B * n_x, sizeof(double));
        gx = calloc(B * n_x, sizeof(double));
        gx1 = calloc(n_x, sizeof(double));
        gp = calloc(n_p, sizeof(double));
        gp1 = calloc(n_p, sizeof(double));
        dout = calloc(B * O, sizeof(double));
        ck_assert(x && gx && gx1 && gp && gp1 && dout);
        for (size_t k = 0; k < B * n_x; k++)
                x[k] = 2.0 * da_uniform01(&s) - 1.0;
        for (size_t k = 0; k < B * O; k++)
                dout[k] = da_uniform01(&s) - 0.5;

        ck_assert_int_eq(tape_forward(t, x, T, B, NULL), 0);
        ck_assert_int_eq(backprop(t, dout, gx, gp), 0);
        for (unsigned b = 0; b < B; b++) {
                ck_assert_int_eq(tape_forward(one, x + b * n_x, T, 1, NULL), 0);
                ck_assert_int_eq(backprop(one, dout + b * O, gx1, gp1), 0);
                ck_assert_double_le(rel_error_d(gx + b * n_x, gx1, n_x), 1e-12);
        }
        ck_assert_double_le(rel_error_d(gp, gp1, n_p), 1e-12);
}
END_TEST

static void check_tensor_at(const lstm_fixture *fx, json_object *grads, const char *name, const float *got,
                            size_t n, double tolerance) {
        _cleanup_free_ double *ref = NULL;
        double e;

        ck_assert_msg(lstm_fixture_doubles(fx, grads, name, &ref) == n, "%s: %s has the wrong size", fx->path, name);
        e = test_rel_error(got, ref, n);
        ck_assert_msg(e <= tolerance, "%s: gradient of %s relative error %.3g", fx->path, name, e);
}

static void check_tensor(const lstm_fixture *fx, json_object *grads, const char *name, const float *got, size_t n) {
        check_tensor_at(fx, grads, name, got, n, TORCH_TOLERANCE);
}

START_TEST(test_torch) {
        lstm_fixture fx;
        json_object *grads;
        _cleanup_free_ float *gx = NULL, *gp = NULL;
        _cleanup_free_ double *ref = NULL;
        size_t n_x;
        const da_model *m;
        ParamLayout P;
        unsigned H;
        float out;

        ck_assert(lstm_fixture_load(_i, &fx));
        if (!json_object_object_get_ex(fx.doc, "grad_params", &grads)) {
                lstm_fixture_done(&fx);
                return;         /* large models carry no gradients */
        }
        m = fx.model;
        H = fx.arch.hidden;
        n_x = (size_t) fx.arch.window * fx.arch.n_features;
        gx = calloc(n_x, sizeof(float));
        gp = calloc(da_model_n_parameters(m), sizeof(float));
        ck_assert(gx && gp);
        ck_assert_int_eq(da_gradient(m, fx.x, fx.arch.window, 0, &out, gx, gp), 0);

        ck_assert_uint_eq(lstm_fixture_doubles(&fx, NULL, "grad_input", &ref), n_x);
        ck_assert_msg(test_rel_error(gx, ref, n_x) <= TORCH_TOLERANCE, "%s: input gradient error %.3g", fx.path,
                      test_rel_error(gx, ref, n_x));
        param_layout(m, &P);
        for (unsigned l = 0; l < fx.arch.layers; l++) {
                char name[64];

                snprintf(name, sizeof(name), "lstm.weight_ih_l%u", l);
                check_tensor(&fx, grads, name, gp + P.w_ih[l], (size_t) 4 * H * m->layer[l].in);
                snprintf(name, sizeof(name), "lstm.weight_hh_l%u", l);
                check_tensor(&fx, grads, name, gp + P.w_hh[l], (size_t) 4 * H * H);
                snprintf(name, sizeof(name), "lstm.bias_ih_l%u", l);
                check_tensor(&fx, grads, name, gp + P.b_ih[l], 4 * H);
                snprintf(name, sizeof(name), "lstm.bias_hh_l%u", l);
                check_tensor(&fx, grads, name, gp + P.b_hh[l], 4 * H);
        }
        if (fx.arch.dense > 0) {
                check_tensor(&fx, grads, "fc1.weight", gp + P.fc1_weight, (size_t) fx.arch.dense * H);
                check_tensor(&fx, grads, "fc1.bias", gp + P.fc1_bias, fx.arch.dense);
                check_tensor(&fx, grads, "fc5.weight", gp + P.out_weight, fx.arch.outputs * fx.arch.dense);
                check_tensor(&fx, grads, "fc5.bias", gp + P.out_bias, fx.arch.outputs);
        } else {
                check_tensor(&fx, grads, "fc.weight", gp + P.out_weight, (size_t) fx.arch.outputs * H);
                check_tensor(&fx, grads, "fc.bias", gp + P.out_bias, fx.arch.outputs);
        }
        lstm_fixture_done(&fx);
}
END_TEST

/* The models of fd_archs and some with padded, multi-panel hidden sizes. */
static const da_arch path_archs[] = {
        { .n_features = 38, .hidden = 37, .layers = 1, .batchnorm = true, .pooling = DA_POOL_MAX, .dense = 32,
          .activation = DA_ACT_ELU, .outputs = 1, .window = 10 },
        { .n_features = 7, .hidden = 70, .layers = 2, .batchnorm = true, .pooling = DA_POOL_MEAN, .dense = 8,
          .activation = DA_ACT_TANH, .outputs = 2, .window = 6 },
};

static void check_path_against_tape(const da_arch *arch, unsigned seed, da_precision precision) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(tape_freep) Tape *t = NULL;
        _cleanup_(train_weights_freep) TrainWeights *w = NULL;
        _cleanup_(train_path_freep) TrainPath *p = NULL;
        enum { B = 7 };
        da_arch a = *arch;
        unsigned T = a.window, F = a.n_features, O = a.outputs;
        size_t n_x = (size_t) T * F, n_p;
        _cleanup_free_ float *x = NULL, *gf = NULL;
        _cleanup_free_ double *out = NULL, *out_ref = NULL, *gp = NULL, *gp_ref = NULL, *dout = NULL;
        uint64_t s = 17 + seed;
        ParamLayout P;

        a.hop = 1;
        ck_assert_int_eq(da_model_new_random(&a, seed, &m), 0);
        n_p = da_model_n_parameters(m);
        ck_assert_int_eq(tape_new(m, T, B, &t), 0);
        double tol = precision == DA_PRECISION_BF16 ? BF16_TOLERANCE : FLOAT_TOLERANCE, worst = 0;

        ck_assert_int_eq(train_weights_new(m, precision, &w), 0);
        ck_assert_int_eq(train_path_new(w, T, B, &p), 0);
        x = calloc(B * n_x, sizeof(float));
        out = calloc(B * O, sizeof(double));
        out_ref = calloc(B * O, sizeof(double));
        gp = calloc(n_p, sizeof(double));
        gp_ref = calloc(n_p, sizeof(double));
        gf = malloc(n_p * sizeof(float));
        dout = calloc(B * O, sizeof(double));
        ck_assert(x && out && out_ref && gp && gp_ref && gf && dout);
        /* every gradient is written: what the buffer held does not matter */
        for (size_t k = 0; k < n_p; k++)
                gf[k] = NAN;
        for (size_t k = 0; k < B * n_x; k++)
                x[k] = (float) (2.0 * da_uniform01(&s) - 1.0);
        for (size_t k = 0; k < B * O; k++)
                dout[k] = da_uniform01(&s) - 0.5;

        ck_assert_int_eq(tape_forward_float(t, x, T, B, out_ref), 0);
        ck_assert_int_eq(backprop(t, dout, NULL, gp_ref), 0);
        ck_assert_int_eq(train_path_forward(p, x, B, out), 0);
        ck_assert_int_eq(train_path_backward(p, dout, gf), 0);
        for (size_t k = 0; k < n_p; k++)
                gp[k] = gf[k];

#define CHECK_REL(got, ref, n)                                  \
        do {                                                    \
                double e_ = rel_error_d(got, ref, n);           \
                ck_assert_double_le(e_, tol);                   \
                worst = MAX(worst, e_);                         \
        } while (0)
        CHECK_REL(out, out_ref, (size_t) B * O);
        /* tensor by tensor, so a small tensor's error is not hidden by a large one's */
        param_layout(m, &P);
        for (unsigned l = 0; l < a.layers; l++) {
                size_t H = a.hidden, in = m->layer[l].in;

                CHECK_REL(gp + P.w_ih[l], gp_ref + P.w_ih[l], 4 * H * in);
                CHECK_REL(gp + P.w_hh[l], gp_ref + P.w_hh[l], 4 * H * H);
                CHECK_REL(gp + P.b_ih[l], gp_ref + P.b_ih[l], 8 * H);
        }
        CHECK_REL(gp + P.bn_weight, gp_ref + P.bn_weight, P.out_weight - P.bn_weight);
        CHECK_REL(gp + P.out_weight, gp_ref + P.out_weight, n_p - P.out_weight);
#undef CHECK_REL
        printf("%s pass, H=%u, %u layer(s): largest relative error %.2g\n", da_precision_to_string(precision),
               a.hidden, a.layers, worst);
        /* bf16 rounds h and δ in the recurrent products: with more than one
         * step it cannot come out at float32's accuracy */
        if (precision == DA_PRECISION_BF16 && T > 1)
                ck_assert_double_gt(worst, FLOAT_TOLERANCE);
        /* a second pass over the same windows gives the same bits */
        ck_assert_int_eq(train_path_forward(p, x, B, NULL), 0);
        ck_assert_int_eq(train_path_backward(p, dout, gf), 0);
        for (size_t k = 0; k < n_p; k++)
                ck_assert(gf[k] == (float) gp[k]);
}

/* Loop index i: fd_archs, then path_archs. */
static void check_path_number(int i, da_precision precision) {
        const da_arch *a = (size_t) i < ELEMENTSOF(fd_archs) ? &fd_archs[i] : &path_archs[i - ELEMENTSOF(fd_archs)];

        check_path_against_tape(a, 40 + i, precision);
}

START_TEST(test_train_path) {
        check_path_number(_i, DA_PRECISION_F32);
}
END_TEST

START_TEST(test_train_path_bf16) {
        check_path_number(_i, DA_PRECISION_BF16);
}
END_TEST

/* The float pass's parameter gradients of output 0 against torch.autograd. */
START_TEST(test_train_path_torch) {
        lstm_fixture fx;
        json_object *grads;
        _cleanup_(train_weights_freep) TrainWeights *w = NULL;
        _cleanup_(train_path_freep) TrainPath *p = NULL;
        _cleanup_free_ double *dout = NULL;
        _cleanup_free_ float *gf = NULL;
        const da_model *m;
        ParamLayout P;
        size_t n_p;
        unsigned H;

        ck_assert(lstm_fixture_load(_i, &fx));
        if (!json_object_object_get_ex(fx.doc, "grad_params", &grads)) {
                lstm_fixture_done(&fx);
                return;
        }
        m = fx.model;
        H = fx.arch.hidden;
        n_p = da_model_n_parameters(m);
        gf = calloc(n_p, sizeof(float));
        dout = calloc(fx.arch.outputs, sizeof(double));
        ck_assert(gf && dout);
        dout[0] = 1;
        ck_assert_int_eq(train_weights_new(m, DA_PRECISION_F32, &w), 0);
        ck_assert_int_eq(train_path_new(w, fx.arch.window, 1, &p), 0);
        ck_assert_int_eq(train_path_forward(p, fx.x, 1, NULL), 0);
        ck_assert_int_eq(train_path_backward(p, dout, gf), 0);

        param_layout(m, &P);
        for (unsigned l = 0; l < fx.arch.layers; l++) {
                char name[64];

                snprintf(name, sizeof(name), "lstm.weight_ih_l%u", l);
                check_tensor_at(&fx, grads, name, gf + P.w_ih[l], (size_t) 4 * H * m->layer[l].in, FLOAT_TOLERANCE);
                snprintf(name, sizeof(name), "lstm.weight_hh_l%u", l);
                check_tensor_at(&fx, grads, name, gf + P.w_hh[l], (size_t) 4 * H * H, FLOAT_TOLERANCE);
                snprintf(name, sizeof(name), "lstm.bias_ih_l%u", l);
                check_tensor_at(&fx, grads, name, gf + P.b_ih[l], 4 * H, FLOAT_TOLERANCE);
        }
        if (fx.arch.dense > 0) {
                check_tensor_at(&fx, grads, "fc1.weight", gf + P.fc1_weight, (size_t) fx.arch.dense * H,
                                FLOAT_TOLERANCE);
                check_tensor_at(&fx, grads, "fc5.weight", gf + P.out_weight, fx.arch.outputs * fx.arch.dense,
                                FLOAT_TOLERANCE);
        } else
                check_tensor_at(&fx, grads, "fc.weight", gf + P.out_weight, (size_t) fx.arch.outputs * H,
                                FLOAT_TOLERANCE);
        lstm_fixture_done(&fx);
}
END_TEST

START_TEST(test_bad_arguments) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        da_arch a = fd_archs[0];
        float x[12] = {}, g[12];

        a.hop = 1;
        ck_assert_int_eq(da_model_new_random(&a, 1, &m), 0);
        ck_assert_int_eq(da_gradient(m, x, 0, 0, NULL, g, NULL), -EINVAL);
        ck_assert_int_eq(da_gradient(m, x, 4, 2, NULL, g, NULL), -EINVAL);
        ck_assert_int_eq(da_gradient(NULL, x, 4, 0, NULL, g, NULL), -EINVAL);
        ck_assert_int_eq(da_gradient(m, x, 4, 1, NULL, g, NULL), 0);
}
END_TEST

int main(void) {
        Suite *s = suite_create("backprop");
        TCase *tc = tcase_create("gradients");
        unsigned n = lstm_fixture_count();

        if (n == 0) {
                fprintf(stderr, "no fixtures under %s\n", TEST_SRCDIR "/fixtures/lstm");
                return EXIT_FAILURE;
        }
        tcase_set_timeout(tc, 600);
        tcase_add_loop_test(tc, test_finite_differences, 0, (int) ELEMENTSOF(fd_archs));
        tcase_add_loop_test(tc, test_batched, 0, (int) ELEMENTSOF(fd_archs));
        tcase_add_loop_test(tc, test_torch, 0, (int) n);
        tcase_add_loop_test(tc, test_train_path, 0, (int) (ELEMENTSOF(fd_archs) + ELEMENTSOF(path_archs)));
        tcase_add_loop_test(tc, test_train_path_bf16, 0, (int) (ELEMENTSOF(fd_archs) + ELEMENTSOF(path_archs)));
        tcase_add_loop_test(tc, test_train_path_torch, 0, (int) n);
        tcase_add_test(tc, test_bad_arguments);
        suite_add_tcase(s, tc);
        return test_run(s);
}
