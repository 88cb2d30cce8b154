/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl attribute: one window's attributions φ[t,f] by any method. */

#include <getopt.h>
#include <math.h>

#include "ctl.h"

static void attribute_help(void) {
        printf(_("Usage: deepactifctl attribute --model FILE --input WINDOW.csv --method METHOD [OPTIONS]\n"
                 "\n"
                 "Attribute one window's prediction to its inputs. WINDOW.csv holds T rows of F\n"
                 "comma-separated, already scaled model inputs (as for predict).\n"
                 "\n"
                 "  --method METHOD           deepactif, ig, deeplift, gradshap, kernelshap, ablation, neflag\n"
                 "  --steps N                 Integrated Gradients steps (default: 50)\n"
                 "  --rule RULE               gausslegendre, riemann_left, riemann_right, riemann_middle,\n"
                 "                            riemann_trapezoid (default: gausslegendre)\n"
                 "  --baseline zero|FILE      Reference window x' (default: zero); FILE as WINDOW.csv\n"
                 "  --location input|gate     DeepACTIF trace location (default: gate)\n"
                 "  --samples N               GradientSHAP samples (default: 5)\n"
                 "  --output N                Which model output to explain (default: 0)\n"
                 "  --seed N                  Seed of the sampling methods (default: 0)\n"
                 "  --deeplift-gradient-fallback\n"
                 "                            Captum's gradient×Δx inside the LSTM instead of DeepLIFT's rules\n"
                 "  --json                    Print JSON\n"));
}

