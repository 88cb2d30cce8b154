/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Stored snapshots as CSV (one line per feature score, RFC 4180 quoting)
 * or JSON (one array of snapshot objects), in parts of a few snapshots read
 * page by page, so an export of a large store needs no more memory than one
 * page and holds no read transaction between parts. The daemon streams the
 * parts to deepactifctl over D-Bus and varlink; this is the only exporter. */

#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>

#include "json-util.h"
#include "store-export.h"

static const char *const format_names[_STORE_EXPORT_MAX] = {
        [STORE_EXPORT_CSV] = "csv",
        [STORE_EXPORT_JSON] = "json",
};

const char *store_export_format_to_string(store_export_format f) {
        return f >= 0 && f < _STORE_EXPORT_MAX ? format_names[f] : NULL;
}

int store_export_format_from_string(const char *s) {
        for (int f = 0; f < _STORE_EXPORT_MAX; f++)
                if (s && streq(s, format_names[f]))
                        return f;
        return -EINVAL;
}

struct store_exporter {
        store *store;
        store_query query;
        char *device, *method, *location, *aggregation;
        store_export_format format;
        store_cursor cursor;
        size_t n;                       /* snapshots written */
        bool started, done;
};

static void csv_string(FILE *f, const char *v) {
        if (!v)
                return;
        if (!strpbrk(v, ",\"\r\n")) {
                fputs(v, f);
                return;
        }
        fputc('"', f);
        for (const char *p = v; *p; p++) {
                if (*p == '"')
                        fputc('"', f);
                fputc(*p, f);
        }
        fputc('"', f);
}

/* %.17g reads back to the same double; NaN is an empty field. */
static void csv_double(FILE *f, double v) {
        if (!isnan(v))
                fprintf(f, "%.17g", v);
}

static int export_csv(const store_record *r, FILE *f) {
        for (size_t i = 0; i < r->n_scores; i++) {
                const store_score *sc = &r->scores[i];

                fprintf(f, "%" PRIu64 ",", r->time_us);
                csv_string(f, r->device);
                fputc(',', f);
                csv_string(f, r->source);
                fputc(',', f);
                csv_string(f, r->model);
                fputc(',', f);
                csv_string(f, r->model_identity);
                fputc(',', f);
                csv_string(f, r->method);
                fputc(',', f);
                csv_string(f, r->location);
                fputc(',', f);
                csv_string(f, r->aggregation);
                fprintf(f, ",%u,%" PRIu64 ",%" PRIu64 ",", r->windows, r->frames_processed, r->frames_dropped);
                csv_double(f, r->last_prediction);
                fprintf(f, ",%u,", sc->feature);
                csv_string(f, sc->name);
                fputc(',', f);
                csv_double(f, sc->score);
                fprintf(f, ",%u\n", sc->rank);
        }
        return 0;
}

static void json_put_string(json_object *o, const char *key, const char *v) {
        json_object_object_add(o, key, v ? json_object_new_string(v) : NULL);
}

static void json_put_double(json_object *o, const char *key, double v) {
        json_object_object_add(o, key, isfinite(v) ? json_object_new_double(v) : NULL);
}

static int export_json(const store_record *r, FILE *f, bool first) {
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *scores = json_object_new_array();
        const char *text;

        if (!o || !scores) {
                json_object_put(scores);
                return -ENOMEM;
        }
        json_object_object_add(o, "time_us", json_object_new_uint64(r->time_us));
        json_put_string(o, "device", r->device);
        json_put_string(o, "source", r->source);
        json_put_string(o, "model", r->model);
        json_put_string(o, "model_identity", r->model_identity);
        json_put_string(o, "method", r->method);
        json_put_string(o, "location", r->location);
        json_put_string(o, "aggregation", r->aggregation);
        json_object_object_add(o, "windows", json_object_new_uint64(r->windows));
        json_object_object_add(o, "frames_processed", json_object_new_uint64(r->frames_processed));
        json_object_object_add(o, "frames_dropped", json_object_new_uint64(r->frames_dropped));
        json_put_double(o, "last_prediction", r->last_prediction);
        json_object_object_add(o, "scores", scores);
        for (size_t i = 0; i < r->n_scores; i++) {
                json_object *sc = json_object_new_object();

                if (!sc)
                        return -ENOMEM;
                json_object_object_add(sc, "feature", json_object_new_uint64(r->scores[i].feature));
                json_put_string(sc, "name", r->scores[i].name);
                json_put_double(sc, "score", r->scores[i].score);
                json_object_object_add(sc, "rank", json_object_new_uint64(r->scores[i].rank));
                json_object_array_add(scores, sc);
        }

        text = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!text)
                return -ENOMEM;
        fprintf(f, "%s\n%s", first ? "" : ",", text);
        return 0;
}

