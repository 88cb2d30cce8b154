/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The real deepactifd binary on real recordings and real SQLite files:
 * replays of each format, the final snapshot against an offline ranking
 * over the same windows, readiness and watchdog through a test-owned
 * NOTIFY_SOCKET, SIGTERM, SIGHUP, kill -9 and configuration errors.
 *
 * The offline ranking is computed here without the daemon's code path:
 * frames → da_featurizer → scaler → explicit T-frame windows every hop valid
 * frames → da_forward_traced (gate traces) → da_aggregate (INV) over the
 * last RollingWindows windows, instead of da_stream and da_rolling.
 */

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <sqlite3.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>

#include "hid-eyetracker.h"
#include "store-export.h"
#include "store.h"
#include "test-util.h"

#define DAEMON TOP_BUILDDIR "/daemon/deepactifd"
#define CTL TOP_BUILDDIR "/client/deepactifctl"
#define MAKE_MODEL TOP_BUILDDIR "/tests/make-test-model"

static char *tmp;

static char *tmp_path(const char *name) {
        char *p;

        ck_assert_int_ge(asprintf(&p, "%s/%s", tmp, name), 0);
        return p;
}

static void setup(void) {
        tmp = test_mkdtemp();
        ck_assert_ptr_nonnull(tmp);
}

static void teardown(void) {
        test_rmdir_r(tmp);
        tmp = mfree(tmp);
}

static uint64_t now_us(clockid_t clock) {
        struct timespec ts;

        clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000;
}

/* Starts argv with stderr to tmp/stderr.log and the given environment. */
static pid_t spawn(char *const argv[], const char *notify_socket, const char *watchdog_usec) {
        _cleanup_free_ char *log = tmp_path("stderr.log");
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

                if (fd < 0 || dup2(fd, STDERR_FILENO) < 0)
                        _exit(126);
                /* A failed check ends the test's process: the daemon goes too. */
                (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                unsetenv("NOTIFY_SOCKET");
                unsetenv("WATCHDOG_USEC");
                unsetenv("WATCHDOG_PID");
                if (notify_socket)
                        setenv("NOTIFY_SOCKET", notify_socket, 1);
                if (watchdog_usec)
                        setenv("WATCHDOG_USEC", watchdog_usec, 1);
                execv(argv[0], argv);
                _exit(127);
        }
        return pid;
}

/* The exit status, or −1 after killing it when it outlived timeout_ms. */
static int wait_exit(pid_t pid, int timeout_ms) {
        uint64_t deadline = now_us(CLOCK_MONOTONIC) + (uint64_t) timeout_ms * 1000;
        int status;

        do {
                pid_t r = waitpid(pid, &status, WNOHANG);

                if (r == pid)
                        return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                usleep(10000);
        } while (now_us(CLOCK_MONOTONIC) < deadline);
        kill(pid, SIGKILL);
        waitpid(pid, &status, 0);
        return -1;
}

static int run(char *const argv[], int timeout_ms) {
        return wait_exit(spawn(argv, NULL, NULL), timeout_ms);
}

static char *read_stderr(void) {
        _cleanup_free_ char *log = tmp_path("stderr.log");
        uint8_t *data = NULL;
        size_t n = 0;

        if (test_read_file(log, &data, &n) < 0)
                return strdup("");
        data = realloc(data, n + 1);
        data[n] = 0;
        return (char *) data;
}

static char *make_model(const char *recording, const char *features, const char *window, const char *hop) {
        char *model = tmp_path("model.safetensors");
        char *argv[] = { (char *) MAKE_MODEL, model, (char *) recording, (char *) features, (char *) window,
                         (char *) hop, NULL };

        ck_assert_int_eq(run(argv, 60000), 0);
        return model;
}

static char *write_config(const char *body) {
        char *path = tmp_path("deepactifd.conf");
        _cleanup_free_ char *text = NULL;

        ck_assert_int_ge(asprintf(&text, "[Daemon]\n%s", body), 0);
        ck_assert_int_eq(test_write_file(path, text, strlen(text)), 0);
        return path;
}

/* ---- offline ranking --------------------------------------------------- */

typedef struct Offline {
        size_t windows;         /* evaluated over the whole recording */
        size_t in_scope;        /* the last ≤ W of them */
        double *scores;
        unsigned *ranks;
} Offline;

static size_t read_frames(const char *recording, da_frame **ret) {
        da_reader *reader = NULL;
        da_error err = {};
        da_frame *frames = NULL;
        size_t n = 0;
        int r;

        ck_assert_msg(da_reader_open(recording, DA_REC_AUTO, &reader, &err) == 0, "%s", err.message);
        /* as the daemon's replay reads it */
        da_reader_set_drop_repeats(reader, true);
        for (;;) {
                frames = realloc(frames, (n + 1) * sizeof(da_frame));
                r = da_reader_next(reader, &frames[n], &err);
                ck_assert_msg(r >= 0, "%s", err.message);
                if (r == 0)
                        break;
                n++;
        }
        da_reader_free(reader);
        *ret = frames;
        return n;
}

static void offline_ranking_frames(const char *model_path, const da_frame *frames, size_t n_frames, unsigned W,
                                   Offline *ret) {
        da_model *m = NULL;
        da_featurizer *fz = NULL;
        da_ctx *ctx = NULL;
        da_error err = {};
        const da_arch *a;
        unsigned idx[256], F, T, hop;
        float *rows = NULL, *traces = NULL, *window, out[8];
        size_t n_rows = 0, n_win = 0, first;
        int r;

        ck_assert_msg(da_model_load(model_path, &m, &err) == 0, "%s", err.message);
        a = da_model_arch(m);
        F = a->n_features;
        T = a->window;
        hop = a->hop;
        for (unsigned f = 0; f < F; f++) {
                r = da_feature_from_name(da_model_feature(m, f));
                ck_assert_int_ge(r, 0);
                idx[f] = (unsigned) r;
        }
        ck_assert_int_eq(da_featurizer_new(idx, F, &fz), 0);
        ck_assert_int_eq(da_ctx_new(m, T, &ctx), 0);

        window = calloc((size_t) T * F, sizeof(float));
        for (size_t i = 0; i < n_frames; i++) {
                float row[256];
                bool valid = true;

                ck_assert_int_eq(da_featurizer_push(fz, &frames[i], row), 0);
                for (unsigned f = 0; f < F; f++)
                        valid = valid && isfinite(row[f]);
                if (!valid)
                        continue;
                da_scaler_apply(da_model_scaler_median(m), da_model_scaler_iqr(m), F, row);
                rows = realloc(rows, (n_rows + 1) * F * sizeof(float));
                memcpy(rows + n_rows * F, row, F * sizeof(float));
                n_rows++;
                /* A window ends at every hop-th valid frame from the T-th on. */
                if (n_rows < T || (n_rows - T) % hop != 0)
                        continue;
                memcpy(window, rows + (n_rows - T) * F, (size_t) T * F * sizeof(float));
                traces = realloc(traces, (n_win + 1) * F * sizeof(float));
                ck_assert_int_eq(da_forward_traced(ctx, window, T, out, NULL, traces + n_win * F), 0);
                n_win++;
        }
        ck_assert_uint_gt(n_win, 0);

        first = n_win > W ? n_win - W : 0;
        ret->windows = n_win;
        ret->in_scope = n_win - first;
        ret->scores = calloc(F, sizeof(double));
        ret->ranks = calloc(F, sizeof(unsigned));
        ck_assert_int_eq(da_aggregate(traces + first * F, ret->in_scope, F, DA_AGG_INV, ret->scores), 0);
        ck_assert_int_eq(da_ranks(ret->scores, F, ret->ranks), 0);

        free(window);
        free(rows);
        free(traces);
        da_featurizer_free(fz);
        da_ctx_free(ctx);
        da_model_free(m);
}

static void offline_ranking(const char *model_path, const char *recording, unsigned W, Offline *ret) {
        da_frame *frames = NULL;
        size_t n = read_frames(recording, &frames);

        offline_ranking_frames(model_path, frames, n, W, ret);
        free(frames);
}

/* ---- the store, read with plain SQL ------------------------------------- */

static sqlite3 *db_open(const char *path) {
        sqlite3 *db = NULL;

        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
        sqlite3_busy_timeout(db, 2000);
        return db;
}

static int64_t db_int(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        int64_t v;

        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

static int64_t db_count(const char *path, const char *sql) {
        sqlite3 *db = NULL;
        int64_t v = -1;

        /* While the daemon creates the file it may not be a database yet. */
        if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
                sqlite3_stmt *st = NULL;

                sqlite3_busy_timeout(db, 2000);
                if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
                        v = sqlite3_column_int64(st, 0);
                sqlite3_finalize(st);
        }
        sqlite3_close(db);
        return v;
}

