/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The traced forward pass over many windows at once, for offline ranking:
 * each step multiplies the packed weights with the whole batch (each weight
 * load serves every window), where da_forward_traced streams them once per
 * window; windows that overlap share their frames' input projections. Same
 * results to float rounding. */

#include <math.h>

#include "batch-kernels.h"
#include "head.h"
#include "model.h"
#include "util.h"

struct da_batch {
        const da_model *m;
        unsigned T, max_B, Hp, F_padded, max_rows;
        float *rows;            /* max_rows × 4Hp: layer 0's input projection of each input row */
        float *proj;            /* T × B × 4Hp: pre-activations, then gate activations */
        float *seq;             /* T × B × Hp: one layer's hidden states */
        float *c[2];            /* B × Hp each: cell states of two consecutive steps */
        float *tc;              /* B × Hp: tanh(c) */
        float *gate_sum;        /* B × F_padded: Σ_j i[j]·|W_g[j,f]| of one step */
        float *pooled, *scratch;
};

da_batch *da_batch_free(da_batch *b) {
        if (!b)
                return NULL;
        free(b->rows);
        free(b->proj);
        free(b->seq);
        free(b->c[0]);
        free(b->c[1]);
        free(b->tc);
        free(b->gate_sum);
        free(b->pooled);
        free(b->scratch);
        return mfree(b);
}

DEFINE_TRIVIAL_CLEANUP_FUNC(da_batch *, da_batch_free);

int da_batch_new(const da_model *m, unsigned max_batch, da_batch **ret) {
        _cleanup_(da_batch_freep) da_batch *b = NULL;
        size_t T, B, Hp;

        if (max_batch == 0 || max_batch > 4096)
                return -EINVAL;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->m = m;
        b->T = m->arch.window;
        b->max_B = max_batch;
        b->Hp = model_hidden_padded(m);
        b->F_padded = m->gate_abs.rows_padded;
        T = b->T;
        B = max_batch;
        Hp = b->Hp;
        /* independent windows need B·T rows, the model's hop (B − 1)·hop + T */
        b->max_rows = (unsigned) MAX(B * T, (B - 1) * m->arch.hop + T);
        b->rows = aligned_alloc0((size_t) b->max_rows * 4 * Hp);
        b->proj = aligned_alloc0(T * B * 4 * Hp);
        b->seq = aligned_alloc0(T * B * Hp);
        b->c[0] = aligned_alloc0(B * Hp);
        b->c[1] = aligned_alloc0(B * Hp);
        b->tc = aligned_alloc0(B * Hp);
        b->gate_sum = aligned_alloc0(B * b->F_padded);
        b->pooled = aligned_alloc0(Hp);
        b->scratch = aligned_alloc0(m->arch.dense + 1);
        if (!b->rows || !b->proj || !b->seq || !b->c[0] || !b->c[1] || !b->tc || !b->gate_sum || !b->pooled || !b->scratch)
                return -ENOMEM;
        *ret = TAKE_PTR(b);
        return 0;
}

/* One layer for B windows from zero state. Layer 0 reads input row
 * w·r + t of x (F floats each) at step t of window w: r = T for separate
 * windows, r = hop for windows sliding over one run of frames; each row's
 * projection is computed once however many windows share it. Later layers
 * read the previous layer's states. */
