/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl evaluate: the keep-top-k protocol (DESIGN §4.5) on
 * recordings, printed as a table and optionally written as JSON, CSV and an
 * SVG chart of MAE against k. */

#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <math.h>

#include "ctl.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_eval_report *, da_eval_report_free);

#define MAX_PATHS 256

/* Folds below which even the exact test cannot reach p < 0.05: the smallest
 * two-sided p over N pairs is 2/2^N. */
#define WILCOXON_MIN_FOLDS 6u

typedef struct evaluate_args {
        const char *paths[MAX_PATHS];
        unsigned n_paths;
        da_eval_preset preset;
        const char *methods, *k, *folds;
        const char *json, *csv, *svg;
        const char *column_map;
        unsigned subjects, hidden, epochs, window;
        bool seed_set;
        uint64_t seed;
} evaluate_args;

static long proc_status_kib(const char *key) {
        _cleanup_fclose_ FILE *f = fopen("/proc/self/status", "re");
        char line[256];
        size_t l = strlen(key);

        while (f && fgets(line, sizeof(line), f))
                if (strncmp(line, key, l) == 0 && line[l] == ':')
                        return atol(line + l + 1);
        return -1;
}

/* Peak memory of a ranking: free heap goes back to the kernel, the kernel's
 * peak-RSS mark is reset to the current RSS (clear_refs "5", Linux ≥ 4.0),
 * and afterwards the peak's growth over that is what the ranking needed.
 * The process is ours, so this lives here and not in the library. */
static double memory(bool begin, void *userdata) {
        long *rss0 = userdata, hwm;

        if (begin) {
                _cleanup_close_ int fd = -1;

                malloc_trim(0);
                fd = open("/proc/self/clear_refs", O_WRONLY | O_CLOEXEC);
                *rss0 = fd >= 0 && write(fd, "5", 1) == 1 ? proc_status_kib("VmRSS") : -1;
                return NAN;
        }
        hwm = *rss0 >= 0 ? proc_status_kib("VmHWM") : -1;
        return hwm >= 0 ? (double) MAX(hwm - *rss0, 0L) / 1024 : NAN;
}

static void progress(const char *stage, unsigned step, unsigned steps, void *userdata) {
        fprintf(stderr, "\r\033[K[%3u%%] %s", steps ? 100 * step / steps : 0, stage);
        fflush(stderr);
}

static int parse_methods(const char *list, da_eval_options *o) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        o->n_methods = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                if (o->n_methods >= DA_EVAL_METHODS_MAX)
                        return ctl_fail(_("At most %u methods"), DA_EVAL_METHODS_MAX), -E2BIG;
                if (da_eval_method_from_string(t, &o->methods[o->n_methods]) < 0)
                        return ctl_fail(_("Unknown method '%s'; deepactif-<input|gate>-<mean|meanstd|inv|pen>, "
                                          "ig, deeplift, gradshap, kernelshap, ablation, neflag (optionally "
                                          "-<aggregation>), or random"), t), -EINVAL;
                o->n_methods++;
        }
        if (o->n_methods == 0)
                return ctl_fail(_("--methods needs at least one method")), -EINVAL;
        return 0;
}

static int parse_k(const char *list, da_eval_options *o) {
        _cleanup_free_ char *copy = strdup(list);
        char *save = NULL;

        if (!copy)
                return -ENOMEM;
        o->n_k = 0;
        for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
                char *end;
                unsigned long v = strtoul(t, &end, 10);

                if (*end == '%')
                        end++;
                if (end == t || *end != '\0' || v == 0 || v > 100)
                        return ctl_fail(_("--k takes percentages 1..100, got '%s'"), t), -EINVAL;
                if (o->n_k >= DA_EVAL_K_MAX)
                        return ctl_fail(_("At most %u values of k"), DA_EVAL_K_MAX), -E2BIG;
                o->k_percent[o->n_k++] = (unsigned) v;
        }
        if (o->n_k == 0)
                return ctl_fail(_("--k needs at least one percentage")), -EINVAL;
        return 0;
}

static int parse_positive(const char *name, const char *s, unsigned *ret) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);

        if (*s == '\0' || *end != '\0' || v == 0 || v > 1000000)
                return ctl_fail(_("--%s needs a positive integer, got '%s'"), name, s), -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static int parse_folds(const char *s, unsigned *ret) {
        char *end;
        unsigned long v = strtoul(s, &end, 10);

        if (*s == '\0' || *end != '\0' || v < 2 || v > 1000000)
                return -EINVAL;
        *ret = (unsigned) v;
        return 0;
}

