/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Replays a recording through a da_reader as one device named
 * "replay:<file name>". At --speed max, frames go in batches from a defer
 * source of idle priority: a defer source stays pending, and at the default
 * priority it would win every iteration over signals, varlink, D-Bus and
 * the flush timer; at idle priority each batch runs only when nothing else
 * is pending. Otherwise a timer fires when the next frame is due at the
 * recording's pace (times the factor).
 */

#include <errno.h>
#include <libgen.h>
#include <math.h>

#include "log.h"
#include "sources.h"

/* Frames read before binding, to learn which channels the recording has. */
#define PROBE_FRAMES 256
/* Frames per defer dispatch at --speed max: large enough that the loop's
 * overhead vanishes, small enough to answer signals within milliseconds. */
#define BATCH_FRAMES 2048

typedef struct ReaderReplay {
        Replay base;
        Manager *manager;
        char *path;
        da_recording_format format;
        da_reader *reader;
        Device *device;
        sd_event_source *source;

        da_frame *probe;
        size_t n_probe, i_probe;

        da_frame pending;
        bool has_pending;
        uint64_t start_mono_us, first_frame_us;
} ReaderReplay;

Replay *replay_free(Replay *r) {
        return r ? r->free(r) : NULL;
}

uint64_t replay_due_usec(const Manager *m, uint64_t start_mono_us, uint64_t first_frame_us, uint64_t frame_us) {
        double factor = m->options.speed == REPLAY_SPEED_FACTOR ? m->options.speed_factor : 1.0;
        uint64_t dt = frame_us > first_frame_us ? frame_us - first_frame_us : 0;

        return start_mono_us + (uint64_t) ((double) dt / factor);
}

static Replay *reader_replay_free(Replay *base) {
        ReaderReplay *r = (ReaderReplay *) base;

        sd_event_source_disable_unref(r->source);
        da_reader_free(r->reader);
        free(r->probe);
        free(r->path);
        /* The device belongs to the manager's list and goes with it. */
        return mfree(r);
}

static int open_reader(ReaderReplay *r) {
        da_error err = {};
        int k;

        r->reader = da_reader_free(r->reader);
        k = da_reader_open(r->path, r->format, &r->reader, &err);
        if (k < 0)
                return log_error_errno(k, "Failed to open recording '%s': %s", r->path,
                                       err.message[0] ? err.message : strerror(-k));
        return 0;
}

/* 1 and a frame, 0 at the end, or a negative errno (logged). */
static int next_frame(ReaderReplay *r, da_frame *ret) {
        da_error err = {};
        int k;

        if (r->i_probe < r->n_probe) {
                *ret = r->probe[r->i_probe++];
                return 1;
        }
        k = da_reader_next(r->reader, ret, &err);
        if (k < 0) {
                if (r->device)
                        device_count_dropped(r->device, 1);
                return log_error_errno(k, "Failed to read recording '%s': %s", r->path,
                                       err.message[0] ? err.message : strerror(-k));
        }
        return k;
}

static int probe(ReaderReplay *r, uint64_t *ret_channels) {
        uint64_t channels = 0;
        int k;

        r->probe = calloc(PROBE_FRAMES, sizeof(da_frame));
        if (!r->probe)
                return log_oom();
        while (r->n_probe < PROBE_FRAMES) {
                da_frame *f = &r->probe[r->n_probe];

                r->i_probe = r->n_probe;        /* read from the file, not the probe */
                k = next_frame(r, f);
                if (k < 0)
                        return k;
                if (k == 0)
                        break;
                /* A channel counts as provided when any early frame has it. */
                for (unsigned c = 0; c < _DA_CH_MAX; c++)
                        if (!isnan(f->ch[c]))
                                channels |= UINT64_C(1) << c;
                r->n_probe++;
        }
        *ret_channels = channels;
        return 0;
}

/* Back to the first frame for --loop; the stream history is forgotten, the
 * rolling rankings are kept. */
static int restart(ReaderReplay *r) {
        da_frame skip;
        int k;

        k = open_reader(r);
        if (k < 0)
                return k;
        /* The probed frames are served from memory again. */
        for (size_t i = 0; i < r->n_probe; i++) {
                k = next_frame(r, &skip);
                if (k <= 0)
                        return k < 0 ? k : log_error_errno(EIO, "Recording '%s' shrank.", r->path);
        }
        r->i_probe = 0;
        r->has_pending = false;
        device_reset_stream(r->device);
        return sd_event_now(r->manager->event, CLOCK_MONOTONIC, &r->start_mono_us);
}

