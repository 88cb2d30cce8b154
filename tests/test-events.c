/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The ranking-shift and input-health detectors on real recordings (Robust
 * Vision, contrib/data) with faults injected into the frames between two
 * known times: each kind fires soon after its fault begins, recovers after
 * it ends, and nothing fires on the same recording without the fault. The
 * pipeline is the daemon's: da_stream, da_rolling over 600 windows, a
 * snapshot every second of stream time, INV aggregation. */

#include <math.h>

#include "test-util.h"

#define RV_DIR TEST_SRCDIR "/../contrib/data/robustvision"
/* The first default model (H=32, global scaling, trained on P1-P16), on
 * which the issue observed the frozen eye's ranking shift. The per-user
 * default that replaced it ranks P1's frozen left eye without a shift at
 * the default thresholds (see DESIGN-NOTES, "Events"). */
#define DEFAULT_MODEL TEST_SRCDIR "/fixtures/models/foval-robustvision-h32-global.safetensors"

typedef enum fault {
        FAULT_NONE,
        FAULT_FREEZE_LEFT,      /* the left eye's direction held at its value at the start */
        FAULT_MISSING_LEFT,     /* the left eye's channels NaN */
        FAULT_OFFSET_LEFT,      /* +1 on the left eye's direction x: far outside training */
        FAULT_NOISE_LEFT,       /* Gaussian noise, sd 0.1, on the left eye's direction x */
        FAULT_DRIFT_LEFT,       /* the left eye's direction x offset by 0.05 per second */
} fault;

#define MAX_EVENTS 512

typedef struct recorded {
        da_event_kind kind, cause;
        double t;               /* seconds since the first frame */
        int channel, feature;
        uint64_t channels;
        unsigned moved;         /* shift: the feature that moved most */
} recorded;

typedef struct run {
        recorded ev[MAX_EVENTS];
        unsigned n;
        uint64_t t_first;
        double duration;
        bool own_reference;     /* the shift detector took the device's own ranking */
} run;

static da_model *model;
/* Set: the ranking of the shipped model's training windows (P1–P16), as
 * deepactifctl train writes it into a model file. */
static const double *reference;

static void on_health(const da_health_event *e, void *userdata) {
        run *r = userdata;

        ck_assert_uint_lt(r->n, MAX_EVENTS);
        r->ev[r->n++] = (recorded) {
                .kind = e->kind,
                .cause = e->cause,
                .t = (double) (e->time_us - r->t_first) / 1e6,
                .channel = e->channel,
                .feature = e->feature,
                .channels = e->channels,
        };
}

/* Standard normal, Box–Muller on splitmix64: the same noise on every run. */
static double gauss(uint64_t *state) {
        double u1 = ((double) (da_splitmix64(state) >> 11) + 1) / 9007199254740993.0;
        double u2 = (double) (da_splitmix64(state) >> 11) / 9007199254740992.0;

        return sqrt(-2 * log(u1)) * cos(2 * M_PI * u2);
}

/* since: seconds since the fault began. */
static void inject(fault f, da_frame *fr, float held[3], double since, uint64_t *rng) {
        switch (f) {
        case FAULT_FREEZE_LEFT:
                if (isnan(held[0]))
                        for (unsigned i = 0; i < 3; i++)
                                held[i] = fr->ch[DA_CH_EYE_LEFT_DIRECTION_X + i];
                for (unsigned i = 0; i < 3; i++)
                        fr->ch[DA_CH_EYE_LEFT_DIRECTION_X + i] = held[i];
                break;
        case FAULT_MISSING_LEFT:
                for (unsigned i = 0; i < 3; i++) {
                        fr->ch[DA_CH_EYE_LEFT_DIRECTION_X + i] = NAN;
                        fr->ch[DA_CH_EYE_LEFT_ORIGIN_X + i] = NAN;
                }
                break;
        case FAULT_OFFSET_LEFT:
                fr->ch[DA_CH_EYE_LEFT_DIRECTION_X] += 1.0f;
                break;
        case FAULT_NOISE_LEFT:
                fr->ch[DA_CH_EYE_LEFT_DIRECTION_X] += (float) (0.1 * gauss(rng));
                break;
        case FAULT_DRIFT_LEFT:
                fr->ch[DA_CH_EYE_LEFT_DIRECTION_X] += (float) (0.05 * since);
                break;
        case FAULT_NONE:
                break;
        }
}

