/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Integrated Gradients' path integral in float32, batched: forward through
 * the LSTM layers (gate products as small matrix products over the batch),
 * the head per window in double, and back through time to the input. A
 * model at bf16 precision takes its recurrent products with bf16 operands
 * and float32 sums (gemm-bf16.h), as its weights are already bf16 — unless
 * its head has kinks (max pooling, ReLU): telling which step holds a
 * maximum needs the float forward's accuracy (see near()), which bf16
 * operands do not give (at H=16 nearly every window would be too close to
 * call). */

#include <math.h>
#include <sys/mman.h>

#include "backprop.h"
#include "batch-kernels.h"
#include "gate-pack.h"
#include "gemm-bf16.h"
#include "gemv.h"
#include "head.h"
#include "ig-path.h"
#include "matmul.h"

struct IgPath {
        const da_model *m;
        unsigned F, H, Hp, Hq, L, D, max_T, max_B;

        /* per layer: the weights transposed, W_hhᵀ and (above layer 0) W_ihᵀ:
         * rows the layer's inputs (padded to the panel), columns 4Hp */
        da_packed *wt_hh, *wt_ih;
        bool bf16;
        uint32_t **wt_hh_b;     /* at bf16: wt_hh's panels, per layer */
        uint32_t *xb;           /* at bf16: [b][…] one step's h or δ rows in bf16 */

        float *u, *v;           /* [s][4Hp]: bias + W_ih·x′ and W_ih·(x − x′), layer 0 */
        float *delta;           /* [s][F]: x − x′ */
        float *alpha;           /* [b]: the batch's α, the two ends last */
        double *weight;         /* [b] */
        float *act;             /* [l][s][b][4Hp]: pre-activations, then the gates */
        float *c, *tc, *h;      /* [l][s][b][Hp] */
        float *dh, *dh_below;   /* [s][b][Hq]: δh of the layer in reverse and of the one below */
        float *dc;              /* [b][Hp] */
        float *dp;              /* [b][4Hp]: gate pre-activation δs of one step */
        double *acc;            /* [s][4Hp]: Σ_k w_k·δ of layer 0's pre-activations */

        /* the head, one window at a time */
        double *bn_scale, *bn_shift; /* H each; NULL without batchnorm */
        double *pooled, *d_pool;     /* H */
        unsigned *argmax;            /* H */
        double *z1, *a1, *d_in;      /* max(D, H) */

        /* windows whose gradient float cannot resolve go through the double tape */
        Tape *tape;
        double *x_exact, *g_exact;   /* [s][F] */
        double *fix;                 /* [s][F]: Σ w_k·∇ₓ of those windows */

        char *arena;                 /* every buffer above but the tape */
};

#define HUGE_PAGE ((size_t) 2 << 20)

/* See near(). */
#define AMBIGUITY 1e-5

static unsigned round_up(unsigned v, unsigned to) {
        return (v + to - 1) / to * to;
}

IgPath *ig_path_free(IgPath *p) {
        if (!p)
                return NULL;
        tape_free(p->tape);
        free(p->wt_hh);
        free(p->wt_ih);
        free(p->wt_hh_b);
        free(p->arena);
        return mfree(p);
}

/* Hands out 64-byte aligned pieces of one block; with no block yet, only
 * counts. One block rather than many keeps it in the heap between calls
 * instead of faulting fresh pages in each time. */
typedef struct Carver {
        char *base;
        size_t used;
} Carver;

static void *carve(Carver *c, size_t n, size_t size) {
        size_t off = c->used;

        c->used += (n * size + 63) & ~(size_t) 63;
        return c->base ? c->base + off : NULL;
}

