/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the HID descriptor parser and the eye-tracker decoder.
 * Input: a little-endian u16 descriptor length L, L descriptor bytes, then
 * one raw input report (the rest).
 */
#include <errno.h>
#include <stdlib.h>

#include "hid-descriptor.h"
#include "hid-eyetracker.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        _cleanup_(hid_eyetracker_freep) HidEyeTracker *t = NULL;
        HidEyeTrackerStatus st;
        da_error err = {};
        da_frame fr;
        size_t len;
        int r;

        if (size < 2)
                return 0;
        len = MIN((size_t) (data[0] | data[1] << 8), size - 2);
        data += 2;
        size -= 2;

        r = hid_descriptor_parse(data, len, &d, &err);
        if (r == 0 && !d)
                abort();
        if (r < 0) {
                if (r != -EBADMSG || err.message[0] == 0)
                        abort();        /* every rejection must say why */
                return 0;
        }

        for (size_t i = 0; i < d->n_fields; i++)
                for (uint32_t k = 0; k < d->fields[i].count; k++)
                        (void) hid_field_usage(&d->fields[i], k);

        r = hid_eyetracker_new(d, &t, &err);
        if (r < 0)
                return 0;
        r = hid_eyetracker_decode(t, data + len, size - len, &fr);
        if (r != 0 && r != -EBADMSG && r != -ENOMSG)
                abort();
        r = hid_eyetracker_decode_status(t, data + len, size - len, &st);
        if (r != 0 && r != -EBADMSG)
                abort();
        return 0;
}
