/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The model file: safetensors (8-byte little-endian header length, a JSON
 * header, raw tensors) with PyTorch's tensor names and a "deepactif" JSON
 * document in __metadata__. Loading validates everything before it hands out
 * a model, so a bad file never yields a half-loaded one. */

#include <endian.h>
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "model.h"
#include "util.h"

#define HEADER_MAX (64u * 1024 * 1024)

static inline json_object *json_object_put_null(json_object *o) {
        json_object_put(o);
        return NULL;
}
DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put_null);

/* ---- metadata ---------------------------------------------------------- */

static int get_field(json_object *o, const char *path, const char *key, json_type type, json_object **ret,
                     da_error *err) {
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v) || !v)
                return da_error_set(err, -EBADMSG, "metadata field '%s%s' is missing", path, key);
        if (!json_object_is_type(v, type) &&
            !(type == json_type_double && json_object_is_type(v, json_type_int)))
                return da_error_set(err, -EBADMSG, "metadata field '%s%s' must be a %s", path, key,
                                    json_type_to_name(type));
        *ret = v;
        return 0;
}

static int get_uint(json_object *o, const char *path, const char *key, unsigned lo, unsigned hi,
                    unsigned *ret, da_error *err) {
        json_object *v;
        int64_t x;
        int r;

        r = get_field(o, path, key, json_type_int, &v, err);
        if (r < 0)
                return r;
        x = json_object_get_int64(v);
        if (x < lo || x > hi)
                return da_error_set(err, -EBADMSG, "metadata field '%s%s' is %" PRIi64 ", must be in %u..%u",
                                    path, key, x, lo, hi);
        *ret = (unsigned) x;
        return 0;
}

static int get_enum(json_object *o, const char *path, const char *key, int (*from_string)(const char *),
                    int *ret, da_error *err) {
        json_object *v;
        int r;

        r = get_field(o, path, key, json_type_string, &v, err);
        if (r < 0)
                return r;
        r = from_string(json_object_get_string(v));
        if (r < 0)
                return da_error_set(err, -EBADMSG, "metadata field '%s%s' has unknown value '%s'", path, key,
                                    json_object_get_string(v));
        *ret = r;
        return 0;
}

static int get_float_array(json_object *o, const char *path, const char *key, unsigned n, bool positive,
                           float **ret, da_error *err) {
        _cleanup_free_ float *v = NULL;
        json_object *a;
        int r;

        r = get_field(o, path, key, json_type_array, &a, err);
        if (r < 0)
                return r;
        if (json_object_array_length(a) != n)
                return da_error_set(err, -EBADMSG, "metadata field '%s%s' has %zu entries, the model has %u features",
                                    path, key, json_object_array_length(a), n);
        v = malloc(n * sizeof(float));
        if (!v)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);

                if (!json_object_is_type(e, json_type_double) && !json_object_is_type(e, json_type_int))
                        return da_error_set(err, -EBADMSG, "metadata field '%s%s[%u]' is not a number", path, key, i);
                v[i] = (float) json_object_get_double(e);
                if (!isfinite(v[i]) || (positive && !(v[i] > 0)))
                        return da_error_set(err, -EBADMSG, "metadata field '%s%s[%u]' must be a finite%s number",
                                            path, key, i, positive ? " positive" : "");
        }
        *ret = TAKE_PTR(v);
        return 0;
}

static int parse_string_list(json_object *a, const char *what, unsigned n, char ***ret, da_error *err) {
        char **v;

        v = calloc(n ? n : 1, sizeof(char *));
        if (!v)
                return -ENOMEM;
        for (unsigned i = 0; i < n; i++) {
                json_object *e = json_object_array_get_idx(a, i);
                const char *s;

                if (!json_object_is_type(e, json_type_string) || !*(s = json_object_get_string(e))) {
                        da_error_set(err, -EBADMSG, "metadata field '%s[%u]' must be a non-empty string", what, i);
                        goto fail;
                }
                for (unsigned k = 0; k < i; k++)
                        if (streq(v[k], s)) {
                                da_error_set(err, -EBADMSG, "metadata field '%s' names '%s' twice", what, s);
                                goto fail;
                        }
                v[i] = strdup(s);
                if (!v[i])
                        goto fail;
        }
        *ret = v;
        return 0;
fail:
        for (unsigned i = 0; i < n; i++)
                free(v[i]);
        free(v);
        return err && err->message[0] ? -EBADMSG : -ENOMEM;
}

