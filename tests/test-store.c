/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* The SQLite store against real database files in a temporary directory.
 * Expected contents are written down by hand from what each test appends;
 * the files are also read back through a second, plain SQLite connection,
 * so the store's own query code is not its only judge. */

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <grp.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "store-export.h"
#include "store.h"
#include "test-util.h"

#define F 3
static const char *const features[F] = { "vergence.angle", "gaze.velocity", "pupil.left.diameter" };

static char *dir;

static void setup(void) {
        dir = test_mkdtemp();
}

static void teardown(void) {
        test_rmdir_r(dir);
        free(dir);
        dir = NULL;
}

static char *db_path(const char *name) {
        char *p;

        ck_assert_int_gt(asprintf(&p, "%s/%s", dir, name), 0);
        return p;
}

static store_session *begin(store *s, const char *device, uint64_t started_us) {
        store_session_info info = {
                .device = device,
                .source = "replay",
                .model = "/usr/share/deepactif/foval.safetensors",
                .model_identity = "sha256:0123abcd",
                .started_us = started_us,
                .n_features = F,
                .features = features,
        };
        store_session *se = NULL;

        ck_assert_int_eq(store_session_begin(s, &info, &se), 0);
        return se;
}

/* A snapshot at time t whose frames_processed is seq, so a test can tell
 * snapshots apart; scores 0.5, 0.25, 0.75 rank features 2, 0, 1. */
static int append(store *s, store_session *se, uint64_t t, uint64_t seq) {
        static const double scores[F] = { 0.5, 0.25, 0.75 };
        static const unsigned ranks[F] = { 2, 3, 1 };
        store_snapshot snap = {
                .time_us = t,
                .method = "deepactif",
                .location = "gate",
                .aggregation = "inv",
                .windows = 64,
                .frames_processed = seq,
                .frames_dropped = 7,
                .last_prediction = 0.625,
                .n_scores = F,
                .scores = scores,
                .ranks = ranks,
        };

        return store_append_snapshot(s, se, &snap);
}

static sqlite3 *raw_open(const char *path) {
        sqlite3 *db = NULL;

        ck_assert_int_eq(sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL), SQLITE_OK);
        return db;
}

static int64_t raw_int(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        int64_t v;

        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        v = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return v;
}

static char *raw_text(sqlite3 *db, const char *sql) {
        sqlite3_stmt *st = NULL;
        char *v;

        ck_assert_msg(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "%s: %s", sql, sqlite3_errmsg(db));
        ck_assert_int_eq(sqlite3_step(st), SQLITE_ROW);
        v = strdup((const char *) sqlite3_column_text(st, 0));
        sqlite3_finalize(st);
        return v;
}

static void raw_exec(const char *path, const char *sql) {
        sqlite3 *db = raw_open(path);
        char *msg = NULL;

        ck_assert_msg(sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK, "%s", msg);
        sqlite3_close(db);
}

static void check_integrity(const char *path) {
        sqlite3 *db = raw_open(path);
        _cleanup_free_ char *ok = raw_text(db, "PRAGMA integrity_check");

        ck_assert_str_eq(ok, "ok");
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
        sqlite3_close(db);
}

static void assert_record_scores(const store_record *r, size_t top_k) {
        /* By rank: feature 2 (0.75), feature 0 (0.5), feature 1 (0.25). */
        static const unsigned feature[F] = { 2, 0, 1 };
        static const double score[F] = { 0.75, 0.5, 0.25 };

        ck_assert_uint_eq(r->n_scores, top_k);
        for (size_t i = 0; i < top_k; i++) {
                ck_assert_uint_eq(r->scores[i].rank, i + 1);
                ck_assert_uint_eq(r->scores[i].feature, feature[i]);
                ck_assert_double_eq(r->scores[i].score, score[i]);
                ck_assert_str_eq(r->scores[i].name, features[feature[i]]);
        }
}

