/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's D-Bus API (io.deepactif.Daemon1(5)): the manager object
 * (bus-manager.c), one object per device (bus-device.c), the privilege check
 * for state changes (bus-polkit.c), and the connection itself (bus.c). The
 * vtables are the single source of truth; bus_introspect_xml() renders them
 * as the XML shipped in units/io.deepactif.Daemon1.xml.
 */

#include <systemd/sd-bus.h>

#include "manager.h"
#include "names.h"

extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_device_vtable[];

/* bus.c: connects (the session bus with --user), registers the objects and
 * requests the name asynchronously, holding READY=1 until it is owned. */
int manager_bus_connect(Manager *m);
void manager_bus_disconnect(Manager *m);
/* The XML of both interfaces, as sd-bus introspects the vtables. */
int bus_introspect_xml(char **ret);

/* Signals only go out once the name is owned. Inline, so that bus-manager.c
 * and bus-device.c never call back into bus.c: the calls go one way,
 * bus.c → bus-manager.c → bus-device.c, bus-polkit.c. */
static inline bool manager_bus_ready(const Manager *m) {
        return m->bus && m->bus_name_owned;
}

/* bus-manager.c */
/* PropertiesChanged for State when it differs from what was last sent. */
void bus_manager_send_state_changed(Manager *m);

/* bus-device.c */
/* A snapshot's ranking, best first, at most top_k (0: all): a(sud). */
int bus_append_scores(sd_bus_message *m, const store_record *rec, size_t top_k);
int bus_device_path(const Device *d, char **ret);
int bus_device_register(Manager *m);
/* RankingChanged and PropertiesChanged for a device's new snapshot. */
void bus_device_send_ranking_changed(Manager *m, Device *d);

/* bus-polkit.c: root, or the caller holds polkit action. Answers the
 * method call itself, now or when polkit replies: on success by calling
 * fn and returning its reply, else with org.freedesktop.DBus.Error.AccessDenied naming
 * the way to gain the privilege. Returns what an sd-bus handler returns. */
typedef int (*bus_privileged_fn)(sd_bus_message *message, Manager *m, sd_bus_error *error);
int bus_verify_and_run(sd_bus_message *message, Manager *m, const char *action, bus_privileged_fn fn,
                       sd_bus_error *error);