static bool wait_for(const char *db, const char *sql, int64_t at_least, int timeout_ms) {
        for (int waited = 0; waited <= timeout_ms; waited += 20) {
                if (db_count(db, sql) >= at_least)
                        return true;
                usleep(20000);
        }
        return false;
}

static void check_integrity(const char *path) {
        sqlite3 *db = db_open(path);
        sqlite3_stmt *st = NULL;

        ck_assert_int_eq(sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st, NULL), SQLITE_OK);
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        ck_assert_str_eq((const char *) sqlite3_column_text(st, 0), "ok");
        sqlite3_finalize(st);
        sqlite3_close(db);
}

/* The newest snapshot equals the offline ranking: same windows in scope,
 * same ranks, scores equal to rounding. */
static void check_final_snapshot(const char *db_path, const Offline *o, unsigned F) {
        sqlite3 *db = db_open(db_path);
        sqlite3_stmt *st = NULL;
        int64_t id;
        unsigned n = 0;

        id = db_int(db, "SELECT id FROM snapshots ORDER BY id DESC LIMIT 1");
        ck_assert_int_eq(db_int(db, "SELECT windows FROM snapshots ORDER BY id DESC LIMIT 1"), (int64_t) o->in_scope);
        ck_assert_int_eq(sqlite3_prepare_v2(db, "SELECT feature, rank, score FROM scores WHERE snapshot_id = ?",
                                            -1, &st, NULL), SQLITE_OK);
        sqlite3_bind_int64(st, 1, id);
        while (sqlite3_step(st) == SQLITE_ROW) {
                unsigned f = (unsigned) sqlite3_column_int(st, 0);
                double score = sqlite3_column_double(st, 2);

                ck_assert_uint_lt(f, F);
                ck_assert_msg(fabs(score - o->scores[f]) <= 1e-6, "feature %u: stored %.9g, offline %.9g",
                              f, score, o->scores[f]);
                ck_assert_msg((unsigned) sqlite3_column_int(st, 1) == o->ranks[f],
                              "feature %u: stored rank %d, offline %u", f, sqlite3_column_int(st, 1), o->ranks[f]);
                n++;
        }
        ck_assert_uint_eq(n, F);
        sqlite3_finalize(st);
        sqlite3_close(db);
}

static void replay_and_compare(const char *recording, const char *features, unsigned F, const char *hop,
                               unsigned W) {
        _cleanup_free_ char *rec = test_path(recording);
        _cleanup_free_ char *model = make_model(rec, features, "10", hop);
        _cleanup_free_ char *body = NULL, *config = NULL;
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        Offline o = {};

        ck_assert_int_ge(asprintf(&body, "RollingWindows=%u\nRankingInterval=1s\n", W), 0);
        config = write_config(body);
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rec, "--speed", "max", "--model", model,
                         "--database", db, "--config", config, NULL };
        ck_assert_int_eq(run(argv, 60000), 0);
        check_integrity(db);
        offline_ranking(model, rec, W, &o);
        ck_assert_uint_gt(o.windows, W);        /* so the rolling scope matters */
        ck_assert_int_ge(db_count(db, "SELECT count(*) FROM snapshots"), 1);
        check_final_snapshot(db, &o, F);
        free(o.scores);
        free(o.ranks);
}

START_TEST(test_replay_robustvision) {
        replay_and_compare("fixtures/robustvision/P14-head.tsv", "", DA_FEATURES_ROBUSTVISION, "2", 40);
}
END_TEST

START_TEST(test_replay_pupil) {
        replay_and_compare("fixtures/pupil/P14-head-gaze_positions.csv", "", DA_FEATURES_ROBUSTVISION, "2", 40);
}
END_TEST

START_TEST(test_replay_tobii) {
        /* Tobii's CSV has per-eye origins and gaze directions: the binocular
         * features the Robust Vision set derives from them. */
        replay_and_compare("fixtures/real/tobii4c_emdat/4Ctest-excerpt.csv",
                           "World_Gaze_Direction_R_X,World_Gaze_Direction_L_X,Vergence_Angle,Vergence_Depth,"
                           "Delta_Gaze_X,Inter_Pupillary_Distance", 6, "1", 10);
}
END_TEST

/* The evdev profile of deepactifd(8): axis code, channel, resolution. */
static const struct {
        unsigned code;
        da_channel channel;
        int resolution;         /* units per mm for lengths, per 1.0 for directions */
} profile[] = {
        { 0x00, DA_CH_GAZE_POINT_X, 10 },               /* ABS_X */
        { 0x01, DA_CH_GAZE_POINT_Y, 10 },
        { 0x02, DA_CH_GAZE_POINT_Z, 10 },
        { 0x03, DA_CH_EYE_LEFT_DIRECTION_X, 10000 },    /* ABS_RX */
        { 0x04, DA_CH_EYE_LEFT_DIRECTION_Y, 10000 },
        { 0x05, DA_CH_EYE_LEFT_DIRECTION_Z, 10000 },
        { 0x06, DA_CH_EYE_RIGHT_DIRECTION_X, 10000 },   /* ABS_THROTTLE */
        { 0x07, DA_CH_EYE_RIGHT_DIRECTION_Y, 10000 },
        { 0x08, DA_CH_EYE_RIGHT_DIRECTION_Z, 10000 },
        { 0x10, DA_CH_EYE_LEFT_ORIGIN_X, 10 },          /* ABS_HAT0X */
        { 0x11, DA_CH_EYE_LEFT_ORIGIN_Y, 10 },
        { 0x12, DA_CH_EYE_LEFT_ORIGIN_Z, 10 },
        { 0x13, DA_CH_EYE_RIGHT_ORIGIN_X, 10 },
        { 0x14, DA_CH_EYE_RIGHT_ORIGIN_Y, 10 },
        { 0x15, DA_CH_EYE_RIGHT_ORIGIN_Z, 10 },         /* ABS_HAT2Y */
};

/* Writes the frames as an evemu recording by the profile and turns them into
 * what the profile decodes back: values quantised to the axes' resolution,
 * an absent value holding the axis' previous state (0 at first), channels
 * outside the profile absent. Ends with a SYN_DROPPED that forms no frame. */
static void write_evemu(const char *path, da_frame *frames, size_t n) {
        FILE *f = fopen(path, "we");
        float state[ELEMENTSOF(profile)] = {};

        ck_assert_ptr_nonnull(f);
        fputs("# EVEMU 1.3\nN: deepactif test gaze\nI: 0003 1234 5678 0001\nP: 00 00 00 00 00 00 00 00\n"
              "B: 00 09 00 00 00 00 00 00 00\n"             /* EV_SYN, EV_ABS */
              "B: 03 ff 01 3f 00 00 00 00 00\n", f);        /* ABS 0x00–0x08, 0x10–0x15 */
        for (size_t a = 0; a < ELEMENTSOF(profile); a++)
                fprintf(f, "A: %02x -1000000 1000000 0 0 %d\n", profile[a].code, profile[a].resolution);
        for (size_t i = 0; i < n; i++) {
                da_frame *fr = &frames[i];
                unsigned long sec = (unsigned long) (fr->time_us / 1000000u);
                unsigned usec = (unsigned) (fr->time_us % 1000000u);

                for (size_t a = 0; a < ELEMENTSOF(profile); a++) {
                        bool length = streq(da_channel_unit(profile[a].channel), "m");
                        double units = fr->ch[profile[a].channel] * (length ? 1e3 : 1.0) * profile[a].resolution;
                        float scale = (float) ((length ? 1e-3 : 1.0) / profile[a].resolution);

                        if (isfinite(units)) {
                                int v = (int) lround(units);

                                fprintf(f, "E: %lu.%06u 0003 %04x %d\n", sec, usec, profile[a].code, v);
                                state[a] = (float) v * scale;
                        }
                }
                fprintf(f, "E: %lu.%06u 0000 0000 0000\n", sec, usec);
                da_frame_init(fr, fr->time_us);
                for (size_t a = 0; a < ELEMENTSOF(profile); a++)
                        fr->ch[profile[a].channel] = state[a];
        }
        fputs("E: 9999.000000 0000 0003 0000\nE: 9999.000000 0003 0003 0001\nE: 9999.000000 0000 0000 0000\n", f);
        ck_assert_int_eq(fclose(f), 0);
}

/* Writes the P14 excerpt as a recording in the given --format, replays it at
 * --speed max with the model over `features` and RollingWindows=40, and
 * checks the final snapshot against an offline ranking of the frames the
 * writer says the daemon will decode; the writer adds one dropped frame. */
