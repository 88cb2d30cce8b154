/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* SR Research EyeLink ASCII export (edf2asc / edfapi): header lines "** …",
 * then MSG, START/END recording blocks, event lines (SFIX, EFIX, ESACC,
 * EBLINK, …), INPUT, calibration text, and sample lines, which are the only
 * lines that start with a digit:
 *
 *     time  x y pupil  [x y pupil]  [velocity, resolution, input, remote target]  flags
 *
 * Which eyes a sample carries comes from the block's "SAMPLES GAZE LEFT RIGHT …"
 * line (or its "START … LEFT RIGHT SAMPLES EVENTS" line); the fields after
 * the per-eye triples vary with edf2asc's options and are ignored.
 *
 * Channels, per recorded eye: eye.*.screen.x/y and pupil.*.diameter.
 *  - Screen coordinates are divided by the size of the most recent
 *    "GAZE_COORDS l t r b" message (else "DISPLAY_COORDS l t r b"), which name
 *    the first and the last pixel, so x' = (x − l) / (r − l + 1) and 0..1
 *    spans the screen. A recording with neither message keeps raw pixels.
 *  - The pupil is passed through unscaled, in the tracker's arbitrary units
 *    (area or diameter, as the "PUPIL AREA|DIAMETER" line says); they are
 *    comparable within a session only. A pupil of 0 means no pupil was found
 *    and, like '.', gives NaN.
 *  - time is in ms, possibly with a ".5" (2 kHz); it becomes µs exactly. Old
 *    edfapi versions write 2 kHz times truncated to the ms, so every second
 *    sample repeats its predecessor's time; such a repeat is placed one sample
 *    period (from "RATE") after its predecessor.
 * The remote-mode target fields (head sticker position and distance) are
 * left out: they are in camera coordinates no channel describes. */

#include <inttypes.h>
#include <math.h>

#include "reader.h"
#include "reader-parse.h"
#include "util.h"

#define EYELINK_TOKENS_MAX 16

enum {
        EYE_LEFT = 1 << 0,
        EYE_RIGHT = 1 << 1,
};

typedef struct eyelink_state {
        char *pending;          /* the first line, consumed by sniffing */
        unsigned eyes;          /* EYE_* of the current block; 0 before any */
        double rate_hz;         /* of the current block; 0 when unknown */
        double coords[4];       /* left, top, right, bottom */
        bool have_gaze_coords, have_display_coords;
        uint64_t last_raw_us, last_time_us;
        uint64_t n_frames;
        int failed;
        da_error failure;
} eyelink_state;

static bool eyelink_sniff(const char *first_line) {
        /* every edf2asc export opens with "** CONVERTED FROM <file>.edf using edfapi …" */
        return first_line && strncmp(first_line, "** CONVERTED FROM ", 18) == 0;
}

static void eyelink_done(da_reader *r) {
        eyelink_state *s = r->state;

        if (!s)
                return;
        free(s->pending);
        free(s);
        r->state = NULL;
}

static int eyelink_init(da_reader *r, const char *first_line, da_error *err) {
        eyelink_state *s;

        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        if (first_line) {
                s->pending = strdup(first_line);
                if (!s->pending) {
                        free(s);
                        return -ENOMEM;
                }
        }
        r->state = s;
        return 0;
}

/* Splits at blanks (edf2asc mixes tabs and spaces); returns the token count,
 * storing at most max. */
static unsigned tokenize(char *line, char **tokens, unsigned max) {
        unsigned n = 0;
        char *save = NULL;

        for (char *t = strtok_r(line, " \t\r", &save); t; t = strtok_r(NULL, " \t\r", &save)) {
                if (n < max)
                        tokens[n] = t;
                n++;
        }
        return n;
}

static unsigned parse_eyes(char **tokens, unsigned n) {
        unsigned eyes = 0;

        for (unsigned i = 0; i < n; i++) {
                if (streq(tokens[i], "LEFT"))
                        eyes |= EYE_LEFT;
                else if (streq(tokens[i], "RIGHT"))
                        eyes |= EYE_RIGHT;
        }
        return eyes;
}