START_TEST(test_roundtrip) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        _cleanup_(store_record_freep) store_record *latest = NULL;
        store_record **hist = NULL;
        store_device *devices = NULL;
        size_t n = 0;
        store_stats st;
        store_session *se;
        da_error err = {};
        sqlite3 *db;

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        ck_assert_int_eq(store_schema_version(s), STORE_SCHEMA_VERSION);
        se = begin(s, "replay:subject01", 1000);
        ck_assert_int_eq(append(s, se, 1000, 10), 0);
        ck_assert_int_eq(append(s, se, 2000, 20), 0);

        /* Queries see only what is flushed. */
        ck_assert_int_eq(store_get_latest(s, NULL, &latest, &err), -ENOENT);

        ck_assert_int_eq(store_flush(s, &err), 2);
        store_get_stats(s, &st);
        ck_assert_uint_eq(st.queued, 0);
        ck_assert_uint_eq(st.written, 2);
        ck_assert_uint_eq(st.flushes, 1);
        store_session_end(s, se, 3000);
        ck_assert_int_eq(store_flush(s, &err), 0);
        s = store_free(s);

        /* What a plain SQLite reader finds in the file. */
        db = raw_open(path);
        {
                _cleanup_free_ char *mode = raw_text(db, "PRAGMA journal_mode");

                ck_assert_str_eq(mode, "wal");
        }
        ck_assert_int_eq(raw_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        ck_assert_int_eq(raw_int(db, "PRAGMA application_id"), 0x64414374);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM devices"), 1);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sessions WHERE started = 1000 AND ended = 3000"), 1);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM snapshots"), 2);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM scores"), 2 * F);
        ck_assert_int_eq(raw_int(db, "SELECT rank FROM scores JOIN snapshots ON id = snapshot_id "
                                     "WHERE time_us = 2000 AND feature = 2"), 1);
        sqlite3_close(db);

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);

        ck_assert_int_eq(store_get_latest(s, &(store_query) { .device = "replay:subject01", .top_k = 2 },
                                          &latest, &err), 0);
        ck_assert_uint_eq(latest->time_us, 2000);
        ck_assert_uint_eq(latest->frames_processed, 20);
        ck_assert_uint_eq(latest->frames_dropped, 7);
        ck_assert_uint_eq(latest->windows, 64);
        ck_assert_double_eq(latest->last_prediction, 0.625);
        ck_assert_str_eq(latest->device, "replay:subject01");
        ck_assert_str_eq(latest->source, "replay");
        ck_assert_str_eq(latest->model, "/usr/share/deepactif/foval.safetensors");
        ck_assert_str_eq(latest->model_identity, "sha256:0123abcd");
        ck_assert_str_eq(latest->method, "deepactif");
        ck_assert_str_eq(latest->location, "gate");
        ck_assert_str_eq(latest->aggregation, "inv");
        assert_record_scores(latest, 2);

        /* Filters that match nothing. */
        ck_assert_int_eq(store_get_latest(s, &(store_query) { .device = "evdev:other" }, &latest, &err), -ENOENT);
        ck_assert_ptr_nonnull(strstr(err.message, "evdev:other"));
        ck_assert_int_eq(store_get_latest(s, &(store_query) { .aggregation = "pen" }, &latest, &err), -ENOENT);

        ck_assert_int_eq(store_get_history(s, &(store_query) { .oldest_first = true }, &hist, &n, &err), 0);
        ck_assert_uint_eq(n, 2);
        ck_assert_uint_eq(hist[0]->time_us, 1000);
        ck_assert_uint_eq(hist[1]->time_us, 2000);
        assert_record_scores(hist[0], F);
        store_record_array_free(hist, n);

        /* Newest first, bounded by time and count. */
        ck_assert_int_eq(store_get_history(s, &(store_query) { .since_us = 1000, .until_us = 1999 }, &hist, &n,
                                           &err), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(hist[0]->time_us, 1000);
        store_record_array_free(hist, n);
        ck_assert_int_eq(store_get_history(s, &(store_query) { .limit = 1 }, &hist, &n, &err), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_uint_eq(hist[0]->time_us, 2000);
        store_record_array_free(hist, n);

        ck_assert_int_eq(store_list_devices(s, &devices, &n, &err), 0);
        ck_assert_uint_eq(n, 1);
        ck_assert_str_eq(devices[0].name, "replay:subject01");
        ck_assert_str_eq(devices[0].source, "replay");
        ck_assert_uint_eq(devices[0].first_seen_us, 1000);
        ck_assert_uint_eq(devices[0].last_seen_us, 2000);
        ck_assert_uint_eq(devices[0].n_snapshots, 2);
        store_device_array_free(devices, n);
}
END_TEST

static int count_rows(const store_record *r, void *userdata) {
        uint64_t *times = userdata;

        times[times[0] + 1] = r->time_us;
        times[0]++;
        return times[0] == 2 ? -ECANCELED : 0;
}

START_TEST(test_foreach) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        uint64_t times[8] = {};
        store_session *se;
        da_error err = {};

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        se = begin(s, "replay:subject01", 1);
        for (uint64_t t = 1; t <= 3; t++)
                ck_assert_int_eq(append(s, se, t, t), 0);
        ck_assert_int_eq(store_flush(s, &err), 3);

        /* The callback's error stops the walk and comes back. */
        ck_assert_int_eq(store_foreach(s, &(store_query) { .oldest_first = true }, count_rows, times, &err),
                         -ECANCELED);
        ck_assert_uint_eq(times[0], 2);
        ck_assert_uint_eq(times[1], 1);
        ck_assert_uint_eq(times[2], 2);

        /* The walk's read transaction is closed again: a flush can write. */
        ck_assert_int_eq(append(s, se, 4, 4), 0);
        ck_assert_int_eq(store_flush(s, &err), 1);
}
END_TEST

START_TEST(test_bad_input) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        static const double scores[F] = { 1, 2, 3 };
        static const unsigned dup_ranks[F] = { 1, 1, 2 };
        static const unsigned big_ranks[F] = { 1, 2, 4 };
        store_snapshot snap = {
                .method = "deepactif", .aggregation = "inv", .n_scores = F, .scores = scores, .ranks = dup_ranks,
        };
        store_session *se;
        store_stats st;

        ck_assert_int_eq(store_open(path, 0, &s, NULL), 0);
        se = begin(s, "replay:subject01", 1);
        ck_assert_int_eq(store_append_snapshot(s, se, &snap), -EINVAL);
        snap.ranks = big_ranks;
        ck_assert_int_eq(store_append_snapshot(s, se, &snap), -EINVAL);
        snap.n_scores = 2;
        ck_assert_int_eq(store_append_snapshot(s, se, &snap), -EINVAL);
        store_get_stats(s, &st);
        ck_assert_uint_eq(st.queued, 0);
}
END_TEST

/* The daemon's snapshot value is a store_record: one read back from the
 * store, queued again with store_append_record() under another device, reads
 * back the same; a record naming a feature twice or not every feature is
 * refused. */
