/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Runs inside the VM that tests/vm/run-vm.sh boots (no udev, devtmpfs only):
 * the real deepactifd reads eye trackers the kernel itself provides, a uhid
 * device with Microsoft's GazeHid descriptor (hidraw) and a uinput device with
 * the evdev profile's axes, and deepactifctl reads the rankings back over
 * varlink. The tests run in order in one process against one daemon, so
 * Check does not fork.
 *
 * Paths come from the environment: VM_DAEMON, VM_CTL, VM_MODEL, VM_GAZEHID
 * (the descriptor), VM_DIR (scratch).
 */

#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <linux/uinput.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "deepactif.h"
#include "gazehid.h"

#define VARLINK "/run/deepactif.varlink"
#define TIMEOUT_MS 15000
#define RATE_HZ GAZEHID_RATE_HZ
#define N_FEATURES 5

static const char *dir, *daemon_path, *ctl_path, *model_path, *gazehid_path;
static pid_t daemon_pid = -1;
static int uinput_fd = -1, uhid_fd = -1;
static char event_node[64];
static uint8_t gazehid[4096];
static size_t gazehid_size;
static unsigned sample;         /* trajectory position, shared by both sources */

static uint64_t now_ms(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000 + (uint64_t) ts.tv_nsec / 1000000;
}

static void sleep_ms(unsigned ms) {
        struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long) (ms % 1000) * 1000000 };

        while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
                ;
}

static bool daemon_alive(void) {
        return daemon_pid > 0 && waitpid(daemon_pid, NULL, WNOHANG) == 0;
}

/* ---- deepactifctl ------------------------------------------------------- */

/* Runs "deepactifctl VERB --varlink … --json [--device D]" and parses its
 * output; NULL when it fails. */
static json_object *ctl(const char *verb, const char *device) {
        char buf[65536];
        size_t n = 0;
        int p[2], status;
        pid_t pid;

        ck_assert_int_eq(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int null = open("/dev/null", O_WRONLY | O_CLOEXEC);

                /* Polling before the daemon listens fails by design. */
                dup2(null, STDERR_FILENO);
                dup2(p[1], STDOUT_FILENO);
                if (device)
                        execl(ctl_path, ctl_path, verb, "--varlink", VARLINK, "--json", "--device", device, NULL);
                else
                        execl(ctl_path, ctl_path, verb, "--varlink", VARLINK, "--json", NULL);
                _exit(127);
        }
        close(p[1]);
        for (ssize_t l; n < sizeof buf - 1 && (l = read(p[0], buf + n, sizeof buf - 1 - n)) > 0; )
                n += (size_t) l;
        close(p[0]);
        buf[n] = '\0';
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                return NULL;
        return json_tokener_parse(buf);
}

static uint64_t get_u64(json_object *o, const char *key) {
        return (uint64_t) json_object_get_int64(json_object_object_get(o, key));
}

/* The listed device of this source (a copy of its JSON), or NULL. */
static json_object *find_device(const char *source) {
        json_object *devices = ctl("devices", NULL), *found = NULL;

        if (!devices)
                return NULL;
        for (size_t i = 0; i < json_object_array_length(devices); i++) {
                json_object *d = json_object_array_get_idx(devices, i);

                if (strcmp(json_object_get_string(json_object_object_get(d, "source")), source) == 0) {
                        found = json_object_get(d);
                        break;
                }
        }
        json_object_put(devices);
        return found;
}

/* Waits until the device of source has processed at least frames frames,
 * or its counters have stood still for a second (frames were lost). */
static json_object *wait_device(const char *source, uint64_t frames) {
        uint64_t end = now_ms() + TIMEOUT_MS, last = UINT64_MAX, since = now_ms();

        for (;;) {
                json_object *d = find_device(source);
                uint64_t seen = d ? get_u64(d, "framesProcessed") + get_u64(d, "framesDropped") : UINT64_MAX;

                if (d && (get_u64(d, "framesProcessed") >= frames || (seen == last && now_ms() - since > 1000)))
                        return d;
                if (now_ms() > end)
                        return d;
                if (seen != last) {
                        last = seen;
                        since = now_ms();
                }
                json_object_put(d);
                ck_assert_msg(daemon_alive(), "deepactifd died");
                sleep_ms(200);
        }
}

/* evdev never loses events silently: an overrun client buffer gets a
 * SYN_DROPPED, which the daemon counts. So all frames arrive unless a drop
 * was counted (the kernel's buffer holds only ~14 frames of this device, and
 * a loaded CI machine may starve the VM that long). */
static void check_evdev_counts(json_object *d, uint64_t processed0, uint64_t dropped0, uint64_t sent) {
        uint64_t processed = get_u64(d, "framesProcessed") - processed0;

        if (get_u64(d, "framesDropped") == dropped0)
                ck_assert_uint_eq(processed, sent);
        else
                ck_assert(processed > 0 && processed < sent);
}

