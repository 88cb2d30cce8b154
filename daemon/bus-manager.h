/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The manager object /io/deepactif/Daemon1, interface io.deepactif.Daemon1.Manager. */

#include <systemd/sd-bus.h>

#include "manager.h"
#include "names.h"

extern const sd_bus_vtable bus_manager_vtable[];

/* PropertiesChanged for State when it differs from what was last sent. */
void bus_manager_send_state_changed(Manager *m);
