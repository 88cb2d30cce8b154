/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * deepactif-bridge: binocular 3-D gaze from Pupil Capture's Network API to an
 * evdev device through /dev/uinput (or an evemu recording of the same
 * events), so deepactifd, which has no network access, reads a Pupil tracker
 * like any other evdev eye tracker. See deepactif-bridge(8).
 */

#include <getopt.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <systemd/sd-daemon.h>

#include "gaze-output.h"
#include "log.h"
#include "pupil-gaze.h"
#include "pupil-remote.h"

#define DEFAULT_ADDRESS "tcp://127.0.0.1:50020"
#define GAZE_TOPIC "gaze.3d."           /* binocular "gaze.3d.01.", monocular "gaze.3d.0."/"gaze.3d.1." */
#define BINOCULAR_TOPIC "gaze.3d.01."
#define REQUEST_TIMEOUT_MS 1000
#define POLL_MS 250
#define BACKOFF_MIN_MS 250
#define BACKOFF_MAX_MS 8000
#define LATENCY_BUCKETS 100000          /* 1 µs each, up to 100 ms */

typedef struct Options {
        const char *address;
        const char *evemu;
        double min_confidence;
        uint64_t frames;                /* 0: run until stopped */
        double idle_timeout_s;
        bool stats;
} Options;

typedef struct Bridge {
        Options opt;
        PupilRemote *remote;
        GazeOutput *output;
        uint64_t written, low_confidence;
        uint64_t malformed[_PUPIL_PROBLEM_MAX];
        uint64_t last_time_us;
        uint32_t *latency;              /* histogram, for --stats */
        uint64_t latency_over;
        bool notified;
} Bridge;

static volatile sig_atomic_t stop;

static void on_signal(int sig) {
        stop = 1;
}

static void help(void) {
        printf("%s [OPTIONS...]\n"
               "\n"
               "Presents binocular 3-D gaze from Pupil Capture (Pupil Remote) as an evdev\n"
               "eye tracker through /dev/uinput, or writes the same events as an evemu recording.\n"
               "\n"
               "  -h --help               Show this help\n"
               "     --version            Show the package version\n"
               "  -p --pupil=ADDRESS      Pupil Remote, tcp://HOST:PORT (default: " DEFAULT_ADDRESS ")\n"
               "     --uinput             Create a uinput device (the default)\n"
               "     --evemu=FILE         Write an evemu recording to FILE ('-': stdout) instead\n"
               "     --min-confidence=C   Drop gaze below confidence C, 0..1 (default: 0.6)\n"
               "     --frames=N           Exit after N frames\n"
               "     --idle-timeout=SEC   Check Pupil Remote after SEC without gaze (default: 2)\n"
               "     --stats              Print frame counts, latency and peak memory at exit\n"
               "  -v --verbose            Log debug messages as well\n"
               "\n"
               "See deepactif-bridge(8) for details.\n",
               program_invocation_short_name);
}

