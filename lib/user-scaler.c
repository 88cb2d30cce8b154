/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Per-user robust scaling: each feature's median and IQR estimated online
 * from one device's own frames, in bounded memory and O(F) work a frame.
 *
 * The first `warmup` rows are kept whole; their exact median and IQR then
 * centre and scale, per feature, a histogram of USER_SCALER_BINS bins, and
 * the rows are counted into it. Each bin keeps its count and the smallest
 * and largest value it received, so a quantile inside a bin is interpolated
 * between values actually seen (exact for ties and a constant feature). Each
 * quartile keeps a pointer to its bin and the count below it, moved a bin or
 * so per row, so neither a push nor a lookup scans the histogram. Rows with
 * a non-finite value are ignored whole, as the stream ignores them. */

#include <math.h>

#include "util.h"

#define USER_SCALER_BINS 1024u
/* Bins are even in asinh((x − centre)/scale) with scale an eighth of the
 * warm-up IQR, over ±asinh(10⁴): near the centre 0.2% of that IQR wide, at
 * distance d from it about 2% of d, so a bin is ~1% of the IQR wherever the
 * quartiles land, and heavy tails (ratios of near-zero numbers) or a user
 * whose spread outgrows the warm-up's stay inside without re-binning. */
#define USER_SCALER_ZMAX 9.903487552536127 /* asinh(1e4) */
/* Histograms are re-centred on the estimate after 2, 4, … up to this many
 * times the warm-up's rows: by then a drift since the warm-up has shown. */
#define USER_SCALER_RECENTRE_MAX 64u

typedef struct quartile {
        double q;               /* 0.25, 0.5, 0.75 */
        unsigned k;             /* bin holding the rank */
        unsigned next;          /* the first non-empty bin after k, or BINS */
        uint64_t below;         /* rows in the bins before k */
} quartile;

/* A bin's count and the extreme values it received, side by side: a push
 * touches one cache line per feature, not three (with dozens of devices the
 * histograms outgrow the caches). */
typedef struct hist_bin {
        uint32_t count;
        float min, max;
} hist_bin;

typedef struct feature_hist {
        double centre, scale;
        hist_bin *bin;          /* BINS */
        quartile qt[3];
} feature_hist;

struct da_user_scaler {
        unsigned F, warmup;
        uint64_t n;             /* rows pushed */
        float *buffer;          /* warmup × F until the histograms are set up, then NULL */
        feature_hist *h;        /* F */
        feature_hist tmp;       /* scratch bins for re-centring */
        uint64_t next_recentre; /* row count of the next re-centring, 0 = no more */
        float *median, *iqr;    /* F: the current estimate */
        unsigned *bin_of;       /* F: scratch, the bin of each feature of the row pushed */
};

da_user_scaler *da_user_scaler_free(da_user_scaler *u) {
        if (!u)
                return NULL;
        if (u->h)
                for (unsigned f = 0; f < u->F; f++)
                        free(u->h[f].bin);
        free(u->h);
        free(u->tmp.bin);
        free(u->buffer);
        free(u->median);
        free(u->iqr);
        free(u->bin_of);
        return mfree(u);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_user_scaler *, da_user_scaler_free);

int da_user_scaler_new(unsigned n_features, unsigned warmup, da_user_scaler **ret) {
        _cleanup_(da_user_scaler_freep) da_user_scaler *u = NULL;

        if (n_features == 0 || warmup < 4 || warmup > DA_USER_SCALER_WARMUP_MAX || !ret)
                return -EINVAL;
        u = calloc(1, sizeof(*u));
        if (!u)
                return -ENOMEM;
        u->F = n_features;
        u->warmup = warmup;
        u->h = calloc(n_features, sizeof(feature_hist));
        u->median = calloc(n_features, sizeof(float));
        u->iqr = calloc(n_features, sizeof(float));
        u->bin_of = calloc(n_features, sizeof(unsigned));
        u->tmp.bin = calloc(USER_SCALER_BINS, sizeof(hist_bin));
        if (!u->h || !u->median || !u->iqr || !u->bin_of || !u->tmp.bin)
                return -ENOMEM;
        for (unsigned f = 0; f < n_features; f++) {
                u->h[f].bin = calloc(USER_SCALER_BINS, sizeof(hist_bin));
                if (!u->h[f].bin)
                        return -ENOMEM;
        }
        da_user_scaler_reset(u);
        *ret = TAKE_PTR(u);
        return 0;
}

void da_user_scaler_reset(da_user_scaler *u) {
        u->n = 0;
        for (unsigned f = 0; f < u->F; f++) {
                u->median[f] = 0;
                u->iqr[f] = 1;
        }
}

bool da_user_scaler_warm(const da_user_scaler *u) {
        return u->n >= u->warmup;
}