static bool wait_device_gone(const char *source) {
        uint64_t end = now_ms() + TIMEOUT_MS;

        for (;;) {
                json_object *d = find_device(source);

                if (!d)
                        return true;
                json_object_put(d);
                if (now_ms() > end)
                        return false;
                sleep_ms(200);
        }
}

/* ---- the offline oracle ------------------------------------------------ */

/* What the daemon should decode from sample k: both sources carry whole
 * micrometres (HID logical units, evdev at 1000 units/mm). */
static void expected_frame(unsigned k, da_frame *ret) {
        Gaze g = gaze_trajectory(k);
        const struct {
                da_channel c;
                double v;
        } map[] = {
                { DA_CH_GAZE_POINT_X, g.point[0] },     { DA_CH_GAZE_POINT_Y, g.point[1] },
                { DA_CH_EYE_LEFT_ORIGIN_X, g.left[0] }, { DA_CH_EYE_LEFT_ORIGIN_Y, g.left[1] },
                { DA_CH_EYE_LEFT_ORIGIN_Z, g.left[2] }, { DA_CH_EYE_RIGHT_ORIGIN_X, g.right[0] },
                { DA_CH_EYE_RIGHT_ORIGIN_Y, g.right[1] }, { DA_CH_EYE_RIGHT_ORIGIN_Z, g.right[2] },
        };

        ret->time_us = 1000000 + (uint64_t) k * (1000000 / RATE_HZ);
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                ret->ch[c] = NAN;
        for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
                ret->ch[map[i].c] = (float) ((double) lround(map[i].v * 1e6) * 1e-6);
}

/* DeepACTIF-INV over the first n_windows windows of samples k0, k0 + 1, …,
 * computed the way tests/test-daemon.c does, without the daemon's stream and
 * rolling code: explicit T-frame windows at every hop, the model's gate
 * traces, one aggregation. The daemon's rolling scope (600 windows) holds
 * them all. */
static void offline_scores(unsigned k0, size_t n_windows, double ret_scores[static N_FEATURES]) {
        da_model *m = NULL;
        da_featurizer *fz = NULL;
        da_ctx *ctx = NULL;
        da_error err = {};
        const da_arch *a;
        unsigned idx[N_FEATURES], T, hop;
        float *rows, *traces, out[8];
        size_t n, n_win = 0;

        ck_assert_msg(da_model_load(model_path, &m, &err) == 0, "%s", err.message);
        a = da_model_arch(m);
        ck_assert_uint_eq(a->n_features, N_FEATURES);
        T = a->window;
        hop = a->hop;
        n = (n_windows - 1) * hop + T;
        for (unsigned f = 0; f < N_FEATURES; f++) {
                int r = da_feature_from_name(da_model_feature(m, f));

                ck_assert_int_ge(r, 0);
                idx[f] = (unsigned) r;
        }
        ck_assert_int_eq(da_featurizer_new(idx, N_FEATURES, &fz), 0);
        ck_assert_int_eq(da_ctx_new(m, T, &ctx), 0);
        rows = calloc(n * N_FEATURES, sizeof(float));
        traces = calloc(n_windows * N_FEATURES, sizeof(float));
        ck_assert(rows && traces);
        for (size_t i = 0; i < n; i++) {
                float *row = rows + i * N_FEATURES;
                da_frame f;

                expected_frame(k0 + (unsigned) i, &f);
                ck_assert_int_eq(da_featurizer_push(fz, &f, row), 0);
                for (unsigned c = 0; c < N_FEATURES; c++)
                        ck_assert(isfinite(row[c]));
                da_scaler_apply(da_model_scaler_median(m), da_model_scaler_iqr(m), N_FEATURES, row);
                if (i + 1 < T || (i + 1 - T) % hop != 0)
                        continue;
                ck_assert_int_eq(da_forward_traced(ctx, rows + (i + 1 - T) * N_FEATURES, T, out, NULL,
                                                   traces + n_win * N_FEATURES), 0);
                n_win++;
        }
        ck_assert_uint_eq(n_win, n_windows);
        ck_assert_int_eq(da_aggregate(traces, n_win, N_FEATURES, DA_AGG_INV, ret_scores), 0);
        free(rows);
        free(traces);
        da_featurizer_free(fz);
        da_ctx_free(ctx);
        da_model_free(m);
}

/* The device's newest snapshot, over the windows that the frames from
 * sample k0 on made, equals the offline ranking of the same windows.
 * Returns how many windows it covered. */
static uint64_t check_against_offline(const char *device, unsigned k0) {
        double want[N_FEATURES];
        json_object *r = ctl("top", device), *scores;
        uint64_t windows;

        ck_assert(r);
        windows = get_u64(r, "windows");
        ck_assert_uint_gt(windows, 0);
        offline_scores(k0, windows, want);
        scores = json_object_object_get(r, "scores");
        ck_assert_uint_eq(json_object_array_length(scores), N_FEATURES);
        for (size_t i = 0; i < N_FEATURES; i++) {
                json_object *e = json_object_array_get_idx(scores, i);
                uint64_t f = get_u64(e, "index");
                double got = json_object_get_double(json_object_object_get(e, "score"));

                ck_assert_uint_lt(f, N_FEATURES);
                /* Decoding may round a micrometre differently by one ulp. */
                ck_assert_msg(fabs(got - want[f]) <= 1e-7 + 1e-5 * fabs(want[f]),
                              "%s feature %" PRIu64 ": daemon %.9g, offline %.9g", device, f, got, want[f]);
        }
        printf("vm-test: %s matches the offline ranking over %" PRIu64 " windows\n", device, windows);
        json_object_put(r);
        return windows;
}

