/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "pupil-gaze.h"

static const char *const problem_names[_PUPIL_PROBLEM_MAX] = {
        [PUPIL_OK] = "ok",
        [PUPIL_NOT_MSGPACK] = "not msgpack",
        [PUPIL_NOT_MAP] = "not a map",
        [PUPIL_MONOCULAR] = "monocular",
        [PUPIL_MISSING_KEY] = "missing key",
        [PUPIL_WRONG_TYPE] = "wrong type",
        [PUPIL_WRONG_LENGTH] = "wrong length",
        [PUPIL_NOT_FINITE] = "not finite",
        [PUPIL_OUT_OF_RANGE] = "out of range",
        [PUPIL_DUPLICATE_KEY] = "duplicate key",
};

const char *pupil_problem_to_string(PupilProblem p) {
        return (unsigned) p < _PUPIL_PROBLEM_MAX ? problem_names[p] : NULL;
}

typedef struct Decoder {
        PupilProblem problem;
        char *detail;
        size_t detail_size;
} Decoder;

static int fail(Decoder *d, PupilProblem p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(Decoder *d, PupilProblem p, const char *fmt, ...) {
        va_list ap;

        d->problem = p;
        va_start(ap, fmt);
        vsnprintf(d->detail, d->detail_size, fmt, ap);
        va_end(ap);
        return -EBADMSG;
}

/* msgpack-c's C unpacker allocates a container's declared element count
 * before reading the elements and has no limit to set, so a few bytes
 * declaring 2^32 elements would ask for tens of GiB. This walks the value's
 * headers only and refuses a count larger than the bytes left (every
 * element takes at least one); 0 when data is exactly one value. */
static int check_counts(const uint8_t *p, size_t size) {
        static const uint8_t fixed_size[0x20] = {       /* 0xc0..0xdf, after the type byte */
                [0x00] = 0, [0x02] = 0, [0x03] = 0,     /* nil, false, true */
                [0x0a] = 4, [0x0b] = 8,                 /* float 32/64 */
                [0x0c] = 1, [0x0d] = 2, [0x0e] = 4, [0x0f] = 8, /* uint 8..64 */
                [0x10] = 1, [0x11] = 2, [0x12] = 4, [0x13] = 8, /* int 8..64 */
                [0x14] = 2, [0x15] = 3, [0x16] = 5, [0x17] = 9, [0x18] = 17, /* fixext 1..16, with type */
        };
        size_t pos = 0;
        uint64_t pending = 1;

        while (pending > 0) {
                uint8_t t;
                uint64_t n = 0, skip = 0, items = 0;
                unsigned len_bytes = 0;

                if (pos >= size)
                        return -EBADMSG;
                t = p[pos++];
                pending--;
                if (t <= 0x7f || t >= 0xe0)
                        continue;
                if (t <= 0x8f)
                        items = 2u * (t & 0x0f);
                else if (t <= 0x9f)
                        items = t & 0x0f;
                else if (t <= 0xbf)
                        skip = t & 0x1f;
                else if (t == 0xc1)
                        return -EBADMSG;
                else if (t == 0xc4 || t == 0xd9 || t == 0xc7)
                        len_bytes = 1;
                else if (t == 0xc5 || t == 0xda || t == 0xc8 || t == 0xdc || t == 0xde)
                        len_bytes = 2;
                else if (t == 0xc6 || t == 0xdb || t == 0xc9 || t == 0xdd || t == 0xdf)
                        len_bytes = 4;
                else
                        skip = fixed_size[t - 0xc0];

                if (len_bytes > 0) {
                        if (size - pos < len_bytes)
                                return -EBADMSG;
                        for (unsigned i = 0; i < len_bytes; i++)
                                n = n << 8 | p[pos++];
                        if (t == 0xdc || t == 0xdd)
                                items = n;
                        else if (t == 0xde || t == 0xdf)
                                items = 2 * n;
                        else
                                skip = n + (t >= 0xc7 && t <= 0xc9);    /* ext has a type byte */
                }
                if (skip > size - pos || items > size - pos || pending + items > size)
                        return -EBADMSG;
                pos += skip;
                pending += items;
        }
        return pos == size ? 0 : -EBADMSG;
}

static bool key_is(const msgpack_object *k, const char *name) {
        size_t n = strlen(name);

        return k->type == MSGPACK_OBJECT_STR && k->via.str.size == n && memcmp(k->via.str.ptr, name, n) == 0;
}

/* The value of key name in map m, NULL when absent; a second occurrence is an error. */
static int map_get(Decoder *d, const msgpack_object *m, const char *name, const msgpack_object **ret) {
        const msgpack_object *found = NULL;

        for (uint32_t i = 0; i < m->via.map.size; i++)
                if (key_is(&m->via.map.ptr[i].key, name)) {
                        if (found)
                                return fail(d, PUPIL_DUPLICATE_KEY, "key '%s' appears twice", name);
                        found = &m->via.map.ptr[i].val;
                }
        *ret = found;
        return 0;
}

static int require(Decoder *d, const msgpack_object *m, const char *name, const msgpack_object **ret) {
        int r = map_get(d, m, name, ret);

        if (r < 0)
                return r;
        if (!*ret)
                return fail(d, PUPIL_MISSING_KEY, "no '%s'", name);
        return 0;
}

static int number(Decoder *d, const msgpack_object *o, const char *what, double *ret) {
        switch (o->type) {
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
                *ret = o->via.f64;
                break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
                *ret = (double) o->via.u64;
                break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
                *ret = (double) o->via.i64;
                break;
        default:
                return fail(d, PUPIL_WRONG_TYPE, "'%s' is not a number", what);
        }
        if (!isfinite(*ret))
                return fail(d, PUPIL_NOT_FINITE, "'%s' is not finite", what);
        return 0;
}

static int vector3(Decoder *d, const msgpack_object *o, const char *what, double ret[static 3]) {
        double v[3];

        if (o->type != MSGPACK_OBJECT_ARRAY)
                return fail(d, PUPIL_WRONG_TYPE, "'%s' is not an array", what);
        if (o->via.array.size != 3)
                return fail(d, PUPIL_WRONG_LENGTH, "'%s' has %u elements, not 3", what, o->via.array.size);
        for (unsigned i = 0; i < 3; i++) {
                int r = number(d, &o->via.array.ptr[i], what, &v[i]);

                if (r < 0)
                        return r;
        }
        memcpy(ret, v, sizeof v);
        return 0;
}

/* 0 or 1 for an eye key (integer or string), -1 for anything else. */
static int eye_key(const msgpack_object *k) {
        if (k->type == MSGPACK_OBJECT_POSITIVE_INTEGER && k->via.u64 <= 1)
                return (int) k->via.u64;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == 1 &&
            (k->via.str.ptr[0] == '0' || k->via.str.ptr[0] == '1'))
                return k->via.str.ptr[0] - '0';
        return -1;
}

