/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl bench: median wall time of the library's kernels, of one
 * window's attribution by each method and of the daemon's rolling ranking,
 * on one core. */

#include <getopt.h>
#include <sched.h>
#include <time.h>

#include "ctl.h"

typedef struct bench_case {
        const char *name;
        unsigned hidden, features, window;
        double us;
} bench_case;

typedef void (*bench_fn)(void *userdata);

/* --quick: each case runs once, to check that all run, not to time them. */
static bool bench_quick;

static double now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec * 1e6 + (double) ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b) {
        double x = *(const double *) a, y = *(const double *) b;

        return (x > y) - (x < y);
}

/* Median over 31 batches, each sized to take about 2 ms, so timer
 * resolution and one-off interruptions do not show; over 7 single calls
 * when one call takes longer than 20 ms, to keep the whole run short. */
static double measure(bench_fn fn, void *userdata) {
        double samples[31], t0, dt;
        size_t n = ELEMENTSOF(samples);
        unsigned reps = 1;

        t0 = now_us();
        fn(userdata);
        if (bench_quick)
                return MAX(now_us() - t0, 1e-3);
        if (now_us() - t0 > 20000)
                n = 7;
        for (; n == ELEMENTSOF(samples);) {
                t0 = now_us();
                for (unsigned i = 0; i < reps; i++)
                        fn(userdata);
                dt = now_us() - t0;
                if (dt >= 2000 || reps >= (1u << 24))
                        break;
                reps *= 2;
        }
        for (size_t s = 0; s < n; s++) {
                t0 = now_us();
                for (unsigned i = 0; i < reps; i++)
                        fn(userdata);
                samples[s] = (now_us() - t0) / reps;
        }
        qsort(samples, n, sizeof(double), cmp_double);
        return samples[n / 2];
}

#define BENCH_BATCH 64
#define BENCH_FEATURES 40u
#define BENCH_WINDOW 10u

/* The weights one step multiplies: W_ih and W_hh of the four gates. */
static size_t step_weights(unsigned H) {
        return (size_t) 4 * H * (BENCH_FEATURES + H);
}

typedef struct lstm_bench {
        const da_model *m;
        da_ctx *ctx;
        da_batch *batch;
        float *xs, *outs, *traces;      /* BENCH_BATCH windows */
        float *x, *out, *trace, *phi;
        da_method method;
        unsigned T;
} lstm_bench;

static void run_step(void *userdata) {
        lstm_bench *b = userdata;

        da_step(b->ctx, b->x);
}

static void run_window(void *userdata) {
        lstm_bench *b = userdata;

        da_forward(b->ctx, b->x, b->T, b->out);
}

static void run_window_traced(void *userdata) {
        lstm_bench *b = userdata;

        da_forward_traced(b->ctx, b->x, b->T, b->out, NULL, b->trace);
}

static void run_frames(void *userdata) {
        lstm_bench *b = userdata;
        unsigned n;

        da_forward_traced_frames(b->batch, b->xs, BENCH_BATCH + b->T - 1, b->outs, NULL, NULL, &n);
}

static void run_frames_traced(void *userdata) {
        lstm_bench *b = userdata;
        unsigned n;

        da_forward_traced_frames(b->batch, b->xs, BENCH_BATCH + b->T - 1, b->outs, NULL, b->traces, &n);
}

static void run_attribute(void *userdata) {
        lstm_bench *b = userdata;

        (void) da_attribute(b->m, b->method, NULL, b->x, b->T, b->phi, NULL, NULL);
}

/* The reference for the step: reading as many bytes as it multiplies, with
 * nothing else to do. For weights that fit in the core's L2 this is the floor
 * of a step that streams them from there; the ratio tells how far off it is. */
typedef struct read_bench {
        const float *data;
        size_t n;
        float sink;
} read_bench;

typedef float read_vec __attribute__((vector_size(32)));

#define READ_BODY                                                               \
        read_bench *rb = userdata;                                              \
        read_vec acc[8] = {};                                                   \
                                                                                \
        for (size_t i = 0; i + 64 <= rb->n; i += 64)                            \
                _Pragma("GCC unroll 8") for (unsigned k = 0; k < 8; k++)        \
                        acc[k] += *(const read_vec *) (rb->data + i + 8 * k);   \
        for (unsigned k = 1; k < 8; k++)                                        \
                acc[0] += acc[k];                                               \
        rb->sink = acc[0][0];

#if defined(__x86_64__)
static __attribute__((target("avx2"))) void run_read_avx2(void *userdata) {
        READ_BODY
}
#endif

static void run_read(void *userdata) {
        READ_BODY
}

static double measure_read(size_t n_floats) {
        _cleanup_free_ float *data = NULL;
        read_bench rb;
        bench_fn fn = run_read;

        n_floats = (n_floats + 63) / 64 * 64;
        if (posix_memalign((void **) &data, 64, n_floats * sizeof(float)) != 0)
                return -1;
        for (size_t i = 0; i < n_floats; i++)
                data[i] = (float) (i % 7);
        rb = (read_bench) { .data = data, .n = n_floats };
#if defined(__x86_64__)
        if (__builtin_cpu_supports("avx2"))
                fn = run_read_avx2;
#endif
        return measure(fn, &rb);
}

