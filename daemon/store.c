/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * The SQLite store of ranking snapshots (DESIGN §4.7).
 *
 * Schema, version 2 (PRAGMA user_version = 2, PRAGMA application_id =
 * STORE_APPLICATION_ID). Times are µs since the epoch (CLOCK_REALTIME).
 *
 *   devices          id, name UNIQUE, source, first_seen, last_seen
 *   sessions         id, device_id → devices, model (path or id),
 *                    model_identity ("sha256:…" or "size:…,mtime:…"),
 *                    n_features, started, ended (NULL while running or
 *                    after a crash)
 *   session_features (session_id → sessions, feature) → name: the model's
 *                    input list, stored once per session, not per score
 *   snapshots        id, session_id → sessions, time_us, method, location
 *                    (NULL where it does not apply), aggregation, windows,
 *                    frames_processed, frames_dropped, last_prediction
 *                    (NULL when none)
 *   scores           (snapshot_id → snapshots, feature) → score (NULL for
 *                    NaN), rank (1 = relied on most)
 *   events           id, time_us, stream_time_us, device (by name: events
 *                    can precede a device's first snapshot), kind, channel
 *                    (NULL for ranking events), features (newline-separated,
 *                    NULL for channel events), detail; since version 2
 *
 * Deleting a snapshot deletes its scores, a session its features and
 * snapshots (ON DELETE CASCADE, foreign_keys=ON). Raw gaze is never stored:
 * there is no table for frames.
 *
 * Each schema version has one migration function, migrate_N_to_N+1(); all
 * steps needed run in one IMMEDIATE transaction that also sets user_version,
 * so a crash mid-migration leaves the old version intact.
 *
 * The file is in WAL mode with synchronous=NORMAL: a committed flush
 * survives a crash of the process; a power loss may lose the last commits,
 * never the file's consistency. SQLite's unix VFS opens the database, WAL
 * and shm files with O_CLOEXEC, so no descriptor leaks into children.
 */

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <sqlite3.h>
#include <strings.h>

#include "list.h"
#include "store.h"

typedef struct queued_snapshot queued_snapshot;

struct store_session {
        LIST_FIELDS(store_session, sessions);
        char *device;
        char *source;
        char *model;
        char *model_identity;
        uint64_t started_us;
        uint64_t ended_us;
        bool ended;
        bool ended_written;
        unsigned n_features;
        char **features;
        int64_t id;                     /* row id once committed, 0 before */
        int64_t pending_id;             /* row id inside the running flush */
        uint64_t pending_seen_us;       /* newest snapshot time in the running flush */
        size_t n_queued;
};

struct queued_snapshot {
        LIST_FIELDS(queued_snapshot, queue);
        store_session *session;
        uint64_t time_us;
        char *method;
        char *location;
        char *aggregation;
        unsigned windows;
        uint64_t frames_processed;
        uint64_t frames_dropped;
        double last_prediction;
        unsigned n_scores;
        double *scores;
        unsigned *ranks;
};

typedef enum stmt_id {
        STMT_BEGIN_IMMEDIATE,
        STMT_BEGIN,
        STMT_COMMIT,
        STMT_ROLLBACK,
        STMT_DEVICE_UPSERT,
        STMT_DEVICE_ID,
        STMT_DEVICE_SEEN,
        STMT_SESSION_INSERT,
        STMT_SESSION_END,
        STMT_SESSION_EXISTS,
        STMT_FEATURE_INSERT,
        STMT_SNAPSHOT_INSERT,
        STMT_SCORE_INSERT,
        STMT_QUERY_NEWEST,
        STMT_QUERY_OLDEST,
        STMT_QUERY_SCORES,
        STMT_DEVICES,
        STMT_RETAIN_AGE,
        STMT_RETAIN_COUNT,
        STMT_RETAIN_SESSIONS,
        STMT_RETAIN_DEVICES,
        STMT_EVENT_INSERT,
        STMT_EVENT_QUERY,
        STMT_RETAIN_EVENTS,
        _STMT_MAX,
} stmt_id;

#define QUERY_SNAPSHOTS(order, beyond)                                                  \
        "SELECT sn.id, sn.session_id, d.name, d.source, se.model, se.model_identity, "  \
        "sn.time_us, sn.method, sn.location, sn.aggregation, sn.windows, "              \
        "sn.frames_processed, sn.frames_dropped, sn.last_prediction "                   \
        "FROM snapshots sn JOIN sessions se ON se.id = sn.session_id "                  \
        "JOIN devices d ON d.id = se.device_id "                                        \
        "WHERE (?1 IS NULL OR d.name = ?1) AND (?2 IS NULL OR sn.method = ?2) "         \
        "AND (?3 IS NULL OR sn.location = ?3) AND (?4 IS NULL OR sn.aggregation = ?4) " \
        "AND sn.time_us >= ?5 AND sn.time_us <= ?6 "                                    \
        "AND (?8 IS NULL OR (sn.time_us, sn.id) " beyond " (?8, ?9)) "                  \
        "ORDER BY sn.time_us " order ", sn.id " order " LIMIT ?7"

static const char *const stmt_sql[_STMT_MAX] = {
        [STMT_BEGIN_IMMEDIATE] = "BEGIN IMMEDIATE",
        [STMT_BEGIN] = "BEGIN",
        [STMT_COMMIT] = "COMMIT",
        [STMT_ROLLBACK] = "ROLLBACK",
        [STMT_DEVICE_UPSERT] =
                "INSERT INTO devices (name, source, first_seen, last_seen) VALUES (?1, ?2, ?3, ?3) "
                "ON CONFLICT (name) DO UPDATE SET source = excluded.source, "
                "last_seen = max(last_seen, excluded.last_seen)",
        [STMT_DEVICE_ID] = "SELECT id FROM devices WHERE name = ?1",
        [STMT_DEVICE_SEEN] =
                "UPDATE devices SET last_seen = max(last_seen, ?2) "
                "WHERE id = (SELECT device_id FROM sessions WHERE id = ?1)",
        [STMT_SESSION_INSERT] =
                "INSERT INTO sessions (device_id, model, model_identity, n_features, started) "
                "VALUES (?1, ?2, ?3, ?4, ?5)",
        [STMT_SESSION_END] = "UPDATE sessions SET ended = ?2 WHERE id = ?1",
        [STMT_SESSION_EXISTS] = "SELECT 1 FROM sessions WHERE id = ?1",
        [STMT_FEATURE_INSERT] = "INSERT INTO session_features (session_id, feature, name) VALUES (?1, ?2, ?3)",
        [STMT_SNAPSHOT_INSERT] =
                "INSERT INTO snapshots (session_id, time_us, method, location, aggregation, windows, "
                "frames_processed, frames_dropped, last_prediction) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        [STMT_SCORE_INSERT] = "INSERT INTO scores (snapshot_id, feature, score, rank) VALUES (?1, ?2, ?3, ?4)",
        [STMT_QUERY_NEWEST] = QUERY_SNAPSHOTS("DESC", "<"),
        [STMT_QUERY_OLDEST] = QUERY_SNAPSHOTS("ASC", ">"),
        [STMT_QUERY_SCORES] =
                "SELECT sc.feature, sc.rank, sc.score, f.name FROM scores sc "
                "LEFT JOIN session_features f ON f.session_id = ?2 AND f.feature = sc.feature "
                "WHERE sc.snapshot_id = ?1 ORDER BY sc.rank, sc.feature LIMIT ?3",
        [STMT_DEVICES] =
                "SELECT d.name, d.source, d.first_seen, d.last_seen, "
                "(SELECT count(*) FROM snapshots sn JOIN sessions se ON se.id = sn.session_id "
                "WHERE se.device_id = d.id) FROM devices d ORDER BY d.name",
        [STMT_RETAIN_AGE] = "DELETE FROM snapshots WHERE time_us < ?1",
        [STMT_RETAIN_COUNT] =
                "DELETE FROM snapshots WHERE id IN "
                "(SELECT id FROM snapshots ORDER BY time_us DESC, id DESC LIMIT -1 OFFSET ?1)",
        [STMT_RETAIN_SESSIONS] =
                "DELETE FROM sessions WHERE NOT EXISTS "
                "(SELECT 1 FROM snapshots WHERE snapshots.session_id = sessions.id)",
        [STMT_RETAIN_DEVICES] =
                "DELETE FROM devices WHERE NOT EXISTS "
                "(SELECT 1 FROM sessions WHERE sessions.device_id = devices.id)",
        [STMT_EVENT_INSERT] =
                "INSERT INTO events (time_us, stream_time_us, device, kind, channel, features, detail) "
                "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        [STMT_EVENT_QUERY] =
                "SELECT time_us, stream_time_us, device, kind, channel, features, detail FROM events "
                "WHERE (?1 IS NULL OR device = ?1) AND time_us >= ?2 ORDER BY time_us, id LIMIT ?3",
        [STMT_RETAIN_EVENTS] = "DELETE FROM events WHERE time_us < ?1",
};

struct store {
        sqlite3 *db;
        char *path;
        bool read_only;
        int schema_version;
        sqlite3_stmt *stmts[_STMT_MAX];
        LIST_HEAD(store_session, sessions);
        LIST_HEAD(queued_snapshot, queue);     /* oldest first */
        queued_snapshot *queue_tail;
        size_t queue_max;
        int64_t default_max_pages;
        store_stats stats;
};

static inline void sqlite3_finalizep(sqlite3_stmt **p) {
        if (*p)
                sqlite3_finalize(*p);
}
#define _cleanup_finalize_ _cleanup_(sqlite3_finalizep)

/* ---- errors ------------------------------------------------------------- */

/* The OS error behind an SQLite error, where there is one. SQLite records
 * it only on some paths (not for a failed COMMIT, where WAL frames are
 * written), so fall back to errno, which the failed syscall set and nothing
 * since has cleared: a remounted-read-only or full file system only shows
 * up as SQLITE_IOERR otherwise. */
static int system_errno(sqlite3 *db, int rc, int saved_errno) {
        int sys;

        if ((rc & 0xff) != SQLITE_IOERR && (rc & 0xff) != SQLITE_CANTOPEN)
                return 0;
        sys = db ? sqlite3_system_errno(db) : 0;
        return sys > 0 ? sys : MAX(saved_errno, 0);
}

static int errno_from_sqlite(int rc, int sys) {
        switch (rc & 0xff) {
        case SQLITE_OK:
        case SQLITE_ROW:
        case SQLITE_DONE:
                return 0;
        case SQLITE_FULL:
                return -ENOSPC;
        case SQLITE_READONLY:
                return -EROFS;
        case SQLITE_IOERR:
                if (rc == SQLITE_IOERR_NOMEM)
                        return -ENOMEM;
                if (sys == ENOSPC || sys == EDQUOT || sys == EROFS || sys == EIO)
                        return -sys;
                return -EIO;
        case SQLITE_CANTOPEN:
                return sys > 0 ? -sys : -EACCES;
        case SQLITE_PERM:
        case SQLITE_AUTH:
                return -EACCES;
        case SQLITE_BUSY:
        case SQLITE_LOCKED:
                return -EBUSY;
        case SQLITE_NOMEM:
                return -ENOMEM;
        case SQLITE_CORRUPT:
        case SQLITE_NOTADB:
                return -EBADMSG;
        case SQLITE_TOOBIG:
                return -E2BIG;
        case SQLITE_CONSTRAINT:
        case SQLITE_MISMATCH:
        case SQLITE_RANGE:
                return -EINVAL;
        default:
                return -EIO;
        }
}

/* One sentence naming the step, the file and SQLite's reason (plus the OS
 * reason for I/O errors). Call right after the failure, before anything
 * else touches the handle. */
static int sql_fail(store *s, da_error *err, int rc, const char *step) {
        int sys = system_errno(s->db, rc, errno);
        int r = errno_from_sqlite(rc, sys);
        const char *msg = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc);

        if (r == 0)
                r = -EIO;
        if (sys > 0)
                return da_error_set(err, r, "%s %s: %s (%s)", step, s->path, msg, strerror(sys));
        return da_error_set(err, r, "%s %s: %s", step, s->path, msg);
}