/* The fault spans [from, to) of the recording's duration (fractions). */
static void replay(const char *subject, fault f, double from, double to, run *r) {
        _cleanup_free_ char *path = NULL;
        da_reader *rd = NULL;
        da_stream *st = NULL;
        da_rolling *ro = NULL;
        da_shift *sh = NULL;
        da_health *h = NULL;
        da_shift_options so;
        da_health_options ho;
        da_error err = {};
        da_frame fr;
        unsigned F = da_model_arch(model)->n_features;
        uint64_t t_last = 0, next = 0, t0, t1;
        float held[3] = { NAN, NAN, NAN };
        uint64_t rng = 18;
        double scores[64];
        int q;

        ck_assert_uint_le(F, ELEMENTSOF(scores));
        ck_assert(asprintf(&path, RV_DIR "/%s.tsv.gz", subject) > 0);
        memset(r, 0, sizeof(*r));

        /* The duration first, so the fault's times are known. */
        ck_assert_msg(da_reader_open(path, DA_REC_AUTO, &rd, &err) == 0, "%s", err.message);
        for (bool first = true; (q = da_reader_next(rd, &fr, &err)) > 0; first = false) {
                if (first)
                        r->t_first = fr.time_us;
                t_last = fr.time_us;
        }
        ck_assert_int_eq(q, 0);
        rd = da_reader_free(rd);
        r->duration = (double) (t_last - r->t_first) / 1e6;
        t0 = r->t_first + (uint64_t) ((double) (t_last - r->t_first) * from);
        t1 = r->t_first + (uint64_t) ((double) (t_last - r->t_first) * to);

        da_shift_options_init(&so);
        da_health_options_init(&ho);
        ck_assert_int_eq(da_stream_new(model, DA_TRACE_GATE, &st, &err), 0);
        ck_assert_int_eq(da_rolling_new(F, 600, &ro), 0);
        ck_assert_int_eq(da_shift_new(F, &so, &sh), 0);
        if (reference)
                ck_assert_int_eq(da_shift_set_reference(sh, reference), 0);
        ck_assert_int_eq(da_health_new(model, &ho, &h), 0);

        ck_assert_int_eq(da_reader_open(path, DA_REC_AUTO, &rd, &err), 0);
        while ((q = da_reader_next(rd, &fr, &err)) > 0) {
                da_window_result w;
                da_shift_event e;

                if (fr.time_us >= t0 && fr.time_us < t1)
                        inject(f, &fr, held, (double) (fr.time_us - t0) / 1e6, &rng);
                q = da_stream_push(st, &fr, &w);
                ck_assert_int_ge(q, 0);
                da_health_push(h, &fr, da_stream_features(st), on_health, r);
                if (q > 0)
                        ck_assert_int_eq(da_rolling_push(ro, w.trace), 0);

                if (next == 0)
                        next = fr.time_us + 1000000;
                if (fr.time_us < next || da_rolling_count(ro) == 0)
                        continue;
                next = fr.time_us + 1000000;
                ck_assert_int_eq(da_rolling_scores(ro, DA_AGG_INV, scores), 0);
                q = da_shift_push(sh, fr.time_us, scores, &e);
                ck_assert_int_ge(q, 0);
                if (q > 0) {
                        ck_assert_uint_lt(r->n, MAX_EVENTS);
                        ck_assert_uint_ge(e.n_moved, 1);
                        r->ev[r->n++] = (recorded) {
                                .kind = e.kind,
                                .t = (double) (e.time_us - r->t_first) / 1e6,
                                .channel = -1,
                                .feature = -1,
                                .moved = e.moved[0],
                        };
                }
        }
        ck_assert_int_eq(q, 0);
        da_shift_has_reference(sh, &r->own_reference);
        da_reader_free(rd);
        da_stream_free(st);
        da_rolling_free(ro);
        da_shift_free(sh);
        da_health_free(h);
}

/* The first event of this kind (and, for recoveries, cause) at or after t,
 * on a channel in mask (0: any); NULL if none. */
