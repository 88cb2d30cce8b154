/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The daemon's SQLite store of ranking snapshots (DESIGN §4.7); the schema
 * is described at the top of store.c and in DESIGN-NOTES.md ("## Store").
 *
 * Writes are batched: store_append_snapshot() only queues in memory and
 * store_flush() writes everything queued in one transaction. A failed flush
 * keeps the queue, so the next flush retries; a crash loses at most what was
 * queued since the last successful flush. Queries read what has been
 * flushed, never the queue. Not thread-safe: one store per event loop. */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

#define STORE_SCHEMA_VERSION 2
/* PRAGMA application_id of our files: "dACt". */
#define STORE_APPLICATION_ID 0x64414374
#define STORE_QUEUE_MAX_DEFAULT 4096
#define STORE_BUSY_TIMEOUT_MSEC 1000

typedef struct store store;
typedef struct store_session store_session;
typedef struct store_record store_record;

typedef enum store_open_flags {
        STORE_READ_ONLY = 1 << 0,       /* for readers such as exports; never migrates */
} store_open_flags;

/* Opens or creates the database at path (normally under the service's
 * StateDirectory) and migrates it to STORE_SCHEMA_VERSION. A file from a
 * newer deepactifd gets -EPROTONOSUPPORT, a file that is not ours
 * -EMEDIUMTYPE, a file that is not SQLite -EBADMSG; the file is not
 * modified in any of these cases. */
int store_open(const char *path, store_open_flags flags, store **ret, da_error *err);
/* Does not flush: call store_flush() first to keep what is queued. */
store *store_free(store *s);

/* The schema version of the open file (STORE_SCHEMA_VERSION once opened
 * read-write). */
int store_schema_version(store *s);

/* ---- writing ------------------------------------------------------------ */

/* One device bound to one model, from bind (or reload) to unbind. The
 * session's row is written together with its first flushed snapshot. */
typedef struct store_session_info {
        const char *device;             /* unique name, e.g. "hidraw:046d:c52b:serial" */
        const char *source;             /* "hidraw", "evdev", "replay" */
        const char *model;              /* model path or id */
        const char *model_identity;     /* "sha256:<hex>" or "size:<bytes>,mtime:<µs>" */
        uint64_t started_us;            /* CLOCK_REALTIME */
        unsigned n_features;
        const char *const *features;    /* the model's input feature names, n_features */
} store_session_info;

int store_session_begin(store *s, const store_session_info *info, store_session **ret);
/* Records the end time (written at the next flush). The handle must not be
 * used again afterwards; the store frees it once nothing refers to it. */
void store_session_end(store *s, store_session *session, uint64_t ended_us);

typedef struct store_snapshot {
        uint64_t time_us;               /* CLOCK_REALTIME */
        const char *method;             /* "deepactif", "ig", "deeplift", … */
        const char *location;           /* "input", "gate"; NULL where it does not apply */
        const char *aggregation;        /* "mean", "meanstd", "inv", "pen" */
        unsigned windows;               /* windows in the rolling scope */
        uint64_t frames_processed;
        uint64_t frames_dropped;
        double last_prediction;         /* NaN when there is none (stored as NULL) */
        unsigned n_scores;              /* must equal the session's n_features */
        const double *scores;           /* per feature index */
        const unsigned *ranks;          /* per feature index, 1 = relied on most */
} store_snapshot;

/* Copies the snapshot into the queue. When the queue is full the oldest
 * queued snapshot is dropped and counted (store_stats.dropped). */
int store_append_snapshot(store *s, store_session *session, const store_snapshot *snap);

/* The same from a snapshot in the shape queries return it (the daemon's
 * one snapshot value): every feature once, by rank. Its device, model and
 * source are the session's and not looked at. */
int store_append_record(store *s, store_session *session, const store_record *rec);

/* Writes all queued snapshots (and new sessions, device last-seen times and
 * session ends) in one transaction with cached prepared statements. Returns
 * the number of snapshots written, or -ENOSPC (disk or size limit full),
 * -EROFS, -EIO, -EBUSY, … with err naming the cause; the queue is then kept
 * whole and a later flush retries. */
int store_flush(store *s, da_error *err);

/* Bounds the queue; 0 restores STORE_QUEUE_MAX_DEFAULT. Drops the oldest
 * snapshots at once when more are queued. */
void store_set_queue_limit(store *s, size_t max_snapshots);
/* Bounds the database file (PRAGMA max_page_count): a flush beyond it fails
 * with -ENOSPC like a full disk. 0 removes the bound. */
int store_set_size_limit(store *s, uint64_t max_bytes, da_error *err);