static int parse_options(int argc, char **argv, Options *o) {
        enum { ARG_VERSION = 0x100, ARG_UINPUT, ARG_EVEMU, ARG_MIN_CONFIDENCE, ARG_FRAMES, ARG_IDLE, ARG_STATS };
        static const struct option options[] = {
                { "help",           no_argument,       NULL, 'h' },
                { "version",        no_argument,       NULL, ARG_VERSION },
                { "pupil",          required_argument, NULL, 'p' },
                { "uinput",         no_argument,       NULL, ARG_UINPUT },
                { "evemu",          required_argument, NULL, ARG_EVEMU },
                { "min-confidence", required_argument, NULL, ARG_MIN_CONFIDENCE },
                { "frames",         required_argument, NULL, ARG_FRAMES },
                { "idle-timeout",   required_argument, NULL, ARG_IDLE },
                { "stats",          no_argument,       NULL, ARG_STATS },
                { "verbose",        no_argument,       NULL, 'v' },
                {}
        };
        char *end;
        int c;

        *o = (Options) { .address = DEFAULT_ADDRESS, .min_confidence = 0.6, .idle_timeout_s = 2.0 };
        while ((c = getopt_long(argc, argv, "hp:v", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        puts(PACKAGE_STRING);
                        return 0;
                case 'p':
                        o->address = optarg;
                        break;
                case ARG_UINPUT:
                        o->evemu = NULL;
                        break;
                case ARG_EVEMU:
                        o->evemu = optarg;
                        break;
                case ARG_MIN_CONFIDENCE:
                        errno = 0;
                        o->min_confidence = strtod(optarg, &end);
                        if (*optarg == '\0' || *end != '\0' || errno != 0 ||
                            !(o->min_confidence >= 0 && o->min_confidence <= 1))
                                return log_error_errno(EINVAL, "Invalid --min-confidence '%s'; a number in 0..1.",
                                                       optarg);
                        break;
                case ARG_FRAMES:
                        errno = 0;
                        o->frames = strtoull(optarg, &end, 10);
                        if (*optarg == '\0' || *optarg == '-' || *end != '\0' || errno != 0 || o->frames == 0)
                                return log_error_errno(EINVAL, "Invalid --frames '%s'; a positive integer.", optarg);
                        break;
                case ARG_IDLE:
                        errno = 0;
                        o->idle_timeout_s = strtod(optarg, &end);
                        if (*optarg == '\0' || *end != '\0' || errno != 0 ||
                            !(o->idle_timeout_s >= 0.1 && o->idle_timeout_s <= 3600))
                                return log_error_errno(EINVAL, "Invalid --idle-timeout '%s'; seconds in 0.1..3600.",
                                                       optarg);
                        break;
                case ARG_STATS:
                        o->stats = true;
                        break;
                case 'v':
                        log_set_max_level(LOG_DEBUG);
                        break;
                default:
                        return -EINVAL;
                }
        if (optind < argc)
                return log_error_errno(EINVAL, "Unexpected argument '%s'. See --help.", argv[optind]);
        return 1;
}

/* The first message of each kind of problem is logged; later ones are
 * counted and summed up at exit, so a broken sender cannot flood the log. */
static void malformed(Bridge *b, PupilProblem p, const char *detail) {
        if (b->malformed[p]++ == 0)
                log_warning("Dropping malformed gaze message from %s: %s (further '%s' messages are only counted).",
                            b->opt.address, detail, pupil_problem_to_string(p));
}

static int handle(Bridge *b, const char *topic, const void *payload, size_t size, uint64_t received_us) {
        PupilProblem problem;
        PupilGaze g;
        char detail[160];
        int64_t t;
        int r;

        if (strncmp(topic, BINOCULAR_TOPIC, strlen(BINOCULAR_TOPIC)) != 0) {
                snprintf(detail, sizeof detail, "monocular topic '%s'; calibrate Pupil Capture for binocular 3-D gaze",
                         topic);
                malformed(b, PUPIL_MONOCULAR, detail);
                return 0;
        }
        if (pupil_gaze_decode(payload, size, &g, &problem, detail, sizeof detail) < 0) {
                malformed(b, problem, detail);
                return 0;
        }
        if (g.confidence < b->opt.min_confidence) {
                b->low_confidence++;
                return 0;
        }

        /* Pupil time onto CLOCK_MONOTONIC (the evdev timeline), kept monotonic
         * across Pupil restarts, whose clock starts over. */
        t = llround(g.timestamp * 1e6) + pupil_remote_offset_us(b->remote);
        b->last_time_us = MAX(b->last_time_us, (uint64_t) MAX(t, 0));
        r = gaze_output_write(b->output, b->last_time_us, &g);
        if (r < 0)
                return log_error_errno(r, "Failed to write a gaze frame: %m");
        b->written++;
        if (b->latency) {
                uint64_t us = now_monotonic_us() - received_us;

                if (us < LATENCY_BUCKETS)
                        b->latency[us]++;
                else
                        b->latency_over++;
        }
        if (b->opt.frames > 0 && b->written >= b->opt.frames)
                stop = 1;
        return 0;
}

static void sleep_ms(int ms) {
        (void) poll(NULL, 0, ms);       /* a signal ends it early */
}

static int run(Bridge *b) {
        uint64_t last_message_us = now_monotonic_us();
        int backoff_ms = BACKOFF_MIN_MS;
        bool outage_logged = false, idle_logged = false;
        char topic[64];

        while (!stop) {
                const void *payload;
                size_t size;
                uint64_t received;
                int r;

                if (!pupil_remote_connected(b->remote)) {
                        r = pupil_remote_connect(b->remote, REQUEST_TIMEOUT_MS);
                        if (r < 0) {
                                if (!outage_logged)
                                        log_warning_errno(r, "Cannot reach Pupil Remote at %s (%m); "
                                                          "retrying with backoff.", b->opt.address);
                                outage_logged = true;
                                sleep_ms(backoff_ms);
                                backoff_ms = MIN(backoff_ms * 2, BACKOFF_MAX_MS);
                                continue;
                        }
                        log_info("Connected to Pupil Capture at %s (gaze on port %u).", b->opt.address,
                                 pupil_remote_sub_port(b->remote));
                        (void) sd_notifyf(false, "%sSTATUS=Receiving gaze from %s", b->notified ? "" : "READY=1\n",
                                          b->opt.address);
                        b->notified = true;
                        outage_logged = idle_logged = false;
                        backoff_ms = BACKOFF_MIN_MS;
                        last_message_us = now_monotonic_us();
                }

                r = pupil_remote_receive(b->remote, POLL_MS, topic, sizeof topic, &payload, &size);
                received = now_monotonic_us();
                if (r == -EINTR)
                        continue;
                if (r < 0) {
                        log_warning_errno(r, "Lost Pupil Capture at %s (%m); reconnecting.", b->opt.address);
                        pupil_remote_disconnect(b->remote);
                        (void) sd_notifyf(false, "STATUS=Reconnecting to %s", b->opt.address);
                        continue;
                }
                if (r > 0) {
                        last_message_us = received;
                        r = handle(b, topic, payload, size, received);
                        if (r < 0)
                                return r;
                        continue;
                }
                if (received - last_message_us < (uint64_t) (b->opt.idle_timeout_s * 1e6))
                        continue;
                /* No gaze for a while: is Pupil Capture still there? */
                r = pupil_remote_ping(b->remote, REQUEST_TIMEOUT_MS);
                if (r == -ESTALE) {
                        log_warning("Lost Pupil Capture at %s (it restarted and publishes gaze elsewhere); "
                                    "reconnecting.", b->opt.address);
                        pupil_remote_disconnect(b->remote);
                        (void) sd_notifyf(false, "STATUS=Reconnecting to %s", b->opt.address);
                        continue;
                }
                if (r < 0) {
                        log_warning_errno(r, "Pupil Capture at %s stopped answering (%m); reconnecting.",
                                          b->opt.address);
                        pupil_remote_disconnect(b->remote);
                        (void) sd_notifyf(false, "STATUS=Reconnecting to %s", b->opt.address);
                        continue;
                }
                if (!idle_logged)
                        log_notice("Pupil Capture at %s answers but sends no binocular 3-D gaze "
                                   "(not calibrated, or no eye cameras?).", b->opt.address);
                idle_logged = true;
                last_message_us = received;
        }
        return 0;
}

static uint64_t percentile(const Bridge *b, double q) {
        uint64_t total = b->latency_over, seen = 0, want;

        for (unsigned i = 0; i < LATENCY_BUCKETS; i++)
                total += b->latency[i];
        if (total == 0)
                return 0;
        want = (uint64_t) ceil(q * (double) total);
        for (unsigned i = 0; i < LATENCY_BUCKETS; i++) {
                seen += b->latency[i];
                if (seen >= want)
                        return i;
        }
        return LATENCY_BUCKETS;
}

/* On standard output, or standard error when the recording goes there. */
static void print_stats(const Bridge *b) {
        FILE *out = b->opt.evemu && streq(b->opt.evemu, "-") ? stderr : stdout;
        struct rusage ru = {};
        uint64_t bad = 0;

        for (unsigned p = 0; p < _PUPIL_PROBLEM_MAX; p++)
                bad += b->malformed[p];
        (void) getrusage(RUSAGE_SELF, &ru);
        fprintf(out, "frames_written %" PRIu64 "\nlow_confidence %" PRIu64 "\nmalformed %" PRIu64 "\n"
               "latency_us_p50 %" PRIu64 "\nlatency_us_p99 %" PRIu64 "\nlatency_us_max %" PRIu64 "\n"
               "max_rss_kib %ld\n",
               b->written, b->low_confidence, bad, percentile(b, 0.5), percentile(b, 0.99), percentile(b, 1.0),
               ru.ru_maxrss);
        fflush(out);
}

int main(int argc, char **argv) {
        struct sigaction sa = { .sa_handler = on_signal };
        Bridge b = {};
        uint64_t bad = 0;
        int r;

        log_setup();
        r = parse_options(argc, argv, &b.opt);
        if (r <= 0)
                return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;

        /* no SA_RESTART: a signal ends the poll the loop waits in */
        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);

        r = pupil_remote_new(b.opt.address, GAZE_TOPIC, &b.remote);
        if (r < 0) {
                log_error_errno(r, "Invalid Pupil Remote address '%s' (tcp://HOST:PORT expected): %m", b.opt.address);
                goto finish;
        }
        if (b.opt.stats) {
                b.latency = calloc(LATENCY_BUCKETS, sizeof *b.latency);
                if (!b.latency) {
                        r = log_oom();
                        goto finish;
                }
        }
        /* The device is made once and outlives reconnects, so Pupil Capture
         * restarting does not make the tracker vanish and reappear. */
        if (b.opt.evemu) {
                r = gaze_output_new_evemu(b.opt.evemu, &b.output);
                if (r < 0) {
                        log_error_errno(r, "Failed to create evemu recording '%s': %m", b.opt.evemu);
                        goto finish;
                }
        } else {
                r = gaze_output_new_uinput(&b.output);
                if (r < 0) {
                        log_error_errno(r, "Failed to create a uinput device through /dev/uinput: %m");
                        goto finish;
                }
                log_info("Created gaze device %s.", gaze_output_devnode(b.output) ?: "(no node)");
        }

        r = run(&b);
        (void) sd_notify(false, "STOPPING=1");
        for (unsigned p = 0; p < _PUPIL_PROBLEM_MAX; p++)
                bad += b.malformed[p];
        log_info("%" PRIu64 " frames written, %" PRIu64 " below confidence %.2f, %" PRIu64 " malformed messages dropped.",
                 b.written, b.low_confidence, b.opt.min_confidence, bad);
        if (b.opt.stats)
                print_stats(&b);
finish:
        gaze_output_free(b.output);
        pupil_remote_free(b.remote);
        free(b.latency);
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
