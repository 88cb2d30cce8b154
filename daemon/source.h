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

/* Paced replays (any speed but max) catch up on at most this many frames
 * or events per dispatch: a daemon that falls behind (many fast streams, a
 * busy CPU) still turns its event loop over often, so signals, clients and
 * the watchdog are served. With 64 streams on a starved core SIGTERM had
 * gone unanswered for over 10 s. */
#define REPLAY_CATCH_UP 256
/* Their timers' slack: sd-event's default of 250 ms would deliver a fast
 * tracker's frames in quarter-second bursts. */
#define REPLAY_TIMER_ACCURACY_USEC USEC_PER_MSEC

/* The pacing shared by both replays: when the frame stamped frame_us is
 * due, given the first frame's stamp and the monotonic start time. */
uint64_t replay_due_usec(const ReplayOptions *o, uint64_t start_mono_us, uint64_t first_frame_us, uint64_t frame_us);

int replay_source_new(const SourceContext *ctx, const char *path, da_recording_format format,
                      const ReplayOptions *o, Source **ret);
int evemu_source_new(const SourceContext *ctx, const char *path, const ReplayOptions *o, Source **ret);
int hid_recorder_source_new(const SourceContext *ctx, const char *path, const ReplayOptions *o, Source **ret);
/* Live sources: the nodes udev tags (Discover=yes) plus the config's
 * Devices= paths, at start and on hotplug. */
int evdev_source_new(const SourceContext *ctx, Source **ret);
int hidraw_source_new(const SourceContext *ctx, Source **ret);
