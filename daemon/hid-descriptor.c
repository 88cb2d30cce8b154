/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "hid-descriptor.h"

/* Item types and tags, HID 1.11 §6.2.2.4–§6.2.2.8. */
enum {
        ITEM_MAIN = 0,
        ITEM_GLOBAL = 1,
        ITEM_LOCAL = 2,
        ITEM_RESERVED = 3,
};

enum {
        MAIN_INPUT = 0x8,
        MAIN_OUTPUT = 0x9,
        MAIN_COLLECTION = 0xa,
        MAIN_FEATURE = 0xb,
        MAIN_END_COLLECTION = 0xc,
};

enum {
        GLOBAL_USAGE_PAGE = 0x0,
        GLOBAL_LOGICAL_MIN = 0x1,
        GLOBAL_LOGICAL_MAX = 0x2,
        GLOBAL_PHYSICAL_MIN = 0x3,
        GLOBAL_PHYSICAL_MAX = 0x4,
        GLOBAL_UNIT_EXPONENT = 0x5,
        GLOBAL_UNIT = 0x6,
        GLOBAL_REPORT_SIZE = 0x7,
        GLOBAL_REPORT_ID = 0x8,
        GLOBAL_REPORT_COUNT = 0x9,
        GLOBAL_PUSH = 0xa,
        GLOBAL_POP = 0xb,
};

enum {
        LOCAL_USAGE = 0x0,
        LOCAL_USAGE_MIN = 0x1,
        LOCAL_USAGE_MAX = 0x2,
        LOCAL_DELIMITER = 0xa,
};

#define LONG_ITEM_PREFIX 0xfe

/* Logical and physical maxima are kept raw: whether they are signed depends
 * on the matching minimum, which a descriptor may declare after them. */
typedef struct RawValue {
        uint32_t u;
        unsigned bytes;
} RawValue;

typedef struct GlobalState {
        uint16_t usage_page;
        int64_t logical_min, physical_min;
        RawValue logical_max, physical_max;
        int unit_exponent;
        uint32_t unit;
        uint32_t report_size;
        uint32_t report_count;
        uint8_t report_id;
} GlobalState;

typedef struct LocalUsage {
        uint32_t min, max;
        bool extended;          /* the item carried its own usage page */
} LocalUsage;

typedef struct LocalState {
        LocalUsage usages[HID_MAX_USAGE_RANGES];
        unsigned n_usages;
        bool have_min;
        uint32_t min;
        bool min_extended;
        unsigned delimiter_depth;
        unsigned delimiter_usages;     /* usages seen inside the open delimiter set */
} LocalState;

typedef struct Parser {
        HidDescriptor *d;
        size_t allocated_collections, allocated_fields, allocated_reports;
        GlobalState global;
        GlobalState stack[HID_MAX_PUSH_DEPTH];
        unsigned stack_depth;
        LocalState local;
        uint32_t open[HID_MAX_COLLECTION_DEPTH];
        unsigned n_open;
        bool seen_field_without_id;
        da_error *err;
        size_t offset;          /* of the item being parsed, for messages */
} Parser;

static int fail(Parser *p, const char *what) {
        return da_error_set(p->err, -EBADMSG, "HID descriptor offset 0x%04zx: %s", p->offset, what);
}

/* Grows *array so it holds at least need elements. */
static int grow(void **array, size_t *allocated, size_t need, size_t elem) {
        size_t n;
        void *q;

        if (need <= *allocated)
                return 0;
        n = MAX(need, MAX(*allocated * 2, (size_t) 8));
        q = reallocarray(*array, n, elem);
        if (!q)
                return -ENOMEM;
        *array = q;
        *allocated = n;
        return 0;
}

HidDescriptor *hid_descriptor_free(HidDescriptor *d) {
        if (!d)
                return NULL;
        for (size_t i = 0; i < d->n_fields; i++)
                free(d->fields[i].usages);
        free(d->fields);
        free(d->collections);
        free(d->reports);
        free(d);
        return NULL;
}