/* The recording ended or failed: start over, or hand over to the manager. */
static int finish(ReaderReplay *r, int error) {
        Manager *m = r->manager;

        if (error >= 0 && m->options.loop) {
                int k = restart(r);

                if (k >= 0)
                        return 0;
                error = k;
        }
        (void) sd_event_source_set_enabled(r->source, SD_EVENT_OFF);
        manager_replay_finished(m, error);
        return 0;
}

static int on_batch(sd_event_source *s, void *userdata) {
        ReaderReplay *r = userdata;
        da_frame f;

        for (unsigned i = 0; i < BATCH_FRAMES; i++) {
                int k = next_frame(r, &f);

                if (k <= 0)
                        return finish(r, k);
                (void) device_push(r->device, &f);
        }
        return 0;
}

static int on_due(sd_event_source *s, uint64_t usec, void *userdata) {
        ReaderReplay *r = userdata;
        Manager *m = r->manager;

        /* usec is when the timer was due; frames due since then go too. */
        if (sd_event_now(m->event, CLOCK_MONOTONIC, &usec) < 0)
                return finish(r, -EIO);
        for (;;) {
                int k;

                if (!r->has_pending) {
                        k = next_frame(r, &r->pending);
                        if (k <= 0)
                                return finish(r, k);
                        r->has_pending = true;
                }
                if (replay_due_usec(m, r->start_mono_us, r->first_frame_us, r->pending.time_us) > usec)
                        break;
                (void) device_push(r->device, &r->pending);
                r->has_pending = false;
        }
        return sd_event_source_set_time(s, replay_due_usec(m, r->start_mono_us, r->first_frame_us,
                                                            r->pending.time_us));
}

int replay_new(Manager *m, const char *path, da_recording_format format, Replay **ret) {
        ReaderReplay *r;
        _cleanup_free_ char *copy = NULL, *name = NULL;
        uint64_t channels = 0;
        int k;

        r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        r->base.free = reader_replay_free;
        r->manager = m;
        r->format = format;
        r->path = strdup(path);
        copy = strdup(path);
        if (!r->path || !copy) {
                k = log_oom();
                goto fail;
        }
        k = open_reader(r);
        if (k < 0)
                goto fail;
        k = probe(r, &channels);
        if (k < 0)
                goto fail;
        if (r->n_probe == 0) {
                k = log_error_errno(ENODATA, "Recording '%s' holds no frames.", path);
                goto fail;
        }
        r->first_frame_us = r->probe[0].time_us;
        r->i_probe = 0;

        if (asprintf(&name, "replay:%s", basename(copy)) < 0) {
                k = log_oom();
                goto fail;
        }
        k = device_new(m, name, "replay", channels, &r->device);
        if (k < 0)
                goto fail;
        if (!r->device->supported) {
                k = log_error_errno(EOPNOTSUPP, "Nothing to replay: model '%s' cannot use recording '%s'.",
                                    m->model_path, path);
                goto fail;
        }

        if (m->options.speed == REPLAY_SPEED_MAX) {
                k = sd_event_add_defer(m->event, &r->source, on_batch, r);
                if (k >= 0)
                        k = sd_event_source_set_priority(r->source, SD_EVENT_PRIORITY_IDLE);
        } else {
                k = sd_event_now(m->event, CLOCK_MONOTONIC, &r->start_mono_us);
                if (k >= 0)
                        k = sd_event_add_time(m->event, &r->source, CLOCK_MONOTONIC, r->start_mono_us, 0,
                                              on_due, r);
        }
        if (k >= 0)
                k = sd_event_source_set_enabled(r->source, SD_EVENT_ON);
        if (k < 0) {
                log_error_errno(k, "Failed to schedule the replay of '%s': %m", path);
                goto fail;
        }
        if (m->options.speed == REPLAY_SPEED_FACTOR)
                log_info("Replaying '%s' (%s) at %g times the recorded speed.", path,
                         da_recording_format_to_string(da_reader_format(r->reader)), m->options.speed_factor);
        else
                log_info("Replaying '%s' (%s) at %s speed.", path,
                         da_recording_format_to_string(da_reader_format(r->reader)),
                         m->options.speed == REPLAY_SPEED_MAX ? "maximum" : "recorded");
        *ret = &r->base;
        return 0;
fail:
        reader_replay_free(&r->base);
        return k;
}
