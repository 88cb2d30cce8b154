/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Decoder for HID eye trackers (usage page 0x12 "Eye and Head Trackers",
 * HUTRR74): binds the Tracking Data input report's fields to frame channels
 * once, then turns each raw hidraw input report into a da_frame in SI units.
 * Constant-flagged fields are decoded like data fields: GazeHid flags all of
 * its gaze and eye data Constant.
 */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hid-descriptor.h"

#define HID_PAGE_EYE_HEAD_TRACKERS      0x12
#define HID_USAGE_EYE_TRACKER           HID_USAGE(0x12, 0x01)
#define HID_USAGE_TRACKING_DATA         HID_USAGE(0x12, 0x10)
#define HID_USAGE_SENSOR_TIMESTAMP      HID_USAGE(0x12, 0x20)
#define HID_USAGE_POSITION_X            HID_USAGE(0x12, 0x21)
#define HID_USAGE_POSITION_Z            HID_USAGE(0x12, 0x23)
#define HID_USAGE_GAZE_POINT            HID_USAGE(0x12, 0x24)
#define HID_USAGE_LEFT_EYE_POSITION     HID_USAGE(0x12, 0x25)
#define HID_USAGE_RIGHT_EYE_POSITION    HID_USAGE(0x12, 0x26)
#define HID_USAGE_HEAD_POSITION         HID_USAGE(0x12, 0x27)
#define HID_USAGE_ROTATION_X            HID_USAGE(0x12, 0x29)
#define HID_USAGE_ROTATION_Z            HID_USAGE(0x12, 0x2b)
#define HID_USAGE_SAMPLING_FREQUENCY    HID_USAGE(0x12, 0x300)
#define HID_USAGE_CONFIGURATION_STATUS  HID_USAGE(0x12, 0x301)

/* Configuration Status values (GazeHid, HUTRR74). */
enum {
        HID_EYETRACKER_READY = 1,
        HID_EYETRACKER_CONFIGURING = 2,
        HID_EYETRACKER_SCREEN_SETUP_NEEDED = 3,
        HID_EYETRACKER_CALIBRATION_NEEDED = 4,
};

typedef struct HidEyeTrackerStatus {
        int configuration_status;       /* HID_EYETRACKER_*, −1 if absent or invalid */
        double sampling_frequency;      /* Hz, NaN if absent or invalid */
} HidEyeTrackerStatus;

typedef struct HidEyeTracker HidEyeTracker;

/* −ENODEV (with err) when the descriptor has no Eye Tracker application
 * collection, −EBADMSG when it has one but no Tracking Data input report with
 * a field this decoder can bind (or a timestamp wider than 64 bits), −ENOMEM.
 * The tracker keeps no reference to d. */
int hid_eyetracker_new(const HidDescriptor *d, HidEyeTracker **ret, da_error *err);
HidEyeTracker *hid_eyetracker_free(HidEyeTracker *t);

/* One raw input report as read from hidraw (first byte the report ID when
 * the descriptor uses IDs). 0 and a frame for a Tracking Data report: bound
 * channels in SI units, values outside the logical range as NaN, time_us the
 * sensor timestamp in µs (0 when the report has none, see
 * hid_eyetracker_has_timestamp()). −ENOMSG for the tracker's Status input
 * report (decode it with hid_eyetracker_decode_status()). −EBADMSG for an
 * empty or short report and for a report ID that is no input report of the
 * tracker. Never reads beyond n bytes. */
int hid_eyetracker_decode(const HidEyeTracker *t, const uint8_t *report, size_t n, da_frame *ret_frame);
/* 0 for the Status input report, −EBADMSG otherwise (including when the
 * tracker has no Status input report). */
int hid_eyetracker_decode_status(const HidEyeTracker *t, const uint8_t *report, size_t n,
                                 HidEyeTrackerStatus *ret_status);

bool hid_eyetracker_has_channel(const HidEyeTracker *t, da_channel c);
/* The channels it decodes, a bitmask over da_channel. */
uint64_t hid_eyetracker_channels(const HidEyeTracker *t);
bool hid_eyetracker_has_timestamp(const HidEyeTracker *t);
uint8_t hid_eyetracker_tracking_report_id(const HidEyeTracker *t);
/* Wire length of the Tracking Data report, with the ID byte when there is one. */
size_t hid_eyetracker_tracking_report_length(const HidEyeTracker *t);

DEFINE_TRIVIAL_CLEANUP_FUNC(HidEyeTracker *, hid_eyetracker_free);
