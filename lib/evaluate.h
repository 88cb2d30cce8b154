/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The steps of the keep-top-k protocol behind da_evaluate(), for tests. */

#include "deepactif.h"

/* Trains from scratch on the training subjects with only the first `kept`
 * features of order (data set feature indices, best first) and scores the
 * held-out subjects: MAE in cm. With chain (the published model reuse),
 * starts from *chain's weights when set and leaves the new model there. */
int evaluate_keep_topk(const da_dataset *ds, const unsigned *train, unsigned n_train, const unsigned *test,
                       unsigned n_test, const unsigned *order, unsigned kept, const da_train_options *topt,
                       da_model **chain, double *ret_mae_cm, da_error *err);

/* ⌊F·k/100⌋, at least 1 and at most F. */
unsigned evaluate_kept(unsigned n_features, unsigned k_percent);