static uint32_t item_udata(const uint8_t *data, unsigned bytes) {
        uint32_t v = 0;

        for (unsigned i = 0; i < bytes; i++)
                v |= (uint32_t) data[i] << (8 * i);
        return v;
}

static int64_t sign_extend(uint32_t v, unsigned bytes) {
        switch (bytes) {
        case 1:
                return (int8_t) v;
        case 2:
                return (int16_t) v;
        case 4:
                return (int32_t) v;
        default:
                return 0;
        }
}

static int64_t resolve_max(RawValue max, int64_t min) {
        return min < 0 ? sign_extend(max.u, max.bytes) : (int64_t) max.u;
}

static void local_reset(LocalState *l) {
        l->n_usages = 0;
        l->have_min = false;
        l->delimiter_depth = 0;
        l->delimiter_usages = 0;
}

static int local_add(Parser *p, uint32_t min, uint32_t max, bool extended) {
        LocalState *l = &p->local;

        /* Within a delimiter set only the first usage counts (HID 1.11 §6.2.2.8). */
        if (l->delimiter_depth > 0 && l->delimiter_usages++ > 0)
                return 0;
        if (l->n_usages >= HID_MAX_USAGE_RANGES)
                return fail(p, "too many Usage items before one main item");
        l->usages[l->n_usages++] = (LocalUsage) { .min = min, .max = max, .extended = extended };
        return 0;
}

static uint32_t resolve_usage(const Parser *p, uint32_t u, bool extended) {
        /* §6.2.2.8: a short usage takes the last Usage Page declared before the main item. */
        return extended ? u : HID_USAGE(p->global.usage_page, u & 0xffffu);
}

static int parse_local(Parser *p, unsigned tag, uint32_t v, unsigned bytes) {
        LocalState *l = &p->local;
        bool extended = bytes == 4;

        switch (tag) {
        case LOCAL_USAGE:
                return local_add(p, v, v, extended);
        case LOCAL_USAGE_MIN:
                if (l->have_min)
                        return fail(p, "Usage Minimum follows Usage Minimum without a Usage Maximum");
                l->have_min = true;
                l->min = v;
                l->min_extended = extended;
                return 0;
        case LOCAL_USAGE_MAX:
                if (!l->have_min)
                        return fail(p, "Usage Maximum without a preceding Usage Minimum");
                l->have_min = false;
                if (l->min_extended != extended ||
                    (extended && HID_USAGE_PAGE(l->min) != HID_USAGE_PAGE(v)))
                        return fail(p, "Usage Minimum and Usage Maximum on different usage pages");
                if ((v & 0xffffu) < (l->min & 0xffffu))
                        return fail(p, "Usage Maximum below Usage Minimum");
                return local_add(p, l->min, v, extended);
        case LOCAL_DELIMITER:
                if (v == 1) {
                        if (l->delimiter_depth > 0)
                                return fail(p, "nested Delimiter");
                        l->delimiter_depth = 1;
                        l->delimiter_usages = 0;
                } else if (v == 0) {
                        if (l->delimiter_depth == 0)
                                return fail(p, "Delimiter close without open");
                        l->delimiter_depth = 0;
                } else
                        return fail(p, "Delimiter value other than 0 or 1");
                return 0;
        default:
                /* Designator and string indices: nothing to decode from them. */
                return 0;
        }
}

