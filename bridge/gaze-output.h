/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Where the bridge's frames go: a uinput device (libevdev) or an evemu
 * recording of the events the device would emit. Both carry deepactifd's
 * evdev profile (daemon/evdev-profile.h, deepactifd(8) "EVDEV PROFILE")
 * with fine resolutions, so the units survive: lengths at
 * GAZE_OUTPUT_UNITS_PER_MM, direction components at
 * GAZE_OUTPUT_UNITS_PER_ONE. Values beyond an axis' range are clamped.
 */

#include <stdint.h>

#include "pupil-gaze.h"

#define GAZE_OUTPUT_NAME "deepactif-bridge Pupil gaze"
#define GAZE_OUTPUT_UNITS_PER_MM 10000          /* 0.1 µm; ±214 m in 32 bits */
#define GAZE_OUTPUT_UNITS_PER_ONE 100000000     /* 1e-8 */

typedef struct GazeOutput GazeOutput;

/* The uinput device, created now and kept until freed. */
int gaze_output_new_uinput(GazeOutput **ret);
/* An evemu recording at path, its device description written now. */
int gaze_output_new_evemu(const char *path, GazeOutput **ret);
/* One frame: the axes that changed, then SYN_REPORT. time_us is the
 * evdev-timeline time written to the evemu recording (uinput events are
 * stamped by the kernel when written). */
int gaze_output_write(GazeOutput *o, uint64_t time_us, const PupilGaze *g);
/* The uinput device node, or NULL. */
const char *gaze_output_devnode(GazeOutput *o);
GazeOutput *gaze_output_free(GazeOutput *o);