static const recorded *find(const run *r, da_event_kind kind, da_event_kind cause, double t, uint64_t mask) {
        for (unsigned i = 0; i < r->n; i++) {
                const recorded *e = &r->ev[i];

                if (e->kind != kind || e->t < t)
                        continue;
                if (kind == DA_EVENT_CHANNEL_RECOVERED && e->cause != cause)
                        continue;
                if (mask && !(e->channels & mask))
                        continue;
                return e;
        }
        return NULL;
}

static void expect_silent(const char *subject) {
        run *r = calloc(1, sizeof(run));

        replay(subject, FAULT_NONE, 0, 0, r);
        for (unsigned i = 0; i < r->n; i++)
                ck_abort_msg("%s without a fault: %s at %.2f s", subject, da_event_kind_to_string(r->ev[i].kind),
                             r->ev[i].t);
        free(r);
}

START_TEST(test_silent_without_faults) {
        /* A fast tracker with repeated rows, a slow one, and a short one. */
        expect_silent("P1");
        expect_silent("P7");
        expect_silent("P14");
}
END_TEST

#define LEFT_DIRECTIONS ((UINT64_C(1) << DA_CH_EYE_LEFT_DIRECTION_X) | (UINT64_C(1) << DA_CH_EYE_LEFT_DIRECTION_Y) | \
                         (UINT64_C(1) << DA_CH_EYE_LEFT_DIRECTION_Z))

/* Fires within `within` seconds of the fault's start, names a left-eye
 * channel, and recovers within `within` seconds of its end. */
static void expect_fault(const char *subject, fault f, da_event_kind kind, double within) {
        run *r = calloc(1, sizeof(run));
        const recorded *e, *rec;
        double t0, t1;

        replay(subject, f, 0.4, 0.7, r);
        t0 = 0.4 * r->duration;
        t1 = 0.7 * r->duration;
        e = find(r, kind, kind, 0, 0);
        ck_assert_msg(e, "%s: no %s", subject, da_event_kind_to_string(kind));
        ck_assert_msg(e->t >= t0 && e->t <= t0 + within, "%s: %s at %.2f s, the fault began at %.2f s", subject,
                      da_event_kind_to_string(kind), e->t, t0);
        ck_assert_msg(e->channels & (LEFT_DIRECTIONS | (UINT64_C(1) << DA_CH_EYE_LEFT_ORIGIN_X)),
                      "%s: %s names no left-eye channel", subject, da_event_kind_to_string(kind));
        rec = find(r, DA_EVENT_CHANNEL_RECOVERED, kind, t1, e->channels);
        ck_assert_msg(rec && rec->t <= t1 + within, "%s: no recovery from %s within %.1f s of %.2f s", subject,
                      da_event_kind_to_string(kind), within, t1);
        /* Nothing of the kind before the fault. */
        ck_assert_ptr_eq(find(r, kind, kind, 0, 0), e);
        free(r);
}

START_TEST(test_frozen) {
        expect_fault("P1", FAULT_FREEZE_LEFT, DA_EVENT_CHANNEL_FROZEN, 2);
        expect_fault("P7", FAULT_FREEZE_LEFT, DA_EVENT_CHANNEL_FROZEN, 2);
}
END_TEST

START_TEST(test_missing) {
        expect_fault("P1", FAULT_MISSING_LEFT, DA_EVENT_CHANNEL_MISSING, 2);
        expect_fault("P7", FAULT_MISSING_LEFT, DA_EVENT_CHANNEL_MISSING, 2);
}
END_TEST

START_TEST(test_out_of_range) {
        expect_fault("P1", FAULT_OFFSET_LEFT, DA_EVENT_CHANNEL_OUT_OF_RANGE, 2);
        expect_fault("P7", FAULT_OFFSET_LEFT, DA_EVENT_CHANNEL_OUT_OF_RANGE, 2);
}
END_TEST