/* "1.05 µs (380× cheaper than IG-50)"; a difference of two medians can
 * come out at or below zero when the trace costs less than the noise. */
static const char *format_added(double us, double ig_us, char buf[static 96]) {
        if (us > 0)
                snprintf(buf, 96, _("%.2f µs (%.0f× cheaper than IG-50)"), us, ig_us / us);
        else
                snprintf(buf, 96, _("less than the measurement noise"));
        return buf;
}

static const bench_case *find_case(const bench_case *cases, size_t n, const char *name, unsigned hidden) {
        for (size_t i = 0; i < n; i++)
                if (streq(cases[i].name, name) && cases[i].hidden == hidden)
                        return &cases[i];
        return NULL;
}

#define BENCH_ROLLING_WINDOWS 1000u

typedef struct rolling_bench {
        da_rolling *rolling;
        float *traces;          /* 64 windows' traces, pushed in turn */
        double scores[BENCH_FEATURES];
        size_t next;
} rolling_bench;

static void run_rolling_push(void *userdata) {
        rolling_bench *b = userdata;

        (void) da_rolling_push(b->rolling, b->traces + (b->next++ % 64) * BENCH_FEATURES);
}

static void run_rolling_scores(void *userdata) {
        rolling_bench *b = userdata;

        (void) da_rolling_scores(b->rolling, DA_AGG_INV, b->scores);
}

/* What the daemon does per window and per snapshot: one push into the
 * rolling moments of the last 1000 windows (amortised over the re-summation
 * at each wrap), and the INV scores from them. */
static int bench_rolling(bench_case *cases, size_t *n) {
        _cleanup_free_ float *traces = malloc(64 * BENCH_FEATURES * sizeof(float));
        rolling_bench b = { .traces = traces };
        uint32_t x = 3;
        int r;

        if (!traces)
                return -ENOMEM;
        for (size_t k = 0; k < 64 * BENCH_FEATURES; k++) {
                x = x * 1664525u + 1013904223u;
                traces[k] = (float) (x >> 8) / (float) (1u << 24);
        }
        r = da_rolling_new(BENCH_FEATURES, BENCH_ROLLING_WINDOWS, &b.rolling);
        if (r < 0)
                return r;
        for (size_t k = 0; k < BENCH_ROLLING_WINDOWS; k++)
                run_rolling_push(&b);
        cases[(*n)++] = (bench_case) { "rolling-push", 0, BENCH_FEATURES, BENCH_ROLLING_WINDOWS,
                                       measure(run_rolling_push, &b) };
        cases[(*n)++] = (bench_case) { "rolling-scores", 0, BENCH_FEATURES, BENCH_ROLLING_WINDOWS,
                                       measure(run_rolling_scores, &b) };
        da_rolling_free(b.rolling);
        return 0;
}

/* The LSTM kernels for every hidden size; with attribute, one window's
 * DeepACTIF gate trace, IG-50 and DeepLIFT with default options too. */
static int bench_lstm(unsigned H, bool attribute, bench_case *cases, size_t *n) {
        const unsigned F = BENCH_FEATURES, T = BENCH_WINDOW;
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        _cleanup_free_ float *x = NULL, *phi = NULL, *xs = NULL, *outs = NULL, *traces = NULL;
        da_batch *batch = NULL;
        float out[1], trace[40];
        da_arch arch = {
                .n_features = F, .hidden = H, .layers = 1, .pooling = DA_POOL_LAST,
                .outputs = 1, .window = T, .hop = 1,
        };
        uint64_t s = 42;
        lstm_bench b;
        int r;

        r = da_model_new_random(&arch, 1, &m);
        if (r < 0)
                return r;
        r = da_ctx_new(m, T, &ctx);
        if (r < 0)
                return r;
        x = malloc(sizeof(float) * F * T);
        phi = malloc(sizeof(float) * F * T);
        if (!x || !phi)
                return -ENOMEM;
        for (unsigned i = 0; i < F * T; i++)
                x[i] = 2 * da_uniform01(&s) - 1;

        b = (lstm_bench) { .m = m, .ctx = ctx, .x = x, .out = out, .trace = trace, .phi = phi, .T = T };
        cases[(*n)++] = (bench_case) { "lstm-step", H, F, T, measure(run_step, &b) };
        cases[(*n)++] = (bench_case) { "weights-read", H, F, T, measure_read(step_weights(H)) };
        cases[(*n)++] = (bench_case) { "lstm-window", H, F, T, measure(run_window, &b) };
        if (!attribute)
                return 0;

        cases[(*n)++] = (bench_case) { "deepactif-window", H, F, T, measure(run_window_traced, &b) };

        /* Ranking a recording offline: 64 windows sliding by one frame at a
         * time, in one batch; the cost per window. */
        xs = malloc(sizeof(float) * F * (T + BENCH_BATCH));
        outs = malloc(sizeof(float) * BENCH_BATCH);
        traces = malloc(sizeof(float) * F * BENCH_BATCH);
        if (!xs || !outs || !traces)
                return -ENOMEM;
        for (unsigned i = 0; i < F * (T + BENCH_BATCH); i++)
                xs[i] = 2 * da_uniform01(&s) - 1;
        r = da_batch_new(m, BENCH_BATCH, &batch);
        if (r < 0)
                return r;
        b.batch = batch;
        b.xs = xs;
        b.outs = outs;
        b.traces = traces;
        cases[(*n)++] = (bench_case) { "lstm-recording", H, F, T, measure(run_frames, &b) / BENCH_BATCH };
        cases[(*n)++] = (bench_case) { "deepactif-recording", H, F, T, measure(run_frames_traced, &b) / BENCH_BATCH };
        da_batch_free(batch);

        b.method = DA_METHOD_IG;
        cases[(*n)++] = (bench_case) { "ig-50", H, F, T, measure(run_attribute, &b) };
        b.method = DA_METHOD_DEEPLIFT;
        cases[(*n)++] = (bench_case) { "deeplift", H, F, T, measure(run_attribute, &b) };
        return 0;
}

