/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Reduced-precision weights: the scalar conversions against their
 * definitions, each GEMV variant against the float GEMV on the same
 * (rounded) values, the model file at every precision, the agreement of
 * predictions and DeepACTIF rankings with float32 over a recording, and
 * Integrated Gradients of a bf16 model (bf16 products) against float32. */

#include <math.h>

#include "deepactif-research.h"
#include "gemv.h"
#include "model.h"
#include "test-util.h"

#define RV_DIR TEST_SRCDIR "/../contrib/data/robustvision"
#define DEFAULT_MODEL TEST_SRCDIR "/../contrib/models/foval-robustvision.safetensors"

/* Every finite half and bfloat16 widens to the value its bits define and
 * rounds back to itself; a value halfway between two neighbours rounds to
 * the one with the even last bit. */
START_TEST(test_conversions) {
        for (uint32_t h = 0; h < 0x10000; h++) {
                unsigned exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
                double want = exp == 0 ? ldexp(mant, -24) : ldexp(1024 + mant, (int) exp - 25);
                float f;

                if (exp == 0x1f)
                        continue;
                if (h & 0x8000)
                        want = -want;
                f = half_to_float((uint16_t) h);
                ck_assert_msg((double) f == want, "half %#x: %g, want %g", h, f, want);
                ck_assert_uint_eq(float_to_half(f), h);
                if ((h & 0x7fff) < 0x7bff) {
                        /* halfway to the next half up in magnitude */
                        float next = half_to_float((uint16_t) (h + 1)), mid = (float) (((double) f + next) / 2);

                        ck_assert_uint_eq(float_to_half(mid), (h & 1) ? h + 1 : h);
                }
        }
        ck_assert_uint_eq(float_to_half(65520.0f), 0x7c00);     /* past the largest half: infinity */
        ck_assert_uint_eq(float_to_half(-1e-9f), 0x8000);

        for (uint32_t b = 0; b < 0x10000; b++) {
                float f = bf16_to_float((uint16_t) b), mid;
                uint32_t bits = b << 16;

                if (((b >> 7) & 0xff) == 0xff)
                        continue;
                ck_assert_mem_eq(&f, &bits, 4);
                ck_assert_uint_eq(float_to_bf16(f), b);
                bits |= 0x8000;         /* halfway to the next bfloat16 */
                memcpy(&mid, &bits, 4);
                if (isfinite(bf16_to_float((uint16_t) (b + 1))))
                        ck_assert_uint_eq(float_to_bf16(mid), (b & 1) ? b + 1 : b);
        }
}
END_TEST

/* Odd column counts (the bf16 pairs' tail), H not a multiple of 16 (zero
 * rows), two layers (an H-column W_ih). */
static const da_arch odd_arch = {
        .n_features = 37, .hidden = 45, .layers = 2, .pooling = DA_POOL_LAST,
        .outputs = 1, .window = 8, .hop = 1,
};

/* The reduced GEMV against the float one on the same weights: the rounded
 * values are exact in both, so they differ only by float summation order,
 * bounded by a few ulps of Σ|w·v| per row. */
static void check_gemv(const da_packed *P) {
        unsigned rows = P->rows_padded, cols = P->cols;
        _cleanup_free_ float *v = malloc(cols * sizeof(float)), *y0 = aligned_alloc0(rows),
                             *y1 = aligned_alloc0(rows), *bound = calloc(rows, sizeof(float));
        _cleanup_free_ float *dense = calloc((size_t) rows * cols, sizeof(float));
        da_packed plain = *P;
        uint64_t s = 5;

        ck_assert(v && y0 && y1 && bound && dense);
        ck_assert_ptr_nonnull(P->reduced);
        for (unsigned k = 0; k < cols; k++)
                v[k] = 2 * da_uniform01(&s) - 1;
        for (unsigned r = 0; r < rows; r++)
                y0[r] = y1[r] = (float) r / 7;
        plain.reduced = NULL;
        gemv_panels_acc(&plain, v, y0);
        gemv_panels_acc(P, v, y1);
        for (unsigned r = 0; r < rows; r++) {
                double sum = fabs((double) r / 7);

                for (unsigned k = 0; k < cols; k++)
                        sum += fabs((double) P->data[(size_t) (r / DA_PANEL) * cols * DA_PANEL + (size_t) k * DA_PANEL +
                                                     r % DA_PANEL] * v[k]);
                ck_assert_msg(fabs((double) y1[r] - y0[r]) <= 1e-6 * sum + 1e-30,
                              "%s row %u of %u×%u: %.9g, float GEMV %.9g", da_precision_to_string(P->precision), r,
                              rows, cols, y1[r], y0[r]);
        }
}

