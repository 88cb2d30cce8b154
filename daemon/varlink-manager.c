/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* io.deepactif.Daemon over varlink, on the manager's state and store. */

#include <errno.h>
#include <grp.h>
#include <math.h>
#include <sys/stat.h>

#include "device-events.h"
#include "json-util.h"
#include "log.h"
#include "metrics.h"
#include "store-export.h"
#include "varlink-manager.h"
#include "varlink.h"

/* Keep in step with man/io.deepactif.Daemon1.5, which quotes it; a test
 * compares the two. */
const char varlink_manager_description[] =
        "# The deepactif daemon: live DeepACTIF rankings of the input features\n"
        "# an eye-tracking model relies on. Times are microseconds since the\n"
        "# epoch (CLOCK_REALTIME).\n"
        "interface io.deepactif.Daemon\n"
        "\n"
        "type Score (feature: string, index: int, rank: int, score: float)\n"
        "\n"
        "type Ranking (\n"
        "  device: string,\n"
        "  model: string,\n"
        "  method: string,\n"
        "  location: ?string,\n"
        "  aggregation: string,\n"
        "  time: int,\n"
        "  windows: int,\n"
        "  framesProcessed: int,\n"
        "  framesDropped: int,\n"
        "  lastPrediction: ?float,\n"
        "  scores: []Score\n"
        ")\n"
        "\n"
        "type Device (\n"
        "  name: string,\n"
        "  source: string,\n"
        "  supported: bool,\n"
        "  missingChannels: []string,\n"
        "  model: ?string,\n"
        "  framesProcessed: int,\n"
        "  framesDropped: int,\n"
        "  framesInvalid: int,\n"
        "  warmingUp: bool,\n"
        "  warmupRemaining: int,\n"
        "  lastPrediction: ?float,\n"
        "  updatedAt: ?int,\n"
        "  openEvents: []string\n"
        ")\n"
        "\n"
        "# Something a device's model relies on changed, or changed back. kind:\n"
        "# ranking-shift, ranking-recovered, channel-frozen, channel-missing,\n"
        "# channel-out-of-range, channel-noisy, channel-drift or\n"
        "# channel-recovered. Channel events name the channel (or the model input,\n"
        "# or for drift both eyes' channels), ranking events the features that\n"
        "# moved most. streamTime is the device's own clock (a replay's recording\n"
        "# time).\n"
        "type Event (\n"
        "  time: int,\n"
        "  streamTime: int,\n"
        "  device: string,\n"
        "  kind: string,\n"
        "  channel: ?string,\n"
        "  features: ?[]string,\n"
        "  detail: string\n"
        ")\n"
        "\n"
        "# The daemon's version and state: starting, running or degraded.\n"
        "method GetStatus() -> (\n"
        "  version: string,\n"
        "  apiVersion: int,\n"
        "  state: string,\n"
        "  model: string,\n"
        "  database: string,\n"
        "  devices: int\n"
        ")\n"
        "\n"
        "# The devices the daemon reads now.\n"
        "method ListDevices() -> (devices: []Device)\n"
        "\n"
        "# The newest stored ranking, of one device and method or of any;\n"
        "# topK bounds the scores (default: all).\n"
        "method GetRanking(device: ?string, method: ?string, topK: ?int) -> (ranking: Ranking)\n"
        "\n"
        "# Stored rankings with since <= time <= until, newest first; limit\n"
        "# defaults to and is capped at 10000. With \"more\", in replies of up\n"
        "# to 100 rankings each, sent as the client reads them; without,\n"
        "# TooLarge when they do not fit in one reply.\n"
        "method GetHistory(device: ?string, since: ?int, until: ?int, limit: ?int) -> (rankings: []Ranking)\n"
        "\n"
        "# Reloads configuration and model, as SIGHUP does. Root only.\n"
        "method Reload() -> ()\n"
        "\n"
        "# A new person uses the device: its per-user statistics warm up again,\n"
        "# its event baselines and rolling ranking start over; the last\n"
        "# person's ranking is stored first. Root only.\n"
        "method ResetUser(device: string) -> ()\n"
        "\n"
        "# The Prometheus metrics in the text exposition format, as\n"
        "# MetricsFile= receives them.\n"
        "method GetMetrics() -> (text: string)\n"
        "\n"
        "# Stored events with time >= since, oldest first; limit defaults to and\n"
        "# is capped at 10000.\n"
        "method GetEvents(device: ?string, since: ?int, limit: ?int) -> (events: []Event)\n"
        "\n"
        "# With \"more\": a reply for every new ranking (of one device, or all);\n"
        "# with events, one for every event too, carrying event instead of ranking.\n"
        "method Watch(device: ?string, topK: ?int, events: ?bool) -> (ranking: ?Ranking, event: ?Event)\n"
        "\n"
        "# With \"more\": the stored rankings with since <= time <= until, oldest\n"
        "# first, as \"csv\" or \"json\" text (deepactifctl export), in parts to\n"
        "# be concatenated; the last reply has no \"continues\".\n"
        "method Export(format: string, device: ?string, since: ?int, until: ?int) -> (data: string)\n"
        "\n"
        "error NoSuchDevice (device: string)\n"
        "error NoRanking (device: ?string)\n"
        "error PermissionDenied (reason: string)\n"
        "error TooLarge (reason: string)\n"
        "error ProtocolError (reason: string)\n"
        "error Failed (reason: string)\n";

