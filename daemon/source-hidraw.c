/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Live HID eye trackers over hidraw: every /dev/hidraw* node (found at start
 * and through an sd-device monitor, or the kernel's uevents where no udevd
 * runs) whose report descriptor has an Eye Tracker application collection;
 * other HID devices are left alone. The descriptor comes from HIDIOCGRDESC and is decoded by hid-eyetracker.c,
 * which also reads the fields GazeHid flags Constant, as the kernel's
 * hid-input would not.
 */

#include <errno.h>
#include <fcntl.h>
#include <linux/hidraw.h>
#include <sys/ioctl.h>
#include <systemd/sd-device.h>
#include <time.h>

#include "hid-eyetracker.h"
#include "device-watch.h"
#include "log.h"
#include "sources.h"

typedef struct HidrawNode HidrawNode;

struct HidrawNode {
        HidrawMonitor *monitor;
        HidrawNode *next;
        char *devnode;
        int fd;
        HidEyeTracker *tracker;
        Device *device;
        sd_event_source *io;
        int configuration_status;
};

struct HidrawMonitor {
        Manager *manager;
        DeviceWatch *watch;
        HidrawNode *nodes;
};

static bool has_prefix(const char *s, const char *prefix) {
        return strncmp(s, prefix, strlen(prefix)) == 0;
}

static HidrawNode *node_free(HidrawNode *n) {
        if (!n)
                return NULL;
        for (HidrawNode **i = &n->monitor->nodes; *i; i = &(*i)->next)
                if (*i == n) {
                        *i = n->next;
                        break;
                }
        sd_event_source_disable_unref(n->io);
        if (n->device)
                manager_remove_device(n->monitor->manager, n->device);
        hid_eyetracker_free(n->tracker);
        if (n->fd >= 0)
                close(n->fd);
        free(n->devnode);
        return mfree(n);
}

static uint64_t now_monotonic_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000;
}

static int on_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        HidrawNode *n = userdata;
        uint8_t report[HID_MAX_REPORT_BITS / 8 + 1];
        HidEyeTrackerStatus status;
        da_frame f;

        for (;;) {
                ssize_t l = read(fd, report, sizeof report);
                int r;

                if (l < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        /* hidraw answers EIO once its device is unplugged. */
                        if (errno != ENODEV && errno != EIO)
                                log_warning_errno(errno, "Failed to read %s, closing it: %m", n->devnode);
                        node_free(n);
                        return 0;
                }
                if (l == 0) {
                        node_free(n);
                        return 0;
                }
                r = hid_eyetracker_decode(n->tracker, report, (size_t) l, &f);
                if (r == -ENOMSG) {
                        if (hid_eyetracker_decode_status(n->tracker, report, (size_t) l, &status) >= 0 &&
                            status.configuration_status != n->configuration_status) {
                                log_info("%s: configuration status %i.", n->devnode, status.configuration_status);
                                n->configuration_status = status.configuration_status;
                        }
                        continue;
                }
                if (r < 0) {
                        device_count_dropped(n->device, 1);
                        continue;
                }
                if (!hid_eyetracker_has_timestamp(n->tracker))
                        f.time_us = now_monotonic_us();
                (void) device_push(n->device, &f);
        }
}

static bool is_listed(const Manager *m, const char *devnode) {
        for (char **p = m->config.devices; p && *p; p++)
                if (streq(*p, devnode))
                        return true;
        return false;
}

/* Reads and parses the report descriptor: -ENODEV (quietly) for HID
 * devices that are not eye trackers. */