static int parse_global(Parser *p, unsigned tag, uint32_t v, unsigned bytes) {
        GlobalState *g = &p->global;

        switch (tag) {
        case GLOBAL_USAGE_PAGE:
                g->usage_page = (uint16_t) v;
                return 0;
        case GLOBAL_LOGICAL_MIN:
                g->logical_min = sign_extend(v, bytes);
                return 0;
        case GLOBAL_LOGICAL_MAX:
                g->logical_max = (RawValue) { v, bytes };
                return 0;
        case GLOBAL_PHYSICAL_MIN:
                g->physical_min = sign_extend(v, bytes);
                return 0;
        case GLOBAL_PHYSICAL_MAX:
                g->physical_max = (RawValue) { v, bytes };
                return 0;
        case GLOBAL_UNIT_EXPONENT:
                /* Usually a 4-bit two's complement nibble (0xc = −4); larger
                 * items are plain signed values, as Linux reads them. */
                g->unit_exponent = v <= 0xf ? (v & 0x8 ? (int) v - 16 : (int) v) : (int) sign_extend(v, bytes);
                return 0;
        case GLOBAL_UNIT:
                g->unit = v;
                return 0;
        case GLOBAL_REPORT_SIZE:
                if (v > HID_MAX_REPORT_BITS)
                        return fail(p, "Report Size larger than a report may be");
                g->report_size = v;
                return 0;
        case GLOBAL_REPORT_ID:
                if (v == 0 || v > 0xff)
                        return fail(p, "Report ID must be 1..255");
                if (p->seen_field_without_id)
                        return fail(p, "Report ID declared after fields that had none");
                g->report_id = (uint8_t) v;
                p->d->uses_report_ids = true;
                return 0;
        case GLOBAL_REPORT_COUNT:
                if (v > HID_MAX_REPORT_COUNT)
                        return fail(p, "Report Count is huge");
                g->report_count = v;
                return 0;
        case GLOBAL_PUSH:
                if (p->stack_depth >= HID_MAX_PUSH_DEPTH)
                        return fail(p, "Push nested too deeply");
                p->stack[p->stack_depth++] = *g;
                return 0;
        case GLOBAL_POP:
                if (p->stack_depth == 0)
                        return fail(p, "Pop without Push");
                *g = p->stack[--p->stack_depth];
                return 0;
        default:
                return fail(p, "reserved global item tag");
        }
}

static HidReport *report_get(Parser *p, HidReportType type, uint8_t id) {
        HidDescriptor *d = p->d;

        for (size_t i = 0; i < d->n_reports; i++)
                if (d->reports[i].type == type && d->reports[i].id == id)
                        return &d->reports[i];
        if (grow((void **) &d->reports, &p->allocated_reports, d->n_reports + 1, sizeof(HidReport)) < 0)
                return NULL;
        d->reports[d->n_reports] = (HidReport) { .type = type, .id = id };
        return &d->reports[d->n_reports++];
}

static uint32_t innermost_application(const Parser *p) {
        for (unsigned i = p->n_open; i > 0; i--)
                if (p->d->collections[p->open[i - 1]].type == HID_COLLECTION_APPLICATION)
                        return p->open[i - 1];
        return HID_NO_COLLECTION;
}

