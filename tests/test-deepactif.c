/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DeepACTIF end to end: the traces the forward pass records, a planted model
 * whose ranking is known by construction, and the Robust Vision recordings
 * through the library and through `deepactifctl rank`. */

#include <glob.h>
#include <math.h>
#include <sys/wait.h>

#include "model.h"
#include "test-util.h"

#define RV_DIR TEST_SRCDIR "/../contrib/data/robustvision"
#define DEFAULT_MODEL TEST_SRCDIR "/../contrib/models/foval-robustvision.safetensors"
#define CTL TOP_BUILDDIR "/client/deepactifctl"

static double sigmoid(double z) {
        return 1 / (1 + exp(-z));
}

/* The gate trace written out from its definition (DESIGN §4.3), in double,
 * with the LSTM's layer 0 run by hand: Σ_j |i[t,j]·W_g[j,f]·x[t,f]|,
 * averaged over t. Nothing here shares code with the library's kernels. */
static void gate_trace_reference(const da_model *m, const float *x, unsigned T, double *ret) {
        unsigned F = m->arch.n_features, H = m->arch.hidden;
        const da_lstm_layer *L = &m->layer[0];
        double *h = calloc(H, sizeof(double)), *c = calloc(H, sizeof(double));
        double *hn = calloc(H, sizeof(double)), *ig = calloc(H, sizeof(double));

        for (unsigned f = 0; f < F; f++)
                ret[f] = 0;
        for (unsigned t = 0; t < T; t++) {
                const float *xt = x + (size_t) t * F;

                for (unsigned j = 0; j < H; j++) {
                        double z[4];

                        for (unsigned q = 0; q < 4; q++) {
                                unsigned row = q * H + j;

                                z[q] = (double) L->b_ih[row] + L->b_hh[row];
                                for (unsigned f = 0; f < F; f++)
                                        z[q] += (double) L->w_ih[(size_t) row * F + f] * xt[f];
                                for (unsigned k = 0; k < H; k++)
                                        z[q] += (double) L->w_hh[(size_t) row * H + k] * h[k];
                        }
                        ig[j] = sigmoid(z[0]);
                        c[j] = sigmoid(z[1]) * c[j] + ig[j] * tanh(z[2]);
                        hn[j] = sigmoid(z[3]) * tanh(c[j]);
                }
                memcpy(h, hn, H * sizeof(double));
                for (unsigned f = 0; f < F; f++)
                        for (unsigned j = 0; j < H; j++)
                                ret[f] += fabs(ig[j] * L->w_ih[(size_t) (2 * H + j) * F + f] * xt[f]);
        }
        for (unsigned f = 0; f < F; f++)
                ret[f] /= T;
        free(h);
        free(c);
        free(hn);
        free(ig);
}

START_TEST(test_traces_match_definition) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        da_arch arch = {
                .n_features = 5, .hidden = 7, .layers = 2, .pooling = DA_POOL_MAX, .dense = 4,
                .activation = DA_ACT_ELU, .outputs = 1, .window = 6, .hop = 1, .batchnorm = true,
        };
        float x[30], out[1], tin[5], tgate[5], plain[1];
        double ref[5];
        uint64_t s = 3;

        ck_assert_int_eq(da_model_new_random(&arch, 11, &m), 0);
        ck_assert_int_eq(da_ctx_new(m, 6, &ctx), 0);
        for (unsigned i = 0; i < 30; i++)
                x[i] = 4 * da_uniform01(&s) - 2;

        ck_assert_int_eq(da_forward_traced(ctx, x, 6, out, tin, tgate), 0);
        gate_trace_reference(m, x, 6, ref);
        for (unsigned f = 0; f < 5; f++) {
                double ain = 0;

                for (unsigned t = 0; t < 6; t++)
                        ain += fabs(x[t * 5 + f]);
                ck_assert_double_eq_tol(tin[f], ain / 6, 1e-6);
                ck_assert_msg(fabs(tgate[f] - ref[f]) <= 1e-5 * fmax(1, ref[f]),
                              "gate trace f=%u: %.9g, definition gives %.9g", f, tgate[f], ref[f]);
        }
        /* recording traces does not change the prediction */
        ck_assert_int_eq(da_forward(ctx, x, 6, plain), 0);
        ck_assert_float_eq(plain[0], out[0]);
}
END_TEST