static int parse_arch(json_object *doc, da_arch *ret, float *ret_eps, da_error *err) {
        json_object *a, *w, *v;
        da_arch arch = {};
        int r, e;
        float eps = 1e-5f;

        r = get_field(doc, "", "architecture", json_type_object, &a, err);
        if (r < 0)
                return r;
        if ((r = get_uint(a, "architecture.", "input_size", 1, 4096, &arch.n_features, err)) < 0 ||
            (r = get_uint(a, "architecture.", "hidden_size", 1, 8192, &arch.hidden, err)) < 0 ||
            (r = get_uint(a, "architecture.", "num_layers", 1, 16, &arch.layers, err)) < 0 ||
            (r = get_uint(a, "architecture.", "dense", 0, 8192, &arch.dense, err)) < 0 ||
            (r = get_uint(a, "architecture.", "outputs", 1, 4096, &arch.outputs, err)) < 0)
                return r;
        r = get_field(a, "architecture.", "batchnorm", json_type_boolean, &v, err);
        if (r < 0)
                return r;
        arch.batchnorm = json_object_get_boolean(v);
        if (arch.batchnorm) {
                r = get_field(a, "architecture.", "batchnorm_eps", json_type_double, &v, err);
                if (r < 0)
                        return r;
                eps = (float) json_object_get_double(v);
                if (!(eps > 0 && eps < 1))
                        return da_error_set(err, -EBADMSG, "metadata field 'architecture.batchnorm_eps' must be in (0, 1)");
        }
        r = get_enum(a, "architecture.", "pooling", da_pooling_from_string, &e, err);
        if (r < 0)
                return r;
        arch.pooling = e;
        r = get_enum(a, "architecture.", "activation", da_activation_from_string, &e, err);
        if (r < 0)
                return r;
        arch.activation = e;
        if (arch.dense == 0 && arch.activation != DA_ACT_NONE)
                return da_error_set(err, -EBADMSG,
                                    "metadata field 'architecture.activation' must be 'none' when 'dense' is 0");

        r = get_field(doc, "", "window", json_type_object, &w, err);
        if (r < 0)
                return r;
        if ((r = get_uint(w, "window.", "length", 1, 100000, &arch.window, err)) < 0 ||
            (r = get_uint(w, "window.", "hop", 1, 100000, &arch.hop, err)) < 0)
                return r;

        *ret = arch;
        *ret_eps = eps;
        return 0;
}

static int parse_metadata(const char *text, size_t len, da_arch *ret_arch, float *ret_eps,
                          json_object **ret_doc, da_error *err) {
        _cleanup_(json_object_put_nullp) json_object *doc = NULL;
        json_tokener *tok;
        enum json_tokener_error jerr;
        json_object *v;
        int r;

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        doc = json_tokener_parse_ex(tok, text, (int) len);
        jerr = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (!doc || jerr != json_tokener_success)
                return da_error_set(err, -EBADMSG, "the 'deepactif' metadata is not valid JSON: %s",
                                    json_tokener_error_desc(jerr == json_tokener_continue ? json_tokener_error_parse_eof : jerr));
        if (!json_object_is_type(doc, json_type_object))
                return da_error_set(err, -EBADMSG, "the 'deepactif' metadata must be a JSON object");

        r = get_field(doc, "", "format_version", json_type_int, &v, err);
        if (r < 0)
                return r;
        if (json_object_get_int64(v) != DA_MODEL_FORMAT_VERSION)
                return da_error_set(err, -EPROTONOSUPPORT,
                                    "unsupported model format version %" PRIi64 " (this library reads version %d)",
                                    json_object_get_int64(v), DA_MODEL_FORMAT_VERSION);

        r = parse_arch(doc, ret_arch, ret_eps, err);
        if (r < 0)
                return r;
        *ret_doc = TAKE_PTR(doc);
        return 0;
}

/* Fields that do not size tensors: task, features, scaler. */
/* Optional: files written before it existed have none, and the daemon then
 * falls back to the device's own ranking. */
static int parse_reference_ranking(da_model *m, json_object *doc, da_error *err) {
        const char *path = "reference_ranking.";
        unsigned F = m->arch.n_features;
        _cleanup_free_ double *scores = NULL;
        json_object *rr, *v, *a;
        int r, loc, agg;
        int64_t windows;

        if (!json_object_object_get_ex(doc, "reference_ranking", &rr) || !rr)
                return 0;
        if (!json_object_is_type(rr, json_type_object))
                return da_error_set(err, -EBADMSG, "metadata field 'reference_ranking' must be an object or null");
        r = get_field(rr, path, "method", json_type_string, &v, err);
        if (r < 0)
                return r;
        if (!streq(json_object_get_string(v), da_method_to_string(DA_METHOD_DEEPACTIF)))
                return da_error_set(err, -EBADMSG, "metadata field 'reference_ranking.method' has unknown value '%s'",
                                    json_object_get_string(v));
        r = get_enum(rr, path, "location", da_trace_location_from_string, &loc, err);
        if (r < 0)
                return r;
        r = get_enum(rr, path, "aggregation", da_aggregation_from_string, &agg, err);
        if (r < 0)
                return r;
        r = get_field(rr, path, "windows", json_type_int, &v, err);
        if (r < 0)
                return r;
        windows = json_object_get_int64(v);
        if (windows < 1)
                return da_error_set(err, -EBADMSG, "metadata field 'reference_ranking.windows' is %" PRIi64
                                    ", must be at least 1", windows);
        r = get_field(rr, path, "scores", json_type_array, &a, err);
        if (r < 0)
                return r;
        if (json_object_array_length(a) != F)
                return da_error_set(err, -EBADMSG,
                                    "metadata field 'reference_ranking.scores' has %zu entries, the model has %u features",
                                    json_object_array_length(a), F);
        scores = malloc(F * sizeof(double));
        if (!scores)
                return -ENOMEM;
        for (unsigned i = 0; i < F; i++) {
                json_object *e = json_object_array_get_idx(a, i);

                if (!json_object_is_type(e, json_type_double) && !json_object_is_type(e, json_type_int))
                        return da_error_set(err, -EBADMSG, "metadata field 'reference_ranking.scores[%u]' is not a number", i);
                scores[i] = json_object_get_double(e);
                if (!isfinite(scores[i]))
                        return da_error_set(err, -EBADMSG,
                                            "metadata field 'reference_ranking.scores[%u]' must be a finite number", i);
        }
        return da_model_set_reference_ranking(m, &(da_reference_ranking) {
                        .location = loc,
                        .aggregation = agg,
                        .windows = (uint64_t) windows,
                        .scores = scores,
                });
}