/* "MSG time [offset] GAZE_COORDS l t r b" */
static void parse_msg(eyelink_state *s, char **tokens, unsigned n) {
        double c[4];
        unsigned i = 2;
        bool gaze;

        if (n > 2 && !streq(tokens[2], "GAZE_COORDS") && !streq(tokens[2], "DISPLAY_COORDS"))
                i = 3;  /* skip the offset a message may carry */
        if (n < i + 5)
                return;
        if (streq(tokens[i], "GAZE_COORDS"))
                gaze = true;
        else if (streq(tokens[i], "DISPLAY_COORDS"))
                gaze = false;
        else
                return;
        for (unsigned k = 0; k < 4; k++)
                if (parse_double(tokens[i + 1 + k], &c[k]) < 0 || !isfinite(c[k]))
                        return;
        if (c[2] < c[0] || c[3] < c[1])
                return;
        /* GAZE_COORDS is the frame the samples are written in; it wins */
        if (!gaze && s->have_gaze_coords)
                return;
        memcpy(s->coords, c, sizeof(c));
        if (gaze)
                s->have_gaze_coords = true;
        else
                s->have_display_coords = true;
}

static void parse_samples_line(eyelink_state *s, char **tokens, unsigned n) {
        unsigned eyes = parse_eyes(tokens, n);

        if (eyes)
                s->eyes = eyes;
        s->rate_hz = 0;
        for (unsigned i = 1; i + 1 < n; i++)
                if (streq(tokens[i], "RATE")) {
                        double hz;

                        if (parse_double(tokens[i + 1], &hz) >= 0 && isfinite(hz) && hz > 0)
                                s->rate_hz = hz;
                }
}

static int parse_value(da_reader *r, const char *tok, unsigned column, double *ret, da_error *err) {
        if (streq(tok, ".")) {
                *ret = NAN;
                return 0;
        }
        if (parse_double(tok, ret) < 0)
                return da_error_set(err, -EINVAL, "%s:%lu: field %u '%s' of the sample is not a number or '.'",
                                    r->path, r->line_no, column, tok);
        return 0;
}

static int parse_sample(da_reader *r, eyelink_state *s, char **tokens, unsigned n, da_frame *f, da_error *err) {
        static const struct {
                unsigned eye;
                da_channel screen_x, screen_y, pupil;
        } eye_channels[] = {
                { EYE_LEFT,  DA_CH_EYE_LEFT_SCREEN_X,  DA_CH_EYE_LEFT_SCREEN_Y,  DA_CH_PUPIL_LEFT_DIAMETER },
                { EYE_RIGHT, DA_CH_EYE_RIGHT_SCREEN_X, DA_CH_EYE_RIGHT_SCREEN_Y, DA_CH_PUPIL_RIGHT_DIAMETER },
        };
        unsigned need, col = 1;
        uint64_t raw, t;

        if (s->eyes == 0)
                return da_error_set(err, -EINVAL, "%s:%lu: sample line before any START or SAMPLES line says which eyes are recorded",
                                    r->path, r->line_no);
        need = 1 + 3 * (unsigned) __builtin_popcount(s->eyes);
        if (n < need)
                return da_error_set(err, -EINVAL, "%s:%lu: sample line has %u fields, %s needs at least %u",
                                    r->path, r->line_no, n,
                                    s->eyes == (EYE_LEFT | EYE_RIGHT) ? "a binocular recording" : "a monocular recording",
                                    need);

        if (parse_time_us(tokens[0], 3, &raw) < 0)
                return da_error_set(err, -EINVAL, "%s:%lu: sample time '%s' is not a time in ms",
                                    r->path, r->line_no, tokens[0]);
        t = raw;
        if (s->n_frames > 0) {
                if (raw < s->last_raw_us)
                        return da_error_set(err, -EINVAL, "%s:%lu: sample time %s ms is earlier than the previous sample's",
                                            r->path, r->line_no, tokens[0]);
                if (raw == s->last_raw_us && s->rate_hz > 0)
                        t = s->last_time_us + (uint64_t) llround(1e6 / s->rate_hz);
                else if (raw < s->last_time_us)
                        /* after a repeat was moved forward, never step back */
                        t = s->last_time_us;
        }

        da_frame_init(f, t);
        for (size_t e = 0; e < ELEMENTSOF(eye_channels); e++) {
                double x, y, p;
                int k;

                if (!(s->eyes & eye_channels[e].eye))
                        continue;
                k = parse_value(r, tokens[col], col + 1, &x, err);
                if (k >= 0)
                        k = parse_value(r, tokens[col + 1], col + 2, &y, err);
                if (k >= 0)
                        k = parse_value(r, tokens[col + 2], col + 3, &p, err);
                if (k < 0)
                        return k;
                col += 3;

                if (s->have_gaze_coords || s->have_display_coords) {
                        x = (x - s->coords[0]) / (s->coords[2] - s->coords[0] + 1);
                        y = (y - s->coords[1]) / (s->coords[3] - s->coords[1] + 1);
                }
                f->ch[eye_channels[e].screen_x] = (float) x;
                f->ch[eye_channels[e].screen_y] = (float) y;
                f->ch[eye_channels[e].pupil] = p > 0 ? (float) p : NAN;
        }

        s->last_raw_us = raw;
        s->last_time_us = t;
        return 0;
}

