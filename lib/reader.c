/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <fcntl.h>
#include <math.h>

#include "reader.h"
#include "reader-parse.h"
#include "util.h"

/* A gaze sample line is a few hundred bytes; anything near this is not a
 * recording, and growing without bound would let junk exhaust memory. */
#define READER_LINE_MAX (4u * 1024u * 1024u)

/* Sniffed in this order; the generic CSV reader, which accepts almost any
 * header, must come last once it is linked. */
static const reader_ops *const reader_table[] = {
        &reader_robustvision_ops,
        &reader_tobii_ops,
        &reader_eyelink_ops,
        &reader_pupil_ops,
        &reader_csv_ops,
};

static const char *const format_names[_DA_REC_MAX] = {
        [DA_REC_AUTO] = "auto",
        [DA_REC_ROBUSTVISION] = "robustvision",
        [DA_REC_TOBII] = "tobii",
        [DA_REC_EYELINK] = "eyelink",
        [DA_REC_CSV] = "csv",
        [DA_REC_PUPIL] = "pupil",
};

const char *da_recording_format_to_string(da_recording_format f) {
        return (unsigned) f < _DA_REC_MAX ? format_names[f] : NULL;
}

int da_recording_format_from_string(const char *s) {
        for (unsigned i = 0; i < _DA_REC_MAX; i++)
                if (s && streq(format_names[i], s))
                        return (int) i;
        return -EINVAL;
}

static int line_append(da_reader *r, size_t *len, char c) {
        if (*len + 1 >= r->line_size) {
                size_t n = r->line_size ? r->line_size * 2 : 512;
                char *p;

                if (n > READER_LINE_MAX + 1)
                        return -E2BIG;
                p = realloc(r->line, n);
                if (!p)
                        return -ENOMEM;
                r->line = p;
                r->line_size = n;
        }
        r->line[(*len)++] = c;
        return 0;
}

int reader_getline(da_reader *r) {
        size_t len = 0;
        bool any = false;
        int c, k;

        for (;;) {
                c = gzgetc(r->file);
                if (c < 0)
                        break;
                any = true;
                if (c == '\n')
                        break;
                /* A NUL cannot occur in a text recording and would silently
                 * cut the line short for every string function after us. */
                if (c == '\0')
                        return -EBADMSG;
                k = line_append(r, &len, (char) c);
                if (k < 0)
                        return k;
        }

        if (c < 0) {
                int e;

                gzerror(r->file, &e);
                /* Z_BUF_ERROR here is a truncated gzip stream. */
                if (e != Z_OK)
                        return e == Z_ERRNO && errno > 0 ? -errno : -EIO;
                if (!any)
                        return 0;
        }

        /* "\r\n" and the "\r\r\n" some Windows exporters write. */
        for (unsigned i = 0; i < 2 && len > 0 && r->line[len - 1] == '\r'; i++)
                len--;

        k = line_append(r, &len, '\0');
        if (k < 0)
                return k;
        r->line_no++;
        return 1;
}

int reader_getline_nonempty(da_reader *r) {
        for (;;) {
                int k = reader_getline(r);

                if (k <= 0)
                        return k;
                if (*strip_blanks(r->line) != '\0')
                        return 1;
        }
}

static const char *strip_bom(const char *s) {
        return strncmp(s, "\xEF\xBB\xBF", 3) == 0 ? s + 3 : s;
}

static const reader_ops *ops_for_format(da_recording_format format) {
        for (size_t i = 0; i < ELEMENTSOF(reader_table); i++)
                if (reader_table[i]->format == format)
                        return reader_table[i];
        return NULL;
}

int reader_line_error(da_reader *r, int k, da_error *err) {
        if (k == -EBADMSG)
                return da_error_set(err, k, "%s: line %lu contains a NUL byte; not a text recording",
                                    r->path, r->line_no + 1);
        if (k == -E2BIG)
                return da_error_set(err, k, "%s: line %lu is longer than %u bytes; not a recording",
                                    r->path, r->line_no + 1, READER_LINE_MAX);
        if (k == -EIO)
                return da_error_set(err, k, "%s: compressed data corrupt or truncated after line %lu",
                                    r->path, r->line_no);
        return da_error_set(err, k, "%s: read error after line %lu: %s", r->path, r->line_no, strerror(-k));
}

int da_reader_open(const char *path, da_recording_format format, da_reader **ret, da_error *err) {
        _cleanup_(da_reader_freep) da_reader *r = NULL;
        _cleanup_close_ int fd = -1;
        const reader_ops *ops = NULL;
        const char *first;
        int k;

        if (!path || !ret || (unsigned) format >= _DA_REC_MAX)
                return da_error_set(err, -EINVAL, "invalid argument");

        if (format != DA_REC_AUTO) {
                ops = ops_for_format(format);
                if (!ops)
                        return da_error_set(err, -EOPNOTSUPP, "recording format '%s' is not supported by this build",
                                            da_recording_format_to_string(format));
        }

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->path = strdup(path);
        if (!r->path)
                return -ENOMEM;

        /* gzopen() cannot take O_CLOEXEC, so open the descriptor ourselves. */
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
        first = strip_bom(r->line);

        if (!ops) {
                for (size_t i = 0; i < ELEMENTSOF(reader_table) && !ops; i++)
                        if (reader_table[i]->sniff(first))
                                ops = reader_table[i];
                if (!ops)
                        return da_error_set(err, -EMEDIUMTYPE,
                                            "%s: unrecognised recording format (first line matches no known header)",
                                            path);
        }

        r->ops = ops;
        k = ops->init(r, first, err);
        if (k < 0) {
                /* init() failed, so there is no state for done() to release. */
                r->ops = NULL;
                return k;
        }

        *ret = TAKE_PTR(r);
        return 0;
}

/* A repeat: every channel but the target bit-identical to the last frame's
 * (a logger polling faster than the tracker writes the sample again, while
 * the experiment's target moves on). */
static bool frame_repeats(const da_frame *a, const da_frame *b) {
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                if (c != DA_CH_TARGET_DEPTH && memcmp(&a->ch[c], &b->ch[c], sizeof(float)) != 0)
                        return false;
        return true;
}

int da_reader_next(da_reader *r, da_frame *ret_frame, da_error *err) {
        da_frame fr;
        int k;

        if (!r || !ret_frame || !r->ops)
                return da_error_set(err, -EINVAL, "invalid argument");
        for (;;) {
                k = r->ops->next(r, &fr, err);
                if (k <= 0)
                        return k;
                /* a value beyond float's range is missing data, like an empty one */
                for (unsigned c = 0; c < _DA_CH_MAX; c++)
                        if (isinf(fr.ch[c]))
                                fr.ch[c] = NAN;
                if (!r->drop_repeats)
                        break;
                if (r->have_last && frame_repeats(&fr, &r->last)) {
                        r->repeats++;
                        continue;
                }
                r->last = fr;
                r->have_last = true;
                break;
        }
        *ret_frame = fr;
        return 1;
}

void da_reader_set_drop_repeats(da_reader *r, bool drop) {
        r->drop_repeats = drop;
}

uint64_t da_reader_repeats(const da_reader *r) {
        return r->repeats;
}

da_recording_format da_reader_format(const da_reader *r) {
        return r && r->ops ? r->ops->format : DA_REC_AUTO;
}

da_reader *da_reader_free(da_reader *r) {
        if (!r)
                return NULL;
        if (r->ops && r->ops->done)
                r->ops->done(r);
        if (r->file)
                gzclose(r->file);
        free(r->line);
        free(r->path);
        free(r);
        return NULL;
}
