/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * Prometheus metrics in the text exposition format: per device its frame
 * counters, frame rate, last prediction, snapshot time and age, model and
 * top features; daemon-wide the store and the clients. Written atomically
 * to MetricsFile= (Debian's prometheus-node-exporter textfile collector
 * reads that directory), and served to `deepactifctl metrics`.
 */

typedef struct Manager Manager;

/* Top features per device exported as deepactif_device_feature_score. */
#define METRICS_TOP_FEATURES 10

/* Every device's frame rate over the time since the last call, then
 * MetricsFile= written: the manager's flushed hook. */
void metrics_flushed(Manager *m);

/* The exposition text (NUL-terminated), for the file and the interfaces. */
int metrics_format(Manager *m, char **ret);
