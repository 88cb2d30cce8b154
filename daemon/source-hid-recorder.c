/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Replays a hid-recorder file (hid-tools' text format, hid-recording.h) as
 * one device "replay:<file name>": the recorded report descriptor goes
 * through the same parser and eye-tracker decoder as a live hidraw node, and
 * each recorded input report becomes a frame. Without a Sensor Timestamp
 * field the frame takes the report's recorded time. Pacing as in
 * source-replay.c: batches at --speed max, else a timer at the recorded times.
 */

#include <errno.h>
#include <libgen.h>

#include "hid-eyetracker.h"
#include "hid-recording.h"
#include "log.h"
#include "source.h"

#define BATCH_REPORTS 2048

typedef struct HidReplay {
        Source base;
        ReplayOptions options;
        char *path;
        HidRecording *recording;
        HidEyeTracker *tracker;
        Device *device;
        sd_event_source *source;

        HidRecordingEvent pending;
        bool has_pending;
        bool started;
        uint64_t start_mono_us, first_event_us;
} HidReplay;

static void hid_replay_free(Source *base) {
        HidReplay *r = (HidReplay *) base;

        sd_event_source_disable_unref(r->source);
        hid_recording_free(r->recording);
        hid_eyetracker_free(r->tracker);
        free(r->path);
        free(r);
}

static const SourceVTable hid_replay_vtable = {
        .name = "hid-recorder",
        .free = hid_replay_free,
};

/* Opens the recording and builds the decoder from its descriptor. */
static int open_recording(HidReplay *r) {
        _cleanup_(hid_descriptor_freep) HidDescriptor *d = NULL;
        const uint8_t *desc;
        da_error err = {};
        size_t size;
        int k;

        r->recording = hid_recording_free(r->recording);
        k = hid_recording_open(r->path, &r->recording, &err);
        if (k < 0)
                return log_error_errno(k, "Failed to open hid-recorder file '%s': %s", r->path,
                                       err.message[0] ? err.message : strerror(-k));
        if (r->tracker)
                return 0;
        desc = hid_recording_descriptor(r->recording, &size);
        k = hid_descriptor_parse(desc, size, &d, &err);
        if (k < 0)
                return log_error_errno(k, "Failed to parse the report descriptor of '%s': %s", r->path, err.message);
        k = hid_eyetracker_new(d, &r->tracker, &err);
        if (k < 0)
                return log_error_errno(k, "'%s' records no usable eye tracker: %s", r->path, err.message);
        return 0;
}

/* 1 and an event, 0 at the end, or a negative errno (logged). */
static int next_event(HidReplay *r, HidRecordingEvent *ret) {
        da_error err = {};
        int k;

        k = hid_recording_next(r->recording, ret, &err);
        if (k < 0)
                return log_error_errno(k, "Failed to read '%s': %s", r->path, err.message);
        return k;
}

static void push_event(HidReplay *r, const HidRecordingEvent *ev) {
        da_frame f;
        int k;

        k = hid_eyetracker_decode(r->tracker, ev->data, ev->size, &f);
        if (k == -ENOMSG)       /* the Status report */
                return;
        if (k < 0) {
                device_count_dropped(r->device, 1);
                return;
        }
        if (!hid_eyetracker_has_timestamp(r->tracker))
                f.time_us = ev->time_us;
        (void) device_push(r->device, &f);
}

/* The recording ended or failed: start over, or tell the owner. */
static int finish(HidReplay *r, int error) {
        const SourceSink *sink = &r->base.context->sink;

        if (error >= 0 && r->options.loop) {
                error = open_recording(r);
                if (error >= 0) {
                        r->has_pending = false;
                        r->started = false;
                        device_reset_stream(r->device);
                        return 0;
                }
        }
        (void) sd_event_source_set_enabled(r->source, SD_EVENT_OFF);
        sink->finished(sink->userdata, error);
        return 0;
}

static int on_batch(sd_event_source *s, void *userdata) {
        HidReplay *r = userdata;
        HidRecordingEvent ev;

        for (unsigned i = 0; i < BATCH_REPORTS; i++) {
                int k = next_event(r, &ev);

                if (k <= 0)
                        return finish(r, k);
                push_event(r, &ev);
        }
        return 0;
}

static int on_due(sd_event_source *s, uint64_t usec, void *userdata) {
        HidReplay *r = userdata;

        /* usec is when the timer was due; reports due since then go too. */
        if (sd_event_now(r->base.context->event, CLOCK_MONOTONIC, &usec) < 0)
                return finish(r, -EIO);
        for (unsigned i = 0; i < REPLAY_CATCH_UP; i++) {
                if (!r->has_pending) {
                        int k = next_event(r, &r->pending);

                        if (k <= 0)
                                return finish(r, k);
                        r->has_pending = true;
                        if (!r->started) {
                                r->started = true;
                                r->first_event_us = r->pending.time_us;
                                r->start_mono_us = usec;
                        }
                }
                if (replay_due_usec(&r->options, r->start_mono_us, r->first_event_us, r->pending.time_us) > usec)
                        break;
                push_event(r, &r->pending);
                r->has_pending = false;
        }
        return sd_event_source_set_time(s, replay_due_usec(&r->options, r->start_mono_us, r->first_event_us,
                                                            r->pending.time_us));
}

int hid_recorder_source_new(const SourceContext *ctx, const char *path, const ReplayOptions *o, Source **ret) {
        _cleanup_free_ char *copy = NULL, *name = NULL;
        uint64_t channels = 0;
        HidReplay *r;
        int k;

        r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        r->base.vtable = &hid_replay_vtable;
        r->base.context = ctx;
        r->options = *o;
        r->path = strdup(path);
        copy = strdup(path);
        if (!r->path || !copy) {
                k = log_oom();
                goto fail;
        }
        k = open_recording(r);
        if (k < 0)
                goto fail;
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                if (hid_eyetracker_has_channel(r->tracker, c))
                        channels |= UINT64_C(1) << c;

        if (asprintf(&name, "replay:%s", basename(copy)) < 0) {
                k = log_oom();
                goto fail;
        }
        k = ctx->sink.add(ctx->sink.userdata, name, "replay", channels, &r->device);
        if (k < 0)
                goto fail;
        if (!r->device->supported) {
                k = log_error_errno(EOPNOTSUPP, "Nothing to replay: the model cannot use hid-recorder file '%s'.",
                                    path);
                goto fail;
        }

        if (o->speed == REPLAY_SPEED_MAX)
                k = sd_event_add_defer(ctx->event, &r->source, on_batch, r);
        else
                k = sd_event_add_time(ctx->event, &r->source, CLOCK_MONOTONIC, 0, REPLAY_TIMER_ACCURACY_USEC,
                                      on_due, r);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->source, SD_EVENT_ON);
        if (k < 0) {
                log_error_errno(k, "Failed to schedule the replay of '%s': %m", path);
                goto fail;
        }
        log_info("Replaying hid-recorder file '%s' (%s).", path, hid_recording_name(r->recording) ?: "unnamed");
        *ret = &r->base;
        return 0;
fail:
        hid_replay_free(&r->base);
        return k;
}