/* The batched traced forward equals the one-window pass for every layout,
 * whatever the batch size. */
START_TEST(test_batch_matches_single) {
        static const da_arch archs[] = {
                { .n_features = 7, .hidden = 20, .layers = 1, .pooling = DA_POOL_MAX, .dense = 5,
                  .activation = DA_ACT_ELU, .outputs = 1, .window = 6, .hop = 1, .batchnorm = true },
                { .n_features = 40, .hidden = 64, .layers = 2, .pooling = DA_POOL_MEAN,
                  .outputs = 3, .window = 10, .hop = 1 },
                { .n_features = 3, .hidden = 70, .layers = 1, .pooling = DA_POOL_LAST, .dense = 8,
                  .activation = DA_ACT_TANH, .outputs = 2, .window = 4, .hop = 2 },
        };
        static const unsigned batches[] = { 1, 7, 33 };

        for (size_t a = 0; a < ELEMENTSOF(archs); a++)
                for (size_t k = 0; k < ELEMENTSOF(batches); k++) {
                        const da_arch *ar = &archs[a];
                        unsigned B = batches[k], F = ar->n_features, T = ar->window, O = ar->outputs;
                        _cleanup_(da_model_freep) da_model *m = NULL;
                        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
                        da_batch *b = NULL;
                        float *x = malloc(sizeof(float) * B * T * F), *out = malloc(sizeof(float) * B * O);
                        float *tin = malloc(sizeof(float) * B * F), *tg = malloc(sizeof(float) * B * F);
                        float o1[4], in1[64], g1[64];
                        uint64_t s = 17 + a;

                        ck_assert_int_eq(da_model_new_random(ar, 31 + a, &m), 0);
                        ck_assert_int_eq(da_ctx_new(m, T, &ctx), 0);
                        ck_assert_int_eq(da_batch_new(m, B, &b), 0);
                        for (size_t i = 0; i < (size_t) B * T * F; i++)
                                x[i] = 4 * da_uniform01(&s) - 2;
                        ck_assert_int_eq(da_forward_traced_batch(b, x, B, out, tin, tg), 0);
                        for (unsigned w = 0; w < B; w++) {
                                ck_assert_int_eq(da_forward_traced(ctx, x + (size_t) w * T * F, T, o1, in1, g1), 0);
                                for (unsigned o = 0; o < O; o++)
                                        ck_assert_msg(fabsf(out[w * O + o] - o1[o]) <= 1e-5f * fmaxf(1, fabsf(o1[o])),
                                                      "arch %zu B=%u window %u output %u: %g vs %g", a, B, w, o,
                                                      out[w * O + o], o1[o]);
                                for (unsigned f = 0; f < F; f++) {
                                        ck_assert_float_eq(tin[w * F + f], in1[f]);
                                        ck_assert_msg(fabsf(tg[w * F + f] - g1[f]) <= 1e-5f * fmaxf(1, g1[f]),
                                                      "arch %zu B=%u window %u gate trace %u: %g vs %g", a, B, w, f,
                                                      tg[w * F + f], g1[f]);
                                }
                        }
                        ck_assert_int_eq(da_forward_traced_batch(b, x, B + 1, out, NULL, NULL), -EINVAL);
                        da_batch_free(b);
                        free(x);
                        free(out);
                        free(tin);
                        free(tg);
                }
}
END_TEST

/* Windows sliding over one run of frames share their input projections;
 * each must still equal the window computed alone. */
