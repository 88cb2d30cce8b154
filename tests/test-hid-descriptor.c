/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The HID descriptor parser, the eye-tracker decoder and the hid-recorder
 * reader against Microsoft's GazeHid descriptor (tests/fixtures/hid, MIT) and
 * hand-built descriptors. Expected layouts come from the descriptor's
 * item-by-item decode in ../shared/data/real/README.md; expected values are
 * worked out by hand in the comments.
 */
#include <errno.h>
#include <math.h>

#include "hid-descriptor.h"
#include "hid-eyetracker.h"
#include "hid-recording.h"
#include "test-util.h"

#define GAZEHID "fixtures/hid/msrenable_gazehid_eye_tracker.rdesc.bin"

static uint8_t *gazehid;
static size_t gazehid_size;

static void load_gazehid(void) {
        _cleanup_free_ char *p = test_path(GAZEHID);

        ck_assert_int_eq(test_read_file(p, &gazehid, &gazehid_size), 0);
        ck_assert_uint_eq(gazehid_size, 340);
}

static void free_gazehid(void) {
        free(gazehid);
        gazehid = NULL;
}

/* Tracking Data report 0x10, 65 bytes, built from the layout:
 *   timestamp 1234567890123 µs = 0x0000011f71fb04cb → cb 04 fb 71 1f 01 00 00
 *   gaze X  250000 µm = 0x0003d090 → 90 d0 03 00   → 0.25 m
 *   gaze Y −120000 µm = 0xfffe2b40 → 40 2b fe ff   → −0.12 m
 *   left  X −32000 = 0xffff8300, Y 15000 = 0x3a98, Z 600000 = 0x927c0 → −0.032, 0.015, 0.6 m
 *   right X  31000 = 0x7918,     Y 14000 = 0x36b0, Z 605000 = 0x93b48 → 0.031, 0.014, 0.605 m
 *   6 reserved s32 = 0 */
static const uint8_t tracking_report[65] = {
        0x10,
        0xcb, 0x04, 0xfb, 0x71, 0x1f, 0x01, 0x00, 0x00,
        0x90, 0xd0, 0x03, 0x00, 0x40, 0x2b, 0xfe, 0xff,
        0x00, 0x83, 0xff, 0xff, 0x98, 0x3a, 0x00, 0x00, 0xc0, 0x27, 0x09, 0x00,
        0x18, 0x79, 0x00, 0x00, 0xb0, 0x36, 0x00, 0x00, 0x48, 0x3b, 0x09, 0x00,
};

static HidDescriptor *parse_ok(const uint8_t *d, size_t n) {
        HidDescriptor *h = NULL;
        da_error err = {};
        int r = hid_descriptor_parse(d, n, &h, &err);

        ck_assert_msg(r == 0, "parse failed: %d %s", r, err.message);
        return h;
}

/* Fails to parse with −EBADMSG, a message containing `what`, and *ret untouched. */
static void parse_bad(const uint8_t *d, size_t n, const char *what) {
        HidDescriptor *sentinel = (HidDescriptor *) 0x1, *h = sentinel;
        da_error err = {};
        int r = hid_descriptor_parse(d, n, &h, &err);

        ck_assert_int_eq(r, -EBADMSG);
        ck_assert_ptr_eq(h, sentinel);
        ck_assert_msg(strstr(err.message, what), "message '%s' lacks '%s'", err.message, what);
}

static const HidField *field_at(const HidDescriptor *d, HidReportType type, uint8_t id, uint32_t bit) {
        for (size_t i = 0; i < d->n_fields; i++)
                if (d->fields[i].type == type && d->fields[i].report_id == id && d->fields[i].bit_offset == bit)
                        return &d->fields[i];
        return NULL;
}

static void assert_close(float got, double want) {
        ck_assert_msg(fabs(got - want) <= 1e-6 * fmax(1.0, fabs(want)), "got %.9g, want %.9g", got, want);
}