/* "scaling": {"type": "global"} or {"type": "per-user", "warmup": frames};
 * absent in files written before it existed, which scale globally. */
static int parse_scaling(da_model *m, json_object *doc, da_error *err) {
        json_object *sc, *v;
        unsigned warmup = 0;
        int r, type;

        if (!json_object_object_get_ex(doc, "scaling", &sc))
                return 0;
        if (!sc || !json_object_is_type(sc, json_type_object))
                return da_error_set(err, -EBADMSG, "metadata field 'scaling' must be an object");
        r = get_enum(sc, "scaling.", "type", da_scaling_from_string, &type, err);
        if (r < 0)
                return r;
        if (type == DA_SCALING_PER_USER) {
                r = get_uint(sc, "scaling.", "warmup", 4, DA_USER_SCALER_WARMUP_MAX, &warmup, err);
                if (r < 0)
                        return r;
        } else if (json_object_object_get_ex(sc, "warmup", &v))
                return da_error_set(err, -EBADMSG, "metadata field 'scaling.warmup' is only for per-user scaling");
        json_object_object_foreach(sc, key, val) {
                (void) val;
                if (!streq(key, "type") && !streq(key, "warmup"))
                        return da_error_set(err, -EBADMSG, "metadata field 'scaling.%s' is unknown", key);
        }
        return da_model_set_scaling(m, (da_scaling) type, warmup);
}

/* Fields that do not size tensors: task, features, scaler, scaling. */
static int apply_metadata(da_model *m, json_object *doc, da_error *err) {
        json_object *task, *v, *feat, *sc;
        unsigned F = m->arch.n_features;
        const char *type;
        int r;

        r = get_field(doc, "", "task", json_type_object, &task, err);
        if (r < 0)
                return r;
        r = get_field(task, "task.", "type", json_type_string, &v, err);
        if (r < 0)
                return r;
        type = json_object_get_string(v);
        if (streq(type, "regression")) {
                m->task = DA_TASK_REGRESSION;
                if (json_object_object_get_ex(task, "unit", &v) && v) {
                        if (!json_object_is_type(v, json_type_string))
                                return da_error_set(err, -EBADMSG, "metadata field 'task.unit' must be a string");
                        m->unit = strdup(json_object_get_string(v));
                        if (!m->unit)
                                return -ENOMEM;
                }
        } else if (streq(type, "classification")) {
                m->task = DA_TASK_CLASSIFICATION;
                r = get_field(task, "task.", "classes", json_type_array, &v, err);
                if (r < 0)
                        return r;
                if (json_object_array_length(v) != m->arch.outputs)
                        return da_error_set(err, -EBADMSG, "metadata field 'task.classes' has %zu entries, the model has %u outputs",
                                            json_object_array_length(v), m->arch.outputs);
                r = parse_string_list(v, "task.classes", m->arch.outputs, &m->classes, err);
                if (r < 0)
                        return r;
                m->n_classes = m->arch.outputs;
        } else
                return da_error_set(err, -EBADMSG, "metadata field 'task.type' has unknown value '%s'", type);

        /* absent in files written before reduced precision existed */
        if (json_object_object_get_ex(doc, "precision", &v) && v) {
                int p;

                r = get_enum(doc, "", "precision", da_precision_from_string, &p, err);
                if (r < 0)
                        return r;
                m->precision = p;
        }
        if (m->precision == DA_PRECISION_I8)
                for (unsigned l = 0; l < m->arch.layers; l++) {
                        m->layer[l].s_ih = calloc((size_t) 4 * m->arch.hidden, sizeof(float));
                        m->layer[l].s_hh = calloc((size_t) 4 * m->arch.hidden, sizeof(float));
                        if (!m->layer[l].s_ih || !m->layer[l].s_hh)
                                return -ENOMEM;
                }

        r = get_field(doc, "", "features", json_type_array, &feat, err);
        if (r < 0)
                return r;
        if (json_object_array_length(feat) != F)
                return da_error_set(err, -EBADMSG, "metadata field 'features' lists %zu names, the LSTM takes %u inputs",
                                    json_object_array_length(feat), F);
        r = parse_string_list(feat, "features", F, &m->features, err);
        if (r < 0)
                return r;

        if (json_object_object_get_ex(doc, "scaler", &sc) && sc) {
                if (!json_object_is_type(sc, json_type_object))
                        return da_error_set(err, -EBADMSG, "metadata field 'scaler' must be an object or null");
                r = get_field(sc, "scaler.", "type", json_type_string, &v, err);
                if (r < 0)
                        return r;
                if (!streq(json_object_get_string(v), "robust"))
                        return da_error_set(err, -EBADMSG, "metadata field 'scaler.type' has unknown value '%s'",
                                            json_object_get_string(v));
                r = get_float_array(sc, "scaler.", "median", F, false, &m->scaler_median, err);
                if (r < 0)
                        return r;
                r = get_float_array(sc, "scaler.", "iqr", F, true, &m->scaler_iqr, err);
                if (r < 0)
                        return r;
        }
        r = parse_reference_ranking(m, doc, err);
        if (r < 0)
                return r;
        return parse_scaling(m, doc, err);
}

