/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The plumbing the live sources share: the device nodes of one subsystem
 * that are wanted (listed in Devices=, or found by Discover= through udev),
 * at start and on hotplug (device-watch.h); each is opened non-blocking,
 * set up by its kind (source-evdev.c, source-hidraw.c), announced to the
 * sink as a device and read whenever it is readable. A node that goes away
 * or fails to read ends its device; re-adding it starts a new one.
 */

#include <systemd/sd-device.h>

#include "list.h"
#include "source.h"

typedef struct Node Node;

typedef struct NodeKind {
        SourceVTable vtable;    /* .free = node_source_free */
        const char *label;      /* for the log: "evdev", "HID" */
        const char *subsystem;  /* sd-device subsystem: "input", "hidraw" */
        const char *prefix;     /* device node prefix: "/dev/input/event" */
        size_t size;            /* of the kind's node struct, which starts with a Node */
        /* With Discover=yes: whether a device udev reports qualifies
         * (Devices= paths always do). NULL: every node of the subsystem. */
        bool (*discover)(sd_device *d);
        /* A name for the device that survives renumbering, or NULL. */
        const char *(*stable_id)(sd_device *d);
        /* Probes the opened node (n->fd): the device's name (allocated) and
         * channels. -ENODEV when the node is no eye tracker. Logs. */
        int (*setup)(Node *n, const char *stable_id, char **ret_name, uint64_t *ret_channels);
        /* The node is readable: reads what is there, pushes frames; a
         * negative errno closes the node (logged by the kind). */
        int (*read)(Node *n);
        /* Frees what setup() allocated. */
        void (*done)(Node *n);
} NodeKind;

struct Node {
        Source *source;
        const NodeKind *kind;
        LIST_FIELDS(Node, nodes);
        char *devnode;
        int fd;
        Device *device;
        sd_event_source *io;
};

int node_source_new(const SourceContext *ctx, const NodeKind *kind, Source **ret);
void node_source_free(Source *s);
