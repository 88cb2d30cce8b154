/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Replays a hid-recorder file (hid-tools' text format, hid-recording.h) as
 * one device "replay:<file name>": the recorded report descriptor goes
 * through the same parser and eye-tracker decoder as a live hidraw node, and
 * each recorded input report becomes a frame. Without a Sensor Timestamp
 * field the frame takes the report's recorded time. Paced as every replay
 * (source.h).
 */

#include <errno.h>

#include "hid-eyetracker.h"
#include "hid-recording.h"
#include "log.h"
#include "source.h"

typedef struct HidReplay {
        Replay replay;
        HidRecording *recording;
        HidEyeTracker *tracker;
        HidRecordingEvent pending;
} HidReplay;

static void hid_replay_free(Source *base) {
        HidReplay *r = (HidReplay *) base;

        replay_done(&r->replay);
        hid_recording_free(r->recording);
        hid_eyetracker_free(r->tracker);
        free(r);
}

/* Opens the recording and, the first time, builds the decoder from its
 * descriptor. */
static int open_recording(HidReplay *r) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        const uint8_t *desc;
        da_error err = {};
        size_t size;
        int k;

        r->recording = hid_recording_free(r->recording);
        k = hid_recording_open(r->replay.path, &r->recording, &err);
        if (k < 0)
                return log_error_errno(k, "Failed to open hid-recorder file '%s': %s", r->replay.path,
                                       err.message[0] ? err.message : strerror(-k));
        if (r->tracker)
                return 0;
        desc = hid_recording_descriptor(r->recording, &size);
        k = hid_descriptor_parse(desc, size, &d, &err);
        if (k < 0)
                return log_error_errno(k, "Failed to parse the report descriptor of '%s': %s", r->replay.path, err.message);
        k = hid_eyetracker_new(d, &r->tracker, &err);
        if (k < 0)
                return log_error_errno(k, "'%s' records no usable eye tracker: %s", r->replay.path, err.message);
        return 0;
}

static int hid_replay_read(Replay *base, uint64_t *ret_time_us) {
        HidReplay *r = (HidReplay *) base;
        da_error err = {};
        int k;

        k = hid_recording_next(r->recording, &r->pending, &err);
        if (k < 0)
                return log_error_errno(k, "Failed to read '%s': %s", r->replay.path, err.message);
        *ret_time_us = r->pending.time_us;
        return k;
}

static void hid_replay_push(Replay *base) {
        HidReplay *r = (HidReplay *) base;
        da_frame f;
        int k;

        k = hid_eyetracker_decode(r->tracker, r->pending.data, r->pending.size, &f);
        if (k == -ENOMSG)       /* the Status report */
                return;
        if (k < 0) {
                device_count_dropped(base->device, 1);
                return;
        }
        if (!hid_eyetracker_has_timestamp(r->tracker))
                f.time_us = r->pending.time_us;
        (void) device_push(base->device, &f);
}

static int hid_replay_rewind(Replay *base) {
        return open_recording((HidReplay *) base);
}

static const ReplayOps hid_replay_ops = {
        .vtable = { .name = "hid-recorder", .free = hid_replay_free },
        .batch = 2048,
        .read = hid_replay_read,
        .push = hid_replay_push,
        .rewind = hid_replay_rewind,
};

int hid_recorder_source_new(const SourceContext *ctx, const char *path, const ReplayOptions *o, Source **ret) {
        HidReplay *r;
        int k;

        r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        k = replay_init(&r->replay, ctx, &hid_replay_ops, o, path);
        if (k < 0)
                goto fail;
        k = open_recording(r);
        if (k < 0)
                goto fail;
        k = replay_start(&r->replay, hid_eyetracker_channels(r->tracker));
        if (k < 0)
                goto fail;
        log_info("Replaying hid-recorder file '%s' (%s).", path, hid_recording_name(r->recording) ?: "unnamed");
        *ret = &r->replay.base;
        return 0;
fail:
        hid_replay_free(&r->replay.base);
        return k;
}