#define ERROR(name) VARLINK_INTERFACE "." name
#define HISTORY_MAX 10000
/* Rankings per reply of a streamed GetHistory (~3.5 KiB each with 40
 * features), snapshots per Export part (one CSV line per score): each part
 * well below the output bound of a connection (VARLINK_OUTPUT_MAX_DEFAULT). */
#define PAGE_SNAPSHOTS 100
#define EXPORT_PART_SNAPSHOTS 25
/* What one reply without "more" may hold: half the output bound. */
#define REPLY_BYTES_MAX (VARLINK_OUTPUT_MAX_DEFAULT / 2)

/* ---- parameters --------------------------------------------------------- */

/* 0 absent or null, 1 set, or an InvalidParameter error was sent (< 0). */
static int param_string(VarlinkCall *call, json_object *params, const char *key, const char **ret) {
        json_object *v;

        if (!json_object_object_get_ex(params, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_string))
                return varlink_error_invalid_parameter(call, key), -EINVAL;
        *ret = json_object_get_string(v);
        return 1;
}

static int param_uint(VarlinkCall *call, json_object *params, const char *key, uint64_t *ret) {
        json_object *v;

        if (!json_object_object_get_ex(params, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_int) ||
            (json_object_get_int64(v) < 0 && json_object_get_uint64(v) <= INT64_MAX))
                return varlink_error_invalid_parameter(call, key), -EINVAL;
        *ret = json_object_get_uint64(v);
        return 1;
}

/* ---- JSON builders ------------------------------------------------------ */

static json_object *strv_to_json(char *const *l) {
        json_object *a = json_object_new_array();

        for (char *const *i = l; a && i && *i; i++)
                json_object_array_add(a, json_object_new_string(*i));
        return a;
}

static json_object *json_double_or_null(double v) {
        return isfinite(v) ? json_object_new_double(v) : NULL;
}

static json_object *score_to_json(const char *feature, unsigned index, unsigned rank, double score) {
        json_object *o = json_object_new_object();

        if (!o)
                return NULL;
        json_object_object_add(o, "feature", json_object_new_string(feature));
        json_object_object_add(o, "index", json_object_new_uint64(index));
        json_object_object_add(o, "rank", json_object_new_uint64(rank));
        json_object_object_add(o, "score", json_double_or_null(score));
        return o;
}

/* One snapshot, live or stored, at most top_k scores (0: all). */
static json_object *record_to_json(const store_record *r, size_t top_k) {
        json_object *o = json_object_new_object(), *a = json_object_new_array();

        if (!o || !a) {
                json_object_put(o);
                json_object_put(a);
                return NULL;
        }
        json_object_object_add(o, "device", json_object_new_string(r->device));
        json_object_object_add(o, "model", json_object_new_string(r->model));
        json_object_object_add(o, "method", json_object_new_string(r->method));
        json_object_object_add(o, "location", r->location ? json_object_new_string(r->location) : NULL);
        json_object_object_add(o, "aggregation", json_object_new_string(r->aggregation));
        json_object_object_add(o, "time", json_object_new_uint64(r->time_us));
        json_object_object_add(o, "windows", json_object_new_uint64(r->windows));
        json_object_object_add(o, "framesProcessed", json_object_new_uint64(r->frames_processed));
        json_object_object_add(o, "framesDropped", json_object_new_uint64(r->frames_dropped));
        json_object_object_add(o, "lastPrediction", json_double_or_null(r->last_prediction));
        for (size_t i = 0; i < r->n_scores && (top_k == 0 || i < top_k); i++)
                json_object_array_add(a, score_to_json(r->scores[i].name, r->scores[i].feature, r->scores[i].rank,
                                                       r->scores[i].score));
        json_object_object_add(o, "scores", a);
        return o;
}

