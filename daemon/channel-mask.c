/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <stdio.h>

#include "channel-mask.h"

char *channel_mask_to_string(uint64_t mask) {
        char *s = NULL;
        size_t n = 0;
        FILE *f = open_memstream(&s, &n);

        if (!f)
                return NULL;
        for (unsigned c = 0; c < _DA_CH_MAX; c++)
                if (mask & (UINT64_C(1) << c))
                        fprintf(f, "%s%s", ftell(f) > 0 ? ", " : "", da_channel_name(c));
        if (fclose(f) != 0)
                return mfree(s);
        return s;
}
