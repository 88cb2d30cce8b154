/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Replays a recording through a da_reader as one device named
 * "replay:<file name>", paced as every replay (source.h).
 */

#include <errno.h>
#include <math.h>

#include "log.h"
#include "source.h"

/* Frames read before binding, to learn which channels the recording has. */
#define PROBE_FRAMES 256
/* Frames per defer dispatch at --speed max: large enough that the loop's
 * overhead vanishes, small enough to answer signals within milliseconds. */
#define BATCH_FRAMES 2048

typedef struct ReaderReplay {
        Replay replay;
        da_recording_format format;
        da_reader *reader;

        da_frame *probe;
        size_t n_probe, i_probe;

        da_frame pending;
} ReaderReplay;

static void reader_replay_free(Source *base) {
        ReaderReplay *r = (ReaderReplay *) base;

        replay_done(&r->replay);
        da_reader_free(r->reader);
        free(r->probe);
        free(r);
}

static int open_reader(ReaderReplay *r) {
        da_error err = {};
        int k;

        r->reader = da_reader_free(r->reader);
        k = da_reader_open(r->replay.path, r->format, &r->reader, &err);
        if (k < 0)
                return log_error_errno(k, "Failed to open recording '%s': %s", r->replay.path,
                                       err.message[0] ? err.message : strerror(-k));
        /* as the data sets read it, so replay and `deepactifctl score` see the same frames */
        da_reader_set_drop_repeats(r->reader, true);
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
                if (r->replay.device)
                        device_count_dropped(r->replay.device, 1);
                return log_error_errno(k, "Failed to read recording '%s': %s", r->replay.path,
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

/* Back to the first frame for --loop. */
static int reader_replay_rewind(Replay *base) {
        ReaderReplay *r = (ReaderReplay *) base;
        da_frame skip;
        int k;

        k = open_reader(r);
        if (k < 0)
                return k;
        /* The probed frames are served from memory again. */
        for (size_t i = 0; i < r->n_probe; i++) {
                k = next_frame(r, &skip);
                if (k <= 0)
                        return k < 0 ? k : log_error_errno(EIO, "Recording '%s' shrank.", r->replay.path);
        }
        r->i_probe = 0;
        return 0;
}

static int reader_replay_read(Replay *base, uint64_t *ret_time_us) {
        ReaderReplay *r = (ReaderReplay *) base;
        int k;

        k = next_frame(r, &r->pending);
        if (k > 0)
                *ret_time_us = r->pending.time_us;
        return k;
}

static void reader_replay_push(Replay *base) {
        (void) device_push(base->device, &((ReaderReplay *) base)->pending);
}

static const ReplayOps reader_replay_ops = {
        .vtable = { .name = "replay", .free = reader_replay_free },
        .batch = BATCH_FRAMES,
        .read = reader_replay_read,
        .push = reader_replay_push,
        .rewind = reader_replay_rewind,
};

int replay_source_new(const SourceContext *ctx, const char *path, da_recording_format format,
                      const ReplayOptions *o, Source **ret) {
        ReaderReplay *r;
        uint64_t channels = 0;
        int k;

        r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        k = replay_init(&r->replay, ctx, &reader_replay_ops, o, path);
        if (k < 0)
                goto fail;
        r->format = format;
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
        r->i_probe = 0;

        k = replay_start(&r->replay, channels);
        if (k < 0)
                goto fail;
        if (o->speed == REPLAY_SPEED_FACTOR)
                log_info("Replaying '%s' (%s) at %g times the recorded speed.", path,
                         da_recording_format_to_string(da_reader_format(r->reader)), o->speed_factor);
        else
                log_info("Replaying '%s' (%s) at %s speed.", path,
                         da_recording_format_to_string(da_reader_format(r->reader)),
                         o->speed == REPLAY_SPEED_MAX ? "maximum" : "recorded");
        *ret = &r->replay.base;
        return 0;
fail:
        reader_replay_free(&r->replay.base);
        return k;
}
