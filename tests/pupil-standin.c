/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * A test-owned stand-in for Pupil Capture's Network API: real ZeroMQ sockets
 * on 127.0.0.1 (Pupil Remote as REP, the IPC backbone as XPUB, which speaks
 * to SUB like Pupil's PUB and also tells when the bridge has subscribed) and
 * real msgpack (msgpack-c). It replays any recording libdeepactif reads —
 * the tests use the shipped Robust Vision recordings — converted into
 * Pupil's binocular gaze schema: eye 0 is the right eye, eye 1 the left,
 * lengths in mm; a channel the recording lacks (Robust Vision has no eye
 * origin Y) is sent as 0, and frames with another missing value are sent
 * with confidence 0. The eye keys alternate between the integers 0/1 and
 * the strings "0"/"1" frame by frame, as Pupil versions differ. Rows that
 * repeat the previous sample are not sent: a live tracker never repeats one
 * (the daemon's replay drops them too).
 *
 *   pupil-standin --recording FILE [--port N] [--rate HZ] [--duration S]
 *                 [--confidence C] [--malformed] [--exit-after-send] [--count]
 *
 * Prints the Pupil Remote port on the first line of stdout once bound, and
 * "sent N" when done sending; then keeps answering Pupil Remote until
 * SIGTERM (or exits with --exit-after-send). --rate 0 (the default) sends
 * as fast as ZeroMQ takes the messages; --duration loops the recording for
 * that many seconds at --rate, stamping messages with Pupil's clock.
 * --confidence sends every complete frame with confidence C (default 1).
 * --count only prints how many frames one pass of the recording sends.
 */

#include <getopt.h>
#include <math.h>
#include <msgpack.h>
#include <signal.h>
#include <time.h>
#include <zmq.h>

#include "deepactif.h"
#include "util.h"

#define PUPIL_TIME_BASE 100.0           /* Pupil time at start, seconds */

static volatile sig_atomic_t stop;
static uint64_t start_us;
static double confidence = 1.0;

static void on_signal(int sig) {
        stop = 1;
}

static uint64_t now_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000u;
}

static double pupil_now(void) {
        return PUPIL_TIME_BASE + (double) (now_us() - start_us) / 1e6;
}

/* Answers every pending Pupil Remote request. */
static void serve_remote(void *rep, unsigned sub_port) {
        char buf[64], reply[64];
        int n;

        while ((n = zmq_recv(rep, buf, sizeof buf - 1, ZMQ_DONTWAIT)) >= 0) {
                buf[MIN((size_t) n, sizeof buf - 1)] = '\0';
                if (streq(buf, "SUB_PORT"))
                        snprintf(reply, sizeof reply, "%u", sub_port);
                else if (streq(buf, "t"))
                        snprintf(reply, sizeof reply, "%.6f", pupil_now());
                else
                        snprintf(reply, sizeof reply, "Unknown command.");
                zmq_send(rep, reply, strlen(reply), 0);
        }
}

/* Waits while serving Pupil Remote until us (CLOCK_MONOTONIC) or a signal. */
static void wait_until(void *rep, unsigned sub_port, uint64_t until) {
        for (;;) {
                zmq_pollitem_t item = { .socket = rep, .events = ZMQ_POLLIN };
                uint64_t now = now_us();

                serve_remote(rep, sub_port);
                if (stop || now >= until)
                        return;
                (void) zmq_poll(&item, 1, (long) MIN((until - now + 999) / 1000, 100u));
        }
}

static bool subscribed(void *xpub) {
        uint8_t buf[64];
        int n;

        while ((n = zmq_recv(xpub, buf, sizeof buf, ZMQ_DONTWAIT)) > 0)
                if (buf[0] == 1)
                        return true;
        return false;
}

static void pack_str(msgpack_packer *pk, const char *s) {
        msgpack_pack_str(pk, strlen(s));
        msgpack_pack_str_body(pk, s, strlen(s));
}

static void pack_eye_key(msgpack_packer *pk, int eye, bool string_keys) {
        if (string_keys)
                pack_str(pk, eye ? "1" : "0");
        else
                msgpack_pack_int(pk, eye);
}

/* A value Pupil would have but the frame lacks; Robust Vision has no eye
 * origin Y, which is sent as 0 (the features treat both alike). */
static bool frame_missing(const da_frame *f) {
        static const da_channel needed[] = {
                DA_CH_GAZE_POINT_X, DA_CH_GAZE_POINT_Y, DA_CH_GAZE_POINT_Z,
                DA_CH_EYE_LEFT_ORIGIN_X, DA_CH_EYE_LEFT_ORIGIN_Z, DA_CH_EYE_RIGHT_ORIGIN_X, DA_CH_EYE_RIGHT_ORIGIN_Z,
                DA_CH_EYE_LEFT_DIRECTION_X, DA_CH_EYE_LEFT_DIRECTION_Y, DA_CH_EYE_LEFT_DIRECTION_Z,
                DA_CH_EYE_RIGHT_DIRECTION_X, DA_CH_EYE_RIGHT_DIRECTION_Y, DA_CH_EYE_RIGHT_DIRECTION_Z,
        };

        for (size_t i = 0; i < ELEMENTSOF(needed); i++)
                if (!isfinite(f->ch[needed[i]]))
                        return true;
        return false;
}

static void pack3(msgpack_packer *pk, const float *ch, da_channel first, double scale) {
        msgpack_pack_array(pk, 3);
        for (unsigned i = 0; i < 3; i++)
                msgpack_pack_double(pk, isfinite(ch[first + i]) ? ch[first + i] * scale : 0.0);
}

static void pack_per_eye(msgpack_packer *pk, const float *ch, da_channel right, da_channel left, double scale,
                         bool string_keys) {
        msgpack_pack_map(pk, 2);
        pack_eye_key(pk, 0, string_keys);
        pack3(pk, ch, right, scale);
        pack_eye_key(pk, 1, string_keys);
        pack3(pk, ch, left, scale);
}

/* Pupil's binocular gaze datum for one frame. */
static void pack_gaze(msgpack_sbuffer *sb, const da_frame *f, double timestamp, bool string_keys) {
        msgpack_packer pk;

        msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 8);
        pack_str(&pk, "topic");
        pack_str(&pk, "gaze.3d.01.");
        pack_str(&pk, "norm_pos");
        msgpack_pack_array(&pk, 2);
        msgpack_pack_double(&pk, 0.5);
        msgpack_pack_double(&pk, 0.5);
        pack_str(&pk, "timestamp");
        msgpack_pack_double(&pk, timestamp);
        pack_str(&pk, "gaze_point_3d");
        pack3(&pk, f->ch, DA_CH_GAZE_POINT_X, 1e3);
        pack_str(&pk, "eye_centers_3d");
        pack_per_eye(&pk, f->ch, DA_CH_EYE_RIGHT_ORIGIN_X, DA_CH_EYE_LEFT_ORIGIN_X, 1e3, string_keys);
        pack_str(&pk, "gaze_normals_3d");
        pack_per_eye(&pk, f->ch, DA_CH_EYE_RIGHT_DIRECTION_X, DA_CH_EYE_LEFT_DIRECTION_X, 1.0, string_keys);
        pack_str(&pk, "base_data");
        msgpack_pack_array(&pk, 0);
        pack_str(&pk, "confidence");
        msgpack_pack_double(&pk, frame_missing(f) ? 0.0 : confidence);
}

