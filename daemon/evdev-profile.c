/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>

#include "evdev-profile.h"

static const struct {
        unsigned code;
        da_channel channel;
} profile[] = {
        { ABS_X,        DA_CH_GAZE_POINT_X },
        { ABS_Y,        DA_CH_GAZE_POINT_Y },
        { ABS_Z,        DA_CH_GAZE_POINT_Z },
        { ABS_RX,       DA_CH_EYE_LEFT_DIRECTION_X },
        { ABS_RY,       DA_CH_EYE_LEFT_DIRECTION_Y },
        { ABS_RZ,       DA_CH_EYE_LEFT_DIRECTION_Z },
        { ABS_THROTTLE, DA_CH_EYE_RIGHT_DIRECTION_X },
        { ABS_RUDDER,   DA_CH_EYE_RIGHT_DIRECTION_Y },
        { ABS_WHEEL,    DA_CH_EYE_RIGHT_DIRECTION_Z },
        { ABS_HAT0X,    DA_CH_EYE_LEFT_ORIGIN_X },
        { ABS_HAT0Y,    DA_CH_EYE_LEFT_ORIGIN_Y },
        { ABS_HAT1X,    DA_CH_EYE_LEFT_ORIGIN_Z },
        { ABS_HAT1Y,    DA_CH_EYE_RIGHT_ORIGIN_X },
        { ABS_HAT2X,    DA_CH_EYE_RIGHT_ORIGIN_Y },
        { ABS_HAT2Y,    DA_CH_EYE_RIGHT_ORIGIN_Z },
        { ABS_HAT3X,    DA_CH_PUPIL_LEFT_DIAMETER },
        { ABS_HAT3Y,    DA_CH_PUPIL_RIGHT_DIAMETER },
};

int evdev_profile_channel(unsigned code) {
        for (size_t i = 0; i < ELEMENTSOF(profile); i++)
                if (profile[i].code == code)
                        return (int) profile[i].channel;
        return -ENOENT;
}

void evdev_framer_init(EvdevFramer *f) {
        *f = (EvdevFramer) {};
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                f->value[c] = NAN;
}

void evdev_framer_set_axis(EvdevFramer *f, unsigned code, const struct input_absinfo *abs) {
        int c = evdev_profile_channel(code);
        double res;

        if (c < 0)
                return;
        res = abs->resolution > 0 ? abs->resolution : 1;
        /* Lengths arrive in units per millimetre; channels are in metres. */
        f->scale[c] = (float) (streq(da_channel_unit(c), "m") ? 1e-3 / res : 1.0 / res);
        f->value[c] = (float) abs->value * f->scale[c];
        f->channels |= UINT64_C(1) << c;
}

void evdev_framer_drop(EvdevFramer *f) {
        f->dropping = true;
        f->dropped++;
}

int evdev_framer_feed(EvdevFramer *f, const struct input_event *ev, da_frame *ret) {
        int c;

        if (ev->type == EV_SYN && ev->code == SYN_DROPPED) {
                evdev_framer_drop(f);
                return 0;
        }
        if (ev->type == EV_SYN && ev->code == SYN_REPORT) {
                if (f->dropping) {
                        f->dropping = false;
                        return 0;
                }
                ret->time_us = (uint64_t) ev->input_event_sec * 1000000u + (uint64_t) ev->input_event_usec;
                memcpy(ret->ch, f->value, sizeof f->value);
                return 1;
        }
        if (ev->type != EV_ABS)
                return 0;
        c = evdev_profile_channel(ev->code);
        if (c < 0 || !(f->channels & (UINT64_C(1) << c)))
                return 0;
        f->value[c] = (float) ev->value * f->scale[c];
        return 0;
}