static void print_number(int width, int precision, double v) {
        if (isfinite(v))
                printf("%*.*f", width, precision, v);
        else
                printf("%*s—", width - 1, ""); /* the dash is one column, three bytes */
}

static void print_table(const da_eval_report *rep, const evaluate_args *a) {
        printf(_("Keep-top-k evaluation (preset %s): %u subjects, %u folds grouped by subject, %u features\n"),
               da_eval_preset_to_string(a->preset), rep->n_subjects, rep->n_folds, rep->n_features);
        printf(_("Ranked on the training subjects' windows: DeepACTIF on all %zu (over all folds), the "
                 "baselines on %u per fold\n"), rep->rank_windows, rep->attr_windows);
        printf(_("All features: MAE %.2f ± %.2f cm\n\n"), rep->all_mae_mean, rep->all_mae_sd);

        printf("%-22s %4s %5s %-17s %9s %7s %10s %10s\n", _("method"), "k", _("kept"), _("  MAE ± SD (cm)"),
               _("p"), "r", _("cost (s)"), _("peak (MiB)"));
        for (unsigned i = 0; i < rep->n_rows; i++) {
                const da_eval_row *row = &rep->rows[i];
                printf("%-22s %3u%% %5u %7.2f ± %-6.2f ", row->method, row->k_percent, row->kept, row->mae_mean,
                       row->mae_sd);
                print_number(9, 4, row->p_wilcoxon);
                putchar(' ');
                print_number(7, 3, row->effect_r);
                putchar(' ');
                print_number(10, 3, row->cost_s);
                putchar(' ');
                print_number(10, 1, row->peak_mib);
                putchar('\n');
        }

        putchar('\n');
        if (rep->reference[0])
                printf(_("p: paired Wilcoxon signed-rank test over the %u folds against %s at the same k "
                         "(two-sided); r = Z/√N.\n"), rep->n_folds, rep->reference);
        else
                printf(_("p, r: not computed, deepactif-gate-inv (the reference) is not among the methods.\n"));
        if (rep->n_folds < WILCOXON_MIN_FOLDS)
                printf(_("Note: with %u folds the test has little power: the smallest two-sided p the exact test "
                         "can give is 2/2^%u = %.3g, so no difference can reach p < 0.05 (that needs %u folds).\n"),
                       rep->n_folds, rep->n_folds, 2.0 / ldexp(1.0, (int) rep->n_folds), WILCOXON_MIN_FOLDS);
        printf(_("cost: wall time of producing one fold's ranking, mean over folds; peak: the largest growth "
                 "of the process's peak RSS while ranking.\n"));
        printf(_("Total %.0f s.\n"), rep->seconds);
}

static json_object *json_number(double v) {
        return isfinite(v) ? json_object_new_double(v) : NULL;
}

static int write_json(const da_eval_report *rep, const char *path) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *ks = json_object_new_array(), *rows = json_object_new_array();

        for (unsigned i = 0; i < rep->n_k; i++)
                json_object_array_add(ks, json_object_new_int((int) rep->k_percent[i]));
        json_object_object_add(o, "k", ks);
        json_object_object_add(o, "all_features_mae", json_number(rep->all_mae_mean));
        for (unsigned i = 0; i < rep->n_rows; i++) {
                const da_eval_row *row = &rep->rows[i];
                json_object *e = json_object_new_object();

                json_object_object_add(e, "method", json_object_new_string(row->method));
                json_object_object_add(e, "k", json_object_new_int((int) row->k_percent));
                json_object_object_add(e, "mae_mean", json_number(row->mae_mean));
                json_object_object_add(e, "mae_sd", json_number(row->mae_sd));
                json_object_object_add(e, "p_wilcoxon", json_number(row->p_wilcoxon));
                json_object_object_add(e, "effect_r", json_number(row->effect_r));
                json_object_object_add(e, "cost_s", json_number(row->cost_s));
                json_object_object_add(e, "peak_mib", json_number(row->peak_mib));
                json_object_array_add(rows, e);
        }
        json_object_object_add(o, "results", rows);

        if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                    JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
                return ctl_fail(_("Failed to write '%s': %s"), path, json_util_get_last_err()), -EIO;
        return 0;
}

static void csv_number(FILE *f, double v) {
        if (isfinite(v))
                fprintf(f, ",%.9g", v);
        else
                fputc(',', f);
}

