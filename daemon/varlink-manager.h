/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* The varlink interface io.deepactif.Daemon (io.deepactif.Daemon1(5)): the
 * same operations as the D-Bus manager, plus Watch, which streams each new
 * ranking to callers that ask for "more". */

#include "manager.h"
#include "names.h"


extern const char varlink_manager_description[];

/* Serves the socket systemd passed, else binds path (NULL: the default). */
int manager_varlink_listen(Manager *m, const char *path);
/* Streams d's new ranking to every Watch call that wants it. */
void manager_varlink_ranking_changed(Manager *m, Device *d);
