/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <errno.h>
#include <math.h>
#include <time.h>

#include "channel-mask.h"
#include "device-events.h"
#include "log.h"

static uint64_t now_realtime_us(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
}

static void open_remove(DeviceEvents *e, const char *key) {
        for (size_t i = 0; i < e->n_open; i++)
                if (streq(e->open[i], key)) {
                        free(e->open[i]);
                        memmove(e->open + i, e->open + i + 1, (e->n_open - i) * sizeof(char *));
                        e->n_open--;
                        return;
                }
}

static int open_add(DeviceEvents *e, const char *key) {
        char **v;

        open_remove(e, key);
        v = realloc(e->open, (e->n_open + 2) * sizeof(char *));
        if (!v)
                return -ENOMEM;
        e->open = v;
        e->open[e->n_open] = strdup(key);
        if (!e->open[e->n_open])
                return -ENOMEM;
        e->open[++e->n_open] = NULL;
        return 0;
}

static void open_clear(DeviceEvents *e) {
        for (size_t i = 0; i < e->n_open; i++)
                free(e->open[i]);
        e->open = mfree(e->open);
        e->n_open = 0;
}

char *const *device_events_open(const DeviceEvents *e) {
        static char *const none[] = { NULL };

        return e->open ?: none;
}

/* Tracks what is open, then hands the event to the manager's sinks. */
static void raise_event(DeviceEvents *e, const DeviceEvent *ev, const char *opens, const char *closes) {
        if (opens && open_add(e, opens) < 0)
                log_oom();
        if (closes)
                open_remove(e, closes);
        if (e->raised)
                e->raised(ev, e->userdata);
}

/* ---- input health ------------------------------------------------------- */

static const char *eye_of(uint64_t channels) {
        static const da_channel left[] = {
                DA_CH_EYE_LEFT_ORIGIN_X, DA_CH_EYE_LEFT_ORIGIN_Y, DA_CH_EYE_LEFT_ORIGIN_Z, DA_CH_EYE_LEFT_DIRECTION_X,
                DA_CH_EYE_LEFT_DIRECTION_Y, DA_CH_EYE_LEFT_DIRECTION_Z, DA_CH_EYE_LEFT_SCREEN_X,
                DA_CH_EYE_LEFT_SCREEN_Y, DA_CH_PUPIL_LEFT_DIAMETER,
        };
        static const da_channel right[] = {
                DA_CH_EYE_RIGHT_ORIGIN_X, DA_CH_EYE_RIGHT_ORIGIN_Y, DA_CH_EYE_RIGHT_ORIGIN_Z,
                DA_CH_EYE_RIGHT_DIRECTION_X, DA_CH_EYE_RIGHT_DIRECTION_Y, DA_CH_EYE_RIGHT_DIRECTION_Z,
                DA_CH_EYE_RIGHT_SCREEN_X, DA_CH_EYE_RIGHT_SCREEN_Y, DA_CH_PUPIL_RIGHT_DIAMETER,
        };
        uint64_t l = 0, r = 0;

        for (size_t i = 0; i < ELEMENTSOF(left); i++)
                l |= UINT64_C(1) << left[i];
        for (size_t i = 0; i < ELEMENTSOF(right); i++)
                r |= UINT64_C(1) << right[i];
        if (channels && !(channels & ~l))
                return "left eye";
        if (channels && !(channels & ~r))
                return "right eye";
        if (channels & l && channels & r)
                return "both eyes";
        return NULL;
}