START_TEST(test_append_record) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        _cleanup_(store_record_freep) store_record *rec = NULL, *again = NULL;
        store_session *a, *b;
        store_score saved;
        da_error err = {};

        ck_assert_int_eq(store_open(path, 0, &s, NULL), 0);
        a = begin(s, "replay:a", 1);
        b = begin(s, "replay:b", 1);
        ck_assert_int_eq(append(s, a, 1000, 42), 0);
        ck_assert_int_eq(store_flush(s, &err), 1);
        ck_assert_int_eq(store_get_latest(s, &(store_query) { .device = "replay:a" }, &rec, &err), 0);

        rec->time_us = 2000;
        ck_assert_int_eq(store_append_record(s, b, rec), 0);
        ck_assert_int_eq(store_flush(s, &err), 1);
        ck_assert_int_eq(store_get_latest(s, &(store_query) { .device = "replay:b" }, &again, &err), 0);
        ck_assert_str_eq(again->device, "replay:b");
        ck_assert_uint_eq(again->time_us, 2000);
        ck_assert_str_eq(again->method, rec->method);
        ck_assert_str_eq(again->location, rec->location);
        ck_assert_str_eq(again->aggregation, rec->aggregation);
        ck_assert_uint_eq(again->windows, rec->windows);
        ck_assert_uint_eq(again->frames_processed, 42);
        ck_assert_uint_eq(again->frames_dropped, rec->frames_dropped);
        ck_assert_double_eq(again->last_prediction, rec->last_prediction);
        assert_record_scores(again, F);

        saved = rec->scores[2];
        rec->scores[2].feature = rec->scores[0].feature;
        ck_assert_int_eq(store_append_record(s, b, rec), -EINVAL);
        rec->scores[2] = saved;
        rec->n_scores = F - 1;
        ck_assert_int_eq(store_append_record(s, b, rec), -EINVAL);
        rec->n_scores = F;
}
END_TEST

/* Commit frames in the WAL file: frames whose "database size after commit"
 * field is non-zero and whose salts match the header's (sqlite.org/fileformat2,
 * "WAL File Format"). One per committed transaction since the WAL was last
 * reset. */
static unsigned wal_commits(const char *db) {
        _cleanup_free_ char *wal = NULL;
        _cleanup_free_ uint8_t *data = NULL;
        uint32_t page_size, salt[2];
        unsigned commits = 0;
        size_t size = 0;

        ck_assert_int_gt(asprintf(&wal, "%s-wal", db), 0);
        ck_assert_int_eq(test_read_file(wal, &data, &size), 0);
        if (size < 32)
                return 0;
        memcpy(&page_size, data + 8, 4);
        page_size = ntohl(page_size);
        memcpy(salt, data + 16, 8);
        for (size_t off = 32; off + 24 + page_size <= size; off += 24 + page_size) {
                uint32_t commit;

                memcpy(&commit, data + off + 4, 4);
                if (memcmp(data + off + 8, salt, 8) == 0 && commit != 0)
                        commits++;
        }
        return commits;
}

START_TEST(test_one_transaction) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        store_session *se;
        unsigned before, after;
        sqlite3 *db;

        ck_assert_int_eq(store_open(path, 0, &s, NULL), 0);
        se = begin(s, "replay:subject01", 1);
        for (uint64_t i = 0; i < 50; i++)
                ck_assert_int_eq(append(s, se, 1000 + i, i), 0);

        before = wal_commits(path);
        ck_assert_int_eq(store_flush(s, NULL), 50);
        after = wal_commits(path);
        ck_assert_uint_eq(after - before, 1);

        /* Nothing queued: no transaction at all. */
        ck_assert_int_eq(store_flush(s, NULL), 0);
        ck_assert_uint_eq(wal_commits(path), after);

        db = raw_open(path);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM snapshots"), 50);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM scores"), 50 * F);
        sqlite3_close(db);
}
END_TEST

START_TEST(test_queue_bound) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        store_session *se;
        store_stats st;
        sqlite3 *db;

        ck_assert_int_eq(store_open(path, 0, &s, NULL), 0);
        store_set_queue_limit(s, 5);
        se = begin(s, "replay:subject01", 1);
        for (uint64_t i = 1; i <= 8; i++)
                ck_assert_int_eq(append(s, se, i, i), 0);
        store_get_stats(s, &st);
        ck_assert_uint_eq(st.queued, 5);
        ck_assert_uint_eq(st.dropped, 3);

        ck_assert_int_eq(store_flush(s, NULL), 5);
        db = raw_open(path);
        /* The oldest three (1, 2, 3) were dropped: 4 + 5 + 6 + 7 + 8 = 30. */
        ck_assert_int_eq(raw_int(db, "SELECT sum(frames_processed) FROM snapshots"), 30);
        ck_assert_int_eq(raw_int(db, "SELECT min(time_us) FROM snapshots"), 4);
        sqlite3_close(db);
}
END_TEST

START_TEST(test_retention) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        store_session *old, *live;
        uint64_t deleted = 99;
        da_error err = {};
        sqlite3 *db;

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        /* Session "old" on device a: t = 1…4 s; session "live" on device b:
         * t = 5…10 s. */
        old = begin(s, "evdev:a", 1000000);
        live = begin(s, "evdev:b", 5000000);
        for (uint64_t t = 1; t <= 4; t++)
                ck_assert_int_eq(append(s, old, t * 1000000, t), 0);
        for (uint64_t t = 5; t <= 10; t++)
                ck_assert_int_eq(append(s, live, t * 1000000, t), 0);
        store_session_end(s, old, 4500000);
        ck_assert_int_eq(store_flush(s, &err), 10);

        /* Now 10.5 s, keep 5 s: everything before 5.5 s goes, i.e. t = 1…5. */
        ck_assert_int_eq(store_apply_retention(s, 10500000, 5000000, 0, &deleted, &err), 0);
        ck_assert_uint_eq(deleted, 5);
        db = raw_open(path);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM snapshots"), 5);
        ck_assert_int_eq(raw_int(db, "SELECT min(time_us) FROM snapshots"), 6000000);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM scores"), 5 * F);
        /* Session "old" lost all snapshots: it, its features and its device go. */
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sessions"), 1);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM session_features"), F);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM devices"), 1);
        sqlite3_close(db);

        /* By count: the newest 2 of t = 6…10 stay. */
        ck_assert_int_eq(store_apply_retention(s, 10500000, 0, 2, &deleted, &err), 0);
        ck_assert_uint_eq(deleted, 3);
        db = raw_open(path);
        ck_assert_int_eq(raw_int(db, "SELECT sum(time_us) FROM snapshots"), 9000000 + 10000000);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM scores"), 2 * F);
        sqlite3_close(db);

        /* A live session whose rows all went is written again with its next
         * snapshot. */
        ck_assert_int_eq(store_apply_retention(s, 100000000, 1000000, 0, &deleted, &err), 0);
        ck_assert_uint_eq(deleted, 2);
        ck_assert_int_eq(append(s, live, 100000000, 11), 0);
        ck_assert_int_eq(store_flush(s, &err), 1);
        db = raw_open(path);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sessions"), 1);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM session_features"), F);
        ck_assert_int_eq(raw_int(db, "SELECT frames_processed FROM snapshots"), 11);
        sqlite3_close(db);
        check_integrity(path);
}
END_TEST

