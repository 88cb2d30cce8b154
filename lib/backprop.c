/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Backpropagation through time, the exact reverse of tape.c: head (output
 * layer, fc1 and its activation, pooling, eval-mode batchnorm), then each
 * LSTM layer from the top, steps in reverse. */

#include <math.h>

#include "backprop.h"
#include "head.h"
#include "matmul.h"

void param_layout(const da_model *m, ParamLayout *ret) {
        size_t n = 0, H = m->arch.hidden;

        *ret = (ParamLayout) {};
        for (unsigned l = 0; l < m->arch.layers; l++) {
                ret->w_ih[l] = n;
                n += 4 * H * m->layer[l].in;
                ret->w_hh[l] = n;
                n += 4 * H * H;
                ret->b_ih[l] = n;
                n += 4 * H;
                ret->b_hh[l] = n;
                n += 4 * H;
        }
        if (m->arch.batchnorm) {
                ret->bn_weight = n;
                n += H;
                ret->bn_bias = n;
                n += H;
        }
        if (m->arch.dense > 0) {
                ret->fc1_weight = n;
                n += (size_t) m->arch.dense * H;
                ret->fc1_bias = n;
                n += m->arch.dense;
        }
        ret->out_weight = n;
        n += (size_t) m->arch.outputs * model_head_in(m);
        ret->out_bias = n;
        n += m->arch.outputs;
        ret->total = n;
}

/* Fills t->d_top with δ of the top layer's h at every step. */
static void head_backward(Tape *t, const double *dout, double *G, const ParamLayout *P) {
        const da_model *m = t->m;
        unsigned H = t->H, D = t->D, O = t->O, T = t->T, B = t->B, n_in = D > 0 ? D : H;
        double *d_in = t->d_head, *d_pool = t->d_head + MAX(H, D);

        memset(t->d_top, 0, (size_t) T * B * H * sizeof(double));
        for (unsigned b = 0; b < B; b++) {
                const double *dy = dout + (size_t) b * O, *pooled = t->pooled + (size_t) b * H;
                const double *head_in = D > 0 ? t->a1 + (size_t) b * D : pooled;
                const unsigned *am = t->argmax + (size_t) b * H;

                memset(d_in, 0, n_in * sizeof(double));
                for (unsigned o = 0; o < O; o++) {
                        const float *w = m->out_w + (size_t) o * n_in;

                        if (dy[o] == 0)
                                continue;
                        for (unsigned k = 0; k < n_in; k++)
                                d_in[k] += w[k] * dy[o];
                        if (G) {
                                for (unsigned k = 0; k < n_in; k++)
                                        G[P->out_weight + (size_t) o * n_in + k] += dy[o] * head_in[k];
                                G[P->out_bias + o] += dy[o];
                        }
                }

                if (D > 0) {
                        const double *z = t->z1 + (size_t) b * D, *a = t->a1 + (size_t) b * D;

                        for (unsigned d = 0; d < D; d++)
                                d_in[d] *= head_activation_derivative(m->arch.activation, z[d], a[d]);
                        memset(d_pool, 0, H * sizeof(double));
                        for (unsigned d = 0; d < D; d++) {
                                const float *w = m->fc1_w + (size_t) d * H;

                                if (d_in[d] == 0)
                                        continue;
                                for (unsigned j = 0; j < H; j++)
                                        d_pool[j] += w[j] * d_in[d];
                                if (G) {
                                        for (unsigned j = 0; j < H; j++)
                                                G[P->fc1_weight + (size_t) d * H + j] += d_in[d] * pooled[j];
                                        G[P->fc1_bias + d] += d_in[d];
                                }
                        }
                } else
                        memcpy(d_pool, d_in, H * sizeof(double));

                /* pooling, then the batchnorm affine, into δh of the top layer */
                for (unsigned j = 0; j < H; j++) {
                        double scale = 1;

                        if (m->arch.batchnorm)
                                scale = m->bn_weight[j] / sqrt((double) m->bn_var[j] + m->bn_eps);

                        for (unsigned s = 0; s < T; s++) {
                                double dbn;

                                if (m->arch.pooling == DA_POOL_MEAN)
                                        dbn = d_pool[j] / T;
                                else if (s == am[j])
                                        dbn = d_pool[j];
                                else
                                        continue;

                                t->d_top[((size_t) s * B + b) * H + j] = dbn * scale;
                                if (G && m->arch.batchnorm) {
                                        double h = tape_h(t, t->L - 1, s, b)[j];

                                        G[P->bn_weight + j] += dbn * (h - m->bn_mean[j]) /
                                                sqrt((double) m->bn_var[j] + m->bn_eps);
                                        G[P->bn_bias + j] += dbn;
                                }
                        }
                }
        }
}

/* One layer in reverse. d_ext holds δh from above ([s][b][H]); the δ of the
 * layer's inputs goes to d_seq (l > 0, overwriting d_ext step by step after
 * it is read) or to grad_x (l == 0, window-major; skipped when NULL). */
