/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <stdint.h>

#include "util.h"

/* "gaze.point.x, eye.left.direction.z" for a bitmask over da_channel; NULL
 * when out of memory. */
char *channel_mask_to_string(uint64_t mask);