static uint8_t *read_all(const char *path, size_t *ret_size) {
        uint8_t *data = NULL;

        ck_assert_int_eq(test_read_file(path, &data, ret_size), 0);
        return data;
}

START_TEST(test_version_refused) {
        _cleanup_free_ char *future = db_path("future.db");
        _cleanup_free_ char *foreign = db_path("foreign.db");
        _cleanup_free_ char *text = db_path("text.db");
        _cleanup_free_ uint8_t *before = NULL, *after = NULL;
        size_t n_before, n_after;
        store *s = NULL;
        da_error err = {};

        raw_exec(future, "PRAGMA application_id = 1681998708; PRAGMA user_version = 3;"
                         "CREATE TABLE from_the_future (x INTEGER);");
        before = read_all(future, &n_before);
        ck_assert_int_eq(store_open(future, 0, &s, &err), -EPROTONOSUPPORT);
        ck_assert_ptr_null(s);
        ck_assert_msg(strstr(err.message, "schema version 3") && strstr(err.message, "newer"), "%s", err.message);
        /* Not even switched to WAL: the file is byte for byte what it was. */
        after = read_all(future, &n_after);
        ck_assert_uint_eq(n_before, n_after);
        ck_assert_int_eq(memcmp(before, after, n_before), 0);

        raw_exec(foreign, "CREATE TABLE contacts (name TEXT)");
        ck_assert_int_eq(store_open(foreign, 0, &s, &err), -EMEDIUMTYPE);
        ck_assert_msg(strstr(err.message, "not a deepactif store"), "%s", err.message);

        ck_assert_int_eq(test_write_file(text, "hello, not a database\n", 22), 0);
        ck_assert_int_eq(store_open(text, 0, &s, &err), -EBADMSG);
        ck_assert_msg(strstr(err.message, text), "%s", err.message);
}
END_TEST

static char *dump(const char *path) {
        sqlite3 *db = raw_open(path);
        char *v = raw_text(db,
                "SELECT group_concat(x, '|') FROM ("
                "SELECT id || ',' || name || ',' || source || ',' || first_seen || ',' || last_seen AS x FROM devices "
                "UNION ALL SELECT id || ',' || device_id || ',' || model || ',' || model_identity || ',' || "
                "started || ',' || ended FROM sessions "
                "UNION ALL SELECT session_id || ',' || feature || ',' || name FROM session_features "
                "UNION ALL SELECT id || ',' || time_us || ',' || method || ',' || location || ',' || aggregation || "
                "',' || windows || ',' || frames_processed || ',' || frames_dropped || ',' || last_prediction "
                "FROM snapshots "
                "UNION ALL SELECT snapshot_id || ',' || feature || ',' || score || ',' || rank FROM scores)");

        sqlite3_close(db);
        return v;
}

static int count_event(const store_event *e, void *userdata) {
        (*(unsigned *) userdata)++;
        return 0;
}

START_TEST(test_v1_file) {
        _cleanup_free_ char *path = db_path("v1.db");
        unsigned events = 0;
        _cleanup_free_ char *sql_path = test_path("fixtures/store-v1.sql");
        _cleanup_free_ uint8_t *sql = NULL;
        _cleanup_free_ char *sql_text = NULL;
        _cleanup_free_ char *before = NULL, *after = NULL;
        _cleanup_(store_freep) store *s = NULL;
        _cleanup_(store_record_freep) store_record *r = NULL;
        size_t n;
        da_error err = {};

        ck_assert_int_eq(test_read_file(sql_path, &sql, &n), 0);
        sql_text = strndup((const char *) sql, n);
        raw_exec(path, sql_text);
        before = dump(path);

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        /* Migrated: version 2 adds the events table, and leaves the rest. */
        ck_assert_int_eq(store_schema_version(s), 2);
        ck_assert_int_eq(store_foreach_event(s, NULL, 0, 0, count_event, &events, &err), 0);
        ck_assert_uint_eq(events, 0);
        ck_assert_int_eq(store_get_latest(s, &(store_query) { .device = "replay:rv-subject01" }, &r, &err), 0);
        ck_assert_uint_eq(r->time_us, 1700000001000000);
        ck_assert_str_eq(r->location, "gate");
        ck_assert_double_eq(r->last_prediction, 0.625);
        ck_assert_uint_eq(r->n_scores, 2);
        ck_assert_str_eq(r->scores[0].name, "gaze.velocity");
        ck_assert_double_eq(r->scores[0].score, 0.75);
        ck_assert_str_eq(r->scores[1].name, "vergence.angle");
        s = store_free(s);

        after = dump(path);
        ck_assert_str_eq(before, after);
        check_integrity(path);

        /* Read-only opening works on a current file and writes nothing. */
        ck_assert_int_eq(store_open(path, STORE_READ_ONLY, &s, &err), 0);
        r = store_record_free(r);
        ck_assert_int_eq(store_get_latest(s, NULL, &r, &err), 0);
        ck_assert_uint_eq(r->time_us, 1700000001000000);
}
END_TEST

