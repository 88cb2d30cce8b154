/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <evemu.h>
#include <fcntl.h>
#include <libevdev/libevdev-uinput.h>
#include <math.h>

#include "evdev-profile.h"
#include "gaze-output.h"

#define LENGTH_LIMIT 2000000000         /* ±200 m */

typedef struct Axis {
        unsigned code;
        da_channel channel;
        int minimum, maximum, resolution;
        int value;                      /* last written */
} Axis;

struct GazeOutput {
        Axis axes[ABS_CNT];
        unsigned n_axes;
        struct libevdev *dev;
        struct libevdev_uinput *uidev;
        FILE *evemu;
};

/* The profile's axes, with this bridge's ranges and resolutions. */
static void setup_axes(GazeOutput *o) {
        for (unsigned code = 0; code < ABS_CNT; code++) {
                int c = evdev_profile_channel(code);
                Axis *a;

                if (c < 0)
                        continue;
                a = &o->axes[o->n_axes++];
                *a = (Axis) { .code = code, .channel = c };
                if (c == DA_CH_PUPIL_LEFT_DIAMETER || c == DA_CH_PUPIL_RIGHT_DIAMETER)
                        *a = (Axis) { code, c, 0, LENGTH_LIMIT, GAZE_OUTPUT_UNITS_PER_MM, 0 };
                else if (streq(da_channel_unit(c), "m"))
                        *a = (Axis) { code, c, -LENGTH_LIMIT, LENGTH_LIMIT, GAZE_OUTPUT_UNITS_PER_MM, 0 };
                else
                        *a = (Axis) { code, c, -GAZE_OUTPUT_UNITS_PER_ONE, GAZE_OUTPUT_UNITS_PER_ONE,
                                      GAZE_OUTPUT_UNITS_PER_ONE, 0 };
        }
}

/* The datum's value for a channel, in the channel's Pupil unit (mm or 1). */
static double channel_value(const PupilGaze *g, da_channel c) {
        switch (c) {
        case DA_CH_GAZE_POINT_X ... DA_CH_GAZE_POINT_Z:
                return g->point[c - DA_CH_GAZE_POINT_X];
        case DA_CH_EYE_LEFT_ORIGIN_X ... DA_CH_EYE_LEFT_ORIGIN_Z:
                return g->center[PUPIL_EYE_LEFT][c - DA_CH_EYE_LEFT_ORIGIN_X];
        case DA_CH_EYE_RIGHT_ORIGIN_X ... DA_CH_EYE_RIGHT_ORIGIN_Z:
                return g->center[PUPIL_EYE_RIGHT][c - DA_CH_EYE_RIGHT_ORIGIN_X];
        case DA_CH_EYE_LEFT_DIRECTION_X ... DA_CH_EYE_LEFT_DIRECTION_Z:
                return g->normal[PUPIL_EYE_LEFT][c - DA_CH_EYE_LEFT_DIRECTION_X];
        case DA_CH_EYE_RIGHT_DIRECTION_X ... DA_CH_EYE_RIGHT_DIRECTION_Z:
                return g->normal[PUPIL_EYE_RIGHT][c - DA_CH_EYE_RIGHT_DIRECTION_X];
        case DA_CH_PUPIL_LEFT_DIAMETER:
                return g->diameter[PUPIL_EYE_LEFT];
        case DA_CH_PUPIL_RIGHT_DIAMETER:
                return g->diameter[PUPIL_EYE_RIGHT];
        default:
                return NAN;
        }
}

