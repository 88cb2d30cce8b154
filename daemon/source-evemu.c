/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Replays an evemu recording (evemu-record's text format, read by libevemu)
 * as one device "replay:<file name>", decoded by the same evdev profile as
 * live event nodes. Paced as every replay (source.h).
 */

#include <errno.h>
#include <evemu.h>

#include "evdev-profile.h"
#include "log.h"
#include "source.h"

typedef struct EvemuReplay {
        Replay replay;
        FILE *file;
        long events_offset;             /* where the events start, for --loop */
        EvdevFramer framer;
        EvdevFramer initial;
        struct input_event pending;
} EvemuReplay;

static void evemu_replay_free(Source *base) {
        EvemuReplay *r = (EvemuReplay *) base;

        replay_done(&r->replay);
        if (r->file)
                fclose(r->file);
        free(r);
}

/* 1 and an event, 0 at the end. evemu reads lines it does not know as the
 * end, so a malformed line ends the replay like the end of the file. */
static int evemu_replay_read(Replay *base, uint64_t *ret_time_us) {
        EvemuReplay *r = (EvemuReplay *) base;

        if (evemu_read_event(r->file, &r->pending) <= 0)
                return 0;
        *ret_time_us = (uint64_t) r->pending.input_event_sec * 1000000u + (uint64_t) r->pending.input_event_usec;
        return 1;
}

static void evemu_replay_push(Replay *base) {
        EvemuReplay *r = (EvemuReplay *) base;
        uint64_t dropped = r->framer.dropped;
        da_frame f;

        if (evdev_framer_feed(&r->framer, &r->pending, &f) > 0)
                (void) device_push(base->device, &f);
        if (r->framer.dropped != dropped)
                device_count_dropped(base->device, r->framer.dropped - dropped);
}

static int evemu_replay_rewind(Replay *base) {
        EvemuReplay *r = (EvemuReplay *) base;

        if (fseek(r->file, r->events_offset, SEEK_SET) < 0)
                return log_error_errno(errno, "Failed to rewind '%s': %m", r->replay.path);
        r->framer = r->initial;
        return 0;
}

static const ReplayOps evemu_replay_ops = {
        .vtable = { .name = "evemu", .free = evemu_replay_free },
        .batch = 8192,
        .read = evemu_replay_read,
        .push = evemu_replay_push,
        .rewind = evemu_replay_rewind,
};

int evemu_source_new(const SourceContext *ctx, const char *path, const ReplayOptions *o, Source **ret) {
        struct evemu_device *dev = NULL;
        EvemuReplay *r;
        int k;

        r = calloc(1, sizeof *r);
        if (!r)
                return log_oom();
        evdev_framer_init(&r->framer);
        k = replay_init(&r->replay, ctx, &evemu_replay_ops, o, path);
        if (k < 0)
                goto fail;
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

        k = replay_start(&r->replay, r->framer.channels);
        if (k < 0)
                goto fail;
        log_info("Replaying evemu recording '%s' (%s).", path, evemu_get_name(dev) ?: "unnamed");
        evemu_delete(dev);
        *ret = &r->replay.base;
        return 0;
fail:
        if (dev)
                evemu_delete(dev);
        evemu_replay_free(&r->replay.base);
        return k;
}
