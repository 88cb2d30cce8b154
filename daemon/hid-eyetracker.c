/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "hid-eyetracker.h"

/* One element of a report field and the affine map from its logical value
 * to SI units: si = scale · v + offset. */
typedef struct Binding {
        HidField field;         /* layout only; usages not kept */
        uint32_t element;
        double scale, offset;
        da_channel channel;
} Binding;

typedef struct Chunk {
        HidField field;
        uint32_t element;
} Chunk;

struct HidEyeTracker {
        bool uses_report_ids;
        uint8_t tracking_id;
        size_t tracking_bytes;          /* payload bytes without the ID */
        Binding bindings[_DA_CH_MAX];
        size_t n_bindings;
        uint64_t channels;              /* bit per da_channel */

        /* The timestamp may come as several little-endian chunks (GazeHid: 8 × u8). */
        Chunk timestamp[64];
        size_t n_timestamp;
        unsigned timestamp_bits;
        int timestamp_exponent;         /* µs = raw · 10^(exponent + 6) */

        bool have_status;
        uint8_t status_id;
        size_t status_bytes;
        bool have_config_status, have_frequency;
        Chunk config_status, frequency;
        double frequency_scale;
};

HidEyeTracker *hid_eyetracker_free(HidEyeTracker *t) {
        free(t);
        return NULL;
}

/* Exponent of unit nibble k (0 = system, 1 length, 2 mass, 3 time, 4
 * temperature, 5 current, 6 luminous intensity), a signed 4-bit value. */
static int unit_nibble(uint32_t unit, unsigned k) {
        int v = (unit >> (4 * k)) & 0xf;

        return v >= 8 ? v - 16 : v;
}

/* Whether only nibble `dim` is set among the dimensions, with exponent `power`. */
static bool unit_is(uint32_t unit, unsigned dim, int power) {
        for (unsigned k = 1; k < 8; k++)
                if (unit_nibble(unit, k) != (k == dim ? power : 0))
                        return false;
        return true;
}

/* Metres (or radians) per declared unit; NAN when the unit is not a length
 * (or an angle). The length nibble means radians/degrees in the rotation systems. */
static double length_factor(uint32_t unit, bool rotation) {
        if (!unit_is(unit, 1, 1))
                return NAN;
        switch (unit_nibble(unit, 0)) {
        case 1:
                return rotation ? NAN : 0.01;           /* SI linear: cm */
        case 2:
                return rotation ? 1.0 : NAN;            /* SI rotation: rad */
        case 3:
                return rotation ? NAN : 0.0254;         /* English linear: inch */
        case 4:
                return rotation ? M_PI / 180.0 : NAN;   /* English rotation: degree */
        default:
                return NAN;
        }
}

/* Physical = logical when Physical Min/Max are both 0 (HID 1.11 §6.2.2.7). */
static void field_affine(const HidField *f, double unit_factor, double *ret_scale, double *ret_offset) {
        double res = 1.0, off = 0.0, e = pow(10.0, f->unit_exponent);

        if ((f->physical_min != 0 || f->physical_max != 0) && f->logical_max != f->logical_min) {
                res = (double) (f->physical_max - f->physical_min) / (double) (f->logical_max - f->logical_min);
                off = (double) f->physical_min - (double) f->logical_min * res;
        }
        *ret_scale = res * e * unit_factor;
        *ret_offset = off * e * unit_factor;
}

static HidField layout_copy(const HidField *f) {
        HidField c = *f;

        c.usages = NULL;
        c.n_usages = 0;
        return c;
}

/* Is collection c, or one of its ancestors, the collection `target`? */
static bool collection_within(const HidDescriptor *d, uint32_t c, uint32_t target) {
        for (unsigned hops = 0; c != HID_NO_COLLECTION && hops <= HID_MAX_COLLECTION_DEPTH; hops++) {
                if (c == target)
                        return true;
                c = d->collections[c].parent;
        }
        return false;
}

