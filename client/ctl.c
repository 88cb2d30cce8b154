/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* deepactifctl: command dispatch and the helpers every command shares. */

#include <getopt.h>
#include <locale.h>
#include <math.h>

#include "ctl.h"

static const struct {
        const char *name;
        ctl_verb fn;
} verbs[] = {
        { "model",   verb_model },
        { "predict", verb_predict },
        { "bench",   verb_bench },
        { "rank",     verb_rank },
        { "attribute", verb_attribute },
        { "features", verb_features },
        { "channels", verb_channels },
        { "train",    verb_train },
        { "score",    verb_score },
        { "evaluate", verb_evaluate },
        { "status",   verb_daemon },
        { "devices",  verb_daemon },
        { "top",      verb_daemon },
        { "watch",    verb_daemon },
        { "history",  verb_daemon },
        { "events",   verb_daemon },
        { "export",   verb_daemon },
        { "reload",   verb_daemon },
        { "reset-user", verb_daemon },
        { "metrics",  verb_daemon },
};

int ctl_fail(const char *fmt, ...) {
        va_list ap;

        fputs("deepactifctl: ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
        fputc('\n', stderr);
        return EXIT_FAILURE;
}

int ctl_load_model(const char *path, da_model **ret) {
        da_error err = {};
        int r;

        r = da_model_load(path, ret, &err);
        if (r < 0)
                ctl_fail(_("Failed to load model '%s': %s"), path, err.message[0] ? err.message : strerror(-r));
        return r;
}

int ctl_read_window(const char *path, unsigned F, float **ret_x, unsigned *ret_T) {
        _cleanup_fclose_ FILE *f = NULL;
        _cleanup_free_ float *x = NULL;
        _cleanup_free_ char *line = NULL;
        size_t size = 0, cap = 0, n = 0;
        unsigned T = 0, lineno = 0;

        f = streq(path, "-") ? NULL : fopen(path, "re");
        if (!f && !streq(path, "-"))
                return ctl_fail(_("Failed to open input '%s': %m"), path), -errno;

        while (getline(&line, &size, f ? f : stdin) >= 0) {
                char *p = line, *end;
                unsigned k = 0;

                lineno++;
                p += strspn(p, " \t\r\n");
                if (*p == '\0' || *p == '#')
                        continue;
                if (n + F > cap) {
                        float *nx;

                        cap = cap ? cap * 2 : 64 * F;
                        nx = realloc(x, cap * sizeof(float));
                        if (!nx)
                                return -ENOMEM;
                        x = nx;
                }
                for (;;) {
                        double v;

                        errno = 0;
                        v = strtod(p, &end);
                        if (end == p || errno != 0 || !isfinite(v)) {
                                ctl_fail(_("Input '%s' line %u, value %u: not a finite number"), path, lineno, k + 1);
                                return -EINVAL;
                        }
                        if (k >= F) {
                                ctl_fail(_("Input '%s' line %u has more than the model's %u features"), path, lineno, F);
                                return -EINVAL;
                        }
                        x[n + k++] = (float) v;
                        p = end + strspn(end, " \t");
                        if (*p == ',') {
                                p++;
                                continue;
                        }
                        p += strspn(p, " \t\r\n");
                        if (*p != '\0') {
                                ctl_fail(_("Input '%s' line %u: expected ',' after value %u"), path, lineno, k);
                                return -EINVAL;
                        }
                        break;
                }
                if (k != F) {
                        ctl_fail(_("Input '%s' line %u has %u values, the model takes %u features"), path, lineno, k, F);
                        return -EINVAL;
                }
                n += F;
                T++;
        }
        if (T == 0) {
                ctl_fail(_("Input '%s' holds no rows"), path);
                return -EINVAL;
        }
        *ret_x = TAKE_PTR(x);
        *ret_T = T;
        return 0;
}

int ctl_parse_format(const char *s, da_recording_format *ret) {
        int v = da_recording_format_from_string(s);

        if (v < 0 || v == DA_REC_CSV) {
                ctl_fail(_("Unknown recording format '%s'; one of auto, robustvision, tobii, eyelink, pupil"), s);
                return -EINVAL;
        }
        *ret = v;
        return 0;
}

void ctl_print_json(json_object *o) {
        int flags = isatty(STDOUT_FILENO) ? JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED : JSON_C_TO_STRING_PLAIN;

        puts(json_object_to_json_string_ext(o, flags | JSON_C_TO_STRING_NOSLASHESCAPE));
}

static void help(void) {
        printf(_("Usage: %s [OPTIONS] COMMAND ...\n"
                 "\n"
                 "Query the deepactif daemon, and work with gaze models locally.\n"
                 "\n"
                 "Daemon commands (D-Bus; --user for the session bus, --varlink PATH):\n"
                 "  status                         The daemon's version and state\n"
                 "  devices                        The devices it reads and their counters\n"
                 "  top [-k N] [--device D] [--method M]\n"
                 "                                 The newest ranking, with score bars\n"
                 "  watch [-k N] [--device D] [-n COUNT] [--events]\n"
                 "                                 Redraw the ranking on every RankingChanged\n"
                 "  history [--device D] [--since US] [--until US]\n"
                 "                                 Stored rankings, newest first\n"
                 "  events [--device D] [--since US]\n"
                 "                                 Ranking-shift and input-health events, oldest first\n"
                 "  export [--format csv|json]     Stored rankings for other tools\n"
                 "  reload                         Reload configuration and model (root)\n"
                 "  reset-user --device D          A new person uses D: its per-user statistics\n"
                 "                                 warm up again (root)\n"
                 "  metrics                        The Prometheus metrics MetricsFile= receives\n"
                 "  Each takes --json, --system (default), --user, --varlink PATH.\n"
                 "\n"
                 "Local commands:\n"
                 "  model info FILE [--json]       Show a model's architecture and features\n"
                 "  model convert --precision P IN OUT\n"
                 "                                 Store the LSTM's weights as f32, bf16, f16 or i8\n"
                 "  predict --model FILE --input WINDOW.csv [--json]\n"
                 "                                 Run a model on one window of scaled inputs\n"
                 "  bench [--json]                 Measure the LSTM kernels on this machine\n"
                 "  rank --model FILE --input RECORDING [--method M] [--location L]\n"
                 "       [--aggregation A] [--json]\n"
                 "                                 Rank the model's input features over a recording\n"
                 "  features [--json]              List the derived features models can use\n"
                 "  channels [--json]              List the raw channels and their units\n"
                 "  attribute --model FILE --input WINDOW.csv --method M [--json]\n"
                 "                                 Attribute one window with any method\n"
                 "  train --data PATH... --out MODEL [--hidden H] [--epochs N]\n"
                 "                                 Train a model on recordings\n"
                 "  score [--model FILE] --data PATH... [--json]\n"
                 "                                 A model's mean absolute error on recordings\n"
                 "  evaluate --data PATH [--preset quick|paper] [--json FILE]\n"
                 "                                 The keep-top-k evaluation of the ranking methods\n"
                 "\n"
                 "Options:\n"
                 "     --system                    Talk to the system daemon (default)\n"
                 "     --user                      Talk to a daemon on the session bus\n"
                 "     --varlink PATH              Talk varlink on the Unix socket PATH\n"
                 "     --json                      Print JSON\n"
                 "  -h --help                      Show this help\n"
                 "     --version                   Show the version\n"
                 "\n"
                 "See deepactifctl(1) for details.\n"),
               program_invocation_short_name);
}

int main(int argc, char **argv) {
        enum { ARG_VERSION = 0x100, ARG_USER, ARG_SYSTEM, ARG_VARLINK, ARG_JSON };
        static const struct option options[] = {
                { "help",    no_argument,       NULL, 'h' },
                { "version", no_argument,       NULL, ARG_VERSION },
                { "user",    no_argument,       NULL, ARG_USER },
                { "system",  no_argument,       NULL, ARG_SYSTEM },
                { "varlink", required_argument, NULL, ARG_VARLINK },
                { "json",    no_argument,       NULL, ARG_JSON },
                {}
        };
        /* Options given before the command are handed to it, so
         * "deepactifctl --user status" and "deepactifctl status --user" agree. */
        _cleanup_free_ char **args = NULL;
        int c, n = 0, k;

        setlocale(LC_ALL, "");
        /* Inputs and JSON output use '.' whatever the language. */
        setlocale(LC_NUMERIC, "C");
        /* A catalogue from a build tree, for testing translations. */
        bindtextdomain(PACKAGE, secure_getenv("DEEPACTIF_LOCALEDIR") ?: LOCALEDIR);
        textdomain(PACKAGE);

        args = calloc((size_t) argc + 1, sizeof(char *));
        if (!args)
                return ctl_fail("%s", strerror(ENOMEM));

        while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return EXIT_SUCCESS;
                case ARG_VERSION:
                        puts(PACKAGE_STRING);
                        return EXIT_SUCCESS;
                case ARG_USER:
                case ARG_SYSTEM:
                case ARG_JSON:
                        args[1 + n++] = argv[optind - 1];
                        break;
                case ARG_VARLINK:
                        args[1 + n++] = (char *) "--varlink";
                        args[1 + n++] = optarg;
                        break;
                default:
                        return EXIT_FAILURE;
                }

        if (optind >= argc) {
                help();
                return EXIT_FAILURE;
        }
        k = optind;
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(argv[k], verbs[i].name)) {
                        /* the command's own words, then the options that came before it */
                        memmove(args + 1 + (argc - k - 1), args + 1, n * sizeof(char *));
                        args[0] = argv[k];
                        memcpy(args + 1, argv + k + 1, (argc - k - 1) * sizeof(char *));
                        optind = 0;     /* getopt starts afresh for the command */
                        return verbs[i].fn(argc - k + n, args);
                }
        return ctl_fail(_("Unknown command '%s'. See '%s --help'."), argv[k], program_invocation_short_name);
}
