/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One reader per recording format, behind one vtable; reader.c opens the
 * file (through zlib, so .gz is transparent), sniffs the format and
 * dispatches. */

#include <zlib.h>

#include "deepactif.h"

typedef struct reader_ops {
        da_recording_format format;
        const char *name;
        /* true when the first line (without its end-of-line) looks like this format */
        bool (*sniff)(const char *first_line);
        /* allocate the format's state; first_line already consumed by sniffing is passed in */
        int (*init)(da_reader *r, const char *first_line, da_error *err);
        /* 1 and a frame, 0 at the end, negative errno on error */
        int (*next)(da_reader *r, da_frame *ret_frame, da_error *err);
        void (*done)(da_reader *r);
} reader_ops;

struct da_reader {
        const reader_ops *ops;
        gzFile file;
        char *path;
        char *line;             /* current line buffer, grown as needed */
        size_t line_size;
        unsigned long line_no;
        void *state;            /* the format's own */
        bool drop_repeats;
        bool have_last;
        da_frame last;          /* the last frame handed out, when dropping repeats */
        uint64_t repeats;       /* frames dropped as repeats */
};

/* Reads the next line into r->line without its line end ("\r\n", "\r\r\n" or
 * "\n"); 1 on a line, 0 at the end, negative errno on a read error. */
int reader_getline(da_reader *r);
/* The same, passing over blank lines. */
int reader_getline_nonempty(da_reader *r);
/* Turns reader_getline()'s error into one naming the file and line. */
int reader_line_error(da_reader *r, int error, da_error *err);

extern const reader_ops reader_robustvision_ops;
extern const reader_ops reader_tobii_ops;
extern const reader_ops reader_eyelink_ops;
extern const reader_ops reader_csv_ops;
extern const reader_ops reader_pupil_ops;
