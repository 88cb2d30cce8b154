/* SPDX-License-Identifier: LGPL-2.1-or-later */

/* Generic CSV/TSV recordings, read through a column map (deepactif.h) rather
 * than a built-in layout, so a new data set needs a spec string, not code.
 *
 * Rows: fields may be double-quoted ("" inside quotes is a quote); a row
 * with more fields than the header is an error. A row in which every mapped
 * channel field is empty or absent is a marker (Robust Vision's "Data
 * collection started") and is skipped. A row that lacks some of the mapped
 * columns but has a value in another is cut short: an error naming its
 * line, unless it is the last non-empty line of the file, which a recorder
 * killed mid-write leaves like that and which is dropped. The same holds
 * for any other bad row: an unparsable number, a missing time, a time
 * earlier than the previous row's. Empty fields and "nan" give NaN. A map
 * with "rate=HZ" instead of a time column stamps the n-th frame n/HZ s. */

#include <fcntl.h>
#include <math.h>

#include "reader.h"
#include "reader-parse.h"
#include "util.h"

typedef struct column_entry {
        int channel;            /* da_channel, or -1 for the time */
        char *column;
        double scale;           /* to the channel's SI unit */
} column_entry;

struct da_column_map {
        unsigned time_exp10;    /* time unit as 10^x µs */
        double rate_hz;         /* instead of a time column, or 0 */
        unsigned n;             /* entries[0] is the time */
        column_entry entries[_DA_CH_MAX + 1];
};

typedef struct csv_state {
        char sep;
        unsigned n_header;
        unsigned time_exp10;
        double rate_hz;                 /* 0: the time is column [0] */
        unsigned n;                     /* mapped columns; [0] is the time */
        int channel[_DA_CH_MAX + 1];
        double scale[_DA_CH_MAX + 1];
        unsigned index[_DA_CH_MAX + 1]; /* field index of each mapped column */
        char **fields;                  /* n_header + 1 slots */
        uint64_t last_time_us;
        uint64_t n_frames;
        int failed;
        da_error failure;
} csv_state;

da_column_map *da_column_map_free(da_column_map *m) {
        if (!m)
                return NULL;
        for (unsigned i = 0; i < m->n; i++)
                free(m->entries[i].column);
        free(m);
        return NULL;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_column_map *, da_column_map_free);

static const struct {
        const char *channel_unit, *unit;
        double scale;
} unit_table[] = {
        { "m",   "m",   1.0 },
        { "m",   "cm",  1e-2 },
        { "m",   "mm",  1e-3 },
        { "rad", "rad", 1.0 },
        { "rad", "deg", M_PI / 180.0 },
        { "1",   "1",   1.0 },
};

/* One "key=column[:unit]" entry of length len at spec; escapes are resolved
 * into a fresh string. */