static void layer_batch(da_batch *b, unsigned l, const float *x, unsigned r, unsigned B, float *trace_gate) {
        const da_model *m = b->m;
        const da_packed_layer *P = &m->packed[l];
        unsigned T = b->T, Hp = b->Hp, F = m->arch.n_features;
        size_t step = (size_t) B * 4 * Hp;

        if (l == 0) {
                unsigned n_rows = (B - 1) * r + T;

                for (unsigned i = 0; i < n_rows; i++)
                        memcpy(b->rows + (size_t) i * 4 * Hp, P->bias, 4 * Hp * sizeof(float));
                gemm_panels_acc(&P->ih, x, F, n_rows, b->rows, 4 * Hp);
                /* later steps start from the rows inside the recurrent product */
                for (unsigned w = 0; w < B; w++)
                        memcpy(b->proj + (size_t) w * 4 * Hp, b->rows + (size_t) w * r * 4 * Hp,
                               4 * Hp * sizeof(float));
        } else
                for (unsigned t = 0; t < T; t++) {
                        float *g = b->proj + t * step;

                        for (unsigned w = 0; w < B; w++)
                                memcpy(g + (size_t) w * 4 * Hp, P->bias, 4 * Hp * sizeof(float));
                        gemm_panels_acc(&P->ih, b->seq + (size_t) t * B * Hp, Hp, B, g, 4 * Hp);
                }

        for (unsigned t = 0; t < T; t++) {
                float *g = b->proj + t * step, *h = b->seq + (size_t) t * B * Hp;

                if (t > 0 && l == 0)
                        gemm_panels(&P->hh, b->seq + (size_t) (t - 1) * B * Hp, Hp, B,
                                    b->rows + (size_t) t * 4 * Hp, (size_t) r * 4 * Hp, g, 4 * Hp);
                else if (t > 0)
                        gemm_panels_acc(&P->hh, b->seq + (size_t) (t - 1) * B * Hp, Hp, B, g, 4 * Hp);
                lstm_cell_forward_batch(g, t > 0 ? b->c[(t - 1) % 2] : NULL, b->c[t % 2], b->tc, h, Hp, B);
                if (!trace_gate)
                        continue;

                /* the input gate is the first Hp activations of each window's row */
                gemm_panels(&m->gate_abs, g, 4 * Hp, B, NULL, 0, b->gate_sum, b->F_padded);
                for (unsigned w = 0; w < B; w++) {
                        const float *xt = x + ((size_t) w * r + t) * F, *gs = b->gate_sum + (size_t) w * b->F_padded;
                        float *tr = trace_gate + (size_t) w * F;

                        for (unsigned f = 0; f < F; f++)
                                tr[f] += fabsf(xt[f]) * gs[f];
                }
        }
}

static int forward_rows(da_batch *b, const float *x, unsigned r, unsigned B, float *ret_out, float *ret_trace_input,
                        float *ret_trace_gate) {
        const da_model *m = b->m;
        unsigned T = b->T, F = m->arch.n_features, O = m->arch.outputs, Hp = b->Hp;

        if (ret_trace_gate)
                memset(ret_trace_gate, 0, (size_t) B * F * sizeof(float));
        for (unsigned l = 0; l < m->arch.layers; l++)
                layer_batch(b, l, x, r, B, l == 0 ? ret_trace_gate : NULL);

        for (unsigned w = 0; w < B; w++) {
                head_pool(m, b->seq + (size_t) w * Hp, T, B * Hp, b->pooled);
                head_dense(m, b->pooled, b->scratch, ret_out + (size_t) w * O);
        }
        if (ret_trace_gate)
                for (size_t i = 0; i < (size_t) B * F; i++)
                        ret_trace_gate[i] /= (float) T;
        if (ret_trace_input)
                for (unsigned w = 0; w < B; w++)
                        for (unsigned f = 0; f < F; f++) {
                                float s = 0;

                                for (unsigned t = 0; t < T; t++)
                                        s += fabsf(x[((size_t) w * r + t) * F + f]);
                                ret_trace_input[(size_t) w * F + f] = s / (float) T;
                        }
        return 0;
}

int da_forward_traced_batch(da_batch *b, const float *x, unsigned B, float *ret_out, float *ret_trace_input,
                            float *ret_trace_gate) {
        if (B == 0 || B > b->max_B)
                return -EINVAL;
        return forward_rows(b, x, b->T, B, ret_out, ret_trace_input, ret_trace_gate);
}

int da_forward_traced_frames(da_batch *b, const float *x, unsigned n_frames, float *ret_out,
                             float *ret_trace_input, float *ret_trace_gate, unsigned *ret_windows) {
        unsigned hop = b->m->arch.hop, B;

        if (n_frames < b->T)
                return -EINVAL;
        B = (n_frames - b->T) / hop + 1;
        if (B > b->max_B)
                return -E2BIG;
        *ret_windows = B;
        return forward_rows(b, x, hop, B, ret_out, ret_trace_input, ret_trace_gate);
}
