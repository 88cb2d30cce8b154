/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The recording forward pass in double precision, PyTorch semantics: the
 * same model as lstm.c/head.c computes in float, with every intermediate
 * kept for backpropagation. */

#include <math.h>

#include "head.h"
#include "matmul.h"
#include "tape.h"

Tape *tape_free(Tape *t) {
        if (!t)
                return NULL;
        free(t->x);
        free(t->pre);
        free(t->act);
        free(t->c);
        free(t->tc);
        free(t->h);
        free(t->bn);
        free(t->pooled);
        free(t->z1);
        free(t->a1);
        free(t->out);
        free(t->argmax);
        free(t->d_seq);
        free(t->d_top);
        free(t->d_pre);
        free(t->d_h);
        free(t->d_c);
        free(t->d_head);
        return mfree(t);
}

static double *dalloc(size_t n) {
        return calloc(n ? n : 1, sizeof(double));
}

int tape_new(const da_model *m, unsigned max_T, unsigned max_B, Tape **ret) {
        _cleanup_(tape_freep) Tape *t = NULL;
        size_t TB, H;

        if (!m || !ret || max_B == 0 || max_B > 65536)
                return -EINVAL;
        if (max_T == 0)
                max_T = m->arch.window;
        if (max_T > 100000)
                return -EINVAL;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->m = m;
        t->F = m->arch.n_features;
        t->H = m->arch.hidden;
        t->L = m->arch.layers;
        t->D = m->arch.dense;
        t->O = m->arch.outputs;
        t->max_T = max_T;
        t->max_B = max_B;

        TB = (size_t) max_T * max_B;
        H = t->H;
        t->x = dalloc(TB * t->F);
        t->pre = dalloc(t->L * TB * 4 * H);
        t->act = dalloc(t->L * TB * 4 * H);
        t->c = dalloc(t->L * TB * H);
        t->tc = dalloc(t->L * TB * H);
        t->h = dalloc(t->L * TB * H);
        t->bn = dalloc(TB * H);
        t->pooled = dalloc(max_B * H);
        t->z1 = dalloc((size_t) max_B * t->D);
        t->a1 = dalloc((size_t) max_B * t->D);
        t->out = dalloc((size_t) max_B * t->O);
        t->argmax = calloc(max_B * H, sizeof(unsigned));
        t->d_seq = dalloc(TB * MAX(t->F, t->H));
        t->d_top = dalloc(TB * H);
        t->d_pre = dalloc(max_B * 4 * H);
        t->d_h = dalloc(max_B * H);
        t->d_c = dalloc(max_B * H);
        t->d_head = dalloc(2 * H + t->D);
        if (!t->x || !t->pre || !t->act || !t->c || !t->tc || !t->h || !t->bn || !t->pooled || !t->z1 || !t->a1 ||
            !t->out || !t->argmax || !t->d_seq || !t->d_top || !t->d_pre || !t->d_h || !t->d_c || !t->d_head)
                return -ENOMEM;

        *ret = TAKE_PTR(t);
        return 0;
}

static inline double sigmoid(double v) {
        return 1.0 / (1.0 + exp(-v));
}

static void layer_forward(Tape *t, unsigned l) {
        const da_lstm_layer *W = &t->m->layer[l];
        unsigned H = t->H, B = t->B, in = W->in;

        for (unsigned s = 0; s < t->T; s++) {
                double *pre = t->pre + tape_row(t, l, s, 0) * 4 * H;
                const double *input = l == 0 ? tape_x(t, s, 0) : tape_h(t, l - 1, s, 0);

                for (unsigned b = 0; b < B; b++)
                        for (unsigned r = 0; r < 4 * H; r++)
                                pre[(size_t) b * 4 * H + r] = (double) W->b_ih[r] + (double) W->b_hh[r];
                matmul_wx_acc(W->w_ih, 4 * H, in, input, in, B, pre, 4 * H);
                if (s > 0)
                        matmul_wx_acc(W->w_hh, 4 * H, H, tape_h(t, l, s - 1, 0), H, B, pre, 4 * H);

                for (unsigned b = 0; b < B; b++) {
                        const double *p = pre + (size_t) b * 4 * H;
                        double *a = t->act + tape_row(t, l, s, b) * 4 * H;
                        double *c = t->c + tape_row(t, l, s, b) * H;
                        double *tc = t->tc + tape_row(t, l, s, b) * H;
                        double *h = t->h + tape_row(t, l, s, b) * H;
                        const double *c_prev = s > 0 ? tape_c(t, l, s - 1, b) : NULL;

                        for (unsigned j = 0; j < H; j++) {
                                double i = sigmoid(p[j]), f = sigmoid(p[H + j]), g = tanh(p[2 * H + j]),
                                       o = sigmoid(p[3 * H + j]);

                                a[j] = i;
                                a[H + j] = f;
                                a[2 * H + j] = g;
                                a[3 * H + j] = o;
                                c[j] = (c_prev ? f * c_prev[j] : 0) + i * g;
                                tc[j] = tanh(c[j]);
                                h[j] = o * tc[j];
                        }
                }
        }
}