static int write_csv(const da_eval_report *rep, const char *path) {
        _cleanup_fclose_ FILE *f = fopen(path, "we");

        if (!f)
                return ctl_fail(_("Failed to create '%s': %m"), path), -errno;
        fputs("method,k,kept,mae_mean,mae_sd,p_wilcoxon,effect_r,cost_s,peak_mib\n", f);
        fprintf(f, "all-features,100,%u", rep->n_features);
        csv_number(f, rep->all_mae_mean);
        csv_number(f, rep->all_mae_sd);
        fputs(",,,,\n", f);
        for (unsigned i = 0; i < rep->n_rows; i++) {
                const da_eval_row *row = &rep->rows[i];

                fprintf(f, "%s,%u,%u", row->method, row->k_percent, row->kept);
                csv_number(f, row->mae_mean);
                csv_number(f, row->mae_sd);
                csv_number(f, row->p_wilcoxon);
                csv_number(f, row->effect_r);
                csv_number(f, row->cost_s);
                csv_number(f, row->peak_mib);
                fputc('\n', f);
        }
        if (fflush(f) != 0 || ferror(f))
                return ctl_fail(_("Failed to write '%s': %m"), path), -EIO;
        return 0;
}

/* A step of 1, 2 or 5 × 10^n giving about five ticks over span. */
static double nice_step(double span) {
        double raw = span / 5, mag = pow(10, floor(log10(raw))), f = raw / mag;

        return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
}

static int write_svg(const da_eval_report *rep, const char *path) {
        static const char *const colour[] = {
                "#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
                "#bcbd22", "#17becf",
        };
        const double W = 760, H = 460, left = 70, right = 210, top = 40, bottom = 60;
        const double pw = W - left - right, ph = H - top - bottom;
        _cleanup_fclose_ FILE *f = fopen(path, "we");
        double lo = rep->all_mae_mean, hi = rep->all_mae_mean, step, kmin, kmax;
        unsigned n_methods = rep->n_k ? rep->n_rows / rep->n_k : 0;

        if (!f)
                return ctl_fail(_("Failed to create '%s': %m"), path), -errno;

        kmin = kmax = rep->k_percent[0];
        for (unsigned i = 0; i < rep->n_k; i++) {
                kmin = fmin(kmin, rep->k_percent[i]);
                kmax = fmax(kmax, rep->k_percent[i]);
        }
        if (kmax == kmin)
                kmax = kmin + 1;
        for (unsigned i = 0; i < rep->n_rows; i++) {
                double sd = isfinite(rep->rows[i].mae_sd) ? rep->rows[i].mae_sd : 0;

                lo = fmin(lo, rep->rows[i].mae_mean - sd);
                hi = fmax(hi, rep->rows[i].mae_mean + sd);
        }
        if (!(hi > lo))
                hi = lo + 1;
        step = nice_step(hi - lo);
        lo = floor(lo / step) * step;
        hi = ceil(hi / step) * step;

#define X(k) (left + ((k) - kmin) / (kmax - kmin) * pw)
#define Y(v) (top + (hi - (v)) / (hi - lo) * ph)
        fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                   "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
                   "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"12\">\n"
                   "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n"
                   "<text x=\"%.1f\" y=\"22\" text-anchor=\"middle\" font-size=\"14\">Keep top k%% of the "
                   "features and retrain: MAE on held-out subjects (%u folds)</text>\n",
                W, H, W, H, left + pw / 2, rep->n_folds);

        /* grid and y axis */
        for (double v = lo; v <= hi + step / 2; v += step)
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ddd\"/>\n"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n",
                        left, Y(v), left + pw, Y(v), left - 6, Y(v) + 4, v);
        for (unsigned i = 0; i < rep->n_k; i++)
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\"/>\n"
                           "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%u%%</text>\n",
                        X(rep->k_percent[i]), top + ph, X(rep->k_percent[i]), top + ph + 5,
                        X(rep->k_percent[i]), top + ph + 20, rep->k_percent[i]);
        fprintf(f, "<polyline points=\"%.1f,%.1f %.1f,%.1f %.1f,%.1f\" fill=\"none\" stroke=\"#000\"/>\n",
                left, top, left, top + ph, left + pw, top + ph);
        fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">features kept, k (%% of %u)</text>\n",
                left + pw / 2, H - 18, rep->n_features);
        fprintf(f, "<text transform=\"translate(20 %.1f) rotate(-90)\" text-anchor=\"middle\">MAE (cm), mean ± SD "
                   "over folds</text>\n", top + ph / 2);

        /* the all-features model as a reference line */
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" stroke-dasharray=\"6 4\"/>\n",
                left, Y(rep->all_mae_mean), left + pw, Y(rep->all_mae_mean));

        for (unsigned m = 0; m < n_methods; m++) {
                const da_eval_row *rows = &rep->rows[m * rep->n_k];
                const char *c = colour[m % ELEMENTSOF(colour)];
                bool dashed = streq(rows[0].method, "random");

                fprintf(f, "<g stroke=\"%s\" fill=\"%s\">\n<polyline fill=\"none\" stroke-width=\"2\"%s points=\"",
                        c, c, dashed ? " stroke-dasharray=\"3 3\"" : "");
                for (unsigned i = 0; i < rep->n_k; i++)
                        fprintf(f, "%s%.1f,%.1f", i ? " " : "", X(rows[i].k_percent), Y(rows[i].mae_mean));
                fputs("\"/>\n", f);
                for (unsigned i = 0; i < rep->n_k; i++) {
                        double x = X(rows[i].k_percent) + ((double) m - (n_methods - 1) / 2.0) * 2;

                        if (isfinite(rows[i].mae_sd))
                                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\"/>\n", x,
                                        Y(rows[i].mae_mean - rows[i].mae_sd), x, Y(rows[i].mae_mean + rows[i].mae_sd));
                        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3.5\"/>\n", X(rows[i].k_percent),
                                Y(rows[i].mae_mean));
                }
                fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke-width=\"2\"%s/>\n"
                           "<text x=\"%.1f\" y=\"%.1f\" stroke=\"none\" fill=\"#000\">%s</text>\n</g>\n",
                        W - right + 20, top + 10 + 20.0 * m, W - right + 44, top + 10 + 20.0 * m,
                        dashed ? " stroke-dasharray=\"3 3\"" : "", W - right + 50, top + 14 + 20.0 * m,
                        rows[0].method);
        }
        fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#000\" stroke-dasharray=\"6 4\"/>\n"
                   "<text x=\"%.1f\" y=\"%.1f\">all features</text>\n</svg>\n",
                W - right + 20, top + 10 + 20.0 * n_methods, W - right + 44, top + 10 + 20.0 * n_methods,
                W - right + 50, top + 14 + 20.0 * n_methods);
