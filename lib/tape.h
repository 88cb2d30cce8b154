/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* A forward pass in double precision that records every intermediate, for
 * backpropagation and the attribution methods. It runs B windows at once so
 * the weight matrices are streamed once per step for all of them.
 *
 * Layouts (row-major; s = step, b = window in the batch, j = unit):
 *   x      [s][b][F]            the inputs
 *   pre    [l][s][b][4H]        gate pre-activations, gate order i, f, g, o
 *   act    [l][s][b][4H]        σ(i), σ(f), tanh(g), σ(o)
 *   c, tc  [l][s][b][H]         cell state and tanh(c)
 *   h      [l][s][b][H]         hidden state, o·tanh(c)
 *   bn     [s][b][H]            top-layer h after eval-mode batchnorm (= h without)
 *   pooled [b][H], argmax [b][H] (max pooling: the step each unit came from)
 *   z1, a1 [b][D]               fc1 pre-activation and activation
 *   out    [b][O]
 * Use the accessors below rather than computing offsets. */

#include "model.h"
#include "util.h"

typedef struct Tape {
        const da_model *m;
        unsigned F, H, L, D, O;
        unsigned max_T, max_B;
        unsigned T, B;                  /* of the last tape_forward() */

        double *x, *pre, *act, *c, *tc, *h, *bn;
        double *pooled, *z1, *a1, *out;
        unsigned *argmax;

        /* backprop scratch, owned here so a tape is the one allocation */
        double *d_seq;                  /* [s][b][max(F, H)]: δ of a layer's inputs */
        double *d_top;                  /* [s][b][H]: δ of the top layer's h from the head */
        double *d_pre;                  /* [b][4H] */
        double *d_h, *d_c;              /* [b][H]: recurrent δ carried to the previous step */
        double *d_head;                 /* [2H + D]: one window's head δs */
} Tape;

int tape_new(const da_model *m, unsigned max_T, unsigned max_B, Tape **ret);
Tape *tape_free(Tape *t);

/* B windows (x: B × T × F, window-major as callers hold them) from zero
 * state; writes B × O outputs to ret_out when non-NULL. */
int tape_forward(Tape *t, const double *x, unsigned T, unsigned B, double *ret_out);
/* The same for float windows. */
int tape_forward_float(Tape *t, const float *x, unsigned T, unsigned B, double *ret_out);

static inline size_t tape_row(const Tape *t, unsigned l, unsigned s, unsigned b) {
        return ((size_t) l * t->T + s) * t->B + b;
}
static inline const double *tape_pre(const Tape *t, unsigned l, unsigned s, unsigned b) {
        return t->pre + tape_row(t, l, s, b) * 4 * t->H;
}
static inline const double *tape_act(const Tape *t, unsigned l, unsigned s, unsigned b) {
        return t->act + tape_row(t, l, s, b) * 4 * t->H;
}
static inline const double *tape_c(const Tape *t, unsigned l, unsigned s, unsigned b) {
        return t->c + tape_row(t, l, s, b) * t->H;
}
static inline const double *tape_tc(const Tape *t, unsigned l, unsigned s, unsigned b) {
        return t->tc + tape_row(t, l, s, b) * t->H;
}
static inline const double *tape_h(const Tape *t, unsigned l, unsigned s, unsigned b) {
        return t->h + tape_row(t, l, s, b) * t->H;
}
static inline const double *tape_x(const Tape *t, unsigned s, unsigned b) {
        return t->x + ((size_t) s * t->B + b) * t->F;
}
static inline const double *tape_bn(const Tape *t, unsigned s, unsigned b) {
        return t->bn + ((size_t) s * t->B + b) * t->H;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Tape *, tape_free);
