/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Model file validation: every way a file can be wrong gets one clear error
 * naming the problem and no model; a saved model loads back identical. */

#include <math.h>

#include "model.h"
#include "test-util.h"

#define BASE "fixtures/lstm/plain-f3-h8-l1-t10-max-o1.safetensors"

static uint8_t *base;
static size_t base_size, base_hlen;

static int load_base(void) {
        _cleanup_free_ char *p = test_path(BASE);
        int r;

        r = test_read_file(p, &base, &base_size);
        if (r < 0) {
                fprintf(stderr, "cannot read %s: %s\n", p, strerror(-r));
                return r;
        }
        memcpy(&base_hlen, base, 8);
        return 0;
}

typedef void (*mutate_fn)(json_object *header, json_object *doc);

/* Rebuilds the base file with its header and metadata document changed. */
static uint8_t *variant(mutate_fn fn, size_t *ret_size) {
        json_object *header, *meta, *dv, *doc;
        const char *text;
        size_t hlen, data = base_size - 8 - base_hlen;
        uint8_t *out;
        uint64_t le;

        header = json_tokener_parse(strndupa((const char *) base + 8, base_hlen));
        ck_assert_ptr_nonnull(header);
        ck_assert(json_object_object_get_ex(header, "__metadata__", &meta));
        ck_assert(json_object_object_get_ex(meta, "deepactif", &dv));
        doc = json_tokener_parse(json_object_get_string(dv));
        ck_assert_ptr_nonnull(doc);

        fn(header, doc);

        json_object_object_add(meta, "deepactif", json_object_new_string(json_object_to_json_string(doc)));
        text = json_object_to_json_string_ext(header, JSON_C_TO_STRING_PLAIN);
        hlen = strlen(text);
        out = malloc(8 + hlen + data);
        ck_assert_ptr_nonnull(out);
        le = hlen;
        memcpy(out, &le, 8);
        memcpy(out + 8, text, hlen);
        memcpy(out + 8 + hlen, base + 8 + base_hlen, data);
        json_object_put(doc);
        json_object_put(header);
        *ret_size = 8 + hlen + data;
        return out;
}

static void expect_error(const uint8_t *buf, size_t size, const char *needle) {
        da_model *sentinel = (da_model *) 0x1, *m = sentinel;
        da_error err = {};
        int r;

        r = da_model_load_buffer(buf, size, &m, &err);
        ck_assert_msg(r < 0, "expected an error containing '%s', the file loaded", needle);
        ck_assert_ptr_eq(m, sentinel);  /* ret_ untouched on failure */
        ck_assert_msg(strstr(err.message, needle), "error '%s' does not name '%s'", err.message, needle);
}

static void expect_variant_error(mutate_fn fn, const char *needle) {
        size_t size;
        uint8_t *buf = variant(fn, &size);

        expect_error(buf, size, needle);
        free(buf);
}

static json_object *arch_of(json_object *doc) {
        json_object *a;

        ck_assert(json_object_object_get_ex(doc, "architecture", &a));
        return a;
}