static int add_field(Parser *p, HidReportType type, uint32_t flags) {
        const GlobalState *g = &p->global;
        const LocalState *l = &p->local;
        HidDescriptor *d = p->d;
        _cleanup_free_ HidUsageRange *usages = NULL;
        HidReport *report;
        uint64_t bits;
        HidField *f;

        if (l->have_min)
                return fail(p, "Usage Minimum without a Usage Maximum");
        if (l->delimiter_depth > 0)
                return fail(p, "main item inside an open Delimiter set");
        if (g->report_count == 0)
                return 0;       /* no bits; nothing to record */
        if (g->report_size == 0)
                return fail(p, "Report Size 0");
        if (l->n_usages > 0 && g->report_size > HID_MAX_VALUE_BITS)
                return fail(p, "Report Size above 32 bits for a field with usages");
        if (l->n_usages > 0 && resolve_max(g->logical_max, g->logical_min) < g->logical_min)
                return fail(p, "Logical Maximum below Logical Minimum");
        if (d->n_fields >= HID_MAX_FIELDS)
                return fail(p, "too many report fields");

        report = report_get(p, type, g->report_id);
        if (!report)
                return -ENOMEM;
        bits = (uint64_t) g->report_size * g->report_count;
        if (report->bits + bits > HID_MAX_REPORT_BITS)
                return fail(p, "report longer than 4096 bits");

        if (l->n_usages > 0) {
                usages = calloc(l->n_usages, sizeof(HidUsageRange));
                if (!usages)
                        return -ENOMEM;
                for (unsigned i = 0; i < l->n_usages; i++)
                        usages[i] = (HidUsageRange) {
                                .min = resolve_usage(p, l->usages[i].min, l->usages[i].extended),
                                .max = resolve_usage(p, l->usages[i].max, l->usages[i].extended),
                        };
        }
        if (grow((void **) &d->fields, &p->allocated_fields, d->n_fields + 1, sizeof(HidField)) < 0)
                return -ENOMEM;

        f = &d->fields[d->n_fields++];
        *f = (HidField) {
                .type = type,
                .report_id = g->report_id,
                .bit_offset = report->bits,
                .size = g->report_size,
                .count = g->report_count,
                .flags = flags,
                .is_signed = g->logical_min < 0,
                .logical_min = g->logical_min,
                .logical_max = resolve_max(g->logical_max, g->logical_min),
                .physical_min = g->physical_min,
                .physical_max = resolve_max(g->physical_max, g->physical_min),
                .unit = g->unit,
                .unit_exponent = g->unit_exponent,
                .usages = TAKE_PTR(usages),
                .n_usages = l->n_usages,
                .collection = p->n_open > 0 ? p->open[p->n_open - 1] : HID_NO_COLLECTION,
                .application = innermost_application(p),
        };
        report->bits += (uint32_t) bits;
        if (!d->uses_report_ids)
                p->seen_field_without_id = true;
        return 0;
}

static int open_collection(Parser *p, uint32_t type) {
        HidDescriptor *d = p->d;
        const LocalState *l = &p->local;

        if (p->n_open >= HID_MAX_COLLECTION_DEPTH)
                return fail(p, "collections nested too deeply");
        if (d->n_collections >= HID_MAX_COLLECTIONS)
                return fail(p, "too many collections");
        if (grow((void **) &d->collections, &p->allocated_collections, d->n_collections + 1,
                 sizeof(HidCollection)) < 0)
                return -ENOMEM;

        d->collections[d->n_collections] = (HidCollection) {
                .type = (uint8_t) type,
                .usage = l->n_usages > 0 ? resolve_usage(p, l->usages[0].min, l->usages[0].extended) : 0,
                .parent = p->n_open > 0 ? p->open[p->n_open - 1] : HID_NO_COLLECTION,
                .depth = p->n_open,
        };
        p->open[p->n_open++] = (uint32_t) d->n_collections++;
        return 0;
}

static int parse_main(Parser *p, unsigned tag, uint32_t v) {
        int r;

        switch (tag) {
        case MAIN_INPUT:
                r = add_field(p, HID_REPORT_INPUT, v);
                break;
        case MAIN_OUTPUT:
                r = add_field(p, HID_REPORT_OUTPUT, v);
                break;
        case MAIN_FEATURE:
                r = add_field(p, HID_REPORT_FEATURE, v);
                break;
        case MAIN_COLLECTION:
                if (v > 0xff)
                        return fail(p, "Collection type out of range");
                r = open_collection(p, v);
                break;
        case MAIN_END_COLLECTION:
                if (p->n_open == 0)
                        return fail(p, "End Collection without an open collection");
                p->n_open--;
                r = 0;
                break;
        default:
                return fail(p, "reserved main item tag");
        }
        if (r < 0)
                return r;
        local_reset(&p->local);
        return 0;
}