/* The usage of the nearest enclosing collection that names a position group. */
static uint32_t position_group(const HidDescriptor *d, uint32_t c) {
        for (unsigned hops = 0; c != HID_NO_COLLECTION && hops <= HID_MAX_COLLECTION_DEPTH; hops++) {
                uint32_t u = d->collections[c].usage;

                if (u >= HID_USAGE_GAZE_POINT && u <= HID_USAGE(0x12, 0x28))
                        return u;
                c = d->collections[c].parent;
        }
        return 0;
}

/* position_channel() relies on X, Y, Z being adjacent in each group. */
_Static_assert(DA_CH_GAZE_POINT_Z == DA_CH_GAZE_POINT_X + 2, "gaze channels");
_Static_assert(DA_CH_EYE_LEFT_ORIGIN_Z == DA_CH_EYE_LEFT_ORIGIN_X + 2, "left eye channels");
_Static_assert(DA_CH_EYE_RIGHT_ORIGIN_Z == DA_CH_EYE_RIGHT_ORIGIN_X + 2, "right eye channels");
_Static_assert(DA_CH_HEAD_POSITION_Z == DA_CH_HEAD_POSITION_X + 2, "head channels");
_Static_assert(DA_CH_HEAD_ROTATION_Z == DA_CH_HEAD_ROTATION_X + 2, "head rotation channels");

static int position_channel(uint32_t group, uint32_t usage) {
        static const da_channel base[] = {
                [0] = DA_CH_GAZE_POINT_X,
                [1] = DA_CH_EYE_LEFT_ORIGIN_X,
                [2] = DA_CH_EYE_RIGHT_ORIGIN_X,
                [3] = DA_CH_HEAD_POSITION_X,
        };
        unsigned axis = usage - HID_USAGE_POSITION_X;

        if (group < HID_USAGE_GAZE_POINT || group > HID_USAGE_HEAD_POSITION)
                return -ENOENT;         /* e.g. Head Direction Point: no channel for it */
        return (int) (base[group - HID_USAGE_GAZE_POINT] + axis);
}

static void bind(HidEyeTracker *t, const HidField *f, uint32_t i, da_channel ch, double unit_factor) {
        Binding *b;

        if (isnan(unit_factor) || (t->channels & (UINT64_C(1) << ch)))
                return;
        b = &t->bindings[t->n_bindings++];
        *b = (Binding) { .field = layout_copy(f), .element = i, .channel = ch };
        field_affine(f, unit_factor, &b->scale, &b->offset);
        t->channels |= UINT64_C(1) << ch;
}

static int bind_tracking_field(HidEyeTracker *t, const HidDescriptor *d, const HidField *f, da_error *err) {
        for (uint32_t i = 0; i < f->count; i++) {
                uint32_t u = hid_field_usage(f, i);
                int ch;

                if (u == HID_USAGE_SENSOR_TIMESTAMP) {
                        /* Without a unit, HUTRR74's microseconds. */
                        int exponent = f->unit != 0 ? f->unit_exponent : -6;

                        if (t->n_timestamp > 0 && exponent != t->timestamp_exponent)
                                return da_error_set(err, -EBADMSG,
                                                    "Sensor Timestamp chunks disagree on their unit exponent");
                        if (t->timestamp_bits + f->size > 64)
                                return da_error_set(err, -EBADMSG, "Sensor Timestamp wider than 64 bits");
                        if (f->unit != 0 && !unit_is(f->unit, 3, 1))
                                return da_error_set(err, -EBADMSG, "Sensor Timestamp unit 0x%x is not a time",
                                                    f->unit);
                        t->timestamp[t->n_timestamp++] = (Chunk) { layout_copy(f), i };
                        t->timestamp_bits += f->size;
                        t->timestamp_exponent = exponent;
                } else if (u >= HID_USAGE_POSITION_X && u <= HID_USAGE_POSITION_Z) {
                        ch = position_channel(position_group(d, f->collection), u);
                        if (ch >= 0)
                                bind(t, f, i, (da_channel) ch, length_factor(f->unit, false));
                } else if (u >= HID_USAGE_ROTATION_X && u <= HID_USAGE_ROTATION_Z)
                        bind(t, f, i, DA_CH_HEAD_ROTATION_X + (u - HID_USAGE_ROTATION_X),
                             length_factor(f->unit, true));
        }
        return 0;
}

