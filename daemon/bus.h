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

#define BUS_NAME "io.deepactif.Daemon1"
#define BUS_MANAGER_PATH "/io/deepactif/Daemon1"
#define BUS_DEVICE_PREFIX "/io/deepactif/Daemon1/device"
#define BUS_MANAGER_INTERFACE "io.deepactif.Daemon1.Manager"
#define BUS_DEVICE_INTERFACE "io.deepactif.Daemon1.Device"
#define BUS_API_VERSION 1u

#define BUS_ERROR_NO_SUCH_DEVICE "io.deepactif.Daemon1.NoSuchDevice"
#define BUS_ERROR_NO_RANKING "io.deepactif.Daemon1.NoRanking"
#define BUS_ERROR_FAILED "io.deepactif.Daemon1.Failed"

#define POLKIT_ACTION_MANAGE "io.deepactif.manage"

extern const sd_bus_vtable bus_manager_vtable[];
extern const sd_bus_vtable bus_device_vtable[];

/* bus.c: connects (the session bus with --user), registers the objects and
 * requests the name asynchronously, holding READY=1 until it is owned. */
int manager_bus_connect(Manager *m);
void manager_bus_disconnect(Manager *m);
/* Signals only go out once the name is owned. */
bool manager_bus_ready(const Manager *m);
/* The XML of both interfaces, as sd-bus introspects the vtables. */
int bus_introspect_xml(char **ret);

/* bus-manager.c */
const char *manager_state_to_string(const Manager *m);
/* Flushes what is queued so a query sees the newest snapshots. */
void manager_flush_for_query(Manager *m);
/* PropertiesChanged for State when it differs from what was last sent. */
void bus_manager_send_state_changed(Manager *m);

/* bus-device.c */
int bus_device_path(const Device *d, char **ret);
int bus_device_register(Manager *m);
/* RankingChanged and PropertiesChanged for a device's new snapshot. */
void bus_device_send_ranking_changed(Manager *m, Device *d);
/* The Event signal, and PropertiesChanged for OpenEvents. */
void bus_device_send_event(Manager *m, Device *d, const DeviceEvent *e);

/* bus-polkit.c: root, or the caller holds polkit action. Answers the
 * method call itself, now or when polkit replies: on success by calling
 * fn and returning its reply, else with org.freedesktop.DBus.Error.AccessDenied naming
 * the way to gain the privilege. Returns what an sd-bus handler returns. */
typedef int (*bus_privileged_fn)(sd_bus_message *message, Manager *m, sd_bus_error *error);
int bus_verify_and_run(sd_bus_message *message, Manager *m, const char *action, bus_privileged_fn fn,
                       sd_bus_error *error);