static json_object *device_to_json(Manager *m, const Device *d) {
        json_object *o = json_object_new_object(), *missing = json_object_new_array();

        if (!o || !missing) {
                json_object_put(o);
                json_object_put(missing);
                return NULL;
        }
        for (unsigned c = 0; c < 64; c++)
                if (d->missing & (UINT64_C(1) << c))
                        json_object_array_add(missing, json_object_new_string(da_channel_name((da_channel) c)));
        json_object_object_add(o, "name", json_object_new_string(d->name));
        json_object_object_add(o, "source", json_object_new_string(d->source));
        json_object_object_add(o, "supported", json_object_new_boolean(d->supported));
        json_object_object_add(o, "missingChannels", missing);
        json_object_object_add(o, "model", d->supported ? json_object_new_string(m->model_path) : NULL);
        json_object_object_add(o, "framesProcessed", json_object_new_uint64(d->frames_processed));
        json_object_object_add(o, "framesDropped", json_object_new_uint64(d->frames_dropped));
        json_object_object_add(o, "framesInvalid", json_object_new_uint64(device_frames_invalid(d)));
        {
                uint64_t remaining;
                bool warming = device_warming_up(d, &remaining);

                json_object_object_add(o, "warmingUp", json_object_new_boolean(warming));
                json_object_object_add(o, "warmupRemaining", json_object_new_uint64(remaining));
        }
        json_object_object_add(o, "lastPrediction", json_double_or_null(d->last_prediction));
        json_object_object_add(o, "updatedAt", d->last_snapshot_us ? json_object_new_uint64(d->last_snapshot_us) : NULL);
        json_object_object_add(o, "openEvents", strv_to_json(device_events_open(&d->events)));
        return o;
}

/* {"time", "streamTime", "device", "kind", "channel" or "features", "detail"}:
 * the same record from the live event and from the store. */
static json_object *event_to_json(uint64_t time_us, uint64_t stream_time_us, const char *device, const char *kind,
                                  const char *channel, json_object *features, const char *detail) {
        json_object *o = json_object_new_object();

        if (!o) {
                json_object_put(features);
                return NULL;
        }
        json_object_object_add(o, "time", json_object_new_uint64(time_us));
        json_object_object_add(o, "streamTime", json_object_new_uint64(stream_time_us));
        json_object_object_add(o, "device", json_object_new_string(device));
        json_object_object_add(o, "kind", json_object_new_string(kind));
        if (channel)
                json_object_object_add(o, "channel", json_object_new_string(channel));
        if (features)
                json_object_object_add(o, "features", features);
        json_object_object_add(o, "detail", json_object_new_string(detail));
        return o;
}

static json_object *device_event_to_json(const DeviceEvent *e) {
        return event_to_json(e->time_us, e->stream_time_us, e->device, da_event_kind_to_string(e->kind), e->channel,
                             e->features ? strv_to_json(e->features) : NULL, e->detail);
}

static int stored_event_to_json(const store_event *e, void *userdata) {
        json_object *a = userdata, *features = NULL;

        if (e->features) {
                _cleanup_free_ char *copy = strdup(e->features);

                features = json_object_new_array();
                if (!copy || !features) {
                        json_object_put(features);
                        return -ENOMEM;
                }
                for (char *save = NULL, *f = strtok_r(copy, "\n", &save); f; f = strtok_r(NULL, "\n", &save))
                        json_object_array_add(features, json_object_new_string(f));
        }
        return json_object_array_add(a, event_to_json(e->time_us, e->stream_time_us, e->device, e->kind, e->channel,
                                                      features, e->detail));
}

