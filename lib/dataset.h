/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The data set as the trainer and the scorer see it: per subject, the
 * unscaled feature rows of every valid frame in stream order (a frame with a
 * NaN model feature never becomes a row, as in da_stream), and the windows
 * over them, each named by the index of its last row. Consecutive rows form
 * a window exactly as the stream's ring does, so window w covers rows
 * end[w] − T + 1 … end[w], contiguous. */

#include "model.h"

typedef struct ds_subject {
        char *name;
        float *rows;            /* n_rows × F */
        size_t n_rows;
        size_t *end;            /* n_windows: each window's last row */
        float *target;          /* n_windows: target.depth of that row's frame */
        size_t n_windows;
} ds_subject;

struct da_dataset {
        unsigned F, T, hop;
        char **names;           /* F feature names */
        unsigned *index;        /* F indices into the feature table */
        ds_subject *subject;
        unsigned n_subjects;
        char **skipped;
        unsigned n_skipped;
        da_dataset_stats stats;
};

static inline const float *ds_window(const da_dataset *ds, const ds_subject *s, size_t w) {
        return s->rows + (s->end[w] + 1 - ds->T) * ds->F;
}

int ds_scaled_rows(const da_model *m, const da_dataset *ds, const ds_subject *s, float **ret_rows,
                   size_t *ret_first, da_error *err);

/* Whether window w of s lies wholly at or after row `first`. */
static inline bool ds_window_usable(const da_dataset *ds, const ds_subject *s, size_t w, size_t first) {
        return s->end[w] + 1 >= first + ds->T;
}