/* Waits until deepactifd lists a device of source: it has opened the node,
 * so no report sent from now on is lost before it reads. */
static void wait_listed(const char *source) {
        json_object *d = wait_device(source, 0);

        ck_assert_msg(d, "deepactifd did not pick up the %s device", source);
        json_object_put(d);
}

/* The device's ranking holds the model's five features, ranked 1..5 once
 * each, with finite scores, over at least one window. */
static void check_ranking(const char *device) {
        static const char *const features[N_FEATURES] = {
                "World_Gaze_Origin_R_X", "World_Gaze_Origin_R_Z", "World_Gaze_Origin_L_X",
                "World_Gaze_Origin_L_Z", "Inter_Pupillary_Distance",
        };
        uint64_t end = now_ms() + TIMEOUT_MS;
        json_object *r, *scores;
        bool seen_rank[N_FEATURES + 1] = {}, seen_feature[N_FEATURES] = {};

        while (!(r = ctl("top", device)) || get_u64(r, "windows") == 0) {
                json_object_put(r);
                ck_assert_msg(now_ms() < end, "no ranking for %s", device);
                sleep_ms(200);
        }
        scores = json_object_object_get(r, "scores");
        ck_assert_uint_eq(json_object_array_length(scores), N_FEATURES);
        for (size_t i = 0; i < N_FEATURES; i++) {
                json_object *s = json_object_array_get_idx(scores, i);
                const char *name = json_object_get_string(json_object_object_get(s, "feature"));
                uint64_t rank = get_u64(s, "rank");
                double score = json_object_get_double(json_object_object_get(s, "score"));
                size_t f;

                for (f = 0; f < N_FEATURES && strcmp(features[f], name) != 0; f++)
                        ;
                ck_assert_msg(f < N_FEATURES, "unexpected feature %s", name);
                ck_assert(!seen_feature[f]);
                seen_feature[f] = true;
                ck_assert(rank >= 1 && rank <= N_FEATURES && !seen_rank[rank]);
                seen_rank[rank] = true;
                ck_assert(isfinite(score));
        }
        printf("vm-test: %s ranked over %" PRIu64 " windows: %s first\n", device, get_u64(r, "windows"),
               json_object_get_string(json_object_object_get(json_object_array_get_idx(scores, 0), "feature")));
        json_object_put(r);
}

/* ---- uhid --------------------------------------------------------------- */

/* The device, or the test fails. */
static int plug(const uint8_t *desc, size_t n, const char *name) {
        int fd = uhid_create(desc, n, name);

        ck_assert_msg(fd >= 0, "uhid device '%s': %s", name, strerror(-fd));
        return fd;
}

static void unplug(int fd) {
        ck_assert_int_eq(uhid_destroy(fd), 0);
}

static void send_report(int fd, const uint8_t *report, size_t n) {
        ck_assert_int_eq(uhid_send(fd, report, n), 0);
}

static void stream_uhid(int fd, unsigned frames) {
        uint8_t report[GAZEHID_REPORT_SIZE];

        for (unsigned i = 0; i < frames; i++) {
                gazehid_report(sample++, report);
                send_report(fd, report, sizeof report);
                uhid_service(fd);
                sleep_ms(1000 / RATE_HZ);
        }
}

/* ---- uinput ------------------------------------------------------------- */

/* The evdev profile (deepactifd.conf(5)): ABS_X/Y gaze point, HAT0X..HAT2Y
 * the eye origins; resolution 1000 units per mm makes a unit 1 µm. */
static const unsigned uinput_axes[] = {
        ABS_X, ABS_Y, ABS_HAT0X, ABS_HAT0Y, ABS_HAT1X, ABS_HAT1Y, ABS_HAT2X, ABS_HAT2Y,
};

