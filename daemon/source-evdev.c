/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Live evdev eye trackers: /dev/input/event* nodes that udev tagged with
 * ID_INPUT_EYETRACKER=1 (our rules) or that Devices= lists (source-node.c
 * finds them). Each node is read with libevdev and framed by the evdev
 * profile (evdev-profile.h); SYN_DROPPED makes libevdev resynchronise the
 * axis state and counts a dropped frame.
 */

#include <errno.h>
#include <libevdev/libevdev.h>

#include "evdev-profile.h"
#include "log.h"
#include "source-node.h"

typedef struct EvdevNode {
        Node node;
        struct libevdev *evdev;
        EvdevFramer framer;
} EvdevNode;

static void push(EvdevNode *n, const struct input_event *ev) {
        da_frame f;

        if (evdev_framer_feed(&n->framer, ev, &f) > 0)
                (void) device_push(n->node.device, &f);
}

static int evdev_read(Node *node) {
        EvdevNode *n = (EvdevNode *) node;
        struct input_event ev;
        int r;

        for (;;) {
                r = libevdev_next_event(n->evdev, LIBEVDEV_READ_FLAG_NORMAL, &ev);
                if (r == LIBEVDEV_READ_STATUS_SYNC) {
                        /* The kernel's buffer overran: frames were lost. */
                        device_count_dropped(node->device, 1);
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
                                log_warning_errno(r, "Failed to read %s, closing it: %m", node->devnode);
                        return r;
                }
                push(n, &ev);
        }
}

static int evdev_setup(Node *node, const char *stable_id, char **ret_name, uint64_t *ret_channels) {
        EvdevNode *n = (EvdevNode *) node;
        int r;

        evdev_framer_init(&n->framer);
        r = libevdev_new_from_fd(node->fd, &n->evdev);
        if (r < 0)
                return log_warning_errno(r, "Failed to read the capabilities of %s: %m", node->devnode);
        for (unsigned code = 0; code <= ABS_MAX; code++) {
                const struct input_absinfo *abs = libevdev_get_abs_info(n->evdev, code);

                if (abs && libevdev_has_event_code(n->evdev, EV_ABS, code))
                        evdev_framer_set_axis(&n->framer, code, abs);
        }
        if (n->framer.channels == 0)
                return log_warning_errno(ENODEV, "%s (%s) has no axis of the evdev profile, ignoring it.",
                                         node->devnode, libevdev_get_name(n->evdev));
        if (asprintf(ret_name, "evdev:%s",
                     libevdev_get_uniq(n->evdev) ?: libevdev_get_phys(n->evdev) ?: node->devnode) < 0)
                return log_oom();
        *ret_channels = n->framer.channels;
        return 0;
}

static void evdev_done(Node *node) {
        libevdev_free(((EvdevNode *) node)->evdev);
}

static bool evdev_discover(sd_device *d) {
        const char *v;

        return sd_device_get_property_value(d, "ID_INPUT_EYETRACKER", &v) >= 0 && streq(v, "1");
}

static const NodeKind evdev_kind = {
        .vtable = { .name = "evdev", .free = node_source_free },
        .label = "evdev",
        .subsystem = "input",
        .prefix = "/dev/input/event",
        .size = sizeof(EvdevNode),
        .discover = evdev_discover,
        .setup = evdev_setup,
        .read = evdev_read,
        .done = evdev_done,
};

int evdev_source_new(const SourceContext *ctx, Source **ret) {
        return node_source_new(ctx, &evdev_kind, ret);
}
