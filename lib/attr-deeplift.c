/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DeepLIFT (rescale rule) through the whole model, LSTM gates included.
 *
 * Multipliers m_v = ΔF/Δv flow backwards like gradients, but every local rule
 * is an exact decomposition of a difference between the input pass (x) and
 * the reference pass (x′), so Σ_t,f m_x·Δx = F(x) − F(x′) up to rounding:
 *  - linear maps (gate projections, batchnorm, mean/last pooling, dense
 *    layers) pass multipliers through their weights;
 *  - a scalar nonlinearity y = σ(z) gets the secant (σ(z) − σ(z′))/(z − z′),
 *    or σ′((z + z′)/2) when |z − z′| < 1e-6: the midpoint slope is the
 *    secant's second-order approximation, so the loss is O(Δz³);
 *  - a product of two varying terms is split by the Shapley rule
 *    Δ(a·b) = Δa·(b + b′)/2 + Δb·(a + a′)/2 (f·c, i·g and o·tanh c);
 *  - max pooling y = max_t u_t, per unit: with t* the argmax under x and t′
 *    the argmax under x′, Δu_t′ ≤ Δy ≤ Δu_t*, so Δy is the convex combination
 *    λ·Δu_t* + (1 − λ)·Δu_t′ with λ = gap/(gap + gap′), gap = u_t* − u_t′
 *    and gap′ = u′_t′ − u′_t* (λ = 1 when t* = t′, ½ on an exact double tie).
 *
 * With deeplift_gradient_fallback the LSTM's nonlinearities and products use
 * the plain derivatives at x instead (what Captum's and SHAP's DeepLIFT do
 * inside nn.LSTM, which they cannot see into); the head keeps its rules.
 *
 * Both passes run in double precision so the rounding of the float forward
 * does not show up in the summation-to-delta check. */

#include <math.h>

#include "attribute.h"
#include "matmul.h"
#include "tape.h"

static double activate_slope(da_activation a, double z) {
        switch (a) {
        case DA_ACT_ELU:
                return z > 0 ? 1 : exp(z);
        case DA_ACT_RELU:
                return z > 0 ? 1 : 0;
        case DA_ACT_TANH: {
                double y = tanh(z);

                return 1 - y * y;
        }
        default:
                return 1;
        }
}

static double sigmoid_slope(double z) {
        double y = 1.0 / (1.0 + exp(-z));

        return y * (1 - y);
}

static double tanh_slope(double z) {
        double y = tanh(z);

        return 1 - y * y;
}

/* The rescale multiplier Δy/Δz of y = σ(z), given both outputs. */
static double rescale(double z, double zb, double y, double yb, double (*slope)(double)) {
        double dz = z - zb;

        if (fabs(dz) < 1e-6)
                return slope(0.5 * (z + zb));
        return (y - yb) / dz;
}

static double rescale_act(da_activation act, double z, double zb, double y, double yb) {
        double dz = z - zb;

        if (fabs(dz) < 1e-6)
                return activate_slope(act, 0.5 * (z + zb));
        return (y - yb) / dz;
}

static double bn_scale(const da_model *m, unsigned j) {
        return m->arch.batchnorm ? (double) m->bn_weight[j] / sqrt((double) m->bn_var[j] + (double) m->bn_eps) : 1.0;
}

/* The tape holds the input pass as window 0 and the reference as window 1. */
enum { X, REF };

/* Multipliers of the explained output with respect to the top layer's hidden
 * states (T × H into t->d_top), through the dense layers, pooling and
 * batchnorm. */