START_TEST(test_frames_match_single) {
        static const unsigned hops[] = { 1, 3 };

        for (size_t k = 0; k < ELEMENTSOF(hops); k++) {
                da_arch ar = {
                        .n_features = 9, .hidden = 24, .layers = 2, .pooling = DA_POOL_MAX, .dense = 6,
                        .activation = DA_ACT_RELU, .outputs = 1, .window = 8, .hop = hops[k], .batchnorm = true,
                };
                const unsigned F = 9, T = 8, N = 50;
                _cleanup_(da_model_freep) da_model *m = NULL;
                _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
                da_batch *b = NULL;
                float x[50 * 9], out[64], tg[64 * 9], o1[1], g1[9];
                unsigned n;
                uint64_t s = 99;

                ck_assert_int_eq(da_model_new_random(&ar, 5, &m), 0);
                ck_assert_int_eq(da_ctx_new(m, T, &ctx), 0);
                ck_assert_int_eq(da_batch_new(m, 64, &b), 0);
                for (unsigned i = 0; i < N * F; i++)
                        x[i] = 4 * da_uniform01(&s) - 2;
                ck_assert_int_eq(da_forward_traced_frames(b, x, N, out, NULL, tg, &n), 0);
                ck_assert_uint_eq(n, (N - T) / hops[k] + 1);
                for (unsigned w = 0; w < n; w++) {
                        ck_assert_int_eq(da_forward_traced(ctx, x + (size_t) w * hops[k] * F, T, o1, NULL, g1), 0);
                        ck_assert_msg(fabsf(out[w] - o1[0]) <= 1e-5f * fmaxf(1, fabsf(o1[0])), "hop %u window %u", hops[k], w);
                        for (unsigned f = 0; f < F; f++)
                                ck_assert_msg(fabsf(tg[w * F + f] - g1[f]) <= 1e-5f * fmaxf(1, g1[f]),
                                              "hop %u window %u feature %u: %g vs %g", hops[k], w, f, tg[w * F + f], g1[f]);
                }
                ck_assert_int_eq(da_forward_traced_frames(b, x, T - 1, out, NULL, tg, &n), -EINVAL);
                da_batch_free(b);
        }
}
END_TEST

/* Only features 1 and 4 reach the cell (every other W_ih column is zero).
 * The gate trace must rank them first on any input; the input trace cannot
 * know, and here ranks the larger but ignored inputs first. */
START_TEST(test_planted_model) {
        const unsigned F = 6, T = 10, N = 300;
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        _cleanup_free_ float *a_gate = calloc((size_t) N * F, sizeof(float)), *a_in = calloc((size_t) N * F, sizeof(float));
        da_arch arch = {
                .n_features = F, .hidden = 16, .layers = 1, .pooling = DA_POOL_LAST,
                .outputs = 1, .window = T, .hop = 1,
        };
        double scores[6];
        unsigned order[6];
        float x[60], out[1];
        uint64_t s = 5;

        ck_assert_int_eq(da_model_new_random(&arch, 21, &m), 0);
        for (unsigned r = 0; r < 4 * 16; r++)
                for (unsigned f = 0; f < F; f++)
                        if (f != 1 && f != 4)
                                m->layer[0].w_ih[r * F + f] = 0;
        ck_assert_int_eq(model_pack(m), 0);
        ck_assert_int_eq(da_ctx_new(m, T, &ctx), 0);

        for (unsigned n = 0; n < N; n++) {
                for (unsigned i = 0; i < T * F; i++) {
                        unsigned f = i % F;

                        /* the ignored features are three times larger */
                        x[i] = (2 * da_uniform01(&s) - 1) * (f == 1 || f == 4 ? 1.0f : 3.0f);
                }
                ck_assert_int_eq(da_forward_traced(ctx, x, T, out, a_in + n * F, a_gate + n * F), 0);
                for (unsigned f = 0; f < F; f++)
                        if (f != 1 && f != 4)
                                ck_assert_float_eq(a_gate[n * F + f], 0.0f);
        }

        for (da_aggregation agg = 0; agg < _DA_AGG_MAX; agg++) {
                ck_assert_int_eq(da_aggregate(a_gate, N, F, agg, scores), 0);
                ck_assert_int_eq(da_ranking(scores, F, order), 0);
                ck_assert_msg((order[0] == 1 && order[1] == 4) || (order[0] == 4 && order[1] == 1),
                              "gate/%s ranks %u, %u first", da_aggregation_to_string(agg), order[0], order[1]);
        }

        ck_assert_int_eq(da_aggregate(a_in, N, F, DA_AGG_MEAN, scores), 0);
        ck_assert_int_eq(da_ranking(scores, F, order), 0);
        ck_assert_msg(order[F - 1] == 1 || order[F - 1] == 4, "input trace put %u last", order[F - 1]);
        ck_assert_msg(order[F - 2] == 1 || order[F - 2] == 4, "input trace put %u second to last", order[F - 2]);
}
END_TEST