typedef void (*recording_writer)(const char *path, da_frame *frames, size_t n);

static void replay_written(const char *format, const char *file, recording_writer write, const char *features,
                           unsigned F) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, features, "10", "2");
        _cleanup_free_ char *config = write_config("RollingWindows=40\n");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *rec = tmp_path(file);
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rec, "--format", (char *) format,
                         "--speed", "max", "--model", model, "--database", db, "--config", config, NULL };
        da_frame *frames = NULL;
        size_t n = read_frames(rv, &frames);
        Offline o = {};
        sqlite3 *s;

        write(rec, frames, n);
        ck_assert_int_eq(run(argv, 60000), 0);
        check_integrity(db);
        s = db_open(db);
        ck_assert_int_eq(db_int(s, "SELECT frames_processed FROM snapshots ORDER BY id DESC LIMIT 1"), (int64_t) n);
        ck_assert_int_eq(db_int(s, "SELECT frames_dropped FROM snapshots ORDER BY id DESC LIMIT 1"), 1);
        sqlite3_close(s);
        offline_ranking_frames(model, frames, n, 40, &o);
        check_final_snapshot(db, &o, F);
        free(o.scores);
        free(o.ranks);
        free(frames);
}

START_TEST(test_replay_evemu) {
        replay_written("evemu", "gaze.evemu", write_evemu, "", DA_FEATURES_ROBUSTVISION);
}
END_TEST

/* --replay repeated: each recording is its own device, the same file twice
 * gets a second name, every device reaches the store, and the daemon exits
 * once the last one ends. */
START_TEST(test_replay_several) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *log = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rv, "--replay", rv, "--replay", rv,
                         "--speed", "max", "--model", model, "--database", db, "--config", config, NULL };

        ck_assert_int_eq(run(argv, 60000), 0);
        log = read_stderr();
        ck_assert_msg(strstr(log, "Replay of 3 recording(s) finished"), "%s", log);
        ck_assert_int_eq(db_count(db, "SELECT count(*) FROM devices WHERE name IN "
                                      "('replay:P14-head.tsv', 'replay:P14-head.tsv#2', 'replay:P14-head.tsv#3')"), 3);
        /* each device ranked the whole recording: the same number of windows */
        ck_assert_int_eq(db_count(db, "SELECT count(DISTINCT m) FROM (SELECT max(s.windows) AS m FROM snapshots s "
                                      "JOIN sessions x ON s.session_id = x.id GROUP BY x.device_id)"), 1);
        ck_assert_int_gt(db_count(db, "SELECT min(s.windows) FROM snapshots s"), 0);
}
END_TEST

/* GazeHid's Tracking Data report 0x10: the ID, an 8-byte µs timestamp, the
 * gaze point x, y and both eye positions x, y, z as s32 µm, 6 reserved s32. */
#define GAZEHID_REPORT_SIZE 65

static void put_le(uint8_t *p, uint64_t v, unsigned bytes) {
        for (unsigned i = 0; i < bytes; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put_hex(FILE *f, const uint8_t *p, size_t n) {
        for (size_t i = 0; i < n; i++)
                fprintf(f, " %02x", p[i]);
        fputc('\n', f);
}

/* Writes the frames as a hid-recorder file of the GazeHid device (the real
 * descriptor in fixtures/hid/) and replaces them with what the HID decoder,
 * run here on the same bytes, makes of each report; a missing value goes
 * out of the logical range (±2 m), which decodes as missing. Before the
 * frames goes a Status report (not a frame), after them a truncated report
 * (one drop). */
static void write_hid_recording(const char *path, da_frame *frames, size_t n) {
        static const da_channel fields[] = {
                DA_CH_GAZE_POINT_X, DA_CH_GAZE_POINT_Y,
                DA_CH_EYE_LEFT_ORIGIN_X, DA_CH_EYE_LEFT_ORIGIN_Y, DA_CH_EYE_LEFT_ORIGIN_Z,
                DA_CH_EYE_RIGHT_ORIGIN_X, DA_CH_EYE_RIGHT_ORIGIN_Y, DA_CH_EYE_RIGHT_ORIGIN_Z,
        };
        _cleanup_free_ char *rdesc_path = test_path("fixtures/hid/msrenable_gazehid_eye_tracker.rdesc.bin");
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        HidEyeTracker *t = NULL;
        uint8_t desc[4096], report[GAZEHID_REPORT_SIZE];
        da_error err = {};
        size_t size;
        FILE *in, *f;

        in = fopen(rdesc_path, "re");
        ck_assert_ptr_nonnull(in);
        size = fread(desc, 1, sizeof desc, in);
        fclose(in);
        ck_assert_msg(hid_descriptor_parse(desc, size, &d, &err) == 0, "%s", err.message);
        ck_assert_msg(hid_eyetracker_new(d, &t, &err) == 0, "%s", err.message);

        f = fopen(path, "we");
        ck_assert_ptr_nonnull(f);
        fprintf(f, "# written by test-daemon\nD: 0\nR: %zu", size);
        put_hex(f, desc, size);
        fputs("N: test GazeHid\nP: test/input0\nI: 6 045e 0000\n", f);
        fputs("E: 000000.000000 4 13 01 78 00\n", f);   /* Status: ready, 120 Hz */
        for (size_t i = 0; i < n; i++) {
                uint64_t dt = frames[i].time_us - frames[0].time_us;

                memset(report, 0, sizeof report);
                report[0] = 0x10;
                put_le(report + 1, frames[i].time_us, 8);
                for (size_t c = 0; c < ELEMENTSOF(fields); c++) {
                        float v = frames[i].ch[fields[c]];

                        put_le(report + 9 + 4 * c, isfinite(v) ? (uint32_t) (int32_t) lround(v * 1e6) : 0x80000000u, 4);
                }
                fprintf(f, "E: %06" PRIu64 ".%06" PRIu64 " %d", dt / 1000000, dt % 1000000, GAZEHID_REPORT_SIZE);
                put_hex(f, report, sizeof report);
                ck_assert_int_eq(hid_eyetracker_decode(t, report, sizeof report, &frames[i]), 0);
        }
        fputs("E: 999999.000000 3 10 00 00\n", f);
        ck_assert_int_eq(fclose(f), 0);
        hid_eyetracker_free(t);
}

START_TEST(test_replay_hid_recorder) {
        /* Features from the eye positions, which GazeHid reports. */
        replay_written("hid-recorder", "gaze.hidrec", write_hid_recording,
                       "World_Gaze_Origin_R_X,World_Gaze_Origin_R_Z,World_Gaze_Origin_L_X,World_Gaze_Origin_L_Z,"
                       "Inter_Pupillary_Distance", 5);
}
END_TEST

START_TEST(test_replay_eyelink_unsupported) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *rec = test_path("fixtures/real/eyelink_cili/bino250.asc.gz");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *log = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rec, "--speed", "max", "--model", model,
                         "--database", db, "--config", config, NULL };

        /* EyeLink gives screen positions and pupils only: no gaze direction. */
        ck_assert_int_eq(run(argv, 60000), 1);
        log = read_stderr();
        ck_assert_msg(strstr(log, "unsupported") && strstr(log, "missing channels") &&
                      strstr(log, "eye.left.direction.x"), "%s", log);
}
END_TEST

/* ---- readiness, watchdog, signals --------------------------------------- */

static int notify_socket(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(bind(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        return fd;
}

/* Waits for a datagram containing the line `line`; the time it arrived. */
static bool wait_notify(int fd, const char *line, int timeout_ms, uint64_t *ret_us) {
        uint64_t deadline = now_us(CLOCK_MONOTONIC) + (uint64_t) timeout_ms * 1000;

        for (;;) {
                uint64_t now = now_us(CLOCK_MONOTONIC);
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char buf[4096];
                ssize_t n;

                if (now >= deadline || poll(&p, 1, (int) ((deadline - now) / 1000) + 1) <= 0)
                        return false;
                n = recv(fd, buf, sizeof buf - 1, 0);
                if (n <= 0)
                        continue;
                buf[n] = 0;
                for (char *l = strtok(buf, "\n"); l; l = strtok(NULL, "\n"))
                        if (streq(l, line)) {
                                if (ret_us)
                                        *ret_us = now_us(CLOCK_MONOTONIC);
                                return true;
                        }
        }
}

/* ret_t0: just before the daemon was started (CLOCK_MONOTONIC), may be NULL. */
static pid_t start_live_replay(const char *extra_config, const char *speed, char **ret_db, int *ret_notify,
                               uint64_t *ret_t0) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config(extra_config);
        _cleanup_free_ char *sock = tmp_path("notify");
        char *db = tmp_path("db.sqlite");
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rv, "--speed", (char *) speed, "--loop",
                         "--model", model, "--database", db, "--config", config, NULL };

        *ret_notify = notify_socket(sock);
        *ret_db = db;
        if (ret_t0)
                *ret_t0 = now_us(CLOCK_MONOTONIC);
        return spawn(argv, sock, "200000");
}