static void carve_all(IgPath *p, Carver *c) {
        size_t TB = (size_t) p->max_T * p->max_B, R = 4 * (size_t) p->Hp, HD = MAX(p->H, p->D);

        for (unsigned l = 0; l < p->L; l++) {
                if (p->bf16)
                        p->wt_hh_b[l] = carve(c, (size_t) p->Hq * bf16_words(R), sizeof(uint32_t));
                else
                        p->wt_hh[l].data = carve(c, (size_t) p->Hq * R, sizeof(float));
                if (l > 0)
                        p->wt_ih[l].data = carve(c, (size_t) p->Hq * R, sizeof(float));
        }
        p->u = carve(c, p->max_T * R, sizeof(float));
        p->v = carve(c, p->max_T * R, sizeof(float));
        p->delta = carve(c, (size_t) p->max_T * p->F, sizeof(float));
        p->alpha = carve(c, p->max_B, sizeof(float));
        p->weight = carve(c, p->max_B, sizeof(double));
        p->act = carve(c, p->L * TB * R, sizeof(float));
        p->c = carve(c, p->L * TB * p->Hp, sizeof(float));
        p->tc = carve(c, p->L * TB * p->Hp, sizeof(float));
        p->h = carve(c, p->L * TB * p->Hp, sizeof(float));
        p->dh = carve(c, TB * p->Hq, sizeof(float));
        p->dh_below = carve(c, TB * p->Hq, sizeof(float));
        p->dc = carve(c, (size_t) p->max_B * p->Hp, sizeof(float));
        p->dp = carve(c, p->max_B * R, sizeof(float));
        if (p->bf16)
                p->xb = carve(c, p->max_B * bf16_words(R), sizeof(uint32_t));
        p->acc = carve(c, p->max_T * R, sizeof(double));
        p->pooled = carve(c, p->H, sizeof(double));
        p->d_pool = carve(c, p->H, sizeof(double));
        p->argmax = carve(c, p->H, sizeof(unsigned));
        p->z1 = carve(c, HD, sizeof(double));
        p->a1 = carve(c, HD, sizeof(double));
        p->d_in = carve(c, HD, sizeof(double));
        p->x_exact = carve(c, (size_t) p->max_T * p->F, sizeof(double));
        p->g_exact = carve(c, (size_t) p->max_T * p->F, sizeof(double));
        p->fix = carve(c, (size_t) p->max_T * p->F, sizeof(double));
        if (p->m->arch.batchnorm) {
                p->bn_scale = carve(c, p->H, sizeof(double));
                p->bn_shift = carve(c, p->H, sizeof(double));
        }
}

int ig_path_new(const da_model *m, unsigned max_T, unsigned max_batch, IgPath **ret) {
        _cleanup_(ig_path_freep) IgPath *p = NULL;
        Carver c = {};
        bool huge;

        if (!m || !ret || max_batch == 0 || max_batch > 65536)
                return -EINVAL;
        if (max_T == 0)
                max_T = m->arch.window;
        if (max_T > 100000)
                return -EINVAL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->m = m;
        p->F = m->arch.n_features;
        p->H = m->arch.hidden;
        p->Hp = model_hidden_padded(m);
        p->Hq = round_up(p->H, DA_PANEL);
        p->L = m->arch.layers;
        p->D = m->arch.dense;
        p->max_T = max_T;
        p->max_B = max_batch + 2;       /* the first batch carries x and x′ too */

        /* the forward panels' bf16 words exist when the model's precision is bf16 */
        p->bf16 = m->precision == DA_PRECISION_BF16 && m->packed[0].hh.precision == DA_PRECISION_BF16 &&
                  m->arch.pooling != DA_POOL_MAX && !(m->arch.dense > 0 && m->arch.activation == DA_ACT_RELU);
        p->wt_hh = calloc(p->L, sizeof(da_packed));
        p->wt_ih = calloc(p->L, sizeof(da_packed));
        p->wt_hh_b = calloc(p->L, sizeof(uint32_t *));
        if (!p->wt_hh || !p->wt_ih || !p->wt_hh_b)
                return -ENOMEM;
        carve_all(p, &c);
        /* Large blocks come straight from mmap: huge pages fault in 512 times
         * fewer pages. Only a hint; failure changes nothing. */
        huge = c.used >= 4 * HUGE_PAGE;
        if (posix_memalign((void **) &p->arena, huge ? HUGE_PAGE : 64, c.used) != 0)
                return -ENOMEM;
        if (huge)
                (void) madvise(p->arena, c.used, MADV_HUGEPAGE);
        c = (Carver) { .base = p->arena };
        carve_all(p, &c);

        for (unsigned l = 0; l < p->L; l++) {
                if (p->bf16) {
                        p->wt_hh[l] = (da_packed) { .rows = p->H, .rows_padded = p->Hq, .cols = 4 * p->Hp };
                        pack_gates_transposed_bf16(m->layer[l].w_hh, p->H, p->Hp, p->H, p->wt_hh_b[l]);
                } else
                        pack_gates_transposed(m->layer[l].w_hh, p->H, p->Hp, p->H, &p->wt_hh[l]);
                if (l > 0)
                        pack_gates_transposed(m->layer[l].w_ih, p->H, p->Hp, p->H, &p->wt_ih[l]);
        }
        if (m->arch.batchnorm)
                for (unsigned j = 0; j < p->H; j++) {
                        double s = (double) m->bn_weight[j] / sqrt((double) m->bn_var[j] + m->bn_eps);

                        p->bn_scale[j] = s;
                        p->bn_shift[j] = m->bn_bias[j] - m->bn_mean[j] * s;
                }

        *ret = TAKE_PTR(p);
        return 0;
}