/* Traces of every window of a recording, through the stream as the daemon
 * sees them, or (batched) as `rank` computes them: windows from the stream,
 * traces from da_forward_traced_batch, here in batches of 5. */
static size_t recording_traces(const da_model *m, const char *path, da_trace_location loc, bool batched,
                               float **ret) {
        _cleanup_(da_reader_freep) da_reader *rd = NULL;
        da_stream *st = NULL;
        da_error err = {};
        float *a = NULL;
        size_t n = 0, cap = 0;
        unsigned F = m->arch.n_features;
        da_frame fr;
        int r;

        ck_assert_msg(da_reader_open(path, DA_REC_AUTO, &rd, &err) == 0, "%s: %s", path, err.message);
        da_reader_set_drop_repeats(rd, true);
        ck_assert_msg(da_stream_new(m, loc, &st, &err) == 0, "%s", err.message);
        da_stream_set_windows_only(st, batched);
        while ((r = da_reader_next(rd, &fr, &err)) > 0) {
                da_window_result w;
                float trace[64], out[4];

                r = da_stream_push(st, &fr, &w);
                ck_assert_int_ge(r, 0);
                if (r == 0)
                        continue;
                if (batched) {
                        da_batch *b = NULL;

                        /* one window at a time: a window's result does not
                         * depend on the batch it runs in */
                        ck_assert_ptr_null(w.trace);
                        ck_assert_int_eq(da_batch_new(m, 5, &b), 0);
                        ck_assert_int_eq(da_forward_traced_batch(b, w.window, 1, out,
                                                                 loc == DA_TRACE_INPUT ? trace : NULL,
                                                                 loc == DA_TRACE_GATE ? trace : NULL), 0);
                        da_batch_free(b);
                } else
                        memcpy(trace, w.trace, F * sizeof(float));
                if (n == cap) {
                        cap = cap ? 2 * cap : 1024;
                        a = realloc(a, cap * F * sizeof(float));
                        ck_assert_ptr_nonnull(a);
                }
                for (unsigned f = 0; f < F; f++) {
                        ck_assert(isfinite(trace[f]) && trace[f] >= 0);
                        a[n * F + f] = trace[f];
                }
                n++;
        }
        ck_assert_msg(r == 0, "%s: %s", path, err.message);
        da_stream_free(st);
        *ret = a;
        return n;
}

/* Every bundled Robust Vision subject ranks with the default model; the
 * scores are finite and the ranking a permutation. */
START_TEST(test_robustvision_subjects) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        da_error err = {};
        glob_t g;
        size_t total = 0;

        ck_assert_msg(da_model_load(DEFAULT_MODEL, &m, &err) == 0, "%s", err.message);
        ck_assert_int_eq(glob(RV_DIR "/P*.tsv.gz", 0, NULL, &g), 0);
        ck_assert_uint_eq(g.gl_pathc, 20);
        for (size_t i = 0; i < g.gl_pathc; i++) {
                unsigned F = m->arch.n_features, order[64], seen[64] = {};
                _cleanup_free_ float *a = NULL;
                double scores[64];
                size_t n = recording_traces(m, g.gl_pathv[i], DA_TRACE_GATE, false, &a);

                ck_assert_msg(n > 0, "%s yields no window", g.gl_pathv[i]);
                ck_assert_int_eq(da_aggregate(a, n, F, DA_AGG_INV, scores), 0);
                ck_assert_int_eq(da_ranking(scores, F, order), 0);
                for (unsigned k = 0; k < F; k++) {
                        ck_assert(isfinite(scores[k]) && scores[k] >= 0 && scores[k] <= 1);
                        ck_assert_uint_eq(seen[order[k]]++, 0);
                        if (k > 0)
                                ck_assert(scores[order[k - 1]] >= scores[order[k]]);
                }
                total += n;
        }
        fprintf(stderr, "ranked %zu windows of %zu Robust Vision subjects\n", total, g.gl_pathc);
        globfree(&g);
}
END_TEST

