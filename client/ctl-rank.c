/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl rank, features: rank a model's input features over a
 * recording, offline, with DeepACTIF or a reference method. */

#include <getopt.h>
#include <math.h>
#include <time.h>

#include "ctl.h"

typedef struct rank_args {
        const char *model, *input;
        da_recording_format format;
        da_method method;
        da_trace_location location;
        da_aggregation aggregation;
        unsigned steps, stride, max_windows;
        uint64_t seed;
        bool deeplift_fallback;
        bool json;
} rank_args;

/* Trace values a[n,f] of every window, grown as windows come. */
typedef struct matrix {
        float *v;
        size_t rows, cap;
        unsigned cols;
} matrix;

static int matrix_add(matrix *mx, const float *row) {
        if (mx->rows == mx->cap) {
                size_t cap = mx->cap ? mx->cap * 2 : 1024;
                float *v = realloc(mx->v, cap * mx->cols * sizeof(float));

                if (!v)
                        return -ENOMEM;
                mx->v = v;
                mx->cap = cap;
        }
        memcpy(mx->v + mx->rows * mx->cols, row, mx->cols * sizeof(float));
        mx->rows++;
        return 0;
}

static double now_s(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/* Per window, a[n,f] = |Σ_t φ[t,f]| for the reference methods. */
static int window_attribution(const da_model *m, const rank_args *a, const da_window_result *w, float *phi,
                              float *ret_row) {
        const da_arch *arch = da_model_arch(m);
        da_attr_options opt;
        da_attr_result res;
        da_error err = {};
        int r;

        da_attr_options_init(&opt);
        opt.location = a->location;
        opt.seed = a->seed;
        opt.deeplift_gradient_fallback = a->deeplift_fallback;
        if (a->steps > 0)
                opt.steps = a->steps;
        r = da_attribute(m, a->method, &opt, w->window, arch->window, phi, &res, &err);
        if (r < 0) {
                ctl_fail(_("Failed to attribute with %s: %s"), da_method_to_string(a->method),
                         err.message[0] ? err.message : strerror(-r));
                return r;
        }
        for (unsigned f = 0; f < arch->n_features; f++) {
                double s = 0;

                for (unsigned t = 0; t < arch->window; t++)
                        s += phi[(size_t) t * arch->n_features + f];
                ret_row[f] = (float) fabs(s);
        }
        return 0;
}

#define RANK_BATCH 64

/* Windows gathered for the batched forward pass: while they slide over
 * consecutive frames (the stream's valid_index advancing by the hop), only
 * their new frames are kept, and each frame's projection is made once. */
typedef struct run {
        da_batch *batch;
        float *frames;          /* up to (RANK_BATCH − 1)·hop + T rows of F */
        unsigned n_frames, n_windows, T, F, hop;
        uint64_t last_index;
        float *outs, *traces;
        da_trace_location location;
} run;

static int run_flush(run *u, matrix *mx) {
        unsigned n;
        int r;

        if (u->n_windows == 0)
                return 0;
        r = da_forward_traced_frames(u->batch, u->frames, u->n_frames, u->outs,
                                     u->location == DA_TRACE_INPUT ? u->traces : NULL,
                                     u->location == DA_TRACE_GATE ? u->traces : NULL, &n);
        for (unsigned w = 0; r >= 0 && w < n; w++)
                r = matrix_add(mx, u->traces + (size_t) w * u->F);
        u->n_frames = u->n_windows = 0;
        return r;
}

static int run_add(run *u, const da_window_result *w, matrix *mx) {
        int r;

        if (u->n_windows > 0 && (w->valid_index != u->last_index + u->hop || u->n_windows == RANK_BATCH)) {
                r = run_flush(u, mx);
                if (r < 0)
                        return r;
        }
        if (u->n_windows == 0) {
                memcpy(u->frames, w->window, sizeof(float) * u->T * u->F);
                u->n_frames = u->T;
        } else {
                memcpy(u->frames + (size_t) u->n_frames * u->F, w->window + (size_t) (u->T - u->hop) * u->F,
                       sizeof(float) * u->hop * u->F);
                u->n_frames += u->hop;
        }
        u->n_windows++;
        u->last_index = w->valid_index;
        return 0;
}

static int collect(const da_model *m, const rank_args *a, matrix *mx) {
        _cleanup_(da_reader_freep) da_reader *rd = NULL;
        _cleanup_free_ float *phi = NULL, *row = NULL, *frames = NULL, *outs = NULL, *traces = NULL;
        da_stream *st = NULL;
        run u = {};
        unsigned TF;
        const da_arch *arch = da_model_arch(m);
        da_error err = {};
        da_frame fr;
        uint64_t seen = 0;
        int r;

        r = da_reader_open(a->input, a->format, &rd, &err);
        if (r < 0)
                return ctl_fail(_("Failed to open recording '%s': %s"), a->input,
                                err.message[0] ? err.message : strerror(-r)), r;
        r = da_stream_new(m, a->location, &st, &err);
        if (r < 0)
                return ctl_fail(_("Failed to bind model '%s' to the recording: %s"), a->model,
                                err.message[0] ? err.message : strerror(-r)), r;
        TF = arch->window * arch->n_features;
        phi = malloc(sizeof(float) * TF);
        row = malloc(sizeof(float) * arch->n_features);
        frames = malloc(sizeof(float) * ((RANK_BATCH - 1) * arch->hop + arch->window) * arch->n_features);
        outs = malloc(sizeof(float) * arch->outputs * RANK_BATCH);
        traces = malloc(sizeof(float) * arch->n_features * RANK_BATCH);
        if (!phi || !row || !frames || !outs || !traces) {
                r = -ENOMEM;
                goto finish;
        }
        if (a->method == DA_METHOD_DEEPACTIF) {
                u = (run) {
                        .frames = frames, .outs = outs, .traces = traces, .location = a->location,
                        .T = arch->window, .F = arch->n_features,
                        /* with a stride, windows no longer overlap: each is its own run */
                        .hop = a->stride == 1 ? arch->hop : 0,
                };
                r = da_batch_new(m, RANK_BATCH, &u.batch);
                if (r < 0)
                        goto finish;
                da_stream_set_windows_only(st, true);
        }

        while ((r = da_reader_next(rd, &fr, &err)) > 0) {
                da_window_result w;

                r = da_stream_push(st, &fr, &w);
                if (r < 0)
                        break;
                if (r == 0 || seen++ % a->stride != 0)
                        continue;
                if (a->method == DA_METHOD_DEEPACTIF)
                        r = run_add(&u, &w, mx);
                else {
                        r = window_attribution(m, a, &w, phi, row);
                        if (r >= 0)
                                r = matrix_add(mx, row);
                }
                if (r < 0)
                        break;
                if (a->max_windows > 0 && mx->rows + u.n_windows >= a->max_windows)
                        break;
        }
        if (r >= 0)
                r = run_flush(&u, mx);
        if (r < 0 && err.message[0])
                ctl_fail(_("Failed to read recording '%s': %s"), a->input, err.message);
        else if (r < 0 && r != -EINVAL)
                ctl_fail(_("Failed to rank '%s': %s"), a->input, strerror(-r));
finish:
        da_batch_free(u.batch);
        da_stream_free(st);
        return r < 0 ? r : 0;
}

static int rank(const rank_args *a) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_free_ double *scores = NULL;
        _cleanup_free_ unsigned *order = NULL;
        matrix mx = {};
        unsigned F;
        double t0, cost;
        int r, ret = EXIT_FAILURE;

        if (ctl_load_model(a->model, &m) < 0)
                return EXIT_FAILURE;
        F = da_model_arch(m)->n_features;
        mx.cols = F;
        scores = calloc(F, sizeof(double));
        order = calloc(F, sizeof(unsigned));
        if (!scores || !order)
                return ctl_fail("%s", strerror(ENOMEM));

        t0 = now_s();
        if (collect(m, a, &mx) < 0)
                goto finish;
        if (mx.rows == 0) {
                ctl_fail(_("Recording '%s' yields no complete window for this model (window %u frames)"),
                         a->input, da_model_arch(m)->window);
                goto finish;
        }
        r = da_aggregate(mx.v, mx.rows, F, a->aggregation, scores);
        if (r >= 0)
                r = da_ranking(scores, F, order);
        if (r < 0) {
                ctl_fail(_("Failed to aggregate %zu windows: %s"), mx.rows, strerror(-r));
                goto finish;
        }
        cost = now_s() - t0;

        if (a->json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object *list = json_object_new_array();

                json_object_object_add(o, "method", json_object_new_string(da_method_to_string(a->method)));
                json_object_object_add(o, "location", a->method == DA_METHOD_DEEPACTIF ?
                                       json_object_new_string(da_trace_location_to_string(a->location)) : NULL);
                json_object_object_add(o, "aggregation", json_object_new_string(da_aggregation_to_string(a->aggregation)));
                json_object_object_add(o, "windows", json_object_new_int64((int64_t) mx.rows));
                json_object_object_add(o, "seconds", json_object_new_double(cost));
                for (unsigned k = 0; k < F; k++) {
                        json_object *e = json_object_new_object();

                        json_object_object_add(e, "feature", json_object_new_string(da_model_feature(m, order[k])));
                        json_object_object_add(e, "score", json_object_new_double(scores[order[k]]));
                        json_object_object_add(e, "rank", json_object_new_int((int) k + 1));
                        json_object_array_add(list, e);
                }
                json_object_object_add(o, "ranking", list);
                ctl_print_json(o);
        } else {
                double hi = scores[order[0]], lo = scores[order[F - 1]];

                printf(_("%s ranking (%s%s%s aggregation) over %zu windows of '%s', %.3f s\n"),
                       da_method_to_string(a->method),
                       a->method == DA_METHOD_DEEPACTIF ? da_trace_location_to_string(a->location) : "",
                       a->method == DA_METHOD_DEEPACTIF ? ", " : "",
                       da_aggregation_to_string(a->aggregation), mx.rows, a->input, cost);
                for (unsigned k = 0; k < F; k++) {
                        /* bars span lowest to highest score, as deepactifctl top draws them */
                        int bar = hi > lo ? 1 + (int) lround(29.0 * (scores[order[k]] - lo) / (hi - lo)) : 1;

                        printf("%4u  %-36s %10.6f  %.*s\n", k + 1, da_model_feature(m, order[k]), scores[order[k]],
                               bar * 3, "████████████████████████████████████████████████████████████████████████████████████████████");
                }
        }
        ret = EXIT_SUCCESS;
finish:
        free(mx.v);
        return ret;
}