START_TEST(test_ready_watchdog_sigterm) {
        _cleanup_free_ char *db = NULL;
        uint64_t t0, ready, ping;
        int fd;
        pid_t pid;

        /* 5× real time: the fixture's distinct samples come ~100 ms apart at
         * first (its repeats are dropped), and the time before SIGTERM below
         * must hold a window. */
        pid = start_live_replay("RankingInterval=100ms\nFlushInterval=3600s\n", "5", &db, &fd, &t0);
        ck_assert_msg(wait_notify(fd, "READY=1", 600000, &ready), "no READY=1");
        fprintf(stderr, "test-daemon: READY=1 after %.1f ms\n", (double) (ready - t0) / 1000.0);
        /* WATCHDOG_USEC=200ms: sd-event pings at half of it. */
        ck_assert_msg(wait_notify(fd, "WATCHDOG=1", 600000, &ping), "no WATCHDOG=1");
        ck_assert_msg(wait_notify(fd, "WATCHDOG=1", 600000, NULL), "no second WATCHDOG=1");
        usleep(500000);

        /* Nothing flushed yet (FlushInterval=1 h): SIGTERM must write it. */
        ck_assert_int_le(db_count(db, "SELECT count(*) FROM snapshots"), 0);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 600000), 0);
        ck_assert_msg(wait_notify(fd, "STOPPING=1", 600000, NULL), "no STOPPING=1");
        check_integrity(db);
        ck_assert_int_ge(db_count(db, "SELECT count(*) FROM snapshots"), 1);
        ck_assert_int_eq(db_count(db, "SELECT count(*) FROM sessions WHERE ended IS NULL"), 0);
        close(fd);
}
END_TEST

START_TEST(test_kill9_keeps_file_whole) {
        _cleanup_free_ char *db = NULL;
        int64_t before;
        int fd;
        pid_t pid;

        /* At maximum speed: the replay must leave the flush timer its turns. */
        pid = start_live_replay("RankingInterval=50ms\nFlushInterval=100ms\n", "max", &db, &fd, NULL);
        ck_assert(wait_notify(fd, "READY=1", 600000, NULL));
        ck_assert_msg(wait_for(db, "SELECT count(*) FROM snapshots", 5, 600000), "no snapshots flushed");
        /* Flushes go on while it runs: the count keeps growing. */
        before = db_count(db, "SELECT count(*) FROM snapshots");
        ck_assert_msg(wait_for(db, "SELECT count(*) FROM snapshots", before + 5, 600000), "flushing stopped");
        before = db_count(db, "SELECT count(*) FROM snapshots");
        kill(pid, SIGKILL);
        ck_assert_int_eq(wait_exit(pid, 600000), 128 + SIGKILL);

        /* Whole, and nothing that was flushed is lost. */
        check_integrity(db);
        ck_assert_int_ge(db_count(db, "SELECT count(*) FROM snapshots"), before);
        close(fd);
}
END_TEST

/* One varlink call on the socket at path: the reply (NUL excluded), or NULL
 * when none came within timeout_ms (a failure detector, not a limit). */
static char *varlink_call_once(const char *path, const char *message, int timeout_ms) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        uint64_t deadline = now_us(CLOCK_MONOTONIC) + (uint64_t) timeout_ms * 1000;
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size = 0;
        int fd;

        ck_assert_uint_lt(strlen(path), sizeof sa.sun_path);
        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_ge(fd, 0);
        if (connect(fd, (struct sockaddr *) &sa, sizeof sa) < 0 ||
            send(fd, message, strlen(message) + 1, MSG_NOSIGNAL) != (ssize_t) strlen(message) + 1) {
                close(fd);
                return NULL;
        }
        for (;;) {
                uint64_t now = now_us(CLOCK_MONOTONIC);
                struct pollfd p = { .fd = fd, .events = POLLIN };
                ssize_t k;

                if (now >= deadline || poll(&p, 1, (int) ((deadline - now) / 1000) + 1) <= 0)
                        break;
                if (n == size) {
                        size = size ? size * 2 : 65536;
                        buf = realloc(buf, size);
                        ck_assert_ptr_nonnull(buf);
                }
                k = recv(fd, buf + n, size - n, 0);
                if (k <= 0)
                        break;
                n += (size_t) k;
                if (memchr(buf, '\0', n)) {
                        close(fd);
                        return TAKE_PTR(buf);
                }
        }
        close(fd);
        return NULL;
}

static bool wait_log(const char *needle, int timeout_ms) {
        for (int waited = 0; waited <= timeout_ms; waited += 20) {
                _cleanup_free_ char *log = read_stderr();

                if (strstr(log, needle))
                        return true;
                usleep(20000);
        }
        return false;
}

/* A full disk (DatabaseMaxSize= makes one without root or a loop device):
 * one clear error, the daemon keeps ranking, and once space is back (a
 * reload lifts the limit) the queued snapshots are written. */
START_TEST(test_full_database) {
        _cleanup_free_ char *db = NULL, *config = NULL, *log = NULL;
        int64_t at_full;
        int fd;
        pid_t pid;

        pid = start_live_replay("RankingInterval=50ms\nFlushInterval=50ms\nDatabaseMaxSize=48K\n", "20", &db, &fd, NULL);
        ck_assert(wait_notify(fd, "READY=1", 600000, NULL));
        ck_assert_msg(wait_log("Failed to write to database", 600000), "the full database was not reported");
        usleep(300000);
        ck_assert_int_eq(kill(pid, 0), 0);
        log = read_stderr();
        /* reported once, naming the file and the cause, not on every retry */
        ck_assert_ptr_null(strstr(strstr(log, "Failed to write to database") + 1, "Failed to write to database"));
        ck_assert_msg(strstr(log, "will retry"), "%s", log);
        check_integrity(db);
        at_full = db_count(db, "SELECT count(*) FROM snapshots");

        config = write_config("RankingInterval=50ms\nFlushInterval=50ms\n");
        kill(pid, SIGHUP);
        ck_assert(wait_notify(fd, "READY=1", 600000, NULL));
        ck_assert_msg(wait_log("works again", 600000), "writing did not resume");
        ck_assert(wait_for(db, "SELECT count(*) FROM snapshots", at_full + 10, 600000));
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 600000), 0);
        check_integrity(db);
        close(fd);
}
END_TEST

START_TEST(test_sighup_keeps_rankings) {
        _cleanup_free_ char *db = NULL, *log = NULL, *config = NULL;
        int64_t windows_before, windows_after;
        int fd;
        pid_t pid;

        pid = start_live_replay("RankingInterval=50ms\nFlushInterval=50ms\nRollingWindows=100000\n", "20", &db, &fd, NULL);
        ck_assert(wait_notify(fd, "READY=1", 600000, NULL));
        ck_assert(wait_for(db, "SELECT count(*) FROM snapshots", 3, 600000));
        windows_before = db_count(db, "SELECT max(windows) FROM snapshots");

        kill(pid, SIGHUP);
        ck_assert_msg(wait_notify(fd, "RELOADING=1", 600000, NULL), "no RELOADING=1");
        ck_assert(wait_notify(fd, "READY=1", 600000, NULL));
        /* The reload opens a new session (the model was loaded again) ... */
        ck_assert(wait_for(db, "SELECT count(*) FROM sessions", 2, 600000));
        ck_assert(wait_for(db, "SELECT count(*) FROM snapshots s JOIN sessions x ON s.session_id = x.id "
                               "WHERE x.id = (SELECT max(id) FROM sessions)", 2, 30000));
        /* ... whose snapshots continue the rolling scope instead of restarting it. */
        windows_after = db_count(db, "SELECT min(s.windows) FROM snapshots s "
                                     "WHERE s.session_id = (SELECT max(id) FROM sessions)");
        ck_assert_int_gt(windows_after, windows_before);

        /* A bad value on reload: named with file:line, the daemon keeps going. */
        config = write_config("RankingInterval=50ms\nRollingWindows=-3\n");
        kill(pid, SIGHUP);
        ck_assert(wait_notify(fd, "READY=1", 600000, NULL));
        usleep(100000);
        ck_assert_int_eq(waitpid(pid, NULL, WNOHANG), 0);
        log = read_stderr();
        ck_assert_msg(strstr(log, "deepactifd.conf:3: Invalid value for RollingWindows="), "%s", log);

        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 600000), 0);
        check_integrity(db);
        close(fd);
}
END_TEST

