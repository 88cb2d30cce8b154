/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Telling users when something a device's model relies on changes: the
 * ranking-shift detector on every snapshot and the input-health detector on
 * every frame (lib: da_shift, da_health), turned into one DeviceEvent value
 * that the manager hands unchanged to the store, the journal, D-Bus and
 * varlink. Each device also keeps the conditions still open, for
 * `deepactifctl devices` and `status`.
 */

#include <stdbool.h>
#include <stdint.h>

#include "util.h"

typedef struct Device Device;

typedef struct DeviceEvent {
        uint64_t time_us;               /* CLOCK_REALTIME when raised */
        uint64_t stream_time_us;        /* the device's stream time then */
        const char *device;
        da_event_kind kind;
        const char *channel;            /* channel or model input; NULL for ranking events */
        char **features;                /* NULL-terminated; NULL for channel events */
        const char *detail;             /* one sentence */
} DeviceEvent;

typedef struct DeviceEvents {
        da_shift *shift;
        da_health *health;
        char **open;                    /* "kind channel" or "ranking-shift", NULL-terminated */
        size_t n_open;
        bool reference_own;             /* told once that the device's own ranking is the reference */
} DeviceEvents;

/* (Re)creates the detectors for the device's model and configuration; the
 * model's reference ranking is used when its trace and aggregation are the
 * daemon's, else the device's own after the warm-up. */
int device_events_bind(Device *d);
void device_events_done(DeviceEvents *e);
/* After da_stream_push(): the frame and the model inputs it gave. */
void device_events_frame(Device *d, const da_frame *frame);
/* After a snapshot: its scores (d->scores) at stream time. */
void device_events_snapshot(Device *d, uint64_t stream_time_us);
/* A device restarting its stream (a replay looping). */
void device_events_reset(Device *d);

/* "channel-frozen eye.left.direction.x", …: the conditions open now. */
char *const *device_events_open(const Device *d);