START_TEST(test_gazehid_layout) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = parse_ok(gazehid, gazehid_size);
        const HidField *f;

        ck_assert(d->uses_report_ids);
        /* Eye Tracker app, Tracking Data + Gaze/Left/Right physical, Capabilities + physical,
         * Configuration + physical, Status ×2, Control: 12 collections. */
        ck_assert_uint_eq(d->n_collections, 12);
        ck_assert_uint_eq(d->collections[0].type, HID_COLLECTION_APPLICATION);
        ck_assert_uint_eq(d->collections[0].usage, HID_USAGE(0x12, 0x01));
        ck_assert_uint_eq(d->collections[1].usage, HID_USAGE(0x12, 0x10));
        ck_assert_uint_eq(d->collections[1].parent, 0);

        /* Wire lengths with the ID byte: 0x10 input 1+8+8+12+12+24 = 65 (Windows: 0x41);
         * 0x11 feature 1+1+5·4 = 22 (Windows: 0x16); 0x12 feature 1+(16+16+32+16+32+32)/8 = 19;
         * 0x13 feature and input 1+1+2 = 4; 0x14 feature 2. */
        ck_assert_uint_eq(hid_descriptor_report_length(d, HID_REPORT_INPUT, 0x10), 65);
        ck_assert_uint_eq(hid_descriptor_report_length(d, HID_REPORT_FEATURE, 0x11), 22);
        ck_assert_uint_eq(hid_descriptor_report_length(d, HID_REPORT_FEATURE, 0x12), 19);
        ck_assert_uint_eq(hid_descriptor_report_length(d, HID_REPORT_FEATURE, 0x13), 4);
        ck_assert_uint_eq(hid_descriptor_report_length(d, HID_REPORT_INPUT, 0x13), 4);
        ck_assert_uint_eq(hid_descriptor_report_length(d, HID_REPORT_FEATURE, 0x14), 2);
        ck_assert_uint_eq(hid_descriptor_report_length(d, HID_REPORT_INPUT, 0x11), 0);
        ck_assert_uint_eq(hid_descriptor_report_length(d, HID_REPORT_OUTPUT, 0x10), 0);
        ck_assert_uint_eq(d->n_reports, 6);

        /* Timestamp: 8 × u8, usage 0x20 declared once and repeated; unit 0x1001 exp −6. */
        f = field_at(d, HID_REPORT_INPUT, 0x10, 0);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(f->size, 8);
        ck_assert_uint_eq(f->count, 8);
        ck_assert(!f->is_signed);
        for (uint32_t i = 0; i < 8; i++)
                ck_assert_uint_eq(hid_field_usage(f, i), HID_USAGE(0x12, 0x20));
        ck_assert_uint_eq(f->unit, 0x1001);
        ck_assert_int_eq(f->unit_exponent, -6);
        ck_assert_uint_eq(f->flags, HID_FLAG_VARIABLE);
        ck_assert_uint_eq(f->application, 0);

        /* Gaze X, Y: 2 × s32 at bit 64, Constant, cm exp −4, ±2,000,000. */
        f = field_at(d, HID_REPORT_INPUT, 0x10, 64);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(f->size, 32);
        ck_assert_uint_eq(f->count, 2);
        ck_assert(f->is_signed);
        ck_assert_uint_eq(f->flags, HID_FLAG_CONSTANT | HID_FLAG_VARIABLE);
        ck_assert_int_eq(f->logical_min, -2000000);
        ck_assert_int_eq(f->logical_max, 2000000);
        ck_assert_uint_eq(f->unit, 0x11);
        ck_assert_int_eq(f->unit_exponent, -4);
        ck_assert_uint_eq(hid_field_usage(f, 0), HID_USAGE(0x12, 0x21));
        ck_assert_uint_eq(hid_field_usage(f, 1), HID_USAGE(0x12, 0x22));
        ck_assert_uint_eq(d->collections[f->collection].usage, HID_USAGE(0x12, 0x24));

        /* Left eye at 64+64 = 128, right eye at 128+96 = 224, both 3 × s32. */
        f = field_at(d, HID_REPORT_INPUT, 0x10, 128);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(f->count, 3);
        ck_assert_uint_eq(hid_field_usage(f, 2), HID_USAGE(0x12, 0x23));
        ck_assert_uint_eq(d->collections[f->collection].usage, HID_USAGE(0x12, 0x25));
        f = field_at(d, HID_REPORT_INPUT, 0x10, 224);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(f->count, 3);
        ck_assert_uint_eq(d->collections[f->collection].usage, HID_USAGE(0x12, 0x26));

        /* 6 reserved s32 at 224+96 = 320 without usages. */
        f = field_at(d, HID_REPORT_INPUT, 0x10, 320);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(f->count, 6);
        ck_assert_uint_eq(f->n_usages, 0);
        ck_assert_uint_eq(hid_field_usage(f, 0), 0);

        /* Status input: Configuration Status u8 (0..4), then Sampling Frequency u16 in Hz (0xf001). */
        f = field_at(d, HID_REPORT_INPUT, 0x13, 0);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(hid_field_usage(f, 0), HID_USAGE(0x12, 0x301));
        ck_assert_int_eq(f->logical_max, 4);
        f = field_at(d, HID_REPORT_INPUT, 0x13, 8);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(f->size, 16);
        ck_assert_uint_eq(f->unit, 0xf001);
        ck_assert_int_eq(f->logical_max, 65535);

        /* Display Serial Number: Logical Maximum 0x7fffffff with minimum 0 stays unsigned. */
        f = field_at(d, HID_REPORT_FEATURE, 0x12, 32);
        ck_assert_ptr_nonnull(f);
        ck_assert_uint_eq(hid_field_usage(f, 0), HID_USAGE(0x12, 0x202));
        ck_assert_int_eq(f->logical_max, 2147483647);
        ck_assert(!f->is_signed);
}
END_TEST