static void head_multipliers(Tape *t, unsigned output) {
        const da_model *m = t->m;
        unsigned T = t->T, H = t->H, D = t->D;
        double *mpool = t->d_head, *mh = t->d_top;

        if (D == 0)
                for (unsigned j = 0; j < H; j++)
                        mpool[j] = m->out_w[(size_t) output * H + j];
        else {
                const double *z = t->z1 + (size_t) X * D, *zb = t->z1 + (size_t) REF * D;
                const double *a = t->a1 + (size_t) X * D, *ab = t->a1 + (size_t) REF * D;

                memset(mpool, 0, sizeof(double) * H);
                for (unsigned d = 0; d < D; d++) {
                        double md = (double) m->out_w[(size_t) output * D + d] *
                                    rescale_act(m->arch.activation, z[d], zb[d], a[d], ab[d]);

                        for (unsigned j = 0; j < H; j++)
                                mpool[j] += md * (double) m->fc1_w[(size_t) d * H + j];
                }
        }

        memset(mh, 0, sizeof(double) * T * H);
        for (unsigned j = 0; j < H; j++) {
                double s = bn_scale(m, j) * mpool[j];
                unsigned ts, tb;
                double gap, gapb, lambda;

                switch (m->arch.pooling) {
                case DA_POOL_LAST:
                        mh[(size_t) (T - 1) * H + j] = s;
                        break;
                case DA_POOL_MEAN:
                        for (unsigned k = 0; k < T; k++)
                                mh[(size_t) k * H + j] = s / T;
                        break;
                default:
                        ts = t->argmax[(size_t) X * H + j];
                        tb = t->argmax[(size_t) REF * H + j];
                        if (ts == tb) {
                                mh[(size_t) ts * H + j] = s;
                                break;
                        }
                        gap = tape_bn(t, ts, X)[j] - tape_bn(t, tb, X)[j];
                        gapb = tape_bn(t, tb, REF)[j] - tape_bn(t, ts, REF)[j];
                        lambda = gap + gapb > 0 ? gap / (gap + gapb) : 0.5;
                        mh[(size_t) ts * H + j] = lambda * s;
                        mh[(size_t) tb * H + j] = (1 - lambda) * s;
                }
        }
}

/* Layer l backwards in time: the multipliers of its hidden states (T × H in
 * mh) in, those of its input (T × in into ret_min) out. */
static void layer_multipliers(Tape *t, unsigned l, bool fallback, const double *mh, double *ret_min) {
        const da_lstm_layer *W = &t->m->layer[l];
        unsigned H = t->H, in = W->in;
        double *mz = t->d_pre, *hcarry = t->d_h, *ccarry = t->d_c;

        memset(hcarry, 0, sizeof(double) * H);
        memset(ccarry, 0, sizeof(double) * H);
        for (unsigned s = t->T; s-- > 0;) {
                const double *z = tape_pre(t, l, s, X), *a = tape_act(t, l, s, X);
                const double *c = tape_c(t, l, s, X), *tc = tape_tc(t, l, s, X);
                const double *zb = tape_pre(t, l, s, REF), *ab = tape_act(t, l, s, REF);
                const double *cb = tape_c(t, l, s, REF), *tcb = tape_tc(t, l, s, REF);
                const double *cp = s > 0 ? tape_c(t, l, s - 1, X) : NULL;
                const double *cpb = s > 0 ? tape_c(t, l, s - 1, REF) : NULL;
                double *min = ret_min + (size_t) s * in;

                for (unsigned j = 0; j < H; j++) {
                        double i = a[j], f = a[H + j], g = a[2 * H + j], o = a[3 * H + j];
                        double ib = ab[j], fb = ab[H + j], gb = ab[2 * H + j], ob = ab[3 * H + j];
                        double cj = cp ? cp[j] : 0, cjb = cpb ? cpb[j] : 0;
                        double mhj = mh[(size_t) s * H + j] + hcarry[j], mc;

                        if (fallback) {
                                mc = ccarry[j] + mhj * o * (1 - tc[j] * tc[j]);
                                ccarry[j] = mc * f;
                                mz[j] = mc * g * i * (1 - i);
                                mz[H + j] = mc * cj * f * (1 - f);
                                mz[2 * H + j] = mc * i * (1 - g * g);
                                mz[3 * H + j] = mhj * tc[j] * o * (1 - o);
                                continue;
                        }
                        /* h = o·tanh(c) and c = f·c₋₁ + i·g, each product split by the Shapley rule */
                        mc = ccarry[j] + mhj * 0.5 * (o + ob) * rescale(c[j], cb[j], tc[j], tcb[j], tanh_slope);
                        ccarry[j] = mc * 0.5 * (f + fb);
                        mz[j] = mc * 0.5 * (g + gb) * rescale(z[j], zb[j], i, ib, sigmoid_slope);
                        mz[H + j] = mc * 0.5 * (cj + cjb) * rescale(z[H + j], zb[H + j], f, fb, sigmoid_slope);
                        mz[2 * H + j] = mc * 0.5 * (i + ib) * rescale(z[2 * H + j], zb[2 * H + j], g, gb, tanh_slope);
                        mz[3 * H + j] = mhj * 0.5 * (tc[j] + tcb[j]) *
                                        rescale(z[3 * H + j], zb[3 * H + j], o, ob, sigmoid_slope);
                }

                /* Wᵀ·mz into the layer's input and into the previous hidden state */
                memset(min, 0, sizeof(double) * in);
                memset(hcarry, 0, sizeof(double) * H);
                matmul_wtd_acc(W->w_ih, 4 * H, in, mz, 4 * H, 1, min, in);
                if (s > 0)
                        matmul_wtd_acc(W->w_hh, 4 * H, H, mz, 4 * H, 1, hcarry, H);
        }
}

