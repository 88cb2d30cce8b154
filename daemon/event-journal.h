/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* Device events in the journal, one MESSAGE_ID per kind; the catalog
 * (units/deepactif.catalog, installed to /usr/lib/systemd/catalog/) explains
 * each under journalctl -x. */

#include "event.h"

/* The MESSAGE_ID of a kind, 32 hex digits. */
const char *event_message_id(da_event_kind kind);
void event_journal(const DeviceEvent *e);
