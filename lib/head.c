/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model head: batchnorm (folded), pooling over time, dense layers. */

#include <math.h>

#include "head.h"

float head_activate(da_activation a, float x) {
        switch (a) {
        case DA_ACT_ELU:
                return x > 0 ? x : expm1f(x);
        case DA_ACT_RELU:
                return x > 0 ? x : 0;
        case DA_ACT_TANH:
                return tanhf(x);
        default:
                return x;
        }
}

double head_activate_exact(da_activation a, double x) {
        switch (a) {
        case DA_ACT_ELU:
                return x > 0 ? x : expm1(x);
        case DA_ACT_RELU:
                return x > 0 ? x : 0;
        case DA_ACT_TANH:
                return tanh(x);
        default:
                return x;
        }
}

double head_activation_derivative(da_activation a, double z, double y) {
        switch (a) {
        case DA_ACT_ELU:
                return z > 0 ? 1 : y + 1;
        case DA_ACT_RELU:
                return z > 0 ? 1 : 0;
        case DA_ACT_TANH:
                return 1 - y * y;
        default:
                return 1;
        }
}

static inline float bn(const da_model *m, unsigned j, float v) {
        return m->bn_scale ? v * m->bn_scale[j] + m->bn_shift[j] : v;
}

void head_pool(const da_model *m, const float *seq, unsigned T, unsigned stride, float *ret_pooled) {
        unsigned H = m->arch.hidden;

        switch (m->arch.pooling) {
        case DA_POOL_LAST:
                for (unsigned j = 0; j < H; j++)
                        ret_pooled[j] = bn(m, j, seq[(size_t) (T - 1) * stride + j]);
                break;
        case DA_POOL_MEAN:
                for (unsigned j = 0; j < H; j++) {
                        double s = 0;

                        for (unsigned t = 0; t < T; t++)
                                s += bn(m, j, seq[(size_t) t * stride + j]);
                        ret_pooled[j] = (float) (s / T);
                }
                break;
        default:
                for (unsigned j = 0; j < H; j++) {
                        float best = bn(m, j, seq[j]);

                        for (unsigned t = 1; t < T; t++)
                                best = fmaxf(best, bn(m, j, seq[(size_t) t * stride + j]));
                        ret_pooled[j] = best;
                }
        }
}

void head_bn(const da_model *m, const float *h, float *ret) {
        for (unsigned j = 0; j < m->arch.hidden; j++)
                ret[j] = bn(m, j, h[j]);
}

static void dense(const float *w, const float *b, const float *x, unsigned rows, unsigned cols, float *ret) {
        for (unsigned r = 0; r < rows; r++) {
                const float *wr = w + (size_t) r * cols;
                float s = 0;

                for (unsigned c = 0; c < cols; c++)
                        s += wr[c] * x[c];
                ret[r] = s + b[r];
        }
}

void head_dense_exact(const da_model *m, const double *pooled, double *z1, double *a1, double *ret_out) {
        unsigned H = m->arch.hidden, D = m->arch.dense, n_in = H;
        const double *head_in = pooled;

        if (D > 0) {
                for (unsigned d = 0; d < D; d++) {
                        const float *w = m->fc1_w + (size_t) d * H;
                        double sum = m->fc1_b[d];

                        for (unsigned j = 0; j < H; j++)
                                sum += w[j] * pooled[j];
                        z1[d] = sum;
                        a1[d] = head_activate_exact(m->arch.activation, sum);
                }
                head_in = a1;
                n_in = D;
        }
        for (unsigned o = 0; o < m->arch.outputs; o++) {
                const float *w = m->out_w + (size_t) o * n_in;
                double sum = m->out_b[o];

                for (unsigned k = 0; k < n_in; k++)
                        sum += w[k] * head_in[k];
                ret_out[o] = sum;
        }
}

void head_dense(const da_model *m, const float *pooled, float *scratch, float *ret_out) {
        const da_arch *a = &m->arch;

        if (a->dense == 0) {
                dense(m->out_w, m->out_b, pooled, a->outputs, a->hidden, ret_out);
                return;
        }
        dense(m->fc1_w, m->fc1_b, pooled, a->dense, a->hidden, scratch);
        for (unsigned d = 0; d < a->dense; d++)
                scratch[d] = head_activate(a->activation, scratch[d]);
        dense(m->out_w, m->out_b, scratch, a->outputs, a->dense, ret_out);
}