static void head_forward(Tape *t) {
        const da_model *m = t->m;
        unsigned H = t->H, T = t->T, D = t->D, O = t->O;

        for (unsigned s = 0; s < T; s++)
                for (unsigned b = 0; b < t->B; b++) {
                        const double *h = tape_h(t, t->L - 1, s, b);
                        double *y = t->bn + ((size_t) s * t->B + b) * H;

                        for (unsigned j = 0; j < H; j++)
                                y[j] = m->arch.batchnorm ?
                                        (h[j] - m->bn_mean[j]) / sqrt((double) m->bn_var[j] + m->bn_eps) *
                                                m->bn_weight[j] + m->bn_bias[j] :
                                        h[j];
                }

        for (unsigned b = 0; b < t->B; b++) {
                double *p = t->pooled + (size_t) b * H, *out = t->out + (size_t) b * O;
                unsigned *am = t->argmax + (size_t) b * H;

                for (unsigned j = 0; j < H; j++) {
                        switch (m->arch.pooling) {
                        case DA_POOL_LAST:
                                p[j] = tape_bn(t, T - 1, b)[j];
                                am[j] = T - 1;
                                break;
                        case DA_POOL_MEAN: {
                                double sum = 0;

                                for (unsigned s = 0; s < T; s++)
                                        sum += tape_bn(t, s, b)[j];
                                p[j] = sum / T;
                                am[j] = 0;
                                break;
                        }
                        default:
                                /* the first maximum, as torch.max picks it */
                                am[j] = 0;
                                p[j] = tape_bn(t, 0, b)[j];
                                for (unsigned s = 1; s < T; s++)
                                        if (tape_bn(t, s, b)[j] > p[j]) {
                                                p[j] = tape_bn(t, s, b)[j];
                                                am[j] = s;
                                        }
                        }
                }

                head_dense_exact(m, p, t->z1 + (size_t) b * D, t->a1 + (size_t) b * D, out);
        }
}

static int tape_begin(Tape *t, unsigned T, unsigned B) {
        if (T == 0 || T > t->max_T || B == 0 || B > t->max_B)
                return -EINVAL;
        t->T = T;
        t->B = B;
        return 0;
}

static int tape_run(Tape *t, double *ret_out) {
        for (unsigned l = 0; l < t->L; l++)
                layer_forward(t, l);
        head_forward(t);
        if (ret_out)
                memcpy(ret_out, t->out, (size_t) t->B * t->O * sizeof(double));
        return 0;
}

int tape_forward(Tape *t, const double *x, unsigned T, unsigned B, double *ret_out) {
        int r;

        r = tape_begin(t, T, B);
        if (r < 0)
                return r;
        for (unsigned b = 0; b < B; b++)
                for (unsigned s = 0; s < T; s++)
                        memcpy(t->x + ((size_t) s * B + b) * t->F, x + ((size_t) b * T + s) * t->F,
                               t->F * sizeof(double));
        return tape_run(t, ret_out);
}

int tape_forward_float(Tape *t, const float *x, unsigned T, unsigned B, double *ret_out) {
        int r;

        r = tape_begin(t, T, B);
        if (r < 0)
                return r;
        for (unsigned b = 0; b < B; b++)
                for (unsigned s = 0; s < T; s++)
                        for (unsigned f = 0; f < t->F; f++)
                                t->x[((size_t) s * B + b) * t->F + f] = x[((size_t) b * T + s) * t->F + f];
        return tape_run(t, ret_out);
}
