/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Tobii Pro SDK (tobii_research) GazeData written as CSV, one row per
 * callback: ';'-separated, tuples as "(x, y[, z])", columns found by their
 * header name, so column order does not matter.
 *
 * Channels: device_time_stamp (µs) is the time. Per eye, when the matching
 * *_validity column says 1 (a missing validity column counts as valid):
 *   gaze_point_on_display_area             → eye.*.screen.x/y (0..1 as written)
 *   gaze_origin_in_user_coordinate_system  → eye.*.origin.x/y/z (mm → m)
 *   normalise(gaze point − gaze origin)    → eye.*.direction.x/y/z (both valid)
 *   pupil_diameter                         → pupil.*.diameter (mm → m)
 * gaze.point.x/y/z is the mean of the valid eyes' gaze_point_in_user_coordinate_system
 * (mm → m). An invalid eye, or a value written as "nan", leaves its channels
 * NaN. The trackbox columns and system_time_stamp are not used.
 *
 * Bad rows: a row with the wrong number of fields, an unparsable value, an
 * unknown validity code or a time earlier than the previous row's is an error
 * naming its line — except when it is the last non-empty line of the file.
 * Such a final row is what a recorder killed mid-write leaves behind (the
 * EMDAT sample 4Ctest.csv ends like that), so it is dropped and the stream
 * ends normally. Empty lines are skipped. */

#include <inttypes.h>
#include <math.h>

#include "reader.h"
#include "reader-parse.h"
#include "util.h"

enum {
        COL_TIME,
        COL_L_DISPLAY,
        COL_R_DISPLAY,
        COL_L_POINT,
        COL_R_POINT,
        COL_L_ORIGIN,
        COL_R_ORIGIN,
        COL_L_PUPIL,
        COL_R_PUPIL,
        COL_L_POINT_VALID,
        COL_R_POINT_VALID,
        COL_L_ORIGIN_VALID,
        COL_R_ORIGIN_VALID,
        COL_L_PUPIL_VALID,
        COL_R_PUPIL_VALID,
        _COL_MAX,
};

static const char *const column_names[_COL_MAX] = {
        [COL_TIME]           = "device_time_stamp",
        [COL_L_DISPLAY]      = "left_gaze_point_on_display_area",
        [COL_R_DISPLAY]      = "right_gaze_point_on_display_area",
        [COL_L_POINT]        = "left_gaze_point_in_user_coordinate_system",
        [COL_R_POINT]        = "right_gaze_point_in_user_coordinate_system",
        [COL_L_ORIGIN]       = "left_gaze_origin_in_user_coordinate_system",
        [COL_R_ORIGIN]       = "right_gaze_origin_in_user_coordinate_system",
        [COL_L_PUPIL]        = "left_pupil_diameter",
        [COL_R_PUPIL]        = "right_pupil_diameter",
        [COL_L_POINT_VALID]  = "left_gaze_point_validity",
        [COL_R_POINT_VALID]  = "right_gaze_point_validity",
        [COL_L_ORIGIN_VALID] = "left_gaze_origin_validity",
        [COL_R_ORIGIN_VALID] = "right_gaze_origin_validity",
        [COL_L_PUPIL_VALID]  = "left_pupil_validity",
        [COL_R_PUPIL_VALID]  = "right_pupil_validity",
};

typedef struct tobii_state {
        int col[_COL_MAX];      /* field index, or -1 when the header lacks it */
        unsigned n_fields;
        char **fields;          /* n_fields + 1 slots, to notice an extra field */
        uint64_t last_time_us;
        uint64_t n_frames;
        int failed;             /* sticky error of an earlier call */
        da_error failure;
} tobii_state;

/* Per-eye column indices, so the two eyes share one code path. */
static const struct {
        int display, point, origin, pupil, point_valid, origin_valid, pupil_valid;
        da_channel screen, origin_ch, direction_ch, pupil_ch;
} eyes[2] = {
        { COL_L_DISPLAY, COL_L_POINT, COL_L_ORIGIN, COL_L_PUPIL,
          COL_L_POINT_VALID, COL_L_ORIGIN_VALID, COL_L_PUPIL_VALID,
          DA_CH_EYE_LEFT_SCREEN_X, DA_CH_EYE_LEFT_ORIGIN_X, DA_CH_EYE_LEFT_DIRECTION_X, DA_CH_PUPIL_LEFT_DIAMETER },
        { COL_R_DISPLAY, COL_R_POINT, COL_R_ORIGIN, COL_R_PUPIL,
          COL_R_POINT_VALID, COL_R_ORIGIN_VALID, COL_R_PUPIL_VALID,
          DA_CH_EYE_RIGHT_SCREEN_X, DA_CH_EYE_RIGHT_ORIGIN_X, DA_CH_EYE_RIGHT_DIRECTION_X, DA_CH_PUPIL_RIGHT_DIAMETER },
};