static void bind_status_field(HidEyeTracker *t, const HidField *f) {
        for (uint32_t i = 0; i < f->count; i++) {
                uint32_t u = hid_field_usage(f, i);

                if (u != HID_USAGE_CONFIGURATION_STATUS && u != HID_USAGE_SAMPLING_FREQUENCY)
                        continue;
                if (t->have_status && f->report_id != t->status_id)
                        continue;
                t->have_status = true;
                t->status_id = f->report_id;
                if (u == HID_USAGE_CONFIGURATION_STATUS && !t->have_config_status) {
                        t->config_status = (Chunk) { layout_copy(f), i };
                        t->have_config_status = true;
                } else if (u == HID_USAGE_SAMPLING_FREQUENCY && !t->have_frequency &&
                           (f->unit == 0 || unit_is(f->unit, 3, -1))) {
                        double offset;

                        t->frequency = (Chunk) { layout_copy(f), i };
                        t->have_frequency = true;
                        field_affine(f, 1.0, &t->frequency_scale, &offset);
                }
        }
}

int hid_eyetracker_new(const HidDescriptor *d, HidEyeTracker **ret, da_error *err) {
        _cleanup_(hid_eyetracker_freep) HidEyeTracker *t = NULL;
        uint32_t app = HID_NO_COLLECTION, tracking = HID_NO_COLLECTION;
        bool found = false;
        int r;

        for (size_t c = 0; c < d->n_collections && app == HID_NO_COLLECTION; c++)
                if (d->collections[c].type == HID_COLLECTION_APPLICATION &&
                    d->collections[c].usage == HID_USAGE_EYE_TRACKER)
                        app = (uint32_t) c;
        if (app == HID_NO_COLLECTION)
                return da_error_set(err, -ENODEV, "no Eye Tracker application collection (usage 0x12:0x01)");
        for (size_t c = app + 1; c < d->n_collections && tracking == HID_NO_COLLECTION; c++)
                if (d->collections[c].usage == HID_USAGE_TRACKING_DATA && collection_within(d, (uint32_t) c, app))
                        tracking = (uint32_t) c;
        if (tracking == HID_NO_COLLECTION)
                return da_error_set(err, -EBADMSG, "Eye Tracker has no Tracking Data collection (usage 0x12:0x10)");

        t = calloc(1, sizeof(HidEyeTracker));
        if (!t)
                return -ENOMEM;
        t->uses_report_ids = d->uses_report_ids;

        for (size_t k = 0; k < d->n_fields; k++) {
                const HidField *f = &d->fields[k];

                if (f->type != HID_REPORT_INPUT || !(f->flags & HID_FLAG_VARIABLE) ||
                    f->n_usages == 0 || f->application != app)
                        continue;
                if (collection_within(d, f->collection, tracking)) {
                        if (!found) {
                                t->tracking_id = f->report_id;
                                found = true;
                        }
                        if (f->report_id != t->tracking_id)
                                continue;
                        r = bind_tracking_field(t, d, f, err);
                        if (r < 0)
                                return r;
                } else
                        bind_status_field(t, f);
        }
        if (t->n_bindings == 0)
                return da_error_set(err, -EBADMSG,
                                    "Tracking Data report has no gaze, eye or head field in a known unit");

        t->tracking_bytes = hid_descriptor_report_length(d, HID_REPORT_INPUT, t->tracking_id) -
                            (d->uses_report_ids ? 1 : 0);
        if (t->have_status) {
                if (t->status_id == t->tracking_id)
                        t->have_status = false;         /* ambiguous: the tracking report wins */
                else
                        t->status_bytes = hid_descriptor_report_length(d, HID_REPORT_INPUT, t->status_id) -
                                          (d->uses_report_ids ? 1 : 0);
        }

        *ret = TAKE_PTR(t);
        return 0;
}