/* ---- tensors ----------------------------------------------------------- */

typedef struct tensor_slot {
        char name[64];
        unsigned shape[2];
        unsigned dims;
        da_precision dtype;     /* how the file stores it */
        float *dest;
        bool seen;
        uint64_t begin, end;
} tensor_slot;

/* The LSTM's weight matrices are stored at the model's precision, i8 with
 * a float32 scale per row in "<name>.scale"; everything else is float32. */
static unsigned model_slots(da_model *m, tensor_slot *s) {
        unsigned n = 0, H = m->arch.hidden;
        da_precision wp = m->precision;

#define SLOT_AS(nm, d0, d1, nd, ptr, dt)                                        \
        do {                                                                    \
                s[n] = (tensor_slot) { .shape = { d0, d1 }, .dims = nd, .dtype = dt, .dest = ptr }; \
                snprintf(s[n].name, sizeof(s[n].name), "%s", nm);               \
                n++;                                                            \
        } while (0)
#define SLOT(nm, d0, d1, nd, ptr) SLOT_AS(nm, d0, d1, nd, ptr, DA_PRECISION_F32)

        for (unsigned l = 0; l < m->arch.layers; l++) {
                char nm[64];

                snprintf(nm, sizeof(nm), "lstm.weight_ih_l%u", l);
                SLOT_AS(nm, 4 * H, m->layer[l].in, 2, m->layer[l].w_ih, wp);
                if (wp == DA_PRECISION_I8) {
                        snprintf(nm, sizeof(nm), "lstm.weight_ih_l%u.scale", l);
                        SLOT(nm, 4 * H, 0, 1, m->layer[l].s_ih);
                }
                snprintf(nm, sizeof(nm), "lstm.weight_hh_l%u", l);
                SLOT_AS(nm, 4 * H, H, 2, m->layer[l].w_hh, wp);
                if (wp == DA_PRECISION_I8) {
                        snprintf(nm, sizeof(nm), "lstm.weight_hh_l%u.scale", l);
                        SLOT(nm, 4 * H, 0, 1, m->layer[l].s_hh);
                }
                snprintf(nm, sizeof(nm), "lstm.bias_ih_l%u", l);
                SLOT(nm, 4 * H, 0, 1, m->layer[l].b_ih);
                snprintf(nm, sizeof(nm), "lstm.bias_hh_l%u", l);
                SLOT(nm, 4 * H, 0, 1, m->layer[l].b_hh);
        }
        if (m->arch.batchnorm) {
                SLOT("batchnorm.weight", H, 0, 1, m->bn_weight);
                SLOT("batchnorm.bias", H, 0, 1, m->bn_bias);
                SLOT("batchnorm.running_mean", H, 0, 1, m->bn_mean);
                SLOT("batchnorm.running_var", H, 0, 1, m->bn_var);
        }
        if (m->arch.dense > 0) {
                SLOT("fc1.weight", m->arch.dense, H, 2, m->fc1_w);
                SLOT("fc1.bias", m->arch.dense, 0, 1, m->fc1_b);
                SLOT("fc5.weight", m->arch.outputs, m->arch.dense, 2, m->out_w);
                SLOT("fc5.bias", m->arch.outputs, 0, 1, m->out_b);
        } else {
                SLOT("fc.weight", m->arch.outputs, H, 2, m->out_w);
                SLOT("fc.bias", m->arch.outputs, 0, 1, m->out_b);
        }
#undef SLOT
#undef SLOT_AS
        return n;
}

#define MAX_SLOTS (16 * 6 + 10)

static size_t slot_elements(const tensor_slot *s) {
        return s->dims == 1 ? s->shape[0] : (size_t) s->shape[0] * s->shape[1];
}

/* safetensors' names of the dtypes a precision stores weights in */
static const char *const dtype_names[_DA_PRECISION_MAX] = {
        [DA_PRECISION_F32] = "F32",
        [DA_PRECISION_BF16] = "BF16",
        [DA_PRECISION_F16] = "F16",
        [DA_PRECISION_I8] = "I8",
};

static float decode_element(da_precision dtype, const uint8_t *p) {
        uint32_t u;
        uint16_t h;
        float f;

        switch (dtype) {
        case DA_PRECISION_BF16:
                memcpy(&h, p, 2);
                return bf16_to_float(le16toh(h));
        case DA_PRECISION_F16:
                memcpy(&h, p, 2);
                return half_to_float(le16toh(h));
        case DA_PRECISION_I8:
                return (float) (int8_t) *p;
        default:
                memcpy(&u, p, 4);
                u = le32toh(u);
                memcpy(&f, &u, 4);
                return f;
        }
}