START_TEST(test_gemv) {
        for (da_precision p = DA_PRECISION_BF16; p < _DA_PRECISION_MAX; p++) {
                _cleanup_(da_model_freep) da_model *m = NULL;

                ck_assert_int_eq(da_model_new_random(&odd_arch, 3, &m), 0);
                ck_assert_int_eq(da_model_set_precision(m, p), 0);
                ck_assert_int_eq(da_model_precision(m), p);
                for (unsigned l = 0; l < odd_arch.layers; l++) {
                        check_gemv(&m->packed[l].ih);
                        check_gemv(&m->packed[l].hh);
                }
        }
}
END_TEST

/* Rounding: bf16 and f16 weights are their nearest representable values,
 * i8 ones lie within half a step (max|row|/254) of the original. */
START_TEST(test_rounding) {
        _cleanup_(da_model_freep) da_model *orig = NULL;
        unsigned H = odd_arch.hidden, F = odd_arch.n_features;

        ck_assert_int_eq(da_model_new_random(&odd_arch, 3, &orig), 0);
        for (da_precision p = DA_PRECISION_BF16; p < _DA_PRECISION_MAX; p++) {
                _cleanup_(da_model_freep) da_model *m = NULL;
                const float *w0 = orig->layer[0].w_ih;

                ck_assert_int_eq(da_model_new_random(&odd_arch, 3, &m), 0);
                ck_assert_int_eq(da_model_set_precision(m, p), 0);
                for (unsigned r = 0; r < 4 * H; r++) {
                        float mx = 0;

                        for (unsigned c = 0; c < F; c++)
                                mx = fmaxf(mx, fabsf(w0[r * F + c]));
                        for (unsigned c = 0; c < F; c++) {
                                double w = w0[r * F + c], got = m->layer[0].w_ih[r * F + c], tol;

                                if (p == DA_PRECISION_I8)
                                        tol = mx / 254.0 * (1 + 1e-6);
                                else   /* half an ulp: 2^-8 (bf16) or 2^-11 (f16) relative, normal range */
                                        tol = fabs(w) * (p == DA_PRECISION_BF16 ? 0x1p-8 : 0x1p-11) + 0x1p-25;
                                ck_assert_msg(fabs(got - w) <= tol, "%s: %g became %g", da_precision_to_string(p), w, got);
                        }
                }
        }
}
END_TEST

/* Saved at each precision, a model loads back at it with the same weights
 * and outputs, in a file of the expected size; f16 refuses weights past
 * its range and leaves the model as it was. */
