/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <time.h>

#include "channel-mask.h"
#include "device-events.h"
#include "device.h"
#include "log.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(da_stream *, da_stream_free);
DEFINE_TRIVIAL_CLEANUP_FUNC(da_rolling *, da_rolling_free);

static bool same_features(const da_model *m, const Device *d) {
        unsigned F = da_model_arch(m)->n_features;

        return d->rolling && da_rolling_n_features(d->rolling) == F &&
                da_rolling_window(d->rolling) == d->env->config->rolling_windows;
}

/* The stream counts frames it could not window; keep its count across
 * rebinds, which replace the stream. */
static void retire_stream(Device *d) {
        da_stream_stats st;

        if (!d->stream)
                return;
        da_stream_stats_get(d->stream, &st);
        d->frames_invalid_retired += st.invalid;
        d->stream = da_stream_free(d->stream);
}

bool device_warming_up(const Device *d, uint64_t *ret_remaining) {
        uint64_t seen = 0, warmup = 0;
        bool warming = d->stream && da_stream_warming_up(d->stream, &seen, &warmup);

        if (ret_remaining)
                *ret_remaining = warming ? warmup - seen : 0;
        return warming;
}

uint64_t device_frames_invalid(const Device *d) {
        da_stream_stats st = {};

        if (d->stream)
                da_stream_stats_get(d->stream, &st);
        return d->frames_invalid + d->frames_invalid_retired + st.invalid;
}

static void end_session(Device *d) {
        if (!d->session)
                return;
        store_session_end(d->env->store, d->session, now_usec(CLOCK_REALTIME));
        d->session = NULL;
}

static void on_event(const DeviceEvent *e, void *userdata) {
        Device *d = userdata;

        if (d->env->event_raised)
                d->env->event_raised(d, e, d->env->userdata);
}

static int bind_model(Device *d) {
        const DeviceEnv *m = d->env;
        const da_model *model = m->model;
        _cleanup_(da_stream_freep) da_stream *stream = NULL;
        unsigned F = da_model_arch(model)->n_features;
        const char **names = NULL;
        store_session *session = NULL;
        da_error err = {};
        int r;

        d->missing = da_model_missing_channels(model, d->channels);
        if (d->missing != 0) {
                _cleanup_free_ char *s = channel_mask_to_string(d->missing);

                end_session(d);
                retire_stream(d);
                device_events_done(&d->events);
                d->supported = false;
                log_warning("Device %s is unsupported by model '%s': missing channels %s.",
                            d->name, m->model_path, s ?: "(out of memory)");
                return 0;
        }

        r = da_stream_new(model, m->config->location, &stream, &err);
        if (r < 0)
                return log_error_errno(r, "Failed to bind device %s to model '%s': %s",
                                       d->name, m->model_path, err.message[0] ? err.message : strerror(-r));
        /* A reload to a per-user model with the same inputs keeps what the
         * device has learnt about its user; anything else starts afresh. */
        if (d->stream && da_stream_adopt_user_scaling(stream, d->stream) >= 0)
                log_debug("Device %s keeps its per-user scaling statistics.", d->name);

        /* Reloading the same feature list keeps the rolling rankings; any
         * other change starts them afresh, as they would rank other things. */
        if (!same_features(model, d)) {
                _cleanup_(da_rolling_freep) da_rolling *rolling = NULL;
                double *scores;
                unsigned *order;

                r = da_rolling_new(F, m->config->rolling_windows, &rolling);
                if (r < 0)
                        return log_error_errno(r, "Failed to allocate the rolling attributor of %s: %m", d->name);
                scores = calloc(F, sizeof(double));
                order = calloc(F, sizeof(unsigned));
                if (!scores || !order) {
                        free(scores);
                        free(order);
                        return log_oom();
                }
                free(d->scores);
                free(d->order);
                d->scores = scores;
                d->order = order;
                da_rolling_free(d->rolling);
                d->rolling = TAKE_PTR(rolling);
                d->windows_at_snapshot = d->windows;
        }

        names = calloc(F, sizeof(char *));
        if (!names)
                return log_oom();
        for (unsigned f = 0; f < F; f++)
                names[f] = da_model_feature(model, f);
        r = store_session_begin(m->store, &(store_session_info) {
                        .device = d->name,
                        .source = d->source,
                        .model = m->model_path,
                        .model_identity = m->model_identity,
                        .started_us = now_usec(CLOCK_REALTIME),
                        .n_features = F,
                        .features = names,
                }, &session);
        free(names);
        if (r < 0)
                return log_error_errno(r, "Failed to begin the store session of %s: %m", d->name);

        end_session(d);
        d->session = session;
        retire_stream(d);
        d->stream = TAKE_PTR(stream);
        d->supported = true;
        d->next_snapshot_us = 0;
        log_info("Device %s (%s) bound to model '%s' (%u features).", d->name, d->source, m->model_path, F);
        return device_events_bind(&d->events, d->name, m->model, m->model_path, m->config, on_event, d);
}

int device_bind(Device *d) {
        int r;

        r = bind_model(d);
        if (r < 0) {
                /* Unbound rather than half-bound: the old stream may refer
                 * to a model that is about to be freed. */
                end_session(d);
                retire_stream(d);
                d->supported = false;
        }
        return r;
}

int device_new(const DeviceEnv *env, const char *name, const char *source, uint64_t channels, Device **ret) {
        Device *d;
        int r;

        d = calloc(1, sizeof *d);
        if (!d)
                return log_oom();
        d->env = env;
        d->channels = channels;
        d->last_prediction = NAN;
        d->name = strdup(name);
        d->source = strdup(source);
        if (!d->name || !d->source) {
                device_free(d);
                return log_oom();
        }

        r = device_bind(d);
        if (r < 0) {
                device_free(d);
                return r;
        }
        *ret = d;
        return 0;
}