static bool is_digit(char c) {
        return c >= '0' && c <= '9';
}

/* 1 and a frame for a sample line, 0 for any other line. */
static int handle_line(da_reader *r, eyelink_state *s, char *line, da_frame *f, da_error *err) {
        char *tokens[EYELINK_TOKENS_MAX];
        unsigned n;
        int k;

        /* calibration details continue on indented lines, which never are samples */
        if (!is_digit(line[0])) {
                if (strncmp(line, "MSG", 3) && strncmp(line, "START", 5) && strncmp(line, "SAMPLES", 7))
                        return 0;
                n = tokenize(line, tokens, ELEMENTSOF(tokens));
                if (n == 0)
                        return 0;
                if (streq(tokens[0], "MSG"))
                        parse_msg(s, tokens, MIN(n, ELEMENTSOF(tokens)));
                else if (streq(tokens[0], "START")) {
                        unsigned eyes = parse_eyes(tokens, MIN(n, ELEMENTSOF(tokens)));

                        /* the block's SAMPLES line follows and may refine this */
                        if (eyes)
                                s->eyes = eyes;
                } else if (streq(tokens[0], "SAMPLES"))
                        parse_samples_line(s, tokens, MIN(n, ELEMENTSOF(tokens)));
                return 0;
        }

        n = tokenize(line, tokens, ELEMENTSOF(tokens));
        k = parse_sample(r, s, tokens, MIN(n, ELEMENTSOF(tokens)), f, err);
        return k < 0 ? k : 1;
}

static int eyelink_next(da_reader *r, da_frame *ret_frame, da_error *err) {
        eyelink_state *s = r->state;
        da_frame f;
        int k;

        if (s->failed < 0) {
                if (err)
                        *err = s->failure;
                return s->failed;
        }

        for (;;) {
                _cleanup_free_ char *first = TAKE_PTR(s->pending);
                char *line;

                if (first)
                        line = first;
                else {
                        k = reader_getline(r);
                        if (k < 0) {
                                s->failed = reader_line_error(r, k, &s->failure);
                                break;
                        }
                        if (k == 0) {
                                if (s->n_frames > 0)
                                        return 0;
                                s->failed = da_error_set(&s->failure, -ENODATA, "%s: no sample lines", r->path);
                                break;
                        }
                        line = r->line;
                }

                k = handle_line(r, s, line, &f, &s->failure);
                if (k < 0) {
                        s->failed = k;
                        break;
                }
                if (k > 0) {
                        s->n_frames++;
                        *ret_frame = f;
                        return 1;
                }
        }

        if (err)
                *err = s->failure;
        return s->failed;
}

const reader_ops reader_eyelink_ops = {
        .format = DA_REC_EYELINK,
        .name = "eyelink",
        .sniff = eyelink_sniff,
        .init = eyelink_init,
        .next = eyelink_next,
        .done = eyelink_done,
};
