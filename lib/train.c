/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The trainer: minibatch backpropagation through time, AdamW, SmoothL1, a
 * cosine learning-rate schedule and early stopping on a validation split;
 * and the scorer, on the float forward the daemon runs. The passes run in
 * float32 (train-path.c, as PyTorch trains); the chunks' gradients are
 * summed and the optimizer steps in double.
 *
 * Determinism: every minibatch is cut into chunks of CHUNK windows whatever
 * the thread count; each chunk's gradient goes to its own buffer and the
 * buffers are summed in chunk order. Threads only decide who computes a
 * chunk, so the same seed gives the same model bit for bit with any number
 * of threads. */

#include <math.h>
#include <pthread.h>

#include "adamw.h"
#include "backprop.h"
#include "dataset.h"
#include "train-path.h"
#include "util.h"

/* Larger chunks stream the weights fewer times per step (at H=1435, 32
 * windows take 5 % less time per epoch than 16); 32 still gives a batch of
 * 64 to two threads. */
#define CHUNK 32u

void da_train_options_init(da_train_options *o) {
        *o = (da_train_options) {
                .hidden = 64,
                .layers = 1,
                .dense = 32,
                .batchnorm = true,
                .pooling = DA_POOL_MAX,
                .activation = DA_ACT_ELU,
                .epochs = 30,
                .batch = 64,
                .lr = 1e-3,
                .weight_decay = 1e-2,
                .beta = 1.0,
                .patience = 5,
                .val_fraction = 0.1,
                .threads = 0,
                .seed = 0,
        };
}

/* ---- the model's parameters as one vector, in param_layout()'s order ---- */

/* The model's tensors where the vector holds them, in ascending order. */
#define MAX_TENSORS (4 * 16 + 6)
static unsigned param_tensors(da_model *m, AdamWOut ret[static MAX_TENSORS]) {
        ParamLayout P;
        unsigned n = 0, H = m->arch.hidden;

        param_layout(m, &P);
        for (unsigned l = 0; l < m->arch.layers; l++) {
                ret[n++] = (AdamWOut) { P.w_ih[l], (size_t) 4 * H * m->layer[l].in, m->layer[l].w_ih };
                ret[n++] = (AdamWOut) { P.w_hh[l], (size_t) 4 * H * H, m->layer[l].w_hh };
                ret[n++] = (AdamWOut) { P.b_ih[l], (size_t) 4 * H, m->layer[l].b_ih };
                ret[n++] = (AdamWOut) { P.b_hh[l], (size_t) 4 * H, m->layer[l].b_hh };
        }
        if (m->arch.batchnorm) {
                ret[n++] = (AdamWOut) { P.bn_weight, H, m->bn_weight };
                ret[n++] = (AdamWOut) { P.bn_bias, H, m->bn_bias };
        }
        if (m->arch.dense > 0) {
                ret[n++] = (AdamWOut) { P.fc1_weight, (size_t) m->arch.dense * H, m->fc1_w };
                ret[n++] = (AdamWOut) { P.fc1_bias, m->arch.dense, m->fc1_b };
        }
        ret[n++] = (AdamWOut) { P.out_weight, (size_t) m->arch.outputs * model_head_in(m), m->out_w };
        ret[n++] = (AdamWOut) { P.out_bias, m->arch.outputs, m->out_b };
        return n;
}

static void params_copy(da_model *m, double *v, bool to_model) {
        AdamWOut t[MAX_TENSORS];
        unsigned n = param_tensors(m, t);

        for (unsigned k = 0; k < n; k++)
                for (size_t i = 0; i < t[k].n; i++) {
                        if (to_model)
                                t[k].to[i] = (float) v[t[k].first + i];
                        else
                                v[t[k].first + i] = t[k].to[i];
                }
}

/* ---- the training set: scaled rows of the chosen features ---- */

typedef struct win_ref {
        unsigned subject;       /* index into Trainer.rows */
        size_t w;               /* window within that subject */
} win_ref;