START_TEST(test_file_round_trip) {
        _cleanup_free_ char *dir = test_mkdtemp();
        unsigned H = odd_arch.hidden;

        for (da_precision p = DA_PRECISION_F32; p < _DA_PRECISION_MAX; p++) {
                _cleanup_(da_model_freep) da_model *m = NULL, *back = NULL;
                _cleanup_(da_ctx_freep) da_ctx *c1 = NULL, *c2 = NULL;
                _cleanup_free_ char *path = NULL;
                float x[37 * 8], o1[1], o2[1];
                da_error err = {};
                uint64_t s = 11;

                ck_assert_int_eq(da_model_new_random(&odd_arch, 4, &m), 0);
                ck_assert_int_eq(da_model_set_precision(m, p), 0);
                ck_assert(asprintf(&path, "%s/%s.safetensors", dir, da_precision_to_string(p)) > 0);
                ck_assert_msg(da_model_save(m, path, &err) == 0, "%s", err.message);
                ck_assert_msg(da_model_load(path, &back, &err) == 0, "%s", err.message);
                ck_assert_int_eq(da_model_precision(back), p);
                for (unsigned l = 0; l < odd_arch.layers; l++) {
                        unsigned in = m->layer[l].in;

                        ck_assert_mem_eq(back->layer[l].w_ih, m->layer[l].w_ih, sizeof(float) * 4 * H * in);
                        ck_assert_mem_eq(back->layer[l].w_hh, m->layer[l].w_hh, sizeof(float) * 4 * H * H);
                }
                for (unsigned i = 0; i < ELEMENTSOF(x); i++)
                        x[i] = 2 * da_uniform01(&s) - 1;
                ck_assert_int_eq(da_ctx_new(m, 8, &c1), 0);
                ck_assert_int_eq(da_ctx_new(back, 8, &c2), 0);
                ck_assert_int_eq(da_forward(c1, x, 8, o1), 0);
                ck_assert_int_eq(da_forward(c2, x, 8, o2), 0);
                ck_assert_mem_eq(o1, o2, sizeof(o1));
        }

        {
                _cleanup_(da_model_freep) da_model *m = NULL;

                ck_assert_int_eq(da_model_new_random(&odd_arch, 4, &m), 0);
                m->layer[1].w_hh[5] = 1e5f;
                ck_assert_int_eq(da_model_set_precision(m, DA_PRECISION_F16), -ERANGE);
                ck_assert_int_eq(da_model_precision(m), DA_PRECISION_F32);
                ck_assert_float_eq(m->layer[1].w_hh[5], 1e5f);
        }
        test_rmdir_r(dir);
}
END_TEST

static uint8_t *read_whole(const char *path, size_t *ret_size) {
        uint8_t *buf;

        ck_assert_int_eq(test_read_file(path, &buf, ret_size), 0);
        return buf;
}

static void expect_load_error(const uint8_t *buf, size_t size, const char *needle) {
        da_model *m = NULL;
        da_error err = {};

        ck_assert_int_lt(da_model_load_buffer(buf, size, &m, &err), 0);
        ck_assert_ptr_null(m);
        ck_assert_msg(strstr(err.message, needle), "error '%s' does not name '%s'", err.message, needle);
}

/* Replaces the first occurrence of `from` in the file's header by `to` of
 * the same length. */
static void patch_header(uint8_t *buf, const char *from, const char *to) {
        uint64_t hlen;
        char *at;

        ck_assert_uint_eq(strlen(from), strlen(to));
        memcpy(&hlen, buf, 8);
        at = memmem(buf + 8, hlen, from, strlen(from));
        ck_assert_msg(at, "'%s' not in the header", from);
        memcpy(at, to, strlen(to));
}

/* A file whose precision and tensor dtypes disagree, or whose precision is
 * unknown, gets one error naming the field; so does a negative i8 scale. */