/* `deepactifctl rank --json` over a subject equals the library's ranking of
 * the same windows, for each location and aggregation. */
static void check_cli(const da_model *m, const char *path, const char *loc, const char *agg) {
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        _cleanup_free_ float *a = NULL;
        json_object *doc, *v, *list;
        size_t n, size = 0;
        double scores[64];
        unsigned order[64], F = m->arch.n_features;
        FILE *p;
        int status;

        n = recording_traces(m, path, da_trace_location_from_string(loc), true, &a);
        ck_assert_int_eq(da_aggregate(a, n, F, da_aggregation_from_string(agg), scores), 0);
        ck_assert_int_eq(da_ranking(scores, F, order), 0);

        ck_assert(asprintf(&cmd, "%s rank --model %s --input %s --location %s --aggregation %s --json",
                           CTL, DEFAULT_MODEL, path, loc, agg) > 0);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        out = malloc(1 << 20);
        size = fread(out, 1, (1 << 20) - 1, p);
        out[size] = 0;
        status = pclose(p);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed", cmd);

        doc = json_tokener_parse(out);
        ck_assert_ptr_nonnull(doc);
        ck_assert(json_object_object_get_ex(doc, "method", &v));
        ck_assert_str_eq(json_object_get_string(v), "deepactif");
        ck_assert(json_object_object_get_ex(doc, "location", &v));
        ck_assert_str_eq(json_object_get_string(v), loc);
        ck_assert(json_object_object_get_ex(doc, "aggregation", &v));
        ck_assert_str_eq(json_object_get_string(v), agg);
        ck_assert(json_object_object_get_ex(doc, "windows", &v));
        ck_assert_int_eq(json_object_get_int64(v), (int64_t) n);
        ck_assert(json_object_object_get_ex(doc, "ranking", &list));
        ck_assert_uint_eq(json_object_array_length(list), F);
        for (unsigned k = 0; k < F; k++) {
                json_object *e = json_object_array_get_idx(list, k), *name, *score, *rank;

                ck_assert(json_object_object_get_ex(e, "feature", &name));
                ck_assert(json_object_object_get_ex(e, "score", &score));
                ck_assert(json_object_object_get_ex(e, "rank", &rank));
                ck_assert_str_eq(json_object_get_string(name), da_model_feature(m, order[k]));
                ck_assert_double_eq_tol(json_object_get_double(score), scores[order[k]], 1e-12);
                ck_assert_int_eq(json_object_get_int(rank), (int) k + 1);
        }
        json_object_put(doc);
}

START_TEST(test_rank_cli) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        da_error err = {};

        if (access(CTL, X_OK) < 0) {
                fprintf(stderr, "%s is not built\n", CTL);
                ck_abort_msg("deepactifctl missing");
        }
        ck_assert_msg(da_model_load(DEFAULT_MODEL, &m, &err) == 0, "%s", err.message);
        check_cli(m, RV_DIR "/P9.tsv.gz", "gate", "inv");
        check_cli(m, RV_DIR "/P14.tsv.gz", "input", "mean");
        check_cli(m, RV_DIR "/P14.tsv.gz", "gate", "pen");
        check_cli(m, RV_DIR "/P14.tsv.gz", "gate", "meanstd");
}
END_TEST

static int cmp_float(const void *a, const void *b) {
        float x = *(const float *) a, y = *(const float *) b;

        return (x > y) - (x < y);
}

/* `deepactifctl score --json --train` with the default (per-user) model:
 * the model's MAE per subject and overall as the library predicts the same
 * windows, and the training-median reference recomputed here from the
 * training windows' targets. */