Device *device_free(Device *d) {
        if (!d)
                return NULL;
        end_session(d);
        device_events_done(&d->events);
        da_stream_free(d->stream);
        da_rolling_free(d->rolling);
        free(d->scores);
        free(d->order);
        store_record_free(d->snapshot);
        free(d->name);
        free(d->source);
        return mfree(d);
}

void device_count_dropped(Device *d, uint64_t n) {
        d->frames_dropped += n;
}

void device_reset_stream(Device *d) {
        if (d->stream)
                da_stream_reset(d->stream);
        device_events_reset(&d->events);
        d->next_snapshot_us = 0;
}

void device_reset_user(Device *d) {
        (void) device_snapshot(d, false);
        if (d->stream)
                da_stream_reset_user(d->stream);
        if (d->rolling)
                da_rolling_reset(d->rolling);
        device_events_reset(&d->events);
        d->windows_at_snapshot = d->windows;
        d->last_prediction = NAN;
        d->next_snapshot_us = 0;
}

static int strdup_to(char **p, const char *s) {
        return (*p = strdup(s)) ? 0 : -ENOMEM;
}

/* The rolling ranking now, in the one shape every consumer takes: by rank,
 * each score with its feature's index and name. */
static int build_snapshot(Device *d, uint64_t time_us, store_record **ret) {
        const DeviceEnv *m = d->env;
        _cleanup_(store_record_freep) store_record *rec = NULL;
        unsigned F = da_rolling_n_features(d->rolling);
        int r;

        r = da_rolling_scores(d->rolling, m->config->aggregation, d->scores);
        if (r >= 0)
                r = da_ranking(d->scores, F, d->order);
        if (r < 0)
                return r;

        rec = calloc(1, sizeof *rec);
        if (!rec)
                return -ENOMEM;
        rec->scores = calloc(F, sizeof(store_score));
        if (!rec->scores)
                return -ENOMEM;
        rec->n_scores = F;
        for (unsigned rank = 0; rank < F; rank++) {
                store_score *sc = &rec->scores[rank];

                sc->feature = d->order[rank];
                sc->rank = rank + 1;
                sc->score = d->scores[sc->feature];
                if (strdup_to(&sc->name, da_model_feature(m->model, sc->feature)) < 0)
                        return -ENOMEM;
        }
        if (strdup_to(&rec->device, d->name) < 0 || strdup_to(&rec->source, d->source) < 0 ||
            strdup_to(&rec->model, m->model_path) < 0 || strdup_to(&rec->model_identity, m->model_identity) < 0 ||
            strdup_to(&rec->method, da_method_to_string(DA_METHOD_DEEPACTIF)) < 0 ||
            strdup_to(&rec->location, da_trace_location_to_string(m->config->location)) < 0 ||
            strdup_to(&rec->aggregation, da_aggregation_to_string(m->config->aggregation)) < 0)
                return -ENOMEM;
        rec->time_us = time_us;
        rec->windows = (unsigned) da_rolling_count(d->rolling);
        rec->frames_processed = d->frames_processed;
        rec->frames_dropped = d->frames_dropped;
        rec->last_prediction = d->last_prediction;
        *ret = TAKE_PTR(rec);
        return 0;
}

int device_snapshot(Device *d, bool force) {
        const DeviceEnv *m = d->env;
        store_record *rec = NULL;
        int r;

        if (!d->supported || !d->rolling || da_rolling_count(d->rolling) == 0)
                return 0;
        if (d->windows == d->windows_at_snapshot && !(force && d->snapshots == 0))
                return 0;

        r = build_snapshot(d, now_usec(CLOCK_REALTIME), &rec);
        if (r < 0)
                return log_error_errno(r, "Failed to rank the features of %s: %m", d->name);
        store_record_free(d->snapshot);
        d->snapshot = rec;
        d->last_snapshot_us = rec->time_us;

        r = store_append_record(m->store, d->session, rec);
        if (r < 0)
                return log_error_errno(r, "Failed to queue a snapshot of %s: %m", d->name);

        d->windows_at_snapshot = d->windows;
        d->snapshots++;
        if (m->ranking_changed)
                m->ranking_changed(d, m->userdata);
        device_events_snapshot(&d->events, d->last_frame_us, d->scores);
        return 1;
}

int device_push(Device *d, const da_frame *frame) {
        uint64_t interval = d->env->config->ranking_interval_usec;
        da_window_result w;
        int r;

        d->frames_processed++;
        if (!d->supported)
                return 0;

        r = da_stream_push(d->stream, frame, &w);
        if (r < 0) {
                d->frames_invalid++;
                return 0;
        }
        device_events_frame(&d->events, frame, da_stream_features(d->stream));
        if (r > 0) {
                d->windows++;
                d->last_prediction = w.output[0];
                /* A window whose traces are not finite (a diverging model)
                 * would poison the rolling moments: count it, skip it. */
                if (da_rolling_push(d->rolling, w.trace) < 0)
                        d->frames_invalid++;
        }

        /* Snapshots follow stream time, so a replay at any speed yields the
         * same snapshots as the recording did live. */
        if (d->next_snapshot_us == 0 || frame->time_us < d->last_frame_us)
                d->next_snapshot_us = frame->time_us + interval;
        d->last_frame_us = frame->time_us;
        if (frame->time_us >= d->next_snapshot_us) {
                d->next_snapshot_us = frame->time_us + interval;
                (void) device_snapshot(d, false);
        }
        return 0;
}