static int publish(void *xpub, const char *topic, const void *data, size_t size) {
        if (zmq_send(xpub, topic, strlen(topic), ZMQ_SNDMORE) < 0 || zmq_send(xpub, data, size, 0) < 0)
                return -errno;
        return 0;
}

/* Messages the bridge must drop, each logging once: every kind twice. */
static void send_malformed(void *xpub) {
        static const uint8_t truncated[] = { 0x88, 0xa9, 't', 'i', 'm', 'e' };
        static const uint8_t huge_array[] = { 0xdd, 0xff, 0xff, 0xff, 0xff, 0x01 };
        msgpack_sbuffer sb;
        msgpack_packer pk;

        for (int round = 0; round < 2; round++) {
                publish(xpub, "gaze.3d.01.", truncated, sizeof truncated);
                publish(xpub, "gaze.3d.01.", huge_array, sizeof huge_array);

                msgpack_sbuffer_init(&sb);
                msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);

                /* not a map */
                msgpack_pack_array(&pk, 1);
                msgpack_pack_double(&pk, 1.0);
                publish(xpub, "gaze.3d.01.", sb.data, sb.size);
                msgpack_sbuffer_clear(&sb);

                msgpack_pack_map(&pk, 1);
                pack_str(&pk, "eye_centers_3d");
                msgpack_pack_map(&pk, 2);
                for (int eye = 0; eye < 2; eye++) {
                        msgpack_pack_int(&pk, eye);
                        msgpack_pack_array(&pk, 3);
                        for (int i = 0; i < 3; i++)
                                msgpack_pack_double(&pk, i == 1 && eye == 1 ? NAN : 1.0);
                }
                publish(xpub, "gaze.3d.01.", sb.data, sb.size);     /* NaN */
                msgpack_sbuffer_clear(&sb);

                msgpack_pack_map(&pk, 1);
                pack_str(&pk, "eye_centers_3d");
                msgpack_pack_map(&pk, 1);
                msgpack_pack_int(&pk, 0);
                msgpack_pack_array(&pk, 2);                          /* wrong length */
                msgpack_pack_double(&pk, 1.0);
                msgpack_pack_double(&pk, 1.0);
                publish(xpub, "gaze.3d.01.", sb.data, sb.size);
                msgpack_sbuffer_clear(&sb);

                msgpack_pack_map(&pk, 1);
                pack_str(&pk, "eye_centers_3d");
                pack_str(&pk, "left");                                /* wrong type */
                publish(xpub, "gaze.3d.01.", sb.data, sb.size);
                msgpack_sbuffer_clear(&sb);

                msgpack_pack_map(&pk, 1);                            /* missing keys */
                pack_str(&pk, "timestamp");
                msgpack_pack_double(&pk, 1.0);
                publish(xpub, "gaze.3d.01.", sb.data, sb.size);
                msgpack_sbuffer_clear(&sb);

                msgpack_pack_map(&pk, 2);                            /* monocular topic and datum */
                pack_str(&pk, "eye_center_3d");
                msgpack_pack_array(&pk, 3);
                for (int i = 0; i < 3; i++)
                        msgpack_pack_double(&pk, 1.0);
                pack_str(&pk, "timestamp");
                msgpack_pack_double(&pk, 1.0);
                publish(xpub, "gaze.3d.1.", sb.data, sb.size);
                msgpack_sbuffer_destroy(&sb);
        }
}

