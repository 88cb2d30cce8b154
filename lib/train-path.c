/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The trainer's float32 pass. Layouts (s = step, b = window, n = s·B + b):
 *   x      [n][F]           the inputs, step-major
 *   act    [l][n][4Hp]      pre-activations, then the gates i, f, g, o
 *   c, tc, h [l][n][Hp]     cell state, tanh(c), hidden state
 *   dh, dh_below [n][Hq]    δh of the layer in reverse and of the one below
 *   dp     [n][4Hp]         gate pre-activation δs of every step
 *   dpt    [4Hp][n]         dp transposed, for the weight gradients
 *   xt                      a layer input's transpose, packed as panels
 *   dw     [4Hp][inq]       one weight gradient before it is unpadded
 * Padded units have zero weights, so their h and δ stay zero.
 *
 * At bf16 precision the recurrent products (h forward, δh back and the
 * recurrent weights' gradient, nearly all the work at large H) take bf16
 * operands and sum in float32 (gemm-bf16.h); the weights stay float32
 * between steps, and the input projection, the cell and the head are as at
 * f32. Operands are rounded just before each product:
 *   xb                      h, δ rows or δᵀ rows in bf16 words
 *   xtb                     xt's panels in bf16
 * (bf16 words are 4 bytes, as floats are: aligned_alloc0() counts them.) */

#include <math.h>

#include "batch-kernels.h"
#include "gate-pack.h"
#include "gemm-bf16.h"
#include "head.h"
#include "train-path.h"

struct TrainWeights {
        const da_model *m;
        unsigned H, Hp, L;
        da_packed *ih, *hh;             /* per layer: forward panels, rows 4Hp (hh: the shape alone at bf16) */
        da_packed *wt_ih, *wt_hh;       /* per layer: transposed, columns 4Hp (no wt_ih at layer 0:
                                         * the inputs need no gradient) */
        float **bias;                   /* per layer: b_ih + b_hh, 4Hp */
        bool bf16;
        uint32_t **hh_b, **wt_hh_b;     /* per layer at bf16: hh's and wt_hh's panels */
};

struct TrainPath {
        const TrainWeights *w;
        const da_model *m;
        unsigned F, H, Hp, Hq, L, D, O, T, max_B, B, inq;

        float *x, *act, *c, *tc, *h, *dh, *dh_below, *dc, *dp, *dpt, *xt, *dw;
        uint32_t *xb, *xtb;             /* at bf16 */
        double *bn_scale, *bn_shift;    /* H each */
        double *pooled, *z1, *a1, *out; /* [b][H], [b][D], [b][D], [b][O] */
        unsigned *argmax;               /* [b][H] */
        double *d_in, *d_pool;          /* one window's head δs */
        double *g_head;                 /* the head's parameter gradients, summed over the windows */
        double *g_bias;                 /* [4Hp]: a layer's bias gradient */
        size_t head_first;              /* where the head's parameters start in param_layout() */
        ParamLayout P;
};

static unsigned round_up(unsigned v, unsigned to) {
        return (v + to - 1) / to * to;
}

static void packed_free(da_packed *p, unsigned n) {
        if (p)
                for (unsigned l = 0; l < n; l++)
                        free(p[l].data);
        free(p);
}

TrainWeights *train_weights_free(TrainWeights *w) {
        if (!w)
                return NULL;
        packed_free(w->ih, w->L);
        packed_free(w->hh, w->L);
        packed_free(w->wt_ih, w->L);
        packed_free(w->wt_hh, w->L);
        for (unsigned l = 0; l < w->L; l++) {
                if (w->bias)
                        free(w->bias[l]);
                if (w->hh_b)
                        free(w->hh_b[l]);
                if (w->wt_hh_b)
                        free(w->wt_hh_b[l]);
        }
        free(w->bias);
        free(w->hh_b);
        free(w->wt_hh_b);
        return mfree(w);
}

int train_weights_new(const da_model *m, da_precision precision, TrainWeights **ret) {
        _cleanup_(train_weights_freep) TrainWeights *w = NULL;

        if (!m || !ret)
                return -EINVAL;
        if (precision != DA_PRECISION_F32 && precision != DA_PRECISION_BF16)
                return -EOPNOTSUPP;
        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->m = m;
        w->H = m->arch.hidden;
        w->Hp = model_hidden_padded(m);
        w->L = m->arch.layers;
        w->ih = calloc(w->L, sizeof(da_packed));
        w->hh = calloc(w->L, sizeof(da_packed));
        w->wt_ih = calloc(w->L, sizeof(da_packed));
        w->wt_hh = calloc(w->L, sizeof(da_packed));
        w->bias = calloc(w->L, sizeof(float *));
        w->bf16 = precision == DA_PRECISION_BF16;
        w->hh_b = calloc(w->L, sizeof(uint32_t *));
        w->wt_hh_b = calloc(w->L, sizeof(uint32_t *));
        if (!w->ih || !w->hh || !w->wt_ih || !w->wt_hh || !w->bias || !w->hh_b || !w->wt_hh_b)
                return -ENOMEM;
        for (unsigned l = 0; l < w->L; l++) {
                unsigned in = m->layer[l].in, R = 4 * w->Hp;

                w->ih[l] = (da_packed) { .rows = R, .rows_padded = R, .cols = in,
                                         .data = aligned_alloc0((size_t) R * in) };
                w->hh[l] = (da_packed) { .rows = R, .rows_padded = R, .cols = w->H };
                w->wt_hh[l] = (da_packed) { .rows = w->H, .rows_padded = round_up(w->H, DA_PANEL), .cols = R };
                if (l > 0)
                        w->wt_ih[l].data = aligned_alloc0((size_t) round_up(in, DA_PANEL) * R);
                w->bias[l] = aligned_alloc0(R);
                if (!w->ih[l].data || (l > 0 && !w->wt_ih[l].data) || !w->bias[l])
                        return -ENOMEM;
                if (!w->bf16) {
                        w->hh[l].data = aligned_alloc0((size_t) R * w->H);
                        w->wt_hh[l].data = aligned_alloc0((size_t) round_up(w->H, DA_PANEL) * R);
                        if (!w->hh[l].data || !w->wt_hh[l].data)
                                return -ENOMEM;
                } else {
                        w->hh_b[l] = aligned_alloc0((size_t) R * bf16_words(w->H));
                        w->wt_hh_b[l] = aligned_alloc0((size_t) round_up(w->H, DA_PANEL) * bf16_words(R));
                        if (!w->hh_b[l] || !w->wt_hh_b[l])
                                return -ENOMEM;
                }
        }
        train_weights_update(w);
        *ret = TAKE_PTR(w);
        return 0;
}

void train_weights_update(TrainWeights *w) {
        unsigned H = w->H, Hp = w->Hp;

        for (unsigned l = 0; l < w->L; l++) {
                const da_lstm_layer *W = &w->m->layer[l];

                pack_gates_into(W->w_ih, H, Hp, W->in, w->ih[l].data);
                if (l > 0)
                        pack_gates_transposed(W->w_ih, H, Hp, W->in, &w->wt_ih[l]);
                if (w->bf16) {
                        pack_gates_bf16(W->w_hh, H, Hp, H, w->hh_b[l]);
                        pack_gates_transposed_bf16(W->w_hh, H, Hp, H, w->wt_hh_b[l]);
                } else {
                        pack_gates_into(W->w_hh, H, Hp, H, w->hh[l].data);
                        pack_gates_transposed(W->w_hh, H, Hp, H, &w->wt_hh[l]);
                }
                for (unsigned q = 0; q < 4; q++)
                        for (unsigned j = 0; j < H; j++)
                                w->bias[l][q * Hp + j] = W->b_ih[q * H + j] + W->b_hh[q * H + j];
        }
}

TrainPath *train_path_free(TrainPath *p) {
        if (!p)
                return NULL;
        free(p->x);
        free(p->act);
        free(p->c);
        free(p->tc);
        free(p->h);
        free(p->dh);
        free(p->dh_below);
        free(p->dc);
        free(p->dp);
        free(p->dpt);
        free(p->xt);
        free(p->dw);
        free(p->xb);
        free(p->xtb);
        free(p->bn_scale);
        free(p->bn_shift);
        free(p->pooled);
        free(p->z1);
        free(p->a1);
        free(p->out);
        free(p->argmax);
        free(p->d_in);
        free(p->d_pool);
        free(p->g_head);
        free(p->g_bias);
        return mfree(p);
}

int train_path_new(const TrainWeights *w, unsigned T, unsigned max_B, TrainPath **ret) {
        _cleanup_(train_path_freep) TrainPath *p = NULL;
        const da_model *m;
        size_t N, R;
        unsigned in_max;

        if (!w || !ret || T == 0 || T > 100000 || max_B == 0 || max_B > 65536)
                return -EINVAL;
        m = w->m;
        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->w = w;
        p->m = m;
        p->F = m->arch.n_features;
        p->H = m->arch.hidden;
        p->Hp = w->Hp;
        p->Hq = round_up(p->H, DA_PANEL);
        p->L = m->arch.layers;
        p->D = m->arch.dense;
        p->O = m->arch.outputs;
        p->T = T;
        p->max_B = max_B;
        in_max = MAX(p->F, p->H);
        p->inq = round_up(in_max, DA_PANEL);

        N = (size_t) T * max_B;
        R = 4 * (size_t) p->Hp;
        p->x = aligned_alloc0(N * p->F);
        p->act = aligned_alloc0(p->L * N * R);
        p->c = aligned_alloc0(p->L * N * p->Hp);
        p->tc = aligned_alloc0(p->L * N * p->Hp);
        p->h = aligned_alloc0(p->L * N * p->Hp);
        p->dh = aligned_alloc0(N * p->Hq);
        p->dh_below = aligned_alloc0(N * p->Hq);
        p->dc = aligned_alloc0((size_t) max_B * p->Hp);
        p->dp = aligned_alloc0(N * R);
        p->dpt = aligned_alloc0(N * R);
        p->xt = aligned_alloc0(N * p->inq);
        p->dw = aligned_alloc0(R * p->inq);
        if (w->bf16) {
                /* the largest operand: B rows of δ (4Hp), or 4Hp rows of δᵀ (N) */
                p->xb = aligned_alloc0(MAX((size_t) max_B * bf16_words(R), R * bf16_words(N)));
                p->xtb = aligned_alloc0((size_t) p->Hq * bf16_words(N));
                if (!p->xb || !p->xtb)
                        return -ENOMEM;
        }
        p->bn_scale = calloc(p->H, sizeof(double));
        p->bn_shift = calloc(p->H, sizeof(double));
        p->pooled = calloc((size_t) max_B * p->H, sizeof(double));
        p->z1 = calloc((size_t) max_B * MAX(p->D, 1u), sizeof(double));
        p->a1 = calloc((size_t) max_B * MAX(p->D, 1u), sizeof(double));
        p->out = calloc((size_t) max_B * p->O, sizeof(double));
        p->argmax = calloc((size_t) max_B * p->H, sizeof(unsigned));
        p->d_in = calloc(MAX(p->D, p->H), sizeof(double));
        p->d_pool = calloc(p->H, sizeof(double));
        param_layout(m, &p->P);
        p->head_first = p->P.b_hh[p->L - 1] + 4 * (size_t) p->H;
        p->g_head = calloc(p->P.total - p->head_first, sizeof(double));
        p->g_bias = calloc(R, sizeof(double));
        if (!p->g_head || !p->g_bias || !p->x || !p->act || !p->c || !p->tc || !p->h || !p->dh || !p->dh_below || !p->dc || !p->dp || !p->dpt ||
            !p->xt || !p->dw || !p->bn_scale || !p->bn_shift || !p->pooled || !p->z1 || !p->a1 || !p->out ||
            !p->argmax || !p->d_in || !p->d_pool)
                return -ENOMEM;

        *ret = TAKE_PTR(p);
        return 0;
}

static size_t row(const TrainPath *p, unsigned l, unsigned s) {
        return ((size_t) l * p->T + s) * p->B;
}
static float *at_act(const TrainPath *p, unsigned l, unsigned s) {
        return p->act + row(p, l, s) * 4 * p->Hp;
}
static float *at_c(const TrainPath *p, unsigned l, unsigned s) {
        return p->c + row(p, l, s) * p->Hp;
}
static float *at_tc(const TrainPath *p, unsigned l, unsigned s) {
        return p->tc + row(p, l, s) * p->Hp;
}
static float *at_h(const TrainPath *p, unsigned l, unsigned s) {
        return p->h + row(p, l, s) * p->Hp;
}

static void layers_forward(TrainPath *p) {
        const TrainWeights *w = p->w;
        unsigned T = p->T, B = p->B, Hp = p->Hp, R = 4 * Hp;

        for (unsigned l = 0; l < p->L; l++) {
                /* the input projection of every step in one product */
                if (l == 0)
                        gemm_panels(&w->ih[l], p->x, p->F, T * B, w->bias[l], 0, at_act(p, l, 0), R);
                else
                        gemm_panels(&w->ih[l], at_h(p, l - 1, 0), Hp, T * B, w->bias[l], 0, at_act(p, l, 0), R);
                for (unsigned s = 0; s < T; s++) {
                        if (s > 0 && w->bf16) {
                                size_t xs = bf16_words(p->H);

                                bf16_round_rows(at_h(p, l, s - 1), Hp, B, p->H, p->xb, xs);
                                gemm_bf16(&w->hh[l], w->hh_b[l], p->xb, xs, B, at_act(p, l, s), R, at_act(p, l, s), R, R);
                        } else if (s > 0)
                                gemm_panels_acc(&w->hh[l], at_h(p, l, s - 1), Hp, B, at_act(p, l, s), R);
                        lstm_cell_forward_batch(at_act(p, l, s), s > 0 ? at_c(p, l, s - 1) : NULL, at_c(p, l, s),
                                                at_tc(p, l, s), at_h(p, l, s), Hp, B);
                }
        }
}

static void head_forward(TrainPath *p) {
        const da_model *m = p->m;
        unsigned H = p->H, T = p->T, D = p->D, O = p->O, B = p->B, Hp = p->Hp, top = p->L - 1;

        for (unsigned j = 0; j < H; j++) {
                double s = m->arch.batchnorm ? m->bn_weight[j] / sqrt((double) m->bn_var[j] + m->bn_eps) : 1;

                p->bn_scale[j] = s;
                p->bn_shift[j] = m->arch.batchnorm ? m->bn_bias[j] - m->bn_mean[j] * s : 0;
        }

        for (unsigned b = 0; b < B; b++) {
                double *pool = p->pooled + (size_t) b * H, *out = p->out + (size_t) b * O;
                unsigned *am = p->argmax + (size_t) b * H;

                /* step by step along the rows, so the loops run over contiguous units */
                for (unsigned s = 0; s < T; s++) {
                        const float *h = at_h(p, top, s) + (size_t) b * Hp;
                        bool first = s == 0 || m->arch.pooling == DA_POOL_LAST;

                        if (m->arch.pooling == DA_POOL_LAST && s < T - 1)
                                continue;
                        /* one loop per case, without branches inside: which step
                         * holds a maximum is as good as random */
                        if (first)
                                for (unsigned j = 0; j < H; j++) {
                                        pool[j] = h[j] * p->bn_scale[j] + p->bn_shift[j];
                                        am[j] = s;
                                }
                        else if (m->arch.pooling == DA_POOL_MEAN)
                                for (unsigned j = 0; j < H; j++)
                                        pool[j] += h[j] * p->bn_scale[j] + p->bn_shift[j];
                        else
                                for (unsigned j = 0; j < H; j++) {
                                        double v = h[j] * p->bn_scale[j] + p->bn_shift[j];
                                        /* the first maximum, as torch.max picks it */
                                        bool above = v > pool[j];

                                        pool[j] = above ? v : pool[j];
                                        am[j] = above ? s : am[j];
                                }
                }
                if (m->arch.pooling == DA_POOL_MEAN)
                        for (unsigned j = 0; j < H; j++)
                                pool[j] /= T;
                head_dense_exact(m, pool, p->z1 + (size_t) b * D, p->a1 + (size_t) b * D, out);
        }
}

int train_path_forward(TrainPath *p, const float *x, unsigned B, double *ret_out) {
        unsigned T = p->T, F = p->F;

        if (B == 0 || B > p->max_B)
                return -EINVAL;
        p->B = B;
        for (unsigned b = 0; b < B; b++)
                for (unsigned s = 0; s < T; s++)
                        memcpy(p->x + ((size_t) s * B + b) * F, x + ((size_t) b * T + s) * F, F * sizeof(float));
        layers_forward(p);
        head_forward(p);
        if (ret_out)
                memcpy(ret_out, p->out, (size_t) B * p->O * sizeof(double));
        return 0;
}

/* Back through the head of every window into p->dh (δh of the top layer);
 * the head's parameter gradients to p->g_head. */
static void head_backward(TrainPath *p, const double *dout) {
        const ParamLayout *P = &p->P;
        double *G = p->g_head;
        size_t h0 = p->head_first;      /* P's offsets count from the first parameter */
        const da_model *m = p->m;
        unsigned H = p->H, D = p->D, O = p->O, T = p->T, B = p->B, Hp = p->Hp, Hq = p->Hq;
        unsigned n_in = D > 0 ? D : H, top = p->L - 1;
        double *d_in = p->d_in, *d_pool = p->d_pool;

        memset(p->dh, 0, (size_t) T * B * Hq * sizeof(float));
        memset(p->g_head, 0, (P->total - p->head_first) * sizeof(double));
        for (unsigned b = 0; b < B; b++) {
                const double *dy = dout + (size_t) b * O, *pooled = p->pooled + (size_t) b * H;
                const double *head_in = D > 0 ? p->a1 + (size_t) b * D : pooled;
                const unsigned *am = p->argmax + (size_t) b * H;

                memset(d_in, 0, n_in * sizeof(double));
                for (unsigned o = 0; o < O; o++) {
                        const float *wr = m->out_w + (size_t) o * n_in;

                        if (dy[o] == 0)
                                continue;
                        for (unsigned k = 0; k < n_in; k++) {
                                d_in[k] += wr[k] * dy[o];
                                G[P->out_weight - h0 + (size_t) o * n_in + k] += dy[o] * head_in[k];
                        }
                        G[P->out_bias - h0 + o] += dy[o];
                }

                if (D > 0) {
                        const double *z = p->z1 + (size_t) b * D, *a = p->a1 + (size_t) b * D;

                        memset(d_pool, 0, H * sizeof(double));
                        for (unsigned d = 0; d < D; d++) {
                                const float *wr = m->fc1_w + (size_t) d * H;
                                double g = d_in[d] * head_activation_derivative(m->arch.activation, z[d], a[d]);
                                double *gw = G + (P->fc1_weight - h0 + (size_t) d * H);

                                if (g == 0)
                                        continue;
                                for (unsigned j = 0; j < H; j++) {
                                        d_pool[j] += wr[j] * g;
                                        gw[j] += g * pooled[j];
                                }
                                G[P->fc1_bias - h0 + d] += g;
                        }
                } else
                        memcpy(d_pool, d_in, H * sizeof(double));

                /* pooling, then the batchnorm affine, into δh of the top layer */
                for (unsigned j = 0; j < H; j++) {
                        unsigned s0 = m->arch.pooling == DA_POOL_MEAN ? 0 : am[j];
                        unsigned s1 = m->arch.pooling == DA_POOL_MEAN ? T : am[j] + 1;
                        double dbn = m->arch.pooling == DA_POOL_MEAN ? d_pool[j] / T : d_pool[j];

                        for (unsigned s = s0; s < s1; s++) {
                                p->dh[((size_t) s * B + b) * Hq + j] = (float) (dbn * p->bn_scale[j]);
                                if (m->arch.batchnorm) {
                                        double h = at_h(p, top, s)[(size_t) b * Hp + j];

                                        G[P->bn_weight - h0 + j] += dbn * (h - m->bn_mean[j]) /
                                                sqrt((double) m->bn_var[j] + m->bn_eps);
                                        G[P->bn_bias - h0 + j] += dbn;
                                }
                        }
                }
        }
}

/* The N rows of src ([n][R]) as the columns of dst ([R][N]), in blocks
 * that stay in cache. */
static void transpose(const float *src, unsigned N, unsigned R, float *dst) {
        for (unsigned n0 = 0; n0 < N; n0 += 16)
                for (unsigned r = 0; r < R; r++)
                        for (unsigned n = n0; n < MIN(n0 + 16, N); n++)
                                dst[(size_t) r * N + n] = src[(size_t) n * R + r];
}

/* ret[q·H + j][k] = Σ_i dpt[q·Hp + j][i] · X[i][k] over N rows, k < in: a
 * weight's gradient over every step at once, as one product of X's
 * transpose (packed) with the rows of dpᵀ (dpts floats apart). */
static void weight_gradient(TrainPath *p, const float *dpt, size_t dpts, const float *X, size_t xs, unsigned N,
                            unsigned in, bool bf16, float *ret) {
        unsigned H = p->H, Hp = p->Hp, inq = round_up(in, DA_PANEL);
        da_packed xt = { .data = p->xt };

        pack_rows_transposed(X, xs, N, in, &xt);
        if (bf16) {
                size_t words = bf16_words(N);

                bf16_round_panels(&xt, p->xtb);
                /* gate by gate straight into the gradient: its rows are `in` floats, unpadded */
                for (unsigned q = 0; q < 4; q++) {
                        bf16_round_rows(dpt + (size_t) q * Hp * dpts, dpts, H, N, p->xb, words);
                        gemm_bf16(&xt, p->xtb, p->xb, words, H, NULL, 0, ret + (size_t) q * H * in, in, in);
                }
                return;
        }
        gemm_panels(&xt, dpt, dpts, 4 * Hp, NULL, 0, p->dw, inq);
        for (unsigned q = 0; q < 4; q++)
                for (unsigned j = 0; j < H; j++)
                        memcpy(ret + (size_t) (q * H + j) * in, p->dw + (size_t) (q * Hp + j) * inq,
                               in * sizeof(float));
}

static void layer_backward(TrainPath *p, unsigned l, float *ret_grad) {
        const TrainWeights *w = p->w;
        const ParamLayout *P = &p->P;
        const da_lstm_layer *W = &p->m->layer[l];
        unsigned T = p->T, B = p->B, H = p->H, Hp = p->Hp, Hq = p->Hq, R = 4 * Hp, N = T * B;
        float *dp = p->dp;

        memset(p->dc, 0, (size_t) B * Hp * sizeof(float));
        for (unsigned s = T; s-- > 0;) {
                float *dps = dp + (size_t) s * B * R;

                lstm_cell_backward_batch(at_act(p, l, s), s > 0 ? at_c(p, l, s - 1) : NULL, at_tc(p, l, s),
                                         p->dh + (size_t) s * B * Hq, Hq, p->dc, dps, Hp, B);
                if (s > 0 && w->bf16) {
                        float *dhp = p->dh + (size_t) (s - 1) * B * Hq;

                        bf16_round_rows(dps, R, B, R, p->xb, bf16_words(R));
                        gemm_bf16(&w->wt_hh[l], w->wt_hh_b[l], p->xb, bf16_words(R), B, dhp, Hq, dhp, Hq, Hq);
                } else if (s > 0)
                        gemm_panels_acc(&w->wt_hh[l], dps, R, B, p->dh + (size_t) (s - 1) * B * Hq, Hq);
        }
        if (l > 0)
                gemm_panels(&w->wt_ih[l], dp, R, N, NULL, 0, p->dh_below, Hq);

        /* both biases get Σ δ over every window and step */
        memset(p->g_bias, 0, R * sizeof(double));
        for (unsigned n = 0; n < N; n++)
                for (unsigned r = 0; r < R; r++)
                        p->g_bias[r] += dp[(size_t) n * R + r];
        for (unsigned q = 0; q < 4; q++)
                for (unsigned j = 0; j < H; j++) {
                        ret_grad[P->b_ih[l] + q * H + j] = (float) p->g_bias[q * Hp + j];
                        ret_grad[P->b_hh[l] + q * H + j] = (float) p->g_bias[q * Hp + j];
                }

        transpose(dp, N, R, p->dpt);
        if (l == 0)
                weight_gradient(p, p->dpt, N, p->x, p->F, N, W->in, false, ret_grad + P->w_ih[l]);
        else
                weight_gradient(p, p->dpt, N, at_h(p, l - 1, 0), Hp, N, W->in, false, ret_grad + P->w_ih[l]);
        /* the recurrent weights saw h of the step before: steps 1 … T − 1 */
        if (T > 1)
                weight_gradient(p, p->dpt + B, N, at_h(p, l, 0), Hp, N - B, H, w->bf16, ret_grad + P->w_hh[l]);
        else
                memset(ret_grad + P->w_hh[l], 0, (size_t) 4 * H * H * sizeof(float));
}

int train_path_backward(TrainPath *p, const double *dout, float *ret_grad) {
        if (!p || !dout || !ret_grad || p->B == 0)
                return -EINVAL;
        head_backward(p, dout);
        for (size_t i = p->head_first; i < p->P.total; i++)
                ret_grad[i] = (float) p->g_head[i - p->head_first];
        for (unsigned l = p->L; l-- > 0;) {
                float *swap;

                layer_backward(p, l, ret_grad);
                swap = p->dh;
                p->dh = p->dh_below;
                p->dh_below = swap;
        }
        return 0;
}
