/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model object: allocation, seeded initialisation, accessors, and the
 * packed weight layout the forward pass streams. */

#include <math.h>

#include "model.h"
#include "util.h"

void *aligned_alloc0(size_t n_floats) {
        void *p;
        size_t bytes = (n_floats ? n_floats : 1) * sizeof(float);

        bytes = (bytes + 63) & ~(size_t) 63;
        if (posix_memalign(&p, 64, bytes) != 0)
                return NULL;
        memset(p, 0, bytes);
        return p;
}

unsigned model_head_in(const da_model *m) {
        return m->arch.dense > 0 ? m->arch.dense : m->arch.hidden;
}

static void packed_done(da_packed *p) {
        free(p->data);
        p->data = NULL;
        packed_reduced_free(p);
}

static void model_unpack(da_model *m) {
        if (m->packed)
                for (unsigned l = 0; l < m->arch.layers; l++) {
                        packed_done(&m->packed[l].ih);
                        packed_done(&m->packed[l].hh);
                        free(m->packed[l].bias);
                }
        m->packed = mfree(m->packed);
        packed_done(&m->gate_abs);
        m->bn_scale = mfree(m->bn_scale);
        m->bn_shift = mfree(m->bn_shift);
}

da_model *da_model_free(da_model *m) {
        if (!m)
                return NULL;

        model_unpack(m);
        if (m->layer)
                for (unsigned l = 0; l < m->arch.layers; l++) {
                        free(m->layer[l].w_ih);
                        free(m->layer[l].w_hh);
                        free(m->layer[l].b_ih);
                        free(m->layer[l].b_hh);
                        free(m->layer[l].s_ih);
                        free(m->layer[l].s_hh);
                }
        free(m->layer);
        free(m->bn_weight);
        free(m->bn_bias);
        free(m->bn_mean);
        free(m->bn_var);
        free(m->fc1_w);
        free(m->fc1_b);
        free(m->out_w);
        free(m->out_b);
        if (m->features)
                for (unsigned f = 0; f < m->arch.n_features; f++)
                        free(m->features[f]);
        free(m->features);
        for (unsigned i = 0; i < m->n_classes; i++)
                free(m->classes[i]);
        free(m->classes);
        free(m->unit);
        free(m->scaler_median);
        free(m->scaler_iqr);
        free(m->reference_scores);
        return mfree(m);
}

static bool arch_valid(const da_arch *a) {
        /* Bounds keep every size computation far from overflow. */
        return a->n_features >= 1 && a->n_features <= 4096 &&
                a->hidden >= 1 && a->hidden <= 8192 &&
                a->layers >= 1 && a->layers <= 16 &&
                (unsigned) a->pooling < _DA_POOL_MAX &&
                a->dense <= 8192 &&
                (unsigned) a->activation < _DA_ACT_MAX &&
                a->outputs >= 1 && a->outputs <= 4096 &&
                a->window >= 1 && a->window <= 100000 &&
                a->hop >= 1;
}

int model_alloc(const da_arch *arch, da_model **ret) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        unsigned H, F;

        if (!arch_valid(arch))
                return -EINVAL;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->arch = *arch;
        m->bn_eps = 1e-5f;
        H = arch->hidden;
        F = arch->n_features;

        m->layer = calloc(arch->layers, sizeof(da_lstm_layer));
        if (!m->layer)
                return -ENOMEM;
        for (unsigned l = 0; l < arch->layers; l++) {
                da_lstm_layer *L = &m->layer[l];

                L->in = l == 0 ? F : H;
                L->w_ih = calloc((size_t) 4 * H * L->in, sizeof(float));
                L->w_hh = calloc((size_t) 4 * H * H, sizeof(float));
                L->b_ih = calloc((size_t) 4 * H, sizeof(float));
                L->b_hh = calloc((size_t) 4 * H, sizeof(float));
                if (!L->w_ih || !L->w_hh || !L->b_ih || !L->b_hh)
                        return -ENOMEM;
        }
        if (arch->batchnorm) {
                m->bn_weight = calloc(H, sizeof(float));
                m->bn_bias = calloc(H, sizeof(float));
                m->bn_mean = calloc(H, sizeof(float));
                m->bn_var = calloc(H, sizeof(float));
                if (!m->bn_weight || !m->bn_bias || !m->bn_mean || !m->bn_var)
                        return -ENOMEM;
                for (unsigned j = 0; j < H; j++)
                        m->bn_weight[j] = m->bn_var[j] = 1.0f;
        }
        if (arch->dense > 0) {
                m->fc1_w = calloc((size_t) arch->dense * H, sizeof(float));
                m->fc1_b = calloc(arch->dense, sizeof(float));
                if (!m->fc1_w || !m->fc1_b)
                        return -ENOMEM;
        }
        m->out_w = calloc((size_t) arch->outputs * model_head_in(m), sizeof(float));
        m->out_b = calloc(arch->outputs, sizeof(float));
        if (!m->out_w || !m->out_b)
                return -ENOMEM;

        *ret = TAKE_PTR(m);
        return 0;
}