static int reply_one(VarlinkCall *call, const char *key, json_object *value) {
        json_object *p;

        if (!value)
                return -ENOMEM;
        p = json_object_new_object();
        if (!p || json_object_object_add(p, key, value) < 0) {
                json_object_put(p);
                json_object_put(value);
                return -ENOMEM;
        }
        return varlink_reply(call, p);
}

static int error_one(VarlinkCall *call, const char *error, const char *key, const char *value) {
        json_object *p = json_object_new_object();

        if (!p)
                return -ENOMEM;
        json_object_object_add(p, key, value ? json_object_new_string(value) : NULL);
        return varlink_error(call, error, p);
}

static int query_failed(VarlinkCall *call, Manager *m, int r, const char *device, const da_error *err) {
        if (r == -ENOENT && device && !manager_knows_device(m, device))
                return error_one(call, ERROR("NoSuchDevice"), "device", device);
        if (r == -ENOENT)
                return error_one(call, ERROR("NoRanking"), "device", device);
        return error_one(call, ERROR("Failed"), "reason", err->message[0] ? err->message : strerror(-r));
}

/* ---- methods ------------------------------------------------------------ */

static int method_get_status(VarlinkCall *call, json_object *params, void *userdata) {
        Manager *m = userdata;
        json_object *p = json_object_new_object();

        if (!p)
                return -ENOMEM;
        json_object_object_add(p, "version", json_object_new_string(PACKAGE_VERSION));
        json_object_object_add(p, "apiVersion", json_object_new_uint64(BUS_API_VERSION));
        json_object_object_add(p, "state", json_object_new_string(manager_state_to_string(m)));
        json_object_object_add(p, "model", json_object_new_string(m->model_path ?: ""));
        json_object_object_add(p, "database", json_object_new_string(m->database_path ?: ""));
        json_object_object_add(p, "devices", json_object_new_uint64(m->n_devices));
        return varlink_reply(call, p);
}

static int method_list_devices(VarlinkCall *call, json_object *params, void *userdata) {
        Manager *m = userdata;
        json_object *a = json_object_new_array();

        if (!a)
                return -ENOMEM;
        LIST_FOREACH(devices, d, m->devices)
                json_object_array_add(a, device_to_json(m, d));
        return reply_one(call, "devices", a);
}

static int method_get_ranking(VarlinkCall *call, json_object *params, void *userdata) {
        _cleanup_(store_record_freep) store_record *stored = NULL;
        const store_record *rec;
        Manager *m = userdata;
        const char *device = NULL, *method = NULL;
        uint64_t top_k = 0;
        da_error err = {};
        int r;

        if (param_string(call, params, "device", &device) < 0 ||
            param_string(call, params, "method", &method) < 0 ||
            param_uint(call, params, "topK", &top_k) < 0)
                return 0;

        /* From memory for live devices; the store only for devices gone. */
        rec = manager_latest_snapshot(m, device, method);
        if (!rec) {
                manager_flush_for_query(m);
                r = store_get_latest(m->store,
                                     &(store_query) { .device = device, .method = method, .top_k = top_k },
                                     &stored, &err);
                if (r < 0)
                        return query_failed(call, m, r, device, &err);
                rec = stored;
        }
        return reply_one(call, "ranking", record_to_json(rec, top_k));
}

typedef struct HistoryStream {
        Manager *manager;
        store_query query;              /* device points into device */
        char *device;
        uint64_t remaining;
        store_cursor cursor;
        bool started;
} HistoryStream;

static void history_stream_free(void *userdata) {
        HistoryStream *h = userdata;

        free(h->device);
        free(h);
}

/* The next page of rankings as a JSON array; *ret_bytes their text size. */
static int history_page(HistoryStream *h, size_t max, json_object **ret, size_t *ret_bytes, da_error *err) {
        store_query q = h->query;
        store_record **recs = NULL;
        json_object *a;
        size_t n = 0, bytes = 0;
        int r;

        q.limit = MIN((uint64_t) max, h->remaining);
        q.after = h->started ? &h->cursor : NULL;
        if (q.limit > 0) {
                r = store_get_history(h->manager->store, &q, &recs, &n, err);
                if (r < 0)
                        return r;
        }
        a = json_object_new_array();
        for (size_t i = 0; a && i < n; i++) {
                json_object *o = record_to_json(recs[i], 0);

                bytes += o ? strlen(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN)) + 1 : 0;
                json_object_array_add(a, o);
                h->cursor = (store_cursor) { recs[i]->time_us, recs[i]->id };
        }
        store_record_array_free(recs, n);
        if (!a)
                return -ENOMEM;
        h->started = true;
        h->remaining -= n;
        if (n < q.limit)
                h->remaining = 0;       /* nothing more stored */
        *ret = a;
        *ret_bytes = bytes;
        return 0;
}