typedef struct Trainer {
        const da_dataset *ds;
        const da_train_options *opt;
        unsigned F, T, n_sub;
        unsigned n_fit;         /* the first n_fit of sub are trained on; the rest only validate */
        const unsigned *sub;    /* data set subject of each training (then validation) subject */
        float **rows;           /* per training subject: n_rows × F, scaled */
        float *median, *iqr;    /* the scaler fit on the training subjects, F each */
        size_t *first;          /* per training subject: the first row a window may start at */
        win_ref *train, *val;
        size_t n_train, n_val;

        da_model *m;
        size_t n_params;
        unsigned threads;
        TrainWeights *weights;  /* packed once per step, shared by the threads */
        TrainPath **path;       /* one per thread */
        float **xbuf;           /* one per thread: CHUNK × T × F */
        float **grad;           /* one per chunk of a minibatch */
        double *loss;           /* one per chunk */
        double *pred;           /* validation outputs, n_val */

        /* the job the workers run */
        const win_ref *job_refs;
        size_t job_n;
        unsigned job_chunks;
        bool job_backward;
        double job_scale;       /* 1 / minibatch size */
        int job_error[64];
} Trainer;

static const float *window_x(const Trainer *tr, const win_ref *ref) {
        const ds_subject *s = &tr->ds->subject[tr->sub[ref->subject]];

        return tr->rows[ref->subject] + (s->end[ref->w] + 1 - tr->T) * tr->F;
}

static float window_target(const Trainer *tr, const win_ref *ref) {
        return tr->ds->subject[tr->sub[ref->subject]].target[ref->w];
}

/* SmoothL1 with β (PyTorch): ½d²/β below β, |d| − ½β above; returns the
 * loss, writes its derivative. β = 0 is the L1 loss. */
static double smooth_l1(double d, double beta, double *ret_grad) {
        double a = fabs(d);

        if (a < beta) {
                *ret_grad = d / beta;
                return 0.5 * d * d / beta;
        }
        *ret_grad = d > 0 ? 1 : d < 0 ? -1 : 0;
        return a - 0.5 * beta;
}

static int run_chunk(Trainer *tr, unsigned thread, unsigned chunk) {
        size_t first = (size_t) chunk * CHUNK, n = MIN((size_t) CHUNK, tr->job_n - first);
        TrainPath *t = tr->path[thread];
        float *x = tr->xbuf[thread];
        double dout[CHUNK], out[CHUNK], loss = 0;
        size_t win = (size_t) tr->T * tr->F;
        int r;

        for (size_t b = 0; b < n; b++)
                memcpy(x + b * win, window_x(tr, &tr->job_refs[first + b]), win * sizeof(float));
        r = train_path_forward(t, x, (unsigned) n, out);
        if (r < 0)
                return r;
        if (!tr->job_backward) {
                memcpy(tr->pred + first, out, n * sizeof(double));
                return 0;
        }

        for (size_t b = 0; b < n; b++) {
                double g;

                loss += smooth_l1(out[b] - window_target(tr, &tr->job_refs[first + b]), tr->opt->beta, &g);
                dout[b] = g * tr->job_scale;
        }
        tr->loss[chunk] = loss;
        return train_path_backward(t, dout, tr->grad[chunk]);
}

typedef struct worker_arg {
        Trainer *tr;
        unsigned thread;
} worker_arg;

static void *worker(void *p) {
        worker_arg *a = p;
        Trainer *tr = a->tr;

        for (unsigned c = a->thread; c < tr->job_chunks; c += tr->threads) {
                int r = run_chunk(tr, a->thread, c);

                if (r < 0) {
                        tr->job_error[a->thread] = r;
                        break;
                }
        }
        return NULL;
}

