/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "reader.h"
#include "reader-parse.h"
#include "util.h"

/* Robust Vision depth-calibration export: tab-separated, header on line 1,
 * columns found by name in any order. Data lines carry " sample" in the
 * Message column; the rest are markers ("Data collection started"). */

#define RV_TIMESTAMP "System Timestamp"
#define RV_MESSAGE "Message"

typedef struct rv_column {
        const char *name;
        int channel;            /* da_channel, or -1 for a column handled by name */
        bool required;
} rv_column;

/* The first two entries of rv_columns are not channels. */
enum {
        COL_TIME,
        COL_MESSAGE,
        _COL_FIRST_CHANNEL,
};

/* GT_depth and the combined gaze point are optional so that recordings
 * without a target (live captures) still load. The export has no origin Y
 * column; those channels stay NaN. "Estimated Depth" is the vendor's own
 * depth estimate, a competitor rather than an input, and is ignored. */
static const rv_column rv_columns[] = {
        { RV_TIMESTAMP,                 -1,                       true  },
        { RV_MESSAGE,                   -1,                       true  },
        { "GT_depth",                   DA_CH_TARGET_DEPTH,       false },
        { "World Gaze Point X",         DA_CH_GAZE_POINT_X,       false },
        { "World Gaze Point Y",         DA_CH_GAZE_POINT_Y,       false },
        { "World Gaze Point Z",         DA_CH_GAZE_POINT_Z,       false },
        { "World Gaze Origin R X",      DA_CH_EYE_RIGHT_ORIGIN_X, true  },
        { "World Gaze Origin R Z",      DA_CH_EYE_RIGHT_ORIGIN_Z, true  },
        { "World Gaze Origin L X",      DA_CH_EYE_LEFT_ORIGIN_X,  true  },
        { "World Gaze Origin L Z",      DA_CH_EYE_LEFT_ORIGIN_Z,  true  },
        { "World Gaze Direction R X",   DA_CH_EYE_RIGHT_DIRECTION_X, true },
        { "World Gaze Direction R Y",   DA_CH_EYE_RIGHT_DIRECTION_Y, true },
        { "World Gaze Direction R Z",   DA_CH_EYE_RIGHT_DIRECTION_Z, true },
        { "World Gaze Direction L X",   DA_CH_EYE_LEFT_DIRECTION_X,  true },
        { "World Gaze Direction L Y",   DA_CH_EYE_LEFT_DIRECTION_Y,  true },
        { "World Gaze Direction L Z",   DA_CH_EYE_LEFT_DIRECTION_Z,  true },
};

#define RV_N_COLUMNS ELEMENTSOF(rv_columns)

typedef struct rv_state {
        unsigned n_fields;              /* header fields; every data line has as many */
        int index[RV_N_COLUMNS];        /* field index of rv_columns[i], or -1 */
        char **fields;                  /* n_fields pointers into the line */
        uint64_t last_time_us;
} rv_state;

static bool has_field(const char *line, const char *name) {
        size_t n = strlen(name);

        for (const char *p = line; (p = strstr(p, name)); p++)
                if ((p == line || p[-1] == '\t') && (p[n] == '\t' || p[n] == '\0'))
                        return true;
        return false;
}

/* Columns may come in any order, so look for two that only this export has. */
static bool rv_sniff(const char *first_line) {
        return has_field(first_line, RV_TIMESTAMP) && has_field(first_line, "World Gaze Direction R X");
}

static unsigned count_fields(const char *line) {
        unsigned n = 1;

        for (const char *p = line; (p = strchr(p, '\t')); p++)
                n++;
        return n;
}

/* Empty or non-numeric values are missing data, not errors. */
static float parse_value(const char *s) {
        double v;

        if (parse_double(s, &v) < 0 || !isfinite(v))
                return NAN;
        return (float) v;
}

static void rv_done(da_reader *r) {
        rv_state *s = r->state;

        if (!s)
                return;
        free(s->fields);
        free(s);
        r->state = NULL;
}

static int rv_init(da_reader *r, const char *first_line, da_error *err) {
        _cleanup_free_ char *header = NULL;
        _cleanup_free_ char **names = NULL;
        rv_state *s;
        unsigned n;
        int k;

        header = strdup(first_line);
        if (!header)
                return -ENOMEM;
        n = count_fields(header);
        names = calloc(n, sizeof(char *));
        if (!names)
                return -ENOMEM;
        split_fields(header, '\t', names, n);

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        r->state = s;
        s->n_fields = n;

        for (size_t c = 0; c < RV_N_COLUMNS; c++) {
                s->index[c] = -1;
                for (unsigned i = 0; i < n; i++) {
                        if (!streq(names[i], rv_columns[c].name))
                                continue;
                        if (s->index[c] >= 0) {
                                k = da_error_set(err, -EBADMSG, "%s: line 1: column '%s' appears twice",
                                                 r->path, rv_columns[c].name);
                                goto fail;
                        }
                        s->index[c] = (int) i;
                }
                if (s->index[c] < 0 && rv_columns[c].required) {
                        k = da_error_set(err, -EBADMSG, "%s: line 1: required column '%s' is missing",
                                         r->path, rv_columns[c].name);
                        goto fail;
                }
        }

        s->fields = calloc(n, sizeof(char *));
        if (!s->fields) {
                k = -ENOMEM;
                goto fail;
        }
        return 0;

fail:
        rv_done(r);
        return k;
}

static int rv_next(da_reader *r, da_frame *ret_frame, da_error *err) {
        rv_state *s = r->state;
        int i_time = s->index[COL_TIME], i_msg = s->index[COL_MESSAGE];

        for (;;) {
                uint64_t t;
                unsigned n;
                da_frame f;
                int k;

                k = reader_getline(r);
                if (k <= 0)
                        return k < 0 ? reader_line_error(r, k, err) : 0;

                n = split_fields(r->line, '\t', s->fields, s->n_fields);
                if (n == 1 && s->fields[0][0] == '\0')
                        continue;
                if (n <= (unsigned) i_msg)
                        return da_error_set(err, -EBADMSG, "%s: line %lu: %u fields, the header has %u",
                                            r->path, r->line_no, n, s->n_fields);
                if (!streq(s->fields[i_msg], "sample"))
                        continue;
                if (n != s->n_fields)
                        return da_error_set(err, -EBADMSG, "%s: line %lu: %u fields, the header has %u",
                                            r->path, r->line_no, n, s->n_fields);

                k = parse_time_us(s->fields[i_time], 3, &t);
                if (k < 0)
                        return da_error_set(err, -EBADMSG, "%s: line %lu: '%s' is not a valid " RV_TIMESTAMP,
                                            r->path, r->line_no, s->fields[i_time]);
                /* Streams are monotonic; a stamp stepping back is tracker
                 * jitter and is held at the last one. */
                t = MAX(t, s->last_time_us);
                s->last_time_us = t;

                da_frame_init(&f, t);
                for (size_t c = _COL_FIRST_CHANNEL; c < RV_N_COLUMNS; c++)
                        if (s->index[c] >= 0)
                                f.ch[rv_columns[c].channel] = parse_value(s->fields[s->index[c]]);

                *ret_frame = f;
                return 1;
        }
}

const reader_ops reader_robustvision_ops = {
        .format = DA_REC_ROBUSTVISION,
        .name = "robustvision",
        .sniff = rv_sniff,
        .init = rv_init,
        .next = rv_next,
        .done = rv_done,
};
