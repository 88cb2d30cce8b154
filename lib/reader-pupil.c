/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Pupil Player's raw data export, gaze_positions.csv: comma-separated, the
 * header on line 1, columns found by name in any order.
 *
 *   gaze_timestamp                 Pupil time, seconds
 *   confidence                     0..1
 *   gaze_point_3d_{x,y,z}          → gaze.point.*          (mm → m)
 *   eye_center0_3d_{x,y,z}         → eye.right.origin.*    (mm → m)
 *   gaze_normal0_{x,y,z}           → eye.right.direction.*
 *   eye_center1_3d_{x,y,z}         → eye.left.origin.*     (mm → m)
 *   gaze_normal1_{x,y,z}           → eye.left.direction.*
 *
 * Pupil's eye 0 is the right eye, eye 1 the left. A monocular gaze row
 * from eye 1 has its values in the "1" columns in current Player versions
 * and in the "0" columns in older ones; base_data ("<time>-<eye>" tokens)
 * says which eye a row was made from, so such a row fills the left eye's
 * channels either way. Coordinates stay in Pupil's world-camera frame. Rows below
 * PUPIL_MIN_CONFIDENCE (Pupil Player's own default threshold) keep their
 * time but have every channel missing. */

#include <math.h>

#include "reader.h"
#include "reader-parse.h"
#include "util.h"

#define PUPIL_MIN_CONFIDENCE 0.6

enum {
        COL_TIME,
        COL_CONFIDENCE,
        COL_BASE_DATA,
        COL_POINT,              /* x, y, z follow */
        COL_CENTER0 = COL_POINT + 3,
        COL_NORMAL0 = COL_CENTER0 + 3,
        COL_CENTER1 = COL_NORMAL0 + 3,
        COL_NORMAL1 = COL_CENTER1 + 3,
        _COL_MAX = COL_NORMAL1 + 3,
};

static const char *const column_names[_COL_MAX] = {
        [COL_TIME] = "gaze_timestamp",
        [COL_CONFIDENCE] = "confidence",
        [COL_BASE_DATA] = "base_data",
        [COL_POINT] = "gaze_point_3d_x", "gaze_point_3d_y", "gaze_point_3d_z",
        [COL_CENTER0] = "eye_center0_3d_x", "eye_center0_3d_y", "eye_center0_3d_z",
        [COL_NORMAL0] = "gaze_normal0_x", "gaze_normal0_y", "gaze_normal0_z",
        [COL_CENTER1] = "eye_center1_3d_x", "eye_center1_3d_y", "eye_center1_3d_z",
        [COL_NORMAL1] = "gaze_normal1_x", "gaze_normal1_y", "gaze_normal1_z",
};

typedef struct pupil_state {
        unsigned n_fields;
        int col[_COL_MAX];              /* field index, or -1 */
        char **fields;
        uint64_t last_time_us;
} pupil_state;

static bool has_field(const char *line, const char *name) {
        size_t n = strlen(name);

        for (const char *p = line; (p = strstr(p, name)); p++)
                if ((p == line || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
                        return true;
        return false;
}

static bool pupil_sniff(const char *first_line) {
        return has_field(first_line, "gaze_timestamp") && has_field(first_line, "gaze_normal0_x");
}

static void pupil_done(da_reader *r) {
        pupil_state *s = r->state;

        if (!s)
                return;
        free(s->fields);
        free(s);
        r->state = NULL;
}

static int pupil_init(da_reader *r, const char *first_line, da_error *err) {
        _cleanup_free_ char *header = NULL;
        _cleanup_free_ char **names = NULL;
        _cleanup_free_ pupil_state *s = NULL;
        unsigned n;

        header = strdup(first_line);
        if (!header)
                return -ENOMEM;
        n = 1;
        for (const char *p = header; (p = strchr(p, ',')); p++)
                n++;
        names = calloc(n, sizeof(char *));
        s = calloc(1, sizeof(*s));
        if (!names || !s)
                return -ENOMEM;
        split_fields(header, ',', names, n);
        s->n_fields = n;

        for (unsigned c = 0; c < _COL_MAX; c++) {
                s->col[c] = -1;
                for (unsigned i = 0; i < n; i++) {
                        if (!streq(names[i], column_names[c]))
                                continue;
                        if (s->col[c] >= 0)
                                return da_error_set(err, -EBADMSG, "%s: line 1: column '%s' appears twice",
                                                    r->path, column_names[c]);
                        s->col[c] = (int) i;
                }
                /* base_data only tells monocular rows apart; the rest is the export */
                if (s->col[c] < 0 && c != COL_BASE_DATA)
                        return da_error_set(err, -EBADMSG, "%s: line 1: required column '%s' is missing",
                                            r->path, column_names[c]);
        }

        s->fields = calloc(n, sizeof(char *));
        if (!s->fields)
                return -ENOMEM;
        r->state = TAKE_PTR(s);
        return 0;
}

/* Empty or non-numeric values are missing data, not errors. */
static float value(pupil_state *s, unsigned c, double scale) {
        double v;

        if (parse_double(s->fields[s->col[c]], &v) < 0 || !isfinite(v))
                return NAN;
        return (float) (v * scale);
}

/* True when every "<time>-<eye>" token of base_data names eye 1. */
static bool only_eye1(const char *base_data) {
        bool any = false;

        for (const char *p = base_data; *p;) {
                size_t n = strcspn(p, " ");

                if (n > 0) {
                        if (n < 2 || p[n - 2] != '-' || p[n - 1] != '1')
                                return false;
                        any = true;
                }
                p += n;
                p += strspn(p, " ");
        }
        return any;
}

/* x, y, z channels are consecutive in DA_CHANNELS. */
static void set3(pupil_state *s, da_frame *f, unsigned col, da_channel first, double scale) {
        for (unsigned i = 0; i < 3; i++)
                f->ch[first + i] = value(s, col + i, scale);
}

/* An older exporter's eye-1 row, its values in the "0" columns. */
static void move_to_left(da_frame *f) {
        for (unsigned i = 0; i < 3; i++) {
                if (!isnan(f->ch[DA_CH_EYE_LEFT_ORIGIN_X + i]) || !isnan(f->ch[DA_CH_EYE_LEFT_DIRECTION_X + i]))
                        return;
        }
        for (unsigned i = 0; i < 3; i++) {
                f->ch[DA_CH_EYE_LEFT_ORIGIN_X + i] = f->ch[DA_CH_EYE_RIGHT_ORIGIN_X + i];
                f->ch[DA_CH_EYE_LEFT_DIRECTION_X + i] = f->ch[DA_CH_EYE_RIGHT_DIRECTION_X + i];
                f->ch[DA_CH_EYE_RIGHT_ORIGIN_X + i] = NAN;
                f->ch[DA_CH_EYE_RIGHT_DIRECTION_X + i] = NAN;
        }
}

static int pupil_next(da_reader *r, da_frame *ret_frame, da_error *err) {
        pupil_state *s = r->state;

        for (;;) {
                double confidence;
                uint64_t t;
                unsigned n;
                da_frame f;
                int k;

                k = reader_getline_nonempty(r);
                if (k <= 0)
                        return k < 0 ? reader_line_error(r, k, err) : 0;

                n = split_fields(r->line, ',', s->fields, s->n_fields);
                if (n != s->n_fields)
                        return da_error_set(err, -EBADMSG, "%s: line %lu: %u fields, the header has %u",
                                            r->path, r->line_no, n, s->n_fields);

                k = parse_time_us(s->fields[s->col[COL_TIME]], 6, &t);
                if (k < 0)
                        return da_error_set(err, -EBADMSG, "%s: line %lu: '%s' is not a valid gaze_timestamp",
                                            r->path, r->line_no, s->fields[s->col[COL_TIME]]);
                /* Player sorts by time; equal or stepping-back stamps are
                 * held at the last one, as the stream must be monotonic. */
                t = MAX(t, s->last_time_us);
                s->last_time_us = t;

                da_frame_init(&f, t);
                if (parse_double(s->fields[s->col[COL_CONFIDENCE]], &confidence) < 0 ||
                    !(confidence >= PUPIL_MIN_CONFIDENCE)) {
                        *ret_frame = f;
                        return 1;
                }

                set3(s, &f, COL_POINT, DA_CH_GAZE_POINT_X, 1e-3);
                set3(s, &f, COL_CENTER0, DA_CH_EYE_RIGHT_ORIGIN_X, 1e-3);
                set3(s, &f, COL_NORMAL0, DA_CH_EYE_RIGHT_DIRECTION_X, 1.0);
                set3(s, &f, COL_CENTER1, DA_CH_EYE_LEFT_ORIGIN_X, 1e-3);
                set3(s, &f, COL_NORMAL1, DA_CH_EYE_LEFT_DIRECTION_X, 1.0);
                if (s->col[COL_BASE_DATA] >= 0 && only_eye1(s->fields[s->col[COL_BASE_DATA]]))
                        move_to_left(&f);
                *ret_frame = f;
                return 1;
        }
}

const reader_ops reader_pupil_ops = {
        .format = DA_REC_PUPIL,
        .name = "pupil",
        .sniff = pupil_sniff,
        .init = pupil_init,
        .next = pupil_next,
        .done = pupil_done,
};
