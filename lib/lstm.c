/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The LSTM forward pass, PyTorch semantics: window mode (from zero state,
 * layer by layer, input projections of all T frames first) and streaming
 * mode (one frame through all layers, state in the context). */

#include <math.h>

#include "gemv.h"
#include "head.h"
#include "lstm.h"
#include "util.h"

struct da_ctx {
        const da_model *m;
        unsigned max_T, Hp;
        float *proj;            /* max_T × 4Hp: pre-activations of one layer */
        float *seq;             /* max_T × Hp: hidden states of one layer */
        float *zero;            /* Hp zeros: h before the first step */
        float *cell;            /* Hp: c of the window pass */
        float *igate;           /* Hp: input gate of the last step */
        float *gate_sum;        /* F padded: Σ_j i[j]·|W_g[j,f]| of the last step */
        float *state_h, *state_c; /* layers × Hp, streaming */
        float *gates;           /* 4Hp, streaming */
        float *hidden_bn;       /* Hp, streaming: top h after batchnorm */
        float *pooled;          /* H */
        float *scratch;         /* dense */
};

da_ctx *da_ctx_free(da_ctx *ctx) {
        if (!ctx)
                return NULL;
        free(ctx->proj);
        free(ctx->seq);
        free(ctx->zero);
        free(ctx->cell);
        free(ctx->igate);
        free(ctx->gate_sum);
        free(ctx->state_h);
        free(ctx->state_c);
        free(ctx->gates);
        free(ctx->hidden_bn);
        free(ctx->pooled);
        free(ctx->scratch);
        return mfree(ctx);
}

int da_ctx_new(const da_model *m, unsigned max_window, da_ctx **ret) {
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        unsigned Hp = model_hidden_padded(m), L = m->arch.layers;

        if (max_window == 0)
                max_window = m->arch.window;
        if (max_window > 1000000)
                return -EINVAL;

        ctx = calloc(1, sizeof(*ctx));
        if (!ctx)
                return -ENOMEM;
        ctx->m = m;
        ctx->max_T = max_window;
        ctx->Hp = Hp;
        ctx->proj = aligned_alloc0((size_t) max_window * 4 * Hp);
        ctx->seq = aligned_alloc0((size_t) max_window * Hp);
        ctx->zero = aligned_alloc0(Hp);
        ctx->cell = aligned_alloc0(Hp);
        ctx->igate = aligned_alloc0(Hp);
        ctx->gate_sum = aligned_alloc0(m->gate_abs.rows_padded);
        ctx->state_h = aligned_alloc0((size_t) L * Hp);
        ctx->state_c = aligned_alloc0((size_t) L * Hp);
        ctx->gates = aligned_alloc0(4 * Hp);
        ctx->hidden_bn = aligned_alloc0(Hp);
        ctx->pooled = aligned_alloc0(Hp);
        ctx->scratch = aligned_alloc0(m->arch.dense + 1);
        if (!ctx->proj || !ctx->seq || !ctx->zero || !ctx->cell || !ctx->igate || !ctx->gate_sum ||
            !ctx->state_h || !ctx->state_c || !ctx->gates || !ctx->hidden_bn || !ctx->pooled || !ctx->scratch)
                return -ENOMEM;

        *ret = TAKE_PTR(ctx);
        return 0;
}

void lstm_project_input(const da_ctx *ctx, const float *x_t, float *ret_proj) {
        const da_packed_layer *P = &ctx->m->packed[0];

        memcpy(ret_proj, P->bias, 4 * ctx->Hp * sizeof(float));
        gemv_panels_acc(&P->ih, x_t, ret_proj);
}

/* One layer over T steps from zero state; input rows of `in_cols` floats at
 * `in_stride`, or for layer 0 the input projections already made (proj).
 * With trace_gate, layer 0 accumulates the gate trace. */
