/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "adamw.h"
#include "util.h"

int adamw_new(size_t n, double weight_decay, AdamW **ret) {
        AdamW *a;

        a = calloc(1, sizeof(*a));
        if (!a)
                return -ENOMEM;
        *a = (AdamW) {
                .n = n,
                .beta1 = 0.9,           /* PyTorch's defaults */
                .beta2 = 0.999,
                .eps = 1e-8,
                .weight_decay = weight_decay,
                .m = calloc(n ? n : 1, sizeof(double)),
                .v = calloc(n ? n : 1, sizeof(double)),
        };
        if (!a->m || !a->v) {
                adamw_free(a);
                return -ENOMEM;
        }
        *ret = a;
        return 0;
}

AdamW *adamw_free(AdamW *a) {
        if (!a)
                return NULL;
        free(a->m);
        free(a->v);
        return mfree(a);
}

void adamw_step(AdamW *a, double *params, const float *const *parts, unsigned n_parts, double lr) {
        double bc1, bc2_sqrt, step_size;

        a->step++;
        bc1 = 1 - pow(a->beta1, (double) a->step);
        bc2_sqrt = sqrt(1 - pow(a->beta2, (double) a->step));
        step_size = lr / bc1;

        for (size_t i = 0; i < a->n; i++) {
                double denom, g = 0;

                for (unsigned k = 0; k < n_parts; k++)
                        g += parts[k][i];
                params[i] *= 1 - lr * a->weight_decay;
                a->m[i] = a->beta1 * a->m[i] + (1 - a->beta1) * g;
                a->v[i] = a->beta2 * a->v[i] + (1 - a->beta2) * g * g;
                denom = sqrt(a->v[i]) / bc2_sqrt + a->eps;
                params[i] -= step_size * a->m[i] / denom;
        }
}
