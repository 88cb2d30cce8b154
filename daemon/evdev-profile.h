/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The evdev axis → channel profile (deepactifd(8), "EVDEV PROFILE"), shared
 * by the live evdev source and evemu replays so both decode alike:
 *
 *   ABS_X ABS_Y ABS_Z                  gaze.point.x/y/z         units/mm
 *   ABS_RX ABS_RY ABS_RZ               eye.left.direction.x/y/z  units per 1.0
 *   ABS_THROTTLE ABS_RUDDER ABS_WHEEL  eye.right.direction.x/y/z units per 1.0
 *   ABS_HAT0X ABS_HAT0Y ABS_HAT1X      eye.left.origin.x/y/z    units/mm
 *   ABS_HAT1Y ABS_HAT2X ABS_HAT2Y      eye.right.origin.x/y/z   units/mm
 *   ABS_HAT3X ABS_HAT3Y                pupil.left/right.diameter units/mm
 *
 * The resolution field of each axis gives its scale (the kernel's units per
 * millimetre for lengths; for direction components, units per 1.0); 0
 * means 1. A frame is the state of all the device's axes at each
 * SYN_REPORT, stamped with the report's event time; SYN_DROPPED discards
 * events up to the next SYN_REPORT and counts one dropped frame.
 */

#include <linux/input.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

typedef struct EvdevFramer {
        float value[_DA_CH_MAX];        /* current state, NaN for axes not declared */
        float scale[_DA_CH_MAX];        /* channel unit per axis unit */
        uint64_t channels;              /* declared by the device */
        bool dropping;                  /* after SYN_DROPPED, until SYN_REPORT */
        uint64_t dropped;
} EvdevFramer;

/* The channel an ABS_* code maps to, or -ENOENT. */
int evdev_profile_channel(unsigned code);

void evdev_framer_init(EvdevFramer *f);
/* Declares an axis of the device with its range and current value. */
void evdev_framer_set_axis(EvdevFramer *f, unsigned code, const struct input_absinfo *abs);
/* 1 and a frame at SYN_REPORT, 0 otherwise. */
int evdev_framer_feed(EvdevFramer *f, const struct input_event *ev, da_frame *ret);
/* Forgets the partial frame, as libevdev resynchronises the state after
 * SYN_DROPPED (the resync events then go through _feed() again). */
void evdev_framer_drop(EvdevFramer *f);
