/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The preprocessing of the papers' public code (benedikt-hosp/actif,
 * models/foval/foval_preprocessor.py and dataset_classes/
 * robustVision_dataset.py), for `deepactifctl evaluate --protocol
 * published` only: it looks at every subject's labels, the test subject's
 * included. */

#include "deepactif.h"

#define PUBLISHED_BINS 60u

/* detect_and_remove_outliers_in_features_iqr(): of n rows × cols, keeps
 * those where every column lies within Q1 − 1.5·IQR … Q3 + 1·IQR of that
 * column (quartiles as pandas' quantile, linear). Writes the kept rows'
 * indices, in order, to ret_keep (n entries) and their number to ret_n. */
int published_iqr_filter(const float *x, size_t n, unsigned cols, size_t *ret_keep, size_t *ret_n);

/* binData(): the targets cut into n_bins bins of equal width as pandas.cut
 * does; every non-empty bin resampled to ⌊mean count over the non-empty
 * bins⌋ rows (with replacement when it has fewer, without when it has
 * more, unchanged when it has exactly the mean) and the bins concatenated
 * in order of depth. *ret_idx (malloc'd) holds the source rows. */
int published_bin_balance(const float *target, size_t n, unsigned n_bins, uint64_t seed, size_t **ret_idx,
                          size_t *ret_n);

/* Applies the data steps chosen in `steps` (DA_PUBLISHED_IQR,
 * DA_PUBLISHED_BINS, DA_PUBLISHED_SUBJECT_SCALER) to every subject in place:
 * the rows that end a window, with their targets, are filtered (on the raw
 * gaze columns and the target, as published) and/or
 * resampled, windows are cut again from consecutive rows of the result
 * (target: the window's last row's), and each subject's rows are scaled
 * with a robust scaler fit on that subject alone. */
int published_apply(da_dataset *ds, unsigned steps, uint64_t seed, da_error *err);