typedef struct seen_events {
        unsigned n;
        char kinds[4][32];
        char features[4][64];
} seen_events;

static int collect_event(const store_event *e, void *userdata) {
        seen_events *v = userdata;

        ck_assert_uint_lt(v->n, 4);
        snprintf(v->kinds[v->n], sizeof(v->kinds[0]), "%s", e->kind);
        snprintf(v->features[v->n], sizeof(v->features[0]), "%s", e->features ?: "");
        v->n++;
        return 0;
}

START_TEST(test_v2_file) {
        _cleanup_free_ char *path = db_path("v2.db");
        _cleanup_free_ char *sql_path = test_path("fixtures/store-v2.sql");
        _cleanup_free_ uint8_t *sql = NULL;
        _cleanup_free_ char *sql_text = NULL;
        _cleanup_(store_freep) store *s = NULL;
        seen_events v = {};
        size_t n;
        da_error err = {};

        ck_assert_int_eq(test_read_file(sql_path, &sql, &n), 0);
        sql_text = strndup((const char *) sql, n);
        raw_exec(path, sql_text);

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        ck_assert_int_eq(store_schema_version(s), 2);
        ck_assert_int_eq(store_foreach_event(s, NULL, 0, 0, collect_event, &v, &err), 0);
        ck_assert_uint_eq(v.n, 2);
        ck_assert_str_eq(v.kinds[0], "channel-frozen");
        ck_assert_str_eq(v.kinds[1], "ranking-shift");
        ck_assert_str_eq(v.features[1], "vergence.angle\ngaze.velocity");

        /* Filters: by time, by device, and a limit. */
        v = (seen_events) {};
        ck_assert_int_eq(store_foreach_event(s, NULL, 1700000002000000, 0, collect_event, &v, &err), 0);
        ck_assert_uint_eq(v.n, 1);
        v = (seen_events) {};
        ck_assert_int_eq(store_foreach_event(s, "replay:other", 0, 0, collect_event, &v, &err), 0);
        ck_assert_uint_eq(v.n, 0);
        v = (seen_events) {};
        ck_assert_int_eq(store_foreach_event(s, "replay:rv-subject01", 0, 1, collect_event, &v, &err), 0);
        ck_assert_uint_eq(v.n, 1);
        check_integrity(path);
}
END_TEST

/* Written at once: another connection sees them, and so does the store
 * opened again after the writer is gone without closing. */
START_TEST(test_events_persist) {
        _cleanup_free_ char *path = db_path("events.db");
        _cleanup_(store_freep) store *s = NULL;
        seen_events v = {};
        da_error err = {};

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        ck_assert_int_eq(store_append_event(s, &(store_event) {
                                .time_us = 1700000000000000, .stream_time_us = 5, .device = "replay:a",
                                .kind = "channel-missing", .channel = "eye.right.direction.y",
                                .detail = "missing" }, &err), 0);
        ck_assert_int_eq(store_append_event(s, &(store_event) { .device = "replay:a" }, &err), -EINVAL);
        s = store_free(s);
        ck_assert_int_eq(store_open(path, STORE_READ_ONLY, &s, &err), 0);
        ck_assert_int_eq(store_foreach_event(s, "replay:a", 0, 0, collect_event, &v, &err), 0);
        ck_assert_uint_eq(v.n, 1);
        ck_assert_str_eq(v.kinds[0], "channel-missing");
}
END_TEST

START_TEST(test_full_disk) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        store_session *se;
        store_stats st;
        da_error err = {};
        struct stat sb;
        sqlite3 *db;

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        se = begin(s, "replay:subject01", 1);
        ck_assert_int_eq(append(s, se, 1, 0), 0);
        ck_assert_int_eq(store_flush(s, &err), 1);

        /* No room beyond the pages in use now, as on a full disk (and this
         * works as root, unlike a read-only chmod). */
        ck_assert_int_eq(stat(path, &sb), 0);
        ck_assert_int_eq(store_set_size_limit(s, 4096, &err), 0);
        for (uint64_t i = 1; i <= 500; i++)
                ck_assert_int_eq(append(s, se, 1 + i, i), 0);
        ck_assert_int_eq(store_flush(s, &err), -ENOSPC);
        ck_assert_msg(strstr(err.message, "full") && strstr(err.message, path), "%s", err.message);
        store_get_stats(s, &st);
        ck_assert_uint_eq(st.queued, 500);
        ck_assert_uint_eq(st.failed_flushes, 1);
        ck_assert_int_eq(st.last_error, -ENOSPC);

        /* The failed transaction left nothing behind. */
        db = raw_open(path);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM snapshots"), 1);
        sqlite3_close(db);

        /* A second failure keeps the queue too; then room comes back. */
        ck_assert_int_eq(store_flush(s, &err), -ENOSPC);
        ck_assert_int_eq(store_set_size_limit(s, 0, &err), 0);
        ck_assert_int_eq(store_flush(s, &err), 500);
        store_get_stats(s, &st);
        ck_assert_uint_eq(st.queued, 0);
        ck_assert_uint_eq(st.written, 501);
        ck_assert_int_eq(st.last_error, 0);

        db = raw_open(path);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM snapshots"), 501);
        /* 0 + 1 + … + 500 = 125250: each snapshot exactly once. */
        ck_assert_int_eq(raw_int(db, "SELECT sum(frames_processed) FROM snapshots"), 125250);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM sessions"), 1);
        sqlite3_close(db);
        check_integrity(path);
}
END_TEST