uint64_t da_user_scaler_rows(const da_user_scaler *u) {
        return u->n;
}

unsigned da_user_scaler_warmup(const da_user_scaler *u) {
        return u->warmup;
}

static void quartile_find_next(const feature_hist *h, quartile *qt) {
        qt->next = qt->k + 1;
        while (qt->next < USER_SCALER_BINS && h->bin[qt->next].count == 0)
                qt->next++;
}

/* Moves the quartile's pointer to the bin holding its rank ⌊q·(n − 1)⌋
 * (numpy's "linear" position, floored) among n values. */
static void quartile_seek(const feature_hist *h, quartile *qt, uint64_t n) {
        uint64_t j = (uint64_t) (qt->q * (double) (n - 1));
        unsigned k0 = qt->k;

        while (qt->k > 0 && j < qt->below) {
                qt->k--;
                qt->below -= h->bin[qt->k].count;
        }
        while (qt->k + 1 < USER_SCALER_BINS && j >= qt->below + h->bin[qt->k].count) {
                qt->below += h->bin[qt->k].count;
                qt->k++;
        }
        if (qt->k != k0)
                quartile_find_next(h, qt);
}

/* The quantile at its fractional rank: interpolated between the values its
 * bin received, assumed evenly spread from the smallest to the largest
 * (exact for ties and a constant feature), or, when the rank falls after
 * the bin's largest value, towards the next bin's smallest, as numpy
 * interpolates between neighbouring values. */
static double quartile_value(const feature_hist *h, const quartile *qt, uint64_t n) {
        double pos = qt->q * (double) (n - 1) - (double) qt->below;
        const hist_bin *b = &h->bin[qt->k];
        uint32_t c = b->count;

        if (c > 1 && pos <= c - 1)
                return b->min + ((double) b->max - b->min) * pos / (c - 1);
        if (qt->next < USER_SCALER_BINS)
                return b->max + ((double) h->bin[qt->next].min - b->max) * (pos - (c - 1));
        return b->max;
}

static unsigned hist_bin_of(const feature_hist *h, float x) {
        double z = asinh(((double) x - h->centre) / h->scale);
        double b = floor((z + USER_SCALER_ZMAX) / (2 * USER_SCALER_ZMAX) * USER_SCALER_BINS);

        return b < 0 ? 0 : b >= USER_SCALER_BINS ? USER_SCALER_BINS - 1 : (unsigned) b;
}

static void hist_count(feature_hist *h, unsigned k, float x, uint32_t count) {
        hist_bin *bin = &h->bin[k];

        if (bin->count == 0 || x < bin->min)
                bin->min = x;
        if (bin->count == 0 || x > bin->max)
                bin->max = x;
        bin->count += count;
}

static void hist_place(feature_hist *h, float x, uint32_t count) {
        hist_count(h, hist_bin_of(h, x), x, count);
}

/* Counts x into bin k (hist_bin_of(h, x)) and moves the quartiles. */
static void hist_add(feature_hist *h, unsigned k, float x, uint64_t n_after) {
        hist_count(h, k, x, 1);

        for (unsigned q = 0; q < 3; q++) {
                quartile *qt = &h->qt[q];

                if (k < qt->k)
                        qt->below++;
                else if (k > qt->k && k < qt->next)
                        qt->next = k;
                quartile_seek(h, qt, n_after);
        }
}

static int cmp_float(const void *a, const void *b) {
        float x = *(const float *) a, y = *(const float *) b;

        return (x > y) - (x < y);
}

/* numpy's linear percentile of sorted values. */
static double sorted_percentile(const float *v, size_t n, double q) {
        double pos = q * (double) (n - 1);
        size_t lo = (size_t) pos;

        if (lo + 1 >= n)
                return v[n - 1];
        return v[lo] + (pos - (double) lo) * ((double) v[lo + 1] - v[lo]);
}

static void update_estimate(da_user_scaler *u, unsigned f) {
        const feature_hist *h = &u->h[f];
        double med = quartile_value(h, &h->qt[1], u->n);
        double iqr = quartile_value(h, &h->qt[2], u->n) - quartile_value(h, &h->qt[0], u->n);

        u->median[f] = (float) med;
        u->iqr[f] = da_scaler_spread(iqr, med);
}

static void hist_centre(feature_hist *h, double median, double iqr) {
        h->centre = median;
        h->scale = fmax(iqr, fmax(1e-6 * fabs(median), 1e-12)) / 8;
}

/* Re-centres a histogram on the current estimate: each old bin's values,
 * taken as evenly spread from its smallest to its largest, go into the new
 * bins. A user whose median has drifted from the warm-up's (the depths of a
 * calibration sweep) gets fine bins where the quartiles now are. O(n + B). */