static void rank_help(void) {
        printf(_("Usage: deepactifctl rank --model FILE --input RECORDING [OPTIONS]\n"
                 "\n"
                 "Rank the model's input features over the windows of a recording.\n"
                 "\n"
                 "  --model FILE             Model file (safetensors with deepactif metadata)\n"
                 "  --input RECORDING        Robust Vision TSV, Tobii CSV or EyeLink ASC (.gz too)\n"
                 "  --format FORMAT          auto, robustvision, tobii, eyelink (default: auto)\n"
                 "  --method METHOD          deepactif, ig, deeplift, gradshap, kernelshap, ablation,\n"
                 "                           neflag (default: deepactif)\n"
                 "  --location LOCATION      DeepACTIF trace: input or gate (default: gate)\n"
                 "  --aggregation AGG        mean, meanstd, inv, pen (default: inv)\n"
                 "  --steps N                Integrated Gradients steps (default: 50)\n"
                 "  --stride N               Use every Nth window (default: 1)\n"
                 "  --max-windows N          Stop after N windows (default: all)\n"
                 "  --seed N                 Seed of the sampling methods (default: 0)\n"
                 "  --deeplift-gradient-fallback\n"
                 "                           Captum's gradient×Δx inside the LSTM instead of DeepLIFT's rules\n"
                 "  --json                   Print JSON\n"));
}