static int load_tensor(tensor_slot *slot, json_object *desc, const uint8_t *data, size_t data_size,
                       da_precision precision, da_error *err) {
        json_object *v, *shape, *off;
        uint64_t begin, end;
        size_t n, width = da_precision_bytes(slot->dtype);

        if (!json_object_is_type(desc, json_type_object))
                return da_error_set(err, -EBADMSG, "tensor '%s': header entry is not an object", slot->name);
        if (!json_object_object_get_ex(desc, "dtype", &v) || !json_object_is_type(v, json_type_string))
                return da_error_set(err, -EBADMSG, "tensor '%s': dtype is missing", slot->name);
        if (!streq(json_object_get_string(v), dtype_names[slot->dtype]))
                return da_error_set(err, -EBADMSG, "tensor '%s' has dtype %s, expected %s (metadata field 'precision' is '%s')",
                                    slot->name, json_object_get_string(v), dtype_names[slot->dtype],
                                    da_precision_to_string(precision));
        if (!json_object_object_get_ex(desc, "shape", &shape) || !json_object_is_type(shape, json_type_array))
                return da_error_set(err, -EBADMSG, "tensor '%s': shape is missing", slot->name);
        if (json_object_array_length(shape) != slot->dims)
                goto bad_shape;
        for (unsigned d = 0; d < slot->dims; d++) {
                json_object *e = json_object_array_get_idx(shape, d);

                if (!json_object_is_type(e, json_type_int) || json_object_get_int64(e) != slot->shape[d])
                        goto bad_shape;
        }
        if (!json_object_object_get_ex(desc, "data_offsets", &off) || !json_object_is_type(off, json_type_array) ||
            json_object_array_length(off) != 2 ||
            !json_object_is_type(json_object_array_get_idx(off, 0), json_type_int) ||
            !json_object_is_type(json_object_array_get_idx(off, 1), json_type_int))
                return da_error_set(err, -EBADMSG, "tensor '%s': data_offsets must be two integers", slot->name);
        begin = (uint64_t) json_object_get_int64(json_object_array_get_idx(off, 0));
        end = (uint64_t) json_object_get_int64(json_object_array_get_idx(off, 1));
        n = slot_elements(slot);
        if (json_object_get_int64(json_object_array_get_idx(off, 0)) < 0 || begin > end || end > data_size)
                return da_error_set(err, -EBADMSG, "tensor '%s': data offsets %" PRIu64 "..%" PRIu64
                                    " lie outside the %zu bytes of tensor data", slot->name, begin, end, data_size);
        if (end - begin != n * width)
                return da_error_set(err, -EBADMSG, "tensor '%s': data offsets span %" PRIu64 " bytes, its shape needs %zu",
                                    slot->name, end - begin, n * width);

        for (size_t i = 0; i < n; i++) {
                float f = decode_element(slot->dtype, data + begin + i * width);

                if (!isfinite(f))
                        return da_error_set(err, -EBADMSG, "tensor '%s' holds %s at index %zu", slot->name,
                                            isnan(f) ? "NaN" : "Inf", i);
                slot->dest[i] = f;
        }
        slot->seen = true;
        slot->begin = begin;
        slot->end = end;
        return 0;

bad_shape:
        if (slot->dims == 1)
                return da_error_set(err, -EBADMSG, "tensor '%s' has shape %s, expected [%u]", slot->name,
                                    json_object_to_json_string_ext(shape, JSON_C_TO_STRING_PLAIN), slot->shape[0]);
        return da_error_set(err, -EBADMSG, "tensor '%s' has shape %s, expected [%u, %u]", slot->name,
                            json_object_to_json_string_ext(shape, JSON_C_TO_STRING_PLAIN), slot->shape[0], slot->shape[1]);
}

static int cmp_slot_begin(const void *a, const void *b) {
        const tensor_slot *x = *(const tensor_slot *const *) a, *y = *(const tensor_slot *const *) b;

        return (x->begin > y->begin) - (x->begin < y->begin);
}

/* As strict safetensors readers: the tensors tile the data area exactly,
 * no overlaps, no gaps, nothing trailing. */
static int check_layout(tensor_slot *slots, unsigned n, size_t data_size, da_error *err) {
        tensor_slot *order[MAX_SLOTS];
        uint64_t at = 0;

        for (unsigned i = 0; i < n; i++)
                order[i] = &slots[i];
        qsort(order, n, sizeof(order[0]), cmp_slot_begin);
        for (unsigned i = 0; i < n; i++) {
                if (order[i]->begin < at)
                        return da_error_set(err, -EBADMSG, "tensor '%s' overlaps tensor '%s'", order[i]->name,
                                            order[i - 1]->name);
                if (order[i]->begin > at)
                        return da_error_set(err, -EBADMSG, "a gap of %" PRIu64 " bytes precedes tensor '%s'",
                                            order[i]->begin - at, order[i]->name);
                at = order[i]->end;
        }
        if (at != data_size)
                return da_error_set(err, -EBADMSG, "%" PRIu64 " bytes trail the last tensor", (uint64_t) data_size - at);
        return 0;
}