#undef X
#undef Y
        if (fflush(f) != 0 || ferror(f))
                return ctl_fail(_("Failed to write '%s': %m"), path), -EIO;
        return 0;
}

static void evaluate_help(void) {
        printf(_("Usage: deepactifctl evaluate --data PATH [OPTIONS]\n"
                 "\n"
                 "Run the keep-top-k protocol: per fold (grouped by subject), rank the features with each\n"
                 "method on the training subjects, keep the top k%%, retrain from scratch and score the MAE\n"
                 "on the held-out subjects.\n"
                 "\n"
                 "  --data PATH              Recording file or directory (repeatable)\n"
                 "  --preset quick|paper     quick: 6 subjects, 3 folds, H=32, 8 epochs (minutes);\n"
                 "                           paper: leave-one-subject-out, the trainer's defaults (default)\n"
                 "  --methods LIST           Comma-separated: deepactif-<input|gate>-<mean|meanstd|inv|pen>,\n"
                 "                           ig, deeplift, gradshap, kernelshap, ablation, neflag, random\n"
                 "  --k LIST                 Percentages of features kept (default: 10,20,30,40)\n"
                 "  --folds loso|N           Leave one subject out, or N subject-grouped folds\n"
                 "  --subjects N             Use the first N subjects only\n"
                 "  --hidden H               LSTM hidden size of every model\n"
                 "  --epochs N               Training epochs of every model\n"
                 "  --seed N                 Seed of folds, training and the random control (default: 0)\n"
                 "  --window T               Frames per window (default: 10)\n"
                 "  --column-map SPEC        Read generic CSV/TSV recordings with this column map\n"
                 "  --json FILE              Write the results as JSON\n"
                 "  --csv FILE               Write the results as CSV\n"
                 "  --svg FILE               Draw MAE against k per method as SVG\n"));
}