static int uinput_create(char ret_node[static 64]) {
        struct uinput_setup setup = {
                .id = { .bustype = BUS_VIRTUAL, .vendor = 0x1d6b, .product = 0xea7e },
                .name = "deepactif-vm evdev eye tracker",
        };
        char sysname[64], path[128];
        DIR *d;
        int fd;

        fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC | O_NONBLOCK);
        ck_assert_msg(fd >= 0, "open /dev/uinput: %m");
        ck_assert_int_eq(ioctl(fd, UI_SET_EVBIT, EV_ABS), 0);
        ck_assert_int_eq(ioctl(fd, UI_SET_EVBIT, EV_SYN), 0);
        for (size_t i = 0; i < sizeof uinput_axes / sizeof uinput_axes[0]; i++) {
                struct uinput_abs_setup abs = {
                        .code = (uint16_t) uinput_axes[i],
                        .absinfo = { .minimum = -2000000, .maximum = 2000000, .resolution = 1000 },
                };

                ck_assert_int_eq(ioctl(fd, UI_ABS_SETUP, &abs), 0);
        }
        ck_assert_int_eq(ioctl(fd, UI_SET_PHYS, "deepactif-vm/evdev0"), 0);
        ck_assert_int_eq(ioctl(fd, UI_DEV_SETUP, &setup), 0);
        ck_assert_int_eq(ioctl(fd, UI_DEV_CREATE), 0);

        ck_assert_int_ge(ioctl(fd, UI_GET_SYSNAME(sizeof sysname), sysname), 0);
        snprintf(path, sizeof path, "/sys/devices/virtual/input/%s", sysname);
        ret_node[0] = '\0';
        d = opendir(path);
        ck_assert_msg(d, "%s: %m", path);
        for (struct dirent *de; (de = readdir(d)); )
                if (strncmp(de->d_name, "event", 5) == 0 && strlen(de->d_name) < 32)
                        snprintf(ret_node, 64, "/dev/input/%.31s", de->d_name);
        closedir(d);
        ck_assert_msg(ret_node[0], "%s has no event node", sysname);
        return fd;
}

static void emit(int fd, unsigned type, unsigned code, int value) {
        struct input_event ev = { .type = (uint16_t) type, .code = (uint16_t) code, .value = value };

        ck_assert_int_eq(write(fd, &ev, sizeof ev), sizeof ev);
}

static void uinput_frame(int fd, unsigned k) {
        Gaze g = gaze_trajectory(k);
        double v[] = { g.point[0], g.point[1], g.left[0], g.left[1], g.left[2], g.right[0], g.right[1], g.right[2] };

        for (size_t i = 0; i < sizeof uinput_axes / sizeof uinput_axes[0]; i++)
                emit(fd, EV_ABS, uinput_axes[i], (int) lround(v[i] * 1e6));
        emit(fd, EV_SYN, SYN_REPORT, 0);
}

static void stream_uinput(int fd, unsigned frames, bool paced) {
        for (unsigned i = 0; i < frames; i++) {
                uinput_frame(fd, sample++);
                if (paced)
                        sleep_ms(1000 / RATE_HZ);
        }
}

/* ---- the daemon --------------------------------------------------------- */

static void start_daemon(void) {
        char conf[256], db[256], log[256];
        uint64_t end = now_ms() + TIMEOUT_MS;
        json_object *status;
        FILE *f;

        snprintf(conf, sizeof conf, "%s/deepactifd.conf", dir);
        snprintf(db, sizeof db, "%s/deepactif.sqlite", dir);
        snprintf(log, sizeof log, "%s/deepactifd.log", dir);
        f = fopen(conf, "we");
        ck_assert(f);
        /* No udev here: the evdev node is listed; hidraw is discovered. */
        fprintf(f, "[Daemon]\nRankingInterval=250ms\nDevices=%s\n", event_node);
        ck_assert_int_eq(fclose(f), 0);

        daemon_pid = fork();
        ck_assert_int_ge(daemon_pid, 0);
        if (daemon_pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

                dup2(fd, STDERR_FILENO);
                dup2(fd, STDOUT_FILENO);
                execl(daemon_path, daemon_path, "--config", conf, "--model", model_path, "--database", db,
                      "--no-bus", "--varlink", VARLINK, NULL);
                _exit(127);
        }
        while (!(status = ctl("status", NULL))) {
                ck_assert_msg(daemon_alive(), "deepactifd exited at start; see %s", log);
                ck_assert_msg(now_ms() < end, "deepactifd did not answer on " VARLINK);
                sleep_ms(100);
        }
        json_object_put(status);
}

static void setup(void) {
        FILE *f;

        dir = getenv("VM_DIR") ?: "/tmp";
        daemon_path = getenv("VM_DAEMON");
        ctl_path = getenv("VM_CTL");
        model_path = getenv("VM_MODEL");
        gazehid_path = getenv("VM_GAZEHID");
        ck_assert(daemon_path && ctl_path && model_path && gazehid_path);
        f = fopen(gazehid_path, "re");
        ck_assert_msg(f, "%s: %m", gazehid_path);
        gazehid_size = fread(gazehid, 1, sizeof gazehid, f);
        fclose(f);
        ck_assert_uint_eq(gazehid_size, 340);

        /* The uinput node must exist before the daemon reads Devices=. */
        uinput_fd = uinput_create(event_node);
        start_daemon();
}

static void teardown(void) {
        int status;

        if (uhid_fd >= 0)
                unplug(uhid_fd);
        if (uinput_fd >= 0)
                close(uinput_fd);
        if (daemon_pid <= 0)
                return;
        kill(daemon_pid, SIGTERM);
        ck_assert_int_eq(waitpid(daemon_pid, &status, 0), daemon_pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "deepactifd did not exit cleanly on SIGTERM");
        printf("vm-test: deepactifd exited 0 on SIGTERM\n");
}