/* i8 weights were loaded as their integers q; the model holds q·scale */
static int scale_rows(float *w, const float *scale, unsigned rows, unsigned cols, const char *name, unsigned l,
                      da_error *err) {
        for (unsigned r = 0; r < rows; r++) {
                if (!(scale[r] >= 0))
                        return da_error_set(err, -EBADMSG, "tensor 'lstm.%s_l%u.scale' is negative at index %u", name, l, r);
                /* ±128 steps (an int8 may hold -128) must stay finite */
                if (!isfinite(128.0f * scale[r]))
                        return da_error_set(err, -EBADMSG, "tensor 'lstm.%s_l%u.scale' is too large at index %u", name, l, r);
                for (unsigned c = 0; c < cols; c++)
                        w[(size_t) r * cols + c] *= scale[r];
        }
        return 0;
}

static int apply_row_scales(da_model *m, da_error *err) {
        unsigned H = m->arch.hidden;
        int r;

        for (unsigned l = 0; l < m->arch.layers; l++) {
                da_lstm_layer *L = &m->layer[l];

                r = scale_rows(L->w_ih, L->s_ih, 4 * H, L->in, "weight_ih", l, err);
                if (r < 0)
                        return r;
                r = scale_rows(L->w_hh, L->s_hh, 4 * H, H, "weight_hh", l, err);
                if (r < 0)
                        return r;
        }
        return 0;
}

int da_model_load_buffer(const void *buf, size_t size, da_model **ret, da_error *err) {
        _cleanup_(json_object_put_nullp) json_object *header = NULL, *doc = NULL;
        _cleanup_(da_model_freep) da_model *m = NULL;
        tensor_slot slots[MAX_SLOTS];
        const uint8_t *p = buf;
        json_object *meta, *dv;
        json_tokener *tok;
        enum json_tokener_error jerr;
        uint64_t hlen;
        unsigned n_slots;
        da_arch arch;
        float eps = 1e-5f;
        int r;

        if (size < 8)
                return da_error_set(err, -EBADMSG, "file is truncated: %zu bytes, a model file starts with an 8-byte header length", size);
        memcpy(&hlen, p, 8);
        hlen = le64toh(hlen);
        if (hlen > size - 8)
                return da_error_set(err, -EBADMSG, "header length %" PRIu64 " runs past the end of the file (%zu bytes)", hlen, size);
        if (hlen > HEADER_MAX)
                return da_error_set(err, -EBADMSG, "header length %" PRIu64 " exceeds the limit of %u bytes", hlen, HEADER_MAX);
        if (hlen < 2)
                return da_error_set(err, -EBADMSG, "header is empty");

        tok = json_tokener_new();
        if (!tok)
                return -ENOMEM;
        header = json_tokener_parse_ex(tok, (const char *) p + 8, (int) hlen);
        jerr = json_tokener_get_error(tok);
        json_tokener_free(tok);
        if (!header || jerr != json_tokener_success)
                return da_error_set(err, -EBADMSG, "header is not valid JSON: %s",
                                    json_tokener_error_desc(jerr == json_tokener_continue ? json_tokener_error_parse_eof : jerr));
        if (!json_object_is_type(header, json_type_object))
                return da_error_set(err, -EBADMSG, "header is not a JSON object");

        if (!json_object_object_get_ex(header, "__metadata__", &meta) || !json_object_is_type(meta, json_type_object))
                return da_error_set(err, -EBADMSG, "header has no __metadata__ object: not a deepactif model file");
        if (!json_object_object_get_ex(meta, "deepactif", &dv) || !json_object_is_type(dv, json_type_string))
                return da_error_set(err, -EBADMSG, "__metadata__ has no 'deepactif' document: not a deepactif model file");

        r = parse_metadata(json_object_get_string(dv), (size_t) json_object_get_string_len(dv), &arch, &eps, &doc, err);
        if (r < 0)
                return r;
        r = model_alloc(&arch, &m);
        if (r < 0)
                return r == -EINVAL ? da_error_set(err, -EBADMSG, "architecture is out of range") : r;
        m->bn_eps = eps;
        r = apply_metadata(m, doc, err);
        if (r < 0)
                return r;

        n_slots = model_slots(m, slots);
        json_object_object_foreach(header, key, val) {
                unsigned i;

                if (streq(key, "__metadata__"))
                        continue;
                for (i = 0; i < n_slots; i++)
                        if (streq(slots[i].name, key))
                                break;
                if (i == n_slots)
                        return da_error_set(err, -EBADMSG, "tensor '%s' is not part of this architecture", key);
                r = load_tensor(&slots[i], val, p + 8 + hlen, size - 8 - hlen, m->precision, err);
                if (r < 0)
                        return r;
        }
        for (unsigned i = 0; i < n_slots; i++)
                if (!slots[i].seen)
                        return da_error_set(err, -EBADMSG, "tensor '%s' is missing", slots[i].name);
        r = check_layout(slots, n_slots, size - 8 - hlen, err);
        if (r < 0)
                return r;
        if (m->arch.batchnorm)
                for (unsigned j = 0; j < arch.hidden; j++)
                        if (!(m->bn_var[j] >= 0))
                                return da_error_set(err, -EBADMSG, "tensor 'batchnorm.running_var' is negative at index %u", j);
        if (m->precision == DA_PRECISION_I8) {
                r = apply_row_scales(m, err);
                if (r < 0)
                        return r;
        }

        r = model_pack(m);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(m);
        return 0;
}