/* Deletes, in one transaction, snapshots (with their scores) older than
 * now_us − max_age_usec and beyond the newest max_snapshots, then sessions
 * without snapshots and devices without sessions. 0 disables a limit.
 * ret_deleted (may be NULL) receives the number of snapshots deleted. */
int store_apply_retention(store *s, uint64_t now_us, uint64_t max_age_usec, uint64_t max_snapshots,
                          uint64_t *ret_deleted, da_error *err);

typedef struct store_stats {
        size_t queued;                  /* snapshots waiting for a flush */
        uint64_t dropped;               /* dropped from a full queue, never written */
        uint64_t written;               /* snapshots written by successful flushes */
        uint64_t flushes;               /* successful flushes (one transaction each) */
        uint64_t failed_flushes;
        int last_error;                 /* negative errno of the last failed flush, or 0 */
} store_stats;

void store_get_stats(store *s, store_stats *ret);

/* ---- reading ------------------------------------------------------------ */

typedef struct store_score {
        unsigned feature;               /* index in the model's feature list */
        unsigned rank;
        double score;                   /* NaN when stored as NULL */
        char *name;
} store_score;

struct store_record {
        int64_t id;                     /* snapshot id, increasing in write order */
        char *device;
        char *source;
        char *model;
        char *model_identity;
        uint64_t time_us;
        char *method;
        char *location;                 /* NULL where it did not apply */
        char *aggregation;
        unsigned windows;
        uint64_t frames_processed;
        uint64_t frames_dropped;
        double last_prediction;         /* NaN when none */
        size_t n_scores;
        store_score *scores;            /* by rank, best first; at most top_k */
};

store_record *store_record_free(store_record *r);
void store_record_array_free(store_record **a, size_t n);

/* Filters shared by the queries; NULL/0 fields do not filter. */
typedef struct store_query {
        const char *device;
        const char *method;
        const char *location;
        const char *aggregation;
        uint64_t since_us;              /* time_us ≥ since_us */
        uint64_t until_us;              /* time_us ≤ until_us; 0 = no bound */
        size_t limit;                   /* snapshots; 0 = all */
        size_t top_k;                   /* scores per snapshot; 0 = all */
        bool oldest_first;              /* default: newest first (by time, then id) */
        /* Continues after this snapshot in the query's order: pages without
         * a read transaction held open between them. NULL: from the start. */
        const struct store_cursor *after;
} store_query;

/* Where a page of snapshots ended: the last record's time and id. */
typedef struct store_cursor {
        uint64_t time_us;
        int64_t id;
} store_cursor;

/* The newest snapshot matching q (limit and order are ignored), or -ENOENT. */
int store_get_latest(store *s, const store_query *q, store_record **ret, da_error *err);

/* Snapshots matching q, newest first unless q->oldest_first. */
int store_get_history(store *s, const store_query *q, store_record ***ret, size_t *ret_n, da_error *err);

/* Calls cb once per matching snapshot in q's order, inside one read
 * transaction, so an export sees one consistent state. cb returns 0 to go
 * on, or a negative errno that stops the walk and is returned. cb must not
 * call into the store. */
typedef int (*store_record_cb)(const store_record *r, void *userdata);
int store_foreach(store *s, const store_query *q, store_record_cb cb, void *userdata, da_error *err);

typedef struct store_device {
        char *name;
        char *source;
        uint64_t first_seen_us;
        uint64_t last_seen_us;
        uint64_t n_snapshots;
} store_device;

void store_device_array_free(store_device *a, size_t n);
/* All devices with stored data, by name. */
int store_list_devices(store *s, store_device **ret, size_t *ret_n, da_error *err);

DEFINE_TRIVIAL_CLEANUP_FUNC(store *, store_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(store_record *, store_record_free);

/* ---- events ------------------------------------------------------------- */

/* What the daemon told its users (ranking shifts, input health). */
typedef struct store_event {
        uint64_t time_us;               /* CLOCK_REALTIME */
        uint64_t stream_time_us;        /* the device's stream time */
        const char *device;
        const char *kind;               /* da_event_kind_to_string() */
        const char *channel;            /* channel or input; NULL for ranking events */
        const char *features;           /* newline-separated; NULL for channel events */
        const char *detail;
} store_event;

/* Writes one event at once, in its own transaction. */
int store_append_event(store *s, const store_event *e, da_error *err);
/* Events of one device (or all, device NULL) from since_us on, oldest first,
 * at most limit (0: all); cb may stop the walk with a negative errno, which
 * is returned. The strings are valid during the call only. */
typedef int (*store_event_cb)(const store_event *e, void *userdata);
int store_foreach_event(store *s, const char *device, uint64_t since_us, size_t limit, store_event_cb cb,
                        void *userdata, da_error *err);
