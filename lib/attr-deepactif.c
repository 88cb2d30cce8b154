/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* DeepACTIF's per-step trace values as attributions (DESIGN §4.3, before the
 * mean over the window): |x[t,f]| at the input, or Σ_j |i[t,j]·W_g[j,f]·x[t,f]|
 * at layer 0's input gate. */

#include <math.h>

#include "attribute.h"
#include "tape.h"

int attr_deepactif(const da_model *m, const da_attr_options *o, const float *x, const float *xb, unsigned T,
                   float *ret_phi, da_attr_result *ret, da_error *err) {
        _cleanup_(tape_freep) Tape *t = NULL;
        unsigned F = m->arch.n_features, H = m->arch.hidden;
        const float *w_g = m->layer[0].w_ih + (size_t) 2 * H * F;
        int r;

        r = tape_new(m, T, 1, &t);
        if (r >= 0)
                r = tape_forward_float(t, x, T, 1, NULL);
        if (r < 0)
                return da_error_set(err, r, "forward pass failed: %s", strerror(-r));

        for (unsigned s = 0; s < T; s++) {
                const double *i = tape_act(t, 0, s, 0);

                for (unsigned f = 0; f < F; f++) {
                        double v = x[(size_t) s * F + f], a = 0;

                        if (o->location == DA_TRACE_INPUT)
                                a = fabs(v);
                        else
                                for (unsigned j = 0; j < H; j++)
                                        a += fabs(i[j] * w_g[(size_t) j * F + f] * v);
                        ret_phi[(size_t) s * F + f] = (float) a;
                }
        }
        if (ret)
                *ret = (da_attr_result) {
                        .output = t->out[o->output],
                        .baseline_output = NAN,
                        .delta = NAN,
                };
        return 0;
}