int da_model_load(const char *path, da_model **ret, da_error *err) {
        _cleanup_close_ int fd = -1;
        struct stat st;
        void *map;
        int r;

        /* O_NONBLOCK: opening a FIFO would wait for a writer; it is refused
         * below like any file that is not regular. */
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
        if (fd < 0)
                return da_error_set(err, -errno, "cannot open: %s", strerror(errno));
        if (fstat(fd, &st) < 0)
                return da_error_set(err, -errno, "cannot stat: %s", strerror(errno));
        if (!S_ISREG(st.st_mode))
                return da_error_set(err, -EBADMSG, "not a regular file");
        if (st.st_size == 0)
                return da_error_set(err, -EBADMSG, "file is empty");

        map = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (map == MAP_FAILED)
                return da_error_set(err, -errno, "cannot map: %s", strerror(errno));
        r = da_model_load_buffer(map, (size_t) st.st_size, ret, err);
        munmap(map, (size_t) st.st_size);
        return r;
}

/* ---- saving ------------------------------------------------------------ */

static json_object *float_array(const float *v, unsigned n) {
        json_object *a = json_object_new_array_ext((int) n);

        for (unsigned i = 0; a && i < n; i++)
                json_object_array_add(a, json_object_new_double((double) v[i]));
        return a;
}

static json_object *metadata_document(const da_model *m) {
        const da_arch *a = &m->arch;
        json_object *doc, *arch, *win, *task, *feat, *scaling;

        doc = json_object_new_object();
        arch = json_object_new_object();
        json_object_object_add(doc, "format_version", json_object_new_int(DA_MODEL_FORMAT_VERSION));
        json_object_object_add(doc, "precision", json_object_new_string(da_precision_to_string(m->precision)));
        json_object_object_add(arch, "input_size", json_object_new_int((int) a->n_features));
        json_object_object_add(arch, "hidden_size", json_object_new_int((int) a->hidden));
        json_object_object_add(arch, "num_layers", json_object_new_int((int) a->layers));
        json_object_object_add(arch, "batchnorm", json_object_new_boolean(a->batchnorm));
        if (a->batchnorm)
                json_object_object_add(arch, "batchnorm_eps", json_object_new_double((double) m->bn_eps));
        json_object_object_add(arch, "pooling", json_object_new_string(da_pooling_to_string(a->pooling)));
        json_object_object_add(arch, "dense", json_object_new_int((int) a->dense));
        json_object_object_add(arch, "activation", json_object_new_string(da_activation_to_string(a->activation)));
        json_object_object_add(arch, "outputs", json_object_new_int((int) a->outputs));
        json_object_object_add(doc, "architecture", arch);

        win = json_object_new_object();
        json_object_object_add(win, "length", json_object_new_int((int) a->window));
        json_object_object_add(win, "hop", json_object_new_int((int) a->hop));
        json_object_object_add(doc, "window", win);

        task = json_object_new_object();
        if (m->task == DA_TASK_CLASSIFICATION) {
                json_object *cl = json_object_new_array();

                json_object_object_add(task, "type", json_object_new_string("classification"));
                for (unsigned i = 0; i < m->n_classes; i++)
                        json_object_array_add(cl, json_object_new_string(m->classes[i]));
                json_object_object_add(task, "classes", cl);
        } else {
                json_object_object_add(task, "type", json_object_new_string("regression"));
                if (m->unit)
                        json_object_object_add(task, "unit", json_object_new_string(m->unit));
        }
        json_object_object_add(doc, "task", task);

        feat = json_object_new_array();
        for (unsigned f = 0; f < a->n_features; f++) {
                char buf[32];

                if (m->features)
                        json_object_array_add(feat, json_object_new_string(m->features[f]));
                else {
                        snprintf(buf, sizeof(buf), "f%u", f);
                        json_object_array_add(feat, json_object_new_string(buf));
                }
        }
        json_object_object_add(doc, "features", feat);

        if (m->scaler_median) {
                json_object *sc = json_object_new_object();

                json_object_object_add(sc, "type", json_object_new_string("robust"));
                json_object_object_add(sc, "median", float_array(m->scaler_median, a->n_features));
                json_object_object_add(sc, "iqr", float_array(m->scaler_iqr, a->n_features));
                json_object_object_add(doc, "scaler", sc);
        } else
                json_object_object_add(doc, "scaler", NULL);

        if (m->reference_scores) {
                json_object *rr = json_object_new_object(), *sc = json_object_new_array_ext((int) a->n_features);

                json_object_object_add(rr, "method", json_object_new_string(da_method_to_string(DA_METHOD_DEEPACTIF)));
                json_object_object_add(rr, "location",
                                       json_object_new_string(da_trace_location_to_string(m->reference_location)));
                json_object_object_add(rr, "aggregation",
                                       json_object_new_string(da_aggregation_to_string(m->reference_aggregation)));
                json_object_object_add(rr, "windows", json_object_new_int64((int64_t) m->reference_windows));
                for (unsigned f = 0; sc && f < a->n_features; f++)
                        json_object_array_add(sc, json_object_new_double(m->reference_scores[f]));
                json_object_object_add(rr, "scores", sc);
                json_object_object_add(doc, "reference_ranking", rr);
        }
        scaling = json_object_new_object();
        json_object_object_add(scaling, "type", json_object_new_string(da_scaling_to_string(m->scaling)));
        if (m->scaling == DA_SCALING_PER_USER)
                json_object_object_add(scaling, "warmup", json_object_new_int64(m->warmup));
        json_object_object_add(doc, "scaling", scaling);
        return doc;
}