/* A VFS that forwards to the default one but, while fault_errno is set,
 * fails every write as the kernel would on a read-only remount or a dead
 * disk, reporting fault_errno as the OS error. */
static int fault_errno;
static sqlite3_vfs fault_vfs;
/* The unix VFS uses different method tables for different files (database,
 * WAL, shm); each gets a copy with xWrite replaced. */
static const sqlite3_io_methods *real_methods[4];
static sqlite3_io_methods fault_methods[4];

static int fault_write(sqlite3_file *f, const void *buf, int n, sqlite3_int64 off) {
        size_t i = (size_t) (f->pMethods - fault_methods);

        if (fault_errno != 0) {
                /* As the failed write(2) would. */
                errno = fault_errno;
                return SQLITE_IOERR_WRITE;
        }
        return real_methods[i]->xWrite(f, buf, n, off);
}

static int fault_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags) {
        sqlite3_vfs *real = vfs->pAppData;
        int rc = real->xOpen(real, name, f, flags, out_flags);
        size_t i;

        if (rc != SQLITE_OK || !f->pMethods)
                return rc;
        for (i = 0; i < ELEMENTSOF(real_methods) && real_methods[i]; i++)
                if (real_methods[i] == f->pMethods)
                        break;
        ck_assert_uint_lt(i, ELEMENTSOF(real_methods));
        if (!real_methods[i]) {
                real_methods[i] = f->pMethods;
                fault_methods[i] = *f->pMethods;
                fault_methods[i].xWrite = fault_write;
        }
        f->pMethods = &fault_methods[i];
        return rc;
}

static int fault_last_error(sqlite3_vfs *vfs, int n, char *buf) {
        sqlite3_vfs *real = vfs->pAppData;

        return fault_errno != 0 ? fault_errno : real->xGetLastError(real, n, buf);
}

static void fault_vfs_register(void) {
        sqlite3_vfs *real = sqlite3_vfs_find(NULL);

        fault_vfs = *real;
        fault_vfs.zName = "fault";
        fault_vfs.pAppData = real;
        fault_vfs.xOpen = fault_open;
        fault_vfs.xGetLastError = fault_last_error;
        ck_assert_int_eq(sqlite3_vfs_register(&fault_vfs, 1), SQLITE_OK);
}

static void check_write_fault(int errnum) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        store_session *se;
        store_stats st;
        da_error err = {};
        sqlite3 *db;

        fault_vfs_register();
        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        se = begin(s, "replay:subject01", 1);
        for (uint64_t i = 1; i <= 20; i++)
                ck_assert_int_eq(append(s, se, i, i), 0);

        fault_errno = errnum;
        ck_assert_int_eq(store_flush(s, &err), -errnum);
        ck_assert_msg(strstr(err.message, strerror(errnum)) && strstr(err.message, "20 ranking snapshots"),
                      "%s", err.message);
        store_get_stats(s, &st);
        ck_assert_uint_eq(st.queued, 20);

        fault_errno = 0;
        ck_assert_int_eq(store_flush(s, &err), 20);
        s = store_free(s);

        db = raw_open(path);
        /* 1 + … + 20 = 210: every snapshot once, none lost or doubled. */
        ck_assert_int_eq(raw_int(db, "SELECT sum(frames_processed) FROM snapshots"), 210);
        ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM scores"), 20 * F);
        sqlite3_close(db);
        check_integrity(path);
}

START_TEST(test_read_only_fs) {
        check_write_fault(EROFS);
}
END_TEST

START_TEST(test_io_error) {
        check_write_fault(EIO);
}
END_TEST

START_TEST(test_read_only_open) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        store_session *se;
        store_stats st;
        da_error err = {};

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        s = store_free(s);

        ck_assert_int_eq(store_open(path, STORE_READ_ONLY, &s, &err), 0);
        se = begin(s, "replay:subject01", 1);
        ck_assert_int_eq(append(s, se, 1, 1), 0);
        ck_assert_int_eq(store_flush(s, &err), -EROFS);
        ck_assert_msg(strstr(err.message, "readonly"), "%s", err.message);
        store_get_stats(s, &st);
        ck_assert_uint_eq(st.queued, 1);
}
END_TEST

/* --database given as a symlink is refused: the service's state directory
 * is not to be redirected by whoever may create a link there. */
START_TEST(test_symlink_refused) {
        _cleanup_free_ char *path = db_path("store.db"), *link = db_path("link.db");
        _cleanup_(store_freep) store *s = NULL;
        da_error err = {};
        int r;

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        s = store_free(s);
        ck_assert_int_eq(symlink(path, link), 0);
        r = store_open(link, 0, &s, &err);
        ck_assert_msg(r == -ELOOP, "%d: %s", r, err.message);
        ck_assert_msg(strstr(err.message, link) && strstr(err.message, "symbolic link"), "%s", err.message);
        r = store_open(link, STORE_READ_ONLY, &s, &err);
        ck_assert_msg(r == -ELOOP, "%d: %s", r, err.message);
}
END_TEST

/* A file with a damaged page is refused with a clear error at open, not
 * found out by a later query or flush. */