static void m_none(json_object *h, json_object *d) {}
static void m_drop_tensor(json_object *h, json_object *d) { json_object_object_del(h, "fc.bias"); }
static void m_extra_tensor(json_object *h, json_object *d) {
        json_object *t;

        ck_assert(json_object_object_get_ex(h, "fc.bias", &t));
        json_object_object_add(h, "extra.weight", json_object_get(t));
}
static void m_shape(json_object *h, json_object *d) {
        json_object *t, *shape;

        ck_assert(json_object_object_get_ex(h, "fc.weight", &t));
        shape = json_object_new_array();
        json_object_array_add(shape, json_object_new_int(2));
        json_object_array_add(shape, json_object_new_int(4));
        json_object_object_add(t, "shape", shape);
}
static void m_dtype(json_object *h, json_object *d) {
        json_object *t;

        ck_assert(json_object_object_get_ex(h, "lstm.weight_hh_l0", &t));
        json_object_object_add(t, "dtype", json_object_new_string("F16"));
}
static void m_offsets(json_object *h, json_object *d) {
        json_object *t, *o;

        ck_assert(json_object_object_get_ex(h, "fc.bias", &t));
        o = json_object_new_array();
        json_object_array_add(o, json_object_new_int64(1 << 30));
        json_object_array_add(o, json_object_new_int64((1 << 30) + 4));
        json_object_object_add(t, "data_offsets", o);
}
static void m_overlap(json_object *h, json_object *d) {
        json_object *a, *b, *o;

        /* fc.bias takes fc.weight's first bytes: same length (1 float) */
        ck_assert(json_object_object_get_ex(h, "fc.weight", &a));
        ck_assert(json_object_object_get_ex(h, "fc.bias", &b));
        ck_assert(json_object_object_get_ex(a, "data_offsets", &o));
        o = json_object_get(json_object_array_get_idx(o, 0));
        json_object *n = json_object_new_array();
        json_object_array_add(n, o);
        json_object_array_add(n, json_object_new_int64(json_object_get_int64(o) + 4));
        json_object_object_add(b, "data_offsets", n);
}
static void m_version(json_object *h, json_object *d) {
        json_object_object_add(d, "format_version", json_object_new_int(2));
}
static void m_no_hidden(json_object *h, json_object *d) { json_object_object_del(arch_of(d), "hidden_size"); }
static void m_pooling(json_object *h, json_object *d) {
        json_object_object_add(arch_of(d), "pooling", json_object_new_string("median"));
}
static void m_hidden_type(json_object *h, json_object *d) {
        json_object_object_add(arch_of(d), "hidden_size", json_object_new_string("eight"));
}
static void m_hidden_changed(json_object *h, json_object *d) {
        json_object_object_add(arch_of(d), "hidden_size", json_object_new_int(9));
}
static void m_features(json_object *h, json_object *d) {
        json_object *f = json_object_new_array();

        json_object_array_add(f, json_object_new_string("a"));
        json_object_array_add(f, json_object_new_string("b"));
        json_object_object_add(d, "features", f);
}
static void m_features_dup(json_object *h, json_object *d) {
        json_object *f = json_object_new_array();

        for (int i = 0; i < 3; i++)
                json_object_array_add(f, json_object_new_string("same"));
        json_object_object_add(d, "features", f);
}
static void m_iqr(json_object *h, json_object *d) {
        json_object *sc, *iqr;

        ck_assert(json_object_object_get_ex(d, "scaler", &sc));
        ck_assert(json_object_object_get_ex(sc, "iqr", &iqr));
        json_object_array_put_idx(iqr, 1, json_object_new_double(0.0));
}
static void m_task(json_object *h, json_object *d) {
        json_object *t = json_object_new_object();

        json_object_object_add(t, "type", json_object_new_string("ranking"));
        json_object_object_add(d, "task", t);
}
static void m_window(json_object *h, json_object *d) {
        json_object *w;

        ck_assert(json_object_object_get_ex(d, "window", &w));
        json_object_object_add(w, "length", json_object_new_int(0));
}
static void set_scaling(json_object *d, const char *type, json_object *warmup) {
        json_object *sc = json_object_new_object();

        if (type)
                json_object_object_add(sc, "type", json_object_new_string(type));
        if (warmup)
                json_object_object_add(sc, "warmup", warmup);
        json_object_object_add(d, "scaling", sc);
}
static void m_scaling_type(json_object *h, json_object *d) { set_scaling(d, "per-device", json_object_new_int(100)); }
static void m_scaling_no_type(json_object *h, json_object *d) { set_scaling(d, NULL, json_object_new_int(100)); }
static void m_scaling_no_warmup(json_object *h, json_object *d) { set_scaling(d, "per-user", NULL); }
static void m_scaling_warmup_zero(json_object *h, json_object *d) { set_scaling(d, "per-user", json_object_new_int(0)); }
static void m_scaling_warmup_type(json_object *h, json_object *d) {
        set_scaling(d, "per-user", json_object_new_string("5s"));
}
static void m_scaling_global_warmup(json_object *h, json_object *d) { set_scaling(d, "global", json_object_new_int(9)); }
static void m_scaling_extra(json_object *h, json_object *d) {
        json_object *sc;

        set_scaling(d, "per-user", json_object_new_int(100));
        ck_assert(json_object_object_get_ex(d, "scaling", &sc));
        json_object_object_add(sc, "window", json_object_new_int(5));
}
static void m_scaling_string(json_object *h, json_object *d) {
        json_object_object_add(d, "scaling", json_object_new_string("per-user"));
}
static void m_no_meta(json_object *h, json_object *d) {}
static json_object *reference_doc(double third) {
        json_object *rr = json_object_new_object(), *sc = json_object_new_array();

        json_object_object_add(rr, "method", json_object_new_string("deepactif"));
        json_object_object_add(rr, "location", json_object_new_string("gate"));
        json_object_object_add(rr, "aggregation", json_object_new_string("inv"));
        json_object_object_add(rr, "windows", json_object_new_int(100));
        json_object_array_add(sc, json_object_new_double(0.25));
        json_object_array_add(sc, json_object_new_double(0.75));
        json_object_array_add(sc, json_object_new_double(third));
        json_object_object_add(rr, "scores", sc);
        return rr;
}
static json_object *reference_of(json_object *d) {
        json_object *rr = reference_doc(0.5);

        json_object_object_add(d, "reference_ranking", rr);
        return rr;
}
static void m_ref_good(json_object *h, json_object *d) { reference_of(d); }
static void m_ref_null(json_object *h, json_object *d) { json_object_object_add(d, "reference_ranking", NULL); }
static void m_ref_type(json_object *h, json_object *d) {
        json_object_object_add(d, "reference_ranking", json_object_new_string("gate"));
}
static void m_ref_short(json_object *h, json_object *d) {
        json_object *sc;

        ck_assert(json_object_object_get_ex(reference_of(d), "scores", &sc));
        json_object_array_del_idx(sc, 2, 1);
}
static void m_ref_string_score(json_object *h, json_object *d) {
        json_object *sc;

        ck_assert(json_object_object_get_ex(reference_of(d), "scores", &sc));
        json_object_array_put_idx(sc, 1, json_object_new_string("high"));
}
static void m_ref_aggregation(json_object *h, json_object *d) {
        json_object_object_add(reference_of(d), "aggregation", json_object_new_string("median"));
}
static void m_ref_location(json_object *h, json_object *d) {
        json_object_object_del(reference_of(d), "location");
}
static void m_ref_windows(json_object *h, json_object *d) {
        json_object_object_add(reference_of(d), "windows", json_object_new_int(0));
}
static void m_ref_method(json_object *h, json_object *d) {
        json_object_object_add(reference_of(d), "method", json_object_new_string("ig"));
}

