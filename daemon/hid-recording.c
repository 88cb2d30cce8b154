/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hid-recording.h"

struct HidRecording {
        FILE *f;
        char *line;
        size_t line_allocated;
        unsigned lineno;
        bool pending;           /* line holds the first event, read with the header */
        unsigned device;        /* index from the last D: line */

        uint8_t descriptor[HID_RECORDING_MAX_DESCRIPTOR];
        size_t descriptor_size;
        bool have_descriptor;
        char *name, *phys;
        bool have_ids;
        uint32_t bus, vendor, product;
};

HidRecording *hid_recording_free(HidRecording *r) {
        if (!r)
                return NULL;
        if (r->f)
                fclose(r->f);
        free(r->line);
        free(r->name);
        free(r->phys);
        free(r);
        return NULL;
}

static int bad_line(HidRecording *r, da_error *err, const char *what) {
        return da_error_set(err, -EBADMSG, "HID recording line %u: %s", r->lineno, what);
}

/* 1 and a line without its line end, 0 at the end of the file. */
static int read_line(HidRecording *r, da_error *err) {
        ssize_t n;

        n = getline(&r->line, &r->line_allocated, r->f);
        if (n < 0) {
                if (ferror(r->f))
                        return da_error_set(err, -EIO, "HID recording: read failed after line %u", r->lineno);
                return 0;
        }
        r->lineno++;
        if (strlen(r->line) != (size_t) n)
                return bad_line(r, err, "NUL byte in line");
        while (n > 0 && (r->line[n - 1] == '\n' || r->line[n - 1] == '\r'))
                r->line[--n] = 0;
        return 1;
}

static const char *skip_blanks(const char *p) {
        while (*p == ' ' || *p == '\t')
                p++;
        return p;
}

static int hexval(char c) {
        if (c >= '0' && c <= '9')
                return c - '0';
        if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
        if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
        return -1;
}

/* Decimal digits into *ret, at most `max`; returns the end or NULL. */
static const char *parse_decimal(const char *p, uint64_t max, uint64_t *ret) {
        uint64_t v = 0;
        const char *s = p;

        for (; *p >= '0' && *p <= '9'; p++) {
                v = v * 10 + (uint64_t) (*p - '0');
                if (v > max)
                        return NULL;
        }
        if (p == s)
                return NULL;
        *ret = v;
        return p;
}

static const char *parse_hex(const char *p, uint32_t *ret) {
        uint32_t v = 0;
        const char *s = p;
        int h;

        for (; (h = hexval(*p)) >= 0; p++) {
                if (p - s >= 8)
                        return NULL;
                v = (v << 4) | (uint32_t) h;
        }
        if (p == s)
                return NULL;
        *ret = v;
        return p;
}

/* Hex byte tokens ("05 12 a1") appended to out[*n..want); −EBADMSG on a
 * token that is not one or two hex digits or on more bytes than want. */
static int parse_bytes(const char *p, uint8_t *out, size_t want, size_t *n) {
        for (p = skip_blanks(p); *p; p = skip_blanks(p)) {
                int hi = hexval(p[0]), lo;

                if (hi < 0)
                        return -EBADMSG;
                lo = hexval(p[1]);
                if (lo >= 0)
                        p += 2;
                else {
                        lo = hi;
                        hi = 0;
                        p += 1;
                }
                if (*p && *p != ' ' && *p != '\t')
                        return -EBADMSG;
                if (*n >= want)
                        return -EBADMSG;
                out[(*n)++] = (uint8_t) (hi << 4 | lo);
        }
        return 0;
}

/* "X: rest" → 'X' and rest; 0 for a line that is not tagged. */
static char line_tag(const char *line, const char **ret_rest) {
        if (line[0] < 'A' || line[0] > 'Z' || line[1] != ':' || (line[2] && line[2] != ' ' && line[2] != '\t'))
                return 0;
        *ret_rest = skip_blanks(line + 2);
        return line[0];
}

static int parse_descriptor(HidRecording *r, const char *rest, da_error *err) {
        uint64_t size;
        size_t n = 0;
        const char *p;
        int k;

        if (r->have_descriptor)
                return bad_line(r, err, "second R: line for the same device");
        p = parse_decimal(rest, HID_RECORDING_MAX_DESCRIPTOR, &size);
        if (!p || (*p && *p != ' ' && *p != '\t'))
                return bad_line(r, err, "R: needs the descriptor size in bytes (1..4096) first");
        if (size == 0)
                return bad_line(r, err, "R: descriptor size 0");
        if (parse_bytes(p, r->descriptor, size, &n) < 0)
                return bad_line(r, err, "R: bytes are not hex or exceed the stated size");
        /* Older hid-recorder versions wrap the bytes over continuation lines. */
        while (n < size) {
                k = read_line(r, err);
                if (k < 0)
                        return k;
                if (k == 0)
                        return bad_line(r, err, "R: descriptor shorter than its stated size");
                if (parse_bytes(r->line, r->descriptor, size, &n) < 0)
                        return bad_line(r, err, "R: descriptor shorter than its stated size, or a bad byte");
        }
        r->descriptor_size = n;
        r->have_descriptor = true;
        return 0;
}

static int parse_ids(HidRecording *r, const char *rest, da_error *err) {
        uint32_t v[3];
        const char *p = rest;

        for (unsigned i = 0; i < 3; i++) {
                p = parse_hex(skip_blanks(p), &v[i]);
                if (!p)
                        return bad_line(r, err, "I: needs bus, vendor and product in hex");
        }
        if (*skip_blanks(p))
                return bad_line(r, err, "I: trailing text after the product");
        r->bus = v[0];
        r->vendor = v[1];
        r->product = v[2];
        r->have_ids = true;
        return 0;
}

