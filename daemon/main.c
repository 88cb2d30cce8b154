/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* deepactifd(8): options, logging, and the manager's event loop. */

#include <errno.h>
#include <getopt.h>
#include <locale.h>
#include <math.h>

#include "bus-device.h"
#include "bus-manager.h"
#include "bus.h"
#include "event-journal.h"
#include "i18n.h"
#include "log.h"
#include "manager.h"
#include "metrics.h"
#include "varlink-manager.h"
#include "varlink.h"

static void help(void) {
        printf(_("%s [OPTIONS...]\n\n"
               "Runs eye-tracker streams through an LSTM gaze model and keeps a rolling\n"
               "DeepACTIF ranking of the input features the model relies on.\n\n"
               "  -h --help              Show this help\n"
               "     --version           Show the package version\n"
               "  -c --config=PATH       Configuration file (default: %s)\n"
               "  -m --model=PATH        Model file, overrides Model=\n"
               "  -d --database=PATH     SQLite database, overrides Database=\n"
               "     --replay=FILE       Replay a recording instead of live devices, then exit;\n"
               "                         repeat it for several devices\n"
               "     --format=FORMAT     Recording format: auto, robustvision, tobii, eyelink,\n"
               "                         pupil, evemu, hid-recorder (default: auto)\n"
               "     --speed=SPEED       realtime, max, or a factor such as 2.5 (default: realtime)\n"
               "     --loop              Start the recording over at its end instead of exiting\n"
               "     --user              Connect to the user's session bus, not the system bus\n"
               "     --no-bus            Do not connect to D-Bus\n"
               "     --varlink=PATH      The varlink socket (default: %s,\n"
               "                         with --user $XDG_RUNTIME_DIR/deepactif/io.deepactif.Daemon)\n"
               "     --no-varlink        Do not serve varlink\n"
               "     --bus-introspect    Print the D-Bus interfaces as introspection XML\n"
               "  -v --verbose           Log debug messages\n"),
               program_invocation_short_name, CONFIG_DEFAULT_PATH, VARLINK_ADDRESS_DEFAULT);
}

static int parse_speed(const char *s, ManagerOptions *o) {
        char *end;
        double f;

        if (streq(s, "realtime")) {
                o->speed = REPLAY_SPEED_REALTIME;
                return 0;
        }
        if (streq(s, "max")) {
                o->speed = REPLAY_SPEED_MAX;
                return 0;
        }
        errno = 0;
        f = strtod(s, &end);
        if (errno != 0 || end == s || *end || !isfinite(f) || f <= 0)
                return -EINVAL;
        o->speed = REPLAY_SPEED_FACTOR;
        o->speed_factor = f;
        return 0;
}

