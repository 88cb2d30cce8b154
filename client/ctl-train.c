/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl train, score: train a depth model on recordings, and measure
 * a model's mean absolute error on recordings. */

#include <getopt.h>
#include <math.h>

#include "ctl.h"

#define DEFAULT_MODEL "foval-robustvision.safetensors"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_dataset *, da_dataset_free);

typedef struct str_list {
        const char **v;
        unsigned n;
} str_list;

static void str_list_done(str_list *l) {
        free(l->v);
}

static int str_list_add(str_list *l, const char *s) {
        const char **v = realloc(l->v, (l->n + 1) * sizeof(char *));

        if (!v)
                return -ENOMEM;
        v[l->n++] = s;
        l->v = v;
        return 0;
}

/* Splits a comma-separated list in place. */
static int split_list(char *s, str_list *ret) {
        for (char *tok = strtok(s, ","); tok; tok = strtok(NULL, ","))
                if (str_list_add(ret, tok + strspn(tok, " ")) < 0)
                        return -ENOMEM;
        return ret->n > 0 ? 0 : -EINVAL;
}

static int parse_unsigned(const char *s, unsigned min, unsigned max, unsigned *ret) {
        unsigned long v;
        char *end;

        errno = 0;
        v = strtoul(s, &end, 10);
        if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < min || v > max)
                return -ERANGE;
        *ret = (unsigned) v;
        return 0;
}

static int parse_double(const char *s, double min, bool min_allowed, double *ret) {
        char *end;
        double v;

        errno = 0;
        v = strtod(s, &end);
        if (errno != 0 || end == s || *end != '\0' || !isfinite(v) || !(min_allowed ? v >= min : v > min))
                return -ERANGE;
        *ret = v;
        return 0;
}

static int parse_positive(const char *s, double *ret) {
        return parse_double(s, 0, false, ret);
}

static int parse_non_negative(const char *s, double *ret) {
        return parse_double(s, 0, true, ret);
}

static int load_data(const str_list *paths, const da_dataset_options *o, da_dataset **ret) {
        da_error err = {};
        int r;

        r = da_dataset_load(paths->v, paths->n, o, ret, &err);
        if (r < 0)
                return ctl_fail(_("Failed to load the data: %s"), err.message[0] ? err.message : strerror(-r)), r;
        for (unsigned i = 0; i < da_dataset_n_skipped(*ret); i++)
                fprintf(stderr, _("deepactifctl: skipped %s\n"), da_dataset_skipped(*ret, i));
        return 0;
}

/* The options train and score share: which recordings, and how to read
 * them. Each command numbers its own options from ARG_DATA_END. */
enum { ARG_DATA = 0x100, ARG_COLUMN_MAP, ARG_FORMAT, ARG_KEEP_REPEATS, ARG_DATA_END };
#define DATA_OPTIONS                                                            \
        { "data",         required_argument, NULL, ARG_DATA },                 \
        { "column-map",   required_argument, NULL, ARG_COLUMN_MAP },           \
        { "format",       required_argument, NULL, ARG_FORMAT },               \
        { "keep-repeats", no_argument,       NULL, ARG_KEEP_REPEATS }

/* Takes option c if it is one of DATA_OPTIONS: 1 when taken, 0 when c is
 * another option, -1 when its argument is invalid (said on stderr). */
static int data_option(int c, const char *arg, str_list *data, da_dataset_options *o) {
        int r;

        switch (c) {
        case ARG_DATA:
                r = str_list_add(data, arg);
                if (r < 0)
                        return ctl_fail("%s", strerror(-r)), -1;
                return 1;
        case ARG_COLUMN_MAP:
                o->column_map = arg;
                o->format = DA_REC_CSV;
                return 1;
        case ARG_FORMAT:
                return ctl_parse_format(arg, &o->format) < 0 ? -1 : 1;
        case ARG_KEEP_REPEATS:
                o->keep_repeats = true;
                return 1;
        default:
                return 0;
        }
}

