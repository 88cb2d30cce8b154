/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The one interface every frame source has (in the spirit of libratbag's
 * drivers): the manager creates sources and owns them; a source knows only
 * the event loop, the configuration and a sink. Through the sink it announces
 * the devices it finds and loses, and then pushes each device's frames with
 * device_push(). Sources never call the manager, so neither side's code
 * depends on the other's. One file each:
 *
 *   source-replay.c  a da_reader recording (Robust Vision, Tobii, EyeLink, CSV)
 *   source-evemu.c   an evemu recording through the evdev profile
 *   source-hid-recorder.c  a hid-recorder file through the HID decoder
 *   source-evdev.c   /dev/input/event* eye trackers, with hotplug
 *   source-hidraw.c  /dev/hidraw* HID eye trackers, with hotplug
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "device.h"

/* What a source may ask of its owner. */
typedef struct SourceSink {
        /* A device appeared: the owner creates it (unsupported by the model
         * is still a device) and hands it back for device_push(). A negative
         * errno (logged) when it could not. */
        int (*add)(void *userdata, const char *name, const char *kind, uint64_t channels, Device **ret);
        /* A device went away: the owner takes its last snapshot and frees it. */
        void (*remove)(void *userdata, Device *d);
        /* A replay reached its end (error < 0: it failed there). */
        void (*finished)(void *userdata, int error);
        void *userdata;
} SourceSink;

typedef struct SourceContext {
        sd_event *event;
        const Config *config;   /* the owner's, current across reloads */
        SourceSink sink;
} SourceContext;

typedef struct Source Source;

typedef struct SourceVTable {
        const char *name;
        /* Stops reading and removes (through the sink) the devices left. */
        void (*free)(Source *s);
} SourceVTable;

/* Every source's state starts with this. */
struct Source {
        const SourceVTable *vtable;
        const SourceContext *context;
};

Source *source_free(Source *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Source *, source_free);

typedef enum ReplaySpeed {
        REPLAY_SPEED_REALTIME,
        REPLAY_SPEED_MAX,
        REPLAY_SPEED_FACTOR,
} ReplaySpeed;

/* Which replay source reads the file (--format). */
typedef enum ReplayKind {
        REPLAY_READER,          /* a da_reader recording */
        REPLAY_EVEMU,
        REPLAY_HID_RECORDER,
} ReplayKind;

typedef struct ReplayOptions {
        ReplaySpeed speed;
        double speed_factor;
        bool loop;              /* start over at the end instead of finishing */
} ReplayOptions;

/* When the item stamped frame_us is due, given the first item's stamp and
 * the monotonic time the replay started. */
uint64_t replay_due_usec(const ReplayOptions *o, uint64_t start_mono_us, uint64_t first_frame_us, uint64_t frame_us);

/* What every replay source shares (it starts their state): the pacing. At
 * --speed max items go in batches from a defer source, which yields to the
 * event loop between batches; otherwise a timer fires when the next item is
 * due at the recording's pace (times the factor). At the end the replay
 * starts over (--loop) or tells the sink. */
typedef struct Replay Replay;

typedef struct ReplayOps {
        SourceVTable vtable;
        unsigned batch;         /* items per dispatch at --speed max */
        /* Reads the next item into the source's own pending slot: 1 and
         * its recorded time, 0 at the end, a negative errno (logged). */
        int (*read)(Replay *r, uint64_t *ret_time_us);
        /* Hands the pending item to the device. */
        void (*push)(Replay *r);
        /* Back to the first item, for --loop (logged on failure). */
        int (*rewind)(Replay *r);
} ReplayOps;

struct Replay {
        Source base;
        const ReplayOps *ops;
        ReplayOptions options;
        char *path;
        Device *device;
        sd_event_source *timer;
        bool has_pending, started;
        uint64_t start_mono_us, first_us, pending_us;
};

int replay_init(Replay *r, const SourceContext *ctx, const ReplayOps *ops, const ReplayOptions *o, const char *path);
/* Announces the device "replay:<file name>" with the recording's channels
 * and schedules the replay; fails (logged) when the model cannot use them. */
int replay_start(Replay *r, uint64_t channels);
void replay_done(Replay *r);

int replay_source_new(const SourceContext *ctx, const char *path, da_recording_format format,
                      const ReplayOptions *o, Source **ret);
int evemu_source_new(const SourceContext *ctx, const char *path, const ReplayOptions *o, Source **ret);
int hid_recorder_source_new(const SourceContext *ctx, const char *path, const ReplayOptions *o, Source **ret);
/* Live sources: the nodes udev tags (Discover=yes) plus the config's
 * Devices= paths, at start and on hotplug. */
int evdev_source_new(const SourceContext *ctx, Source **ret);
int hidraw_source_new(const SourceContext *ctx, Source **ret);