/* Runs the job over its chunks on all threads; the calling thread is one. */
static int run_job(Trainer *tr, const win_ref *refs, size_t n, bool backward) {
        pthread_t tid[ELEMENTSOF(tr->job_error)];
        worker_arg args[ELEMENTSOF(tr->job_error)] = {};
        bool started[ELEMENTSOF(tr->job_error)] = {};

        tr->job_refs = refs;
        tr->job_n = n;
        tr->job_chunks = (unsigned) ((n + CHUNK - 1) / CHUNK);
        tr->job_backward = backward;
        tr->job_scale = 1.0 / (double) n;
        for (unsigned k = 0; k < tr->threads; k++) {
                tr->job_error[k] = 0;
                args[k] = (worker_arg) { tr, k };
        }

        for (unsigned k = 1; k < MIN(tr->threads, tr->job_chunks); k++)
                started[k] = pthread_create(&tid[k], NULL, worker, &args[k]) == 0;
        worker(&args[0]);
        /* a thread that could not start has its chunks done here, on its own tape */
        for (unsigned k = 1; k < MIN(tr->threads, tr->job_chunks); k++) {
                if (started[k])
                        pthread_join(tid[k], NULL);
                else
                        worker(&args[k]);
        }

        for (unsigned k = 0; k < tr->threads; k++)
                if (tr->job_error[k] < 0)
                        return tr->job_error[k];
        return 0;
}

static void trainer_done(Trainer *tr) {
        if (tr->rows)
                for (unsigned s = 0; s < tr->n_sub; s++)
                        free(tr->rows[s]);
        free(tr->rows);
        free(tr->median);
        free(tr->iqr);
        free(tr->first);
        free(tr->train);
        free(tr->val);
        if (tr->path)
                for (unsigned k = 0; k < tr->threads; k++)
                        train_path_free(tr->path[k]);
        free(tr->path);
        train_weights_free(tr->weights);
        if (tr->xbuf)
                for (unsigned k = 0; k < tr->threads; k++)
                        free(tr->xbuf[k]);
        free(tr->xbuf);
        if (tr->grad)
                for (unsigned c = 0; c < (tr->opt->batch + CHUNK - 1) / CHUNK; c++)
                        free(tr->grad[c]);
        free(tr->grad);
        free(tr->loss);
        free(tr->pred);
        da_model_free(tr->m);
}

/* Validation windows come in VAL_BLOCKS blocks spread evenly over each
 * training subject's recording, val_fraction of its windows in all, so they
 * cover the whole range of targets a calibration sweep walks through (a
 * tail would hold only the last depths). Training windows that share a
 * frame with a validation window are left out: no validation frame is ever
 * trained on. */
#define VAL_BLOCKS 5u

/* With val_subjects = V, the training subjects at ⌊(i + ½)·n/V⌋, i < V,
 * are held out whole for validation: early stopping then measures what a
 * new user sees, not a neighbouring block of a known one. */
static bool is_val_subject(const Trainer *tr, unsigned s) {
        unsigned V = tr->opt->val_subjects;

        for (unsigned i = 0; i < V; i++)
                if ((unsigned) (((double) i + 0.5) * tr->n_fit / V) == s)
                        return true;
        return false;
}