static bool tobii_sniff(const char *first_line) {
        return first_line &&
                strstr(first_line, "device_time_stamp") &&
                strstr(first_line, "gaze_point_on_display_area") &&
                strchr(first_line, ';');
}

static void tobii_done(da_reader *r) {
        tobii_state *s = r->state;

        if (!s)
                return;
        free(s->fields);
        free(s);
        r->state = NULL;
}

static int tobii_init(da_reader *r, const char *first_line, da_error *err) {
        _cleanup_free_ tobii_state *s = NULL;
        _cleanup_free_ char *header = NULL;
        _cleanup_free_ char **names = NULL;
        unsigned n;

        if (!first_line)
                return da_error_set(err, -ENODATA, "%s: empty file, expected a tobii_research CSV header", r->path);

        header = strdup(first_line);
        s = calloc(1, sizeof(*s));
        if (!header || !s)
                return -ENOMEM;

        /* a header of L bytes has at most L + 1 fields */
        names = calloc(strlen(header) + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        n = split_fields(header, ';', names, (unsigned) strlen(first_line) + 1);
        s->fields = calloc(n + 1, sizeof(char *));
        if (!s->fields)
                return -ENOMEM;
        s->n_fields = n;

        for (unsigned c = 0; c < _COL_MAX; c++) {
                s->col[c] = -1;
                for (unsigned i = 0; i < n; i++)
                        if (streq(names[i], column_names[c])) {
                                s->col[c] = (int) i;
                                break;
                        }
        }

        if (s->col[COL_TIME] < 0) {
                free(s->fields);
                return da_error_set(err, -EINVAL, "%s:%lu: no 'device_time_stamp' column in the header",
                                    r->path, r->line_no);
        }

        r->state = TAKE_PTR(s);
        return 0;
}

/* "(x, y)" or "(x, y, z)" with exactly n components. */
static int parse_tuple(char *field, double *v, unsigned n) {
        char *parts[4];
        size_t len = strlen(field);

        if (len < 2 || field[0] != '(' || field[len - 1] != ')')
                return -EINVAL;
        field[len - 1] = '\0';
        if (split_fields(field + 1, ',', parts, ELEMENTSOF(parts)) != n)
                return -EINVAL;
        for (unsigned i = 0; i < n; i++)
                if (parse_double(parts[i], &v[i]) < 0)
                        return -EINVAL;
        return 0;
}

/* A tuple column: *ret_ok tells whether the eye is valid and all components finite. */
static int tuple_column(da_reader *r, tobii_state *s, int col, double *v, unsigned dims, bool valid,
                        bool *ret_ok, da_error *err) {
        bool ok = valid;

        if (s->col[col] < 0)
                return 0;
        if (parse_tuple(s->fields[s->col[col]], v, dims) < 0)
                return da_error_set(err, -EINVAL, "%s:%lu: %s is not a %u-tuple",
                                    r->path, r->line_no, column_names[col], dims);
        for (unsigned k = 0; k < dims; k++)
                ok = ok && isfinite(v[k]);
        *ret_ok = ok;
        return 0;
}

static int parse_row(da_reader *r, tobii_state *s, da_frame *f, da_error *err) {
        double point[2][3], origin[2][3], display[2][2], pupil[2];
        bool point_ok[2] = {}, origin_ok[2] = {}, pupil_ok[2] = {}, display_ok[2] = {};
        unsigned n, n_points = 0;
        uint64_t t;
        int q;

        n = split_fields(r->line, ';', s->fields, s->n_fields + 1);
        if (n != s->n_fields)
                return da_error_set(err, -EINVAL, "%s:%lu: %u fields, the header has %u",
                                    r->path, r->line_no, n, s->n_fields);

        if (parse_time_us(s->fields[s->col[COL_TIME]], 0, &t) < 0)
                return da_error_set(err, -EINVAL, "%s:%lu: device_time_stamp '%s' is not a time in µs",
                                    r->path, r->line_no, s->fields[s->col[COL_TIME]]);
        if (s->n_frames > 0 && t < s->last_time_us)
                return da_error_set(err, -EINVAL, "%s:%lu: device_time_stamp %" PRIu64 " is earlier than the previous row's %" PRIu64,
                                    r->path, r->line_no, t, s->last_time_us);

        for (unsigned e = 0; e < 2; e++) {
                const int valid_cols[3] = { eyes[e].point_valid, eyes[e].origin_valid, eyes[e].pupil_valid };
                bool valid[3];

                for (unsigned k = 0; k < 3; k++) {
                        /* a missing validity column counts as valid */
                        const char *v = s->col[valid_cols[k]] >= 0 ? s->fields[s->col[valid_cols[k]]] : "1";

                        if (!streq(v, "0") && !streq(v, "1"))
                                return da_error_set(err, -EINVAL, "%s:%lu: %s is '%s', expected 0 or 1",
                                                    r->path, r->line_no, column_names[valid_cols[k]], v);
                        valid[k] = streq(v, "1");
                }

                q = tuple_column(r, s, eyes[e].display, display[e], 2, valid[0], &display_ok[e], err);
                if (q >= 0)
                        q = tuple_column(r, s, eyes[e].point, point[e], 3, valid[0], &point_ok[e], err);
                if (q >= 0)
                        q = tuple_column(r, s, eyes[e].origin, origin[e], 3, valid[1], &origin_ok[e], err);
                if (q < 0)
                        return q;

                if (s->col[eyes[e].pupil] >= 0) {
                        const char *v = s->fields[s->col[eyes[e].pupil]];

                        if (parse_double(v, &pupil[e]) < 0)
                                return da_error_set(err, -EINVAL, "%s:%lu: %s '%s' is not a number",
                                                    r->path, r->line_no, column_names[eyes[e].pupil], v);
                        pupil_ok[e] = valid[2] && isfinite(pupil[e]);
                }
        }

        da_frame_init(f, t);
        for (unsigned e = 0; e < 2; e++) {
                if (display_ok[e]) {
                        f->ch[eyes[e].screen] = (float) display[e][0];
                        f->ch[eyes[e].screen + 1] = (float) display[e][1];
                }
                if (origin_ok[e])
                        for (unsigned k = 0; k < 3; k++)
                                f->ch[eyes[e].origin_ch + k] = (float) (origin[e][k] * 1e-3);
                if (point_ok[e] && origin_ok[e]) {
                        double d[3], norm;

                        for (unsigned k = 0; k < 3; k++)
                                d[k] = point[e][k] - origin[e][k];
                        norm = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
                        if (norm > 0)
                                for (unsigned k = 0; k < 3; k++)
                                        f->ch[eyes[e].direction_ch + k] = (float) (d[k] / norm);
                }
                if (pupil_ok[e])
                        f->ch[eyes[e].pupil_ch] = (float) (pupil[e] * 1e-3);
                n_points += point_ok[e];
        }
        if (n_points > 0)
                for (unsigned k = 0; k < 3; k++) {
                        double sum = 0;

                        for (unsigned e = 0; e < 2; e++)
                                if (point_ok[e])
                                        sum += point[e][k];
                        f->ch[DA_CH_GAZE_POINT_X + k] = (float) (sum / n_points * 1e-3);
                }

        s->last_time_us = t;
        return 0;
}

static int tobii_next(da_reader *r, da_frame *ret_frame, da_error *err) {
        tobii_state *s = r->state;
        da_error row_err = {};
        da_frame f;
        int k;

        if (s->failed < 0) {
                if (err)
                        *err = s->failure;
                return s->failed;
        }

        k = reader_getline_nonempty(r);
        if (k < 0)
                return reader_line_error(r, k, err);
        if (k == 0) {
                if (s->n_frames == 0)
                        return da_error_set(err, -ENODATA, "%s: no samples after the header", r->path);
                return 0;
        }

        k = parse_row(r, s, &f, &row_err);
        if (k < 0) {
                /* a bad row is forgiven only when nothing follows it */
                int more = reader_getline_nonempty(r);

                if (more == 0 && s->n_frames > 0)
                        return 0;
                s->failed = k;
                s->failure = row_err;
                if (err)
                        *err = row_err;
                return k;
        }

        s->n_frames++;
        *ret_frame = f;
        return 1;
}

const reader_ops reader_tobii_ops = {
        .format = DA_REC_TOBII,
        .name = "tobii",
        .sniff = tobii_sniff,
        .init = tobii_init,
        .next = tobii_next,
        .done = tobii_done,
};