START_TEST(test_gazehid_decode) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = parse_ok(gazehid, gazehid_size);
        _cleanup_(hid_eyetracker_freep) HidEyeTracker *t = NULL;
        da_error err = {};
        da_frame fr;
        uint8_t rep[65];

        ck_assert_int_eq(hid_eyetracker_new(d, &t, &err), 0);
        ck_assert_uint_eq(hid_eyetracker_tracking_report_id(t), 0x10);
        ck_assert_uint_eq(hid_eyetracker_tracking_report_length(t), 65);
        ck_assert(hid_eyetracker_has_timestamp(t));
        ck_assert(hid_eyetracker_has_channel(t, DA_CH_GAZE_POINT_X));
        ck_assert(hid_eyetracker_has_channel(t, DA_CH_EYE_RIGHT_ORIGIN_Z));
        ck_assert(!hid_eyetracker_has_channel(t, DA_CH_GAZE_POINT_Z));
        ck_assert(!hid_eyetracker_has_channel(t, DA_CH_HEAD_POSITION_X));

        ck_assert_int_eq(hid_eyetracker_decode(t, tracking_report, sizeof(tracking_report), &fr), 0);
        ck_assert_uint_eq(fr.time_us, UINT64_C(1234567890123));
        /* µm · 10⁻⁶ = m */
        assert_close(fr.ch[DA_CH_GAZE_POINT_X], 0.25);
        assert_close(fr.ch[DA_CH_GAZE_POINT_Y], -0.12);
        assert_close(fr.ch[DA_CH_EYE_LEFT_ORIGIN_X], -0.032);
        assert_close(fr.ch[DA_CH_EYE_LEFT_ORIGIN_Y], 0.015);
        assert_close(fr.ch[DA_CH_EYE_LEFT_ORIGIN_Z], 0.6);
        assert_close(fr.ch[DA_CH_EYE_RIGHT_ORIGIN_X], 0.031);
        assert_close(fr.ch[DA_CH_EYE_RIGHT_ORIGIN_Y], 0.014);
        assert_close(fr.ch[DA_CH_EYE_RIGHT_ORIGIN_Z], 0.605);
        ck_assert(isnan(fr.ch[DA_CH_GAZE_POINT_Z]));
        ck_assert(isnan(fr.ch[DA_CH_HEAD_POSITION_X]));
        ck_assert(isnan(fr.ch[DA_CH_PUPIL_LEFT_DIAMETER]));

        /* The extremes of the logical range, and one past it: 2000000 = 0x1e8480,
         * −2000000 = 0xffe17b80, 2000001 = 0x1e8481 (→ NaN, "no data"). */
        memcpy(rep, tracking_report, sizeof(rep));
        memcpy(rep + 9, (const uint8_t[]) { 0x80, 0x84, 0x1e, 0x00 }, 4);
        memcpy(rep + 13, (const uint8_t[]) { 0x80, 0x7b, 0xe1, 0xff }, 4);
        memcpy(rep + 17, (const uint8_t[]) { 0x81, 0x84, 0x1e, 0x00 }, 4);
        ck_assert_int_eq(hid_eyetracker_decode(t, rep, sizeof(rep), &fr), 0);
        assert_close(fr.ch[DA_CH_GAZE_POINT_X], 2.0);
        assert_close(fr.ch[DA_CH_GAZE_POINT_Y], -2.0);
        ck_assert(isnan(fr.ch[DA_CH_EYE_LEFT_ORIGIN_X]));
        assert_close(fr.ch[DA_CH_EYE_LEFT_ORIGIN_Y], 0.015);

        /* All eight timestamp bytes matter: 0xffeeddccbbaa9988. */
        memcpy(rep + 1, (const uint8_t[]) { 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff }, 8);
        ck_assert_int_eq(hid_eyetracker_decode(t, rep, sizeof(rep), &fr), 0);
        ck_assert_uint_eq(fr.time_us, UINT64_C(0xffeeddccbbaa9988));
}
END_TEST

START_TEST(test_gazehid_bad_reports) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = parse_ok(gazehid, gazehid_size);
        _cleanup_(hid_eyetracker_freep) HidEyeTracker *t = NULL;
        HidEyeTrackerStatus st;
        da_frame fr;
        uint8_t rep[65];

        ck_assert_int_eq(hid_eyetracker_new(d, &t, NULL), 0);

        /* Every truncation of the tracking report, in an exactly sized heap
         * buffer so a sanitizer build catches any read past it. */
        for (size_t n = 0; n < sizeof(tracking_report); n++) {
                _cleanup_free_ uint8_t *b = malloc(n ? n : 1);

                memcpy(b, tracking_report, n);
                ck_assert_int_eq(hid_eyetracker_decode(t, b, n, &fr), -EBADMSG);
        }
        ck_assert_int_eq(hid_eyetracker_decode(t, NULL, 0, &fr), -EBADMSG);

        /* Unknown ID, and the feature-only reports 0x11/0x12/0x14 arriving as input. */
        memcpy(rep, tracking_report, sizeof(rep));
        for (unsigned id = 0; id < 256; id++) {
                if (id == 0x10 || id == 0x13)
                        continue;
                rep[0] = (uint8_t) id;
                ck_assert_int_eq(hid_eyetracker_decode(t, rep, sizeof(rep), &fr), -EBADMSG);
                ck_assert_int_eq(hid_eyetracker_decode_status(t, rep, sizeof(rep), &st), -EBADMSG);
        }

        /* Status 0x13 (also a feature report ID): not tracking data, decoded on its own:
         * Configuration Status 1 = ready, Sampling Frequency 0x0078 = 120 Hz. */
        ck_assert_int_eq(hid_eyetracker_decode(t, (const uint8_t[]) { 0x13, 0x01, 0x78, 0x00 }, 4, &fr), -ENOMSG);
        ck_assert_int_eq(hid_eyetracker_decode_status(t, (const uint8_t[]) { 0x13, 0x01, 0x78, 0x00 }, 4, &st), 0);
        ck_assert_int_eq(st.configuration_status, HID_EYETRACKER_READY);
        ck_assert(st.sampling_frequency == 120.0);
        /* 4 = calibration needed; 0x0258 = 600 Hz */
        ck_assert_int_eq(hid_eyetracker_decode_status(t, (const uint8_t[]) { 0x13, 0x04, 0x58, 0x02 }, 4, &st), 0);
        ck_assert_int_eq(st.configuration_status, HID_EYETRACKER_CALIBRATION_NEEDED);
        ck_assert(st.sampling_frequency == 600.0);
        /* 5 is above Logical Maximum 4: unknown */
        ck_assert_int_eq(hid_eyetracker_decode_status(t, (const uint8_t[]) { 0x13, 0x05, 0x58, 0x02 }, 4, &st), 0);
        ck_assert_int_eq(st.configuration_status, -1);
        ck_assert_int_eq(hid_eyetracker_decode_status(t, (const uint8_t[]) { 0x13, 0x01, 0x78 }, 3, &st), -EBADMSG);
        ck_assert_int_eq(hid_eyetracker_decode_status(t, tracking_report, sizeof(tracking_report), &st),
                         -EBADMSG);
}
END_TEST