int verb_bench(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "quick", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        static const unsigned hidden[] = { 64, 128, 1435 };
        bench_case cases[32];
        size_t n = 0;
        bool json = false;
        cpu_set_t one;
        int c, r;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'q':
                        bench_quick = true;
                        break;
                case 'h':
                        printf(_("Usage: deepactifctl bench [--json] [--quick]\n"
                                 "Median microseconds per call, one core, random weights, 40 features.\n"
                                 "--quick runs each case once: that all run, not how fast.\n"));
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }

        /* One core, as the figures are stated per core. */
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu() >= 0 ? sched_getcpu() : 0, &one);
        (void) sched_setaffinity(0, sizeof(one), &one);

        for (size_t i = 0; i < ELEMENTSOF(hidden); i++) {
                r = bench_lstm(hidden[i], hidden[i] != 128, cases, &n);
                if (r < 0)
                        return ctl_fail(_("Failed to run the LSTM benchmark: %s"), strerror(-r));
        }
        r = bench_rolling(cases, &n);
        if (r < 0)
                return ctl_fail(_("Failed to run the rolling ranking benchmark: %s"), strerror(-r));

        if (json) {
                _cleanup_(json_object_putp) json_object *a = json_object_new_array();

                for (size_t i = 0; i < n; i++) {
                        json_object *o = json_object_new_object();

                        json_object_object_add(o, "name", json_object_new_string(cases[i].name));
                        json_object_object_add(o, "hidden", json_object_new_int((int) cases[i].hidden));
                        json_object_object_add(o, "features", json_object_new_int((int) cases[i].features));
                        json_object_object_add(o, "window", json_object_new_int((int) cases[i].window));
                        json_object_object_add(o, "us", json_object_new_double(cases[i].us));
                        json_object_array_add(a, o);
                }
                ctl_print_json(a);
                return EXIT_SUCCESS;
        }

        if (bench_quick)
                printf(_("(--quick: each case ran once; these times are not figures)\n"));
        printf("%-20s %7s %9s %7s %12s\n", _("BENCHMARK"), _("HIDDEN"), _("FEATURES"), _("WINDOW"), _("MEDIAN µs"));
        for (size_t i = 0; i < n; i++)
                printf("%-20s %7u %9u %7u %12.3f\n", cases[i].name, cases[i].hidden, cases[i].features,
                       cases[i].window, cases[i].us);
        for (size_t i = 0; i < ELEMENTSOF(hidden); i++) {
                char added[2][96];
                const bench_case *st = find_case(cases, n, "lstm-step", hidden[i]),
                                 *rd = find_case(cases, n, "weights-read", hidden[i]),
                                 *da = find_case(cases, n, "deepactif-window", hidden[i]),
                                 *fw = find_case(cases, n, "lstm-window", hidden[i]),
                                 *db = find_case(cases, n, "deepactif-recording", hidden[i]),
                                 *fb = find_case(cases, n, "lstm-recording", hidden[i]),
                                 *ig = find_case(cases, n, "ig-50", hidden[i]);

                if (st && rd && rd->us > 0)
                        printf(_("H=%u: a step multiplies %.0f KiB of weights; only reading them takes %.2f µs, "
                                 "the step %.2f µs (%.2f×)\n"),
                               hidden[i], step_weights(hidden[i]) * sizeof(float) / 1024.0, rd->us, st->us, st->us / rd->us);
                if (!da || !db || !fw || !fb || !ig)
                        continue;
                printf(_("H=%u: DeepACTIF's trace adds %s per window to the forward pass when ranking a recording, "
                         "%s for one window alone; with the forward pass included it is %.0f× and %.0f× cheaper "
                         "than IG-50\n"),
                       hidden[i], format_added(db->us - fb->us, ig->us, added[0]),
                       format_added(da->us - fw->us, ig->us, added[1]), ig->us / db->us, ig->us / da->us);
        }
        return EXIT_SUCCESS;
}