static float *at_act(const IgPath *p, unsigned l, unsigned s) {
        return p->act + ((size_t) l * p->max_T + s) * p->max_B * 4 * p->Hp;
}
static float *at_c(const IgPath *p, unsigned l, unsigned s) {
        return p->c + ((size_t) l * p->max_T + s) * p->max_B * p->Hp;
}
static float *at_tc(const IgPath *p, unsigned l, unsigned s) {
        return p->tc + ((size_t) l * p->max_T + s) * p->max_B * p->Hp;
}
static float *at_h(const IgPath *p, unsigned l, unsigned s) {
        return p->h + ((size_t) l * p->max_T + s) * p->max_B * p->Hp;
}
static float *at_dh(const IgPath *p, float *dh, unsigned s, unsigned b) {
        return dh + ((size_t) s * p->max_B + b) * p->Hq;
}

/* B windows from zero state through every layer. */
static void forward(IgPath *p, unsigned T, unsigned B) {
        unsigned Hp = p->Hp, R = 4 * Hp;

        for (unsigned l = 0; l < p->L; l++) {
                const da_packed_layer *P = &p->m->packed[l];

                for (unsigned s = 0; s < T; s++) {
                        float *a = at_act(p, l, s);

                        if (l == 0)
                                affine_rows(a, p->u + (size_t) s * R, p->v + (size_t) s * R, p->alpha, R, B);
                        else {
                                for (unsigned b = 0; b < B; b++)
                                        memcpy(a + (size_t) b * R, P->bias, R * sizeof(float));
                                gemm_panels_acc(&P->ih, at_h(p, l - 1, s), Hp, B, a, R);
                        }
                        if (s > 0 && p->bf16) {
                                bf16_round_rows(at_h(p, l, s - 1), Hp, B, p->H, p->xb, bf16_words(p->H));
                                gemm_bf16(&P->hh, P->hh.reduced, p->xb, bf16_words(p->H), B, a, R, a, R, R);
                        } else if (s > 0)
                                gemm_panels_acc(&P->hh, at_h(p, l, s - 1), Hp, B, a, R);
                        lstm_cell_forward_batch(a, s > 0 ? at_c(p, l, s - 1) : NULL, at_c(p, l, s), at_tc(p, l, s),
                                                at_h(p, l, s), Hp, B);
                }
        }
}

static double bn(const IgPath *p, unsigned j, double v) {
        return p->bn_scale ? v * p->bn_scale[j] + p->bn_shift[j] : v;
}

/* Whether two values of the head could be ordered differently in float than
 * in exact arithmetic: the float forward is good to about 1e-6 here. */
static bool near(double a, double b) {
        return fabs(a - b) <= AMBIGUITY * fmax(1, fabs(a));
}

/* Output `o` of window b after forward(); leaves the head's intermediates
 * for head_backward(). Sets *ret_ambiguous when a max-pooling choice or a
 * ReLU kink is too close to call in float, where the gradient jumps. */
