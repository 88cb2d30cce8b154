/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl bench: median wall time of the library's kernels, of one
 * window's attribution by each method and of the daemon's rolling ranking,
 * on one core; and one training epoch of the FOVAL model on a fixed
 * synthetic set (contrib/bench-train-torch.py times the same in PyTorch). */

#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <time.h>

#include "ctl.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_dataset *, da_dataset_free);

typedef struct bench_case {
        const char *name;
        unsigned hidden, features, window;
        da_precision precision;         /* of the LSTM weights */
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

/* The bytes they take at a precision, i8 with its float scale per row. */
static size_t step_bytes(unsigned H, da_precision p) {
        return step_weights(H) * da_precision_bytes(p) + (p == DA_PRECISION_I8 ? 2 * 4 * H * sizeof(float) : 0);
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

/* One frame through per-user scaling: the online median/IQR update and the
 * scaling of the row, as da_stream does it for a per-user model. */
typedef struct scaler_bench {
        da_user_scaler *u;
        float *rows;            /* SCALER_ROWS × F, cycled */
        float *row;
        unsigned i;
} scaler_bench;

#define SCALER_ROWS 1024u
#define SCALER_WARMUP 100u

static void run_user_scaler(void *userdata) {
        scaler_bench *b = userdata;

        memcpy(b->row, b->rows + (size_t) (b->i++ % SCALER_ROWS) * BENCH_FEATURES, BENCH_FEATURES * sizeof(float));
        (void) da_user_scaler_push(b->u, b->row);
        da_user_scaler_apply(b->u, b->row);
}

/* Past the warm-up and the re-centrings, which a long-running device has
 * behind it: the steady per-frame cost. */
static int measure_user_scaler(double *ret_us) {
        _cleanup_free_ float *rows = malloc(sizeof(float) * SCALER_ROWS * BENCH_FEATURES);
        float row[BENCH_FEATURES];
        scaler_bench b = { .rows = rows, .row = row };
        uint64_t s = 7;
        int r;

        if (!rows)
                return -ENOMEM;
        for (unsigned i = 0; i < SCALER_ROWS * BENCH_FEATURES; i++)
                rows[i] = (float) (da_uniform01(&s) + da_uniform01(&s) + (i % BENCH_FEATURES));
        r = da_user_scaler_new(BENCH_FEATURES, SCALER_WARMUP, &b.u);
        if (r < 0)
                return r;
        for (unsigned i = 0; i < 128 * SCALER_WARMUP; i++)
                run_user_scaler(&b);
        *ret_us = measure(run_user_scaler, &b);
        da_user_scaler_free(b.u);
        return 0;
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

static double measure_read(size_t bytes) {
        _cleanup_free_ float *data = NULL;
        size_t n_floats = (bytes / sizeof(float) + 63) / 64 * 64;
        read_bench rb;
        bench_fn fn = run_read;

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

static const bench_case *find_case(const bench_case *cases, size_t n, const char *name, unsigned hidden,
                                   da_precision p) {
        for (size_t i = 0; i < n; i++)
                if (streq(cases[i].name, name) && cases[i].hidden == hidden && cases[i].precision == p)
                        return &cases[i];
        return NULL;
}

/* ---- the core's float32 multiply-add peak ---- */

/* PEAK_FMAS multiply-adds per call in independent chains (enough of them to
 * cover the latency of the FMA pipes), nothing else: the ceiling any product
 * of the trainer or IG can reach on this core, in the widest vectors it has. */
#define PEAK_FMAS (1u << 20)

static volatile float peak_sink;

#define DEFINE_PEAK(name, target, lanes, chains)                                        \
        static target void name(void *userdata) {                                       \
                typedef float vt __attribute__((vector_size((lanes) * sizeof(float)))); \
                vt a = (vt) {} + 0.5f, b = (vt) {} + 0.999f, c[chains];                 \
                float sum = 0;                                                          \
                                                                                        \
                for (unsigned k = 0; k < (chains); k++)                                 \
                        c[k] = a + (float) k;                                           \
                for (unsigned i = 0; i < PEAK_FMAS / ((lanes) * (chains)); i++)         \
                        _Pragma("GCC unroll 16")                                        \
                        for (unsigned k = 0; k < (chains); k++)                         \
                                c[k] = c[k] * b + a;                                    \
                for (unsigned k = 0; k < (chains); k++)                                 \
                        for (unsigned l = 0; l < (lanes); l++)                          \
                                sum += c[k][l];                                         \
                peak_sink = sum;                                                        \
        }

#if defined(__x86_64__) || defined(__i386__)
DEFINE_PEAK(fma_avx512, __attribute__((target("avx512f"))), 16, 16)
DEFINE_PEAK(fma_avx2, __attribute__((target("avx2,fma"))), 8, 8)
#endif
DEFINE_PEAK(fma_baseline, , 4, 8)

static void bench_peak(bench_case *cases, size_t *n) {
        bench_fn fn = fma_baseline;

#if defined(__x86_64__) || defined(__i386__)
        __builtin_cpu_init();
        if (__builtin_cpu_supports("avx512f"))
                fn = fma_avx512;
        else if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
                fn = fma_avx2;
#endif
        cases[(*n)++] = (bench_case) { "fma-peak", 0, 0, 0, DA_PRECISION_F32, measure(fn, NULL) };
}

/* ---- one training epoch ---- */

/* The synthetic set: a binocular recording at 100 Hz whose gaze converges
 * on a target drifting between 0.4 and 2.6 m, with noise; the Robust Vision
 * features (38) over windows of BENCH_WINDOW frames sliding by one. */
static const char train_column_map[] =
        "time=t:ms,target.depth=depth,"
        "eye.right.direction.x=rdx,eye.right.direction.y=rdy,eye.right.direction.z=rdz,"
        "eye.left.direction.x=ldx,eye.left.direction.y=ldy,eye.left.direction.z=ldz,"
        "eye.right.origin.x=rox,eye.right.origin.z=roz,eye.left.origin.x=lox,eye.left.origin.z=loz";

static int write_train_set(const char *path, unsigned frames) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");
        uint64_t s = 7;

        if (!f)
                return -errno;
        fputs("t\tdepth\trdx\trdy\trdz\tldx\tldy\tldz\trox\troz\tlox\tloz\n", f);
        for (unsigned n = 0; n < frames; n++) {
                double depth = 1.5 + 1.1 * sin(n / 60.0), ipd = 0.063, gx = 0.1 * sin(n / 37.0),
                       gy = 0.05 * cos(n / 23.0), e[2];

                for (unsigned k = 0; k < 2; k++)
                        e[k] = 0.004 * (da_uniform01(&s) - 0.5);
                /* each eye's direction towards the target point, normalised */
                double rx = gx - ipd / 2 + e[0], lx = gx + ipd / 2 + e[1], rn = sqrt(rx * rx + gy * gy + depth * depth),
                       ln = sqrt(lx * lx + gy * gy + depth * depth);

                fprintf(f, "%u\t%.4f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.6f\t%.4f\t0\t%.4f\t0\n", n * 10, depth,
                        -rx / rn, gy / rn, depth / rn, -lx / ln, gy / ln, depth / ln, ipd / 2, -ipd / 2);
        }
        return fflush(f) == 0 && !ferror(f) ? 0 : -EIO;
}

/* Epochs timed after the first (which is not, so setup is not counted);
 * the median is reported, as a shared core makes single epochs noisy.
 * contrib/bench-train-torch.py does the same. */
#define TRAIN_EPOCHS 5u

typedef struct epoch_clock {
        double t[TRAIN_EPOCHS + 1];
        unsigned n;
} epoch_clock;

static void epoch_done(unsigned epoch, unsigned epochs, double train_loss, double val_mae, void *userdata) {
        epoch_clock *c = userdata;

        if (c->n < ELEMENTSOF(c->t))
                c->t[c->n++] = now_us();
}

/* The median epoch of TRAIN_EPOCHS over `windows` windows of the synthetic
 * set, minibatches of 64, one thread, no validation; µs per window. With
 * --quick, one epoch after the first. */
static int bench_train(const da_dataset *ds, unsigned H, da_precision p, double *ret_us, da_error *err) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        const unsigned subject = 0;
        unsigned timed = bench_quick ? 1 : TRAIN_EPOCHS;
        double dt[TRAIN_EPOCHS];
        da_train_options o;
        epoch_clock c = {};
        int r;

        da_train_options_init(&o);
        o.hidden = H;
        o.epochs = 1 + timed;
        o.patience = 0;
        o.val_fraction = 0;
        o.threads = 1;
        o.precision = p;
        o.progress = epoch_done;
        o.userdata = &c;
        r = da_train(ds, &subject, 1, &o, &m, err);
        if (r < 0)
                return r;
        if (c.n < 1 + timed)
                return -EIO;
        for (unsigned i = 0; i < timed; i++)
                dt[i] = c.t[i + 1] - c.t[i];
        qsort(dt, timed, sizeof(double), cmp_double);
        *ret_us = dt[timed / 2] / (double) da_dataset_n_windows(ds, 0);
        return 0;
}

static int bench_training(bench_case *cases, size_t *n) {
        static const struct {
                unsigned hidden, windows;
        } sizes[] = { { 32, 1024 }, { 64, 1024 }, { 1435, 64 } };
        char dir[] = "/tmp/deepactif-bench.XXXXXX", path[64];
        da_dataset_options dopt;
        int r = 0;

        if (!mkdtemp(dir))
                return -errno;
        snprintf(path, sizeof(path), "%s/train.tsv", dir);
        for (size_t i = 0; r >= 0 && i < ELEMENTSOF(sizes); i++) {
                _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
                const char *paths[1] = { path };
                da_error err = {};
                double us;

                da_dataset_options_init(&dopt);
                dopt.column_map = train_column_map;
                dopt.window = BENCH_WINDOW;
                /* two more frames: the derived velocity and acceleration need them */
                r = write_train_set(path, sizes[i].windows + BENCH_WINDOW + 1);
                if (r >= 0)
                        r = da_dataset_load(paths, 1, &dopt, &ds, &err);
                /* the products at float32, then at bf16 with float32 sums */
                for (da_precision p = DA_PRECISION_F32; r >= 0 && p <= DA_PRECISION_BF16; p++) {
                        r = bench_train(ds, sizes[i].hidden, p, &us, &err);
                        if (r < 0 && err.message[0])
                                ctl_fail(_("Training benchmark at H=%u: %s"), sizes[i].hidden, err.message);
                        if (r >= 0)
                                cases[(*n)++] = (bench_case) { "train-window", sizes[i].hidden,
                                                               da_dataset_n_features(ds), BENCH_WINDOW, p, us };
                }
        }
        (void) unlink(path);
        (void) rmdir(dir);
        return r;
}

/* The streaming step with the weights stored at a reduced precision, and
 * reading as many bytes as those take. */
static int bench_step_reduced(const da_arch *arch, da_precision p, const float *x, bench_case *cases, size_t *n) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        unsigned H = arch->hidden;
        lstm_bench b;
        int r;

        r = da_model_new_random(arch, 1, &m);
        if (r < 0)
                return r;
        r = da_model_set_precision(m, p);
        if (r < 0)
                return r;
        r = da_ctx_new(m, arch->window, &ctx);
        if (r < 0)
                return r;
        b = (lstm_bench) { .m = m, .ctx = ctx, .x = (float *) x, .T = arch->window };
        cases[(*n)++] = (bench_case) { "lstm-step", H, arch->n_features, arch->window, p, measure(run_step, &b) };
        cases[(*n)++] = (bench_case) { "weights-read", H, arch->n_features, arch->window, p,
                                       measure_read(step_bytes(H, p)) };
        return 0;
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
                                       DA_PRECISION_F32, measure(run_rolling_push, &b) };
        cases[(*n)++] = (bench_case) { "rolling-scores", 0, BENCH_FEATURES, BENCH_ROLLING_WINDOWS,
                                       DA_PRECISION_F32, measure(run_rolling_scores, &b) };
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
        cases[(*n)++] = (bench_case) { "lstm-step", H, F, T, DA_PRECISION_F32, measure(run_step, &b) };
        r = measure_user_scaler(&cases[*n].us);
        if (r < 0)
                return r;
        cases[*n] = (bench_case) { "user-scaler", H, F, T, DA_PRECISION_F32, cases[*n].us };
        (*n)++;
        cases[(*n)++] = (bench_case) { "weights-read", H, F, T, DA_PRECISION_F32,
                                       measure_read(step_bytes(H, DA_PRECISION_F32)) };
        for (da_precision p = DA_PRECISION_F32 + 1; p < _DA_PRECISION_MAX; p++) {
                r = bench_step_reduced(&arch, p, x, cases, n);
                if (r < 0)
                        return r;
        }
        cases[(*n)++] = (bench_case) { "lstm-window", H, F, T, DA_PRECISION_F32, measure(run_window, &b) };
        if (!attribute)
                return 0;

        cases[(*n)++] = (bench_case) { "deepactif-window", H, F, T, DA_PRECISION_F32, measure(run_window_traced, &b) };

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
        cases[(*n)++] = (bench_case) { "lstm-recording", H, F, T, DA_PRECISION_F32,
                                       measure(run_frames, &b) / BENCH_BATCH };
        cases[(*n)++] = (bench_case) { "deepactif-recording", H, F, T, DA_PRECISION_F32,
                                       measure(run_frames_traced, &b) / BENCH_BATCH };
        da_batch_free(batch);

        b.method = DA_METHOD_IG;
        cases[(*n)++] = (bench_case) { "ig-50", H, F, T, DA_PRECISION_F32, measure(run_attribute, &b) };
        b.method = DA_METHOD_DEEPLIFT;
        cases[(*n)++] = (bench_case) { "deeplift", H, F, T, DA_PRECISION_F32, measure(run_attribute, &b) };
        return 0;
}