static double *training_reference(void) {
        const char *paths[16];
        char buf[16][sizeof(RV_DIR) + 16];
        const char *names[64];
        da_dataset *ds = NULL;
        da_dataset_options o;
        da_error err = {};
        unsigned F = da_model_arch(model)->n_features;
        double *scores = calloc(F, sizeof(double));
        size_t windows = 0;

        for (unsigned i = 0; i < 16; i++) {
                snprintf(buf[i], sizeof(buf[i]), RV_DIR "/P%u.tsv.gz", i + 1);
                paths[i] = buf[i];
        }
        for (unsigned f = 0; f < F; f++)
                names[f] = da_model_feature(model, f);
        da_dataset_options_init(&o);
        o.features = names;
        o.n_features = F;
        o.window = da_model_arch(model)->window;
        o.hop = da_model_arch(model)->hop;
        ck_assert_msg(da_dataset_load(paths, 16, &o, &ds, &err) == 0, "%s", err.message);
        ck_assert_msg(da_dataset_rank(model, ds, NULL, 0, DA_TRACE_GATE, DA_AGG_INV, scores, &windows, &err) == 0,
                      "%s", err.message);
        ck_assert_uint_gt(windows, 5000);       /* 16 subjects, repeats dropped */
        da_dataset_free(ds);
        return scores;
}

/* Noise on one channel: named by that channel, not its partner in the
 * other eye. */
START_TEST(test_noisy) {
        expect_fault("P1", FAULT_NOISE_LEFT, DA_EVENT_CHANNEL_NOISY, 3);
        expect_fault("P7", FAULT_NOISE_LEFT, DA_EVENT_CHANNEL_NOISY, 3);
}
END_TEST

/* A slow offset on one eye stays inside the model's training range for
 * seconds; the eyes' disagreement against the warm-up finds it. 0.05 per
 * second: 0.4 (about 23°) by the 8 s allowed. */
START_TEST(test_drift) {
        expect_fault("P1", FAULT_DRIFT_LEFT, DA_EVENT_CHANNEL_DRIFT, 8);
        expect_fault("P7", FAULT_DRIFT_LEFT, DA_EVENT_CHANNEL_DRIFT, 8);
}
END_TEST

/* The observation: with the left eye frozen, the ranking leaves
 * the training reference, naming what moved, and comes back once the
 * frozen windows have left the rolling window. */
START_TEST(test_ranking_shift) {
        _cleanup_free_ double *ref = training_reference();
        run *r = calloc(1, sizeof(run));
        const recorded *e, *rec;
        double t0, t1;

        reference = ref;
        replay("P1", FAULT_NONE, 0, 0, r);
        ck_assert_msg(!find(r, DA_EVENT_RANKING_SHIFT, 0, 0, 0), "a shift without a fault at %.1f s",
                      find(r, DA_EVENT_RANKING_SHIFT, 0, 0, 0)->t);

        replay("P1", FAULT_FREEZE_LEFT, 0.45, 0.8, r);
        reference = NULL;
        t0 = 0.45 * r->duration;
        t1 = 0.8 * r->duration;
        ck_assert(!r->own_reference);
        e = find(r, DA_EVENT_RANKING_SHIFT, 0, 0, 0);
        ck_assert_msg(e && e->t >= t0 && e->t <= t1, "no ranking shift while the fault lasted (%.1f..%.1f s)", t0, t1);
        rec = find(r, DA_EVENT_RANKING_RECOVERED, 0, e->t, 0);
        ck_assert_msg(rec && rec->t >= t1, "no recovery after the fault ended at %.1f s", t1);
        free(r);
}
END_TEST

/* Without a reference from the model, the device's own ranking becomes it
 * after the warm-up, once consecutive snapshots agree. */
START_TEST(test_own_reference) {
        da_shift *s = NULL;
        da_shift_options o;
        da_shift_event e;
        const double a[4] = { 4, 3, 2, 1 }, b[4] = { 1, 2, 3, 4 };
        bool own;

        da_shift_options_init(&o);
        o.warmup_usec = 3000000;
        o.hold_usec = 0;
        ck_assert_int_eq(da_shift_new(4, &o, &s), 0);
        ck_assert(!da_shift_has_reference(s, &own));
        ck_assert_int_eq(da_shift_push(s, 0, a, &e), 0);
        ck_assert_int_eq(da_shift_push(s, 1000000, b, &e), 0);
        ck_assert_int_eq(da_shift_push(s, 3000000, a, &e), 0);      /* warm, but unlike the one before */
        ck_assert(!da_shift_has_reference(s, NULL));
        ck_assert_int_eq(da_shift_push(s, 4000000, a, &e), 0);      /* warm and stable: adopted */
        ck_assert(da_shift_has_reference(s, &own));
        ck_assert(own);
        ck_assert_int_eq(da_shift_push(s, 5000000, b, &e), 1);
        ck_assert_int_eq(e.kind, DA_EVENT_RANKING_SHIFT);
        da_shift_free(s);
}
END_TEST