/* ---- statements --------------------------------------------------------- */

/* A cached statement, reset and unbound, ready for binding. */
static int stmt_get(store *s, stmt_id id, sqlite3_stmt **ret) {
        int rc;

        if (!s->stmts[id]) {
                rc = sqlite3_prepare_v3(s->db, stmt_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &s->stmts[id], NULL);
                if (rc != SQLITE_OK)
                        return rc;
        } else {
                sqlite3_reset(s->stmts[id]);
                sqlite3_clear_bindings(s->stmts[id]);
        }
        *ret = s->stmts[id];
        return SQLITE_OK;
}

/* Runs a statement that returns no rows we need. */
static int stmt_run(sqlite3_stmt *st) {
        int rc;

        do
                rc = sqlite3_step(st);
        while (rc == SQLITE_ROW);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int exec_simple(store *s, stmt_id id) {
        sqlite3_stmt *st;
        int rc;

        rc = stmt_get(s, id, &st);
        if (rc != SQLITE_OK)
                return rc;
        rc = stmt_run(st);
        sqlite3_reset(st);
        return rc;
}

static int64_t clamp_i64(uint64_t v) {
        return v > INT64_MAX ? INT64_MAX : (int64_t) v;
}

static int bind_text_or_null(sqlite3_stmt *st, int i, const char *v) {
        return v ? sqlite3_bind_text(st, i, v, -1, SQLITE_STATIC) : sqlite3_bind_null(st, i);
}

/* Leaves no transaction open after a failure, whether or not SQLite
 * already rolled back by itself. */
static void rollback(store *s) {
        if (!sqlite3_get_autocommit(s->db))
                (void) exec_simple(s, STMT_ROLLBACK);
}

/* Reads one integer from a PRAGMA or query. */
static int query_int64(sqlite3 *db, const char *sql, int64_t *ret) {
        _cleanup_finalize_ sqlite3_stmt *st = NULL;
        int rc;

        rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL);
        if (rc != SQLITE_OK)
                return rc;
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? SQLITE_EMPTY : rc;
        *ret = sqlite3_column_int64(st, 0);
        return SQLITE_OK;
}