static void history_drain(VarlinkCall *call, void *userdata) {
        HistoryStream *h = userdata;
        json_object *a = NULL, *p;
        da_error err = {};
        size_t bytes;
        int r;

        r = history_page(h, PAGE_SNAPSHOTS, &a, &bytes, &err);
        if (r < 0) {
                (void) query_failed(call, h->manager, r, NULL, &err);
                return;
        }
        p = json_object_new_object();
        if (!p || json_object_object_add(p, "rankings", a) < 0) {
                json_object_put(a);
                json_object_put(p);
                (void) error_one(call, ERROR("Failed"), "reason", strerror(ENOMEM));
                return;
        }
        if (h->remaining > 0)
                (void) varlink_notify(call, p);
        else
                (void) varlink_reply(call, p);  /* ends the call, frees h */
}

static int method_get_history(VarlinkCall *call, json_object *params, void *userdata) {
        Manager *m = userdata;
        const char *device = NULL;
        uint64_t since = 0, until = 0, limit = HISTORY_MAX;
        HistoryStream *h;
        json_object *all;
        size_t total = 0;
        int r;

        if (param_string(call, params, "device", &device) < 0 ||
            param_uint(call, params, "since", &since) < 0 ||
            param_uint(call, params, "until", &until) < 0 ||
            param_uint(call, params, "limit", &limit) < 0)
                return 0;
        if (until != 0 && until < since)
                return varlink_error_invalid_parameter(call, "until");
        if (device && !manager_knows_device(m, device))
                return error_one(call, ERROR("NoSuchDevice"), "device", device);

        h = calloc(1, sizeof *h);
        if (!h || (device && !(h->device = strdup(device)))) {
                free(h);
                return -ENOMEM;
        }
        h->manager = m;
        h->remaining = limit == 0 || limit > HISTORY_MAX ? HISTORY_MAX : limit;
        h->query = (store_query) { .device = h->device, .since_us = since, .until_us = until };
        manager_flush_for_query(m);

        if (varlink_call_more(call)) {
                /* Pages go out as the client takes them (history_drain). */
                varlink_call_set_drain(call, history_drain, h, history_stream_free);
                return 0;
        }

        /* One reply: built page by page, refused once it outgrows a reply. */
        all = json_object_new_array();
        while (all && h->remaining > 0) {
                json_object *a = NULL;
                da_error err = {};
                size_t bytes;

                r = history_page(h, PAGE_SNAPSHOTS, &a, &bytes, &err);
                if (r < 0) {
                        json_object_put(all);
                        history_stream_free(h);
                        return query_failed(call, m, r, NULL, &err);
                }
                total += bytes;
                if (total > REPLY_BYTES_MAX) {
                        json_object_put(a);
                        json_object_put(all);
                        history_stream_free(h);
                        return error_one(call, ERROR("TooLarge"), "reason",
                                         "the rankings do not fit in one reply; call with \"more\" or a smaller limit");
                }
                for (size_t i = 0; i < json_object_array_length(a); i++)
                        json_object_array_add(all, json_object_get(json_object_array_get_idx(a, i)));
                json_object_put(a);
        }
        history_stream_free(h);
        return reply_one(call, "rankings", all);
}

typedef struct ExportStream {
        Manager *manager;
        store_exporter *exporter;
} ExportStream;

static void export_stream_free(void *userdata) {
        ExportStream *e = userdata;

        store_exporter_free(e->exporter);
        free(e);
}