static int probe(HidrawNode *n) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        struct hidraw_report_descriptor desc = {};
        int size = 0, r;
        da_error err = {};

        if (ioctl(n->fd, HIDIOCGRDESCSIZE, &size) < 0)
                return log_warning_errno(errno, "Failed to get the report descriptor size of %s: %m", n->devnode);
        if (size <= 0 || size > HID_MAX_DESCRIPTOR_SIZE)
                return log_warning_errno(EBADMSG, "%s reports a descriptor of %i bytes, ignoring it.", n->devnode, size);
        desc.size = (uint32_t) size;
        if (ioctl(n->fd, HIDIOCGRDESC, &desc) < 0)
                return log_warning_errno(errno, "Failed to read the report descriptor of %s: %m", n->devnode);
        r = hid_descriptor_parse(desc.value, desc.size, &d, &err);
        if (r < 0)
                return log_warning_errno(r, "Failed to parse the report descriptor of %s: %s", n->devnode, err.message);
        r = hid_eyetracker_new(d, &n->tracker, &err);
        if (r == -ENODEV)
                return log_debug_errno(r, "%s is no eye tracker, ignoring it.", n->devnode);
        if (r < 0)
                return log_warning_errno(r, "Failed to use eye tracker %s: %s", n->devnode, err.message);
        return 0;
}

static int node_add(HidrawMonitor *h, const char *devnode, const char *id) {
        Manager *m = h->manager;
        _cleanup_free_ char *name = NULL;
        uint64_t channels = 0;
        HidrawNode *n;
        int r;

        for (HidrawNode *i = h->nodes; i; i = i->next)
                if (streq(i->devnode, devnode))
                        return 0;

        n = calloc(1, sizeof *n);
        if (!n)
                return log_oom();
        n->monitor = h;
        n->fd = -1;
        n->configuration_status = -1;
        n->next = h->nodes;
        h->nodes = n;
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
        r = probe(n);
        if (r < 0)
                goto fail;
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                if (hid_eyetracker_has_channel(n->tracker, c))
                        channels |= UINT64_C(1) << c;
        if (asprintf(&name, "hidraw:%s", id ?: devnode) < 0) {
                r = log_oom();
                goto fail;
        }
        r = device_new(m, name, "hidraw", channels, &n->device);
        if (r < 0)
                goto fail;
        r = sd_event_add_io(m->event, &n->io, n->fd, EPOLLIN, on_readable, n);
        if (r < 0) {
                log_error_errno(r, "Failed to watch %s: %m", devnode);
                goto fail;
        }
        log_info("Watching HID eye tracker %s.", devnode);
        manager_update_status(m);
        return 0;
fail:
        node_free(n);
        return r;
}

static bool wanted(const Manager *m, sd_device *d, const char **ret_devnode, const char **ret_id) {
        const char *devnode;
        sd_device *parent;

        if (sd_device_get_devname(d, &devnode) < 0 || !has_prefix(devnode, "/dev/hidraw"))
                return false;
        if (!m->config.discover && !is_listed(m, devnode))
                return false;
        *ret_devnode = devnode;
        /* The HID device's sysname (bus:vendor:product.instance) names it
         * stably across hidraw renumbering. */
        *ret_id = NULL;
        if (sd_device_get_parent(d, &parent) >= 0)
                (void) sd_device_get_sysname(parent, ret_id);
        return true;
}

static void on_action(sd_device *d, const char *devnode, sd_device_action_t action, void *userdata) {
        HidrawMonitor *h = userdata;
        const char *id;

        if (action == SD_DEVICE_REMOVE) {
                for (HidrawNode *n = h->nodes; n; n = n->next)
                        if (streq(n->devnode, devnode)) {
                                node_free(n);
                                break;
                        }
                return;
        }
        if (action == SD_DEVICE_ADD && d && wanted(h->manager, d, &devnode, &id))
                (void) node_add(h, devnode, id);
}

HidrawMonitor *hidraw_monitor_free(HidrawMonitor *h) {
        if (!h)
                return NULL;
        while (h->nodes)
                node_free(h->nodes);
        device_watch_free(h->watch);
        return mfree(h);
}

int hidraw_monitor_new(Manager *m, HidrawMonitor **ret) {
        HidrawMonitor *h;
        int r;

        h = calloc(1, sizeof *h);
        if (!h)
                return log_oom();
        h->manager = m;

        r = device_watch_new(m->event, "hidraw", on_action, h, &h->watch);
        if (r < 0) {
                hidraw_monitor_free(h);
                return r;
        }

        for (char **p = m->config.devices; p && *p; p++)
                if (has_prefix(*p, "/dev/hidraw") && access(*p, F_OK) >= 0)
                        (void) node_add(h, *p, NULL);

        *ret = h;
        return 0;
}