int verb_evaluate(int argc, char **argv) {
        enum { ARG_PRESET = 0x100, ARG_METHODS, ARG_K, ARG_FOLDS, ARG_JSON, ARG_CSV, ARG_SVG, ARG_SUBJECTS,
               ARG_HIDDEN, ARG_EPOCHS, ARG_SEED, ARG_WINDOW, ARG_COLUMN_MAP };
        static const struct option options[] = {
                { "data",     required_argument, NULL, 'd' },
                { "preset",   required_argument, NULL, ARG_PRESET },
                { "methods",  required_argument, NULL, ARG_METHODS },
                { "k",        required_argument, NULL, ARG_K },
                { "folds",    required_argument, NULL, ARG_FOLDS },
                { "subjects", required_argument, NULL, ARG_SUBJECTS },
                { "hidden",   required_argument, NULL, ARG_HIDDEN },
                { "epochs",   required_argument, NULL, ARG_EPOCHS },
                { "seed",     required_argument, NULL, ARG_SEED },
                { "window",   required_argument, NULL, ARG_WINDOW },
                { "column-map", required_argument, NULL, ARG_COLUMN_MAP },
                { "json",     required_argument, NULL, ARG_JSON },
                { "csv",      required_argument, NULL, ARG_CSV },
                { "svg",      required_argument, NULL, ARG_SVG },
                { "help",     no_argument,       NULL, 'h' },
                {}
        };
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        evaluate_args a = { .preset = DA_EVAL_PAPER };
        da_eval_options o;
        long rss0 = -1;
        da_error err = {};
        int c, v, r;

        while ((c = getopt_long(argc, argv, "d:h", options, NULL)) >= 0)
                switch (c) {
                case 'd':
                        if (a.n_paths >= MAX_PATHS)
                                return ctl_fail(_("At most %u --data paths"), MAX_PATHS);
                        a.paths[a.n_paths++] = optarg;
                        break;
                case ARG_PRESET:
                        if ((v = da_eval_preset_from_string(optarg)) < 0)
                                return ctl_fail(_("Unknown preset '%s'; quick or paper"), optarg);
                        a.preset = v;
                        break;
                case ARG_METHODS:
                        a.methods = optarg;
                        break;
                case ARG_K:
                        a.k = optarg;
                        break;
                case ARG_FOLDS:
                        a.folds = optarg;
                        break;
                case ARG_SUBJECTS:
                        if (parse_positive("subjects", optarg, &a.subjects) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_HIDDEN:
                        if (parse_positive("hidden", optarg, &a.hidden) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_EPOCHS:
                        if (parse_positive("epochs", optarg, &a.epochs) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_WINDOW:
                        if (parse_positive("window", optarg, &a.window) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_COLUMN_MAP:
                        a.column_map = optarg;
                        break;
                case ARG_SEED: {
                        char *end;

                        errno = 0;
                        a.seed = strtoull(optarg, &end, 0);
                        if (*optarg == '\0' || *end != '\0' || errno != 0)
                                return ctl_fail(_("--seed needs an integer, got '%s'"), optarg);
                        a.seed_set = true;
                        break;
                }
                case ARG_JSON:
                        a.json = optarg;
                        break;
                case ARG_CSV:
                        a.csv = optarg;
                        break;
                case ARG_SVG:
                        a.svg = optarg;
                        break;
                case 'h':
                        evaluate_help();
                        return EXIT_SUCCESS;
                default:
                        return EXIT_FAILURE;
                }
        if (optind < argc)
                return ctl_fail(_("Unexpected argument '%s'"), argv[optind]);
        if (a.n_paths == 0)
                return ctl_fail(_("evaluate needs --data PATH (a recording file or directory)"));

        da_eval_options_init(&o, a.preset);
        if (a.methods && parse_methods(a.methods, &o) < 0)
                return EXIT_FAILURE;
        if (a.k && parse_k(a.k, &o) < 0)
                return EXIT_FAILURE;
        if (a.folds) {
                if (streq(a.folds, "loso"))
                        o.folds = 0;
                else if (parse_folds(a.folds, &o.folds) < 0)
                        return ctl_fail(_("--folds takes 'loso' or a number of folds ≥ 2, got '%s'"), a.folds);
        }
        if (a.subjects > 0)
                o.max_subjects = a.subjects;
        if (a.window > 0)
                o.data.window = a.window;
        if (a.column_map)
                o.data.column_map = a.column_map;
        if (a.hidden > 0)
                o.train.hidden = a.hidden;
        if (a.epochs > 0)
                o.train.epochs = a.epochs;
        if (a.seed_set) {
                o.seed = a.seed;
                o.train.seed = a.seed;
        }
        if (isatty(STDERR_FILENO))
                o.progress = progress;
        o.memory = memory;
        o.userdata = &rss0;

        r = da_evaluate(a.paths, a.n_paths, &o, &rep, &err);
        if (o.progress)
                fputs("\r\033[K", stderr);
        if (r < 0)
                return ctl_fail(_("Evaluation failed: %s"), err.message[0] ? err.message : strerror(-r));

        print_table(rep, &a);
        if (a.json && write_json(rep, a.json) < 0)
                return EXIT_FAILURE;
        if (a.csv && write_csv(rep, a.csv) < 0)
                return EXIT_FAILURE;
        if (a.svg && write_svg(rep, a.svg) < 0)
                return EXIT_FAILURE;
        return EXIT_SUCCESS;
}