GazeOutput *gaze_output_free(GazeOutput *o) {
        if (!o)
                return NULL;
        libevdev_uinput_destroy(o->uidev);
        libevdev_free(o->dev);
        if (o->evemu)
                fclose(o->evemu);
        return mfree(o);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(GazeOutput *, gaze_output_free);

int gaze_output_new_uinput(GazeOutput **ret) {
        _cleanup_(gaze_output_freep) GazeOutput *o = NULL;
        int r;

        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        setup_axes(o);
        o->dev = libevdev_new();
        if (!o->dev)
                return -ENOMEM;
        libevdev_set_name(o->dev, GAZE_OUTPUT_NAME);
        libevdev_set_id_bustype(o->dev, BUS_VIRTUAL);
        libevdev_set_id_version(o->dev, 1);
        for (unsigned i = 0; i < o->n_axes; i++) {
                const Axis *a = &o->axes[i];
                struct input_absinfo abs = {
                        .minimum = a->minimum, .maximum = a->maximum, .resolution = a->resolution,
                };

                r = libevdev_enable_event_code(o->dev, EV_ABS, a->code, &abs);
                if (r < 0)
                        return r;
        }
        r = libevdev_uinput_create_from_device(o->dev, LIBEVDEV_UINPUT_OPEN_MANAGED, &o->uidev);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

/* The description evemu-record writes (evemu-device(1) reads it back). */
static int write_description(GazeOutput *o) {
        uint8_t abs_bits[8] = {};

        for (unsigned i = 0; i < o->n_axes; i++)
                abs_bits[o->axes[i].code / 8] |= (uint8_t) (1u << (o->axes[i].code % 8));
        fprintf(o->evemu, "# EVEMU 1.3\n# Written by deepactif-bridge from Pupil Capture gaze\n"
                "N: %s\nI: %04x 0000 0000 0001\nP: 00 00 00 00 00 00 00 00\n"
                "B: 00 09 00 00 00 00 00 00 00\n"      /* EV_SYN, EV_ABS */
                "B: 03", GAZE_OUTPUT_NAME, BUS_VIRTUAL);
        for (unsigned i = 0; i < sizeof abs_bits; i++)
                fprintf(o->evemu, " %02x", abs_bits[i]);
        fputc('\n', o->evemu);
        for (unsigned i = 0; i < o->n_axes; i++)
                fprintf(o->evemu, "A: %02x %d %d 0 0 %d\n", o->axes[i].code, o->axes[i].minimum,
                        o->axes[i].maximum, o->axes[i].resolution);
        return fflush(o->evemu) == 0 && !ferror(o->evemu) ? 0 : -errno;
}

int gaze_output_new_evemu(const char *path, GazeOutput **ret) {
        _cleanup_(gaze_output_freep) GazeOutput *o = NULL;
        int r;

        o = calloc(1, sizeof *o);
        if (!o)
                return -ENOMEM;
        setup_axes(o);
        if (streq(path, "-")) {
                int fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);

                o->evemu = fd >= 0 ? fdopen(fd, "w") : NULL;
                if (!o->evemu && fd >= 0)
                        close(fd);
        } else
                o->evemu = fopen(path, "we");
        if (!o->evemu)
                return -errno;
        r = write_description(o);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(o);
        return 0;
}

static int emit(GazeOutput *o, uint64_t time_us, unsigned type, unsigned code, int value) {
        struct input_event ev = {
                .input_event_sec = (time_t) (time_us / 1000000u),
                .input_event_usec = (suseconds_t) (time_us % 1000000u),
                .type = (uint16_t) type,
                .code = (uint16_t) code,
                .value = value,
        };

        if (o->uidev)
                return libevdev_uinput_write_event(o->uidev, type, code, value);
        if (evemu_write_event(o->evemu, &ev) < 0)
                return -EIO;
        return 0;
}

int gaze_output_write(GazeOutput *o, uint64_t time_us, const PupilGaze *g) {
        int r;

        for (unsigned i = 0; i < o->n_axes; i++) {
                Axis *a = &o->axes[i];
                double v = channel_value(g, a->channel) * a->resolution;
                int q;

                /* a value the datum lacks (a pupil diameter) holds the last one */
                if (isnan(v))
                        continue;
                q = (int) lround(fmin(fmax(v, a->minimum), a->maximum));
                if (q == a->value)
                        continue;
                r = emit(o, time_us, EV_ABS, a->code, q);
                if (r < 0)
                        return r;
                a->value = q;
        }
        r = emit(o, time_us, EV_SYN, SYN_REPORT, 0);
        if (r < 0)
                return r;
        /* each frame leaves now, as a device's would */
        if (o->evemu && (fflush(o->evemu) != 0 || ferror(o->evemu)))
                return -errno ?: -EIO;
        return 0;
}

const char *gaze_output_devnode(GazeOutput *o) {
        return o->uidev ? libevdev_uinput_get_devnode(o->uidev) : NULL;
}
