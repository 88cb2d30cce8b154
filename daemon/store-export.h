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

/* Writes the snapshots matching q (in q's order, top_k scores each) to f.
 * Returns the number of snapshots written or a negative errno. */
int store_export(store *s, const store_query *q, store_export_format format, FILE *f, da_error *err);
