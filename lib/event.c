/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Event kinds by name, as the daemon publishes and stores them. */

#include "util.h"

static const char *const event_kind_names[_DA_EVENT_MAX] = {
        [DA_EVENT_RANKING_SHIFT] = "ranking-shift",
        [DA_EVENT_RANKING_RECOVERED] = "ranking-recovered",
        [DA_EVENT_CHANNEL_FROZEN] = "channel-frozen",
        [DA_EVENT_CHANNEL_MISSING] = "channel-missing",
        [DA_EVENT_CHANNEL_OUT_OF_RANGE] = "channel-out-of-range",
        [DA_EVENT_CHANNEL_RECOVERED] = "channel-recovered",
        [DA_EVENT_CHANNEL_DRIFT] = "channel-drift",
        [DA_EVENT_CHANNEL_NOISY] = "channel-noisy",
};

const char *da_event_kind_to_string(da_event_kind k) {
        return (unsigned) k < _DA_EVENT_MAX ? event_kind_names[k] : NULL;
}

int da_event_kind_from_string(const char *s) {
        for (unsigned k = 0; s && k < _DA_EVENT_MAX; k++)
                if (streq(event_kind_names[k], s))
                        return (int) k;
        return -EINVAL;
}
