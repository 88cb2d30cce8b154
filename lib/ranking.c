/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Rankings of feature scores and how two rankings, or a series of them,
 * agree. */

#include <math.h>

#include "util.h"

typedef struct scored {
        double score;
        unsigned feature;
} scored;

/* Descending by score; equal scores by ascending feature index, so the order
 * is total and the same on every platform and qsort implementation. */
static int scored_compare_desc(const void *x, const void *y) {
        const scored *a = x, *b = y;

        if (a->score > b->score)
                return -1;
        if (a->score < b->score)
                return 1;
        return a->feature < b->feature ? -1 : a->feature > b->feature;
}

static bool any_nan(const double *v, unsigned f) {
        for (unsigned i = 0; i < f; i++)
                if (isnan(v[i]))
                        return true;
        return false;
}

int da_ranking(const double *scores, unsigned f, unsigned *ret_order) {
        _cleanup_free_ scored *s = NULL;

        if (!scores || !ret_order || f == 0 || any_nan(scores, f))
                return -EINVAL;

        s = malloc(f * sizeof(scored));
        if (!s)
                return -ENOMEM;
        for (unsigned i = 0; i < f; i++)
                s[i] = (scored) { scores[i], i };
        qsort(s, f, sizeof(scored), scored_compare_desc);

        for (unsigned k = 0; k < f; k++)
                ret_order[k] = s[k].feature;
        return 0;
}

int da_ranks(const double *scores, unsigned f, unsigned *ret_rank) {
        _cleanup_free_ unsigned *order = NULL;
        int q;

        if (!ret_rank || f == 0)
                return -EINVAL;
        order = malloc(f * sizeof(unsigned));
        if (!order)
                return -ENOMEM;
        q = da_ranking(scores, f, order);
        if (q < 0)
                return q;

        for (unsigned k = 0; k < f; k++)
                ret_rank[order[k]] = k + 1;
        return 0;
}

int da_topk(const double *scores, unsigned f, unsigned k, unsigned *ret_features) {
        _cleanup_free_ unsigned *order = NULL;
        int q;

        if (!ret_features || f == 0 || k > f)
                return -EINVAL;
        order = malloc(f * sizeof(unsigned));
        if (!order)
                return -ENOMEM;
        q = da_ranking(scores, f, order);
        if (q < 0)
                return q;

        memcpy(ret_features, order, k * sizeof(unsigned));
        return 0;
}

/* Ranks 1..f ascending by value, tied values sharing the mean of the ranks
 * they span (scipy.stats.rankdata's "average"). */
static int average_ranks(const double *v, unsigned f, double *ret) {
        _cleanup_free_ scored *s = NULL;

        s = malloc(f * sizeof(scored));
        if (!s)
                return -ENOMEM;
        /* Descending order is fine here: ranks counted from the other end
         * turn into f + 1 − r, which negates neither correlation as long as
         * both vectors are ranked the same way. */
        for (unsigned i = 0; i < f; i++)
                s[i] = (scored) { v[i], i };
        qsort(s, f, sizeof(scored), scored_compare_desc);

        for (unsigned lo = 0, hi; lo < f; lo = hi) {
                double r;

                for (hi = lo + 1; hi < f && s[hi].score == s[lo].score; hi++)
                        ;
                /* Positions lo..hi−1 hold ranks lo+1..hi; their mean: */
                r = (lo + 1 + hi) / 2.0;
                for (unsigned k = lo; k < hi; k++)
                        ret[s[k].feature] = r;
        }
        return 0;
}

int da_spearman(const double *a, const double *b, unsigned f, double *ret_rho) {
        _cleanup_free_ double *ra = NULL, *rb = NULL;
        double mean, sab = 0, saa = 0, sbb = 0;
        int q;

        if (!a || !b || !ret_rho || any_nan(a, f) || any_nan(b, f))
                return -EINVAL;
        if (f < 2)
                return -EDOM;

        ra = malloc(f * sizeof(double));
        rb = malloc(f * sizeof(double));
        if (!ra || !rb)
                return -ENOMEM;
        q = average_ranks(a, f, ra);
        if (q < 0)
                return q;
        q = average_ranks(b, f, rb);
        if (q < 0)
                return q;

        /* Average ranks always sum to f(f+1)/2. */
        mean = (f + 1) / 2.0;
        for (unsigned i = 0; i < f; i++) {
                sab += (ra[i] - mean) * (rb[i] - mean);
                saa += (ra[i] - mean) * (ra[i] - mean);
                sbb += (rb[i] - mean) * (rb[i] - mean);
        }
        if (saa == 0 || sbb == 0)
                return -EDOM;

        *ret_rho = sab / sqrt(saa * sbb);
        return 0;
}