static void export_drain(VarlinkCall *call, void *userdata) {
        ExportStream *e = userdata;
        _cleanup_free_ char *text = NULL;
        size_t size = 0;
        da_error err = {};
        json_object *p;
        FILE *f;
        int r;

        f = open_memstream(&text, &size);
        if (!f) {
                (void) error_one(call, ERROR("Failed"), "reason", strerror(errno));
                return;
        }
        r = store_exporter_next(e->exporter, EXPORT_PART_SNAPSHOTS, f, &err);
        if (fclose(f) != 0 && r >= 0)
                r = -ENOMEM;
        if (r < 0) {
                (void) error_one(call, ERROR("Failed"), "reason", err.message[0] ? err.message : strerror(-r));
                return;
        }
        p = json_object_new_object();
        if (!p || json_object_object_add(p, "data", json_object_new_string_len(text, (int) size)) < 0) {
                json_object_put(p);
                (void) error_one(call, ERROR("Failed"), "reason", strerror(ENOMEM));
                return;
        }
        if (r > 0)
                (void) varlink_notify(call, p);
        else
                (void) varlink_reply(call, p);  /* ends the call, frees e */
}

static int method_export(VarlinkCall *call, json_object *params, void *userdata) {
        Manager *m = userdata;
        const char *device = NULL, *format = NULL;
        uint64_t since = 0, until = 0;
        ExportStream *e;
        int f, r;

        if (param_string(call, params, "format", &format) < 0 ||
            param_string(call, params, "device", &device) < 0 ||
            param_uint(call, params, "since", &since) < 0 ||
            param_uint(call, params, "until", &until) < 0)
                return 0;
        f = store_export_format_from_string(format);
        if (f < 0)
                return varlink_error_invalid_parameter(call, "format");
        if (until != 0 && until < since)
                return varlink_error_invalid_parameter(call, "until");
        if (!varlink_call_more(call))
                return varlink_error_invalid_parameter(call, "more");
        if (device && !manager_knows_device(m, device))
                return error_one(call, ERROR("NoSuchDevice"), "device", device);

        manager_flush_for_query(m);
        /* What is stored now: an export of a live store ends. */
        if (until == 0) {
                struct timespec ts;

                clock_gettime(CLOCK_REALTIME, &ts);
                until = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        }
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->manager = m;
        r = store_exporter_new(m->store, &(store_query) {
                        .device = device,
                        .since_us = since,
                        .until_us = until,
                        .oldest_first = true,
                }, f, &e->exporter);
        if (r < 0) {
                free(e);
                return r;
        }
        varlink_call_set_drain(call, export_drain, e, export_stream_free);
        return 0;
}

static int method_get_metrics(VarlinkCall *call, json_object *params, void *userdata) {
        _cleanup_free_ char *text = NULL;
        int r;

        r = metrics_format(userdata, &text);
        if (r < 0)
                return r;
        return reply_one(call, "text", json_object_new_string(text));
}

static int method_reload(VarlinkCall *call, json_object *params, void *userdata) {
        Manager *m = userdata;
        uid_t uid;
        int r;

        /* The socket's mode lets group deepactif in to read; changing state
         * takes root, checked on the peer's credentials. */
        if (varlink_call_get_peer_uid(call, &uid) < 0 || uid != 0)
                return error_one(call, ERROR("PermissionDenied"), "reason",
                                 "Reload needs root; run it with sudo.");
        r = manager_reload(m);
        if (r < 0)
                return error_one(call, ERROR("Failed"), "reason",
                                 "reload failed, the previous configuration and model stay; see the daemon's log");
        return varlink_reply(call, NULL);
}

static int method_reset_user(VarlinkCall *call, json_object *params, void *userdata) {
        Manager *m = userdata;
        const char *device = NULL;
        uid_t uid;
        int r;

        if (param_string(call, params, "device", &device) < 0)
                return 0;
        if (!device)
                return varlink_error_invalid_parameter(call, "device");
        if (varlink_call_get_peer_uid(call, &uid) < 0 || uid != 0)
                return error_one(call, ERROR("PermissionDenied"), "reason",
                                 "ResetUser needs root; run it with sudo.");
        r = manager_reset_user(m, device);
        if (r == -ENOENT)
                return error_one(call, ERROR("NoSuchDevice"), "device", device);
        if (r < 0)
                return r;
        return varlink_reply(call, NULL);
}

