/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The frame sources the manager starts; one file each. Every source turns
 * its input into da_frames and hands them to a Device. */

#include "manager.h"

/* Both replay kinds start with this, so the manager holds either. */
struct Replay {
        Replay *(*free)(Replay *r);
};

/* source-replay.c: a da_reader recording (Robust Vision TSV, Tobii CSV,
 * EyeLink ASC) at recorded speed, a multiple of it, or as fast as possible.
 * At the end it calls manager_replay_finished(), or starts over (--loop). */
int replay_new(Manager *m, const char *path, da_recording_format format, Replay **ret);
Replay *replay_free(Replay *r);          /* either kind */

/* source-evemu.c: an evemu recording through the evdev profile. */
int evemu_replay_new(Manager *m, const char *path, Replay **ret);

/* source-evdev.c: /dev/input/event* nodes tagged ID_INPUT_EYETRACKER=1 by
 * udev, plus the config's Devices= paths under /dev/input; hotplug. */
int evdev_monitor_new(Manager *m, EvdevMonitor **ret);
EvdevMonitor *evdev_monitor_free(EvdevMonitor *e);

/* source-hidraw.c: /dev/hidraw* nodes whose report descriptor has an Eye
 * Tracker application collection, plus Devices= paths under /dev/hidraw*;
 * hotplug. */
int hidraw_monitor_new(Manager *m, HidrawMonitor **ret);
HidrawMonitor *hidraw_monitor_free(HidrawMonitor *h);

/* The replay reached its end (error < 0: it failed there). */
void manager_replay_finished(Manager *m, int error);

/* The pacing shared by both replays: when the frame stamped frame_us is
 * due, given the first frame's stamp and the monotonic start time. */
uint64_t replay_due_usec(const Manager *m, uint64_t start_mono_us, uint64_t first_frame_us, uint64_t frame_us);
