/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * libdeepactif — LSTM gaze models, the DeepACTIF attribution method and the
 * baselines it is measured against. The runtime API (running a model over a
 * stream and ranking its features) is <deepactif-runtime.h>; the research API
 * (baselines, training, evaluation, statistics) is <deepactif-research.h>.
 * This header includes both.
 */

#include "deepactif-runtime.h"
#include "deepactif-research.h"
