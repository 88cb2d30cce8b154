/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl evaluate: the keep-top-k protocol (DESIGN §4.5) on
 * recordings, printed as a table and optionally written as JSON, CSV and an
 * SVG chart of MAE against k. With --shard I/N it runs one deterministic
 * slice of the folds and saves it as JSON; --merge joins such parts into the
 * table the unsharded run prints. */

#include <assert.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <malloc.h>
#include <math.h>

#include "ctl.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_eval_report *, da_eval_report_free);

#define MAX_PATHS 256

/* Folds below which even the exact test cannot reach p < 0.05: the smallest
 * two-sided p over N pairs is 2/2^N. */
#define WILCOXON_MIN_FOLDS 6u

/* The published protocol's steps by option name, in da_published_step's order. */
static const char *const published_steps[] = {
        "iqr-filter", "depth-bins", "subject-scaler", "best-epoch-on-test", "reuse-model",
};

static_assert(DA_PUBLISHED_ALL == (1u << ELEMENTSOF(published_steps)) - 1, "a flag per published step");

typedef struct evaluate_args {
        const char *paths[MAX_PATHS];
        unsigned n_paths;
        da_eval_preset preset;
        const char *methods, *k, *folds;
        const char *json, *csv, *svg;
        const char *column_map;
        da_recording_format format;
        unsigned subjects, hidden, epochs, window, hop, rank_windows, threads;
        da_precision precision;
        unsigned shard_index, shard_count;
        unsigned published;
        bool seed_set, merge;
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

static void print_steps(FILE *f, unsigned published) {
        bool first = true;

        for (unsigned i = 0; i < ELEMENTSOF(published_steps); i++)
                if (published & (1u << i)) {
                        fprintf(f, "%s%s", first ? "" : ", ", published_steps[i]);
                        first = false;
                }
}

static const da_eval_row *method_rows(const da_eval_report *rep, const char *method) {
        for (unsigned i = 0; i < rep->n_rows; i += rep->n_k)
                if (streq(rep->rows[i].method, method))
                        return &rep->rows[i];
        return NULL;
}

/* Per fold (in leave-one-subject-out, per subject): the all-features MAE
 * and the reference's and IG's at each k. */
static void print_folds(const da_eval_report *rep) {
        const da_eval_row *shown[2] = { method_rows(rep, rep->reference), method_rows(rep, "ig") };
        int w = 8;

        for (unsigned f = 0; f < rep->n_folds; f++)
                if (rep->fold_test[f])
                        w = MAX(w, (int) strlen(rep->fold_test[f]));
        printf(_("\nMAE (cm) per held-out fold\n"));
        printf("%-*s %8s", w, _("held out"), _("all"));
        for (unsigned m = 0; m < ELEMENTSOF(shown); m++)
                for (unsigned k = 0; shown[m] && k < rep->n_k; k++) {
                        char head[80];

                        snprintf(head, sizeof(head), "%s@%u%%", m == 0 ? "ref" : "ig", shown[m][k].k_percent);
                        printf(" %8s", head);
                }
        putchar('\n');
        for (unsigned f = 0; f < rep->n_folds; f++) {
                printf("%-*s %8.2f", w, rep->fold_test[f] ? rep->fold_test[f] : "?", rep->all_fold_mae[f]);
                for (unsigned m = 0; m < ELEMENTSOF(shown); m++)
                        for (unsigned k = 0; shown[m] && k < rep->n_k; k++)
                                printf(" %8.2f", shown[m][k].fold_mae[f]);
                putchar('\n');
        }
        if (shown[0])
                printf(_("ref: %s\n"), rep->reference);
}

static void print_table(const da_eval_report *rep, const char *preset) {
        printf(_("Keep-top-k evaluation (preset %s): %u subjects, %u folds grouped by subject, %u features\n"),
               preset, rep->n_subjects, rep->n_folds, rep->n_features);
        if (rep->published) {
                printf(_("Protocol: published steps ("));
                print_steps(stdout, rep->published);
                printf(_(") — these use the test subjects' labels or data; the figures are not an estimate "
                         "of the error on new users\n"));
        } else
                printf(_("Protocol: clean (nothing is fit or chosen on the test subjects)\n"));
        if (rep->rank_windows_max > 0)
                printf(_("Every method ranks the same training windows: an evenly spaced sample of at most %u "
                         "per fold (%zu over all folds)\n"), rep->rank_windows_max, rep->rank_windows);
        else
                printf(_("Every method ranks the same training windows: all of them (%zu over all folds)\n"),
                       rep->rank_windows);
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

        print_folds(rep);

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
        printf(_("Models trained: %zu (a fold's retrains that keep the same features share one).\n"),
               rep->trainings);
        printf(_("Total %.0f s.\n"), rep->seconds);
}

static json_object *json_number(double v) {
        return isfinite(v) ? json_object_new_double(v) : NULL;
}

/* Per-fold figures, null for the folds another shard runs. */
static json_object *json_folds(const da_eval_report *rep, const double *v) {
        json_object *a = json_object_new_array();

        for (unsigned f = 0; f < rep->n_folds; f++)
                json_object_array_add(a, rep->fold_done[f] ? json_number(v[f]) : NULL);
        return a;
}

/* The summary and every per-fold figure, so that parts of a sharded run can
 * be merged from these files (doubles are written with 17 significant
 * digits, which read back to the same bits). */
static int write_json(const da_eval_report *rep, const char *preset, const char *path) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *ks = json_object_new_array(), *rows = json_object_new_array(), *done = json_object_new_array();
        char id[17];

        snprintf(id, sizeof(id), "%016" PRIx64, rep->settings_id);
        json_object_object_add(o, "preset", json_object_new_string(preset));
        json_object_object_add(o, "settings_id", json_object_new_string(id));
        json_object_object_add(o, "published", json_object_new_int((int) rep->published));
        json_object_object_add(o, "shard", json_object_new_int((int) rep->shard_index + 1));
        json_object_object_add(o, "shards", json_object_new_int((int) rep->shard_count));
        json_object_object_add(o, "subjects", json_object_new_int((int) rep->n_subjects));
        json_object_object_add(o, "folds", json_object_new_int((int) rep->n_folds));
        json_object_object_add(o, "features", json_object_new_int((int) rep->n_features));
        json_object_object_add(o, "rank_windows_max", json_object_new_int((int) rep->rank_windows_max));
        json_object_object_add(o, "seconds", json_number(rep->seconds));
        json_object_object_add(o, "trainings", json_object_new_int64((int64_t) rep->trainings));
        for (unsigned i = 0; i < rep->n_k; i++)
                json_object_array_add(ks, json_object_new_int((int) rep->k_percent[i]));
        json_object_object_add(o, "k", ks);
        for (unsigned f = 0; f < rep->n_folds; f++)
                json_object_array_add(done, json_object_new_boolean(rep->fold_done[f]));
        json_object_object_add(o, "folds_done", done);
        json_object_object_add(o, "all_features_mae", json_number(rep->all_mae_mean));
        json_object_object_add(o, "all_features_fold_mae", json_folds(rep, rep->all_fold_mae));
        {
                json_object *names = json_object_new_array();

                for (unsigned f = 0; f < rep->n_folds; f++)
                        json_object_array_add(names, rep->fold_done[f] && rep->fold_test[f] ?
                                              json_object_new_string(rep->fold_test[f]) : NULL);
                json_object_object_add(o, "fold_test_subjects", names);
        }
        for (unsigned i = 0; i < rep->n_rows; i++) {
                const da_eval_row *row = &rep->rows[i];
                json_object *e = json_object_new_object(), *wins = json_object_new_array();

                json_object_object_add(e, "method", json_object_new_string(row->method));
                json_object_object_add(e, "k", json_object_new_int((int) row->k_percent));
                json_object_object_add(e, "kept", json_object_new_int((int) row->kept));
                json_object_object_add(e, "mae_mean", json_number(row->mae_mean));
                json_object_object_add(e, "mae_sd", json_number(row->mae_sd));
                json_object_object_add(e, "p_wilcoxon", json_number(row->p_wilcoxon));
                json_object_object_add(e, "effect_r", json_number(row->effect_r));
                json_object_object_add(e, "cost_s", json_number(row->cost_s));
                json_object_object_add(e, "peak_mib", json_number(row->peak_mib));
                json_object_object_add(e, "fold_mae", json_folds(rep, row->fold_mae));
                json_object_object_add(e, "fold_cost_s", json_folds(rep, row->fold_cost_s));
                json_object_object_add(e, "fold_peak_mib", json_folds(rep, row->fold_peak_mib));
                for (unsigned f = 0; f < rep->n_folds; f++)
                        json_object_array_add(wins, rep->fold_done[f] ?
                                              json_object_new_int64((int64_t) row->fold_windows[f]) : NULL);
                json_object_object_add(e, "fold_windows", wins);
                json_object_array_add(rows, e);
        }
        json_object_object_add(o, "results", rows);

        if (json_object_to_file_ext(path, o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
                                    JSON_C_TO_STRING_NOSLASHESCAPE) < 0)
                return ctl_fail(_("Failed to write '%s': %s"), path, json_util_get_last_err()), -EIO;
        return 0;
}

