/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <glob.h>
#include <math.h>

#include "lstm-fixture.h"

unsigned lstm_fixture_count(void) {
        _cleanup_free_ char *pattern = test_path("fixtures/lstm/*.json");
        glob_t g;
        unsigned n;

        if (!pattern || glob(pattern, 0, NULL, &g) != 0)
                return 0;
        n = (unsigned) g.gl_pathc;
        globfree(&g);
        return n;
}

bool lstm_fixture_load(unsigned i, lstm_fixture *ret) {
        _cleanup_free_ char *pattern = test_path("fixtures/lstm/*.json");
        glob_t g;
        json_object *a, *v;
        lstm_fixture fx = {};

        ck_assert_int_eq(glob(pattern, 0, NULL, &g), 0);
        if (i >= g.gl_pathc) {
                globfree(&g);
                return false;
        }
        fx.path = strdup(g.gl_pathv[i]);
        globfree(&g);
        ck_assert_ptr_nonnull(fx.path);
        fx.doc = test_load_json(fx.path);
        ck_assert_msg(fx.doc, "cannot parse %s", fx.path);
        ck_assert(json_object_object_get_ex(fx.doc, "arch", &a));

#define U(key) (json_object_object_get_ex(a, key, &v), (unsigned) json_object_get_int(v))
        fx.arch = (da_arch) {
                .n_features = U("input_size"), .hidden = U("hidden_size"), .layers = U("num_layers"),
                .dense = U("dense"), .outputs = U("outputs"), .window = U("window"), .hop = 1,
        };
#undef U
        json_object_object_get_ex(a, "batchnorm", &v);
        fx.arch.batchnorm = json_object_get_boolean(v);
        json_object_object_get_ex(a, "pooling", &v);
        fx.arch.pooling = da_pooling_from_string(json_object_get_string(v));
        json_object_object_get_ex(a, "activation", &v);
        fx.arch.activation = da_activation_from_string(json_object_get_string(v));
        json_object_object_get_ex(fx.doc, "seed", &v);
        fx.seed = (uint64_t) json_object_get_int64(v);
        json_object_object_get_ex(fx.doc, "input", &v);
        ck_assert_uint_eq(test_json_floats(v, &fx.x), (size_t) fx.arch.window * fx.arch.n_features);
        ck_assert_int_eq(da_model_new_random(&fx.arch, fx.seed, &fx.model), 0);
        *ret = fx;
        return true;
}

void lstm_fixture_done(lstm_fixture *fx) {
        free(fx->path);
        json_object_put(fx->doc);
        free(fx->x);
        da_model_free(fx->model);
        *fx = (lstm_fixture) {};
}

size_t lstm_fixture_doubles(const lstm_fixture *fx, json_object *parent, const char *key, double **ret) {
        json_object *v;

        if (!json_object_object_get_ex(parent ?: fx->doc, key, &v)) {
                *ret = NULL;
                return 0;
        }
        return test_json_doubles(v, ret);
}

double rel_error_d(const double *a, const double *b, size_t n) {
        double num = 0, den = 0;

        for (size_t k = 0; k < n; k++) {
                num = fmax(num, fabs(a[k] - b[k]));
                den = fmax(den, fabs(b[k]));
        }
        return den > 0 ? num / den : num;
}