/* ---- the tests ---------------------------------------------------------- */

START_TEST(test_uhid_gazehid) {
        const unsigned frames = 300;
        unsigned k0;
        json_object *d;
        char name[256];
        uint64_t processed;

        uhid_fd = plug(gazehid, gazehid_size, "deepactif-vm GazeHid");
        wait_listed("hidraw");
        k0 = sample;
        stream_uhid(uhid_fd, frames);
        d = wait_device("hidraw", frames);
        ck_assert(d);
        snprintf(name, sizeof name, "%s", json_object_get_string(json_object_object_get(d, "name")));
        processed = get_u64(d, "framesProcessed");
        printf("vm-test: %s: %" PRIu64 " of %u frames processed, %" PRIu64 " dropped, %" PRIu64 " invalid\n", name,
               processed, frames, get_u64(d, "framesDropped"), get_u64(d, "framesInvalid"));
        /* hidraw keeps 64 reports per reader; at 100 Hz the daemon keeps up. */
        ck_assert_uint_eq(processed, frames);
        ck_assert(json_object_get_boolean(json_object_object_get(d, "supported")));
        ck_assert_uint_eq(get_u64(d, "framesInvalid"), 0);
        json_object_put(d);
        check_ranking(name);
        /* Snapshots follow sensor time: the first frame + 250 ms, then every
         * 250 ms after the frame that took one. At 100 Hz that is after frames
         * 25, 50, …, 275 (0-based), so the newest of 300 frames' snapshots
         * covers 276 frames: 276 − 10 + 1 = 267 windows of T = 10, hop 1. */
        ck_assert_uint_eq(check_against_offline(name, k0), 267);

        /* Unplugged mid-stream, then plugged in again: a new HID instance. */
        unplug(uhid_fd);
        uhid_fd = -1;
        ck_assert_msg(wait_device_gone("hidraw"), "%s still listed after UHID_DESTROY", name);
        printf("vm-test: %s removed\n", name);

        uhid_fd = plug(gazehid, gazehid_size, "deepactif-vm GazeHid");
        wait_listed("hidraw");
        stream_uhid(uhid_fd, frames);
        d = wait_device("hidraw", frames);
        ck_assert(d);
        printf("vm-test: re-created as %s: %" PRIu64 " of %u frames processed\n",
               json_object_get_string(json_object_object_get(d, "name")), get_u64(d, "framesProcessed"), frames);
        ck_assert_str_ne(json_object_get_string(json_object_object_get(d, "name")), name);
        ck_assert_uint_eq(get_u64(d, "framesProcessed"), frames);
        check_ranking(json_object_get_string(json_object_object_get(d, "name")));
        json_object_put(d);
}
END_TEST

START_TEST(test_uhid_short_reports) {
        static const size_t lengths[] = { 1, 9, 17, 40, 64 };
        uint8_t report[GAZEHID_REPORT_SIZE];
        uint64_t processed, dropped;
        json_object *d;

        ck_assert_int_ge(uhid_fd, 0);
        d = find_device("hidraw");
        ck_assert(d);
        processed = get_u64(d, "framesProcessed");
        dropped = get_u64(d, "framesDropped");
        json_object_put(d);

        /* Whichever layer refuses them, none may become a frame: Debian's
         * 6.1 kernel drops them itself ("Event data for report 16 was too
         * short"), older kernels pass them on and the decoder counts each as
         * dropped. */
        for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
                gazehid_report(sample++, report);
                send_report(uhid_fd, report, lengths[i]);
        }
        stream_uhid(uhid_fd, 50);
        d = wait_device("hidraw", processed + 50);
        ck_assert(d);
        printf("vm-test: short reports: %" PRIu64 " → %" PRIu64 " dropped, %" PRIu64 " → %" PRIu64 " processed\n",
               dropped, get_u64(d, "framesDropped"), processed, get_u64(d, "framesProcessed"));
        ck_assert(get_u64(d, "framesDropped") == dropped ||
                  get_u64(d, "framesDropped") == dropped + sizeof lengths / sizeof lengths[0]);
        ck_assert_uint_eq(get_u64(d, "framesProcessed"), processed + 50);
        json_object_put(d);
        ck_assert(daemon_alive());
}
END_TEST

/* Whether deepactifd's log holds needle: proof it saw a node and said why
 * it refused it, rather than missing it. */
static bool log_mentions(const char *needle) {
        char path[256], buf[65536];
        size_t n;
        FILE *f;

        snprintf(path, sizeof path, "%s/deepactifd.log", dir);
        f = fopen(path, "re");
        if (!f)
                return false;
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = '\0';
        return strstr(buf, needle);
}