static void layer_backward(Tape *t, unsigned l, const double *d_ext, double *grad_x, double *G,
                           const ParamLayout *P) {
        const da_lstm_layer *W = &t->m->layer[l];
        unsigned H = t->H, B = t->B, T = t->T, in = W->in;

        memset(t->d_h, 0, (size_t) B * H * sizeof(double));
        memset(t->d_c, 0, (size_t) B * H * sizeof(double));
        for (unsigned s = T; s-- > 0;) {
                const double *input = l == 0 ? tape_x(t, s, 0) : tape_h(t, l - 1, s, 0);

                for (unsigned b = 0; b < B; b++) {
                        const double *a = tape_act(t, l, s, b), *tc = tape_tc(t, l, s, b);
                        const double *c_prev = s > 0 ? tape_c(t, l, s - 1, b) : NULL;
                        const double *de = d_ext + ((size_t) s * B + b) * H;
                        double *dh = t->d_h + (size_t) b * H, *dcell = t->d_c + (size_t) b * H;
                        double *dp = t->d_pre + (size_t) b * 4 * H;

                        for (unsigned j = 0; j < H; j++) {
                                double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
                                double d_h = dh[j] + de[j];
                                double dc = dcell[j] + d_h * o * (1 - tc[j] * tc[j]);

                                dp[j] = dc * g * i * (1 - i);
                                dp[H + j] = c_prev ? dc * c_prev[j] * f * (1 - f) : 0;
                                dp[2 * H + j] = dc * i * (1 - g * g);
                                dp[3 * H + j] = d_h * tc[j] * o * (1 - o);
                                dcell[j] = dc * f;
                        }
                }

                memset(t->d_h, 0, (size_t) B * H * sizeof(double));
                if (s > 0)
                        matmul_wtd_acc(W->w_hh, 4 * H, H, t->d_pre, 4 * H, B, t->d_h, H);

                if (l > 0) {
                        double *dx = t->d_seq + (size_t) s * B * in;

                        memset(dx, 0, (size_t) B * in * sizeof(double));
                        matmul_wtd_acc(W->w_ih, 4 * H, in, t->d_pre, 4 * H, B, dx, in);
                } else if (grad_x)
                        matmul_wtd_acc(W->w_ih, 4 * H, in, t->d_pre, 4 * H, B, grad_x + (size_t) s * in,
                                       (size_t) T * in);

                if (G) {
                        matmul_outer_acc(G + P->w_ih[l], 4 * H, in, t->d_pre, 4 * H, input, in, B);
                        if (s > 0)
                                matmul_outer_acc(G + P->w_hh[l], 4 * H, H, t->d_pre, 4 * H,
                                                 tape_h(t, l, s - 1, 0), H, B);
                        for (unsigned b = 0; b < B; b++)
                                for (unsigned r = 0; r < 4 * H; r++) {
                                        G[P->b_ih[l] + r] += t->d_pre[(size_t) b * 4 * H + r];
                                        G[P->b_hh[l] + r] += t->d_pre[(size_t) b * 4 * H + r];
                                }
                }
        }
}

int backprop(Tape *t, const double *dout, double *ret_grad_x, double *acc_grad_params) {
        ParamLayout P;

        if (!t || !dout || t->T == 0)
                return -EINVAL;

        param_layout(t->m, &P);
        head_backward(t, dout, acc_grad_params, &P);
        if (ret_grad_x)
                memset(ret_grad_x, 0, (size_t) t->B * t->T * t->F * sizeof(double));
        for (unsigned l = t->L; l-- > 0;)
                layer_backward(t, l, l == t->L - 1 ? t->d_top : t->d_seq, ret_grad_x, acc_grad_params, &P);
        return 0;
}

int backprop_output_gradients(Tape *t, const double *x, unsigned T, unsigned B, unsigned o, double *ret_out,
                              double *ret_grad) {
        _cleanup_free_ double *dout = NULL;
        int r;

        if (o >= t->O)
                return -EINVAL;
        r = tape_forward(t, x, T, B, NULL);
        if (r < 0)
                return r;
        dout = calloc((size_t) B * t->O, sizeof(double));
        if (!dout)
                return -ENOMEM;
        for (unsigned b = 0; b < B; b++) {
                dout[(size_t) b * t->O + o] = 1;
                if (ret_out)
                        ret_out[b] = t->out[(size_t) b * t->O + o];
        }
        return backprop(t, dout, ret_grad, NULL);
}

int da_gradient(const da_model *m, const float *x, unsigned T, unsigned output, float *ret_output_value,
                float *ret_grad_x, float *ret_grad_params) {
        _cleanup_(tape_freep) Tape *t = NULL;
        _cleanup_free_ double *dout = NULL, *gx = NULL, *gp = NULL;
        size_t n_x, n_p;
        int r;

        if (!m || !x || T == 0 || output >= m->arch.outputs)
                return -EINVAL;

        r = tape_new(m, T, 1, &t);
        if (r < 0)
                return r;
        n_x = (size_t) T * m->arch.n_features;
        n_p = da_model_n_parameters(m);
        dout = calloc(m->arch.outputs, sizeof(double));
        gx = calloc(n_x, sizeof(double));
        if (ret_grad_params)
                gp = calloc(n_p, sizeof(double));
        if (!dout || !gx || (ret_grad_params && !gp))
                return -ENOMEM;

        r = tape_forward_float(t, x, T, 1, NULL);
        if (r < 0)
                return r;
        dout[output] = 1;
        r = backprop(t, dout, gx, gp);
        if (r < 0)
                return r;

        if (ret_output_value)
                *ret_output_value = (float) t->out[output];
        if (ret_grad_x)
                for (size_t i = 0; i < n_x; i++)
                        ret_grad_x[i] = (float) gx[i];
        if (ret_grad_params)
                for (size_t i = 0; i < n_p; i++)
                        ret_grad_params[i] = (float) gp[i];
        return 0;
}
