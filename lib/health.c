/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Input health: frozen, missing and out-of-range channels, decided per frame
 * in O(channels + inputs) with no allocation.
 *
 * Shares of bad frames are exponential averages over stream time, so a
 * tracker at 20 Hz and one at 400 Hz need the same time to trip them, and a
 * handful of NaN frames (a blink) does not. Each condition recovers at half
 * its threshold, so a share hovering at the threshold does not flap. */

#include <math.h>

#include "model.h"
#include "util.h"

/* A channel must have changed this often before it can freeze: eye
 * positions, which trackers report once per session, never change. */
#define FROZEN_MIN_CHANGES 2u

typedef struct channel_state {
        float last;
        uint64_t last_change_us;
        unsigned changes;       /* saturates at FROZEN_MIN_CHANGES */
        double nan_share;
        bool frozen, missing;
} channel_state;

typedef struct input_state {
        double share;
        double median, iqr;
        double lo, hi;          /* beyond these, out of range */
        int channel;            /* the channel it copies, or −1 */
        uint64_t channels;
        bool checked;           /* not heavy-tailed */
        bool out;
} input_state;

struct da_health {
        da_health_options opt;
        unsigned n_channels, n_inputs;
        da_channel channel[_DA_CH_MAX];
        channel_state ch[_DA_CH_MAX];
        input_state *in;        /* n_inputs; NULL without a scaler */
        uint64_t last_us;
        bool started;
};

void da_health_options_init(da_health_options *o) {
        *o = (da_health_options) {
                .frozen_usec = 1000000,
                .missing_usec = 1000000,
                .missing_share = 0.5,
                .range_iqr = 10,
                .range_usec = 1000000,
                .range_share = 0.5,
        };
}

da_health *da_health_free(da_health *h) {
        if (!h)
                return NULL;
        free(h->in);
        return mfree(h);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_health *, da_health_free);

static bool options_valid(const da_health_options *o) {
        return o->frozen_usec > 0 && o->missing_usec > 0 && o->range_usec > 0 &&
                o->missing_share > 0 && o->missing_share <= 1 &&
                o->range_share > 0 && o->range_share <= 1 &&
                isfinite(o->range_iqr) && o->range_iqr >= 0;
}

int da_health_new(const da_model *m, const da_health_options *o, da_health **ret) {
        _cleanup_(da_health_freep) da_health *h = NULL;
        const float *med = da_model_scaler_median(m), *iqr = da_model_scaler_iqr(m);
        unsigned F = da_model_arch(m)->n_features;
        uint64_t needed;

        if (!o || !ret || !options_valid(o))
                return -EINVAL;
        h = calloc(1, sizeof(*h));
        if (!h)
                return -ENOMEM;
        h->opt = *o;

        /* Everything the model's inputs need is what a source without any
         * channel would be missing. */
        needed = da_model_missing_channels(m, 0);
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                if (needed & (UINT64_C(1) << c))
                        h->channel[h->n_channels++] = (da_channel) c;

        if (med) {
                h->in = calloc(F, sizeof(input_state));
                if (!h->in)
                        return -ENOMEM;
                h->n_inputs = F;
                for (unsigned f = 0; f < F; f++) {
                        int k = da_feature_from_name(da_model_feature(m, f));
                        double reach = (0.5 + o->range_iqr) * iqr[f];
                        da_channel chs[_DA_CH_MAX];
                        int n = k >= 0 ? da_feature_channels((unsigned) k, chs, ELEMENTSOF(chs)) : 0;

                        h->in[f].checked = k >= 0 && !da_feature_heavy_tailed((unsigned) k);
                        h->in[f].median = med[f];
                        h->in[f].iqr = iqr[f];
                        h->in[f].lo = med[f] - reach;
                        h->in[f].hi = med[f] + reach;
                        h->in[f].channel = k >= 0 ? da_feature_copies_channel((unsigned) k) : -1;
                        if (h->in[f].channel < 0)
                                h->in[f].channel = -1;
                        for (int i = 0; i < n && i < (int) ELEMENTSOF(chs); i++)
                                h->in[f].channels |= UINT64_C(1) << chs[i];
                }
        }
        *ret = TAKE_PTR(h);
        return 0;
}

void da_health_reset(da_health *h) {
        memset(h->ch, 0, sizeof(h->ch));
        for (unsigned f = 0; f < h->n_inputs; f++) {
                h->in[f].share = 0;
                h->in[f].out = false;
        }
        h->started = false;
}

static void emit(da_health_event_fn fn, void *userdata, da_event_kind kind, da_event_kind cause, uint64_t t,
                 int channel, int feature, uint64_t channels, double value) {
        const da_health_event e = {
                .kind = kind,
                .cause = cause,
                .time_us = t,
                .channel = channel,
                .feature = feature,
                .channels = channels,
                .value = value,
        };

        if (fn)
                fn(&e, userdata);
}

