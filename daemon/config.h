/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/* deepactifd.conf(5): the main file, then the drop-ins ending in ".conf" in
 * the directory "<file>.d", in lexical order; a later assignment wins. Keys
 * live in [Daemon]. */

#include <stdbool.h>
#include <stdint.h>

#include "time-util.h"
#include "util.h"

#define CONFIG_DEFAULT_PATH SYSCONFDIR "/deepactif/deepactifd.conf"
#define CONFIG_DEFAULT_DATABASE "/var/lib/deepactif/deepactif.sqlite"
#define CONFIG_DEFAULT_MODEL PKGDATADIR "/models/foval-robustvision.safetensors"
/* Where Debian's prometheus-node-exporter textfile collector reads; the
 * documented value of MetricsFile=, which is off unless set. */
#define CONFIG_METRICS_FILE_DEBIAN "/var/lib/prometheus/node-exporter/deepactif.prom"


typedef struct Config {
        char *model;
        char *database;
        uint64_t ranking_interval_usec;         /* RankingInterval=, 1s */
        uint64_t flush_interval_usec;           /* FlushInterval=, 5s */
        unsigned rolling_windows;               /* RollingWindows=, 600 */
        da_trace_location location;             /* Location=, gate */
        da_aggregation aggregation;             /* Aggregation=, inv */
        uint64_t retention_age_usec;            /* RetentionAge=, 0 = keep */
        uint64_t retention_snapshots;           /* RetentionSnapshots=, 0 = keep */
        uint64_t database_max_size;             /* DatabaseMaxSize=, bytes, 0 = no limit */
        char **devices;                         /* Devices=, NULL-terminated */
        bool discover;                          /* Discover=, yes */
        bool events;                            /* Events=, yes */
        da_shift_options shift;                 /* ShiftKendall=, ShiftOverlap=, ShiftTopK=, ShiftHold=,
                                                 * ShiftRecover=, ShiftWarmup= */
        da_health_options health;               /* FrozenAfter=, MissingSpan=, MissingShare=, RangeIQRs=,
                                                 * RangeSpan=, RangeShare=, BaselineSpan=,
                                                 * DriftSpan=, DriftOffset=, DriftHold=,
                                                 * NoiseFactor=, NoiseSpan= */
        char *metrics_file;                     /* MetricsFile=, NULL = none */
        int precision;                          /* Precision=, -1 = as the model file stores it */
} Config;

void config_init(Config *c);
void config_done(Config *c);

/* Defaults, then path (NULL: CONFIG_DEFAULT_PATH, which may be missing),
 * then its drop-ins. Unknown keys are warned about with file:line; a bad
 * value is an error naming file:line, and ret is then left untouched. */
int config_load(const char *path, Config *ret);

/* "4096", "512K", "64M", "2G" (powers of 1024). */
int parse_size(const char *s, uint64_t *ret_bytes);

/* "1s", "500ms", "2min 30s", "1h", "7d", "1w"; a bare number is seconds. */
int parse_timespan(const char *s, uint64_t *ret_usec);
