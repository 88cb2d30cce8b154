/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Input health: frozen, missing, out-of-range, drifting and noisy channels,
 * decided per frame in O(channels + inputs) with no allocation.
 *
 * Shares of bad frames are exponential averages over stream time, so a
 * tracker at 20 Hz and one at 400 Hz need the same time to trip them, and a
 * handful of NaN frames (a blink) does not. Each condition recovers at half
 * its threshold, so a share hovering at the threshold does not flap. */

#include <assert.h>
#include <math.h>

#include "model.h"
#include "util.h"

/* A channel must have changed this often before it can freeze: eye
 * positions, which trackers report once per session, never change. */
#define FROZEN_MIN_CHANGES 2u

/* What the warm-up keeps of a statistic for its median. When it fills
 * before the warm-up ends (a fast tracker), every other value goes and only
 * every 2nd, 4th, … is kept from then on. */
#define BASELINE_MAX 256u

/* A side needs this many changes in the warm-up for the noise check: eye
 * positions, reported once per session, have none. */
#define NOISE_MIN_CHANGES 16u

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

typedef struct baseline {
        float v[BASELINE_MAX];
        unsigned n, stride, skip;
} baseline;

/* One eye's channel of a pair, for the noise check: the median of
 * log |change| between frames (repeated frames skipped), tracked by steps
 * of a fixed rate per second towards each new value, against the same
 * median over the warm-up. */
typedef struct noise_side {
        baseline warmup;
        float last;
        uint64_t last_change_us;
        double level, base;
        bool have_last, have_change, ready;
} noise_side;

/* The same quantity for both eyes: the eyes move together, so noise on one
 * channel shows as that side's change level rising against the other's
 * (a fast gaze movement raises both), and one eye's calibration drifting
 * moves the left-minus-right difference away for good (a vergence change
 * comes back). */
typedef struct pair_state {
        da_channel channel[2];  /* left, right */
        noise_side side[2];
        unsigned noisy_side;    /* the side named when it turned noisy, for its recovery */
        bool noisy;
        bool drift_checked;     /* direction x and y: z follows from them */
        baseline drift_warmup;
        double median;
        double smooth;          /* L − R, exponentially averaged over drift_usec */
        double excess;          /* its distance beyond drift_offset, integrated (·s) */
        uint64_t last_us;
        bool have_smooth, drift_ready, drifting;
} pair_state;

static const struct {
        da_channel left, right;
        bool drift;
} pairs[] = {
        { DA_CH_EYE_LEFT_DIRECTION_X, DA_CH_EYE_RIGHT_DIRECTION_X, true },
        { DA_CH_EYE_LEFT_DIRECTION_Y, DA_CH_EYE_RIGHT_DIRECTION_Y, true },
        { DA_CH_EYE_LEFT_DIRECTION_Z, DA_CH_EYE_RIGHT_DIRECTION_Z, false },
        { DA_CH_EYE_LEFT_SCREEN_X,    DA_CH_EYE_RIGHT_SCREEN_X,    false },
        { DA_CH_EYE_LEFT_SCREEN_Y,    DA_CH_EYE_RIGHT_SCREEN_Y,    false },
        { DA_CH_PUPIL_LEFT_DIAMETER,  DA_CH_PUPIL_RIGHT_DIAMETER,  false },
};

struct da_health {
        da_health_options opt;
        unsigned n_channels, n_inputs;
        da_channel channel[_DA_CH_MAX];
        channel_state ch[_DA_CH_MAX];
        input_state *in;        /* n_inputs; NULL without a scaler */
        unsigned n_pairs;
        pair_state pair[ELEMENTSOF(pairs)];
        double noise_rate;      /* log units per second: log(noise_factor) in noise_usec */
        uint64_t first_us, last_us;
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
                .baseline_usec = 5000000,
                .drift_usec = 500000,
                .drift_offset = 0.1,
                .drift_hold_usec = 1000000,
                .noise_factor = 20,
                .noise_usec = 1500000,
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
                isfinite(o->range_iqr) && o->range_iqr >= 0 &&
                o->baseline_usec > 0 && o->drift_usec > 0 && o->drift_hold_usec > 0 &&
                isfinite(o->drift_offset) && o->drift_offset >= 0 &&
                o->noise_usec > 0 && isfinite(o->noise_factor) && (o->noise_factor == 0 || o->noise_factor > 1);
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
        if (o->noise_factor > 0)
                h->noise_rate = log(o->noise_factor) / ((double) o->noise_usec / 1e6);

