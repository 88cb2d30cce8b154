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
#include "source.h"
#include "store.h"
#include "util.h"

typedef struct ManagerOptions {
        const char *config_path;        /* NULL: CONFIG_DEFAULT_PATH */
        const char *model_path;         /* overrides Model= */
        const char *database_path;      /* overrides Database= */
        const char *replay_path;
        da_recording_format replay_format;
        ReplayKind replay_kind;         /* --format evemu, hid-recorder, or any other */
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

typedef struct Manager Manager;

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
        uint64_t last_retention_us;

        /* The devices and what they read from the manager (kept current). */
        DeviceEnv device_env;
        LIST_HEAD(Device, devices);
        unsigned n_devices;

        /* The frame sources: a replay, or the live evdev and hidraw ones. */
        SourceContext source_context;
        Source *sources[2];
        unsigned n_sources;

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

/* "starting", "running" or "degraded", as D-Bus and varlink report it. */
const char *manager_state_to_string(const Manager *m);
/* Flushes what is queued so a query sees the newest snapshots. */
void manager_flush_for_query(Manager *m);
/* The live device of that name, or NULL. */
Device *manager_find_device(Manager *m, const char *name);
/* Live, or with snapshots in the store. */
bool manager_knows_device(Manager *m, const char *name);
/* The newest snapshot of a live device (device NULL: of any) taken with
 * method (NULL: any), from memory; NULL when there is none and the store
 * must be asked. */
const store_record *manager_latest_snapshot(Manager *m, const char *device, const char *method);

/* D-Bus signals only go out once the name is owned. */
static inline bool manager_bus_ready(const Manager *m) {
        return m->bus && m->bus_name_owned;
}

DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);