static int parse_entry(da_column_map *m, const char *spec, size_t len, da_error *err) {
        _cleanup_free_ char *buf = NULL;
        char *key = NULL, *column, *unit = NULL, *colon = NULL;
        size_t o = 0;
        column_entry *e;
        int channel = -1;

        buf = malloc(len + 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < len; i++) {
                char c = spec[i];

                if (c == '\\' && i + 1 < len) {
                        buf[o++] = spec[++i];
                        continue;
                }
                if (c == '=' && !key) {
                        buf[o++] = '\0';
                        key = buf;
                        continue;
                }
                if (c == ':' && key)
                        colon = buf + o;
                buf[o++] = c;
        }
        buf[o] = '\0';

        if (!key)
                return da_error_set(err, -EINVAL, "column map entry '%.*s' lacks '='", (int) len, spec);
        column = key + strlen(key) + 1;
        if (colon) {
                *colon = '\0';
                unit = strip_blanks(colon + 1);
        }
        key = strip_blanks(key);
        column = strip_blanks(column);
        if (*column == '\0')
                return da_error_set(err, -EINVAL, "column map entry '%s' names no column", key);

        if (streq(key, "rate")) {
                double hz;

                if (m->entries[0].column || m->rate_hz > 0)
                        return da_error_set(err, -EINVAL, "column map names 'time' or 'rate' twice");
                if (unit || parse_double(column, &hz) < 0 || !(hz > 0 && hz <= 1e6))
                        return da_error_set(err, -EINVAL, "'rate=%s' is not a sample rate in Hz (0 < HZ ≤ 1000000)",
                                            column);
                m->rate_hz = hz;
                return 0;
        }
        if (streq(key, "time")) {
                if (m->entries[0].column || m->rate_hz > 0)
                        return da_error_set(err, -EINVAL, "column map names 'time' or 'rate' twice");
                if (!unit || streq(unit, "s"))
                        m->time_exp10 = 6;
                else if (streq(unit, "ms"))
                        m->time_exp10 = 3;
                else if (streq(unit, "us") || streq(unit, "µs"))
                        m->time_exp10 = 0;
                else
                        return da_error_set(err, -EINVAL, "unit '%s' of 'time' is not s, ms or us", unit);
                e = &m->entries[0];
                e->scale = 1.0;
        } else {
                const char *si;

                channel = da_channel_from_name(key);
                if (channel < 0)
                        return da_error_set(err, -EINVAL, "column map names unknown channel '%s'", key);
                for (unsigned i = 1; i < m->n; i++)
                        if (m->entries[i].channel == channel)
                                return da_error_set(err, -EINVAL, "column map names channel '%s' twice", key);
                if (m->n >= ELEMENTSOF(m->entries))
                        return -E2BIG;

                e = &m->entries[m->n];
                si = da_channel_unit(channel);
                e->scale = unit ? NAN : 1.0;
                for (size_t i = 0; unit && i < ELEMENTSOF(unit_table); i++)
                        if (streq(unit_table[i].channel_unit, si) && streq(unit_table[i].unit, unit))
                                e->scale = unit_table[i].scale;
                if (isnan(e->scale))
                        return da_error_set(err, -EINVAL, "unit '%s' does not apply to channel '%s' (in %s)",
                                            unit, key, si);
        }

        e->channel = channel;
        e->column = strdup(column);
        if (!e->column)
                return -ENOMEM;
        if (channel >= 0)
                m->n++;
        return 0;
}

int da_column_map_parse(const char *spec, da_column_map **ret, da_error *err) {
        _cleanup_(da_column_map_freep) da_column_map *m = NULL;
        const char *p;

        if (!spec || !ret)
                return da_error_set(err, -EINVAL, "invalid argument");

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->n = 1;       /* entries[0] waits for the time */

        p = spec;
        for (;;) {
                const char *e = p;
                int k;

                /* find the entry's end: an unescaped ',' */
                while (*e && *e != ',') {
                        if (*e == '\\' && e[1])
                                e++;
                        e++;
                }
                if (e > p) {
                        k = parse_entry(m, p, (size_t) (e - p), err);
                        if (k < 0)
                                return k;
                }
                if (!*e)
                        break;
                p = e + 1;
        }

        if (!m->entries[0].column && m->rate_hz <= 0)
                return da_error_set(err, -EINVAL, "column map has neither 'time=COLUMN[:s|ms|us]' nor 'rate=HZ'");
        if (m->n < 2)
                return da_error_set(err, -EINVAL, "column map maps no channel");

        *ret = TAKE_PTR(m);
        return 0;
}

/* Splits a row at sep, honouring double quotes ("" is a quote inside
 * them) and unquoting in place; blanks around unquoted fields are dropped.
 * Stores at most max fields and returns the count, -EINVAL for a broken
 * quote. */
static int split_row(char *line, char sep, char **fields, unsigned max) {
        char *in = line;
        unsigned n = 0;

        for (;;) {
                char *p = in, *field;
                bool last;

                while (*p == ' ' || (*p == '\t' && sep != '\t'))
                        p++;
                if (*p == '"') {
                        char *out = field = p;

                        for (p++;; p++) {
                                if (*p == '\0')
                                        return -EINVAL;
                                if (*p == '"') {
                                        if (p[1] != '"')
                                                break;
                                        p++;
                                }
                                *out++ = *p;
                        }
                        for (p++; *p == ' ' || *p == '\r' || (*p == '\t' && sep != '\t'); p++)
                                ;
                        if (*p != sep && *p != '\0')
                                return -EINVAL;
                        last = *p == '\0';
                        *out = '\0';
                } else {
                        while (*p != sep && *p != '\0')
                                p++;
                        last = *p == '\0';
                        *p = '\0';
                        field = strip_blanks(in);
                }

                if (n < max)
                        fields[n] = field;
                n++;
                if (last)
                        return (int) n;
                in = p + 1;
        }
}