store_exporter *store_exporter_free(store_exporter *e) {
        if (!e)
                return NULL;
        free(e->device);
        free(e->method);
        free(e->location);
        free(e->aggregation);
        return mfree(e);
}

static int strdup_opt(const char *v, char **ret) {
        if (!v)
                return 0;
        *ret = strdup(v);
        return *ret ? 0 : -ENOMEM;
}

int store_exporter_new(store *s, const store_query *q, store_export_format format, store_exporter **ret) {
        _cleanup_(store_exporter_freep) store_exporter *e = NULL;
        static const store_query any = {};

        if (!s || !ret || format < 0 || format >= _STORE_EXPORT_MAX)
                return -EINVAL;
        q = q ?: &any;
        e = calloc(1, sizeof *e);
        if (!e)
                return -ENOMEM;
        e->store = s;
        e->format = format;
        e->query = *q;
        e->query.after = NULL;
        if (strdup_opt(q->device, &e->device) < 0 || strdup_opt(q->method, &e->method) < 0 ||
            strdup_opt(q->location, &e->location) < 0 || strdup_opt(q->aggregation, &e->aggregation) < 0)
                return -ENOMEM;
        e->query.device = e->device;
        e->query.method = e->method;
        e->query.location = e->location;
        e->query.aggregation = e->aggregation;
        *ret = TAKE_PTR(e);
        return 0;
}

size_t store_exporter_count(const store_exporter *e) {
        return e->n;
}

int store_exporter_next(store_exporter *e, size_t max_snapshots, FILE *f, da_error *err) {
        store_query page = e->query;
        store_record **recs = NULL;
        size_t n = 0;
        int r = 0;

        if (e->done)
                return 0;
        if (!e->started) {
                if (e->format == STORE_EXPORT_CSV)
                        fputs("time_us,device,source,model,model_identity,method,location,aggregation,windows,"
                              "frames_processed,frames_dropped,last_prediction,feature,name,score,rank\n", f);
                else
                        fputc('[', f);
                e->started = true;
        }

        page.limit = MAX(max_snapshots, (size_t) 1);
        if (e->query.limit > 0)
                page.limit = MIN(page.limit, e->query.limit - e->n);
        page.after = e->n > 0 ? &e->cursor : NULL;
        if (page.limit > 0) {
                r = store_get_history(e->store, &page, &recs, &n, err);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n && r >= 0; i++) {
                r = e->format == STORE_EXPORT_CSV ? export_csv(recs[i], f) : export_json(recs[i], f, e->n == 0);
                e->cursor = (store_cursor) { recs[i]->time_us, recs[i]->id };
                e->n++;
        }
        store_record_array_free(recs, n);
        if (r < 0)
                return da_error_set(err, r, "Failed to format the export: %s", strerror(-r));

        if (n < page.limit || (e->query.limit > 0 && e->n >= e->query.limit)) {
                if (e->format == STORE_EXPORT_JSON)
                        fputs(e->n > 0 ? "\n]\n" : "]\n", f);
                e->done = true;
        }
        if (ferror(f))
                return da_error_set(err, -EIO, "Failed to write the export.");
        return e->done ? 0 : 1;
}

int store_export(store *s, const store_query *q, store_export_format format, FILE *f, da_error *err) {
        _cleanup_(store_exporter_freep) store_exporter *e = NULL;
        int r;

        if (!s || !f || store_exporter_new(s, q, format, &e) < 0)
                return da_error_set(err, -EINVAL, "Invalid export request.");
        do
                r = store_exporter_next(e, 256, f, err);
        while (r > 0);
        if (r < 0)
                return r;
        if (fflush(f) != 0 || ferror(f))
                return da_error_set(err, -errno ?: -EIO, "Failed to write the export: %m");
        return (int) MIN(e->n, (size_t) INT_MAX);
}