static int write_all(int fd, const void *buf, size_t n) {
        const uint8_t *p = buf;

        while (n > 0) {
                ssize_t k = write(fd, p, n);

                if (k < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += k;
                n -= (size_t) k;
        }
        return 0;
}

static void encode_element(da_precision dtype, float f, float scale, uint8_t *p) {
        uint32_t u;
        uint16_t h;

        switch (dtype) {
        case DA_PRECISION_BF16:
                h = htole16(float_to_bf16(f));
                memcpy(p, &h, 2);
                break;
        case DA_PRECISION_F16:
                h = htole16(float_to_half(f));
                memcpy(p, &h, 2);
                break;
        case DA_PRECISION_I8:
                *p = (uint8_t) (int8_t) (scale > 0 ? nearbyintf(f / scale) : 0);
                break;
        default:
                memcpy(&u, &f, 4);
                u = htole32(u);
                memcpy(p, &u, 4);
        }
}

/* The row scales of an i8 matrix slot: its layer's s_ih or s_hh. */
static const float *slot_scales(const tensor_slot *s, const da_lstm_layer *layer, unsigned n_layers) {
        for (unsigned l = 0; l < n_layers; l++) {
                if (s->dest == layer[l].w_ih)
                        return layer[l].s_ih;
                if (s->dest == layer[l].w_hh)
                        return layer[l].s_hh;
        }
        return NULL;
}

static int write_tensor(int fd, const tensor_slot *s, const da_lstm_layer *layer, unsigned n_layers) {
        size_t n = slot_elements(s), width = da_precision_bytes(s->dtype), cols = s->dims == 2 ? s->shape[1] : n;
        const float *scale = s->dtype == DA_PRECISION_I8 ? slot_scales(s, layer, n_layers) : NULL;
        _cleanup_free_ uint8_t *buf = NULL;

        buf = malloc(n * width ?: 1);
        if (!buf)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++)
                encode_element(s->dtype, s->dest[i], scale ? scale[i / cols] : 0, buf + i * width);
        return write_all(fd, buf, n * width);
}

int da_model_save(const da_model *m, const char *path, da_error *err) {
        _cleanup_(json_object_put_nullp) json_object *header = NULL, *doc = NULL;
        _cleanup_free_ char *tmp = NULL, *hbuf = NULL;
        _cleanup_close_ int fd = -1;
        tensor_slot slots[MAX_SLOTS];
        json_object *meta;
        const char *text;
        size_t hlen, padded, off = 0;
        uint64_t le;
        unsigned n_slots;
        int r;

        n_slots = model_slots((da_model *) m, slots);
        doc = metadata_document(m);
        header = json_object_new_object();
        meta = json_object_new_object();
        if (!doc || !header || !meta)
                return -ENOMEM;
        json_object_object_add(meta, "deepactif",
                               json_object_new_string(json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN)));
        json_object_object_add(header, "__metadata__", meta);
        for (unsigned i = 0; i < n_slots; i++) {
                json_object *t = json_object_new_object(), *shape = json_object_new_array(), *offs = json_object_new_array();
                size_t bytes = slot_elements(&slots[i]) * da_precision_bytes(slots[i].dtype);

                json_object_object_add(t, "dtype", json_object_new_string(dtype_names[slots[i].dtype]));
                for (unsigned d = 0; d < slots[i].dims; d++)
                        json_object_array_add(shape, json_object_new_int64(slots[i].shape[d]));
                json_object_object_add(t, "shape", shape);
                json_object_array_add(offs, json_object_new_int64((int64_t) off));
                json_object_array_add(offs, json_object_new_int64((int64_t) (off + bytes)));
                json_object_object_add(t, "data_offsets", offs);
                json_object_object_add(header, slots[i].name, t);
                off += bytes;
        }

        text = json_object_to_json_string_ext(header, JSON_C_TO_STRING_PLAIN);
        hlen = strlen(text);
        padded = (hlen + 7) & ~(size_t) 7;  /* keeps the tensors 8-byte aligned, as safetensors does */
        hbuf = malloc(padded);
        if (!hbuf)
                return -ENOMEM;
        memcpy(hbuf, text, hlen);
        memset(hbuf + hlen, ' ', padded - hlen);

        if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
                return -ENOMEM;
        fd = mkostemp(tmp, O_CLOEXEC);
        if (fd < 0)
                return da_error_set(err, -errno, "cannot create '%s': %s", tmp, strerror(errno));

        le = htole64((uint64_t) padded);
        r = write_all(fd, &le, 8);
        if (r >= 0)
                r = write_all(fd, hbuf, padded);
        for (unsigned i = 0; r >= 0 && i < n_slots; i++)
                r = write_tensor(fd, &slots[i], m->layer, m->arch.layers);
        if (r >= 0 && fsync(fd) < 0)
                r = -errno;
        if (r >= 0 && fchmod(fd, 0644) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                return da_error_set(err, r, "cannot write '%s': %s", path, strerror(-r));
        }
        return 0;
}