/* Arguments after the options are recordings too. */
static int data_operands(int argc, char **argv, str_list *data) {
        for (int i = optind; i < argc; i++)
                if (str_list_add(data, argv[i]) < 0)
                        return ctl_fail("%s", strerror(ENOMEM)), -1;
        return 0;
}

typedef struct progress {
        bool tty;
        double best;
} progress;

static void show_progress(unsigned epoch, unsigned epochs, double loss, double val_mae, void *userdata) {
        progress *p = userdata;
        int width = 30, done = (int) lround((double) width * epoch / epochs);

        if (isfinite(val_mae) && !(val_mae >= p->best))
                p->best = val_mae;
        if (!p->tty)
                return;
        fprintf(stderr, "\r[%.*s%*s] %s %u/%u  %s %.4f  %s %.1f cm   ", done,
                "##############################", width - done, "", _("epoch"), epoch, epochs, _("loss"), loss,
                _("validation MAE"), val_mae * 100);
}

/* The ranking the daemon compares each device's against: the same trace
 * and aggregation as its defaults (deepactifd.conf(5)), over every training
 * window. */
static int add_reference_ranking(da_model *m, const da_dataset *ds, const unsigned *subjects, unsigned n) {
        _cleanup_free_ double *scores = NULL;
        da_error err = {};
        size_t windows = 0;
        int r;

        scores = calloc(da_model_arch(m)->n_features, sizeof(double));
        if (!scores)
                return ctl_fail("%s", strerror(ENOMEM)), -ENOMEM;
        r = da_dataset_rank(m, ds, subjects, n, DA_TRACE_GATE, DA_AGG_DEFAULT, scores, &windows, &err);
        if (r >= 0)
                r = da_model_set_reference_ranking(m, &(da_reference_ranking) {
                                .location = DA_TRACE_GATE,
                                .aggregation = DA_AGG_DEFAULT,
                                .windows = windows,
                                .scores = scores,
                        });
        if (r < 0)
                return ctl_fail(_("Failed to rank the training windows: %s"),
                                err.message[0] ? err.message : strerror(-r)), r;
        return 0;
}

static void train_help(void) {
        printf(_("Usage: %s train --data PATH... --out MODEL [OPTIONS]\n"
                 "\n"
                 "Train a depth model (LSTM with the FOVAL head) on recordings, one subject per\n"
                 "file; directories contribute every recording in them.\n"
                 "\n"
                 "  --data PATH          A recording or a directory of them (repeatable)\n"
                 "  --out MODEL          Where to write the model (safetensors)\n"
                 "  --hidden H           LSTM hidden size (64)\n"
                 "  --epochs N           At most N epochs (30); stops early on the validation MAE\n"
                 "  --features LIST      Comma-separated feature names (the Robust Vision set)\n"
                 "  --seed S             Seed of initialisation and shuffling (0)\n"
                 "  --threads N          Threads (one per core)\n"
                 "  --window T           Frames per window (10)\n"
                 "  --batch N            Windows per minibatch (64)\n"
                 "  --lr RATE            AdamW learning rate (0.001)\n"
                 "  --loss-beta METRES   SmoothL1 loss: quadratic below METRES, linear above (1);\n"
                 "                       0 is the L1 loss (mean absolute error)\n"
                 "  --precision P        Recurrent products: f32, or bf16 (bf16 operands, float32\n"
                 "                       sums and weights; fast with AVX512_BF16) (f32)\n"
                 "  --scaling MODE       global (the training subjects' median/IQR, stored) or\n"
                 "                       per-user (each user's own, online; needs --warmup)\n"
                 "  --warmup N           Per-user warm-up in valid frames\n"
                 "  --val-subjects N     Hold out N whole training subjects for early stopping\n"
                 "                       (default: 10%% of each subject's windows)\n"
                 "  --keep-repeats       Keep samples that repeat the previous one\n"
                 "  --column-map SPEC    Read generic CSV/TSV files with this column map\n"
                 "  --format FORMAT      auto, robustvision, tobii, eyelink, pupil (auto)\n"),
               program_invocation_short_name);
}