START_TEST(test_gazehid_truncated) {
        /* Every proper prefix is broken (an item cut or collections left open),
         * except "05 12" and "05 12 09 01": valid, if useless, descriptors. */
        for (size_t n = 0; n < gazehid_size; n++) {
                _cleanup_free_ uint8_t *b = malloc(n ? n : 1);

                memcpy(b, gazehid, n);
                if (n == 2 || n == 4) {
                        _cleanup_(hid_descriptor_freep) HidDescriptor *d = parse_ok(b, n);

                        ck_assert_uint_eq(d->n_fields, 0);
                } else
                        parse_bad(b, n, n == 0 ? "empty" : "");
        }
        /* 0x0e: 26 ff 00 (Logical Maximum, 2 data bytes) cut after its first data byte. */
        parse_bad(gazehid, 0x10, "offset 0x000e: item truncated");
        parse_bad(gazehid, 0x0e, "collection not closed");
}
END_TEST

START_TEST(test_malformed) {
        static const uint8_t extra_end[] = { 0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0xc0, 0xc0 };
        static const uint8_t open_only[] = { 0x05, 0x01, 0x09, 0x02, 0xa1, 0x01 };
        static const uint8_t pop[] = { 0x05, 0x01, 0xb4 };
        static const uint8_t long_item[] = { 0xfe, 0x02, 0x10, 0x00, 0x00 };
        static const uint8_t id_zero[] = { 0x85, 0x00 };
        static const uint8_t reserved_main[] = { 0xd0 };
        static const uint8_t reserved_type[] = { 0x0c };
        /* X with Report Size 0, then 33 */
        static const uint8_t size0[] = { 0x05, 0x01, 0x09, 0x30, 0x15, 0x00, 0x25, 0x7f,
                                         0x75, 0x00, 0x95, 0x01, 0x81, 0x02 };
        static const uint8_t size33[] = { 0x05, 0x01, 0x09, 0x30, 0x15, 0x00, 0x25, 0x7f,
                                          0x75, 0x21, 0x95, 0x01, 0x81, 0x02 };
        /* Report Count 0xffff */
        static const uint8_t huge_count[] = { 0x75, 0x01, 0x96, 0xff, 0xff };
        /* 32 × 129 = 4128 bits */
        static const uint8_t too_long[] = { 0x05, 0x01, 0x09, 0x30, 0x15, 0x00, 0x25, 0x7f,
                                            0x75, 0x20, 0x95, 0x81, 0x81, 0x02 };
        static const uint8_t max_below_min[] = { 0x05, 0x09, 0x19, 0x05, 0x29, 0x02 };
        static const uint8_t max_without_min[] = { 0x05, 0x09, 0x29, 0x02 };
        static const uint8_t id_after_fields[] = { 0x75, 0x08, 0x95, 0x01, 0x81, 0x03, 0x85, 0x01 };
        static const uint8_t logical_inverted[] = { 0x05, 0x01, 0x09, 0x30, 0x15, 0x10, 0x25, 0x01,
                                                    0x75, 0x08, 0x95, 0x01, 0x81, 0x02 };
        uint8_t push9[9], nest[66], fields[4 + 2 * 257];

        parse_bad(extra_end, sizeof(extra_end), "offset 0x0007: End Collection without an open collection");
        parse_bad(open_only, sizeof(open_only), "collection not closed");
        parse_bad(pop, sizeof(pop), "offset 0x0002: Pop without Push");
        parse_bad(long_item, sizeof(long_item), "long items");
        parse_bad(id_zero, sizeof(id_zero), "Report ID");
        parse_bad(reserved_main, sizeof(reserved_main), "reserved main item");
        parse_bad(reserved_type, sizeof(reserved_type), "reserved item type");
        parse_bad(size0, sizeof(size0), "Report Size 0");
        parse_bad(size33, sizeof(size33), "Report Size above 32");
        parse_bad(huge_count, sizeof(huge_count), "Report Count is huge");
        parse_bad(too_long, sizeof(too_long), "4096 bits");
        parse_bad(max_below_min, sizeof(max_below_min), "Usage Maximum below Usage Minimum");
        parse_bad(max_without_min, sizeof(max_without_min), "without a preceding Usage Minimum");
        parse_bad(id_after_fields, sizeof(id_after_fields), "Report ID declared after fields");
        parse_bad(logical_inverted, sizeof(logical_inverted), "Logical Maximum below Logical Minimum");

        memset(push9, 0xa4, sizeof(push9));
        parse_bad(push9, sizeof(push9), "Push nested too deeply");

        /* 33 nested collections, one more than allowed */
        for (size_t i = 0; i < 33; i++) {
                nest[2 * i] = 0xa1;
                nest[2 * i + 1] = 0x00;
        }
        parse_bad(nest, sizeof(nest), "nested too deeply");

        /* 257 one-bit padding fields: one more than HID_MAX_FIELDS */
        memcpy(fields, (const uint8_t[]) { 0x75, 0x01, 0x95, 0x01 }, 4);
        for (size_t i = 0; i < 257; i++) {
                fields[4 + 2 * i] = 0x81;
                fields[4 + 2 * i + 1] = 0x03;
        }
        parse_bad(fields, sizeof(fields), "too many report fields");
        hid_descriptor_free(parse_ok(fields, sizeof(fields) - 2));
}
END_TEST