static double head_forward(IgPath *p, unsigned T, unsigned b, unsigned o, bool *ret_ambiguous) {
        const da_model *m = p->m;
        unsigned H = p->H, D = p->D, n_in = D > 0 ? D : H;
        const float *w_out = m->out_w + (size_t) o * n_in;
        const double *head_in = p->pooled;
        double out = m->out_b[o];

        for (unsigned j = 0; j < H; j++) {
                double v;

                switch (m->arch.pooling) {
                case DA_POOL_LAST:
                        p->pooled[j] = bn(p, j, at_h(p, p->L - 1, T - 1)[(size_t) b * p->Hp + j]);
                        p->argmax[j] = T - 1;
                        break;
                case DA_POOL_MEAN:
                        v = 0;
                        for (unsigned s = 0; s < T; s++)
                                v += bn(p, j, at_h(p, p->L - 1, s)[(size_t) b * p->Hp + j]);
                        p->pooled[j] = v / T;
                        break;
                default: {
                        double second = -INFINITY;

                        /* the first maximum, as torch.max picks it */
                        p->argmax[j] = 0;
                        p->pooled[j] = bn(p, j, at_h(p, p->L - 1, 0)[(size_t) b * p->Hp + j]);
                        for (unsigned s = 1; s < T; s++) {
                                v = bn(p, j, at_h(p, p->L - 1, s)[(size_t) b * p->Hp + j]);
                                if (v > p->pooled[j]) {
                                        second = p->pooled[j];
                                        p->pooled[j] = v;
                                        p->argmax[j] = s;
                                } else
                                        second = fmax(second, v);
                        }
                        if (near(p->pooled[j], second))
                                *ret_ambiguous = true;
                }
                }
        }

        if (D > 0) {
                for (unsigned d = 0; d < D; d++) {
                        const float *w = m->fc1_w + (size_t) d * H;
                        double z = m->fc1_b[d];

                        for (unsigned j = 0; j < H; j++)
                                z += w[j] * p->pooled[j];
                        p->z1[d] = z;
                        if (m->arch.activation == DA_ACT_RELU && near(z, 0))
                                *ret_ambiguous = true;
                        p->a1[d] = head_activate_exact(m->arch.activation, z);
                }
                head_in = p->a1;
        }
        for (unsigned k = 0; k < n_in; k++)
                out += w_out[k] * head_in[k];
        return out;
}

/* δ of output o with respect to the top layer's h of window b, at every
 * step, into p->dh. */
static void head_backward(IgPath *p, unsigned T, unsigned b, unsigned o) {
        const da_model *m = p->m;
        unsigned H = p->H, D = p->D;

        if (D > 0) {
                memset(p->d_pool, 0, H * sizeof(double));
                for (unsigned d = 0; d < D; d++) {
                        const float *w = m->fc1_w + (size_t) d * H;
                        double g = m->out_w[(size_t) o * D + d] *
                                head_activation_derivative(m->arch.activation, p->z1[d], p->a1[d]);

                        for (unsigned j = 0; j < H; j++)
                                p->d_pool[j] += w[j] * g;
                }
        } else
                for (unsigned j = 0; j < H; j++)
                        p->d_pool[j] = m->out_w[(size_t) o * H + j];

        for (unsigned s = 0; s < T; s++)
                memset(at_dh(p, p->dh, s, b), 0, p->Hq * sizeof(float));
        for (unsigned j = 0; j < H; j++) {
                double g = p->d_pool[j] * (p->bn_scale ? p->bn_scale[j] : 1);

                if (m->arch.pooling == DA_POOL_MEAN)
                        for (unsigned s = 0; s < T; s++)
                                at_dh(p, p->dh, s, b)[j] = (float) (g / T);
                else
                        at_dh(p, p->dh, p->argmax[j], b)[j] = (float) g;
        }
}

/* The first B windows back through every layer; layer 0's pre-activation
 * δs, weighted, added to p->acc. */
static void backward(IgPath *p, unsigned T, unsigned B) {
        unsigned Hp = p->Hp, Hq = p->Hq, R = 4 * Hp;

        for (unsigned l = p->L; l-- > 0;) {
                float *swap;

                memset(p->dc, 0, (size_t) B * Hp * sizeof(float));
                if (l > 0)
                        for (unsigned s = 0; s < T; s++)
                                memset(at_dh(p, p->dh_below, s, 0), 0, (size_t) B * Hq * sizeof(float));
                for (unsigned s = T; s-- > 0;) {
                        lstm_cell_backward_batch(at_act(p, l, s), s > 0 ? at_c(p, l, s - 1) : NULL, at_tc(p, l, s),
                                                 at_dh(p, p->dh, s, 0), Hq, p->dc, p->dp, Hp, B);
                        if (l == 0)
                                weighted_rows_acc(p->acc + (size_t) s * R, p->dp, p->weight, R, B);
                        else
                                gemm_panels_acc(&p->wt_ih[l], p->dp, R, B, at_dh(p, p->dh_below, s, 0), Hq);
                        if (s > 0 && p->bf16) {
                                float *dhp = at_dh(p, p->dh, s - 1, 0);

                                bf16_round_rows(p->dp, R, B, R, p->xb, bf16_words(R));
                                gemm_bf16(&p->wt_hh[l], p->wt_hh_b[l], p->xb, bf16_words(R), B, dhp, Hq, dhp, Hq, Hq);
                        } else if (s > 0)
                                gemm_panels_acc(&p->wt_hh[l], p->dp, R, B, at_dh(p, p->dh, s - 1, 0), Hq);
                }
                swap = p->dh;
                p->dh = p->dh_below;
                p->dh_below = swap;
        }
}