static void hist_recentre(feature_hist *h, feature_hist *tmp, uint64_t n) {
        const unsigned B = USER_SCALER_BINS;
        double median = quartile_value(h, &h->qt[1], n);
        double iqr = quartile_value(h, &h->qt[2], n) - quartile_value(h, &h->qt[0], n);

        memcpy(tmp->bin, h->bin, B * sizeof(hist_bin));
        memset(h->bin, 0, B * sizeof(hist_bin));
        hist_centre(h, median, iqr);
        for (unsigned k = 0; k < B; k++) {
                const hist_bin *old = &tmp->bin[k];

                if (old->count == 0)
                        continue;
                if (old->count == 1 || old->min == old->max) {
                        hist_place(h, old->min, old->count);
                        continue;
                }
                for (uint32_t i = 0; i < old->count; i++)
                        hist_place(h, (float) (old->min + ((double) old->max - old->min) * i / (old->count - 1)), 1);
        }
        for (unsigned q = 0; q < 3; q++) {
                quartile *qt = &h->qt[q];

                *qt = (quartile) { .q = qt->q };
                quartile_seek(h, qt, n);
                quartile_find_next(h, qt);
        }
}

/* The warm-up rows' exact quartiles set each histogram's range; then the
 * rows are counted in it like any later row. */
static int setup_histograms(da_user_scaler *u) {
        _cleanup_free_ float *col = malloc(u->warmup * sizeof(float));
        const unsigned B = USER_SCALER_BINS;

        if (!col)
                return -ENOMEM;
        for (unsigned f = 0; f < u->F; f++) {
                feature_hist *h = &u->h[f];
                double q1, med, q3;

                for (unsigned i = 0; i < u->warmup; i++)
                        col[i] = u->buffer[(size_t) i * u->F + f];
                qsort(col, u->warmup, sizeof(float), cmp_float);
                q1 = sorted_percentile(col, u->warmup, 0.25);
                med = sorted_percentile(col, u->warmup, 0.5);
                q3 = sorted_percentile(col, u->warmup, 0.75);
                memset(h->bin, 0, B * sizeof(hist_bin));
                hist_centre(h, med, q3 - q1);
                h->qt[0] = (quartile) { .q = 0.25, .next = USER_SCALER_BINS };
                h->qt[1] = (quartile) { .q = 0.5, .next = USER_SCALER_BINS };
                h->qt[2] = (quartile) { .q = 0.75, .next = USER_SCALER_BINS };
                for (unsigned i = 0; i < u->warmup; i++) {
                        float x = u->buffer[(size_t) i * u->F + f];

                        hist_add(h, hist_bin_of(h, x), x, i + 1);
                }
                update_estimate(u, f);
        }
        return 0;
}

int da_user_scaler_push(da_user_scaler *u, const float *row) {
        int r;

        for (unsigned f = 0; f < u->F; f++)
                if (!isfinite(row[f]))
                        return 0;

        if (u->n < u->warmup) {
                if (!u->buffer) {
                        u->buffer = malloc((size_t) u->warmup * u->F * sizeof(float));
                        if (!u->buffer)
                                return -ENOMEM;
                }
                memcpy(u->buffer + (size_t) u->n * u->F, row, u->F * sizeof(float));
                u->n++;
                if (u->n < u->warmup)
                        return 0;
                r = setup_histograms(u);
                if (r < 0) {
                        u->n--;
                        return r;
                }
                u->buffer = mfree(u->buffer);
                u->next_recentre = 2 * (uint64_t) u->warmup;
                return 1;
        }

        u->n++;
        if (u->n == u->next_recentre) {
                for (unsigned f = 0; f < u->F; f++)
                        hist_recentre(&u->h[f], &u->tmp, u->n - 1);
                u->next_recentre = u->n < USER_SCALER_RECENTRE_MAX * (uint64_t) u->warmup ? 2 * u->n : 0;
        }
        /* Each feature's bin first, and a prefetch of it: with dozens of
         * devices the histograms live in L3 or memory, and the misses of
         * all features then overlap instead of stalling one by one. */
        for (unsigned f = 0; f < u->F; f++) {
                u->bin_of[f] = hist_bin_of(&u->h[f], row[f]);
                __builtin_prefetch(&u->h[f].bin[u->bin_of[f]], 1);
        }
        for (unsigned f = 0; f < u->F; f++) {
                hist_add(&u->h[f], u->bin_of[f], row[f], u->n);
                update_estimate(u, f);
        }
        return 1;
}

void da_user_scaler_get(const da_user_scaler *u, float *ret_median, float *ret_iqr) {
        memcpy(ret_median, u->median, u->F * sizeof(float));
        memcpy(ret_iqr, u->iqr, u->F * sizeof(float));
}

void da_user_scaler_apply(const da_user_scaler *u, float *row) {
        da_scaler_apply(u->median, u->iqr, u->F, row);
}