static char *newest_hidraw(void) {
        static char node[64];
        int best = -1;
        DIR *d = opendir("/dev");

        ck_assert(d);
        for (struct dirent *de; (de = readdir(d)); ) {
                int k;

                if (sscanf(de->d_name, "hidraw%d", &k) == 1 && k > best)
                        best = k;
        }
        closedir(d);
        if (best < 0)
                return NULL;
        snprintf(node, sizeof node, "/dev/hidraw%d", best);
        return node;
}

START_TEST(test_uhid_malformed) {
        /* An Eye Tracker application with a Tracking Data collection but no
         * field in it: the kernel takes it, the decoder has nothing to bind. */
        static const uint8_t empty_tracker[] = {
                0x05, 0x12, 0x09, 0x01, 0xa1, 0x01, 0x85, 0x10, 0x09, 0x10, 0xa1, 0x02, 0xc0, 0xc0,
        };
        /* A reserved main item tag (0xd0): the kernel skips it with a warning. */
        static const uint8_t reserved_main[] = {
                0x05, 0x12, 0x09, 0x01, 0xa1, 0x01, 0xd0, 0xc0,
        };
        static const struct {
                const uint8_t *desc;
                size_t size;
                const char *what;
        } cases[] = {
                { empty_tracker, sizeof empty_tracker, "Failed to use eye tracker" },
                { reserved_main, sizeof reserved_main, "Failed to parse the report descriptor" },
        };
        int fds[sizeof cases / sizeof cases[0]];
        const char *before = newest_hidraw();
        char seen[64];

        /* Each stays plugged in until the end, so each gets a new node. */
        snprintf(seen, sizeof seen, "%s", before ?: "");
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
                uint64_t end = now_ms() + TIMEOUT_MS;
                char needle[160];
                const char *node;

                fds[i] = plug(cases[i].desc, cases[i].size, "deepactif-vm malformed");
                while (!(node = newest_hidraw()) || strcmp(node, seen) == 0) {
                        ck_assert_msg(now_ms() < end, "no hidraw node for malformed descriptor %zu", i);
                        sleep_ms(50);
                }
                snprintf(seen, sizeof seen, "%s", node);
                snprintf(needle, sizeof needle, "%s of %s", cases[i].what, node);
                if (strstr(cases[i].what, "eye tracker"))
                        snprintf(needle, sizeof needle, "%s %s", cases[i].what, node);
                while (!log_mentions(needle)) {
                        ck_assert_msg(now_ms() < end, "deepactifd did not reject %s: no '%s' in its log", node,
                                      needle);
                        sleep_ms(100);
                }
                printf("vm-test: malformed descriptor %zu on %s rejected\n", i, node);
        }
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
                unplug(fds[i]);

        /* Truncated GazeHid, collections left open: the kernel refuses it. */
        unplug(plug(gazehid, 100, "deepactif-vm truncated"));
        sleep_ms(500);
        ck_assert(daemon_alive());
        /* Still serving, and the good tracker still listed. */
        json_object_put(wait_device("hidraw", 1));
}
END_TEST

START_TEST(test_uinput_evdev) {
        const unsigned frames = 300, flood = 3000;
        uint64_t processed, dropped;
        unsigned k0;
        json_object *d;
        char name[256];

        k0 = sample;
        stream_uinput(uinput_fd, frames, true);
        d = wait_device("evdev", frames);
        ck_assert_msg(d, "deepactifd did not pick up %s", event_node);
        snprintf(name, sizeof name, "%s", json_object_get_string(json_object_object_get(d, "name")));
        processed = get_u64(d, "framesProcessed");
        dropped = get_u64(d, "framesDropped");
        printf("vm-test: %s on %s: %" PRIu64 " of %u frames processed, %" PRIu64 " dropped\n", name, event_node,
               processed, frames, dropped);
        ck_assert_str_eq(name, "evdev:deepactif-vm/evdev0");
        check_evdev_counts(d, 0, 0, frames);
        json_object_put(d);
        check_ranking(name);
        /* Kernel timestamps here, so the snapshot falls where it falls. */
        if (dropped == 0)
                check_against_offline(name, k0);

        /* Overrun evdev's client buffer while the daemon cannot read. */
        ck_assert_int_eq(kill(daemon_pid, SIGSTOP), 0);
        stream_uinput(uinput_fd, flood, false);
        ck_assert_int_eq(kill(daemon_pid, SIGCONT), 0);
        stream_uinput(uinput_fd, 100, true);
        d = wait_device("evdev", processed + 100);
        ck_assert(d);
        printf("vm-test: after %u frames while stopped: %" PRIu64 " processed, %" PRIu64 " dropped\n", flood,
               get_u64(d, "framesProcessed"), get_u64(d, "framesDropped"));
        ck_assert_uint_gt(get_u64(d, "framesDropped"), dropped);
        ck_assert_uint_gt(get_u64(d, "framesProcessed"), processed);
        ck_assert_uint_lt(get_u64(d, "framesProcessed"), processed + flood + 100);
        json_object_put(d);
        ck_assert(daemon_alive());
        check_ranking(name);

        /* Unplugged and plugged in again on the same listed node. */
        ck_assert_int_eq(ioctl(uinput_fd, UI_DEV_DESTROY), 0);
        close(uinput_fd);
        uinput_fd = -1;
        ck_assert_msg(wait_device_gone("evdev"), "%s still listed after UI_DEV_DESTROY", name);
        {
                char node[64];

                uinput_fd = uinput_create(node);
                ck_assert_str_eq(node, event_node);
        }
        wait_listed("evdev");
        stream_uinput(uinput_fd, frames, true);
        d = wait_device("evdev", frames);
        ck_assert(d);
        printf("vm-test: re-created %s: %" PRIu64 " of %u frames processed, %" PRIu64 " dropped\n", event_node,
               get_u64(d, "framesProcessed"), frames, get_u64(d, "framesDropped"));
        check_evdev_counts(d, 0, 0, frames);
        json_object_put(d);
}
END_TEST