static char detect_separator(const char *header) {
        static const char candidates[] = { '\t', ';', ',' };
        unsigned best_count = 0;
        char best = ',';
        bool quoted = false;

        for (size_t c = 0; c < ELEMENTSOF(candidates); c++) {
                unsigned count = 0;

                quoted = false;
                for (const char *p = header; *p; p++) {
                        if (*p == '"')
                                quoted = !quoted;
                        else if (!quoted && *p == candidates[c])
                                count++;
                }
                if (count > best_count) {
                        best_count = count;
                        best = candidates[c];
                }
        }
        return best;
}

static int csv_init(da_reader *r, const char *first_line, da_error *err) {
        return da_error_set(err, -EINVAL, "%s: a generic CSV recording needs a column map; open it with da_reader_open_csv()",
                            r->path);
}

static bool csv_sniff(const char *first_line) {
        /* any header could be a CSV; only an explicit column map says how to read it */
        return false;
}

static void csv_done(da_reader *r) {
        csv_state *s = r->state;

        if (!s)
                return;
        free(s->fields);
        free(s);
        r->state = NULL;
}

static int csv_state_new(da_reader *r, const da_column_map *m, da_error *err) {
        _cleanup_free_ csv_state *s = NULL;
        _cleanup_free_ char *header = NULL;
        _cleanup_free_ char **names = NULL;
        const char *first = r->line;
        int n;

        if (strncmp(first, "\xEF\xBB\xBF", 3) == 0)
                first += 3;
        header = strdup(first);
        s = calloc(1, sizeof(*s));
        if (!header || !s)
                return -ENOMEM;

        s->sep = detect_separator(header);
        /* a header of L bytes has at most L + 1 fields */
        names = calloc(strlen(header) + 1, sizeof(char *));
        if (!names)
                return -ENOMEM;
        n = split_row(header, s->sep, names, (unsigned) strlen(first) + 1);
        if (n < 0)
                return da_error_set(err, -EINVAL, "%s:%lu: broken quoting in the header", r->path, r->line_no);
        s->n_header = (unsigned) n;

        s->time_exp10 = m->time_exp10;
        s->rate_hz = m->rate_hz;
        s->n = m->n;
        for (unsigned i = 0; i < m->n; i++) {
                int found = -1;

                if (i == 0 && s->rate_hz > 0)
                        continue;
                for (unsigned j = 0; j < s->n_header && found < 0; j++)
                        if (streq(names[j], m->entries[i].column))
                                found = (int) j;
                if (found < 0)
                        return da_error_set(err, -EINVAL, "%s:%lu: the header has no column '%s' (for '%s')",
                                            r->path, r->line_no, m->entries[i].column,
                                            i == 0 ? "time" : da_channel_name(m->entries[i].channel));
                s->index[i] = (unsigned) found;
                s->channel[i] = m->entries[i].channel;
                s->scale[i] = m->entries[i].scale;
        }

        s->fields = calloc(s->n_header + 1, sizeof(char *));
        if (!s->fields)
                return -ENOMEM;
        r->state = TAKE_PTR(s);
        return 0;
}