static int split_windows(Trainer *tr) {
        _cleanup_free_ uint8_t *role = NULL;    /* 0 train, 1 validation, 2 left out */
        size_t total = 0, most = 0;

        for (unsigned s = 0; s < tr->n_sub; s++) {
                total += tr->ds->subject[tr->sub[s]].n_windows;
                most = MAX(most, tr->ds->subject[tr->sub[s]].n_windows);
        }
        tr->train = calloc(total ? total : 1, sizeof(win_ref));
        tr->val = calloc(total ? total : 1, sizeof(win_ref));
        role = malloc(most ? most : 1);
        if (!tr->train || !tr->val || !role)
                return -ENOMEM;

        for (unsigned s = 0; s < tr->n_sub; s++) {
                const ds_subject *sj = &tr->ds->subject[tr->sub[s]];
                size_t n = sj->n_windows, n_val = 0, block;

                if (s >= tr->n_fit) {
                        for (size_t w = 0; w < n; w++)
                                tr->val[tr->n_val++] = (win_ref) { s, w };
                        continue;
                }
                if (tr->opt->val_on_subjects || tr->opt->val_subjects)
                        n_val = 0;
                else if (tr->opt->val_fraction > 0)
                        n_val = MIN((size_t) ceil(tr->opt->val_fraction * (double) n), n);
                block = (n_val + VAL_BLOCKS - 1) / VAL_BLOCKS;
                memset(role, 0, n);
                for (size_t done = 0, b = 0; done < n_val; b++) {
                        size_t len = MIN(block, n_val - done);
                        size_t first = (size_t) (((double) b + 0.5) / VAL_BLOCKS * (double) n);

                        first = first >= len / 2 ? first - len / 2 : 0;
                        first = MIN(first, n - len);
                        memset(role + first, 1, len);
                        done += len;
                }
                if (tr->opt->val_subjects > 0 && is_val_subject(tr, s))
                        memset(role, 1, n);
                /* ends grow by at least one row per window, so a window sharing
                 * a frame with window w is fewer than T windows away */
                for (size_t w = 0; w < n; w++) {
                        if (role[w] != 0)
                                continue;
                        for (size_t v = w >= tr->T ? w - tr->T + 1 : 0; v < MIN(n, w + tr->T); v++)
                                if (role[v] == 1 && (sj->end[v] > sj->end[w] ? sj->end[v] - sj->end[w] :
                                                                              sj->end[w] - sj->end[v]) < tr->T) {
                                        role[w] = 2;
                                        break;
                                }
                }
                /* windows a stream would not evaluate (still warming up) train nothing */
                for (size_t w = 0; w < n; w++)
                        if (!ds_window_usable(tr->ds, sj, w, tr->first[s]))
                                role[w] = 2;
                for (size_t w = 0; w < n; w++) {
                        if (role[w] == 1)
                                tr->val[tr->n_val++] = (win_ref) { s, w };
                        else if (role[w] == 0)
                                tr->train[tr->n_train++] = (win_ref) { s, w };
                }
        }
        return 0;
}

/* Fits the scaler on the training subjects' window-final frames (the
 * frames that carry an in-range target) and scales every row as the stream
 * will: with that scaler, or per user with each subject's own statistics
 * built causally, row by row. */
static int scale_rows(Trainer *tr, const unsigned *cols) {
        _cleanup_free_ float *fit = NULL;
        size_t n = 0, k = 0;
        unsigned F = tr->F, Fd = tr->ds->F;
        int r;

        for (unsigned s = 0; s < tr->n_fit; s++)
                n += tr->ds->subject[tr->sub[s]].n_windows;
        fit = malloc((n ? n : 1) * F * sizeof(float));
        tr->rows = calloc(tr->n_sub, sizeof(float *));
        tr->median = calloc(F, sizeof(float));
        tr->iqr = calloc(F, sizeof(float));
        tr->first = calloc(tr->n_sub, sizeof(size_t));
        if (!fit || !tr->rows || !tr->median || !tr->iqr || !tr->first)
                return -ENOMEM;

        for (unsigned s = 0; s < tr->n_sub; s++) {
                const ds_subject *sj = &tr->ds->subject[tr->sub[s]];

                tr->rows[s] = malloc((sj->n_rows ? sj->n_rows : 1) * F * sizeof(float));
                if (!tr->rows[s])
                        return -ENOMEM;
                for (size_t i = 0; i < sj->n_rows; i++)
                        for (unsigned f = 0; f < F; f++)
                                tr->rows[s][i * F + f] = sj->rows[i * Fd + cols[f]];
                for (size_t w = 0; s < tr->n_fit && w < sj->n_windows; w++, k++)
                        memcpy(fit + k * F, tr->rows[s] + sj->end[w] * F, F * sizeof(float));
        }
        r = da_scaler_fit(fit, n, F, tr->median, tr->iqr);
        if (r < 0)
                return r;
        for (unsigned s = 0; s < tr->n_sub; s++) {
                r = stream_scale_rows(tr->opt->scaling, tr->opt->warmup, tr->median, tr->iqr, F, tr->rows[s],
                                      tr->ds->subject[tr->sub[s]].n_rows, &tr->first[s]);
                if (r < 0)
                        return r;
        }
        return 0;
}

static void shuffle(win_ref *v, size_t n, uint64_t *state) {
        for (size_t i = n; i > 1; i--) {
                size_t j = (size_t) (da_splitmix64(state) % i);
                win_ref t = v[i - 1];

                v[i - 1] = v[j];
                v[j] = t;
        }
}