static int parse_uint(const char *opt, const char *s, unsigned *ret) {
        char *end;
        unsigned long v;

        errno = 0;
        v = strtoul(s, &end, 0);
        if (*s == '\0' || *s == '-' || *end != '\0' || errno != 0 || v > UINT32_MAX)
                return ctl_fail(_("--%s needs a non-negative integer, got '%s'"), opt, s), -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

int verb_attribute(int argc, char **argv) {
        enum { ARG_STEPS = 0x100, ARG_RULE, ARG_BASELINE, ARG_LOCATION, ARG_SAMPLES, ARG_OUTPUT, ARG_SEED, ARG_FALLBACK };
        static const struct option options[] = {
                { "model",    required_argument, NULL, 'm' },
                { "input",    required_argument, NULL, 'i' },
                { "method",   required_argument, NULL, 'M' },
                { "steps",    required_argument, NULL, ARG_STEPS },
                { "rule",     required_argument, NULL, ARG_RULE },
                { "baseline", required_argument, NULL, ARG_BASELINE },
                { "location", required_argument, NULL, ARG_LOCATION },
                { "samples",  required_argument, NULL, ARG_SAMPLES },
                { "output",   required_argument, NULL, ARG_OUTPUT },
                { "seed",     required_argument, NULL, ARG_SEED },
                { "deeplift-gradient-fallback", no_argument, NULL, ARG_FALLBACK },
                { "json",     no_argument,       NULL, 'j' },
                { "help",     no_argument,       NULL, 'h' },
                {}
        };
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_free_ float *x = NULL, *xb = NULL, *phi = NULL;
        const char *model = NULL, *input = NULL, *baseline = NULL;
        da_method method = _DA_METHOD_MAX;
        da_attr_options opt;
        da_attr_result res;
        da_error err = {};
        const da_arch *a;
        bool json = false;
        unsigned T, Tb, u;
        int c, r;

        da_attr_options_init(&opt);
        while ((c = getopt_long(argc, argv, "m:i:M:h", options, NULL)) >= 0)
                switch (c) {
                case 'm':
                        model = optarg;
                        break;
                case 'i':
                        input = optarg;
                        break;
                case 'M':
                        if ((r = da_method_from_string(optarg)) < 0)
                                return ctl_fail(_("Unknown method '%s'; one of deepactif, ig, deeplift, gradshap, "
                                                  "kernelshap, ablation, neflag"), optarg);
                        method = r;
                        break;
                case ARG_STEPS:
                        if (parse_uint("steps", optarg, &opt.steps) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_RULE:
                        if ((r = da_ig_rule_from_string(optarg)) < 0)
                                return ctl_fail(_("Unknown integration rule '%s'"), optarg);
                        opt.rule = r;
                        break;
                case ARG_BASELINE:
                        baseline = optarg;
                        break;
                case ARG_LOCATION:
                        if ((r = da_trace_location_from_string(optarg)) < 0)
                                return ctl_fail(_("Unknown trace location '%s'; one of input, gate"), optarg);
                        opt.location = r;
                        break;
                case ARG_SAMPLES:
                        if (parse_uint("samples", optarg, &opt.n_samples) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_OUTPUT:
                        if (parse_uint("output", optarg, &opt.output) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_SEED:
                        if (parse_uint("seed", optarg, &u) < 0)
                                return EXIT_FAILURE;
                        opt.seed = u;
                        break;
                case ARG_FALLBACK:
                        opt.deeplift_gradient_fallback = true;
                        break;
                case 'j':
                        json = true;
                        break;
                case 'h':
                        attribute_help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (!model || !input || method == _DA_METHOD_MAX)
                return ctl_fail(_("attribute needs --model FILE, --input WINDOW.csv and --method METHOD"));

        if (ctl_load_model(model, &m) < 0)
                return EXIT_FAILURE;
        a = da_model_arch(m);
        if (ctl_read_window(input, a->n_features, &x, &T) < 0)
                return EXIT_FAILURE;
        if (baseline && !streq(baseline, "zero")) {
                if (ctl_read_window(baseline, a->n_features, &xb, &Tb) < 0)
                        return EXIT_FAILURE;
                if (Tb != T)
                        return ctl_fail(_("Baseline '%s' has %u rows, the input window has %u"), baseline, Tb, T);
                opt.baseline_kind = DA_BASELINE_GIVEN;
                opt.baseline = xb;
                opt.baseline_len = (size_t) Tb * a->n_features;
        }

        phi = calloc((size_t) T * a->n_features, sizeof(float));
        if (!phi)
                return ctl_fail("%s", strerror(ENOMEM));
        r = da_attribute(m, method, &opt, x, T, phi, &res, &err);
        if (r < 0)
                return ctl_fail(_("Failed to attribute with %s: %s"), da_method_to_string(method),
                                err.message[0] ? err.message : strerror(-r));

        if (json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object *rows = json_object_new_array();

                json_object_object_add(o, "method", json_object_new_string(da_method_to_string(method)));
                for (unsigned t = 0; t < T; t++) {
                        json_object *row = json_object_new_array();

                        for (unsigned f = 0; f < a->n_features; f++)
                                json_object_array_add(row, json_object_new_double(phi[(size_t) t * a->n_features + f]));
                        json_object_array_add(rows, row);
                }
                json_object_object_add(o, "attributions", rows);
                json_object_object_add(o, "output", json_object_new_double(res.output));
                json_object_object_add(o, "baseline_output", json_object_new_double(res.baseline_output));
                json_object_object_add(o, "delta", isfinite(res.delta) ? json_object_new_double(res.delta) : NULL);
                ctl_print_json(o);
                return EXIT_SUCCESS;
        }

        printf(_("%s: F(x) = %.9g, F(x') = %.9g"), da_method_to_string(method), res.output, res.baseline_output);
        if (isfinite(res.delta))
                printf(_(", completeness delta %.3g"), res.delta);
        putchar('\n');
        printf("%-32s %14s\n", _("FEATURE"), _("SUM OVER TIME"));
        for (unsigned f = 0; f < a->n_features; f++) {
                double s = 0;

                for (unsigned t = 0; t < T; t++)
                        s += phi[(size_t) t * a->n_features + f];
                printf("%-32s %14.6g\n", da_model_feature(m, f) ?: "?", s);
        }
        return EXIT_SUCCESS;
}