static void on_health(const da_health_event *he, void *userdata) {
        DeviceEvents *e = userdata;
        const da_model *model = e->model;
        _cleanup_free_ char *detail = NULL, *key = NULL, *channels = NULL;
        const char *what, *eye = eye_of(he->channels);
        char where[64] = "";
        int r = 0;

        what = he->channel >= 0 ? da_channel_name((da_channel) he->channel) : da_model_feature(model, (unsigned) he->feature);
        if (!what)
                return;
        if (eye)
                snprintf(where, sizeof(where), " (%s)", eye);
        if (he->channel < 0 || he->cause == DA_EVENT_CHANNEL_DRIFT) {
                channels = channel_mask_to_string(he->channels);
                if (!channels)
                        return (void) log_oom();
        }

        switch (he->kind) {
        case DA_EVENT_CHANNEL_FROZEN:
                r = asprintf(&detail, "%s%s has not changed for %.1f s while frames arrive.", what, where, he->value);
                break;
        case DA_EVENT_CHANNEL_MISSING:
                r = asprintf(&detail, "%s%s is missing in %.0f%% of recent frames.", what, where, 100 * he->value);
                break;
        case DA_EVENT_CHANNEL_OUT_OF_RANGE:
                if (he->channel >= 0)
                        r = asprintf(&detail, "%s%s is %.1f IQRs beyond the model's training range.", what, where,
                                     he->value);
                else
                        r = asprintf(&detail, "Model input %s (from %s) is %.1f IQRs beyond the model's training range.",
                                     what, channels, he->value);
                break;
        case DA_EVENT_CHANNEL_NOISY:
                r = asprintf(&detail, "%s%s changes %.0f× more between frames than in the first %.1f s, "
                             "relative to the other eye (a noisy channel).", what, where, he->value,
                             (double) e->config->health.baseline_usec / USEC_PER_SEC);
                break;
        case DA_EVENT_CHANNEL_DRIFT:
                /* Named by the pair: which eye moved, the difference cannot tell. */
                what = channels;
                r = asprintf(&detail, "The eyes disagree on %s by %+.3f more than in the first %.1f s "
                             "(one eye's calibration drifting?).", what, he->value,
                             (double) e->config->health.baseline_usec / USEC_PER_SEC);
                break;
        case DA_EVENT_CHANNEL_RECOVERED:
                if (he->cause == DA_EVENT_CHANNEL_DRIFT) {
                        what = channels;
                        r = asprintf(&detail, "The eyes agree on %s as in the first %.1f s again (was drifting).",
                                     what, (double) e->config->health.baseline_usec / USEC_PER_SEC);
                        break;
                }
                r = asprintf(&detail, "%s%s %s.", what, where,
                             he->cause == DA_EVENT_CHANNEL_FROZEN ? "changes again (was frozen)" :
                             he->cause == DA_EVENT_CHANNEL_MISSING ? "is present again (was missing)" :
                             he->cause == DA_EVENT_CHANNEL_NOISY ? "is as steady as in the warm-up again (was noisy)" :
                             "is back within the model's training range");
                break;
        default:
                return;
        }
        if (r < 0 || asprintf(&key, "%s %s", da_event_kind_to_string(he->cause), what) < 0)
                return (void) log_oom();

        raise_event(e, &(DeviceEvent) {
                        .time_us = now_realtime_us(),
                        .stream_time_us = he->time_us,
                        .device = e->device,
                        .kind = he->kind,
                        .channel = what,
                        .detail = detail,
                }, he->kind == DA_EVENT_CHANNEL_RECOVERED ? NULL : key,
                he->kind == DA_EVENT_CHANNEL_RECOVERED ? key : NULL);
}

void device_events_frame(DeviceEvents *e, const da_frame *frame, const float *features) {
        if (e->health)
                da_health_push(e->health, frame, features, on_health, e);
}

/* ---- ranking shift ------------------------------------------------------ */