/* ---- reading parts back for --merge ---- */

static bool json_get_uint(json_object *o, const char *key, unsigned *ret) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 0 || json_object_get_int64(v) > UINT_MAX)
                return false;
        *ret = (unsigned) json_object_get_int64(v);
        return true;
}

static double json_get_number(json_object *v) {
        return json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int) ?
                json_object_get_double(v) : NAN;
}

/* Reads an array of n per-fold numbers; null (a fold another shard runs,
 * or an unmeasured figure) reads as NaN. */
static bool json_get_folds(json_object *o, const char *key, unsigned n, double *ret) {
        json_object *a;

        if (!json_object_object_get_ex(o, key, &a) || !json_object_is_type(a, json_type_array) ||
            json_object_array_length(a) != n)
                return false;
        for (unsigned f = 0; f < n; f++)
                ret[f] = json_get_number(json_object_array_get_idx(a, f));
        return true;
}

static int read_part(const char *path, char *ret_preset, size_t preset_size, da_eval_report **ret) {
        _cleanup_(json_object_putp) json_object *o = json_object_from_file(path);
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        json_object *v, *ks, *done, *rows;
        unsigned shard, shards, folds, n_rows;
        double fold_w[1024];
        const char *id;
        char *end;
        int r;

        if (!o)
                return ctl_fail(_("Failed to read '%s': %s"), path, json_util_get_last_err()), -EIO;
        if (!json_get_uint(o, "shard", &shard) || !json_get_uint(o, "shards", &shards) ||
            !json_get_uint(o, "folds", &folds) || folds == 0 || folds > ELEMENTSOF(fold_w) || shard == 0 ||
            shards == 0 || !json_object_object_get_ex(o, "settings_id", &v) ||
            !(id = json_object_get_string(v)) || !json_object_object_get_ex(o, "k", &ks) ||
            !json_object_is_type(ks, json_type_array) || json_object_array_length(ks) == 0 ||
            json_object_array_length(ks) > DA_EVAL_K_MAX || !json_object_object_get_ex(o, "folds_done", &done) ||
            !json_object_is_type(done, json_type_array) || json_object_array_length(done) != folds ||
            !json_object_object_get_ex(o, "results", &rows) || !json_object_is_type(rows, json_type_array) ||
            json_object_array_length(rows) == 0)
                goto bad;
        n_rows = (unsigned) json_object_array_length(rows);
        r = da_eval_report_new(folds, n_rows, &rep);
        if (r < 0)
                return ctl_fail(_("Failed to read '%s': %s"), path, strerror(-r)), r;

        rep->shard_index = shard - 1;
        rep->shard_count = shards;
        errno = 0;
        rep->settings_id = strtoull(id, &end, 16);
        if (*id == '\0' || *end != '\0' || errno != 0)
                goto bad;
        if (!json_get_uint(o, "subjects", &rep->n_subjects) || !json_get_uint(o, "features", &rep->n_features) ||
            !json_get_uint(o, "rank_windows_max", &rep->rank_windows_max) ||
            !json_get_uint(o, "published", &rep->published))
                goto bad;
        if (json_object_object_get_ex(o, "seconds", &v))
                rep->seconds = json_get_number(v);
        if (json_object_object_get_ex(o, "trainings", &v))
                rep->trainings = (size_t) json_object_get_int64(v);
        rep->n_k = (unsigned) json_object_array_length(ks);
        for (unsigned i = 0; i < rep->n_k; i++)
                rep->k_percent[i] = (unsigned) json_object_get_int(json_object_array_get_idx(ks, i));
        for (unsigned f = 0; f < folds; f++)
                rep->fold_done[f] = json_object_get_boolean(json_object_array_get_idx(done, f));
        if (!json_get_folds(o, "all_features_fold_mae", folds, rep->all_fold_mae))
                goto bad;
        if (json_object_object_get_ex(o, "fold_test_subjects", &v) && json_object_is_type(v, json_type_array) &&
            json_object_array_length(v) == folds)
                for (unsigned f = 0; f < folds; f++) {
                        json_object *name = json_object_array_get_idx(v, f);

                        if (json_object_is_type(name, json_type_string)) {
                                rep->fold_test[f] = strdup(json_object_get_string(name));
                                if (!rep->fold_test[f])
                                        return ctl_fail(_("Out of memory")), -ENOMEM;
                        }
                }
        for (unsigned i = 0; i < n_rows; i++) {
                json_object *e = json_object_array_get_idx(rows, i), *m;
                da_eval_row *row = &rep->rows[i];

                if (!json_object_object_get_ex(e, "method", &m) || !json_object_is_type(m, json_type_string) ||
                    !json_get_uint(e, "k", &row->k_percent) || !json_get_uint(e, "kept", &row->kept) ||
                    !json_get_folds(e, "fold_mae", folds, row->fold_mae) ||
                    !json_get_folds(e, "fold_cost_s", folds, row->fold_cost_s) ||
                    !json_get_folds(e, "fold_peak_mib", folds, row->fold_peak_mib) ||
                    !json_get_folds(e, "fold_windows", folds, fold_w))
                        goto bad;
                snprintf(row->method, sizeof(row->method), "%s", json_object_get_string(m));
                for (unsigned f = 0; f < folds; f++)
                        row->fold_windows[f] = isfinite(fold_w[f]) ? (size_t) fold_w[f] : 0;
        }
        if (json_object_object_get_ex(o, "preset", &v) && json_object_is_type(v, json_type_string))
                snprintf(ret_preset, preset_size, "%s", json_object_get_string(v));
        *ret = TAKE_PTR(rep);
        return 0;
bad:
        return ctl_fail(_("'%s' is not a part written by deepactifctl evaluate --json"), path), -EINVAL;
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

static int parse_shard(const char *s, unsigned *ret_index, unsigned *ret_count) {
        unsigned long i, n;
        char *end;

        i = strtoul(s, &end, 10);
        if (end == s || *end != '/')
                return -EINVAL;
        s = end + 1;
        n = strtoul(s, &end, 10);
        if (end == s || *end != '\0' || i == 0 || n == 0 || i > n || n > 100000)
                return -EINVAL;
        *ret_index = (unsigned) i - 1;
        *ret_count = (unsigned) n;
        return 0;
}

static int write_outputs(const da_eval_report *rep, const char *preset, const evaluate_args *a) {
        if (a->json && write_json(rep, preset, a->json) < 0)
                return -EIO;
        if (a->csv && write_csv(rep, a->csv) < 0)
                return -EIO;
        if (a->svg && write_svg(rep, a->svg) < 0)
                return -EIO;
        return 0;
}

static int merge(char **paths, unsigned n, const evaluate_args *a) {
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        _cleanup_free_ da_eval_report **parts = calloc(n, sizeof(da_eval_report *));
        char preset[32] = "?";
        da_error err = {};
        int r = 0;

        if (!parts)
                return ctl_fail(_("Out of memory"));
        for (unsigned i = 0; i < n && r >= 0; i++)
                r = read_part(paths[i], preset, sizeof(preset), &parts[i]);
        if (r >= 0) {
                r = da_eval_report_merge((const da_eval_report *const *) parts, n, &rep, &err);
                if (r < 0)
                        ctl_fail(_("Cannot merge the parts: %s"), err.message[0] ? err.message : strerror(-r));
        }
        for (unsigned i = 0; i < n; i++)
                da_eval_report_free(parts[i]);
        if (r < 0)
                return EXIT_FAILURE;

        print_table(rep, preset);
        return write_outputs(rep, preset, a) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}

static void evaluate_help(void) {
        printf(_("Usage: deepactifctl evaluate --data PATH [OPTIONS]\n"
                 "       deepactifctl evaluate --merge PART... [--json FILE] [--csv FILE] [--svg FILE]\n"
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
                 "  --hop N                  Frames between windows' starts (quick 2, paper 10: windows of\n"
                 "                           distinct frames)\n"
                 "  --precision f32|bf16     Recurrent products of every training (default: f32)\n"
                 "  --threads N              Training threads (default: one per core; the figures do not\n"
                 "                           depend on it)\n"
                 "  --rank-windows N         Training windows per fold every method ranks (an evenly spaced\n"
                 "                           sample shared by all; 0 = all; quick 32, paper 256)\n"
                 "  --shard I/N              Run only the folds f with f mod N = I−1 and save them with\n"
                 "                           --json PART (for job arrays)\n"
                 "  --merge                  Join the parts of --shard 1/N … N/N given as arguments into the\n"
                 "                           table of the unsharded run\n"
                 "  --protocol clean|published\n"
                 "                           published: the papers' public code's steps, all of which use the\n"
                 "                           test subjects' labels (for comparison only; default clean)\n"
                 "  --iqr-filter             Drop rows outside Q1−1.5·IQR…Q3+1·IQR of any column, per subject\n"
                 "  --depth-bins             Resample each subject into 60 depth bins, windows from sorted rows\n"
                 "  --subject-scaler         Fit a robust scaler on each subject, the test subject too\n"
                 "  --best-epoch-on-test     Stop early and keep the best epoch on the held-out subject\n"
                 "  --reuse-model            Start each fold from the previous fold's weights\n"
                 "  --column-map SPEC        Read generic CSV/TSV recordings with this column map\n"
                 "  --format FORMAT          auto, robustvision, tobii, eyelink, pupil (default: auto)\n"
                 "  --json FILE              Write the results as JSON\n"
                 "  --csv FILE               Write the results as CSV\n"
                 "  --svg FILE               Draw MAE against k per method as SVG\n"));
}

int verb_evaluate(int argc, char **argv) {
        enum { ARG_PRESET = 0x100, ARG_METHODS, ARG_K, ARG_FOLDS, ARG_JSON, ARG_CSV, ARG_SVG, ARG_SUBJECTS,
               ARG_HIDDEN, ARG_EPOCHS, ARG_SEED, ARG_WINDOW, ARG_COLUMN_MAP, ARG_FORMAT, ARG_RANK_WINDOWS,
               ARG_SHARD, ARG_MERGE, ARG_PROTOCOL, ARG_STEP, ARG_THREADS, ARG_HOP,
               ARG_PRECISION };
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
                { "format",   required_argument, NULL, ARG_FORMAT },
                { "rank-windows", required_argument, NULL, ARG_RANK_WINDOWS },
                { "shard",    required_argument, NULL, ARG_SHARD },
                { "merge",    no_argument,       NULL, ARG_MERGE },
                { "protocol", required_argument, NULL, ARG_PROTOCOL },
                { "threads",  required_argument, NULL, ARG_THREADS },
                { "hop",      required_argument, NULL, ARG_HOP },
                { "precision", required_argument, NULL, ARG_PRECISION },
                { "iqr-filter",         no_argument, NULL, ARG_STEP },
                { "depth-bins",         no_argument, NULL, ARG_STEP },
                { "subject-scaler",     no_argument, NULL, ARG_STEP },
                { "best-epoch-on-test", no_argument, NULL, ARG_STEP },
                { "reuse-model",        no_argument, NULL, ARG_STEP },
                { "json",     required_argument, NULL, ARG_JSON },
                { "csv",      required_argument, NULL, ARG_CSV },
                { "svg",      required_argument, NULL, ARG_SVG },
                { "help",     no_argument,       NULL, 'h' },
                {}
        };
        _cleanup_(da_eval_report_freep) da_eval_report *rep = NULL;
        evaluate_args a = { .preset = DA_EVAL_PAPER, .rank_windows = UINT_MAX };
        da_eval_options o;
        long rss0 = -1;
        da_error err = {};
        int c, v, r, index = 0;

        while ((c = getopt_long(argc, argv, "d:h", options, &index)) >= 0)
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
                case ARG_HOP:
                        if (parse_positive("hop", optarg, &a.hop) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_PRECISION: {
                        int p = da_precision_from_string(optarg);

                        if (p != DA_PRECISION_F32 && p != DA_PRECISION_BF16)
                                return ctl_fail(_("Invalid --precision '%s': training runs at f32 or bf16"), optarg);
                        a.precision = (da_precision) p;
                        break;
                }
                case ARG_THREADS:
                        if (parse_positive("threads", optarg, &a.threads) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_COLUMN_MAP:
                        a.column_map = optarg;
                        break;
                case ARG_FORMAT:
                        if (ctl_parse_format(optarg, &a.format) < 0)
                                return EXIT_FAILURE;
                        break;
                case ARG_RANK_WINDOWS: {
                        char *end;
                        unsigned long n = strtoul(optarg, &end, 10);

                        if (*optarg == '\0' || *end != '\0' || n > 100000000)
                                return ctl_fail(_("--rank-windows needs a number of windows (0 = all), got '%s'"),
                                                optarg);
                        a.rank_windows = (unsigned) n;
                        break;
                }
                case ARG_SHARD:
                        if (parse_shard(optarg, &a.shard_index, &a.shard_count) < 0)
                                return ctl_fail(_("--shard takes I/N with 1 ≤ I ≤ N, got '%s'"), optarg);
                        break;
                case ARG_MERGE:
                        a.merge = true;
                        break;
                case ARG_PROTOCOL:
                        if (streq(optarg, "published"))
                                a.published = DA_PUBLISHED_ALL;
                        else if (streq(optarg, "clean"))
                                a.published = 0;
                        else
                                return ctl_fail(_("Unknown protocol '%s'; clean or published"), optarg);
                        break;
                case ARG_STEP:
                        for (unsigned i = 0; i < ELEMENTSOF(published_steps); i++)
                                if (streq(options[index].name, published_steps[i]))
                                        a.published |= 1u << i;
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
        if (a.merge) {
                if (optind >= argc)
                        return ctl_fail(_("--merge needs the parts written by --shard I/N --json PART"));
                if (a.n_paths > 0 || a.shard_count > 0)
                        return ctl_fail(_("--merge takes only parts and --json, --csv, --svg"));
                return merge(argv + optind, (unsigned) (argc - optind), &a);
        }
        if (optind < argc)
                return ctl_fail(_("Unexpected argument '%s'"), argv[optind]);
        if (a.shard_count > 0 && !a.json)
                return ctl_fail(_("--shard needs --json PART to save its folds for --merge"));
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
        if (a.hop > 0)
                o.data.hop = a.hop;
        if (a.column_map)
                o.data.column_map = a.column_map;
        else
                o.data.format = a.format;
        if (a.hidden > 0)
                o.train.hidden = a.hidden;
        o.train.precision = a.precision;
        if (a.epochs > 0)
                o.train.epochs = a.epochs;
        if (a.threads > 0)
                o.train.threads = a.threads;
        if (a.seed_set) {
                o.seed = a.seed;
                o.train.seed = a.seed;
        }
        if (a.rank_windows != UINT_MAX)
                o.rank_windows = a.rank_windows;
        o.shard_index = a.shard_index;
        o.shard_count = a.shard_count;
        o.published = a.published;
        if (o.published) {
                fprintf(stderr, _("Warning: the published protocol's steps ("));
                print_steps(stderr, o.published);
                fprintf(stderr, _(") use the test subjects' labels or data; the figures are for comparison with "
                                  "the papers, not an estimate of the error on new users.\n"));
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

        if (rep->shard_count > 1) {
                unsigned folds = 0;

                for (unsigned f = 0; f < rep->n_folds; f++)
                        folds += rep->fold_done[f];
                if (write_json(rep, da_eval_preset_to_string(a.preset), a.json) < 0)
                        return EXIT_FAILURE;
                printf(_("Shard %u/%u: %u of %u folds in %.0f s, saved to %s; join the parts with deepactifctl "
                         "evaluate --merge\n"), rep->shard_index + 1, rep->shard_count, folds, rep->n_folds,
                       rep->seconds, a.json);
                return EXIT_SUCCESS;
        }
        print_table(rep, da_eval_preset_to_string(a.preset));
        return write_outputs(rep, da_eval_preset_to_string(a.preset), &a) < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