static int validate(Trainer *tr, double *ret_mae) {
        double sum = 0;
        int r;

        r = run_job(tr, tr->val, tr->n_val, false);
        if (r < 0)
                return r;
        for (size_t i = 0; i < tr->n_val; i++)
                sum += fabs(tr->pred[i] - window_target(tr, &tr->val[i]));
        *ret_mae = sum / (double) tr->n_val;
        return 0;
}

static int check_options(const da_dataset *ds, const unsigned *subjects, unsigned n_subjects,
                         const da_train_options *o, da_error *err) {
        if (!ds || !subjects || n_subjects == 0)
                return da_error_set(err, -EINVAL, "no training subjects given");
        for (unsigned i = 0; i < n_subjects; i++)
                if (subjects[i] >= ds->n_subjects)
                        return da_error_set(err, -EINVAL, "subject %u is not in the data set", subjects[i]);
        if (o->hidden == 0 || o->hidden > 4096 || o->layers == 0 || o->layers > 16 || o->dense > 1024)
                return da_error_set(err, -EINVAL, "hidden size, layers or dense width out of range");
        if (o->epochs == 0 || o->batch == 0 || o->batch > 4096)
                return da_error_set(err, -EINVAL, "epochs and batch must be positive (batch at most 4096)");
        if (!(o->lr > 0) || !(o->weight_decay >= 0) || !(o->beta >= 0) || !(o->val_fraction >= 0) ||
            !(o->val_fraction < 1))
                return da_error_set(err, -EINVAL, "learning rate, weight decay, β or validation fraction out of range");
        if (o->precision != DA_PRECISION_F32 && o->precision != DA_PRECISION_BF16)
                return da_error_set(err, -EOPNOTSUPP, "training runs at f32 or bf16 precision, not %s",
                                    da_precision_to_string(o->precision) ?: "an unknown one");
        if ((unsigned) o->pooling >= _DA_POOL_MAX || (unsigned) o->activation >= _DA_ACT_MAX)
                return da_error_set(err, -EINVAL, "unknown pooling or activation");
        if (o->val_subjects > 0 && o->val_subjects >= n_subjects)
                return da_error_set(err, -EINVAL, "%u validation subjects leave none of the %u to train on",
                                    o->val_subjects, n_subjects);
        if ((unsigned) o->scaling >= _DA_SCALING_MAX ||
            (o->scaling == DA_SCALING_PER_USER && (o->warmup < 4 || o->warmup > DA_USER_SCALER_WARMUP_MAX)))
                return da_error_set(err, -EINVAL, "per-user scaling needs a warm-up of 4..%u frames",
                                    DA_USER_SCALER_WARMUP_MAX);
        if (o->features) {
                if (o->n_features == 0 || o->n_features > ds->F)
                        return da_error_set(err, -EINVAL, "the feature subset must name 1 to %u features", ds->F);
                for (unsigned f = 0; f < o->n_features; f++)
                        if (o->features[f] >= ds->F)
                                return da_error_set(err, -EINVAL, "feature %u is not in the data set",
                                                    o->features[f]);
        }
        return 0;
}

