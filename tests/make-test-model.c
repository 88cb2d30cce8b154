/* SPDX-License-Identifier: LGPL-2.1-or-later */

/*
 * Writes a model for the daemon's tests, as no trained default model exists
 * yet: random weights (da_model_new_random, seeded), the given derived
 * features (default: the Robust Vision set), and a robust scaler fitted on
 * the features of a recording.
 *
 *     make-test-model OUT RECORDING [FEATURE,FEATURE,...] [WINDOW] [HOP]
 */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "deepactif.h"
#include "util.h"

#define SEED 20240601u

static int fail(const char *step, int r, const da_error *err) {
        fprintf(stderr, "make-test-model: %s: %s\n", step, err && err->message[0] ? err->message : strerror(-r));
        return 1;
}

int main(int argc, char *argv[]) {
        unsigned idx[256], F = 0, T = 10, hop = 1;
        const char *names[256];
        da_featurizer *fz = NULL;
        da_reader *reader = NULL;
        da_model *m = NULL;
        da_error err = {};
        float *rows = NULL, *median, *iqr;
        size_t n = 0, cap = 0;
        da_frame frame;
        int r;

        if (argc < 3 || argc > 6) {
                fprintf(stderr, "usage: %s OUT RECORDING [FEATURE,...] [WINDOW] [HOP]\n", argv[0]);
                return 2;
        }
        if (argc > 3 && argv[3][0]) {
                _cleanup_free_ char *list = strdup(argv[3]);
                char *save = NULL;

                if (!list)
                        return fail("feature list", -ENOMEM, NULL);
                for (char *w = strtok_r(list, ",", &save); w && F < 256; w = strtok_r(NULL, ",", &save)) {
                        r = da_feature_from_name(w);
                        if (r < 0)
                                return fail(w, r, NULL);
                        idx[F++] = (unsigned) r;
                }
        } else
                for (F = 0; F < DA_FEATURES_ROBUSTVISION; F++)
                        idx[F] = F;
        if (argc > 4)
                T = (unsigned) atoi(argv[4]);
        if (argc > 5)
                hop = (unsigned) atoi(argv[5]);
        for (unsigned f = 0; f < F; f++)
                names[f] = da_feature_get(idx[f])->name;

        r = da_featurizer_new(idx, F, &fz);
        if (r < 0)
                return fail("featurizer", r, NULL);
        r = da_reader_open(argv[2], DA_REC_AUTO, &reader, &err);
        if (r < 0)
                return fail(argv[2], r, &err);
        while ((r = da_reader_next(reader, &frame, &err)) > 0) {
                if (n == cap) {
                        cap = cap ? 2 * cap : 1024;
                        rows = realloc(rows, cap * F * sizeof(float));
                        if (!rows)
                                return fail("rows", -ENOMEM, NULL);
                }
                r = da_featurizer_push(fz, &frame, rows + n * F);
                if (r < 0)
                        return fail("featurize", r, NULL);
                n++;
        }
        if (r < 0)
                return fail(argv[2], r, &err);

        median = calloc(F, sizeof(float));
        iqr = calloc(F, sizeof(float));
        r = da_scaler_fit(rows, n, F, median, iqr);
        if (r < 0)
                return fail("scaler fit", r, NULL);

        r = da_model_new_random(&(da_arch) {
                        .n_features = F,
                        .hidden = 16,
                        .layers = 1,
                        .pooling = DA_POOL_LAST,
                        .dense = 0,
                        .activation = DA_ACT_NONE,
                        .outputs = 1,
                        .window = T,
                        .hop = hop,
                }, SEED, &m);
        if (r < 0)
                return fail("random model", r, NULL);
        r = da_model_set_features(m, names, F);
        if (r >= 0)
                r = da_model_set_scaler(m, median, iqr);
        if (r >= 0)
                r = da_model_set_task(m, DA_TASK_REGRESSION, "m");
        if (r < 0)
                return fail("model metadata", r, NULL);
        r = da_model_save(m, argv[1], &err);
        if (r < 0)
                return fail(argv[1], r, &err);

        da_model_free(m);
        da_reader_free(reader);
        da_featurizer_free(fz);
        free(rows);
        free(median);
        free(iqr);
        return 0;
}
