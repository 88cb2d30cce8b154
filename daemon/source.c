/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <libgen.h>

#include "log.h"
#include "source.h"

Source *source_free(Source *s) {
        if (s)
                s->vtable->free(s);
        return NULL;
}

uint64_t replay_due_usec(const ReplayOptions *o, uint64_t start_mono_us, uint64_t first_frame_us, uint64_t frame_us) {
        double factor = o->speed == REPLAY_SPEED_FACTOR ? o->speed_factor : 1.0;
        uint64_t dt = frame_us > first_frame_us ? frame_us - first_frame_us : 0;

        return start_mono_us + (uint64_t) ((double) dt / factor);
}

int replay_init(Replay *r, const SourceContext *ctx, const ReplayOps *ops, const ReplayOptions *o, const char *path) {
        r->base.vtable = &ops->vtable;
        r->base.context = ctx;
        r->ops = ops;
        r->options = *o;
        r->path = strdup(path);
        return r->path ? 0 : log_oom();
}

void replay_done(Replay *r) {
        r->timer = sd_event_source_disable_unref(r->timer);
        r->path = mfree(r->path);
        /* The device belongs to the owner's list and goes with it. */
}

/* The recording ended or failed: start over, or tell the owner. */
static int finish(Replay *r, int error) {
        const SourceSink *sink = &r->base.context->sink;

        if (error >= 0 && r->options.loop) {
                error = r->ops->rewind(r);
                if (error >= 0) {
                        r->has_pending = false;
                        r->started = false;
                        device_reset_stream(r->device);
                        return 0;
                }
        }
        (void) sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
        sink->finished(sink->userdata, error);
        return 0;
}

static int on_batch(sd_event_source *s, void *userdata) {
        Replay *r = userdata;
        uint64_t t;

        for (unsigned i = 0; i < r->ops->batch; i++) {
                int k = r->ops->read(r, &t);

                if (k <= 0)
                        return finish(r, k);
                r->ops->push(r);
        }
        return 0;
}

/* Items one paced dispatch catches up on at most: a daemon that falls
 * behind (many fast streams, a busy CPU) still turns its event loop over
 * often, so signals, clients and the watchdog are served. With 64 streams
 * on a starved core SIGTERM had gone unanswered for over 10 s. */
#define CATCH_UP_ITEMS 256
/* The timer's slack: sd-event's default of 250 ms would deliver a fast
 * tracker's frames in quarter-second bursts. */
#define TIMER_ACCURACY_USEC USEC_PER_MSEC

static int on_due(sd_event_source *s, uint64_t usec, void *userdata) {
        Replay *r = userdata;

        /* usec is when the timer was due; items due since then go too. */
        if (sd_event_now(r->base.context->event, CLOCK_MONOTONIC, &usec) < 0)
                return finish(r, -EIO);
        for (unsigned i = 0; i < CATCH_UP_ITEMS; i++) {
                if (!r->has_pending) {
                        int k = r->ops->read(r, &r->pending_us);

                        if (k <= 0)
                                return finish(r, k);
                        r->has_pending = true;
                        if (!r->started) {
                                r->started = true;
                                r->first_us = r->pending_us;
                                r->start_mono_us = usec;
                        }
                }
                if (replay_due_usec(&r->options, r->start_mono_us, r->first_us, r->pending_us) > usec)
                        break;
                r->ops->push(r);
                r->has_pending = false;
        }
        return sd_event_source_set_time(s, replay_due_usec(&r->options, r->start_mono_us, r->first_us,
                                                            r->pending_us));
}

int replay_start(Replay *r, uint64_t channels) {
        const SourceContext *ctx = r->base.context;
        sd_event *e = ctx->event;
        _cleanup_free_ char *copy = NULL, *name = NULL;
        int k;

        copy = strdup(r->path);
        if (!copy || asprintf(&name, "replay:%s", basename(copy)) < 0)
                return log_oom();
        k = ctx->sink.add(ctx->sink.userdata, name, "replay", channels, &r->device);
        if (k < 0)
                return k;
        if (!r->device->supported)
                return log_error_errno(EOPNOTSUPP, "Nothing to replay: the model cannot use recording '%s'.", r->path);

        /* At maximum speed a defer source of idle priority: a defer source
         * stays pending, and at the default priority it would win every
         * iteration over signals, varlink, D-Bus and the flush timer. */
        if (r->options.speed == REPLAY_SPEED_MAX) {
                k = sd_event_add_defer(e, &r->timer, on_batch, r);
                if (k >= 0)
                        k = sd_event_source_set_priority(r->timer, SD_EVENT_PRIORITY_IDLE);
        } else
                k = sd_event_add_time(e, &r->timer, CLOCK_MONOTONIC, 0, TIMER_ACCURACY_USEC, on_due, r);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->timer, SD_EVENT_ON);
        if (k < 0)
                return log_error_errno(k, "Failed to schedule the replay of '%s': %m", r->path);
        return 0;
}
