/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One event a device raised, as the store, journal, D-Bus and varlink all
 * get it, and a device's event detectors and open conditions
 * (device-events.h works on them). */

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "util.h"

typedef struct DeviceEvent {
        uint64_t time_us;               /* CLOCK_REALTIME when raised */
        uint64_t stream_time_us;        /* the device's stream time then */
        const char *device;
        da_event_kind kind;
        const char *channel;            /* channel or model input; NULL for ranking events */
        char **features;                /* NULL-terminated; NULL for channel events */
        const char *detail;             /* one sentence */
} DeviceEvent;

typedef void (*device_event_cb)(const DeviceEvent *e, void *userdata);

typedef struct DeviceEvents {
        /* Set by device_events_bind(), owned by the device. */
        const char *device;
        const da_model *model;
        const char *model_path;
        const Config *config;
        device_event_cb raised;
        void *userdata;

        da_shift *shift;
        da_health *health;
        char **open;                    /* "kind channel" or "ranking-shift", NULL-terminated */
        size_t n_open;
} DeviceEvents;
