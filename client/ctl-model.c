/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl model info, convert, predict: local commands on a model file. */

#include <getopt.h>

#include "ctl.h"

/* Features in reference order, or NULL (JSON null) without one. */
static json_object *reference_json(const da_model *m) {
        unsigned F = da_model_arch(m)->n_features;
        _cleanup_free_ unsigned *order = NULL;
        da_reference_ranking ref;
        json_object *o, *a;

        order = calloc(F, sizeof(unsigned));
        if (!order || da_model_reference_ranking(m, &ref) < 0 || da_ranking(ref.scores, F, order) < 0)
                return NULL;
        o = json_object_new_object();
        a = json_object_new_array();
        json_object_object_add(o, "location", json_object_new_string(da_trace_location_to_string(ref.location)));
        json_object_object_add(o, "aggregation", json_object_new_string(da_aggregation_to_string(ref.aggregation)));
        json_object_object_add(o, "windows", json_object_new_int64((int64_t) ref.windows));
        for (unsigned k = 0; k < F; k++) {
                json_object *e = json_object_new_object();

                json_object_object_add(e, "rank", json_object_new_int((int) k + 1));
                json_object_object_add(e, "feature", json_object_new_string(da_model_feature(m, order[k])));
                json_object_object_add(e, "score", json_object_new_double(ref.scores[order[k]]));
                json_object_array_add(a, e);
        }
        json_object_object_add(o, "ranking", a);
        return o;
}

static json_object *model_json(const da_model *m, const char *path) {
        const da_arch *a = da_model_arch(m);
        json_object *o = json_object_new_object(), *arch = json_object_new_object(), *feat = json_object_new_array();
        const float *med = da_model_scaler_median(m), *iqr = da_model_scaler_iqr(m);

        json_object_object_add(o, "file", json_object_new_string(path));
        json_object_object_add(arch, "input_size", json_object_new_int((int) a->n_features));
        json_object_object_add(arch, "hidden_size", json_object_new_int((int) a->hidden));
        json_object_object_add(arch, "num_layers", json_object_new_int((int) a->layers));
        json_object_object_add(arch, "batchnorm", json_object_new_boolean(a->batchnorm));
        json_object_object_add(arch, "pooling", json_object_new_string(da_pooling_to_string(a->pooling)));
        json_object_object_add(arch, "dense", json_object_new_int((int) a->dense));
        json_object_object_add(arch, "activation", json_object_new_string(da_activation_to_string(a->activation)));
        json_object_object_add(arch, "outputs", json_object_new_int((int) a->outputs));
        json_object_object_add(o, "architecture", arch);
        json_object_object_add(o, "window", json_object_new_int((int) a->window));
        json_object_object_add(o, "hop", json_object_new_int((int) a->hop));
        json_object_object_add(o, "task", json_object_new_string(
                        da_model_task(m) == DA_TASK_CLASSIFICATION ? "classification" : "regression"));
        if (da_model_unit(m))
                json_object_object_add(o, "unit", json_object_new_string(da_model_unit(m)));
        json_object_object_add(o, "parameters", json_object_new_int64((int64_t) da_model_n_parameters(m)));
        {
                unsigned warmup;
                da_scaling sc = da_model_scaling(m, &warmup);
                json_object *s = json_object_new_object();

                json_object_object_add(s, "type", json_object_new_string(da_scaling_to_string(sc)));
                if (sc == DA_SCALING_PER_USER)
                        json_object_object_add(s, "warmup", json_object_new_int64(warmup));
                json_object_object_add(o, "scaling", s);
        }
        json_object_object_add(o, "precision", json_object_new_string(da_precision_to_string(da_model_precision(m))));
        for (unsigned f = 0; f < a->n_features; f++) {
                json_object *e = json_object_new_object();

                json_object_object_add(e, "name", json_object_new_string(da_model_feature(m, f)));
                if (med) {
                        json_object_object_add(e, "median", json_object_new_double(med[f]));
                        json_object_object_add(e, "iqr", json_object_new_double(iqr[f]));
                }
                json_object_array_add(feat, e);
        }
        json_object_object_add(o, "features", feat);
        json_object_object_add(o, "reference_ranking", reference_json(m));
        return o;
}