/* A map {eye: [x, y, z]} with both eyes and nothing else. */
static int per_eye(Decoder *d, const msgpack_object *o, const char *what, double ret[static 2][3]) {
        double v[2][3];
        bool seen[2] = {};

        if (o->type != MSGPACK_OBJECT_MAP)
                return fail(d, PUPIL_WRONG_TYPE, "'%s' is not a map", what);
        for (uint32_t i = 0; i < o->via.map.size; i++) {
                int eye = eye_key(&o->via.map.ptr[i].key), r;

                if (eye < 0)
                        return fail(d, PUPIL_WRONG_TYPE, "'%s' has a key other than the eyes 0 and 1", what);
                if (seen[eye])
                        return fail(d, PUPIL_DUPLICATE_KEY, "'%s' names eye %d twice", what, eye);
                seen[eye] = true;
                r = vector3(d, &o->via.map.ptr[i].val, what, v[eye]);
                if (r < 0)
                        return r;
        }
        for (int eye = 0; eye < 2; eye++)
                if (!seen[eye])
                        return fail(d, PUPIL_MISSING_KEY, "'%s' has no eye %d", what, eye);
        memcpy(ret, v, sizeof v);
        return 0;
}

/* base_data: the pupil data the gaze was mapped from; each may carry its
 * eye's 3-D pupil diameter. Entries without one (2-D detection) leave it NaN. */
