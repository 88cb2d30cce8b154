/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* json-c helpers the daemon and the client share. */

#include <json-c/json.h>

static inline void json_object_putp(json_object **o) {
        if (*o)
                json_object_put(*o);
}
