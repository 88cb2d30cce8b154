/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's D-Bus API (io.deepactif.Daemon1(5)): the connection itself
 * (bus.c), the manager object (bus-manager.h), one object per device
 * (bus-device.h) and the privilege check for state changes (bus-polkit.h).
 * Calls go one way: bus.c → bus-manager.c → bus-device.c, bus-polkit.c.
 * The vtables are the single source of truth; bus_introspect_xml() renders
 * them as the XML shipped in units/io.deepactif.Daemon1.xml.
 */

#include "manager.h"

/* Connects (the session bus with --user), registers the objects and
 * requests the name asynchronously, holding READY=1 until it is owned. */
int manager_bus_connect(Manager *m);
void manager_bus_disconnect(Manager *m);
/* The XML of both interfaces, as sd-bus introspects the vtables. */
int bus_introspect_xml(char **ret);
