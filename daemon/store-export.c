/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Stored snapshots as CSV (one line per feature score, RFC 4180 quoting)
 * or JSON (one array of snapshot objects), streamed record by record so an
 * export of a large store needs no more memory than one snapshot. */

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

typedef struct export_ctx {
        FILE *f;
        store_export_format format;
        size_t n;
} export_ctx;

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

static int export_one(const store_record *rec, void *userdata) {
        export_ctx *c = userdata;
        int r;

        r = c->format == STORE_EXPORT_CSV ? export_csv(rec, c->f) : export_json(rec, c->f, c->n == 0);
        if (r < 0)
                return r;
        c->n++;
        return ferror(c->f) ? -EIO : 0;
}

int store_export(store *s, const store_query *q, store_export_format format, FILE *f, da_error *err) {
        export_ctx c = { .f = f, .format = format };
        int r;

        if (!s || !f || format < 0 || format >= _STORE_EXPORT_MAX)
                return da_error_set(err, -EINVAL, "Invalid export request.");

        if (format == STORE_EXPORT_CSV)
                fputs("time_us,device,source,model,model_identity,method,location,aggregation,windows,"
                      "frames_processed,frames_dropped,last_prediction,feature,name,score,rank\n", f);
        else
                fputc('[', f);

        r = store_foreach(s, q, export_one, &c, err);
        if (r < 0)
                return r;

        if (format == STORE_EXPORT_JSON)
                fputs(c.n > 0 ? "\n]\n" : "]\n", f);
        if (fflush(f) != 0 || ferror(f))
                return da_error_set(err, -errno ?: -EIO, "Failed to write the export: %m");
        return (int) MIN(c.n, (size_t) INT_MAX);
}