START_TEST(test_limits_accepted) {
        /* 32 × 128 = 4096 bits exactly; 33-bit padding without usages. */
        static const uint8_t full[] = { 0x05, 0x01, 0x09, 0x30, 0x15, 0x00, 0x25, 0x7f,
                                        0x75, 0x20, 0x95, 0x80, 0x81, 0x02 };
        static const uint8_t pad33[] = { 0x75, 0x21, 0x95, 0x01, 0x81, 0x03 };
        _cleanup_(hid_descriptor_freep) HidDescriptor *a = parse_ok(full, sizeof(full));
        _cleanup_(hid_descriptor_freep) HidDescriptor *b = parse_ok(pad33, sizeof(pad33));
        uint8_t push8[8];

        ck_assert(!a->uses_report_ids);
        ck_assert_uint_eq(hid_descriptor_report_length(a, HID_REPORT_INPUT, 0), 512);
        ck_assert_uint_eq(hid_descriptor_report_length(b, HID_REPORT_INPUT, 0), 5);
        memset(push8, 0xa4, sizeof(push8));
        hid_descriptor_free(parse_ok(push8, sizeof(push8)));
}
END_TEST

START_TEST(test_usages_and_state) {
        /* Buttons 1..3 as a range over 5 one-bit elements: elements 3 and 4 repeat
         * the last usage (Button 3). Page 0x01 and Report Size 3 are pushed, changed
         * to page 0x09 and size 2, and popped: the padding after Pop is 3 bits and the
         * short usage 0x30 resolves on page 0x01 (X); the 4-byte usage 0x000d0031
         * keeps its own page. Unit exponent nibbles 0xf = −1, 0x7 = 7. */
        static const uint8_t desc[] = {
                0x05, 0x09, 0x19, 0x01, 0x29, 0x03, 0x15, 0x00, 0x25, 0x01,
                0x75, 0x01, 0x95, 0x05, 0x81, 0x02,
                0x05, 0x01, 0x75, 0x03, 0xa4, 0x75, 0x02, 0x05, 0x09, 0xb4, 0x95, 0x01, 0x81, 0x03,
                0x09, 0x30, 0x0b, 0x31, 0x00, 0x0d, 0x00,
                0x15, 0x81, 0x25, 0x7f, 0x55, 0x0f, 0x75, 0x08, 0x95, 0x02, 0x81, 0x06,
                0x55, 0x07, 0x15, 0x00, 0x25, 0xff, 0x09, 0x38, 0x95, 0x01, 0x81, 0x02,
        };
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = parse_ok(desc, sizeof(desc));
        const HidField *btn, *xy, *wheel;
        /* buttons 1,0,1,1,0 = 0b01101 = 0x0d; padding; X = 5, Y = −5 = 0xfb; wheel 0xff */
        static const uint8_t payload[] = { 0x0d, 0x05, 0xfb, 0xff };
        int64_t v;

        ck_assert_uint_eq(d->n_fields, 4);
        btn = &d->fields[0];
        ck_assert_uint_eq(hid_field_usage(btn, 0), HID_USAGE(0x09, 1));
        ck_assert_uint_eq(hid_field_usage(btn, 2), HID_USAGE(0x09, 3));
        ck_assert_uint_eq(hid_field_usage(btn, 3), HID_USAGE(0x09, 3));
        ck_assert_uint_eq(hid_field_usage(btn, 4), HID_USAGE(0x09, 3));
        ck_assert_int_eq(hid_field_extract(btn, 0, payload, sizeof(payload), &v), 0);
        ck_assert_int_eq(v, 1);
        ck_assert_int_eq(hid_field_extract(btn, 1, payload, sizeof(payload), &v), 0);
        ck_assert_int_eq(v, 0);
        ck_assert_int_eq(hid_field_extract(btn, 3, payload, sizeof(payload), &v), 0);
        ck_assert_int_eq(v, 1);
        ck_assert_int_eq(hid_field_extract(btn, 5, payload, sizeof(payload), &v), -EBADMSG);

        ck_assert_uint_eq(d->fields[1].size, 3);
        ck_assert_uint_eq(d->fields[1].bit_offset, 5);
        ck_assert_uint_eq(d->fields[1].flags, HID_FLAG_CONSTANT | HID_FLAG_VARIABLE);

        xy = &d->fields[2];
        ck_assert_uint_eq(xy->bit_offset, 8);
        ck_assert_uint_eq(hid_field_usage(xy, 0), HID_USAGE(0x01, 0x30));
        ck_assert_uint_eq(hid_field_usage(xy, 1), HID_USAGE(0x0d, 0x31));
        ck_assert_uint_eq(xy->flags, HID_FLAG_VARIABLE | HID_FLAG_RELATIVE);
        ck_assert_int_eq(xy->unit_exponent, -1);
        ck_assert(xy->is_signed);
        ck_assert_int_eq(hid_field_extract(xy, 0, payload, sizeof(payload), &v), 0);
        ck_assert_int_eq(v, 5);
        ck_assert_int_eq(hid_field_extract(xy, 1, payload, sizeof(payload), &v), 0);
        ck_assert_int_eq(v, -5);
        /* the payload is one byte short for element 1 */
        ck_assert_int_eq(hid_field_extract(xy, 1, payload, 2, &v), -EBADMSG);

        /* Logical Maximum 0xff with minimum 0 is 255, not −1. */
        wheel = &d->fields[3];
        ck_assert_int_eq(wheel->logical_max, 255);
        ck_assert_int_eq(wheel->unit_exponent, 7);
        ck_assert(!wheel->is_signed);
        ck_assert_int_eq(hid_field_extract(wheel, 0, payload, sizeof(payload), &v), 0);
        ck_assert_int_eq(v, 255);
        ck_assert(hid_field_value_valid(wheel, v));
}
END_TEST

