/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * A generic HID report-descriptor parser (HID 1.11 §6.2.2): descriptor bytes
 * become a flat list of collections and a flat list of report fields with
 * their bit positions, so a decoder can pull values out of raw hidraw reports
 * without the kernel's hid-input (which skips Constant fields).
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util.h"

/* Limits beyond which a descriptor is rejected rather than trusted. */
#define HID_MAX_FIELDS          256
#define HID_MAX_COLLECTIONS     256
#define HID_MAX_COLLECTION_DEPTH 32
#define HID_MAX_PUSH_DEPTH      8
#define HID_MAX_USAGE_RANGES    256     /* local Usage / Usage Min-Max items per main item */
#define HID_MAX_REPORT_COUNT    4096
#define HID_MAX_REPORT_BITS     4096    /* per report, without the ID byte */
#define HID_MAX_VALUE_BITS      32      /* Report Size of a field that carries usages */

typedef enum HidReportType {
        HID_REPORT_INPUT,
        HID_REPORT_OUTPUT,
        HID_REPORT_FEATURE,
        _HID_REPORT_TYPE_MAX,
} HidReportType;

/* Main item data bits (HID 1.11 §6.2.2.5), kept as the descriptor states them. */
#define HID_FLAG_CONSTANT       0x001u
#define HID_FLAG_VARIABLE       0x002u
#define HID_FLAG_RELATIVE       0x004u
#define HID_FLAG_WRAP           0x008u
#define HID_FLAG_NONLINEAR      0x010u
#define HID_FLAG_NO_PREFERRED   0x020u
#define HID_FLAG_NULL_STATE     0x040u
#define HID_FLAG_VOLATILE       0x080u
#define HID_FLAG_BUFFERED_BYTES 0x100u

#define HID_COLLECTION_PHYSICAL    0x00
#define HID_COLLECTION_APPLICATION 0x01
#define HID_COLLECTION_LOGICAL     0x02

/* Extended usages: usage page in the high 16 bits, usage ID in the low 16. */
#define HID_USAGE(page, id) (((uint32_t) (page) << 16) | (uint32_t) (id))
#define HID_USAGE_PAGE(u) ((uint16_t) ((u) >> 16))
#define HID_USAGE_ID(u) ((uint16_t) ((u) & 0xffffu))

#define HID_NO_COLLECTION UINT32_MAX

typedef struct HidCollection {
        uint8_t type;           /* HID_COLLECTION_* or a vendor value */
        uint32_t usage;         /* 0 when none was declared */
        uint32_t parent;        /* index, or HID_NO_COLLECTION at top level */
        unsigned depth;         /* 0 at top level */
} HidCollection;

typedef struct HidUsageRange {
        uint32_t min, max;      /* inclusive; min == max for a single Usage */
} HidUsageRange;

typedef struct HidField {
        HidReportType type;
        uint8_t report_id;      /* 0 when the descriptor declares no Report ID */
        uint32_t bit_offset;    /* from the first byte after the report ID */
        uint32_t size;          /* bits per element */
        uint32_t count;         /* elements */
        uint32_t flags;         /* HID_FLAG_* */
        bool is_signed;         /* Logical Minimum < 0: elements are two's complement */
        int64_t logical_min, logical_max;
        int64_t physical_min, physical_max;     /* both 0 when undeclared */
        uint32_t unit;
        int unit_exponent;
        HidUsageRange *usages;  /* in declaration order; none for padding */
        unsigned n_usages;
        uint32_t collection;    /* innermost enclosing collection or HID_NO_COLLECTION */
        uint32_t application;   /* enclosing Application collection or HID_NO_COLLECTION */
} HidField;

typedef struct HidReport {
        HidReportType type;
        uint8_t id;
        uint32_t bits;          /* payload without the ID byte */
} HidReport;

typedef struct HidDescriptor {
        HidCollection *collections;
        size_t n_collections;
        HidField *fields;
        size_t n_fields;
        HidReport *reports;
        size_t n_reports;
        bool uses_report_ids;
} HidDescriptor;

/* 0 and a descriptor, or −EBADMSG with err naming the byte offset and the
 * problem, or −ENOMEM. Nothing is allocated on failure. */
int hid_descriptor_parse(const uint8_t *data, size_t size, HidDescriptor **ret, da_error *err);
HidDescriptor *hid_descriptor_free(HidDescriptor *d);

/* The report with this type and ID, or NULL. */
const HidReport *hid_descriptor_find_report(const HidDescriptor *d, HidReportType type, uint8_t id);
/* Bytes a report of this type and ID occupies on the wire, including the ID byte
 * when the descriptor uses IDs; 0 if there is no such report. */
size_t hid_descriptor_report_length(const HidDescriptor *d, HidReportType type, uint8_t id);

/* Usage of element i, per the rule that the last declared usage repeats for
 * the remaining elements; 0 for padding. For array fields (no Variable flag)
 * element i means the i-th entry of the usage list. */
uint32_t hid_field_usage(const HidField *f, uint32_t i);
/* Element i from a report payload (the bytes after the ID byte, n of them),
 * sign-extended when the field is signed; −EBADMSG when the element lies
 * beyond the payload or i ≥ count. */
int hid_field_extract(const HidField *f, uint32_t i, const uint8_t *payload, size_t n, int64_t *ret);
/* Whether a value lies inside the field's logical range (outside it means
 * "no data", HID 1.11 §6.2.2.7 Null State). */
bool hid_field_value_valid(const HidField *f, int64_t v);

const char *hid_report_type_to_string(HidReportType t);

DEFINE_TRIVIAL_CLEANUP_FUNC(HidDescriptor *, hid_descriptor_free);