static int sign(double x) {
        return (x > 0) - (x < 0);
}

/* τ-b = (P − Q) / √((n₀ − n₁)(n₀ − n₂)) with P, Q the concordant and discordant
 * pairs, n₀ = f(f−1)/2, n₁ and n₂ the pairs tied in a and in b. Counted over
 * all pairs, O(f²): feature counts are small, and this needs no memory. */
int da_kendall_tau(const double *a, const double *b, unsigned f, double *ret_tau) {
        uint64_t concordant = 0, discordant = 0, tied_a = 0, tied_b = 0, n0;
        double denominator;

        if (!a || !b || !ret_tau || any_nan(a, f) || any_nan(b, f))
                return -EINVAL;
        if (f < 2)
                return -EDOM;

        for (unsigned i = 0; i < f; i++)
                for (unsigned j = i + 1; j < f; j++) {
                        int sa = sign(a[i] - a[j]), sb = sign(b[i] - b[j]);

                        if (sa == 0)
                                tied_a++;
                        if (sb == 0)
                                tied_b++;
                        if (sa == 0 || sb == 0)
                                continue;
                        if (sa == sb)
                                concordant++;
                        else
                                discordant++;
                }

        n0 = (uint64_t) f * (f - 1) / 2;
        if (tied_a == n0 || tied_b == n0)
                return -EDOM;
        denominator = sqrt((double) (n0 - tied_a) * (double) (n0 - tied_b));
        *ret_tau = ((double) concordant - (double) discordant) / denominator;
        return 0;
}

int da_topk_overlap(const unsigned *order_a, const unsigned *order_b, unsigned f, unsigned k,
                    double *ret_jaccard) {
        _cleanup_free_ uint8_t *mark = NULL;
        unsigned both = 0;

        if (!order_a || !order_b || !ret_jaccard || k == 0 || k > f)
                return -EINVAL;

        mark = calloc(f, 1);
        if (!mark)
                return -ENOMEM;
        /* Bit 0: in a's top k, bit 1: in b's. A repeated feature means the
         * input is not an order. */
        for (unsigned i = 0; i < k; i++) {
                if (order_a[i] >= f || (mark[order_a[i]] & 1))
                        return -EINVAL;
                mark[order_a[i]] |= 1;
        }
        for (unsigned i = 0; i < k; i++) {
                if (order_b[i] >= f || (mark[order_b[i]] & 2))
                        return -EINVAL;
                mark[order_b[i]] |= 2;
                if (mark[order_b[i]] & 1)
                        both++;
        }

        *ret_jaccard = (double) both / (double) (2 * k - both);
        return 0;
}

int da_rank_stability(const double *snapshots, size_t n, unsigned f, unsigned k, da_stability *ret) {
        _cleanup_free_ unsigned *prev = NULL, *cur = NULL;
        double kendall_sum = 0, kendall_min = NAN, topk_sum = 0, topk_min = INFINITY;
        size_t kendall_pairs = 0;
        int q;

        if (!snapshots || !ret || n < 2 || f == 0 || k == 0 || k > f)
                return -EINVAL;
        if (n > SIZE_MAX / f)
                return -EOVERFLOW;

        prev = malloc(f * sizeof(unsigned));
        cur = malloc(f * sizeof(unsigned));
        if (!prev || !cur)
                return -ENOMEM;

        q = da_ranking(snapshots, f, prev);
        if (q < 0)
                return q;
        for (size_t s = 1; s < n; s++) {
                const double *x = snapshots + (s - 1) * f, *y = snapshots + s * f;
                unsigned *t;
                double tau, jaccard;

                q = da_ranking(y, f, cur);
                if (q < 0)
                        return q;
                q = da_topk_overlap(prev, cur, f, k, &jaccard);
                if (q < 0)
                        return q;
                topk_sum += jaccard;
                topk_min = MIN(topk_min, jaccard);

                /* A snapshot whose scores are all equal (nothing learnt yet)
                 * has no τ-b; it is left out of the τ figures only. */
                q = da_kendall_tau(x, y, f, &tau);
                if (q >= 0) {
                        kendall_sum += tau;
                        kendall_min = kendall_pairs == 0 ? tau : MIN(kendall_min, tau);
                        kendall_pairs++;
                } else if (q != -EDOM)
                        return q;

                t = prev;
                prev = cur;
                cur = t;
        }

        *ret = (da_stability) {
                .pairs = n - 1,
                .kendall_pairs = kendall_pairs,
                .kendall_mean = kendall_pairs > 0 ? kendall_sum / (double) kendall_pairs : NAN,
                .kendall_min = kendall_min,
                .topk_mean = topk_sum / (double) (n - 1),
                .topk_min = topk_min,
        };
        return 0;
}
