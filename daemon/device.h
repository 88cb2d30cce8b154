/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One input device (a live tracker or a replayed recording) and its
 * pipeline: frames → da_stream (features, scaler, window ring, forward pass
 * with DeepACTIF traces) → da_rolling over the last RollingWindows windows →
 * a ranking snapshot every RankingInterval of stream time and on request,
 * queued to the store and announced through the owner's ranking hook.
 *
 * A device binds to the manager's model when its channels provide every
 * channel the model's features need; otherwise it stays listed as
 * unsupported, with the missing channels named.
 */

#include <stdbool.h>
#include <stdint.h>

#include "channel-mask.h"
#include "config.h"
#include "event.h"
#include "list.h"
#include "store.h"
#include "util.h"

typedef struct Device Device;

/* What devices read from their owner (the manager), which keeps it current
 * (a reload replaces the model and configuration) and outlives them. */
typedef struct DeviceEnv {
        const da_model *model;
        const char *model_path;
        const char *model_identity;
        const Config *config;
        store *store;
        /* A new snapshot was taken (d->snapshot). */
        void (*ranking_changed)(Device *d, void *userdata);
        /* The device raised an event (device-events.h). */
        void (*event_raised)(Device *d, const DeviceEvent *e, void *userdata);
        void *userdata;
} DeviceEnv;

struct Device {
        const DeviceEnv *env;
        LIST_FIELDS(Device, devices);   /* the owner's list */

        char *name;             /* unique: "replay:P14.tsv", "hidraw:0003:045E:0001.0004", … */
        char *source;           /* "replay" (any --format), "hidraw", "evdev" */
        uint64_t channels;      /* bitmask over da_channel the source provides */

        bool supported;
        uint64_t missing;       /* channels the model needs and the source lacks */
        da_stream *stream;
        da_rolling *rolling;
        store_session *session;
        double *scores;         /* F each: scratch for the next snapshot */
        unsigned *order;
        /* The newest snapshot, immutable once built: the store queues it,
         * D-Bus and varlink send it as it is. NULL before the first. */
        store_record *snapshot;
        DeviceEvents events;

        uint64_t frames_processed;
        uint64_t frames_dropped;        /* lost before decoding: SYN_DROPPED, short reads, bad lines */
        uint64_t frames_invalid;        /* windows with non-finite traces; see device_frames_invalid() */
        uint64_t frames_invalid_retired; /* counted by streams replaced on rebind */
        uint64_t windows;
        uint64_t windows_at_snapshot;
        uint64_t snapshots;
        double last_prediction;         /* NaN before the first window */
        uint64_t last_frame_us;         /* stream time */
        uint64_t next_snapshot_us;      /* stream time; 0 until the first frame */
        uint64_t last_snapshot_us;      /* CLOCK_REALTIME of the last snapshot; 0 before */
        double frame_rate;              /* frames/s over the last flush interval (metrics.h) */
        uint64_t rate_frames, rate_at_usec; /* frames_processed and CLOCK_MONOTONIC then */
};

/* Creates the device and binds it to the environment's model. An
 * unsupported device is still created (ret set), with a warning naming the
 * missing channels. */
int device_new(const DeviceEnv *env, const char *name, const char *source, uint64_t channels, Device **ret);
/* Ends the store session (without a final snapshot) and frees; the owner
 * unlinks it first. */
Device *device_free(Device *d);

/* Rebinds to the environment's current model (after a reload). The rolling
 * rankings are kept when the model's feature list is unchanged. */
int device_bind(Device *d);

/* One frame in stream order; takes a snapshot when RankingInterval of stream
 * time has passed since the last one. */
int device_push(Device *d, const da_frame *frame);
void device_count_dropped(Device *d, uint64_t n);
/* Frames decoded but unusable: a model feature missing (NaN), and more. */
uint64_t device_frames_invalid(const Device *d);
/* Per-user scaling still warming up (no window evaluated yet), and the
 * valid frames it still needs; false and 0 once warm or when the model
 * scales globally. */
bool device_warming_up(const Device *d, uint64_t *ret_remaining);
/* Forgets stream history (a replay restarting, a device re-added) but keeps
 * the rolling rankings. */
void device_reset_stream(Device *d);

/* A new person on the device: the last person's ranking is stored, then
 * what described them goes (per-user statistics, which warm up again, event
 * baselines, the rolling ranking); the stored history stays. */
void device_reset_user(Device *d);

/* A snapshot now, if windows were evaluated since the last one (or force
 * and at least one window is in scope): builds d->snapshot, queues it to the
 * store and announces it; 1 when one was taken, 0 when not. */
int device_snapshot(Device *d, bool force);