/* w·∇ₓF_o(x′ + α(x − x′)) in double, added to p->fix. */
static int exact_gradient(IgPath *p, const float *x, const float *xb, unsigned T, unsigned output, double alpha,
                          double w) {
        size_t n = (size_t) T * p->F;
        int r;

        if (!p->tape) {
                r = tape_new(p->m, p->max_T, 1, &p->tape);
                if (r < 0)
                        return r;
        }
        for (size_t i = 0; i < n; i++)
                p->x_exact[i] = xb[i] + alpha * ((double) x[i] - xb[i]);
        r = backprop_output_gradients(p->tape, p->x_exact, T, 1, output, NULL, p->g_exact);
        if (r < 0)
                return r;
        for (size_t i = 0; i < n; i++)
                p->fix[i] += w * p->g_exact[i];
        return 0;
}

int ig_path_integrate(IgPath *p, const float *x, const float *xb, unsigned T, unsigned output,
                      const double *alpha, const double *weight, unsigned n, double *ret_grad_sum,
                      double ret_ends[static 2]) {
        const da_model *m = p->m;
        const da_packed_layer *P = &m->packed[0];
        unsigned F = p->F, H = p->H, Hp = p->Hp, R = 4 * Hp, batch = p->max_B - 2;
        double ends[2] = {};
        int r;

        if (T == 0 || T > p->max_T || output >= m->arch.outputs || n == 0)
                return -EINVAL;

        for (size_t i = 0; i < (size_t) T * F; i++)
                p->delta[i] = x[i] - xb[i];
        memset(p->v, 0, (size_t) T * R * sizeof(float));
        for (unsigned s = 0; s < T; s++) {
                memcpy(p->u + (size_t) s * R, P->bias, R * sizeof(float));
                gemv_panels_acc(&P->ih, xb + (size_t) s * F, p->u + (size_t) s * R);
                gemv_panels_acc(&P->ih, p->delta + (size_t) s * F, p->v + (size_t) s * R);
        }
        memset(p->acc, 0, (size_t) T * R * sizeof(double));
        memset(p->fix, 0, (size_t) T * F * sizeof(double));

        /* batches as equal as they can be: a small last one would stream
         * all the weights for a few windows */
        for (unsigned k0 = 0, left = (n + batch - 1) / batch; k0 < n; left--) {
                unsigned nb = (n - k0 + left - 1) / left, extra = k0 == 0 ? 2 : 0;

                for (unsigned b = 0; b < nb; b++) {
                        p->alpha[b] = (float) alpha[k0 + b];
                        p->weight[b] = weight[k0 + b];
                }
                if (extra) {
                        p->alpha[nb] = 1;
                        p->alpha[nb + 1] = 0;
                }
                forward(p, T, nb + extra);
                for (unsigned b = 0; b < nb + extra; b++) {
                        bool ambiguous = false;
                        double out = head_forward(p, T, b, output, &ambiguous);

                        if (b >= nb) {
                                ends[b - nb] = out;
                                continue;
                        }
                        head_backward(p, T, b, output);
                        if (ambiguous) {
                                /* weight 0 keeps the float δs out of the sum */
                                p->weight[b] = 0;
                                r = exact_gradient(p, x, xb, T, output, alpha[k0 + b], weight[k0 + b]);
                                if (r < 0)
                                        return r;
                        }
                }
                backward(p, T, nb);
                k0 += nb;
        }

        /* Σ_k w_k·∇ₓ = W_ihᵀ·(Σ_k w_k·δ_k), gate by gate from the packed rows q·Hp + j */
        memcpy(ret_grad_sum, p->fix, (size_t) T * F * sizeof(double));
        for (unsigned q = 0; q < 4; q++)
                matmul_wtd_acc(m->layer[0].w_ih + (size_t) q * H * F, H, F, p->acc + (size_t) q * Hp, R, T,
                               ret_grad_sum, F);
        ret_ends[0] = ends[0];
        ret_ends[1] = ends[1];
        return 0;
}