static int make_model(Trainer *tr, da_error *err) {
        const da_train_options *o = tr->opt;
        da_arch arch = {
                .n_features = tr->F,
                .hidden = o->hidden,
                .layers = o->layers,
                .batchnorm = o->batchnorm,
                .pooling = o->pooling,
                .dense = o->dense,
                .activation = o->activation,
                .outputs = 1,
                .window = tr->T,
                .hop = tr->ds->hop,
        };
        double mean = 0;
        int r;

        r = da_model_new_random(&arch, o->seed, &tr->m);
        if (r < 0)
                return da_error_set(err, r, "cannot create the model: %s", strerror(-r));
        /* Batchnorm trains as its affine part (PyTorch's initial 1, 0) over
         * running statistics left at the identity: the tape runs it in eval
         * mode, which has no batch statistics to learn from. */
        if (arch.batchnorm)
                for (unsigned j = 0; j < arch.hidden; j++) {
                        tr->m->bn_weight[j] = 1;
                        tr->m->bn_bias[j] = 0;
                        tr->m->bn_mean[j] = 0;
                        tr->m->bn_var[j] = 1;
                }
        tr->n_params = da_model_n_parameters(tr->m);
        if (o->init) {
                _cleanup_free_ double *v = NULL;
                const da_arch *ia = da_model_arch(o->init);

                if (ia->n_features != arch.n_features || ia->hidden != arch.hidden || ia->layers != arch.layers ||
                    ia->batchnorm != arch.batchnorm || ia->dense != arch.dense || ia->outputs != arch.outputs ||
                    da_model_n_parameters(o->init) != tr->n_params)
                        return da_error_set(err, -EINVAL, "the initial model's architecture differs");
                v = malloc(tr->n_params * sizeof(double));
                if (!v)
                        return -ENOMEM;
                /* params_copy() only reads the model it copies from */
                params_copy((da_model *) o->init, v, false);
                params_copy(tr->m, v, true);
                return 0;
        }
        /* Starting at the mean target saves the first epochs from learning an offset. */
        for (size_t i = 0; i < tr->n_train; i++)
                mean += window_target(tr, &tr->train[i]);
        tr->m->out_b[0] = (float) (mean / (double) tr->n_train);
        return 0;
}

static int finish_model(Trainer *tr, double *params, da_model **ret, da_error *err) {
        _cleanup_free_ const char **names = NULL;
        const unsigned *cols = tr->opt->features;
        int r;

        names = calloc(tr->F, sizeof(char *));
        if (!names)
                return -ENOMEM;
        for (unsigned f = 0; f < tr->F; f++)
                names[f] = tr->ds->names[cols ? cols[f] : f];

        params_copy(tr->m, params, true);
        r = da_model_set_features(tr->m, names, tr->F);
        if (r >= 0)
                r = da_model_set_scaler(tr->m, tr->median, tr->iqr);
        if (r >= 0)
                r = da_model_set_scaling(tr->m, tr->opt->scaling, tr->opt->warmup);
        if (r >= 0)
                r = da_model_set_task(tr->m, DA_TASK_REGRESSION, "m");
        if (r >= 0)
                r = model_pack(tr->m);
        if (r < 0)
                return da_error_set(err, r, "cannot finish the model: %s", strerror(-r));
        *ret = TAKE_PTR(tr->m);
        return 0;
}