/* Splits a raw report into ID and payload. */
static int split_report(const HidEyeTracker *t, const uint8_t *report, size_t n,
                        uint8_t *ret_id, const uint8_t **ret_payload, size_t *ret_n) {
        if (!report || n == 0)
                return -EBADMSG;
        if (t->uses_report_ids) {
                *ret_id = report[0];
                *ret_payload = report + 1;
                *ret_n = n - 1;
        } else {
                *ret_id = 0;
                *ret_payload = report;
                *ret_n = n;
        }
        return 0;
}

static uint64_t scale_to_us(uint64_t raw, int exponent) {
        /* Beyond ±20 decades a u64 is all overflow or all zero anyway. */
        int e = MAX(MIN(exponent + 6, 20), -20);

        for (; e > 0; e--)
                raw *= 10;
        for (; e < 0; e++)
                raw /= 10;
        return raw;
}

int hid_eyetracker_decode(const HidEyeTracker *t, const uint8_t *report, size_t n, da_frame *ret_frame) {
        const uint8_t *payload;
        uint64_t ts = 0;
        unsigned shift = 0;
        size_t len;
        uint8_t id;
        int r;

        r = split_report(t, report, n, &id, &payload, &len);
        if (r < 0)
                return r;
        if (id != t->tracking_id)
                return t->have_status && id == t->status_id ? -ENOMSG : -EBADMSG;
        if (len < t->tracking_bytes)
                return -EBADMSG;

        for (size_t k = 0; k < t->n_timestamp; k++) {
                int64_t v;

                r = hid_field_extract(&t->timestamp[k].field, t->timestamp[k].element, payload, len, &v);
                if (r < 0)
                        return r;
                /* Chunks are raw bit slices of one integer: no sign, no range check. */
                ts |= ((uint64_t) v & ((UINT64_C(1) << t->timestamp[k].field.size) - 1)) << shift;
                shift += t->timestamp[k].field.size;
        }

        da_frame_init(ret_frame, scale_to_us(ts, t->timestamp_exponent));
        for (size_t k = 0; k < t->n_bindings; k++) {
                const Binding *b = &t->bindings[k];
                int64_t v;

                r = hid_field_extract(&b->field, b->element, payload, len, &v);
                if (r < 0)
                        return r;
                if (hid_field_value_valid(&b->field, v))
                        ret_frame->ch[b->channel] = (float) (b->scale * (double) v + b->offset);
        }
        return 0;
}

int hid_eyetracker_decode_status(const HidEyeTracker *t, const uint8_t *report, size_t n,
                                 HidEyeTrackerStatus *ret_status) {
        HidEyeTrackerStatus s = { .configuration_status = -1, .sampling_frequency = NAN };
        const uint8_t *payload;
        size_t len;
        uint8_t id;
        int64_t v;
        int r;

        r = split_report(t, report, n, &id, &payload, &len);
        if (r < 0)
                return r;
        if (!t->have_status || id != t->status_id || len < t->status_bytes)
                return -EBADMSG;

        if (t->have_config_status) {
                r = hid_field_extract(&t->config_status.field, t->config_status.element, payload, len, &v);
                if (r < 0)
                        return r;
                if (hid_field_value_valid(&t->config_status.field, v))
                        s.configuration_status = (int) v;
        }
        if (t->have_frequency) {
                r = hid_field_extract(&t->frequency.field, t->frequency.element, payload, len, &v);
                if (r < 0)
                        return r;
                if (hid_field_value_valid(&t->frequency.field, v))
                        s.sampling_frequency = t->frequency_scale * (double) v;
        }

        *ret_status = s;
        return 0;
}

bool hid_eyetracker_has_channel(const HidEyeTracker *t, da_channel c) {
        return (unsigned) c < _DA_CH_MAX && (t->channels & (UINT64_C(1) << c));
}

uint64_t hid_eyetracker_channels(const HidEyeTracker *t) {
        return t->channels;
}

bool hid_eyetracker_has_timestamp(const HidEyeTracker *t) {
        return t->n_timestamp > 0;
}

uint8_t hid_eyetracker_tracking_report_id(const HidEyeTracker *t) {
        return t->tracking_id;
}

size_t hid_eyetracker_tracking_report_length(const HidEyeTracker *t) {
        return t->tracking_bytes + (t->uses_report_ids ? 1 : 0);
}