static int method_get_events(VarlinkCall *call, json_object *params, void *userdata) {
        Manager *m = userdata;
        const char *device = NULL;
        uint64_t since = 0, limit = HISTORY_MAX;
        da_error err = {};
        json_object *a;
        int r;

        if (param_string(call, params, "device", &device) < 0 ||
            param_uint(call, params, "since", &since) < 0 ||
            param_uint(call, params, "limit", &limit) < 0)
                return 0;
        if (device && !manager_knows_device(m, device))
                return error_one(call, ERROR("NoSuchDevice"), "device", device);
        a = json_object_new_array();
        if (!a)
                return -ENOMEM;
        r = store_foreach_event(m->store, device, since, limit == 0 || limit > HISTORY_MAX ? HISTORY_MAX : limit,
                                stored_event_to_json, a, &err);
        if (r < 0) {
                json_object_put(a);
                return error_one(call, ERROR("Failed"), "reason", err.message[0] ? err.message : strerror(-r));
        }
        return reply_one(call, "events", a);
}

static int param_bool(VarlinkCall *call, json_object *params, const char *key, bool *ret) {
        json_object *v;

        if (!json_object_object_get_ex(params, key, &v) || json_object_is_type(v, json_type_null))
                return 0;
        if (!json_object_is_type(v, json_type_boolean))
                return varlink_error_invalid_parameter(call, key), -EINVAL;
        *ret = json_object_get_boolean(v);
        return 1;
}

static int method_watch(VarlinkCall *call, json_object *params, void *userdata) {
        Manager *m = userdata;
        const char *device = NULL;
        uint64_t top_k = 0;
        bool events = false;

        if (param_string(call, params, "device", &device) < 0 || param_uint(call, params, "topK", &top_k) < 0 ||
            param_bool(call, params, "events", &events) < 0)
                return 0;
        if (!varlink_call_more(call))
                return varlink_error_invalid_parameter(call, "more");
        if (device && !manager_find_device(m, device))
                return error_one(call, ERROR("NoSuchDevice"), "device", device);
        return 0;       /* stays pending; manager_varlink_ranking_changed() streams */
}

static const VarlinkMethod methods[] = {
        { "GetStatus",   method_get_status },
        { "GetMetrics",  method_get_metrics },
        { "ListDevices", method_list_devices },
        { "GetRanking",  method_get_ranking },
        { "GetHistory",  method_get_history },
        { "GetEvents",   method_get_events },
        { "Reload",      method_reload },
        { "ResetUser",   method_reset_user },
        { "Watch",       method_watch },
        { "Export",      method_export },
        {}
};

static const VarlinkInterface interface = {
        .name = VARLINK_INTERFACE,
        .description = varlink_manager_description,
        .methods = methods,
        .protocol_error = ERROR("ProtocolError"),
        .internal_error = ERROR("Failed"),
};

/* A snapshot goes to every watcher of its device, and watchers mostly ask
 * for the same topK: each distinct one is serialized once (with 100
 * watchers of 64 devices, building and serializing per watcher made a
 * burst of aligned snapshots wait tens of milliseconds). */
#define WATCH_TEXTS 4

typedef struct WatchEvent {
        Manager *manager;
        Device *device;
        struct {
                uint64_t top_k;
                char *text;
        } texts[WATCH_TEXTS];
        unsigned n_texts;
} WatchEvent;

static json_object *ranking_notification(const Device *d, uint64_t top_k) {
        json_object *p = json_object_new_object();

        if (p)
                json_object_object_add(p, "ranking", record_to_json(d->snapshot, top_k));
        return p;
}

/* The serialized notification for top_k, or NULL when the cache is full. */
static const char *watch_text(WatchEvent *e, uint64_t top_k) {
        _cleanup_(json_object_putp) json_object *p = NULL;
        char *text;

        for (unsigned i = 0; i < e->n_texts; i++)
                if (e->texts[i].top_k == top_k)
                        return e->texts[i].text;
        if (e->n_texts == WATCH_TEXTS)
                return NULL;
        p = ranking_notification(e->device, top_k);
        if (!p || varlink_notification_format(p, &text) < 0)
                return NULL;
        e->texts[e->n_texts].top_k = top_k;
        e->texts[e->n_texts].text = text;
        return e->texts[e->n_texts++].text;
}