int verb_train(int argc, char **argv) {
        enum { ARG_OUT = ARG_DATA_END, ARG_HIDDEN, ARG_EPOCHS, ARG_FEATURES, ARG_SEED, ARG_THREADS, ARG_WINDOW,
               ARG_BATCH, ARG_LR, ARG_LOSS_BETA, ARG_PRECISION, ARG_SCALING, ARG_WARMUP, ARG_VAL_SUBJECTS };
        static const struct option options[] = {
                { "help",       no_argument,       NULL, 'h' },
                DATA_OPTIONS,
                { "out",        required_argument, NULL, ARG_OUT },
                { "scaling",    required_argument, NULL, ARG_SCALING },
                { "warmup",     required_argument, NULL, ARG_WARMUP },
                { "val-subjects", required_argument, NULL, ARG_VAL_SUBJECTS },
                { "hidden",     required_argument, NULL, ARG_HIDDEN },
                { "epochs",     required_argument, NULL, ARG_EPOCHS },
                { "features",   required_argument, NULL, ARG_FEATURES },
                { "seed",       required_argument, NULL, ARG_SEED },
                { "threads",    required_argument, NULL, ARG_THREADS },
                { "window",     required_argument, NULL, ARG_WINDOW },
                { "batch",      required_argument, NULL, ARG_BATCH },
                { "lr",         required_argument, NULL, ARG_LR },
                { "loss-beta",  required_argument, NULL, ARG_LOSS_BETA },
                { "precision",  required_argument, NULL, ARG_PRECISION },
                {}
        };
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL;
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_free_ unsigned *subjects = NULL;
        _cleanup_(str_list_done) str_list data = {}, features = {};
        da_dataset_options dopt;
        da_train_options topt;
        progress prog = { .tty = isatty(STDERR_FILENO), .best = INFINITY };
        const char *out = NULL;
        da_error err = {};
        size_t windows = 0;
        int c, r;

        da_dataset_options_init(&dopt);
        da_train_options_init(&topt);
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                r = data_option(c, optarg, &data, &dopt);
                if (r < 0)
                        return EXIT_FAILURE;
                if (r > 0)
                        continue;
                switch (c) {
                case 'h':
                        train_help();
                        return EXIT_SUCCESS;
                case ARG_OUT:
                        out = optarg;
                        break;
                case ARG_HIDDEN:
                        if (parse_unsigned(optarg, 1, 4096, &topt.hidden) < 0)
                                return ctl_fail(_("Invalid --hidden '%s': expected 1..4096"), optarg);
                        break;
                case ARG_EPOCHS:
                        if (parse_unsigned(optarg, 1, 100000, &topt.epochs) < 0)
                                return ctl_fail(_("Invalid --epochs '%s'"), optarg);
                        break;
                case ARG_FEATURES:
                        features.n = 0;
                        r = split_list(optarg, &features);
                        if (r < 0)
                                return ctl_fail(_("Invalid --features '%s'"), optarg);
                        break;
                case ARG_SEED: {
                        char *end;

                        errno = 0;
                        topt.seed = strtoull(optarg, &end, 0);
                        if (errno != 0 || end == optarg || *end != '\0')
                                return ctl_fail(_("Invalid --seed '%s'"), optarg);
                        break;
                }
                case ARG_THREADS:
                        if (parse_unsigned(optarg, 1, 64, &topt.threads) < 0)
                                return ctl_fail(_("Invalid --threads '%s': expected 1..64"), optarg);
                        break;
                case ARG_WINDOW:
                        if (parse_unsigned(optarg, 1, 10000, &dopt.window) < 0)
                                return ctl_fail(_("Invalid --window '%s'"), optarg);
                        break;
                case ARG_BATCH:
                        if (parse_unsigned(optarg, 1, 4096, &topt.batch) < 0)
                                return ctl_fail(_("Invalid --batch '%s': expected 1..4096"), optarg);
                        break;
                case ARG_LR:
                        if (parse_positive(optarg, &topt.lr) < 0)
                                return ctl_fail(_("Invalid --lr '%s'"), optarg);
                        break;
                case ARG_LOSS_BETA:
                        if (parse_non_negative(optarg, &topt.beta) < 0)
                                return ctl_fail(_("Invalid --loss-beta '%s': expected a finite length >= 0 in metres"),
                                                optarg);
                        break;
                case ARG_PRECISION:
                        r = da_precision_from_string(optarg);
                        if (r != DA_PRECISION_F32 && r != DA_PRECISION_BF16)
                                return ctl_fail(_("Invalid --precision '%s': training runs at f32 or bf16"), optarg);
                        topt.precision = (da_precision) r;
                        break;
                case ARG_SCALING:
                        r = da_scaling_from_string(optarg);
                        if (r < 0)
                                return ctl_fail(_("Unknown scaling '%s': expected global or per-user"), optarg);
                        topt.scaling = (da_scaling) r;
                        break;
                case ARG_WARMUP:
                        if (parse_unsigned(optarg, 4, DA_USER_SCALER_WARMUP_MAX, &topt.warmup) < 0)
                                return ctl_fail(_("Invalid --warmup '%s': expected 4..%u frames"), optarg,
                                                DA_USER_SCALER_WARMUP_MAX);
                        break;
                case ARG_VAL_SUBJECTS:
                        if (parse_unsigned(optarg, 1, 100000, &topt.val_subjects) < 0)
                                return ctl_fail(_("Invalid --val-subjects '%s'"), optarg);
                        break;
                default:
                        return EXIT_FAILURE;
                }
        }
        if (data_operands(argc, argv, &data) < 0)
                return EXIT_FAILURE;
        if (topt.scaling == DA_SCALING_PER_USER && topt.warmup == 0)
                return ctl_fail(_("--scaling per-user needs --warmup N"));
        if (data.n == 0 || !out)
                return ctl_fail(_("train needs --data PATH and --out MODEL. See '%s train --help'."),
                                program_invocation_short_name);
        if (features.n > 0) {
                dopt.features = features.v;
                dopt.n_features = features.n;
        }

        if (load_data(&data, &dopt, &ds) < 0)
                return EXIT_FAILURE;
        subjects = calloc(da_dataset_n_subjects(ds), sizeof(unsigned));
        if (!subjects)
                return ctl_fail("%s", strerror(ENOMEM));
        for (unsigned s = 0; s < da_dataset_n_subjects(ds); s++) {
                subjects[s] = s;
                windows += da_dataset_n_windows(ds, s);
        }

        topt.progress = show_progress;
        topt.userdata = &prog;
        r = da_train(ds, subjects, da_dataset_n_subjects(ds), &topt, &m, &err);
        if (prog.tty)
                fputc('\n', stderr);
        if (r < 0)
                return ctl_fail(_("Training failed: %s"), err.message[0] ? err.message : strerror(-r));
        r = add_reference_ranking(m, ds, subjects, da_dataset_n_subjects(ds));
        if (r < 0)
                return EXIT_FAILURE;
        r = da_model_save(m, out, &err);
        if (r < 0)
                return ctl_fail(_("Failed to write '%s': %s"), out, err.message[0] ? err.message : strerror(-r));

        printf(_("Trained H=%u on %u subjects (%zu windows of %u frames); best validation MAE %.2f cm; wrote %s\n"),
               topt.hidden, da_dataset_n_subjects(ds), windows, dopt.window, prog.best * 100, out);
        return EXIT_SUCCESS;
}