/* A shipped subject replayed through the daemon with a per-user model:
 * window for window the predictions `deepactifctl score` computes for it
 * (da_predict_subject, every window whatever its target). A ranking
 * interval of 1 µs snapshots every window, each carrying that window's
 * prediction; the warm-up's frames yield none in either. */
START_TEST(test_replay_predictions_match_score) {
        const char *rec = TEST_SRCDIR "/../contrib/data/robustvision/P9.tsv.gz";
        _cleanup_free_ char *model = make_model(rec, "", "10", "1");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *config = write_config("RollingWindows=10\nRankingInterval=1us\nFlushInterval=1h\n");
        _cleanup_free_ float *pred = NULL, *target = NULL;
        _cleanup_free_ const char **names = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", (char *) rec, "--speed", "max",
                         "--model", model, "--database", db, "--config", config, NULL };
        da_model *m = NULL;
        da_dataset *ds = NULL;
        da_dataset_options o;
        da_error err = {};
        sqlite3 *sq;
        sqlite3_stmt *st = NULL;
        size_t n, k = 0;
        unsigned warmup;

        /* the model make-test-model trains, declared per-user */
        ck_assert_msg(da_model_load(model, &m, &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_model_set_scaling(m, DA_SCALING_PER_USER, 60), 0);
        ck_assert_msg(da_model_save(m, model, &err) == 0, "%s", err.message);
        ck_assert_int_eq(run(argv, 60000), 0);

        da_model_free(m);
        ck_assert_msg(da_model_load(model, &m, &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_model_scaling(m, &warmup), DA_SCALING_PER_USER);
        ck_assert_uint_eq(warmup, 60);
        names = calloc(da_model_arch(m)->n_features, sizeof(char *));
        for (unsigned f = 0; f < da_model_arch(m)->n_features; f++)
                names[f] = da_model_feature(m, f);
        da_dataset_options_init(&o);
        o.features = names;
        o.n_features = da_model_arch(m)->n_features;
        o.target_min = -INFINITY;
        o.target_max = INFINITY;
        ck_assert_msg(da_dataset_load(&rec, 1, &o, &ds, &err) == 0, "%s", err.message);
        ck_assert_msg(da_predict_subject(m, ds, 0, &pred, &target, &n, &err) == 0, "%s", err.message);
        ck_assert_uint_gt(n, 100);

        sq = db_open(db);
        ck_assert_int_eq(sqlite3_prepare_v2(sq, "SELECT last_prediction FROM snapshots ORDER BY id", -1, &st, NULL),
                         SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW) {
                double p = sqlite3_column_double(st, 0);

                ck_assert_uint_lt(k, n);
                ck_assert_msg(fabs(p - pred[k]) <= 1e-5 * fmax(1, fabs(pred[k])),
                              "window %zu: daemon %.9g, score %.9g", k, p, (double) pred[k]);
                k++;
        }
        ck_assert_uint_eq(k, n);
        sqlite3_finalize(st);
        sqlite3_close(sq);
        da_dataset_free(ds);
        da_model_free(m);
}
END_TEST

/* --speed max with --loop never runs out of frames: the replay must still
 * leave room for the flush timer, varlink callers and SIGTERM. */
START_TEST(test_max_speed_loop_yields) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("RankingInterval=50ms\nFlushInterval=100ms\n");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *vl = tmp_path("varlink");
        _cleanup_free_ char *sock = tmp_path("notify");
        _cleanup_free_ char *reply = NULL, *log = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--varlink", vl, "--replay", rv, "--speed", "max", "--loop",
                         "--model", model, "--database", db, "--config", config, NULL };
        int fd = notify_socket(sock), status;
        uint64_t t0;
        pid_t pid = spawn(argv, sock, NULL);

        ck_assert_msg(wait_notify(fd, "READY=1", 600000, NULL), "no READY=1");
        ck_assert_msg(wait_for(db, "SELECT count(*) FROM snapshots", 1, 600000),
                      "no snapshot flushed while replaying at maximum speed");
        reply = varlink_call_once(vl, "{\"method\":\"io.deepactif.Daemon.GetStatus\"}", 600000);
        ck_assert_msg(reply && strstr(reply, "\"state\""), "no answer to GetStatus: %s", reply ?: "(none)");
        t0 = now_us(CLOCK_MONOTONIC);
        kill(pid, SIGTERM);
        status = wait_exit(pid, 600000);
        log = read_stderr();
        ck_assert_msg(status == 0, "SIGTERM not served (status %d after %.1f s): %s", status,
                      (double) (now_us(CLOCK_MONOTONIC) - t0) / 1e6, log);
        check_integrity(db);
        ck_assert_int_ge(db_count(db, "SELECT count(*) FROM snapshots"), 1);
        ck_assert_msg(strstr(log, "at maximum speed"), "%s", log);
        close(fd);
}
END_TEST

static int varlink_connect_raw(const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

        ck_assert_int_ge(fd, 0);
        strcpy(sa.sun_path, path);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        return fd;
}

/* utime + stime of pid in clock ticks, from /proc/PID/stat. */
static uint64_t cpu_ticks(pid_t pid) {
        _cleanup_free_ char *path = NULL;
        unsigned long utime = 0, stime = 0;
        char buf[4096], *p;
        FILE *f;
        size_t n;

        ck_assert_int_ge(asprintf(&path, "/proc/%d/stat", (int) pid), 0);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        n = fread(buf, 1, sizeof buf - 1, f);
        fclose(f);
        buf[n] = 0;
        p = strrchr(buf, ')');  /* the command name may hold spaces */
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &utime, &stime), 2);
        return utime + stime;
}

/* Clients that send half a message, and more idle clients than there are
 * slots: the daemon neither spins nor locks out the next caller. */
START_TEST(test_hostile_varlink_clients) {
        enum { PARTIAL = 5, IDLE = 300 };
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("RankingInterval=1s\n");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *vl = tmp_path("varlink");
        _cleanup_free_ char *sock = tmp_path("notify");
        _cleanup_free_ char *reply = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--varlink", vl, "--replay", rv, "--loop",
                         "--model", model, "--database", db, "--config", config, NULL };
        int fd = notify_socket(sock), partial[PARTIAL], idle[IDLE];
        uint64_t t0, t1, ticks0, ticks1;
        double cpu_s, wall_s;
        pid_t pid = spawn(argv, sock, NULL);

        ck_assert_msg(wait_notify(fd, "READY=1", 600000, NULL), "no READY=1");
        for (int i = 0; i < PARTIAL; i++) {
                partial[i] = varlink_connect_raw(vl);
                ck_assert_int_eq(send(partial[i], "{\"method\":", 10, MSG_NOSIGNAL), 10);
        }
        usleep(200000);
        /* The daemon's share of one core while they wait: a spinning loop
         * takes what the scheduler gives it (a third of a core on a loaded
         * 2-core machine), a sleeping one about 1 %. */
        ticks0 = cpu_ticks(pid);
        t0 = now_us(CLOCK_MONOTONIC);
        usleep(2000000);
        ticks1 = cpu_ticks(pid);
        t1 = now_us(CLOCK_MONOTONIC);
        cpu_s = (double) (ticks1 - ticks0) / (double) sysconf(_SC_CLK_TCK);
        wall_s = (double) (t1 - t0) / 1e6;
        fprintf(stderr, "test-daemon: %.2f s CPU in %.2f s with %d half messages waiting\n", cpu_s, wall_s, PARTIAL);
        ck_assert_msg(cpu_s < 0.1 * wall_s, "the daemon used %.2f s of CPU in %.2f s", cpu_s, wall_s);

        for (int i = 0; i < IDLE; i++)
                idle[i] = varlink_connect_raw(vl);
        reply = varlink_call_once(vl, "{\"method\":\"io.deepactif.Daemon.GetStatus\"}", 600000);
        ck_assert_msg(reply && strstr(reply, "\"state\"") && !strstr(reply, "error"),
                      "a caller was locked out: %s", reply ?: "(no answer)");

        for (int i = 0; i < IDLE; i++)
                close(idle[i]);
        for (int i = 0; i < PARTIAL; i++)
                close(partial[i]);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 600000), 0);
        close(fd);
}
END_TEST

/* A store written through the store's own API: n snapshots of one device
 * whose name needs CSV quoting, F scores each, the first snapshot's
 * prediction and one of its scores missing (NaN). */