static int set_string(char **s, const char *v) {
        char *c = strdup(v);

        if (!c)
                return -ENOMEM;
        free(*s);
        *s = c;
        return 0;
}

static int parse_event(HidRecording *r, const char *rest, HidRecordingEvent *ret, da_error *err) {
        uint64_t sec, frac = 0, size;
        size_t n = 0;
        const char *p, *f;

        p = parse_decimal(rest, UINT64_MAX / 1000000 - 1, &sec);
        if (!p || *p != '.')
                return bad_line(r, err, "E: needs a time as seconds.microseconds");
        f = ++p;
        for (; *p >= '0' && *p <= '9'; p++)
                if (p - f < 6)
                        frac = frac * 10 + (uint64_t) (*p - '0');
        if (p == f || p - f > 9)
                return bad_line(r, err, "E: needs a time as seconds.microseconds");
        for (ptrdiff_t d = p - f; d < 6; d++)
                frac *= 10;

        p = skip_blanks(p);
        p = parse_decimal(p, HID_RECORDING_MAX_REPORT, &size);
        if (!p || (*p && *p != ' ' && *p != '\t'))
                return bad_line(r, err, "E: needs the report size in bytes (0..4096) after the time");
        if (parse_bytes(p, ret->data, size, &n) < 0 || n != size)
                return bad_line(r, err, "E: byte count differs from the stated size, or a bad byte");

        ret->time_us = sec * 1000000 + frac;
        ret->size = n;
        return 0;
}

static int read_header(HidRecording *r, da_error *err) {
        const char *rest;
        uint64_t dev;
        int k;

        for (;;) {
                k = read_line(r, err);
                if (k < 0)
                        return k;
                if (k == 0)
                        break;

                switch (line_tag(r->line, &rest)) {
                case 0:
                        if (r->line[0] == '#' || *skip_blanks(r->line) == 0)
                                continue;
                        return bad_line(r, err, "not a hid-recorder line");
                case 'D':
                        if (!parse_decimal(rest, UINT32_MAX, &dev))
                                return bad_line(r, err, "D: needs a device index");
                        r->device = (unsigned) dev;
                        continue;
                case 'E':
                        if (r->device != 0)
                                continue;
                        r->pending = true;
                        break;
                case 'R':
                        k = r->device == 0 ? parse_descriptor(r, rest, err) : 0;
                        break;
                case 'N':
                        k = r->device == 0 ? set_string(&r->name, rest) : 0;
                        break;
                case 'P':
                        k = r->device == 0 ? set_string(&r->phys, rest) : 0;
                        break;
                case 'I':
                        k = r->device == 0 ? parse_ids(r, rest, err) : 0;
                        break;
                default:
                        continue;       /* tags newer recorders may add */
                }
                if (k < 0)
                        return k;
                if (r->pending)
                        break;
        }
        if (!r->have_descriptor)
                return da_error_set(err, -EBADMSG, "HID recording has no R: (report descriptor) line");
        return 0;
}

static int recording_open_file(FILE *f, HidRecording **ret, da_error *err) {
        _cleanup_(hid_recording_freep) HidRecording *r = NULL;
        int k;

        r = calloc(1, sizeof(HidRecording));
        if (!r) {
                fclose(f);
                return -ENOMEM;
        }
        r->f = f;
        k = read_header(r, err);
        if (k < 0)
                return k;
        *ret = TAKE_PTR(r);
        return 0;
}

int hid_recording_open(const char *path, HidRecording **ret, da_error *err) {
        FILE *f = fopen(path, "re");

        if (!f)
                return da_error_set(err, -errno, "%s: %s", path, strerror(errno));
        return recording_open_file(f, ret, err);
}

int hid_recording_open_memory(const char *text, size_t n, HidRecording **ret, da_error *err) {
        FILE *f;

        if (n == 0)
                return da_error_set(err, -EBADMSG, "HID recording is empty");
        f = fmemopen((void *) text, n, "r");
        if (!f)
                return -errno;
        return recording_open_file(f, ret, err);
}

int hid_recording_next(HidRecording *r, HidRecordingEvent *ret, da_error *err) {
        const char *rest;
        uint64_t dev;
        int k;

        for (;;) {
                if (r->pending)
                        r->pending = false;
                else {
                        k = read_line(r, err);
                        if (k <= 0)
                                return k;
                }
                switch (line_tag(r->line, &rest)) {
                case 'E':
                        if (r->device != 0)
                                continue;
                        k = parse_event(r, rest, ret, err);
                        return k < 0 ? k : 1;
                case 'D':
                        if (!parse_decimal(rest, UINT32_MAX, &dev))
                                return bad_line(r, err, "D: needs a device index");
                        r->device = (unsigned) dev;
                        continue;
                case 0:
                        if (r->line[0] == '#' || *skip_blanks(r->line) == 0)
                                continue;
                        return bad_line(r, err, "not a hid-recorder line");
                default:
                        continue;       /* other devices' headers */
                }
        }
}

const uint8_t *hid_recording_descriptor(const HidRecording *r, size_t *ret_size) {
        *ret_size = r->descriptor_size;
        return r->descriptor;
}

const char *hid_recording_name(const HidRecording *r) {
        return r->name;
}

const char *hid_recording_phys(const HidRecording *r) {
        return r->phys;
}

int hid_recording_ids(const HidRecording *r, uint32_t *ret_bus, uint32_t *ret_vendor, uint32_t *ret_product) {
        if (!r->have_ids)
                return -ENODATA;
        *ret_bus = r->bus;
        *ret_vendor = r->vendor;
        *ret_product = r->product;
        return 0;
}