void device_events_snapshot(DeviceEvents *ev, uint64_t stream_time_us, const double *scores) {
        const da_model *model = ev->model;
        const Config *c = ev->config;
        _cleanup_free_ char *detail = NULL;
        char *features[DA_SHIFT_MOVED_MAX + 1] = {};
        char moved[DA_SHIFT_MOVED_MAX][160] = {};
        da_shift_event e;
        bool own = false, had;
        int r;

        if (!ev->shift)
                return;
        had = da_shift_has_reference(ev->shift, NULL);
        r = da_shift_push(ev->shift, stream_time_us, scores, &e);
        if (r < 0)
                return (void) log_debug_errno(r, "Failed to compare the ranking of %s with its reference: %m", ev->device);
        if (!had && da_shift_has_reference(ev->shift, &own) && own)
                log_info("Device %s: its own ranking after the warm-up is the reference from now on.", ev->device);
        if (r == 0)
                return;

        for (unsigned i = 0; i < e.n_moved; i++) {
                features[i] = (char *) da_model_feature(model, e.moved[i]);
                snprintf(moved[i], sizeof(moved[i]), "%s%s %u→%u", i ? ", " : "", features[i], e.from_rank[i],
                         e.to_rank[i]);
        }
        da_shift_has_reference(ev->shift, &own);
        if (e.kind == DA_EVENT_RANKING_SHIFT)
                r = asprintf(&detail, "The ranking left the reference (%s): Kendall τ-b %.2f, top-%u overlap %.2f; "
                             "moved most: %s%s%s.", own ? "the device's own after warm-up" : "the model's training ranking",
                             e.tau, c->shift.top_k, e.overlap, moved[0], moved[1], moved[2]);
        else
                r = asprintf(&detail, "The ranking is back near the reference: Kendall τ-b %.2f, top-%u overlap %.2f.",
                             e.tau, c->shift.top_k, e.overlap);
        if (r < 0)
                return (void) log_oom();

        raise_event(ev, &(DeviceEvent) {
                        .time_us = now_realtime_us(),
                        .stream_time_us = stream_time_us,
                        .device = ev->device,
                        .kind = e.kind,
                        .features = features,
                        .detail = detail,
                }, e.kind == DA_EVENT_RANKING_SHIFT ? "ranking-shift" : NULL,
                e.kind == DA_EVENT_RANKING_RECOVERED ? "ranking-shift" : NULL);
}

/* ---- lifetime ----------------------------------------------------------- */

void device_events_done(DeviceEvents *e) {
        e->shift = da_shift_free(e->shift);
        e->health = da_health_free(e->health);
        open_clear(e);
}

void device_events_reset(DeviceEvents *e) {
        if (e->shift)
                da_shift_reset(e->shift);
        if (e->health)
                da_health_reset(e->health);
}

int device_events_bind(DeviceEvents *e, const char *device, const da_model *model, const char *model_path,
                       const Config *c, device_event_cb raised, void *userdata) {
        unsigned F = da_model_arch(model)->n_features;
        da_reference_ranking ref;
        int r;

        device_events_done(e);
        *e = (DeviceEvents) {
                .device = device,
                .model = model,
                .model_path = model_path,
                .config = c,
                .raised = raised,
                .userdata = userdata,
        };
        if (!c->events)
                return 0;

        r = da_shift_new(F, &c->shift, &e->shift);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the ranking-shift detector of %s: %m", device);
        r = da_health_new(model, &c->health, &e->health);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the input-health detector of %s: %m", device);

        if (da_model_reference_ranking(model, &ref) < 0)
                log_info("Model '%s' carries no reference ranking: device %s compares against its own "
                         "after the warm-up.", model_path, device);
        else if (ref.location != c->location || ref.aggregation != c->aggregation)
                log_notice("The reference ranking of model '%s' is %s/%s, the daemon ranks %s/%s: device %s "
                           "compares against its own after the warm-up.", model_path,
                           da_trace_location_to_string(ref.location), da_aggregation_to_string(ref.aggregation),
                           da_trace_location_to_string(c->location), da_aggregation_to_string(c->aggregation), device);
        else {
                r = da_shift_set_reference(e->shift, ref.scores);
                if (r < 0)
                        return log_error_errno(r, "Failed to set the reference ranking of %s: %m", device);
        }
        return 0;
}
