/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Live evdev eye trackers: /dev/input/event* nodes that udev tagged with
 * ID_INPUT_EYETRACKER=1 (our rules) or that Devices= lists, found at start
 * and through an sd-device monitor afterwards (the kernel's uevents where no
 * udevd runs). Each node is read with
 * libevdev and framed by the evdev profile (evdev-profile.h); SYN_DROPPED
 * makes libevdev resynchronise the axis state and counts a dropped frame.
 * A node that goes away ends its device; re-adding it starts a new one.
 */

#include <errno.h>
#include <fcntl.h>
#include <libevdev/libevdev.h>
#include <systemd/sd-device.h>

#include "evdev-profile.h"
#include "device-watch.h"
#include "log.h"
#include "sources.h"

typedef struct EvdevNode EvdevNode;

struct EvdevNode {
        EvdevMonitor *monitor;
        EvdevNode *next;
        char *devnode;
        int fd;
        struct libevdev *evdev;
        EvdevFramer framer;
        Device *device;
        sd_event_source *io;
};

struct EvdevMonitor {
        Manager *manager;
        DeviceWatch *watch;
        EvdevNode *nodes;
};

static bool has_prefix(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static EvdevNode *node_free(EvdevNode *n) {
        if (!n)
                return NULL;
        for (EvdevNode **i = &n->monitor->nodes; *i; i = &(*i)->next)
                if (*i == n) {
                        *i = n->next;
                        break;
                }
        sd_event_source_disable_unref(n->io);
        if (n->device)
                manager_remove_device(n->monitor->manager, n->device);
        libevdev_free(n->evdev);
        if (n->fd >= 0)
                close(n->fd);
        free(n->devnode);
        return mfree(n);
}

static void push(EvdevNode *n, const struct input_event *ev) {
        da_frame f;

        if (evdev_framer_feed(&n->framer, ev, &f) > 0)
                (void) device_push(n->device, &f);
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        EvdevNode *n = userdata;
        struct input_event ev;
        int r;

        for (;;) {
                r = libevdev_next_event(n->evdev, LIBEVDEV_READ_FLAG_NORMAL, &ev);
                if (r == LIBEVDEV_READ_STATUS_SYNC) {
                        /* The kernel's buffer overran: frames were lost. */
                        device_count_dropped(n->device, 1);
                        evdev_framer_drop(&n->framer);
                        do {
                                r = libevdev_next_event(n->evdev, LIBEVDEV_READ_FLAG_SYNC, &ev);
                                if (r == LIBEVDEV_READ_STATUS_SYNC)
                                        push(n, &ev);
                        } while (r == LIBEVDEV_READ_STATUS_SYNC);
                        continue;
                }
                if (r == -EAGAIN)
                        return 0;
                if (r < 0) {
                        if (r != -ENODEV)
                                log_warning_errno(r, "Failed to read %s, closing it: %m", n->devnode);
                        node_free(n);
                        return 0;
                }
                push(n, &ev);
        }
}

static bool is_listed(const Manager *m, const char *devnode) {
        for (char **p = m->config.devices; p && *p; p++)
                if (streq(*p, devnode))
                        return true;
        return false;
}

static int node_add(EvdevMonitor *e, const char *devnode) {
        Manager *m = e->manager;
        _cleanup_free_ char *name = NULL;
        EvdevNode *n;
        int r;

        for (EvdevNode *i = e->nodes; i; i = i->next)
                if (streq(i->devnode, devnode))
                        return 0;

        n = calloc(1, sizeof *n);
        if (!n)
                return log_oom();
        n->monitor = e;
        n->fd = -1;
        n->next = e->nodes;
        e->nodes = n;
        evdev_framer_init(&n->framer);
        n->devnode = strdup(devnode);
        if (!n->devnode) {
                r = log_oom();
                goto fail;
        }
        n->fd = open(devnode, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
        if (n->fd < 0) {
                r = log_warning_errno(errno, "Failed to open %s: %m", devnode);
                goto fail;
        }
        r = libevdev_new_from_fd(n->fd, &n->evdev);
        if (r < 0) {
                log_warning_errno(r, "Failed to read the capabilities of %s: %m", devnode);
                goto fail;
        }
        for (unsigned code = 0; code <= ABS_MAX; code++) {
                const struct input_absinfo *abs = libevdev_get_abs_info(n->evdev, code);

                if (abs && libevdev_has_event_code(n->evdev, EV_ABS, code))
                        evdev_framer_set_axis(&n->framer, code, abs);
        }
        if (n->framer.channels == 0) {
                r = log_warning_errno(ENODEV, "%s (%s) has no axis of the evdev profile, ignoring it.",
                                      devnode, libevdev_get_name(n->evdev));
                goto fail;
        }
        if (asprintf(&name, "evdev:%s", libevdev_get_uniq(n->evdev) ?: libevdev_get_phys(n->evdev) ?: devnode) < 0) {
                r = log_oom();
                goto fail;
        }
        r = device_new(m, name, "evdev", n->framer.channels, &n->device);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(m->event, &n->io, n->fd, EPOLLIN, on_readable, n);
        if (r < 0) {
                log_error_errno(r, "Failed to watch %s: %m", devnode);
                goto fail;
        }
        log_info("Watching evdev eye tracker %s (%s).", devnode, libevdev_get_name(n->evdev));
        manager_update_status(m);
        return 0;
fail:
        node_free(n);
        return r;
}

static bool is_eyetracker(const Manager *m, sd_device *d, const char **ret_devnode) {
        const char *devnode, *v;

        if (sd_device_get_devname(d, &devnode) < 0 || !has_prefix(devnode, "/dev/input/event"))
                return false;
        *ret_devnode = devnode;
        if (is_listed(m, devnode))
                return true;
        return m->config.discover && sd_device_get_property_value(d, "ID_INPUT_EYETRACKER", &v) >= 0 &&
                streq(v, "1");
}

static void on_action(sd_device *d, const char *devnode, sd_device_action_t action, void *userdata) {
        EvdevMonitor *e = userdata;

        if (action == SD_DEVICE_REMOVE) {
                for (EvdevNode *n = e->nodes; n; n = n->next)
                        if (streq(n->devnode, devnode)) {
                                node_free(n);
                                break;
                        }
                return;
        }
        if (action == SD_DEVICE_ADD && d && is_eyetracker(e->manager, d, &devnode))
                (void) node_add(e, devnode);
}

EvdevMonitor *evdev_monitor_free(EvdevMonitor *e) {
        if (!e)
                return NULL;
        while (e->nodes)
                node_free(e->nodes);
        device_watch_free(e->watch);
        return mfree(e);
}

int evdev_monitor_new(Manager *m, EvdevMonitor **ret) {
        EvdevMonitor *e;
        int r;

        e = calloc(1, sizeof *e);
        if (!e)
                return log_oom();
        e->manager = m;

        /* Without udevd nothing is tagged: only Devices= paths are watched. */
        r = device_watch_new(m->event, "input", on_action, e, &e->watch);
        if (r < 0) {
                evdev_monitor_free(e);
                return r;
        }

        /* Listed nodes udev does not know (no udev at all) are opened as is. */
        for (char **p = m->config.devices; p && *p; p++)
                if (has_prefix(*p, "/dev/input/event") && access(*p, F_OK) >= 0)
                        (void) node_add(e, *p);

        *ret = e;
        return 0;
}