static int diameters(Decoder *d, const msgpack_object *o, double ret[static 2]) {
        ret[0] = ret[1] = NAN;
        if (o->type != MSGPACK_OBJECT_ARRAY)
                return fail(d, PUPIL_WRONG_TYPE, "'base_data' is not an array");
        for (uint32_t i = 0; i < o->via.array.size; i++) {
                const msgpack_object *e = &o->via.array.ptr[i], *id, *dia;
                double v;
                int eye, r;

                if (e->type != MSGPACK_OBJECT_MAP)
                        return fail(d, PUPIL_WRONG_TYPE, "'base_data' holds a non-map");
                r = map_get(d, e, "id", &id);
                if (r >= 0)
                        r = map_get(d, e, "diameter_3d", &dia);
                if (r < 0)
                        return r;
                if (!id || !dia)
                        continue;
                eye = eye_key(id);
                if (eye < 0)
                        return fail(d, PUPIL_WRONG_TYPE, "'base_data' 'id' is not the eye 0 or 1");
                r = number(d, dia, "diameter_3d", &v);
                if (r < 0)
                        return r;
                if (v < 0)
                        return fail(d, PUPIL_OUT_OF_RANGE, "'diameter_3d' is negative");
                ret[eye] = v;
        }
        return 0;
}

static int decode_map(Decoder *d, const msgpack_object *m, PupilGaze *g) {
        const msgpack_object *o;
        int r;

        if (m->type != MSGPACK_OBJECT_MAP)
                return fail(d, PUPIL_NOT_MAP, "the datum is not a map");

        r = map_get(d, m, "eye_centers_3d", &o);
        if (r < 0)
                return r;
        if (!o) {
                r = map_get(d, m, "eye_center_3d", &o);
                if (r < 0)
                        return r;
                if (o)
                        return fail(d, PUPIL_MONOCULAR, "monocular datum (eye_center_3d); binocular gaze expected");
                return fail(d, PUPIL_MISSING_KEY, "no 'eye_centers_3d'");
        }
        r = per_eye(d, o, "eye_centers_3d", g->center);
        if (r < 0)
                return r;

        r = require(d, m, "gaze_normals_3d", &o);
        if (r >= 0)
                r = per_eye(d, o, "gaze_normals_3d", g->normal);
        if (r >= 0)
                r = require(d, m, "gaze_point_3d", &o);
        if (r >= 0)
                r = vector3(d, o, "gaze_point_3d", g->point);
        if (r >= 0)
                r = require(d, m, "timestamp", &o);
        if (r >= 0)
                r = number(d, o, "timestamp", &g->timestamp);
        if (r >= 0)
                r = require(d, m, "confidence", &o);
        if (r >= 0)
                r = number(d, o, "confidence", &g->confidence);
        if (r < 0)
                return r;
        if (g->confidence < 0 || g->confidence > 1)
                return fail(d, PUPIL_OUT_OF_RANGE, "'confidence' %g is outside 0..1", g->confidence);

        g->diameter[0] = g->diameter[1] = NAN;
        r = map_get(d, m, "base_data", &o);
        if (r >= 0 && o)
                r = diameters(d, o, g->diameter);
        return r;
}

int pupil_gaze_decode(const void *data, size_t size, PupilGaze *ret, PupilProblem *ret_problem,
                      char *ret_detail, size_t detail_size) {
        Decoder d = { .detail = ret_detail, .detail_size = detail_size };
        msgpack_unpacked u;
        PupilGaze g = {};
        size_t off = 0;
        int r;

        if (size > PUPIL_GAZE_MAX_SIZE)
                r = fail(&d, PUPIL_NOT_MSGPACK, "%zu bytes, more than a gaze datum", size);
        else if (check_counts(data, size) < 0)
                r = fail(&d, PUPIL_NOT_MSGPACK, "not one well-formed msgpack value");
        else {
                msgpack_unpacked_init(&u);
                if (msgpack_unpack_next(&u, data, size, &off) != MSGPACK_UNPACK_SUCCESS || off != size)
                        r = fail(&d, PUPIL_NOT_MSGPACK, "not one well-formed msgpack value");
                else
                        r = decode_map(&d, &u.data, &g);
                msgpack_unpacked_destroy(&u);
        }
        if (r < 0) {
                *ret_problem = d.problem;
                return r;
        }
        *ret = g;
        *ret_problem = PUPIL_OK;
        return 0;
}
