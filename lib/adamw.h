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
/* One step on params (n) with gradient g at learning rate lr. */
void adamw_step(AdamW *a, double *params, const double *g, double lr);