int verb_rank(int argc, char **argv) {
        enum { ARG_FORMAT = 0x100, ARG_LOCATION, ARG_AGG, ARG_STEPS, ARG_STRIDE, ARG_MAXW, ARG_SEED, ARG_FALLBACK };
        static const struct option options[] = {
                { "model",       required_argument, NULL, 'm' },
                { "input",       required_argument, NULL, 'i' },
                { "format",      required_argument, NULL, ARG_FORMAT },
                { "method",      required_argument, NULL, 'M' },
                { "location",    required_argument, NULL, ARG_LOCATION },
                { "aggregation", required_argument, NULL, ARG_AGG },
                { "steps",       required_argument, NULL, ARG_STEPS },
                { "stride",      required_argument, NULL, ARG_STRIDE },
                { "max-windows", required_argument, NULL, ARG_MAXW },
                { "seed",        required_argument, NULL, ARG_SEED },
                { "deeplift-gradient-fallback", no_argument, NULL, ARG_FALLBACK },
                { "json",        no_argument,       NULL, 'j' },
                { "help",        no_argument,       NULL, 'h' },
                {}
        };
        rank_args a = {
                .format = DA_REC_AUTO,
                .method = DA_METHOD_DEEPACTIF,
                .location = DA_TRACE_GATE,
                .aggregation = DA_AGG_DEFAULT,
                .stride = 1,
        };
        int c, v;

        while ((c = getopt_long(argc, argv, "m:i:M:h", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        a.model = optarg;
                        break;
                case 'i':
                        a.input = optarg;
                        break;
                case ARG_FORMAT:
                        if ((v = da_recording_format_from_string(optarg)) < 0)
                                return ctl_fail(_("Unknown recording format '%s'"), optarg);
                        a.format = v;
                        break;
                case 'M':
                        if ((v = da_method_from_string(optarg)) < 0)
                                return ctl_fail(_("Unknown method '%s'; one of deepactif, ig, deeplift, gradshap, "
                                                  "kernelshap, ablation, neflag"), optarg);
                        a.method = v;
                        break;
                case ARG_LOCATION:
                        if ((v = da_trace_location_from_string(optarg)) < 0)
                                return ctl_fail(_("Unknown trace location '%s'; one of input, gate"), optarg);
                        a.location = v;
                        break;
                case ARG_AGG:
                        if ((v = da_aggregation_from_string(optarg)) < 0)
                                return ctl_fail(_("Unknown aggregation '%s'; one of mean, meanstd, inv, pen"), optarg);
                        a.aggregation = v;
                        break;
                case ARG_STEPS:
                case ARG_STRIDE:
                case ARG_MAXW: {
                        char *end;
                        unsigned long n = strtoul(optarg, &end, 10);

                        if (*optarg == '\0' || *end != '\0' || n == 0 || n > 1000000000)
                                return ctl_fail(_("--%s needs a positive integer, got '%s'"),
                                                c == ARG_STEPS ? "steps" : c == ARG_STRIDE ? "stride" : "max-windows", optarg);
                        if (c == ARG_STEPS)
                                a.steps = (unsigned) n;
                        else if (c == ARG_STRIDE)
                                a.stride = (unsigned) n;
                        else
                                a.max_windows = (unsigned) n;
                        break;
                }
                case ARG_SEED:
                        a.seed = strtoull(optarg, NULL, 0);
                        break;
                case ARG_FALLBACK:
                        a.deeplift_fallback = true;
                        break;
                case 'j':
                        a.json = true;
                        break;
                case 'h':
                        rank_help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (!a.model || !a.input)
                return ctl_fail(_("rank needs --model FILE and --input RECORDING"));
        return rank(&a);
}

int verb_features(int argc, char **argv) {
        static const struct option options[] = {
                { "json", no_argument, NULL, 'j' },
                { "help", no_argument, NULL, 'h' },
                {}
        };
        bool json = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf(_("Usage: deepactifctl features [--json]\n"
                                 "List the derived features, in the order models use them.\n"));
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }

        _cleanup_(json_object_putp) json_object *list = json ? json_object_new_array() : NULL;
        for (unsigned i = 0; i < da_feature_count(); i++) {
                const da_feature_info *fi = da_feature_get(i);
                da_channel ch[_DA_CH_MAX];
                int n = da_feature_channels(i, ch, ELEMENTSOF(ch));

                if (json) {
                        json_object *e = json_object_new_object(), *cl = json_object_new_array();

                        json_object_object_add(e, "name", json_object_new_string(fi->name));
                        json_object_object_add(e, "unit", json_object_new_string(fi->unit));
                        json_object_object_add(e, "description", json_object_new_string(fi->description));
                        for (int k = 0; k < n; k++)
                                json_object_array_add(cl, json_object_new_string(da_channel_name(ch[k])));
                        json_object_object_add(e, "channels", cl);
                        json_object_array_add(list, e);
                } else {
                        printf("%3u  %-36s %-8s ", i + 1, fi->name, fi->unit);
                        for (int k = 0; k < n; k++)
                                printf("%s%s", k ? "," : "", da_channel_name(ch[k]));
                        putchar('\n');
                }
        }
        if (json)
                ctl_print_json(list);
        return EXIT_SUCCESS;
}
