/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Replays an evemu recording (evemu-record's text format, read by libevemu)
 * as one device "replay:<file name>", decoded by the same evdev profile as
 * live event nodes. Pacing as in source-replay.c: batches at --speed max,
 * else a timer at the recording's event times.
 */

#include <errno.h>
#include <libgen.h>
#include <evemu.h>

#include "evdev-profile.h"
#include "log.h"
#include "source.h"

#define BATCH_EVENTS 8192

typedef struct EvemuReplay {
        Source base;
        ReplayOptions options;
        char *path;
        FILE *file;
        long events_offset;             /* where the events start, for --loop */
        EvdevFramer framer;
        EvdevFramer initial;
        Device *device;
        sd_event_source *source;

        struct input_event pending;
        bool has_pending;
        bool started;
        uint64_t start_mono_us, first_event_us;
} EvemuReplay;

static void evemu_replay_free(Source *base) {
        EvemuReplay *r = (EvemuReplay *) base;

        sd_event_source_disable_unref(r->source);
        if (r->file)
                fclose(r->file);
        free(r->path);
        free(r);
}

static const SourceVTable evemu_replay_vtable = {
        .name = "evemu",
        .free = evemu_replay_free,
};

static uint64_t event_us(const struct input_event *ev) {
        return (uint64_t) ev->input_event_sec * 1000000u + (uint64_t) ev->input_event_usec;
}

/* 1 and an event, 0 at the end. evemu reads lines it does not know as the
 * end, so a malformed line ends the replay like the end of the file. */
static int next_event(EvemuReplay *r, struct input_event *ret) {
        if (evemu_read_event(r->file, ret) <= 0)
                return 0;
        return 1;
}

static void push_event(EvemuReplay *r, const struct input_event *ev) {
        uint64_t dropped = r->framer.dropped;
        da_frame f;

        if (evdev_framer_feed(&r->framer, ev, &f) > 0)
                (void) device_push(r->device, &f);
        if (r->framer.dropped != dropped)
                device_count_dropped(r->device, r->framer.dropped - dropped);
}

static int finish(EvemuReplay *r) {
        const SourceSink *sink = &r->base.context->sink;

        if (r->options.loop) {
                if (fseek(r->file, r->events_offset, SEEK_SET) < 0) {
                        int k = log_error_errno(errno, "Failed to rewind '%s': %m", r->path);

                        sink->finished(sink->userdata, k);
                        return 0;
                }
                r->framer = r->initial;
                r->has_pending = false;
                r->started = false;
                device_reset_stream(r->device);
                return 0;
        }
        (void) sd_event_source_set_enabled(r->source, SD_EVENT_OFF);
        sink->finished(sink->userdata, 0);
        return 0;
}

static int on_batch(sd_event_source *s, void *userdata) {
        EvemuReplay *r = userdata;
        struct input_event ev;

        for (unsigned i = 0; i < BATCH_EVENTS; i++) {
                if (next_event(r, &ev) <= 0)
                        return finish(r);
                push_event(r, &ev);
        }
        return 0;
}

static int on_due(sd_event_source *s, uint64_t usec, void *userdata) {
        EvemuReplay *r = userdata;

        /* usec is when the timer was due; frames due since then go too. */
        if (sd_event_now(r->base.context->event, CLOCK_MONOTONIC, &usec) < 0)
                return finish(r);
        for (unsigned i = 0; i < REPLAY_CATCH_UP; i++) {
                if (!r->has_pending) {
                        if (next_event(r, &r->pending) <= 0)
                                return finish(r);
                        r->has_pending = true;
                        if (!r->started) {
                                r->started = true;
                                r->first_event_us = event_us(&r->pending);
                                r->start_mono_us = usec;
                        }
                }
                if (replay_due_usec(&r->options, r->start_mono_us, r->first_event_us, event_us(&r->pending)) > usec)
                        break;
                push_event(r, &r->pending);
                r->has_pending = false;
        }
        return sd_event_source_set_time(s, replay_due_usec(&r->options, r->start_mono_us, r->first_event_us,
                                                            event_us(&r->pending)));
}

int evemu_source_new(const SourceContext *ctx, const char *path, const ReplayOptions *o, Source **ret) {
        _cleanup_free_ char *copy = NULL, *name = NULL;
        struct evemu_device *dev = NULL;
        EvemuReplay *r;
        int k;

        r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        r->base.vtable = &evemu_replay_vtable;
        r->base.context = ctx;
        r->options = *o;
        evdev_framer_init(&r->framer);
        r->path = strdup(path);
        copy = strdup(path);
        if (!r->path || !copy) {
                k = log_oom();
                goto fail;
        }
        r->file = fopen(path, "re");
        if (!r->file) {
                k = log_error_errno(errno, "Failed to open evemu recording '%s': %m", path);
                goto fail;
        }
        dev = evemu_new(NULL);
        if (!dev) {
                k = log_oom();
                goto fail;
        }
        if (evemu_read(dev, r->file) <= 0) {
                k = log_error_errno(EBADMSG, "Failed to read the device description of evemu recording '%s'.", path);
                goto fail;
        }
        for (unsigned code = 0; code <= ABS_MAX; code++)
                if (evemu_has_event(dev, EV_ABS, (int) code))
                        evdev_framer_set_axis(&r->framer, code, &(struct input_absinfo) {
                                        .value = evemu_get_abs_current_value(dev, (int) code),
                                        .minimum = evemu_get_abs_minimum(dev, (int) code),
                                        .maximum = evemu_get_abs_maximum(dev, (int) code),
                                        .resolution = evemu_get_abs_resolution(dev, (int) code),
                                });
        r->initial = r->framer;
        r->events_offset = ftell(r->file);

        if (asprintf(&name, "replay:%s", basename(copy)) < 0) {
                k = log_oom();
                goto fail;
        }
        k = ctx->sink.add(ctx->sink.userdata, name, "replay", r->framer.channels, &r->device);
        if (k < 0)
                goto fail;
        if (!r->device->supported) {
                k = log_error_errno(EOPNOTSUPP, "Nothing to replay: the model cannot use evemu recording '%s'.",
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
        log_info("Replaying evemu recording '%s' (%s).", path, evemu_get_name(dev) ?: "unnamed");
        evemu_delete(dev);
        *ret = &r->base;
        return 0;
fail:
        if (dev)
                evemu_delete(dev);
        evemu_replay_free(&r->base);
        return k;
}