/* ---- schema ------------------------------------------------------------- */

static int migrate_0_to_1(sqlite3 *db) {
        static const char sql[] =
                "CREATE TABLE devices ("
                "  id INTEGER PRIMARY KEY,"
                "  name TEXT NOT NULL UNIQUE,"
                "  source TEXT NOT NULL,"
                "  first_seen INTEGER NOT NULL,"
                "  last_seen INTEGER NOT NULL);"
                "CREATE TABLE sessions ("
                "  id INTEGER PRIMARY KEY,"
                "  device_id INTEGER NOT NULL REFERENCES devices (id) ON DELETE CASCADE,"
                "  model TEXT NOT NULL,"
                "  model_identity TEXT NOT NULL,"
                "  n_features INTEGER NOT NULL,"
                "  started INTEGER NOT NULL,"
                "  ended INTEGER);"
                "CREATE INDEX sessions_device ON sessions (device_id);"
                "CREATE TABLE session_features ("
                "  session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,"
                "  feature INTEGER NOT NULL,"
                "  name TEXT NOT NULL,"
                "  PRIMARY KEY (session_id, feature)) WITHOUT ROWID;"
                "CREATE TABLE snapshots ("
                "  id INTEGER PRIMARY KEY,"
                "  session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,"
                "  time_us INTEGER NOT NULL,"
                "  method TEXT NOT NULL,"
                "  location TEXT,"
                "  aggregation TEXT NOT NULL,"
                "  windows INTEGER NOT NULL,"
                "  frames_processed INTEGER NOT NULL,"
                "  frames_dropped INTEGER NOT NULL,"
                "  last_prediction REAL);"
                /* History per device walks a session's snapshots by time;
                 * retention and "newest overall" walk all by time. */
                "CREATE INDEX snapshots_session_time ON snapshots (session_id, time_us);"
                "CREATE INDEX snapshots_time ON snapshots (time_us);"
                "CREATE TABLE scores ("
                "  snapshot_id INTEGER NOT NULL REFERENCES snapshots (id) ON DELETE CASCADE,"
                "  feature INTEGER NOT NULL,"
                "  score REAL,"
                "  rank INTEGER NOT NULL,"
                "  PRIMARY KEY (snapshot_id, feature)) WITHOUT ROWID;";

        return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

static int migrate_1_to_2(sqlite3 *db) {
        static const char sql[] =
                "CREATE TABLE events ("
                "  id INTEGER PRIMARY KEY,"
                "  time_us INTEGER NOT NULL,"
                "  stream_time_us INTEGER NOT NULL,"
                "  device TEXT NOT NULL,"
                "  kind TEXT NOT NULL,"
                "  channel TEXT,"
                "  features TEXT,"
                "  detail TEXT NOT NULL);"
                "CREATE INDEX events_time ON events (time_us);";

        return sqlite3_exec(db, sql, NULL, NULL, NULL);
}

/* migrations[v] brings a file from version v to v + 1. */
static int (*const migrations[])(sqlite3 *db) = {
        migrate_0_to_1,
        migrate_1_to_2,
};
_Static_assert(ELEMENTSOF(migrations) == STORE_SCHEMA_VERSION, "one migration per schema version");

/* Refuses files that are not ours or are newer than we understand, before
 * anything writes to them. */
static int check_identity(store *s, int64_t *ret_version, da_error *err) {
        int64_t app_id = 0, version = 0, n_objects = 0;
        int rc;

        rc = query_int64(s->db, "PRAGMA application_id", &app_id);
        if (rc == SQLITE_OK)
                rc = query_int64(s->db, "PRAGMA user_version", &version);
        if (rc == SQLITE_OK)
                rc = query_int64(s->db, "SELECT count(*) FROM sqlite_master", &n_objects);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to read the schema version of");

        if (app_id != 0 && app_id != STORE_APPLICATION_ID)
                return da_error_set(err, -EMEDIUMTYPE,
                                    "%s is an SQLite database of another application (application_id 0x%08" PRIx64
                                    "), refusing to use it as the deepactif store.",
                                    s->path, (uint64_t) app_id);
        if (app_id == 0 && (version != 0 || n_objects != 0))
                return da_error_set(err, -EMEDIUMTYPE,
                                    "%s is an SQLite database but not a deepactif store, refusing to use it.",
                                    s->path);
        if (version > STORE_SCHEMA_VERSION)
                return da_error_set(err, -EPROTONOSUPPORT,
                                    "%s has schema version %" PRIi64 ", newer than the %d this deepactifd "
                                    "understands; refusing to open it (upgrade deepactif or use another file).",
                                    s->path, version, STORE_SCHEMA_VERSION);
        *ret_version = version;
        return 0;
}

static int migrate(store *s, da_error *err) {
        int64_t version;
        char sql[64];
        int r, rc;

        rc = exec_simple(s, STMT_BEGIN_IMMEDIATE);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to lock for migration");

        /* Again under the write lock: another process may have migrated. */
        r = check_identity(s, &version, err);
        if (r < 0)
                goto fail;

        for (int64_t v = version; v < STORE_SCHEMA_VERSION; v++) {
                rc = migrations[v](s->db);
                if (rc != SQLITE_OK) {
                        r = sql_fail(s, err, rc, "Failed to migrate the schema of");
                        goto fail;
                }
        }
        if (version < STORE_SCHEMA_VERSION) {
                snprintf(sql, sizeof(sql), "PRAGMA application_id = %d; PRAGMA user_version = %d",
                         STORE_APPLICATION_ID, STORE_SCHEMA_VERSION);
                rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
                if (rc != SQLITE_OK) {
                        r = sql_fail(s, err, rc, "Failed to set the schema version of");
                        goto fail;
                }
        }

        rc = exec_simple(s, STMT_COMMIT);
        if (rc != SQLITE_OK) {
                r = sql_fail(s, err, rc, "Failed to commit the migration of");
                goto fail;
        }
        s->schema_version = STORE_SCHEMA_VERSION;
        return 0;

fail:
        rollback(s);
        return r;
}

/* ---- open and free ------------------------------------------------------ */

static void session_free(store_session *se) {
        if (!se)
                return;
        free(se->device);
        free(se->source);
        free(se->model);
        free(se->model_identity);
        if (se->features)
                for (unsigned i = 0; i < se->n_features; i++)
                        free(se->features[i]);
        free(se->features);
        free(se);
}

static void queued_free(queued_snapshot *q) {
        if (!q)
                return;
        free(q->method);
        free(q->location);
        free(q->aggregation);
        free(q->scores);
        free(q->ranks);
        free(q);
}

store *store_free(store *s) {
        if (!s)
                return NULL;

        LIST_FOREACH_SAFE(queue, q, next, s->queue)
                queued_free(q);
        LIST_FOREACH_SAFE(sessions, se, next, s->sessions)
                session_free(se);
        for (size_t i = 0; i < _STMT_MAX; i++)
                sqlite3_finalize(s->stmts[i]);
        /* Closing the last connection checkpoints and removes the WAL. */
        sqlite3_close_v2(s->db);
        free(s->path);
        free(s);
        return NULL;
}

static int set_pragmas(store *s, da_error *err) {
        _cleanup_finalize_ sqlite3_stmt *st = NULL;
        const unsigned char *mode;
        int rc;

        rc = sqlite3_exec(s->db, "PRAGMA foreign_keys = ON", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to enable foreign keys on");
        if (s->read_only)
                return 0;

        rc = sqlite3_prepare_v2(s->db, "PRAGMA journal_mode = WAL", -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return sql_fail(s, err, rc, "Failed to switch to WAL mode");
        mode = sqlite3_column_text(st, 0);
        if (!mode || strcasecmp((const char *) mode, "wal") != 0)
                return da_error_set(err, -EOPNOTSUPP,
                                    "Failed to switch %s to WAL mode (journal mode stays '%s'); "
                                    "the file system may not support shared memory.",
                                    s->path, mode ? (const char *) mode : "?");

        rc = sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to set synchronous=NORMAL on");
        return 0;
}

/* SQLite retries a failed read-write open read-only and reports that
 * attempt's errno (often ENOENT); name the real obstacle instead. */
static int explain_cantopen(const char *path, bool read_only, int r, da_error *err) {
        _cleanup_free_ char *dir = strdup(path);
        char *slash;

        if (!dir)
                return r;
        slash = strrchr(dir, '/');
        if (slash == dir)
                slash[1] = 0;
        else if (slash)
                *slash = 0;
        else
                strcpy(dir, ".");

        if (access(path, F_OK) < 0 && errno == ENOENT) {
                if (read_only)
                        return da_error_set(err, -ENOENT, "Failed to open %s: no such file.", path);
                if (access(dir, W_OK | X_OK) < 0)
                        return da_error_set(err, -errno, "Failed to create %s: directory %s: %m.", path, dir);
        } else if (access(path, read_only ? R_OK : R_OK | W_OK) < 0)
                return da_error_set(err, -errno, "Failed to open %s: %m.", path);
        return r;
}

/* Damaged pages found now, with a clear error, instead of by a query or a
 * flush at some later moment. quick_check reads every page once. */
static int quick_check(store *s, da_error *err) {
        _cleanup_finalize_ sqlite3_stmt *st = NULL;
        const char *result;
        int rc;

        rc = sqlite3_prepare_v2(s->db, "PRAGMA quick_check(1)", -1, &st, NULL);
        if (rc == SQLITE_OK)
                rc = sqlite3_step(st);
        if ((rc & 0xff) == SQLITE_CORRUPT)
                return da_error_set(err, -EUCLEAN, "%s is damaged (%s); move it away to start a new database, "
                                    "or try sqlite3's .recover on a copy.", s->path, sqlite3_errmsg(s->db));
        if (rc != SQLITE_ROW)
                return sql_fail(s, err, rc, "Failed to check");
        result = (const char *) sqlite3_column_text(st, 0);
        if (!result || !streq(result, "ok"))
                return da_error_set(err, -EUCLEAN, "%s is damaged (PRAGMA quick_check: %s); move it away to start "
                                    "a new database, or try sqlite3's .recover on a copy.", s->path, result ?: "?");
        return 0;
}

int store_open(const char *path, store_open_flags flags, store **ret, da_error *err) {
        _cleanup_(store_freep) store *s = NULL;
        int64_t version;
        int r, rc, oflags;

        if (!path || !ret)
                return da_error_set(err, -EINVAL, "No database path given.");

        s = calloc(1, sizeof(*s));
        if (!s)
                return da_error_set(err, -ENOMEM, "Out of memory opening %s.", path);
        s->path = strdup(path);
        if (!s->path)
                return da_error_set(err, -ENOMEM, "Out of memory opening %s.", path);
        s->read_only = flags & STORE_READ_ONLY;
        s->queue_max = STORE_QUEUE_MAX_DEFAULT;

        /* The link, not its target, is in the directory we were given:
         * following it would write wherever whoever made it chose. */
        oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW;
        oflags |= s->read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
#ifdef SQLITE_OPEN_EXRESCODE
        oflags |= SQLITE_OPEN_EXRESCODE;
#endif
        rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
        if (rc != SQLITE_OK && s->db && sqlite3_extended_errcode(s->db) == SQLITE_CANTOPEN_SYMLINK)
                return da_error_set(err, -ELOOP, "Refusing to open %s: it is a symbolic link; give the file's own path.",
                                    path);
        if (rc != SQLITE_OK) {
                r = sql_fail(s, err, rc, "Failed to open");
                return (rc & 0xff) == SQLITE_CANTOPEN ? explain_cantopen(path, s->read_only, r, err) : r;
        }
        sqlite3_extended_result_codes(s->db, 1);
        if (!s->read_only && sqlite3_db_readonly(s->db, "main") == 1) {
                r = access(path, W_OK) < 0 ? -errno : -EROFS;
                return da_error_set(err, r, "Failed to open %s for writing: %s.", path, strerror(-r));
        }

        rc = sqlite3_busy_timeout(s->db, STORE_BUSY_TIMEOUT_MSEC);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to set the busy timeout on");

        /* Before WAL mode, which rewrites the header of a file we may refuse. */
        r = check_identity(s, &version, err);
        if (r < 0)
                return r;
        if (s->read_only && version != STORE_SCHEMA_VERSION)
                return da_error_set(err, -EPROTONOSUPPORT,
                                    "%s has schema version %" PRIi64 ", expected %d; open it read-write once "
                                    "(start deepactifd) to migrate it.",
                                    path, version, STORE_SCHEMA_VERSION);

        if (!s->read_only) {
                r = quick_check(s, err);
                if (r < 0)
                        return r;
        }

        r = set_pragmas(s, err);
        if (r < 0)
                return r;

        if (s->read_only)
                s->schema_version = (int) version;
        else {
                r = migrate(s, err);
                if (r < 0)
                        return r;
        }

        rc = query_int64(s->db, "PRAGMA max_page_count", &s->default_max_pages);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to read the page limit of");

        *ret = TAKE_PTR(s);
        return 0;
}

int store_schema_version(store *s) {
        return s->schema_version;
}

/* ---- sessions ----------------------------------------------------------- */

static int strdup_or_null(const char *v, char **ret) {
        if (!v) {
                *ret = NULL;
                return 0;
        }
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

int store_session_begin(store *s, const store_session_info *info, store_session **ret) {
        store_session *se;

        if (!s || !info || !ret || !info->device || !info->source || !info->model || !info->model_identity ||
            info->n_features == 0 || !info->features)
                return -EINVAL;
        for (unsigned i = 0; i < info->n_features; i++)
                if (!info->features[i])
                        return -EINVAL;

        se = calloc(1, sizeof(*se));
        if (!se)
                return -ENOMEM;
        se->started_us = info->started_us;
        se->n_features = info->n_features;
        se->features = calloc(info->n_features, sizeof(char *));
        if (!se->features ||
            strdup_or_null(info->device, &se->device) < 0 ||
            strdup_or_null(info->source, &se->source) < 0 ||
            strdup_or_null(info->model, &se->model) < 0 ||
            strdup_or_null(info->model_identity, &se->model_identity) < 0)
                goto oom;
        for (unsigned i = 0; i < info->n_features; i++)
                if (strdup_or_null(info->features[i], &se->features[i]) < 0)
                        goto oom;

        LIST_PREPEND(sessions, s->sessions, se);
        *ret = se;
        return 0;

oom:
        session_free(se);
        return -ENOMEM;
}

static bool session_disposable(const store_session *se) {
        return se->ended && se->n_queued == 0 && (se->id == 0 || se->ended_written);
}

/* Frees ended sessions nothing refers to any more. */
static void sessions_gc(store *s) {
        LIST_FOREACH_SAFE(sessions, se, next, s->sessions)
                if (session_disposable(se)) {
                        LIST_REMOVE(sessions, s->sessions, se);
                        session_free(se);
                }
}

void store_session_end(store *s, store_session *session, uint64_t ended_us) {
        if (!s || !session || session->ended)
                return;
        session->ended = true;
        session->ended_us = ended_us;
        sessions_gc(s);
}

/* ---- queue -------------------------------------------------------------- */

static void queue_drop_oldest(store *s) {
        queued_snapshot *q = s->queue;

        LIST_REMOVE(queue, s->queue, q);
        if (!s->queue)
                s->queue_tail = NULL;
        q->session->n_queued--;
        s->stats.queued--;
        s->stats.dropped++;
        queued_free(q);
}

void store_set_queue_limit(store *s, size_t max_snapshots) {
        s->queue_max = max_snapshots > 0 ? max_snapshots : STORE_QUEUE_MAX_DEFAULT;
        while (s->stats.queued > s->queue_max)
                queue_drop_oldest(s);
        sessions_gc(s);
}

int store_append_snapshot(store *s, store_session *session, const store_snapshot *snap) {
        queued_snapshot *q;
        _cleanup_free_ bool *seen = NULL;

        if (!s || !session || !snap || session->ended || !snap->method || !snap->aggregation ||
            snap->n_scores != session->n_features || !snap->scores || !snap->ranks)
                return -EINVAL;

        /* Ranks must be a permutation of 1…n. */
        seen = calloc(snap->n_scores, sizeof(bool));
        if (!seen)
                return -ENOMEM;
        for (unsigned i = 0; i < snap->n_scores; i++) {
                unsigned rank = snap->ranks[i];

                if (rank < 1 || rank > snap->n_scores || seen[rank - 1])
                        return -EINVAL;
                seen[rank - 1] = true;
        }

        q = calloc(1, sizeof(*q));
        if (!q)
                return -ENOMEM;
        q->session = session;
        q->time_us = snap->time_us;
        q->windows = snap->windows;
        q->frames_processed = snap->frames_processed;
        q->frames_dropped = snap->frames_dropped;
        q->last_prediction = snap->last_prediction;
        q->n_scores = snap->n_scores;
        q->scores = malloc(sizeof(double) * snap->n_scores);
        q->ranks = malloc(sizeof(unsigned) * snap->n_scores);
        if (!q->scores || !q->ranks ||
            strdup_or_null(snap->method, &q->method) < 0 ||
            strdup_or_null(snap->location, &q->location) < 0 ||
            strdup_or_null(snap->aggregation, &q->aggregation) < 0) {
                queued_free(q);
                return -ENOMEM;
        }
        memcpy(q->scores, snap->scores, sizeof(double) * snap->n_scores);
        memcpy(q->ranks, snap->ranks, sizeof(unsigned) * snap->n_scores);

        LIST_INSERT_AFTER(queue, s->queue, s->queue_tail, q);
        s->queue_tail = q;
        session->n_queued++;
        s->stats.queued++;

        while (s->stats.queued > s->queue_max)
                queue_drop_oldest(s);
        return 0;
}

/* ---- flush -------------------------------------------------------------- */

static int64_t session_row(const store_session *se) {
        return se->id > 0 ? se->id : se->pending_id;
}

static int insert_session(store *s, store_session *se, uint64_t first_seen_us) {
        sqlite3_stmt *st;
        int64_t device_id, session_id;
        int rc;

        rc = stmt_get(s, STMT_DEVICE_UPSERT, &st);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_text(st, 1, se->device, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 2, se->source, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 3, clamp_i64(first_seen_us));
        rc = stmt_run(st);
        if (rc != SQLITE_OK)
                return rc;

        rc = stmt_get(s, STMT_DEVICE_ID, &st);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_text(st, 1, se->device, -1, SQLITE_STATIC);
        rc = sqlite3_step(st);
        if (rc != SQLITE_ROW)
                return rc == SQLITE_DONE ? SQLITE_INTERNAL : rc;
        device_id = sqlite3_column_int64(st, 0);
        sqlite3_reset(st);

        rc = stmt_get(s, STMT_SESSION_INSERT, &st);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_int64(st, 1, device_id);
        sqlite3_bind_text(st, 2, se->model, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 3, se->model_identity, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 4, se->n_features);
        sqlite3_bind_int64(st, 5, clamp_i64(se->started_us));
        rc = stmt_run(st);
        if (rc != SQLITE_OK)
                return rc;
        session_id = sqlite3_last_insert_rowid(s->db);

        rc = stmt_get(s, STMT_FEATURE_INSERT, &st);
        if (rc != SQLITE_OK)
                return rc;
        for (unsigned f = 0; f < se->n_features; f++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, session_id);
                sqlite3_bind_int64(st, 2, f);
                sqlite3_bind_text(st, 3, se->features[f], -1, SQLITE_STATIC);
                rc = stmt_run(st);
                if (rc != SQLITE_OK)
                        return rc;
        }

        se->pending_id = session_id;
        return SQLITE_OK;
}

static int insert_snapshot(store *s, const queued_snapshot *q) {
        store_session *se = q->session;
        sqlite3_stmt *st;
        int64_t snapshot_id;
        int rc;

        if (session_row(se) == 0) {
                rc = insert_session(s, se, q->time_us);
                if (rc != SQLITE_OK)
                        return rc;
        }

        rc = stmt_get(s, STMT_SNAPSHOT_INSERT, &st);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_int64(st, 1, session_row(se));
        sqlite3_bind_int64(st, 2, clamp_i64(q->time_us));
        sqlite3_bind_text(st, 3, q->method, -1, SQLITE_STATIC);
        bind_text_or_null(st, 4, q->location);
        sqlite3_bind_text(st, 5, q->aggregation, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, q->windows);
        sqlite3_bind_int64(st, 7, clamp_i64(q->frames_processed));
        sqlite3_bind_int64(st, 8, clamp_i64(q->frames_dropped));
        if (isfinite(q->last_prediction))
                sqlite3_bind_double(st, 9, q->last_prediction);
        else
                sqlite3_bind_null(st, 9);
        rc = stmt_run(st);
        if (rc != SQLITE_OK)
                return rc;
        snapshot_id = sqlite3_last_insert_rowid(s->db);

        rc = stmt_get(s, STMT_SCORE_INSERT, &st);
        if (rc != SQLITE_OK)
                return rc;
        for (unsigned f = 0; f < q->n_scores; f++) {
                sqlite3_reset(st);
                sqlite3_bind_int64(st, 1, snapshot_id);
                sqlite3_bind_int64(st, 2, f);
                if (isnan(q->scores[f]))
                        sqlite3_bind_null(st, 3);
                else
                        sqlite3_bind_double(st, 3, q->scores[f]);
                sqlite3_bind_int64(st, 4, q->ranks[f]);
                rc = stmt_run(st);
                if (rc != SQLITE_OK)
                        return rc;
        }

        se->pending_seen_us = MAX(se->pending_seen_us, q->time_us);
        return SQLITE_OK;
}

static int update_sessions(store *s) {
        sqlite3_stmt *st;
        int rc;

        LIST_FOREACH(sessions, se, s->sessions) {
                if (se->pending_seen_us > 0) {
                        rc = stmt_get(s, STMT_DEVICE_SEEN, &st);
                        if (rc != SQLITE_OK)
                                return rc;
                        sqlite3_bind_int64(st, 1, session_row(se));
                        sqlite3_bind_int64(st, 2, clamp_i64(se->pending_seen_us));
                        rc = stmt_run(st);
                        if (rc != SQLITE_OK)
                                return rc;
                }
                if (se->ended && !se->ended_written && session_row(se) > 0) {
                        rc = stmt_get(s, STMT_SESSION_END, &st);
                        if (rc != SQLITE_OK)
                                return rc;
                        sqlite3_bind_int64(st, 1, session_row(se));
                        sqlite3_bind_int64(st, 2, clamp_i64(se->ended_us));
                        rc = stmt_run(st);
                        if (rc != SQLITE_OK)
                                return rc;
                }
        }
        return SQLITE_OK;
}

static bool flush_needed(store *s) {
        if (s->queue)
                return true;
        LIST_FOREACH(sessions, se, s->sessions)
                if (se->ended && !se->ended_written && se->id > 0)
                        return true;
        return false;
}

int store_flush(store *s, da_error *err) {
        size_t n = 0;
        int r, rc;
        char step[96];

        if (!s)
                return -EINVAL;
        if (!flush_needed(s))
                return 0;

        rc = exec_simple(s, STMT_BEGIN_IMMEDIATE);
        for (queued_snapshot *q = s->queue; rc == SQLITE_OK && q; q = q->queue_next, n++)
                rc = insert_snapshot(s, q);
        if (rc == SQLITE_OK)
                rc = update_sessions(s);
        if (rc == SQLITE_OK)
                rc = exec_simple(s, STMT_COMMIT);

        if (rc != SQLITE_OK) {
                snprintf(step, sizeof(step), "Failed to write %zu ranking snapshots to", s->stats.queued);
                r = sql_fail(s, err, rc, step);
                rollback(s);
                LIST_FOREACH(sessions, se, s->sessions) {
                        se->pending_id = 0;
                        se->pending_seen_us = 0;
                }
                s->stats.failed_flushes++;
                s->stats.last_error = r;
                return r;
        }

        LIST_FOREACH(sessions, se, s->sessions) {
                if (se->pending_id > 0)
                        se->id = se->pending_id;
                se->pending_id = 0;
                se->pending_seen_us = 0;
                if (se->ended && se->id > 0)
                        se->ended_written = true;
                se->n_queued = 0;
        }
        LIST_FOREACH_SAFE(queue, q, next, s->queue)
                queued_free(q);
        s->queue = s->queue_tail = NULL;
        s->stats.queued = 0;
        s->stats.written += n;
        s->stats.flushes++;
        s->stats.last_error = 0;
        sessions_gc(s);
        return (int) MIN(n, (size_t) INT_MAX);
}

void store_get_stats(store *s, store_stats *ret) {
        *ret = s->stats;
}

int store_set_size_limit(store *s, uint64_t max_bytes, da_error *err) {
        int64_t page_size, pages;
        char sql[64];
        int rc;

        rc = query_int64(s->db, "PRAGMA page_size", &page_size);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to read the page size of");

        pages = max_bytes > 0 ? (int64_t) MAX(max_bytes / (uint64_t) page_size, 1) : s->default_max_pages;
        snprintf(sql, sizeof(sql), "PRAGMA max_page_count = %" PRIi64, pages);
        rc = sqlite3_exec(s->db, sql, NULL, NULL, NULL);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to set the size limit of");
        return 0;
}

/* ---- retention ---------------------------------------------------------- */

static int retention_delete(store *s, stmt_id id, int64_t arg, uint64_t *deleted) {
        sqlite3_stmt *st;
        int rc;

        rc = stmt_get(s, id, &st);
        if (rc != SQLITE_OK)
                return rc;
        if (sqlite3_bind_parameter_count(st) > 0)
                sqlite3_bind_int64(st, 1, arg);
        rc = stmt_run(st);
        if (rc != SQLITE_OK)
                return rc;
        if (deleted)
                *deleted += (uint64_t) sqlite3_changes64(s->db);
        return SQLITE_OK;
}

/* A live session whose row retention deleted is written afresh with its
 * next snapshot. */
static int forget_deleted_sessions(store *s) {
        sqlite3_stmt *st;
        int rc;

        LIST_FOREACH(sessions, se, s->sessions) {
                if (se->id == 0)
                        continue;
                rc = stmt_get(s, STMT_SESSION_EXISTS, &st);
                if (rc != SQLITE_OK)
                        return rc;
                sqlite3_bind_int64(st, 1, se->id);
                rc = sqlite3_step(st);
                if (rc == SQLITE_DONE) {
                        se->id = 0;
                        se->ended_written = false;
                } else if (rc != SQLITE_ROW)
                        return rc;
                sqlite3_reset(st);
        }
        sessions_gc(s);
        return SQLITE_OK;
}

int store_apply_retention(store *s, uint64_t now_us, uint64_t max_age_usec, uint64_t max_snapshots,
                          uint64_t *ret_deleted, da_error *err) {
        uint64_t deleted = 0;
        int r, rc;

        if (!s)
                return -EINVAL;

        rc = exec_simple(s, STMT_BEGIN_IMMEDIATE);
        if (rc == SQLITE_OK && max_age_usec > 0 && now_us > max_age_usec)
                rc = retention_delete(s, STMT_RETAIN_AGE, clamp_i64(now_us - max_age_usec), &deleted);
        if (rc == SQLITE_OK && max_age_usec > 0 && now_us > max_age_usec)
                rc = retention_delete(s, STMT_RETAIN_EVENTS, clamp_i64(now_us - max_age_usec), NULL);
        if (rc == SQLITE_OK && max_snapshots > 0)
                rc = retention_delete(s, STMT_RETAIN_COUNT, clamp_i64(max_snapshots), &deleted);
        if (rc == SQLITE_OK)
                rc = retention_delete(s, STMT_RETAIN_SESSIONS, 0, NULL);
        if (rc == SQLITE_OK)
                rc = retention_delete(s, STMT_RETAIN_DEVICES, 0, NULL);
        if (rc == SQLITE_OK)
                rc = exec_simple(s, STMT_COMMIT);
        if (rc != SQLITE_OK) {
                r = sql_fail(s, err, rc, "Failed to delete old snapshots from");
                rollback(s);
                return r;
        }

        rc = forget_deleted_sessions(s);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to look up sessions in");

        if (ret_deleted)
                *ret_deleted = deleted;
        return 0;
}

/* ---- queries ------------------------------------------------------------ */

int store_append_record(store *s, store_session *session, const store_record *rec) {
        _cleanup_free_ double *scores = NULL;
        _cleanup_free_ unsigned *ranks = NULL;
        size_t n;

        if (!rec || rec->n_scores == 0 || rec->n_scores > UINT_MAX)
                return -EINVAL;
        n = rec->n_scores;
        scores = calloc(n, sizeof(double));
        ranks = calloc(n, sizeof(unsigned));
        if (!scores || !ranks)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                const store_score *sc = &rec->scores[i];

                if (sc->feature >= n || ranks[sc->feature] != 0)
                        return -EINVAL;
                scores[sc->feature] = sc->score;
                ranks[sc->feature] = sc->rank;
        }
        return store_append_snapshot(s, session, &(store_snapshot) {
                        .time_us = rec->time_us,
                        .method = rec->method,
                        .location = rec->location,
                        .aggregation = rec->aggregation,
                        .windows = rec->windows,
                        .frames_processed = rec->frames_processed,
                        .frames_dropped = rec->frames_dropped,
                        .last_prediction = rec->last_prediction,
                        .n_scores = (unsigned) n,
                        .scores = scores,
                        .ranks = ranks,
                });
}

store_record *store_record_free(store_record *r) {
        if (!r)
                return NULL;
        free(r->device);
        free(r->source);
        free(r->model);
        free(r->model_identity);
        free(r->method);
        free(r->location);
        free(r->aggregation);
        for (size_t i = 0; i < r->n_scores; i++)
                free(r->scores[i].name);
        free(r->scores);
        free(r);
        return NULL;
}

void store_record_array_free(store_record **a, size_t n) {
        if (!a)
                return;
        for (size_t i = 0; i < n; i++)
                store_record_free(a[i]);
        free(a);
}

static int column_strdup(sqlite3_stmt *st, int i, char **ret) {
        const unsigned char *v = sqlite3_column_text(st, i);

        if (!v && sqlite3_errcode(sqlite3_db_handle(st)) == SQLITE_NOMEM)
                return -ENOMEM;
        return strdup_or_null((const char *) v, ret);
}

static double column_double_or_nan(sqlite3_stmt *st, int i) {
        return sqlite3_column_type(st, i) == SQLITE_NULL ? NAN : sqlite3_column_double(st, i);
}

static int read_scores(store *s, store_record *rec, int64_t session_id, size_t top_k) {
        sqlite3_stmt *st;
        size_t n_alloc = 0;
        int rc;

        rc = stmt_get(s, STMT_QUERY_SCORES, &st);
        if (rc != SQLITE_OK)
                return rc;
        sqlite3_bind_int64(st, 1, rec->id);
        sqlite3_bind_int64(st, 2, session_id);
        sqlite3_bind_int64(st, 3, top_k > 0 ? clamp_i64(top_k) : -1);

        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                store_score *sc;

                if (rec->n_scores == n_alloc) {
                        size_t m = n_alloc ? n_alloc * 2 : 32;
                        store_score *p = realloc(rec->scores, m * sizeof(store_score));

                        if (!p)
                                return SQLITE_NOMEM;
                        rec->scores = p;
                        n_alloc = m;
                }
                sc = &rec->scores[rec->n_scores];
                *sc = (store_score) {
                        .feature = (unsigned) sqlite3_column_int64(st, 0),
                        .rank = (unsigned) sqlite3_column_int64(st, 1),
                        .score = column_double_or_nan(st, 2),
                };
                if (column_strdup(st, 3, &sc->name) < 0)
                        return SQLITE_NOMEM;
                rec->n_scores++;
        }
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static int read_record(store *s, sqlite3_stmt *st, size_t top_k, store_record **ret) {
        _cleanup_(store_record_freep) store_record *rec = NULL;
        int64_t session_id;
        int rc;

        rec = calloc(1, sizeof(*rec));
        if (!rec)
                return SQLITE_NOMEM;
        rec->id = sqlite3_column_int64(st, 0);
        session_id = sqlite3_column_int64(st, 1);
        if (column_strdup(st, 2, &rec->device) < 0 ||
            column_strdup(st, 3, &rec->source) < 0 ||
            column_strdup(st, 4, &rec->model) < 0 ||
            column_strdup(st, 5, &rec->model_identity) < 0 ||
            column_strdup(st, 7, &rec->method) < 0 ||
            column_strdup(st, 8, &rec->location) < 0 ||
            column_strdup(st, 9, &rec->aggregation) < 0)
                return SQLITE_NOMEM;
        rec->time_us = (uint64_t) sqlite3_column_int64(st, 6);
        rec->windows = (unsigned) sqlite3_column_int64(st, 10);
        rec->frames_processed = (uint64_t) sqlite3_column_int64(st, 11);
        rec->frames_dropped = (uint64_t) sqlite3_column_int64(st, 12);
        rec->last_prediction = column_double_or_nan(st, 13);

        rc = read_scores(s, rec, session_id, top_k);
        if (rc != SQLITE_OK)
                return rc;
        *ret = TAKE_PTR(rec);
        return SQLITE_OK;
}

/* Walks the snapshots matching q; cb may take the record over (TAKE_PTR). */
static int walk(store *s, const store_query *q, int (*cb)(store_record **rec, void *userdata), void *userdata,
                da_error *err) {
        static const store_query any = {};
        sqlite3_stmt *st;
        int r = 0, rc;

        if (!q)
                q = &any;

        /* One read transaction: the walk sees one state even if it is slow. */
        rc = exec_simple(s, STMT_BEGIN);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to read from");

        rc = stmt_get(s, q->oldest_first ? STMT_QUERY_OLDEST : STMT_QUERY_NEWEST, &st);
        if (rc == SQLITE_OK) {
                bind_text_or_null(st, 1, q->device);
                bind_text_or_null(st, 2, q->method);
                bind_text_or_null(st, 3, q->location);
                bind_text_or_null(st, 4, q->aggregation);
                sqlite3_bind_int64(st, 5, clamp_i64(q->since_us));
                sqlite3_bind_int64(st, 6, q->until_us > 0 ? clamp_i64(q->until_us) : INT64_MAX);
                sqlite3_bind_int64(st, 7, q->limit > 0 ? clamp_i64(q->limit) : -1);
                if (q->after) {
                        sqlite3_bind_int64(st, 8, clamp_i64(q->after->time_us));
                        sqlite3_bind_int64(st, 9, q->after->id);
                } else {
                        sqlite3_bind_null(st, 8);
                        sqlite3_bind_null(st, 9);
                }

                while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                        _cleanup_(store_record_freep) store_record *rec = NULL;

                        rc = read_record(s, st, q->top_k, &rec);
                        if (rc != SQLITE_OK)
                                break;
                        r = cb(&rec, userdata);
                        if (r < 0)
                                break;
                }
                if (rc == SQLITE_DONE)
                        rc = SQLITE_OK;
                sqlite3_reset(st);
        }

        if (rc != SQLITE_OK) {
                r = sql_fail(s, err, rc, "Failed to read snapshots from");
                rollback(s);
                return r;
        }
        (void) exec_simple(s, STMT_COMMIT);
        if (r < 0)
                return da_error_set(err, r, "Failed to process snapshots read from %s: %s", s->path, strerror(-r));
        return 0;
}

typedef struct foreach_data {
        store_record_cb cb;
        void *userdata;
} foreach_data;

static int foreach_one(store_record **rec, void *userdata) {
        foreach_data *d = userdata;

        return d->cb(*rec, d->userdata);
}

int store_foreach(store *s, const store_query *q, store_record_cb cb, void *userdata, da_error *err) {
        if (!s || !cb)
                return -EINVAL;
        return walk(s, q, foreach_one, &(foreach_data) { cb, userdata }, err);
}

typedef struct collector {
        store_record **records;
        size_t n;
        size_t n_alloc;
} collector;

static int collect(store_record **rec, void *userdata) {
        collector *c = userdata;

        if (c->n == c->n_alloc) {
                size_t m = c->n_alloc ? c->n_alloc * 2 : 16;
                store_record **p = realloc(c->records, m * sizeof(store_record *));

                if (!p)
                        return -ENOMEM;
                c->records = p;
                c->n_alloc = m;
        }
        c->records[c->n++] = TAKE_PTR(*rec);
        return 0;
}

int store_get_history(store *s, const store_query *q, store_record ***ret, size_t *ret_n, da_error *err) {
        collector c = {};
        int r;

        if (!s || !ret || !ret_n)
                return -EINVAL;
        r = walk(s, q, collect, &c, err);
        if (r < 0) {
                store_record_array_free(c.records, c.n);
                return r;
        }
        *ret = c.records;
        *ret_n = c.n;
        return 0;
}

int store_get_latest(store *s, const store_query *q, store_record **ret, da_error *err) {
        store_query one = q ? *q : (store_query) {};
        store_record **records = NULL;
        size_t n = 0;
        int r;

        if (!ret)
                return -EINVAL;
        one.limit = 1;
        one.oldest_first = false;
        r = store_get_history(s, &one, &records, &n, err);
        if (r < 0)
                return r;
        if (n == 0) {
                free(records);
                return da_error_set(err, -ENOENT, "No ranking snapshot%s%s stored yet.",
                                    one.device ? " for device " : "", one.device ?: "");
        }
        *ret = records[0];
        free(records);
        return 0;
}

void store_device_array_free(store_device *a, size_t n) {
        if (!a)
                return;
        for (size_t i = 0; i < n; i++) {
                free(a[i].name);
                free(a[i].source);
        }
        free(a);
}

int store_list_devices(store *s, store_device **ret, size_t *ret_n, da_error *err) {
        store_device *devices = NULL;
        size_t n = 0, n_alloc = 0;
        sqlite3_stmt *st;
        int r, rc;

        if (!s || !ret || !ret_n)
                return -EINVAL;

        rc = stmt_get(s, STMT_DEVICES, &st);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to list devices in");
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                store_device *d;

                if (n == n_alloc) {
                        size_t m = n_alloc ? n_alloc * 2 : 8;
                        store_device *p = realloc(devices, m * sizeof(store_device));

                        if (!p) {
                                rc = SQLITE_NOMEM;
                                break;
                        }
                        devices = p;
                        n_alloc = m;
                }
                d = &devices[n];
                *d = (store_device) {
                        .first_seen_us = (uint64_t) sqlite3_column_int64(st, 2),
                        .last_seen_us = (uint64_t) sqlite3_column_int64(st, 3),
                        .n_snapshots = (uint64_t) sqlite3_column_int64(st, 4),
                };
                n++;
                if (column_strdup(st, 0, &d->name) < 0 || column_strdup(st, 1, &d->source) < 0) {
                        rc = SQLITE_NOMEM;
                        break;
                }
        }
        if (rc == SQLITE_DONE)
                rc = SQLITE_OK;
        if (rc != SQLITE_OK) {
                r = sql_fail(s, err, rc, "Failed to list devices in");
                sqlite3_reset(st);
                store_device_array_free(devices, n);
                return r;
        }
        sqlite3_reset(st);
        *ret = devices;
        *ret_n = n;
        return 0;
}

