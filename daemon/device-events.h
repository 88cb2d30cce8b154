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

#include "event.h"

/* (Re)creates the detectors for a device's model and configuration; the
 * model's reference ranking is used when its trace and aggregation are the
 * daemon's, else the device's own after the warm-up. The strings, model and
 * configuration must outlive the binding; raised gets every event. */
int device_events_bind(DeviceEvents *e, const char *device, const da_model *model, const char *model_path,
                       const Config *config, device_event_cb raised, void *userdata);
void device_events_done(DeviceEvents *e);
/* After da_stream_push(): the frame and the model's unscaled inputs for it. */
void device_events_frame(DeviceEvents *e, const da_frame *frame, const float *features);
/* After a snapshot: its scores (F, the model's input order) at stream time. */
void device_events_snapshot(DeviceEvents *e, uint64_t stream_time_us, const double *scores);
/* A device restarting its stream (a replay looping). */
void device_events_reset(DeviceEvents *e);

/* "channel-frozen eye.left.direction.x", …: the conditions open now. */
char *const *device_events_open(const DeviceEvents *e);