int main(int argc, char **argv) {
        enum { ARG_RECORDING = 0x100, ARG_PORT, ARG_RATE, ARG_DURATION, ARG_CONFIDENCE, ARG_MALFORMED, ARG_EXIT,
               ARG_COUNT };
        static const struct option options[] = {
                { "recording",       required_argument, NULL, ARG_RECORDING },
                { "port",            required_argument, NULL, ARG_PORT },
                { "rate",            required_argument, NULL, ARG_RATE },
                { "duration",        required_argument, NULL, ARG_DURATION },
                { "confidence",      required_argument, NULL, ARG_CONFIDENCE },
                { "malformed",       no_argument,       NULL, ARG_MALFORMED },
                { "exit-after-send", no_argument,       NULL, ARG_EXIT },
                { "count",           no_argument,       NULL, ARG_COUNT },
                {}
        };
        struct sigaction sa = { .sa_handler = on_signal };
        const char *recording = NULL;
        unsigned port = 0, sub_port;
        double rate = 0, duration = 0;
        bool bad = false, exit_after = false, count = false;
        da_frame *frames = NULL;
        size_t n = 0, cap = 0;
        uint64_t sent = 0;
        char endpoint[64];
        size_t len = sizeof endpoint;
        void *ctx, *rep, *xpub;
        int c, linger = 0;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case ARG_RECORDING:
                        recording = optarg;
                        break;
                case ARG_PORT:
                        port = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case ARG_RATE:
                        rate = strtod(optarg, NULL);
                        break;
                case ARG_DURATION:
                        duration = strtod(optarg, NULL);
                        break;
                case ARG_CONFIDENCE:
                        confidence = strtod(optarg, NULL);
                        break;
                case ARG_MALFORMED:
                        bad = true;
                        break;
                case ARG_EXIT:
                        exit_after = true;
                        break;
                case ARG_COUNT:
                        count = true;
                        break;
                default:
                        return 2;
                }
        if (!recording || (duration > 0 && rate <= 0)) {
                fprintf(stderr, "usage: pupil-standin --recording FILE [--port N] [--rate HZ] [--duration S] "
                        "[--confidence C] [--malformed] [--exit-after-send] [--count]\n");
                return 2;
        }

        {
                da_reader *r = NULL;
                da_error err = {};
                da_frame f;
                int k;

                if (da_reader_open(recording, DA_REC_AUTO, &r, &err) < 0) {
                        fprintf(stderr, "pupil-standin: %s\n", err.message);
                        return 1;
                }
                da_reader_set_drop_repeats(r, true);
                while ((k = da_reader_next(r, &f, &err)) > 0) {
                        if (n == cap) {
                                da_frame *p = realloc(frames, (cap = cap ? 2 * cap : 1024) * sizeof *frames);

                                if (!p)
                                        return 1;
                                frames = p;
                        }
                        frames[n++] = f;
                }
                da_reader_free(r);
                if (k < 0 || n == 0) {
                        fprintf(stderr, "pupil-standin: %s\n", k < 0 ? err.message : "no frames");
                        return 1;
                }
        }
        if (count) {
                printf("%zu\n", n);
                free(frames);
                return 0;
        }

        sigaction(SIGTERM, &sa, NULL);
        sigaction(SIGINT, &sa, NULL);
        start_us = now_us();
        ctx = zmq_ctx_new();
        rep = zmq_socket(ctx, ZMQ_REP);
        xpub = zmq_socket(ctx, ZMQ_XPUB);
        zmq_setsockopt(rep, ZMQ_LINGER, &linger, sizeof linger);
        zmq_setsockopt(xpub, ZMQ_LINGER, &linger, sizeof linger);
        /* the default high-water marks, as Pupil's IPC backbone has them */
        snprintf(endpoint, sizeof endpoint, port ? "tcp://127.0.0.1:%u" : "tcp://127.0.0.1:*", port);
        if (zmq_bind(rep, endpoint) < 0 || zmq_bind(xpub, "tcp://127.0.0.1:*") < 0) {
                fprintf(stderr, "pupil-standin: bind: %s\n", zmq_strerror(errno));
                return 1;
        }
        zmq_getsockopt(rep, ZMQ_LAST_ENDPOINT, endpoint, &len);
        printf("%s\n", strrchr(endpoint, ':') + 1);
        fflush(stdout);
        len = sizeof endpoint;
        zmq_getsockopt(xpub, ZMQ_LAST_ENDPOINT, endpoint, &len);
        sub_port = (unsigned) strtoul(strrchr(endpoint, ':') + 1, NULL, 10);

        /* publish only once the bridge's subscription has arrived */
        while (!stop && !subscribed(xpub))
                wait_until(rep, sub_port, now_us() + 10000);

        if (bad && !stop)
                send_malformed(xpub);

        {
                msgpack_sbuffer sb;
                uint64_t t0 = frames[0].time_us, begin = now_us(), end = begin + (uint64_t) (duration * 1e6);

                msgpack_sbuffer_init(&sb);
                for (size_t i = 0; !stop; i++) {
                        const da_frame *f = &frames[i % n];
                        double ts;

                        if (duration <= 0 && i >= n)
                                break;
                        if (rate > 0) {
                                uint64_t due = begin + (uint64_t) llround((double) i * 1e6 / rate);

                                if (duration > 0 && due >= end)
                                        break;
                                wait_until(rep, sub_port, due);
                        } else
                                serve_remote(rep, sub_port);
                        ts = duration > 0 ? pupil_now() : PUPIL_TIME_BASE + (double) (f->time_us - t0) / 1e6;
                        msgpack_sbuffer_clear(&sb);
                        pack_gaze(&sb, f, ts, i % 2 == 1);
                        if (publish(xpub, "gaze.3d.01.", sb.data, sb.size) < 0)
                                break;
                        sent++;
                }
                msgpack_sbuffer_destroy(&sb);
        }
        printf("sent %" PRIu64 "\n", sent);
        fflush(stdout);

        while (!stop && !exit_after)
                wait_until(rep, sub_port, now_us() + 100000);

        zmq_close(rep);
        zmq_close(xpub);
        zmq_ctx_term(ctx);
        free(frames);
        return 0;
}
