/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Hotplug without udev (an initramfs, a VM, a container without udevd):
 * sd-device's monitor relays only the events udevd has processed, so where
 * no udevd runs, the live sources read the kernel's own uevents from netlink
 * instead. The device node exists when the "add" event is sent: devtmpfs
 * creates it first.
 */

#include <stdbool.h>
#include <systemd/sd-device.h>
#include <systemd/sd-event.h>

#include "util.h"

typedef struct KernelUevent KernelUevent;

/* action is SD_DEVICE_ADD or SD_DEVICE_REMOVE; devnode is "/dev/" + DEVNAME. */
typedef void (*kernel_uevent_handler_t)(sd_device_action_t action, const char *devnode, void *userdata);

/* Whether udevd runs here, by the same test libudev makes. */
bool kernel_uevent_udev_running(void);

/* Calls handler for add and remove events of devices with a node in
 * subsystem. */
int kernel_uevent_new(sd_event *event, const char *subsystem, kernel_uevent_handler_t handler, void *userdata,
                      KernelUevent **ret);
KernelUevent *kernel_uevent_free(KernelUevent *k);
DEFINE_TRIVIAL_CLEANUP_FUNC(KernelUevent *, kernel_uevent_free);