START_TEST(test_unaligned_extract) {
        /* 4 bits padding, then two signed 12-bit values: a = −3 = 0xffd, b = 1000 = 0x3e8.
         * Bits LSB-first: byte0 = pad | (a & 0xf) << 4 = 0xd0; byte1 = a >> 4 = 0xff;
         * byte2 = b & 0xff = 0xe8; byte3 = b >> 8 = 0x03. */
        static const uint8_t desc[] = {
                0x75, 0x04, 0x95, 0x01, 0x81, 0x03,
                0x05, 0x01, 0x09, 0x30, 0x09, 0x31, 0x16, 0x01, 0xf8, 0x26, 0xff, 0x07,
                0x75, 0x0c, 0x95, 0x02, 0x81, 0x02,
        };
        static const uint8_t payload[] = { 0xd0, 0xff, 0xe8, 0x03 };
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = parse_ok(desc, sizeof(desc));
        const HidField *f = &d->fields[1];
        int64_t v;

        ck_assert_uint_eq(f->bit_offset, 4);
        ck_assert_int_eq(f->logical_min, -2047);
        ck_assert_int_eq(hid_field_extract(f, 0, payload, sizeof(payload), &v), 0);
        ck_assert_int_eq(v, -3);
        ck_assert_int_eq(hid_field_extract(f, 1, payload, sizeof(payload), &v), 0);
        ck_assert_int_eq(v, 1000);
        /* 4 + 24 = 28 bits: 3 bytes are too few for element 1 */
        ck_assert_int_eq(hid_field_extract(f, 1, payload, 3, &v), -EBADMSG);
}
END_TEST

START_TEST(test_head_tracker_units) {
        /* An eye tracker without report IDs or timestamp: head position in inches
         * (unit 0x13) and head rotation in degrees (unit 0x14), s8 each. */
        static const uint8_t desc[] = {
                0x05, 0x12, 0x09, 0x01, 0xa1, 0x01,
                0x09, 0x10, 0xa1, 0x02,
                0x15, 0x81, 0x25, 0x7f, 0x75, 0x08,
                0x09, 0x27, 0xa1, 0x00,
                0x65, 0x13, 0x55, 0x00, 0x95, 0x03, 0x09, 0x21, 0x09, 0x22, 0x09, 0x23, 0x81, 0x02,
                0xc0,
                0x65, 0x14, 0x95, 0x03, 0x09, 0x29, 0x09, 0x2a, 0x09, 0x2b, 0x81, 0x02,
                0xc0,
                0xc0,
        };
        /* X 10 in = 0.254 m, Y −10 in = −0.254 m, Z 0; rotations 90° = π/2, −90° = −π/2, 0 */
        static const uint8_t rep[] = { 0x0a, 0xf6, 0x00, 0x5a, 0xa6, 0x00 };
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = parse_ok(desc, sizeof(desc));
        _cleanup_(hid_eyetracker_freep) HidEyeTracker *t = NULL;
        da_error err = {};
        da_frame fr;

        ck_assert_int_eq(hid_eyetracker_new(d, &t, &err), 0);
        ck_assert(!hid_eyetracker_has_timestamp(t));
        ck_assert_uint_eq(hid_eyetracker_tracking_report_length(t), 6);
        ck_assert_int_eq(hid_eyetracker_decode(t, rep, sizeof(rep), &fr), 0);
        ck_assert_uint_eq(fr.time_us, 0);
        assert_close(fr.ch[DA_CH_HEAD_POSITION_X], 0.254);
        assert_close(fr.ch[DA_CH_HEAD_POSITION_Y], -0.254);
        assert_close(fr.ch[DA_CH_HEAD_POSITION_Z], 0.0);
        assert_close(fr.ch[DA_CH_HEAD_ROTATION_X], M_PI / 2);
        assert_close(fr.ch[DA_CH_HEAD_ROTATION_Y], -M_PI / 2);
        assert_close(fr.ch[DA_CH_HEAD_ROTATION_Z], 0.0);
        ck_assert(isnan(fr.ch[DA_CH_GAZE_POINT_X]));
        ck_assert_int_eq(hid_eyetracker_decode(t, rep, 5, &fr), -EBADMSG);
}
END_TEST

START_TEST(test_not_an_eye_tracker) {
        /* A mouse: Generic Desktop application collection. */
        static const uint8_t mouse[] = {
                0x05, 0x01, 0x09, 0x02, 0xa1, 0x01, 0x09, 0x30, 0x15, 0x81, 0x25, 0x7f,
                0x75, 0x08, 0x95, 0x01, 0x81, 0x06, 0xc0,
        };
        /* Eye Tracker application without any position usage. */
        static const uint8_t empty[] = {
                0x05, 0x12, 0x09, 0x01, 0xa1, 0x01, 0x09, 0x10, 0xa1, 0x02,
                0x75, 0x08, 0x95, 0x01, 0x81, 0x03, 0xc0, 0xc0,
        };
        _cleanup_(hid_descriptor_freep) HidDescriptor *a = parse_ok(mouse, sizeof(mouse));
        _cleanup_(hid_descriptor_freep) HidDescriptor *b = parse_ok(empty, sizeof(empty));
        HidEyeTracker *sentinel = (HidEyeTracker *) 0x1, *t = sentinel;
        da_error err = {};

        ck_assert_int_eq(hid_eyetracker_new(a, &t, &err), -ENODEV);
        ck_assert_ptr_eq(t, sentinel);
        ck_assert_ptr_nonnull(strstr(err.message, "Eye Tracker"));
        ck_assert_int_eq(hid_eyetracker_new(b, &t, &err), -EBADMSG);
        ck_assert_ptr_eq(t, sentinel);
}
END_TEST