/* Appends to a NULL-terminated array of argv's strings (not copied). */
static int push_path(char ***l, char *p) {
        size_t n = 0;
        char **v;

        while (*l && (*l)[n])
                n++;
        v = realloc(*l, (n + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        v[n] = p;
        v[n + 1] = NULL;
        *l = v;
        return 0;
}

static void options_done(ManagerOptions **o) {
        (*o)->replay_paths = mfree((*o)->replay_paths);
}

/* 1: run, 0: exit successfully (--help, --version), < 0: bad options. */
static int parse_argv(int argc, char *argv[], ManagerOptions *o) {
        enum {
                ARG_VERSION = 0x100,
                ARG_REPLAY,
                ARG_FORMAT,
                ARG_SPEED,
                ARG_LOOP,
                ARG_USER,
                ARG_NO_BUS,
                ARG_VARLINK,
                ARG_NO_VARLINK,
                ARG_BUS_INTROSPECT,
        };
        static const struct option options[] = {
                { "help",     no_argument,       NULL, 'h'        },
                { "version",  no_argument,       NULL, ARG_VERSION },
                { "config",   required_argument, NULL, 'c'        },
                { "model",    required_argument, NULL, 'm'        },
                { "database", required_argument, NULL, 'd'        },
                { "replay",   required_argument, NULL, ARG_REPLAY },
                { "format",   required_argument, NULL, ARG_FORMAT },
                { "speed",    required_argument, NULL, ARG_SPEED  },
                { "loop",     no_argument,       NULL, ARG_LOOP   },
                { "user",     no_argument,       NULL, ARG_USER   },
                { "no-bus",   no_argument,       NULL, ARG_NO_BUS },
                { "varlink",  required_argument, NULL, ARG_VARLINK },
                { "no-varlink", no_argument,     NULL, ARG_NO_VARLINK },
                { "bus-introspect", no_argument, NULL, ARG_BUS_INTROSPECT },
                { "verbose",  no_argument,       NULL, 'v'        },
                {}
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "hc:m:d:v", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
                        return 0;
                case 'c':
                        o->config_path = optarg;
                        break;
                case 'm':
                        o->model_path = optarg;
                        break;
                case 'd':
                        o->database_path = optarg;
                        break;
                case ARG_REPLAY:
                        r = push_path(&o->replay_paths, optarg);
                        if (r < 0)
                                return log_oom();
                        break;
                case ARG_FORMAT:
                        if (streq(optarg, "evemu")) {
                                o->replay_kind = REPLAY_EVEMU;
                                break;
                        }
                        if (streq(optarg, "hid-recorder")) {
                                o->replay_kind = REPLAY_HID_RECORDER;
                                break;
                        }
                        o->replay_kind = REPLAY_READER;
                        r = da_recording_format_from_string(optarg);
                        if (r < 0 || r == DA_REC_CSV)
                                return log_error_errno(EINVAL, _("Unknown recording format '%s'; use auto, robustvision, "
                                                       "tobii, eyelink, pupil, evemu or hid-recorder."), optarg);
                        o->replay_format = r;
                        break;
                case ARG_SPEED:
                        if (parse_speed(optarg, o) < 0)
                                return log_error_errno(EINVAL, _("Invalid --speed '%s'; "
                                                       "use realtime, max or a positive factor."), optarg);
                        break;
                case ARG_LOOP:
                        o->loop = true;
                        break;
                case ARG_USER:
                        o->user_bus = true;
                        break;
                case ARG_NO_BUS:
                        o->no_bus = true;
                        break;
                case ARG_VARLINK:
                        o->varlink_path = optarg;
                        break;
                case ARG_NO_VARLINK:
                        o->no_varlink = true;
                        break;
                case ARG_BUS_INTROSPECT: {
                        _cleanup_free_ char *xml = NULL;

                        r = bus_introspect_xml(&xml);
                        if (r < 0)
                                return log_error_errno(r, _("Failed to introspect the D-Bus interfaces: %m"));
                        fputs(xml, stdout);
                        return 0;
                }
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                case '?':
                        return -EINVAL;
                default:
                        return log_error_errno(EINVAL, "Unhandled option '%c'.", c);
                }

        if (optind < argc)
                return log_error_errno(EINVAL, _("%s takes no arguments; see --help."), program_invocation_short_name);
        if ((o->loop || o->speed != REPLAY_SPEED_REALTIME || o->replay_kind != REPLAY_READER) && !o->replay_paths)
                return log_error_errno(EINVAL, _("--loop, --speed and --format need --replay."));
        return 1;
}

/* The interfaces go first: their event sources and clients refer to the manager. */
static Manager *manager_free_all(Manager *m) {
        if (!m)
                return NULL;
        manager_bus_disconnect(m);
        m->varlink = varlink_server_free(m->varlink);
        return manager_free(m);
}
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free_all);

static void on_ranking_changed(Device *d, void *userdata) {
        Manager *m = userdata;

        bus_device_send_ranking_changed(m, d);
        bus_manager_send_state_changed(m);
        manager_varlink_ranking_changed(m, d);
}

static void on_user_reset(Device *d, void *userdata) {
        bus_device_send_user_reset(userdata, d);
}

/* One event value, to every sink. */
static void on_event_raised(Device *d, const DeviceEvent *e, void *userdata) {
        _cleanup_free_ char *features = NULL;
        Manager *m = userdata;
        da_error err = {};
        int r;

        event_journal(e);
        bus_device_send_event(m, d, e);
        manager_varlink_event(m, d, e);

        if (!m->store)
                return;
        if (e->features) {
                size_t n = 0;
                FILE *f = open_memstream(&features, &n);

                for (char **i = e->features; f && *i; i++)
                        fprintf(f, "%s%s", i == e->features ? "" : "\n", *i);
                if (!f || fclose(f) != 0)
                        return (void) log_oom();
        }
        r = store_append_event(m->store, &(store_event) {
                        .time_us = e->time_us,
                        .stream_time_us = e->stream_time_us,
                        .device = e->device,
                        .kind = da_event_kind_to_string(e->kind),
                        .channel = e->channel,
                        .features = features,
                        .detail = e->detail,
                }, &err);
        if (r < 0)
                log_warning_errno(r, "Failed to store an event of %s: %s", d->name, err.message[0] ? err.message : strerror(-r));
}

static int setup_interfaces(Manager *m) {
        _cleanup_free_ char *user_path = NULL;
        const char *path = m->options.varlink_path;
        int r;

        m->ranking_changed = on_ranking_changed;
        m->ranking_changed_userdata = m;
        m->event_raised = on_event_raised;
        m->event_raised_userdata = m;
        m->user_reset = on_user_reset;
        m->user_reset_userdata = m;

        if (!m->options.no_bus) {
                r = manager_bus_connect(m);
                if (r < 0)
                        return r;
        }
        if (m->options.no_varlink)
                return 0;
        if (!path && m->options.user_bus) {
                const char *runtime = getenv("XDG_RUNTIME_DIR");

                if (!runtime)
                        return log_error_errno(ENXIO, _("XDG_RUNTIME_DIR is not set; pass --varlink=PATH or --no-varlink."));
                if (asprintf(&user_path, "%s/" VARLINK_ADDRESS_USER, runtime) < 0)
                        return log_oom();
                path = user_path;
        }
        return manager_varlink_listen(m, path);
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_free_allp) Manager *m = NULL;
        ManagerOptions o = {
                .replay_format = DA_REC_AUTO,
                .speed = REPLAY_SPEED_REALTIME,
        };
        _cleanup_(options_done) ManagerOptions *options = &o;
        int r;

        /* Messages only: numbers in the configuration and recordings are
         * always parsed the C way. */
        (void) setlocale(LC_CTYPE, "");
        (void) setlocale(LC_MESSAGES, "");
        (void) bindtextdomain(PACKAGE, secure_getenv("DEEPACTIF_LOCALEDIR") ?: LOCALEDIR);
        (void) textdomain(PACKAGE);
        log_setup();

        r = parse_argv(argc, argv, &o);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        r = manager_new(&o, &m);
        if (r < 0)
                return EXIT_FAILURE;
        m->flushed = metrics_flushed;
        r = setup_interfaces(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_startup(m);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : r;
}
