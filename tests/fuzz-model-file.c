/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* libFuzzer target: the model file loader must reject any byte string with
 * an error, or load a model that a forward pass can run. */

#include "model.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        _cleanup_(da_model_freep) da_model *m = NULL;
        _cleanup_(da_ctx_freep) da_ctx *ctx = NULL;
        da_error err = {};
        float *x, out[4096];
        const da_arch *a;

        if (da_model_load_buffer(data, size, &m, &err) < 0)
                return 0;
        a = da_model_arch(m);
        /* keep each input cheap: the fuzzer is after parser bugs, not big models */
        if ((size_t) a->hidden * a->n_features > (1u << 20) || a->window > 64)
                return 0;
        if (da_ctx_new(m, a->window, &ctx) < 0)
                return 0;
        x = calloc((size_t) a->window * a->n_features, sizeof(float));
        if (x && da_forward(ctx, x, a->window, out) < 0)
                abort();
        free(x);
        return 0;
}