/* 1 and a frame, 0 for a marker row, negative for a bad row. */
static int parse_row(da_reader *r, csv_state *s, da_frame *f, da_error *err) {
        unsigned n_fields, n_values = 0, n_absent = 0;
        uint64_t t;
        int n;

        n = split_row(r->line, s->sep, s->fields, s->n_header + 1);
        if (n < 0)
                return da_error_set(err, -EINVAL, "%s:%lu: broken quoting", r->path, r->line_no);
        n_fields = (unsigned) n;
        if (n_fields > s->n_header)
                return da_error_set(err, -EINVAL, "%s:%lu: %u fields, the header has %u",
                                    r->path, r->line_no, n_fields, s->n_header);

        for (unsigned i = 1; i < s->n; i++) {
                if (s->index[i] >= n_fields)
                        n_absent++;
                else if (*s->fields[s->index[i]] != '\0')
                        n_values++;
        }
        if (n_values == 0)
                return 0;
        if (n_absent > 0)
                return da_error_set(err, -EINVAL, "%s:%lu: row is cut short: %u fields, the header has %u",
                                    r->path, r->line_no, n_fields, s->n_header);

        if (s->rate_hz > 0)
                t = (uint64_t) llround((double) s->n_frames * 1e6 / s->rate_hz);
        else if (s->index[0] >= n_fields || parse_time_us(s->fields[s->index[0]], s->time_exp10, &t) < 0)
                return da_error_set(err, -EINVAL, "%s:%lu: time '%s' is not a non-negative decimal",
                                    r->path, r->line_no, s->index[0] < n_fields ? s->fields[s->index[0]] : "");
        if (s->n_frames > 0 && t < s->last_time_us)
                return da_error_set(err, -EINVAL, "%s:%lu: time is earlier than the previous row's",
                                    r->path, r->line_no);

        da_frame_init(f, t);
        for (unsigned i = 1; i < s->n; i++) {
                const char *v = s->fields[s->index[i]];
                double x;

                if (*v == '\0')
                        continue;
                if (parse_double(v, &x) < 0)
                        return da_error_set(err, -EINVAL, "%s:%lu: value '%s' for '%s' is not a number",
                                            r->path, r->line_no, v, da_channel_name(s->channel[i]));
                f->ch[s->channel[i]] = (float) (x * s->scale[i]);
        }
        s->last_time_us = t;
        return 1;
}

static int csv_next(da_reader *r, da_frame *ret_frame, da_error *err) {
        csv_state *s = r->state;
        da_frame f;
        int k;

        for (;;) {
                da_error row_err = {};

                if (s->failed < 0) {
                        if (err)
                                *err = s->failure;
                        return s->failed;
                }

                k = reader_getline_nonempty(r);
                if (k < 0) {
                        s->failed = reader_line_error(r, k, &s->failure);
                        continue;
                }
                if (k == 0) {
                        if (s->n_frames > 0)
                                return 0;
                        s->failed = da_error_set(&s->failure, -ENODATA, "%s: no data rows", r->path);
                        continue;
                }

                k = parse_row(r, s, &f, &row_err);
                if (k < 0) {
                        /* a bad row is forgiven only when nothing follows it */
                        int more = reader_getline_nonempty(r);

                        if (more == 0 && s->n_frames > 0)
                                return 0;
                        s->failed = k;
                        s->failure = row_err;
                        continue;
                }
                if (k > 0) {
                        s->n_frames++;
                        *ret_frame = f;
                        return 1;
                }
        }
}

int da_reader_open_csv(const char *path, const da_column_map *map, da_reader **ret, da_error *err) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_close_ int fd = -1;
        int k;

        if (!path || !map || !ret)
                return da_error_set(err, -EINVAL, "invalid argument");

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->path = strdup(path);
        if (!r->path)
                return -ENOMEM;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return da_error_set(err, -errno, "%s: cannot open: %s", path, strerror(errno));
        r->file = gzdopen(fd, "rb");
        if (!r->file)
                return da_error_set(err, -ENOMEM, "%s: cannot set up decompression", path);
        TAKE_FD(fd);

        k = reader_getline(r);
        if (k < 0)
                return reader_line_error(r, k, err);
        if (k == 0)
                return da_error_set(err, -ENODATA, "%s: empty file", path);

        k = csv_state_new(r, map, err);
        if (k < 0)
                return k;
        r->ops = &reader_csv_ops;

        *ret = TAKE_PTR(r);
        return 0;
}

const reader_ops reader_csv_ops = {
        .format = DA_REC_CSV,
        .name = "csv",
        .sniff = csv_sniff,
        .init = csv_init,
        .next = csv_next,
        .done = csv_done,
};