typedef struct health_bench {
        da_health *h;
        da_frame frames[64];
        float features[64][DA_FEATURES_ROBUSTVISION];
        unsigned i;
} health_bench;

static void run_health(void *userdata) {
        health_bench *b = userdata;
        unsigned k = b->i++ % ELEMENTSOF(b->frames);

        /* Stream time must not go back, or the detector starts afresh. */
        b->frames[k].time_us += 2500 * ELEMENTSOF(b->frames);
        da_health_push(b->h, &b->frames[k], b->features[k], NULL, NULL);
}

/* The input-health checks on every frame of the Robust Vision feature set:
 * frozen and missing per channel, training range per input. */
static int bench_health(bench_case *cases, size_t *n) {
        const unsigned F = DA_FEATURES_ROBUSTVISION;
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_free_ health_bench *b = NULL;
        const char *names[DA_FEATURES_ROBUSTVISION];
        float med[DA_FEATURES_ROBUSTVISION], iqr[DA_FEATURES_ROBUSTVISION];
        da_arch arch = {
                .n_features = F, .hidden = 8, .layers = 1, .pooling = DA_POOL_LAST,
                .outputs = 1, .window = BENCH_WINDOW, .hop = 1,
        };
        da_health_options o;
        uint64_t s = 7;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        for (unsigned f = 0; f < F; f++) {
                names[f] = da_feature_get(f)->name;
                med[f] = 0;
                iqr[f] = 1;
        }
        r = da_model_new_random(&arch, 1, &m);
        if (r >= 0)
                r = da_model_set_features(m, names, F);
        if (r >= 0)
                r = da_model_set_scaler(m, med, iqr);
        if (r < 0)
                return r;
        da_health_options_init(&o);
        r = da_health_new(m, &o, &b->h);
        if (r < 0)
                return r;
        for (unsigned k = 0; k < ELEMENTSOF(b->frames); k++) {
                da_frame_init(&b->frames[k], (uint64_t) k * 2500);
                for (unsigned c = 0; c < _DA_CH_MAX; c++)
                        b->frames[k].ch[c] = da_uniform01(&s);
                for (unsigned f = 0; f < F; f++)
                        b->features[k][f] = 2 * da_uniform01(&s) - 1;
        }
        cases[(*n)++] = (bench_case) { "input-health", 0, F, 1, DA_PRECISION_F32, measure(run_health, b) };
        da_health_free(b->h);
        return 0;
}