static void write_store(const char *path, unsigned n, unsigned F) {
        char names[64][16];
        const char *features[64];
        double scores[64];
        unsigned ranks[64];
        store_session *se = NULL;
        da_error err = {};
        store *st = NULL;

        ck_assert_uint_le(F, 64);
        for (unsigned f = 0; f < F; f++) {
                snprintf(names[f], sizeof names[f], "feature_%u", f);
                features[f] = names[f];
        }
        ck_assert_msg(store_open(path, 0, &st, &err) == 0, "%s", err.message);
        ck_assert_int_eq(store_session_begin(st, &(store_session_info) {
                        .device = "replay:a,\"b\".tsv",
                        .source = "replay",
                        .model = "model.safetensors",
                        .model_identity = "size:1,mtime:2",
                        .started_us = 1000000,
                        .n_features = F,
                        .features = features,
                }, &se), 0);
        for (unsigned i = 0; i < n; i++) {
                for (unsigned f = 0; f < F; f++) {
                        scores[f] = (double) ((f * 7 + i) % F) / 3.0;
                        ranks[(f + i) % F] = f + 1;
                }
                if (i == 0)
                        scores[1] = NAN;
                ck_assert_int_eq(store_append_snapshot(st, se, &(store_snapshot) {
                                .time_us = 2000000 + (uint64_t) i * 1000,
                                .method = "deepactif",
                                .location = "input",
                                .aggregation = "inv",
                                .windows = i + 1,
                                .frames_processed = i * 10,
                                .last_prediction = i == 0 ? NAN : 0.5,
                                .n_scores = F,
                                .scores = scores,
                                .ranks = ranks,
                        }), 0);
                if (i % 1000 == 999 || i + 1 == n)
                        ck_assert_msg(store_flush(st, &err) >= 0, "%s", err.message);
        }
        store_session_end(st, se, 3000000 + (uint64_t) n * 1000);
        ck_assert_msg(store_flush(st, &err) >= 0, "%s", err.message);
        store_free(st);
}

/* What store_export() itself writes for the whole store, oldest first. */
static char *reference_export(const char *path, store_export_format format) {
        char *text = NULL;
        size_t size = 0;
        da_error err = {};
        store *st = NULL;
        FILE *f = open_memstream(&text, &size);

        ck_assert_msg(store_open(path, STORE_READ_ONLY, &st, &err) == 0, "%s", err.message);
        ck_assert_int_ge(store_export(st, &(store_query) { .oldest_first = true }, format, f, &err), 0);
        ck_assert_int_eq(fclose(f), 0);
        store_free(st);
        return text;
}

/* Runs argv with stdout to out; its exit status. */
static int run_to_file(char *const argv[], const char *out, int timeout_ms) {
        pid_t pid = fork();

        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

                if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0)
                        _exit(126);
                execv(argv[0], argv);
                _exit(127);
        }
        return wait_exit(pid, timeout_ms);
}

static char *slurp(const char *path) {
        uint8_t *data = NULL;
        size_t n = 0;

        ck_assert_int_eq(test_read_file(path, &data, &n), 0);
        data = realloc(data, n + 1);
        data[n] = 0;
        return (char *) data;
}

/* Rankings and "continues" flags of a streamed varlink call, read to its end. */
static unsigned varlink_stream_count(const char *path, const char *message, const char *key, unsigned *ret_parts) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        _cleanup_free_ char *buf = NULL;
        size_t n = 0, size = 0;
        unsigned total = 0, parts = 0;
        int fd;

        strcpy(sa.sun_path, path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        ck_assert_int_eq(connect(fd, (struct sockaddr *) &sa, sizeof sa), 0);
        ck_assert_int_eq(send(fd, message, strlen(message) + 1, MSG_NOSIGNAL), (ssize_t) strlen(message) + 1);
        for (;;) {
                char *nul = n ? memchr(buf, '\0', n) : NULL;
                json_object *o, *p, *v;
                bool more;
                ssize_t k;

                if (!nul) {
                        struct pollfd pfd = { .fd = fd, .events = POLLIN };

                        if (n == size) {
                                size = size ? size * 2 : 65536;
                                buf = realloc(buf, size);
                        }
                        ck_assert_msg(poll(&pfd, 1, 60000) == 1, "no reply");
                        k = recv(fd, buf + n, size - n, 0);
                        ck_assert_msg(k > 0, "the daemon closed the stream after %u parts", parts);
                        n += (size_t) k;
                        continue;
                }
                o = json_tokener_parse(buf);
                ck_assert_ptr_nonnull(o);
                ck_assert_msg(!json_object_object_get_ex(o, "error", &v), "error: %s", buf);
                ck_assert(json_object_object_get_ex(o, "parameters", &p));
                ck_assert(json_object_object_get_ex(p, key, &v));
                total += json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;
                parts++;
                more = json_object_object_get_ex(o, "continues", &v) && json_object_get_boolean(v);
                json_object_put(o);
                memmove(buf, nul + 1, n - (size_t) (nul + 1 - buf));
                n -= (size_t) (nul + 1 - buf);
                if (!more)
                        break;
        }
        close(fd);
        *ret_parts = parts;
        return total;
}

/* More snapshots than one reply holds: GetHistory streams them with "more"
 * and refuses, with an error, to build a reply that does not fit; export
 * is the store's exporter streamed (quoting, missing values, no cap). */
START_TEST(test_long_history_and_export) {
        enum { N = 6000, F = 40 };
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("Discover=no\n");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *vl = tmp_path("varlink");
        _cleanup_free_ char *sock = tmp_path("notify");
        _cleanup_free_ char *out = tmp_path("export.out");
        _cleanup_free_ char *reply = NULL, *log = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--varlink", vl, "--model", model, "--database", db,
                         "--config", config, NULL };
        int fd = notify_socket(sock), status;
        unsigned parts = 0;
        pid_t pid;

        write_store(db, N, F);
        pid = spawn(argv, sock, NULL);
        ck_assert_msg(wait_notify(fd, "READY=1", 600000, NULL), "no READY=1");

        /* Without "more": an answer, never a closed connection. */
        reply = varlink_call_once(vl, "{\"method\":\"io.deepactif.Daemon.GetHistory\"}", 600000);
        ck_assert_msg(reply, "GetHistory closed the connection without an answer");
        ck_assert_msg(strstr(reply, "io.deepactif.Daemon.TooLarge"), "%.200s", reply);
        ck_assert_uint_eq(varlink_stream_count(vl, "{\"method\":\"io.deepactif.Daemon.GetHistory\",\"more\":true}",
                                               "rankings", &parts), N);
        ck_assert_uint_gt(parts, 1);
        ck_assert_uint_eq(varlink_stream_count(vl, "{\"method\":\"io.deepactif.Daemon.GetHistory\",\"more\":true,"
                                               "\"parameters\":{\"limit\":250}}", "rankings", &parts), 250);

        for (int format = 0; format < _STORE_EXPORT_MAX; format++) {
                const char *name = store_export_format_to_string(format);
                char *ctl[] = { (char *) CTL, "export", "--varlink", vl, "--format", (char *) name, NULL };
                _cleanup_free_ char *want = reference_export(db, format), *got = NULL;

                ck_assert_int_eq(run_to_file(ctl, out, 600000), 0);
                got = slurp(out);
                ck_assert_msg(streq(got, want), "%s export differs from the store's: %zu bytes, expected %zu",
                              name, strlen(got), strlen(want));
        }
        /* The data asks for quoting and an empty field for the missing score. */
        {
                _cleanup_free_ char *want = reference_export(db, STORE_EXPORT_CSV);

                ck_assert_ptr_nonnull(strstr(want, "\"replay:a,\"\"b\"\".tsv\""));
                ck_assert_ptr_nonnull(strstr(want, ",1,feature_1,,"));
        }

        kill(pid, SIGTERM);
        status = wait_exit(pid, 600000);
        log = read_stderr();
        ck_assert_msg(status == 0, "status %d: %s", status, log);
        close(fd);
}
END_TEST

/* A FIFO named as the model: the reload refuses it and the daemon goes on
 * (opening it would wait for a writer forever). */