/* ---- events ------------------------------------------------------------- */

int store_append_event(store *s, const store_event *e, da_error *err) {
        sqlite3_stmt *st;
        int rc;

        if (!s || !e || !e->device || !e->kind || !e->detail)
                return -EINVAL;
        if (s->read_only)
                return -EROFS;
        /* Events are rare and matter most right after they happen: written
         * at once, in a transaction of their own. */
        rc = stmt_get(s, STMT_EVENT_INSERT, &st);
        if (rc == SQLITE_OK) {
                sqlite3_bind_int64(st, 1, clamp_i64(e->time_us));
                sqlite3_bind_int64(st, 2, clamp_i64(e->stream_time_us));
                sqlite3_bind_text(st, 3, e->device, -1, SQLITE_STATIC);
                sqlite3_bind_text(st, 4, e->kind, -1, SQLITE_STATIC);
                bind_text_or_null(st, 5, e->channel);
                bind_text_or_null(st, 6, e->features);
                sqlite3_bind_text(st, 7, e->detail, -1, SQLITE_STATIC);
                rc = stmt_run(st);
                sqlite3_reset(st);
        }
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to write an event to");
        return 0;
}

int store_foreach_event(store *s, const char *device, uint64_t since_us, size_t limit, store_event_cb cb,
                        void *userdata, da_error *err) {
        sqlite3_stmt *st;
        int rc, r = 0;

        if (!s || !cb)
                return -EINVAL;
        rc = stmt_get(s, STMT_EVENT_QUERY, &st);
        if (rc != SQLITE_OK)
                return sql_fail(s, err, rc, "Failed to read the events of");
        bind_text_or_null(st, 1, device);
        sqlite3_bind_int64(st, 2, clamp_i64(since_us));
        sqlite3_bind_int64(st, 3, limit > 0 ? clamp_i64(limit) : -1);
        while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
                const store_event e = {
                        .time_us = (uint64_t) sqlite3_column_int64(st, 0),
                        .stream_time_us = (uint64_t) sqlite3_column_int64(st, 1),
                        .device = (const char *) sqlite3_column_text(st, 2),
                        .kind = (const char *) sqlite3_column_text(st, 3),
                        .channel = (const char *) sqlite3_column_text(st, 4),
                        .features = (const char *) sqlite3_column_text(st, 5),
                        .detail = (const char *) sqlite3_column_text(st, 6),
                };

                r = cb(&e, userdata);
                if (r < 0)
                        break;
        }
        sqlite3_reset(st);
        if (r < 0)
                return r;
        if (rc != SQLITE_DONE)
                return sql_fail(s, err, rc, "Failed to read the events of");
        return 0;
}
