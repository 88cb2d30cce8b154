/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl model info, predict: local commands on a model file. */

#include <getopt.h>

#include "ctl.h"

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
        return o;
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
        printf(_("Scaler:       %s\n"), da_model_scaler_median(m) ? _("robust (median, IQR)") : _("none"));
        printf(_("Features (%u):\n"), a->n_features);
        for (unsigned f = 0; f < a->n_features; f++)
                printf("  %3u  %s\n", f + 1, da_model_feature(m, f));
        return EXIT_SUCCESS;
}

int verb_model(int argc, char **argv) {
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
                        printf(_("Usage: deepactifctl model info FILE [--json]\n"));
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind + 2 != argc || !streq(argv[optind], "info"))
                return ctl_fail(_("Usage: deepactifctl model info FILE [--json]"));
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