START_TEST(test_base_loads) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        da_error err = {};
        size_t size;
        uint8_t *buf = variant(m_none, &size);

        ck_assert_msg(da_model_load_buffer(buf, size, &m, &err) == 0, "%s", err.message);
        ck_assert_uint_eq(da_model_arch(m)->hidden, 8);
        ck_assert_str_eq(da_model_feature(m, 2), "f2");
        ck_assert_str_eq(da_model_unit(m), "m");
        free(buf);
}
END_TEST

START_TEST(test_truncated) {
        expect_error(base, 4, "truncated");
        expect_error(base, 0, "truncated");
        /* cut inside the tensor data: the last tensor's offsets run past the end */
        expect_error(base, base_size - 3, "outside");
}
END_TEST

START_TEST(test_trailing) {
        uint8_t *buf = malloc(base_size + 4);

        memcpy(buf, base, base_size);
        memset(buf + base_size, 0, 4);
        expect_error(buf, base_size + 4, "4 bytes trail the last tensor");
        free(buf);
}
END_TEST

START_TEST(test_header_length) {
        uint8_t *buf = malloc(base_size);
        uint64_t big = base_size;

        ck_assert_ptr_nonnull(buf);
        memcpy(buf, base, base_size);
        memcpy(buf, &big, 8);
        expect_error(buf, base_size, "runs past the end");
        big = UINT64_MAX;
        memcpy(buf, &big, 8);
        expect_error(buf, base_size, "runs past the end");
        free(buf);
}
END_TEST

START_TEST(test_bad_json) {
        static const char junk[] = "{\"__metadata__\": {\"deepactif\": ";
        size_t n = 8 + sizeof(junk) - 1;
        uint8_t *buf = malloc(n);
        uint64_t le = sizeof(junk) - 1;

        memcpy(buf, &le, 8);
        memcpy(buf + 8, junk, sizeof(junk) - 1);
        expect_error(buf, n, "not valid JSON");
        le = 20;
        memcpy(buf, &le, 8);
        memcpy(buf + 8, "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19]", 20);
        memcpy(buf + 8 + 20 - 1, "]", 1);
        expect_error(buf, 8 + 20, "not a JSON object");
        free(buf);
}
END_TEST