START_TEST(test_file_errors) {
        _cleanup_free_ char *dir = test_mkdtemp(), *bf = NULL, *i8 = NULL;
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_free_ uint8_t *buf = NULL;
        da_error err = {};
        size_t size;
        uint64_t hlen;
        float neg = -1, big;

        ck_assert_int_eq(da_model_new_random(&odd_arch, 4, &m), 0);
        ck_assert_int_eq(da_model_set_precision(m, DA_PRECISION_BF16), 0);
        ck_assert(asprintf(&bf, "%s/bf16.safetensors", dir) > 0);
        ck_assert_int_eq(da_model_save(m, bf, &err), 0);

        buf = read_whole(bf, &size);
        patch_header(buf, "\"dtype\":\"BF16\"", "\"dtype\":\"F16\" ");
        expect_load_error(buf, size, "has dtype F16, expected BF16 (metadata field 'precision' is 'bf16')");
        free(buf);

        buf = read_whole(bf, &size);
        patch_header(buf, "\\\"precision\\\":\\\"bf16\\\"", "\\\"precision\\\":\\\"fp16\\\"");
        expect_load_error(buf, size, "metadata field 'precision' has unknown value 'fp16'");
        free(buf);

        ck_assert_int_eq(da_model_set_precision(m, DA_PRECISION_I8), 0);
        ck_assert(asprintf(&i8, "%s/i8.safetensors", dir) > 0);
        ck_assert_int_eq(da_model_save(m, i8, &err), 0);
        buf = read_whole(i8, &size);
        /* the first tensor written is lstm.weight_ih_l0 (4H·F bytes), then its scales */
        memcpy(&hlen, buf, 8);
        memcpy(buf + 8 + hlen + 4 * odd_arch.hidden * odd_arch.n_features + 8, &neg, 4);
        expect_load_error(buf, size, "tensor 'lstm.weight_ih_l0.scale' is negative at index 2");
        /* a scale whose steps overflow float (found by fuzz-model-file) */
        big = 1e38f;
        memcpy(buf + 8 + hlen + 4 * odd_arch.hidden * odd_arch.n_features + 8, &big, 4);
        expect_load_error(buf, size, "tensor 'lstm.weight_ih_l0.scale' is too large at index 2");
        test_rmdir_r(dir);
}
END_TEST

typedef struct recording_run {
        size_t n;
        double *pred;           /* n predictions */
        float *trace;           /* n × F gate traces */
} recording_run;

/* Every window of a recording through the stream, as the daemon runs it. */
static void run_recording(const da_model *m, const char *path, recording_run *ret) {
        _cleanup_(da_reader_freep) da_reader *rd = NULL;
        da_stream *st = NULL;
        unsigned F = da_model_arch(m)->n_features;
        recording_run run = {};
        size_t cap = 0;
        da_error err = {};
        da_frame fr;
        int r;

        ck_assert_msg(da_reader_open(path, DA_REC_AUTO, &rd, &err) == 0, "%s", err.message);
        ck_assert_msg(da_stream_new(m, DA_TRACE_GATE, &st, &err) == 0, "%s", err.message);
        while ((r = da_reader_next(rd, &fr, &err)) > 0) {
                da_window_result w;

                if (da_stream_push(st, &fr, &w) <= 0)
                        continue;
                if (run.n == cap) {
                        cap = cap ? 2 * cap : 1024;
                        run.pred = realloc(run.pred, cap * sizeof(double));
                        run.trace = realloc(run.trace, cap * F * sizeof(float));
                        ck_assert(run.pred && run.trace);
                }
                run.pred[run.n] = w.output[0];
                memcpy(run.trace + run.n * F, w.trace, F * sizeof(float));
                run.n++;
        }
        ck_assert_int_eq(r, 0);
        da_stream_free(st);
        *ret = run;
}

/* The default model over a Robust Vision recording at each precision
 * against float32: DeepACTIF's ranking (gate trace, INV) has Spearman
 * ≥ 0.99 (the goal the reduced path is held to) and predictions differ by
 * less than 1% on average; bf16 and f16 ones by less than 2% of their
 * spread over the recording in every window, which i8 (a step of 1/127 of
 * a row's largest weight) does not hold to. (The first default model, H=32
 * with global scaling, held bf16 within 1%; the per-user H=16 one does not
 * in every window, so the bound is 2%, and the log prints the figure.) */
