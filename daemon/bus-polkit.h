/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

#include <systemd/sd-bus.h>

#include "manager.h"

/* Root, or the caller holds polkit action. Answers the method call itself,
 * now or when polkit replies: on success by calling fn and returning its
 * reply, else with org.freedesktop.DBus.Error.AccessDenied naming the way to
 * gain the privilege. Returns what an sd-bus handler returns. */
typedef int (*bus_privileged_fn)(sd_bus_message *message, Manager *m, sd_bus_error *error);
int bus_verify_and_run(sd_bus_message *message, Manager *m, const char *action, bus_privileged_fn fn,
                       sd_bus_error *error);
