/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Ranking shift: how far each snapshot's ranking is from a reference, and
 * when that distance has lasted long enough to tell someone. */

#include <math.h>

#include "util.h"

struct da_shift {
        unsigned f, k;
        da_shift_options opt;
        double *ref;            /* f scores, NULL until there is a reference */
        bool own;               /* the reference is the device's own ranking */
        unsigned *ref_order, *ref_rank;
        unsigned *order, *rank; /* the current snapshot's */
        double *prev;           /* the snapshot before, while waiting for an own reference */
        bool have_prev;
        bool started;
        uint64_t first_us, last_us;
        bool shifted;
        bool pending;           /* the condition differs from the state since pending_us */
        uint64_t pending_us;
        double last_tau, last_overlap;
};

void da_shift_options_init(da_shift_options *o) {
        *o = (da_shift_options) {
                .tau_min = 0.1,
                .top_k = 5,
                .overlap_min = 0,
                .hold_usec = 3000000,
                .recover_usec = 3000000,
                .warmup_usec = 10000000,
                .stable_tau = 0.8,
        };
}

da_shift *da_shift_free(da_shift *s) {
        if (!s)
                return NULL;
        free(s->ref);
        free(s->ref_order);
        free(s->ref_rank);
        free(s->order);
        free(s->rank);
        free(s->prev);
        return mfree(s);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_shift *, da_shift_free);

int da_shift_new(unsigned f, const da_shift_options *o, da_shift **ret) {
        _cleanup_(da_shift_freep) da_shift *s = NULL;

        if (f < 2 || !o || !ret || o->top_k == 0 || !(o->tau_min >= -1 && o->tau_min <= 1) ||
            !(o->overlap_min >= 0 && o->overlap_min <= 1) || !(o->stable_tau >= -1 && o->stable_tau <= 1))
                return -EINVAL;
        s = calloc(1, sizeof(*s));
        if (!s)
                return -ENOMEM;
        s->f = f;
        s->k = MIN(o->top_k, f);
        s->opt = *o;
        s->ref_order = calloc(f, sizeof(unsigned));
        s->ref_rank = calloc(f, sizeof(unsigned));
        s->order = calloc(f, sizeof(unsigned));
        s->rank = calloc(f, sizeof(unsigned));
        s->prev = calloc(f, sizeof(double));
        if (!s->ref_order || !s->ref_rank || !s->order || !s->rank || !s->prev)
                return -ENOMEM;
        s->last_tau = s->last_overlap = NAN;
        *ret = TAKE_PTR(s);
        return 0;
}

static int adopt_reference(da_shift *s, const double *scores, bool own) {
        int r;

        if (!s->ref) {
                s->ref = malloc(s->f * sizeof(double));
                if (!s->ref)
                        return -ENOMEM;
        }
        memcpy(s->ref, scores, s->f * sizeof(double));
        r = da_ranking(s->ref, s->f, s->ref_order);
        if (r < 0) {
                s->ref = mfree(s->ref);
                return r;
        }
        for (unsigned k = 0; k < s->f; k++)
                s->ref_rank[s->ref_order[k]] = k + 1;
        s->own = own;
        return 0;
}

int da_shift_set_reference(da_shift *s, const double *scores) {
        da_shift_reset(s);
        s->have_prev = false;
        if (!scores) {
                s->ref = mfree(s->ref);
                s->own = false;
                return 0;
        }
        return adopt_reference(s, scores, false);
}

bool da_shift_has_reference(const da_shift *s, bool *ret_own) {
        if (ret_own)
                *ret_own = s->own;
        return s->ref != NULL;
}

void da_shift_reset(da_shift *s) {
        s->started = false;
        s->shifted = false;
        s->pending = false;
        s->last_tau = s->last_overlap = NAN;
}

void da_shift_last(const da_shift *s, double *ret_tau, double *ret_overlap, bool *ret_shifted) {
        if (ret_tau)
                *ret_tau = s->last_tau;
        if (ret_overlap)
                *ret_overlap = s->last_overlap;
        if (ret_shifted)
                *ret_shifted = s->shifted;
}

static bool already_moved(const da_shift_event *e, unsigned feature) {
        for (unsigned i = 0; i < e->n_moved; i++)
                if (e->moved[i] == feature)
                        return true;
        return false;
}

/* The features whose rank moved most, by places, the higher ranked now
 * first among equals: a partial selection, O(f·DA_SHIFT_MOVED_MAX²). */
static void most_moved(const da_shift *s, da_shift_event *e) {
        e->n_moved = 0;
        for (unsigned i = 0; i < MIN(DA_SHIFT_MOVED_MAX, s->f); i++) {
                unsigned best = s->f, best_d = 0;

                for (unsigned k = 0; k < s->f; k++) {
                        unsigned ft = s->order[k], a = s->ref_rank[ft], b = s->rank[ft], d = a > b ? a - b : b - a;

                        if (d > best_d && !already_moved(e, ft)) {
                                best = ft;
                                best_d = d;
                        }
                }
                if (best == s->f)
                        break;
                e->moved[e->n_moved] = best;
                e->from_rank[e->n_moved] = s->ref_rank[best];
                e->to_rank[e->n_moved] = s->rank[best];
                e->n_moved++;
        }
}

int da_shift_push(da_shift *s, uint64_t time_us, const double *scores, da_shift_event *ret_event) {
        double tau, overlap;
        bool bad;
        int r;

        if (!s || !scores)
                return -EINVAL;
        for (unsigned i = 0; i < s->f; i++)
                if (isnan(scores[i]))
                        return -EINVAL;
        if (s->started && time_us < s->last_us)
                da_shift_reset(s);
        if (!s->started) {
                s->started = true;
                s->first_us = time_us;
        }
        s->last_us = time_us;

        if (!s->ref) {
                /* No reference from the model: the device's own ranking,
                 * once the warm-up is over and it holds still. */
                if (s->have_prev && time_us - s->first_us >= s->opt.warmup_usec &&
                    da_kendall_tau(s->prev, scores, s->f, &tau) >= 0 && tau >= s->opt.stable_tau)
                        return adopt_reference(s, scores, true);
                memcpy(s->prev, scores, s->f * sizeof(double));
                s->have_prev = true;
                return 0;
        }

        r = da_ranking(scores, s->f, s->order);
        if (r < 0)
                return r;
        for (unsigned k = 0; k < s->f; k++)
                s->rank[s->order[k]] = k + 1;
        r = da_topk_overlap(s->ref_order, s->order, s->f, s->k, &overlap);
        if (r < 0)
                return r;
        r = da_kendall_tau(s->ref, scores, s->f, &tau);
        if (r == -EDOM)
                return 0;       /* all scores equal: nothing ranked yet */
        if (r < 0)
                return r;
        s->last_tau = tau;
        s->last_overlap = overlap;

        bad = tau < s->opt.tau_min || overlap < s->opt.overlap_min;
        if (bad == s->shifted) {
                s->pending = false;
                return 0;
        }
        if (!s->pending) {
                s->pending = true;
                s->pending_us = time_us;
        }
        if (time_us - s->pending_us < (s->shifted ? s->opt.recover_usec : s->opt.hold_usec))
                return 0;

        s->shifted = bad;
        s->pending = false;
        if (ret_event) {
                *ret_event = (da_shift_event) {
                        .kind = bad ? DA_EVENT_RANKING_SHIFT : DA_EVENT_RANKING_RECOVERED,
                        .time_us = time_us,
                        .tau = tau,
                        .overlap = overlap,
                };
                most_moved(s, ret_event);
        }
        return 1;
}