/* Both windows go through the tape as one batch: x, then x′. */
static int record(Tape *t, const float *x, const float *xb, unsigned T) {
        size_t n = (size_t) T * t->F;
        _cleanup_free_ float *xx = malloc(sizeof(float) * 2 * n);

        if (!xx)
                return -ENOMEM;
        memcpy(xx, x, sizeof(float) * n);
        memcpy(xx + n, xb, sizeof(float) * n);
        return tape_forward_float(t, xx, T, 2, NULL);
}

int attr_deeplift(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                  float *ret_phi, da_attr_result *ret, da_error *err) {
        _cleanup_(tape_freep) Tape *t = NULL;
        const da_arch *A;
        unsigned F, H;
        double sum = 0, out, out_ref;
        int r;

        if (!m || !o || !x || !xb || !ret_phi)
                return da_error_set(err, -EINVAL, "DeepLIFT needs a model, options, an input window and a baseline");
        A = da_model_arch(m);
        F = A->n_features;
        H = A->hidden;
        if (T == 0)
                return da_error_set(err, -EINVAL, "DeepLIFT needs a window of at least one frame");
        if (o->output >= A->outputs)
                return da_error_set(err, -EINVAL, "output %u is out of range: the model has %u output(s)",
                                    o->output, A->outputs);

        r = tape_new(m, T, 2, &t);
        if (r < 0)
                return da_error_set(err, r, "cannot record a forward pass of %u frames", T);
        r = record(t, x, xb, T);
        if (r < 0)
                return r;

        head_multipliers(t, o->output);
        for (unsigned l = A->layers; l-- > 0;) {
                layer_multipliers(t, l, o->deeplift_gradient_fallback, t->d_top, t->d_seq);
                if (l > 0)
                        memcpy(t->d_top, t->d_seq, sizeof(double) * T * H);
        }

        for (size_t k = 0; k < (size_t) T * F; k++) {
                ret_phi[k] = (float) (t->d_seq[k] * ((double) x[k] - (double) xb[k]));
                sum += ret_phi[k];
        }
        out = t->out[(size_t) X * A->outputs + o->output];
        out_ref = t->out[(size_t) REF * A->outputs + o->output];
        if (ret)
                *ret = (da_attr_result) {
                        .output = out,
                        .baseline_output = out_ref,
                        .delta = sum - (out - out_ref),
                };
        return 0;
}
