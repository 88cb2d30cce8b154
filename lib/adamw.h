/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* AdamW (Loshchilov & Hutter) as torch.optim.AdamW computes it: decoupled
 * weight decay, then the bias-corrected Adam step. */

#include <stddef.h>

typedef struct AdamW {
        size_t n;
        double beta1, beta2, eps, weight_decay;
        unsigned long step;
        double *m, *v;          /* first and second moments, n each */
} AdamW;

int adamw_new(size_t n, double weight_decay, AdamW **ret);
AdamW *adamw_free(AdamW *a);
/* Parameters first … first + n − 1 also stored as floats at `to` (a
 * model's tensor), in the pass that steps them. */
typedef struct AdamWOut {
        size_t first, n;
        float *to;
} AdamWOut;

/* One step on params (n) at learning rate lr with the gradient the sum of
 * n_parts parts (n floats each), added in double in the order given: the
 * minibatch's chunks, summed in the same pass that steps. The n_out ranges
 * of out (ascending, not overlapping) get the new values as floats too. */
void adamw_step(AdamW *a, double *params, const float *const *parts, unsigned n_parts, double lr,
                const AdamWOut *out, unsigned n_out);