START_TEST(test_mutations) {
        /* Random 1–4 byte mutations of the real descriptor: parse, bind and decode
         * random reports must return cleanly; run under --enable-sanitizers to
         * catch any out-of-bounds access. */
        uint64_t seed = 0x6a1d5eed;
        unsigned parsed = 0, trackers = 0;
        uint8_t *m = malloc(gazehid_size);

        ck_assert_ptr_nonnull(m);
        for (unsigned it = 0; it < 20000; it++) {
                _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
                _cleanup_(hid_eyetracker_freep) HidEyeTracker *t = NULL;
                unsigned flips = 1 + (unsigned) (da_splitmix64(&seed) % 4);
                int r;

                memcpy(m, gazehid, gazehid_size);
                for (unsigned k = 0; k < flips; k++)
                        m[da_splitmix64(&seed) % gazehid_size] = (uint8_t) da_splitmix64(&seed);
                r = hid_descriptor_parse(m, gazehid_size, &d, NULL);
                ck_assert_msg(r == 0 || r == -EBADMSG, "iteration %u: %d", it, r);
                if (r < 0)
                        continue;
                parsed++;
                r = hid_eyetracker_new(d, &t, NULL);
                ck_assert_msg(r == 0 || r == -EBADMSG || r == -ENODEV, "iteration %u: %d", it, r);
                if (r < 0)
                        continue;
                trackers++;
                for (unsigned k = 0; k < 4; k++) {
                        size_t n = da_splitmix64(&seed) % 80;
                        _cleanup_free_ uint8_t *rep = malloc(n ? n : 1);
                        HidEyeTrackerStatus st;
                        da_frame fr;

                        for (size_t j = 0; j < n; j++)
                                rep[j] = (uint8_t) da_splitmix64(&seed);
                        if (n > 0 && k < 2)
                                rep[0] = hid_eyetracker_tracking_report_id(t);
                        r = hid_eyetracker_decode(t, rep, n, &fr);
                        ck_assert(r == 0 || r == -EBADMSG || r == -ENOMSG);
                        r = hid_eyetracker_decode_status(t, rep, n, &st);
                        ck_assert(r == 0 || r == -EBADMSG);
                }
        }
        free(m);
        /* Both outcomes must be exercised for the loop to mean anything. */
        ck_assert_uint_gt(parsed, 100);
        ck_assert_uint_lt(parsed, 20000);
        ck_assert_uint_gt(trackers, 100);
}
END_TEST

START_TEST(test_recording) {
        _cleanup_free_ char *p = test_path("fixtures/hid/gazehid-crafted.hidrec");
        _cleanup_(hid_recording_freep) HidRecording *rec = NULL;
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        _cleanup_(hid_eyetracker_freep) HidEyeTracker *t = NULL;
        _cleanup_free_ HidRecordingEvent *ev = malloc(sizeof(HidRecordingEvent));
        HidEyeTrackerStatus st;
        uint32_t bus, vendor, product;
        const uint8_t *desc;
        da_error err = {};
        size_t n;
        da_frame fr;

        ck_assert_int_eq(hid_recording_open(p, &rec, &err), 0);
        ck_assert_str_eq(hid_recording_name(rec), "MSREnable GazeHid virtual eye tracker");
        ck_assert_str_eq(hid_recording_phys(rec), "vhf-gazehid/input0");
        ck_assert_int_eq(hid_recording_ids(rec, &bus, &vendor, &product), 0);
        ck_assert_uint_eq(bus, 6);
        ck_assert_uint_eq(vendor, 0x045e);
        ck_assert_uint_eq(product, 0);
        desc = hid_recording_descriptor(rec, &n);
        ck_assert_uint_eq(n, gazehid_size);
        ck_assert_mem_eq(desc, gazehid, n);

        d = parse_ok(desc, n);
        ck_assert_int_eq(hid_eyetracker_new(d, &t, &err), 0);

        ck_assert_int_eq(hid_recording_next(rec, ev, &err), 1);
        ck_assert_uint_eq(ev->time_us, 0);
        ck_assert_uint_eq(ev->size, 4);
        ck_assert_int_eq(hid_eyetracker_decode(t, ev->data, ev->size, &fr), -ENOMSG);
        ck_assert_int_eq(hid_eyetracker_decode_status(t, ev->data, ev->size, &st), 0);
        ck_assert_int_eq(st.configuration_status, 1);
        ck_assert(st.sampling_frequency == 120.0);

        ck_assert_int_eq(hid_recording_next(rec, ev, &err), 1);
        ck_assert_uint_eq(ev->time_us, 8333);
        ck_assert_uint_eq(ev->size, 65);
        ck_assert_mem_eq(ev->data, tracking_report, 65);

        ck_assert_int_eq(hid_recording_next(rec, ev, &err), 1);
        ck_assert_uint_eq(ev->time_us, 16666);
        ck_assert_int_eq(hid_eyetracker_decode(t, ev->data, ev->size, &fr), 0);
        ck_assert_uint_eq(fr.time_us, UINT64_C(1234567898456));
        ck_assert(isnan(fr.ch[DA_CH_GAZE_POINT_X]));
        assert_close(fr.ch[DA_CH_GAZE_POINT_Y], -0.12);

        ck_assert_int_eq(hid_recording_next(rec, ev, &err), 0);
        ck_assert_int_eq(hid_recording_next(rec, ev, &err), 0);
}
END_TEST

