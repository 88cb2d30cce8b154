/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The PyTorch LSTM fixtures of contrib/make-test-fixtures.py, for the
 * gradient and attribution tests: the architecture, seed and input of each,
 * and the model rebuilt from the seed. */

#include "test-util.h"

typedef struct lstm_fixture {
        char *path;
        json_object *doc;
        da_arch arch;
        uint64_t seed;
        float *x;               /* T × F */
        da_model *model;
} lstm_fixture;

/* Loads the i-th fixture under fixtures/lstm (sorted); false past the end. */
/* How many there are; 0 if none (call outside a test). */
unsigned lstm_fixture_count(void);
bool lstm_fixture_load(unsigned i, lstm_fixture *ret);
void lstm_fixture_done(lstm_fixture *fx);
/* A JSON member of the document as doubles (NULL, 0 if absent). */
size_t lstm_fixture_doubles(const lstm_fixture *fx, json_object *parent, const char *key, double **ret);
/* max_k |a_k − b_k| / max_k |b_k| in double. */
double rel_error_d(const double *a, const double *b, size_t n);