START_TEST(test_corrupt_page_refused) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        char junk[4096];
        store_session *se;
        da_error err = {};
        struct stat st;
        int fd, r;

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        se = begin(s, "replay:subject01", 1);
        for (uint64_t i = 1; i <= 2000; i++)
                ck_assert_int_eq(append(s, se, i, i), 0);
        ck_assert_int_eq(store_flush(s, &err), 2000);
        s = store_free(s);

        /* Overwrite a page in the middle of the file, far from the header
         * and the schema on page 1. */
        ck_assert_int_eq(stat(path, &st), 0);
        ck_assert_int_ge(st.st_size, 16 * 4096);
        memset(junk, 0x5a, sizeof junk);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        ck_assert_int_ge(fd, 0);
        ck_assert_int_eq(pwrite(fd, junk, sizeof junk, (st.st_size / 4096 / 2) * 4096), (ssize_t) sizeof junk);
        close(fd);

        r = store_open(path, 0, &s, &err);
        ck_assert_msg(r == -EUCLEAN, "%d: %s", r, err.message);
        ck_assert_msg(strstr(err.message, path) && strstr(err.message, "damaged"), "%s", err.message);
}
END_TEST

/* The checks of test_read_only_dir; they run as an unprivileged user, in
 * a child when the test runs as root, so plain returns instead of ck_*. */
#define REFUSE_IF(cond, ...) do { if (cond) { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); return 1; } } while (0)
static int read_only_dir_checks(const char *sub) {
        _cleanup_free_ char *path = NULL;
        store *s = NULL;
        da_error err = {};
        int r;

        REFUSE_IF(mkdir(sub, 0555) < 0, "mkdir %s: %m", sub);
        REFUSE_IF(asprintf(&path, "%s/store.db", sub) < 0, "out of memory");
        r = store_open(path, 0, &s, &err);
        REFUSE_IF(r != -EACCES && r != -EROFS, "open in a read-only directory: %d: %s", r, err.message);
        REFUSE_IF(!strstr(err.message, path), "the error does not name the file: %s", err.message);

        REFUSE_IF(chmod(sub, 0755) < 0, "chmod: %m");
        r = store_open(path, 0, &s, &err);
        REFUSE_IF(r != 0, "open: %d: %s", r, err.message);
        s = store_free(s);

        /* A file we may not write is refused, not silently opened read-only. */
        REFUSE_IF(chmod(path, 0444) < 0, "chmod: %m");
        r = store_open(path, 0, &s, &err);
        REFUSE_IF(r != -EACCES, "open of a read-only file: %d: %s", r, err.message);
        REFUSE_IF(!strstr(err.message, "for writing"), "unclear: %s", err.message);
        REFUSE_IF(chmod(path, 0644) < 0, "chmod: %m");
        r = store_open(path, 0, &s, &err);
        REFUSE_IF(r != 0, "open: %d: %s", r, err.message);
        store_free(s);
        return 0;
}

START_TEST(test_read_only_dir) {
        _cleanup_free_ char *sub = db_path("ro");
        int status;
        pid_t pid;

        if (geteuid() != 0) {
                ck_assert_int_eq(read_only_dir_checks(sub), 0);
                return;
        }
        /* chmod does not stop root: run the checks as nobody. */
        ck_assert_int_eq(chown(dir, 65534, 65534), 0);
        pid = fork();
        ck_assert_int_ge(pid, 0);
        if (pid == 0) {
                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 ||
                    setresuid(65534, 65534, 65534) < 0)
                        _exit(2);
                _exit(read_only_dir_checks(sub));
        }
        ck_assert_int_eq(waitpid(pid, &status, 0), pid);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the checks as nobody failed (status %d)", status);
}
END_TEST

/* A child appends batches of BATCH snapshots and flushes, reporting each
 * flushed total through a pipe, until it is killed with SIGKILL at a random
 * moment. The file must then be intact and hold exactly a prefix of whole
 * batches: everything reported, plus at most the batch in flight. */
#define BATCH 10

static _Noreturn void crash_child(const char *path, int fd) {
        store *s = NULL;
        store_session *se;
        uint64_t seq = 0;

        if (store_open(path, 0, &s, NULL) < 0)
                _exit(2);
        se = begin(s, "replay:subject01", 1);
        for (;;) {
                for (unsigned i = 0; i < BATCH; i++, seq++)
                        if (append(s, se, 1000 + seq, seq) < 0)
                                _exit(3);
                if (store_flush(s, NULL) != BATCH)
                        _exit(4);
                if (write(fd, &seq, sizeof(seq)) != sizeof(seq))
                        _exit(5);
        }
}

START_TEST(test_crash) {
        uint64_t rng = 0x5eed;

        for (unsigned round = 0; round < 8; round++) {
                _cleanup_free_ char *path = NULL;
                uint64_t reported = 0, v, n, sum;
                int pipefd[2], status;
                pid_t pid;
                sqlite3 *db;

                ck_assert_int_gt(asprintf(&path, "%s/crash%u.db", dir, round), 0);
                ck_assert_int_eq(pipe2(pipefd, O_CLOEXEC), 0);
                pid = fork();
                ck_assert_int_ge(pid, 0);
                if (pid == 0) {
                        close(pipefd[0]);
                        crash_child(path, pipefd[1]);
                }
                close(pipefd[1]);

                /* Let some flushes land, then kill at a random point of a later one. */
                for (unsigned i = 0; i < 5 + round * 3; i++) {
                        ck_assert_int_eq(read(pipefd[0], &v, sizeof(v)), sizeof(v));
                        reported = v;
                }
                usleep(da_splitmix64(&rng) % 3000);
                ck_assert_int_eq(kill(pid, SIGKILL), 0);
                ck_assert_int_eq(waitpid(pid, &status, 0), pid);
                ck_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
                while (read(pipefd[0], &v, sizeof(v)) == sizeof(v))
                        reported = v;
                close(pipefd[0]);

                check_integrity(path);
                db = raw_open(path);
                n = (uint64_t) raw_int(db, "SELECT count(*) FROM snapshots");
                sum = (uint64_t) raw_int(db, "SELECT coalesce(sum(frames_processed), 0) FROM snapshots");
                ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM snapshots WHERE frames_processed >= "
                                             "(SELECT count(*) FROM snapshots)"), 0);
                ck_assert_int_eq(raw_int(db, "SELECT count(*) FROM scores"), (int64_t) (n * F));
                sqlite3_close(db);

                /* Sequence numbers 0…n−1 each once (distinct, all < n, and their sum). */
                ck_assert_uint_eq(sum, n * (n > 0 ? n - 1 : 0) / 2);
                ck_assert_uint_eq(n % BATCH, 0);
                ck_assert_uint_ge(n, reported);
                ck_assert_uint_le(n, reported + BATCH);

                /* And the store opens it again and goes on. */
                {
                        _cleanup_(store_freep) store *s = NULL;
                        store_session *se;
                        da_error err = {};

                        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
                        se = begin(s, "replay:subject01", 2);
                        ck_assert_int_eq(append(s, se, 5000, n), 0);
                        ck_assert_int_eq(store_flush(s, &err), 1);
                }
        }
}
END_TEST