static int print_reference(const da_model *m) {
        unsigned F = da_model_arch(m)->n_features;
        _cleanup_free_ unsigned *order = NULL;
        da_reference_ranking ref;

        if (da_model_reference_ranking(m, &ref) < 0) {
                printf(_("Reference:    none (the daemon falls back to each device's own ranking after warm-up)\n"));
                return EXIT_SUCCESS;
        }
        order = calloc(F, sizeof(unsigned));
        if (!order || da_ranking(ref.scores, F, order) < 0)
                return ctl_fail("%s", strerror(ENOMEM));
        printf(_("Reference ranking (%s trace, %s aggregation, %llu training windows):\n"),
               da_trace_location_to_string(ref.location), da_aggregation_to_string(ref.aggregation), (unsigned long long) ref.windows);
        for (unsigned k = 0; k < F; k++)
                printf("  %3u  %-40s %.6f\n", k + 1, da_model_feature(m, order[k]), ref.scores[order[k]]);
        return EXIT_SUCCESS;
}

static int model_info(const char *path, bool json) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        const da_arch *a;

        if (ctl_load_model(path, &m) < 0)
                return EXIT_FAILURE;
        a = da_model_arch(m);

        if (json) {
                _cleanup_(json_object_putp) json_object *o = model_json(m, path);

                ctl_print_json(o);
                return EXIT_SUCCESS;
        }

        printf(_("Model:        %s\n"), path);
        printf(_("Architecture: LSTM %u→%u × %u layer(s)%s, %s pooling"), a->n_features, a->hidden, a->layers,
               a->batchnorm ? _(", batchnorm") : "", da_pooling_to_string(a->pooling));
        if (a->dense > 0)
                printf(_(", dense %u (%s), %u output(s)\n"), a->dense, da_activation_to_string(a->activation), a->outputs);
        else
                printf(_(", %u output(s)\n"), a->outputs);
        printf(_("Window:       %u frames, hop %u\n"), a->window, a->hop);
        if (da_model_task(m) == DA_TASK_CLASSIFICATION)
                printf(_("Task:         classification, %u classes\n"), da_model_n_classes(m));
        else
                printf(_("Task:         regression%s%s\n"), da_model_unit(m) ? _(", unit ") : "",
                       da_model_unit(m) ?: "");
        printf(_("Parameters:   %zu (%.1f KiB as float32)\n"), da_model_n_parameters(m),
               (double) da_model_n_parameters(m) * 4 / 1024);
        printf(_("Precision:    %s (LSTM weights)\n"), da_precision_to_string(da_model_precision(m)));
        printf(_("Scaler:       %s\n"), da_model_scaler_median(m) ? _("robust (median, IQR)") : _("none"));
        {
                unsigned warmup;

                if (da_model_scaling(m, &warmup) == DA_SCALING_PER_USER)
                        printf(_("Scaling:      per user, after a warm-up of %u valid frames\n"), warmup);
                else
                        printf(_("Scaling:      global (the stored scaler)\n"));
        }
        printf(_("Features (%u):\n"), a->n_features);
        for (unsigned f = 0; f < a->n_features; f++)
                printf("  %3u  %s\n", f + 1, da_model_feature(m, f));
        return print_reference(m);
}

/* The LSTM's weight matrices rounded to another precision; the rest of
 * the file (head, scaler, metadata) as it was. */
static int model_convert(const char *in, const char *out, const char *precision) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        da_error err = {};
        int p, r;

        p = da_precision_from_string(precision);
        if (p < 0)
                return ctl_fail(_("Unknown precision '%s' (f32, bf16, f16 or i8)"), precision);
        if (ctl_load_model(in, &m) < 0)
                return EXIT_FAILURE;
        r = da_model_set_precision(m, p);
        if (r == -ERANGE)
                return ctl_fail(_("Model '%s' has weights beyond the range of %s"), in, precision);
        if (r < 0)
                return ctl_fail(_("Failed to convert the model to %s: %s"), precision, strerror(-r));
        r = da_model_save(m, out, &err);
        if (r < 0)
                return ctl_fail(_("Failed to save the model to '%s': %s"), out, err.message);
        return EXIT_SUCCESS;
}

