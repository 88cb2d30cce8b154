/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <math.h>

#include "util.h"

static const struct {
        const char *name, *unit;
} channels[_DA_CH_MAX] = {
#define DA_CHANNEL_ENTRY(id, n, u) [DA_CH_##id] = { n, u },
        DA_CHANNELS(DA_CHANNEL_ENTRY)
#undef DA_CHANNEL_ENTRY
};

const char *da_channel_name(da_channel c) {
        return (unsigned) c < _DA_CH_MAX ? channels[c].name : NULL;
}

const char *da_channel_unit(da_channel c) {
        return (unsigned) c < _DA_CH_MAX ? channels[c].unit : NULL;
}

int da_channel_from_name(const char *name) {
        for (unsigned i = 0; i < _DA_CH_MAX; i++)
                if (name && streq(channels[i].name, name))
                        return (int) i;
        return -EINVAL;
}

void da_frame_init(da_frame *f, uint64_t time_us) {
        f->time_us = time_us;
        for (unsigned i = 0; i < _DA_CH_MAX; i++)
                f->ch[i] = NAN;
}