START_TEST(test_score_cli) {
        static const char *const test[] = { RV_DIR "/P9.tsv.gz", RV_DIR "/P19.tsv.gz" };
        static const char *const train[] = { RV_DIR "/P14.tsv.gz", RV_DIR "/P3.tsv.gz" };
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_free_ char *cmd = NULL, *out = NULL;
        _cleanup_free_ float *ytrain = NULL;
        _cleanup_free_ const char **names = NULL;
        da_dataset *ds = NULL, *tr = NULL;
        da_dataset_options o;
        da_error err = {};
        json_object *doc, *v, *subs, *ref;
        double sum = 0, sum_med = 0, median, band_abs[4] = {}, band_signed[4] = {};
        static const double band_from[4] = { 0.35, 0.5, 1, 2 };
        size_t band_n[4] = {};
        size_t windows = 0, n_train = 0, size;
        FILE *p;
        int status;

        ck_assert_msg(da_model_load(DEFAULT_MODEL, &m, &err) == 0, "%s", err.message);
        names = calloc(m->arch.n_features, sizeof(char *));
        for (unsigned f = 0; f < m->arch.n_features; f++)
                names[f] = da_model_feature(m, f);
        da_dataset_options_init(&o);
        o.features = names;
        o.n_features = m->arch.n_features;
        ck_assert_msg(da_dataset_load((const char *const *) train, 2, &o, &tr, &err) == 0, "%s", err.message);
        for (unsigned s = 0; s < 2; s++) {
                _cleanup_free_ float *pred = NULL, *target = NULL;
                size_t n;

                ck_assert_int_eq(da_predict_subject(m, tr, s, &pred, &target, &n, &err), 0);
                ytrain = realloc(ytrain, (n_train + n) * sizeof(float));
                memcpy(ytrain + n_train, target, n * sizeof(float));
                n_train += n;
        }
        ck_assert_uint_gt(n_train, 10);
        qsort(ytrain, n_train, sizeof(float), cmp_float);
        median = n_train % 2 ? ytrain[n_train / 2] : ((double) ytrain[n_train / 2 - 1] + ytrain[n_train / 2]) / 2;

        ck_assert_msg(da_dataset_load((const char *const *) test, 2, &o, &ds, &err) == 0, "%s", err.message);
        ck_assert(asprintf(&cmd, "%s score --json --model %s --data %s --data %s --train %s --train %s", CTL,
                           DEFAULT_MODEL, test[0], test[1], train[0], train[1]) > 0);
        p = popen(cmd, "r");
        ck_assert_ptr_nonnull(p);
        out = malloc(1 << 16);
        size = fread(out, 1, (1 << 16) - 1, p);
        out[size] = 0;
        status = pclose(p);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s failed", cmd);
        doc = json_tokener_parse(out);
        ck_assert_ptr_nonnull(doc);
        ck_assert(json_object_object_get_ex(doc, "subjects", &subs));
        ck_assert_uint_eq(json_object_array_length(subs), 2);
        for (unsigned s = 0; s < 2; s++) {
                _cleanup_free_ float *pred = NULL, *target = NULL;
                json_object *js = json_object_array_get_idx(subs, s);
                double sub_sum = 0, sub_med = 0;
                size_t n;

                ck_assert_int_eq(da_predict_subject(m, ds, s, &pred, &target, &n, &err), 0);
                ck_assert_uint_gt(n, 0);
                for (size_t w = 0; w < n; w++) {
                        unsigned b = target[w] < 0.5 ? 0 : target[w] < 1 ? 1 : target[w] < 2 ? 2 : 3;

                        sub_sum += fabs((double) pred[w] - target[w]);
                        sub_med += fabs(median - target[w]);
                        band_abs[b] += fabs((double) pred[w] - target[w]);
                        band_signed[b] += (double) pred[w] - target[w];
                        band_n[b]++;
                }
                ck_assert(json_object_object_get_ex(js, "name", &v));
                ck_assert_str_eq(json_object_get_string(v), s == 0 ? "P9" : "P19");
                ck_assert(json_object_object_get_ex(js, "windows", &v));
                ck_assert_int_eq(json_object_get_int64(v), (int64_t) n);
                ck_assert(json_object_object_get_ex(js, "mae_cm", &v));
                ck_assert_double_eq_tol(json_object_get_double(v), sub_sum / n * 100, 1e-6);
                ck_assert(json_object_object_get_ex(js, "reference", &ref));
                ck_assert(json_object_object_get_ex(ref, "median", &v));
                ck_assert_double_eq_tol(json_object_get_double(v), sub_med / n * 100, 1e-4);
                sum += sub_sum;
                sum_med += sub_med;
                windows += n;
        }
        ck_assert(json_object_object_get_ex(doc, "windows", &v));
        ck_assert_int_eq(json_object_get_int64(v), (int64_t) windows);
        ck_assert(json_object_object_get_ex(doc, "mae_cm", &v));
        ck_assert_double_eq_tol(json_object_get_double(v), sum / windows * 100, 1e-6);
        ck_assert(json_object_object_get_ex(doc, "reference", &ref));
        ck_assert(json_object_object_get_ex(ref, "median", &v));
        ck_assert_double_eq_tol(json_object_get_double(v), sum_med / windows * 100, 1e-4);
        ck_assert(json_object_object_get_ex(ref, "ridge", &v));
        ck_assert(isfinite(json_object_get_double(v)) && json_object_get_double(v) > 0);
        /* the error by target depth: 0.35–0.5, 0.5–1, 1–2, 2–3 m */
        ck_assert(json_object_object_get_ex(doc, "depths", &subs));
        ck_assert_uint_eq(json_object_array_length(subs), 4);
        for (unsigned b = 0; b < 4; b++) {
                json_object *jb = json_object_array_get_idx(subs, b);

                ck_assert(json_object_object_get_ex(jb, "from_m", &v));
                ck_assert_double_eq_tol(json_object_get_double(v), band_from[b], 1e-12);
                ck_assert(json_object_object_get_ex(jb, "windows", &v));
                ck_assert_int_eq(json_object_get_int64(v), (int64_t) band_n[b]);
                ck_assert(json_object_object_get_ex(jb, "mae_cm", &v));
                if (band_n[b] == 0) {
                        ck_assert(json_object_is_type(v, json_type_null));
                        continue;
                }
                ck_assert_double_eq_tol(json_object_get_double(v), band_abs[b] / band_n[b] * 100, 1e-6);
                ck_assert(json_object_object_get_ex(jb, "bias_cm", &v));
                ck_assert_double_eq_tol(json_object_get_double(v), band_signed[b] / band_n[b] * 100, 1e-6);
        }
        json_object_put(doc);
        da_dataset_free(ds);
        da_dataset_free(tr);
}
END_TEST

