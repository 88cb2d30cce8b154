/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Reader for hid-tools' hid-recorder text format, so recorded HID sessions
 * can be replayed through the same descriptor parser and decoder as hidraw:
 *
 *     # comment
 *     D: 0                              device index (multi-device recordings)
 *     R: 340 05 12 09 01 ...            descriptor size (decimal), bytes (hex);
 *                                       older recorders wrap it over lines
 *     N: Device name
 *     P: usb-0000:00:14.0-1/input0
 *     I: 3 045e 0001                    bus, vendor, product (hex)
 *     E: 000000.008032 65 10 ...        seconds.microseconds, size, bytes
 *
 * Only device 0 is read; events of other devices are skipped.
 */

#include <stdint.h>
#include <stdio.h>

#include "util.h"

#define HID_RECORDING_MAX_DESCRIPTOR 4096       /* HID_MAX_DESCRIPTOR_SIZE */
#define HID_RECORDING_MAX_REPORT     4096       /* hidraw's largest report */

typedef struct HidRecording HidRecording;

typedef struct HidRecordingEvent {
        uint64_t time_us;       /* since the start of the recording */
        size_t size;
        uint8_t data[HID_RECORDING_MAX_REPORT];
} HidRecordingEvent;

/* Reads the header (everything before the first event). −EBADMSG with err
 * naming the line when it is malformed or has no R: line. */
int hid_recording_open(const char *path, HidRecording **ret, da_error *err);
/* Same, over a memory buffer that must outlive the recording. */
int hid_recording_open_memory(const char *text, size_t n, HidRecording **ret, da_error *err);
HidRecording *hid_recording_free(HidRecording *r);

/* 1 and the next event, 0 at the end, −EBADMSG with err naming the line. */
int hid_recording_next(HidRecording *r, HidRecordingEvent *ret, da_error *err);

const uint8_t *hid_recording_descriptor(const HidRecording *r, size_t *ret_size);
const char *hid_recording_name(const HidRecording *r);          /* NULL without N: */
const char *hid_recording_phys(const HidRecording *r);          /* NULL without P: */
/* −ENODATA when the recording has no I: line. */
int hid_recording_ids(const HidRecording *r, uint32_t *ret_bus, uint32_t *ret_vendor, uint32_t *ret_product);

DEFINE_TRIVIAL_CLEANUP_FUNC(HidRecording *, hid_recording_free);