START_TEST(test_bad_metadata_json) {
        json_object *header = json_tokener_parse(strndupa((const char *) base + 8, base_hlen)), *meta;
        const char *text;
        size_t hlen, n;
        uint8_t *buf;
        uint64_t le;

        ck_assert(json_object_object_get_ex(header, "__metadata__", &meta));
        json_object_object_add(meta, "deepactif", json_object_new_string("{\"format_version\": 1,"));
        text = json_object_to_json_string_ext(header, JSON_C_TO_STRING_PLAIN);
        hlen = strlen(text);
        n = 8 + hlen + (base_size - 8 - base_hlen);
        buf = malloc(n);
        le = hlen;
        memcpy(buf, &le, 8);
        memcpy(buf + 8, text, hlen);
        memcpy(buf + 8 + hlen, base + 8 + base_hlen, base_size - 8 - base_hlen);
        expect_error(buf, n, "'deepactif' metadata is not valid JSON");

        json_object_object_del(header, "__metadata__");
        text = json_object_to_json_string_ext(header, JSON_C_TO_STRING_PLAIN);
        hlen = strlen(text);
        le = hlen;
        memcpy(buf, &le, 8);
        memcpy(buf + 8, text, hlen);
        expect_error(buf, 8 + hlen, "no __metadata__");
        free(buf);
        json_object_put(header);
}
END_TEST

START_TEST(test_tensors) {
        expect_variant_error(m_drop_tensor, "tensor 'fc.bias' is missing");
        expect_variant_error(m_extra_tensor, "tensor 'extra.weight' is not part of this architecture");
        expect_variant_error(m_shape, "tensor 'fc.weight' has shape [2,4], expected [1, 8]");
        expect_variant_error(m_dtype, "tensor 'lstm.weight_hh_l0' has dtype F16, expected F32");
        expect_variant_error(m_offsets, "tensor 'fc.bias': data offsets");
        expect_variant_error(m_overlap, "overlaps");
        expect_variant_error(m_hidden_changed, "tensor 'lstm.weight_ih_l0' has shape [32,3], expected [36, 3]");
}
END_TEST

START_TEST(test_metadata) {
        expect_variant_error(m_version, "unsupported model format version 2");
        expect_variant_error(m_no_hidden, "'architecture.hidden_size' is missing");
        expect_variant_error(m_hidden_type, "'architecture.hidden_size' must be a int");
        expect_variant_error(m_pooling, "'architecture.pooling' has unknown value 'median'");
        expect_variant_error(m_features, "'features' lists 2 names, the LSTM takes 3 inputs");
        expect_variant_error(m_features_dup, "names 'same' twice");
        expect_variant_error(m_iqr, "'scaler.iqr[1]' must be a finite positive number");
        expect_variant_error(m_task, "'task.type' has unknown value 'ranking'");
        expect_variant_error(m_window, "'window.length' is 0");
        expect_variant_error(m_scaling_type, "'scaling.type' has unknown value 'per-device'");
        expect_variant_error(m_scaling_no_type, "'scaling.type' is missing");
        expect_variant_error(m_scaling_no_warmup, "'scaling.warmup' is missing");
        expect_variant_error(m_scaling_warmup_zero, "'scaling.warmup' is 0, must be in 4..100000");
        expect_variant_error(m_scaling_warmup_type, "'scaling.warmup' must be a int");
        expect_variant_error(m_scaling_global_warmup, "'scaling.warmup' is only for per-user scaling");
        expect_variant_error(m_scaling_extra, "'scaling.window' is unknown");
        expect_variant_error(m_scaling_string, "'scaling' must be an object");
        (void) m_no_meta;
}
END_TEST

static void poke_float(float value, const char *needle) {
        uint8_t *buf = malloc(base_size);

        memcpy(buf, base, base_size);
        /* the first tensor's first element sits at the start of the data area */
        memcpy(buf + 8 + base_hlen, &value, 4);
        expect_error(buf, base_size, needle);
        free(buf);
}

START_TEST(test_non_finite) {
        poke_float(NAN, "holds NaN");
        poke_float(INFINITY, "holds Inf");
}
END_TEST

START_TEST(test_files) {
        _cleanup_free_ char *dir = test_mkdtemp(), *empty = NULL;
        da_model *m = (da_model *) 0x1;
        da_error err = {};

        ck_assert_int_lt(da_model_load("/nonexistent/model.safetensors", &m, &err), 0);
        ck_assert_ptr_nonnull(strstr(err.message, "cannot open"));
        ck_assert_int_eq(da_model_load(dir, &m, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err.message, "not a regular file"));
        ck_assert(asprintf(&empty, "%s/empty", dir) > 0);
        ck_assert_int_eq(test_write_file(empty, "", 0), 0);
        ck_assert_int_eq(da_model_load(empty, &m, &err), -EBADMSG);
        ck_assert_ptr_nonnull(strstr(err.message, "empty"));
        ck_assert_ptr_eq(m, (da_model *) 0x1);
        test_rmdir_r(dir);
}
END_TEST

