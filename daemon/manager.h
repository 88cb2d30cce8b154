/* SPDX-License-Identifier: LGPL-2.1-or-later */
#pragma once

/*
 * The daemon's state: the event loop, configuration, the model, the store,
 * the devices and their sources. main.c parses options and runs it.
 */

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "config.h"
#include "device.h"
#include "store.h"
#include "util.h"

typedef struct Replay Replay;
typedef struct EvdevMonitor EvdevMonitor;
typedef struct HidrawMonitor HidrawMonitor;

typedef enum ReplaySpeed {
        REPLAY_SPEED_REALTIME,
        REPLAY_SPEED_MAX,
        REPLAY_SPEED_FACTOR,
} ReplaySpeed;

typedef struct ManagerOptions {
        const char *config_path;        /* NULL: CONFIG_DEFAULT_PATH */
        const char *model_path;         /* overrides Model= */
        const char *database_path;      /* overrides Database= */
        char **replay_paths;            /* --replay, repeatable: one device each; NULL-terminated */
        da_recording_format replay_format;
        bool replay_evemu;              /* --format evemu */
        ReplaySpeed speed;
        double speed_factor;
        bool loop;
        bool user_bus;
        bool no_bus;
        const char *varlink_path;       /* NULL: VARLINK_ADDRESS_DEFAULT */
        bool no_varlink;
} ManagerOptions;

/* Called after each snapshot is queued; where the D-Bus and varlink
 * interfaces announce RankingChanged. */
typedef void (*ranking_changed_cb)(Device *d, void *userdata);

struct Manager {
        sd_event *event;
        ManagerOptions options;
        Config config;

        da_model *model;
        char *model_path;
        char *model_identity;           /* "size:…,mtime:…" */
        uint64_t model_generation;      /* bumped by each (re)load */

        store *store;
        char *database_path;
        bool store_failing;             /* the last flush failed: log only the change */
        bool metrics_failing;           /* writing MetricsFile= failed: log only the change */
        uint64_t last_retention_us;

        Device *devices;
        unsigned n_devices;

        Replay **replays;               /* one per replay_paths entry */
        unsigned n_replays, replays_finished;
        EvdevMonitor *evdev;
        HidrawMonitor *hidraw;

        sd_event_source *flush_timer;
        sd_event_source *sigterm, *sigint, *sighup;

        /* READY=1 is sent once the store is open and every hold is released:
         * the bus name acquisition takes one (issue 7). */
        unsigned ready_holds;
        bool ready;

        ranking_changed_cb ranking_changed;
        void *ranking_changed_userdata;

        /* The D-Bus and varlink interfaces (bus.h, varlink-manager.h). */
        sd_bus *bus;
        bool bus_name_owned;            /* no signal goes out before */
        const char *bus_state_sent;     /* the State last announced */
        struct VarlinkServer *varlink;

        int exit_code;
};

int manager_new(const ManagerOptions *options, Manager **ret);
Manager *manager_free(Manager *m);

/* Loads config, model, store and starts sources. */
int manager_startup(Manager *m);
int manager_run(Manager *m);

/* SIGHUP: configuration and model again; on failure the old ones stay. */
int manager_reload(Manager *m);
/* Final snapshots of all devices, then one flush. */
int manager_flush(Manager *m, bool final);
void manager_exit(Manager *m, int code);

void manager_ready_hold(Manager *m);
void manager_ready_release(Manager *m);

/* Sends STATUS= with the device and frame counts. */
void manager_update_status(Manager *m);

/* Called by a source when a device goes away. */
void manager_remove_device(Manager *m, Device *d);

DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