START_TEST(test_fifo_model_reload) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *fifo = tmp_path("fifo.safetensors");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *sock = tmp_path("notify");
        _cleanup_free_ char *body = NULL, *config = NULL, *log = NULL;
        int fd = notify_socket(sock), status;
        pid_t pid;

        ck_assert_int_ge(asprintf(&body, "Model=%s\nRankingInterval=100ms\n", model), 0);
        config = write_config(body);
        {
                char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rv, "--loop",
                                 "--database", db, "--config", config, NULL };

                pid = spawn(argv, sock, NULL);
        }
        ck_assert_msg(wait_notify(fd, "READY=1", 600000, NULL), "no READY=1");
        ck_assert_int_eq(mkfifo(fifo, 0600), 0);
        free(body);
        free(config);
        ck_assert_int_ge(asprintf(&body, "Model=%s\nRankingInterval=100ms\n", fifo), 0);
        config = write_config(body);
        kill(pid, SIGHUP);
        ck_assert_msg(wait_notify(fd, "READY=1", 600000, NULL), "the reload did not finish");
        kill(pid, SIGTERM);
        status = wait_exit(pid, 600000);
        log = read_stderr();
        ck_assert_msg(status == 0, "status %d: %s", status, log);
        ck_assert_msg(strstr(log, "not a regular file") && strstr(log, "keeping the previous"), "%s", log);
        close(fd);
}
END_TEST

static unsigned count_in_log(const char *needle) {
        _cleanup_free_ char *log = read_stderr();
        unsigned n = 0;

        for (const char *p = strstr(log, needle); p; p = strstr(p + 1, needle))
                n++;
        return n;
}

/* A full database and snapshots coming faster than anything drains them:
 * the queue drops the oldest, and the log says so (not once per drop). */
START_TEST(test_dropped_snapshots_logged) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("RankingInterval=10ms\nFlushInterval=100ms\nDatabaseMaxSize=48K\n");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rv, "--speed", "max", "--loop",
                         "--model", model, "--database", db, "--config", config, NULL };
        uint64_t t0 = now_us(CLOCK_MONOTONIC);
        unsigned n;
        pid_t pid = spawn(argv, NULL, NULL);

        ck_assert_msg(wait_log("ranking snapshots not written", 600000), "dropped snapshots were not reported");
        usleep(1000000);
        kill(pid, SIGTERM);
        ck_assert_int_ge(wait_exit(pid, 600000), 0);
        n = count_in_log("ranking snapshots not written");
        /* once a minute at most (and once more at the final flush) */
        ck_assert_uint_le(n, 2 + (now_us(CLOCK_MONOTONIC) - t0) / 60000000);
}
END_TEST

static unsigned count_fds(pid_t pid) {
        _cleanup_free_ char *path = NULL;
        struct dirent *de;
        unsigned n = 0;
        DIR *d;

        ck_assert_int_ge(asprintf(&path, "/proc/%d/fd", (int) pid), 0);
        d = opendir(path);
        ck_assert_ptr_nonnull(d);
        while ((de = readdir(d)))
                n += de->d_name[0] != '.';
        closedir(d);
        return n;
}

static long rss_kib(pid_t pid) {
        _cleanup_free_ char *path = NULL;
        char line[256];
        long kib = -1;
        FILE *f;

        ck_assert_int_ge(asprintf(&path, "/proc/%d/status", (int) pid), 0);
        f = fopen(path, "re");
        ck_assert_ptr_nonnull(f);
        while (fgets(line, sizeof line, f))
                if (sscanf(line, "VmRSS: %ld kB", &kib) == 1)
                        break;
        fclose(f);
        return kib;
}

/* Watchers that never read, while rankings come as fast as the replay
 * makes them: each costs at most its bounded queue, then it is
 * disconnected, logged, and its connection freed. */
START_TEST(test_watchers_that_never_read) {
        enum { WATCHERS = 30 };
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("RankingInterval=10ms\nFlushInterval=1s\n");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *vl = tmp_path("varlink");
        _cleanup_free_ char *sock = tmp_path("notify");
        _cleanup_free_ char *reply = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--varlink", vl, "--replay", rv, "--speed", "max", "--loop",
                         "--model", model, "--database", db, "--config", config, NULL };
        const char *watch = "{\"method\":\"io.deepactif.Daemon.Watch\",\"more\":true}";
        int fd = notify_socket(sock), w[WATCHERS], small = 4096;
        unsigned base, fds = 0;
        long rss, peak = 0;
        pid_t pid = spawn(argv, sock, NULL);

        ck_assert_msg(wait_notify(fd, "READY=1", 600000, NULL), "no READY=1");
        /* after the first flush: SQLite opens its -wal and -shm files then */
        ck_assert_msg(wait_for(db, "SELECT count(*) FROM snapshots", 1, 600000), "no snapshot flushed");
        base = count_fds(pid);
        for (int i = 0; i < WATCHERS; i++) {
                w[i] = varlink_connect_raw(vl);
                ck_assert_int_eq(setsockopt(w[i], SOL_SOCKET, SO_RCVBUF, &small, sizeof small), 0);
                ck_assert_int_eq(send(w[i], watch, strlen(watch) + 1, MSG_NOSIGNAL), (ssize_t) strlen(watch) + 1);
        }
        if (!wait_log("that did not read its replies", 600000)) {
                _cleanup_free_ char *log = read_stderr();

                ck_abort_msg("no slow watcher was disconnected: %s", log);
        }
        /* All of them go, and their connections with them. */
        for (int i = 0; i < 1200; i++) {
                rss = rss_kib(pid);
                peak = MAX(peak, rss);
                fds = count_fds(pid);
                if (fds <= base)
                        break;
                usleep(100000);
        }
        fprintf(stderr, "test-daemon: %d watchers that never read: peak RSS %ld KiB, %u descriptors open "
                "(%u before)\n", WATCHERS, peak, fds, base);
        ck_assert_msg(fds <= base, "%u descriptors open, %u before the watchers", fds, base);
        /* Each may have cost its queue's bound (VARLINK_OUTPUT_MAX_DEFAULT,
         * 1 MiB) at most, not more. Not under ASan, whose quarantine keeps
         * freed memory resident. */
#if !defined(__SANITIZE_ADDRESS__)
        ck_assert_int_lt(peak, 64 * 1024 + WATCHERS * 1024);
#endif
        reply = varlink_call_once(vl, "{\"method\":\"io.deepactif.Daemon.GetStatus\"}", 600000);
        ck_assert_msg(reply && strstr(reply, "\"state\""), "%s", reply ?: "(no answer)");

        for (int i = 0; i < WATCHERS; i++)
                close(w[i]);
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 600000), 0);
        close(fd);
}
END_TEST

/* The snapshot time of a Watch notification. */
static int64_t watch_time(json_object *o) {
        json_object *r = json_object_object_get(json_object_object_get(o, "parameters"), "ranking");

        return json_object_get_int64(json_object_object_get(r, "time"));
}

/* Watchers asking for different topK values, more of them than the daemon
 * serializes once per snapshot, and two asking the same: each gets its own
 * top k of the same snapshot, the longer lists extending the shorter. */