/* Save → load gives the same weights, metadata and outputs. */
/* Files written before the reference ranking existed load without one; a
 * present one loads whole; a malformed one is refused naming the field. */
START_TEST(test_reference_ranking) {
        _cleanup_(da_model_freep) da_model *old = NULL, *m = NULL, *nul = NULL;
        da_reference_ranking ref = {};
        da_error err = {};
        size_t size;
        uint8_t *buf;

        ck_assert_int_eq(da_model_load_buffer(base, base_size, &old, &err), 0);
        ck_assert_int_eq(da_model_reference_ranking(old, &ref), -ENODATA);
        ck_assert_ptr_null(ref.scores);

        buf = variant(m_ref_null, &size);
        ck_assert_msg(da_model_load_buffer(buf, size, &nul, &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_model_reference_ranking(nul, &ref), -ENODATA);
        free(buf);

        buf = variant(m_ref_good, &size);
        ck_assert_msg(da_model_load_buffer(buf, size, &m, &err) == 0, "%s", err.message);
        ck_assert_int_eq(da_model_reference_ranking(m, &ref), 0);
        ck_assert_int_eq(ref.location, DA_TRACE_GATE);
        ck_assert_int_eq(ref.aggregation, DA_AGG_INV);
        ck_assert_uint_eq(ref.windows, 100);
        ck_assert_double_eq(ref.scores[0], 0.25);
        ck_assert_double_eq(ref.scores[1], 0.75);
        ck_assert_double_eq(ref.scores[2], 0.5);
        free(buf);

        expect_variant_error(m_ref_type, "'reference_ranking' must be an object or null");
        expect_variant_error(m_ref_short, "'reference_ranking.scores' has 2 entries, the model has 3 features");
        expect_variant_error(m_ref_string_score, "'reference_ranking.scores[1]' is not a number");
        expect_variant_error(m_ref_aggregation, "'reference_ranking.aggregation' has unknown value 'median'");
        expect_variant_error(m_ref_location, "'reference_ranking.location' is missing");
        expect_variant_error(m_ref_windows, "'reference_ranking.windows' is 0");
        expect_variant_error(m_ref_method, "'reference_ranking.method' has unknown value 'ig'");
}
END_TEST

START_TEST(test_round_trip) {
        _cleanup_(da_model_freep) da_model *m = NULL, *back = NULL;
        _cleanup_(da_ctx_freep) da_ctx *c1 = NULL, *c2 = NULL;
        _cleanup_free_ char *dir = test_mkdtemp(), *path = NULL;
        static const char *const names[] = { "vergence_angle", "ipd", "gaze_depth" };
        const float med[] = { 0.1f, 0.2f, 0.3f }, iqr[] = { 1.5f, 2.5f, 3.5f };
        da_arch arch = {
                .n_features = 3, .hidden = 20, .layers = 2, .batchnorm = true, .pooling = DA_POOL_MEAN,
                .dense = 7, .activation = DA_ACT_TANH, .outputs = 2, .window = 6, .hop = 2,
        };
        /* 0.1 and 1/3 do not survive a round trip through fewer than 17 digits. */
        const double scores[] = { 0.1, 1.0 / 3, -2.5e-7 };
        da_reference_ranking ref;
        float x[18], o1[2], o2[2];
        da_error err = {};
        uint64_t s = 7;

        ck_assert_int_eq(da_model_new_random(&arch, 99, &m), 0);
        ck_assert_int_eq(da_model_set_features(m, names, 3), 0);
        ck_assert_int_eq(da_model_set_scaler(m, med, iqr), 0);
        ck_assert_int_eq(da_model_set_task(m, DA_TASK_REGRESSION, "cm"), 0);
        ck_assert_int_eq(da_model_set_reference_ranking(m, &(da_reference_ranking) {
                                .location = DA_TRACE_INPUT, .aggregation = DA_AGG_PEN, .windows = 12345,
                                .scores = scores }), 0);
        ck_assert_int_eq(da_model_set_scaling(m, DA_SCALING_PER_USER, 3), -ERANGE);
        ck_assert_int_eq(da_model_set_scaling(m, DA_SCALING_PER_USER, 250), 0);
        ck_assert(asprintf(&path, "%s/m.safetensors", dir) > 0);
        ck_assert_msg(da_model_save(m, path, &err) == 0, "%s", err.message);
        ck_assert_msg(da_model_load(path, &back, &err) == 0, "%s", err.message);

        ck_assert_uint_eq(da_model_arch(back)->hidden, 20);
        ck_assert_uint_eq(da_model_arch(back)->layers, 2);
        ck_assert(da_model_arch(back)->batchnorm);
        ck_assert_int_eq(da_model_arch(back)->pooling, DA_POOL_MEAN);
        ck_assert_uint_eq(da_model_arch(back)->dense, 7);
        ck_assert_int_eq(da_model_arch(back)->activation, DA_ACT_TANH);
        ck_assert_uint_eq(da_model_arch(back)->outputs, 2);
        ck_assert_uint_eq(da_model_arch(back)->window, 6);
        ck_assert_uint_eq(da_model_arch(back)->hop, 2);
        ck_assert_str_eq(da_model_feature(back, 1), "ipd");
        ck_assert_str_eq(da_model_unit(back), "cm");
        ck_assert_mem_eq(da_model_scaler_iqr(back), iqr, sizeof(iqr));
        ck_assert_int_eq(da_model_reference_ranking(back, &ref), 0);
        ck_assert_int_eq(ref.location, DA_TRACE_INPUT);
        ck_assert_int_eq(ref.aggregation, DA_AGG_PEN);
        ck_assert_uint_eq(ref.windows, 12345);
        ck_assert_mem_eq(ref.scores, scores, sizeof(scores));
        {
                unsigned warmup = 0;

                ck_assert_int_eq(da_model_scaling(back, &warmup), DA_SCALING_PER_USER);
                ck_assert_uint_eq(warmup, 250);
        }
        ck_assert_mem_eq(back->layer[1].w_ih, m->layer[1].w_ih, sizeof(float) * 4 * 20 * 20);
        ck_assert_mem_eq(back->bn_var, m->bn_var, sizeof(float) * 20);
        ck_assert_float_eq(back->bn_eps, m->bn_eps);
        ck_assert_uint_eq(da_model_n_parameters(back), da_model_n_parameters(m));

        for (unsigned i = 0; i < 18; i++)
                x[i] = 2 * da_uniform01(&s) - 1;
        ck_assert_int_eq(da_ctx_new(m, 6, &c1), 0);
        ck_assert_int_eq(da_ctx_new(back, 6, &c2), 0);
        ck_assert_int_eq(da_forward(c1, x, 6, o1), 0);
        ck_assert_int_eq(da_forward(c2, x, 6, o2), 0);
        ck_assert_mem_eq(o1, o2, sizeof(o1));
        test_rmdir_r(dir);
}
END_TEST

/* 4·H·(F+H) + 8·H per layer, batchnorm's 2·H affine, dense and output layers;
 * this is the count PyTorch's sum(p.numel()) gives for the same modules. */
START_TEST(test_parameter_count) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        da_arch arch = {
                .n_features = 40, .hidden = 64, .layers = 1, .batchnorm = true, .pooling = DA_POOL_MAX,
                .dense = 32, .activation = DA_ACT_ELU, .outputs = 1, .window = 10, .hop = 1,
        };

        ck_assert_int_eq(da_model_new_random(&arch, 1, &m), 0);
        /* 4·64·(40+64) + 8·64 = 27136; + 128; fc1 32·65 = 2080; fc5 33 → 29377 */
        ck_assert_uint_eq(da_model_n_parameters(m), 29377);
}
END_TEST

int main(void) {
        Suite *s = suite_create("model-file");
        TCase *tc = tcase_create("load");

        if (load_base() < 0)
                return EXIT_FAILURE;
        tcase_add_test(tc, test_base_loads);
        tcase_add_test(tc, test_truncated);
        tcase_add_test(tc, test_header_length);
        tcase_add_test(tc, test_trailing);
        tcase_add_test(tc, test_bad_json);
        tcase_add_test(tc, test_bad_metadata_json);
        tcase_add_test(tc, test_tensors);
        tcase_add_test(tc, test_metadata);
        tcase_add_test(tc, test_non_finite);
        tcase_add_test(tc, test_files);
        tcase_add_test(tc, test_reference_ranking);
        tcase_add_test(tc, test_round_trip);
        tcase_add_test(tc, test_parameter_count);
        suite_add_tcase(s, tc);
        return test_run(s);
}