START_TEST(test_agreement) {
        _cleanup_(da_model_freep) da_model *ref = NULL;
        recording_run base;
        double s_ref[64], lo = INFINITY, hi = -INFINITY;
        unsigned F;
        da_error err = {};

        ck_assert_msg(da_model_load(DEFAULT_MODEL, &ref, &err) == 0, "%s", err.message);
        F = da_model_arch(ref)->n_features;
        run_recording(ref, RV_DIR "/P17.tsv.gz", &base);
        ck_assert_uint_gt(base.n, 100);
        ck_assert_int_eq(da_aggregate(base.trace, base.n, F, DA_AGG_INV, s_ref), 0);
        for (size_t i = 0; i < base.n; i++) {
                lo = fmin(lo, base.pred[i]);
                hi = fmax(hi, base.pred[i]);
        }

        for (da_precision p = DA_PRECISION_BF16; p < _DA_PRECISION_MAX; p++) {
                _cleanup_(da_model_freep) da_model *m = NULL;
                recording_run run;
                double s[64], rho, worst = 0, mean = 0, worst_abs = 0;

                ck_assert_int_eq(da_model_load(DEFAULT_MODEL, &m, &err), 0);
                ck_assert_int_eq(da_model_set_precision(m, p), 0);
                run_recording(m, RV_DIR "/P17.tsv.gz", &run);
                ck_assert_uint_eq(run.n, base.n);
                for (size_t i = 0; i < run.n; i++) {
                        double e = fabs(run.pred[i] - base.pred[i]) / fmax(fabs(base.pred[i]), 1e-9);

                        worst = fmax(worst, e);
                        mean += e / (double) run.n;
                        worst_abs = fmax(worst_abs, fabs(run.pred[i] - base.pred[i]));
                }
                ck_assert_int_eq(da_aggregate(run.trace, run.n, F, DA_AGG_INV, s), 0);
                ck_assert_int_eq(da_spearman(s, s_ref, F, &rho), 0);
                fprintf(stderr, "%s against f32 over %zu windows of P17: prediction relative error mean %.2e, "
                        "max %.2e; largest difference %.2f%% of the predictions' spread; Spearman of the "
                        "DeepACTIF ranking %.4f\n",
                        da_precision_to_string(p), run.n, mean, worst, 100 * worst_abs / (hi - lo), rho);
                ck_assert_msg(p == DA_PRECISION_I8 || worst_abs <= 0.02 * (hi - lo), "%s: a window differs by %g, "
                              "%.2f%% of the spread", da_precision_to_string(p), worst_abs, 100 * worst_abs / (hi - lo));
                ck_assert_msg(rho >= 0.99, "%s: Spearman %.4f", da_precision_to_string(p), rho);
                ck_assert_msg(mean <= 0.01, "%s: mean relative error %.2e", da_precision_to_string(p), mean);
                free(run.pred);
                free(run.trace);
        }
        free(base.pred);
        free(base.trace);
}
END_TEST

enum { IG_F = 24, IG_T = 10 };

/* The IG tests' FOVAL-shaped model over several panels, pooling as asked. */
static da_arch ig_arch(da_pooling pooling) {
        return (da_arch) {
                .n_features = IG_F, .hidden = 150, .layers = 1, .batchnorm = true, .pooling = pooling,
                .dense = 16, .activation = DA_ACT_ELU, .outputs = 1, .window = IG_T, .hop = 1,
        };
}

static void random_window(float *x, uint64_t seed) {
        for (unsigned i = 0; i < IG_T * IG_F; i++)
                x[i] = 2 * da_uniform01(&seed) - 1;
}

/* A FOVAL-shaped model over several panels (mean pooling: no kinks), at
 * f32 and at bf16: the bf16 model's IG takes bf16 products; its
 * attributions stay within 5% of the largest float32 one and rank the
 * features alike. */
