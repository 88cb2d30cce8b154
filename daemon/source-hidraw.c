/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Live HID eye trackers over hidraw: every /dev/hidraw* node (source-node.c
 * finds them) whose report descriptor has an Eye Tracker application
 * collection; other HID devices are left alone. The descriptor comes from
 * HIDIOCGRDESC and is decoded by hid-eyetracker.c, which also reads the
 * fields GazeHid flags Constant, as the kernel's hid-input would not.
 */

#include <errno.h>
#include <linux/hidraw.h>
#include <sys/ioctl.h>
#include <time.h>

#include "hid-eyetracker.h"
#include "log.h"
#include "source-node.h"

typedef struct HidrawNode {
        Node node;
        HidEyeTracker *tracker;
        int configuration_status;
} HidrawNode;

static uint64_t now_monotonic_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000u + (uint64_t) ts.tv_nsec / 1000;
}

static int hidraw_read(Node *node) {
        HidrawNode *n = (HidrawNode *) node;
        uint8_t report[HID_MAX_REPORT_BITS / 8 + 1];
        HidEyeTrackerStatus status;
        da_frame f;

        for (;;) {
                ssize_t l = read(node->fd, report, sizeof report);
                int r;

                if (l < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                return 0;
                        /* hidraw answers EIO once its device is unplugged. */
                        if (errno != ENODEV && errno != EIO)
                                log_warning_errno(errno, "Failed to read %s, closing it: %m", node->devnode);
                        return -ENODEV;
                }
                if (l == 0)
                        return -ENODEV;
                r = hid_eyetracker_decode(n->tracker, report, (size_t) l, &f);
                if (r == -ENOMSG) {
                        if (hid_eyetracker_decode_status(n->tracker, report, (size_t) l, &status) >= 0 &&
                            status.configuration_status != n->configuration_status) {
                                log_info("%s: configuration status %i.", node->devnode, status.configuration_status);
                                n->configuration_status = status.configuration_status;
                        }
                        continue;
                }
                if (r < 0) {
                        device_count_dropped(node->device, 1);
                        continue;
                }
                if (!hid_eyetracker_has_timestamp(n->tracker))
                        f.time_us = now_monotonic_us();
                (void) device_push(node->device, &f);
        }
}

/* Reads and parses the report descriptor: -ENODEV (quietly) for HID
 * devices that are not eye trackers. */
static int probe(HidrawNode *n) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        struct hidraw_report_descriptor desc = {};
        const char *devnode = n->node.devnode;
        int size = 0, r;
        da_error err = {};

        if (ioctl(n->node.fd, HIDIOCGRDESCSIZE, &size) < 0)
                return log_warning_errno(errno, "Failed to get the report descriptor size of %s: %m", devnode);
        if (size <= 0 || size > HID_MAX_DESCRIPTOR_SIZE)
                return log_warning_errno(EBADMSG, "%s reports a descriptor of %i bytes, ignoring it.", devnode, size);
        desc.size = (uint32_t) size;
        if (ioctl(n->node.fd, HIDIOCGRDESC, &desc) < 0)
                return log_warning_errno(errno, "Failed to read the report descriptor of %s: %m", devnode);
        r = hid_descriptor_parse(desc.value, desc.size, &d, &err);
        if (r < 0)
                return log_warning_errno(r, "Failed to parse the report descriptor of %s: %s", devnode, err.message);
        r = hid_eyetracker_new(d, &n->tracker, &err);
        if (r == -ENODEV)
                return log_debug_errno(r, "%s is no eye tracker, ignoring it.", devnode);
        if (r < 0)
                return log_warning_errno(r, "Failed to use eye tracker %s: %s", devnode, err.message);
        return 0;
}

static int hidraw_setup(Node *node, const char *stable_id, char **ret_name, uint64_t *ret_channels) {
        HidrawNode *n = (HidrawNode *) node;
        int r;

        n->configuration_status = -1;
        r = probe(n);
        if (r < 0)
                return r;
        if (asprintf(ret_name, "hidraw:%s", stable_id ?: node->devnode) < 0)
                return log_oom();
        *ret_channels = hid_eyetracker_channels(n->tracker);
        return 0;
}

static void hidraw_done(Node *node) {
        hid_eyetracker_free(((HidrawNode *) node)->tracker);
}

/* The HID device's sysname (bus:vendor:product.instance) names it stably
 * across hidraw renumbering. */
static const char *hidraw_stable_id(sd_device *d) {
        const char *id = NULL;
        sd_device *parent;

        if (sd_device_get_parent(d, &parent) >= 0)
                (void) sd_device_get_sysname(parent, &id);
        return id;
}

static const NodeKind hidraw_kind = {
        .vtable = { .name = "hidraw", .free = node_source_free },
        .label = "HID",
        .subsystem = "hidraw",
        .prefix = "/dev/hidraw",
        .size = sizeof(HidrawNode),
        .stable_id = hidraw_stable_id,
        .setup = hidraw_setup,
        .read = hidraw_read,
        .done = hidraw_done,
};

int hidraw_source_new(const SourceContext *ctx, Source **ret) {
        return node_source_new(ctx, &hidraw_kind, ret);
}