int hid_descriptor_parse(const uint8_t *data, size_t size, HidDescriptor **ret, da_error *err) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        static const unsigned item_bytes[4] = { 0, 1, 2, 4 };
        Parser p = { .err = err };
        size_t i = 0;
        int r;

        if (!data && size > 0)
                return -EINVAL;
        if (size == 0)
                return da_error_set(err, -EBADMSG, "HID descriptor is empty");

        d = calloc(1, sizeof(HidDescriptor));
        if (!d)
                return -ENOMEM;
        p.d = d;

        while (i < size) {
                uint8_t prefix = data[i];
                unsigned bytes, type, tag;
                uint32_t v;

                p.offset = i;
                if (prefix == LONG_ITEM_PREFIX)
                        return fail(&p, "long items are not supported");

                bytes = item_bytes[prefix & 0x3];
                type = (prefix >> 2) & 0x3;
                tag = prefix >> 4;
                if (bytes > size - i - 1)
                        return fail(&p, "item truncated by the end of the descriptor");
                v = item_udata(data + i + 1, bytes);
                i += 1 + bytes;

                switch (type) {
                case ITEM_MAIN:
                        r = parse_main(&p, tag, v);
                        break;
                case ITEM_GLOBAL:
                        r = parse_global(&p, tag, v, bytes);
                        break;
                case ITEM_LOCAL:
                        r = parse_local(&p, tag, v, bytes);
                        break;
                default:
                        return fail(&p, "reserved item type");
                }
                if (r < 0)
                        return r;
        }

        if (p.n_open > 0) {
                p.offset = size;
                return fail(&p, "collection not closed at the end of the descriptor");
        }

        *ret = TAKE_PTR(d);
        return 0;
}

const HidReport *hid_descriptor_find_report(const HidDescriptor *d, HidReportType type, uint8_t id) {
        for (size_t i = 0; i < d->n_reports; i++)
                if (d->reports[i].type == type && d->reports[i].id == id)
                        return &d->reports[i];
        return NULL;
}

size_t hid_descriptor_report_length(const HidDescriptor *d, HidReportType type, uint8_t id) {
        const HidReport *r = hid_descriptor_find_report(d, type, id);

        if (!r)
                return 0;
        return (r->bits + 7) / 8 + (d->uses_report_ids ? 1 : 0);
}

uint32_t hid_field_usage(const HidField *f, uint32_t i) {
        uint64_t k = i;

        if (f->n_usages == 0)
                return 0;
        for (unsigned j = 0; j < f->n_usages; j++) {
                uint64_t span = (uint64_t) (f->usages[j].max - f->usages[j].min) + 1;

                if (k < span)
                        return f->usages[j].min + (uint32_t) k;
                k -= span;
        }
        return f->usages[f->n_usages - 1].max;
}

int hid_field_extract(const HidField *f, uint32_t i, const uint8_t *payload, size_t n, int64_t *ret) {
        uint64_t bit, v = 0, mask;
        size_t first;
        unsigned shift, nbytes;

        if (i >= f->count || f->size == 0 || f->size > HID_MAX_VALUE_BITS)
                return -EBADMSG;
        bit = (uint64_t) f->bit_offset + (uint64_t) i * f->size;
        if (bit + f->size > (uint64_t) n * 8)
                return -EBADMSG;

        first = bit / 8;
        shift = bit % 8;
        nbytes = (shift + f->size + 7) / 8;
        for (unsigned k = 0; k < nbytes; k++)
                v |= (uint64_t) payload[first + k] << (8 * k);
        v >>= shift;
        mask = (UINT64_C(1) << f->size) - 1;
        v &= mask;
        if (f->is_signed && (v >> (f->size - 1)) & 1)
                v |= ~mask;

        *ret = f->is_signed ? (int64_t) v : (int64_t) (v & mask);
        return 0;
}

bool hid_field_value_valid(const HidField *f, int64_t v) {
        return v >= f->logical_min && v <= f->logical_max;
}

const char *hid_report_type_to_string(HidReportType t) {
        static const char *const names[_HID_REPORT_TYPE_MAX] = {
                [HID_REPORT_INPUT] = "input",
                [HID_REPORT_OUTPUT] = "output",
                [HID_REPORT_FEATURE] = "feature",
        };

        return (unsigned) t < _HID_REPORT_TYPE_MAX ? names[t] : NULL;
}