static int open_text(const char *text, HidRecording **ret, da_error *err) {
        return hid_recording_open_memory(text, strlen(text), ret, err);
}

START_TEST(test_recording_formats) {
        _cleanup_free_ HidRecordingEvent *ev = malloc(sizeof(HidRecordingEvent));
        HidRecording *r = NULL;
        da_error err = {};
        const uint8_t *desc;
        size_t n;

        /* Wrapped R: line (older hid-recorder), a second device whose events are
         * skipped, a 1.5 s timestamp, an empty report and an unknown tag. */
        ck_assert_int_eq(open_text("# header\n"
                                   "D: 0\n"
                                   "R: 6 05 01\n"
                                   "09 02 a1\n"
                                   "01\n"
                                   "N: wrapped\n"
                                   "D: 1\n"
                                   "R: 2 c0 c0\n"
                                   "D: 0\n"
                                   "X: future tag\n"
                                   "E: 000001.500000 2 aa bb\r\n"
                                   "D: 1\n"
                                   "E: 000001.600000 1 cc\n"
                                   "D: 0\n"
                                   "E: 000002.000001 0\n",
                                   &r, &err), 0);
        desc = hid_recording_descriptor(r, &n);
        ck_assert_uint_eq(n, 6);
        ck_assert_mem_eq(desc, ((const uint8_t[]) { 0x05, 0x01, 0x09, 0x02, 0xa1, 0x01 }), 6);
        ck_assert_str_eq(hid_recording_name(r), "wrapped");
        ck_assert_ptr_null(hid_recording_phys(r));
        ck_assert_int_eq(hid_recording_ids(r, &(uint32_t) { 0 }, &(uint32_t) { 0 }, &(uint32_t) { 0 }), -ENODATA);
        ck_assert_int_eq(hid_recording_next(r, ev, &err), 1);
        ck_assert_uint_eq(ev->time_us, 1500000);
        ck_assert_uint_eq(ev->size, 2);
        ck_assert_uint_eq(ev->data[1], 0xbb);
        ck_assert_int_eq(hid_recording_next(r, ev, &err), 1);
        ck_assert_uint_eq(ev->time_us, 2000001);
        ck_assert_uint_eq(ev->size, 0);
        ck_assert_int_eq(hid_recording_next(r, ev, &err), 0);
        r = hid_recording_free(r);
}
END_TEST

static void recording_bad(const char *text, bool at_open, const char *what) {
        _cleanup_free_ HidRecordingEvent *ev = malloc(sizeof(HidRecordingEvent));
        _cleanup_(hid_recording_freep) HidRecording *r = NULL;
        da_error err = {};
        int k;

        k = open_text(text, &r, &err);
        if (at_open)
                ck_assert_int_eq(k, -EBADMSG);
        else {
                ck_assert_int_eq(k, 0);
                do
                        k = hid_recording_next(r, ev, &err);
                while (k > 0);
                ck_assert_int_eq(k, -EBADMSG);
        }
        ck_assert_msg(strstr(err.message, what), "message '%s' lacks '%s'", err.message, what);
}

START_TEST(test_recording_malformed) {
        recording_bad("N: no descriptor\nE: 0.000000 1 00\n", true, "no R:");
        recording_bad("R: 3 05 01\n", true, "line 1: R: descriptor shorter");
        recording_bad("R: 3 05 01\nN: x\n", true, "line 2: R: descriptor shorter");
        recording_bad("R: 1 05 01\n", true, "exceed the stated size");
        recording_bad("R: 4097 05\n", true, "1..4096");
        recording_bad("R: 0\n", true, "size 0");
        recording_bad("R: 2 05 0x1\n", true, "not hex");
        recording_bad("R: 1 05\nR: 1 06\n", true, "line 2: second R:");
        recording_bad("R: 1 05\nI: 3 zz 1\n", true, "I: needs");
        recording_bad("R: 1 05\nhello\n", true, "not a hid-recorder line");
        recording_bad("R: 1 05\nE: 0.000000 2 00\n", false, "line 2: E: byte count");
        recording_bad("R: 1 05\nE: 0.000000 1 00 01\n", false, "byte count");
        recording_bad("R: 1 05\nE: 0 1 00\n", false, "seconds.microseconds");
        recording_bad("R: 1 05\nE: 0.000000 4097\n", false, "report size");
        recording_bad("R: 1 05\nE: 0.000000 1 00\nE: 0.1 1 123\n", false, "line 3:");
        recording_bad("", true, "empty");
}
END_TEST

static Suite *hid_suite(void) {
        Suite *s = suite_create("hid-descriptor");
        TCase *tc = tcase_create("core");

        tcase_add_checked_fixture(tc, load_gazehid, free_gazehid);
        tcase_add_test(tc, test_gazehid_layout);
        tcase_add_test(tc, test_gazehid_decode);
        tcase_add_test(tc, test_gazehid_bad_reports);
        tcase_add_test(tc, test_gazehid_truncated);
        tcase_add_test(tc, test_malformed);
        tcase_add_test(tc, test_limits_accepted);
        tcase_add_test(tc, test_usages_and_state);
        tcase_add_test(tc, test_unaligned_extract);
        tcase_add_test(tc, test_head_tracker_units);
        tcase_add_test(tc, test_not_an_eye_tracker);
        tcase_add_test(tc, test_mutations);
        tcase_add_test(tc, test_recording);
        tcase_add_test(tc, test_recording_formats);
        tcase_add_test(tc, test_recording_malformed);
        suite_add_tcase(s, tc);
        return s;
}

int main(void) {
        return test_run(hid_suite());
}