        /* Everything the model's inputs need is what a source without any
         * channel would be missing. */
        needed = da_model_missing_channels(m, 0);
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                if (needed & (UINT64_C(1) << c))
                        h->channel[h->n_channels++] = (da_channel) c;

        for (size_t i = 0; i < ELEMENTSOF(pairs); i++) {
                pair_state *p = &h->pair[h->n_pairs];

                if (!(needed & (UINT64_C(1) << pairs[i].left)) || !(needed & (UINT64_C(1) << pairs[i].right)))
                        continue;
                p->channel[0] = pairs[i].left;
                p->channel[1] = pairs[i].right;
                p->drift_checked = pairs[i].drift && o->drift_offset > 0;
                if (p->drift_checked || o->noise_factor > 0)
                        h->n_pairs++;
        }

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
        for (unsigned i = 0; i < h->n_pairs; i++)
                h->pair[i] = (pair_state) {
                        .channel = { h->pair[i].channel[0], h->pair[i].channel[1] },
                        .drift_checked = h->pair[i].drift_checked,
                };
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

static int cmp_float(const void *a, const void *b) {
        float x = *(const float *) a, y = *(const float *) b;

        return (x > y) - (x < y);
}

static void baseline_keep(baseline *b, float v) {
        if (b->skip > 0) {
                b->skip--;
                return;
        }
        if (b->n == BASELINE_MAX) {
                for (unsigned i = 0; i < BASELINE_MAX / 2; i++)
                        b->v[i] = b->v[2 * i];
                b->n = BASELINE_MAX / 2;
                b->stride = MAX(b->stride, 1u) * 2;
        }
        b->v[b->n++] = v;
        b->skip = MAX(b->stride, 1u) - 1;
}

/* Sorts it: once per warm-up, the only step that is not O(1). */
static double baseline_median(baseline *b) {
        assert(b->n > 0);
        qsort(b->v, b->n, sizeof(float), cmp_float);
        return b->n % 2 ? b->v[b->n / 2] : ((double) b->v[b->n / 2 - 1] + b->v[b->n / 2]) / 2;
}

static bool in_warmup(const da_health *h, uint64_t t) {
        return t - h->first_us < h->opt.baseline_usec;
}

static void noise_side_push(da_health *h, noise_side *s, float v, uint64_t t) {
        double ld, step;

        if (isnan(v)) {
                /* The first change after a gap moves nothing: its time
                 * step is the gap's, not a frame's. */
                s->have_last = s->have_change = false;
                return;
        }
        if (!s->have_last || v == s->last) {
                /* A repeated frame (trackers resample) says nothing of noise. */
                s->have_last = true;
                s->last = v;
                return;
        }
        ld = log(fabs((double) v - (double) s->last));
        s->last = v;
        step = s->have_change ? h->noise_rate * (double) (t - s->last_change_us) / 1e6 : 0;
        s->have_change = true;
        s->last_change_us = t;

        if (!s->ready) {
                if (in_warmup(h, t) || s->warmup.n < NOISE_MIN_CHANGES) {
                        baseline_keep(&s->warmup, (float) ld);
                        return;
                }
                s->base = s->level = baseline_median(&s->warmup);
                s->ready = true;
                return;
        }
        /* A step towards the new value, never past it: the median of the
         * recent changes, robust to a saccade's few large ones. */
        s->level += ld > s->level ? MIN(step, ld - s->level) : -MIN(step, s->level - ld);
}

/* Noise: one side's change level risen against the other's by
 * noise_factor; recovers under its square root. */
static void check_noise(da_health *h, pair_state *p, uint64_t t, da_health_event_fn fn, void *userdata) {
        double rise, limit = log(h->opt.noise_factor);
        da_channel c;

        if (!p->side[0].ready || !p->side[1].ready)
                return;
        rise = (p->side[0].level - p->side[0].base) - (p->side[1].level - p->side[1].base);
        if (!p->noisy && fabs(rise) >= limit) {
                p->noisy = true;
                p->noisy_side = rise >= 0 ? 0 : 1;
                c = p->channel[p->noisy_side];
                emit(fn, userdata, DA_EVENT_CHANNEL_NOISY, DA_EVENT_CHANNEL_NOISY, t, (int) c, -1, UINT64_C(1) << c,
                     exp(fabs(rise)));
        } else if (p->noisy && fabs(rise) < limit / 2) {
                p->noisy = false;
                c = p->channel[p->noisy_side];
                emit(fn, userdata, DA_EVENT_CHANNEL_RECOVERED, DA_EVENT_CHANNEL_NOISY, t, (int) c, -1, UINT64_C(1) << c,
                     exp(fabs(rise)));
        }
}

/* Drift: the smoothed difference's distance from the warm-up's median,
 * integrated beyond drift_offset (a CUSUM): a vergence change that comes
 * back drains it, an offset that stays fills it. Fires when it holds what
 * drift_offset held for drift_hold_usec would; recovers when drained. */
static void check_drift(da_health *h, pair_state *p, const da_frame *frame, uint64_t t, da_health_event_fn fn,
                        void *userdata) {
        uint64_t bits = (UINT64_C(1) << p->channel[0]) | (UINT64_C(1) << p->channel[1]);
        double d = (double) frame->ch[p->channel[0]] - (double) frame->ch[p->channel[1]], dt, dev;
        double limit = h->opt.drift_offset * (double) h->opt.drift_hold_usec / 1e6;

        if (isnan(d))
                return;         /* a gap is missing, not drift */
        dt = p->have_smooth ? (double) (t - p->last_us) / 1e6 : 0;
        p->smooth = p->have_smooth ? p->smooth - expm1(-dt * 1e6 / (double) h->opt.drift_usec) * (d - p->smooth) : d;
        p->have_smooth = true;
        p->last_us = t;

        if (!p->drift_ready) {
                if (in_warmup(h, t) || p->drift_warmup.n == 0) {
                        baseline_keep(&p->drift_warmup, (float) d);
                        return;
                }
                p->median = baseline_median(&p->drift_warmup);
                p->drift_ready = true;
                return;
        }

        dev = fabs(p->smooth - p->median);
        /* Held at the threshold, so a long drift does not delay its recovery. */
        p->excess = MIN(MAX(0.0, p->excess + (dev - h->opt.drift_offset) * dt), limit);
        if (!p->drifting && p->excess >= limit) {
                p->drifting = true;
                emit(fn, userdata, DA_EVENT_CHANNEL_DRIFT, DA_EVENT_CHANNEL_DRIFT, t, (int) p->channel[0], -1, bits,
                     p->smooth - p->median);
        } else if (p->drifting && p->excess <= 0) {
                p->drifting = false;
                emit(fn, userdata, DA_EVENT_CHANNEL_RECOVERED, DA_EVENT_CHANNEL_DRIFT, t, (int) p->channel[0], -1,
                     bits, p->smooth - p->median);
        }
}

static void check_pair(da_health *h, pair_state *p, const da_frame *frame, uint64_t t, da_health_event_fn fn,
                       void *userdata) {
        if (h->opt.noise_factor > 0) {
                noise_side_push(h, &p->side[0], frame->ch[p->channel[0]], t);
                noise_side_push(h, &p->side[1], frame->ch[p->channel[1]], t);
                check_noise(h, p, t, fn, userdata);
        }
        if (p->drift_checked)
                check_drift(h, p, frame, t, fn, userdata);
}

void da_health_push(da_health *h, const da_frame *frame, const float *features, da_health_event_fn fn,
                    void *userdata) {
        uint64_t t = frame->time_us, dt;
        double a_missing, a_range;

        /* A stream going back in time is a new stream (a replay restarting). */
        if (h->started && t < h->last_us)
                da_health_reset(h);
        dt = h->started ? t - h->last_us : 0;
        if (!h->started)
                h->first_us = t;
        h->started = true;
        h->last_us = t;
        a_missing = -expm1(-(double) dt / (double) h->opt.missing_usec);
        a_range = -expm1(-(double) dt / (double) h->opt.range_usec);

        for (unsigned i = 0; i < h->n_channels; i++) {
                da_channel c = h->channel[i];

                check_channel(h, c, &h->ch[c], frame->ch[c], t, a_missing, fn, userdata);
        }
        for (unsigned i = 0; i < h->n_pairs; i++)
                check_pair(h, &h->pair[i], frame, t, fn, userdata);
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
