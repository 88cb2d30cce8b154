/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "device-watch.h"
#include "kernel-uevent.h"
#include "log.h"

struct DeviceWatch {
        sd_device_monitor *udev;
        KernelUevent *kernel;
        device_watch_fn fn;
        void *userdata;
};

DeviceWatch *device_watch_free(DeviceWatch *w) {
        if (!w)
                return NULL;
        sd_device_monitor_unref(w->udev);
        kernel_uevent_free(w->kernel);
        return mfree(w);
}

static int on_udev(sd_device_monitor *mon, sd_device *d, void *userdata) {
        DeviceWatch *w = userdata;
        sd_device_action_t action;
        const char *devnode;

        if (sd_device_get_devname(d, &devnode) < 0 || sd_device_get_action(d, &action) < 0)
                return 0;
        if (action == SD_DEVICE_ADD || action == SD_DEVICE_REMOVE)
                w->fn(d, devnode, action, w->userdata);
        return 0;
}

static void on_kernel(sd_device_action_t action, const char *devnode, void *userdata) {
        DeviceWatch *w = userdata;
        sd_device *d = NULL;

        if (action == SD_DEVICE_ADD)
                (void) sd_device_new_from_devname(&d, devnode);
        w->fn(d, devnode, action, w->userdata);
        sd_device_unref(d);
}

static int watch_udev(DeviceWatch *w, sd_event *event, const char *subsystem) {
        int r;

        r = sd_device_monitor_new(&w->udev);
        if (r >= 0)
                r = sd_device_monitor_filter_add_match_subsystem_devtype(w->udev, subsystem, NULL);
        if (r >= 0)
                r = sd_device_monitor_attach_event(w->udev, event);
        if (r >= 0)
                r = sd_device_monitor_start(w->udev, on_udev, w);
        if (r < 0)
                w->udev = sd_device_monitor_unref(w->udev);
        return r;
}

int device_watch_new(sd_event *event, const char *subsystem, device_watch_fn fn, void *userdata,
                     DeviceWatch **ret) {
        _cleanup_(device_watch_freep) DeviceWatch *w = NULL;
        sd_device_enumerator *en = NULL;
        bool udev;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return log_oom();
        w->fn = fn;
        w->userdata = userdata;

        udev = kernel_uevent_udev_running();
        r = udev ? watch_udev(w, event, subsystem) : kernel_uevent_new(event, subsystem, on_kernel, w, &w->kernel);
        if (r < 0)
                log_notice_errno(r, "Failed to monitor %s devices, hotplug disabled: %m", subsystem);

        r = sd_device_enumerator_new(&en);
        if (r >= 0)
                r = sd_device_enumerator_add_match_subsystem(en, subsystem, true);
        /* Without udevd no device is ever marked initialized. */
        if (r >= 0 && !udev)
                r = sd_device_enumerator_allow_uninitialized(en);
        if (r >= 0)
                for (sd_device *d = sd_device_enumerator_get_device_first(en); d;
                     d = sd_device_enumerator_get_device_next(en)) {
                        const char *devnode;

                        if (sd_device_get_devname(d, &devnode) >= 0)
                                fn(d, devnode, SD_DEVICE_ADD, userdata);
                }
        sd_device_enumerator_unref(en);
        if (r < 0)
                log_notice_errno(r, "Failed to enumerate %s devices: %m", subsystem);

        *ret = TAKE_PTR(w);
        return 0;
}
