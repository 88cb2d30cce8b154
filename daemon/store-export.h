/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdio.h>

#include "store.h"

typedef enum store_export_format {
        STORE_EXPORT_CSV,       /* header line, then one line per feature score */
        STORE_EXPORT_JSON,      /* an array of snapshot objects with a "scores" array */
        _STORE_EXPORT_MAX,
} store_export_format;

const char *store_export_format_to_string(store_export_format f);
int store_export_format_from_string(const char *s);

/* An export in parts, for a reader that takes it at its own pace. */
typedef struct store_exporter store_exporter;

/* Copies q (its strings too; q->after is ignored). */
int store_exporter_new(store *s, const store_query *q, store_export_format format, store_exporter **ret);
store_exporter *store_exporter_free(store_exporter *e);
/* Appends the next part to f: the header with the first, up to
 * max_snapshots snapshots (in q's order, top_k scores each) per call, the
 * footer with the last. 1 while more follows, 0 once the footer is written
 * (and for every call after), or a negative errno. Each part is one read;
 * snapshots stored between parts are included if q's bounds admit them. */
int store_exporter_next(store_exporter *e, size_t max_snapshots, FILE *f, da_error *err);
/* Snapshots written so far. */
size_t store_exporter_count(const store_exporter *e);

DEFINE_TRIVIAL_CLEANUP_FUNC(store_exporter *, store_exporter_free);

/* The whole export at once: writes the snapshots matching q to f. Returns
 * the number of snapshots written or a negative errno. */
int store_export(store *s, const store_query *q, store_export_format format, FILE *f, da_error *err);
