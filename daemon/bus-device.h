/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* One object per device, /io/deepactif/Daemon1/device/<escaped name>,
 * interface io.deepactif.Daemon1.Device. */

#include <systemd/sd-bus.h>

#include "manager.h"
#include "names.h"

extern const sd_bus_vtable bus_device_vtable[];

int bus_device_path(const Device *d, char **ret);
int bus_device_register(Manager *m);
/* RankingChanged and PropertiesChanged for a device's new snapshot. */
void bus_device_send_ranking_changed(Manager *m, Device *d);
/* The Event signal, and PropertiesChanged for OpenEvents. */
void bus_device_send_event(Manager *m, Device *d, const DeviceEvent *e);
/* PropertiesChanged for a device told of a new user: warming up again. */
void bus_device_send_user_reset(Manager *m, Device *d);
/* A snapshot's ranking, best first, at most top_k (0: all): a(sud). */
int bus_append_scores(sd_bus_message *m, const store_record *rec, size_t top_k);
