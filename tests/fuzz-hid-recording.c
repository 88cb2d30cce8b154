/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the hid-recorder reader: header, every event, and the
 * recorded descriptor through the parser and the eye-tracker decoder.
 */
#include <errno.h>
#include <stdlib.h>

#include "hid-descriptor.h"
#include "hid-eyetracker.h"
#include "hid-recording.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(hid_recording_freep) HidRecording *rec = NULL;
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        _cleanup_(hid_eyetracker_freep) HidEyeTracker *t = NULL;
        _cleanup_free_ HidRecordingEvent *ev = NULL;
        const uint8_t *desc;
        da_error err = {};
        size_t n;
        da_frame fr;
        int r;

        r = hid_recording_open_memory((const char *) data, size, &rec, &err);
        if (r < 0) {
                if (r != -EBADMSG || err.message[0] == 0)
                        abort();
                return 0;
        }
        desc = hid_recording_descriptor(rec, &n);
        if (n == 0 || n > HID_RECORDING_MAX_DESCRIPTOR)
                abort();
        if (hid_descriptor_parse(desc, n, &d, NULL) == 0)
                (void) hid_eyetracker_new(d, &t, NULL);

        ev = malloc(sizeof(HidRecordingEvent));
        if (!ev)
                return 0;
        while ((r = hid_recording_next(rec, ev, &err)) > 0) {
                if (ev->size > HID_RECORDING_MAX_REPORT)
                        abort();
                if (t)
                        (void) hid_eyetracker_decode(t, ev->data, ev->size, &fr);
        }
        if (r < 0 && (r != -EBADMSG || err.message[0] == 0))
                abort();
        return 0;
}