START_TEST(test_export) {
        _cleanup_free_ char *path = db_path("store.db");
        _cleanup_(store_freep) store *s = NULL;
        _cleanup_free_ char *csv = NULL, *json = NULL;
        size_t size = 0;
        store_session *se;
        da_error err = {};
        json_object *doc, *o, *scores, *sc;
        FILE *f;

        ck_assert_int_eq(store_open(path, 0, &s, &err), 0);
        /* A comma in the name forces CSV quoting. */
        se = begin(s, "evdev:a,b", 1000);
        ck_assert_int_eq(append(s, se, 1000, 10), 0);
        ck_assert_int_eq(append(s, se, 2000, 20), 0);
        ck_assert_int_eq(store_flush(s, &err), 2);

        f = open_memstream(&csv, &size);
        ck_assert_int_eq(store_export(s, &(store_query) { .limit = 1, .top_k = 2 }, STORE_EXPORT_CSV, f, &err), 1);
        fclose(f);
        ck_assert_str_eq(csv,
                "time_us,device,source,model,model_identity,method,location,aggregation,windows,"
                "frames_processed,frames_dropped,last_prediction,feature,name,score,rank\n"
                "2000,\"evdev:a,b\",replay,/usr/share/deepactif/foval.safetensors,sha256:0123abcd,deepactif,gate,inv,"
                "64,20,7,0.625,2,pupil.left.diameter,0.75,1\n"
                "2000,\"evdev:a,b\",replay,/usr/share/deepactif/foval.safetensors,sha256:0123abcd,deepactif,gate,inv,"
                "64,20,7,0.625,0,vergence.angle,0.5,2\n");

        f = open_memstream(&json, &size);
        ck_assert_int_eq(store_export(s, &(store_query) { .oldest_first = true }, STORE_EXPORT_JSON, f, &err), 2);
        fclose(f);
        doc = json_tokener_parse(json);
        ck_assert_msg(doc && json_object_is_type(doc, json_type_array), "%s", json);
        ck_assert_uint_eq(json_object_array_length(doc), 2);
        o = json_object_array_get_idx(doc, 0);
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "time_us")), 1000);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(o, "device")), "evdev:a,b");
        ck_assert_int_eq(json_object_get_int64(json_object_object_get(o, "frames_processed")), 10);
        ck_assert_double_eq(json_object_get_double(json_object_object_get(o, "last_prediction")), 0.625);
        scores = json_object_object_get(o, "scores");
        ck_assert_uint_eq(json_object_array_length(scores), F);
        sc = json_object_array_get_idx(scores, 2);
        ck_assert_str_eq(json_object_get_string(json_object_object_get(sc, "name")), "gaze.velocity");
        ck_assert_double_eq(json_object_get_double(json_object_object_get(sc, "score")), 0.25);
        ck_assert_int_eq(json_object_get_int(json_object_object_get(sc, "rank")), 3);
        json_object_put(doc);

        /* Nothing matches: still a valid, empty document. */
        free(json);
        json = NULL;
        f = open_memstream(&json, &size);
        ck_assert_int_eq(store_export(s, &(store_query) { .device = "none" }, STORE_EXPORT_JSON, f, &err), 0);
        fclose(f);
        ck_assert_str_eq(json, "[]\n");

        ck_assert_int_eq(store_export_format_from_string("json"), STORE_EXPORT_JSON);
        ck_assert_int_eq(store_export_format_from_string("xml"), -EINVAL);
}
END_TEST

static Suite *store_suite(void) {
        Suite *s = suite_create("store");
        TCase *tc = tcase_create("store");

        tcase_add_checked_fixture(tc, setup, teardown);
        tcase_add_test(tc, test_roundtrip);
        tcase_add_test(tc, test_foreach);
        tcase_add_test(tc, test_bad_input);
        tcase_add_test(tc, test_append_record);
        tcase_add_test(tc, test_one_transaction);
        tcase_add_test(tc, test_queue_bound);
        tcase_add_test(tc, test_retention);
        tcase_add_test(tc, test_version_refused);
        tcase_add_test(tc, test_v1_file);
        tcase_add_test(tc, test_v2_file);
        tcase_add_test(tc, test_events_persist);
        tcase_add_test(tc, test_full_disk);
        tcase_add_test(tc, test_read_only_fs);
        tcase_add_test(tc, test_io_error);
        tcase_add_test(tc, test_read_only_open);
        tcase_add_test(tc, test_read_only_dir);
        tcase_add_test(tc, test_symlink_refused);
        tcase_add_test(tc, test_corrupt_page_refused);
        tcase_add_test(tc, test_crash);
        tcase_add_test(tc, test_export);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run(store_suite());
}