/* The installed default model, or the source tree's when running from a
 * build tree before installation. */
static const char *default_model(void) {
        static const char installed[] = PKGDATADIR "/models/" DEFAULT_MODEL;

#ifdef TOP_SRCDIR
        if (access(installed, R_OK) < 0 && access(TOP_SRCDIR "/contrib/models/" DEFAULT_MODEL, R_OK) == 0)
                return TOP_SRCDIR "/contrib/models/" DEFAULT_MODEL;
#endif
        return installed;
}

static void score_help(void) {
        printf(_("Usage: %s score [--model FILE] --data PATH... [--train PATH...] [--json]\n"
                 "\n"
                 "Print a depth model's mean absolute error over the windows of recordings\n"
                 "whose target depth is in 0.35..3 m, per subject and overall, scaled as the\n"
                 "daemon scales them. With --train, beside it the error of the training\n"
                 "windows' median depth and of a ridge regression on the same scaled inputs,\n"
                 "fit on those recordings. Without --model, the default model\n"
                 "(%s).\n"
                 "\n"
                 "  --model FILE         The model (safetensors)\n"
                 "  --data PATH          A recording or a directory of them (repeatable)\n"
                 "  --train PATH         Training recordings for the references (repeatable)\n"
                 "  --keep-repeats       Keep samples that repeat the previous one\n"
                 "  --column-map SPEC    Read generic CSV/TSV files with this column map\n"
                 "  --json               Print JSON\n"),
               program_invocation_short_name, default_model());
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_reference *, da_reference_free);