int da_train(const da_dataset *ds, const unsigned *subjects, unsigned n_subjects, const da_train_options *opt,
             da_model **ret, da_error *err) {
        _cleanup_free_ unsigned *cols = NULL, *all = NULL;
        _cleanup_free_ double *params = NULL, *best = NULL;
        da_train_options defaults;
        AdamW *adam = NULL;
        AdamWOut tensors[MAX_TENSORS];
        unsigned n_tensors;
        Trainer tr = {};
        uint64_t rng;
        size_t steps_per_epoch, total_steps, step = 0;
        double best_mae = INFINITY;
        unsigned n_chunks, bad = 0;
        int r;

        if (!opt) {
                da_train_options_init(&defaults);
                opt = &defaults;
        }
        if (!ret)
                return da_error_set(err, -EINVAL, "invalid argument");
        r = check_options(ds, subjects, n_subjects, opt, err);
        if (r < 0)
                return r;

        if (opt->val_on_subjects && opt->n_val_on_subjects > 0) {
                r = check_options(ds, opt->val_on_subjects, opt->n_val_on_subjects, opt, err);
                if (r < 0)
                        return r;
                all = malloc((size_t) (n_subjects + opt->n_val_on_subjects) * sizeof(unsigned));
                if (!all)
                        return -ENOMEM;
                memcpy(all, subjects, n_subjects * sizeof(unsigned));
                memcpy(all + n_subjects, opt->val_on_subjects, opt->n_val_on_subjects * sizeof(unsigned));
        }
        tr.ds = ds;
        tr.opt = opt;
        tr.sub = all ? all : subjects;
        tr.n_fit = n_subjects;
        tr.n_sub = n_subjects + (all ? opt->n_val_on_subjects : 0);
        tr.T = ds->T;
        tr.F = opt->features ? opt->n_features : ds->F;
        tr.threads = opt->threads > 0 ? opt->threads : (unsigned) MAX(sysconf(_SC_NPROCESSORS_ONLN), 1L);
        tr.threads = MIN(tr.threads, (unsigned) ELEMENTSOF(tr.job_error));
        rng = opt->seed ^ UINT64_C(0x5DEECE66D);

        cols = calloc(tr.F, sizeof(unsigned));
        if (!cols)
                return -ENOMEM;
        for (unsigned f = 0; f < tr.F; f++)
                cols[f] = opt->features ? opt->features[f] : f;

        r = scale_rows(&tr, cols);
        if (r < 0) {
                r = da_error_set(err, r, "cannot fit the scaler on the training subjects: %s", strerror(-r));
                goto finish;
        }
        r = split_windows(&tr);
        if (r < 0)
                goto finish;
        if (tr.n_train == 0) {
                r = da_error_set(err, -ENODATA, "the training subjects hold no training window");
                goto finish;
        }
        r = make_model(&tr, err);
        if (r < 0)
                goto finish;

        n_chunks = (opt->batch + CHUNK - 1) / CHUNK;
        tr.path = calloc(tr.threads, sizeof(TrainPath *));
        tr.xbuf = calloc(tr.threads, sizeof(float *));
        tr.grad = calloc(n_chunks, sizeof(float *));
        tr.loss = calloc(n_chunks, sizeof(double));
        tr.pred = calloc(tr.n_val ? tr.n_val : 1, sizeof(double));
        params = calloc(tr.n_params, sizeof(double));
        best = calloc(tr.n_params, sizeof(double));
        if (!tr.path || !tr.xbuf || !tr.grad || !tr.loss || !tr.pred || !params || !best) {
                r = -ENOMEM;
                goto finish;
        }
        r = train_weights_new(tr.m, opt->precision, &tr.weights);
        if (r < 0)
                goto finish;
        for (unsigned k = 0; k < tr.threads; k++) {
                r = train_path_new(tr.weights, tr.T, CHUNK, &tr.path[k]);
                if (r < 0)
                        goto finish;
                tr.xbuf[k] = malloc((size_t) CHUNK * tr.T * tr.F * sizeof(float));
                if (!tr.xbuf[k]) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        for (unsigned c = 0; c < n_chunks; c++) {
                tr.grad[c] = malloc(tr.n_params * sizeof(float));
                if (!tr.grad[c]) {
                        r = -ENOMEM;
                        goto finish;
                }
        }
        r = adamw_new(tr.n_params, opt->weight_decay, &adam);
        if (r < 0)
                goto finish;

        params_copy(tr.m, params, false);
        n_tensors = param_tensors(tr.m, tensors);
        memcpy(best, params, tr.n_params * sizeof(double));
        steps_per_epoch = (tr.n_train + opt->batch - 1) / opt->batch;
        total_steps = steps_per_epoch * opt->epochs;

        for (unsigned epoch = 0; epoch < opt->epochs; epoch++) {
                double loss = 0, val_mae = NAN;

                shuffle(tr.train, tr.n_train, &rng);
                for (size_t first = 0; first < tr.n_train; first += opt->batch, step++) {
                        size_t n = MIN((size_t) opt->batch, tr.n_train - first);
                        unsigned chunks = (unsigned) ((n + CHUNK - 1) / CHUNK);
                        /* cosine annealing from lr towards 0 over all steps */
                        double lr = opt->lr * 0.5 * (1 + cos(M_PI * (double) step / (double) total_steps));

                        r = run_job(&tr, tr.train + first, n, true);
                        if (r < 0) {
                                r = da_error_set(err, r, "backpropagation failed: %s", strerror(-r));
                                goto finish;
                        }
                        for (unsigned c = 0; c < chunks; c++)
                                loss += tr.loss[c];
                        /* the step writes the model's float weights as it goes */
                        adamw_step(adam, params, (const float *const *) tr.grad, chunks, lr, tensors,
                                   n_tensors);
                        train_weights_update(tr.weights);
                }
                loss /= (double) tr.n_train;

                if (tr.n_val > 0) {
                        r = validate(&tr, &val_mae);
                        if (r < 0)
                                goto finish;
                        if (!isfinite(val_mae)) {
                                r = da_error_set(err, -ERANGE, "training diverged in epoch %u (validation error "
                                                 "is not finite); try a lower learning rate", epoch + 1);
                                goto finish;
                        }
                        if (val_mae < best_mae) {
                                best_mae = val_mae;
                                memcpy(best, params, tr.n_params * sizeof(double));
                                bad = 0;
                        } else
                                bad++;
                }

                if (opt->progress)
                        opt->progress(epoch + 1, opt->epochs, loss, val_mae, opt->userdata);
                if (opt->patience > 0 && bad >= opt->patience)
                        break;
        }

        /* without validation the last epoch's weights are the result */
        r = finish_model(&tr, tr.n_val > 0 ? best : params, ret, err);
finish:
        adamw_free(adam);
        trainer_done(&tr);
        return r;
}

/* ---- scoring ---------------------------------------------------------- */

/* Predictions for every usable window of subject si, in window order,
 * through the stream's scaling; *ret_n windows, targets beside them. */
int da_predict_subject(const da_model *m, const da_dataset *ds, unsigned si, float **ret_pred,
                       float **ret_target, size_t *ret_n, da_error *err) {
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        _cleanup_free_ float *rows = NULL, *pred = NULL, *target = NULL;
        const ds_subject *s;
        const da_arch *a;
        size_t first, n = 0;
        int r;

        if (!m || !ds || !ret_pred || !ret_target || !ret_n)
                return da_error_set(err, -EINVAL, "invalid argument");
        a = da_model_arch(m);
        if (a->outputs != 1 || da_model_task(m) != DA_TASK_REGRESSION)
                return da_error_set(err, -EINVAL, "the model is not a single-output regression model");
        if (a->window != ds->T)
                return da_error_set(err, -EINVAL, "the model's window is %u frames, the data set's %u",
                                    a->window, ds->T);
        if (si >= ds->n_subjects)
                return da_error_set(err, -EINVAL, "subject %u is not in the data set", si);
        s = &ds->subject[si];
        r = ds_scaled_rows(m, ds, s, &rows, &first, err);
        if (r < 0)
                return r;
        r = da_ctx_new(m, a->window, &ctx);
        if (r < 0)
                return r;
        pred = malloc((s->n_windows ? s->n_windows : 1) * sizeof(float));
        target = malloc((s->n_windows ? s->n_windows : 1) * sizeof(float));
        if (!pred || !target)
                return -ENOMEM;
        for (size_t w = 0; w < s->n_windows; w++) {
                if (!ds_window_usable(ds, s, w, first))
                        continue;
                r = da_forward(ctx, rows + (s->end[w] + 1 - ds->T) * a->n_features, a->window, &pred[n]);
                if (r < 0)
                        return r;
                target[n++] = s->target[w];
        }
        *ret_pred = TAKE_PTR(pred);
        *ret_target = TAKE_PTR(target);
        *ret_n = n;
        return 0;
}

int da_score(const da_model *m, const da_dataset *ds, const unsigned *subjects, unsigned n_subjects,
             double *ret_mae, size_t *ret_windows, da_error *err) {
        unsigned n = subjects ? n_subjects : ds ? ds->n_subjects : 0;
        double sum = 0;
        size_t windows = 0;
        int r;

        if (!m || !ds)
                return da_error_set(err, -EINVAL, "invalid argument");
        for (unsigned i = 0; i < n; i++) {
                _cleanup_free_ float *pred = NULL, *target = NULL;
                size_t k;

                r = da_predict_subject(m, ds, subjects ? subjects[i] : i, &pred, &target, &k, err);
                if (r < 0)
                        return r;
                for (size_t w = 0; w < k; w++)
                        sum += fabs((double) pred[w] - (double) target[w]);
                windows += k;
        }
        if (windows == 0)
                return da_error_set(err, -ENODATA, "the subjects scored hold no window");

        *ret_mae = sum / (double) windows;
        if (ret_windows)
                *ret_windows = windows;
        return 0;
}