static void fill_uniform(float *v, size_t n, double k, uint64_t *state) {
        for (size_t i = 0; i < n; i++)
                v[i] = (float) ((2.0 * (double) da_uniform01(state) - 1.0) * k);
}

/* The fill order is a contract with contrib/make-test-fixtures.py, which
 * draws the same weights in Python for the PyTorch oracle. */
int da_model_new_random(const da_arch *arch, uint64_t seed, da_model **ret) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        uint64_t s = seed;
        unsigned H;
        double k;
        int r;

        r = model_alloc(arch, &m);
        if (r < 0)
                return r;
        H = arch->hidden;
        k = 1.0 / sqrt((double) H);

        for (unsigned l = 0; l < arch->layers; l++) {
                da_lstm_layer *L = &m->layer[l];

                fill_uniform(L->w_ih, (size_t) 4 * H * L->in, k, &s);
                fill_uniform(L->w_hh, (size_t) 4 * H * H, k, &s);
                fill_uniform(L->b_ih, (size_t) 4 * H, k, &s);
                fill_uniform(L->b_hh, (size_t) 4 * H, k, &s);
        }
        if (arch->batchnorm) {
                for (unsigned j = 0; j < H; j++)
                        m->bn_weight[j] = (float) (0.5 + (double) da_uniform01(&s));
                fill_uniform(m->bn_bias, H, 0.5, &s);
                fill_uniform(m->bn_mean, H, 0.5, &s);
                for (unsigned j = 0; j < H; j++)
                        m->bn_var[j] = (float) (0.5 + (double) da_uniform01(&s));
        }
        if (arch->dense > 0) {
                fill_uniform(m->fc1_w, (size_t) arch->dense * H, k, &s);
                fill_uniform(m->fc1_b, arch->dense, k, &s);
                k = 1.0 / sqrt((double) arch->dense);
        }
        fill_uniform(m->out_w, (size_t) arch->outputs * model_head_in(m), k, &s);
        fill_uniform(m->out_b, arch->outputs, k, &s);

        r = model_pack(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

/* Hidden size rounded up so the cell update runs on whole vectors. */
unsigned model_hidden_padded(const da_model *m) {
        return (m->arch.hidden + DA_LANES - 1) / DA_LANES * DA_LANES;
}

void pack_gates_into(const float *w, unsigned H, unsigned Hp, unsigned cols, float *d) {
        /* row by row: the reads stream, the writes (a panel's columns, in L2)
         * are 256 bytes apart; twice as fast as blocks of columns at H=1435 */
        for (unsigned p = 0; p < 4 * Hp / DA_PANEL; p++, d += (size_t) cols * DA_PANEL)
                for (unsigned lane = 0; lane < DA_PANEL; lane++) {
                        unsigned r = p * DA_PANEL + lane, q = r / Hp, j = r % Hp;
                        const float *src = j < H ? w + (size_t) (q * H + j) * cols : NULL;

                        for (unsigned c = 0; c < cols; c++)
                                d[(size_t) c * DA_PANEL + lane] = src ? src[c] : 0;
                }
}

/* Packs rows of the gate matrix w (4H × cols, gate-major) into panels whose
 * row r = q·Hp + j holds gate q of unit j; padded units get zero rows. */
static int pack_gates(const float *w, unsigned H, unsigned Hp, unsigned cols, da_packed *ret) {
        unsigned rows = 4 * Hp;
        float *d;

        d = aligned_alloc0((size_t) rows * cols);
        if (!d)
                return -ENOMEM;
        pack_gates_into(w, H, Hp, cols, d);
        *ret = (da_packed) {
                .rows = rows,
                .rows_padded = rows,
                .cols = cols,
                .data = d,
        };
        return 0;
}

static int pack_gate_abs(const float *w_ih, unsigned H, unsigned F, da_packed *ret) {
        unsigned rows_padded = (F + DA_PANEL - 1) / DA_PANEL * DA_PANEL;
        float *d;

        d = aligned_alloc0((size_t) rows_padded * H);
        if (!d)
                return -ENOMEM;
        for (unsigned f = 0; f < F; f++)
                for (unsigned j = 0; j < H; j++)
                        d[(size_t) (f / DA_PANEL) * H * DA_PANEL + (size_t) j * DA_PANEL + f % DA_PANEL] =
                                fabsf(w_ih[(size_t) (2 * H + j) * F + f]);
        *ret = (da_packed) {
                .rows = F,
                .rows_padded = rows_padded,
                .cols = H,
                .data = d,
        };
        return 0;
}

int model_pack(da_model *m) {
        unsigned H = m->arch.hidden, Hp = model_hidden_padded(m), F = m->arch.n_features;
        int r;

        model_unpack(m);

        m->packed = calloc(m->arch.layers, sizeof(da_packed_layer));
        if (!m->packed)
                return -ENOMEM;
        for (unsigned l = 0; l < m->arch.layers; l++) {
                const da_lstm_layer *L = &m->layer[l];
                da_packed_layer *P = &m->packed[l];

                r = pack_gates(L->w_ih, H, Hp, L->in, &P->ih);
                if (r < 0)
                        goto fail;
                r = pack_gates(L->w_hh, H, Hp, H, &P->hh);
                if (r < 0)
                        goto fail;
                r = packed_reduce(&P->ih, m->precision, L->s_ih, H, Hp);
                if (r < 0)
                        goto fail;
                r = packed_reduce(&P->hh, m->precision, L->s_hh, H, Hp);
                if (r < 0)
                        goto fail;
                P->bias = aligned_alloc0(4 * Hp);
                if (!P->bias) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (unsigned q = 0; q < 4; q++)
                        for (unsigned j = 0; j < H; j++)
                                P->bias[q * Hp + j] = L->b_ih[q * H + j] + L->b_hh[q * H + j];
        }

        /* |W_g| of layer 0 with a row per feature, so the gate trace's
         * Σ_j i[j]·|W_g[j,f]| for all f is one panel GEMV over i. */
        r = pack_gate_abs(m->layer[0].w_ih, H, F, &m->gate_abs);
        if (r < 0)
                goto fail;

        if (m->arch.batchnorm) {
                m->bn_scale = aligned_alloc0(Hp);
                m->bn_shift = aligned_alloc0(Hp);
                if (!m->bn_scale || !m->bn_shift) {
                        r = -ENOMEM;
                        goto fail;
                }
                for (unsigned j = 0; j < H; j++) {
                        double s = (double) m->bn_weight[j] / sqrt((double) m->bn_var[j] + (double) m->bn_eps);

                        m->bn_scale[j] = (float) s;
                        m->bn_shift[j] = (float) ((double) m->bn_bias[j] - (double) m->bn_mean[j] * s);
                }
        }
        return 0;

fail:
        model_unpack(m);
        return r;
}

const da_arch *da_model_arch(const da_model *m) {
        return &m->arch;
}

da_task da_model_task(const da_model *m) {
        return m->task;
}

const char *da_model_unit(const da_model *m) {
        return m->unit;
}

unsigned da_model_n_classes(const da_model *m) {
        return m->n_classes;
}

const char *da_model_class(const da_model *m, unsigned i) {
        return i < m->n_classes ? m->classes[i] : NULL;
}

const char *da_model_feature(const da_model *m, unsigned f) {
        if (!m->features || f >= m->arch.n_features)
                return NULL;
        return m->features[f];
}

const float *da_model_scaler_median(const da_model *m) {
        return m->scaler_median;
}

const float *da_model_scaler_iqr(const da_model *m) {
        return m->scaler_iqr;
}

size_t da_model_n_parameters(const da_model *m) {
        size_t n = 0, H = m->arch.hidden;

        for (unsigned l = 0; l < m->arch.layers; l++)
                n += 4 * H * (m->layer[l].in + H) + 8 * H;
        if (m->arch.batchnorm)
                n += 2 * H;     /* running statistics are buffers, not parameters */
        if (m->arch.dense > 0)
                n += (size_t) m->arch.dense * (H + 1);
        n += (size_t) m->arch.outputs * (model_head_in(m) + 1);
        return n;
}

int da_model_set_features(da_model *m, const char *const *names, unsigned n) {
        char **v;

        if (n != m->arch.n_features)
                return -EINVAL;
        v = calloc(n, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (unsigned f = 0; f < n; f++) {
                v[f] = strdup(names[f]);
                if (!v[f]) {
                        while (f > 0)
                                free(v[--f]);
                        free(v);
                        return -ENOMEM;
                }
        }
        if (m->features)
                for (unsigned f = 0; f < n; f++)
                        free(m->features[f]);
        free(m->features);
        m->features = v;
        return 0;
}

int da_model_set_scaler(da_model *m, const float *median, const float *iqr) {
        unsigned F = m->arch.n_features;
        _cleanup_free_ float *md = NULL, *iq = NULL;

        for (unsigned f = 0; f < F; f++)
                if (!isfinite(median[f]) || !isfinite(iqr[f]) || iqr[f] <= 0)
                        return -EINVAL;
        md = malloc(F * sizeof(float));
        iq = malloc(F * sizeof(float));
        if (!md || !iq)
                return -ENOMEM;
        memcpy(md, median, F * sizeof(float));
        memcpy(iq, iqr, F * sizeof(float));
        free(m->scaler_median);
        free(m->scaler_iqr);
        m->scaler_median = TAKE_PTR(md);
        m->scaler_iqr = TAKE_PTR(iq);
        return 0;
}

int da_model_reference_ranking(const da_model *m, da_reference_ranking *ret) {
        if (!m || !ret)
                return -EINVAL;
        if (!m->reference_scores)
                return -ENODATA;
        *ret = (da_reference_ranking) {
                .location = m->reference_location,
                .aggregation = m->reference_aggregation,
                .windows = m->reference_windows,
                .scores = m->reference_scores,
        };
        return 0;
}

int da_model_set_reference_ranking(da_model *m, const da_reference_ranking *ref) {
        unsigned F = m->arch.n_features;
        double *v;

        if (!ref) {
                m->reference_scores = mfree(m->reference_scores);
                return 0;
        }
        if ((unsigned) ref->location >= _DA_TRACE_MAX || (unsigned) ref->aggregation >= _DA_AGG_MAX || !ref->scores)
                return -EINVAL;
        for (unsigned f = 0; f < F; f++)
                if (!isfinite(ref->scores[f]))
                        return -EINVAL;
        v = malloc(F * sizeof(double));
        if (!v)
                return -ENOMEM;
        memcpy(v, ref->scores, F * sizeof(double));
        free(m->reference_scores);
        m->reference_scores = v;
        m->reference_location = ref->location;
        m->reference_aggregation = ref->aggregation;
        m->reference_windows = ref->windows;
        return 0;
}

static const char *const scaling_names[_DA_SCALING_MAX] = {
        [DA_SCALING_GLOBAL] = "global",
        [DA_SCALING_PER_USER] = "per-user",
};

const char *da_scaling_to_string(da_scaling s) {
        return (unsigned) s < _DA_SCALING_MAX ? scaling_names[s] : NULL;
}

int da_scaling_from_string(const char *s) {
        for (unsigned i = 0; i < _DA_SCALING_MAX; i++)
                if (s && streq(scaling_names[i], s))
                        return (int) i;
        return -EINVAL;
}

da_scaling da_model_scaling(const da_model *m, unsigned *ret_warmup) {
        if (ret_warmup)
                *ret_warmup = m->scaling == DA_SCALING_PER_USER ? m->warmup : 0;
        return m->scaling;
}

int da_model_set_scaling(da_model *m, da_scaling scaling, unsigned warmup) {
        if ((unsigned) scaling >= _DA_SCALING_MAX)
                return -EINVAL;
        if (scaling == DA_SCALING_PER_USER && (warmup < 4 || warmup > DA_USER_SCALER_WARMUP_MAX))
                return -ERANGE;
        m->scaling = scaling;
        m->warmup = scaling == DA_SCALING_PER_USER ? warmup : 0;
        return 0;
}

int da_model_set_task(da_model *m, da_task task, const char *unit) {
        char *u = NULL;

        if ((unsigned) task >= _DA_TASK_MAX)
                return -EINVAL;
        if (unit) {
                u = strdup(unit);
                if (!u)
                        return -ENOMEM;
        }
        free(m->unit);
        m->unit = u;
        m->task = task;
        return 0;
}

static const char *const pooling_names[_DA_POOL_MAX] = {
        [DA_POOL_MAX] = "max",
        [DA_POOL_LAST] = "last",
        [DA_POOL_MEAN] = "mean",
};

static const char *const activation_names[_DA_ACT_MAX] = {
        [DA_ACT_NONE] = "none",
        [DA_ACT_ELU] = "elu",
        [DA_ACT_RELU] = "relu",
        [DA_ACT_TANH] = "tanh",
};

const char *da_pooling_to_string(da_pooling p) {
        return (unsigned) p < _DA_POOL_MAX ? pooling_names[p] : NULL;
}

int da_pooling_from_string(const char *s) {
        for (unsigned i = 0; i < _DA_POOL_MAX; i++)
                if (s && streq(s, pooling_names[i]))
                        return (int) i;
        return -EINVAL;
}

const char *da_activation_to_string(da_activation a) {
        return (unsigned) a < _DA_ACT_MAX ? activation_names[a] : NULL;
}

int da_activation_from_string(const char *s) {
        for (unsigned i = 0; i < _DA_ACT_MAX; i++)
                if (s && streq(s, activation_names[i]))
                        return (int) i;
        return -EINVAL;
}
