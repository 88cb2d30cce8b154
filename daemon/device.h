/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * One input device (a live tracker or a replayed recording) and its
 * pipeline: frames → da_stream (features, scaler, window ring, forward pass
 * with DeepACTIF traces) → da_rolling over the last RollingWindows windows →
 * a ranking snapshot every RankingInterval of stream time and on request,
 * queued to the store and announced through the manager's ranking hook.
 *
 * A device binds to the manager's model when its channels provide every
 * channel the model's features need; otherwise it stays listed as
 * unsupported, with the missing channels named.
 */

#include <stdbool.h>
#include <stdint.h>

#include "store.h"
#include "util.h"

typedef struct Manager Manager;
typedef struct Device Device;

struct Device {
        Manager *manager;
        Device *next;

        char *name;             /* unique: "replay:P14.tsv", "hidraw:0003:045E:0001.0004", … */
        char *source;           /* "replay", "hidraw", "evdev", "evemu" */
        uint64_t channels;      /* bitmask over da_channel the source provides */

        bool supported;
        uint64_t missing;       /* channels the model needs and the source lacks */
        da_stream *stream;
        da_rolling *rolling;
        store_session *session;
        double *scores;         /* F each, the last snapshot */
        unsigned *ranks;

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

/* "replay:<file name>", or with "#2", "#3", … appended when the name is
 * taken (one recording replayed as several devices). */
int device_replay_name(Manager *m, const char *path, char **ret);

/* Creates the device, binds it to the manager's model and links it into the
 * manager's list. An unsupported device is still created (ret set), with a
 * warning naming the missing channels. */
int device_new(Manager *m, const char *name, const char *source, uint64_t channels, Device **ret);
/* Unlinks, ends the store session (without a final snapshot) and frees. */
Device *device_free(Device *d);

/* Rebinds to the manager's current model (after a reload). The rolling
 * rankings are kept when the model's feature list is unchanged. */
int device_bind(Device *d);

/* One frame in stream order; takes a snapshot when RankingInterval of stream
 * time has passed since the last one. */
int device_push(Device *d, const da_frame *frame);
void device_count_dropped(Device *d, uint64_t n);
/* Frames decoded but unusable: a model feature missing (NaN), and more. */
uint64_t device_frames_invalid(const Device *d);
/* Forgets stream history (a replay restarting, a device re-added) but keeps
 * the rolling rankings. */
void device_reset_stream(Device *d);

/* A snapshot now, if windows were evaluated since the last one (or force
 * and at least one window is in scope): 1 when one was queued, 0 when not. */
int device_snapshot(Device *d, bool force);

/* "gaze.point.x, eye.left.direction.z" for a channel bitmask. */
char *channel_mask_to_string(uint64_t mask);