START_TEST(test_watchers_topk) {
        enum { WATCHERS = 8, MESSAGES = 12 };
        static const int top_k[WATCHERS] = { 1, 2, 3, 3, 4, 5, 6, 0 }; /* 0: none asked */
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("RankingInterval=100ms\nFlushInterval=1s\n");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *vl = tmp_path("varlink");
        _cleanup_free_ char *sock = tmp_path("notify");
        char *argv[] = { (char *) DAEMON, "--no-bus", "--varlink", vl, "--replay", rv, "--speed", "5", "--loop",
                         "--model", model, "--database", db, "--config", config, NULL };
        int fd = notify_socket(sock), w[WATCHERS];
        json_object *got[WATCHERS][MESSAGES] = {};
        unsigned n_got[WATCHERS] = {};
        char *buf[WATCHERS] = {};
        size_t len[WATCHERS] = {};
        pid_t pid = spawn(argv, sock, NULL);
        int64_t common = -1;

        ck_assert_msg(wait_notify(fd, "READY=1", 600000, NULL), "no READY=1");
        for (int i = 0; i < WATCHERS; i++) {
                _cleanup_free_ char *msg = NULL;

                if (top_k[i] > 0)
                        ck_assert_int_ge(asprintf(&msg, "{\"method\":\"io.deepactif.Daemon.Watch\","
                                                  "\"parameters\":{\"topK\":%d},\"more\":true}", top_k[i]), 0);
                else
                        msg = strdup("{\"method\":\"io.deepactif.Daemon.Watch\",\"more\":true}");
                w[i] = varlink_connect_raw(vl);
                ck_assert_int_eq(send(w[i], msg, strlen(msg) + 1, MSG_NOSIGNAL), (ssize_t) strlen(msg) + 1);
        }
        /* Each watcher's first MESSAGES notifications. */
        for (;;) {
                struct pollfd p[WATCHERS];
                bool done = true;

                for (int i = 0; i < WATCHERS; i++) {
                        p[i] = (struct pollfd) { .fd = n_got[i] < MESSAGES ? w[i] : -1, .events = POLLIN };
                        done = done && n_got[i] == MESSAGES;
                }
                if (done)
                        break;
                ck_assert_msg(poll(p, WATCHERS, 60000) > 0, "no notification for a minute");
                for (int i = 0; i < WATCHERS; i++) {
                        char chunk[65536], *nul;
                        ssize_t k;

                        if (!(p[i].revents & POLLIN))
                                continue;
                        k = recv(w[i], chunk, sizeof chunk, 0);
                        ck_assert_int_gt(k, 0);
                        buf[i] = realloc(buf[i], len[i] + (size_t) k);
                        ck_assert_ptr_nonnull(buf[i]);
                        memcpy(buf[i] + len[i], chunk, (size_t) k);
                        len[i] += (size_t) k;
                        while (n_got[i] < MESSAGES && (nul = memchr(buf[i], '\0', len[i]))) {
                                json_object *o = json_tokener_parse(buf[i]), *v;

                                ck_assert_msg(o, "not JSON: %s", buf[i]);
                                ck_assert(json_object_object_get_ex(o, "continues", &v) && json_object_get_boolean(v));
                                got[i][n_got[i]++] = o;
                                len[i] -= (size_t) (nul + 1 - buf[i]);
                                memmove(buf[i], nul + 1, len[i]);
                        }
                }
        }
        /* The newest snapshot every watcher received. */
        for (unsigned m = 0; m < MESSAGES; m++) {
                int64_t t = watch_time(got[0][m]);
                bool everywhere = true;

                for (int i = 1; i < WATCHERS && everywhere; i++) {
                        bool seen = false;

                        for (unsigned n = 0; n < MESSAGES; n++)
                                seen = seen || watch_time(got[i][n]) == t;
                        everywhere = seen;
                }
                if (everywhere && t > common)
                        common = t;
        }
        ck_assert_msg(common >= 0, "no snapshot reached all %d watchers within %d notifications", WATCHERS, MESSAGES);
        {
                json_object *all = NULL;
                size_t n_all = 0;

                /* the watcher without topK has the whole ranking */
                for (unsigned n = 0; n < MESSAGES; n++)
                        if (watch_time(got[WATCHERS - 1][n]) == common)
                                all = json_object_object_get(
                                        json_object_object_get(json_object_object_get(got[WATCHERS - 1][n], "parameters"),
                                                               "ranking"), "scores");
                ck_assert_ptr_nonnull(all);
                n_all = json_object_array_length(all);
                ck_assert_uint_gt(n_all, 6);
                for (int i = 0; i < WATCHERS - 1; i++)
                        for (unsigned n = 0; n < MESSAGES; n++) {
                                json_object *r = json_object_object_get(
                                        json_object_object_get(got[i][n], "parameters"), "ranking");
                                json_object *sc = json_object_object_get(r, "scores");

                                if (watch_time(got[i][n]) != common)
                                        continue;
                                ck_assert_uint_eq(json_object_array_length(sc), (size_t) top_k[i]);
                                for (size_t e = 0; e < (size_t) top_k[i]; e++)
                                        ck_assert_str_eq(json_object_to_json_string(json_object_array_get_idx(sc, e)),
                                                         json_object_to_json_string(json_object_array_get_idx(all, e)));
                        }
        }
        for (int i = 0; i < WATCHERS; i++) {
                for (unsigned n = 0; n < n_got[i]; n++)
                        json_object_put(got[i][n]);
                free(buf[i]);
                close(w[i]);
        }
        kill(pid, SIGTERM);
        ck_assert_int_eq(wait_exit(pid, 600000), 0);
        close(fd);
}
END_TEST

START_TEST(test_speed_factor_logged) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *config = write_config("");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *log = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rv, "--speed", "500",
                         "--model", model, "--database", db, "--config", config, NULL };

        ck_assert_int_eq(run(argv, 120000), 0);
        log = read_stderr();
        ck_assert_msg(strstr(log, "at 500 times the recorded speed") && !strstr(log, "at recorded speed"), "%s", log);
}
END_TEST

START_TEST(test_config_errors) {
        _cleanup_free_ char *rv = test_path("fixtures/robustvision/P14-head.tsv");
        _cleanup_free_ char *model = make_model(rv, "", "10", "2");
        _cleanup_free_ char *db = tmp_path("db.sqlite");
        _cleanup_free_ char *dropins = tmp_path("deepactifd.conf.d");
        _cleanup_free_ char *dropin = tmp_path("deepactifd.conf.d/50-bad.conf");
        _cleanup_free_ char *config = write_config("Colour=blue\nRankingInterval=2s\n");
        _cleanup_free_ char *log = NULL;
        char *argv[] = { (char *) DAEMON, "--no-bus", "--no-varlink", "--replay", rv, "--speed", "max", "--model", model,
                         "--database", db, "--config", config, NULL };
        static const struct {
                const char *conf, *error;
        } refused[] = {
                { "[Daemon]\n\nAggregation=median\n", "50-bad.conf:3: Invalid value for Aggregation=: 'median'" },
                { "[Daemon]\nMetricsFile=deepactif.prom\n",
                  "50-bad.conf:2: Invalid value for MetricsFile=: 'deepactif.prom'" },
                { "[Daemon]\nPrecision=fp8\n", "50-bad.conf:2: Invalid value for Precision=: 'fp8'" },
                { "[Daemon]\nNoiseFactor=0.5\n", "50-bad.conf:2: Invalid value for NoiseFactor=: '0.5'" },
                { "[Daemon]\nDriftOffset=-0.1\n", "50-bad.conf:2: Invalid value for DriftOffset=: '-0.1'" },
        };

        /* An unknown key is a warning naming file:line. */
        ck_assert_int_eq(run(argv, 60000), 0);
        log = read_stderr();
        ck_assert_msg(strstr(log, "deepactifd.conf:2: Unknown key Colour="), "%s", log);

        /* A bad value in a drop-in is an error naming it. MetricsFile=
         * must be absolute, Precision= one of the four; a noise factor of 1
         * or less would call every channel noisy (0 is off), and a negative
         * drift offset means nothing. */
        ck_assert_int_eq(mkdir(dropins, 0755), 0);
        for (size_t i = 0; i < ELEMENTSOF(refused); i++) {
                ck_assert_int_eq(test_write_file(dropin, refused[i].conf, strlen(refused[i].conf)), 0);
                ck_assert_int_eq(run(argv, 60000), 1);
                free(log);
                log = read_stderr();
                ck_assert_msg(strstr(log, refused[i].error), "%s", log);
        }
}
END_TEST

static Suite *suite(void) {
        Suite *s = suite_create("deepactifd");
        TCase *tc;

        tc = tcase_create("replay");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_replay_robustvision);
        tcase_add_test(tc, test_replay_tobii);
        tcase_add_test(tc, test_full_database);
        tcase_add_test(tc, test_replay_several);
        tcase_add_test(tc, test_replay_eyelink_unsupported);
        tcase_add_test(tc, test_replay_pupil);
        tcase_add_test(tc, test_replay_evemu);
        tcase_add_test(tc, test_replay_hid_recorder);
        tcase_add_test(tc, test_config_errors);
        tcase_add_test(tc, test_replay_predictions_match_score);
        suite_add_tcase(s, tc);

        tc = tcase_create("service");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 120);
        tcase_add_test(tc, test_ready_watchdog_sigterm);
        tcase_add_test(tc, test_kill9_keeps_file_whole);
        tcase_add_test(tc, test_sighup_keeps_rankings);
        suite_add_tcase(s, tc);

        /* Defects of issue 16, each run alone by CK_RUN_CASE=issue16. */
        tc = tcase_create("issue16");
        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_set_timeout(tc, 1200);   /* failure detection on a loaded machine under ASan */
        tcase_add_test(tc, test_max_speed_loop_yields);
        tcase_add_test(tc, test_speed_factor_logged);
        tcase_add_test(tc, test_hostile_varlink_clients);
        tcase_add_test(tc, test_long_history_and_export);
        tcase_add_test(tc, test_fifo_model_reload);
        tcase_add_test(tc, test_dropped_snapshots_logged);
        tcase_add_test(tc, test_watchers_that_never_read);
        tcase_add_test(tc, test_watchers_topk);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        if (access(DAEMON, X_OK) < 0 || access(MAKE_MODEL, X_OK) < 0) {
                printf("test-daemon: %s or %s not built, skipping\n", DAEMON, MAKE_MODEL);
                return 77;
        }
        return test_run(suite());
}