typedef struct subject_score {
        double sum, sum_median, sum_ridge;
        size_t windows;
} subject_score;

/* Where in depth the error lies: by geometry far targets are the hard
 * part (vergence changes little there). */
static const double depth_band_edges[] = { 0.35, 0.5, 1.0, 2.0, 3.0 };
#define N_DEPTH_BANDS (sizeof depth_band_edges / sizeof depth_band_edges[0] - 1)

typedef struct depth_band {
        double sum_abs, sum_signed;
        size_t windows;
} depth_band;

static void depth_band_add(depth_band bands[static N_DEPTH_BANDS], double pred, double target) {
        for (size_t b = 0; b < N_DEPTH_BANDS; b++)
                if (target < depth_band_edges[b + 1] || b + 1 == N_DEPTH_BANDS) {
                        bands[b].sum_abs += fabs(pred - target);
                        bands[b].sum_signed += pred - target;
                        bands[b].windows++;
                        return;
                }
}

int verb_score(int argc, char **argv) {
        enum { ARG_MODEL = ARG_DATA_END, ARG_JSON, ARG_TRAIN };
        static const struct option options[] = {
                { "help",       no_argument,       NULL, 'h' },
                DATA_OPTIONS,
                { "model",      required_argument, NULL, ARG_MODEL },
                { "train",      required_argument, NULL, ARG_TRAIN },
                { "json",       no_argument,       NULL, ARG_JSON },
                {}
        };
        _cleanup_(da_dataset_freep) da_dataset *ds = NULL, *train_ds = NULL;
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_reference_freep) da_reference *ref = NULL;
        _cleanup_free_ const char **names = NULL;
        _cleanup_free_ subject_score *sc = NULL;
        _cleanup_(str_list_done) str_list data = {}, train = {};
        da_dataset_options dopt;
        const da_arch *a;
        const char *model = NULL;
        da_error err = {};
        bool json = false;
        subject_score all = {};
        depth_band bands[N_DEPTH_BANDS] = {};
        unsigned n_sub;
        int c, r;

        da_dataset_options_init(&dopt);
        while ((c = getopt_long(argc, argv, "h", options, NULL)) >= 0) {
                r = data_option(c, optarg, &data, &dopt);
                if (r < 0)
                        return EXIT_FAILURE;
                if (r > 0)
                        continue;
                switch (c) {
                case 'h':
                        score_help();
                        return EXIT_SUCCESS;
                case ARG_MODEL:
                        model = optarg;
                        break;
                case ARG_TRAIN:
                        r = str_list_add(&train, optarg);
                        if (r < 0)
                                return ctl_fail("%s", strerror(-r));
                        break;
                case ARG_JSON:
                        json = true;
                        break;
                default:
                        return EXIT_FAILURE;
                }
        }
        if (data_operands(argc, argv, &data) < 0)
                return EXIT_FAILURE;
        if (data.n == 0)
                return ctl_fail(_("score needs --data PATH. See '%s score --help'."), program_invocation_short_name);
        if (!model)
                model = default_model();
        if (ctl_load_model(model, &m) < 0)
                return EXIT_FAILURE;

        /* The model decides the windows: its features, window and hop. */
        a = da_model_arch(m);
        names = calloc(a->n_features, sizeof(char *));
        if (!names)
                return ctl_fail("%s", strerror(ENOMEM));
        for (unsigned f = 0; f < a->n_features; f++) {
                names[f] = da_model_feature(m, f);
                if (!names[f])
                        return ctl_fail(_("Model '%s' names no input features"), model);
        }
        dopt.features = names;
        dopt.n_features = a->n_features;
        dopt.window = a->window;
        dopt.hop = a->hop;
        if (load_data(&data, &dopt, &ds) < 0)
                return EXIT_FAILURE;
        if (train.n > 0) {
                if (load_data(&train, &dopt, &train_ds) < 0)
                        return EXIT_FAILURE;
                r = da_reference_fit(m, train_ds, &ref, &err);
                if (r < 0)
                        return ctl_fail(_("Failed to fit the reference predictors: %s"),
                                        err.message[0] ? err.message : strerror(-r));
        }

        n_sub = da_dataset_n_subjects(ds);
        sc = calloc(n_sub, sizeof(subject_score));
        if (!sc)
                return ctl_fail("%s", strerror(ENOMEM));
        for (unsigned s = 0; s < n_sub; s++) {
                _cleanup_free_ float *pred = NULL, *target = NULL;
                size_t n;

                r = da_predict_subject(m, ds, s, &pred, &target, &n, &err);
                if (r < 0)
                        return ctl_fail(_("Failed to score '%s': %s"), model,
                                        err.message[0] ? err.message : strerror(-r));
                for (size_t w = 0; w < n; w++) {
                        sc[s].sum += fabs((double) pred[w] - (double) target[w]);
                        depth_band_add(bands, pred[w], target[w]);
                }
                sc[s].windows = n;
                if (ref) {
                        double med, ridge;
                        size_t k;

                        r = da_reference_score(ref, m, ds, s, &med, &ridge, &k, &err);
                        if (r < 0)
                                return ctl_fail(_("Failed to score the reference predictors: %s"),
                                                err.message[0] ? err.message : strerror(-r));
                        sc[s].sum_median = k ? med * (double) k : 0;
                        sc[s].sum_ridge = k ? ridge * (double) k : 0;
                }
                all.sum += sc[s].sum;
                all.sum_median += sc[s].sum_median;
                all.sum_ridge += sc[s].sum_ridge;
                all.windows += n;
        }
        if (all.windows == 0)
                return ctl_fail(_("Failed to score '%s': the recordings hold no window to score"), model);

        if (json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object *subjects = json_object_new_array();

                json_object_object_add(o, "mae_cm", json_object_new_double(all.sum / (double) all.windows * 100));
                json_object_object_add(o, "windows", json_object_new_int64((int64_t) all.windows));
                for (unsigned s = 0; s < n_sub; s++) {
                        json_object *j = json_object_new_object();

                        json_object_object_add(j, "name", json_object_new_string(da_dataset_subject(ds, s)));
                        json_object_object_add(j, "windows", json_object_new_int64((int64_t) sc[s].windows));
                        json_object_object_add(j, "mae_cm", sc[s].windows ?
                                               json_object_new_double(sc[s].sum / (double) sc[s].windows * 100) : NULL);
                        if (ref && sc[s].windows) {
                                json_object *rj = json_object_new_object();

                                json_object_object_add(rj, "median", json_object_new_double(
                                                               sc[s].sum_median / (double) sc[s].windows * 100));
                                json_object_object_add(rj, "ridge", json_object_new_double(
                                                               sc[s].sum_ridge / (double) sc[s].windows * 100));
                                json_object_object_add(j, "reference", rj);
                        }
                        json_object_array_add(subjects, j);
                }
                json_object_object_add(o, "subjects", subjects);
                subjects = json_object_new_array();
                for (size_t b = 0; b < N_DEPTH_BANDS; b++) {
                        json_object *j = json_object_new_object();
                        double k = (double) bands[b].windows;

                        json_object_object_add(j, "from_m", json_object_new_double(depth_band_edges[b]));
                        json_object_object_add(j, "to_m", json_object_new_double(depth_band_edges[b + 1]));
                        json_object_object_add(j, "windows", json_object_new_int64((int64_t) bands[b].windows));
                        json_object_object_add(j, "mae_cm", k > 0 ? json_object_new_double(bands[b].sum_abs / k * 100) : NULL);
                        json_object_object_add(j, "bias_cm",
                                               k > 0 ? json_object_new_double(bands[b].sum_signed / k * 100) : NULL);
                        json_object_array_add(subjects, j);
                }
                json_object_object_add(o, "depths", subjects);
                if (ref) {
                        json_object *rj = json_object_new_object();

                        json_object_object_add(rj, "median",
                                               json_object_new_double(all.sum_median / (double) all.windows * 100));
                        json_object_object_add(rj, "ridge",
                                               json_object_new_double(all.sum_ridge / (double) all.windows * 100));
                        json_object_object_add(o, "reference", rj);
                } else
                        json_object_object_add(o, "reference", NULL);
                ctl_print_json(o);
                return EXIT_SUCCESS;
        }

        if (ref)
                printf("%-16s %8s %10s %10s %10s\n", _("SUBJECT"), _("WINDOWS"), _("MAE/cm"), _("MEDIAN/cm"),
                       _("RIDGE/cm"));
        else
                printf("%-16s %8s %10s\n", _("SUBJECT"), _("WINDOWS"), _("MAE/cm"));
        for (unsigned s = 0; s < n_sub; s++) {
                double k = (double) sc[s].windows;

                if (sc[s].windows == 0)
                        printf("%-16s %8zu %10s\n", da_dataset_subject(ds, s), sc[s].windows, "-");
                else if (ref)
                        printf("%-16s %8zu %10.2f %10.2f %10.2f\n", da_dataset_subject(ds, s), sc[s].windows,
                               sc[s].sum / k * 100, sc[s].sum_median / k * 100, sc[s].sum_ridge / k * 100);
                else
                        printf("%-16s %8zu %10.2f\n", da_dataset_subject(ds, s), sc[s].windows, sc[s].sum / k * 100);
        }
        printf("\n%-16s %8s %10s %10s\n", _("TARGET DEPTH"), _("WINDOWS"), _("MAE/cm"), _("BIAS/cm"));
        for (size_t b = 0; b < N_DEPTH_BANDS; b++) {
                char band[32];
                double k = (double) bands[b].windows;

                snprintf(band, sizeof band, "%.2f-%.2f m", depth_band_edges[b], depth_band_edges[b + 1]);
                if (bands[b].windows == 0)
                        printf("%-16s %8zu %10s %10s\n", band, bands[b].windows, "-", "-");
                else
                        printf("%-16s %8zu %10.2f %+10.2f\n", band, bands[b].windows, bands[b].sum_abs / k * 100,
                               bands[b].sum_signed / k * 100);
        }
        printf(_("MAE %.2f cm over %zu windows of %u subjects (%s)\n"), all.sum / (double) all.windows * 100,
               all.windows, n_sub, model);
        if (ref)
                printf(_("References: training median %.2f cm, ridge regression %.2f cm\n"),
                       all.sum_median / (double) all.windows * 100, all.sum_ridge / (double) all.windows * 100);
        return EXIT_SUCCESS;
}
