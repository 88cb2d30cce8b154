/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The names deepactifd publishes and deepactifctl calls, written once: the
 * D-Bus API (io.deepactif.Daemon1(5)), the varlink interface and socket,
 * and the polkit action. Changing one changes the public API. */

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

#define VARLINK_INTERFACE "io.deepactif.Daemon"
#define VARLINK_ADDRESS_DEFAULT "/run/deepactif/" VARLINK_INTERFACE
/* Under $XDG_RUNTIME_DIR for a daemon started with --user. */
#define VARLINK_ADDRESS_USER "deepactif/" VARLINK_INTERFACE
