/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The device nodes of one subsystem, now and as they come and go: the
 * devices present are enumerated, then hotplug follows udev's monitor or,
 * where no udevd runs, the kernel's own uevents (kernel-uevent.h). The live
 * sources (hidraw, evdev) decide in the callback which devices they want. */

#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "util.h"

typedef struct DeviceWatch DeviceWatch;

/* action is SD_DEVICE_ADD (also for each device present at the start) or
 * SD_DEVICE_REMOVE; d may be NULL when a removed device is gone already. */
typedef void (*device_watch_fn)(sd_device *d, const char *devnode, sd_device_action_t action, void *userdata);

/* What cannot be watched or enumerated is logged once and left out: a
 * daemon without hotplug still reads the devices it is given. */
int device_watch_new(sd_event *event, const char *subsystem, device_watch_fn fn, void *userdata,
                     DeviceWatch **ret);
DeviceWatch *device_watch_free(DeviceWatch *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(DeviceWatch *, device_watch_free);