/* ---- many trackers ------------------------------------------------------ */

/* Names of the listed devices of source, or NULL. */
static json_object *device_names(const char *source) {
        json_object *devices = ctl("devices", NULL), *names;

        if (!devices)
                return NULL;
        names = json_object_new_array();
        for (size_t i = 0; i < json_object_array_length(devices); i++) {
                json_object *d = json_object_array_get_idx(devices, i);

                if (strcmp(json_object_get_string(json_object_object_get(d, "source")), source) == 0)
                        json_object_array_add(names, json_object_get(json_object_object_get(d, "name")));
        }
        json_object_put(devices);
        return names;
}

static bool names_contain(json_object *names, const char *name) {
        for (size_t i = 0; names && i < json_object_array_length(names); i++)
                if (strcmp(json_object_get_string(json_object_array_get_idx(names, i)), name) == 0)
                        return true;
        return false;
}

/* The daemon's CPU time (user + system) in clock ticks. */
static uint64_t daemon_cpu_ticks(void) {
        char path[64], buf[1024], *p;
        unsigned long utime = 0, stime = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/stat", (int) daemon_pid);
        f = fopen(path, "re");
        ck_assert(f);
        ck_assert(fgets(buf, sizeof buf, f));
        fclose(f);
        /* fields 14 and 15, counted after the command's closing parenthesis */
        p = strrchr(buf, ')');
        ck_assert(p);
        ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
        return utime + stime;
}

