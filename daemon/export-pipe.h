/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* An export (store-export.h) written into a pipe as its reader takes it:
 * what D-Bus hands to deepactifctl export as a file descriptor. */

#include <systemd/sd-event.h>

#include "store-export.h"

/* Starts writing the export of q from s on event; ret_fd is the pipe's read
 * end for the caller to pass on (and close). The writer ends on its own
 * when the export is written or the reader goes away, or with event. */
int export_pipe_start(sd_event *event, store *s, const store_query *q, store_export_format format, int *ret_fd);