static void notify_watcher(VarlinkCall *call, json_object *params, void *userdata) {
        WatchEvent *e = userdata;
        const char *device = NULL, *text;
        uint64_t top_k = 0;
        json_object *v, *p;

        if (json_object_object_get_ex(params, "device", &v) && json_object_is_type(v, json_type_string))
                device = json_object_get_string(v);
        if (device && !streq(device, e->device->name))
                return;
        if (json_object_object_get_ex(params, "topK", &v) && json_object_is_type(v, json_type_int))
                top_k = json_object_get_uint64(v);

        text = watch_text(e, top_k);
        if (text) {
                (void) varlink_notify_text(call, text);
                return;
        }
        p = ranking_notification(e->device, top_k);
        if (p)
                (void) varlink_notify(call, p);
}

typedef struct WatchedEvent {
        Device *device;
        const DeviceEvent *event;
} WatchedEvent;

static void notify_event_watcher(VarlinkCall *call, json_object *params, void *userdata) {
        WatchedEvent *w = userdata;
        json_object *v, *p;

        if (!json_object_object_get_ex(params, "events", &v) || !json_object_get_boolean(v))
                return;
        if (json_object_object_get_ex(params, "device", &v) && json_object_is_type(v, json_type_string) &&
            !streq(json_object_get_string(v), w->device->name))
                return;
        p = json_object_new_object();
        if (!p)
                return;
        json_object_object_add(p, "event", device_event_to_json(w->event));
        (void) varlink_notify(call, p);
}

void manager_varlink_event(Manager *m, Device *d, const DeviceEvent *e) {
        if (!m->varlink)
                return;
        varlink_server_foreach_pending(m->varlink, VARLINK_INTERFACE ".Watch", notify_event_watcher,
                                       &(WatchedEvent) { d, e });
}

void manager_varlink_ranking_changed(Manager *m, Device *d) {
        WatchEvent e = { m, d };

        if (!m->varlink || !d->snapshot)
                return;
        varlink_server_foreach_pending(m->varlink, VARLINK_INTERFACE ".Watch", notify_watcher, &e);
        for (unsigned i = 0; i < e.n_texts; i++)
                free(e.texts[i].text);
}

/* Overflows and evictions say a client misbehaves or the limit is too
 * small: worth a warning, but not one per client when many misbehave. */
static void on_drop(VarlinkServer *s, VarlinkDrop why, uid_t uid, void *userdata) {
        static uint64_t last_usec, suppressed;
        Manager *m = userdata;
        VarlinkStats st;
        uint64_t now = 0;

        if (why == VARLINK_DROP_IDLE) {
                log_debug("Closed an idle varlink connection of UID %u.", (unsigned) uid);
                return;
        }
        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        if (last_usec != 0 && now < last_usec + 10 * USEC_PER_SEC) {
                suppressed++;
                return;
        }
        last_usec = now;
        varlink_server_get_stats(s, &st);
        log_warning("Disconnected a varlink client of UID %u %s (%" PRIu64 " overflows, %" PRIu64
                    " evictions so far; %" PRIu64 " similar messages suppressed).", (unsigned) uid,
                    why == VARLINK_DROP_OVERFLOW ? "that did not read its replies" :
                    "that was idle, to make room for a new one",
                    st.overflows, st.evicted, suppressed);
        suppressed = 0;
}

int manager_varlink_listen(Manager *m, const char *path) {
        _cleanup_(varlink_server_freep) VarlinkServer *s = NULL;
        int r;

        path = path ?: VARLINK_ADDRESS_DEFAULT;
        r = varlink_server_new(m->event, &interface,
                               &(VarlinkInfo) {
                                       .vendor = "deepactif",
                                       .product = "deepactifd",
                                       .version = PACKAGE_VERSION,
                                       .url = PACKAGE_URL,
                               }, m, &s);
        if (r < 0)
                return log_oom();
        varlink_server_set_drop_callback(s, on_drop, m);
        /* Group deepactif may read rankings, like on D-Bus; started as root
         * outside systemd (which sets SocketGroup=), we give it the group. */
        if (geteuid() == 0) {
                struct group *g = getgrnam("deepactif");

                if (g)
                        varlink_server_set_socket_group(s, g->gr_gid);
        }
        r = varlink_server_listen_auto(s, path, 0660);
        if (r < 0)
                return log_error_errno(r, "Failed to listen on the varlink socket '%s': %m%s", path,
                                       r == -EACCES ? " (use --varlink=PATH to pick a writable place)" : "");
        m->varlink = TAKE_PTR(s);
        return 0;
}