static void check_channel(da_health *h, da_channel c, channel_state *s, float v, uint64_t t, double a_missing,
                          da_health_event_fn fn, void *userdata) {
        uint64_t bit = UINT64_C(1) << c;
        bool nan = isnan(v);

        s->nan_share += a_missing * ((nan ? 1.0 : 0.0) - s->nan_share);
        if (!s->missing && s->nan_share >= h->opt.missing_share) {
                s->missing = true;
                emit(fn, userdata, DA_EVENT_CHANNEL_MISSING, DA_EVENT_CHANNEL_MISSING, t, (int) c, -1, bit,
                     s->nan_share);
        } else if (s->missing && s->nan_share < h->opt.missing_share / 2) {
                s->missing = false;
                emit(fn, userdata, DA_EVENT_CHANNEL_RECOVERED, DA_EVENT_CHANNEL_MISSING, t, (int) c, -1, bit,
                     s->nan_share);
        }

        if (nan) {
                /* Missing is its own condition: a gap neither freezes a
                 * channel nor ends a freeze. */
                s->last_change_us = t;
                return;
        }
        if (v != s->last || s->changes == 0) {
                if (s->frozen) {
                        s->frozen = false;
                        emit(fn, userdata, DA_EVENT_CHANNEL_RECOVERED, DA_EVENT_CHANNEL_FROZEN, t, (int) c, -1, bit,
                             (double) (t - s->last_change_us) / 1e6);
                }
                if (s->changes < FROZEN_MIN_CHANGES)
                        s->changes++;
                s->last = v;
                s->last_change_us = t;
                return;
        }
        if (!s->frozen && s->changes >= FROZEN_MIN_CHANGES && t - s->last_change_us >= h->opt.frozen_usec) {
                s->frozen = true;
                emit(fn, userdata, DA_EVENT_CHANNEL_FROZEN, DA_EVENT_CHANNEL_FROZEN, t, (int) c, -1, bit,
                     (double) (t - s->last_change_us) / 1e6);
        }
}

static void check_input(da_health *h, unsigned f, input_state *s, float v, uint64_t t, double a_range,
                        da_health_event_fn fn, void *userdata) {
        bool out = v < s->lo || v > s->hi;     /* NaN is neither: that is missing */

        s->share += a_range * ((out ? 1.0 : 0.0) - s->share);
        if (!s->out && s->share >= h->opt.range_share) {
                /* IQRs beyond the robust range median ± IQR/2, this frame */
                double beyond = isnan(v) ? NAN : fabs(v - s->median) / s->iqr - 0.5;

                s->out = true;
                emit(fn, userdata, DA_EVENT_CHANNEL_OUT_OF_RANGE, DA_EVENT_CHANNEL_OUT_OF_RANGE, t, s->channel,
                     (int) f, s->channels, beyond);
        } else if (s->out && s->share < h->opt.range_share / 2) {
                s->out = false;
                emit(fn, userdata, DA_EVENT_CHANNEL_RECOVERED, DA_EVENT_CHANNEL_OUT_OF_RANGE, t, s->channel,
                     (int) f, s->channels, s->share);
        }
}

void da_health_push(da_health *h, const da_frame *frame, const float *features, da_health_event_fn fn,
                    void *userdata) {
        uint64_t t = frame->time_us, dt;
        double a_missing, a_range;

        /* A stream going back in time is a new stream (a replay restarting). */
        if (h->started && t < h->last_us)
                da_health_reset(h);
        dt = h->started ? t - h->last_us : 0;
        h->started = true;
        h->last_us = t;
        a_missing = -expm1(-(double) dt / (double) h->opt.missing_usec);
        a_range = -expm1(-(double) dt / (double) h->opt.range_usec);

        for (unsigned i = 0; i < h->n_channels; i++) {
                da_channel c = h->channel[i];

                check_channel(h, c, &h->ch[c], frame->ch[c], t, a_missing, fn, userdata);
        }
        if (!features || !h->in)
                return;
        for (unsigned f = 0; f < h->n_inputs; f++)
                if (h->in[f].checked)
                        check_input(h, f, &h->in[f], features[f], t, a_range, fn, userdata);
}

void da_health_open(const da_health *h, uint64_t *ret_frozen, uint64_t *ret_missing, unsigned *ret_range) {
        uint64_t frozen = 0, missing = 0;
        unsigned range = 0;

        for (unsigned i = 0; i < h->n_channels; i++) {
                da_channel c = h->channel[i];

                if (h->ch[c].frozen)
                        frozen |= UINT64_C(1) << c;
                if (h->ch[c].missing)
                        missing |= UINT64_C(1) << c;
        }
        for (unsigned f = 0; f < h->n_inputs; f++)
                range += h->in[f].out;
        if (ret_frozen)
                *ret_frozen = frozen;
        if (ret_missing)
                *ret_missing = missing;
        if (ret_range)
                *ret_range = range;
}