START_TEST(test_ig_bf16) {
        const da_arch arch = ig_arch(DA_POOL_MEAN);
        enum { F = IG_F, T = IG_T };
        _cleanup_(da_model_freep) da_model *m32 = NULL, *m16 = NULL;
        float x[T * F], phi32[T * F], phi16[T * F];
        double s32[F], s16[F], worst = 0, largest = 0, rho;
        da_attr_result r32, r16;
        da_attr_options o;

        ck_assert_int_eq(da_model_new_random(&arch, 5, &m32), 0);
        ck_assert_int_eq(da_model_new_random(&arch, 5, &m16), 0);
        ck_assert_int_eq(da_model_set_precision(m16, DA_PRECISION_BF16), 0);
        random_window(x, 9);
        da_attr_options_init(&o);
        ck_assert_int_eq(da_attribute(m32, DA_METHOD_IG, &o, x, T, phi32, &r32, NULL), 0);
        ck_assert_int_eq(da_attribute(m16, DA_METHOD_IG, &o, x, T, phi16, &r16, NULL), 0);
        for (unsigned f = 0; f < F; f++)
                s32[f] = s16[f] = 0;
        for (unsigned i = 0; i < T * F; i++) {
                largest = fmax(largest, fabs(phi32[i]));
                worst = fmax(worst, fabs((double) phi16[i] - phi32[i]));
                s32[i % F] += fabs(phi32[i]);
                s16[i % F] += fabs(phi16[i]);
        }
        ck_assert_int_eq(da_spearman(s32, s16, F, &rho), 0);
        printf("IG-50 of a bf16 model against f32: largest difference %.2g of the largest attribution, "
               "Spearman of the feature ranking %.4f, outputs %.6f / %.6f\n", worst / largest, rho, r16.output,
               r32.output);
        ck_assert_double_gt(largest, 0);
        ck_assert_double_le(worst, 0.05 * largest);
        ck_assert_double_ge(rho, 0.95);
        ck_assert_double_le(fabs(r16.output - r32.output), 0.01 * fmax(1, fabs(r32.output)));
        /* not merely the rounded weights: the products differ from float32 ones */
        ck_assert_double_gt(worst, 0);
}
END_TEST

/* With max pooling the bf16 model's IG keeps float32 products: float32 IG
 * of a model holding the same (rounded) weights, up to the order in which
 * the bf16 GEMV of the input projection sums (bf16 products would be off
 * by ~1e-3 of the largest attribution). */
START_TEST(test_ig_bf16_kinks) {
        const da_arch arch = ig_arch(DA_POOL_MAX);
        enum { F = IG_F, T = IG_T };
        _cleanup_(da_model_freep) da_model *m16 = NULL, *rounded = NULL;
        float x[T * F], phi16[T * F], phi[T * F];
        double largest = 0;
        da_attr_options o;

        ck_assert_int_eq(da_model_new_random(&arch, 6, &m16), 0);
        ck_assert_int_eq(da_model_new_random(&arch, 6, &rounded), 0);
        ck_assert_int_eq(da_model_set_precision(m16, DA_PRECISION_BF16), 0);
        /* to bf16 and back: float32 precision, bf16 values */
        ck_assert_int_eq(da_model_set_precision(rounded, DA_PRECISION_BF16), 0);
        ck_assert_int_eq(da_model_set_precision(rounded, DA_PRECISION_F32), 0);
        random_window(x, 10);
        da_attr_options_init(&o);
        ck_assert_int_eq(da_attribute(m16, DA_METHOD_IG, &o, x, T, phi16, NULL, NULL), 0);
        ck_assert_int_eq(da_attribute(rounded, DA_METHOD_IG, &o, x, T, phi, NULL, NULL), 0);
        /* (a plain comparison: gcc 12's aarch64 vectoriser fails on an fmax() reduction here) */
        for (unsigned i = 0; i < T * F; i++)
                if (fabs(phi[i]) > largest)
                        largest = fabs(phi[i]);
        for (unsigned i = 0; i < T * F; i++)
                ck_assert_msg(fabs((double) phi16[i] - phi[i]) <= 1e-5 * largest, "φ[%u] %g, float32 products %g", i,
                              phi16[i], phi[i]);
}
END_TEST

int main(void) {
        Suite *s = suite_create("precision");
        TCase *tc = tcase_create("precision");

        tcase_add_test(tc, test_conversions);
        tcase_add_test(tc, test_gemv);
        tcase_add_test(tc, test_rounding);
        tcase_add_test(tc, test_file_round_trip);
        tcase_add_test(tc, test_file_errors);
        tcase_add_test(tc, test_agreement);
        tcase_add_test(tc, test_ig_bf16);
        tcase_add_test(tc, test_ig_bf16_kinks);
        suite_add_tcase(s, tc);
        return test_run(s);
}