/* Bad arguments to rank fail with one line naming the problem. */
START_TEST(test_rank_cli_errors) {
        static const struct {
                const char *args, *needle;
        } cases[] = {
                { "--input " RV_DIR "/P9.tsv.gz", "needs --model" },
                { "--model " DEFAULT_MODEL " --input /nonexistent.tsv", "Failed to open recording" },
                { "--model /nonexistent --input " RV_DIR "/P9.tsv.gz", "Failed to load model" },
                { "--model " DEFAULT_MODEL " --input " RV_DIR "/P9.tsv.gz --method magic", "Unknown method 'magic'" },
                { "--model " DEFAULT_MODEL " --input " RV_DIR "/P9.tsv.gz --aggregation median", "Unknown aggregation" },
                { "--model " DEFAULT_MODEL " --input " RV_DIR "/P9.tsv.gz --location cell", "Unknown trace location" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_free_ char *cmd = NULL;
                char buf[4096] = {};
                size_t n;
                FILE *p;
                int status;

                ck_assert(asprintf(&cmd, "%s rank %s 2>&1 >/dev/null", CTL, cases[i].args) > 0);
                p = popen(cmd, "r");
                n = fread(buf, 1, sizeof(buf) - 1, p);
                buf[n] = 0;
                status = pclose(p);
                ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) != 0, "'%s' succeeded", cmd);
                ck_assert_msg(strstr(buf, cases[i].needle), "'%s' said '%s'", cmd, buf);
        }
}
END_TEST

int main(void) {
        Suite *s = suite_create("deepactif");
        TCase *tc = tcase_create("deepactif");

        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, test_traces_match_definition);
        tcase_add_test(tc, test_batch_matches_single);
        tcase_add_test(tc, test_frames_match_single);
        tcase_add_test(tc, test_planted_model);
        tcase_add_test(tc, test_robustvision_subjects);
        tcase_add_test(tc, test_rank_cli);
        tcase_add_test(tc, test_rank_cli_errors);
        tcase_add_test(tc, test_score_cli);
        suite_add_tcase(s, tc);
        return test_run(s);
}