static void print_health_summary(const bench_case *cases, size_t n) {
        const bench_case *hb = find_case(cases, n, "input-health", 0, DA_PRECISION_F32),
                         *st = find_case(cases, n, "lstm-step", 64, DA_PRECISION_F32);

        if (hb && st)
                printf(_("Input health costs %.3f µs per frame for %u inputs, %.1f%% of an H=64 step\n"), hb->us,
                       hb->features, 100 * hb->us / st->us);
}

int verb_bench(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "quick", no_argument, NULL, 'q' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        static const unsigned hidden[] = { 64, 128, 1435 };
        bench_case cases[96];
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
                                 "Median microseconds per call, one core, random weights, 40 features;\n"
                                 "train-window: one training epoch of the FOVAL model (38 features, batch 64,\n"
                                 "AdamW) on a synthetic recording, per window.\n"
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
        bench_peak(cases, &n);
        r = bench_training(cases, &n);
        if (r < 0)
                return ctl_fail(_("Failed to run the training benchmark: %s"), strerror(-r));

        r = bench_health(cases, &n);
        if (r < 0)
                return ctl_fail(_("Failed to run the input-health benchmark: %s"), strerror(-r));

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
                        json_object_object_add(o, "precision",
                                               json_object_new_string(da_precision_to_string(cases[i].precision)));
                        json_object_object_add(o, "us", json_object_new_double(cases[i].us));
                        json_object_array_add(a, o);
                }
                ctl_print_json(a);
                return EXIT_SUCCESS;
        }

        if (bench_quick)
                printf(_("(--quick: each case ran once; these times are not figures)\n"));
        printf("%-20s %7s %9s %7s %9s %12s\n", _("BENCHMARK"), _("HIDDEN"), _("FEATURES"), _("WINDOW"),
               _("PRECISION"), _("MEDIAN µs"));
        for (size_t i = 0; i < n; i++)
                printf("%-20s %7u %9u %7u %9s %12.3f\n", cases[i].name, cases[i].hidden, cases[i].features,
                       cases[i].window, da_precision_to_string(cases[i].precision), cases[i].us);
        for (size_t i = 0; i < ELEMENTSOF(hidden); i++) {
                char added[2][96];
                const bench_case *st = find_case(cases, n, "lstm-step", hidden[i], DA_PRECISION_F32),
                                 *us = find_case(cases, n, "user-scaler", hidden[i], DA_PRECISION_F32),
                                 *da = find_case(cases, n, "deepactif-window", hidden[i], DA_PRECISION_F32),
                                 *fw = find_case(cases, n, "lstm-window", hidden[i], DA_PRECISION_F32),
                                 *db = find_case(cases, n, "deepactif-recording", hidden[i], DA_PRECISION_F32),
                                 *fb = find_case(cases, n, "lstm-recording", hidden[i], DA_PRECISION_F32),
                                 *ig = find_case(cases, n, "ig-50", hidden[i], DA_PRECISION_F32);

                for (da_precision p = 0; p < _DA_PRECISION_MAX; p++) {
                        const bench_case *sp = find_case(cases, n, "lstm-step", hidden[i], p),
                                         *rd = find_case(cases, n, "weights-read", hidden[i], p);

                        if (sp && rd && rd->us > 0)
                                printf(_("H=%u, %s: a step multiplies %.0f KiB of weights; only reading them takes "
                                         "%.2f µs, the step %.2f µs (%.2f×)\n"),
                                       hidden[i], da_precision_to_string(p), step_bytes(hidden[i], p) / 1024.0,
                                       rd->us, sp->us, sp->us / rd->us);
                }
                if (st && us)
                        printf(_("H=%u: per-user scaling (online median/IQR of %u features) adds %.2f µs per frame to "
                                 "the step's %.2f µs\n"),
                               hidden[i], us->features, us->us, st->us);
                if (!da || !db || !fw || !fb || !ig)
                        continue;
                printf(_("H=%u: DeepACTIF's trace adds %s per window to the forward pass when ranking a recording, "
                         "%s for one window alone; with the forward pass included it is %.0f× and %.0f× cheaper "
                         "than IG-50\n"),
                       hidden[i], format_added(db->us - fb->us, ig->us, added[0]),
                       format_added(da->us - fw->us, ig->us, added[1]), ig->us / db->us, ig->us / da->us);
        }
        print_health_summary(cases, n);
        for (size_t i = 0; i < n; i++)
                if (streq(cases[i].name, "train-window"))
                        printf(_("H=%u: one training epoch of the FOVAL model takes %.1f µs per window, %.2f s "
                                 "for 10,000 windows\n"), cases[i].hidden, cases[i].us, cases[i].us * 1e4 / 1e6);
        return EXIT_SUCCESS;
}