static void layer_window(da_ctx *ctx, unsigned l, const float *in, unsigned in_stride, const float *const *proj,
                         unsigned T, const float *x, float *trace_gate) {
        const da_model *m = ctx->m;
        const da_packed_layer *P = &m->packed[l];
        unsigned Hp = ctx->Hp, F = m->arch.n_features;
        float *c = ctx->cell;

        for (unsigned t = 0; t < T; t++) {
                float *g = ctx->proj + (size_t) t * 4 * Hp;

                if (proj) {
                        memcpy(g, proj[t], 4 * Hp * sizeof(float));
                        continue;
                }
                memcpy(g, P->bias, 4 * Hp * sizeof(float));
                gemv_panels_acc(&P->ih, in + (size_t) t * in_stride, g);
        }

        memset(c, 0, Hp * sizeof(float));
        for (unsigned t = 0; t < T; t++) {
                float *g = ctx->proj + (size_t) t * 4 * Hp;
                const float *h_prev = t == 0 ? ctx->zero : ctx->seq + (size_t) (t - 1) * Hp;

                gemv_panels_acc(&P->hh, h_prev, g);
                lstm_cell(g, c, ctx->seq + (size_t) t * Hp, Hp, trace_gate ? ctx->igate : NULL);
                if (trace_gate) {
                        const float *xt = x + (size_t) t * F;

                        memset(ctx->gate_sum, 0, m->gate_abs.rows_padded * sizeof(float));
                        gemv_panels_acc(&m->gate_abs, ctx->igate, ctx->gate_sum);
                        for (unsigned f = 0; f < F; f++)
                                trace_gate[f] += fabsf(xt[f]) * ctx->gate_sum[f];
                }
        }
}

int lstm_forward_projected(da_ctx *ctx, const float *x, const float *const *proj, unsigned T, float *ret_out,
                           float *ret_trace_input, float *ret_trace_gate) {
        const da_model *m = ctx->m;
        unsigned F = m->arch.n_features;

        if (T == 0 || T > ctx->max_T)
                return -EINVAL;

        if (ret_trace_gate)
                memset(ret_trace_gate, 0, F * sizeof(float));
        for (unsigned l = 0; l < m->arch.layers; l++) {
                if (l == 0)
                        layer_window(ctx, 0, x, F, proj, T, x, ret_trace_gate);
                else
                        layer_window(ctx, l, ctx->seq, ctx->Hp, NULL, T, NULL, NULL);
        }
        head_pool(m, ctx->seq, T, ctx->Hp, ctx->pooled);
        head_dense(m, ctx->pooled, ctx->scratch, ret_out);

        if (ret_trace_gate)
                for (unsigned f = 0; f < F; f++)
                        ret_trace_gate[f] /= (float) T;
        if (ret_trace_input)
                for (unsigned f = 0; f < F; f++) {
                        float s = 0;

                        for (unsigned t = 0; t < T; t++)
                                s += fabsf(x[(size_t) t * F + f]);
                        ret_trace_input[f] = s / (float) T;
                }
        return 0;
}

int da_forward_traced(da_ctx *ctx, const float *x, unsigned T, float *ret_out,
                      float *ret_trace_input, float *ret_trace_gate) {
        return lstm_forward_projected(ctx, x, NULL, T, ret_out, ret_trace_input, ret_trace_gate);
}

int da_forward(da_ctx *ctx, const float *x, unsigned T, float *ret_out) {
        return da_forward_traced(ctx, x, T, ret_out, NULL, NULL);
}

void da_ctx_reset_state(da_ctx *ctx) {
        size_t n = (size_t) ctx->m->arch.layers * ctx->Hp;

        memset(ctx->state_h, 0, n * sizeof(float));
        memset(ctx->state_c, 0, n * sizeof(float));
        memset(ctx->hidden_bn, 0, ctx->Hp * sizeof(float));
}

int da_step(da_ctx *ctx, const float *x_t) {
        const da_model *m = ctx->m;
        unsigned Hp = ctx->Hp;
        const float *in = x_t;

        for (unsigned l = 0; l < m->arch.layers; l++) {
                const da_packed_layer *P = &m->packed[l];
                float *h = ctx->state_h + (size_t) l * Hp, *c = ctx->state_c + (size_t) l * Hp;

                memcpy(ctx->gates, P->bias, 4 * Hp * sizeof(float));
                gemv_panels_acc(&P->ih, in, ctx->gates);
                gemv_panels_acc(&P->hh, h, ctx->gates);
                lstm_cell(ctx->gates, c, h, Hp, NULL);
                in = h;
        }
        head_bn(m, in, ctx->hidden_bn);
        return 0;
}

const float *da_ctx_hidden(const da_ctx *ctx) {
        return ctx->hidden_bn;
}

int da_head(da_ctx *ctx, const float *pooled, float *ret_out) {
        head_dense(ctx->m, pooled, ctx->scratch, ret_out);
        return 0;
}