static unsigned long daemon_rss_kib(void) {
        char path[64], line[256];
        unsigned long kib = 0;
        FILE *f;

        snprintf(path, sizeof path, "/proc/%d/status", (int) daemon_pid);
        f = fopen(path, "re");
        ck_assert(f);
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %lu kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

/* A lab rig's load: VM_LOAD_TRACKERS (default 8) GazeHid trackers plugged
 * in at once, all streaming at 100 Hz for VM_LOAD_SECONDS (default 10) from
 * one paced loop. Every tracker becomes its own device, none loses a frame
 * (hidraw holds 64 reports per reader, 0.64 s at this rate), and each is
 * ranked. Under TCG a frame costs the daemon ~0.35 ms of the guest's one
 * vCPU: 8 trackers leave it ~3× headroom for a busy host; 32 exceed it.
 * Prints the daemon's CPU per frame and per tracker, how long the last
 * frames took to be processed, and its RSS. */
START_TEST(test_many_trackers) {
        const char *env_n = getenv("VM_LOAD_TRACKERS"), *env_s = getenv("VM_LOAD_SECONDS");
        const unsigned n = env_n ? (unsigned) atoi(env_n) : 8, seconds = env_s ? (unsigned) atoi(env_s) : 10;
        const unsigned frames = seconds * RATE_HZ;
        const long hz = sysconf(_SC_CLK_TCK);
        json_object *before, *names = NULL;
        uint64_t cpu0, cpu1, end, start_ms, sent_ms, drained_ms;
        double cpu_s;
        struct timespec tick;
        int *fds;

        ck_assert(n >= 1 && n <= 256 && seconds >= 1);
        before = device_names("hidraw");
        ck_assert(before);
        fds = calloc(n, sizeof(int));
        ck_assert(fds);
        for (unsigned i = 0; i < n; i++) {
                char name[64];

                snprintf(name, sizeof name, "deepactif-vm GazeHid load %u", i);
                fds[i] = plug(gazehid, gazehid_size, name);
        }

        /* All listed: from now on no report is lost before the daemon reads. */
        end = now_ms() + TIMEOUT_MS + 500 * n;
        for (;;) {
                size_t fresh = 0;

                json_object_put(names);
                names = device_names("hidraw");
                for (size_t i = 0; names && i < json_object_array_length(names); i++)
                        fresh += !names_contain(before, json_object_get_string(json_object_array_get_idx(names, i)));
                if (fresh == n)
                        break;
                ck_assert_msg(now_ms() < end, "only %zu of %u load trackers listed", fresh, n);
                ck_assert_msg(daemon_alive(), "deepactifd died");
                sleep_ms(200);
        }

        cpu0 = daemon_cpu_ticks();
        start_ms = now_ms();
        clock_gettime(CLOCK_MONOTONIC, &tick);
        for (unsigned k = 0; k < frames; k++) {
                uint8_t report[GAZEHID_REPORT_SIZE];

                gazehid_report(k, report);
                for (unsigned i = 0; i < n; i++) {
                        send_report(fds[i], report, sizeof report);
                        uhid_service(fds[i]);
                }
                tick.tv_nsec += 1000000000L / RATE_HZ;
                if (tick.tv_nsec >= 1000000000L) {
                        tick.tv_sec++;
                        tick.tv_nsec -= 1000000000L;
                }
                while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &tick, NULL) == EINTR)
                        ;
        }
        sent_ms = now_ms();

        /* Wait until every load device has processed every frame, or its
         * counters stood still for a second. */
        end = now_ms() + TIMEOUT_MS;
        for (;;) {
                json_object *devices = ctl("devices", NULL);
                unsigned complete = 0;

                ck_assert(devices);
                for (size_t i = 0; i < json_object_array_length(devices); i++) {
                        json_object *d = json_object_array_get_idx(devices, i);
                        const char *name = json_object_get_string(json_object_object_get(d, "name"));

                        if (names_contain(names, name) && !names_contain(before, name) &&
                            get_u64(d, "framesProcessed") >= frames)
                                complete++;
                }
                json_object_put(devices);
                if (complete == n || now_ms() > end)
                        break;
                sleep_ms(50);
        }
        drained_ms = now_ms();
        cpu1 = daemon_cpu_ticks();
        cpu_s = (double) (cpu1 - cpu0) / (double) hz;

        printf("vm-test: load (the guest's vCPU, not the host's): %u trackers × %u Hz for %u s: %u frames sent to each; "
               "deepactifd CPU %.1f%% of the guest's one vCPU (%.1f µs per frame, %.2f%% per tracker), "
               "last frames processed %" PRIu64 " ms after the last was sent, RSS %lu KiB\n",
               n, RATE_HZ, seconds, frames, 100.0 * cpu_s / ((double) (drained_ms - start_ms) / 1000.0),
               1e6 * cpu_s / ((double) frames * n), 100.0 * cpu_s / ((double) (drained_ms - start_ms) / 1000.0) / n,
               drained_ms - sent_ms, daemon_rss_kib());

        {
                json_object *d = ctl("devices", NULL);
                unsigned checked = 0;

                ck_assert(d);
                for (size_t j = 0; j < json_object_array_length(d); j++) {
                        json_object *e = json_object_array_get_idx(d, j);
                        const char *name = json_object_get_string(json_object_object_get(e, "name"));

                        if (!names_contain(names, name) || names_contain(before, name))
                                continue;
                        /* hidraw discards reports silently once 64 wait */
                        ck_assert_msg(get_u64(e, "framesProcessed") == frames,
                                      "%s processed %" PRIu64 " of %u frames (%" PRIu64 " dropped): "
                                      "deepactifd fell behind by more than hidraw's 64 reports", name,
                                      get_u64(e, "framesProcessed"), frames, get_u64(e, "framesDropped"));
                        ck_assert_uint_eq(get_u64(e, "framesDropped"), 0);
                        ck_assert_uint_eq(get_u64(e, "framesInvalid"), 0);
                        check_ranking(name);
                        checked++;
                }
                ck_assert_uint_eq(checked, n);
                json_object_put(d);
        }

        for (unsigned i = 0; i < n; i++)
                unplug(fds[i]);
        free(fds);
        end = now_ms() + TIMEOUT_MS;
        for (;;) {
                json_object *now = device_names("hidraw");
                size_t left = 0;

                ck_assert(now);
                for (size_t i = 0; i < json_object_array_length(now); i++)
                        left += !names_contain(before, json_object_get_string(json_object_array_get_idx(now, i)));
                json_object_put(now);
                if (left == 0)
                        break;
                ck_assert_msg(now_ms() < end, "%zu load trackers still listed after UHID_DESTROY", left);
                sleep_ms(200);
        }
        json_object_put(names);
        json_object_put(before);
        ck_assert(daemon_alive());
}
END_TEST

int main(void) {
        Suite *s;
        TCase *tc;
        SRunner *sr;
        int failed;

        /* The serial console is the only record if the guest is killed. */
        setvbuf(stdout, NULL, _IOLBF, 0);
        s = suite_create("vm");
        tc = tcase_create("kernel");
        tcase_add_unchecked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 600);
        tcase_add_test(tc, test_uhid_gazehid);
        tcase_add_test(tc, test_uhid_short_reports);
        tcase_add_test(tc, test_uhid_malformed);
        tcase_add_test(tc, test_uinput_evdev);
        tcase_add_test(tc, test_many_trackers);
        suite_add_tcase(s, tc);

        sr = srunner_create(s);
        srunner_set_fork_status(sr, CK_NOFORK);
        srunner_run_all(sr, CK_NORMAL);
        failed = srunner_ntests_failed(sr);
        srunner_free(sr);
        return failed ? 1 : 0;
}