int verb_model(int argc, char **argv) {
        static const struct option options[] = {
                { "json",      no_argument,       NULL, 'j' },
                { "precision", required_argument, NULL, 'p' },
                { "help",      no_argument,       NULL, 'h' },
                {}
        };
        const char *precision = NULL;
        bool json = false;
        int c;

        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0)
                switch (c) {
                case 'j':
                        json = true;
                        break;
                case 'p':
                        precision = optarg;
                        break;
                case 'h':
                        printf(_("Usage: deepactifctl model info FILE [--json]\n"
                                 "       deepactifctl model convert --precision f32|bf16|f16|i8 IN OUT\n"
                                 "convert stores the LSTM's weights at that precision (bf16, f16: half the bytes,\n"
                                 "i8: a quarter, with a scale per row); arithmetic stays float32.\n"));
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind + 3 == argc && streq(argv[optind], "convert")) {
                if (!precision)
                        return ctl_fail(_("model convert needs --precision f32|bf16|f16|i8"));
                return model_convert(argv[optind + 1], argv[optind + 2], precision);
        }
        if (optind + 2 != argc || !streq(argv[optind], "info"))
                return ctl_fail(_("Usage: deepactifctl model info FILE [--json] | model convert --precision P IN OUT"));
        return model_info(argv[optind + 1], json);
}

int verb_predict(int argc, char **argv) {
        static const struct option options[] = {
                { "model", required_argument, NULL, 'm' },
                { "input", required_argument, NULL, 'i' },
                { "json",  no_argument,       NULL, 'j' },
                { "help",  no_argument,       NULL, 'h' },
                {}
        };
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        _cleanup_free_ float *x = NULL, *out = NULL;
        const char *model = NULL, *input = NULL;
        const da_arch *a;
        bool json = false;
        unsigned T;
        int c, r;

        while ((c = getopt_long(argc, argv, "m:i:h", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        model = optarg;
                        break;
                case 'i':
                        input = optarg;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        printf(_("Usage: deepactifctl predict --model FILE --input WINDOW.csv [--json]\n"
                                 "WINDOW.csv holds T rows of F comma-separated, already scaled model inputs.\n"));
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (!model || !input)
                return ctl_fail(_("predict needs --model FILE and --input WINDOW.csv"));

        if (ctl_load_model(model, &m) < 0)
                return EXIT_FAILURE;
        a = da_model_arch(m);
        if (ctl_read_window(input, a->n_features, &x, &T) < 0)
                return EXIT_FAILURE;

        r = da_ctx_new(m, T, &ctx);
        if (r < 0)
                return ctl_fail(_("Failed to set up the forward pass: %s"), strerror(-r));
        out = calloc(a->outputs, sizeof(float));
        if (!out)
                return ctl_fail("%s", strerror(ENOMEM));
        r = da_forward(ctx, x, T, out);
        if (r < 0)
                return ctl_fail(_("Failed to run the model: %s"), strerror(-r));

        if (json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object *p = json_object_new_array();

                for (unsigned k = 0; k < a->outputs; k++)
                        json_object_array_add(p, json_object_new_double(out[k]));
                json_object_object_add(o, "prediction", p);
                json_object_object_add(o, "window", json_object_new_int((int) T));
                if (da_model_unit(m))
                        json_object_object_add(o, "unit", json_object_new_string(da_model_unit(m)));
                ctl_print_json(o);
        } else {
                for (unsigned k = 0; k < a->outputs; k++)
                        printf("%.9g%s%s\n", out[k], da_model_unit(m) ? " " : "", da_model_unit(m) ?: "");
        }
        return EXIT_SUCCESS;
}
