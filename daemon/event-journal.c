/* SPDX-License-Identifier: LGPL-2.1-or-later */

#include <syslog.h>
#include <systemd/sd-journal.h>

#include "event-journal.h"
#include "log.h"

/* Keep in step with units/deepactif.catalog. */
static const char *const message_ids[_DA_EVENT_MAX] = {
        [DA_EVENT_RANKING_SHIFT] = "a439345c40f44586bbdaafa1cef43b74",
        [DA_EVENT_RANKING_RECOVERED] = "49c7ba58b57e42ba9857592d061e82f8",
        [DA_EVENT_CHANNEL_FROZEN] = "9257f5d6dae14f6386ca7d71afe275af",
        [DA_EVENT_CHANNEL_MISSING] = "4c0041685d044e28b7b4a03236437c8f",
        [DA_EVENT_CHANNEL_OUT_OF_RANGE] = "a935cd5505c94d7ab5709c01239fc51f",
        [DA_EVENT_CHANNEL_RECOVERED] = "52b66b219f5d449183c5134ec6432898",
        [DA_EVENT_CHANNEL_DRIFT] = "5d8c7ed4768f44fd9cd7aaacbc409581",
        [DA_EVENT_CHANNEL_NOISY] = "8ed817c5ccb74ad5bb867c466882b78b",
};

const char *event_message_id(da_event_kind kind) {
        return (unsigned) kind < _DA_EVENT_MAX ? message_ids[kind] : NULL;
}

void event_journal(const DeviceEvent *e) {
        bool recovered = e->kind == DA_EVENT_RANKING_RECOVERED || e->kind == DA_EVENT_CHANNEL_RECOVERED;
        int priority = recovered ? LOG_INFO : LOG_WARNING, r;

        if (priority > log_get_max_level())
                return;
        r = sd_journal_send("MESSAGE=Device %s: %s", e->device, e->detail,
                            "MESSAGE_ID=%s", event_message_id(e->kind),
                            "PRIORITY=%i", priority,
                            "DEEPACTIF_DEVICE=%s", e->device,
                            "DEEPACTIF_EVENT=%s", da_event_kind_to_string(e->kind),
                            "DEEPACTIF_CHANNEL=%s", e->channel ?: "",
                            "DEEPACTIF_STREAM_TIME_USEC=%" PRIu64, e->stream_time_us,
                            NULL);
        /* No journal (a test, a container without journald): stderr. */
        if (r < 0)
                log_full(priority, "Device %s: %s", e->device, e->detail);
}