/* Unit level: the hysteresis holds one bad snapshot back, a recovery needs
 * its own hold, and the moved features are counted in places. */
START_TEST(test_shift_hysteresis) {
        da_shift *s = NULL;
        da_shift_options o;
        da_shift_event e;
        const double ref[5] = { 5, 4, 3, 2, 1 }, reversed[5] = { 1, 2, 3, 4, 5 };

        da_shift_options_init(&o);
        o.hold_usec = 2000000;
        o.recover_usec = 2000000;
        ck_assert_int_eq(da_shift_new(5, &o, &s), 0);
        ck_assert_int_eq(da_shift_set_reference(s, ref), 0);
        ck_assert_int_eq(da_shift_push(s, 0, ref, &e), 0);
        ck_assert_int_eq(da_shift_push(s, 1000000, reversed, &e), 0);  /* one bad snapshot */
        ck_assert_int_eq(da_shift_push(s, 2000000, ref, &e), 0);
        ck_assert_int_eq(da_shift_push(s, 3000000, reversed, &e), 0);
        ck_assert_int_eq(da_shift_push(s, 4000000, reversed, &e), 0);
        ck_assert_int_eq(da_shift_push(s, 5000000, reversed, &e), 1);  /* held for 2 s */
        ck_assert_int_eq(e.kind, DA_EVENT_RANKING_SHIFT);
        ck_assert_double_eq(e.tau, -1);
        ck_assert_uint_eq(e.n_moved, 3);
        /* Features 4 and 0 moved four places each, 4 (first now) leads. */
        ck_assert_uint_eq(e.moved[0], 4);
        ck_assert_uint_eq(e.from_rank[0], 5);
        ck_assert_uint_eq(e.to_rank[0], 1);
        ck_assert_uint_eq(e.moved[1], 0);
        ck_assert_uint_eq(e.moved[2], 3);
        ck_assert_int_eq(da_shift_push(s, 6000000, ref, &e), 0);
        ck_assert_int_eq(da_shift_push(s, 7000000, ref, &e), 0);
        ck_assert_int_eq(da_shift_push(s, 8000000, ref, &e), 1);
        ck_assert_int_eq(e.kind, DA_EVENT_RANKING_RECOVERED);
        ck_assert_double_eq(e.tau, 1);
        da_shift_free(s);
}
END_TEST

START_TEST(test_kind_names) {
        for (unsigned k = 0; k < _DA_EVENT_MAX; k++)
                ck_assert_int_eq(da_event_kind_from_string(da_event_kind_to_string(k)), (int) k);
        ck_assert_str_eq(da_event_kind_to_string(DA_EVENT_CHANNEL_OUT_OF_RANGE), "channel-out-of-range");
        ck_assert_str_eq(da_event_kind_to_string(DA_EVENT_CHANNEL_NOISY), "channel-noisy");
        ck_assert_str_eq(da_event_kind_to_string(DA_EVENT_CHANNEL_DRIFT), "channel-drift");
        ck_assert_int_eq(da_event_kind_from_string("channel-wobbly"), -EINVAL);
        ck_assert_ptr_null(da_event_kind_to_string(_DA_EVENT_MAX));
}
END_TEST

int main(void) {
        Suite *s = suite_create("events");
        TCase *tc = tcase_create("events");
        da_error err = {};
        int r;

        if (da_model_load(DEFAULT_MODEL, &model, &err) < 0) {
                fprintf(stderr, "cannot load %s: %s\n", DEFAULT_MODEL, err.message);
                return EXIT_FAILURE;
        }
        tcase_add_test(tc, test_kind_names);
        tcase_add_test(tc, test_shift_hysteresis);
        tcase_add_test(tc, test_own_reference);
        tcase_add_test(tc, test_silent_without_faults);
        tcase_add_test(tc, test_frozen);
        tcase_add_test(tc, test_missing);
        tcase_add_test(tc, test_out_of_range);
        tcase_add_test(tc, test_noisy);
        tcase_add_test(tc, test_drift);
        tcase_add_test(tc, test_ranking_shift);
        suite_add_tcase(s, tc);
        r = test_run(s);
        da_model_free(model);
        return r;
}
